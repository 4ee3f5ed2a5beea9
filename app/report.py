"""Headless output: text (grouped by file, coloured on a tty), JSON, SARIF 2.1.0, GitHub workflow
annotations, GitLab Code Quality JSON and JUnit XML. `FORMATS` maps each `--format` name to its
renderer; every renderer takes the findings, the scanned files and a `ReportContext`.

Messages never carry secret values (rules mask them); anything taken from a file or an engine
is passed through `safe_text` so terminal escape sequences are shown escaped, never sent raw.
Machine formats name files relative to the repository's top (the directory holding `.git`, else
the current directory), which is what GitHub and GitLab resolve paths against.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from batten import __version__
from batten.baseline import fingerprints, is_baselined
from batten.checks.catalogue import all_rules
from batten.config import Config, repo_top
from batten.model import Finding, Rule, Severity
from batten.sanitize import json_encoder, json_text, safe_line, safe_text
from batten.sources.project import Project

TOOL_NAME = "batten"
INFO_URI = "https://github.com/batten-dev/batten"

def use_color(choice: str, stream: object) -> bool:
    """--color always/never decide; with auto, NO_COLOR (set, non-empty) turns colour off,
    FORCE_COLOR turns it on, TERM=dumb off, and otherwise a terminal gets colour."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0", "false"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


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
        "no_fix": safe_text(f.no_fix) if f.no_fix else None,  # why the rule's fix declines this one
        "suppressed": f.suppressed,
        "refs": dict(f.rule.refs),
    }


def to_json(findings: list[Finding], files: Iterable[dict[str, Any]],
            skipped: Iterable[tuple[str, str]] = ()) -> str:
    """The JSON report, one file or finding per line (readable, diffable, and written by
    json's C encoder, which pretty-printing with indent= would bypass). `skipped`: every path
    the scan left out, with the reason (nothing is dropped silently)."""
    def block(items: list[str]) -> str:
        return "[]" if not items else "[\n    " + ",\n    ".join(items) + "\n  ]"

    dumps = json_encoder()
    tool = dumps({"name": TOOL_NAME, "version": __version__})
    files_part = block([dumps(f) for f in files])
    findings_part = block([dumps(finding_dict(f)) for f in findings])
    skipped_part = block([dumps({"path": p, "reason": r}) for p, r in skipped])
    return (f'{{\n  "tool": {tool},\n  "files": {files_part},\n  "skipped": {skipped_part},\n'
            f'  "findings": {findings_part}\n}}\n')


@dataclass
class ReportContext:
    """What a renderer needs besides the findings: where paths are relative to, the project (for
    fingerprints), the config (severity overrides in rule metadata) and display choices."""

    root: str | None = None  # the project root (absolute); finding paths are relative to it
    top: str | None = None  # report paths are relative to this (repository top, else cwd)
    project: Project | None = None
    config: Config | None = None
    elapsed: float | None = None
    color: bool = False
    show_suppressed: bool = False  # text: list suppressed findings too
    verbose: bool = False  # text: one line per absent control instead of one line per service
    include_suppressed: bool = True  # machine formats: False drops suppressed results
    notes: list[str] = field(default_factory=list)  # said on stderr by the caller
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) left out by the scan
    _prints: dict[int, str] = field(default_factory=dict, repr=False)

    @classmethod
    def for_project(cls, project: Project | None, config: Config | None = None, **kw: Any) -> ReportContext:
        root = project.root if project is not None else None
        skipped = list(project.skipped) if project is not None else []
        return cls(root=root, top=report_top(root), project=project, config=config, skipped=skipped, **kw)

    def path(self, rel: str) -> str:
        """A finding's project-relative path as the report shows it (relative to `top`)."""
        if self.root is None or self.top is None:
            return rel
        return os.path.relpath(os.path.join(self.root, rel), self.top).replace(os.sep, "/")

    def inside(self, rel: str) -> bool:
        return not self.path(rel).startswith("../")

    def fingerprints(self, findings: list[Finding]) -> list[str]:
        missing = [f for f in findings if id(f) not in self._prints]
        if missing:
            every = fingerprints(findings, self.project, self.path)
            self._prints.update({id(f): fp for f, fp in zip(findings, every, strict=True)})
        return [self._prints[id(f)] for f in findings]

    def severity(self, f: Finding) -> Severity:
        return f.severity or f.rule.severity

    def rule_severity(self, r: Rule) -> Severity:
        return self.config.severity_for(r.id, r.severity) if self.config is not None else r.severity

    def shown(self, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if self.include_suppressed or not f.suppressed]


