"""Writing fixed files back: atomic, mode- and owner-preserving, refusing when a file changed on
disk since it was read or when its path leaves the project root; every write is journalled so
`batten fix --undo` (or `u` in the TUI) restores the previous bytes exactly."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass

from batten.model import BattenError
from batten.sources.project import Project

JOURNAL_DEPTH = 20


class WriteRefused(BattenError):
    """Nothing was written; the message says why."""


@dataclass(slots=True)
class PlannedWrite:
    path: str  # project-relative
    abspath: str  # resolved, inside the root
    data: bytes
    expected: bytes | None  # bytes the file must still have (None: must not exist)
    mode: int | None
    uid: int | None
    gid: int | None


def state_dir() -> str:
    base = os.environ.get("BATTEN_STATE_DIR")
    if not base:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        base = os.path.join(xdg, "batten")
    return base


def _journal_path(root: str) -> str:
    key = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:16]
    return os.path.join(state_dir(), "undo", f"{key}.json")


def _inside(root: str, path: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_target(root: str, rel: str) -> str:
    """The real path a project-relative file is written to; refuses anything leaving the root."""
    if os.path.isabs(rel) or rel.split("/")[0] == "..":
        raise WriteRefused(f"{rel}: outside the project root; not written")
    joined = os.path.join(root, rel)
    real = os.path.realpath(joined)
    if not _inside(root, real):
        raise WriteRefused(f"{rel}: resolves to {real}, outside the project root; not written")
    return real


def plan_writes(project: Project, texts: dict[str, str]) -> list[PlannedWrite]:
    out: list[PlannedWrite] = []
    for rel, text in texts.items():
        target = resolve_target(project.root, rel)
        pf = project.file(rel)
        if pf is not None and pf.source is not None:
            data = pf.source.encode(text)
            expected: bytes | None = pf.source.raw
        else:
            data = text.encode("utf-8", errors="surrogateescape")
            project.aux_text(rel)
            expected = project.aux_raw.get(rel)
        st = None
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(target)
        out.append(PlannedWrite(rel, target, data, expected,
                                st.st_mode & 0o7777 if st else None,
                                st.st_uid if st else None, st.st_gid if st else None))
    return out


def _check_unchanged(w: PlannedWrite) -> None:
    try:
        with open(w.abspath, "rb") as fh:
            now: bytes | None = fh.read()
    except FileNotFoundError:
        now = None
    except OSError as exc:
        raise WriteRefused(f"{w.path}: cannot read before writing: {exc.strerror}") from None
    if now != w.expected:
        if w.expected is None:
            raise WriteRefused(f"{w.path}: appeared on disk since the preview; not written")
        raise WriteRefused(f"{w.path}: changed on disk since it was read; re-run to preview again (not written)")


def _atomic_write(w: PlannedWrite) -> None:
    directory = os.path.dirname(w.abspath)
    if w.expected is None and not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".batten-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(w.data)
            fh.flush()
            os.fsync(fh.fileno())
        if w.mode is not None:
            os.chmod(tmp, w.mode)
        elif "/secrets/" in "/" + w.path or w.path.endswith(".env"):
            os.chmod(tmp, 0o600)  # a new file holding a secret is readable by its owner only
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        if w.uid is not None and w.gid is not None:
            st = os.stat(tmp)
            if (st.st_uid, st.st_gid) != (w.uid, w.gid):
                try:
                    os.chown(tmp, w.uid, w.gid)
                except PermissionError:
                    raise WriteRefused(f"{w.path}: cannot keep its owner {w.uid}:{w.gid}; not written") from None
        os.replace(tmp, w.abspath)
        tmp = ""
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_files(project: Project, texts: dict[str, str], *, journal: bool = True) -> list[str]:
    """Write every file or none of the checks fail; returns the paths written."""
    writes = [w for w in plan_writes(project, texts) if w.data != (w.expected or b"") or w.expected is None]
    for w in writes:
        _check_unchanged(w)
    done: list[PlannedWrite] = []
    try:
        for w in writes:
            try:
                _atomic_write(w)
            except OSError as exc:
                raise WriteRefused(f"{w.path}: cannot write: {exc.strerror or exc}; original intact") from None
            done.append(w)
    except WriteRefused:
        # roll back the files already replaced so the set stays consistent
        for w in done:
            rollback = PlannedWrite(w.path, w.abspath, w.expected or b"", w.data, w.mode, w.uid, w.gid)
            if w.expected is None:
                with contextlib.suppress(OSError):
                    os.unlink(w.abspath)
            else:
                with contextlib.suppress(OSError, WriteRefused):
                    _atomic_write(rollback)
        raise
    if journal and done:
        _record(project.root, done)
    return [w.path for w in done]


# ---------------------------------------------------------------------------------------------
# undo journal
# ---------------------------------------------------------------------------------------------


def _record(root: str, writes: Iterable[PlannedWrite]) -> None:
    path = _journal_path(root)
    entries = _load(path)
    entries.append({
        "root": os.path.realpath(root),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "files": [
            {
                "path": w.path,
                "before": base64.b64encode(w.expected).decode() if w.expected is not None else None,
                "after_sha256": hashlib.sha256(w.data).hexdigest(),
                "mode": w.mode,
            }
            for w in writes
        ],
    })
    entries = entries[-JOURNAL_DEPTH:]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(entries, fh)
    os.replace(tmp, path)


def _load(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, list) else []
    except (OSError, ValueError):
        return []


def last_write(root: str) -> dict | None:
    entries = _load(_journal_path(root))
    return entries[-1] if entries else None


def undo_last(root: str) -> list[str]:
    """Restore the files of the last write; refuses if any changed since batten wrote them."""
    path = _journal_path(root)
    entries = _load(path)
    if not entries:
        raise WriteRefused("nothing to undo: no write recorded for this project")
    entry = entries[-1]
    plans: list[PlannedWrite] = []
    for f in entry["files"]:
        target = resolve_target(root, f["path"])
        try:
            with open(target, "rb") as fh:
                now = fh.read()
        except FileNotFoundError:
            raise WriteRefused(f"{f['path']}: missing; cannot undo") from None
        if hashlib.sha256(now).hexdigest() != f["after_sha256"]:
            raise WriteRefused(f"{f['path']}: changed since batten wrote it; undo refused (nothing restored)")
        before = base64.b64decode(f["before"]) if f["before"] is not None else None
        st = os.stat(target)
        plans.append(PlannedWrite(f["path"], target, before if before is not None else b"", now,
                                  st.st_mode & 0o7777, st.st_uid, st.st_gid))
    restored: list[str] = []
    for p, f in zip(plans, entry["files"], strict=True):
        if f["before"] is None:
            os.unlink(p.abspath)
        else:
            _atomic_write(p)
        restored.append(p.path)
    entries.pop()
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(entries, fh)
    os.replace(tmp, path)
    return restored


__all__ = ["WriteRefused", "last_write", "resolve_target", "undo_last", "write_files"]
