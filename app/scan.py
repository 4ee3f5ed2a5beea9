"""One scan: load the project, run the rules, attach the fix each finding can take.

Shared by `batten scan`, `batten fix` and the TUI. Imports neither textual nor docker.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from batten import cache
from batten.checks.engine import Unit, check_unit, run_checks, work_units
from batten.config import Config, discover_config
from batten.model import Finding, Severity, UsageError
from batten.sources.project import Project, load_project


@dataclass
class ScanResult:
    project: Project
    config: Config
    findings: list[Finding]
    elapsed: float = 0.0
    cached: bool = False
    live: list[Finding] = field(default_factory=list)

    def files(self) -> list[dict[str, Any]]:
        """The files the report covers: those scanned, and the compose files they read through
        `include:` or `extends` (findings point into them), not a Dockerfile loaded only
        because a compose file builds it."""
        return [
            {"path": f.path, "kind": f.kind, "error": f.error.message if f.error else None}
            for f in self.project.files
            if not f.implicit or f.compose is not None
        ]

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def worst(self) -> Severity | None:
        sev = [f.severity for f in self.active() if f.severity is not None]
        return max(sev) if sev else None


def resolve_root(paths: list[str]) -> str:
    for p in paths:
        if not os.path.exists(p):
            raise UsageError(f"{p}: no such file or directory")
        if os.path.isdir(p) and not os.access(p, os.R_OK | os.X_OK):
            raise UsageError(f"{p}: directory is not readable")
    first = paths[0]
    return first if os.path.isdir(first) else (os.path.dirname(os.path.abspath(first)) or ".")


def scan(
    paths: list[str] | None = None,
    *,
    config: Config | None = None,
    with_fixes: bool = True,
    detached: bool = False,
    use_cache: bool = True,
    stdin_root: str | None = None,
    checks: Callable[[Project, Config], list[Finding]] | None = None,
) -> ScanResult:
    """Load and check a project. With `detached=True` (headless reports) findings may come back
    without their model objects (`subject`/`scope`), which lets the checks of a large project run
    on both cores and lets an unchanged project come from the content-hash cache. `checks`
    replaces run_checks (batten fix keeps the findings per unit to verify fixes)."""
    started = time.perf_counter()
    paths = paths or ["."]
    resolve_root(paths)
    cfg = config if config is not None else discover_config(paths)
    if stdin_root is not None:  # `scan -`: the file stands in for one under the current directory
        project = load_project(paths, root=stdin_root)
        cfg.bind(os.getcwd())
    else:
        if any(os.path.isdir(p) for p in paths):
            cfg.bind(paths[0])
        else:  # files named on the command line (a pre-commit hook's) honour `exclude` too
            paths = [p for p in paths if not cfg.excludes_file(p)]
        project = (load_project(paths, exclude=cfg.excluded) if paths
                   else Project(root=os.path.realpath(os.getcwd()), explicit=True))
        cfg.bind(project.root)
    key = None
    if detached and with_fixes and use_cache and cache.enabled():
        key = cache.scan_key(project, repr(cfg))
        hit = cache.load(key)
        if hit is not None:
            return ScanResult(project, cfg, hit, time.perf_counter() - started, cached=True)
    with model_frozen():
        if detached and _parallel_ok(project):
            findings = _parallel_findings(project, cfg, with_fixes)
        else:
            findings = (checks or run_checks)(project, cfg)
            if with_fixes:
                attach_fixes(findings, project, cfg)
    if key is not None:
        cache.store(key, findings)
    return ScanResult(project, cfg, findings, time.perf_counter() - started)


@contextmanager
def model_frozen() -> Iterator[None]:
    """For the length of a run over a loaded model (a scan's checks, the TUI's apply-all), the
    collector leaves what exists alone (gc.freeze): the model is alive for the whole run, yet each
    full collection walked all of it again (pausing every thread), and after the fork of the
    two-core scan a collection in either process wrote to every object's header, copying the
    whole heap. What the run allocates is collected as usual; what was frozen is handed back to
    the collector afterwards (the TUI rescans and drops old models). Nested in another run's
    freeze, it leaves that freeze alone."""
    mine = gc.get_freeze_count() == 0
    if mine:
        gc.freeze()
    try:
        yield
    finally:
        if mine:
            gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# both cores: the checks (and fix planning) of half the files run in a forked child
# ---------------------------------------------------------------------------------------------

PARALLEL_MIN_UNITS = 40


def _parallel_ok(project: Project) -> bool:
    if os.environ.get("BATTEN_NO_PARALLEL") or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return False
    return len(work_units(project)) >= PARALLEL_MIN_UNITS


def _run_units(project: Project, config: Config, units: list[Unit], with_fixes: bool) -> list[Finding]:
    out = [f for u in units for f in check_unit(project, u, config) if config.enabled(f.rule.id)]
    if with_fixes:
        attach_fixes(out, project, config)
    return out


def _detach(f: Finding) -> tuple[Any, ...]:
    fix = (f.fix.id, f.fix.title, str(f.fix.applicability), f.fix.risk) if f.fix is not None else None
    return (f.rule.id, f.message, f.location, f.target, f.target_kind, f.severity, f.evidence, f.anchors,
            f.secrets, fix, f.no_fix)


def _attach(t: tuple[Any, ...]) -> Finding:
    from batten.checks.catalogue import rule
    from batten.model import Applicability, Fix

    rid, message, location, target, kind, severity, evidence, anchors, secrets, fix, no_fix = t
    summary = Fix(fix[0], fix[1], Applicability(fix[2]), "", (), risk=fix[3]) if fix is not None else None
    return Finding(rule=rule(rid), message=message, location=location, target=target, target_kind=kind,
                   severity=severity, evidence=evidence, anchors=anchors, secrets=secrets, fix=summary,
                   no_fix=no_fix)


def _parallel_findings(project: Project, config: Config, with_fixes: bool) -> list[Finding]:
    import pickle

    from batten.checks.engine import apply_config, dedupe, parse_error_findings
    from batten.checks.project_rules import check_project

    units = sorted(work_units(project), reverse=True)
    mine: list[Unit] = []
    theirs: list[Unit] = []
    load_mine = load_theirs = 0
    for u in units:  # greedy balance by weight
        if load_mine <= load_theirs:
            mine.append(u)
            load_mine += u[0]
        else:
            theirs.append(u)
            load_theirs += u[0]
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: check its half, send detached findings, exit without cleanup
        code = 1
        try:
            os.close(rfd)
            data = pickle.dumps([_detach(f) for f in _run_units(project, config, theirs, with_fixes)],
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(wfd, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    out = parse_error_findings(project)
    out.extend(_run_units(project, config, mine, with_fixes))
    project_findings = [f for f in check_project(project) if config.enabled(f.rule.id)]
    if with_fixes:
        attach_fixes(project_findings, project, config)
    out.extend(project_findings)
    with os.fdopen(rfd, "rb") as fh:
        data = fh.read()
    _pid, status = os.waitpid(pid, 0)
    if status == 0 and data:
        out.extend(_attach(t) for t in pickle.loads(data))
    else:  # the child failed: do its share here
        out.extend(_run_units(project, config, theirs, with_fixes))
    return apply_config(dedupe(out), project, config)


def attach_fixes(findings: list[Finding], project: Project, config: Config) -> None:
    from batten.fixers.plan import attach_fix

    for f in findings:
        attach_fix(f, project, config)


def threshold_hit(result: ScanResult, fail_on: str) -> bool:
    if fail_on == "never":
        return False
    limit = Severity.parse(fail_on)
    return any((f.severity or f.rule.severity) >= limit for f in result.active())
