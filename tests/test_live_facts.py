"""Facts -> findings, on recorded engine JSON (tests/fixtures/live) and small variations of it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from batten.checks.base import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS
from batten.checks.catalogue import RULES
from batten.live.facts import judge_all, judge_container, judge_image, scan_engine
from batten.live.readers import is_root_user, tmpfs_effective_flags
from batten.live.replay import ReplayGateway
from tests.support.recorded import FIXTURES, PLAIN_RUN_FINDINGS, load


def ids(findings: list[Any]) -> list[str]:
    return sorted(f.rule_id for f in findings)


def by_rule(findings: list[Any], rule_id: str) -> list[Any]:
    return [f for f in findings if f.rule_id == rule_id]


@pytest.fixture(scope="module")
def replay() -> ReplayGateway:
    return ReplayGateway.from_dir(FIXTURES)


def test_all_rule_ids_used_exist_in_the_catalogue(replay: ReplayGateway) -> None:
    scan = scan_engine(replay, all=True)
    used = {f.rule_id for f in scan.findings} | {"ns.host-network", "live.drift"}
    assert used <= set(RULES), used - set(RULES)


def test_docker_default_capabilities() -> None:
    assert len(DOCKER_DEFAULT_CAPS) == 14
    assert {"NET_RAW", "NET_BIND_SERVICE", "CHOWN", "SETUID", "AUDIT_WRITE"} <= DOCKER_DEFAULT_CAPS
    assert "SYS_ADMIN" not in DOCKER_DEFAULT_CAPS


def test_hardened_container_has_no_findings() -> None:
    findings = judge_container(
        load("inspect-hardened"), None, load("info"), top=load("top-hardened")
    )
    # the engine's default ulimits are the one thing left (informational, CIS 5.19 is manual)
    assert [(f.rule_id, f.severity.label) for f in findings] == [("limits.ulimits", "info")]


def test_hardened_compose_db_has_no_findings() -> None:
    assert ids(judge_container(load("inspect-demo-db-1"), None, load("info"))) == ["limits.ulimits"]


def test_privileged_created_not_started() -> None:
    inspect = load("inspect-privileged")
    assert inspect["State"]["Status"] == "created"
    findings = judge_container(inspect, None, load("info"))
    assert ids(findings) == sorted([
        *PLAIN_RUN_FINDINGS,
        "priv.privileged",
        "caps.dangerous-added",
        "apparmor.unconfined",
        "ports.bind-all-interfaces",
        "ports.privileged",
    ])
    # Docker adds label=disable to privileged containers itself: no separate SELinux finding
    assert "label=disable" in inspect["HostConfig"]["SecurityOpt"]
    priv = by_rule(findings, "priv.privileged")[0]
    assert priv.message == "runs privileged (HostConfig.Privileged is true)"
    assert priv.evidence == {"privileged": True}
    assert (
        by_rule(findings, "caps.dangerous-added")[0].message == "adds every capability (CapAdd ALL)"
    )
    assert by_rule(findings, "ports.bind-all-interfaces")[0].message == (
        "publishes 80/tcp on 0.0.0.0 (container port 80/tcp)"
    )


def test_weak_container_findings_and_messages() -> None:
    findings = judge_container(load("inspect-weak"), None, load("info"), top=load("top-weak"))
    assert ids(findings) == sorted(
        [
            "live.user-root",
            "caps.not-dropped",
            "priv.no-new-privileges",
            "fs.rootfs-writable",
            "mount.docker-socket",
            "mount.sensitive-host-path",
            "ns.host-pid",
            "ns.host-ipc",
            "ns.host-uts",
            "ns.host-userns",
            "limits.memory",
            "limits.cpu",
            "limits.pids",
            "limits.ulimits",
            "ports.bind-all-interfaces",
            "ports.privileged",
            "ports.ssh-exposed",
            "health.live-unmonitored",
            "image.latest",
            "logging.disabled",
        ]
    )
    msgs = {f.rule_id: f.message for f in findings}
    assert msgs["live.user-root"] == "runs as root (Config.User is empty)"
    assert msgs["mount.docker-socket"] == (
        "mounts the engine socket /var/run/docker.sock at /var/run/docker.sock (read-only)"
    )
    assert msgs["mount.sensitive-host-path"] == "bind-mounts host /etc at /host/etc (read-only)"
    assert msgs["ns.host-pid"] == "shares the host's PID namespace (PidMode is host)"
    assert msgs["ports.ssh-exposed"] == "exposes 22/tcp"
    assert msgs["image.latest"] == "runs image batten-test/busybox:latest with the latest tag"
    sensitive = by_rule(findings, "mount.sensitive-host-path")[0]
    assert sensitive.evidence["rw"] is False and sensitive.evidence["sensitive_prefix"] == "/etc"
    for f in findings:
        assert f.origin == "live"
        assert f.target == "weak"
        assert f.target_kind == "container"
        assert f.location is None
        assert f.severity == f.rule.severity


def test_compose_cache_service_findings() -> None:
    findings = judge_container(load("inspect-demo-cache-1"), None, load("info"))
    assert ids(findings) == sorted(
        [
            "caps.dangerous-added",
            "caps.dangerous-added",
            "seccomp.unconfined",
            "fs.tmpfs-noexec",
            "limits.pids",
            "limits.ulimits",
            "ports.bind-all-interfaces",
            "health.live-unmonitored",
            "restart.policy",
            "logging.unbounded",
        ]
    )
    msgs = sorted(f.message for f in findings)
    assert "adds capability NET_ADMIN" in msgs
    assert "adds capability SYS_PTRACE" in msgs
    assert "tmpfs /data allows exec (rw,exec,size=32m)" in msgs
    assert "restarts on failure up to 10 times (more than 5)" in msgs
    assert "publishes 6379/tcp on 0.0.0.0 (container port 6379/tcp)" in msgs


def test_compose_app_service_findings() -> None:
    findings = judge_container(
        load("inspect-demo-app-1"), None, load("info"), top=load("top-demo-app-1")
    )
    assert ids(findings) == sorted([*PLAIN_RUN_FINDINGS, "ports.bind-all-interfaces", "restart.policy", "image.latest"])
    assert by_rule(findings, "ports.bind-all-interfaces")[0].message == (
        "publishes 8080/tcp on 0.0.0.0 (container port 80/tcp)"
    )
    assert (
        by_rule(findings, "restart.policy")[0].message == "restarts forever (RestartPolicy always)"
    )


def test_image_findings_target_the_image_once(replay: ReplayGateway) -> None:
    scan = scan_engine(replay, all=True)
    image_findings = [f for f in scan.findings if f.target_kind == "image"]
    assert sorted((f.target, f.rule_id) for f in image_findings) == [
        ("batten-test/busybox:1", "health.missing-dockerfile"),
        ("batten-test/busybox:1", "user.missing"),
        ("batten-test/busybox:latest", "health.missing-dockerfile"),
        ("batten-test/busybox:latest", "user.missing"),
    ]
    # batten-test/app:1 has USER 10001:10001 and a HEALTHCHECK: no image findings
    app = replay.inspect_image("batten-test/app:1")
    assert app is not None and judge_image(app, "batten-test/app:1") == []
    # judge_container(image=...) includes them too
    with_image = judge_container(load("inspect-weak"), app)
    assert not [f for f in with_image if f.target_kind == "image"]


# ------------------------------------------------------------------ variations
def variant(name: str, **host_config: Any) -> dict[str, Any]:
    data = copy.deepcopy(load(f"inspect-{name}"))
    for key, value in host_config.items():
        if key.startswith("Config_"):
            data["Config"][key[len("Config_") :]] = value
        else:
            data["HostConfig"][key] = value
    return data


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("", True),
        ("root", True),
        ("0", True),
        ("root:root", True),
        ("0:0", True),
        ("root:staff", True),
        ("0:1000", True),
        ("10001", False),
        ("10001:0", False),
        ("app", False),
        ("nobody:nogroup", False),
    ],
)
def test_root_user_forms(user: str, root: bool) -> None:
    assert is_root_user(user) is root
    findings = judge_container(variant("hardened", Config_User=user))
    assert bool(by_rule(findings, "live.user-root")) is root
    if root and user:
        assert (
            by_rule(findings, "live.user-root")[0].message
            == f"runs as root (Config.User is {user!r})"
        )


def test_caps_dropped_individually_count_as_dropped() -> None:
    every = sorted(DOCKER_DEFAULT_CAPS)
    assert not by_rule(judge_container(variant("hardened", CapDrop=every)), "caps.not-dropped")
    prefixed = [f"cap_{c.lower()}" for c in every]
    assert not by_rule(judge_container(variant("hardened", CapDrop=prefixed)), "caps.not-dropped")
    partial = judge_container(variant("hardened", CapDrop=every[:-1]))
    (f,) = by_rule(partial, "caps.not-dropped")
    assert f.message == "keeps 1 of Docker's default capabilities (CapDrop lacks ALL)"
    assert f.evidence["kept_default_caps"] == [every[-1]]


def test_dangerous_cap_add_normalisation_and_net_raw() -> None:
    f = judge_container(
        variant("hardened", CapAdd=["cap_sys_admin", "CAP_NET_BIND_SERVICE", "Bpf"])
    )
    assert sorted(x.evidence["cap"] for x in by_rule(f, "caps.dangerous-added")) == [
        "BPF",
        "SYS_ADMIN",
    ]
    # NET_RAW is a default capability: re-adding it after dropping ALL is a dangerous grant ...
    f = judge_container(variant("hardened", CapAdd=["NET_RAW"]))
    assert [x.message for x in by_rule(f, "caps.dangerous-added")] == ["adds capability NET_RAW"]
    # ... adding it on top of the defaults grants nothing new (caps.not-dropped covers it)
    f = judge_container(variant("hardened", CapAdd=["NET_RAW"], CapDrop=None))
    assert not by_rule(f, "caps.dangerous-added")
    assert by_rule(f, "caps.not-dropped")


@pytest.mark.parametrize(
    ("opts", "finding"),
    [
        (["no-new-privileges"], False),
        (["no-new-privileges:true"], False),
        (["no-new-privileges=true"], False),
        (["no-new-privileges:false"], True),
        (["seccomp=unconfined"], True),
        (None, True),
    ],
)
def test_no_new_privileges_forms(opts: list[str] | None, finding: bool) -> None:
    f = judge_container(variant("hardened", SecurityOpt=opts))
    assert bool(by_rule(f, "priv.no-new-privileges")) is finding


def test_security_opt_confinement() -> None:
    f = judge_container(
        variant("hardened", SecurityOpt=["no-new-privileges", "seccomp:unconfined"])
    )
    assert by_rule(f, "seccomp.unconfined")
    f = judge_container(variant("hardened", SecurityOpt=["no-new-privileges", "label:disable"]))
    assert [x.message for x in by_rule(f, "selinux.disabled")] == [
        "turns off SELinux labelling (label=disable)"
    ]
    f = judge_container(
        variant("hardened", SecurityOpt=["no-new-privileges", "apparmor:unconfined"])
    )
    assert by_rule(f, "apparmor.unconfined")
    # Docker adds label=disable itself for host PID/IPC: reported as ns.host-pid only
    f = judge_container(
        variant("hardened", SecurityOpt=["no-new-privileges", "label=disable"], PidMode="host")
    )
    assert not by_rule(f, "selinux.disabled") and by_rule(f, "ns.host-pid")


def test_empty_apparmor_profile_depends_on_the_host() -> None:
    inspect = variant("hardened")
    inspect["AppArmorProfile"] = ""
    no_apparmor = {"SecurityOptions": ["name=seccomp,profile=default"]}
    with_apparmor = {"SecurityOptions": ["name=apparmor", "name=seccomp,profile=default"]}
    assert not by_rule(judge_container(inspect, None, no_apparmor), "apparmor.unconfined")
    assert not by_rule(judge_container(inspect, None, None), "apparmor.unconfined")
    (f,) = by_rule(judge_container(inspect, None, with_apparmor), "apparmor.unconfined")
    assert f.message == "runs without an AppArmor profile although the host enforces AppArmor"
    inspect["AppArmorProfile"] = "docker-default"
    assert not by_rule(judge_container(inspect, None, with_apparmor), "apparmor.unconfined")
    inspect["AppArmorProfile"] = "unconfined"
    assert by_rule(judge_container(inspect, None, no_apparmor), "apparmor.unconfined")


def test_tmpfs_effective_options_follow_dockers_defaults() -> None:
    # Docker mounts every tmpfs noexec,nosuid,nodev unless the options turn that off
    assert tmpfs_effective_flags("") == {"noexec": True, "nosuid": True, "nodev": True}
    assert tmpfs_effective_flags("rw,size=1m")["noexec"] is True
    assert tmpfs_effective_flags("rw,exec")["noexec"] is False
    assert tmpfs_effective_flags("exec,noexec")["noexec"] is True
    assert tmpfs_effective_flags("suid")["nosuid"] is False
    f = judge_container(variant("hardened", Tmpfs={"/run": "rw,suid,dev"}))
    assert [x.message for x in by_rule(f, "fs.tmpfs-noexec")] == [
        "tmpfs /run allows suid, dev (rw,suid,dev)"
    ]
    f = judge_container(
        variant(
            "hardened",
            Tmpfs=None,
            Mounts=[{"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"Options": [["exec"]]}}],
        )
    )
    assert [x.evidence["target"] for x in by_rule(f, "fs.tmpfs-noexec")] == ["/cache"]
    f = judge_container(variant("hardened", Tmpfs={"/tmp": ""}))
    assert not by_rule(f, "fs.tmpfs-noexec")


@pytest.mark.parametrize(
    ("source", "rule_id"),
    [
        ("/var/run/docker.sock", "mount.docker-socket"),
        ("/run/containerd/containerd.sock", "mount.docker-socket"),
        ("/run/podman/podman.sock", "mount.docker-socket"),
        ("/var/run/crio/crio.sock", "mount.docker-socket"),
        ("/run", "mount.docker-socket"),
        ("/var/run", "mount.docker-socket"),
        ("/", "mount.sensitive-host-path"),
        ("/etc", "mount.sensitive-host-path"),
        ("/etc/ssl/certs", "mount.sensitive-host-path"),
        ("/proc", "mount.sensitive-host-path"),
        ("/var/lib/app", "mount.sensitive-host-path"),
        ("/home/me/project", "mount.sensitive-host-path"),
        ("/srv/data", None),
        ("/etcetera", None),
        ("/opt/app", None),
    ],
)
def test_bind_mount_sources(source: str, rule_id: str | None) -> None:
    inspect = variant("hardened")
    inspect["Mounts"] = [
        {"Type": "bind", "Source": source, "Destination": "/mnt/x", "Mode": "", "RW": True}
    ]
    f = judge_container(inspect)
    got = [x.rule_id for x in f if x.rule_id.startswith("mount.")]
    assert got == ([rule_id] if rule_id else [])
    if rule_id:
        assert by_rule(f, rule_id)[0].evidence["rw"] is True
        assert "(read-write)" in by_rule(f, rule_id)[0].message


def test_named_volumes_are_not_sensitive_binds() -> None:
    inspect = variant("hardened")
    inspect["Mounts"] = [
        {
            "Type": "volume",
            "Name": "data",
            "Source": "/var/lib/docker/volumes/data/_data",
            "Destination": "/data",
            "RW": True,
        }
    ]
    assert not [x for x in judge_container(inspect) if x.rule_id.startswith("mount.")]


def test_host_network_namespace() -> None:
    (f,) = by_rule(judge_container(variant("hardened", NetworkMode="host")), "ns.host-network")
    assert f.message == "shares the host's network namespace (NetworkMode is host)"


@pytest.mark.parametrize(
    ("memory", "nano", "quota", "shares", "mem_finding", "cpu_finding"),
    [
        (0, 0, 0, 0, True, True),
        (67108864, 0, 0, 1024, False, True),
        (67108864, 0, 50000, 0, False, False),
        (67108864, 0, 0, 512, False, False),
        (67108864, 500000000, 0, 0, False, False),
    ],
)
def test_memory_and_cpu_limits(
    memory: int, nano: int, quota: int, shares: int, mem_finding: bool, cpu_finding: bool
) -> None:
    f = judge_container(
        variant("hardened", Memory=memory, NanoCpus=nano, CpuQuota=quota, CpuShares=shares)
    )
    assert bool(by_rule(f, "limits.memory")) is mem_finding
    assert bool(by_rule(f, "limits.cpu")) is cpu_finding


@pytest.mark.parametrize(
    ("pids", "finding"), [(None, True), (0, True), (-1, True), (1, False), (200, False)]
)
def test_pids_limit(pids: int | None, finding: bool) -> None:
    assert (
        bool(by_rule(judge_container(variant("hardened", PidsLimit=pids)), "limits.pids"))
        is finding
    )


def test_port_bindings_host_ips() -> None:
    f = judge_container(
        variant(
            "hardened",
            PortBindings={
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}],
                "443/tcp": [{"HostIp": "::", "HostPort": "8443"}],
                "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
                "9000/tcp": [{"HostIp": "", "HostPort": ""}],
            },
        )
    )
    assert sorted(x.message for x in by_rule(f, "ports.bind-all-interfaces")) == [
        "publishes 5353/udp on 0.0.0.0 (container port 53/udp)",
        "publishes 8443/tcp on :: (container port 443/tcp)",
        "publishes a random port/tcp on 0.0.0.0 (container port 9000/tcp)",
    ]
    assert [x.message for x in by_rule(f, "ports.privileged")] == [
        "publishes host port 80 (below 1024) for 80/tcp"
    ]


def test_engine_bound_ports_merge_with_declared_ones() -> None:
    inspect = variant("hardened", PortBindings={"80/tcp": [{"HostIp": "", "HostPort": ""}]})
    inspect["NetworkSettings"]["Ports"] = {
        "80/tcp": [
            {"HostIp": "0.0.0.0", "HostPort": "49153"},
            {"HostIp": "::", "HostPort": "49153"},
        ]
    }
    (f,) = by_rule(judge_container(inspect), "ports.bind-all-interfaces")
    assert f.evidence == {
        "container_port": "80/tcp",
        "host_port": "49153",
        "host_ips": ["0.0.0.0", "::"],
    }


def test_publish_all_ports() -> None:
    f = judge_container(variant("hardened", PublishAllPorts=True))
    assert [x.message for x in by_rule(f, "ports.bind-all-interfaces")] == [
        "publishes every exposed port on all interfaces (PublishAllPorts)"
    ]


def test_sshd_process_in_top() -> None:
    top = {
        "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "Processes": [
            [
                "root",
                "1",
                "0",
                "0",
                "10:00",
                "?",
                "00:00:00",
                "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
            ]
        ],
    }
    (f,) = by_rule(judge_container(variant("hardened"), top=top), "ports.ssh-exposed")
    assert f.message == "runs sshd"
    assert not by_rule(
        judge_container(variant("hardened"), top=load("top-hardened")), "ports.ssh-exposed"
    )


def test_health_status_and_configured_checks() -> None:
    running = load("inspect-hardened")
    assert running["State"]["Health"]["Status"] == "healthy"
    assert not by_rule(judge_container(running), "health.live-unmonitored")
    created = copy.deepcopy(running)
    del created["State"]["Health"]  # created, not started: the check is configured
    assert not by_rule(judge_container(created), "health.live-unmonitored")
    created["Config"]["Healthcheck"] = {"Test": ["NONE"]}
    (f,) = by_rule(judge_container(created), "health.live-unmonitored")
    assert f.message == "has no health status (health check disabled)"


@pytest.mark.parametrize(
    ("name", "retries", "message"),
    [
        ("no", 0, None),
        ("unless-stopped", 0, None),
        ("on-failure", 5, None),
        ("on-failure", 6, "restarts on failure up to 6 times (more than 5)"),
        ("on-failure", 0, "restarts on failure without a retry limit"),
        ("always", 0, "restarts forever (RestartPolicy always)"),
    ],
)
def test_restart_policy(name: str, retries: int, message: str | None) -> None:
    f = judge_container(
        variant("hardened", RestartPolicy={"Name": name, "MaximumRetryCount": retries})
    )
    assert [x.message for x in by_rule(f, "restart.policy")] == ([message] if message else [])


@pytest.mark.parametrize(
    ("ref", "finding"),
    [
        ("nginx", True),
        ("nginx:latest", True),
        ("registry.local:5000/team/app", True),
        ("registry.local:5000/team/app:1.2", False),
        ("nginx:1.27", False),
        ("nginx@sha256:" + "a" * 64, False),
        ("nginx:latest@sha256:" + "a" * 64, False),
        ("sha256:" + "b" * 64, False),
    ],
)
def test_image_latest(ref: str, finding: bool) -> None:
    assert (
        bool(by_rule(judge_container(variant("hardened", Config_Image=ref)), "image.latest"))
        is finding
    )


def test_split_image_ref() -> None:
    from batten.sources.imageref import split_image_ref

    assert split_image_ref("reg:5000/ns/app:1.0@sha256:x") == ("reg:5000/ns/app", "1.0", "sha256:x")
    assert split_image_ref("reg:5000/ns/app") == ("reg:5000/ns/app", None, None)


@pytest.mark.parametrize(
    ("log_config", "rule_id"),
    [
        ({"Type": "none", "Config": {}}, "logging.disabled"),
        ({"Type": "json-file", "Config": {}}, "logging.unbounded"),
        ({"Type": "json-file", "Config": {"max-size": "10m"}}, None),
        ({"Type": "local", "Config": {}}, None),  # the local driver rotates by default
        ({"Type": "journald", "Config": {}}, None),
    ],
)
def test_logging(log_config: dict[str, Any], rule_id: str | None) -> None:
    f = judge_container(variant("hardened", LogConfig=log_config))
    assert [x.rule_id for x in f if x.rule_id.startswith("logging.")] == (
        [rule_id] if rule_id else []
    )


def test_environment_values_never_reach_findings() -> None:
    inspect = variant("demo-app-1")
    inspect["Config"]["Env"] = ["DB_PASSWORD=hunter2-very-secret", "PATH=/bin"]
    image = ReplayGateway.from_dir(FIXTURES).inspect_image("batten-test/busybox:latest")
    assert image is not None
    findings = judge_container(inspect, image, load("info"))
    # the container is judged (root user, no limits, ...): the loop below checks real findings
    assert {"live.user-root", "limits.memory"} <= {f.rule_id for f in findings}
    for f in findings:
        assert "hunter2" not in f.message
        assert "hunter2" not in json.dumps(f.evidence, default=str)


def test_judge_all_deduplicates_image_findings(replay: ReplayGateway) -> None:
    from batten.live.gateway import inspect_all

    inspected = inspect_all(replay, [c["Id"] for c in replay.list_containers(all=True)])
    findings = judge_all(inspected + inspected, load("info"))
    image = [(f.target, f.rule_id) for f in findings if f.target_kind == "image"]
    assert len(image) == len(set(image)) == 4
