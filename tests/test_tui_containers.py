"""The containers view against the real test engine (network none, never pulled): containers
labelled as the demo's compose services, one hardened (db), one weak (app), one drifted
(cache: hardened at run time beyond its file, with the engine socket mounted), and a stopped
one. The view shows a check or a cross per control, sorts, filters, shows stopped containers
on request, jumps to the service's findings, ports a running value back as a diff, and the
exported report carries the live findings and the drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batten.live.endpoint import Endpoint
from batten.live.gateway import DockerGateway
from batten.tui.factory import build_app
from batten.widgets.containers import CONTROLS, control_ok
from tests.test_live_cli import _labels as labels
from tests.test_tui_flows import settle
from tests.test_tui_forms import burst, screen_lines

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("state_dir")]
SIZE = (120, 36)



@pytest.fixture
def stack(engine: Any, demo: Path) -> dict[str, Any]:
    hardened = engine.run(name="demo-db-1", labels=labels(demo, "db"), user="10001:10001", read_only=True,
                          cap_drop=["ALL"], security_opt=["no-new-privileges:true"], mem_limit="256m",
                          nano_cpus=500_000_000, pids_limit=100, tmpfs={"/tmp": "size=16m"},
                          healthcheck={"test": ["CMD", "true"], "interval": 2_000_000_000},
                          log_config={"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}})
    weak = engine.run(name="demo-app-1", labels=labels(demo, "app"), user="0")  # root written as 0
    drifted = engine.run(name="demo-cache-1", labels=labels(demo, "cache"), user="999:999", read_only=True,
                         cap_drop=["ALL"], security_opt=["no-new-privileges:true"], mem_limit="64m",
                         volumes={engine.socket: {"bind": "/var/run/docker.sock", "mode": "rw"}})
    stopped = engine.create(name="demo-old-1", labels=labels(demo, "app") | {"com.docker.compose.container-number": "2"})
    return {"hardened": hardened, "weak": weak, "drifted": drifted, "stopped": stopped}


class Named:
    """The real gateway under the name an operator would see (the test engine's socket is a
    temporary path): every call goes to the engine."""

    def __init__(self, inner: DockerGateway, endpoint: Endpoint) -> None:
        self.inner = inner
        self.endpoint = endpoint

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def app_on(engine: Any, demo: Path) -> Any:
    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    named = Named(gw, Endpoint(url="ssh://ops@build-01.internal", source="--host"))
    return build_app(str(demo), gateway=named, poll_interval=0)


async def test_containers_view_acts_on_the_real_engine(engine: Any, demo: Path, stack: dict[str, Any]) -> None:
    app = app_on(engine, demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "ssh://ops@build-01.internal" in app.main.header.text and "containers" in app.main.header.text
        await pilot.press("2")
        await settle(pilot)
        view = app.main.containers
        table = view.table
        by_name = {c.name: c for c in table.shown}
        assert {"demo-db-1", "demo-app-1", "demo-cache-1"} <= set(by_name)
        assert "demo-old-1" not in by_name  # stopped: hidden until asked for

        # one check or cross per control, as the rows show them
        marks = {name: {ctl.key: control_ok(c, ctl) for ctl in CONTROLS} for name, c in by_name.items()}
        assert marks["demo-db-1"] == dict.fromkeys(marks["demo-db-1"], True)
        assert not any(marks["demo-app-1"][k] for k in ("user", "caps", "ro", "nnp", "limits"))
        assert marks["demo-cache-1"]["user"] and marks["demo-cache-1"]["ro"] and marks["demo-cache-1"]["nnp"]
        rows = "\n".join(screen_lines(app))
        assert "✓" in rows and "✗" in rows
        # the hardened container is marked hardened: its Info notes (limits.ulimits fires on
        # almost every container) are not counted against it, only shown dimmed
        db = by_name["demo-db-1"]
        assert [f.rule.id for f in db.findings] == ["limits.ulimits"], "the hardened container has one Info note"
        db_cell = str(table.get_cell(str(table.shown.index(db)), "findings"))
        assert db_cell.startswith("✓") and not any(s in db_cell for s in ("L", "M", "H", "C")), db_cell
        db_row = next(line for line in screen_lines(app) if "demo-db-1" in line)
        assert "✓" in db_row and "✗" not in db_row, db_row
        app_cell = str(table.get_cell(str(table.shown.index(by_name["demo-app-1"])), "findings"))
        assert not app_cell.startswith("✓"), app_cell
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        db_row = next(line for line in screen_lines(app) if "demo-db-1" in line)
        assert db_row.count("✓") == len(CONTROLS) + 1 and "✗" not in db_row, db_row  # controls + findings
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)

        # sort and filter
        first = [c.name for c in table.shown]
        await pilot.press("s")  # service -> name
        assert table.sort_by == "name" and [c.name for c in table.shown] == sorted(first)
        burst(pilot, "slash", *"cache")
        await settle(pilot)
        assert [c.name for c in table.shown] == ["demo-cache-1"]
        await pilot.press("escape")
        await settle(pilot)
        assert len(table.shown) == len(first)

        # stopped containers on request (the engine is asked again)
        await pilot.press("a")
        await settle(pilot)
        states = {c.name: c.state for c in table.shown}
        assert states.get("demo-old-1") == "created" and states["demo-db-1"] == "running"
        await pilot.press("a")
        await settle(pilot)

        # drift shown right: root written as 0 is not drift; the engine socket is; yes/no; units
        app_c = next(c for c in table.shown if c.name == "demo-app-1")
        assert not [d for d in app_c.drift if d.field == "user"]
        cache = next(c for c in table.shown if c.name == "demo-cache-1")
        table.move_cursor(row=table.shown.index(cache))
        await settle(pilot)
        drift_rows = {item.field: tuple(str(cell) for cell in view.drift.get_row_at(i)[1:])
                      for i, item in enumerate(view.drift.items)}
        labels_shown = [str(view.drift.get_row_at(i)[0]) for i in range(view.drift.row_count)]
        assert drift_rows["user"][1] == "999:999" and "ahead" in drift_rows["user"][2]
        assert drift_rows["read_only"][:2] == ("no", "yes")
        assert drift_rows["mem_limit"][1] == "64M"
        socket = drift_rows["volumes /var/run/docker.sock"]
        assert "/var/run/docker.sock" in socket[1] and "stale" in socket[2]
        assert "volumes /var/run/docker.sock" in labels_shown and "the engine socket" in socket[2]

        # f on the user row: the port-back fix, as a diff, then written
        view.screen.set_focus(view.drift)
        view.drift.move_cursor(row=list(drift_rows).index("user"))
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert dialog.__class__.__name__ == "FixScreen", [str(n.message) for n in app._notifications]
        assert "Port the running user back" in dialog.title_text
        assert dialog.values()["user"] == "999:999"
        assert '+    user: "999:999"' in dialog.preview.diff or "+    user: 999:999" in dialog.preview.diff
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.main
        assert "999:999" in (demo / "compose.yaml").read_text()

        # Enter on a container: its compose service's findings, with how it runs now
        await pilot.press("2")
        await settle(pilot)
        table.move_cursor(row=[c.name for c in table.shown].index("demo-app-1"))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        findings = app.main.findings
        assert app.main.view == "findings"
        assert findings.table.shown and all(f.target == "app" for f in findings.table.shown)
        status = str(findings.query_one("#findings-status").render())
        assert "container demo-app-1 running" in status

        # the report carries the live findings and the drift
        report = app.session.report_text()
        assert "## Live containers" in report and "### demo-cache-1 (service demo/cache)" in report
        assert "live.user-root" in report and "| volumes /var/run/docker.sock (the engine socket) |" in report


async def test_an_outage_keeps_the_list_marked_stale_with_a_countdown(engine: Any, demo: Path,
                                                                      stack: dict[str, Any]) -> None:
    from batten.live.gateway import EngineUnavailable

    app = app_on(engine, demo)
    app.poller.interval = app.poller.delay = 30.0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        before = [c.name for c in app.main.containers.table.shown]
        assert before

        def down(*_a: Any, **_k: Any) -> Any:
            raise EngineUnavailable("cannot reach the Docker engine: connection refused")

        app.poller.gateway.list_containers = down  # the engine goes away
        app.poller.gateway.info = down
        await pilot.press("r")
        await settle(pilot)
        view = app.main.containers
        assert [c.name for c in view.table.shown] == before  # the last list stays
        status = str(view.query_one("#containers-status").render())
        assert "unreachable" in status and "stale" in status and "retry in" in status
        header = app.main.header.text
        assert "unreachable" in header and "stale" in header and "retry" in header


class SlowExports(Named):
    """The real engine, with every image export held until the test lets it go (the first read
    of a large image can take minutes); close() ends a held export, as the gateway's own does."""

    def __init__(self, inner: DockerGateway, endpoint: Endpoint) -> None:
        super().__init__(inner, endpoint)
        import threading

        self.release = threading.Event()
        self.closed = threading.Event()
        self.exports = 0

    def export_image(self, ref: str) -> Any:
        from batten.live.gateway import EngineUnavailable

        self.exports += 1
        while not self.release.wait(0.05):
            if self.closed.is_set():
                raise EngineUnavailable("connection to the Docker engine was closed")
        return self.inner.export_image(ref)

    def close(self) -> None:
        self.closed.set()
        self.inner.close()


