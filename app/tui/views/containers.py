"""The containers view: live containers with a check or a cross per hardening control, sorted
and filtered, stopped ones on request; the detail of the selected one with its drift rows.
Enter jumps to the compose service's findings; f on a drift row that is ahead of the file
offers the fix that ports the running value back (as a diff, like every write). When the
engine goes away the last list stays, marked stale with its age, and the retry is counted down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from batten.model import Finding
from batten.tui import commands
from batten.tui.views import EngineRequested, PortBackRequested, ViewRequested
from batten.widgets.containers import ContainerDetail, ContainersTable, DriftTable
from batten.widgets.fields import FieldInput

if TYPE_CHECKING:
    from batten.session import Session


class ContainersView(Vertical):
    BINDINGS = commands.bindings("containers")

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.retry_in: float | None = None  # seconds to the next engine attempt (after a failure)

    def compose(self) -> ComposeResult:
        yield Static("", id="containers-status")
        yield FieldInput(placeholder="filter: words to match (name, service, image, rule, drift…)  esc: clear",
                         id="containers-filter", compact=True, select_on_focus=False)
        yield ContainersTable(id="containers")
        yield ContainerDetail(id="container-detail")

    @property
    def table(self) -> ContainersTable:
        return self.query_one("#containers", ContainersTable)

    @property
    def detail(self) -> ContainerDetail:
        return self.query_one("#container-detail", ContainerDetail)

    @property
    def drift(self) -> DriftTable:
        return self.detail.drift

    @property
    def filter_input(self) -> Input:
        return self.query_one("#containers-filter", Input)

    def on_mount(self) -> None:
        self.table.show_stopped = self.session.include_stopped
        self.call_after_refresh(self.refresh_view)

    # ------------------------------------------------------------------ View protocol
    def refresh_view(self) -> None:
        self.table.set_containers(self.session.containers)
        if not self.table.shown:
            self.detail.show(None)
        self.update_status()

    def update_status(self) -> None:
        from batten.session import format_age

        s = self.session
        snap = s.snapshot
        t = self.table
        if not s.engine:
            text = Content.styled("No engine: started with --no-engine. The static findings (1) still work.",
                                  "$text-muted")
        elif snap is None:
            text = Content.styled("Connecting to the engine…", "$text-warning")
        elif snap.error:
            retry = f" · retry in {max(0, round(self.retry_in))}s (r: now)" if self.retry_in is not None else " · r retries"
            age = s.live_age()
            stale = (f"\nThe list below is stale: as the engine showed it {format_age(age)} ago."
                     if age is not None else "\nStatic findings (view 1) still work.")
            text = Content.assemble(("Engine unreachable: ", "bold $text-error"), snap.error, (retry, "$text-warning"),
                                    (stale, "bold $text-warning" if age is not None else "$text-muted"))
        else:
            parts = [f"{len(t.shown)} of {t.total} shown", f"sorted by {t.sort_by} (s)",
                     "stopped shown (a)" if t.show_stopped else "running only (a: stopped too)"]
            if t.filter_text:
                parts.append(f"filter “{t.filter_text}” (/)")
            text = Content.assemble((s.engine_summary(), "bold"), ("  ·  " + "  ·  ".join(parts), "$text-muted"))
        self.query_one("#containers-status", Static).update(text)

    def focus_main(self) -> None:
        self.screen.set_focus(self.table)

    def open_details(self) -> None:
        """Enter: the compose service's findings, or the drift rows of a container without one."""
        c = self.table.current
        if c is None:
            return
        if c.source is not None:
            self.post_message(ViewRequested("findings", service=c.source.name, path=c.source.file.path))
            return
        self.detail.show(c, self.session.secrets_in())
        if self.drift.display:
            self.screen.set_focus(self.drift)

    def current_finding(self) -> Finding | None:
        return None

    def open_filter(self) -> bool:
        inp = self.filter_input
        inp.add_class("-open")
        inp.cursor_position = len(inp.value)
        self.screen.set_focus(inp)
        return True

    # ------------------------------------------------------------------ actions
    def action_sort(self) -> None:
        self.notify(f"containers sorted by {self.table.cycle_sort()}", timeout=2)
        self.update_status()

    def action_toggle_stopped(self) -> None:
        self.session.include_stopped = not self.session.include_stopped
        self.table.set_show_stopped(self.session.include_stopped)
        self.update_status()
        self.post_message(EngineRequested())  # the engine is asked again, with or without them

    def action_port_back(self) -> None:
        c = self.table.current
        if c is None:
            return
        item = self.drift.current if self.drift.has_focus else None
        if item is None:
            ahead = [d for d in c.drift if d.direction == "ahead"]
            if len(ahead) == 1:
                item = ahead[0]
            else:
                if self.drift.display:
                    self.screen.set_focus(self.drift)
                self.notify("Choose a drift row that is ahead of the file, then f."
                            if ahead else "Nothing to port back: no setting runs ahead of the file.",
                            severity="warning", timeout=5)
                return
        self.post_message(PortBackRequested(c, item))

    # ------------------------------------------------------------------ events
    def on_containers_table_chosen(self, event: ContainersTable.Chosen) -> None:
        event.stop()
        self.detail.show(event.container, self.session.secrets_in())
        if event.opened:
            self.open_details()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "containers-filter":
            event.stop()
            self.table.set_filter(event.input.value.strip())
            self.update_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "containers-filter":
            event.stop()
            if not event.value.strip():
                event.input.remove_class("-open")
            self.screen.set_focus(self.table)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.filter_input.has_focus:
            event.stop()
            self.filter_input.value = ""
            self.filter_input.remove_class("-open")
            self.screen.set_focus(self.table)


__all__ = ["ContainersView"]
