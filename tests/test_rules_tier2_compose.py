"""Tier 2 compose rules (the catalogue's A1-A10 rows beyond Tier 1): each fires at the line that
causes it, stays quiet on the hardened form, follows the resolved service across files (an
override file, an anchor, extends) and can be suppressed inline."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pytest

from batten.model import Severity
from tests.rulekit import at, findings, of


def y(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@dataclass
class Case:
    fires: str  # compose.yaml
    lines: list[int]
    quiet: str
    cross: dict[str, str]  # a project of several files (or anchors/extends)
    cross_at: list[tuple[str, int]]  # (file, line) of each finding in it
    config: dict | None = None
    extra: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "devices.host": Case(
        y("""
          services:
            app:
              image: alpine:3.20
              devices:
                - /dev/ttyUSB0:/dev/ttyUSB0
                - source: /dev/sda
                  target: /dev/xvda
          """), [5, 6],
        y("""
          services:
            app:
              image: alpine:3.20
              devices: []
          """),
        {"compose.yaml": "services:\n  app:\n    image: alpine:3.20\n",
         "compose.override.yaml": "services:\n  app:\n    devices:\n      - /dev/kmsg\n"},
        [("compose.override.yaml", 4)]),
    "cgroup.parent": Case(
        "services:\n  app:\n    image: alpine:3.20\n    cgroup_parent: m-executor-abcd\n", [4],
        "services:\n  app:\n    image: alpine:3.20\n",
        {"compose.yaml": y("""
            x-base: &base
              cgroup_parent: custom
            services:
              app:
                <<: *base
                image: alpine:3.20
            """)},
        [("compose.yaml", 2)]),
    "ns.shared-with-container": Case(
        "services:\n  app:\n    image: a:1\n    network_mode: service:vpn\n    ipc: container:db\n  vpn:\n"
        "    image: b:1\n", [4, 5],
        "services:\n  app:\n    image: a:1\n    network_mode: none\n    ipc: private\n    pid: host\n",
        {"base.yaml": "services:\n  base:\n    image: a:1\n    pid: service:other\n",
         "compose.yaml": "services:\n  app:\n    extends:\n      file: base.yaml\n      service: base\n"},
        [("base.yaml", 4)]),
    "mount.propagation-shared": Case(
        y("""
          services:
            app:
              image: a:1
              volumes:
                - /mnt/data:/data:rshared
                - type: bind
                  source: /srv
                  target: /srv
                  bind:
                    propagation: slave
          """), [5, 6],
        "services:\n  app:\n    image: a:1\n    volumes:\n      - /mnt/data:/data:ro,rprivate\n      - db:/db\n",
        {"compose.yaml": "services:\n  app:\n    image: a:1\n",
         "compose.override.yaml": "services:\n  app:\n    volumes: ['/mnt:/mnt:shared']\n"},
        [("compose.override.yaml", 3)]),
    "limits.ulimits": Case(
        "services:\n  app:\n    image: a:1\n", [2],
        "services:\n  app:\n    image: a:1\n    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n",
        {"compose.yaml": "services:\n  app:\n    image: a:1\n",
         "compose.override.yaml": "services:\n  app:\n    ulimits: {nproc: 512}\n  other:\n    image: b:1\n"},
        [("compose.override.yaml", 4)]),
    "network.default-bridge": Case(
        "services:\n  app:\n    image: a:1\n    network_mode: bridge\n", [4],
        # compose puts services on the project's own network, not docker0
        "services:\n  app:\n    image: a:1\n  b:\n    image: b:1\n    networks: [back]\nnetworks: {back: {}}\n",
        {"compose.yaml": "services:\n  app:\n    image: a:1\n",
         "compose.prod.yaml": "services:\n  app:\n    network_mode: default\n"},
        [("compose.prod.yaml", 3)]),
    "ports.duplicate-host": Case(
        "services:\n  a:\n    image: a:1\n    ports: ['8080:80']\n  b:\n    image: b:1\n    ports:\n"
        "      - '127.0.0.1:8080:8080'\n", [8],
        # other protocols, other addresses, profiles that never run together, unresolved variables
        "services:\n  a:\n    image: a:1\n    ports: ['127.0.0.1:53:53/udp', '10.0.0.1:80:80', '${P}:80']\n"
        "    profiles: [dev]\n  b:\n    image: b:1\n    ports: ['127.0.0.1:53:53', '10.0.0.2:80:80', '${P}:81']\n"
        "    profiles: [prod]\n",
        {"compose.yaml": "services:\n  a:\n    image: a:1\n    ports: ['9000:9000']\n  b:\n    image: b:1\n",
         "compose.override.yaml": "services:\n  b:\n    ports:\n      - target: 9000\n        published: 9000\n"},
        [("compose.override.yaml", 4)]),
    "volume.shared-between-services": Case(
        "services:\n  a:\n    image: a:1\n    volumes: [data:/data]\n  b:\n    image: b:1\n    volumes:\n"
        "      - data:/srv:ro\nvolumes: {data: {}}\n", [4, 8],
        "services:\n  a:\n    image: a:1\n    volumes: [data:/data:ro, /etc/localtime:/etc/localtime:ro]\n"
        "  b:\n    image: b:1\n    volumes: [data:/srv:ro, /etc/localtime:/etc/localtime:ro]\nvolumes: {data: {}}\n",
        {"compose.yaml": y("""
            x-vol: &vol
              volumes:
                - ./uploads:/uploads
            services:
              a:
                <<: *vol
                image: a:1
              b:
                <<: *vol
                image: b:1
            """)},
        [("compose.yaml", 3), ("compose.yaml", 3)]),
    "image.untrusted-registry": Case(
        "services:\n  a:\n    image: quay.io/acme/a:1\n  b:\n    image: nginx:1.27\n", [3],
        "services:\n  a:\n    image: ghcr.io/acme/a:1\n  b:\n    image: nginx:1.27\n  c:\n    build: .\n"
        "    image: registry.example.com/c:1\n",
        {"compose.yaml": "services:\n  a:\n    image: nginx:1.27\n",
         "compose.override.yaml": "services:\n  a:\n    image: quay.io/x/nginx:1.27\n"},
        [("compose.override.yaml", 3)],
        config={"trusted-registries": ["docker.io", "ghcr.io/acme"]},
        extra={"Dockerfile": "FROM alpine:3.20\nUSER 1\n"}),
}


def _run(tmp_path, files: dict[str, str], c: Case):
    return findings(tmp_path, {**c.extra, **files}, c.config)


@pytest.mark.parametrize("rid", sorted(CASES))
def test_fires_at_the_line_that_causes_it(tmp_path, rid):
    c = CASES[rid]
    assert [line for _p, line, _t in at(_run(tmp_path, {"compose.yaml": c.fires}, c), rid)] == c.lines


@pytest.mark.parametrize("rid", sorted(CASES))
def test_stays_quiet_on_the_hardened_form(tmp_path, rid):
    c = CASES[rid]
    assert at(_run(tmp_path, {"compose.yaml": c.quiet}, c), rid) == []


@pytest.mark.parametrize("rid", sorted(CASES))
def test_follows_the_resolved_service_across_files(tmp_path, rid):
    c = CASES[rid]
    got = sorted((p, line) for p, line, _t in at(_run(tmp_path, c.cross, c), rid))
    assert got == sorted(c.cross_at)


@pytest.mark.parametrize("rid", sorted(CASES))
def test_suppressed_inline(tmp_path, rid):
    c = CASES[rid]
    first = c.lines[0]
    lines = c.fires.splitlines(keepends=True)
    indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
    lines.insert(first - 1, f"{indent}# batten: ignore={rid} -- reviewed\n")
    fs = _run(tmp_path, {"compose.yaml": "".join(lines)}, c)
    hit = [f for f in of(fs, rid) if f.line == first + 1]
    assert hit and all(f.suppressed == f"inline: batten: ignore={rid} (reviewed)" for f in hit)


def test_disks_and_kernel_devices_are_critical(tmp_path):
    fs = findings(tmp_path, {"compose.yaml": CASES["devices.host"].fires})
    assert {f.evidence["device"]: f.severity for f in of(fs, "devices.host")} == {
        "/dev/ttyUSB0": Severity.MEDIUM, "/dev/sda": Severity.CRITICAL}


def test_no_tier2_rule_fires_on_a_hardened_service(tmp_path):
    fs = findings(tmp_path, {"compose.yaml": y("""
        services:
          app:
            image: ghcr.io/acme/app:1.2@sha256:""" + "c" * 64 + """
            ulimits: {nofile: 1024}
            volumes: [data:/data]
            ports: ["127.0.0.1:8080:8080"]
        volumes: {data: {}}
        """)}, {"trusted-registries": ["ghcr.io/acme"]})
    assert not [f for f in fs if f.rule.id in CASES]
