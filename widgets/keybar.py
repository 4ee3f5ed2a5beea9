"""A light footer: the keys of the current view, clickable (mouse optional).

Textual's Footer recomposes itself on every focus change; this one is a single line of
content, rebuilt only when the view or the keymap changes."""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content
from textual.markup import escape
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.items: list[tuple[str, str, str]] = []

    def set_keys(self, items: Iterable[tuple[str, str, str]]) -> None:
        """(keys as typed, label, command id) triples; a click runs `app.command(id)`."""
        self.items = list(items)
        parts: list[str] = []
        for keys, label, cid in self.items:
            parts.append(
                f"[@click=app.command({cid!r})][bold $accent]{escape(keys)}[/] {escape(label)}[/]"
            )
        self.update(Content.from_markup(" ".join(parts)))

    @property
    def text(self) -> str:
        return " ".join(f"{k} {label}" for k, label, _ in self.items)
