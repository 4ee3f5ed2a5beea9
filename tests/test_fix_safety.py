"""Fixes that do not break what they harden: probes and values from evidence, honest
applicability, no override of an image's own HEALTHCHECK (static side; the engine side is in
test_trial_engine.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    base = facts.with_filesystem(files=["/bin/su"], setuid=["/bin/su", "/usr/bin/passwd", "/bin/mount"])
    assert base.sudo_or_setuid is False  # the distribution's own setuid programs: nothing relies on them
    assert facts.with_filesystem(files=[], setuid=["/usr/local/bin/helper"]).sudo_or_setuid is True
    assert facts.with_filesystem(files=["/usr/bin/sudo"], setuid=[]).sudo_or_setuid is True


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


# ---------------------------------------------------------------------------------------------
# co.limits: never below a declared heap or a reservation
# ---------------------------------------------------------------------------------------------


def _limits_fix(tmp_path: Path, text: str, values=None):
    project = rulekit.project(tmp_path, {"compose.yaml": text})
    found = next(f for f in run_checks(project, Config()) if f.rule.id == "limits.memory")
    return project, plan_fix(found, project, Config(), values)


def test_memory_limit_from_declared_heaps(tmp_path: Path) -> None:
    from batten.live.values import declared_heaps

    assert declared_heaps({"ES_JAVA_OPTS": "-Xms512m -Xmx512m"})[0][0] == 512 * 2**20
    assert declared_heaps({"NODE_OPTIONS": "--max-old-space-size=4096"})[0][0] == 4096 * 2**20
    assert declared_heaps({}, ["java", "-Xmx2g", "-jar", "app.jar"])[0][0] == 2 * 2**30
    assert declared_heaps({"MAX_HEAP_SIZE": "1G"})[0][0] == 2**30
    assert declared_heaps({"OPTS": "-XmxNOPE"}) == []
    es = "services:\n  es:\n    image: elasticsearch:8.15.0\n    environment:\n      - ES_JAVA_OPTS=-Xmx512m\n"
    _project, fx = _limits_fix(tmp_path, es)
    params = {p.name: p for p in fx.params}
    assert params["memory"].default == "1G" and params["memory"].source == "evidence"
    assert "1.5x the 512M heap" in fx.explanation
    # a value given lower than the heap needs is raised, and says so
    _project, fx = _limits_fix(tmp_path / "u", es, {"memory": "512M"})
    assert {p.name: p.default for p in fx.params}["memory"] == "1G"
    # a bigger value given stays
    _project, fx = _limits_fix(tmp_path / "b", es, {"memory": "4G"})
    assert {p.name: p.default for p in fx.params}["memory"] == "4G"


def test_memory_limit_never_below_a_reservation(tmp_path: Path) -> None:
    text = ("services:\n  app:\n    image: example/app:1\n    deploy:\n      resources:\n"
            "        reservations:\n          memory: 700M\n")
    project, fx = _limits_fix(tmp_path, text)
    assert fx is not None
    after = apply_one(project, fx)["compose.yaml"]
    assert "memory: 768M" in after  # not the 512M default
    # a reservation the fix adds stays below a small limit
    project, fx = _limits_fix(tmp_path / "s", "services:\n  app:\n    image: example/app:1\n",
                              {"memory": "128M", "cpus": "0.25"})
    after = apply_one(project, fx)["compose.yaml"]
    assert "memory: 64M" in after and 'cpus: "0.25"' in after and "256M" not in after and '"0.5"' not in after


# ---------------------------------------------------------------------------------------------
# co.no-new-privileges: unsafe where the service relies on sudo or setuid
# ---------------------------------------------------------------------------------------------


def _nnp(tmp_path: Path, files: dict[str, str]):
    from batten.model import Applicability

    project = rulekit.project(tmp_path, files)
    found = next(f for f in run_checks(project, Config()) if f.rule.id == "priv.no-new-privileges")
    fx = plan_fix(found, project, Config())
    assert fx is not None
    return fx.applicability == Applicability.SAFE, fx


def test_nnp_is_unsafe_when_the_service_relies_on_sudo(tmp_path: Path) -> None:
    assert _nnp(tmp_path / "a", {"compose.yaml": "services:\n  a:\n    image: example/a:1\n"})[0]
    safe, fx = _nnp(tmp_path / "b", {"compose.yaml": "services:\n  a:\n    build: .\n",
                                      "Dockerfile": "FROM debian:12\nRUN apt-get install -y sudo\nUSER 1000\n"})
    assert not safe and "installs sudo" in fx.risk
    safe, fx = _nnp(tmp_path / "c", {"compose.yaml": "services:\n  a:\n    build: .\n",
                                      "Dockerfile": "FROM debian:12\nRUN chmod u+s /usr/bin/ping\nUSER 1000\n"})
    assert not safe and "setuid" in fx.risk
    safe, fx = _nnp(tmp_path / "d", {"compose.yaml": "services:\n  a:\n    image: example/a:1\n"
                                                     "    command: sh -c 'sudo service x start && run'\n"})
    assert not safe
    safe, _fx = _nnp(tmp_path / "e", {
        "compose.yaml": "services:\n  a:\n    image: mcr.microsoft.com/devcontainers/python:3.12\n"})
    assert not safe
    k = ImageKnowledge({"example/a:1": ImageFacts("example/a:1").with_filesystem(
        files=["/bin/sh", "/usr/bin/sudo"], setuid=["/usr/bin/sudo"])})
    project = rulekit.project(tmp_path / "f", {"compose.yaml": "services:\n  a:\n    image: example/a:1\n"})
    found = next(f for f in run_checks(project, Config()) if f.rule.id == "priv.no-new-privileges")
    with using(k):
        fx = plan_fix(found, project, Config())
    assert fx is not None and fx.applicability.value == "unsafe" and "setuid" in fx.risk


# ---------------------------------------------------------------------------------------------
# batten fix: checklist defaults need --accept-defaults; risks are said
# ---------------------------------------------------------------------------------------------

HEAP_PROJECT = """\
services:
  es:
    image: elasticsearch:8.15.0
    environment:
      ES_JAVA_OPTS: "-Xms512m -Xmx512m"
  db:
    image: postgres:16
