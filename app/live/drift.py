"""From a running container back to its compose service, and what differs between them.

``compose_identity`` reads the labels compose puts on every container it creates.
``drift`` compares the effective service config (compose-spec shaped plain data, as produced by
``docker compose config`` or batten's own compose model) with the container's inspect output,
field by field, in the engine's units. Each difference has a direction:

* ``stale``: the file declares a hardening the running container lacks -> recreate it;
* ``ahead``: the container runs with hardening the file lacks -> port it back to the file.

Differences that are not about hardening (another image) are reported as ``stale`` too: the
container is not what the file describes, so recreating it is the way back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from batten.checks.base import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS
from batten.checks.catalogue import rule as _rule
from batten.live import readers as R
from batten.live.readers import caps as _caps
from batten.live.readers import (
    container_name,
    has_no_new_privileges,
    label_disabled_by_docker,
    port_bindings,
    security_opt_value,
    tmpfs_mounts,
)
from batten.live.values import parse_memory
from batten.model import Finding, Location
from batten.sanitize import clip

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_NUMBER = "com.docker.compose.container-number"

STALE = "stale"
AHEAD = "ahead"


@dataclass(frozen=True, slots=True)
class ComposeIdentity:
    project: str
    service: str
    config_files: tuple[str, ...] = ()
    working_dir: str | None = None
    container_number: int | None = None


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One difference, in the engine's units (bytes, NanoCpus...): ``kind`` says which, so a
    view can show human units; ``note`` says what makes it stand out (the engine socket)."""

    field: str
    declared: Any
    running: Any
    direction: str  # "stale" | "ahead"
    kind: str = dataclass_field(default="", compare=False)  # bytes nanocpus count flag user port mount list image capabilities
    note: str = dataclass_field(default="", compare=False)

    @property
    def advice(self) -> str:
        if self.direction == STALE:
            return "recreate the container from the file"
        return "port the running setting back to the file"


def compose_identity(inspect: Mapping[str, Any]) -> ComposeIdentity | None:
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    project, service = labels.get(LABEL_PROJECT), labels.get(LABEL_SERVICE)
    if not project or not service:
        return None
    files = tuple(
        f.strip() for f in str(labels.get(LABEL_CONFIG_FILES) or "").split(",") if f.strip()
    )
    number: int | None
    try:
        number = int(labels[LABEL_NUMBER]) if labels.get(LABEL_NUMBER) else None
    except ValueError:
        number = None
    return ComposeIdentity(
        project=str(project),
        service=str(service),
        config_files=files,
        working_dir=str(labels[LABEL_WORKING_DIR]) if labels.get(LABEL_WORKING_DIR) else None,
        container_number=number,
    )


# ---------------------------------------------------------------------- units
def parse_cpus(value: Any) -> int | None:
    """cpus ('0.5', 1.5) -> NanoCpus."""
    if value is None or value == "":
        return None
    return round(float(value) * 1e9)


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _limit_running(value: Any) -> int | None:
    """Engine limits: 0, -1 and None mean 'no limit'."""
    if value is None:
        return None
    v = int(value)
    return v if v > 0 else None


