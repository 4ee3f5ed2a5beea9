"""Sites: what a rule found, handed to the rule's fixer as it is (`Finding.subject`).

A check points its finding at a place and hands over the nodes it looked at there, so the fixer
starts from the very instruction, command, pair or compose value the rule judged instead of
finding it again. A fixer names the site it takes (`@fixer(..., site=CommandSite)`) and reads it
as `ctx.site`. Each site is a small frozen record of model objects of the file as it was
checked (they are compared and hashed by identity).

Dockerfile sites carry the stage (None for an instruction before the first FROM, which belongs
to no stage); compose sites the service.
The file model itself is the finding's `scope` (a DockerfileModel or ComposeProject).
"""

from __future__ import annotations

from dataclasses import dataclass

from batten.checks.base import RunCommand
from batten.model import Site, Span
from batten.sources.compose import ComposeValue, Service
from batten.sources.dockerfile import Flag, ImageRef, Instruction, Pair, Stage

# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class StageSite(Site):
    """A stage as a whole: something it lacks (USER, HEALTHCHECK) or the user it ends with."""

    stage: Stage


@dataclass(frozen=True, slots=True, eq=False)
class InstructionSite(Site):
    """One instruction: ADD, CMD/ENTRYPOINT, a HEALTHCHECK, a RUN or repository config line
    holding a credential or a setting (stage None for one before the first FROM)."""

    stage: Stage | None
    ins: Instruction


@dataclass(frozen=True, slots=True, eq=False)
class CommandSite(Site):
    """One command of a RUN (`apt-get install ...` within `a && b`); `word` is the index in
    `rc.cmd.words` of the word the finding is about (a flag), when it is about one."""

    stage: Stage | None
    ins: Instruction
    rc: RunCommand
    word: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PairSite(Site):
    """A `KEY=value` of an ARG or ENV (stage None for an ARG before the first FROM)."""

    stage: Stage | None
    ins: Instruction
    pair: Pair


@dataclass(frozen=True, slots=True, eq=False)
class WordSite(Site):
    """One word of an instruction's arguments (an EXPOSE port, a COPY source) and its span."""

    stage: Stage | None
    ins: Instruction
    text: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class ImageSite(Site):
    """A stage's base image; `ref` is None when a build argument names it."""

    stage: Stage
    ref: ImageRef | None


@dataclass(frozen=True, slots=True, eq=False)
class FlagSite(Site):
    """A flag of an instruction (FROM --platform=...)."""

    stage: Stage
    flag: Flag


# ---------------------------------------------------------------------------------------------
# compose
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ServiceSite(Site):
    """A service as a whole: a key it lacks or sets (cap_drop, read_only, privileged)."""

    svc: Service


@dataclass(frozen=True, slots=True, eq=False)
class ValueSite(Site):
    """One value of a service: a cap_add or security_opt entry, a tmpfs, volume, port, device."""

    svc: Service
    value: ComposeValue


@dataclass(frozen=True, slots=True, eq=False)
class NamedValueSite(Site):
    """A value under a name: an environment variable or build arg (`name` is the variable), or
    a word of `command`/`entrypoint` (`name` is that key)."""

    svc: Service
    name: str
    value: ComposeValue


ComposeSite = ServiceSite | ValueSite | NamedValueSite
DockerfileSite = StageSite | InstructionSite | CommandSite | PairSite | WordSite | ImageSite | FlagSite


def service_of(site: Site | None) -> Service | None:
    """The compose service a site is in, if it is a compose site."""
    return site.svc if isinstance(site, ComposeSite) else None
