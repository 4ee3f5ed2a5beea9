"""A throw-away sshd on 127.0.0.1 whose "remote" docker reaches the private test engine.

``start_sshd(docker_socket)`` generates host and client keys in a temp dir, writes an
sshd_config (127.0.0.1 only, a free port, root login with the client key only, no forwarding,
``SetEnv DOCKER_HOST=unix://<test socket>`` so ``docker system dial-stdio`` run over ssh reaches
the test engine), starts ``sshd -D`` and records its pid. Then it writes a marked block into the
ssh config of the user the client reads (the password database's home, not ``$HOME``):

    # >>> batten-tests <pid>
    Host batten-test-<pid>            -> known_hosts that holds the test host key
    Host batten-test-<pid>-unknown    -> an empty known_hosts: the key is unknown
    # <<< batten-tests <pid>

Host-key checking stays on (``StrictHostKeyChecking yes``): trust comes from the known_hosts
file the test writes. ``stop()`` removes exactly that block, stops sshd by its pid (and the
session processes it forked) and deletes the temp dir.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


class SSHDStartError(RuntimeError):
    pass


def prerequisites() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the test sshd needs root (root login over ssh to reach the test engine)"
    missing = [
        name
        for name, ok in (
            ("sshd", Path(SSHD).is_file()),
            ("ssh", shutil.which("ssh") is not None),
            ("ssh-keygen", shutil.which("ssh-keygen") is not None),
            ("docker CLI", shutil.which("docker") is not None),
        )
        if not ok
    ]
    if missing:
        return f"missing {', '.join(missing)} (run scripts/setup-test-engine.sh as root)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            with contextlib.suppress(OSError):
                out += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    seen: list[int] = []
    todo = _children(pid)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.append(p)
            todo += _children(p)
    return seen


def ssh_config_path() -> Path:
    """The config the ssh client reads: from the password database, not $HOME."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh" / "config"


def _marker(pid: int) -> tuple[str, str]:
    return f"# >>> batten-tests {pid}", f"# <<< batten-tests {pid}"


def remove_block(path: Path, pid: int) -> bool:
    """Remove exactly the lines from our start marker to our end marker (inclusive)."""
    start, end = _marker(pid)
    try:
        lines = path.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        return False
    out, inside, removed = [], False, False
    for line in lines:
        stripped = line.rstrip("\n")
        if stripped == start:
            inside, removed = True, True
            continue
        if inside and stripped == end:
            inside = False
            continue
        if not inside:
            out.append(line)
    if removed:
        path.write_text("".join(out))
    return removed


