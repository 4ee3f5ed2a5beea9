#!/bin/sh
# Install what the tests need on a fresh Debian 12 machine (run as root), then run the whole
# suite: lint, import contracts and pytest (live-engine and SSH tests included).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup-test-engine.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
# strict editable mode: a tree of links under build/ that import-linter can walk (app/ is
# `batten`, widgets/ and fixers/ are `batten.widgets` and `batten.fixers`)
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' --config-settings editable_mode=strict
# wheels of batten's dependencies (and setuptools): the pre-commit hook test installs the hook's
# own environment from them, offline; fetched again only when pyproject.toml changes
if ! cmp -s pyproject.toml .venv/wheelhouse/pyproject.toml; then
    .venv/bin/python -m pip download -q --disable-pip-version-check -d .venv/wheelhouse 'setuptools>=77' .
    cp pyproject.toml .venv/wheelhouse/pyproject.toml
fi
.venv/bin/ruff check .
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
