"""Helpers for the Dockerfile fixers: where new lines go, how a token leaves a line, the
file's casing, newline, escape and continuation layout, image families and user creation.

Every function works on offsets into `SourceText.text` of the original file and returns
`Edit`s (or the data to build them); nothing here re-serialises an instruction.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from batten.checks.base import (
    RunCommand,
    account_options,
    image_default_nonroot,
    is_root_user,
    is_windows_image,
    run_commands,
    stage_chain,
    stage_env,
    strip_heredoc_markers,
)
from batten.fixers.registry import NoFix
from batten.model import Edit, Finding, Span
from batten.sources.dockerfile import DockerfileModel, Heredoc, Instruction, Stage, expand_args
from batten.sources.shell import Word, split_commands
from batten.sources.text import SourceText

# ---------------------------------------------------------------------------------------------
# the document a finding is about
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DockerfileDoc:
    """One Dockerfile as the fixers see it: its model, text, path and writing habits."""

    df: DockerfileModel
    src: SourceText
    text: str
    path: str
    nl: str
    esc: str
    lower: bool  # the file writes its instructions in lower case

    def kw(self, keyword: str) -> str:
        """An instruction keyword in the file's casing."""
        return keyword.lower() if self.lower else keyword.upper()

    def edit(self, start: int, end: int, text: str) -> Edit:
        return Edit(self.path, start, end, text)


def doc_for(finding: Finding) -> DockerfileDoc | None:
    """The Dockerfile of a finding; None for inline (compose) Dockerfiles and other scopes."""
    df = finding.scope
    if not isinstance(df, DockerfileModel):
        return None
    src = df.source
    if "#" in src.path:  # `compose.yaml#services.x.build`: dockerfile_inline, not a file
        return None
    lower_case = df.memo.get("lower_case")
    if lower_case is None:  # counted once per file, not per finding
        lower = upper = 0
        for ins in df.instructions:
            if ins.raw_keyword == ins.keyword:
                upper += 1
            elif ins.raw_keyword == ins.keyword.lower():
                lower += 1
        lower_case = df.memo["lower_case"] = lower > upper
    return DockerfileDoc(df, src, src.text, src.path, src.newline, df.escape, lower_case)


# ---------------------------------------------------------------------------------------------
# lines
# ---------------------------------------------------------------------------------------------


def line_start(text: str, off: int) -> int:
    return text.rfind("\n", 0, off) + 1


def line_end(text: str, off: int) -> int:
    """End of the line holding `off`, before its `\\n` or `\\r\\n`."""
    j = text.find("\n", off)
    if j < 0:
        return len(text)
    return j - 1 if j > 0 and text[j - 1] == "\r" else j


def next_line_start(text: str, off: int) -> int:
    """Start of the line after the one holding `off` (len(text) on the last line)."""
    j = text.find("\n", off)
    return len(text) if j < 0 else j + 1


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _is_blank(s: str) -> bool:
    return not s.strip(" \t\r")


def _ends_with_escape(line: str, esc: str) -> bool:
    t = line.rstrip(" \t\r")
    return t.endswith(esc) and (len(t) == 1 or t[-2] != esc)


def insertion_point(doc: DockerfileDoc, ins: Instruction) -> tuple[int, str]:
    """Where lines inserted *before* `ins` go: above the comment block that sits directly on
    top of it (a pragma or a note about `ins` stays with `ins`), with `ins`'s indentation."""
    src = doc.src
    prev = doc.df.previous(ins)
    prev_end = prev.end_line if prev is not None else 0
    first = ins.line
    while first - 1 > prev_end and src.line_text(first - 1).lstrip().startswith("#"):
        first -= 1
    return src.line_starts[first - 1], indent_of(src.line_text(ins.line))


def insert_before(doc: DockerfileDoc, ins: Instruction, lines: list[str]) -> Edit:
    off, indent = insertion_point(doc, ins)
    return doc.edit(off, off, "".join(indent + ln + doc.nl for ln in lines))


def insert_after(doc: DockerfileDoc, ins: Instruction, lines: list[str]) -> Edit:
    """New lines right after `ins` (heredocs included); a missing final newline stays missing."""
    indent = indent_of(doc.src.line_text(ins.line))
    off = ins.span.end
    return doc.edit(off, off, "".join(doc.nl + indent + ln for ln in lines))


