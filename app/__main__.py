"""`python -m batten`: the same entry point as the `batten` command."""

from batten.cli import main

raise SystemExit(main())
