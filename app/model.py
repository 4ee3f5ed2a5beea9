"""Plain data shared by every layer: severities, locations, rules, findings, fixes and edits.

Nothing here imports anything beyond the standard library; every other module builds on it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.sanitize import clip_values


class Severity(enum.IntEnum):
    """Severity of a rule (docs/rules.md); ordered, so thresholds compare."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        key = value.strip().upper()
        aliases = {"CRIT": "CRITICAL", "MED": "MEDIUM", "WARN": "MEDIUM", "WARNING": "MEDIUM"}
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            raise ValueError(
                f"unknown severity {value!r} (expected one of: "
                + ", ".join(s.label for s in cls)
                + ")"
            ) from None

    @property
    def sarif_level(self) -> str:
        return {4: "error", 3: "error", 2: "warning", 1: "note", 0: "note"}[int(self)]

    @property
    def security_severity(self) -> str:
        """GitHub code scanning maps this number onto critical/high/medium/low."""
        return {4: "9.5", 3: "8.0", 2: "5.5", 1: "3.0", 0: "1.0"}[int(self)]


class Applicability(enum.StrEnum):
    """How far a fix can be trusted without a human looking at it."""

    SAFE = "safe"  # deterministic, behaviour-preserving: may be applied after a preview
    NEEDS_INPUT = "needs-input"  # takes named parameters (each has a default)
    UNSAFE = "unsafe"  # changes behaviour (read-only root, dropped caps, new USER...)


class Area(enum.StrEnum):
    """Checklist areas, in the order the guided session walks them."""

    USER = "user"
    CAPABILITIES = "capabilities"
    FILESYSTEM = "filesystem"
    SECRETS = "secrets"
    IMAGES = "images"
    HEALTH = "health"
    NETWORK = "network"
    RESOURCES = "resources"
    SUPPLY_CHAIN = "supply chain"
    LOGGING = "logging"
    INPUT = "input"


AREA_ORDER: tuple[Area, ...] = tuple(Area)


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range [start, end) in a source's text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"bad span {self.start}..{self.end}")

    def contains(self, offset: int) -> bool:
        return self.start <= offset < self.end


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points: a project-relative path and 1-based line/column."""

    path: str
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    span: Span | None = None  # character offsets in the source text, when known

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of the catalogue (batten.checks.catalogue; docs/rules.md)."""

    id: str
    title: str
    severity: Severity
    area: Area
    rationale: str  # why it matters, in a reviewer's words
    applies: frozenset[str] = frozenset()  # DF, CO, LC, IM, PR (project)
    refs: Mapping[str, str] = field(default_factory=dict)  # tool -> ids
    fix_id: str | None = None
    remedy: str = ""  # what the fix does / what to do by hand
    # tool -> check ids whose inline pragmas batten honours for this rule (derived from refs)
    pragmas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # off unless the config's `select` names it (its id or a glob other than `*`)
    default_off: bool = False


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace text[start:end] of one file with `text` (insert when start == end)."""

    path: str
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"bad edit span {self.start}..{self.end}")


@dataclass(frozen=True, slots=True)
class Param:
    """A named input of a `needs-input` fix."""

    name: str
    description: str
    default: str
    source: str = "checklist"  # checklist | config | live | evidence | user
    risk: str = ""  # what a wrong value breaks (one line); empty: any value is harmless


@dataclass(frozen=True, slots=True)
class Fix:
    """A remedy as data: edits against the original text of one or more files."""

    id: str
    title: str
    applicability: Applicability
    explanation: str
    edits: tuple[Edit, ...]
    params: tuple[Param, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)  # the values the edits were built with
    rule_id: str = ""
    secrets: tuple[str, ...] = ()  # values the edits carry that must be masked when shown
    risk: str = ""  # what may break, one line (every unsafe fix has one)

    @property
    def defaults_used(self) -> tuple[Param, ...]:
        """Parameters whose value is a checklist default and matters (it has a risk): a
        needs-input fix with any of these is applied headless only with --accept-defaults."""
        return tuple(p for p in self.params if p.source == "checklist" and p.risk)

    @property
    def paths(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for e in self.edits:
            seen.setdefault(e.path, None)
        return tuple(seen)

    def summary(self) -> dict[str, str]:
        out = {"id": self.id, "applicability": str(self.applicability), "title": self.title}
        if self.risk and self.applicability != Applicability.SAFE:
            out["risk"] = self.risk
        return out


class Site:
    """What a rule found, handed to the rule's fixer (`Finding.subject`): a Dockerfile site (a
    stage, an instruction, a command of a RUN, an ARG/ENV pair...) or a compose site (a service,
    one of its values). The concrete sites are in batten.checks.sites."""

    __slots__ = ()


@dataclass(slots=True)
class Finding:
    """A rule firing on a target (stage, service, container, file or project)."""

    rule: Rule
    message: str
    location: Location | None
    target: str | None = None
    target_kind: str = "file"  # stage | service | container | file | project
    severity: Severity | None = None  # effective severity after config overrides
    suppressed: str | None = None  # None, or how it was suppressed ("inline: ...", "config: reason")
    fix: Fix | None = None
    no_fix: str | None = None  # why the rule's remedy declines this instance (None: offered or none exists)
    origin: str = "static"  # static | live | drift
    evidence: dict[str, Any] = field(default_factory=dict)
    # extra lines whose preceding comment block may carry an inline pragma (stage FROM, service key)
    anchors: tuple[int, ...] = ()
    # spans (in the finding's file) of secret values: never printed, masked when shown
    secrets: tuple[Span, ...] = ()
    # what the rule found, for its fixer (batten.checks.sites); None for live findings; not serialised
    subject: Site | None = field(default=None, repr=False, compare=False)
    scope: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.severity is None:
            self.severity = self.rule.severity

    def __setattr__(self, name: str, value: Any) -> None:
        # a message quotes values clipped, when the finding is made and when it is refined later
        object.__setattr__(self, name, clip_values(value) if name == "message" else value)

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def path(self) -> str | None:
        return self.location.path if self.location else None

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None

    def sort_key(self) -> tuple[Any, ...]:
        loc = self.location
        return (
            loc.path if loc else "",
            loc.line if loc else 0,
            loc.column if loc else 0,
            -int(self.severity or 0),
            self.rule.id,
            self.target or "",
        )

    def fingerprint(self) -> str:
        """Stable across unrelated edits: rule, file, target and message, not the line."""
        return "|".join((self.rule.id, self.path or "", self.target or "", self.message))


class BattenError(Exception):
    """An error batten explains to the user in one line (no traceback)."""


class UsageError(BattenError):
    """Bad command-line usage or configuration: exit code 2."""
