"""Find Dockerfiles, Containerfiles and compose files under a project root.

Skips `.git`, `node_modules`, virtualenvs, caches and git-ignored paths; never follows a symlink
that leaves the root, never descends into symlinked directories (so loops cannot happen).
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path

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


@dataclass(slots=True)
class _Pattern:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    base: str  # directory (relative to root, "" for root) the pattern file lives in


def _compile(pattern: str) -> tuple[re.Pattern[str], bool, bool] | None:
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
    return re.compile(regex), negate, dir_only


@dataclass
class GitIgnore:
    patterns: list[_Pattern] = field(default_factory=list)

    def add_file(self, path: Path, base: str) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        for line in text.splitlines():
            line = line.rstrip()
            if line.endswith("\\ "):
                line = line[:-2] + " "
            if not line or line.startswith("#"):
                continue
            compiled = _compile(line)
            if compiled:
                regex, negate, dir_only = compiled
                self.patterns.append(_Pattern(regex, negate, dir_only, base))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        result = False
        for p in self.patterns:
            if p.base:
                if not rel.startswith(p.base + "/"):
                    continue
                sub = rel[len(p.base) + 1 :]
            else:
                sub = rel
            if p.dir_only and not is_dir:
                continue
            if p.regex.match(sub):
                result = not p.negate
        return result


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
    dockerignores: dict[str, str] = field(default_factory=dict)  # dir -> abspath
    dotenvs: dict[str, str] = field(default_factory=dict)  # dir -> abspath
    ci_files: list[tuple[str, str]] = field(default_factory=list)  # (rel, abspath)


def _inside(root_real: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def discover(root: str | os.PathLike[str]) -> Discovery:
    root_path = Path(root).resolve()
    root_real = str(root_path)
    found = Discovery(root=root_real)
    ignore = GitIgnore()
    git_info = root_path / ".git" / "info" / "exclude"
    if git_info.is_file():
        ignore.add_file(git_info, "")
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_real, rel_dir) if rel_dir else root_real
        gi = os.path.join(abs_dir, ".gitignore")
        if os.path.isfile(gi):
            ignore.add_file(Path(gi), rel_dir)
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            found.skipped.append((rel_dir or ".", f"cannot list directory: {exc.strerror}"))
            continue
        subdirs: list[str] = []
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                is_link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=False):
                    if name in SKIP_DIRS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                        continue
                    if ignore.ignored(rel, True):
                        continue
                    subdirs.append(rel)
                    continue
                if is_link:
                    try:
                        st = os.stat(entry.path)  # follows; raises on loops and dangling links
                    except OSError as exc:
                        kind = classify(name)
                        if kind:
                            found.skipped.append((rel, f"broken symlink: {exc.strerror}"))
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        continue  # never descend into symlinked directories
                    if not _inside(root_real, entry.path):
                        if classify(name):
                            found.skipped.append((rel, "symlink leaves the project root; not followed"))
                        continue
                elif not entry.is_file(follow_symlinks=False):
                    continue
            except OSError as exc:
                found.skipped.append((rel, f"cannot stat: {exc.strerror}"))
                continue
            if name == ".dockerignore" or name.endswith(".dockerignore"):
                found.dockerignores[rel] = entry.path
                continue
            if name == ".env":
                found.dotenvs[rel_dir] = entry.path
                continue
            if _CI_FILES.match(rel):
                found.ci_files.append((rel, entry.path))
            kind = classify(name)
            if kind is None:
                continue
            if ignore.ignored(rel, False):
                found.skipped.append((rel, "git-ignored"))
                continue
            found.files.append(Found(rel, entry.path, kind))
        stack.extend(reversed(subdirs))
    found.files.sort(key=lambda f: f.path)
    return found
