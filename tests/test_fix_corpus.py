"""The corpus property of every fix batten offers (../shared/corpus): applied one at a time and
all together, the result parses, the fixed findings are gone, a second run is a no-op, and every
line outside the edited spans is byte-identical."""

from __future__ import annotations

import os

from tests.corpus import require_corpus
from tests.fixcheck import Stats, check_project, corpus_projects


def test_every_offered_fix_verifies_on_the_corpus(monkeypatch):
    corpus = require_corpus()
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")
    stats = Stats()
    for project in corpus_projects(corpus):
        check_project(project, stats)
    print(f"\ncorpus fixes: {stats.projects} projects, {stats.files} files, {stats.offered} fixes offered, "
          f"{stats.verified} verified; together: {stats.together_applied} in {stats.together_projects} projects")
    assert stats.offered > 500  # the corpus offers plenty; a collapse here means fixers stopped offering
    assert stats.failures == [], "\n".join(stats.failures[:40])
    assert stats.verified == stats.offered
    os.environ.pop("BATTEN_STRICT_FIXERS", None)
