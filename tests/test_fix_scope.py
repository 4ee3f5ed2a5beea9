"""Verification scoped to what a fix can change, and bisection of batches that do not verify."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers import apply as apply_mod
from batten.fixers.apply import fix_all, selector
from batten.fixers.plan import plan_fix
from batten.fixers.registry import REGISTRY
from batten.fixers.scope import Checker, cp_unit
from batten.model import Edit
from batten.sources.project import load_project, with_texts
from tests.corpus import require_corpus

SERVICE = "    image: {image}\n    build:\n      context: {ctx}\n      dockerfile: {df}\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def checker_of(root: Path, files: dict[str, str]) -> tuple[Checker, dict[str, tuple[str, str]]]:
    """A checker of the project `files` make, and each compose project's unit by its base file."""
    write(root, files)
    project = load_project([str(root)])
    return Checker(project, Config()), {cp.base.path: cp_unit(cp) for cp in project.compose_projects}


def key(f):
    loc = f.location
    return (f.rule.id, f.path, loc.line if loc else 0, loc.column if loc else 0, f.target, f.message, f.suppressed)


def test_a_shared_dockerfile_reaches_every_service_that_builds_it(tmp_path: Path) -> None:
    checker, cps = checker_of(tmp_path, {
        "shared/Dockerfile": "FROM python:3.12\nCMD [\"python\"]\n",
        "a/compose.yaml": "services:\n  a:\n    build:\n      context: ../shared\n",
        "b/compose.yaml": "services:\n  b:\n    build:\n      context: ../shared\n",
        "c/compose.yaml": "services:\n  c:\n    image: nginx:1.27\n",
        "d/Dockerfile": "FROM alpine:3.20\n",
    })
    units = checker.reach({"shared/Dockerfile"})
    assert units == {("df", "shared/Dockerfile"), cps["a/compose.yaml"], cps["b/compose.yaml"]}
    # and a change to one compose file re-checks the Dockerfile it builds, not the other project
    assert checker.reach({"a/compose.yaml"}) == {cps["a/compose.yaml"], ("df", "shared/Dockerfile")}


def test_an_override_file_reaches_its_base_and_an_extends_source_its_user(tmp_path: Path) -> None:
    checker, by_base = checker_of(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n",
        "compose.override.yaml": "services:\n  web:\n    ports: ['80:80']\n",
        "other/compose.yaml": "services:\n  x:\n    extends:\n      file: ../common/base.yml\n      service: x\n",
        "common/base.yml": "services:\n  x:\n    image: redis:7\n",
    })
    assert checker.reach({"compose.override.yaml"}) == {by_base["compose.yaml"]}
    assert by_base["other/compose.yaml"] in checker.reach({"common/base.yml"})


def test_a_fix_in_a_shared_dockerfile_rechecks_both_services_and_nothing_else(tmp_path: Path) -> None:
    files = {"shared/Dockerfile": "FROM python:3.12\nCMD [\"python\"]\n"}
    for i in range(8):  # unrelated projects that must not be checked again
        files[f"p{i}/compose.yaml"] = "services:\n  s:\n    image: nginx:1.27\n"
    files["a/compose.yaml"] = "services:\n  a:\n    build:\n      context: ../shared\n"
    files["b/compose.yaml"] = "services:\n  b:\n    build:\n      context: ../shared\n"
    write(tmp_path, files)
    project = load_project([str(tmp_path)])
    config = Config()
    out = fix_all(project, config, selector(["user.missing"], unsafe=True))
    assert [f.rule.id for f, _fx in out.applied] == ["user.missing"]
    assert set(out.changes) == {"shared/Dockerfile"}
    full = Checker(project, config).checked
    # one trial: the Dockerfile and the two compose projects building it, out of 11 units
    assert out.units_checked - full == 3
    assert [key(f) for f in out.findings_after] == [key(f) for f in run_checks(out.project, config)]