def delete_instruction(doc: DockerfileDoc, ins: Instruction) -> Edit:
    """Remove the lines of `ins` (its line ending too; at the end of a file without a final
    newline, the line ending before it instead)."""
    text = doc.text
    start = line_start(text, ins.span.start)
    end = line_end(text, ins.span.end)
    nxt = next_line_start(text, end)
    if nxt > end:
        return doc.edit(start, nxt, "")
    if start > 0:  # last line, no final newline: take the newline before it
        back = 2 if text[start - 2 : start] == "\r\n" else 1
        return doc.edit(start - back, end, "")
    return doc.edit(start, end, "")


def remove_token(doc: DockerfileDoc, ins: Instruction, span: Span) -> list[Edit]:
    """Remove the source text `span` of one word/pair of `ins` with one adjacent run of blanks.

    A token alone on a continuation line takes its whole line; when that line was the last of
    the logical line, the continuation escape of the line before it goes too.
    """
    text, esc = doc.text, doc.esc
    ls = line_start(text, span.start)
    le = line_end(text, max(span.start, span.end - 1))
    before = text[ls : span.start]
    after = text[span.end : le]
    after_s = after.strip(" \t")
    if _is_blank(before) and after_s in ("", esc) and ls > line_start(text, ins.span.start):
        if after_s == esc:  # the logical line goes on below: drop the whole line
            return [doc.edit(ls, next_line_start(text, le), "")]
        # last line of the logical line: drop it and the escape that led to it
        src = doc.src
        line_no = src.line_col(ls)[0]
        k = line_no - 1
        while k >= ins.line:
            lt = src.line_text(k)
            if not _is_blank(lt) and not (k > ins.line and lt.lstrip().startswith("#")):
                break
            k -= 1
        if k < ins.line:
            raise ValueError("no line before the token")
        prev = src.line_span(k)
        lt = text[prev.start : prev.end]
        if not _ends_with_escape(lt, esc):
            raise ValueError("the line before the token does not continue")
        body = lt.rstrip(" \t")[: -len(esc)].rstrip(" \t")
        return [doc.edit(prev.start + len(body), le, "")]
    j = span.end
    while j < le and text[j] in " \t":
        j += 1
    rest = text[j:le].strip(" \t")
    if j > span.end and rest and rest != esc:
        return [doc.edit(span.start, j, "")]
    i = span.start
    while i > ls and text[i - 1] in " \t":
        i -= 1
    if i < span.start:
        return [doc.edit(i, span.end, "")]
    return [doc.edit(span.start, j, "")]


def remove_pair(doc: DockerfileDoc, ins: Instruction, pair_span: Span) -> list[Edit]:
    """Remove one ENV/ARG/LABEL pair; the whole instruction when it is the only one."""
    pairs = ins.pairs()
    if len(pairs) <= 1:
        return [delete_instruction(doc, ins)]
    return remove_token(doc, ins, pair_span)


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------


def first_cmd(stage: Stage, after: Instruction | None = None) -> Instruction | None:
    """The first CMD/ENTRYPOINT of `stage` (after `after`, when given)."""
    seen = after is None
    for ins in stage.instructions[1:]:
        if not seen:
            seen = ins is after
            continue
        if ins.keyword in ("CMD", "ENTRYPOINT"):
            return ins
    return None


def add_lines_to_stage(doc: DockerfileDoc, stage: Stage, lines: list[str], after: Instruction | None = None) -> Edit:
    """Insert `lines` before the first CMD/ENTRYPOINT (after `after`), else at the stage's end."""
    anchor = first_cmd(stage, after)
    if anchor is not None:
        return insert_before(doc, anchor, lines)
    return insert_after(doc, stage.instructions[-1], lines)


def user_before(stage: Stage, ins: Instruction | None) -> str | None:
    """The USER in force just before `ins` (None: no USER anywhere, the base image decides)."""
    if ins is not None and ins in stage.instructions:
        idx = stage.instructions.index(ins)
        for prior in reversed(stage.instructions[:idx]):
            if prior.keyword == "USER":
                return prior.args.strip()
    else:
        users = stage.instructions_named("USER")
        if users:
            return users[-1].args.strip()
    for st in stage_chain(stage)[1:]:
        users = st.instructions_named("USER")
        if users:
            return users[-1].args.strip()
    return None


