"""Project rules (app/checks/project_rules.py): what the CI pipelines do for the images."""

from __future__ import annotations

import pytest

from tests.rulekit import at, findings, ids, json_findings, of

SUPPLY = {"supply.no-vuln-scan", "supply.no-sbom", "supply.no-provenance", "supply.no-signing"}
DOCKERFILE = "FROM alpine:3.20\nUSER 10001\n"

GOOD_WORKFLOW = """
name: release
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: sigstore/cosign-installer@v3
      - run: docker buildx build --provenance=mode=max --sbom=true -t ghcr.io/o/app:${{ github.sha }} --push .
      - uses: aquasecurity/trivy-action@0.24.0
        with:
          image-ref: ghcr.io/o/app:${{ github.sha }}
      - run: cosign sign --yes ghcr.io/o/app@${{ steps.build.outputs.digest }}
"""


def supply(fs):
    return {f.rule.id for f in fs if f.rule.id in SUPPLY}


def test_no_ci_at_all(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE})
    assert supply(fs) == SUPPLY
    for rid in SUPPLY:
        assert at(fs, rid) == [(None, None, None)]  # about no file: no line to point at
        (f,) = of(fs, rid)
        assert f.target_kind == "project"
        assert "no CI pipeline found" in f.message
        assert f.severity.label == "info"


def test_workflow_with_every_step_is_quiet(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE, ".github/workflows/release.yml": GOOD_WORKFLOW})
    assert supply(fs) == set()


def test_findings_point_at_the_first_ci_file(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE,
                             ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    steps:\n      - run: make test\n"})
    assert supply(fs) == SUPPLY
    assert at(fs, "supply.no-sbom") == [(".github/workflows/ci.yml", 1, None)]
    assert "1 CI file(s) read" in of(fs, "supply.no-sbom")[0].message


@pytest.mark.parametrize(("step", "quiet"), [
    ("trivy image --exit-code 1 app:1", {"supply.no-vuln-scan"}),
    ("grype app:1", {"supply.no-vuln-scan"}),
    ("docker scout cves app:1", {"supply.no-vuln-scan"}),
    ("syft app:1 -o spdx-json > sbom.json", {"supply.no-sbom"}),
    ("docker buildx build --sbom=true .", {"supply.no-sbom"}),
    ("docker buildx build --provenance=true .", {"supply.no-provenance"}),
    ("cosign sign --key env://COSIGN_KEY app@sha256:abc", {"supply.no-signing"}),
    ("cosign attest --predicate p.json app", {"supply.no-provenance"}),
])
def test_each_step_satisfies_its_rule(tmp_path, step, quiet):
    gitlab = f"build:\n  script:\n    - docker build -t app:1 .\n    - {step}\n"
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE, ".gitlab-ci.yml": gitlab})
    assert supply(fs) == SUPPLY - quiet
    assert {f.path for f in fs if f.rule.id in SUPPLY} == {".gitlab-ci.yml"}


def test_steps_spread_over_several_workflows(tmp_path):
    fs = findings(tmp_path, {
        "Dockerfile": DOCKERFILE,
        ".github/workflows/scan.yaml": "jobs:\n  s:\n    steps:\n      - uses: anchore/scan-action@v4\n",
        ".github/workflows/build.yml": "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n"
                                       "        with:\n          provenance: mode=max\n          sbom: true\n",
        ".github/workflows/sign.yml": "jobs:\n  s:\n    steps:\n      - run: cosign sign $IMAGE\n",
    })
    assert supply(fs) == set()


def test_compose_only_project_pulls_images_it_does_not_build(tmp_path):
    fs = findings(tmp_path, {"compose.yaml": "services:\n  a:\n    image: redis:7.4\n"})
    assert supply(fs) == {"supply.no-vuln-scan"}
    assert at(fs, "supply.no-vuln-scan") == [(None, None, None)]


def test_nothing_to_build_or_run(tmp_path):
    fs = findings(tmp_path, {"README.md": "hello\n", ".github/workflows/ci.yml": "on: push\n"})
    assert fs == []


def test_explicit_files_have_no_project_context(tmp_path):
    # `batten scan Dockerfile` names files, not a project: the CI pipelines are not read
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE}, explicit=["Dockerfile"])
    assert supply(fs) == set()


def test_suppressed_by_config_with_reason(tmp_path):
    cfg = {"per-path-ignores": [{"paths": [".github/workflows/*"], "rules": ["supply.*"],
                                 "reason": "images are signed by the platform team"}]}
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE, ".github/workflows/ci.yml": "on: push\n"}, cfg)
    assert len([f for f in fs if f.rule.id in SUPPLY]) == 4
    assert supply([f for f in fs if f.suppressed is None]) == set()
    for d in json_findings(fs, "supply.no-signing"):
        assert d["suppressed"] == "config: images are signed by the platform team"


def test_ignore_file_pragma_in_the_ci_file_they_sit_on(tmp_path):
    ci = "# batten: ignore-file=supply.* -- signed by the platform team\nbuild:\n  script: [make]\n"
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE, ".gitlab-ci.yml": ci})
    assert len([f for f in fs if f.rule.id in SUPPLY]) == 4
    assert supply([f for f in fs if f.suppressed is None]) == set()


def test_without_a_ci_file_a_dockerfile_pragma_does_not_reach_them(tmp_path):
    # they are about the project, not the Dockerfile: the config's ignore is the way
    fs = findings(tmp_path, {"Dockerfile": "# batten: ignore-file=supply.*\n" + DOCKERFILE})
    assert supply([f for f in fs if f.suppressed is None]) == SUPPLY


def test_config_ignore_removes_them(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE}, {"ignore": ["supply.*"]})
    assert ids(fs, only_active=False) & SUPPLY == set()
