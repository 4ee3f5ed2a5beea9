"""scripts/add_rule.py scaffolds a rule a newcomer can finish: in a copy of the repository it
writes a catalogue entry, a registered check and a test; the code is ruff-clean, the docs are
regenerated, and the new tests fail only because the check does not fire yet."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("kind", "rule_id", "area"), [("dockerfile", "user.shell-login", "user"),
                                                         ("compose", "health.interval-long", "health")])
def test_add_rule_scaffolds_a_rule_with_its_test(tmp_path, kind, rule_id, area):
    repo = tmp_path / "repo"
    for name in ("app", "widgets", "fixers", "tests", "scripts", "docs"):
        shutil.copytree(ROOT / name, repo / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "__snapshots__", "fixtures"))
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    # the package as it installs: app/ is batten, widgets/ and fixers/ inside it
    (repo / "app" / "widgets").symlink_to(repo / "widgets")
    (repo / "app" / "fixers").symlink_to(repo / "fixers")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "batten").symlink_to(repo / "app")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'pkg'}{os.pathsep}{repo}", "PYTHONDONTWRITEBYTECODE": "1"}
    made = subprocess.run([sys.executable, str(repo / "scripts" / "add_rule.py"), "--id", rule_id, "--kind", kind,
                           "--area", area, "--severity", "low", "--title", "Scaffolded for a test"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    name = rule_id.replace(".", "_").replace("-", "_")
    test = repo / "tests" / f"test_rule_{name}.py"
    assert test.is_file() and f"`{rule_id}`" in (repo / "docs" / "rules.md").read_text()
    checks = (repo / "app" / "checks" / f"{kind}_rules.py").read_text()
    assert f"def _{name}(ctx" in checks and f"_{name}" in checks[checks.index("_CHECKS = ("):]
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(repo / "pyproject.toml"),
                           str(test), str(repo / "app" / "checks")], capture_output=True, text=True, timeout=120)
    assert ruff.returncode == 0, ruff.stdout
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], cwd=repo,
                         env=env, capture_output=True, text=True, timeout=300)
    # the check does not fire yet: "fires" and "suppressed" fail on their assertions, "quiet" passes
    assert "2 failed, 1 passed" in run.stdout, run.stdout[-3000:]
    assert "assert [] == [" in run.stdout and "Error" not in run.stdout.replace("AssertionError", "")
    again = subprocess.run([sys.executable, str(repo / "scripts" / "add_rule.py"), "--id", rule_id, "--kind", kind,
                            "--area", area, "--severity", "low", "--title", "x"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "already" in again.stderr + again.stdout
