"""The session without any user interface: plan, preview, apply, undo (checked before it is
shown), export with live containers, secrets masked. The TUI only renders what this decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from batten.fixers.edits import unified_diff
from batten.live_scan import snapshot
from batten.session import NotApplied, Session
from tests.test_tui_flows import SECRETS, replay

pytestmark = pytest.mark.usefixtures("state_dir")

def finding(s: Session, rule: str, target: str):  # type: ignore[no-untyped-def]
    return next(f for f in s.result.active() if f.rule.id == rule and f.target == target)


def test_plan_preview_apply_undo(demo: Path) -> None:
    s = Session.open(str(demo))
    original = (demo / "compose.yaml").read_text()
    f = finding(s, "limits.pids", "app")
    fix = s.plan(f, {"pids_limit": "321"})
    assert fix is not None
    preview = s.preview(fix)
    assert "+    pids_limit: 321" in preview.diff and preview.changes
    applied = s.apply_fix(f, fix, preview)
    assert applied.paths == ["compose.yaml"] and applied.gone
    after = (demo / "compose.yaml").read_text()
    assert after == preview.texts["compose.yaml"]
    assert s.mask(unified_diff("compose.yaml", original, after), ["compose.yaml"]) == preview.diff
    plan = s.undo_plan()
    assert "-    pids_limit: 321" in plan.preview.diff and plan.paths == ["compose.yaml"]
    assert s.undo() == ["compose.yaml"]
    assert (demo / "compose.yaml").read_text() == original
    with pytest.raises(NotApplied, match="nothing to undo"):
        s.undo_plan()


def test_undo_is_refused_before_its_diff_is_shown(demo: Path) -> None:
    s = Session.open(str(demo))
    f = finding(s, "limits.pids", "app")
    assert f.fix is not None
    s.apply_fix(f, f.fix, s.preview(f.fix))
    with (demo / "compose.yaml").open("a") as fh:
        fh.write("# edited by hand\n")
    with pytest.raises(NotApplied, match="changed since batten wrote it"):
        s.undo_plan()


def test_apply_refuses_a_preview_that_is_not_the_fix(demo: Path) -> None:
    s = Session.open(str(demo))
    f = finding(s, "limits.pids", "app")
    stale = s.preview(s.plan(f, {"pids_limit": "7"}))  # type: ignore[arg-type]
    fix = s.plan(f, {"pids_limit": "768"})
    assert fix is not None
    before = (demo / "compose.yaml").read_bytes()
    with pytest.raises(NotApplied, match="changed since its preview"):
        s.apply_fix(f, fix, stale)
    assert (demo / "compose.yaml").read_bytes() == before


def test_read_only_writes_nothing(demo: Path, tmp_path: Path) -> None:
    s = Session.open(str(demo), read_only=True)
    f = finding(s, "limits.pids", "app")
    assert f.fix is not None
    with pytest.raises(NotApplied, match="read-only"):
        s.apply_fix(f, f.fix, s.preview(f.fix))
    with pytest.raises(NotApplied, match="read-only"):
        s.export_report(str(tmp_path / "r.md"))


def test_report_has_live_containers_and_drift_and_no_secret(demo: Path) -> None:
    s = Session.open(str(demo))
    gw = replay()
    s.accept_snapshot(snapshot(gw, s.result.project))
    path = s.export_report("out/report.md")
    text = Path(path).read_text()
    assert Path(path).parent.name == "out"
    assert "## Live containers" in text and "### demo-db-1 (service demo/db)" in text
    assert "| drift | file | running |" in text and "| read_only |" in text
    assert "live." in text or "priv." in text  # the containers' own findings
    assert s.result.findings and all(secret not in text for secret in SECRETS)


def test_outage_keeps_the_last_list_marked_stale(demo: Path) -> None:
    from batten.live_scan import LiveSnapshot

    s = Session.open(str(demo))
    good = snapshot(replay(), s.result.project)
    s.accept_snapshot(good)
    assert s.engine_state == "ok" and s.containers
    s.accept_snapshot(LiveSnapshot(endpoint=good.endpoint, error="cannot reach the engine"))
    assert s.engine_state == "unreachable"
    assert [c.name for c in s.containers] == [c.name for c in good.containers]
    assert s.live_age() is not None and "old" in s.engine_summary()
