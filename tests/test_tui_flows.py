"""Pilot tests of the TUI flows, each on a copy of examples/demo in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batten.config import Config
from batten.fixers.edits import unified_diff
from batten.live.endpoint import Endpoint
from batten.live.gateway import EngineUnavailable
from batten.live.replay import ReplayGateway
from batten.model import Finding
from batten.tui.factory import build_app

pytestmark = pytest.mark.usefixtures("state_dir")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo"
LIVE = REPO / "tests" / "fixtures" / "live"
SIZE = (120, 36)
SECRETS = ("dev-not-so-secret-4f9a", "hunter2-demo")



def replay() -> ReplayGateway:
    gw = ReplayGateway.from_dir(LIVE)
    gw.endpoint = Endpoint(url="replay://fixtures", source="replay")
    return gw


class CountingGateway:
    """Replay, counting the calls (to prove polling never piles up or runs under a dialog)."""

    def __init__(self) -> None:
        self.inner = replay()
        self.endpoint = self.inner.endpoint
        self.lists = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def list_containers(self, all: bool = False) -> list[dict[str, Any]]:
        self.lists += 1
        return self.inner.list_containers(all=all)


class DeadGateway:
    """An engine that cannot be reached: every call raises EngineUnavailable."""

    endpoint = Endpoint(url="ssh://ops@unreachable.invalid", source="--host")

    def __getattr__(self, name: str) -> Any:
        def fail(*_a: Any, **_k: Any) -> Any:
            raise EngineUnavailable("cannot reach the Docker engine at ssh://ops@unreachable.invalid: host unreachable")

        return fail


class BuggyGateway(DeadGateway):
    """A gateway with a bug: not a BattenError, so the worker itself fails."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_a: Any, **_k: Any) -> Any:
            raise RuntimeError("boom in the gateway")

        return fail


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    """Wait for `condition()` (the worker, its state message and the notification it posts may
    each come later than one settle on a busy machine); fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()


def find(app: Any, rule: str, target: str | None = None) -> Finding:
    for f in app.session.result.active():
        if f.rule.id == rule and (target is None or f.target == target):
            return f
    raise AssertionError(f"no finding {rule} on {target}")


async def select(pilot: Any, rule: str, target: str | None = None) -> Finding:
    app = pilot.app
    f = find(app, rule, target)
    table = app.main.findings.table
    assert table.select_fingerprint(f.fingerprint()), f"{rule} {target} not shown"
    await pilot.pause()
    return f


async def open_fix(pilot: Any, rule: str, target: str | None = None) -> Any:
    """Select `rule`'s finding on `target`, press f: the fix dialog, settled."""
    await select(pilot, rule, target)
    await pilot.press("f")
    await settle(pilot)
    return pilot.app.screen


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


# ---------------------------------------------------------------------------------------------
# layout and navigation
# ---------------------------------------------------------------------------------------------


