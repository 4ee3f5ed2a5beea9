"""Help: every command of the registry with the keys it answers to (after remapping)."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from batten.tui import commands

SCOPES = {
    "app": "Everywhere",
    "findings": "Findings view (1)",
    "containers": "Containers view (2)",
    "guided": "Guided view (3)",
    "fix": "Fix dialog",
}


def help_content(keymap: Mapping[str, str] | None = None) -> Content:
    parts: list[Content | str | tuple[str, str]] = [
        ("batten: keys and commands", "bold $accent"),
        ("   ctrl+p opens the palette with every command; keys are remapped in [tool.batten.keys] "
         "(binding id = keys)\n", "$text-muted"),
    ]
    for scope, label in SCOPES.items():
        parts += ["\n", (label, "bold"), "\n"]
        for c in commands.scoped(scope):
            keys = commands.display_keys(c, keymap) or "palette"
            parts += [(f"  {keys:<12}", "bold $text-accent"), f"{c.title:<32}", (f"{c.help}", "$text-muted"),
                      (f"  [{c.id}]\n", "$text-muted")]
    parts += ["\n", ("Mouse: ", "bold"), "click rows, tabs, tree nodes and buttons; scroll with the wheel.\n"]
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", show=False),
    ]

    def __init__(self, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"), VerticalScroll(id="help-scroll"):
            yield Static(help_content(self.keymap), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
