"""Rules over one Dockerfile (with the project at hand for cross-file facts).

USER, HEALTHCHECK and image hygiene are judged on the stages that run: the final stage, any
compose `build.target`, and the stages those build on. A builder stage running as root, or
leaving apt lists behind, ships nothing and is not reported.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from batten.checks.base import (
    RunCommand,
    account_options,
    artifact_only,
    effective_user,
    floating_tag,
    image_defines_healthcheck,
    is_secret_name,
    is_windows_stage,
    literal_secret_value,
    make,
    not_minimal_hint,
    registry_of,
    run_commands,
    runtime_chain,
    stage_chain,
    stage_env,
    stage_healthcheck,
    token_in,
    untrusted_registry,
)
from batten.checks.dockerignore import DockerIgnore
from batten.checks.sites import (
    CommandSite,
    FlagSite,
    ImageSite,
    InstructionSite,
    PairSite,
    StageSite,
    WordSite,
)
from batten.config import Config
from batten.model import Finding, Severity, Span
from batten.sanitize import clip
from batten.sources.dockerfile import DockerfileModel, ImageRef, Instruction, Stage
from batten.sources.project import Project

H = Severity.HIGH


class DfCtx:
    def __init__(self, df: DockerfileModel, project: Project | None, config: Config | None = None) -> None:
        self.df = df
        self.trusted = tuple(config.trusted_registries) if config is not None else ()
        self.project = project
        self.src = df.source
        self.runtime = project.runtime_stages(df) if project is not None else (
            [df.final_stage] if df.final_stage else []
        )
        self.shipped = runtime_chain(self.runtime)
        self.services = project.services_building(df.source.path) if project is not None else []
        self._cmds: dict[int, list[RunCommand]] = {}

    def cmds(self, ins: Instruction) -> list[RunCommand]:
        """The commands a RUN executes (computed once per instruction)."""
        got = self._cmds.get(id(ins))
        if got is None:
            got = self._cmds[id(ins)] = run_commands(ins)
        return got

    def loc(self, span: Span):
        return self.src.location(span)

    def at(self, ins: Instruction):
        """Location of an instruction's first line."""
        line_end = self.src.line_span(ins.line).end
        return self.src.location(Span(ins.span.start, max(ins.span.start, min(ins.span.end, line_end))))

    def stage_target(self, stage: Stage) -> str:
        return stage.name or f"stage {stage.index}"

    def finding(self, rule_id: str, message: str, span_or_ins: Span | Instruction, stage: Stage | None, **kw) -> Finding:
        loc = self.at(span_or_ins) if isinstance(span_or_ins, Instruction) else self.loc(span_or_ins)
        anchors = kw.pop("anchors", ())
        if stage is not None:
            anchors = (*anchors, stage.from_instr.line)
        return make(
            rule_id,
            message,
            loc,
            target=self.stage_target(stage) if stage is not None else None,
            target_kind="stage" if stage is not None else "file",
            anchors=anchors,
            subject=kw.pop("subject", StageSite(stage) if stage is not None else None),
            scope=self.df,
            **kw,
        )


def check_dockerfile(df: DockerfileModel, project: Project | None = None, config: Config | None = None) -> list[Finding]:
    ctx = DfCtx(df, project, config)
    out: list[Finding] = []
    for problem in df.problems:
        out.append(
            make("parse.error", problem.message, df.source.location_at(df.source.offset(problem.line, problem.column)),
                 scope=df)
        )
    if not df.stages:
        if not df.problems:
            out.append(make("parse.error", "no FROM instruction: not a Dockerfile Docker can build",
                            df.source.location_at(0), scope=df))
        return out
    for check in _CHECKS:
        out.extend(check(ctx))
    return out


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------


