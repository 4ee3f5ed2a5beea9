"""Dockerfile fixers: each turns one finding into edits on the original Dockerfile text.

Registered with `@fixer` at import time (batten.fixers.plan imports this module). Every fixer
declines (`NoFix(reason)`) rather than make a risky edit: exec form where a shell is needed,
`sh -c '...'` scripts whose offsets do not map onto the file, unresolvable ids, Windows images.
Helpers that know about lines, continuations and image families are in dockerfile_util.
"""

from __future__ import annotations

import json
import re

from batten.checks.base import (
    RunCommand,
    effective_user,
    is_root_user,
    run_commands,
    stage_chain,
    stage_env,
)
from batten.checks.dockerfile_rules import ins_user_name
from batten.checks.sites import CommandSite, InstructionSite, PairSite, StageSite, WordSite
from batten.fixers.dockerfile_util import (
    Creation,
    DockerfileDoc,
    account_style,
    add_lines_to_stage,
    append_command,
    chain_commands,
    creations,
    delete_instruction,
    doc_for,
    editable_site,
    free_ids,
    group_gid,
    heredoc_append,
    id_option,
    image_family,
    image_key,
    insert_after,
    insert_after_word,
    insert_before,
    kebab,
    remove_pair,
    remove_token,
    resolve_id,
    root_at,
    starts_a_step,
    used_ids,
    user_at,
    user_family,
    word_source,
)
from batten.fixers.probes import NoProbe, Probe
from batten.fixers.probes import choose as choose_probe
from batten.fixers.registry import FixContext, FixerFn, FixResult, NoFix, ParamSpec, fixer
from batten.live.imagefacts import facts_for
from batten.model import Applicability, Edit, Span
from batten.sources.dockerfile import DockerfileModel, Instruction, Pair, Stage
from batten.sources.shell import Word, has_shell_syntax, split_commands

SAFE = Applicability.SAFE
UNSAFE = Applicability.UNSAFE
NEEDS_INPUT = Applicability.NEEDS_INPUT

_ID = re.compile(r"\d{1,10}")
_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


def _doc(ctx: FixContext) -> DockerfileDoc:
    """The Dockerfile the finding is in, as the fixers edit it."""
    doc = doc_for(ctx.finding)
    if doc is None:
        raise NoFix("the Dockerfile is written inline in the compose file (dockerfile_inline): edit it there")
    return doc


def _stage(stage: Stage | None) -> Stage:
    if stage is None:
        raise NoFix("the instruction comes before the first FROM: it belongs to no stage")
    return stage


def _ids(ctx: FixContext, stage: Stage | None = None, made: list[Creation] | None = None) -> tuple[str, str]:
    """The uid and gid to use: given values must be free in the stage chain (and the base
    image, when its files were read); checklist defaults move to the next free pair."""
    uid, gid = ctx.value("uid").strip(), ctx.value("gid").strip()
    if not _ID.fullmatch(uid) or not _ID.fullmatch(gid):
        raise NoFix(f"uid/gid must be numbers (got {uid!r}, {gid!r})")
    if uid == "0" or gid == "0":
        raise NoFix("uid/gid 0 is root, the user the fix moves away from")
    if stage is None:
        return uid, gid
    uids, gids = used_ids(made if made is not None else creations(stage, image_family(stage)), stage)
    for name, value, taken in (("uid", uid, uids), ("gid", gid, gids)):
        if int(value) in taken and ctx.sources.get(name) not in ("checklist", None):
            raise NoFix(f"{name} {value} is already used by {taken[int(value)]}: give another one")
    u, g = free_ids(int(uid), int(gid), uids, gids)
    for name, old, new in (("uid", uid, str(u)), ("gid", gid, str(g))):
        if new != old:
            ctx.values[name] = new  # the next id the chain (and base image) leave free
    return str(u), str(g)


def _id_edit(doc: DockerfileDoc, c: Creation, value: str) -> Edit:
    """` --uid 10001` (or the command's option style) right after the command's name."""
    name_word = c.rc.cmd.name_word
    if name_word is None:
        raise NoFix(f"the {c.kind} {c.name!r} is created by a command whose name is not a plain word")
    opt = id_option(c.kind, c.style, c.long_opts, c.short_opts)
    try:
        return insert_after_word(doc, c.rc, name_word, f" {opt} {value}")
    except NoFix as exc:
        raise NoFix(f"the command that creates the {c.kind} {c.name!r} cannot be edited: {exc.reason}") from None


# ---------------------------------------------------------------------------------------------
# df.add-user
# ---------------------------------------------------------------------------------------------

_USER_PARAMS = (
    ParamSpec("uid", "numeric UID of the non-root user",
              risk="an id another account of the image already uses makes the build fail or shares its files"),
    ParamSpec("gid", "numeric GID of its primary group",
              risk="an id another group of the image already uses makes the build fail or shares its files"),
    ParamSpec("user_name", "name of the user (and group) to create"),
)

_CREATE = {
    "debian": "groupadd --system --gid {gid} {name} && "
              "useradd --system --uid {uid} --gid {name} --no-log-init --create-home {name}",
    "alpine": "addgroup -S -g {gid} {name} && adduser -S -D -u {uid} -G {name} {name}",
    "rhel": "groupadd -r -g {gid} {name} && useradd -r -u {uid} -g {name} {name}",
}
_FAMILY_LABEL = {
    "debian": "a Debian/Ubuntu base (groupadd/useradd)",
    "alpine": "an Alpine/BusyBox base (addgroup/adduser)",
    "rhel": "a RHEL-family base (groupadd/useradd)",
}

_ADD_USER_EXPLANATION = """Creates a non-root user with a fixed UID/GID in the stage that runs and
switches to it with USER before CMD/ENTRYPOINT. This changes behaviour: the process can no longer
write to root-owned paths (application directories, /var/run, volumes created as root), bind ports
below 1024, or install packages at run time. Check ownership (COPY --chown, chown in a RUN) and
ports before applying."""


