"""The fix property over a set of projects (used by tests/test_fix_corpus.py and
bench/bench_fixes.py): every offered fix, applied alone, verifies (the result parses and the
finding is gone), changes nothing outside its edited lines, and is not offered again; all fixes
of a project applied together verify, and a second run changes nothing."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import FixFailed, check_one, fix_all, selector
from batten.fixers.edits import EditConflict
from batten.fixers.plan import plan_fix
from batten.model import Edit
from batten.sources.project import Project, load_project


@dataclass
class Stats:
    projects: int = 0
    files: int = 0
    findings: int = 0
    offered: int = 0
    verified: int = 0
    together_projects: int = 0
    together_applied: int = 0
    by_fix: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def touched_lines(before: str, edits: Iterable[Edit]) -> set[int]:
    """1-based lines of `before` an edit may change (an insertion of complete lines at a line
    start touches nothing)."""
    starts = [0] + [i + 1 for i, ch in enumerate(before) if ch == "\n"]
    out: set[int] = set()
    for e in edits:
        if e.start == e.end:
            if not ((e.start == 0 or before[e.start - 1] == "\n") and e.text.endswith("\n")):
                out.add(bisect.bisect_right(starts, e.start))
            continue
        first = bisect.bisect_right(starts, e.start)
        last = bisect.bisect_right(starts, max(e.start, e.end - 1))
        out.update(range(first, last + 1))
    return out


def preserved(before: str, after: str, edits: Iterable[Edit]) -> str | None:
    """None if every line no edit touches is in `after`, unchanged and exactly where the edits
    put it; else a description of the damage."""
    edits = list(edits)
    touched = touched_lines(before, edits)
    starts = [0] + [i + 1 for i, ch in enumerate(before) if ch == "\n"]
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for n, start in enumerate(starts, 1):
        if n in touched or start >= len(before):
            continue
        end = starts[n] if n < len(starts) else len(before)
        at = start + sum(len(e.text) - (e.end - e.start) for e in ordered
                         if e.end <= start and not (e.start == e.end == start and not e.text.endswith("\n")))
        if after[at : at + end - start] != before[start:end]:
            return f"untouched line {n} changed"
    if before.endswith("\n") != after.endswith("\n"):
        return "final-newline state changed"
    if "\r\n" in before and before.count("\n") == before.count("\r\n") and after.count("\n") != after.count("\r\n"):
        return "CRLF file got LF line endings"
    return None


def shifted(before: str, offset: int, edits: Iterable[Edit]) -> int | None:
    """Where `offset` of the old text lands in the new one; None when an edit rewrote it."""
    edits = list(edits)
    if any(e.start <= offset < e.end and e.text != before[e.start : e.end] for e in edits):
        return None
    return offset + sum(len(e.text) - (e.end - e.start) for e in edits if e.end <= offset
                        and not (e.start == e.end == offset))


def check_project(project: Project, stats: Stats, config: Config | None = None) -> None:
    config = config or Config()
    stats.projects += 1
    stats.files += len(project.files)
    findings = run_checks(project, config)
    stats.findings += len(findings)
    for f in findings:
        if f.suppressed:
            continue
        try:
            fix = plan_fix(f, project, config)
        except Exception as exc:  # a crash in a fixer is a failure, not a skip
            stats.failures.append(f"{f.path}: {f.rule.id} [{f.target}]: fixer crashed: {exc!r}")
            continue
        if fix is None:
            continue
        stats.offered += 1
        stats.by_fix[fix.id] = stats.by_fix.get(fix.id, 0) + 1
        where = f"{f.path}:{f.line} {f.rule.id} [{f.target}] {fix.id}"
        try:
            outcome = check_one(project, f, fix, config)
        except (FixFailed, EditConflict) as exc:
            stats.failures.append(f"{where}: {exc}")
            continue
        bad = None
        for change in outcome.changes.values():
            if change.created or not change.before:
                continue  # a new file (secret, .gitignore): nothing to preserve
            bad = preserved(change.before, change.after, [e for e in fix.edits if e.path == change.path])
            if bad:
                break
        if bad:
            stats.failures.append(f"{where}: {bad}")
            continue
        again = outcome.project
        assert again is not None
        # the same finding (same rule and target, at its shifted place) must not be fixable again
        span = f.location.span if f.location is not None else None
        before_text = project.file(f.path).source.text if project.file(f.path) and project.file(f.path).source else ""
        own = [e for e in fix.edits if e.path == f.path]
        at = shifted(before_text, span.start, own) if span is not None else None
        if any(
            g.rule.id == f.rule.id and g.target == f.target and g.path == f.path and not g.suppressed
            and g.location is not None and g.location.span is not None
            and (g.location.span.start == at or (at is None and g.message == f.message))
            and plan_fix(g, again, config) is not None
            for g in outcome.findings_after
        ):
            stats.failures.append(f"{where}: offered again after it was applied")
            continue
        stats.verified += 1
    # everything together
    outcome = fix_all(project, config, selector(None, unsafe=True), findings=findings)
    if outcome.applied:
        stats.together_projects += 1
        stats.together_applied += len(outcome.applied)
    for f, why in outcome.failed:
        stats.failures.append(f"together: {f.path} {f.rule.id} [{f.target}]: {why}")
    if outcome.project is not None and outcome.changes:
        second = fix_all(outcome.project, config, selector(None, unsafe=True))
        changed = [p for p, c in second.changes.items() if c.before != c.after]
        if changed or second.failed:
            stats.failures.append(f"together: second run changed {changed} / failed {len(second.failed)}")


def corpus_projects(corpus: Path) -> list[Project]:
    """One project per awesome-compose sample folder (kept whole, build contexts resolve);
    every other corpus file is its own project."""
    rows = [line.split("\t") for line in (corpus / "manifest.tsv").read_text().splitlines()[1:]]
    samples: set[Path] = set()
    singles: list[Path] = []
    for cols in rows:
        if len(cols) < 2 or cols[1] not in ("dockerfile", "compose"):
            continue
        rel = Path(cols[0])
        parts = rel.parts
        sample = corpus / parts[0] / parts[1]
        if parts[0] == "docker__awesome-compose" and (
            (sample / "compose.yaml").exists() or (sample / "docker-compose.yml").exists()
        ):
            samples.add(sample)
        else:
            singles.append(corpus / rel)
    out = [load_project([str(d)]) for d in sorted(samples)]
    out += [load_project([str(p)]) for p in sorted(singles)]
    return out
