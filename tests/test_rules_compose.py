"""Compose rules (app/checks/compose_rules.py) on resolved services: merge keys, `extends` and
override files are applied first, and findings point at the line where the value is written
(inside the anchor or the override file) or, for something missing, at the service key."""

from __future__ import annotations

from pathlib import Path

import pytest

from batten.report import to_json
from tests.corpus import require_corpus
from tests.rulekit import active, at, compose, findings, ids, json_findings, lines, of, targets

DIGEST = "@sha256:" + "d" * 64
IMG = "busybox:1.36" + DIGEST

# a service that passes every compose rule
HARDENED = f"""
    image: {IMG}
    user: "10001:10001"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    mem_limit: 256m
    cpus: 0.5
    pids_limit: 100
    mem_reservation: 128m
    healthcheck:
      test: ["CMD", "true"]
    logging:
      options:
        max-size: 10m
"""


def svc(body: str = "", *, name: str = "app", hardened: bool = True, version: str | None = None) -> str:
    """A compose file with one service: the hardened settings plus `body` (4-space indented lines)."""
    head = f'version: "{version}"\n' if version else ""
    base = HARDENED if hardened else f"\n    image: {IMG}\n"
    return head + f"services:\n  {name}:" + base.rstrip("\n") + "\n" + body


def co(tmp_path: Path, text: str, extra: dict | None = None, **kw):
    return compose(tmp_path, text, extra, **kw)


def test_hardened_service_is_clean(tmp_path):
    fs = co(tmp_path, svc("    ulimits:\n      nofile: 1024\n"))
    assert [f.rule.id for f in fs if not f.rule.id.startswith("supply.")] == []


@pytest.mark.parametrize("version", [None, "3.9", "2.4"])
def test_versionless_files_get_every_check(tmp_path, version):
    fs = co(tmp_path, svc(hardened=False, version=version))
    expected = {"compose.user-unset", "caps.not-dropped", "priv.no-new-privileges", "fs.rootfs-writable",
                "limits.memory", "limits.cpu", "limits.pids", "limits.reservations", "health.missing-compose",
                "logging.unbounded"}
    assert expected <= ids(fs)
    key_line = 2 if version else 1
    assert {f.line for f in fs if f.rule.id in expected} == {key_line + 1}
    assert targets(fs, "limits.memory") == {"app"}


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------


