"""A project opened for hardening, without any user interface: the scan result and its
rescans, the secret values seen (masked wherever text is shown), planning and previewing a fix,
applying it after a yes, undo from the write journal, the guided checklist, the live engine's
last answer, and the exported report. The TUI renders and asks; this decides and writes
(through the fixes engine only). Textual-free, so the CLI and tests use it as it is."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from batten.config import Config
from batten.fixers.edits import mask_diff
from batten.guided import GuidedSession, build_report
from batten.model import Applicability, BattenError, Finding, Fix, Span
from batten.present import file_secret_spans, secret_values
from batten.report import safe_text
from batten.sanitize import mask_secrets
from batten.scan import ScanResult, resolve_root, scan

if TYPE_CHECKING:
    from batten.fixers.apply import Progress
    from batten.live_scan import ContainerView, LiveSnapshot, ProjectImages, Refined


class NotApplied(BattenError):
    """Nothing was written; the message (one line) says why."""


@dataclass
class Preview:
    """A change as the user sees it: new texts per file and their masked diff."""

    texts: dict[str, str]
    befores: dict[str, str]
    diff: str

    @property
    def changes(self) -> bool:
        return bool(self.diff.strip())


@dataclass
class Batch:
    """Several fixes shown and written as one change (every safe fix of a file, or of the
    project)."""

    path: str | None  # None: the whole project
    preview: Preview
    lines: list[str]  # what is in it, what could not be applied
    count: int
    failed: int = 0

    def summary(self, most: int = 8) -> str:
        """What the batch holds, short enough for a dialog: the fixes one per line for a few,
        else counted by rule; what could not be applied, counted."""
        files = len(self.preview.texts)
        head = f"{self.count} safe fix(es) in {files} file(s), verified; nothing is written before Apply."
        applied = [line for line in self.lines if not line.startswith("not applied: ")]
        if len(applied) <= most:
            body = applied
        else:
            by_rule: dict[str, int] = {}
            for line in applied:
                rule = line.split(" ", 1)[0]
                by_rule[rule] = by_rule.get(rule, 0) + 1
            ranked = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
            body = [f"{rule}: {n}" for rule, n in ranked[:most]]
            if len(ranked) > most:
                body.append(f"… and {len(ranked) - most} more rule(s)")
        tail = [f"{self.failed} fix(es) could not be applied (batten fix shows why)"] if self.failed else []
        return "\n".join([head, *body, *tail])


@dataclass
class UndoPlan:
    """The last write, checked to be undoable, as the diff that undoing it makes."""

    time: str
    paths: list[str]
    preview: Preview


@dataclass
class Applied:
    paths: list[str]
    gone: bool  # the finding is no longer reported after the rescan


@dataclass
class Session:
    root: str
    paths: list[str]
    config: Config
    result: ScanResult
    read_only: bool = False
    engine: bool = True  # False: started without an engine (--no-engine)
    guided: GuidedSession | None = None
    snapshot: LiveSnapshot | None = None  # the engine's latest answer (maybe an error)
    live: LiveSnapshot | None = None  # the latest good answer, kept while the engine is away
    live_at: float | None = None  # time.time() of `live`
    evidence: dict[str, dict[str, str]] = field(default_factory=dict)  # container id -> fix defaults
    include_stopped: bool = False  # ask the engine for stopped containers too
    images_reading: tuple[int, int] | None = None  # image filesystems read so far, of how many
    # the scan as the files alone give it; `result` is it refined by what the engine last showed
    # about the project's images (`project_images`), as `scan --live` refines it
    scanned: ScanResult | None = None
    project_images: ProjectImages | None = None  # kept while the engine is away
    _secrets: set[str] = field(default_factory=set)
    _planned: tuple[Any, ...] | None = None  # the last plan_fixes: (what it was planned from, the fixes)

    def __post_init__(self) -> None:
        if self.scanned is None:
            self.scanned = self.result
        self._remember_secrets()

    @classmethod
    def open(cls, path: str, *, config: Config | None = None, read_only: bool = False,
             engine: bool = True) -> Session:
        """Scan `path` (a project root or a file in it) with its config."""
        from batten.config import load_config

        paths = [path]
        root = os.path.abspath(resolve_root(paths))
        cfg = config if config is not None else load_config(root)
        return cls(root=root, paths=paths, config=cfg, result=scan(paths, config=cfg),
                   read_only=read_only, engine=engine)

    @property
    def name(self) -> str:
        return self.root.rstrip("/").rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ scanning
    def _remember_secrets(self) -> None:
        """Secret values seen in any scan of this session: masked wherever text is shown."""
        for f in [*self.result.findings, *self.result.live]:
            if f.fix is not None:
                self._secrets.update(s for s in f.fix.secrets if s)
            if f.secrets and f.path:
                text = self.file_text(f.path)
                if text is not None:
                    self._secrets.update(secret_values(text, f.secrets))

    def rescan(self) -> ScanResult:
        """Read the project again (raises BattenError; the old result stays then), refined with
        what the engine last showed about the project's images (no engine call)."""
        return self.adopt(self.read_again())

    def read_again(self) -> ScanResult:
        """A fresh scan of the project, the session left as it is: safe in a worker thread while
        the screen keeps showing the last result (raises BattenError)."""
        return scan(self.paths, config=self.config)

    def adopt(self, scanned: ScanResult) -> ScanResult:
        """Show `scanned` (from read_again), refined with what the engine last showed."""
        self.scanned = scanned
        self.result = self.scanned
        self.take_refined(None)
        self._remember_secrets()
        return self.result

    def take_refined(self, refined: Refined | None) -> bool:
        """Show the scan's findings refined with the project's images as the engine last showed
        them (the same refinement as `scan --live`): `refined` when it was worked out (in a
        worker) from this very scan and these images, else worked out now from what is held
        (no engine call; the fixes as a worker last planned them from the same texts and facts,
        else the scan's). `result` is replaced only when a finding changed; True then."""
        scanned, images = self.scanned, self.project_images
        if scanned is None or images is None:
            return False
        if refined is None or refined.scan is not scanned or refined.images is not images:
            refined = self.plan_fixes(images.refined(scanned), plan=False)  # the fixes as last planned
        if _shown(refined.findings) == _shown(self.result.findings):
            return False
        self.result = replace(scanned, findings=refined.findings)
        return True

    # ------------------------------------------------------------------ text and secrets
    def file_text(self, path: str) -> str | None:
        project = self.result.project
        pf = project.file(path)
        if pf is not None and pf.source is not None:
            return pf.source.text
        try:
            return project.aux_text(path)
        except (OSError, ValueError):
            return None

    def secrets_in(self, paths: Iterable[str] = ()) -> set[str]:
        """Every secret value known: seen anywhere so far, and in `paths` now."""
        out = set(self._secrets)
        findings = self.result.findings
        for path in paths:
            text = self.file_text(path)
            if text is not None:
                out |= secret_values(text, file_secret_spans(findings, path))
        return out

    def mask(self, text: str, paths: Iterable[str] = ()) -> str:
        """Every known secret masked (those of `paths` and of every finding), and in diffs of
        files that hold secrets (.env) every value, context lines included."""
        every = {f.path for f in self.result.findings if f.path and f.secrets}
        return mask_diff(text, self.secrets_in([*paths, *every]))

    def source_for(self, finding: Finding) -> tuple[str | None, list[Span]]:
        """The finding's file text and the spans to mask in it."""
        if finding.path is None:
            return None, []
        text = self.file_text(finding.path)
        spans = file_secret_spans(self.result.findings, finding.path)
        if text is not None:
            # values known from elsewhere (e.g. a secret moved out of this file) are masked too
            for value in self._secrets:
                start = text.find(value) if value else -1
                while start >= 0:
                    spans.append(Span(start, start + len(value)))
                    start = text.find(value, start + len(value))
        return text, spans

    # ------------------------------------------------------------------ fixes
    def plan(self, finding: Finding, values: dict[str, str] | None = None,
             evidence: dict[str, str] | None = None) -> Fix:
        """The finding's fix built with these form values and live evidence; NotApplied with
        the reason when none can be built (a value is unusable, the fixer declines)."""
        from batten.fixers.plan import plan
        from batten.fixers.registry import NoFix
        from batten.live.imagefacts import using

        try:
            with using(self.image_knowledge()):
                return plan(finding, self.result.project, self.result.config, values or None, evidence or None)
        except NoFix as exc:
            raise NotApplied(safe_text(exc.reason)) from None

    def image_knowledge(self, images: ProjectImages | None = None, read: Mapping[str, Any] | None = None,
                        project: Any = None) -> Any:
        """What the engine last showed about the images the project's services run (an
        ImageKnowledge: config, and programs, users and setuid files once read): the evidence
        `batten fix --live` plans fixes with (batten.trial.engine_knowledge); None before any
        answer. `images`, `read` (as for ProjectImages.contents) and `project`: the ones a
        worker plans with, else the session's."""
        from batten.live.imagefacts import ImageKnowledge, project_images

        images = images if images is not None else self.project_images
        if images is None:
            return None
        known = images.knowledge(read)
        return ImageKnowledge({ref: known.facts(ref)
                               for ref in project_images(project if project is not None else self.result.project)})

    def check_values(self, finding: Finding, values: dict[str, str],
                     evidence: dict[str, str] | None = None) -> dict[str, str]:
        """Why each of these form values cannot be used, by parameter (empty: all usable):
        each value on its own, then against the others (a reservation above its limit)."""
        from batten.fixers.params import ParamError, validate
        from batten.fixers.plan import spec_for
        from batten.fixers.registry import resolve_values

        errors: dict[str, str] = {}
        for name, value in values.items():
            try:
                validate(name, value)
            except ParamError as exc:
                errors[name] = exc.reason
        spec = spec_for(finding)
        if errors or spec is None:
            return errors
        try:
            resolve_values(spec, self.config, values, evidence)
        except ParamError as exc:
            errors[exc.name or ""] = exc.reason
        return errors

    def preview(self, fix: Fix) -> Preview:
        """New texts and the masked diff of one fix (not verified: `apply_fix` does that)."""
        from batten.fixers.apply import apply_one, current_text
        from batten.fixers.edits import unified_diff

        project = self.result.project
        texts = apply_one(project, fix)
        befores = {p: current_text(project, p) for p in texts}
        self._secrets.update(s for s in fix.secrets if s)
        diff = "".join(unified_diff(p, befores[p], texts[p]) for p in texts if befores[p] != texts[p])
        return Preview(texts, befores, self.mask(diff, texts))

    def _writable(self) -> None:
        if self.read_only:
            raise NotApplied("read-only mode: nothing written")

    def apply_fix(self, finding: Finding, fix: Fix, preview: Preview) -> Applied:
        """Verify the fix (it must parse and clear its finding), check it is still exactly what
        was previewed, write it, rescan. Raises NotApplied with the reason."""
        from batten.fixers.apply import FixFailed, check_one

        self._writable()
        try:
            outcome = check_one(self.result.project, finding, fix, self.result.config)
        except (FixFailed, BattenError) as exc:
            raise NotApplied(safe_text(str(exc))) from None
        texts = {p: c.after for p, c in outcome.changes.items()}
        if texts != preview.texts:
            raise NotApplied("the fix changed since its preview; preview it again (nothing written)")
        written = self._write(texts)
        fp = finding.fingerprint()
        self._rescan_after_write()
        gone = all(f.fingerprint() != fp for f in self.result.active())
        if self.guided is not None:
            self.guided.record(finding, fix, written, preview.diff)
        return Applied(written, gone)

    def _write(self, texts: dict[str, str]) -> list[str]:
        from batten.fixers.write import WriteRefused, write_files

        self._writable()
        try:
            return write_files(self.result.project, texts)
        except (WriteRefused, BattenError) as exc:
            raise NotApplied(safe_text(str(exc))) from None
        except OSError as exc:
            raise NotApplied(f"cannot write: {exc.strerror or exc}") from None

    def _rescan_after_write(self) -> None:
        try:
            self.rescan()
        except BattenError:
            pass  # written; the next rescan shows it

    def write_texts(self, texts: dict[str, str]) -> list[str]:
        """Write texts already shown as a diff (a batch); rescan. Raises NotApplied."""
        written = self._write(texts)
        self._rescan_after_write()
        return written

    def files_with_safe_fixes(self) -> list[str]:
        paths = {f.path for f in self.result.active()
                 if f.fix is not None and f.fix.applicability == Applicability.SAFE and f.path}
        return sorted(p for p in paths if p)

    def safe_fixes_of(self, path: str | None, progress: Callable[[Progress], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> Batch:
        """Every safe fix of one file (`path`) or of the whole project (None), applied together
        in memory and verified (raises NotApplied when there is none). `progress` and `cancel`
        are fix_all's hooks (a cancelled run raises FixCancelled and nothing is applied)."""
        from batten.fixers.apply import fix_all, selector
        from batten.fixers.edits import unified_diff
        from batten.live.imagefacts import using

        base = selector(unsafe=False, paths=[path] if path is not None else None)

        def pick(f: Finding) -> bool:
            return base(f) and f.fix is not None and f.fix.applicability == Applicability.SAFE

        try:
            with using(self.image_knowledge()):
                outcome = fix_all(self.result.project, self.result.config, pick, progress=progress, cancel=cancel)
        except BattenError as exc:
            raise NotApplied(safe_text(str(exc))) from None
        texts = {p: c.after for p, c in outcome.changes.items() if c.before != c.after}
        if not texts:
            raise NotApplied(f"{path or 'the project'}: no safe fix to apply")
        for _f, fx in outcome.applied:
            self._secrets.update(s for s in fx.secrets if s)
        befores = {p: outcome.changes[p].before for p in texts}
        diff = "".join(unified_diff(p, befores[p], texts[p]) for p in texts)
        lines = [f"{f.rule.id} on {safe_text(f.target or f.path or '')}: {fx.title}" for f, fx in outcome.applied]
        lines += [f"not applied: {f.rule.id} on {safe_text(f.target or '')}: {safe_text(msg)}"
                  for f, msg in outcome.failed]
        return Batch(path, Preview(texts, befores, self.mask(diff, texts)), lines, len(outcome.applied),
                     len(outcome.failed))

    # ------------------------------------------------------------------ undo
    def undo_plan(self) -> UndoPlan:
        """The last write as the diff undoing it makes, checked first: raises NotApplied when
        there is nothing to undo or a file changed since (so no diff is shown that would then
        be refused)."""
        from batten.fixers.edits import unified_diff
        from batten.fixers.write import WriteRefused, plan_undo

        if self.read_only:
            raise NotApplied("read-only mode: undo is disabled")
        try:
            entry, steps = plan_undo(self.root)
        except (WriteRefused, BattenError) as exc:
            raise NotApplied(safe_text(str(exc))) from None
        except OSError as exc:
            raise NotApplied(f"cannot read the files to undo: {exc.strerror or exc}") from None
        befores: dict[str, str] = {}
        diffs: list[str] = []
        for f, before, now in steps:
            rel = str(f["path"])
            befores[rel] = (before or b"").decode("utf-8", "surrogateescape")
            diffs.append(unified_diff(rel, (now or b"").decode("utf-8", "surrogateescape"), befores[rel]))
        secrets = self.secrets_in(befores) | self._secrets_of_texts(befores)
        preview = Preview({}, befores, mask_diff("".join(diffs), secrets))
        return UndoPlan(str(entry.get("time", "?")), list(befores), preview)

    def _secrets_of_texts(self, texts: dict[str, str]) -> set[str]:
        """Secret values in texts that are not the current ones (undo shows the old bytes)."""
        from batten.checks.engine import run_checks
        from batten.sources.project import with_texts

        known = {p: t for p, t in texts.items() if self.result.project.file(p) is not None}
        if not known:
            return set()
        try:
            project = with_texts(self.result.project, known)
            found = run_checks(project, self.result.config)
        except Exception:
            return set()
        out: set[str] = set()
        for f in found:
            if f.path in known and f.secrets:
                out |= secret_values(known[f.path], f.secrets)
        self._secrets |= out
        return out

    def interrupted_write(self) -> str | None:
        """What to say about a write that was interrupted (offered for undo), if any."""
        from batten.fixers.write import interrupted_message, interrupted_write

        if self.read_only:
            return None
        try:
            pending = interrupted_write(self.root)
        except BattenError:
            return None
        return safe_text(interrupted_message(pending)) if pending is not None else None

    def undo(self) -> list[str]:
        """Restore the files of the last write (refused if they changed since); rescan."""
        from batten.fixers.write import WriteRefused, undo_last

        if self.read_only:
            raise NotApplied("read-only mode: undo is disabled")
        try:
            restored = undo_last(self.root)
        except (WriteRefused, BattenError) as exc:
            raise NotApplied(safe_text(str(exc))) from None
        except OSError as exc:
            raise NotApplied(f"undo failed: {exc.strerror or exc}") from None
        self._rescan_after_write()
        if self.guided is not None:
            self.guided.record_undo(restored)
        return restored

    # ------------------------------------------------------------------ guided
    def start_guided(self) -> GuidedSession:
        self.guided = GuidedSession.start(self.result.active())
        return self.guided

    # ------------------------------------------------------------------ engine
    def accept_snapshot(self, snap: LiveSnapshot) -> None:
        """The engine answered (or failed to): the config applied to its findings as everywhere
        else (live_scan.apply_config); a good answer becomes the live view, a failure keeps the
        last good one (marked stale)."""
        from batten.live_scan import apply_config

        apply_config(snap, self.config)
        self.snapshot = snap
        if not snap.error:
            self.live, self.live_at = snap, time.time()
            if snap.project_images is not None:  # the static findings as `scan --live` gives them
                self.project_images = snap.project_images
                self.take_refined(snap.refined)

    @property
    def engine_state(self) -> str:
        if not self.engine:
            return "off"
        if self.snapshot is None:
            return "connecting"
        return "unreachable" if self.snapshot.error else "ok"

    def live_age(self, now: float | None = None) -> float | None:
        """Seconds since the last good engine answer (None: never had one)."""
        if self.live_at is None:
            return None
        return max(0.0, (now or time.time()) - self.live_at)

    @property
    def containers(self) -> list[ContainerView]:
        """The containers to show: the latest good list (stale while the engine is away)."""
        return list(self.live.containers) if self.live is not None else []

    def engine_summary(self) -> str:
        snap = self.snapshot
        if not self.engine:
            return "engine: off (--no-engine)"
        if snap is None:
            return "engine: connecting…"
        if snap.error:
            age = self.live_age()
            stale = f"; the list shown is {format_age(age)} old" if age is not None else ""
            return f"engine {snap.endpoint}: unreachable: {snap.error}{stale}"
        n = len(snap.containers)
        return f"engine {snap.endpoint}: {n} container{'s' if n != 1 else ''}" + self.images_note()

    def images_note(self) -> str:
        """What the engine line adds while image filesystems are being read (else nothing)."""
        if self.images_reading is None:
            return ""
        done, total = self.images_reading
        return f" · reading images {done}/{total}"

    def container_for(self, finding: Finding, containers: list[ContainerView] | None = None
                      ) -> ContainerView | None:
        """The running container of the finding's compose service, if the engine shows one
        (the very service the finding is about when it says which, else one of that name)."""
        from batten.checks.sites import service_of

        if finding.target_kind != "service" or not finding.target:
            return None
        svc = service_of(finding.subject)
        for c in self.containers if containers is None else containers:
            if c.source is None or c.state != "running":
                continue
            if svc is not None:
                if (c.source.file.path, c.source.name) == (svc.file.path, svc.name):
                    return c
            elif c.service == finding.target:
                return c
        return None

    def collect_evidence(self, gateway: Any) -> list[str]:
        """Ask the engine once (a snapshot) and gather the fix defaults each running container
        of a project service shows (read-only calls); what could not be read, one line each."""
        from batten.live.evidence import gather_evidence
        from batten.live_scan import snapshot

        self.accept_snapshot(snapshot(gateway, self.result.project, include_all=self.include_stopped))
        if self.snapshot is not None and self.snapshot.error:
            return [f"live evidence unavailable: {self.snapshot.error} (checklist defaults used)"]
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        for c in self.containers:
            if c.source is None or c.state != "running" or (c.source.file.path, c.source.name) in seen:
                continue
            seen.add((c.source.file.path, c.source.name))
            try:
                self.evidence[c.id] = {k: v for k, v in gather_evidence(gateway, c.id).defaults().items() if v}
            except BattenError as exc:
                problems.append(f"no evidence from {c.name}: {exc}")
        return problems

    def evidence_sources(self) -> list[str]:
        """The services whose running container gave evidence."""
        return sorted({c.source.name for c in self.containers if c.id in self.evidence and c.source is not None})

    def evidence_for(self, finding: Finding, containers: list[ContainerView] | None = None,
                     evidence: Mapping[str, dict[str, str]] | None = None) -> dict[str, str] | None:
        """Fix defaults read from the finding's running container, once they were gathered."""
        c = self.container_for(finding, containers)
        return (self.evidence if evidence is None else evidence).get(c.id) if c is not None else None

    def proposal(self, finding: Finding) -> Fix | None:
        """The fix as the fix dialog would first propose it, planned as `batten fix --live`
        plans it: with the live evidence gathered from the service's running container and what
        the engine showed about the project's images, if any (so the guided step and the dialog
        agree; a fix the scan could not plan without them may be offered now). The scan's own
        when there is neither, or when planning with them declines (the dialog then says why).
        The findings shown carry this fix already once a worker planned it (`plan_fixes`)."""
        return _propose(finding, self.result.project, self.result.config, self.image_knowledge(),
                        self.evidence_for(finding))

    def plan_fixes(self, refined: Refined, read: Mapping[str, Any] | None = None,
                   containers: list[ContainerView] | None = None, *, plan: bool = True) -> Refined:
        """The refined findings, each carrying the fix the fix dialog would propose for it
        (`proposal`: the images' facts with `read`, the evidence gathered so far from the
        running containers, `containers` or the session's), so the findings view shows the fix
        the dialog writes. A background thread's job: planning runs fixers (bounded by the
        findings of one scan); planned again only when what it plans from (the files' texts,
        the findings, the facts, the evidence) changed. Without `plan` (on the UI thread) only
        the last plan is reused, when made from the same; else the scan's fixes stay."""
        scan = refined.scan
        knowledge = self.image_knowledge(refined.images, read, scan.project)
        evidence, shown = dict(self.evidence), list(self.containers if containers is None else containers)
        asked = (tuple((pf.path, pf.source.text if pf.source is not None else None) for pf in scan.project.files),
                 knowledge,
                 [(f.fingerprint(), f.location, f.evidence, f.fix, self.evidence_for(f, shown, evidence))
                  for f in refined.findings])
        last = self._planned
        if last is not None and last[0] == asked:
            fixes = last[1]
        elif plan:
            fixes = [_propose(f, scan.project, scan.config, knowledge, a[4]) for f, a in zip(refined.findings, asked[2])]
            self._planned = (asked, fixes)
        else:
            return refined
        out = []
        for f, fix in zip(refined.findings, fixes):
            if fix != f.fix:  # a copy: the scan's findings stay as the files give them
                f = copy.copy(f)
                f.fix, f.no_fix = fix, (f.no_fix if fix is None else None)
            out.append(f)
        return replace(refined, findings=out)

    def port_back(self, container: ContainerView, item: Any) -> tuple[Finding, dict[str, str]]:
        """The fix that writes a drift item's running value back to the compose file: the
        service's static finding for that setting and the values to plan it with (shown as a
        diff like every write). NotApplied says why there is none."""
        svc = container.source
        if svc is None:
            raise NotApplied(f"{safe_text(container.name)}: its compose service is not in this project")
        if item.direction != "ahead":
            raise NotApplied(f"{safe_text(item.field)}: the file is the harder one; recreate the container "
                             f"(docker compose up -d --force-recreate {safe_text(svc.name)})")
        rules, values = _port_back_plan(item, container.inspect)
        if not rules:
            raise NotApplied(f"{safe_text(item.field)}: no fix writes this back; set it by hand in "
                             f"{safe_text(svc.file.path)} (running: {safe_text(str(item.running))})")
        for f in self.result.active():
            if f.rule.id in rules and f.fix is not None and f.target == svc.name and f.path == svc.file.path \
                    and (not item.field.startswith("ports ") or item.field.split()[1].split("/")[0] in f.message):
                return f, values
        raise NotApplied(f"{safe_text(item.field)}: no finding of service {safe_text(svc.name)} takes this "
                         "value back; set it by hand")

    # ------------------------------------------------------------------ report
    def report_text(self) -> str:
        """The Markdown report (guided progress, remaining findings, live containers and
        their drift), secrets masked."""
        guided = self.guided or GuidedSession.start(self.result.active())
        text = build_report(guided, self.result, self.engine_summary(), self.live)
        return mask_secrets(text, self.secrets_in(f.path for f in self.result.findings if f.path))

    def export_report(self, target: str) -> str:
        """Write the report to `target` (relative to the project root, or absolute); the path
        written. Raises NotApplied."""
        if self.read_only:
            raise NotApplied("read-only mode: the report is not written (nothing is)")
        from batten.fsio import WriteRefused, write_file

        path = target if os.path.isabs(target) else os.path.join(self.root, target)
        try:  # the one writer: no symlink followed, O_EXCL temp file, a relative path stays inside
            write_file(target, self.report_text().encode(), root=None if os.path.isabs(target) else self.root,
                       create_dirs=True)
        except WriteRefused as exc:
            raise NotApplied(f"report not written: {safe_text(str(exc))}") from None
        return path


def _shown(findings: list[Finding]) -> list[tuple[Any, ...]]:
    """What the findings view shows of each finding (one changed: the list is shown again)."""
    return [(f.fingerprint(), f.severity, f.location, f.suppressed, f.evidence, f.fix) for f in findings]


def _propose(finding: Finding, project: Any, config: Config, knowledge: Any,
             evidence: dict[str, str] | None) -> Fix | None:
    """`Session.proposal` with what it plans from given: the scan's own fix when neither the
    images' facts nor the container's evidence can change it, or when planning with them
    declines."""
    from batten.fixers.plan import plan
    from batten.fixers.registry import NoFix
    from batten.live.imagefacts import using

    if not (knowledge and any(f.inspected for f in knowledge.values())) and (
            finding.fix is None or not evidence or not finding.fix.params):
        return finding.fix
    try:
        with using(knowledge):
            return plan(finding, project, config, None, evidence or None)
    except NoFix:
        return finding.fix


def _port_back_plan(item: Any, inspect: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, str]]:
    """(static rules whose fix writes this setting, values for it from the running container)."""
    import json

    from batten.live.readers import tmpfs_mounts
    from batten.live.values import format_memory

    hc = inspect.get("HostConfig") or {}
    running = item.running
    field_name = str(item.field)
    if field_name == "user":
        return ("compose.user-unset", "user.root-explicit"), {"user": str(running)}
    if field_name == "read_only":
        return ("fs.rootfs-writable",), {"tmpfs_paths": ",".join(str(t["target"]) for t in tmpfs_mounts(inspect))}
    if field_name in ("cap_drop", "cap_add"):
        return ("caps.not-dropped",), {"cap_add": ",".join(str(c) for c in hc.get("CapAdd") or [])}
    if field_name == "security_opt: no-new-privileges":
        return ("priv.no-new-privileges",), {}
    if field_name == "privileged":
        return ("priv.privileged",), {}
    if field_name == "pids_limit" and running:
        return ("limits.pids",), {"pids_limit": str(running)}
    if field_name in ("mem_limit", "cpus") and running:
        values: dict[str, str] = {}
        if hc.get("Memory"):
            values["memory"] = format_memory(int(hc["Memory"]))
        if hc.get("NanoCpus"):
            values["cpus"] = f"{int(hc['NanoCpus']) / 1e9:g}"
        return ("limits.memory", "limits.cpu"), values
    if field_name == "healthcheck" and isinstance(running, list) and running:
        test = [str(t) for t in running]
        cmd = test[1] if test[0] == "CMD-SHELL" and len(test) > 1 else json.dumps(test[1:] if test[0] == "CMD" else test)
        return ("health.missing-compose",), {"healthcheck_cmd": cmd}
    if field_name.startswith("ports ") and isinstance(running, str) and running.count(":") >= 2:
        return ("ports.bind-all-interfaces",), {"bind_ip": running.rsplit(":", 2)[0].strip("[]")}
    return (), {}


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


__all__ = ["Applied", "Batch", "NotApplied", "Preview", "Session", "UndoPlan", "format_age"]
