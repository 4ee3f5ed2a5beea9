"""Fix parameters: what each input means, how it is checked and how it is written.

Every value a fix is built with passes through here, whatever its source (`--set`, the TUI form,
the config file, the live engine, the checklist defaults), because each ends up inside a
Dockerfile or a compose file: a newline, a quote or a colon in the wrong place would become
syntax there. Values are normalised (`1g` -> `1G`, `cap_net_raw` -> `NET_RAW`) so the same input
always writes the same bytes.

The API is three functions and one error:

    validate(name_or_spec, value) -> normalised value        (one field)
    validate_all({name: value})   -> {name: normalised}      (a whole form or every --set)
    consistent(values, sources)   -> values                  (limits above reservations)
    ParamError(name, reason)                                  (str: "name: reason")

`KINDS[name].hint` is a short description of the accepted format for a form's placeholder.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class ParamError(ValueError):
    """A parameter value that cannot be used; `reason` says why in one line."""

    def __init__(self, name: str | None, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}" if name else reason)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """How one parameter is checked: `check(value) -> normalised`, raising ValueError(reason)."""

    kind: str
    hint: str
    check: Callable[[str], str]
    empty_ok: bool = False  # an empty value means "none" or "batten decides"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains a control character or line break")
    return value


# -- numbers and sizes -------------------------------------------------------------------------

def _int(lo: int, hi: int, what: str = "a whole number") -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(r"\d{1,12}", value):
            raise ValueError(f"{value!r} is not {what}")
        n = int(value)
        if n < lo or n > hi:
            raise ValueError(f"{n} is outside {lo}..{hi}")
        return str(n)

    return check


def _id(value: str) -> str:
    if not re.fullmatch(r"\d{1,10}", value):
        raise ValueError(f"{value!r} is not a numeric id")
    n = int(value)
    if n == 0:
        raise ValueError("0 is root")
    if n > 2**31 - 1:
        raise ValueError(f"{n} is above 2147483647 (many tools read larger ids as negative)")
    return str(n)


_BINARY = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
# Docker's units.RAMInBytes / FromHumanSize: a number, an optional space, k/m/g/t/p, optional i, optional b
_SIZE = re.compile(r"(\d{1,15}(?:\.\d{1,9})?) ?([kmgtp]?)(i?)(b?)", re.IGNORECASE)


def _bytes(value: str, table: Mapping[str, int]) -> int:
    m = _SIZE.fullmatch(value)
    if m is None or (m.group(3) and not m.group(2)):
        raise ValueError(f"{value!r} is not a size (a number with b, k, m or g, e.g. 512M)")
    n = Decimal(m.group(1)) * table[m.group(2).lower()]
    if n != n.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(n)


def _format_size(n: int, table: Mapping[str, int], upper: bool) -> str:
    for unit in ("p", "t", "g", "m", "k"):
        if n % table[unit] == 0:
            return f"{n // table[unit]}{unit.upper() if upper else unit}"
    return f"{n}b"


def _memory(minimum: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        n = _bytes(value, _BINARY)
        if n < minimum:
            raise ValueError(f"{value} is below Docker's minimum of {_format_size(minimum, _BINARY, True)}")
        if n > 1 << 50:
            raise ValueError(f"{value} is above 1P")
        return _format_size(n, _BINARY, True)

    return check


@functools.lru_cache(maxsize=1024)
def memory_bytes(value: str) -> int:
    """Bytes of a memory value as Docker reads it (binary units)."""
    return _bytes(value, _BINARY)


def _log_size(value: str) -> str:
    n = _bytes(value, _DECIMAL)  # the json-file driver reads decimal units (10m = 10,000,000 bytes)
    if n < 1000:
        raise ValueError(f"{value} is below 1k")
    if n > 10**15:
        raise ValueError(f"{value} is above 1000t")
    return _format_size(n, _DECIMAL, False)


def _cpus(value: str) -> str:
    if not re.fullmatch(r"\d{1,5}(?:\.\d{1,9})?|\.\d{1,9}", value):
        raise ValueError(f"{value!r} is not a number of CPUs (e.g. 0.5 or 2)")
    d = Decimal(value)
    if d < Decimal("0.01"):
        raise ValueError(f"{value} is below Docker's minimum of 0.01")
    if d > 1024:
        raise ValueError(f"{value} is above 1024")
    text = format(d.normalize(), "f")
    return text if "." in text else text + ".0"


def cpus_value(value: str) -> Decimal:
    return Decimal(value)


# Go's time.ParseDuration, as Docker and Compose read durations
_DURATION_PART = re.compile(r"(\d{1,9}(?:\.\d{1,9})?|\.\d{1,9})(ns|us|µs|μs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}


def duration_nanos(value: str) -> int:
    if not value or not re.fullmatch(f"(?:{_DURATION_PART.pattern})+", value):
        raise ValueError(f"{value!r} is not a duration (e.g. 30s, 1m30s, 500ms)")
    total = sum(Decimal(m.group(1)) * _NANOS[m.group(2)] for m in _DURATION_PART.finditer(value))
    return int(total)


def _duration(zero_ok: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = value.lower()
        n = duration_nanos(value)
        if n == 0 and zero_ok:
            return value
        if n < 10**6:
            raise ValueError(f"{value} is below Docker's minimum of 1ms")
        if n > 24 * 3600 * 10**9:
            raise ValueError(f"{value} is above 24h")
        return value

    return check


# -- names and paths ---------------------------------------------------------------------------

_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def _user_name(value: str) -> str:
    if not _USER_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a portable user name (a-z, 0-9, _ and -, up to 32, "
                         "not starting with a digit or -)")
    if value == "root":
        raise ValueError("root is the user the fix moves away from")
    return value


_USER_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?")


def _user(value: str) -> str:
    """Compose `user:`: uid, uid:gid, name or name:group; never root."""
    user, sep, group = value.partition(":")
    if user.isdigit():
        user = _id(user)
    elif not _USER_PART.fullmatch(user):
        raise ValueError(f"{value!r} is not uid[:gid] or name[:group]")
    elif user == "root":
        raise ValueError("root is the user the fix moves away from")
    if sep:
        if group.isdigit():
            if len(group) > 10 or int(group) > 2**31 - 1:
                raise ValueError(f"{group} is above 2147483647")
            group = str(int(group))
        elif not _USER_PART.fullmatch(group):
            raise ValueError(f"{value!r} is not uid[:gid] or name[:group]")
    return f"{user}:{group}" if sep else user


_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._@+=~-]+")


def container_path(value: str) -> str:
    """An absolute path inside the container, in a form that cannot become YAML, Dockerfile or
    mount-option syntax (no ':', ',', quotes, spaces, '#', newlines)."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path")
    if len(value) > 1024:
        raise ValueError("path longer than 1024 characters")
    parts = [p for p in value.split("/") if p]
    if not parts:
        raise ValueError("/ itself cannot be a tmpfs")
    for p in parts:
        if p in (".", ".."):
            raise ValueError(f"{value!r} has a '{p}' component")
        if not _PATH_SEGMENT.fullmatch(p):
            raise ValueError(f"{value!r} has a character batten does not write into a path "
                             "(allowed: letters, digits and . _ @ + = ~ -)")
    return "/" + "/".join(parts)


