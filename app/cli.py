"""Command line: `batten [PATH]` opens the TUI; `batten scan`, `batten fix` and
`batten containers` run headless. Exit codes: 0 fine, 1 findings at/above the threshold or a fix
that could not be applied, 2 usage or environment error (unreadable paths, engine, refused
write), 3 internal error; always one line on stderr, never a traceback (BATTEN_DEBUG=1 shows it)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from batten import __version__
from batten.model import BattenError, UsageError
from batten.sanitize import one_line, safe_line

SUBCOMMANDS = ("scan", "fix", "containers", "image")
FAIL_LEVELS = ("critical", "high", "medium", "low", "info", "never")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as usage errors should
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--host", "-H", metavar="URL", help="engine endpoint (unix://, tcp://, ssh://user@host)")
    g.add_argument("--context", "-c", metavar="NAME", help="docker context to use")


FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")  # batten.report.FORMATS


def _common(p: argparse.ArgumentParser, *, rules: bool = True) -> None:
    """Options every subcommand takes: --version, --config, --color (and rule selection)."""
    p.add_argument("--version", action="version", version=f"batten {__version__}")
    p.add_argument("--config", metavar="FILE",
                   help="read this config file (default: .batten.toml or [tool.batten] found from the paths upwards)")
    if rules:
        p.add_argument("--select", action="append", default=[], metavar="RULE",
                       help="only these rules: ids or globs, repeatable or comma-separated (replaces the config's select)")
        p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                       help="skip these rules: ids or globs (added to the config's ignore)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="auto honours NO_COLOR, FORCE_COLOR and TERM=dumb")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    if command == "scan":
        p = _Parser(prog="batten scan", description="Scan Dockerfiles and compose files; report findings.")
        p.add_argument("paths", nargs="*", metavar="PATH",
                       help="a directory or files (default: .); - reads one file from stdin (see --stdin-filename)")
        p.add_argument("--format", "-f", choices=FORMATS, default="text",
                       help="text, json, sarif (GitHub code scanning), github (workflow annotations), "
                            "gitlab (Code Quality), junit")
        p.add_argument("--output", "-o", metavar="FILE",
                       help="write the report to FILE (`-`: standard output; /dev/stderr and /dev/fd/N are streams too)")
        p.add_argument("--fail-on", choices=FAIL_LEVELS, default=None,
                       help="exit 1 when a finding is at or above this severity (default: the config's fail-on, else high)")
        p.add_argument("--show-suppressed", action="store_true", help="list suppressed findings in text output")
        p.add_argument("--no-suppressed", action="store_true",
                       help="leave suppressed and baselined findings out of every format")
        p.add_argument("--baseline", metavar="FILE", help="report and fail only on findings not recorded in FILE")
        p.add_argument("--write-baseline", metavar="FILE", help="record today's findings in FILE and exit 0")
        p.add_argument("--stdin-filename", metavar="NAME",
                       help="with -: the file's name (picks Dockerfile or compose; paths and config follow it)")
        p.add_argument("--live", action="store_true", help="add live container findings and drift")
        p.add_argument("--all", action="store_true", help="with --live: include stopped containers")
        p.add_argument("--no-cache", action="store_true", help="do not read or write the scan cache")
        p.add_argument("--verbose", "-v", action="store_true",
                       help="text: one line per absent control (default: one line per service or stage)")
        p.add_argument("--skip-unreadable", action="store_true",
                       help="exit by the findings even when some paths could not be read (default: exit 2)")
        _common(p)
        _engine_args(p)
        return p
    if command == "fix":
        p = _Parser(prog="batten fix", description="Preview fixes as a diff; --write applies them.")
        p.add_argument("paths", nargs="*", metavar="PATH", help="a directory or files (default: .)")
        p.add_argument("--rule", action="append", default=[], metavar="ID", help="only findings of this rule (repeatable; globs ok)")
        p.add_argument("--write", action="store_true", help="apply the fixes (default: print the diff only)")
        p.add_argument("--check", action="store_true",
                       help="dry run for CI: exit 1 when fixes are pending, 0 when there are none (no diff)")
        p.add_argument("--quiet", "-q", action="store_true", help="no diff and no summary tables: problems and one line")
        p.add_argument("--verbose", "-v", action="store_true",
                       help="also list each fix applied and why a rule's fix does not apply where it does not")
        p.add_argument("--unsafe", action="store_true", help="also apply behaviour-changing fixes")
        p.add_argument("--accept-defaults", action="store_true",
                       help="apply needs-input fixes with checklist defaults where no value was given or observed")
        p.add_argument("--trial", action="store_true",
                       help="start each changed service as fixed and as it is in throwaway containers "
                            "(network none, label batten.trial=1, removed after); write no fix whose trial fails")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="value for a fix parameter")
        p.add_argument("--undo", action="store_true", help="revert the last write")
        p.add_argument("--force", action="store_true", help="also write read-only (0444) files")
        p.add_argument("--live", action="store_true",
                       help="take needs-input defaults from the running containers of each service")
        _common(p)
        _engine_args(p)
        return p
    if command == "containers":
        p = _Parser(prog="batten containers", description="Inspect the containers running on a Docker engine.")
        _engine_args(p)
        p.add_argument("--all", "-a", action="store_true", help="include stopped containers")
        p.add_argument("--format", "-f", choices=("text", "json", "sarif"), default="text")
        p.add_argument("--project", metavar="PATH", help="tie containers to this project's compose services")
        p.add_argument("--timeout", type=float, default=5.0, help="seconds per engine call (default 5)")
        _common(p, rules=False)
        return p
    if command == "image":
        p = _Parser(prog="batten image", description="Check an image on a Docker engine (read-only, "
                    "never pulled): its config, users, setuid files and leftovers, read from its export.")
        p.add_argument("name", metavar="NAME", help="image reference or id, as the engine knows it")
        _engine_args(p)
        p.add_argument("--format", "-f", choices=("text", "json", "sarif"), default="text")
        p.add_argument("--timeout", type=float, default=5.0, help="seconds per engine call (default 5)")
        p.add_argument("--deadline", type=float, default=120.0, help="seconds for reading the image (default 120)")
        _common(p, rules=False)
        return p
    p = _Parser(
        prog="batten",
        description="Interactive container-hardening assistant. Subcommands: scan, fix, containers, image.",
        epilog="Run `batten scan --help`, `batten fix --help` or `batten containers --help` for headless use.",
    )
    p.add_argument("path", nargs="?", default=".", metavar="PATH", help="project directory (default: .)")
    p.add_argument("--guided", action="store_true", help="start a guided remediation session")
    p.add_argument("--read-only", action="store_true", help="never write files (preview only)")
    p.add_argument("--no-engine", action="store_true", help="do not connect to a Docker engine")
    p.add_argument("--version", action="version", version=f"batten {__version__}")
    p.add_argument("--config", metavar="FILE",
                   help="read this config file (default: .batten.toml or [tool.batten] found from PATH upwards)")
    _engine_args(p)
    return p


def cmd_scan(args: argparse.Namespace) -> int:
    from batten.baseline import apply_baseline, read_baseline, write_baseline
    from batten.config import config_for
    from batten.report import ReportContext, render, report_top, use_color
    from batten.scan import scan, threshold_hit

    paths = args.paths or ["."]
    stdin_dir = None
    if "-" in paths:
        stdin_dir, paths = _stdin_file(paths, args.stdin_filename)
    elif args.stdin_filename:
        raise UsageError("--stdin-filename goes with - (the file read from standard input)")
    try:
        where = [_stdin_home(args.stdin_filename)] if stdin_dir else paths
        config = config_for(where, args.config, args.select, args.ignore)
        result = scan(paths, config=config, detached=True, use_cache=not args.no_cache and stdin_dir is None,
                      stdin_root=stdin_dir)
        if args.live:
            from batten.live_scan import add_live

            add_live(result, host=args.host, context=args.context, include_all=args.all)
        findings = result.findings + result.live
        ctx = ReportContext.for_project(result.project, result.config, elapsed=result.elapsed,
                                        show_suppressed=args.show_suppressed,
                                        include_suppressed=not args.no_suppressed, verbose=args.verbose)
        if stdin_dir is not None:  # paths name the file as if it lay in the current directory
            ctx.root = os.path.realpath(os.getcwd())
            ctx.top = report_top(ctx.root)
        if args.write_baseline:
            n = write_baseline(args.write_baseline, findings, ctx.fingerprints(findings), ctx.path)
            print(f"batten: recorded {n} finding(s) in {args.write_baseline}", file=sys.stderr)
            return 0
        baseline = args.baseline or result.config.baseline
        if baseline:
            apply_baseline(findings, ctx.fingerprints(findings), read_baseline(baseline))
        ctx.color = args.format == "text" and not args.output and use_color(args.color, sys.stdout)
        text = render(args.format, findings, result.files(), ctx)
    finally:
        if stdin_dir is not None:
            import shutil

            shutil.rmtree(stdin_dir, ignore_errors=True)
    _emit(text, args.output)
    for note in ctx.notes:
        print(f"batten: note: {note}", file=sys.stderr)
    unreadable = result.project.unreadable
    if unreadable and not args.skip_unreadable:  # a scan that could not see everything is not a pass
        shown = ", ".join(safe_line(p) for p in unreadable[:3]) + (", ..." if len(unreadable) > 3 else "")
        print(f"batten: {len(unreadable)} path(s) could not be read ({shown}); exit 2 "
              "(--skip-unreadable to accept that)", file=sys.stderr)
        return 2
    fail_on = args.fail_on or result.config.fail_on or "high"
    result.findings = findings
    return 1 if threshold_hit(result, fail_on) else 0


def _stdin_home(name: str) -> str:
    """Where a file read from stdin would live: its config is found from there."""
    d = os.path.dirname(os.path.abspath(name))
    return d if os.path.isdir(d) else "."


def _stdin_file(paths: list[str], name: str | None) -> tuple[str, list[str]]:
    """`scan -`: standard input saved as NAME in a private directory, scanned as that file."""
    import tempfile

    from batten.sources.text import MAX_BYTES

    if paths != ["-"]:
        raise UsageError("- (standard input) cannot be combined with other paths")
    if not name:
        raise UsageError("scan - needs --stdin-filename NAME (e.g. Dockerfile or compose.yaml) to know what it reads")
    rel = os.path.normpath(name.replace("\\", "/")).lstrip("/")
    if rel in ("", ".") or rel.startswith(".."):
        rel = os.path.basename(name) or "Dockerfile"
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    tmp = tempfile.mkdtemp(prefix="batten-stdin-")
    from batten.fsio import write_file

    write_file(rel, data, root=tmp, create_dirs=True)  # the one writer, inside the private directory
    return tmp, [os.path.join(tmp, rel)]


# outputs that are not files: `-` (stdout), the null device, and the streams a shell hands over
# (`--output /dev/stderr`, `--output >(gzip > r.gz)` as /dev/fd/N); any other path is a file,
# written by the one writer (a device or FIFO planted at that path is refused)
_STREAMS = re.compile(r"^/dev/(?:std(?:out|err)|null)$|^/dev/fd/\d+$|^/proc/self/fd/\d+$")


def _emit(text: str, output: str | None) -> None:
    data = text.encode("utf-8", errors="surrogateescape")
    if output and _STREAMS.match(output):
        name = output.rsplit("/", 1)[-1]
        if name != "null":
            _write_fd({"stdout": 1, "stderr": 2}.get(name) or int(name), data, output)
    elif output and output != "-":
        from batten.fsio import WriteRefused, write_file

        try:
            write_file(output, data)
        except WriteRefused as exc:
            raise UsageError(str(exc)) from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _write_fd(fd: int, data: bytes, name: str) -> None:
    sys.stdout.flush()
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise UsageError(f"{name}: cannot write: {exc.strerror or exc}") from None


def cmd_fix(args: argparse.Namespace) -> int:
    from batten.fix_cli import run_fix

    return run_fix(args)


def cmd_containers(args: argparse.Namespace) -> int:
    from batten.live_scan import run_containers

    return run_containers(args)


def cmd_tui(args: argparse.Namespace) -> int:
    if not os.path.exists(args.path):
        raise UsageError(f"{args.path}: no such file or directory")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the interactive view needs a terminal on stdin and stdout; "
                         f"for pipes and CI run `batten scan {args.path}`")
    import importlib.util

    if importlib.util.find_spec("textual") is None:  # an install for CI may leave Textual out
        raise UsageError("the interactive view needs Textual (pip install textual); "
                         f"`batten scan {args.path}` works without it")
    from batten.tui.factory import run_app

    return run_app(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    if command is not None:  # a one-shot process: far fewer collections of its many parse objects
        import gc

        gc.set_threshold(100_000, 50, 50)
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv[1:] if command else argv)
        if command == "scan":
            return cmd_scan(args)
        if command == "fix":
            return cmd_fix(args)
        if command == "containers":
            return cmd_containers(args)
        if command == "image":
            from batten.live_scan import run_image

            return run_image(args)
        return cmd_tui(args)
    except UsageError as exc:
        print(f"batten: error: {one_line(exc, 2000)}", file=sys.stderr)
        return 2
    except BattenError as exc:  # the environment: an engine, a file, the state directory
        print(f"batten: {one_line(exc, 2000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk, a permission, a vanished file: one line, exit 2
        where = f": {safe_line(exc.filename)}" if getattr(exc, "filename", None) else ""
        print(f"batten: {one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line and exit 3 (1 means "findings"), the trace on request
        if os.environ.get("BATTEN_DEBUG"):
            import traceback

            traceback.print_exc()
        print(f"batten: internal error: {type(exc).__name__}: {one_line(exc, 300)} "
              "(BATTEN_DEBUG=1 shows where; please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
