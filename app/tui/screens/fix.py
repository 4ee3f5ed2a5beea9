"""The fix dialog: the diff, a small form for `needs-input` fixes (defaults from config and
live evidence; the diff follows the values, each value checked beside its field), what may
break for unsafe fixes, and an explicit Apply. Also used for the combined diff of a file's
safe fixes and for undo.

What is written is what is on screen: the plan follows each field's current value (keys may
arrive in bursts), Apply re-checks that the diff shown was planned from the values shown, and
Apply stays disabled while the diff is not current, a value is invalid, or no changed line of
the diff is visible (small terminals: the diff gets the room, the form can be hidden)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from batten.model import Applicability, Finding, Fix
from batten.report import safe_text
from batten.session import NotApplied
from batten.tui import commands
from batten.widgets.diff_view import DiffView
from batten.widgets.fields import FieldInput

if TYPE_CHECKING:
    from batten.session import Preview, Session

SOURCE_LABEL = {"checklist": "checklist default", "config": "from config", "live": "from the running container",
                "evidence": "from the image", "user": "typed", "unused": "not written by this fix"}
SMALL_HEIGHT = 32  # below this many rows the dialog takes the whole screen and packs tighter


class FixScreen(ModalScreen[bool]):
    class TrialRequested(Message):
        """Try the planned fix on the engine (the App runs it in a worker: it has the gateway)."""

        def __init__(self, screen: FixScreen, finding: Finding, fix: Fix) -> None:
            super().__init__()
            self.screen, self.finding, self.fix = screen, finding, fix

    BINDINGS = [
        *commands.bindings("fix"),
        Binding("pagedown", "diff_page(1)", "diff down", show=False),
        Binding("pageup", "diff_page(-1)", "diff up", show=False),
        Binding("ctrl+o", "toggle_form", "hide/show the form", show=False),
    ]

    def __init__(
        self,
        session: Session,
        *,
        title: str,
        preview: Preview | None = None,
        explanation: str = "",
        on_confirm: Callable[[], bool] | None = None,
        confirm_label: str = "Apply",
        finding: Finding | None = None,
        fix: Fix | None = None,
        live_from: str | None = None,
        pending: str | None = None,
    ) -> None:
        super().__init__()
        self.pending = pending  # what is being computed before there is a diff (a batch), if anything
        self.session = session
        self.title_text = title
        self.preview = preview
        self.explanation = explanation
        self.read_only = session.read_only
        self.on_confirm = on_confirm
        self.confirm_label = confirm_label
        self.finding = finding
        self.fix = fix
        self.live_from = live_from
        self.user_values: dict[str, str] = {}  # fields the user typed in (name -> value)
        self.evidence: dict[str, str] = {}
        self.errors: dict[str, str] = {}  # field -> why its value cannot be used
        self.error: str | None = None  # why no preview
        self.planned: dict[str, str] | None = None  # the form values the preview was planned from
        self._shown: dict[str, str] = {}  # values the dialog itself put into fields
        self.trial_failed: dict[str, str] | None = None  # the form values whose trial failed

    @classmethod
    def for_finding(cls, session: Session, finding: Finding, *, live_from: str | None = None,
                    evidence: dict[str, str] | None = None, title: str | None = None,
                    fix: Fix | None = None) -> FixScreen:
        fix = fix or finding.fix  # `fix`: as the session proposes it (planned with the engine's facts)
        assert fix is not None
        screen = cls(session, title=title or fix.title, finding=finding, fix=fix, live_from=live_from)
        screen.evidence = dict(evidence or {})
        return screen

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Vertical(id="fix-dialog"):
            yield Static(self._title(), id="fix-title")
            with Vertical(id="fix-top"):
                yield Static(self._explanation(), id="fix-explanation")
                yield Static(self._evidence_text(), id="fix-evidence", classes="" if self.live_from else "-none")
                if self.fix is not None and self.fix.params:
                    with Vertical(id="fix-form"):
                        for p in self.fix.params:
                            value = str(self.fix.values.get(p.name, p.default))
                            self._shown[p.name] = value
                            with Horizontal(classes="fix-param"):
                                yield Label(p.name, classes="fix-param-name")
                                yield FieldInput(value=value, id=f"param-{p.name}", compact=True,
                                            select_on_focus=False, tooltip=p.description)
                                yield Label(self._param_note(p.source, p.description, p.risk),
                                            id=f"note-{p.name}", classes="fix-param-note")
                yield Static(self._defaults_text(), id="fix-defaults")
            with DiffScroll(id="fix-diff-scroll"):
                yield DiffView(id="fix-diff")
            yield Static("", id="fix-status")
            with Horizontal(id="fix-buttons"):
                yield Button(f"{self.confirm_label} (enter)", id="fix-confirm", variant="success", compact=True,
                             disabled=True)
                yield Button("Cancel (esc)", id="fix-cancel", compact=True)
                yield Static("", id="fix-keys")

    def _title(self) -> Content:
        if self.finding is None:
            return Content.styled(safe_text(self.title_text), "bold")
        f = self.finding
        kind = str(self.fix.applicability) if self.fix is not None else ""
        style = {"safe": "$text-success", "needs-input": "$text-warning"}.get(kind, "bold $text-error")
        return Content.assemble(
            (safe_text(self.title_text), "bold"),
            (f"  [{kind}]", style),
            (f"\n{f.rule.id} on {safe_text(f.target or f.path or '')}: {safe_text(f.message)}", "$text-muted"),
        )

    def _explanation(self) -> Content:
        if self.fix is None:
            return Content(safe_text(self.explanation))
        text = safe_text(self.fix.explanation.strip())
        if self.fix.applicability == Applicability.UNSAFE:
            risk = safe_text(self.fix.risk) if self.fix.risk else text
            return Content.assemble(("⚠ What may break: ", "bold $text-error"), (risk, "$text-error"),
                                    *(("\n", text) if self.fix.risk else ()))
        return Content(text)

    def _evidence_text(self) -> Content:
        if not self.live_from:
            return Content("")
        if not self.evidence:
            return Content.styled(f"Live evidence: reading the running container {self.live_from}…",
                                  "$text-muted")
        wanted = {p.name for p in self.fix.params} if self.fix is not None else set(self.evidence)
        shown = ", ".join(f"{k}={safe_text(v)}" for k, v in sorted(self.evidence.items()) if k in wanted)
        shown = shown or "nothing this fix takes"
        return Content.styled(f"Live evidence from {self.live_from}: {shown}", "$text-muted")

    @staticmethod
    def _param_note(source: str, description: str, risk: str = "") -> str:
        if source == "checklist" and risk:
            return f"default: confirm it · {description}"  # its risk is listed under the form
        return f"{SOURCE_LABEL.get(source, source)} · {description}"

    def _defaults_text(self) -> Content:
        """One line per checklist default that matters: what a wrong value breaks."""
        if self.fix is None:
            return Content("")
        rows = [(p.name, p.risk) for p in self.fix.params
                if p.source == "checklist" and p.risk and p.name not in self.user_values]
        if not rows:
            return Content("")
        return Content.assemble(*(part for name, risk in rows for part in (
            ("\n" if name != rows[0][0] else "", ""), (f"default {name}: ", "bold $text-warning"),
            (safe_text(risk), "$text-warning"))))

    def on_mount(self) -> None:
        self._fit()
        scroll = self.query_one("#fix-diff-scroll", VerticalScroll)
        self.watch(scroll, "scroll_y", lambda _y: self._update_confirm(), init=False)
        if self.pending is not None:
            self._show_preview()
            self._status(f"{self.pending} (esc cancels; nothing is written)", "$text-muted")
            self.set_focus(self.query_one("#fix-cancel", Button))
            return
        if self.finding is not None and self.fix is not None and (self.preview is None or self.evidence):
            self._replan()
        else:
            self._show_preview()
        # focus now, not after a refresh: keys already on their way must reach the field
        first_input = self.query(Input).first() if self.query(Input) else None
        if first_input is not None:
            self.set_focus(first_input)
        elif not self.read_only:
            self.set_focus(self.query_one("#fix-confirm", Button))
        else:
            self.set_focus(self.query_one("#fix-cancel", Button))

    def on_resize(self) -> None:
        self._fit()
        self.call_after_refresh(self._update_confirm)

    def _fit(self) -> None:
        self.set_class(self.app.size.height < SMALL_HEIGHT, "-small")
        keys = "tab: next · pgup/pgdn: diff"
        if self.query("#fix-form"):
            keys += " · ctrl+o: " + ("show" if self.has_class("-form-hidden") else "hide") + " form"
        self.query_one("#fix-keys", Static).update(Content.styled(keys, "$text-muted"))

    # ------------------------------------------------------------------ planning
    def values(self) -> dict[str, str]:
        """The values on screen, field by field."""
        return {inp.id.removeprefix("param-"): inp.value for inp in self.query(Input) if inp.id}

    def _typed(self) -> dict[str, str]:
        """The values the user typed (on screen now); the others follow the defaults."""
        on_screen = self.values()
        return {k: on_screen[k] for k in self.user_values if k in on_screen}

    def _replan(self) -> None:
        """Plan the fix again with the form's values (and live evidence) and show its diff."""
        finding = self.finding
        if finding is None:
            return
        typed = self._typed()
        self.user_values = dict(typed)
        self.error = None
        self.errors = self.session.check_values(finding, typed, self.evidence or None)
        self._show_errors()
        if self.errors:
            self.preview, self.planned = None, None
            loose = [f"{k}: {v}" if k else v for k, v in self.errors.items() if not self.query(f"#param-{k}")]
            self.error = "; ".join(loose) or "a value is not usable (see beside the field)"
            self._show_preview()
            return
        try:
            fix = self.session.plan(finding, typed or None, self.evidence or None)
            preview = self.session.preview(fix)
        except NotApplied as exc:
            self.preview, self.planned, self.error = None, None, str(exc)
            self._show_preview()
            return
        except Exception as exc:  # a fixer bug must not take the dialog down
            self.preview, self.planned = None, None
            self.error = " ".join(str(exc).split()) or type(exc).__name__
            self._show_preview()
            return
        self.fix, self.preview = fix, preview
        self._sync_defaults()
        self.planned = self.values()
        self._show_preview()

    def _sync_defaults(self) -> None:
        """Fields the user has not typed in follow the fix's values (config, live evidence)."""
        if self.fix is None:
            return
        for p in self.fix.params:
            found = self.query(f"#param-{p.name}")
            if not found:
                continue
            if p.name not in self.user_values:
                inp = found.first(Input)
                value = str(self.fix.values.get(p.name, p.default))
                if inp.value != value:
                    self._shown[p.name] = value
                    inp.value = value
            self.query_one(f"#note-{p.name}", Label).update(self._param_note(
                "user" if p.name in self.user_values else p.source, p.description, p.risk))
        self.query_one("#fix-defaults", Static).update(self._defaults_text())

    def _show_errors(self) -> None:
        """Each field's error beside it (in place of its note), or its note again."""
        params = {p.name: p for p in self.fix.params} if self.fix is not None else {}
        for inp in self.query(Input):
            name = (inp.id or "").removeprefix("param-")
            error = self.errors.get(name)
            inp.set_class(error is not None, "-error")
            notes = self.query(f"#note-{name}")
            if not notes:
                continue
            notes.first(Label).set_class(error is not None, "-error")
            if error is not None:
                notes.first(Label).update(Content.styled(f"✗ {safe_text(error)}", "$text-error"))
            elif name in params:
                p = params[name]
                notes.first(Label).update(self._param_note(
                    "user" if name in self.user_values else p.source, p.description, p.risk))

    def _show_preview(self) -> None:
        diff_view = self.query_one("#fix-diff", DiffView)
        if self.preview is None:
            diff_view.set_diff("", note="(verifying the fixes…)" if self.pending is not None else "(no preview)")
            if self.error:
                self._status(f"cannot preview: {safe_text(self.error)}", "bold $text-error")
            self._update_confirm()
            return
        diff_view.set_diff(self.preview.diff, note="The fix makes no change.")
        if self.read_only:
            self._status("read-only mode: this is a preview; nothing will be written", "$text-warning")
        else:
            self._status("Nothing is written until you press Apply (enter).", "$text-muted")
        self.call_after_refresh(self._scroll_to_change)

    def _scroll_to_change(self) -> None:
        """Bring the first added line into view, with the lines it replaces when there is room."""
        if not self.is_attached:
            return
        scroll = self.query_one("#fix-diff-scroll", VerticalScroll)
        diff = self.query_one("#fix-diff", DiffView).diff
        first, added = first_change(diff), first_change(diff, "+")
        if first is not None:
            height = max(1, scroll.scrollable_content_region.height)
            wanted = added if added is not None else first
            if not scroll.scroll_y <= wanted < scroll.scroll_y + height:
                top = max(0, first - 1)
                if wanted >= top + height:
                    top = wanted - height + 1
                scroll.scroll_to(y=top, animate=False, immediate=True)
        self._update_confirm()

    def _status(self, text: str, style: str) -> None:
        self.query_one("#fix-status", Static).update(Content.styled(text, style))

    def change_visible(self) -> bool:
        """Is an added line of the diff on screen now (a removed one, for a diff that only
        removes)?"""
        scroll = self.query_one("#fix-diff-scroll", VerticalScroll)
        diff = self.query_one("#fix-diff", DiffView).diff
        height = scroll.scrollable_content_region.height
        if not diff or height <= 0 or not scroll.display:
            return False
        kind = "+" if first_change(diff, "+") is not None else "-"
        top = round(scroll.scroll_y)
        return any(is_change(line, kind) for line in diff.splitlines()[top : top + height])

    def diff_current(self) -> bool:
        """The preview was planned from exactly the values on screen."""
        if self.preview is None or not self.preview.changes:
            return False
        return self.finding is None or self.planned == self.values()

    def _update_confirm(self) -> None:
        if not self.is_attached:
            return
        ok = not self.read_only and not self.errors and self.diff_current() and self.change_visible() \
            and not (self.trial_failed is not None and self.trial_failed == self.planned)
        self.query_one("#fix-confirm", Button).disabled = not ok

    # ------------------------------------------------------------------ a batch being computed
    def show_progress(self, text: str) -> None:
        """Where the computation of the batch is (from the App's worker)."""
        if self.is_attached and self.pending is not None:
            self._status(f"{text}  (esc cancels; nothing is written)", "$text-muted")

    def set_batch(self, preview: Preview, explanation: str, on_confirm: Callable[[], bool]) -> None:
        """The batch is computed and verified: its diff, and Apply once a change is visible."""
        if not self.is_attached:
            return
        self.pending = None
        self.preview, self.explanation, self.on_confirm = preview, explanation, on_confirm
        self.query_one("#fix-explanation", Static).update(self._explanation())
        self._show_preview()
        self.set_focus(self.query_one("#fix-confirm", Button) if not self.read_only
                       else self.query_one("#fix-cancel", Button))

    def batch_failed(self, reason: str) -> None:
        if not self.is_attached:
            return
        self.pending, self.error = None, reason
        self._show_preview()

    # ------------------------------------------------------------------ live evidence
    def set_evidence(self, values: dict[str, str]) -> None:
        """Live evidence arrived (from a worker): new defaults for untouched fields."""
        if not self.is_attached:
            return
        self.evidence = {k: v for k, v in values.items() if v}
        self.query_one("#fix-evidence", Static).update(self._evidence_text())
        self._replan()

    def evidence_failed(self, reason: str) -> None:
        if not self.is_attached:
            return
        self.query_one("#fix-evidence", Static).update(
            Content.styled(f"Live evidence unavailable: {safe_text(reason)} (checklist defaults)", "$text-warning"))

    # ------------------------------------------------------------------ events
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("param-")
        if not name:
            return
        value = event.input.value  # the field's value now, not the one this event was sent with
        if name not in self.user_values and value == self._shown.get(name):
            return  # the dialog put this default there itself
        self.user_values[name] = value
        self._replan()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "fix-confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_diff_page(self, direction: int) -> None:
        scroll = self.query_one("#fix-diff-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def action_toggle_form(self) -> None:
        if not self.query("#fix-form"):
            return
        self.toggle_class("-form-hidden")
        self._fit()
        if self.has_class("-form-hidden") and isinstance(self.focused, Input):
            self.query_one("#fix-cancel", Button).focus()
        self.call_after_refresh(self._update_confirm)

    def action_cancel(self) -> None:
        self.dismiss(False)

    # ------------------------------------------------------------------ trial run
    def action_trial(self) -> None:
        if self.finding is None or self.fix is None or not self.diff_current():
            self._status("Nothing planned to try yet.", "$text-warning")
            return
        from batten.trial import is_dockerfile_fix, not_tried_reason

        if is_dockerfile_fix(self.finding, self.fix):
            self._status(f"Trial not run: {safe_text(not_tried_reason(self.finding, self.fix))}", "$text-warning")
            return
        self._status("Trying the service on the engine, as fixed and as it is (throwaway containers)…",
                     "$text-muted")
        self.post_message(self.TrialRequested(self, self.finding, self.fix))

    def trial_done(self, trial: Any, error: str | None = None) -> None:
        """The trial's result (from the App's worker): a failure blocks Apply for these values."""
        if not self.is_attached:
            return
        if error is not None or trial is None:
            self._status(f"Trial not run: {safe_text(error or 'not a compose service fix')}", "$text-warning")
            return
        if trial.verdict is None:
            self._status(f"Trial not run: {safe_text(trial.reason)}", "$text-warning")
            return
        v = trial.verdict
        if v.passed is False:
            self.trial_failed = self.planned
            remedies = "; ".join(f"set {r.param}={trial.remedy_value(r)}" if r.param and r.value else r.why
                                 for r in v.remedies)
            self._status(f"Trial FAILED: {safe_text(v.reason)}. Not applied." +
                         (f" Remedy: {safe_text(remedies)}" if remedies else ""), "bold $text-error")
        elif v.passed is None:
            self._status(f"Trial {safe_text(v.reason)}", "$text-warning")
        else:
            self._status(f"Trial passed: {safe_text(v.reason)}", "$text-success")
        self._update_confirm()

    def action_confirm(self) -> None:
        if self.read_only:
            self.notify("read-only mode: nothing written", severity="warning")
            return
        if self.finding is not None and self.planned != self.values():
            self._replan()  # keys still arriving: plan from what is on screen, show it, wait
            return
        self._update_confirm()
        if self.query_one("#fix-confirm", Button).disabled or self.preview is None:
            if self.preview is not None and not self.change_visible():
                self._status("Scroll the diff (pgup/pgdn) to see what changes before applying.", "$text-warning")
            return
        if self.on_confirm is not None:
            ok = self.on_confirm()
        else:
            ok = self._apply()
        if ok:
            self.dismiss(True)
        # on failure the dialog stays open with its values; the error is a notification

    def _apply(self) -> bool:
        if self.finding is None or self.fix is None or self.preview is None:
            return False
        finding, fix = self.finding, self.fix
        try:
            applied = self.session.apply_fix(finding, fix, self.preview)
        except NotApplied as exc:
            self.notify(str(exc), title="not applied", severity="error", timeout=10)
            return False
        status = "gone" if applied.gone else "still reported"
        self.notify(f"wrote {', '.join(applied.paths) or 'nothing'}: {finding.rule.id} on "
                    f"{safe_text(finding.target or finding.path or '')} is {status}. u undoes it.",
                    title=fix.title, timeout=8)
        return True


def is_change(line: str, kind: str = "+-") -> bool:
    """An added (`+`) or removed (`-`) line of a unified diff, not a file header."""
    return line[:1] in kind and line[:1] != "" and not line.startswith(("+++", "---"))


def first_change(diff: str, kind: str = "+-") -> int | None:
    for i, line in enumerate(diff.splitlines()):
        if is_change(line, kind):
            return i
    return None


class DiffScroll(VerticalScroll, can_focus=False):
    """The diff's scroll area: scrolled with PageUp/PageDown from anywhere in the dialog, not a
    stop on the tab path between the fields and the buttons."""


__all__ = ["FixScreen", "first_change", "is_change"]
