"""Asking the engine on a schedule, for an interactive front end, without any user interface.

Two steps, each meant for a background thread: `fetch()` lists, inspects and judges the
containers (and their images on their config) and inspects the images the project uses, never
waiting for an image export, so the list shows at once; `read_images()` then reads the
filesystem of each image not read yet (the first read of a large image can take minutes; the
result is cached by image id), one at a time, cancellable between images, and each result is
merged into the list shown (`accept_image`). After each step the static findings are refined
with what the engine shows about the project's images, by the function `scan --live` uses
(batten.live_scan.ProjectImages.refine), and each finding's fix is planned as the fix dialog
plans it with those facts (Session.plan_fixes), in the same thread (`refined_with` for an image
read), so the front end only swaps the list in. The front end calls `accept()` with each answer on
its own thread: the session keeps the last good list and the last refined findings (stale
while the engine is away), and the poller says when to ask again: `interval` after a success,
doubling after failures up to `backoff_max`, and never while a dialog is up
(`delay_when_paused`). Textual-free: the TUI runs the steps in its
workers and its timers; tests drive it directly."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from batten.model import BattenError

if TYPE_CHECKING:
    from batten.config import Config
    from batten.live_scan import ImageView, LiveSnapshot, Refined
    from batten.session import Session

POLL_INTERVAL = 5.0  # seconds between engine snapshots (after each success)
POLL_BACKOFF_MAX = 60.0  # after failures the delay doubles up to this


class EnginePoller:
    def __init__(self, session: Session, *, gateway: Any = None,
                 gateway_factory: Callable[[], Any] | None = None, interval: float = POLL_INTERVAL,
                 backoff_max: float = POLL_BACKOFF_MAX) -> None:
        self.session = session
        self.gateway = gateway
        self.gateway_factory = gateway_factory
        self.interval = interval
        self.backoff_max = backoff_max
        self.delay = interval
        self.next_at: float | None = None  # time.monotonic() of the next attempt, if one is due
        self.contents: dict[str, Any] = {}  # image id -> ImageContent, or why it cannot be read
        self.deferred = False  # a poll fell due under a dialog

    # ------------------------------------------------------------------ the gateway
    @property
    def enabled(self) -> bool:
        return self.session.engine and (self.gateway is not None or self.gateway_factory is not None)

    def ensure_gateway(self) -> Any:
        """The gateway, made on first use (in a worker: the docker SDK is imported there)."""
        if self.gateway is None and self.gateway_factory is not None:
            self.gateway = self.gateway_factory()
        return self.gateway

    def endpoint_text(self) -> str:
        ep = getattr(self.gateway, "endpoint", None)
        return str(getattr(ep, "display", None) or ep or "engine")

    def close(self) -> None:
        """Close the gateway: every call in flight (an export too) ends at once."""
        gw, self.gateway = self.gateway, None
        self.gateway_factory = None
        if gw is not None:
            try:
                gw.close()
            except Exception:
                pass

    # ------------------------------------------------------------------ step 1: containers
    def fetch(self) -> LiveSnapshot:
        """One snapshot of the containers, without reading image filesystems (images read
        earlier are merged at once). A background thread's job; never raises BattenError."""
        from batten.live_scan import LiveSnapshot, project_images_on, snapshot

        scanned = self.session.scanned  # the scan as the files alone give it (one read: a rescan may swap it)
        try:
            gw = self.ensure_gateway()
            snap = snapshot(gw, scanned.project, include_all=self.session.include_stopped, read_images=False)
            if not snap.error:  # the project's images too (config only; filesystems come after)
                snap.project_images = project_images_on(gw, scanned.project, scanned.findings, snap, read=False)
                if snap.project_images.error:  # gone half-way: an outage (the last answer stays)
                    return LiveSnapshot(endpoint=snap.endpoint, error=snap.project_images.error)
        except BattenError as exc:
            return LiveSnapshot(endpoint=self.endpoint_text(), error=str(exc))
        if not snap.error:
            read = dict(self.contents)
            for image_id, got in read.items():
                merge_image(snap, image_id, got)
            if snap.project_images is not None:  # the static findings as `scan --live` gives them
                snap.refined = self.session.plan_fixes(snap.project_images.refined(scanned, read), read,
                                                       snap.containers)  # with the fixes the dialog plans
        return snap

    def failed(self, reason: str) -> LiveSnapshot:
        """The answer to record when the fetch itself broke (a bug, not the engine)."""
        from batten.live_scan import LiveSnapshot

        return LiveSnapshot(endpoint=self.endpoint_text(), error=reason)

    def accept(self, snap: LiveSnapshot, now: float | None = None) -> str | None:
        """The answer reached the front end: the session takes it and the next attempt is
        scheduled. Returns what to tell the user when the engine has just gone away."""
        was = self.session.engine_state
        self.session.accept_snapshot(snap)
        if snap.error:
            self.delay = min(max(self.delay * 2, self.interval), self.backoff_max)
        else:
            self.delay = self.interval
        self.schedule(self.delay, now)
        if snap.error and was != "unreachable":
            return f"{snap.error}. Static findings still work; r retries."
        return None

    # ------------------------------------------------------------------ schedule
    def schedule(self, delay: float, now: float | None = None) -> None:
        self.next_at = None if delay <= 0 else (time.monotonic() if now is None else now) + delay

    def delay_when_paused(self) -> float:
        """A dialog is up when a poll fell due: ask again a little later, never under it (or
        as soon as it closes: `due_after_pause`)."""
        self.deferred = True
        delay = max(1.0, self.delay / 2)
        self.schedule(delay)
        return delay

    def due_after_pause(self) -> bool:
        """The dialog closed: was a poll put off for it (ask now, then)?"""
        deferred, self.deferred = self.deferred, False
        return deferred

    def retry_in(self, now: float | None = None) -> float | None:
        """Seconds until the engine is asked again (None: no attempt scheduled)."""
        if self.next_at is None:
            return None
        return max(0.0, self.next_at - (time.monotonic() if now is None else now))

    # ------------------------------------------------------------------ step 2: images
    def pending_images(self) -> list[ImageView]:
        """The images of the list shown whose filesystem was not read yet."""
        live = self.session.live
        if live is None:
            return []
        return [v for v in live.images.values() if v.id not in self.contents]

    def begin_images(self) -> list[ImageView]:
        """The images to read now (one per id); the session shows the progress from here."""
        todo = list({v.id: v for v in self.pending_images()}.values())
        self.session.images_reading = (0, len(todo)) if todo else None
        return todo

    def read_images(self, images: list[ImageView], cancelled: Callable[[], bool] = lambda: False
                    ) -> Iterator[tuple[str, Any, bool]]:
        """Read each image's filesystem (cached by id), one at a time: (image id, content or
        the one-line reason it could not be read, whether that answer is final). Stops between
        images when `cancelled()`; closing the gateway ends a read in flight. A background
        thread's job."""
        from batten.live.gateway import EngineUnavailable
        from batten.live.imagecontent import image_content

        seen: set[str] = set()
        for view in images:
            if view.id in seen:
                continue
            seen.add(view.id)
            if cancelled():
                return
            ref = next(iter(view.inspect.get("RepoTags") or []), view.id)
            try:
                got: Any = image_content(self.ensure_gateway(), str(ref), inspect=view.inspect)
            except EngineUnavailable as exc:  # the engine (gone, slow): tried again with the next list
                yield view.id, str(exc), False
                continue
            except BattenError as exc:  # the image itself (too big, unreadable, refused): kept
                got = str(exc)
            if cancelled():
                return
            yield view.id, got, True

    def replanned(self) -> Refined | None:
        """The static findings refined and their fixes planned again from what is held, no
        engine call (after a rescan or a write, once a container's evidence was gathered); None
        before any engine answer about the project's images. A background thread's job: the
        front end hands the answer to `Session.take_refined`."""
        images, scanned = self.session.project_images, self.session.scanned
        if images is None or scanned is None:
            return None
        read = dict(self.contents)
        return self.session.plan_fixes(images.refined(scanned, read), read)

    def refined_with(self, image_id: str, got: Any) -> Refined | None:
        """The static findings refined with the project's images, this one's filesystem
        included (None: no engine answer about them yet). A background thread's job: the front
        end hands the answer to `accept_image`."""
        images, scanned = self.session.project_images, self.session.scanned
        if images is None or image_id not in {v.id for v in images.views.values()}:
            return None
        read = {**self.contents, image_id: got}
        return self.session.plan_fixes(images.refined(scanned, read), read)

    def accept_image(self, image_id: str, got: Any, keep: bool = True, refined: Refined | None = None) -> None:
        """An image was read (or could not be): its findings join the list shown, and the
        static findings are refined with what it holds (`refined`, worked out by
        `refined_with` in the reading thread)."""
        if keep:
            self.contents[image_id] = got
        if self.session.images_reading is not None:
            done, total = self.session.images_reading
            self.session.images_reading = (min(done + 1, total), total)
        for snap in {id(s): s for s in (self.session.live, self.session.snapshot) if s is not None}.values():
            merge_image(snap, image_id, got, self.session.config)
        images = self.session.project_images
        if images is not None and image_id in {v.id for v in images.views.values()}:
            self.session.take_refined(refined)

    def end_images(self) -> None:
        self.session.images_reading = None


def merge_image(snap: LiveSnapshot, image_id: str, got: Any, config: Config | None = None) -> None:
    """Put what an image's filesystem showed (or why it was not read) into a snapshot: the
    image is judged again with it, and each container running it gets the image's findings
    that concern it (those of its image before are replaced)."""
    from batten.live.image_checks import applies_to_container, judge_image

    changed: set[int] = set()
    for view in snap.images.values():
        if view.id != image_id:
            continue
        if isinstance(got, str):
            view.content, view.error = None, got
        else:
            view.content, view.error = got, None
        findings = judge_image(view.inspect, view.ref, view.content)
        view.findings = config.apply(findings) if config is not None else findings
        changed.add(id(view))
    for c in snap.containers:
        if c.image_view is not None and id(c.image_view) in changed:
            own = [f for f in c.findings if f.target_kind != "image"]
            c.findings = own + [f for f in c.image_view.findings if applies_to_container(f, c.inspect)]


__all__ = ["POLL_BACKOFF_MAX", "POLL_INTERVAL", "EnginePoller", "merge_image"]