class TestComposeUser:
    @pytest.mark.parametrize("user", ["root", "0", '"0:0"', "root:root", '"0:1000"'])
    def test_user_root(self, tmp_path, user):
        text = svc(hardened=False) + f"    user: {user}\n"
        fs = co(tmp_path, text)
        assert at(fs, "compose.user-root") == [("compose.yaml", 4, "app")]
        assert "compose.user-unset" not in ids(fs)

    def test_user_non_root(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False) + '    user: "10001:10001"\n')
        assert {"compose.user-root", "compose.user-unset"}.isdisjoint(ids(fs))

    def test_unset_with_root_image(self, tmp_path):
        fs = co(tmp_path, "services:\n  db:\n    image: postgres:16.4\n")
        assert at(fs, "compose.user-unset") == [("compose.yaml", 2, "db")]

    @pytest.mark.parametrize("image", ["gcr.io/distroless/static-debian12:nonroot", "cgr.dev/chainguard/nginx:latest",
                                       "bitnami/redis:7.4", "docker:27-dind-rootless",
                                       "mcr.microsoft.com/azure-sql-edge:1.0.4", "logstash:7.16.1"])
    def test_unset_with_non_root_image(self, tmp_path, image):
        fs = co(tmp_path, f"services:\n  a:\n    image: {image}\n")
        assert "compose.user-unset" not in ids(fs)

    def test_built_from_a_dockerfile_with_a_non_root_user(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": "services:\n  web:\n    build: ./web\n",
            "web/Dockerfile": "FROM python:3.12-slim AS base\nUSER 10001\nFROM base\nCMD [\"python\"]\n",
        })
        assert "compose.user-unset" not in ids(fs)

    def test_built_from_a_dockerfile_without_user(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": "services:\n  web:\n    build:\n      context: web\n      dockerfile: Dockerfile.prod\n",
            "web/Dockerfile.prod": "FROM python:3.12-slim\nCMD [\"python\"]\n",
        })
        assert at(fs, "compose.user-unset") == [("compose.yaml", 2, "web")]
        assert of(fs, "compose.user-unset")[0].evidence["dockerfile"] == "web/Dockerfile.prod"
        assert at(fs, "user.missing") == [("web/Dockerfile.prod", 1, "stage 0")]

    def test_build_target_decides(self, tmp_path):
        dockerfile = "FROM python:3.12-slim AS dev\nFROM python:3.12-slim AS prod\nUSER 10001\n"
        fs = findings(tmp_path, {"Dockerfile": dockerfile, "compose.yaml": """
            services:
              dev:
                build: {context: ., target: dev}
              prod:
                build: {context: ., target: prod}
            """})
        assert at(fs, "compose.user-unset") == [("compose.yaml", 2, "dev")]

    def test_user_from_the_environment(self, tmp_path):
        fs = co(tmp_path, "services:\n  a:\n    image: postgres:16.4\n    user: ${PUID}\n")
        assert {"compose.user-unset", "compose.user-root"}.isdisjoint(ids(fs))
        fs = co(tmp_path, "services:\n  a:\n    image: postgres:16.4\n    user: ${PUID}\n", {".env": "PUID=0\n"})
        assert at(fs, "compose.user-root") == [("compose.yaml", 4, "a")]

    def test_compose_user_overrides_a_root_dockerfile(self, tmp_path):
        fs = findings(tmp_path, {"Dockerfile": "FROM python:3.12-slim\n",
                                 "compose.yaml": 'services:\n  a:\n    build: .\n    user: "10001"\n'})
        assert "compose.user-unset" not in ids(fs)

    def test_suppressed_on_the_service_key(self, tmp_path):
        fs = co(tmp_path, "services:\n  # batten: ignore=compose.user-unset -- entrypoint drops to postgres\n"
                          "  db:\n    image: postgres:16.4\n")
        (f,) = of(fs, "compose.user-unset")
        assert (f.line, f.target) == (3, "db")
        assert f.suppressed == "inline: batten: ignore=compose.user-unset (entrypoint drops to postgres)"


# ---------------------------------------------------------------------------------------------
# privileges
# ---------------------------------------------------------------------------------------------


