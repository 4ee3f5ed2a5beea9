"""Live containers: a table with their hardening status and compose service, and the detail of
one container (its findings and its drift from the compose file). Knows the model only: the
caller hands in `ContainerView`s taken by a worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from batten.model import Severity
from batten.present import severity_of
from batten.report import safe_text
from batten.sanitize import mask_secrets
from batten.widgets.text import SEVERITY_CLASSES, SEVERITY_SHORT, SEVERITY_STYLE, severity_css


def _fmt(value: Any) -> str:
    if value in (None, "", [], {}):
        return "-"
    if isinstance(value, list | tuple | set):
        return ", ".join(safe_text(str(v)) for v in value) or "-"
    return safe_text(str(value))


def service_label(c: Any) -> str:
    if c.service:
        return f"{safe_text(c.compose_project or '?')}/{safe_text(c.service)}"
    return "-"


class ContainersTable(DataTable[Text]):
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | SEVERITY_CLASSES | {
        "status--ok",
        "status--off",
    }
    DEFAULT_CSS = severity_css("ContainersTable") + """
    ContainersTable > .status--ok { color: $success; }
    ContainersTable > .status--off { color: $foreground; text-style: dim; }
    """

    class Chosen(Message):
        def __init__(self, container: Any | None, opened: bool = False) -> None:
            super().__init__()
            self.container = container
            self.opened = opened

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: list[Any] = []
        self._last: str | None = "<none>"

    def on_mount(self) -> None:
        self.add_column("container", width=16, key="name")
        self.add_column("state", width=8, key="state")
        self.add_column("service", width=14, key="service")
        self.add_column("image", width=26, key="image")
        self.add_column("hardening", width=16, key="status")
        self.add_column("drift", width=5, key="drift")
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.set_containers(self._rows))

    @property
    def current(self) -> Any | None:
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(name, partial=True)

    def status(self, c: Any) -> Text:
        counts = Counter(severity_of(f) for f in c.findings)
        if not counts:
            return Text("✓ hardened", style=self._style("status--ok"))
        out = Text()
        for sev in sorted(Severity, reverse=True):
            if counts.get(sev):
                out.append(f"{counts[sev]}{SEVERITY_SHORT[sev]} ", style=self._style(f"sev--{sev.label}"))
        return out

    def set_containers(self, containers: Iterable[Any]) -> None:
        keep = self.current.id if self.current is not None else None
        self._rows = list(containers)
        if not self.is_mounted or not self.columns:
            return
        self.clear()
        for i, c in enumerate(self._rows):
            state_style = "" if c.state == "running" else self._style("status--off")
            self.add_row(
                Text(safe_text(c.name)),
                Text(safe_text(c.state), style=state_style),
                Text(service_label(c)),
                Text(safe_text(c.image)),
                self.status(c),
                Text(str(len(c.drift)) if c.drift else "-"),
                key=str(i),
            )
        for i, c in enumerate(self._rows):
            if c.id == keep:
                self.move_cursor(row=i)
                break
        self._announce()

    def _announce(self, opened: bool = False) -> None:
        cur = self.current
        key = f"{cur.id}#{id(cur)}" if cur is not None else None
        if key != self._last or opened:
            self._last = key
            self.post_message(self.Chosen(cur, opened))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._announce(opened=True)


def container_detail(c: Any | None, secrets: Iterable[str] = ()) -> Content:
    """One container: its findings and its drift; `secrets` are masked in every value."""
    secrets = set(secrets)

    def show(value: Any) -> str:
        return mask_secrets(_fmt(value), secrets)

    if c is None:
        return Content.styled("Select a container.", "$text-muted")
    parts: list[Content | str | tuple[str, str]] = [
        (safe_text(c.name), "bold"),
        (f"  {c.short_id}  {safe_text(c.image)}  {safe_text(c.status)}", "$text-muted"),
        "\n",
    ]
    if c.service:
        src = ""
        if getattr(c, "source", None) is not None:
            loc = c.source.location()
            src = f"  ← {safe_text(str(loc.path))}:{loc.line}"
        parts += [("Service: ", "$text-muted"), service_label(c), src, "\n"]
    else:
        parts += [("Service: ", "$text-muted"), "not started by compose (no service to fix in the project)\n"]
    parts += ["\n", (f"Findings ({len(c.findings)})", "bold $accent"), "\n"]
    if not c.findings:
        parts.append(("  ✓ no hardening finding\n", "$text-success"))
    for f in sorted(c.findings, key=lambda f: (-int(severity_of(f)), f.rule.id)):
        sev = severity_of(f)
        parts += [(f" {sev.label:<8}", SEVERITY_STYLE[sev]), f" {f.rule.id:<26} ", show(f.message), "\n"]
    parts += ["\n", (f"Drift from the compose file ({len(c.drift)})", "bold $accent"), "\n"]
    if not c.service:
        parts.append(("  (no compose service)\n", "$text-muted"))
    elif getattr(c, "source", None) is None:
        parts.append(("  (its service is not in this project)\n", "$text-muted"))
    elif not c.drift:
        parts.append(("  ✓ the running container matches its service\n", "$text-success"))
    for d in c.drift:
        direction = "container is stale" if d.direction == "stale" else "container is ahead of the file"
        parts += [
            f"  {safe_text(d.field)}: ",
            ("file ", "$text-muted"), show(d.declared),
            ("  running ", "$text-muted"), show(d.running),
            (f"  ({direction}: {d.advice})", "$text-warning" if d.direction == "stale" else "$text-muted"),
            "\n",
        ]
    return Content.assemble(*parts)


class ContainerDetail(VerticalScroll):
    DEFAULT_CSS = """
    ContainerDetail { height: 1fr; }
    ContainerDetail > Static { padding: 0 1; width: auto; min-width: 100%; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(container_detail(None), id="container-detail-text")

    def show(self, container: Any | None, secrets: Iterable[str] = ()) -> None:
        self.query_one("#container-detail-text", Static).update(container_detail(container, secrets))
        self.scroll_home(animate=False)
