"""YAML loading for compose files: ruamel.yaml's composer, node spans, guards against hostile input.

batten never constructs Python objects from YAML to check it and never dumps YAML to write it:
it composes the node graph (every node keeps exact start/end offsets in the text; aliases are
shared node objects, so an alias bomb composes in microseconds) and walks that graph under an
expansion budget. The libyaml-backed composer of `ruamel.yaml.clib` is used when present (about
10x faster than the pure-Python one on the corpus); both yield the same node classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from batten.model import Span

MAX_DEPTH = 256  # deeper nesting is refused before parsing (real compose files stay under 15)
MAX_EXPANDED_NODES = 250_000  # aliases expanded beyond this are an alias bomb

MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"

__all__ = [
    "MAX_DEPTH",
    "MERGE_TAG",
    "MappingNode",
    "Node",
    "ScalarNode",
    "SequenceNode",
    "YamlProblem",
    "compose_document",
    "expanded_size",
    "is_map",
    "is_scalar",
    "is_seq",
    "node_span",
    "scalar_value",
]


class YamlProblem(Exception):
    """Malformed or hostile YAML; message is one line, with a 1-based location."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def _make_loader(pure: bool) -> YAML:
    y = YAML(typ="safe", pure=pure)
    y.allow_duplicate_keys = True  # duplicates are reported by batten itself, with a location
    return y


try:  # the C composer (ruamel.yaml.clib); fall back to pure Python when it is missing
    from ruamel.yaml.cyaml import CParser  # noqa: F401

    _LOADER = _make_loader(pure=False)
    FAST = True
except Exception:  # pragma: no cover - depends on the platform
    _LOADER = _make_loader(pure=True)
    FAST = False
_PURE = _make_loader(pure=True) if FAST else _LOADER

_QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'|#[^\n]*")


def _nesting_depth(text: str) -> tuple[int, int]:
    """Cheap upper bound of nesting: flow brackets (outside quotes/comments) and indentation."""
    stripped = _QUOTED.sub("", text) if ("[" in text or "{" in text) else ""
    depth = best = 0
    for ch in stripped:
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "]}":
            depth = max(0, depth - 1)
    indent = 0
    for line in text.split("\n"):
        n = len(line) - len(line.lstrip(" -"))
        if n > indent:
            indent = n
    return best, indent


def _first_document(loader: YAML, text: str) -> Node | None:
    first: Node | None = None
    for i, doc in enumerate(loader.compose_all(text)):
        if i == 0:
            first = doc
        # later documents are parsed (so syntax errors surface) but ignored, as compose does
    return first


def compose_document(text: str, name: str = "<compose>") -> Node | None:
    """Compose the first YAML document of `text` into a node graph (no construction)."""
    flow, indent = _nesting_depth(text)
    if flow > MAX_DEPTH or indent > MAX_DEPTH * 4:
        levels = flow if flow > MAX_DEPTH else indent // 2
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels (about {levels}); not parsed")
    try:
        return _first_document(_LOADER, text)
    except MarkedYAMLError as exc:
        if FAST:
            # libyaml implements YAML 1.1 and rejects a few things YAML 1.2 (and Compose) accept,
            # such as `{image: example/web:1.2}` (a colon inside a flow plain scalar)
            try:
                return _first_document(_PURE, text)
            except (MarkedYAMLError, YAMLError, RecursionError):
                pass
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1) if mark is not None else 1
        col = (mark.column + 1) if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = f" ({exc.context})" if exc.context and exc.problem else ""
        raise YamlProblem(f"invalid YAML: {problem}{ctx}", line, col) from None
    except YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    except RecursionError:
        raise YamlProblem(f"nesting too deep to parse; not parsed (limit {MAX_DEPTH})") from None


def node_span(node: Node) -> Span:
    start = node.start_mark.index
    end = node.end_mark.index
    return Span(start, max(start, end))