def test_a_batch_with_one_broken_fix_is_bisected(tmp_path: Path, monkeypatch) -> None:
    services = "".join(f"  s{i}:\n    image: nginx:1.27\n" for i in range(16))
    write(tmp_path, {"compose.yaml": "services:\n" + services})
    project = load_project([str(tmp_path)])
    spec = REGISTRY["co.no-new-privileges"]
    real = spec.fn

    def broken_for_s11(ctx):
        edits = real(ctx)
        if ctx.finding.target == "s11":  # an edit that breaks the YAML
            e = edits[0] if isinstance(edits, list) else edits.edits[0]
            return [Edit(e.path, e.start, e.end, "    security_opt: [\n")]
        return edits

    monkeypatch.setitem(REGISTRY, spec.id, dataclasses.replace(spec, fn=broken_for_s11))
    trials = []
    original = apply_mod._Run.trial

    def counting(self, groups):
        trials.append(len(groups))
        return original(self, groups)

    monkeypatch.setattr(apply_mod._Run, "trial", counting)
    out = fix_all(project, Config(), selector(["priv.no-new-privileges"], unsafe=True))
    assert [f.target for f, _why in out.failed] == ["s11"]
    assert "does not parse" in out.failed[0][1]
    assert sorted(f.target for f, _fx in out.applied) == sorted(f"s{i}" for i in range(16) if i != 11)
    # bisection: about 2*log2(16) trials to find it, not one per fix
    assert len(trials) <= 12, trials
    text = out.changes["compose.yaml"].after
    assert text.count("no-new-privileges:true") == 15
    assert not out.pending


def test_derived_findings_equal_a_full_recheck_after_each_kind_of_fix() -> None:
    corpus = require_corpus()
    project = load_project([str(corpus)])
    config = Config()
    checker = Checker(project, config)
    assert [key(f) for f in checker.findings()] == [key(f) for f in run_checks(project, config)]
    seen: set[str] = set()
    for f in checker.findings():
        if f.suppressed:
            continue
        fix = plan_fix(f, project, config)
        if fix is None or fix.id in seen:
            continue
        seen.add(fix.id)
        texts = apply_mod.apply_one(project, fix)
        new = with_texts(project, texts)
        derived, _units = checker.derive(new, set(texts) | {f.path})
        assert [key(g) for g in derived.findings()] == [key(g) for g in run_checks(new, config)], fix.id
    assert len(seen) >= 20


def test_progress_is_reported_and_cancel_applies_nothing(tmp_path: Path) -> None:
    from batten.fixers.apply import FixCancelled

    services = "".join(f"  s{i}:\n    image: nginx:1.27\n" for i in range(6))
    write(tmp_path, {"compose.yaml": "services:\n" + services, "Dockerfile": "FROM debian:12\nCMD [\"x\"]\n"})
    project = load_project([str(tmp_path)])
    seen = []
    out = fix_all(project, Config(), selector(None, unsafe=True), progress=seen.append)
    assert seen[0].phase == "check" and seen[-1].phase == "done"
    assert seen[-1].verified == len(out.applied) > 6 and seen[-1].pending == 0 and seen[-1].eta == 0.0
    assert seen[-1].files == 2 and seen[-1].touched == len(out.changes)
    assert [p.verified for p in seen] == sorted(p.verified for p in seen)
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    before = (tmp_path / "compose.yaml").read_bytes()
    with pytest.raises(FixCancelled):
        fix_all(project, Config(), selector(None, unsafe=True), cancel=cancel)
    assert (tmp_path / "compose.yaml").read_bytes() == before


def test_edits_that_would_duplicate_a_key_wait_for_the_next_round() -> None:
    from batten.fixers.apply import _clash

    top = "secrets:\n  pw:\n    file: ./pw.txt\n"
    assert _clash(Edit("c.yaml", 90, 90, top), Edit("c.yaml", 40, 40, "secrets:\n  other:\n    file: ./o\n"))
    same = "    secrets:\n      - pw\n"
    assert _clash(Edit("c.yaml", 50, 50, same), Edit("c.yaml", 50, 50, same))  # one step of two fixes
    assert not _clash(Edit("c.yaml", 50, 50, same), Edit("c.yaml", 80, 80, same))  # two services
    assert not _clash(Edit("c.yaml", 10, 10, ', "no-new-privileges:true"'),
                      Edit("c.yaml", 30, 30, ', "no-new-privileges:true"'))
    assert not _clash(Edit("a.yaml", 0, 0, top), Edit("b.yaml", 0, 0, top))


def test_two_secrets_of_one_file_are_both_moved_in_one_run(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": (
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-Passw0rd-1\n"
        "  app:\n    image: example/app:1\n    environment:\n      API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789AB\n")})
    project = load_project([str(tmp_path)])
    config = Config()
    out = fix_all(project, config, selector(["secret.*"], unsafe=True))
    assert not out.failed and not out.pending
    after = out.changes["compose.yaml"].after
    assert after.count("\nsecrets:\n") == 1 and "s3cr3t" not in after and "ghp_" not in after
    again = fix_all(out.project, config, selector(["secret.*"], unsafe=True))
    assert not again.applied and not again.changes
