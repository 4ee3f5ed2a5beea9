"""The fix form as a user over a slow SSH link meets it: keys arrive in bursts (many at once,
as `tmux send-keys -l` or a paste delivers them), at 80x24 as well as large. Every test asserts
on the bytes written, against the fix planned directly with the value typed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import _character_to_key  # the same mapping pilot.press uses

from batten.session import Session
from batten.tui.factory import build_app
from tests.test_tui_flows import notes, open_fix, select, settle

pytestmark = pytest.mark.usefixtures("state_dir")

SMALL = (80, 24)
LARGE = (160, 48)



def burst(pilot: Any, *keys: str) -> None:
    """Queue every key at once, without waiting for the app between them (a real burst:
    `pilot.press` lets the app idle after each key)."""
    driver = pilot.app._driver
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        char = key if len(key) == 1 else {"space": " "}.get(key)
        if key in ("underscore", "colon", "comma", "slash", "full_stop", "minus", "equals_sign",
                   "left_square_bracket", "right_square_bracket", "quotation_mark"):
            char = {"underscore": "_", "colon": ":", "comma": ",", "slash": "/", "full_stop": ".",
                    "minus": "-", "equals_sign": "=", "left_square_bracket": "[",
                    "right_square_bracket": "]", "quotation_mark": '"'}[key]
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)


def screen_lines(app: Any) -> list[str]:
    """The screen as a person sees it, one string per row."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def visible_diff_rows(app: Any) -> list[str]:
    """The rows shown inside the dialog's diff box (border and padding removed)."""
    rows, inside = [], False
    for line in screen_lines(app):
        if "╭" in line:
            inside = True
            continue
        if "╰" in line:
            break
        if inside:
            body = line.split("│")
            rows.append(body[1][1:] if len(body) > 2 else "")
    return rows


def change_on_screen(app: Any) -> bool:
    return any(r.startswith(("+", "-")) and not r.startswith(("+++", "---")) for r in visible_diff_rows(app))


def expected_texts(demo: Path, rule: str, target: str, values: dict[str, str]) -> dict[str, str]:
    """What planning the fix directly with these values writes (on an untouched copy)."""
    twin = demo.parent / "twin"
    if twin.exists():
        shutil.rmtree(twin)
    shutil.copytree(demo, twin)
    s = Session.open(str(twin))
    f = next(f for f in s.result.active() if f.rule.id == rule and f.target == target)
    return s.preview(s.plan(f, values)).texts


# one field of every kind the forms have (ids, names, commands, durations, counts, users,
# capabilities, paths, mount options, memory, CPUs, IPs, log sizes, networks)
FIELDS = [
    ("user.missing", "runtime", "uid", "4242"),
    ("user.missing", "runtime", "user_name", "svc_app"),
    ("health.missing-dockerfile", "runtime", "healthcheck_cmd", "wget -q --spider http://127.0.0.1:8000/"),
    ("health.missing-dockerfile", "runtime", "healthcheck_interval", "45s"),
    ("compose.user-unset", "app", "user", "1000:1000"),
    ("caps.not-dropped", "app", "cap_add", "NET_BIND_SERVICE,CHOWN"),
    ("fs.rootfs-writable", "app", "tmpfs_paths", "/tmp,/var/cache/app"),
    ("fs.rootfs-writable", "app", "tmpfs_options", "noexec,nosuid,size=32m"),
    ("limits.memory", "app", "memory", "768M"),
    ("limits.memory", "app", "cpus", "1.5"),
    ("limits.pids", "app", "pids_limit", "123"),
    ("health.missing-compose", "app", "healthcheck_retries", "5"),
    ("ports.bind-all-interfaces", "app", "bind_ip", "127.0.0.2"),
    ("logging.unbounded", "app", "log_max_size", "25m"),
    ("network.not-isolated", "cache", "network", "backend_net"),
]


