"""The corpus helper skips outside the workplace and fails under CI=true."""

from __future__ import annotations

import pytest

import tests.corpus as corpus


def test_require_corpus_skips_or_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(corpus, "CORPUS", tmp_path / "nope")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        corpus.require_corpus()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        corpus.require_corpus()
