"""Apply fixes in memory: one fix, a chosen set, or everything selected, with a fixpoint loop
and built-in verification (the result must parse and the fixed findings must be gone).

Verification re-checks only what a fix can change (batten.fixers.scope): the files it touches and
what depends on them. Within a round, fixes whose scopes do not meet are verified independently;
a group that does not verify is split in halves until the fix that breaks it is found, so one bad
fix costs a few re-checks of its own files, not one re-check of the tree per fix."""

from __future__ import annotations

import fnmatch
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from batten.config import Config
from batten.fixers.edits import (
    EditConflict,
    apply_edits,
    group_by_path,
    mask_diff,
    overlaps,
    unified_diff,
)
from batten.fixers.plan import attach_fix, spec_for
from batten.fixers.scope import Checker, Unit
from batten.model import Applicability, Edit, Finding, Fix, Severity
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
        return mask_diff(unified_diff(self.path, self.before, self.after), mask)


@dataclass
class Outcome:
    changes: dict[str, Change] = field(default_factory=dict)
    applied: list[tuple[Finding, Fix]] = field(default_factory=list)
    failed: list[tuple[Finding, str]] = field(default_factory=list)
    project: Project | None = None  # the project as it will be after writing
    findings_after: list[Finding] = field(default_factory=list)
    # offered fixes that were not applied (declined on the new text, or the loop stopped), why
    pending: list[tuple[Finding, str]] = field(default_factory=list)
    rounds: int = 0
    units_checked: int = 0  # unit checks spent on verification (a measure of its cost)

    @property
    def secrets(self) -> set[str]:
        return {s for _f, fx in self.applied for s in fx.secrets}

    def diff(self, known: Iterable[str] = ()) -> str:
        """The masked diff: the fixes' own secrets, `known` ones (see known_secrets) and every
        value of a file that holds secrets."""
        mask = self.secrets | set(known)
        return "".join(c.diff(mask) for c in self.changes.values() if c.before != c.after)


def known_secrets(project: Project, findings: Iterable[Finding]) -> set[str]:
    """The secret values the findings point at, wherever they are (masked in every diff line)."""
    out: set[str] = set()
    texts: dict[str, str] = {}
    for f in findings:
        if not f.secrets or not f.path:
            continue
        text = texts.get(f.path)
        if text is None:
            text = texts[f.path] = current_text(project, f.path)
        out |= {text[s.start : s.end] for s in f.secrets if 0 <= s.start < s.end <= len(text)}
    return out


def _key(f: Finding) -> tuple[str, str, str, str]:
    return (f.rule.id, f.path or "", f.target or "", f.message)


def apply_one(project: Project, fix: Fix) -> dict[str, str]:
    """New texts of the files `fix` touches (no verification)."""
    out: dict[str, str] = {}
    for path, edits in group_by_path(fix.edits).items():
        out[path] = apply_edits(current_text(project, path), edits)
    return out


class FixCancelled(Exception):
    """`fix_all` was cancelled through its `cancel` hook; nothing was applied."""


def _where(f: Finding) -> tuple:
    loc = f.location
    return (*_key(f), loc.line if loc else 0, loc.column if loc else 0)


def _clash(a: Edit, b: Edit) -> bool:
    """Two edits that cannot go into one round: they overlap, both insert the same text at one
    point (two fixes sharing a step), or both add the same top-level key to one file (`secrets:`
    twice is a duplicate key wherever the two go). The later one is planned again next round."""
    if overlaps(a, b):
        return True
    if a.path != b.path or a.start != a.end or b.start != b.end:
        return False
    if a.start == b.start and a.text == b.text:
        return True
    ka, kb = _top_key(a.text), _top_key(b.text)
    return ka is not None and ka == kb


_TOP_KEY = re.compile(r"([A-Za-z_][\w.-]*|\"[^\"\n]*\"|'[^'\n]*')[ \t]*:(?:[ \t]|$)")


def _top_key(text: str) -> str | None:
    """The key a block of whole lines adds at column 0 (`secrets:` ...), else None."""
    if not text.endswith("\n"):
        return None
    for line in text.replace("\r", "").split("\n"):
        if line.strip():
            m = _TOP_KEY.match(line)
            return m.group(1) if m else None
    return None


