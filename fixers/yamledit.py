"""Format-preserving YAML edits on the original text.

Nothing is ever re-serialised: every operation computes the smallest text edit (insert a few
lines, replace a scalar, delete an entry's lines) from the node spans of ruamel.yaml's composer.
New text follows what the file does around the edit: the key indentation of the mapping it goes
into, the mapping indent and sequence dash offset used nearby (which may differ between blocks of
one file), flow or block style of the sibling collections, the file's quote style and its line
ending; a file without a final newline keeps having none.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from batten.fixers.registry import NoFix
from batten.model import Edit
from batten.sources.compose import ComposeFile, map_entries
from batten.sources.yamlnodes import MERGE_TAG, MappingNode, Node, ScalarNode, SequenceNode, walk


class YamlEditError(NoFix):
    """The edit cannot be made without touching more than it should."""


# ---------------------------------------------------------------------------------------------
# document helpers
# ---------------------------------------------------------------------------------------------


@dataclass
class YamlDoc:
    """One compose file as the fixers see it: its text, path, newline and line offsets."""

    cf: ComposeFile

    @property
    def text(self) -> str:
        return self.cf.source.text

    @property
    def path(self) -> str:
        return self.cf.path

    @property
    def nl(self) -> str:
        return self.cf.source.newline

    def line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def line_end(self, offset: int) -> int:
        """Offset of the line ending ('\\r\\n' or '\\n') of the line holding `offset`, or EOF."""
        i = self.text.find("\n", offset)
        if i == -1:
            return len(self.text)
        return i - 1 if i > 0 and self.text[i - 1] == "\r" else i

    def next_line_start(self, offset: int) -> int | None:
        i = self.text.find("\n", offset)
        return None if i == -1 else i + 1

    def column(self, offset: int) -> int:
        return offset - self.line_start(offset)

    def insert_lines_after(self, offset: int, lines: list[str]) -> Edit:
        """Insert whole lines after the line holding `offset` (EOF without newline handled)."""
        body = self.nl.join(lines)
        nxt = self.next_line_start(offset)
        if nxt is None:  # last line has no newline: keep it that way
            return Edit(self.path, len(self.text), len(self.text), self.nl + body)
        return Edit(self.path, nxt, nxt, body + self.nl)


def content_end(doc: YamlDoc, node: Node) -> int:
    """Offset just after the last character that belongs to `node` as written (not the
    whitespace, blank lines or comments ruamel's end mark runs over)."""
    if isinstance(node, ScalarNode):
        end = node.end_mark.index
        if node.style in ("|", ">"):
            seg = doc.text[node.start_mark.index:end]
            return node.start_mark.index + len(seg.rstrip())
        return end
    if isinstance(node, MappingNode | SequenceNode):
        if node.flow_style:
            return node.end_mark.index
        if isinstance(node, MappingNode):
            if not node.value:
                return node.start_mark.index
            k, v = node.value[-1]
            alias = alias_extent(doc, k, v)
            return alias[1] if alias else content_end(doc, v)
        if not node.value:
            return node.start_mark.index
        last = node.value[-1]
        alias = item_alias_extent(doc, node, len(node.value) - 1)
        return alias[1] if alias else content_end(doc, last)
    return node.end_mark.index


_ALIAS = re.compile(r"[ \t]*(\*[^\s,\]\}#]+)")
_COLON_WS = re.compile(r"[ \t]*:?[ \t]*")
_COLON_STAR = re.compile(r"[ \t]*:[ \t]*\*")
_ITEM_ALIAS = re.compile(r"[\s,\-\[]*(\*[^\s,\]\}#]+)")


def alias_extent(doc: YamlDoc, key: Node, value: Node) -> tuple[int, int] | None:
    """If `value` is written as `*alias` after `key:`, the span of that alias token."""
    k_end = key.end_mark.index
    if value.start_mark.index >= k_end and not _points_elsewhere(doc, k_end, value):
        return None
    m = _COLON_WS.match(doc.text, k_end)
    pos = m.end() if m else k_end
    m2 = _ALIAS.match(doc.text, pos)
    if m2:
        return m2.start(1), m2.end(1)
    return None


def _points_elsewhere(doc: YamlDoc, key_end: int, value: Node) -> bool:
    """True when the text right after the key is an alias token (value defined elsewhere)."""
    m = _COLON_STAR.match(doc.text, key_end)
    return bool(m)


def item_alias_extent(doc: YamlDoc, seq: SequenceNode, index: int) -> tuple[int, int] | None:
    item = seq.value[index]
    # the text between the previous item (or the sequence start) and this item
    if index == 0:
        start = seq.start_mark.index
    else:
        prev = seq.value[index - 1]
        start = prev.end_mark.index if prev.start_mark.index < seq.start_mark.index else content_end(doc, prev)
    if item.start_mark.index >= start and item.start_mark.index <= seq.end_mark.index:
        return None
    m = _ITEM_ALIAS.match(doc.text, start)
    if m:
        return m.start(1), m.end(1)
    return None


def own_entries(node: MappingNode) -> list[tuple[str, ScalarNode, Node]]:
    """Entries written in this mapping (merge keys excluded)."""
    # merge keys are written `<<`: look at the (slow) tag only for those
    return [(k.value, k, v) for k, v in node.value if isinstance(k, ScalarNode)
            and not (k.value == "<<" and (k.tag == MERGE_TAG or k.style in (None, "")))]


def own(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for k, kn, vn in own_entries(node):
        if k == key:
            return kn, vn
    return None


def merged_only(node: MappingNode, key: str) -> Node | None:
    """The value of `key` when it comes only from a merge key (`<<: *anchor`)."""
    if own(node, key) is not None:
        return None
    for k, _kn, vn, merged in map_entries(node):
        if k == key and merged:
            return vn
    return None


# ---------------------------------------------------------------------------------------------
# style detection
# ---------------------------------------------------------------------------------------------


@dataclass
class Style:
    map_indent: int = 2  # child key column - parent key column
    seq_offset: int = 2  # dash column - key column for a block sequence under a key
    flow_seqs: bool = False  # sibling sequences are written [a, b]
    quote: str = '"'


def _scan_style(scope: Node) -> tuple[int | None, int | None, int, int]:
    """(map indent, seq dash offset, flow seqs, block seqs) seen under `scope`. The map indent is
    the step most nested block mappings take (the first seen among equals)."""
    steps: Counter[int] = Counter()
    seq_offset = None
    flow = block = 0
    for key, n in walk(scope):
        if key is None:
            continue
        kcol = key.start_mark.column
        if isinstance(n, MappingNode) and not n.flow_style and n.value:
            first = n.value[0][0]
            if first.start_mark.line > key.start_mark.line and first.start_mark.column > kcol:
                steps[first.start_mark.column - kcol] += 1
        if isinstance(n, SequenceNode) and n.value:
            if n.flow_style:
                flow += 1
            else:
                block += 1
                if seq_offset is None and n.start_mark.line > key.start_mark.line:
                    seq_offset = n.start_mark.column - kcol
    map_indent = steps.most_common(1)[0][0] if steps else None
    return map_indent, seq_offset, flow, block


def _own_step(doc: YamlDoc, node: Node) -> int | None:
    """The step from a block mapping's key to its entries (`web:` to `image:`), if it has a key."""
    if not isinstance(node, MappingNode) or node.flow_style or not node.value or doc.cf.root is None:
        return None
    keys = doc.cf.cache.get("keys")
    if keys is None:
        keys = doc.cf.cache["keys"] = {id(n): k for k, n in walk(doc.cf.root) if k is not None}
    key = keys.get(id(node))
    first = node.value[0][0]
    if key is None or first.start_mark.line <= key.start_mark.line or first.start_mark.column <= key.start_mark.column:
        return None
    return first.start_mark.column - key.start_mark.column


def detect_style(doc: YamlDoc, near: Node | None) -> Style:
    """The conventions of the block around `near`, falling back to the whole file.

    A nested block follows the step of the block it goes into: the step its nested mappings
    take, else its own step from its key; only a block with neither takes the step most of the
    file uses. Scans are memoised per file (nodes are immutable once composed), so planning many
    fixes on one file walks it once."""
    cache = doc.cf.cache
    root = doc.cf.root

    def scan(node: Node | None) -> tuple[int | None, int | None, int, int]:
        if node is None:
            return (None, None, 0, 0)
        key = ("style", id(node))
        got = cache.get(key)
        if got is None:
            got = cache[key] = _scan_style(node)
        return got

    st = Style()
    near_scan = scan(near)
    root_scan = scan(root)
    own = _own_step(doc, near) if near is not None and near_scan[0] is None else None
    st.map_indent = near_scan[0] or own or root_scan[0] or 2
    st.seq_offset = near_scan[1] if near_scan[1] is not None else (root_scan[1] if root_scan[1] is not None else 2)
    flow, block = (near_scan[2], near_scan[3]) if (near_scan[2] or near_scan[3]) else (root_scan[2], root_scan[3])
    st.flow_seqs = flow > block
    quote = cache.get("quote")
    if quote is None:
        dq = sq = 0
        for _k, n in walk(root) if root is not None else ():
            if isinstance(n, ScalarNode):
                if n.style == '"':
                    dq += 1
                elif n.style == "'":
                    sq += 1
        quote = cache["quote"] = "'" if sq > dq else '"'
    st.quote = quote
    return st


# ---------------------------------------------------------------------------------------------
# rendering values
# ---------------------------------------------------------------------------------------------

_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./ @+=-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


class Raw(str):
    """A scalar rendered exactly as given (already formatted YAML): batten's own text only,
    never a value from outside (use :class:`Quoted`)."""


class Quoted(str):
    """A value from outside (engine, --set, form field): always emitted as a quoted scalar
    that reads back as exactly this string, whatever it contains."""


# characters a YAML quoted scalar may not hold raw (non-printable, line breaks, BOM, surrogates)
_NOT_PRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def double_quoted(s: str) -> str:
    """A YAML double-quoted scalar reading back as `s`: JSON string syntax (a YAML subset) with
    every non-printable character escaped, so no value can end the scalar or start a new key."""
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(s, ensure_ascii=False))


def single_quote_ok(s: str) -> bool:
    return "'" not in s and not _NOT_PRINTABLE.search(s)


def scalar(value: Any, quote: str = '"', force_quote: bool = False) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Quoted):
        s = str(value)
        return f"'{s}'" if quote == "'" and single_quote_ok(s) else double_quoted(s)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    s = str(value)
    needs = force_quote or not _PLAIN_OK.match(s) or s.lower() in _RESERVED or s != s.strip() or \
        re.fullmatch(r"[-+]?[0-9][0-9_.:eE+-]*", s) is not None or ": " in s or " #" in s
    if not needs:
        return s
    if quote == "'" and single_quote_ok(s):
        return f"'{s}'"
    return double_quoted(s)


