"""The trial run: start a service as a fix would leave it, beside the unfixed one, in throwaway
containers, and compare what happens.

This is the one place batten changes engine state, and only its own: every container it creates
carries the label ``batten.trial=1``, runs with ``network_mode="none"``, is created from an image
already on the engine (the API's create never pulls), and is removed (with its anonymous volumes)
when the observation ends, on an error, or on Ctrl-C. Nothing of the project is mounted: the
service's volumes become empty tmpfs mounts in both runs, so the trial writes nothing to the host.

What counts as breaking: the fixed container exits (or exits with another code) where the unfixed
one keeps running, is OOM-killed, turns unhealthy, or logs errors such as "Read-only file system"
or "Permission denied" that the unfixed one does not. Each failure proposes the remedy it implies
(a tmpfs for the path that failed, a capability, a larger limit).
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.model import BattenError
from batten.sanitize import one_line

TRIAL_LABEL = "batten.trial"
DEFAULT_SECONDS = 6.0
LOG_TAIL = 60
LOG_BYTES = 64 * 1024


@dataclass(slots=True)
class TrialSpec:
    """A container to try: what compose would start, reduced to what a throwaway container on
    no network can do. Durations in nanoseconds, sizes in bytes."""

    image: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    working_dir: str | None = None
    read_only: bool = False
    tmpfs: dict[str, str] = field(default_factory=dict)  # path -> mount options
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    mem_limit: int | None = None
    mem_reservation: int | None = None
    nano_cpus: int | None = None
    pids_limit: int | None = None
    init: bool | None = None
    shm_size: int | None = None
    healthcheck: dict[str, Any] | None = None  # docker-py form; {"test": ["NONE"]} disables
    notes: list[str] = field(default_factory=list)  # what the trial could not reproduce


@dataclass(slots=True)
class Observation:
    status: str = ""  # running | exited | created | ...
    exit_code: int | None = None
    oom_killed: bool = False
    restarts: int = 0
    health: str | None = None  # starting | healthy | unhealthy | None (no healthcheck)
    health_log: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    error: str | None = None  # the engine refused to create or start it

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass(slots=True)
class Remedy:
    param: str  # the fix parameter the remedy sets ("" when no parameter covers it)
    value: str  # what to add or set
    why: str


@dataclass(slots=True)
class Verdict:
    passed: bool | None  # None: inconclusive (the unfixed service fails here too, or could not run)
    reason: str
    signals: list[str] = field(default_factory=list)  # read-only | oom | exited | unhealthy | permission | ...
    remedies: list[Remedy] = field(default_factory=list)


# ---------------------------------------------------------------------- running
class TrialEngine:
    """Create, start, watch and remove labelled throwaway containers through a DockerGateway.
    Reads go through the gateway's bounded GETs; the three writes (create, start, remove) are
    the docker SDK's own calls on the gateway's connection, each under its socket timeout."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self._created: list[str] = []
        self._lock = threading.Lock()

    def _write(self, fn: Callable[[Any], Any], what: str) -> Any:
        import docker
        import requests

        from batten.live.gateway import ContainerNotFound, EngineError, EngineUnavailable

        client = self.gateway._ensure()
        try:
            return fn(client)
        except docker.errors.NotFound as exc:
            raise ContainerNotFound(f"{what}: {one_line(getattr(exc, 'explanation', None) or exc, 200)}") from None
        except docker.errors.APIError as exc:
            raise EngineError(f"Docker engine refused {what}: "
                              f"{one_line(getattr(exc, 'explanation', None) or exc, 200)}") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise EngineUnavailable(f"Docker engine did not complete {what}: {one_line(exc, 200)}") from None

    def image_present(self, ref: str) -> bool:
        return self.gateway.inspect_image(ref) is not None

    def create(self, spec: TrialSpec, name_hint: str) -> str:
        def make(c: Any) -> Any:
            host_config = c.create_host_config(
                network_mode="none",
                read_only=spec.read_only or None,
                tmpfs=dict(spec.tmpfs) or None,
                cap_add=spec.cap_add or None,
                cap_drop=spec.cap_drop or None,
                security_opt=spec.security_opt or None,
                mem_limit=spec.mem_limit,
                mem_reservation=spec.mem_reservation,
                nano_cpus=spec.nano_cpus,
                pids_limit=spec.pids_limit,
                init=spec.init,
                shm_size=spec.shm_size,
            )
            return c.create_container(
                spec.image,
                command=spec.command,
                entrypoint=spec.entrypoint,
                environment=spec.environment or None,
                user=spec.user or None,
                working_dir=spec.working_dir or None,
                labels={TRIAL_LABEL: "1", f"{TRIAL_LABEL}.of": name_hint[:200]},
                host_config=host_config,
                healthcheck=spec.healthcheck,
                network_disabled=True,
            )

        created = self._write(make, f"create of a trial container for {one_line(name_hint, 80)}")
        cid = str(created.get("Id") or "") if isinstance(created, Mapping) else ""
        if not re.fullmatch(r"[0-9a-f]{12,64}", cid):
            raise BattenError("the engine answered the trial container's create without an id")
        with self._lock:
            self._created.append(cid)
        return cid

    def start(self, cid: str) -> None:
        self._write(lambda c: c.start(cid), "start of a trial container")

    def observe(self, cid: str) -> Observation:
        data = self.gateway.inspect_container(cid)
        state = data.get("State") or {}
        health = state.get("Health") or None
        code = state.get("ExitCode")
        obs = Observation(
            status=str(state.get("Status") or ""),
            exit_code=int(code) if state.get("Status") == "exited" and isinstance(code, int) else None,
            oom_killed=bool(state.get("OOMKilled")),
            restarts=int(data.get("RestartCount") or 0) if isinstance(data.get("RestartCount"), int) else 0,
            health=str(health.get("Status")) if isinstance(health, Mapping) else None,
        )
        if isinstance(health, Mapping):
            obs.health_log = [one_line(str(h.get("Output") or ""), 300)
                              for h in (health.get("Log") or [])[-3:] if isinstance(h, Mapping)]
        return obs

    def logs(self, cid: str) -> list[str]:
        """The last lines of stdout and stderr (bounded; unreadable logs are one line saying so)."""
        from batten.live.gateway import EngineError

        try:
            answer = self.gateway._request(self.gateway._ensure(), f"/containers/{cid}/logs", "logs of a trial container",
                                           params={"stdout": 1, "stderr": 1, "tail": LOG_TAIL}, limit=LOG_BYTES * 4)
        except EngineError as exc:
            return [f"(log tail not read: {exc})"]
        if answer.status >= 400:
            return [f"(log tail not read: HTTP {answer.status})"]
        text = demux(answer.body)[-LOG_BYTES:].decode("utf-8", "replace")
        return [line for line in text.splitlines() if line.strip()][-LOG_TAIL:]

    def remove(self, cid: str) -> None:
        from batten.live.gateway import ContainerNotFound

        with contextlib.suppress(ContainerNotFound):
            self._write(lambda c: c.remove_container(cid, force=True, v=True), "removal of a trial container")
        with self._lock:
            if cid in self._created:
                self._created.remove(cid)

    def remove_all(self) -> None:
        with self._lock:
            ids = list(self._created)
        for cid in ids:
            with contextlib.suppress(BattenError):
                self.remove(cid)

    @contextlib.contextmanager
    def session(self) -> Iterator[TrialEngine]:
        """Every container created inside is removed on the way out (errors and Ctrl-C too)."""
        try:
            yield self
        finally:
            self.remove_all()


