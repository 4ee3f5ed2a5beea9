"""The CI recipes in the README run as written: every `batten` command of the GitHub Actions and
GitLab jobs runs on a repository, writes the files the next steps upload, and those files are
what GitHub and GitLab read; the image's entry point and paths fit the `docker run` lines; every
version named is this one."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from batten import __version__
from batten.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## batten in CI"):README.index("\n## ", README.index("## batten in CI") + 5)]
SCHEMA = ROOT.parent / "shared" / "sarif-schema-2.1.0.json"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", SECTION, re.S)


def github_job() -> dict:
    (doc,) = [YAML(typ="safe").load(b) for b in blocks("yaml") if "runs-on" in b]
    return doc


def gitlab_job() -> dict:
    (doc,) = [YAML(typ="safe").load(b) for b in blocks("yaml") if "codequality" in b]
    return doc["batten"]


def commands(lines: list[str]) -> list[list[str]]:
    return [shlex.split(line)[1:] for line in lines if line.startswith("batten ")]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    r = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "demo", r)
    subprocess.run(["git", "init", "-q", str(r)], check=True)
    monkeypatch.chdir(r)
    return r


def test_the_github_job_runs_as_written(repo, capsys):
    import jsonschema

    steps = github_job()["jobs"]["batten"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    sarif_step, annotate_step = commands(runs)
    assert main(sarif_step) == 0  # the SARIF step never fails the job: the upload must happen
    (upload,) = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    doc = json.loads((repo / upload["with"]["sarif_file"]).read_text())
    if SCHEMA.is_file():
        assert not list(jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).iter_errors(doc))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert {"Dockerfile", "compose.yaml"} <= uris
    capsys.readouterr()
    assert main(annotate_step) == 1  # the demo has high findings: the job fails on the config's fail-on
    assert "::error file=compose.yaml,line=" in capsys.readouterr().out
    annotate = next(i for i, s in enumerate(steps) if s.get("run", "").startswith("batten scan --format github"))
    assert steps.index(upload) < annotate
    assert github_job()["permissions"]["security-events"] == "write"


def test_the_gitlab_job_runs_as_written(repo):
    job = gitlab_job()
    quality, junit = commands(job["script"])
    assert main(quality) == 0
    assert main(junit) == 1
    reports = job["artifacts"]["reports"]
    issues = json.loads((repo / reports["codequality"]).read_text())
    assert issues and all(i["location"]["path"] in ("Dockerfile", "compose.yaml", ".github/workflows/ci.yml")
                          for i in issues)
    assert ET.parse(repo / reports["junit"]).getroot().tag == "testsuites"
    assert job["artifacts"]["when"] == "always"


def test_every_version_named_is_this_one():
    named = set(re.findall(r"v(\d+\.\d+\.\d+)", SECTION)) | set(re.findall(r"batten:(\d+\.\d+\.\d+)", SECTION))
    assert named == {__version__}
    for line in github_job()["jobs"]["batten"]["steps"]:
        if "pip install" in line.get("run", ""):
            assert f"/v{__version__}.tar.gz" in line["run"]
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert f"rev: v{__version__}" in hooks
    assert f"batten:{__version__}" in (ROOT / "Dockerfile").read_text()


def test_the_image_fits_the_docker_run_lines():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["batten"]' in dockerfile
    runtime = dockerfile[dockerfile.rindex("FROM "):]
    assert re.search(r"^WORKDIR /src$", runtime, re.M) and 'CMD ["scan", "/src"]' in runtime
    runs = [ln for b in blocks("sh") for ln in b.splitlines() if ln.startswith("docker run")]
    assert runs
    for line in runs:
        argv = shlex.split(line.split(">")[0])
        assert '-v' in argv and argv[argv.index("-v") + 1].endswith(":/src")
        image = next(a for a in argv[2:] if a.startswith("batten:"))
        rest = argv[argv.index(image) + 1:]
        assert rest[0] == "scan" and "/src" in rest
        build_parser("scan").parse_args(rest[1:])  # every option exists
