"""batten against a real (private, network-less) Docker engine. No mocks.

Every container runs with network "none" (engine.run/create force it) and no image is ever
pulled: the images are imported from a local busybox rootfs or built from metadata-only
Dockerfiles.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from batten.live.drift import AHEAD, STALE, DriftItem, compose_identity, drift, drift_findings
from batten.live.endpoint import Endpoint
from batten.live.evidence import gather_evidence
from batten.live.facts import judge_container, scan_engine
from batten.live.gateway import ContainerNotFound, DockerGateway, inspect_all
from tests.support.recorded import PLAIN_RUN_FINDINGS

pytestmark = pytest.mark.engine

APP_IMAGE = "batten-test/app:1"
APP_DOCKERFILE = """FROM batten-test/busybox:1
USER 10001:10001
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["true"]
EXPOSE 8080
"""

HARDENED = dict(
    read_only=True,
    cap_drop=["ALL"],
    security_opt=["no-new-privileges:true"],
    mem_limit="64m",
    pids_limit=64,
    user="10001:10001",
    tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},
    ulimits=[{"name": "nofile", "soft": 1024, "hard": 1024}],
)


@pytest.fixture
def gateway(engine: Any) -> Any:
    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    yield gw
    gw.close()


@pytest.fixture(scope="module")
def app_image(docker_engine: Any) -> str:
    docker_engine.build(APP_IMAGE, APP_DOCKERFILE)
    return APP_IMAGE


def ids(findings: list[Any]) -> list[str]:
    return sorted(f.rule_id for f in findings)


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_hardened_versus_bare_container(engine: Any, gateway: DockerGateway) -> None:
    hardened = engine.run(name="t-hardened", **HARDENED)
    bare = engine.run(name="t-bare")
    info = gateway.info()

    h = judge_container(
        gateway.inspect_container(hardened.id), None, info, top=gateway.top(hardened.id)
    )
    assert ids(h) == ["health.live-unmonitored", "limits.cpu", "logging.unbounded"]

    b = judge_container(gateway.inspect_container(bare.id), None, info, top=gateway.top(bare.id))
    assert ids(b) == sorted(PLAIN_RUN_FINDINGS)
    assert {f.target for f in b} == {"t-bare"}
    assert (
        next(f for f in b if f.rule_id == "live.user-root").message
        == "runs as root (Config.User is empty)"
    )

    image = gateway.inspect_image(hardened.attrs["Image"])
    with_image = judge_container(gateway.inspect_container(hardened.id), image, info)
    assert sorted(
        (f.target_kind, f.target, f.rule_id) for f in with_image if f.target_kind == "image"
    ) == [
        ("image", "batten-test/busybox:1", "health.missing-dockerfile"),
        ("image", "batten-test/busybox:1", "user.missing"),
    ]


def test_fully_hardened_container_from_a_hardened_image(
    engine: Any, gateway: DockerGateway, app_image: str
) -> None:
    c = engine.run(
        app_image,
        name="t-clean",
        nano_cpus=500_000_000,
        log_config={"Type": "json-file", "Config": {"max-size": "10m"}},
        **HARDENED,
    )
    wait_for(lambda: (gateway.inspect_container(c.id)["State"].get("Health") or {}).get("Status") == "healthy",
             what="health check")  # fmt: skip
    scan = scan_engine(gateway)
    assert [f for f in scan.findings if f.target == "t-clean" or f.target == app_image] == []


def test_port_rules_on_declared_bindings(engine: Any, gateway: DockerGateway) -> None:
    # Publishing needs a network; with network "none" the engine still records the requested
    # bindings in HostConfig.PortBindings (and publishes nothing). batten judges what was asked
    # for, so a created (and even a started) network-less container exercises the port rules.
    c = engine.create(
        name="t-ports",
        ports={
            "80/tcp": 80,
            "22/tcp": ("127.0.0.1", 2222),
            "8080/tcp": 8080,
            "53/udp": ("::", 5353),
        },
    )
    findings = judge_container(gateway.inspect_container(c.id))
    port = sorted((f.rule_id, f.message) for f in findings if f.rule_id.startswith("ports."))
    assert port == [
        ("ports.bind-all-interfaces", "publishes 5353/udp on :: (container port 53/udp)"),
        ("ports.bind-all-interfaces", "publishes 80/tcp on 0.0.0.0 (container port 80/tcp)"),
        ("ports.bind-all-interfaces", "publishes 8080/tcp on 0.0.0.0 (container port 8080/tcp)"),
        ("ports.privileged", "publishes host port 80 (below 1024) for 80/tcp"),
        ("ports.ssh-exposed", "exposes 22/tcp"),
    ]
    assert gateway.top(c.id) == {"Titles": [], "Processes": []}  # created, not running


def test_namespace_and_mount_rules(engine: Any, gateway: DockerGateway, tmp_path: Path) -> None:
    c = engine.run(
        name="t-ns",
        pid_mode="host",
        ipc_mode="host",
        uts_mode="host",
        volumes={
            engine.socket: {"bind": "/var/run/docker.sock", "mode": "ro"},
            "/etc": {"bind": "/host/etc", "mode": "ro"},
        },
        cap_add=["SYS_ADMIN"],
        security_opt=["seccomp=unconfined"],
        log_config={"Type": "none", "Config": {}},
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 9},
    )
    got = ids(judge_container(gateway.inspect_container(c.id), None, gateway.info()))
    for rule_id in (
        "ns.host-pid",
        "ns.host-ipc",
        "ns.host-uts",
        "mount.docker-socket",
        "mount.sensitive-host-path",
        "caps.dangerous-added",
        "seccomp.unconfined",
        "logging.disabled",
        "restart.policy",
    ):
        assert rule_id in got
    assert "selinux.disabled" not in got  # Docker's own label=disable for host PID/IPC


def test_compose_labels_and_drift_report(
    engine: Any, gateway: DockerGateway, tmp_path: Path
) -> None:
    from ruamel.yaml import YAML

    project = tmp_path / "shop"
    project.mkdir()
    (project / "compose.yaml").write_text(
        """\
