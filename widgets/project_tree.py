"""The project tree: files, then their stages (Dockerfiles) and services (compose files), each
with its finding counts by severity."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from batten.model import Finding, Severity
from batten.present import severity_of
from batten.report import safe_text
from batten.sources.project import Project
from batten.widgets.findings_table import ALL, Scope
from batten.widgets.text import SEVERITY_CLASSES, SEVERITY_SHORT, severity_css


class ProjectTree(Tree[Scope]):
    COMPONENT_CLASSES = Tree.COMPONENT_CLASSES | SEVERITY_CLASSES | {
        "tree--ok",
        "tree--kind",
    }
    DEFAULT_CSS = severity_css("ProjectTree") + """
    ProjectTree > .tree--ok { color: $success; }
    ProjectTree > .tree--kind { color: $foreground; text-style: dim; }
    """

    class ScopeChosen(Message):
        def __init__(self, scope: Scope) -> None:
            super().__init__()
            self.scope = scope

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("project", data=ALL, id=id)
        self.show_root = True
        self.guide_depth = 2
        self._project: Project | None = None
        self._findings: list[Finding] = []

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.rebuild())

    def set_project(self, project: Project, findings: Iterable[Finding]) -> None:
        self._project = project
        self._findings = [f for f in findings if not f.suppressed]
        self.rebuild()

    # ------------------------------------------------------------------ labels
    def _counts(self, scope: Scope) -> Text:
        counts = Counter(severity_of(f) for f in self._findings if scope.admits(f))
        out = Text()
        if not counts:
            out.append(" ✓", style=self.get_component_rich_style("tree--ok", partial=True))
            return out
        for sev in sorted(Severity, reverse=True):
            n = counts.get(sev)
            if n:
                out.append(f" {n}{SEVERITY_SHORT[sev]}",
                           style=self.get_component_rich_style(f"sev--{sev.label}", partial=True))
        return out

    def _label(self, name: str, scope: Scope, kind: str = "") -> Text:
        text = Text(safe_text(name))
        if kind:
            text.append(f" {kind}", style=self.get_component_rich_style("tree--kind", partial=True))
        text.append_text(self._counts(scope))
        return text

    # ------------------------------------------------------------------ build
    def rebuild(self) -> None:
        project = self._project
        if project is None or not self.is_mounted:
            return
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        root_name = os.path.basename(project.root.rstrip("/")) or project.root
        self.root.set_label(self._label(root_name, ALL))
        self.root.data = ALL
        seen_paths: set[str] = set()
        restore: TreeNode[Scope] | None = None
        for pf in project.files:
            seen_paths.add(pf.path)
            scope = Scope(path=pf.path, label=pf.path)
            node = self.root.add(self._label(pf.path, scope, "(unparsed)" if pf.error else ""), data=scope,
                                 expand=True)
            restore = node if scope == selected else restore
            if pf.dockerfile is not None:
                for stage in pf.dockerfile.stages:
                    name = stage.name or f"stage {stage.index}"
                    s = Scope(path=pf.path, target=name, kind="stage", label=f"{pf.path} / {name}")
                    child = node.add_leaf(self._label(name, s, "stage"), data=s)
                    restore = child if s == selected else restore
            if pf.compose is not None:
                for cp in project.compose_projects:
                    for svc in cp.services.values():
                        if svc.file.path != pf.path:
                            continue
                        s = Scope(target=svc.name, kind="service", label=f"service {svc.name}")
                        child = node.add_leaf(self._label(svc.name, s, "service"), data=s)
                        restore = child if s == selected else restore
        others = sorted({f.path for f in self._findings if f.path and f.path not in seen_paths})
        for path in others:
            scope = Scope(path=path, label=path)
            node = self.root.add_leaf(self._label(path, scope), data=scope)
            restore = node if scope == selected else restore
        self.root.expand()
        if restore is not None:
            node_to_restore = restore
            self.call_after_refresh(lambda: self.move_cursor(node_to_restore))

    def on_tree_node_selected(self, event: Tree.NodeSelected[Scope]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.ScopeChosen(event.node.data))
