"""Dockerfile model: instructions with exact source spans, heredocs, flags, pairs and stages.

dockerfile-parse's `structure` is line based: it has no character spans, treats heredoc bodies
as instructions, ends a continuation at an empty line and knows nothing about flags. This
module is a line scanner that follows BuildKit's `frontend/dockerfile/parser` instead:

* parser directives (`# syntax=`, `# escape=`, `# check=`) only in the leading block of
  directive comments; the first blank line, other comment or instruction ends the block;
* a line continues when its last non-blank (space/tab) character is the escape token and
  that token is not itself escaped; comment lines and whitespace-only lines inside a
  continuation are skipped, a comment line never continues;
* heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`, several per line) on RUN, COPY and ADD (also
  behind ONBUILD); bodies start after the end of the logical line;
* leading `--flags` are split off the arguments the way `extractBuilderFlags` does;
* `args` is the logical line after the flags with continuations removed, mapped back to
  the source through `Instruction.source_offset`.

Word splitting and unquoting of ENV/ARG/LABEL values follow BuildKit's `parseWords` and
shell-word processing for the file's escape token; `dockerfile_parse.util.WordSplitter`
only knows `\\` and keeps `\\$`/`\\\\` escapes inside double quotes, so it serves as a test
oracle rather than as the implementation here.

Offsets are character offsets into `SourceText.text` (CRLF kept, BOM already stripped).
"""

from __future__ import annotations

import bisect
import csv
import json as _json
import re
from dataclasses import dataclass, field
from typing import Any

from batten.model import Span
from batten.sources.imageref import ImageRef
from batten.sources.shell import single_quoted
from batten.sources.text import SourceText

__all__ = [
    "HEREDOC_KEYWORDS",
    "KNOWN_INSTRUCTIONS",
    "Directive",
    "DockerfileModel",
    "Flag",
    "Heredoc",
    "ImageRef",
    "Instruction",
    "Pair",
    "ParseProblem",
    "Stage",
    "declared_env",
    "expand_args",
    "parse_dockerfile",
    "split_words",
    "unquote",
]

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
#: instructions whose arguments may carry heredoc markers (BuildKit `heredocDirectives`)
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
#: instructions whose arguments BuildKit tries as a JSON array (parseMaybeJSON[ToList])
_JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME"})
_PAIR_KEYWORDS = frozenset({"ENV", "ARG", "LABEL"})
_VALID_DIRECTIVES = frozenset({"syntax", "escape", "check"})

_DIRECTIVE_RE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KEYWORD_RE = re.compile(r"[^\t\v\f\r ]+")
_BLANKS_RE = re.compile(r"[\t\v\f\r ]*")
_WS_RE = re.compile(r"[\t\v\f\r ]+")
# a flag token: `--name[=value]`; quotes may hold blanks, `\` escapes the next character
_FLAG_TOKEN_RE = re.compile(r"""--(?:[^\s'"\\]|\\[\s\S]?|'[^']*'?|"(?:[^"\\]|\\[\s\S]?)*"?)*""")
# words as BuildKit's heredoc scan sees them (shell lexer with `\` escape, quotes kept)
_SHELL_WORD_RE = re.compile(r"""(?:[^\s'"\\]|\\[\s\S]?|'[^']*'?|"(?:[^"\\]|\\[\s\S]?)*"?)+""")
_HEREDOC_MARK_RE = re.compile(
    r"""[0-9]*<<(-?)(?:'([A-Za-z0-9_.\-]+)'|"([A-Za-z0-9_.\-]+)"|([A-Za-z0-9_.\-]+))$"""
)
_WORD_RES: dict[str, re.Pattern[str]] = {}


def _word_re(escape: str) -> re.Pattern[str]:
    """BuildKit `parseWords`: blanks split, quotes group, the escape token takes the next char."""
    pat = _WORD_RES.get(escape)
    if pat is None:
        e = re.escape(escape)
        pat = re.compile(rf"""(?:[^\s'"{e}]|{e}[\s\S]?|'[^']*'?|"(?:[^"{e}]|{e}[\s\S]?)*"?)+""")
        _WORD_RES[escape] = pat
    return pat