def _loose(f: Finding) -> tuple[str, str, str]:
    """Identity of a finding that survives edits elsewhere (messages and lines may change)."""
    return (f.rule.id, f.path or "", f.target or "")


def _parse_problem(old: Project, new: Project, paths: Iterable[str]) -> str | None:
    for path in paths:
        pf = new.file(path)
        was = old.file(path)
        if pf is None:
            continue
        if pf.error is not None and (was is None or was.error is None):
            return f"{path}: the fixed file does not parse ({pf.error.message}); nothing written"
        if pf.dockerfile is not None and was is not None and was.dockerfile is not None and \
                len(pf.dockerfile.problems) > len(was.dockerfile.problems):
            return f"{path}: the fixed Dockerfile has a problem ({pf.dockerfile.problems[0].message})"
    return None


def _still_reported(before: Iterable[Finding], after: Iterable[Finding], fixed: Iterable[Finding]) -> str | None:
    """Why the findings `after` the fixes do not show them working: a fixed finding is still
    reported, or a finding more severe than every fixed one appears (e.g. a value that became
    new YAML keys). None when they do."""
    fixed = list({id(f): f for f in fixed}.values())
    after = list(after)
    counts_before = Counter(_loose(f) for f in before if not f.suppressed)
    counts_after = Counter(_loose(f) for f in after if not f.suppressed)
    wanted = Counter(_loose(f) for f in fixed)
    for key, n in wanted.items():
        if counts_after[key] > max(0, counts_before[key] - n):
            rid, path, target = key
            return f"{rid} on {target or path} is still reported after its fix; nothing written"
    worst = max((_severity(f) for f in fixed), default=None)
    if worst is not None:
        introduced = counts_after - counts_before
        for f in after:
            if introduced[_loose(f)] > 0 and not f.suppressed and _severity(f) > worst:
                return (f"the fix would introduce {f.rule.id} ({_severity(f).label}) on "
                        f"{f.target or f.path}; nothing written")
    return None


def _severity(f: Finding) -> Severity:
    return f.severity if f.severity is not None else f.rule.severity


def _fixed_paths(fixed: Iterable[Finding]) -> set[str]:
    return {f.path for f in fixed if f.path}


def verify(
    project: Project,
    texts: Mapping[str, str],
    fixed: Iterable[Finding],
    config: Config,
    checker: Checker | None = None,
) -> tuple[Project, list[Finding]]:
    """Re-parse and re-check; raise FixFailed if a file no longer parses, a finding stays, or a
    finding more severe than every fixed one appears. Only the units the change can reach are
    checked again; the findings returned are the whole project's."""
    fixed = list(fixed)
    new = with_texts(project, dict(texts))
    problem = _parse_problem(project, new, texts)
    if problem:
        raise FixFailed(problem)
    before = checker if checker is not None and checker.project is project else Checker(project, config)
    after, units = before.derive(new, set(texts) | _fixed_paths(fixed))
    problem = _still_reported(before.of(units), after.of(units), fixed)
    if problem:
        raise FixFailed(problem)
    return new, after.findings()


def check_one(project: Project, finding: Finding, fix: Fix, config: Config, checker: Checker | None = None) -> Outcome:
    """Apply a single fix and verify it (what the TUI's confirm dialog writes)."""
    texts = apply_one(project, fix)
    new, findings = verify(project, texts, [finding], config, checker=checker)
    out = Outcome(project=new, findings_after=findings)
    for path, after in texts.items():
        before = current_text(project, path)
        out.changes[path] = Change(path, before, after, created=_created(project, path))
    out.applied.append((finding, fix))
    return out


