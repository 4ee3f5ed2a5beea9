"""The batten TUI: one App that wires screens to the session it was given (`batten.session`:
scan result, fixes, undo, report, the engine's answers) and runs the engine calls in thread
workers. Screens and views render and ask; the session decides and writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from batten.model import BattenError, Finding
from batten.poller import POLL_INTERVAL, EnginePoller
from batten.report import safe_text
from batten.scan import ScanResult, model_frozen
from batten.session import NotApplied, Session
from batten.tui import commands
from batten.tui.keyhold import HoldsKeysForDialogs
from batten.tui.screens.main import MainScreen
from batten.tui.views import (
    EngineRequested,
    EvidenceWanted,
    ExportRequested,
    FixRequested,
    GuidedRequested,
    PortBackRequested,
    ViewRequested,
)


@dataclass
class World:
    """What the App works on, handed in by `batten.tui.factory.build_app`."""

    session: Session
    gateway: Any = None  # an EngineGateway (tests: ReplayGateway or a failing fake)
    gateway_factory: Callable[[], Any] | None = None  # makes the real gateway, in a worker
    guided: bool = False  # start with the guided walk
    poll_interval: float = POLL_INTERVAL
    theme: str | None = None


class BattenApp(HoldsKeysForDialogs):
    CSS_PATH = "app.tcss"
    TITLE = "batten"
    # ctrl+c quits too (Textual only says how to quit), outside a text field that copies with it
    BINDINGS = [*commands.bindings("app"), commands.palette_binding(), Binding("ctrl+c", "quit", show=False)]
    NOTIFICATION_TIMEOUT = 6

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.session = world.session
        self.poller = EnginePoller(self.session, gateway=world.gateway, gateway_factory=world.gateway_factory,
                                   interval=world.poll_interval)
        self._poll_timer: Any = None
        keymap, unknown = commands.split_keymap(self.session.config.keys)
        self._keymap_wanted = keymap
        self._keymap_unknown = unknown
        if world.theme:
            self.theme = world.theme

    # ------------------------------------------------------------------ setup
    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.session, self._keymap_wanted)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else None
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick, name="retry countdown")
        if self._keymap_wanted:
            self.set_keymap(self._keymap_wanted)
        if self._keymap_unknown:
            self.notify(
                "unknown key binding id(s) in config: " + ", ".join(sorted(self._keymap_unknown))
                + f" (known: {', '.join(commands.BY_ID)})",
                severity="warning",
            )
        message = self.session.interrupted_write()
        if message is not None:
            self.notify(message, title="interrupted write", severity="warning", timeout=30)

    def on_main_screen_ready(self, _event: MainScreen.Ready) -> None:
        """The main screen is up: show the engine state, then reach for the engine (in a worker)."""
        self._show_engine_state()
        if self.world.guided:
            self.call_later(self.action_guided)
        if self._has_engine():
            # after the first frame: the docker SDK import in the worker must not delay it
            self.call_after_refresh(self.poll_engine)

    def on_main_screen_resumed(self, _event: MainScreen.Resumed) -> None:
        """A dialog closed: a poll put off while it was up runs now."""
        if self._alive() and self.poller.due_after_pause() and not self.modal_open():
            self._schedule_poll(0)
            self.poll_engine()

    def _has_engine(self) -> bool:
        return self.poller.enabled

    def on_unmount(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self.workers.cancel_group(self, "images")
        self.workers.cancel_group(self, "batch")
        self.poller.close()  # every engine call in flight ends: quitting never waits for one

    # ------------------------------------------------------------------ keys / palette
    def modal_open(self) -> bool:
        return len(self.screen_stack) > 1 or isinstance(self.screen, ModalScreen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and isinstance(self.focused, Input):
            return False  # `/` typed into a field is a slash
        # while a dialog (fix, help, palette...) is up, only it answers keys: nothing writes or
        # opens a second dialog behind it
        return not (self.modal_open() and action not in {"quit", "command_palette", "focus_next", "focus_previous"})

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        main_only = not isinstance(screen, MainScreen)
        ours: set[str] = set()
        for c in commands.COMMANDS:
            if not c.palette or c.id == "fix_file" or main_only:
                continue
            keys = commands.display_keys(c, self._keymap_wanted)
            help_text = c.help + (f"  (key: {keys})" if keys else "")
            ours.add(c.title)
            yield SystemCommand(c.title, escape(help_text), self._runner(c))
        if not main_only:
            for path in self.session.files_with_safe_fixes():
                yield SystemCommand(
                    f"Apply all safe fixes of {safe_text(path)}…",
                    "One combined diff, then apply after your yes",
                    lambda p=path: self.fix_file(p),
                )
        # Textual's own (theme, keys...), less those batten already lists (quit): each once
        yield from (c for c in super().get_system_commands(screen) if c.title not in ours)

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
        else:
            await self.main.run_scoped(c)

    def action_help(self) -> None:
        from batten.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self._keymap_wanted))

    async def action_view(self, name: str) -> None:
        await self.main.switch(name)

    async def on_view_requested(self, event: ViewRequested) -> None:
        await self.main.switch(event.name)
        if event.service is not None and event.name == "findings":
            self.main.findings.show_service(event.service, event.path)

    async def action_filter(self) -> None:
        view = self.main.current
        if view is not None and view.open_filter():
            return
        await self.main.switch("findings")
        self.main.findings.open_filter()

    def action_details(self) -> None:
        self.main.open_details()

    async def action_detail_tab(self, name: str) -> None:
        await self.main.switch("findings")
        if self.main.findings.has_detail:
            self.main.findings.detail.show_tab(name)

    # ------------------------------------------------------------------ scanning
    def action_rescan(self) -> None:
        """Scan again in a worker (a large tree takes most of a second), the screen live meanwhile;
        the result is shown when it is complete, and a newer `r` supersedes an older one."""
        self.run_worker(self._rescan_worker, group="rescan", exclusive=True, thread=True,
                        exit_on_error=False)

    def _rescan_worker(self) -> None:
        worker = get_current_worker()
        try:
            scanned = self.session.read_again()
        except BattenError as exc:
            if not worker.is_cancelled:
                self.call_from_thread(self.notify, f"rescan failed: {safe_text(str(exc))}", severity="error")
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._rescanned, scanned)

    def _rescanned(self, scanned: ScanResult) -> None:
        self._show_rescan(self.session.adopt(scanned))
        if self._has_engine():
            self.poll_engine()

    def rescan(self) -> bool:
        try:
            result = self.session.rescan()
        except BattenError as exc:
            self.notify(f"rescan failed: {safe_text(str(exc))}", severity="error")
            return False
        self._show_rescan(result)
        return True

    def _show_rescan(self, result: ScanResult) -> None:
        self.main.refresh_views()
        self.replan_fixes()
        self.notify(f"rescanned: {len(result.project.files)} file(s), {len(result.active())} finding(s)",
                    timeout=3)

    # ------------------------------------------------------------------ fixes
    def action_fix(self) -> None:
        finding = self.main.current_finding()
        if finding is None:
            self.notify("Select a finding first (views 1 or 3).", severity="warning")
            return
        self.open_fix(finding)

    def on_fix_requested(self, event: FixRequested) -> None:
        self.open_fix(event.finding)

    def open_fix(self, finding: Finding) -> None:
        from batten.tui.screens.fix import FixScreen

        fix = self.session.proposal(finding)  # planned as `fix --live` plans it, with the engine's facts
        if fix is None:
            hint = safe_text(finding.rule.remedy) if finding.rule.remedy else "fix it by hand"
            self.notify(f"No automatic fix for {finding.rule.id}: {hint}", severity="warning", timeout=8)
            return
        container = self.session.container_for(finding)
        wants_evidence = container is not None and bool(fix.params) and self.poller.gateway is not None
        screen = FixScreen.for_finding(self.session, finding, fix=fix,
                                       live_from=container.name if container and wants_evidence else None,
                                       evidence=self.session.evidence_for(finding))
        self.push_screen(screen, callback=self._after_dialog)
        if container is not None and wants_evidence:
            self.load_evidence(container.id, screen)

    def on_fix_screen_trial_requested(self, event: Any) -> None:
        self.run_trial(event.screen, event.finding, event.fix)

    @work(thread=True, exclusive=True, group="trial", exit_on_error=False, name="trial run")
    def run_trial(self, screen: Any, finding: Finding, fix: Any) -> None:
        """The dialog's trial run (batten.trial): the only engine writes, batten's own containers."""
        from batten.trial import is_dockerfile_fix, not_tried_reason, trial_fix

        if fix is not None and is_dockerfile_fix(finding, fix):  # said with or without an engine
            self.call_from_thread(screen.trial_done, None, not_tried_reason(finding, fix))
            return
        try:
            gateway = self.poller.ensure_gateway() if self.session.engine else None
            if gateway is None:
                self.call_from_thread(screen.trial_done, None, "no engine (batten was started without one)")
                return
            trial = trial_fix(self.session.result.project, finding, fix, gateway)
        except BattenError as exc:
            self.call_from_thread(screen.trial_done, None, str(exc))
            return
        self.call_from_thread(screen.trial_done, trial, None if trial is not None else not_tried_reason(finding, fix))

    def on_evidence_wanted(self, event: EvidenceWanted) -> None:
        container = self.session.container_for(event.finding)
        if container is not None and self.poller.gateway is not None and container.id not in self.session.evidence:
            self.load_evidence(container.id, None)

    def on_port_back_requested(self, event: PortBackRequested) -> None:
        from batten.tui.screens.fix import FixScreen

        try:
            finding, values = self.session.port_back(event.container, event.item)
        except NotApplied as exc:
            self.notify(str(exc), title="no port-back fix", severity="warning", timeout=8)
            return
        screen = FixScreen.for_finding(self.session, finding, live_from=event.container.name, evidence=values,
                                       title=f"Port the running {event.item.field} back to the file")
        self.push_screen(screen, callback=self._after_dialog)

    def on_engine_requested(self, _event: EngineRequested) -> None:
        if self._has_engine():
            self.poll_engine()

    def _after_dialog(self, written: bool | None) -> None:
        if written:
            self.main.refresh_views()
            self.main.refocus()
            self.replan_fixes()  # the fixes shown, planned again with the engine's facts for the new text

    def action_fix_file(self) -> None:
        finding = self.main.current_finding()
        scope = self.main.findings.table.scope
        path = scope.path or (finding.path if finding is not None else None)
        files = self.session.files_with_safe_fixes()
        if path not in files:
            path = files[0] if len(files) == 1 else path
        if not path or path not in files:
            self.notify("No safe fix here. Pick the file in the command palette (ctrl+p): "
                        + (", ".join(files) or "no file has a safe fix"), severity="warning")
            return
        self.fix_file(path)

    def action_fix_all(self) -> None:
        self.fix_file(None)

    def fix_file(self, path: str | None) -> None:
        """Every safe fix of one file (or of the project: None), as one combined diff, then one
        yes. Planned and verified in a worker while the dialog shows the progress; esc cancels
        it (nothing is written before Apply)."""
        from batten.tui.screens.fix import FixScreen

        what = safe_text(path) if path is not None else "the project"
        screen = FixScreen(self.session, title=f"All safe fixes of {what}",
                           pending=f"Planning and verifying every safe fix of {what}…")
        self.push_screen(screen, callback=self._after_batch)
        self._plan_batch(path, screen)

    @work(thread=True, exclusive=True, group="batch", exit_on_error=False, name="safe fixes")
    def _plan_batch(self, path: str | None, screen: Any) -> None:
        from batten.fixers.apply import FixCancelled

        worker = get_current_worker()

        def progress(p: Any) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(screen.show_progress, progress_text(p))

        # what exists now (the app, the project's model) is not scanned by the collector while
        # the run allocates: a full collection of it froze the screen for 0.1-0.3 s at a time
        try:
            with model_frozen():
                batch = self.session.safe_fixes_of(path, progress=progress, cancel=lambda: worker.is_cancelled)
        except FixCancelled:
            return
        except NotApplied as exc:
            if not worker.is_cancelled:
                self.call_from_thread(screen.batch_failed, str(exc))
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._batch_ready, screen, batch)

    def _batch_ready(self, screen: Any, batch: Any) -> None:
        what = batch.path or "the project"

        def confirm() -> bool:
            return self._write(lambda: self.session.write_texts(batch.preview.texts),
                               f"{batch.count} safe fix(es) in {safe_text(what)}")

        screen.set_batch(batch.preview, batch.summary(), confirm)

    def _after_batch(self, written: bool | None) -> None:
        self.workers.cancel_group(self, "batch")  # closed while verifying: stop, write nothing
        self._after_dialog(written)

    def _write(self, write: Callable[[], list[str]], what: str) -> bool:
        try:
            written = write()
        except NotApplied as exc:
            self.notify(str(exc), title="not applied", severity="error", timeout=10)
            return False
        files = ", ".join(written) if len(written) <= 3 else f"{len(written)} files ({', '.join(written[:3])}, …)"
        self.notify(f"wrote {files}: {what}. u undoes it.", timeout=8)
        return True

    # ------------------------------------------------------------------ undo
    def action_undo(self) -> None:
        from batten.tui.screens.fix import FixScreen

        try:
            plan = self.session.undo_plan()
        except NotApplied as exc:
            self.notify(str(exc), title="nothing to undo", severity="warning", timeout=8)
            return
        screen = FixScreen(
            self.session,
            title=f"Undo the write of {plan.time}",
            preview=plan.preview,
            explanation="Restores the bytes these files had before batten's last write.",
            on_confirm=self.undo,
            confirm_label="Undo",
        )
        self.push_screen(screen, callback=self._after_dialog)

    def undo(self) -> bool:
        try:
            restored = self.session.undo()
        except NotApplied as exc:
            self.notify(str(exc), title="undo refused", severity="error", timeout=10)
            return False
        self.notify(f"restored {', '.join(restored)}", title="undone", timeout=6)
        return True

    # ------------------------------------------------------------------ guided, report
    async def action_guided(self) -> None:
        self.session.start_guided()
        await self.main.switch("guided")
        self.main.refresh_views()
        self.main.refocus()

    async def on_guided_requested(self, _event: GuidedRequested) -> None:
        await self.action_guided()

    def action_export_report(self) -> None:
        from batten.tui.screens.export import ExportScreen

        if self.session.read_only:
            self.notify("read-only mode: the report is not written (nothing is)", severity="warning")
            return
        self.push_screen(ExportScreen(default="batten-report.md"), callback=self._export_to)

    def on_export_requested(self, _event: ExportRequested) -> None:
        self.action_export_report()

    def _export_to(self, target: str | None) -> None:
        if not target:
            return
        try:
            path = self.session.export_report(target)
        except NotApplied as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"report written to {safe_text(path)}", title="exported", timeout=8)

    # ------------------------------------------------------------------ engine
    def _show_engine_state(self) -> None:
        """The header's engine part and the containers view: the state, a stale list's age and
        the seconds to the next attempt (ticked every second while the engine is away)."""
        from batten.session import format_age

        if not self._alive():
            return
        s = self.session
        state = s.engine_state
        snap = s.snapshot
        retry = self.retry_in()
        endpoint = snap.endpoint if snap is not None else ""
        if state == "off":
            status = "engine: off"
        elif state == "connecting" or snap is None:
            status = "engine: connecting…"
        elif state == "unreachable":
            age = s.live_age()
            status = "unreachable" + (f" · stale {format_age(age)}" if age is not None else "") + (
                f" · retry {round(retry)}s" if retry is not None else "")
        else:
            n = len(snap.containers)
            status = f"{n} container{'s' if n != 1 else ''}" + s.images_note()
        self.main.header.set_engine(state, status, endpoint)
        containers = self.main.containers
        if containers is not None:
            containers.retry_in = retry if state == "unreachable" else None
            containers.refresh_view()

    def retry_in(self) -> float | None:
        """Seconds until the engine is asked again (None: no attempt scheduled)."""
        return self.poller.retry_in() if self._poll_timer is not None else None

    def _tick(self) -> None:
        if self._alive() and self.session.engine_state == "unreachable":
            self._show_engine_state()

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False, name="engine snapshot")
    def poll_engine(self) -> None:
        """The containers and the project's images, off the UI thread (the docker SDK is
        imported here), with the static findings refined as `scan --live` refines them; image
        filesystems are read after, by `read_images`."""
        snap = self.poller.fetch()
        self.call_from_thread(self._on_snapshot, snap)

    def _alive(self) -> bool:
        return bool(self.is_running and self.screen_stack and isinstance(self.screen_stack[0], MainScreen))

    def _on_snapshot(self, snap: Any) -> None:
        if not self._alive():
            return
        shown = self.session.result
        message = self.poller.accept(snap)
        if self.session.result is not shown:  # the engine corrected a static finding
            self.main.refresh_views()
        if message is not None:
            self.notify(safe_text(message), title="engine unreachable", severity="warning", timeout=8)
        self._schedule_poll(self.poller.delay)
        if not snap.error and not self._reading_images():
            self.read_images()
        self._show_engine_state()

    def _schedule_poll(self, delay: float) -> None:
        """The next snapshot comes `delay` after this one finished: polls never pile up."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.poller.schedule(delay)
        if delay > 0:
            self._poll_timer = self.set_timer(delay, self._poll_due, name="engine poll")

    def _poll_due(self) -> None:
        self._poll_timer = None
        if not self._alive():
            return
        if self.modal_open():
            self._schedule_poll(self.poller.delay_when_paused())  # never refresh under a dialog
            return
        self.poll_engine()

    def _reading_images(self) -> bool:
        return any(w.group == "images" and not w.is_finished for w in self.workers)

    def read_images(self) -> None:
        images = self.poller.begin_images()
        if images:
            self._read_images(images)

    @work(thread=True, group="images", exit_on_error=False, name="image filesystems")
    def _read_images(self, images: list[Any]) -> None:
        """Each image's filesystem, one at a time, merged into the list as it arrives; stops
        between images when cancelled (quitting closes the gateway: a read in flight ends)."""
        worker = get_current_worker()
        for image_id, got, final in self.poller.read_images(images, lambda: worker.is_cancelled):
            if worker.is_cancelled:
                return
            refined = self.poller.refined_with(image_id, got)  # here, not on the UI thread
            self.call_from_thread(self._on_image, image_id, got, final, refined)
        self.call_from_thread(self._images_done)

    def _on_image(self, image_id: str, got: Any, final: bool, refined: Any = None) -> None:
        if not self._alive():
            return
        shown = self.session.result
        self.poller.accept_image(image_id, got, keep=final, refined=refined)
        if self.session.result is not shown:  # what the image holds corrected a static finding
            self.main.refresh_views()
        self._show_engine_state()  # the header and the containers view (the list changed in place)

    def _images_done(self) -> None:
        self.poller.end_images()
        if self._alive():
            self._show_engine_state()

    @work(thread=True, exclusive=True, group="evidence", exit_on_error=False, name="live evidence")
    def load_evidence(self, container_id: str, screen: Any) -> None:
        """Fix defaults from a running container (read-only calls), for the dialog `screen`
        and kept in the session (the guided step proposes what the dialog will)."""
        from batten.live.evidence import gather_evidence

        gateway = self.poller.gateway
        if gateway is None:
            return
        try:
            values = gather_evidence(gateway, container_id).defaults()
        except BattenError as exc:
            if screen is not None:
                self.call_from_thread(screen.evidence_failed, str(exc))
            return
        self.call_from_thread(self._on_evidence, container_id, values, screen)

    def _on_evidence(self, container_id: str, values: dict[str, str], screen: Any) -> None:
        if not self._alive():
            return
        self.session.evidence[container_id] = {k: v for k, v in values.items() if v}
        self.replan_fixes()  # the fixes shown are planned with it too
        if screen is not None:
            screen.set_evidence(values)
        guided = self.main.guided
        if guided is not None:
            guided.refresh_view()

    def replan_fixes(self) -> None:
        """Plan the fixes shown again with the engine's facts held (no engine call), off the UI
        thread: the findings view shows the fix the dialog plans."""
        if self.session.project_images is not None:
            self._replan()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False, name="fix planning")
    def _replan(self) -> None:
        refined = self.poller.replanned()
        if refined is not None:
            self.call_from_thread(self._on_replanned, refined)

    def _on_replanned(self, refined: Any) -> None:
        if self._alive() and self.session.take_refined(refined):
            self.main.refresh_views()

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
            self._on_snapshot(self.poller.failed(text))
        elif worker.group == "images":
            self._images_done()


def progress_text(p: Any) -> str:
    """One line for `fix_all`'s progress (batten.fixers.apply.Progress)."""
    if p.phase == "check":
        return f"Checking {p.files} file(s)…"
    eta = p.eta
    left = f" · ~{eta:.0f}s left" if eta is not None and eta >= 1 else ""
    failed = f", {p.failed} failed" if p.failed else ""
    return (f"Round {p.round}: {p.verified} fix(es) verified{failed}, {p.pending} pending · "
            f"{p.touched} of {p.files} file(s) changed{left}")


__all__ = ["BattenApp", "World", "progress_text"]
