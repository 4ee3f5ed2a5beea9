"""Hostile repositories against the one writer: nothing outside the project is written, file
identity is kept, multi-file writes are all or nothing as far as a user can tell (intent journal,
lock), the journal keeps the secrets it holds private, and every failure is one line, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from batten.cli import main
from batten.fixers.write import _journal_path, project_lock
from batten.fsio import WriteRefused, open_dir, write_file

COMPOSE = "services:\n  web:\n    image: example/web:1.2\n"
RULE = "priv.no-new-privileges"


@pytest.fixture
def state(state_dir: Path) -> Path:
    """The private state directory (conftest's state_dir), by its short name here."""
    return state_dir


def five_files(root: Path) -> list[Path]:
    root.mkdir(exist_ok=True)
    out = []
    for i in range(5):
        (root / f"s{i}").mkdir()
        p = root / f"s{i}" / "compose.yaml"
        p.write_text(COMPOSE)
        out.append(p)
    return out


def fix(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["fix", *args, "--color", "never"])
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. nothing outside the project is written ------------------------------------------------


def test_planted_temp_and_target_symlinks_are_never_followed(tmp_path):
    outside = tmp_path / "victim"
    outside.write_text("precious\n")
    root = tmp_path / "repo"
    root.mkdir()
    # a repository shipping the old export temp name and the report name as links outward
    (root / "batten-report.md.tmp").symlink_to(outside)
    (root / "batten-report.md").symlink_to(outside)
    with pytest.raises(WriteRefused, match="outside the project root"):
        write_file("batten-report.md", b"# report\n", root=str(root), create_dirs=True)
    write_file("reports/batten-report.md", b"# report\n", root=str(root), create_dirs=True)
    assert outside.read_text() == "precious\n"
    assert (root / "reports" / "batten-report.md").read_text() == "# report\n"
    assert [p.name for p in (root / "reports").iterdir()] == ["batten-report.md"]  # no temp left
    # an output path outside any project (scan --output) replaces the link, never follows it
    (tmp_path / "out.sarif").symlink_to(outside)
    assert main(["scan", str(root), "--format", "sarif", "--output", str(tmp_path / "out.sarif")]) == 0
    assert outside.read_text() == "precious\n"
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"


def test_tui_report_export_goes_through_the_writer(tmp_path, monkeypatch):
    from batten.session import NotApplied, Session

    monkeypatch.setenv("BATTEN_STATE_DIR", str(tmp_path / "state"))
    outside = tmp_path / "victim"
    outside.write_text("precious\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "batten-report.md.tmp").symlink_to(outside)  # the old export's temp name
    session = Session.open(str(root), engine=False)
    session.export_report("batten-report.md")
    assert outside.read_text() == "precious\n"
    assert "batten" in (root / "batten-report.md").read_text().lower()
    (root / "batten-report.md").unlink()
    (root / "batten-report.md").symlink_to(outside)
    with pytest.raises(NotApplied, match="outside the project root"):
        session.export_report("batten-report.md")
    assert outside.read_text() == "precious\n"


def test_interrupt_mid_write_rolls_back(tmp_path, state, monkeypatch):
    import batten.fixers.write as w

    files = five_files(tmp_path / "repo")
    real = w.write_file
    calls: list[str] = []

    def interrupted(*a, **k):
        if k.get("tmp") and len(calls) == 3:
            raise KeyboardInterrupt
        if k.get("tmp"):
            calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(w, "write_file", interrupted)
    assert main(["fix", str(tmp_path / "repo"), "--rule", RULE, "--write"]) == 130
    assert all(p.read_text() == COMPOSE for p in files)  # the three written were put back
    assert list((tmp_path / "repo").rglob(".batten-*")) == []
    assert w.last_write(str(tmp_path / "repo")) is None  # no entry left pending


def test_symlinked_directory_swapped_in_is_refused(tmp_path):
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "link").symlink_to(elsewhere)
    with pytest.raises(WriteRefused, match="outside the project root"):
        write_file("link/Dockerfile", b"FROM x\n", root=str(root))
    # the path was resolved, then a component became a symlink: the O_NOFOLLOW walk refuses it
    with pytest.raises(WriteRefused, match="symlink"), open_dir(str(root / "link"), root=str(root)):
        pass
    assert list(elsewhere.iterdir()) == []


def test_fifo_or_directory_target_is_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(WriteRefused, match="FIFO"):
        write_file("fifo", b"x", root=str(tmp_path))
    (tmp_path / "d").mkdir()
    with pytest.raises(WriteRefused, match="directory"):
        write_file("d", b"x", root=str(tmp_path))


# -- 12. file identity -----------------------------------------------------------------------


def _acl(uid: int) -> bytes:
    """A POSIX access ACL (the system.posix_acl_access xattr): owner rw, user `uid` r, mask r."""
    entries = [(0x01, 6, 0xFFFFFFFF), (0x02, 4, uid), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
               (0x20, 4, 0xFFFFFFFF)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


def test_mode_xattrs_and_acl_are_kept(tmp_path, state, capsys):
    p = tmp_path / "compose.yaml"
    p.write_text(COMPOSE)
    p.chmod(0o640)
    os.setxattr(p, "user.origin", b"team-a")
    os.setxattr(p, "system.posix_acl_access", _acl(4242))
    acl = os.getxattr(p, "system.posix_acl_access")
    mode = stat.S_IMODE(p.stat().st_mode)
    code, _out, err = fix(capsys, str(tmp_path), "--rule", RULE, "--write")
    assert code == 0, err
    assert "no-new-privileges" in p.read_text()
    assert os.getxattr(p, "user.origin") == b"team-a"
    assert os.getxattr(p, "system.posix_acl_access") == acl
    assert stat.S_IMODE(p.stat().st_mode) == mode


def test_hard_link_is_written_through_not_split(tmp_path, state, capsys):
    p = tmp_path / "compose.yaml"
    p.write_text(COMPOSE)
    other = tmp_path.parent / f"{tmp_path.name}-twin.yaml"
    os.link(p, other)
    ino = p.stat().st_ino
    code, _out, err = fix(capsys, str(tmp_path), "--rule", RULE, "--write")
    assert code == 0, err
    assert p.stat().st_ino == ino and p.stat().st_nlink == 2
    assert other.read_text() == p.read_text() != COMPOSE
    other.unlink()


def test_read_only_file_is_refused_unless_forced(tmp_path, state, capsys):
    p = tmp_path / "compose.yaml"
    p.write_text(COMPOSE)
    p.chmod(0o444)
    code, _out, err = fix(capsys, str(tmp_path), "--rule", RULE, "--write")
    assert code == 2 and "read-only (mode 0444)" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1  # one line
    assert p.read_text() == COMPOSE
    code, _out, err = fix(capsys, str(tmp_path), "--rule", RULE, "--write", "--force")
    assert code == 0, err
    assert "no-new-privileges" in p.read_text()
    assert stat.S_IMODE(p.stat().st_mode) == 0o444


# -- 8. the journal keeps secrets private ----------------------------------------------------


def test_journal_is_private(tmp_path, state, capsys):
    five_files(tmp_path / "repo")
    code, _o, err = fix(capsys, str(tmp_path / "repo"), "--rule", RULE, "--write")
    assert code == 0, err
    journal = Path(_journal_path(str(tmp_path / "repo")))
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.parent.stat().st_mode) == 0o700
    entry = json.loads(journal.read_text())[-1]
    assert entry["status"] == "complete" and len(entry["files"]) == 5


# -- 11. all or nothing: intent journal, crash recovery, lock ---------------------------------

_CRASH = textwrap.dedent("""
    import os, signal, sys
    import batten.fixers.write as w
    real = w.write_file
    calls = []
    def dying(*a, **k):
        if k.get("tmp") and len(calls) == 2:  # two files replaced, the third half-written
            open(os.path.join(os.path.dirname(w.resolve_target(sys.argv[1], a[0])), k["tmp"]), "wb").write(b"x")
            os.kill(os.getpid(), signal.SIGKILL)
        if k.get("tmp"):
            calls.append(a[0])
        return real(*a, **k)
    w.write_file = dying
    from batten.cli import main
    sys.exit(main(["fix", sys.argv[1], "--rule", "priv.no-new-privileges", "--write"]))
""")


def test_kill_9_mid_write_is_offered_for_undo_and_undone(tmp_path, state, capsys):
    files = five_files(tmp_path / "repo")
    root = str(tmp_path / "repo")
    proc = subprocess.run([sys.executable, "-c", _CRASH, root], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "BATTEN_STATE_DIR": str(state)})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    changed = [p for p in files if p.read_text() != COMPOSE]
    assert len(changed) == 2
    assert len(list(Path(root).rglob(".batten-*.tmp"))) == 1
    # the next run says so, and refuses to write on top of it
    code, _out, err = fix(capsys, root, "--rule", RULE)
    assert "did not complete" in err and "batten fix --undo" in err
    code, _out, err = fix(capsys, root, "--rule", RULE, "--write")
    assert code == 2 and "did not complete" in err
    assert [p for p in files if p.read_text() != COMPOSE] == changed
    # undo restores the two files and removes the stray temp file
    code, out, err = fix(capsys, root, "--undo")
    assert code == 0, err
    assert "restored 2 file(s)" in out
    assert all(p.read_text() == COMPOSE for p in files)
    assert list(Path(root).rglob(".batten-*")) == []
    code, _out, err = fix(capsys, root, "--rule", RULE, "--write")
    assert code == 0 and all(p.read_text() != COMPOSE for p in files), err