def root_at(stage: Stage, ins: Instruction | None) -> bool:
    """True if the build runs `ins` as root."""
    user = user_before(stage, ins)
    if user is None:
        return not image_default_nonroot(stage.root_stage().base_resolved)
    if "$" in user:
        return False
    return is_root_user(user)


# ---------------------------------------------------------------------------------------------
# image families
# ---------------------------------------------------------------------------------------------

_DEBIAN_IMAGES = frozenset({
    "debian", "ubuntu", "python", "pypy", "node", "ruby", "golang", "php", "openjdk",
    "eclipse-temurin", "ibmjava", "nginx", "httpd", "perl", "rust", "buildpack-deps", "maven",
    "gradle", "tomcat", "jetty", "elixir", "erlang", "haskell", "swift", "julia", "gcc", "r-base",
    "clojure", "mariadb", "mongo", "redis", "postgres", "wordpress", "drupal", "joomla",
    "nextcloud", "odoo", "rabbitmq", "memcached", "haproxy", "ghost", "mediawiki", "neo4j",
    "bitnami/minideb", "continuumio/miniconda3", "continuumio/anaconda3", "mambaorg/micromamba",
})
_DEBIAN_PREFIXES = ("mcr.microsoft.com/dotnet/", "mcr.microsoft.com/devcontainers/", "nvidia/cuda",
                    "jupyter/", "quay.io/jupyter/", "rocker/", "pytorch/", "tensorflow/")
_RHEL_IMAGES = frozenset({
    "fedora", "centos", "rockylinux", "almalinux", "oraclelinux", "rockylinux/rockylinux",
    "almalinux/almalinux", "quay.io/centos/centos", "mysql", "quay.io/fedora/fedora",
    "registry.fedoraproject.org/fedora",
})
_RHEL_NO_SHADOW = frozenset({"amazonlinux", "amazoncorretto"})
# a tag naming a Debian or Ubuntu release (not "slim" alone: on an unknown repository that is a guess)
_DEBIAN_TAG = re.compile(r"(?i)(^|[-.])(bookworm|bullseye|buster|stretch|trixie|jammy|focal|noble|bionic|"
                         r"xenial|debian|ubuntu)([-.]|$)")
_PKG_FAMILY = {"apt-get": "debian", "apt": "debian", "dpkg": "debian", "apk": "alpine",
               "dnf": "rhel", "yum": "rhel", "microdnf": "rhel"}


def image_key(stage: Stage) -> tuple[str, str]:
    """(repository with registry, tag) of the stage chain's root image, lower-case."""
    ref = stage.root_image()
    if ref is None:
        return "", ""
    repo = ref.repository.lower().removeprefix("library/")
    if ref.registry and not ref.is_docker_hub:
        repo = f"{ref.registry.lower()}/{repo}"
    return repo, (ref.tag or "").lower()


def chain_commands(stage: Stage) -> list[RunCommand]:
    out: list[RunCommand] = []
    for st in reversed(stage_chain(stage)):
        for ins in st.instructions_named("RUN"):
            out.extend(run_commands(ins))
    return out


def chain_run_text(stage: Stage) -> str:
    return "\n".join(
        ins.args + "".join(h.body for h in ins.heredocs)
        for st in stage_chain(stage)
        for ins in st.instructions_named("RUN")
    )


def _windows_shell(stage: Stage) -> bool:
    """A `SHELL ["powershell", ...]` or `SHELL ["cmd", ...]` in the stage chain."""
    for st in stage_chain(stage):
        for ins in st.instructions_named("SHELL"):
            if ins.json and ins.json[0].replace("\\", "/").rsplit("/", 1)[-1].lower() in (
                "powershell", "powershell.exe", "cmd", "cmd.exe"
            ):
                return True
    return False


