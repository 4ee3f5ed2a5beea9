"""A private, network-less Docker engine for tests, benchmarks and fixture recording.

``start_engine()`` starts ``dockerd`` in a fresh short temp dir with no bridge network and no
iptables/masquerading (loopback-only machine), waits for ``_ping``, imports a busybox image
built here from Debian's static busybox (no registry, never a pull) and returns a
:class:`TestEngine`. Every container it runs has ``network_mode="none"``. ``stop()`` removes the
containers it created, stops dockerd by its pid (SIGTERM, then SIGKILL), kills leftover shims
of this engine by pid, unmounts what is left under the temp dir and deletes it.

Nothing here imports pytest: bench/ and scripts/ reuse it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = REPO / "scripts" / "setup-test-engine.sh"
BUSYBOX = Path("/bin/busybox")
IMAGE_REPO = "batten-test/busybox"
IMAGE = f"{IMAGE_REPO}:1"
IMAGE_LATEST = f"{IMAGE_REPO}:latest"
APPLETS = (
    "sh", "sleep", "httpd", "ls", "cat", "id", "ps", "echo", "mkdir", "touch", "true",
    "false", "env", "rm", "grep", "nc", "top", "wc", "head",
)  # fmt: skip
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:10001:10001:app:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\napp:x:10001:\nnogroup:x:65534:\n"


class EngineStartError(RuntimeError):
    """The test engine could not be started (the message says why)."""


# ---------------------------------------------------------------------- prerequisites
def _static_busybox() -> bool:
    if not BUSYBOX.is_file():
        return False
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", "busybox-static"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0:
            return out.stdout.strip() == "install ok installed"
    except (OSError, subprocess.TimeoutExpired):
        pass
    # not Debian: accept any busybox that has no ELF interpreter (i.e. static)
    return b"ld-linux" not in BUSYBOX.read_bytes()[:8192]


def _missing() -> list[str]:
    missing = []
    if shutil.which("dockerd") is None:
        missing.append("dockerd")
    if not _static_busybox():
        missing.append("static busybox")
    return missing


def prerequisites(*, install: bool = True) -> str | None:
    """None when the engine can start here, else why not (installing when allowed, as root)."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "the test engine needs Linux"
    if os.geteuid() != 0:
        return "the test engine needs root (it starts a private dockerd)"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed (pip install docker)"
    missing = _missing()
    if missing and install:
        if shutil.which("apt-get") is None:
            return f"missing {', '.join(missing)} and apt-get is not available to install them"
        try:
            proc = subprocess.run(
                ["sh", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900
            )
        except subprocess.TimeoutExpired:
            return f"{SETUP_SCRIPT.name} timed out installing {', '.join(missing)}"
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return f"{SETUP_SCRIPT.name} failed: {' | '.join(tail)}"
        missing = _missing()
    if missing:
        return f"missing {', '.join(missing)} (run scripts/setup-test-engine.sh as root)"
    return None


# ---------------------------------------------------------------------- image
def busybox_rootfs_tar() -> bytes:
    """A tiny root filesystem: static busybox, applet symlinks, /etc/passwd, /tmp, /run."""
    buf = io.BytesIO()
    now = 1_700_000_000  # fixed: the same rootfs gives the same image id every time

    def add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
        tar.addfile(info)

    def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, now
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in (
            "bin",
            "etc",
            "root",
            "home",
            "home/app",
            "run",
            "var",
            "var/cache",
            "proc",
            "sys",
            "dev",
        ):
            add_dir(tar, d, 0o700 if d == "root" else 0o755)
        add_dir(tar, "tmp", 0o1777)
        add_file(tar, "bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, now
            tar.addfile(link)
        add_file(tar, "etc/passwd", PASSWD.encode())
        add_file(tar, "etc/group", GROUP.encode())
    return buf.getvalue()


# ---------------------------------------------------------------------- the engine
def _short_tmp() -> str:
    base = tempfile.gettempdir()
    # unix socket paths must stay under 108 bytes, including containerd's under exec-root
    return base if len(base) <= 40 else "/tmp"


def _ping(sock_path: str, timeout: float = 1.0) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sock_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return data.startswith(b"HTTP/1.") and data.rstrip().endswith(b"OK")
    except OSError:
        return False


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line mentions ``text`` (this engine's shims, by its temp dir)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            )
        except OSError:
            continue
        if text in cmdline:
            out.append(int(entry.name))
    return out


def _mounts_under(root: str) -> list[str]:
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) > 4:
            mp = parts[4].replace("\\040", " ")
            if mp == root or mp.startswith(root.rstrip("/") + "/"):
                found.append(mp)
    return found


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        except ChildProcessError:  # not our child: poll for existence
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@dataclass
class TestEngine:
    """A running private dockerd. Always use ``run``/``create`` (network none, never pull)."""

    __test__ = False  # not a pytest test class

    root: Path
    proc: subprocess.Popen[bytes]
    client: Any = None
    _created: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def socket(self) -> str:
        return str(self.root / "docker.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def data_root(self) -> str:
        return str(self.root / "data")

    @property
    def exec_root(self) -> str:
        return str(self.root / "exec")

    @property
    def log(self) -> str:
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ containers
    @staticmethod
    def _safe_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(kwargs)
        if kwargs.pop("network", None) is not None:
            raise ValueError("test containers never join a network (network_mode is always none)")
        mode = kwargs.pop("network_mode", "none")
        if mode != "none":
            raise ValueError(f"test containers run with network_mode none, not {mode!r}")
        kwargs.pop("detach", None)
        kwargs["network_mode"] = "none"
        return kwargs

    def create(self, image: str = IMAGE, command: Any = ("sleep", "3600"), **kwargs: Any) -> Any:
        """Create (not start) a container; never pulls (create fails on a missing image)."""
        kwargs = self._safe_kwargs(kwargs)
        container = self.client.containers.create(
            image, list(command) if isinstance(command, tuple) else command, **kwargs
        )
        with self._lock:
            self._created.append(container.id)
        return container

    def run(self, image: str = IMAGE, command: Any = ("sleep", "3600"), **kwargs: Any) -> Any:
        """Create and start a container (network none, no pull) and return it, reloaded."""
        container = self.create(image, command, **kwargs)
        container.start()
        container.reload()
        return container

    def build(self, tag: str, dockerfile: str) -> Any:
        """Build an image from metadata-only instructions (no RUN: nothing executes, no pull)."""
        image, _logs = self.client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=tag,
            pull=False,
            network_mode="none",
            rm=True,
            forcerm=True,
        )
        return image

    @property
    def created(self) -> list[str]:
        with self._lock:
            return list(self._created)

    def cleanup(self, ids: Iterable[str] | None = None, workers: int = 8) -> None:
        """Remove (force) the containers this object created; ignores ones already gone."""
        from concurrent.futures import ThreadPoolExecutor

        import docker

        with self._lock:
            targets = list(self._created) if ids is None else [i for i in ids if i in self._created]

        def remove(cid: str) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(cid, force=True, v=True)

        if targets:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(remove, targets))
        with self._lock:
            self._created = [c for c in self._created if c not in set(targets)]

    # ------------------------------------------------------------------ shutdown
    def stop(self, timeout: float = 20.0) -> None:
        try:
            if self.client is not None and self.proc.poll() is None:
                with contextlib.suppress(Exception):
                    self.cleanup()
        finally:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    self.client.close()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            # shims and containerd started by this dockerd carry our temp dir in their argv
            for pid in _pids_mentioning(str(self.root)):
                _terminate(pid, 5.0)
            for mp in sorted(_mounts_under(str(self.root)), key=len, reverse=True):
                subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)
            shutil.rmtree(self.root, ignore_errors=True)


