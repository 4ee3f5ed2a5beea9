"""Which fix a finding can take, built with the parameter values in force."""

from __future__ import annotations

import os
from collections.abc import Mapping

from batten.config import Config
from batten.fixers.registry import REGISTRY, FixerSpec, NoFix, SilentDecline, build_fix
from batten.model import Finding, Fix
from batten.sources.project import Project

_LOADED = False


def _load() -> None:
    global _LOADED
    if not _LOADED:
        import batten.fixers.compose_fixes
        import batten.fixers.dockerfile_fixes  # noqa: F401

        _LOADED = True


# where one rule's remedy depends on where the finding is (Dockerfile stage or compose service)
FIX_BY_KIND: dict[tuple[str, str], str] = {
    ("secret.value-hardcoded", "stage"): "df.secret-mount",
    ("secret.value-hardcoded", "file"): "df.secret-mount",  # a global ARG before the first FROM
    ("secret.arg-env", "service"): "co.build-secret",
}


def spec_for(finding: Finding) -> FixerSpec | None:
    _load()
    fid = FIX_BY_KIND.get((finding.rule.id, finding.target_kind), finding.rule.fix_id)
    return REGISTRY.get(fid) if fid else None


def plan(
    finding: Finding,
    project: Project,
    config: Config,
    values: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Fix:
    """The fix for `finding`, or NoFix(reason) when no remedy applies to this instance (there is
    none for the rule, the fixer declined, or a parameter value is unusable)."""
    if finding.origin != "static" or finding.location is None:
        raise NoFix("only findings in files can be fixed")
    spec = spec_for(finding)
    if spec is None:
        raise NoFix(f"{finding.rule.id} has no automatic fix")
    try:
        return build_fix(spec, finding, project, config, values, evidence)
    except SilentDecline:
        if os.environ.get("BATTEN_STRICT_FIXERS"):  # every decline says why (raise NoFix(reason))
            raise TypeError(f"{spec.id} declined {finding.rule.id} at {finding.path}:{finding.line} without a reason") from None
        raise
    except NoFix:
        raise
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        # a fixer that cannot handle an odd input offers no fix rather than a wrong one;
        # the test suite sets BATTEN_STRICT_FIXERS so such inputs surface as failures
        if os.environ.get("BATTEN_STRICT_FIXERS"):
            raise
        raise NoFix(f"{spec.id} cannot handle this input ({type(exc).__name__}: {exc})") from None


def plan_fix(
    finding: Finding,
    project: Project,
    config: Config,
    values: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Fix | None:
    """The fix for `finding`, or None when no remedy applies to this instance."""
    try:
        return plan(finding, project, config, values, evidence)
    except NoFix:
        return None


def attach_fix(
    finding: Finding,
    project: Project,
    config: Config,
    values: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Fix | None:
    """Plan `finding`'s fix and record it on the finding: `fix`, or `no_fix` with the reason a
    remedy that exists for its rule declines this instance (shown to the user)."""
    finding.fix = finding.no_fix = None
    if finding.origin != "static" or finding.location is None or spec_for(finding) is None:
        return None  # no remedy exists: nothing to say
    try:
        finding.fix = plan(finding, project, config, values, evidence)
    except NoFix as exc:
        finding.no_fix = exc.reason
    return finding.fix