def render_flow(value: Any, quote: str) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render_flow(v, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_flow(v, quote) for v in value) + "]"
    return scalar(value, quote)


def render_entry(key: str, value: Any, indent: int, st: Style) -> list[str]:
    """Lines for `key: value` at `indent`, nested collections in the detected style."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{key}: {{}}"]
        lines = [f"{pad}{key}:"]
        for k, v in value.items():
            lines.extend(render_entry(k, v, indent + st.map_indent, st))
        return lines
    if isinstance(value, list):
        if st.flow_seqs or not value:
            return [f"{pad}{key}: {render_flow(value, st.quote)}"]
        lines = [f"{pad}{key}:"]
        dash = " " * (indent + st.seq_offset)
        for item in value:
            if isinstance(item, dict):
                items = list(item.items())
                k0, v0 = items[0]
                first = render_entry(k0, v0, 0, st)
                lines.append(f"{dash}- {first[0]}")
                inner = indent + st.seq_offset + 2
                lines.extend((" " * inner) + ln for ln in first[1:])
                for k, v in items[1:]:
                    lines.extend(render_entry(k, v, inner, st))
            else:
                lines.append(f"{dash}- {scalar(item, st.quote)}")
        return lines
    return [f"{pad}{key}: {scalar(value, st.quote)}"]


# ---------------------------------------------------------------------------------------------
# operations
# ---------------------------------------------------------------------------------------------


def insert_entries(doc: YamlDoc, mapping: MappingNode, entries: dict[str, Any], near: Node | None = None) -> Edit:
    """Add keys at the end of `mapping` (which must not already hold them, nor a misspelling of
    them: a second spelling beside `read-only: true` would hide the first)."""
    for key in entries:
        if own(mapping, key) is not None:
            raise YamlEditError(f"key {key!r} already present")
    _refuse_second_spelling(mapping, entries)
    st = detect_style(doc, near if near is not None else mapping)
    if mapping.flow_style:
        parts = [f"{k}: {render_flow(v, st.quote)}" for k, v in entries.items()]
        end = mapping.end_mark.index - 1
        if doc.text[end] != "}":
            raise YamlEditError("flow mapping without closing brace")
        if mapping.value:
            at = content_end(doc, mapping.value[-1][1])
            alias = alias_extent(doc, *mapping.value[-1])
            if alias:
                at = alias[1]
            return Edit(doc.path, at, at, ", " + ", ".join(parts))
        return Edit(doc.path, end, end, ", ".join(parts))
    if not mapping.value:
        raise YamlEditError("empty block mapping")
    first_key = mapping.value[0][0]
    indent = first_key.start_mark.column
    lines: list[str] = []
    for k, v in entries.items():
        lines.extend(render_entry(k, v, indent, st))
    end = content_end(doc, mapping)
    return doc.insert_lines_after(end, lines)


def _refuse_second_spelling(mapping: MappingNode, entries: dict[str, Any]) -> None:
    from batten.sources.compose_schema import misspelling_of

    for existing, _k, _v, _merged in map_entries(mapping):
        for key in entries:
            if misspelling_of(existing, key):
                raise YamlEditError(f"the service has {existing!r}, a misspelling of {key!r}: fix its spelling "
                                    f"first (compose.invalid)")


def insert_under_key(doc: YamlDoc, key: ScalarNode, value: Node | None, entries: dict[str, Any], near: Node | None) -> Edit:
    """Fill a key whose value is empty/null (`svc:` or `svc: {}` or `svc: null`)."""
    st = detect_style(doc, near)
    if isinstance(value, MappingNode) and value.flow_style:
        return insert_entries(doc, value, entries, near)
    if value is not None and isinstance(value, ScalarNode) and value.value not in ("", "~", "null"):
        raise YamlEditError("key holds a scalar")
    indent = key.start_mark.column + st.map_indent
    lines: list[str] = []
    for k, v in entries.items():
        lines.extend(render_entry(k, v, indent, st))
    if value is not None and isinstance(value, ScalarNode) and value.value in ("~", "null"):
        # `svc: null` -> drop the null, put the block below
        start = value.start_mark.index
        end = value.end_mark.index
        ws = start
        while ws > 0 and doc.text[ws - 1] in " \t":
            ws -= 1
        body = doc.nl + doc.nl.join(lines)
        return Edit(doc.path, ws, end, body)
    return doc.insert_lines_after(key.end_mark.index, lines)


def append_items(doc: YamlDoc, seq: SequenceNode, items: list[Any]) -> Edit:
    st = detect_style(doc, seq)
    if seq.flow_style:
        rendered = ", ".join(render_flow(i, st.quote) for i in items)
        if seq.value:
            at = content_end(doc, seq.value[-1])
            alias = item_alias_extent(doc, seq, len(seq.value) - 1)
            if alias:
                at = alias[1]
            return Edit(doc.path, at, at, ", " + rendered)
        end = seq.end_mark.index - 1
        return Edit(doc.path, end, end, rendered)
    if not seq.value:
        raise YamlEditError("empty block sequence")
    dash_col = seq.start_mark.column
    quote = _item_quote(seq, st.quote)
    lines = [" " * dash_col + "- " + (render_flow(i, quote) if isinstance(i, dict | list) else scalar(i, quote))
             for i in items]
    return doc.insert_lines_after(content_end(doc, seq), lines)


def _item_quote(seq: SequenceNode, default: str) -> str:
    for item in seq.value:
        if isinstance(item, ScalarNode) and item.style in ('"', "'"):
            return item.style
    return default


def replace_scalar(doc: YamlDoc, node: ScalarNode, value: Any) -> Edit:
    """Replace a scalar's text, keeping its quoting style."""
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ('"', "'"):
        inner = str(value)
        if node.style == '"' or _NOT_PRINTABLE.search(inner):
            return Edit(doc.path, start, end, double_quoted(inner))
        return Edit(doc.path, start + 1, end - 1, inner.replace("'", "''"))
    if node.style in ("|", ">"):
        raise YamlEditError("block scalar")
    if isinstance(value, str) and not isinstance(value, Raw | Quoted) and plain_ok(value, in_flow=_in_flow(doc, start)):
        return Edit(doc.path, start, end, value)  # a plain scalar stays plain
    st = detect_style(doc, None)
    return Edit(doc.path, start, end, scalar(value, st.quote))


