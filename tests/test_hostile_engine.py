"""A hostile Docker engine (tests/support/fake_engine.py on a unix socket): endless and trickling
answers, escape sequences, wrong JSON types, values crafted to become YAML. batten runs as a
child process with its address space capped (RLIMIT_AS), finishes in bounded time with one line
per problem, prints the static findings whatever the engine does, never writes what the engine
made up into a file, and sends the engine nothing but GET requests."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batten.live.endpoint import Endpoint
from batten.live.gateway import DockerGateway, EngineError, EngineUnavailable
from tests.support.fake_engine import (
    CID,
    IMAGE_ID,
    Answer,
    FakeEngine,
    baseline,
    endless,
    trickle,
    trickle_headers,
)

MEMORY_CAP = 1 << 30  # 1 GiB of address space for the whole batten process
COMPOSE = "services:\n  web:\n    image: example/web:1.2\n"
ESC = "\x1b]0;owned\x07\x1b[2J\x9b31m\r"
# what may reach a terminal: printable text, newlines and tabs (colour is off: no ESC at all)
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def batten(*args: str, timeout: float = 60) -> tuple[int, str, str, float]:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "NO_COLOR": "1"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "batten", *args], capture_output=True, timeout=timeout,
                          preexec_fn=_cap, env=env)
    elapsed = time.monotonic() - t0
    out = proc.stdout.decode("utf-8")  # strict: no undecodable byte reaches the terminal
    err = proc.stderr.decode("utf-8")
    return proc.returncode, out, err, elapsed


def assert_clean(*texts: str) -> None:
    for t in texts:
        assert not _RAW_CONTROL.search(t), t
        assert "Traceback" not in t


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    return root


def engine(tmp_path: Path, **routes) -> FakeEngine:
    return FakeEngine(str(tmp_path), baseline(**routes))


# -- 3. bounded engine calls -----------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["endless", "trickle", "trickle_headers"])
def test_endless_or_trickling_engine_is_cut_off(tmp_path, project, behaviour):
    route = {"endless": endless(), "trickle": trickle(), "trickle_headers": trickle_headers()}[behaviour]
    with engine(tmp_path, **{"/containers/json": route}) as eng:
        code, out, err, elapsed = batten("containers", "--host", eng.url, "--timeout", "3")
        assert code == 2 and elapsed < 20, (elapsed, err)
        line = err.strip().splitlines()[-1]
        if behaviour == "endless":
            assert "exceeds batten's 32 MiB cap" in line
        else:
            assert "did not finish answering list containers within 6s" in line
        assert_clean(out, err)
        # scan --live still prints the static findings
        code, out, err, elapsed = batten("scan", str(project), "--live", "--host", eng.url, "--fail-on", "never",
                                         "--color", "never")
        assert code == 0 and elapsed < 40, (elapsed, err)
        assert "live view unavailable" in err and "static findings below" in err
        assert "compose.yaml" in out and "no-new-privileges" in out
        assert_clean(out, err)
        assert eng.non_get() == []


def test_close_wakes_a_waiting_call_at_once(tmp_path):
    with engine(tmp_path, **{"/containers/json": trickle(interval=0.5)}) as eng:
        gw = DockerGateway(Endpoint(eng.url, "--host"), timeout=30)
        gw.version()
        import threading

        box: dict[str, BaseException] = {}

        def call() -> None:
            try:
                gw.list_containers()
            except BaseException as exc:
                box["e"] = exc

        t = threading.Thread(target=call)
        t.start()
        assert eng.wait_for("/containers/json")
        t0 = time.monotonic()
        gw.close()
        t.join(5)
        assert not t.is_alive() and time.monotonic() - t0 < 1.0
        assert isinstance(box["e"], EngineUnavailable) and "closed" in str(box["e"])


# -- 9/10/13. wrong types, escapes, misleading messages ---------------------------------------


@pytest.mark.parametrize(
    ("routes", "expect"),
    [
        ({"/info": ["not", "an", "object"]}, "malformed answer to info: the answer is a list, not an object"),
        ({f"/containers/{CID}/json": {**baseline()[f"/containers/{CID}/json"], "State": 5}},
         "malformed answer to inspect of container " + CID + ": State is a number, not an object"),
        ({"/containers/json": [{"Id": CID, "Names": "web"}]}, "[0].Names is a string, not a list"),
        ({"/version": Answer(404, b'{"message": "page not found"}')}, "refused version: HTTP 404: page not found"),
        ({"/version": {"ApiVersion": "lol\x1b[31m"}}, "unusable API version 'lol\\x1b[31m'"),
        ({"/info": Answer(200, b"<html>proxy error</html>")}, "answered info with something that is not JSON"),
        ({"/info": Answer(200, b"[" * 100_000 + b"]" * 100_000)}, "answered info with something that is not JSON"),
        ({"/info": Answer(500, json.dumps({"message": "boom " + ESC}).encode())},
         "refused info: HTTP 500: boom \\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\r"),
        ({"/containers/json": [{"Id": "../../images/x", "Names": ["/x"]}]}, "refusing a malformed container id"),
    ],
)
def test_wrong_answers_are_one_line_exit_2(tmp_path, routes, expect):
    with engine(tmp_path, **routes) as eng:
        code, out, err, _t = batten("containers", "--host", eng.url, "--timeout", "2")
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and expect in lines[0], err
        assert "cannot reach" not in err and "older than" not in err
        assert_clean(out, err)
        assert eng.non_get() == []


def test_escape_sequences_from_the_engine_are_escaped_everywhere(tmp_path, project):
    listed = baseline()["/containers/json"][0]
    inspect = dict(baseline()[f"/containers/{CID}/json"])
    inspect["Name"] = "/web" + ESC
    inspect["Config"] = {**inspect["Config"], "Image": "img" + ESC,
                         "Labels": {"com.docker.compose.project": "demo" + ESC, "com.docker.compose.service": "web"}}
    routes = {"/containers/json": [{**listed, "Status": "Up" + ESC, "Names": ["/web" + ESC]}],
              f"/containers/{CID}/json": inspect}
    with engine(tmp_path, **routes) as eng:
        for fmt in ("text", "json", "sarif"):
            code, out, err, _t = batten("containers", "--host", eng.url, "--format", fmt, "--color", "never")
            assert code == 0, err
            assert_clean(out, err)
            assert "\\x1b" in out or "\\u001b" in out
        code, out, err, _t = batten("scan", str(project), "--live", "--host", eng.url, "--fail-on", "never",
                                    "--color", "never", "--all")
        assert code == 0, err
        assert_clean(out, err)
        assert eng.non_get() == []


def test_plain_tcp_is_warned_about(tmp_path):
    code, _out, err, _t = batten("containers", "--host", "tcp://127.0.0.1:9", "--timeout", "1")
    assert code == 2
    assert "plain TCP without TLS" in err.splitlines()[0]


@pytest.mark.parametrize("url", ["tcp://[::1", "tcp://h:99999", "ssh://[-oProxyCommand=touch /tmp/x]",
                                 "ssh://-oProxyCommand=x", "tcp://h\x1b[31m"])
def test_bad_host_urls_are_one_line(url):
    code, out, err, _t = batten("containers", "--host", url)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "invalid Docker host" in err
    assert_clean(out, err)


# -- 2. engine data never becomes YAML syntax -------------------------------------------------


def test_engine_values_crafted_as_yaml_are_not_written(tmp_path, project):
    inspect = dict(baseline()[f"/containers/{CID}/json"])
    inspect["Config"] = {**inspect["Config"], "User": 'app"\n    privileged: true'}
    routes = {
        f"/containers/{CID}/json": inspect,
        f"/containers/{CID}/changes": [{"Path": "/opt/a,/etc", "Kind": 1}, {"Path": "/opt/a,/etc/x", "Kind": 1},
                                       {"Path": "/tmp/../etc", "Kind": 1}, {"Path": "/tmp/../etc/y", "Kind": 1}],
        f"/containers/{CID}/top": {"Titles": ["USER", "PID", "CMD"],
                                   "Processes": [['app"\n    privileged: true', "1", "web"]]},
    }
    with engine(tmp_path, **routes) as eng:
        code, out, err, _t = batten("fix", str(project), "--live", "--host", eng.url, "--unsafe", "--write",
                                    "--color", "never")
        assert code == 0, err
        assert "live evidence from the running containers of: web" in err
        assert_clean(out, err)
        text = (project / "compose.yaml").read_text()
        assert "user:" in text and "read_only: true" in text  # the evidence was used, the fixes written
        from ruamel.yaml import YAML

        web = YAML(typ="safe").load(text)["services"]["web"]
        assert "privileged" not in web
        assert "/etc" not in json.dumps(web.get("tmpfs", [])) and "/etc" not in json.dumps(web.get("volumes", []))
        assert "privileged" not in str(web.get("user", ""))
        assert eng.non_get() == []
        assert any(p.endswith("/changes") for _m, p in eng.requests)


def test_yaml_emitter_quotes_anything():
    from ruamel.yaml import YAML

    from batten.fixers.yamledit import Quoted, double_quoted, scalar

    for value in ['app"\n    privileged: true', "a: b", "x\x85y\u2028z", "'", "- x", "#", "*alias", "\x1b[31m",
                  "yes", "1.5", "a\\", "\t"]:
        for quote in ('"', "'"):
            doc = f"k: {scalar(Quoted(value), quote)}\nprivileged: false\n"
            assert YAML(typ="safe").load(doc) == {"k": value, "privileged": False}, doc
            doc = f"k: {scalar(value, quote)}\n"
            assert YAML(typ="safe").load(doc) == {"k": value}, doc
        assert "\n" not in double_quoted(value)


# -- the engine is never written to ------------------------------------------------------------


def test_only_get_requests_reach_the_engine(tmp_path, project):
    with engine(tmp_path) as eng:
        for args in (("containers", "--all"), ("scan", str(project), "--live", "--all", "--fail-on", "never"),
                     ("fix", str(project), "--live")):
            code, _out, err, _t = batten(*args, "--host", eng.url)
            assert code == 0, err
        assert len(eng.requests) > 8
        assert eng.non_get() == []
        gw = DockerGateway(Endpoint(eng.url, "--host"), timeout=2)
        with pytest.raises(EngineError):
            gw.inspect_image("x/../../containers/" + CID)
        assert gw.inspect_image(IMAGE_ID) is not None
        gw.close()


# -- 3. the TUI quits at once whatever the engine does ----------------------------------------


@pytest.mark.parametrize("key", [b"q", b"\x03"])
@pytest.mark.parametrize("slow", ["list", "export"])
def test_tui_quits_at_once_while_the_engine_trickles(tmp_path, project, key, slow):
    import fcntl
    import pty
    import select
    import struct
    import termios

    from tests.test_tui_pty import batten_command, read_until

    # list: the containers never come; export: they come at once, then an image export trickles
    routes = ({"/containers/json": trickle(interval=1.0), "/info": trickle(interval=1.0)} if slow == "list"
              else {f"/images/{IMAGE_ID}/get": trickle(b"", interval=1.0)})
    with engine(tmp_path, **routes) as eng:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", BATTEN_STATE_DIR=str(tmp_path / "state"),
                   BATTEN_CACHE_DIR=str(tmp_path / "cache"))
        proc = subprocess.Popen([*batten_command(), str(project), "--host", eng.url], stdin=slave, stdout=slave,
                                stderr=slave, env=env, cwd=tmp_path, start_new_session=True)
        os.close(slave)
        try:
            read_until(master, (b"priv.no-new-priv",), timeout=20)
            if slow == "list":
                assert eng.wait_for("/info", timeout=20)  # the engine call is in flight, trickling
            else:  # the list is shown while the export is in flight
                read_until(master, (b"1 container \xc2\xb7 reading images 0/1",), timeout=20)
                assert eng.wait_for("/get", timeout=20)
            time.sleep(0.3)
            t0 = time.monotonic()
            os.write(master, key)
            while proc.poll() is None and time.monotonic() - t0 < 10:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        os.read(master, 65536)
                    except OSError:
                        time.sleep(0.02)
            elapsed = time.monotonic() - t0
            assert proc.poll() == 0, elapsed
            assert elapsed < 2.0, elapsed
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        assert eng.non_get() == []