def health_budget(spec: TrialSpec, cap: float = 40.0) -> float:
    """Seconds a healthcheck needs to decide: start period plus retries x (interval + timeout)."""
    hc = spec.healthcheck
    if not hc or hc.get("test") == ["NONE"]:
        return 0.0
    ns = (hc.get("start_period") or 0) + (hc.get("retries") or 3) * ((hc.get("interval") or 10**9)
                                                                     + (hc.get("timeout") or 5 * 10**9))
    return min(cap, ns / 1e9 + 1.0)


def demux(body: bytes) -> bytes:
    """The payload of Docker's multiplexed log stream (8-byte frame headers), or the body as it
    is when it is not multiplexed (a TTY container)."""
    out = bytearray()
    i = 0
    while i + 8 <= len(body):
        if body[i] not in (0, 1, 2) or body[i + 1 : i + 4] != b"\0\0\0":
            return body if i == 0 else bytes(out)
        size = int.from_bytes(body[i + 4 : i + 8], "big")
        out += body[i + 8 : i + 8 + size]
        i += 8 + size
    return bytes(out) if i else body


def _decisive(obs: Observation) -> bool:
    return not obs.running or obs.oom_killed or obs.health in ("healthy", "unhealthy")


def run_pair(engine: TrialEngine, baseline: TrialSpec, fixed: TrialSpec, name: str,
             seconds: float = DEFAULT_SECONDS) -> tuple[Observation, Observation]:
    """Start both containers, watch them until both are decided (exited, OOM-killed, healthy or
    unhealthy) or `seconds` pass, collect their log tails, remove them."""
    with engine.session():
        ids: list[str | None] = []
        obs: list[Observation] = []
        for spec, which in ((baseline, "unfixed"), (fixed, "fixed")):
            try:
                cid = engine.create(spec, f"{name} ({which})")
                engine.start(cid)
                ids.append(cid)
                obs.append(Observation(status="running"))
            except BattenError as exc:
                ids.append(None)
                obs.append(Observation(status="not started", error=str(exc)))
        start = time.monotonic()
        window = start + seconds  # long enough for a start-up failure to show
        deadline = start + max(seconds, health_budget(baseline), health_budget(fixed))  # for a probe to decide
        while True:
            for i, cid in enumerate(ids):
                if cid is not None:
                    obs[i] = engine.observe(cid)
            live = [o for cid, o in zip(ids, obs, strict=True) if cid is not None]
            now = time.monotonic()
            if all(_decisive(o) for o in live) or now >= deadline:
                break
            if now >= window and not any(o.health == "starting" for o in live):
                break
            time.sleep(0.25)
        for i, cid in enumerate(ids):
            if cid is not None:
                obs[i].log_tail = engine.logs(cid)
    return obs[0], obs[1]


