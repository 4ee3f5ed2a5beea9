"""The fixer registry: each remedy is a function from a finding (plus project, config and
parameter values) to a `Fix`, i.e. a list of edits on the original text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from batten.config import Config
from batten.model import Applicability, Edit, Finding, Fix, Param
from batten.sources.project import Project


class NoFix(ValueError):
    """A fixer declines: this instance cannot be fixed without touching more than it should."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    description: str


@dataclass(slots=True)
class FixContext:
    finding: Finding
    project: Project
    config: Config
    values: dict[str, str]  # parameter values in force (user > live evidence > config > checklist)
    sources: dict[str, str] = field(default_factory=dict)  # name -> where the value came from

    def value(self, name: str) -> str:
        return self.values.get(name, "")


FixerFn = Callable[[FixContext], "list[Edit] | FixResult | None"]


@dataclass(slots=True)
class FixResult:
    """What a fixer returns when it needs to say more than its edits."""

    edits: list[Edit]
    applicability: Applicability | None = None  # overrides the fixer's default
    explanation: str | None = None
    title: str | None = None
    secrets: tuple[str, ...] = ()  # secret values inside the edits (masked in previews)


@dataclass(frozen=True, slots=True)
class FixerSpec:
    id: str
    title: str
    applicability: Applicability
    explanation: str
    params: tuple[ParamSpec, ...]
    fn: FixerFn


REGISTRY: dict[str, FixerSpec] = {}


def fixer(
    fix_id: str,
    *,
    title: str,
    applicability: Applicability,
    explanation: str,
    params: tuple[ParamSpec, ...] = (),
) -> Callable[[FixerFn], FixerFn]:
    def register(fn: FixerFn) -> FixerFn:
        if fix_id in REGISTRY:
            raise ValueError(f"fixer {fix_id} registered twice")
        REGISTRY[fix_id] = FixerSpec(fix_id, title, applicability, " ".join(explanation.split()), params, fn)
        return fn

    return register


def resolve_values(
    spec: FixerSpec,
    config: Config,
    user: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Parameter values and their sources: --set/form > live evidence > config > checklist."""
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for p in spec.params:
        if user and p.name in user:
            values[p.name], sources[p.name] = user[p.name], "user"
        elif evidence and evidence.get(p.name):
            values[p.name], sources[p.name] = str(evidence[p.name]), "live"
        elif p.name in config.fix:
            values[p.name], sources[p.name] = config.fix[p.name], "config"
        else:
            values[p.name], sources[p.name] = config.fix_value(p.name) or "", "checklist"
    return values, sources


def build_fix(
    spec: FixerSpec,
    finding: Finding,
    project: Project,
    config: Config,
    user: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Fix | None:
    values, sources = resolve_values(spec, config, user, evidence)
    ctx = FixContext(finding, project, config, values, sources)
    out = spec.fn(ctx)
    if out is None:
        return None
    res = out if isinstance(out, FixResult) else FixResult(list(out))
    if not res.edits:
        return None
    params = tuple(Param(p.name, p.description, values[p.name], sources[p.name]) for p in spec.params)
    applicability = res.applicability or spec.applicability
    return Fix(
        id=spec.id,
        title=res.title or spec.title,
        applicability=applicability,
        explanation=res.explanation or spec.explanation,
        edits=tuple(sorted(res.edits, key=lambda e: (e.path, e.start, e.end))),
        params=params,
        values=values,
        rule_id=finding.rule.id,
        secrets=res.secrets,
    )
