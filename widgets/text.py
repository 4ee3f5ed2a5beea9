"""Turning model text into safe, masked, styled terminal content.

Everything taken from a file or an engine goes through :func:`batten.report.safe_text` (escape
sequences are shown escaped, never sent raw) and every secret span is masked before it is
shown. Styles are theme variables (``$error``...), resolved by Textual against the theme.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content

from batten.model import Severity, Span
from batten.present import mask_spans
from batten.report import safe_text

# component classes for severity counts, shared by the tables and the tree (theme variables only)
SEVERITY_CLASSES = frozenset({"sev--critical", "sev--high", "sev--medium", "sev--low", "sev--info"})


def severity_css(widget: str) -> str:
    """The DEFAULT_CSS rules of the severity component classes for `widget`."""
    return f"""
    {widget} > .sev--critical {{ color: $error; text-style: bold reverse; }}
    {widget} > .sev--high {{ color: $error; text-style: bold; }}
    {widget} > .sev--medium {{ color: $warning; }}
    {widget} > .sev--low {{ color: $primary; }}
    {widget} > .sev--info {{ color: $foreground; text-style: dim; }}
    """


SEVERITY_STYLE: dict[Severity, str] = {
    Severity.CRITICAL: "bold reverse $error",
    Severity.HIGH: "bold $error",
    Severity.MEDIUM: "$warning",
    Severity.LOW: "$primary",
    Severity.INFO: "$text-muted",
}
SEVERITY_SHORT = {
    Severity.CRITICAL: "C",
    Severity.HIGH: "H",
    Severity.MEDIUM: "M",
    Severity.LOW: "L",
    Severity.INFO: "I",
}







def render_source(
    text: str,
    spans: Iterable[Span],
    first: int,
    last: int | None = None,
    *,
    context: int | None = None,
) -> Content:
    """Numbered, masked, escaped lines; lines first..last highlighted. With `context`, only
    that many lines around the highlight are shown."""
    lines = mask_spans(text, spans).splitlines()
    last = max(first, last or first)
    lo, hi = 1, len(lines)
    if context is not None:
        lo, hi = max(1, first - context), min(len(lines), last + context)
    width = len(str(hi))
    parts: list[Content] = []
    for n in range(lo, hi + 1):
        line = safe_text(lines[n - 1]) if n - 1 < len(lines) else ""
        hit = first <= n <= last
        gutter = Content.styled(f"{n:>{width}} {'▶' if hit else '│'} ", "$accent" if hit else "$text-muted")
        body = Content(line)
        if hit:
            body = body.stylize("bold $text-warning")
        parts.append(Content.assemble(gutter, body))
    return Content("\n").join(parts)


def render_diff(diff: str) -> Content:
    """A unified diff (already masked) with added/removed/hunk lines styled."""
    if not diff.strip():
        return Content.styled("(no changes)", "$text-muted")
    parts: list[Content] = []
    for raw in diff.splitlines():
        line = safe_text(raw)
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "$accent"
        elif line.startswith("+"):
            style = "$text-success"
        elif line.startswith("-"):
            style = "$text-error"
        elif line.startswith("\\"):
            style = "$text-muted"
        else:
            style = ""
        parts.append(Content.styled(line, style) if style else Content(line))
    return Content("\n").join(parts)


