"""What a running container shows about the fixes it can take (defaults for fix parameters).

Only read-only engine calls are used (inspect, changes, one-shot stats, top); nothing is
executed inside the container, so the image's users are discovered from its config and from
the processes that already run, not from /etc/passwd.

``Evidence.defaults()`` feeds the ``needs-input`` fixes: ``tmpfs_paths``, ``cap_add``,
``memory``, ``cpus``, ``user``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.live.readers import (
    bind_mounts,
    container_name,
    exposed_ports,
    is_root_user,
    port_bindings,
    processes,
    tmpfs_mounts,
)
from batten.live.values import MIB, format_memory, memory_step

DEFAULT_TMPFS = ("/tmp", "/run")
DEFAULT_USER = "10001:10001"
MIN_MEMORY = 64 * MIB

# Directories whose content is volatile by convention: a tmpfs there hides nothing that matters.
# value = how many path components below the prefix make the proposed mount point.
VOLATILE_PREFIXES: dict[str, int] = {
    "/tmp": 0,
    "/var/tmp": 0,
    "/run": 0,
    "/var/run": 0,
    "/dev/shm": 0,
    "/var/cache": 1,
}
# Not volatile on purpose: /var/lib/<x> and /home hold state, and /var/log/<x> often holds
# symlinks to /dev/stdout (official nginx image) that a tmpfs would hide.
# Never propose a tmpfs over these (it would hide the image's files).
NEVER_TMPFS = frozenset(
    {"/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/var", "/proc", "/sys", "/dev"}
)

# Servers that listen on 80 unless told otherwise.
DEFAULT_PORT_80 = frozenset({"nginx", "httpd", "apache2", "lighttpd", "caddy", "haproxy"})
_PORT_ARGS = re.compile(
    r"(?:^|\s)(?:-p|--port|--listen|-l|--bind|-b|--http-port|--server\.port)(?:=|\s+)"
    r"(?:\[?[\w.:-]*\]?:)?(\d{1,5})\b"
)
_ADDR_PORT = re.compile(
    r"(?:^|[\s=])(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]*\]|localhost|\*)?:(\d{1,5})\b"
)



@dataclass(slots=True)
class Evidence:
    container: str
    written: list[str] = field(default_factory=list)  # leaf paths added/modified since start
    tmpfs_observed: list[str] = field(default_factory=list)  # directories worth a tmpfs
    other_writes: list[str] = field(default_factory=list)  # writes a tmpfs cannot cover safely
    tmpfs_existing: list[str] = field(default_factory=list)
    tmpfs_paths: list[str] = field(default_factory=list)  # proposal
    low_ports: dict[int, str] = field(default_factory=dict)  # port -> how it was seen
    cap_add: list[str] = field(default_factory=list)
    memory_usage: int | None = None  # bytes, without page cache
    memory_peak: int | None = None
    memory_limit: int | None = None  # bytes the container runs limited to, if any
    memory: str = "64M"
    memory_reservation: str | None = None  # never above memory
    cpu_usage: float | None = None  # cores
    cpus: str = "1.0"
    users: list[str] = field(default_factory=list)  # non-root users seen (image, config, top)
    user: str = DEFAULT_USER
    notes: list[str] = field(default_factory=list)

    def defaults(self) -> dict[str, str]:
        """Values observed on the container (a value that was not observed is left out, so the
        fix falls back to config or checklist and says so). The engine is untrusted: a value that
        is not a plain path, user or capability name for its parameter (a `docker diff` path
        `/opt/a,/etc`, a Config.User with a quote and a newline) is left out too, never passed on."""
        paths = [p for p in self.tmpfs_paths if _SAFE_PATH.fullmatch(p) and p not in NEVER_TMPFS
                 and not {".", ".."} & set(p.split("/"))]
        out = {"tmpfs_paths": ",".join(paths),
               "cap_add": ",".join(c for c in self.cap_add if _CAP_NAME.fullmatch(c))}
        if self.memory_usage is not None or self.memory_limit is not None or self.memory_reservation:
            out["memory"] = self.memory
        if self.memory_reservation is not None:
            out["memory_reservation"] = self.memory_reservation
        if self.cpu_usage is not None:
            out["cpus"] = self.cpus
        if self.users and _SAFE_USER.fullmatch(self.user):
            out["user"] = self.user
        return out


_SAFE_PATH = re.compile(r"/[A-Za-z0-9._@+/-]{0,4095}")
_SAFE_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?")
_CAP_NAME = re.compile(r"[A-Z][A-Z_]{1,31}")


# ---------------------------------------------------------------------- filesystem
def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def mounted_paths(inspect: Mapping[str, Any]) -> list[str]:
    """Destinations already backed by something other than the container's layer."""
    out = {str(m.get("Destination") or "") for m in inspect.get("Mounts") or []}
    out |= {m["destination"] for m in bind_mounts(inspect)}
    out |= {str(t["target"]) for t in tmpfs_mounts(inspect)}
    return sorted(p for p in out if p)


