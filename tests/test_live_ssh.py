"""ssh:// engines through the system ssh client, against a loopback sshd. No mocks.

The sshd fixture's "remote" docker CLI reaches the private test engine (SetEnv DOCKER_HOST),
and its Host aliases live in a marked block of the real user's ~/.ssh/config. Host-key checking
stays on: the trusted alias has a known_hosts with the test key, the other one does not.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from batten.live.endpoint import Endpoint, resolve_endpoint
from batten.live.facts import judge_all, judge_container
from batten.live.gateway import DockerGateway, EngineUnavailable, inspect_all

pytestmark = [pytest.mark.engine, pytest.mark.ssh]


def summaries(gw: DockerGateway) -> list[tuple[str, tuple[str, ...], str]]:
    return sorted((c["Id"], tuple(c["Names"]), c["State"]) for c in gw.list_containers(all=True))


def test_ssh_lists_the_same_containers_as_the_socket(engine: Any, sshd: Any) -> None:
    engine.run(name="s-one")
    engine.run(name="s-two", read_only=True, cap_drop=["ALL"])
    engine.create(name="s-three")
    local = DockerGateway(Endpoint(url=engine.url, source="--host"))
    remote = DockerGateway(resolve_endpoint(host=sshd.url, env={}))
    try:
        assert remote.endpoint.is_ssh and remote.endpoint.display == f"{sshd.url} (from --host)"
        assert remote.ping() is True
        assert summaries(remote) == summaries(local)
        ids = [c["Id"] for c in local.list_containers(all=True)]
        over_ssh = inspect_all(remote, ids, workers=8)
        over_unix = inspect_all(local, ids, workers=8)
        assert [i.container["Id"] for i in over_ssh] == ids
        assert [f.message for f in judge_all(over_ssh)] == [f.message for f in judge_all(over_unix)]
        one = over_ssh[0].container["Id"]
        pids = lambda top: [row[1] for row in top["Processes"]]  # noqa: E731
        assert pids(remote.top(one)) == pids(local.top(one))
        assert remote.changes(one) == local.changes(one)
        assert judge_container(remote.inspect_container(one)) is not None
    finally:
        remote.close()
        local.close()


def test_ssh_via_docker_host_and_via_a_context(engine: Any, sshd: Any, tmp_path: Path) -> None:
    engine.run(name="s-ctx")
    gw = DockerGateway(resolve_endpoint(env={"DOCKER_HOST": sshd.url}))
    try:
        assert "/s-ctx" in [n for c in gw.list_containers() for n in c["Names"]]
    finally:
        gw.close()
    # a docker context store, as `docker context create remote --docker host=ssh://alias` writes it
    cfg = tmp_path / "docker"
    meta = cfg / "contexts" / "meta" / hashlib.sha256(b"remote").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": "remote",
                "Metadata": {},
                "Endpoints": {"docker": {"Host": sshd.url, "SkipTLSVerify": False}},
            }
        )
    )
    (cfg / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    ep = resolve_endpoint(env={"DOCKER_CONFIG": str(cfg)})
    assert (ep.url, ep.context, ep.source) == (sshd.url, "remote", "config.json")
    gw = DockerGateway(ep)
    try:
        assert "/s-ctx" in [n for c in gw.list_containers() for n in c["Names"]]
    finally:
        gw.close()


def test_unknown_host_key_is_refused_with_a_clear_message(sshd: Any) -> None:
    empty = Path(sshd.root) / "known_hosts_empty"
    gw = DockerGateway(resolve_endpoint(host=sshd.unknown_url, env={}), timeout=5)
    start = time.monotonic()
    try:
        with pytest.raises(EngineUnavailable) as info:
            gw.list_containers()
    finally:
        gw.close()
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert elapsed < 10, elapsed
    assert message.startswith(f"ssh: the host key of {sshd.unknown_alias} is not known")
    assert f"ssh {sshd.unknown_alias}" in message
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {empty}" in message
    assert "\n" not in message
    # nothing was added to the known_hosts file: checking stayed on
    assert empty.read_text() == ""


def test_ssh_processes_end_when_the_gateway_closes(sshd: Any) -> None:
    gw = DockerGateway(resolve_endpoint(host=sshd.url, env={}))
    gw.ping()
    transport = gw._ssh_transport
    procs = [entry.proc for entry in transport._procs]
    assert procs and all(p.poll() is None for p in procs)
    gw.close()
    deadline = time.monotonic() + 5
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(p.poll() is not None for p in procs)


def test_unreachable_ssh_port_is_one_line(sshd: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = DockerGateway(resolve_endpoint(host=f"ssh://root@127.0.0.1:{port}", env={}), timeout=5)
    try:
        with pytest.raises(
            EngineUnavailable, match=rf"^ssh: connection to root@127.0.0.1:{port} refused"
        ):
            gw.ping()
    finally:
        gw.close()
