"""The main screen: header (project, engine state), three views (findings, containers,
guided/summary) in a content switcher, footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, Static

from batten.model import Finding
from batten.tui import commands
from batten.widgets.findings_table import ALL, FindingsTable
from batten.widgets.header import HeaderBar
from batten.widgets.keybar import KeyBar
from batten.widgets.project_tree import ProjectTree

if TYPE_CHECKING:
    from batten.scan import ScanResult
    from batten.tui.app import BattenApp
    from batten.tui.screens.guided import GuidedView
    from batten.widgets.detail import FindingDetail

VIEW_LABELS = {"findings": "Findings", "containers": "Containers", "guided": "Guided remediation"}


class FindingsView(Horizontal):
    """Project tree | findings table over the detail tabs."""

    BINDINGS = commands.bindings("findings")

    def compose(self) -> ComposeResult:
        yield ProjectTree(id="tree")
        with Vertical(id="findings-main"):
            yield Input(placeholder="filter: words to match (rule, target, path, severity…)  enter: keep  esc: clear",
                        id="filter", compact=True)
            yield Static("", id="findings-status")
            yield FindingsTable(id="findings")
            # the detail pane (tabs) is mounted right after the first frame: a faster start

    def on_mount(self) -> None:
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

    def load(self, result: ScanResult) -> None:
        self.tree.set_project(result.project, result.findings)
        self.table.set_findings(result.findings)
        self.update_status()

    def update_status(self) -> None:
        t = self.table
        parts = [f"{len(t.shown)} of {t.total} finding(s)", f"sorted by {t.sort_by} (s)"]
        if t.scope != ALL:
            parts.append(f"in {t.scope.label}")
        if t.filter_text:
            parts.append(f"filter “{t.filter_text}” (/)")
        self.query_one("#findings-status", Static).update(Content.styled("  ·  ".join(parts), "$text-muted"))

    def open_filter(self) -> None:
        inp = self.filter_input
        inp.add_class("-open")
        inp.focus()

    def action_sort(self) -> None:
        name = self.table.cycle_sort()
        self.update_status()
        self.app.notify(f"sorted by {name}", timeout=2)

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
            self.table.focus()

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.filter_input.has_focus:
            event.stop()
            self.filter_input.value = ""
            self.filter_input.remove_class("-open")
            self.table.focus()

    def on_project_tree_scope_chosen(self, event: ProjectTree.ScopeChosen) -> None:
        self.table.set_scope(event.scope)
        self.update_status()

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
            self.detail.query_one(Tabs).focus()

    def show_finding(self, finding: Finding | None) -> None:
        app: BattenApp = self.app  # type: ignore[assignment]
        if not self.has_detail:
            return
        if finding is None:
            self.detail.show(None)
            return
        source, spans = app.source_for(finding)
        diff = None
        note = ""
        if finding.fix is not None:
            try:
                diff = app.preview(finding.fix).diff or None
            except Exception as exc:
                note = f"The fix cannot be previewed: {' '.join(str(exc).split())}"
            if diff is None and not note:
                note = "The fix makes no change."
        else:
            remedy = finding.rule.remedy.strip()
            note = "No automatic fix for this finding." + (f"\nBy hand: {remedy}" if remedy else "")
        self.detail.show(finding, source=source, spans=spans, diff=diff, fix_note=note)


class ContainersView(Vertical):
    """Live containers with their status and service; the detail of the selected one."""

    def compose(self) -> ComposeResult:
        from batten.widgets.containers import ContainerDetail, ContainersTable

        yield Static("", id="containers-status")
        yield ContainersTable(id="containers")
        yield ContainerDetail(id="container-detail")

    @property
    def table(self) -> Any:
        return self.query_one("#containers")

    @property
    def detail(self) -> Any:
        return self.query_one("#container-detail")

    def on_mount(self) -> None:
        app: BattenApp = self.app  # type: ignore[assignment]
        self.call_after_refresh(app.refresh_containers)

    def show_engine(self, snap: Any, enabled: bool, summary: str) -> None:
        if not enabled:
            text = Content.styled("No engine: started with --no-engine. The static findings (1) still work.",
                                  "$text-muted")
        elif snap is None:
            text = Content.styled("Connecting to the engine…", "$text-warning")
        elif snap.error:
            text = Content.assemble(("Engine unreachable: ", "bold $text-error"), snap.error,
                                    ("\nStatic findings (view 1) still work; r retries.", "$text-muted"))
        else:
            text = Content.assemble((summary, "bold"),
                                    ("  ·  refreshed after each snapshot  ·  enter: details", "$text-muted"))
        self.query_one("#containers-status", Static).update(text)

    def set_snapshot(self, snap: Any) -> None:
        self.table.set_containers([] if snap is None or snap.error else snap.containers)
        if snap is None or snap.error or not snap.containers:
            self.detail.show(None)

    def on_containers_table_chosen(self, event: Any) -> None:
        event.stop()
        app: BattenApp = self.app  # type: ignore[assignment]
        self.detail.show(event.container, app.secrets_in(()))
        if event.opened:
            self.detail.focus()


VIEW_IDS = {"findings": "findings-view", "containers": "containers-view", "guided": "guided"}


class MainScreen(Screen[None]):
    """Only the findings view is built for the first frame; the containers and guided views
    are mounted the first time they are shown."""

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with ContentSwitcher(initial="findings-view", id="views"):
            yield FindingsView(id="findings-view")
        yield KeyBar(id="keybar")

    @property
    def header(self) -> HeaderBar:
        return self.query_one(HeaderBar)

    @property
    def keybar(self) -> KeyBar:
        return self.query_one(KeyBar)

    @property
    def findings(self) -> FindingsView:
        return self.query_one(FindingsView)

    @property
    def containers(self) -> ContainersView | None:
        found = self.query(ContainersView)
        return found.first() if found else None

    @property
    def guided(self) -> GuidedView | None:
        found = self.query("#guided")
        return found.first() if found else None  # type: ignore[return-value]

    @property
    def view(self) -> str:
        current = self.query_one("#views", ContentSwitcher).current or "findings-view"
        return {"findings-view": "findings", "containers-view": "containers"}.get(current, "guided")

    def on_mount(self) -> None:
        app: BattenApp = self.app  # type: ignore[assignment]
        self.header.project = app.world.root.rstrip("/").rsplit("/", 1)[-1] + (
            "  [read-only]" if app.world.read_only else "")
        self.header.view = VIEW_LABELS["findings"]
        self.update_keys()
        self.findings.table.focus()
        app.main_ready()

    def update_keys(self) -> None:
        app: BattenApp = self.app  # type: ignore[assignment]
        self.keybar.set_keys(app.key_hints(self.view))

    def load(self, result: ScanResult) -> None:
        self.findings.load(result)
        if self.guided is not None:
            self.guided.refresh_view()

    async def ensure_view(self, name: str) -> None:
        if name == "containers" and self.containers is None:
            await self.query_one("#views", ContentSwitcher).mount(ContainersView(id="containers-view"))
        elif name == "guided" and self.guided is None:
            from batten.tui.screens.guided import GuidedView

            await self.query_one("#views", ContentSwitcher).mount(GuidedView(id="guided"))

    async def switch(self, name: str) -> None:
        await self.ensure_view(name)
        self.query_one("#views", ContentSwitcher).current = VIEW_IDS[name]
        self.header.view = VIEW_LABELS[name]
        self.update_keys()
        if name == "guided" and self.guided is not None:
            self.guided.refresh_view()
        self.refocus()

    def refocus(self) -> None:
        view = self.view
        if view == "findings":
            self.findings.table.focus()
        elif view == "containers" and self.containers is not None:
            self.containers.table.focus()
        elif self.guided is not None:
            self.guided.focus_main()

    def open_details(self) -> None:
        view = self.view
        if view == "findings":
            self.findings.show_finding(self.findings.table.current)
            self.findings.focus_detail()
        elif view == "containers" and self.containers is not None:
            detail = self.containers.detail
            detail.show(self.containers.table.current, self.app.secrets_in(()))  # type: ignore[attr-defined]
            detail.focus()
        elif self.guided is not None:
            self.guided.focus_main()

    def current_finding(self) -> Finding | None:
        view = self.view
        if view == "findings":
            return self.findings.table.current
        if view == "guided" and self.guided is not None:
            return self.guided.current_finding()
        return None

    async def run_scoped(self, command: commands.Command) -> None:
        """Run a view-scoped command (palette, key bar) on its view."""
        if command.scope == "findings":
            await self.switch("findings")
            await self.findings.run_action(command.action)
        elif command.scope == "guided":
            await self.switch("guided")
            if self.guided is not None:
                await self.guided.run_action(command.action)