def image_family(stage: Stage) -> str:
    """debian | alpine | rhel | rhel-minimal | distroless | scratch | windows | unknown."""
    root = stage.root_stage()
    base = root.base_resolved
    if is_windows_image(base) or _windows_shell(stage):
        return "windows"
    if root.is_scratch:
        return "scratch"
    repo, tag = image_key(stage)
    name = repo.rsplit("/", 1)[-1]
    if repo:
        if repo.startswith("gcr.io/distroless/") or repo.startswith("cgr.dev/"):
            return "distroless"
        if "windowsservercore" in tag or "nanoserver" in tag:
            return "windows"
        if "alpine" in tag or name in ("alpine", "busybox") or "alpine" in repo:
            return "alpine"
        if "ubi" in repo.split("/") or re.search(r"(^|/)ubi\d*([-/]|$)", repo) or "ubi" in tag:
            if "minimal" in repo or "micro" in repo or "minimal" in tag or "micro" in tag:
                return "rhel-minimal"
            return "rhel"
        if repo in _RHEL_NO_SHADOW:
            return "rhel-minimal"
        if repo in _RHEL_IMAGES or name in ("fedora", "centos", "rockylinux", "almalinux", "oraclelinux"):
            if repo == "mysql" and "debian" in tag:
                return "debian"
            if "minimal" in tag or ("slim" in tag and repo == "oraclelinux"):
                return "rhel-minimal"
            return "rhel"
        if repo in _DEBIAN_IMAGES or repo.startswith(_DEBIAN_PREFIXES):
            if "cbl-mariner" in tag or "azurelinux" in tag or "distroless" in tag or "chiseled" in tag:
                return "unknown"
            return "debian"
        if _DEBIAN_TAG.search(tag):
            return "debian"
    # an unknown base: what the stage chain installs packages with tells the family
    for rc in reversed(chain_commands(stage)):
        fam = _PKG_FAMILY.get(rc.name)
        if fam is not None:
            return fam
    return "unknown"


def user_family(stage: Stage) -> str:
    """How to create a user in this stage: debian | alpine | rhel | distroless | numeric | windows."""
    fam = image_family(stage)
    if fam == "rhel-minimal":
        return "rhel" if "shadow-utils" in chain_run_text(stage) else "numeric"
    if fam in ("scratch", "unknown"):
        return "numeric"
    return fam


# ---------------------------------------------------------------------------------------------
# RUN commands: where a command's words are in the file
# ---------------------------------------------------------------------------------------------

def command_site(rc: RunCommand) -> tuple[str, Heredoc | None] | None:
    """("line", None) for a command on the RUN's own line(s), ("heredoc", hd) for one in a
    heredoc body, None where offsets do not map one-to-one (exec form, `sh -c '...'`)."""
    ins = rc.instruction
    if ins.json is not None:
        return None
    if rc.script is ins.args:
        return "line", None
    for hd in ins.heredocs:
        if rc.script is hd.body:
            return "heredoc", hd
    if ins.heredocs and len(rc.script) == len(ins.args) and rc.script == strip_heredoc_markers(ins.args):
        return "line", None
    return None


def word_source(doc: DockerfileDoc, rc: RunCommand, w: Word) -> Span:
    """Source span of a word of `rc` (effective or whole command); checked against the text."""
    start = rc.to_source(w.start)
    end = rc.to_source(max(w.start, w.end - 1)) + 1
    if doc.text[start : start + 1] != w.raw[:1] or doc.text[end - 1 : end] != w.raw[-1:]:
        raise ValueError(f"word {w.raw!r} does not map onto the source")
    return Span(start, end)


UNMAPPED = ("the command is in exec form or inside a quoted script (sh -c '...'): its words do not map "
            "one-to-one onto the file, so batten does not edit them")


def editable_site(rc: RunCommand) -> tuple[str, Heredoc | None]:
    """`command_site(rc)`, or NoFix when the command's words do not map onto the file."""
    site = command_site(rc)
    if site is None:
        raise NoFix(UNMAPPED)
    return site


def insert_after_word(doc: DockerfileDoc, rc: RunCommand, w: Word, text: str) -> Edit:
    """`text` right after the word `w` of `rc`; NoFix where the command does not map onto the file."""
    editable_site(rc)
    sp = word_source(doc, rc, w)
    return doc.edit(sp.end, sp.end, text)


# ---------------------------------------------------------------------------------------------
# user and group creation commands
# ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Creation:
    """A useradd/adduser/groupadd/addgroup command that creates an account."""

    rc: RunCommand
    stage: Stage
    kind: str  # user | group
    style: str  # gnu | debian | busybox
    name: str
    id: str | None  # the uid (user) or gid (group) given, as written (unquoted)
    group: str | None  # user: the primary group given (name or number)
    own_group: bool  # user: a group of the same name is created with it
    system: bool
    long_opts: bool  # the command already uses --long options
    short_opts: bool


