"""A hostile Docker engine on a unix socket, for tests of what batten does when the engine lies.

``FakeEngine(tmpdir, routes)`` answers each request path (without its ``/v1.xx`` prefix) from
``routes``: a JSON-able value (200), an :class:`Answer` (status, raw bytes, headers), or one of
the behaviours :func:`endless`, :func:`trickle` and :func:`trickle_headers`. Every request is
recorded (method, path), so tests can assert the engine stayed read-only (GET only).

A healthy baseline (one container, its image, no changes) is in :func:`baseline`; tests override
single paths. Nothing here imports pytest or batten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

CID = "c0ffee" + "0" * 58
IMAGE_ID = "sha256:" + "ab" * 32
_VERSIONED = re.compile(r"^/v\d+\.\d+(/.*)$")


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


Behaviour = Callable[["_Handler"], None]


def endless(chunk: bytes = b'{"Id": "' + b"a" * 64 + b'", "Names": ["/x"]},') -> Behaviour:
    """A chunked `[` followed by the same chunk forever, as fast as the client reads."""

    def run(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        block = chunk * max(1, 65536 // len(chunk))
        h.write_chunk(b"[")
        while not h.server.stopping.is_set():  # type: ignore[attr-defined]
            h.write_chunk(block)

    return run


def trickle(body: bytes = b"[]", interval: float = 2.0) -> Behaviour:
    """Headers at once, then the body one byte every `interval` seconds (never a socket timeout)."""

    def run(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body) + 10_000))
        h.end_headers()
        h.wfile.flush()
        _byte_by_byte(h, body + b" " * 10_000, interval)

    return run


def trickle_headers(interval: float = 2.0) -> Behaviour:
    """The status line and headers one byte every `interval` seconds, endlessly."""

    def run(h: _Handler) -> None:
        h.close_connection = True
        _byte_by_byte(h, b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 100_000, interval)

    return run


def _byte_by_byte(h: _Handler, data: bytes, interval: float) -> None:
    """`data` one byte every `interval` seconds, until it is all sent or the server stops."""
    for i in range(len(data)):
        if h.server.stopping.wait(interval):  # type: ignore[attr-defined]
            return
        h.wfile.write(data[i : i + 1])
        h.wfile.flush()


def baseline(**overrides: Any) -> dict[str, Any]:
    """A healthy engine with one running container `web` of compose project `demo`."""
    inspect = {
        "Id": CID, "Name": "/demo-web-1", "Image": IMAGE_ID,
        "State": {"Status": "running", "Running": True, "Pid": 42},
        "Config": {"Image": "example/web:1.2", "User": "", "Env": ["PATH=/usr/bin"],
                   "Labels": {"com.docker.compose.project": "demo", "com.docker.compose.service": "web"}},
        "HostConfig": {"Privileged": False, "ReadonlyRootfs": False, "CapAdd": None, "CapDrop": None,
                       "SecurityOpt": None, "Memory": 0, "NanoCpus": 0, "PidsLimit": None, "NetworkMode": "none"},
        "Mounts": [], "NetworkSettings": {"Ports": {}},
    }
    routes: dict[str, Any] = {
        "/_ping": Answer(200, b"OK", {"Content-Type": "text/plain"}),
        "/version": {"ApiVersion": "1.43", "Version": "24.0.0", "MinAPIVersion": "1.24", "Os": "linux"},
        "/info": {"ID": "fake", "Name": "fake-engine", "ServerVersion": "24.0.0", "SecurityOptions": ["name=seccomp"]},
        "/containers/json": [{"Id": CID, "Names": ["/demo-web-1"], "Image": "example/web:1.2", "ImageID": IMAGE_ID,
                              "State": "running", "Status": "Up 2 minutes",
                              "Labels": inspect["Config"]["Labels"]}],
        f"/containers/{CID}/json": inspect,
        f"/images/{IMAGE_ID}/json": {"Id": IMAGE_ID, "RepoTags": ["example/web:1.2"],
                                     "Config": {"User": "", "Env": [], "Labels": {}}},
        f"/containers/{CID}/changes": [],
        f"/containers/{CID}/stats": {"memory_stats": {"usage": 10_000_000}, "cpu_stats": {}, "pids_stats": {}},
        f"/containers/{CID}/top": {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "42", "web"]]},
    }
    routes.update(overrides)
    return routes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _any(self) -> None:
        server: FakeEngine = self.server.engine  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        m = _VERSIONED.match(path)
        bare = m.group(1) if m else path
        server.requests.append((self.command, self.path))
        route = server.routes.get(bare)
        try:
            if route is None:
                self._send(Answer(404, json.dumps({"message": f"page not found: {bare}"}).encode()))
            elif callable(route):
                route(self)
            elif isinstance(route, Answer):
                self._send(route)
            else:
                self._send(Answer(200, json.dumps(route).encode()))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, a: Answer) -> None:
        self.send_response(a.status)
        for k, v in a.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(a.body)))
        self.end_headers()
        self.wfile.write(a.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class FakeEngine:
    def __init__(self, directory: str, routes: dict[str, Any]) -> None:
        self.path = os.path.join(directory, "fake-docker.sock")
        self.routes = routes
        self.requests: list[tuple[str, str]] = []
        self._server = _Server(self.path, _Handler)
        self._server.engine = self  # type: ignore[attr-defined]
        self._server.stopping = threading.Event()  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.stopping.set()  # type: ignore[attr-defined]
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def non_get(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m != "GET"]

    def wait_for(self, path_part: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(path_part in p for _m, p in self.requests):
                return True
            time.sleep(0.02)
        return False