class TestPrivileges:
    def test_privileged(self, tmp_path):
        fs = co(tmp_path, svc("    privileged: true\n"))
        assert at(fs, "priv.privileged") == [("compose.yaml", 17, "app")]
        assert "priv.privileged" not in ids(co(tmp_path, svc("    privileged: false\n")))

    def test_cap_drop_all_forms(self, tmp_path):
        for drop in ("[ALL]", "[all]", "[CAP_ALL]", '["ALL"]'):
            text = svc(hardened=False) + f"    cap_drop: {drop}\n"
            assert "caps.not-dropped" not in ids(co(tmp_path, text)), drop

    def test_cap_drop_each_default_capability(self, tmp_path):
        caps = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
                "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"]
        text = svc(hardened=False) + "    cap_drop:\n" + "".join(f"      - CAP_{c}\n" for c in caps)
        assert "caps.not-dropped" not in ids(co(tmp_path, text))
        text = svc(hardened=False) + "    cap_drop:\n" + "".join(f"      - {c}\n" for c in caps[:-1])
        assert at(co(tmp_path, text), "caps.not-dropped") == [("compose.yaml", 4, "app")]

    def test_cap_not_dropped_points_at_the_key_when_absent(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False))
        assert at(fs, "caps.not-dropped") == [("compose.yaml", 2, "app")]

    def test_dangerous_caps(self, tmp_path):
        fs = co(tmp_path, svc("    cap_add:\n      - NET_BIND_SERVICE\n      - SYS_ADMIN\n      - cap_net_admin\n"))
        assert [(f.line, f.evidence["cap"]) for f in of(fs, "caps.dangerous-added")] == \
            [(19, "SYS_ADMIN"), (20, "NET_ADMIN")]

    @pytest.mark.parametrize("opt", ['"no-new-privileges:true"', '"no-new-privileges=true"', "no-new-privileges",
                                     '"no-new-privileges: true"'])
    def test_no_new_privileges_forms(self, tmp_path, opt):
        text = svc(hardened=False) + f"    security_opt:\n      - {opt}\n"
        assert "priv.no-new-privileges" not in ids(co(tmp_path, text))

    def test_no_new_privileges_false_or_missing(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False) + '    security_opt: ["no-new-privileges:false"]\n')
        assert at(fs, "priv.no-new-privileges") == [("compose.yaml", 4, "app")]
        fs = co(tmp_path, svc(hardened=False))
        assert at(fs, "priv.no-new-privileges") == [("compose.yaml", 2, "app")]

    def test_lsm_opt_outs(self, tmp_path):
        text = svc(hardened=False) + ("    security_opt:\n      - no-new-privileges:true\n"
                                      "      - seccomp:unconfined\n      - apparmor=unconfined\n"
                                      "      - label:disable\n")
        fs = co(tmp_path, text)
        assert (lines(fs, "seccomp.unconfined"), lines(fs, "apparmor.unconfined"), lines(fs, "selinux.disabled")) \
            == ([6], [7], [8])

    @pytest.mark.parametrize(("key", "rid"), [("pid", "ns.host-pid"), ("ipc", "ns.host-ipc"),
                                              ("uts", "ns.host-uts"), ("userns_mode", "ns.host-userns"),
                                              ("network_mode", "ns.host-network")])
    def test_host_namespaces(self, tmp_path, key, rid):
        fs = co(tmp_path, svc(f"    {key}: host\n"))
        assert at(fs, rid) == [("compose.yaml", 17, "app")]
        assert rid not in ids(co(tmp_path, svc(f'    {key}: "service:other"\n')))


# ---------------------------------------------------------------------------------------------
# filesystem
# ---------------------------------------------------------------------------------------------


class TestFilesystem:
    def test_rootfs_writable(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False) + "    read_only: false\n")
        assert at(fs, "fs.rootfs-writable") == [("compose.yaml", 4, "app")]

    def test_tmpfs_options(self, tmp_path):
        text = svc("    tmpfs:\n      - /tmp:noexec,nosuid,size=64m\n      - /run\n      - /cache:exec,nosuid\n")
        fs = co(tmp_path, text)
        assert lines(fs, "fs.tmpfs-noexec") == [19, 20]

    def test_docker_socket(self, tmp_path):
        text = svc("    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n"
                   "      - type: bind\n        source: /run/containerd/containerd.sock\n        target: /c.sock\n"
                   "      - data:/data\n")
        fs = co(tmp_path, text)
        assert lines(fs, "mount.docker-socket") == [18, 19]
        assert "read-only does not make it safe" in of(fs, "mount.docker-socket")[0].message

    def test_sensitive_host_paths(self, tmp_path):
        text = svc("    volumes:\n      - /:/host\n      - /etc:/host-etc\n      - ~/.ssh:/root/.ssh\n"
                   "      - /etc/localtime:/etc/localtime:ro\n      - ./data:/data\n      - /srv/app/data:/data2\n"
                   "      - type: bind\n        source: /var/lib/docker\n        target: /d\n")
        fs = co(tmp_path, text)
        assert lines(fs, "mount.sensitive-host-path") == [19, 20, 24]
        assert lines(fs, "mount.docker-socket") == [18]  # the host's root holds the engine socket

    def test_read_only_is_the_hardened_form_except_for_credentials(self, tmp_path):
        # co.mount-read-only (the catalogue's fix) makes a system path read-only; a credential
        # store such as ~/.ssh still leaks its keys read-only
        text = svc("    volumes:\n      - /:/rootfs:ro\n      - /sys:/sys:ro\n      - /etc:/host/etc:ro\n"
                   "      - type: bind\n        source: /var/lib/docker\n        target: /d\n        read_only: true\n"
                   "      - ~/.aws:/home/app/.aws:ro\n      - /root:/r:ro\n")
        fs = co(tmp_path, text)
        assert lines(fs, "mount.sensitive-host-path") == [25, 26]
        assert all("read-only" in f.message for f in of(fs, "mount.sensitive-host-path"))