def _get(opts: dict[str, str | None], *names: str) -> str | None:
    for n in names:
        if n in opts:
            return opts[n]
    return None


def _has(opts: dict[str, str | None], *names: str) -> bool:
    return any(n in opts for n in names)


def parse_creation(rc: RunCommand, stage: Stage, family: str) -> Creation | None:
    """The account `rc` creates, or None (not an account command, or one that adds a member)."""
    name = rc.name
    args = rc.cmd.args
    if name == "useradd":
        opts, pos, lo, sh = account_options(args, "useradd")
        if len(pos) != 1 or _has(opts, "-D", "--defaults"):
            return None
        group = _get(opts, "-g", "--gid")
        own = group is None and not _has(opts, "-N", "--no-user-group")
        return Creation(rc, stage, "user", "gnu", pos[0], _get(opts, "-u", "--uid"), group, own,
                        _has(opts, "-r", "--system"), lo, sh)
    if name == "groupadd":
        opts, pos, lo, sh = account_options(args, "groupadd")
        if len(pos) != 1:
            return None
        return Creation(rc, stage, "group", "gnu", pos[0], _get(opts, "-g", "--gid"), None, False,
                        _has(opts, "-r", "--system"), lo, sh)
    if name in ("adduser", "addgroup"):
        style = account_style(rc, family)
        if style is None:
            return None
        if style == "debian":
            opts, pos, lo, sh = account_options(args, f"{name}-debian")
        else:
            opts, pos, lo, sh = account_options(args, f"{name}-busybox")
        if len(pos) != 1:
            return None  # `adduser user group` / `addgroup user group`: adds a member
        system = _has(opts, "--system", "-S")
        if name == "addgroup" or (style == "debian" and _has(opts, "--group") and not system):
            return Creation(rc, stage, "group", style, pos[0], _get(opts, "--gid", "-g"), None, False,
                            system, lo, sh)
        if style == "debian":
            group = _get(opts, "--gid", "--ingroup")
            own = group is None and (not system or _has(opts, "--group"))
            return Creation(rc, stage, "user", style, pos[0], _get(opts, "--uid"), group, own, system, lo, sh)
        group = _get(opts, "-G")
        own = group is None and not system
        return Creation(rc, stage, "user", style, pos[0], _get(opts, "-u"), group, own, system, lo, sh)
    return None


def account_style(rc: RunCommand, family: str) -> str | None:
    """gnu (useradd/groupadd), debian or busybox (adduser/addgroup); None when unknowable."""
    if rc.name in ("useradd", "groupadd"):
        return "gnu"
    words = [w.text for w in rc.cmd.args]
    if any(t.startswith("--") and t != "--" for t in words):
        return "debian"
    if any(t.startswith("-") and len(t) > 1 and t != "--" for t in words):
        return "busybox"
    if family == "alpine":
        return "busybox"
    if family == "debian":
        return "debian"
    return None


def id_option(creation_kind: str, style: str, long_opts: bool, short_opts: bool) -> str:
    """The option that sets the id: --uid/-u for users, --gid/-g for groups, in the command's style."""
    if style == "busybox":
        return "-u" if creation_kind == "user" else "-g"
    if style == "debian":
        return "--uid" if creation_kind == "user" else "--gid"
    use_short = short_opts and not long_opts
    if creation_kind == "user":
        return "-u" if use_short else "--uid"
    return "-g" if use_short else "--gid"


def creations(stage: Stage, family: str) -> list[Creation]:
    """Account creations in the stage chain, in build order."""
    out: list[Creation] = []
    for st in reversed(stage_chain(stage)):
        for ins in st.instructions_named("RUN"):
            for rc in run_commands(ins):
                c = parse_creation(rc, st, family)
                if c is not None:
                    out.append(c)
    return out


def resolve_id(value: str | None, stage: Stage) -> str | None:
    """A literal numeric id, or one an ARG/ENV default resolves to; else None."""
    if value is None:
        return None
    v = value.strip()
    if "$" in v:
        v = expand_args(v, stage_env(stage))
    return v if v.isdigit() else None


def group_gid(name_or_id: str | None, stage: Stage, made: list[Creation]) -> str | None:
    """The gid of a group named (or numbered) in a creation command."""
    if name_or_id is None:
        return None
    v = resolve_id(name_or_id, stage)
    if v is not None:
        return v
    for c in reversed(made):
        if c.kind == "group" and c.name == name_or_id:
            return resolve_id(c.id, stage)
    return {"root": "0", "users": "100"}.get(name_or_id)


