"""Read an image's filesystem from the engine's image export, as a stream, within bounds.

``read_export`` consumes the byte chunks of ``GET /images/{name}/get`` (a ``docker save``
archive: legacy ``<id>/layer.tar`` entries or an OCI layout with ``blobs/sha256/...``) without
writing anything to disk. Each layer tar inside the export is parsed as a stream while the
export streams by: only its entry list (path, type, mode, owner, size, link target) and the
content of a few small files (``/etc/passwd``, ``/etc/group``, ``/etc/shadow``, ``os-release``,
and the dpkg and apk package databases, each capped) are kept. When the export's
``manifest.json`` arrives (usually last), the layers are applied in order with their whiteouts
(``.wh.<name>`` deletes, ``.wh..wh..opq`` empties a directory).

Everything the engine sends is hostile input: the export is capped in bytes, gzip layers in
decompressed bytes, the whole read by a deadline, the entry count by a limit; paths are
normalised (``..`` cannot climb above ``/``) and nothing is ever extracted.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from batten.model import BattenError

MIB = 1024 * 1024
MAX_EXPORT_BYTES = 4 * 1024 * MIB
MAX_UNPACKED_BYTES = 8 * 1024 * MIB
MAX_ENTRIES = 1_000_000
DEADLINE_S = 120.0
MAX_CONTENT_BYTES = 1 * MIB  # per file of interest
MAX_PACKAGE_DB_BYTES = 8 * MIB  # a package database (dpkg status of a large image: a few MiB)
MAX_KEPT_BYTES = 32 * MIB  # content kept over all layers of one export
_MAX_META_BYTES = 4 * MIB  # manifest.json, image config, OCI index

# Files whose content batten reads (everything else: names and modes only).
CONTENT_PATHS: frozenset[str] = frozenset(
    {
        "/etc/passwd",
        "/etc/group",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/os-release",
        "/usr/lib/os-release",
    }
)

# Package databases: which version of each package the image has (pin hints).
PACKAGE_DB_PATHS: frozenset[str] = frozenset(
    {
        "/var/lib/dpkg/status",
        "/lib/apk/db/installed",
        "/usr/lib/apk/db/installed",
    }
)

DIR, FILE, SYMLINK, HARDLINK, OTHER = "dir", "file", "symlink", "hardlink", "other"


class ImageReadError(BattenError):
    """The export could not be read within bounds (one line, says which bound)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of the image's merged filesystem."""

    path: str  # absolute, normalised
    kind: str  # dir | file | symlink | hardlink | other
    mode: int  # permission bits incl. setuid/setgid/sticky (0o7777)
    uid: int
    gid: int
    size: int
    link: str = ""  # symlink / hardlink target as stored

    @property
    def setuid(self) -> bool:
        return bool(self.mode & 0o4000)

    @property
    def setgid(self) -> bool:
        return bool(self.mode & 0o2000)

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


@dataclass(slots=True)
class ImageFS:
    """The merged filesystem of an image: entries by path, and the small files read."""

    entries: dict[str, Entry] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # the image config from the export
    layers: int = 0
    export_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def resolve(self, path: str, hops: int = 16) -> Entry | None:
        """The entry a path leads to, following symlinks (and hardlinks) inside the image."""
        path = norm_path(path)
        for _ in range(hops):
            entry = self._lookup(path)
            if entry is None:
                return None
            if entry.kind == SYMLINK:
                base = posixpath.dirname(path)
                path = norm_path(posixpath.join(base, entry.link))
                continue
            if entry.kind == HARDLINK:
                path = norm_path(entry.link)
                continue
            return entry
        return None

    def _lookup(self, path: str) -> Entry | None:
        entry = self.entries.get(path)
        if entry is not None or path == "/":
            return entry
        # a symlinked parent directory (/bin -> usr/bin on merged-/usr systems)
        parent, name = posixpath.split(path)
        parent_entry = self.entries.get(parent)
        if parent_entry is not None and parent_entry.kind == SYMLINK:
            target = norm_path(posixpath.join(posixpath.dirname(parent), parent_entry.link))
            return self.entries.get(posixpath.join(target, name))
        return None

    def read(self, path: str) -> bytes | None:
        """Content of a file of interest (following symlinks), or None."""
        path = norm_path(path)
        if path in self.contents:
            return self.contents[path]
        entry = self.entries.get(path)
        for _ in range(16):
            if entry is None or entry.kind not in (SYMLINK, HARDLINK):
                break
            base = posixpath.dirname(path) if entry.kind == SYMLINK else "/"
            path = norm_path(posixpath.join(base, entry.link))
            if path in self.contents:
                return self.contents[path]
            entry = self.entries.get(path)
        return None


def norm_path(name: str) -> str:
    """'./etc//passwd', 'etc/passwd', '/../etc/passwd' -> '/etc/passwd'."""
    return posixpath.normpath("/" + name.lstrip("/")) if name else "/"


