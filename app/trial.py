"""`batten fix --trial` (and the fix dialog's trial key): try compose fixes on the engine before
they are written.

For each compose service the selected fixes change, and whose image is on the engine, the
service is started twice in throwaway containers (batten.live.trial): as it is, and as the fixes
leave it. A fix whose trial fails is not written; the outcome says why and which value would
remedy it. Dockerfile fixes need a build and are not tried: the report names each one as not
tried, and the fix dialog says so instead of trying. Textual-free: the TUI calls
`trial_fix` for one fix, the CLI `trial_gate` for a whole run.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.checks.sites import service_of as site_service
from batten.config import Config
from batten.fixers.apply import Outcome, Selector, apply_one, fix_all
from batten.fixers.params import cpus_value, duration_nanos, memory_bytes
from batten.live.imagefacts import ImageKnowledge, service_image
from batten.live.trial import (
    DEFAULT_SECONDS,
    Remedy,
    TrialEngine,
    TrialSpec,
    Verdict,
    judge,
    run_pair,
)
from batten.model import BattenError, Finding, Fix
from batten.sources.compose import ComposeProject, Service, parse_volume
from batten.sources.project import Project, with_texts

ServiceKey = tuple[str, str]  # (compose file path, service name)

# which fixes a failure signal points at (a failure with no known signal blocks them all)
SIGNAL_FIXES: dict[str, tuple[str, ...]] = {
    "read-only": ("co.read-only", "co.mount-read-only"),
    "no-space": ("co.read-only",),
    "oom": ("co.limits",),
    "memory": ("co.limits",),
    "pids": ("co.pids-limit",),
    "not-permitted": ("co.cap-drop", "co.remove-cap", "co.no-new-privileges", "co.user"),
    "permission": ("co.user", "co.cap-drop", "co.remove-cap", "co.tmpfs-noexec", "co.no-new-privileges"),
    "unhealthy": ("co.healthcheck",),
}
_ENV_FILE_BYTES = 1 << 20
# why a Dockerfile fix is never tried: trying it would mean building the image
DOCKERFILE_NOT_TRIED = "Dockerfile fixes need a build; batten never builds"


@dataclass(slots=True)
class ServiceTrial:
    service: str
    path: str
    image: str
    fixes: list[str]  # fix ids tried together
    values: dict[str, str] = field(default_factory=dict)  # the parameter values those fixes used
    verdict: Verdict | None = None  # None: not tried (see reason)
    reason: str = ""
    blocked: list[str] = field(default_factory=list)  # fix ids held back by this trial
    history: list[ServiceTrial] = field(default_factory=list)  # earlier failed trials of this service

    @property
    def passed(self) -> bool | None:
        return self.verdict.passed if self.verdict is not None else None

    def lines(self) -> list[str]:
        head = f"  {self.service} ({self.path}, image {self.image}): "
        if self.verdict is None:
            return [head + f"not tried: {self.reason}"]
        out: list[str] = []
        for i, t in enumerate([*self.history, self]):
            assert t.verdict is not None
            v = t.verdict
            state = {True: "passed", False: "FAILED", None: "inconclusive"}[v.passed]
            what = f"with {', '.join(t.fixes)}"
            out.append((head if i == 0 else "    then ") + f"{state} {what}: {v.reason}")
            if t.blocked:
                out.append(f"    not written: {', '.join(t.blocked)}")
            for r in v.remedies:
                out.append(f"    remedy: {r.why}" + (f" (--set {r.param}={t.remedy_value(r)})" if r.param and r.value else ""))
        return out

    @property
    def held_back(self) -> list[str]:
        return [fid for t in [*self.history, self] for fid in t.blocked]

    def remedy_value(self, r: Remedy) -> str:
        """The whole value to give the parameter: list parameters keep what they had."""
        if r.param in ("tmpfs_paths", "cap_add"):
            have = [x for x in self.values.get(r.param, "").split(",") if x]
            return ",".join([*have, r.value] if r.value not in have else have)
        return r.value


# ---------------------------------------------------------------------- compose -> container
def _argv(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return [str(value)]


def _env_file(project: Project, cp: ComposeProject, value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    items = value if isinstance(value, list) else [value]
    for item in items:
        path = item.get("path") if isinstance(item, dict) else item
        if not isinstance(path, str):
            continue
        full = os.path.realpath(os.path.join(project.root, cp.dir, path))
        if not full.startswith(os.path.realpath(project.root) + os.sep) or not os.path.isfile(full):
            continue  # only files inside the project, read and never written
        try:
            with open(full, "rb") as fh:
                text = fh.read(_ENV_FILE_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, _, v = line.removeprefix("export ").partition("=")
            out[k.strip()] = v.strip().strip('"').strip("'")
    return out


def _size(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return memory_bytes(str(value))
    except ValueError:
        return None


def _healthcheck(hc: Any, notes: list[str]) -> dict[str, Any] | None:
    if not isinstance(hc, dict):
        return None
    if hc.get("disable") in (True, "true"):
        return {"test": ["NONE"]}
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not isinstance(test, list) or not test:
        return None
    test = [str(t).replace("$$", "$") for t in test]  # compose's escape; no interpolation here

    def ns(key: str, default: int) -> int:
        try:
            return duration_nanos(str(hc[key])) if hc.get(key) else default
        except ValueError:
            return default

    timeout = min(ns("timeout", 5 * 10**9), 5 * 10**9)
    start = min(ns("start_period", 0), 10 * 10**9)
    retries = int(hc.get("retries") or 3) if str(hc.get("retries") or "3").isdigit() else 3
    notes.append("healthcheck probed every second")
    return {"test": test, "interval": 10**9, "timeout": timeout, "retries": min(retries, 5), "start_period": start}


def trial_spec(project: Project, cp: ComposeProject, svc: Service, image: str) -> TrialSpec:
    """The container compose would start for `svc`, on no network, with its volumes replaced
    by empty tmpfs mounts (nothing of the host is mounted)."""
    d = svc.plain()
    spec = TrialSpec(image=image)
    spec.command = _argv(d.get("command"))
    spec.entrypoint = _argv(d.get("entrypoint"))
    if d.get("env_file"):
        spec.environment.update(_env_file(project, cp, d["env_file"]))
    env = d.get("environment")
    if isinstance(env, dict):
        spec.environment.update({str(k): str(v) for k, v in env.items() if v is not None})
    spec.user = str(d["user"]) if d.get("user") not in (None, "") else None
    spec.working_dir = str(d["working_dir"]) if d.get("working_dir") else None
    spec.read_only = d.get("read_only") in (True, "true")
    tmpfs = d.get("tmpfs")
    for entry in (tmpfs if isinstance(tmpfs, list) else [tmpfs] if tmpfs else []):
        path, _, opts = str(entry).partition(":")
        spec.tmpfs[path] = opts
    vols = svc.get("volumes")
    for item in (vols.data if vols is not None and vols.is_seq else []):
        vol = parse_volume(item)
        if vol is not None and vol.target and vol.target not in spec.tmpfs:
            spec.tmpfs[vol.target] = "" if not vol.read_only else "ro"
            if not spec.notes or not spec.notes[-1].startswith("volumes"):
                spec.notes.append("volumes mounted as empty tmpfs")
    spec.cap_add = [str(c) for c in d.get("cap_add") or []]
    spec.cap_drop = [str(c) for c in d.get("cap_drop") or []]
    for opt in d.get("security_opt") or []:
        o = str(opt).replace("=", ":", 1).replace(" ", "")
        if o.startswith("no-new-privileges"):
            spec.security_opt.append("no-new-privileges" if o in ("no-new-privileges", "no-new-privileges:true")
                                     else "no-new-privileges:false")
        else:
            spec.notes.append(f"security_opt {opt} not reproduced")
    res = (d.get("deploy") or {}).get("resources") or {} if isinstance(d.get("deploy"), dict) else {}
    limits = res.get("limits") or {}
    reservations = res.get("reservations") or {}
    spec.mem_limit = _size(d.get("mem_limit") or limits.get("memory"))
    spec.mem_reservation = _size(d.get("mem_reservation") or reservations.get("memory"))
    cpus = d.get("cpus") or limits.get("cpus")
    if cpus not in (None, ""):
        try:
            spec.nano_cpus = int(cpus_value(str(cpus)) * 10**9)
        except (ValueError, ArithmeticError):
            spec.notes.append(f"cpus {cpus} not understood")
    pids = d.get("pids_limit") or limits.get("pids")
    if pids not in (None, "") and str(pids).lstrip("-").isdigit():
        spec.pids_limit = int(pids)
    if d.get("init") in (True, "true"):
        spec.init = True
    spec.shm_size = _size(d.get("shm_size"))
    spec.healthcheck = _healthcheck(d.get("healthcheck"), spec.notes)
    if d.get("privileged") in (True, "true"):
        spec.notes.append("privileged not reproduced")
    return spec


# ---------------------------------------------------------------------- which service a finding is about
def service_of(f: Finding) -> tuple[ComposeProject, Service] | None:
    svc = site_service(f.subject)
    if svc is not None and isinstance(f.scope, ComposeProject):
        return f.scope, svc
    return None


def _key(cp: ComposeProject, svc: Service) -> ServiceKey:
    return cp.base.path, svc.name


def _find(project: Project, key: ServiceKey) -> tuple[ComposeProject, Service] | None:
    for cp in project.compose_projects:
        if cp.base.path == key[0] and key[1] in cp.services:
            return cp, cp.services[key[1]]
    return None


def _blame(verdict: Verdict, fixes: list[str]) -> list[str]:
    """The fixes a failure points at: for each signal, the likeliest of the fixes tried (the
    next one is blamed in the next round if the failure stays); all of them when no signal
    names a fix."""
    hit: list[str] = []
    for sig in verdict.signals:
        first = next((fid for fid in SIGNAL_FIXES.get(sig, ()) if fid in fixes), None)
        if first is not None and first not in hit:
            hit.append(first)
    return hit or list(fixes)


# ---------------------------------------------------------------------- trying
def try_services(
    before: Project,
    after: Project,
    applied: Iterable[tuple[Finding, Fix]],
    gateway: Any,
    *,
    seconds: float = DEFAULT_SECONDS,
    progress: Callable[[str], None] | None = None,
    skip: Callable[[ServiceKey, list[str]], bool] | None = None,
    workers: int = 4,
) -> list[ServiceTrial]:
    """Trial every compose service the applied fixes change, a few at a time (services whose
    image is not on the engine are reported, not tried; `skip` leaves out ones already known)."""
    by_service: dict[ServiceKey, list[str]] = {}
    used: dict[ServiceKey, dict[str, str]] = {}
    for f, fx in applied:
        site = service_of(f)
        if site is None:
            continue
        fids = by_service.setdefault(_key(*site), [])
        if fx.id not in fids:
            fids.append(fx.id)
            used.setdefault(_key(*site), {}).update(fx.values)
    todo: list[tuple[ServiceTrial, Any, Any]] = []
    for key, fids in by_service.items():
        old, new = _find(before, key), _find(after, key)
        if old is None or new is None or (skip is not None and skip(key, fids)):
            continue
        image = service_image(before, *old)
        todo.append((ServiceTrial(service=key[1], path=key[0], image=image, fixes=fids,
                                  values=used.get(key, {})), old, new))

    def one(item: tuple[ServiceTrial, Any, Any]) -> ServiceTrial:
        trial, old, new = item
        engine = TrialEngine(gateway)  # one per trial: it removes exactly the containers it made
        try:
            if not engine.image_present(trial.image):
                trial.reason = f"image {trial.image} is not on the engine (batten never pulls)"
                return trial
            if progress is not None:
                progress(f"trying {trial.service} ({', '.join(trial.fixes)})")
            base_spec = trial_spec(before, *old, trial.image)
            fixed_spec = trial_spec(after, *new, trial.image)
            base_obs, fixed_obs = run_pair(engine, base_spec, fixed_spec, trial.service, seconds)
        except BattenError as exc:
            trial.reason = f"engine error: {exc}"
            return trial
        trial.verdict = judge(base_obs, fixed_obs, fixed_spec)
        if trial.verdict.passed is False:
            trial.blocked = _blame(trial.verdict, trial.fixes)
        return trial

    if len(todo) <= 1 or workers <= 1:
        return [one(t) for t in todo]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batten-trial") as pool:
        return list(pool.map(one, todo))


def trial_gate(
    project: Project,
    config: Config,
    pick: Selector,
    values: Mapping[str, str] | None,
    evidence: Any,
    findings: list[Finding],
    gateway: Any,
    *,
    seconds: float = DEFAULT_SECONDS,
    progress: Callable[[str], None] | None = None,
    rounds: int = 4,
) -> tuple[Outcome, list[ServiceTrial]]:
    """fix_all, then a trial of every service it changes; fixes whose trial fails are held back,
    the rest planned again and their services tried again (at most `rounds` times). Each
    service's report keeps the failures that held fixes back."""
    blocked: set[tuple[str, ServiceKey]] = set()
    trials: dict[ServiceKey, ServiceTrial] = {}

    def gated(f: Finding) -> bool:
        if not pick(f):
            return False
        site = service_of(f)
        return site is None or f.fix is None or (f.fix.id, _key(*site)) not in blocked

    def known(key: ServiceKey, fids: list[str]) -> bool:
        prior = trials.get(key)
        return prior is not None and prior.fixes == fids and prior.passed is not False

    outcome = fix_all(project, config, gated, values, evidence, findings=findings)
    for _ in range(rounds):
        after = with_texts(project, {p: c.after for p, c in outcome.changes.items()})
        done = try_services(project, after, outcome.applied, gateway, seconds=seconds, progress=progress,
                            skip=known)
        new_blocks = False
        for t in done:
            key = (t.path, t.service)
            prior = trials.get(key)
            if prior is not None:
                t.history = [*prior.history, *([prior] if prior.passed is False else [])]
            trials[key] = t
            for fid in t.blocked:
                if (fid, key) not in blocked:
                    blocked.add((fid, key))
                    new_blocks = True
        if not new_blocks:
            break
        outcome = fix_all(project, config, gated, values, evidence, findings=findings)
    return outcome, list(trials.values())


