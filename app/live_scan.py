"""Live containers beside the project: one snapshot of an engine (list, inspect in parallel,
judge), each container tied back to its compose service, with drift. Shared by
`batten containers`, `batten scan --live` and the TUI. The docker SDK is imported only when a
real gateway is made."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from batten.config import Config
from batten.model import BattenError, Finding, Location, UsageError
from batten.sanitize import one_line, safe_line
from batten.sources.compose import Service
from batten.sources.project import Project


@dataclass
class ContainerView:
    id: str
    name: str
    image: str
    state: str  # running, exited, created...
    status: str  # "Up 3 minutes (healthy)"
    inspect: dict[str, Any]
    image_inspect: dict[str, Any] | None
    findings: list[Finding] = field(default_factory=list)
    drift: list[Any] = field(default_factory=list)  # batten.live.drift.DriftItem
    drift_findings: list[Finding] = field(default_factory=list)
    compose_project: str | None = None
    service: str | None = None
    source: Service | None = None  # the compose service in the loaded project, if tied

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def worst(self) -> Any:
        sev = [f.severity for f in self.findings if f.severity is not None]
        return max(sev) if sev else None


@dataclass
class LiveSnapshot:
    endpoint: str
    containers: list[ContainerView] = field(default_factory=list)
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for c in self.containers:
            out.extend(c.findings)
            out.extend(c.drift_findings)
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
             with_images: bool = True) -> LiveSnapshot:
    """List and inspect containers, judge them, tie them to the project's services."""
    from batten.live.drift import compose_identity, drift, drift_findings
    from batten.live.facts import judge_container
    from batten.live.gateway import inspect_all

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
    status_by_id = {s.get("Id"): s.get("Status", "") for s in summaries}
    for item in inspected:
        data = item.container
        cid = str(data.get("Id", ""))
        state = (data.get("State") or {}).get("Status", "")
        view = ContainerView(
            id=cid,
            name=item.name,
            image=str((data.get("Config") or {}).get("Image", "")),
            state=str(state),
            status=str(status_by_id.get(cid, state)),
            inspect=data,
            image_inspect=item.image if with_images else None,
        )
        try:
            view.findings = judge_container(data, item.image if with_images else None, snap.info)
            ident = compose_identity(data)
            if ident is not None:
                view.compose_project, view.service = ident.project, ident.service
                svc = _service_for(project, ident)
                if svc is not None:
                    view.source = svc
                    declared = svc.plain()
                    view.drift = drift(data, declared, item.image)
                    view.drift_findings = drift_findings(data, declared, item.image, location=svc.location(),
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


def apply_config(snap: LiveSnapshot, config: Config) -> LiveSnapshot:
    """The project's config applied to live findings, the same way for every caller
    (`batten scan --live`, `batten containers`, the TUI): findings of rules the config does not
    select are dropped, severities overridden, per-path ignores applied to findings tied to a
    file. Returns the snapshot, changed in place."""
    for c in snap.containers:
        c.findings = config.apply(c.findings)
        c.drift_findings = config.apply(c.drift_findings)
    return snap


def tie_to_sources(snap: LiveSnapshot) -> None:
    """Give each finding of a container that a compose service declares that service's
    location, so file-based reports (SARIF, annotations) can place it."""
    for c in snap.containers:
        if c.source is None:
            continue
        where = c.source.location()
        for f in c.findings:
            if f.location is None:
                f.location = where


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
            from batten.live.imagefacts import gather, project_images, refine_findings

            result.findings = refine_findings(result.findings, gather(gw, project_images(result.project)))
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
    try:
        gw = make_gateway(args.host, args.context, timeout=args.timeout)
    except UsageError:
        raise
    except BattenError as exc:
        print(f"batten: {one_line(exc)}", file=sys.stderr)
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
                  "direction": d.direction} for d in c.drift]}
            for c in snap.containers
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
            print(f"  drift    {line(d.field):<26} file: {_fmt(d.declared)}  running: {_fmt(d.running)}  "
                  f"({line(d.advice)})")
    print(f"\n{len(findings)} finding(s) in {snap.elapsed:.2f}s")
    return 0


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
