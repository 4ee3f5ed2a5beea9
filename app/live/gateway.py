"""Read-only access to a Docker engine.

batten never changes a container or an image: the gateway sends only GET requests (ping,
version, info, list, inspect, image inspect, changes, one-shot stats, top). The engine may be
compromised, so every call is bounded: a total deadline (not only a socket timeout: an engine
trickling one byte every two seconds is cut off too), a cap on the answer's size (an endless
chunked answer cannot exhaust memory), and a check of the answer's JSON shape (a number where an
object belongs is refused). Every failure becomes one line (:class:`EngineUnavailable` /
:class:`EngineError`), never a traceback or a hang; :meth:`DockerGateway.close` makes calls still
waiting return at once (the TUI quits whatever the engine does).

The docker SDK is imported lazily inside :class:`DockerGateway`, so importing this module (or
anything on the scan path) does not import docker.
"""

from __future__ import annotations

import contextlib
import errno
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from batten.live.endpoint import Endpoint, resolve_endpoint
from batten.model import BattenError
from batten.sanitize import one_line, safe_line

# The oldest API the SDK speaks; the real version is negotiated with the engine.
_MIN_API = "1.24"


class EngineError(BattenError):
    """The engine answered, but not with what batten asked for."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached (socket missing, refused, timed out, ssh refused...)."""


class ContainerNotFound(EngineError):
    """The container is gone (removed between list and inspect)."""


class ImageNotFound(EngineError):
    """The image does not exist on the engine (batten never pulls it)."""


@runtime_checkable
class EngineGateway(Protocol):
    """What batten needs from an engine. Implemented by DockerGateway and ReplayGateway."""

    endpoint: Endpoint

    def ping(self) -> bool: ...

    def version(self) -> dict[str, Any]: ...

    def info(self) -> dict[str, Any]: ...

    def list_containers(self, all: bool = False) -> list[dict[str, Any]]: ...

    def inspect_container(self, id: str) -> dict[str, Any]: ...

    def inspect_image(self, ref: str) -> dict[str, Any] | None: ...

    def changes(self, id: str) -> list[dict[str, Any]]: ...

    def stats_once(self, id: str) -> dict[str, Any]: ...

    def top(self, id: str) -> dict[str, Any]: ...

    def export_image(self, ref: str) -> Iterator[bytes]: ...

    def close(self) -> None: ...


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    cur: BaseException = exc
    while id(cur) not in seen:
        seen.add(id(cur))
        nxt = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
        # urllib3 keeps the socket error in .reason / args
        if nxt is None:
            for arg in getattr(cur, "args", ()):
                if isinstance(arg, BaseException):
                    nxt = arg
                    break
            reason = getattr(cur, "reason", None)
            if nxt is None and isinstance(reason, BaseException):
                nxt = reason
        if nxt is None:
            break
        cur = nxt
    return cur


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


# answers larger than these are cut off (a hostile engine can stream forever)
SMALL_ANSWER = 1 << 20  # version, info, ping
DEFAULT_ANSWER = 8 << 20  # one container or image, stats, top
LARGE_ANSWER = 32 << 20  # the container list, a container's changes
MAX_STREAM = 4 << 30  # an image export (its reader caps it lower)
_CHUNK = 64 * 1024
_API_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")
_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,511}")


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str


class _TooLarge(Exception):
    pass


class _Call:
    """One request in flight: its thread hands over an answer or an error."""

    __slots__ = ("aborted", "answer", "done", "error", "resp")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: Answer | None = None
        self.error: BaseException | None = None
        self.resp: Any = None
        self.aborted = False

    def attach(self, resp: Any) -> None:
        self.resp = resp
        if self.aborted:
            self.abort()

    def abort(self) -> None:
        """Stop reading: shut the socket down so a blocked read returns at once."""
        self.aborted = True
        self.done.set()
        resp = self.resp
        if resp is None:
            return
        raw = getattr(resp, "raw", None)
        for sock in (getattr(getattr(raw, "_connection", None), "sock", None),
                     getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None)):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------------- answer shapes
