"""Rules over resolved compose services (merge keys, extends and override files applied).

Every finding points at the line that causes it (inside an anchor or an override file if that
is where the value is written) or, for something missing, at the service's key. Compose files
without `version:` get every check.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from batten.checks.base import (
    DANGEROUS_CAPS,
    caps_dropped_all,
    device_severity,
    effective_user,
    floating_tag,
    image_default_nonroot,
    image_default_root_known,
    image_defines_healthcheck,
    is_root_user,
    is_secret_name,
    literal_secret_value,
    make,
    norm_cap,
    not_minimal_hint,
    registry_of,
    stage_healthcheck,
    token_in,
    untrusted_registry,
)
from batten.checks.sites import NamedValueSite, ServiceSite, ValueSite
from batten.config import Config
from batten.model import Finding, Location, Severity, Span
from batten.sanitize import clip
from batten.sources.compose import (
    ComposeProject,
    ComposeValue,
    Service,
    parse_port,
    parse_volume,
    tmpfs_entries,
    truthy,
    value_dir,
)
from batten.sources.dockerfile import ImageRef
from batten.sources.project import Project


class SvcCtx:
    def __init__(self, svc: Service, cp: ComposeProject, project: Project | None,
                 config: Config | None = None) -> None:
        self.svc = svc
        self.trusted = tuple(config.trusted_registries) if config is not None else ()
        self.cp = cp
        self.project = project
        self.stage = project.service_stage(svc) if project is not None else None

    def key_loc(self) -> Location:
        return self.svc.location()

    def finding(self, rule_id: str, message: str, where: ComposeValue | None, **kw) -> Finding:
        """A finding at `where` (a value), or at the service key when `where` is None."""
        loc = None
        at_key = kw.pop("at_key", False)
        if where is not None:
            loc = where.location(key=at_key)
        if loc is None:
            loc = self.key_loc()
        return make(
            rule_id,
            message,
            loc,
            target=self.svc.name,
            target_kind="service",
            anchors=(self.svc.location().line,) if self.svc.file.path == loc.path else (),
            subject=kw.pop("subject", ServiceSite(self.svc)),
            scope=self.cp,
            **kw,
        )


def check_compose(cp: ComposeProject, project: Project | None = None, config: Config | None = None) -> list[Finding]:
    out: list[Finding] = []
    for svc in cp.services.values():
        ctx = SvcCtx(svc, cp, project, config)
        for check in _CHECKS:
            out.extend(check(ctx))
    out.extend(_network_isolation(cp))
    out.extend(_duplicate_ports(cp))
    out.extend(_shared_volumes(cp))
    out.extend(_invalid(cp))
    return out


def _invalid(cp: ComposeProject) -> Iterator[Finding]:
    """compose.invalid: each file (included ones too) against the Compose Specification's schema."""
    for cf in cp.all_files():
        for p in cf.schema_problems():
            yield make("compose.invalid", p.message, Location(cf.path, p.line, p.column), scope=cp,
                       evidence={"path": p.path, **({"key": p.key} if p.key else {}),
                                 **({"suggestion": p.suggestion} if p.suggestion else {})})


def _items(v: ComposeValue | None) -> list[ComposeValue]:
    if v is None:
        return []
    if v.is_seq:
        return list(v.data)
    if v.is_scalar and v.data is not None:
        return [v]
    return []


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------


def _user(ctx: SvcCtx) -> Iterator[Finding]:
    user = ctx.svc.get("user")
    if user is not None and (user.text or user.interpolated):
        if not user.text:
            return  # `user: ${PUID}` with no value here: decided where it runs
        if is_root_user(user.text):
            yield ctx.finding("compose.user-root", f"service {ctx.svc.name!r} sets user: {user.text}", user)
        return
    if ctx.svc.build is not None:
        if ctx.stage is None:
            return  # Dockerfile not found or remote context: cannot tell
        df, stage = ctx.stage
        eu = effective_user(stage)
        if not eu.is_root:
            return
        why = (f"its Dockerfile {df.source.path} (stage {stage.name or stage.index}) "
               + ("has no USER" if eu.user is None else f"ends with USER {eu.user}"))
        yield ctx.finding("compose.user-unset", f"service {ctx.svc.name!r} has no user: and {why}", None,
                    evidence={"dockerfile": df.source.path, "stage": stage.name or stage.index})
        return
    image = ctx.svc.image
    if not image:
        return
    if image_default_nonroot(image):
        return
    if image_default_root_known(image):
        yield ctx.finding("compose.user-unset",
                          f"service {ctx.svc.name!r} has no user: and image {image} runs as root by default "
                          "(a Docker Official Image without USER)", None,
                          evidence={"image": image, "image_inspected": False, "default_user": "root"})
        return
    # not inspected: the image may well define a USER; a claim either way would be a guess
    yield ctx.finding("compose.user-unset",
                      f"service {ctx.svc.name!r} has no user: and the default user of image {image} is unknown "
                      "(not inspected; scan --live reads it)", None, severity=Severity.MEDIUM,
                      evidence={"image": image, "image_inspected": False, "default_user": "unknown"})


