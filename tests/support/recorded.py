"""Recorded engine JSON (scripts/record_live_fixtures.py) for unit tests of the live judgements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "live"


def load(name: str) -> dict[str, Any]:
    """tests/fixtures/live/<name>.json"""
    return json.loads((FIXTURES / f"{name}.json").read_text())


# what judge_container finds on a container started with no hardening option at all
PLAIN_RUN_FINDINGS = (
    "live.user-root",
    "caps.not-dropped",
    "priv.no-new-privileges",
    "fs.rootfs-writable",
    "limits.memory",
    "limits.cpu",
    "limits.pids",
    "limits.ulimits",
    "health.live-unmonitored",
    "logging.unbounded",
)
