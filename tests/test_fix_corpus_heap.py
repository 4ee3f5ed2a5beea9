"""Corpus property (../shared/corpus): `batten fix --write` never gives a service a memory limit
below the heap it declares (1.5x the heap plus 256M is the least it proposes), neither plain
(where checklist defaults wait, and a memory limit from the declared heap is written alone)
nor with --accept-defaults and --unsafe."""

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


def _cpus(svc) -> str | None:
    v = svc.get("deploy", "resources", "limits", "cpus") or svc.get("cpus")
    return v.text if v is not None and v.is_scalar else None


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
    checked = 0
    limited = {False: 0, True: 0}
    for project in projects:
        before = {(cp.base.path, svc.name): _limit(svc) for cp, svc, _h in _heap_services(project)}
        cpus_before = {(cp.base.path, svc.name): _cpus(svc) for cp, svc, _h in _heap_services(project)}
        for accept, unsafe in ((False, False), (True, True)):
            outcome = fix_all(project, Config(), gate(selector(None, unsafe=unsafe), accept), {})
            after = with_texts(project, {p: c.after for p, c in outcome.changes.items()})
            for cp, svc, (heap, where) in _heap_services(after):
                checked += 1
                limit = _limit(svc)
                if limit is None or limit == before.get((cp.base.path, svc.name)):
                    continue  # no limit, or the one the file already had
                limited[accept] += 1
                assert limit >= heap * 1.5 + HEAP_FLOOR, (
                    f"{cp.base.path} [{svc.name}]: limit {limit >> 20}M for a {heap >> 20}M heap ({where})")
                if not accept:  # plain: the memory limit from the heap, and no CPU limit from a default
                    assert _cpus(svc) == cpus_before.get((cp.base.path, svc.name)), (
                        f"{cp.base.path} [{svc.name}]: plain fix --write added a CPU limit from a default")
    print(f"\nheap services checked {checked}, limits added plain {limited[False]}, accepted {limited[True]}")
    assert checked >= 4, "the corpus should hold services that declare a heap"
    assert limited[True] >= 2, "with --accept-defaults the heap services should get (large enough) limits"
    assert limited[False] >= 2, "plain fix --write should give heap services their evidence-based memory limit"
