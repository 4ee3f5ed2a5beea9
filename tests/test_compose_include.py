"""Compose `include:`: the included files' services join the including project, as Compose loads
them (paths, project_directory, env_file, conflicts, cycles), findings point at the file where a
value is written, fixes edit that file, a change to it re-checks the including project, and live
containers of the including project tie back to the included services."""

from __future__ import annotations

import time

from batten.checks.engine import run_checks
from batten.cli import main
from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.fixers.scope import Checker, cp_unit
from batten.sources.project import load_project, with_texts
from tests.rulekit import at, findings, of, project, write

HARD = """\
    image: example/web:1@sha256:0000000000000000000000000000000000000000000000000000000000000000
    user: "1000:1000"
"""


def _cp(p, base: str):
    (cp,) = [cp for cp in p.compose_projects if cp.base.path == base]
    return cp


def test_short_form_joins_the_services_and_findings_point_at_the_included_file(tmp_path):
    p = project(tmp_path, {
        "compose.yaml": """\
            include:
              - db/services.yaml
            services:
              web:
                image: example/web:1
                depends_on: [db]
            """,
        "db/services.yaml": """\
            services:
              db:
                build: .
                privileged: true
                env_file: db.env
            networks:
              back: {}
            """,
        "db/Dockerfile": "FROM debian:12\n",
        "db/db.env": "A=1\n",
    })
    cp = _cp(p, "compose.yaml")
    assert sorted(cp.services) == ["db", "web"]
    db = cp.services["db"]
    assert db.file.path == "db/services.yaml" and cp.home(db).dir == "db"
    assert (db.build.context, db.build.dockerfile) == ("db", "db/Dockerfile")  # relative to the included file
    assert "back" in cp.networks
    assert [f.path for f in cp.included] == ["db/services.yaml"]
    assert p.file("db/services.yaml").implicit  # read through include, not a project of its own
    assert [c.base.path for c in p.compose_projects] == ["compose.yaml"]
    fs = run_checks(p, Config())
    assert at(fs, "priv.privileged") == [("db/services.yaml", 4, "db")]
    assert ("db/Dockerfile", 1, "stage 0") in at(fs, "user.missing")  # the Dockerfile it builds is checked
    assert not of(fs, "parse.error") and not of(fs, "compose.include-unread")


def test_a_file_included_and_discovered_on_its_own_is_reported_once(tmp_path):
    fs = findings(tmp_path, {
        "compose.yaml": "include:\n  - db/compose.yaml\nservices:\n  web:\n" + HARD,
        "db/compose.yaml": "services:\n  db:\n    image: postgres:16\n    privileged: true\n",
    })
    p = load_project([str(tmp_path)])
    assert [c.base.path for c in p.compose_projects] == ["compose.yaml", "db/compose.yaml"]
    assert at(fs, "priv.privileged") == [("db/compose.yaml", 4, "db")]
    assert len(of(fs, "limits.memory")) == 2  # web and db, once each


def test_long_form_path_list_merges_overrides_and_project_directory_anchors_paths(tmp_path):
    p = project(tmp_path, {
        "compose.yaml": """\
            include:
              - path: [lib/base.yaml, lib/base.override.yaml]
                project_directory: app
            """,
        "lib/base.yaml": "services:\n  api:\n    build: .\n    read_only: false\n",
        "lib/base.override.yaml": "services:\n  api:\n    read_only: true\n",
        "app/Dockerfile": "FROM debian:12\n",
    })
    api = _cp(p, "compose.yaml").services["api"]
    assert api.get("read_only").data is True  # the override in the path list applies
    assert [d[0].path for d in api.defs] == ["lib/base.yaml", "lib/base.override.yaml"]
    assert api.build.dockerfile == "app/Dockerfile"  # relative to project_directory
    assert not of(run_checks(p, Config()), "parse.error")