def _list(item: Callable[[str], str], limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        out: list[str] = []
        for raw in value.split(","):
            raw = raw.strip()
            if raw:
                v = item(raw)
                if v not in out:
                    out.append(v)
        if len(out) > limit:
            raise ValueError(f"more than {limit} entries")
        return ",".join(out)

    return check


_FLAGS = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime",
          "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime"}
_OPT_VALUES = {
    "size": re.compile(r"\d{1,15}[kmg%]?", re.IGNORECASE),
    "nr_blocks": re.compile(r"\d{1,15}[kmg]?", re.IGNORECASE),
    "nr_inodes": re.compile(r"\d{1,15}[kmg]?", re.IGNORECASE),
    "mode": re.compile(r"[0-7]{3,4}"),
    "uid": re.compile(r"\d{1,10}"),
    "gid": re.compile(r"\d{1,10}"),
}
_OPPOSITES = [("ro", "rw"), ("exec", "noexec"), ("suid", "nosuid"), ("dev", "nodev")]


def _tmpfs_option(value: str) -> str:
    key, eq, val = value.partition("=")
    key = key.lower()
    if not eq:
        if key not in _FLAGS:
            raise ValueError(f"{value!r} is not a tmpfs mount option (e.g. noexec, nosuid, nodev, size=64m)")
        return key
    pattern = _OPT_VALUES.get(key)
    if pattern is None:
        raise ValueError(f"{key!r} is not a tmpfs mount option with a value (size, mode, uid, gid, nr_inodes)")
    if not pattern.fullmatch(val):
        raise ValueError(f"{value!r}: bad value for {key}")
    return f"{key}={val.lower()}"


