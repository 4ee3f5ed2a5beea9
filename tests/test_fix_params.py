"""Fix parameters: every input is validated and normalised in one place, whatever its source
(--set, the TUI form, the config, the live engine, the checklist)."""

from __future__ import annotations

import pytest

from batten.config import FIX_DEFAULTS, Config
from batten.fixers.params import KINDS, ParamError, consistent, validate, validate_all
from batten.fixers.plan import _load
from batten.fixers.registry import REGISTRY, resolve_values

_load()


def test_every_parameter_of_every_fixer_has_a_kind() -> None:
    names = {p.name for spec in REGISTRY.values() for p in spec.params}
    assert names, "no fixer declares parameters"
    assert names <= set(KINDS), f"parameters without a validator: {sorted(names - set(KINDS))}"
    for spec in REGISTRY.values():
        for p in spec.params:
            assert p.kind.hint  # the form's placeholder


def test_checklist_defaults_are_valid_and_already_normal() -> None:
    for name, value in FIX_DEFAULTS.items():
        assert validate(name, value) == value, name


GOOD = [
    ("uid", "10001", "10001"), ("uid", "0042", "42"), ("gid", "2147483647", "2147483647"),
    ("user_name", "svc-1", "svc-1"),
    ("user", "999:999", "999:999"), ("user", "postgres", "postgres"), ("user", "1000:0", "1000:0"), ("user", "", ""),
    ("memory", "512M", "512M"), ("memory", "1g", "1G"), ("memory", "1gb", "1G"), ("memory", "1.5GiB", "1536M"),
    ("memory", "512 mb", "512M"), ("memory", "6291456", "6M"), ("memory_reservation", "100000b", "100000b"),
    ("cpus", "2", "2.0"), ("cpus", "0.50", "0.5"), ("cpus", ".25", "0.25"), ("cpus_reservation", "0.01", "0.01"),
    ("pids_limit", "200", "200"),
    ("tmpfs_paths", "/tmp//cache/, /run,/tmp/cache", "/tmp/cache,/run"), ("tmpfs_paths", "", ""),
    ("tmpfs_options", "NOEXEC,nosuid,size=64M,mode=1777", "noexec,nosuid,size=64m,mode=1777"),
    ("cap_add", "cap_net_bind_service, chown,CHOWN", "NET_BIND_SERVICE,CHOWN"), ("cap_add", "", ""),
    ("bind_ip", "127.0.0.1", "127.0.0.1"), ("bind_ip", "[::1]", "::1"), ("bind_ip", "0:0::1", "::1"),
    ("network", "backend_1", "backend_1"),
    ("healthcheck_cmd", "curl -fsS http://127.0.0.1:8080/ || exit 1", "curl -fsS http://127.0.0.1:8080/ || exit 1"),
    ("healthcheck_cmd", '["/app","-health"]', '["/app", "-health"]'),
    ("healthcheck_interval", "1m30s", "1m30s"), ("healthcheck_timeout", "500MS", "500ms"),
    ("healthcheck_start_period", "0s", "0s"), ("healthcheck_retries", "3", "3"),
    ("log_max_size", "10M", "10m"), ("log_max_size", "1.5m", "1500k"), ("log_max_file", "5", "5"),
]


@pytest.mark.parametrize(("name", "value", "normal"), GOOD)
def test_accepted_values_are_normalised_once(name: str, value: str, normal: str) -> None:
    assert validate(name, value) == normal
    assert validate(name, normal) == normal  # idempotent: the same input always writes the same bytes


BAD = [
    ("uid", "abc", "not a numeric id"), ("uid", "0", "0 is root"), ("uid", "-1", "not a numeric id"),
    ("uid", "4294967295", "above 2147483647"), ("gid", "", "a value is required"),
    ("user_name", "Bad Name", "not a portable user name"), ("user_name", "root", "root"),
    ("user", "root", "root"), ("user", "0:0", "0 is root"), ("user", 'a"b', "not uid[:gid]"),
    ("memory", "5m", "below Docker's minimum of 6M"), ("memory", "lots", "not a size"),
    ("memory", "1.0000001k", "whole number of bytes"), ("memory", "1i", "not a size"),
    ("cpus", "0", "below Docker's minimum of 0.01"), ("cpus", "1e3", "not a number of CPUs"),
    ("cpus", "0.0000000001", "not a number of CPUs"),
    ("pids_limit", "-1", "not a whole number"), ("pids_limit", "0", "outside 1..4194304"),
    ("tmpfs_paths", "tmp", "not an absolute path"), ("tmpfs_paths", "/tmp:exec", "character"),
    ("tmpfs_paths", "/", "/ itself"), ("tmpfs_paths", "/a/../etc", "'..' component"),
    ("tmpfs_paths", "/a b", "character"), ("tmpfs_paths", "/a#b", "character"),
    ("tmpfs_options", "exec,noexec", "both exec and noexec"), ("tmpfs_options", "size=1;rm", "bad value"),
    ("tmpfs_options", "bogus", "not a tmpfs mount option"), ("tmpfs_options", "size=1m,size=2m", "twice"),
    ("cap_add", "ALL", "ALL would undo"), ("cap_add", "NET_FOO", "not a Linux capability"),
    ("bind_ip", "0.0.0.0", "every interface"), ("bind_ip", "::", "every interface"),
    ("bind_ip", "localhost", "not an IP address"),
    ("network", "host", "Docker defines itself"), ("network", "a b", "not a network name"),
    ("healthcheck_cmd", "curl x \\", "line-continuation"), ("healthcheck_cmd", '["curl", 1]', "not a JSON list of strings"),
    ("healthcheck_cmd", "[curl", "not a JSON list of strings"),
    ("healthcheck_interval", "30", "not a duration"), ("healthcheck_timeout", "0s", "minimum of 1ms"),
    ("healthcheck_interval", "48h", "above 24h"), ("healthcheck_retries", "x", "not a whole number"),
    ("log_max_size", "10", "below 1k"), ("log_max_file", "0", "outside 1..100"),
    ("nonsense", "1", "unknown parameter"),
]


