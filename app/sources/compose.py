"""Compose model: files as written (node graph with exact spans) and services as Compose runs them.

Resolution follows the Compose Specification: merge keys (`<<: *a`, `<<: [*a, *b]`), `extends`
(same file or another), override files merged in order (mappings merged, sequences appended,
`ports`/`volumes`/`secrets`/`configs` merged by target, `command`/`entrypoint`/`healthcheck.test`
replaced, `!reset` and `!override`), `include:` of files inside the project (their resources
join the including project; see `_include`), and interpolation from the sibling `.env` (for
checking only). Every resolved value (`ComposeValue`) still knows the file, node and key it was written
under, so a finding can point at the line that causes it, even inside an anchor, an override
file or an included file: the file where the value is written.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from batten.model import Location, Span
from batten.sanitize import clip
from batten.sources.interpolate import Budget, ExpansionLimit, has_interpolation, interpolate
from batten.sources.text import SourceText
from batten.sources.yamlnodes import (
    MERGE_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlProblem,
    compose_document,
    expanded_size,
    find_duplicate_keys,
    node_span,
    scalar_value,
)

# keys whose list form is normalised to a mapping before merging
_MAPPING_LISTS = {"environment", "labels", "annotations", "sysctls", "extra_hosts", "driver_opts", "args"}
_REPLACED_SEQS = {"command", "entrypoint"}
_UNIQUE_SEQS = {"ports", "volumes", "secrets", "configs"}

MAX_EXTENDS_DEPTH = 16
MAX_INCLUDE_DEPTH = 16  # nested `include:` levels
MAX_INCLUDED = 256  # included files read for one project (a diamond of includes stays bounded)


@dataclass(slots=True)
class ParseProblem:
    message: str
    line: int = 1
    column: int = 1
    rule: str = "parse.error"  # the rule it is reported as (an include not read is a notice)


# ---------------------------------------------------------------------------------------------
# resolved values with provenance
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class ComposeValue:
    """A resolved value that remembers where it was written.

    `data` is a dict[str, ComposeValue] for mappings, a list[ComposeValue] for sequences and a plain Python value
    (interpolated str, bool, int, float or None) for scalars. `raw` is a scalar's text as written.
    """

    data: Any
    node: Node | None = None
    file: ComposeFile | None = None
    key_node: Node | None = None
    raw: str | None = None
    via: tuple[str, ...] = ()
    tag: str | None = None
    missing_vars: tuple[str, ...] = ()

    @property
    def is_map(self) -> bool:
        return isinstance(self.data, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.data, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.data, dict | list)

    def get(self, *path: str) -> ComposeValue | None:
        cur: ComposeValue | None = self
        for key in path:
            if cur is None or not isinstance(cur.data, dict):
                return None
            cur = cur.data.get(key)
        return cur

    def text_at(self, *path: str) -> str | None:
        """The text of the value at `path`; None where there is none or it is empty."""
        v = self.get(*path)
        return v.text if v is not None and v.text else None

    def items(self) -> Iterator[tuple[str, ComposeValue]]:
        if isinstance(self.data, dict):
            yield from self.data.items()

    def __iter__(self) -> Iterator[ComposeValue]:
        if isinstance(self.data, list):
            yield from self.data
        elif isinstance(self.data, dict):
            yield from self.data.values()

    def plain(self) -> Any:
        if isinstance(self.data, dict):
            return {k: v.plain() for k, v in self.data.items()}
        if isinstance(self.data, list):
            return [v.plain() for v in self.data]
        return self.data

    @property
    def text(self) -> str:
        """The scalar as a string ('' for None; 'true'/'false' for booleans)."""
        d = self.data
        if d is None:
            return ""
        if isinstance(d, bool):
            return "true" if d else "false"
        if isinstance(d, dict | list):
            return ""
        return str(d)

    @property
    def interpolated(self) -> bool:
        return self.raw is not None and has_interpolation(self.raw)

    @property
    def span(self) -> Span | None:
        return node_span(self.node) if self.node is not None else None

    @property
    def key_span(self) -> Span | None:
        return node_span(self.key_node) if self.key_node is not None else None

    def location(self, *, key: bool = False) -> Location | None:
        """Where the value (or, with key=True, its key) is written."""
        if self.file is None:
            return None
        node = self.key_node if (key and self.key_node is not None) else self.node
        if node is None:
            node = self.key_node
        if node is None:
            return None
        return self.file.source.location(_head_span(node, self.file.source.text))

    @property
    def path(self) -> str | None:
        return self.file.path if self.file else None


def _head_span(node: Node, text: str) -> Span:
    """The node's span, cut to its first line for block collections (a tidy location)."""
    sp = node_span(node)
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style:
        nl = text.find("\n", sp.start, sp.end)
        if nl != -1:
            end = nl
            if end > sp.start and text[end - 1] == "\r":
                end -= 1
            return Span(sp.start, max(sp.start, end))
    return sp


