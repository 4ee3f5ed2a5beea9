"""Table columns that fit the terminal: fixed columns keep their width (a rule id or a line
number is never cut), flexible ones share the rest and end in an ellipsis, optional ones are
left out when there is no room for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    key: str
    min: int  # cells it never goes below (its content's width for a column never cut)
    flex: int = 0  # 0: fixed at max(min, label); >0: its share of the room left
    natural: int | None = None  # cells its longest content needs (a flexible column stops there)
    optional: bool = False  # left out when the room is short
    width: int = 0


def fit(columns: Iterable[Column], total: int, padding: int = 1) -> list[Column]:
    """The columns with their widths for a table `total` cells wide."""
    cols = list(columns)
    while True:
        room = total - 2 * padding * len(cols) - 1  # the last cell is kept for the scrollbar edge
        fixed = [max(c.min, len(c.label)) for c in cols if not c.flex]
        need = sum(fixed) + sum(max(c.min, 1) for c in cols if c.flex)
        optional = [i for i, c in enumerate(cols) if c.optional]
        if need <= room or not optional:
            break
        del cols[optional[-1]]
    rest = room - sum(fixed)
    flex = [c for c in cols if c.flex]
    widths = {c.key: max(c.min, 1) for c in flex}
    extra = rest - sum(widths.values())
    # grow the columns that have a natural width toward it first (in proportion to their share),
    # then the open-ended ones (a message) take what is left
    while extra > 0:
        growable = [c for c in flex if c.natural is not None and widths[c.key] < c.natural] or [
            c for c in flex if c.natural is None]
        if not growable:
            break
        share = sum(c.flex for c in growable)
        given = 0
        for c in growable:
            step = max(1, extra * c.flex // share)
            if c.natural is not None:
                step = min(step, c.natural - widths[c.key])
            step = min(step, extra - given)
            widths[c.key] += step
            given += step
            if given >= extra:
                break
        if given == 0:
            break
        extra -= given
    return [replace(c, width=widths[c.key] if c.flex else max(c.min, len(c.label))) for c in cols]


def truncate(text: str, width: int, style: Any = "") -> Text:
    """`text` in `width` cells, an ellipsis where it is cut."""
    out = Text(text, style=style, no_wrap=True)
    out.truncate(max(1, width), overflow="ellipsis")
    return out


def truncate_path(path: str, line: int | None, width: int) -> str:
    """`path:line` in `width` cells: the path loses its start (an ellipsis), the line number
    is kept whole."""
    suffix = f":{line}" if line is not None else ""
    text = path + suffix
    if len(text) <= width:
        return text
    keep = width - len(suffix) - 1
    return ("…" + path[-keep:] if keep > 0 else "…") + suffix


__all__ = ["Column", "fit", "truncate", "truncate_path"]