def _reuse_user(doc: DockerfileDoc, stage: Stage, made: list[Creation], uid: str, gid: str,
                edits: list[Edit]) -> str | None:
    """USER value for the last user the chain already creates (adding ids it lacks), else None
    when there is no such user; raises NoFix when its ids cannot be made fixed."""
    users = [c for c in made if c.kind == "user"]
    if not users:
        return None
    c = users[-1]
    u = resolve_id(c.id, c.stage)
    if c.id is not None and u is None:
        raise NoFix(f"the uid of {c.name!r} ({c.id}) cannot be resolved")
    if u is None:
        edits.append(_id_edit(doc, c, uid))
        u = uid
    g: str | None = None
    if c.group is not None:
        g = group_gid(c.group, c.stage, made)
        if g is None:
            grp = next((x for x in reversed(made) if x.kind == "group" and x.name == c.group), None)
            if grp is not None and grp.id is None:
                edits.append(_id_edit(doc, grp, gid))
                g = gid
    return f"{u}:{g}" if g is not None else u


@fixer(
    "df.add-user",
    title="Run as a non-root user with a fixed UID/GID",
    applicability=UNSAFE,
    risk="root-owned paths become unwritable and ports below 1024 cannot be bound by the new user",
    explanation=_ADD_USER_EXPLANATION,
    params=_USER_PARAMS,
    site=StageSite,
)
def add_user(ctx: FixContext[StageSite]) -> FixResult:
    doc, stage = _doc(ctx), ctx.site.stage
    uid, gid = _ids(ctx, stage)
    name = ctx.value("user_name").strip() or "app"
    if not _NAME.fullmatch(name):
        raise NoFix(f"{name!r} is not a portable user name")
    family = user_family(stage)
    if family == "windows":
        raise NoFix("the base image is Windows: its accounts (ContainerUser, ContainerAdministrator) are not "
                    "created the Linux way; set USER ContainerUser by hand")
    edits: list[Edit] = []
    create: str | None = None
    how: str
    if family == "distroless":
        value, how = "65532:65532", "the distroless base already has the nonroot user 65532"
    elif family == "numeric":
        value = f"{uid}:{gid}"
        root = stage.root_image()
        how = (f"the family of the base image {root.raw if root is not None else stage.base_resolved} is "
               "unknown, so batten does not guess its package manager or account tools: USER takes numeric "
               "ids only (create the account yourself if the image needs it in /etc/passwd)")
    else:
        made = creations(stage, image_family(stage))
        reused = _reuse_user(doc, stage, made, uid, gid, edits)
        if reused is not None:
            value = reused
            how = "the stage already creates a user; USER switches to its ids"
        else:
            if any(c.name == name for c in made):
                raise NoFix(f"the build already creates a group named {name!r}: a user of that name would "
                            "clash with it; give another name (user_name)")
            create = _CREATE[family].format(uid=uid, gid=gid, name=name)
            value = f"{uid}:{gid}"
            how = f"the user is created for {_FAMILY_LABEL[family]}"
    user_line = f"{doc.kw('USER')} {value}"
    run_line = f"{doc.kw('RUN')} {create}" if create else None
    lines = [ln for ln in (run_line, user_line) if ln]

    placed = False
    if ctx.finding.rule.id == "user.final-root":
        eu = effective_user(stage)
        ins = eu.instruction
        if ins is not None and eu.stage is stage:
            after = stage.instructions[stage.instructions.index(ins) + 1 :]
            if not any(i.keyword in ("RUN", "COPY", "ADD") for i in after):
                if run_line is None:
                    edits.append(doc.edit(ins.args_span.start, ins.args_span.end, value))
                    placed = True
                elif root_at(stage, ins):
                    edits.append(insert_before(doc, ins, [run_line]))
                    edits.append(doc.edit(ins.args_span.start, ins.args_span.end, value))
                    placed = True
    if not placed:
        last_step = None
        for i in stage.instructions[1:]:
            if i.keyword in ("RUN", "COPY", "ADD", "USER"):
                last_step = i
        edits.append(add_lines_to_stage(doc, stage, lines, last_step))
    # a lock: two runtime stages of one chain (a compose target and the final stage built on
    # it) must not both create the user in one pass; this no-op edit makes their fixes overlap
    root_from = stage.root_stage().from_instr
    ks = root_from.keyword_span
    edits.append(doc.edit(ks.start, ks.end, doc.text[ks.start : ks.end]))
    explanation = " ".join(_ADD_USER_EXPLANATION.split()) + f" Here {how} (USER {value})."
    return FixResult(edits, explanation=explanation)


# ---------------------------------------------------------------------------------------------
# df.fix-user-ids
# ---------------------------------------------------------------------------------------------