def is_dockerfile_fix(finding: Finding, fix: Fix) -> bool:
    return service_of(finding) is None and fix.id.startswith("df.")


def not_tried_reason(finding: Finding, fix: Fix | None) -> str:
    """Why the trial does not try this fix (the fix dialog's status line)."""
    if fix is not None and is_dockerfile_fix(finding, fix):
        return f"{DOCKERFILE_NOT_TRIED}: this fix is not verified on the engine"
    return "only fixes of compose services are tried"


def dockerfile_lines(applied: Iterable[tuple[Finding, Fix]]) -> list[str]:
    """One line per Dockerfile fix of the run: never tried, so nobody takes it as verified."""
    out: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for f, fx in applied:
        key = (fx.id, f.path, f.target, fx.edits)
        if not is_dockerfile_fix(f, fx) or key in seen:
            continue
        seen.add(key)
        where = f"{f.path}:{f.line}" if f.path else (f.target or "")
        stage = f" [{f.target}]" if f.target and f.path else ""
        out.append(f"  {fx.id} at {where}{stage}: not tried: {DOCKERFILE_NOT_TRIED}")
    return out


def trial_fix(project: Project, finding: Finding, fix: Fix, gateway: Any,
              seconds: float = DEFAULT_SECONDS) -> ServiceTrial | None:
    """Try one planned fix (the TUI's fix dialog): None when it is not a compose fix."""
    site = service_of(finding)
    if site is None:
        return None
    after = with_texts(project, apply_one(project, fix))
    trials = try_services(project, after, [(finding, fix)], gateway, seconds=seconds)
    return trials[0] if trials else None


