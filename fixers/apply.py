"""Apply fixes in memory: one fix, a chosen set, or everything selected, with a fixpoint loop
and built-in verification (the result must parse and the fixed findings must be gone)."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.edits import EditConflict, apply_edits, group_by_path, overlaps, unified_diff
from batten.fixers.plan import plan_fix
from batten.model import Applicability, Edit, Finding, Fix, Severity
from batten.sanitize import mask_secrets
from batten.sources.project import Project, with_texts

MAX_ROUNDS = 12


class FixFailed(Exception):
    """A fix could not be applied or did not verify; the message says why."""


def current_text(project: Project, path: str) -> str:
    pf = project.file(path)
    if pf is not None and pf.source is not None:
        return pf.source.text
    aux = project.aux_text(path)
    return aux if aux is not None else ""


def _created(project: Project, path: str) -> bool:
    if project.file(path) is not None:
        return False
    project.aux_text(path)
    return project.aux_raw.get(path) is None


@dataclass
class Change:
    """One file's content before and after the fixes."""

    path: str
    before: str
    after: str
    created: bool = False

    def diff(self, mask: Iterable[str] = ()) -> str:
        d = unified_diff(self.path, self.before, self.after)
        return mask_secrets(d, mask)


@dataclass
class Outcome:
    changes: dict[str, Change] = field(default_factory=dict)
    applied: list[tuple[Finding, Fix]] = field(default_factory=list)
    failed: list[tuple[Finding, str]] = field(default_factory=list)
    project: Project | None = None  # the project as it will be after writing
    findings_after: list[Finding] = field(default_factory=list)

    @property
    def secrets(self) -> set[str]:
        return {s for _f, fx in self.applied for s in fx.secrets}

    def diff(self) -> str:
        return "".join(c.diff(self.secrets) for c in self.changes.values() if c.before != c.after)


def _key(f: Finding) -> tuple[str, str, str, str]:
    return (f.rule.id, f.path or "", f.target or "", f.message)


def apply_one(project: Project, fix: Fix) -> dict[str, str]:
    """New texts of the files `fix` touches (no verification)."""
    out: dict[str, str] = {}
    for path, edits in group_by_path(fix.edits).items():
        out[path] = apply_edits(current_text(project, path), edits)
    return out


def verify(
    project: Project,
    texts: Mapping[str, str],
    fixed: Iterable[Finding],
    config: Config,
    before_findings: list[Finding] | None = None,
) -> tuple[Project, list[Finding]]:
    """Re-parse and re-check; raise FixFailed if a file no longer parses, a finding stays, or a
    finding more severe than every fixed one appears."""
    fixed = list(fixed)
    new = with_texts(project, dict(texts))
    for path in texts:
        pf = new.file(path)
        old = project.file(path)
        if pf is None:
            continue
        if pf.error is not None and (old is None or old.error is None):
            raise FixFailed(f"{path}: the fixed file does not parse ({pf.error.message}); nothing written")
        if pf.dockerfile is not None and old is not None and old.dockerfile is not None and \
                len(pf.dockerfile.problems) > len(old.dockerfile.problems):
            raise FixFailed(f"{path}: the fixed Dockerfile has a problem ({pf.dockerfile.problems[0].message})")
    findings = run_checks(new, config)
    if before_findings is None:
        before_findings = run_checks(project, config)
    before = Counter(_loose(f) for f in before_findings if not f.suppressed)
    after = Counter(_loose(f) for f in findings if not f.suppressed)
    wanted = Counter(_loose(f) for f in {id(f): f for f in fixed}.values())
    for key, n in wanted.items():
        if after[key] > max(0, before[key] - n):
            rid, path, target = key
            raise FixFailed(f"{rid} on {target or path} is still reported after its fix; nothing written")
    # a fix must not trade its finding for a worse one (e.g. a value that became new YAML keys)
    worst = max((_severity(f) for f in fixed), default=None)
    if worst is not None:
        introduced = after - before
        for f in findings:
            key = _loose(f)
            if introduced[key] > 0 and not f.suppressed and _severity(f) > worst:
                raise FixFailed(f"the fix would introduce {f.rule.id} ({_severity(f).label}) on "
                                f"{f.target or f.path}; nothing written")
    return new, findings


def _severity(f: Finding) -> Severity:
    return f.severity if f.severity is not None else f.rule.severity


def _loose(f: Finding) -> tuple[str, str, str]:
    """Identity of a finding that survives edits elsewhere (messages and lines may change)."""
    return (f.rule.id, f.path or "", f.target or "")


def check_one(project: Project, finding: Finding, fix: Fix, config: Config) -> Outcome:
    """Apply a single fix and verify it (what the TUI's confirm dialog writes)."""
    texts = apply_one(project, fix)
    new, findings = verify(project, texts, [finding], config)
    out = Outcome(project=new, findings_after=findings)
    for path, after in texts.items():
        before = current_text(project, path)
        out.changes[path] = Change(path, before, after, created=_created(project, path))
    out.applied.append((finding, fix))
    return out