@fixer(
    "df.fix-user-ids",
    title="Give the created user/group a fixed id",
    applicability=NEEDS_INPUT,
    explanation="""Adds an explicit --uid/-u (users) or --gid/-g (groups) to the command that
    creates the account, so its id no longer depends on what the base image already holds.""",
    params=_USER_PARAMS[:2],
    site=CommandSite,
)
def fix_user_ids(ctx: FixContext[CommandSite]) -> FixResult:
    doc, stage, rc = _doc(ctx), _stage(ctx.site.stage), ctx.site.rc
    family = image_family(stage)
    style = account_style(rc, family)
    if style is None:
        raise NoFix(f"which {rc.name} this is (Debian's or BusyBox's) tells neither from its options nor from "
                    "the base image: their id options differ")
    editable_site(rc)
    made = creations(stage, family)
    uid, gid = _ids(ctx, stage, made)
    name = rc.name
    positional = rc.cmd.positional()
    is_group = name in ("groupadd", "addgroup") and not (name == "addgroup" and len(positional) >= 2)
    words = [w.text for w in rc.cmd.args]
    long_used = any(t.startswith("--") and t != "--" for t in words)
    short_used = any(t.startswith("-") and not t.startswith("--") and len(t) > 1 for t in words)
    opt = id_option("group" if is_group else "user", style, long_used, short_used)
    name_word = rc.cmd.name_word
    if name_word is None:
        raise NoFix(f"the name of the {rc.name} command is not a plain word")
    if is_group:
        return FixResult([insert_after_word(doc, rc, name_word, f" {opt} {gid}")])
    c = next((x for x in made if x.rc is rc or (x.rc.instruction is rc.instruction and x.rc.whole.start == rc.whole.start)),
             None)
    if c is not None and c.own_group and starts_a_step(rc):
        # the user's own group gets its gid explicitly: created first, then named as primary group
        group_cmd, group_opt = _OWN_GROUP[style]
        sysflag = _SYSTEM_FLAG[style] if c.system else ""
        first = word_source(doc, rc, rc.whole.words[0])
        pre = doc.edit(first.start, first.start, f"{group_cmd} {sysflag}{group_opt(long_used, short_used)} {gid} {c.name} && ")
        e = insert_after_word(doc, rc, name_word, f" {opt} {uid} {_PRIMARY[style](long_used, short_used)} {c.name}")
        return FixResult([pre, e], explanation=f"Creates the group {c.name} with gid {gid} before the user and "
                         f"gives the user uid {uid} and that group, so neither id depends on what the base "
                         "image holds or collides with another account of the build.")
    return FixResult([insert_after_word(doc, rc, name_word, f" {opt} {uid}")])


_OWN_GROUP = {
    "gnu": ("groupadd", lambda lo, sh: "-g" if sh and not lo else "--gid"),
    "busybox": ("addgroup", lambda lo, sh: "-g"),
    "debian": ("addgroup", lambda lo, sh: "--gid"),
}
_SYSTEM_FLAG = {"gnu": "--system ", "busybox": "-S ", "debian": "--system "}
_PRIMARY = {
    "gnu": lambda lo, sh: "-g" if sh and not lo else "--gid",
    "busybox": lambda lo, sh: "-G",
    "debian": lambda lo, sh: "--ingroup",
}


# ---------------------------------------------------------------------------------------------
# df.numeric-user
# ---------------------------------------------------------------------------------------------


@fixer(
    "df.numeric-user",
    title="Use the numeric UID:GID in USER",
    applicability=SAFE,
    explanation="""Replaces the user name in USER with the UID (and GID) the Dockerfile gives that
    user when it creates it, so runAsNonRoot admission checks can verify it. The process runs as
    the same account.""",
    site=StageSite,
)
def numeric_user(ctx: FixContext[StageSite]) -> list[Edit]:
    doc, stage = _doc(ctx), ctx.site.stage
    eu = effective_user(stage)
    ins = eu.instruction
    if ins is None:
        raise NoFix("the stage sets no USER of its own")
    if eu.stage is not stage:
        raise NoFix(f"USER is set in the stage this one is built on (line {ins.line}): change it there")
    user, _, group = ins_user_name(ins).partition(":")
    made = creations(stage, image_family(stage))
    c = next((x for x in reversed(made) if x.kind == "user" and x.name == user), None)
    if c is None:
        raise NoFix(f"{user!r} is not created in this Dockerfile: its uid is whatever the base image gives it; "
                    "write the number by hand")
    u = resolve_id(c.id, c.stage)
    if u is None:
        raise NoFix(f"the uid of {user!r} is chosen at build time (no fixed id where it is created): fix it "
                    "there first (df.fix-user-ids)")
    if group:
        g = group_gid(group, stage, made)
        if g is None:
            raise NoFix(f"the gid of the group {group!r} is not fixed in this Dockerfile")
    else:
        g = group_gid(c.group, c.stage, made) if c.group is not None else None
    value = f"{u}:{g}" if g is not None else u  # a bare UID keeps the passwd entry's groups
    return [doc.edit(ins.args_span.start, ins.args_span.end, value)]


# ---------------------------------------------------------------------------------------------
# df.drop-sudo
# ---------------------------------------------------------------------------------------------

_SUDO_ARG = frozenset({"-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--host", "--prompt",
                       "--close-from", "--chdir", "--role", "--type", "--other-user",
                       "--command-timeout"})
_SUDO_IDENTITY = frozenset({"--user", "--group", "--login", "--shell", "-u", "-g", "-i", "-s"})


@fixer(
    "df.drop-sudo",
    title="Drop sudo (the build already runs as root here)",
    applicability=SAFE,
    explanation="""Removes sudo and its options from the command: the build runs this step as root
    already, so the command does exactly the same without it.""",
    site=CommandSite,
)
def drop_sudo(ctx: FixContext[CommandSite]) -> list[Edit] | FixResult:
    doc, stage, ins, rc = _doc(ctx), _stage(ctx.site.stage), ctx.site.ins, ctx.site.rc
    editable_site(rc)
    user, known = user_at(stage, ins)
    if not known:
        root = stage.root_image()
        raise NoFix(f"the base image {root.raw if root is not None else stage.base} was not inspected: whether "
                    "this step runs as root is unknown (its sudo suggests it does not)")
    if user is None:
        raise NoFix("the base image runs as a non-root user whose name batten does not know: wrap the step "
                    "in USER root ... USER <that user> by hand")
    removal = _sudo_removal(doc, ins, rc)
    if is_root_user(user):
        return removal
    # the step runs as `user`: it can run as root without sudo only if every command of it used sudo
    others = [c for c in run_commands(ins) if "sudo" not in c.wrappers and c.name != "sudo"]
    if others:
        raise NoFix(f"this RUN also runs {others[0].name!r} as {user}: without sudo the whole step would need "
                    "root; split it first")
    lines_before = [f"{doc.kw('USER')} root"]
    lines_after = [f"{doc.kw('USER')} {user}"]
    wrap = [insert_before(doc, ins, lines_before), insert_after(doc, ins, lines_after)]
    return FixResult(removal + wrap, title="Run the step as root (USER root) instead of through sudo",
                     explanation=f"The step runs as {user}: it becomes a root step (USER root "
                     f"before it, USER {user} after it) without sudo, so every command runs as it did.")