_INDICATOR_START = set("-?:,[]{}#&*!|>'\"%@`")


def plain_ok(s: str, *, in_flow: bool) -> bool:
    """Can `s` be written as a plain scalar (and read back as the same string)?"""
    if not s or s != s.strip() or s[0] in _INDICATOR_START or "\n" in s:
        return False
    if ": " in s or " #" in s or s.endswith(":") or s.lower() in _RESERVED:
        return False
    if re.fullmatch(r"[-+]?(\.?[0-9][0-9_.:eE+-]*|\.inf|\.nan)", s, re.IGNORECASE):
        return False
    return not (in_flow and any(c in s for c in ",[]{}"))


def _in_flow(doc: YamlDoc, offset: int) -> bool:
    """Whether the scalar at `offset` sits inside a flow collection on its line."""
    before = doc.text[doc.line_start(offset):offset]
    return before.count("[") + before.count("{") > before.count("]") + before.count("}")


def _entry_lines(doc: YamlDoc, start: int, end: int) -> tuple[int, int]:
    """Whole lines from the line of `start` through the line of `end` (line ending included)."""
    ls = doc.line_start(start)
    nxt = doc.next_line_start(end - 1 if end > start else end)
    if nxt is None:  # last line without newline: also take the newline before it
        le = len(doc.text)
        if ls > 0:
            prev = ls - 1
            if prev > 0 and doc.text[prev - 1] == "\r":
                prev -= 1
            return prev, le
        return ls, le
    return ls, nxt


