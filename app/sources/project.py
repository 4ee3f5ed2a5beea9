"""A loaded project: every Dockerfile and compose file, compose files grouped the way Compose
groups them (base + overrides), and each service linked to the Dockerfile stage it builds."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from batten.fsio import read_regular, read_text_file
from batten.sources.compose import (
    ComposeFile,
    ComposeProject,
    Service,
    load_compose,
    resolve_project,
)
from batten.sources.discover import Discovery, classify_explicit, discover, match_path
from batten.sources.dockerfile import DockerfileModel, Stage, parse_dockerfile
from batten.sources.interpolate import parse_dotenv
from batten.sources.text import SourceError, SourceText


@dataclass(slots=True)
class FileError:
    message: str
    line: int = 1
    column: int = 1
    unreadable: bool = False  # could not be read at all (makes `scan` exit 2 unless --skip-unreadable)


@dataclass(eq=False)
class ProjectFile:
    path: str  # relative to the project root, forward slashes
    abspath: str | None
    kind: str  # dockerfile | compose
    source: SourceText | None = None
    error: FileError | None = None
    dockerfile: DockerfileModel | None = None
    compose: ComposeFile | None = None
    implicit: bool = False  # loaded only because a compose file builds it (not scanned itself)


_BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_OVERRIDE = re.compile(r"^(compose|docker-compose)\.override\.ya?ml$", re.IGNORECASE)


@dataclass(eq=False)
class Project:
    root: str  # absolute
    files: list[ProjectFile] = field(default_factory=list)
    compose_projects: list[ComposeProject] = field(default_factory=list)
    dockerignores: dict[str, str] = field(default_factory=dict)  # rel path -> text
    ci_files: list[tuple[str, str]] = field(default_factory=list)  # (rel path, text)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    env_problems: list[tuple[str, int, str]] = field(default_factory=list)  # (.env path, line, message)
    unreadable_dirs: list[str] = field(default_factory=list)  # directories (or paths) that could not be read
    tracked: set[str] = field(default_factory=set, repr=False)  # paths git tracks (its index)
    explicit: bool = False  # files were named explicitly (no directory walk)
    _by_path: dict[str, ProjectFile] = field(default_factory=dict, repr=False)
    # other files a fix may create or extend (.dockerignore, .gitignore, .env, secret files):
    # path -> original bytes on disk (None: did not exist) and current text
    aux_raw: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    aux: dict[str, str] = field(default_factory=dict, repr=False)
    _building: dict[str, list[tuple[ComposeProject, Service]]] | None = field(default=None, repr=False)
    _building_for: object = field(default=None, repr=False)

    def aux_text(self, path: str) -> str | None:
        """Text of an auxiliary file (not a Dockerfile/compose file), read once from disk."""
        if path in self.aux:
            return self.aux[path]
        if path not in self.aux_raw:
            raw: bytes | None = None
            if not (path.startswith("/") or path.split("/")[0] == ".."):
                abspath = os.path.join(self.root, path)
                real = os.path.realpath(abspath)
                if real.startswith(self.root.rstrip(os.sep) + os.sep) and os.path.isfile(real):
                    try:
                        raw = read_regular(real, AUX_MAX)
                    except OSError:
                        raw = None
            self.aux_raw[path] = raw
        raw = self.aux_raw[path]
        if raw is None:
            return None
        text = raw.decode("utf-8", errors="surrogateescape")
        self.aux[path] = text
        return text

    def file(self, path: str) -> ProjectFile | None:
        return self._by_path.get(path)

    @property
    def unreadable(self) -> list[str]:
        """Paths under the root that could not be read or listed."""
        return [*self.unreadable_dirs, *(f.path for f in self.files if f.error is not None and f.error.unreadable)]

    @property
    def dockerfiles(self) -> list[DockerfileModel]:
        return [f.dockerfile for f in self.files if f.dockerfile is not None]

    @property
    def compose_files(self) -> list[ComposeFile]:
        return [f.compose for f in self.files if f.compose is not None]

    def dockerfile(self, path: str | None) -> DockerfileModel | None:
        if path is None:
            return None
        f = self._by_path.get(path)
        if f is not None:
            return f.dockerfile
        return self._load_extra_dockerfile(path)

    def _load_extra_dockerfile(self, path: str) -> DockerfileModel | None:
        """A Dockerfile a compose file builds but discovery did not list (odd name)."""
        if path.startswith("/") or path.startswith(".."):
            return None
        abspath = os.path.join(self.root, path)
        real = os.path.realpath(abspath)
        if not (real == self.root or real.startswith(self.root.rstrip(os.sep) + os.sep)):
            return None
        if not os.path.isfile(abspath):
            return None
        pf = _load_file(path, abspath, "dockerfile")
        pf.implicit = True
        self._add(pf)
        return pf.dockerfile

    def _add(self, pf: ProjectFile) -> None:
        self.files.append(pf)
        self._by_path[pf.path] = pf

    # -- cross-file links ------------------------------------------------------------------------

    def service_stage(self, service: Service) -> tuple[DockerfileModel, Stage] | None:
        """The Dockerfile stage a service runs: `build.target`, else the final stage."""
        b = service.build
        if b is None:
            return None
        if b.inline is not None:
            df = _inline_dockerfile(service, b.inline)
        else:
            df = self.dockerfile(b.dockerfile)
        if df is None or not df.stages:
            return None
        if b.target:
            stage = df.stage_named(b.target)
            if stage is None:
                return None
            return df, stage
        final = df.final_stage
        return (df, final) if final is not None else None

    def services_building(self, df_path: str) -> list[tuple[ComposeProject, Service]]:
        index = self._building
        if index is None or self._building_for is not self.compose_projects:
            index = {}
            seen: set[tuple[str, str]] = set()
            for cp in self.compose_projects:
                for svc in cp.services.values():
                    if svc.build is not None and svc.build.dockerfile:
                        key = (svc.file.path, svc.name, svc.build.dockerfile)
                        if key not in seen:
                            seen.add(key)
                            index.setdefault(svc.build.dockerfile, []).append((cp, svc))
            self._building, self._building_for = index, self.compose_projects
        return list(index.get(df_path, ()))

    def runtime_stages(self, df: DockerfileModel) -> list[Stage]:
        """Stages that run: the final one, plus any compose `build.target` naming this file."""
        stages: list[Stage] = []
        final = df.final_stage
        if final is not None:
            stages.append(final)
        for _cp, svc in self.services_building(df.source.path):
            if svc.build and svc.build.target:
                st = df.stage_named(svc.build.target)
                if st is not None and st not in stages:
                    stages.append(st)
        return stages

    def dockerignore_for(self, context_dir: str) -> str | None:
        path = posixpath.join(context_dir, ".dockerignore") if context_dir else ".dockerignore"
        return self.dockerignores.get(path)


_inline_cache: dict[tuple[str, str], DockerfileModel] = {}


def _inline_dockerfile(service: Service, text: str) -> DockerfileModel:
    key = (service.file.path, service.name)
    cached = _inline_cache.get(key)
    if cached is not None and cached.source.text == text:
        return cached
    model = parse_dockerfile(SourceText.from_text(f"{service.file.path}#services.{service.name}.build", text))
    _inline_cache[key] = model
    return model


def _load_file(rel: str, abspath: str | None, kind: str, env: dict[str, str] | None = None) -> ProjectFile:
    pf = ProjectFile(rel, abspath, kind)
    try:
        pf.source = SourceText.read(abspath, rel) if abspath else None
    except SourceError as exc:
        pf.error = FileError(str(exc), exc.line, exc.column, exc.unreadable)
        return pf
    if pf.source is None:
        return pf
    if kind == "dockerfile":
        pf.dockerfile = parse_dockerfile(pf.source)
    else:
        pf.compose = load_compose(pf.source, env)
        if pf.compose.error is not None:
            e = pf.compose.error
            pf.error = FileError(e.message, e.line, e.column)
    return pf


AUX_MAX = 1 << 20  # .env, .dockerignore, CI files, files a fix extends


def _read_text(abspath: str, limit: int = AUX_MAX) -> str | None:
    """A small auxiliary file: never blocks on a FIFO, regular files only; None when it cannot
    be used (discovery lists such files as skipped)."""
    return read_text_file(abspath, limit)


def load_project(paths: list[str] | None = None, *,
                 exclude: list[str] | Callable[[str], bool] | None = None, root: str | None = None) -> Project:
    """Load a directory (walked) or explicit files into a Project. `exclude`: globs of
    project-relative paths discovery skips, or a predicate on those paths. `root`: the project
    root for explicit files (default: the current directory when they lie below it)."""
    paths = paths or ["."]
    dirs = [p for p in paths if os.path.isdir(p)]
    if dirs and len(paths) > 1:
        from batten.model import UsageError

        raise UsageError("give either one directory or a list of files")
    if dirs:
        root = os.path.realpath(dirs[0])
        disc = discover(root)
        project = Project(root=root, skipped=list(disc.skipped), unreadable_dirs=list(disc.unreadable),
                          tracked=disc.tracked)
        _fill_from_discovery(project, disc, exclude or [])
    else:
        abs_files = [os.path.abspath(p) for p in paths]
        cwd = os.path.realpath(os.getcwd())
        common = os.path.commonpath([os.path.dirname(os.path.realpath(p)) for p in abs_files])
        if root is None:
            root = cwd if all(os.path.realpath(p).startswith(cwd + os.sep) for p in abs_files) else common
        project = Project(root=root, explicit=True)
        env_cache: dict[str, dict[str, str]] = {}
        for p in abs_files:
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            kind = classify_explicit(os.path.basename(p))
            env = None
            if kind == "compose":
                d = os.path.dirname(p)
                if d not in env_cache:
                    dot = os.path.join(d, ".env")
                    txt = _read_text(dot) if os.path.isfile(dot) else None
                    problems: list[tuple[int, str]] = []
                    env_cache[d] = parse_dotenv(txt, problems) if txt else {}
                    rel_env = os.path.relpath(dot, root).replace(os.sep, "/")
                    project.env_problems.extend((rel_env, line, message) for line, message in problems)
                env = env_cache[d]
            project._add(_load_file(rel, p, kind, env))
        for d in {os.path.dirname(p) for p in abs_files}:
            di = os.path.join(d, ".dockerignore")
            if os.path.isfile(di):
                text = _read_text(di)
                if text is not None:
                    project.dockerignores[os.path.relpath(di, root).replace(os.sep, "/")] = text
    project.compose_projects = group_compose(project)
    for cp in project.compose_projects:  # cross-file facts need every Dockerfile a service builds
        for svc in cp.services.values():
            if svc.build is not None and svc.build.dockerfile and project.file(svc.build.dockerfile) is None:
                project.dockerfile(svc.build.dockerfile)
    return project


def _fill_from_discovery(project: Project, disc: Discovery, exclude: list[str] | Callable[[str], bool]) -> None:
    skip = exclude if callable(exclude) else (lambda path: any(match_path(path, p) for p in exclude))
    envs: dict[str, dict[str, str]] = {}
    for d, abspath in disc.dotenvs.items():
        text = _read_text(abspath)
        problems: list[tuple[int, str]] = []
        envs[d] = parse_dotenv(text, problems) if text else {}
        rel = posixpath.join(d, ".env") if d else ".env"
        project.env_problems.extend((rel, line, message) for line, message in problems)
    for f in disc.files:
        if exclude and skip(f.path):
            continue
        env = envs.get(posixpath.dirname(f.path), {}) if f.kind == "compose" else None
        project._add(_load_file(f.path, f.abspath, f.kind, env))
    for rel, abspath in disc.dockerignores.items():
        text = _read_text(abspath)
        if text is not None:
            project.dockerignores[rel] = text
    for rel, abspath in disc.ci_files:
        text = _read_text(abspath)
        if text is not None:
            project.ci_files.append((rel, text))


class _Reader:
    """What compose files of `project` may read besides themselves (files named by `extends` and
    `include:`, env files of included projects): regular files inside the root only. A compose
    file read that way joins the project as an implicit file (not grouped or reported on its own),
    so fixes can edit it and a changed text is parsed again."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.root = project.root.rstrip(os.sep) + os.sep
        self.envs: dict[str, dict[str, str] | None] = {}

    def relative(self, path: str) -> str | None:
        full = os.path.normpath(os.path.join(self.project.root, path))
        real = os.path.realpath(full)
        if not (real + os.sep).startswith(self.root) or not (full + os.sep).startswith(self.root):
            return None
        rel = os.path.relpath(full, self.project.root).replace(os.sep, "/")
        return "" if rel == "." else rel

    def compose(self, rel: str) -> ComposeFile | None:
        pf = self.project.file(rel)
        if pf is not None:
            return pf.compose
        if self.relative(rel) != rel or not rel:
            return None
        abspath = os.path.join(self.project.root, rel)
        if not os.path.isfile(abspath):
            return None
        pf = _load_file(rel, abspath, "compose")
        if pf.compose is None:  # not read at all (too big, not a regular file, unreadable)
            return None
        pf.implicit = True
        self.project._add(pf)
        return pf.compose

    def env(self, rel: str) -> dict[str, str] | None:
        if rel not in self.envs:
            abspath = os.path.join(self.project.root, rel)
            text = _read_text(abspath) if self.relative(rel) == rel and os.path.isfile(abspath) else None
            self.envs[rel] = None if text is None else parse_dotenv(text, [])
        return self.envs[rel]