def truthy(v: ComposeValue | None) -> bool:
    if v is None:
        return False
    d = v.data
    if isinstance(d, bool):
        return d
    if isinstance(d, str):
        return d.strip().lower() in ("true", "yes", "on", "1", "y")
    if isinstance(d, int | float):
        return d != 0
    return False


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class ComposeFile:
    source: SourceText
    root: MappingNode | None
    error: ParseProblem | None = None
    env: dict[str, str] = field(default_factory=dict)
    warnings: list[ParseProblem] = field(default_factory=list)
    cache: dict[object, object] = field(default_factory=dict, repr=False)  # derived facts (fixers)
    budget: Budget = field(default_factory=Budget, repr=False)  # interpolation, for the whole file

    def note(self, problem: ParseProblem) -> None:
        """A problem that does not stop the file being checked (reported as parse.error)."""
        if all((p.line, p.column, p.message) != (problem.line, problem.column, problem.message)
               for p in self.warnings):
            self.warnings.append(problem)

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def dir(self) -> str:
        return posixpath.dirname(self.source.path)

    def top(self, key: str) -> Node | None:
        if self.root is None:
            return None
        for k, v in self.root.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
        return None

    def service_nodes(self) -> list[tuple[str, ScalarNode, Node]]:
        svc = self.top("services")
        if not isinstance(svc, MappingNode):
            return []
        return [(k.value, k, v) for k, v in svc.value if isinstance(k, ScalarNode)
                and not (k.value == "<<" and k.tag == MERGE_TAG)]

    @property
    def ok(self) -> bool:
        return self.error is None

    def schema_problems(self) -> list:
        """Where the file departs from the Compose Specification (batten.sources.compose_schema),
        computed once; empty for a file that did not parse."""
        if self.root is None:
            return []
        got = self.cache.get("schema_problems")
        if got is None:
            from batten.sources.compose_schema import validate

            got = self.cache["schema_problems"] = validate(self.root)
        return got  # type: ignore[return-value]


def load_compose(source: SourceText, env: Mapping[str, str] | None = None) -> ComposeFile:
    """Parse one compose file; problems become `error` (the scan reports parse.error)."""
    env = dict(env or {})
    if not source.text.strip():
        return ComposeFile(source, None, ParseProblem("empty compose file"), env)
    if not source.valid_utf8:
        return ComposeFile(source, None, ParseProblem("not UTF-8 text; YAML must be UTF-8"), env)
    try:
        root = compose_document(source.text, source.path)
    except YamlProblem as exc:
        return ComposeFile(source, None, ParseProblem(str(exc), exc.line, exc.column), env)
    if root is None:
        return ComposeFile(source, None, ParseProblem("empty compose file (no YAML document)"), env)
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a scalar"
        line = root.start_mark.line + 1
        return ComposeFile(
            source, None, ParseProblem(f"top level is {kind}; a compose file must be a mapping", line), env
        )
    try:
        expanded_size(root)
    except YamlProblem as exc:
        return ComposeFile(source, None, ParseProblem(str(exc), exc.line, exc.column), env)
    dups = find_duplicate_keys(root)
    if dups:
        d = dups[0]
        return ComposeFile(
            source,
            None,
            ParseProblem(f'duplicate key "{d.key}" (first defined on line {d.first_line})', d.line, d.column),
            env,
        )
    for k, _v in root.value:
        if not isinstance(k, ScalarNode):
            return ComposeFile(
                source, None, ParseProblem("top-level keys must be strings", k.start_mark.line + 1), env
            )
    return ComposeFile(source, root, None, env)


# ---------------------------------------------------------------------------------------------
# node -> ComposeValue
# ---------------------------------------------------------------------------------------------


def map_entries(node: MappingNode) -> list[tuple[str, ScalarNode, Node, bool]]:
    """Entries of a mapping with merge keys applied: (key, key node, value node, from_merge).

    Keys written in the mapping win over merged ones; with `<<: [*a, *b]` earlier maps win."""
    explicit: list[tuple[str, ScalarNode, Node, bool]] = []
    merges: list[Node] = []
    for k, v in node.value:
        if not isinstance(k, ScalarNode):
            continue
        if k.value == "<<" and (k.style in (None, "") or k.tag == MERGE_TAG):
            merges.append(v)
        else:
            explicit.append((k.value, k, v, False))
    if not merges:
        return explicit
    seen = {e[0] for e in explicit}
    out = list(explicit)
    for m in merges:
        sources = [m] if isinstance(m, MappingNode) else list(m.value) if isinstance(m, SequenceNode) else []
        for src in sources:
            if not isinstance(src, MappingNode):
                continue
            for key, knode, vnode, _ in map_entries(src):
                if key not in seen:
                    seen.add(key)
                    out.append((key, knode, vnode, True))
    return out


