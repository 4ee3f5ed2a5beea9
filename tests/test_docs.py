"""The docs stay true: the README's two commands, .ci/run, the generated rule table, versions."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from batten import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/batten examples/demo" in readme
    assert "./scripts/test.sh" in readme
    assert "exec ./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_readme_screenshots_exist():
    readme = (ROOT / "README.md").read_text()
    names = sorted(p.stem for p in (ROOT / "screenshots").glob("*.svg"))
    assert {"findings", "containers", "drift", "fix-live-defaults", "guided-step", "small-80x24"} <= set(names)
    for name in names:  # every screenshot is shown
        assert f"screenshots/{name}.svg" in readme
        assert (ROOT / "screenshots" / f"{name}.svg").stat().st_size > 1000


def test_rules_doc_is_current():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rules_doc.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_versions_agree():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["version"] == __version__


def test_screenshots_are_current(tmp_path):
    """screenshots/ equals what scripts/screenshots.py renders from the demo project now."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    fresh = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert fresh == sorted(p.name for p in (ROOT / "screenshots").glob("*.svg"))
    stale = [n for n in fresh if (tmp_path / n).read_bytes() != (ROOT / "screenshots" / n).read_bytes()]
    assert stale == [], f"run .venv/bin/python scripts/screenshots.py to refresh: {stale}"


def test_readme_counts_the_rules():
    import re

    from batten.checks.catalogue import all_rules

    readme = (ROOT / "README.md").read_text()
    m = re.search(r"batten checks \*\*(\d+) rules\*\*", readme)
    assert m is not None and int(m.group(1)) == len(all_rules())
