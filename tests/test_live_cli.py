"""`batten containers` and `batten scan --live` against the real test engine (no mocks)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"

pytestmark = pytest.mark.engine


def batten(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "batten", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


def _labels(project_dir: Path, service: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": "demo",
        "com.docker.compose.service": service,
        "com.docker.compose.project.config_files": str(project_dir / "compose.yaml"),
        "com.docker.compose.project.working_dir": str(project_dir),
        "com.docker.compose.container-number": "1",
    }


def test_containers_are_tied_to_their_service_with_drift(engine: Any, demo: Path):
    hardened = engine.run(name="demo-cache-1", labels=_labels(demo, "cache"), read_only=True,
                          cap_drop=["ALL"], security_opt=["no-new-privileges:true"], user="999:999",
                          mem_limit="64m", pids_limit=64)
    weak = engine.run(name="demo-db-1", labels=_labels(demo, "db"))
    stray = engine.run(name="stray")
    out = batten("containers", "--host", engine.url, "--format", "json", "--project", str(demo))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by_name = {c["name"]: c for c in doc["containers"]}
    assert set(by_name) >= {"demo-cache-1", "demo-db-1", "stray"}
    cache, db = by_name["demo-cache-1"], by_name["demo-db-1"]
    assert (cache["compose_project"], cache["service"], cache["source"]) == ("demo", "cache", "compose.yaml")
    assert db["service"] == "db" and by_name["stray"]["service"] is None
    # the file says privileged: true; the container runs unprivileged with more hardening: "ahead"
    fields = {(d["field"], d["direction"]) for d in cache["drift"]}
    assert ("privileged", "ahead") in fields and ("read_only", "ahead") in fields
    rules_db = {f["rule"] for f in doc["findings"] if f["target"] == "demo-db-1"}
    assert {"live.user-root", "caps.not-dropped", "fs.rootfs-writable", "limits.memory"} <= rules_db
    rules_cache = {f["rule"] for f in doc["findings"] if f["target"] == "demo-cache-1"}
    assert not rules_cache & {"live.user-root", "caps.not-dropped", "fs.rootfs-writable"}
    for c in (hardened, weak, stray):
        c.reload()
        assert c.status == "running"


def test_scan_live_adds_live_findings(engine: Any, demo: Path):
    engine.run(name="demo-app-1", labels=_labels(demo, "app"))
    out = batten("scan", str(demo), "--live", "--host", engine.url, "--format", "json", "--fail-on", "never")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    live = [f for f in doc["findings"] if f["target"] == "demo-app-1"]
    assert any(f["rule"] == "live.user-root" for f in live)
    assert any(f["rule"] == "live.drift" for f in live)
    assert any(f["path"] == "compose.yaml" for f in doc["findings"])  # static findings still there


def test_text_output_lists_containers(engine: Any, demo: Path):
    engine.run(name="demo-db-1", labels=_labels(demo, "db"))
    out = batten("containers", "--host", engine.url, "--project", str(demo), "--color", "never")
    assert out.returncode == 0, out.stderr
    assert "demo-db-1" in out.stdout and "[demo/db]" in out.stdout and "live.user-root" in out.stdout


def test_unreachable_engine_is_one_line_and_static_findings_keep_working(tmp_path: Path, demo: Path):
    started = time.monotonic()
    out = batten("containers", "--host", f"unix://{tmp_path}/nope.sock", timeout=30)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert time.monotonic() - started < 20
    scanned = batten("scan", str(demo), "--live", "--host", f"unix://{tmp_path}/nope.sock", "--format", "json",
                     "--fail-on", "never", timeout=30)
    assert scanned.returncode == 0
    assert "live view unavailable" in scanned.stderr
    assert json.loads(scanned.stdout)["findings"]


def test_fix_live_takes_defaults_from_the_running_container(engine: Any, demo: Path):
    """A container of service `app` writes under /var/cache/app and /tmp: the read-only fix
    proposes tmpfs for what it really writes (evidence from the container changes API)."""
    engine.run(name="demo-app-1", labels=_labels(demo, "app"),
               command=["sh", "-c", "mkdir -p /var/cache/app && echo x > /var/cache/app/state && "
                        "echo y > /tmp/t && sleep 3600"])
    time.sleep(1.0)
    out = batten("fix", str(demo), "--rule", "fs.rootfs-writable", "--unsafe", "--live", "--host", engine.url,
                 "--color", "never")
    assert out.returncode == 0, out.stderr
    assert "live evidence from the running containers of: app" in out.stderr
    app_part = out.stdout.split("  db:")[0]
    assert "/var/cache/app" in app_part
    without = batten("fix", str(demo), "--rule", "fs.rootfs-writable", "--unsafe", "--color", "never")
    assert "/var/cache/app" not in without.stdout
    assert (demo / "compose.yaml").read_text() == (DEMO / "compose.yaml").read_text()  # preview only
