"""ssh:// engines through the system ssh client, like the docker CLI does.

Every HTTP connection to the engine is one ``ssh … -- HOST docker system dial-stdio`` process
whose stdin/stdout are one end of a socketpair, so urllib3 sees an ordinary socket (timeouts,
``select``, keep-alive all work). Because the real ``ssh`` binary is used, the user's
``~/.ssh/config`` (aliases, ProxyJump, IdentityFile), agent and known_hosts apply unchanged.

Host-key checking is never relaxed: batten passes ``BatchMode=yes`` (ssh then refuses instead of
asking) and starts ssh in a new session without a controlling terminal, so an unknown or changed
host key can never hang or prompt; the refusal is turned into one clear line.

This module imports urllib3/requests (the docker SDK's own dependencies) and is only imported
by :class:`batten.live.gateway.DockerGateway` when an ssh:// endpoint is used.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO
from urllib.parse import unquote, urlsplit

import requests.adapters
import urllib3.connection
import urllib3.connectionpool

SSH_BINARY = "ssh"


@dataclass(frozen=True, slots=True)
class SSHTarget:
    """The parts of ssh://[user@]host[:port] that are passed to ssh."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> SSHTarget:
        parts = urlsplit(url)
        if parts.scheme != "ssh" or not parts.hostname:
            raise ValueError(f"not an ssh:// URL: {url!r}")
        # keep the host as written (an ssh_config alias is case-sensitive)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        host = netloc
        if parts.port is not None:
            host = netloc[: netloc.rfind(":")]
        host = host.strip("[]")
        user = unquote(parts.username) if parts.username else None
        return cls(host=host, user=user, port=parts.port)

    @property
    def display(self) -> str:
        d = f"{self.user}@{self.host}" if self.user else self.host
        return f"{d}:{self.port}" if self.port else d

    def ssh_command(self, *, connect_timeout: float) -> list[str]:
        """The argv that batten runs (the same shape as the docker CLI's connhelper)."""
        argv = [
            SSH_BINARY,
            "-T",
            "-x",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={max(1, math.ceil(connect_timeout))}",
        ]
        if self.user:
            argv += ["-l", self.user]
        if self.port:
            argv += ["-p", str(self.port)]
        argv += ["--", self.host, "docker", "system", "dial-stdio"]
        return argv


_HOST_KEY_UNKNOWN = re.compile(
    r"host key is known for|Host key verification failed|"
    r"authenticity of host .* can't be established",
    re.IGNORECASE,
)
_HOST_KEY_CHANGED = re.compile(
    r"REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed", re.IGNORECASE
)


def effective_ssh_config(target: SSHTarget, timeout: float = 5.0) -> dict[str, str]:
    """``ssh -G``: the settings ssh would use for this target (local, no connection made)."""
    argv = [SSH_BINARY, "-G"]
    if target.user:
        argv += ["-l", target.user]
    if target.port:
        argv += ["-p", str(target.port)]
    argv += ["--", target.host]
    try:
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if out.returncode != 0:
        return {}
    conf: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        conf.setdefault(key.lower(), value.strip())
    return conf


def explain_ssh_failure(
    target: SSHTarget,
    stderr: str,
    returncode: int | None,
    ssh_config: dict[str, str] | None = None,
) -> str:
    """Turn ssh's stderr into one line that says what is wrong and what to do."""
    text = stderr.replace("\r", "")
    dest = target.display
    conf = ssh_config or {}
    hostname = conf.get("hostname") or target.host
    port = conf.get("port") or (str(target.port) if target.port else "22")
    known_hosts = (conf.get("userknownhostsfile") or "~/.ssh/known_hosts").split()[0]
    keyscan = "ssh-keyscan " + (f"-p {port} " if port != "22" else "") + hostname
    if _HOST_KEY_CHANGED.search(text):
        return (
            f"ssh: the host key of {dest} has CHANGED since it was recorded in {known_hosts}; "
            "batten refuses to connect. Verify the new key with the server's administrator, "
            f"then remove the old entry (ssh-keygen -R {hostname}) and connect once by hand"
        )
    if _HOST_KEY_UNKNOWN.search(text):
        return (
            f"ssh: the host key of {dest} is not known (not in {known_hosts}) and batten never "
            f"accepts unknown keys: connect once by hand (ssh {dest}) and confirm the "
            f"fingerprint, or check and add it with `{keyscan} >> {known_hosts}`"
        )
    if re.search(r"Permission denied", text):
        return (
            f"ssh: {dest} refused the login (Permission denied); batten runs ssh in batch mode, "
            "so it needs a key from ssh-agent or IdentityFile, not a password"
        )
    if re.search(r"Could not resolve hostname", text, re.IGNORECASE):
        return f"ssh: cannot resolve host name {target.host!r} (check the URL or ~/.ssh/config)"
    if re.search(r"Connection refused", text, re.IGNORECASE):
        return f"ssh: connection to {dest} refused (is sshd running there?)"
    if re.search(r"timed out", text, re.IGNORECASE):
        return f"ssh: connection to {dest} timed out"
    if re.search(r"docker: (command )?not found|docker: No such file", text):
        return f"ssh: no docker CLI on {dest} (batten runs `docker system dial-stdio` there)"
    if re.search(r"unknown command.*dial-stdio|dial-stdio.*unknown", text, re.IGNORECASE):
        return f"ssh: the docker CLI on {dest} is too old for `docker system dial-stdio`"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines:
        # the last line usually carries the reason (dial-stdio errors, ssh fatal())
        return f"ssh to {dest} failed: {lines[-1]}"
    code = f" (exit status {returncode})" if returncode is not None else ""
    return f"ssh to {dest} failed{code}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=2)


