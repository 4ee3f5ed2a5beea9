#!/usr/bin/env python3
"""Benchmark: how safe are the fixes batten offers, and how do trial runs go.

1. Over the corpus as ONE root (../shared/corpus): every fix planned for a finding (as `batten
   fix` plans it, no values given), counted once per fixer, file and target, by applicability:
   safe, needs-input with every value from evidence (applied by plain `fix --write`),
   needs-input waiting for a value (a checklist default: `--set`/config/`--live` or
   `--accept-defaults`), unsafe (`--unsafe`). Healthcheck findings with no probe known are
   counted apart (no fix, no guessed command).
2. Trial runs on the private test engine (tests/support/engine.py: no bridge, network none,
   images built locally from busybox, never pulled): a project of local services that behave
   like real ones (a server, a service writing below /data, one chowning at start, one with its
   own HEALTHCHECK) through `batten fix --trial --unsafe --accept-defaults`: services tried,
   passed, failed (held back, with a remedy), inconclusive; then again with the remedies given.
   The corpus's own images are not on an engine without a registry, and batten never pulls:
   they are counted as "not tried".

Usage: .venv/bin/python bench/bench_fix_safety.py [--no-engine]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = REPO.parent / "shared" / "corpus"

from batten.fixers.safety import waits_for_input  # noqa: E402
from batten.model import Applicability  # noqa: E402
from batten.scan import scan  # noqa: E402


def corpus_counts() -> None:
    t = time.perf_counter()
    result = scan([str(CORPUS)])
    seen: set[tuple[object, ...]] = set()
    kinds: Counter[str] = Counter()
    by_fix: dict[str, Counter[str]] = {}
    no_probe = 0
    for f in result.findings:
        if f.suppressed:
            continue
        if f.fix is None:
            if f.rule.id in ("health.missing-compose", "health.missing-dockerfile"):
                no_probe += 1
            continue
        if f.fix.applicability == Applicability.SAFE:
            kind = "safe"
        elif f.fix.applicability == Applicability.UNSAFE:
            kind = "unsafe"
        else:
            kind = "needs-input: waits for a value" if waits_for_input(f.fix) else "needs-input: values from evidence"
        # one remedy for several findings counts once; a split one (co.limits: the memory limit
        # from a declared heap, the CPU limit waiting for a value) counts once per kind
        key = (f.fix.id, f.path or "", f.target or "", kind)
        if key in seen:
            continue
        seen.add(key)
        kinds[kind] += 1
        by_fix.setdefault(f.fix.id, Counter())[kind] += 1
    total = sum(kinds.values())
    print(f"$ .venv/bin/python bench/bench_fix_safety.py   # corpus {CORPUS} as one root, "
          f"{len(result.project.files)} files, {time.perf_counter() - t:.1f} s")
    print(f"fixes offered: {total}")
    for kind in ("safe", "needs-input: values from evidence", "needs-input: waits for a value", "unsafe"):
        print(f"  {kind:<36} {kinds[kind]:>5}  ({100 * kinds[kind] / max(total, 1):.0f} %)")
    print(f"healthcheck findings with no probe known (no fix, no guessed command): {no_probe}")
    print("by fixer:", ", ".join(f"{fid} " + "/".join(f"{k.split(':')[-1].strip()} {n}" for k, n in c.items())
                                 for fid, c in sorted(by_fix.items())))
    images = {svc.image for cp in result.project.compose_projects for svc in cp.services.values() if svc.image}
    print(f"trial runs over the corpus: 0 of {len(images)} distinct service images on the engine "
          "(no registry here, batten never pulls): not tried")


WRITER = """FROM batten-test/busybox:1
CMD ["sh", "-c", "mkdir -p /data/cache && echo ok > /data/cache/state && exec sleep 3600"]
"""
CHOWNER = """FROM batten-test/busybox:1
CMD ["sh", "-c", "mkdir -p /tmp/run && chown 10001 /tmp/run && exec sleep 3600"]
"""
OWN_HEALTH = """FROM batten-test/busybox:1
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["true"]
CMD ["httpd", "-f", "-p", "8080"]
"""
PROJECT = """services:
  web:
    image: batten-test/busybox:1
    command: ["httpd", "-f", "-p", "8080"]
  worker:
    image: batten-test/busybox:1
    command: ["sh", "-c", "while true; do echo tick > /tmp/beat; sleep 1; done"]
  writer:
    image: batten-test/writer:1
  chowner:
    image: batten-test/chowner:1
  health:
    image: batten-test/own-health:1
  remote:
    image: ghcr.io/example/not-here:1
"""


def trials() -> None:
    from batten.cli import main
    from tests.support import engine as engine_support

    reason = engine_support.prerequisites(install=False)
    if reason:
        print(f"trial runs: skipped ({reason})")
        return
    engine = engine_support.start_engine()
    try:
        engine.build("batten-test/writer:1", WRITER)
        engine.build("batten-test/chowner:1", CHOWNER)
        engine.build("batten-test/own-health:1", OWN_HEALTH)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "compose.yaml").write_text(PROJECT)
            remedies: list[str] = []
            for label, extra in (("first run", []),
                                 ("with the remedies the first run proposed", None)):
                if extra is None:
                    extra = remedies
                err = io.StringIO()
                t = time.perf_counter()
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    main(["fix", tmp, "--unsafe", "--accept-defaults", "--trial", "--host", engine.url,
                          "--color", "never", *extra])
                elapsed = time.perf_counter() - t
                text = err.getvalue()
                lines = [ln for ln in text.splitlines() if ln.startswith(("trial:", "  ", "    "))]
                summary = next((ln for ln in lines if ln.startswith("trial:")), "trial: -")
                print(f"\n$ batten fix PROJECT --unsafe --accept-defaults --trial {' '.join(extra)}  # {label}, "
                      f"{elapsed:.1f} s")
                print(summary)
                for ln in lines:
                    if ln.startswith("  ") and ("FAILED" in ln or "passed" in ln or "inconclusive" in ln
                                                or "not tried" in ln or "remedy" in ln or "not written" in ln):
                        print(ln)
                remedies = [w for ln in text.splitlines() if "(--set " in ln
                            for w in ("--set", ln.split("(--set ", 1)[1].rstrip(")"))]
            left = engine.client.containers.list(all=True, filters={"label": "batten.trial"})
            print(f"trial containers left on the engine: {len(left)}")
    finally:
        engine.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-engine", action="store_true")
    args = ap.parse_args()
    corpus_counts()
    if not args.no_engine:
        trials()


if __name__ == "__main__":
    main()