# ---------------------------------------------------------------------------------------------
# resources, logging, restart
# ---------------------------------------------------------------------------------------------


class TestResources:
    def test_missing_limits_point_at_the_service(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False))
        for rid in ("limits.memory", "limits.cpu", "limits.pids", "limits.reservations"):
            assert at(fs, rid) == [("compose.yaml", 2, "app")], rid

    def test_deploy_resources(self, tmp_path):
        text = svc(hardened=False) + ("    deploy:\n      resources:\n        limits:\n"
                                      "          memory: 512M\n          cpus: '1.0'\n          pids: 200\n"
                                      "        reservations:\n          memory: 256M\n")
        fs = co(tmp_path, text)
        assert {"limits.memory", "limits.cpu", "limits.pids", "limits.reservations"}.isdisjoint(ids(fs))

    def test_non_positive_limits_do_not_count(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False) + "    mem_limit: 0\n    pids_limit: -1\n")
        assert "limits.memory" in ids(fs)
        assert at(fs, "limits.pids") == [("compose.yaml", 5, "app")]

    def test_logging(self, tmp_path):
        fs = co(tmp_path, svc(hardened=False) + "    logging:\n      driver: none\n")
        assert at(fs, "logging.disabled") == [("compose.yaml", 5, "app")]
        assert "logging.unbounded" not in ids(fs)
        fs = co(tmp_path, svc(hardened=False) + "    logging:\n      driver: local\n")
        assert at(fs, "logging.unbounded") == [("compose.yaml", 4, "app")]
        fs = co(tmp_path, svc(hardened=False) + "    logging:\n      driver: syslog\n")
        assert {"logging.unbounded", "logging.disabled"}.isdisjoint(ids(fs))


# ---------------------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------------------


class TestPorts:
    PORTS = """    ports:
      - "127.0.0.1:8080:80"
      - "[::]:8081:80"
      - "0.0.0.0:8082:80"
      - "8083:80"
      - "3000"
      - target: 80
        published: 8084
        host_ip: 127.0.0.1
      - target: 80
        published: 8085
      - "[::1]:8086:80"
      - "80:80"
      - "127.0.0.1:443:443"
"""

    def test_bound_and_unbound(self, tmp_path):
        fs = co(tmp_path, svc(self.PORTS))
        assert lines(fs, "ports.bind-all-interfaces") == [19, 20, 21, 22, 26, 29]
        assert [(f.line, f.evidence["port"]) for f in of(fs, "ports.privileged")] == [(29, 80), (30, 443)]

    def test_host_network_publishes_nothing(self, tmp_path):
        fs = co(tmp_path, svc('    network_mode: host\n    ports: ["80:80"]\n'))
        assert {"ports.bind-all-interfaces", "ports.privileged"}.isdisjoint(ids(fs))

    def test_trailing_pragma_on_the_item(self, tmp_path):
        fs = co(tmp_path, svc('    ports:\n      - "8080:80"  # batten: ignore=ports.bind-all-interfaces\n'))
        (f,) = of(fs, "ports.bind-all-interfaces")
        assert f.line == 18
        assert f.suppressed == "inline: batten: ignore=ports.bind-all-interfaces"


class TestNetworkIsolation:
    def test_backend_sharing_the_default_network(self, tmp_path):
        text = (f"services:\n  web:\n    image: {IMG}\n    ports: ['127.0.0.1:80:80']\n"
                f"  db:\n    image: {IMG}\n")
        fs = co(tmp_path, text)
        assert at(fs, "network.not-isolated") == [("compose.yaml", 5, "db")]

    def test_internal_network_is_isolated(self, tmp_path):
        text = (f"services:\n  web:\n    image: {IMG}\n    ports: ['127.0.0.1:80:80']\n"
                f"    networks: [front, back]\n"
                f"  db:\n    image: {IMG}\n    networks: [back]\n"
                "networks:\n  front: {}\n  back:\n    internal: true\n")
        assert "network.not-isolated" not in ids(co(tmp_path, text))


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