# What batten reads from each answer, with the JSON type it must have (null is always
# accepted: the engine sends it for empty lists). An answer of another shape is refused with
# one line instead of reaching the judges as a number where an object was expected.
_S, _B, _I = str, bool, int
_ANY = object
_STRS = [_S]
_STRMAP = {_S: _S}
_HEALTHCHECK = {"Test": _STRS, "Interval": _I, "Timeout": _I, "Retries": _I, "StartPeriod": _I}
_PORTMAP = {_S: [{"HostIp": _S, "HostPort": _S}]}
_IMAGE_CONFIG = {"User": _S, "Env": _STRS, "Labels": _STRMAP, "Healthcheck": _HEALTHCHECK,
                 "ExposedPorts": {_S: _ANY}, "Cmd": _STRS, "Entrypoint": _STRS, "WorkingDir": _S,
                 "Volumes": {_S: _ANY}, "StopSignal": _S}
CONTAINER_SHAPE: Any = {
    "Id": _S, "Name": _S, "Image": _S, "Path": _S, "Args": _STRS, "Created": _S, "AppArmorProfile": _S,
    "RestartCount": _I, "Driver": _S,
    "State": {"Status": _S, "Running": _B, "Paused": _B, "Restarting": _B, "OOMKilled": _B, "Dead": _B,
              "Pid": _I, "ExitCode": _I, "Error": _S, "StartedAt": _S, "FinishedAt": _S,
              "Health": {"Status": _S, "FailingStreak": _I, "Log": [{"ExitCode": _I, "Output": _S}]}},
    "Config": {**_IMAGE_CONFIG, "Image": _S, "Hostname": _S, "Tty": _B, "OpenStdin": _B},
    "HostConfig": {
        "Privileged": _B, "ReadonlyRootfs": _B, "CapAdd": _STRS, "CapDrop": _STRS, "SecurityOpt": _STRS,
        "Memory": _I, "MemoryReservation": _I, "MemorySwap": _I, "NanoCpus": _I, "CpuQuota": _I,
        "CpuPeriod": _I, "CpuShares": _I, "PidsLimit": _I, "Tmpfs": _STRMAP, "Binds": _STRS,
        "NetworkMode": _S, "PidMode": _S, "IpcMode": _S, "UTSMode": _S, "UsernsMode": _S, "CgroupnsMode": _S,
        "PortBindings": _PORTMAP, "PublishAllPorts": _B, "RestartPolicy": {"Name": _S, "MaximumRetryCount": _I},
        "LogConfig": {"Type": _S, "Config": _STRMAP}, "Devices": [{_S: _S}], "Init": _B, "GroupAdd": _STRS,
        "Sysctls": _STRMAP, "Ulimits": [{"Name": _S, "Soft": _I, "Hard": _I}], "ExtraHosts": _STRS,
        "Dns": _STRS, "VolumesFrom": _STRS, "Mounts": [{"Type": _S, "Source": _S, "Target": _S, "ReadOnly": _B}],
    },
    "Mounts": [{"Type": _S, "Name": _S, "Source": _S, "Destination": _S, "Mode": _S, "RW": _B,
                "Propagation": _S}],
    "NetworkSettings": {"Ports": _PORTMAP, "Networks": {_S: {_S: _ANY}}},
}
IMAGE_SHAPE: Any = {"Id": _S, "RepoTags": _STRS, "RepoDigests": _STRS, "Created": _S, "Size": _I, "Os": _S,
                    "Architecture": _S, "Config": _IMAGE_CONFIG}
LIST_SHAPE: Any = [{"Id": _S, "Names": _STRS, "Image": _S, "ImageID": _S, "Command": _S, "Created": _I,
                    "State": _S, "Status": _S, "Labels": _STRMAP,
                    "Ports": [{"IP": _S, "PrivatePort": _I, "PublicPort": _I, "Type": _S}],
                    "Mounts": [{_S: _ANY}]}]
CHANGES_SHAPE: Any = [{"Path": _S, "Kind": _I}]
TOP_SHAPE: Any = {"Titles": _STRS, "Processes": [_STRS]}
STATS_SHAPE: Any = {"memory_stats": {_S: _ANY}, "cpu_stats": {_S: _ANY}, "pids_stats": {_S: _ANY},
                    "name": _S, "id": _S}
VERSION_SHAPE: Any = {"ApiVersion": _S, "Version": _S, "MinAPIVersion": _S, "Os": _S, "Arch": _S,
                      "KernelVersion": _S}
INFO_SHAPE: Any = {"ID": _S, "Name": _S, "ServerVersion": _S, "SecurityOptions": _STRS, "OperatingSystem": _S,
                   "Containers": _I, "ContainersRunning": _I, "Images": _I, "Driver": _S, "CgroupVersion": _S,
                   "Rootless": _B, "DockerRootDir": _S}

