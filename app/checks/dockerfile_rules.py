"""Rules over one Dockerfile (with the project at hand for cross-file facts).

USER, HEALTHCHECK and image hygiene are judged on the stages that run: the final stage, any
compose `build.target`, and the stages those build on. A builder stage running as root, or
leaving apt lists behind, ships nothing and is not reported.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from batten.checks.base import (
    RunCommand,
    account_options,
    artifact_only,
    effective_user,
    is_root_user,
    is_secret_name,
    is_windows_stage,
    literal_secret_value,
    make,
    not_minimal_hint,
    run_commands,
    runtime_chain,
    stage_env,
    stage_healthcheck,
    token_in,
)
from batten.checks.dockerignore import DockerIgnore
from batten.model import Finding, Span
from batten.sources.dockerfile import DockerfileModel, ImageRef, Instruction, Stage
from batten.sources.project import Project


class DfCtx:
    def __init__(self, df: DockerfileModel, project: Project | None) -> None:
        self.df = df
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
            subject=kw.pop("subject", stage),
            scope=self.df,
            **kw,
        )


def check_dockerfile(df: DockerfileModel, project: Project | None = None) -> list[Finding]:
    ctx = DfCtx(df, project)
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
                subject=stage,
            )
        elif eu.instruction is not None and eu.stage is stage and not is_windows_stage(stage):
            # Windows accounts (ContainerUser) have no numeric id to switch to
            name = ins_user_name(eu.instruction)
            if name and not re.fullmatch(r"\d+(:\d+)?", name) and "$" not in name:
                yield ctx.finding(
                    "user.numeric",
                    f"USER {name} is a name; use the numeric UID:GID so runAsNonRoot checks can verify it",
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
                    subject=(stage, ins, rc),
                )


def _sudo(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("RUN"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        for rc in ctx.cmds(ins):
            if "sudo" in rc.wrappers or rc.name == "sudo":
                yield ctx.finding("user.sudo", "RUN uses sudo", rc.span(), stage, subject=(stage, ins, rc))


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
                                span, stage, subject=(stage, ins, span))


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
                        subject=(stage, ins, pair),
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
                        subject=(stage, ins, pair),
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
                        subject=(stage, ins, pair),
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
                        secrets=(span,), subject=(stage, ins, None))


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
                                span, stage, subject=(stage, ins, text))
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
                                subject=(stage, ins, text),
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
        if ref is None:
            continue  # unresolved $VAR: the build decides
        ins = stage.from_instr
        span = _base_span(ins, stage)
        yield from image_findings(ctx, ref, span, stage, runtime=stage in ctx.shipped)


def image_findings(ctx: DfCtx, ref: ImageRef, span: Span, stage: Stage, runtime: bool) -> Iterator[Finding]:
    text = str(ref.raw)
    if ref.digest is None and ref.tag is None:
        yield ctx.finding("image.untagged", f"FROM {text} has no tag (means :latest)", span, stage,
                    evidence={"image": text}, subject=(stage, ref))
    elif ref.tag == "latest" and ref.digest is None:
        yield ctx.finding("image.latest", f"FROM {text} uses :latest", span, stage,
                    evidence={"image": text}, subject=(stage, ref))
    elif ref.digest is None:
        yield ctx.finding("image.not-digest-pinned", f"FROM {text} is not pinned by digest", span, stage,
                    evidence={"image": text}, subject=(stage, ref))
    if runtime:
        hint = not_minimal_hint(ref)
        if hint:
            yield ctx.finding("image.not-minimal", f"FROM {text} is a full OS image; consider {hint}", span, stage,
                        evidence={"image": text, "suggestion": hint}, subject=(stage, ref))


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
                                    rc.span(), stage, subject=(stage, ins, rc))
                    if not lists_cleaned and not _cache_mount(ins, "/var/lib/apt"):
                        yield ctx.finding("pkg.apt-lists-cleanup",
                                    f"{name} install leaves /var/lib/apt/lists in the layer{_shown(rc)}",
                                    rc.span(), stage, subject=(stage, ins, rc))
                elif name == "apk" and sub == "add":
                    if not cmd.has_option("--no-cache") and not _cache_mount(ins, "/var/cache/apk", "/etc/apk/cache") \
                            and "/var/cache/apk" not in all_text:
                        yield ctx.finding("pkg.apk-no-cache", f"apk add without --no-cache{_shown(rc)}", rc.span(), stage,
                                    subject=(stage, ins, rc))
                elif _is_pip_install(rc) and not (
                    cmd.has_option("--no-cache-dir")
                    or pip_nocache_env
                    or _pip_cache_mount(ins)
                    or "PIP_NO_CACHE_DIR" in rc.script
                ):
                    yield ctx.finding("pkg.pip-no-cache", f"pip install without --no-cache-dir{_shown(rc)}", rc.span(), stage,
                                subject=(stage, ins, rc))


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
                                        rc.word_span(k), stage, evidence={"flag": flag}, subject=(stage, ins, rc, k))
                yield from _tls_in_command(ctx, stage, ins, rc)
            text = ins.args
            for m in re.finditer(r"(?i)(?<!http\.)sslverify\s*=\s*(0|false|no)\b|gpgcheck\s*=\s*0\b", text):
                rid = "tls.disabled" if "ssl" in m.group().lower() else "pkg.unverified"
                yield ctx.finding(rid, f"repository config sets {m.group()}", ins.args_subspan(m.start(), m.end()),
                            stage, subject=(stage, ins, None))
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
                                    p.span, stage, subject=(stage, ins, p))
                    elif want and val == want:
                        yield ctx.finding("tls.disabled", f"{ins.keyword} {p.key}={p.value} turns TLS verification off",
                                    p.span, stage, subject=(stage, ins, p))


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
                    evidence={"flag": t}, subject=(stage, ins, rc, k))


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
                            evidence={"url": s}, subject=(stage, ins))
        if remote or any(_ARCHIVE.search(s) for s in srcs):
            continue
        if ins.flag("checksum") is not None or ins.flag("keep-git-dir") is not None:
            continue
        if not srcs and not ins.heredocs:
            continue
        yield ctx.finding("add.use-copy", "ADD copies local files; COPY does the same without surprises",
                    ins.keyword_span, stage, subject=(stage, ins))


def _cmd_form(ctx: DfCtx) -> Iterator[Finding]:
    for stage in ctx.runtime:
        for st in [stage]:
            for ins in st.instructions:
                if ins.keyword not in ("CMD", "ENTRYPOINT") or ins.json is not None or not ins.args.strip():
                    continue
                if is_windows_stage(stage):
                    continue
                yield ctx.finding("cmd.json-form", f"{ins.keyword} in shell form: signals do not reach the process",
                            ins, stage, subject=(stage, ins))


def _volume_socket(ctx: DfCtx) -> Iterator[Finding]:
    for ins in ctx.df.instructions_named("VOLUME"):
        stage = ctx.df.stages[ins.stage] if ins.stage >= 0 else None
        items = ins.json if ins.json is not None else [t for t, _r, _s in ins.words()]
        for item in items:
            if item.endswith(("docker.sock", "containerd.sock", "podman.sock")):
                yield ctx.finding("mount.docker-socket", f"VOLUME {item}: the engine socket as a volume", ins, stage)


def _user_root_words(text: str) -> bool:
    return is_root_user(text)


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
)
