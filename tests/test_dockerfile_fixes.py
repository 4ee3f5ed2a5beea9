"""Unit tests for the Dockerfile fixers (fixers/dockerfile_fixes.py, fixers/dockerfile_util.py),
beyond the data cases under tests/fixers/cases/dockerfile, plus the corpus property: every
Dockerfile fix offered on ../shared/corpus verifies, keeps every other line and is not offered
again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batten.checks.engine import run_checks
from batten.config import Config
from batten.fixers import dockerfile_fixes
from batten.fixers.apply import apply_one, check_one, fix_all, selector
from batten.fixers.edits import apply_edits
from batten.fixers.plan import plan, plan_fix
from batten.fixers.registry import REGISTRY, NoFix
from batten.model import Applicability, Edit
from batten.sources.dockerfile import parse_dockerfile
from batten.sources.project import load_project
from batten.sources.text import SourceText

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
DF_FIXES = sorted(k for k in REGISTRY if k.startswith("df."))  # registered by the import above


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTEN_STRICT_FIXERS", "1")


def project_of(tmp_path: Path, files: dict[str, str | bytes]):
    for name, data in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return load_project([str(tmp_path)])


def findings(project, rule: str):
    return [f for f in run_checks(project, Config()) if f.rule.id == rule and not f.suppressed]


def fix_text(tmp_path: Path, text: str, rule: str, values: dict[str, str] | None = None,
             index: int = 0) -> str | None:
    """The Dockerfile after the fix of the `index`-th finding of `rule` (None: no fix)."""
    project = project_of(tmp_path, {"Dockerfile": text})
    fs = findings(project, rule)
    assert fs, f"{rule} did not fire"
    fx = plan_fix(fs[index], project, Config(), values)
    if fx is None:
        return None
    check_one(project, fs[index], fx, Config())  # verifies: parses, finding gone
    return apply_one(project, fx)["Dockerfile"]


def fix_all_text(tmp_path: Path, files: dict[str, str], rule: str, values: dict[str, str] | None = None):
    project = project_of(tmp_path, files)
    out = fix_all(project, Config(), selector([rule], unsafe=True), values)
    assert not out.failed, out.failed
    return out


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------


def test_every_fix_id_is_registered_and_every_fixer_is_reachable() -> None:
    from batten.checks.catalogue import RULES
    from batten.fixers.plan import FIX_BY_KIND, _load

    _load()
    named = {r.fix_id for r in RULES.values() if r.fix_id} | set(FIX_BY_KIND.values())
    assert named <= set(REGISTRY), named - set(REGISTRY)  # no fix id the catalogue names is missing
    assert set(REGISTRY) <= named, set(REGISTRY) - named  # and no fixer is left unreachable
    assert {rid for rid, _kind in FIX_BY_KIND} <= set(RULES)
    assert REGISTRY["df.add-user"].applicability is Applicability.UNSAFE
    assert REGISTRY["df.secret-mount"].applicability is Applicability.UNSAFE
    assert REGISTRY["df.remove-flag"].applicability is Applicability.UNSAFE
    assert REGISTRY["df.healthcheck"].applicability is Applicability.NEEDS_INPUT
    assert REGISTRY["df.fix-user-ids"].applicability is Applicability.NEEDS_INPUT
    assert {p.name for p in REGISTRY["df.add-user"].params} == {"uid", "gid", "user_name"}
    assert "healthcheck_cmd" in {p.name for p in REGISTRY["df.healthcheck"].params}
    assert "can no longer" in REGISTRY["df.add-user"].explanation
    assert "may fail" in REGISTRY["df.remove-flag"].explanation


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _doc(text: str):
    from batten.checks.catalogue import rule
    from batten.fixers.dockerfile_util import doc_for
    from batten.model import Finding

    df = parse_dockerfile(SourceText.from_text("Dockerfile", text))
    return doc_for(Finding(rule("user.missing"), "x", None, scope=df)), df


@pytest.mark.parametrize(
    ("name", "want"),
    [("DB_PASSWORD", "db-password"), ("apiKey", "api-key"), ("GITHUB_TOKEN", "github-token"),
     ("__X__", "x"), ("a.b-c", "a-b-c")],
)
def test_kebab(name: str, want: str) -> None:
    from batten.fixers.dockerfile_util import kebab

    assert kebab(name) == want


@pytest.mark.parametrize(
    ("text", "pair", "want"),
    [
        ("FROM a\nENV A=1 TOKEN=x B=2\n", "TOKEN", "FROM a\nENV A=1 B=2\n"),
        ("FROM a\nENV A=1 TOKEN=x\n", "TOKEN", "FROM a\nENV A=1\n"),
        ("FROM a\nENV TOKEN=x \\\n    A=1\n", "TOKEN", "FROM a\nENV \\\n    A=1\n"),
        ("FROM a\nENV A=1 \\\n    TOKEN=x \\\n    B=2\n", "TOKEN", "FROM a\nENV A=1 \\\n    B=2\n"),
        ("FROM a\nENV A=1 \\\n    B=2 \\\n    TOKEN=x\nRUN b\n", "TOKEN", "FROM a\nENV A=1 \\\n    B=2\nRUN b\n"),
        ("FROM a\r\nENV A=1 \\\r\n    TOKEN=x\r\n", "TOKEN", "FROM a\r\nENV A=1\r\n"),
        ("FROM a\nENV TOKEN=x\n", "TOKEN", "FROM a\n"),
        ("FROM a\nENV TOKEN=x", "TOKEN", "FROM a"),
        ("FROM a\nENV TOKEN x y\nRUN b\n", "TOKEN", "FROM a\nRUN b\n"),
        ("# escape=`\nFROM a\nENV A=1 `\n    TOKEN=x\n", "TOKEN", "# escape=`\nFROM a\nENV A=1\n"),
    ],
)
def test_remove_pair_keeps_the_instruction_valid(text: str, pair: str, want: str) -> None:
    from batten.fixers.dockerfile_util import remove_pair

    doc, df = _doc(text)
    ins = next(i for i in df.instructions if i.keyword == "ENV")
    p = next(p for p in ins.pairs() if p.key == pair)
    got = apply_edits(text, remove_pair(doc, ins, p.span))
    assert got == want
    assert not parse_dockerfile(SourceText.from_text("Dockerfile", got)).problems


@pytest.mark.parametrize(
    ("text", "style", "want"),
    [
        ("FROM a\nRUN x && y\n", "single", "FROM a\nRUN x && y && rm -rf /v\n"),
        ("FROM a\nRUN set -e; x; y\n", "single", "FROM a\nRUN set -e; x; y; rm -rf /v\n"),
        ("FROM a\nRUN x && \\\n    y\n", "trail", "FROM a\nRUN x && \\\n    y && \\\n    rm -rf /v\n"),
        ("FROM a\nRUN x \\\n\t&& y\n", "lead", "FROM a\nRUN x \\\n\t&& y \\\n\t&& rm -rf /v\n"),
        ("FROM a\nRUN x;\\\n  y\n", "trail", "FROM a\nRUN x;\\\n  y;\\\n  rm -rf /v\n"),
        ("FROM a\nRUN x && y # note\n", "single", "FROM a\nRUN x && y && rm -rf /v # note\n"),
        ("FROM a\nRUN x && \\\n    # comment\n    y\n", "trail",
         "FROM a\nRUN x && \\\n    # comment\n    y && \\\n    rm -rf /v\n"),
    ],
)
def test_append_command_follows_the_run_layout(text: str, style: str, want: str) -> None:
    from batten.fixers.dockerfile_util import append_command, run_layout

    doc, df = _doc(text)
    ins = df.instructions_named("RUN")[0]
    assert run_layout(doc, ins).style == style
    e = append_command(doc, ins, "rm -rf /v")
    assert e is not None
    assert apply_edits(text, [e]) == want


def test_insertion_point_stays_above_the_comment_block_of_cmd() -> None:
    from batten.fixers.dockerfile_util import insert_before

    text = "FROM a\nRUN x\n\n# hadolint ignore=DL3025\n# run it\n  CMD y\n"
    doc, df = _doc(text)
    e = insert_before(doc, df.instructions_named("CMD")[0], ["USER 1"])
    assert apply_edits(text, [e]) == "FROM a\nRUN x\n\n  USER 1\n# hadolint ignore=DL3025\n# run it\n  CMD y\n"


@pytest.mark.parametrize(
    ("base", "family"),
    [
        ("python:3.12-slim", "debian"), ("node:20-alpine", "alpine"), ("nginx:alpine", "alpine"),
        ("busybox:1.36", "alpine"), ("rockylinux:9", "rhel"), ("fedora:40", "rhel"),
        ("registry.access.redhat.com/ubi9/ubi", "rhel"),
        ("registry.access.redhat.com/ubi9/ubi-minimal", "rhel-minimal"),
        ("amazonlinux:2023", "rhel-minimal"), ("gcr.io/distroless/base-debian12", "distroless"),
        ("scratch", "scratch"), ("mcr.microsoft.com/windows/servercore:ltsc2022", "windows"),
        ("python:3.12-windowsservercore", "windows"), ("eclipse-temurin:21-jre", "debian"),
        ("mysql:8.4", "rhel"), ("mysql:8.0-debian", "debian"), ("example.com/x/y:1", "unknown"),
        ("mcr.microsoft.com/dotnet/aspnet:8.0", "debian"),
    ],
)
def test_image_family(base: str, family: str) -> None:
    from batten.fixers.dockerfile_util import image_family

    df = parse_dockerfile(SourceText.from_text("Dockerfile", f"FROM {base}\nCMD x\n"))
    assert image_family(df.stages[0]) == family


def test_image_family_from_package_manager_and_shell() -> None:
    from batten.fixers.dockerfile_util import image_family, user_family

    df = parse_dockerfile(SourceText.from_text("Dockerfile", "FROM corp/base:1\nRUN apk add --no-cache x\n"))
    assert image_family(df.stages[0]) == "alpine"
    df = parse_dockerfile(SourceText.from_text(
        "Dockerfile", 'FROM corp/base:1\nSHELL ["powershell", "-Command"]\n'))
    assert image_family(df.stages[0]) == "windows"
    df = parse_dockerfile(SourceText.from_text(
        "Dockerfile", "FROM amazonlinux:2023\nRUN dnf install -y shadow-utils\n"))
    assert user_family(df.stages[0]) == "rhel"
    df = parse_dockerfile(SourceText.from_text("Dockerfile", "FROM amazonlinux:2023\n"))
    assert user_family(df.stages[0]) == "numeric"


def test_parse_creation_styles() -> None:
    from batten.checks.base import run_commands
    from batten.fixers.dockerfile_util import parse_creation

    text = (
        "FROM debian:12\n"
        "RUN useradd -rm -d /home/app -s /bin/bash -g users -u1234 app"
        " && adduser --system --group svc && adduser app staff && groupadd -g 99 grp\n"
    )
    df = parse_dockerfile(SourceText.from_text("Dockerfile", text))
    st = df.stages[0]
    got = [parse_creation(rc, st, "debian") for rc in run_commands(df.instructions_named("RUN")[0])]
    useradd, adduser, member, groupadd = got
    assert useradd is not None and (useradd.name, useradd.id, useradd.group, useradd.kind) == ("app", "1234", "users", "user")
    # Debian `adduser --system --group svc`: a system user with a group of its own
    assert adduser is not None and (adduser.kind, adduser.name, adduser.style, adduser.own_group) == (
        "user", "svc", "debian", True)
    assert member is None
    assert groupadd is not None and (groupadd.kind, groupadd.id) == ("group", "99")


# ---------------------------------------------------------------------------------------------
# df.add-user
# ---------------------------------------------------------------------------------------------


def test_add_user_values_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "FROM ubuntu:24.04\nCMD [\"bash\"]\n"
    got = fix_text(tmp_path, text, "user.missing", {"uid": "4242", "gid": "4343", "user_name": "svc"})
    assert got == (
        "FROM ubuntu:24.04\n"
        "RUN groupadd --system --gid 4343 svc && useradd --system --uid 4242 --gid svc --no-log-init"
        " --create-home svc\nUSER 4242:4343\nCMD [\"bash\"]\n"
    )
    project = project_of(tmp_path, {"Dockerfile": text})
    f = findings(project, "user.missing")[0]
    for bad, reason in (({"uid": "abc"}, "uid: 'abc' is not a numeric id"), ({"uid": "0"}, "uid: 0 is root"),
                        ({"user_name": "Bad Name"}, "user_name: 'Bad Name' is not a portable user name")):
        with pytest.raises(NoFix, match=re.escape(reason)):  # a bad value is the user's, not a fixer bug
            plan(f, project, Config(), bad)
    monkeypatch.delenv("BATTEN_STRICT_FIXERS")
    assert plan_fix(f, project, Config(), {"uid": "abc"}) is None


def test_add_user_after_the_last_build_step_not_before_an_early_cmd(tmp_path: Path) -> None:
    text = "FROM debian:12\nCMD [\"a\"]\nRUN apt-get update\nCOPY x /x\n"
    got = fix_text(tmp_path, text, "user.missing")
    assert got is not None
    assert got.endswith("COPY x /x\nRUN groupadd --system --gid 10001 app && useradd --system --uid 10001"
                        " --gid app --no-log-init --create-home app\nUSER 10001:10001\n")


def test_add_user_final_root_creates_before_user_root_when_the_build_was_root(tmp_path: Path) -> None:
    text = "FROM alpine:3.20\nRUN apk add --no-cache tini\nUSER root\nENTRYPOINT [\"tini\"]\n"
    got = fix_text(tmp_path, text, "user.final-root")
    assert got == ("FROM alpine:3.20\nRUN apk add --no-cache tini\n"
                   "RUN addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app app\n"
                   "USER 10001:10001\nENTRYPOINT [\"tini\"]\n")


def test_add_user_final_root_only_numeric_replaces_the_value(tmp_path: Path) -> None:
    text = "FROM bitnami/nginx:1.27\nUSER root\nCMD [\"nginx\"]\n"
    got = fix_text(tmp_path, text, "user.final-root")
    assert got == "FROM bitnami/nginx:1.27\nUSER 10001:10001\nCMD [\"nginx\"]\n"


def test_add_user_final_root_after_a_nonroot_user_creates_after_it(tmp_path: Path) -> None:
    text = "FROM node:20-slim\nUSER node\nUSER root\nCMD [\"node\", \"app.js\"]\n"
    got = fix_text(tmp_path, text, "user.final-root")
    # the build runs as `node` before USER root: the RUN that creates the user needs the root
    # switch, so it goes after it instead of replacing it
    assert got == (
        "FROM node:20-slim\nUSER node\nUSER root\n"
        "RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-log-init"
        " --create-home app\nUSER 10001:10001\nCMD [\"node\", \"app.js\"]\n")


def test_add_user_once_for_a_compose_target_and_the_final_stage(tmp_path: Path) -> None:
    dockerfile = ("FROM python:3.12-slim AS base\nWORKDIR /app\nCOPY . .\n\n"
                  "FROM base AS prod\nCMD [\"python\", \"app.py\"]\n")
    compose = "services:\n  dev:\n    build:\n      context: .\n      target: base\n"
    out = fix_all_text(tmp_path, {"Dockerfile": dockerfile, "compose.yaml": compose}, "user.missing")
    after = out.changes["Dockerfile"].after
    assert after.count("useradd") == 1, after
    assert not findings(out.project, "user.missing")


def test_add_user_reuses_a_user_created_in_a_parent_stage(tmp_path: Path) -> None:
    text = ("FROM debian:12 AS base\nRUN useradd --create-home app\n\n"
            "FROM base\nCOPY . /home/app\nCMD [\"/home/app/run\"]\n")
    got = fix_text(tmp_path, text, "user.missing", {"uid": "2001", "gid": "2001"})
    assert got == ("FROM debian:12 AS base\nRUN useradd --uid 2001 --create-home app\n\n"
                   "FROM base\nCOPY . /home/app\nUSER 2001\nCMD [\"/home/app/run\"]\n")


@pytest.mark.parametrize(
    "run",
    ["sh -c 'useradd --create-home app'", "useradd -u $APP_UID --create-home app"],
)
def test_add_user_declines_a_user_it_cannot_give_fixed_ids(tmp_path: Path, run: str) -> None:
    text = f"FROM debian:12\nRUN {run}\nCMD [\"x\"]\n"
    assert fix_text(tmp_path, text, "user.missing") is None


def test_add_user_lowercase_crlf_end_of_stage(tmp_path: Path) -> None:
    text = "from alpine:3.20\r\nrun apk add --no-cache tini\r\ncopy app /app\r\n"
    assert fix_text(tmp_path, text, "user.missing") == (
        "from alpine:3.20\r\nrun apk add --no-cache tini\r\ncopy app /app\r\n"
        "run addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app app\r\nuser 10001:10001\r\n")


def test_add_user_declines_when_the_name_is_taken_by_a_group(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN groupadd -g 500 app\nCMD [\"x\"]\n"
    assert fix_text(tmp_path, text, "user.missing") is None


# ---------------------------------------------------------------------------------------------
# df.fix-user-ids, df.numeric-user, df.drop-sudo
# ---------------------------------------------------------------------------------------------


def test_fix_user_ids_matches_short_option_style(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN useradd -m -s /bin/sh app\nUSER app\n"
    assert fix_text(tmp_path, text, "user.unfixed-id") == (
        "FROM debian:12\nRUN groupadd -g 10001 app && useradd -u 10001 -g app -m -s /bin/sh app\nUSER app\n")


def test_fix_user_ids_not_inside_sh_c(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN sh -c 'useradd app'\nUSER app\n"
    assert fix_text(tmp_path, text, "user.unfixed-id") is None


def test_fix_user_ids_ambiguous_adduser_declines(tmp_path: Path) -> None:
    text = "FROM corp/base:1\nRUN adduser app\nUSER app\n"
    assert fix_text(tmp_path, text, "user.unfixed-id") is None


def test_numeric_user_with_group_part_and_arg_default(tmp_path: Path) -> None:
    text = ("FROM alpine:3.20\nARG UID=1500\nRUN addgroup -g 1600 grp && adduser -D -u ${UID} -G grp me\n"
            "USER me:grp\n")
    assert fix_text(tmp_path, text, "user.numeric") == (
        "FROM alpine:3.20\nARG UID=1500\nRUN addgroup -g 1600 grp && adduser -D -u ${UID} -G grp me\n"
        "USER 1500:1600\n")


def test_drop_sudo_with_options_and_path(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN /usr/bin/sudo -E -H make install\nUSER 1000\n"
    assert fix_text(tmp_path, text, "user.sudo") == "FROM debian:12\nRUN make install\nUSER 1000\n"
    text = "FROM debian:12\nRUN sudo -i make\nUSER 1000\n"
    assert fix_text(tmp_path, text, "user.sudo") is None


def test_drop_sudo_after_user_root_switch(tmp_path: Path) -> None:
    text = "FROM debian:12\nUSER 1000\nUSER root\nRUN sudo apt-get update\nUSER 1000\n"
    assert fix_text(tmp_path, text, "user.sudo") == (
        "FROM debian:12\nUSER 1000\nUSER root\nRUN apt-get update\nUSER 1000\n")


# ---------------------------------------------------------------------------------------------
# df.healthcheck
# ---------------------------------------------------------------------------------------------


def test_healthcheck_param_default_is_computed_and_settable(tmp_path: Path) -> None:
    text = "FROM python:3.12-slim\nEXPOSE 5000\nUSER 10001\nCMD [\"python\", \"app.py\"]\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    f = findings(project, "health.missing-dockerfile")[0]
    fx = plan_fix(f, project, Config())
    assert fx is not None and fx.applicability is Applicability.NEEDS_INPUT
    params = {p.name: p.default for p in fx.params}
    assert "HTTPConnection('127.0.0.1', 5000, timeout=4)" in params["healthcheck_cmd"]
    assert {p.name: p.source for p in fx.params}["healthcheck_cmd"] == "evidence"  # python:* has python
    assert params["healthcheck_interval"] == "30s"
    fx2 = plan_fix(f, project, Config(), {"healthcheck_cmd": "/bin/check", "healthcheck_timeout": "2s"})
    assert fx2 is not None
    after = apply_one(project, fx2)["Dockerfile"]
    assert "HEALTHCHECK --interval=30s --timeout=2s --start-period=10s --retries=3 CMD /bin/check\n" in after
    with pytest.raises(NoFix, match="healthcheck_interval: 'often' is not a duration"):
        plan(f, project, Config(), {"healthcheck_interval": "often"})


def test_healthcheck_config_defaults(tmp_path: Path) -> None:
    text = "FROM nginx:1.27\nRUN apt-get update && apt-get install -y curl\nEXPOSE 80\nUSER 101\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    f = findings(project, "health.missing-dockerfile")[0]
    cfg = Config(fix={"healthcheck_retries": "7"})
    fx = plan_fix(f, project, cfg)
    assert fx is not None
    assert apply_one(project, fx)["Dockerfile"].endswith(
        "USER 101\nHEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=7"
        ' CMD ["curl", "-so", "/dev/null", "http://127.0.0.1:80/"]\n')


def test_healthcheck_non_http_ports(tmp_path: Path) -> None:
    # a database port: the image's own client checks it, an HTTP probe would always fail
    text = "FROM postgres:16-alpine\nEXPOSE 5432\nUSER postgres\n"
    got = fix_text(tmp_path, text, "health.missing-dockerfile")
    assert got is not None and 'CMD pg_isready -U "${POSTGRES_USER:-postgres}"\n' in got
    text = "FROM alpine:3.20\nRUN apk add --no-cache openssh\nEXPOSE 22\nUSER 1\n"
    assert fix_text(tmp_path, text, "health.missing-dockerfile") is None
    # an HTTP port next to a non-HTTP one is the one probed
    text = "FROM alpine:3.20\nEXPOSE 22 8081\nUSER 1\n"
    got = fix_text(tmp_path, text, "health.missing-dockerfile")
    assert got is not None and '["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/"]' in got


def test_healthcheck_scratch_without_cmd_offers_nothing_but_takes_a_given_one(tmp_path: Path) -> None:
    text = "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
    assert fix_text(tmp_path, text, "health.missing-dockerfile") is None
    got = fix_text(tmp_path, text, "health.missing-dockerfile", {"healthcheck_cmd": "[\"/app\", \"-health\"]"})
    assert got is not None and 'CMD ["/app", "-health"]\nENTRYPOINT' in got


# ---------------------------------------------------------------------------------------------
# df.secret-mount
# ---------------------------------------------------------------------------------------------


def test_secret_mount_masks_the_removed_value(tmp_path: Path) -> None:
    text = ("FROM alpine:3.20\nENV API_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789AB\n"
            "RUN wget --header \"Authorization: token $API_TOKEN\" https://example.com/x\nUSER 1\n")
    project = project_of(tmp_path, {"Dockerfile": text})
    f = next(f for f in findings(project, "secret.value-hardcoded"))
    fx = plan_fix(f, project, Config())
    assert fx is not None and fx.id == "df.secret-mount"
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB" in fx.secrets
    out = fix_all(project, Config(), selector(["secret.value-hardcoded"], unsafe=True))
    diff = out.diff()
    assert "ghp_" not in diff and "••••••" in diff
    after = out.changes["Dockerfile"].after
    assert after.startswith("# syntax=docker/dockerfile:1\nFROM alpine:3.20\nRUN --mount=type=secret,"
                            "id=api-token,env=API_TOKEN wget")


def test_secret_mount_global_arg_with_stage_redeclaration(tmp_path: Path) -> None:
    text = ("ARG NPM_TOKEN\nFROM node:20-slim\nARG NPM_TOKEN\nRUN npm ci --token=$NPM_TOKEN\n"
            "USER node\n")
    project = project_of(tmp_path, {"Dockerfile": text})
    f = next(f for f in findings(project, "secret.arg-env") if f.target is None)
    fx = plan_fix(f, project, Config())
    assert fx is not None
    after = apply_one(project, fx)["Dockerfile"]
    # the first line was the removed ARG: the syntax directive takes its place
    assert after == ("# syntax=docker/dockerfile:1\nFROM node:20-slim\n"
                     "RUN --mount=type=secret,id=npm-token,env=NPM_TOKEN npm ci --token=$NPM_TOKEN\nUSER node\n")


def test_secret_mount_global_arg_used_in_from_declines(tmp_path: Path) -> None:
    text = "ARG REGISTRY_TOKEN=abc\nFROM example.com/img:$REGISTRY_TOKEN\nARG REGISTRY_TOKEN\nUSER 1\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    f = next(f for f in findings(project, "secret.arg-env") if f.target is None)
    assert plan_fix(f, project, Config()) is None


def test_secret_mount_calls_the_compose_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def hook(ctx, secret_id, env_name):
        calls.append((secret_id, env_name))
        return [Edit("compose.yaml", 0, 0, "# hooked\n")]

    monkeypatch.setattr(dockerfile_fixes, "compose_secret_edits", hook)
    text = "FROM alpine:3.20\nARG SECRET_KEY\nRUN echo $SECRET_KEY > /dev/null\nUSER 1\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    fx = plan_fix(findings(project, "secret.arg-env")[0], project, Config())
    assert calls == [("secret-key", "SECRET_KEY")]
    assert fx is not None and "compose.yaml" in fx.paths
    assert dockerfile_fixes.compose_secret_edits is hook


def test_secret_mount_without_compose_edits_only_the_dockerfile(tmp_path: Path) -> None:
    """No service builds this Dockerfile: the compose half adds nothing."""
    text = "FROM alpine:3.20\nARG DB_PASSWORD\nRUN echo $DB_PASSWORD > /dev/null\nUSER 1\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    fx = plan_fix(findings(project, "secret.arg-env")[0], project, Config())
    assert fx is not None and {e.path for e in fx.edits} == {"Dockerfile"}


def test_secret_mount_existing_syntax_pinned_by_digest_declines(tmp_path: Path) -> None:
    text = ("# syntax=docker/dockerfile:1.4@sha256:" + "a" * 64 + "\nFROM alpine:3.20\nARG DB_PASSWORD\n"
            "RUN echo $DB_PASSWORD\nUSER 1\n")
    assert fix_text(tmp_path, text, "secret.arg-env") is None


def test_secret_mount_two_secrets_in_one_pass(tmp_path: Path) -> None:
    text = ("FROM alpine:3.20\nARG DB_PASSWORD\nARG API_TOKEN\n"
            "RUN echo $DB_PASSWORD $API_TOKEN > /dev/null\nUSER 1\n")
    out = fix_all_text(tmp_path, {"Dockerfile": text}, "secret.arg-env")
    after = out.changes["Dockerfile"].after
    assert after.count("# syntax=") == 1
    assert "--mount=type=secret,id=db-password,env=DB_PASSWORD" in after
    assert "--mount=type=secret,id=api-token,env=API_TOKEN" in after
    assert "ARG" not in after


# ---------------------------------------------------------------------------------------------
# df.remove-flag, df.cmd-json, df.remove-expose, packages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "want"),
    [
        ("curl -k https://x", "curl https://x"),
        ("curl --insecure -fsSL https://x", "curl -fsSL https://x"),
        ("curl -sSkL https://x", "curl -sSL https://x"),
        ("git -c http.sslVerify=false clone https://x", "git clone https://x"),
        ("npm install --strict-ssl=false", "npm install"),
        ("yum install -y --nogpgcheck foo", "yum install -y foo"),
        ("pip install --trusted-host=x.org -r r.txt", "pip install -r r.txt"),
        ("curl -dkey=1 https://x", None),
        ("git config --global http.sslVerify false", None),
        ("npm config set strict-ssl false", None),
    ],
)
def test_remove_flag_words(tmp_path: Path, run: str, want: str | None) -> None:
    text = f"FROM debian:12\nRUN {run}\nUSER 1\n"
    project = project_of(tmp_path, {"Dockerfile": text})
    fs = [f for f in run_checks(project, Config()) if f.rule.id in ("tls.disabled", "pkg.unverified")]
    if want is None and not fs:
        return  # the rule does not fire on it: nothing to fix either
    assert fs
    fx = plan_fix(fs[0], project, Config())
    if want is None:
        assert fx is None
        return
    assert fx is not None and fx.applicability is Applicability.UNSAFE
    check_one(project, fs[0], fx, Config())
    assert apply_one(project, fx)["Dockerfile"] == f"FROM debian:12\nRUN {want}\nUSER 1\n"


def test_cmd_json_keeps_quoted_and_unicode_arguments(tmp_path: Path) -> None:
    text = "FROM debian:12\nUSER 1\nCMD echo 'hello world' \"grüße\"\n"
    assert fix_text(tmp_path, text, "cmd.json-form") == (
        'FROM debian:12\nUSER 1\nCMD ["echo", "hello world", "grüße"]\n')


def test_cmd_json_declines_backslashes(tmp_path: Path) -> None:
    text = "FROM debian:12\nUSER 1\nCMD printf a\\\\tb\n"
    assert fix_text(tmp_path, text, "cmd.json-form") is None


def test_remove_expose_first_of_continued_ports(tmp_path: Path) -> None:
    text = "FROM debian:12\nEXPOSE 22 \\\n    80\nUSER 1\n"
    assert fix_text(tmp_path, text, "ports.ssh-exposed") == "FROM debian:12\nEXPOSE \\\n    80\nUSER 1\n"


def test_apt_lists_cleanup_declines_a_heredoc_run_line(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN apt-get update && apt-get install -y curl && cat > /x <<EOF\nhi\nEOF\nUSER 1\n"
    assert fix_text(tmp_path, text, "pkg.apt-lists-cleanup") is None


def test_pip_no_cache_in_heredoc_crlf(tmp_path: Path) -> None:
    text = "FROM python:3.12-slim\r\nRUN <<EOF\r\npip install flask\r\nEOF\r\nUSER 1\r\n"
    assert fix_text(tmp_path, text, "pkg.pip-no-cache") == (
        "FROM python:3.12-slim\r\nRUN <<EOF\r\npip install --no-cache-dir flask\r\nEOF\r\nUSER 1\r\n")


def test_add_to_copy_declines_variables_and_keeps_title_case(tmp_path: Path) -> None:
    assert fix_text(tmp_path, "FROM debian:12\nADD $SRC /x\nUSER 1\n", "add.use-copy") is None
    assert fix_text(tmp_path, "FROM debian:12\nAdd a.txt /x\nUSER 1\n", "add.use-copy") == (
        "FROM debian:12\nCopy a.txt /x\nUSER 1\n")