# ---------------------------------------------------------------------- declared values
def _limits(declared: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((declared.get("deploy") or {}).get("resources") or {}).get("limits") or {}


def _effective_caps(dropped: set[str], added: set[str]) -> set[str]:
    """What a container ends up with: Docker's defaults minus drops, plus adds (ALL = all)."""
    kept = set() if "ALL" in dropped else set(DOCKER_DEFAULT_CAPS) - dropped
    return kept | added


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _declared_ports(ports: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """Compose ports (short or long syntax) -> {'80/tcp': (host_ip, published)}."""
    out: dict[str, tuple[str, str]] = {}
    for p in ports or []:
        if isinstance(p, Mapping):
            target = str(p.get("target", ""))
            proto = str(p.get("protocol") or "tcp")
            out[f"{target}/{proto}"] = (str(p.get("host_ip") or ""), str(p.get("published") or ""))
            continue
        text = str(p)
        proto = "tcp"
        if "/" in text:
            text, proto = text.rsplit("/", 1)
        ip = ""
        if text.startswith("["):  # [::1]:8080:80
            ip, text = text[1:].split("]", 1)
            text = text.lstrip(":")
        parts = text.split(":")
        if len(parts) == 3:
            ip, published, target = parts
        elif len(parts) == 2:
            published, target = parts
        else:
            published, target = "", parts[0]
        out[f"{target}/{proto}"] = (ip, published)
    return out


def _declared_mounts(volumes: Iterable[Any]) -> dict[str, tuple[str, str, bool]]:
    """Compose volumes (short or long syntax) -> {target: (type, source, read_only)}; tmpfs
    entries are left to the tmpfs comparison."""
    out: dict[str, tuple[str, str, bool]] = {}
    for v in volumes or []:
        if isinstance(v, Mapping):
            kind = str(v.get("type") or "volume")
            if kind == "tmpfs" or not v.get("target"):
                continue
            out[str(v["target"])] = (kind, str(v.get("source") or ""), bool(v.get("read_only")))
            continue
        parts = str(v).split(":")
        if len(parts) == 1:
            out[parts[0]] = ("volume", "", False)  # anonymous volume
            continue
        source, target = parts[0], parts[1]
        mode = parts[2].split(",") if len(parts) > 2 else []
        kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
        out[target] = (kind, source, "ro" in mode)
    return out


def _mount_text(source: str, target: str, read_only: bool) -> str:
    return f"{source}:{target}" + (":ro" if read_only else "") if source else target


def _port_text(ip: str, published: str, cport: str) -> str:
    target = cport.split("/", 1)[0]
    proto = cport.split("/", 1)[1] if "/" in cport else "tcp"
    host = f"{ip}:" if ip else ""
    pub = f"{published}:" if published else ""
    suffix = "" if proto == "tcp" else f"/{proto}"
    return f"{host}{pub}{target}{suffix}"


def _all_interfaces(ip: str) -> bool:
    return ip in R.ALL_INTERFACES


def _same_user(a: str, b: str) -> bool:
    """Equal users; root, 0, root:root, 0:0 and empty (the default) are all the same root."""
    return a.strip() == b.strip() or (R.is_root_user(a) and R.is_root_user(b))


# ---------------------------------------------------------------------- comparisons
_SCALAR = (str, int, float, bool, type(None))
_LISTS = ("cap_drop", "cap_add", "security_opt", "ports", "tmpfs", "volumes")
_ITEM_MAPS = ("ports", "volumes")  # long syntax: a list of mappings


def _well_formed(declared: Mapping[str, Any]) -> dict[str, Any]:
    """The service without the values of a shape Compose rejects (compose.invalid reports them):
    drift compares only what the file can mean."""
    parsed = {"mem_limit": parse_memory, "cpus": parse_cpus, "pids_limit": _int_or_none}
    out = dict(declared) if isinstance(declared, Mapping) else {}
    for key, value in list(out.items()):
        if key in _LISTS:
            ok = (isinstance(value, list) and all(
                isinstance(v, _SCALAR) or (key in _ITEM_MAPS and isinstance(v, Mapping)) for v in value)) or (
                key == "tmpfs" and isinstance(value, str))
        elif key in ("deploy", "healthcheck"):
            ok = isinstance(value, Mapping)
        else:
            ok = isinstance(value, _SCALAR)
        if ok and key in parsed:
            try:
                parsed[key](value)
            except (TypeError, ValueError):
                ok = False
        if not ok:
            del out[key]
    deploy = out.get("deploy")
    if deploy is not None:
        res = deploy.get("resources")
        lim = res.get("limits") if isinstance(res, Mapping) else None
        if (res is not None and not isinstance(res, Mapping)) or (lim is not None and not isinstance(lim, Mapping)):
            out["deploy"] = {}
        elif isinstance(lim, Mapping):
            clean = {}
            for k, v in lim.items():
                try:
                    if k in ("memory", "cpus", "pids"):
                        {"memory": parse_memory, "cpus": parse_cpus, "pids": _int_or_none}[k](v)
                    clean[k] = v
                except (TypeError, ValueError):
                    continue
            out["deploy"] = {**deploy, "resources": {**res, "limits": clean}}  # type: ignore[dict-item]
    return out


@dataclass(slots=True)
class DriftCtx(R.InspectCtx):
    """One container against the service that declares it."""

    inspect: Mapping[str, Any]
    declared: Mapping[str, Any]
    image: Mapping[str, Any] | None = None

    @property
    def image_cfg(self) -> Mapping[str, Any]:
        return R.config(self.image or {})


def _limit(name: str, declared: int | None, running: int | None, kind: str) -> Iterator[DriftItem]:
    """Lower is harder; None is unlimited."""
    if declared == running:
        return
    if running is None:
        direction = STALE
    elif declared is None:
        direction = AHEAD
    else:
        direction = STALE if declared < running else AHEAD
    yield DriftItem(name, declared, running, direction, kind)


def _flag(name: str, declared: bool, running: bool, *, hardening: bool) -> Iterator[DriftItem]:
    """``hardening`` tells whether True is the hardened value (read_only) or not (privileged)."""
    if declared != running:
        yield DriftItem(name, declared, running, STALE if declared == hardening else AHEAD, "flag")


def _image(ctx: DriftCtx) -> Iterator[DriftItem]:
    d, r = ctx.declared.get("image"), ctx.cfg.get("Image")
    if d and r and str(d) != str(r):
        yield DriftItem("image", d, r, STALE, "image")


def _user(ctx: DriftCtx) -> Iterator[DriftItem]:
    # the running Config.User already includes the image's USER
    running = str(ctx.cfg.get("User") or "")
    if ctx.declared.get("user") is not None:
        d = str(ctx.declared["user"])
        if not _same_user(d, running):
            harder = R.is_root_user(running) or not R.is_root_user(d)
            yield DriftItem("user", d, running, STALE if harder else AHEAD, "user")
    elif ctx.image is not None:
        image_user = str(ctx.image_cfg.get("User") or "")
        if not _same_user(running, image_user):
            direction = STALE if R.is_root_user(running) else AHEAD
            yield DriftItem("user", None, running, direction, "user", f"the image's USER is {image_user or 'root'}")


def _read_only_and_privileged(ctx: DriftCtx) -> Iterator[DriftItem]:
    yield from _flag("read_only", bool(ctx.declared.get("read_only")),
                     bool(ctx.hc.get("ReadonlyRootfs")), hardening=True)  # fmt: skip
    yield from _flag("privileged", bool(ctx.declared.get("privileged")),
                     bool(ctx.hc.get("Privileged")), hardening=False)  # fmt: skip


def _capabilities(ctx: DriftCtx) -> Iterator[DriftItem]:
    """What each side effectively grants; the item names the key the difference comes from."""
    d_drop, r_drop = _caps(_as_list(ctx.declared.get("cap_drop"))), _caps(ctx.hc.get("CapDrop"))
    d_add, r_add = _caps(_as_list(ctx.declared.get("cap_add"))), _caps(ctx.hc.get("CapAdd"))
    eff_d, eff_r = _effective_caps(d_drop, d_add), _effective_caps(r_drop, r_add)
    values = {
        "cap_drop": (sorted(d_drop), sorted(r_drop)),
        "cap_add": (sorted(d_add), sorted(r_add)),
    }
    for extra, added, direction in ((eff_r - eff_d, r_add, STALE), (eff_d - eff_r, d_add, AHEAD)):
        keys = {"cap_add" if cap in added else "cap_drop" for cap in extra}
        for key in ("cap_drop", "cap_add"):
            if key in keys:
                yield DriftItem(key, *values[key], direction, "capabilities")


def _security_opt(ctx: DriftCtx) -> Iterator[DriftItem]:
    d_sec, r_sec = _as_list(ctx.declared.get("security_opt")), R.security_opts(ctx.inspect)
    yield from _flag("security_opt: no-new-privileges", has_no_new_privileges(d_sec),
                     has_no_new_privileges(r_sec), hardening=True)  # fmt: skip
    for key, value in (("seccomp", "unconfined"), ("apparmor", "unconfined"), ("label", "disable")):
        d_has = value in security_opt_value(d_sec, key)
        r_has = value in security_opt_value(r_sec, key)
        if key == "label" and not d_has and label_disabled_by_docker(ctx.hc):
            r_has = False  # added by Docker itself (privileged, host PID/IPC)
        yield from _flag(f"security_opt: {key}={value}", d_has, r_has, hardening=False)
    d_seccomp = [v for v in security_opt_value(d_sec, "seccomp") if v != "unconfined"]
    r_seccomp = [v for v in security_opt_value(r_sec, "seccomp") if v != "unconfined"]
    if d_seccomp and not r_seccomp:
        yield DriftItem("security_opt: seccomp", d_seccomp, r_seccomp, STALE, "list")


def _resources(ctx: DriftCtx) -> Iterator[DriftItem]:
    """Compose short keys win when both are present, as compose does."""
    declared, limits = ctx.declared, _limits(ctx.declared)
    pids = _int_or_none(declared.get("pids_limit", limits.get("pids")))
    yield from _limit("pids_limit", _limit_running(pids), _limit_running(ctx.hc.get("PidsLimit")), "count")
    mem = declared.get("mem_limit") if declared.get("mem_limit") not in (None, "") else limits.get("memory")
    yield from _limit("mem_limit", _limit_running(parse_memory(mem)), _limit_running(ctx.hc.get("Memory")), "bytes")
    cpus = declared.get("cpus") if declared.get("cpus") not in (None, "") else limits.get("cpus")
    yield from _limit("cpus", _limit_running(parse_cpus(cpus)), R.cpu_nano(ctx.inspect), "nanocpus")


def _namespaces(ctx: DriftCtx) -> Iterator[DriftItem]:
    for key, hkey in (
        ("network_mode", "NetworkMode"),
        ("pid", "PidMode"),
        ("ipc", "IpcMode"),
        ("uts", "UTSMode"),
        ("userns_mode", "UsernsMode"),
    ):
        d_host = str(ctx.declared.get(key) or "") == "host"
        r_host = str(ctx.hc.get(hkey) or "") == "host"
        yield from _flag(key, d_host, r_host, hardening=False)


def _ports(ctx: DriftCtx) -> Iterator[DriftItem]:
    """Less exposure is harder."""
    d_ports = _declared_ports(ctx.declared.get("ports") or [])
    r_ports = {b.container_port: b for b in port_bindings(ctx.inspect)}
    for cport in sorted(set(d_ports) | set(r_ports)):
        d, r = d_ports.get(cport), r_ports.get(cport)
        name = f"ports {cport}"
        if d is not None and r is None:
            yield DriftItem(name, _port_text(*d, cport), None, AHEAD, "port")
        elif d is None and r is not None:
            yield DriftItem(name, None, _port_text(r.host_ips[0], r.host_port, cport), STALE, "port")
        elif d is not None and r is not None:
            d_all, r_all = _all_interfaces(d[0]), r.all_interfaces
            declared_text = _port_text(*d, cport)
            running_text = _port_text(r.host_ips[0], r.host_port, cport)
            if d_all != r_all:
                yield DriftItem(name, declared_text, running_text, STALE if r_all else AHEAD, "port")
            elif d[1] and r.host_port and d[1] != r.host_port:
                yield DriftItem(name, declared_text, running_text, STALE, "port")


def _mounts(ctx: DriftCtx) -> Iterator[DriftItem]:
    """Bind mounts and volumes by target. A mount the file does not declare is drift (above all
    the engine socket), and so is a declared one the container lacks; volumes the image itself
    declares (VOLUME) are not."""
    volumes = ctx.declared.get("volumes")
    declared = _declared_mounts([volumes] if isinstance(volumes, str) else volumes or [])
    image_volumes = set(ctx.image_cfg.get("Volumes") or {}) | set(ctx.cfg.get("Volumes") or {})
    running: dict[str, tuple[str, str, bool]] = {}
    for m in ctx.inspect.get("Mounts") or []:
        kind = str(m.get("Type") or "")
        if kind in ("bind", "volume") and m.get("Destination"):
            source = str(m.get("Source") if kind == "bind" else m.get("Name") or "")
            running[str(m["Destination"])] = (kind, source, not m.get("RW", True))
    for b in R.bind_mounts(ctx.inspect):
        running.setdefault(b["destination"], ("bind", b["source"], not b["rw"]))
    for target in sorted(set(declared) | set(running)):
        d, r = declared.get(target), running.get(target)
        name = f"volumes {target}"
        if d is not None and r is None:
            yield DriftItem(name, _mount_text(d[1], target, d[2]), None, STALE, "mount")
        elif d is None and r is not None:
            if r[0] == "volume" and target in image_volumes:
                continue  # the image's own VOLUME (or an anonymous one the file declares elsewhere)
            note = "the engine socket" if r[0] == "bind" and R.is_socket_source(r[1]) else ""
            yield DriftItem(name, None, _mount_text(r[1], target, r[2]), STALE, "mount", note)
        elif d is not None and r is not None and d[2] != r[2]:
            # read-only is harder
            yield DriftItem(name, _mount_text(d[1], target, d[2]), _mount_text(r[1], target, r[2]),
                            STALE if d[2] else AHEAD, "mount")  # fmt: skip


def _tmpfs(ctx: DriftCtx) -> Iterator[DriftItem]:
    d_tmpfs = {str(t).split(":", 1)[0] for t in _as_list(ctx.declared.get("tmpfs"))}
    r_tmpfs = {str(t["target"]) for t in tmpfs_mounts(ctx.inspect)}
    if d_tmpfs - r_tmpfs:
        yield DriftItem("tmpfs", sorted(d_tmpfs), sorted(r_tmpfs), STALE, "list")
    if r_tmpfs - d_tmpfs:
        yield DriftItem("tmpfs", sorted(d_tmpfs), sorted(r_tmpfs), AHEAD, "list")


def _healthcheck(ctx: DriftCtx) -> Iterator[DriftItem]:
    # the running Config.Healthcheck already includes the image's
    d_hc = ctx.declared.get("healthcheck")
    r_test = R.healthcheck_test(ctx.cfg)
    r_on = R.healthcheck_on(r_test)
    if isinstance(d_hc, Mapping):
        d_test = _as_list(d_hc.get("test"))
        d_on = not d_hc.get("disable") and R.healthcheck_on(d_test)
        if d_on != r_on:
            yield DriftItem("healthcheck", d_test or None, r_test or None, STALE if d_on else AHEAD, "list")
    elif r_on and ctx.image is not None and not R.healthcheck_on(R.healthcheck_test(ctx.image_cfg)):
        yield DriftItem("healthcheck", None, r_test, AHEAD, "list")


DriftCheck = Callable[[DriftCtx], Iterator[DriftItem]]
DRIFT_CHECKS: tuple[DriftCheck, ...] = (
    _image, _user, _read_only_and_privileged, _capabilities, _security_opt, _resources,
    _namespaces, _ports, _mounts, _tmpfs, _healthcheck,
)  # fmt: skip


def drift(
    inspect: Mapping[str, Any],
    declared: Mapping[str, Any],
    image: Mapping[str, Any] | None = None,
) -> list[DriftItem]:
    """Differences between a compose service (effective config) and its running container."""
    ctx = DriftCtx(inspect, _well_formed(declared), image)
    return [item for check in DRIFT_CHECKS for item in check(ctx)]


def _fmt(value: Any) -> str:
    """A declared or running value as a drift message quotes it (clipped)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return clip("[" + ", ".join(str(v) for v in value) + "]") if value else "[]"
    return clip(str(value))


def drift_findings(
    inspect: Mapping[str, Any],
    declared: Mapping[str, Any],
    image: Mapping[str, Any] | None = None,
    *,
    location: Location | None = None,
    service: str | None = None,
) -> list[Finding]:
    """One ``live.drift`` finding per difference (origin "drift")."""
    name = container_name(inspect)
    ident = compose_identity(inspect)
    svc = clip(service or (ident.service if ident else name))
    out: list[Finding] = []
    for item in drift(inspect, declared, image):
        note = f" ({clip(item.note)})" if item.note else ""
        field = clip(item.field)  # a port or a mount path from the file or the engine
        if item.direction == STALE:
            message = (
                f"{field}: the file declares {_fmt(item.declared)}, the running container has "
                f"{_fmt(item.running)}{note}: recreate it (docker compose up -d --force-recreate {svc})"
            )
        else:
            message = (
                f"{field}: the container runs with {_fmt(item.running)}{note}, the file declares "
                f"{_fmt(item.declared)}: port it back to service {svc}"
            )
        out.append(
            Finding(
                rule=_rule("live.drift"),
                message=message,
                location=location,
                target=name,
                target_kind="container",
                origin="drift",
                evidence={
                    "field": item.field,
                    "declared": item.declared,
                    "running": item.running,
                    "direction": item.direction,
                    "kind": item.kind,
                    "note": item.note,
                    "service": svc,
                },
            )
        )
    return out


__all__ = [
    "AHEAD",
    "STALE",
    "ComposeIdentity",
    "DriftItem",
    "compose_identity",
    "drift",
    "drift_findings",
    "parse_cpus",
    "parse_memory",
]
