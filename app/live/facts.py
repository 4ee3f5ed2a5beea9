"""Inspect facts -> findings for running (or created) containers and their images.

Everything here is pure data in, findings out, in the shape of the static rules: each area is
one small check over a :class:`LiveCtx` (the container's inspect JSON plus, when known, its
image's inspect, the engine's ``info`` and ``top``), and :data:`CHECKS` lists them in the
checklist's order. The JSON is read through :mod:`batten.live.readers`; no check talks to an
engine. Image findings (USER, HEALTHCHECK and, when the filesystem was read, its contents) are
:mod:`batten.live.image_checks`'s. Environment variables are never read or printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from batten.checks.base import DANGEROUS_CAPS, DEFAULT_CAPS, device_severity, make
from batten.live import readers as R
from batten.live.image_checks import judge_image
from batten.model import Finding, Severity
from batten.sanitize import clip
from batten.sources.imageref import split_image_ref

# NET_RAW is in Docker's default set: adding it only matters after it was dropped.
REGRANTED_DEFAULT_RISKY: frozenset[str] = frozenset({"NET_RAW"})
SENSITIVE_HOST_PATHS: tuple[str, ...] = (
    "/", "/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/lib", "/root", "/var", "/home",
    "/bin", "/sbin",
)  # fmt: skip
SHARED_PROPAGATION = frozenset({"shared", "rshared", "slave", "rslave"})


# ---------------------------------------------------------------------- context
@dataclass(slots=True)
class LiveCtx(R.InspectCtx):
    """One container being judged."""

    inspect: Mapping[str, Any]
    image: Mapping[str, Any] | None = None
    info: Mapping[str, Any] | None = None
    top: Mapping[str, Any] | None = None

    @property
    def target(self) -> str:
        return R.container_name(self.inspect)

    @property
    def secopt(self) -> list[str]:
        return R.security_opts(self.inspect)

    def finding(self, rule_id: str, message: str, *, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        """A finding about this container; `severity` when this instance is worse (or milder)
        than the rule's default."""
        return make(rule_id, message, None, target=self.target, target_kind="container", severity=severity,
                    origin="live", evidence=evidence)


Check = Callable[[LiveCtx], Iterator[Finding]]


# ---------------------------------------------------------------------- identity
def _user(ctx: LiveCtx) -> Iterator[Finding]:
    user = str(ctx.cfg.get("User") or "")
    if R.is_root_user(user):
        why = "Config.User is empty" if not user.strip() else f"Config.User is {user!r}"
        yield ctx.finding("live.user-root", f"runs as root ({why})", user=user)


# ---------------------------------------------------------------------- privileges
def _privileged(ctx: LiveCtx) -> Iterator[Finding]:
    if ctx.hc.get("Privileged"):
        yield ctx.finding(
            "priv.privileged", "runs privileged (HostConfig.Privileged is true)", privileged=True
        )