def kebab(name: str) -> str:
    """DB_PASSWORD -> db-password, apiKey -> api-key."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    s = re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()
    return s or "secret"


def heredoc_append(doc: DockerfileDoc, hd: Heredoc, line: str) -> Edit:
    """A new last line for a heredoc body (before its terminator), indented like the body's
    last line; NoFix when the body's last line continues or the heredoc is unterminated."""
    if not hd.terminated:
        raise NoFix(f"the heredoc <<{hd.delimiter} has no terminator line: where its body ends is unclear")
    body = hd.body
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    last = next((ln for ln in reversed(lines) if not _is_blank(ln)), "")
    if last.rstrip(" \t\r").endswith(("\\", "&&", "||", "|")):
        raise NoFix(f"the last line of the heredoc <<{hd.delimiter} continues (\\, &&, ||, |): a new line would "
                    "join its command")
    nl = "\r\n" if body.endswith("\r\n") else ("\n" if body.endswith("\n") else doc.nl)
    indent = indent_of(last)
    off = hd.body_span.end
    prefix = "" if not body or body.endswith("\n") else nl
    return doc.edit(off, off, prefix + indent + line + nl)


# ---------------------------------------------------------------------------------------------
# appending a command to a RUN line, in the RUN's own layout
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Layout:
    style: str  # "single" (append on the same line), "trail" (`&& \` at line end), "lead" (`&&` first)
    joiner: str  # "&&" or ";"
    tail: str = " && \\"  # trail: what ends the line before the new command
    indent: str = ""  # trail: indentation of a line that starts a command
    cont: str = " \\"  # lead: what ends the line before the new line
    lead: str = "&& "  # lead: how a new line starts (indentation + operator + blanks)


def run_layout(doc: DockerfileDoc, ins: Instruction) -> Layout:
    """How the RUN chains commands across its continuation lines."""
    esc = doc.esc
    src = doc.src
    cmds = split_commands(ins.args)
    seps = {c.separator_after for c in cmds if c.separator_after}
    joiner = ";" if ";" in seps and "&&" not in seps else "&&"
    lay = Layout("single", joiner, tail=f" {joiner} {esc}" if joiner == "&&" else f"; {esc}",
                 cont=" " + esc)
    if not ins.args:
        return lay
    last_line = src.line_col(max(ins.args_span.start, ins.args_span.end - 1))[0]
    content: list[str] = []
    for n in range(ins.line, last_line + 1):
        lt = src.line_text(n)
        if _is_blank(lt) or (n > ins.line and lt.lstrip().startswith("#")):
            continue
        content.append(lt)
    e = re.escape(esc)
    trail_re = re.compile(rf"([ \t]*)(&&|;)([ \t]*){e}[ \t]*$")
    cont_re = re.compile(rf"([ \t]*){e}[ \t]*$")
    lead_re = re.compile(r"[ \t]*&&[ \t]*")
    for prev, cur in itertools.pairwise(content):
        m_lead = lead_re.match(cur)
        if m_lead is not None:
            lay.style = "lead"
            lay.lead = m_lead.group()
            mc = cont_re.search(prev)
            if mc is not None and prev[: mc.start()].strip():
                lay.cont = mc.group(1) + esc
            continue
        mt = trail_re.search(prev.rstrip("\r"))
        if mt is None or prev[: mt.start(2)].strip() in ("", ";"):
            if mt is not None and cur.strip(" \t\r") not in ("", esc):
                lay.indent = indent_of(cur)  # `; \` alone on a line before a command
            continue
        if mt.group(2) == ";" and prev[: mt.start(2)].rstrip().endswith(";"):
            continue  # `;;`
        lay.style = "trail"
        lay.tail = mt.group(1) + mt.group(2) + mt.group(3) + esc
        if cur.strip(" \t\r") not in ("", esc) or not lay.indent:
            lay.indent = indent_of(cur)
    return lay


