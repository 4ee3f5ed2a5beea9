"""Hypothesis-generated compose files (indentation, dash offsets, flow/block style, comments,
line endings, final newline) through every compose fixer: the result parses, the fixed findings
are gone, a second run is a no-op, and every line the edits do not touch stays byte-identical.

The example budget is small by default; `pytest -m fuzz` runs the same properties with a large
budget (see README, "Tests")."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import check_one, fix_all, selector
from batten.fixers.plan import plan_fix
from batten.sources.project import load_project
from tests.fixcheck import preserved

BUDGET = int(os.environ.get("BATTEN_FUZZ_EXAMPLES", "25"))

IMAGES = ["postgres:16.4", "redis:7.4", "example/api:1.0", "nginx:1.27", "example/worker:2.1"]


@st.composite
def compose_files(draw):
    indent = draw(st.sampled_from([2, 4]))
    dash = draw(st.sampled_from([0, 2]))
    flow = draw(st.booleans())
    crlf = draw(st.booleans())
    final_nl = draw(st.booleans())
    use_anchor = draw(st.booleans())
    n = draw(st.integers(min_value=1, max_value=3))
    pad = " " * indent
    lines: list[str] = ["# generated compose file", ""]
    if use_anchor:
        lines += ["x-logging: &logging", f"{pad}driver: json-file", ""]
    lines.append("services:")

    def one_item(at: str, key: str, in_flow: str, in_block: str) -> list[str]:
        """A one-item sequence under `key`, indented by `at`, in the style drawn for this file."""
        return [f"{at}{key}: [{in_flow}]"] if flow else [f"{at}{key}:", f"{at}{' ' * dash}- {in_block}"]

    for i in range(n):
        name = f"svc{i}"
        lines.append(f"{pad}{name}:")
        p2 = pad * 2
        lines.append(f"{p2}image: {draw(st.sampled_from(IMAGES))}")
        if draw(st.booleans()):
            lines.append(f"{p2}# a comment about the ports")
        if draw(st.booleans()):
            port = draw(st.sampled_from(['"8080:80"', '"127.0.0.1:5432:5432"', "'9000:9000'", '"3000"']))
            lines += one_item(p2, "ports", port, port)
        if draw(st.booleans()):
            lines += one_item(p2, "security_opt", '"apparmor=docker-default"', "apparmor=docker-default")
        if draw(st.booleans()):
            lines.append(f"{p2}environment:")
            lines.append(f"{p2}{pad}MODE: prod  # trailing comment")
        if use_anchor and draw(st.booleans()):
            lines.append(f"{p2}logging: *logging")
        if draw(st.booleans()):
            lines.append("")
    text = ("\r\n" if crlf else "\n").join(lines)
    if final_nl:
        text += "\r\n" if crlf else "\n"
    return text


def check_preserved(before: str, after: str, edits) -> None:
    damage = preserved(before, after, edits)
    assert damage is None, (damage, before, after)


def _reset(tmp_path):
    import shutil

    for p in tmp_path.iterdir():
        if p.is_file() or p.is_symlink():
            p.unlink()
        else:
            shutil.rmtree(p)


def _property(tmp_path, text):
    _reset(tmp_path)
    (tmp_path / "compose.yaml").write_bytes(text.encode())
    project = load_project([str(tmp_path)])
    config = Config()
    assert all(f.error is None for f in project.files), project.files[0].error
    # one at a time: each fix verifies, and touches only its own lines
    for f in run_checks(project, config):
        fix = plan_fix(f, project, config)
        if fix is None:
            continue
        outcome = check_one(project, f, fix, config)
        for change in outcome.changes.values():
            check_preserved(change.before, change.after, [e for e in fix.edits if e.path == change.path])
            if change.path == "compose.yaml":
                again = outcome.project
                assert again is not None and again.file("compose.yaml").error is None
                assert plan_fix_for_same(again, f, config) is None
    # all together: no failure, parses, a second run is a no-op
    outcome = fix_all(project, config, selector(None, unsafe=True))
    assert not outcome.failed, [(f.rule.id, f.target, why) for f, why in outcome.failed]
    change = outcome.changes.get("compose.yaml")
    if change is None:
        return
    assert text.endswith("\n") == change.after.endswith("\n")
    if "\r\n" in text:
        assert change.after.count("\n") == change.after.count("\r\n")
    again = outcome.project
    assert again is not None and all(f.error is None for f in again.files)
    second = fix_all(again, config, selector(None, unsafe=True))
    assert not second.failed
    assert all(c.before == c.after for c in second.changes.values()), second.diff()


def plan_fix_for_same(project, finding, config):
    """The fix offered, on the fixed project, for a finding like `finding` (None if gone)."""
    for f in run_checks(project, config):
        if (f.rule.id, f.path, f.target) == (finding.rule.id, finding.path, finding.target):
            fx = plan_fix(f, project, config)
            if fx is not None and f.message == finding.message:
                return fx
    return None


@settings(max_examples=BUDGET, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compose_files())
def test_compose_fixes_preserve_format(tmp_path, text):
    _property(tmp_path, text)


@settings(max_examples=BUDGET, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compose_files())
def test_single_safe_fixes_only_add_lines(tmp_path, text):
    """Safe additive fixes (no-new-privileges, log rotation, pids) never change an existing line
    except to append to a list written in flow style on that same line."""
    _reset(tmp_path)
    (tmp_path / "compose.yaml").write_bytes(text.encode())
    project = load_project([str(tmp_path)])
    config = Config()
    for rule in ("priv.no-new-privileges", "logging.unbounded", "limits.pids"):
        outcome = fix_all(project, config, selector([rule], unsafe=False))
        assert not outcome.failed
        for change in outcome.changes.values():
            edits = list(dict.fromkeys(e for _f, fx in outcome.applied for e in fx.edits if e.path == change.path))
            check_preserved(change.before, change.after, edits)


@pytest.mark.fuzz
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compose_files())
def test_compose_fixes_preserve_format_large_budget(tmp_path, text):
    _property(tmp_path, text)


@pytest.mark.fuzz
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compose_files())
def test_single_safe_fixes_only_add_lines_large_budget(tmp_path, text):
    test_single_safe_fixes_only_add_lines.hypothesis.inner_test(tmp_path, text)
