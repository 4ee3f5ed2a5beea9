"""One scan: load the project, run the rules, attach the fix each finding can take.

Shared by `batten scan`, `batten fix` and the TUI. Imports neither textual nor docker.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from app.checks.engine import run_checks
from app.config import Config, load_config
from app.model import Finding, Severity, UsageError
from app.sources.project import Project, load_project


@dataclass
class ScanResult:
    project: Project
    config: Config
    findings: list[Finding]
    elapsed: float = 0.0
    live: list[Finding] = field(default_factory=list)

    def files(self) -> list[dict[str, Any]]:
        return [
            {"path": f.path, "kind": f.kind, "error": f.error.message if f.error else None}
            for f in self.project.files
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


def scan(paths: list[str] | None = None, *, config: Config | None = None, with_fixes: bool = True) -> ScanResult:
    started = time.perf_counter()
    paths = paths or ["."]
    root = resolve_root(paths)
    cfg = config if config is not None else load_config(root)
    project = load_project(paths, exclude=cfg.exclude)
    findings = run_checks(project, cfg)
    if with_fixes:
        attach_fixes(findings, project, cfg)
    return ScanResult(project, cfg, findings, time.perf_counter() - started)


def attach_fixes(findings: list[Finding], project: Project, config: Config) -> None:
    try:
        from fixers.plan import plan_fix
    except ImportError:  # fixers not built yet
        return
    for f in findings:
        f.fix = plan_fix(f, project, config)


def threshold_hit(result: ScanResult, fail_on: str) -> bool:
    if fail_on == "never":
        return False
    limit = Severity.parse(fail_on)
    return any((f.severity or f.rule.severity) >= limit for f in result.active())