def remove_stale_blocks(path: Path) -> list[int]:
    """Remove blocks left by earlier test processes that died without cleaning up."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    stale = []
    for line in text.splitlines():
        if line.startswith("# >>> batten-tests "):
            tail = line[len("# >>> batten-tests ") :].strip()
            if tail.isdigit() and not Path(f"/proc/{tail}").exists():
                stale.append(int(tail))
    for pid in stale:
        remove_block(path, pid)
    return stale


@dataclass
class TestSSHD:
    __test__ = False

    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    alias: str
    unknown_alias: str
    docker_socket: str
    config_path: Path
    block_pid: int
    _created_config: bool = False
    _created_ssh_dir: bool = False
    _created_privsep: bool = False
    _stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"ssh://{self.alias}"

    @property
    def unknown_url(self) -> str:
        return f"ssh://{self.unknown_alias}"

    @property
    def identity(self) -> str:
        return str(self.root / "id_ed25519")

    @property
    def known_hosts(self) -> str:
        return str(self.root / "known_hosts")

    @property
    def log(self) -> str:
        try:
            return (self.root / "sshd.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            remove_block(self.config_path, self.block_pid)
            if (
                self._created_config
                and self.config_path.exists()
                and not self.config_path.read_text().strip()
            ):
                self.config_path.unlink()
            if self._created_ssh_dir:
                with contextlib.suppress(OSError):
                    self.config_path.parent.rmdir()  # only if empty
        finally:
            sessions = _descendants(self.proc.pid)
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            for pid in sessions:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            if self._created_privsep:
                with contextlib.suppress(OSError):
                    Path("/run/sshd").rmdir()
            shutil.rmtree(self.root, ignore_errors=True)


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "batten-tests", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def start_sshd(docker_socket: str, *, timeout: float = 15.0) -> TestSSHD:
    root = Path(tempfile.mkdtemp(prefix="bt-ssh-", dir="/tmp"))
    os.chmod(root, 0o700)
    pid = os.getpid()
    alias = f"batten-test-{pid}"
    unknown_alias = f"{alias}-unknown"
    host_key, client_key = root / "ssh_host_ed25519_key", root / "id_ed25519"
    _keygen(host_key)
    _keygen(client_key)
    (root / "authorized_keys").write_text((client_key.with_suffix(".pub")).read_text())
    os.chmod(root / "authorized_keys", 0o600)
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(_sshd_config(root, port, host_key, docker_socket))
    created_privsep = False
    if not Path("/run/sshd").is_dir():
        Path("/run/sshd").mkdir(mode=0o755)
        created_privsep = True
    check = subprocess.run(
        [SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    if check.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise SSHDStartError(f"sshd rejected its config: {check.stderr.strip()}")
    with open(root / "sshd.log", "wb") as log:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    cfg_path = ssh_config_path()
    server = TestSSHD(
        root=root,
        port=port,
        proc=proc,
        alias=alias,
        unknown_alias=unknown_alias,
        docker_socket=docker_socket,
        config_path=cfg_path,
        block_pid=pid,
        _created_privsep=created_privsep,
    )
    try:
        _trust(server, host_key, client_key)
        _wait_listening(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _sshd_config(root: Path, port: int, host_key: Path, docker_socket: str) -> str:
    """An sshd on 127.0.0.1:`port` that lets root in with the test key only, forwards nothing
    and points DOCKER_HOST at the test engine."""
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            "AddressFamily inet",
            f"HostKey {host_key}",
            f"PidFile {root / 'sshd.pid'}",
            f"AuthorizedKeysFile {root / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "AllowUsers root",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "AllowStreamLocalForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "PermitUserEnvironment no",
            "PrintMotd no",
            "LogLevel ERROR",
            f"SetEnv DOCKER_HOST=unix://{docker_socket}",
            "",
        ]
    )


def _trust(server: TestSSHD, host_key: Path, client_key: Path) -> None:
    """A known_hosts with the test host key (and an empty one for the "unknown" alias), and the
    two host aliases in a marked block at the top of the real user's ssh config."""
    root, port, cfg_path = server.root, server.port, server.config_path
    host_pub = host_key.with_suffix(".pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (root / "known_hosts_empty").write_text("")

    server._created_ssh_dir = not cfg_path.parent.exists()
    if server._created_ssh_dir:
        cfg_path.parent.mkdir(mode=0o700, parents=True)
    server._created_config = not cfg_path.exists()
    remove_stale_blocks(cfg_path)
    start, end = _marker(server.block_pid)

    def host_block(name: str, known_hosts: Path) -> list[str]:
        return [
            f"Host {name}",
            "    HostName 127.0.0.1",
            f"    Port {port}",
            "    User root",
            f"    IdentityFile {client_key}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {known_hosts}",
            "    StrictHostKeyChecking yes",
            "    ControlMaster no",
            "    ControlPath none",
        ]

    block = "\n".join(
        [
            start,
            *host_block(server.alias, root / "known_hosts"),
            *host_block(server.unknown_alias, root / "known_hosts_empty"),
            end,
            "",
        ]
    )
    existing = cfg_path.read_text() if cfg_path.exists() else ""
    # first: ssh uses the first value it finds, so a later "Host *" cannot override ours
    cfg_path.write_text(block + existing)
    os.chmod(cfg_path, 0o600)


def _wait_listening(server: TestSSHD, timeout: float) -> None:
    """Until sshd greets on its port; SSHDStartError when it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise SSHDStartError(
                f"sshd exited with status {server.proc.returncode}: {server.log.strip()}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", server.port), timeout=1) as s,
        ):
            if s.recv(64).startswith(b"SSH-2.0"):
                return
        if time.monotonic() > deadline:
            raise SSHDStartError(f"sshd did not listen on 127.0.0.1:{server.port} within {timeout:g}s")
        time.sleep(0.1)