class _Builder:
    def __init__(self, file: ComposeFile, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.budget = file.budget

    def build(self, node: Node, key_node: Node | None = None, via: tuple[str, ...] = (), key: str = "") -> ComposeValue:
        tag = node.tag if node.tag in ("!reset", "!override") else None
        if isinstance(node, MappingNode):
            data: dict[str, ComposeValue] = {}
            for k, knode, vnode, merged in map_entries(node):
                data[k] = self.build(vnode, knode, (*via, "merge") if merged else via, k)
            v = ComposeValue(data, node, self.file, key_node, None, via, tag)
        elif isinstance(node, SequenceNode):
            items = [self.build(item, None, via, key) for item in node.value]
            v = ComposeValue(items, node, self.file, key_node, None, via, tag)
        else:
            value = scalar_value(node)  # type: ignore[arg-type]
            missing: list[str] = []
            if isinstance(value, str) and "$" in value:
                try:
                    value = interpolate(value, self.env, missing, self.budget)
                except ExpansionLimit as exc:  # kept as written, reported, the scan carries on
                    self.file.note(ParseProblem(str(exc), node.start_mark.line + 1, node.start_mark.column + 1))
            v = ComposeValue(value, node, self.file, key_node, node.value, via, tag, tuple(missing))
        if key in _MAPPING_LISTS and v.is_seq:
            v = _list_to_map(v)
        return v


def _list_to_map(v: ComposeValue) -> ComposeValue:
    data: dict[str, ComposeValue] = {}
    for item in v.data:
        text = item.text
        sep = "=" if "=" in text else (":" if ":" in text and not text.startswith("[") else None)
        if sep:
            k, _, val = text.partition(sep)
            data[k.strip()] = ComposeValue(val, item.node, item.file, item.node, item.raw, item.via, None, item.missing_vars)
        elif text:
            data[text.strip()] = ComposeValue(None, item.node, item.file, item.node, item.raw, item.via)
    return ComposeValue(data, v.node, v.file, v.key_node, None, v.via, v.tag)


# ---------------------------------------------------------------------------------------------
# merging (override files and extends)
# ---------------------------------------------------------------------------------------------


def _unique_key(kind: str, item: ComposeValue) -> str:
    if kind == "ports":
        p = parse_port(item)
        if p is not None:
            return f"{p.host_ip or ''}|{p.published or ''}|{p.target}|{p.protocol}"
    elif kind == "volumes":
        vol = parse_volume(item)
        if vol is not None:
            return vol.target
    elif kind in ("secrets", "configs"):
        if item.is_map:
            tgt = item.get("target")
            src = item.get("source")
            return (tgt.text if tgt else "") or (src.text if src else "")
        return item.text
    return repr(item.plain())


def merge_v(base: ComposeValue | None, over: ComposeValue, path: tuple[str, ...]) -> ComposeValue | None:
    """Merge `over` onto `base` as Compose merges override files; None means "remove"."""
    if over.tag == "!reset":
        return None
    if over.tag == "!override" or base is None:
        return over
    last = path[-1] if path else ""
    if base.is_map and over.is_map:
        data = dict(base.data)
        for k, ov in over.data.items():
            merged = merge_v(data.get(k), ov, (*path, k))
            if merged is None:
                data.pop(k, None)
            else:
                data[k] = merged
        return ComposeValue(data, over.node, over.file, over.key_node, None, over.via, None)
    if base.is_seq and over.is_seq:
        if last in _REPLACED_SEQS or path[-2:] == ("healthcheck", "test"):
            return over
        if last in _UNIQUE_SEQS and len(path) >= 3:
            merged_items: dict[str, ComposeValue] = {}
            for item in base.data:
                merged_items[_unique_key(last, item)] = item
            for item in over.data:
                merged_items[_unique_key(last, item)] = item
            return ComposeValue(list(merged_items.values()), over.node, over.file, over.key_node, None, over.via)
        items = list(base.data)
        seen = {repr(i.plain()) for i in items}
        for item in over.data:
            key = repr(item.plain())
            if key not in seen:
                seen.add(key)
                items.append(item)
        return ComposeValue(items, over.node, over.file, over.key_node, None, over.via)
    return over


# ---------------------------------------------------------------------------------------------
# services and projects
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class BuildSpec:
    context: str | None  # project-relative posix path ("" for the root); None for remote contexts
    dockerfile: str | None  # project-relative path of the Dockerfile (None when inline or remote)
    inline: str | None  # dockerfile_inline text
    target: str | None
    v: ComposeValue  # the `build` value
    remote: bool = False


@dataclass(eq=False)
class Service:
    name: str
    v: ComposeValue
    file: ComposeFile  # the file whose `services:` first declares it
    key_node: ScalarNode
    defs: list[tuple[ComposeFile, ScalarNode, Node]]  # every file declaring it, in merge order
    build: BuildSpec | None = None
    home: ComposeProject | None = None  # the included project it comes from (None: its own files)

    def get(self, *path: str) -> ComposeValue | None:
        return self.v.get(*path)

    def plain(self) -> dict[str, Any]:
        p = self.v.plain()
        return p if isinstance(p, dict) else {}

    @property
    def image(self) -> str | None:
        return self.v.text_at("image")

    def location(self) -> Location:
        return self.file.source.location(node_span(self.key_node))

    @property
    def key_span(self) -> Span:
        return node_span(self.key_node)

    @property
    def node(self) -> Node:
        """The service's own mapping node in its primary file."""
        for f, k, n in self.defs:
            if f is self.file and k is self.key_node:
                return n
        return self.defs[0][2]


@dataclass(eq=False)
class ComposeProject:
    files: list[ComposeFile]
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)
    top: ComposeValue | None = None
    problems: list[tuple[ComposeFile, ParseProblem]] = field(default_factory=list)
    included: list[ComposeFile] = field(default_factory=list)  # files read through `include:`
    workdir: str | None = None  # an included project's `project_directory` (default: its base's)

    @property
    def base(self) -> ComposeFile:
        return self.files[0]

    @property
    def dir(self) -> str:
        return self.workdir if self.workdir is not None else self.base.dir

    def home(self, svc: Service) -> ComposeProject:
        """The project whose files declare `svc`: the included project it comes from, or this one
        (where a fix adds a top-level entry the service refers to, and what relative paths in its
        files are relative to)."""
        return svc.home if svc.home is not None else self

    def all_files(self) -> list[ComposeFile]:
        """Its files and every file read through `include:`."""
        return [*self.files, *self.included]

    def section(self, name: str) -> dict[str, ComposeValue]:
        if self.top is None:
            return {}
        sec = self.top.get(name)
        return dict(sec.data) if sec is not None and sec.is_map else {}

    @property
    def networks(self) -> dict[str, ComposeValue]:
        return self.section("networks")

    @property
    def volumes(self) -> dict[str, ComposeValue]:
        return self.section("volumes")

    @property
    def secrets(self) -> dict[str, ComposeValue]:
        return self.section("secrets")

    @property
    def name(self) -> str | None:
        return self.top.text_at("name") if self.top else None


