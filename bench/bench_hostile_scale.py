"""How scan time grows with hostile input size: a long Dockerfile, a long stage chain, a huge
.gitignore, a deep `${A:-${A:-...}}` and a doubling .env. Each case is generated at growing sizes
into a temp dir and scanned as one root by a whole `batten scan` process (JSON output, no cache);
the table gives the median wall time per size and the growth factor per doubling (1.0-2.2 is
near-linear; 4 would be quadratic).

    .venv/bin/python bench/bench_hostile_scale.py [--runs 3] [--max 16000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def long_dockerfile(d: Path, n: int) -> None:
    """n lines: a stage whose instructions each give findings (and fixes to plan)."""
    body = ["FROM debian:12"]
    kinds = [
        "RUN apt-get install -y curl{i}",
        "ENV API_TOKEN_{i}=ghp_{i:036d}",
        "ADD local{i}.tar /opt/{i}/",
        "RUN curl -k https://example.invalid/{i} | sh",
        "EXPOSE {p}",
        "# a comment {i}",
    ]
    for i in range(n - 2):
        body.append(kinds[i % len(kinds)].format(i=i, p=1000 + i % 60000))
    body.append('CMD ["sh"]')
    (d / "Dockerfile").write_text("\n".join(body) + "\n")


def stage_chain(d: Path, n: int) -> None:
    """n stages, each built FROM the previous one."""
    lines = ["FROM debian:12 AS s0", "RUN true"]
    for i in range(1, n):
        lines += [f"FROM s{i - 1} AS s{i}", f"RUN echo {i}"]
    (d / "Dockerfile").write_text("\n".join(lines) + "\n")


def big_gitignore(d: Path, n: int) -> None:
    """n .gitignore patterns (~30 bytes each) and 200 files the walk must match against them."""
    (d / ".gitignore").write_text("".join(f"build-{i}/**/*.o\n!keep-{i}.txt\n" for i in range(n // 2)))
    for i in range(200):
        sub = d / f"svc{i}"
        sub.mkdir()
        (sub / "Dockerfile").write_text("FROM debian:12\nUSER 10001\n")


def deep_interpolation(d: Path, n: int) -> None:
    value = "${A:-" * n + "x" + "}" * n
    (d / "compose.yaml").write_text(f"services:\n  web:\n    image: 'example/web:{value}'\n")


def doubling_env(d: Path, n: int) -> None:
    """n variables, each twice the previous: 2**n characters if expanded without a cap."""
    lines = ["V0=xx"] + [f'V{i}="${{V{i - 1}}}${{V{i - 1}}}"' for i in range(1, n)]
    (d / ".env").write_text("\n".join(lines) + "\n")
    (d / "compose.yaml").write_text(f"services:\n  web:\n    image: 'example/web:1'\n    environment:\n"
                                    f"      X: '${{V{n - 1}}}'\n")


CASES: dict[str, tuple[Callable[[Path, int], None], list[int]]] = {
    "Dockerfile lines": (long_dockerfile, [1000, 2000, 4000, 8000, 16000]),
    "stage chain (stages)": (stage_chain, [3250, 6500, 13000, 26000, 52000]),
    ".gitignore patterns": (big_gitignore, [4000, 8000, 16000, 32000, 64000]),
    "${A:-...} depth": (deep_interpolation, [500, 1000, 2000, 3000]),
    ".env doublings": (doubling_env, [20, 30, 40]),
}


def _hwm(pid: int) -> int:
    """VmHWM of a running process in KiB (its own peak RSS since exec), 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def scan_once(root: Path) -> tuple[float, int, dict, int]:
    """(wall seconds, exit code, JSON report, peak RSS in KiB) of one whole `batten scan`. The
    peak is the process's own high-water mark, sampled every 10 ms (ru_maxrss would include
    the memory of this script, which the child inherits until exec)."""
    env = {**os.environ, "BATTEN_NO_CACHE": "1"}
    peak = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "batten", "scan", str(root), "--format", "json",
                                 "--fail-on", "never", "--no-cache"], stdout=out, stderr=subprocess.DEVNULL,
                                env=env)
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        out.seek(0)
        raw = out.read()
    doc = json.loads(raw) if raw.strip().startswith(b"{") else {}
    return elapsed, proc.returncode, doc, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max", type=int, default=None, help="largest size to run (default: all)")
    ap.add_argument("--case", action="append", default=[], help="only these cases (by name prefix)")
    args = ap.parse_args()
    print(f"command: .venv/bin/python bench/bench_hostile_scale.py --runs {args.runs}"
          + (f" --max {args.max}" if args.max else ""))
    print("| case | size | median wall | peak RSS | findings | exit | growth per doubling |")
    print("|---|---|---|---|---|---|---|")
    for name, (make, sizes) in CASES.items():
        if args.case and not any(name.startswith(c) for c in args.case):
            continue
        prev: tuple[int, float] | None = None
        for n in sizes:
            if args.max and n > args.max and name != "${A:-...} depth" and name != ".env doublings":
                continue
            tmp = Path(tempfile.mkdtemp(prefix="batten-scale-"))
            try:
                make(tmp, n)
                times, code, doc, rss = [], 0, {}, 0
                for _ in range(args.runs):
                    t, code, doc, peak = scan_once(tmp)
                    times.append(t)
                    rss = max(rss, peak)
                med = statistics.median(times)
            finally:
                shutil.rmtree(tmp)
            growth = ""
            if prev is not None:
                ratio = n / prev[0]
                growth = f"{(med / prev[1]) ** (1 / max(1e-9, math.log2(ratio))):.2f}"
            prev = (n, med)
            nf = len(doc.get("findings", []))
            print(f"| {name} | {n:,} | {med:.2f} s | {rss // 1024} MiB | {nf} | {code} | {growth} |", flush=True)


if __name__ == "__main__":
    main()
