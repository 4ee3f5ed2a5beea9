"""Corpus property (../shared/corpus): `batten fix --write` never gives a service a memory limit
below the heap it declares (1.5x the heap plus 256M is the least it proposes), neither plain
(where checklist defaults wait) nor with --accept-defaults and --unsafe."""

from __future__ import annotations

import re

from batten.config import Config
from batten.fixers.apply import fix_all, selector
from batten.fixers.compose_fixes import service_command, service_env
from batten.fixers.safety import gate
from batten.live.values import HEAP_FLOOR, declared_heaps, parse_memory
from batten.sources.project import with_texts
from tests.corpus import require_corpus
from tests.fixcheck import corpus_projects

_HEAP_TEXT = re.compile(r"Xmx|max[-_]old[-_]space|HEAP_SIZE", re.I)


def _limit(svc) -> int | None:
    for path in (("mem_limit",), ("deploy", "resources", "limits", "memory")):
        v = svc.get(*path)
        if v is not None and v.is_scalar and v.text:
            return parse_memory(v.text)
    return None


def _heap_services(project):
    for cp in project.compose_projects:
        for svc in cp.services.values():
            heaps = declared_heaps(service_env(svc), service_command(svc))
            if heaps:
                yield cp, svc, heaps[0]


def test_fix_never_adds_a_memory_limit_below_a_declared_heap() -> None:
    corpus = require_corpus()
    projects = [p for p in corpus_projects(corpus)
                if any(_HEAP_TEXT.search(f.source.text) for cp in p.compose_projects for f in cp.files)]
    checked = limited = 0
    for project in projects:
        before = {(cp.base.path, svc.name): _limit(svc) for cp, svc, _h in _heap_services(project)}
        for accept, unsafe in ((False, False), (True, True)):
            outcome = fix_all(project, Config(), gate(selector(None, unsafe=unsafe), accept), {})
            after = with_texts(project, {p: c.after for p, c in outcome.changes.items()})
            for cp, svc, (heap, where) in _heap_services(after):
                checked += 1
                limit = _limit(svc)
                if limit is None or limit == before.get((cp.base.path, svc.name)):
                    continue  # no limit, or the one the file already had
                limited += 1
                assert limit >= heap * 1.5 + HEAP_FLOOR, (
                    f"{cp.base.path} [{svc.name}]: limit {limit >> 20}M for a {heap >> 20}M heap ({where})")
                assert not (accept is False and limit), "plain fix --write added a limit from defaults"
    print(f"\nheap services checked {checked}, limits added {limited}")
    assert checked >= 4, "the corpus should hold services that declare a heap"
    assert limited >= 2, "with --accept-defaults the heap services should get (large enough) limits"
