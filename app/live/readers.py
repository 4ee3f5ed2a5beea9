"""Readers of the engine's inspect JSON: structured values out, no judgement.

``GET /containers/{id}/json`` (and ``/images/{id}/json``, ``/info``, ``/top``) say the same thing
in several places and shapes: declared (HostConfig) and effective (Mounts, NetworkSettings),
legacy strings (Binds, SecurityOpt) and structured forms (HostConfig.Mounts). The functions here
merge them into one answer each; :mod:`batten.live.facts` judges those answers and
:mod:`batten.live.drift` compares them with a compose file. Environment variables are never read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from batten.checks.base import is_root_user as _is_root_name
from batten.checks.base import norm_cap

SOCKET_NAMES: tuple[str, ...] = ("docker.sock", "containerd.sock", "podman.sock", "crio.sock")
SOCKET_DIRS: frozenset[str] = frozenset({"/run", "/var/run"})
# Docker mounts every tmpfs with these unless the options turn them off.
TMPFS_DEFAULT_FLAGS: tuple[str, ...] = ("noexec", "nosuid", "nodev")
TMPFS_NEGATION = {"exec": "noexec", "suid": "nosuid", "dev": "nodev"}
ALL_INTERFACES = ("", "0.0.0.0", "::")
NAMESPACE_KEYS: tuple[tuple[str, str], ...] = (
    ("NetworkMode", "network"),
    ("PidMode", "PID"),
    ("IpcMode", "IPC"),
    ("UTSMode", "UTS"),
    ("UsernsMode", "user"),
)


def label_disabled_by_docker(host_config: Mapping[str, Any]) -> bool:
    """Docker adds label=disable by itself for privileged and host PID/IPC containers."""
    return bool(host_config.get("Privileged")) or any(
        str(host_config.get(k) or "") == "host" for k in ("PidMode", "IpcMode")
    )


def container_name(inspect: Mapping[str, Any]) -> str:
    name = str(inspect.get("Name") or "").lstrip("/")
    return name or str(inspect.get("Id", ""))[:12]


def caps(values: Iterable[str] | None) -> set[str]:
    return {norm_cap(c) for c in (values or []) if str(c).strip()}


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
        elif opt in TMPFS_NEGATION:
            flags[TMPFS_NEGATION[opt]] = False
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


def under(path: str, prefix: str) -> bool:
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


class InspectCtx:
    """What every judgement of one container reads from its inspect JSON (`inspect`, set by
    the subclass): its Config and its HostConfig."""

    __slots__ = ()
    inspect: Mapping[str, Any]

    @property
    def cfg(self) -> Mapping[str, Any]:
        return config(self.inspect)

    @property
    def hc(self) -> Mapping[str, Any]:
        return host_config(self.inspect)


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PortBinding:
    container_port: str  # "80/tcp"
    host_ips: tuple[str, ...]
    host_port: str  # "" means a random port

    @property
    def port_number(self) -> int | None:
        return _int_or_none(self.container_port.split("/", 1)[0])

    @property
    def host_port_number(self) -> int | None:
        """The first port of the published range ("8000-8010": 8000); None for a random one."""
        return _int_or_none(self.host_port.split("-", 1)[0])

    @property
    def all_interfaces(self) -> bool:
        return any(ip in ALL_INTERFACES for ip in self.host_ips)

    @property
    def proto(self) -> str:
        return self.container_port.split("/", 1)[1] if "/" in self.container_port else "tcp"


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


def cmd_of(proc: Mapping[str, str]) -> str:
    return proc.get("CMD") or proc.get("COMMAND") or proc.get("ARGS") or ""


def program(cmd: str) -> str:
    first = cmd.split()[0] if cmd.split() else ""
    return first.rsplit("/", 1)[-1].rstrip(":")


def config(inspect: Mapping[str, Any]) -> Mapping[str, Any]:
    return inspect.get("Config") or {}


def host_config(inspect: Mapping[str, Any]) -> Mapping[str, Any]:
    return inspect.get("HostConfig") or {}


def security_opts(inspect: Mapping[str, Any]) -> list[str]:
    return [str(o) for o in host_config(inspect).get("SecurityOpt") or []]


def host_has(info: Mapping[str, Any] | None, name: str) -> bool | None:
    """Whether the engine reports a security option (e.g. apparmor); None when unknown."""
    if info is None:
        return None
    for opt in info.get("SecurityOptions") or []:
        text = str(opt)
        if text == name or text.startswith(f"name={name}"):
            return True
    return False


def healthcheck_test(cfg: Mapping[str, Any]) -> list[str]:
    """Config.Healthcheck.Test as a list ([] when none)."""
    return [str(x) for x in (cfg.get("Healthcheck") or {}).get("Test") or []]


def healthcheck_on(test: list[str]) -> bool:
    """A test that runs something (not [] and not ["NONE"])."""
    return bool(test) and test[0].upper() != "NONE"


def namespace_modes(inspect: Mapping[str, Any]) -> dict[str, str]:
    """{'NetworkMode': 'host', 'PidMode': 'container:abc', ...} (only the keys that are set)."""
    hc = host_config(inspect)
    return {key: str(hc.get(key)) for key, _label in NAMESPACE_KEYS if hc.get(key)}


def memory_limit(inspect: Mapping[str, Any]) -> int:
    return int(host_config(inspect).get("Memory") or 0)


def cpu_nano(inspect: Mapping[str, Any]) -> int | None:
    """The CPU limit in NanoCpus (from NanoCpus or CpuQuota/CpuPeriod); None when unlimited."""
    hc = host_config(inspect)
    nano = int(hc.get("NanoCpus") or 0)
    if nano > 0:
        return nano
    quota = int(hc.get("CpuQuota") or 0)
    if quota > 0:
        return round(quota / int(hc.get("CpuPeriod") or 100000) * 1e9)
    return None


def devices(inspect: Mapping[str, Any]) -> list[dict[str, str]]:
    """Host devices passed through (HostConfig.Devices): host path, container path, permissions."""
    return [
        {
            "host": str(d.get("PathOnHost") or ""),
            "container": str(d.get("PathInContainer") or d.get("PathOnHost") or ""),
            "permissions": str(d.get("CgroupPermissions") or "rwm"),
        }
        for d in host_config(inspect).get("Devices") or []
        if isinstance(d, Mapping)
    ]


_PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def mount_propagations(inspect: Mapping[str, Any]) -> list[dict[str, str]]:
    """The propagation of every bind mount (effective Mounts, HostConfig.Mounts, Binds)."""
    out: dict[str, dict[str, str]] = {}
    for m in inspect.get("Mounts") or []:
        if str(m.get("Type", "")).lower() == "bind" and m.get("Propagation"):
            dst = str(m.get("Destination", ""))
            out[dst] = {"source": str(m.get("Source", "")), "destination": dst,
                        "propagation": str(m["Propagation"])}  # fmt: skip
    hc = host_config(inspect)
    for m in hc.get("Mounts") or []:
        prop = str(((m.get("BindOptions") or {}).get("Propagation")) or "")
        dst = str(m.get("Target", ""))
        if str(m.get("Type", "")).lower() == "bind" and prop and dst not in out:
            out[dst] = {"source": str(m.get("Source", "")), "destination": dst, "propagation": prop}
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) < 3 or parts[1] in out:
            continue
        prop = next((o for o in parts[2].split(",") if o in _PROPAGATIONS), "")
        if prop:
            out[parts[1]] = {"source": parts[0], "destination": parts[1], "propagation": prop}
    return [out[k] for k in sorted(out)]


def ulimits(inspect: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """HostConfig.Ulimits: name -> (soft, hard)."""
    return {
        str(u.get("Name")): (int(u.get("Soft") or 0), int(u.get("Hard") or 0))
        for u in host_config(inspect).get("Ulimits") or []
        if isinstance(u, Mapping) and u.get("Name")
    }


def networks(inspect: Mapping[str, Any]) -> list[str]:
    """Names of the networks the container is attached to."""
    return sorted((inspect.get("NetworkSettings") or {}).get("Networks") or {})


def on_default_bridge(inspect: Mapping[str, Any]) -> bool:
    """Attached to the engine's default bridge (docker0): NetworkMode default/bridge, or the
    network named bridge."""
    mode = str(host_config(inspect).get("NetworkMode") or "")
    return mode in ("default", "bridge") or "bridge" in networks(inspect)
