"""The batten TUI: one App that owns the world it was given (scan result, engine gateway or
gateway factory, config) and every action on it. Screens and widgets render; this module
decides, writes (through the fixes engine only) and talks to the engine (in thread workers)."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from batten.config import Config
from batten.model import Applicability, BattenError, Finding, Fix, Span
from batten.report import safe_text
from batten.sanitize import mask_secrets as mask_values
from batten.scan import ScanResult, scan
from batten.tui import commands
from batten.tui.screens.main import MainScreen
from batten.widgets.text import file_secret_spans, secret_values

POLL_INTERVAL = 5.0  # seconds between engine snapshots (after each success)
POLL_BACKOFF_MAX = 60.0  # after failures the delay doubles up to this


@dataclass
class World:
    """What the App works on, handed in by `batten.tui.factory.build_app`."""

    root: str
    paths: list[str]
    config: Config
    result: ScanResult
    gateway: Any = None  # an EngineGateway (tests: ReplayGateway or a failing fake)
    gateway_factory: Callable[[], Any] | None = None  # makes the real gateway, in a worker
    engine: bool = True
    read_only: bool = False
    guided: bool = False
    poll_interval: float = POLL_INTERVAL
    theme: str | None = None


@dataclass
class Preview:
    """A change as the user sees it: new texts per file and their masked diff."""

    texts: dict[str, str]
    befores: dict[str, str]
    diff: str


class BattenApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "batten"
    BINDINGS = [*commands.bindings("app"), commands.palette_binding()]
    NOTIFICATION_TIMEOUT = 6

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.result: ScanResult = world.result
        self.snapshot: Any = None  # batten.live_scan.LiveSnapshot
        self.engine_state = "off" if not world.engine else "connecting"
        self._gateway: Any = world.gateway
        self._poll_delay = world.poll_interval
        self._poll_timer: Any = None
        self._secrets: set[str] = set()
        self.guided: Any = None  # screens.guided.GuidedSession, while one runs
        self.last_write_paths: list[str] = []
        keymap, unknown = commands.split_keymap(world.config.keys)
        self._keymap_wanted = keymap
        self._keymap_unknown = unknown
        if world.theme:
            self.theme = world.theme
        self._remember_secrets()

    # ------------------------------------------------------------------ setup
    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else None
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        if self._keymap_wanted:
            self.set_keymap(self._keymap_wanted)
        if self._keymap_unknown:
            self.notify(
                "unknown key binding id(s) in config: " + ", ".join(sorted(self._keymap_unknown))
                + f" (known: {', '.join(commands.BY_ID)})",
                severity="warning",
            )
        from batten.fixers.write import interrupted_message, interrupted_write

        pending = interrupted_write(self.world.root)
        if pending is not None and not self.world.read_only:
            self.notify(safe_text(interrupted_message(pending)), title="interrupted write", severity="warning",
                        timeout=30)

    def main_ready(self) -> None:
        """The main screen is composed: fill it, then reach for the engine (in a worker)."""
        self.main.load(self.result)
        self._show_engine_state()
        if self.world.guided:
            self.call_later(self.action_guided)
        if self.world.engine and (self._gateway is not None or self.world.gateway_factory is not None):
            # after the first frame: the docker SDK import in the worker must not delay it
            self.call_after_refresh(self.poll_engine)

    def on_unmount(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        gw, self._gateway = self._gateway, None
        if gw is not None:
            try:
                gw.close()
            except Exception:
                pass

    # ------------------------------------------------------------------ keys / palette
    def modal_open(self) -> bool:
        return len(self.screen_stack) > 1 or isinstance(self.screen, ModalScreen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while a dialog (fix, help, palette...) is up, only it answers keys: nothing writes or
        # opens a second dialog behind it
        return not (self.modal_open() and action not in {"quit", "command_palette"})

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        main_only = not isinstance(screen, MainScreen)
        for c in commands.COMMANDS:
            if not c.palette or c.id == "fix_file" or main_only:
                continue
            keys = commands.display_keys(c, self._keymap_wanted)
            help_text = c.help + (f"  (key: {keys})" if keys else "")
            yield SystemCommand(c.title, escape(help_text), self._runner(c))
        if not main_only:
            for path in self.files_with_safe_fixes():
                yield SystemCommand(
                    f"Apply all safe fixes of {safe_text(path)}…",
                    "One combined diff, then apply after your yes",
                    lambda p=path: self.fix_file(p),
                )
        yield from super().get_system_commands(screen)

    def _runner(self, c: commands.Command) -> Callable[[], Any]:
        async def run() -> None:
            await self.action_command(c.id)

        return run

    async def action_command(self, command_id: str) -> None:
        """Run a registry command by id (key bar clicks, palette)."""
        c = commands.BY_ID.get(command_id)
        if c is None:
            return
        if c.scope == "app":
            await self.run_action(c.action)
        elif c.scope in ("findings", "guided"):
            await self.main.run_scoped(c)

    def key_hints(self, view: str) -> list[tuple[str, str, str]]:
        """What the key bar shows in `view`: the view's own keys, then the app's."""
        out: list[tuple[str, str, str]] = []
        wanted = {"findings": "findings", "guided": "guided"}.get(view)
        for c in commands.COMMANDS:
            if not c.footer or not c.keys or (c.scope != "app" and c.scope != wanted):
                continue
            if view != "findings" and c.id in ("filter", "guided"):
                continue  # the key works everywhere; the bar keeps to what the view needs
            out.append((commands.display_keys(c, self._keymap_wanted).split(", ")[0], c.label or c.title, c.id))
        out.sort(key=lambda item: 0 if commands.BY_ID[item[2]].scope != "app" else 1)
        out.append((commands.display_keys(commands.BY_ID["palette"], self._keymap_wanted), "palette", "palette"))
        return out

    def action_help(self) -> None:
        from batten.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self._keymap_wanted))

    async def action_view(self, name: str) -> None:
        await self.main.switch(name)

    async def action_filter(self) -> None:
        await self.main.switch("findings")
        self.main.findings.open_filter()

    def action_details(self) -> None:
        self.main.open_details()

    async def action_detail_tab(self, name: str) -> None:
        await self.main.switch("findings")
        if self.main.findings.has_detail:
            self.main.findings.detail.show_tab(name)

    # ------------------------------------------------------------------ scanning
    def _remember_secrets(self) -> None:
        """Secret values seen in any scan of this session: masked wherever text is shown."""
        for f in [*self.result.findings, *self.result.live]:
            if f.fix is not None:
                self._secrets.update(s for s in f.fix.secrets if s)
            if f.secrets and f.path:
                text = self.file_text(f.path)
                if text is not None:
                    self._secrets.update(secret_values(text, f.secrets))

    def rescan(self, *, quiet: bool = False) -> bool:
        try:
            self.result = scan(self.world.paths, config=self.world.config)
        except BattenError as exc:
            self.notify(f"rescan failed: {exc}", severity="error")
            return False
        self._remember_secrets()
        self.main.load(self.result)
        if not quiet:
            n = len(self.result.active())
            self.notify(f"rescanned: {len(self.result.project.files)} file(s), {n} finding(s)", timeout=3)
        return True

    def action_rescan(self) -> None:
        self.rescan()
        if self.world.engine and (self._gateway is not None or self.world.gateway_factory is not None):
            self.poll_engine()

    # ------------------------------------------------------------------ text helpers
    def file_text(self, path: str) -> str | None:
        project = self.result.project
        pf = project.file(path)
        if pf is not None and pf.source is not None:
            return pf.source.text
        try:
            return project.aux_text(path)
        except (OSError, ValueError):
            return None

    def secrets_in(self, paths: Iterable[str]) -> set[str]:
        out = set(self._secrets)
        findings = self.result.findings
        for path in paths:
            text = self.file_text(path)
            if text is not None:
                out |= secret_values(text, file_secret_spans(findings, path))
        return out

    def mask(self, text: str, paths: Iterable[str] = ()) -> str:
        return mask_values(text, self.secrets_in(paths))

    def source_for(self, finding: Finding) -> tuple[str | None, list[Any]]:
        if finding.path is None:
            return None, []
        text = self.file_text(finding.path)
        spans = file_secret_spans(self.result.findings, finding.path)
        if text is not None:
            # values known from elsewhere (e.g. a secret moved out of this file) are masked too
            for value in self._secrets:
                start = text.find(value) if value else -1
                while start >= 0:
                    spans.append(Span(start, start + len(value)))
                    start = text.find(value, start + len(value))
        return text, spans

    # ------------------------------------------------------------------ fixes
    def preview(self, fix: Fix) -> Preview:
        """New texts and the masked diff of one fix (not verified; check_one does that)."""
        from batten.fixers.apply import apply_one, current_text
        from batten.fixers.edits import unified_diff

        project = self.result.project
        texts = apply_one(project, fix)
        befores = {p: current_text(project, p) for p in texts}
        self._secrets.update(s for s in fix.secrets if s)
        diff = "".join(unified_diff(p, befores[p], texts[p]) for p in texts if befores[p] != texts[p])
        return Preview(texts, befores, self.mask(diff, texts))

    def plan(self, finding: Finding, values: dict[str, str] | None = None,
             evidence: dict[str, str] | None = None) -> Fix | None:
        from batten.fixers.plan import plan_fix

        return plan_fix(finding, self.result.project, self.result.config, values or None, evidence or None)

    def container_for(self, finding: Finding) -> Any | None:
        """The running container of the finding's compose service, if the engine shows one."""
        snap = self.snapshot
        if snap is None or snap.error or finding.target_kind != "service" or not finding.target:
            return None
        for c in snap.containers:
            if c.service == finding.target and c.source is not None and c.state == "running":
                return c
        return None

    def current_finding(self) -> Finding | None:
        return self.main.current_finding()

    def action_fix(self) -> None:
        finding = self.current_finding()
        if finding is None:
            self.notify("Select a finding first (views 1 or 3).", severity="warning")
            return
        self.open_fix(finding)

    def open_fix(self, finding: Finding) -> None:
        from batten.tui.screens.fix import FixScreen

        if finding.fix is None:
            hint = safe_text(finding.rule.remedy) if finding.rule.remedy else "fix it by hand"
            self.notify(f"No automatic fix for {finding.rule.id}: {hint}", severity="warning", timeout=8)
            return
        container = self.container_for(finding)
        screen = FixScreen.for_finding(finding, read_only=self.world.read_only,
                                       live_from=container.name if container is not None else None)
        self.push_screen(screen, callback=self._after_dialog)
        if container is not None and finding.fix.params:
            self.load_evidence(container.id, screen)

    def _after_dialog(self, written: bool | None) -> None:
        if written:
            self.main.refocus()

    def apply_fix(self, finding: Finding, fix: Fix, preview: Preview) -> bool:
        """check_one then write_files; True when written. Errors become notifications."""
        from batten.fixers.apply import FixFailed, check_one
        from batten.fixers.write import WriteRefused, write_files

        if self.world.read_only:
            self.notify("read-only mode: nothing written", severity="warning")
            return False
        try:
            outcome = check_one(self.result.project, finding, fix, self.result.config)
            texts = {p: c.after for p, c in outcome.changes.items()}
            if texts != preview.texts:
                raise FixFailed("the fix changed since its preview; preview it again (nothing written)")
            written = write_files(self.result.project, texts)
        except (FixFailed, WriteRefused, BattenError) as exc:
            self.notify(safe_text(str(exc)), title="not applied", severity="error", timeout=10)
            return False
        except OSError as exc:
            self.notify(f"cannot write: {exc.strerror or exc}", title="not applied", severity="error")
            return False
        self.last_write_paths = written
        fp = finding.fingerprint()
        self.rescan(quiet=True)
        gone = all(f.fingerprint() != fp for f in self.result.active())
        status = "gone" if gone else "still reported"
        self.notify(f"wrote {', '.join(written) or 'nothing'}: {finding.rule.id} on "
                    f"{safe_text(finding.target or finding.path or '')} is {status}. u undoes it.",
                    title=fix.title, timeout=8)
        if self.guided is not None:
            self.guided.record(finding, fix, written, preview.diff)
            if self.main.guided is not None:
                self.main.guided.refresh_view()
        return True

    def files_with_safe_fixes(self) -> list[str]:
        paths = {f.path for f in self.result.active()
                 if f.fix is not None and f.fix.applicability == Applicability.SAFE and f.path}
        return sorted(p for p in paths if p)

    def action_fix_file(self) -> None:
        finding = self.current_finding()
        scope = self.main.findings.table.scope
        path = scope.path or (finding.path if finding is not None else None)
        files = self.files_with_safe_fixes()
        if path not in files:
            path = files[0] if len(files) == 1 else path
        if not path or path not in files:
            self.notify("No safe fix here. Pick the file in the command palette (ctrl+p): "
                        + (", ".join(files) or "no file has a safe fix"), severity="warning")
            return
        self.fix_file(path)

    def fix_file(self, path: str) -> None:
        """Every safe fix of one file, as one combined diff, then one yes."""
        from batten.fixers.apply import fix_all, selector
        from batten.fixers.edits import unified_diff
        from batten.tui.screens.fix import FixScreen

        base = selector(unsafe=False, paths=[path])

        def pick(f: Finding) -> bool:
            return base(f) and f.fix is not None and f.fix.applicability == Applicability.SAFE

        try:
            outcome = fix_all(self.result.project, self.result.config, pick)
        except BattenError as exc:
            self.notify(safe_text(str(exc)), severity="error")
            return
        texts = {p: c.after for p, c in outcome.changes.items() if c.before != c.after}
        if not texts:
            self.notify(f"{path}: no safe fix to apply", severity="warning")
            return
        for _f, fx in outcome.applied:
            self._secrets.update(s for s in fx.secrets if s)
        befores = {p: outcome.changes[p].before for p in texts}
        diff = "".join(unified_diff(p, befores[p], texts[p]) for p in texts)
        preview = Preview(texts, befores, self.mask(diff, texts))
        lines = [f"{f.rule.id} on {safe_text(f.target or f.path or '')}: {fx.title}" for f, fx in outcome.applied]
        lines += [f"not applied: {f.rule.id} on {safe_text(f.target or '')}: {safe_text(msg)}"
                  for f, msg in outcome.failed]

        def confirm() -> bool:
            return self.write_texts(texts, f"{len(outcome.applied)} safe fix(es) in {path}")

        screen = FixScreen(
            title=f"All safe fixes of {path}",
            preview=preview,
            explanation="\n".join(lines),
            read_only=self.world.read_only,
            on_confirm=confirm,
        )
        self.push_screen(screen, callback=self._after_dialog)

    def write_texts(self, texts: dict[str, str], what: str) -> bool:
        from batten.fixers.write import WriteRefused, write_files

        if self.world.read_only:
            self.notify("read-only mode: nothing written", severity="warning")
            return False
        try:
            written = write_files(self.result.project, texts)
        except (WriteRefused, BattenError) as exc:
            self.notify(safe_text(str(exc)), title="not applied", severity="error", timeout=10)
            return False
        except OSError as exc:
            self.notify(f"cannot write: {exc.strerror or exc}", title="not applied", severity="error")
            return False
        self.last_write_paths = written
        self.rescan(quiet=True)
        self.notify(f"wrote {', '.join(written)}: {what}. u undoes it.", timeout=8)
        return True

    # ------------------------------------------------------------------ undo
    def action_undo(self) -> None:
        from batten.fixers.edits import unified_diff
        from batten.fixers.write import last_write, resolve_target
        from batten.tui.screens.fix import FixScreen

        if self.world.read_only:
            self.notify("read-only mode: undo is disabled", severity="warning")
            return
        try:
            entry = last_write(self.world.root)
        except BattenError as exc:
            self.notify(safe_text(str(exc)), title="undo unavailable", severity="error", timeout=10)
            return
        if not entry:
            self.notify("nothing to undo: no write recorded for this project", severity="warning")
            return
        diffs: list[str] = []
        paths: list[str] = []
        befores: dict[str, str] = {}
        for f in entry.get("files", []):
            rel = str(f.get("path"))
            paths.append(rel)
            try:
                with open(resolve_target(self.world.root, rel), encoding="utf-8", errors="surrogateescape") as fh:
                    now = fh.read()
            except (OSError, BattenError):
                now = ""
            try:
                before = base64.b64decode(f["before"]).decode("utf-8", "surrogateescape") if f.get("before") else ""
            except (binascii.Error, ValueError):
                before = ""
            befores[rel] = before
            diffs.append(unified_diff(rel, now, before))
        secrets = self.secrets_in(paths) | self._secrets_of_texts(befores)
        preview = Preview({}, befores, mask_values("".join(diffs), secrets))
        screen = FixScreen(
            title=f"Undo the write of {entry.get('time', '?')}",
            preview=preview,
            explanation="Restores the bytes these files had before batten's last write "
                        "(refused if they changed since).",
            read_only=False,
            on_confirm=self.undo,
            confirm_label="Undo",
        )
        self.push_screen(screen, callback=self._after_dialog)

    def _secrets_of_texts(self, texts: dict[str, str]) -> set[str]:
        """Secret values in texts that are not the current ones (undo shows the old bytes)."""
        from batten.checks.engine import run_checks
        from batten.sources.project import with_texts

        known = {p: t for p, t in texts.items() if self.result.project.file(p) is not None}
        if not known:
            return set()
        try:
            project = with_texts(self.result.project, known)
            found = run_checks(project, self.result.config)
        except Exception:
            return set()
        out: set[str] = set()
        for f in found:
            if f.path in known and f.secrets:
                out |= secret_values(known[f.path], f.secrets)
        self._secrets |= out
        return out

    def undo(self) -> bool:
        from batten.fixers.write import WriteRefused, undo_last

        try:
            restored = undo_last(self.world.root)
        except (WriteRefused, BattenError) as exc:
            self.notify(safe_text(str(exc)), title="undo refused", severity="error", timeout=10)
            return False
        except OSError as exc:
            self.notify(f"undo failed: {exc.strerror or exc}", severity="error")
            return False
        self.rescan(quiet=True)
        if self.guided is not None:
            self.guided.record_undo(restored)
            if self.main.guided is not None:
                self.main.guided.refresh_view()
        self.notify(f"restored {', '.join(restored)}", title="undone", timeout=6)
        return True

    # ------------------------------------------------------------------ guided
    async def action_guided(self) -> None:
        from batten.tui.screens.guided import GuidedSession

        self.guided = GuidedSession.start(self.result.active())
        await self.main.switch("guided")

    def action_export_report(self) -> None:
        from batten.tui.screens.export import ExportScreen

        if self.world.read_only:
            self.notify("read-only mode: the report is not written (nothing is)", severity="warning")
            return
        self.push_screen(ExportScreen(default="batten-report.md"), callback=self._export_to)

    def report_text(self) -> str:
        from batten.tui.screens.guided import GuidedSession, build_report

        session = self.guided or GuidedSession.start(self.result.active())
        text = build_report(session, self.result, self.engine_summary())
        return mask_values(text, self.secrets_in(f.path for f in self.result.findings if f.path))

    def _export_to(self, target: str | None) -> None:
        if not target:
            return
        from batten.fsio import WriteRefused, write_file

        path = target if os.path.isabs(target) else os.path.join(self.world.root, target)
        try:  # the one writer: no symlink followed, O_EXCL temp file, a relative path stays inside
            write_file(target, self.report_text().encode(), root=None if os.path.isabs(target) else self.world.root,
                       create_dirs=True)
        except WriteRefused as exc:
            self.notify(f"report not written: {safe_text(str(exc))}", severity="error")
            return
        self.notify(f"report written to {safe_text(path)}", title="exported", timeout=8)

    # ------------------------------------------------------------------ engine
    def engine_summary(self) -> str:
        snap = self.snapshot
        if not self.world.engine:
            return "engine: off (--no-engine)"
        if snap is None:
            return "engine: connecting…"
        if snap.error:
            return f"engine {snap.endpoint}: unreachable: {snap.error}"
        n = len(snap.containers)
        return f"engine {snap.endpoint}: {n} container{'s' if n != 1 else ''}"

    def _show_engine_state(self) -> None:
        if not self._alive():
            return
        if not self.world.engine:
            state, text = "off", "engine: off"
        elif self.snapshot is None:
            state, text = "connecting", "engine: connecting…"
        elif self.snapshot.error:
            state, text = "unreachable", f"{self.snapshot.endpoint} · unreachable (static findings still work)"
        else:
            n = len(self.snapshot.containers)
            state, text = "ok", f"{self.snapshot.endpoint} · {n} container{'s' if n != 1 else ''}"
        self.engine_state = state
        self.main.header.set_engine(state, text)
        self.refresh_containers()

    def refresh_containers(self) -> None:
        view = self.main.containers
        if view is not None:
            view.show_engine(self.snapshot, self.world.engine, self.engine_summary())
            view.set_snapshot(self.snapshot)

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False, name="engine snapshot")
    def poll_engine(self) -> None:
        """One snapshot of the engine, off the UI thread (the docker SDK is imported here)."""
        from batten.live_scan import LiveSnapshot, snapshot

        project = self.result.project
        try:
            if self._gateway is None and self.world.gateway_factory is not None:
                self._gateway = self.world.gateway_factory()
            snap = snapshot(self._gateway, project)
        except BattenError as exc:
            snap = LiveSnapshot(endpoint=self._endpoint_text(), error=str(exc))
        self.call_from_thread(self._on_snapshot, snap)

    def _endpoint_text(self) -> str:
        ep = getattr(self._gateway, "endpoint", None)
        return str(getattr(ep, "display", None) or ep or "engine")

    def _alive(self) -> bool:
        return bool(self.is_running and self.screen_stack and isinstance(self.screen_stack[0], MainScreen))

    def _on_snapshot(self, snap: Any) -> None:
        if not self._alive():
            return
        for c in snap.containers:
            for f in c.findings:
                f.severity = self.result.config.severity_for(f.rule.id, f.rule.severity)
        if snap.error and self.engine_state != "unreachable":
            self.notify(f"{safe_text(snap.error)}. Static findings still work; r retries.",
                        title="engine unreachable", severity="warning", timeout=8)
        self.snapshot = snap
        self._show_engine_state()
        if snap.error:
            self._poll_delay = min(max(self._poll_delay * 2, self.world.poll_interval), POLL_BACKOFF_MAX)
        else:
            self._poll_delay = self.world.poll_interval
        self._schedule_poll(self._poll_delay)

    def _schedule_poll(self, delay: float) -> None:
        """The next snapshot comes `delay` after this one finished: polls never pile up."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
        if delay <= 0:
            return
        self._poll_timer = self.set_timer(delay, self._poll_due, name="engine poll")

    def _poll_due(self) -> None:
        self._poll_timer = None
        if not self._alive():
            return
        if self.modal_open():
            self._schedule_poll(max(1.0, self._poll_delay / 2))  # never refresh under a dialog
            return
        self.poll_engine()

    @work(thread=True, exclusive=True, group="evidence", exit_on_error=False, name="live evidence")
    def load_evidence(self, container_id: str, screen: Any) -> None:
        from batten.live.evidence import gather_evidence

        if self._gateway is None:
            return
        try:
            values = gather_evidence(self._gateway, container_id).defaults()
        except BattenError as exc:
            self.call_from_thread(self.notify, f"live evidence unavailable: {exc}", severity="warning")
            return
        self.call_from_thread(screen.set_evidence, values)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed worker becomes a notification (never a crash)."""
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        text = " ".join(str(error).split()) or type(error).__name__
        self.notify(f"{worker.name or 'background task'} failed: {safe_text(text)}", severity="error",
                    timeout=10)
        if worker.group == "engine":
            from batten.live_scan import LiveSnapshot

            self._on_snapshot(LiveSnapshot(endpoint=self._endpoint_text(), error=text))



__all__ = ["BattenApp", "Preview", "World"]