def start_engine(*, timeout: float = 30.0, image: bool = True) -> TestEngine:
    """Start the private engine (caller must have checked ``prerequisites()``)."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineStartError("dockerd not found (run scripts/setup-test-engine.sh as root)")
    root = Path(tempfile.mkdtemp(prefix="bt-", dir=_short_tmp()))
    (root / "daemon.json").write_text("{}\n")
    sock = root / "docker.sock"
    argv = [
        dockerd,
        "--host", f"unix://{sock}",
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--log-level=warn",
        "--config-file", str(root / "daemon.json"),
    ]  # fmt: skip
    with open(root / "dockerd.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = TestEngine(root=root, proc=proc)
    try:
        deadline = time.monotonic() + timeout
        while not _ping(str(sock)):
            if proc.poll() is not None:
                tail = " | ".join(engine.log.strip().splitlines()[-3:])
                raise EngineStartError(f"dockerd exited with status {proc.returncode}: {tail}")
            if time.monotonic() > deadline:
                raise EngineStartError(f"dockerd did not answer _ping within {timeout:g}s")
            time.sleep(0.1)
        import docker

        engine.client = docker.DockerClient(base_url=engine.url, version="auto", timeout=120)
        if image:
            import_busybox(engine.client)
    except BaseException:
        engine.stop()
        raise
    return engine


def import_busybox(client: Any) -> str:
    """Import the busybox rootfs as batten-test/busybox:1 and :latest (no registry involved)."""
    result = client.api.import_image_from_data(
        busybox_rootfs_tar(),
        repository=IMAGE_REPO,
        tag="1",
        changes=['CMD ["/bin/sh"]'],
    )
    image_id = None
    for line in str(result).splitlines():
        with contextlib.suppress(ValueError):
            image_id = json.loads(line).get("status") or image_id
    client.api.tag(IMAGE, IMAGE_REPO, "latest")
    return str(image_id or client.images.get(IMAGE).id)