# ---------------------------------------------------------------------------------------------
# privileges
# ---------------------------------------------------------------------------------------------


_OPT_SEP = re.compile(r"[:=]")


def _privileges(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    priv = svc.get("privileged")
    if truthy(priv):
        yield ctx.finding("priv.privileged", f"service {svc.name!r} runs privileged", priv)
    cap_drop = svc.get("cap_drop")
    drops = [i.text for i in _items(cap_drop)]
    if not caps_dropped_all(drops):
        yield ctx.finding("caps.not-dropped", f"service {svc.name!r} keeps Docker's default capabilities (no cap_drop: [ALL])",
                    cap_drop, at_key=True)
    for item in _items(svc.get("cap_add")):
        cap = norm_cap(item.text)
        if cap in DANGEROUS_CAPS:
            yield ctx.finding("caps.dangerous-added", f"service {svc.name!r} adds capability {cap}", item,
                        evidence={"cap": cap}, subject=ValueSite(svc, item))
    sec = svc.get("security_opt")
    opts = _items(sec)
    nnp = False
    for item in opts:
        t = item.text.strip().lower().replace(" ", "")
        parts = _OPT_SEP.split(t, maxsplit=1)
        key = parts[0]
        val = parts[1] if len(parts) > 1 else ""
        if key == "no-new-privileges" and val in ("", "true", "1"):
            nnp = True
        elif key == "seccomp" and val == "unconfined":
            yield ctx.finding("seccomp.unconfined", f"service {svc.name!r} disables seccomp", item, subject=ValueSite(svc, item))
        elif key == "apparmor" and val == "unconfined":
            yield ctx.finding("apparmor.unconfined", f"service {svc.name!r} disables AppArmor", item, subject=ValueSite(svc, item))
        elif key == "label" and val == "disable":
            yield ctx.finding("selinux.disabled", f"service {svc.name!r} disables SELinux labelling", item,
                        subject=ValueSite(svc, item))
    if not nnp:
        yield ctx.finding("priv.no-new-privileges", f"service {svc.name!r} does not set no-new-privileges", sec,
                    at_key=True)
    for key, rid in (("pid", "ns.host-pid"), ("ipc", "ns.host-ipc"), ("uts", "ns.host-uts"),
                     ("userns_mode", "ns.host-userns"), ("network_mode", "ns.host-network")):
        v = svc.get(key)
        if v is not None and v.text.lower() == "host":
            yield ctx.finding(rid, f"service {svc.name!r} sets {key}: host", v, at_key=True)


# ---------------------------------------------------------------------------------------------
# filesystem
# ---------------------------------------------------------------------------------------------

_SOCKETS = re.compile(r"(docker|containerd|podman|crio|cri-dockerd)\.sock$")
# control sockets that are root-equivalent too (read-only mounts do not stop connect())
_CONTROL_SOCKETS = re.compile(r"(^|/)libvirt-sock(-ro)?$|^/(var/)?run/(dbus|udev|libvirt)(/|$)")
# TLS private keys a reverse proxy keeps (Traefik's ACME store)
_KEY_STORES = re.compile(r"(^|/)acme\.json$")
_SENSITIVE_EXACT = {
    "/", "/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/root",
    "/var", "/home", "/run", "/var/run", "/var/lib", "/var/log", "/opt", "/srv", "/media", "/mnt", "/selinux",
}
_SENSITIVE_PREFIX = ("/etc/", "/proc/", "/sys/", "/boot/", "/root/", "/usr/", "/lib/", "/lib64/", "/bin/",
                     "/sbin/", "/var/lib/docker", "/var/lib/kubelet", "/var/lib/containerd", "/dev/")
_BENIGN = {"/etc/localtime", "/etc/timezone", "/usr/share/zoneinfo", "/etc/hosts", "/etc/resolv.conf",
           "/etc/ssl/certs", "/etc/ca-certificates", "/usr/local/share/ca-certificates", "/dev/null",
           "/dev/shm", "/etc/machine-id"}
_HOME_SECRETS = re.compile(r"(^~|\$\{?HOME\}?|^/home/[^/]+|^/root)/\.(ssh|aws|docker|kube|gnupg|config/gcloud)(/|$)")


def _filesystem(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    ro = svc.get("read_only")
    if not truthy(ro):
        yield ctx.finding("fs.rootfs-writable", f"service {svc.name!r} has a writable root filesystem (no read_only: true)",
                    ro, at_key=True)
    for path, opts, item in tmpfs_entries(svc.get("tmpfs")):
        lowered = {o.lower() for o in opts}
        missing = [o for o in ("noexec", "nosuid") if o not in lowered]
        enabled = [o for o in ("exec", "suid", "dev") if o in lowered]
        if missing or enabled:
            what = ", ".join([f"allows {o}" for o in enabled] + [f"lacks {o}" for o in missing])
            yield ctx.finding("fs.tmpfs-noexec", f"tmpfs {clip(path)} {what}", item, evidence={"path": path}, subject=ValueSite(svc, item))
    for item in _items(svc.get("volumes")):
        vol = parse_volume(item)
        if vol is None or vol.type not in ("bind", "volume") or not vol.source:
            continue
        src = vol.source
        if vol.type == "volume" and not src.startswith("/"):
            continue
        norm = src.rstrip("/") or "/"
        if _SOCKETS.search(norm) or norm in ("/var/run", "/run", "/"):
            note = " (read-only does not make it safe)" if vol.read_only else ""
            what = " (the host's root, engine socket included)" if norm == "/" else ""
            yield ctx.finding("mount.docker-socket", f"service {svc.name!r} mounts {src}{what}{note}", item,
                              evidence={"source": src}, subject=ValueSite(svc, item))
            continue
        if _CONTROL_SOCKETS.search(norm):
            yield ctx.finding("mount.sensitive-host-path",
                              f"service {svc.name!r} mounts {src}, a host daemon's control socket or runtime "
                              "directory (D-Bus, udev, libvirt)"
                              + (" (read-only does not make it safe)" if vol.read_only else ""), item,
                              evidence={"source": src, "read_only": vol.read_only, "socket": True},
                              subject=ValueSite(svc, item))
            continue
        if _KEY_STORES.search(norm):
            yield ctx.finding("mount.sensitive-host-path",
                              f"service {svc.name!r} mounts {src}, which holds TLS private keys", item,
                              evidence={"source": src, "read_only": vol.read_only, "keys": True},
                              subject=ValueSite(svc, item))
            continue
        if norm in ("/etc/resolv.conf", "/etc/hosts") and not vol.read_only:
            yield ctx.finding("mount.sensitive-host-path",
                              f"service {svc.name!r} mounts the host's {norm} read-write (it can redirect the "
                              "host's name resolution)", item,
                              evidence={"source": src, "read_only": False}, subject=ValueSite(svc, item))
            continue
        if norm in _BENIGN or any(norm.startswith(b + "/") for b in _BENIGN):
            continue
        if norm in _SENSITIVE_EXACT or norm.startswith(_SENSITIVE_PREFIX) or _HOME_SECRETS.search(src):
            credentials = _HOME_SECRETS.search(src) or norm == "/root" or norm.startswith("/root/")
            if vol.read_only and not credentials:
                # a read-only system path is the catalogue's remedy (co.mount-read-only; docker-bench
                # 5.6 checks read-write mounts); credential stores leak even read-only
                continue
            mode = "read-only" if vol.read_only else "read-write"
            yield ctx.finding("mount.sensitive-host-path", f"service {svc.name!r} mounts host path {src} {mode}", item,
                        evidence={"source": src, "read_only": vol.read_only}, subject=ValueSite(svc, item))


# ---------------------------------------------------------------------------------------------
# resources
# ---------------------------------------------------------------------------------------------


def _positive(v: ComposeValue | None) -> bool:
    if v is None or v.data is None:
        return False
    t = v.text.strip().lower()
    if not t or (v.interpolated and not t):
        return False
    if t.startswith("-"):
        return False  # pids_limit: -1 means unlimited
    m = re.match(r"^([0-9.]+)", t)
    if not m:
        return bool(t)  # an unresolved ${VAR}: trust it
    try:
        return float(m.group(1)) > 0
    except ValueError:
        return True


def _resources(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    limits = svc.get("deploy", "resources", "limits")
    if not (_positive(svc.get("mem_limit")) or _positive(limits.get("memory") if limits else None)):
        yield ctx.finding("limits.memory", f"service {svc.name!r} has no memory limit", None)
    if not (_positive(svc.get("cpus")) or _positive(svc.get("cpu_quota")) or svc.get("cpuset") is not None
            or _positive(limits.get("cpus") if limits else None)):
        yield ctx.finding("limits.cpu", f"service {svc.name!r} has no CPU limit", None)
    pl = svc.get("pids_limit")
    if not (_positive(pl) or _positive(limits.get("pids") if limits else None)):
        yield ctx.finding("limits.pids", f"service {svc.name!r} has no PID limit", pl, at_key=True)
    res = svc.get("deploy", "resources", "reservations")
    if res is None and not _positive(svc.get("mem_reservation")):
        yield ctx.finding("limits.reservations", f"service {svc.name!r} reserves no resources", None)


# ---------------------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------------------


def _ports(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    mode = svc.get("network_mode")
    if mode is not None and mode.text in ("host", "none"):
        return
    for item in _items(svc.get("ports")):
        p = parse_port(item)
        if p is None:
            continue
        ip = (p.host_ip or "").strip("[]")
        if ip in ("", "0.0.0.0", "::"):
            if item.missing_vars and item.raw is not None:
                what = f"{clip(item.raw)} (set by ${{{clip(', '.join(item.missing_vars))}}} where it runs)"
            else:
                what = clip(f"{p.published or 'a random port'}->{p.target}/{p.protocol}")
            yield ctx.finding("ports.bind-all-interfaces",
                              f"service {svc.name!r} publishes {what} on all interfaces",
                              item, evidence={"published": p.published, "target": p.target}, subject=ValueSite(svc, item))
        low = [n for n in p.published_ports if 0 < n < 1024]
        if low:
            yield ctx.finding("ports.privileged", f"service {svc.name!r} publishes privileged host port {low[0]}", item,
                        evidence={"port": low[0]}, subject=ValueSite(svc, item))


def _service_networks(svc: Service) -> list[str]:
    mode = svc.get("network_mode")
    if mode is not None and mode.text:
        return []
    nets = svc.get("networks")
    if nets is None or nets.data is None:
        return ["default"]
    if nets.is_seq:
        return [i.text for i in nets.data if i.text]
    if nets.is_map:
        return list(nets.data)
    return ["default"]


def _publishes(svc: Service) -> bool:
    return any(parse_port(i) is not None for i in _items(svc.get("ports")))


def _network_isolation(cp: ComposeProject) -> Iterator[Finding]:
    if len(cp.services) < 2:
        return
    nets = cp.networks
    members: dict[str, list[Service]] = {}
    for svc in cp.services.values():
        for n in _service_networks(svc):
            members.setdefault(n, []).append(svc)
    for svc in cp.services.values():
        if _publishes(svc):
            continue
        mode = svc.get("network_mode")
        if mode is not None and mode.text:
            continue
        for n in _service_networks(svc):
            nv = nets.get(n)
            if nv is not None and truthy(nv.get("internal")):
                continue
            exposed = [o.name for o in members.get(n, []) if o is not svc and _publishes(o)]
            if exposed:
                ctx = SvcCtx(svc, cp, None)
                yield ctx.finding(
                    "network.not-isolated",
                    f"service {svc.name!r} publishes no port but shares network {n!r} (not internal) "
                    f"with {', '.join(sorted(exposed))}",
                    None,
                    evidence={"network": n, "exposed": sorted(exposed)},
                )
                break


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


def _secrets(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    env = svc.get("environment")
    if env is not None and env.is_map:
        for key, v in env.data.items():
            raw = v.raw if v.raw is not None else v.text
            if v.node is None:
                continue
            if v.key_node is v.node and raw is not None:  # list form `- KEY=value`: the value is after '='
                raw = raw.partition("=")[2] if "=" in raw else raw.partition(":")[2]
            value_span = _value_span(v, key)
            if is_secret_name(key) and v.data is not None and literal_secret_value(raw):
                yield ctx.finding("secret.value-hardcoded",
                            f"service {svc.name!r} sets {key} to a literal value (masked)", v,
                            secrets=(value_span,) if value_span else (), evidence={"name": key},
                            subject=NamedValueSite(svc, key, v))
                continue
            tok = token_in(raw or "")
            if tok is not None and value_span is not None:
                label, _sp = tok
                yield ctx.finding("secret.value-hardcoded", f"service {svc.name!r} {key} contains a {label} (masked)", v,
                            secrets=(value_span,), evidence={"name": key}, subject=NamedValueSite(svc, key, v))
    yield from _command_secrets(ctx)
    yield from _env_file_secrets(ctx)
    args = svc.get("build", "args")
    if args is not None and args.is_map:
        for key, v in args.data.items():
            if is_secret_name(key):
                yield ctx.finding("secret.arg-env",
                            f"service {svc.name!r} passes {key} as a build arg; it is recorded in the image history",
                            v, at_key=True, evidence={"name": key}, subject=NamedValueSite(svc, key, v))


# options of servers and clients that take a password on the command line
_PASSWORD_FLAGS = re.compile(r"^--?(requirepass|masterauth|password|passwd|pass|auth|secret|token|api-key|apikey)$")


def _command_secrets(ctx: SvcCtx) -> Iterator[Finding]:
    """`command: redis-server --requirepass s3cret` (string or list form): a literal on the command
    line is in `docker inspect`, `ps` and the compose file."""
    svc = ctx.svc
    for key in ("command", "entrypoint"):
        v = svc.get(key)
        if v is None or v.file is None:
            continue
        items = list(v.data) if v.is_seq else [v] if v.is_scalar and v.data is not None else []
        words: list[tuple[str, ComposeValue]] = []
        for item in items:
            if not item.is_scalar or item.data is None:
                continue
            if v.is_seq:
                words.append((item.text, item))
            else:
                words.extend((w, item) for w in item.text.split())
        for k, (word, item) in enumerate(words):
            flag, eq, value = word.partition("=")
            if not _PASSWORD_FLAGS.match(flag):
                continue
            if not eq:
                if k + 1 >= len(words):
                    continue
                value, item = words[k + 1][0], words[k + 1][1]
            if not value or value.startswith("-") or not literal_secret_value(value):
                continue
            span = _find_in(item, value)
            yield ctx.finding("secret.value-hardcoded",
                              f"service {svc.name!r} passes a literal {flag.lstrip('-')} on its {key} (masked)",
                              item, secrets=(span,) if span else (), evidence={"name": flag, "key": key},
                              subject=NamedValueSite(svc, key, item))


def _find_in(item: ComposeValue, value: str) -> Span | None:
    """The span of `value` inside the scalar `item` as written."""
    sp = item.span
    if sp is None or item.file is None:
        return None
    text = item.file.source.text
    at = text.find(value, sp.start, sp.end)
    return Span(at, at + len(value)) if at != -1 else sp


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


def _env_files(svc: Service) -> list[str]:
    v = svc.get("env_file")
    out: list[str] = []
    for item in (list(v.data) if v is not None and v.is_seq else [v] if v is not None else []):
        if item.is_map:
            path = item.get("path")
            if path is not None and path.text:
                out.append(path.text)
        elif item.is_scalar and item.text:
            out.append(item.text)
    return out


def _env_file_secrets(ctx: SvcCtx) -> Iterator[Finding]:
    """Literal credentials in the service's env_file files that the repository keeps (a file
    git ignores is the remedy, not the problem)."""
    project = ctx.project
    if project is None or project.explicit:
        return
    import os

    from batten.fsio import read_text_file

    root = os.path.realpath(project.root)
    base = ctx.cp.home(ctx.svc).dir  # env_file paths are relative to the project directory
    for rel in _env_files(ctx.svc):
        if "$" in rel or rel.startswith("/"):
            continue
        path = posixpath.normpath(posixpath.join(base, rel))
        if path.startswith("../") or path == ".." or _git_ignored(project.root, path):
            continue
        real = os.path.realpath(os.path.join(root, path))
        if not (real == root or real.startswith(root + os.sep)):
            continue
        text = read_text_file(real, 256 << 10)
        if text is None:
            continue
        offset = 0
        for lineno, line in enumerate(text.splitlines(keepends=True), 1):
            m = _ENV_LINE.match(line.rstrip("\r\n"))
            if m and not line.lstrip().startswith("#"):
                name, value = m.group(1), m.group(2)
                start = offset + m.start(2)
                if (is_secret_name(name) and literal_secret_value(value)) or token_in(value) is not None:
                    span = Span(start, start + len(value))
                    yield make("secret.value-hardcoded",
                               f"env_file {path} sets {name} to a literal value (masked) for service "
                               f"{ctx.svc.name!r}", Location(path, lineno, m.start(2) + 1, span=span),
                               target=ctx.svc.name, target_kind="service", secrets=(span,),
                               evidence={"name": name, "env_file": path}, subject=ServiceSite(ctx.svc),
                               scope=ctx.cp)
            offset += len(line)


def _git_ignored(root: str, rel: str) -> bool:
    """Whether git ignores `rel` (project-relative) by the .gitignore files on its way."""
    import os
    from pathlib import Path

    from batten.sources.discover import GitIgnore

    gi = GitIgnore()
    info = Path(root) / ".git" / "info" / "exclude"
    if info.is_file():
        gi.add_file(info, "")
    parts = rel.split("/")
    for depth in range(len(parts)):
        d = "/".join(parts[:depth])
        f = Path(os.path.join(root, d, ".gitignore")) if d else Path(root) / ".gitignore"
        if f.is_file():
            gi.add_file(f, d)
    return any(gi.ignored("/".join(parts[: i + 1]), i < len(parts) - 1) for i in range(len(parts)))


def _value_span(v: ComposeValue, key: str) -> Span | None:
    """Span of the secret value itself in the file (for `KEY=value` list items: after '=')."""
    if v.node is None or v.file is None:
        return None
    sp = v.span
    if sp is None:
        return None
    text = v.file.source.text[sp.start : sp.end]
    if v.key_node is v.node:  # list form `- KEY=value`: mask after the separator
        idx = text.find("=")
        if idx == -1:
            return sp
        return Span(sp.start + idx + 1, sp.end)
    return sp


# ---------------------------------------------------------------------------------------------
# health, images, logging, restart
# ---------------------------------------------------------------------------------------------


def _health(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    hc = svc.get("healthcheck")
    if hc is not None and hc.is_map:
        disabled = truthy(hc.get("disable"))
        test = hc.get("test")
        if test is not None and test.is_seq and test.data and test.data[0].text.upper() == "NONE":
            disabled = True
        if disabled:
            yield ctx.finding("health.missing-compose", f"service {svc.name!r} disables its healthcheck", hc, at_key=True)
        return
    if ctx.stage is not None:
        _df, stage = ctx.stage
        hcins = stage_healthcheck(stage)
        if hcins is not None and hcins.args.strip().upper() != "NONE":
            return
        yield ctx.finding("health.missing-compose", f"service {svc.name!r} has no healthcheck and its "
                    "Dockerfile stage has no HEALTHCHECK", None, evidence={"image_inspected": True})
        return
    elif svc.build is not None and not svc.image:
        return  # unknown Dockerfile: cannot tell
    own = image_defines_healthcheck(svc.image)
    if own:
        return  # the image's own HEALTHCHECK applies
    if own is False:
        yield ctx.finding("health.missing-compose", f"service {svc.name!r} has no healthcheck (its official "
                    "image defines none)", None, evidence={"image_inspected": True})
        return
    yield ctx.finding("health.missing-compose", f"service {svc.name!r} has no healthcheck in compose; its image "
                f"{svc.image!r} was not inspected, so whether it defines its own HEALTHCHECK is unknown "
                "(scan --live inspects it)", None, evidence={"image_inspected": False, "image": svc.image})


def _image(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    img = svc.get("image")
    if img is None or not img.text or svc.build is not None:
        return
    ref = ImageRef.parse(img.text) if not img.missing_vars else None
    if ref is None:
        raw = img.raw or img.text
        if img.missing_vars and "@" not in raw:
            # the tag comes from the environment: whatever it is, only a digest fixes the image
            yield ctx.finding("image.not-digest-pinned",
                              f"image {raw} is not pinned by digest (its reference comes from "
                              f"${{{', '.join(img.missing_vars)}}})", img, evidence={"image": raw})
        return
    if ref.digest is None and ref.tag is None:
        yield ctx.finding("image.untagged", f"image {img.text} has no tag (means :latest)", img,
                    evidence={"image": img.text})
    elif ref.tag == "latest" and ref.digest is None:
        yield ctx.finding("image.latest", f"image {img.text} uses :latest", img, evidence={"image": img.text})
    elif floating_tag(ref.tag) and ref.digest is None:
        yield ctx.finding("image.latest", f"image {img.text} uses :{ref.tag}, a tag that moves like :latest", img,
                          evidence={"image": img.text, "tag": ref.tag})
    elif ref.digest is None:
        yield ctx.finding("image.not-digest-pinned", f"image {img.text} is not pinned by digest", img,
                    evidence={"image": img.text})
    hint = not_minimal_hint(ref)
    if hint:
        yield ctx.finding("image.not-minimal", f"image {img.text} is a full OS image; consider {hint}", img,
                    evidence={"image": img.text, "suggestion": hint})


def _logging(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    lg = svc.get("logging")
    driver = lg.get("driver") if lg is not None else None
    dname = driver.text.lower() if driver is not None and driver.text else "json-file"
    if dname == "none":
        yield ctx.finding("logging.disabled", f"service {svc.name!r} discards its logs (driver: none)", driver)
        return
    if dname in ("json-file", "local"):
        opts = lg.get("options") if lg is not None else None
        if opts is None or opts.get("max-size") is None:
            yield ctx.finding("logging.unbounded", f"service {svc.name!r} keeps {dname} logs without max-size", lg,
                        at_key=True)


def _restart(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    r = svc.get("restart")
    text = r.text.strip() if r is not None and not r.missing_vars else ""
    if text == "always":
        yield ctx.finding("restart.policy", f"service {svc.name!r} restarts forever (restart: always), and comes "
                          "back after an operator stops it once the daemon restarts", r)
    elif text == "on-failure" or text == "on-failure:0":
        yield ctx.finding("restart.policy", f"service {svc.name!r} restarts on failure without a retry limit", r)
    elif text.startswith("on-failure:"):
        n = text.split(":", 1)[1]
        if n.isdigit() and int(n) > 5:
            yield ctx.finding("restart.policy", f"service {svc.name!r} restarts up to {n} times on failure", r)
    rp = svc.get("deploy", "restart_policy", "max_attempts")
    if rp is not None and rp.text.isdigit() and int(rp.text) > 5:
        yield ctx.finding("restart.policy", f"service {svc.name!r} restarts up to {rp.text} times", rp)


# ---------------------------------------------------------------------------------------------
# Tier 2: devices, cgroups, shared namespaces, propagation, ulimits, default bridge, registries
# ---------------------------------------------------------------------------------------------

def _device_source(item: ComposeValue) -> str | None:
    if item.is_map:
        return item.text_at("source")
    if item.is_scalar and item.text:
        return item.text.split(":", 1)[0]
    return None


def _devices(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    for item in _items(svc.get("devices")):
        src = _device_source(item)
        if not src:
            continue
        what, severity = device_severity(src)
        yield ctx.finding("devices.host", f"service {svc.name!r} passes host device {clip(src)}{what} through", item,
                          severity=severity, evidence={"device": src}, subject=ValueSite(svc, item))


def _cgroup_parent(ctx: SvcCtx) -> Iterator[Finding]:
    v = ctx.svc.get("cgroup_parent")
    if v is not None and v.text:
        yield ctx.finding("cgroup.parent", f"service {ctx.svc.name!r} sets cgroup_parent: {clip(v.text)}", v)


def _shared_namespaces(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    for key in ("network_mode", "pid", "ipc"):
        v = svc.get(key)
        if v is None or not v.text:
            continue
        kind, _, other = v.text.partition(":")
        if kind in ("service", "container") and other:
            yield ctx.finding("ns.shared-with-container",
                        f"service {svc.name!r} joins the {key.replace('_mode', '')} namespace of {kind} {other!r}",
                        v, evidence={"key": key, "with": v.text})


_PROPAGATION = {"shared", "rshared", "slave", "rslave"}


def _propagation(ctx: SvcCtx) -> Iterator[Finding]:
    svc = ctx.svc
    for item in _items(svc.get("volumes")):
        vol = parse_volume(item)
        if vol is None:
            continue
        mode = next((o for o in vol.options if o.strip().lower() in _PROPAGATION), None)
        if mode is not None:
            yield ctx.finding("mount.propagation-shared",
                        f"service {svc.name!r} mounts {vol.source or vol.target} with {mode} propagation", item,
                        evidence={"source": vol.source, "propagation": mode}, subject=ValueSite(svc, item))


def _ulimits(ctx: SvcCtx) -> Iterator[Finding]:
    if ctx.svc.get("ulimits") is None:
        yield ctx.finding("limits.ulimits", f"service {ctx.svc.name!r} sets no ulimits (the engine's defaults apply)", None)


def _default_bridge(ctx: SvcCtx) -> Iterator[Finding]:
    v = ctx.svc.get("network_mode")
    if v is not None and v.text in ("bridge", "default"):
        yield ctx.finding("network.default-bridge",
                    f"service {ctx.svc.name!r} uses network_mode: {v.text}, the engine's shared default bridge", v)


def _untrusted_registry(ctx: SvcCtx) -> Iterator[Finding]:
    if not ctx.trusted or ctx.svc.build is not None:
        return
    img = ctx.svc.get("image")
    ref = ImageRef.parse(img.text) if img is not None and img.text else None
    if ref is not None and untrusted_registry(ref, ctx.trusted):
        yield ctx.finding("image.untrusted-registry",
                    f"image {ref.raw} comes from {registry_of(ref)}, not a trusted registry", img,
                    evidence={"image": ref.raw, "registry": registry_of(ref)})


# ---------------------------------------------------------------------------------------------
# Tier 2: across services (host ports, shared volumes)
# ---------------------------------------------------------------------------------------------


def _profiles(svc: Service) -> set[str]:
    return {i.text for i in _items(svc.get("profiles")) if i.text}


def _may_run_together(a: Service, b: Service) -> bool:
    pa, pb = _profiles(a), _profiles(b)
    return not (pa and pb and not pa & pb)


def _duplicate_ports(cp: ComposeProject) -> Iterator[Finding]:
    seen: dict[tuple[str, int, str], tuple[Service, ComposeValue]] = {}
    for svc in cp.services.values():
        mode = svc.get("network_mode")
        if (mode is not None and mode.text in ("host", "none")) or (mode is not None and mode.text.startswith("service:")):
            continue
        for item in _items(svc.get("ports")):
            if item.missing_vars:
                continue
            p = parse_port(item)
            if p is None:
                continue
            ip = (p.host_ip or "").strip("[]")
            wildcard = ip in ("", "0.0.0.0", "::")
            for port in p.published_ports:
                for (oip, oport, oproto), (other, _ov) in seen.items():
                    if other is svc or oport != port or oproto != p.protocol or not _may_run_together(svc, other):
                        continue
                    if oip == ip or wildcard or oip in ("", "0.0.0.0", "::"):
                        ctx = SvcCtx(svc, cp, None)
                        yield ctx.finding("ports.duplicate-host",
                                    f"service {svc.name!r} publishes host port {port}/{p.protocol}, "
                                    f"which service {other.name!r} publishes too", item,
                                    evidence={"port": port, "other": other.name}, subject=ValueSite(svc, item))
                        break
                else:
                    seen.setdefault((ip, port, p.protocol), (svc, item))
                    continue
                break


def _shared_volumes(cp: ComposeProject) -> Iterator[Finding]:
    users: dict[str, list[tuple[Service, ComposeValue, bool]]] = {}
    shown: dict[str, str] = {}
    for svc in cp.services.values():
        for item in _items(svc.get("volumes")):
            if item.missing_vars:
                continue
            vol = parse_volume(item)
            if vol is None or not vol.source or vol.type not in ("bind", "volume"):
                continue
            src = vol.source.rstrip("/") or "/"
            if vol.type == "bind":
                if src in _BENIGN or _SOCKETS.search(src) or src.startswith("/dev/"):
                    continue
                key = "bind:" + posixpath.normpath(posixpath.join(value_dir(item, cp), src)) if not src.startswith("/") else src
            else:
                key = "volume:" + src
            shown.setdefault(key, vol.source)
            users.setdefault(key, []).append((svc, item, vol.read_only))
    for key, group in users.items():
        names = sorted({s.name for s, _i, _ro in group})
        if len(names) < 2 or all(ro for _s, _i, ro in group):
            continue
        reported: set[str] = set()
        for svc, item, ro in group:
            if svc.name in reported:
                continue
            reported.add(svc.name)
            others = [n for n in names if n != svc.name]
            what = shown[key]
            ctx = SvcCtx(svc, cp, None)
            yield ctx.finding("volume.shared-between-services",
                        f"service {svc.name!r} shares {what} with {', '.join(others)}"
                        + (" (read-only here)" if ro else ""), item,
                        evidence={"source": what, "services": names}, subject=ValueSite(svc, item))


_CHECKS = (
    _user,
    _privileges,
    _filesystem,
    _resources,
    _ports,
    _secrets,
    _health,
    _image,
    _logging,
    _restart,
    _devices,
    _cgroup_parent,
    _shared_namespaces,
    _propagation,
    _ulimits,
    _default_bridge,
    _untrusted_registry,
)