def reduce_changes(
    changes: Iterable[Mapping[str, Any]], mounted: Iterable[str] = ()
) -> tuple[list[str], list[str], list[str]]:
    """Reduce ``GET /containers/{id}/changes`` to (written leaves, tmpfs dirs, other writes).

    A directory qualifies for a tmpfs when it was created at runtime (nothing from the image is
    hidden by mounting over it) or lies under a conventionally volatile prefix (/tmp, /run,
    /var/cache/<x>...). Writes anywhere else are reported, not proposed.
    """
    mounted = [m for m in mounted if m]
    all_paths: list[str] = []
    kinds: dict[str, int] = {}
    for ch in changes:
        path = str(ch.get("Path") or "")
        if not path.startswith("/"):
            continue
        all_paths.append(path)
        if any(_under(path, m) for m in mounted):
            continue
        kinds[path] = int(ch.get("Kind", 0))
    has_child: set[str] = set()
    for path in all_paths:
        cur = _parent(path)
        while cur not in has_child:
            has_child.add(cur)
            if cur == "/":
                break
            cur = _parent(cur)
    # leaves: added/modified entries without changed children (directories show up as "modified")
    leaves = sorted(p for p, k in kinds.items() if k in (0, 1) and p not in has_child)
    dirs: set[str] = set()
    others: set[str] = set()
    for leaf in leaves:
        target = _tmpfs_dir_for(leaf, kinds)
        if target is None:
            others.add(leaf)
        else:
            dirs.add(target)
    # keep outermost directories only
    reduced = sorted(d for d in dirs if not any(o != d and _under(d, o) for o in dirs))
    return leaves, reduced, sorted(others)


def _tmpfs_dir_for(leaf: str, kinds: Mapping[str, int]) -> str | None:
    # 1. conventionally volatile places
    for prefix, depth in sorted(VOLATILE_PREFIXES.items(), key=lambda kv: -len(kv[0])):
        if _under(leaf, prefix) and leaf != prefix:
            rest = leaf[len(prefix) :].strip("/").split("/")
            if depth == 0:
                return "/run" if prefix == "/var/run" else prefix
            if len(rest) > depth:  # a file directly in /var/cache is not a directory to mount
                return prefix + "/" + "/".join(rest[:depth])
            return None
    # 2. the outermost directory created at runtime that contains the leaf
    created = None
    cur = _parent(leaf)
    while cur != "/":
        if kinds.get(cur) == 1:
            created = cur
        cur = _parent(cur)
    if created and created not in NEVER_TMPFS:
        return created
    return None


# ---------------------------------------------------------------------- ports & users
def low_ports(inspect: Mapping[str, Any], top: Mapping[str, Any] | None = None) -> dict[int, str]:
    """Container ports below 1024 the container listens on, with how each was seen."""
    found: dict[int, str] = {}
    for p in exposed_ports(inspect):
        try:
            n = int(p.split("/", 1)[0])
        except ValueError:
            continue
        if 0 < n < 1024:
            found.setdefault(n, "ExposedPorts")
    for b in port_bindings(inspect):
        n = b.port_number
        if n is not None and 0 < n < 1024:
            found.setdefault(n, "PortBindings")
    for proc in processes(top):
        cmd = proc.get("CMD") or proc.get("COMMAND") or ""
        nums = [int(m) for m in _PORT_ARGS.findall(cmd)] + [int(m) for m in _ADDR_PORT.findall(cmd)]
        nums = [n for n in nums if 0 < n < 1024]
        for n in nums:
            found.setdefault(n, f"top: {cmd}")
        prog = (cmd.split()[0] if cmd.split() else "").rsplit("/", 1)[-1].rstrip(":")
        if not nums and prog in DEFAULT_PORT_80:
            found.setdefault(80, f"top: {prog} (listens on 80 by default)")
    return dict(sorted(found.items()))


def discovered_users(
    inspect: Mapping[str, Any], image: Mapping[str, Any] | None, top: Mapping[str, Any] | None
) -> list[str]:
    users: list[str] = []

    def add(u: str) -> None:
        u = u.strip()
        if not u or is_root_user(u):
            return
        if any(u.split(":", 1)[0] == known.split(":", 1)[0] for known in users):
            return  # "10001" from top is the "10001:10001" already known
        users.append(u)

    if image is not None:
        add(str((image.get("Config") or {}).get("User") or ""))
    add(str((inspect.get("Config") or {}).get("User") or ""))
    for proc in processes(top):
        add(proc.get("UID") or proc.get("USER") or "")
    return users