async def test_open_demo_shows_tree_table_detail(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main
        table = main.findings.table
        assert len(table.shown) == len(app.session.result.findings) > 40
        assert table.current is not None and table.current.rule.id == "priv.privileged"  # worst first
        root = str(main.findings.tree.root.label)
        assert root.startswith("demo") and "1C" in root
        labels = [str(n.label) for n in main.findings.tree.root.children]
        assert any(label.startswith("Dockerfile") for label in labels)
        assert any(label.startswith("compose.yaml") for label in labels)
        stages = [str(n.label) for n in main.findings.tree.root.children[0].children]
        assert any(s.startswith("runtime stage") for s in stages)
        explain = str(main.findings.detail.query_one("#explain-text").render())
        assert "Privileged container" in explain and "Why it matters" in explain
        assert "engine: off" in main.header.text
        assert "q quit" in main.keybar.text and "f fix" in main.keybar.text


async def test_navigation_details_and_masked_source(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.main.findings.table
        first = table.current
        await pilot.press("down")
        await pilot.pause()
        assert table.current is not first
        await select(pilot, "secret.value-hardcoded", "runtime")
        await pilot.press("enter")  # details: focus moves to the tabs
        await pilot.pause()
        assert app.focused is not None and app.focused.__class__.__name__ == "ContentTabs"
        await pilot.press("right")  # Source tab
        await pilot.pause()
        assert app.main.findings.detail.active_tab == "tab-source"
        source = str(app.main.findings.detail.query_one("#source-text").render())
        assert "SECRET_KEY=••••••" in source
        assert "13 ▶" in source  # the finding's line is marked
        for secret in SECRETS:
            assert secret not in source
            assert secret not in app.export_screenshot()
        await select(pilot, "secret.value-hardcoded", "db")
        app.main.findings.detail.show_tab("source")
        await pilot.pause()
        for secret in SECRETS:
            assert secret not in app.export_screenshot()


async def test_filter_sort_and_tree_scope(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.main.findings.table
        await pilot.press("slash")
        await pilot.press(*"no-new")
        await pilot.pause()
        assert {f.rule.id for f in table.shown} == {"priv.no-new-privileges"}
        assert len(table.shown) == 3
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is table
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(table.shown) == table.total
        await pilot.press("s")
        await pilot.pause()
        assert table.sort_by == "rule"
        ids = [f.rule.id for f in table.shown]
        assert ids == sorted(ids)
        # the tree narrows the table to a service
        tree = app.main.findings.tree
        compose = next(n for n in tree.root.children if str(n.label).startswith("compose.yaml"))
        db = next(n for n in compose.children if str(n.label).startswith("db"))
        tree.select_node(db)
        await pilot.pause()
        assert table.shown and all(f.target == "db" for f in table.shown)
        tree.select_node(tree.root)
        await pilot.pause()
        assert len(table.shown) == table.total


async def test_escape_sequences_from_files_are_shown_escaped(demo: Path) -> None:
    dockerfile = demo / "Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(text.replace("WORKDIR /app", "# \x1b]0;pwned\x07 title\nWORKDIR /app"))
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, "cmd.json-form")
        source = str(app.main.findings.detail.query_one("#source-text").render())
        assert "\\x1b]0;pwned\\x07" in source
        assert "\x1b" not in source and "\x07" not in source


# ---------------------------------------------------------------------------------------------
# fix flow
# ---------------------------------------------------------------------------------------------


async def test_fix_preview_confirm_writes_what_the_diff_showed_then_undo(demo: Path) -> None:
    compose = demo / "compose.yaml"
    original = compose.read_bytes()
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        finding = find(app, "priv.no-new-privileges", "app")
        screen = await open_fix(pilot, "priv.no-new-privileges", "app")
        assert screen.__class__.__name__ == "FixScreen"
        shown_diff = screen.preview.diff
        assert "+    security_opt:" in shown_diff and "no-new-privileges:true" in shown_diff
        assert compose.read_bytes() == original  # nothing written by opening the dialog
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is app.main
        after = compose.read_text()
        assert after == screen.preview.texts["compose.yaml"]
        assert app.session.mask(unified_diff("compose.yaml", original.decode(), after), ["compose.yaml"]) == shown_diff
        fps = {f.fingerprint() for f in app.main.findings.table.shown}
        assert finding.fingerprint() not in fps  # the finding is gone
        assert any("is gone" in n for n in notes(app))
        # undo: a dialog with the reverse diff, then the original bytes
        await pilot.press("u")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "FixScreen"
        assert "-    security_opt:" in app.screen.preview.diff
        assert compose.read_text() == after
        await pilot.press("y")
        await pilot.pause()
        assert compose.read_bytes() == original
        assert finding.fingerprint() in {f.fingerprint() for f in app.main.findings.table.shown}


async def test_needs_input_form_changes_the_diff(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "limits.pids", "app")
        assert "pids_limit: 200" in screen.preview.diff
        field = screen.query_one("#param-pids_limit")
        assert app.focused is field and field.value == "200"
        field.value = ""
        await pilot.press(*"123")
        await pilot.pause()
        assert "pids_limit: 123" in screen.preview.diff
        assert "pids_limit: 123" in str(screen.query_one("#fix-diff").render())
        await pilot.press("enter")  # applies from the field: the diff is current
        await pilot.pause()
        assert app.screen is app.main
        assert "pids_limit: 123" in (demo / "compose.yaml").read_text()


async def test_unsafe_fix_explains_what_may_break(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, "priv.privileged", "cache")
        await pilot.press("f")
        await pilot.pause()
        text = str(app.screen.query_one("#fix-explanation").render())
        assert "What may break" in text and "privileged" in text
        # said once: the warning does not repeat what the title and explanation already say
        assert text.count("⚠") == 1 and text.lower().count("behaviour-changing") <= 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


async def test_read_only_cannot_write(demo: Path) -> None:
    compose = demo / "compose.yaml"
    original = compose.read_bytes()
    app = build_app(str(demo), engine=False, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "priv.no-new-privileges", "app")
        assert screen.preview.diff  # the diff is shown
        assert screen.query_one("#fix-confirm").disabled
        assert "read-only" in str(screen.query_one("#fix-status").render())
        await pilot.press("y")
        await pilot.pause()
        screen.action_confirm()
        await pilot.pause()
        assert compose.read_bytes() == original
        await pilot.press("escape", "u")
        await pilot.pause()
        assert app.screen is app.main
        assert compose.read_bytes() == original
        assert app.fix_file("compose.yaml") is None
        await pilot.pause()
        if app.screen is not app.main:
            assert app.screen.query_one("#fix-confirm").disabled
        assert compose.read_bytes() == original


async def test_write_refused_is_a_notification_and_nothing_is_lost(demo: Path) -> None:
    compose = demo / "compose.yaml"
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, "priv.no-new-privileges", "db")
        await pilot.press("f")
        await pilot.pause()
        edited = compose.read_text() + "# edited by someone else\n"
        compose.write_text(edited)  # changed on disk since the preview
        await pilot.press("y")
        await pilot.pause()
        assert compose.read_text() == edited
        assert app.screen.__class__.__name__ == "FixScreen"  # still open, values kept
        assert any("changed on disk" in n for n in notes(app))


async def test_palette_applies_all_safe_fixes_of_a_file(demo: Path) -> None:
    compose = demo / "compose.yaml"
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.main)]
        for wanted in ("Fix…", "Undo…", "Rescan", "Guided", "Filter findings", "Containers view", "Help",
                       "Export report…", "Sort findings", "Apply all safe fixes of compose.yaml…"):
            assert wanted in titles, wanted
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CommandPalette"
        await pilot.press("escape")
        await pilot.pause()
        command = next(c for c in app.get_system_commands(app.main) if c.title == "Apply all safe fixes of compose.yaml…")
        app.call_later(command.callback)  # as the palette does: on the app's loop
        await settle(pilot)
        screen = app.screen
        assert screen.__class__.__name__ == "FixScreen"
        diff = screen.preview.diff
        assert diff.count("no-new-privileges:true") == 3 and "max-size" in diff, diff
        await pilot.press("y")
        await pilot.pause()
        assert compose.read_text() == screen.preview.texts["compose.yaml"]
        left = [f for f in app.session.result.active() if f.path == "compose.yaml" and f.fix is not None
                and str(f.fix.applicability) == "safe"]
        assert left == []


