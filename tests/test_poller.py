"""The engine poller without any user interface (batten.poller): containers first, image
filesystems after and merged, backoff after failures, never under a dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batten.live_scan import snapshot
from batten.poller import EnginePoller
from batten.session import Session
from tests.test_tui_flows import DeadGateway, replay

pytestmark = pytest.mark.usefixtures("state_dir")


def test_containers_come_without_reading_images(demo: Path) -> None:
    gw = replay()
    exports: list[str] = []
    gw.export_image = lambda ref: exports.append(ref) or iter(())  # type: ignore[method-assign]
    s = Session.open(str(demo))
    poller = EnginePoller(s, gateway=gw, interval=5.0)
    snap = poller.fetch()
    assert snap.error is None and snap.containers and exports == []
    assert poller.accept(snap, now=100.0) is None
    assert s.live is snap and poller.retry_in(now=101.0) == 4.0
    todo = poller.begin_images()
    assert todo and s.images_reading == (0, len(todo)) and "reading images 0/" in s.engine_summary()


def test_image_findings_are_merged_as_one_full_snapshot_gives_them(demo: Path) -> None:
    s = Session.open(str(demo))
    poller = EnginePoller(s, gateway=replay())
    poller.accept(poller.fetch())
    before = {c.name: [f.rule.id for f in c.findings] for c in s.containers}
    todo = poller.begin_images()
    for image_id, got, final in poller.read_images(todo):
        assert isinstance(got, str) and "no export in this recording" in got and final
        poller.accept_image(image_id, got, keep=final)
    poller.end_images()
    assert s.images_reading is None and all(v.error for v in s.live.images.values())
    full = Session.open(str(demo))
    full.accept_snapshot(snapshot(replay(), full.result.project, read_images=True))
    assert {c.name: sorted(f.rule.id for f in c.findings) for c in s.containers} == \
        {c.name: sorted(f.rule.id for f in c.findings) for c in full.containers}
    assert before  # the list was there before any image was read
    # read once: the next list merges what is known and reads nothing again
    poller.accept(poller.fetch())
    assert poller.pending_images() == [] and all(v.error for v in s.live.images.values())


def test_reading_stops_between_images_when_cancelled(demo: Path) -> None:
    s = Session.open(str(demo))
    poller = EnginePoller(s, gateway=replay())
    poller.accept(poller.fetch())
    todo = poller.begin_images()
    assert len(todo) >= 2
    calls: list[int] = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 2  # after the first image

    assert len(list(poller.read_images(todo, cancelled))) == 1


def test_backoff_doubles_to_its_cap_and_resets_after_an_answer(demo: Path) -> None:
    s = Session.open(str(demo))
    poller = EnginePoller(s, gateway=DeadGateway(), interval=5.0, backoff_max=30.0)
    delays, messages = [], []
    for _ in range(5):
        messages.append(poller.accept(poller.fetch()))
        delays.append(poller.delay)
    assert delays == [10.0, 20.0, 30.0, 30.0, 30.0]
    assert messages[0] and "unreachable" in messages[0] and messages[1:] == [None] * 4  # said once
    assert s.engine_state == "unreachable"
    assert poller.delay_when_paused() == 15.0  # a dialog is up: later, never under it
    assert poller.due_after_pause() and not poller.due_after_pause()  # or as soon as it closes
    poller.gateway = replay()
    assert poller.accept(poller.fetch()) is None and poller.delay == 5.0 and s.engine_state == "ok"


def test_closing_ends_the_gateway_once(demo: Path) -> None:
    closed: list[Any] = []

    class Gw:
        def close(self) -> None:
            closed.append(1)

    poller = EnginePoller(Session.open(str(demo)), gateway=Gw())
    poller.close()
    poller.close()
    assert closed == [1] and poller.gateway is None and not poller.enabled


# ---------------------------------------------------------------------- the static findings
def _images_project(tmp_path: Path) -> Path:
    """Services on images of the recording: one that runs as 10001 with its own HEALTHCHECK, one
    that runs as root without one, and one the engine does not have."""
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "compose.yaml").write_text(
        "services:\n"
        "  api:\n    image: batten-test/app:1\n"
        "  tool:\n    image: batten-test/busybox:1\n"
        "  gone:\n    image: batten-test/absent:1\n"
    )
    return root


def _claims(findings: list[Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(f.rule.id, f.target): (f.message, (f.severity or f.rule.severity).label) for f in findings
            if f.rule.id in ("compose.user-unset", "health.missing-compose")}


def test_the_static_findings_are_refined_as_scan_live_refines_them(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from batten import live_scan
    from batten.scan import scan
    from batten.trial import engine_knowledge

    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))  # what this test reads, nothing older
    project = _images_project(tmp_path)
    s = Session.open(str(project))
    before = _claims(s.result.findings)
    assert {("compose.user-unset", t) for t in ("api", "tool", "gone")} <= set(before)
    assert ("health.missing-compose", "api") in before
    poller = EnginePoller(s, gateway=replay())
    snap = poller.fetch()
    assert snap.refined is not None and snap.refined.scan is s.scanned  # worked out where it was fetched
    poller.accept(snap)
    assert s.result.findings is snap.refined.findings  # taken as it is, not worked out again
    after = _claims(s.result.findings)
    assert ("compose.user-unset", "api") not in after and ("health.missing-compose", "api") not in after
    message, severity = after[("compose.user-unset", "tool")]
    assert "image batten-test/busybox:1 runs as root (its Config.User, read from the engine)" in message
    assert severity == "high" and before[("compose.user-unset", "tool")][1] == "medium"
    assert "defines none (inspected)" in after[("health.missing-compose", "tool")][0]
    assert after[("compose.user-unset", "gone")] == before[("compose.user-unset", "gone")]
    assert _claims(s.scanned.findings) == before  # the scan's own findings are left as they were
    todo = poller.begin_images()
    for image_id, got, final in poller.read_images(todo):
        poller.accept_image(image_id, got, keep=final, refined=poller.refined_with(image_id, got))
    poller.end_images()
    assert _claims(s.result.findings) == after  # no filesystem in a recording: nothing more to say

    # exactly what `scan --live` reports for the project, static findings and live ones
    monkeypatch.setattr(live_scan, "make_gateway", lambda *_a, **_k: replay())
    headless = scan([str(project)], config=s.config)
    live_scan.add_live(headless, host=None, context=None)

    def listed(findings: list[Any]) -> list[tuple[Any, ...]]:
        return sorted((f.rule.id, f.path or "", f.target or "", f.message, (f.severity or f.rule.severity).label)
                      for f in findings)

    assert listed(s.result.findings) == listed(headless.findings)
    assert listed(s.live.findings) == listed(headless.live)
    # fixes are planned with the image facts `batten fix --live` plans with
    assert s.image_knowledge() == engine_knowledge(replay(), s.result.project)
    assert s.image_knowledge().facts("batten-test/app:1").user == "10001:10001"

    # the engine goes away: the refined list stays (the engine line says it is stale), and a
    # rescan (after a write) is refined with what the engine last showed, without asking it
    poller.gateway = DeadGateway()
    poller.accept(poller.fetch())
    assert s.engine_state == "unreachable" and _claims(s.result.findings) == after
    s.rescan()
    assert _claims(s.result.findings) == after and _claims(s.scanned.findings) == before


def test_an_engine_gone_while_the_images_are_asked_about_is_an_outage(tmp_path: Path) -> None:
    from batten.live.gateway import EngineUnavailable

    s = Session.open(str(_images_project(tmp_path)))
    poller = EnginePoller(s, gateway=replay())
    poller.accept(poller.fetch())
    refined = s.result
    gw = replay()
    by_id = gw.inspect_image
    asked: list[str] = []

    def gone(ref: str) -> Any:  # the containers' images (asked by id) answer, then the engine goes
        if ref.startswith("sha256:"):
            return by_id(ref)
        asked.append(ref)
        raise EngineUnavailable("cannot reach the Docker engine: connection refused")

    gw.inspect_image = gone  # type: ignore[method-assign]
    poller.gateway = gw
    snap = poller.fetch()
    assert snap.error and "connection refused" in snap.error
    assert len(asked) == 1  # the other images are not asked once the engine is gone
    poller.accept(snap)
    assert s.engine_state == "unreachable" and s.result is refined


# ---------------------------------------------------------------------- the fixes shown
def test_the_fixes_shown_are_the_ones_the_dialog_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fix the scan could not plan (no HTTP client known in the image) is planned in the
    worker once the image's filesystem shows one, with the facts the dialog plans with; it is
    kept through a rescan of the same text and planned again, off the engine, for a new one."""
    from batten.live.imagecontent import ImageContent

    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "probe"
    root.mkdir()
    compose = root / "compose.yaml"
    compose.write_text("services:\n  tool:\n    image: batten-test/busybox:1\n    expose: ['8080']\n")
    s = Session.open(str(root))

    def health(findings: list[Any]) -> Any:
        return next(f for f in findings if f.rule.id == "health.missing-compose" and f.target == "tool")

    assert health(s.result.findings).fix is None and "no HTTP client" in health(s.result.findings).no_fix
    poller = EnginePoller(s, gateway=replay())
    poller.accept(poller.fetch())
    assert health(s.result.findings).fix is None  # the config alone names no client: as the dialog says
    assert s.proposal(health(s.result.findings)) is None
    for view in poller.begin_images():  # a recording holds no filesystem: the image worker's answer
        got = ImageContent(image_id=view.id, executables={"wget": "/bin/wget", "sh": "/bin/sh"})
        refined = poller.refined_with(view.id, got)  # in the reading thread
        poller.accept_image(view.id, got, refined=refined)
    poller.end_images()
    assert refined is not None and s.result.findings is refined.findings  # planned there, taken as it is
    shown = health(s.result.findings)
    assert shown.fix is not None and shown.fix == s.proposal(shown) and shown.no_fix is None
    diff = s.preview(shown.fix).diff
    assert '"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"' in diff, diff
    assert health(s.scanned.findings).fix is None  # the scan's own finding is left as it was

    s.rescan()  # the same text: the fix planned for it is shown at once
    assert health(s.result.findings).fix == shown.fix
    compose.write_text(compose.read_text().replace("8080", "9090"))
    s.rescan()  # a new text: the scan's fix until the worker planned it again, without the engine
    assert health(s.result.findings).fix is None
    poller.gateway = DeadGateway()
    assert s.take_refined(poller.replanned())
    again = health(s.result.findings)
    assert again.fix is not None and again.fix == s.proposal(again)
    assert "http://127.0.0.1:9090/" in s.preview(again.fix).diff
