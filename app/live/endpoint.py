"""Which Docker engine to talk to, resolved the way the docker CLI resolves it.

Order (docker/cli `resolveContextName` and `getDockerEndpoint`):

1. ``--host`` (``host=``) and ``--context`` (``context=``) together are an error, as in the CLI;
2. ``--context NAME`` (explicit) selects that context;
3. ``--host URL`` selects the "default" context with that URL;
4. ``DOCKER_HOST`` selects the "default" context with that URL (TLS from ``DOCKER_TLS_VERIFY``
   and ``DOCKER_CERT_PATH``);
5. ``DOCKER_CONTEXT`` names a context;
6. ``currentContext`` in ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``);
7. otherwise ``unix:///var/run/docker.sock``.

A named context is read from the CLI's context store without running the CLI:
``contexts/meta/<sha256(name)>/meta.json`` gives ``Endpoints.docker.Host`` and ``SkipTLSVerify``;
TLS material lives in ``contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem``.

Only the standard library is used here: resolving an endpoint never touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from batten.model import BattenError, UsageError
from batten.sanitize import one_line

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"


class EndpointError(BattenError):
    """The engine endpoint could not be resolved (bad URL, unknown context, broken store)."""


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """Client TLS for a tcp:// endpoint. Paths are None when the file does not exist."""

    verify: bool
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    @property
    def describe(self) -> str:
        return "TLS (verified)" if self.verify else "TLS (server not verified)"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the engine is and how it was chosen.

    ``source`` is one of ``--host``, ``--context``, ``DOCKER_HOST``, ``DOCKER_CONTEXT``,
    ``config.json``, ``default`` (or ``replay`` for recorded data).
    """

    url: str
    source: str
    context: str | None = None
    tls: TLSConfig | None = None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else ""

    @property
    def is_ssh(self) -> bool:
        return self.scheme == "ssh"

    @property
    def socket_path(self) -> str | None:
        return self.url[len("unix://") :] if self.scheme == "unix" else None

    @property
    def warning(self) -> str | None:
        """Said before connecting: plain tcp:// has no encryption and no authentication."""
        if self.scheme == "tcp" and self.tls is None:
            return (f"{self.url} is plain TCP without TLS: anyone who can reach it controls the engine "
                    "and can read or forge its answers (use ssh:// or TLS)")
        return None

    @property
    def display(self) -> str:
        """One line for the UI header, e.g. ``ssh://prod (context "prod")``."""
        parts = [self.url]
        if self.tls is not None:
            parts.append(self.tls.describe)
        if self.context and self.context != DEFAULT_CONTEXT:
            parts.append(f'(context "{self.context}")')
        elif self.source == "default":
            parts.append("(default)")
        else:
            parts.append(f"(from {self.source})")
        return " ".join(parts)


def docker_config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("DOCKER_CONFIG")
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".docker"


def context_dir_name(name: str) -> str:
    """The context store keys directories by the SHA-256 of the context name."""
    return hashlib.sha256(name.encode()).hexdigest()


def normalize_host(host: str) -> str:
    """Parse a -H/DOCKER_HOST value like the CLI: bare paths are unix, bare host:port is tcp."""
    value = host.strip()
    if not value:
        return DEFAULT_HOST
    if value.startswith("/"):
        return "unix://" + value
    if "://" not in value:
        value = "tcp://" + value
    shown = one_line(host, 120)
    if _CONTROL.search(value):
        raise EndpointError(f"invalid Docker host '{shown}': control characters or spaces")
    scheme, rest = value.split("://", 1)
    scheme = scheme.lower()
    if scheme == "unix":
        if not rest:
            return DEFAULT_HOST
        return f"unix://{rest}"
    if scheme in ("tcp", "http", "https"):
        parts = _split(f"tcp://{rest}", shown)
        if not parts.hostname:
            raise EndpointError(f"invalid Docker host '{shown}': no host name")
        _check_host(parts.hostname, shown)
        return f"tcp://{rest.rstrip('/')}"
    if scheme == "ssh":
        parts = _split(value, shown)
        if not parts.hostname:
            raise EndpointError(f"invalid Docker host '{shown}': no host name after ssh://")
        _check_host(parts.hostname, shown)
        if parts.username is not None and (parts.username.startswith("-") or not parts.username):
            raise EndpointError(f"invalid Docker host '{shown}': bad user name")
        return value
    if scheme in ("npipe", "fd"):
        raise EndpointError(
            f"Docker host '{shown}': {scheme}:// endpoints are not supported by batten"
        )
    raise EndpointError(f"invalid Docker host '{shown}': unknown scheme {scheme}://")