def split_words(text: str, escape: str = "\\") -> list[tuple[int, int]]:
    """(start, end) of each blank-separated word of `text`, quotes and escapes kept inside."""
    return [m.span() for m in _word_re(escape).finditer(text)]


def unquote(raw: str, escape: str = "\\") -> str:
    """Remove quotes and process escapes like BuildKit's shell-word processing (no expansion).

    Outside quotes the escape token makes the next character literal; inside double quotes it
    only escapes `"`, `$` and itself; inside single quotes nothing is special.
    """
    if "'" not in raw and '"' not in raw and escape not in raw:
        return raw
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "'":
            i, kept = single_quoted(raw, i)
            out.append(kept)
        elif ch == '"':
            i += 1
            while i < n and raw[i] != '"':
                c = raw[i]
                if c == escape and i + 1 < n:
                    nxt = raw[i + 1]
                    if nxt in ('"', "$", escape):
                        out.append(nxt)
                        i += 2
                        continue
                elif c == escape:  # escape at the very end: dropped
                    i += 1
                    continue
                out.append(c)
                i += 1
            i += 1
        elif ch == escape:
            if i + 1 < n:
                out.append(raw[i + 1])
            i += 2
        else:
            j = i + 1
            while j < n and raw[j] not in ("'", '"', escape):
                j += 1
            out.append(raw[i:j])
            i = j
    return "".join(out)


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_args(text: str, env: dict[str, str | None]) -> str:
    """Substitute `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:+a}`, `${VAR+a}` from `env`.

    A variable that is unknown or declared without a value (`None`) stays as written unless a
    default form supplies a value, so the result still shows what could not be resolved.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if j + 1 < n and text[j + 1] == "{":
            # find the matching brace (defaults may nest ${...})
            depth, k = 1, j + 2
            while k < n and depth:
                if text[k] == "{":
                    depth += 1
                elif text[k] == "}":
                    depth -= 1
                k += 1
            if depth:
                out.append(text[j:])
                break
            inner = text[j + 2 : k - 1]
            out.append(_expand_braced(inner, env, text[j:k]))
            i = k
            continue
        m = _NAME_RE.match(text, j + 1)
        if m is None:
            out.append("$")
            i = j + 1
            continue
        val = env.get(m.group())
        out.append(val if val is not None else text[j : m.end()])
        i = m.end()
    return "".join(out)


def _expand_braced(inner: str, env: dict[str, str | None], written: str) -> str:
    m = _NAME_RE.match(inner)
    if m is None:
        return written
    name = m.group()
    rest = inner[m.end() :]
    val = env.get(name)
    if not rest:
        return val if val is not None else written
    colon = rest.startswith(":")
    op = rest[1:2] if colon else rest[:1]
    word = rest[2:] if colon else rest[1:]
    is_set = val is not None and (val != "" or not colon)
    if op == "-":
        return val if is_set and val is not None else expand_args(word, env)
    if op == "+":
        return expand_args(word, env) if is_set else ""
    if op == "?":
        return val if is_set and val is not None else written
    return written


# -- data ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Flag:
    """An instruction flag like `--mount=type=cache,target=/root/.cache`."""

    name: str  # without dashes, lower-case
    value: str | None  # quotes removed; None for a bare flag like --link
    span: Span  # the whole `--name=value` token in the source

    def options(self) -> dict[str, str]:
        """CSV `key=value` items (mount, secret, cache options); keys lower-case.

        A bare item such as `rw` or `readonly` maps to "true".
        """
        if not self.value:
            return {}
        try:
            items = next(csv.reader([self.value]))
        except (csv.Error, StopIteration):
            items = self.value.split(",")
        out: dict[str, str] = {}
        for item in items:
            item = item.strip()
            if not item:
                continue
            key, sep, val = item.partition("=")
            out[key.strip().lower()] = val if sep else "true"
        return out


@dataclass(slots=True)
class Heredoc:
    delimiter: str  # EOF
    quoted: bool  # <<'EOF' or <<"EOF": the body is not expanded
    strip_tabs: bool  # <<-EOF
    body: str  # exactly as in the source, with line endings
    body_span: Span
    span: Span  # body + terminator line (without the terminator's line ending)
    marker_span: Span  # the `<<EOF` token on the instruction line
    terminated: bool = True

    @property
    def content(self) -> str:
        """The body as the build sees it (leading tabs removed for `<<-`)."""
        if self.strip_tabs:
            return re.sub(r"(?m)^\t+", "", self.body)
        return self.body


@dataclass(slots=True)
class Pair:
    """One key/value of ENV, ARG or LABEL."""

    key: str
    value: str | None  # quotes removed, escapes processed; None for `ARG NAME`
    raw_value: str | None  # exactly as written
    key_span: Span
    value_span: Span | None
    span: Span  # the whole `key=value` (or legacy `KEY value`) item
    legacy: bool = False  # `ENV KEY value` form


@dataclass(slots=True, eq=False)
class Instruction:
    """One instruction with its exact place in the source.

    `args` is the logical argument text after the leading flags: each continuation's escape
    token (with the blanks after it) and line ending removed, comment lines and blank lines
    inside the continuation dropped, trailing blanks of the logical line trimmed; nothing else
    changes, so `source_offset` maps every index back to its source character. Heredoc markers
    stay in `args`; their bodies are in `heredocs`.
    """

    keyword: str  # upper-case
    raw_keyword: str  # as written
    span: Span  # keyword .. end of last line (heredocs included, final line ending excluded)
    keyword_span: Span
    args_span: Span  # flags + arguments of the logical line, before any heredoc body
    line: int  # 1-based first line
    end_line: int  # 1-based last line (incl. heredoc terminators)
    flags: list[Flag]
    args: str  # logical argument text after the flags
    heredocs: list[Heredoc]
    stage: int  # index of the stage; -1 before the first FROM
    json: list[str] | None  # exec form
    #: 1-based lines of whitespace-only lines skipped inside the continuation
    empty_continuation_lines: list[int] = field(default_factory=list)
    _escape: str = field(default="\\", repr=False)
    _args_base: int = field(default=0, repr=False)  # index of args[0] in the logical line
    _map_logical: list[int] = field(default_factory=list, repr=False)
    _map_source: list[int] = field(default_factory=list, repr=False)
    _pairs: list[Pair] | None = field(default=None, repr=False)
    memo: dict[str, Any] | None = field(default=None, repr=False)  # facts derived by checks, once

    # -- offsets --------------------------------------------------------------------------

    def _src(self, j: int, after: bool = False) -> int:
        starts = self._map_logical
        k = bisect.bisect_right(starts, j) - 1
        if k < 0:
            k = 0
        if after and k > 0 and starts[k] == j:
            k -= 1
        return self._map_source[k] + (j - starts[k])

    def source_offset(self, i: int, *, after: bool = False) -> int:
        """Source offset of `args[i]` (`i == len(args)`: just after the last character).

        When `args[i]` is the first character kept from a continuation line, `after=True`
        returns the position just after `args[i - 1]` instead (before the escape token on the
        previous line), which is where text appended to the previous word belongs.
        """
        if i < 0 or i > len(self.args):
            raise IndexError(f"args index {i} out of range 0..{len(self.args)}")
        if i == len(self.args) and i > 0:
            return self._src(self._args_base + i - 1) + 1
        return self._src(self._args_base + i, after)

    def args_subspan(self, start: int, end: int) -> Span:
        """Source span of `args[start:end]` (may cross continuation lines)."""
        if end <= start:
            off = self.source_offset(start, after=True)
            return Span(off, off)
        return Span(self.source_offset(start), self.source_offset(end - 1) + 1)

    # -- flags ----------------------------------------------------------------------------

    def flag(self, name: str) -> Flag | None:
        name = name.lower().lstrip("-")
        for f in self.flags:
            if f.name == name:
                return f
        return None

    def flags_named(self, name: str) -> list[Flag]:
        name = name.lower().lstrip("-")
        return [f for f in self.flags if f.name == name]

    @property
    def is_exec_form(self) -> bool:
        return self.json is not None

    # -- words and pairs ------------------------------------------------------------------

    def words(self) -> list[tuple[str, str, Span]]:
        """(unquoted, raw, source span) of each word of `args` (BuildKit `parseWords`)."""
        esc = self._escape
        out = []
        for lo, hi in split_words(self.args, esc):
            raw = self.args[lo:hi]
            out.append((unquote(raw, esc), raw, self.args_subspan(lo, hi)))
        return out

    def pairs(self) -> list[Pair]:
        """Key/values of ENV, ARG and LABEL (empty list for other instructions); computed once."""
        if self.keyword not in _PAIR_KEYWORDS:
            return []
        if self._pairs is None:
            self._pairs = self._parse_pairs()
        return list(self._pairs)

    def _parse_pairs(self) -> list[Pair]:
        args, esc = self.args, self._escape
        words = split_words(args, esc)
        if not words:
            return []
        sub = self.args_subspan
        lo0, hi0 = words[0]
        if self.keyword != "ARG" and "=" not in args[lo0:hi0]:
            # legacy `KEY value`: the value is everything after the first run of blanks
            m = _WS_RE.search(args)
            if m is None:
                return [
                    Pair(unquote(args, esc), None, None, sub(0, len(args)), None, sub(0, len(args)))
                ]
            rv = args[m.end() :]
            return [
                Pair(
                    unquote(args[: m.start()], esc),
                    unquote(rv, esc),
                    rv,
                    sub(0, m.start()),
                    sub(m.end(), len(args)),
                    sub(0, len(args)),
                    legacy=True,
                )
            ]
        out = []
        for lo, hi in words:
            raw = args[lo:hi]
            eq = raw.find("=")
            if eq < 0:  # `ARG NAME`; for ENV/LABEL a syntax error, kept so rules can point at it
                out.append(Pair(unquote(raw, esc), None, None, sub(lo, hi), None, sub(lo, hi)))
                continue
            rv = raw[eq + 1 :]
            out.append(
                Pair(
                    unquote(raw[:eq], esc),
                    unquote(rv, esc),
                    rv,
                    sub(lo, lo + eq),
                    sub(lo + eq + 1, hi),
                    sub(lo, hi),
                )
            )
        return out


def _instructions_named(instructions: list[Instruction], memo: dict, keyword: str) -> list[Instruction]:
    """The instructions of `keyword`, in order, from an index kept in `memo` (built once)."""
    by_kw = memo.get("by_keyword")
    if by_kw is None:
        by_kw = memo["by_keyword"] = {}
        for ins in instructions:
            by_kw.setdefault(ins.keyword, []).append(ins)
    return list(by_kw.get(keyword.upper(), ()))


@dataclass(slots=True, eq=False)
class Stage:
    index: int
    name: str | None  # alias from `AS name`, as written
    base: str  # image text as written
    base_resolved: str  # global ARG defaults substituted
    platform: str | None
    from_instr: Instruction
    instructions: list[Instruction]  # FROM first
    parent: Stage | None  # the earlier stage this FROM names
    image: ImageRef | None  # parsed base_resolved; None for scratch, stage refs, unresolvable
    # facts folded along the parent chain, computed once per stage (a 50k-stage chain stays
    # linear): see batten.checks.base.chain_fold
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_scratch(self) -> bool:
        return self.base_resolved.strip().lower() == "scratch"

    def root_image(self) -> ImageRef | None:
        """The real base image, following parent stages."""
        return self.root_stage().image

    def root_stage(self) -> Stage:
        """The first stage of the chain (its FROM names an image); memoised along the chain."""
        root = self.memo.get("root")
        if root is None:
            path = []
            stage: Stage = self
            while stage.parent is not None and "root" not in stage.memo:
                path.append(stage)
                stage = stage.parent
            root = stage.memo.get("root", stage)
            stage.memo["root"] = root
            for st in path:
                st.memo["root"] = root
        return root

    def instructions_named(self, keyword: str) -> list[Instruction]:
        return _instructions_named(self.instructions, self.memo, keyword)

    @property
    def label(self) -> str:
        """How to refer to the stage in messages: its name or its index."""
        return self.name if self.name else str(self.index)


@dataclass(slots=True)
class Directive:
    name: str  # lower-case
    value: str
    span: Span  # the whole comment line


@dataclass(slots=True)
class ParseProblem:
    message: str
    line: int
    column: int = 1


@dataclass(slots=True, eq=False)
class DockerfileModel:
    """A parsed Dockerfile; `problems` lists what is wrong but survivable."""

    source: SourceText
    directives: dict[str, Directive]
    escape: str
    instructions: list[Instruction]
    global_args: list[Instruction]
    stages: list[Stage]
    comments: list[tuple[int, str]]
    problems: list[ParseProblem]
    _lines: list[int] = field(default_factory=list, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # indexes built on first use

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_named(self, name: str) -> Stage | None:
        key = name.strip().lower()
        for st in self.stages:
            if st.name is not None and st.name.lower() == key:
                return st
        if key.isdigit():
            idx = int(key)
            if idx < len(self.stages):
                return self.stages[idx]
        return None

    def instruction_at_line(self, line: int) -> Instruction | None:
        if not self._lines:
            self._lines = [i.line for i in self.instructions]
        k = bisect.bisect_right(self._lines, line) - 1
        if k < 0:
            return None
        ins = self.instructions[k]
        return ins if ins.line <= line <= ins.end_line else None

    def instructions_named(self, keyword: str) -> list[Instruction]:
        return _instructions_named(self.instructions, self.memo, keyword)

    # -- indexes: each built once, so work per finding does not grow with the file ----------

    def position(self, ins: Instruction) -> int:
        """The index of `ins` in `instructions` (-1 when it is not one of them)."""
        pos = self.memo.get("position")
        if pos is None:
            pos = self.memo["position"] = {id(i): k for k, i in enumerate(self.instructions)}
        return pos.get(id(ins), -1)

    def previous(self, ins: Instruction) -> Instruction | None:
        k = self.position(ins)
        return self.instructions[k - 1] if k > 0 else None

    def stage_of(self, ins: Instruction) -> Stage | None:
        owner = self.memo.get("stage_of")
        if owner is None:
            owner = self.memo["stage_of"] = {id(i): st for st in self.stages for i in st.instructions}
        return owner.get(id(ins))

    def referencing(self, name: str) -> list[Instruction]:
        """Instructions whose text mentions `$name`/`${name…}` (a superset: callers check the
        exact form), in file order."""
        refs = self.memo.get("refs")
        if refs is None:
            refs = self.memo["refs"] = {}
            text = self.source.text
            for ins in self.instructions:
                body = text[ins.span.start : ins.span.end] + "".join(h.body for h in ins.heredocs)
                for n in set(_VAR_REF.findall(body)):
                    refs.setdefault(n, []).append(ins)
        return list(refs.get(name, ()))

    def declarations(self, stage: Stage | None, keyword: str, name: str) -> list[tuple[Instruction, Pair]]:
        """(instruction, pair) of every `keyword name[=…]` in `stage` (None: global ARGs)."""
        decl = self.memo.get("decl")
        if decl is None:
            decl = self.memo["decl"] = {}
            for st in [None, *self.stages]:
                for i in (self.global_args if st is None else st.instructions):
                    if i.keyword in ("ARG", "ENV"):
                        for p in i.pairs():
                            decl.setdefault((id(st), i.keyword, p.key), []).append((i, p))
        return list(decl.get((id(stage), keyword.upper(), name), ()))

    def descendants(self, stage: Stage) -> list[Stage]:
        """The stages built on `stage` (directly or not), in file order."""
        key = f"desc:{id(stage)}"
        out = self.memo.get(key)
        if out is None:
            ids = {id(stage)}
            out = []
            for st in self.stages:
                if st.parent is not None and id(st.parent) in ids:
                    ids.add(id(st))
                    out.append(st)
            self.memo[key] = out
        return list(out)

    def global_arg_defaults(self) -> dict[str, str | None]:
        return declared_env(self.global_args)


# -- parser -------------------------------------------------------------------------------------


_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _continues(c: str, esc: str) -> tuple[bool, str]:
    """BuildKit `trimContinuationCharacter`: (continues?, text kept from the line)."""
    t = c.rstrip(" \t")
    if t.endswith(esc) and (len(t) == 1 or t[-2] != esc):
        return True, t[:-1]
    return False, c


def declared_env(
    args: list[Instruction], env: dict[str, str | None] | None = None
) -> dict[str, str | None]:
    """The variables after the ARG/ENV instructions `args`, starting from (a copy of) `env`:
    values expanded with `expand_args`, None for an ARG without default."""
    env = dict(env or {})
    for ins in args:
        for p in ins.pairs():
            if p.value is None:
                env.setdefault(p.key, None)
            else:
                env[p.key] = expand_args(p.value, env)
    return env


def parse_dockerfile(source: SourceText) -> DockerfileModel:
    text = source.text
    lines, starts = _split_lines(text)
    n = len(lines)
    problems: list[ParseProblem] = []
    comments: list[tuple[int, str]] = []
    directives, esc = _parser_directives(lines, starts, problems)

    instructions: list[Instruction] = []
    i = 0
    stage = -1
    while i < n:
        s = lines[i].lstrip()
        if not s or _is_comment(s, i, comments):
            i += 1
            continue
        first = i
        i, last, seg_src, seg_txt, empty_cont = _continued(lines, starts, i, esc, comments)
        logical, map_log, map_src = _join_segments(seg_src, seg_txt)
        end_text = len(logical.rstrip())
        if end_text == 0:
            continue  # only escape tokens: nothing to parse

        ins = _make_instruction(
            logical, end_text, map_log, map_src, esc, first, last, starts, lines, stage
        )
        ins.empty_continuation_lines = empty_cont

        # heredoc bodies follow the logical line
        if "<<" in logical and _can_hold_heredoc(ins):
            i = _read_heredocs(ins, logical, text, lines, starts, i, n, problems)

        if ins.keyword == "FROM":
            stage += 1
            ins.stage = stage
        elif stage < 0 and ins.keyword != "ARG":
            problems.append(
                ParseProblem(
                    f"{ins.keyword} before the first FROM (no build stage in context)", ins.line
                )
            )
        if ins.keyword not in KNOWN_INSTRUCTIONS:
            problems.append(ParseProblem(f"unknown instruction: {ins.raw_keyword}", ins.line))
        instructions.append(ins)

    global_args = [ins for ins in instructions if ins.stage < 0 and ins.keyword == "ARG"]
    stages = _build_stages(instructions, global_args, problems)
    if not stages:
        problems.append(
            ParseProblem(
                "no FROM instruction" if instructions else "file with no instructions",
                instructions[0].line if instructions else 1,
            )
        )
    return DockerfileModel(
        source=source,
        directives=directives,
        escape=esc,
        instructions=instructions,
        global_args=global_args,
        stages=stages,
        comments=comments,
        problems=problems,
    )


def _split_lines(text: str) -> tuple[list[str], list[int]]:
    """The file's lines (without "\n") and the offset each starts at, plus len(text) last."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the empty piece after the final newline is not a line
    n = len(lines)
    starts = [0] * (n + 1)
    pos = 0
    for k, ln in enumerate(lines):
        starts[k] = pos
        pos += len(ln) + 1
    starts[n] = len(text)
    return lines, starts


