"""A text field that keeps the order of keys that arrive in a burst (a paste, tmux send-keys,
a slow SSH link delivering many keys at once).

Textual hands a key to the focused widget, which inserts printable characters at once, while a
key it does not insert (ctrl+u, backspace, home, tab...) bubbles up to the App to find its
binding, by which time the characters queued after it have already been inserted: a burst
"ctrl+u 7 6 8 M" ends as an empty field. This field runs its own bindings as the key comes,
moves the focus itself on tab / shift+tab, and passes keys that were queued for it after the
focus moved on to the widget that has the focus now."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class FieldInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        screen = self.screen
        focused = screen.focused
        if focused is not None and focused is not self:
            # queued for this field before the focus moved: the key belongs to the new focus
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                screen.focus_next()
            else:
                screen.focus_previous()
            return
        bindings = [b for b in self._bindings.key_to_bindings.get(event.key, ()) if not b.priority]
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        await super()._on_key(event)


__all__ = ["FieldInput"]
