"""The fast paths of headless scans give exactly the results of the plain path: checks on both
cores (a forked child) and the content-hash cache (with its invalidation)."""

from __future__ import annotations

import json
import time

import pytest

from batten.report import to_json
from batten.scan import PARALLEL_MIN_UNITS, scan


def _project(root, n: int = PARALLEL_MIN_UNITS + 10):
    for i in range(n):
        d = root / f"svc{i}"
        d.mkdir()
        (d / "Dockerfile").write_text(
            f"FROM python:3.12\nENV API_TOKEN=tok{i}\nRUN apt-get update && apt-get install -y curl\n"
            "RUN pip install flask\nCOPY . .\nCMD python app.py\n"
        )
        (d / "app.py").write_text("print('hi')\n")
    services = "".join(f"  svc{i}:\n    build: ./svc{i}\n    ports: ['80{i:02d}:80']\n" for i in range(n))
    (root / "compose.yaml").write_text("services:\n" + services)


def _report(root, **kw):
    r = scan([str(root)], **kw)
    return to_json(r.findings, r.files()), r


def test_both_cores_give_the_same_report(tmp_path, monkeypatch):
    import batten.scan as scan_mod

    monkeypatch.setenv("BATTEN_NO_CACHE", "1")
    monkeypatch.setattr(scan_mod.os, "cpu_count", lambda: 2)  # the forked path, whatever the machine
    forked = []
    real = scan_mod._parallel_findings
    monkeypatch.setattr(scan_mod, "_parallel_findings", lambda *a: forked.append(1) or real(*a))
    _project(tmp_path)
    parallel, _ = _report(tmp_path, detached=True)
    assert forked == [1]
    monkeypatch.setenv("BATTEN_NO_PARALLEL", "1")
    sequential, _ = _report(tmp_path, detached=True)
    plain, _ = _report(tmp_path)
    assert forked == [1]
    assert parallel == sequential == plain
    assert '"rule": "secret.value-hardcoded"' in parallel and "tok1" not in parallel
    # why a fix declines travels from the child too (the health check needs a port it cannot know)
    declined = [f for f in json.loads(parallel)["findings"] if f["no_fix"]]
    assert len(declined) == PARALLEL_MIN_UNITS + 10
    assert all(f["rule"] == "health.missing-dockerfile" and "no port the service listens on" in f["no_fix"]
               for f in declined)


def test_cache_hit_and_invalidation(tmp_path, monkeypatch):
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BATTEN_NO_CACHE", raising=False)
    proj = tmp_path / "p"
    proj.mkdir()
    _project(proj, 3)
    first, r1 = _report(proj, detached=True)
    second, r2 = _report(proj, detached=True)
    assert not r1.cached and r2.cached and first == second
    assert second.count('"no_fix": "needs input: no port the service listens on') == 3  # kept by the cache
    # a changed file is a miss
    (proj / "svc0" / "Dockerfile").write_text("FROM python:3.12-slim\nUSER 10001:10001\nCMD [\"python\"]\n")
    third, r3 = _report(proj, detached=True)
    assert not r3.cached and third != second
    # a file appearing in a build context is a miss too (COPY . . would now ship it)
    time.sleep(0.01)
    (proj / "svc1" / ".env").write_text("SECRET=1\n")
    fourth, r4 = _report(proj, detached=True)
    assert not r4.cached
    assert "svc1/.env" not in third and ".env (not excluded by .dockerignore)" in fourth
    # and the cache can be bypassed
    _fifth, r5 = _report(proj, detached=True, use_cache=False)
    assert not r5.cached


@pytest.mark.parametrize("env", ["BATTEN_NO_CACHE"])
def test_cache_off_switch(tmp_path, monkeypatch, env):
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(env, "1")
    _project(tmp_path / "p" if (tmp_path / "p").mkdir() is None else tmp_path, 2)
    _report(tmp_path / "p", detached=True)
    assert not (tmp_path / "cache").exists()