@pytest.mark.parametrize(("rule", "target", "field", "typed"), FIELDS, ids=[f"{r[2]}" for r in FIELDS])
async def test_a_burst_typed_into_a_field_is_what_is_written(demo: Path, rule: str, target: str, field: str,
                                                            typed: str) -> None:
    expected = expected_texts(demo, rule, target, {field: typed})
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, rule, target)
        field_input = screen.query_one(f"#param-{field}")
        screen.set_focus(field_input)
        await pilot.pause()
        # clear the field and type the value in one burst, Enter included: no pause anywhere
        burst(pilot, "end", "ctrl+u", *typed, "enter")
        await settle(pilot)
        if app.screen is screen:  # Enter came before the last plan: the diff shown is now current
            assert screen.values()[field] == typed and screen.planned == screen.values()
            await pilot.press("enter")
            await settle(pilot)
        assert app.screen is app.main, notes(app)
        for path, text in expected.items():
            assert (demo / path).read_text() == text, f"{path}: the bytes written are not the value typed"


async def test_pilot_press_of_a_memory_size_writes_it(demo: Path) -> None:
    """The reported case: clear limits.memory and type 768M; the diff and the file say 768M."""
    expected = expected_texts(demo, "limits.memory", "app", {"memory": "768M"})
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "limits.memory", "app")
        assert app.focused is screen.query_one("#param-memory")
        await pilot.press("end", "ctrl+u", "7", "6", "8", "M")
        assert "768M" in screen.preview.diff and '"7"' not in screen.preview.diff
        await pilot.press("enter")
        await settle(pilot)
        assert (demo / "compose.yaml").read_text() == expected["compose.yaml"]


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
async def test_keys_typed_right_after_f_go_to_the_dialog(demo: Path, size: tuple[int, int]) -> None:
    """`f`, clear, `768M`, Enter as ONE burst (keys arriving over SSH): the dialog opens, its
    first field takes the keys typed while it was opening, the table under it never sees them,
    and the bytes written carry 768M."""
    expected = expected_texts(demo, "limits.memory", "app", {"memory": "768M"})
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await select(pilot, "limits.memory", "app")
        table = app.main.findings.table
        burst(pilot, "f", "end", "ctrl+u", *"768M", "enter")
        await settle(pilot)
        if app.screen is not app.main:  # Enter came before the diff was current: it is now
            assert app.screen.values()["memory"] == "768M", app.screen.values()
            await pilot.press("enter")
            await settle(pilot)
        assert app.screen is app.main, notes(app)
        assert app.main.view == "findings" and table.current is not None
        assert (demo / "compose.yaml").read_text() == expected["compose.yaml"], "the bytes written are not 768M"


async def test_keys_after_a_key_that_opens_no_dialog_are_kept_in_order(demo: Path) -> None:
    """`u` with nothing to undo opens no dialog: the keys typed after it are let go in order to
    where they were going (`2` switches to the containers view, `1` back, `s` sorts)."""
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        sort_before = app.main.findings.table.sort_by
        burst(pilot, "u", "2", "1", "s")
        await pilot.pause(0.6)
        await settle(pilot)
        assert app.screen is app.main and app.main.view == "findings"
        assert app.main.containers is not None, "2 reached the app: the containers view was built"
        assert app.main.findings.table.sort_by != sort_before
        assert any("nothing to undo" in n.lower() or "undo" in n.lower() for n in notes(app))


async def test_a_burst_into_the_port_back_dialog_is_what_is_written(demo: Path) -> None:
    """The containers view's `f` asks the App for the dialog with a message: the keys after it
    still wait for the dialog and land in its field."""
    from tests.test_tui_flows import replay

    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        view = app.main.containers
        table = view.table
        table.move_cursor(row=[c.name for c in table.shown].index("demo-cache-1"))
        await settle(pilot)
        view.screen.set_focus(view.drift)
        view.drift.move_cursor(row=[d.field for d in view.drift.items].index("user"))
        await pilot.pause()
        burst(pilot, "f", "end", "ctrl+u", *"4242:4242")
        await settle(pilot)
        dialog = app.screen
        assert dialog is not app.main and "Port the running user back" in dialog.title_text
        assert dialog.values()["user"] == "4242:4242"
        assert view.drift.cursor_row == [d.field for d in view.drift.items].index("user")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.main, notes(app)
        assert 'user: "4242:4242"' in (demo / "compose.yaml").read_text()


