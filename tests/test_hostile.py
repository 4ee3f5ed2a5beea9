"""Hostile input: every case gives a clear message (a parse.error finding, or exit code 2 with one
line), never a traceback, in bounded time and memory, and leaves the original bytes intact."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest

from batten.cli import main
from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.fixers.write import WriteRefused, write_files
from batten.scan import scan
from batten.sources.text import MAX_BYTES

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi")]
    + ["services:", "  x:", "    image: y:1", "    command: *i", ""]
)


def scan_json(capsys, root) -> tuple[int, dict, str]:
    code = main(["scan", str(root), "--format", "json", "--fail-on", "never"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def snapshot_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def parse_errors(doc: dict) -> dict[str, str]:
    return {f["path"]: f["message"] for f in doc["findings"] if f["rule"] == "parse.error"}


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("compose.yaml", BOMB.encode(), "alias expansion exceeds"),
        ("compose.yaml", ("a: " + "[" * 10_000 + "]" * 10_000 + "\n").encode(), "nesting deeper than"),
        ("Dockerfile", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00" + bytes(range(256)) * 8, "binary file"),
        ("compose.yaml", b"services:\n\tweb:\n\t\timage: x:1\n", "invalid YAML"),
        ("compose.yaml", b"services:\n  a:\n    image: x:1\n  a:\n    image: y:1\n", 'duplicate key "a"'),
        ("compose.yaml", b"- just\n- a list\n", "top level is a list"),
        ("compose.yaml", b"42\n", "top level is a scalar"),
        ("compose.yaml", b"", "empty compose file"),
        ("Dockerfile", b"", "no instructions"),
        ("compose.yaml", b"services:\n  web:\n    image: caf\xe9:1\n", "not UTF-8"),
    ],
)
def test_bad_file_is_a_parse_error_with_a_clear_message(tmp_path, capsys, name, content, expect):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Dockerfile").write_text("FROM alpine:3.20\nUSER 10001:10001\n")
    before = snapshot_bytes(tmp_path)
    tracemalloc.start()
    started = time.perf_counter()
    code, doc, err = scan_json(capsys, tmp_path)
    elapsed = time.perf_counter() - started
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert code == 0 and "Traceback" not in err
    errors = parse_errors(doc)
    assert expect in errors[name], errors
    assert "\n" not in errors[name]
    assert any(f["path"] == "other/Dockerfile" for f in doc["findings"])  # the scan carried on
    assert elapsed < 5 and peak < 200 * 1024 * 1024
    assert snapshot_bytes(tmp_path) == before


def test_file_over_the_size_cap(tmp_path, capsys):
    big = b"# padding\n" * (MAX_BYTES // 10 + 10)
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine:3.20\n" + big)
    _code, doc, _err = scan_json(capsys, tmp_path)
    msg = parse_errors(doc)["Dockerfile"]
    assert "over batten's 2 MiB cap" in msg


def test_latin1_dockerfile_is_fixed_without_corrupting_other_bytes(tmp_path):
    raw = (
        b"FROM debian:12\n"
        b'LABEL maintainer="Jos\xe9 Mu\xf1oz"\n'
        b"RUN apt-get update && apt-get install -y curl\n"
        b"# caf\xe9 cr\xe8me\n"
    )
    (tmp_path / "Dockerfile").write_bytes(raw)
    result = scan([str(tmp_path)])
    outcome = fix_all(result.project, Config(), selector(["pkg.apt-no-recommends"]))
    assert not outcome.failed and outcome.changes
    write_files(result.project, {p: c.after for p, c in outcome.changes.items()})
    after = (tmp_path / "Dockerfile").read_bytes()
    assert after == raw.replace(b"install -y", b"install --no-install-recommends -y")


def test_utf8_bom_is_kept(tmp_path):
    raw = b"\xef\xbb\xbfservices:\n  web:\n    image: example/web:1.2\n"
    (tmp_path / "compose.yaml").write_bytes(raw)
    result = scan([str(tmp_path)])
    assert result.project.files[0].error is None
    outcome = fix_all(result.project, Config(), selector(["priv.no-new-privileges"]))
    write_files(result.project, {p: c.after for p, c in outcome.changes.items()})
    after = (tmp_path / "compose.yaml").read_bytes()
    assert after.startswith(b"\xef\xbb\xbfservices:\n") and b"no-new-privileges:true" in after


def test_symlink_loop_and_escape_do_not_hang_or_leak(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM alpine:3.20\nUSER 1000:1000\n")
    os.symlink(root / "b", root / "a")
    os.symlink(root / "a", root / "b")
    os.symlink(root, root / "self")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM evil:1\n")
    os.symlink(outside / "Dockerfile", root / "Dockerfile.outside")
    started = time.perf_counter()
    code, doc, err = scan_json(capsys, root)
    assert time.perf_counter() - started < 5
    assert code == 0 and "Traceback" not in err
    assert [f["path"] for f in doc["files"]] == ["Dockerfile"]


def test_symlink_leaving_the_root_is_never_written_through(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "compose.yaml"
    target.write_text("services:\n  web:\n    image: example/web:1.2\n")
    os.symlink(target, root / "compose.yaml")
    # scanning the file explicitly loads it; writing it back must still be refused
    result = scan([str(root / "compose.yaml")])
    result.project.root = str(root)
    with pytest.raises(WriteRefused, match="outside the project root"):
        write_files(result.project, {"compose.yaml": "services: {}\n"})
    assert target.read_text() == "services:\n  web:\n    image: example/web:1.2\n"


def test_file_changed_between_preview_and_write_is_refused(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: example/web:1.2\n")
    result = scan([str(tmp_path)])
    outcome = fix_all(result.project, Config(), selector(["priv.no-new-privileges"]))
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: example/web:1.3\n")
    with pytest.raises(WriteRefused, match="changed on disk since it was read"):
        write_files(result.project, {p: c.after for p, c in outcome.changes.items()})
    assert (tmp_path / "compose.yaml").read_text() == "services:\n  web:\n    image: example/web:1.3\n"


@contextlib.contextmanager
def as_user(uid: int):
    """Drop the effective uid (root keeps its real uid, so it can come back)."""
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)


needs_root = pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true",
                                reason="needs root to drop privileges for permission cases")


@needs_root
def test_unreadable_file_is_a_parse_error(capsys):
    base = Path(tempfile.mkdtemp(prefix="batten-perm-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "Dockerfile").write_text("FROM alpine:3.20\n")
        (base / "Dockerfile").chmod(0)
        (base / "compose.yaml").write_text("services:\n  web:\n    image: example/web:1.2\n")
        (base / "compose.yaml").chmod(0o644)
        with as_user(65534):
            result = scan([str(base)])
        errs = {f.path: f.error.message for f in result.project.files if f.error}
        assert errs == {"Dockerfile": "cannot read: Permission denied"}
    finally:
        shutil.rmtree(base)


@needs_root
def test_read_only_directory_at_write_time_keeps_the_original():
    base = Path(tempfile.mkdtemp(prefix="batten-ro-", dir="/tmp"))
    try:
        base.chmod(0o755)
        original = "services:\n  web:\n    image: example/web:1.2\n"
        (base / "compose.yaml").write_text(original)
        (base / "compose.yaml").chmod(0o666)
        result = scan([str(base)])
        outcome = fix_all(result.project, Config(), selector(["priv.no-new-privileges"]))
        base.chmod(0o555)
        with as_user(65534), pytest.raises(WriteRefused, match="cannot write"):
            write_files(result.project, {p: c.after for p, c in outcome.changes.items()}, journal=False)
        assert (base / "compose.yaml").read_text() == original
        assert [p.name for p in base.iterdir()] == ["compose.yaml"]  # no temp file left
    finally:
        base.chmod(0o755)
        shutil.rmtree(base)


@needs_root
def test_full_disk_at_write_time_keeps_the_original():
    mnt = Path(tempfile.mkdtemp(prefix="batten-full-", dir="/tmp"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True).returncode:
        shutil.rmtree(mnt)
        if os.environ.get("CI") == "true":
            pytest.fail("cannot mount a small tmpfs to simulate a full disk")
        pytest.skip("cannot mount a small tmpfs to simulate a full disk")
    try:
        original = "services:\n  web:\n    image: example/web:1.2\n" + "# pad\n" * 2000
        (mnt / "compose.yaml").write_text(original)
        result = scan([str(mnt)])
        outcome = fix_all(result.project, Config(), selector(["priv.no-new-privileges"]))
        with contextlib.suppress(OSError), open(mnt / "filler", "wb") as fh:  # fill the disk
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        with pytest.raises(WriteRefused, match="cannot write"):
            write_files(result.project, {p: c.after for p, c in outcome.changes.items()}, journal=False)
        assert (mnt / "compose.yaml").read_text() == original
        assert sorted(p.name for p in mnt.iterdir()) == ["compose.yaml", "filler"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
        shutil.rmtree(mnt, ignore_errors=True)


def test_escape_sequences_in_content_are_shown_escaped(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"FROM evil\x1b[2J\x1b]0;owned\x07:latest\nEXPOSE 22\n")
    # YAML refuses raw control characters, but its "\e" escape yields one
    (tmp_path / "compose.yaml").write_bytes(b'services:\n  "web\\e[31m":\n    image: "x\\e[5m:1"\n    privileged: true\n')
    for fmt in ("text", "json", "sarif"):
        out = subprocess.run(
            [sys.executable, "-m", "batten", "scan", str(tmp_path), "--format", fmt, "--color", "never"]
            if fmt == "text" else [sys.executable, "-m", "batten", "scan", str(tmp_path), "--format", fmt],
            capture_output=True, cwd=Path(__file__).resolve().parents[1],
        )
        assert b"\x1b" not in out.stdout and b"\x07" not in out.stdout, fmt
        assert b"Traceback" not in out.stderr
    text = subprocess.run([sys.executable, "-m", "batten", "scan", str(tmp_path), "--color", "never", "-v"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]).stdout
    assert "\\x1b[31m" in text and "evil\\x1b[2J" in text


def test_unreadable_root_is_exit_2(capsys):
    code = main(["scan", "/nonexistent/batten/root"])
    _out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "no such file or directory" in err
