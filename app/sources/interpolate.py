"""Compose variable interpolation (`${V}`, `${V:-d}`, `${V-d}`, `${V:?m}`, `${V:+r}`, `$V`, `$$`)
and `.env` files. Used for checking only: batten never writes interpolated values back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# A hostile .env or compose file can nest `${A:-${A:-...}}` thousands deep or double a value on
# every line: expansion is bounded in depth, per value and per file, and going over is one
# ExpansionLimit (reported as a parse.error where it happened; the scan carries on).
MAX_DEPTH = 64
MAX_VALUE = 1 << 20  # characters of one expanded value
MAX_TOTAL = 32 << 20  # characters expanded for one file


class ExpansionLimit(ValueError):
    """An interpolation went over a cap; the message says which."""


@dataclass(slots=True)
class Budget:
    """Characters one file may still expand (shared by all its values)."""

    left: int = MAX_TOTAL

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ExpansionLimit(f"variable interpolation expands to more than {MAX_TOTAL >> 20} MiB in this file")


class _State:
    __slots__ = ("budget", "names")

    def __init__(self, names: list[str], budget: Budget | None) -> None:
        self.names = names
        self.budget = budget if budget is not None else Budget()


def has_interpolation(raw: str) -> bool:
    """True when `raw` refers to a variable (`$$` escapes do not count)."""
    i = raw.find("$")
    while i != -1:
        nxt = raw[i + 1 : i + 2]
        if nxt == "$":
            i = raw.find("$", i + 2)
            continue
        if nxt == "{" or (nxt and (nxt.isalpha() or nxt == "_")):
            return True
        i = raw.find("$", i + 1)
    return False


def variables(raw: str) -> list[str]:
    """Names of the variables `raw` refers to, in order (as far as the caps allow)."""
    out: list[str] = []
    try:
        _expand(raw, {}, _State(out, None), 0)
    except ExpansionLimit:
        pass
    return out


def interpolate(raw: str, env: Mapping[str, str], missing: list[str] | None = None,
                budget: Budget | None = None) -> str:
    """Expand `raw` as compose does; unset variables become "" (and are listed in `missing`).
    ExpansionLimit when the expansion nests too deep or grows too large."""
    if "$" not in raw:
        return raw
    names: list[str] = []
    result = _expand(raw, env, _State(names, budget), 0)
    if missing is not None:
        missing.extend(n for n in names if n not in env)
    return result


def _find_close(s: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start` (nesting aware)."""
    depth = 1
    i = start
    n = len(s)
    while i < n:
        c = s[i]
        if c == "$" and i + 1 < n and s[i + 1] == "$":
            i += 2
            continue
        if c == "$" and i + 1 < n and s[i + 1] == "{":
            depth += 1
            i += 2
            continue
        if c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _expand(s: str, env: Mapping[str, str], st: _State, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise ExpansionLimit(f"variable interpolation nested deeper than {MAX_DEPTH} levels")
    out: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        j = s.find("$", i)
        if j == -1:
            out.append(s[i:])
            break
        out.append(s[i:j])
        if j + 1 >= n:
            out.append("$")
            break
        nxt = s[j + 1]
        if nxt == "$":
            out.append("$")
            i = j + 2
            continue
        if nxt == "{":
            close = _find_close(s, j + 2)
            if close == -1:  # unterminated: keep literally, compose would reject it
                out.append(s[j:])
                break
            piece = _braced(s[j + 2 : close], env, st, depth + 1)
            st.budget.take(len(piece))
            out.append(piece)
            i = close + 1
            continue
        m = _NAME.match(s, j + 1)
        if m:
            st.names.append(m.group())
            piece = env.get(m.group(), "")
            st.budget.take(len(piece))
            out.append(piece)
            i = m.end()
            continue
        out.append("$")
        i = j + 1
    result = "".join(out)
    if len(result) > MAX_VALUE:
        raise ExpansionLimit(f"variable interpolation expands one value past {MAX_VALUE >> 20} MiB")
    return result


def _braced(body: str, env: Mapping[str, str], st: _State, depth: int) -> str:
    m = _NAME.match(body)
    if not m:
        return ""
    name = m.group()
    st.names.append(name)
    rest = body[m.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            if op == ":-":
                return value if value else _expand(arg, env, st, depth)
            if op == "-":
                return value if value is not None else _expand(arg, env, st, depth)
            if op in (":?", "?"):
                return value or ""
            if op == ":+":
                return _expand(arg, env, st, depth) if value else ""
            if op == "+":
                return _expand(arg, env, st, depth) if value is not None else ""
    return value or ""


def parse_dotenv(text: str, problems: list[tuple[int, str]] | None = None) -> dict[str, str]:
    """Parse a compose `.env` file (KEY=VALUE, `export`, quotes, comments). A value whose
    expansion goes over a cap is kept as written and (line, message) is added to `problems`."""
    env: dict[str, str] = {}
    budget = Budget()
    for lineno, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not _NAME.fullmatch(key):
            continue
        value = value.strip()
        if value[:1] == "'" and value.count("'") >= 2:
            value = value[1 : value.index("'", 1)]
        elif value[:1] == '"' and '"' in value[1:]:
            end = 1
            buf: list[str] = []
            while end < len(value) and value[end] != '"':
                if value[end] == "\\" and end + 1 < len(value):
                    esc = value[end + 1]
                    buf.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(esc, "\\" + esc))
                    end += 2
                    continue
                buf.append(value[end])
                end += 1
            value = _expand_capped("".join(buf), env, budget, lineno, key, problems)
        else:
            hash_at = value.find(" #")
            if hash_at != -1:
                value = value[:hash_at].rstrip()
            value = _expand_capped(value, env, budget, lineno, key, problems)
        env[key] = value
    return env


def _expand_capped(value: str, env: Mapping[str, str], budget: Budget, lineno: int, key: str,
                   problems: list[tuple[int, str]] | None) -> str:
    if "$" not in value:
        return value
    try:
        return _expand(value, env, _State([], budget), 0)
    except ExpansionLimit as exc:
        if problems is not None:
            problems.append((lineno, f"{key}: {exc}; kept as written"))
        return value
