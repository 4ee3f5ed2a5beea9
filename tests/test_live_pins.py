"""pkg.pin-apt / pkg.pin-apk with the version an image on the engine has as a hint.

The package databases (/var/lib/dpkg/status, /lib/apk/db/installed) are hostile input like
everything else an image holds: parsed within caps, names and versions kept only when they are
plain package syntax. On the real test engine, images imported from the busybox rootfs with a
small fake package database (never pulled) give `scan --live` its hints; without an engine the
findings stay as they are.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from batten.checks.engine import run_checks
from batten.live.image_checks import pin_refs, refine_pin_findings
from batten.live.imagecontent import (
    ImageContent,
    content_from_fs,
    package_name,
    parse_apk_installed,
    parse_dpkg_status,
)
from batten.live.imagefs import MAX_KEPT_BYTES, MAX_PACKAGE_DB_BYTES, read_export
from tests import rulekit
from tests.test_live_image import chunks, d, export, f, import_image, layer_tar, rootfs_with

DPKG_STATUS = b"""\
Package: curl
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 7.88.1-10+deb12u5
Description: command line tool for transferring data with URL syntax
 curl is a command line tool for transferring data with URL syntax.
 .
 Package: evil
 Version: 6.6.6

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u4

Package: wget
Status: deinstall ok config-files
Version: 1.21.3-1+b2

Package: ca-certificates
Status: install ok installed
Version: 20230311
"""

APK_INSTALLED = b"""\
C:Q1abc=
P:curl
V:8.5.0-r0
A:x86_64
T:URL retrieval utility and library