def test_concurrent_writers_are_serialised(tmp_path, state, capsys):
    five_files(tmp_path / "repo")
    root = str(tmp_path / "repo")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom batten.fixers.write import project_lock\n"
         "with project_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(30)\n", root],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "BATTEN_STATE_DIR": str(state)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        code, _out, err = fix(capsys, root, "--rule", RULE, "--write")
        assert time.monotonic() - t0 < 20
        assert code == 2 and "another batten is writing fixes to this project" in err
        assert all(p.read_text() == COMPOSE for p in Path(root).rglob("compose.yaml"))
    finally:
        holder.kill()
        holder.wait()
    # two real runs at once: one writes everything, the other writes nothing (lock or re-check)
    procs = [subprocess.Popen([sys.executable, "-m", "batten", "fix", root, "--rule", RULE, "--write"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "BATTEN_STATE_DIR": str(state)}) for _ in range(2)]
    results = sorted((p.wait(timeout=60), p.stderr.read()) for p in procs)  # type: ignore[union-attr]
    assert results[0][0] == 0
    assert results[1][0] in (0, 2), results
    texts = {p.read_text() for p in Path(root).rglob("compose.yaml")}
    assert len(texts) == 1 and "no-new-privileges" in texts.pop()
    with project_lock(root):
        pass  # released


