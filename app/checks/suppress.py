"""Inline suppressions: batten's own pragmas and those of hadolint, checkov, Trivy and KICS.

- `# batten: ignore=<id>[,<id>] [-- reason]` on the line(s) directly above the finding, on the
  finding's own line (trailing YAML comment), or above the stage's FROM / the service's key
  (which is where findings about something missing point).
- `# batten: ignore-file=<id>[,<id>]` anywhere in the file.
- `# hadolint ignore=DL3008,...` (line above), `# hadolint global ignore=...` (file).
- `#checkov:skip=CKV_DOCKER_3:reason` (file, as checkov reads it).
- `# trivy:ignore:DS-0002` (line above).
- `# kics-scan ignore-line` / `ignore-block` (next line / block), `# kics-scan ignore` (file),
  `# kics-scan disable=<uuid>,...` (file): like every other tool's pragma, only for the batten
  rules that map onto a KICS query (a KICS pragma says nothing about checks KICS does not have).
Ids accept globs (`caps.*`) and `all`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from batten.checks.catalogue import TOOL_PRAGMA_INDEX
from batten.sources.text import SourceText

_BATTEN = re.compile(r"#\s*batten\s*:\s*(ignore|ignore-file)\s*=\s*([A-Za-z0-9_.*,\s-]+?)(?:\s+--\s*(.*)|\s*$)")
_HADOLINT = re.compile(r"#\s*hadolint\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9,\s]+)")
_CHECKOV = re.compile(r"#\s*(?:checkov|bridgecrew|cortex)\s*:\s*skip\s*=\s*([A-Za-z0-9_]+)(?::\s*(.*))?")
_TRIVY = re.compile(r"#\s*trivy:ignore:([A-Za-z0-9-]+)")
_KICS = re.compile(r"#\s*kics-scan\s+(ignore-line|ignore-block|ignore-comment|ignore|disable|enable)\s*(?:=\s*([0-9a-fA-F,\s-]+))?")


@dataclass(slots=True)
class Pragma:
    rules: list[str]  # batten ids or globs ("*" for all)
    how: str  # text shown as the reason of the suppression

    def covers(self, rule_id: str) -> bool:
        return any(r in ("*", "all") or fnmatch.fnmatchcase(rule_id, r) for r in self.rules)


@dataclass
class FilePragmas:
    file_level: list[Pragma] = field(default_factory=list)
    by_line: dict[int, list[Pragma]] = field(default_factory=dict)  # line the pragma applies to

    def match(self, rule_id: str, lines: tuple[int, ...]) -> Pragma | None:
        for p in self.file_level:
            if p.covers(rule_id):
                return p
        for ln in lines:
            for p in self.by_line.get(ln, ()):
                if p.covers(rule_id):
                    return p
        return None


def _map_foreign(tool: str, ids: list[str]) -> list[str]:
    index = TOOL_PRAGMA_INDEX.get(tool, {})
    out: list[str] = []
    for fid in ids:
        key = fid.strip().upper()
        if tool == "kics":
            key = key[:8]
        out.extend(index.get(key, []))
        if tool == "trivy" and key.startswith("AVD-"):
            out.extend(index.get(key[4:], []))
    return out


def _kics_rules() -> list[str]:
    """Every batten rule that maps onto some KICS query."""
    return sorted({rid for rids in TOOL_PRAGMA_INDEX.get("kics", {}).values() for rid in rids})


def _comment_part(line: str) -> str | None:
    idx = line.find("#")
    return line[idx:] if idx != -1 else None


# Each tool's pragma syntax: a regex and a reader turning one match into (scope, pragma) pairs.
# Scopes: "file" (the whole file), "here" (the next line below the comment block, or the same
# line for a trailing comment), "block" (the next line and the YAML block under it).
Reader = Callable[[re.Match[str]], list[tuple[str, Pragma]]]


def _read_batten(m: re.Match[str]) -> list[tuple[str, Pragma]]:
    ids = [x.strip() for x in m.group(2).split(",") if x.strip()]
    reason = (m.group(3) or "").strip()
    how = f"inline: batten: {m.group(1)}={','.join(ids)}" + (f" ({reason})" if reason else "")
    return [("file" if m.group(1) == "ignore-file" else "here", Pragma(ids, how))]


def _read_hadolint(m: re.Match[str]) -> list[tuple[str, Pragma]]:
    ids = [x for x in re.split(r"[,\s]+", m.group(2)) if x]
    mapped = _map_foreign("hadolint", ids)
    scope = "file" if m.group(1) else "here"
    return [(scope, Pragma(mapped, f"inline: hadolint ignore={','.join(ids)}"))] if mapped else []


def _read_checkov(m: re.Match[str]) -> list[tuple[str, Pragma]]:
    mapped = _map_foreign("checkov", [m.group(1)])
    reason = (m.group(2) or "").strip()
    how = f"inline: checkov:skip={m.group(1)}" + (f" ({reason})" if reason else "")
    return [("file", Pragma(mapped, how))] if mapped else []


def _read_trivy(m: re.Match[str]) -> list[tuple[str, Pragma]]:
    mapped = _map_foreign("trivy", [m.group(1)])
    return [("here", Pragma(mapped, f"inline: trivy:ignore:{m.group(1)}"))] if mapped else []


def _read_kics(m: re.Match[str]) -> list[tuple[str, Pragma]]:
    verb = m.group(1)
    if verb == "disable" and m.group(2):
        ids = [x.strip() for x in m.group(2).split(",") if x.strip()]
        mapped = _map_foreign("kics", ids)
        return [("file", Pragma(mapped, f"inline: kics-scan disable={','.join(ids)}"))] if mapped else []
    scope = {"ignore": "file", "ignore-line": "here", "ignore-block": "block"}.get(verb)
    return [(scope, Pragma(_kics_rules(), f"inline: kics-scan {verb}"))] if scope else []


SYNTAXES: tuple[tuple[re.Pattern[str], Reader], ...] = (
    (_BATTEN, _read_batten),
    (_HADOLINT, _read_hadolint),
    (_CHECKOV, _read_checkov),
    (_TRIVY, _read_trivy),
    (_KICS, _read_kics),
)


def parse_pragmas(source: SourceText, kind: str) -> FilePragmas:
    fp = FilePragmas()
    text = source.text
    if "#" not in text:
        return fp
    lines = text.split("\n")
    n = len(lines)
    pending: list[tuple[int, Pragma, str]] = []  # (line of pragma, pragma, scope: next|block|same)
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if "#" not in line:
            continue
        stripped = line.lstrip()
        full_line = stripped.startswith("#")
        if kind == "dockerfile" and not full_line:
            continue  # Dockerfiles have no trailing comments
        comment = stripped if full_line else _comment_part(line)
        if comment is None:
            continue
        for regex, read in SYNTAXES:
            for m in regex.finditer(comment):
                for scope, pragma in read(m):
                    if scope == "file":
                        fp.file_level.append(pragma)
                    else:
                        here = "next" if full_line else "same"
                        pending.append((i + 1, pragma, here if scope == "here" else "block"))

    is_comment = [ln.lstrip().startswith("#") for ln in lines]
    is_blank = [not ln.strip() for ln in lines]
    for lineno, pragma, scope in pending:
        if scope == "same":
            fp.by_line.setdefault(lineno, []).append(pragma)
            continue
        # the first line below the comment block (comments and, for pragmas, nothing else between)
        j = lineno  # 0-based index of the next line
        while j < n and is_comment[j]:
            j += 1
        if j >= n or is_blank[j]:
            continue
        target = j + 1
        fp.by_line.setdefault(target, []).append(pragma)
        if scope == "block":
            # the whole YAML block under the key (deeper-indented lines)
            indent = len(lines[j]) - len(lines[j].lstrip())
            k = j + 1
            while k < n:
                ln = lines[k]
                if ln.strip() and not is_comment[k] and len(ln) - len(ln.lstrip()) <= indent:
                    break
                fp.by_line.setdefault(k + 1, []).append(pragma)
                k += 1
    return fp