def _parser_directives(
    lines: list[str], starts: list[int], problems: list[ParseProblem]
) -> tuple[dict[str, Directive], str]:
    """The block of `# key=value` parser directives at the very top, and the escape token."""
    directives: dict[str, Directive] = {}
    esc = "\\"
    for i, line in enumerate(lines):
        s = line.lstrip()
        m = _DIRECTIVE_RE.match(s.rstrip("\r")) if s.startswith("#") else None
        if m is None:
            break
        key = m.group(1).lower()
        if key not in _VALID_DIRECTIVES:
            break
        if key in directives:
            problems.append(ParseProblem(f"only one {key} parser directive can be used", i + 1))
            continue
        value = m.group(2)
        directives[key] = Directive(key, value, Span(starts[i], starts[i] + len(line.rstrip("\r"))))
        if key == "escape":
            if value in ("\\", "`"):
                esc = value
            else:
                problems.append(
                    ParseProblem(f"invalid escape token {value!r} does not match ` or \\", i + 1)
                )
    return directives, esc


def _is_comment(s: str, i: int, comments: list[tuple[int, str]]) -> bool:
    """Whether the line `s` (left-stripped, index `i`) is a comment; if so it is recorded."""
    if s[0] != "#":
        return False
    comments.append((i + 1, s[1:].rstrip("\r")))
    return True


