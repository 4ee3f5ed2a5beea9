"""Precision on real-world files: the false alarms and misses an audit of four public
repositories found, each pinned down (secrets, mounts, image tags and advice, claims about images
batten did not inspect, locations, noise in text output, severities that follow the catalogue's
consensus, restart.policy docs and behaviour)."""

from __future__ import annotations

import pytest

from batten.checks.catalogue import RULES
from batten.config import parse_config
from batten.model import Severity
from batten.report import to_text
from tests.rulekit import at, compose, dockerfile, findings, of


def svc(body: str, image: str = "busybox:1.36") -> str:
    return f"services:\n  app:\n    image: {image}\n" + body


# ---------------------------------------------------------------------------------------------
# restart.policy: the same judgement in compose files and on running containers, as documented
# ---------------------------------------------------------------------------------------------

RESTART = [("always", True), ("unless-stopped", False), ('"no"', False), ("on-failure", True),
           ("on-failure:5", False), ("on-failure:6", True), ("on-failure:0", True)]


@pytest.mark.parametrize(("policy", "flagged"), RESTART)
def test_restart_policy_in_compose(tmp_path, policy, flagged):
    fs = compose(tmp_path, svc(f"    restart: {policy}\n"))
    assert bool(of(fs, "restart.policy")) is flagged


@pytest.mark.parametrize(("policy", "flagged"), RESTART)
def test_restart_policy_live_agrees(policy, flagged):
    from batten.live.facts import judge_container

    name, _, n = policy.strip('"').partition(":")
    inspect = {"Id": "x", "Name": "/x", "Config": {"Image": "a:1", "User": "1"},
               "HostConfig": {"RestartPolicy": {"Name": name, "MaximumRetryCount": int(n or 0)}}}
    assert bool([f for f in judge_container(inspect) if f.rule_id == "restart.policy"]) is flagged


def test_restart_policy_docs_say_what_is_flagged():
    text = RULES["restart.policy"].rationale
    assert "restart: always" in text and "unless-stopped keeps" in text and "up to 5 retries" in text


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [
    "GOTRUE_JWT_AUD: authenticated",
    "REGISTRY_AUTH: htpasswd",
    "OPENAI_API_KEY: user_provided",
    'API_KEY: ""',
    "MAILER_DSN: smtp://127.0.0.1:25",
    "DATABASE_URL: postgresql://${U:-x}:${P}@db/app",
    "DB_PASSWORD_FILE: /run/secrets/db",
    "PASSWORD_MIN_LENGTH: '12'",
])
def test_secret_false_alarms(tmp_path, env):
    fs = compose(tmp_path, svc(f"    environment:\n      {env}\n"))
    assert of(fs, "secret.value-hardcoded") == []


@pytest.mark.parametrize("env", [
    "SMTP_HOST_PASSWORD: hunter2hunter2",
    "DB_USER_PASSWORD: s3cr3t-value",
    "LDAP_SERVER_PASSWORD: s3cr3t-value",
    "DATABASE_URL: postgres://app:password@db/app",
    "POSTGRES_PASSWORD: ${DB_PASSWORD:-supersecret}",
    "DATABASE_URL: postgres://app:${P:-literal}@db/app",
])
def test_secret_misses(tmp_path, env):
    fs = compose(tmp_path, svc(f"    environment:\n      {env}\n"))
    (f,) = of(fs, "secret.value-hardcoded")
    assert f.line == 5 and f.secrets
    assert "hunter2" not in f.message and "s3cr3t" not in f.message


@pytest.mark.parametrize("command", [
    'command: redis-server --requirepass s3cr3tpw --appendonly yes',
    'command: ["redis-server", "--requirepass", "s3cr3tpw"]',
    'command: ["mysqld", "--password=s3cr3tpw"]',
])
def test_password_on_the_command_line(tmp_path, command):
    fs = compose(tmp_path, svc(f"    {command}\n"))
    (f,) = of(fs, "secret.value-hardcoded")
    src = (tmp_path / "compose.yaml").read_text()
    (span,) = f.secrets
    assert src[span.start:span.end] == "s3cr3tpw"
    assert "s3cr3tpw" not in f.message
    quiet = compose(tmp_path / "q", svc('    command: redis-server --requirepass "${REDIS_PASSWORD}"\n'))
    assert of(quiet, "secret.value-hardcoded") == []