def _sudo_removal(doc: DockerfileDoc, ins: Instruction, rc: RunCommand) -> list[Edit]:
    words = rc.whole.words
    k = next((i for i, w in enumerate(words) if w.text.rsplit("/", 1)[-1] == "sudo"), None)
    if k is None:
        raise NoFix("sudo is not a plain word of this command (a variable or a quoted script runs it)")
    j = k + 1
    n = len(words)
    while j < n:
        o = words[j].text
        if o == "--":
            j += 1
            break
        if not o.startswith("-") or o == "-":
            break
        opt = o.split("=", 1)[0]
        if opt in _SUDO_IDENTITY or (not o.startswith("--") and any(c in o[1:] for c in "ugis")):
            raise NoFix(f"sudo {o} runs the command as another user or through a login shell: without sudo "
                        "it would not be the same command")
        j += 2 if opt in _SUDO_ARG and "=" not in o else 1
    if j >= n:
        raise NoFix("sudo runs no command here (sudo -v, -l, -k...): remove it by hand if it is not needed")
    first = word_source(doc, rc, words[k])
    last = word_source(doc, rc, words[j - 1])
    return remove_token(doc, ins, Span(first.start, last.end))


# ---------------------------------------------------------------------------------------------
# df.remove-expose
# ---------------------------------------------------------------------------------------------


@fixer(
    "df.remove-expose",
    title="Stop exposing port 22",
    applicability=SAFE,
    explanation="""Removes 22 from EXPOSE (the whole instruction when it was the only port). EXPOSE
    is documentation for the image's users; dropping it publishes nothing new and closes
    nothing by itself, so also remove the SSH daemon from the image.""",
    site=WordSite,
)
def remove_expose(ctx: FixContext[WordSite]) -> list[Edit]:
    doc, ins, span = _doc(ctx), ctx.site.ins, ctx.site.span
    words = ins.words()
    hit = next(((t, raw) for t, raw, sp in words if sp == span), None)
    if hit is None:
        raise NoFix("the port is not a word of this EXPOSE as written")
    text, raw = hit
    port, slash, proto = text.partition("/")
    if "-" in port:
        a, _, b = port.partition("-")
        lo, hi = int(a), int(b)
        pieces = []
        if lo <= 21:
            pieces.append(f"{lo}-21" if lo < 21 else "21")
        if hi >= 23:
            pieces.append(f"23-{hi}" if hi > 23 else "23")
        if pieces:
            if raw != text:
                raise NoFix(f"the range {raw} is quoted or uses a variable: split it around 22 by hand")
            return [doc.edit(span.start, span.end, " ".join(p + slash + proto for p in pieces))]
    if len(words) == 1:
        return [delete_instruction(doc, ins)]
    return remove_token(doc, ins, span)


# ---------------------------------------------------------------------------------------------
# df.healthcheck
# ---------------------------------------------------------------------------------------------

_PKG_INSTALL = {"apt-get": "install", "apt": "install", "apk": "add", "dnf": "install",
                "yum": "install", "microdnf": "install", "zypper": "install", "tdnf": "install"}
def _installed(stage: Stage) -> set[str]:
    """Packages the stage chain installs with a package manager (names without versions)."""
    out: set[str] = set()
    for rc in chain_commands(stage):
        sub = _PKG_INSTALL.get(rc.name)
        pos = rc.cmd.positional()
        if sub is None or not pos or pos[0].text != sub:
            continue
        for w in pos[1:]:
            out.add(re.split(r"[=<>~]", w.text, maxsplit=1)[0])
    return out


def _expose_ports(stage: Stage) -> list[int]:
    """TCP ports the stage chain EXPOSEs (nearest stage first, ranges by their first port)."""
    from batten.sources.dockerfile import expand_args

    env = stage_env(stage)
    out: list[int] = []
    for st in stage_chain(stage):
        for ins in st.instructions_named("EXPOSE"):
            for text, _raw, _sp in ins.words():
                port, _, proto = expand_args(text, env).partition("/")
                port = port.split("-", 1)[0]
                if port.isdigit() and proto.lower() in ("", "tcp") and int(port) not in out:
                    out.append(int(port))
    return out


def default_healthcheck(stage: Stage) -> Probe | NoProbe:
    """The probe for a stage from what batten knows: the image's tools (engine, installs,
    the image's own clients) and the ports the stage EXPOSEs."""
    repo, tag = image_key(stage)
    root = stage.root_image()
    return choose_probe(
        facts_for(root.raw if root is not None else None),
        name=repo.rsplit("/", 1)[-1],
        tag=tag,
        family=image_family(stage),
        installed=_installed(stage),
        ports=_expose_ports(stage),
        ports_from="from EXPOSE",
    )