async def _until(pilot: Any, check: Any, timeout: float = 20.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(0.05)


@pytest.mark.parametrize("size", [(80, 24), SIZE], ids=["80x24", "120x36"])
async def test_containers_show_before_the_images_are_read(engine: Any, demo: Path, stack: dict[str, Any],
                                                          size: tuple[int, int], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The first poll lists and judges the containers without waiting for image exports: the
    list is on screen while the images are still being read ("reading images 0/N"), their
    findings are merged when they arrive (the same as one snapshot that reads everything), and
    q quits at once even while an export is held."""
    import time

    from batten.live_scan import snapshot
    from batten.session import Session

    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))  # really read, not cached
    gw = SlowExports(DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10),
                     Endpoint(url="ssh://ops@build-01.internal", source="--host"))
    app = build_app(str(demo), gateway=gw, poll_interval=0)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.session.live is not None and gw.exports > 0)
        await pilot.press("2")
        await _until(pilot, lambda: app.main.containers is not None and app.main.containers.table.shown)
        names = {c.name for c in app.main.containers.table.shown}
        assert {"demo-db-1", "demo-app-1", "demo-cache-1"} <= names
        total = len({v.id for v in app.session.live.images.values()})
        assert total >= 1 and app.session.images_reading == (0, total)
        assert f"reading images 0/{total}" in app.main.header.text
        assert any("demo-db-1" in line for line in screen_lines(app))  # on screen, not only in the model
        assert all(v.content is None for v in app.session.live.images.values())

        gw.release.set()
        await settle(pilot)
        await _until(pilot, lambda: app.session.images_reading is None)
        assert "reading images" not in app.main.header.text
        shown = app.session.live
        assert all(v.content is not None and v.error is None for v in shown.images.values())
        # merged as they arrived: the same findings one snapshot reading every image gives
        twin = Session.open(str(demo))
        full = snapshot(DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10),
                        twin.result.project, read_images=True)
        twin.accept_snapshot(full)

        def by_container(snap: Any) -> dict[str, list[tuple[str, str]]]:
            return {c.name: sorted((f.rule.id, f.message) for f in c.findings) for c in snap.containers}

        assert by_container(shown) == by_container(full)

        # a new export held again (a rescan of a new image is the same path): q quits at once
        gw.release.clear()
        app.poller.contents.clear()
        monkeypatch.setenv("BATTEN_NO_CACHE", "1")
        app.read_images()
        await _until(pilot, lambda: app.session.images_reading is not None and gw.exports > total)
        t0 = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - t0 < 2.0
