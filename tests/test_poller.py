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
