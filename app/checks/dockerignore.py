""".dockerignore matching as BuildKit does it (Go filepath.Match plus `**`, `!` exceptions,
last match wins, a pattern matching a directory excludes what is under it)."""

from __future__ import annotations

import posixpath
import re


def _to_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("^"):
                    body = "!" + body[1:]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "(?:/.*)?$")


class DockerIgnore:
    def __init__(self, text: str) -> None:
        self.rules: list[tuple[re.Pattern[str], bool]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = posixpath.normpath(line.lstrip("/")) if line.strip("/") else ""
            if not line or line == ".":
                continue
            self.rules.append((_to_regex(line), negate))

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        path = path.strip("/")
        result = False
        for regex, negate in self.rules:
            if regex.match(path):
                result = not negate
        return result