def _continued(
    lines: list[str], starts: list[int], i: int, esc: str, comments: list[tuple[int, str]]
) -> tuple[int, int, list[int], list[str], list[int]]:
    """The physical lines of the logical line starting at line `i`: (index after it, its last
    line, each segment's source offset, each segment's text without the escape, the 1-based
    numbers of empty lines inside the continuation). Comment lines inside are recorded, skipped."""
    raw = lines[i]
    s = raw.lstrip()
    seg_src = [starts[i] + len(raw) - len(s)]
    cont, kept = _continues(s.rstrip("\r"), esc)
    seg_txt = [kept]
    last = i
    i += 1
    empty_cont: list[int] = []
    while cont and i < len(lines):
        raw = lines[i]
        s = raw.lstrip()
        if not s:
            empty_cont.append(i + 1)
        elif not _is_comment(s, i, comments):
            cont, kept = _continues(raw.rstrip("\r"), esc)
            seg_src.append(starts[i])
            seg_txt.append(kept)
            last = i
        i += 1
    return i, last, seg_src, seg_txt, empty_cont


def _join_segments(seg_src: list[int], seg_txt: list[str]) -> tuple[str, list[int], list[int]]:
    """The logical line and its offset map: logical offsets where a segment starts, and the
    source offsets they come from (empty segments left out)."""
    if len(seg_txt) == 1:
        return seg_txt[0], [0], seg_src
    map_log: list[int] = []
    map_src: list[int] = []
    p = 0
    for src, txt in zip(seg_src, seg_txt):
        if txt:
            map_log.append(p)
            map_src.append(src)
            p += len(txt)
    return "".join(seg_txt), map_log, map_src


