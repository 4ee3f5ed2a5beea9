"""One sanitizer for everything batten prints or writes into a report.

Text from outside (file content, paths, container names, labels, engine errors, pragma reasons)
may carry terminal escape sequences, C1 controls, bidirectional overrides or undecodable bytes.
Every terminal line and every report goes through these functions, so such text is shown
escaped (``\\x1b``), never interpreted, and never raises while being encoded.

- :func:`safe_text` keeps newlines and tabs (multi-line text such as diffs and reports);
- :func:`safe_line` escapes them too (one field on one line: a name, a path, an error);
- :func:`json_text` serialises a report with every control character escaped (no raw C1 byte
  or line separator inside a JSON/SARIF string);
- :func:`mask_secrets` replaces known secret values (the one masking definition);
- :func:`clip` / :func:`clip_values` bound a value a message quotes (every finding's message
  goes through :func:`clip_values`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MASK = "••••••"

# C0 except TAB/LF, a CR not starting CRLF, DEL, C1, line/paragraph separators, bidi controls,
# and lone surrogates (undecodable bytes kept by surrogateescape)
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]|\r(?!\n)"
)
_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def safe_text(text: object) -> str:
    """Escape control characters (ESC, BEL, CR, C1, bidi...) so text cannot drive a terminal;
    newlines and tabs stay."""
    s = text if isinstance(text, str) else str(text)
    if not _UNSAFE.search(s):
        return s
    return _UNSAFE.sub(_escape, s)


def safe_line(text: object) -> str:
    """Like :func:`safe_text`, and newlines/tabs escaped too: one field stays on one line."""
    s = text if isinstance(text, str) else str(text)
    if not _UNSAFE_LINE.search(s):
        return s
    return _UNSAFE_LINE.sub(_escape, s)


def one_line(text: object, limit: int = 400) -> str:
    """An error or status message from outside as one safe line of bounded length."""
    s = " ".join(safe_line(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


VALUE_LIMIT = 120  # characters of one value a message quotes

# a quoted stretch of text, or a run without spaces, longer than VALUE_LIMIT
_N = VALUE_LIMIT + 1
_LONG_VALUE = re.compile(f"'([^'\n]{{{_N},}})'|\"([^\"\n]{{{_N},}})\"|`([^`\n]{{{_N},}})`|(\\S{{{_N},}})")


def clip(value: object, limit: int = VALUE_LIMIT) -> str:
    """A value as a message quotes it: at most `limit` characters, an ellipsis marks the cut."""
    s = value if isinstance(value, str) else str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


MESSAGE_LIMIT = 1000  # characters of a finding's message, whatever it quotes


def clip_values(message: str) -> str:
    """`message` with every quoted value and every run without spaces over VALUE_LIMIT
    characters clipped (a 15 KB interpolated image name stays out of a finding's message), and
    the whole at most MESSAGE_LIMIT characters: a value with spaces that a rule quotes bare,
    unclipped, cannot fill a report either."""
    if len(message) <= VALUE_LIMIT:
        return message

    def cut(m: re.Match[str]) -> str:
        whole = m.group()
        for i, inner in enumerate(m.groups()):
            if inner is not None:
                return clip(inner) if i == 3 else whole[0] + clip(inner) + whole[-1]
        return whole

    return clip(_LONG_VALUE.sub(cut, message), MESSAGE_LIMIT)


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that escapes DEL, C1, line separators and bidi controls as well as C0, and
    writes undecodable bytes as ``\\udcXX`` escapes (valid JSON, no raw control byte)."""
    kwargs.setdefault("ensure_ascii", False)
    text = json.dumps(obj, **kwargs)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_encoder(**kwargs: Any) -> Any:
    """A callable like ``JSONEncoder(...).encode`` with :func:`json_text`'s escaping."""
    enc = json.JSONEncoder(ensure_ascii=kwargs.pop("ensure_ascii", False), **kwargs).encode

    def encode(obj: Any) -> str:
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", enc(obj))

    return encode


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each known secret value (longest first)."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text


__all__ = ["MASK", "json_encoder", "json_text", "mask_secrets", "one_line", "safe_line", "safe_text"]