_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HOST = re.compile(r"[A-Za-z0-9_.:%-]+")


def _split(url: str, shown: str) -> SplitResult:
    """urlsplit, with the port checked (1-65535), every failure one EndpointError line."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = "bad port" if "port" in str(exc).lower() else one_line(exc, 80)
        raise EndpointError(f"invalid Docker host '{shown}': {reason}") from None
    if port is not None and not 0 < port < 65536:
        raise EndpointError(f"invalid Docker host '{shown}': port {port} out of range")
    return parts


def _check_host(hostname: str, shown: str) -> None:
    # a host name is never an option for ssh ("-oProxyCommand=...") nor anything but a name/IP
    if hostname.startswith("-") or not _HOST.fullmatch(hostname):
        raise EndpointError(f"invalid Docker host '{shown}': bad host name")


def _tls_from_env(env: Mapping[str, str], url: str) -> TLSConfig | None:
    if not url.startswith("tcp://"):
        return None
    if not env.get("DOCKER_TLS_VERIFY"):
        return None
    cert_path = Path(env.get("DOCKER_CERT_PATH") or docker_config_dir(env)).expanduser()
    return _tls_files(cert_path, verify=True)


def _tls_files(directory: Path, *, verify: bool) -> TLSConfig:
    def existing(name: str) -> str | None:
        p = directory / name
        return str(p) if p.is_file() else None

    return TLSConfig(
        verify=verify,
        ca_cert=existing("ca.pem"),
        client_cert=existing("cert.pem"),
        client_key=existing("key.pem"),
    )


def read_context(name: str, config_dir: Path) -> Endpoint:
    """Read one named context from the CLI's context store."""
    digest = context_dir_name(name)
    meta_path = config_dir / "contexts" / "meta" / digest / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EndpointError(
            f'Docker context "{name}" not found (no {meta_path}); see `docker context ls`'
        ) from None
    except (OSError, ValueError) as exc:
        raise EndpointError(f'Docker context "{name}": cannot read {meta_path}: {exc}') from None
    docker_ep = ((meta or {}).get("Endpoints") or {}).get("docker") or {}
    host = docker_ep.get("Host")
    if not host:
        raise EndpointError(f'Docker context "{name}" has no docker endpoint host')
    url = normalize_host(str(host))
    tls: TLSConfig | None = None
    if url.startswith("tcp://"):
        tls_dir = config_dir / "contexts" / "tls" / digest / "docker"
        has_material = tls_dir.is_dir() and any(tls_dir.iterdir())
        skip_verify = bool(docker_ep.get("SkipTLSVerify"))
        if has_material or skip_verify:
            tls = _tls_files(tls_dir, verify=not skip_verify)
    return Endpoint(url=url, source="", context=name, tls=tls)


def _current_context(config_dir: Path) -> str | None:
    path = config_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EndpointError(f"cannot read {path}: {exc}") from None
    value = data.get("currentContext") if isinstance(data, dict) else None
    return str(value) if value else None


def resolve_endpoint(
    host: str | None = None,
    context: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_dir: str | os.PathLike[str] | None = None,
) -> Endpoint:
    """Resolve the engine endpoint as the docker CLI would (see the module docstring)."""
    env = os.environ if env is None else env
    cfg = Path(config_dir) if config_dir is not None else docker_config_dir(env)

    if host and context:
        raise UsageError("conflicting options: either specify --host or --context, not both")

    def named(name: str, source: str) -> Endpoint:
        if name == DEFAULT_CONTEXT:
            # the "default" context is DOCKER_HOST-or-socket, never read from the store
            env_host = env.get("DOCKER_HOST")
            if env_host:
                url = normalize_host(env_host)
                return Endpoint(url, source, DEFAULT_CONTEXT, _tls_from_env(env, url))
            return Endpoint(DEFAULT_HOST, source, DEFAULT_CONTEXT)
        ep = read_context(name, cfg)
        return Endpoint(ep.url, source, name, ep.tls)

    if context:
        return named(context, "--context")
    if host:
        url = normalize_host(host)
        return Endpoint(url, "--host", None, _tls_from_env(env, url))
    env_host = env.get("DOCKER_HOST")
    if env_host:
        url = normalize_host(env_host)
        return Endpoint(url, "DOCKER_HOST", None, _tls_from_env(env, url))
    env_context = env.get("DOCKER_CONTEXT")
    if env_context:
        return named(env_context, "DOCKER_CONTEXT")
    current = _current_context(cfg)
    if current:
        return named(current, "config.json")
    return Endpoint(DEFAULT_HOST, "default", None)
