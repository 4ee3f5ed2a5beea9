"""Content-hash cache of headless scan results.

The key covers everything a scan reads: batten's version, the configuration, every scanned
file's bytes (sha256), the .dockerignore, .env and CI texts, and, for directory scans, the
modification times of the directories a build context walk may look into (a file appearing in
a context changes its directory's mtime). A hit skips the checks and fix planning; a miss costs
one hash. Stored as JSON (never pickle) under $XDG_CACHE_HOME/batten; BATTEN_NO_CACHE=1 or
`--no-cache` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any

from batten import __version__
from batten.fsio import WriteRefused, private_dir, read_regular, write_file
from batten.model import Applicability, Finding, Fix, Location, Span
from batten.sources.project import Project

MAX_ENTRIES = 64
_SKIP = {".git", "node_modules", ".venv", "__pycache__"}


def cache_dir() -> str:
    base = os.environ.get("BATTEN_CACHE_DIR")
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "batten")


def enabled() -> bool:
    return not os.environ.get("BATTEN_NO_CACHE")


_CODE_STAMP: str | None = None


def code_stamp() -> str:
    """Size and mtime of batten's own modules: a changed checkout never reuses old results."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        h = hashlib.sha256()
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for pkg in ("app", "fixers"):
            for dirpath, dirnames, filenames in os.walk(os.path.join(pkg_root, pkg)):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for fn in sorted(filenames):
                    if fn.endswith(".py"):
                        with contextlib.suppress(OSError):
                            st = os.stat(os.path.join(dirpath, fn))
                            h.update(f"{dirpath}/{fn}:{st.st_size}:{st.st_mtime_ns}".encode())
        _CODE_STAMP = h.hexdigest()
    return _CODE_STAMP


def scan_key(project: Project, config_fingerprint: str) -> str:
    h = hashlib.sha256()

    def add(*parts: object) -> None:
        for p in parts:
            h.update(str(p).encode("utf-8", "surrogateescape"))
            h.update(b"\0")

    add("batten", __version__, code_stamp(), config_fingerprint, project.root, project.explicit)
    for pf in project.files:
        add(pf.path, pf.kind, pf.implicit, pf.source.sha256 if pf.source is not None else pf.error)
    for path, text in sorted(project.dockerignores.items()):
        add("dockerignore", path, hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    for path, text in project.ci_files:
        add("ci", path, hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    for cf in project.compose_files:
        add("env", cf.path, sorted(cf.env.items()))
    if not project.explicit:
        for dirpath, dirnames, _files in os.walk(project.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
            with contextlib.suppress(OSError):
                add("dir", os.path.relpath(dirpath, project.root), os.stat(dirpath).st_mtime_ns)
    return h.hexdigest()


def _encode(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "r": f.rule.id,
        "m": f.message,
        "l": None if loc is None else [loc.path, loc.line, loc.column, loc.end_line, loc.end_column,
                                       *( [loc.span.start, loc.span.end] if loc.span else [])],
        "t": f.target,
        "k": f.target_kind,
        "s": f.suppressed,
        "v": int(f.severity) if f.severity is not None else None,
        "e": f.evidence,
        "a": list(f.anchors),
        "x": [[s.start, s.end] for s in f.secrets],
        "f": None if f.fix is None else [f.fix.id, f.fix.title, str(f.fix.applicability), f.fix.risk],
        "n": f.no_fix,
    }


def _decode(d: dict[str, Any]) -> Finding:
    from batten.checks.catalogue import rule
    from batten.model import Severity

    loc = None
    if d["l"] is not None:
        path, line, col, eline, ecol, *span = d["l"]
        loc = Location(path, line, col, eline, ecol, Span(*span) if span else None)
    fix = None if d["f"] is None else Fix(d["f"][0], d["f"][1], Applicability(d["f"][2]), "", (),
                                          risk=str(d["f"][3]) if len(d["f"]) > 3 else "")
    return Finding(
        rule=rule(d["r"]), message=d["m"], location=loc, target=d["t"], target_kind=d["k"],
        severity=Severity(d["v"]) if d["v"] is not None else None, suppressed=d["s"], fix=fix,
        evidence=d["e"], anchors=tuple(d["a"]), secrets=tuple(Span(a, b) for a, b in d["x"]),
        no_fix=d.get("n"),
    )


def load(key: str) -> list[Finding] | None:
    path = os.path.join(cache_dir(), f"scan-{key}.json")
    try:
        data = json.loads(read_regular(path, 64 << 20))
        findings = [_decode(d) for d in data["findings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used
    return findings


def store(key: str, findings: list[Finding]) -> None:
    directory = cache_dir()
    try:
        private_dir(directory)
        data = json.dumps({"version": __version__, "findings": [_encode(f) for f in findings]}, default=str)
        write_file(os.path.join(directory, f"scan-{key}.json"), data.encode(), private=True)
        entries = sorted(
            (e for e in os.scandir(directory) if e.name.startswith("scan-")),
            key=lambda e: e.stat().st_mtime,
        )
        for e in entries[:-MAX_ENTRIES]:
            with contextlib.suppress(OSError):
                os.unlink(e.path)
    except (OSError, WriteRefused):
        pass  # a cache that cannot be written is just a miss next time
