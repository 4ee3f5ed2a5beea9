"""What a headless fix run may apply on its own, and what it tells the user about risk.

A `needs-input` fix is applied by `batten fix --write` only when every value that matters (a
parameter with a risk line) came from the user, the config or evidence; a checklist default
alone needs `--accept-defaults`. The report says which values were defaults and what each may
break, and a write ends with the behaviour-changing fixes it applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from batten.fixers.apply import Selector
from batten.model import Applicability, Finding, Fix


def waits_for_input(fix: Fix | None) -> bool:
    """A needs-input fix whose values that matter include checklist defaults."""
    return fix is not None and fix.applicability == Applicability.NEEDS_INPUT and bool(fix.defaults_used)


def gate(pick: Selector, accept_defaults: bool) -> Selector:
    """`pick`, minus needs-input fixes built on checklist defaults (unless accepted)."""
    if accept_defaults:
        return pick

    def gated(f: Finding) -> bool:
        return pick(f) and not waits_for_input(f.fix)

    return gated


def _where(f: Finding) -> str:
    return f"{f.path}:{f.line}" + (f" [{f.target}]" if f.target else "") if f.path else (f.target or "")


def pending_lines(findings: Iterable[Finding], pick: Selector, accept_defaults: bool) -> list[str]:
    """One line per parameter whose default held fixes back (with its risk and a count)."""
    if accept_defaults:
        return []
    counts: Counter[str] = Counter()
    risks: dict[str, str] = {}
    fixes: dict[str, set[str]] = {}
    held: set[tuple[str, str, str]] = set()
    for f in findings:
        if not pick(f) or not waits_for_input(f.fix):
            continue
        assert f.fix is not None
        key = (f.fix.id, f.path or "", f.target or "")
        if key in held:
            continue  # one remedy for several findings (the limits block)
        held.add(key)
        for p in f.fix.defaults_used:
            counts[p.name] += 1
            risks[p.name] = p.risk
            fixes.setdefault(p.name, set()).add(f.fix.id)
    if not counts:
        return []
    out = [f"{len(held)} needs-input fix(es) not applied: their values would be checklist defaults. Give values "
           "(--set NAME=VALUE, [tool.batten.fix]), use --live for evidence, or pass --accept-defaults:"]
    for name, count in counts.most_common():
        out.append(f"  {name} ({', '.join(sorted(fixes[name]))}, {count}x): risk: {risks[name]}")
    return out


def behaviour_lines(applied: Iterable[tuple[Finding, Fix]], *, written: bool = True) -> list[str]:
    """Behaviour-changing fixes applied: unsafe ones (with their risk) and ones built on
    checklist defaults (with the values), one line each, then one line per default's risk."""
    out: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    risks: dict[str, str] = {}
    for f, fx in applied:
        key = (fx.id, f.path or "", f.target or "", fx.edits)
        if key in seen:
            continue  # one remedy for several findings (a split one, e.g. co.limits, counts each part)
        seen.add(key)
        defaults = fx.defaults_used
        if fx.applicability != Applicability.UNSAFE and not defaults:
            continue
        line = f"  {fx.id} at {_where(f)}"
        if fx.applicability == Applicability.UNSAFE and fx.risk:
            line += f": {fx.risk}"
        if defaults:
            line += "; defaults " + ", ".join(f"{p.name}={p.default or '(none)'}" for p in defaults)
            risks.update((p.name, p.risk) for p in defaults)
        out.append(line)
    if out:
        verb = "applied (check these)" if written else "in this diff"
        out.insert(0, f"{len(out)} behaviour-changing fix(es) {verb}:")
        out.extend(f"  default {name}: {risk}" for name, risk in sorted(risks.items()))
    return out