services:
  web:
    image: batten-test/busybox:1
    user: "10001:10001"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    mem_limit: 64m
    pids_limit: 64
    tmpfs:
      - /tmp
"""
    )
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.project.config_files": str(project / "compose.yaml"),
        "com.docker.compose.project.working_dir": str(project),
    }
    # the container predates the hardening in the file, but already runs with a CPU limit
    c = engine.run(
        name="shop-web-1",
        labels=labels,
        user="10001:10001",
        mem_limit="128m",
        nano_cpus=500_000_000,
    )
    inspect = gateway.inspect_container(c.id)
    ident = compose_identity(inspect)
    assert ident is not None and (ident.project, ident.service, ident.container_number) == (
        "shop",
        "web",
        1,
    )
    (config_file,) = ident.config_files
    declared = YAML(typ="safe").load(Path(config_file).read_text())["services"][ident.service]

    items = drift(inspect, declared, gateway.inspect_image(inspect["Image"]))
    assert items == [
        DriftItem("read_only", True, False, STALE),
        DriftItem("cap_drop", ["ALL"], [], STALE),
        DriftItem("security_opt: no-new-privileges", True, False, STALE),
        DriftItem("pids_limit", 64, None, STALE),
        DriftItem("mem_limit", 64 * 1024**2, 128 * 1024**2, STALE),
        DriftItem("cpus", None, 500_000_000, AHEAD),
        DriftItem("tmpfs", ["/tmp"], [], STALE),
    ]
    findings = drift_findings(inspect, declared)
    assert {f.rule_id for f in findings} == {"live.drift"}
    assert findings[0].message == (
        "read_only: the file declares true, the running container has false: "
        "recreate it (docker compose up -d --force-recreate web)"
    )
    cpus = next(f for f in findings if f.evidence["field"] == "cpus")
    assert (
        cpus.message
        == "cpus: the container runs with 500000000, the file declares nothing: port it back to service web"
    )


def test_drift_treats_root_alike_and_reports_an_undeclared_socket(
    engine: Any, gateway: DockerGateway, tmp_path: Path
) -> None:
    from docker.types import Mount

    sock = tmp_path / "docker.sock"
    sock.write_text("")
    data = tmp_path / "data"
    data.mkdir()
    declared = {"image": "batten-test/busybox:1", "user": "root",
                "volumes": [f"{data}:/data:ro"]}  # fmt: skip
    c = engine.run(
        name="shop-api-1",
        labels={"com.docker.compose.project": "shop", "com.docker.compose.service": "api"},
        mounts=[Mount("/var/run/docker.sock", str(sock), type="bind"), Mount("/data", str(data), type="bind")],
    )
    inspect = gateway.inspect_container(c.id)
    assert inspect["Config"]["User"] == ""
    items = {i.field: i for i in drift(inspect, declared, gateway.inspect_image(inspect["Image"]))}
    assert "user" not in items  # root and the empty default are the same user
    assert items["volumes /var/run/docker.sock"] == DriftItem(
        "volumes /var/run/docker.sock", None, f"{sock}:/var/run/docker.sock", STALE
    )
    assert items["volumes /var/run/docker.sock"].note == "the engine socket"
    assert items["volumes /data"] == DriftItem("volumes /data", f"{data}:/data:ro", f"{data}:/data", STALE)


def test_evidence_from_a_running_container(
    engine: Any, gateway: DockerGateway, tmp_path: Path
) -> None:
    c = engine.run(
        name="t-evidence",
        command=[
            "sh",
            "-c",
            "mkdir -p /var/cache/app/s && echo 1 > /var/cache/app/s/x && echo 2 > /tmp/y"
            " && echo 3 > /data/kept && mkdir -p /work && echo 4 > /work/out && exec httpd -f -p 80",
        ],
        volumes={str(tmp_path): {"bind": "/data", "mode": "rw"}},
    )
    wait_for(
        lambda: any("httpd" in p[-1] for p in gateway.top(c.id).get("Processes") or []),
        what="httpd",
    )
    ev = gather_evidence(gateway, c.id)
    assert (tmp_path / "kept").read_text() == "3\n"
    assert ev.written == ["/tmp/y", "/var/cache/app/s/x", "/work/out"]
    assert ev.tmpfs_paths == ["/tmp", "/run", "/var/cache/app", "/work"]
    assert ev.low_ports == {80: "top: httpd -f -p 80"}
    assert ev.memory_usage is not None and ev.memory_usage > 0
    got = ev.defaults()
    assert {k: got[k] for k in ("tmpfs_paths", "cap_add", "memory")} == {
        "tmpfs_paths": "/tmp,/run,/var/cache/app,/work",
        "cap_add": "NET_BIND_SERVICE",
        "memory": "64M",
    }
    # only observed values: cpus when the one-shot stats had a CPU delta, no user (root ran it)
    assert "user" not in got and got.get("cpus", "1.0") == "1.0"


def test_evidence_keeps_the_limits_a_container_runs_with(engine: Any, gateway: DockerGateway) -> None:
    c = engine.run(name="t-limited", mem_limit="200m", mem_reservation="150m", nano_cpus=1_500_000_000)
    ev = gather_evidence(gateway, c.id)
    assert ev.memory_usage is not None and ev.memory_usage < 100 * 1024**2
    # usage x 2 would be 64M: never below the running limit, the reservation kept and below it
    assert {k: ev.defaults()[k] for k in ("memory", "memory_reservation")} == {
        "memory": "200M",
        "memory_reservation": "150M",
    }
    assert ev.cpus == "1.5"


def test_evidence_finds_the_images_user(
    engine: Any, gateway: DockerGateway, app_image: str
) -> None:
    c = engine.run(app_image, name="t-user")
    ev = gather_evidence(gateway, c.id)
    assert ev.users == ["10001:10001"] and ev.user == "10001:10001"


def test_inspect_all_matches_sequential_inspects(
    engine: Any, gateway: DockerGateway, app_image: str
) -> None:
    containers = [
        engine.run(name=f"t-many-{i}", image=app_image if i % 2 else "batten-test/busybox:1")
        for i in range(10)
    ]
    ids_ = [c.id for c in containers]
    result = inspect_all(gateway, ids_, workers=8)
    assert [r.container["Id"] for r in result] == ids_
    for r in result:
        assert r.image == gateway.inspect_image(r.container["Image"])
    images = {id(r.image) for r in result}
    assert len(images) == 2  # each image inspected once and shared


def test_removed_container_is_not_found(engine: Any, gateway: DockerGateway) -> None:
    c = engine.create(name="t-gone")
    engine.cleanup([c.id])
    with pytest.raises(ContainerNotFound):
        gateway.inspect_container(c.id)
    assert inspect_all(gateway, [c.id]) == []


# ------------------------------------------------------------------ batten changes nothing
def _snapshot(client: Any) -> dict[str, Any]:
    api = client.api
    containers = {}
    for summary in api.containers(all=True):
        data = api.inspect_container(summary["Id"])
        # volatile by themselves: the engine's own health-check runs append to Health.Log and
        # show up in ExecIDs while they run
        health = (data.get("State") or {}).get("Health")
        if health:
            health.pop("Log", None)
        data.pop("ExecIDs", None)
        containers[summary["Id"]] = data
    images = {img["Id"]: api.inspect_image(img["Id"]) for img in api.images(all=True)}
    return {
        "containers": containers,
        "images": images,
        "volumes": sorted(v["Name"] for v in (api.volumes().get("Volumes") or [])),
        "networks": sorted(n["Id"] for n in api.networks()),
    }


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only {'after' if key in b else 'before'}")
            else:
                out += _differences(a[key], b[key], f"{path}/{key}")
        return out
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def test_batten_changes_nothing_on_the_engine(engine: Any, app_image: str, tmp_path: Path) -> None:
    engine.run(name="t-ro-1", **HARDENED)
    engine.run(name="t-ro-2", command=["sh", "-c", "echo x > /tmp/x && exec httpd -f -p 80"])
    healthy = engine.run(app_image, name="t-ro-3")
    engine.create(name="t-ro-4", ports={"80/tcp": 8080})
    wait_for(lambda: engine.client.api.inspect_container(healthy.id)["State"]["Health"]["Status"] == "healthy",
             what="health check")  # fmt: skip
    time.sleep(1.0)

    before = _snapshot(engine.client)
    since = int(time.time()) - 1
    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    methods: list[tuple[str, str]] = []
    client = gw._ensure()
    original = client.request

    def recording(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        methods.append((method.upper(), url))
        return original(method, url, *args, **kwargs)

    client.request = recording
    try:
        scan = scan_engine(gw, all=True)
        assert scan.findings
        for item in scan.inspected:
            gather_evidence(gw, item.container["Id"])
        gw.ping()
        gw.version()
    finally:
        gw.close()
    until = int(time.time()) + 1
    after = _snapshot(engine.client)

    assert methods and {m for m, _ in methods} == {"GET"}, sorted({m for m, _ in methods})
    assert _differences(before, after) == []
    # the engine logs events for state changes; "top" is logged too although it only reads,
    # and exec_*/health_status come from the engine's own health checks
    events = list(engine.client.api.events(since=since, until=until, decode=True))
    actions = {str(e.get("Action", e.get("status", ""))).split(":")[0] for e in events}
    assert "top" in actions
    assert {
        a for a in actions if a != "top" and not a.startswith(("exec_", "health_status"))
    } == set()
