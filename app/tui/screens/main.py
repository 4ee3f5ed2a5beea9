"""The main screen: header (project, view, engine state), the views of the registry in a
content switcher (only the first is built for the first frame; the others the first time they
are shown), and the key bar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from batten.model import Finding
from batten.tui import commands
from batten.tui.views import BY_NAME, FIRST, VIEWS, View
from batten.widgets.header import HeaderBar
from batten.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from textual.widget import Widget

    from batten.session import Session
    from batten.tui.views.containers import ContainersView
    from batten.tui.views.findings import FindingsView
    from batten.tui.views.guided import GuidedView


class MainScreen(Screen[None]):
    class Ready(Message):
        """The screen is composed and mounted: the App may fill it and reach for the engine."""

    class Resumed(Message):
        """The screen is on top again (a dialog closed)."""

    def __init__(self, session: Session, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.session = session
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with ContentSwitcher(initial=FIRST.widget_id, id="views"):
            yield FIRST.make(self.session)
        yield KeyBar(id="keybar")

    @property
    def header(self) -> HeaderBar:
        return self.query_one(HeaderBar)

    @property
    def keybar(self) -> KeyBar:
        return self.query_one(KeyBar)

    @property
    def switcher(self) -> ContentSwitcher:
        return self.query_one("#views", ContentSwitcher)

    def view_widget(self, name: str) -> Widget | None:
        found = self.switcher.query_children(f"#{BY_NAME[name].widget_id}")
        return found.first() if found else None

    def _view(self, name: str) -> View | None:
        return cast("View | None", self.view_widget(name))

    # typed shortcuts (tests and the App use them)
    @property
    def findings(self) -> FindingsView:
        return cast("FindingsView", self.view_widget("findings"))

    @property
    def containers(self) -> ContainersView | None:
        return cast("ContainersView | None", self.view_widget("containers"))

    @property
    def guided(self) -> GuidedView | None:
        return cast("GuidedView | None", self.view_widget("guided"))

    @property
    def view(self) -> str:
        current = self.switcher.current or FIRST.widget_id
        return next((v.name for v in VIEWS if v.widget_id == current), FIRST.name)

    @property
    def current(self) -> View | None:
        return self._view(self.view)

    def on_mount(self) -> None:
        self.header.project = self.session.name + ("  [read-only]" if self.session.read_only else "")
        self.header.view = FIRST.label
        self.update_keys()
        self.findings.focus_main()
        self.post_message(self.Ready())

    def on_screen_resume(self) -> None:
        self.post_message(self.Resumed())

    def update_keys(self) -> None:
        self.keybar.set_keys(commands.key_hints(self.view, self.keymap))

    def refresh_views(self) -> None:
        """The session changed (rescan, write, engine answer): every built view renders it."""
        for spec in VIEWS:
            view = self._view(spec.name)
            if view is not None:
                view.refresh_view()

    async def ensure_view(self, name: str) -> View:
        view = self._view(name)
        if view is None:
            await self.switcher.mount(BY_NAME[name].make(self.session))
            view = self._view(name)
        assert view is not None
        return view

    async def switch(self, name: str) -> View:
        view = await self.ensure_view(name)
        self.switcher.current = BY_NAME[name].widget_id
        self.header.view = BY_NAME[name].label
        self.update_keys()
        view.focus_main()
        return view

    def refocus(self) -> None:
        view = self.current
        if view is not None:
            view.focus_main()

    def open_details(self) -> None:
        view = self.current
        if view is not None:
            view.open_details()

    def current_finding(self) -> Finding | None:
        view = self.current
        return view.current_finding() if view is not None else None

    async def run_scoped(self, command: commands.Command) -> None:
        """Run a view-scoped command (palette, key bar) on its view."""
        if command.scope in BY_NAME:
            view = await self.switch(command.scope)
            await cast("Any", view).run_action(command.action)


__all__ = ["MainScreen"]
