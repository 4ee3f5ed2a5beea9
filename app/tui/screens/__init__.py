"""Screens of the batten TUI: the main screen, the fix dialog, help, export."""