def remove_entry(doc: YamlDoc, mapping: MappingNode, key: str) -> Edit:
    found = own(mapping, key)
    if found is None:
        raise YamlEditError(f"no key {key!r} written here")
    kn, vn = found
    alias = alias_extent(doc, kn, vn)
    vend = alias[1] if alias else content_end(doc, vn)
    if mapping.flow_style:
        idx = next(i for i, (k, _v) in enumerate(mapping.value) if k is kn)
        s, e = kn.start_mark.index, vend
        if idx + 1 < len(mapping.value):
            nk = mapping.value[idx + 1][0]
            e = nk.start_mark.index
        elif idx > 0:
            pk, pv = mapping.value[idx - 1]
            pa = alias_extent(doc, pk, pv)
            s = pa[1] if pa else content_end(doc, pv)
        return Edit(doc.path, s, e, "")
    # the key must start its line (block mapping)
    if doc.text[doc.line_start(kn.start_mark.index):kn.start_mark.index].strip():
        raise YamlEditError("key does not start its line")
    s, e = _entry_lines(doc, kn.start_mark.index, vend)
    return Edit(doc.path, s, e, "")


def remove_item(doc: YamlDoc, seq: SequenceNode, index: int) -> Edit:
    item = seq.value[index]
    alias = item_alias_extent(doc, seq, index)
    iend = alias[1] if alias else content_end(doc, item)
    istart = alias[0] if alias else item.start_mark.index
    if seq.flow_style:
        if index + 1 < len(seq.value):
            nxt = seq.value[index + 1]
            nalias = item_alias_extent(doc, seq, index + 1)
            return Edit(doc.path, istart, nalias[0] if nalias else nxt.start_mark.index, "")
        if index > 0:
            prev = seq.value[index - 1]
            palias = item_alias_extent(doc, seq, index - 1)
            return Edit(doc.path, palias[1] if palias else content_end(doc, prev), iend, "")
        return Edit(doc.path, istart, iend, "")
    dash = doc.text.rfind("-", doc.line_start(istart), istart + 1)
    if dash == -1:
        raise YamlEditError("sequence item without dash on its line")
    s, e = _entry_lines(doc, dash, iend)
    return Edit(doc.path, s, e, "")
