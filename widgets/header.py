"""The top bar: project, view, and the engine endpoint with its state (one line)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from batten.report import safe_text

ENGINE_STYLES = {
    "off": "$text-muted",
    "connecting": "$text-warning",
    "ok": "$text-success",
    "unreachable": "bold $text-error",
}


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 1; dock: top; background: $panel; color: $foreground; }
    """

    project = reactive("")
    view = reactive("")
    engine_state = reactive("off")
    engine_text = reactive("engine: off")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)

    def content(self) -> Content:
        left = Content.assemble(
            (" batten ", "bold reverse $primary"),
            " ",
            (safe_text(self.project), "bold"),
            (f"  {self.view}", "$text-muted"),
        )
        right = Content.styled(safe_text(self.engine_text) + " ", ENGINE_STYLES.get(self.engine_state, ""))
        width = self.size.width or self.app.size.width
        room = width - left.cell_length - right.cell_length
        if room < 1:
            right = right.truncate(max(0, width - left.cell_length - 2), ellipsis=True)
            room = max(1, width - left.cell_length - right.cell_length)
        return Content.assemble(left, " " * room, right)

    def _update(self) -> None:
        self.update(self.content())

    def on_mount(self) -> None:
        self._update()

    def on_resize(self) -> None:
        self._update()

    def watch_project(self) -> None:
        self._update()

    def watch_view(self) -> None:
        self._update()

    def watch_engine_text(self) -> None:
        self._update()

    def watch_engine_state(self) -> None:
        self._update()

    def set_engine(self, state: str, text: str) -> None:
        self.engine_state = state
        self.engine_text = text

    @property
    def text(self) -> str:
        return self.content().plain
