"""The one registry of commands: it feeds the key bindings (with ids, remappable from
`[tool.batten.keys]`), the command palette and the help screen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Command:
    id: str  # binding id (the key of `[tool.batten.keys]`)
    keys: str | None  # default keys (comma-separated); None: palette only
    action: str  # Textual action string, run on the scope's node
    title: str  # palette / help title
    help: str  # one line
    scope: str = "app"  # app | a view's name (batten.tui.views) | fix (the node whose bindings hold it)
    footer: bool = True
    priority: bool = False
    key_display: str | None = None
    palette: bool = True  # listed in the command palette
    label: str = ""  # short footer label (default: the title)
    dialog: bool = False  # opens a dialog: keys typed right after it go to the dialog (tui.keyhold)


COMMANDS: tuple[Command, ...] = (
    # ---------------------------------------------------------------- app-wide
    Command("quit", "q", "quit", "Quit", "Leave batten", key_display="q", label="quit"),
    Command("help", "question_mark", "help", "Help", "Every key and command", key_display="?", label="help", dialog=True),
    Command("filter", "slash", "filter", "Filter findings", "Type words to narrow the findings table",
            key_display="/", label="filter", priority=True),  # at once: the words typed next go to the field
    Command("focus", "tab", "app.focus_next", "Next pane", "Move the focus to the next pane", footer=False,
            palette=False),
    Command("view_findings", "1", "view('findings')", "Findings view", "Project tree, findings, details", label="findings"),
    Command("view_containers", "2", "view('containers')", "Containers view",
            "Live containers, their hardening status and drift", label="containers"),
    Command("view_guided", "3", "view('guided')", "Guided / summary view",
            "The guided checklist and its summary", label="guided"),
    Command("details", "enter", "details", "Details", "Open the details of the selected item", footer=False),
    Command("fix", "f", "fix", "Fix…", "Preview the fix of the selected finding as a diff, then apply", label="fix", dialog=True),
    Command("undo", "u", "undo", "Undo…", "Preview and revert the last write", label="undo", dialog=True),
    Command("rescan", "r", "rescan", "Rescan", "Reload the project files and the containers", label="rescan"),
    Command("guided", "g", "guided", "Guided", "Start the guided remediation session", label="guide"),
    Command("palette", None, "command_palette", "Command palette", "Every action by name", footer=False,
            palette=False, key_display="ctrl+p"),
    Command("fix_file", None, "fix_file", "Apply all safe fixes of a file…",
            "One combined diff of every safe fix in a file, then apply", footer=False),
    Command("fix_all", None, "fix_all", "Apply all safe fixes of the project…",
            "Every safe fix of every file, verified with its progress shown (esc cancels), as one "
            "combined diff, then apply", footer=False),
    Command("export", None, "export_report", "Export report…", "Write the Markdown report (secrets masked)",
            footer=False),
    Command("tab_explain", None, "detail_tab('explain')", "Show Explain tab", "Why it matters, what the fix does",
            footer=False),
    Command("tab_source", None, "detail_tab('source')", "Show Source tab", "The finding's lines (secrets masked)",
            footer=False),
    Command("tab_fix", None, "detail_tab('fix')", "Show Fix tab", "The fix as a diff", footer=False),
    # ---------------------------------------------------------------- findings view
    Command("sort", "s", "sort", "Sort findings", "Cycle the sort: severity, rule, target, location",
            scope="findings", label="sort"),
    Command("tree", "t", "toggle_tree", "Hide/show the tree", "Give the findings table the whole width",
            scope="findings", label="tree"),
    # ---------------------------------------------------------------- containers view
    Command("containers_sort", "s", "sort", "Sort containers", "Cycle the sort: service, name, worst finding, drift",
            scope="containers", label="sort"),
    Command("containers_stopped", "a", "toggle_stopped", "Show stopped containers",
            "Show or hide stopped containers (the engine is asked again)", scope="containers", label="stopped"),
    Command("port_back", "f", "port_back", "Port back to the file…",
            "The running value of a drift row written back to the compose file, shown as a diff first",
            scope="containers", label="port back", dialog=True),
    # ---------------------------------------------------------------- guided view
    Command("guided_skip", "s", "skip", "Skip finding", "Leave this finding as it is", scope="guided", label="skip"),
    Command("guided_next", "n", "next_area", "Next area", "Go to the next checklist area", scope="guided", label="next"),
    Command("guided_prev", "p", "prev_area", "Previous area", "Go back one checklist area", scope="guided", label="back"),
    Command("guided_export", "e", "app.export_report", "Export report", "Write the Markdown report",
            scope="guided", label="export", palette=False, dialog=True),  # the palette has it once, as "export"
    # ---------------------------------------------------------------- fix dialog
    Command("confirm", "y", "confirm", "Apply", "Write the previewed change", scope="fix", palette=False, label="apply"),
    Command("cancel", "escape", "cancel", "Cancel", "Close without writing", scope="fix", palette=False,
            key_display="esc", label="cancel"),
    Command("trial", "ctrl+t", "trial", "Trial run",
            "Start the service as fixed and as it is in throwaway containers on the engine (network none, "
            "label batten.trial=1, removed after) and compare; a failed trial blocks Apply",
            scope="fix", palette=False, label="trial"),
)

BY_ID: dict[str, Command] = {c.id: c for c in COMMANDS}

# The command palette's own binding (Textual's) keeps this id, so it is remappable too.
PALETTE_BINDING_ID = "palette"


def bindings(scope: str = "app") -> list[Binding]:
    out: list[Binding] = []
    for c in COMMANDS:
        if c.scope != scope or not c.keys:
            continue
        out.append(
            Binding(c.keys, c.action, c.label or c.title.rstrip("…"), show=c.footer, priority=c.priority,
                    key_display=c.key_display, id=c.id, tooltip=c.help)
        )
    return out


def palette_binding() -> Binding:
    return Binding("ctrl+p", "command_palette", "palette", show=False, priority=True, id=PALETTE_BINDING_ID,
                   key_display="ctrl+p", tooltip="Open the command palette")


def scoped(scope: str) -> Iterable[Command]:
    return (c for c in COMMANDS if c.scope == scope)


def split_keymap(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(valid keymap, unknown ids) from `Config.keys`."""
    valid: dict[str, str] = {}
    unknown: list[str] = []
    for bid, value in keys.items():
        if bid in BY_ID and str(value).strip():
            valid[bid] = ",".join(k.strip() for k in str(value).split(",") if k.strip())
        else:
            unknown.append(bid)
    return valid, unknown


