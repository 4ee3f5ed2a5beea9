"""Compose identity from labels, and drift between a service's config and its container."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from batten.live.drift import (
    AHEAD,
    STALE,
    ComposeIdentity,
    DriftItem,
    compose_identity,
    drift,
    drift_findings,
    parse_cpus,
    parse_memory,
)
from batten.live.replay import ReplayGateway, default_repo_root
from batten.model import Location
from tests.support.recorded import FIXTURES, load

# What examples/demo/compose.yaml declares for "db", as `docker compose config` prints it.
DB_DECLARED: dict[str, Any] = {
    "image": "batten-test/app:1",
    "user": "10001:10001",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "tmpfs": ["/tmp:rw,noexec,nosuid,size=16m"],
    "ports": [
        {
            "target": 5432,
            "published": "5432",
            "host_ip": "127.0.0.1",
            "protocol": "tcp",
            "mode": "ingress",
        }
    ],
    "deploy": {"resources": {"limits": {"memory": "256M", "cpus": "1.0", "pids": 100}}},
    "healthcheck": {"test": ["CMD", "true"], "interval": "2s"},
}


def test_compose_identity_from_labels() -> None:
    ident = compose_identity(load("inspect-demo-db-1"))
    assert ident is not None
    assert (ident.project, ident.service, ident.container_number) == ("demo", "db", 1)
    meta = load("meta")
    assert ident.config_files == (f"{meta['recorded_repo_root']}/examples/demo/compose.yaml",)
    assert ident.working_dir == f"{meta['recorded_repo_root']}/examples/demo"
    assert compose_identity(load("inspect-weak")) is None


def test_compose_identity_multiple_files() -> None:
    inspect = copy.deepcopy(load("inspect-demo-app-1"))
    inspect["Config"]["Labels"]["com.docker.compose.project.config_files"] = (
        "/p/compose.yaml,/p/compose.prod.yaml"
    )
    assert compose_identity(inspect) == ComposeIdentity(
        project="demo",
        service="app",
        config_files=("/p/compose.yaml", "/p/compose.prod.yaml"),
        working_dir=inspect["Config"]["Labels"]["com.docker.compose.project.working_dir"],
        container_number=1,
    )


def test_replay_rewrites_label_paths_to_the_current_repo(tmp_path: Path) -> None:
    gw = ReplayGateway.from_dir(FIXTURES, repo_root="/somewhere/else")
    ident = compose_identity(gw.inspect_container("demo-app-1"))
    assert ident is not None and ident.config_files == (
        "/somewhere/else/examples/demo/compose.yaml",
    )
    gw = ReplayGateway.from_dir(FIXTURES)
    ident = compose_identity(gw.inspect_container("demo-app-1"))
    assert ident is not None and ident.working_dir == str(default_repo_root() / "examples" / "demo")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512M", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1GB", 1024**3),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("64k", 64 * 1024),
        ("536870912", 536870912),
        (268435456, 268435456),
        ("100b", 100),
        (None, None),
    ],
)
def test_parse_memory(value: Any, expected: int | None) -> None:
    assert parse_memory(value) == expected


def test_parse_memory_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_memory("lots")


@pytest.mark.parametrize(
    ("value", "nano"),
    [("0.5", 500_000_000), (1.5, 1_500_000_000), ("2", 2_000_000_000), (None, None)],
)
def test_parse_cpus(value: Any, nano: int | None) -> None:
    assert parse_cpus(value) == nano


def test_no_drift_when_the_container_matches_its_service() -> None:
    assert drift(load("inspect-demo-db-1"), DB_DECLARED) == []


def test_short_keys_and_deploy_limits_are_equivalent() -> None:
    declared = {k: v for k, v in DB_DECLARED.items() if k != "deploy"}
    declared |= {"mem_limit": "256m", "cpus": 1.0, "pids_limit": 100}
    assert drift(load("inspect-demo-db-1"), declared) == []


def test_stale_container_predates_hardening_in_the_file() -> None:
    # the file for "app" was hardened; the running container still is the old one
    declared = {
        "image": "batten-test/busybox:latest",
        "user": "10001:10001",
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": ["NET_BIND_SERVICE"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": "128m",
        "pids_limit": 200,
        "ports": ["127.0.0.1:8080:80"],
        "tmpfs": ["/tmp", "/var/cache/app"],
    }
    items = drift(load("inspect-demo-app-1"), declared)
    by_field = {i.field: i for i in items}
    assert all(i.direction == STALE for i in items), items
    assert sorted(by_field) == sorted(
        [
            "user",
            "read_only",
            "cap_drop",
            "security_opt: no-new-privileges",
            "mem_limit",
            "pids_limit",
            "ports 80/tcp",
            "tmpfs",
        ]
    )
    assert by_field["mem_limit"] == DriftItem("mem_limit", 128 * 1024**2, None, STALE)
    assert by_field["read_only"] == DriftItem("read_only", True, False, STALE)
    assert by_field["ports 80/tcp"] == DriftItem(
        "ports 80/tcp", "127.0.0.1:8080:80", "8080:80", STALE
    )
    # NET_BIND_SERVICE is one of Docker's defaults: the running container has it, so the only
    # capability drift is everything else the file drops
    assert by_field["cap_drop"] == DriftItem("cap_drop", ["ALL"], [], STALE)
    assert "cap_add" not in by_field


def test_ahead_container_runs_hardening_the_file_lacks() -> None:
    declared = {"image": "batten-test/app:1", "ports": ["5432:5432"]}
    image = ReplayGateway.from_dir(FIXTURES).inspect_image("batten-test/app:1")
    items = drift(load("inspect-demo-db-1"), declared, image=image)
    by_field = {i.field: i for i in items}
    assert all(i.direction == AHEAD for i in items), items
    assert {
        "read_only",
        "cap_drop",
        "security_opt: no-new-privileges",
        "mem_limit",
        "cpus",
        "pids_limit",
        "ports 5432/tcp",
        "tmpfs",
    } <= set(by_field)
    assert by_field["cpus"] == DriftItem("cpus", None, 1_000_000_000, AHEAD)
    assert by_field["pids_limit"] == DriftItem("pids_limit", None, 100, AHEAD)
    # user and healthcheck come from the image (USER / HEALTHCHECK): not drift
    assert "user" not in by_field and "healthcheck" not in by_field


def test_mixed_directions_split_into_two_items() -> None:
    inspect = copy.deepcopy(load("inspect-demo-cache-1"))
    declared = {
        "image": "batten-test/busybox:1",
        "user": "999:999",
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": ["NET_ADMIN", "CHOWN"],  # running: NET_ADMIN, SYS_PTRACE
        "security_opt": ["no-new-privileges=true"],  # running also has seccomp=unconfined
        "tmpfs": ["/data:rw,exec,size=32m"],
        "mem_limit": "128m",
        "cpus": "0.5",
        "ports": ["6379:6379"],
    }
    items = drift(inspect, declared)
    cap_add = [i for i in items if i.field == "cap_add"]
    assert [i.direction for i in cap_add] == [STALE, AHEAD]
    assert cap_add[0].declared == ["CHOWN", "NET_ADMIN"] and cap_add[0].running == [
        "NET_ADMIN",
        "SYS_PTRACE",
    ]
    assert DriftItem("security_opt: seccomp=unconfined", False, True, STALE) in items
    assert len(items) == 3, items


def test_limits_compare_lower_is_harder() -> None:
    inspect = load("inspect-demo-db-1")  # 256 MiB, 1 CPU, 100 pids
    items = drift(
        inspect,
        DB_DECLARED
        | {"deploy": {"resources": {"limits": {"memory": "128M", "cpus": "2", "pids": 100}}}},
    )
    assert DriftItem("mem_limit", 128 * 1024**2, 256 * 1024**2, STALE) in items
    assert DriftItem("cpus", 2_000_000_000, 1_000_000_000, AHEAD) in items


def test_namespaces_and_privileged() -> None:
    weak = load("inspect-weak")
    items = drift(weak, {"image": "batten-test/busybox:latest", "pid": "host", "ports": ["22:22"]})
    by_field = {i.field: i for i in items}
    assert "pid" not in by_field
    assert by_field["ipc"] == DriftItem("ipc", False, True, STALE)
    assert by_field["uts"].direction == STALE and by_field["userns_mode"].direction == STALE
    # Docker's own label=disable for host PID/IPC is not drift
    assert not [i for i in items if "label" in i.field]
    priv = load("inspect-privileged")
    items = drift(priv, {"image": "batten-test/busybox:1", "cap_add": ["ALL"], "ports": ["80:80"]})
    assert DriftItem("privileged", False, True, STALE) in items
    assert DriftItem("security_opt: apparmor=unconfined", False, True, STALE) in items


def test_healthcheck_drift() -> None:
    inspect = load("inspect-demo-app-1")
    items = drift(inspect, {"healthcheck": {"test": ["CMD", "wget", "-q", "localhost"]}})
    assert [i for i in items if i.field == "healthcheck"] == [
        DriftItem("healthcheck", ["CMD", "wget", "-q", "localhost"], None, STALE)
    ]
    db = load("inspect-demo-db-1")
    items = drift(db, DB_DECLARED | {"healthcheck": {"disable": True}})
    assert [i.direction for i in items if i.field == "healthcheck"] == [AHEAD]


def test_image_drift() -> None:
    items = drift(load("inspect-demo-db-1"), DB_DECLARED | {"image": "batten-test/app:2"})
    assert items == [DriftItem("image", "batten-test/app:2", "batten-test/app:1", STALE)]


def test_drift_findings() -> None:
    loc = Location("examples/demo/compose.yaml", 12)
    declared = {"read_only": True, "image": "batten-test/busybox:latest", "ports": ["8080:80"]}
    findings = drift_findings(load("inspect-demo-app-1"), declared, location=loc)
    (f,) = findings
    assert f.rule_id == "live.drift"
    assert f.origin == "drift"
    assert (f.target, f.target_kind, f.location) == ("demo-app-1", "container", loc)
    assert f.message == (
        "read_only: the file declares true, the running container has false: "
        "recreate it (docker compose up -d --force-recreate app)"
    )
    assert f.evidence == {
        "field": "read_only",
        "declared": True,
        "running": False,
        "direction": "stale",
        "kind": "flag",
        "note": "",
        "service": "app",
    }
    (ahead,) = drift_findings(load("inspect-demo-db-1"), DB_DECLARED | {"read_only": False})
    assert ahead.message == (
        "read_only: the container runs with true, the file declares false: port it back to service db"
    )


# ---------------------------------------------------------------------- users and mounts
@pytest.mark.parametrize("declared_user", ["root", "0", "0:0", "root:root", ""])
def test_root_in_any_spelling_is_not_drift(declared_user: str) -> None:
    inspect = copy.deepcopy(load("inspect-demo-app-1"))
    assert inspect["Config"]["User"] == ""
    assert "user" not in {i.field for i in drift(inspect, {"user": declared_user})}
    inspect["Config"]["User"] = "0"
    image = {"Config": {"User": ""}}
    assert "user" not in {i.field for i in drift(inspect, {}, image)}


def test_user_drift_directions() -> None:
    inspect = copy.deepcopy(load("inspect-demo-app-1"))
    inspect["Config"]["User"] = "10001"
    # the file says root, the container runs as 10001: the container is ahead
    assert [(i.field, i.direction) for i in drift(inspect, {"user": "root"}) if i.field == "user"] == [
        ("user", AHEAD)
    ]
    # the image runs as 10001, someone started the container as root: it is behind the file
    inspect["Config"]["User"] = "0"
    (item,) = [i for i in drift(inspect, {}, {"Config": {"User": "10001"}}) if i.field == "user"]
    assert (item.declared, item.running, item.direction) == (None, "0", STALE)
    assert item.note == "the image's USER is 10001"


def test_undeclared_mounts_are_drift_and_the_socket_says_so() -> None:
    items = {i.field: i for i in drift(load("inspect-weak"), {"volumes": ["/etc:/host/etc:ro"]})}
    sock = items["volumes /var/run/docker.sock"]
    assert sock == DriftItem("volumes /var/run/docker.sock", None,
                             "/var/run/docker.sock:/var/run/docker.sock:ro", STALE)
    assert sock.note == "the engine socket" and sock.kind == "mount"
    assert "volumes /host/etc" not in items  # declared (short syntax), same mode


def test_declared_mounts_missing_or_weaker_at_runtime() -> None:
    inspect = copy.deepcopy(load("inspect-weak"))
    declared = {"volumes": [
        {"type": "bind", "source": "/etc", "target": "/host/etc", "read_only": True},
        {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"},
        "db-data:/var/lib/data",
        {"type": "tmpfs", "target": "/tmp"},
    ]}  # fmt: skip
    items = {i.field: i for i in drift(inspect, declared)}
    # declared read-write, runs read-only: the container is ahead of the file
    assert items["volumes /var/run/docker.sock"].direction == AHEAD
    assert items["volumes /var/lib/data"] == DriftItem("volumes /var/lib/data", "db-data:/var/lib/data", None, STALE)
    assert "volumes /host/etc" not in items and "volumes /tmp" not in items
    # a volume the image itself declares (VOLUME) is not drift
    inspect["Mounts"].append({"Type": "volume", "Name": "abc", "Source": "/x", "Destination": "/cache", "RW": True})
    image = {"Config": {"Volumes": {"/cache": {}}}}
    assert "volumes /cache" not in {i.field for i in drift(inspect, declared, image)}
    assert "volumes /cache" in {i.field for i in drift(inspect, declared, {"Config": {}})}


def test_items_carry_their_unit_for_display() -> None:
    declared = {"mem_limit": "64m", "cpus": "0.5", "pids_limit": 10, "read_only": True}
    kinds = {i.field: i.kind for i in drift(load("inspect-demo-app-1"), declared)}
    assert kinds["mem_limit"] == "bytes" and kinds["cpus"] == "nanocpus"
    assert kinds["pids_limit"] == "count" and kinds["read_only"] == "flag"