# -- 10. a broken journal or state directory is one line, exit 2 ------------------------------


@pytest.mark.parametrize("content", [b"[1,2]", b'[{"files":[{"path":"a","before":"%%%","after_sha256":"x"}]}]',
                                     b"{not json", b"\xff\xfe"])
def test_corrupt_journal_is_one_line(tmp_path, state, capsys, content):
    five_files(tmp_path / "repo")
    root = str(tmp_path / "repo")
    journal = Path(_journal_path(root))
    journal.parent.mkdir(parents=True)
    journal.write_bytes(content)
    for args in (("--undo",), ("--rule", RULE, "--write")):
        code, _out, err = fix(capsys, root, *args)
        lines = [ln for ln in err.splitlines() if ln.startswith("batten:")]
        assert code == 2 and lines and "undo journal" in lines[-1] and "corrupt" in lines[-1], err
        assert "Traceback" not in err
    assert all(p.read_text() == COMPOSE for p in Path(root).rglob("compose.yaml"))


def test_unusable_state_directory_is_one_line(tmp_path, monkeypatch, capsys):
    five_files(tmp_path / "repo")
    (tmp_path / "state").write_text("a file where the state directory should be")
    monkeypatch.setenv("BATTEN_STATE_DIR", str(tmp_path / "state"))
    code, _out, err = fix(capsys, str(tmp_path / "repo"), "--rule", RULE, "--write")
    assert code == 2 and "state directory" in err and "Traceback" not in err
    assert all(p.read_text() == COMPOSE for p in (tmp_path / "repo").rglob("compose.yaml"))


# -- 8. secrets stay secret -------------------------------------------------------------------

SECRET_COMPOSE = ("services:\n  web:\n    image: example/web:1.2\n    environment:\n"
                  "      API_TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz01\n"
                  "      DB_PASSWORD: Sup3r-S3cret-passw0rd-value\n")
OLD_ENV = "# existing\nOTHER_TOKEN=ghp_zyxwvutsrqponmlkjihgfedcba9876543210\nPLAIN_VALUE=not-known-to-batten\n"


def secret_project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "compose.yaml").write_text(SECRET_COMPOSE)
    (root / ".env").write_text(OLD_ENV)
    (root / ".env").chmod(0o644)
    return root


def test_fix_diff_masks_every_secret_and_every_env_value(tmp_path, state, capsys):
    root = secret_project(tmp_path)
    code, out, err = fix(capsys, str(root), "--rule", "secret.value-hardcoded", "--unsafe")
    assert code == 0, err
    assert "+++ b/.env" in out and "OTHER_TOKEN=••••••" in out and "API_TOKEN=••••••" in out
    for value in ("ghp_0123456789", "Sup3r-S3cret", "ghp_zyxw", "not-known-to-batten"):
        assert value not in out + err
    # the TUI's preview goes through the same masking
    from batten.session import Session

    session = Session.open(str(root), engine=False)
    finding = next(f for f in session.result.findings if f.rule.id == "secret.value-hardcoded")
    preview = session.preview(session.plan(finding))
    assert ".env" in preview.diff and "ghp_" not in preview.diff and "not-known-to-batten" not in preview.diff


def test_env_written_with_a_secret_is_0600_and_gitignored_once(tmp_path, state, capsys):
    root = secret_project(tmp_path)
    code, _out, err = fix(capsys, str(root), "--rule", "secret.value-hardcoded", "--unsafe", "--write")
    assert code == 0, err
    assert stat.S_IMODE((root / ".env").stat().st_mode) == 0o600
    env = (root / ".env").read_text()
    assert env.startswith(OLD_ENV) and "API_TOKEN=" in env and "DB_PASSWORD=" in env
    assert (root / ".gitignore").read_text() == ".env\n"  # one line for two secrets
    assert "ghp_0123" not in (root / "compose.yaml").read_text()


def test_secret_is_never_put_into_a_tracked_env(tmp_path, state, capsys):
    if shutil.which("git") is None:
        pytest.fail("git is needed") if os.environ.get("CI") == "true" else pytest.skip("git missing")
    root = secret_project(tmp_path)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", ".env"], check=True)
    code, out, err = fix(capsys, str(root), "--rule", "secret.value-hardcoded", "--unsafe", "--write")
    assert code == 0
    assert (root / ".env").read_text() == OLD_ENV
    assert ".env is tracked by git" in err and "file-based secret" in err
    assert "git-ignored" not in out
