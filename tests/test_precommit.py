"""The pre-commit hook passes exactly the files discovery scans, lets the config decide what fails,
and works: `pre-commit try-repo` on a temporary repository, offline (its environment is installed
from the wheels scripts/test.sh keeps in the test environment)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from batten.sources.discover import SKIP_DIRS, classify
from tests.support import unavailable

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"

NAMES = [
    # scanned
    "Dockerfile", "dockerfile", "DOCKERFILE", "Containerfile", "Containerfile.dev", "Dockerfile-dev",
    "Dockerfile_prod", "Dockerfile.alpine", "api.Containerfile", "api.dockerfile", "web.Dockerfile",
    "prod-Dockerfile", "compose.yaml", "compose.yml", "compose.override.yaml", "compose.prod.yml",
    "docker-compose.yml", "docker-compose.dev.yaml", "Docker-Compose.yml", "COMPOSE.YAML",
    # not scanned
    "Dockerfile.j2", "Dockerfile.dockerignore", "Dockerfile.md", "Dockerfile.bak", "Dockerfile.orig",
    "Dockerfile.swp", "Dockerfile.tmpl", "Dockerfile.jinja2", "compose.yaml.j2", "compose.md",
    "README.md", "app.py", "compose.json", "docker-compose.json", "mycompose.yaml", "composer.yaml",
    ".dockerignore", "Dockerfiles", "Containerfile-", "compose-dev.yaml", "Dockerfile.dockerignore.bak",
]


def hook() -> dict:
    (only,) = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return only


def _names() -> set[str]:
    names = set(NAMES)
    if CORPUS.is_dir():
        names |= {p.name for p in CORPUS.rglob("*") if p.is_file()}
    return names


def test_the_file_filter_is_discovery_s_own():
    files = re.compile(hook()["files"])
    exclude = re.compile(hook()["exclude"])
    names = _names()
    assert len(names) > 40
    for name in sorted(names):
        for path in (name, f"svc/api/{name}"):
            wanted = classify(name) is not None
            assert bool(files.search(path)) is wanted, (path, classify(name))
    for d in SKIP_DIRS:
        assert exclude.search(f"{d}/Dockerfile") and exclude.search(f"a/{d}/b/compose.yaml"), d
    assert not exclude.search("services/venv-tools/Dockerfile") and not exclude.search("gitlab/Dockerfile")
    skipped = set(re.findall(r"[\w.\\-]+", hook()["exclude"].split("(?:", 2)[2]))
    assert {s.replace("\\.", ".") for s in skipped} == SKIP_DIRS


def test_the_config_decides_what_fails():
    h = hook()
    assert h["entry"] == "batten scan"
    assert "--fail-on" not in h["entry"] and not h.get("args")
    assert h["language"] == "python" and h["pass_filenames"] is True


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=_env(repo.parent))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(home / "pre-commit"),  # hook environments live in the test's temp dir
        PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE),  # offline
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid", NO_COLOR="1",
    )
    return env


def test_pre_commit_try_repo(tmp_path):
    if not any(WHEELHOUSE.glob("textual-*.whl")) or not any(WHEELHOUSE.glob("setuptools-*.whl")):
        unavailable(f"no wheels in {WHEELHOUSE} (scripts/test.sh downloads them) for an offline hook install")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    files = {
        "Dockerfile": "FROM python:3.12\nCMD python app.py\n",
        "svc/Containerfile.dev": "FROM alpine:3.20\n",
        "svc/Dockerfile-dev": "FROM alpine:3.20\n",
        "svc/api.Containerfile": "FROM alpine:3.20\n",
        "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n",
        "Dockerfile.j2": "FROM {{ base }}\n{% for x in y %}\n",
        "Dockerfile.dockerignore": "node_modules\n",
        "node_modules/pkg/Dockerfile": "FROM node\n",
        "README.md": "# x\n",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    # the project's config decides what fails: with a hard-coded --fail-on, privileged: true would
    (repo / ".batten.toml").write_text('fail-on = "never"\n')
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    run = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "batten", "--all-files",
                          "--verbose"], cwd=repo, capture_output=True, text=True, timeout=600, env=_env(tmp_path))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "priv.privileged" in out and "critical" in out
    for scanned in ("svc/Containerfile.dev", "svc/Dockerfile-dev", "svc/api.Containerfile", "compose.yaml"):
        assert f"\n{scanned}\n" in out, scanned
    assert "5 file(s), " in out
    assert "Dockerfile.j2" not in out and "Dockerfile.dockerignore" not in out and "node_modules" not in out
    assert "parse.error" not in out and "could not be parsed" not in out


@pytest.mark.parametrize("name", ["Dockerfile.j2", "Dockerfile.dockerignore"])
def test_templates_are_not_what_the_hook_passes(name):
    assert not re.search(hook()["files"], name)
