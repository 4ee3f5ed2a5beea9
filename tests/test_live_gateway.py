"""Gateway behaviour without an engine: errors are one line, replay serves recordings,
inspect_all runs in parallel, the scan path never imports docker, ssh stays strict."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from batten.live.endpoint import Endpoint, resolve_endpoint
from batten.live.gateway import (
    ContainerNotFound,
    DockerGateway,
    EngineGateway,
    EngineUnavailable,
    inspect_all,
)
from batten.live.replay import ReplayGateway, record_engine
from batten.live.ssh import SSHTarget, explain_ssh_failure
from batten.model import BattenError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "live"


def test_live_modules_do_not_import_docker_or_textual() -> None:
    code = (
        "import sys\n"
        "import batten.live, batten.live.endpoint, batten.live.gateway, batten.live.facts, batten.live.drift,"
        " batten.live.evidence, batten.live.replay\n"
        "from batten.live.replay import ReplayGateway\n"
        "from batten.live.facts import scan_engine\n"
        f"scan_engine(ReplayGateway.from_dir({str(FIXTURES)!r}), all=True)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'textual', 'requests'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_no_relaxed_host_key_checking_anywhere_in_app_live() -> None:
    for path in (REPO / "app" / "live").glob("*.py"):
        text = path.read_text()
        for forbidden in (
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "AutoAddPolicy",
        ):
            assert forbidden not in text, f"{path.name} contains {forbidden}"


def test_ssh_command_is_batch_mode_without_a_terminal() -> None:
    t = SSHTarget.parse("ssh://deploy@build.example:2222")
    assert (t.host, t.user, t.port) == ("build.example", "deploy", 2222)
    argv = t.ssh_command(connect_timeout=5)
    assert argv[0] == "ssh"
    assert "BatchMode=yes" in argv and "ConnectTimeout=5" in argv and "-T" in argv
    assert argv[-5:] == ["--", "build.example", "docker", "system", "dial-stdio"]
    assert argv[argv.index("-l") + 1] == "deploy" and argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("--") + 1] == "build.example"
    assert not any("StrictHostKeyChecking" in a for a in argv)
    alias = SSHTarget.parse("ssh://Prod-Box")
    assert (alias.host, alias.user, alias.port) == ("Prod-Box", None, None)


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\n"
            "Host key verification failed.\r\n",
            "host key of box is not known",
        ),
        (
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.\n",
            "has CHANGED",
        ),
        ("root@box: Permission denied (publickey).\n", "refused the login"),
        (
            "ssh: Could not resolve hostname box: Name or service not known\n",
            "cannot resolve host name",
        ),
        ("ssh: connect to host box port 22: Connection refused\n", "connection to box refused"),
        ("ssh: connect to host box port 22: Connection timed out\n", "timed out"),
        ("bash: line 1: docker: command not found\n", "no docker CLI on box"),
        ("something odd happened\nlast words\n", "ssh to box failed: last words"),
        ("", "ssh to box failed (exit status 255)"),
    ],
)
def test_ssh_failures_become_one_clear_line(stderr: str, expected: str) -> None:
    msg = explain_ssh_failure(SSHTarget.parse("ssh://box"), stderr, 255)
    assert expected in msg
    assert "\n" not in msg and "\r" not in msg


def test_unknown_host_key_message_says_how_to_add_it() -> None:
    conf = {
        "hostname": "10.1.2.3",
        "port": "2222",
        "userknownhostsfile": "/home/u/.ssh/known_hosts /home/u/.ssh/known_hosts2",
    }
    msg = explain_ssh_failure(
        SSHTarget.parse("ssh://prod"), "Host key verification failed.", 255, conf
    )
    assert msg == (
        "ssh: the host key of prod is not known (not in /home/u/.ssh/known_hosts) and batten never "
        "accepts unknown keys: connect once by hand (ssh prod) and confirm the fingerprint, or "
        "check and add it with `ssh-keyscan -p 2222 10.1.2.3 >> /home/u/.ssh/known_hosts`"
    )


# ------------------------------------------------------------------ DockerGateway errors
def test_missing_socket_is_one_clear_line(tmp_path: Path) -> None:
    gw = DockerGateway(resolve_endpoint(host=f"unix://{tmp_path}/nope.sock", env={}), timeout=2)
    with pytest.raises(EngineUnavailable) as info:
        gw.ping()
    assert str(info.value) == (
        f"cannot reach the Docker engine at unix://{tmp_path}/nope.sock (from --host): "
        f"no socket at {tmp_path}/nope.sock (is the engine running?)"
    )
    assert isinstance(info.value, BattenError)


def test_refused_tcp_port_is_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    gw = DockerGateway(resolve_endpoint(host=f"tcp://127.0.0.1:{port}", env={}), timeout=2)
    with pytest.raises(EngineUnavailable, match="connection refused"):
        gw.info()


def test_silent_engine_times_out_instead_of_hanging(tmp_path: Path) -> None:
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])  # and never answer
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        gw = DockerGateway(Endpoint(url=f"unix://{path}", source="--host"), timeout=0.5)
        start = time.monotonic()
        with pytest.raises(EngineUnavailable) as info:
            gw.list_containers()
        assert time.monotonic() - start < 5
        assert str(info.value) == (
            f"Docker engine at unix://{path} (from --host) did not answer version within 0.5s"
        )
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        server.close()


def test_gateway_exposes_only_read_calls() -> None:
    public = {n for n in dir(DockerGateway) if not n.startswith("_")}
    assert public == {
        "api_version",
        "changes",
        "close",
        "export_image",
        "info",
        "inspect_container",
        "inspect_image",
        "list_containers",
        "ping",
        "stats_once",
        "top",
        "version",
    }


# ------------------------------------------------------------------ replay
def test_replay_gateway_serves_the_recording() -> None:
    gw = ReplayGateway.from_dir(FIXTURES)
    assert isinstance(gw, EngineGateway)
    assert gw.ping() is True
    assert gw.endpoint.url == f"replay://{FIXTURES}"
    assert gw.names() == [
        "demo-app-1",
        "demo-cache-1",
        "demo-db-1",
        "hardened",
        "privileged",
        "weak",
    ]
    running = {c["Names"][0] for c in gw.list_containers()}
    assert "/privileged" not in running and "/weak" in running
    assert len(gw.list_containers(all=True)) == 6
    weak = gw.inspect_container("weak")
    assert gw.inspect_container("/weak")["Id"] == weak["Id"]
    assert gw.inspect_container(weak["Id"][:12])["Id"] == weak["Id"]
    assert gw.inspect_image(weak["Image"])["Id"] == weak["Image"]
    assert gw.inspect_image("batten-test/busybox:latest")["Id"] == weak["Image"]
    assert gw.inspect_image("nope:1") is None
    with pytest.raises(ContainerNotFound):
        gw.inspect_container("nope")
    assert gw.top("privileged") == {"Titles": [], "Processes": []}
    assert gw.stats_once("privileged") == {}
    assert gw.info()["SecurityOptions"]
    # callers get copies: changing them does not change the recording
    weak["Config"]["User"] = "changed"
    assert gw.inspect_container("weak")["Config"]["User"] == ""


class Counting:
    """Wraps a gateway, counts calls, and pretends one container was removed meanwhile."""

    def __init__(self, inner: ReplayGateway, gone: str) -> None:
        self.inner, self.gone = inner, gone
        self.endpoint = inner.endpoint
        self.calls: dict[str, int] = {}
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            self.threads.add(threading.current_thread().name)
        time.sleep(0.01)

    def inspect_container(self, cid: str) -> dict[str, Any]:
        self._count("inspect_container")
        if cid == self.gone:
            raise ContainerNotFound(cid)
        return self.inner.inspect_container(cid)

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        self._count("inspect_image")
        return self.inner.inspect_image(ref)


def test_inspect_all_parallel_dedups_images_and_skips_removed() -> None:
    inner = ReplayGateway.from_dir(FIXTURES)
    ids = [c["Id"] for c in inner.list_containers(all=True)]
    gw = Counting(inner, gone=ids[0])
    result = inspect_all(gw, ids, workers=4)  # type: ignore[arg-type]
    assert [r.container["Id"] for r in result] == ids[1:]
    assert gw.calls["inspect_container"] == len(ids)
    assert gw.calls["inspect_image"] == len({r.container["Image"] for r in result})
    assert all(r.image is not None and r.image["Id"] == r.container["Image"] for r in result)
    assert len(gw.threads) > 1
    assert inspect_all(gw, []) == []  # type: ignore[arg-type]


def test_record_then_replay_round_trip(tmp_path: Path) -> None:
    src = ReplayGateway.from_dir(FIXTURES)
    written = record_engine(src, tmp_path, containers=["weak", "privileged"], meta={"x": 1})
    assert "inspect-weak.json" in written and "top-weak.json" in written
    assert "top-privileged.json" not in written  # not running: no stats/top
    again = ReplayGateway.from_dir(tmp_path)
    assert again.names() == ["privileged", "weak"]
    assert again.inspect_container("weak") == src.inspect_container("weak")


def test_missing_ssh_client_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import batten.live.ssh

    monkeypatch.setattr(batten.live.ssh, "SSH_BINARY", "/nonexistent/ssh")
    gw = DockerGateway(resolve_endpoint(host="ssh://box", env={}), timeout=2)
    with pytest.raises(EngineUnavailable) as info:
        gw.ping()
    assert (
        str(info.value) == "cannot reach ssh://box: ssh client not found (install openssh-client)"
    )
