"""Keys typed right after a key that opens a dialog belong to the dialog.

Over SSH keys arrive in bursts: `f 768M enter` reaches the App at once. Textual hands each key
to the widget focused when the App reads it, and a key binding runs only when the key has
bubbled back up to the App, by which time the rest of the burst has gone to the table under
the dialog (where `enter`, digits and letters are actions of their own). So when a key would
run a command that opens a dialog (`Command.dialog`), the keys after it are held until the
dialog is mounted and has set its focus, then handed to it in order. If no dialog opens (no
finding selected, nothing to undo), they are let go after `HOLD_MAX` seconds, in order, to
where they were going."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App
from textual.widgets import Input

from batten.tui import commands

HOLD_MAX = 0.3  # seconds keys wait for a dialog that does not come

DIALOG_IDS = frozenset(c.id for c in commands.COMMANDS if c.dialog)


class HoldsKeysForDialogs(App[int]):
    """The App half of the hold: `on_event` holds, `push_screen` releases after the mount."""

    _held: list[events.Key] | None = None
    _hold_pushed = False
    _hold_timer: Any = None

    def opens_dialog(self, key: str) -> bool:
        """Would this key, read now, run a command that opens a dialog?"""
        if len(self.screen_stack) > 1 or isinstance(self.focused, Input):
            return False  # a dialog is up already, or the key is text for a field
        active = self.screen.active_bindings.get(key)
        return active is not None and active.enabled and active.binding.id in DIALOG_IDS

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held is not None:
                self._held.append(event)
                return
            if self.opens_dialog(event.key):
                self._held, self._hold_pushed = [], False
                self._hold_timer = self.set_timer(HOLD_MAX, self._hold_expired, name="key hold")
        await super().on_event(event)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(screen, *args, **kwargs)
        if self._held is not None and not self._hold_pushed:
            self._hold_pushed = True
            # the callback runs in the dialog's own queue, after its mount (and focus)
            self.screen.call_later(self.call_later, self._release_held)
        return result

    def _hold_expired(self) -> None:
        if self._held is not None and not self._hold_pushed:
            self.call_later(self._release_held)

    async def _release_held(self) -> None:
        held, self._held = self._held, None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        for event in held or ():
            await self.on_event(event)  # in order; one of them may start a hold of its own


__all__ = ["HOLD_MAX", "HoldsKeysForDialogs"]
