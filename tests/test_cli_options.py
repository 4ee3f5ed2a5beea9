"""The command line holds no traps: config found like ruff finds its own (from each path up to the
repository top, whatever the order of the paths), --config, `batten PATH` without a terminal,
`scan -` with --stdin-filename, --version everywhere, NO_COLOR / FORCE_COLOR / TERM=dumb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batten.cli import SUBCOMMANDS, main
from batten.config import discover_config, find_config_file

ROOT = Path(__file__).resolve().parents[1]
WEAK = "FROM python:3.12\nRUN pip install requests\nCMD python app.py\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def batten(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: bytes | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "batten", *args], cwd=cwd, env=full, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)


def rules(capsys, *argv: str) -> set[str]:
    code, out, err = run(capsys, "scan", "--format", "json", *argv)
    assert code in (0, 1), err
    return {f["rule"] for f in json.loads(out)["findings"]}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """repo/.git, repo/.batten.toml (ignores image.*), repo/a/b/Dockerfile, repo/c/Dockerfile"""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".batten.toml").write_text('ignore = ["image.*"]\n[[per-path-ignores]]\npaths = ["a/**"]\n'
                                       'rules = ["user.missing"]\nreason = "a is frozen"\n')
    for d in ("a/b", "c"):
        (repo / d).mkdir(parents=True)
        (repo / d / "Dockerfile").write_text(WEAK)
    return repo


# ---------------------------------------------------------------------------------------------
# config discovery
# ---------------------------------------------------------------------------------------------


def test_config_is_found_from_a_subdirectory_up_to_the_repository_top(tree, capsys, monkeypatch):
    assert find_config_file(str(tree / "a" / "b")) == str(tree / ".batten.toml")
    assert find_config_file(str(tree / "a" / "b" / "Dockerfile")) == str(tree / ".batten.toml")
    found = rules(capsys, str(tree / "a" / "b"))
    assert found and not any(r.startswith("image.") for r in found)
    # paths in the config are relative to the config's directory, wherever the scan starts
    _code, out, _ = run(capsys, "scan", str(tree / "a" / "b"), "--format", "json")
    user = [f for f in json.loads(out)["findings"] if f["rule"] == "user.missing"]
    assert user and all(f["suppressed"] == "config: a is frozen" for f in user)
    monkeypatch.chdir(tree / "c")
    _code, out, _ = run(capsys, "scan", "Dockerfile", "--format", "json")
    user = [f for f in json.loads(out)["findings"] if f["rule"] == "user.missing"]
    assert user and not any(f["suppressed"] for f in user)


def test_the_walk_stops_at_the_repository_top(tree):
    outer = tree.parent / ".batten.toml"
    outer.write_text('ignore = ["user.*"]\n')
    (tree / ".batten.toml").unlink()
    assert find_config_file(str(tree / "a")) is None  # the parent of the repository is not asked
    nested = tree / "a" / "pyproject.toml"
    nested.write_text('[project]\nname = "x"\n')  # no [tool.batten]: the walk goes on
    assert find_config_file(str(tree / "a" / "b")) is None
    nested.write_text('[tool.batten]\nignore = ["limits.*"]\n')
    assert find_config_file(str(tree / "a" / "b")) == str(nested)


def test_the_same_config_whatever_the_order_of_the_paths(tree, capsys):
    (tree / "a" / ".batten.toml").write_text('select = ["user.*"]\n')
    one, two = str(tree / "a" / "b" / "Dockerfile"), str(tree / "c" / "Dockerfile")
    assert discover_config([one, two]).source == discover_config([two, one]).source == str(tree / ".batten.toml")
    assert rules(capsys, one, two) == rules(capsys, two, one)
    assert discover_config([one]).source == str(tree / "a" / ".batten.toml")


def test_config_option_and_unknown_keys(tree, capsys, tmp_path):
    other = tmp_path / "ci.toml"
    other.write_text('select = ["user.missing"]\n')
    assert rules(capsys, str(tree / "c"), "--config", str(other)) == {"user.missing"}
    other.write_text('select = ["user.missing"]\ncolour = "always"\n')
    code, _out, err = run(capsys, "scan", str(tree / "c"), "--config", str(other))
    assert code == 2 and "unknown key(s) colour" in err
    code, _out, err = run(capsys, "scan", str(tree / "c"), "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "no such config file" in err


def test_exclude_applies_to_discovery_and_to_files_named_on_the_command_line(tree, capsys, monkeypatch):
    (tree / ".batten.toml").write_text('exclude = ["a/**"]\n')
    _code, out, _ = run(capsys, "scan", str(tree), "--format", "json")
    paths = {f["path"] for f in json.loads(out)["files"]}
    assert paths == {"c/Dockerfile"}
    monkeypatch.chdir(tree)
    _code, out, _ = run(capsys, "scan", "a/b/Dockerfile", "c/Dockerfile", "--format", "json")
    assert {f["path"] for f in json.loads(out)["files"]} == {"c/Dockerfile"}


# ---------------------------------------------------------------------------------------------
# no traps
# ---------------------------------------------------------------------------------------------


def test_the_tui_without_a_terminal_exits_2_at_once(tmp_path):
    (tmp_path / "Dockerfile").write_text(WEAK)
    started = time.monotonic()
    out = batten(str(tmp_path), cwd=tmp_path, timeout=30)
    assert out.returncode == 2
    assert b"batten scan" in out.stderr and out.stderr.count(b"\n") == 1
    assert time.monotonic() - started < 10
    piped = subprocess.run(f"{sys.executable} -m batten . | cat", shell=True, cwd=tmp_path, capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
    assert b"batten scan" in piped.stderr


def test_scan_reads_stdin_with_a_file_name(tmp_path, capsys):
    out = batten("scan", "-", "--stdin-filename", "svc/Dockerfile", "--format", "json", cwd=tmp_path,
                 stdin=WEAK.encode())
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert {f["path"] for f in doc["files"]} == {"svc/Dockerfile"}
    assert "user.missing" in {f["rule"] for f in doc["findings"]}
    compose = b"services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"
    out = batten("scan", "-", "--stdin-filename", "deploy.yaml", "--format", "github", cwd=tmp_path, stdin=compose)
    assert b"::error file=deploy.yaml,line=4" in out.stdout
    (tmp_path / ".batten.toml").write_text('ignore = ["priv.*"]\n')  # config follows the name
    out = batten("scan", "-", "--stdin-filename", "deploy.yaml", "--format", "github", cwd=tmp_path, stdin=compose)
    assert b"priv.privileged" not in out.stdout
    out = batten("scan", "-", cwd=tmp_path, stdin=compose)
    assert out.returncode == 2 and b"--stdin-filename" in out.stderr
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("batten-stdin-*/deploy.yaml"))


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_version_on_every_subcommand(command, capsys):
    from batten import __version__

    with pytest.raises(SystemExit) as exc:
        main([command, "--version"] if command else ["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"batten {__version__}"


@pytest.mark.parametrize(("env", "colored"), [
    ({}, False),
    ({"FORCE_COLOR": "1"}, True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ({"FORCE_COLOR": "0"}, False),
])
def test_force_color_and_no_color(tmp_path, env, colored):
    (tmp_path / "Dockerfile").write_text(WEAK)
    out = batten("scan", ".", cwd=tmp_path, env=env)
    assert (b"\x1b[" in out.stdout) is colored
    fixed = batten("fix", ".", cwd=tmp_path, env=env)
    assert (b"\x1b[" in fixed.stdout) is colored


def test_term_dumb_means_no_color(monkeypatch):
    from batten.report import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_color("auto", Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color("auto", Tty())
    assert use_color("always", Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color("auto", Tty()) and not use_color("never", Tty())
