"""Command line: `batten [PATH]` opens the TUI; `batten scan`, `batten fix` and
`batten containers` run headless. Exit codes: 0 fine, 1 findings at/above the threshold or a fix
that could not be applied, 2 usage error or unreadable root."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from batten import __version__
from batten.model import BattenError, UsageError

SUBCOMMANDS = ("scan", "fix", "containers")
FAIL_LEVELS = ("critical", "high", "medium", "low", "info", "never")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as usage errors should
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--host", "-H", metavar="URL", help="engine endpoint (unix://, tcp://, ssh://user@host)")
    g.add_argument("--context", "-c", metavar="NAME", help="docker context to use")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    if command == "scan":
        p = _Parser(prog="batten scan", description="Scan Dockerfiles and compose files; report findings.")
        p.add_argument("paths", nargs="*", metavar="PATH", help="a directory or files (default: .)")
        p.add_argument("--format", "-f", choices=("text", "json", "sarif"), default="text")
        p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
        p.add_argument("--fail-on", choices=FAIL_LEVELS, default=None,
                       help="exit 1 when a finding is at or above this severity (default: high)")
        p.add_argument("--show-suppressed", action="store_true", help="list suppressed findings in text output")
        p.add_argument("--live", action="store_true", help="add live container findings and drift")
        p.add_argument("--all", action="store_true", help="with --live: include stopped containers")
        p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
        p.add_argument("--no-cache", action="store_true", help="do not read or write the scan cache")
        _engine_args(p)
        return p
    if command == "fix":
        p = _Parser(prog="batten fix", description="Preview fixes as a diff; --write applies them.")
        p.add_argument("paths", nargs="*", metavar="PATH", help="a directory or files (default: .)")
        p.add_argument("--rule", action="append", default=[], metavar="ID", help="only findings of this rule (repeatable; globs ok)")
        p.add_argument("--write", action="store_true", help="apply the fixes (default: print the diff only)")
        p.add_argument("--unsafe", action="store_true", help="also apply behaviour-changing fixes")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="value for a fix parameter")
        p.add_argument("--undo", action="store_true", help="revert the last write")
        p.add_argument("--force", action="store_true", help="also write read-only (0444) files")
        p.add_argument("--live", action="store_true",
                       help="take needs-input defaults from the running containers of each service")
        p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
        _engine_args(p)
        return p
    if command == "containers":
        p = _Parser(prog="batten containers", description="Inspect the containers running on a Docker engine.")
        _engine_args(p)
        p.add_argument("--all", "-a", action="store_true", help="include stopped containers")
        p.add_argument("--format", "-f", choices=("text", "json", "sarif"), default="text")
        p.add_argument("--project", metavar="PATH", help="tie containers to this project's compose services")
        p.add_argument("--timeout", type=float, default=5.0, help="seconds per engine call (default 5)")
        p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
        return p
    p = _Parser(
        prog="batten",
        description="Interactive container-hardening assistant. Subcommands: scan, fix, containers.",
        epilog="Run `batten scan --help`, `batten fix --help` or `batten containers --help` for headless use.",
    )
    p.add_argument("path", nargs="?", default=".", metavar="PATH", help="project directory (default: .)")
    p.add_argument("--guided", action="store_true", help="start a guided remediation session")
    p.add_argument("--read-only", action="store_true", help="never write files (preview only)")
    p.add_argument("--no-engine", action="store_true", help="do not connect to a Docker engine")
    p.add_argument("--version", action="version", version=f"batten {__version__}")
    _engine_args(p)
    return p


def _color(choice: str, stream: object) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def cmd_scan(args: argparse.Namespace) -> int:
    from batten.report import to_json, to_sarif, to_text
    from batten.scan import scan, threshold_hit

    paths = args.paths or ["."]
    result = scan(paths, detached=True, use_cache=not args.no_cache)
    if args.live:
        from batten.live_scan import add_live

        add_live(result, host=args.host, context=args.context, include_all=args.all)
    findings = result.findings + result.live
    stream = sys.stdout
    if args.format == "json":
        text = to_json(findings, result.files())
    elif args.format == "sarif":
        text = to_sarif(findings, result.project.root)
    else:
        color = _color(args.color, stream) and not args.output
        text = to_text(findings, result.files(), color=color, show_suppressed=args.show_suppressed,
                       elapsed=result.elapsed)
    _emit(text, args.output)
    fail_on = args.fail_on or result.config.fail_on or "high"
    result.findings = findings
    return 1 if threshold_hit(result, fail_on) else 0


def _emit(text: str, output: str | None) -> None:
    if output:
        from batten.fsio import WriteRefused, write_file

        try:
            write_file(output, text.encode("utf-8", errors="surrogateescape"))
        except WriteRefused as exc:
            raise UsageError(str(exc)) from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def cmd_fix(args: argparse.Namespace) -> int:
    from batten.fix_cli import run_fix

    return run_fix(args)


def cmd_containers(args: argparse.Namespace) -> int:
    from batten.live_scan import run_containers

    return run_containers(args)


def cmd_tui(args: argparse.Namespace) -> int:
    if not os.path.exists(args.path):
        raise UsageError(f"{args.path}: no such file or directory")
    from batten.tui.factory import run_app

    return run_app(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv[1:] if command else argv)
        if command == "scan":
            return cmd_scan(args)
        if command == "fix":
            return cmd_fix(args)
        if command == "containers":
            return cmd_containers(args)
        return cmd_tui(args)
    except UsageError as exc:
        print(f"batten: error: {exc}", file=sys.stderr)
        return 2
    except BattenError as exc:
        print(f"batten: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