def _tmpfs_options(value: str) -> str:
    out = _list(_tmpfs_option, 16)(value)
    opts = set(out.split(","))
    for a, b in _OPPOSITES:
        if a in opts and b in opts:
            raise ValueError(f"both {a} and {b}")
    keys = [o.split("=", 1)[0] for o in opts if "=" in o]
    if len(keys) != len(set(keys)):
        raise ValueError("an option is given twice with different values")
    return out


LINUX_CAPABILITIES = frozenset({
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
})


def _capability(value: str) -> str:
    cap = value.upper()
    cap = cap[4:] if cap.startswith("CAP_") else cap
    if cap == "ALL":
        raise ValueError("ALL would undo the fix: name the capabilities the service needs")
    if cap not in LINUX_CAPABILITIES:
        raise ValueError(f"{value!r} is not a Linux capability")
    return cap


def _ip(value: str) -> str:
    try:
        ip = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    if ip.is_unspecified:
        raise ValueError(f"{value} listens on every interface, which is what the fix removes")
    if getattr(ip, "scope_id", None):
        raise ValueError("scoped IPv6 addresses are not supported")
    return str(ip)


_NETWORK = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}")


def _network(value: str) -> str:
    if not _NETWORK.fullmatch(value):
        raise ValueError(f"{value!r} is not a network name (letters, digits, _ . -; up to 64)")
    if value in ("default", "host", "none", "bridge"):
        raise ValueError(f"{value!r} is a network Docker defines itself")
    return value


def _command(value: str) -> str:
    _printable(value)
    if len(value) > 1024:
        raise ValueError("longer than 1024 characters")
    if value.endswith(("\\", "`")):
        raise ValueError("ends with a line-continuation character")
    if value.startswith("["):  # exec form, for images without a shell
        try:
            words = json.loads(value)
        except ValueError:
            raise ValueError("starts with '[' but is not a JSON list of strings") from None
        if not (isinstance(words, list) and words and all(isinstance(w, str) and w for w in words)):
            raise ValueError("starts with '[' but is not a JSON list of strings")
        return json.dumps(words, ensure_ascii=False)
    return value