def group_compose(project: Project, reuse: dict[tuple[int, ...], ComposeProject] | None = None) -> list[ComposeProject]:
    """Group compose files as Compose would: per directory, the base file plus its
    `*.override.*`; every other `compose.*`/`docker-compose.*` file is checked as base + that file
    (unless the base includes it). `reuse` maps the ids of a group's file models to its already
    resolved project."""
    by_dir: dict[str, list[ComposeFile]] = {}
    for f in project.files:
        if f.compose is not None and f.compose.root is not None and not f.implicit:
            by_dir.setdefault(posixpath.dirname(f.path), []).append(f.compose)
    reader = _Reader(project)

    def resolve(files: list[ComposeFile], env: dict[str, str]) -> ComposeProject:
        got = reuse.get(tuple(id(f) for f in files)) if reuse else None
        return got if got is not None else resolve_project(files, env, reader.compose, reader=reader)

    out: list[ComposeProject] = []
    for _d, files in sorted(by_dir.items()):
        names = {posixpath.basename(f.path).lower(): f for f in files}
        base = next((names[n] for n in _BASE_NAMES if n in names), None)
        if base is None or (project.explicit and len(files) == 1):
            for f in files:
                out.append(resolve([f], f.env))
            continue
        overrides = [f for f in files if _OVERRIDE.match(posixpath.basename(f.path))]
        main = resolve([base, *overrides], base.env)
        out.append(main)
        for f in files:
            if f is base or f in overrides or any(f is g for g in main.included):
                continue
            if posixpath.basename(f.path).lower() in _BASE_NAMES:
                out.append(resolve([f], f.env))  # a second base file: its own project
            else:
                out.append(resolve([base, f], base.env))
    return out


