"""The package installs as one `batten` namespace: app/ is `batten`, widgets/ and fixers/ are
`batten.widgets` and `batten.fixers`; no generic top-level names such as `app` are claimed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"app": "batten", "widgets": "batten.widgets", "fixers": "batten.fixers"}


def _package_folders() -> set[str]:
    names = set()
    for folder, name in ROOTS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            names.add(".".join([name, *rel.parts]))
    return names


def test_every_package_folder_is_listed():
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["package-dir"] == {"batten": "app", **{v: k for k, v in ROOTS.items() if k != "app"}}
    assert set(conf["packages"]) == _package_folders()


def test_python_m_batten_and_no_generic_names(tmp_path):
    run = subprocess.run([sys.executable, "-m", "batten", "--version"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("batten "), run.stderr
    for generic in ("app", "widgets", "fixers"):
        probe = subprocess.run([sys.executable, "-c", f"import {generic}"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, generic
    ok = subprocess.run([sys.executable, "-c", "import batten.widgets.text, batten.fixers.plan, batten.tui.app"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