_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def _json_type(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_shape(value: Any, shape: Any, where: str = "") -> str | None:
    """None when `value` has `shape` (see the *_SHAPE tables), else what is wrong, one line."""
    if value is None or shape is _ANY:
        return None
    here = where or "the answer"
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{here} is {_json_type(value)}, not an object"
        if len(shape) == 1 and _S in shape:  # a map: every key a string, every value of one shape
            inner = shape[_S]
            for k, v in value.items():
                problem = check_shape(v, inner, f"{where}.{safe_line(k)[:40]}" if where else safe_line(k)[:40])
                if problem:
                    return problem
            return None
        for key, inner in shape.items():
            if key in value:
                problem = check_shape(value[key], inner, f"{where}.{key}" if where else key)
                if problem:
                    return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{here} is {_json_type(value)}, not a list"
        for i, item in enumerate(value):
            problem = check_shape(item, shape[0], f"{where}[{i}]")
            if problem:
                return problem
        return None
    if shape is _I:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, shape)
    return None if ok else f"{here} is {_json_type(value)}, not {_TYPE_NAMES.get(shape, shape.__name__)}"


def _object_id(value: str, what: str) -> str:
    """A container id or name as one URL path segment (a hostile id cannot leave the path)."""
    if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
        raise EngineError(f"refusing a malformed {what} id from the engine: '{one_line(value, 80)}'")
    return value


def _image_ref(value: str) -> str:
    if not isinstance(value, str) or not _IMAGE_REF.fullmatch(value) or ".." in value or "//" in value:
        raise EngineError(f"refusing a malformed image reference from the engine: '{one_line(value, 80)}'")
    return quote(value, safe="/:@")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def _snippet(body: bytes) -> str:
    if not body:
        return "an empty body"
    start = one_line(body[:40].decode("utf-8", "replace"), 60)
    return f"starts with '{start}'"


def _engine_message(body: bytes) -> str:
    """The `message` of an engine error answer, or the start of the body."""
    try:
        data = json.loads(body[:SMALL_ANSWER])
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return one_line(data["message"], 300)
    return one_line(body[:200].decode("utf-8", "replace"), 200) or "(no message)"


