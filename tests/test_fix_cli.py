"""`batten fix` from the command line: usage errors, the exit codes CI relies on, the summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from batten.cli import main

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("item", "message"), [
    ("uid=abc", "batten: error: --set uid: 'abc' is not a numeric id"),
    ("uid=0", "batten: error: --set uid: 0 is root"),
    ("nope=1", "batten: error: --set nope: unknown parameter (known: bind_ip, "),
    ("memory_reservation=1G", "batten: error: --set memory_reservation: 1G is above the memory limit 512M"),
    ("tmpfs_paths=/tmp:exec", "batten: error: --set tmpfs_paths: '/tmp:exec' has a character"),
    ("memory", "batten: error: --set 'memory': expected NAME=VALUE"),
])
def test_a_bad_set_value_is_a_usage_error_naming_the_reason(demo: Path, capsys, item: str, message: str) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "fix", str(demo), "--unsafe", "--write", "--set", item)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err
    assert {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()} == before


def test_set_values_are_normalised_before_they_are_written(demo: Path, capsys) -> None:
    code, out, _err = run(capsys, "fix", str(demo), "--rule", "limits.*", "--set", "memory=1g",
                          "--set", "memory-reservation=0.5G", "--accept-defaults", "--color", "never")
    assert code == 0
    assert "+          memory: 1G\n" in out and "+          memory: 512M\n" in out


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("pattern", ["no.such-rule", "nope.*", "co.nothing-*"])
def test_a_rule_that_names_nothing_is_a_usage_error(demo: Path, capsys, pattern: str) -> None:
    code, out, err = run(capsys, "fix", str(demo), "--rule", pattern)
    assert code == 2 and out == ""
    assert err.startswith(f"batten: error: --rule {pattern!r}: no rule or fix id matches it")


@pytest.mark.parametrize("pattern", ["limits.*", "co.limits", "priv.no-new-privileges"])
def test_rule_ids_globs_and_fix_ids_select(demo: Path, capsys, pattern: str) -> None:
    code, out, _err = run(capsys, "fix", str(demo), "--rule", pattern, "--accept-defaults", "--color", "never")
    assert code == 0 and out.startswith("--- a/")


def test_check_exits_1_while_fixes_are_pending_and_0_after_one_write(demo: Path, capsys) -> None:
    before = snapshot(demo)
    flags = ("--unsafe", "--accept-defaults", "--color", "never")
    code, out, err = run(capsys, "fix", str(demo), "--check", *flags)
    assert code == 1 and out == ""
    assert err.rstrip().endswith("(check: fixes pending)")
    assert snapshot(demo) == before  # a dry run
    code, _out, err = run(capsys, "fix", str(demo), "--write", "-q", *flags)
    assert code == 0, err
    # one run converges: the same command has nothing left to do
    code, out, err = run(capsys, "fix", str(demo), "--check", *flags)
    assert (code, out) == (0, ""), err
    assert err.splitlines()[-1].startswith("0 fix(es) for 0 finding(s) in 0 file(s)")
    assert "(check: nothing to fix)" in err
    code, _out, err = run(capsys, "fix", str(demo), "--check", "--write")
    assert code == 2 and "--check is a dry run" in err


def test_the_summary_counts_by_rule_and_lists_one_file_per_line(demo: Path, capsys) -> None:
    code, _out, err = run(capsys, "fix", str(demo), "--unsafe", "--accept-defaults", "--color", "never")
    assert code == 0
    lines = err.splitlines()
    by_rule = lines[lines.index("fixes by rule:") + 1:lines.index("files changed:")]
    assert "  priv.no-new-privileges     3" in by_rule
    files = [ln for ln in lines[lines.index("files changed:") + 1:] if ln.startswith("  ")]
    assert files == ["  .gitignore  1 fix(es) (new)", "  Dockerfile  10 fix(es)", "  compose.yaml  35 fix(es)",
                     "  secrets/postgres_password.txt  1 fix(es) (new)"]
    assert sum(int(ln.rsplit(None, 1)[1]) for ln in by_rule) == 45
    assert "\r" not in err  # no progress line when stderr is not a terminal


def test_quiet_prints_one_line_and_verbose_every_fix(demo: Path, capsys) -> None:
    code, out, err = run(capsys, "fix", str(demo), "--unsafe", "--accept-defaults", "-q")
    assert code == 0 and out == ""
    assert err.splitlines() == ["45 fix(es) for 45 finding(s) in 4 file(s) (preview; nothing written: add --write)"]
    code, _out, err = run(capsys, "fix", str(demo), "--unsafe", "--accept-defaults", "-v", "--color", "never")
    assert "    co.limits for limits.memory [app] line 8" in err.splitlines()


def test_verbose_says_why_a_rule_with_a_fixer_gets_no_fix(tmp_path: Path, capsys) -> None:
    (tmp_path / "Dockerfile").write_text('FROM debian:12\nRUN useradd app\nCMD ["bash"]\n')
    code, _out, err = run(capsys, "fix", str(tmp_path), "--unsafe", "--accept-defaults", "-v", "--color", "never")
    assert code == 0
    lines = err.splitlines()
    at = lines.index("no automatic fix for these (the reason):")
    assert lines[at + 1].startswith("  health.missing-dockerfile [stage 0] in Dockerfile: needs input: ")
    _code, _out, err = run(capsys, "fix", str(tmp_path), "--unsafe", "--accept-defaults", "--color", "never")
    assert "no automatic fix" not in err  # only with --verbose


def test_a_fix_offered_but_not_applied_is_reported_and_fails_the_run(demo: Path, capsys, monkeypatch) -> None:
    import dataclasses

    import batten.fix_cli
    from batten.fixers.registry import REGISTRY, NoFix

    spec = REGISTRY["co.pids-limit"]
    real = batten.fix_cli.fix_all

    def declines(ctx):
        raise NoFix("the service changed under it")

    def fix_all(*a, **kw):  # the scan offered the fix; by the time it is applied it declines
        monkeypatch.setitem(REGISTRY, spec.id, dataclasses.replace(spec, fn=declines))
        return real(*a, **kw)

    monkeypatch.setattr(batten.fix_cli, "fix_all", fix_all)
    before = snapshot(demo)
    code, _out, err = run(capsys, "fix", str(demo), "--write", "--rule", "limits.pids", "--accept-defaults",
                          "--set", "pids_limit=150")  # a value: fix_all plans again, on its own
    assert code == 1
    assert "batten: not applied: limits.pids [app] in compose.yaml: the service changed under it" in err
    assert "3 not applied (see above)" in err
    assert snapshot(demo) == before


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_progress_shows_on_a_terminal_after_a_second_and_never_elsewhere() -> None:
    from batten.fix_cli import ProgressLine
    from batten.fixers.apply import Progress

    for tty in (True, False):
        stream = _Tty(tty)
        with ProgressLine(stream) as line:
            line.update(Progress(1, 400, 0, 0, 0, 900, 0.2))  # too early: nothing
            line.update(Progress(2, 400, 120, 600, 1, 300, 2.0))
        if tty:
            assert stream.text == ("\r\x1b[Kbatten: fixing, round 2: 600 fix(es) verified, 300 to go, "
                                   "120/400 file(s) changed, about 1s left\r\x1b[K")
        else:
            assert stream.text == ""
