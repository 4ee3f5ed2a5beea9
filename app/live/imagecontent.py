"""What an image's filesystem shows: its users, groups, special files, programs, leftovers.

``image_content(gateway, ref)`` inspects the image (never pulls it), reads its filesystem through
the export (:mod:`batten.live.imagefs`, bounded, nothing extracted) and reduces it to an
:class:`ImageContent`: accounts and groups (from ``/etc/passwd``, ``/etc/group``, and whether
each account's password is empty, locked or set, from ``/etc/shadow``; the hashes themselves
are never kept), setuid/setgid files, the programs on the usual PATH directories (``sh``,
``wget``, ``curl``, ``nc``, ``python3``...), build leftovers (keys, ``.git``, credentials
files: names only, never their content), os-release, the versions of the installed dpkg and apk
packages (pin hints), and the image config's User,
Healthcheck and ExposedPorts. ``with_content`` hands the parts fixes ask about to the
:class:`batten.live.imagefacts.ImageFacts` interface.

Contents are cached by image id (an image id names its content, so they never go stale) under
the cache directory (``$BATTEN_CACHE_DIR`` or ``$XDG_CACHE_HOME/batten``) in ``images/``, with
mode 0700 for the directory and 0600 for the files. A failed read is remembered for the life
of the process, so a polling view does not export a too-large image again and again.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from batten.live.imagefacts import ImageFacts, ImageKnowledge
from batten.live.imagefs import FILE, HARDLINK, ImageFS, ImageReadError, read_export
from batten.model import BattenError

CONTENT_VERSION = 2  # 2: package versions (dpkg, apk)
MAX_PACKAGES = 20_000  # per package database; more is not a real image

# Where a shell looks for programs (the usual PATH of Debian, Alpine, RHEL and language images).
PATH_DIRS: tuple[str, ...] = (
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
)
# Programs a health check or a fix may want to know about.
PROBE_PROGRAMS: tuple[str, ...] = (
    "sh", "bash", "wget", "curl", "nc", "python", "python3", "node", "busybox",
)  # fmt: skip

# setuid/setgid programs that distributions ship on purpose (account and mount tools): reported
# by fs.setuid-binaries only when they are somewhere else. Anything outside this list is unusual.
_SETUID_TOOLS = (
    "su", "passwd", "chsh", "chfn", "gpasswd", "newgrp", "mount", "umount",
    "unix_chkpwd", "chage", "expiry", "wall",
)  # fmt: skip
SETUID_ALLOWED: frozenset[str] = frozenset(
    f"{d}/{name}" for d in ("/bin", "/usr/bin", "/sbin", "/usr/sbin") for name in _SETUID_TOOLS
)

# Build leftovers: (kind, test on the basename, test on the whole path).
_KEY_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"})
_CREDENTIAL_NAMES = frozenset(
    {".git-credentials", ".netrc", ".pgpass", ".npmrc", ".pypirc", ".env", ".htpasswd"}
)
_CREDENTIAL_PATHS = (
    re.compile(r"/\.aws/credentials$"),
    re.compile(r"/\.docker/config\.json$"),
    re.compile(r"/\.kube/config$"),
    re.compile(r"/\.config/gcloud/(credentials\.db|application_default_credentials\.json)$"),
)
_HOST_KEY = re.compile(r"^/etc/ssh/ssh_host_\w+_key$")
# Trees where files come from packages, not from a build context.
_PACKAGE_TREES = ("/usr/share/", "/usr/lib/", "/usr/local/lib/", "/proc/", "/sys/")
_NPMRC_OK = ("/usr/local/etc/npmrc", "/usr/etc/npmrc")


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    uid: int | None
    gid: int | None
    home: str
    shell: str
    password: str  # "empty" | "locked" | "set" | "unknown" (no shadow entry)


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    gid: int | None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SpecialFile:
    path: str
    mode: str  # "4755"
    uid: int
    gid: int
    setuid: bool
    setgid: bool
    allowed: bool  # on the short allow-list of distribution tools


@dataclass(frozen=True, slots=True)
class JunkFile:
    path: str
    kind: str  # "key" | "git" | "credentials"


@dataclass(slots=True)
class ImageContent:
    """What batten read from one image (JSON round-trip: ``to_dict`` / ``from_dict``)."""

    image_id: str
    refs: list[str] = field(default_factory=list)
    user: str = ""  # Config.User ("" = root)
    healthcheck: list[str] | None = None  # Config.Healthcheck.Test
    exposed_ports: list[str] = field(default_factory=list)
    # installed package versions by package manager ("apt" from /var/lib/dpkg/status, "apk" from
    # /lib/apk/db/installed): names and versions that pass a strict syntax check only
    packages: dict[str, dict[str, str]] = field(default_factory=dict)
    os_release: dict[str, str] = field(default_factory=dict)
    accounts: list[Account] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    special_files: list[SpecialFile] = field(default_factory=list)
    executables: dict[str, str] = field(default_factory=dict)  # name -> path
    junk: list[JunkFile] = field(default_factory=list)
    files: int = 0
    layers: int = 0
    export_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ questions
    def has(self, program: str) -> bool:
        """Whether a program is on the image's usual PATH (``has("wget")``)."""
        return program in self.executables

    def which(self, program: str) -> str | None:
        return self.executables.get(program)

    def account(self, spec: str | int) -> Account | None:
        """The account a USER value names (``app``, ``10001``, ``app:app``, ``10001:10001``)."""
        who = str(spec).strip().split(":", 1)[0].strip()
        if not who:
            return self.account("0")
        if who.isdigit():
            return next((a for a in self.accounts if a.uid == int(who)), None)
        return next((a for a in self.accounts if a.name == who), None)

    def uid_of(self, spec: str | int) -> int | None:
        """The numeric uid a USER value runs as, when it can be told (numeric or in passwd)."""
        who = str(spec).strip().split(":", 1)[0].strip()
        if not who:
            return 0
        if who.isdigit():
            return int(who)
        acc = self.account(who)
        return acc.uid if acc is not None else None

    @property
    def runs_as_root(self) -> bool | None:
        """Whether the default user is root (uid 0); None when USER names an unknown account."""
        uid = self.uid_of(self.user)
        return None if uid is None else uid == 0

    @property
    def unexpected_setuid(self) -> list[SpecialFile]:
        return [f for f in self.special_files if not f.allowed]

    @property
    def empty_password_accounts(self) -> list[Account]:
        return [a for a in self.accounts if a.password == "empty"]

    def duplicate_ids(self) -> dict[str, dict[int, list[str]]]:
        """{'uid': {0: ['root', 'toor']}, 'gid': {...}}: ids shared by several names."""
        out: dict[str, dict[int, list[str]]] = {"uid": {}, "gid": {}}
        for kind, items in (
            ("uid", [(a.uid, a.name) for a in self.accounts]),
            ("gid", [(g.gid, g.name) for g in self.groups]),
        ):
            seen: dict[int, list[str]] = {}
            for num, name in items:
                if num is not None:
                    seen.setdefault(num, []).append(name)
            out[kind] = {n: names for n, names in sorted(seen.items()) if len(names) > 1}
        return out

    def installed(self, family: str, name: str) -> str | None:
        """The version of package `name` the image has (`family` "apt" or "apk"), or None."""
        return self.packages.get(family, {}).get(package_name(family, name) or "")

    @property
    def distro(self) -> str:
        r = self.os_release
        return r.get("PRETTY_NAME") or " ".join(x for x in (r.get("ID"), r.get("VERSION_ID")) if x)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {"version": CONTENT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageContent:
        if data.get("version") != CONTENT_VERSION:
            raise ValueError("content of another version")
        d = {k: v for k, v in data.items() if k != "version"}
        d["accounts"] = [Account(**a) for a in d.get("accounts") or []]
        d["groups"] = [Group(g["name"], g["gid"], tuple(g.get("members") or ())) for g in d.get("groups") or []]
        d["special_files"] = [SpecialFile(**f) for f in d.get("special_files") or []]
        d["junk"] = [JunkFile(**j) for j in d.get("junk") or []]
        d["packages"] = {str(k): {str(n): str(v) for n, v in dict(pk).items()}
                         for k, pk in dict(d.get("packages") or {}).items()}
        return cls(**d)


# ---------------------------------------------------------------------- parsing
def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _lines(data: bytes | None) -> list[list[str]]:
    if not data:
        return []
    text = data.decode("utf-8", "replace")
    return [
        line.split(":") for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


def parse_accounts(passwd: bytes | None, shadow: bytes | None) -> list[Account]:
    """Accounts from passwd, each with its password state from shadow (hashes are not kept)."""
    state: dict[str, str] = {}
    for f in _lines(shadow):
        if len(f) < 2:
            continue
        pw = f[1]
        state[f[0]] = "empty" if pw == "" else "locked" if pw[:1] in ("!", "*") else "set"
    out: list[Account] = []
    for f in _lines(passwd):
        if len(f) < 4 or f[0].startswith(("+", "-")):  # NIS markers
            continue
        f += [""] * (7 - len(f))
        if f[1] == "":
            pw = "empty"  # no password in passwd itself: shadow is not consulted
        elif f[1] in ("x", "*") or f[1].startswith("!"):
            pw = state.get(f[0], "unknown" if f[1] == "x" else "locked")
        else:
            pw = "set"  # a hash in passwd
        out.append(Account(f[0], _int(f[2]), _int(f[3]), f[5], f[6].strip(), pw))
    return out


def parse_groups(group: bytes | None) -> list[Group]:
    out: list[Group] = []
    for f in _lines(group):
        if len(f) < 3:
            continue
        members = tuple(m.strip() for m in (f[3] if len(f) > 3 else "").split(",") if m.strip())
        out.append(Group(f[0], _int(f[2]), members))
    return out


def parse_os_release(data: bytes | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            out[key.strip()] = value.strip().strip("\"'")
    return out


_DPKG_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]{0,127}")
_DPKG_VERSION = re.compile(r"(?:[0-9]{1,9}:)?[0-9A-Za-z][0-9A-Za-z.+~-]{0,127}")
_APK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
_APK_VERSION = re.compile(r"[0-9][0-9A-Za-z._+~-]{0,127}")
_SYNTAX = {"apt": (_DPKG_NAME, _DPKG_VERSION), "apk": (_APK_NAME, _APK_VERSION)}


def package_name(family: str, word: str) -> str | None:
    """The package name an install command's operand names (`curl`, `curl:amd64`,
    `curl/bookworm-backports`), or None when it is no plain name (a glob, a path...)."""
    name = word.strip()
    if family == "apt":
        name = name.split("/", 1)[0].split(":", 1)[0].lower()
    pattern = _SYNTAX.get(family, (None, None))[0]
    return name if pattern is not None and pattern.fullmatch(name) else None


def _records(data: bytes | None, limit: int) -> Iterable[list[str]]:
    """Blank-line separated records of a package database, each as its lines (bounded)."""
    if not data:
        return
    record: list[str] = []
    count = 0
    for line in data[: 8 * 1024 * 1024].decode("utf-8", "replace").splitlines():
        if line.strip():
            if len(record) < 400:  # a record's own fields: a few dozen at most
                record.append(line)
            continue
        if record:
            yield record
            count += 1
            if count >= limit:
                return
            record = []
    if record:
        yield record


def _valid(family: str, name: str, version: str) -> bool:
    name_re, version_re = _SYNTAX[family]
    return bool(name_re.fullmatch(name) and version_re.fullmatch(version))


def parse_dpkg_status(data: bytes | None, limit: int = MAX_PACKAGES) -> dict[str, str]:
    """Installed packages and their versions from /var/lib/dpkg/status (entries that are not
    installed, or whose name or version is not dpkg syntax, are left out)."""
    out: dict[str, str] = {}
    for record in _records(data, limit * 4):
        fields: dict[str, str] = {}
        for line in record:
            if line[:1] in (" ", "\t"):
                continue  # a continuation line (Description, Conffiles...)
            key, sep, value = line.partition(":")
            if sep and key in ("Package", "Version", "Status") and key not in fields:
                fields[key] = value.strip()
        name, version = fields.get("Package", ""), fields.get("Version", "")
        status = fields.get("Status", "").split()
        if status[-1:] != ["installed"] or not _valid("apt", name, version):
            continue
        out.setdefault(name, version)  # multi-arch copies of a package share the version
        if len(out) >= limit:
            break
    return out


def parse_apk_installed(data: bytes | None, limit: int = MAX_PACKAGES) -> dict[str, str]:
    """Installed packages and their versions from apk's database (``P:`` name, ``V:`` version)."""
    out: dict[str, str] = {}
    for record in _records(data, limit * 4):
        fields: dict[str, str] = {}
        for line in record:
            if line[1:2] == ":" and line[:1] in ("P", "V") and line[:1] not in fields:
                fields[line[:1]] = line[2:].strip()
        name, version = fields.get("P", ""), fields.get("V", "")
        if _valid("apk", name, version):
            out.setdefault(name, version)
            if len(out) >= limit:
                break
    return out


def _packages(fs: ImageFS) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    apt = parse_dpkg_status(fs.read("/var/lib/dpkg/status"))
    apk = parse_apk_installed(fs.read("/lib/apk/db/installed") or fs.read("/usr/lib/apk/db/installed"))
    if apt:
        out["apt"] = apt
    if apk:
        out["apk"] = apk
    return out


def _junk_kind(path: str) -> str | None:
    if path.startswith(_PACKAGE_TREES):
        return None
    base = posixpath.basename(path)
    if base in _KEY_NAMES or _HOST_KEY.match(path):
        return "key"
    if base in _CREDENTIAL_NAMES and path not in _NPMRC_OK:
        return "credentials"
    if any(p.search(path) for p in _CREDENTIAL_PATHS):
        return "credentials"
    return None


def content_from_fs(fs: ImageFS, image_id: str, inspect: Mapping[str, Any] | None = None) -> ImageContent:
    """Reduce a read filesystem (and the image's inspect) to :class:`ImageContent`."""
    cfg = dict((inspect or {}).get("Config") or fs.config.get("config") or {})
    hc = (cfg.get("Healthcheck") or {}).get("Test")
    content = ImageContent(
        image_id=image_id,
        refs=[str(t) for t in (inspect or {}).get("RepoTags") or []],
        user=str(cfg.get("User") or ""),
        healthcheck=[str(x) for x in hc] if hc else None,
        exposed_ports=sorted(str(p) for p in (cfg.get("ExposedPorts") or {})),
        os_release=parse_os_release(fs.read("/etc/os-release") or fs.read("/usr/lib/os-release")),
        accounts=parse_accounts(fs.read("/etc/passwd"), fs.read("/etc/shadow")),
        groups=parse_groups(fs.read("/etc/group")),
        packages=_packages(fs),
        files=len(fs.entries),
        layers=fs.layers,
        export_bytes=fs.export_bytes,
        notes=list(fs.notes),
    )
    git_dirs: set[str] = set()
    for entry in sorted(fs.entries.values(), key=lambda e: e.path):
        if entry.kind in (FILE, HARDLINK) and (entry.setuid or entry.setgid):
            allowed = entry.path in SETUID_ALLOWED
            mode = f"{entry.mode:04o}"
            content.special_files.append(
                SpecialFile(entry.path, mode, entry.uid, entry.gid, entry.setuid, entry.setgid, allowed)
            )
        if entry.kind in (FILE, HARDLINK):
            kind = _junk_kind(entry.path)
            if kind:
                content.junk.append(JunkFile(entry.path, kind))
        # a .git directory, even when the archive lists only what is inside it
        if "/.git" in entry.path and not entry.path.startswith(_PACKAGE_TREES):
            head, sep, _rest = entry.path.partition("/.git/")
            repo = head + "/.git" if sep else entry.path if entry.path.endswith("/.git") else ""
            if repo and repo not in git_dirs:
                git_dirs.add(repo)
                content.junk.append(JunkFile(repo, "git"))
    content.junk.sort(key=lambda j: j.path)
    content.executables = _executables(fs)
    return content


def _executables(fs: ImageFS) -> dict[str, str]:
    by_dir: dict[str, list[str]] = {}
    for path in fs.entries:
        parent = posixpath.dirname(path)
        if parent in PATH_DIRS:
            by_dir.setdefault(parent, []).append(posixpath.basename(path))
    out: dict[str, str] = {}
    for d in PATH_DIRS:  # PATH order: the first directory wins
        real = fs.resolve(d)
        # archives may list a directory's files without the directory itself
        where = real.path if real is not None and real.kind == "dir" else d
        if real is not None and real.kind != "dir":
            continue
        for name in sorted(by_dir.get(where, [])):
            if name in out:
                continue
            path = f"{where}/{name}"
            target = fs.resolve(path)
            if target is not None and target.kind == FILE and target.executable:
                out[name] = f"{d}/{name}"
    return out


# ---------------------------------------------------------------------- engine + cache
_FAILED: dict[str, str] = {}
_LOCK = threading.Lock()


def cache_path(image_id: str) -> str | None:
    from batten import cache

    if not cache.enabled():
        return None
    hex_id = image_id.split(":", 1)[-1]
    if not re.fullmatch(r"[0-9a-f]{12,128}", hex_id):
        return None
    return os.path.join(cache.cache_dir(), "images", f"{hex_id}.json")


def load_cached(image_id: str) -> ImageContent | None:
    path = cache_path(image_id)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            content = ImageContent.from_dict(json.load(fh))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return content if content.image_id == image_id else None


def store_cached(content: ImageContent) -> None:
    path = cache_path(content.image_id)
    if path is None:
        return
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(content.to_dict(), fh)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def image_content(
    gateway: Any,
    ref: str,
    *,
    inspect: Mapping[str, Any] | None = None,
    use_cache: bool = True,
    **bounds: Any,
) -> ImageContent:
    """Facts about an image that exists on the engine (read-only; never pulls).

    ``inspect`` may carry the image's inspect when the caller has it already. ``bounds`` go to
    :func:`batten.live.imagefs.read_export` (``max_bytes``, ``deadline``...). Raises
    ``BattenError`` subclasses with one line (image missing, engine error, bound hit).
    """
    from batten.live.gateway import ImageNotFound

    if inspect is None:
        inspect = gateway.inspect_image(ref)
        if inspect is None:
            raise ImageNotFound(f"image {ref} is not on the engine (batten never pulls)")
    image_id = str(inspect.get("Id") or ref)
    if use_cache:
        cached = load_cached(image_id)
        if cached is not None:
            cached.refs = [str(t) for t in inspect.get("RepoTags") or []] or cached.refs
            return cached
        with _LOCK:
            failed = _FAILED.get(image_id)
        if failed:
            raise ImageReadError(failed)
    shown = ref if ref and not ref.startswith("sha256:") else image_id[7:19] or ref
    try:
        fs = read_export(gateway.export_image(image_id), shown, **bounds)
    except ImageReadError as exc:
        with _LOCK:
            _FAILED[image_id] = str(exc)
        raise
    content = content_from_fs(fs, image_id, inspect)
    if use_cache:
        store_cached(content)
    return content


def contents_for_images(
    gateway: Any,
    images: Iterable[Mapping[str, Any]],
    *,
    workers: int = 2,
) -> dict[str, ImageContent | str]:
    """Contents of many inspected images (each once, a few at a time): image id -> content, or the
    one-line reason they could not be read."""
    from concurrent.futures import ThreadPoolExecutor

    unique: dict[str, Mapping[str, Any]] = {}
    for img in images:
        if img and img.get("Id"):
            unique.setdefault(str(img["Id"]), img)
    if not unique:
        return {}

    def one(item: tuple[str, Mapping[str, Any]]) -> tuple[str, ImageContent | str]:
        image_id, img = item
        ref = next(iter(img.get("RepoTags") or []), image_id)
        try:
            return image_id, image_content(gateway, str(ref), inspect=img)
        except BattenError as exc:
            return image_id, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="batten-image") as pool:
        return dict(pool.map(one, unique.items()))


def with_content(facts: ImageFacts, content: ImageContent) -> ImageFacts:
    """The fixes' view of an image (:class:`batten.live.imagefacts.ImageFacts`) completed with
    what its filesystem shows: programs on PATH, users, groups, setuid/setgid files."""
    passwd = "".join(
        f"{a.name}:x:{a.uid}:{a.gid}::{a.home}:{a.shell}\n"
        for a in content.accounts
        if a.uid is not None and a.gid is not None
    )
    group = "".join(f"{g.name}:x:{g.gid}:\n" for g in content.groups if g.gid is not None)
    return facts.with_filesystem(
        files=content.executables.values(),
        passwd=passwd,
        group=group,
        setuid=[f.path for f in content.special_files],
    )


def complete_knowledge(gateway: Any, knowledge: ImageKnowledge) -> dict[str, ImageContent]:
    """Read the filesystem of every image in ``knowledge`` that is on the engine and complete
    its facts in place; returns the contents read, by reference (unreadable ones are left out
    and keep their config-only facts)."""
    contents: dict[str, ImageContent] = {}
    for ref, facts in list(knowledge.items()):
        if not facts.present:
            continue
        try:
            content = image_content(gateway, ref)
        except BattenError:
            continue
        contents[ref] = content
        knowledge[ref] = with_content(facts, content)
    return contents


__all__ = [
    "Account",
    "Group",
    "ImageContent",
    "JunkFile",
    "SpecialFile",
    "complete_knowledge",
    "content_from_fs",
    "contents_for_images",
    "image_content",
    "package_name",
    "parse_accounts",
    "parse_apk_installed",
    "parse_dpkg_status",
    "parse_groups",
    "with_content",
]