class TestSecrets:
    def test_map_and_list_environment(self, tmp_path):
        text = f"""
            services:
              db:
                image: {IMG}
                environment:
                  POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
                  MYSQL_RANDOM_ROOT_PASSWORD: "yes"
                  MYSQL_PASSWORD: hunter2
                  DATABASE_URL: "mysql://root:hunter3@db/app"
                  REDIS_URL: "redis://:${{REDIS_PW}}@cache:6379"
                  API_TOKEN_FILE: /run/secrets/token
              w:
                image: {IMG}
                environment:
                  - SECRET_KEY=abc123def
                  - MYSQL_RANDOM_ROOT_PASSWORD=true
                  - MYSQL_ALLOW_EMPTY_PASSWORD=yes
                  - SSL_KEY=/etc/ssl/filebeat.key
                  - DB_PASSWORD=$DB_PASSWORD
                  - PASSWORD
            """
        fs = co(tmp_path, text)
        assert at(fs, "secret.value-hardcoded") == [("compose.yaml", 7, "db"), ("compose.yaml", 8, "db"),
                                                     ("compose.yaml", 14, "w")]
        doc = to_json(fs, [])
        for value in ("hunter2", "hunter3", "abc123def"):
            assert value not in doc
        src = (tmp_path / "compose.yaml").read_text()
        masked = {src[s.start:s.end] for f in of(fs, "secret.value-hardcoded") for s in f.secrets}
        assert masked == {"hunter2", '"mysql://root:hunter3@db/app"', "abc123def"}

    def test_value_from_dotenv_is_still_a_reference(self, tmp_path):
        fs = co(tmp_path, f"services:\n  db:\n    image: {IMG}\n    environment:\n"
                          "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n", {".env": "POSTGRES_PASSWORD=s3cret\n"})
        assert "secret.value-hardcoded" not in ids(fs)

    def test_build_args(self, tmp_path):
        text = ("services:\n  a:\n    build:\n      context: .\n      args:\n"
                "        GITHUB_TOKEN: ${GITHUB_TOKEN}\n        VERSION: '1.0'\n")
        fs = findings(tmp_path, {"compose.yaml": text, "Dockerfile": "FROM alpine:3.20\nUSER 1\n"})
        assert at(fs, "secret.arg-env") == [("compose.yaml", 6, "a")]

    def test_suppressed_in_config(self, tmp_path):
        cfg = {"per-path-ignores": [{"paths": ["compose.yaml"], "rules": ["secret.value-hardcoded"],
                                     "reason": "local dev database"}]}
        fs = co(tmp_path, f"services:\n  db:\n    image: {IMG}\n    environment:\n      MYSQL_PASSWORD: dev\n",
                config=cfg)
        (f,) = of(fs, "secret.value-hardcoded")
        assert f.suppressed == "config: local dev database"
        (d,) = json_findings(fs, "secret.value-hardcoded")
        assert d["suppressed"] == "config: local dev database"


# ---------------------------------------------------------------------------------------------
# health and images
# ---------------------------------------------------------------------------------------------


