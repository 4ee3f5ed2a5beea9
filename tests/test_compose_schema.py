"""compose.invalid: compose files checked against the Compose Specification's JSON schema
(vendored in batten/schemas/). Unknown keys get a did-you-mean, wrong types and malformed sizes
or durations are reported at their line, and nothing else (rules, fixers, the live reader)
breaks on such a file; no fixer adds a second spelling beside a misspelled key."""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

import pytest

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.fixers.plan import attach_fix
from batten.live.drift import drift, drift_findings
from batten.sources.compose_schema import known_keys, schema, suggest, validate
from batten.sources.project import load_project
from batten.sources.yamlnodes import compose_document
from tests.corpus import require_corpus
from tests.rulekit import findings, of, write

FIXTURES = Path(__file__).parent / "fixtures" / "live"


def problems(text: str):
    root = compose_document(textwrap.dedent(text).lstrip("\n"))
    return [(p.line, p.message) for p in validate(root)]


def test_the_schema_is_vendored_with_its_source_and_license():
    base = resources.files("batten").joinpath("schemas")
    readme = base.joinpath("README.md").read_text()
    assert "compose-spec/compose-spec" in readme and "Apache License 2.0" in readme
    assert "commit `" in readme
    assert "Apache License" in base.joinpath("LICENSE-compose-spec").read_text()
    assert schema()["title"] == "Compose Specification"
    assert {"read_only", "cap_drop", "security_opt", "deploy"} <= known_keys()


def test_unknown_key_with_did_you_mean_at_its_line(tmp_path):
    fs = findings(tmp_path, {"compose.yaml": "services:\n  app:\n    image: a:1\n    read-only: true\n"})
    (f,) = of(fs, "compose.invalid")
    assert f.line == 4 and f.location.column == 5
    assert f.message == "services.app: unknown key 'read-only' (did you mean 'read_only'?)"
    assert f.evidence["suggestion"] == "read_only"
    assert suggest("securty_opt", ["security_opt", "secrets"]) == "security_opt"
    assert suggest("zzz", ["security_opt"]) is None


def test_wrong_types_and_forms_at_their_line():
    got = problems("""
        services:
          app:
            image: a:1
            mem_limit: 1gb-ish
            cap_drop: ALL
            user: 1000
            healthcheck:
              interval: 30 seconds
            restart: unless-stoped
            ports:
              - target: 80
                publishd: 8080
        networks:
          back: {driverr: bridge}
        volumes: [a]
        """)
    assert got == [
        (4, "services.app.mem_limit: '1gb-ish' is not a size such as 512m or 1g"),
        (5, "services.app.cap_drop must be a list, not a string"),
        (6, "services.app.user must be a string, not a number"),
        (8, "services.app.healthcheck.interval: '30 seconds' is not a duration such as 30s"),
        (9, "services.app.restart: 'unless-stoped' is not a restart policy (no, always, on-failure[:N], "
            "unless-stopped)"),
        (12, "services.app.ports[0]: unknown key 'publishd' (did you mean 'published'?)"),
        (14, "networks.back: unknown key 'driverr' (did you mean 'driver'?)"),
        (15, "volumes must be a mapping, not a list"),
    ]


def test_valid_forms_pass():
    assert problems("""
        name: demo
        x-defaults: &defaults
          restart: on-failure:5
          logging: {driver: json-file, options: {max-size: 10m}}
        services:
          app:
            <<: *defaults
            image: ${IMAGE:-a:1}
            mem_limit: ${MEM:-512m}
            memswap_limit: -1
            cpus: 0.5
            read_only: "${RO:-true}"
            user: "10001:10001"
            ports: [8080, "127.0.0.1:80:80", {target: 80, published: "8081"}]
            environment: {A: 1, B: true, C: null, D: "x"}
            healthcheck: {test: ["CMD", "true"], interval: 1m30s, start_period: 0s}
            deploy: {resources: {limits: {memory: 1G, cpus: "1.5"}}}
            x-note: anything
            stop_grace_period: 90s
            volumes: [data:/data:ro]
            tmpfs: !reset null
        volumes:
          data: {}
        """) == []