# ---------------------------------------------------------------------- judging
_ERRORS: list[tuple[str, re.Pattern[str]]] = [
    ("read-only", re.compile(r"read-only file system|\bEROFS\b", re.I)),
    ("permission", re.compile(r"permission denied|\bEACCES\b", re.I)),
    ("not-permitted", re.compile(r"operation not permitted|\bEPERM\b", re.I)),
    ("memory", re.compile(r"cannot allocate memory|out of memory|\bENOMEM\b|OutOfMemoryError", re.I)),
    ("pids", re.compile(r"resource temporarily unavailable|can't fork|cannot fork|fork: retry|\bEAGAIN\b", re.I)),
    ("no-space", re.compile(r"no space left on device|\bENOSPC\b", re.I)),
]
_PATH = re.compile(r"(?<![\w.:/-])(/[\w.@+~-]+(?:/[\w.@+~-]+)*)/?")
_CAP_HINTS = [
    (re.compile(r"\bchown|\bfchown|changing owner", re.I), "CHOWN"),
    (re.compile(r"setgroups|setgid|initgroups|\bsetegid", re.I), "SETGID"),
    (re.compile(r"setuid|\bseteuid|\bsu\b|\bgosu\b|su-exec", re.I), "SETUID"),
    (re.compile(r"\bbind\b|listen|address", re.I), "NET_BIND_SERVICE"),
    (re.compile(r"chmod|utime", re.I), "FOWNER"),
    (re.compile(r"\bkill\b", re.I), "KILL"),
]


