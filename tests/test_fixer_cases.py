"""Runs every data-driven fixer case under tests/fixers/cases (see tests/fixer_harness.py)."""

from __future__ import annotations

import pytest

from tests.fixer_harness import load_cases, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixer_case(case, tmp_path, monkeypatch):
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")
    run_case(case, tmp_path)
