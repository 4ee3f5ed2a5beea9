"""The rule -> fixer handoff is typed: each static finding carries the site its check found
(batten.checks.sites), and each fixer takes the site classes its rules hand over."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from batten.checks.engine import run_checks
from batten.checks.sites import (
    CommandSite,
    NamedValueSite,
    PairSite,
    ServiceSite,
    StageSite,
    ValueSite,
)
from batten.config import Config
from batten.fixers.plan import plan, spec_for
from batten.fixers.registry import REGISTRY, NoFix
from batten.model import Site
from batten.sources.project import load_project
from tests.corpus import require_corpus

# findings about a file as a whole, with nothing inside it for a fixer to start from
_NO_SITE = {"parse.error", "compose.invalid"}


def _findings(root: Path) -> list:
    project = load_project([str(root)])
    return [f for f in run_checks(project, Config()) if f.origin == "static"]


def test_every_finding_on_the_corpus_hands_its_fixer_a_site_it_takes() -> None:
    findings = _findings(require_corpus())
    with_fixer = [(f, spec_for(f)) for f in findings if spec_for(f) is not None]
    assert len(with_fixer) > 3000  # the corpus offers plenty: a collapse means the scan changed
    wrong = [f"{f.rule.id} {f.path}:{f.line}: {type(f.subject).__name__} for {spec.id}"
             for f, spec in with_fixer if not isinstance(f.subject, spec.site)]
    assert wrong == []
    untyped = {f.rule.id for f in findings if not isinstance(f.subject, Site) and f.target_kind != "project"}
    assert untyped <= _NO_SITE
    # each kind of site reaches at least one fixer there
    kinds = {type(f.subject) for f, _spec in with_fixer}
    assert {StageSite, CommandSite, PairSite, ServiceSite, ValueSite, NamedValueSite} <= kinds


def test_a_site_is_the_very_node_the_rule_judged(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
                                         "ENV API_TOKEN=abc123def456ghi789\nUSER 1000\n")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n    cap_add: [SYS_ADMIN]\n"
                                           "    environment:\n      DB_PASSWORD: hunter2hunter2\n")
    by_rule = {f.rule.id: f for f in _findings(tmp_path)}
    rec = by_rule["pkg.apt-no-recommends"].subject
    assert isinstance(rec, CommandSite) and rec.rc.name == "apt-get" and rec.ins.keyword == "RUN"
    assert rec.stage is not None and rec.stage.base == "debian:12"
    env = by_rule["secret.arg-env"].subject
    assert isinstance(env, PairSite) and env.pair.key == "API_TOKEN" and env.ins.keyword == "ENV"
    cap = by_rule["caps.dangerous-added"].subject
    assert isinstance(cap, ValueSite) and cap.value.text == "SYS_ADMIN" and cap.svc.name == "web"
    pw = by_rule["secret.value-hardcoded"].subject
    assert isinstance(pw, NamedValueSite) and pw.name == "DB_PASSWORD" and pw.svc.name == "web"
    assert isinstance(by_rule["caps.not-dropped"].subject, ServiceSite)
    # frozen records, compared by identity (they hold whole model objects)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cap.svc = None  # type: ignore[misc]
    assert cap == cap and cap != ValueSite(cap.svc, cap.value)


def test_a_site_its_fixer_does_not_take_is_a_bug_not_a_decline(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n    cap_add: [SYS_ADMIN]\n")
    project = load_project([str(tmp_path)])
    f = next(f for f in run_checks(project, Config()) if f.rule.id == "caps.dangerous-added")
    assert plan(f, project, Config()).edits  # the ValueSite it hands over is what co.remove-cap takes
    f.subject = ServiceSite(f.subject.svc)
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")
    with pytest.raises(TypeError, match=r"co.remove-cap takes ValueSite, not ServiceSite"):
        plan(f, project, Config())
    monkeypatch.delenv("BATTEN_STRICT_FIXERS")
    with pytest.raises(NoFix, match="cannot handle this input"):
        plan(f, project, Config())


def test_every_fixer_names_the_sites_it_takes() -> None:
    for spec in REGISTRY.values():
        sites = spec.site if isinstance(spec.site, tuple) else (spec.site,)
        assert sites and all(isinstance(s, type) and issubclass(s, Site) for s in sites), spec.id
