"""The top bar: project, view, and the engine endpoint with its state (one line; at any width
the state stays whole: the view label and then the endpoint give way first)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from batten.sanitize import safe_line

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
    engine_status = reactive("engine: off")  # kept whole: the state is what must stay visible
    engine_endpoint = reactive("")  # shortened first when the line is short

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)

    def content(self) -> Content:
        width = self.size.width or self.app.size.width
        brand = Content.styled(" batten ", "bold reverse $primary")
        project = Content.styled(safe_line(self.project), "bold")
        view = Content.styled(f"  {self.view}", "$text-muted")
        style = ENGINE_STYLES.get(self.engine_state, "")
        status = Content.styled(safe_line(self.engine_status) + " ", style)
        endpoint = safe_line(self.engine_endpoint)
        sep = " · " if endpoint else ""
        # what gives way, in order: the view label, the endpoint (to an ellipsis), the project name
        left = Content.assemble(brand, " ", project, view)
        if left.cell_length + len(endpoint) + len(sep) + status.cell_length + 1 > width:
            left = Content.assemble(brand, " ", project)
        room = width - left.cell_length - status.cell_length - len(sep) - 1
        if len(endpoint) > room:
            endpoint = (endpoint[: max(0, room - 1)] + "…") if room > 4 else ""
            sep = " · " if endpoint else ""
        right = Content.assemble(Content.styled(endpoint + sep, style), status)
        gap = width - left.cell_length - right.cell_length
        if gap < 1:
            left = left.truncate(max(0, width - right.cell_length - 1), ellipsis=True)
            gap = max(1, width - left.cell_length - right.cell_length)
        return Content.assemble(left, " " * gap, right)

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

    def watch_engine_status(self) -> None:
        self._update()

    def watch_engine_endpoint(self) -> None:
        self._update()

    def watch_engine_state(self) -> None:
        self._update()

    def set_engine(self, state: str, status: str, endpoint: str = "") -> None:
        self.engine_state = state
        self.engine_status = status
        self.engine_endpoint = endpoint

    @property
    def text(self) -> str:
        return self.content().plain