def _make_instruction(
    logical: str,
    end_text: int,
    map_log: list[int],
    map_src: list[int],
    esc: str,
    first: int,
    last: int,
    starts: list[int],
    lines: list[str],
    stage: int,
) -> Instruction:
    def src(j: int) -> int:
        k = bisect.bisect_right(map_log, j) - 1
        return map_src[k] + (j - map_log[k])

    def src_end(j: int) -> int:
        return src(j - 1) + 1 if j > 0 else src(0)

    kw_start = len(logical) - len(logical.lstrip())
    m = _KEYWORD_RE.match(logical, kw_start)
    assert m is not None
    raw_kw = m.group()
    p = _BLANKS_RE.match(logical, m.end()).end()  # type: ignore[union-attr]
    flags_start = p
    flags: list[Flag] = []
    while logical.startswith("--", p):
        fm = _FLAG_TOKEN_RE.match(logical, p)
        assert fm is not None
        tok = fm.group()
        if tok == "--":  # `--` ends the flags
            p = _BLANKS_RE.match(logical, fm.end()).end()  # type: ignore[union-attr]
            break
        body = unquote(tok[2:], "\\")
        name, sep, value = body.partition("=")
        flags.append(Flag(name.lower(), value if sep else None, Span(src(p), src_end(fm.end()))))
        p = _BLANKS_RE.match(logical, fm.end()).end()  # type: ignore[union-attr]
    if p > end_text:
        p = end_text
    args = logical[p:end_text]
    keyword = raw_kw.upper()

    js: list[str] | None = None
    if args[:1] == "[" and keyword in _JSON_KEYWORDS:
        try:
            val = _json.loads(args)
        except ValueError:
            val = None
        if isinstance(val, list) and all(isinstance(x, str) for x in val):
            js = val

    start = src(kw_start)
    if start >= starts[first + 1]:  # the keyword sits on a later line (lone escape lines first)
        first = bisect.bisect_right(starts, start) - 1
    last_line = lines[last]
    end = starts[last] + len(last_line.rstrip("\r"))
    if flags_start < end_text:
        args_span = Span(src(flags_start), src_end(end_text))
    else:
        a = src_end(m.end())
        args_span = Span(a, a)
    return Instruction(
        keyword=keyword,
        raw_keyword=raw_kw,
        span=Span(start, end),
        keyword_span=Span(start, src_end(m.end())),
        args_span=args_span,
        line=first + 1,
        end_line=last + 1,
        flags=flags,
        args=args,
        heredocs=[],
        stage=stage,
        json=js,
        _escape=esc,
        _args_base=p,
        _map_logical=map_log,
        _map_source=map_src,
    )