KINDS: dict[str, Kind] = {
    "uid": Kind("id", "numeric id, 1..2147483647", _id),
    "gid": Kind("id", "numeric id, 1..2147483647", _id),
    "user_name": Kind("user-name", "lower-case name, e.g. app", _user_name),
    "user": Kind("user", "uid:gid or name[:group], not root (empty: the image's own user)", _user,
                 empty_ok=True),
    "memory": Kind("memory", "size with b/k/m/g, at least 6M, e.g. 512M", _memory(6 << 20)),
    "memory_reservation": Kind("memory", "size with b/k/m/g, e.g. 256M; not above memory", _memory(4 << 10)),
    "cpus": Kind("cpus", "CPUs, 0.01..1024, e.g. 1.0", _cpus),
    "cpus_reservation": Kind("cpus", "CPUs, e.g. 0.5; not above cpus", _cpus),
    "pids_limit": Kind("count", "processes, 1..4194304", _int(1, 4194304)),
    "tmpfs_paths": Kind("paths", "absolute paths, comma-separated, e.g. /tmp,/run",
                        _list(container_path, 64), empty_ok=True),
    "tmpfs_options": Kind("mount-options", "e.g. noexec,nosuid,nodev,size=64m", _tmpfs_options, empty_ok=True),
    "cap_add": Kind("capabilities", "capability names, comma-separated, e.g. NET_BIND_SERVICE (empty: none)",
                    _list(_capability, 64), empty_ok=True),
    "bind_ip": Kind("ip", "an IP address of this host, e.g. 127.0.0.1", _ip),
    "network": Kind("network", "network name, e.g. backend (empty: backend)", _network, empty_ok=True),
    "healthcheck_cmd": Kind("command", "one shell command line, or a JSON list for exec form (empty: derived)", _command, empty_ok=True),
    "healthcheck_interval": Kind("duration", "duration, e.g. 30s", _duration(False)),
    "healthcheck_timeout": Kind("duration", "duration, e.g. 5s", _duration(False)),
    "healthcheck_start_period": Kind("duration", "duration, e.g. 10s", _duration(True)),
    "healthcheck_retries": Kind("count", "1..100", _int(1, 100)),
    "log_max_size": Kind("log-size", "size with k/m/g, e.g. 10m", _log_size),
    "log_max_file": Kind("count", "files, 1..100", _int(1, 100)),
}


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise ParamError(name, f"unknown parameter (known: {', '.join(sorted(KINDS))})")
    return kind


def validate(param: str | _Named, value: str) -> str:
    """The normalised form of `value` for the parameter (a name or a ParamSpec); ParamError if
    it cannot be used."""
    name = param if isinstance(param, str) else param.name
    if not isinstance(value, str):
        raise ParamError(name, "not a string")
    return _validate(name, value)


@functools.lru_cache(maxsize=4096)
def _validate(name: str, value: str) -> str:  # every planned fix validates its values: the same few
    kind = kind_of(name)
    value = value.strip()
    if not value:
        if kind.empty_ok:
            return ""
        raise ParamError(name, "a value is required")
    if len(value) > 4096:
        raise ParamError(name, "longer than 4096 characters")
    try:
        return kind.check(_printable(value))
    except ParamError:
        raise
    except ValueError as exc:
        raise ParamError(name, str(exc)) from None


def validate_all(values: Mapping[str, str]) -> dict[str, str]:
    """Every value normalised (the first bad one raises), then checked against each other."""
    out = {name: validate(name, value) for name, value in values.items()}
    consistent(out, dict.fromkeys(out, "user"))
    return out


# limit, reservation, how to read them, how to write half a limit
_PAIRS: tuple[tuple[str, str, Callable[[str], Decimal | int], Callable[[Decimal | int], str]], ...] = (
    ("memory", "memory_reservation", memory_bytes,
     lambda n: _format_size(max(1 << 20, int(n) // 2 >> 20 << 20), _BINARY, True)),
    ("cpus", "cpus_reservation", cpus_value, lambda n: _cpus(str(max(Decimal("0.01"), (Decimal(n) / 2).quantize(Decimal("0.01")))))),
)


def consistent(values: dict[str, str], sources: Mapping[str, str]) -> dict[str, str]:
    """Make the values agree with each other, in place: a reservation above its limit (Docker
    refuses to start such a container) is lowered to half the limit when it is a checklist
    default; when it was chosen (--set, form, config) that is a ParamError."""
    for limit, reserve, read, half in _PAIRS:
        lv, rv = values.get(limit), values.get(reserve)
        if not lv or not rv or read(rv) <= read(lv):
            continue
        if sources.get(reserve, "checklist") == "checklist":
            values[reserve] = half(read(lv))
        else:
            raise ParamError(reserve, f"{rv} is above the {limit} limit {lv} (Docker refuses to start that)")
    return values
