"""The real `batten` command in a pseudo-terminal: first frame, `q`, clean exit."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo"


def batten_command() -> list[str]:
    exe = Path(sys.executable).with_name("batten")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("batten")
    return [found] if found else [sys.executable, "-m", "batten"]


def read_until(fd: int, markers: tuple[bytes, ...], timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if all(m in seen for m in markers):
            return seen
    raise AssertionError(f"markers {markers} not seen; output tail: {seen[-600:]!r}")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")
def test_batten_runs_in_a_pty_and_quits_cleanly(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    before = {p.name: p.read_bytes() for p in demo.iterdir() if p.is_file()}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", BATTEN_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([*batten_command(), str(demo), "--no-engine"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=tmp_path, start_new_session=True)
    os.close(slave)
    try:
        # the timeouts only bound a failure: each wait ends as soon as its condition holds (a busy
        # machine may take many seconds to start Python and Textual)
        out = read_until(master, (b"priv.privileged", b"quit", b"engine: off"), timeout=90)
        assert b"demo" in out
        os.write(master, b"q")
        # keep draining the terminal while waiting: a full pty buffer would block the exit
        tail = b""
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    tail += os.read(master, 65536)
                except OSError:
                    time.sleep(0.02)
        code = proc.wait(timeout=1)
        assert code == 0
        assert b"\x1b[?1049l" in out + tail  # the terminal is given back (alternate screen left)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    assert {p.name: p.read_bytes() for p in demo.iterdir() if p.is_file()} == before
