"""Hostile repositories against the scan: bounded interpolation, linear parsing, no hang on
special files, nothing dropped silently, symlink aliases planned once, escaped output, messages
that say what is wrong, one-line errors with the right exit code (2 environment, 3 internal)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from batten.cli import main
from batten.scan import scan

MEMORY_CAP = 1 << 30
COMPOSE = "services:\n  web:\n    image: example/web:1.2\n"


def batten(*args: str, timeout: float = 60, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """batten as a child with 1 GiB of address space: a bomb shows as a failure, not a dead machine."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "batten", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=cap, env=env, cwd=cwd)


def scan_json(root: Path, *extra: str) -> tuple[int, dict, str]:
    proc = batten("scan", str(root), "--format", "json", "--fail-on", "never", "--no-cache", *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def rules_at(doc: dict, rule: str) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["message"]) for f in doc["findings"] if f["rule"] == rule]


# -- 4. bounded interpolation ----------------------------------------------------------------


def test_deep_and_doubling_interpolation_is_a_parse_error_and_the_scan_goes_on(tmp_path):
    deep = "${A:-" * 3000 + "x" + "}" * 3000
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: 'example/web:1'\n"
                                           f"    environment:\n      DEEP: '{deep}'\n")
    lines = ["V0=xx"] + [f'V{i}="${{V{i - 1}}}${{V{i - 1}}}"' for i in range(1, 40)]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    code, doc, err = scan_json(tmp_path)
    assert code == 0, err
    errors = rules_at(doc, "parse.error")
    assert ("compose.yaml", 5, "variable interpolation nested deeper than 64 levels") in errors
    env_errors = [e for e in errors if e[0] == ".env"]
    assert env_errors and env_errors[0][1] == 21 and "past 1 MiB" in env_errors[0][2]
    assert rules_at(doc, "compose.user-unset")  # the other checks still ran
    assert "Dockerfile" in {f["path"] for f in doc["findings"]}


# -- 5. linear parsing (operation counts, not timings: benchmarks are in bench/) -------------