# ---------------------------------------------------------------------- resources
def memory_working_set(stats: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(usage without page cache, peak) as the docker CLI computes it (cgroup v1 and v2)."""
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage")
    if usage is None:
        return None, None
    usage = int(usage)
    inner = mem.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in inner and int(inner[key]) < usage:
            usage -= int(inner[key])
            break
    peak = mem.get("max_usage")
    return usage, (int(peak) if peak is not None else None)


def cpu_cores(stats: Mapping[str, Any]) -> float | None:
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    try:
        cdelta = int(cpu["cpu_usage"]["total_usage"]) - int(pre["cpu_usage"]["total_usage"])
        sdelta = int(cpu["system_cpu_usage"]) - int(pre["system_cpu_usage"])
    except (KeyError, TypeError, ValueError):
        return None
    online = int(
        cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    )
    if sdelta <= 0 or cdelta < 0:
        return None
    return cdelta / sdelta * online


def propose_cpus(cores: float | None) -> str:
    if cores is None or cores * 2 <= 1.0:
        return "1.0"
    return f"{math.ceil(cores * 2 * 2) / 2:.1f}"  # 2x headroom, in steps of 0.5


# ---------------------------------------------------------------------- assembly
def collect_evidence(
    inspect: Mapping[str, Any],
    *,
    image: Mapping[str, Any] | None = None,
    changes: Iterable[Mapping[str, Any]] | None = None,
    stats: Mapping[str, Any] | None = None,
    top: Mapping[str, Any] | None = None,
) -> Evidence:
    """Evidence from data already fetched (pure; used by tests and by ``gather_evidence``)."""
    ev = Evidence(container=container_name(inspect))
    mounted = mounted_paths(inspect)
    ev.tmpfs_existing = sorted(str(t["target"]) for t in tmpfs_mounts(inspect))
    ev.written, ev.tmpfs_observed, ev.other_writes = reduce_changes(changes or [], mounted)
    proposal: list[str] = []
    for p in [*DEFAULT_TMPFS, *ev.tmpfs_existing, *ev.tmpfs_observed]:
        if p not in proposal and not any(_under(p, q) for q in proposal):
            proposal.append(p)
    ev.tmpfs_paths = proposal
    if ev.other_writes:
        ev.notes.append(
            "writes outside volatile directories ("
            + ", ".join(ev.other_writes[:5])
            + "): a read-only root needs a volume there"
        )

    ev.low_ports = low_ports(inspect, top)
    if ev.low_ports:
        ev.cap_add = ["NET_BIND_SERVICE"]
        ev.notes.append(
            "listens below 1024 ("
            + ", ".join(str(p) for p in ev.low_ports)
            + "): NET_BIND_SERVICE keeps that working after cap_drop ALL (Docker >= 20.10 "
            "lets containers outside the host network bind them without it)"
        )

    if stats:
        ev.memory_usage, ev.memory_peak = memory_working_set(stats)
        ev.cpu_usage = cpu_cores(stats)
    # never below a limit the container already runs with: usage x 2, a floor, or that limit
    hc = inspect.get("HostConfig") or {}
    ev.memory_limit = max(0, int(hc.get("Memory") or 0)) or None
    # a reservation it runs with stays the reservation, and the limit is not below it
    reserved = max(0, int(hc.get("MemoryReservation") or 0)) or None
    limit = max(memory_step(max(MIN_MEMORY, 2 * (ev.memory_usage or 0))), ev.memory_limit or 0, reserved or 0)
    ev.memory = format_memory(limit)
    ev.memory_reservation = format_memory(min(reserved, limit)) if reserved else None
    running_cpus = max(0, int(hc.get("NanoCpus") or 0)) / 1e9
    ev.cpus = propose_cpus(ev.cpu_usage)
    if running_cpus > float(ev.cpus):
        ev.cpus = f"{running_cpus:g}"

    ev.users = discovered_users(inspect, image, top)
    ev.user = ev.users[0] if ev.users else DEFAULT_USER
    return ev


def gather_evidence(gateway: Any, container_id: str) -> Evidence:
    """Fetch inspect, image, changes, one-shot stats and top for one container (read-only)."""
    inspect = gateway.inspect_container(container_id)
    image_ref = str(inspect.get("Image") or "")
    image = gateway.inspect_image(image_ref) if image_ref else None
    running = bool((inspect.get("State") or {}).get("Running"))
    changes = gateway.changes(container_id)
    stats = gateway.stats_once(container_id) if running else None
    top = gateway.top(container_id) if running else None
    return collect_evidence(inspect, image=image, changes=changes, stats=stats, top=top)
