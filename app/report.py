"""Headless output: text (grouped by file, coloured on a tty), JSON and SARIF 2.1.0.

Messages never carry secret values (rules mask them); anything taken from a file or an engine
is passed through `safe_text` so terminal escape sequences are shown escaped, never sent raw.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from batten import __version__
from batten.checks.catalogue import all_rules
from batten.model import Finding, Rule, Severity
from batten.sanitize import json_encoder, json_text, safe_text

TOOL_NAME = "batten"
INFO_URI = "https://github.com/batten-dev/batten"



def finding_dict(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "rule": f.rule.id,
        "severity": (f.severity or f.rule.severity).label,
        "title": f.rule.title,
        "message": safe_text(f.message),
        "path": loc.path if loc else None,
        "line": loc.line if loc else None,
        "end_line": (loc.end_line or loc.line) if loc else None,
        "target": safe_text(f.target) if f.target else None,
        "fix": f.fix.summary() if f.fix is not None else None,
        "suppressed": f.suppressed,
        "refs": dict(f.rule.refs),
    }


def to_json(findings: list[Finding], files: Iterable[dict[str, Any]]) -> str:
    """The JSON report, one file or finding per line (readable, diffable, and written by
    json's C encoder, which pretty-printing with indent= would bypass)."""
    def block(items: list[str]) -> str:
        return "[]" if not items else "[\n    " + ",\n    ".join(items) + "\n  ]"

    dumps = json_encoder()
    tool = dumps({"name": TOOL_NAME, "version": __version__})
    files_part = block([dumps(f) for f in files])
    findings_part = block([dumps(finding_dict(f)) for f in findings])
    return f'{{\n  "tool": {tool},\n  "files": {files_part},\n  "findings": {findings_part}\n}}\n'


# ---------------------------------------------------------------------------------------------
# SARIF
# ---------------------------------------------------------------------------------------------


def _sarif_rule(r: Rule) -> dict[str, Any]:
    refs = ", ".join(f"{tool} {ids}" for tool, ids in r.refs.items())
    help_text = r.rationale + (f"\n\nRemedy: {r.remedy}" if r.remedy else "") + (f"\n\nSee also: {refs}" if refs else "")
    markdown = f"**{r.title}**\n\n{r.rationale}" + (f"\n\n**Remedy:** {r.remedy}" if r.remedy else "")
    if refs:
        markdown += "\n\n| tool | id |\n|---|---|\n" + "\n".join(f"| {t} | {i} |" for t, i in r.refs.items())
    return {
        "id": r.id,
        "name": "".join(p.capitalize() for p in re.split(r"[.\-]", r.id)),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.rationale},
        "help": {"text": help_text, "markdown": markdown},
        "defaultConfiguration": {"level": r.severity.sarif_level},
        "properties": {
            "security-severity": r.severity.security_severity,
            "precision": "high",
            "tags": ["security", "container", r.area.value.replace(" ", "-")],
            "problem.severity": r.severity.label,
        },
    }


def to_sarif(findings: list[Finding], uri_base: str | None = None) -> str:
    rules = all_rules()
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        sev = f.severity or f.rule.severity
        res: dict[str, Any] = {
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": sev.sarif_level,
            "message": {"text": safe_text(f.message)},
            "partialFingerprints": {"battenFinding/v1": f.fingerprint()},
            "properties": {
                "severity": sev.label,
                "security-severity": sev.security_severity,
                **({"target": f.target} if f.target else {}),
                **({"fix": f.fix.summary()} if f.fix else {}),
                "origin": f.origin,
            },
        }
        if f.location is not None:
            loc = f.location
            region: dict[str, Any] = {"startLine": loc.line, "startColumn": loc.column}
            if loc.end_line:
                region["endLine"] = loc.end_line
            if loc.end_column:
                region["endColumn"] = loc.end_column
            res["locations"] = [{
                "physicalLocation": {
                    "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }]
        elif f.target:
            res["locations"] = [{"logicalLocations": [{"name": f.target, "kind": f.target_kind}]}]
        if f.suppressed:
            kind = "external" if f.suppressed.startswith("config:") else "inSource"
            res["suppressions"] = [{"kind": kind, "justification": f.suppressed}]
        results.append(res)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [_sarif_rule(r) for r in rules],
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if uri_base:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "file://" + uri_base.rstrip("/") + "/"}}
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json_text(doc, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------

_COLORS = {
    Severity.CRITICAL: "\x1b[1;97;41m",
    Severity.HIGH: "\x1b[1;31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"


def to_text(findings: list[Finding], files: list[dict[str, Any]], *, color: bool, show_suppressed: bool = False,
            elapsed: float | None = None) -> str:
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    out: list[str] = []
    shown = [f for f in findings if show_suppressed or not f.suppressed]
    groups: dict[str, list[Finding]] = {}
    for f in shown:
        key = f.location.path if f.location else (f"<{f.target_kind}> {f.target}" if f.target else "<project>")
        groups.setdefault(key, []).append(f)
    for path, items in groups.items():
        out.append(c(_BOLD, safe_text(path)))
        for f in items:
            sev = f.severity or f.rule.severity
            loc = f"{f.location.line}:{f.location.column}" if f.location else "-"
            tag = c(_COLORS[sev], f"{sev.label:<8}")
            target = f" [{safe_text(f.target)}]" if f.target else ""
            fix = c(_DIM, f"  fix: {f.fix.id} ({f.fix.applicability})") if f.fix else ""
            sup = c(_DIM, f"  suppressed: {f.suppressed}") if f.suppressed else ""
            out.append(f"  {loc:>7}  {tag} {f.rule.id:<26} {safe_text(f.message)}{target}{fix}{sup}")
        out.append("")
    active = [f for f in findings if not f.suppressed]
    counts = Counter((f.severity or f.rule.severity) for f in active)
    parts = [f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)]
    suppressed = len(findings) - len(active)
    errors = sum(1 for fd in files if fd.get("error"))
    summary = (f"{len(files)} file(s), {len(active)} finding(s)" + (f": {', '.join(parts)}" if parts else "")
               + (f"; {suppressed} suppressed" if suppressed else "")
               + (f"; {errors} file(s) could not be parsed" if errors else "")
               + (f" in {elapsed:.2f}s" if elapsed is not None else ""))
    out.append(c(_BOLD, summary))
    return "\n".join(out) + "\n"
