"""Write docs/rules.md from the rule catalogue (app/checks/catalogue.py) and the fixer registry.

    .venv/bin/python scripts/gen_rules_doc.py          # rewrite docs/rules.md
    .venv/bin/python scripts/gen_rules_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batten.checks.catalogue import all_rules  # noqa: E402
from batten.fixers.plan import FIX_BY_KIND, _load  # noqa: E402
from batten.fixers.registry import REGISTRY  # noqa: E402
from batten.model import AREA_ORDER  # noqa: E402

WHERE = {"DF": "Dockerfile", "CO": "compose", "LC": "live container", "IM": "image", "PR": "project"}


def render() -> str:
    _load()
    out = [
        "# Rules",
        "",
        "Generated from `app/checks/catalogue.py` by `scripts/gen_rules_doc.py`; do not edit by hand.",
        "Severity is the default (override it per rule in the config). *Fix* names the remedy batten",
        "previews as a diff: **safe** fixes keep behaviour, **needs-input** fixes take values (with",
        "defaults), **unsafe** fixes change behaviour and need `--unsafe` in `batten fix`. A rule off by",
        "default runs when the config's `select` names it (`select = [\"*\", \"pkg.pin-apt\"]`).",
        "",
    ]
    rules = all_rules()
    for area in AREA_ORDER:
        group = [r for r in rules if r.area == area]
        if not group:
            continue
        out += [f"## {area.value.capitalize()}", "", "| id | title | severity | where | fix | other tools |",
                "|---|---|---|---|---|---|"]
        for r in group:
            fixes = []
            ids = {r.fix_id} | {fid for (rid, _k), fid in FIX_BY_KIND.items() if rid == r.id}
            for fid in sorted(i for i in ids if i):
                spec = REGISTRY.get(fid)
                if spec is not None:
                    fixes.append(f"`{fid}` ({spec.applicability})")
            where = ", ".join(WHERE[a] for a in sorted(r.applies) if a in WHERE)
            refs = "; ".join(f"{t} {i}" for t, i in r.refs.items()) or "-"
            sev = r.severity.label + (" (off by default)" if r.default_off else "")
            out.append(f"| `{r.id}` | {r.title} | {sev} | {where} | {', '.join(fixes) or '-'} | {refs} |")
        out.append("")
        for r in group:
            out += [f"### `{r.id}`", "", r.rationale, ""]
            if r.remedy:
                out += [f"**Remedy:** {r.remedy}", ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    target = ROOT / "docs" / "rules.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/rules.md is out of date: run .venv/bin/python scripts/gen_rules_doc.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target.relative_to(ROOT)} ({len(all_rules())} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
