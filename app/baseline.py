"""Stable finding fingerprints and baselines.

A fingerprint names a finding without its message or line number, so rewording a message or
moving code does not change it: the rule, the file (relative to the repository top), the target
(stage, service, container) and the text the finding points at, with secret values masked out,
then hashed. Findings that agree on all of that are numbered in file order (`:0`, `:1`...), so
fingerprints are unique: `53:53/tcp` and `53:53/udp` differ in their text, two identical lines
in their number. SARIF's `partialFingerprints`, GitLab's `fingerprint` and baselines use them.

`batten scan --write-baseline FILE` records the fingerprints of today's findings (rule and path
beside each for readers, never a message or a value); `--baseline FILE` (or `baseline` in the
config) marks findings found in it as suppressed ("baseline"), so reports and the exit code
only count new ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from batten.fsio import read_regular
from batten.model import Finding, UsageError
from batten.sources.project import Project

BASELINE_MARK = "baseline"
_FORMAT = 1
_SPACE = re.compile(r"\s+")
_MAX_SNIPPET = 4096


def _snippet(f: Finding, project: Project | None) -> str:
    loc = f.location
    if project is None or loc is None or loc.span is None:
        return ""
    pf = project.file(loc.path)
    if pf is None or pf.source is None:
        return ""
    text = pf.source.text
    start, end = loc.span.start, min(loc.span.end, loc.span.start + _MAX_SNIPPET)
    parts: list[str] = []
    pos = start
    for s in sorted(f.secrets, key=lambda s: s.start):  # secret values never reach the hash
        if s.end <= pos or s.start >= end:
            continue
        parts.append(text[pos:max(pos, s.start)])
        parts.append("***")
        pos = max(pos, s.end)
    parts.append(text[pos:end] if pos < end else "")
    return _SPACE.sub(" ", "".join(parts)).strip()


def fingerprints(findings: list[Finding], project: Project | None = None,
                 path_of: Callable[[str], str] | None = None) -> list[str]:
    """One fingerprint per finding, in order. `path_of` maps a finding's project-relative path
    to the path that should count (the repository-relative one)."""
    seen: Counter[str] = Counter()
    out: list[str] = []
    for f in findings:
        path = f.location.path if f.location else ""
        if path and path_of is not None:
            path = path_of(path)
        key = "\0".join((f.rule.id, path, f.target or "", _snippet(f, project)))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        out.append(f"{digest}:{seen[digest]}")
        seen[digest] += 1
    return out


def write_baseline(path: str, findings: list[Finding], prints: list[str],
                   path_of: Callable[[str], str] | None = None) -> int:
    """Record the fingerprints of the findings that are not suppressed; returns how many."""
    entries = []
    for f, fp in zip(findings, prints, strict=True):
        if f.suppressed and not f.suppressed.startswith(BASELINE_MARK):
            continue
        rel = f.location.path if f.location else None
        entries.append({"fingerprint": fp, "rule": f.rule.id,
                        "path": path_of(rel) if rel and path_of else rel})
    entries.sort(key=lambda e: (e["path"] or "", e["rule"], e["fingerprint"]))
    doc = {"tool": "batten", "format": _FORMAT, "findings": entries}
    from batten.fsio import WriteRefused, write_file

    try:
        write_file(path, (json.dumps(doc, indent=1, ensure_ascii=True) + "\n").encode())
    except WriteRefused as exc:
        raise UsageError(f"cannot write baseline: {exc}") from None
    return len(entries)


def read_baseline(path: str) -> set[str]:
    try:
        doc: Any = json.loads(read_regular(path, 64 << 20))  # never blocks on a FIFO
    except FileNotFoundError:
        raise UsageError(f"{path}: no such baseline file (write one with --write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a batten baseline ({exc})") from None
    if not isinstance(doc, dict) or doc.get("tool") != "batten" or not isinstance(doc.get("findings"), list):
        raise UsageError(f"{path}: not a batten baseline")
    return {str(e.get("fingerprint")) for e in doc["findings"] if isinstance(e, dict)}


def apply_baseline(findings: list[Finding], prints: list[str], known: set[str]) -> int:
    """Mark findings recorded in the baseline as suppressed; returns how many."""
    n = 0
    for f, fp in zip(findings, prints, strict=True):
        if fp in known and not f.suppressed:
            f.suppressed = BASELINE_MARK
            n += 1
    return n


def is_baselined(f: Finding) -> bool:
    return f.suppressed == BASELINE_MARK