class Selector:
    """Which findings' fixes to apply: by rule id/glob or fix id, applicability and path."""

    def __init__(self, rules: list[str] | None = None, *, unsafe: bool = False, paths: list[str] | None = None):
        self.rules = list(rules or [])
        self.allowed = {Applicability.SAFE, Applicability.NEEDS_INPUT} | ({Applicability.UNSAFE} if unsafe else set())
        self.paths = list(paths or [])

    def wants(self, f: Finding) -> bool:
        """The finding is one this selection is about (whatever its fix)."""
        if f.suppressed:
            return False
        if self.rules and not any(fnmatch.fnmatchcase(f.rule.id, r) or (f.fix is not None and f.fix.id == r)
                                  or _spec_id(f) == r for r in self.rules):
            return False
        return not (self.paths and f.path not in self.paths)

    def __call__(self, f: Finding) -> bool:
        return self.wants(f) and f.fix is not None and f.fix.applicability in self.allowed


def _spec_id(f: Finding) -> str | None:
    spec = spec_for(f)
    return spec.id if spec is not None else None


def selector(rules: list[str] | None = None, *, unsafe: bool = False, paths: list[str] | None = None) -> Selector:
    return Selector(rules, unsafe=unsafe, paths=paths)


Evidence = Mapping[str, str] | Callable[[Finding], Mapping[str, str] | None] | None


@dataclass
class Progress:
    """Where `fix_all` is, for a progress line: reported after each step of verification."""

    round: int
    files: int  # files in the project
    touched: int  # files changed so far
    verified: int  # fixes applied and verified so far
    failed: int
    pending: int  # fixes planned this round, not settled yet
    elapsed: float
    phase: str = "verify"  # check | verify | done

    @property
    def eta(self) -> float | None:
        """Seconds left if the pending fixes go as fast as the ones settled so far."""
        done = self.verified + self.failed
        if done == 0 or self.pending == 0:
            return None if self.pending else 0.0
        return self.elapsed / done * self.pending


@dataclass(eq=False)
class _Group:
    """Fixes with identical edits (one remedy clearing several findings) applied as one."""

    edits: tuple[Edit, ...]
    members: list[tuple[Finding, Fix]]

    @property
    def findings(self) -> list[Finding]:
        return [f for f, _fx in self.members]

    @property
    def paths(self) -> set[str]:
        return {e.path for e in self.edits} | _fixed_paths(self.findings)


