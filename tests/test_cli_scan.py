"""`batten scan`: formats, exit codes, JSON and SARIF structure, masking."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from batten.cli import main

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"


@pytest.fixture
def demo(tmp_path):
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_groups_by_file_and_exits_1_on_high(demo, capsys):
    code, out, _err = run(capsys, "scan", str(demo), "--color", "never")
    assert code == 1
    assert out.splitlines()[0] in (".github/workflows/ci.yml", "Dockerfile")
    assert "\nDockerfile\n" in "\n" + out and "\ncompose.yaml\n" in out
    assert "\x1b[" not in out
    assert "priv.privileged" in out
    # absent controls of one stage or service share a line; -v lists each
    assert "user.missing" not in out and "missing 2 controls         USER, HEALTHCHECK [runtime]" in out
    assert out.rstrip().splitlines()[-1].startswith("2 file(s),")
    _code, verbose, _err = run(capsys, "scan", str(demo), "--color", "never", "-v")
    assert "user.missing" in verbose and "missing 2 controls" not in verbose


def test_color_always_uses_ansi(demo, capsys):
    _code, out, _ = run(capsys, "scan", str(demo), "--color", "always")
    assert "\x1b[" in out


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("never", 0)])
def test_fail_on(demo, capsys, fail_on, code):
    assert run(capsys, "scan", str(demo), "--fail-on", fail_on)[0] == code


def test_fail_on_threshold_respects_suppressions(tmp_path, capsys):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.27\n    # batten: ignore=priv.privileged -- lab only\n"
        "    privileged: true\n"
    )
    assert run(capsys, "scan", str(tmp_path), "--fail-on", "critical")[0] == 0
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n    privileged: true\n")
    assert run(capsys, "scan", str(tmp_path), "--fail-on", "critical")[0] == 1


def test_json_shape(demo, capsys):
    code, out, _ = run(capsys, "scan", str(demo), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"tool", "files", "skipped", "findings"}
    assert doc["tool"]["name"] == "batten" and doc["tool"]["version"]
    assert {"path": "Dockerfile", "kind": "dockerfile", "error": None} in doc["files"]
    keys = {"rule", "severity", "title", "message", "path", "line", "end_line", "target", "fix", "no_fix", "suppressed", "refs"}
    for f in doc["findings"]:
        assert set(f) == keys
        assert f["severity"] in ("critical", "high", "medium", "low", "info")
        assert f["fix"] is None or set(f["fix"]) - {"risk"} == {"id", "applicability", "title"}
        assert f["fix"] is None or f["fix"]["applicability"] != "unsafe" or f["fix"]["risk"]
    priv = next(f for f in doc["findings"] if f["rule"] == "priv.privileged")
    assert priv["target"] == "cache" and priv["path"] == "compose.yaml" and priv["line"] == 38
    assert priv["fix"] == {"id": "co.remove-privileged", "applicability": "unsafe", "title": "Remove privileged: true",
                           "risk": "a service that needs devices, mounts or kernel settings fails to start or "
                                   "loses that function"}
    assert priv["refs"]["docker-bench"] == "5.5"


def test_secrets_never_printed(demo, capsys):
    secrets = ("hunter2-demo", "dev-not-so-secret-4f9a", "change-me-in-production")
    written = "".join((demo / name).read_text() for name in ("compose.yaml", "Dockerfile", ".env"))
    assert all(secret in written for secret in secrets)  # the demo holds them: their absence below means something
    for fmt in ("text", "json", "sarif"):
        code, out, err = run(capsys, "scan", str(demo), "--format", fmt)
        assert code == 1, (fmt, err)  # the scan ran and found high findings (2 and 3 are errors)
        # the findings about those values are in the output, naming the variables only
        assert "secret.value-hardcoded" in out and "POSTGRES_PASSWORD" in out and "SECRET_KEY" in out, fmt
        for secret in secrets:
            assert secret not in out and secret not in err, (fmt, secret)


def test_sarif_structure(demo, capsys, tmp_path):
    target = tmp_path / "out.sarif"
    code, out, _ = run(capsys, "scan", str(demo), "--format", "sarif", "--output", str(target))
    assert code == 1 and out == ""
    doc = json.loads(target.read_text())
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run0 = doc["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for r in rules:
        assert r["shortDescription"]["text"] and r["help"]["text"] and r["help"]["markdown"]
        assert float(r["properties"]["security-severity"]) > 0
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    for res in run0["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startLine"] >= 1
        assert res["partialFingerprints"]


def test_suppressed_findings_stay_visible_in_json_and_sarif(tmp_path, capsys):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.27\n    # batten: ignore=priv.privileged -- lab only\n"
        "    privileged: true\n"
    )
    doc = json.loads(run(capsys, "scan", str(tmp_path), "--format", "json")[1])
    priv = next(f for f in doc["findings"] if f["rule"] == "priv.privileged")
    assert priv["suppressed"] and "lab only" in priv["suppressed"]
    sarif = json.loads(run(capsys, "scan", str(tmp_path), "--format", "sarif")[1])
    res = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "priv.privileged")
    assert res["suppressions"][0]["kind"] == "inSource"


def test_usage_errors_exit_2_with_one_line(tmp_path, capsys):
    code, _out, err = run(capsys, "scan", str(tmp_path / "missing"))
    assert code == 2 and "no such file or directory" in err
    code, _out, err = run(capsys, "scan", "--format", "xml")
    assert code == 2 and "invalid choice" in err
    (tmp_path / ".batten.toml").write_text('[severity]\n"no.such-rule" = "high"\n')
    code, _out, err = run(capsys, "scan", str(tmp_path))
    assert code == 2 and "unknown rule" in err
    assert "Traceback" not in err


def test_parse_error_is_a_finding_and_the_scan_goes_on(tmp_path, capsys):
    (tmp_path / "compose.yaml").write_text("services:\n  web: [\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER 10001\n")
    code, out, _ = run(capsys, "scan", str(tmp_path), "--format", "json")
    doc = json.loads(out)
    pe = [f for f in doc["findings"] if f["rule"] == "parse.error"]
    assert len(pe) == 1 and pe[0]["path"] == "compose.yaml" and pe[0]["line"] >= 2
    assert any(f["path"] == "Dockerfile" for f in doc["findings"])
    assert {"path": "compose.yaml", "kind": "compose", "error": pe[0]["message"].split(": ", 1)[1]} in doc["files"]
    assert code == 1


def test_explicit_files(demo, capsys):
    code, out, _ = run(capsys, "scan", str(demo / "Dockerfile"), "--format", "json")
    doc = json.loads(out)
    assert [f["path"] for f in doc["files"]] == ["Dockerfile"]
    assert code == 1


def test_output_streams_dash_null_and_fd(demo, capfd, tmp_path):
    """`--output -` is standard output, /dev/null swallows the report, /dev/fd/N is a stream the
    shell opened (process substitution); a FIFO or device planted at a file path stays refused."""
    import os
    import threading

    assert main(["scan", str(demo), "--format", "json", "--output", "-"]) == 1
    out, _err = capfd.readouterr()
    assert json.loads(out)["findings"]
    assert main(["scan", str(demo), "--format", "json", "--output", "/dev/null"]) == 1
    out, err = capfd.readouterr()
    assert out == "" and "error" not in err
    r, w = os.pipe()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(b"".join(iter(lambda: os.read(r, 65536), b""))))
    reader.start()
    try:
        assert main(["scan", str(demo), "--format", "sarif", "--output", f"/dev/fd/{w}"]) == 1
    finally:
        os.close(w)
        reader.join(10)
        os.close(r)
    assert json.loads(got[0])["version"] == "2.1.0"
    assert capfd.readouterr().out == ""
    # a descriptor that is not open is a one-line usage error
    assert main(["scan", str(demo), "--output", "/dev/fd/987"]) == 2
    assert "cannot write" in capfd.readouterr().err
    # a FIFO at an ordinary path is not a stream the user asked for: refused, nothing blocks
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    assert main(["scan", str(demo), "--output", str(fifo)]) == 2
    assert "not a regular file" in capfd.readouterr().err
