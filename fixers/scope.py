"""Findings kept per unit of checking, so that a change re-checks only what depends on it.

A project's checks run per unit: each Dockerfile, each compose project (a base file with its
overrides), each file that does not parse, and the project-wide rules. A unit's findings depend on
its own files and on a few links between them:

- a Dockerfile's on the compose projects whose services build it (runtime stages, build targets,
  build secrets) and on the `.dockerignore` of its build context;
- a compose project's on every file merged into it (base, overrides, files named by `extends`
  or `include:`) and on the Dockerfiles its services build.

`Checker.derive(new_project, paths)` re-checks exactly the units a change of `paths` can reach (in
the project before and after the change) and shares every other unit's findings, so verifying a
fix costs what the fix touches, not the size of the tree. Assembled, the findings are the ones
`run_checks` reports for the whole project (same order, same deduplication).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator

from batten.checks.base import make
from batten.checks.compose_rules import check_compose
from batten.checks.dockerfile_rules import check_dockerfile
from batten.checks.engine import apply_config, compose_problems, dedupe, env_notes
from batten.checks.project_rules import check_project
from batten.config import Config
from batten.model import Finding, Location
from batten.sources.compose import ComposeProject, ComposeValue
from batten.sources.project import Project

Unit = tuple[str, str]  # ("error", path) | ("df", path) | ("cp", files joined by NUL) | ("project", "")
PROJECT: Unit = ("project", "")


def cp_unit(cp: ComposeProject) -> Unit:
    return ("cp", "\0".join(f.path for f in cp.files))


def units_of(project: Project) -> Iterator[tuple[Unit, object]]:
    """Every unit of `project` in the order `raw_findings` checks them, with its model."""
    for pf in project.files:
        if pf.error is not None and not pf.implicit:
            yield ("error", pf.path), pf
    for pf in project.files:
        if pf.dockerfile is not None and pf.error is None and not pf.implicit:
            yield ("df", pf.path), pf.dockerfile
    seen: set[Unit] = set()
    for cp in project.compose_projects:
        unit = cp_unit(cp)
        if unit in seen:  # the same files grouped twice: one unit checks both
            unit = (unit[0], f"{unit[1]}\0#{len(seen)}")
        seen.add(unit)
        yield unit, cp
    yield PROJECT, project


def _values(v: ComposeValue, depth: int = 0) -> Iterator[ComposeValue]:
    yield v
    if depth > 64:
        return
    data = v.data
    children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    for child in children:
        if isinstance(child, ComposeValue):
            yield from _values(child, depth + 1)


def cp_files(cp: ComposeProject) -> set[str]:
    """Every file a compose project's findings can depend on: its own, those it includes and
    those `extends` reads."""
    paths = {f.path for f in cp.all_files()}
    if any(f.source is not None and "extends" in f.source.text for f in cp.all_files()):
        for svc in cp.services.values():
            paths.update(v.file.path for v in _values(svc.v) if v.file is not None)
    return paths


def cp_builds(cp: ComposeProject) -> set[str]:
    return {svc.build.dockerfile for svc in cp.services.values() if svc.build is not None and svc.build.dockerfile}


def cp_contexts(cp: ComposeProject) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for svc in cp.services.values():
        b = svc.build
        if b is not None and b.dockerfile and b.context is not None:
            out.setdefault(b.context, set()).add(b.dockerfile)
    return out


def _under(path: str, directory: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")


class Index:
    """Which units each path reaches, for one project (built once, then each lookup is cheap)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.by_path: dict[str, set[Unit]] = {}
        self.builders: dict[str, set[Unit]] = {}  # Dockerfile path -> compose units building it
        self.builds: dict[Unit, set[str]] = {}  # compose unit -> Dockerfiles it builds
        self.contexts: dict[Unit, dict[str, set[str]]] = {}  # compose unit -> build context -> Dockerfiles
        self.dirs: dict[Unit, str] = {}
        for unit, model in units_of(project):
            if unit[0] in ("df", "error"):
                self.by_path.setdefault(unit[1], set()).add(unit)
                self.dirs[unit] = posixpath.dirname(unit[1])
            elif unit[0] == "cp":
                assert isinstance(model, ComposeProject)
                for path in cp_files(model):
                    self.by_path.setdefault(path, set()).add(unit)
                self.builds[unit] = cp_builds(model)
                for df in self.builds[unit]:
                    self.builders.setdefault(df, set()).add(unit)
                self.contexts[unit] = cp_contexts(model)
                self.dirs[unit] = model.dir

    def reach(self, paths: Iterable[str]) -> set[Unit]:
        """The units whose findings a change of `paths` can alter."""
        out: set[Unit] = set()
        for p in paths:
            direct = self.by_path.get(p)
            if direct is not None:
                out |= direct
                out |= self.builders.get(p, set())
                for unit in direct:
                    if unit[0] == "cp":  # what it builds may now run differently
                        out.update(("df", b) for b in self.builds[unit])
            elif self.project.file(p) is None:  # another file: .dockerignore, .env, a secret file
                self._aux(p, out)
        return out

    def _aux(self, path: str, out: set[Unit]) -> None:
        d = posixpath.dirname(path)
        ignore = posixpath.basename(path) == ".dockerignore"
        for unit, udir in self.dirs.items():
            if unit[0] == "df" and _under(unit[1], d):
                out.add(unit)
            elif unit[0] == "cp":
                if ignore:
                    out.update(("df", b) for ctx, bs in self.contexts[unit].items() if ctx == d for b in bs)
                elif _under(udir, d):
                    out.add(unit)


