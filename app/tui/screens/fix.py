"""The fix dialog: the diff, a small form for `needs-input` fixes (defaults from config and
live evidence; the diff follows the values), what may break for unsafe fixes, and an explicit
Apply. Also used for the combined diff of a file's safe fixes and for undo. Nothing is written
unless Apply is pressed (and never in read-only mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from batten.model import Applicability, Finding, Fix
from batten.report import safe_text
from batten.tui import commands
from batten.widgets.diff_view import DiffView

if TYPE_CHECKING:
    from batten.tui.app import BattenApp, Preview

SOURCE_LABEL = {"checklist": "checklist default", "config": "from config", "live": "from the running container"}


class FixScreen(ModalScreen[bool]):
    BINDINGS = commands.bindings("fix")

    def __init__(
        self,
        *,
        title: str,
        preview: Preview | None = None,
        explanation: str = "",
        read_only: bool = False,
        on_confirm: Callable[[], bool] | None = None,
        confirm_label: str = "Apply",
        finding: Finding | None = None,
        fix: Fix | None = None,
        live_from: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.preview = preview
        self.explanation = explanation
        self.read_only = read_only
        self.on_confirm = on_confirm
        self.confirm_label = confirm_label
        self.finding = finding
        self.fix = fix
        self.live_from = live_from
        self.user_values: dict[str, str] = {}
        self.evidence: dict[str, str] = {}
        self.error: str | None = None
        self._quiet = False  # set while inputs are filled programmatically

    @classmethod
    def for_finding(cls, finding: Finding, *, read_only: bool, live_from: str | None = None) -> FixScreen:
        fix = finding.fix
        assert fix is not None
        return cls(title=f"{fix.title}", finding=finding, fix=fix, read_only=read_only, live_from=live_from)

    @property
    def app_(self) -> BattenApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Vertical(id="fix-dialog"):
            yield Static(self._title(), id="fix-title")
            yield Static(self._explanation(), id="fix-explanation")
            if self.fix is not None and self.fix.params:
                with Vertical(id="fix-form"):
                    for p in self.fix.params:
                        value = self.fix.values.get(p.name, p.default)
                        with Horizontal(classes="fix-param"):
                            yield Label(p.name, classes="fix-param-name")
                            yield Input(value=str(value), id=f"param-{p.name}", compact=True,
                                        select_on_focus=False, tooltip=p.description)
                            yield Label(self._param_note(p.source, p.description), id=f"note-{p.name}",
                                        classes="fix-param-note")
            with VerticalScroll(id="fix-diff-scroll"):
                yield DiffView(id="fix-diff")
            yield Static("", id="fix-status")
            with Horizontal(id="fix-buttons"):
                yield Button(f"{self.confirm_label} (y)", id="fix-confirm", variant="success", compact=True,
                             disabled=self.read_only)
                yield Button("Cancel (esc)", id="fix-cancel", compact=True)

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
        parts: list[Content | str | tuple[str, str]] = []
        if self.fix.applicability == Applicability.UNSAFE:
            parts += [("⚠ This fix changes behaviour. What may break: ", "bold $text-error")]
        parts.append(safe_text(self.fix.explanation.strip()))
        if self.live_from:
            parts.append((f"\nLive evidence: defaults are read from the running container {self.live_from}…",
                          "$text-muted"))
        return Content.assemble(*parts)

    @staticmethod
    def _param_note(source: str, description: str) -> str:
        return f"{SOURCE_LABEL.get(source, source)} · {description}"

    def on_mount(self) -> None:
        if self.preview is None and self.fix is not None:
            self._replan()
        else:
            self._show_preview()
        if self.read_only:
            self._status("read-only mode: this is a preview; nothing will be written", "$text-warning")
        first_input = self.query(Input).first() if self.query(Input) else None
        if first_input is not None:
            first_input.focus()
        elif not self.read_only:
            self.query_one("#fix-confirm", Button).focus()
        else:
            self.query_one("#fix-cancel", Button).focus()

    # ------------------------------------------------------------------ planning
    def values(self) -> dict[str, str]:
        return {inp.id.removeprefix("param-"): inp.value for inp in self.query(Input) if inp.id}

    def _replan(self) -> None:
        """Plan the fix again with the form's values (and live evidence) and show its diff."""
        finding = self.finding
        if finding is None:
            return
        self.error = None
        try:
            fix = self.app_.plan(finding, dict(self.user_values) or None, self.evidence or None)
        except Exception as exc:
            fix, self.error = None, " ".join(str(exc).split()) or type(exc).__name__
        if fix is None:
            self.preview = None
            self.error = self.error or "no fix can be built with these values"
            self._show_preview()
            return
        self.fix = fix
        try:
            self.preview = self.app_.preview(fix)
        except Exception as exc:
            self.preview, self.error = None, " ".join(str(exc).split())
        self._sync_defaults()
        self._show_preview()

    def _sync_defaults(self) -> None:
        """Inputs the user has not touched follow the fix's values (config, live evidence)."""
        if self.fix is None:
            return
        self._quiet = True
        try:
            for p in self.fix.params:
                if p.name in self.user_values:
                    continue
                try:
                    inp = self.query_one(f"#param-{p.name}", Input)
                except Exception:
                    continue
                value = str(self.fix.values.get(p.name, p.default))
                if inp.value != value:
                    inp.value = value
                note = self.query_one(f"#note-{p.name}", Label)
                note.update(self._param_note(p.source, p.description))
        finally:
            self.call_after_refresh(self._unquiet)

    def _unquiet(self) -> None:
        self._quiet = False

    def _show_preview(self) -> None:
        diff_view = self.query_one("#fix-diff", DiffView)
        confirm = self.query_one("#fix-confirm", Button)
        if self.preview is None:
            diff_view.set_diff("", note="(no preview)")
            confirm.disabled = True
            if self.error:
                self._status(f"cannot preview: {safe_text(self.error)}", "bold $text-error")
            return
        diff_view.set_diff(self.preview.diff, note="The fix makes no change.")
        confirm.disabled = self.read_only or not self.preview.diff.strip()
        if not self.read_only:
            self._status("Nothing is written until you press Apply (y).", "$text-muted")

    def _status(self, text: str, style: str) -> None:
        self.query_one("#fix-status", Static).update(Content.styled(text, style))

    def set_evidence(self, values: dict[str, str]) -> None:
        """Live evidence arrived (from a worker): new defaults for untouched inputs."""
        if not self.is_attached:
            return
        self.evidence = {k: v for k, v in values.items() if v}
        self._replan()
        if self.live_from:
            self.query_one("#fix-explanation", Static).update(self._explanation_with_evidence())

    def _explanation_with_evidence(self) -> Content:
        base = self._explanation().plain.split("\nLive evidence")[0]
        shown = ", ".join(f"{k}={safe_text(v)}" for k, v in sorted(self.evidence.items()))
        parts: list[Content | str | tuple[str, str]] = []
        if self.fix is not None and self.fix.applicability == Applicability.UNSAFE:
            head = "⚠ This fix changes behaviour. What may break: "
            parts += [(head, "bold $text-error"), base.removeprefix(head)]
        else:
            parts.append(base)
        parts.append((f"\nLive evidence from {self.live_from}: {shown or 'nothing usable'}", "$text-muted"))
        return Content.assemble(*parts)

    # ------------------------------------------------------------------ events
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._quiet or not event.input.id:
            return
        self.user_values[event.input.id.removeprefix("param-")] = event.value
        self._replan()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#fix-confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "fix-confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        if self.read_only:
            self.app_.notify("read-only mode: nothing written", severity="warning")
            return
        if self.query_one("#fix-confirm", Button).disabled or self.preview is None:
            return
        ok = False
        if self.on_confirm is not None:
            ok = self.on_confirm()
        elif self.finding is not None and self.fix is not None:
            ok = self.app_.apply_fix(self.finding, self.fix, self.preview)
        if ok:
            self.dismiss(True)
        # on failure the dialog stays open with its values; the error is a notification


__all__ = ["FixScreen"]