# ---------------------------------------------------------------------- bounded streams
class _Budget:
    """Deadline and byte caps shared by every reader of one export."""

    def __init__(self, max_bytes: int, max_unpacked: int, deadline: float, what: str) -> None:
        self.max_bytes, self.max_unpacked = max_bytes, max_unpacked
        self.deadline_s = deadline
        self.deadline = time.monotonic() + deadline
        self.what = what
        self.read = 0
        self.unpacked = 0
        self.entries = 0
        self.kept = 0  # bytes of file content kept
        self.notes: list[str] = []

    def keep(self, path: str, size: int) -> bool:
        """Whether a file of interest of `size` bytes may be read (its own cap, and all content
        kept over the export's layers); a file left out is noted, not an error."""
        cap = MAX_PACKAGE_DB_BYTES if path in PACKAGE_DB_PATHS else MAX_CONTENT_BYTES
        if size > cap or self.kept + size > MAX_KEPT_BYTES:
            self.notes.append(f"{path} not read ({size} bytes: over {min(cap, MAX_KEPT_BYTES) // MIB} MiB)")
            return False
        self.kept += size
        return True

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ImageReadError(
                f"reading image {self.what} took longer than {self.deadline_s:g}s (stopped)"
            )

    def count(self, n: int) -> None:
        self.read += n
        if self.read > self.max_bytes:
            raise ImageReadError(
                f"image {self.what} export is larger than {self.max_bytes // MIB} MiB (stopped)"
            )
        self.check_time()

    def count_unpacked(self, n: int) -> None:
        self.unpacked += n
        if self.unpacked > self.max_unpacked:
            raise ImageReadError(
                f"image {self.what} layers unpack to more than {self.max_unpacked // MIB} MiB "
                "(stopped)"
            )
        self.check_time()

    def count_entry(self, limit: int) -> None:
        self.entries += 1
        if self.entries > limit:
            raise ImageReadError(f"image {self.what} has more than {limit} files (stopped)")


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks, counted against the budget."""

    def __init__(self, chunks: Iterable[bytes], budget: _Budget) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            self._budget.check_time()
            try:
                chunk = next(self._it)
            except StopIteration:
                return 0
            if chunk:
                self._budget.count(len(chunk))
                self._buf = bytes(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _Prefixed(io.RawIOBase):
    """Bytes already peeked, then the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


class _Gunzip(io.RawIOBase):
    """Streaming gzip decompression with the decompressed size counted (no bombs)."""

    def __init__(self, raw: BinaryIO, budget: _Budget) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._budget = budget
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        want = len(b)
        while True:
            if self._z.unconsumed_tail:
                out = self._z.decompress(self._z.unconsumed_tail, want)
            elif self._eof:
                return 0
            else:
                data = self._raw.read(64 * 1024)
                if not data:
                    self._eof = True
                    out = self._z.flush()
                elif self._z.eof:  # concatenated members / trailing garbage: stop here
                    self._eof = True
                    continue
                else:
                    out = self._z.decompress(data, want)
            if out:
                self._budget.count_unpacked(len(out))
                n = len(out)
                b[:n] = out
                return n


# ---------------------------------------------------------------------- layers
@dataclass(slots=True)
class _Layer:
    entries: list[Entry] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)  # paths deleted
    opaque: list[str] = field(default_factory=list)  # directories emptied
    contents: dict[str, bytes] = field(default_factory=dict)


def _kind(member: tarfile.TarInfo) -> str:
    if member.isdir():
        return DIR
    if member.issym():
        return SYMLINK
    if member.islnk():
        return HARDLINK
    if member.isreg():
        return FILE
    return OTHER


def _read_layer(stream: BinaryIO, budget: _Budget, max_entries: int) -> _Layer:
    layer = _Layer()
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                budget.count_entry(max_entries)
                path = norm_path(member.name)
                base = posixpath.basename(path)
                if base.startswith(".wh."):
                    parent = posixpath.dirname(path)
                    if base == ".wh..wh..opq":
                        layer.opaque.append(parent)
                    elif not base.startswith(".wh..wh."):  # other aufs metadata: ignore
                        layer.whiteouts.append(posixpath.join(parent, base[4:]))
                    continue
                kind = _kind(member)
                link = member.linkname or ""
                if kind == HARDLINK:
                    link = norm_path(link)
                size = int(member.size) if kind == FILE else 0
                mode = member.mode & 0o7777
                layer.entries.append(
                    Entry(path, kind, mode, int(member.uid), int(member.gid), size, link)
                )
                if kind == FILE and (path in CONTENT_PATHS or path in PACKAGE_DB_PATHS) and \
                        budget.keep(path, int(member.size)):
                    fh = tar.extractfile(member)
                    if fh is not None:
                        layer.contents[path] = fh.read(int(member.size))
                budget.check_time()
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ImageReadError(f"image {budget.what}: a layer is not a readable tar ({exc})") from None
    return layer


def _layer_stream(fh: BinaryIO, budget: _Budget) -> tuple[str, BinaryIO]:
    """Peek a member: ('tar'|'gzip'|'empty'|'zstd'|'other', stream starting at byte 0)."""
    head = fh.read(512)
    stream: BinaryIO = _Prefixed(head, fh)  # type: ignore[assignment]
    if head[:2] == b"\x1f\x8b":
        return "gzip", io.BufferedReader(_Gunzip(stream, budget))  # type: ignore[arg-type]
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd", stream
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar", io.BufferedReader(stream)  # type: ignore[arg-type]
    if len(head) == 512 and not head.strip(b"\0"):
        return "empty", stream
    return "other", stream


