"""Compose model: spans, merge keys, overrides, extends, interpolation, syntaxes, hostile YAML."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from batten.sources.compose import (
    load_compose,
    parse_port,
    parse_volume,
    resolve_project,
    tmpfs_entries,
)
from batten.sources.interpolate import has_interpolation, interpolate, parse_dotenv, variables
from batten.sources.text import SourceText
from tests.corpus import require_corpus


def cf(text: str, path: str = "compose.yaml", env: dict | None = None):
    return load_compose(SourceText.from_text(path, text), env)


def project(*files, env=None, loader=None):
    return resolve_project(list(files), env, loader)


# ---------------------------------------------------------------------------------------------
# loading and spans
# ---------------------------------------------------------------------------------------------


def test_every_value_knows_its_line_and_column():
    f = cf("services:\n  web:\n    image: nginx:1.27\n    read_only: true\n")
    svc = project(f).services["web"]
    img = svc.get("image")
    assert img.text == "nginx:1.27"
    loc = img.location()
    assert (loc.line, loc.column) == (3, 12)
    assert img.location(key=True).column == 5
    assert f.source.text[img.span.start : img.span.end] == "nginx:1.27"
    assert svc.location().line == 2


def test_crlf_and_bom_offsets_match_the_text():
    text = "services:\r\n  web:\r\n    image: x:1\r\n"
    raw = b"\xef\xbb\xbf" + text.encode()
    f = load_compose(SourceText.from_bytes("compose.yaml", raw))
    assert f.ok
    img = project(f).services["web"].get("image")
    assert f.source.text[img.span.start : img.span.end] == "x:1"
    assert img.location().line == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("services: [\n", "invalid YAML"),
        ("- a\n- b\n", "top level is a list"),
        ("just a string\n", "top level is a scalar"),
        ("", "empty compose file"),
        ("services:\n  a:\n    image: x\n  a:\n    image: y\n", 'duplicate key "a"'),
        ("services:\n\ta:\n", "invalid YAML"),
    ],
)
def test_bad_yaml_is_one_clear_error(text, fragment):
    f = cf(text)
    assert f.error is not None
    assert fragment in f.error.message
    assert "\n" not in f.error.message


def test_the_first_duplicate_key_in_the_file_is_the_one_reported():
    f = cf("x-base: &base\n  a: 1\n  a: 2\nservices:\n  web:\n    <<: *base\n    image: x\n    image: y\n"
           "services: {}\n")
    assert f.error is not None
    assert (f.error.message, f.error.line) == ('duplicate key "a" (first defined on line 2)', 3)


def test_error_has_a_location():
    f = cf("services:\n  web:\n    image: [x\n    ports: 1\n")
    assert f.error is not None and f.error.line >= 3


def test_alias_bomb_is_refused_quickly_and_cheaply():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    lines.append("services:\n  x:\n    image: y\n    command: *i")
    tracemalloc.start()
    started = time.perf_counter()
    f = cf("\n".join(lines) + "\n")
    elapsed = time.perf_counter() - started
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert f.error is not None and "alias" in f.error.message
    assert elapsed < 10  # a hang bound, not a speed figure (bench/ measures speed)
    assert peak < 50 * 1024 * 1024


def test_deep_nesting_is_refused():
    f = cf("a: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert f.error is not None and "nesting" in f.error.message
    block = "".join(" " * i + "k:\n" for i in range(2000))
    assert "nesting" in cf(block).error.message


def test_non_utf8_compose_is_an_error():
    f = load_compose(SourceText.from_bytes("compose.yaml", b"services:\n  web:\n    image: caf\xe9\n"))
    assert f.error is not None and "UTF-8" in f.error.message


# ---------------------------------------------------------------------------------------------
# anchors, merge keys, x- fields, tags
# ---------------------------------------------------------------------------------------------

ANCHORS = """\
x-common: &common
  restart: unless-stopped
  read_only: true
  logging: &log
    driver: json-file
x-more: &more
  read_only: false
  pids_limit: 100
services:
  a:
    <<: *common
    image: a:1
  b:
    <<: [*more, *common]
    image: b:1
  c:
    <<: *common
    read_only: false
    logging: *log
