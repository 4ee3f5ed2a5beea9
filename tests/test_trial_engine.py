"""Fixes tried on the real (private, network-less) engine before they are written, and what the
engine shows about images deciding which fixes are offered. Images are built locally from the
imported busybox rootfs (metadata-only Dockerfiles); nothing is ever pulled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batten.cli import main
from batten.live.endpoint import Endpoint
from batten.live.gateway import DockerGateway
from batten.live.trial import TRIAL_LABEL, TrialEngine, TrialSpec, judge, run_pair
from tests import rulekit

pytestmark = pytest.mark.engine

WRITER = "batten-test/writer:1"  # writes below /data at start: a read-only root kills it
WRITER_DOCKERFILE = """FROM batten-test/busybox:1
CMD ["sh", "-c", "mkdir -p /data/cache && echo ok > /data/cache/state && exec sleep 3600"]
"""
OWN_HEALTH = "batten-test/own-health:1"  # ships its own HEALTHCHECK
OWN_HEALTH_DOCKERFILE = """FROM batten-test/busybox:1
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["true"]
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080"]
"""
SERVER = "batten-test/busybox:1"  # has sh, nc and httpd, but neither wget nor curl


@pytest.fixture(scope="module")
def images(docker_engine: Any) -> dict[str, str]:
    docker_engine.build(WRITER, WRITER_DOCKERFILE)
    docker_engine.build(OWN_HEALTH, OWN_HEALTH_DOCKERFILE)
    return {"writer": WRITER, "own": OWN_HEALTH}


@pytest.fixture
def gateway(engine: Any) -> Any:
    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=20)
    yield gw
    gw.close()


def trial_containers(engine: Any) -> list[Any]:
    return engine.client.containers.list(all=True, filters={"label": TRIAL_LABEL})


def batten(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------
# the trial catches a read-only root that kills the service, and proposes the tmpfs it needs
# ---------------------------------------------------------------------------------------------


def test_trial_holds_back_a_read_only_root_that_kills_the_service(
    engine: Any, images: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    compose = f"services:\n  writer:\n    image: {WRITER}\n"
    rulekit.write(tmp_path, {"compose.yaml": compose})
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "fs.rootfs-writable", "--unsafe",
                             "--write", "--trial", "--host", engine.url, "--color", "never")
    assert (tmp_path / "compose.yaml").read_text() == compose, err  # the failing fix is not written
    assert "writer" in err and "FAILED" in err and "Read-only file system" in err
    assert "not written: co.read-only" in err
    assert "--set tmpfs_paths=/tmp,/run,/data" in err  # the remedy the failure implies
    assert not trial_containers(engine)  # every throwaway container is gone
    # with the remedy the trial passes and the fix is written
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "fs.rootfs-writable", "--unsafe",
                             "--write", "--trial", "--set", "tmpfs_paths=/tmp,/run,/data",
                             "--host", engine.url, "--color", "never")
    text = (tmp_path / "compose.yaml").read_text()
    assert code == 0, err
    assert "read_only: true" in text and "/data" in text
    assert "tried: 1 passed, 0 with fixes held back" in err
    assert not trial_containers(engine)


def test_trial_passes_a_fix_the_service_survives(engine: Any, tmp_path: Path, capsys: Any) -> None:
    compose = f"services:\n  web:\n    image: {SERVER}\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n"
    rulekit.write(tmp_path, {"compose.yaml": compose})
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "fs.rootfs-writable",
                             "--rule", "priv.no-new-privileges", "--unsafe", "--write", "--trial",
                             "--host", engine.url, "--color", "never")
    text = (tmp_path / "compose.yaml").read_text()
    assert code == 0, err
    assert "read_only: true" in text and "no-new-privileges:true" in text
    assert "1 of 1 changed service(s) tried: 1 passed, 0 with fixes held back" in err
    assert not trial_containers(engine)


def test_dockerfile_fixes_are_reported_as_not_tried(engine: Any, tmp_path: Path, capsys: Any) -> None:
    """The trial tries compose services only: each Dockerfile fix of the run is named as not
    tried (it needs a build, and batten never builds), so nobody takes it as verified."""
    compose = f"services:\n  web:\n    image: {SERVER}\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n"
    dockerfile = "FROM batten-test/busybox:1\nRUN apk add curl\nCMD sleep 1\n"
    rulekit.write(tmp_path, {"compose.yaml": compose, "Dockerfile": dockerfile})
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "priv.no-new-privileges",
                             "--rule", "pkg.apk-no-cache", "--rule", "cmd.json-form", "--write", "--trial",
                             "--host", engine.url, "--color", "never")
    assert code == 0, err
    assert "1 of 1 changed service(s) tried: 1 passed" in err  # the compose fix was tried
    assert "trial: 2 Dockerfile fix(es) not tried, so not verified on the engine" in err
    for fid, line in (("df.apk-no-cache", 2), ("df.cmd-json", 3)):
        assert (f"  {fid} at Dockerfile:{line} [stage 0]: not tried: Dockerfile fixes need a build; "
                "batten never builds") in err, err
    assert "--no-cache" in (tmp_path / "Dockerfile").read_text()  # still written: the user asked for it
    assert not trial_containers(engine)
    # no Dockerfile fix in the run: no such line
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "logging.unbounded", "--trial",
                             "--host", engine.url, "--color", "never")
    assert "Dockerfile fix" not in err and "tried: 1 passed" in err


def test_judge_and_cleanup_on_interrupt(engine: Any, gateway: DockerGateway) -> None:
    spec = TrialSpec(image=SERVER, command=["sh", "-c", "mkdir -p /srv/app && touch /srv/app/x && sleep 30"])
    fixed = TrialSpec(image=SERVER, command=spec.command, read_only=True, tmpfs={"/tmp": ""})
    base_obs, fixed_obs = run_pair(TrialEngine(gateway), spec, fixed, "judge", seconds=3)
    verdict = judge(base_obs, fixed_obs, fixed)
    assert verdict.passed is False and "exited" in verdict.signals and "read-only" in verdict.signals
    assert [r.value for r in verdict.remedies if r.param == "tmpfs_paths"] == ["/srv"]

    class Interrupted(TrialEngine):
        def observe(self, cid: str) -> Any:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_pair(Interrupted(gateway), spec, fixed, "interrupted", seconds=8)
    assert not trial_containers(engine)  # removed on Ctrl-C too


# ---------------------------------------------------------------------------------------------
# an image's own HEALTHCHECK is never overridden; no probe is guessed for an image without one
# ---------------------------------------------------------------------------------------------


def test_image_with_its_own_healthcheck_is_never_overridden(
    engine: Any, images: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    compose = f"services:\n  app:\n    image: {OWN_HEALTH}\n    ports: [\"8080:8080\"]\n"
    rulekit.write(tmp_path, {"compose.yaml": compose})
    _code, out, _err = batten(capsys, "scan", str(tmp_path), "--format", "json")
    assert "health.missing-compose" in out and "was not inspected" in out  # static: no assertion
    _code, out, _err = batten(capsys, "scan", str(tmp_path), "--live", "--host", engine.url, "--format", "json")
    assert "health.missing-compose" not in out  # inspected: the image's HEALTHCHECK counts
    _code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "health.*", "--write", "--trial",
                              "--accept-defaults", "--set", "healthcheck_cmd=wget -q http://127.0.0.1:8080/",
                              "--host", engine.url, "--color", "never")
    assert (tmp_path / "compose.yaml").read_text() == compose, err
    # --live plans with the same image facts (read-only: no container is created)
    _code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "health.*", "--write", "--live",
                              "--accept-defaults", "--set", "healthcheck_cmd=wget -q http://127.0.0.1:8080/",
                              "--host", engine.url, "--color", "never")
    assert (tmp_path / "compose.yaml").read_text() == compose, err
    assert not trial_containers(engine)


def test_no_probe_is_guessed_for_an_image_without_wget_or_curl(
    engine: Any, tmp_path: Path, capsys: Any
) -> None:
    compose = (f"services:\n  web:\n    image: {SERVER}\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n"
               "    ports: [\"8080:8080\"]\n")
    rulekit.write(tmp_path, {"compose.yaml": compose})
    _code, out, _err = batten(capsys, "scan", str(tmp_path), "--live", "--host", engine.url, "--format", "json")
    assert "defines none (inspected)" in out
    code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "health.*", "--write", "--trial",
                             "--accept-defaults", "--host", engine.url, "--color", "never")
    assert code == 0 and (tmp_path / "compose.yaml").read_text() == compose, err  # nothing guessed or written
    assert not trial_containers(engine)


def test_a_probe_the_image_has_is_tried_and_an_unhealthy_one_held_back(
    engine: Any, tmp_path: Path, capsys: Any
) -> None:
    # a probe given by the user that fails on a working service: the trial sees it turn unhealthy
    compose = f"services:\n  web:\n    image: {SERVER}\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n"
    rulekit.write(tmp_path, {"compose.yaml": compose})
    _code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "health.*", "--write", "--trial",
                              "--set", "healthcheck_cmd=nc 127.0.0.1 9999 </dev/null", "--set", "healthcheck_start_period=0s",
                              "--host", engine.url, "--color", "never")
    assert (tmp_path / "compose.yaml").read_text() == compose, err
    assert "unhealthy" in err and "not written: co.healthcheck" in err
    # the right port: healthy, written
    _code, _out, err = batten(capsys, "fix", str(tmp_path), "--rule", "health.*", "--write", "--trial",
                              "--set", "healthcheck_cmd=nc 127.0.0.1 8080 </dev/null",
                              "--host", engine.url, "--color", "never")
    assert "nc 127.0.0.1 8080 </dev/null" in (tmp_path / "compose.yaml").read_text(), err
    assert not trial_containers(engine)


# ---------------------------------------------------------------------------------------------
# the fix dialog's trial key
# ---------------------------------------------------------------------------------------------


async def test_fix_dialog_trial_blocks_apply_when_it_fails(
    engine: Any, images: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batten.tui.factory import build_app

    monkeypatch.setenv("BATTEN_STATE_DIR", str(tmp_path / "state"))
    compose = f"services:\n  writer:\n    image: {WRITER}\n"
    rulekit.write(tmp_path / "p", {"compose.yaml": compose})
    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=20)
    app = build_app(str(tmp_path / "p"), gateway=gw, poll_interval=0)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
            f = next(x for x in app.session.result.active() if x.rule.id == "fs.rootfs-writable")
            assert app.main.findings.table.select_fingerprint(f.fingerprint())
            await pilot.pause()
            await pilot.press("f")
            await pilot.pause()
            note = str(app.screen.query_one("#note-tmpfs_paths").render())
            risks = str(app.screen.query_one("#fix-defaults").render())
            assert "default" in note and "default tmpfs_paths: " in risks and "Read-only file system" in risks
            assert "What may break" in str(app.screen.query_one("#fix-explanation").render())
            await pilot.press("ctrl+t")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.screen.query_one("#fix-status").render())
            assert "Trial FAILED" in status and "Read-only file system" in status, status
            assert "tmpfs_paths=/tmp,/run,/data" in status
            assert app.screen.query_one("#fix-confirm").disabled
            await pilot.press("escape")
            await pilot.pause()
        assert (tmp_path / "p" / "compose.yaml").read_text() == compose
        assert not trial_containers(engine)
    finally:
        gw.close()
