"""Runs every data-driven fixer case under tests/fixers/cases (see tests/fixer_harness.py)."""

from __future__ import annotations

import pytest

from tests.fixer_harness import load_cases, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixer_case(case, tmp_path, monkeypatch):
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")
    run_case(case, tmp_path)


def test_case_files_are_not_hidden_by_gitignore():
    """A fix may write a .gitignore into after/ (secrets/, .env): the files it names must still
    be in the repository, or a fresh clone would miss them."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard", "tests/fixers/cases"],
                         cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"ignored (untracked) case files: {out.stdout}"
