"""Evidence for fixes: written paths -> tmpfs, low ports -> NET_BIND_SERVICE, usage -> limits."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from batten.live.evidence import (
    MIB,
    collect_evidence,
    cpu_cores,
    format_memory,
    gather_evidence,
    low_ports,
    memory_step,
    memory_working_set,
    propose_cpus,
    reduce_changes,
)
from batten.live.replay import ReplayGateway
from tests.support.recorded import FIXTURES, load


def ch(path: str, kind: int) -> dict[str, Any]:
    return {"Path": path, "Kind": kind}


def test_recorded_app_container_evidence() -> None:
    gw = ReplayGateway.from_dir(FIXTURES)
    ev = gather_evidence(gw, "demo-app-1")
    assert ev.written == ["/tmp/upload.part", "/var/cache/app/sessions/s1"]
    assert ev.tmpfs_observed == ["/tmp", "/var/cache/app"]
    assert ev.tmpfs_paths == ["/tmp", "/run", "/var/cache/app"]
    assert ev.low_ports == {80: "ExposedPorts"}
    assert ev.defaults() == {
        "tmpfs_paths": "/tmp,/run,/var/cache/app",
        "cap_add": "NET_BIND_SERVICE",
        "memory": "64M",
        "cpus": "1.0",
    }  # no non-root user was seen: no "user" value (the fix says it used a default instead)
    assert ev.memory_usage is not None and ev.memory_usage < 64 * MIB


def test_recorded_hardened_and_created_containers() -> None:
    gw = ReplayGateway.from_dir(FIXTURES)
    ev = gather_evidence(gw, "hardened")
    assert ev.written == [] and ev.tmpfs_existing == ["/tmp"]
    assert ev.users == ["10001:10001"] and ev.user == "10001:10001"
    assert ev.cap_add == []
    cache = gather_evidence(gw, "demo-cache-1")
    assert cache.user == "999:999"
    assert cache.tmpfs_paths == ["/tmp", "/run", "/data"]
    # created, never started: no stats, no top, defaults only
    priv = gather_evidence(gw, "privileged")
    assert priv.memory_usage is None and priv.cpu_usage is None
    assert (priv.memory, priv.cpus) == ("64M", "1.0")
    assert priv.low_ports == {80: "ExposedPorts"}


def test_reduce_changes_keeps_volatile_and_runtime_created_dirs() -> None:
    changes = [
        ch("/tmp", 0),
        ch("/tmp/a", 1),
        ch("/tmp/b/c", 1),
        ch("/tmp/b", 1),
        ch("/run", 0),
        ch("/run/app.pid", 1),
        ch("/var", 0),
        ch("/var/run", 0),
        ch("/var/run/x.sock", 1),
        ch("/var/cache", 0),
        ch("/var/cache/nginx", 0),
        ch("/var/cache/nginx/client_temp", 1),
        ch("/var/cache/nginx/client_temp/0001", 1),
        ch("/var/cache/stray", 1),  # a file directly in /var/cache: nothing to mount
        ch("/srv", 1),
        ch("/srv/work", 1),
        ch("/srv/work/job.json", 1),
        ch("/etc", 0),
        ch("/etc/resolv.conf.bak", 1),
        ch("/data", 0),
        ch("/data/db.sqlite", 0),
        ch("/old", 2),
    ]
    written, dirs, others = reduce_changes(changes, mounted=["/data"])
    assert written == [
        "/etc/resolv.conf.bak",
        "/run/app.pid",
        "/srv/work/job.json",
        "/tmp/a",
        "/tmp/b/c",
        "/var/cache/nginx/client_temp/0001",
        "/var/cache/stray",
        "/var/run/x.sock",
    ]
    assert dirs == ["/run", "/srv", "/tmp", "/var/cache/nginx"]
    assert others == ["/etc/resolv.conf.bak", "/var/cache/stray"]


def test_files_under_mounts_are_ignored() -> None:
    inspect = copy.deepcopy(load("inspect-demo-app-1"))
    inspect["Mounts"] = [{"Type": "volume", "Destination": "/var/cache/app", "RW": True}]
    ev = collect_evidence(inspect, changes=load("changes-demo-app-1"))
    assert ev.written == ["/tmp/upload.part"]
    assert ev.tmpfs_paths == ["/tmp", "/run"]


def test_tmpfs_proposal_keeps_existing_ones_and_notes_other_writes() -> None:
    inspect = copy.deepcopy(load("inspect-hardened"))
    inspect["HostConfig"]["Tmpfs"] = {"/tmp": "", "/home/app/.cache": "size=8m"}
    ev = collect_evidence(inspect, changes=[ch("/opt", 0), ch("/opt/app.conf", 0)])
    assert ev.tmpfs_paths == ["/tmp", "/run", "/home/app/.cache"]
    assert ev.other_writes == ["/opt/app.conf"]
    assert ev.notes and "/opt/app.conf" in ev.notes[0]


def test_low_ports_from_config_bindings_and_processes() -> None:
    top = {
        "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "Processes": [
            ["101", "7", "1", "0", "10:00", "?", "00:00:00", "nginx: worker process"],
            [
                "root",
                "8",
                "1",
                "0",
                "10:00",
                "?",
                "00:00:00",
                "python -m http.server --bind 0.0.0.0 443",
            ],
            ["root", "9", "1", "0", "10:00", "?", "00:00:00", "gunicorn -b 0.0.0.0:8000 app:app"],
            ["root", "10", "1", "0", "10:00", "?", "00:00:00", "dnsmasq --port=53"],
        ],
    }
    inspect = copy.deepcopy(load("inspect-hardened"))
    inspect["Config"]["ExposedPorts"] = {"8080/tcp": {}, "25/tcp": {}}
    inspect["HostConfig"]["PortBindings"] = {
        "110/tcp": [{"HostIp": "127.0.0.1", "HostPort": "10110"}]
    }
    ports = low_ports(inspect, top)
    assert sorted(ports) == [25, 53, 80, 110]
    assert ports[25] == "ExposedPorts" and ports[110] == "PortBindings"
    assert "nginx" in ports[80]
    assert ports[53] == "top: dnsmasq --port=53"
    ev = collect_evidence(inspect, top=top)
    assert ev.cap_add == ["NET_BIND_SERVICE"]
    assert ev.users == ["10001:10001", "101"]


@pytest.mark.parametrize(
    ("usage_mib", "expected"),
    [
        (0, "64M"),
        (20, "64M"),
        (33, "96M"),
        (48, "96M"),
        (60, "128M"),
        (100, "256M"),
        (200, "512M"),
        (300, "768M"),
        (500, "1G"),
        (700, "1536M"),
        (1000, "2G"),
    ],
)
def test_memory_proposal_has_headroom(usage_mib: int, expected: str) -> None:
    stats = {"memory_stats": {"usage": usage_mib * MIB, "stats": {}}}
    ev = collect_evidence(load("inspect-hardened"), stats=stats)
    assert ev.memory == expected


def test_memory_ladder() -> None:
    assert [format_memory(memory_step(n * MIB)) for n in (1, 64, 65, 96, 97, 128, 129, 192, 193, 1025)] == [
        "64M", "64M", "96M", "96M", "128M", "128M", "192M", "192M", "256M", "1536M",
    ]  # fmt: skip


def test_memory_working_set_ignores_page_cache() -> None:
    v1 = {
        "memory_stats": {
            "usage": 100 * MIB,
            "max_usage": 150 * MIB,
            "stats": {"total_inactive_file": 40 * MIB},
        }
    }
    assert memory_working_set(v1) == (60 * MIB, 150 * MIB)
    v2 = {"memory_stats": {"usage": 100 * MIB, "stats": {"inactive_file": 10 * MIB}}}
    assert memory_working_set(v2) == (90 * MIB, None)
    assert memory_working_set({}) == (None, None)


def test_cpu_usage_and_proposal() -> None:
    stats = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 3_000_000_000},
            "system_cpu_usage": 12_000_000_000,
            "online_cpus": 4,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 2_000_000_000},
            "system_cpu_usage": 10_000_000_000,
        },
    }
    assert cpu_cores(stats) == pytest.approx(2.0)
    assert propose_cpus(2.0) == "4.0"
    assert propose_cpus(0.8) == "2.0"
    assert propose_cpus(0.3) == "1.0"
    assert propose_cpus(None) == "1.0"
    assert cpu_cores({"cpu_stats": {}, "precpu_stats": {}}) is None
    recorded = load("stats-demo-app-1")
    assert cpu_cores(recorded) is not None


@pytest.mark.parametrize(
    ("limit", "usage_mib", "expected"),
    [
        (512 * MIB, 20, "512M"),  # the running limit wins over usage x 2 and the floor
        (300 * MIB + 4096, 20, "307204K"),  # not a whole MiB: kept exactly, never rounded down
        (128 * MIB, 200, "512M"),  # usage x 2 above the running limit
        (0, 10, "64M"),  # no running limit: the floor
    ],
)
def test_memory_never_below_the_running_limit(limit: int, usage_mib: int, expected: str) -> None:
    inspect = load("inspect-hardened")
    inspect["HostConfig"] = {**inspect["HostConfig"], "Memory": limit, "NanoCpus": 2_500_000_000}
    ev = collect_evidence(inspect, stats={"memory_stats": {"usage": usage_mib * MIB, "stats": {}}})
    assert ev.memory == expected
    assert ev.cpus == "2.5"  # the running CPU limit is kept too


@pytest.mark.parametrize(
    ("limit", "reservation", "usage_mib", "memory", "reserved"),
    [
        (0, 300 * MIB, 10, "300M", "300M"),  # a running reservation: the limit is not below it
        (512 * MIB, 128 * MIB, 10, "512M", "128M"),  # both kept, reservation below the limit
        (0, 0, 10, "64M", None),  # nothing reserved: no reservation proposed
    ],
)
def test_running_reservation_is_kept_and_never_above_the_limit(
    limit: int, reservation: int, usage_mib: int, memory: str, reserved: str | None
) -> None:
    inspect = load("inspect-hardened")
    inspect["HostConfig"] = {**inspect["HostConfig"], "Memory": limit, "MemoryReservation": reservation}
    ev = collect_evidence(inspect, stats={"memory_stats": {"usage": usage_mib * MIB, "stats": {}}})
    assert (ev.memory, ev.memory_reservation) == (memory, reserved)
    assert ev.defaults().get("memory_reservation") == reserved
