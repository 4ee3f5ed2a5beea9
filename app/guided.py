"""Guided remediation as data: the checklist walked area by area (what each is about, where
the project falls short), what was applied, skipped and undone, and the Markdown report of it
(with the live containers and their drift when an engine was seen). Textual-free."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batten import __version__
from batten.model import AREA_ORDER, Area, Finding, Fix
from batten.present import fix_label, location_label, severity_of
from batten.report import safe_text

if TYPE_CHECKING:
    from batten.scan import ScanResult

CORE_AREAS: tuple[Area, ...] = AREA_ORDER[:9]  # user … supply chain
EXTRA_AREAS: tuple[Area, ...] = AREA_ORDER[9:]  # logging, input: only when they have findings

AREA_ABOUT: dict[Area, str] = {
    Area.USER: "Processes in a container run as root unless told otherwise. A non-root user with a fixed "
               "numeric id (USER in the Dockerfile, user: in compose) limits what an escape or a "
               "compromised process can do on the host.",
    Area.CAPABILITIES: "Root in a container still holds Linux capabilities and can gain more through setuid "
                       "binaries. Drop them all (cap_drop: [ALL]), add back only what is needed, set "
                       "no-new-privileges and never run privileged.",
    Area.FILESYSTEM: "A read-only root filesystem stops an attacker from dropping tools or changing the "
                     "application; writable scratch space goes to tmpfs mounts.",
    Area.SECRETS: "Passwords and tokens written in a Dockerfile or compose file end up in images, history "
                  "and version control. Use build secrets and runtime secrets instead.",
    Area.IMAGES: "Pinned, minimal base images make builds reproducible and shrink the attack surface; "
                 "package installs should not leave caches or extra packages behind.",
    Area.HEALTH: "A healthcheck lets the engine and orchestrators notice a hung service; exec-form "
                 "commands let signals reach the process for clean shutdowns.",
    Area.NETWORK: "Publish only what must be reachable, bind admin ports to localhost and keep back-end "
                  "services on internal networks.",
    Area.RESOURCES: "Without memory, CPU and PID limits one container can starve the host or its "
                    "neighbours (fork bombs, leaks).",
    Area.SUPPLY_CHAIN: "Provenance, SBOMs, signatures and vulnerability scans in CI tell you what you ship "
                       "and let others verify it.",
    Area.LOGGING: "Unbounded json-file logs can fill the disk; set rotation (max-size, max-file).",
    Area.INPUT: "Settings batten could not read with certainty (interpolation, unparsable input).",
}


@dataclass
class AppliedFix:
    rule_id: str
    target: str
    area: Area
    fix_id: str
    title: str
    applicability: str
    paths: list[str]
    diff: str  # masked
    undone: bool = False


@dataclass
class GuidedSession:
    areas: list[Area]
    index: int = 0
    applied: list[AppliedFix] = field(default_factory=list)
    skipped: dict[str, Finding] = field(default_factory=dict)  # fingerprint -> finding
    finished: bool = False
    started: float = field(default_factory=time.time)

    @classmethod
    def start(cls, findings: Iterable[Finding]) -> GuidedSession:
        present = {f.rule.area for f in findings if not f.suppressed}
        areas = [*CORE_AREAS, *(a for a in EXTRA_AREAS if a in present)]
        return cls(areas=areas)

    @property
    def area(self) -> Area | None:
        if self.finished or not 0 <= self.index < len(self.areas):
            return None
        return self.areas[self.index]

    def next(self) -> None:
        if self.index + 1 >= len(self.areas):
            self.finished = True
            self.index = len(self.areas)
        else:
            self.index += 1

    def prev(self) -> None:
        if self.finished:
            self.finished = False
            self.index = len(self.areas) - 1
        else:
            self.index = max(0, self.index - 1)

    def skip(self, finding: Finding) -> None:
        self.skipped[finding.fingerprint()] = finding

    def record(self, finding: Finding, fix: Fix, paths: list[str], diff: str) -> None:
        self.skipped.pop(finding.fingerprint(), None)
        self.applied.append(AppliedFix(finding.rule.id, finding.target or finding.path or "", finding.rule.area,
                                       fix.id, fix.title, str(fix.applicability), list(paths), diff))

    def record_undo(self, restored: list[str]) -> None:
        for a in reversed(self.applied):
            if not a.undone and set(a.paths) & set(restored):
                a.undone = True
                return

    @property
    def changes(self) -> list[AppliedFix]:
        return [a for a in self.applied if not a.undone]


def findings_in(findings: Iterable[Finding], area: Area) -> list[Finding]:
    return [f for f in findings if f.rule.area == area and not f.suppressed and f.origin == "static"]


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return safe_text(text).replace("|", "\\|").replace("\n", " ")


def build_report(session: GuidedSession, result: ScanResult, engine: str, live: Any = None) -> str:
    """The session as Markdown: what changed, what was skipped, what remains by area, and the
    live containers (`live`: a LiveSnapshot, with their findings and drift). The caller masks
    secret values over the whole text."""
    active = [f for f in result.findings if not f.suppressed]
    counts = Counter(severity_of(f) for f in active)
    out = [
        f"# batten report: {_cell(result.project.root.rstrip('/').rsplit('/', 1)[-1])}",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M')} by batten {__version__} for `{_cell(result.project.root)}`.",
        f"{_cell(engine)}.",
        "",
        "## Summary",
        "",
        f"- fixes applied this session: {len(session.changes)}",
        f"- findings skipped: {len(session.skipped)}",
        f"- findings remaining: {len(active)}"
        + (" (" + ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)) + ")" if counts else ""),
        "",
        "## What changed",
        "",
    ]
    if not session.changes:
        out += ["Nothing was changed in this session.", ""]
    else:
        out += ["| area | rule | target | fix | kind | files |", "|---|---|---|---|---|---|"]
        for a in session.changes:
            out.append(f"| {a.area.value} | `{a.rule_id}` | {_cell(a.target)} | {_cell(a.title)} | "
                       f"{a.applicability} | {_cell(', '.join(a.paths))} |")
        out.append("")
        for a in session.changes:
            if a.diff.strip():
                out += [f"### `{a.rule_id}` on {_cell(a.target)}", "", "```diff", safe_text(a.diff).rstrip("\n"),
                        "```", ""]
    out += ["## Skipped", ""]
    if not session.skipped:
        out += ["Nothing was skipped.", ""]
    else:
        out += ["| severity | rule | target | location |", "|---|---|---|---|"]
        for f in session.skipped.values():
            out.append(f"| {severity_of(f).label} | `{f.rule.id}` | {_cell(f.target or '-')} | "
                       f"{_cell(location_label(f))} |")
        out.append("")
    out += ["## What remains, by area", ""]
    for area in session.areas:
        items = sorted(findings_in(active, area), key=lambda f: (-int(severity_of(f)), f.rule.id))
        out += [f"### {area.value.capitalize()}", ""]
        if not items:
            out += ["No finding.", ""]
            continue
        out += ["| severity | rule | target | location | fix | message |", "|---|---|---|---|---|---|"]
        for f in items:
            out.append(f"| {severity_of(f).label} | `{f.rule.id}` | {_cell(f.target or '-')} | "
                       f"{_cell(location_label(f))} | {fix_label(f)} | {_cell(f.message)} |")
        out.append("")
    out += live_report(live)
    return "\n".join(out).rstrip("\n") + "\n"


def live_report(live: Any) -> list[str]:
    """The containers section of the report: per container its findings and its drift."""
    from batten.present import live_value

    if live is None or not live.containers:
        return []
    out = ["## Live containers", ""]
    if live.error:
        out += [f"The engine is unreachable now ({_cell(live.error)}); the list below is the last one seen.", ""]
    for c in live.containers:
        svc = f" (service {_cell(c.compose_project or '?')}/{_cell(c.service)})" if c.service else ""
        out += [f"### {_cell(c.name)}{svc}", "", f"{_cell(c.image)}, {_cell(c.status or c.state)}.", ""]
        if c.findings:
            out += ["| severity | rule | message |", "|---|---|---|"]
            for f in sorted(c.findings, key=lambda f: (-int(severity_of(f)), f.rule.id)):
                out.append(f"| {severity_of(f).label} | `{f.rule.id}` | {_cell(f.message)} |")
            out.append("")
        else:
            out += ["No hardening finding.", ""]
        if c.drift:
            out += ["| drift | file | running | what to do |", "|---|---|---|---|"]
            for d in c.drift:
                kind, note = getattr(d, "kind", ""), getattr(d, "note", "")
                out.append(f"| {_cell(d.field)}{f' ({_cell(note)})' if note else ''} | "
                           f"{_cell(live_value(d.field, d.declared, kind))} | "
                           f"{_cell(live_value(d.field, d.running, kind))} | {_cell(d.advice)} |")
            out.append("")
    return out
