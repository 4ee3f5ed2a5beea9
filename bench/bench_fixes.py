"""Fix throughput and the corpus fix property, in figures.

For every project of ../shared/corpus (awesome-compose samples whole, other files alone): plan
every fix batten offers, apply each alone with verification (re-parse, re-check, bytes outside
the edits unchanged, not offered again), then all together with a second no-op run. Prints the
counts (files, fixes offered, fixes verified) and fixes verified per second. Reproduce with:

    .venv/bin/python bench/bench_fixes.py
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixcheck import Stats, check_project, corpus_projects  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> int:
    if not (CORPUS / "manifest.tsv").exists():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")
    print(f"command: .venv/bin/python {' '.join(sys.argv)}\n")
    started = time.perf_counter()
    projects = corpus_projects(CORPUS)
    loaded = time.perf_counter()
    stats = Stats()
    for project in projects:
        check_project(project, stats)
    done = time.perf_counter()
    print(f"projects: {stats.projects}  files: {stats.files}  findings: {stats.findings}")
    print(f"fixes offered: {stats.offered}  verified: {stats.verified}  failures: {len(stats.failures)}")
    print(f"all together: {stats.together_applied} fixes applied in {stats.together_projects} projects")
    print(f"time: load {loaded - started:.2f} s, check {done - loaded:.2f} s "
          f"({stats.offered / (done - loaded):.0f} fixes verified/s, each with a full re-check)")
    print("\nfixes offered by id:")
    for fid, n in sorted(stats.by_fix.items(), key=lambda kv: -kv[1]):
        print(f"  {fid:<24} {n}")
    for line in stats.failures[:20]:
        print("FAIL", line)
    return 0 if not stats.failures else 1


if __name__ == "__main__":
    sys.exit(main())