def report_top(root: str | None) -> str | None:
    """The repository's top (git) above `root`, else the current directory when `root` lies
    in it, else `root` itself."""
    if root is None:
        return None
    top = repo_top(root)
    if top is not None:
        return top
    cwd = os.path.realpath(os.getcwd())
    return cwd if root == cwd or root.startswith(cwd.rstrip(os.sep) + os.sep) else root


def _docs_anchor(rule_id: str) -> str:
    """The anchor GitHub gives the rule's heading (### `user.missing`) in docs/rules.md."""
    return re.sub(r"[^a-z0-9 _-]", "", f"`{rule_id}`".lower()).replace(" ", "-")


def help_uri(rule_id: str) -> str:
    return f"{INFO_URI}/blob/v{__version__}/docs/rules.md#{_docs_anchor(rule_id)}"


# ---------------------------------------------------------------------------------------------
# SARIF
# ---------------------------------------------------------------------------------------------

# SARIF's `problem.severity` (GitHub's non-security severity) knows only these three
_PROBLEM_SEVERITY = {4: "error", 3: "error", 2: "warning", 1: "recommendation", 0: "recommendation"}
FINGERPRINT_KEY = "battenFinding/v2"


def _sarif_rule(r: Rule, sev: Severity) -> dict[str, Any]:
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
        "helpUri": help_uri(r.id),
        "defaultConfiguration": {"level": sev.sarif_level},
        "properties": {
            "security-severity": sev.security_severity,
            "precision": "high",
            "tags": ["security", "container", r.area.value.replace(" ", "-")],
            "problem.severity": _PROBLEM_SEVERITY[int(sev)],
        },
    }


def _artifact(ctx: ReportContext, rel: str) -> dict[str, Any]:
    if ctx.root is not None and not ctx.inside(rel):  # outside the repository: an absolute URI
        return {"uri": "file://" + quote(os.path.join(ctx.root, rel).replace(os.sep, "/"))}
    return {"uri": quote(ctx.path(rel)), "uriBaseId": "%SRCROOT%"}


def _physical(ctx: ReportContext, f: Finding) -> dict[str, Any]:
    loc = f.location
    assert loc is not None
    region: dict[str, Any] = {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)}
    if loc.end_line and loc.end_line >= loc.line:
        region["endLine"] = loc.end_line
        if loc.end_column and (loc.end_line > loc.line or loc.end_column > loc.column):
            region["endColumn"] = loc.end_column
    return {"physicalLocation": {"artifactLocation": _artifact(ctx, loc.path), "region": region}}


def to_sarif(findings: list[Finding], uri_base: str | None = None, ctx: ReportContext | None = None,
             files: Iterable[dict[str, Any]] = ()) -> str:
    """SARIF 2.1.0 as GitHub code scanning reads it: every result has a physical location (a
    file's, or for an image, its reference as the artifact with the image as the logical
    location, as image scanners upload them); parse errors, findings about the project as a
    whole and findings on a container no compose service declares (nothing in the repository
    to place them on) are tool notifications; severities include the config's overrides.
    `files` are the run's artifacts."""
    if ctx is None:
        ctx = ReportContext(root=uri_base, top=uri_base)
    rules = all_rules()
    index = {r.id: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    kept = [f for f in ctx.shown(findings) if f.rule.id != "parse.error"]
    prints = dict(zip(map(id, kept), ctx.fingerprints(kept), strict=True))
    for f in ctx.shown(findings):
        sev = ctx.severity(f)
        if f.rule.id == "parse.error":
            notes.append(_notification(ctx, f, "error"))
            continue
        if f.location is None and not _engine_object(f):
            what = f"container {f.target}" if f.target_kind == "container" and f.target else "the project"
            notes.append({"level": "note", "descriptor": {"id": f.rule.id}, "message": {
                "text": safe_text(f"{f.rule.id} on {what} is not tied to a file, so it is not a result: "
                                  f"{f.message}")}})
            continue
        res: dict[str, Any] = {
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": sev.sarif_level,
            "message": {"text": safe_text(f.message)},
            "locations": [_physical(ctx, f) if f.location is not None else _engine_location(f)],
            "partialFingerprints": {FINGERPRINT_KEY: prints[id(f)]},
            "properties": {
                "severity": sev.label,
                "security-severity": sev.security_severity,
                **({"target": safe_text(f.target)} if f.target else {}),
                **({"fix": f.fix.summary()} if f.fix else {}),
                "origin": f.origin,
            },
        }
        if f.target and f.origin != "static":
            res["locations"][0]["logicalLocations"] = [_logical(f)]
        if f.location is None:  # what on the engine it is about, for tools that read properties
            res["properties"].update(_engine_properties(f))
        if f.suppressed:
            if is_baselined(f):
                res["baselineState"] = "unchanged"
                res["suppressions"] = [{"kind": "external", "justification": "recorded in the baseline"}]
            else:
                kind = "external" if f.suppressed.startswith("config:") else "inSource"
                res["suppressions"] = [{"kind": kind, "justification": safe_text(f.suppressed)}]
        results.append(res)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [_sarif_rule(r, ctx.rule_severity(r)) for r in rules],
            }
        },
        "invocations": [invocation],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    artifacts = [{"location": _artifact(ctx, fd["path"])} for fd in files]
    if artifacts:
        run["artifacts"] = artifacts
    if ctx.top:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "file://" + quote(ctx.top.rstrip("/")) + "/"}}
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json_text(doc, indent=2) + "\n"


