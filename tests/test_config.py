"""Project configuration (app/config.py) and how the engine applies it: select/ignore globs,
severity overrides, per-path ignores with reasons, `.batten.toml` and `[tool.batten]`."""

from __future__ import annotations

import pytest

from batten.config import Config, load_config, parse_config
from batten.model import Severity, UsageError
from tests.rulekit import at, findings, ids, json_findings, of

DOCKERFILE = "FROM python:3.12\nRUN pip install requests\nCMD python app.py\n"


# ---------------------------------------------------------------------------------------------
# parsing and validation
# ---------------------------------------------------------------------------------------------


def test_defaults():
    cfg = Config()
    assert cfg.enabled("user.missing")
    assert cfg.severity_for("user.missing", Severity.HIGH) is Severity.HIGH
    assert cfg.path_ignore("Dockerfile", "user.missing") is None
    assert cfg.fail_on == "high"


@pytest.mark.parametrize(("data", "message"), [
    ({"severity": {"nope.rule": "high"}}, "test: severity override for unknown rule 'nope.rule'"),
    ({"severity": {"user.missing": "urgent"}}, "test: unknown severity 'urgent' (expected one of: info, low, "
                                                "medium, high, critical)"),
    ({"severity": "high"}, "test: 'severity' must be a table of rule id = severity"),
    ({"per-path-ignores": [{"paths": ["x"], "rules": ["user.missing"]}]}, "test: per-path-ignores[0] needs a reason"),
    ({"per-path-ignores": [{"paths": ["x"], "rules": ["user.missing"], "reason": "  "}]},
     "test: per-path-ignores[0] needs a reason"),
    ({"per-path-ignores": [{"paths": [], "reason": "r"}]}, "test: per-path-ignores[0] needs paths"),
    ({"per-path-ignores": ["x"]}, "test: per-path-ignores[0] must be a table"),
    ({"select": 3}, "test: 'select' must be a string or a list of strings"),
    ({"bogus": 1, "other": 2}, "test: unknown key(s) bogus, other in batten config"),
    ({"fail-on": "urgent"}, "test: fail-on must be one of info, low, medium, high, critical, never; not 'urgent'"),
    ({"ignore": ["user.mising"]}, "test: 'ignore' names unknown rule 'user.mising'"),
    ({"select": ["limits.memroy"]}, "test: 'select' names unknown rule 'limits.memroy'"),
    ({"per-path-ignores": [{"paths": ["x"], "rules": ["nope"], "reason": "r"}]},
     "test: 'per-path-ignores[0].rules' names unknown rule 'nope'"),
])
def test_bad_config_is_a_usage_error(data, message):
    with pytest.raises(UsageError) as exc:
        parse_config(data, "test")
    assert str(exc.value).startswith(message)


def test_good_config():
    cfg = parse_config({
        "select": ["*"], "ignore": "image.*", "fail-on": "Medium",
        "severity": {"limits.cpu": "MED", "user.numeric": "warning"},
        "per-path-ignores": [{"path": "legacy/**", "rule": "user.missing", "reason": "replaced in Q3"}],
        "fix": {"user-name": "svc", "uid": 20000}, "keys": {"fix": "f"}, "exclude": ["vendor/**"],
    }, "test")
    assert cfg.ignore == ["image.*"]
    assert cfg.fail_on == "medium"
    assert cfg.severity == {"limits.cpu": Severity.MEDIUM, "user.numeric": Severity.MEDIUM}
    assert cfg.path_ignore("legacy/api/Dockerfile", "user.missing").reason == "replaced in Q3"
    assert cfg.path_ignore("legacy/api/Dockerfile", "user.final-root") is None
    assert cfg.path_ignore("legacy", "user.missing") is not None
    assert cfg.fix_value("user_name") == "svc" and cfg.fix_value("uid") == "20000"
    assert cfg.fix_value("memory") == "512M"  # checklist default
    assert cfg.excluded("vendor/x/Dockerfile")
    assert not cfg.enabled("image.latest") and cfg.enabled("user.missing")


def test_path_patterns():
    cfg = parse_config({"per-path-ignores": [
        {"paths": ["Dockerfile.dev", "services/*/compose.yaml"], "rules": ["*"], "reason": "dev only"}]}, "t")
    assert cfg.path_ignore("Dockerfile.dev", "user.missing")
    assert cfg.path_ignore("tools/Dockerfile.dev", "user.missing")  # a bare name matches in any directory
    assert cfg.path_ignore("services/api/compose.yaml", "limits.cpu")
    assert not cfg.path_ignore("compose.yaml", "limits.cpu")


# ---------------------------------------------------------------------------------------------
# effect on a scan
# ---------------------------------------------------------------------------------------------


def test_select_and_ignore_globs(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE}, {"select": ["user.*", "pkg.*"], "ignore": ["user.numeric"]})
    assert ids(fs, only_active=False) == {"user.missing", "pkg.pip-no-cache", "pkg.pin-pip"}


