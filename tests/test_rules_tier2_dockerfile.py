"""Tier 2 Dockerfile rules (the catalogue's A1-A10 rows beyond Tier 1): each fires on the weak
form at the line that causes it, stays quiet on the hardened one, follows multi-stage semantics
(which stages ship, which stage an instruction belongs to) and can be suppressed inline, with
batten's own pragma and with the other tool's where the rule maps onto one."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from batten.checks.catalogue import RULES
from batten.model import Severity
from tests.rulekit import at, dockerfile, of

B = "FROM alpine:3.20@sha256:" + "a" * 64 + "\n"  # a pinned base: no image findings to wade through
D = "FROM debian:12@sha256:" + "b" * 64 + "\n"
TAIL = "USER 10001:10001\n"


@dataclass
class Case:
    fires: str  # Dockerfile
    lines: list[int]  # where the rule fires
    quiet: str  # the hardened form: the rule says nothing
    multi: str  # a multi-stage file
    multi_lines: list[int]
    config: dict | None = None


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CASES: dict[str, Case] = {
    "user.useradd-sparse-log": Case(
        D + "RUN useradd -u 1000000 app\n" + TAIL, [2],
        D + "RUN useradd -l -u 1000000 app && useradd -u 10001 small\n" + TAIL,
        # only the stage that ships counts: the builder's user is not in the image
        d("""
          FROM debian:12 AS build
          RUN useradd --uid=2000000 builder
          FROM debian:12
          RUN useradd --uid 2000000 app
          USER 10001
          """), [4]),
    "user.chpasswd": Case(
        D + "RUN echo 'root:hunter2' | chpasswd\n" + TAIL, [2],
        D + "RUN passwd -l root\n" + TAIL,
        d("""
          FROM debian:12 AS build
          RUN echo 'x:y' | chpasswd
          FROM debian:12
          RUN true && \\
              echo 'app:pw' | chpasswd
          USER 10001
          """), [5]),
    "ports.invalid": Case(
        B + "EXPOSE 8080/TCP\nEXPOSE 70000\nEXPOSE 8080:80\n" + TAIL, [2, 3, 4],
        B + "EXPOSE 8080/tcp 53/udp 9000-9010 $PORT\n" + TAIL,
        B + "EXPOSE 1-2/udp\nFROM scratch\nEXPOSE 80/Tcp 443\n" + TAIL, [4]),
    "health.multiple": Case(
        B + "HEALTHCHECK CMD true\nHEALTHCHECK CMD false\n" + TAIL, [2],
        B + "HEALTHCHECK CMD true\n" + TAIL,
        # one HEALTHCHECK per stage is fine; the second stage has two
        B + "HEALTHCHECK CMD a\nFROM scratch\nHEALTHCHECK CMD b\nHEALTHCHECK NONE\nHEALTHCHECK CMD c\n" + TAIL, [4, 5]),
    "image.platform-flag": Case(
        "FROM --platform=linux/amd64 alpine:3.20\n" + TAIL, [1],
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM alpine:3.20\n" + TAIL,
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=${TARGETPLATFORM} alpine:3.20\n" + TAIL,
        [2]),
    "image.untrusted-registry": Case(
        "FROM quay.io/acme/base:1\n" + TAIL, [1],
        "FROM ghcr.io/acme/base:1\nFROM alpine:3.20\n" + TAIL,
        # a stage built on an earlier stage names no registry of its own
        "FROM registry.example.com/x:1 AS a\nFROM a\nFROM ghcr.io/other/y:2\n" + TAIL, [1, 3],
        config={"trusted-registries": ["docker.io", "ghcr.io/acme"]}),
    "pkg.apt-yes": Case(
        D + "RUN apt-get update && apt-get install --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
        + TAIL, [2],
        D + "RUN apt-get install -y curl && apt-get install -qq git && apt-get --yes install x\n"
        "RUN yes | apt-get install vim\nRUN echo 'APT::Get::Assume-Yes \"true\";' > /etc/apt/apt.conf.d/90y\n"
        + TAIL,
        "FROM debian:12 AS build\nRUN apt-get install make\nFROM debian:12\nRUN apt-get install -y curl\n" + TAIL,
        [2]),
    "pkg.apt-not-apt-get": Case(
        D + "RUN apt update && apt install -y curl\n" + TAIL, [2, 2],
        D + "RUN apt-get update && apt-cache policy curl\n" + TAIL,
        "FROM debian:12 AS build\nRUN apt install -y make\nFROM debian:12\n" + TAIL, [2]),
    "pkg.yum-yes": Case(
        "FROM centos:7\nRUN yum install httpd && yum clean all\n" + TAIL, [2],
        "FROM centos:7\nRUN yum -y install httpd && yum install --assumeyes x && yum clean all\n" + TAIL,
        "FROM centos:7 AS a\nRUN yum install make\nFROM a\nRUN yum install -y x && yum clean all\n" + TAIL, [2]),
    "pkg.dnf-yes": Case(
        "FROM fedora:40\nRUN dnf install httpd && dnf clean all\n" + TAIL, [2],
        "FROM fedora:40\nRUN dnf install -y httpd && dnf clean all\n" + TAIL,
        "FROM fedora:40 AS a\nRUN dnf install make\nFROM a\nRUN dnf -y install x && dnf clean all\n" + TAIL, [2]),
    "pkg.zypper-yes": Case(
        "FROM opensuse/leap:15\nRUN zypper install curl && zypper clean --all\n" + TAIL, [2],
        "FROM opensuse/leap:15\nRUN zypper -n install curl && zypper in -y x && zypper --non-interactive in z"
        " && zypper clean\n" + TAIL,
        "FROM opensuse/leap:15 AS a\nRUN zypper in make\nFROM a\nRUN zypper -n in x && zypper cc\n" + TAIL, [2]),
    "pkg.yum-clean": Case(
        "FROM centos:7\nRUN yum -y install httpd\n" + TAIL, [2],
        "FROM centos:7\nRUN yum -y install httpd && yum clean all\nRUN yum -y install x && rm -rf /var/cache/yum\n"
        "RUN --mount=type=cache,target=/var/cache/yum yum -y install z\n" + TAIL,
        # a builder stage's cache does not ship
        "FROM centos:7 AS build\nRUN yum -y install gcc\nFROM centos:7\nRUN yum -y install httpd\n" + TAIL, [4]),
    "pkg.dnf-clean": Case(
        "FROM fedora:40\nRUN dnf -y install httpd\n" + TAIL, [2],
        "FROM fedora:40\nRUN dnf -y install httpd && dnf clean all\n" + TAIL,
        "FROM fedora:40 AS build\nRUN dnf -y install gcc\nFROM fedora:40\nRUN dnf -y install httpd\n" + TAIL, [4]),
    "pkg.microdnf-clean": Case(
        "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4\nRUN microdnf install -y shadow-utils\n" + TAIL, [2],
        "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4\nRUN microdnf install -y x && microdnf clean all\n"
        + TAIL,
        "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4 AS b\nRUN microdnf install gcc\n"
        "FROM b\nRUN microdnf install -y x\n" + TAIL, [2, 4]),
    "pkg.zypper-clean": Case(
        "FROM opensuse/leap:15\nRUN zypper -n install curl\n" + TAIL, [2],
        "FROM opensuse/leap:15\nRUN zypper -n install curl && zypper cc -a\n" + TAIL,
        "FROM opensuse/leap:15 AS b\nRUN zypper -n in gcc\nFROM opensuse/leap:15\nRUN zypper -n in x\n" + TAIL, [4]),
    "pkg.yarn-clean": Case(
        "FROM node:20-alpine\nRUN yarn install --frozen-lockfile\n" + TAIL, [2],
        "FROM node:20-alpine\nRUN yarn install --frozen-lockfile && yarn cache clean\nRUN yarn --version\n"
        "RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install\n" + TAIL,
        "FROM node:20 AS build\nRUN yarn install\nFROM node:20-alpine\nRUN yarn --production\n" + TAIL, [4]),
    "pkg.update-alone": Case(
        D + "RUN apt-get update\nRUN apt-get install -y curl\n" + TAIL, [2],
        D + "RUN apt-get update && apt-get install -y curl\nRUN apk update && ./install.sh\n" + TAIL,
        "FROM alpine:3.20 AS a\nRUN set -eux; apk update\nFROM a\nRUN apk add --no-cache x\n" + TAIL, [2]),
    "pkg.dist-upgrade": Case(
        D + "RUN apt-get update && apt-get dist-upgrade -y\n" + TAIL, [2],
        D + "RUN apt-get update && apt-get upgrade -y\n" + TAIL,
        "FROM debian:12 AS b\nRUN apt-get dist-upgrade -y\nFROM debian:12\nRUN apt-get full-upgrade -y\n" + TAIL, [4]),
    "pkg.pin-apt": Case(
        D + "RUN apt-get install -y curl git=1:2.39.2-1\n" + TAIL, [2],
        D + "RUN apt-get install -y curl=8.0 ./local.deb $EXTRA -t bookworm-backports git=1\n" + TAIL,
        "FROM debian:12 AS b\nRUN apt-get install -y make\nFROM debian:12\nRUN apt-get install -y x=1\n" + TAIL, [2],
        config={"select": ["*", "pkg.pin-apt"]}),
    "pkg.pin-apk": Case(
        B + "RUN apk add --no-cache curl bash=5.2.26-r0\n" + TAIL, [2],
        B + "RUN apk add --no-cache curl=8.9.1-r0 bash~5.2 --virtual .deps gcc=13 -X http://x/ ./my.apk\n" + TAIL,
        B + "RUN apk add --no-cache a=1\nFROM alpine:3.20\nRUN apk add --no-cache tini\n" + TAIL, [4]),
    "pkg.pin-pip": Case(
        "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask requests==2.32.3\n" + TAIL, [2],
        "FROM python:3.12-slim\nRUN pip install --no-cache-dir -r requirements.txt 'flask>=3' . -e ./lib"
        " git+https://x/y.git x.whl && pip install --no-cache-dir -U pip\n"
        "RUN pip install --no-cache-dir -c constraints.txt gunicorn\n" + TAIL,
        "FROM python:3.12 AS b\nRUN python -m pip install --no-cache-dir build\nFROM python:3.12-slim\n" + TAIL, [2]),
    "pkg.pin-npm": Case(
        "FROM node:20-slim\nRUN npm install -g pnpm left-pad@1.3.0\n" + TAIL, [2],
        "FROM node:20-slim\nRUN npm ci && npm install && npm i -g pnpm@9.1.0 @scope/x@2.0.0 ./pkg.tgz\n" + TAIL,
        "FROM node:20 AS b\nRUN npm i -g typescript@latest\nFROM node:20-slim\n" + TAIL, [2]),
    "pkg.pin-gem": Case(
        "FROM ruby:3.3-slim\nRUN gem install rails\n" + TAIL, [2],
        "FROM ruby:3.3-slim\nRUN gem install rails -v 7.1.3 && gem install bundler:2.5.0 && bundle install\n" + TAIL,
        "FROM ruby:3.3 AS b\nRUN gem install bundler\nFROM ruby:3.3-slim\n" + TAIL, [2]),
    "pkg.pin-go": Case(
        "FROM golang:1.22\nRUN go install golang.org/x/tools/gopls@latest\n" + TAIL, [2],
        "FROM golang:1.22\nRUN go install golang.org/x/tools/gopls@v0.16.1 && go install ./...\n" + TAIL,
        "FROM golang:1.22 AS b\nRUN go install -ldflags=-s example.com/cmd\nFROM alpine:3.20\n" + TAIL, [2]),
    "pkg.pin-rpm": Case(
        "FROM fedora:40\nRUN dnf -y install httpd nginx-1.24.0 && dnf clean all\n" + TAIL, [2],
        "FROM fedora:40\nRUN dnf -y install nginx-1.24.0 --setopt=tsflags=nodocs ./x.rpm @development"
        " && zypper -n in curl=8.0 && dnf clean all && zypper cc\n" + TAIL,
        "FROM fedora:40 AS b\nRUN yum -y install gcc && yum clean all\nFROM fedora:40\n" + TAIL, [2]),
    "shell.pipefail": Case(
        D + "RUN curl -fsSL https://example.com/install.sh | bash\nRUN tar c . | gzip > /x.tgz\n" + TAIL, [2, 3],
        D + "RUN set -o pipefail && curl -fsSL https://x | bash\nRUN echo hi | tee /x\n"
        "RUN case \"$a\" in arm64 | aarch64) echo arm ;; amd64 | x86_64) echo x86 ;; esac\n"
        "RUN curl -o /x https://x || true\n" + TAIL,
        # a SHELL with pipefail covers its stage and the stages built on it, not the others
        'FROM debian:12 AS a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl https://x | sh\n'
        "FROM a\nRUN curl https://x | sh\nFROM debian:12\nRUN wget -O- https://x | python3 -\n" + TAIL, [7]),
}


@pytest.mark.parametrize("rid", sorted(CASES))
def test_fires_at_the_line_that_causes_it(tmp_path, rid):
    c = CASES[rid]
    fs = dockerfile(tmp_path, c.fires, config=c.config)
    assert sorted(line for _p, line, _t in at(fs, rid)) == c.lines


@pytest.mark.parametrize("rid", sorted(CASES))
def test_stays_quiet_on_the_hardened_form(tmp_path, rid):
    c = CASES[rid]
    assert at(dockerfile(tmp_path, c.quiet, config=c.config), rid) == []


@pytest.mark.parametrize("rid", sorted(CASES))
def test_multi_stage(tmp_path, rid):
    c = CASES[rid]
    fs = dockerfile(tmp_path, c.multi, config=c.config)
    assert sorted(line for _p, line, _t in at(fs, rid)) == c.multi_lines


def _with_pragma(text: str, line: int, pragma: str) -> str:
    out = text.splitlines(keepends=True)
    out.insert(line - 1, pragma + "\n")
    return "".join(out)


@pytest.mark.parametrize("rid", sorted(CASES))
def test_suppressed_inline(tmp_path, rid):
    c = CASES[rid]
    first = c.lines[0]
    fs = dockerfile(tmp_path / "own", _with_pragma(c.fires, first, f"# batten: ignore={rid} -- reviewed"),
                    config=c.config)
    hits = [f for f in of(fs, rid) if f.line == first + 1]
    assert hits and all(f.suppressed == f"inline: batten: ignore={rid} (reviewed)" for f in hits)
    hadolint = RULES[rid].pragmas.get("hadolint")
    if hadolint:
        fs = dockerfile(tmp_path / "foreign", _with_pragma(c.fires, first, f"# hadolint ignore={hadolint[0]}"),
                        config=c.config)
        hits = [f for f in of(fs, rid) if f.line == first + 1]
        assert hits and all(f.suppressed for f in hits)


def test_pin_apt_is_off_by_default_and_on_when_selected(tmp_path):
    text = D + "RUN apt-get install -y curl\n" + TAIL
    assert RULES["pkg.pin-apt"].default_off
    assert of(dockerfile(tmp_path / "a", text), "pkg.pin-apt") == []
    assert of(dockerfile(tmp_path / "b", text, config={"select": ["*"]}), "pkg.pin-apt") == []
    assert len(of(dockerfile(tmp_path / "c", text, config={"select": ["pkg.*"]}), "pkg.pin-apt")) == 1
    # the other pins are on by default
    assert len(of(dockerfile(tmp_path / "d", B + "RUN apk add --no-cache curl\n" + TAIL), "pkg.pin-apk")) == 1


def test_pin_findings_name_the_packages(tmp_path):
    fs = dockerfile(tmp_path, B + "RUN apk add --no-cache curl bash=5 jq\n" + TAIL)
    (f,) = of(fs, "pkg.pin-apk")
    assert f.evidence["packages"] == ["curl", "jq"]
    assert "curl, jq" in f.message


def test_pipefail_into_a_shell_is_high_other_pipes_low(tmp_path):
    fs = dockerfile(tmp_path, CASES["shell.pipefail"].fires)
    sev = {f.line: f.severity for f in of(fs, "shell.pipefail")}
    assert sev == {2: Severity.HIGH, 3: Severity.LOW}
    assert RULES["shell.pipefail"].severity == Severity.LOW
    # a config override replaces both
    fs = dockerfile(tmp_path / "o", CASES["shell.pipefail"].fires, config={"severity": {"shell.pipefail": "medium"}})
    assert {f.severity for f in of(fs, "shell.pipefail")} == {Severity.MEDIUM}


def test_untrusted_registry_needs_the_config(tmp_path):
    assert of(dockerfile(tmp_path, "FROM quay.io/acme/base:1\n" + TAIL), "image.untrusted-registry") == []


def test_sudo_inside_if_then_points_at_its_own_line(tmp_path):
    fs = dockerfile(tmp_path, D + "RUN if [ -f /x ]; then \\\n      sudo make install; \\\n    fi\n" + TAIL)
    assert [f.line for f in of(fs, "user.sudo")] == [3]


def test_secret_in_chpasswd_is_not_printed(tmp_path):
    (f,) = of(dockerfile(tmp_path, CASES["user.chpasswd"].fires), "user.chpasswd")
    assert "hunter2" not in f.message


def test_useradd_uid_is_read_like_useradd_reads_it(tmp_path):
    # -u inside a cluster of short options counts; a -u that is another option's value does not
    text = D + "RUN useradd -ou 1000000 a\nRUN useradd -c -u 1000000 -u 1000 b\n" + TAIL
    assert [(f.line, f.evidence) for f in of(dockerfile(tmp_path, text), "user.useradd-sparse-log")] == [
        (2, {"uid": "1000000"})]
