"""Compose variable interpolation (`${V}`, `${V:-d}`, `${V-d}`, `${V:?m}`, `${V:+r}`, `$V`, `$$`)
and `.env` files. Used for checking only: batten never writes interpolated values back."""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    """Names of the variables `raw` refers to, in order."""
    out: list[str] = []
    _expand(raw, {}, out)
    return out


def interpolate(raw: str, env: Mapping[str, str], missing: list[str] | None = None) -> str:
    """Expand `raw` as compose does; unset variables become "" (and are listed in `missing`)."""
    if "$" not in raw:
        return raw
    names: list[str] = []
    result = _expand(raw, env, names)
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


def _expand(s: str, env: Mapping[str, str], names: list[str]) -> str:
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
            out.append(_braced(s[j + 2 : close], env, names))
            i = close + 1
            continue
        m = _NAME.match(s, j + 1)
        if m:
            names.append(m.group())
            out.append(env.get(m.group(), ""))
            i = m.end()
            continue
        out.append("$")
        i = j + 1
    return "".join(out)


def _braced(body: str, env: Mapping[str, str], names: list[str]) -> str:
    m = _NAME.match(body)
    if not m:
        return ""
    name = m.group()
    names.append(name)
    rest = body[m.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            if op == ":-":
                return value if value else _expand(arg, env, names)
            if op == "-":
                return value if value is not None else _expand(arg, env, names)
            if op in (":?", "?"):
                return value or ""
            if op == ":+":
                return _expand(arg, env, names) if value else ""
            if op == "+":
                return _expand(arg, env, names) if value is not None else ""
    return value or ""


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse a compose `.env` file (KEY=VALUE, `export`, quotes, comments)."""
    env: dict[str, str] = {}
    for raw_line in text.splitlines():
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
            value = _expand("".join(buf), env, [])
        else:
            hash_at = value.find(" #")
            if hash_at != -1:
                value = value[:hash_at].rstrip()
            value = _expand(value, env, [])
        env[key] = value
    return env
