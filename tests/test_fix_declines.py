"""Every fixer that declines says why, in one line the user sees (`NoFix(reason)`): never the
generic "<fix id> has no edit for this instance". The data cases that expect no fix name their
reason (tests/fixers/cases/*/*/case.toml, `reason = ...`)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from pathlib import Path

import pytest

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.plan import attach_fix, plan, spec_for
from batten.fixers.registry import REGISTRY, NoFix
from batten.scan import scan
from batten.sources.project import load_project
from tests.corpus import require_corpus
from tests.fixer_harness import load_cases

GENERIC = "has no edit for this instance"


def _silent_returns(fn) -> list[str]:
    """`return`, `return None`, `return []` and `... else None` in the fixer's own body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    out = []
    for node in ast.walk(tree.body[0]):
        if not isinstance(node, ast.Return):
            continue
        v = node.value
        if isinstance(v, ast.IfExp):
            v = v.orelse
        if v is None or (isinstance(v, ast.Constant) and v.value is None) or (isinstance(v, ast.List) and not v.elts):
            out.append(f"{fn.__name__}:{node.lineno}")
    return out


def test_no_fixer_returns_nothing_without_a_reason() -> None:
    silent = [where for spec in REGISTRY.values() for where in _silent_returns(spec.fn)]
    assert silent == []
    # the check itself sees such a return
    def quiet(ctx):
        if ctx:
            return None
        return []
    assert len(_silent_returns(quiet)) == 2


def test_every_decline_on_the_corpus_says_why() -> None:
    result = scan([str(require_corpus())], use_cache=False)
    declined = [f for f in result.findings if f.no_fix]
    offered = [f for f in result.findings if f.fix]
    assert len(declined) > 300 and len(offered) > 2500  # the corpus has plenty of both
    assert all(spec_for(f) is not None for f in declined)
    generic = [f"{f.rule.id} {f.path}:{f.line}: {f.no_fix}" for f in declined if GENERIC in f.no_fix]
    assert generic == []


def test_every_no_fix_case_names_its_reason() -> None:
    cases = [c for c in load_cases() if c.expect == "no-fix"]
    assert len(cases) >= 20
    assert [c.name for c in cases if not c.reason] == []


def test_a_fixer_that_returns_no_edits_is_a_bug_under_the_suite(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    project = load_project([str(tmp_path)])
    f = next(f for f in run_checks(project, Config()) if f.rule.id == "limits.pids")
    spec = REGISTRY["co.pids-limit"]
    monkeypatch.setitem(REGISTRY, spec.id, dataclasses.replace(spec, fn=lambda ctx: []))
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")
    with pytest.raises(TypeError, match=r"co\.pids-limit declined limits\.pids at compose\.yaml:2 without a reason"):
        plan(f, project, Config())
    monkeypatch.delenv("BATTEN_STRICT_FIXERS")
    assert attach_fix(f, project, Config()) is None and f.no_fix == f"co.pids-limit {GENERIC}"
    with pytest.raises(NoFix):
        plan(f, project, Config())
