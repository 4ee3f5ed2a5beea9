"""What batten knows about an image: the small interface fixes and rules ask before they act.

An `ImageFacts` starts unknown (no engine, image not on it) and is filled from what the engine
answers without changing anything: the image's config from `GET /images/{ref}/json` (user,
HEALTHCHECK, exposed ports, environment, shell), and, when something has read the image's
filesystem, the tools on its PATH, its users and its setuid files. Every question has three
answers: yes, no, or unknown (None), and a fix that needs a "yes" treats unknown as "needs input".

`ImageKnowledge` maps image references to facts. Fixes are planned inside ``using(knowledge)``
so that fixers can ask ``facts_for(ref)`` without every caller passing it through. No docker
import here: the fixers (scan path) import this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# setuid/setgid programs of the base system in Debian, Ubuntu, Alpine and RHEL-family images
BASE_SETUID = frozenset({
    "su", "passwd", "chsh", "chfn", "newgrp", "gpasswd", "mount", "umount", "chage", "expiry",
    "unix_chkpwd", "pam_timestamp_check", "wall", "write", "ssh-agent", "ssh-keysign", "crontab",
    "dbus-daemon-launch-helper", "bbsuid", "busybox", "fusermount", "fusermount3", "newuidmap",
    "newgidmap", "ping", "ping6", "write.ul", "utempter", "mount.nfs", "umount.nfs",
})
_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


@dataclass(frozen=True, slots=True)
class ImageFacts:
    ref: str
    present: bool | None = None  # on the engine (None: no engine asked)
    inspected: bool = False  # the image's config was read
    user: str | None = None  # Config.User ("" = root by default)
    healthcheck: tuple[str, ...] | None = None  # Config.Healthcheck.Test; () = none defined
    exposed: tuple[int, ...] = ()  # TCP ports of Config.ExposedPorts
    env: Mapping[str, str] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    # from the image's filesystem (None: not read)
    tools: frozenset[str] | None = None  # executable names found in the PATH directories
    users: tuple[tuple[str, int, int], ...] | None = None  # (name, uid, gid) from /etc/passwd
    groups: tuple[tuple[str, int], ...] | None = None  # (name, gid) from /etc/group
    setuid: tuple[str, ...] | None = None  # setuid/setgid files

    # ------------------------------------------------------------------ questions
    @property
    def has_own_healthcheck(self) -> bool | None:
        """True when the image defines a HEALTHCHECK (other than NONE); None when unknown."""
        if not self.inspected:
            return None
        test = self.healthcheck or ()
        return bool(test) and test[0].upper() != "NONE"

    def has_tool(self, name: str) -> bool | None:
        if self.tools is None:
            return None
        return name.rsplit("/", 1)[-1] in self.tools

    @property
    def has_shell(self) -> bool | None:
        if self.tools is not None:
            return "sh" in self.tools
        return None

    @property
    def sudo_or_setuid(self) -> bool | None:
        """A way the image gives a non-root process to gain privileges: sudo/doas, or setuid
        files beyond the base system's own (su, passwd, mount... sit in nearly every distribution
        image and are not something a service relies on)."""
        if self.tools is not None and ("sudo" in self.tools or "doas" in self.tools):
            return True
        if self.setuid is not None:
            return any(p.rsplit("/", 1)[-1] not in BASE_SETUID for p in self.setuid)
        return None

    def used_ids(self) -> tuple[set[int], set[int]]:
        """(uids, gids) already taken in the image; empty when its files were not read."""
        uids = {u for _n, u, _g in self.users or ()}
        gids = {g for _n, g in self.groups or ()} | {g for _n, _u, g in self.users or ()}
        return uids, gids

    def with_filesystem(
        self,
        *,
        files: Iterable[str] = (),
        passwd: str | None = None,
        group: str | None = None,
        setuid: Iterable[str] | None = None,
    ) -> ImageFacts:
        """These facts plus what a reader of the image's filesystem found: `files` are the
        absolute paths of executables (symlinks included), `passwd`/`group` the text of
        /etc/passwd and /etc/group."""
        tools = {p.rsplit("/", 1)[-1] for p in files if p.rsplit("/", 1)[0] in _PATH_DIRS}
        return replace(
            self,
            tools=frozenset(tools),
            users=tuple(parse_passwd(passwd)) if passwd is not None else self.users,
            groups=tuple(parse_group(group)) if group is not None else self.groups,
            setuid=tuple(setuid) if setuid is not None else self.setuid,
        )


def parse_passwd(text: str) -> Iterator[tuple[str, int, int]]:
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
            yield parts[0], int(parts[2]), int(parts[3])


def parse_group(text: str) -> Iterator[tuple[str, int]]:
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            yield parts[0], int(parts[2])


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def from_inspect(ref: str, inspect: Mapping[str, Any] | None) -> ImageFacts:
    """Facts from an image inspect answer (None: the image is not on the engine)."""
    if not isinstance(inspect, Mapping):
        return ImageFacts(ref, present=False)
    config = inspect.get("Config") or {}
    if not isinstance(config, Mapping):
        config = {}
    hc = config.get("Healthcheck") or {}
    test = _strings(hc.get("Test")) if isinstance(hc, Mapping) else ()
    ports: list[int] = []
    for key in config.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if port.isdigit() and proto in ("", "tcp") and int(port) not in ports:
            ports.append(int(port))
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        k, sep, v = str(item).partition("=")
        if sep:
            env[k] = v
    return ImageFacts(
        ref,
        present=True,
        inspected=True,
        user=str(config.get("User") or ""),
        healthcheck=test,
        exposed=tuple(ports),
        env=env,
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
    )


# ---------------------------------------------------------------------- knowledge in force
class ImageKnowledge(dict[str, ImageFacts]):
    """Image reference -> facts (references as written in the project)."""

    def facts(self, ref: str | None) -> ImageFacts:
        if not ref:
            return ImageFacts("")
        got = self.get(ref)
        if got is None and ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
            got = self.get(f"{ref}:latest")
        return got if got is not None else ImageFacts(ref)


_CURRENT: contextvars.ContextVar[ImageKnowledge | None] = contextvars.ContextVar("batten_images", default=None)


@contextlib.contextmanager
def using(knowledge: ImageKnowledge | None) -> Iterator[None]:
    """Plan fixes with `knowledge` in force (nested uses restore the outer one)."""
    token = _CURRENT.set(knowledge)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def facts_for(ref: str | None) -> ImageFacts:
    """What is known about image `ref` now (unknown facts when no knowledge is in force)."""
    k = _CURRENT.get()
    if k is None:
        return ImageFacts(ref or "")
    return k.facts(ref)


def gather(gateway: Any, refs: Iterable[str]) -> ImageKnowledge:
    """Inspect each image on the engine (read-only, never pulled); absent images are known to
    be absent. Engine errors leave an image unknown."""
    from batten.model import BattenError

    out = ImageKnowledge()
    for ref in dict.fromkeys(r for r in refs if r):
        try:
            out[ref] = from_inspect(ref, gateway.inspect_image(ref))
        except BattenError:
            out[ref] = ImageFacts(ref)
    return out


def refine_findings(findings: list[Any], knowledge: ImageKnowledge) -> list[Any]:
    """Static findings corrected by what the engine showed about the images: a service whose
    image defines its own HEALTHCHECK has no `health.missing-compose` finding, and one whose
    image was inspected and defines none says so instead of "not inspected"."""
    out = []
    for f in findings:
        if f.rule.id == "health.missing-compose" and f.evidence.get("image_inspected") is False:
            facts = knowledge.facts(f.evidence.get("image"))
            own = facts.has_own_healthcheck
            if own:
                continue
            if own is False:
                f.message = (f"service {f.target!r} has no healthcheck, and its image {facts.ref!r} "
                             "defines none (inspected)")
                f.evidence = {**f.evidence, "image_inspected": True}
        out.append(f)
    return out


def project_images(project: Any) -> list[str]:
    """The images a project's compose services run (`image:`, else the name compose gives the
    image it builds)."""
    refs: list[str] = []
    for cp in getattr(project, "compose_projects", ()):
        for svc in cp.services.values():
            ref = service_image(project, cp, svc)
            if ref and ref not in refs:
                refs.append(ref)
    return refs


def service_image(project: Any, cp: Any, svc: Any) -> str:
    """The image a compose service runs: `image:`, else the name compose gives the image it
    builds (<project name>-<service>, the project name defaulting to the directory's)."""
    if svc.image:
        return str(svc.image)
    name = cp.name or posixpath.basename(posixpath.join(project.root, cp.dir).rstrip("/"))
    name = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return f"{name}-{svc.name}"
