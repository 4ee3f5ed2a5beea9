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