class DockerGateway:
    """EngineGateway on the docker SDK's low-level ``APIClient``.

    The client is created on first use (thread-safe); ``ssh://`` endpoints go through the
    system ssh client (see :mod:`batten.live.ssh`).
    """

    def __init__(self, endpoint: Endpoint | None = None, timeout: float = 5.0, deadline: float | None = None) -> None:
        self.endpoint = endpoint if endpoint is not None else resolve_endpoint()
        self.timeout = float(timeout)  # seconds a single wait on the socket may take
        self.deadline = float(deadline) if deadline is not None else 2 * self.timeout  # per call, in all
        self._client: Any = None
        self._ssh_transport: Any = None
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._calls: set[_Call] = set()
        self._calls_lock = threading.Lock()

    # ------------------------------------------------------------------ client
    def _make_client(self) -> Any:
        import docker  # lazy: the scan path must not import docker

        ep = self.endpoint
        if ep.scheme == "ssh":
            from batten.live.ssh import SSHHTTPAdapter, SSHTransport

            # A placeholder socket that does not exist: if our adapter were ever bypassed
            # the request fails instead of reaching some other (local) engine.
            client = docker.APIClient(
                base_url="unix:///nonexistent/batten-ssh-placeholder.sock",
                version=_MIN_API,
                timeout=self.timeout,
            )
            transport = SSHTransport(ep.url, self.timeout)
            adapter = SSHHTTPAdapter(transport, self.timeout, max_pool_size=16)
            client.mount("http+docker://ssh", adapter)
            client.base_url = "http+docker://ssh"
            if client.get_adapter(client.base_url) is not adapter:  # pragma: no cover
                raise EngineUnavailable("internal error: ssh transport not mounted")
            self._ssh_transport = transport
            return client
        tls: Any = False
        url = ep.url
        if ep.scheme == "tcp":
            hostport = url[len("tcp://") :]
            if ":" not in hostport.rsplit("]", 1)[-1]:
                url = f"{url}:{2376 if ep.tls else 2375}"
            if ep.tls is not None:
                cert = (
                    (ep.tls.client_cert, ep.tls.client_key)
                    if ep.tls.client_cert and ep.tls.client_key
                    else None
                )
                verify: Any = ep.tls.verify
                if ep.tls.verify and ep.tls.ca_cert:
                    verify = ep.tls.ca_cert
                try:
                    tls = docker.tls.TLSConfig(
                        client_cert=cert, ca_cert=ep.tls.ca_cert, verify=verify
                    )
                except docker.errors.DockerException as exc:
                    raise EngineUnavailable(
                        f"TLS settings for {ep.display}: {one_line(exc)}"
                    ) from None
        try:
            return docker.APIClient(
                base_url=url, version=_MIN_API, timeout=self.timeout, tls=tls, max_pool_size=16
            )
        except (docker.errors.DockerException, ValueError) as exc:
            raise EngineUnavailable(
                f"cannot use Docker engine {ep.display}: {one_line(exc)}"
            ) from None

    def _ensure(self) -> Any:
        if self._closed.is_set():
            raise EngineUnavailable(f"connection to the Docker engine at {self.endpoint.display} was closed")
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                client = self._make_client()
                try:
                    # the first call also sets up the connection (ssh): it gets twice the time
                    server = self._get_json(client, "/version", "version", VERSION_SHAPE, versioned=False,
                                            limit=SMALL_ANSWER, deadline=2 * self.deadline)
                    api = server.get("ApiVersion") or _MIN_API
                    if not _API_VERSION.fullmatch(api):
                        raise EngineError(
                            f"Docker engine at {self.endpoint.display} reported an unusable API version "
                            f"'{one_line(api, 40)}'"
                        )
                    from docker.constants import DEFAULT_DOCKER_API_VERSION

                    if _version_tuple(api) > _version_tuple(DEFAULT_DOCKER_API_VERSION):
                        api = DEFAULT_DOCKER_API_VERSION
                    if _version_tuple(api) < _version_tuple(_MIN_API):
                        raise EngineUnavailable(
                            f"Docker engine at {self.endpoint.display} speaks API {api}, "
                            f"older than the minimum {_MIN_API}"
                        )
                    # what APIClient(version="auto") does, done after our transport is mounted
                    client._version = api
                except BaseException:
                    client.close()
                    if self._ssh_transport is not None:
                        self._ssh_transport.close()
                    raise
                self._client = client
        return self._client

    @property
    def api_version(self) -> str:
        return str(self._ensure().api_version)

    def close(self) -> None:
        """Close the connection; calls still waiting for an answer return at once (failed)."""
        self._closed.set()
        with self._calls_lock:
            calls = list(self._calls)
        for call in calls:
            call.abort()
        self._drop_client()

    def _reset(self) -> None:
        """Drop the client after a call was abandoned (its connection may still be busy); the
        next call makes a new one."""
        self._drop_client()
        self._ssh_transport = None

    def _drop_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if self._ssh_transport is not None:
            self._ssh_transport.close()

    def __enter__(self) -> DockerGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ bounded requests
    def _request(
        self,
        client: Any,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        versioned: bool = True,
        limit: int = DEFAULT_ANSWER,
        deadline: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> Answer:
        """One GET with a total deadline and a size cap, whatever the engine does.

        The request runs in a daemon thread; the caller waits at most `deadline` seconds (default
        ``self.deadline``), or until :meth:`close`. A body over `limit` bytes is cut off. With
        `sink`, chunks are handed over as they arrive instead of being kept (streams)."""

        url = f"{client.base_url}/v{client._version}{path}" if versioned else f"{client.base_url}{path}"
        seconds = self.deadline if deadline is None else deadline
        call = _Call()

        def run() -> None:
            try:
                resp = client.get(url, params=params, stream=True, timeout=self.timeout,
                                  headers={"Accept-Encoding": "identity"})
                call.attach(resp)
                try:
                    body = bytearray()
                    size = 0
                    while not call.aborted:
                        chunk = resp.raw.read(_CHUNK, decode_content=False)
                        if not chunk:
                            break
                        size += len(chunk)
                        if size > limit:
                            raise _TooLarge
                        if sink is not None and resp.status_code < 400:
                            sink(chunk)
                        else:
                            body += chunk
                    call.answer = Answer(resp.status_code, bytes(body), resp.headers.get("Content-Type", ""))
                finally:
                    resp.close()
            except BaseException as exc:  # handed to the caller
                call.error = exc
            finally:
                call.done.set()

        with self._calls_lock:
            self._calls.add(call)
        try:
            threading.Thread(target=run, name=f"batten-engine-{what[:24]}", daemon=True).start()
            finished = call.done.wait(seconds)
        finally:
            with self._calls_lock:
                self._calls.discard(call)
        if not finished or (self._closed.is_set() and call.answer is None):
            call.abort()
            if self._closed.is_set():
                raise EngineUnavailable(f"connection to the Docker engine at {self.endpoint.display} was closed")
            self._reset()
            raise EngineUnavailable(
                f"Docker engine at {self.endpoint.display} did not finish answering {what} within {seconds:g}s"
            )
        if isinstance(call.error, _TooLarge):
            self._reset()
            raise EngineError(
                f"Docker engine at {self.endpoint.display}: the answer to {what} exceeds batten's "
                f"{_size(limit)} cap; not read"
            )
        if call.error is not None:
            self._raise_call_error(call, what)
        assert call.answer is not None
        return call.answer

    def _raise_call_error(self, call: _Call, what: str) -> None:
        """Turn what a request's thread raised into one EngineError/EngineUnavailable line."""
        import requests
        import urllib3

        exc = call.error
        assert exc is not None
        if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            raise EngineUnavailable(self._timeout_message(what)) from None
        if isinstance(exc, urllib3.exceptions.ProtocolError) and call.resp is not None:
            raise EngineError(
                f"Docker engine at {self.endpoint.display} broke off its answer to {what}: "
                f"{one_line(_root_cause(exc) or exc, 120)}"
            ) from None
        if isinstance(exc, (requests.exceptions.ConnectionError, OSError, urllib3.exceptions.ProtocolError)):
            raise EngineUnavailable(self._unreachable_message(exc, what)) from None
        if isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ValueError)):
            # a malformed HTTP answer (bad status line, chunk sizes, headers...)
            raise EngineError(
                f"Docker engine at {self.endpoint.display} sent a malformed answer to {what}: "
                f"{one_line(_root_cause(exc) or exc)}"
            ) from None
        raise EngineError(f"Docker engine at {self.endpoint.display}: {what} failed: {one_line(exc)}") from None

    def _get_json(
        self,
        client: Any,
        path: str,
        what: str,
        shape: Any,
        *,
        not_found: type[EngineError] | None = None,
        ok_status: dict[int, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        answer = self._request(client, path, what, **kwargs)
        if ok_status and answer.status in ok_status:
            return ok_status[answer.status]
        if answer.status == 404 and not_found is not None:
            raise not_found(f"{what}: not found on the engine (removed?)")
        if answer.status >= 400:
            raise EngineError(f"Docker engine refused {what}: HTTP {answer.status}: {_engine_message(answer.body)}")
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):
            raise EngineError(
                f"Docker engine at {self.endpoint.display} answered {what} with something that is not JSON "
                f"({_snippet(answer.body)})"
            ) from None
        problem = check_shape(data, shape)
        if problem:
            raise EngineError(f"Docker engine at {self.endpoint.display} sent a malformed answer to {what}: {problem}")
        return data

    def _call_json(self, path: str, what: str, shape: Any, **kwargs: Any) -> Any:
        return self._get_json(self._ensure(), path, what, shape, **kwargs)

    def _timeout_message(self, what: str) -> str:
        if self._ssh_transport is not None:
            failure = self._ssh_transport.failure(wait=0.5)
            if failure:
                return failure
        return (
            f"Docker engine at {self.endpoint.display} did not answer {what} "
            f"within {self.timeout:g}s"
        )

    def _unreachable_message(self, exc: BaseException, what: str) -> str:
        ep = self.endpoint
        if self._ssh_transport is not None:
            failure = self._ssh_transport.failure()
            if failure:
                return failure
            cause_text = one_line(_root_cause(exc))
            if "ssh client not found" in cause_text:
                return f"cannot reach {ep.url}: {cause_text}"
            target = self._ssh_transport.target.display
            return f"ssh to {target} closed the connection during {what}"
        cause = _root_cause(exc)
        where = f"Docker engine at {ep.display}"
        if isinstance(cause, TimeoutError):
            return self._timeout_message(what)
        if isinstance(cause, OSError) and cause.errno is not None:
            path = ep.socket_path
            if cause.errno == errno.ENOENT and path:
                return f"cannot reach the {where}: no socket at {path} (is the engine running?)"
            if cause.errno in (errno.EACCES, errno.EPERM) and path:
                return (
                    f"cannot reach the {where}: permission denied on {path} "
                    "(join the docker group, or use a rootless engine)"
                )
            if cause.errno == errno.ECONNREFUSED:
                return f"cannot reach the {where}: connection refused (is the engine running?)"
            if cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                return f"cannot reach the {where}: host unreachable"
        text = one_line(str(cause) or type(cause).__name__)
        if "Name or service not known" in text or "getaddrinfo" in text:
            return f"cannot reach the {where}: unknown host name"
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return f"cannot reach the {where}: TLS failed: {text}"
        if "RemoteDisconnected" in type(cause).__name__ or "without response" in text:
            return f"the {where} closed the connection during {what}"
        return f"cannot reach the {where}: {text}"

    # ------------------------------------------------------------------ API (GET only)
    def ping(self) -> bool:
        answer = self._request(self._ensure(), "/_ping", "ping", limit=SMALL_ANSWER)
        return answer.status == 200

    def version(self) -> dict[str, Any]:
        return dict(self._call_json("/version", "version", VERSION_SHAPE, limit=SMALL_ANSWER))

    def info(self) -> dict[str, Any]:
        return dict(self._call_json("/info", "info", INFO_SHAPE, limit=SMALL_ANSWER))

    def list_containers(self, all: bool = False) -> list[dict[str, Any]]:
        data = self._call_json("/containers/json", "list containers", LIST_SHAPE,
                               params={"all": 1 if all else 0}, limit=LARGE_ANSWER)
        return list(data or [])

    def inspect_container(self, id: str) -> dict[str, Any]:
        cid = _object_id(id, "container")
        return dict(self._call_json(f"/containers/{cid}/json", f"inspect of container {safe_line(id)}",
                                    CONTAINER_SHAPE, not_found=ContainerNotFound))

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        name = _image_ref(ref)
        try:
            return dict(self._call_json(f"/images/{name}/json", f"inspect of image {safe_line(ref)}",
                                        IMAGE_SHAPE, not_found=ImageNotFound))
        except ImageNotFound:
            return None

    def changes(self, id: str) -> list[dict[str, Any]]:
        cid = _object_id(id, "container")
        return list(self._call_json(f"/containers/{cid}/changes", f"changes of {safe_line(id)}", CHANGES_SHAPE,
                                    not_found=ContainerNotFound, limit=LARGE_ANSWER) or [])

    def stats_once(self, id: str) -> dict[str, Any]:
        cid = _object_id(id, "container")
        return dict(self._call_json(f"/containers/{cid}/stats", f"stats of {safe_line(id)}", STATS_SHAPE,
                                    params={"stream": 0}, not_found=ContainerNotFound) or {})

    def top(self, id: str) -> dict[str, Any]:
        """Processes of a running container; empty Titles/Processes when it is not running."""
        cid = _object_id(id, "container")
        return dict(self._call_json(f"/containers/{cid}/top", f"top of {safe_line(id)}", TOP_SHAPE,
                                    not_found=ContainerNotFound,
                                    ok_status={409: {"Titles": [], "Processes": []}}) or {})

    def export_image(self, ref: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """``GET /images/{ref}/get`` (the ``docker save`` archive) as a stream of chunks.

        Each chunk must arrive within the per-call deadline and the stream ends at
        :data:`MAX_STREAM` bytes; the caller bounds total size and time further
        (batten.live.imagefs). Closing the iterator (or the gateway) ends the request."""
        name = _image_ref(ref)
        return self._stream(f"/images/{name}/get", f"export of image {safe_line(ref)}", MAX_STREAM,
                            not_found=ImageNotFound, chunk_size=chunk_size)

    def _stream(self, path: str, what: str, limit: int, *, not_found: type[EngineError] | None = None,
                chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """A GET answer as chunks, read by a daemon thread into a small queue: every wait for
        the next chunk is bounded by the deadline, the total by `limit`, and close() ends it."""
        client = self._ensure()
        chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        first: queue.Queue[Answer | BaseException] = queue.Queue(maxsize=1)
        call = _Call()
        url = f"{client.base_url}/v{client._version}{path}"

        def put(item: bytes | BaseException | None) -> bool:
            while not call.aborted:
                try:
                    chunks.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def run() -> None:
            try:
                resp = client.get(url, stream=True, timeout=self.timeout, headers={"Accept-Encoding": "identity"})
                call.attach(resp)
            except BaseException as exc:
                first.put(exc)
                return
            try:
                if resp.status_code >= 400:
                    first.put(Answer(resp.status_code, resp.raw.read(SMALL_ANSWER, decode_content=False) or b"", ""))
                    return
                first.put(Answer(resp.status_code, b"", resp.headers.get("Content-Type", "")))
                size = 0
                while not call.aborted:
                    chunk = resp.raw.read(chunk_size, decode_content=False)
                    if not chunk:
                        put(None)
                        return
                    size += len(chunk)
                    if size > limit:
                        put(_TooLarge())
                        return
                    if not put(chunk):
                        return
            except BaseException as exc:
                put(exc)
            finally:
                resp.close()

        with self._calls_lock:
            self._calls.add(call)
        threading.Thread(target=run, name="batten-engine-stream", daemon=True).start()
        try:
            head = self._wait(first, call, what)
            if isinstance(head, BaseException):
                call.error = head
                self._raise_call_error(call, what)
            assert isinstance(head, Answer)
            if head.status == 404 and not_found is not None:
                raise not_found(f"{what}: not found on the engine (batten never pulls)")
            if head.status >= 400:
                raise EngineError(f"Docker engine refused {what}: HTTP {head.status}: {_engine_message(head.body)}")
            return self._drain(chunks, call, what, limit)
        except BaseException:
            call.abort()
            with self._calls_lock:
                self._calls.discard(call)
            raise

    def _drain(self, chunks: queue.Queue[bytes | BaseException | None], call: _Call, what: str,
               limit: int) -> Iterator[bytes]:
        try:
            while True:
                item = self._wait(chunks, call, what)
                if item is None:
                    return
                if isinstance(item, _TooLarge):
                    raise EngineError(f"Docker engine at {self.endpoint.display}: the {what} exceeds batten's "
                                      f"{_size(limit)} cap (stopped)")
                if isinstance(item, BaseException):
                    call.error = item
                    self._raise_call_error(call, what)
                assert isinstance(item, bytes)
                yield item
        finally:
            call.abort()
            with self._calls_lock:
                self._calls.discard(call)

    def _wait(self, q: queue.Queue[Any], call: _Call, what: str) -> Any:
        """The next item of a stream, within the deadline; close() ends the wait at once."""
        deadline = time.monotonic() + self.deadline
        while True:
            if self._closed.is_set() or call.aborted:
                raise EngineUnavailable(f"connection to the Docker engine at {self.endpoint.display} was closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineUnavailable(f"Docker engine at {self.endpoint.display} sent nothing of the {what} "
                                        f"for {self.deadline:g}s (stopped)")
            try:
                return q.get(timeout=min(0.1, left))
            except queue.Empty:
                continue


# ---------------------------------------------------------------------- parallel inspect
@dataclass(slots=True)
class Inspected:
    """One container's inspect output and its image's (shared between containers)."""

    container: dict[str, Any]
    image: dict[str, Any] | None

    @property
    def name(self) -> str:
        return str(self.container.get("Name") or self.container.get("Id", "")[:12]).lstrip("/")


def inspect_all(gateway: EngineGateway, ids: Iterable[str], workers: int = 8) -> list[Inspected]:
    """Inspect containers and their images in parallel (each image once).

    Keeps the order of ``ids``; containers removed meanwhile are skipped. Any other engine
    error propagates (the first one, as raised by the gateway).
    """
    ids = list(ids)
    if not ids:
        return []
    image_futures: dict[str, Future[dict[str, Any] | None]] = {}
    lock = threading.Lock()

    with ThreadPoolExecutor(
        max_workers=max(1, workers), thread_name_prefix="batten-inspect"
    ) as pool:

        def container_then_image(cid: str) -> tuple[dict[str, Any] | None, str | None]:
            try:
                data = gateway.inspect_container(cid)
            except ContainerNotFound:
                return None, None
            ref = str(data.get("Image") or (data.get("Config") or {}).get("Image") or "")
            if ref:
                with lock:
                    if ref not in image_futures:
                        image_futures[ref] = pool.submit(gateway.inspect_image, ref)
            return data, ref or None

        container_futures = [pool.submit(container_then_image, cid) for cid in ids]
        pairs = [f.result() for f in container_futures]
        images = {ref: fut.result() for ref, fut in list(image_futures.items())}

    return [
        Inspected(container=data, image=images.get(ref) if ref else None)
        for data, ref in pairs
        if data is not None
    ]
