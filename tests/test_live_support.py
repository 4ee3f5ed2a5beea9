"""The test infrastructure's own small promises (no engine needed)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tests.support import unavailable
from tests.support.sshd import _marker, remove_block


def test_unavailable_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no engine"):
        unavailable("no engine")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true.*no engine"):
        unavailable("no engine")


def test_remove_block_removes_exactly_our_block(tmp_path: Path) -> None:
    start, end = _marker(4242)
    other_start, other_end = _marker(77)
    before = "Host work\n    HostName work.example\n"
    other = f"{other_start}\nHost theirs\n{other_end}\n"
    after = "Host *\n    ServerAliveInterval 30\n"
    cfg = tmp_path / "config"
    cfg.write_text(f"{start}\nHost batten-test-4242\n    Port 1\n{end}\n{before}{other}{after}")
    assert remove_block(cfg, 4242) is True
    assert cfg.read_text() == before + other + after
    assert remove_block(cfg, 4242) is False
    assert remove_block(tmp_path / "missing", 4242) is False


def test_busybox_rootfs_layout() -> None:
    from tests.support import engine

    if not engine.BUSYBOX.is_file():
        pytest.skip("no /bin/busybox here")
    with tarfile.open(fileobj=io.BytesIO(engine.busybox_rootfs_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/busybox"].mode == 0o755
    assert members["bin/sleep"].issym() and members["bin/sleep"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    assert "etc/passwd" in members and "bin/httpd" in members


def test_stale_blocks_of_dead_test_processes_are_removed(tmp_path: Path) -> None:
    from tests.support.sshd import remove_stale_blocks

    dead = 2**22 + 12345  # above the default pid_max: never a live process
    alive = os.getpid()
    cfg = tmp_path / "config"
    keep = f"{_marker(alive)[0]}\nHost live\n{_marker(alive)[1]}\nHost other\n"
    cfg.write_text(f"{_marker(dead)[0]}\nHost stale\n{_marker(dead)[1]}\n{keep}")
    assert remove_stale_blocks(cfg) == [dead]
    assert cfg.read_text() == keep
