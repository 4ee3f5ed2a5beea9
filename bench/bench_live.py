#!/usr/bin/env python3
"""Benchmark: list + inspect (in parallel) + judge N running containers (default 200).

Starts the private test engine (tests/support/engine.py: no bridge network, every container
with network "none", busybox imported locally, never pulled), starts N tiny `sleep 3600`
containers, then times, over several runs, what `batten live` does on an engine:

    new DockerGateway -> list_containers() -> inspect_all(workers=8) -> judge_all()

and prints the median. Removes its containers and stops the engine afterwards. Needs root.
Target: under 2 s for 200 containers.

Usage: .venv/bin/python bench/bench_live.py [--containers 200] [--runs 5] [--workers 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from batten.live.endpoint import Endpoint  # noqa: E402
from batten.live.facts import judge_all  # noqa: E402
from batten.live.gateway import DockerGateway, inspect_all  # noqa: E402
from tests.support import engine as engine_support  # noqa: E402


def meminfo_mib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return -1


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="batten live-scan benchmark")
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    reason = engine_support.prerequisites(install=True)
    if reason:
        print(f"bench_live: {reason}", file=sys.stderr)
        return 2

    avail_before = meminfo_mib("MemAvailable")
    t0 = time.perf_counter()
    engine = engine_support.start_engine()
    try:
        print(f"engine up in {time.perf_counter() - t0:.2f}s at {engine.url} (pid {engine.pid})")
        t0 = time.perf_counter()

        def start(i: int) -> None:
            engine.run(name=f"bench-{i:03d}", mem_limit="16m", pids_limit=8)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(start, range(args.containers)))
        started = time.perf_counter() - t0
        shims = engine_support._pids_mentioning(str(engine.root))
        print(
            f"started {args.containers} containers (sleep 3600, network none) in {started:.1f}s; "
            f"engine-side processes {len(shims)}, RSS {rss_mib([*shims, engine.pid]):.0f} MiB; "
            f"MemAvailable {avail_before} -> {meminfo_mib('MemAvailable')} MiB"
        )

        endpoint = Endpoint(url=engine.url, source="--host")
        totals: list[float] = []
        parts: list[tuple[float, float, float]] = []
        n_findings = 0
        for run in range(args.runs):
            t_start = time.perf_counter()
            gw = DockerGateway(endpoint, timeout=30)
            try:
                info = gw.info()
                listed = gw.list_containers()
                t_list = time.perf_counter()
                inspected = inspect_all(gw, [c["Id"] for c in listed], workers=args.workers)
                t_inspect = time.perf_counter()
                findings = judge_all(inspected, info)
                t_end = time.perf_counter()
            finally:
                gw.close()
            assert len(inspected) == args.containers, len(inspected)
            n_findings = len(findings)
            totals.append(t_end - t_start)
            parts.append((t_list - t_start, t_inspect - t_list, t_end - t_inspect))
            print(
                f"  run {run + 1}: {t_end - t_start:.3f}s (connect+info+list {parts[-1][0]:.3f}s, "
                f"inspect {parts[-1][1]:.3f}s, judge {parts[-1][2]:.3f}s) -> {n_findings} findings"
            )
        median = statistics.median(totals)
        med_parts = [statistics.median(p[i] for p in parts) for i in range(3)]
        print()
        print(
            f"RESULT live scan of {args.containers} containers: median {median:.3f}s over {args.runs} runs "
            f"(min {min(totals):.3f}s, max {max(totals):.3f}s; list {med_parts[0]:.3f}s, "
            f"inspect x{args.workers} {med_parts[1]:.3f}s, judge {med_parts[2]:.3f}s); "
            f"target < 2 s: {'met' if median < 2.0 else 'NOT met'}"
        )
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"engine {engine.client.version().get('Version')}"
        )
        print(
            "reproduce: .venv/bin/python bench/bench_live.py "
            f"--containers {args.containers} --runs {args.runs} --workers {args.workers}"
        )
    finally:
        t0 = time.perf_counter()
        engine.stop()
        print(f"removed the containers and stopped the engine in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
