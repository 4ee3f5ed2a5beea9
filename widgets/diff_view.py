"""A unified diff, coloured by line kind (built here: no third-party diff widget).

Drawn line by line (Textual's line API): only the rows on screen are rendered, so a diff of
every safe fix of a large project (thousands of lines) shows as fast as one of three."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from batten.report import safe_text

_KINDS = (("+++", "diff--file"), ("---", "diff--file"), ("@@", "diff--hunk"), ("+", "diff--add"),
          ("-", "diff--del"), ("\\", "diff--note"))


def line_kind(line: str) -> str | None:
    """The component class a diff line is drawn with (None: context)."""
    for prefix, kind in _KINDS:
        if line.startswith(prefix):
            return kind
    return None


class DiffView(Widget):
    """Shows a unified diff that the caller has already masked."""

    COMPONENT_CLASSES = {"diff--file", "diff--hunk", "diff--add", "diff--del", "diff--note", "diff--muted"}
    DEFAULT_CSS = """
    DiffView { width: auto; min-width: 100%; height: auto; padding: 0 1; }
    DiffView > .diff--file { text-style: bold; }
    DiffView > .diff--hunk { color: $accent; }
    DiffView > .diff--add { color: $text-success; }
    DiffView > .diff--del { color: $text-error; }
    DiffView > .diff--note { color: $text-muted; }
    DiffView > .diff--muted { color: $text-muted; }
    """

    def __init__(self, diff: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.diff = ""
        self._lines: list[tuple[str, str | None]] = []
        self._width = 0
        self._strips: dict[tuple[int, int], Strip] = {}
        self.set_diff(diff)

    def set_diff(self, diff: str, note: str | None = None) -> None:
        self.diff = diff
        if not diff.strip():
            self._lines = [(note or "(no changes)", "diff--muted")]
        else:
            self._lines = [(text, line_kind(text)) for text in (safe_text(raw) for raw in diff.splitlines())]
        self._width = max((Segment(text).cell_length for text, _ in self._lines), default=0)
        self._strips.clear()
        self.refresh(layout=True)

    @property
    def lines(self) -> list[str]:
        """The rows as drawn (escaped), one per diff line."""
        return [text for text, _ in self._lines]

    def render(self) -> Content:
        """The whole diff as text (what a selection copies); drawing goes by `render_line`."""
        return Content("\n".join(self.lines))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # the theme changed: the kinds' colours with it

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self._width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width or self.size.width
        key = (y, width)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        if not 0 <= y < len(self._lines):
            return Strip.blank(width, Style(bgcolor=self.rich_style.bgcolor))
        text, kind = self._lines[y]
        style: Style = self.rich_style
        if kind is not None:
            style = style + self.get_component_rich_style(kind, partial=True)
        pad = Style(bgcolor=self.rich_style.bgcolor)  # as a Static pads its lines
        strip = Strip([Segment(text, style)]).crop_extend(0, width, pad)
        if len(self._strips) > 4096:
            self._strips.clear()
        self._strips[key] = strip
        return strip


__all__ = ["DiffView", "line_kind"]
