"""The catalogue says each thing once: another tool's check ids are written once per rule (in
`refs`), the pragmas batten honours are derived from them, and a ref that is only related (`~`)
says why where it is written."""

from __future__ import annotations

import re
from pathlib import Path

from batten.checks.catalogue import PRAGMA_TOOLS, TOOL_PRAGMA_INDEX, all_rules, rule

SOURCE = (Path(__file__).resolve().parents[1] / "app" / "checks" / "catalogue.py").read_text()


def test_tool_ids_are_written_once_per_rule():
    for tool in PRAGMA_TOOLS:
        assert f"{tool}=(" not in SOURCE
    assert "../shared" not in SOURCE and "RULES.md" not in SOURCE


def test_honoured_pragmas_are_the_refs():
    for r in all_rules():
        for tool in PRAGMA_TOOLS:
            shown = set(re.split(r"[,\s]+", r.refs.get(tool, "").strip())) - {""}
            honoured = set(r.pragmas.get(tool, ()))
            if tool == "trivy":
                honoured = {i for i in honoured if i.startswith("DS-")}
            if "/" not in r.refs.get(tool, ""):
                related = {i.lstrip("~") for i in re.findall(r"~[\w-]+", _refs_source(r.id))}
                assert honoured == shown - related, (r.id, tool)
    assert rule("pkg.unverified").pragmas["checkov"][-1] == "CKV2_DOCKER_11"  # 7/8/.../11 expanded
    assert rule("user.sudo").pragmas["trivy"] == ("DS-0010", "DS010")  # Trivy's older id too
    assert "2FC99041" in TOOL_PRAGMA_INDEX["kics"]


def _refs_source(rule_id: str) -> str:
    start = SOURCE.index(f'"{rule_id}",')
    return SOURCE[start:SOURCE.index("\n    _r(", start) if "\n    _r(" in SOURCE[start:] else len(SOURCE)]


def test_a_related_ref_says_why():
    lines = SOURCE.splitlines()
    marked = [i for i, ln in enumerate(lines) if re.search(r"refs=\{\"[^}]*\"~", ln)]
    assert len(marked) == 3
    for i in marked:
        assert lines[i - 1].strip().startswith("#"), lines[i]
    for rid, tool in (("caps.dangerous-added", "kics"), ("secret.files-in-image", "trivy"),
                      ("add.remote-url", "checkov")):
        assert tool not in rule(rid).pragmas and tool in rule(rid).refs and "~" not in rule(rid).refs[tool]