class _Proc:
    __slots__ = ("errfile", "proc", "stopped")

    def __init__(self, proc: subprocess.Popen[bytes], errfile: IO[bytes]) -> None:
        self.proc = proc
        self.errfile = errfile
        self.stopped = False  # ended by batten (connection closed), not a failure

    def failed(self) -> bool:
        code = self.proc.returncode
        if code in (None, 0):
            return False
        # a signal death after batten closed the connection is not a failure; ssh's own
        # errors (unknown host key, refused login...) end with status 255
        return not (self.stopped and code < 0)

    def stop(self) -> None:
        self.stopped = True
        _stop(self.proc)


class SSHTransport:
    """Starts ssh processes and remembers how the last failed one ended."""

    def __init__(self, url: str, timeout: float) -> None:
        self.target = SSHTarget.parse(url)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._procs: list[_Proc] = []

    def argv(self) -> list[str]:
        return self.target.ssh_command(connect_timeout=self.timeout)

    def open_socket(self) -> tuple[socket.socket, _Proc]:
        ours, theirs = socket.socketpair()
        # stderr is kept (unread, never shown) until the process is reaped, to explain failures
        errfile = tempfile.TemporaryFile(prefix="batten-ssh-")  # noqa: SIM115
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        try:
            proc = subprocess.Popen(
                self.argv(),
                stdin=theirs,
                stdout=theirs,
                stderr=errfile,
                env=env,
                close_fds=True,
                # no controlling terminal: ssh can never prompt, even without BatchMode
                start_new_session=True,
            )
        except FileNotFoundError:
            ours.close()
            errfile.close()
            raise OSError("ssh client not found (install openssh-client)") from None
        finally:
            theirs.close()
        entry = _Proc(proc, errfile)
        with self._lock:
            self._reap_locked()
            self._procs.append(entry)
        return ours, entry

    def _reap_locked(self) -> None:
        keep: list[_Proc] = []
        for entry in self._procs:
            entry.proc.poll()
            if entry.proc.returncode is None or entry.failed():
                keep.append(entry)
            else:
                entry.errfile.close()
        # bounded memory: forget old failures beyond the last few
        self._procs = keep[-32:]

    def failure(self, wait: float = 2.0) -> str | None:
        """Explain the most recent ssh process that failed (waiting briefly for it to end)."""
        deadline = time.monotonic() + wait
        with self._lock:
            procs = list(self._procs)
        for entry in reversed(procs):
            while entry.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if entry.failed():
                entry.errfile.seek(0)
                stderr = entry.errfile.read().decode("utf-8", "replace")
                conf = effective_ssh_config(self.target) if "host key" in stderr.lower() else {}
                return explain_ssh_failure(self.target, stderr, entry.proc.returncode, conf)
        return None

    def close(self) -> None:
        with self._lock:
            procs, self._procs = self._procs, []
        for entry in procs:
            entry.stop()
            entry.errfile.close()


class SSHConnection(urllib3.connection.HTTPConnection):
    def __init__(self, transport: SSHTransport, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._transport = transport
        self._proc: _Proc | None = None

    def connect(self) -> None:
        sock, proc = self._transport.open_socket()
        sock.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
        self.sock = sock
        self._proc = proc

    def close(self) -> None:
        try:
            super().close()
        finally:
            entry, self._proc = self._proc, None
            if entry is not None:
                entry.stopped = True
                if entry.proc.poll() is None:
                    # stdin EOF makes dial-stdio (and ssh) exit; make sure it does
                    threading.Thread(target=_stop, args=(entry.proc,), daemon=True).start()


class SSHConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    scheme = "http"

    def __init__(self, transport: SSHTransport, timeout: float, maxsize: int) -> None:
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self._transport = transport
        self._timeout_value = timeout

    def _new_conn(self) -> SSHConnection:  # type: ignore[override]
        return SSHConnection(self._transport, self._timeout_value)


class SSHHTTPAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections are ssh dial-stdio processes."""

    def __init__(self, transport: SSHTransport, timeout: float, max_pool_size: int = 10) -> None:
        self.transport = transport
        self._timeout_value = timeout
        self._max_pool_size = max_pool_size
        self._pool: SSHConnectionPool | None = None
        self._pool_lock = threading.Lock()
        super().__init__()

    def get_connection(self, url, proxies=None):  # type: ignore[override]
        with self._pool_lock:
            if self._pool is None:
                self._pool = SSHConnectionPool(
                    self.transport, self._timeout_value, self._max_pool_size
                )
            return self._pool

    # requests >= 2.32.2 calls this instead of get_connection
    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):  # type: ignore[override]
        return self.get_connection(request.url, proxies)

    def request_url(self, request, proxies):  # type: ignore[override]
        return request.path_url

    def close(self) -> None:
        super().close()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self.transport.close()
