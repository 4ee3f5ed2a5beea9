"""`batten fix`: print the diff of the selected fixes; with --write apply them atomically."""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections import Counter
from collections.abc import Callable

from batten.config import Config
from batten.fixers.apply import (
    CheckerScan,
    Outcome,
    Progress,
    Selector,
    fix_all,
    known_secrets,
    selector,
)
from batten.fixers.write import (
    JournalError,
    WriteRefused,
    interrupted_message,
    interrupted_write,
    undo_last,
    write_files,
)
from batten.model import Applicability, Finding, UsageError
from batten.sanitize import one_line, safe_line
from batten.scan import ScanResult, scan

_DIFF_COLORS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}


def _parse_sets(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected NAME=VALUE")
        k, _, v = item.partition("=")
        values[k.strip().replace("-", "_")] = v
    return values


def checked_sets(values: dict[str, str], config: Config) -> dict[str, str]:
    """--set values validated and normalised (the validators the TUI form uses), and checked
    against the other values in force (a reservation above its limit): UsageError otherwise."""
    from batten.fixers.params import ParamError, validate_all
    from batten.fixers.plan import _load
    from batten.fixers.registry import REGISTRY, resolve_values

    _load()
    try:
        values = validate_all(values)
        for spec in REGISTRY.values():
            if any(p.name in values for p in spec.params):
                resolve_values(spec, config, values)
    except ParamError as exc:
        raise UsageError(f"--set {exc}") from None
    return values


def _colorize(diff: str, color: bool) -> str:
    if not color:
        return diff
    out = []
    for line in diff.splitlines(keepends=True):
        head = line[:1]
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line.rstrip(chr(10))}\x1b[0m\n")
        elif head in _DIFF_COLORS:
            out.append(f"{_DIFF_COLORS[head]}{line.rstrip(chr(10))}\x1b[0m\n")
        else:
            out.append(line)
    return "".join(out)


def live_evidence(result: ScanResult, paths: list[str], host: str | None,
                  context: str | None) -> Callable[[Finding], dict[str, str] | None] | None:
    """A function giving each compose finding the defaults observed on its service's running
    container (tmpfs paths written, ports below 1024, memory/CPU in use, users), or None. The
    same session logic as the TUI's fix dialog (batten.session)."""
    from batten.live_scan import make_gateway
    from batten.model import BattenError
    from batten.scan import resolve_root
    from batten.session import Session

    try:
        gw = make_gateway(host, context)
    except BattenError as exc:
        print(f"batten: live evidence unavailable: {one_line(exc)} (checklist defaults used)", file=sys.stderr)
        return None
    session = Session(root=resolve_root(paths), paths=paths, config=result.config, result=result)
    try:
        problems = session.collect_evidence(gw)
    finally:
        gw.close()
    for line in problems:
        print(f"batten: {one_line(line)}", file=sys.stderr)
    if session.snapshot is None or session.snapshot.error:
        return None
    if session.evidence:
        names = ", ".join(one_line(n) for n in session.evidence_sources())
        print(f"batten: live evidence from the running containers of: {names}", file=sys.stderr)
    return session.evidence_for


def run_fix(args: argparse.Namespace) -> int:
    from batten.config import config_for
    from batten.report import safe_text, use_color

    paths = args.paths or ["."]
    color = use_color(args.color, sys.stdout)
    if args.undo:
        return _undo(paths)
    if args.check and args.write:
        raise UsageError("--check is a dry run: it cannot be combined with --write")
    if args.quiet and args.verbose:
        raise UsageError("--quiet and --verbose contradict each other")
    values = _parse_sets(args.set)
    check_rules(args.rule)
    checks = CheckerScan()
    result = scan(paths, config=config_for(paths, args.config, args.select, args.ignore), checks=checks)
    pending = interrupted_write(result.project.root)
    if pending is not None:
        print(f"batten: {one_line(interrupted_message(pending))}", file=sys.stderr)
    values = checked_sets(values, result.config)
    from batten.fixers.safety import behaviour_lines, gate, pending_lines

    everything = selector(args.rule or None, unsafe=args.unsafe)
    accept = getattr(args, "accept_defaults", False)
    pick = gate(everything, accept)
    evidence = live_evidence(result, paths, args.host, args.context) if args.live else None
    outcome, trial_lines = _fix_outcome(args, result, pick, values, evidence, checks)
    diff = outcome.diff(known_secrets(result.project, result.findings))
    if diff and not (args.quiet or args.check):
        sys.stdout.write(_colorize(safe_text(diff), color))
    _print_problems(args, result, outcome, trial_lines)
    lines: list[str] = []
    if not args.quiet:
        lines = pending_lines(result.findings, everything, accept) + behaviour_lines(outcome.applied, written=args.write)
        lines += summary_lines(outcome, verbose=args.verbose)
        if args.verbose:
            lines += declined_lines(result.findings, everything)
        if diff and lines and not args.check:
            lines.insert(0, "")  # the report apart from the diff
    return _finish(args, result, outcome, lines)


def _undo(paths: list[str]) -> int:
    """`fix --undo`: restore what the last write changed."""
    from batten.scan import resolve_root

    root = resolve_root(paths)
    try:
        restored = undo_last(root)
    except (WriteRefused, JournalError) as exc:
        print(f"batten: {one_line(exc)}", file=sys.stderr)
        return 2
    print(f"restored {len(restored)} file(s): {', '.join(safe_line(p) for p in restored)}")
    return 0


def _fix_outcome(
    args: argparse.Namespace,
    result: ScanResult,
    pick: Selector,
    values: dict[str, str],
    evidence: Callable[[Finding], dict[str, str] | None] | None,
    checks: CheckerScan,
) -> tuple[Outcome, list[str]]:
    """Plan, apply and verify the picked fixes (with trial runs on the engine when asked), under
    a progress line: the outcome and the trial's report lines."""
    with ProgressLine(sys.stderr, enabled=not args.quiet) as progress:
        if getattr(args, "trial", False) or args.live:  # the engine also tells what the images hold
            from batten.trial import run_trials

            return run_trials(result, pick, values, evidence, args.host, args.context,
                              trial=getattr(args, "trial", False), progress=progress.update)
        return fix_all(result.project, result.config, pick, values, evidence,
                       findings=result.findings, progress=progress.update,
                       planned=not values and evidence is None, checker=checks.checker), []


def _print_problems(args: argparse.Namespace, result: ScanResult, outcome: Outcome, trial_lines: list[str]) -> None:
    """One line on stderr for each fix asked for by --rule that declines, each fix that could
    not be applied or verified, and each trial line."""
    from batten.report import safe_text

    err = sys.stderr
    if args.rule and not args.verbose:  # a remedy asked for by --rule that declines says why
        for finding in result.findings:
            if finding.no_fix and not finding.suppressed and \
                    any(fnmatch.fnmatchcase(finding.rule.id, r) for r in args.rule):
                print(f"batten: not fixed: {finding.rule.id} [{safe_line(finding.target or finding.path or '')}]: "
                      f"{one_line(finding.no_fix)}", file=err)
    for finding, reason in outcome.failed:
        print(f"batten: could not apply {finding.fix.id if finding.fix else finding.rule.id} "
              f"for {finding.rule.id} [{safe_line(finding.target or finding.path or '')}]: {one_line(reason)}",
              file=err)
    for finding, reason in outcome.pending:
        print(f"batten: not applied: {finding.rule.id} [{safe_line(finding.target or finding.path or '')}] in "
              f"{safe_line(finding.path or '')}: {one_line(reason)}", file=err)
    for line in trial_lines:
        print(safe_text(line), file=err)


def _finish(args: argparse.Namespace, result: ScanResult, outcome: Outcome, lines: list[str]) -> int:
    """The summary line and the exit code; with --write, the write (a refused write is one line
    and exit 2, and the report `lines` come after the write)."""
    from batten.report import safe_text

    err = sys.stderr

    def report() -> None:
        for line in lines:
            print(safe_text(line), file=err)
    skipped_unsafe = [f for f in result.findings if f.fix is not None and not f.suppressed
                      and f.fix.applicability == Applicability.UNSAFE and not args.unsafe
                      and (not args.rule or selector(args.rule, unsafe=True)(f))]
    n = len({id(fx) for _f, fx in outcome.applied})
    changed = sorted(p for p, c in outcome.changes.items() if c.before != c.after or c.created)
    summary = f"{n} fix(es) for {len(outcome.applied)} finding(s) in {len(changed)} file(s)"
    if skipped_unsafe:
        summary += f"; {len(skipped_unsafe)} behaviour-changing fix(es) need --unsafe"
    if outcome.failed or outcome.pending:
        summary += f"; {len(outcome.failed) + len(outcome.pending)} not applied (see above)"
    if args.check:
        report()
        print(f"{summary} (check: {'fixes pending' if changed else 'nothing to fix'})", file=err)
        return 1 if changed or outcome.failed or outcome.pending else 0
    if not args.write:
        report()
        print(f"{summary} (preview; nothing written: add --write)", file=err)
        return 1 if outcome.failed or outcome.pending else 0
    texts = {p: outcome.changes[p].after for p in changed}
    try:
        written = write_files(result.project, texts, force=args.force)
    except (WriteRefused, JournalError) as exc:
        print(f"batten: {one_line(exc)}", file=err)
        return 2
    report()
    what = f"wrote {len(written)} file(s) (undo: batten fix --undo)" if written else "wrote nothing"
    print(f"{summary}; {what}", file=err)
    return 1 if outcome.failed or outcome.pending else 0


def check_rules(patterns: list[str]) -> None:
    """--rule takes rule ids, fix ids or globs; one that names nothing is a usage error (a typo
    must not silently fix nothing)."""
    import fnmatch

    from batten.checks.catalogue import RULES
    from batten.fixers.plan import _load
    from batten.fixers.registry import REGISTRY

    _load()
    for pat in patterns:
        if not any(fnmatch.fnmatchcase(rid, pat) for rid in RULES) and not any(
                fnmatch.fnmatchcase(fid, pat) for fid in REGISTRY):
            raise UsageError(f"--rule {pat!r}: no rule or fix id matches it "
                             "(rule ids look like 'user.missing'; globs like 'limits.*' are fine)")


def summary_lines(outcome: Outcome, *, verbose: bool = False) -> list[str]:
    """Counts by rule and by file (one path per line); with `verbose`, every fix applied."""
    if not outcome.applied:
        return []
    by_rule = Counter(f.rule.id for f, _fx in outcome.applied)
    by_file: Counter[str] = Counter()
    for _f, fx in {id(fx): (_f, fx) for _f, fx in outcome.applied}.values():
        for path in {e.path for e in fx.edits}:
            by_file[path] += 1
    width = max(len(r) for r in by_rule)
    out = ["fixes by rule:"]
    out += [f"  {rid:<{width}}  {n}" for rid, n in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))]
    out.append("files changed:")
    for path in sorted(by_file):
        c = outcome.changes.get(path)
        note = " (new)" if c is not None and c.created else ""
        out.append(f"  {path}  {by_file[path]} fix(es){note}")
        if verbose:
            out += [f"    {fx.id} for {f.rule.id} [{f.target or f.path}]" + (f" line {f.line}" if f.line else "")
                    for f, fx in outcome.applied if path in {e.path for e in fx.edits}]
    return out


def declined_lines(findings: list[Finding], pick: Callable[[Finding], bool]) -> list[str]:
    """Findings of the selected rules whose fix declines this instance, with the fixer's reason."""
    wants = getattr(pick, "wants", None)
    out = [f"  {f.rule.id} [{f.target or f.path}] in {f.path}: {f.no_fix}" for f in findings
           if f.no_fix and not f.suppressed and (wants is None or wants(f))]
    return ["no automatic fix for these (the reason):", *out] if out else []


class ProgressLine:
    """A progress line on a terminal (files, fixes verified, an ETA) for runs longer than about a
    second; nothing when the stream is not a terminal."""

    DELAY = 1.0

    def __init__(self, stream, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.shown = False

    def __enter__(self) -> ProgressLine:
        return self

    def update(self, p: Progress) -> None:
        if not self.enabled or p.elapsed < self.DELAY or p.phase == "done":
            return
        eta = p.eta
        line = (f"batten: fixing, round {p.round}: {p.verified} fix(es) verified, {p.pending} to go, "
                f"{p.touched}/{p.files} file(s) changed" + (f", about {eta:.0f}s left" if eta else ""))
        self.stream.write("\r\x1b[K" + line[:200])
        self.stream.flush()
        self.shown = True

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
