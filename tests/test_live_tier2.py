"""Tier 2 rows judged on running containers (devices, propagation, cgroup parent, ulimits,
shared namespaces, published ports the image does not expose, the default bridge), with the
catalogue's ids. On the real test engine where the field can be set here; the default bridge
does not exist on this engine (--bridge=none), so that row uses recorded inspect JSON."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from batten.live.facts import judge_container
from tests.support.recorded import load

TIER2 = ("devices.host", "mount.propagation-shared", "cgroup.parent", "limits.ulimits",
         "ns.shared-with-container", "network.default-bridge", "ports.only-needed")  # fmt: skip


def tier2(findings: list[Any]) -> list[tuple[str, str]]:
    return sorted((f.rule_id, f.message) for f in findings if f.rule_id in TIER2)


@pytest.fixture
def gateway(engine: Any) -> Any:
    from batten.live.endpoint import Endpoint
    from batten.live.gateway import DockerGateway

    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    yield gw
    gw.close()


def judge(gateway: Any, cid: str) -> list[Any]:
    inspect = gateway.inspect_container(cid)
    return judge_container(inspect, gateway.inspect_image(inspect["Image"]), gateway.info())


QUIET = dict(ulimits=[{"name": "nofile", "soft": 1024, "hard": 1024}])


@pytest.mark.engine
def test_a_plain_container_has_only_the_ulimits_row(engine: Any, gateway: Any) -> None:
    plain = engine.run(name="t2-plain")
    assert tier2(judge(gateway, plain.id)) == [
        ("limits.ulimits", "runs with the engine's default ulimits (HostConfig.Ulimits is empty)")
    ]
    quiet = engine.run(name="t2-quiet", **QUIET)
    assert tier2(judge(gateway, quiet.id)) == []


@pytest.mark.engine
def test_devices_cgroup_parent_and_ports(engine: Any, gateway: Any) -> None:
    c = engine.run(name="t2-dev", devices=["/dev/null:/dev/xnull:r"], cgroup_parent="batten-test",
                   ports={"9999/tcp": ("127.0.0.1", 19999)}, **QUIET)
    findings = judge(gateway, c.id)
    assert tier2(findings) == [
        ("cgroup.parent", "runs under cgroup parent batten-test (HostConfig.CgroupParent)"),
        ("devices.host", "has host device /dev/null at /dev/xnull (r)"),
        ("ports.only-needed", "publishes 9999/tcp, which its image does not expose"),
    ]
    dev = next(f for f in findings if f.rule_id == "devices.host")
    assert dev.severity.label == "medium" and dev.evidence["critical_device"] is False
    assert dev.rule.refs["docker-bench"] == "5.18"


def test_host_memory_and_raw_disks_are_critical_unless_the_config_says_otherwise() -> None:
    from batten.config import Config
    from batten.model import Severity

    inspect = load("inspect-hardened")
    devices = ["/dev/mem", "/dev/kmem", "/dev/port", "/dev/sdb", "/dev/nvme0n1", "/dev/mapper/vg-root",
               "/dev/kmsg", "/dev/fuse", "/dev/memory_bandwidth"]
    inspect["HostConfig"]["Devices"] = [
        {"PathOnHost": d, "PathInContainer": d, "CgroupPermissions": "r"} for d in devices
    ]

    def severities(findings: list[Any]) -> dict[str, str]:
        return {f.evidence["host"]: f.severity.label for f in findings if f.rule_id == "devices.host"}

    expected = {"/dev/mem": "critical", "/dev/kmem": "critical", "/dev/port": "critical",
                "/dev/sdb": "critical", "/dev/nvme0n1": "critical", "/dev/mapper/vg-root": "critical",
                "/dev/kmsg": "high", "/dev/fuse": "medium", "/dev/memory_bandwidth": "medium"}
    assert severities(judge_container(inspect)) == expected
    # the config keeps what the check judged, unless it sets the rule's severity itself
    assert severities(Config().apply(judge_container(inspect))) == expected
    low = Config(severity={"devices.host": Severity.LOW})
    assert set(severities(low.apply(judge_container(inspect))).values()) == {"low"}
    mem = next(f for f in judge_container(inspect) if f.evidence.get("host") == "/dev/mem")
    assert mem.evidence["critical_device"] is True
    assert mem.message == "has host device /dev/mem (host memory or I/O ports) at /dev/mem (r)"


@pytest.mark.engine
def test_a_port_the_image_exposes_is_needed(engine: Any, gateway: Any) -> None:
    engine.build("batten-test/exposes:1", "FROM batten-test/busybox:1\nEXPOSE 8080\n")
    c = engine.run("batten-test/exposes:1", name="t2-exposed", ports={"8080/tcp": ("127.0.0.1", 18080)},
                   **QUIET)
    assert tier2(judge(gateway, c.id)) == []


@pytest.mark.engine
def test_namespaces_shared_with_another_container(engine: Any, gateway: Any) -> None:
    first = engine.run(name="t2-first", ipc_mode="shareable", **QUIET)
    second = engine.run(name="t2-second", pid_mode=f"container:{first.id}",
                        ipc_mode=f"container:{first.id}", **QUIET)
    assert tier2(judge(gateway, second.id)) == [
        ("ns.shared-with-container", f"joins the IPC namespace of container {first.id[:12]} "
                                     f"(IpcMode is container:{first.id[:12]})"),
        ("ns.shared-with-container", f"joins the PID namespace of container {first.id[:12]} "
                                     f"(PidMode is container:{first.id[:12]})"),
    ]
    assert tier2(judge(gateway, first.id)) == []


@pytest.mark.engine
def test_mount_propagation(engine: Any, gateway: Any, tmp_path: Path) -> None:
    """Created, not started: the engine refuses to start a slave mount of a private host mount
    here, but the inspect of the created container is what a running one shows."""
    from docker.types import Mount

    c = engine.create(name="t2-prop", mounts=[Mount("/mnt/x", str(tmp_path), type="bind", propagation="rslave")],
                      **QUIET)
    private = engine.create(name="t2-private", mounts=[Mount("/mnt/x", str(tmp_path), type="bind")], **QUIET)
    assert tier2(judge(gateway, c.id)) == [
        ("mount.propagation-shared", f"bind-mounts {tmp_path} at /mnt/x with rslave propagation")
    ]
    assert tier2(judge(gateway, private.id)) == []


def test_default_bridge_and_critical_devices_from_recorded_json() -> None:
    inspect = load("inspect-hardened")
    assert tier2(judge_container(inspect)) == [
        ("limits.ulimits", "runs with the engine's default ulimits (HostConfig.Ulimits is empty)")
    ]
    bridged = copy.deepcopy(inspect)
    bridged["HostConfig"]["NetworkMode"] = "bridge"
    bridged["NetworkSettings"]["Networks"] = {"bridge": {"NetworkID": "x"}}
    bridged["HostConfig"]["Devices"] = [
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda", "CgroupPermissions": "rwm"}
    ]
    bridged["HostConfig"]["Binds"] = ["/srv:/srv:ro,rshared"]
    got = tier2(judge_container(bridged))
    assert ("network.default-bridge", "is on the default bridge network (NetworkMode bridge)") in got
    assert ("devices.host", "has host device /dev/sda (a host disk) at /dev/sda (rwm)") in got
    assert ("mount.propagation-shared", "bind-mounts /srv at /srv with rshared propagation") in got
    compose_net = copy.deepcopy(inspect)
    compose_net["HostConfig"]["NetworkMode"] = "demo_default"
    compose_net["NetworkSettings"]["Networks"] = {"demo_default": {}}
    assert not [f for f in judge_container(compose_net) if f.rule_id == "network.default-bridge"]
