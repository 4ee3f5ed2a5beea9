"""Run every rule over a project, then apply config (select/ignore, severities, per-path ignores)
and inline suppressions. Suppressed findings stay in the result, marked."""

from __future__ import annotations

from batten.checks.base import make
from batten.checks.compose_rules import check_compose
from batten.checks.dockerfile_rules import check_dockerfile
from batten.checks.project_rules import check_project
from batten.checks.suppress import FilePragmas, parse_pragmas
from batten.config import Config
from batten.model import Finding, Location
from batten.sources.project import Project


def parse_error_findings(project: Project) -> list[Finding]:
    out: list[Finding] = []
    for pf in project.files:
        if pf.error is not None and not pf.implicit:
            out.append(
                make(
                    "parse.error",
                    f"cannot parse {pf.kind}: {pf.error.message}",
                    Location(pf.path, pf.error.line, pf.error.column),
                    evidence={"kind": pf.kind},
                )
            )
    for cp in project.compose_projects:
        for cf, problem in cp.problems:
            out.append(make("parse.error", problem.message, Location(cf.path, problem.line, problem.column),
                            evidence={"kind": "compose"}))
    return out


def raw_findings(project: Project) -> list[Finding]:
    """All findings before config and suppressions, deduplicated."""
    out = parse_error_findings(project)
    for pf in project.files:
        if pf.dockerfile is not None and pf.error is None and not pf.implicit:
            out.extend(check_dockerfile(pf.dockerfile, project))
    for cp in project.compose_projects:
        out.extend(check_compose(cp, project))
    out.extend(check_project(project))
    return dedupe(out)


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop repeats (compose variants of one directory report shared findings once)."""
    seen: set[tuple] = set()
    unique: list[Finding] = []
    for f in findings:
        loc = f.location
        key = (f.rule.id, loc.path if loc else "", loc.line if loc else 0, loc.column if loc else 0, f.target,
               f.message)
        if key in seen:
            continue
        seen.add(key)
        unique.append(f)
    return unique


def apply_config(findings: list[Finding], project: Project, config: Config) -> list[Finding]:
    pragmas: dict[str, FilePragmas] = {}
    result: list[Finding] = []
    for f in findings:
        if not config.enabled(f.rule.id):
            continue
        f.severity = config.severity_for(f.rule.id, f.rule.severity)
        path = f.location.path if f.location else None
        pi = config.path_ignore(path, f.rule.id)
        if pi is not None:
            f.suppressed = f"config: {pi.reason}"
        elif path is not None and f.rule.id != "parse.error":
            fp = pragmas.get(path)
            if fp is None:
                pf = project.file(path)
                fp = parse_pragmas(pf.source, pf.kind) if pf is not None and pf.source is not None else FilePragmas()
                pragmas[path] = fp
            lines = _candidate_lines(f, project)
            hit = fp.match(f.rule.id, lines)
            if hit is not None:
                f.suppressed = hit.how
        result.append(f)
    result.sort(key=Finding.sort_key)
    return result


def _candidate_lines(f: Finding, project: Project) -> tuple[int, ...]:
    loc = f.location
    if loc is None:
        return f.anchors
    lines = [loc.line, *f.anchors]
    pf = project.file(loc.path)
    if pf is not None and pf.dockerfile is not None:
        ins = pf.dockerfile.instruction_at_line(loc.line)
        if ins is not None and ins.line not in lines:
            lines.append(ins.line)
    return tuple(lines)


def run_checks(project: Project, config: Config | None = None) -> list[Finding]:
    return apply_config(raw_findings(project), project, config or Config())
