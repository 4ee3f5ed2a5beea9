"""Reading and writing files that may be hostile: the one reader and the one writer.

Reading (:func:`read_regular`): the open never blocks (``O_NONBLOCK``, so a FIFO planted as a
Dockerfile cannot hang a scan), only regular files are read, and never more than a cap.

Writing (:func:`write_file`): every file batten writes (fixed sources, ``.env``, ``.gitignore``,
the undo journal, the scan cache, reports) goes through here.

- The target's directory is opened component by component with ``O_NOFOLLOW`` below a root, so
  a path that leaves the project (``..``, a symlinked directory, a link swapped in meanwhile) is
  refused; a symlinked *file* inside the project is written at its real path.
- The new bytes go to a temp file created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (a planted
  ``x.tmp -> /etc/passwd`` cannot be followed) and replace the target by ``rename``, so a
  symlink at the target is replaced, never written through.
- Mode, owner, extended attributes and ACLs (``system.posix_acl_*`` are xattrs) are copied to
  the temp file; a file with several hard links, or whose attributes cannot be copied, is
  rewritten in place after the same checks instead, so its identity (inode, links,
  attributes) is kept.
- A file without write permission (0444) is refused unless ``force``.
- ``expected``: the bytes the file must still have (``None``: must not exist), checked under the
  same directory handle just before writing.
- Durability: the temp file is fsync'd before the rename, and the directory after it. A batch
  of files (``sync_dir=False``) fsyncs each directory once at its end instead (:func:`sync_dirs`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator

from batten.model import BattenError

ANY = object()  # `expected` sentinel: whatever the file holds
TEMP_PREFIX = ".batten-"
TEMP_SUFFIX = ".tmp"
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)


class WriteRefused(BattenError):
    """Nothing was written; the message says why."""


class NotRegularFile(OSError):
    """A FIFO, socket, device or directory where a file was expected."""


class TooLarge(OSError):
    """A file over the size cap."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"file is {size:,} bytes, over batten's {_human(limit)} cap")
        self.size = size
        self.limit = limit


def _human(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n:,} bytes"


_KINDS = {
    stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symlink",
}


def kind_of(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def read_regular(path: str, limit: int, *, dir_fd: int | None = None, nofollow: bool = False,
                 truncate: bool = False) -> bytes:
    """The bytes of a regular file, at most `limit` (TooLarge above it, or the first `limit`
    bytes when `truncate`). Never blocks on a FIFO; NotRegularFile for anything but a file."""
    flags = os.O_RDONLY | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC | (_O_NOFOLLOW if nofollow else 0)
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{kind_of(st.st_mode)}, not a regular file; not read")
        if st.st_size > limit and not truncate:
            raise TooLarge(st.st_size, limit)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            if not truncate:
                raise TooLarge(len(data), limit)  # grew while being read
            data = data[:limit]
        return data
    finally:
        os.close(fd)


def read_text_file(path: str, limit: int = 1 << 20) -> str | None:
    """A small auxiliary file (.env, .dockerignore, .gitignore) as text, or None when it is
    missing, unreadable, not a regular file or over the cap."""
    try:
        return read_regular(path, limit).decode("utf-8", errors="replace")
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def inside(root: str, real: str) -> bool:
    root = root.rstrip(os.sep) or os.sep
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def resolve_in_root(root: str, rel: str) -> str:
    """The real path a project-relative file is written to; refuses anything leaving the root."""
    if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
        raise WriteRefused(f"{rel}: outside the project root; not written")
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, rel))
    if not inside(root_real, real) or real == root_real:
        raise WriteRefused(f"{rel}: resolves to {real}, outside the project root; not written")
    return real