async def test_an_invalid_value_is_refused_beside_its_field_and_apply_stays_disabled(demo: Path) -> None:
    original = (demo / "compose.yaml").read_bytes()
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "limits.memory", "app")
        burst(pilot, "end", "ctrl+u", *"64MXZ")
        await settle(pilot)
        assert "memory" in screen.errors
        note = str(screen.query_one("#note-memory").render())
        assert "✗" in note and "64MXZ" in note
        assert screen.query_one("#param-memory").has_class("-error")
        assert screen.query_one("#fix-confirm").disabled
        await pilot.press("enter", "y")
        await settle(pilot)
        assert app.screen is screen and (demo / "compose.yaml").read_bytes() == original
        # a reservation above its limit: refused beside the reservation
        screen.set_focus(screen.query_one("#param-memory"))
        burst(pilot, "end", "ctrl+u", *"128M")
        await settle(pilot)
        screen.set_focus(screen.query_one("#param-memory_reservation"))
        burst(pilot, "end", "ctrl+u", *"1G")
        await settle(pilot)
        assert "memory_reservation" in screen.errors and "above" in screen.errors["memory_reservation"]
        assert screen.query_one("#fix-confirm").disabled
        # corrected: the diff is current again and Enter applies it
        burst(pilot, "end", "ctrl+u", *"96M", "enter")
        await settle(pilot)
        if app.screen is screen:
            await pilot.press("enter")
            await settle(pilot)
        text = (demo / "compose.yaml").read_text()
        assert "128M" in text and "96M" in text and app.screen is app.main


async def test_the_keyboard_alone_drives_the_form(demo: Path) -> None:
    original = (demo / "compose.yaml").read_bytes()
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, "health.missing-compose", "app")
        order = [w.id for w in screen.focus_chain]
        assert order[:5] == ["param-healthcheck_cmd", "param-healthcheck_interval", "param-healthcheck_timeout",
                             "param-healthcheck_retries", "param-healthcheck_start_period"]
        assert order[5:7] == ["fix-confirm", "fix-cancel"]
        for wanted in order[1:7]:
            await pilot.press("tab")
            assert app.focused is not None and app.focused.id == wanted
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused.id == "param-healthcheck_start_period"
        # `y` in a text field is a letter, not Apply
        screen.set_focus(screen.query_one("#param-healthcheck_cmd"))
        await pilot.pause()
        burst(pilot, "end", "ctrl+u", *"curl -fsy http://127.0.0.1:8000/")
        await settle(pilot)
        assert app.screen is screen and (demo / "compose.yaml").read_bytes() == original
        assert screen.values()["healthcheck_cmd"] == "curl -fsy http://127.0.0.1:8000/"
        # Escape cancels from inside a field; nothing written
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main and (demo / "compose.yaml").read_bytes() == original


