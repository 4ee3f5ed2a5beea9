"""Apply all safe fixes from the TUI: planned and verified in a worker while the dialog shows
the progress; esc cancels it and nothing is written; Apply writes exactly the diff shown. At
80x24 and large, on a copy of examples/demo."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from batten.fixers.apply import FixCancelled
from batten.session import Session
from batten.tui.factory import build_app
from batten.tui.screens.fix import FixScreen
from tests.test_tui_flows import notes, settle
from tests.test_tui_forms import LARGE, SMALL, screen_lines

pytestmark = pytest.mark.usefixtures("state_dir")
SIZES = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def palette(app: Any, title: str) -> Any:
    return next(c for c in app.get_system_commands(app.main) if c.title == title)


@SIZES
async def test_apply_all_of_the_project_shows_progress_and_writes_what_the_diff_showed(
        demo: Path, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    real = FixScreen.show_progress

    def record(self: FixScreen, text: str) -> None:
        shown.append(text)
        real(self, text)

    monkeypatch.setattr(FixScreen, "show_progress", record)
    before = tree(demo)
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        offered = app.session.files_with_safe_fixes()
        assert len(offered) >= 2, offered  # a project-wide batch, not one file's
        app.call_later(palette(app, "Apply all safe fixes of the project…").callback)  # as the palette does
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FixScreen) and screen.preview is not None, notes(app)
        assert shown and any("verified" in t and "file(s)" in t for t in shown), shown
        assert set(screen.preview.texts) == set(offered)
        rows = "\n".join(screen_lines(app))
        assert "safe fix(es) in" in rows and "+" in rows
        assert not screen.query_one("#fix-confirm").disabled
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is app.main, notes(app)
        after = tree(demo)
        for path, text in screen.preview.texts.items():
            assert after[path] == text.encode(), f"{path}: not the bytes the diff showed"
        assert {p: b for p, b in after.items() if p not in screen.preview.texts} == \
            {p: b for p, b in before.items() if p not in screen.preview.texts}
        assert app.session.files_with_safe_fixes() == []  # everything offered was applied
        assert Session.open(str(demo)).files_with_safe_fixes() == []


@SIZES
async def test_cancelling_apply_all_writes_nothing(demo: Path, size: tuple[int, int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """esc while the fixes are being verified: the dialog closes at once, the verification
    stops (fix_all is cancelled through its hook) and not one byte changes."""
    import batten.tui.app as tui_app

    started, go = threading.Event(), threading.Event()
    real_text = tui_app.progress_text

    def held(p: Any) -> str:  # the worker waits here, mid-run, until the user has pressed esc
        started.set()
        go.wait(10)
        return real_text(p)

    monkeypatch.setattr(tui_app, "progress_text", held)
    raised: list[BaseException] = []
    real_batch = Session.safe_fixes_of

    def watched(self: Session, *a: Any, **k: Any) -> Any:
        try:
            return real_batch(self, *a, **k)
        except BaseException as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(Session, "safe_fixes_of", watched)
    before = tree(demo)
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.call_later(palette(app, "Apply all safe fixes of the project…").callback)
        while not started.is_set():
            await pilot.pause(0.02)
        screen = app.screen
        assert isinstance(screen, FixScreen) and screen.preview is None
        assert screen.query_one("#fix-confirm").disabled
        assert any("(verifying the fixes…)" in line for line in screen_lines(app))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main  # closed at once, before the run noticed
        go.set()
        await settle(pilot)
        assert raised and isinstance(raised[0], FixCancelled), raised
        assert screen.preview is None  # the batch never reached the dialog
        assert tree(demo) == before
        assert app.session.files_with_safe_fixes()  # still offered: nothing was applied
        await pilot.press("u")  # and nothing to undo: no write happened
        await settle(pilot)
        assert app.screen is app.main and any("nothing to undo" in n.lower() or "no write" in n.lower()
                                              for n in notes(app)), notes(app)
