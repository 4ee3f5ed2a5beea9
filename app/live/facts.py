"""Inspect facts -> findings for running (or created) containers and their images.

Everything here is pure data in, findings out: ``judge_container`` reads the JSON of
``GET /containers/{id}/json`` (plus, optionally, the image's inspect, the engine's ``info`` and
``top``) and never talks to an engine itself. Environment variables are never read or printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.checks.base import DANGEROUS_CAPS, DEFAULT_CAPS
from batten.checks.base import is_root_user as _is_root_name
from batten.checks.base import norm_cap as normalize_cap
from batten.checks.catalogue import rule as _catalogue_rule
from batten.model import Finding, Rule

# Docker's default capability set and the capabilities whose addition breaks isolation: one
# definition shared with the compose rules (app/checks/base.py).
DOCKER_DEFAULT_CAPS: frozenset[str] = DEFAULT_CAPS
# NET_RAW is in Docker's default set: adding it only matters after it was dropped.
REGRANTED_DEFAULT_RISKY: frozenset[str] = frozenset({"NET_RAW"})

SOCKET_NAMES: tuple[str, ...] = ("docker.sock", "containerd.sock", "podman.sock", "crio.sock")
SOCKET_DIRS: frozenset[str] = frozenset({"/run", "/var/run"})
SENSITIVE_HOST_PATHS: tuple[str, ...] = (
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/usr",
    "/lib",
    "/root",
    "/var",
    "/home",
    "/bin",
    "/sbin",
)
# Docker mounts every tmpfs with these unless the options turn them off.
TMPFS_DEFAULT_FLAGS: tuple[str, ...] = ("noexec", "nosuid", "nodev")
_TMPFS_NEGATION = {"exec": "noexec", "suid": "nosuid", "dev": "nodev"}



def rule(rule_id: str) -> Rule:
    """Rule metadata from the shared catalogue."""
    return _catalogue_rule(rule_id)


# ---------------------------------------------------------------------- small helpers
def label_disabled_by_docker(host_config: Mapping[str, Any]) -> bool:
    """Docker adds label=disable by itself for privileged and host PID/IPC containers."""
    return bool(host_config.get("Privileged")) or any(
        str(host_config.get(k) or "") == "host" for k in ("PidMode", "IpcMode")
    )


def container_name(inspect: Mapping[str, Any]) -> str:
    name = str(inspect.get("Name") or "").lstrip("/")
    return name or str(inspect.get("Id", ""))[:12]


def caps(values: Iterable[str] | None) -> set[str]:
    return {normalize_cap(c) for c in (values or []) if str(c).strip()}


def is_root_user(user: str | None) -> bool:
    """root, 0, root:root, 0:0, root:anything, 0:anything, or empty (the default)."""
    u = (user or "").strip()
    return not u.split(":", 1)[0].strip() or _is_root_name(u)


def split_security_opt(opt: str) -> tuple[str, str | None]:
    """'no-new-privileges:true' / 'seccomp=unconfined' / 'no-new-privileges' -> (key, value)."""
    s = str(opt).strip()
    for sep in ("=", ":"):
        if sep in s:
            k, v = s.split(sep, 1)
            return k.strip().lower(), v.strip()
    return s.lower(), None


def has_no_new_privileges(security_opt: Iterable[str] | None) -> bool:
    result = False
    for opt in security_opt or []:
        key, value = split_security_opt(opt)
        if key == "no-new-privileges":
            result = value is None or value.lower() in ("true", "1", "yes")
    return result


def security_opt_value(security_opt: Iterable[str] | None, key: str) -> list[str]:
    return [
        (v or "").lower()
        for k, v in (split_security_opt(o) for o in security_opt or [])
        if k == key
    ]


def parse_image_ref(ref: str) -> tuple[str, str | None, str | None]:
    """'reg:5000/ns/name:tag@sha256:..' -> (name, tag, digest)."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        name_part, tag = last.rsplit(":", 1)
        ref = ref[: len(ref) - len(last)] + name_part
    return ref, tag, digest


