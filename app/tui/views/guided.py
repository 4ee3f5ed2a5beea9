"""The guided view: the checklist walked area by area (what it is about, where the project
falls short, the fix to accept or skip), ending with a summary and the report export."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, ContentSwitcher, Static

from batten.guided import AREA_ABOUT, CORE_AREAS, EXTRA_AREAS, GuidedSession, findings_in
from batten.model import Area, Finding
from batten.present import severity_of
from batten.report import safe_text
from batten.tui import commands
from batten.tui.views import EvidenceWanted, ExportRequested, FixRequested, GuidedRequested
from batten.widgets.diff_view import DiffView
from batten.widgets.findings_table import FindingsTable
from batten.widgets.text import SEVERITY_STYLE

if TYPE_CHECKING:
    from batten.session import Session


class GuidedView(Vertical):
    BINDINGS = commands.bindings("guided")

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="guided-intro", id="guided-switcher"):
            with VerticalScroll(id="guided-intro"):
                yield Static("", id="guided-intro-text")
                yield Button("Start the guided session (g)", id="guided-start", variant="primary", compact=True)
            with Vertical(id="guided-step"):
                yield Static("", id="guided-title")
                yield Static("", id="guided-about")
                yield FindingsTable(id="guided-table", extra_column="status")
                with VerticalScroll(id="guided-diff-scroll"):
                    yield Static("", id="guided-proposal")
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
    def walk(self) -> GuidedSession | None:
        return self.session.guided

    @property
    def table(self) -> FindingsTable:
        return self.query_one("#guided-table", FindingsTable)

    def current_finding(self) -> Finding | None:
        s = self.walk
        if s is None or s.area is None:
            return None
        return self.table.current

    def focus_main(self) -> None:
        s = self.walk
        if s is None:
            self.screen.set_focus(self.query_one("#guided-start", Button))
        elif s.finished:
            self.screen.set_focus(self.query_one("#guided-export", Button))
        else:
            self.screen.set_focus(self.table)

    def open_details(self) -> None:
        self.focus_main()

    def open_filter(self) -> bool:
        return False

    def on_mount(self) -> None:
        self.refresh_view()

    # ------------------------------------------------------------------ rendering
    def refresh_view(self) -> None:
        if not self.is_mounted:
            return
        s = self.walk
        switcher = self.query_one("#guided-switcher", ContentSwitcher)
        result = self.session.result
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
        fix = self.session.proposal(finding)
        if fix is None:
            remedy = finding.rule.remedy.strip() or "fix it by hand"
            why = getattr(finding, "no_fix", None)
            proposal.update(Content.assemble(("No automatic fix", "bold"),
                                             (f" ({safe_text(why)})" if why else "", "$text-muted"), ". ",
                                             ("By hand: ", "$text-muted"), remedy))
            diff.set_diff("", note="")
            accept.disabled = True
            return
        accept.disabled = False
        if fix.params and self.session.container_for(finding) is not None \
                and self.session.evidence_for(finding) is None:
            self.post_message(EvidenceWanted(finding))  # the dialog will use it: show the same
        kind = str(fix.applicability)
        style = {"safe": "$text-success", "needs-input": "$text-warning"}.get(kind, "bold $text-error")
        parts: list[Content | str | tuple[str, str]] = [
            ("Proposed fix: ", "$text-muted"), (fix.title, "bold"), (f"  [{kind}]", style), "\n",
            safe_text(" ".join(fix.explanation.split())),
        ]
        if fix.params:
            shown = ", ".join(f"{p.name}={safe_text(p.default) or '(empty)'}" for p in fix.params)
            parts += [("\nWith ", "$text-muted"), shown, ("  (f: change them)", "$text-muted")]
        proposal.update(Content.assemble(*parts))
        try:
            text = self.session.preview(fix).diff
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
        if self.walk is not None and not self.walk.finished:
            self._render_proposal(event.finding)

    def on_findings_table_opened(self, event: FindingsTable.Opened) -> None:
        if event.table is not self.table:
            return
        event.stop()
        self.post_message(FixRequested(event.finding))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id
        if bid in ("guided-start", "guided-restart"):
            self.post_message(GuidedRequested())
        elif bid == "guided-accept":
            finding = self.current_finding()
            if finding is not None:
                self.post_message(FixRequested(finding))
        elif bid == "guided-skip":
            self.action_skip()
        elif bid == "guided-next":
            self.action_next_area()
        elif bid in ("guided-prev", "guided-back"):
            self.action_prev_area()
        elif bid == "guided-export":
            self.post_message(ExportRequested())

    def action_skip(self) -> None:
        s = self.walk
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
        self.notify(f"skipped {finding.rule.id} on {safe_text(finding.target or '')}", timeout=2)

    def action_next_area(self) -> None:
        s = self.walk
        if s is None or s.finished:
            return
        s.next()
        self.table.move_cursor(row=0)
        self.refresh_view()
        self.focus_main()

    def action_prev_area(self) -> None:
        s = self.walk
        if s is None:
            return
        s.prev()
        self.table.move_cursor(row=0)
        self.refresh_view()
        self.focus_main()


__all__ = ["GuidedView"]