class TestHealth:
    def test_missing(self, tmp_path):
        fs = co(tmp_path, f"services:\n  a:\n    image: {IMG}\n")
        assert at(fs, "health.missing-compose") == [("compose.yaml", 2, "a")]

    def test_disabled(self, tmp_path):
        fs = co(tmp_path, f"services:\n  a:\n    image: {IMG}\n    healthcheck:\n      disable: true\n")
        assert at(fs, "health.missing-compose") == [("compose.yaml", 4, "a")]
        fs = co(tmp_path, f"services:\n  a:\n    image: {IMG}\n    healthcheck:\n      test: [\"NONE\"]\n")
        assert lines(fs, "health.missing-compose") == [4]

    def test_dockerfile_healthcheck_satisfies_it(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": "services:\n  a:\n    build: .\n",
            "Dockerfile": "FROM alpine:3.20 AS base\nHEALTHCHECK CMD wget -qO- localhost || exit 1\nFROM base\nUSER 1\n",
        })
        assert {"health.missing-compose", "health.missing-dockerfile"}.isdisjoint(ids(fs))

    def test_dockerfile_healthcheck_none_does_not(self, tmp_path):
        fs = findings(tmp_path, {"compose.yaml": "services:\n  a:\n    build: .\n",
                                 "Dockerfile": "FROM alpine:3.20\nHEALTHCHECK NONE\nUSER 1\n"})
        assert at(fs, "health.missing-compose") == [("compose.yaml", 2, "a")]


class TestImages:
    @pytest.mark.parametrize(("image", "rid"), [("redis", "image.untagged"), ("redis:latest", "image.latest"),
                                                ("redis:7.4", "image.not-digest-pinned")])
    def test_one_rule_per_image(self, tmp_path, image, rid):
        fs = co(tmp_path, f"services:\n  a:\n    image: {image}\n")
        got = [f.rule.id for f in fs if f.rule.id in ("image.untagged", "image.latest", "image.not-digest-pinned")]
        assert got == [rid]
        assert at(fs, rid) == [("compose.yaml", 3, "a")]

    def test_pinned_and_built_images(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": f"services:\n  a:\n    image: redis:7.4-alpine{DIGEST}\n  b:\n    build: .\n"
                            "    image: registry.example.com/b:latest\n  c:\n    image: ${IMAGE}\n",
            "Dockerfile": "FROM alpine:3.20\nUSER 1\n",
        })
        assert {"image.untagged", "image.latest", "image.not-digest-pinned", "image.not-minimal"} & \
            {f.rule.id for f in fs if f.path == "compose.yaml"} == set()

    def test_not_minimal(self, tmp_path):
        fs = co(tmp_path, f"services:\n  a:\n    image: python:3.12{DIGEST}\n  b:\n    image: python:3.12-slim\n")
        assert at(fs, "image.not-minimal") == [("compose.yaml", 3, "a")]


# ---------------------------------------------------------------------------------------------
# resolution: merge keys, extends, override files
# ---------------------------------------------------------------------------------------------


