"""The batten TUI (Textual). Only this package and `widgets` import textual.

Entry points: `app.tui.factory.build_app` (the one factory used by the CLI, the tests and the
screenshot script) and `app.tui.factory.run_app` (the CLI)."""
