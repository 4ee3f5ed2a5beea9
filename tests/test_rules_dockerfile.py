"""Dockerfile rules (app/checks/dockerfile_rules.py): each Tier 1 rule fires, stays quiet on the
hardened form, follows multi-stage semantics and can be suppressed. Assertions name the rule,
the target stage and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batten.report import to_json
from tests.corpus import require_corpus
from tests.rulekit import active, at, dockerfile, findings, ids, json_findings, lines, of, targets

# a hardened final stage: numeric non-root USER, HEALTHCHECK, exec-form CMD, pinned base
HARDENED_TAIL = """
USER 10001:10001
HEALTHCHECK CMD ["/app", "health"]
CMD ["/app"]
"""
PINNED = "alpine:3.20@sha256:" + "a" * 64


def df(tmp_path: Path, text: str, extra: dict | None = None, **kw):
    return dockerfile(tmp_path, text, extra, **kw)


# ---------------------------------------------------------------------------------------------
# user.missing / user.final-root / user.numeric
# ---------------------------------------------------------------------------------------------


class TestUserMissing:
    def test_fires_on_the_final_stage_from_line(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12-slim
            CMD ["python"]
            """)
        assert at(fs, "user.missing") == [("Dockerfile", 1, "stage 0")]
        (f,) = of(fs, "user.missing")
        assert "python:3.12-slim runs as root" in f.message

    def test_quiet_with_a_non_root_user(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\n" + HARDENED_TAIL)
        assert "user.missing" not in ids(fs)
        assert "user.final-root" not in ids(fs)
        assert "user.numeric" not in ids(fs)

    def test_builder_stage_running_as_root_is_fine(self, tmp_path):
        fs = df(tmp_path, """
            FROM golang:1.22 AS build
            RUN go build -o /out/app .
            FROM gcr.io/distroless/static-debian12:nonroot
            COPY --from=build /out/app /app
            ENTRYPOINT ["/app"]
            """)
        assert "user.missing" not in ids(fs)
        assert "user.final-root" not in ids(fs)

    def test_only_the_final_stage_is_reported(self, tmp_path):
        fs = df(tmp_path, """
            FROM golang:1.22 AS build
            RUN go build -o /out/app .
            FROM debian:12-slim AS runtime
            COPY --from=build /out/app /app
            CMD ["/app"]
            """)
        assert at(fs, "user.missing") == [("Dockerfile", 3, "runtime")]

    def test_user_in_a_parent_stage_counts(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12-slim AS base
            RUN useradd -u 10001 app
            USER 10001
            FROM base AS final
            CMD ["python"]
            """)
        assert "user.missing" not in ids(fs)
        assert "user.final-root" not in ids(fs)

    def test_root_in_a_parent_stage_is_inherited(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12-slim AS base
            USER root
            FROM base AS final
            CMD ["python"]
            """)
        assert at(fs, "user.final-root") == [("Dockerfile", 2, "final")]
        assert "inherited from stage 'base'" in of(fs, "user.final-root")[0].message

    @pytest.mark.parametrize("base", [
        "gcr.io/distroless/static-debian12:nonroot",
        "gcr.io/distroless/python3-debian12:nonroot",
        "gcr.io/distroless/base-debian12:debug-nonroot",
        "cgr.dev/chainguard/python:latest",
        "docker:27-dind-rootless",
        "nginxinc/nginx-unprivileged:1.27",
        "mcr.microsoft.com/windows/nanoserver:ltsc2022",
        "mcr.microsoft.com/windows/nanoserver-insider:10.0.17046.1000",
        "kibana:7.16.1",
    ])
    def test_non_root_bases_need_no_user(self, tmp_path, base):
        fs = df(tmp_path, f"FROM {base}\nCMD [\"x\"]\n")
        assert "user.missing" not in ids(fs)

    @pytest.mark.parametrize("base", [
        "gcr.io/distroless/python3-debian12",  # default tag runs as root
        "gcr.io/distroless/static-debian12:latest",
        "python:3.12-slim",
    ])
    def test_root_bases_need_a_user(self, tmp_path, base):
        fs = df(tmp_path, f"FROM {base}\nCMD [\"x\"]\n")
        assert at(fs, "user.missing") == [("Dockerfile", 1, "stage 0")]

    def test_scratch_with_an_entrypoint_runs_as_root(self, tmp_path):
        fs = df(tmp_path, """
            FROM golang:1.22 AS build
            RUN CGO_ENABLED=0 go build -o /app .
            FROM scratch
            COPY --from=build /app /app
            ENTRYPOINT ["/app"]
            """)
        assert at(fs, "user.missing") == [("Dockerfile", 3, "stage 1")]
        assert "FROM scratch" in of(fs, "user.missing")[0].message

    def test_scratch_export_stage_without_a_command_is_not_a_container(self, tmp_path):
        # docker/compose's own Dockerfile ends with such a stage (files for `--output`)
        fs = df(tmp_path, """
            FROM golang:1.22 AS build
            RUN go build -o /out/app .
            FROM scratch AS binary
            COPY --from=build /out/app /
            """)
        assert "user.missing" not in ids(fs)
        assert "health.missing-dockerfile" not in ids(fs)

    def test_compose_build_target_is_judged_too(self, tmp_path):
        fs = findings(tmp_path, {
            "Dockerfile": """
                FROM python:3.12-slim AS dev
                CMD ["python"]
                FROM python:3.12-slim AS prod
                USER 10001
                HEALTHCHECK CMD ["true"]
                CMD ["python"]
                """,
            "compose.yaml": """
                services:
                  web:
                    build:
                      context: .
                      target: dev
                """,
        })
        assert at(fs, "user.missing") == [("Dockerfile", 1, "dev")]
        assert at(fs, "health.missing-dockerfile") == [("Dockerfile", 1, "dev")]

    def test_target_that_is_fine_leaves_the_final_stage_judged(self, tmp_path):
        # documents current behaviour: the final stage is always judged (it is what `docker
        # build .` produces), a compose build.target adds its stage to the runtime set
        fs = findings(tmp_path, {
            "Dockerfile": """
                FROM python:3.12-slim AS prod
                USER 10001
                CMD ["python"]
                FROM prod AS test
                USER root
                """,
            "compose.yaml": "services:\n  web:\n    build: {context: ., target: prod}\n",
        })
        assert at(fs, "user.final-root") == [("Dockerfile", 5, "test")]

    def test_windows_base_message_names_container_administrator(self, tmp_path):
        fs = df(tmp_path, "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD [\"cmd\"]\n")
        (f,) = of(fs, "user.missing")
        assert "ContainerAdministrator" in f.message


class TestUserFinalRoot:
    @pytest.mark.parametrize("user", ["root", "0", "root:root", "0:0", "root:1000", "0:root"])
    def test_root_forms(self, tmp_path, user):
        fs = df(tmp_path, f"FROM {PINNED}\nUSER {user}\nCMD [\"x\"]\n")
        assert at(fs, "user.final-root") == [("Dockerfile", 2, "stage 0")]
        assert "user.missing" not in ids(fs)

    @pytest.mark.parametrize("user", ["10001", "10001:10001", "app", "$APP_UID", "rootless"])
    def test_non_root_forms(self, tmp_path, user):
        fs = df(tmp_path, f"FROM {PINNED}\nUSER {user}\n")
        assert "user.final-root" not in ids(fs)
        assert "user.missing" not in ids(fs)

    def test_last_user_wins(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nUSER root\nRUN apk add --no-cache curl\nUSER 10001\n")
        assert "user.final-root" not in ids(fs)
        fs = df(tmp_path, f"FROM {PINNED}\nUSER 10001\nUSER root\n")
        assert lines(fs, "user.final-root") == [3]

    def test_builder_ending_as_root_is_fine(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            USER root
            RUN echo build
            FROM {PINNED}
            USER 10001
            """)
        assert "user.final-root" not in ids(fs)

    def test_lowercase_instructions_and_crlf(self, tmp_path):
        fs = df(tmp_path, b"from alpine:3.20\r\nrun echo hi\r\nuser root\r\n")
        assert at(fs, "user.final-root") == [("Dockerfile", 3, "stage 0")]

    def test_suppressed_on_the_line_before(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\n# batten: ignore=user.final-root -- needs raw sockets\nUSER root\n")
        (f,) = of(fs, "user.final-root")
        assert f.suppressed == "inline: batten: ignore=user.final-root (needs raw sockets)"
        assert "user.final-root" not in ids(fs)


class TestUserNumeric:
    def test_named_user_is_info(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nRUN adduser -D -u 10001 app\nUSER app\n")
        assert at(fs, "user.numeric") == [("Dockerfile", 3, "stage 0")]
        assert of(fs, "user.numeric")[0].severity.label == "info"

    def test_numeric_user_is_quiet(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nUSER 10001:10001\n")
        assert "user.numeric" not in ids(fs)

    def test_windows_accounts_have_no_numeric_id(self, tmp_path):
        fs = df(tmp_path, "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nUSER ContainerUser\n")
        assert "user.numeric" not in ids(fs)
        # a PowerShell SHELL marks a Windows stage even on an unknown base
        fs = df(tmp_path, 'FROM example/base:1\nSHELL ["powershell", "-Command"]\nUSER ContainerUser\n')
        assert "user.numeric" not in ids(fs)


# ---------------------------------------------------------------------------------------------
# user.unfixed-id / user.sudo
# ---------------------------------------------------------------------------------------------


class TestUserUnfixedId:
    def test_useradd_and_groupadd_without_ids(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED}
            RUN groupadd app && \\
                useradd -g app app
            USER app
            """)
        found = sorted((f.line, f.message.split()[0]) for f in of(fs, "user.unfixed-id"))
        assert found == [(2, "groupadd"), (3, "useradd")]
        assert targets(fs, "user.unfixed-id") == {"stage 0"}

    def test_fixed_ids_are_quiet(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED}
            RUN groupadd -g 10001 app && useradd -u 10001 -g app app
            RUN addgroup -S -g 10002 web && adduser -S -D -u 10002 -G web web
            RUN addgroup --system --gid 10003 svc && adduser --system --uid 10003 --ingroup svc svc
            USER 10001
            """)
        assert "user.unfixed-id" not in ids(fs)

    def test_option_values_are_not_operands(self, tmp_path):
        # regressions from the corpus: `addgroup --gid 666 browsh` was read as "add user 666
        # to group browsh" and reported as a user without -u; `adduser ... --ingroup docker
        # vscode` was read as a member-add and skipped
        fs = df(tmp_path, f"""
            FROM {PINNED}
            RUN addgroup --gid 666 browsh
            RUN addgroup -g 70 -S postgres
            RUN adduser -S --shell /bin/bash --ingroup docker vscode
            RUN adduser -D -S -s /usr/bin/git-shell -h /home/git -g git git
            USER 10001
            """)
        found = sorted((f.line, f.message) for f in of(fs, "user.unfixed-id"))
        assert [ln for ln, _m in found] == [4, 5]
        assert all(m.startswith("adduser creates a user without -u/--uid") for _l, m in found)

    def test_adding_a_member_to_a_group_creates_nothing(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nRUN adduser app staff && addgroup app wheel\nUSER 10001\n")
        assert "user.unfixed-id" not in ids(fs)

    def test_builder_stages_are_not_shipped(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            RUN useradd builder
            FROM {PINNED}
            USER 10001
            """)
        assert "user.unfixed-id" not in ids(fs)

    def test_heredoc_body_is_checked(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED}
            RUN <<EOF
            set -e
            useradd -m vscode
            EOF
            USER 10001
            """)
        assert at(fs, "user.unfixed-id") == [("Dockerfile", 4, "stage 0")]


class TestUserSudo:
    def test_fires_in_any_stage(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            RUN sudo apk add --no-cache git
            FROM {PINNED}
            RUN apk add --no-cache sudo && sudo -u nobody true
            USER 10001
            """)
        assert at(fs, "user.sudo") == [("Dockerfile", 2, "build"), ("Dockerfile", 4, "stage 1")]

    def test_quiet_without_sudo(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nRUN apk add --no-cache git\nUSER 10001\n")
        assert "user.sudo" not in ids(fs)

    def test_hadolint_pragma(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\n# hadolint ignore=DL3004\nRUN sudo true\nUSER 10001\n")
        (f,) = of(fs, "user.sudo")
        assert f.suppressed == "inline: hadolint ignore=DL3004"


# ---------------------------------------------------------------------------------------------
# ports.ssh-exposed / health.missing-dockerfile / mount.docker-socket
# ---------------------------------------------------------------------------------------------


class TestSshExposed:
    def test_fires_for_22_and_ranges(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nEXPOSE 80 22/tcp\nEXPOSE 20-25\nUSER 10001\n")
        assert lines(fs, "ports.ssh-exposed") == [2, 3]

    def test_quiet_for_other_ports(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nEXPOSE 80 2222 8022\nUSER 10001\n")
        assert "ports.ssh-exposed" not in ids(fs)

    def test_trivy_pragma(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\n# trivy:ignore:DS-0004\nEXPOSE 22\nUSER 10001\n")
        assert of(fs, "ports.ssh-exposed")[0].suppressed == "inline: trivy:ignore:DS-0004"


class TestHealthcheckDockerfile:
    def test_fires_on_the_final_stage_only(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            RUN echo build
            FROM {PINNED} AS app
            USER 10001
            """)
        assert at(fs, "health.missing-dockerfile") == [("Dockerfile", 3, "app")]

    def test_quiet_with_healthcheck_or_none(self, tmp_path):
        assert "health.missing-dockerfile" not in ids(df(tmp_path, f"FROM {PINNED}\n" + HARDENED_TAIL))
        assert "health.missing-dockerfile" not in ids(df(tmp_path, f"FROM {PINNED}\nHEALTHCHECK NONE\n"))

    def test_healthcheck_in_a_parent_stage_counts(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS base
            HEALTHCHECK --interval=30s CMD wget -qO- http://localhost/ || exit 1
            FROM base
            USER 10001
            """)
        assert "health.missing-dockerfile" not in ids(fs)

    def test_compose_healthcheck_on_every_service_satisfies_it(self, tmp_path):
        compose = """
            services:
              a:
                build: .
                healthcheck:
                  test: ["CMD", "true"]
              b:
                build: .
                healthcheck:
                  test: ["CMD", "true"]
            """
        fs = findings(tmp_path, {"Dockerfile": f"FROM {PINNED}\nUSER 10001\n", "compose.yaml": compose})
        assert "health.missing-dockerfile" not in ids(fs)
        assert "health.missing-compose" not in ids(fs)

    def test_one_service_without_healthcheck_keeps_it(self, tmp_path):
        compose = """
            services:
              a:
                build: .
                healthcheck:
                  test: ["CMD", "true"]
              b:
                build: .
            """
        fs = findings(tmp_path, {"Dockerfile": f"FROM {PINNED}\nUSER 10001\n", "compose.yaml": compose})
        assert at(fs, "health.missing-dockerfile") == [("Dockerfile", 1, "stage 0")]
        assert at(fs, "health.missing-compose") == [("compose.yaml", 6, "b")]

    def test_windows_images_are_skipped(self, tmp_path):
        fs = df(tmp_path, "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nUSER ContainerUser\n")
        assert "health.missing-dockerfile" not in ids(fs)

    def test_suppressed_on_the_from_line(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED} AS build\n# batten: ignore=health.missing-dockerfile\nFROM {PINNED}\nUSER 1\n")
        (f,) = of(fs, "health.missing-dockerfile")
        assert (f.line, f.target) == (3, "stage 1")
        assert f.suppressed is not None


class TestVolumeSocket:
    def test_volume_of_the_docker_socket(self, tmp_path):
        fs = df(tmp_path, f'FROM {PINNED}\nVOLUME ["/var/run/docker.sock"]\nVOLUME /data\nUSER 10001\n')
        assert at(fs, "mount.docker-socket") == [("Dockerfile", 2, "stage 0")]


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


class TestSecretArgEnv:
    def test_env_password_fires_both_rules_and_never_shows_the_value(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nENV DB_PASSWORD=hunter2\nUSER 10001\n")
        assert at(fs, "secret.arg-env") == [("Dockerfile", 2, "stage 0")]
        assert at(fs, "secret.value-hardcoded") == [("Dockerfile", 2, "stage 0")]
        doc = to_json(fs, [])
        assert "hunter2" not in doc
        assert all("hunter2" not in f.message for f in fs)
        (vh,) = of(fs, "secret.value-hardcoded")
        src = (tmp_path / "Dockerfile").read_text()
        assert [src[s.start:s.end] for s in vh.secrets] == ["hunter2"]

    def test_arg_without_value_is_only_a_name_finding(self, tmp_path):
        fs = df(tmp_path, f"ARG NPM_TOKEN\nFROM {PINNED}\nARG GITHUB_TOKEN\nUSER 10001\n")
        assert at(fs, "secret.arg-env") == [("Dockerfile", 1, None), ("Dockerfile", 3, "stage 0")]
        assert "secret.value-hardcoded" not in ids(fs)

    def test_legacy_env_form(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nENV API_KEY s3cr3tvalue\nUSER 10001\n")
        assert lines(fs, "secret.arg-env") == [2]
        assert lines(fs, "secret.value-hardcoded") == [2]
        assert "s3cr3tvalue" not in to_json(fs, [])

    @pytest.mark.parametrize("line", [
        "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
        "ENV PYTHON_GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305",
        "ENV PASSWORD_FILE=/run/secrets/db",
        "ENV TOKEN_URL=https://auth.example.com/token",
        "ENV KEYCLOAK_VERSION=25.0",
        "ARG SECRET_KEY_PATH=/etc/app/key",
    ])
    def test_not_secrets(self, tmp_path, line):
        fs = df(tmp_path, f"FROM {PINNED}\n{line}\nUSER 10001\n")
        assert {"secret.arg-env", "secret.value-hardcoded"}.isdisjoint(ids(fs))

    def test_reference_is_not_hardcoded(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nARG DB_PASSWORD\nENV DB_PASSWORD=${{DB_PASSWORD}}\nUSER 10001\n")
        assert lines(fs, "secret.arg-env") == [2, 3]
        assert "secret.value-hardcoded" not in ids(fs)

    def test_connection_string_with_literal_password(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nENV DATABASE_URL=postgres://app:s3cretpw@db:5432/app\nUSER 10001\n")
        assert at(fs, "secret.value-hardcoded") == [("Dockerfile", 2, "stage 0")]
        assert "secret.arg-env" not in ids(fs)
        assert "s3cretpw" not in to_json(fs, [])

    def test_connection_string_with_a_reference_is_fine(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nENV DATABASE_URL=postgres://app:${{PW}}@db/app\nUSER 10001\n")
        assert "secret.value-hardcoded" not in ids(fs)

    def test_token_in_a_run_line(self, tmp_path):
        tok = "ghp_" + "A1b2C3d4" * 5
        fs = df(tmp_path, f"FROM {PINNED}\nRUN git clone https://x:{tok}@github.com/o/r\nUSER 10001\n")
        assert lines(fs, "secret.value-hardcoded") == [2]
        assert tok not in to_json(fs, [])


class TestSecretFilesInImage:
    DF = f"FROM {PINNED}\nWORKDIR /app\nCOPY . .\nUSER 10001\n"

    def test_whole_context_with_env_and_key(self, tmp_path):
        fs = df(tmp_path, self.DF, {".env": "A=1\n", "deploy/id_rsa": "key\n", "app.py": ""})
        assert at(fs, "secret.files-in-image") == [("Dockerfile", 3, "stage 0")]
        (f,) = of(fs, "secret.files-in-image")
        assert f.evidence["files"] == [".env", "deploy/id_rsa"]

    @pytest.mark.parametrize("ignore", [
        ".env\ndeploy/id_rsa\n",
        "**/.env\n**/id_rsa\n",
        "*\n!app.py\n",
        "**\n!app.py\n",
        ".env*\n!.env.example\ndeploy\n",
        "/deploy/\n.env\n",
    ])
    def test_quiet_when_dockerignore_excludes_them(self, tmp_path, ignore):
        fs = df(tmp_path, self.DF, {".env": "A=1\n", ".env.example": "A=\n", "deploy/id_rsa": "k\n",
                                    "app.py": "", ".dockerignore": ignore})
        assert "secret.files-in-image" not in ids(fs)

    @pytest.mark.parametrize("ignore", [
        "*\n!.env\n",  # exception brings it back
        "deploy\n!deploy/id_rsa\n.env\n",  # an exception under an excluded directory
        "*\n!deploy/id_rsa\n.env\n",
        ".env\nid_rsa\n",  # id_rsa matches only at the context root
    ])
    def test_exceptions_and_anchoring(self, tmp_path, ignore):
        fs = df(tmp_path, self.DF, {".env": "A=1\n", "deploy/id_rsa": "k\n", ".dockerignore": ignore})
        assert lines(fs, "secret.files-in-image") == [3]

    def test_copy_of_a_directory_holding_secrets(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nCOPY src/ /app/\nCOPY ./docs /docs\nCOPY conf /etc/app\nUSER 1\n",
                {"src/.env": "A=1\n", "src/main.py": "", "docs/index.md": "", "conf/id_ed25519": "k\n",
                 ".dockerignore": "conf/id_ed25519\n"})
        (f,) = of(fs, "secret.files-in-image")
        assert (f.line, f.evidence["files"]) == (2, ["src/.env"])
        assert f.message == ("COPY src/ copies a directory of the build context, which holds src/.env "
                             "(not excluded by .dockerignore)")

    def test_explicit_copy_of_a_key_file(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nCOPY id_rsa /root/.ssh/id_rsa\nCOPY .env.example /app/\nUSER 10001\n")
        assert at(fs, "secret.files-in-image") == [("Dockerfile", 2, "stage 0")]

    def test_copy_from_another_stage_is_not_the_context(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED} AS b\nCOPY . .\nFROM {PINNED}\nCOPY --from=b /app /app\nUSER 1\n",
                {".dockerignore": ".env\n", ".env": "x"})
        assert "secret.files-in-image" not in ids(fs)

    def test_context_comes_from_compose(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": "services:\n  a:\n    build: ./svc\n",
            "svc/Dockerfile": self.DF,
            "svc/.env": "SECRET=1\n",
            ".env": "ROOT=1\n",  # outside the build context
        })
        (f,) = of(fs, "secret.files-in-image")
        assert (f.path, f.line, f.evidence["files"]) == ("svc/Dockerfile", 3, [".env"])

    def test_suppressed_by_config_per_path(self, tmp_path):
        cfg = {"per-path-ignores": [{"paths": ["Dockerfile"], "rules": ["secret.files-in-image"],
                                     "reason": "context is generated in CI"}]}
        fs = df(tmp_path, self.DF, {".env": "A=1\n"}, config=cfg)
        (f,) = of(fs, "secret.files-in-image")
        assert f.suppressed == "config: context is generated in CI"


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------


class TestImages:
    def test_one_finding_per_image(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM golang AS a
            FROM redis:latest AS b
            FROM python:3.12-slim AS c
            FROM {PINNED} AS d
            FROM alpine:latest@sha256:{'b' * 64}
            USER 10001
            """)
        img = {f.rule.id: f.line for f in fs if f.rule.id.startswith("image.") and f.rule.id != "image.not-minimal"}
        assert img == {"image.untagged": 1, "image.latest": 2, "image.not-digest-pinned": 3}
        per_line = [f.line for f in fs if f.rule.id in ("image.untagged", "image.latest", "image.not-digest-pinned")]
        assert sorted(per_line) == [1, 2, 3]

    def test_scratch_and_stage_refs_are_skipped_unresolved_vars_need_a_digest(self, tmp_path):
        fs = df(tmp_path, f"""
            ARG BASE
            FROM {PINNED} AS build
            FROM build AS test
            FROM $BASE AS custom
            FROM ${{REGISTRY:-}}/app AS maybe
            FROM scratch
            USER 10001
            """)
        assert {"image.untagged", "image.latest"}.isdisjoint(ids(fs))
        # whatever the build argument names, only a digest fixes the image
        assert lines(fs, "image.not-digest-pinned") == [4, 5]

    def test_arg_defaults_are_resolved_in_from(self, tmp_path):
        fs = df(tmp_path, """
            ARG PY=3.12
            ARG BASE=python:${PY}-slim
            FROM ${BASE}
            ARG IGNORED=latest
            USER 10001
            """)
        (f,) = of(fs, "image.not-digest-pinned")
        assert (f.line, f.evidence["image"]) == (3, "python:3.12-slim")

    def test_arg_default_latest(self, tmp_path):
        fs = df(tmp_path, "ARG TAG=latest\nFROM nginx:$TAG\nUSER 101\n")
        assert lines(fs, "image.latest") == [2]

    def test_not_minimal_only_for_runtime_stages(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12 AS build
            RUN pip wheel --no-cache-dir -w /w .
            FROM python:3.12
            USER 10001
            """)
        assert at(fs, "image.not-minimal") == [("Dockerfile", 3, "stage 1")]

    @pytest.mark.parametrize("base", ["python:3.12-slim", "node:20-alpine", "eclipse-temurin:21-jre",
                                      "python:3.14-windowsservercore-ltsc2022", "golang:1.9-nanoserver"])
    def test_minimal_or_windows_bases(self, tmp_path, base):
        assert "image.not-minimal" not in ids(df(tmp_path, f"FROM {base}\nUSER 1\n"))

    def test_ignore_file_pragma(self, tmp_path):
        fs = df(tmp_path, "# batten: ignore-file=image.*\nFROM redis:latest\nUSER 999\n")
        (f,) = of(fs, "image.latest")
        assert f.suppressed == "inline: batten: ignore-file=image.*"
        assert not [x for x in active(fs) if x.rule.id.startswith("image.")]


# ---------------------------------------------------------------------------------------------
# package hygiene (shipped stages only)
# ---------------------------------------------------------------------------------------------


class TestApt:
    def test_fires_on_shipped_stage(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN apt-get update && apt-get install -y curl
            USER 10001
            """)
        assert at(fs, "pkg.apt-no-recommends") == [("Dockerfile", 2, "stage 0")]
        assert at(fs, "pkg.apt-lists-cleanup") == [("Dockerfile", 2, "stage 0")]

    def test_hardened_form_is_quiet(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN apt-get update \\
             && apt-get install -y --no-install-recommends curl \\
             && rm -rf /var/lib/apt/lists/*
            USER 10001
            """)
        assert {"pkg.apt-no-recommends", "pkg.apt-lists-cleanup"}.isdisjoint(ids(fs))

    def test_builder_stages_ship_nothing(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12 AS build
            RUN apt-get update && apt-get install -y gcc
            FROM debian:12-slim
            USER 10001
            """)
        assert {"pkg.apt-no-recommends", "pkg.apt-lists-cleanup"}.isdisjoint(ids(fs))

    def test_parent_of_the_final_stage_ships(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim AS base
            RUN apt-get update && apt-get install -y curl
            FROM base
            USER 10001
            """)
        assert at(fs, "pkg.apt-no-recommends") == [("Dockerfile", 2, "base")]

    def test_cache_mount_keeps_lists_out_of_the_layer(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN --mount=type=cache,target=/var/lib/apt --mount=type=cache,target=/var/cache/apt \\
                apt-get update && apt-get install -y --no-install-recommends curl
            USER 10001
            """)
        assert "pkg.apt-lists-cleanup" not in ids(fs)

    def test_apt_get_dist_clean_counts_as_cleanup(self, tmp_path):
        # docker-library trixie images end their RUNs with `apt-get dist-clean`
        fs = df(tmp_path, """
            FROM debian:trixie-slim
            RUN set -eux; apt-get update; apt-get install -y --no-install-recommends tzdata; apt-get dist-clean
            USER 10001
            """)
        assert "pkg.apt-lists-cleanup" not in ids(fs)

    def test_simulated_install_installs_nothing(self, tmp_path):
        # docker-library/postgres: `if apt-get install -s "pkg" > /dev/null; then ...`
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN apt-get update; \\
                if apt-get install -s pkg > /dev/null 2>&1; then apt-get install -y --no-install-recommends pkg; fi; \\
                rm -rf /var/lib/apt/lists/*
            USER 10001
            """)
        assert "pkg.apt-no-recommends" not in ids(fs)

    def test_apt_config_turning_recommends_off(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/99norec
            RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
            USER 10001
            """)
        assert "pkg.apt-no-recommends" not in ids(fs)

    def test_heredoc_and_sh_c_bodies(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            RUN <<EOF
            apt-get update
            apt-get install -y jq
            EOF
            RUN sh -c 'apt-get install -y --no-install-recommends vim'
            USER 10001
            """)
        assert lines(fs, "pkg.apt-no-recommends") == [4]
        assert lines(fs, "pkg.apt-lists-cleanup") == [4, 6]

    def test_hadolint_pragma_with_two_ids(self, tmp_path):
        fs = df(tmp_path, """
            FROM debian:12-slim
            # hadolint ignore=DL3008,DL3015
            RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
            USER 10001
            """)
        (f,) = of(fs, "pkg.apt-no-recommends")
        assert f.suppressed == "inline: hadolint ignore=DL3008,DL3015"


class TestApkPip:
    def test_apk(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            RUN apk add build-base
            FROM {PINNED}
            RUN apk add curl
            RUN apk add --no-cache jq
            RUN --mount=type=cache,target=/var/cache/apk apk add git
            run apk add make
            USER 10001
            """)
        assert at(fs, "pkg.apk-no-cache") == [("Dockerfile", 4, "stage 1"), ("Dockerfile", 7, "stage 1")]

    def test_pip(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12-slim
            RUN pip install requests
            RUN python3 -m pip install flask
            RUN pip install --no-cache-dir httpx
            RUN --mount=type=cache,target=/root/.cache/pip pip install rich
            RUN --mount=type=cache,target=/home/app/.cache,uid=10001 pip install --user rich
            RUN --mount=type=cache,target=/root/.cache pip install rich
            RUN pip3 download requests
            USER 10001
            """)
        assert lines(fs, "pkg.pip-no-cache") == [2, 3]

    def test_messages_name_the_command_but_never_a_credential(self, tmp_path):
        # two findings of one rule in one stage differ by message (their fingerprint)
        fs = df(tmp_path, """
            FROM python:3.12-slim
            RUN pip install --upgrade pip
            RUN pip install -r requirements.txt
            RUN pip install --index-url https://ci:hunter2@pypi.example.com/simple private-pkg
            USER 10001
            """)
        msgs = [f.message for f in of(fs, "pkg.pip-no-cache")]
        assert msgs == ["pip install without --no-cache-dir: pip install --upgrade pip",
                        "pip install without --no-cache-dir: pip install -r requirements.txt",
                        "pip install without --no-cache-dir"]
        assert len({f.fingerprint() for f in of(fs, "pkg.pip-no-cache")}) == 3
        assert "hunter2" not in to_json(fs, [])

    def test_pip_no_cache_dir_env(self, tmp_path):
        fs = df(tmp_path, """
            FROM python:3.12-slim AS base
            ENV PIP_NO_CACHE_DIR=1
            FROM base
            RUN pip install requests
            USER 10001
            """)
        assert "pkg.pip-no-cache" not in ids(fs)

    def test_kics_pragma(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\n# kics-scan ignore-line\nRUN apk add curl\nUSER 10001\n")
        assert of(fs, "pkg.apk-no-cache")[0].suppressed == "inline: kics-scan ignore-line"


# ---------------------------------------------------------------------------------------------
# verification and TLS
# ---------------------------------------------------------------------------------------------


class TestVerification:
    @pytest.mark.parametrize("run", [
        "apk add --no-cache --allow-untrusted /tmp/x.apk",
        "apt-get install -y --no-install-recommends --allow-unauthenticated foo",
        "yum install -y --nogpgcheck foo",
        "dnf install -y --nogpgcheck foo",
        "rpm -i --nosignature foo.rpm",
        "apt-get install -y --no-install-recommends --force-yes foo",
    ])
    def test_unverified(self, tmp_path, run):
        fs = df(tmp_path, f"FROM {PINNED} AS b\nRUN {run}\nFROM {PINNED}\nUSER 1\n")
        # a builder that installs unverified packages still produces what ships: every stage counts
        assert at(fs, "pkg.unverified") == [("Dockerfile", 2, "b")]

    @pytest.mark.parametrize("run", [
        "apk add --no-cache curl",
        "apt-get install -y --no-install-recommends foo",
        "rpm -i foo.rpm",
        "yum install -y foo",
    ])
    def test_verified(self, tmp_path, run):
        assert "pkg.unverified" not in ids(df(tmp_path, f"FROM {PINNED}\nRUN {run}\nUSER 1\n"))

    @pytest.mark.parametrize("line", [
        "RUN curl -fsSLk https://example.com/x -o /x",
        "RUN curl --insecure https://example.com/x",
        "RUN wget --no-check-certificate https://example.com/x",
        "RUN pip install --no-cache-dir --trusted-host pypi.org requests",
        "ENV NODE_TLS_REJECT_UNAUTHORIZED=0",
        "ENV PYTHONHTTPSVERIFY=0",
        "ENV GIT_SSL_NO_VERIFY=1",
        "RUN git -c http.sslVerify=false clone https://example.com/r",
        "RUN git config --global http.sslVerify false",
        "RUN npm config set strict-ssl false",
        "RUN echo sslverify=0 >> /etc/yum.conf",
    ])
    def test_tls_disabled(self, tmp_path, line):
        fs = df(tmp_path, f"FROM {PINNED}\n{line}\nUSER 1\n")
        # exactly one finding per line (git's http.sslVerify is not also read as a yum setting)
        assert at(fs, "tls.disabled") == [("Dockerfile", 2, "stage 0")]

    @pytest.mark.parametrize("line", [
        "RUN curl -fsSL https://example.com/x -o /usr/local/bin/kubectl",
        "RUN curl -H 'X-k: v' --keepalive-time 5 https://example.com",
        "RUN wget -q https://example.com/x",
        "ENV NODE_TLS_REJECT_UNAUTHORIZED=1",
        "ENV GIT_SSL_NO_VERIFY=false",
        "RUN pip install --no-cache-dir --index-url https://pypi.example.com/simple x",
    ])
    def test_tls_kept(self, tmp_path, line):
        assert "tls.disabled" not in ids(df(tmp_path, f"FROM {PINNED}\n{line}\nUSER 1\n"))

    def test_checkov_pragma_anywhere_in_file(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nRUN curl -k https://x\nUSER 1\n#checkov:skip=CKV2_DOCKER_2:internal CA\n")
        assert of(fs, "tls.disabled")[0].suppressed == "inline: checkov:skip=CKV2_DOCKER_2 (internal CA)"


# ---------------------------------------------------------------------------------------------
# ADD and CMD
# ---------------------------------------------------------------------------------------------


class TestAdd:
    def test_local_add_should_be_copy(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nADD conf /etc/app/\nUSER 1\n")
        assert at(fs, "add.use-copy") == [("Dockerfile", 2, "stage 0")]
        assert "add.remote-url" not in ids(fs)

    def test_archives_and_urls_are_not_use_copy(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED}
            ADD rootfs.tar.gz /
            ADD https://example.com/tool.tgz /opt/
            ADD --checksum=sha256:{'c' * 64} https://example.com/tool /usr/local/bin/tool
            COPY conf /etc/app/
            USER 1
            """)
        assert "add.use-copy" not in ids(fs)
        assert at(fs, "add.remote-url") == [("Dockerfile", 3, "stage 0")]

    def test_checkov_skip(self, tmp_path):
        fs = df(tmp_path, f"#checkov:skip=CKV_DOCKER_4:legacy\nFROM {PINNED}\nADD conf /c\nUSER 1\n")
        assert of(fs, "add.use-copy")[0].suppressed == "inline: checkov:skip=CKV_DOCKER_4 (legacy)"


class TestCmdJsonForm:
    def test_runtime_stage_shell_form(self, tmp_path):
        fs = df(tmp_path, f"""
            FROM {PINNED} AS build
            CMD make
            FROM {PINNED}
            ENTRYPOINT /app --serve
            CMD ["--port", "80"]
            USER 1
            """)
        assert at(fs, "cmd.json-form") == [("Dockerfile", 4, "stage 1")]

    def test_exec_form_is_quiet(self, tmp_path):
        assert "cmd.json-form" not in ids(df(tmp_path, f"FROM {PINNED}\n" + HARDENED_TAIL))

    def test_windows_is_skipped(self, tmp_path):
        fs = df(tmp_path, "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD powershell -c x\n")
        assert "cmd.json-form" not in ids(fs)

    def test_hadolint_global_ignore(self, tmp_path):
        fs = df(tmp_path, f"# hadolint global ignore=DL3025\nFROM {PINNED}\nUSER 1\nCMD run\n")
        assert of(fs, "cmd.json-form")[0].suppressed == "inline: hadolint ignore=DL3025"


# ---------------------------------------------------------------------------------------------
# parse.error and robustness
# ---------------------------------------------------------------------------------------------


class TestParse:
    def test_unknown_instruction(self, tmp_path):
        fs = df(tmp_path, f"FROM {PINNED}\nFOO bar\nUSER root\n")
        assert at(fs, "parse.error") == [("Dockerfile", 2, None)]
        assert "FOO" in of(fs, "parse.error")[0].message
        # the other rules still run on what was parsed
        assert lines(fs, "user.final-root") == [3]

    def test_no_from(self, tmp_path):
        fs = df(tmp_path, "RUN echo hi\n")
        assert sorted(f.message for f in of(fs, "parse.error")) == [
            "RUN before the first FROM (no build stage in context)", "no FROM instruction"]
        assert lines(fs, "parse.error") == [1, 1]
        assert {r for r in ids(fs) if not r.startswith("supply.")} == {"parse.error"}

    def test_parse_error_cannot_be_suppressed_inline(self, tmp_path):
        fs = df(tmp_path, f"# batten: ignore-file=parse.error\nFROM {PINNED}\nFOO bar\n")
        assert of(fs, "parse.error")[0].suppressed is None

    def test_crlf_continuations_and_backtick_escape(self, tmp_path):
        text = (b"# escape=`\r\nFROM debian:12-slim\r\nRUN apt-get update && `\r\n"
                b"    apt-get install -y curl\r\nUSER 1\r\n")
        fs = df(tmp_path, text)
        assert lines(fs, "pkg.apt-no-recommends") == [4]


def test_json_output_marks_suppressed_findings(tmp_path):
    fs = df(tmp_path, """
        # batten: ignore=user.missing -- base image runs as nobody
        FROM example/base:1.0
        CMD ["x"]
        """)
    (d,) = json_findings(fs, "user.missing")
    assert d["suppressed"] == "inline: batten: ignore=user.missing (base image runs as nobody)"
    assert (d["path"], d["line"], d["target"]) == ("Dockerfile", 2, "stage 0")
    others = [x for x in json.loads(to_json(fs, []))["findings"] if x["rule"] != "user.missing"]
    assert all(x["suppressed"] is None for x in others)


def test_corpus_false_positives_stay_fixed():
    """Real files where batten used to report something that is not there."""
    from batten.checks.engine import run_checks
    from batten.sources.project import load_project

    root = require_corpus()
    names = [
        "docker-library__postgres/18/alpine3.22/Dockerfile",  # addgroup -g 70 -S postgres
        "docker-library__postgres/18/trixie/Dockerfile",  # apt-get install -s
        "docker-library__python/3.14/slim-trixie/Dockerfile",  # apt-get dist-clean
        "jessfraz__dockerfiles/browsh/Dockerfile",  # addgroup --gid 666 browsh
        "StefanScherer__dockerfiles-windows/golang/Dockerfile.insider",  # USER ContainerUser
        "StefanScherer__dockerfiles-windows/compose-issue-5371/build/Dockerfile",  # python:*-windowsservercore
        "_edge/df-multistage31-heredoc-with-mount-arg-before-from/Dockerfile",  # FROM scratch export stage
    ]
    fs = run_checks(load_project([str(root / n) for n in names]))
    got = {(f.path, f.rule.id) for f in fs}
    bad = {
        ("user.unfixed-id", "alpine3.22/Dockerfile"), ("pkg.apt-no-recommends", "18/trixie/Dockerfile"),
        ("pkg.apt-lists-cleanup", "slim-trixie/Dockerfile"), ("user.unfixed-id", "browsh/Dockerfile"),
        ("user.numeric", "Dockerfile.insider"), ("image.not-minimal", "build/Dockerfile"),
    }
    for rid, suffix in bad:
        assert not [p for p, r in got if r == rid and p.endswith(suffix)], (rid, suffix)
    edge = [f for f in fs if f.path.startswith("_edge/df-multistage31") and f.rule.id == "user.missing"]
    assert edge == []
    # what is really there is still reported
    assert [f.line for f in fs if f.path.endswith("alpine3.22/Dockerfile") and f.rule.id == "user.missing"] == [7]


def test_curl_k_inside_an_option_value_is_not_insecure(tmp_path):
    from tests.rulekit import findings

    quiet = findings(tmp_path / "a", {"Dockerfile": "FROM alpine:3.20\nRUN curl -dkey=1 -okubeconfig https://x/\nUSER 1\n"})
    assert "tls.disabled" not in [f.rule.id for f in quiet]
    loud = findings(tmp_path / "b", {"Dockerfile": "FROM alpine:3.20\nRUN curl -fsSLk https://x/ -o /tmp/x\nUSER 1\n"})
    assert [f.rule.id for f in loud].count("tls.disabled") == 1