"""


def _cli(capsys, *argv):
    from batten.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plain_write_applies_no_checklist_defaults(tmp_path: Path, capsys) -> None:
    rulekit.write(tmp_path, {"compose.yaml": HEAP_PROJECT})
    code, _out, err = _cli(capsys, "fix", str(tmp_path), "--write", "--color", "never")
    text = (tmp_path / "compose.yaml").read_text()
    assert code == 0, err
    assert "no-new-privileges" in text  # safe fixes are applied
    assert "pg_isready" in text  # a probe from evidence (the image's own client) is applied
    es_block, db_block = text.split("  db:")
    # the memory limit from the declared heap is evidence: written alone, the CPU limit waits
    assert "limits:\n          memory: 1G\n" in es_block and "cpus" not in es_block
    assert "reservations" not in es_block
    assert "limits:" not in db_block and "pids_limit" not in text  # defaults alone are not
    assert "needs-input fix(es) not applied" in err and "--accept-defaults" in err
    assert "cpus (co.limits, 2x)" in err  # es's CPU limit and db's whole block wait, with the risk
    assert "memory (co.limits, 1x)" in err and "OOM-killed" in err  # db's only
    # a second plain run has nothing left that it may apply
    code, _out, err = _cli(capsys, "fix", str(tmp_path), "--write", "--color", "never")
    assert (tmp_path / "compose.yaml").read_text() == text


def test_accept_defaults_applies_them_and_says_which(tmp_path: Path, capsys) -> None:
    rulekit.write(tmp_path, {"compose.yaml": HEAP_PROJECT})
    code, _out, err = _cli(capsys, "fix", str(tmp_path), "--write", "--accept-defaults", "--color", "never")
    text = (tmp_path / "compose.yaml").read_text()
    assert code == 0, err
    es_block = text.split("  db:")[0]
    assert "memory: 1G" in es_block  # 1.5x the 512M heap + 256M, not the 512M default
    assert "behaviour-changing fix(es) applied" in err
    assert "co.limits at compose.yaml" in err and "defaults cpus=1.0" in err
    assert "default cpus: a limit below what the service needs throttles it" in err
    assert "cpus: \"1.0\"" in es_block and "reservations:" in es_block  # the rest follows the memory


def _limits_fixes(tmp_path: Path, text: str, values=None) -> dict[str, Any]:
    project = rulekit.project(tmp_path, {"compose.yaml": text})
    return {f.rule.id: (project, plan_fix(f, project, Config(), values)) for f in run_checks(project, Config())
            if f.rule.id.startswith("limits.") and f.rule.id != "limits.pids"}


def test_memory_from_evidence_does_not_wait_for_the_cpu_default(tmp_path: Path) -> None:
    """The limits.memory finding's fix writes the evidence-based memory limit alone (nothing in
    it is a default); the CPU limit stays with limits.cpu, still waiting for a value."""
    from batten.fixers.safety import waits_for_input

    fixes = _limits_fixes(tmp_path, HEAP_PROJECT.split("  db:")[0])
    project, mem_fx = fixes["limits.memory"]
    assert mem_fx is not None and not waits_for_input(mem_fx)
    assert {p.name: p.source for p in mem_fx.params}["cpus"] == "unused"
    assert "CPU limit waits" in mem_fx.title and "limits.cpu finding offers it" in mem_fx.explanation
    after = apply_one(project, mem_fx)["compose.yaml"]
    assert after.endswith("    deploy:\n      resources:\n        limits:\n          memory: 1G\n")
    for rid in ("limits.cpu", "limits.reservations"):  # the rest waits for the CPU value
        _p, fx = fixes[rid]
        assert fx is not None and waits_for_input(fx) and [p.name for p in fx.defaults_used] == ["cpus"]
    # a value given for the memory is input too; for the CPU, the whole block is one fix again
    _p, fx = _limits_fixes(tmp_path / "m", "services:\n  app:\n    image: example/app:1\n",
                           {"memory": "300M"})["limits.memory"]
    assert fx is not None and not waits_for_input(fx) and "cpus" not in apply_one(_p, fx)["compose.yaml"]
    _p, fx = _limits_fixes(tmp_path / "c", HEAP_PROJECT.split("  db:")[0], {"cpus": "2"})["limits.memory"]
    text = apply_one(_p, fx)["compose.yaml"]
    assert fx is not None and not waits_for_input(fx) and "cpus: \"2.0\"" in text and "memory: 1G" in text
    # a reservation given is never left out: the block stays whole (and waits for the CPU value)
    _p, fx = _limits_fixes(tmp_path / "r", HEAP_PROJECT.split("  db:")[0], {"memory_reservation": "300M"})["limits.memory"]
    assert fx is not None and [p.name for p in fx.defaults_used] == ["cpus"]
    assert "memory: 300M" in apply_one(_p, fx)["compose.yaml"]
    # no evidence: nothing splits, the block waits as one
    _p, fx = _limits_fixes(tmp_path / "d", "services:\n  app:\n    image: example/app:1\n")["limits.memory"]
    assert fx is not None and {p.name for p in fx.defaults_used} == {"memory", "cpus"}


def test_memory_split_converges_and_reports_what_waits(tmp_path: Path, capsys) -> None:
    """Plain --write applies the memory limit; the second run applies nothing and still says
    the CPU limit waits for a value; a later --set cpus adds it beside the memory limit."""
    rulekit.write(tmp_path, {"compose.yaml": HEAP_PROJECT})
    _cli(capsys, "fix", str(tmp_path), "--write", "--color", "never")
    first = (tmp_path / "compose.yaml").read_text()
    code, out, err = _cli(capsys, "fix", str(tmp_path), "--write", "--color", "never")
    assert code == 0 and (tmp_path / "compose.yaml").read_text() == first
    assert "0 fix(es) for 0 finding(s)" in out + err and "cpus (co.limits" in err
    _cli(capsys, "fix", str(tmp_path), "--write", "--set", "cpus=2", "--color", "never")
    es_block = (tmp_path / "compose.yaml").read_text().split("  db:")[0]
    assert "limits:\n          memory: 1G\n          cpus: \"2.0\"\n" in es_block


def test_user_values_count_as_input(tmp_path: Path, capsys) -> None:
    rulekit.write(tmp_path, {"compose.yaml": "services:\n  app:\n    image: example/app:1\n"})
    _cli(capsys, "fix", str(tmp_path), "--write", "--set", "memory=300M", "--set", "cpus=0.5",
         "--set", "pids_limit=100", "--color", "never")
    text = (tmp_path / "compose.yaml").read_text()
    assert "memory: 300M" in text and "pids_limit: 100" in text


def test_every_unsafe_fixer_and_every_risky_default_states_its_risk() -> None:
    from batten.config import FIX_DEFAULTS
    from batten.fixers.plan import _load
    from batten.fixers.registry import REGISTRY
    from batten.model import Applicability

    _load()
    for spec in REGISTRY.values():
        if spec.applicability == Applicability.UNSAFE:
            assert spec.risk and "\n" not in spec.risk, spec.id
    risky = {p.name for spec in REGISTRY.values() for p in spec.params if p.risk}
    # the defaults that decide whether a service keeps working all carry a risk line
    assert {"memory", "cpus", "pids_limit", "uid", "gid", "healthcheck_cmd", "tmpfs_paths", "cap_add",
            "user"} <= risky
    assert risky <= set(FIX_DEFAULTS) | {"healthcheck_cmd", "user"}


# ---------------------------------------------------------------------------------------------
# the trial's judgement (pure; the real runs are in test_trial_engine.py)
# ---------------------------------------------------------------------------------------------


def test_trial_judgement_and_remedies() -> None:
    from batten.live.trial import Observation, TrialSpec, demux, judge

    frame = b"\x01\x00\x00\x00\x00\x00\x00\x03ab\n" + b"\x02\x00\x00\x00\x00\x00\x00\x02c\n"
    assert demux(frame) == b"ab\nc\n" and demux(b"plain\n") == b"plain\n"
    spec = TrialSpec(image="x", read_only=True, tmpfs={"/tmp": ""}, cap_drop=["ALL"], mem_limit=64 << 20)
    base = Observation(status="running", log_tail=["started"])
    ro = Observation(status="exited", exit_code=1, log_tail=[
        "touch: /var/lib/app/state.db: Read-only file system",
        "chown: /srv: Operation not permitted"])
    v = judge(base, ro, spec)
    assert v.passed is False and {"exited", "read-only", "not-permitted"} <= set(v.signals)
    assert {(r.param, r.value) for r in v.remedies} >= {("tmpfs_paths", "/var/lib/app"), ("cap_add", "CHOWN")}
    oom = judge(base, Observation(status="exited", exit_code=137, oom_killed=True), spec)
    assert ("memory", "128M") in {(r.param, r.value) for r in oom.remedies}
    # errors the unfixed service logs too are not the fix's doing
    same = Observation(status="running", log_tail=["open /x: permission denied"])
    assert judge(same, same, spec).passed is True
    # an unfixed service that fails here says nothing about the fix
    broken = Observation(status="exited", exit_code=2)
    assert judge(broken, broken, spec).passed is None
    # a write into a path already on tmpfs proposes nothing new
    tmp = Observation(status="exited", exit_code=1, log_tail=["sh: can't create /tmp/x/y: Read-only file system"])
    assert not [r for r in judge(base, tmp, spec).remedies if r.param == "tmpfs_paths"]


# ---------------------------------------------------------------------------------------------
# Dockerfile fixes that keep the build green (more cases in tests/fixers/cases/dockerfile)
# ---------------------------------------------------------------------------------------------


def _df_fix(tmp_path: Path, text: str, rule_id: str, values=None, knowledge=None):
    project = rulekit.project(tmp_path, {"Dockerfile": text})
    found = next(f for f in run_checks(project, Config()) if f.rule.id == rule_id)
    with using(knowledge):
        fx = plan_fix(found, project, Config(), values)
    return project, fx


def test_user_ids_never_collide(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN groupadd --gid 10001 docker && useradd -m app\nUSER app\n"
    # a given id that is taken is refused, with the reason
    _p, fx = _df_fix(tmp_path / "a", text, "user.unfixed-id", {"uid": "10001", "gid": "10001"})
    assert fx is None
    # the base image's own accounts count when its files were read
    k = ImageKnowledge({"example/base:1": ImageFacts("example/base:1").with_filesystem(
        files=["/bin/sh"], passwd="root:x:0:0::/:/bin/sh\nsvc:x:10001:10001::/:/bin/sh\n", group="svc:x:10001:\n")})
    project, fx = _df_fix(tmp_path / "b", "FROM example/base:1\nRUN apt-get install -y x\nCMD [\"x\"]\n",
                          "user.missing", knowledge=k)
    assert fx is not None
    after = apply_one(project, fx)["Dockerfile"]
    assert "--uid 10002" in after and "--gid 10002" in after and "USER 10002:10002" in after


def test_unknown_base_family_says_so(tmp_path: Path) -> None:
    _p, fx = _df_fix(tmp_path, "FROM registry.example.com/runtime:2\nCMD [\"x\"]\n", "user.missing")
    assert fx is not None and "family of the base image registry.example.com/runtime:2 is unknown" in fx.explanation
    assert "groupadd" not in "".join(e.text for e in fx.edits) and "adduser" not in "".join(e.text for e in fx.edits)


def test_sudo_in_a_non_root_base_image_step(tmp_path: Path) -> None:
    text = "FROM example/devbox:1\nRUN sudo apt-get update\n"
    _p, fx = _df_fix(tmp_path / "u", text, "user.sudo")
    assert fx is None  # not inspected: unknown whether the step runs as root
    k = ImageKnowledge({"example/devbox:1": from_inspect("example/devbox:1", {"Config": {"User": "vscode"}})})
    project, fx = _df_fix(tmp_path / "k", text, "user.sudo", knowledge=k)
    assert fx is not None
    assert apply_one(project, fx)["Dockerfile"] == "FROM example/devbox:1\nUSER root\nRUN apt-get update\nUSER vscode\n"
    k = ImageKnowledge({"example/devbox:1": from_inspect("example/devbox:1", {"Config": {"User": ""}})})
    project, fx = _df_fix(tmp_path / "r", text, "user.sudo", knowledge=k)
    assert fx is not None and apply_one(project, fx)["Dockerfile"] == "FROM example/devbox:1\nRUN apt-get update\n"


def test_a_base_images_own_healthcheck_is_inherited_not_overridden(tmp_path: Path) -> None:
    fs = rulekit.findings(tmp_path / "a", {"Dockerfile": "FROM vaultwarden/server:1.32.0\nCOPY x /x\n"})
    assert not rulekit.of(fs, "health.missing-dockerfile")
    k = ImageKnowledge({"example/base:1": from_inspect("example/base:1", {
        "Config": {"Healthcheck": {"Test": ["CMD", "/hc"]}}})})
    _p, fx = _df_fix(tmp_path / "b", "FROM example/base:1\nEXPOSE 80\nUSER 1\n", "health.missing-dockerfile",
                     {"healthcheck_cmd": "true"}, knowledge=k)
    assert fx is None
