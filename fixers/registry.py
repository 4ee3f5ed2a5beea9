"""The fixer registry: each remedy is a function from a finding (plus project, config and
parameter values) to a `Fix`, i.e. a list of edits on the original text.

Each fixer names the site it takes (`site=`, a class of batten.checks.sites or a tuple of them):
the rule hands it the node it found (`Finding.subject`), and the fixer reads it as `ctx.site`,
typed, with no unpacking. A fixer that cannot fix an instance raises `NoFix(reason)`;
`build_fix` turns every other way of declining (returning no edits, a parameter that does not
validate) into a `NoFix` too, so callers see one outcome: a `Fix`, or a reason for the
user."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from batten.config import Config
from batten.fixers.params import Kind, ParamError, consistent, kind_of, validate
from batten.model import Applicability, Edit, Finding, Fix, Param, Site
from batten.sources.project import Project


class NoFix(ValueError):
    """A fixer declines: this instance cannot be fixed without touching more than it should.
    `reason` is one line for the user ("service extends another: ...")."""

    def __init__(self, reason: str = "no edit applies to this instance") -> None:
        super().__init__(reason)
        self.reason = reason


class SilentDecline(NoFix):
    """A fixer returned no edits without saying why: the user sees only the generic line (the
    test suite, with BATTEN_STRICT_FIXERS, reports it as a bug in the fixer)."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    description: str
    risk: str = ""  # what a wrong value (a checklist default) breaks, one line

    @property
    def kind(self) -> Kind:
        """How the value is checked and normalised (batten.fixers.params)."""
        return kind_of(self.name)

    def validate(self, value: str) -> str:
        return validate(self.name, value)


S = TypeVar("S", bound=Site)
SiteTypes = type[Site] | tuple[type[Site], ...]


@dataclass(slots=True)
class FixContext(Generic[S]):
    finding: Finding
    site: S  # what the rule found (the finding's subject), of the type the fixer takes
    project: Project
    config: Config
    values: dict[str, str]  # parameter values in force (user > live evidence > config > checklist)
    sources: dict[str, str] = field(default_factory=dict)  # name -> where the value came from

    def value(self, name: str) -> str:
        return self.values.get(name, "")


FixerFn = Callable[[FixContext], "list[Edit] | FixResult"]  # FixContext[the fixer's site]


@dataclass(slots=True)
class FixResult:
    """What a fixer returns when it needs to say more than its edits."""

    edits: list[Edit]
    applicability: Applicability | None = None  # overrides the fixer's default
    explanation: str | None = None
    title: str | None = None
    secrets: tuple[str, ...] = ()  # secret values inside the edits (masked in previews)
    risk: str | None = None  # overrides the fixer's risk line (e.g. with the applicability)


@dataclass(frozen=True, slots=True)
class FixerSpec:
    id: str
    title: str
    applicability: Applicability
    explanation: str
    params: tuple[ParamSpec, ...]
    fn: FixerFn
    site: SiteTypes
    risk: str = ""


REGISTRY: dict[str, FixerSpec] = {}


def fixer(
    fix_id: str,
    *,
    title: str,
    applicability: Applicability,
    explanation: str,
    site: SiteTypes,
    params: tuple[ParamSpec, ...] = (),
    risk: str = "",
) -> Callable[[FixerFn], FixerFn]:
    """Register `fn` as the fixer `fix_id`; `site` is the site class (or classes) its rules hand
    it, and `fn` is called with a `FixContext` whose `site` is one of them."""
    def register(fn: FixerFn) -> FixerFn:
        if fix_id in REGISTRY:
            raise ValueError(f"fixer {fix_id} registered twice")
        REGISTRY[fix_id] = FixerSpec(fix_id, title, applicability, " ".join(explanation.split()), params, fn,
                                     site, " ".join(risk.split()))
        return fn

    return register


def resolve_values(
    spec: FixerSpec,
    config: Config,
    user: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Parameter values and their sources: --set/form > live evidence > config > checklist.

    Every value is validated and normalised (batten.fixers.params). A bad value from the user or
    the config raises ParamError; one from the live engine is ignored (an engine may answer
    anything) and the next source is used."""
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for p in spec.params:
        if user and p.name in user:
            values[p.name], sources[p.name] = validate(p.name, user[p.name]), "user"
            continue
        if evidence and evidence.get(p.name):
            try:
                values[p.name], sources[p.name] = validate(p.name, str(evidence[p.name])), "live"
                continue
            except ParamError:
                pass
        if p.name in config.fix:
            try:
                values[p.name], sources[p.name] = validate(p.name, config.fix[p.name]), "config"
            except ParamError as exc:
                raise ParamError(p.name, f"{exc.reason} (in the config's fix table)") from None
        else:
            values[p.name], sources[p.name] = validate(p.name, config.fix_value(p.name) or ""), "checklist"
    consistent(values, sources)
    return values, sources


def build_fix(
    spec: FixerSpec,
    finding: Finding,
    project: Project,
    config: Config,
    user: Mapping[str, str] | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Fix:
    """The fix for `finding`; NoFix(reason) when the fixer declines or a value is unusable."""
    try:
        values, sources = resolve_values(spec, config, user, evidence)
    except ParamError as exc:
        raise NoFix(str(exc)) from None
    site = finding.subject
    if not isinstance(site, spec.site):
        # a rule handing its fixer a site it does not take is a bug in batten, not in the input
        raise TypeError(f"{spec.id} takes {_names(spec.site)}, not {type(site).__name__} (from {finding.rule.id})")
    ctx = FixContext(finding, site, project, config, values, sources)
    out = spec.fn(ctx)
    res = out if isinstance(out, FixResult) else FixResult(list(out or ()))
    if not res.edits:
        raise SilentDecline(f"{spec.id} has no edit for this instance")
    params = tuple(Param(p.name, p.description, values[p.name], sources[p.name], p.risk) for p in spec.params)
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
        risk=res.risk if res.risk is not None else spec.risk,
    )


def _names(site: SiteTypes) -> str:
    return " or ".join(t.__name__ for t in (site if isinstance(site, tuple) else (site,)))