def test_env_file_interpolates_the_included_file_and_the_including_env_wins(tmp_path):
    p = project(tmp_path, {
        ".env": "TAG=from-root\n",
        "compose.yaml": """\
            include:
              - path: svc/compose.part.yaml
                env_file: [svc/vars.env]
              - other/part.yaml
            """,
        "svc/vars.env": "TAG=from-env-file\nIMG=example/api\n",
        "svc/compose.part.yaml": "services:\n  api:\n    image: ${IMG}:${TAG}\n",
        "other/.env": "OTHER=example/other:2\n",  # default env_file: .env in the project directory
        "other/part.yaml": "services:\n  other:\n    image: ${OTHER}\n",
    })
    cp = _cp(p, "compose.yaml")
    assert cp.services["api"].image == "example/api:from-root"
    assert cp.services["other"].image == "example/other:2"


def test_missing_env_file_and_unparsable_include_are_errors_compose_shares(tmp_path):
    fs = findings(tmp_path, {
        "compose.yaml": """\
            include:
              - path: a.yaml
                env_file: nope.env
              - broken.yaml
            services:
              web:
                image: example/web:1
            """,
        "a.yaml": "services:\n  a:\n    image: example/a:1\n",
        "broken.yaml": "services: [\n",
    })
    errors = sorted((f.line, f.message) for f in of(fs, "parse.error"))
    assert errors[0] == (2, "include: env_file nope.env does not exist or cannot be read")
    assert errors[1][0] == 4 and errors[1][1].startswith("include: broken.yaml cannot be parsed (")
    assert "a" in {f.target for f in of(fs, "limits.memory")}  # the readable include is still followed


def test_conflicting_service_is_reported_like_compose_and_the_including_definition_kept(tmp_path):
    p = project(tmp_path, {
        "compose.yaml": """\
            include:
              - inc.yaml
              - same.yaml
            services:
              db:
                image: postgres:16
              cache:
                image: redis:7
            """,
        "inc.yaml": "services:\n  db:\n    image: mysql:8\n",
        "same.yaml": "services:\n  cache:\n    image: redis:7\n",  # identical: Compose accepts it
    })
    cp = _cp(p, "compose.yaml")
    assert cp.services["db"].image == "postgres:16" and cp.services["db"].file.path == "compose.yaml"
    fs = run_checks(p, Config())
    assert [(f.path, f.line, f.message) for f in of(fs, "parse.error")] == [
        ("compose.yaml", 5, "services.db conflicts with imported resource from inc.yaml: "
                            "docker compose refuses the project")]


def test_an_override_file_may_change_an_included_service(tmp_path):
    p = project(tmp_path, {
        "compose.yaml": "include:\n  - db/part.yaml\n",
        "compose.override.yaml": "services:\n  db:\n    read_only: true\n",
        "db/part.yaml": "services:\n  db:\n    image: postgres:16\n",
    })
    cp = _cp(p, "compose.yaml")
    assert [f.path for f in cp.files] == ["compose.yaml", "compose.override.yaml"]
    db = cp.services["db"]
    assert db.file.path == "db/part.yaml" and db.get("read_only").data is True
    assert not of(run_checks(p, Config()), "parse.error")


def test_include_cycles_and_depth_are_bounded(tmp_path):
    fs = findings(tmp_path / "cycle", {
        "compose.yaml": "include:\n  - a.yaml\nservices:\n  web:\n" + HARD,
        "a.yaml": "include:\n  - b.yaml\nservices:\n  a:\n    image: example/a:1\n",
        "b.yaml": "include:\n  - a.yaml\nservices:\n  b:\n    image: example/b:1\n",
    })
    (cyc,) = of(fs, "parse.error")
    assert (cyc.path, cyc.line) == ("b.yaml", 2) and cyc.message == "include cycle: a.yaml -> b.yaml -> a.yaml"
    assert {"a", "b", "web"} <= {f.target for f in of(fs, "limits.memory")}

    chain = {f"l{i}.yaml": f"include:\n  - l{i + 1}.yaml\nservices:\n  s{i}:\n    image: example/s:1\n"
             for i in range(30)}
    fs = findings(tmp_path / "deep", {"compose.yaml": "include:\n  - l0.yaml\n", **chain})
    (deep,) = of(fs, "parse.error")
    assert "nested more than 16 levels deep" in deep.message