async def test_a_reopened_filter_keeps_its_words_under_a_burst(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        view = app.main.findings
        burst(pilot, "slash", *"secret", "enter")
        await settle(pilot)
        assert view.table.filter_text == "secret" and app.focused is view.table
        burst(pilot, "slash", "space", *"db", "enter")  # reopened: the words are added to, not replaced
        await settle(pilot)
        assert view.filter_input.value == "secret db" and view.table.filter_text == "secret db"
        assert view.table.shown and all(f.target == "db" for f in view.table.shown)
        assert app.screen is app.main  # no key of the burst reached the table (f, s...) instead


# ---------------------------------------------------------------------------------------------
# 80x24
# ---------------------------------------------------------------------------------------------
PARAM_FIXES = sorted({(r, t) for r, t, _f, _v in FIELDS})


@pytest.mark.parametrize(("rule", "target"), PARAM_FIXES, ids=[r for r, _t in PARAM_FIXES])
async def test_at_80x24_a_changed_line_is_on_screen_before_apply_is_enabled(demo: Path, rule: str,
                                                                            target: str) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        screen = await open_fix(pilot, rule, target)
        assert not screen.query_one("#fix-confirm").disabled
        assert change_on_screen(app), "\n".join(screen_lines(app))
        assert any(r.startswith("+") and not r.startswith("+++") for r in visible_diff_rows(app))
        # the form can be hidden: the diff gets its rows
        rows = len(visible_diff_rows(app))
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert len(visible_diff_rows(app)) > rows and change_on_screen(app)


async def test_apply_is_disabled_whenever_no_changed_line_is_visible(demo: Path) -> None:
    original = (demo / "compose.yaml").read_bytes()
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.fix_file("compose.yaml")  # every safe fix of the file: a long diff
        await settle(pilot)
        screen = app.screen
        assert not screen.query_one("#fix-confirm").disabled and change_on_screen(app)
        await pilot.resize_terminal(80, 14)  # the window shrinks: only a few diff rows are left
        await settle(pilot)
        scroll = screen.query_one("#fix-diff-scroll")
        hidden_seen = False
        for y in range(int(scroll.max_scroll_y) + 1):
            scroll.scroll_to(y=y, animate=False, immediate=True)
            await pilot.pause()
            await pilot.pause()
            visible = change_on_screen(app)
            hidden_seen |= not visible
            assert screen.query_one("#fix-confirm").disabled == (not visible), (y, visible_diff_rows(app))
            if not visible:
                await pilot.press("y")
                await pilot.pause()
                assert app.screen is screen and (demo / "compose.yaml").read_bytes() == original
        assert hidden_seen, "the diff never scrolled its changes out of view: the check checked nothing"
        # PageUp/PageDown scroll the diff from the keyboard
        scroll.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        await pilot.press("pagedown")
        await pilot.pause()
        assert scroll.scroll_y > 0


async def test_at_80x24_the_header_keeps_the_engine_state(demo: Path) -> None:
    from tests.test_tui_flows import replay

    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        top = screen_lines(app)[0]
        assert "5 containers" in top, top
        assert len(top) <= 80


async def test_at_80x24_tables_keep_rule_ids_and_line_numbers_whole(demo: Path) -> None:
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        view = app.main.findings
        assert not view.tree.display  # below 90 columns the table gets the width
        lines = screen_lines(app)
        table = view.table
        shown = table.shown[: table.scrollable_content_region.height - 1]
        assert shown
        for i, f in enumerate(shown):
            row = lines[table.region.y + 1 + i]  # under the header row
            assert f" {f.rule.id} " in row, row
            if f.location is not None:
                assert f":{f.location.line} " in row, row  # the line number is never cut
        await pilot.press("t")  # the tree on request, narrow
        await settle(pilot)
        assert view.tree.display and view.tree.size.width <= 34
        await pilot.press("t")
        await settle(pilot)
        assert not view.tree.display


async def test_the_guided_step_proposes_what_its_dialog_will(demo: Path) -> None:
    """With live evidence (the running demo-cache-1 runs as 999:999), the guided step and the
    fix dialog opened from it show the same values and the same diff."""
    from tests.test_tui_flows import replay

    app = build_app(str(demo), gateway=replay(), poll_interval=0)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        guided = app.main.guided
        assert guided.walk is not None and str(guided.walk.area.value) == "user"
        target = next(f for f in guided.table.shown if f.rule.id == "compose.user-unset" and f.target == "cache")
        guided.table.select_fingerprint(target.fingerprint())
        await settle(pilot)
        await settle(pilot)
        proposal = str(guided.query_one("#guided-proposal").render())
        step_diff = guided.query_one("#guided-diff").diff
        assert "user=999:999" in proposal and "999:999" in step_diff
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert dialog.values()["user"] == "999:999"
        assert dialog.preview.diff == step_diff


async def test_the_trial_key_on_a_dockerfile_fix_says_it_is_not_tried(demo: Path) -> None:
    """A Dockerfile fix needs a build, which batten never does: the trial key says so plainly
    (with or without an engine) and starts nothing; Apply is still the user's choice."""
    original = (demo / "Dockerfile").read_bytes()
    app = build_app(str(demo), engine=False)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        await select(pilot, "cmd.json-form", "runtime")
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert screen is not app.main and screen.fix is not None and screen.fix.id == "df.cmd-json"
        await pilot.press("ctrl+t")
        await settle(pilot)
        status = str(screen.query_one("#fix-status").render())
        assert "Trial not run" in status and "Dockerfile fixes need a build; batten never builds" in status, status
        assert "not verified on the engine" in status and "Trying" not in status
        assert not screen.query_one("#fix-confirm").disabled
        await pilot.press("escape")
        await settle(pilot)
    assert (demo / "Dockerfile").read_bytes() == original