@contextlib.contextmanager
def open_dir(directory: str, *, root: str | None = None, create: bool = False,
             mode: int = 0o777, what: str = "") -> Iterator[int]:
    """A directory fd for `directory` (a real path). Below `root`, every component is opened
    with O_NOFOLLOW, so a symlink swapped in after the path was resolved is refused."""
    what = what or directory
    if root is None:
        if create:
            os.makedirs(directory, mode=mode, exist_ok=True)
        fd = os.open(directory, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    root_real = os.path.realpath(root)
    if not inside(root_real, directory):
        raise WriteRefused(f"{what}: outside the project root; not written")
    rest = os.path.relpath(directory, root_real)
    fd = os.open(root_real, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        for part in ([] if rest == "." else rest.split(os.sep)):
            try:
                nfd = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, mode, dir_fd=fd)
                nfd = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise WriteRefused(f"{what}: a directory on its path is a symlink or not a directory "
                                       "(changed since it was read?); not written") from None
                raise
            os.close(fd)
            fd = nfd
        yield fd
    finally:
        os.close(fd)


def _lstat(name: str, dfd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _xattrs(fd: int) -> dict[str, bytes] | None:
    """The file's extended attributes (ACLs included), or None when they cannot be listed."""
    try:
        return {name: os.getxattr(fd, name) for name in os.listxattr(fd)}
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
            return {}
        return None
    except AttributeError:  # pragma: no cover - platform without xattrs
        return {}


def temp_name() -> str:
    return f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"


def write_file(
    path: str,
    data: bytes,
    *,
    root: str | None = None,
    expected: object = ANY,
    mode: int | None = None,
    private: bool = False,
    force: bool = False,
    create_dirs: bool = False,
    tmp: str | None = None,
    label: str | None = None,
    sync_dir: bool = True,
) -> None:
    """Write `data` to `path` (absolute, or relative to `root`) as the module docstring says.

    `mode`: the mode of a new file (default 0600 when `private`, else 0666 & ~umask); an existing
    file keeps its mode (tightened to 0600 when `private`). `tmp`: the temp file's name (the undo
    journal records it to clean up after a crash). `sync_dir=False`: the caller fsyncs the
    directory (and those it creates) itself, once for a whole batch (:func:`sync_dirs`), before
    it records the batch as done. Raises WriteRefused with one line."""
    label = label or path
    if root is not None and os.path.isabs(path):
        real = os.path.realpath(path)
        if not inside(os.path.realpath(root), real):
            raise WriteRefused(f"{label}: resolves to {real}, outside the project root; not written")
    elif root is not None:
        real = resolve_in_root(root, path)
    else:
        real = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                            os.path.basename(path))
    directory, name = os.path.split(real)
    if not name or name in (".", ".."):
        raise WriteRefused(f"{label}: not a file name; not written")
    dir_mode = 0o700 if private else 0o777
    try:
        with open_dir(directory, root=root, create=create_dirs, mode=dir_mode, what=label) as dfd:
            _write_at(dfd, name, data, label=label, expected=expected, mode=mode, private=private,
                      force=force, tmp=tmp or temp_name(), sync_dir=sync_dir)
    except WriteRefused:
        raise
    except OSError as exc:
        raise WriteRefused(f"{label}: cannot write: {exc.strerror or exc}; original intact") from None


def _write_at(dfd: int, name: str, data: bytes, *, label: str, expected: object, mode: int | None,
              private: bool, force: bool, tmp: str, sync_dir: bool = True) -> None:
    st = _lstat(name, dfd)
    if st is not None and not stat.S_ISREG(st.st_mode) and not (stat.S_ISLNK(st.st_mode) and expected is ANY):
        raise WriteRefused(f"{label}: {kind_of(st.st_mode)}, not a regular file; not written")
    if st is not None and stat.S_ISLNK(st.st_mode):
        st = None  # an output path that is a symlink: the link is replaced, never followed
    if expected is not ANY:
        now = None
        if st is not None:
            try:
                now = read_regular(name, 1 << 31, dir_fd=dfd, nofollow=True)
            except OSError as exc:
                raise WriteRefused(f"{label}: cannot read before writing: {exc.strerror or exc}") from None
        if now != expected:
            if expected is None:
                raise WriteRefused(f"{label}: appeared on disk since the preview; not written")
            if now is None:
                raise WriteRefused(f"{label}: removed since it was read; not written")
            raise WriteRefused(f"{label}: changed on disk since it was read; re-run to preview again (not written)")
    if st is not None and not st.st_mode & 0o222 and not force:
        raise WriteRefused(f"{label}: read-only (mode {stat.S_IMODE(st.st_mode):04o}); not written "
                           "(--force writes it anyway)")
    if st is not None:
        new_mode = 0o600 if private else stat.S_IMODE(st.st_mode)
    elif mode is not None:
        new_mode = mode
    elif private:
        new_mode = 0o600
    else:
        umask = os.umask(0)
        os.umask(umask)
        new_mode = 0o666 & ~umask
    attrs: dict[str, bytes] | None = {}
    if st is not None:
        try:
            rfd = os.open(name, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=dfd)
        except OSError:
            attrs = None
        else:
            try:
                attrs = _xattrs(rfd)
            finally:
                os.close(rfd)
    if st is not None and (st.st_nlink > 1 or attrs is None):
        _write_in_place(dfd, name, data, st, new_mode, label)
        return
    try:
        _write_replace(dfd, name, data, st, new_mode, attrs or {}, label, tmp, sync_dir)
    except _KeepIdentity:
        assert st is not None
        _write_in_place(dfd, name, data, st, new_mode, label)


class _KeepIdentity(Exception):
    """The metadata cannot be copied to a new file: write the old one in place instead."""


def _write_replace(dfd: int, name: str, data: bytes, st: os.stat_result | None, new_mode: int,
                   attrs: dict[str, bytes], label: str, tmp: str, sync_dir: bool = True) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600, dir_fd=dfd)
    done = False
    try:
        try:
            _write_all(fd, data)
            if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:
                    raise _KeepIdentity from None
            os.fchmod(fd, new_mode)
            for key, value in attrs.items():
                try:
                    os.setxattr(fd, key, value)
                except OSError:
                    raise _KeepIdentity from None
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        done = True
        if sync_dir:
            with contextlib.suppress(OSError):
                os.fsync(dfd)
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)


