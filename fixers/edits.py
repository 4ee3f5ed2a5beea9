"""Applying edits to text and showing them as unified diffs."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable

from batten.model import Edit
from batten.sanitize import MASK, mask_secrets


class EditConflict(Exception):
    """Two edits overlap; the caller re-plans one of them on the new text."""


def group_by_path(edits: Iterable[Edit]) -> dict[str, list[Edit]]:
    out: dict[str, list[Edit]] = {}
    for e in edits:
        out.setdefault(e.path, []).append(e)
    return out


def overlaps(a: Edit, b: Edit) -> bool:
    if a.path != b.path:
        return False
    if a.start == a.end and b.start == b.end:
        # two insertions at one point apply in order, unless both add the same key there
        if a.start != b.start:
            return False
        ka, kb = _first_key(a.text), _first_key(b.text)
        return ka is not None and ka == kb and a.text != b.text
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


_KEY = re.compile(r"^(\s*(?:- )?)([^\s:#][^:#]*?)\s*:(?:\s|$)")


def _first_key(text: str) -> str | None:
    """`    networks:` -> "    networks" (indentation kept: keys at other depths differ)."""
    for line in text.replace("\r", "").split("\n"):
        if line.strip():
            m = _KEY.match(line)
            return (m.group(1) + m.group(2)) if m else None
    return None


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply edits (all on one file) in reverse offset order. Insertions at the same point keep
    their given order. Overlapping edits raise EditConflict. The same edit given twice (two
    fixes that each add `.env` to .gitignore) is applied once."""
    indexed = list(enumerate(dict.fromkeys(edits)))
    ordered = sorted(indexed, key=lambda ie: (ie[1].start, ie[1].end, ie[0]))
    for (_, a), (_, b) in itertools.pairwise(ordered):
        if overlaps(a, b) or (a.end > b.start and not (a.start == a.end == b.start)):
            raise EditConflict(f"edits overlap at {a.start}..{a.end} and {b.start}..{b.end}")
    n = len(text)
    for _, e in ordered:
        if e.end > n:
            raise EditConflict(f"edit {e.start}..{e.end} beyond end of text ({n})")
    # insertions at one point: deeper-indented lines first (they close the block that ends
    # there), then in the order given
    def key(ie: tuple[int, Edit]) -> tuple[int, int, int, int]:
        i, e = ie
        return (e.start, e.end, -_indent(e.text) if e.start == e.end else 0, i)

    out = text
    for _, e in sorted(indexed, key=key, reverse=True):
        out = out[: e.start] + e.text + out[e.end :]
    return out


def _indent(text: str) -> int:
    """Nesting depth of inserted lines: their indentation, a sequence item (`- x`) counting one
    deeper than a key at the same column (an indentless sequence belongs to the key above)."""
    for line in text.split("\n"):
        if line.strip():
            stripped = line.lstrip(" ")
            depth = len(line) - len(stripped)
            return depth + 1 if stripped.startswith("- ") or stripped.rstrip("\r") == "-" else depth
    return 0


def unified_diff(path: str, before: str, after: str, context: int = 3) -> str:
    """A unified diff that keeps line endings visible (a CRLF file stays CRLF in the diff body)."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=context))
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def holds_secret(path: str) -> bool:
    """Files batten writes secrets into: `.env` files and anything under a `secrets/` directory."""
    base = path.rsplit("/", 1)[-1]
    return base == ".env" or base.endswith(".env") or "/secrets/" in "/" + path


_ENV_LINE = re.compile(r"^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*)(\S.*?)(\s*)$")


def mask_diff(diff: str, secrets: Iterable[str] = ()) -> str:
    """A unified diff with every known secret value masked on every line (context lines too),
    and in files that hold secrets (`.env`, `secrets/…`) every value masked whatever it is: an
    existing line is shown as context, and batten cannot know which of its values are secret."""
    out: list[str] = []
    secret_file = False
    for line in diff.splitlines(keepends=True):
        if line.startswith("+++ ") or line.startswith("--- "):
            path = line[4:].rstrip("\r\n")
            path = path[2:] if path.startswith(("a/", "b/")) else path
            secret_file = secret_file if line.startswith("--- ") and path == "/dev/null" else holds_secret(path)
        elif secret_file and line[:1] in (" ", "+", "-") and not line.startswith("\\"):
            body = line[1:]
            nl = body[len(body.rstrip("\r\n")):]
            body = body.rstrip("\r\n")
            if "/secrets/" in "/" + path:
                body = MASK if body.strip() else body
            elif not body.lstrip().startswith("#"):
                m = _ENV_LINE.match(body)
                if m:
                    body = m.group(1) + MASK + m.group(3)
            line = line[0] + body + nl
        out.append(line)
    return mask_secrets("".join(out), secrets)
