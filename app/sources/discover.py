"""Find Dockerfiles, Containerfiles and compose files under a project root.

Skips `.git`, `node_modules`, virtualenvs, caches and git-ignored untracked paths, and lists
every one it skips with the reason; never follows a symlink that leaves the root, never descends
into symlinked directories (so loops cannot happen), never opens anything but a regular file.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path

from batten.fsio import TooLarge, kind_of, read_regular
from batten.sources.gitindex import tracked_paths

SKIP_DIRS = {
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", ".nox", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", ".idea", ".vscode", "site-packages",
    ".terraform", "bower_components", ".batten-cache",
}
_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tpl", ".tmpl", ".dockerignore", ".md", ".bak", ".orig", ".swp")
_YAML = (".yml", ".yaml")
_COMPOSE = re.compile(r"^(?:docker-compose[^/]*|compose|compose\.[^/]+)\.ya?ml$", re.IGNORECASE)
_CI_FILES = re.compile(
    r"^(?:\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.ya?ml|\.circleci/config\.ya?ml|azure-pipelines\.ya?ml|"
    r"Jenkinsfile|\.drone\.ya?ml|bitbucket-pipelines\.ya?ml|\.buildkite/[^/]+\.ya?ml|\.woodpecker\.ya?ml|"
    r"\.woodpecker/[^/]+\.ya?ml|cloudbuild\.ya?ml|\.travis\.ya?ml)$"
)


def match_path(path: str, pattern: str) -> bool:
    """Glob match of a project-relative path (`dir/**`, bare names match any basename)."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if pattern.endswith("/**"):
        base = pattern[:-3]
        return path == base or path.startswith(base + "/")
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return False


def classify(name: str) -> str | None:
    """'dockerfile', 'compose' or None for a file name (not a path)."""
    low = name.lower()
    if low.endswith(_TEMPLATE_SUFFIXES):
        return None
    if _COMPOSE.match(name):
        return "compose"
    if low in ("dockerfile", "containerfile"):
        return "dockerfile"
    if low.startswith(("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-")):
        return "dockerfile"
    if low.endswith(("dockerfile", "containerfile")) or low.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    return None


def classify_explicit(name: str) -> str:
    """Kind of a file named explicitly on the command line: by name, else by extension."""
    kind = classify(name)
    if kind:
        return kind
    return "compose" if name.lower().endswith(_YAML) else "dockerfile"


# ---------------------------------------------------------------------------------------------
# .gitignore
# ---------------------------------------------------------------------------------------------


def _compile(pattern: str) -> tuple[re.Pattern[str], bool, bool] | None:
    """A .gitignore line as (regex on a path relative to its directory, negate, dir_only)."""
    parsed = _pattern_source(pattern)
    return (re.compile(parsed[0]), parsed[1], parsed[2]) if parsed else None


def _pattern_source(pattern: str) -> tuple[str, bool, bool] | None:
    """`_compile` without compiling (GitIgnore compiles patterns in groups)."""
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    if pattern.startswith("\\"):
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if not pattern:
        return None
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    parts = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            parts.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                parts.append(re.escape(pattern[i]))
                i += 1
            else:
                body = translate(pattern[i : j + 1])
                # fnmatch.translate wraps the class; extract it
                m = re.search(r"\[.*\]", body)
                parts.append(m.group() if m else re.escape(pattern[i : j + 1]))
                i = j + 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    body = "".join(parts)
    regex = ("^" if anchored else r"^(?:.*/)?") + body + "$"
    return regex, negate, dir_only


GITIGNORE_MAX = 1 << 20  # a larger .gitignore is not applied (and listed as skipped)
_GROUP = 256  # patterns per combined regex


