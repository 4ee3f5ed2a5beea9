"""What a fix form accepts is what everything downstream reads: any value the validators
accept (as typed in a form field) is written by its fix into a file that re-scans clean, the
compose model reads it back as the same quantity, and so does the live reader that compares
it with a running container (a value that passed the form never breaks the live view)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from batten.fixers.apply import check_one
from batten.fixers.params import ParamError, memory_bytes, validate
from batten.live.drift import parse_cpus, parse_memory
from batten.live.readers import is_root_user
from batten.session import Session
from tests.test_tui_flows import DEMO

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SIZES = st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,3})? ?[kKmMgGbB]?[iI]?[bB]?", fullmatch=True)
NUMBERS = st.from_regex(r"[0-9]{0,4}(\.[0-9]{0,3})?", fullmatch=True)
USERS = st.from_regex(r"[0-9a-z_]{1,8}(:[0-9a-z_]{1,8})?", fullmatch=True)


@cache
def session() -> Session:
    return Session.open(str(DEMO), read_only=True)  # planned and verified in memory only


def written(rule: str, values: dict[str, str]) -> dict[str, Any]:
    """Plan the fix of `rule` on service app with the values, verify it (it parses and its
    finding is gone) and return the service as the compose model reads the fixed file."""
    s = session()
    finding = next(f for f in s.result.active() if f.rule.id == rule and f.target == "app")
    try:
        fix = s.plan(finding, values)
    except Exception as exc:  # a value the validators accepted must make a fix
        raise AssertionError(f"{values}: accepted but no fix: {exc}") from None
    outcome = check_one(s.result.project, finding, fix, s.result.config)
    assert outcome.project is not None
    for cp in outcome.project.compose_projects:
        if "app" in cp.services:
            return cp.services["app"].plain()
    raise AssertionError("service app is gone")


def accepted(name: str, value: str) -> str:
    try:
        return validate(name, value)
    except ParamError:
        assume(False)
        raise


def limit(service: dict[str, Any], short: str, key: str) -> Any:
    if service.get(short) not in (None, ""):
        return service[short]
    return service["deploy"]["resources"]["limits"][key]


@SETTINGS
@given(typed=st.one_of(SIZES, st.text(max_size=10)))
def test_an_accepted_memory_limit_reads_back_the_same_everywhere(typed: str) -> None:
    value = accepted("memory", typed)
    want = memory_bytes(value)
    assert parse_memory(value) == want  # the live reader agrees with the validator
    service = written("limits.memory", {"memory": typed, "memory_reservation": "4M"})
    assert parse_memory(limit(service, "mem_limit", "memory")) == want


@SETTINGS
@given(typed=st.one_of(NUMBERS, st.text(max_size=6)))
def test_accepted_cpus_read_back_the_same_everywhere(typed: str) -> None:
    value = accepted("cpus", typed)
    want = round(Decimal(value) * 1_000_000_000)
    assert parse_cpus(value) == want
    service = written("limits.memory", {"cpus": typed, "cpus_reservation": "0.01"})
    assert parse_cpus(limit(service, "cpus", "cpus")) == want


@SETTINGS
@given(typed=st.one_of(st.from_regex(r"[0-9]{1,8}", fullmatch=True), st.text(max_size=6)))
def test_an_accepted_pids_limit_reads_back_the_same(typed: str) -> None:
    value = accepted("pids_limit", typed)
    service = written("limits.pids", {"pids_limit": typed})
    declared = service.get("pids_limit", (service.get("deploy") or {}).get("resources", {}).get("limits", {}).get("pids"))
    assert int(declared) == int(value) > 0


@SETTINGS
@given(typed=st.one_of(USERS, st.text(max_size=8)))
def test_an_accepted_user_is_never_root_for_the_live_reader(typed: str) -> None:
    value = accepted("user", typed)
    assume(value)  # empty: the image's own user (no edit)
    service = written("compose.user-unset", {"user": typed})
    assert str(service["user"]) == value
    assert not is_root_user(str(service["user"]))


@pytest.mark.parametrize("typed", ["64MXZ", "7 7M", "-1M", "1e3M", "0", "512M: x", "1M"])
def test_values_the_live_view_could_not_read_are_refused(typed: str) -> None:
    with pytest.raises(ParamError):
        validate("memory", typed)