def test_literals_in_env_files_the_repository_keeps(tmp_path):
    files = {
        "compose.yaml": svc("    env_file: [app.env, local.env]\n"),
        "app.env": "# settings\nexport DB_PASSWORD=hunter2hunter2\nDB_HOST=db\nAPI_KEY=\n",
        "local.env": "DB_PASSWORD=ignored-by-git\n",
        ".gitignore": "local.env\n",
    }
    fs = findings(tmp_path, files)
    got = [(f.path, f.line, f.target) for f in of(fs, "secret.value-hardcoded")]
    assert got == [("app.env", 2, "app")]
    (f,) = of(fs, "secret.value-hardcoded")
    assert "hunter2" not in f.message
    assert files["app.env"][f.secrets[0].start:f.secrets[0].end] == "hunter2hunter2"


# ---------------------------------------------------------------------------------------------
# mounts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("volume", "rule"), [
    ("/:/host:ro", "mount.docker-socket"),
    ("/var/run/libvirt/libvirt-sock:/var/run/libvirt/libvirt-sock", "mount.sensitive-host-path"),
    ("/run/dbus:/run/dbus:ro", "mount.sensitive-host-path"),
    ("/run/udev:/run/udev:ro", "mount.sensitive-host-path"),
    ("/etc/resolv.conf:/etc/resolv.conf", "mount.sensitive-host-path"),
    ("./letsencrypt/acme.json:/acme.json", "mount.sensitive-host-path"),
])
def test_mounts_that_were_missed(tmp_path, volume, rule):
    fs = compose(tmp_path, svc(f"    volumes:\n      - {volume}\n"))
    assert [f.line for f in of(fs, rule)] == [5]


def test_read_only_resolv_conf_is_fine_and_sockets_get_no_read_only_fix(tmp_path):
    assert of(compose(tmp_path / "a", svc("    volumes:\n      - /etc/resolv.conf:/etc/resolv.conf:ro\n")),
              "mount.sensitive-host-path") == []
    from batten.config import Config
    from batten.fixers.plan import attach_fix
    from batten.sources.project import load_project

    compose(tmp_path / "b", svc("    volumes:\n      - /run/dbus:/run/dbus\n      - ./acme.json:/acme.json\n"))
    project = load_project([str(tmp_path / "b")])
    from batten.checks.engine import run_checks

    for f in [f for f in run_checks(project) if f.rule.id == "mount.sensitive-host-path"]:
        assert attach_fix(f, project, Config()) is None and f.no_fix


def test_disk_devices_are_reported(tmp_path):
    fs = compose(tmp_path, svc("    devices:\n      - /dev/sda:/dev/sda\n"))
    (f,) = of(fs, "devices.host")
    assert f.severity is Severity.CRITICAL
    # the config's severity for the rule wins over the check's raise for a disk
    config = parse_config({"severity": {"devices.host": "low"}}, "test config")
    fs = compose(tmp_path / "cfg", svc("    devices:\n      - /dev/sda:/dev/sda\n"), config=config)
    (f,) = of(fs, "devices.host")
    assert f.severity is Severity.LOW


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "moving"), [
    ("nginx:stable", True), ("caddy:alpine", True), ("alpine:edge", True), ("rust:nightly", True),
    ("nginx:stable-alpine", True), ("debian:bookworm-slim", False), ("nginx:1.27-alpine", False),
    ("traefik:v3", False),
])
def test_tags_that_move_like_latest(tmp_path, image, moving):
    fs = compose(tmp_path, f"services:\n  app:\n    image: {image}\n")
    assert bool(of(fs, "image.latest")) is moving
    fs = dockerfile(tmp_path / "df", f"FROM {image}\nUSER 1\n")
    assert bool(of(fs, "image.latest")) is moving