FileLoader = Callable[[str], "ComposeFile | None"]


def _file_top_v(cf: ComposeFile, env: Mapping[str, str]) -> ComposeValue:
    assert cf.root is not None
    return _Builder(cf, env).build(cf.root)


def _resolve_extends(
    svc_v: ComposeValue,
    name: str,
    cf: ComposeFile,
    env: Mapping[str, str],
    loader: FileLoader | None,
    problems: list[tuple[ComposeFile, ParseProblem]],
    chain: tuple[tuple[str, str], ...] = (),
) -> ComposeValue:
    ext = svc_v.get("extends")
    if ext is None:
        return svc_v
    if ext.is_map:
        base_name = ext.get("service").text if ext.get("service") else ""
        file_v = ext.get("file")
        other_rel = file_v.text if file_v is not None else ""
    else:
        base_name, other_rel = ext.text, ""
    loc = ext.location() or Location(cf.path)
    if not base_name:
        problems.append((cf, ParseProblem("extends without a service name", loc.line, loc.column)))
        return svc_v
    key = (other_rel or cf.path, base_name)
    if key in chain or len(chain) > MAX_EXTENDS_DEPTH:
        problems.append((cf, ParseProblem(f"extends cycle through service {base_name!r}", loc.line, loc.column)))
        return svc_v
    target_cf = cf
    if other_rel:
        rel = posixpath.normpath(posixpath.join(cf.dir, other_rel))
        other = loader(rel) if loader else None
        if other is None or other.root is None:
            problems.append((cf, ParseProblem(f"extends: cannot load {other_rel}", loc.line, loc.column)))
            return svc_v
        target_cf = other
    top = _file_top_v(target_cf, env)
    base_svc = top.get("services", base_name)
    if base_svc is None:
        problems.append(
            (cf, ParseProblem(f"extends: service {base_name!r} not found in {target_cf.path}", loc.line, loc.column))
        )
        return svc_v
    if base_svc.data is None:
        base_svc = ComposeValue({}, base_svc.node, base_svc.file, base_svc.key_node)
    base_resolved = _resolve_extends(
        base_svc, base_name, target_cf, env, loader, problems, (*chain, (cf.path, name))
    )
    if target_cf is not cf:
        base_resolved = _mark_via(base_resolved, f"extends-file:{target_cf.path}")
    own = ComposeValue({k: v for k, v in svc_v.data.items() if k != "extends"}, svc_v.node, svc_v.file, svc_v.key_node)
    merged = merge_v(base_resolved, own, ("services", name))
    return merged if merged is not None else own


