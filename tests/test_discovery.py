"""Discovery: names, skipped directories, .gitignore, symlinks."""

from __future__ import annotations

import os

import pytest

from batten.sources.discover import classify, classify_explicit, discover


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Dockerfile", "dockerfile"),
        ("Containerfile", "dockerfile"),
        ("Dockerfile.prod", "dockerfile"),
        ("Dockerfile-test", "dockerfile"),
        ("api.Dockerfile", "dockerfile"),
        ("api.dockerfile", "dockerfile"),
        ("backendDockerfile", "dockerfile"),
        ("compose.yaml", "compose"),
        ("compose.yml", "compose"),
        ("docker-compose.yml", "compose"),
        ("docker-compose.prod.yaml", "compose"),
        ("compose.override.yaml", "compose"),
        ("compose.dev.yml", "compose"),
        ("Dockerfile.dockerignore", None),
        ("Dockerfile.j2", None),
        ("compose.yaml.j2", None),
        ("values.yaml", None),
        ("README.md", None),
    ],
)
def test_classify(name, kind):
    assert classify(name) == kind


def test_classify_explicit_falls_back_on_extension():
    assert classify_explicit("stack.yml") == "compose"
    assert classify_explicit("build.txt") == "dockerfile"


def _touch(root, rel, text="FROM x:1\n"):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_walk_skips_vcs_deps_venvs_and_gitignored(tmp_path):
    _touch(tmp_path, "Dockerfile")
    _touch(tmp_path, "svc/api/Dockerfile.prod")
    _touch(tmp_path, "deploy/compose.yaml", "services: {}\n")
    _touch(tmp_path, ".git/Dockerfile")
    _touch(tmp_path, "node_modules/pkg/Dockerfile")
    _touch(tmp_path, "env/pyvenv.cfg", "home = /usr\n")
    _touch(tmp_path, "env/lib/Dockerfile")
    _touch(tmp_path, "build/Dockerfile")
    _touch(tmp_path, "keep/Dockerfile")
    _touch(tmp_path, "keep/generated/Dockerfile")
    _touch(tmp_path, ".gitignore", "build/\nkeep/generated\n*.tmp\n")
    _touch(tmp_path, "svc/.gitignore", "!important\nlocal-*\n")
    _touch(tmp_path, "svc/local-Dockerfile")
    _touch(tmp_path, "svc/.dockerignore", ".env\n")
    _touch(tmp_path, ".github/workflows/ci.yml", "on: push\n")
    found = discover(tmp_path)
    assert [f.path for f in found.files] == [
        "Dockerfile",
        "deploy/compose.yaml",
        "keep/Dockerfile",
        "svc/api/Dockerfile.prod",
    ]
    assert ("svc/local-Dockerfile", "git-ignored") in found.skipped
    assert "svc/.dockerignore" in found.dockerignores
    assert [p for p, _ in found.ci_files] == [".github/workflows/ci.yml"]


def test_symlinks_never_leave_the_root(tmp_path):
    outside = tmp_path / "outside"
    root = tmp_path / "root"
    _touch(outside, "Dockerfile")
    _touch(root, "real/Dockerfile")
    os.symlink(outside / "Dockerfile", root / "Dockerfile")
    os.symlink(root / "real" / "Dockerfile", root / "Dockerfile.link")
    os.symlink(outside, root / "linked-dir")
    os.symlink(root, root / "real" / "loop")
    os.symlink(root / "nope", root / "Dockerfile.broken")
    a = root / "a"
    b = root / "b"
    os.symlink(b, a)
    os.symlink(a, b)
    found = discover(root)
    paths = [f.path for f in found.files]
    assert "Dockerfile" not in paths  # points outside
    assert "real/Dockerfile" in paths and "Dockerfile.link" not in paths  # two paths, one file: once
    assert not any(p.startswith("linked-dir") for p in paths)
    reasons = dict(found.skipped)
    assert "outside the project root" in reasons["Dockerfile"] or "leaves the project root" in reasons["Dockerfile"]
    assert "broken symlink" in reasons["Dockerfile.broken"]
    assert reasons["Dockerfile.link"] == "same file as real/Dockerfile (a symlink alias); scanned once"


def test_unreadable_directory_is_reported(tmp_path, monkeypatch):
    # root reads every directory, so the permission error is injected where discovery lists it
    _touch(tmp_path, "ok/Dockerfile")
    _touch(tmp_path, "locked/Dockerfile")
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover(tmp_path)
    assert [f.path for f in found.files] == ["ok/Dockerfile"]
    assert ("locked", "cannot list directory: Permission denied") in found.skipped
