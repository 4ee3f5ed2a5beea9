"""Shared pytest fixtures, one section per area. Add new fixtures in a section of their own."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

TESTS_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Isolation: the suite never touches the user's scan cache or undo journal. Set at import time
# so subprocesses started by tests inherit it too.
# ---------------------------------------------------------------------------------------------
_STATE = tempfile.mkdtemp(prefix="batten-tests-")
os.environ.setdefault("BATTEN_CACHE_DIR", os.path.join(_STATE, "cache"))
os.environ.setdefault("BATTEN_STATE_DIR", os.path.join(_STATE, "state"))
atexit.register(shutil.rmtree, _STATE, True)

# Hypothesis: under CI=true the default budgets replay the same examples every run (a CI result
# must not depend on luck); exploration with random examples is `pytest -m fuzz`.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


# ---------------------------------------------------------------------------------------------
# Live containers (batten.live): a private network-less dockerd, a loopback sshd, recorded JSON.
# Tests using them are marked `engine` / `ssh`. Missing root/apt/docker skips them, except
# under CI=true, where it fails them (tests/support/__init__.py: unavailable()).
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A private dockerd (no bridge, no iptables) with batten-test/busybox:{1,latest}."""
    from tests.support import engine as engine_support
    from tests.support import unavailable

    reason = engine_support.prerequisites(install=True)
    if reason:
        unavailable(reason)
    try:
        engine = engine_support.start_engine()
    except engine_support.EngineStartError as exc:
        unavailable(f"the test engine did not start: {exc}")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def engine(docker_engine: Any) -> Iterator[Any]:
    """The session engine; containers created through it are removed after each test."""
    yield docker_engine
    docker_engine.cleanup()


@pytest.fixture(scope="session")
def sshd(docker_engine: Any) -> Iterator[Any]:
    """sshd on 127.0.0.1 whose `docker system dial-stdio` reaches the test engine."""
    from tests.support import sshd as sshd_support
    from tests.support import unavailable

    reason = sshd_support.prerequisites()
    if reason:
        unavailable(reason)
    try:
        server = sshd_support.start_sshd(docker_engine.socket)
    except sshd_support.SSHDStartError as exc:
        unavailable(f"the test sshd did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_fixtures_dir() -> Path:
    """Recorded engine JSON (scripts/record_live_fixtures.py)."""
    return TESTS_DIR / "fixtures" / "live"


# ---------------------------------------------------------------------------------------------
# The TUI and the session: a copy of the demo project to change, a private state directory
# (undo journal) and the default theme. TUI test modules use `state_dir` for every test.
# ---------------------------------------------------------------------------------------------
DEMO = TESTS_DIR.parent / "examples" / "demo"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("BATTEN_STATE_DIR", str(d))
    monkeypatch.delenv("BATTEN_THEME", raising=False)
    return d