def _mark_via(v: ComposeValue, note: str) -> ComposeValue:
    if v.is_map:
        data = {k: _mark_via(x, note) for k, x in v.data.items()}
    elif v.is_seq:
        data = [_mark_via(x, note) for x in v.data]
    else:
        data = v.data
    return ComposeValue(data, v.node, v.file, v.key_node, v.raw, (*v.via, note), v.tag, v.missing_vars)


class IncludeReader(Protocol):
    """What `include:` may read: files inside the project only."""

    def relative(self, path: str) -> str | None:
        """`path` (project-relative or absolute) as a project-relative path; None when it lies
        outside the project (symlinks followed)."""

    def compose(self, rel: str) -> ComposeFile | None:
        """A compose file (None: missing or not a readable regular file)."""

    def env(self, rel: str) -> dict[str, str] | None:
        """A dotenv file's variables (None: missing or not readable)."""


class _LoaderReader:
    """An IncludeReader over a FileLoader: project-relative paths only, no env files."""

    def __init__(self, loader: FileLoader | None) -> None:
        self.loader = loader

    def relative(self, path: str) -> str | None:
        return None if path.startswith("/") or path == ".." or path.startswith("../") else path

    def compose(self, rel: str) -> ComposeFile | None:
        return self.loader(rel) if self.loader is not None else None

    def env(self, rel: str) -> dict[str, str] | None:
        return None


@dataclass(eq=False)
class _Includes:
    """State shared by one project's resolution and every project it includes."""

    reader: IncludeReader
    loader: FileLoader | None
    memo: dict[tuple, ComposeProject | None] = field(default_factory=dict)
    read: int = 0
    capped: bool = False


@dataclass(slots=True)
class IncludeEntry:
    v: ComposeValue  # the entry as written (where problems about it point)
    paths: list[ComposeValue]  # the file, then the files merged onto it as overrides
    project_directory: str | None
    env_files: list[str] | None  # None: `.env` in the project directory, when it exists


# remote include sources Compose fetches: OCI artifacts, git repositories, URLs
_REMOTE_INCLUDE = re.compile(r"^(oci:|git@|git::|[A-Za-z][A-Za-z0-9+.-]*://)")
_RESOURCES = ("services", "volumes", "networks", "secrets", "configs")


def include_entries(top: ComposeValue) -> list[IncludeEntry]:
    """A file's `include:` entries (short form: a path; long form: `path` as a string or a list,
    `project_directory`, `env_file`), interpolated with the including project's variables."""
    inc = top.get("include")
    if inc is None:
        return []
    out: list[IncludeEntry] = []
    for item in list(inc.data) if inc.is_seq else [inc]:
        if item.is_map:
            p = item.get("path")
            paths = [] if p is None else list(p.data) if p.is_seq else [p]
            pd = item.get("project_directory")
            ef = item.get("env_file")
            env_files = None if ef is None else [
                e.text for e in (ef.data if ef.is_seq else [ef]) if e.is_scalar and e.text]
            out.append(IncludeEntry(item, [x for x in paths if x.is_scalar and x.text],
                                    pd.text if pd is not None and pd.is_scalar and pd.text else None, env_files))
        elif item.is_scalar and item.text:
            out.append(IncludeEntry(item, [item], None, None))
    return out