def engine_knowledge(gateway: Any, project: Project, *, filesystems: bool = True) -> ImageKnowledge:
    """What the engine shows about the images of the project's services: their config, and
    (with `filesystems`) their programs, users and setuid files. Read-only; never pulls."""
    from batten.live.imagefacts import gather, project_images

    knowledge = gather(gateway, project_images(project))
    if filesystems:
        from batten.live.imagecontent import complete_knowledge

        complete_knowledge(gateway, knowledge)
    return knowledge


def run_trials(result: Any, pick: Selector, values: Mapping[str, str] | None, evidence: Any,
               host: str | None, context: str | None, *, trial: bool = True,
               progress: Callable[[Any], None] | None = None) -> tuple[Outcome, list[str]]:
    """`batten fix --trial` (and `--live`, with trial=False): plan with what the engine shows
    about the images; with `trial`, try every changed service and hold back what fails.
    Returns the outcome and the report lines."""
    import sys

    from batten.live.endpoint import resolve_endpoint
    from batten.live.gateway import DockerGateway
    from batten.live.imagefacts import refine_findings, using

    lines: list[str] = []
    gateway = None
    try:
        gateway = DockerGateway(resolve_endpoint(host, context), timeout=10.0)
        knowledge = engine_knowledge(gateway, result.project)
    except BattenError as exc:
        if gateway is not None:
            gateway.close()
        lines.append(f"{'trial' if trial else 'images'}: engine unavailable ({exc}); "
                     + ("nothing was tried, nothing held back" if trial else "planned without image facts"))
        outcome = fix_all(result.project, result.config, pick, values, evidence, findings=result.findings)
        if trial:
            lines.extend(_not_tried(outcome))
        return outcome, lines
    tty = sys.stderr.isatty()

    def say(text: str) -> None:
        if tty:
            print(f"batten: {text}", file=sys.stderr)

    try:
        findings = refine_findings(result.findings, knowledge)
        with using(knowledge):
            if not trial:
                return fix_all(result.project, result.config, pick, values, evidence, findings=findings,
                               progress=progress), lines
            outcome, trials = trial_gate(result.project, result.config, pick, values, evidence, findings,
                                         gateway, progress=say)
    finally:
        gateway.close()
    if trials:
        tried = [t for t in trials if t.verdict is not None]
        passed = sum(1 for t in tried if t.passed and not t.held_back)
        held = sum(1 for t in tried if t.held_back)
        unsure = sum(1 for t in tried if t.passed is None and not t.held_back)
        lines.append(f"trial: {len(tried)} of {len(trials)} changed service(s) tried: {passed} passed, "
                     f"{held} with fixes held back, {unsure} inconclusive (throwaway containers, label "
                     "batten.trial=1, network none, removed):")
        for t in trials:
            lines.extend(t.lines())
    else:
        lines.append("trial: no compose service is changed by the selected fixes; nothing to try")
    lines.extend(_not_tried(outcome))
    return outcome, lines


def _not_tried(outcome: Outcome) -> list[str]:
    got = dockerfile_lines(outcome.applied)
    if not got:
        return []
    return [f"trial: {len(got)} Dockerfile fix(es) not tried, so not verified on the engine "
            f"({DOCKERFILE_NOT_TRIED}):", *got]
