"""The paths git tracks, read from the repository's index file without running git.

A tracked file is scanned whatever `.gitignore` says (ignore rules only apply to untracked
files). Running `git ls-files` inside a repository batten is asked to inspect would execute
that repository's configured hooks and helpers (core.fsmonitor...), so the index is parsed
here: format versions 2, 3 and 4, SHA-1 or SHA-256 object names, size-capped, never blocking.
"""

from __future__ import annotations

import os
import re
import struct

from batten.fsio import read_regular

MAX_INDEX = 256 << 20
MAX_ENTRIES = 2_000_000
_OBJECT_FORMAT = re.compile(rb"^\s*objectformat\s*=\s*sha256\s*$", re.IGNORECASE | re.MULTILINE)


def find_git_dir(start: str) -> tuple[str, str] | None:
    """(work tree top, git directory) for `start` or its nearest parent holding `.git`."""
    d = os.path.realpath(start)
    while True:
        dot = os.path.join(d, ".git")
        if os.path.isdir(dot):
            return d, dot
        if os.path.isfile(dot):  # a worktree or submodule: "gitdir: <path>"
            try:
                text = read_regular(dot, 4096).decode("utf-8", "replace").strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                target = text[len("gitdir:"):].strip()
                return d, os.path.normpath(os.path.join(d, target))
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """git's offset varint (index v4 path prefix lengths)."""
    b = data[pos]
    pos += 1
    value = b & 0x7F
    while b & 0x80:
        b = data[pos]
        pos += 1
        value = ((value + 1) << 7) | (b & 0x7F)
    return value, pos


def parse_index(data: bytes, hash_size: int = 20) -> list[str]:
    """The paths in an index file's bytes; ValueError when it is not one batten can read."""
    if len(data) < 12 or data[:4] != b"DIRC":
        raise ValueError("not a git index")
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3, 4):
        raise ValueError(f"git index version {version}")
    if count > MAX_ENTRIES:
        raise ValueError(f"git index with {count:,} entries")
    pos = 12
    fixed = 40 + hash_size + 2  # stat data, object name, flags
    paths: list[str] = []
    prev = b""
    for _ in range(count):
        start = pos
        if pos + fixed > len(data):
            raise ValueError("truncated git index")
        flags = struct.unpack(">H", data[pos + fixed - 2 : pos + fixed])[0]
        pos += fixed
        if version >= 3 and flags & 0x4000:
            pos += 2  # extended flags
        if version == 4:
            strip, pos = _varint(data, pos)
            end = data.index(b"\0", pos)
            if strip > len(prev):
                raise ValueError("corrupt git index path")
            name = prev[: len(prev) - strip] + data[pos:end]
            pos = end + 1
        else:
            end = data.index(b"\0", pos)
            name = data[pos:end]
            pos = start + ((end - start) // 8 + 1) * 8  # NUL padding to a multiple of 8
        prev = name
        paths.append(name.decode("utf-8", "surrogateescape"))
    return paths


def tracked_paths(root: str) -> set[str] | None:
    """Paths git tracks below `root`, relative to it (forward slashes); None when `root` is not
    in a git work tree or its index cannot be read."""
    found = find_git_dir(root)
    if found is None:
        return None
    top, git_dir = found
    try:
        data = read_regular(os.path.join(git_dir, "index"), MAX_INDEX)
    except OSError:
        return None
    hash_size = 20
    try:
        if _OBJECT_FORMAT.search(read_regular(os.path.join(git_dir, "config"), 1 << 20)):
            hash_size = 32
    except OSError:
        pass
    try:
        paths = parse_index(data, hash_size)
    except (ValueError, IndexError, struct.error):
        return None
    real_root = os.path.realpath(root)
    prefix = os.path.relpath(real_root, top).replace(os.sep, "/")
    if prefix == ".":
        return set(paths)
    cut = prefix + "/"
    return {p[len(cut):] for p in paths if p.startswith(cut)}
