"""Fix throughput and the corpus fix property, in figures.

Default: for every project of ../shared/corpus (awesome-compose samples whole, other files
alone): plan every fix batten offers, apply each alone with verification (re-parse, re-check,
bytes outside the edits unchanged, not offered again), then all together with a second no-op
run. Prints the counts (files, fixes offered, fixes verified) and fixes verified per second.

--one-root: the corpus as ONE root, in one run beside compose-lint: on a fresh copy in a temp
dir each time (the corpus itself is never written), `batten fix ROOT --write --unsafe` (and with
--accept-defaults, which applies every fix offered) against `compose-lint fix --apply` on the
copy's compose files (compose-lint from PyPI, installed into bench/.tools/ on first use), each
followed by a check that a second run has nothing left. Then the scaling series: 1x, 2x and 4x
copies of the corpus under one root. Reproduce with:

    .venv/bin/python bench/bench_fixes.py
    .venv/bin/python bench/bench_fixes.py --one-root --runs 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus import writable_copy  # noqa: E402
from tests.fixcheck import Stats, check_project, corpus_projects  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one-root", action="store_true", help="the corpus as one root beside compose-lint, and scaling")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median), --one-root only")
    ap.add_argument("--scale", default="1,2,4", help="copies of the corpus for the scaling series")
    args = ap.parse_args()
    if not (CORPUS / "manifest.tsv").exists():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: .venv/bin/python {' '.join(sys.argv)}\n")
    if args.one_root:
        return one_root(args.runs, [int(n) for n in args.scale.split(",") if n])
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
          f"({stats.offered / (done - loaded):.0f} fixes verified/s, each re-parsed and re-checked where it reaches)")
    print("\nfixes offered by id:")
    for fid, n in sorted(stats.by_fix.items(), key=lambda kv: -kv[1]):
        print(f"  {fid:<24} {n}")
    for line in stats.failures[:20]:
        print("FAIL", line)
    return 0 if not stats.failures else 1


# ---------------------------------------------------------------------------------------------
# the corpus as one root, beside compose-lint; the scaling series
# ---------------------------------------------------------------------------------------------

TOOLS = ROOT / "bench" / ".tools"
BATTEN = [sys.executable, "-m", "batten", "fix"]


def compose_lint() -> Path | None:
    venv = TOOLS / "compose-lint"
    exe = venv / "bin" / "compose-lint"
    if not exe.exists():
        print(f"installing compose-lint into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "compose-lint"], capture_output=True, text=True)
        if r.returncode != 0 or not exe.exists():
            print(f"could not install compose-lint: {r.stderr.strip()[:300]}", file=sys.stderr)
            return None
    return exe


def fresh_copy(into: Path, copies: int = 1) -> Path:
    """`copies` writable copies of the corpus under one new root below `into`."""
    root = Path(tempfile.mkdtemp(prefix="corpus-", dir=into))
    for i in range(copies):
        writable_copy(CORPUS, root / f"copy{i}" if copies > 1 else root / "corpus")
    return root


def run(cmd: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds (user + system), exit code, last stderr line) of one process."""
    env = {**os.environ, "BATTEN_NO_CACHE": "1", "XDG_STATE_HOME": str(cwd.parent / "state")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as on a user's machine
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        lines = [ln for ln in err.read().splitlines() if ln.strip()]
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), lines[-1] if lines else ""


def series(label: str, runs: int, make: Callable[[Path], Path], cmd_for: Callable[[Path], list[str]],
           check_for: Callable[[Path], list[str]] | None = None) -> tuple[float, float]:
    """Median wall and CPU seconds over `runs`, each on a fresh tree."""
    walls: list[float] = []
    cpus: list[float] = []
    last = again = ""
    with tempfile.TemporaryDirectory(prefix="batten-bench-") as tmp:
        for _ in range(runs):
            root = make(Path(tmp))
            wall, cpu, code, last = run(cmd_for(root), root)
            walls.append(wall)
            cpus.append(cpu)
            last = f"exit {code}: {last}"
            if check_for is not None:
                _w, _c, code2, again = run(check_for(root), root)
                again = f"second run (--check) exit {code2}: {again}"
            shutil.rmtree(root, ignore_errors=True)
    med, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"{label:<56} {med:6.2f} s wall (min {min(walls):.2f}, max {max(walls):.2f}), {cpu:6.2f} s CPU")
    print(f"    {last[:150]}")
    if again:
        print(f"    {again[:150]}")
    return med, cpu


def one_root(runs: int, scale: list[int]) -> int:
    rows = [r.split("\t") for r in (CORPUS / "manifest.tsv").read_text().splitlines()[1:]]
    compose_files = [r[0] for r in rows if r[1] == "compose"]
    print(f"corpus: {CORPUS.name} as one root; {len(compose_files)} compose files; runs: {runs} (median, "
          "each on a fresh copy)\n")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine "
          "inflates wall times; CPU times are steadier)\n")
    b = series("batten fix ROOT --write --unsafe", runs, fresh_copy,
               lambda r: [*BATTEN, str(r), "--write", "--unsafe", "-q"],
               lambda r: [*BATTEN, str(r), "--check", "--unsafe", "-q"])
    ba = series("batten fix ROOT --write --unsafe --accept-defaults", runs, fresh_copy,
                lambda r: [*BATTEN, str(r), "--write", "--unsafe", "--accept-defaults", "-q"],
                lambda r: [*BATTEN, str(r), "--check", "--unsafe", "--accept-defaults", "-q"])
    exe = compose_lint()
    if exe is not None:
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
        c = series(f"{version} fix --apply (the compose files)", runs, fresh_copy,
                   lambda r: [str(exe), "fix", "--apply", *(str(r / "corpus" / f) for f in compose_files)])
        print(f"  -> batten / compose-lint, wall: {b[0] / c[0]:.2f}x (--write --unsafe), "
              f"{ba[0] / c[0]:.2f}x (with --accept-defaults); CPU: {b[1] / c[1]:.2f}x, {ba[1] / c[1]:.2f}x")
    print("\nscaling: N copies of the corpus under one root, batten fix ROOT --write --unsafe --accept-defaults")
    base: tuple[float, float] | None = None
    for n in scale:
        wall, cpu = series(f"  {n}x ({n * len(rows)} Dockerfiles and compose files)", runs,
                           lambda into, n=n: fresh_copy(into, n),
                           lambda r: [*BATTEN, str(r), "--write", "--unsafe", "--accept-defaults", "-q"])
        base = base or (wall / n, cpu / n)
        print(f"    per copy: {wall / n:.2f} s wall ({wall / (n * base[0]):.2f}x the 1x cost), "
              f"{cpu / n:.2f} s CPU ({cpu / (n * base[1]):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