@fixer(
    "df.healthcheck",
    title="Add a HEALTHCHECK",
    applicability=NEEDS_INPUT,
    explanation="""Adds a HEALTHCHECK before CMD/ENTRYPOINT that probes the service over HTTP on
    127.0.0.1. Check the command: the path, the port and the tool must exist in the image.""",
    params=(
        ParamSpec("healthcheck_cmd", "command that exits 0 when the service is healthy "
                                     "(default: derived from EXPOSE and the image's tools)",
              risk="a probe the image cannot run, or that asks the wrong port or path, marks a working container unhealthy"),
        ParamSpec("healthcheck_interval", "time between probes"),
        ParamSpec("healthcheck_timeout", "time a probe may take"),
        ParamSpec("healthcheck_start_period", "start-up time before failures count"),
        ParamSpec("healthcheck_retries", "consecutive failures before unhealthy"),
    ),
    site=StageSite,
)
def healthcheck(ctx: FixContext[StageSite]) -> FixResult:
    doc, stage = _doc(ctx), ctx.site.stage
    interval = ctx.value("healthcheck_interval").strip() or "30s"
    timeout = ctx.value("healthcheck_timeout").strip() or "5s"
    start = ctx.value("healthcheck_start_period").strip() or "10s"
    retries = ctx.value("healthcheck_retries").strip() or "3"
    for v in (interval, timeout, start):
        if not _DURATION.fullmatch(v):
            raise NoFix(f"{v!r} is not a duration (e.g. 30s, 1m30s)")
    if not retries.isdigit():
        raise NoFix(f"{retries!r} is not a whole number of retries")
    root = stage.root_image()
    if facts_for(root.raw if root is not None else None).has_own_healthcheck:
        raise NoFix(f"the base image {root.raw if root else ''} defines its own HEALTHCHECK, which this stage "
                    "inherits: a new one would override it")
    cmd = ctx.value("healthcheck_cmd").strip()
    if cmd:
        note = "runs the given command"
    else:
        probe = default_healthcheck(stage)
        if isinstance(probe, NoProbe):
            raise NoFix(f"needs input: {probe.reason}; give the probe with --set healthcheck_cmd=...")
        cmd, note = probe.dockerfile_cmd(), f"uses {probe.note}"
        ctx.values["healthcheck_cmd"] = cmd  # shown as the parameter's value in previews
        ctx.sources["healthcheck_cmd"] = "evidence" if probe.confirmed else "checklist"
    if "\n" in cmd or "\r" in cmd:
        raise NoFix("the health check command must be one line")
    line = (f"{doc.kw('HEALTHCHECK')} --interval={interval} --timeout={timeout} "
            f"--start-period={start} --retries={retries} {doc.kw('CMD')} {cmd}")
    edit = add_lines_to_stage(doc, stage, [line])
    explanation = ("Adds a HEALTHCHECK before CMD/ENTRYPOINT; it " + note + ". Check the path and "
                   "port: a probe that fails marks a working container unhealthy.")
    return FixResult([edit], explanation=explanation)


# ---------------------------------------------------------------------------------------------
# df.secret-mount
# ---------------------------------------------------------------------------------------------


def compose_secret_edits(ctx: FixContext, secret_id: str, env_name: str) -> list[Edit]:
    """The compose half of a secret mount: `build.secrets: [<secret_id>]` in every service that
    builds this Dockerfile, and a top-level secret taken from the environment variable the
    build used to receive (`secrets: <id>: environment: <NAME>`), so `docker compose build`
    keeps working with the same variable set."""
    from batten.fixers.compose_fixes import build_secret_edits

    df = ctx.finding.scope
    path = getattr(getattr(df, "source", None), "path", None) or ctx.finding.path
    if not path:
        return []
    return build_secret_edits(ctx.project.services_building(path), secret_id, env_name)


