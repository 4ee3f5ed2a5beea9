"""Image references (`[registry/]repository[:tag][@digest]`): one parser for Dockerfiles, compose
files, fixers and the live view."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO_RE = re.compile(rf"{_REPO_COMPONENT}(?:/{_REPO_COMPONENT})*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]+")
_REGISTRY_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
)


def split_image_ref(ref: str) -> tuple[str, str | None, str | None]:
    """`reg:5000/ns/name:tag@sha256:..` -> (`reg:5000/ns/name`, `tag`, `sha256:..`): the split
    by `@` and the last `:` after the last `/`, without judging the parts (ImageRef.parse does).
    For what an engine reports, which need not be a valid reference."""
    rest, digest = ref, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
    return rest, tag, digest


@dataclass(slots=True)
class ImageRef:
    raw: str
    registry: str | None  # "ghcr.io", "localhost:5000"; None for Docker Hub
    repository: str  # as written minus registry: "python", "library/python", "bitnami/redis"
    tag: str | None
    digest: str | None  # "sha256:..."

    @property
    def name(self) -> str:
        """Last path component: "python"."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_docker_hub(self) -> bool:
        return self.registry is None or self.registry in (
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
        )

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    def __str__(self) -> str:
        return self.raw

    @classmethod
    def parse(cls, s: str) -> ImageRef | None:
        """Parse a reference; None for scratch, unresolved `$VAR`s and invalid references."""
        raw = s.strip()
        if not raw or "$" in raw or raw.lower() == "scratch" or any(c.isspace() for c in raw):
            return None
        rest, tag, digest = split_image_ref(raw)
        if digest is not None and not _DIGEST_RE.fullmatch(digest):
            return None
        if tag is not None and not _TAG_RE.fullmatch(tag):
            return None
        registry = None
        first, sep, remainder = rest.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
            if not _REGISTRY_RE.fullmatch(first):
                return None
            registry, rest = first, remainder
        if not _REPO_RE.fullmatch(rest):
            return None
        return cls(raw=raw, registry=registry, repository=rest, tag=tag, digest=digest)