def _include(cf: ComposeFile, entry: IncludeEntry, project: ComposeProject, env: Mapping[str, str],
             state: _Includes, chain: tuple[str, ...]) -> ComposeProject | None:
    """The project one `include:` entry brings in, resolved as Compose loads it (relative paths
    against the including project's directory, the included files' own relative paths against
    `project_directory`, which defaults to the first file's directory); None when it cannot be
    read (said as a problem of `cf`, or as a notice for what batten never reads)."""
    loc = entry.v.location() or Location(cf.path)

    def problem(message: str, rule: str = "parse.error") -> None:
        project.problems.append((cf, ParseProblem(message, loc.line, loc.column, rule)))

    reader, workdir = state.reader, project.dir
    paths: list[str] = []
    written: dict[str, str] = {}  # project-relative path -> as the entry writes it
    for i, pv in enumerate(entry.paths):
        text = pv.text
        rel = None if _REMOTE_INCLUDE.match(text) else reader.relative(_join(workdir, text))
        if rel is None:
            what = ("a remote file, which batten never fetches" if _REMOTE_INCLUDE.match(text)
                    else "outside the project, which batten does not read")
            problem(f"include: {clip(text)} is {what}: "
                    + ("its services are not checked here" if i == 0 else "its overrides are not applied here"),
                    "compose.include-unread")
            if i == 0:
                return None
            continue
        paths.append(rel)
        written.setdefault(rel, text)
    if not paths:
        return None
    looped = next((p for p in paths if p in chain), None)
    if looped is not None:
        problem("include cycle: " + " -> ".join(clip(p) for p in (*chain[chain.index(looped):], looped)))
        return None
    if len(chain) > MAX_INCLUDE_DEPTH:
        problem(f"include: nested more than {MAX_INCLUDE_DEPTH} levels deep; {clip(paths[0])} is not read")
        return None
    pdir = _join(workdir, entry.project_directory) if entry.project_directory else posixpath.dirname(paths[0])
    inc_env: dict[str, str] = {}
    if entry.env_files is None:
        got = reader.env(posixpath.join(pdir, ".env") if pdir else ".env") if reader.relative(pdir or ".") else None
        inc_env.update(got or {})
    for name in entry.env_files or ():
        rel_env = reader.relative(_join(workdir, name))
        got = reader.env(rel_env) if rel_env is not None else None
        if got is None:
            if rel_env is None:
                problem(f"include: env_file {clip(name)} is outside the project, which batten does not read: "
                        "its values are not used here", "compose.include-unread")
            else:
                problem(f"include: env_file {clip(name)} does not exist or cannot be read")
            continue
        inc_env.update(got)
    sub_env = {**inc_env, **env}  # the including project's variables win, as in Compose
    key = (tuple(paths), pdir, tuple(sorted(sub_env.items())))
    if key in state.memo:
        return state.memo[key]
    files: list[ComposeFile] = []
    for rel in paths:
        got_cf = reader.compose(rel)
        if got_cf is None:
            problem(f"include: {clip(written[rel])} does not exist or cannot be read")
            return None
        if got_cf.root is None:
            err = got_cf.error or ParseProblem("no YAML document")
            problem(f"include: {clip(written[rel])} cannot be parsed ({err.message}, line {err.line})")
            return None
        files.append(got_cf)
    if state.read + len(files) > MAX_INCLUDED:
        if not state.capped:
            problem(f"include: more than {MAX_INCLUDED} included files; the rest are not read")
            state.capped = True
        return None
    state.read += len(files)
    sub = resolve_project(files, sub_env, state.loader, workdir=pdir, _state=state, _chain=chain)
    state.memo[key] = sub
    project.problems.extend(sub.problems)
    return sub


def _import(cf: ComposeFile, top: ComposeValue, entry: IncludeEntry, sub: ComposeProject,
            project: ComposeProject, declared: dict[str, list[tuple[ComposeFile, ScalarNode, Node]]],
            homes: dict[str, ComposeProject]) -> None:
    """Add the resources of an included project to the including file's model; a name both
    define differently is a conflict Compose refuses (the including file's definition is kept)."""
    mark = f"include-dir:{sub.dir}"
    for kind in _RESOURCES:
        items = {n: s.v for n, s in sub.services.items()} if kind == "services" else sub.section(kind)
        if not items:
            continue
        have = top.get(kind)
        if have is None or not have.is_map:
            have = ComposeValue({}, have.node if have else None, cf, have.key_node if have else None)
            top.data[kind] = have
        for name, v in items.items():
            old = have.data.get(name)
            if old is not None:
                if old.plain() != v.plain():
                    where = (old.location(key=True) if old.file is cf else None) or entry.v.location() \
                        or Location(cf.path)
                    project.problems.append((cf, ParseProblem(
                        f"{kind}.{clip(name)} conflicts with imported resource from {clip(sub.base.path)}: "
                        "docker compose refuses the project", where.line, where.column)))
                continue
            have.data[name] = _mark_via(v, mark)
            if kind == "services":
                svc = sub.services[name]
                homes[name] = svc.home or sub
                declared.setdefault(name, []).extend(svc.defs)
    for f in (*sub.files, *sub.included):
        if all(f is not g for g in project.included):
            project.included.append(f)