@pytest.mark.parametrize(("name", "value", "reason"), BAD)
def test_refused_values_name_the_parameter_and_the_reason(name: str, value: str, reason: str) -> None:
    with pytest.raises(ParamError) as exc:
        validate(name, value)
    assert exc.value.name == name
    assert reason in exc.value.reason
    assert str(exc.value) == f"{name}: {exc.value.reason}"
    assert "\n" not in str(exc.value)


# values crafted to become YAML or Dockerfile syntax where they are written
HOSTILE = ["512M\nprivileged: true", '1000"\n    privileged: true\n#', "a\rb", "x\x1b[31m", "/tmp\u2028/x",
           "1\x00", "a" * 5000]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_no_kind_lets_a_line_break_or_control_character_through(name: str) -> None:
    for value in HOSTILE:
        with pytest.raises(ParamError):
            validate(name, value)


def test_a_reservation_above_its_limit_is_refused_when_chosen_and_lowered_when_a_default() -> None:
    with pytest.raises(ParamError, match="memory_reservation: 1G is above the memory limit 512M"):
        validate_all({"memory": "512M", "memory_reservation": "1G"})
    with pytest.raises(ParamError, match=r"cpus_reservation: 2\.0 is above the cpus limit 1\.0"):
        validate_all({"cpus": "1", "cpus_reservation": "2"})
    assert validate_all({"memory": "1G", "memory_reservation": "1024M"})["memory_reservation"] == "1G"
    got = consistent({"memory": "64M", "memory_reservation": "256M", "cpus": "0.25", "cpus_reservation": "0.5"},
                     {"memory": "live", "memory_reservation": "checklist", "cpus": "user"})
    assert got == {"memory": "64M", "memory_reservation": "32M", "cpus": "0.25", "cpus_reservation": "0.12"}


def test_resolved_values_are_validated_whatever_their_source() -> None:
    spec = REGISTRY["co.limits"]
    # a hostile engine: its values are ignored, the next source is used
    values, sources = resolve_values(spec, Config(), None, {"memory": "1G\nprivileged: true", "cpus": "0.25"})
    assert values["memory"] == "512M" and sources["memory"] == "checklist"
    assert values["cpus"] == "0.25" and sources["cpus"] == "live"
    assert values["cpus_reservation"] == "0.12"  # the checklist's 0.5 would be above the live limit
    # the user and the config are told
    with pytest.raises(ParamError, match="memory: 'lots' is not a size"):
        resolve_values(spec, Config(), {"memory": "lots"})
    with pytest.raises(ParamError, match=r"in the config's fix table"):
        resolve_values(spec, Config(fix={"memory": "lots"}))
    values, _ = resolve_values(spec, Config(fix={"memory": "2g"}), {"cpus": "4"})
    assert values["memory"] == "2G" and values["cpus"] == "4.0"


def test_a_declined_fix_keeps_its_reason_on_the_finding(tmp_path) -> None:
    from batten.checks.engine import run_checks
    from batten.fixers.plan import attach_fix
    from batten.sources.project import load_project

    (tmp_path / "Dockerfile").write_text("FROM debian:12\nCMD [\"bash\"]\n")
    project = load_project([str(tmp_path)])
    f = next(f for f in run_checks(project, Config()) if f.rule.id == "user.missing")
    assert attach_fix(f, project, Config()) is not None and f.no_fix is None
    assert attach_fix(f, project, Config(fix={"uid": "abc"})) is None
    assert f.fix is None and f.no_fix == "uid: 'abc' is not a numeric id (in the config's fix table)"
    other = next(f for f in run_checks(project, Config()) if f.fix is None and f.rule.fix_id is None)
    assert attach_fix(other, project, Config()) is None and other.no_fix is None  # no remedy exists at all
