"""The findings view: project tree | filter, status, findings table over the detail tabs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Static

from batten.model import Finding
from batten.tui import commands
from batten.widgets.fields import FieldInput
from batten.widgets.findings_table import ALL, FindingsTable
from batten.widgets.project_tree import ProjectTree

if TYPE_CHECKING:
    from batten.session import Session
    from batten.widgets.detail import FindingDetail


TREE_MIN_WIDTH = 90  # the tree is shown from this many columns on (t shows or hides it anyway)


class FindingsView(Horizontal):
    BINDINGS = commands.bindings("findings")

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._tree_chosen = False

    def compose(self) -> ComposeResult:
        yield ProjectTree(id="tree")
        with Vertical(id="findings-main"):
            yield FieldInput(placeholder="filter: words to match (rule, target, path, severity…)  enter: keep  esc: clear",
                             id="filter", compact=True, select_on_focus=False)
            yield Static("", id="findings-status")
            yield FindingsTable(id="findings")
            # the detail pane (tabs) is mounted right after the first frame: a faster start

    def on_mount(self) -> None:
        self.refresh_view()
        self.call_after_refresh(self._mount_detail)

    async def _mount_detail(self) -> None:
        from batten.widgets.detail import FindingDetail

        if not self.query("#detail"):
            await self.query_one("#findings-main").mount(FindingDetail(id="detail"))
            self.show_finding(self.table.current)

    @property
    def table(self) -> FindingsTable:
        return self.query_one("#findings", FindingsTable)

    @property
    def tree(self) -> ProjectTree:
        return self.query_one("#tree", ProjectTree)

    @property
    def detail(self) -> FindingDetail:
        from batten.widgets.detail import FindingDetail

        return self.query_one("#detail", FindingDetail)

    @property
    def has_detail(self) -> bool:
        return bool(self.query("#detail"))

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    # ------------------------------------------------------------------ View protocol
    def refresh_view(self) -> None:
        result = self.session.result
        self.tree.set_project(result.project, result.findings)
        self.table.set_findings(result.findings)
        self.update_status()

    def focus_main(self) -> None:
        self.screen.set_focus(self.table)

    def open_details(self) -> None:
        self.show_finding(self.table.current)
        self.focus_detail()

    def current_finding(self) -> Finding | None:
        return self.table.current

    def show_service(self, service: str, path: str | None) -> None:
        """Narrow the table to one compose service's findings (from the containers view)."""
        from batten.widgets.findings_table import Scope

        label = f"service {service}" + (f" of {path}" if path else "")
        self.table.set_scope(Scope(path=path, target=service, kind="service", label=label))
        self.update_status()
        self.screen.set_focus(self.table)

    # ------------------------------------------------------------------ filter, sort, scope
    def update_status(self) -> None:
        t = self.table
        parts = [f"{len(t.shown)} of {t.total} finding(s)", f"sorted by {t.sort_by} (s)"]
        if t.scope != ALL:
            parts.append(f"in {t.scope.label}")
        if t.scope.kind == "service":
            parts.append(self.running_state(t.scope.target, t.scope.path))
        if t.filter_text:
            parts.append(f"filter “{t.filter_text}” (/)")
        self.query_one("#findings-status", Static).update(Content.styled("  ·  ".join(parts), "$text-muted"))

    def running_state(self, service: str | None, path: str | None) -> str:
        """How the service runs now, as the engine last showed it."""
        for c in self.session.containers:
            if c.source is not None and c.source.name == service and (path is None or c.source.file.path == path):
                live = f"{len(c.findings)} live finding(s)" if c.findings else "no live finding"
                drift = f", {len(c.drift)} drift" if c.drift else ""
                return f"container {c.name} {c.state}: {live}{drift} (view 2)"
        return "no running container" if self.session.engine else "engine off"

    def open_filter(self) -> bool:
        inp = self.filter_input
        inp.add_class("-open")
        inp.cursor_position = len(inp.value)  # reopened: the words stay, typing adds to them
        self.screen.set_focus(inp)
        return True

    def on_resize(self) -> None:
        if not self._tree_chosen:  # narrow terminals give the table the width until t asks otherwise
            self.tree.display = self.app.size.width >= TREE_MIN_WIDTH

    def action_toggle_tree(self) -> None:
        self._tree_chosen = True
        self.tree.display = not self.tree.display
        if not self.tree.display and self.tree.has_focus:
            self.screen.set_focus(self.table)

    def action_sort(self) -> None:
        name = self.table.cycle_sort()
        self.update_status()
        self.notify(f"sorted by {name}", timeout=2)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            event.stop()
            self.table.set_filter(event.value.strip())
            self.update_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.stop()
            if not event.value.strip():
                event.input.remove_class("-open")
            self.screen.set_focus(self.table)

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.filter_input.has_focus:
            event.stop()
            self.filter_input.value = ""
            self.filter_input.remove_class("-open")
            self.screen.set_focus(self.table)

    def on_project_tree_scope_chosen(self, event: ProjectTree.ScopeChosen) -> None:
        self.table.set_scope(event.scope)
        self.update_status()

    # ------------------------------------------------------------------ details
    def on_findings_table_chosen(self, event: FindingsTable.Chosen) -> None:
        if event.table is not self.table:
            return
        event.stop()
        self.show_finding(event.finding)

    def on_findings_table_opened(self, event: FindingsTable.Opened) -> None:
        if event.table is not self.table:
            return
        event.stop()
        self.show_finding(event.finding)
        self.focus_detail()

    def focus_detail(self) -> None:
        from textual.widgets import Tabs

        if self.has_detail:
            self.screen.set_focus(self.detail.query_one(Tabs))

    def show_finding(self, finding: Finding | None) -> None:
        if not self.has_detail:
            return
        if finding is None:
            self.detail.show(None)
            return
        source, spans = self.session.source_for(finding)
        diff = None
        note = ""
        if finding.fix is not None:
            try:
                diff = self.session.preview(finding.fix).diff or None
            except Exception as exc:
                note = f"The fix cannot be previewed: {' '.join(str(exc).split())}"
            if diff is None and not note:
                note = "The fix makes no change."
        else:
            remedy = finding.rule.remedy.strip()
            note = "No automatic fix for this finding." + (f"\nBy hand: {remedy}" if remedy else "")
        self.detail.show(finding, source=source, spans=spans, diff=diff, fix_note=note)


__all__ = ["FindingsView"]
