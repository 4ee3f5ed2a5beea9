"""Data-driven fixer cases: tests/fixers/cases/<group>/<case>/ holds

- case.toml: rule = "<rule id>" (required); set = { name = "value" } parameter values;
  expect = "fixed" (default) | "no-fix" (the finding is reported but no fix is offered) |
  "no-finding" (the rule must not fire); unsafe = true|false (default true); reason = "..."
  (with "no-fix": a part of the one line that says why the fix declines)
- before/: the project as it is (exact bytes: CRLF, BOM, missing final newline...)
- after/: for expect = "fixed", the files the fix changes, exactly as they must be written
  (files not in after/ must stay byte-identical).

The harness checks that one run applies every fix it offers, that the fixed project re-scans
without the finding, that a second run of the fixer changes nothing (idempotence), and that
every other byte stays.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.fixers.plan import attach_fix, plan_fix
from batten.sources.project import load_project

CASES = Path(__file__).parent / "fixers" / "cases"


@dataclass
class Case:
    name: str
    path: Path
    rule: str
    values: dict[str, str] = field(default_factory=dict)
    expect: str = "fixed"
    unsafe: bool = True
    reason: str = ""


def load_cases(group: str | None = None) -> list[Case]:
    out: list[Case] = []
    base = CASES if group is None else CASES / group
    for toml in sorted(base.rglob("case.toml")):
        data = tomllib.loads(toml.read_text())
        out.append(Case(
            name=str(toml.parent.relative_to(CASES)),
            path=toml.parent,
            rule=data["rule"],
            values={k: str(v) for k, v in data.get("set", {}).items()},
            expect=data.get("expect", "fixed"),
            unsafe=bool(data.get("unsafe", True)),
            reason=str(data.get("reason", "")),
        ))
    return out


def _files(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def run_case(case: Case, tmp: Path) -> None:
    work = tmp / "project"
    shutil.copytree(case.path / "before", work, symlinks=True)
    before = _files(work)
    config = Config()
    project = load_project([str(work)])
    findings = [f for f in run_checks(project, config) if f.rule.id == case.rule and not f.suppressed]
    if case.expect == "no-finding":
        assert not findings, f"{case.name}: {case.rule} fired: {[f.message for f in findings]}"
        return
    assert findings, f"{case.name}: {case.rule} did not fire"
    if case.expect == "no-fix":
        fixes = [plan_fix(f, project, config, case.values) for f in findings]
        assert all(fx is None for fx in fixes), f"{case.name}: a fix was offered: {[fx for fx in fixes if fx]}"
        if case.reason:
            said = [attach_fix(f, project, config, case.values) or f.no_fix for f in findings]
            assert all(case.reason in (r or "") for r in said), f"{case.name}: declined with {said}"
        return
    pick = selector([case.rule], unsafe=case.unsafe)
    outcome = fix_all(project, config, pick, case.values)
    assert not outcome.failed, f"{case.name}: {outcome.failed}"
    assert outcome.applied, f"{case.name}: nothing applied"
    # one run applies everything it offers: no fix is left declining on the text earlier fixes wrote
    assert not outcome.pending, f"{case.name}: offered but not applied: {[(f.target, why) for f, why in outcome.pending]}"
    # compare with after/ byte for byte; everything else unchanged
    expected = dict(before)
    expected.update(_files(case.path / "after"))
    got = dict(before)
    for path, change in outcome.changes.items():
        pf = project.file(path)
        got[path] = pf.source.encode(change.after) if pf is not None and pf.source is not None else change.after.encode()
    for path in sorted(set(expected) | set(got)):
        assert got.get(path) == expected.get(path), (
            f"{case.name}: {path} differs\n--- expected\n{expected.get(path, b'').decode(errors='replace')}"
            f"\n--- got\n{got.get(path, b'').decode(errors='replace')}"
        )
    # the finding is gone on a re-scan of the written files, and a second run is a no-op
    for path, data in got.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    again = load_project([str(work)])
    left = [f for f in run_checks(again, config) if f.rule.id == case.rule and not f.suppressed
            and (f.target, f.path) in {(x.target, x.path) for x, _ in outcome.applied}]
    assert not left, f"{case.name}: still reported after the fix: {[f.message for f in left]}"
    second = fix_all(again, config, pick, case.values)
    assert not any(c.before != c.after for c in second.changes.values()), f"{case.name}: second run changed files"