def error_lines(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in lines:
        for kind, pat in _ERRORS:
            if pat.search(line):
                out.setdefault(kind, []).append(line)
    return out


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", line)


def _new_errors(fixed: list[str], baseline: list[str]) -> dict[str, list[str]]:
    base = {_norm(x) for x in baseline}
    got = error_lines([x for x in fixed if _norm(x) not in base])
    return got


def _failing_dir(line: str, tmpfs: Mapping[str, str]) -> str | None:
    """The directory a "Read-only file system" line is about (where a tmpfs would help)."""
    paths = [p for p in _PATH.findall(line) if p not in ("/",)]
    if not paths:
        return None
    path = paths[0]
    lowered = line.lower()
    is_dir = any(w in lowered for w in ("mkdir", "directory", "opendir")) and "not a directory" not in lowered
    d = path if is_dir else posixpath.dirname(path)
    if d in ("", "/") or any(d == t or d.startswith(t.rstrip("/") + "/") for t in tmpfs):
        return None
    return d


def judge(baseline: Observation, fixed: Observation, spec: TrialSpec) -> Verdict:
    """Compare the fixed container with the unfixed one."""
    if baseline.error:
        return Verdict(None, f"the unfixed service could not start here: {baseline.error}")
    if fixed.error:
        return Verdict(False, f"the fixed service could not be created or started: {fixed.error}", ["refused"])
    base_failed = (not baseline.running and baseline.exit_code not in (0, None)) or baseline.oom_killed \
        or baseline.health == "unhealthy"
    signals: list[str] = []
    reasons: list[str] = []
    if fixed.oom_killed and not baseline.oom_killed:
        signals.append("oom")
        reasons.append("OOM-killed")
    if not fixed.running and (baseline.running or (baseline.exit_code == 0 and fixed.exit_code not in (0, None))):
        signals.append("exited")
        reasons.append(f"exited with code {fixed.exit_code}")
    if fixed.health == "unhealthy" and baseline.health != "unhealthy":
        signals.append("unhealthy")
        out = f" ({fixed.health_log[-1]})" if fixed.health_log and fixed.health_log[-1] else ""
        reasons.append("unhealthy" + out)
    new = _new_errors(fixed.log_tail, baseline.log_tail)
    for kind, lines in new.items():
        signals.append(kind)
        reasons.append(f'"{" ".join(lines[0].split())[:160]}"')
    remedies = _remedies(signals, new, spec)
    if not signals:
        if base_failed:
            what = "OOM-killed" if baseline.oom_killed else (
                "unhealthy" if baseline.health == "unhealthy" else f"exits with code {baseline.exit_code}")
            return Verdict(None, f"inconclusive: the unfixed service fails here too ({what}; it may need "
                                 "its network, volumes or other services)")
        if fixed.health == "starting":
            return Verdict(True, "still running; its healthcheck had not decided yet")
        return Verdict(True, "runs like the unfixed service" + (" and is healthy" if fixed.health == "healthy" else ""))
    if base_failed and signals == ["exited"]:
        return Verdict(None, "inconclusive: the unfixed service fails here too")
    return Verdict(False, "; ".join(reasons), signals, remedies)


def _remedies(signals: list[str], new: dict[str, list[str]], spec: TrialSpec) -> list[Remedy]:
    out: list[Remedy] = []

    def add(r: Remedy) -> None:
        if not any(x.param == r.param and x.value == r.value for x in out):
            out.append(r)

    for line in new.get("read-only", []):
        d = _failing_dir(line, spec.tmpfs)
        if d is not None:
            add(Remedy("tmpfs_paths", d, f"the service writes to {d}: mount a tmpfs there (or a volume "
                                         "if the data must survive a restart)"))
    for line in new.get("not-permitted", []) + new.get("permission", []):
        if spec.cap_drop:
            for pat, cap in _CAP_HINTS:
                if pat.search(line) and cap not in spec.cap_add:
                    add(Remedy("cap_add", cap, f"keep {cap}: the service needs it ({' '.join(line.split())[:80]})"))
                    break
    if "oom" in signals or "memory" in signals:
        bigger = (spec.mem_limit or 0) * 2
        value = f"{max(bigger, 128 << 20) >> 20}M"
        add(Remedy("memory", value, f"the limit was too small: try {value} or measure with --live"))
    if "pids" in signals and spec.pids_limit:
        add(Remedy("pids_limit", str(spec.pids_limit * 4), "the service needs more processes or threads"))
    if "no-space" in signals:
        add(Remedy("tmpfs_options", "size=256m", "a tmpfs filled up: give it more room"))
    if "unhealthy" in signals:
        add(Remedy("healthcheck_cmd", "", "the probe fails on a working service: give one the image can run "
                                          "against a port and path it serves"))
    return out