def sync_dirs(directories: Iterable[str], *, root: str | None = None) -> None:
    """fsync each directory (a real path) once, deepest first, so the renames and new entries a
    batch made in them are durable; opened as write_file opens them (below `root`, no symlink
    followed). A directory that is gone is skipped."""
    for directory in sorted(set(directories), key=lambda d: (-d.count(os.sep), d)):
        try:
            with open_dir(directory, root=root) as dfd, contextlib.suppress(OSError):
                os.fsync(dfd)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise WriteRefused(f"{directory}: cannot sync: {exc.strerror or exc}") from None


def _write_in_place(dfd: int, name: str, data: bytes, st: os.stat_result, new_mode: int, label: str) -> None:
    """Rewrite an existing file's bytes keeping its inode (hard links, xattrs, ACLs, owner)."""
    fd = os.open(name, os.O_WRONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=dfd)
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
            raise WriteRefused(f"{label}: replaced on disk while being written; not written")
        _write_all(fd, data)
        os.ftruncate(fd, len(data))
        if stat.S_IMODE(now.st_mode) != new_mode:
            os.fchmod(fd, new_mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def remove_file(path: str, *, root: str | None = None, expected: object = ANY, label: str | None = None) -> None:
    """Delete a file batten created (undo), with the same path checks as writing."""
    label = label or path
    real = resolve_in_root(root, path) if root is not None else os.path.abspath(path)
    directory, name = os.path.split(real)
    try:
        with open_dir(directory, root=root, what=label) as dfd:
            st = _lstat(name, dfd)
            if st is None:
                return
            if not stat.S_ISREG(st.st_mode):
                raise WriteRefused(f"{label}: {kind_of(st.st_mode)}, not a regular file; not removed")
            if expected is not ANY and read_regular(name, 1 << 31, dir_fd=dfd, nofollow=True) != expected:
                raise WriteRefused(f"{label}: changed since batten wrote it; not removed")
            os.unlink(name, dir_fd=dfd)
    except WriteRefused:
        raise
    except OSError as exc:
        raise WriteRefused(f"{label}: cannot remove: {exc.strerror or exc}") from None


def private_dir(path: str) -> str:
    """Create (or tighten) a directory only its owner can read: 0700."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, 0o700)
    return path


__all__ = [
    "ANY", "NotRegularFile", "TooLarge", "WriteRefused", "inside", "private_dir", "read_regular",
    "read_text_file", "remove_file", "resolve_in_root", "write_file",
]
