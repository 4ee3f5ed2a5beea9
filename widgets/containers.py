"""Live containers: a table with one check/cross column per hardening control, sortable and
filterable, and the detail of one container (its findings, its image's, and its drift from the
compose file as rows that a fix can act on). Knows the model only: the caller hands in
`ContainerView`s taken by a worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from batten.model import Area, Finding, Severity
from batten.present import live_value, severity_of
from batten.report import safe_text
from batten.sanitize import mask_secrets
from batten.widgets.columns import Column, fit, truncate
from batten.widgets.text import SEVERITY_CLASSES, SEVERITY_SHORT, SEVERITY_STYLE, severity_css


@dataclass(frozen=True, slots=True)
class Control:
    key: str
    label: str  # column header
    title: str  # what it means
    fails: Callable[[Finding], bool]


CONTROLS: tuple[Control, ...] = (
    Control("user", "user", "runs as a non-root user", lambda f: f.rule.area == Area.USER),
    Control("caps", "caps", "capabilities dropped, none dangerous added, not privileged",
            lambda f: f.rule.id.startswith("caps.") or f.rule.id == "priv.privileged"),
    Control("ro", "ro", "read-only root filesystem", lambda f: f.rule.id == "fs.rootfs-writable"),
    Control("nnp", "nnp", "no-new-privileges", lambda f: f.rule.id == "priv.no-new-privileges"),
    Control("limits", "lim", "memory, CPU and PID limits",
            lambda f: f.rule.id in ("limits.memory", "limits.cpu", "limits.pids")),
    Control("health", "hc", "a health check",
            lambda f: f.rule.id.startswith("health.") and f.target_kind != "image"),
)
SORTS = ("service", "name", "worst", "drift")


def control_ok(c: Any, control: Control) -> bool:
    return not any(control.fails(f) for f in c.findings)


def service_label(c: Any) -> str:
    if c.service:
        return f"{safe_text(c.compose_project or '?')}/{safe_text(c.service)}"
    return "-"


def _haystack(c: Any) -> str:
    parts = [c.name, c.image, c.state, c.service or "", c.compose_project or "",
             *(f.rule.id for f in c.findings), *(d.field for d in c.drift), "drift" if c.drift else ""]
    return " ".join(parts).lower()


def _sort_key(name: str) -> Callable[[Any], Any]:
    if name == "name":
        return lambda c: c.name
    if name == "worst":
        return lambda c: (-max((int(severity_of(f)) for f in c.findings), default=-1), c.name)
    if name == "drift":
        return lambda c: (-len(c.drift), c.name)
    return lambda c: (c.compose_project or "~", c.service or "", c.name)


class ContainersTable(DataTable[Text]):
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | SEVERITY_CLASSES | {
        "status--ok",
        "status--bad",
        "status--off",
    }
    DEFAULT_CSS = severity_css("ContainersTable") + """
    ContainersTable > .status--ok { color: $success; }
    ContainersTable > .status--bad { color: $error; text-style: bold; }
    ContainersTable > .status--off { color: $foreground; text-style: dim; }
    """

    class Chosen(Message):
        def __init__(self, container: Any | None, opened: bool = False) -> None:
            super().__init__()
            self.container = container
            self.opened = opened

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._all: list[Any] = []
        self._rows: list[Any] = []
        self._last: str | None = "<none>"
        self._widths: tuple[int, ...] = ()
        self.sort_by = "service"
        self.filter_text = ""
        self.show_stopped = False

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_rows())
        self.refresh_rows()

    @property
    def shown(self) -> list[Any]:
        return list(self._rows)

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def current(self) -> Any | None:
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(name, partial=True)

    def counts(self, c: Any) -> Text:
        """Findings by severity; a container with none above Info is hardened (✓, its Info
        notes dimmed beside it: limits.ulimits is Info and fires on almost every container)."""
        counts = Counter(severity_of(f) for f in c.findings)
        info = counts.pop(Severity.INFO, 0)
        if not counts:
            out = Text("✓", style=self._style("status--ok"))
            if info:
                out.append(f" {info}{SEVERITY_SHORT[Severity.INFO]}", style=self._style("status--off"))
            return out
        out = Text()
        for sev in sorted(counts, reverse=True):
            out.append(f"{counts[sev]}{SEVERITY_SHORT[sev]} ", style=self._style(f"sev--{sev.label}"))
        return out

    def mark(self, ok: bool) -> Text:
        return Text("✓", style=self._style("status--ok")) if ok else Text("✗", style=self._style("status--bad"))

    # ------------------------------------------------------------------ data
    def set_containers(self, containers: Iterable[Any]) -> None:
        self._all = list(containers)
        self.refresh_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.refresh_rows()

    def cycle_sort(self) -> str:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.refresh_rows()
        return self.sort_by

    def set_show_stopped(self, on: bool) -> None:
        self.show_stopped = on
        self.refresh_rows()

    def _columns(self) -> list[Column]:
        cols = [Column("container", "name", 10, flex=2, natural=max((len(c.name) for c in self._all), default=9)),
                Column("service", "service", 7, flex=1,
                       natural=max((len(service_label(c)) for c in self._all), default=7))]
        if self.show_stopped:
            cols.append(Column("state", "state", 7))
        cols += [Column(ctl.label, ctl.key, max(3, len(ctl.label))) for ctl in CONTROLS]
        cols += [Column("findings", "findings", 9, natural=12), Column("drift", "drift", 5),
                 Column("image", "image", 12, flex=1, natural=max((len(c.image) for c in self._all), default=5),
                        optional=True)]
        return cols

    def refresh_rows(self) -> None:
        if not self.is_mounted:
            return
        keep = self.current.id if self.current is not None else None
        terms = self.filter_text.lower().split()
        rows = [c for c in self._all if (self.show_stopped or c.state == "running")
                and all(t in _haystack(c) for t in terms)]
        rows.sort(key=_sort_key(self.sort_by))
        self._rows = rows
        cols = fit(self._columns(), self.scrollable_content_region.width or self.app.size.width,
                   self.cell_padding)
        widths = tuple(c.width for c in cols)
        self.clear(columns=widths != self._widths or not self.columns)
        if not self.columns:
            for col in cols:
                self.add_column(col.label, width=col.width, key=col.key)
        self._widths = widths
        shown = {c.key: c.width for c in cols}
        for i, c in enumerate(rows):
            dim = "" if c.state == "running" else self._style("status--off")
            cells: list[Text] = [truncate(safe_text(c.name), shown["name"], dim),
                                 truncate(service_label(c), shown["service"], dim)]
            if "state" in shown:
                cells.append(Text(safe_text(c.state)[: shown["state"]], style=dim))
            cells += [self.mark(control_ok(c, ctl)) for ctl in CONTROLS]
            cells += [self.counts(c), Text(str(len(c.drift)) if c.drift else "-")]
            if "image" in shown:
                cells.append(truncate(safe_text(c.image), shown["image"], dim))
            self.add_row(*cells, key=str(i))
        for i, c in enumerate(rows):
            if c.id == keep:
                self.move_cursor(row=i)
                break
        self._announce()

    def on_resize(self) -> None:
        cols = fit(self._columns(), self.scrollable_content_region.width, self.cell_padding)
        if tuple(c.width for c in cols) != self._widths:
            self.refresh_rows()

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


# ---------------------------------------------------------------------------------------------
# detail
# ---------------------------------------------------------------------------------------------


def container_summary(c: Any | None, secrets: Iterable[str] = ()) -> Content:
    """One container: where it comes from, each control, its findings and its image's; every
    value escaped and `secrets` masked."""
    secrets = set(secrets)

    def show(text: str) -> str:
        return mask_secrets(safe_text(text), secrets)

    if c is None:
        return Content.styled("Select a container.", "$text-muted")
    parts: list[Content | str | tuple[str, str]] = [
        (show(c.name), "bold"),
        (f"  {c.short_id}  {show(c.image)}  {show(c.status)}", "$text-muted"),
        "\n",
    ]
    if c.service:
        src = ""
        if getattr(c, "source", None) is not None:
            loc = c.source.location()
            src = f"  ← {safe_text(str(loc.path))}:{loc.line}  (enter: its findings)"
        parts += [("Service: ", "$text-muted"), service_label(c), (src, "$text-muted"), "\n"]
    else:
        parts += [("Service: ", "$text-muted"), "not started by compose (no service to fix in the project)\n"]
    for ctl in CONTROLS:
        ok = control_ok(c, ctl)
        parts += [("  ✓ " if ok else "  ✗ ", "$text-success" if ok else "bold $text-error"), ctl.title, "\n"]
    own = [f for f in c.findings if f.target_kind != "image"]
    image = [f for f in c.findings if f.target_kind == "image"]
    parts += ["\n", (f"Findings of the container ({len(own)})", "bold $accent"), "\n"]
    if not any(severity_of(f) > Severity.INFO for f in own):
        parts.append(("  ✓ no hardening finding" + (" (notes only)" if own else "") + "\n", "$text-success"))
    parts += _finding_lines(own, show)
    if image:
        parts += ["\n", (f"Findings of its image {show(c.image)} ({len(image)})", "bold $accent"),
                  ("  (the image's defaults; fix them in its Dockerfile or override them in compose)\n",
                   "$text-muted")]
        parts += _finding_lines(image, show)
    parts += ["\n", (f"Drift from the compose file ({len(c.drift)})", "bold $accent"), "\n"]
    if not c.service:
        parts.append(("  (no compose service)", "$text-muted"))
    elif getattr(c, "source", None) is None:
        parts.append(("  (its service is not in this project)", "$text-muted"))
    elif not c.drift:
        parts.append(("  ✓ the running container matches its service", "$text-success"))
    else:
        parts.append(("  f on an “ahead” row: port the running value back to the file (shown as a diff)",
                      "$text-muted"))
    return Content.assemble(*parts)


def _finding_lines(findings: list[Finding], show: Callable[[str], str]) -> list[Content | str | tuple[str, str]]:
    out: list[Content | str | tuple[str, str]] = []
    for f in sorted(findings, key=lambda f: (-int(severity_of(f)), f.rule.id)):
        sev = severity_of(f)
        out += [(f" {sev.label:<8}", SEVERITY_STYLE[sev]), f" {f.rule.id:<26} ", show(f.message), "\n"]
    return out


class DriftTable(DataTable[Text]):
    """The drift of one container: field, what the file says, what runs, what to do."""

    DEFAULT_CSS = """
    DriftTable { height: auto; max-height: 12; }
    DriftTable > .drift--ahead { color: $text-success; }
    DriftTable > .drift--stale { color: $text-warning; }
    DriftTable > .drift--note { color: $text-error; text-style: bold; }
    """
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {"drift--ahead", "drift--stale", "drift--note"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=True)
        self.items: list[Any] = []

    def on_mount(self) -> None:
        self.add_column("field", key="field", width=31)
        self.add_column("file", key="file", width=18)
        self.add_column("running", key="running", width=24)
        self.add_column("what to do", key="advice")

    def show(self, items: Iterable[Any], secrets: Iterable[str] = ()) -> None:
        self.items = list(items)
        secrets = set(secrets)
        self.clear()
        for i, d in enumerate(self.items):
            style = self.get_component_rich_style("drift--ahead" if d.direction == "ahead" else "drift--stale",
                                                  partial=True)
            advice = "ahead · f: port it back" if d.direction == "ahead" else "stale · recreate the container"
            note = getattr(d, "note", "")
            kind = getattr(d, "kind", "")
            if note:
                advice += f" · {safe_text(note)}"
            self.add_row(Text(safe_text(d.field), style=self.get_component_rich_style("drift--note", partial=True)
                              if note else ""),
                         Text(mask_secrets(live_value(d.field, d.declared, kind), secrets)),
                         Text(mask_secrets(live_value(d.field, d.running, kind), secrets)),
                         Text(advice, style=style), key=str(i))
        self.display = bool(self.items)

    @property
    def current(self) -> Any | None:
        if not self.items or not 0 <= self.cursor_row < len(self.items):
            return None
        return self.items[self.cursor_row]


class ContainerDetail(VerticalScroll):
    DEFAULT_CSS = """
    ContainerDetail { height: 1fr; }
    ContainerDetail > Static { padding: 0 1; width: auto; min-width: 100%; }
    """

    def compose(self) -> ComposeResult:
        yield Static(container_summary(None), id="container-detail-text")
        yield DriftTable(id="drift")

    @property
    def drift(self) -> DriftTable:
        return self.query_one("#drift", DriftTable)

    def show(self, container: Any | None, secrets: Iterable[str] = ()) -> None:
        self.query_one("#container-detail-text", Static).update(container_summary(container, secrets))
        self.drift.show(container.drift if container is not None else [], secrets)
        self.scroll_home(animate=False)


__all__ = ["CONTROLS", "ContainerDetail", "ContainersTable", "DriftTable", "container_summary", "control_ok"]
