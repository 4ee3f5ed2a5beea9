"""Project-level rules: what the CI pipelines do for the images (scan, SBOM, provenance, signing)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from batten.checks.base import make
from batten.model import Finding, Location
from batten.sources.project import Project

_SCAN = re.compile(
    r"(?i)\btrivy\b|aquasecurity/trivy-action|\bgrype\b|anchore/scan-action|docker\s+scout\s+(cves|quickview|recommendations)|"
    r"docker/scout-action|snyk\s+container|snyk/actions/docker|\bclair(ctl)?\b|neuvector|prisma-cloud-scan|twistcli"
)
_SBOM = re.compile(r"(?i)--sbom\b|\bsbom\s*:\s*true|\bsyft\b|anchore/sbom-action|cyclonedx|\bspdx\b|docker\s+sbom")
_PROVENANCE = re.compile(
    r"(?i)--provenance\b|\bprovenance\s*:\s*(true|mode=max|mode=min)|slsa-github-generator|attest-build-provenance|"
    r"\bcosign\s+attest\b|in-toto"
)
_SIGN = re.compile(r"(?i)\bcosign\s+sign\b|sigstore/cosign-installer|\bnotation\s+sign\b|docker\s+trust\s+sign|"
                   r"\bDOCKER_CONTENT_TRUST\s*[:=]\s*['\"]?1")

_CHECKS = (
    ("supply.no-vuln-scan", _SCAN, "no CI pipeline scans the images (trivy, grype, docker scout...)"),
    ("supply.no-sbom", _SBOM, "no CI pipeline generates an SBOM (--sbom, syft...)"),
    ("supply.no-provenance", _PROVENANCE, "no CI pipeline records build provenance (--provenance...)"),
    ("supply.no-signing", _SIGN, "no CI pipeline signs the images (cosign sign...)"),
)


def check_project(project: Project) -> Iterator[Finding]:
    builds = bool(project.dockerfiles)
    uses_images = builds or any(cp.services for cp in project.compose_projects)
    if not uses_images or project.explicit:
        return
    ci_text = "\n".join(text for _p, text in project.ci_files)
    # about the pipelines: located at the first CI file read; with no pipeline at all there is no
    # line to point at (a Dockerfile's line 1 would be a false location): the project itself
    where = project.ci_files[0][0] if project.ci_files else None
    loc = Location(where, 1, 1) if where else None
    pipelines = f"{len(project.ci_files)} CI file(s) read" if project.ci_files else "no CI pipeline found"
    for rid, pattern, message in _CHECKS:
        if rid != "supply.no-vuln-scan" and not builds:
            continue
        if not pattern.search(ci_text):
            yield make(rid, f"{message} ({pipelines})", loc, target_kind="project", target=None,
                       evidence={"ci_files": [p for p, _t in project.ci_files]}, scope=project)