def key_hints(view: str, keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """What the key bar shows in `view`: the view's own keys, then the app's, then the palette."""
    out: list[tuple[str, str, str]] = []
    for c in COMMANDS:
        if not c.footer or not c.keys or c.scope not in ("app", view):
            continue
        if (c.id == "filter" and view not in ("findings", "containers")) or (c.id == "guided" and view != "findings"):
            continue  # the key works everywhere; the bar keeps to what the view needs
        if c.scope == "app" and any(o.keys == c.keys and o.scope == view for o in COMMANDS):
            continue  # the view's own command has this key here
        out.append((display_keys(c, keymap).split(", ")[0], c.label or c.title, c.id))
    out.sort(key=lambda item: 0 if BY_ID[item[2]].scope != "app" else 1)
    out.append((display_keys(BY_ID["palette"], keymap), "palette", "palette"))
    return out


_DISPLAY = {"question_mark": "?", "slash": "/", "escape": "esc", "enter": "enter", "tab": "tab"}


def display_keys(command: Command, keymap: Mapping[str, str] | None = None) -> str:
    """The keys a command answers to, as a person types them."""
    keys = (keymap or {}).get(command.id) or command.keys
    if not keys:
        return command.key_display or ""
    return ", ".join(_DISPLAY.get(k.strip(), k.strip()) for k in keys.split(","))