MAX_SARIF_PATHS = 50  # paths inside an image a result lists (the JSON evidence has them all)


def _engine_object(f: Finding) -> bool:
    """An image on an engine: a result without a file, placed by its reference. (A container
    with no file stays a notification: what runs on one host is not part of the repository.)"""
    return bool(f.target) and f.target_kind == "image"


def _logical(f: Finding) -> dict[str, Any]:
    """The image (reference and, when known, id) or container a live finding is about."""
    loc: dict[str, Any] = {"name": safe_text(f.target), "kind": "resource"}
    image_id = f.evidence.get("image_id") if f.target_kind == "image" else None
    if image_id:
        loc["fullyQualifiedName"] = safe_text(f"{f.target}@{image_id}")
    return loc


def _image_paths(f: Finding) -> list[str]:
    """The paths inside an image a finding names (setuid files, leftovers, /etc/passwd...)."""
    paths = [str(d["path"]) for d in f.evidence.get("files") or () if isinstance(d, dict) and d.get("path")]
    paths += [str(p) for p in f.evidence.get("paths") or ()]
    return list(dict.fromkeys(paths))


def _engine_location(f: Finding) -> dict[str, Any]:
    """Where a finding about an image or container is, for a report without a file for it: its
    name as the artifact (what image scanners upload to code scanning, which needs a physical
    location on every result) and, as the logical location, the image or container itself."""
    return {"physicalLocation": {"artifactLocation": {"uri": quote(safe_line(f.target), safe="/")},
                                 "region": {"startLine": 1}},
            "logicalLocations": [_logical(f)]}


