"""A gateway that serves recorded engine JSON: fast unit tests, screenshots, demos.

A recording is a flat directory of JSON files (see ``record_engine``)::

    meta.json                 what was recorded, where (repo root at record time)
    info.json  version.json   GET /info, GET /version
    containers.json           GET /containers/json?all=1
    inspect-<name>.json       GET /containers/{id}/json
    image-<id12>.json         GET /images/{id}/json
    changes-<name>.json       GET /containers/{id}/changes
    stats-<name>.json         GET /containers/{id}/stats?stream=0
    top-<name>.json           GET /containers/{id}/top

Compose labels recorded with absolute paths (``com.docker.compose.project.config_files`` and
``.working_dir``) are rewritten from the recording's repo root to the current one.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from batten.live.endpoint import Endpoint
from batten.live.gateway import ContainerNotFound, EngineError

_LABELS_WITH_PATHS = (
    "com.docker.compose.project.config_files",
    "com.docker.compose.project.working_dir",
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def default_repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


class ReplayGateway:
    """EngineGateway over recorded JSON (read-only, no engine needed)."""

    def __init__(
        self,
        *,
        containers: list[dict[str, Any]],
        inspects: Mapping[str, dict[str, Any]],
        images: Mapping[str, dict[str, Any]],
        changes: Mapping[str, list[dict[str, Any]]] | None = None,
        stats: Mapping[str, dict[str, Any]] | None = None,
        tops: Mapping[str, dict[str, Any]] | None = None,
        info: dict[str, Any] | None = None,
        version: dict[str, Any] | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        self.endpoint = endpoint or Endpoint(url="replay://memory", source="replay")
        self._containers = containers
        self._inspects = {str(v.get("Id")): v for v in inspects.values()}
        self._images = {str(v.get("Id")): v for v in images.values()}
        self._changes = {self._key(k): v for k, v in (changes or {}).items()}
        self._stats = {self._key(k): v for k, v in (stats or {}).items()}
        self._tops = {self._key(k): v for k, v in (tops or {}).items()}
        self._info = info or {}
        self._version = version or {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dir(cls, path: str | Path, repo_root: str | Path | None = None) -> ReplayGateway:
        root = Path(path)
        if not (root / "containers.json").is_file():
            raise FileNotFoundError(f"no recorded engine in {root} (containers.json missing)")
        meta = _load(root / "meta.json") if (root / "meta.json").is_file() else {}
        recorded_root = meta.get("recorded_repo_root")
        new_root = str(repo_root) if repo_root is not None else str(default_repo_root())

        inspects: dict[str, dict[str, Any]] = {}
        for f in sorted(root.glob("inspect-*.json")):
            data = _load(f)
            if recorded_root and recorded_root != new_root:
                _rewrite_labels(data, recorded_root, new_root)
            inspects[f.stem[len("inspect-") :]] = data
        images = {f.stem: _load(f) for f in sorted(root.glob("image-*.json"))}

        def by_name(prefix: str) -> dict[str, Any]:
            return {f.stem[len(prefix) :]: _load(f) for f in sorted(root.glob(f"{prefix}*.json"))}

        containers = _load(root / "containers.json")
        if recorded_root and recorded_root != new_root:
            for c in containers:
                labels = c.get("Labels") or {}
                for key in _LABELS_WITH_PATHS:
                    if key in labels:
                        labels[key] = str(labels[key]).replace(recorded_root, new_root)
        gw = cls(
            containers=containers,
            inspects=inspects,
            images=images,
            info=_load(root / "info.json") if (root / "info.json").is_file() else {},
            version=_load(root / "version.json") if (root / "version.json").is_file() else {},
            endpoint=Endpoint(url=f"replay://{root}", source="replay"),
            changes=by_name("changes-"),
            stats=by_name("stats-"),
            tops=by_name("top-"),
        )
        return gw

    # ------------------------------------------------------------------ lookup
    def _key(self, ref: str) -> str:
        """Container id for an id, an id prefix or a name ('/name' or 'name')."""
        ref = str(ref)
        if ref in self._inspects:
            return ref
        name = "/" + ref.lstrip("/")
        for cid, data in self._inspects.items():
            if data.get("Name") == name:
                return cid
        matches = [cid for cid in self._inspects if cid.startswith(ref)]
        if len(matches) == 1 and len(ref) >= 4:
            return matches[0]
        return ref

    def names(self) -> list[str]:
        return sorted(str(d.get("Name", "")).lstrip("/") for d in self._inspects.values())

    # ------------------------------------------------------------------ EngineGateway
    def ping(self) -> bool:
        return True

    def version(self) -> dict[str, Any]:
        return copy.deepcopy(self._version)

    def info(self) -> dict[str, Any]:
        return copy.deepcopy(self._info)

    def list_containers(self, all: bool = False) -> list[dict[str, Any]]:
        out = [c for c in self._containers if all or c.get("State") == "running"]
        return copy.deepcopy(out)

    def inspect_container(self, id: str) -> dict[str, Any]:
        data = self._inspects.get(self._key(id))
        if data is None:
            raise ContainerNotFound(f"container {id} not found (removed?)")
        return copy.deepcopy(data)

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        ref = str(ref)
        short = ref.removeprefix("sha256:")
        for image_id, data in self._images.items():
            if ref == image_id or (
                len(short) >= 4 and image_id.removeprefix("sha256:").startswith(short)
            ):
                return copy.deepcopy(data)
            if ref in (data.get("RepoTags") or []) or ref in (data.get("RepoDigests") or []):
                return copy.deepcopy(data)
        return None

    def changes(self, id: str) -> list[dict[str, Any]]:
        key = self._key(id)
        if key not in self._inspects:
            raise ContainerNotFound(f"container {id} not found (removed?)")
        return copy.deepcopy(self._changes.get(key, []))

    def stats_once(self, id: str) -> dict[str, Any]:
        key = self._key(id)
        if key not in self._inspects:
            raise ContainerNotFound(f"container {id} not found (removed?)")
        return copy.deepcopy(self._stats.get(key, {}))

    def top(self, id: str) -> dict[str, Any]:
        key = self._key(id)
        if key not in self._inspects:
            raise ContainerNotFound(f"container {id} not found (removed?)")
        return copy.deepcopy(self._tops.get(key, {"Titles": [], "Processes": []}))

    def export_image(self, ref: str) -> Iterator[bytes]:
        """Image filesystems are not part of a recording."""
        raise EngineError(f"image {ref}: no export in this recording")

    def close(self) -> None:
        pass


def _rewrite_labels(inspect: dict[str, Any], old: str, new: str) -> None:
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    for key in _LABELS_WITH_PATHS:
        if key in labels:
            labels[key] = str(labels[key]).replace(old, new)


# ---------------------------------------------------------------------- recording
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.lstrip("/")) or "unnamed"


def _scrub(value: Any, replacements: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_scrub(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, replacements) for k, v in value.items()}
    return value


def record_engine(
    gateway: Any,
    out_dir: str | Path,
    *,
    containers: Iterable[str] | None = None,
    replacements: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> list[str]:
    """Record what ReplayGateway serves, using only the gateway's read-only calls.

    ``replacements`` rewrites strings everywhere (e.g. a temporary data-root to
    /var/lib/docker). Returns the file names written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    repl = dict(replacements or {})
    written: list[str] = []

    def dump(name: str, data: Any) -> None:
        (out / name).write_text(
            json.dumps(_scrub(data, repl), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        written.append(name)

    listed = gateway.list_containers(all=True)
    wanted = set(containers) if containers is not None else None
    kept = []
    for c in listed:
        names = [n.lstrip("/") for n in c.get("Names") or []]
        if wanted is None or wanted & set(names) or c.get("Id") in wanted:
            kept.append(c)
    dump("containers.json", kept)
    dump("info.json", gateway.info())
    dump("version.json", gateway.version())
    images_done: set[str] = set()
    for c in kept:
        data = gateway.inspect_container(c["Id"])
        name = _safe(str(data.get("Name") or c["Id"][:12]))
        dump(f"inspect-{name}.json", data)
        dump(f"changes-{name}.json", gateway.changes(c["Id"]))
        if (data.get("State") or {}).get("Running"):
            dump(f"stats-{name}.json", gateway.stats_once(c["Id"]))
            dump(f"top-{name}.json", gateway.top(c["Id"]))
        image_id = str(data.get("Image") or "")
        if image_id and image_id not in images_done:
            images_done.add(image_id)
            image = gateway.inspect_image(image_id)
            if image is not None:
                dump(f"image-{image_id.removeprefix('sha256:')[:12]}.json", image)
    dump("meta.json", dict(meta or {}))
    return written
