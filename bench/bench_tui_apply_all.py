"""The TUI's "apply all safe fixes of the project" on a big tree: does the screen stay alive?

Copies sample projects of the corpus (read-only, /work/shared/corpus or $BATTEN_CORPUS) under
one temporary root, opens the TUI headless (Textual's pilot, 120x36, no engine) and runs the
palette's "Apply all safe fixes of the project…" twice: once to the end (the diff shown), once
cancelled with esc at the first progress line. Meanwhile a 20 ms timer on the UI thread records
the longest gap between its ticks: how long a key would wait. Prints the figures and the
command; the copy is removed afterwards.

    .venv/bin/python bench/bench_tui_apply_all.py [--projects all | NAME ...] [--copies 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("BATTEN_CORPUS") or ROOT.parent / "shared" / "corpus")
DEFAULT = ["docker__awesome-compose", "ChristianLempa__boilerplates", "dockersamples__example-voting-app",
           "docker-library__postgres"]


def build_tree(names: list[str], copies: int) -> Path:
    top = Path(tempfile.mkdtemp(prefix="batten-apply-all-")) / "tree"
    for i in range(copies):
        for name in names:
            shutil.copytree(CORPUS / name, top / f"copy{i}" / name, symlinks=True)
    return top


async def one_run(path: Path, cancel: bool) -> dict[str, float]:
    from textual import events

    from batten.tui.factory import build_app
    from batten.tui.screens.fix import FixScreen

    app = build_app(str(path), engine=False)
    gaps: list[float] = []
    last = [0.0]
    progress_seen = [0.0]
    real = FixScreen.show_progress

    def shown(self: FixScreen, text: str) -> None:
        if not progress_seen[0]:
            progress_seen[0] = time.perf_counter()
        real(self, text)

    FixScreen.show_progress = shown  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()

            def tick() -> None:
                now = time.perf_counter()
                if last[0]:
                    gaps.append(now - last[0])
                last[0] = now

            command = next(c for c in app.get_system_commands(app.main)
                           if c.title == "Apply all safe fixes of the project…")
            t0 = time.perf_counter()
            timer = app.set_interval(0.02, tick)
            app.call_later(command.callback)
            while not isinstance(app.screen, FixScreen):
                await asyncio.sleep(0.005)
            opened = time.perf_counter() - t0
            out: dict[str, float] = {"dialog_open_s": opened}
            if cancel:
                while not progress_seen[0]:
                    await asyncio.sleep(0.005)
                t1 = time.perf_counter()
                key = events.Key("escape", None)  # as the terminal sends it (pilot.press also waits for idle)
                key.set_sender(app)
                app._driver.send_message(key)
                while isinstance(app.screen, FixScreen):
                    await asyncio.sleep(0.005)
                out["esc_to_closed_s"] = time.perf_counter() - t1
                await app.workers.wait_for_complete()
                out["esc_to_worker_end_s"] = time.perf_counter() - t1
            else:
                screen = app.screen
                while screen.preview is None and screen.error is None:
                    await asyncio.sleep(0.01)
                out["to_diff_s"] = time.perf_counter() - t0
                out["fixes"] = float(len(screen.preview.texts) if screen.preview else 0)
            timer.stop()
            out["max_ui_gap_s"] = max(gaps, default=0.0)
            out["ui_ticks"] = float(len(gaps))
            await pilot.press("escape")
            return out
    finally:
        FixScreen.show_progress = real  # type: ignore[method-assign]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", nargs="*", default=DEFAULT, help="corpus project folders, or 'all'")
    ap.add_argument("--copies", type=int, default=1)
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS} (set BATTEN_CORPUS)", file=sys.stderr)
        return 2
    names = args.projects
    if names == ["all"]:
        names = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    os.environ.setdefault("BATTEN_STATE_DIR", tempfile.mkdtemp(prefix="batten-state-"))
    os.environ["BATTEN_NO_CACHE"] = "1"
    top = build_tree(names, args.copies)
    try:
        from batten.sources.project import load_project

        files = len(load_project([str(top)]).files)
        cpu0 = time.process_time()
        done = asyncio.run(one_run(top, cancel=False))
        cpu = time.process_time() - cpu0
        cancelled = asyncio.run(one_run(top, cancel=True))
    finally:
        shutil.rmtree(top.parent, ignore_errors=True)
    print(f"tree: {len(names)} project(s) x {args.copies} copy/copies, {files} files, one root")
    print(f"to the end: dialog open {done['dialog_open_s']:.3f} s, diff shown {done['to_diff_s']:.2f} s "
          f"({int(done['fixes'])} files changed), CPU {cpu:.2f} s, longest UI gap {done['max_ui_gap_s'] * 1000:.0f} ms "
          f"({int(done['ui_ticks'])} ticks of 20 ms)")
    print(f"cancelled at the first progress line: dialog closed {cancelled['esc_to_closed_s'] * 1000:.0f} ms "
          f"after esc, worker ended {cancelled['esc_to_worker_end_s']:.2f} s after esc, longest UI gap "
          f"{cancelled['max_ui_gap_s'] * 1000:.0f} ms")
    print("command: .venv/bin/python bench/bench_tui_apply_all.py --projects " + " ".join(args.projects)
          + f" --copies {args.copies}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
