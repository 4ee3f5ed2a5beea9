"""The containers view: live containers with their hardening status and compose service, and
the detail of the selected one (its findings and its drift from the compose file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from batten.model import Finding
from batten.widgets.containers import ContainerDetail, ContainersTable

if TYPE_CHECKING:
    from batten.session import Session


class ContainersView(Vertical):
    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static("", id="containers-status")
        yield ContainersTable(id="containers")
        yield ContainerDetail(id="container-detail")

    @property
    def table(self) -> ContainersTable:
        return self.query_one("#containers", ContainersTable)

    @property
    def detail(self) -> ContainerDetail:
        return self.query_one("#container-detail", ContainerDetail)

    def on_mount(self) -> None:
        self.call_after_refresh(self.refresh_view)

    # ------------------------------------------------------------------ View protocol
    def refresh_view(self) -> None:
        s = self.session
        snap = s.snapshot
        if not s.engine:
            text = Content.styled("No engine: started with --no-engine. The static findings (1) still work.",
                                  "$text-muted")
        elif snap is None:
            text = Content.styled("Connecting to the engine…", "$text-warning")
        elif snap.error:
            text = Content.assemble(("Engine unreachable: ", "bold $text-error"), snap.error,
                                    ("\nStatic findings (view 1) still work; r retries.", "$text-muted"))
        else:
            text = Content.assemble((s.engine_summary(), "bold"),
                                    ("  ·  refreshed after each snapshot  ·  enter: details", "$text-muted"))
        self.query_one("#containers-status", Static).update(text)
        shown = [] if snap is None or snap.error else snap.containers
        self.table.set_containers(shown)
        if not shown:
            self.detail.show(None)

    def focus_main(self) -> None:
        self.screen.set_focus(self.table)

    def open_details(self) -> None:
        self.detail.show(self.table.current, self.session.secrets_in())
        self.screen.set_focus(self.detail)

    def current_finding(self) -> Finding | None:
        return None

    def on_containers_table_chosen(self, event: Any) -> None:
        event.stop()
        self.detail.show(event.container, self.session.secrets_in())
        if event.opened:
            self.screen.set_focus(self.detail)


__all__ = ["ContainersView"]
