"""Image findings: what an image's config (``GET /images/{id}/json``) and, when it was read,
its filesystem (:class:`batten.live.imagecontent.ImageContent`) say.

Each area is one small check over an :class:`ImageCtx`; :data:`CHECKS` lists them. The
findings are the image's (``target_kind`` "image"): a container that overrides what its image
says (another user, its own health check) is judged on what it runs, in
:mod:`batten.live.facts`, and :func:`applies_to_container` tells which image findings still
concern it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from batten.checks.base import make
from batten.live import readers as R
from batten.model import Finding, Severity

_SHOWN = 8  # files named in a message; the evidence has them all


@dataclass(slots=True)
class ImageCtx:
    image: Mapping[str, Any]
    ref: str
    content: Any = None  # batten.live.imagecontent.ImageContent, when the filesystem was read

    @property
    def cfg(self) -> Mapping[str, Any]:
        return R.config(self.image)

    @property
    def target(self) -> str:
        return self.ref or ", ".join(self.image.get("RepoTags") or []) or str(
            self.image.get("Id", "")
        )[:19]

    def finding(self, rule_id: str, message: str, **evidence: Any) -> Finding:
        return make(rule_id, message, None, target=self.target, target_kind="image", origin="live",
                    evidence={**evidence, "image_id": self.image.get("Id")})


Check = Callable[[ImageCtx], Iterator[Finding]]


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


# ---------------------------------------------------------------------- config
def _user(ctx: ImageCtx) -> Iterator[Finding]:
    user = str(ctx.cfg.get("User") or "")
    root = R.is_root_user(user)
    uid = ctx.content.uid_of(user) if ctx.content is not None else None
    if not root and uid == 0:  # USER app, where app is uid 0 in the image's /etc/passwd
        yield ctx.finding(
            "user.missing",
            f"image {ctx.target} runs as root by default (USER {user} is uid 0 in /etc/passwd)",
            user=user,
            uid=0,
        )
    elif root:
        why = "no USER" if not user.strip() else f"USER {user}"
        yield ctx.finding("user.missing", f"image {ctx.target} runs as root by default ({why})", user=user)


def _health(ctx: ImageCtx) -> Iterator[Finding]:
    if not R.healthcheck_on(R.healthcheck_test(ctx.cfg)):
        yield ctx.finding(
            "health.missing-dockerfile",
            f"image {ctx.target} has no HEALTHCHECK",
            healthcheck=ctx.cfg.get("Healthcheck"),
        )


# ---------------------------------------------------------------------- filesystem
def _empty_password(ctx: ImageCtx) -> Iterator[Finding]:
    for acc in ctx.content.empty_password_accounts:
        yield ctx.finding(
            "user.empty-password",
            f"image {ctx.target}: account {acc.name} (uid {acc.uid}) has an empty password",
            account=acc.name,
            uid=acc.uid,
        )


def _duplicate_ids(ctx: ImageCtx) -> Iterator[Finding]:
    where = {"uid": "/etc/passwd", "gid": "/etc/group"}
    for kind, dupes in ctx.content.duplicate_ids().items():
        for num, names in dupes.items():
            yield ctx.finding(
                "user.duplicate-id",
                f"image {ctx.target}: {kind} {num} is shared by {', '.join(names)} ({where[kind]})",
                kind=kind,
                id=num,
                names=names,
                paths=[where[kind]],
            )


def _setuid(ctx: ImageCtx) -> Iterator[Finding]:
    files = ctx.content.unexpected_setuid
    if files:
        bits = [f"{s.path} ({s.mode})" for s in files]
        yield ctx.finding(
            "fs.setuid-binaries",
            f"image {ctx.target} has {len(files)} setuid/setgid file(s) besides the usual "
            f"account tools: {_names(bits)}",
            files=[{"path": s.path, "mode": s.mode, "uid": s.uid, "gid": s.gid} for s in files],
            allowed=[s.path for s in ctx.content.special_files if s.allowed],
        )


def _junk(ctx: ImageCtx) -> Iterator[Finding]:
    junk = ctx.content.junk
    if junk:
        kinds = sorted({j.kind for j in junk})
        yield ctx.finding(
            "image.junk-files",
            f"image {ctx.target} contains build leftovers ({', '.join(kinds)}): "
            f"{_names([j.path for j in junk])}",
            files=[{"path": j.path, "kind": j.kind} for j in junk],
        )


CONFIG_CHECKS: tuple[Check, ...] = (_user, _health)
CONTENT_CHECKS: tuple[Check, ...] = (_empty_password, _duplicate_ids, _setuid, _junk)


def judge_image(image: Mapping[str, Any], ref: str, content: Any = None) -> list[Finding]:
    """Findings of one image: its config, and its filesystem when ``content`` was read."""
    ctx = ImageCtx(image, ref, content)
    checks = CONFIG_CHECKS + (CONTENT_CHECKS if content is not None else ())
    return [f for check in checks for f in check(ctx)]


def applies_to_container(finding: Finding, container: Mapping[str, Any]) -> bool:
    """Whether an image finding concerns a container running that image: not when the
    container overrides what the finding is about (its own non-root user, its own health
    check)."""
    cfg = R.config(container)
    if finding.rule_id == "user.missing":
        user = str(cfg.get("User") or "")
        return user == str(finding.evidence.get("user") or "") or R.is_root_user(user)
    if finding.rule_id == "health.missing-dockerfile":
        return not R.healthcheck_on(R.healthcheck_test(cfg))
    return True


# ---------------------------------------------------------------------- static findings
def _user_ref(f: Finding) -> str | None:
    """The image whose default user a static finding is about, if any."""
    if f.origin != "static":
        return None
    if f.rule_id == "user.missing":
        ref = f.evidence.get("base")
    elif f.rule_id == "compose.user-unset":
        ref = f.evidence.get("image")
    else:
        return None
    return str(ref) if ref and "$" not in str(ref) else None


def image_refs(findings: list[Finding]) -> list[str]:
    """Images that static findings make claims about (a stage's base image, a service's image)."""
    return list(dict.fromkeys(r for f in findings if (r := _user_ref(f))))


def refine_user_findings(findings: list[Finding], knowledge: Any, config: Any = None) -> list[Finding]:
    """Static ``user.missing`` / ``compose.user-unset`` findings checked against the image's real
    ``Config.User`` as the engine shows it (``knowledge``: batten.live.imagefacts.ImageKnowledge):
    gone when the image runs as a non-root user (distroless ``:nonroot``, chainguard...), marked
    as confirmed when it runs as root (at the rule's severity, unless ``config``, the scan's
    batten.config.Config, sets that rule's severity: then the config's stays). Images the engine
    does not have change nothing."""
    overridden = set(getattr(config, "severity", None) or ())
    out: list[Finding] = []
    for f in findings:
        ref = _user_ref(f)
        facts = knowledge.facts(ref) if ref else None
        if facts is not None and facts.inspected:
            user = str(facts.user or "")
            uid = next((u for name, u, _g in facts.users or () if name == user.split(":")[0]), None)
            if not R.is_root_user(user) and uid != 0:
                continue  # the image's own default user is not root
            if f.rule_id == "compose.user-unset" and f.evidence.get("default_user") == "unknown":
                f.message = (f"service {f.target!r} has no user: and image {ref} runs as "
                             f"{user or 'root'} (its Config.User, read from the engine)")
                if f.severity is Severity.MEDIUM and f.rule.id not in overridden:  # the unknown user's
                    f.severity = f.rule.severity
            f.evidence = {**f.evidence, "image_user": user, "image_inspected": True}
        out.append(f)
    return out


# ---------------------------------------------------------------------- pin hints
PIN_FAMILIES = {"pkg.pin-apt": "apt", "pkg.pin-apk": "apk"}
_HINTS_SHOWN = 5


def _pin_candidates(f: Finding, project: Any) -> list[str]:
    """The images whose package database tells the versions a pkg.pin-* finding's packages have:
    the image of each compose service built from the finding's stage (or a later stage built on
    it), then the stage's base image."""
    refs: list[str] = []
    stage = getattr(f.subject, "stage", None)
    if project is not None and stage is not None and f.path:
        from batten.live.imagefacts import service_image

        for cp, svc in project.services_building(f.path):
            got = project.service_stage(svc)
            target = got[1] if got is not None else None
            while target is not None and target.index != stage.index:
                target = target.parent
            if target is not None:
                refs.append(service_image(project, cp, svc))
    base = f.evidence.get("base")
    if base and "$" not in str(base):
        refs.append(str(base))
    return list(dict.fromkeys(refs))


