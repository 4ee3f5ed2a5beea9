"""A unified diff, coloured by line kind (built here: no third-party diff widget)."""

from __future__ import annotations

from textual.widgets import Static

from batten.widgets.text import render_diff


class DiffView(Static):
    """Shows a unified diff that the caller has already masked."""

    DEFAULT_CSS = """
    DiffView { width: auto; min-width: 100%; padding: 0 1; }
    """

    def __init__(self, diff: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.diff = diff
        if diff:
            self.update(render_diff(diff))

    def set_diff(self, diff: str, note: str | None = None) -> None:
        self.diff = diff
        if note and not diff.strip():
            from textual.content import Content

            self.update(Content.styled(note, "$text-muted"))
            return
        self.update(render_diff(diff))