def _user(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.runtime:
        eu = effective_user(stage)
        base = stage.root_stage().base_resolved
        if eu.user is None:
            if eu.base_nonroot or artifact_only(stage):
                continue
            if stage.is_scratch or stage.root_stage().is_scratch:
                why = "FROM scratch runs as UID 0 unless USER is set"
            elif is_windows_stage(stage):
                why = f"the base image {base} runs as ContainerAdministrator"
            else:
                why = f"the base image {base} runs as root"
            yield ctx.finding(
                "user.missing",
                f"stage {ctx.stage_target(stage)!r} has no USER; {why}",
                stage.from_instr,
                stage,
                evidence={"base": base, "stage": stage.index},
            )
        elif eu.is_root and eu.instruction is not None:
            ins = eu.instruction
            where = "" if eu.stage is stage else f" (inherited from stage {ctx.stage_target(eu.stage)!r})"
            yield ctx.finding(
                "user.final-root",
                f"stage {ctx.stage_target(stage)!r} runs as {ins.args.strip()}{where}",
                ins,
                stage,
                evidence={"user": ins.args.strip(), "stage": stage.index},
                subject=StageSite(stage),
            )
        elif eu.instruction is not None and eu.stage is stage and not is_windows_stage(stage):
            # Windows accounts (ContainerUser) have no numeric id to switch to
            name = ins_user_name(eu.instruction)
            if name and not re.fullmatch(r"\d+(:\d+)?", name) and "$" not in name:
                yield ctx.finding(
                    "user.numeric",
                    f"USER {clip(name)} is a name; use the numeric UID:GID so runAsNonRoot checks can verify it",
                    eu.instruction,
                    stage,
                    evidence={"user": name},
                )


def ins_user_name(ins: Instruction) -> str:
    return ins.args.strip().strip('"').strip("'")


_USERADD = {"useradd", "adduser", "groupadd", "addgroup"}
def _user_ids(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("RUN"):
            for rc in ctx.cmds(ins):
                name = rc.name
                if name not in _USERADD:
                    continue
                cmd = rc.cmd
                operands = account_options(cmd.args, "any")[1]
                if name in ("adduser", "addgroup") and len(operands) >= 2:
                    continue  # `adduser user group` / `addgroup user group`: adds a member to a group
                is_group = name in ("groupadd", "addgroup")
                if is_group:
                    fixed = cmd.has_option("--gid", "g")
                else:
                    fixed = cmd.has_option("--uid", "u")
                if fixed:
                    continue
                what = "group" if is_group else "user"
                flag = "-g/--gid" if is_group else "-u/--uid"
                yield ctx.finding(
                    "user.unfixed-id",
                    f"{name} creates a {what} without {flag}: its id depends on the base image",
                    rc.span(),
                    stage,
                    evidence={"command": name},
                    subject=CommandSite(stage, ins, rc),
                )


def _sudo(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("RUN"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        for rc in ctx.cmds(ins):
            if "sudo" in rc.wrappers or rc.name == "sudo":
                yield ctx.finding("user.sudo", "RUN uses sudo", rc.span(), stage, subject=CommandSite(stage, ins, rc))


# ---------------------------------------------------------------------------------------------
# ports, health
# ---------------------------------------------------------------------------------------------


def _expose(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("EXPOSE"):
            for text, _raw, span in ins.words():
                port = text.split("/", 1)[0]
                if port == "22" or (port.count("-") == 1 and _in_range(port, 22)):
                    yield ctx.finding("ports.ssh-exposed", f"EXPOSE {text}: an SSH daemon in the image",
                                span, stage, subject=WordSite(stage, ins, text, span))


def _in_range(text: str, port: int) -> bool:
    a, _, b = text.partition("-")
    return a.isdigit() and b.isdigit() and int(a) <= port <= int(b)


def _healthcheck(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.runtime:
        if stage_healthcheck(stage) is not None:
            continue
        if ctx.services and all(svc.get("healthcheck") is not None for _cp, svc in ctx.services):
            continue  # every compose service running this image defines its own probe
        if is_windows_stage(stage) or artifact_only(stage):
            continue
        if image_defines_healthcheck(stage.root_stage().base_resolved):
            continue  # the base image's own HEALTHCHECK is inherited
        yield ctx.finding(
            "health.missing-dockerfile",
            f"stage {ctx.stage_target(stage)!r} has no HEALTHCHECK",
            stage.from_instr,
            stage,
        )


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


def _secrets(ctx: DfCtx) -> Iterator[Finding]:
    groups: list[tuple[Stage | None, list[Instruction]]] = [(None, ctx.df.global_args)]
    groups += [(st, [i for i in st.instructions if i.keyword in ("ARG", "ENV")]) for st in ctx.df.stages]
    for stage, instrs in groups:
        for ins in instrs:
            for pair in ins.pairs():
                secret_name = is_secret_name(pair.key)
                if secret_name:
                    yield ctx.finding(
                        "secret.arg-env",
                        f"{ins.keyword} {pair.key} looks like a secret; "
                        + ("build args are recorded in the image history"
                           if ins.keyword == "ARG" else "ENV values are stored in the image config"),
                        pair.key_span,
                        stage,
                        evidence={"name": pair.key, "keyword": ins.keyword},
                        subject=PairSite(stage, ins, pair),
                    )
                if pair.value_span is None or pair.value is None:
                    continue
                if secret_name and literal_secret_value(pair.value):
                    yield ctx.finding(
                        "secret.value-hardcoded",
                        f"{ins.keyword} {pair.key} has a literal value (masked) written in the Dockerfile",
                        pair.value_span,
                        stage,
                        secrets=(pair.value_span,),
                        evidence={"name": pair.key},
                        subject=PairSite(stage, ins, pair),
                    )
                    continue
                tok = token_in(pair.raw_value or "")
                if tok is not None:
                    label, sp = tok
                    vs = pair.value_span
                    yield ctx.finding(
                        "secret.value-hardcoded",
                        f"{ins.keyword} {pair.key} contains a {label} (masked)",
                        vs,
                        stage,
                        secrets=(Span(vs.start + sp.start, vs.start + sp.end),),
                        evidence={"name": pair.key},
                        subject=PairSite(stage, ins, pair),
                    )
    # credentials inside RUN lines (curl -u user:pass, connection strings, tokens)
    for ins in ctx.df.instructions_named("RUN"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        text = ctx.src.text[ins.span.start : ins.span.end]
        tok = token_in(text)
        if tok is not None:
            label, sp = tok
            span = Span(ins.span.start + sp.start, ins.span.start + sp.end)
            yield ctx.finding("secret.value-hardcoded", f"RUN contains a {label} (masked)", span, stage,
                        secrets=(span,), subject=InstructionSite(stage, ins))


_SECRET_FILE = re.compile(
    r"(?i)(^|/)(id_(rsa|dsa|ecdsa|ed25519)(\.pub)?|\.env(\..+)?|[^/]*\.pem|[^/]*\.key|[^/]*\.p12|[^/]*\.pfx|"
    r"[^/]*\.jks|\.npmrc|\.pypirc|\.netrc|\.git-credentials|[^/]*\.ovpn|credentials(\.json)?|"
    r"[^/]*secrets?(\.[a-z]+)?|service-account[^/]*\.json|\.htpasswd|\.dockercfg|\.docker/config\.json|"
    r"\.aws(/.*)?|\.ssh(/.*)?|\.kube/config|kubeconfig)$"
)
_PUBLIC_OK = re.compile(r"(?i)(\.pub$|\.env\.(example|sample|template|dist|defaults?)$|public[^/]*\.(pem|key)$|"
                        r"(cert|chain|fullchain|ca|ca-bundle|ca-certificates)[^/]*\.pem$)")


def _secret_files(ctx: DfCtx) -> Iterator[Finding]:
    context_dirs = _build_contexts(ctx)
    for stage in ctx.df.stages:
        for ins in stage.instructions:
            if ins.keyword not in ("COPY", "ADD") or ins.flag("from") is not None or ins.json is not None:
                continue
            words = ins.words()
            if ins.heredocs or len(words) < 2:
                continue
            for text, _raw, span in words[:-1]:
                if text.startswith(("http://", "https://", "git@")):
                    continue
                name = text.rstrip("/")
                if _SECRET_FILE.search(name) and not _PUBLIC_OK.search(name):
                    yield ctx.finding("secret.files-in-image",
                                f"{ins.keyword} {text} copies a credential file into the image",
                                span, stage, subject=WordSite(stage, ins, text, span))
                elif name in (".", "./", "*", "./*") or name.endswith("/.") or _context_dir(ctx, context_dirs, name):
                    whole = name in (".", "./", "*", "./*")
                    for ctx_dir, ignore in context_dirs:
                        leaked = _leaked_files(ctx, ctx_dir, name, ignore)
                        if leaked:
                            shown = ", ".join(leaked[:3]) + (" ..." if len(leaked) > 3 else "")
                            yield ctx.finding(
                                "secret.files-in-image",
                                f"{ins.keyword} {text} copies "
                                + ("the whole build context" if whole else "a directory of the build context")
                                + f", which holds {shown} (not excluded by .dockerignore)",
                                span, stage,
                                evidence={"files": leaked, "context": ctx_dir},
                                subject=WordSite(stage, ins, text, span),
                            )
                            break


def _context_dir(ctx: DfCtx, context_dirs: list[tuple[str, DockerIgnore]], name: str) -> bool:
    """`COPY src/ ...`: a directory inside one of the build contexts (walked like `COPY . .`)."""
    import os

    if ctx.project is None or "$" in name or any(c in name for c in "*?[") or name.startswith("/"):
        return False
    root = os.path.realpath(ctx.project.root)
    for ctx_dir, _ignore in context_dirs:
        path = os.path.realpath(os.path.join(root, ctx_dir, name))
        if path.startswith(root + os.sep) and os.path.isdir(path):
            return True
    return False


def _build_contexts(ctx: DfCtx) -> list[tuple[str, DockerIgnore]]:
    project = ctx.project
    if project is None or project.explicit:
        return []
    dirs: list[str] = []
    for _cp, svc in ctx.services:
        if svc.build is not None and svc.build.context is not None:
            dirs.append(svc.build.context)
    if not dirs:
        dirs.append(posixpath.dirname(ctx.df.source.path))
    out = []
    for d in dict.fromkeys(dirs):
        text = project.dockerignore_for(d)
        dfname = posixpath.basename(ctx.df.source.path)
        specific = project.dockerignores.get(posixpath.join(posixpath.dirname(ctx.df.source.path), dfname + ".dockerignore"))
        out.append((d, DockerIgnore(specific if specific is not None else (text or ""))))
    return out


def _leaked_files(ctx: DfCtx, ctx_dir: str, src: str, ignore: DockerIgnore, limit: int = 4000) -> list[str]:
    import os

    project = ctx.project
    assert project is not None
    base = os.path.join(project.root, ctx_dir) if ctx_dir else project.root
    sub = src.rstrip("/.*") if src not in (".", "./", "*", "./*") else ""
    top = os.path.join(base, sub) if sub else base
    found: list[str] = []
    seen = 0
    has_exceptions = any(negate for _regex, negate in ignore.rules)
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        # an excluded directory is skipped, unless a `!` exception may bring files under it back
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules", ".venv", "__pycache__")
                       and (has_exceptions or not ignore.excluded(f"{rel_dir}/{d}" if rel_dir else d, is_dir=True))]
        for fn in filenames:
            seen += 1
            if seen > limit:
                return found
            rel = f"{rel_dir}/{fn}" if rel_dir else fn
            if _SECRET_FILE.search(rel) and not _PUBLIC_OK.search(rel) and not ignore.excluded(rel):
                if fn.lower() in ("dockerfile", "containerfile"):
                    continue
                found.append(rel)
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------


def _images(ctx: DfCtx) -> Iterator[Finding]:
    names = {st.name.lower() for st in ctx.df.stages if st.name}
    for stage in ctx.df.stages:
        if stage.parent is not None or stage.is_scratch:
            continue
        base = stage.base_resolved.strip()
        if not base or base.lower() in names:
            continue
        ref = stage.image
        ins = stage.from_instr
        span = _base_span(ins, stage)
        if ref is None:
            if "$" in stage.base and "@" not in stage.base:
                # an ARG without a default names the image: whatever it is, only a digest fixes it
                yield ctx.finding("image.not-digest-pinned", f"FROM {stage.base} is not pinned by digest (the "
                                  "reference comes from a build argument)", span, stage,
                                  evidence={"image": stage.base}, subject=ImageSite(stage, None))
            continue
        yield from image_findings(ctx, ref, span, stage, runtime=stage in ctx.shipped)


def image_findings(ctx: DfCtx, ref: ImageRef, span: Span, stage: Stage, runtime: bool) -> Iterator[Finding]:
    text = str(ref.raw)
    if ref.digest is None and ref.tag is None:
        yield ctx.finding("image.untagged", f"FROM {text} has no tag (means :latest)", span, stage,
                    evidence={"image": text}, subject=ImageSite(stage, ref))
    elif ref.tag == "latest" and ref.digest is None:
        yield ctx.finding("image.latest", f"FROM {text} uses :latest", span, stage,
                    evidence={"image": text}, subject=ImageSite(stage, ref))
    elif floating_tag(ref.tag) and ref.digest is None:
        yield ctx.finding("image.latest", f"FROM {text} uses :{ref.tag}, a tag that moves like :latest", span, stage,
                          evidence={"image": text, "tag": ref.tag}, subject=ImageSite(stage, ref))
    elif ref.digest is None:
        yield ctx.finding("image.not-digest-pinned", f"FROM {text} is not pinned by digest", span, stage,
                    evidence={"image": text}, subject=ImageSite(stage, ref))
    if runtime:
        hint = not_minimal_hint(ref)
        if hint:
            yield ctx.finding("image.not-minimal", f"FROM {text} is a full OS image; consider {hint}", span, stage,
                        evidence={"image": text, "suggestion": hint}, subject=ImageSite(stage, ref))


def _base_span(ins: Instruction, stage: Stage) -> Span:
    for text, raw, span in ins.words():
        if raw == stage.base or text == stage.base:
            return span
    return ins.args_span


# ---------------------------------------------------------------------------------------------
# packages and downloads
# ---------------------------------------------------------------------------------------------


def _cache_mount(ins: Instruction, *targets: str) -> bool:
    for fl in ins.flags_named("mount"):
        opts = fl.options()
        if opts.get("type") in ("cache", "tmpfs") and any(opts.get("target", opts.get("dst", opts.get("destination", ""))).startswith(t) for t in targets):
            return True
    return False


def _pip_cache_mount(ins: Instruction) -> bool:
    """A cache/tmpfs mount on pip's cache: /root/.cache, a non-root user's ~/.cache(/pip), any */pip."""
    for fl in ins.flags_named("mount"):
        opts = fl.options()
        target = opts.get("target", opts.get("dst", opts.get("destination", ""))).rstrip("/")
        if opts.get("type") in ("cache", "tmpfs") and (target.endswith(("/.cache", "/pip")) or "/.cache/" in target):
            return True
    return False


def _packages(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        env = stage_env(stage)
        recommends_off = any(
            "Install-Recommends" in (i.args + "".join(h.body for h in i.heredocs)) and "false" in i.args.lower()
            for st in [stage] for i in st.instructions_named("RUN")
        )
        pip_nocache_env = (env.get("PIP_NO_CACHE_DIR") or "").lower() in ("1", "true", "yes", "on", "off", "0", "false")
        for ins in stage.instructions_named("RUN"):
            cmds = ctx.cmds(ins)
            all_text = " ".join(rc.script for rc in cmds)
            lists_cleaned = ("/var/lib/apt/lists" in all_text and "rm " in all_text) or any(
                rc.name in ("apt-get", "apt") and [w.text for w in rc.cmd.positional()[:1]] == ["dist-clean"]
                for rc in cmds
            )  # `apt-get dist-clean` (apt >= 2.7) empties /var/lib/apt/lists too
            for rc in cmds:
                name, cmd = rc.name, rc.cmd
                sub = cmd.positional()[0].text if cmd.positional() else ""
                if name in ("apt-get", "apt") and sub == "install" and not _apt_simulated(cmd):
                    if not recommends_off and not cmd.has_option("--no-install-recommends") and \
                            "Install-Recommends=false" not in rc.script and "Install-Recommends=0" not in rc.script:
                        yield ctx.finding("pkg.apt-no-recommends",
                                    f"{name} install without --no-install-recommends{_shown(rc)}",
                                    rc.span(), stage, subject=CommandSite(stage, ins, rc))
                    if not lists_cleaned and not _cache_mount(ins, "/var/lib/apt"):
                        yield ctx.finding("pkg.apt-lists-cleanup",
                                    f"{name} install leaves /var/lib/apt/lists in the layer{_shown(rc)}",
                                    rc.span(), stage, subject=CommandSite(stage, ins, rc))
                elif name == "apk" and sub == "add":
                    if not cmd.has_option("--no-cache") and not _cache_mount(ins, "/var/cache/apk", "/etc/apk/cache") \
                            and "/var/cache/apk" not in all_text:
                        yield ctx.finding("pkg.apk-no-cache", f"apk add without --no-cache{_shown(rc)}", rc.span(), stage,
                                    subject=CommandSite(stage, ins, rc))
                elif _is_pip_install(rc) and not (
                    cmd.has_option("--no-cache-dir")
                    or pip_nocache_env
                    or _pip_cache_mount(ins)
                    or "PIP_NO_CACHE_DIR" in rc.script
                ):
                    yield ctx.finding("pkg.pip-no-cache", f"pip install without --no-cache-dir{_shown(rc)}", rc.span(), stage,
                                subject=CommandSite(stage, ins, rc))


def _shown(rc: RunCommand, limit: int = 60) -> str:
    """`: <the command as written>` (short), so two findings of one rule in one stage read (and
    fingerprint) differently; nothing is shown when the command holds a credential."""
    text = " ".join(w.text for w in rc.cmd.words)
    if not text or token_in(text) is not None:
        return ""
    return ": " + (text if len(text) <= limit else text[: limit - 3] + "...")


def _apt_simulated(cmd) -> bool:
    """`apt-get install -s` (--simulate, --dry-run, --just-print, --no-act, --recon) installs nothing."""
    for w in cmd.args:
        t = w.text
        if t == "--":
            break
        if t in ("--simulate", "--dry-run", "--just-print", "--no-act", "--recon") or \
                re.fullmatch(r"-[qydfmbuVh]*s[qydfmbuVh]*", t):
            return True
    return False


def _is_pip_install(rc: RunCommand) -> bool:
    cmd = rc.cmd
    name = rc.name
    pos = [w.text for w in cmd.args]
    if re.fullmatch(r"pip[0-9.]*", name):
        return "install" in pos[:2] or (bool(pos) and pos[0] == "install")
    if re.fullmatch(r"python[0-9.]*", name) and len(pos) >= 3 and pos[0] == "-m" and re.fullmatch(r"pip[0-9.]*", pos[1]):
        return pos[2] == "install"
    return False


_UNVERIFIED = {
    "apk": ("--allow-untrusted",),
    "apt-get": ("--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories"),
    "apt": ("--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories"),
    "yum": ("--nogpgcheck",),
    "dnf": ("--nogpgcheck",),
    "microdnf": ("--nogpgcheck",),
    "tdnf": ("--nogpgcheck",),
    "zypper": ("--no-gpg-checks",),
    "rpm": ("--nodigest", "--nosignature", "--noverify", "--nofiledigest"),
}
_TLS_ENV = {
    "PIP_TRUSTED_HOST": None,
    "PYTHONHTTPSVERIFY": "0",
    "NODE_TLS_REJECT_UNAUTHORIZED": "0",
    "NPM_CONFIG_STRICT_SSL": "false",
    "GIT_SSL_NO_VERIFY": None,
    "CURL_INSECURE": None,
    "REQUESTS_CA_BUNDLE": "",
}


def _verification(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions:
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        if ins.keyword == "RUN":
            for rc in ctx.cmds(ins):
                name, cmd = rc.name, rc.cmd
                for flag in _UNVERIFIED.get(name, ()):
                    for k, w in enumerate(cmd.words):
                        if w.text == flag:
                            yield ctx.finding("pkg.unverified", f"{name} {flag} installs unverified packages",
                                        rc.word_span(k), stage, evidence={"flag": flag}, subject=CommandSite(stage, ins, rc, k))
                yield from _tls_in_command(ctx, stage, ins, rc)
            text = ins.args
            for m in re.finditer(r"(?i)(?<!http\.)sslverify\s*=\s*(0|false|no)\b|gpgcheck\s*=\s*0\b", text):
                rid = "tls.disabled" if "ssl" in m.group().lower() else "pkg.unverified"
                yield ctx.finding(rid, f"repository config sets {m.group()}", ins.args_subspan(m.start(), m.end()),
                            stage, subject=InstructionSite(stage, ins))
        elif ins.keyword in ("ENV", "ARG"):
            for p in ins.pairs():
                key = p.key.upper()
                if key in _TLS_ENV:
                    want = _TLS_ENV[key]
                    val = (p.value or "").lower()
                    if want is None and key != "REQUESTS_CA_BUNDLE" and (val not in ("", "0", "false") or key == "PIP_TRUSTED_HOST"):
                        if key == "PIP_TRUSTED_HOST" and not val:
                            continue
                        yield ctx.finding("tls.disabled", f"{ins.keyword} {p.key} turns TLS verification off",
                                    p.span, stage, subject=PairSite(stage, ins, p))
                    elif want and val == want:
                        yield ctx.finding("tls.disabled", f"{ins.keyword} {p.key}={p.value} turns TLS verification off",
                                    p.span, stage, subject=PairSite(stage, ins, p))


# curl short options that take an argument: in `-dkey=1` the k belongs to -d's value
_CURL_ARG_OPTS = set("bcCdDeEFHKmoPQrtTuUwxXyYzA")


def _curl_cluster_has_k(cluster: str) -> bool:
    for ch in cluster[1:]:
        if ch == "k":
            return True
        if ch in _CURL_ARG_OPTS:
            return False
    return False


def _tls_in_command(ctx: DfCtx, stage: Stage | None, ins: Instruction, rc: RunCommand) -> Iterator[Finding]:
    name, cmd = rc.name, rc.cmd
    hits: list[tuple[int, str]] = []
    if name == "curl":
        for k, w in enumerate(cmd.words):
            t = w.text
            if t == "--insecure" or (t.startswith("-") and not t.startswith("--") and _curl_cluster_has_k(t)):
                hits.append((k, t))
    elif name == "wget":
        hits = [(k, w.text) for k, w in enumerate(cmd.words) if w.text == "--no-check-certificate"]
    elif re.fullmatch(r"pip[0-9.]*", name) or name.startswith("python"):
        hits = [(k, w.text) for k, w in enumerate(cmd.words) if w.text == "--trusted-host" or w.text.startswith("--trusted-host=")]
    elif name == "git":
        words = [w.text for w in cmd.words]
        for k, t in enumerate(words):
            if t.lower().replace(" ", "") in ("http.sslverify=false", "http.sslverify=0"):
                hits.append((k, t))
            if t.lower() == "http.sslverify" and k + 1 < len(words) and words[k + 1].lower() in ("false", "0"):
                hits.append((k, f"{t} {words[k + 1]}"))
    elif name in ("npm", "yarn", "pnpm"):
        words = [w.text for w in cmd.words]
        for k, t in enumerate(words):
            if t in ("strict-ssl", "strict_ssl", "--strict-ssl=false") and (t.endswith("false") or (k + 1 < len(words) and words[k + 1] == "false")):
                hits.append((k, t))
    for k, t in hits:
        yield ctx.finding("tls.disabled", f"{name} {t} turns TLS verification off", rc.word_span(k), stage,
                    evidence={"flag": t}, subject=CommandSite(stage, ins, rc, k))


# ---------------------------------------------------------------------------------------------
# ADD, CMD, VOLUME
# ---------------------------------------------------------------------------------------------

_ARCHIVE = re.compile(r"(?i)\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma|gz|bz2|xz)$")
_REMOTE = re.compile(r"(?i)^(https?://|git@|git://|ssh://)")


def _add(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("ADD"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        words = [w for w in (ins.json if ins.json is not None else [t for t, _r, _s in ins.words()])]
        srcs = words[:-1] if len(words) > 1 else []
        if ins.heredocs:
            srcs = []
        remote = [s for s in srcs if _REMOTE.match(s)]
        for s in remote:
            if s.lower().startswith(("http://", "https://")) and ins.flag("checksum") is None:
                yield ctx.finding("add.remote-url", f"ADD {s} downloads without --checksum", ins, stage,
                            evidence={"url": s}, subject=InstructionSite(stage, ins))
        if remote or any(_ARCHIVE.search(s) for s in srcs):
            continue
        if ins.flag("checksum") is not None or ins.flag("keep-git-dir") is not None:
            continue
        if not srcs and not ins.heredocs:
            continue
        yield ctx.finding("add.use-copy", "ADD copies local files; COPY does the same without surprises",
                    ins.keyword_span, stage, subject=InstructionSite(stage, ins))


def _cmd_form(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.runtime:
        for st in [stage]:
            for ins in st.instructions:
                if ins.keyword not in ("CMD", "ENTRYPOINT") or ins.json is not None or not ins.args.strip():
                    continue
                if is_windows_stage(stage):
                    continue
                yield ctx.finding("cmd.json-form", f"{ins.keyword} in shell form: signals do not reach the process",
                            ins, stage, subject=InstructionSite(stage, ins))


def _volume_socket(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("VOLUME"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        items = ins.json if ins.json is not None else [t for t, _r, _s in ins.words()]
        for item in items:
            if item.endswith(("docker.sock", "containerd.sock", "podman.sock")):
                yield ctx.finding("mount.docker-socket", f"VOLUME {item}: the engine socket as a volume", ins, stage)


# ---------------------------------------------------------------------------------------------
# Tier 2: identity, ports, health, images
# ---------------------------------------------------------------------------------------------


def _stage_of(ctx: DfCtx, ins: Instruction) -> Stage | None:
    return ctx.df.stages[ins.stage] if ins.stage >= 0 else None


def _useradd_log(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("RUN"):
            for rc in ctx.cmds(ins):
                if rc.name != "useradd" or rc.cmd.has_option("--no-log-init", "l"):
                    continue
                opts = account_options(rc.cmd.args, "useradd")[0]
                uid = opts.get("--uid") or opts.get("-u")
                if uid is None or not uid.isdigit() or len(uid) <= 5:
                    continue  # hadolint's threshold: 100000 and up
                yield ctx.finding("user.useradd-sparse-log",
                            f"useradd -u {uid} without -l writes a lastlog entry sized for UID {uid} into the layer",
                            rc.span(), stage, evidence={"uid": uid}, subject=CommandSite(stage, ins, rc))


def _chpasswd(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("RUN"):
            for rc in ctx.cmds(ins):
                if rc.name == "chpasswd":
                    yield ctx.finding("user.chpasswd", "RUN sets an account password with chpasswd (the value is not shown)",
                                rc.span(), stage, subject=CommandSite(stage, ins, rc))


_EXPOSE_WORD = re.compile(r"(?P<a>\d+)(?:-(?P<b>\d+))?(?:/(?P<proto>[A-Za-z]+))?")


def _expose_invalid(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("EXPOSE"):
        stage = _stage_of(ctx, ins)
        for text, _raw, span in ins.words():
            if "$" in text:
                continue  # an ARG decides
            m = _EXPOSE_WORD.fullmatch(text)
            problem = None
            casing = False
            if m is None:
                problem = ("a host mapping: EXPOSE takes the container port only" if ":" in text
                           else "not a port, a range or port/protocol")
            else:
                a, b = int(m.group("a")), int(m.group("b")) if m.group("b") else None
                proto = m.group("proto")
                if a > 65535 or (b is not None and b > 65535):
                    problem = "out of range (0-65535)"
                elif b is not None and b < a:
                    problem = "a range that ends before it starts"
                elif proto is not None and proto.lower() not in ("tcp", "udp", "sctp"):
                    problem = f"unknown protocol {proto!r} (tcp, udp or sctp)"
                elif proto is not None and proto != proto.lower():
                    problem, casing = "the protocol is written in upper case", True
            if problem is not None:
                yield ctx.finding("ports.invalid", f"EXPOSE {text}: {problem}", span, stage,
                            evidence={"port": text, "casing": casing}, subject=WordSite(stage, ins, text, span))


def _health_multiple(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.df.stages:
        hcs = stage.instructions_named("HEALTHCHECK")
        for ins in hcs[:-1]:
            yield ctx.finding("health.multiple",
                        f"HEALTHCHECK on line {ins.line} is replaced by the one on line {hcs[-1].line}",
                        ins, stage, evidence={"kept": hcs[-1].line}, subject=InstructionSite(stage, ins))


_TARGETPLATFORM = ("$TARGETPLATFORM", "${TARGETPLATFORM}")


def _platform_flag(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.df.stages:
        fl = stage.from_instr.flag("platform")
        if fl is None or fl.value is None:
            continue
        value = fl.value.strip()
        if value in _TARGETPLATFORM:
            why = "is the default (redundant)"
        elif "$" in value:
            continue  # $BUILDPLATFORM and other ARGs: chosen at build time
        else:
            why = "fixes the stage to one platform whatever the build asks for"
        yield ctx.finding("image.platform-flag", f"FROM --platform={value} {why}", fl.span, stage,
                    evidence={"platform": value}, subject=FlagSite(stage, fl))


def _untrusted_registry(ctx: DfCtx) -> Iterator[Finding]:
    if not ctx.trusted:
        return
    names = {st.name.lower() for st in ctx.df.stages if st.name}
    for stage in ctx.df.stages:
        ref = stage.image
        if stage.parent is not None or ref is None or stage.base_resolved.strip().lower() in names:
            continue
        if untrusted_registry(ref, ctx.trusted):
            yield ctx.finding("image.untrusted-registry",
                        f"FROM {ref.raw} comes from {registry_of(ref)}, not a trusted registry",
                        _base_span(stage.from_instr, stage), stage, evidence={"image": ref.raw,
                                                                              "registry": registry_of(ref)})


# ---------------------------------------------------------------------------------------------
# Tier 2: package managers
# ---------------------------------------------------------------------------------------------


def _sub(rc: RunCommand) -> str:
    pos = rc.cmd.positional()
    return pos[0].text if pos else ""


def _piped_from(cmds: list[RunCommand], k: int, names: set[str]) -> bool:
    """True when command k reads a pipe from one of `names` (`yes | apt-get install`)."""
    rc = cmds[k]
    for j in range(k - 1, -1, -1):
        prev = cmds[j]
        if prev.script is not rc.script:
            continue
        return prev.whole.separator_after in ("|", "|&") and prev.name in names
    return False


_YES = {
    "apt-get": (("install",), ("--yes", "y"), ("--assume-yes", None), ("--quiet=2", None)),
    "apt": (("install",), ("--yes", "y"), ("--assume-yes", None)),
    "yum": (("install", "groupinstall", "localinstall", "reinstall"), ("--assumeyes", "y")),
    "dnf": (("install", "groupinstall", "localinstall", "reinstall"), ("--assumeyes", "y")),
    "zypper": (("install", "in"), ("--no-confirm", "y"), ("--non-interactive", "n")),
}
_YES_RULE = {"apt-get": "pkg.apt-yes", "apt": "pkg.apt-yes", "yum": "pkg.yum-yes", "dnf": "pkg.dnf-yes",
             "zypper": "pkg.zypper-yes"}


def _assume_yes(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.df.stages:
        conf_cache: list[str] = []

        def conf(stage: Stage = stage, cache: list[str] = conf_cache) -> str:
            """The RUN text of the chain (apt/yum configuration written by an earlier RUN), lazily."""
            if not cache:
                cache.append(" ".join(i.args for st in stage_chain(stage) for i in st.instructions_named("RUN")).lower())
            return cache[0]

        for ins in stage.instructions_named("RUN"):
            cmds = ctx.cmds(ins)
            for k, rc in enumerate(cmds):
                spec = _YES.get(rc.name)
                if spec is None or _sub(rc) not in spec[0]:
                    continue
                cmd = rc.cmd
                if any(cmd.has_option(lo, sh) for lo, sh in spec[1:]):
                    continue
                if rc.name in ("apt-get", "apt"):
                    if any(w.text in ("-qq", "-yqq", "-qqy") for w in cmd.args) or _apt_simulated(cmd) \
                            or "assume-yes" in conf():
                        continue
                elif "assumeyes" in conf():
                    continue
                if _piped_from(cmds, k, {"yes", "echo", "printf"}):
                    continue
                flag = "-n or -y" if rc.name == "zypper" else "-y"
                yield ctx.finding(_YES_RULE[rc.name], f"{rc.name} {_sub(rc)} without {flag}{_shown(rc)}", rc.span(), stage,
                            subject=CommandSite(stage, ins, rc))


def _apt_not_apt_get(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("RUN"):
        stage = _stage_of(ctx, ins)
        for rc in ctx.cmds(ins):
            if rc.name == "apt" and rc.cmd.args:
                yield ctx.finding("pkg.apt-not-apt-get", f"apt {_sub(rc) or rc.cmd.args[0].text}: use apt-get in scripts",
                            rc.span(), stage, subject=CommandSite(stage, ins, rc))


# package manager -> (install subcommands, rule, clean command, what else counts as cleaned)
_CLEAN = {
    "yum": (("install", "groupinstall", "localinstall", "reinstall", "update", "upgrade"), "pkg.yum-clean",
            "yum clean all", ("/var/cache/yum",)),
    "dnf": (("install", "groupinstall", "localinstall", "reinstall", "update", "upgrade"), "pkg.dnf-clean",
            "dnf clean all", ("/var/cache/dnf", "/var/cache/yum")),
    "microdnf": (("install", "update", "upgrade", "reinstall"), "pkg.microdnf-clean", "microdnf clean all",
                 ("/var/cache/yum", "/var/cache/dnf")),
    "zypper": (("install", "in", "update", "up", "dist-upgrade", "dup"), "pkg.zypper-clean", "zypper clean --all",
               ("/var/cache/zypp",)),
    "yarn": (("install", ""), "pkg.yarn-clean", "yarn cache clean", (".cache/yarn", "/usr/local/share/.cache")),
}
CLEAN_COMMANDS = {rid: command for _subs, rid, command, _paths in _CLEAN.values()}


def _cleaned(name: str, cmds: list[RunCommand], ins: Instruction, paths: tuple[str, ...]) -> bool:
    for rc in cmds:
        sub = _sub(rc)
        if rc.name == name and (sub in ("clean", "cc") or (name == "yarn" and sub == "cache"
                                                          and "clean" in [w.text for w in rc.cmd.args])):
            return True
        if rc.name == "rm" and any(p in w.text for w in rc.cmd.args for p in paths):
            return True
    if name == "yarn" and any(rc.name == "yarn" and rc.cmd.has_option("--cache-folder") for rc in cmds):
        return True
    return _cache_mount(ins, *paths) or any(
        opts.get("type") in ("cache", "tmpfs") and any(p in opts.get("target", opts.get("dst", "")) for p in paths)
        for opts in (fl.options() for fl in ins.flags_named("mount")))


def _pkg_clean(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("RUN"):
            cmds = ctx.cmds(ins)
            done: set[str] = set()
            for rc in cmds:
                spec = _CLEAN.get(rc.name)
                if spec is None or rc.name in done:
                    continue
                subs, rid, command, paths = spec
                sub = _sub(rc)
                if sub not in subs or (rc.name == "yarn" and sub == "" and any(
                        not w.text.startswith("--") or w.text in ("--version", "--help") for w in rc.cmd.args)):
                    continue
                if _cleaned(rc.name, cmds, ins, paths):
                    continue
                what = f"{rc.name} {sub}".strip()
                yield ctx.finding(rid, f"{what} leaves its cache in the layer (no {command}){_shown(rc)}", rc.span(),
                            stage, evidence={"command": command}, subject=CommandSite(stage, ins, rc))
                done.add(rc.name)  # one finding per RUN and manager: the fix appends one clean command


_INDEX_UPDATE = {"apt-get": "update", "apt": "update", "apk": "update"}
_HARMLESS = {"set", "echo", "true", ":", "export", "printf"}


def _update_alone(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("RUN"):
        stage = _stage_of(ctx, ins)
        cmds = ctx.cmds(ins)
        updates = [rc for rc in cmds if _INDEX_UPDATE.get(rc.name) == _sub(rc) != ""]
        if not updates:
            continue
        others = [rc for rc in cmds if rc not in updates and rc.name not in _HARMLESS]
        if others:
            continue  # something in the same RUN uses the index (or may: a script)
        rc = updates[0]
        yield ctx.finding("pkg.update-alone", f"RUN {rc.name} update alone: a later install uses a stale cached index",
                    rc.span(), stage, subject=CommandSite(stage, ins, rc))


def _dist_upgrade(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.shipped:
        for ins in stage.instructions_named("RUN"):
            for rc in ctx.cmds(ins):
                sub = _sub(rc)
                if (rc.name in ("apt-get", "apt") and sub in ("dist-upgrade", "full-upgrade")) or \
                        (rc.name == "zypper" and sub in ("dist-upgrade", "dup")):
                    yield ctx.finding("pkg.dist-upgrade", f"{rc.name} {sub} upgrades the whole distribution", rc.span(),
                                stage, subject=CommandSite(stage, ins, rc))


# ---------------------------------------------------------------------------------------------
# Tier 2: unpinned packages (report only; the fix is a version the image really has)
# ---------------------------------------------------------------------------------------------

_VALUE_OPTS = {
    "apt": {"-o", "-t", "-c", "--option", "--target-release", "--default-release", "--config-file"},
    "apk": {"-X", "--repository", "-t", "--virtual", "--repositories-file", "-p", "--root", "--arch",
            "--keys-dir", "--cache-dir"},
    "pip": {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
            "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
            "--upgrade-strategy", "--trusted-host", "--platform", "--python-version", "--implementation",
            "--abi", "--only-binary", "--no-binary", "--progress-bar", "--cert", "--client-cert", "--proxy",
            "--retries", "--timeout", "--log", "--cache-dir", "--global-option", "--install-option",
            "--config-settings", "-C", "--report", "--exists-action", "--python"},
    "npm": {"--prefix", "--registry", "--cache", "-w", "--workspace", "--omit", "--include", "--loglevel",
            "--userconfig", "--tag", "--before", "--location"},
    "gem": {"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "--source", "-s", "--platform"},
    "go": {"-o", "-C", "-tags", "-ldflags", "-gcflags", "-mod", "-modfile", "-p", "-pkgdir", "-toolexec"},
    "rpm": {"--setopt", "--enablerepo", "--disablerepo", "--installroot", "--releasever", "-x", "--exclude",
            "--repo", "--repofrompath", "-c", "--config", "--forcearch", "--downloaddir", "-r",
            "--from"},
}


def _operands(rc: RunCommand, family: str, after: int) -> list[str]:
    """The operands after the subcommand word at index `after` of args (option values skipped)."""
    out: list[str] = []
    args = rc.cmd.args[after + 1:]
    opts = _VALUE_OPTS[family]
    k = 0
    while k < len(args):
        t = args[k].text
        k += 1
        if t == "--":
            out.extend(w.text for w in args[k:])
            break
        if t.startswith("-") and len(t) > 1:
            if "=" not in t and t in opts:
                k += 1
            continue
        out.append(t)
    return out


def _sub_index(rc: RunCommand, subs: tuple[str, ...]) -> int | None:
    for k, w in enumerate(rc.cmd.args):
        if w.text in subs:
            return k
        if not w.text.startswith("-"):
            return None
    return None


_LOCAL = re.compile(r"^(\.{1,2}$|\.{0,2}/|~|[a-z+]+://|git\+|file:)|\.(deb|apk|rpm|whl|gem|tgz|tar\.gz|zip)$")
_RPM_VERSION = re.compile(r"-\d|[=<>]")
_FLOATING = {"latest", "master", "main", "head", "next"}


def _pip_pinned(p: str) -> bool:
    return any(op in p for op in ("==", ">=", "<=", "~=", "!=", "<", ">", "@"))


def _npm_pinned(p: str) -> bool:
    at = p.rfind("@")
    return at > 0 and p[at + 1:].lower() not in _FLOATING and bool(p[at + 1:])


def _go_pinned(p: str) -> bool:
    return "@" in p and p.rsplit("@", 1)[1].lower() not in _FLOATING


def _unpinned(rc: RunCommand) -> tuple[str, list[str]] | None:
    """(rule id, unpinned packages) of an install command, or None."""
    name = rc.name
    if name in ("apt-get", "apt"):
        k = _sub_index(rc, ("install",))
        if k is None or _apt_simulated(rc.cmd):
            return None
        rid, family, pinned = "pkg.pin-apt", "apt", (lambda p: "=" in p)
    elif name == "apk":
        k = _sub_index(rc, ("add",))
        rid, family, pinned = "pkg.pin-apk", "apk", (lambda p: any(c in p for c in "=~<>"))
    elif _is_pip_install(rc):
        k = next((i for i, w in enumerate(rc.cmd.args) if w.text == "install"), None)
        if rc.cmd.has_option("--constraint", "c") or rc.cmd.has_option("--no-deps"):
            return None
        rid, family, pinned = "pkg.pin-pip", "pip", _pip_pinned
    elif name == "npm":
        k = _sub_index(rc, ("install", "i", "add", "isntall"))
        rid, family, pinned = "pkg.pin-npm", "npm", _npm_pinned
    elif name == "gem":
        k = _sub_index(rc, ("install",))
        if rc.cmd.has_option("--version", "v"):
            return None
        rid, family, pinned = "pkg.pin-gem", "gem", (lambda p: ":" in p)
    elif name == "go":
        k = _sub_index(rc, ("install",))
        rid, family, pinned = "pkg.pin-go", "go", _go_pinned
    elif name in ("yum", "dnf", "microdnf", "zypper", "tdnf"):
        k = _sub_index(rc, ("install", "in") if name == "zypper" else ("install", "reinstall"))
        rid, family, pinned = "pkg.pin-rpm", "rpm", (lambda p: bool(_RPM_VERSION.search(p)))
    else:
        return None
    if k is None:
        return None
    ops = _operands(rc, family, k)
    if family == "pip" and rc.cmd.has_option("--upgrade", "U"):
        ops = [p for p in ops if p.lower() not in ("pip", "setuptools", "wheel")]
    bad = [p for p in ops if p and "$" not in p and "`" not in p and not p.startswith("@")
           and not _LOCAL.search(p) and not pinned(p)]
    return (rid, bad) if bad else None


def _pins(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("RUN"):
        stage = _stage_of(ctx, ins)
        for rc in ctx.cmds(ins):
            got = _unpinned(rc)
            if got is None:
                continue
            rid, pkgs = got
            shown = ", ".join(pkgs[:5]) + (f" and {len(pkgs) - 5} more" if len(pkgs) > 5 else "")
            evidence: dict[str, Any] = {"packages": pkgs}
            if stage is not None:  # the image whose package database may say which versions are in use
                root = stage.root_stage()
                if root.image is not None and "$" not in root.base_resolved:
                    evidence["base"] = root.base_resolved
            yield ctx.finding(rid, f"{rc.name} installs {shown} without a fixed version", rc.span(), stage,
                        evidence=evidence, subject=CommandSite(stage, ins, rc))


# ---------------------------------------------------------------------------------------------
# Tier 2: pipes without pipefail
# ---------------------------------------------------------------------------------------------

_INTERPRETERS = re.compile(r"^(sh|bash|ash|dash|zsh|ksh|mksh|python[0-9.]*|perl|ruby|node|php)$")
_NEVER_FAILS = {"echo", "printf", "yes", "true", ":"}


def _pipefail_shell(stage: Stage, memo: dict[int, str | None]) -> str | None:
    """`pipefail` when a SHELL in the chain sets it, `other` for a non-POSIX SHELL, else None
    (memoised per stage: a chain of stages is walked once)."""
    if id(stage) in memo:
        return memo[id(stage)]
    shells = stage.instructions_named("SHELL")
    if shells:
        js = shells[-1].json or []
        if any("pipefail" in a for a in js):
            got: str | None = "pipefail"
        elif js and js[0].replace("\\", "/").rsplit("/", 1)[-1].lower() not in _SHELL_NAMES:
            got = "other"
        else:
            got = None
    elif stage.parent is not None and stage.parent is not stage:
        memo[id(stage)] = None  # a cycle ends here
        got = _pipefail_shell(stage.parent, memo)
    else:
        got = None
    memo[id(stage)] = got
    return got


_SHELL_NAMES = {"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"}


def _case_pattern(cmds: list[RunCommand], rc: RunCommand) -> bool:
    if rc.name == "case":
        return True
    prev = None
    for c in cmds:
        if c is rc:
            break
        if c.script is rc.script:
            prev = c
    return prev is not None and prev.whole.separator_after in (";;", ";&", ";;&")


def _pipefail(ctx: DfCtx) -> Iterator[Finding]:
    memo: dict[int, str | None] = {}
    for stage in ctx.df.stages:  # parents come first: the memo fills in order
        if _pipefail_shell(stage, memo) is not None:
            continue
        for ins in stage.instructions_named("RUN"):
            text = ins.args + "".join(h.body for h in ins.heredocs)
            if "pipefail" in text or (ins.json is not None and ins.json[:1] and
                                      ins.json[0].rsplit("/", 1)[-1] not in _SHELL_NAMES):
                continue
            cmds = ctx.cmds(ins)
            if not any(rc.whole.separator_after in ("|", "|&") for rc in cmds) or is_windows_stage(stage):
                continue
            k = 0
            while k < len(cmds):
                rc = cmds[k]
                if rc.whole.separator_after not in ("|", "|&"):
                    k += 1
                    continue
                # the pipeline: rc and the following commands of the same script up to its end
                chain = [rc]
                j = k + 1
                while j < len(cmds):
                    nxt = cmds[j]
                    j += 1
                    if nxt.script is not rc.script:
                        continue
                    chain.append(nxt)
                    if nxt.whole.separator_after not in ("|", "|&"):
                        break
                k = j
                if _case_pattern(cmds, rc):
                    continue  # `case $x in a | b)`: alternatives, not a pipe
                producers = chain[:-1]
                if all(p.name in _NEVER_FAILS for p in producers):
                    continue
                runs = next((c for c in chain[1:] if _INTERPRETERS.match(c.name)), None)
                names = " | ".join(c.name for c in chain)
                if runs is not None:
                    yield ctx.finding("shell.pipefail",
                                f"RUN pipes {producers[0].name} into {runs.name} without pipefail: a failed "
                                "download still runs and the build carries on", rc.span(), stage,
                                severity=H, evidence={"pipeline": names, "interpreter": runs.name},
                                subject=CommandSite(stage, ins, rc))
                else:
                    yield ctx.finding("shell.pipefail", f"RUN pipeline {names} without pipefail: only the last "
                                "command's failure fails the build", rc.span(), stage,
                                evidence={"pipeline": names}, subject=CommandSite(stage, ins, rc))


_CHECKS = (
    _user,
    _user_ids,
    _sudo,
    _expose,
    _healthcheck,
    _secrets,
    _secret_files,
    _images,
    _packages,
    _verification,
    _add,
    _cmd_form,
    _volume_socket,
    _useradd_log,
    _chpasswd,
    _expose_invalid,
    _health_multiple,
    _platform_flag,
    _untrusted_registry,
    _assume_yes,
    _apt_not_apt_get,
    _pkg_clean,
    _update_alone,
    _dist_upgrade,
    _pins,
    _pipefail,
)