def pin_refs(findings: list[Finding], project: Any) -> list[str]:
    """Images that may tell the installed versions of unpinned apt/apk packages."""
    return list(dict.fromkeys(
        r for f in findings if f.rule_id in PIN_FAMILIES and f.origin == "static" and not f.suppressed
        for r in _pin_candidates(f, project)))


def refine_pin_findings(findings: list[Finding], contents: Mapping[str, Any], project: Any) -> list[Finding]:
    """pkg.pin-apt / pkg.pin-apk findings completed with the versions an image on the engine has
    (``contents``: image reference -> batten.live.imagecontent.ImageContent): the first image of
    the finding's candidates (the service's built image, then the base image) that has any of the
    packages names their versions and the pin to write. Names and versions come from the image's
    package database and pass a strict syntax check; others are left out."""
    for f in findings:
        family = PIN_FAMILIES.get(f.rule_id)
        if family is None or f.origin != "static":
            continue
        for ref in _pin_candidates(f, project):
            content = contents.get(ref)
            if content is None or not getattr(content, "packages", None):
                continue
            have = {}
            for word in f.evidence.get("packages") or ():
                version = content.installed(family, str(word))
                if version is not None:
                    have[str(word)] = version
            if not have:
                continue
            pins = [f"{name}={version}" for name, version in have.items()]
            more = f" (and {len(pins) - _HINTS_SHOWN} more)" if len(pins) > _HINTS_SHOWN else ""
            f.message = (f"{f.message}; image {ref} has {', '.join(pins[:_HINTS_SHOWN])}{more}: "
                         f"pin `{' '.join(pins[:_HINTS_SHOWN])}`")
            f.evidence = {**f.evidence, "installed": have, "installed_image": ref}
            break
    return findings


__all__ = [
    "CONFIG_CHECKS",
    "CONTENT_CHECKS",
    "PIN_FAMILIES",
    "ImageCtx",
    "applies_to_container",
    "image_refs",
    "judge_image",
    "pin_refs",
    "refine_pin_findings",
    "refine_user_findings",
]
