"""CONTRIBUTING.md stays true: its four paths exist as written, every file, test and name it
points at is there."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "CONTRIBUTING.md").read_text()


def test_the_four_sections():
    heads = re.findall(r"^## (.+)$", TEXT, re.M)
    assert heads == ["Adding a rule", "Adding a fixer", "Adding an output format", "Adding a view"]


def test_every_path_named_exists():
    named = set(re.findall(r"`((?:app|fixers|widgets|tests|scripts|docs)/[\w./<>*-]+)`", TEXT))
    assert len(named) > 15
    for path in sorted(named):
        if "<" in path or "*" in path:
            assert (ROOT / path.split("<")[0].split("*")[0]).parent.is_dir(), path
            continue
        file, _, test = path.partition("::")
        assert (ROOT / file).exists(), path
        if test:
            assert f"def {test}(" in (ROOT / file).read_text(), path


def test_every_name_named_exists():
    from batten.report import FORMATS, ReportContext

    assert {"to_github", "to_gitlab", "to_junit"} <= set(dir(import_module("batten.report")))
    assert FORMATS and ReportContext
    views = import_module("batten.tui.views")
    for name in ("VIEWS", "ViewSpec", "View", "FixRequested", "GuidedRequested", "ExportRequested",
                 "ViewRequested"):
        assert hasattr(views, name), name
        assert f"`{name}" in TEXT
    for proto in ("refresh_view", "focus_main", "open_details", "current_finding"):
        assert hasattr(views.View, proto) and f"`{proto}(" in TEXT
    assert hasattr(import_module("batten.session"), "Session")
    assert hasattr(import_module("batten.fixers.registry"), "NoFix")
    assert hasattr(import_module("batten.fixers.plan"), "FIX_BY_KIND")
    assert hasattr(import_module("batten.config"), "FIX_DEFAULTS")