def is_map(node: object) -> bool:
    return isinstance(node, MappingNode)


def is_seq(node: object) -> bool:
    return isinstance(node, SequenceNode)


def is_scalar(node: object) -> bool:
    return isinstance(node, ScalarNode)


def scalar_value(node: ScalarNode) -> object:
    """YAML 1.2 core-schema value of a scalar (what compose's go-yaml v3 decodes).

    Tags come from ruamel's resolver; custom tags (`!reset`, `!override`) keep the string, and
    `!reset null` reads as None."""
    value = node.value
    tag = node.tag or STR_TAG
    if tag == STR_TAG:
        return value
    if tag == NULL_TAG:
        return None
    if tag == BOOL_TAG:
        return value.lower() in ("true", "yes", "on", "y")
    if tag == INT_TAG:
        v = value.replace("_", "")
        try:
            if v[:2] in ("0o", "0O"):
                return int(v[2:], 8)
            if v[:2] in ("0x", "0X"):
                return int(v[2:], 16)
            return int(v, 10)
        except ValueError:
            return value
    if tag == FLOAT_TAG:
        try:
            return float(value.replace("_", ""))
        except ValueError:
            low = value.lower()
            if low.endswith(".inf"):
                return float("-inf") if low.startswith("-") else float("inf")
            return float("nan") if low == ".nan" else value
    if tag in ("!reset", "!override") and value in ("", "null", "~"):
        return None
    return value


def expanded_size(root: Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """Number of nodes after expanding every alias, computed without expanding (memoised on the
    shared node objects). Raises YamlProblem beyond `limit`: that is an alias bomb."""
    memo: dict[int, int] = {}
    visiting: set[int] = set()
    shared = [False]  # a node reached twice: aliases are being expanded

    def size(node: Node) -> int:
        key = id(node)
        cached = memo.get(key)
        if cached is not None:
            shared[0] = True
            return cached
        if key in visiting:
            raise YamlProblem("recursive alias (a node contains itself); not parsed")
        visiting.add(key)
        total = 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        elif isinstance(node, SequenceNode):
            for v in node.value:
                total += size(v)
                if total > limit:
                    break
        visiting.discard(key)
        memo[key] = total
        if total > limit:
            line = node.start_mark.line + 1
            message = (f"alias expansion exceeds {limit:,} nodes (an alias bomb?); not parsed" if shared[0]
                       else f"more than {limit:,} YAML nodes (no aliases involved): too large; not parsed")
            raise YamlProblem(message, line, node.start_mark.column + 1)
        return total

    return size(root)


def walk(node: Node) -> Iterator[tuple[Node | None, Node]]:
    """(key node or None, node) for `node` and every value and item under it, in document order;
    each node object once, so an alias cycle ends and an aliased node is visited where it first
    appears."""
    seen: set[int] = set()
    stack: list[tuple[Node | None, Node]] = [(None, node)]
    while stack:
        key, n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield key, n
        if isinstance(n, MappingNode):
            for k, v in reversed(n.value):
                stack.append((k, v))
        elif isinstance(n, SequenceNode):
            for v in reversed(n.value):
                stack.append((None, v))


@dataclass(slots=True)
class DuplicateKey:
    key: str
    line: int
    column: int
    first_line: int


def find_duplicate_keys(root: Node) -> list[DuplicateKey]:
    """Duplicate keys in any mapping as written (merge keys aside), first in the file first;
    compose rejects them."""
    out: list[DuplicateKey] = []
    for _key, node in walk(root):
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for k, _v in node.value:
                if isinstance(k, ScalarNode) and not (k.value == "<<" and k.tag == MERGE_TAG):
                    if k.value in first:
                        out.append(DuplicateKey(k.value, k.start_mark.line + 1, k.start_mark.column + 1, first[k.value]))
                    else:
                        first[k.value] = k.start_mark.line + 1
    out.sort(key=lambda d: (d.line, d.column))
    return out
