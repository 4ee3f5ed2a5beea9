"""How often each static rule fires on the shared real-world corpus (../shared/corpus), scanned
as one root with every rule selected (pkg.pin-apt, off by default, included), as a table in
BENCHMARKS.md between the corpus-counts markers.

    .venv/bin/python scripts/corpus_counts.py          # rewrite the table
    .venv/bin/python scripts/corpus_counts.py --print  # print it only
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batten.checks.catalogue import all_rules  # noqa: E402
from batten.checks.engine import run_checks  # noqa: E402
from batten.config import parse_config  # noqa: E402
from batten.sources.project import load_project  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
START, END = "<!-- corpus-counts:start -->", "<!-- corpus-counts:end -->"


def table() -> str:
    project = load_project([str(CORPUS)])
    findings = run_checks(project, parse_config({"select": ["*", "pkg.pin-apt"]}, "corpus counts"))
    hits = Counter(f.rule.id for f in findings)
    files = {rid: len({f.path for f in findings if f.rule.id == rid}) for rid in hits}
    n_df = sum(1 for f in project.files if f.kind == "dockerfile")
    n_co = sum(1 for f in project.files if f.kind == "compose")
    lines = [
        START,
        f"Corpus: {n_df} Dockerfiles and {n_co} compose files (`scripts/corpus_counts.py`). A rule with no row",
        "did not fire on the corpus.",
        "",
        "| rule | severity | findings | files |",
        "|---|---|---|---|",
    ]
    for r in all_rules():
        if not r.applies & {"DF", "CO", "PR"} or not hits.get(r.id):
            continue
        off = " (off by default)" if r.default_off else ""
        lines.append(f"| `{r.id}`{off} | {r.severity.label} | {hits[r.id]} | {files[r.id]} |")
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    text = table()
    if "--print" in sys.argv:
        print(text)
        return 0
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text()
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n## Rule hits on the corpus\n\n" + text + "\n"
    path.write_text(doc)
    print(f"wrote the corpus counts into {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