async def test_help_lists_every_command(demo: Path) -> None:
    from batten.tui import commands

    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "HelpScreen"
        text = str(app.screen.query_one("#help-text").render())
        for c in commands.COMMANDS:
            assert f"[{c.id}]" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


async def test_the_palette_lists_each_command_once(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.main)]
        assert titles.count("Export report…") == 1 and not any(t == "Export report" for t in titles)
        assert len(titles) == len(set(titles))


# ---------------------------------------------------------------------------------------------
# guided remediation
# ---------------------------------------------------------------------------------------------


async def test_guided_session_to_summary_and_report(demo: Path) -> None:
    app = build_app(str(demo), engine=False, guided=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        guided = app.main.guided
        assert app.main.view == "guided" and guided is not None
        session = app.session.guided
        assert [a.value for a in session.areas][:9] == [
            "user", "capabilities", "filesystem", "secrets", "images", "health", "network", "resources",
            "supply chain"]
        assert "logging" in [a.value for a in session.areas]
        assert "Step 1 of" in str(guided.query_one("#guided-title").render())
        await pilot.press("s")  # skip the first user finding
        await pilot.pause()
        assert len(session.skipped) == 1
        await pilot.press("n")  # capabilities
        await pilot.pause()
        assert session.area.value == "capabilities"
        target = find(app, "priv.no-new-privileges", "app")
        assert guided.table.select_fingerprint(target.fingerprint())
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "FixScreen"
        await pilot.press("y")
        await pilot.pause()
        assert len(session.changes) == 1
        for _ in range(len(session.areas)):
            await pilot.press("n")
            await pilot.pause()
        assert session.finished
        summary = str(guided.query_one("#guided-summary-text").render())
        assert "What changed" in summary and "priv.no-new-privileges on app" in summary
        assert "Skipped" in summary and "What remains" in summary
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ExportScreen"
        await pilot.press("enter")
        await pilot.pause()
        report = (demo / "batten-report.md").read_text()
        assert report.startswith("# batten report: demo")
        assert "`priv.no-new-privileges`" in report and "## Skipped" in report
        assert "### Capabilities" in report and "```diff" in report
        for secret in SECRETS:
            assert secret not in report


async def test_guided_export_to_a_chosen_path(demo: Path, tmp_path: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        assert app.main.view == "guided"
        await pilot.press("3")
        await app.run_action("export_report")
        await pilot.pause()
        field = app.screen.query_one("#export-path")
        field.value = str(tmp_path / "out" / "team.md")
        await pilot.press("enter")
        await pilot.pause()
        assert (tmp_path / "out" / "team.md").read_text().startswith("# batten report")
        assert not (demo / "batten-report.md").exists()


# ---------------------------------------------------------------------------------------------
# engine
# ---------------------------------------------------------------------------------------------


async def test_containers_view_from_replay(demo: Path) -> None:
    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "replay://fixtures" in app.main.header.text and "5 containers" in app.main.header.text
        await pilot.press("2")
        await settle(pilot)
        view = app.main.containers
        table = view.table
        names = [c.name for c in table._rows]
        assert "demo-db-1" in names and "weak" in names
        idx = names.index("demo-db-1")
        table.move_cursor(row=idx)
        await pilot.pause()
        detail = str(view.detail.query_one("#container-detail-text").render())
        assert "Service: demo/db" in detail and "compose.yaml:23" in detail
        assert "Drift from the compose file" in detail
        drift = {str(view.drift.get_row_at(i)[0]): str(view.drift.get_row_at(i)[2])
                 for i in range(view.drift.row_count)}
        assert drift["read_only"] == "yes" and drift["mem_limit"] == "256M"  # yes/no, human units
        table.move_cursor(row=names.index("weak"))
        await pilot.pause()
        detail = str(view.detail.query_one("#container-detail-text").render())
        assert "priv.privileged" in detail or "live." in detail
        # enter on a container of a service: that service's findings
        table.move_cursor(row=idx)
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.view == "findings"
        assert {f.target for f in app.main.findings.table.shown} == {"db"}


async def test_live_evidence_feeds_fix_defaults(demo: Path) -> None:
    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "fs.rootfs-writable", "app")
        assert screen.live_from == "demo-app-1"
        assert screen.evidence, "evidence from the running container"
        assert "Live evidence from demo-app-1" in str(screen.query_one("#fix-evidence").render())


async def test_engine_unreachable_static_findings_still_work(demo: Path) -> None:
    app = build_app(str(demo), gateway=DeadGateway(), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "unreachable" in app.main.header.text
        assert app.main.header.engine_state == "unreachable"
        assert len(app.main.findings.table.shown) == len(app.session.result.findings)
        await pilot.press("2")
        await settle(pilot)
        status = str(app.main.containers.query_one("#containers-status").render())
        assert "Engine unreachable" in status and "host unreachable" in status
        await pilot.press("1")
        await select(pilot, "priv.no-new-privileges", "app")
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "FixScreen"


async def test_worker_errors_become_notifications(demo: Path) -> None:
    app = build_app(str(demo), gateway=BuggyGateway(), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: any("boom in the gateway" in n for n in notes(app)))
        assert any("boom in the gateway" in n for n in notes(app))
        assert app.main.header.engine_state == "unreachable"
        assert app.is_running


async def test_polling_reschedules_and_skips_under_a_dialog(demo: Path) -> None:
    import asyncio

    gw = CountingGateway()
    app = build_app(str(demo), gateway=gw, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.sleep(0.4)
        await pilot.pause()
        polled = gw.lists
        assert 2 <= polled <= 12  # rescheduled after each success, never piled up
        await select(pilot, "priv.no-new-privileges", "app")
        await pilot.press("f")
        await settle(pilot)
        during = gw.lists
        await asyncio.sleep(0.4)
        await pilot.pause()
        assert gw.lists == during  # no refresh while the dialog is open
        await pilot.press("escape")
        await asyncio.sleep(0.4)
        await settle(pilot)
        assert gw.lists > during


async def test_no_engine_never_touches_an_engine(demo: Path) -> None:
    gw = CountingGateway()
    app = build_app(str(demo), gateway=gw, engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "r")
        await settle(pilot)
        assert gw.lists == 0
        assert "engine: off" in app.main.header.text


# ---------------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------------


async def test_keys_are_remapped_from_config(demo: Path) -> None:
    (demo / ".batten.toml").write_text('[keys]\nfix = "x"\nview_containers = "c"\nbogus = "z"\n')
    app = build_app(str(demo), engine=False)
    assert app.session.config.keys["fix"] == "x"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "x fix" in app.main.keybar.text
        assert any("bogus" in n for n in notes(app))
        await select(pilot, "priv.no-new-privileges", "app")
        await pilot.press("f")
        await pilot.pause()
        assert app.screen is app.main  # f is no longer bound
        await pilot.press("x")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "FixScreen"
        await pilot.press("escape", "c")
        await pilot.pause()
        assert app.main.view == "containers"


async def test_keymap_through_config_object(demo: Path) -> None:
    app = build_app(str(demo), engine=False, config=Config(keys={"quit": "ctrl+q"}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_views_switch_with_number_keys_and_mouse(demo: Path) -> None:
    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, view in (("2", "containers"), ("3", "guided"), ("1", "findings")):
            await pilot.press(key)
            await settle(pilot)
            assert app.main.view == view
        # the key bar is clickable
        await pilot.click("#keybar", offset=(2, 0))
        await pilot.pause()
        assert app.main.findings.table.sort_by == "rule"


async def test_secret_fix_and_its_undo_never_show_the_secret(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "secret.value-hardcoded", "db")
        assert screen.preview.diff and "hunter2-demo" not in screen.preview.diff
        assert "hunter2-demo" not in app.export_screenshot()
        await pilot.press("y")
        await pilot.pause()
        assert "hunter2-demo" not in (demo / "compose.yaml").read_text()
        await pilot.press("u")
        await pilot.pause()
        undo = app.screen
        assert undo.__class__.__name__ == "FixScreen" and "POSTGRES_PASSWORD" in undo.preview.diff
        assert "hunter2-demo" not in undo.preview.diff
        assert "hunter2-demo" not in app.export_screenshot()
        await pilot.press("y")
        await pilot.pause()
        assert "hunter2-demo" in (demo / "compose.yaml").read_text()  # restored exactly


async def test_fix_failed_is_a_notification(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import batten.fixers.apply

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise batten.fixers.apply.FixFailed("compose.yaml: the fixed file does not parse (test); nothing written")

    compose = demo / "compose.yaml"
    original = compose.read_bytes()
    monkeypatch.setattr(batten.fixers.apply, "check_one", refuse)
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, "priv.no-new-privileges", "app")
        await pilot.press("f", "y")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "FixScreen"
        assert any("does not parse" in n for n in notes(app))
        assert compose.read_bytes() == original


async def test_config_option_applies_to_static_and_live_findings(demo: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from batten.cli import build_parser
    from batten.tui.factory import app_from_args

    (demo / ".batten.toml").write_text('[severity]\n"limits.memory" = "low"\n')  # found from PATH: not read
    team = tmp_path / "team.toml"
    team.write_text('ignore = ["priv.privileged"]\n[severity]\n"limits.memory" = "critical"\n'
                    '"live.user-root" = "info"\n')
    monkeypatch.setattr("batten.live_scan.make_gateway", lambda *a, **k: replay())
    args = build_parser(None).parse_args([str(demo), "--config", str(team)])
    app = app_from_args(args)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = app.main.findings.table.shown
        assert shown and not any(f.rule.id == "priv.privileged" for f in shown)
        await select(pilot, "limits.memory", "app")
        explain = str(app.main.findings.detail.query_one("#explain-text").render())
        assert explain.startswith(" critical ") and "limits.memory" in explain
        live = app.session.snapshot.findings
        assert any(f.rule.id == "live.user-root" for f in live)
        assert all(f.severity.label == "info" for f in live if f.rule.id == "live.user-root")
        assert not any(f.rule.id == "priv.privileged" for f in live)
    # without --config the file found from PATH applies, as for `batten scan`
    app = app_from_args(build_parser(None).parse_args([str(demo), "--no-engine"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, "limits.memory", "app")
        assert str(app.main.findings.detail.query_one("#explain-text").render()).startswith(" low ")
        assert any(f.rule.id == "priv.privileged" for f in app.main.findings.table.shown)


async def test_rescan_runs_in_a_worker_and_the_screen_stays_live(demo: Path) -> None:
    """`r` scans in a worker: keys are handled while it runs, the old findings stay on screen
    until the new scan is complete, and then the new one is shown."""
    import threading

    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        s = app.session
        before = s.result
        release = threading.Event()
        read_again = s.read_again

        def slow_read() -> Any:
            assert threading.current_thread() is not threading.main_thread()  # never the UI thread
            release.wait(30)
            return read_again()

        s.read_again = slow_read  # type: ignore[method-assign]
        (demo / "compose.yaml").write_text((demo / "compose.yaml").read_text().replace(
            "    privileged: true\n", ""))
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("2")  # handled while the scan is held
        await pilot.pause()
        assert app.main.view == "containers"
        assert s.result is before  # nothing half-shown
        release.set()
        await until(pilot, lambda: s.result is not before)
        assert not any(f.rule.id == "priv.privileged" for f in s.result.findings)
        assert any(f.rule.id == "priv.privileged" for f in before.findings)