def test_a_tag_from_a_variable_still_needs_a_digest(tmp_path):
    fs = compose(tmp_path, "services:\n  app:\n    image: ghcr.io/acme/app:${TAG}\n"
                           "  db:\n    image: postgres:${PG}@sha256:" + "a" * 64 + "\n")
    assert at(fs, "image.not-digest-pinned") == [("compose.yaml", 3, "app")]
    assert "${TAG}" in of(fs, "image.not-digest-pinned")[0].message
    fs = dockerfile(tmp_path / "df", "ARG NODE_VERSION\nFROM node:${NODE_VERSION}\nUSER 1\n")
    assert [f.line for f in of(fs, "image.not-digest-pinned")] == [2]


@pytest.mark.parametrize("image", ["postgres:16", "php:8.3-apache", "mcr.microsoft.com/powershell:lts-debian-11"])
def test_no_minimal_image_advice_that_breaks_data_or_runtime(tmp_path, image):
    assert of(compose(tmp_path, f"services:\n  app:\n    image: {image}\n"), "image.not-minimal") == []


def test_powershell_on_debian_is_linux(tmp_path):
    fs = dockerfile(tmp_path, "FROM mcr.microsoft.com/powershell:lts-debian-11\nCMD pwsh -c 'x'\n")
    (f,) = of(fs, "user.missing")
    assert "ContainerAdministrator" not in f.message and "runs as root" in f.message
    assert of(fs, "cmd.json-form")  # a Linux shell form, not a Windows one


# ---------------------------------------------------------------------------------------------
# claims about images batten did not inspect
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["n8nio/n8n:1.80.0", "quay.io/keycloak/keycloak:26.0", "memcached:1.6",
                                   "gotenberg/gotenberg:8", "dpage/pgadmin4:8.14"])
def test_images_that_run_as_non_root_are_not_called_root(tmp_path, image):
    assert of(compose(tmp_path, f"services:\n  app:\n    image: {image}\n"), "compose.user-unset") == []


def test_unknown_default_user_is_said_and_rated_lower(tmp_path):
    fs = compose(tmp_path, "services:\n  app:\n    image: someorg/app:1.2\n  db:\n    image: redis:7.4\n")
    unknown, official = sorted(of(fs, "compose.user-unset"), key=lambda f: f.target)
    assert "default user of image someorg/app:1.2 is unknown" in unknown.message
    assert "runs as root" not in unknown.message and unknown.severity is Severity.MEDIUM
    assert unknown.evidence["image_inspected"] is False
    assert "redis:7.4 runs as root by default" in official.message and official.severity is Severity.HIGH


# ---------------------------------------------------------------------------------------------
# locations and wording
# ---------------------------------------------------------------------------------------------


def test_interpolated_ports_are_described_as_written(tmp_path):
    fs = compose(tmp_path, svc('    ports:\n      - "${APP_PORT}:${APP_PORT}"\n'))
    (f,) = of(fs, "ports.bind-all-interfaces")
    assert "${APP_PORT}:${APP_PORT}" in f.message and "random" not in f.message


def test_project_findings_point_at_the_ci_file_or_nowhere(tmp_path):
    fs = findings(tmp_path / "ci", {"Dockerfile": "FROM alpine:3.20\n",
                                    ".gitlab-ci.yml": "build:\n  script: [docker build .]\n"})
    assert {f.path for f in fs if f.rule.id.startswith("supply.")} == {".gitlab-ci.yml"}
    fs = findings(tmp_path / "none", {"Dockerfile": "FROM alpine:3.20\n"})
    assert {f.location for f in fs if f.rule.id.startswith("supply.")} == {None}