def resolve_project(
    files: list[ComposeFile], env: Mapping[str, str] | None = None, loader: FileLoader | None = None, *,
    reader: IncludeReader | None = None, workdir: str | None = None,
    _state: _Includes | None = None, _chain: tuple[str, ...] = (),
) -> ComposeProject:
    """Merge a base file and its overrides into the project Compose would run, with the services,
    networks, volumes, secrets and configs of the files they `include:`. `reader` says what
    `include:` may read (default: what `loader` loads); `workdir` is an included project's
    directory."""
    good = [f for f in files if f.root is not None]
    project_env = dict(env if env is not None else (good[0].env if good else {}))
    project = ComposeProject(files=list(files), env=project_env, workdir=workdir)
    state = _state or _Includes(reader or _LoaderReader(loader), loader)
    merged_top: ComposeValue | None = None
    declared: dict[str, list[tuple[ComposeFile, ScalarNode, Node]]] = {}
    homes: dict[str, ComposeProject] = {}
    for cf in good:
        top = _file_top_v(cf, project_env)
        services = top.get("services")
        if services is not None and services.is_map:
            resolved: dict[str, ComposeValue] = {}
            for name, sv in services.data.items():
                if sv.data is None:
                    sv = ComposeValue({}, sv.node, sv.file, sv.key_node)
                if not sv.is_map:  # compose.invalid reports it (the schema), at its line
                    continue
                resolved[name] = _resolve_extends(sv, name, cf, project_env, loader, project.problems)
            top.data["services"] = ComposeValue(resolved, services.node, cf, services.key_node)
        for name, knode, vnode in cf.service_nodes():
            declared.setdefault(name, []).append((cf, knode, vnode))
        for entry in include_entries(top):
            sub = _include(cf, entry, project, project_env, state, (*_chain, cf.path))
            if sub is not None:
                _import(cf, top, entry, sub, project, declared, homes)
        top.data.pop("include", None)
        merged_top = top if merged_top is None else (merge_v(merged_top, top, ()) or top)
    project.top = merged_top
    svcs = merged_top.get("services") if merged_top is not None else None
    if svcs is not None and svcs.is_map:
        for name, sv in svcs.data.items():
            defs = declared.get(name) or []
            if not defs or not sv.is_map:
                continue
            primary = defs[0]
            home = homes.get(name)
            if home is not None and all(primary[0] is not f for f in home.all_files()):
                home = None  # declared first by the including project's own files
            service = Service(name, sv, primary[0], primary[1], defs, home=home)
            service.build = _build_spec(service, project)
            project.services[name] = service
    return project


def value_dir(v: ComposeValue, project: ComposeProject) -> str:
    """The directory relative paths in `v` are relative to: the file `extends` read it from, the
    included project it comes from, else the project's own directory."""
    for note in v.via:
        if note.startswith("extends-file:"):
            return posixpath.dirname(note.split(":", 1)[1])
        if note.startswith("include-dir:"):
            return note.split(":", 1)[1]
    return project.dir


_REMOTE = re.compile(r"^(https?://|git@|git://|ssh://|github\.com/)|\.git(#.*)?$")


def _join(base: str, rel: str) -> str:
    if rel.startswith("/"):
        return rel
    out = posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)
    return "" if out == "." else out


def _build_spec(service: Service, project: ComposeProject) -> BuildSpec | None:
    b = service.get("build")
    if b is None:
        return None
    if b.is_scalar:
        ctx_text = b.text or "."
        if _REMOTE.search(ctx_text):
            return BuildSpec(None, None, None, None, b, remote=True)
        ctx = _join(value_dir(b, project), ctx_text)
        return BuildSpec(ctx, _join(ctx, "Dockerfile"), None, None, b)
    if not b.is_map:
        return None
    ctx_v = b.get("context")
    ctx_text = b.text_at("context") or "."
    target = b.text_at("target")
    inline_v = b.get("dockerfile_inline")
    if inline_v is not None and inline_v.text:
        ctx = None if _REMOTE.search(ctx_text) else _join(value_dir(b, project), ctx_text)
        return BuildSpec(ctx, None, inline_v.text, target, b)
    if _REMOTE.search(ctx_text):
        return BuildSpec(None, None, None, target, b, remote=True)
    ctx = _join(value_dir(ctx_v or b, project), ctx_text)
    return BuildSpec(ctx, _join(ctx, b.text_at("dockerfile") or "Dockerfile"), None, target, b)