def with_texts(project: Project, texts: dict[str, str]) -> Project:
    """A copy of `project` where the files in `texts` have new content (parsed again);
    unchanged files share their models. Used to re-scan a fix before it is written."""
    new = Project(
        root=project.root,
        dockerignores=dict(project.dockerignores),
        ci_files=list(project.ci_files),
        skipped=list(project.skipped),
        env_problems=list(project.env_problems),
        unreadable_dirs=list(project.unreadable_dirs),
        tracked=project.tracked,
        explicit=project.explicit,
        aux_raw=project.aux_raw,
        aux=dict(project.aux),
    )
    for pf in project.files:
        if pf.path in texts and pf.source is not None:
            raw = pf.source.encode(texts[pf.path])
            clone = ProjectFile(pf.path, pf.abspath, pf.kind, implicit=pf.implicit)
            try:
                clone.source = SourceText.from_bytes(pf.path, raw, abspath=pf.abspath)
            except SourceError as exc:
                clone.error = FileError(str(exc), exc.line, exc.column)
                new._add(clone)
                continue
            if pf.kind == "dockerfile":
                clone.dockerfile = parse_dockerfile(clone.source)
            else:
                env = pf.compose.env if pf.compose is not None else {}
                clone.compose = load_compose(clone.source, env)
                if clone.compose.error is not None:
                    e = clone.compose.error
                    clone.error = FileError(e.message, e.line, e.column)
            new._add(clone)
        else:
            new._add(pf)
    for path, text in texts.items():
        if new.file(path) is None:
            project.aux_text(path)  # remember the original bytes before recording the new text
            new.aux[path] = text
            if path.endswith(".dockerignore"):
                new.dockerignores[path] = text
    # a compose project whose files did not change is reused, unless it may read a changed file
    # through `extends` or `include:`
    changed = {p for p in texts if (pf := project.file(p)) is not None and pf.kind == "compose"}
    reuse = {tuple(id(f) for f in cp.files): cp for cp in project.compose_projects
             if not (changed and any(f.path in changed or (f.source is not None and "extends" in f.source.text)
                                     for f in cp.all_files()))}
    new.compose_projects = group_compose(new, reuse)
    return new