def _capabilities(ctx: LiveCtx) -> Iterator[Finding]:
    dropped, added = R.caps(ctx.hc.get("CapDrop")), R.caps(ctx.hc.get("CapAdd"))
    if not ("ALL" in dropped or DEFAULT_CAPS.issubset(dropped)):
        kept = sorted(DEFAULT_CAPS - dropped)
        yield ctx.finding(
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
            yield ctx.finding("caps.dangerous-added", f"adds {what}", cap=cap, cap_add=sorted(added))


def _no_new_privileges(ctx: LiveCtx) -> Iterator[Finding]:
    if not R.has_no_new_privileges(ctx.secopt):
        yield ctx.finding(
            "priv.no-new-privileges",
            "can gain privileges through setuid binaries (SecurityOpt lacks no-new-privileges)",
            security_opt=ctx.secopt,
        )


def _seccomp(ctx: LiveCtx) -> Iterator[Finding]:
    if "unconfined" in R.security_opt_value(ctx.secopt, "seccomp"):
        yield ctx.finding(
            "seccomp.unconfined",
            "runs without a seccomp profile (seccomp=unconfined)",
            security_opt=ctx.secopt,
        )


def _apparmor(ctx: LiveCtx) -> Iterator[Finding]:
    profile = str(ctx.inspect.get("AppArmorProfile") or "")
    host_apparmor = R.host_has(ctx.info, "apparmor")
    if profile == "unconfined" or "unconfined" in R.security_opt_value(ctx.secopt, "apparmor"):
        yield ctx.finding(
            "apparmor.unconfined",
            "runs without an AppArmor profile (unconfined)",
            apparmor_profile=profile,
            security_opt=ctx.secopt,
            host_apparmor=host_apparmor,
        )
    elif not profile and host_apparmor is True and not ctx.hc.get("Privileged"):
        yield ctx.finding(
            "apparmor.unconfined",
            "runs without an AppArmor profile although the host enforces AppArmor",
            apparmor_profile=profile,
            host_apparmor=True,
        )


def _selinux(ctx: LiveCtx) -> Iterator[Finding]:
    # Docker itself adds label=disable to privileged containers and to those sharing the host's
    # PID or IPC namespace: those are reported under their own rules
    if "disable" in R.security_opt_value(ctx.secopt, "label") and not R.label_disabled_by_docker(
        ctx.hc
    ):
        yield ctx.finding(
            "selinux.disabled",
            "turns off SELinux labelling (label=disable)",
            security_opt=ctx.secopt,
        )


def _devices(ctx: LiveCtx) -> Iterator[Finding]:
    for d in R.devices(ctx.inspect):
        host = d["host"]
        what, severity = device_severity(host)
        yield ctx.finding(
            "devices.host",
            f"has host device {clip(host)}{what} at {clip(d['container'])} ({clip(d['permissions'])})",
            severity=severity,
            critical_device=severity is Severity.CRITICAL,
            **d,
        )


# ---------------------------------------------------------------------- filesystem
def _rootfs(ctx: LiveCtx) -> Iterator[Finding]:
    if not ctx.hc.get("ReadonlyRootfs"):
        yield ctx.finding(
            "fs.rootfs-writable",
            "root filesystem is writable (ReadonlyRootfs is false)",
            read_only=False,
        )


def _tmpfs(ctx: LiveCtx) -> Iterator[Finding]:
    for t in R.tmpfs_mounts(ctx.inspect):
        flags = R.tmpfs_effective_flags(t["options"])
        if not all(flags.values()):
            turned_on = [k for k, v in R.TMPFS_NEGATION.items() if not flags[v]]
            yield ctx.finding(
                "fs.tmpfs-noexec",
                f"tmpfs {t['target']} allows {', '.join(turned_on)} ({t['options'] or 'no options'})",
                target=t["target"],
                options=t["options"],
                effective=flags,
                via=t["via"],
            )


def _binds(ctx: LiveCtx) -> Iterator[Finding]:
    for m in R.bind_mounts(ctx.inspect):
        mode = "read-write" if m["rw"] else "read-only"
        if R.is_socket_source(m["source"]):
            yield ctx.finding(
                "mount.docker-socket",
                f"mounts the engine socket {clip(m['source'])} at {clip(m['destination'])} ({mode})",
                **m,
            )
            continue
        for prefix in SENSITIVE_HOST_PATHS:
            if R.under(m["source"].rstrip("/") or "/", prefix):
                yield ctx.finding(
                    "mount.sensitive-host-path",
                    f"bind-mounts host {clip(m['source'])} at {clip(m['destination'])} ({mode})",
                    sensitive_prefix=prefix,
                    **m,
                )
                break


def _propagation(ctx: LiveCtx) -> Iterator[Finding]:
    for m in R.mount_propagations(ctx.inspect):
        if m["propagation"] in SHARED_PROPAGATION:
            yield ctx.finding(
                "mount.propagation-shared",
                f"bind-mounts {clip(m['source'])} at {clip(m['destination'])} with {m['propagation']} "
                "propagation",
                **m,
            )


# ---------------------------------------------------------------------- namespaces
def _namespaces(ctx: LiveCtx) -> Iterator[Finding]:
    modes = R.namespace_modes(ctx.inspect)
    for (key, label), rule_id in zip(
        R.NAMESPACE_KEYS,
        ("ns.host-network", "ns.host-pid", "ns.host-ipc", "ns.host-uts", "ns.host-userns"),
        strict=True,
    ):
        mode = modes.get(key, "")
        if mode == "host":
            yield ctx.finding(rule_id, f"shares the host's {label} namespace ({key} is host)", **{key: "host"})
        elif mode.startswith(("container:", "service:")) and key in ("NetworkMode", "PidMode", "IpcMode"):
            other = mode.split(":", 1)[1]
            yield ctx.finding(
                "ns.shared-with-container",
                f"joins the {label} namespace of container {other[:12]} ({key} is {mode[:22]})",
                namespace=label,
                mode=mode,
                container=other,
            )


# ---------------------------------------------------------------------- resources
def _limits(ctx: LiveCtx) -> Iterator[Finding]:
    hc = ctx.hc
    if R.memory_limit(ctx.inspect) == 0:
        yield ctx.finding("limits.memory", "has no memory limit (HostConfig.Memory is 0)", memory=0)
    nano, quota, shares = (
        int(hc.get("NanoCpus") or 0),
        int(hc.get("CpuQuota") or 0),
        int(hc.get("CpuShares") or 0),
    )
    if nano == 0 and quota == 0 and shares in (0, 1024):
        yield ctx.finding(
            "limits.cpu",
            "has no CPU limit (NanoCpus and CpuQuota are 0)",
            nano_cpus=nano,
            cpu_quota=quota,
            cpu_shares=shares,
        )
    pids = hc.get("PidsLimit")
    if pids is None or int(pids) <= 0:
        yield ctx.finding(
            "limits.pids",
            f"has no PID limit (PidsLimit is {pids if pids is not None else 'unset'})",
            pids_limit=pids,
        )
    if not R.ulimits(ctx.inspect):
        yield ctx.finding(
            "limits.ulimits",
            "runs with the engine's default ulimits (HostConfig.Ulimits is empty)",
            ulimits={},
        )


def _cgroup(ctx: LiveCtx) -> Iterator[Finding]:
    parent = str(ctx.hc.get("CgroupParent") or "")
    if parent:
        yield ctx.finding(
            "cgroup.parent", f"runs under cgroup parent {clip(parent)} (HostConfig.CgroupParent)",
            cgroup_parent=parent,
        )  # fmt: skip


# ---------------------------------------------------------------------- network
def _ports(ctx: LiveCtx) -> Iterator[Finding]:
    bindings = R.port_bindings(ctx.inspect)
    if ctx.hc.get("PublishAllPorts"):
        yield ctx.finding(
            "ports.bind-all-interfaces",
            "publishes every exposed port on all interfaces (PublishAllPorts)",
            exposed=R.exposed_ports(ctx.inspect),
        )
    for b in bindings:
        shown_port = b.host_port or "a random port"
        if b.all_interfaces:
            ip = next(ip for ip in b.host_ips if ip in R.ALL_INTERFACES) or "0.0.0.0"
            yield ctx.finding(
                "ports.bind-all-interfaces",
                f"publishes {clip(shown_port)}/{clip(b.proto)} on {clip(ip)} (container port {clip(b.container_port)})",
                container_port=b.container_port,
                host_port=b.host_port,
                host_ips=list(b.host_ips),
            )
        hp = b.host_port_number
        if hp is not None and 0 < hp < 1024:
            yield ctx.finding(
                "ports.privileged",
                f"publishes host port {hp} (below 1024) for {b.container_port}",
                container_port=b.container_port,
                host_port=b.host_port,
            )


def _ssh(ctx: LiveCtx) -> Iterator[Finding]:
    ssh_ports = sorted(
        {p for p in R.exposed_ports(ctx.inspect) if p.split("/")[0] == "22"}
        | {b.container_port for b in R.port_bindings(ctx.inspect) if b.port_number == 22}
    )
    sshd = [p for p in R.processes(ctx.top) if R.program(R.cmd_of(p)) == "sshd"]
    if ssh_ports or sshd:
        bits = []
        if ssh_ports:
            bits.append(f"exposes {', '.join(ssh_ports)}")
        if sshd:
            bits.append("runs sshd")
        yield ctx.finding(
            "ports.ssh-exposed",
            " and ".join(bits),
            ports=ssh_ports,
            sshd_processes=[R.cmd_of(p) for p in sshd],
        )


def _only_needed(ctx: LiveCtx) -> Iterator[Finding]:
    """Published ports the image does not EXPOSE (judged only when the image is known)."""
    if ctx.image is None:
        return
    declared = set(R.exposed_ports(ctx.image))
    for b in R.port_bindings(ctx.inspect):
        if b.container_port not in declared:
            yield ctx.finding(
                "ports.only-needed",
                f"publishes {b.container_port}, which its image does not expose",
                container_port=b.container_port,
                host_port=b.host_port,
                image_exposed=sorted(declared),
            )


def _default_bridge(ctx: LiveCtx) -> Iterator[Finding]:
    if R.on_default_bridge(ctx.inspect):
        mode = str(ctx.hc.get("NetworkMode") or "")
        yield ctx.finding(
            "network.default-bridge",
            f"is on the default bridge network (NetworkMode {mode or 'default'})",
            network_mode=mode,
            networks=R.networks(ctx.inspect),
        )


# ---------------------------------------------------------------------- health & lifecycle
def _health(ctx: LiveCtx) -> Iterator[Finding]:
    state = ctx.inspect.get("State") or {}
    test = R.healthcheck_test(ctx.cfg)
    if not state.get("Health") and not R.healthcheck_on(test):
        why = "health check disabled" if test else "no health check"
        yield ctx.finding(
            "health.live-unmonitored",
            f"has no health status ({why})",
            state=state.get("Status"),
            healthcheck=ctx.cfg.get("Healthcheck"),
        )


def _restart(ctx: LiveCtx) -> Iterator[Finding]:
    restart = ctx.hc.get("RestartPolicy") or {}
    name = str(restart.get("Name") or "")
    retries = int(restart.get("MaximumRetryCount") or 0)
    if name == "always":
        yield ctx.finding(
            "restart.policy",
            "restarts forever (RestartPolicy always)",
            restart_policy=name,
            max_retries=retries,
        )
    elif name == "on-failure" and (retries == 0 or retries > 5):
        why = "without a retry limit" if retries == 0 else f"up to {retries} times"
        yield ctx.finding(
            "restart.policy",
            f"restarts on failure {why} (more than 5)" if retries else f"restarts on failure {why}",
            restart_policy=name,
            max_retries=retries,
        )


def _image_ref(ctx: LiveCtx) -> Iterator[Finding]:
    ref = str(ctx.cfg.get("Image") or "")
    if ref and not ref.startswith("sha256:"):
        _name, tag, digest = split_image_ref(ref)
        if digest is None and (tag is None or tag == "latest"):
            why = "the latest tag" if tag == "latest" else "no tag (means latest)"
            yield ctx.finding("image.latest", f"runs image {clip(ref)} with {why}", image=ref, tag=tag)


def _logging(ctx: LiveCtx) -> Iterator[Finding]:
    log = ctx.hc.get("LogConfig") or {}
    driver = str(log.get("Type") or "")
    options = log.get("Config") or {}
    if driver == "none":
        yield ctx.finding(
            "logging.disabled", "logging is disabled (LogConfig.Type none)", log_driver=driver
        )
    elif driver == "json-file" and not options.get("max-size"):
        # the local driver rotates by default (20 MB x 5); json-file keeps everything
        yield ctx.finding(
            "logging.unbounded",
            "json-file logs are never rotated (no max-size)",
            log_driver=driver,
            log_options=dict(options),
        )


CHECKS: tuple[Check, ...] = (
    _user,
    _privileged, _capabilities, _no_new_privileges, _seccomp, _apparmor, _selinux, _devices,
    _rootfs, _tmpfs, _binds, _propagation,
    _namespaces,
    _limits, _cgroup,
    _ports, _ssh, _only_needed, _default_bridge,
    _health, _restart,
    _image_ref,
    _logging,
)  # fmt: skip


# ---------------------------------------------------------------------- entry points
def judge_container(
    inspect: Mapping[str, Any],
    image: Mapping[str, Any] | None = None,
    info: Mapping[str, Any] | None = None,
    *,
    top: Mapping[str, Any] | None = None,
    with_image_findings: bool = True,
) -> list[Finding]:
    """All live findings for one container and, when ``image`` is given (and
    ``with_image_findings``), for its image."""
    ctx = LiveCtx(inspect, image, info, top)
    findings = [f for check in CHECKS for f in check(ctx)]
    if image is not None and with_image_findings:
        ref = str(ctx.cfg.get("Image") or inspect.get("Image") or "")
        findings.extend(judge_image(image, ref))
    return findings


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
        top = (tops or {}).get(str(container.get("Id", "")))
        out.extend(judge_container(container, item.image, info, top=top, with_image_findings=False))
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


__all__ = [
    "CHECKS",
    "LiveCtx",
    "LiveScan",
    "judge_all",
    "judge_container",
    "judge_image",
    "scan_engine",
]
