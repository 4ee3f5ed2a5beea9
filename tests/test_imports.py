"""Import hygiene: the scan path imports neither textual nor docker, and nothing outside the TUI
imports textual. Checked two ways: the real module graph of a scan in a fresh interpreter, and
the import-linter contracts of pyproject.toml."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scan_and_fix_preview_import_neither_textual_nor_docker():
    code = (
        "import sys\n"
        "from batten.cli import main\n"
        f"main(['scan', {str(ROOT / 'examples' / 'demo')!r}, '--format', 'json', '--output', '/dev/null'])\n"
        "from batten.scan import scan\n"
        "from batten.fixers.apply import fix_all, selector\n"
        f"r = scan([{str(ROOT / 'examples' / 'demo')!r}])\n"
        "fix_all(r.project, r.config, selector(None, unsafe=True))\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'docker', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_textual_outside_the_tui():
    offenders = []
    for pkg in ("app", "fixers"):
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("app", "tui"):
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n.split(".")[0] == "textual" for n in names):
                    offenders.append(str(rel))
    assert offenders == []


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra"
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