def _can_hold_heredoc(ins: Instruction) -> bool:
    kw = ins.keyword
    if kw in HEREDOC_KEYWORDS:
        return ins.json is None
    if kw == "ONBUILD":
        m = _KEYWORD_RE.match(ins.args)
        if m is None or m.group().upper() not in HEREDOC_KEYWORDS:
            return False
        return not ins.args[m.end() :].lstrip().startswith("[")
    return False


def _read_heredocs(
    ins: Instruction,
    logical: str,
    text: str,
    lines: list[str],
    starts: list[int],
    i: int,
    n: int,
    problems: list[ParseProblem],
) -> int:
    """Attach the heredocs announced on `logical`; returns the index of the next line."""
    markers = []
    for wm in _SHELL_WORD_RE.finditer(logical):
        w = wm.group()
        if "<<" not in w:
            continue
        hm = _HEREDOC_MARK_RE.fullmatch(w)
        if hm is None:
            continue
        quoted = hm.group(4) is None
        delim = hm.group(2) or hm.group(3) or hm.group(4)
        markers.append((delim, quoted, hm.group(1) == "-", wm.start(), wm.end()))
    for delim, quoted, strip_tabs, lo, hi in markers:
        body_start = starts[i]
        k = i
        while k < n:
            c = lines[k].rstrip("\r")
            if strip_tabs:
                c = c.lstrip("\t")
            if c == delim:
                break
            k += 1
        if k < n:
            term_end = starts[k] + len(lines[k].rstrip("\r"))
            body_span = Span(body_start, starts[k])
            span = Span(body_start, term_end)
            terminated = True
            end_line = k + 1
            i = k + 1
        else:
            body_span = Span(body_start, len(text))
            tail = len(text)
            if text.endswith("\n", body_start):
                tail -= 2 if text.endswith("\r\n", body_start) else 1
            span = Span(body_start, max(body_start, tail))
            terminated = False
            end_line = n
            i = n
            problems.append(
                ParseProblem(
                    f"unterminated heredoc {delim!r} (body runs to the end of the file)", ins.line
                )
            )
        marker_span = Span(ins._src(lo), ins._src(hi - 1) + 1)
        ins.heredocs.append(
            Heredoc(
                delimiter=delim,
                quoted=quoted,
                strip_tabs=strip_tabs,
                body=text[body_span.start : body_span.end],
                body_span=body_span,
                span=span,
                marker_span=marker_span,
                terminated=terminated,
            )
        )
        if span.end > ins.span.end:
            ins.span = Span(ins.span.start, span.end)
        ins.end_line = max(ins.end_line, end_line, ins.line)
    return i