def _ref_re(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(rf"\$(?:{n}(?![A-Za-z0-9_])|\{{{n}(?=[}}:\-+?=#%/]))")


def _visible(df: DockerfileModel, stage: Stage, ins: Instruction, name: str) -> list[Instruction]:
    """Instructions that see an ENV/ARG `name` set by `ins` in `stage` and mention it (the
    file's reference index: the work does not grow with the file's length)."""
    after = df.position(ins)
    later = {id(st) for st in df.descendants(stage)} if ins.keyword == "ENV" else set()
    out = []
    for v in df.referencing(name):
        owner = df.stage_of(v)
        if (owner is stage and df.position(v) > after) or (owner is not None and id(owner) in later and v is not owner.from_instr):
            out.append(v)
    return out


_SYNTAX_OLD = re.compile(r"(?:docker\.io/)?docker/dockerfile:1\.(\d+)(?:\.\d+)?(-labs)?(@sha256:[0-9a-f]+)?")


def _syntax_edits(doc: DockerfileDoc) -> list[Edit]:
    """`# syntax=docker/dockerfile:1` as the first line (before `# escape=`/`# check=`), or an
    old 1.x syntax raised to 1 (secret mounts with env= need 1.10); NoFix when pinned by digest."""
    syn = doc.df.directives.get("syntax")
    if syn is None:
        # an insertion that replaces the first character: two secret fixes planned on the same
        # text overlap here, so the second is planned again once the directive exists
        return [doc.edit(0, 1, f"# syntax=docker/dockerfile:1{doc.nl}{doc.text[:1]}")]
    m = _SYNTAX_OLD.fullmatch(syn.value.strip())
    if m is None or int(m.group(1)) >= 10:
        return []
    if m.group(3):
        raise NoFix(f"the syntax directive pins docker/dockerfile 1.{m.group(1)} by digest: secret mounts with "
                    "env= need 1.10; raise it by hand")
    line = doc.text[syn.span.start : syn.span.end]
    at = line.rfind(syn.value)
    if at < 0:
        raise NoFix("the syntax directive is written in a way batten cannot edit: raise it to "
                    "docker/dockerfile:1 by hand")
    start = syn.span.start + at
    return [doc.edit(start, start + len(syn.value), "docker/dockerfile:1" + (m.group(2) or ""))]


_SECRET_EXPLANATION = """Removes the ARG/ENV and gives each RUN that uses it a
--mount=type=secret,...,env=NAME, so the value is only present while that RUN runs and never
lands in the image config or history. This changes the build: it must now be given the secret
(docker build --secret id=...,env=NAME, or compose build.secrets), and needs BuildKit. If the
application reads the variable at run time, pass it at run time instead."""


@fixer(
    "df.secret-mount",
    title="Pass the secret as a BuildKit secret mount",
    applicability=UNSAFE,
    risk="a RUN step that needs the value gets it only from the secret mount: builds without --secret fail",
    explanation=_SECRET_EXPLANATION,
    site=(PairSite, InstructionSite),
)
def secret_mount(ctx: FixContext[PairSite | InstructionSite]) -> FixResult:
    site = ctx.site
    if not isinstance(site, PairSite):
        raise NoFix(f"the credential is written inside the {site.ins.keyword} itself: take it out and pass it "
                    "with RUN --mount=type=secret by hand")
    doc, stage, ins, pair = _doc(ctx), site.stage, site.ins, site.pair
    df = doc.df
    name = pair.key
    ref = _ref_re(name)
    removals: list[tuple[Instruction, Pair]] = [(ins, pair)]
    visible: list[Instruction] = []
    if stage is None:  # a global ARG: stages see it where they declare `ARG NAME`
        if any(v.keyword == "FROM" and ref.search(v.args) for v in df.referencing(name)):
            raise NoFix(f"FROM uses {name}: an image reference cannot come from a secret mount")
        for st in df.stages:
            for i2, p2 in df.declarations(st, "ARG", name):
                if p2.value is None:
                    removals.append((i2, p2))
                    visible.extend(_visible(df, st, i2, name))
    else:
        # every declaration of the name in the stage goes: one left behind keeps the value in
        # the image (and its own finding would be fixed by these same edits)
        first = ins
        for i2, p2 in df.declarations(stage, ins.keyword, name):
            if not any(p2 is q or p2.span == q.span for _i, q in removals):
                removals.append((i2, p2))
                if i2.line < first.line:
                    first = i2
        visible = _visible(df, stage, first, name)
    removed = {id(i) for i, _p in removals}
    mounts: list[Instruction] = []
    for v in visible:
        if id(v) in removed:
            continue
        if v.keyword == "RUN":
            body = v.args + "".join(h.body for h in v.heredocs)
            if ref.search(body) and v not in mounts:
                mounts.append(v)
        elif v.keyword != "FROM" and ref.search(doc.text[v.span.start : v.span.end]):
            raise NoFix(f"{v.keyword} on line {v.line} uses {name} too and would lose its value: decide by hand "
                        "where that value comes from")
    edits: list[Edit] = []
    by_ins: dict[int, list[Pair]] = {}
    for i, p in removals:
        by_ins.setdefault(id(i), []).append(p)
    for i, _p in removals:
        gone = by_ins.pop(id(i), None)
        if gone is None:
            continue
        if len(gone) == len(i.pairs()):
            edits.append(delete_instruction(doc, i))
        elif len(gone) == 1:
            edits.extend(remove_pair(doc, i, gone[0].span))
        else:
            raise NoFix(f"{i.keyword} on line {i.line} declares {name} more than once beside other variables: "
                        "remove them by hand")
    sid = kebab(name)
    for run in mounts:
        off = run.args_span.start
        edits.append(doc.edit(off, off, f"--mount=type=secret,id={sid},env={name} "))
    if mounts:
        for s in _syntax_edits(doc):
            clash = next((e for e in edits if e.start == 0 and e.end > 0), None)
            if s.start == 0 and clash is not None:  # the removed line was the file's first
                edits.remove(clash)
                edits.append(doc.edit(0, clash.end, s.text[: -1] + clash.text))
            else:
                edits.append(s)
        edits.extend(compose_secret_edits(ctx, sid, name))
    secrets = tuple(v for v in {pair.value, pair.raw_value} if v)
    how = (f"{len(mounts)} RUN instruction(s) now mount it as secret {sid!r} (env {name})"
           if mounts else "no RUN uses it, so it is only removed")
    explanation = " ".join(_SECRET_EXPLANATION.split()) + f" Here {how}."
    return FixResult(edits, explanation=explanation, secrets=secrets)


# ---------------------------------------------------------------------------------------------
# package managers
# ---------------------------------------------------------------------------------------------


def _flag_after_subcommand(fix_id: str, title: str, sub: str, flag: str, explanation: str) -> FixerFn:
    """Register the safe fixer `fix_id`: `flag` right after the package manager's `sub` word."""

    def insert(ctx: FixContext[CommandSite]) -> list[Edit]:
        doc, rc = _doc(ctx), ctx.site.rc
        pos = rc.cmd.positional()
        if not pos or pos[0].text != sub:
            raise NoFix(f"the {rc.name} subcommand is not a plain {sub!r} word here")
        return [insert_after_word(doc, rc, pos[0], f" {flag}")]

    return fixer(fix_id, title=title, applicability=SAFE, explanation=explanation, site=CommandSite)(insert)


apt_no_recommends = _flag_after_subcommand(
    "df.apt-no-recommends", "Add --no-install-recommends", "install", "--no-install-recommends",
    """Adds --no-install-recommends after `install`: apt installs the packages asked for and their
    dependencies, not the recommended extras.""",
)
apk_no_cache = _flag_after_subcommand(
    "df.apk-no-cache", "Add --no-cache to apk add", "add", "--no-cache",
    """Adds --no-cache after `apk add`: apk fetches the index for this command and leaves nothing
    in /var/cache/apk.""",
)


@fixer(
    "df.pip-no-cache",
    title="Add --no-cache-dir to pip install",
    applicability=SAFE,
    explanation="""Adds --no-cache-dir after `pip install`, so downloaded wheels do not stay in
    the layer.""",
    site=CommandSite,
)
def pip_no_cache(ctx: FixContext[CommandSite]) -> list[Edit]:
    doc, rc = _doc(ctx), ctx.site.rc
    args = rc.cmd.args
    window = args[:2] if rc.name.startswith("pip") else args[2:3]
    w = next((x for x in window if x.text == "install"), None)
    if w is None:
        raise NoFix(f"`install` is not where {rc.name} takes its subcommand here")
    return [insert_after_word(doc, rc, w, " --no-cache-dir")]


_APT_CLEAN = "rm -rf /var/lib/apt/lists/*"


@fixer(
    "df.apt-lists-cleanup",
    title="Remove /var/lib/apt/lists in the same RUN",
    applicability=SAFE,
    explanation="""Appends rm -rf /var/lib/apt/lists/* to the RUN that installs the packages (in
    its own continuation style), so the package index does not stay in the layer.""",
    site=CommandSite,
)
def apt_lists_cleanup(ctx: FixContext[CommandSite]) -> list[Edit]:
    return _append_to_run(ctx, _APT_CLEAN)


def _append_to_run(ctx: FixContext[CommandSite], command: str) -> list[Edit]:
    """`command` appended to the RUN (or heredoc script) that holds the finding's command."""
    doc, ins, rc = _doc(ctx), ctx.site.ins, ctx.site.rc
    kind, hd = editable_site(rc)
    if kind == "heredoc":
        assert hd is not None
        return [heredoc_append(doc, hd, command)]
    return [append_command(doc, ins, command)]


# ---------------------------------------------------------------------------------------------
# df.remove-flag
# ---------------------------------------------------------------------------------------------

_CURL_ARG_SHORT = frozenset("bcCdDeEFHKmoPQrtTuUwxXyYzA")


def _word_span(doc: DockerfileDoc, rc: RunCommand, words: list[Word], a: int, b: int) -> Span:
    first = word_source(doc, rc, words[a])
    last = word_source(doc, rc, words[b])
    return Span(first.start, last.end)


@fixer(
    "df.remove-flag",
    title="Remove the flag that turns verification off",
    applicability=UNSAFE,
    risk="a download that relied on the flag (an invalid certificate, an untrusted repository) now fails",
    explanation="""Removes the option or variable that disables signature or TLS checks. The build
    may fail until the repository's signing key or the CA certificate it needs is installed: that
    failure is the check doing its job.""",
    site=(CommandSite, PairSite, InstructionSite),
)
def remove_flag(ctx: FixContext[CommandSite | PairSite | InstructionSite]) -> list[Edit]:
    doc, site = _doc(ctx), ctx.site
    if isinstance(site, PairSite):
        if site.ins.keyword not in ("ENV", "ARG"):
            raise NoFix(f"{site.ins.keyword} {site.pair.key} is not an ENV or ARG batten can remove")
        return remove_pair(doc, site.ins, site.pair.span)
    if not isinstance(site, CommandSite) or site.word is None:
        raise NoFix(f"the setting is in repository configuration this {site.ins.keyword} writes "
                    "(sslverify=0, gpgcheck=0): edit that text by hand")
    ins, rc, k = site.ins, site.rc, site.word
    editable_site(rc)
    words = rc.cmd.words
    w = words[k]
    t = w.text
    name = rc.name
    if name == "curl" and t.startswith("-") and not t.startswith("--"):
        cluster = t[1:]
        cut = next((i for i, c in enumerate(cluster) if c in _CURL_ARG_SHORT), len(cluster))
        if "k" not in cluster[:cut]:
            raise NoFix(f"in {t} the k is an option's argument, not curl's -k")
        rest = cluster[:cut].replace("k", "") + cluster[cut:]
        if rest:
            if w.raw != t:
                raise NoFix(f"{w.raw} is quoted or escaped: take the k out of it by hand")
            sp = word_source(doc, rc, w)
            return [doc.edit(sp.start, sp.end, "-" + rest)]
        return remove_token(doc, ins, word_source(doc, rc, w))
    if t == "--trusted-host":
        if k + 1 >= len(words):
            raise NoFix("--trusted-host has no host after it")
        return remove_token(doc, ins, _word_span(doc, rc, words, k, k + 1))
    if name == "git":
        if words[1:2] and words[1].text == "config":
            raise NoFix("`git config http.sslVerify false` is a setting of its own: remove the command by hand")
        if k >= 1 and words[k - 1].text == "-c" and "=" in t:
            return remove_token(doc, ins, _word_span(doc, rc, words, k - 1, k))
        raise NoFix(f"{t} is not given to git with -c: remove it by hand")
    if name in ("npm", "yarn", "pnpm") and t != "--strict-ssl=false":
        raise NoFix(f"`{name} config set strict-ssl false` is a setting of its own: remove the command by hand")
    if not t.startswith("-"):
        raise NoFix(f"{t!r} is not an option batten can remove on its own")
    return remove_token(doc, ins, word_source(doc, rc, w))


# ---------------------------------------------------------------------------------------------
# df.add-to-copy, df.cmd-json
# ---------------------------------------------------------------------------------------------

_COPY_FLAGS = frozenset({"chown", "chmod", "link", "exclude", "parents"})


@fixer(
    "df.add-to-copy",
    title="Use COPY instead of ADD",
    applicability=SAFE,
    explanation="""Replaces ADD with COPY for local files: the same copy, without ADD's archive
    extraction and URL fetching.""",
    site=InstructionSite,
)
def add_to_copy(ctx: FixContext[InstructionSite]) -> list[Edit]:
    doc, ins = _doc(ctx), ctx.site.ins
    if ins.keyword != "ADD":
        raise NoFix(f"{ins.keyword} is not ADD")
    other = next((f.name for f in ins.flags if f.name not in _COPY_FLAGS), None)
    if other is not None:
        raise NoFix(f"ADD --{other} has no COPY equivalent")
    srcs = ins.json[:-1] if ins.json is not None else [t for t, _r, _s in ins.words()][:-1]
    if any("$" in s for s in srcs):
        raise NoFix("a source is named by a variable, which may be an archive ADD extracts: decide by hand")
    raw = ins.raw_keyword
    new = "COPY" if raw.isupper() else "copy" if raw.islower() else "Copy"
    ks = ins.keyword_span
    return [doc.edit(ks.start, ks.end, new)]


@fixer(
    "df.cmd-json",
    title="Use the exec (JSON) form",
    applicability=SAFE,
    explanation="""Rewrites the arguments as a JSON array so the program runs as PID 1 and receives
    SIGTERM directly instead of through /bin/sh. Only offered when the command uses no shell
    syntax (variables, pipes, &&, redirections, globs).""",
    site=InstructionSite,
)
def cmd_json(ctx: FixContext[InstructionSite]) -> FixResult:
    doc, stage, ins = _doc(ctx), ctx.site.stage, ctx.site.ins
    if ins.keyword not in ("CMD", "ENTRYPOINT"):
        raise NoFix(f"{ins.keyword} is not CMD or ENTRYPOINT")
    if ins.json is not None:
        raise NoFix(f"the {ins.keyword} is in exec form already")
    if ins.heredocs or ins.flags:
        raise NoFix(f"the {ins.keyword} carries a heredoc or flags, which the exec form cannot hold")
    args = ins.args
    if not args.strip() or has_shell_syntax(args) or "\\" in args or doc.esc in args:
        raise NoFix("the command uses the shell (variables, pipes, &&, redirections, globs, escapes): in exec "
                    "form it would run without one")
    cmds = split_commands(args)
    if len(cmds) != 1 or cmds[0].redirects or not cmds[0].words:
        raise NoFix("the command is not one simple command: it needs the shell")
    if ins.keyword == "ENTRYPOINT" and isinstance(stage, Stage) and stage.instructions_named("CMD"):
        raise NoFix("the stage also has a CMD: an exec-form ENTRYPOINT would start receiving it as arguments")
    words = [w.text for w in cmds[0].words]
    new = json.dumps(words, ensure_ascii=False)
    span = ins.args_span
    explanation = ("Rewrites the arguments as a JSON array so the program runs as PID 1 and "
                   "receives SIGTERM directly instead of through /bin/sh.")
    if ins.end_line > ins.line:
        explanation += " The arguments were spread over continuation lines; they now sit on one line."
    return FixResult([doc.edit(span.start, span.end, new)], explanation=explanation)



# ---------------------------------------------------------------------------------------------
# Tier 2: package-manager flags and cleanup, useradd -l, EXPOSE casing, one HEALTHCHECK
# ---------------------------------------------------------------------------------------------


@fixer(
    "df.assume-yes",
    title="Add -y to the install command",
    applicability=SAFE,
    explanation="""Adds -y after the install subcommand, so the package manager does not stop to
    ask for a confirmation no one can give during a build.""",
    site=CommandSite,
)
def assume_yes(ctx: FixContext[CommandSite]) -> list[Edit]:
    doc, rc = _doc(ctx), ctx.site.rc
    pos = rc.cmd.positional()
    if not pos:
        raise NoFix(f"{rc.name} has no subcommand word to put -y after")
    return [insert_after_word(doc, rc, pos[0], " -y")]


@fixer(
    "df.pkg-clean",
    title="Clean the package manager's cache in the same RUN",
    applicability=SAFE,
    explanation="""Appends the package manager's own clean command (yum/dnf/microdnf clean all,
    zypper clean --all, yarn cache clean) to the RUN that installs, in its continuation style, so
    the cache does not stay in the layer.""",
    site=CommandSite,
)
def pkg_clean(ctx: FixContext[CommandSite]) -> list[Edit]:
    from batten.checks.dockerfile_rules import CLEAN_COMMANDS

    command = CLEAN_COMMANDS.get(ctx.finding.rule.id)
    if command is None:
        raise NoFix(f"no clean command is known for {ctx.finding.rule.id}")
    return _append_to_run(ctx, command)


@fixer(
    "df.useradd-no-log-init",
    title="Add -l (--no-log-init) to useradd",
    applicability=SAFE,
    explanation="""Adds -l to useradd: the user is created the same, without an entry in the
    lastlog and faillog files, which Docker would otherwise store as megabytes of zeros.""",
    site=CommandSite,
)
def useradd_no_log_init(ctx: FixContext[CommandSite]) -> list[Edit]:
    doc, rc = _doc(ctx), ctx.site.rc
    name = rc.cmd.name_word
    if name is None or rc.name != "useradd":
        raise NoFix("the command is not a plain useradd")
    long = any(w.text.startswith("--") for w in rc.cmd.args)
    return [insert_after_word(doc, rc, name, " --no-log-init" if long else " -l")]


@fixer(
    "df.expose-protocol-case",
    title="Write the EXPOSE protocol in lower case",
    applicability=SAFE,
    explanation="""Rewrites the protocol of the EXPOSE entry in lower case (80/TCP -> 80/tcp), the
    form BuildKit expects; the port and its meaning stay the same.""",
    site=WordSite,
)
def expose_protocol_case(ctx: FixContext[WordSite]) -> list[Edit]:
    doc, span = _doc(ctx), ctx.site.span
    if not ctx.finding.evidence.get("casing"):
        raise NoFix("only the protocol's casing has a safe fix; the port itself needs a person")
    word = doc.text[span.start:span.end]
    slash = word.rfind("/")
    if slash == -1 or not word[slash + 1:].isalpha():
        raise NoFix(f"{word!r} has no protocol written in letters to lower-case")
    return [doc.edit(span.start + slash + 1, span.end, word[slash + 1:].lower())]


@fixer(
    "df.single-healthcheck",
    title="Remove the HEALTHCHECK that a later one replaces",
    applicability=SAFE,
    explanation="""Deletes this HEALTHCHECK: a later HEALTHCHECK in the same stage replaces it, so
    the image behaves exactly as before.""",
    site=InstructionSite,
)
def single_healthcheck(ctx: FixContext[InstructionSite]) -> list[Edit]:
    return [delete_instruction(_doc(ctx), ctx.site.ins)]
