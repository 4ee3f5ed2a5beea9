"""What CI systems read: SARIF that GitHub code scanning accepts (schema-valid, paths from the
repository top, a location for every result, stable unique fingerprints), GitHub annotations,
GitLab Code Quality, JUnit XML, baselines and rule selection on the command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from batten.checks.catalogue import all_rules, rule
from batten.cli import FORMATS, main
from batten.config import Config
from batten.model import Finding, Location
from batten.report import FORMATS as RENDERERS
from batten.report import ReportContext, to_sarif

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
SCHEMA = ROOT.parent / "shared" / "sarif-schema-2.1.0.json"
PORTS = ('services:\n  dns:\n    image: coredns/coredns:1.11.1\n    ports:\n      - "53:53/tcp"\n'
         '      - "53:53/udp"\n    environment:\n      API_TOKEN: "s3cr3t-Value-123456"\n')


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    if not SCHEMA.is_file():  # the schema ships beside the repository in this workplace
        from tests.support import unavailable

        unavailable(f"{SCHEMA} not found")
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sarif(capsys, validator, *argv: str) -> dict:
    code, out, err = run(capsys, "scan", "--format", "sarif", *argv)
    assert code in (0, 1), err
    doc = json.loads(out)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, errors[0]
    return doc


def results(doc: dict) -> list[dict]:
    return doc["runs"][0]["results"]


def git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the demo under svc/ and the port-53 service under dns/."""
    r = git_repo(tmp_path / "repo")
    shutil.copytree(DEMO, r / "svc")
    (r / "dns").mkdir()
    (r / "dns" / "compose.yaml").write_text(PORTS)
    return r


# ---------------------------------------------------------------------------------------------
# SARIF
# ---------------------------------------------------------------------------------------------


def test_sarif_uris_are_relative_to_the_git_top(repo, capsys, validator, monkeypatch):
    monkeypatch.chdir(repo / "svc")  # wherever the command runs from inside the repository
    doc = sarif(capsys, validator, ".")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results(doc)}
    assert "svc/Dockerfile" in uris and "svc/compose.yaml" in uris
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == f"file://{repo.resolve()}/"
    monkeypatch.chdir(repo)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results(sarif(capsys, validator, "svc/Dockerfile", "svc/compose.yaml"))}
    assert uris == {"svc/Dockerfile", "svc/compose.yaml"}


def test_sarif_uris_without_git_are_relative_to_the_current_directory(tmp_path, capsys, validator, monkeypatch):
    shutil.copytree(DEMO, tmp_path / "a" / "svc")
    monkeypatch.chdir(tmp_path / "a")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results(sarif(capsys, validator, "svc"))}
    assert "svc/Dockerfile" in uris


def test_every_result_has_a_file_and_rules_link_their_docs(repo, capsys, validator, monkeypatch):
    monkeypatch.chdir(repo)
    doc = sarif(capsys, validator, ".")
    assert results(doc)
    for res in results(doc):
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    anchors = _github_anchors((ROOT / "docs" / "rules.md").read_text())
    for r in doc["runs"][0]["tool"]["driver"]["rules"]:
        assert r["properties"]["problem.severity"] in ("error", "warning", "recommendation")
        url, _, anchor = r["helpUri"].partition("#")
        assert url.endswith("/docs/rules.md") and anchor in anchors, r["id"]


def _github_anchors(markdown: str) -> set[str]:
    """The ids GitHub gives headings: lower case, punctuation but - and _ dropped, spaces -> -."""
    return {re.sub(r"[^a-z0-9 _-]", "", m.group(1).strip().lower()).replace(" ", "-")
            for m in re.finditer(r"^#+ (.+)$", markdown, re.M)}