class TestResolution:
    def test_merge_keys_point_into_the_anchor(self, tmp_path):
        text = f"""
            x-base: &base
              image: {IMG}
              privileged: true
              cap_add: [SYS_ADMIN]
            x-net: &net
              network_mode: host
            services:
              a:
                <<: *base
              b:
                <<: [*net, *base]
                privileged: false
            """
        fs = co(tmp_path, text)
        assert at(fs, "priv.privileged") == [("compose.yaml", 3, "a")]
        assert at(fs, "caps.dangerous-added") == [("compose.yaml", 4, "a"), ("compose.yaml", 4, "b")]
        assert at(fs, "ns.host-network") == [("compose.yaml", 6, "b")]
        # something missing points at the service key, not the anchor
        assert at(fs, "limits.memory") == [("compose.yaml", 8, "a"), ("compose.yaml", 10, "b")]

    def test_suppression_inside_the_anchor(self, tmp_path):
        text = f"""
            x-base: &base
              image: {IMG}
              # batten: ignore=priv.privileged -- hardware access
              privileged: true
            services:
              a:
                <<: *base
              b:
                <<: *base
            """
        fs = co(tmp_path, text)
        assert [(f.line, f.target, f.suppressed is not None) for f in of(fs, "priv.privileged")] == \
            [(4, "a", True), (4, "b", True)]

    def test_override_file(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": svc(),
            "compose.override.yaml": """
                services:
                  app:
                    privileged: true
                    read_only: false
                    ports: ["8080:80"]
                """,
        })
        assert at(fs, "priv.privileged") == [("compose.override.yaml", 3, "app")]
        assert at(fs, "fs.rootfs-writable") == [("compose.override.yaml", 4, "app")]
        assert at(fs, "ports.bind-all-interfaces") == [("compose.override.yaml", 5, "app")]
        # the rest of the hardening of the base file is kept
        assert {"caps.not-dropped", "limits.memory", "compose.user-unset"}.isdisjoint(ids(fs))

    def test_override_can_fix_the_base(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": f"services:\n  app:\n    image: {IMG}\n    privileged: true\n",
            "compose.override.yaml": "services:\n  app:\n    privileged: false\n    cap_drop: [ALL]\n",
        })
        assert {"priv.privileged", "caps.not-dropped"}.isdisjoint(ids(fs))

    def test_pragma_in_the_override_file(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": svc(),
            "compose.override.yaml": "services:\n  app:\n    # batten: ignore=priv.privileged\n    privileged: true\n",
        })
        (f,) = of(fs, "priv.privileged")
        assert (f.path, f.line) == ("compose.override.yaml", 4)
        assert f.suppressed is not None

    def test_extends_from_another_file(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": f"services:\n  a:\n    extends:\n      file: common.yaml\n      service: base\n"
                            f"    image: {IMG}\n",
            "common.yaml": f"services:\n  base:\n    image: {IMG}\n    pid: host\n",
        })
        assert at(fs, "ns.host-pid") == [("common.yaml", 4, "a")]

    def test_extends_in_the_same_file(self, tmp_path):
        fs = co(tmp_path, f"services:\n  base:\n    image: {IMG}\n    ipc: host\n  a:\n    extends: base\n")
        assert at(fs, "ns.host-ipc") == [("compose.yaml", 4, "a"), ("compose.yaml", 4, "base")]


class TestParseError:
    def test_malformed_file_does_not_stop_the_scan(self, tmp_path):
        fs = findings(tmp_path, {
            "compose.yaml": "services:\n  a:\n    image: [unclosed\n",
            "other/compose.yaml": f"services:\n  b:\n    image: {IMG}\n    privileged: true\n",
        })
        (err,) = of(fs, "parse.error")
        assert err.path == "compose.yaml"
        assert "invalid YAML" in err.message
        assert at(fs, "priv.privileged") == [("other/compose.yaml", 4, "b")]

    def test_duplicate_keys(self, tmp_path):
        fs = co(tmp_path, f"services:\n  a:\n    image: {IMG}\n    image: {IMG}\n")
        assert at(fs, "parse.error") == [("compose.yaml", 4, None)]

    def test_extends_of_a_missing_file(self, tmp_path):
        fs = co(tmp_path, f"services:\n  a:\n    image: {IMG}\n    extends:\n      file: nope.yaml\n      service: b\n")
        assert lines(fs, "parse.error") == [5]
        assert "compose.user-unset" in ids(fs)  # the service is still checked


def test_json_output_marks_suppressed_findings(tmp_path):
    fs = co(tmp_path, f"services:\n  a:  # batten: ignore=limits.*\n    image: {IMG}\n")
    sup = json_findings(fs, "limits.memory") + json_findings(fs, "limits.cpu")
    assert [d["suppressed"] for d in sup] == ["inline: batten: ignore=limits.*"] * 2
    assert all(f.suppressed is None for f in active(fs))


def test_corpus_false_positives_stay_fixed():
    """Real compose files where batten used to report literal secrets that are not there."""
    from batten.checks.engine import run_checks
    from batten.sources.project import load_project

    root = require_corpus()
    names = ["ChristianLempa__boilerplates/docker-compose/nextcloud/compose.yaml",  # MYSQL_RANDOM_ROOT_PASSWORD=true
             "docker__compose/pkg/e2e/fixtures/network-test/compose.yaml",  # MYSQL_ALLOW_EMPTY_PASSWORD=yes
             "ChristianLempa__boilerplates/docker-compose/wazuh/compose.yaml"]  # SSL_KEY=/etc/ssl/filebeat.key
    fs = run_checks(load_project([str(root / n) for n in names]))
    assert of(fs, "secret.value-hardcoded") == []
