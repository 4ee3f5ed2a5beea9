"""Read-only access to a Docker engine.

batten never changes a container or an image: the gateway exposes only GET-style calls (ping,
version, info, list, inspect, image inspect, changes, one-shot stats, top). Every call has a
timeout and every failure becomes one line (:class:`EngineUnavailable` / :class:`EngineError`),
never a traceback or a hang.

The docker SDK is imported lazily inside :class:`DockerGateway`, so importing this module (or
anything on the scan path) does not import docker.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from batten.live.endpoint import Endpoint, resolve_endpoint
from batten.model import BattenError

T = TypeVar("T")

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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


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


class DockerGateway:
    """EngineGateway on the docker SDK's low-level ``APIClient``.

    The client is created on first use (thread-safe); ``ssh://`` endpoints go through the
    system ssh client (see :mod:`batten.live.ssh`).
    """

    def __init__(self, endpoint: Endpoint | None = None, timeout: float = 5.0) -> None:
        self.endpoint = endpoint if endpoint is not None else resolve_endpoint()
        self.timeout = float(timeout)
        self._client: Any = None
        self._ssh_transport: Any = None
        self._lock = threading.Lock()

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
                        f"TLS settings for {ep.display}: {_one_line(str(exc))}"
                    ) from None
        try:
            return docker.APIClient(
                base_url=url, version=_MIN_API, timeout=self.timeout, tls=tls, max_pool_size=16
            )
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(
                f"cannot use Docker engine {ep.display}: {_one_line(str(exc))}"
            ) from None

    def _ensure(self) -> Any:
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                client = self._make_client()
                try:
                    server = self._guard(lambda: client.version(api_version=False), "version")
                    api = str(server.get("ApiVersion") or _MIN_API)
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
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        if self._ssh_transport is not None:
            self._ssh_transport.close()

    def __enter__(self) -> DockerGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ errors
    def _guard(self, fn: Callable[[], T], what: str) -> T:
        import docker
        import requests

        try:
            return fn()
        except docker.errors.NotFound:
            raise
        except docker.errors.APIError as exc:
            explanation = getattr(exc, "explanation", None) or str(exc)
            raise EngineError(f"Docker engine refused {what}: {_one_line(explanation)}") from None
        except requests.exceptions.Timeout:
            raise EngineUnavailable(self._timeout_message(what)) from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise EngineUnavailable(self._unreachable_message(exc, what)) from None
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(
                f"Docker engine at {self.endpoint.display}: {_one_line(str(exc))}"
            ) from None

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
            cause_text = _one_line(str(_root_cause(exc)))
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
        text = _one_line(str(cause) or type(cause).__name__)
        if "Name or service not known" in text or "getaddrinfo" in text:
            return f"cannot reach the {where}: unknown host name"
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return f"cannot reach the {where}: TLS failed: {text}"
        return f"cannot reach the {where}: {text}"

    def _call(self, fn: Callable[[Any], T], what: str) -> T:
        client = self._ensure()
        return self._guard(lambda: fn(client), what)

    # ------------------------------------------------------------------ API (GET only)
    def ping(self) -> bool:
        return bool(self._call(lambda c: c.ping(), "ping"))

    def version(self) -> dict[str, Any]:
        return dict(self._call(lambda c: c.version(), "version"))

    def info(self) -> dict[str, Any]:
        return dict(self._call(lambda c: c.info(), "info"))

    def list_containers(self, all: bool = False) -> list[dict[str, Any]]:
        return list(self._call(lambda c: c.containers(all=all), "list containers") or [])

    def inspect_container(self, id: str) -> dict[str, Any]:
        import docker

        try:
            return dict(self._call(lambda c: c.inspect_container(id), f"inspect of container {id}"))
        except docker.errors.NotFound:
            raise ContainerNotFound(f"container {id} not found (removed?)") from None

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        import docker

        try:
            return dict(self._call(lambda c: c.inspect_image(ref), f"inspect of image {ref}"))
        except docker.errors.NotFound:
            return None

    def changes(self, id: str) -> list[dict[str, Any]]:
        import docker

        try:
            return list(self._call(lambda c: c.diff(id), f"changes of {id}") or [])
        except docker.errors.NotFound:
            raise ContainerNotFound(f"container {id} not found (removed?)") from None

    def stats_once(self, id: str) -> dict[str, Any]:
        import docker

        try:
            return dict(self._call(lambda c: c.stats(id, stream=False), f"stats of {id}") or {})
        except docker.errors.NotFound:
            raise ContainerNotFound(f"container {id} not found (removed?)") from None

    def top(self, id: str) -> dict[str, Any]:
        """Processes of a running container; empty Titles/Processes when it is not running."""
        import docker

        def call(c: Any) -> Any:
            try:
                return c.top(id)
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # "is not running"
                    return {"Titles": [], "Processes": []}
                raise

        try:
            return dict(self._call(call, f"top of {id}") or {})
        except docker.errors.NotFound:
            raise ContainerNotFound(f"container {id} not found (removed?)") from None

    def export_image(self, ref: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """``GET /images/{ref}/get`` (the ``docker save`` archive) as a stream of chunks.

        Unlike the SDK's ``get_image`` the socket keeps its read timeout, so a stalled engine
        cannot hang the read; the caller bounds total size and time (batten.live.imagefs).
        The response is closed when the iterator is closed or exhausted.
        """
        import docker

        def start(c: Any) -> Any:
            res = c._get(c._url("/images/{0}/get", ref), stream=True)
            c._raise_for_status(res)
            return res

        try:
            res = self._call(start, f"export of image {ref}")
        except docker.errors.NotFound:
            raise ImageNotFound(f"image {ref} is not on the engine (batten never pulls)") from None
        return self._chunks(res, chunk_size, ref)

    def _chunks(self, res: Any, chunk_size: int, ref: str) -> Iterator[bytes]:
        import requests

        what = f"export of image {ref}"
        it = res.iter_content(chunk_size)

        def step() -> bytes | None:
            try:
                return next(it, None)
            except requests.exceptions.ChunkedEncodingError as exc:
                raise EngineUnavailable(
                    f"Docker engine at {self.endpoint.display} broke off the {what}: "
                    f"{_one_line(str(_root_cause(exc)))}"
                ) from None

        try:
            while (chunk := self._guard(step, what)) is not None:
                yield chunk
        finally:
            res.close()


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