def test_fingerprints_are_unique_and_survive_message_and_line_changes(repo, capsys, validator, monkeypatch):
    monkeypatch.chdir(repo)
    key = "battenFinding/v2"

    def prints() -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for res in results(sarif(capsys, validator, "dns")):
            out.setdefault((res["ruleId"], res["message"]["text"]), []).append(res["partialFingerprints"][key])
        return out

    before = prints()
    every = [fp for fps in before.values() for fp in fps]
    assert len(every) == len(set(every))  # 53/tcp and 53/udp differ
    assert len(before[("ports.privileged", "service 'dns' publishes privileged host port 53")]) == 2
    compose = repo / "dns" / "compose.yaml"
    compose.write_text("# moved down by a comment\n" + PORTS.replace("s3cr3t-Value-123456", "other-Value-98765"))
    after = prints()
    assert sorted(every) == sorted(fp for fps in after.values() for fp in fps)
    assert "s3cr3t" not in repr(before) and "other-Value" not in repr(after)


def test_fingerprints_do_not_depend_on_the_message():
    loc = Location("compose.yaml", 5, 9)
    a = Finding(rule("ports.privileged"), "one wording", loc, target="dns")
    b = Finding(rule("ports.privileged"), "another wording", loc, target="dns")
    ctx = ReportContext()
    assert ctx.fingerprints([a]) == ReportContext().fingerprints([b])


def test_severity_overrides_reach_what_github_reads(tmp_path, capsys, validator):
    shutil.copytree(DEMO, tmp_path / "demo")
    (tmp_path / "demo" / ".batten.toml").write_text('[severity]\n"priv.privileged" = "low"\n'
                                                    '"image.latest" = "critical"\n')
    doc = sarif(capsys, validator, str(tmp_path / "demo"))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["priv.privileged"]["properties"]["security-severity"] == "3.0"
    assert rules["priv.privileged"]["properties"]["problem.severity"] == "recommendation"
    assert rules["image.latest"]["properties"]["security-severity"] == "9.5"
    by_rule = {r["ruleId"]: r for r in results(doc)}
    assert by_rule["priv.privileged"]["level"] == "note"
    assert by_rule["image.latest"]["level"] == "error"
    assert by_rule["image.latest"]["properties"]["severity"] == "critical"