def _engine_properties(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.target_kind == "image":
        out["image"] = safe_text(f.target)
        if f.evidence.get("image_id"):
            out["imageId"] = safe_text(f.evidence["image_id"])
        paths = _image_paths(f)
        if paths:
            out["imagePaths"] = [safe_text(p) for p in paths[:MAX_SARIF_PATHS]]
    else:
        out["container"] = safe_text(f.target)
    return out


def _notification(ctx: ReportContext, f: Finding, level: str) -> dict[str, Any]:
    note: dict[str, Any] = {"level": level, "message": {"text": safe_text(f.message)},
                            "descriptor": {"id": f.rule.id}}
    if f.location is not None:
        note["locations"] = [_physical(ctx, f)]
    return note


# ---------------------------------------------------------------------------------------------
# GitHub workflow annotations, GitLab Code Quality, JUnit XML
# ---------------------------------------------------------------------------------------------

_GITHUB_LEVEL = {4: "error", 3: "error", 2: "warning", 1: "notice", 0: "notice"}


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(findings: list[Finding], files: Iterable[dict[str, Any]], ctx: ReportContext) -> str:
    """GitHub Actions workflow commands (`::error file=...,line=...::message`): annotations on
    the pull request's files, one per active finding."""
    out: list[str] = []
    for f in findings:
        if f.suppressed:
            continue
        sev = ctx.severity(f)
        props: list[str] = []
        if f.location is not None:
            loc = f.location
            props += [f"file={_gh_prop(ctx.path(loc.path))}", f"line={loc.line}", f"col={loc.column}"]
            if loc.end_line and loc.end_line > loc.line:
                props.append(f"endLine={loc.end_line}")
        target = f" [{f.target}]" if f.target else ""
        props.append(f"title={_gh_prop(safe_text(f'batten {f.rule.id} ({sev.label}){target}'))}")
        out.append(f"::{_GITHUB_LEVEL[int(sev)]} {','.join(props)}::{_gh_data(safe_text(f.message))}")
    out.append(_summary(findings, list(files), ctx.elapsed))
    return "\n".join(out) + "\n"


_GITLAB_SEVERITY = {4: "blocker", 3: "critical", 2: "major", 1: "minor", 0: "info"}


def to_gitlab(findings: list[Finding], files: Iterable[dict[str, Any]], ctx: ReportContext) -> str:
    """GitLab Code Quality report (artifacts:reports:codequality): a JSON list of issues, each
    with a file path and line. Findings tied to no file are left out (GitLab needs a path)."""
    active = [f for f in findings if not f.suppressed]
    issues = []
    for f, fp in zip(active, ctx.fingerprints(active), strict=True):
        if f.location is None:
            ctx.notes.append(f"{f.rule.id} [{f.target}] is tied to no file: not in the Code Quality report")
            continue
        loc = f.location
        issues.append({
            "type": "issue",
            "check_name": f.rule.id,
            "description": safe_text(f.message) + (f" [{safe_text(f.target)}]" if f.target else ""),
            "content": {"body": f"{f.rule.rationale}\n\n{help_uri(f.rule.id)}"},
            "categories": ["Security"],
            "severity": _GITLAB_SEVERITY[int(ctx.severity(f))],
            "fingerprint": fp,
            "location": {"path": ctx.path(loc.path), "lines": {"begin": loc.line, "end": loc.end_line or loc.line}},
        })
    return json_text(issues, indent=2) + "\n"


_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _XML_BAD.sub("\ufffd", safe_text(text))


def to_junit(findings: list[Finding], files: Iterable[dict[str, Any]], ctx: ReportContext) -> str:
    """JUnit XML: one test suite per scanned file, one failing test case per finding (an error
    for a file that cannot be parsed, skipped when suppressed), a passing case for a clean file."""
    import xml.etree.ElementTree as ET

    by_file: dict[str, list[Finding]] = {fd["path"]: [] for fd in files}
    other: list[Finding] = []
    for f in findings:
        if f.location is not None:
            by_file.setdefault(f.location.path, []).append(f)
        else:
            other.append(f)
    suites = ET.Element("testsuites", name="batten")
    total = failures = errors = skipped = 0
    groups = [(ctx.path(p), items) for p, items in by_file.items()]
    if other:
        groups.append(("(no file)", other))
    for name, items in groups:
        suite = ET.SubElement(suites, "testsuite", name=_xml(name))
        s_fail = s_err = s_skip = 0
        for f in items:
            sev = ctx.severity(f)
            line = f":{f.location.line}" if f.location else ""
            target = f" [{f.target}]" if f.target else ""
            case = ET.SubElement(suite, "testcase", classname=_xml(name), name=_xml(f"{f.rule.id}{target}{line}"))
            if f.location is not None:
                case.set("file", _xml(name))
                case.set("line", str(f.location.line))
            if f.suppressed:
                ET.SubElement(case, "skipped", message=_xml(f"suppressed: {f.suppressed}"))
                s_skip += 1
            elif f.rule.id == "parse.error":
                ET.SubElement(case, "error", message=_xml(f.message), type="parse.error")
                s_err += 1
            else:
                fail = ET.SubElement(case, "failure", message=_xml(f.message), type=sev.label)
                fail.text = _xml(f"{f.rule.title} ({sev.label})\n{f.rule.rationale}\n{help_uri(f.rule.id)}")
                s_fail += 1
        if not items:
            ET.SubElement(suite, "testcase", classname=_xml(name), name="no findings")
        n = max(1, len(items))
        suite.set("tests", str(n))
        suite.set("failures", str(s_fail))
        suite.set("errors", str(s_err))
        suite.set("skipped", str(s_skip))
        total, failures, errors, skipped = total + n, failures + s_fail, errors + s_err, skipped + s_skip
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    suites.set("skipped", str(skipped))
    if ctx.elapsed is not None:
        suites.set("time", f"{ctx.elapsed:.3f}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


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


def _absent_groups(items: list[Finding]) -> tuple[list[Finding | list[Finding]], int]:
    """`items` with the unsuppressed findings about absent controls of one service or stage
    folded into a list (in place of the first of them), when there are at least two."""
    from batten.checks.catalogue import ABSENT_CONTROLS

    by_target: dict[tuple[str, str | None], list[Finding]] = {}
    for f in items:
        if f.rule.id in ABSENT_CONTROLS and not f.suppressed and f.target:
            by_target.setdefault((f.target_kind, f.target), []).append(f)
    folded = {id(f): key for key, fs in by_target.items() if len(fs) >= 2 for f in fs}
    out: list[Finding | list[Finding]] = []
    done: set[tuple[str, str | None]] = set()
    for f in items:
        key = folded.get(id(f))
        if key is None:
            out.append(f)
        elif key not in done:
            done.add(key)
            out.append(by_target[key])
    return out, len(folded)


def to_text(findings: list[Finding], files: list[dict[str, Any]], *, color: bool, show_suppressed: bool = False,
            elapsed: float | None = None, skipped: int = 0, verbose: bool = False) -> str:
    """Findings grouped by file. Findings about absent controls (no cap_drop, no limits, no
    user...) of one service or stage share one line naming them, unless `verbose`."""
    from batten.checks.catalogue import ABSENT_CONTROLS

    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    out: list[str] = []
    shown = [f for f in findings if show_suppressed or not f.suppressed]
    groups: dict[str, list[Finding]] = {}
    for f in shown:
        key = f.location.path if f.location else (f"<{f.target_kind}> {f.target}" if f.target else "<project>")
        groups.setdefault(key, []).append(f)
    folded_total = 0
    for path, items in groups.items():
        out.append(c(_BOLD, safe_line(path)))
        rows: list[Finding | list[Finding]] = list(items)
        if not verbose:
            rows, n = _absent_groups(items)
            folded_total += n
        for f in rows:
            if isinstance(f, list):
                sev = max(x.severity or x.rule.severity for x in f)
                first = min(f, key=lambda x: (x.line or 0, x.location.column if x.location else 0))
                controls = ", ".join(dict.fromkeys(ABSENT_CONTROLS[x.rule.id] for x in f))
                fixes = sum(1 for x in f if x.fix)
                tag = c(_COLORS[sev], f"{sev.label:<8}")
                what = f"missing {len(f)} controls"
                more = c(_DIM, f"  ({fixes} with a fix; -v lists each)" if fixes else "  (-v lists each)")
                out.append(f"  {_line_col(first):>7}  {tag} {what:<26} {controls} [{safe_line(first.target)}]{more}")
                continue
            sev = f.severity or f.rule.severity
            loc = _line_col(f)
            tag = c(_COLORS[sev], f"{sev.label:<8}")
            target = f" [{safe_line(f.target)}]" if f.target else ""
            fix = c(_DIM, f"  fix: {f.fix.id} ({f.fix.applicability})") if f.fix else ""
            sup = c(_DIM, f"  suppressed: {safe_line(f.suppressed)}") if f.suppressed else ""
            out.append(f"  {loc:>7}  {tag} {f.rule.id:<26} {safe_line(f.message)}{target}{fix}{sup}")
        out.append("")
    summary = _summary(findings, files, elapsed)
    if skipped:
        summary += f"; {skipped} path(s) skipped (listed with --format json)"
    out.append(c(_BOLD, summary))
    return "\n".join(out) + "\n"


def _line_col(f: Finding) -> str:
    """`line:column`, or just the line when the column is not known (no span behind it)."""
    loc = f.location
    if loc is None:
        return "-"
    return f"{loc.line}:{loc.column}" if loc.span is not None or loc.column > 1 else str(loc.line)


def _summary(findings: list[Finding], files: list[dict[str, Any]], elapsed: float | None) -> str:
    active = [f for f in findings if not f.suppressed]
    counts = Counter((f.severity or f.rule.severity) for f in active)
    parts = [f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)]
    baselined = sum(1 for f in findings if is_baselined(f))
    suppressed = len(findings) - len(active) - baselined
    errors = sum(1 for fd in files if fd.get("error"))
    return (f"{len(files)} file(s), {len(active)} finding(s)" + (f": {', '.join(parts)}" if parts else "")
            + (f"; {suppressed} suppressed" if suppressed else "")
            + (f"; {baselined} baselined" if baselined else "")
            + (f"; {errors} file(s) could not be parsed" if errors else "")
            + (f" in {elapsed:.2f}s" if elapsed is not None else ""))


# --format NAME -> renderer(findings, files, ctx)
Renderer = Callable[[list[Finding], list[dict[str, Any]], ReportContext], str]
FORMATS: dict[str, Renderer] = {
    "text": lambda fs, files, ctx: to_text(ctx.shown(fs), files, color=ctx.color,
                                           show_suppressed=ctx.show_suppressed, elapsed=ctx.elapsed,
                                           skipped=len(ctx.skipped), verbose=ctx.verbose),
    "json": lambda fs, files, ctx: to_json(ctx.shown(fs), files, ctx.skipped),
    "sarif": lambda fs, files, ctx: to_sarif(fs, ctx=ctx, files=files),
    "github": to_github,
    "gitlab": to_gitlab,
    "junit": to_junit,
}


def render(fmt: str, findings: list[Finding], files: list[dict[str, Any]], ctx: ReportContext) -> str:
    return FORMATS[fmt](findings, files, ctx)