def append_command(doc: DockerfileDoc, ins: Instruction, command: str) -> Edit:
    """Append `command` to a shell-form RUN's own line(s), after its last command."""
    if ins.json is not None:
        raise NoFix("the RUN is in exec form (JSON): it has no shell to chain another command with")
    if ins.heredocs:
        raise NoFix("the RUN's line opens a heredoc: batten does not append to a line whose heredoc body "
                    "follows it")
    cmds = [c for c in split_commands(ins.args) if c.words or c.redirects]
    if not cmds:
        raise NoFix("the RUN has no command on its own line to append to")
    end = max(c.end for c in cmds)
    off = ins.source_offset(end - 1) + 1
    if doc.text[off - 1 : off] != ins.args[end - 1 : end]:
        raise ValueError("the RUN's last command does not map onto the source")
    lay = run_layout(doc, ins)
    if lay.style == "trail":
        return doc.edit(off, off, f"{lay.tail}{doc.nl}{lay.indent}{command}")
    if lay.style == "lead":
        return doc.edit(off, off, f"{lay.cont}{doc.nl}{lay.lead}{command}")
    if lay.joiner == ";":
        return doc.edit(off, off, f"; {command}")
    return doc.edit(off, off, f" && {command}")


# ---------------------------------------------------------------------------------------------
# account ids that do not collide
# ---------------------------------------------------------------------------------------------


def used_ids(made: list[Creation], stage: Stage) -> tuple[dict[int, str], dict[int, str]]:
    """(uid -> who, gid -> who) the stage chain's account commands take, plus the base image's
    accounts when its files were read through the engine. A user created with its own group
    takes its uid as that group's gid too (useradd's and adduser's habit)."""
    from batten.live.imagefacts import facts_for

    uids: dict[int, str] = {}
    gids: dict[int, str] = {}
    for c in made:
        v = resolve_id(c.id, c.stage)
        if v is None:
            continue
        who = f"{c.rc.name} {c.name}"
        if c.kind == "user":
            uids.setdefault(int(v), who)
            if c.own_group:
                gids.setdefault(int(v), f"{who} (its own group)")
        else:
            gids.setdefault(int(v), who)
    root = stage.root_image()
    facts = facts_for(root.raw if root is not None else None)
    for name, uid, gid in facts.users or ():
        uids.setdefault(uid, f"user {name} of the base image")
        gids.setdefault(gid, f"the primary group of {name} in the base image")
    for name, gid in facts.groups or ():
        gids.setdefault(gid, f"group {name} of the base image")
    return uids, gids


def free_ids(uid: int, gid: int, uids: dict[int, str], gids: dict[int, str]) -> tuple[int, int]:
    """The first uid >= `uid` and gid >= `gid` nobody uses (equal ones when they start equal)."""
    if uid == gid:
        while uid in uids or uid in gids:
            uid += 1
        return uid, uid
    while uid in uids:
        uid += 1
    while gid in gids:
        gid += 1
    return uid, gid


def starts_a_step(rc: RunCommand) -> bool:
    """The command begins its RUN or follows `&&`, `;` or a line break (so `x && ` can go in
    front of it without changing what runs when)."""
    before = re.sub(r"\\\r?\n", " ", rc.script[: rc.whole.start]).rstrip(" \t")
    if before == "" or before.endswith("\n"):
        return True
    before = before.rstrip()
    return before.endswith(("&&", ";", "then", "do", "{", "(")) and not before.endswith(("|&&", ";;"))


def is_official_image(image: str | None) -> bool:
    """A Docker Official Image (`python`, `library/python`, `docker.io/python`)."""
    from batten.sources.dockerfile import ImageRef

    ref = ImageRef.parse(image or "")
    if ref is None or not ref.is_docker_hub:
        return False
    repo = ref.repository.lower()
    return repo.startswith("library/") or "/" not in repo


def user_at(stage: Stage, ins: Instruction | None) -> tuple[str | None, bool]:
    """(user, known) the build runs `ins` as: the USER in force in the stage chain, else the base
    image's own user when known (inspected through the engine, an official image: root, an image
    known to run as non-root: (None, True)); (None, False) when nobody can tell."""
    from batten.live.imagefacts import facts_for

    user = user_before(stage, ins)
    if user is not None:
        return user, True
    root = stage.root_stage()
    if root.is_scratch:
        return "root", True
    ref = stage.root_image()
    facts = facts_for(ref.raw if ref is not None else None)
    if facts.inspected:
        return facts.user or "root", True
    if image_default_nonroot(root.base_resolved):
        return None, True
    if is_official_image(root.base_resolved) or is_windows_image(root.base_resolved):
        return "root", True
    return None, False
