#!/usr/bin/env python3
"""Record engine JSON for ReplayGateway into tests/fixtures/live/ (needs root).

Starts the private test engine (tests/support/engine.py: no bridge network, every container
with network "none", images built locally, never pulled), runs a small zoo of containers,
records list/inspect/image/changes/stats/top/info/version through batten's own read-only
gateway, then removes what it started and stops the engine.

The zoo:
  demo-app-1    compose service "app" of examples/demo: httpd as root, 8080->80 on all
                interfaces, writes to /var/cache/app and /tmp, no limits, restart always
  demo-db-1     compose service "db": hardened (read-only, cap_drop ALL, no-new-privileges,
                limits, non-root, tmpfs noexec, health check, 127.0.0.1 port)
  demo-cache-1  compose service "cache": half-hardened with dangerous cap_add, an exec tmpfs,
                seccomp unconfined, pids_limit 0, on-failure:10
  weak          engine socket and /etc mounted, host PID/IPC/UTS/userns, logging off,
                port 22 published, :latest image
  privileged    created, NOT started (this VM cannot start privileged containers):
                privileged, cap_add ALL, apparmor unconfined, 80->80
  hardened      everything right; no findings expected

Port publications are recorded from HostConfig.PortBindings: with network "none" the engine
keeps the declared bindings but publishes nothing, which is exactly what batten judges.

Usage: sudo .venv/bin/python scripts/record_live_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from batten.live.endpoint import Endpoint  # noqa: E402
from batten.live.gateway import DockerGateway  # noqa: E402
from batten.live.replay import record_engine  # noqa: E402
from tests.support import engine as engine_support  # noqa: E402

APP_IMAGE = "batten-test/app:1"
APP_DOCKERFILE = f"""FROM {engine_support.IMAGE}
USER 10001:10001
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["true"]
EXPOSE 8080
"""
DEMO = REPO / "examples" / "demo"
NAMES = ("demo-app-1", "demo-db-1", "demo-cache-1", "weak", "privileged", "hardened")
# what the two hardened containers (demo-db-1, hardened) share; they differ in limits and tmpfs
HARDENED = dict(
    read_only=True,
    cap_drop=["ALL"],
    security_opt=["no-new-privileges:true"],
    user="10001:10001",
    log_config={"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
    restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
)


def compose_labels(service: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": "demo",
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.project.config_files": str(DEMO / "compose.yaml"),
        "com.docker.compose.project.working_dir": str(DEMO),
        "com.docker.compose.version": "2.29.7",
    }


def run_zoo(engine: engine_support.TestEngine) -> None:
    engine.build(APP_IMAGE, APP_DOCKERFILE)
    engine.run(
        engine_support.IMAGE_LATEST,
        [
            "sh",
            "-c",
            "mkdir -p /var/cache/app/sessions && echo warm > /var/cache/app/sessions/s1"
            " && echo scratch > /tmp/upload.part && exec httpd -f -p 80",
        ],
        name="demo-app-1",
        labels=compose_labels("app"),
        ports={"80/tcp": 8080},
        restart_policy={"Name": "always"},
    )
    engine.run(
        APP_IMAGE,
        ["sleep", "3600"],
        name="demo-db-1",
        labels=compose_labels("db"),
        **HARDENED,
        mem_limit="256m",
        nano_cpus=1_000_000_000,
        pids_limit=100,
        tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},
        ports={"5432/tcp": ("127.0.0.1", 5432)},
    )
    engine.run(
        engine_support.IMAGE,
        ["sleep", "3600"],
        name="demo-cache-1",
        labels=compose_labels("cache"),
        read_only=True,
        user="999:999",
        cap_drop=["ALL"],
        cap_add=["NET_ADMIN", "SYS_PTRACE"],
        security_opt=["no-new-privileges=true", "seccomp=unconfined"],
        tmpfs={"/data": "rw,exec,size=32m"},
        mem_limit="128m",
        nano_cpus=500_000_000,
        pids_limit=0,
        ports={"6379/tcp": 6379},
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 10},
    )
    engine.run(
        engine_support.IMAGE_LATEST,
        ["sleep", "3600"],
        name="weak",
        volumes={
            engine.socket: {"bind": "/var/run/docker.sock", "mode": "ro"},
            "/etc": {"bind": "/host/etc", "mode": "ro"},
        },
        pid_mode="host",
        ipc_mode="host",
        uts_mode="host",
        userns_mode="host",
        log_config={"Type": "none", "Config": {}},
        ports={"22/tcp": 22},
    )
    engine.create(
        engine_support.IMAGE,
        ["sleep", "3600"],
        name="privileged",
        privileged=True,
        cap_add=["ALL"],
        security_opt=["apparmor=unconfined"],
        ports={"80/tcp": 80},
    )
    engine.run(
        APP_IMAGE,
        ["sleep", "3600"],
        name="hardened",
        **HARDENED,
        mem_limit="64m",
        nano_cpus=500_000_000,
        pids_limit=64,
        tmpfs={"/tmp": "rw,noexec,nosuid,nodev,size=16m"},
    )


def wait_healthy(
    engine: engine_support.TestEngine, names: tuple[str, ...], timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [
            (engine.client.api.inspect_container(n)["State"].get("Health") or {}).get("Status")
            for n in names
        ]
        if all(s == "healthy" for s in states):
            return
        time.sleep(0.5)
    raise RuntimeError(f"containers {names} did not become healthy: {states}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "live")
    args = parser.parse_args(argv)

    reason = engine_support.prerequisites(install=True)
    if reason:
        print(f"record_live_fixtures: {reason}", file=sys.stderr)
        return 2
    engine = engine_support.start_engine()
    try:
        run_zoo(engine)
        wait_healthy(engine, ("demo-db-1", "hardened"))
        time.sleep(1.0)  # let demo-app-1 write its files
        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.json"):
            old.unlink()
        gateway = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=30)
        try:
            version = gateway.version()
            written = record_engine(
                gateway,
                out,
                containers=NAMES,
                # the private engine's temp paths -> the usual ones, so the JSON reads naturally
                replacements={
                    engine.socket: "/var/run/docker.sock",
                    engine.data_root: "/var/lib/docker",
                    engine.exec_root: "/var/run/docker",
                    str(engine.root): "/var/lib/docker-test",
                },
                meta={
                    "recorded_by": "scripts/record_live_fixtures.py",
                    "recorded_repo_root": str(REPO),
                    "engine_version": version.get("Version"),
                    "api_version": version.get("ApiVersion"),
                    "containers": list(NAMES),
                    "not_started": ["privileged"],
                    "note": "network none: ports are declared (HostConfig.PortBindings), not published",
                },
            )
        finally:
            gateway.close()
        print(f"recorded {len(written)} files into {out}")
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