# ---------------------------------------------------------------------------------------------
# short/long syntax helpers
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PortSpec:
    target: str
    published: str | None
    host_ip: str | None
    protocol: str
    v: ComposeValue

    @property
    def published_ports(self) -> list[int]:
        return _port_range(self.published) if self.published else []

    @property
    def target_ports(self) -> list[int]:
        return _port_range(self.target)


def _port_range(text: str) -> list[int]:
    text = text.strip()
    if "-" in text:
        a, _, b = text.partition("-")
        if a.isdigit() and b.isdigit() and int(b) - int(a) < 65536:
            return list(range(int(a), int(b) + 1))
        return []
    return [int(text)] if text.isdigit() else []


def parse_port(v: ComposeValue) -> PortSpec | None:
    if v.is_map:
        return PortSpec(v.text_at("target") or "", v.text_at("published"), v.text_at("host_ip"),
                        (v.text_at("protocol") or "tcp").lower(), v)
    if not v.is_scalar or v.data is None:
        return None
    text = v.text.strip()
    proto = "tcp"
    if "/" in text:
        text, _, proto = text.rpartition("/")
    host_ip: str | None = None
    if text.startswith("["):
        close = text.find("]")
        host_ip = text[1:close]
        rest = text[close + 1 :].lstrip(":")
        parts = rest.split(":") if rest else []
    else:
        parts = text.split(":")
        if len(parts) > 3:  # unbracketed IPv6 host address
            host_ip = ":".join(parts[:-2])
            parts = parts[-2:]
        elif len(parts) == 3:
            host_ip = parts[0]
            parts = parts[1:]
    if not parts:
        return None
    if len(parts) == 1:
        return PortSpec(parts[0], None, host_ip or None, proto.lower(), v)
    published = parts[0] or None
    return PortSpec(parts[1], published, host_ip or None, proto.lower(), v)


@dataclass(slots=True)
class VolumeSpec:
    type: str  # bind | volume | tmpfs | npipe | cluster | image
    source: str | None
    target: str
    read_only: bool
    options: list[str]
    v: ComposeValue


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _windows_source(rest: str) -> bool:
    """Whether `X:` + `rest` is a Windows drive path followed by a target (`C:\\data:/data`,
    `c:/src:C:\\app`), rather than a one-letter volume name (`d:/data`, `d:/data:ro`: volume d)."""
    parts = rest.split(":")
    if len(parts) < 2:
        return False
    nxt = parts[1]
    return nxt.startswith(("/", "\\")) or (len(nxt) == 1 and nxt.isalpha() and len(parts) > 2
                                            and parts[2].startswith(("/", "\\")))


def parse_volume(v: ComposeValue) -> VolumeSpec | None:
    if v.is_map:
        propagation = v.get("bind", "propagation")
        opts = [propagation.text] if propagation is not None else []
        return VolumeSpec(v.text_at("type") or "volume", v.text_at("source"), v.text_at("target") or "",
                          truthy(v.get("read_only")), opts, v)
    if not v.is_scalar or v.data is None:
        return None
    text = v.text
    drive = ""
    if _DRIVE.match(text) and _windows_source(text[2:]):
        drive, text = text[:2], text[2:]
    parts = text.split(":")
    parts[0] = drive + parts[0]
    if len(parts) == 1:
        return VolumeSpec("volume", None, parts[0], False, [], v)
    src, tgt = parts[0], parts[1]
    if len(parts) > 2 and _DRIVE.match(parts[1] + ":" + parts[2][:1]) and len(parts[1]) == 1:
        tgt = parts[1] + ":" + parts[2]
        parts = [src, tgt, *parts[3:]]
    opts = parts[2].split(",") if len(parts) > 2 else []
    kind = "bind" if src.startswith(("/", ".", "~", "$")) or _DRIVE.match(src) or "\\" in src else "volume"
    return VolumeSpec(kind, src, tgt, "ro" in opts or "readonly" in opts, opts, v)


def tmpfs_entries(v: ComposeValue | None) -> list[tuple[str, list[str], ComposeValue]]:
    """`tmpfs:` as (path, options, value) triples (string or list form)."""
    if v is None:
        return []
    items = list(v.data) if v.is_seq else [v]
    out: list[tuple[str, list[str], ComposeValue]] = []
    for item in items:
        if not item.is_scalar or not item.text:
            continue
        path, _, opts = item.text.partition(":")
        out.append((path, [o.strip() for o in opts.split(",") if o.strip()], item))
    return out
