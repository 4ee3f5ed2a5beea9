"""Guided remediation: the checklist walked area by area (what it is about, where the project
falls short, the fix to accept or skip), ending with a summary and a Markdown report."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, ContentSwitcher, Static

from batten import __version__
from batten.model import AREA_ORDER, Area, Finding, Fix
from batten.report import safe_text
from batten.tui import commands
from batten.widgets.diff_view import DiffView
from batten.widgets.findings_table import FindingsTable
from batten.widgets.text import SEVERITY_STYLE, fix_label, location_label, severity_of

if TYPE_CHECKING:
    from batten.scan import ScanResult
    from batten.tui.app import BattenApp

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


def build_report(session: GuidedSession, result: ScanResult, engine: str) -> str:
    """The session as Markdown: what changed, what was skipped, what remains by area. The
    caller masks secret values over the whole text."""
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
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# view
# ---------------------------------------------------------------------------------------------


class GuidedView(Vertical):
    BINDINGS = commands.bindings("guided")

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="guided-intro", id="guided-switcher"):
            with VerticalScroll(id="guided-intro"):
                yield Static("", id="guided-intro-text")
                yield Button("Start the guided session (g)", id="guided-start", variant="primary", compact=True)
            with Vertical(id="guided-step"):
                yield Static("", id="guided-title")
                yield Static("", id="guided-about")
                yield FindingsTable(id="guided-table", extra_column="status")
                yield Static("", id="guided-proposal")
                with VerticalScroll(id="guided-diff-scroll"):
                    yield DiffView(id="guided-diff")
                with Horizontal(id="guided-buttons"):
                    yield Button("Accept fix… (f)", id="guided-accept", variant="success", compact=True)
                    yield Button("Skip (s)", id="guided-skip", compact=True)
                    yield Button("Previous area (p)", id="guided-prev", compact=True)
                    yield Button("Next area (n)", id="guided-next", variant="primary", compact=True)
            with VerticalScroll(id="guided-summary"):
                yield Static("", id="guided-summary-text")
                with Horizontal(id="guided-summary-buttons"):
                    yield Button("Export report… (e)", id="guided-export", variant="primary", compact=True)
                    yield Button("Back (p)", id="guided-back", compact=True)
                    yield Button("Restart (g)", id="guided-restart", compact=True)

    @property
    def app_(self) -> BattenApp:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> GuidedSession | None:
        return self.app_.guided

    @property
    def table(self) -> FindingsTable:
        return self.query_one("#guided-table", FindingsTable)

    def current_finding(self) -> Finding | None:
        s = self.session
        if s is None or s.area is None:
            return None
        return self.table.current

    def focus_main(self) -> None:
        s = self.session
        if s is None:
            self.query_one("#guided-start", Button).focus()
        elif s.finished:
            self.query_one("#guided-export", Button).focus()
        else:
            self.table.focus()

    def on_mount(self) -> None:
        self.refresh_view()

    # ------------------------------------------------------------------ rendering
    def refresh_view(self) -> None:
        if not self.is_mounted:
            return
        s = self.session
        switcher = self.query_one("#guided-switcher", ContentSwitcher)
        result = self.app_.result
        active = result.active()
        if s is None:
            switcher.current = "guided-intro"
            self.query_one("#guided-intro-text", Static).update(self._overview(active))
        elif s.finished:
            switcher.current = "guided-summary"
            self.query_one("#guided-summary-text", Static).update(self._summary(s, active))
        else:
            switcher.current = "guided-step"
            self._render_step(s, active)

    def _overview(self, active: list[Finding]) -> Content:
        parts: list[Content | str | tuple[str, str]] = [
            ("Guided remediation", "bold $accent"),
            "\nWalks the hardening checklist area by area: what each is about, where this project falls "
            "short, and the fix to accept (you see the diff and say yes) or skip. Ends with a summary you "
            "can export as Markdown.\n\n",
        ]
        for area in [*CORE_AREAS, *EXTRA_AREAS]:
            items = findings_in(active, area)
            if area in EXTRA_AREAS and not items:
                continue
            parts += self._area_line(area, items)
        return Content.assemble(*parts)

    def _area_line(self, area: Area, items: list[Finding]) -> list[Content | str | tuple[str, str]]:
        fixable = sum(1 for f in items if f.fix is not None)
        if not items:
            return [("  ✓ ", "$text-success"), f"{area.value:<14}", ("no finding\n", "$text-muted")]
        worst = max(severity_of(f) for f in items)
        return [("  • ", SEVERITY_STYLE[worst].replace("reverse ", "")), f"{area.value:<14}",
                f"{len(items)} finding(s), {fixable} with a fix, worst {worst.label}\n"]

    def _render_step(self, s: GuidedSession, active: list[Finding]) -> None:
        area = s.area
        assert area is not None
        items = findings_in(active, area)
        done_here = [a for a in s.changes if a.area == area]
        title = Content.assemble(
            (f"Step {s.index + 1} of {len(s.areas)}: ", "$text-muted"),
            (area.value.capitalize(), "bold $accent"),
            (f"   {len(items)} finding(s) open here" + (f", {len(done_here)} fixed this session" if done_here else ""),
             "$text-muted"),
        )
        self.query_one("#guided-title", Static).update(title)
        about = AREA_ABOUT.get(area, "")
        if not items:
            about += "\n✓ Nothing to do here: press n for the next area."
        self.query_one("#guided-about", Static).update(Content(about))
        table = self.table
        table.extra = {fp: "skipped" for fp in s.skipped}
        table.extra.update({f.fingerprint(): "open" for f in items if f.fingerprint() not in s.skipped})
        table.set_findings(items)
        self._render_proposal(table.current)

    def _render_proposal(self, finding: Finding | None) -> None:
        proposal = self.query_one("#guided-proposal", Static)
        diff = self.query_one("#guided-diff", DiffView)
        accept = self.query_one("#guided-accept", Button)
        if finding is None:
            proposal.update("")
            diff.set_diff("", note="")
            accept.disabled = True
            return
        fix = finding.fix
        if fix is None:
            remedy = finding.rule.remedy.strip() or "fix it by hand"
            proposal.update(Content.assemble(("No automatic fix. ", "bold"), ("By hand: ", "$text-muted"),
                                             remedy))
            diff.set_diff("", note="")
            accept.disabled = True
            return
        accept.disabled = False
        kind = str(fix.applicability)
        style = {"safe": "$text-success", "needs-input": "$text-warning"}.get(kind, "bold $text-error")
        proposal.update(Content.assemble(("Proposed fix: ", "$text-muted"), (fix.title, "bold"),
                                         (f"  [{kind}]", style), "  ", fix.explanation.strip().split("\n")[0]))
        try:
            text = self.app_.preview(fix).diff
        except Exception as exc:
            diff.set_diff("", note=f"The fix cannot be previewed: {' '.join(str(exc).split())}")
            return
        diff.set_diff(text, note="The fix makes no change.")

    def _summary(self, s: GuidedSession, active: list[Finding]) -> Content:
        counts = Counter(severity_of(f) for f in active)
        parts: list[Content | str | tuple[str, str]] = [
            ("Summary of the guided session", "bold $accent"), "\n\n",
            ("What changed", "bold"), "\n",
        ]
        if not s.changes:
            parts.append(("  nothing was changed\n", "$text-muted"))
        for a in s.changes:
            parts += [("  ✓ ", "$text-success"), f"{a.rule_id} on {safe_text(a.target)}: {a.title}",
                      (f"  ({', '.join(a.paths)})\n", "$text-muted")]
        parts += ["\n", ("Skipped", "bold"), "\n"]
        if not s.skipped:
            parts.append(("  nothing was skipped\n", "$text-muted"))
        for f in s.skipped.values():
            parts += [("  - ", "$text-warning"), f"{f.rule.id} on {safe_text(f.target or f.path or '')}\n"]
        parts += ["\n", ("What remains", "bold"), "  "]
        parts.append(", ".join(f"{counts[sev]} {sev.label}" for sev in sorted(counts, reverse=True))
                     if counts else "nothing")
        parts.append("\n")
        for area in s.areas:
            parts += self._area_line(area, findings_in(active, area))
        parts.append(("\nExport writes this as Markdown (default batten-report.md in the project root; "
                      "secrets masked).\n", "$text-muted"))
        return Content.assemble(*parts)

    # ------------------------------------------------------------------ events
    def on_findings_table_chosen(self, event: FindingsTable.Chosen) -> None:
        if event.table is not self.table:
            return
        event.stop()
        if self.session is not None and not self.session.finished:
            self._render_proposal(event.finding)

    def on_findings_table_opened(self, event: FindingsTable.Opened) -> None:
        if event.table is not self.table:
            return
        event.stop()
        self.app_.open_fix(event.finding)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id
        if bid in ("guided-start", "guided-restart"):
            self.app.call_later(self.app_.action_guided)
        elif bid == "guided-accept":
            finding = self.current_finding()
            if finding is not None:
                self.app_.open_fix(finding)
        elif bid == "guided-skip":
            self.action_skip()
        elif bid == "guided-next":
            self.action_next_area()
        elif bid in ("guided-prev", "guided-back"):
            self.action_prev_area()
        elif bid == "guided-export":
            self.app_.action_export_report()

    def action_skip(self) -> None:
        s = self.session
        finding = self.current_finding()
        if s is None or finding is None:
            return
        s.skip(finding)
        row = self.table.cursor_row
        self.refresh_view()
        shown = self.table.shown
        for i in range(row + 1, len(shown)):
            if shown[i].fingerprint() not in s.skipped:
                self.table.move_cursor(row=i)
                break
        self.app_.notify(f"skipped {finding.rule.id} on {safe_text(finding.target or '')}", timeout=2)

    def action_next_area(self) -> None:
        s = self.session
        if s is None or s.finished:
            return
        s.next()
        self.table.move_cursor(row=0)
        self.refresh_view()
        self.focus_main()

    def action_prev_area(self) -> None:
        s = self.session
        if s is None:
            return
        s.prev()
        self.table.move_cursor(row=0)
        self.refresh_view()
        self.focus_main()


__all__ = ["AREA_ABOUT", "GuidedSession", "GuidedView", "build_report"]