def test_ignored_rules_are_dropped_not_suppressed(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE}, {"ignore": ["image.*", "supply.*"]})
    assert not [f for f in fs if f.rule.id.startswith(("image.", "supply."))]


def test_severity_override(tmp_path):
    fs = findings(tmp_path, {"Dockerfile": DOCKERFILE}, {"severity": {"pkg.pip-no-cache": "high",
                                                                      "user.missing": "critical"}})
    assert of(fs, "pkg.pip-no-cache")[0].severity is Severity.HIGH
    assert of(fs, "user.missing")[0].severity is Severity.CRITICAL
    assert of(fs, "cmd.json-form")[0].severity is Severity.LOW  # untouched
    assert json_findings(fs, "pkg.pip-no-cache")[0]["severity"] == "high"


def test_per_path_ignore_keeps_the_finding_with_its_reason(tmp_path):
    cfg = {"per-path-ignores": [{"paths": ["legacy/**"], "rules": ["user.missing", "health.*"],
                                 "reason": "legacy image, replaced by services/api"}]}
    fs = findings(tmp_path, {"legacy/Dockerfile": "FROM python:3.12-slim\n", "api/Dockerfile": "FROM python:3.12-slim\n"},
                  cfg)
    assert at(fs, "user.missing", only_active=False) == [("api/Dockerfile", 1, "stage 0"),
                                                         ("legacy/Dockerfile", 1, "stage 0")]
    assert at(fs, "user.missing") == [("api/Dockerfile", 1, "stage 0")]
    for rid in ("user.missing", "health.missing-dockerfile"):
        (d,) = [x for x in json_findings(fs, rid) if x["path"] == "legacy/Dockerfile"]
        assert d["suppressed"] == "config: legacy image, replaced by services/api"
    legacy_pin = [f for f in of(fs, "image.not-digest-pinned") if f.path == "legacy/Dockerfile"]
    assert [f.suppressed for f in legacy_pin] == [None]


def test_config_wins_over_an_inline_pragma(tmp_path):
    cfg = {"per-path-ignores": [{"paths": ["Dockerfile"], "rules": ["user.missing"], "reason": "ticket 12"}]}
    fs = findings(tmp_path, {"Dockerfile": "# batten: ignore=user.missing\nFROM python:3.12-slim\n"}, cfg)
    assert of(fs, "user.missing")[0].suppressed == "config: ticket 12"


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def test_batten_toml(tmp_path):
    (tmp_path / ".batten.toml").write_text(
        'ignore = ["image.*"]\nfail-on = "low"\n[severity]\n"limits.cpu" = "high"\n'
        '[[per-path-ignores]]\npaths = ["old/**"]\nrules = ["*"]\nreason = "frozen"\n')
    cfg = load_config(str(tmp_path))
    assert cfg.ignore == ["image.*"] and cfg.fail_on == "low"
    assert cfg.severity == {"limits.cpu": Severity.HIGH}
    assert cfg.path_ignores[0].reason == "frozen"
    assert cfg.source == str(tmp_path / ".batten.toml")


def test_batten_toml_with_a_tool_table(tmp_path):
    (tmp_path / ".batten.toml").write_text('[tool.batten]\nignore = ["limits.*"]\n')
    assert load_config(str(tmp_path)).ignore == ["limits.*"]


def test_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.batten]\nselect = ["user.*"]\n'
                                             '[tool.batten.severity]\n"user.numeric" = "low"\n')
    cfg = load_config(str(tmp_path))
    assert cfg.select == ["user.*"]
    assert cfg.severity == {"user.numeric": Severity.LOW}
    assert cfg.source.endswith("pyproject.toml [tool.batten]")


def test_batten_toml_is_preferred(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.batten]\nselect = ["user.*"]\n')
    (tmp_path / ".batten.toml").write_text('select = ["limits.*"]\n')
    assert load_config(str(tmp_path)).select == ["limits.*"]


def test_no_config_and_pyproject_without_section(tmp_path):
    assert load_config(str(tmp_path)).source is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(str(tmp_path)).source is None


def test_config_next_to_a_named_file(tmp_path):
    (tmp_path / ".batten.toml").write_text('ignore = ["image.*"]\n')
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    assert load_config(str(tmp_path / "Dockerfile")).ignore == ["image.*"]


def test_invalid_toml(tmp_path):
    (tmp_path / ".batten.toml").write_text("ignore = [\n")
    with pytest.raises(UsageError, match=r"\.batten\.toml: invalid TOML"):
        load_config(str(tmp_path))


def test_errors_name_the_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.batten.severity]\n"no.such-rule" = "high"\n')
    with pytest.raises(UsageError, match=r"pyproject\.toml \[tool\.batten\]: severity override for unknown rule"):
        load_config(str(tmp_path))
