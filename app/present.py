"""Findings as plain text for people: labels, and secret values masked. Textual-free: the TUI
widgets, the session and the Markdown report share these."""

from __future__ import annotations

from collections.abc import Iterable

from batten.model import Finding, Severity, Span
from batten.report import safe_text
from batten.sanitize import MASK


def severity_of(finding: Finding) -> Severity:
    return finding.severity if finding.severity is not None else finding.rule.severity


def file_secret_spans(findings: Iterable[Finding], path: str | None) -> list[Span]:
    """Every secret span any finding reports in `path` (the file's secrets, all of them)."""
    out: dict[tuple[int, int], Span] = {}
    for f in findings:
        if path is not None and f.path == path:
            for s in f.secrets:
                out[(s.start, s.end)] = s
    return sorted(out.values(), key=lambda s: (s.start, s.end))


def mask_spans(text: str, spans: Iterable[Span]) -> str:
    """`text` with every span replaced by the mask (spans may overlap)."""
    merged: list[list[int]] = []
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        start, end = max(0, s.start), min(len(text), s.end)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text


def secret_values(text: str, spans: Iterable[Span]) -> set[str]:
    """The secret strings themselves (to mask them wherever else they appear, e.g. diffs)."""
    return {text[s.start : s.end] for s in spans if 0 <= s.start < s.end <= len(text)}


def fix_label(finding: Finding) -> str:
    if finding.fix is None:
        return "—"
    return {"safe": "safe", "needs-input": "input", "unsafe": "unsafe"}.get(
        str(finding.fix.applicability), str(finding.fix.applicability)
    )


def location_label(finding: Finding) -> str:
    loc = finding.location
    if loc is None:
        return "-"
    return f"{safe_text(loc.path)}:{loc.line}"


def target_label(finding: Finding) -> str:
    if not finding.target:
        return finding.target_kind
    return safe_text(finding.target)


# ---------------------------------------------------------------------- live values
MEMORY_FIELDS = frozenset({"mem_limit", "mem_reservation", "memswap_limit", "shm_size", "memory"})


def human_bytes(n: int) -> str:
    """1073741824 -> '1G', 805306368 -> '768M', 1536 -> '1.5K' (binary units, as Docker)."""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{n}B"


def live_value(field: str, value: object, kind: str = "") -> str:
    """A declared or running setting as a person reads it: yes/no, memory in human units,
    CPUs in cores, lists comma-separated; "-" when not set. `kind` is the drift item's unit
    (bytes, nanocpus, flag...); without it the field's name says. Escaped, never masked here."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool) or kind == "flag":
        return "yes" if value else "no"
    if isinstance(value, int) and (kind == "bytes" or (not kind and field in MEMORY_FIELDS)):
        return human_bytes(value)
    if isinstance(value, int) and (kind == "nanocpus" or (not kind and field == "cpus")):
        return f"{value / 1e9:g}"
    if isinstance(value, list | tuple | set):
        return ", ".join(safe_text(str(v)) for v in value) if value else "none"
    return safe_text(str(value))

__all__ = [
    "MEMORY_FIELDS",
    "file_secret_spans",
    "fix_label",
    "human_bytes",
    "live_value",
    "location_label",
    "mask_spans",
    "secret_values",
    "severity_of",
    "target_label",
]
