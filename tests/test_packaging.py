"""The package installs as one `batten` namespace: app/ is `batten`, widgets/ and fixers/ are
`batten.widgets` and `batten.fixers`; no generic top-level names such as `app` are claimed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


# ---------------------------------------------------------------------------------------------
# the built wheel, installed into a clean virtual environment (offline: no index, no isolation)
# ---------------------------------------------------------------------------------------------

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "app", "widgets", "fixers")
DEMO = REPO / "examples" / "demo"


def _offline_env() -> dict[str, str]:
    """pip with no configuration (no index, no mirrors): everything it needs is on this disk."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    import shutil

    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300,
                           env=_offline_env())
    assert built.returncode == 0, built.stderr
    (whl,) = dist.glob("batten-*.whl")
    return whl


def test_the_wheel_holds_only_batten_and_declares_what_it_imports(wheel):
    import email
    import zipfile

    from batten import __version__

    with zipfile.ZipFile(wheel) as zf:
        tops = {name.split("/")[0] for name in zf.namelist()}
        meta = email.message_from_bytes(zf.read(f"batten-{__version__}.dist-info/METADATA"))
    assert tops == {"batten", f"batten-{__version__}.dist-info"}
    assert meta["License-Expression"] == "MIT"
    requires = {re.split(r"[<>=!~;\s\[]", r, maxsplit=1)[0].lower(): r for r in meta.get_all("Requires-Dist")}
    for name in ("textual", "docker", "requests", "urllib3", "ruamel.yaml"):
        assert name in requires and "extra ==" not in requires[name], name
    assert "extra == \"test\"" in requires["dockerfile-parse"]  # a test oracle, not a runtime need
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Issues"} <= set(urls)


def test_every_third_party_import_is_declared():
    """Each package the code imports at top level or lazily is a declared dependency."""
    import ast

    declared = {re.split(r"[<>=!~;\s\[]", d, maxsplit=1)[0].lower().replace("-", "_")
                for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    stdlib = set(sys.stdlib_module_names)
    imported: set[str] = set()
    for folder in ROOTS:
        for py in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(py.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    third_party = imported - stdlib - {"batten"}
    names = {"ruamel": "ruamel.yaml"}
    assert {names.get(m, m).replace("-", "_") for m in third_party} <= declared, third_party


@pytest.fixture(scope="module")
def clean_venv(wheel, tmp_path_factory) -> Path:
    """A new virtual environment holding the wheel and, of everything else, only ruamel.yaml:
    the smallest install that scans (`pip install --no-deps batten ruamel.yaml`)."""
    import sysconfig

    root = tmp_path_factory.mktemp("venv")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                           str(wheel)], capture_output=True, text=True, timeout=300, env=_offline_env())
    assert done.returncode == 0, done.stderr
    deps = root / "deps"  # ruamel.yaml from this test environment, linked in (no download)
    deps.mkdir()
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        if entry.name.startswith(("ruamel", "_ruamel")):
            (deps / entry.name).symlink_to(entry)
    target = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    (target / "ruamel-from-tests.pth").write_text(f"{deps}\n")
    return py


def _in(py: Path, *args: str, cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1"}
    return subprocess.run([str(py), "-s", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env, **kw)


def test_import_app_fails_after_installing_batten(clean_venv, tmp_path):
    probe = _in(clean_venv, "-c", "import app", cwd=tmp_path)
    assert probe.returncode != 0 and "ModuleNotFoundError: No module named 'app'" in probe.stderr
    for generic in ("widgets", "fixers"):
        assert _in(clean_venv, "-c", f"import {generic}", cwd=tmp_path).returncode != 0
    version = _in(clean_venv, "-m", "batten", "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("batten "), version.stderr
    script = subprocess.run([str(clean_venv.parent / "batten"), "--version"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert script.returncode == 0 and script.stdout.startswith("batten "), script.stderr


def test_batten_runs_beside_a_project_with_its_own_app_package(clean_venv, tmp_path):
    """A FastAPI-style project: its own `app` package is on the path, batten still works."""
    import shutil

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text('NAME = "the project\'s own app"\n')
    shutil.copy2(DEMO / "Dockerfile", tmp_path / "Dockerfile")
    shutil.copy2(DEMO / "compose.yaml", tmp_path / "compose.yaml")
    mine = _in(clean_venv, "-c", "import app, batten.cli; print(app.NAME)", cwd=tmp_path)
    assert mine.returncode == 0 and mine.stdout.strip() == "the project's own app", mine.stderr
    scan = _in(clean_venv, "-m", "batten", "scan", ".", "--format", "sarif", cwd=tmp_path)
    assert scan.returncode == 1, scan.stderr
    assert "user.missing" in scan.stdout and "Traceback" not in scan.stderr


def test_a_ci_install_without_textual_or_docker(clean_venv, tmp_path):
    """Only ruamel.yaml beside batten: scan and fix work; the live view and the TUI say what
    they need in one line."""
    import shutil

    for name in ("textual", "docker"):
        assert _in(clean_venv, "-c", f"import {name}", cwd=tmp_path).returncode != 0
    shutil.copytree(DEMO, tmp_path / "demo")
    scan = _in(clean_venv, "-m", "batten", "scan", "demo", "--format", "json", cwd=tmp_path)
    assert scan.returncode == 1 and '"user.missing"' in scan.stdout, scan.stderr
    fix = _in(clean_venv, "-m", "batten", "fix", "demo", "--select", "logging.*", cwd=tmp_path)
    assert fix.returncode == 0 and "max-size" in fix.stdout, fix.stderr
    live = _in(clean_venv, "-m", "batten", "scan", "demo", "--live", "--fail-on", "never", cwd=tmp_path)
    assert live.returncode == 0 and "needs the docker SDK" in live.stderr and "Traceback" not in live.stderr
    tui = _in(clean_venv, "-c", "import sys, batten.cli\n"
              "class T:\n    def __init__(s, f): s.f = f\n    def isatty(s): return True\n"
              "    def __getattr__(s, n): return getattr(s.f, n)\n"
              "sys.stdin, sys.stdout = T(sys.stdin), T(sys.stdout)\n"
              "sys.exit(batten.cli.main(['demo']))", cwd=tmp_path)
    assert tui.returncode == 2 and "needs Textual" in tui.stderr and "Traceback" not in tui.stderr
