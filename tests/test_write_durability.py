"""Durability of a batch write (batten.fixers.write.write_files): the journal records the intent
first; each file's bytes are fsync'd before its rename; each directory the batch touched (and
the parent of one it created) is fsync'd once, after its last file and before the journal says
the batch is complete. A batch of N files in D directories costs N + D fsyncs, not 2N."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import batten.fixers.write as w
from batten.fsio import WriteRefused
from batten.sources.project import load_project

COMPOSE = "services:\n  web:\n    image: example/web:1.2\n"


@pytest.fixture
def state(state_dir: Path) -> Path:
    """The private state directory (conftest's state_dir), by its short name here."""
    return state_dir


@pytest.fixture
def events(monkeypatch) -> list[tuple[str, str]]:
    """("fsync", path) for every fsync and ("journal", status) for every journal save, in order."""
    log: list[tuple[str, str]] = []
    real_fsync, real_save = os.fsync, w._save

    def fsync(fd: int) -> None:
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def save(root: str, entries: list[dict]) -> None:
        log.append(("journal", entries[-1]["status"] if entries else "-"))
        real_save(root, entries)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(w, "_save", save)
    return log


def repo(root: Path, dirs: int, per_dir: int) -> dict[str, str]:
    """`dirs` directories of `per_dir` compose files each; the texts a fix would write."""
    texts = {}
    for d in range(dirs):
        (root / f"s{d}").mkdir(parents=True)
        for i in range(per_dir):
            name = "compose.yaml" if i == 0 else f"compose.override{i}.yaml"
            (root / f"s{d}" / name).write_text(COMPOSE)
            texts[f"s{d}/{name}"] = COMPOSE + "    read_only: true\n"
    return texts


def test_a_batch_syncs_each_directory_once_after_its_files_and_before_completion(tmp_path, state, events):
    root = tmp_path / "repo"
    texts = repo(root, dirs=3, per_dir=2)
    texts["s0/secrets/db_password.txt"] = "pw"  # in a directory the write creates
    project = load_project([str(root)])
    events.clear()
    written = w.write_files(project, texts)
    assert sorted(written) == sorted(texts)
    real = os.path.realpath(root)
    journal_dir = os.path.realpath(state)
    in_repo = [(kind, p) for kind, p in events if kind == "journal" or p.startswith(real)]
    file_syncs = [p for kind, p in in_repo if kind == "fsync" and os.path.basename(p).startswith(".batten-")]
    dir_syncs = [p for kind, p in in_repo if kind == "fsync" and not os.path.basename(p).startswith(".batten-")]
    assert len(file_syncs) == 7  # each file's bytes, before its rename
    # each directory once: the three, and the one created (its new entry is in s0, synced too)
    assert sorted(dir_syncs) == sorted({*(f"{real}/s{d}" for d in range(3)), f"{real}/s0/secrets"})
    assert len(dir_syncs) == len(set(dir_syncs)) == 4
    order = [p if kind == "journal" else "file" if p in file_syncs else "dir" for kind, p in in_repo]
    # intent first, then every file, then every directory, then completion
    assert order == ["pending", *["file"] * 7, *["dir"] * 4, "complete"]
    assert dir_syncs.index(f"{real}/s0/secrets") < dir_syncs.index(f"{real}/s0")  # deepest first
    # the journal itself is made durable at each save (its file and its directory)
    assert any(p.startswith(journal_dir) for kind, p in events if kind == "fsync")


def test_fsyncs_grow_with_files_plus_directories_not_twice_the_files(tmp_path, state, events):
    root = tmp_path / "repo"
    texts = repo(root, dirs=2, per_dir=10)
    project = load_project([str(root)])
    events.clear()
    w.write_files(project, texts)
    real = os.path.realpath(root)
    in_repo = [p for kind, p in events if kind == "fsync" and p.startswith(real)]
    assert len(in_repo) == 20 + 2  # was 2 x 20


def test_a_directory_that_cannot_be_synced_rolls_the_batch_back(tmp_path, state, monkeypatch):
    root = tmp_path / "repo"
    texts = repo(root, dirs=2, per_dir=1)
    project = load_project([str(root)])

    def refuse(directories, *, root=None):
        raise WriteRefused("s1: cannot sync: Input/output error")

    monkeypatch.setattr(w, "sync_dirs", refuse)
    with pytest.raises(WriteRefused, match="cannot sync"):
        w.write_files(project, texts)
    assert all((root / p).read_text() == COMPOSE for p in texts)  # every file put back
    assert list(root.rglob(".batten-*")) == []
    assert w.last_write(str(root)) is None  # no entry left saying it was written
