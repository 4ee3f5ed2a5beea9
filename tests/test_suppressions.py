"""Inline suppressions (app/checks/suppress.py, applied in app/checks/engine.py): batten's own
pragmas and those of hadolint, checkov, Trivy and KICS, the latter honoured only for the batten
rules that map onto the tool's ids. Suppressed findings stay in the results, marked."""

from __future__ import annotations

import pytest

from batten.checks.suppress import parse_pragmas
from batten.sources.text import SourceText
from tests.rulekit import active, compose, dockerfile, ids, json_findings, of

PINNED = "alpine:3.20@sha256:" + "a" * 64
IMG = "busybox:1.36@sha256:" + "b" * 64


def only(fs, rule_id):
    (f,) = of(fs, rule_id)
    return f


# ---------------------------------------------------------------------------------------------
# batten pragmas
# ---------------------------------------------------------------------------------------------


class TestBattenDockerfile:
    def test_line_before_with_reason(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# batten: ignore=pkg.apk-no-cache -- tiny layer\nRUN apk add curl\nUSER 1\n")
        f = only(fs, "pkg.apk-no-cache")
        assert (f.line, f.suppressed) == (3, "inline: batten: ignore=pkg.apk-no-cache (tiny layer)")
        assert "pkg.apk-no-cache" not in ids(fs)

    def test_several_ids_and_globs(self, tmp_path):
        fs = dockerfile(tmp_path, """
            FROM debian:12-slim
            # batten: ignore=pkg.apt-*, tls.disabled
            RUN apt-get update && apt-get install -y curl && curl -k https://x
            USER 1
            """)
        for rid in ("pkg.apt-no-recommends", "pkg.apt-lists-cleanup", "tls.disabled"):
            assert only(fs, rid).suppressed == "inline: batten: ignore=pkg.apt-*,tls.disabled"

    def test_finding_on_a_continuation_line(self, tmp_path):
        fs = dockerfile(tmp_path, f"""
            FROM {PINNED}
            # batten: ignore=pkg.apk-no-cache
            RUN set -eux; \\
                echo hi; \\
                apk add curl
            USER 1
            """)
        f = only(fs, "pkg.apk-no-cache")
        assert f.line == 5
        assert f.suppressed is not None

    def test_comment_block_between_pragma_and_instruction(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# batten: ignore=pkg.apk-no-cache\n# why: base image\nRUN apk add curl\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is not None

    def test_blank_line_breaks_the_link(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# batten: ignore=pkg.apk-no-cache\n\nRUN apk add curl\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is None

    def test_other_rule_is_not_suppressed(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# batten: ignore=pkg.pip-no-cache\nRUN apk add curl\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is None

    def test_shell_comment_after_run_is_not_a_pragma(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\nRUN apk add curl # batten: ignore=pkg.apk-no-cache\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is None

    def test_absence_findings_on_the_from_line(self, tmp_path):
        fs = dockerfile(tmp_path, f"""
            FROM golang:1.22 AS build
            RUN go build .
            # batten: ignore=user.missing,health.missing-dockerfile -- sidecar, probed by k8s
            FROM {PINNED} AS run
            CMD ["/app"]
            """)
        for rid in ("user.missing", "health.missing-dockerfile"):
            f = only(fs, rid)
            assert (f.line, f.target) == (4, "run")
            assert f.suppressed == ("inline: batten: ignore=user.missing,health.missing-dockerfile "
                                    "(sidecar, probed by k8s)")

    def test_from_line_pragma_covers_findings_inside_the_stage(self, tmp_path):
        # a stage's FROM is an anchor of every finding about that stage
        fs = dockerfile(tmp_path, f"# batten: ignore=pkg.*\nFROM {PINNED}\nRUN apk add curl\nRUN pip install x\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is not None
        assert only(fs, "pkg.pip-no-cache").suppressed is not None

    def test_ignore_file(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\nRUN apk add curl\nRUN apk add jq\nUSER 1\n# batten: ignore-file=pkg.apk-no-cache\n")
        assert [f.suppressed for f in of(fs, "pkg.apk-no-cache")] == ["inline: batten: ignore-file=pkg.apk-no-cache"] * 2

    def test_all(self, tmp_path):
        fs = dockerfile(tmp_path, "# batten: ignore-file=all\nFROM python:3.12\nRUN pip install x\n")
        assert [f.rule.id for f in active(fs) if not f.rule.id.startswith("supply.")] == []

    def test_json_marks_suppressed_findings(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# batten: ignore=pkg.apk-no-cache\nRUN apk add curl\nRUN apk add jq\n")
        got = sorted((d["line"], d["suppressed"]) for d in json_findings(fs, "pkg.apk-no-cache"))
        assert got == [(3, "inline: batten: ignore=pkg.apk-no-cache"), (4, None)]


class TestBattenCompose:
    def test_pragma_above_the_service_key_covers_absence_findings(self, tmp_path):
        fs = compose(tmp_path, f"services:\n  # batten: ignore=limits.*, caps.not-dropped\n  app:\n    image: {IMG}\n")
        for rid in ("limits.memory", "limits.cpu", "limits.pids", "limits.reservations", "caps.not-dropped"):
            f = only(fs, rid)
            assert (f.line, f.suppressed is not None) == (3, True), rid
        assert only(fs, "fs.rootfs-writable").suppressed is None

    def test_trailing_pragma_on_the_key_line(self, tmp_path):
        fs = compose(tmp_path, f"services:\n  app:  # batten: ignore=fs.rootfs-writable -- writes to /\n    image: {IMG}\n")
        assert only(fs, "fs.rootfs-writable").suppressed == "inline: batten: ignore=fs.rootfs-writable (writes to /)"

    def test_pragma_above_a_value(self, tmp_path):
        fs = compose(tmp_path, f"services:\n  app:\n    image: {IMG}\n    # batten: ignore=priv.privileged\n"
                               "    privileged: true\n    cap_add: [SYS_ADMIN]\n")
        assert only(fs, "priv.privileged").suppressed is not None
        assert only(fs, "caps.dangerous-added").suppressed is None

    def test_pragma_above_the_key_of_a_value_that_points_at_the_key(self, tmp_path):
        # caps.not-dropped with a partial cap_drop points at the cap_drop key, also an anchor: the service key
        fs = compose(tmp_path, f"services:\n  app:\n    image: {IMG}\n    # batten: ignore=caps.not-dropped\n"
                               "    cap_drop: [NET_RAW]\n")
        f = only(fs, "caps.not-dropped")
        assert (f.line, f.suppressed is not None) == (5, True)

    def test_ignore_file(self, tmp_path):
        fs = compose(tmp_path, f"# batten: ignore-file=logging.unbounded\nservices:\n  a:\n    image: {IMG}\n"
                               f"  b:\n    image: {IMG}\n")
        assert [f.suppressed is not None for f in of(fs, "logging.unbounded")] == [True, True]


# ---------------------------------------------------------------------------------------------
# other tools' pragmas
# ---------------------------------------------------------------------------------------------


class TestHadolint:
    def test_line_before(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# hadolint ignore=DL3019\nRUN apk add curl\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed == "inline: hadolint ignore=DL3019"

    def test_trailing_comment_after_the_ids(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# hadolint ignore=DL3019 # cache is tiny\nRUN apk add curl\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is not None

    def test_global(self, tmp_path):
        fs = dockerfile(tmp_path, f"# hadolint global ignore=DL3002\nFROM {PINNED}\nUSER root\n")
        assert only(fs, "user.final-root").suppressed == "inline: hadolint ignore=DL3002"

    def test_only_mapped_rules(self, tmp_path):
        # DL3008 (pin apt versions) maps to no Tier 1 rule; DL3015 to pkg.apt-no-recommends
        fs = dockerfile(tmp_path, """
            FROM debian:12-slim
            # hadolint ignore=DL3008
            RUN apt-get update && apt-get install -y curl
            # hadolint ignore=DL3008,DL3015
            RUN apt-get install -y jq
            USER 1
            """)
        assert [(f.line, f.suppressed) for f in of(fs, "pkg.apt-no-recommends")] == \
            [(3, None), (5, "inline: hadolint ignore=DL3008,DL3015")]
        assert [f.suppressed for f in of(fs, "pkg.apt-lists-cleanup")] == [None, None]


class TestCheckov:
    def test_anywhere_in_the_file(self, tmp_path):
        fs = dockerfile(tmp_path, "FROM python:3.12-slim\nCMD [\"python\"]\n#checkov:skip=CKV_DOCKER_3:runs as nobody\n")
        assert only(fs, "user.missing").suppressed == "inline: checkov:skip=CKV_DOCKER_3 (runs as nobody)"
        assert only(fs, "health.missing-dockerfile").suppressed is None

    def test_bridgecrew_prefix_and_healthcheck(self, tmp_path):
        fs = dockerfile(tmp_path, f"# bridgecrew:skip=CKV_DOCKER_2:k8s probes\nFROM {PINNED}\nUSER 1\n")
        assert only(fs, "health.missing-dockerfile").suppressed == "inline: checkov:skip=CKV_DOCKER_2 (k8s probes)"


class TestTrivy:
    @pytest.mark.parametrize("tid", ["DS-0002", "AVD-DS-0002", "DS002"])
    def test_user_missing_on_the_from_line(self, tmp_path, tid):
        fs = dockerfile(tmp_path, f"# trivy:ignore:{tid}\nFROM python:3.12-slim\n")
        assert only(fs, "user.missing").suppressed == f"inline: trivy:ignore:{tid}"

    def test_final_root_on_the_user_line(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# trivy:ignore:DS-0002\nUSER root\n")
        assert only(fs, "user.final-root").suppressed is not None

    def test_unmapped_id(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# trivy:ignore:DS-9999\nUSER root\n")
        assert only(fs, "user.final-root").suppressed is None


class TestKics:
    def test_ignore_line(self, tmp_path):
        fs = compose(tmp_path, f"services:\n  a:\n    image: {IMG}\n    # kics-scan ignore-line\n    privileged: true\n")
        assert only(fs, "priv.privileged").suppressed == "inline: kics-scan ignore-line"

    def test_ignore_block_covers_only_mapped_rules(self, tmp_path):
        fs = compose(tmp_path, f"""
            services:
              a:
                image: {IMG}
                # kics-scan ignore-block
                security_opt:
                  - seccomp:unconfined
                  - apparmor:unconfined
            """)
        assert only(fs, "seccomp.unconfined").suppressed == "inline: kics-scan ignore-block"  # KICS 404fde2c
        assert only(fs, "priv.no-new-privileges").suppressed is not None  # KICS 27fcc7d6
        assert only(fs, "apparmor.unconfined").suppressed is None  # KICS has no compose AppArmor query

    def test_ignore_file_level_only_mapped(self, tmp_path):
        fs = compose(tmp_path, f"# kics-scan ignore\nservices:\n  a:\n    image: {IMG}\n    privileged: true\n")
        assert only(fs, "priv.privileged").suppressed == "inline: kics-scan ignore"
        assert only(fs, "limits.memory").suppressed is not None
        # rules KICS does not have stay active
        for rid in ("fs.rootfs-writable", "compose.user-unset", "logging.unbounded"):
            assert only(fs, rid).suppressed is None, rid

    def test_disable_by_uuid(self, tmp_path):
        fs = compose(tmp_path, "# kics-scan disable=ae5b6871-7f45-42e0-bb4c-ab300c4d2026,bb9ac4f7-e13b-423d-a010-c74a1bfbe492\n"
                               f"services:\n  a:\n    image: {IMG}\n    privileged: true\n")
        assert only(fs, "priv.privileged").suppressed is not None
        assert only(fs, "limits.memory").suppressed is not None
        assert only(fs, "limits.cpu").suppressed is None

    def test_dockerfile_ignore_line(self, tmp_path):
        fs = dockerfile(tmp_path, f"FROM {PINNED}\n# kics-scan ignore-line\nRUN useradd app && apk add x\nUSER 1\n")
        assert only(fs, "pkg.apk-no-cache").suppressed is not None
        assert only(fs, "user.unfixed-id").suppressed is None  # no KICS query for it


def test_parse_pragmas_unit():
    src = SourceText.from_text("compose.yaml", "# kics-scan disable=ae5b6871\nservices:\n  a:  # batten: ignore=x.*\n")
    fp = parse_pragmas(src, "compose")
    assert fp.match("priv.privileged", ()) is not None
    assert fp.match("x.y", (3,)) is not None
    assert fp.match("x.y", (2,)) is None
    assert fp.match("limits.cpu", (3,)) is None


# ---------------------------------------------------------------------------------------------
# every Tier 1 rule: fires, then each way of suppressing it keeps it in the results, marked
# ---------------------------------------------------------------------------------------------

_SVC = "services:\n  app:\n    image: busybox:1.36\n"
_BUILT = "services:\n  app:\n    build: .\n"


def _co(extra: str = "", head: str = _SVC) -> dict[str, str]:
    return {"compose.yaml": head + extra}


RULE_CASES: dict[str, dict[str, str]] = {
    "user.missing": {"Dockerfile": "FROM python:3.12-slim\n"},
    "user.final-root": {"Dockerfile": "FROM alpine:3.20\nUSER root\n"},
    "user.unfixed-id": {"Dockerfile": "FROM alpine:3.20\nRUN adduser -D app\nUSER 1\n"},
    "user.numeric": {"Dockerfile": "FROM alpine:3.20\nUSER app\n"},
    "user.sudo": {"Dockerfile": "FROM alpine:3.20\nRUN sudo true\n"},
    "compose.user-root": _co("    user: root\n"),
    "compose.user-unset": _co(),
    "priv.privileged": _co("    privileged: true\n"),
    "caps.not-dropped": _co(),
    "caps.dangerous-added": _co("    cap_add:\n      - SYS_ADMIN\n"),
    "priv.no-new-privileges": _co(),
    "seccomp.unconfined": _co("    security_opt:\n      - seccomp:unconfined\n"),
    "apparmor.unconfined": _co("    security_opt:\n      - apparmor:unconfined\n"),
    "selinux.disabled": _co("    security_opt:\n      - label:disable\n"),
    "fs.rootfs-writable": _co(),
    "fs.tmpfs-noexec": _co("    tmpfs:\n      - /tmp\n"),
    "mount.docker-socket": _co("    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"),
    "mount.sensitive-host-path": _co("    volumes:\n      - /etc:/host/etc\n"),
    "ns.host-network": _co("    network_mode: host\n"),
    "ns.host-pid": _co("    pid: host\n"),
    "ns.host-ipc": _co("    ipc: host\n"),
    "ns.host-uts": _co("    uts: host\n"),
    "ns.host-userns": _co("    userns_mode: host\n"),
    "limits.memory": _co(),
    "limits.cpu": _co(),
    "limits.pids": _co(),
    "limits.reservations": _co(),
    "ports.bind-all-interfaces": _co("    ports:\n      - \"8080:80\"\n"),
    "ports.privileged": _co("    ports:\n      - \"127.0.0.1:80:80\"\n"),
    "ports.ssh-exposed": {"Dockerfile": "FROM alpine:3.20\nEXPOSE 22\n"},
    "network.not-isolated": _co("    ports:\n      - \"127.0.0.1:8080:80\"\n  db:\n    image: busybox:1.36\n"),
    "secret.arg-env": {"Dockerfile": "FROM alpine:3.20\nARG NPM_TOKEN\n"},
    "secret.value-hardcoded": _co("    environment:\n      DB_PASSWORD: hunter2\n"),
    "secret.files-in-image": {"Dockerfile": "FROM alpine:3.20\nCOPY . /app\n", ".env": "A=1\n"},
    "health.missing-dockerfile": {"Dockerfile": "FROM alpine:3.20\n"},
    "health.missing-compose": _co(),
    "image.latest": {"Dockerfile": "FROM alpine:latest\n"},
    "image.untagged": _co("", head="services:\n  app:\n    image: redis\n"),
    "image.not-digest-pinned": {"Dockerfile": "FROM alpine:3.20\n"},
    "image.not-minimal": {"Dockerfile": "FROM python:3.12\n"},
    "pkg.apt-no-recommends": {"Dockerfile": "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\n"},
    "pkg.apt-lists-cleanup": {"Dockerfile": "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\n"},
    "pkg.apk-no-cache": {"Dockerfile": "FROM alpine:3.20\nRUN apk add curl\n"},
    "pkg.pip-no-cache": {"Dockerfile": "FROM python:3.12-slim\nRUN pip install requests\n"},
    "pkg.unverified": {"Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache --allow-untrusted x\n"},
    "tls.disabled": {"Dockerfile": "FROM alpine:3.20\nRUN wget --no-check-certificate https://example.com/x\n"},
    "add.use-copy": {"Dockerfile": "FROM alpine:3.20\nADD conf /etc/conf\n"},
    "add.remote-url": {"Dockerfile": "FROM alpine:3.20\nADD https://example.com/x /x\n"},
    "cmd.json-form": {"Dockerfile": "FROM alpine:3.20\nCMD run --serve\n"},
    "logging.disabled": _co("    logging:\n      driver: none\n"),
    "logging.unbounded": _co(),
    "restart.policy": _co("    restart: on-failure:10\n"),  # Tier 2, static
    "supply.no-vuln-scan": {"Dockerfile": "FROM alpine:3.20\n", ".gitlab-ci.yml": "build:\n  script: [make]\n"},
    "supply.no-sbom": {"Dockerfile": "FROM alpine:3.20\n", ".gitlab-ci.yml": "build:\n  script: [make]\n"},
    "supply.no-provenance": {"Dockerfile": "FROM alpine:3.20\n", ".gitlab-ci.yml": "build:\n  script: [make]\n"},
    "supply.no-signing": {"Dockerfile": "FROM alpine:3.20\n", ".gitlab-ci.yml": "build:\n  script: [make]\n"},
    "parse.error": {"Dockerfile": "FROM alpine:3.20\nFOO bar\n"},
    # Tier 2
    "user.useradd-sparse-log": {"Dockerfile": "FROM debian:12\nRUN useradd -u 1000000 app\n"},
    "user.chpasswd": {"Dockerfile": "FROM debian:12\nRUN echo 'a:b' | chpasswd\n"},
    "ports.invalid": {"Dockerfile": "FROM alpine:3.20\nEXPOSE 80/TCP\n"},
    "health.multiple": {"Dockerfile": "FROM alpine:3.20\nHEALTHCHECK CMD a\nHEALTHCHECK CMD b\n"},
    "image.platform-flag": {"Dockerfile": "FROM --platform=linux/amd64 alpine:3.20\n"},
    "image.untrusted-registry": {"Dockerfile": "FROM quay.io/x/y:1\n"},
    "pkg.apt-yes": {"Dockerfile": "FROM debian:12\nRUN apt-get install curl\n"},
    "pkg.apt-not-apt-get": {"Dockerfile": "FROM debian:12\nRUN apt install -y curl\n"},
    "pkg.yum-yes": {"Dockerfile": "FROM centos:7\nRUN yum install x\n"},
    "pkg.dnf-yes": {"Dockerfile": "FROM fedora:40\nRUN dnf install x\n"},
    "pkg.zypper-yes": {"Dockerfile": "FROM opensuse/leap:15\nRUN zypper in x\n"},
    "pkg.yum-clean": {"Dockerfile": "FROM centos:7\nRUN yum -y install x\n"},
    "pkg.dnf-clean": {"Dockerfile": "FROM fedora:40\nRUN dnf -y install x\n"},
    "pkg.microdnf-clean": {"Dockerfile": "FROM fedora:40\nRUN microdnf install x\n"},
    "pkg.zypper-clean": {"Dockerfile": "FROM opensuse/leap:15\nRUN zypper -n in x\n"},
    "pkg.yarn-clean": {"Dockerfile": "FROM node:20\nRUN yarn install\n"},
    "pkg.update-alone": {"Dockerfile": "FROM debian:12\nRUN apt-get update\n"},
    "pkg.dist-upgrade": {"Dockerfile": "FROM debian:12\nRUN apt-get dist-upgrade -y\n"},
    "pkg.pin-apt": {"Dockerfile": "FROM debian:12\nRUN apt-get install -y curl\n"},
    "pkg.pin-apk": {"Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache curl\n"},
    "pkg.pin-pip": {"Dockerfile": "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n"},
    "pkg.pin-npm": {"Dockerfile": "FROM node:20\nRUN npm install -g pnpm\n"},
    "pkg.pin-gem": {"Dockerfile": "FROM ruby:3.3\nRUN gem install rails\n"},
    "pkg.pin-go": {"Dockerfile": "FROM golang:1.22\nRUN go install example.com/x@latest\n"},
    "pkg.pin-rpm": {"Dockerfile": "FROM fedora:40\nRUN dnf -y install x && dnf clean all\n"},
    "shell.pipefail": {"Dockerfile": "FROM debian:12\nRUN curl -fsSL https://x | sh\n"},
    "devices.host": _co("    devices:\n      - /dev/sda\n"),
    "cgroup.parent": _co("    cgroup_parent: custom\n"),
    "ns.shared-with-container": _co("    network_mode: service:db\n  db:\n    image: busybox:1.36\n"),
    "mount.propagation-shared": _co("    volumes:\n      - /mnt:/mnt:rshared\n"),
    "limits.ulimits": _co(),
    "network.default-bridge": _co("    network_mode: bridge\n"),
    "ports.duplicate-host": _co("    ports: ['8080:80']\n  db:\n    image: busybox:1.36\n    ports: ['8080:81']\n"),
    "volume.shared-between-services": _co("    volumes: [data:/d]\n  db:\n    image: busybox:1.36\n    volumes: [data:/e]\n"
                                          "volumes: {data: {}}\n"),
    "compose.invalid": _co("    read-only: true\n"),
    "compose.include-unread": _co(head="include:\n  - https://example.invalid/compose.yaml\n" + _SVC),
}
# rules that run only with a setting: the base config of their case
RULE_CONFIG: dict[str, dict] = {
    "image.untrusted-registry": {"trusted-registries": ["docker.io"]},
    "pkg.pin-apt": {"select": ["*", "pkg.pin-apt"]},
}


def test_every_static_tier1_rule_has_a_case():
    from batten.checks.catalogue import all_rules

    static = {r.id for r in all_rules() if r.applies & {"DF", "CO", "PR"}}
    assert static == set(RULE_CASES)


def _scan_all(root, files, config=None):
    from tests.rulekit import findings as scan

    return scan(root, files, config)


def _with_line_before(text: str, line: int, pragma: str) -> str:
    lines_ = text.split("\n")
    target = lines_[line - 1]
    indent = target[: len(target) - len(target.lstrip())]
    lines_.insert(line - 1, indent + pragma)
    return "\n".join(lines_)


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fires_and_every_suppression_keeps_it_marked(tmp_path, rule_id):
    files = RULE_CASES[rule_id]
    base = RULE_CONFIG.get(rule_id, {})

    def _scan(root, files, config=None):
        return _scan_all(root, files, {**base, **(config or {})})

    fs = _scan(tmp_path / "plain", files)
    hits = of(fs, rule_id)
    assert hits, f"{rule_id} does not fire on its case"
    assert all(f.suppressed is None for f in hits)
    first = hits[0]
    path, line = first.path, first.line

    # config per-path ignore, with its reason
    cfg = {"per-path-ignores": [{"paths": [path], "rules": [rule_id], "reason": "accepted risk #7"}]}
    fs = _scan(tmp_path / "config", files, cfg)
    assert [f.suppressed for f in of(fs, rule_id) if f.path == path] == \
        ["config: accepted risk #7"] * len([h for h in hits if h.path == path])
    assert all(d["suppressed"] == "config: accepted risk #7" for d in json_findings(fs, rule_id) if d["path"] == path)

    if rule_id == "parse.error":
        # a file batten cannot read cannot hold a pragma it trusts: only the config suppresses it
        fs = _scan(tmp_path / "file", {**files, path: f"# batten: ignore-file={rule_id}\n" + files[path]})
        assert all(f.suppressed is None for f in of(fs, rule_id))
        return

    # ignore-file anywhere in the file
    fs = _scan(tmp_path / "file", {**files, path: f"# batten: ignore-file={rule_id}\n" + files[path]})
    in_file = [f for f in of(fs, rule_id) if f.path == path]
    assert in_file and all(f.suppressed == f"inline: batten: ignore-file={rule_id}" for f in in_file)

    if rule_id.startswith("supply."):
        # project findings sit on line 1 of the first CI file (with none, on no file): they have
        # no line of their own, so ignore-file or the config is how to accept them
        return

    # line before the finding (the FROM line / service key for findings about something missing)
    text = _with_line_before(files[path], line, f"# batten: ignore={rule_id} -- reviewed")
    fs = _scan(tmp_path / "line", {**files, path: text})
    moved = [f for f in of(fs, rule_id) if f.path == path and f.line == line + 1 and f.target == first.target]
    assert moved and moved[0].suppressed == f"inline: batten: ignore={rule_id} (reviewed)"
    (d,) = [d for d in json_findings(fs, rule_id) if d["line"] == line + 1 and d["target"] == first.target][:1]
    assert d["suppressed"] == f"inline: batten: ignore={rule_id} (reviewed)"
