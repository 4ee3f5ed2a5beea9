"""With an engine, the TUI's findings say what `batten scan --live` says, against the real test
engine (network none, never pulled; the images are imported here): a service whose image runs as
a non-root user loses its compose.user-unset finding once the engine worker has read the images,
the TUI's finding set is `scan --live`'s JSON finding set, the fix dialog plans with the image
facts `batten fix --live` plans with, the table and the detail pane show that very fix, and an
outage keeps the refined list."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from batten.live.endpoint import Endpoint
from batten.live.gateway import DockerGateway
from batten.present import fix_label
from batten.report import finding_dict
from batten.tui.factory import build_app
from tests.test_live_cli import _labels as labels
from tests.test_live_image import batten_cli, rootfs_with, sym
from tests.test_tui_flows import settle, until
from tests.test_tui_forms import burst, screen_lines

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("state_dir")]
NONROOT = "batten-test/nonroot-web:1"


@pytest.fixture(scope="module")
def nonroot_image(docker_engine: Any) -> str:
    """The test busybox (its wget linked in) run as app (10001), exposing 8080, no HEALTHCHECK."""
    repo, _, tag = NONROOT.partition(":")
    docker_engine.client.api.import_image_from_data(
        rootfs_with([sym("bin/wget", "busybox")]), repository=repo, tag=tag,
        changes=["USER app", "EXPOSE 8080", 'CMD ["/bin/sh"]'])
    return str(docker_engine.client.api.inspect_image(NONROOT)["Id"])


@pytest.fixture
def project(tmp_path: Path, engine: Any, nonroot_image: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))  # images really read, here and by the CLI
    root = tmp_path / "shop"
    root.mkdir()
    (root / "compose.yaml").write_text(
        "name: demo\n"
        "services:\n"
        f"  web:\n    image: {NONROOT}\n"
        "  worker:\n    image: batten-test/busybox:1\n"
    )
    engine.run(NONROOT, name="demo-web-1", labels=labels(root, "web"))
    engine.run(name="demo-worker-1", labels=labels(root, "worker"))
    return root


def _placeless(d: dict[str, Any]) -> str:
    """A finding as the JSON report gives it, without its place (`scan --live` places the
    findings of a service's container on the service; the TUI shows them in view 2) nor its fix
    (the TUI shows the one `fix --live` plans)."""
    return json.dumps({k: v for k, v in d.items() if k not in ("path", "line", "end_line", "fix", "no_fix")},
                      sort_keys=True)


def _unfixed(d: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in d.items() if k not in ("fix", "no_fix")}, sort_keys=True)


def _lines(diff: str) -> list[str]:
    """A diff's change lines (+/-), as shown."""
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def _added(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_the_findings_say_what_scan_live_says(engine: Any, project: Path, size: tuple[int, int]) -> None:
    from batten.live.gateway import EngineUnavailable
    from batten.session import Session
    from batten.trial import engine_knowledge

    scanned = Session.open(str(project)).result.findings
    plain = {(f.rule.id, f.target) for f in scanned}
    plain_health = next(f for f in scanned if f.rule.id == "health.missing-compose" and f.target == "web")
    assert {("compose.user-unset", "web"), ("compose.user-unset", "worker")} <= plain  # a plain scan's word

    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    app = build_app(str(project), gateway=gw, poll_interval=0)
    async with app.run_test(size=size) as pilot:
        s = app.session
        await until(pilot, lambda: s.live is not None and s.images_reading is None and not app._reading_images())
        await settle(pilot)
        assert all(v.content is not None for v in s.live.images.values())  # every image was read
        table = app.main.findings.table
        shown = {(f.rule.id, f.target): f for f in table.shown}
        assert ("compose.user-unset", "web") not in shown  # its image runs as app
        worker = shown[("compose.user-unset", "worker")]
        assert "image batten-test/busybox:1 runs as root (its Config.User, read from the engine)" in worker.message

        # on screen, as the user reads it
        burst(pilot, "slash", *"user-unset")
        await settle(pilot)
        assert [f.target for f in table.shown] == ["worker"]
        rows = [line for line in screen_lines(app) if "compose.user-unset" in line]
        assert any("worker" in line for line in rows), rows
        assert not any(re.search(r"\bweb\b", line) for line in rows), rows
        await pilot.press("escape")
        await settle(pilot)

        # the very finding set `scan --live` reports for the project
        out = batten_cli("scan", str(project), "--live", "--host", engine.url, "--format", "json",
                         "--fail-on", "never")
        assert out.returncode == 0, out.stderr
        cli = json.loads(out.stdout)["findings"]
        # (each with the fix the dialog plans, `fix --live`'s: `scan --live` reports the scan's)
        ours = [finding_dict(f) for f in [*s.result.findings, *s.live.findings]]
        assert Counter(map(_placeless, ours)) == Counter(map(_placeless, cli))
        files = [_unfixed(finding_dict(f)) for f in s.result.findings]
        assert not Counter(files) - Counter(_unfixed(d) for d in cli)  # placed alike

        # the fix dialog plans with the image facts `fix --live` plans with: the probe uses the
        # port the image exposes and the wget its filesystem holds
        assert s.image_knowledge() == engine_knowledge(gw, s.result.project)
        health = next(f for f in table.shown if f.rule.id == "health.missing-compose" and f.target == "web")
        table.move_cursor(row=table.shown.index(health))
        app.main.findings.focus_main()
        await settle(pilot)
        # the table and the detail pane show that very fix, where the plain scan planned another
        assert health.fix is not None and health.fix == s.proposal(health) != plain_health.fix
        rows = [line for line in screen_lines(app) if "health.missing" in line and re.search(r"\bweb\b", line)]
        assert len(rows) == 1 and re.search(rf"compose\.yaml:\d+\s+{fix_label(health)}\s", rows[0]), rows
        shown_diff = app.main.findings.detail.query_one("#fix-diff").diff
        assert _lines(shown_diff), shown_diff
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert dialog.__class__.__name__ == "FixScreen", [str(n.message) for n in app._notifications]
        assert dialog.preview is not None, dialog.error
        added = _added(dialog.preview.diff)
        assert any("wget" in line and "8080" in line for line in added), added
        assert _lines(shown_diff) == _lines(dialog.preview.diff), (shown_diff, dialog.preview.diff)
        headless = batten_cli("fix", str(project), "--live", "--host", engine.url, "--rule",
                              "health.missing-compose", "--accept-defaults")
        assert headless.returncode in (0, 1), headless.stderr
        assert set(added) <= set(_added(headless.stdout)), headless.stdout
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main

        # the engine goes away: the refined list stays, marked stale, through a rescan too
        def down(*_a: Any, **_k: Any) -> Any:
            raise EngineUnavailable("cannot reach the Docker engine: connection refused")

        gw.list_containers = down  # type: ignore[method-assign]
        gw.info = down  # type: ignore[method-assign]
        refined = [json.dumps(finding_dict(f), sort_keys=True) for f in s.result.findings]
        await pilot.press("r")
        await settle(pilot)
        assert s.engine_state == "unreachable" and "stale" in app.main.header.text
        assert [json.dumps(finding_dict(f), sort_keys=True) for f in s.result.findings] == refined
        assert ("compose.user-unset", "web") not in {(f.rule.id, f.target) for f in table.shown}
        health = next(f for f in s.result.findings if f.rule.id == "health.missing-compose" and f.target == "web")
        assert health.fix is not None and health.fix == s.proposal(health)  # still the dialog's fix
