"""Property tests (hypothesis) on the source layer and the Dockerfile fixers.

- load then write unchanged is byte-identical, for any bytes (BOM, CRLF, latin-1, no newline);
- any generated compose text either loads or is one clear error, never an exception;
- generated Dockerfiles (case, line endings, continuation styles, final newline) through every
  Dockerfile fixer: each fix alone verifies and touches only its lines; all together verify and
  a second run is a no-op.

Small budgets by default (BATTEN_FUZZ_EXAMPLES raises them); `pytest -m fuzz` runs large ones.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers.apply import check_one, fix_all, selector
from batten.fixers.plan import plan_fix
from batten.sources.compose import load_compose, resolve_project
from batten.sources.project import load_project
from batten.sources.text import SourceError, SourceText
from tests.fixcheck import preserved

BUDGET = int(os.environ.get("BATTEN_FUZZ_EXAMPLES", "25"))
SETTINGS = settings(max_examples=BUDGET, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.binary(max_size=2000).filter(lambda b: b"\0" not in b))
def test_source_bytes_round_trip(raw):
    src = SourceText.from_bytes("Dockerfile", raw)
    assert src.encode() == raw
    for i in range(0, len(src.text), max(1, len(src.text) // 7)):
        line, col = src.line_col(i)
        assert src.offset(line, col) == i


@SETTINGS
@given(st.lists(st.sampled_from([*"ab: -[]{}&*!|>#'\"\n\t\r,?%@`", "services", "image", "<<", "\n  "]),
                max_size=120).map("".join))
def test_any_compose_text_loads_or_is_one_clear_error(text):
    try:
        src = SourceText.from_text("compose.yaml", text)
    except SourceError:
        return
    cf = load_compose(src)
    if cf.error is not None:
        assert cf.error.message and "\n" not in cf.error.message
        return
    resolve_project([cf])  # never raises


# ---------------------------------------------------------------------------------------------
# Dockerfiles through the fixers
# ---------------------------------------------------------------------------------------------

BASES = ["python:3.12", "debian:12", "alpine:3.20", "node:20-slim", "ubuntu:24.04", "golang:1.23"]


@st.composite
def dockerfiles(draw):
    lower = draw(st.booleans())
    crlf = draw(st.booleans())
    final_nl = draw(st.booleans())
    lead_amp = draw(st.booleans())
    base = draw(st.sampled_from(BASES))

    def kw(word: str) -> str:
        return word.lower() if lower else word

    lines = ["# generated", f"{kw('FROM')} {base} AS build", f"{kw('RUN')} make"]
    lines.append(f"{kw('FROM')} {base}")
    if draw(st.booleans()):
        lines.append(f"{kw('ARG')} API_TOKEN")
    if draw(st.booleans()):
        pm = "apk add curl" if "alpine" in base else "apt-get update && apt-get install -y curl"
        if draw(st.booleans()):
            sep = " \\"
            if lead_amp:
                lines += [f"{kw('RUN')} set -eux{sep}", f"    && {pm}{sep}", "    && echo done"]
            else:
                lines += [f"{kw('RUN')} set -eux && \\", f"    {pm} && \\", "    echo done"]
        else:
            lines.append(f"{kw('RUN')} {pm}")
    if draw(st.booleans()):
        lines.append(f"{kw('RUN')} pip install flask" + (" $API_TOKEN" if draw(st.booleans()) else ""))
    if draw(st.booleans()):
        lines.append(f"{kw('ADD')} app.py /app/app.py")
    if draw(st.booleans()):
        lines.append(f"{kw('EXPOSE')} 8080")
    if draw(st.booleans()):
        lines.append(f"{kw('RUN')} useradd app")
    lines.append(f"{kw('CMD')} python /app/app.py" if draw(st.booleans()) else f'{kw("CMD")} ["python", "/app/app.py"]')
    nl = "\r\n" if crlf else "\n"
    text = nl.join(lines)
    return text + nl if final_nl else text


def _reset(tmp_path):
    for p in tmp_path.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _dockerfile_property(tmp_path, text):
    _reset(tmp_path)
    (tmp_path / "Dockerfile").write_bytes(text.encode())
    project = load_project([str(tmp_path)])
    config = Config()
    assert project.file("Dockerfile").dockerfile.problems == []
    for f in run_checks(project, config):
        if f.path != "Dockerfile":
            continue
        fix = plan_fix(f, project, config)
        if fix is None:
            continue
        outcome = check_one(project, f, fix, config)  # raises if it does not verify
        change = outcome.changes["Dockerfile"]
        damage = preserved(change.before, change.after, [e for e in fix.edits if e.path == "Dockerfile"])
        assert damage is None, (f.rule.id, damage, change.before, change.after)
    outcome = fix_all(project, config, selector(None, unsafe=True))
    assert not outcome.failed, [(f.rule.id, why) for f, why in outcome.failed]
    if outcome.project is not None and outcome.changes:
        second = fix_all(outcome.project, config, selector(None, unsafe=True))
        assert not second.failed
        assert all(c.before == c.after for c in second.changes.values()), second.diff()


@SETTINGS
@given(dockerfiles())
def test_dockerfile_fixes_on_generated_files(tmp_path, text):
    _dockerfile_property(tmp_path, text)


@pytest.mark.fuzz
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dockerfiles())
def test_dockerfile_fixes_on_generated_files_large_budget(tmp_path, text):
    _dockerfile_property(tmp_path, text)
