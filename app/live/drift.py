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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from batten.checks.base import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS
from batten.checks.catalogue import rule as _rule
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
    field: str
    declared: Any
    running: Any
    direction: str  # "stale" | "ahead"

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


# ---------------------------------------------------------------------- compare helpers
def _limits(declared: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((declared.get("deploy") or {}).get("resources") or {}).get("limits") or {}


def _compare_limit(
    out: list[DriftItem], name: str, declared: int | None, running: int | None
) -> None:
    """Lower is harder; None is unlimited."""
    if declared == running:
        return
    if running is None:
        out.append(DriftItem(name, declared, running, STALE))
    elif declared is None:
        out.append(DriftItem(name, declared, running, AHEAD))
    else:
        out.append(DriftItem(name, declared, running, STALE if declared < running else AHEAD))


def _compare_flag(
    out: list[DriftItem], name: str, declared: bool, running: bool, *, hardening: bool
) -> None:
    """``hardening`` tells whether True is the hardened value (read_only) or not (privileged)."""
    if declared == running:
        return
    file_is_harder = declared == hardening
    out.append(DriftItem(name, declared, running, STALE if file_is_harder else AHEAD))


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


def _all_interfaces(ip: str) -> bool:
    return ip in ("", "0.0.0.0", "::")


# ---------------------------------------------------------------------- drift
def drift(
    inspect: Mapping[str, Any],
    declared: Mapping[str, Any],
    image: Mapping[str, Any] | None = None,
) -> list[DriftItem]:
    """Differences between a compose service (effective config) and its running container."""
    cfg = inspect.get("Config") or {}
    hc = inspect.get("HostConfig") or {}
    out: list[DriftItem] = []
    image_cfg = (image or {}).get("Config") or {}

    # image
    if declared.get("image") and cfg.get("Image") and str(declared["image"]) != str(cfg["Image"]):
        out.append(DriftItem("image", declared["image"], cfg["Image"], STALE))

    # user (the running Config.User already includes the image's USER)
    running_user = str(cfg.get("User") or "")
    if "user" in declared and declared.get("user") is not None:
        if str(declared["user"]) != running_user:
            out.append(DriftItem("user", str(declared["user"]), running_user, STALE))
    elif image is not None and running_user != str(image_cfg.get("User") or ""):
        out.append(DriftItem("user", None, running_user, AHEAD))

    _compare_flag(
        out,
        "read_only",
        bool(declared.get("read_only")),
        bool(hc.get("ReadonlyRootfs")),
        hardening=True,
    )
    _compare_flag(
        out,
        "privileged",
        bool(declared.get("privileged")),
        bool(hc.get("Privileged")),
        hardening=False,
    )

    # capabilities: compare what each side effectively grants; name the key it comes from
    d_drop_raw, r_drop_raw = _caps(_as_list(declared.get("cap_drop"))), _caps(hc.get("CapDrop"))
    d_add, r_add = _caps(_as_list(declared.get("cap_add"))), _caps(hc.get("CapAdd"))
    eff_d = _effective_caps(d_drop_raw, d_add)
    eff_r = _effective_caps(r_drop_raw, r_add)
    cap_values = {
        "cap_drop": (sorted(d_drop_raw), sorted(r_drop_raw)),
        "cap_add": (sorted(d_add), sorted(r_add)),
    }
    for extra, added, direction in ((eff_r - eff_d, r_add, STALE), (eff_d - eff_r, d_add, AHEAD)):
        keys = {"cap_add" if cap in added else "cap_drop" for cap in extra}
        for key in ("cap_drop", "cap_add"):
            if key in keys:
                out.append(DriftItem(key, *cap_values[key], direction))

    # security_opt
    d_sec, r_sec = (
        _as_list(declared.get("security_opt")),
        [str(o) for o in hc.get("SecurityOpt") or []],
    )
    _compare_flag(
        out,
        "security_opt: no-new-privileges",
        has_no_new_privileges(d_sec),
        has_no_new_privileges(r_sec),
        hardening=True,
    )
    for key, value in (("seccomp", "unconfined"), ("apparmor", "unconfined"), ("label", "disable")):
        d_has = value in security_opt_value(d_sec, key)
        r_has = value in security_opt_value(r_sec, key)
        if key == "label" and not d_has and label_disabled_by_docker(hc):
            r_has = False  # added by Docker itself (privileged, host PID/IPC)
        _compare_flag(out, f"security_opt: {key}={value}", d_has, r_has, hardening=False)
    d_seccomp = [v for v in security_opt_value(d_sec, "seccomp") if v != "unconfined"]
    r_seccomp = [v for v in security_opt_value(r_sec, "seccomp") if v != "unconfined"]
    if d_seccomp and not r_seccomp:
        out.append(DriftItem("security_opt: seccomp", d_seccomp, r_seccomp, STALE))

    # limits (compose short keys win when both are present, as compose does)
    limits = _limits(declared)
    _compare_limit(
        out,
        "pids_limit",
        _limit_running(_int_or_none(declared.get("pids_limit", limits.get("pids")))),
        _limit_running(hc.get("PidsLimit")),
    )
    mem_decl = (
        declared.get("mem_limit")
        if declared.get("mem_limit") not in (None, "")
        else limits.get("memory")
    )
    _compare_limit(
        out, "mem_limit", _limit_running(parse_memory(mem_decl)), _limit_running(hc.get("Memory"))
    )
    cpus_decl = (
        declared.get("cpus") if declared.get("cpus") not in (None, "") else limits.get("cpus")
    )
    running_nano = _limit_running(hc.get("NanoCpus"))
    if running_nano is None and int(hc.get("CpuQuota") or 0) > 0:
        period = int(hc.get("CpuPeriod") or 100000)
        running_nano = round(int(hc["CpuQuota"]) / period * 1e9)
    _compare_limit(out, "cpus", _limit_running(parse_cpus(cpus_decl)), running_nano)

    # namespaces
    for key, hkey in (
        ("network_mode", "NetworkMode"),
        ("pid", "PidMode"),
        ("ipc", "IpcMode"),
        ("uts", "UTSMode"),
        ("userns_mode", "UsernsMode"),
    ):
        d_host = str(declared.get(key) or "") == "host"
        r_host = str(hc.get(hkey) or "") == "host"
        _compare_flag(out, key, d_host, r_host, hardening=False)

    # ports: less exposure is harder
    d_ports = _declared_ports(declared.get("ports") or [])
    r_ports = {b.container_port: b for b in port_bindings(inspect)}
    for cport in sorted(set(d_ports) | set(r_ports)):
        d, r = d_ports.get(cport), r_ports.get(cport)
        if d is not None and r is None:
            out.append(DriftItem(f"ports {cport}", _port_text(*d, cport), None, AHEAD))
        elif d is None and r is not None:
            out.append(
                DriftItem(
                    f"ports {cport}", None, _port_text(r.host_ips[0], r.host_port, cport), STALE
                )
            )
        elif d is not None and r is not None:
            d_all = _all_interfaces(d[0])
            r_all = r.all_interfaces
            declared_text = _port_text(*d, cport)
            running_text = _port_text(r.host_ips[0], r.host_port, cport)
            if d_all != r_all:
                out.append(
                    DriftItem(
                        f"ports {cport}", declared_text, running_text, STALE if r_all else AHEAD
                    )
                )
            elif d[1] and r.host_port and d[1] != r.host_port:
                out.append(DriftItem(f"ports {cport}", declared_text, running_text, STALE))

    # tmpfs
    d_tmpfs = {str(t).split(":", 1)[0] for t in _as_list(declared.get("tmpfs"))}
    r_tmpfs = {str(t["target"]) for t in tmpfs_mounts(inspect)}
    if d_tmpfs - r_tmpfs:
        out.append(DriftItem("tmpfs", sorted(d_tmpfs), sorted(r_tmpfs), STALE))
    if r_tmpfs - d_tmpfs:
        out.append(DriftItem("tmpfs", sorted(d_tmpfs), sorted(r_tmpfs), AHEAD))

    # healthcheck (the running Config.Healthcheck already includes the image's)
    d_hc = declared.get("healthcheck")
    r_test = list((cfg.get("Healthcheck") or {}).get("Test") or [])
    r_on = bool(r_test) and r_test[0].upper() != "NONE"
    if isinstance(d_hc, Mapping):
        d_test = _as_list(d_hc.get("test"))
        d_on = not d_hc.get("disable") and bool(d_test) and d_test[0].upper() != "NONE"
        if d_on != r_on:
            out.append(
                DriftItem("healthcheck", d_test or None, r_test or None, STALE if d_on else AHEAD)
            )
    elif r_on and image is not None:
        i_test = list((image_cfg.get("Healthcheck") or {}).get("Test") or [])
        if not i_test or i_test[0].upper() == "NONE":
            out.append(DriftItem("healthcheck", None, r_test, AHEAD))

    return out


def _port_text(ip: str, published: str, cport: str) -> str:
    target = cport.split("/", 1)[0]
    proto = cport.split("/", 1)[1] if "/" in cport else "tcp"
    host = f"{ip}:" if ip else ""
    pub = f"{published}:" if published else ""
    suffix = "" if proto == "tcp" else f"/{proto}"
    return f"{host}{pub}{target}{suffix}"


def _fmt(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "[]"
    return str(value)


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
    svc = service or (ident.service if ident else name)
    out: list[Finding] = []
    for item in drift(inspect, declared, image):
        if item.direction == STALE:
            message = (
                f"{item.field}: the file declares {_fmt(item.declared)}, the running container has "
                f"{_fmt(item.running)}: recreate it (docker compose up -d --force-recreate {svc})"
            )
        else:
            message = (
                f"{item.field}: the container runs with {_fmt(item.running)}, the file declares "
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