"""


def test_merge_keys_resolve_with_provenance():
    p = project(cf(ANCHORS))
    a, b, c = (p.services[n] for n in "abc")
    assert a.get("read_only").data is True
    assert a.get("read_only").location().line == 3  # written in the anchor
    assert "merge" in a.get("read_only").via
    # list form: earlier maps win
    assert b.get("read_only").data is False
    assert b.get("pids_limit").data == 100
    assert b.get("restart").text == "unless-stopped"
    # keys on the service win over merged ones
    assert c.get("read_only").data is False
    assert c.get("read_only").location().line == 18
    assert c.get("logging", "driver").text == "json-file"
    assert c.get("logging").node is a.get("logging").node  # the same anchor node


def test_x_fields_are_not_services():
    p = project(cf(ANCHORS))
    assert set(p.services) == {"a", "b", "c"}


def test_reset_and_override_tags_in_overrides():
    base = cf("services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    environment:\n      A: '1'\n")
    over = cf("services:\n  web:\n    ports: !reset []\n    environment: !override\n      B: '2'\n",
              "compose.override.yaml")
    web = project(base, over).services["web"]
    assert web.get("ports") is None
    assert set(web.get("environment").data) == {"B"}


def test_reset_null_removes_a_key():
    base = cf("services:\n  db:\n    image: x:1\n    environment:\n      P: secret\n")
    over = cf("services:\n  db:\n    environment:\n      P: !reset null\n", "compose.override.yaml")
    db = project(base, over).services["db"]
    assert "P" not in db.get("environment").data


# ---------------------------------------------------------------------------------------------
# overrides and extends
# ---------------------------------------------------------------------------------------------


def test_override_merge_rules():
    base = cf(
        "services:\n  web:\n    image: x:1\n    command: [a, b]\n    ports: ['80:80']\n"
        "    cap_add: [NET_ADMIN]\n    environment: [A=1, B=2]\n    healthcheck:\n      test: [CMD, x]\n"
    )
    over = cf(
        "services:\n  web:\n    command: [c]\n    ports: ['80:80', '443:443']\n    cap_add: [SYS_TIME]\n"
        "    environment:\n      B: '3'\n    read_only: true\n    healthcheck:\n      test: [CMD, y]\n",
        "compose.override.yaml",
    )
    web = project(base, over).services["web"]
    assert web.get("command").plain() == ["c"]  # replaced
    assert [p.text for p in web.get("ports").data] == ["80:80", "443:443"]  # merged by key
    assert web.get("cap_add").plain() == ["NET_ADMIN", "SYS_TIME"]  # appended
    assert web.get("environment").plain() == {"A": "1", "B": "3"}  # merged mapping
    assert web.get("healthcheck", "test").plain() == ["CMD", "y"]
    assert web.get("read_only").path == "compose.override.yaml"
    assert [f.path for f, _k, _n in web.defs] == ["compose.yaml", "compose.override.yaml"]


def test_extends_same_file_and_other_file():
    other = cf("services:\n  base:\n    image: base:1\n    read_only: true\n    cap_drop: [ALL]\n",
               "common/base.yaml")
    main = cf(
        "services:\n  tmpl:\n    image: t:1\n    user: '1000'\n"
        "  a:\n    extends: tmpl\n    ports: ['8080:80']\n"
        "  b:\n    extends:\n      file: common/base.yaml\n      service: base\n    read_only: false\n"
    )
    p = project(main, loader=lambda rel: other if rel == "common/base.yaml" else None)
    a, b = p.services["a"], p.services["b"]
    assert a.get("user").text == "1000" and a.get("image").text == "t:1"
    assert a.get("extends") is None
    assert b.get("cap_drop").plain() == ["ALL"]
    assert b.get("cap_drop").path == "common/base.yaml"
    assert b.get("read_only").data is False


def test_extends_cycle_and_missing_are_problems_not_crashes():
    main = cf("services:\n  a:\n    extends: b\n  b:\n    extends: a\n  c:\n    extends:\n      file: nope.yaml\n"
              "      service: x\n")
    p = project(main, loader=lambda rel: None)
    msgs = [prob.message for _f, prob in p.problems]
    assert any("cycle" in m for m in msgs)
    assert any("cannot load nope.yaml" in m for m in msgs)


# ---------------------------------------------------------------------------------------------
# interpolation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "env", "want"),
    [
        ("${V}", {"V": "x"}, "x"),
        ("$V/bin", {"V": "x"}, "x/bin"),
        ("${V:-d}", {}, "d"),
        ("${V:-d}", {"V": ""}, "d"),
        ("${V-d}", {"V": ""}, ""),
        ("${V-d}", {}, "d"),
        ("${V:?must be set}", {"V": "ok"}, "ok"),
        ("${V:+r}", {"V": "1"}, "r"),
        ("${V+r}", {}, ""),
        ("$$HOME", {}, "$HOME"),
        ("$${X}", {"X": "no"}, "${X}"),
        ("${A:-${B:-x}}", {}, "x"),
        ("${CUSTOM_TAG:-$ERPNEXT_VERSION}", {"ERPNEXT_VERSION": "v15"}, "v15"),
        ("price: 5$", {}, "price: 5$"),
    ],
)
def test_interpolation(raw, env, want):
    assert interpolate(raw, env) == want


def test_interpolation_helpers():
    assert has_interpolation("${X}") and has_interpolation("a $B") and not has_interpolation("$$X")
    assert variables("${A:-$B} $C") == ["A", "B", "C"]
    missing: list[str] = []
    interpolate("${NOPE}", {}, missing)
    assert missing == ["NOPE"]


def test_dotenv_parsing():
    env = parse_dotenv(
        "# c\nA=1\nexport B='two words'\nC=\"x\\ny\"\nD=plain # comment\nE=${A}-x\nBAD LINE\n 1X=no\n"
    )
    assert env == {"A": "1", "B": "two words", "C": "x\ny", "D": "plain", "E": "1-x"}


def test_values_are_interpolated_for_checking_but_raw_is_kept():
    f = cf("services:\n  web:\n    image: ${IMG:-nginx}:${TAG}\n    read_only: ${RO}\n", env={"TAG": "1.27", "RO": "true"})
    web = project(f).services["web"]
    assert web.get("image").text == "nginx:1.27"
    assert web.get("image").raw == "${IMG:-nginx}:${TAG}"
    assert web.get("image").interpolated


# ---------------------------------------------------------------------------------------------
# short and long syntax
# ---------------------------------------------------------------------------------------------


def _items(text: str, key: str):
    return project(cf(text)).services["s"].get(key).data


@pytest.mark.parametrize(
    ("item", "ip", "published", "target", "proto"),
    [
        ('"3000"', None, None, "3000", "tcp"),
        ('"8000:80"', None, "8000", "80", "tcp"),
        ('"127.0.0.1:8001:8001"', "127.0.0.1", "8001", "8001", "tcp"),
        ('"[::1]:6001:6001"', "::1", "6001", "6001", "tcp"),
        ('"6060:6060/udp"', None, "6060", "6060", "udp"),
        ('"9090-9091:8080-8081"', None, "9090-9091", "8080-8081", "tcp"),
        ('"127.0.0.1::5000"', "127.0.0.1", None, "5000", "tcp"),
        ("{target: 80, published: 8080, host_ip: 0.0.0.0, protocol: tcp}", "0.0.0.0", "8080", "80", "tcp"),
    ],
)
def test_ports(item, ip, published, target, proto):
    p = parse_port(_items(f"services:\n  s:\n    ports:\n      - {item}\n", "ports")[0])
    assert (p.host_ip, p.published, p.target, p.protocol) == (ip, published, target, proto)


def test_port_ranges():
    p = parse_port(_items('services:\n  s:\n    ports: ["9090-9092:80-82"]\n', "ports")[0])
    assert p.published_ports == [9090, 9091, 9092]


@pytest.mark.parametrize(
    ("item", "kind", "source", "target", "ro"),
    [
        ("/var/run/docker.sock:/var/run/docker.sock:ro", "bind", "/var/run/docker.sock", "/var/run/docker.sock", True),
        ("./data:/data", "bind", "./data", "/data", False),
        ("db-data:/var/lib/postgresql/data", "volume", "db-data", "/var/lib/postgresql/data", False),
        ("/cache", "volume", None, "/cache", False),
        ("C:\\Users\\me:C:\\data:rw", "bind", "C:\\Users\\me", "C:\\data", False),
        ("c:/src:/app:ro", "bind", "c:/src", "/app", True),
        # one-letter volume names: a Linux engine reads `d` as a volume, not a drive
        ("d:/data", "volume", "d", "/data", False),
        ("d:/data:ro", "volume", "d", "/data", True),
        ("{type: bind, source: /etc, target: /host/etc, read_only: true}", "bind", "/etc", "/host/etc", True),
    ],
)
def test_volumes(item, kind, source, target, ro):
    quoted = item if item.startswith("{") else f"'{item}'"
    v = parse_volume(_items(f"services:\n  s:\n    volumes:\n      - {quoted}\n", "volumes")[0])
    assert (v.type, v.source, v.target, v.read_only) == (kind, source, target, ro)


def test_tmpfs_string_and_list():
    one = project(cf("services:\n  s:\n    tmpfs: /run\n")).services["s"].get("tmpfs")
    assert [(p, o) for p, o, _ in tmpfs_entries(one)] == [("/run", [])]
    many = project(cf("services:\n  s:\n    tmpfs:\n      - /tmp:size=64m,noexec\n")).services["s"].get("tmpfs")
    assert [(p, o) for p, o, _ in tmpfs_entries(many)] == [("/tmp", ["size=64m", "noexec"])]


def test_environment_list_and_mapping_forms():
    p = project(cf("services:\n  s:\n    environment:\n      - A=1\n      - B\n  t:\n    environment:\n      A: 1\n"))
    assert p.services["s"].get("environment").plain() == {"A": "1", "B": None}
    assert p.services["t"].get("environment").plain() == {"A": 1}


# ---------------------------------------------------------------------------------------------
# build linkage
# ---------------------------------------------------------------------------------------------


def test_build_forms():
    f = cf(
        "services:\n  a:\n    build: ./api\n  b:\n    build:\n      context: web\n      dockerfile: Containerfile.prod\n"
        "      target: runtime\n  c:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM x:1\n"
        "  d:\n    build: https://github.com/org/repo.git#main\n",
        "deploy/compose.yaml",
    )
    s = project(f).services
    assert (s["a"].build.context, s["a"].build.dockerfile) == ("deploy/api", "deploy/api/Dockerfile")
    assert (s["b"].build.dockerfile, s["b"].build.target) == ("deploy/web/Containerfile.prod", "runtime")
    assert s["c"].build.inline.startswith("FROM x:1")
    assert s["d"].build.remote


def test_null_service_and_empty_mappings():
    p = project(cf("services:\n  nil: #left intentionally empty\n  e: {}\n"))
    assert set(p.services) == {"nil", "e"}
    assert p.services["nil"].plain() == {}


def test_corpus_edge_compose_files_model_correctly():
    edge = require_corpus() / "_edge"

    def load(rel):
        return load_compose(SourceText.read(str(edge / rel), rel))

    frappe = project(load("compose-x-fields-anchors-merge-list-folded/compose.yaml"))
    assert "backend" in frappe.services
    assert all(not n.startswith("x-") for n in frappe.services)
    netbox = project(load("compose-service-anchor-merge-interp-no-colon/docker-compose.yml"))
    worker = netbox.services["netbox-worker"]
    assert worker.get("image").text.startswith("docker.io/netboxcommunity/netbox:")
    assert "v4.1-3.0.2" in worker.get("image").text  # ${VERSION-v4.1-3.0.2} default applied
    crlf = load("compose-crlf-version-winpaths/docker-compose.yml")
    assert crlf.ok and crlf.source.newline == "\r\n"
    reset = load("compose-reset-tag-required-var/compose.mariadb-secrets.yaml")
    assert reset.ok
    voting = project(load("compose-profiles-trailing-ws-mixed-indent/docker-compose.yml"))
    assert voting.services["seed"].get("profiles").plain() == ["seed"]
    ext = project(load("compose-extends-short-long-empty-service/base.yaml"), loader=lambda r: None)
    assert "nil" in ext.services
    flow = project(load("compose-flow-mappings-aligned-values/compose-depends-on.yaml"))
    assert flow.services
    inline = project(load("compose-blockscalar-inline-dockerfile-heredoc/compose.yaml"))
    assert any(s.build and s.build.inline for s in inline.services.values())
    gitlab = project(load("compose-docstart-comments-between-seq-items/compose.yaml"))
    assert gitlab.services
