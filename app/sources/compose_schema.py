"""Compose files checked against the Compose Specification's JSON schema (vendored in
batten/schemas/, see its README for version and license), with a small validator for the subset
of JSON Schema draft 7 the file uses: type, properties, patternProperties, additionalProperties,
required, items, uniqueItems, oneOf, enum, minimum, maximum, pattern and local $ref.

It walks the YAML node graph as written (merge keys applied, `!reset`/`!override` skipped), so a
problem points at its line. A scalar that interpolates a variable (`${MEM}`) can become any
scalar type once Compose substitutes it, so it matches every scalar type. A few values the
schema leaves as free strings but Compose parses afterwards (memory sizes, durations, CPUs) are
checked for their form too: `mem_limit: 1gb-ish` is as invalid to Compose as a wrong type.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from batten.sources.interpolate import has_interpolation
from batten.sources.yamlnodes import MappingNode, Node, ScalarNode, SequenceNode, scalar_value

MAX_PROBLEMS = 50  # per file: a file of another kind entirely says so in the first few
SCHEMA_FILE = "compose-spec.json"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    message: str
    line: int  # 1-based
    column: int
    path: str  # services.app.read-only
    key: str | None = None  # the unknown key, when that is the problem
    suggestion: str | None = None  # the key the specification spells that way


@cache
def schema() -> dict[str, Any]:
    text = resources.files("batten").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def known_keys() -> frozenset[str]:
    """Every property name the specification defines, at any level."""
    out: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            props = x.get("properties")
            if isinstance(props, dict):
                out.update(props)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(schema())
    return frozenset(out)


def _norm(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def suggest(key: str, candidates: list[str] | tuple[str, ...] | frozenset[str]) -> str | None:
    """The candidate `key` is most likely a misspelling of (`read-only` -> `read_only`)."""
    norm = _norm(key)
    for c in candidates:
        if _norm(c) == norm:
            return c
    got = difflib.get_close_matches(norm, sorted(candidates), n=1, cutoff=0.8)
    return got[0] if got else None


def misspelling_of(existing: str, key: str) -> bool:
    """True when `existing` (a key written in a file, unknown to the specification) is a
    misspelling of `key` (a key of the specification a fix would add): the same words in another
    casing or separator, or a close miss."""
    if existing == key or key not in known_keys() or existing in known_keys():
        return False
    if _norm(existing) == _norm(key):
        return True
    return difflib.SequenceMatcher(None, _norm(existing), _norm(key)).ratio() >= 0.85


_ENTRIES: dict[int, tuple[MappingNode, list[tuple[str, ScalarNode, Node]]]] = {}


def _merged_entries(node: MappingNode) -> list[tuple[str, ScalarNode, Node]]:
    """Entries with merge keys applied (keys written in the mapping win); memoised during one
    validate() call (anchors are walked once per alias)."""
    hit = _ENTRIES.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    from batten.sources.compose import map_entries

    got = [(k, kn, vn) for k, kn, vn, _merged in map_entries(node)]
    _ENTRIES[id(node)] = (node, got)
    return got


# -- instance kinds ------------------------------------------------------------------------------

_ANY = "any"  # a tagged (!reset / !override) node: Compose decides
_INTERP = "interpolated"


def _kind(node: Node) -> str:
    tag = node.tag
    if tag is not None and tag[0] == "!":
        return _ANY
    if isinstance(node, MappingNode):
        return "object"
    if isinstance(node, SequenceNode):
        return "array"
    value = scalar_value(node)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str) and has_interpolation(node.value):
        return _INTERP
    return "string"


_SCALARS = {"string", "number", "integer", "boolean", "null"}


def _type_ok(kind: str, want: str | list[str]) -> bool:
    types = [want] if isinstance(want, str) else want
    if kind == _ANY:
        return True
    if kind == _INTERP:
        return any(t in _SCALARS for t in types)
    if kind == "integer" and "number" in types:
        return True
    return kind in types


_ARTICLE = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
            "integer": "an integer", "boolean": "a boolean", "null": "null"}


def _describe(want: str | list[str]) -> str:
    types = [want] if isinstance(want, str) else want
    words = [_ARTICLE.get(t, t) for t in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _got(kind: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "a number"}.get(kind, _ARTICLE.get(kind, kind))


@cache
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(p)


# -- the validator -----------------------------------------------------------------------------


class _Validator:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = schema().get("definitions", {})

    def resolve(self, s: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(s, dict) and "$ref" in s and seen < 32:
            ref = s["$ref"]
            s = self.defs.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/definitions/") else {}
            seen += 1
        return s if isinstance(s, dict) else {}

    def check(self, node: Node, s: Any, path: str, out: list[SchemaProblem], depth: int = 0) -> None:
        s = self.resolve(s)
        if not s or depth > 64:
            return
        kind = _kind(node)
        if kind == _ANY:
            return
        if "type" in s and not _type_ok(kind, s["type"]):
            out.append(_at(node, f"{_where(path)} must be {_describe(s['type'])}, not {_got(kind)}", path))
            return
        if "oneOf" in s:
            self._one_of(node, kind, s["oneOf"], path, out, depth)
        if kind == "object":
            self._object(node, s, path, out, depth)  # type: ignore[arg-type]
        elif kind == "array":
            self._array(node, s, path, out, depth)  # type: ignore[arg-type]
        elif kind != _INTERP:
            self._scalar(node, kind, s, path, out)  # type: ignore[arg-type]

    def _one_of(self, node: Node, kind: str, branches: list[Any], path: str, out: list[SchemaProblem],
                depth: int) -> None:
        tried: list[tuple[int, list[SchemaProblem]]] = []
        types: list[str] = []
        for b in branches:
            rb = self.resolve(b)
            t = rb.get("type")
            if t is not None:
                types.extend([t] if isinstance(t, str) else t)
                if not _type_ok(kind, t):
                    continue
            errs: list[SchemaProblem] = []
            self.check(node, rb, path, errs, depth + 1)
            if not errs:
                return
            tried.append((len(errs), errs))
        if tried:  # report the branch of the node's own type that came closest
            out.extend(min(tried, key=lambda t: t[0])[1])
        else:
            want = sorted(set(types), key=types.index)
            out.append(_at(node, f"{_where(path)} must be {_describe(want)}, not {_got(kind)}", path))

    def _object(self, node: MappingNode, s: dict[str, Any], path: str, out: list[SchemaProblem], depth: int) -> None:
        props: dict[str, Any] = s.get("properties", {})
        pats: dict[str, Any] = s.get("patternProperties", {})
        addl = s.get("additionalProperties", True)
        keys: set[str] = set()
        for key, knode, vnode in _merged_entries(node):
            keys.add(key)
            sub = f"{path}.{key}" if path else key
            matched = False
            if key in props:
                self.check(vnode, props[key], sub, out, depth + 1)
                matched = True
            for pat, ps in pats.items():
                if _pattern(pat).search(key):
                    self.check(vnode, ps, sub, out, depth + 1)
                    matched = True
            if matched:
                continue
            if addl is False:
                hint = suggest(key, list(props)) if props else None
                where = _where(path)
                msg = f"{where}: unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                if not props and pats and not path.count("."):
                    msg = f"{where}: {key!r} is not a valid name"
                out.append(_at(knode, msg, sub, key=key, suggestion=hint))
            elif isinstance(addl, dict):
                self.check(vnode, addl, sub, out, depth + 1)
        for req in s.get("required", []):
            if req not in keys:
                out.append(_at(node, f"{_where(path)}: missing required key {req!r}", path))

    def _array(self, node: SequenceNode, s: dict[str, Any], path: str, out: list[SchemaProblem], depth: int) -> None:
        items = s.get("items")
        for i, item in enumerate(node.value):
            if items is not None:
                self.check(item, items, f"{path}[{i}]", out, depth + 1)
        if s.get("uniqueItems"):
            seen: dict[Any, int] = {}
            for i, item in enumerate(node.value):
                if isinstance(item, ScalarNode):
                    v = scalar_value(item)
                    k = (type(v).__name__, v)
                    if k in seen:
                        out.append(_at(item, f"{_where(path)}: {item.value!r} is listed twice", f"{path}[{i}]"))
                    seen.setdefault(k, i)

    def _scalar(self, node: ScalarNode, kind: str, s: dict[str, Any], path: str, out: list[SchemaProblem]) -> None:
        value = scalar_value(node)
        if "enum" in s and value not in s["enum"] and str(value) not in [str(e) for e in s["enum"]]:
            allowed = ", ".join(str(e) for e in s["enum"][:8])
            out.append(_at(node, f"{_where(path)} must be one of {allowed}", path))
        if kind in ("integer", "number") and not isinstance(value, bool):
            if "minimum" in s and value < s["minimum"]:
                out.append(_at(node, f"{_where(path)} must be at least {s['minimum']}", path))
            if "maximum" in s and value > s["maximum"]:
                out.append(_at(node, f"{_where(path)} must be at most {s['maximum']}", path))
        if kind == "string" and "pattern" in s and not _pattern(s["pattern"]).search(str(value)):
            out.append(_at(node, f"{_where(path)} does not have the expected form", path))


def _where(path: str) -> str:
    return path or "the top level"


def _at(node: Node, message: str, path: str, *, key: str | None = None,
        suggestion: str | None = None) -> SchemaProblem:
    mark = node.start_mark
    return SchemaProblem(message, mark.line + 1, mark.column + 1, path, key, suggestion)


# -- values the schema leaves free but Compose parses ----------------------------------------------

_BYTES = re.compile(r"^-?\d+(\.\d+)*\s?[kKmMgGtTpPbB]?[iI]?[bB]?$")  # docker/go-units RAMInBytes
_DURATION = re.compile(r"^-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$")  # Go time.ParseDuration
_CPUS = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")

_SERVICE_FORMS = {
    ("mem_limit",): ("bytes", "a size such as 512m or 1g"),
    ("memswap_limit",): ("bytes", "a size such as 1g (or -1)"),
    ("mem_reservation",): ("bytes", "a size such as 256m"),
    ("shm_size",): ("bytes", "a size such as 64m"),
    ("build", "shm_size"): ("bytes", "a size such as 64m"),
    ("cpus",): ("cpus", "a number of CPUs such as 0.5"),
    ("stop_grace_period",): ("duration", "a duration such as 10s or 1m30s"),
    ("restart",): ("restart", "a restart policy (no, always, on-failure[:N], unless-stopped)"),
    ("healthcheck", "interval"): ("duration", "a duration such as 30s"),
    ("healthcheck", "timeout"): ("duration", "a duration such as 5s"),
    ("healthcheck", "start_period"): ("duration", "a duration such as 10s"),
    ("healthcheck", "start_interval"): ("duration", "a duration such as 5s"),
    ("deploy", "resources", "limits", "memory"): ("bytes", "a size such as 512m"),
    ("deploy", "resources", "reservations", "memory"): ("bytes", "a size such as 256m"),
    ("deploy", "resources", "limits", "cpus"): ("cpus", "a number of CPUs such as 0.5"),
    ("deploy", "resources", "reservations", "cpus"): ("cpus", "a number of CPUs such as 0.5"),
}
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_FORMS = {"bytes": _BYTES, "duration": _DURATION, "cpus": _CPUS, "restart": _RESTART}


def _get(node: Node, path: tuple[str, ...]) -> Node | None:
    cur: Node | None = node
    for key in path:
        if not isinstance(cur, MappingNode):
            return None
        cur = next((v for k, _kn, v in _merged_entries(cur) if k == key), None)
    return cur


def _forms(root: MappingNode, out: list[SchemaProblem]) -> None:
    services = _get(root, ("services",))
    if not isinstance(services, MappingNode):
        return
    for name, _kn, svc in _merged_entries(services):
        if not isinstance(svc, MappingNode):
            continue
        for rel, (form, example) in _SERVICE_FORMS.items():
            v = _get(svc, rel)
            if not isinstance(v, ScalarNode) or v.tag in ("!reset", "!override"):
                continue
            value = scalar_value(v)
            if not isinstance(value, str) or has_interpolation(v.value):
                continue
            if not _FORMS[form].fullmatch(value.strip()):
                path = ".".join(("services", name, *rel))
                shown = value if len(value) <= 40 else value[:37] + "..."
                out.append(_at(v, f"{path}: {shown!r} is not {example}", path))


# -- entry point -----------------------------------------------------------------------------------


def validate(root: MappingNode) -> list[SchemaProblem]:
    """Problems of one compose file (its root mapping), in file order, at most MAX_PROBLEMS."""
    out: list[SchemaProblem] = []
    try:
        _Validator().check(root, schema(), "", out)
        _forms(root, out)
    finally:
        _ENTRIES.clear()
    seen: set[tuple[int, int, str]] = set()
    unique: list[SchemaProblem] = []
    for p in sorted(out, key=lambda p: (p.line, p.column)):
        k = (p.line, p.column, p.message)
        if k not in seen:
            seen.add(k)
            unique.append(p)
    return unique[:MAX_PROBLEMS]


__all__ = ["SchemaProblem", "known_keys", "misspelling_of", "schema", "suggest", "validate"]
