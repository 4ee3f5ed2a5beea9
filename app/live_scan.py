"""Live containers beside the project: one snapshot of an engine (list, inspect in parallel,
judge), each container tied back to its compose service, with drift. Shared by
`batten containers`, `batten scan --live` and the TUI. The docker SDK is imported only when a
real gateway is made."""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batten.config import Config
from batten.model import BattenError, Finding, Location, UsageError
from batten.sanitize import one_line, safe_line
from batten.sources.compose import Service
from batten.sources.project import Project


@dataclass
class ImageView:
    """An image that containers run (or a project uses): its inspect, what its filesystem
    showed (batten.live.imagecontent.ImageContent, when read) and its findings."""

    id: str
    ref: str
    inspect: dict[str, Any]
    content: Any = None
    error: str | None = None  # why the filesystem was not read
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ContainerView:
    id: str
    name: str
    image: str
    state: str  # running, exited, created...
    status: str  # "Up 3 minutes (healthy)"
    inspect: dict[str, Any]
    image_inspect: dict[str, Any] | None
    # the container's own findings, then those of its image that concern it (target_kind
    # "image"; not those the container overrides, e.g. the image's root default user)
    findings: list[Finding] = field(default_factory=list)
    drift: list[Any] = field(default_factory=list)  # batten.live.drift.DriftItem
    drift_findings: list[Finding] = field(default_factory=list)
    compose_project: str | None = None
    service: str | None = None
    source: Service | None = None  # the compose service in the loaded project, if tied
    image_view: ImageView | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def worst(self) -> Any:
        sev = [f.severity for f in self.findings if f.severity is not None]
        return max(sev) if sev else None

    @property
    def image_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.target_kind == "image"]

    @property
    def image_content(self) -> Any:
        return self.image_view.content if self.image_view is not None else None


# the static rules whose findings what the engine shows about an image corrects
REFINED_RULES = frozenset({"health.missing-compose", "user.missing", "compose.user-unset", "pkg.pin-apt",
                           "pkg.pin-apk"})