def test_files_of_the_corpus_that_compose_rejects_and_no_others():
    root = require_corpus()
    project = load_project([str(root)])
    got = {(f.path, f.line) for f in run_checks(project) if f.rule.id == "compose.invalid"}
    # a fixture of docker/compose that is wrong on purpose, and a Compose v1 file (no services:)
    assert got == {("docker__compose/pkg/e2e/fixtures/wrong-composefile/compose.yaml", 4),
                   ("jessfraz__dockerfiles/openvpn/docker-compose.yml", 1)}


@pytest.mark.parametrize("spelling", ["read-only", "Read_Only", "readonly"])
def test_no_fixer_adds_a_second_spelling_of_a_misspelled_key(tmp_path, spelling):
    files = {"compose.yaml": f"services:\n  app:\n    image: busybox:1.36\n    {spelling}: true\n"
                             "    security-opt: [seccomp:unconfined]\n    cap-drop: [ALL]\n"}
    write(tmp_path, files)
    project = load_project([str(tmp_path)])
    assert "fs.rootfs-writable" in {f.rule.id for f in run_checks(project)}
    outcome = fix_all(project, Config(), selector(["*"], unsafe=True), {"uid": "10001", "gid": "10001"})
    text = outcome.changes["compose.yaml"].after if "compose.yaml" in outcome.changes else files["compose.yaml"]
    assert "read_only" not in text and "security_opt" not in text and "cap_drop" not in text
    assert text.count(spelling) == 1
    # the fixer says why instead
    (f,) = [f for f in run_checks(project) if f.rule.id == "fs.rootfs-writable"]
    assert attach_fix(f, project, Config()) is None
    assert f.no_fix is not None and "misspelling of 'read_only'" in f.no_fix


def _service_keys() -> list[str]:
    return sorted(schema()["definitions"]["service"]["properties"])


WRONG = {
    "number": "5",
    "string": '"x y"',
    "list": "[1, {a: 1}]",
    "mapping": "{a: [1], b: {c: 2}}",
    "bool": "true",
}


@pytest.mark.parametrize("kind", sorted(WRONG))
def test_wrong_types_break_no_rule_fixer_or_live_reader(tmp_path, kind):
    value = WRONG[kind]
    body = "".join(f"    {k}: {value}\n" for k in _service_keys() if k not in ("extends", "image"))
    text = "services:\n  app:\n    image: busybox:1.36\n" + body + "  db:\n    image: busybox:1.36\n" \
           "    ports: [\"8080:80\"]\n"
    write(tmp_path, {"compose.yaml": text, "Dockerfile": "FROM alpine:3.20\nUSER 1\n"})
    project = load_project([str(tmp_path)])
    fs = run_checks(project)
    invalid = of(fs, "compose.invalid")
    assert invalid, "wrong types are reported"
    # every fixer runs over it without an exception (a fix may be declined)
    outcome = fix_all(project, Config(), selector(["*"], unsafe=True), {"uid": "10001", "gid": "10001"})
    assert not [e for e in outcome.failed if "Traceback" in str(e)]
    # the live reader compares the service with a running container
    inspect = json.loads((FIXTURES / "inspect-demo-app-1.json").read_text())
    for svc in project.compose_projects[0].services.values():
        declared = svc.plain()
        drift(inspect, declared)
        drift_findings(inspect, declared, location=svc.location(), service=svc.name)


def test_a_service_that_is_not_a_mapping_is_reported_once_as_compose_invalid(tmp_path):
    fs = findings(tmp_path, {"compose.yaml": "services:\n  web:\n    image: example/web:1\n  svc: 5\n  other: [a]\n"})
    assert not of(fs, "parse.error")
    assert [(f.line, f.message) for f in of(fs, "compose.invalid")] == [
        (4, "services.svc must be a mapping, not a number"), (5, "services.other must be a mapping, not a list")]
    assert {f.target for f in of(fs, "limits.memory")} == {"web"}  # the other services are still checked