def test_parse_errors_are_tool_notifications_not_results(tmp_path, capsys, validator):
    (tmp_path / "compose.yaml").write_text("services: [unclosed\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    doc = sarif(capsys, validator, str(tmp_path))
    assert all(r["ruleId"] != "parse.error" for r in results(doc))
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    parse = [n for n in notes if n["descriptor"]["id"] == "parse.error"]
    assert parse and parse[0]["level"] == "error"
    assert parse[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "compose.yaml"


def test_suppressed_results_can_be_left_out(tmp_path, capsys, validator):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.27\n    # batten: ignore=priv.privileged -- lab only\n"
        "    privileged: true\n")
    assert any(r.get("suppressions") for r in results(sarif(capsys, validator, str(tmp_path))))
    kept = results(sarif(capsys, validator, str(tmp_path), "--no-suppressed"))
    assert kept and not any(r.get("suppressions") for r in kept)
    assert "priv.privileged" not in {r["ruleId"] for r in kept}


def test_live_findings_are_placed_in_their_file_or_on_their_image(validator, tmp_path):
    tied = Finding(rule("live.user-root"), "container runs as root", Location("compose.yaml", 8, 3),
                   target="demo-app-1", target_kind="container", origin="live")
    stray = Finding(rule("live.user-root"), "container runs as root", None, target="stray",
                    target_kind="container", origin="live")
    image = Finding(rule("fs.setuid-binaries"), "image acme/app:1 has 1 setuid file", None, target="acme/app:1",
                    target_kind="image", origin="live",
                    evidence={"image_id": "sha256:" + "a" * 64, "files": [{"path": "/usr/bin/x", "mode": "4755"}]})
    project = Finding(rule("supply.no-sbom"), "no CI pipeline generates an SBOM", None)
    ctx = ReportContext(root=str(tmp_path), top=str(tmp_path), config=Config())
    doc = json.loads(to_sarif([tied, stray, image, project], ctx=ctx))
    assert not list(validator.iter_errors(doc))
    res, on_image = results(doc)
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "compose.yaml"
    assert res["locations"][0]["logicalLocations"][0]["name"] == "demo-app-1"
    # an image: the image is the logical location, its reference the artifact code scanning needs
    assert on_image["locations"][0]["logicalLocations"] == [
        {"name": "acme/app:1", "kind": "resource", "fullyQualifiedName": "acme/app:1@sha256:" + "a" * 64}]
    assert on_image["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "acme/app%3A1"}
    assert on_image["properties"]["imagePaths"] == ["/usr/bin/x"]
    assert len({r["partialFingerprints"]["battenFinding/v2"] for r in results(doc)}) == 2
    # a container no compose service declares, and a finding about the whole project: notifications
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["live.user-root", "supply.no-sbom"]
    assert "container stray" in notes[0]["message"]["text"]
    assert not any("stray" in json.dumps(r) for r in results(doc))


@pytest.mark.parametrize("variant", [(), ("--no-suppressed",), ("--select", "user.*,priv.*"),
                                     ("--ignore", "limits.*", "--show-suppressed")])
def test_every_sarif_variant_is_schema_valid(demo_copy, capsys, validator, variant):
    (demo_copy / "Dockerfile.broken").write_text("FROM alpine\nRUN <<EOF\nunterminated\n")
    doc = sarif(capsys, validator, str(demo_copy), *variant)
    assert results(doc)


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


# ---------------------------------------------------------------------------------------------
# GitHub annotations, GitLab Code Quality, JUnit
# ---------------------------------------------------------------------------------------------


def test_formats_offered_are_the_formats_rendered():
    assert set(FORMATS) == set(RENDERERS)


def test_github_annotations(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    code, out, _ = run(capsys, "scan", "svc", "--format", "github")
    assert code == 1
    lines = [ln for ln in out.splitlines() if ln.startswith("::")]
    assert any(re.match(r"::error file=svc/compose\.yaml,line=\d+,col=\d+,title=batten priv\.privileged "
                        r"\(critical\) \[cache\]::service 'cache' runs privileged$", ln) for ln in lines)
    assert all(re.match(r"::(error|warning|notice) file=[^,]+,line=\d+,col=\d+(,endLine=\d+)?,title=[^:]+::.+",
                        ln) for ln in lines)
    assert "s3cr3t" not in out and "changeme" not in out


def test_github_annotation_escaping(tmp_path):
    from batten.report import to_github

    f = Finding(rule("user.missing"), "line one\nline two 100%", Location("a,b:c/Dockerfile", 3, 1), target="x")
    out = to_github([f], [], ReportContext(root=str(tmp_path), top=str(tmp_path)))
    assert out.splitlines()[0] == ("::error file=a%2Cb%3Ac/Dockerfile,line=3,col=1,title=batten user.missing "
                                   "(high) [x]::line one%0Aline two 100%25")


def test_gitlab_code_quality(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    code, out, _ = run(capsys, "scan", ".", "--format", "gitlab")
    issues = json.loads(out)
    assert code == 1 and issues
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {i["location"]["path"] for i in issues} >= {"svc/Dockerfile", "dns/compose.yaml"}


def test_junit(tmp_path, capsys):
    shutil.copytree(DEMO, tmp_path / "demo")
    (tmp_path / "demo" / "clean").mkdir()
    (tmp_path / "demo" / "clean" / "Dockerfile.bad").write_text("FROM alpine\nRUN <<EOF\nnever closed\n")
    code, out, _ = run(capsys, "scan", str(tmp_path / "demo"), "--format", "junit")
    assert code == 1
    suites = ET.fromstring(out)
    assert suites.tag == "testsuites" and int(suites.get("failures")) > 10
    names = {s.get("name") for s in suites}
    assert {"Dockerfile", "compose.yaml"} <= names
    cases = suites.findall(".//testcase")
    assert int(suites.get("tests")) == len(cases)
    assert any(c.find("failure") is not None and c.find("failure").get("type") == "critical" for c in cases)


def test_text_shows_columns_where_known(tmp_path, capsys):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:latest\n")
    _code, out, _ = run(capsys, "scan", str(tmp_path), "--color", "never")
    assert re.search(r"^\s+3:12\s+medium\s+image\.latest", out, re.M)


# ---------------------------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------------------------


def test_baseline_round_trip(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    code, _out, err = run(capsys, "scan", ".", "--write-baseline", "baseline.json")
    assert code == 0 and "recorded" in err
    text = (repo / "baseline.json").read_text()
    assert "s3cr3t" not in text and "changeme" not in text and "message" not in text
    recorded = json.loads(text)["findings"]
    assert recorded and all(set(e) == {"fingerprint", "rule", "path"} for e in recorded)
    code, out, _ = run(capsys, "scan", ".", "--baseline", "baseline.json", "--color", "never")
    assert code == 0, out
    assert f"0 finding(s); {len(recorded)} baselined" in out
    # a new weakness is reported (and fails) on its own; moved lines and reworded messages are not new
    compose = repo / "dns" / "compose.yaml"
    compose.write_text("# a comment moves every line\n" + PORTS + "    privileged: true\n")
    code, out, _ = run(capsys, "scan", ".", "--baseline", "baseline.json", "--color", "never")
    assert code == 1
    assert "1 finding(s): 1 critical" in out and "priv.privileged" in out
    doc = json.loads(run(capsys, "scan", ".", "--baseline", "baseline.json", "--format", "json")[1])
    assert sum(1 for f in doc["findings"] if f["suppressed"] == "baseline") == len(recorded)


def test_baseline_from_the_config(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo / "svc")
    assert run(capsys, "scan", ".", "--write-baseline", "../.batten-baseline.json")[0] == 0
    (repo / ".batten.toml").write_text('baseline = ".batten-baseline.json"\n')
    code, out, _ = run(capsys, "scan", ".", "--color", "never")
    assert code == 0 and "baselined" in out
    (repo / ".batten.toml").write_text('baseline = "missing.json"\n')
    code, _out, err = run(capsys, "scan", ".")
    assert code == 2 and "missing.json: no such baseline file" in err


# ---------------------------------------------------------------------------------------------
# --select / --ignore
# ---------------------------------------------------------------------------------------------


def test_select_and_ignore_on_the_command_line(demo_copy, capsys):
    def rules(*argv: str) -> set[str]:
        doc = json.loads(run(capsys, "scan", str(demo_copy), "--format", "json", *argv)[1])
        return {f["rule"] for f in doc["findings"]}

    every = rules()
    assert rules("--select", "limits.*") == {r for r in every if r.startswith("limits.")}
    assert rules("--select", "limits.memory", "--select", "priv.privileged") == {"limits.memory", "priv.privileged"}
    assert rules("--select", "limits.memory,priv.privileged") == {"limits.memory", "priv.privileged"}
    assert rules("--ignore", "limits.*", "--ignore", "supply.*") == {
        r for r in every if not r.startswith(("limits.", "supply."))}
    (demo_copy / ".batten.toml").write_text('ignore = ["image.*"]\n')
    assert rules("--select", "image.*,limits.cpu") == {"limits.cpu"}  # the config's ignore still holds
    code, _out, err = run(capsys, "scan", str(demo_copy), "--select", "limits.memroy")
    assert code == 2 and "unknown rule 'limits.memroy'" in err


def test_select_and_ignore_for_fix(demo_copy, capsys):
    code, out, _err = run(capsys, "fix", str(demo_copy), "--select", "logging.*", "--color", "never")
    assert code == 0 and "max-size" in out
    changed = {ln[6:] for ln in out.splitlines() if ln.startswith("+++ ")}
    assert changed == {"compose.yaml"}
    assert "USER" not in out and "no-new-privileges" not in out
    code, out, _ = run(capsys, "fix", str(demo_copy), "--ignore", "logging.*", "--color", "never")
    assert "max-size" not in out and "no-new-privileges" in out


def test_every_rule_is_documented_once():
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------------------
# live findings: one config function for every caller, a file for every SARIF result
# ---------------------------------------------------------------------------------------------


def _snapshot():
    from batten.live_scan import ContainerView, LiveSnapshot

    def live(rid: str) -> Finding:
        return Finding(rule(rid), f"{rid} here", None, target="c1", target_kind="container", origin="live")

    view = ContainerView(id="c" * 64, name="c1", image="x", state="running", status="Up", inspect={},
                         image_inspect=None, findings=[live("live.user-root"), live("caps.not-dropped")],
                         drift_findings=[live("limits.memory")])
    return LiveSnapshot("engine", containers=[view])


def test_the_config_applies_to_live_findings_the_same_way_for_every_caller(tmp_path):
    """`scan --live`, `batten containers` and the TUI's session all call live_scan.apply_config."""
    import inspect

    from batten import live_scan, session
    from batten.config import parse_config

    cfg = parse_config({"ignore": ["caps.*"], "severity": {"live.user-root": "low"}}, "test")
    snap = live_scan.apply_config(_snapshot(), cfg)
    assert {f.rule.id for f in snap.findings} == {"live.user-root", "limits.memory"}
    assert next(f for f in snap.findings if f.rule.id == "live.user-root").severity.label == "low"
    callers = [inspect.getsource(live_scan.add_live), inspect.getsource(live_scan.run_containers),
               inspect.getsource(session.Session.accept_snapshot)]
    assert all("apply_config(" in src for src in callers)
    sess = object.__new__(session.Session)
    sess.config, sess.engine = cfg, True
    sess.accept_snapshot(_snapshot())
    assert {f.rule.id for f in sess.snapshot.findings} == {"live.user-root", "limits.memory"}


@pytest.mark.engine
def test_scan_live_sarif_places_every_result_in_a_file(engine, tmp_path, validator):
    import sys

    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    (demo / ".batten.toml").write_text('[severity]\n"live.user-root" = "critical"\n')
    labels = {"com.docker.compose.project": "demo", "com.docker.compose.service": "db",
              "com.docker.compose.project.config_files": str(demo / "compose.yaml"),
              "com.docker.compose.project.working_dir": str(demo), "com.docker.compose.container-number": "1"}
    engine.run(name="demo-db-1", labels=labels)
    engine.run(name="stray")
    out = subprocess.run([sys.executable, "-m", "batten", "scan", str(demo), "--live", "--host", engine.url,
                          "--format", "sarif", "--fail-on", "never"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert not list(validator.iter_errors(doc))
    live = [r for r in results(doc) if r["properties"]["origin"] != "static" and "image" not in r["properties"]]
    assert live and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "compose.yaml"
                        for r in live)
    db = [r for r in live if r["locations"][0].get("logicalLocations", [{}])[0].get("name") == "demo-db-1"]
    assert any(r["ruleId"] == "live.user-root" and r["level"] == "error" for r in db)
    notes = doc["runs"][0]["invocations"][0].get("toolExecutionNotifications", [])
    assert any("container stray" in n["message"]["text"] for n in notes)
    assert not any("stray" in json.dumps(r) for r in results(doc))
    listed = subprocess.run([sys.executable, "-m", "batten", "containers", "--host", engine.url, "--project",
                             str(demo), "--format", "json", "--config", str(_ignoring(tmp_path))],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert not any(f["rule"] == "live.user-root" for f in json.loads(listed.stdout)["findings"])


def _ignoring(tmp_path: Path) -> Path:
    cfg = tmp_path / "ignore-root.toml"
    cfg.write_text('ignore = ["live.user-root"]\n')
    return cfg
