"""The detail pane of a finding: Explain, Source (masked, highlighted), Fix (the diff)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static, TabbedContent, TabPane

from batten.model import Finding, Span
from batten.present import severity_of
from batten.report import safe_text
from batten.widgets.diff_view import DiffView
from batten.widgets.text import SEVERITY_STYLE, render_source


def explain(finding: Finding) -> Content:
    """Why the finding matters and what its fix does, as styled content."""
    rule = finding.rule
    sev = severity_of(finding)
    parts: list[Content | str | tuple[str, str]] = [
        (f" {sev.label} ", SEVERITY_STYLE[sev]),
        " ",
        (rule.title, "bold"),
        (f"   {rule.id} · {rule.area.value}", "$text-muted"),
        "\n",
        safe_text(finding.message),
        "\n",
    ]
    where = []
    if finding.target:
        where.append(f"{finding.target_kind} {safe_text(finding.target)}")
    if finding.location is not None:
        where.append(f"{safe_text(finding.location.path)}:{finding.location.line}")
    if where:
        parts += [("Where: ", "$text-muted"), " · ".join(where), "\n"]
    if finding.suppressed:
        parts += [("Suppressed: ", "$text-warning"), safe_text(finding.suppressed), "\n"]
    parts += ["\n", ("Why it matters", "bold $accent"), "\n", rule.rationale.strip(), "\n\n"]
    fix = finding.fix
    if fix is not None:
        parts += [
            ("What the fix does", "bold $accent"),
            "\n",
            (fix.title, "bold"),
            (f"  [{fix.applicability}]", _applicability_style(str(fix.applicability))),
            "\n",
            fix.explanation.strip() or rule.remedy,
            "\n",
        ]
        if fix.params:
            parts += [("Inputs: ", "$text-muted"), ", ".join(p.name for p in fix.params), "\n"]
        parts += [("Press f to preview and apply it.", "$text-muted"), "\n"]
    else:
        parts += [("No automatic fix", "bold $accent"), "\n", rule.remedy.strip() or "Fix it by hand.", "\n"]
    if rule.refs:
        refs = ", ".join(f"{tool} {ids}" for tool, ids in rule.refs.items())
        parts += ["\n", ("See also: ", "$text-muted"), refs]
    return Content.assemble(*parts)


def _applicability_style(kind: str) -> str:
    return {"safe": "$text-success", "needs-input": "$text-warning", "unsafe": "bold $text-error"}.get(kind, "")


class FindingDetail(Vertical):
    """Tabs for one finding. The caller passes the file text and diff (it knows the disk)."""

    DEFAULT_CSS = """
    FindingDetail { height: 1fr; }
    FindingDetail TabbedContent { height: 1fr; }
    FindingDetail TabPane { padding: 0; height: 1fr; }
    FindingDetail VerticalScroll { height: 1fr; }
    FindingDetail .pane-text { padding: 0 1; width: auto; min-width: 100%; }
    FindingDetail #explain-text { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.finding: Finding | None = None
        self._source_line = 1

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane("Explain", id="tab-explain"), VerticalScroll(id="explain-scroll"):
                yield Static("Select a finding.", id="explain-text", classes="pane-text")
            with TabPane("Source", id="tab-source"), VerticalScroll(id="source-scroll"):
                yield Static("", id="source-text", classes="pane-text")
            with TabPane("Fix", id="tab-fix"), VerticalScroll(id="fix-scroll"):
                yield DiffView(id="fix-diff")

    def show(
        self,
        finding: Finding | None,
        *,
        source: str | None = None,
        spans: Iterable[Span] = (),
        diff: str | None = None,
        fix_note: str = "",
    ) -> None:
        self.finding = finding
        explain_text = self.query_one("#explain-text", Static)
        source_text = self.query_one("#source-text", Static)
        fix_diff = self.query_one("#fix-diff", DiffView)
        if finding is None:
            explain_text.update("No finding selected.")
            source_text.update("")
            fix_diff.set_diff("", note="")
            return
        explain_text.update(explain(finding))
        loc = finding.location
        if source is None or loc is None:
            source_text.update(Content.styled("(no source for this finding)", "$text-muted"))
        else:
            source_text.update(render_source(source, spans, loc.line, loc.end_line))
            self._source_line = loc.line
            self.call_after_refresh(self._scroll_source)
        if diff:
            fix_diff.set_diff(diff)
        else:
            fix_diff.set_diff("", note=fix_note or "No automatic fix for this finding.")
        for scroll in self.query(VerticalScroll):
            if scroll.id != "source-scroll":
                scroll.scroll_home(animate=False)

    def _scroll_source(self) -> None:
        """Bring the finding's line into view (again when the Source tab is shown: a hidden
        pane cannot scroll)."""
        scroll = self.query_one("#source-scroll", VerticalScroll)
        scroll.scroll_to(y=max(0, self._source_line - 4), animate=False, immediate=True)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-source":
            self.call_after_refresh(self._scroll_source)

    @property
    def active_tab(self) -> str:
        return self.query_one("#detail-tabs", TabbedContent).active

    def show_tab(self, name: str) -> None:
        self.query_one("#detail-tabs", TabbedContent).active = f"tab-{name}"
