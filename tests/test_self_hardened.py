"""batten's own Dockerfile and compose example pass batten at low and above."""

from __future__ import annotations

import json
from pathlib import Path

from batten.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_own_dockerfile_and_compose_are_clean(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["scan", "Dockerfile", "deploy/compose.yaml", "--fail-on", "low", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    active = [f for f in doc["findings"] if not f["suppressed"] and f["severity"] != "info"]
    assert code == 0 and active == []
    # the socket mount is suppressed with its reason, not silently accepted
    sock = [f for f in doc["findings"] if f["rule"] == "mount.docker-socket"]
    assert len(sock) == 1 and "risk explained" in sock[0]["suppressed"]


def test_pre_commit_hook_points_at_batten_scan():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: batten" in text and "entry: batten scan" in text