Selector = Callable[[Finding], bool]


def selector(rules: list[str] | None = None, *, unsafe: bool = False, paths: list[str] | None = None) -> Selector:
    allowed = {Applicability.SAFE, Applicability.NEEDS_INPUT} | ({Applicability.UNSAFE} if unsafe else set())

    def pick(f: Finding) -> bool:
        if f.suppressed or f.fix is None or f.fix.applicability not in allowed:
            return False
        if rules and not any(fnmatch.fnmatchcase(f.rule.id, r) or f.fix.id == r for r in rules):
            return False
        return not (paths and f.path not in paths)

    return pick


def _one_at_a_time(
    current: Project,
    batch: list[tuple[Finding, Fix]],
    config: Config,
    findings: list[Finding],
    outcome: Outcome,
    failed: set[tuple[str, str, str, str]],
) -> dict[str, str]:
    """A batch that did not verify as a whole: apply its fixes one by one, each on the texts as
    they were at the start of the round and only to files no earlier fix of the batch changed
    (its offsets would be stale); the rest wait for the next round, planned on the new text.
    A fix that fails on its own is a failure; one that only clashes with another is deferred."""
    good: dict[str, str] = {}
    seen: dict[tuple[Edit, ...], bool] = {}
    for f, fx in batch:
        if fx.edits in seen:
            if seen[fx.edits]:
                outcome.applied.append((f, fx))
            continue
        paths = {e.path for e in fx.edits}
        if paths & set(good):
            continue  # deferred: the file already changed this round
        try:
            t = {p: apply_edits(current_text(current, p), es) for p, es in group_by_path(fx.edits).items()}
        except EditConflict as exc:  # the fix's own edits collide: a fixer bug, reported
            seen[fx.edits] = False
            failed.add(_key(f))
            outcome.failed.append((f, str(exc)))
            continue
        try:
            verify(current, {**good, **t}, [f], config, findings)
        except FixFailed as exc:
            seen[fx.edits] = False
            if good and _verifies(current, t, f, config, findings):
                continue  # fine alone, clashed with this round's earlier fixes: next round
            failed.add(_key(f))
            outcome.failed.append((f, str(exc)))
            continue
        good.update(t)
        seen[fx.edits] = True
        outcome.applied.append((f, fx))
    return good


def _verifies(current: Project, texts: dict[str, str], f: Finding, config: Config, findings: list[Finding]) -> bool:
    try:
        verify(current, texts, [f], config, findings)
    except FixFailed:
        return False
    return True


Evidence = Mapping[str, str] | Callable[[Finding], Mapping[str, str] | None] | None


def fix_all(
    project: Project,
    config: Config,
    pick: Selector,
    values: Mapping[str, str] | None = None,
    evidence: Evidence = None,
    findings: list[Finding] | None = None,
) -> Outcome:
    """Apply every selected fix until nothing selectable is left (at most MAX_ROUNDS rounds).

    Each round plans fixes on the current texts, applies the largest non-overlapping set, and
    re-checks; fixes whose edits collided are planned again on the new text next round.
    `evidence` is one mapping of live defaults, or a function giving each finding its own."""
    original = project
    texts: dict[str, str] = {}
    outcome = Outcome()
    failed: set[tuple[str, str, str, str]] = set()
    current = project
    if findings is None:
        findings = run_checks(current, config)
    for _round in range(MAX_ROUNDS):
        batch: list[tuple[Finding, Fix]] = []
        taken: list[Edit] = []
        for f in findings:
            if _key(f) in failed:
                continue
            f.fix = plan_fix(f, current, config, values, evidence(f) if callable(evidence) else evidence)
            if not pick(f):
                continue
            assert f.fix is not None
            if any(fx.edits == f.fix.edits for _f, fx in batch):
                batch.append((f, f.fix))  # the same remedy fixes several findings (limits block)
                continue
            if any(overlaps(e, t) for e in f.fix.edits for t in taken):
                continue  # re-planned next round on the new text
            batch.append((f, f.fix))
            taken.extend(f.fix.edits)
        if not batch:
            break
        try:
            round_texts = {p: apply_edits(current_text(current, p), es) for p, es in group_by_path(taken).items()}
            new_project, new_findings = verify(current, round_texts, [f for f, _ in batch], config, findings)
        except (FixFailed, EditConflict):
            good = _one_at_a_time(current, batch, config, findings, outcome, failed)
            if good:
                texts.update(good)
                current = with_texts(original, texts)
                findings = run_checks(current, config)
            continue
        texts.update(round_texts)
        outcome.applied.extend(batch)
        current, findings = new_project, new_findings
    for path, after in texts.items():
        before = current_text(original, path)
        outcome.changes[path] = Change(path, before, after, _created(original, path))
    outcome.project = current
    outcome.findings_after = findings
    return outcome