def _read_upto(stream: BinaryIO, limit: int) -> bytes:
    """Up to `limit` bytes, to the end of the stream (a raw stream's read may return fewer: a
    manifest.json longer than the 512 bytes peeked must not arrive cut)."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = stream.read(limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _apply(fs: ImageFS, layer: _Layer) -> None:
    gone = set(layer.whiteouts)
    emptied = set(layer.opaque)
    if gone or emptied:

        def removed(path: str) -> bool:
            if path in gone:
                return True
            cur = path
            while cur != "/":
                cur = posixpath.dirname(cur)
                if cur in gone or cur in emptied:
                    return True
            return False

        fs.entries = {p: e for p, e in fs.entries.items() if not removed(p)}
        fs.contents = {p: c for p, c in fs.contents.items() if not removed(p)}
    for entry in layer.entries:
        old = fs.entries.get(entry.path)
        if old is not None and old.kind == DIR and entry.kind != DIR:
            prefix = entry.path.rstrip("/") + "/"
            fs.entries = {p: e for p, e in fs.entries.items() if not p.startswith(prefix)}
        fs.entries[entry.path] = entry
        if entry.path in fs.contents and entry.path not in layer.contents:
            del fs.contents[entry.path]  # replaced by something not read (too big, a link)
    fs.contents.update(layer.contents)


# ---------------------------------------------------------------------- export
def read_export(
    chunks: Iterable[bytes],
    what: str = "image",
    *,
    max_bytes: int = MAX_EXPORT_BYTES,
    max_unpacked: int = MAX_UNPACKED_BYTES,
    max_entries: int = MAX_ENTRIES,
    deadline: float = DEADLINE_S,
) -> ImageFS:
    """Read an image export stream into an :class:`ImageFS` (no disk writes, bounded).

    Raises :class:`ImageReadError` with one line when a bound is hit or the export is not
    a readable ``docker save`` archive.
    """
    budget = _Budget(max_bytes, max_unpacked, deadline, what)
    raw = io.BufferedReader(_ChunkReader(chunks, budget), buffer_size=256 * 1024)
    layers: dict[str, _Layer] = {}
    meta: dict[str, Any] = {}
    links: dict[str, str] = {}  # legacy format: duplicate layer.tar stored as a symlink
    notes: list[str] = []
    try:
        with tarfile.open(fileobj=raw, mode="r|") as outer:
            for member in outer:
                budget.count_entry(max_entries)
                name = norm_path(member.name).lstrip("/")
                if member.issym() or member.islnk():
                    target = member.linkname
                    if member.issym():
                        target = posixpath.join(posixpath.dirname(name), target)
                    links[name] = norm_path(target).lstrip("/")
                    continue
                if not member.isreg():
                    continue
                fh = outer.extractfile(member)
                if fh is None:
                    continue
                kind, stream = _layer_stream(fh, budget)  # type: ignore[arg-type]
                if kind in ("tar", "gzip"):
                    layers[name] = _read_layer(stream, budget, max_entries)
                elif kind == "empty":
                    layers[name] = _Layer()
                elif kind == "zstd":
                    notes.append(f"{name}: zstd-compressed layer not read")
                elif member.size <= _MAX_META_BYTES and (
                    name.endswith(".json") or name.startswith("blobs/")
                ):
                    data = _read_upto(stream, _MAX_META_BYTES + 1)
                    try:
                        meta[name] = json.loads(data)
                    except ValueError:
                        pass
    except ImageReadError:
        raise
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ImageReadError(f"image {what}: the export is not a readable archive ({exc})") from None
    return _assemble(layers, meta, links, notes, budget, what)


def _assemble(
    layers: dict[str, _Layer],
    meta: dict[str, Any],
    links: dict[str, str],
    notes: list[str],
    budget: _Budget,
    what: str,
) -> ImageFS:
    manifest = meta.get("manifest.json")
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise ImageReadError(f"image {what}: the export has no manifest.json")
    first = manifest[0]
    fs = ImageFS(export_bytes=budget.read, notes=[*notes, *budget.notes[:20]])
    config = meta.get(str(first.get("Config") or ""))
    if isinstance(config, dict):
        fs.config = config
    order = [str(x) for x in first.get("Layers") or [] if isinstance(x, str)]
    for name in order:
        key = norm_path(name).lstrip("/")
        for _ in range(8):
            if key in layers or key not in links:
                break
            key = links[key]
        layer = layers.get(key)
        if layer is None:
            notes.append(f"layer {name} missing from the export")
            continue
        _apply(fs, layer)
        fs.layers += 1
    return fs


__all__ = [
    "CONTENT_PATHS",
    "PACKAGE_DB_PATHS",
    "Entry",
    "ImageFS",
    "ImageReadError",
    "norm_path",
    "read_export",
]