# ---------------------------------------------------------------------------------------------
# noise: absent controls grouped per service in text output; consensus severities
# ---------------------------------------------------------------------------------------------


def test_absent_controls_share_one_line_per_service(tmp_path):
    fs = compose(tmp_path, "services:\n  app:\n    image: busybox:1.36\n  web:\n    image: nginx:1.27\n"
                           "    read_only: true\n")
    grouped = to_text(fs, [], color=False)
    lines = [ln for ln in grouped.splitlines() if "missing" in ln and "controls" in ln]
    assert len(lines) == 2 and "[app]" in lines[0] and "[web]" in lines[1]
    assert "cap_drop: [ALL]" in lines[0] and "no-new-privileges" in lines[0] and "read_only" in lines[0]
    assert "read_only" not in lines[1]
    assert "caps.not-dropped" not in grouped
    verbose = to_text(fs, [], color=False, verbose=True)
    assert "caps.not-dropped" in verbose and "controls" not in verbose
    # the summary counts every finding either way
    assert grouped.splitlines()[-1] == verbose.splitlines()[-1]


def test_scan_verbose_flag(tmp_path, capsys):
    from batten.cli import main

    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: busybox:1.36\n")
    main(["scan", str(tmp_path), "--fail-on", "never", "--no-cache"])
    short = capsys.readouterr().out
    main(["scan", str(tmp_path), "--fail-on", "never", "--no-cache", "-v"])
    long = capsys.readouterr().out
    assert "missing" in short and "limits.memory" not in short and "limits.memory" in long


def test_no_new_privileges_is_medium_as_in_compose_lint():
    assert RULES["priv.no-new-privileges"].severity is Severity.MEDIUM
    assert "compose-lint" in RULES["priv.no-new-privileges"].rationale


def test_with_an_engine_the_image_config_decides(tmp_path):
    """Recorded `GET /images/{name}/json`: a root image confirms the claim at high, a non-root
    one drops the finding (the live scan feeds the same knowledge; tests/test_live_image.py runs
    it on the real engine)."""
    import json
    from pathlib import Path

    from batten.live.image_checks import refine_user_findings
    from batten.live.imagefacts import ImageKnowledge, from_inspect

    fixtures = Path(__file__).parent / "fixtures" / "live"
    root = json.loads((fixtures / "image-8ddabfc73c78.json").read_text())  # Config.User ""
    nonroot = json.loads((fixtures / "image-a52bb39aa196.json").read_text())  # 10001:10001
    fs = compose(tmp_path, "services:\n  a:\n    image: batten-test/busybox:1\n  b:\n    image: batten-test/app:1\n")
    unset = of(fs, "compose.user-unset")
    assert {f.severity for f in unset} == {Severity.MEDIUM}
    knowledge = ImageKnowledge({"batten-test/busybox:1": from_inspect("batten-test/busybox:1", root),
                                "batten-test/app:1": from_inspect("batten-test/app:1", nonroot)})
    (f,) = refine_user_findings(unset, knowledge)
    assert f.target == "a" and f.severity is Severity.HIGH
    assert f.message == "service 'a' has no user: and image batten-test/busybox:1 runs as root " \
                        "(its Config.User, read from the engine)"
    # a severity the config sets for the rule wins over the confirmation
    config = parse_config({"severity": {"compose.user-unset": "medium"}}, "test config")
    fs = compose(tmp_path / "cfg", "services:\n  a:\n    image: batten-test/busybox:1\n", config=config)
    (f,) = refine_user_findings(of(fs, "compose.user-unset"), knowledge, config)
    assert f.severity is Severity.MEDIUM and "runs as root (its Config.User" in f.message
    config = parse_config({"severity": {"limits.memory": "low"}}, "test config")  # another rule's setting
    fs = compose(tmp_path / "other", "services:\n  a:\n    image: batten-test/busybox:1\n", config=config)
    (f,) = refine_user_findings(of(fs, "compose.user-unset"), knowledge, config)
    assert f.severity is Severity.HIGH