def test_a_diamond_of_includes_stays_bounded(tmp_path):
    files = {f"d{i}.yaml": f"include:\n  - d{i + 1}.yaml\n  - path: d{i + 1}.yaml\n"
                           f"services:\n  s{i}:\n    image: example/s:1\n" for i in range(14)}
    files["d14.yaml"] = "services:\n  leaf:\n    image: example/leaf:1\n"
    started = time.perf_counter()
    p = project(tmp_path, {"compose.yaml": "include:\n  - d0.yaml\n  - d0.yaml\n", **files})
    assert time.perf_counter() - started < 5  # 2**14 paths through the diamond, each file read once
    assert "leaf" in _cp(p, "compose.yaml").services
    assert not of(run_checks(p, Config()), "parse.error")


def test_remote_and_outside_includes_are_one_info_notice_each_and_do_not_fail_the_build(tmp_path, capsys):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("services:\n  x:\n    image: example/x:1\n")
    root = tmp_path / "proj"
    write(root, {
        "compose.yaml": """\
            include:
              - oci://registry.invalid/app:1
              - git@github.com:example/stack.git
              - path: https://example.invalid/c.yaml
              - ../elsewhere.yaml
              - link.yaml
            services:
              web:
                image: example/web:1
            """,
    })
    (root / "link.yaml").symlink_to(outside)
    fs = run_checks(load_project([str(root)]), Config())
    notices = of(fs, "compose.include-unread")
    assert [(f.line, f.severity.label) for f in notices] == [(2, "info"), (3, "info"), (4, "info"), (5, "info"),
                                                             (6, "info")]
    assert [m.message.split(" is ")[1].split(",")[0] for m in notices] == [
        "a remote file", "a remote file", "a remote file", "outside the project", "outside the project"]
    assert not of(fs, "parse.error") and "x" not in {f.target for f in fs}
    assert main(["scan", str(root), "--format", "json", "--fail-on", "low", "--select", "compose.include-unread"]) == 0
    capsys.readouterr()


def test_a_fix_on_an_included_service_edits_the_included_file_and_a_second_run_finds_nothing(tmp_path):
    root = write(tmp_path, {
        "compose.yaml": "include:\n  - db/services.yaml\nservices:\n  web:\n" + HARD
                        + "    security_opt: [no-new-privileges:true]\n",
        "db/services.yaml": "services:\n  db:\n    image: postgres:16\n",
    })
    before = (root / "compose.yaml").read_bytes()
    p = load_project([str(root)])
    config = Config()
    outcome = fix_all(p, config, selector(["priv.no-new-privileges"]))
    assert not outcome.failed and list(outcome.changes) == ["db/services.yaml"]
    after = outcome.changes["db/services.yaml"].after
    assert after == "services:\n  db:\n    image: postgres:16\n    security_opt:\n      - \"no-new-privileges:true\"\n"
    (root / "db/services.yaml").write_text(after)
    assert (root / "compose.yaml").read_bytes() == before
    again = load_project([str(root)])
    assert not of(run_checks(again, config), "priv.no-new-privileges")
    assert not fix_all(again, config, selector(["priv.no-new-privileges"])).changes


def test_a_secret_moved_out_of_an_included_file_is_declared_in_that_file(tmp_path):
    root = write(tmp_path, {
        "compose.yaml": "include:\n  - db/part.yaml\n",
        "db/part.yaml": "services:\n  db:\n    image: postgres:16.4\n    environment:\n"
                        "      POSTGRES_PASSWORD: s3cr3t-value\n",
    })
    outcome = fix_all(load_project([str(root)]), Config(), selector(["secret.value-hardcoded"], unsafe=True))
    assert not outcome.failed
    assert sorted(outcome.changes) == ["db/.gitignore", "db/part.yaml", "db/secrets/postgres_password.txt"]
    assert outcome.changes["db/part.yaml"].after.endswith(
        "secrets:\n  postgres_password:\n    file: ./secrets/postgres_password.txt\n")


def test_a_change_to_an_included_file_rechecks_the_including_project(tmp_path):
    p = project(tmp_path, {
        "compose.yaml": "include:\n  - db/part.yaml\nservices:\n  web:\n" + HARD,
        "db/part.yaml": "services:\n  db:\n    image: postgres:16\n",
    })
    config = Config()
    checker = Checker(p, config)
    unit = cp_unit(_cp(p, "compose.yaml"))
    assert unit in checker.reach(["db/part.yaml"])
    new = with_texts(p, {"db/part.yaml": "services:\n  db:\n    image: postgres:16\n    privileged: true\n"})
    assert _cp(new, "compose.yaml").services["db"].get("privileged").data is True
    derived, units = checker.derive(new, ["db/part.yaml"])
    assert unit in units
    assert at(derived.findings(), "priv.privileged") == [("db/part.yaml", 4, "db")]
    assert [(f.rule.id, f.path, f.line) for f in derived.findings()] == \
        [(f.rule.id, f.path, f.line) for f in run_checks(new, config)]