class _PatternSet:
    """Patterns of one kind, compiled lazily in groups of _GROUP into one regex each
    (alternatives in reverse order, one capture group per pattern)."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, bool, bool]] = []  # (pattern index, source, negate, dir_only)
        self._groups: dict[tuple[int, bool], tuple[re.Pattern[str] | None, list[tuple[int, bool]], int]] = {}

    def _group(self, k: int, is_dir: bool) -> tuple[re.Pattern[str] | None, list[tuple[int, bool]]]:
        chunk = self.items[k * _GROUP : (k + 1) * _GROUP]
        cached = self._groups.get((k, is_dir))
        if cached is not None and cached[2] == len(chunk):
            return cached[0], cached[1]
        picked = [(i, src, neg) for i, src, neg, dir_only in reversed(chunk) if is_dir or not dir_only]
        rx = re.compile("|".join(f"({src})" for _i, src, _neg in picked)) if picked else None
        order = [(i, neg) for i, _src, neg in picked]
        self._groups[(k, is_dir)] = (rx, order, len(chunk))
        return rx, order

    def last(self, text: str, is_dir: bool, above: int) -> tuple[int, bool] | None:
        """(index, negate) of the last pattern matching `text`, when its index is above `above`."""
        items = self.items
        for k in range((len(items) + _GROUP - 1) // _GROUP - 1, -1, -1):
            if items[min(len(items), (k + 1) * _GROUP) - 1][0] <= above:
                return None  # every pattern left comes before the match already found
            rx, order = self._group(k, is_dir)
            if rx is None:
                continue
            m = rx.match(text)
            if m is not None and m.lastindex is not None:
                return order[m.lastindex - 1]
        return None


_WILD = re.compile(r"[*?\[\\]")


class GitIgnore:
    """.gitignore rules of a tree; the last matching pattern decides, as in git.

    Matching a path must not cost one Python call per pattern (a 1 MiB .gitignore holds 30,000
    of them): literal names (`node_modules`, `.env`, `!keep.txt`) are a dict lookup on the last
    segment, other slash-free root patterns (`*.log`) are matched in grouped regexes against the
    last segment only, patterns starting with a literal directory (`build/**/*.o`) are only
    tried on paths under it, and the rest are grouped regexes on the whole path."""

    _UNANCHORED = "^(?:.*/)?"

    def __init__(self) -> None:
        self.count = 0
        self._literal: dict[str, list[tuple[int, bool, bool]]] = {}  # name -> (index, negate, dir_only)
        self._names = _PatternSet()  # matched against the last segment
        self._by_first: dict[str, _PatternSet] = {}  # first path segment -> patterns under it
        self._paths = _PatternSet()  # matched against the whole path

    def add_file(self, path: Path | str, base: str, skipped: list[tuple[str, str]] | None = None,
                 rel: str | None = None) -> None:
        try:
            text = read_regular(str(path), GITIGNORE_MAX).decode("utf-8", errors="replace")
        except TooLarge as exc:
            if skipped is not None:
                skipped.append((rel or str(path), f"{exc.strerror}; its patterns are not applied"))
            return
        except OSError as exc:
            if skipped is not None and not isinstance(exc, FileNotFoundError):
                skipped.append((rel or str(path), f"cannot read: {exc.strerror}; its patterns are not applied"))
            return
        self.add_text(text, base)

    def add_text(self, text: str, base: str) -> None:
        """The patterns of one .gitignore's text, which lives in directory `base`."""
        prefix = re.escape(base + "/") if base else ""
        for line in text.splitlines():
            line = line.rstrip()
            if line.endswith("\\ "):
                line = line[:-2] + " "
            if not line or line.startswith("#"):
                continue
            parsed = _pattern_source(line)
            if not parsed:
                continue
            source, negate, dir_only = parsed
            i = self.count
            self.count += 1
            body = source[len(self._UNANCHORED):]
            if not base and source.startswith(self._UNANCHORED) and ".*" not in body and "/" not in body:
                literal = line[1:] if negate else line
                literal = literal.rstrip("/")
                if not _WILD.search(literal) and "/" not in literal:
                    self._literal.setdefault(literal, []).append((i, negate, dir_only))
                else:
                    self._names.items.append((i, "^" + body, negate, dir_only))
                continue
            full = "^" + prefix + source[1:]
            first = (base + "/" + line.lstrip("!").lstrip("/")).lstrip("/").split("/", 1)[0] if base or \
                not source.startswith(self._UNANCHORED) else ""
            if first and not _WILD.search(first) and first not in ("", "**"):
                self._by_first.setdefault(first, _PatternSet()).items.append((i, full, negate, dir_only))
            else:
                self._paths.items.append((i, full, negate, dir_only))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        name = rel.rsplit("/", 1)[-1]
        best: tuple[int, bool] | None = None
        for i, negate, dir_only in self._literal.get(name, ()):
            if (is_dir or not dir_only) and (best is None or i > best[0]):
                best = (i, negate)
        sets = [(self._names, name), (self._by_first.get(rel.split("/", 1)[0]), rel), (self._paths, rel)]
        for pattern_set, text in sets:
            if pattern_set is None:
                continue
            found = pattern_set.last(text, is_dir, best[0] if best else -1)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        return best is not None and not best[1]


