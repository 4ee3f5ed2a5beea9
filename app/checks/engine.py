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
from batten.sources.compose import ComposeProject
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
        out.extend(compose_problems(cp))
    out.extend(env_notes(project))
    return out


# a unit of checking work: (weight, kind, index), kind "df" (a Dockerfile, index into
# project.files) or "cp" (a compose project, index into project.compose_projects); the weight
# lets a scan split the units evenly between processes
Unit = tuple[int, str, int]


def work_units(project: Project) -> list[Unit]:
    """One unit per checked Dockerfile and one per compose project, in project order."""
    units: list[Unit] = []
    for i, pf in enumerate(project.files):
        if pf.dockerfile is not None and pf.error is None and not pf.implicit:
            units.append((len(pf.dockerfile.instructions) + 4, "df", i))
    for i, cp in enumerate(project.compose_projects):
        units.append((12 * len(cp.services) + 4, "cp", i))
    return units


def check_unit(project: Project, unit: Unit, config: Config | None = None) -> list[Finding]:
    _weight, kind, i = unit
    if kind == "df":
        df = project.files[i].dockerfile
        assert df is not None
        return check_dockerfile(df, project, config)
    return check_compose(project.compose_projects[i], project, config)


def compose_problems(cp: ComposeProject) -> list[Finding]:
    """What went wrong resolving a compose project (extends, include:) and what did not stop its
    files being checked (capped interpolation), where it is: parse.error, or the notice an
    include batten does not read gets (compose.include-unread)."""
    return [make(p.rule, p.message, Location(cf.path, p.line, p.column), evidence={"kind": "compose"})
            for cf, p in [*cp.problems, *((cf, w) for cf in cp.all_files() for w in cf.warnings)]]


def env_notes(project: Project) -> list[Finding]:
    """.env lines whose expansion went over a cap (kept as written)."""
    return [make("parse.error", message, Location(path, line, 1), evidence={"kind": "env"})
            for path, line, message in project.env_problems]


def raw_findings(project: Project, config: Config | None = None) -> list[Finding]:
    """All findings before config and suppressions, deduplicated (the config's settings that
    rules read, such as trusted registries, apply)."""
    out = parse_error_findings(project)
    for unit in work_units(project):
        out.extend(check_unit(project, unit, config))
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
    """`config.apply` (selection, severities, per-path ignores), then inline pragmas; sorted."""
    pragmas: dict[str, FilePragmas] = {}
    result = config.apply(findings)
    for f in result:
        path = f.location.path if f.location else None
        if f.suppressed is not None or path is None or f.rule.id == "parse.error":
            continue
        fp = pragmas.get(path)
        if fp is None:
            pf = project.file(path)
            fp = parse_pragmas(pf.source, pf.kind) if pf is not None and pf.source is not None else _ci_pragmas(
                project, path)
            pragmas[path] = fp
        hit = fp.match(f.rule.id, _candidate_lines(f, project))
        if hit is not None:
            f.suppressed = hit.how
    result.sort(key=Finding.sort_key)
    return result


def _ci_pragmas(project: Project, path: str) -> FilePragmas:
    """Pragmas of a CI pipeline file (where the project-level supply.* findings sit)."""
    from batten.sources.text import SourceText

    for rel, text in project.ci_files:
        if rel == path:
            return parse_pragmas(SourceText(path, text.encode("utf-8", "surrogateescape"), text), "compose")
    return FilePragmas()


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
    config = config or Config()
    return apply_config(raw_findings(project, config), project, config)
