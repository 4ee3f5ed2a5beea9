"""Inserted nested blocks take the step of the block they go into, not the file's first one."""

from __future__ import annotations

from pathlib import Path

from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.sources.project import load_project

MIXED = """\
x-common: &common
  restart: unless-stopped
  labels:
    team: web
services:
    web:
        image: nginx:1.27
        ports:
            - "80:80"
    api:
        <<: *common
        image: example/api:1
        environment:
          MODE: prod
"""


def fixed(tmp_path: Path, text: str, rules: list[str]) -> str:
    (tmp_path / "compose.yaml").write_text(text)
    project = load_project([str(tmp_path)])
    values = {"memory": "256M", "cpus": "0.5", "memory_reservation": "128M", "cpus_reservation": "0.25"}
    out = fix_all(project, Config(), selector(rules, unsafe=True), values)
    assert not out.failed and not out.pending
    return out.changes["compose.yaml"].after


def test_a_service_without_nested_blocks_follows_its_own_step(tmp_path: Path) -> None:
    after = fixed(tmp_path, MIXED, ["limits.memory", "logging.unbounded"])
    web = after.split("    api:")[0]
    assert ("        deploy:\n"
            "            resources:\n"
            "                limits:\n") in web
    assert ("        logging:\n"
            "            driver: json-file\n"
            "            options:\n"
            '                max-size: "10m"\n') in web


def test_a_service_with_nested_blocks_follows_them(tmp_path: Path) -> None:
    after = fixed(tmp_path, MIXED, ["limits.memory"])
    api = after.split("    api:")[1]
    # environment: nests by 2 inside api, so the new block does too (api's keys stay at 8)
    assert ("        deploy:\n"
            "          resources:\n"
            "            limits:\n") in api
    assert after.startswith(MIXED.split("services:")[0])  # the 2-step part is untouched


def test_the_file_s_dominant_step_is_the_fallback(tmp_path: Path) -> None:
    from batten.fixers.yamledit import YamlDoc, detect_style

    (tmp_path / "compose.yaml").write_text("x-a:\n  k: 1\nservices:\n    web:\n        image: nginx:1.27\n"
                                           "        environment:\n            A: '1'\n")
    project = load_project([str(tmp_path)])
    doc = YamlDoc(project.compose_files[0])
    assert detect_style(doc, None).map_indent == 4  # most blocks step by 4; the first one by 2
