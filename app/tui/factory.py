"""The one factory of the TUI, shared by the CLI, the tests and the screenshot script."""

from __future__ import annotations

import argparse
import os
from typing import Any

from batten.config import Config


def build_app(
    path: str,
    *,
    config: Config | None = None,
    gateway: Any = None,
    engine: bool = True,
    read_only: bool = False,
    guided: bool = False,
    host: str | None = None,
    context: str | None = None,
    poll_interval: float | None = None,
    theme: str | None = None,
) -> Any:
    """A BattenApp on `path`: the project is scanned now (fast); the engine is reached later,
    in a worker, through `gateway` (tests, screenshots) or a gateway made from host/context
    (the docker SDK is imported only there). `engine=False` never touches an engine."""
    from batten.session import Session
    from batten.tui.app import POLL_INTERVAL, BattenApp, World

    session = Session.open(path, config=config, read_only=read_only, engine=engine)
    factory = None
    if engine and gateway is None:
        def factory() -> Any:
            from batten.live_scan import make_gateway

            return make_gateway(host, context, timeout=5.0, warn=False)

    world = World(
        session=session,
        gateway=gateway if engine else None,
        gateway_factory=factory,
        guided=guided,
        poll_interval=POLL_INTERVAL if poll_interval is None else poll_interval,
        theme=theme or os.environ.get("BATTEN_THEME") or None,
    )
    return BattenApp(world)


def app_from_args(args: argparse.Namespace) -> Any:
    """The app `batten [PATH]` runs: its config is `--config FILE` or the one found from PATH,
    as for `batten scan` (batten.config.config_for); live findings get it too."""
    from batten.config import config_for

    return build_app(
        args.path,
        config=config_for([args.path], getattr(args, "config", None)),
        engine=not getattr(args, "no_engine", False),
        read_only=getattr(args, "read_only", False),
        guided=getattr(args, "guided", False),
        host=getattr(args, "host", None),
        context=getattr(args, "context", None),
    )


def run_app(args: argparse.Namespace) -> int:
    """`batten [PATH]`: build the app from the command line and run it; the exit code."""
    app = app_from_args(args)
    app.run()
    return int(app.return_code or 0)
