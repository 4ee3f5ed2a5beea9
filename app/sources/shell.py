"""A small POSIX-shell command splitter for RUN bodies (shell form and heredoc scripts).

Good enough for linting and for finding insertion points, not a shell: it splits a script
into simple commands at `&&`, `||`, `;`, `|`, `&`, newlines and subshell/group brackets,
and each command into words with exact offsets into the string it was given.

* single quotes, double quotes (with `\\` escapes of `$`, backtick, `"`, `\\`, newline),
  `\\` escapes outside quotes, `$'...'`;
* `$(...)`, `$((...))`, `${...}` and backticks stay inside their word (as written);
* `#` starts a comment only at the start of a word;
* redirections (`>`, `>>`, `2>&1`, `&>`, `<`, `<<EOF`, `<<<`...) are kept apart from the
  words in `Command.redirects`; here-document bodies inside the text are skipped;
* `\\` + newline is a line continuation (removed from the word text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Command",
    "Redirect",
    "Word",
    "has_shell_syntax",
    "single_quoted",
    "split_commands",
]

#: programs that run another program given on their command line
WRAPPERS = frozenset({"sudo", "doas", "env", "exec", "command", "nohup", "time", "nice", "builtin"})
#: reserved words that may precede a command
_KEYWORDS = frozenset({"!", "if", "then", "else", "elif", "do", "while", "until"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})

# options of wrappers that take a separate argument
_WRAPPER_ARG_OPTS = {
    "sudo": frozenset(
        {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group"}
    ),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir", "--split-string"}),
    "exec": frozenset({"-a"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "time": frozenset({"-f", "-o", "--format", "--output"}),
}

_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_PLAIN_RE = re.compile(r"[^\s'\"\\$`;&|<>()]+")
_REDIR_RE = re.compile(r"<<<|<<-|<<|<>|<&|<|>>|>&|>\||>")
_OPS = ("&&", "||", ";;", "|&", ";", "|", "&", "(", ")")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_SPECIAL_PARAMS = frozenset("?@#$!*-0123456789")


@dataclass(slots=True)
class Word:
    text: str  # quotes removed, escapes processed; `$(...)`, `${...}` and backticks kept
    raw: str  # exactly as written
    start: int  # offsets into the string given to split_commands
    end: int


@dataclass(slots=True)
class Redirect:
    op: str  # ">", ">>", "2>", "2>&", "&>", "<", "<<", "<<-", "<<<", ...
    target: Word | None  # file, fd or here-doc delimiter
    start: int
    end: int


@dataclass(slots=True)
class Command:
    words: list[Word]
    start: int
    end: int
    separator_after: str | None  # "&&", "||", ";", "|", "&", "\n", "(", ")", "{", "}" or None
    redirects: list[Redirect] = field(default_factory=list)
    _ni: int = field(default=-1, repr=False, compare=False)  # memoised _name_index()

    @property
    def assignments(self) -> list[Word]:
        """Leading `VAR=value` words."""
        out = []
        for w in self.words:
            if not _ASSIGN_RE.match(w.raw):
                break
            out.append(w)
        return out

    def _name_index(self) -> int:
        if self._ni >= 0:
            return self._ni
        k = len(self.words)
        for i, w in enumerate(self.words):
            if not _ASSIGN_RE.match(w.raw):
                k = i
                break
        self._ni = k
        return k

    @property
    def name(self) -> str:
        """The program name (leading `VAR=value` assignments skipped); "" if none."""
        k = self._name_index()
        return self.words[k].text if k < len(self.words) else ""

    @property
    def name_word(self) -> Word | None:
        k = self._name_index()
        return self.words[k] if k < len(self.words) else None

    @property
    def args(self) -> list[Word]:
        """The words after the program name."""
        return self.words[self._name_index() + 1 :]

    @property
    def basename(self) -> str:
        """The program name without its directory (`/usr/bin/apt-get` -> `apt-get`)."""
        return self.name.rsplit("/", 1)[-1]

    def has_option(self, long: str | None = None, short: str | None = None) -> bool:
        """True if an argument is `long` (or `long=...`) or a short-option cluster holds `short`.

        `has_option("--no-cache")`, `has_option("--yes", "y")` (matches `-y`, `-qy`).
        """
        for w in self.args:
            t = w.text
            if t == "--":
                break
            if long is not None and (t == long or t.startswith(long + "=")):
                return True
            if short is not None and len(t) > 1 and t[0] == "-" and t[1] != "-" and short in t[1:]:
                return True
        return False

    def positional(self) -> list[Word]:
        """Arguments that are not options (a rough cut: option values are included); every
        argument after `--` counts."""
        out = []
        args = self.args
        for k, w in enumerate(args):
            if w.text == "--":
                return out + args[k + 1 :]
            if not w.text.startswith("-") or w.text == "-":
                out.append(w)
        return out

    def effective(self) -> tuple[list[str], Command]:
        """Skip assignments, reserved words (`if`, `then`, `!`...) and wrappers.

        Returns the wrapper names (`sudo`, `env`, `exec`, `command`, `nohup`, `time`...) and a
        view of the command starting at the program that really runs:
        `sudo -u app env A=1 pip install x` -> (["sudo", "env"], <pip install x>).
        """
        words = self.words
        k = 0
        wrappers: list[str] = []
        n = len(words)
        while k < n:
            w = words[k]
            if _ASSIGN_RE.match(w.raw):
                k += 1
                continue
            t = w.text
            if t in _KEYWORDS and w.raw == t:
                k += 1
                continue
            base = t.rsplit("/", 1)[-1]
            if base in WRAPPERS:
                wrappers.append(base)
                k += 1
                arg_opts = _WRAPPER_ARG_OPTS.get(base, frozenset())
                while k < n:
                    o = words[k].text
                    if o == "--":
                        k += 1
                        break
                    if not o.startswith("-") or o == "-":
                        break
                    if base == "command" and o in ("-v", "-V"):
                        # `command -v x` only looks x up; nothing runs
                        return wrappers, Command(
                            words[k:k], self.end, self.end, self.separator_after
                        )
                    k += 1
                    if o in arg_opts and k < n:
                        k += 1
                continue
            break
        rest = words[k:]
        start = rest[0].start if rest else self.end
        return wrappers, Command(rest, start, self.end, self.separator_after, list(self.redirects))

    def shell_script(self) -> Word | None:
        """For `sh -c 'script'` (also `bash -ec`, `/bin/sh -c`): the script word, else None."""
        cmd = self if self.basename in _SHELLS else self.effective()[1]
        if cmd.basename not in _SHELLS:
            return None
        args = cmd.args
        if cmd.basename == "busybox":
            if not args or args[0].text not in _SHELLS:
                return None
            args = args[1:]
        seen_c = False
        k = 0
        while k < len(args):
            t = args[k].text
            if seen_c and not t.startswith(("-", "+")):
                return args[k]
            if t in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                k += 2
                continue
            if t[:1] in ("-", "+") and not t.startswith("--") and "c" in t[1:]:
                seen_c = True
            elif not t.startswith(("-", "+")):
                return None
            k += 1
        return None


# -- tokenizer ----------------------------------------------------------------------------------


class _Scanner:
    __slots__ = ("features", "n", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.features: set[str] = set()

    def match_paren(self, i: int) -> int:
        """`text[i] == "("`: index just after the matching `)` (quotes and nesting honoured)."""
        return self._closing(i, "(", ")", quoted=True)

    def _closing(self, i: int, opening: str, closing: str, quoted: bool) -> int:
        """Index just after the `closing` that balances the `opening` at `i`; `\\` escapes, and
        with `quoted` nothing inside quotes or backticks counts. len(text) when unbalanced."""
        text, n = self.text, self.n
        depth = 0
        while i < n:
            c = text[i]
            if c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return i + 1
            elif c == "\\":
                i += 1
            elif not quoted:
                pass
            elif c == "'":
                j = text.find("'", i + 1)
                i = n - 1 if j < 0 else j
            elif c == '"':
                i = self.skip_dquote(i) - 1
            elif c == "`":
                i = self.skip_backtick(i) - 1
            i += 1
        return n

    def skip_backtick(self, i: int) -> int:
        text, n = self.text, self.n
        j = i + 1
        while j < n:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == "`":
                return j + 1
            j += 1
        return n

    def skip_brace(self, i: int) -> int:
        """`text[i:i+2] == "${"`: index just after the matching `}` (nesting honoured, quotes not)."""
        return self._closing(i + 1, "{", "}", quoted=False)

    def skip_dquote(self, i: int) -> int:
        end, _ = self.read_dquote(i)
        return end

    def read_dollar(self, i: int) -> tuple[int, str]:
        """`text[i] == "$"`: (end, text kept) for an expansion, marking features."""
        text, n = self.text, self.n
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "(":
            self.features.add("arith" if text.startswith("$((", i) else "cmdsub")
            j = self.match_paren(i + 1)
            return j, text[i:j]
        if nxt == "{":
            self.features.add("var")
            j = self.skip_brace(i)
            return j, text[i:j]
        if nxt and (_NAME_CHAR.match(nxt) is not None and not nxt.isdigit()):
            j = i + 2
            while j < n and _NAME_CHAR.match(text[j]) is not None:
                j += 1
            self.features.add("var")
            return j, text[i:j]
        if nxt and nxt in _SPECIAL_PARAMS:
            self.features.add("var")
            return i + 2, text[i : i + 2]
        return i + 1, "$"

    def read_dquote(self, i: int) -> tuple[int, str]:
        """`text[i] == '"'`: (index after the closing quote, unquoted text)."""
        text, n = self.text, self.n
        out: list[str] = []
        j = i + 1
        while j < n:
            c = text[j]
            if c == '"':
                return j + 1, "".join(out)
            if c == "\\" and j + 1 < n:
                nxt = text[j + 1]
                if nxt in ('"', "\\", "$", "`"):
                    out.append(nxt)
                    j += 2
                    continue
                if nxt == "\n":
                    j += 2
                    continue
                out.append(c)
                j += 1
                continue
            if c == "$":
                j2, kept = self.read_dollar(j)
                out.append(kept)
                j = j2
                continue
            if c == "`":
                self.features.add("backtick")
                j2 = self.skip_backtick(j)
                out.append(text[j:j2])
                j = j2
                continue
            out.append(c)
            j += 1
        return n, "".join(out)

    def read_word(self, i: int) -> tuple[int, str]:
        """Read a word starting at `i`; returns (end, unquoted text)."""
        text, n = self.text, self.n
        parts: list[str] = []
        start = i
        while i < n:
            m = _PLAIN_RE.match(text, i)
            if m is not None:
                chunk = m.group()
                if "*" in chunk or "?" in chunk or "[" in chunk:
                    self.features.add("glob")
                if i == start and chunk[0] == "~":
                    self.features.add("tilde")
                if "{" in chunk and "}" in chunk and ("," in chunk or ".." in chunk):
                    self.features.add("brace")
                parts.append(chunk)
                i = m.end()
                continue
            c = text[i]
            if c == "'":
                i, kept = single_quoted(text, i)
                parts.append(kept)
            elif c == '"':
                i, kept = self.read_dquote(i)
                parts.append(kept)
            elif c == "\\":
                if i + 1 >= n:
                    i += 1
                elif text[i + 1] == "\n":
                    i += 2
                elif text.startswith("\r\n", i + 1):
                    i += 3
                else:
                    parts.append(text[i + 1])
                    i += 2
            elif c == "$":
                if text.startswith("$'", i):
                    j = i + 2
                    while j < n and text[j] != "'":
                        j += 2 if text[j] == "\\" else 1
                    parts.append(text[i + 2 : min(j, n)])
                    i = min(j + 1, n)
                else:
                    i, kept = self.read_dollar(i)
                    parts.append(kept)
            elif c == "`":
                self.features.add("backtick")
                j = self.skip_backtick(i)
                parts.append(text[i:j])
                i = j
            elif c in "<>" and i + 1 < n and text[i + 1] == "(" and i == start:
                self.features.add("procsub")
                j = self.match_paren(i + 1)
                parts.append(text[i:j])
                i = j
            else:
                break
        return i, "".join(parts)


def _tokens(text: str) -> tuple[list[tuple[str, object, int, int]], set[str]]:
    """("word", Word) / ("op", str) / ("redir", Redirect) tokens with their offsets."""
    sc = _Scanner(text)
    n = len(text)
    toks: list[tuple[str, object, int, int]] = []
    pending_heredocs: list[tuple[str, bool]] = []
    at_cmd_start = True
    i = 0
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\\" and text.startswith("\n", i + 1):
            i += 2
            continue
        if c == "\\" and text.startswith("\r\n", i + 1):
            i += 3
            continue
        if c == "\n":
            toks.append(("op", "\n", i, i + 1))
            i += 1
            at_cmd_start = True
            if pending_heredocs:
                i = _skip_heredoc_bodies(text, i, pending_heredocs)
                pending_heredocs = []
            continue
        if c == "#":
            sc.features.add("comment")
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "<>" and not (i + 1 < n and text[i + 1] == "("):
            i = _read_redirect(sc, text, i, i, "", toks, pending_heredocs)
            continue
        if c == "&" and text.startswith("&>", i):
            i = _read_redirect(sc, text, i, i + 1, "&", toks, pending_heredocs)
            continue
        if c in "&|;()":
            for op in _OPS:
                if text.startswith(op, i):
                    break
            toks.append(("op", op, i, i + len(op)))
            sc.features.add("subshell" if op in "()" else "operator")
            i += len(op)
            at_cmd_start = True
            continue
        start = i
        i, word_text = sc.read_word(i)
        if i == start:  # defensive: never loop forever
            i += 1
            continue
        raw = text[start:i]
        # `2>file`, `2>&1`: a number glued to a redirection operator is its fd
        if raw.isdigit() and i < n and text[i] in "<>":
            i = _read_redirect(sc, text, start, i, raw, toks, pending_heredocs)
            continue
        if at_cmd_start and raw in ("{", "}"):
            toks.append(("op", raw, start, i))
            sc.features.add("group")
            continue
        if at_cmd_start:
            if raw in _KEYWORDS or raw in (
                "for",
                "case",
                "function",
                "select",
                "fi",
                "done",
                "esac",
            ):
                sc.features.add("keyword")
            elif _ASSIGN_RE.match(raw):
                sc.features.add("assignment")
        toks.append(("word", Word(word_text, raw, start, i), start, i))
        if not _ASSIGN_RE.match(raw):
            at_cmd_start = False
    return toks, sc.features


def _read_redirect(
    sc: _Scanner,
    text: str,
    start: int,
    i: int,
    prefix: str,
    toks: list[tuple[str, object, int, int]],
    pending: list[tuple[str, bool]],
) -> int:
    n = len(text)
    m = _REDIR_RE.match(text, i)
    assert m is not None
    op = prefix + m.group()
    j = m.end()
    sc.features.add("redirect")
    while j < n and text[j] in " \t":
        j += 1
    target: Word | None = None
    if j < n and text[j] not in "\n;&|()<>":
        ws = j
        j, wt = sc.read_word(j)
        if j > ws:
            target = Word(wt, text[ws:j], ws, j)
    if m.group() in ("<<", "<<-"):
        sc.features.add("heredoc")
        if target is not None:
            pending.append((target.text, m.group() == "<<-"))
    end = target.end if target is not None else m.end()
    toks.append(("redir", Redirect(op, target, start, end), start, end))
    return end


def _skip_heredoc_bodies(text: str, i: int, pending: list[tuple[str, bool]]) -> int:
    n = len(text)
    for delim, strip in pending:
        while i < n:
            j = text.find("\n", i)
            line_end = n if j < 0 else j
            line = text[i:line_end].rstrip("\r")
            if strip:
                line = line.lstrip("\t")
            i = n if j < 0 else j + 1
            if line == delim:
                break
    return i


def single_quoted(text: str, i: int) -> tuple[int, str]:
    """The single-quoted string opening at `i`: (where it ends, its text taken literally). An
    unclosed quote runs to the end of `text`."""
    j = text.find("'", i + 1)
    if j < 0:
        j = len(text)
    return j + 1, text[i + 1 : j]


def split_commands(text: str) -> list[Command]:
    """Split a shell script into simple commands with exact word offsets into `text`."""
    toks, _ = _tokens(text)
    out: list[Command] = []
    words: list[Word] = []
    redirs: list[Redirect] = []
    for kind, val, _s, _e in toks:
        if kind == "word":
            words.append(val)  # type: ignore[arg-type]
        elif kind == "redir":
            redirs.append(val)  # type: ignore[arg-type]
        else:
            if words or redirs:
                out.append(_command(words, redirs, val))  # type: ignore[arg-type]
                words, redirs = [], []
    if words or redirs:
        out.append(_command(words, redirs, None))
    return out


def _command(words: list[Word], redirs: list[Redirect], sep: str | None) -> Command:
    starts = [w.start for w in words] + [r.start for r in redirs]
    ends = [w.end for w in words] + [r.end for r in redirs]
    return Command(words, min(starts), max(ends), sep, redirs)


def has_shell_syntax(text: str) -> bool:
    """True if `text` needs a shell: anything a plain exec-form word split would break.

    Pipes, redirections, `&&`/`||`/`;`/`&`, newlines between commands, `$VAR`/`${}`, `$( )`,
    backticks, unquoted globs (`* ? [`), `~`, brace expansion, subshells and groups, heredocs,
    comments, leading `VAR=value` assignments and reserved words. Plain words and simply quoted
    arguments are False.
    """
    toks, features = _tokens(text)
    if features:
        return True
    seen_newline = False
    for kind, val, _s, _e in toks:
        if kind == "op":
            if val != "\n":
                return True
            seen_newline = True
        elif seen_newline:  # a word after a newline: a second command
            return True
    return False
