"""The shared real-world corpus (../shared/corpus): read-only test data. Outside this workplace
it may be absent: tests then skip with a clear reason, except under CI=true, where they fail."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def require_corpus() -> Path:
    if (CORPUS / "manifest.tsv").is_file():
        return CORPUS
    reason = f"shared corpus not found at {CORPUS} (it exists only in the batten workplace)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; under CI=true every test must run")
    pytest.skip(reason)


def manifest(kind: str | None = None) -> list[tuple[str, str]]:
    """(relative path, kind) rows of manifest.tsv."""
    root = require_corpus()
    rows = []
    for line in (root / "manifest.tsv").read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 2 and (kind is None or cols[1] == kind):
            rows.append((cols[0], cols[1]))
    return rows


def writable_copy(src: Path, dst: Path) -> Path:
    """A copy of `src` at `dst` that fixes may write (the corpus itself is never written): links
    stay links, directories and files become writable."""
    shutil.copytree(src, dst, symlinks=True)
    for d, _dirs, files in os.walk(dst):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                os.chmod(p, 0o644)
    return dst


@pytest.fixture
def corpus_dir() -> Path:
    return require_corpus()
