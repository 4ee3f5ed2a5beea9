"""The findings table: severity, rule, target, location, fix; filters and sorts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from batten.model import Finding, Severity
from batten.present import fix_label, location_label, severity_of, target_label
from batten.report import safe_text
from batten.widgets.columns import Column, fit, truncate, truncate_path
from batten.widgets.text import SEVERITY_CLASSES, severity_css

SORTS = ("severity", "rule", "target", "location")
WIDE = 110  # below this many cells severities are shortened
SEV_SHORT = {Severity.CRITICAL: "crit", Severity.HIGH: "high", Severity.MEDIUM: "med", Severity.LOW: "low",
             Severity.INFO: "info"}


@dataclass(frozen=True, slots=True)
class Scope:
    """What the project tree selected: everything, a file, or a stage/service of a file."""

    path: str | None = None
    target: str | None = None
    kind: str | None = None  # stage | service (with target)
    label: str = "all files"

    def admits(self, f: Finding) -> bool:
        if self.path is not None and f.path != self.path:
            return False
        if self.kind is not None and f.target_kind != self.kind:
            return False
        return not (self.target is not None and f.target != self.target)


ALL = Scope()


def _haystack(f: Finding) -> str:
    parts = [
        severity_of(f).label,
        f.rule.id,
        f.rule.title,
        f.rule.area.value,
        f.target or "",
        f.target_kind,
        f.path or "",
        f.message,
        fix_label(f),
        "fix" if f.fix else "nofix",
    ]
    return " ".join(parts).lower()


def matches(f: Finding, text: str) -> bool:
    hay = _haystack(f)
    return all(term in hay for term in text.lower().split())


def sort_key(name: str):  # type: ignore[no-untyped-def]
    def loc(f: Finding) -> tuple[str, int, int]:
        return (f.path or "~", f.line or 0, f.location.column if f.location else 0)

    if name == "rule":
        return lambda f: (f.rule.id, loc(f))
    if name == "target":
        return lambda f: (f.target or "~", -int(severity_of(f)), loc(f))
    if name == "location":
        return lambda f: (loc(f), -int(severity_of(f)), f.rule.id)
    return lambda f: (-int(severity_of(f)), loc(f), f.rule.id)


class FindingsTable(DataTable[Text]):
    """Rows of findings. Selection is by fingerprint, so it survives a rescan."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | SEVERITY_CLASSES | {
        "fix--safe",
        "fix--input",
        "fix--unsafe",
        "fix--none",
        "findings--dim",
    }
    DEFAULT_CSS = severity_css("FindingsTable") + """
    FindingsTable > .fix--safe { color: $success; }
    FindingsTable > .fix--input { color: $warning; }
    FindingsTable > .fix--unsafe { color: $error; }
    FindingsTable > .fix--none { color: $foreground; text-style: dim; }
    FindingsTable > .findings--dim { color: $foreground; text-style: dim; }
    """

    class Chosen(Message):
        """The highlighted finding changed (None: the table is empty)."""

        def __init__(self, table: FindingsTable, finding: Finding | None) -> None:
            super().__init__()
            self.table = table
            self.finding = finding

        @property
        def control(self) -> FindingsTable:
            return self.table

    class Opened(Message):
        """Enter (or a click) on a row: show its details."""

        def __init__(self, table: FindingsTable, finding: Finding) -> None:
            super().__init__()
            self.table = table
            self.finding = finding

    def __init__(self, *, id: str | None = None, extra_column: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._all: list[Finding] = []
        self._shown: list[Finding] = []
        self.filter_text = ""
        self.scope: Scope = ALL
        self.sort_by = "severity"
        self.extra_column = extra_column  # e.g. "status" in the guided view
        self.extra: dict[str, str] = {}  # fingerprint -> extra column value
        self._last_chosen: str | None = "<none>"
        self._widths: tuple[tuple[str, int], ...] = ()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_rows())
        self.refresh_rows()

    # ------------------------------------------------------------------ data
    @property
    def shown(self) -> list[Finding]:
        return list(self._shown)

    @property
    def total(self) -> int:
        return len(self._all)

    def set_findings(self, findings: Iterable[Finding]) -> None:
        self._all = list(findings)
        self.refresh_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.refresh_rows()

    def set_scope(self, scope: Scope) -> None:
        self.scope = scope
        self.refresh_rows()

    def set_sort(self, name: str) -> None:
        self.sort_by = name if name in SORTS else "severity"
        self.refresh_rows()

    def cycle_sort(self) -> str:
        i = SORTS.index(self.sort_by) if self.sort_by in SORTS else 0
        self.set_sort(SORTS[(i + 1) % len(SORTS)])
        return self.sort_by

    @property
    def current(self) -> Finding | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row]

    def select_fingerprint(self, fp: str) -> bool:
        for i, f in enumerate(self._shown):
            if f.fingerprint() == fp:
                self.move_cursor(row=i)
                return True
        return False

    def _style(self, name: str):  # type: ignore[no-untyped-def]
        return self.get_component_rich_style(name, partial=True)

    def _columns(self, width: int) -> list[Column]:
        rows = self._all
        short = width < WIDE
        cols = [
            Column("sev", "sev", 4 if short else 8),
            Column("rule", "rule", max((len(f.rule.id) for f in rows), default=4)),  # never cut
            Column("target", "target", 6, flex=1,
                   natural=min(16, max((len(target_label(f)) for f in rows), default=6))),
            Column("location", "location", 9, flex=1,
                   natural=min(20, max((len(location_label(f)) for f in rows), default=8))),
            Column("fix", "fix", 6),
        ]
        if self.extra_column:
            cols.append(Column(self.extra_column, "extra", 8))
        cols.append(Column("message", "message", 12, flex=4, optional=True))
        return cols

    def _fit(self) -> list[Column]:
        width = self.scrollable_content_region.width or self.app.size.width
        return fit(self._columns(width), width, self.cell_padding)

    def refresh_rows(self) -> None:
        if not self.is_mounted:
            return
        keep = self.current.fingerprint() if self.current is not None else None
        keep_row = self.cursor_row
        rows = [f for f in self._all if self.scope.admits(f) and matches(f, self.filter_text)]
        rows.sort(key=sort_key(self.sort_by))
        self._shown = rows
        cols = self._fit()
        widths = tuple((c.key, c.width) for c in cols)
        self.clear(columns=widths != self._widths or not self.columns)
        if not self.columns:
            for col in cols:
                self.add_column(col.label, width=col.width, key=col.key)
        self._widths = widths
        w = dict(widths)
        short = w["sev"] < 8
        for i, f in enumerate(rows):
            sev = severity_of(f)
            fx = fix_label(f)
            fix_class = {"safe": "fix--safe", "input": "fix--input", "unsafe": "fix--unsafe"}.get(fx, "fix--none")
            loc = f.location
            location = truncate_path(safe_text(loc.path), loc.line, w["location"]) if loc is not None else "-"
            cells = [
                Text(SEV_SHORT[sev] if short else sev.label, style=self._style(f"sev--{sev.label}")),
                Text(f.rule.id),
                truncate(target_label(f), w["target"]),
                Text(location, no_wrap=True),
                Text(fx, style=self._style(fix_class)),
            ]
            if self.extra_column:
                cells.append(Text(self.extra.get(f.fingerprint(), "")))
            if "message" in w:
                msg = safe_text(f.message) + (f"  (suppressed: {safe_text(f.suppressed)})" if f.suppressed else "")
                cells.append(truncate(msg, w["message"], self._style("findings--dim") if f.suppressed else ""))
            self.add_row(*cells, key=str(i))
        if rows:
            moved = keep is not None and self.select_fingerprint(keep)
            if not moved:
                self.move_cursor(row=min(max(keep_row, 0), len(rows) - 1))
        self._announce()

    def on_resize(self) -> None:
        if tuple((c.key, c.width) for c in self._fit()) != self._widths:
            self.refresh_rows()

    def _announce(self) -> None:
        cur = self.current
        fp = f"{cur.fingerprint()}#{id(cur)}" if cur is not None else None
        if fp != self._last_chosen:
            self._last_chosen = fp
            self.post_message(self.Chosen(self, cur))

    # ------------------------------------------------------------------ events
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        cur = self.current
        if cur is not None:
            self.post_message(self.Opened(self, cur))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = str(event.column_key.value)
        if key == "sev":
            self.set_sort("severity")
        elif key in SORTS:
            self.set_sort(key)
