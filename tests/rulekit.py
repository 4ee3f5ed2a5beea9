"""Helpers for the rule tests: write a small project into a directory, scan it, look at findings.

    fs = findings(tmp_path, {"Dockerfile": "FROM alpine:3.20\\n", "compose.yaml": "..."})
    assert ids(fs) == {...}
    assert at(fs, "user.missing") == [("Dockerfile", 1, "stage 0")]
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from batten.checks.engine import run_checks
from batten.config import Config, parse_config
from batten.model import Finding
from batten.report import to_json
from batten.sources.project import Project, load_project


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text, dedented; bytes written as they are) under `root`."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8", newline="")
    return root


def project(root: Path, files: dict[str, str | bytes], *, explicit: list[str] | None = None) -> Project:
    """Write the files and load the directory (or, with `explicit`, only those files)."""
    write(root, files)
    if explicit is not None:
        return load_project([str(root / p) for p in explicit])
    return load_project([str(root)])


def findings(
    root: Path,
    files: dict[str, str | bytes],
    config: Config | dict | None = None,
    *,
    explicit: list[str] | None = None,
) -> list[Finding]:
    """Every finding (suppressed ones included) of a project made of `files`."""
    if isinstance(config, dict):
        config = parse_config(config, "test config")
    return run_checks(project(root, files, explicit=explicit), config)


def active(fs: list[Finding]) -> list[Finding]:
    """The findings not suppressed."""
    return [f for f in fs if f.suppressed is None]


def ids(fs: list[Finding], *, only_active: bool = True) -> set[str]:
    """Rule ids of the (unsuppressed) findings."""
    return {f.rule.id for f in (active(fs) if only_active else fs)}


def of(fs: list[Finding], rule_id: str) -> list[Finding]:
    """The findings (suppressed too) of one rule."""
    return [f for f in fs if f.rule.id == rule_id]


def at(fs: list[Finding], rule_id: str, *, only_active: bool = True) -> list[tuple[str | None, int | None, str | None]]:
    """(path, line, target) of each finding of `rule_id`, sorted."""
    pool = active(fs) if only_active else fs
    found = [(f.path, f.line, f.target) for f in pool if f.rule.id == rule_id]
    return sorted(found, key=lambda t: (t[0] or "", t[1] or 0, t[2] or ""))


def lines(fs: list[Finding], rule_id: str, *, only_active: bool = True) -> list[int | None]:
    """Sorted line numbers of the findings of `rule_id`."""
    return sorted(line for _p, line, _t in at(fs, rule_id, only_active=only_active))  # type: ignore[type-var]


def targets(fs: list[Finding], rule_id: str, *, only_active: bool = True) -> set[str | None]:
    return {t for _p, _l, t in at(fs, rule_id, only_active=only_active)}


def suppressed(fs: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in fs if f.rule.id == rule_id and f.suppressed is not None]


def as_json(fs: list[Finding]) -> dict:
    """The findings as `batten scan --format json` prints them."""
    return json.loads(to_json(fs, []))


def json_findings(fs: list[Finding], rule_id: str) -> list[dict]:
    return [d for d in as_json(fs)["findings"] if d["rule"] == rule_id]


def dockerfile(root: Path, text: str, extra: dict[str, str | bytes] | None = None, **kw) -> list[Finding]:
    """Findings of a project holding one Dockerfile (plus `extra` files)."""
    return findings(root, {"Dockerfile": text, **(extra or {})}, **kw)


def compose(root: Path, text: str, extra: dict[str, str | bytes] | None = None, **kw) -> list[Finding]:
    """Findings of a project holding one compose.yaml (plus `extra` files)."""
    return findings(root, {"compose.yaml": text, **(extra or {})}, **kw)