def reach(project: Project, paths: Iterable[str]) -> set[Unit]:
    """The units of `project` whose findings a change of `paths` can alter."""
    return Index(project).reach(paths)


def _check(unit: Unit, model: object, project: Project) -> list[Finding]:
    kind = unit[0]
    if kind == "df":
        return check_dockerfile(model, project)  # type: ignore[arg-type]
    if kind == "cp":
        cp = model
        assert isinstance(cp, ComposeProject)
        out = compose_problems(cp)
        out.extend(check_compose(cp, project))
        return out
    if kind == "error":
        pf = model
        err = pf.error  # type: ignore[attr-defined]
        return [make("parse.error", f"cannot parse {pf.kind}: {err.message}",  # type: ignore[attr-defined]
                     Location(pf.path, err.line, err.column), evidence={"kind": pf.kind})]  # type: ignore[attr-defined]
    return [*env_notes(project), *check_project(project)]


def _configured(raw: list[Finding], project: Project, config: Config) -> list[Finding]:
    """`apply_config` keeping the check order (the whole list is sorted once, stably)."""
    order = {id(f): i for i, f in enumerate(raw)}
    out = apply_config(raw, project, config)
    out.sort(key=lambda f: order[id(f)])
    return out


class Checker:
    """The findings of one project, kept per unit (see the module's docstring)."""

    def __init__(self, project: Project, config: Config, by_unit: dict[Unit, list[Finding]] | None = None,
                 *, _defer: bool = False) -> None:
        self.project = project
        self.config = config
        self.by_unit: dict[Unit, list[Finding]] = {}
        self.checked = 0  # units checked to build this checker (the rest were shared)
        self.order: list[Unit] = []
        self._all: list[Finding] | None = None
        self._index: Index | None = None
        self._rank: dict[Unit, int] | None = None
        if not _defer:
            self._fill(by_unit or {})

    def _fill(self, known: dict[Unit, list[Finding]]) -> None:
        for unit, model in units_of(self.project):
            self.order.append(unit)
            got = known.get(unit)
            if got is None:
                got = _configured(_check(unit, model, self.project), self.project, self.config)
                self.checked += 1
            self.by_unit[unit] = got

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index(self.project)
        return self._index

    def findings(self) -> list[Finding]:
        """Every finding, as `run_checks(project, config)` reports them."""
        if self._all is None:
            # dedupe keeps the first of equal findings in check order, then one stable sort
            merged = dedupe([f for u in self._raw_order() for f in self.by_unit[u]])
            merged.sort(key=Finding.sort_key)
            self._all = merged
        return self._all

    def _raw_order(self) -> list[Unit]:
        # raw_findings: parse errors first (files, then compose problems), then the checks
        errors = [u for u in self.order if u[0] == "error"]
        return errors + [u for u in self.order if u[0] != "error"]

    def of(self, units: Iterable[Unit]) -> list[Finding]:
        """The findings of some units (deduplicated among themselves)."""
        if self._rank is None:
            self._rank = {u: i for i, u in enumerate(self._raw_order())}
        rank = self._rank
        wanted = sorted((u for u in set(units) if u in rank), key=rank.__getitem__)
        return dedupe([f for u in wanted for f in self.by_unit[u]])

    def reach(self, paths: Iterable[str], other: Project | None = None) -> set[Unit]:
        paths = set(paths)
        units = self.index.reach(paths)
        if other is not None:
            units |= Index(other).reach(paths)
        return units

    def derive(self, project: Project, paths: Iterable[str]) -> tuple[Checker, set[Unit]]:
        """The checker of `project` (this one's project with `paths` changed) and the units that
        were re-checked."""
        paths = set(paths)
        new = Checker(project, self.config, None, _defer=True)
        units = self.index.reach(paths) | new.index.reach(paths)
        new._fill({u: fs for u, fs in self.by_unit.items() if u not in units})
        return new, units