def _build_stages(
    instructions: list[Instruction], global_args: list[Instruction], problems: list[ParseProblem]
) -> list[Stage]:
    stages: list[Stage] = []
    env: dict[str, str | None] | None = None
    by_name: dict[str, Stage] = {}
    current: Stage | None = None
    for ins in instructions:
        if ins.keyword != "FROM":
            if current is not None:
                current.instructions.append(ins)
            continue
        if env is None:
            env = declared_env(global_args)
        words = ins.args.split()
        base = words[0] if words else ""
        name = None
        if len(words) >= 3 and words[1].lower() == "as":
            name = words[2]
        if len(words) not in (1, 3) or (len(words) == 3 and name is None):
            problems.append(
                ParseProblem(
                    "FROM requires either one argument or three: FROM image [AS name]", ins.line
                )
            )
        resolved = expand_args(base, env)
        parent = by_name.get(resolved.lower())
        plat = ins.flag("platform")
        st = Stage(
            index=len(stages),
            name=name,
            base=base,
            base_resolved=resolved,
            platform=plat.value if plat is not None else None,
            from_instr=ins,
            instructions=[ins],
            parent=parent,
            image=None if parent is not None else ImageRef.parse(resolved),
        )
        stages.append(st)
        if name is not None:
            by_name.setdefault(name.lower(), st)
        current = st
    return stages