def tmpfs_effective_flags(options: str | Iterable[str] | None) -> dict[str, bool]:
    """Docker's merge: noexec,nosuid,nodev by default; later exec/suid/dev turn them off."""
    flags = {f: True for f in TMPFS_DEFAULT_FLAGS}
    if options is None:
        items: list[str] = []
    elif isinstance(options, str):
        items = [o.strip().lower() for o in options.split(",") if o.strip()]
    else:
        items = [str(o).strip().lower() for o in options if str(o).strip()]
    for opt in items:
        if opt in TMPFS_DEFAULT_FLAGS:
            flags[opt] = True
        elif opt in _TMPFS_NEGATION:
            flags[_TMPFS_NEGATION[opt]] = False
    return flags


def tmpfs_mounts(inspect: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every tmpfs of the container: HostConfig.Tmpfs and HostConfig.Mounts of type tmpfs."""
    hc = inspect.get("HostConfig") or {}
    out: list[dict[str, Any]] = []
    for path, opts in (hc.get("Tmpfs") or {}).items():
        out.append({"target": path, "options": opts or "", "via": "HostConfig.Tmpfs"})
    for m in hc.get("Mounts") or []:
        if str(m.get("Type", "")).lower() != "tmpfs":
            continue
        topts = m.get("TmpfsOptions") or {}
        opts: list[str] = []
        # API >= 1.46 carries free-form flags as [["noexec"], ["size", "1m"]]
        for item in topts.get("Options") or []:
            if isinstance(item, (list, tuple)) and item:
                opts.append(str(item[0]) if len(item) == 1 else f"{item[0]}={item[1]}")
        if topts.get("SizeBytes"):
            opts.append(f"size={topts['SizeBytes']}")
        out.append(
            {"target": m.get("Target", ""), "options": ",".join(opts), "via": "HostConfig.Mounts"}
        )
    return out


def _under(path: str, prefix: str) -> bool:
    if prefix == "/":
        return path == "/"
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def bind_mounts(inspect: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bind mounts (source, destination, rw) from the effective Mounts and HostConfig.Binds."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for m in inspect.get("Mounts") or []:
        if str(m.get("Type", "")).lower() != "bind":
            continue
        src, dst = str(m.get("Source", "")), str(m.get("Destination", ""))
        seen.add((src, dst))
        out.append({"source": src, "destination": dst, "rw": bool(m.get("RW", True))})
    hc = inspect.get("HostConfig") or {}
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) < 2 or not parts[0].startswith("/"):
            continue  # named volume
        src, dst = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        if (src, dst) in seen:
            continue
        seen.add((src, dst))
        out.append({"source": src, "destination": dst, "rw": "ro" not in mode.split(",")})
    for m in hc.get("Mounts") or []:
        if str(m.get("Type", "")).lower() != "bind":
            continue
        src, dst = str(m.get("Source", "")), str(m.get("Target", ""))
        if (src, dst) in seen:
            continue
        seen.add((src, dst))
        out.append({"source": src, "destination": dst, "rw": not m.get("ReadOnly", False)})
    return out


def is_socket_source(source: str) -> bool:
    s = source.rstrip("/") or "/"
    return s in SOCKET_DIRS or any(s.endswith("/" + n) or s == n for n in SOCKET_NAMES)


@dataclass(frozen=True, slots=True)
class PortBinding:
    container_port: str  # "80/tcp"
    host_ips: tuple[str, ...]
    host_port: str  # "" means a random port

    @property
    def port_number(self) -> int | None:
        try:
            return int(self.container_port.split("/", 1)[0])
        except ValueError:
            return None

    @property
    def host_port_number(self) -> int | None:
        try:
            return int(self.host_port.split("-", 1)[0])
        except ValueError:
            return None

    @property
    def all_interfaces(self) -> bool:
        return any(ip in ("", "0.0.0.0", "::") for ip in self.host_ips)


def port_bindings(inspect: Mapping[str, Any]) -> list[PortBinding]:
    """Published ports: declared HostConfig.PortBindings merged with NetworkSettings.Ports.

    HostConfig.PortBindings is what was asked for (kept even on network "none", where nothing
    is actually published); NetworkSettings.Ports is what the engine bound.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    sources = [
        (inspect.get("HostConfig") or {}).get("PortBindings") or {},
        (inspect.get("NetworkSettings") or {}).get("Ports") or {},
    ]
    for mapping in sources:
        for cport, binds in mapping.items():
            for b in binds or []:
                key = (str(cport), str(b.get("HostPort") or ""))
                ips = groups.setdefault(key, [])
                ip = str(b.get("HostIp") or "")
                if ip not in ips:
                    ips.append(ip)
    # a random-port declaration ("") and the port the engine picked are the same publication
    for cport, hport in list(groups):
        if hport == "" and any(k[0] == cport and k[1] for k in groups):
            del groups[(cport, hport)]
    return [PortBinding(c, tuple(ips), h) for (c, h), ips in sorted(groups.items())]


def exposed_ports(inspect: Mapping[str, Any]) -> list[str]:
    cfg = inspect.get("Config") or {}
    return sorted((cfg.get("ExposedPorts") or {}).keys())


def processes(top: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not top:
        return []
    titles = [str(t) for t in top.get("Titles") or []]
    return [
        dict(zip(titles, (str(x) for x in row), strict=False)) for row in top.get("Processes") or []
    ]


def _cmd_of(proc: Mapping[str, str]) -> str:
    return proc.get("CMD") or proc.get("COMMAND") or proc.get("ARGS") or ""


def _program(cmd: str) -> str:
    first = cmd.split()[0] if cmd.split() else ""
    return first.rsplit("/", 1)[-1].rstrip(":")


# ---------------------------------------------------------------------- findings
@dataclass(slots=True)
class _Judge:
    inspect: Mapping[str, Any]
    target: str
    target_kind: str = "container"
    origin: str = "live"
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule_id: str, message: str, **evidence: Any) -> None:
        self.findings.append(
            Finding(
                rule=rule(rule_id),
                message=message,
                location=None,
                target=self.target,
                target_kind=self.target_kind,
                origin=self.origin,
                evidence=evidence,
            )
        )


def judge_container(
    inspect: Mapping[str, Any],
    image: Mapping[str, Any] | None = None,
    info: Mapping[str, Any] | None = None,
    *,
    top: Mapping[str, Any] | None = None,
) -> list[Finding]:
    """All live findings for one container (and, when ``image`` is given, for its image)."""
    cfg = inspect.get("Config") or {}
    hc = inspect.get("HostConfig") or {}
    state = inspect.get("State") or {}
    j = _Judge(inspect, container_name(inspect))

    # -------------------------------------------------------------- identity
    user = str(cfg.get("User") or "")
    if is_root_user(user):
        why = "Config.User is empty" if not user.strip() else f"Config.User is {user!r}"
        j.add("live.user-root", f"runs as root ({why})", user=user)

    # -------------------------------------------------------------- privileges
    if hc.get("Privileged"):
        j.add("priv.privileged", "runs privileged (HostConfig.Privileged is true)", privileged=True)

    dropped = caps(hc.get("CapDrop"))
    added = caps(hc.get("CapAdd"))
    all_dropped = "ALL" in dropped or DOCKER_DEFAULT_CAPS.issubset(dropped)
    if not all_dropped:
        kept = sorted(DOCKER_DEFAULT_CAPS - dropped)
        j.add(
            "caps.not-dropped",
            "keeps Docker's default capabilities (CapDrop lacks ALL)"
            if not dropped
            else f"keeps {len(kept)} of Docker's default capabilities (CapDrop lacks ALL)",
            cap_drop=sorted(dropped),
            kept_default_caps=kept,
        )
    for cap in sorted(added):
        risky = cap in DANGEROUS_CAPS or (
            cap in REGRANTED_DEFAULT_RISKY and ("ALL" in dropped or cap in dropped)
        )
        if risky:
            what = "every capability (CapAdd ALL)" if cap == "ALL" else f"capability {cap}"
            j.add("caps.dangerous-added", f"adds {what}", cap=cap, cap_add=sorted(added))

    secopt = [str(o) for o in hc.get("SecurityOpt") or []]
    if not has_no_new_privileges(secopt):
        j.add(
            "priv.no-new-privileges",
            "can gain privileges through setuid binaries (SecurityOpt lacks no-new-privileges)",
            security_opt=secopt,
        )
    if "unconfined" in security_opt_value(secopt, "seccomp"):
        j.add(
            "seccomp.unconfined",
            "runs without a seccomp profile (seccomp=unconfined)",
            security_opt=secopt,
        )

    apparmor_profile = str(inspect.get("AppArmorProfile") or "")
    host_apparmor = _host_has(info, "apparmor")
    if apparmor_profile == "unconfined" or "unconfined" in security_opt_value(secopt, "apparmor"):
        j.add(
            "apparmor.unconfined",
            "runs without an AppArmor profile (unconfined)",
            apparmor_profile=apparmor_profile,
            security_opt=secopt,
            host_apparmor=host_apparmor,
        )
    elif not apparmor_profile and host_apparmor is True and not hc.get("Privileged"):
        j.add(
            "apparmor.unconfined",
            "runs without an AppArmor profile although the host enforces AppArmor",
            apparmor_profile=apparmor_profile,
            host_apparmor=True,
        )
    # Docker itself adds label=disable to privileged containers and to those sharing the host's
    # PID or IPC namespace: those are reported under their own rules
    if "disable" in security_opt_value(secopt, "label") and not label_disabled_by_docker(hc):
        j.add(
            "selinux.disabled", "turns off SELinux labelling (label=disable)", security_opt=secopt
        )

    # -------------------------------------------------------------- filesystem
    if not hc.get("ReadonlyRootfs"):
        j.add(
            "fs.rootfs-writable",
            "root filesystem is writable (ReadonlyRootfs is false)",
            read_only=False,
        )
    for t in tmpfs_mounts(inspect):
        flags = tmpfs_effective_flags(t["options"])
        if not all(flags.values()):
            turned_on = [k for k, v in _TMPFS_NEGATION.items() if not flags[v]]
            j.add(
                "fs.tmpfs-noexec",
                f"tmpfs {t['target']} allows {', '.join(turned_on)} ({t['options'] or 'no options'})",
                target=t["target"],
                options=t["options"],
                effective=flags,
                via=t["via"],
            )

    for m in bind_mounts(inspect):
        mode = "read-write" if m["rw"] else "read-only"
        if is_socket_source(m["source"]):
            j.add(
                "mount.docker-socket",
                f"mounts the engine socket {m['source']} at {m['destination']} ({mode})",
                **m,
            )
            continue
        for prefix in SENSITIVE_HOST_PATHS:
            if _under(m["source"].rstrip("/") or "/", prefix):
                j.add(
                    "mount.sensitive-host-path",
                    f"bind-mounts host {m['source']} at {m['destination']} ({mode})",
                    sensitive_prefix=prefix,
                    **m,
                )
                break

    # -------------------------------------------------------------- namespaces
    for rule_id, key, label in (
        ("ns.host-network", "NetworkMode", "network"),
        ("ns.host-pid", "PidMode", "PID"),
        ("ns.host-ipc", "IpcMode", "IPC"),
        ("ns.host-uts", "UTSMode", "UTS"),
        ("ns.host-userns", "UsernsMode", "user"),
    ):
        if str(hc.get(key) or "") == "host":
            j.add(rule_id, f"shares the host's {label} namespace ({key} is host)", **{key: "host"})

    # -------------------------------------------------------------- resources
    memory = int(hc.get("Memory") or 0)
    if memory == 0:
        j.add("limits.memory", "has no memory limit (HostConfig.Memory is 0)", memory=0)
    nano, quota, shares = (
        int(hc.get("NanoCpus") or 0),
        int(hc.get("CpuQuota") or 0),
        int(hc.get("CpuShares") or 0),
    )
    if nano == 0 and quota == 0 and shares in (0, 1024):
        j.add(
            "limits.cpu",
            "has no CPU limit (NanoCpus and CpuQuota are 0)",
            nano_cpus=nano,
            cpu_quota=quota,
            cpu_shares=shares,
        )
    pids = hc.get("PidsLimit")
    if pids is None or int(pids) <= 0:
        j.add(
            "limits.pids",
            f"has no PID limit (PidsLimit is {pids if pids is not None else 'unset'})",
            pids_limit=pids,
        )

    # -------------------------------------------------------------- network
    bindings = port_bindings(inspect)
    if hc.get("PublishAllPorts"):
        j.add(
            "ports.bind-all-interfaces",
            "publishes every exposed port on all interfaces (PublishAllPorts)",
            exposed=exposed_ports(inspect),
        )
    for b in bindings:
        shown_port = b.host_port or "a random port"
        if b.all_interfaces:
            ip = next(ip for ip in b.host_ips if ip in ("", "0.0.0.0", "::")) or "0.0.0.0"
            j.add(
                "ports.bind-all-interfaces",
                f"publishes {shown_port}/{_proto(b)} on {ip} (container port {b.container_port})",
                container_port=b.container_port,
                host_port=b.host_port,
                host_ips=list(b.host_ips),
            )
        hp = b.host_port_number
        if hp is not None and 0 < hp < 1024:
            j.add(
                "ports.privileged",
                f"publishes host port {hp} (below 1024) for {b.container_port}",
                container_port=b.container_port,
                host_port=b.host_port,
            )
    ssh_ports = sorted(
        {p for p in exposed_ports(inspect) if p.split("/")[0] == "22"}
        | {b.container_port for b in bindings if b.port_number == 22}
    )
    sshd = [p for p in processes(top) if _program(_cmd_of(p)) == "sshd"]
    if ssh_ports or sshd:
        bits = []
        if ssh_ports:
            bits.append(f"exposes {', '.join(ssh_ports)}")
        if sshd:
            bits.append("runs sshd")
        j.add(
            "ports.ssh-exposed",
            " and ".join(bits),
            ports=ssh_ports,
            sshd_processes=[_cmd_of(p) for p in sshd],
        )

    # -------------------------------------------------------------- health & lifecycle
    health = state.get("Health")
    hc_test = list((cfg.get("Healthcheck") or {}).get("Test") or [])
    configured = bool(hc_test) and hc_test[0].upper() != "NONE"
    if not health and not configured:
        why = "health check disabled" if hc_test else "no health check"
        j.add(
            "health.live-unmonitored",
            f"has no health status ({why})",
            state=state.get("Status"),
            healthcheck=cfg.get("Healthcheck"),
        )
    restart = hc.get("RestartPolicy") or {}
    rname = str(restart.get("Name") or "")
    retries = int(restart.get("MaximumRetryCount") or 0)
    if rname == "always":
        j.add(
            "restart.policy",
            "restarts forever (RestartPolicy always)",
            restart_policy=rname,
            max_retries=retries,
        )
    elif rname == "on-failure" and (retries == 0 or retries > 5):
        why = "without a retry limit" if retries == 0 else f"up to {retries} times"
        j.add(
            "restart.policy",
            f"restarts on failure {why} (more than 5)" if retries else f"restarts on failure {why}",
            restart_policy=rname,
            max_retries=retries,
        )

    # -------------------------------------------------------------- image reference
    ref = str(cfg.get("Image") or "")
    if ref and not ref.startswith("sha256:"):
        _name, tag, digest = parse_image_ref(ref)
        if digest is None and (tag is None or tag == "latest"):
            why = "the latest tag" if tag == "latest" else "no tag (means latest)"
            j.add("image.latest", f"runs image {ref} with {why}", image=ref, tag=tag)

    # -------------------------------------------------------------- logging
    log = hc.get("LogConfig") or {}
    driver = str(log.get("Type") or "")
    log_opts = log.get("Config") or {}
    if driver == "none":
        j.add("logging.disabled", "logging is disabled (LogConfig.Type none)", log_driver=driver)
    elif driver == "json-file" and not log_opts.get("max-size"):
        # the local driver rotates by default (20 MB x 5); json-file keeps everything
        j.add(
            "logging.unbounded",
            "json-file logs are never rotated (no max-size)",
            log_driver=driver,
            log_options=dict(log_opts),
        )

    findings = j.findings
    if image is not None:
        findings.extend(judge_image(image, ref or str(inspect.get("Image") or "")))
    return findings


def _proto(b: PortBinding) -> str:
    return b.container_port.split("/", 1)[1] if "/" in b.container_port else "tcp"


def _host_has(info: Mapping[str, Any] | None, name: str) -> bool | None:
    """Whether the engine reports a security option (e.g. apparmor); None when unknown."""
    if info is None:
        return None
    for opt in info.get("SecurityOptions") or []:
        text = str(opt)
        if text == name or text.startswith(f"name={name}"):
            return True
    return False


def judge_image(image: Mapping[str, Any], ref: str) -> list[Finding]:
    """Image-level findings (USER, HEALTHCHECK) from ``GET /images/{ref}/json``."""
    cfg = image.get("Config") or {}
    target = ref or ", ".join(image.get("RepoTags") or []) or str(image.get("Id", ""))[:19]
    j = _Judge(image, target, target_kind="image")
    user = str(cfg.get("User") or "")
    if is_root_user(user):
        why = "no USER" if not user.strip() else f"USER {user}"
        j.add(
            "user.missing",
            f"image {target} runs as root by default ({why})",
            user=user,
            image_id=image.get("Id"),
        )
    test = list((cfg.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0].upper() == "NONE":
        j.add(
            "health.missing-dockerfile",
            f"image {target} has no HEALTHCHECK",
            healthcheck=cfg.get("Healthcheck"),
            image_id=image.get("Id"),
        )
    return j.findings


def judge_all(
    inspected: Iterable[Any],
    info: Mapping[str, Any] | None = None,
    tops: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Finding]:
    """Judge many ``Inspected`` (container, image) pairs; image findings appear once per image."""
    out: list[Finding] = []
    seen_images: set[str] = set()
    for item in inspected:
        container = item.container
        out.extend(
            judge_container(
                container, None, info, top=(tops or {}).get(str(container.get("Id", "")))
            )
        )
        image = item.image
        if image is not None:
            ref = str((container.get("Config") or {}).get("Image") or container.get("Image") or "")
            key = f"{image.get('Id')}|{ref}"
            if key not in seen_images:
                seen_images.add(key)
                out.extend(judge_image(image, ref))
    return out


@dataclass(slots=True)
class LiveScan:
    """Everything one pass over an engine produced."""

    endpoint: Any
    info: dict[str, Any]
    inspected: list[Any]
    findings: list[Finding]


def scan_engine(gateway: Any, *, all: bool = False, workers: int = 8) -> LiveScan:
    """List, inspect (in parallel) and judge every container of an engine. Read-only."""
    from batten.live.gateway import inspect_all

    info = gateway.info()
    ids = [str(c.get("Id")) for c in gateway.list_containers(all=all)]
    inspected = inspect_all(gateway, ids, workers=workers)
    return LiveScan(gateway.endpoint, info, inspected, judge_all(inspected, info))