P:busybox
V:1.36.1-r15
"""


# ---------------------------------------------------------------------- parsers
def test_dpkg_status_gives_installed_versions_only() -> None:
    got = parse_dpkg_status(DPKG_STATUS)
    # continuation lines are not records; a removed package (config-files) is not installed
    assert got == {"curl": "7.88.1-10+deb12u5", "libc6": "2.36-9+deb12u4", "ca-certificates": "20230311"}
    assert parse_dpkg_status(DPKG_STATUS.replace(b"\n", b"\r\n"))["curl"] == "7.88.1-10+deb12u5"
    assert parse_dpkg_status(b"Package: x\nVersion: 1:2.0~rc1-3\nStatus: install ok installed\n") == {
        "x": "1:2.0~rc1-3"}


def test_apk_database_gives_versions() -> None:
    assert parse_apk_installed(APK_INSTALLED) == {"curl": "8.5.0-r0", "busybox": "1.36.1-r15"}


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"\x00\xff\xfe" * 5000,
        b"\n\n\n\n",
        b"Package:\nVersion:\nStatus: install ok installed\n",
        b"Package: curl\nStatus: install ok installed\nVersion: 1.0\x1b[31mred\n",  # an escape sequence
        b"Package: curl\x1b]0;title\x07\nStatus: install ok installed\nVersion: 1.0\n",
        b"Package: curl\nStatus: install ok installed\nVersion: 1.0 `rm -rf /`\n",
        b"Package: curl\nStatus: install ok installed\nVersion: " + b"9" * 5000 + b"\n",
        b"Package: ../../etc\nStatus: install ok installed\nVersion: 1\n",
        b"Package: x\nStatus: install ok installed\nVersion: 1\n" + b"Field: y\n" * 100_000,
        b"P:curl\nV:1.0\x1b[2J\n",
        b"P:curl;reboot\nV:1.0\n",
        b"P:\nV:\n",
    ],
    ids=["none", "empty", "binary", "blank", "empty-fields", "csi", "osc", "backticks", "long-version",
         "path", "huge-record", "apk-csi", "apk-name", "apk-empty"],
)
def test_garbage_gives_no_package_and_no_crash(data: bytes | None) -> None:
    for parse in (parse_dpkg_status, parse_apk_installed):
        got = parse(data)
        # whatever is kept is plain package syntax: nothing to escape, nothing long
        assert all(re.fullmatch(r"[A-Za-z0-9_.+:~-]{1,140}", x) for kv in got.items() for x in kv), got
        assert "curl" not in got  # every record naming curl above is malformed


def test_parsers_are_bounded_in_count_and_time() -> None:
    import time

    many = b"".join(b"Package: p%d\nStatus: install ok installed\nVersion: 1.%d\n\n" % (i, i)
                    for i in range(60_000))
    started = time.perf_counter()
    got = parse_dpkg_status(many)
    assert len(got) == 20_000 and time.perf_counter() - started < 5
    assert len(parse_apk_installed(b"".join(b"P:p%d\nV:1.%d\n\n" % (i, i) for i in range(60_000)))) == 20_000


def test_package_names_of_install_operands() -> None:
    assert package_name("apt", "curl:amd64") == "curl"
    assert package_name("apt", "python3-pip/bookworm-backports") == "python3-pip"
    assert package_name("apt", "lib*") is None and package_name("apt", "./x.deb") is None
    assert package_name("apk", "py3-pip") == "py3-pip" and package_name("apk", "a b") is None


# ---------------------------------------------------------------------- reading the export
def test_package_databases_are_read_from_the_export_within_caps() -> None:
    layers = [
        layer_tar([d("var"), d("var/lib"), d("var/lib/dpkg"), f("var/lib/dpkg/status", b"Package: old\n"
                                                                   b"Status: install ok installed\nVersion: 1\n")]),
        layer_tar([f("var/lib/dpkg/status", DPKG_STATUS), d("lib"), d("lib/apk"), d("lib/apk/db"),
                   f("lib/apk/db/installed", APK_INSTALLED)]),
    ]
    content = content_from_fs(read_export(chunks(export(layers))), "sha256:" + "a" * 64)
    assert content.packages["apt"]["curl"] == "7.88.1-10+deb12u5" and "old" not in content.packages["apt"]
    assert content.packages["apk"] == {"curl": "8.5.0-r0", "busybox": "1.36.1-r15"}
    assert ImageContent.from_dict(json.loads(json.dumps(content.to_dict()))).packages == content.packages
    # a database above its cap is not read (noted), and then no stale version from a lower layer stays
    big = DPKG_STATUS + b"\nX: " + b"x" * (MAX_PACKAGE_DB_BYTES + 1) + b"\n"
    layers[1] = layer_tar([f("var/lib/dpkg/status", big)])
    content = content_from_fs(read_export(chunks(export(layers), 1 << 20)), "sha256:" + "b" * 64)
    assert content.packages == {} and any("/var/lib/dpkg/status not read" in n for n in content.notes)


def test_a_manifest_and_config_longer_than_one_block_are_read_whole() -> None:
    """manifest.json and the image config arrive through a raw stream: one read() may return
    only the 512 bytes peeked, and a cut manifest would lose the image (many layers, long env)."""
    layers = [layer_tar([f(f"l{i}", b"x")]) for i in range(12)]
    config = {"Env": [f"V{i}={'x' * 60}" for i in range(40)]}
    fs = read_export(chunks(export(layers, config=config), 300))
    assert fs.layers == 12 and len(fs.config["config"]["Env"]) == 40


def test_content_kept_over_all_layers_is_capped() -> None:
    one = b"Package: p\nStatus: install ok installed\nVersion: 1\n" + b"#" * (MAX_PACKAGE_DB_BYTES - 100)
    count = MAX_KEPT_BYTES // len(one) + 2
    layers = [layer_tar([f("var/lib/dpkg/status", one)]) for _ in range(count)]
    fs = read_export(chunks(export(layers), 1 << 20))
    assert any("not read" in n for n in fs.notes)
    assert sum(len(c) for c in fs.contents.values()) <= MAX_KEPT_BYTES


# ---------------------------------------------------------------------- the hint
PINS = {"compose.yaml": "services:\n  app:\n    build: ./app\n    image: example/app:1\n",
        "app/Dockerfile": "FROM debian:12 AS base\nRUN apt-get install -y curl wget\n"
                          "FROM base AS mid\nRUN apt-get install -y jq\nFROM debian:12 AS other\n"
                          "RUN apt-get install -y curl\nFROM mid\n",
        "pyproject.toml": '[tool.batten]\nselect = ["*", "pkg.pin-apt"]\n'}


def _content(packages: dict[str, dict[str, str]]) -> ImageContent:
    return ImageContent(image_id="sha256:" + "c" * 64, packages=packages)


def test_the_hint_names_the_built_image_first_then_the_base(tmp_path: Path) -> None:
    from batten.config import config_for

    project = rulekit.project(tmp_path, PINS)
    config = config_for([str(tmp_path)])
    findings = [x for x in run_checks(project, config) if x.rule_id == "pkg.pin-apt"]
    assert len(findings) == 3
    # the service builds the final stage (FROM mid, FROM base): those are in it, "other" is not
    assert pin_refs(findings, project) == ["example/app:1", "debian:12"]
    before = [x.message for x in findings]
    refine_pin_findings(findings, {}, project)  # no image read: nothing changes
    assert [x.message for x in findings] == before
    built = _content({"apt": {"curl": "7.88.1-10+deb12u5", "jq": "1.6-2.1"}})
    base = _content({"apt": {"curl": "7.88.1-10+deb12u2", "libc6": "2.36"}})
    refine_pin_findings(findings, {"example/app:1": built, "debian:12": base}, project)
    by_line = {x.line: x for x in findings}
    assert by_line[2].message.endswith(
        "; image example/app:1 has curl=7.88.1-10+deb12u5: pin `curl=7.88.1-10+deb12u5`")
    assert by_line[2].evidence["installed"] == {"curl": "7.88.1-10+deb12u5"}
    assert "image example/app:1 has jq=1.6-2.1" in by_line[4].message
    # the stage the service does not build: only its base image speaks for it
    assert by_line[6].message.endswith("; image debian:12 has curl=7.88.1-10+deb12u2: pin `curl=7.88.1-10+deb12u2`")


# ---------------------------------------------------------------------- on the real engine
DEBIANISH = "batten-test/debianish:1"
ALPINEISH = "batten-test/built-alpineish:1"


@pytest.fixture(scope="module")
def pin_images(docker_engine: Any) -> dict[str, str]:
    debianish = rootfs_with([d("var"), d("var/lib"), d("var/lib/dpkg"), f("var/lib/dpkg/status", DPKG_STATUS)])
    alpineish = rootfs_with([d("lib"), d("lib/apk"), d("lib/apk/db"), f("lib/apk/db/installed", APK_INSTALLED)])
    return {
        DEBIANISH: import_image(docker_engine, DEBIANISH, debianish, ['CMD ["/bin/sh"]']),
        ALPINEISH: import_image(docker_engine, ALPINEISH, alpineish, ['CMD ["/bin/sh"]']),
    }


@pytest.mark.engine
def test_scan_live_names_the_versions_the_images_have(engine: Any, pin_images: dict[str, str],
                                                      tmp_path: Path) -> None:
    rulekit.write(tmp_path, {
        "pyproject.toml": '[tool.batten]\nselect = ["*", "pkg.pin-apt"]\n',
        # apt: the base image on the engine holds the database
        "deb/Dockerfile": f"FROM {DEBIANISH}\nRUN apt-get install -y curl ca-certificates nothere\n",
        # apk: the base (busybox) has none, the service's built image does
        "alp/Dockerfile": "FROM batten-test/busybox:1\nRUN apk add curl\n",
        "compose.yaml": f"services:\n  alp:\n    build: ./alp\n    image: {ALPINEISH}\n",
    })
    env = {**os.environ, "BATTEN_CACHE_DIR": str(tmp_path / "cache")}

    def batten(*args: str) -> Any:
        return subprocess.run([sys.executable, "-m", "batten", *args], capture_output=True, text=True,
                              timeout=120, env=env)

    static = batten("scan", str(tmp_path), "--format", "json", "--fail-on", "never")
    live = batten("scan", str(tmp_path), "--live", "--host", engine.url, "--format", "json", "--fail-on", "never")
    assert static.returncode == 0 and live.returncode == 0, live.stderr

    def pins(doc: str) -> dict[str, dict[str, Any]]:
        return {x["path"]: x for x in json.loads(doc)["findings"] if x["rule"].startswith("pkg.pin-")}

    before, after = pins(static.stdout), pins(live.stdout)
    assert set(before) == set(after) == {"deb/Dockerfile", "alp/Dockerfile"}
    assert "has" not in before["deb/Dockerfile"]["message"]  # without the engine: as it was
    deb = after["deb/Dockerfile"]["message"]
    assert deb.endswith(f"; image {DEBIANISH} has curl=7.88.1-10+deb12u5, ca-certificates=20230311: "
                        "pin `curl=7.88.1-10+deb12u5 ca-certificates=20230311`"), deb
    assert after["alp/Dockerfile"]["message"].endswith(
        f"; image {ALPINEISH} has curl=8.5.0-r0: pin `curl=8.5.0-r0`")
    assert "has" not in before["alp/Dockerfile"]["message"]