@dataclass
class ProjectImages:
    """The images a project uses as the engine shows them: the facts of each one's config, by
    reference as the project writes it (absent and unanswered ones known as such), and the view
    of each one on the engine (its filesystem, once read). `scan --live` and the TUI correct the
    static findings with it (`refine`); fixes are planned with its `knowledge()`."""

    facts: Any  # batten.live.imagefacts.ImageKnowledge, from each image's config
    views: dict[str, ImageView] = field(default_factory=dict)  # by reference: the images on the engine
    error: str | None = None  # the engine went away while they were asked about (the rest unknown)

    def contents(self, read: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """ImageContent by reference: from `read` (by image id: the content, or why it was not
        read) when it has the image, else what the image's view holds."""
        out: dict[str, Any] = {}
        for ref, view in self.views.items():
            got = read.get(view.id, view.content) if read is not None else view.content
            if got is not None and not isinstance(got, str):
                out[ref] = got
        return out

    def knowledge(self, read: Mapping[str, Any] | None = None) -> Any:
        """The facts (an ImageKnowledge) completed with what each image's filesystem shows."""
        from batten.live.imagecontent import with_content
        from batten.live.imagefacts import ImageKnowledge

        out = ImageKnowledge(self.facts)
        for ref, content in self.contents(read).items():
            if ref in out:
                out[ref] = with_content(out[ref], content)
        return out

    def refine(self, findings: list[Finding], config: Config | None, project: Project,
               read: Mapping[str, Any] | None = None) -> list[Finding]:
        """Static findings corrected by what the engine shows about these images: no
        health.missing-compose for an image with its own HEALTHCHECK, user.missing and
        compose.user-unset checked against the image's real Config.User, pkg.pin-apt/apk naming
        the versions the image has. The findings it may correct are copies (the scan's own stay
        as the files alone give them); `read` as for `contents`."""
        from batten.live.image_checks import refine_pin_findings, refine_user_findings
        from batten.live.imagefacts import refine_findings

        knowledge = self.knowledge(read)
        out = [copy.copy(f) if f.rule_id in REFINED_RULES else f for f in findings]
        out = refine_user_findings(refine_findings(out, knowledge), knowledge, config)
        return refine_pin_findings(out, self.contents(read), project)

    def refined(self, scan: Any, read: Mapping[str, Any] | None = None) -> Refined:
        """A ScanResult's findings refined (`refine`), with what they were refined from."""
        return Refined(scan, self, self.refine(scan.findings, scan.config, scan.project, read))


@dataclass
class Refined:
    """A scan's static findings refined with a ProjectImages: worked out where the engine was
    asked (a front end's worker), taken by whoever still shows that scan with those images."""

    scan: Any  # batten.scan.ScanResult
    images: ProjectImages
    findings: list[Finding]


@dataclass
class LiveSnapshot:
    endpoint: str
    containers: list[ContainerView] = field(default_factory=list)
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    images: dict[str, ImageView] = field(default_factory=dict)  # by image_key(id, ref)
    project_images: ProjectImages | None = None  # the project's images, when they were asked for
    refined: Refined | None = None  # a scan's findings refined with them where the snapshot was taken

    @property
    def findings(self) -> list[Finding]:
        """Every container's own findings and drift, and each image's findings once."""
        out: list[Finding] = []
        for c in self.containers:
            out.extend(f for f in c.findings if f.target_kind != "image")
            out.extend(c.drift_findings)
        for img in self.images.values():
            out.extend(img.findings)
        return out


def make_gateway(host: str | None = None, context: str | None = None, timeout: float = 5.0, *,
                 warn: bool = True) -> Any:
    """A read-only gateway to the engine the docker CLI would use (resolution order in
    batten.live.endpoint). Raises BattenError subclasses with one-line messages."""
    import importlib.util

    from batten.live.endpoint import resolve_endpoint
    from batten.live.gateway import DockerGateway

    if importlib.util.find_spec("docker") is None:  # an install for CI may leave the SDK out
        raise BattenError("the live view needs the docker SDK (pip install docker)")

    endpoint = resolve_endpoint(host, context)
    if warn and endpoint.warning:
        print(f"batten: warning: {one_line(endpoint.warning)}", file=sys.stderr)
    return DockerGateway(endpoint, timeout=timeout)


def endpoint_display(gateway: Any) -> str:
    ep = getattr(gateway, "endpoint", None)
    return getattr(ep, "display", None) or str(ep or "engine")


def _service_for(project: Project | None, ident: Any) -> Service | None:
    if project is None or ident is None:
        return None
    wanted_files = {os.path.realpath(p) for p in getattr(ident, "config_files", ()) or ()}
    candidates: list[Service] = []
    for cp in project.compose_projects:
        svc = cp.services.get(ident.service)
        if svc is None:
            continue
        files = {os.path.realpath(os.path.join(project.root, cf.path)) for cf in cp.files}
        if wanted_files and files & wanted_files:
            return svc
        name = cp.name or os.path.basename(os.path.join(project.root, cp.dir).rstrip("/"))
        if name == ident.project or (cp.dir == "" and os.path.basename(project.root) == ident.project):
            candidates.append(svc)
    return candidates[0] if candidates else None


def snapshot(gateway: Any, project: Project | None = None, *, include_all: bool = False,
             with_images: bool = True, read_images: bool = True) -> LiveSnapshot:
    """List and inspect containers, judge them and their images, tie them to the project's
    services. ``read_images`` also reads each image's filesystem through the export (bounded,
    cached by image id)."""
    from batten.live.drift import compose_identity, drift, drift_findings
    from batten.live.facts import judge_container
    from batten.live.gateway import inspect_all
    from batten.live.image_checks import applies_to_container

    started = time.perf_counter()
    snap = LiveSnapshot(endpoint_display(gateway))
    try:
        info = gateway.info()
        summaries = gateway.list_containers(all=include_all)
        ids = [s.get("Id") or s.get("ID") or "" for s in summaries]
        inspected = inspect_all(gateway, [i for i in ids if i])
    except BattenError as exc:
        snap.error = str(exc)
        snap.elapsed = time.perf_counter() - started
        return snap
    snap.info = dict(info or {})
    if with_images:
        snap.images = image_views(
            gateway,
            [(str((i.container.get("Config") or {}).get("Image") or ""), i.image) for i in inspected],
            read=read_images,
        )
    status_by_id = {s.get("Id"): s.get("Status", "") for s in summaries}
    for item in inspected:
        data = item.container
        cid = str(data.get("Id", ""))
        state = (data.get("State") or {}).get("Status", "")
        image = item.image if with_images else None
        view = ContainerView(
            id=cid,
            name=item.name,
            image=str((data.get("Config") or {}).get("Image", "")),
            state=str(state),
            status=str(status_by_id.get(cid, state)),
            inspect=data,
            image_inspect=image,
            image_view=snap.images.get(image_key((image or {}).get("Id"), str((data.get("Config") or {}).get("Image") or ""))),
        )
        try:
            view.findings = judge_container(data, image, snap.info, with_image_findings=False)
            if view.image_view is not None:
                view.findings += [f for f in view.image_view.findings if applies_to_container(f, data)]
            ident = compose_identity(data)
            if ident is not None:
                view.compose_project, view.service = ident.project, ident.service
                svc = _service_for(project, ident)
                if svc is not None:
                    view.source = svc
                    declared = svc.plain()
                    view.drift = drift(data, declared, image)
                    view.drift_findings = drift_findings(data, declared, image, location=svc.location(),
                                                         service=svc.name)
        except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
            # the engine's data had a shape no check foresaw: one line, never a traceback
            snap.error = (f"malformed data from the engine for container {one_line(item.name, 80)}: "
                          f"{one_line(exc, 120)}")
            snap.containers = []
            snap.elapsed = time.perf_counter() - started
            return snap
        snap.containers.append(view)
    snap.containers.sort(key=lambda c: (c.compose_project or "~", c.service or "", c.name))
    snap.elapsed = time.perf_counter() - started
    return snap


def image_key(image_id: Any, ref: str) -> str:
    """Images are judged once per id and reference: findings name the image as it was asked for."""
    return f"{image_id}|{ref}"


def image_views(gateway: Any, images: list[tuple[str, dict[str, Any] | None]], *,
                read: bool = True) -> dict[str, ImageView]:
    """One ImageView per distinct image (id and reference): judged on its config and, when
    ``read``, on its filesystem (read through the export once per id; an image that cannot be
    read keeps its config findings and says why)."""
    from batten.live.image_checks import judge_image
    from batten.live.imagecontent import contents_for_images

    views: dict[str, ImageView] = {}
    for ref, inspect in images:
        if inspect and inspect.get("Id"):
            views.setdefault(image_key(inspect["Id"], ref), ImageView(str(inspect["Id"]), ref, dict(inspect)))
    contents = contents_for_images(gateway, [v.inspect for v in views.values()]) if read else {}
    for view in views.values():
        got = contents.get(view.id)
        if isinstance(got, str):
            view.error = got
        else:
            view.content = got
        view.findings = judge_image(view.inspect, view.ref, view.content)
    return views


def apply_config(snap: LiveSnapshot, config: Config) -> LiveSnapshot:
    """The project's config applied to live findings, the same way for every caller
    (`batten scan --live`, `batten containers`, the TUI): findings of rules the config does not
    select are dropped, severities overridden, per-path ignores applied to findings tied to a
    file. Returns the snapshot, changed in place."""
    for c in snap.containers:
        c.findings = config.apply(c.findings)
        c.drift_findings = config.apply(c.drift_findings)
    for img in snap.images.values():
        img.findings = config.apply(img.findings)
    return snap


def tie_to_sources(snap: LiveSnapshot) -> None:
    """Give each finding of a container that a compose service declares that service's
    location, so file-based reports (SARIF, annotations) can place it."""
    for c in snap.containers:
        if c.source is None:
            continue
        where = c.source.location()
        for f in c.findings:
            if f.location is None and f.target_kind != "image":  # an image's are not the file's
                f.location = where


def _gateway_or_say_why(args: argparse.Namespace) -> Any | None:
    """The gateway `--host`, `--context` and `--timeout` name; None, after a one-line error on
    stderr, when the engine cannot be reached (a usage error propagates)."""
    try:
        return make_gateway(args.host, args.context, timeout=args.timeout)
    except UsageError:
        raise
    except BattenError as exc:
        print(f"batten: {one_line(exc)}", file=sys.stderr)
        return None


def add_live(result: Any, *, host: str | None, context: str | None, include_all: bool = False) -> None:
    """`batten scan --live`: append live findings and drift to a ScanResult."""
    try:
        gw = make_gateway(host, context)
    except BattenError as exc:
        print(f"batten: live view unavailable: {one_line(exc)} (static findings below)", file=sys.stderr)
        return
    try:
        snap = snapshot(gw, result.project, include_all=include_all)
        if not snap.error:  # what the engine shows about the project's images corrects static findings
            images = project_images_on(gw, result.project, result.findings, snap)
            result.findings = images.refine(result.findings, result.config, result.project)
    except BattenError as exc:  # whatever the engine did, the static findings are still printed
        print(f"batten: live view unavailable: {one_line(exc)} (static findings below)", file=sys.stderr)
        return
    finally:
        gw.close()
    if snap.error:
        print(f"batten: live view unavailable: {one_line(snap.error)} (static findings below)", file=sys.stderr)
        return
    tie_to_sources(apply_config(snap, result.config))
    result.live = snap.findings


def project_images_on(gateway: Any, project: Project, findings: list[Finding], snap: LiveSnapshot, *,
                      read: bool = True) -> ProjectImages:
    """What the engine shows about the images a project uses: its services' images, those its
    findings name and those that may tell unpinned packages' versions. Each is inspected once
    (read-only, never pulled): one the engine does not have is known to be absent, one it does not
    answer for stays unknown, and once the engine itself is unreachable the rest are not asked.
    The views of those on the engine join `snap.images`, reusing those its containers run; with
    `read`, new ones have their filesystems read (as `image_views` reads them)."""
    from batten.live.gateway import EngineUnavailable
    from batten.live.image_checks import image_refs, pin_refs
    from batten.live.imagefacts import ImageFacts, ImageKnowledge, from_inspect, project_images

    refs = [r for r in dict.fromkeys([*project_images(project), *image_refs(findings),
                                      *pin_refs(findings, project)]) if r]
    facts = ImageKnowledge()
    inspects: list[tuple[str, dict[str, Any]]] = []
    error: str | None = None
    for ref in refs:
        facts[ref] = ImageFacts(ref)
        if error is not None:
            continue
        try:
            inspect = gateway.inspect_image(ref)
        except EngineUnavailable as exc:
            error = str(exc)
            continue
        except BattenError:
            continue
        facts[ref] = from_inspect(ref, inspect)
        if inspect and inspect.get("Id"):
            inspects.append((ref, inspect))
    fresh = image_views(gateway, [(r, i) for r, i in inspects if image_key(i["Id"], r) not in snap.images],
                        read=read)
    views: dict[str, ImageView] = {}
    for ref, inspect in inspects:
        key = image_key(inspect["Id"], ref)
        view = snap.images.get(key)
        if view is None:
            view = snap.images[key] = fresh[key]
        views[ref] = view
    return ProjectImages(facts, views, error)


def run_containers(args: argparse.Namespace) -> int:
    """`batten containers`."""
    from batten.config import config_for
    from batten.report import to_json, to_sarif

    project = None
    config = config_for([args.project or "."], getattr(args, "config", None))
    if args.project:
        from batten.sources.project import load_project

        project = load_project([args.project])
        config.bind(project.root)
    gw = _gateway_or_say_why(args)
    if gw is None:
        return 2
    try:
        snap = snapshot(gw, project, include_all=args.all)
    finally:
        gw.close()
    if snap.error:
        print(f"batten: {one_line(snap.error)}", file=sys.stderr)
        return 2
    tie_to_sources(apply_config(snap, config))
    findings = snap.findings
    if args.format == "json":
        import json

        from batten.sanitize import json_text

        doc = json.loads(to_json(findings, []))
        doc.pop("files", None)
        doc["engine"] = snap.endpoint
        doc["containers"] = [
            {"id": c.short_id, "name": c.name, "image": c.image, "state": c.state, "status": c.status,
             "compose_project": c.compose_project, "service": c.service,
             "source": c.source.location().path if c.source else None,
             "findings": len(c.findings), "drift": [
                 {"field": d.field, "declared": _jsonable(d.declared), "running": _jsonable(d.running),
                  "direction": d.direction, "kind": d.kind, "note": d.note} for d in c.drift],
             "image_id": c.image_view.id if c.image_view else None}
            for c in snap.containers
        ]
        doc["images"] = [
            {"id": img.id, "ref": img.ref, "findings": len(img.findings), "read_error": img.error,
             "summary": image_summary(img.inspect, img.content, img.error)}
            for img in snap.images.values()
        ]
        sys.stdout.write(json_text(doc, indent=2) + "\n")
        return 0
    if args.format == "sarif":
        from batten.report import ReportContext

        sys.stdout.write(to_sarif(findings, ctx=ReportContext.for_project(project, config)))
        return 0
    from batten.report import use_color

    color = use_color(args.color, sys.stdout)
    bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if color else ("", "", "")
    line = safe_line  # every field from the engine is escaped, one line each
    print(f"{bold}{line(snap.endpoint)}{reset}: {len(snap.containers)} container(s)")
    for c in snap.containers:
        tie = f" [{line(c.compose_project)}/{line(c.service)}]" if c.service else ""
        src = f" <- {line(c.source.location())}" if c.source else ""
        print(f"\n{bold}{line(c.name)}{reset} {dim}{line(c.short_id)} {line(c.image)} {line(c.status)}{reset}{tie}{src}")
        for f in sorted(c.findings, key=lambda f: -int(f.severity or 0)):
            sev = (f.severity or f.rule.severity).label
            print(f"  {sev:<8} {f.rule.id:<26} {line(f.message)}")
        for d in c.drift:
            note = f" [{line(d.note)}]" if d.note else ""
            print(f"  drift    {line(d.field):<26} file: {_fmt(d.declared)}  running: {_fmt(d.running)}{note}  "
                  f"({line(d.advice)})")
    print(f"\n{len(findings)} finding(s) in {snap.elapsed:.2f}s")
    return 0


def run_image(args: argparse.Namespace) -> int:
    """`batten image NAME`: one image on the engine, judged on its config and its filesystem."""
    from batten.config import config_for
    from batten.live.gateway import ImageNotFound
    from batten.live.image_checks import judge_image
    from batten.live.imagecontent import image_content
    from batten.report import safe_text, to_json, to_sarif, use_color

    config = config_for(["."], getattr(args, "config", None))
    gw = _gateway_or_say_why(args)
    if gw is None:
        return 2
    error = None
    try:
        inspect = gw.inspect_image(args.name)
        if inspect is None:
            raise ImageNotFound(f"image {args.name} is not on the engine (batten never pulls)")
        try:
            content = image_content(gw, args.name, inspect=inspect, deadline=args.deadline)
        except BattenError as exc:
            content, error = None, one_line(exc)
    except BattenError as exc:
        print(f"batten: {one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        gw.close()
    findings = config.apply(judge_image(inspect, args.name, content))
    if args.format == "json":
        import json

        from batten.sanitize import json_text

        doc = json.loads(to_json(findings, []))
        doc.pop("files", None)
        doc["engine"] = endpoint_display(gw)
        doc["image"] = {"ref": args.name, "id": inspect.get("Id"), "read_error": error,
                        "content": _jsonable(content.to_dict()) if content is not None else None}
        sys.stdout.write(json_text(doc, indent=2) + "\n")
        return 0
    if args.format == "sarif":
        sys.stdout.write(to_sarif(findings))
        return 0
    color = use_color(args.color, sys.stdout)
    bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if color else ("", "", "")
    print(f"{bold}{safe_text(args.name)}{reset} {dim}{str(inspect.get('Id', ''))[:19]}{reset}")
    for line in image_summary(inspect, content, error):
        print(f"  {safe_text(line)}")
    for f in sorted(findings, key=lambda f: -int(f.severity or 0)):
        sev = (f.severity or f.rule.severity).label
        print(f"  {sev:<8} {f.rule.id:<26} {safe_text(f.message)}")
    print(f"\n{len(findings)} finding(s)")
    return 0


def image_summary(inspect: dict[str, Any], content: Any, error: str | None) -> list[str]:
    """A few lines about an image: system, default user, health check, ports, what its
    filesystem holds (programs a probe or a fix may use, accounts, setuid files)."""
    from batten.live.imagecontent import PROBE_PROGRAMS

    cfg = inspect.get("Config") or {}
    user = str(cfg.get("User") or "")
    test = list((cfg.get("Healthcheck") or {}).get("Test") or [])
    ports = ", ".join(sorted(cfg.get("ExposedPorts") or {})) or "none"
    lines = [f"default user: {user or 'root (no USER)'}   health check: "
             f"{'yes' if test and str(test[0]).upper() != 'NONE' else 'none'}   exposed: {ports}"]
    if content is None:
        lines.append(f"filesystem not read: {error}" if error else "filesystem not read")
        return lines
    size = content.export_bytes / (1024 * 1024)
    lines.append(f"{content.distro or 'unknown system'}: {content.files} files in "
                 f"{content.layers} layer(s), {size:.1f} MiB")
    present = [p for p in PROBE_PROGRAMS if content.has(p)]
    lines.append(f"programs: {', '.join(present) or 'none of ' + ', '.join(PROBE_PROGRAMS)}")
    accounts = [f"{a.name} ({a.uid}{', no password' if a.password == 'empty' else ''})"
                for a in content.accounts]
    lines.append(f"accounts: {', '.join(accounts) or 'none (/etc/passwd missing)'}")
    special = [f"{s.path} ({s.mode})" for s in content.special_files]
    lines.append(f"setuid/setgid: {', '.join(special) or 'none'}")
    return lines


def _fmt(value: Any) -> str:
    return safe_line(str(value)) if value not in (None, "") else "-"


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


__all__ = ["ContainerView", "LiveSnapshot", "Location", "make_gateway", "snapshot"]