# ---------------------------------------------------------------------------------------------
# walking
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Found:
    path: str  # relative to the root, forward slashes
    abspath: str
    kind: str  # dockerfile | compose


@dataclass
class Discovery:
    root: str
    files: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    unreadable: list[str] = field(default_factory=list)  # paths that could not be read or listed
    tracked: set[str] = field(default_factory=set)  # paths git tracks (from its index)
    dockerignores: dict[str, str] = field(default_factory=dict)  # dir -> abspath
    dotenvs: dict[str, str] = field(default_factory=dict)  # dir -> abspath
    ci_files: list[tuple[str, str]] = field(default_factory=list)  # (rel, abspath)


MAX_DEPTH = 64  # directory levels below the root


def _inside(root_real: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def _relevant(name: str) -> bool:
    """A name batten would read: a Dockerfile, a compose file or a file they depend on."""
    return bool(classify(name)) or name in (".env", ".dockerignore", ".gitignore") or name.endswith(".dockerignore")


def is_virtualenv(path: str) -> bool:
    """A Python virtualenv: its pyvenv.cfg names the interpreter home (an empty or unrelated
    pyvenv.cfg does not hide a directory)."""
    try:
        text = read_regular(os.path.join(path, "pyvenv.cfg"), 64 * 1024).decode("utf-8", "replace")
    except OSError:
        return False
    return any(line.split("=", 1)[0].strip().lower() == "home" for line in text.splitlines() if "=" in line)


def discover(root: str | os.PathLike[str]) -> Discovery:
    """Walk the tree once. Nothing is dropped silently: every directory or relevant file left
    out is in `skipped` with the reason, and what could not be read is also in `unreadable`.
    Files git tracks are scanned whatever .gitignore says."""
    return _Walk(Path(root).resolve()).run()


def _with_ancestors(dirs: set[str]) -> set[str]:
    out = set(dirs)
    for d in dirs:
        while "/" in d:
            d = d.rsplit("/", 1)[0]
            if d in out:
                break
            out.add(d)
    return out


class _Walk:
    """One walk of a project tree (see `discover`)."""

    def __init__(self, root_path: Path) -> None:
        self.root = str(root_path)
        self.found = Discovery(root=self.root)
        self.ignore = GitIgnore()
        self.tracked = self.found.tracked = tracked_paths(self.root) or set()
        self.tracked_dirs = _with_ancestors({p.rsplit("/", 1)[0] for p in self.tracked if "/" in p})
        self.real_seen: dict[str, tuple[int, bool]] = {}  # real path -> (index in files, is a symlink)
        git_info = root_path / ".git" / "info" / "exclude"
        if git_info.is_file():
            self.ignore.add_file(git_info, "", self.found.skipped, ".git/info/exclude")

    def skip(self, rel: str, reason: str, unreadable: bool = False) -> None:
        self.found.skipped.append((rel, reason))
        if unreadable:
            self.found.unreadable.append(rel)

    def run(self) -> Discovery:
        stack: list[tuple[str, int]] = [("", 0)]
        while stack:
            rel_dir, depth = stack.pop()
            stack.extend(reversed(self.directory(rel_dir, depth)))
        self.found.files.sort(key=lambda f: f.path)
        return self.found

    def directory(self, rel_dir: str, depth: int) -> list[tuple[str, int]]:
        """Read one directory: its files are recorded, the subdirectories to walk returned."""
        abs_dir = os.path.join(self.root, rel_dir) if rel_dir else self.root
        gi = os.path.join(abs_dir, ".gitignore")
        if os.path.lexists(gi):
            self.ignore.add_file(gi, rel_dir, self.found.skipped, f"{rel_dir}/.gitignore" if rel_dir else ".gitignore")
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            self.skip(rel_dir or ".", f"cannot list directory: {exc.strerror}", unreadable=True)
            return []
        subdirs: list[tuple[str, int]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=False):
                    if self.walks_into(entry, rel, depth + 1):
                        subdirs.append((rel, depth + 1))
                    continue
                if not self.is_regular(entry, rel, is_link):
                    continue
            except OSError as exc:
                self.skip(rel, f"cannot stat: {exc.strerror}", unreadable=True)
                continue
            self.file(entry, rel, rel_dir, is_link)
        return subdirs

    def walks_into(self, entry: os.DirEntry[str], rel: str, depth: int) -> bool:
        """Whether the walk enters a subdirectory; one it leaves out is skipped with the reason."""
        name = entry.name
        if name == ".git":
            return False  # git's own data
        if name in SKIP_DIRS:
            if rel in self.tracked_dirs:
                return True  # tracked files in it are scanned
            self.skip(rel, "dependency, tool or cache directory")
            return False
        if is_virtualenv(entry.path) and rel not in self.tracked_dirs:
            self.skip(rel, "Python virtualenv (pyvenv.cfg)")
            return False
        if self.ignore.ignored(rel, True) and rel not in self.tracked_dirs:
            self.skip(rel, "git-ignored directory")
            return False
        if depth > MAX_DEPTH:
            self.skip(rel, f"deeper than {MAX_DEPTH} directory levels; not walked", unreadable=True)
            return False
        return True

    def is_regular(self, entry: os.DirEntry[str], rel: str, is_link: bool) -> bool:
        """Whether `entry` is a regular file, or a symlink to one inside the root; anything else
        with a name batten reads is skipped with the reason. Raises OSError when it cannot stat."""
        name = entry.name
        if is_link:
            try:
                st = os.stat(entry.path)  # follows; raises on loops and dangling links
            except OSError as exc:
                if _relevant(name):
                    self.skip(rel, f"broken symlink: {exc.strerror}")
                return False
            if stat.S_ISDIR(st.st_mode):
                self.skip(rel, "symlinked directory; not followed")
                return False
            if not _inside(self.root, entry.path):
                if _relevant(name):
                    self.skip(rel, "symlink leaves the project root; not followed")
                return False
            mode = st.st_mode
        else:
            mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            if _relevant(name):
                self.skip(rel, f"{kind_of(mode)}, not a regular file; not read")
            return False
        return True

    def file(self, entry: os.DirEntry[str], rel: str, rel_dir: str, is_link: bool) -> None:
        """Record a regular file: a Dockerfile or compose file to scan, or one they depend on."""
        name, found = entry.name, self.found
        if name == ".dockerignore" or name.endswith(".dockerignore"):
            found.dockerignores[rel] = entry.path
            return
        if name == ".env":
            found.dotenvs[rel_dir] = entry.path
            return
        if _CI_FILES.match(rel):
            found.ci_files.append((rel, entry.path))
        kind = classify(name)
        if kind is None:
            return
        if self.ignore.ignored(rel, False) and rel not in self.tracked:
            self.skip(rel, "git-ignored")
            return
        real = os.path.realpath(entry.path)
        first = self.real_seen.get(real)
        if first is not None:  # two paths, one file: planned and fixed once, at the real path
            k, first_link = first
            if first_link and not is_link:
                self.skip(found.files[k].path, f"same file as {rel} (a symlink alias); scanned once")
                found.files[k] = Found(rel, entry.path, kind)
                self.real_seen[real] = (k, False)
            else:
                self.skip(rel, f"same file as {found.files[k].path} (a symlink alias); scanned once")
            return
        self.real_seen[real] = (len(found.files), is_link)
        found.files.append(Found(rel, entry.path, kind))
