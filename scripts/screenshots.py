"""Write current SVG screenshots of the main TUI screens into screenshots/.

The app is built with the same factory as the CLI and the tests (batten.tui.factory.build_app),
on a temporary copy of examples/demo (never modified), at 120x36 (and one at 80x24). The engine
is the real test engine as scripts/record_live_fixtures.py recorded it (tests/fixtures/live:
containers labelled as the demo's services), replayed under the name an operator would see
(ssh://ops@build-01): the screenshots need no engine and are the same on every run.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--theme textual-dark]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batten.live.endpoint import Endpoint  # noqa: E402
from batten.live.replay import ReplayGateway  # noqa: E402
from batten.tui.factory import build_app  # noqa: E402

SIZE = (120, 36)


SMALL = (80, 24)
ENDPOINT = Endpoint(url="ssh://ops@build-01", source="--host")


def replay() -> ReplayGateway:
    gw = ReplayGateway.from_dir(ROOT / "tests" / "fixtures" / "live")
    gw.endpoint = ENDPOINT
    return gw


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def select(app: Any, rule: str, target: str) -> None:
    for f in app.session.result.active():
        if f.rule.id == rule and f.target == target:
            app.main.findings.table.select_fingerprint(f.fingerprint())
            return
    raise SystemExit(f"no finding {rule} on {target} in the demo")


async def findings(pilot: Any) -> None:
    select(pilot.app, "secret.value-hardcoded", "db")
    await pilot.pause()


def fix_dialog(rule: str, target: str) -> Callable[[Any], Awaitable[None]]:
    """Steps that open the fix dialog of `rule`'s finding on `target`."""

    async def steps(pilot: Any) -> None:
        select(pilot.app, rule, target)
        await pilot.pause()
        await pilot.press("f")

    return steps


async def containers(pilot: Any) -> None:
    await pilot.press("2")
    await settle(pilot)
    table = pilot.app.main.containers.table
    names = [c.name for c in table._rows]
    if "demo-cache-1" in names:
        table.move_cursor(row=names.index("demo-cache-1"))


async def drift(pilot: Any) -> None:
    await containers(pilot)
    await settle(pilot)
    view = pilot.app.main.containers
    view.screen.set_focus(view.drift)
    view.detail.scroll_end(animate=False)


async def guided_step(pilot: Any) -> None:
    await pilot.press("g")
    await settle(pilot)
    await pilot.press("n")


async def guided_summary(pilot: Any) -> None:
    await pilot.press("g")
    await settle(pilot)
    app = pilot.app
    select_in_guided = app.main.guided.table
    await pilot.press("n")  # capabilities: accept the safe no-new-privileges fix for app
    await pilot.pause()
    for f in app.session.result.active():
        if f.rule.id == "priv.no-new-privileges" and f.target == "app":
            select_in_guided.select_fingerprint(f.fingerprint())
    await pilot.pause()
    await pilot.press("f")
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)
    await pilot.press("s")  # skip one
    for _ in range(len(app.session.guided.areas)):
        await pilot.press("n")
        await pilot.pause()


SHOTS: dict[str, tuple[dict[str, Any], Callable[[Any], Awaitable[None]]]] = {
    "findings": ({"gateway": "replay"}, findings),
    "fix-preview": ({"engine": False}, fix_dialog("limits.memory", "app")),
    "containers": ({"gateway": "replay"}, containers),
    "drift": ({"gateway": "replay"}, drift),
    # the dialog reads the running demo-app-1 (tmpfs paths it writes)
    "fix-live-defaults": ({"gateway": "replay"}, fix_dialog("fs.rootfs-writable", "app")),
    "guided-step": ({"engine": False}, guided_step),
    "guided-summary": ({"engine": False}, guided_summary),
    "small-80x24": ({"engine": False, "size": SMALL}, fix_dialog("limits.memory", "app")),
}


async def shoot(name: str, out: Path, theme: str | None) -> Path:
    options, steps = SHOTS[name]
    with tempfile.TemporaryDirectory(prefix="batten-shots-") as tmp:
        demo = Path(tmp) / "demo"
        shutil.copytree(ROOT / "examples" / "demo", demo)
        os.environ["BATTEN_STATE_DIR"] = str(Path(tmp) / "state")
        kwargs = dict(options)
        size = kwargs.pop("size", SIZE)
        if kwargs.get("gateway") == "replay":
            kwargs.update(gateway=replay(), poll_interval=0)
        app = build_app(str(demo), theme=theme, **kwargs)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await steps(pilot)
            await settle(pilot)
            app.clear_notifications()
            await pilot.pause()
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "screenshots"))
    p.add_argument("--theme", default=None, help="a Textual theme (e.g. ansi-dark); default: textual-dark")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"which screens (default: all of {', '.join(SHOTS)})")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in SHOTS]
    if unknown:
        p.error(f"unknown screen(s): {', '.join(unknown)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(SHOTS):
        path = asyncio.run(shoot(name, out, args.theme))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
