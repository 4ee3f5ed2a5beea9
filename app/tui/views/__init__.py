"""The views of the main screen, in one registry: each has a name (also the scope of its
keys in `batten.tui.commands`), a label for the header, and a widget built on the session.
A view answers the small `View` protocol; what it cannot do itself (open a fix dialog,
start the guided walk, export) it asks for with a message that the App handles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.message import Message

from batten.model import Finding

if TYPE_CHECKING:
    from textual.widget import Widget

    from batten.session import Session


@runtime_checkable
class View(Protocol):
    def refresh_view(self) -> None:
        """Render the session's current state (after a rescan, a write, an engine answer)."""

    def focus_main(self) -> None:
        """Focus the view's main widget."""

    def open_details(self) -> None:
        """Enter on the selection: show (and focus) its details."""

    def current_finding(self) -> Finding | None:
        """The finding a fix key acts on, if any."""

    def open_filter(self) -> bool:
        """Open the view's filter field (False: the view has none)."""


class FixRequested(Message):
    """Open the fix dialog of a finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        self.finding = finding


class EvidenceWanted(Message):
    """Gather the live evidence of a finding's running container (fix defaults)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        self.finding = finding


class PortBackRequested(Message):
    """Offer the fix that writes a drift item's running value back to the compose file."""

    def __init__(self, container: Any, item: Any) -> None:
        super().__init__()
        self.container = container
        self.item = item


class EngineRequested(Message):
    """Ask the engine again now (a setting of the view changed what to ask)."""


class GuidedRequested(Message):
    """Start (or restart) the guided walk."""


class ExportRequested(Message):
    """Export the report."""


class ViewRequested(Message):
    """Switch to another view, optionally selecting findings of one compose service there."""

    def __init__(self, name: str, *, service: str | None = None, path: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.service = service
        self.path = path


@dataclass(frozen=True, slots=True)
class ViewSpec:
    name: str  # also the scope of the view's own commands
    label: str  # shown in the header
    module: str  # imported the first time the view is shown (a faster first frame)
    cls: str

    @property
    def widget_id(self) -> str:
        return f"{self.name}-view"

    def make(self, session: Session) -> Widget:
        factory: Callable[..., Widget] = getattr(import_module(self.module), self.cls)
        return factory(session, id=self.widget_id)


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("findings", "Findings", "batten.tui.views.findings", "FindingsView"),
    ViewSpec("containers", "Containers", "batten.tui.views.containers", "ContainersView"),
    ViewSpec("guided", "Guided remediation", "batten.tui.views.guided", "GuidedView"),
)
BY_NAME: dict[str, ViewSpec] = {v.name: v for v in VIEWS}
FIRST = VIEWS[0]

__all__ = [
    "BY_NAME",
    "FIRST",
    "VIEWS",
    "EngineRequested",
    "EvidenceWanted",
    "ExportRequested",
    "FixRequested",
    "GuidedRequested",
    "PortBackRequested",
    "View",
    "ViewRequested",
    "ViewSpec",
]
