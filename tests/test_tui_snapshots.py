"""SVG snapshots (pytest-textual-snapshot) of the main screens at 120x36, on a copy of the demo;
the containers view is fed by the replay gateway over tests/fixtures/live.

Update after an intended change: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batten.tui.factory import build_app
from tests.test_tui_flows import find, replay, settle

pytestmark = pytest.mark.usefixtures("state_dir")

SIZE = (120, 36)



async def _quiet(pilot: Any) -> None:
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()


def test_snapshot_findings(snap_compare: Any, demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=_quiet)


def test_snapshot_findings_ansi_dark(snap_compare: Any, demo: Path) -> None:
    app = build_app(str(demo), engine=False, theme="ansi-dark")

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        f = find(pilot.app, "secret.value-hardcoded", "db")
        pilot.app.main.findings.table.select_fingerprint(f.fingerprint())
        await pilot.pause()
        pilot.app.main.findings.detail.show_tab("source")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_fix_preview(snap_compare: Any, demo: Path) -> None:
    app = build_app(str(demo), engine=False)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        f = find(pilot.app, "logging.unbounded", "db")
        pilot.app.main.findings.table.select_fingerprint(f.fingerprint())
        await pilot.pause()
        await pilot.press("f")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_containers(snap_compare: Any, demo: Path) -> None:
    app = build_app(str(demo), gateway=replay(), poll_interval=0)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = pilot.app.main.containers.table
        names = [c.name for c in table._rows]
        table.move_cursor(row=names.index("demo-cache-1"))
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_guided_summary(snap_compare: Any, demo: Path) -> None:
    app = build_app(str(demo), engine=False, guided=True)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("s")  # skip one
        for _ in range(len(pilot.app.session.guided.areas)):
            await pilot.press("n")
            await pilot.pause()
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