def _calls(root: Path) -> int:
    count = 0

    def prof(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(prof)
    try:
        scan([str(root)], use_cache=False)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("make", ["lines", "chain"])
def test_work_grows_linearly_with_the_dockerfile(tmp_path, make):
    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    try:
        from bench_hostile_scale import long_dockerfile, stage_chain
    finally:
        sys.path.pop(0)
    gen, n = (long_dockerfile, 600) if make == "lines" else (stage_chain, 600)
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    gen(small, n)
    gen(big, 4 * n)
    scan([str(small)], use_cache=False)  # imports and compiled regexes out of the way
    ratio = _calls(big) / _calls(small)
    assert ratio < 5.5, ratio  # 4x the input: ~4x the calls (quadratic would be ~16x)


def test_huge_gitignore_is_capped_and_listed(tmp_path):
    (tmp_path / ".gitignore").write_text("build-x/\n" * 120_000)  # 1.1 MB
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    assert {"path": ".gitignore", "reason": "file is 1,080,000 bytes, over batten's 1 MiB cap; its patterns are not applied"} \
        in doc["skipped"]
    assert rules_at(doc, "df.user-missing") or doc["findings"]


# -- 6. no hang on special files ---------------------------------------------------------------


def test_fifos_named_like_project_files_never_block(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for name in ("Dockerfile", ".env", ".dockerignore", ".gitignore", "pyproject.toml", ".batten.toml"):
        os.symlink(tmp_path / "pipe", tmp_path / name)
    os.mkfifo(tmp_path / "compose.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM debian:12\n")
    code, doc, err = scan_json(tmp_path)  # a hang would hit the subprocess timeout
    assert code == 0, err
    skipped = dict((s["path"], s["reason"]) for s in doc["skipped"])
    assert skipped["Dockerfile"] == "a FIFO, not a regular file; not read"
    assert skipped["compose.yaml"] == "a FIFO, not a regular file; not read"
    assert skipped[".env"] == "a FIFO, not a regular file; not read"
    assert "sub/Dockerfile" in {f["path"] for f in doc["findings"]}


# -- 7. nothing dropped silently ---------------------------------------------------------------


def test_tracked_files_are_scanned_whatever_gitignore_says(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed") if os.environ.get("CI") != "true" else pytest.fail("git missing")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "Dockerfile").write_text("FROM debian:12\n")
    (tmp_path / "Dockerfile.local").write_text("FROM debian:12\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "deploy/Dockerfile"], check=True)
    (tmp_path / ".gitignore").write_text("deploy/\nDockerfile.local\n")
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    paths = {f["path"] for f in doc["findings"]}
    assert "deploy/Dockerfile" in paths  # tracked: scanned
    assert "Dockerfile.local" not in paths  # untracked and ignored: skipped, and said so
    assert {"path": "Dockerfile.local", "reason": "git-ignored"} in doc["skipped"]


def test_pyvenv_decoy_and_skipped_directories_are_listed(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "pyvenv.cfg").write_text("")  # a decoy: not a virtualenv
    (tmp_path / "app" / "Dockerfile").write_text("FROM debian:12\n")
    venv = tmp_path / "env"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "Dockerfile").write_text("FROM debian:12\n")
    (tmp_path / "node_modules").mkdir()
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    assert "app/Dockerfile" in {f["path"] for f in doc["findings"]}
    skipped = dict((s["path"], s["reason"]) for s in doc["skipped"])
    assert skipped["env"] == "Python virtualenv (pyvenv.cfg)"
    assert skipped["node_modules"] == "dependency, tool or cache directory"
    proc = batten("scan", str(tmp_path), "--fail-on", "never", "--no-cache")
    assert f"{len(doc['skipped'])} path(s) skipped" in proc.stdout


def test_unreadable_paths_make_exit_2_unless_skip_unreadable(tmp_path, monkeypatch, capsys):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "Dockerfile").write_text("FROM debian:12\n")
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path):  # root reads everything: the permission error is injected
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code = main(["scan", str(tmp_path), "--no-cache", "--fail-on", "never", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "1 path(s) could not be read (locked)" in err and "--skip-unreadable" in err
    assert {"path": "locked", "reason": "cannot list directory: Permission denied"} in json.loads(out)["skipped"]
    assert main(["scan", str(tmp_path), "--no-cache", "--fail-on", "never", "--skip-unreadable"]) == 0


def test_over_deep_tree_is_listed_and_exit_2(tmp_path):
    d = tmp_path
    for _ in range(70):
        d = d / "d"
    d.mkdir(parents=True)
    (d / "Dockerfile").write_text("FROM debian:12\n")
    code, doc, err = scan_json(tmp_path)
    assert code == 2 and "could not be read" in err
    assert any(s["reason"] == "deeper than 64 directory levels; not walked" for s in doc["skipped"])


# -- 12. a symlink alias is planned once -------------------------------------------------------


def test_symlink_alias_is_fixed_once(tmp_path, monkeypatch):
    monkeypatch.setenv("BATTEN_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM debian:12\nADD app.py /srv/\n")
    os.symlink("Dockerfile", root / "Dockerfile.prod")
    result = scan([str(root)], use_cache=False)
    assert sorted({f.path for f in result.findings if f.path}) == ["Dockerfile"]
    assert main(["fix", str(root), "--write"]) == 0
    assert "COPY app.py /srv/" in (root / "Dockerfile").read_text()
    assert (root / "Dockerfile.prod").is_symlink()


# -- 9. paths and pragma reasons with control characters --------------------------------------


def test_control_characters_in_paths_and_pragmas_are_escaped(tmp_path):
    name = "Dockerfile.\x1b]0;owned\x07\x85x"
    (tmp_path / name).write_text("FROM debian:12\n# batten: ignore=df.user-missing -- ok \x1b[2J\x9b\n"
                                 "RUN apt-get install -y curl\n")
    for fmt in ("text", "json", "sarif"):
        proc = batten("scan", str(tmp_path), "--format", fmt, "--fail-on", "never", "--no-cache",
                      "--show-suppressed" if fmt == "text" else "--no-cache")
        assert proc.returncode == 0, proc.stderr
        raw = proc.stdout.encode("utf-8")
        assert b"\x1b" not in raw and b"\x07" not in raw and b"\xc2\x85" not in raw and b"\xc2\x9b" not in raw
        assert "Traceback" not in proc.stderr
    proc = batten("fix", str(tmp_path), "--color", "never")  # the diff and its summary lines
    assert proc.returncode == 0 and "+++ b/Dockerfile.\\x1b]0;owned\\x07" in proc.stdout, proc.stderr
    for raw in (proc.stdout.encode(), proc.stderr.encode()):
        assert b"\x1b" not in raw and b"\x07" not in raw and b"\xc2\x85" not in raw


# -- 13. messages that say what is wrong -------------------------------------------------------


def test_big_alias_free_compose_is_not_called_a_bomb(tmp_path):
    services = "".join(f"  s{i}:\n    image: example/s{i}:1\n    environment: [" + ", ".join(
        f"K{j}=v" for j in range(40)) + "]\n" for i in range(6000))
    (tmp_path / "compose.yaml").write_text("services:\n" + services)
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    messages = [m for _p, _l, m in rules_at(doc, "parse.error")]
    assert messages and "bomb" not in messages[0] and "no aliases involved" in messages[0]


def test_includes_that_are_not_read_are_said(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "include:\n  - https://example.invalid/compose.yaml\n  - ../../etc/compose.yaml\n"
        "  - path: other/compose.yaml\n" + COMPOSE)
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    notices = [(line, m) for _p, line, m in rules_at(doc, "compose.include-unread")]
    assert notices == [
        (2, "include: https://example.invalid/compose.yaml is a remote file, which batten never fetches: "
            "its services are not checked here"),
        (3, "include: ../../etc/compose.yaml is outside the project, which batten does not read: "
            "its services are not checked here")]
    errors = [m for _p, _l, m in rules_at(doc, "parse.error")]
    assert errors == ["include: other/compose.yaml does not exist or cannot be read"]  # docker compose fails too
    assert rules_at(doc, "compose.user-unset")  # the file itself is still checked


def test_a_huge_value_is_clipped_in_every_message(tmp_path):
    name = "registry.example/" + "a" * 15000 + ":1"
    (tmp_path / ".env").write_text(f"IMG={name}\n")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: ${IMG}\n    healthcheck:\n"
                                           "      test: ['CMD', '" + "x" * 400 + "']\n")
    code, doc, _err = scan_json(tmp_path)
    assert code == 0
    messages = [f["message"] for f in doc["findings"]]
    quoting = [m for m in messages if "registry.example/" in m]
    assert len(quoting) >= 2 and all(name[:119] + "…" in m and name[:120] not in m for m in quoting)
    assert max(map(len, messages)) < 400

    from batten.checks.catalogue import RULES
    from batten.model import Finding

    f = Finding(RULES["compose.user-unset"], f"service 'web' has no user: and image '{name}' is unknown", None)
    assert f.message == "service 'web' has no user: and image '" + name[:119] + "…' is unknown"
    f.message = f"refined later: {name} runs as root"  # a message rewritten after the engine answered
    assert f.message == f"refined later: {name[:119]}… runs as root"


# -- 10. one line, exit 2 for the environment, 3 for a bug ------------------------------------


def test_internal_error_is_one_line_exit_3(tmp_path, monkeypatch, capsys):
    import batten.scan

    def boom(*a, **k):
        raise KeyError("surprise")

    monkeypatch.setattr(batten.scan, "scan", boom)
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    assert main(["scan", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("batten: internal error: KeyError") and "Traceback" not in err


def test_environment_error_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    import batten.scan

    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(batten.scan, "scan", full)
    assert main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"batten: No space left on device: {tmp_path / 'x'}\n"


def test_read_only_output_directory_is_one_line(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    out_dir = Path(tempfile.mkdtemp(prefix="batten-ro-"))
    try:
        (out_dir / "report.json").mkdir()  # a directory where the report should go
        proc = batten("scan", str(tmp_path), "--format", "json", "--output", str(out_dir / "report.json"))
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "directory, not a regular file" in proc.stderr
    finally:
        shutil.rmtree(out_dir)


def test_grouped_gitignore_matching_agrees_with_pattern_by_pattern():
    """The grouped/basename matcher gives what checking each pattern in order (last wins) gives."""
    import random

    from batten.sources.discover import GitIgnore, _compile

    rnd = random.Random(7)
    atoms = ["build", "dist", "*.log", "*.o", "keep", "a", "b", "node_modules", "x?", "[ab]c", "**", "c"]
    names = ["build", "dist", "app.log", "main.o", "keep", "a", "b", "node_modules", "xy", "ac", "bc", "c", "d"]
    for _round in range(60):
        lines, root_lines, sub_lines = [], [], []
        for _ in range(rnd.randint(1, 40)):
            parts = [rnd.choice(atoms) for _ in range(rnd.randint(1, 3))]
            line = ("/" if rnd.random() < 0.2 else "") + "/".join(parts) + ("/" if rnd.random() < 0.2 else "")
            line = ("!" if rnd.random() < 0.3 else "") + line
            (root_lines if rnd.random() < 0.7 else sub_lines).append(line)
        lines = [(line, "") for line in root_lines] + [(line, "a") for line in sub_lines]
        gi = GitIgnore()
        gi.add_text("\n".join(root_lines), "")
        gi.add_text("\n".join(sub_lines), "a")
        reference = []
        for line, base in lines:
            compiled = _compile(line)
            if compiled:
                reference.append((compiled, base))
        for _ in range(40):
            rel = "/".join(rnd.choice(names) for _ in range(rnd.randint(1, 4)))
            is_dir = rnd.random() < 0.4
            want = False
            for (regex, negate, dir_only), base in reference:
                if base and not rel.startswith(base + "/"):
                    continue
                sub = rel[len(base) + 1:] if base else rel
                if dir_only and not is_dir:
                    continue
                if regex.match(sub):
                    want = not negate
            assert gi.ignored(rel, is_dir) == want, (lines, rel, is_dir)


_WORDS = " ".join(["word"] * 2500)  # a 12 KB value with spaces: no quote or run marks it as one value


def test_every_message_quoting_a_huge_value_is_bounded(tmp_path):
    """Huge values (with and without spaces) in Dockerfile ENV/LABEL/USER/CMD and compose
    environment, labels, command, ports, devices, tmpfs...: every message stays short, the value
    clipped with an ellipsis and the rest of the sentence kept."""
    import textwrap

    sp, ns = _WORDS, "x" * 10000
    (tmp_path / "Dockerfile").write_text(textwrap.dedent(f"""\
        FROM debian:12
        ENV BIG="{sp}" BIGNS={ns}
        ENV PASSWORD="{sp}"
        LABEL description="{sp}"
        USER root {sp}
        RUN echo {sp} && curl http://x/{ns} | sh
        CMD {sp}
        """))
    q = f'"{sp}"'
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(f"""\
        services:
          app:
            image: "img{ns}:latest"
            environment: {{BIG: {q}, DB_PASSWORD: {q}, NS: {ns}}}
            labels: {{a: {q}, b: {ns}}}
            command: {q}
            entrypoint: ["sh", "-c", {q}]
            ports: ["0.0.0.0:80:80 {sp}"]
            devices: ["/dev/sda {sp}"]
            tmpfs: ["/tmp {sp}"]
            cgroup_parent: {q}
            healthcheck: {{test: ["CMD", {q}]}}
          b:
            build: .
            environment: ["TOKEN={sp}"]
            labels: ["k={sp}"]
            command: [{q}, "{ns}"]
        """))
    code, doc, err = scan_json(tmp_path)
    assert code == 0, err
    messages = {(f["rule"], f["message"]) for f in doc["findings"]}
    assert len(messages) > 20 and not any(f["path"] == "compose.yaml" and f["rule"] == "parse.error"
                                          for f in doc["findings"])
    assert max(len(m) for _r, m in messages) < 600
    tails = {"user.numeric": "is a name;", "ports.bind-all-interfaces": "on all interfaces",
             "devices.host": "through", "fs.tmpfs-noexec": "tmpfs /tmp word", "cgroup.parent": "cgroup_parent: word"}
    for rid, tail in tails.items():
        (m,) = [m for r, m in messages if r == rid]
        assert "word w" in m and "…" in m and tail in m, (rid, m)


def test_live_messages_quoting_huge_engine_values_are_bounded():
    from batten.live.drift import drift_findings
    from batten.live.facts import judge_container
    from batten.model import Location

    sp = _WORDS
    data = json.loads((Path(__file__).parent / "fixtures" / "live" / "inspect-privileged.json").read_text())
    cfg, hc = data["Config"], data["HostConfig"]
    cfg.update({"Env": [f"BIG={sp}", f"DB_PASSWORD={sp}"], "Labels": {f"k {sp}": sp}, "Cmd": ["sh", "-c", sp],
                "User": f"0 {sp}", "Image": f"img {sp}"})
    hc.update({"CgroupParent": sp, "CapAdd": [f"SYS_ADMIN {sp}"], "SecurityOpt": [f"seccomp=unconfined {sp}"],
               "Devices": [{"PathOnHost": f"/dev/sda {sp}", "PathInContainer": f"/dev/x {sp}",
                            "CgroupPermissions": "rwm"}],
               "Binds": [f"/etc {sp}:/etc", f"/var/run/docker.sock:/x {sp}"],
               "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": f"80 {sp}"}]}})
    data["Mounts"] = [{"Type": "bind", "Source": f"/etc {sp}", "Destination": f"/x {sp}", "Mode": "",
                       "RW": True, "Propagation": "rshared"}]
    found = judge_container(data)
    declared = {"user": sp, "cap_drop": [sp], "image": sp, "command": sp, "ports": [sp], "volumes": [sp],
                "environment": {"A": sp}, "cgroup_parent": sp, "privileged": False}
    drifted = drift_findings(data, declared, None, location=Location("compose.yaml", 1), service=sp)
    assert len(found) > 8 and len(drifted) > 5
    assert max(len(f.message) for f in [*found, *drifted]) < 600
    by_rule = {f.rule.id: f.message for f in found}
    assert by_rule["devices.host"].endswith("(rwm)") and "…" in by_rule["devices.host"]
    assert all("port it back" in f.message or "recreate it" in f.message for f in drifted)


def test_a_message_is_bounded_whatever_a_rule_quotes_bare():
    from batten.checks.catalogue import RULES
    from batten.model import Finding
    from batten.sanitize import MESSAGE_LIMIT

    f = Finding(RULES["cgroup.parent"], f"service 'web' sets something: {_WORDS} and more", None)
    assert len(f.message) == MESSAGE_LIMIT and f.message.endswith("…") and f.message.startswith("service 'web'")
