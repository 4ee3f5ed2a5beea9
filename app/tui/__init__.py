"""The batten TUI (Textual). Only this package and `widgets` import textual.

Entry points: `batten.tui.factory.build_app` (the one factory used by the CLI, the tests and the
screenshot script) and `batten.tui.factory.run_app` (the CLI)."""
