"""Fixes that do not break what they harden: probes and values from evidence, honest
applicability, no override of an image's own HEALTHCHECK (static side; the engine side is in
test_trial_engine.py)."""

from __future__ import annotations

from pathlib import Path

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import apply_one
from batten.fixers.plan import plan_fix
from batten.live.imagefacts import ImageFacts, ImageKnowledge, from_inspect, refine_findings, using
from tests import rulekit


def _one(fs, rule_id):
    got = rulekit.of(fs, rule_id)
    assert len(got) == 1, [f.message for f in fs]
    return got[0]


# ---------------------------------------------------------------------------------------------
# image facts
# ---------------------------------------------------------------------------------------------


def test_image_facts_from_inspect_and_filesystem() -> None:
    facts = from_inspect("app:1", {"Config": {
        "User": "app", "Healthcheck": {"Test": ["CMD-SHELL", "true"]},
        "ExposedPorts": {"8080/tcp": {}, "53/udp": {}}, "Env": ["A=1", "JUNK"]}})
    assert facts.inspected and facts.has_own_healthcheck and facts.exposed == (8080,)
    assert facts.env == {"A": "1"} and facts.has_tool("curl") is None and facts.has_shell is None
    none = from_inspect("app:1", {"Config": {"Healthcheck": {"Test": ["NONE"]}}})
    assert none.has_own_healthcheck is False
    assert from_inspect("gone:1", None).present is False
    assert ImageFacts("x").has_own_healthcheck is None  # not inspected: unknown, not "no"
    fs = facts.with_filesystem(files=["/bin/sh", "/usr/bin/wget", "/opt/curl"],
                               passwd="root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
                               group="root:x:0:\nstaff:x:50:\n", setuid=[])
    assert fs.has_tool("wget") and fs.has_tool("curl") is False and fs.has_shell
    assert fs.used_ids() == ({0, 1000}, {0, 50, 1000}) and fs.sudo_or_setuid is False


# ---------------------------------------------------------------------------------------------
# health.missing-compose: never asserted about an image nobody inspected
# ---------------------------------------------------------------------------------------------


def test_missing_healthcheck_says_when_the_image_was_not_inspected(tmp_path: Path) -> None:
    fs = rulekit.compose(tmp_path, "services:\n  web:\n    image: ghcr.io/example/app:1\n")
    f = _one(fs, "health.missing-compose")
    assert "was not inspected" in f.message and f.evidence["image_inspected"] is False
    official = rulekit.compose(tmp_path / "o", "services:\n  db:\n    image: postgres:16\n")
    assert "official image defines none" in _one(official, "health.missing-compose").message
    own = rulekit.compose(tmp_path / "v", "services:\n  v:\n    image: vaultwarden/server:1.32.0\n")
    assert not rulekit.of(own, "health.missing-compose")


def test_inspected_image_refines_the_finding(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: example/a:1\n  b:\n    image: example/b:1\n  c:\n    image: example/c:1\n"
    fs = rulekit.compose(tmp_path, text)
    k = ImageKnowledge({
        "example/a:1": from_inspect("example/a:1", {"Config": {"Healthcheck": {"Test": ["CMD", "/hc"]}}}),
        "example/b:1": from_inspect("example/b:1", {"Config": {}}),
    })
    got = {f.target: f.message for f in refine_findings(fs, k) if f.rule.id == "health.missing-compose"}
    assert set(got) == {"b", "c"}  # a's own HEALTHCHECK counts; c was not inspected
    assert "defines none (inspected)" in got["b"] and "was not inspected" in got["c"]


# ---------------------------------------------------------------------------------------------
# co.healthcheck: a probe only from evidence
# ---------------------------------------------------------------------------------------------


def _health_fix(tmp_path: Path, text: str, knowledge: ImageKnowledge | None = None, files=None):
    project = rulekit.project(tmp_path, {"compose.yaml": text, **(files or {})})
    fs = [f for f in run_checks(project, Config()) if f.rule.id == "health.missing-compose"]
    assert fs
    with using(knowledge):
        fx = plan_fix(fs[0], project, Config())
    return project, fx


def test_no_probe_without_evidence(tmp_path: Path) -> None:
    # neither wget nor curl is known to exist: no command is guessed
    _p, fx = _health_fix(tmp_path, "services:\n  web:\n    image: example/web:1\n    ports: ['8080:8080']\n")
    assert fx is None
    # an image known (from its files) to lack every HTTP client: still nothing
    k = ImageKnowledge({"example/web:1": from_inspect("example/web:1", {"Config": {}}).with_filesystem(
        files=["/bin/sh", "/bin/nc", "/bin/httpd"])})
    _p, fx = _health_fix(tmp_path / "k", "services:\n  web:\n    image: example/web:1\n    ports: ['8080:8080']\n", k)
    assert fx is None


def test_probe_from_image_files_on_a_declared_port(tmp_path: Path) -> None:
    k = ImageKnowledge({"example/web:1": from_inspect("example/web:1", {
        "Config": {"ExposedPorts": {"9000/tcp": {}}}}).with_filesystem(files=["/bin/sh", "/usr/bin/curl"])})
    project, fx = _health_fix(tmp_path, "services:\n  web:\n    image: example/web:1\n", k)
    assert fx is not None
    params = {p.name: p for p in fx.params}
    assert params["healthcheck_cmd"].source == "evidence"
    after = apply_one(project, fx)["compose.yaml"]
    assert 'test: ["CMD", "curl", "-so", "/dev/null", "http://127.0.0.1:9000/"]' in after


def test_image_with_its_own_healthcheck_is_never_overridden(tmp_path: Path) -> None:
    k = ImageKnowledge({"example/web:1": from_inspect("example/web:1", {
        "Config": {"Healthcheck": {"Test": ["CMD", "/hc"]}}})})
    project = rulekit.project(tmp_path, {"compose.yaml": "services:\n  web:\n    image: example/web:1\n"})
    f = _one(run_checks(project, Config()), "health.missing-compose")
    with using(k):
        assert plan_fix(f, project, Config(), {"healthcheck_cmd": "true"}) is None


def test_official_image_tools_follow_the_tag(tmp_path: Path) -> None:
    project, fx = _health_fix(tmp_path, "services:\n  db:\n    image: mongo:7\n")
    assert fx is not None and '"mongosh"' in apply_one(project, fx)["compose.yaml"]
    project, fx = _health_fix(tmp_path / "m", "services:\n  db:\n    image: mariadb:11.4\n")
    assert fx is not None and '"mariadb-admin", "ping"' in apply_one(project, fx)["compose.yaml"]
    # the image's files show the client is missing: no probe
    k = ImageKnowledge({"redis:7": from_inspect("redis:7", {"Config": {}}).with_filesystem(files=["/bin/sh"])})
    _p, fx = _health_fix(tmp_path / "r", "services:\n  c:\n    image: redis:7\n", k)
    assert fx is None


def test_build_service_probe_from_its_dockerfile(tmp_path: Path) -> None:
    files = {"Dockerfile": "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nUSER 1\n"}
    project, fx = _health_fix(tmp_path, "services:\n  app:\n    build: .\n    expose: ['3000']\n", files=files)
    assert fx is not None
    assert '"http://127.0.0.1:3000/"' in apply_one(project, fx)["compose.yaml"]
    files = {"Dockerfile": "FROM debian:12-slim\nUSER 1\n"}  # debian slim has neither curl nor wget
    _p, fx = _health_fix(tmp_path / "s", "services:\n  app:\n    build: .\n    expose: ['3000']\n", files=files)
    assert fx is None