class _Run:
    """One `fix_all`: the current texts and findings, and the verification of each round."""

    def __init__(self, project: Project, config: Config, progress: Callable[[Progress], None] | None,
                 cancel: Callable[[], bool] | None, checker: Checker | None = None) -> None:
        self.original = project
        self.config = config
        self.current = project
        fresh = checker is None or checker.project is not project or checker.config is not config
        self.checker = Checker(project, config) if fresh else checker  # type: ignore[assignment]
        self.texts: dict[str, str] = {}
        self.outcome = Outcome()
        self.outcome.units_checked = self.checker.checked if fresh else 0
        self.failed: set[tuple[str, str, str, str]] = set()
        self.progress_cb = progress
        self.cancel = cancel
        self.started = time.perf_counter()
        self.round = 0
        self.pending = 0
        self.last_report = 0.0
        self.planned: dict[int, tuple[Finding, frozenset[str]]] = {}  # id -> (finding, files its plan read)

    # -- hooks ---------------------------------------------------------------------------------
    def tick(self, phase: str = "verify", force: bool = False) -> None:
        if self.cancel is not None and self.cancel():
            raise FixCancelled("cancelled: nothing applied")
        if self.progress_cb is None:
            return
        now = time.perf_counter()
        if not force and now - self.last_report < 0.1:
            return
        self.last_report = now
        self.progress_cb(Progress(self.round, len(self.original.files), len(self.texts),
                                  len(self.outcome.applied), len(self.outcome.failed), self.pending,
                                  now - self.started, phase))

    # -- one trial -----------------------------------------------------------------------------
    def trial(self, groups: list[_Group]) -> _Trial:
        """These groups' edits applied to the round's texts: the project and its findings."""
        edits = [e for g in groups for e in g.edits]
        try:
            texts = {p: apply_edits(current_text(self.current, p), es) for p, es in group_by_path(edits).items()}
        except EditConflict as exc:
            return _Trial({}, self.current, self.checker, str(exc))
        new = with_texts(self.current, texts)
        after, _units = self.checker.derive(new, set(texts) | _fixed_paths(f for g in groups for f in g.findings))
        self.outcome.units_checked += after.checked
        self.tick()
        return _Trial(texts, new, after)

    def judge(self, t: _Trial, groups: list[_Group]) -> str | None:
        """Why these groups (all applied in `t`) do not verify; None when they do. Only the
        units their files reach are compared, so groups with apart scopes are judged apart."""
        if t.conflict is not None:
            return t.conflict
        edited = {e.path for g in groups for e in g.edits}
        problem = _parse_problem(self.current, t.project, edited)
        if problem is not None:
            return problem
        fixed = [f for g in groups for f in g.findings]
        paths = edited | _fixed_paths(fixed)
        units = self.checker.index.reach(paths) | t.checker.index.reach(paths)
        return _still_reported(self.checker.of(units), t.checker.of(units), fixed)

    def settle(self, accepted: list[_Group], candidates: list[_Group]) -> list[_Group]:
        """`accepted` verified; add as many `candidates` as verify with them, halving on failure.
        A candidate that fails alone is a failure; one that only fails beside others waits for
        the next round (planned again on the new text)."""
        if not candidates:
            return accepted
        problem = self.judge(self.trial(accepted + candidates), accepted + candidates)
        if problem is None:
            return accepted + candidates
        if len(candidates) == 1:
            g = candidates[0]
            if accepted:
                alone = self.judge(self.trial([g]), [g])
                if alone is None:
                    return accepted  # fine alone: next round, on the new text
                problem = alone
            for f, _fx in g.members:
                self.failed.add(_key(f))
                self.outcome.failed.append((f, problem))
            self.pending -= 1
            return accepted
        half = len(candidates) // 2
        accepted = self.settle(accepted, candidates[:half])
        return self.settle(accepted, candidates[half:])

    # -- components ----------------------------------------------------------------------------
    def components(self, groups: list[_Group]) -> list[list[_Group]]:
        """Groups whose verification scopes meet, together; the rest verify independently."""
        parent = list(range(len(groups)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[Unit | str, int] = {}
        for i, g in enumerate(groups):
            keys: set[Unit | str] = set(self.checker.reach(g.paths)) | set(g.paths)
            for k in keys:
                j = owner.setdefault(k, i)
                if find(j) != find(i):
                    parent[find(j)] = find(i)
        comps: dict[int, list[_Group]] = {}
        for i, g in enumerate(groups):
            comps.setdefault(find(i), []).append(g)
        return list(comps.values())

    def verify_round(self, groups: list[_Group]) -> list[_Group]:
        """The groups of this round that verify, applied. Groups are judged by component (fixes
        whose scopes meet); a component that does not verify is bisected on its own."""
        t = self.trial(groups)
        if self.judge(t, groups) is None:
            self.commit(groups, t)
            return groups
        comps = self.components(groups)
        accepted: list[_Group] = []
        for comp in comps:
            if t.conflict is None and self.judge(t, comp) is None:
                accepted += comp
            else:
                accepted += self.settle([], comp)
        while accepted:  # each part verified on its own; together they must too
            t = self.trial(accepted)
            if self.judge(t, accepted) is None:
                self.commit(accepted, t)
                break
            accepted = [g for comp in self.components(accepted) if t.conflict is None and
                        self.judge(t, comp) is None for g in comp]
        return accepted

    def commit(self, groups: list[_Group], t: _Trial) -> None:
        self.texts.update(t.texts)
        for g in groups:
            self.outcome.applied.extend(g.members)
        self.pending -= len(groups)
        self.current, self.checker = t.project, t.checker

    # -- planning ------------------------------------------------------------------------------
    def plan(self, values: Mapping[str, str] | None, evidence: Evidence, changed: set[str],
             known: Mapping[tuple, Finding] | None = None) -> None:
        """Plan (again) the findings that are new or whose plan read a file that changed.
        `known` holds findings already planned on this very project with these values."""
        for f in self.checker.findings():
            if f.suppressed or _key(f) in self.failed:
                continue
            seen = self.planned.get(id(f))
            if seen is not None and seen[0] is f and not seen[1] & changed:
                continue
            same = known.get(_where(f)) if known else None
            if same is not None and same.fix is not None and same.fix.edits:
                f.fix, f.no_fix = same.fix, None
            else:
                attach_fix(f, self.current, self.config, values, evidence(f) if callable(evidence) else evidence)
            reads = {e.path for e in f.fix.edits} if f.fix is not None else set()
            self.planned[id(f)] = (f, frozenset(reads | ({f.path} if f.path else set())))


@dataclass
class _Trial:
    texts: dict[str, str]
    project: Project
    checker: Checker
    conflict: str | None = None  # the edits could not be applied together


def fix_all(
    project: Project,
    config: Config,
    pick: Selector | Callable[[Finding], bool],
    values: Mapping[str, str] | None = None,
    evidence: Evidence = None,
    findings: list[Finding] | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    planned: bool = False,
    checker: Checker | None = None,
) -> Outcome:
    """Apply every selected fix until nothing selectable is left (at most MAX_ROUNDS rounds).

    Each round plans fixes on the current texts (only findings whose files changed are planned
    again), takes the largest non-overlapping set, and verifies it within the scope it can reach;
    fixes whose edits collided are planned again on the new text next round.
    `evidence` is one mapping of live defaults, or a function giving each finding its own.
    `findings` (the scan's, with the fixes it offered) lets fixes offered there and not applied be
    reported in `Outcome.pending`; with `planned`, their fixes were planned on this very project
    with these values and are not planned again. `checker` holds the project's findings per unit
    already (the scan's, see `CheckerScan`), saving one full check. `progress` is called with a `Progress` now and then; `cancel`
    is polled between steps and, when it returns True, raises FixCancelled (nothing applied)."""
    run = _Run(project, config, progress, cancel, checker)
    outcome = run.outcome
    offered = {_key(f) for f in findings or () if pick(f)}
    changed: set[str] = set()
    run.tick("check", force=True)
    known = {_where(f): f for f in findings or ()} if planned else None
    for run.round in range(1, MAX_ROUNDS + 1):
        run.plan(values, evidence, changed, known if run.round == 1 else None)
        groups: list[_Group] = []
        by_edits: dict[tuple[Edit, ...], _Group] = {}
        taken: dict[str, list[Edit]] = {}
        for f in run.checker.findings():
            if _key(f) in run.failed or not pick(f):
                continue
            assert f.fix is not None
            if run.round == 1 and findings is None:
                offered.add(_key(f))
            same = by_edits.get(f.fix.edits)
            if same is not None:
                same.members.append((f, f.fix))  # the same remedy fixes several findings
                continue
            if any(_clash(e, t) for e in f.fix.edits for t in taken.get(e.path, ())):
                continue  # re-planned next round on the new text
            g = by_edits[f.fix.edits] = _Group(f.fix.edits, [(f, f.fix)])
            groups.append(g)
            for e in f.fix.edits:
                taken.setdefault(e.path, []).append(e)
        if not groups:
            break
        run.pending = len(groups)
        run.tick(force=True)
        before = dict(run.texts)
        run.verify_round(groups)
        changed = {p for p, t in run.texts.items() if before.get(p) != t}
    else:
        run.plan(values, evidence, changed)  # the loop stopped: what would still be offered
    outcome.rounds = run.round
    for path, after in run.texts.items():
        outcome.changes[path] = Change(path, current_text(project, path), after, _created(project, path))
    outcome.project = run.current
    outcome.findings_after = run.checker.findings()
    settled = {_key(f) for f, _fx in outcome.applied} | run.failed
    for f in outcome.findings_after:
        if f.suppressed or _key(f) in settled:
            continue
        if pick(f):
            outcome.pending.append((f, f"still offered after {run.round} rounds"))
        elif _key(f) in offered:
            outcome.pending.append((f, f.no_fix or "its fix no longer applies to the changed text"))
    run.pending = 0
    run.tick("done", force=True)
    return outcome


class CheckerScan:
    """`scan(..., checks=CheckerScan())` keeps the scan's findings per unit in `.checker`, for
    `fix_all(..., checker=...)`: the scan's check is then also the first of the fix run's."""

    def __init__(self) -> None:
        self.checker: Checker | None = None

    def __call__(self, project: Project, config: Config) -> list[Finding]:
        self.checker = Checker(project, config)
        return self.checker.findings()
