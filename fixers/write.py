"""Writing fixed files back, all or nothing as far as a user can tell, with an undo journal.

Every file goes through :func:`batten.fsio.write_file` (no symlink followed out of the project,
O_EXCL temp files, mode/owner/xattrs/hard links kept, read-only files refused unless `force`,
refused when a file changed on disk since it was read).

A multi-file write runs under a per-project lock (two `batten fix --write` at once: the second
waits briefly, then says so) in three steps: the journal entry is written first as an intent
(status "pending": the previous bytes of every file and the temp name each will use), then the
files, then the entry is marked complete. A failure rolls back the files already replaced; a
crash (kill -9, power loss) leaves a pending entry that the next run offers to undo
(`batten fix --undo` restores whichever files were replaced and removes stray temp files).

The journal holds the files' previous bytes, secrets included: it is 0600 in 0700 directories.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import posixpath
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from batten.fixers.edits import holds_secret
from batten.fsio import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    WriteRefused,
    private_dir,
    read_regular,
    remove_file,
    resolve_in_root,
    sync_dirs,
    temp_name,
    write_file,
)
from batten.model import BattenError
from batten.sources.project import Project

JOURNAL_DEPTH = 20
LOCK_WAIT = 5.0  # seconds a second writer waits for the first


class JournalError(BattenError):
    """The undo journal cannot be read or written (corrupt file, full disk...)."""


@dataclass(slots=True)
class PlannedWrite:
    path: str  # project-relative
    abspath: str  # resolved, inside the root
    data: bytes
    expected: bytes | None  # bytes the file must still have (None: must not exist)
    private: bool = False  # holds a secret: 0600
    tmp: str = ""


def state_dir() -> str:
    base = os.environ.get("BATTEN_STATE_DIR")
    if not base:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        base = os.path.join(xdg, "batten")
    return base


def _key(root: str) -> str:
    return hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:16]


def _journal_path(root: str) -> str:
    return os.path.join(state_dir(), "undo", f"{_key(root)}.json")


def resolve_target(root: str, rel: str) -> str:
    """The real path a project-relative file is written to; refuses anything leaving the root."""
    return resolve_in_root(root, rel)


def plan_writes(project: Project, texts: dict[str, str]) -> list[PlannedWrite]:
    out: list[PlannedWrite] = []
    by_real: dict[str, PlannedWrite] = {}
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
        w = PlannedWrite(rel, target, data, expected, holds_secret(rel))
        other = by_real.get(target)
        if other is not None:  # two paths, one file (a symlink alias): written once
            if other.data != data:
                raise WriteRefused(f"{rel} and {other.path} are the same file with different fixes; not written")
            continue
        by_real[target] = w
        out.append(w)
    return out


@contextlib.contextmanager
def project_lock(root: str, wait: float = LOCK_WAIT, *, required: bool = True) -> Iterator[None]:
    """An exclusive lock per project (a flock in the state directory). Without `required`, a
    state directory that cannot be used means no lock (a write without a journal)."""
    directory = os.path.join(state_dir(), "undo")
    try:
        private_dir(directory)
        fd = os.open(os.path.join(directory, f"{_key(root)}.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if not required:
            yield
            return
        raise JournalError(f"cannot use the state directory {directory}: {exc.strerror or exc}; "
                           "nothing written") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriteRefused("another batten is writing fixes to this project; "
                                       "nothing written (re-run when it has finished)") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_files(project: Project, texts: dict[str, str], *, journal: bool = True, force: bool = False) -> list[str]:
    """Write every file or none; returns the paths written."""
    writes = [w for w in plan_writes(project, texts) if w.data != (w.expected or b"") or w.expected is None]
    if not writes:
        return []
    root = project.root
    with project_lock(root, required=journal):
        entries = _load(_journal_path(root)) if journal else []
        if journal and entries and entries[-1].get("status") == "pending":
            raise WriteRefused(interrupted_message(entries[-1]) + "; nothing written")
        dirs: set[str] = set()  # fsync'd once each, after the last file, before the journal says done
        for w in writes:  # every check before the first byte is written
            _precheck(root, w, force)
            w.tmp = temp_name()
            dirs.update(_dirs_to_sync(root, w.abspath))
        entry = _entry(root, writes) if journal else None
        if entry is not None:
            entries.append(entry)
            _save(root, entries)
        done: list[PlannedWrite] = []
        try:
            for w in writes:
                write_file(w.path, w.data, root=root, expected=w.expected, private=w.private,
                           force=force, create_dirs=w.expected is None, tmp=w.tmp, sync_dir=False)
                done.append(w)
            sync_dirs(dirs, root=root)
        except BaseException:
            _rollback(root, done)
            if entry is not None:
                entries.remove(entry)
                with contextlib.suppress(BattenError):
                    _save(root, entries)
            raise
        if entry is not None:
            entry["status"] = "complete"
            _save(root, entries[-JOURNAL_DEPTH:])
    return [w.path for w in done]


def _dirs_to_sync(root: str, abspath: str) -> list[str]:
    """The file's directory and, for directories the write will create, each parent up to the
    first that exists (its new entry must be durable too)."""
    out = []
    d = os.path.dirname(abspath)
    top = os.path.realpath(root)
    while True:
        out.append(d)
        if os.path.isdir(d) or d == top or os.path.dirname(d) == d:
            return out
        d = os.path.dirname(d)


def _precheck(root: str, w: PlannedWrite, force: bool) -> None:
    try:
        now: bytes | None = read_regular(w.abspath, 1 << 31)
    except FileNotFoundError:
        now = None
    except OSError as exc:
        raise WriteRefused(f"{w.path}: cannot read before writing: {exc.strerror or exc}") from None
    if now != w.expected:
        if w.expected is None:
            raise WriteRefused(f"{w.path}: appeared on disk since the preview; not written")
        raise WriteRefused(f"{w.path}: changed on disk since it was read; re-run to preview again (not written)")
    if now is not None and not force and not os.stat(w.abspath).st_mode & 0o222:
        raise WriteRefused(f"{w.path}: read-only (mode {os.stat(w.abspath).st_mode & 0o7777:04o}); "
                           "nothing written (--force writes it anyway)")


def _rollback(root: str, done: list[PlannedWrite]) -> None:
    for w in reversed(done):
        with contextlib.suppress(BattenError, OSError):
            if w.expected is None:
                remove_file(w.path, root=root, expected=w.data)
            else:
                write_file(w.path, w.expected, root=root, expected=w.data, force=True)


# ---------------------------------------------------------------------------------------------
# undo journal
# ---------------------------------------------------------------------------------------------


def _entry(root: str, writes: Iterable[PlannedWrite]) -> dict:
    return {
        "root": os.path.realpath(root),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "status": "pending",
        "files": [
            {
                "path": w.path,
                "before": base64.b64encode(w.expected).decode() if w.expected is not None else None,
                "after_sha256": hashlib.sha256(w.data).hexdigest(),
                "tmp": w.tmp,
            }
            for w in writes
        ],
    }


def _save(root: str, entries: list[dict]) -> None:
    path = _journal_path(root)
    try:
        private_dir(os.path.dirname(path))
    except OSError as exc:
        raise JournalError(f"cannot create the state directory {os.path.dirname(path)}: "
                           f"{exc.strerror or exc}; nothing written") from None
    try:
        write_file(path, json.dumps(entries).encode(), private=True, label=f"undo journal {path}")
    except WriteRefused as exc:
        raise JournalError(str(exc)) from None


def _valid_entry(e: object) -> bool:
    if not isinstance(e, dict) or not isinstance(e.get("files"), list):
        return False
    for f in e["files"]:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str) \
                or not isinstance(f.get("after_sha256"), str) \
                or not (f.get("before") is None or isinstance(f.get("before"), str)):
            return False
        if f["before"] is not None:
            try:
                base64.b64decode(f["before"], validate=True)
            except (binascii.Error, ValueError):
                return False
    return True


def _load(path: str) -> list[dict]:
    try:
        raw = read_regular(path, 256 << 20)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(f"cannot read the undo journal {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, list) or not all(_valid_entry(e) for e in data):
        raise JournalError(f"the undo journal {path} is corrupt; move it away to go on "
                           "(undo history of this project is then lost)")
    return data


def last_write(root: str) -> dict | None:
    entries = _load(_journal_path(root))
    return entries[-1] if entries else None


def interrupted_write(root: str) -> dict | None:
    """The journal entry of a write that did not complete (crash, kill -9), if any."""
    try:
        entry = last_write(root)
    except JournalError:
        return None
    return entry if entry is not None and entry.get("status") == "pending" else None


def interrupted_message(entry: dict) -> str:
    n = len(entry.get("files", []))
    return (f"a write of {n} file(s) started at {entry.get('time', '?')} did not complete; "
            "`batten fix --undo` (or u in the TUI) restores those files as they were before it")


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


UndoStep = tuple[dict, "bytes | None", "bytes | None"]  # journal file entry, bytes to restore, bytes now


def plan_undo(root: str) -> tuple[dict, list[UndoStep]]:
    """The last write and what undoing it restores, checked as `undo_last` checks it (raises
    WriteRefused), so a preview never shows an undo that would then be refused."""
    return _plan_undo(root, _load(_journal_path(root)))


def _plan_undo(root: str, entries: list[dict]) -> tuple[dict, list[UndoStep]]:
    if not entries:
        raise WriteRefused("nothing to undo: no write recorded for this project")
    entry = entries[-1]
    pending = entry.get("status") == "pending"
    plans: list[UndoStep] = []
    for f in entry["files"]:
        target = resolve_target(root, f["path"])
        try:
            now: bytes | None = read_regular(target, 1 << 31)
        except FileNotFoundError:
            now = None
        except OSError as exc:
            raise WriteRefused(f"{f['path']}: cannot read: {exc.strerror or exc}; undo refused") from None
        before = base64.b64decode(f["before"]) if f["before"] is not None else None
        if _sha(now) == f["after_sha256"]:
            plans.append((f, before, now))
        elif pending and now == before:
            continue  # the interrupted write had not reached this file
        elif now is None:
            raise WriteRefused(f"{f['path']}: missing; cannot undo (nothing restored)")
        else:
            raise WriteRefused(f"{f['path']}: changed since batten wrote it; undo refused (nothing restored)")
    return entry, plans


def undo_last(root: str) -> list[str]:
    """Restore the files of the last write; refuses if any changed since batten wrote them.
    A pending (interrupted) write is undone as far as it got; its temp files are removed."""
    with project_lock(root):
        path = _journal_path(root)
        entries = _load(path)
        entry, plans = _plan_undo(root, entries)
        restored: list[str] = []
        for f, before, now in plans:
            if before is None:
                remove_file(f["path"], root=root, expected=now)
            else:
                write_file(f["path"], before, root=root, expected=now, force=True)
            restored.append(f["path"])
        for f in entry["files"]:
            _remove_temp(root, f)
        entries.pop()
        _save(root, entries)
        return restored


def _remove_temp(root: str, f: dict) -> None:
    tmp = f.get("tmp")
    if not isinstance(tmp, str) or not (tmp.startswith(TEMP_PREFIX) and tmp.endswith(TEMP_SUFFIX)) or "/" in tmp:
        return
    rel = posixpath.join(posixpath.dirname(f["path"]), tmp)
    with contextlib.suppress(BattenError, OSError):
        remove_file(rel, root=root)


__all__ = [
    "JournalError", "WriteRefused", "interrupted_message", "interrupted_write", "last_write",
    "plan_undo", "resolve_target", "undo_last", "write_files",
]