def test_live_containers_of_the_including_project_tie_back_to_included_services(tmp_path):
    from batten.live.drift import compose_identity
    from batten.live_scan import _service_for

    p = project(tmp_path, {
        "compose.yaml": "name: shop\ninclude:\n  - db/part.yaml\nservices:\n  web:\n" + HARD,
        "db/part.yaml": "services:\n  db:\n    image: postgres:16\n",
    })
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": "db",
              "com.docker.compose.project.config_files": str(tmp_path / "compose.yaml"),
              "com.docker.compose.project.working_dir": str(tmp_path)}
    ident = compose_identity({"Config": {"Labels": labels}})
    svc = _service_for(p, ident)
    assert svc is not None and svc.name == "db" and svc.file.path == "db/part.yaml"


def test_corpus_projects_that_use_include(monkeypatch):
    from tests.corpus import require_corpus

    testdata = require_corpus() / "compose-spec__compose-go" / "loader" / "testdata"
    monkeypatch.chdir(testdata)
    p = load_project(["compose-include.yaml"])  # a name discovery does not pick: scanned as named
    (cp,) = p.compose_projects
    assert sorted(cp.services) == ["bar", "imported"]
    assert cp.services["imported"].file.path == "subdir/compose-test-extends-imported.yaml"
    fs = run_checks(p, Config())
    assert ("subdir/compose-test-extends-imported.yaml", 3, "imported") in at(fs, "image.untagged")
    assert not of(fs, "parse.error")
    # the corpus keeps the including file but not what it includes: docker compose fails on it too
    fs = run_checks(load_project([str(testdata / "combined")]), Config())
    assert [(f.path, f.line, f.message) for f in of(fs, "parse.error")] == [
        ("compose.yaml", 2, "include: dir/included.yaml does not exist or cannot be read")]


def test_an_include_of_a_fifo_or_a_device_never_blocks(tmp_path):
    import os

    root = write(tmp_path, {"compose.yaml": "include:\n  - pipe.yaml\n  - zero.yaml\nservices:\n  web:\n" + HARD})
    os.mkfifo(root / "pipe.yaml")
    (root / "zero.yaml").symlink_to("/dev/zero")
    started = time.perf_counter()
    fs = run_checks(load_project([str(root)]), Config())
    assert time.perf_counter() - started < 5
    assert [(f.line, f.message) for f in of(fs, "parse.error")] == [
        (2, "include: pipe.yaml does not exist or cannot be read")]
    assert [f.line for f in of(fs, "compose.include-unread")] == [3]  # /dev/zero lies outside the project


def test_a_scan_of_the_including_file_lists_the_included_files(tmp_path, capsys, monkeypatch):
    import json

    write(tmp_path, {
        "compose.yaml": "include:\n  - db/services.yaml\nservices:\n  web:\n" + HARD,
        "db/services.yaml": "services:\n  db:\n    build: .\n    privileged: true\n",
        "db/Dockerfile": "FROM debian:12\n",
    })
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "compose.yaml", "--format", "json", "--no-cache"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in doc["files"]] == ["compose.yaml", "db/services.yaml"]
    assert ("db/services.yaml", "priv.privileged") in {(f["path"], f["rule"]) for f in doc["findings"]}
    assert main(["scan", "compose.yaml", "--format", "sarif", "--no-cache"]) == 1
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert [a["location"]["uri"] for a in run["artifacts"]] == ["compose.yaml", "db/services.yaml"]
    # the Dockerfile it builds is read for the service, not scanned: not listed
    assert main(["scan", "compose.yaml", "--format", "junit", "--no-cache"]) == 1
    junit = capsys.readouterr().out
    assert 'name="db/services.yaml"' in junit and 'name="db/Dockerfile"' not in junit
