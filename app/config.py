"""Project configuration: `[tool.batten]` in pyproject.toml or the top level of `.batten.toml`.

Found like ruff finds its own: from each scanned path up through its parent directories, the
first `.batten.toml`, or `pyproject.toml` with a `[tool.batten]` table, wins; the walk stops at
the repository's top (the directory holding `.git`). `--config FILE` names one instead. Paths in
the config (`exclude`, `per-path-ignores`, `baseline`) are relative to the config file's directory.

```toml
[tool.batten]
select = ["*"]                       # rule ids or globs to run (default: all)
ignore = ["image.not-minimal"]       # rule ids or globs to skip
fail-on = "high"                     # default threshold of `batten scan`
exclude = ["vendor/**", "*.generated.yaml"]  # paths discovery skips (globs; bare names match anywhere)
baseline = ".batten-baseline.json"  # findings recorded by `batten scan --write-baseline`
trusted-registries = ["docker.io", "ghcr.io/acme"]  # image.untrusted-registry: images from elsewhere

[tool.batten.severity]               # per-rule severity overrides
"limits.cpu" = "medium"

[[tool.batten.per-path-ignores]]     # suppress rules for paths, with a reason (required)
paths = ["legacy/**"]
rules = ["user.missing"]
reason = "legacy image, replaced by services/api"

[tool.batten.fix]                    # defaults for fix parameters
uid = "10001"
gid = "10001"
memory = "512M"

[tool.batten.keys]                   # TUI key remapping: binding id -> keys
fix = "f,F"
```
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field, replace
from typing import Any

from batten.fsio import read_regular
from batten.model import Finding, Severity, UsageError
from batten.sources.discover import match_path as _match_path

# checklist defaults for fix parameters (the hardening checklist in docs/rules.md)
FIX_DEFAULTS: dict[str, str] = {
    "uid": "10001",
    "gid": "10001",
    "user_name": "app",
    "memory": "512M",
    "cpus": "1.0",
    "memory_reservation": "256M",
    "cpus_reservation": "0.5",
    "pids_limit": "200",
    "tmpfs_paths": "/tmp,/run",
    "tmpfs_options": "noexec,nosuid,nodev,size=64m",
    "bind_ip": "127.0.0.1",
    "log_max_size": "10m",
    "log_max_file": "3",
    "cap_add": "",
    "healthcheck_interval": "30s",
    "healthcheck_timeout": "5s",
    "healthcheck_retries": "3",
    "healthcheck_start_period": "10s",
}

_KNOWN_KEYS = {"select", "ignore", "fail-on", "severity", "per-path-ignores", "fix", "keys", "exclude", "baseline",
               "trusted-registries"}


@dataclass(slots=True)
class PathIgnore:
    paths: list[str]
    rules: list[str]
    reason: str

    def matches(self, path: str, rule_id: str) -> bool:
        return any(_match_path(path, p) for p in self.paths) and any(
            fnmatch.fnmatchcase(rule_id, r) for r in self.rules
        )


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["*"])
    ignore: list[str] = field(default_factory=list)
    fail_on: str = "high"
    severity: dict[str, Severity] = field(default_factory=dict)
    path_ignores: list[PathIgnore] = field(default_factory=list)
    fix: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    baseline: str | None = None  # absolute path of a baseline file
    trusted_registries: list[str] = field(default_factory=list)  # image.untrusted-registry runs when set
    source: str | None = None  # file the config came from
    base: str | None = None  # directory config paths are relative to (the config file's)
    prefix: str = ""  # the scanned project's root relative to `base` ("" when it is `base`)

    def bind(self, root: str) -> None:
        """Match config paths against files of a project rooted at `root`."""
        self.prefix = ""
        if self.base is not None:
            rel = os.path.relpath(os.path.realpath(root), self.base).replace(os.sep, "/")
            if rel != "." and not rel.startswith("../") and rel != "..":
                self.prefix = rel + "/"

    def _rel(self, path: str) -> str:
        return self.prefix + path

    def with_rules(self, select: list[str] | None = None, ignore: list[str] | None = None) -> Config:
        """This config with command-line `--select` (replaces the config's `select`) and `--ignore`
        (added to its `ignore`)."""
        from batten.checks.catalogue import RULES

        out = replace(self)
        if select:
            out.select = _rule_patterns(_split(select), "--select", "command line", RULES)
        if ignore:
            out.ignore = [*self.ignore, *_rule_patterns(_split(ignore), "--ignore", "command line", RULES)]
        return out

    def enabled(self, rule_id: str) -> bool:
        from batten.checks.catalogue import DEFAULT_OFF

        if not any(fnmatch.fnmatchcase(rule_id, s) for s in self.select):
            return False
        if any(fnmatch.fnmatchcase(rule_id, i) for i in self.ignore):
            return False
        # a rule that is off by default runs when `select` names it (not through a bare `*`)
        return rule_id not in DEFAULT_OFF or any(s != "*" and fnmatch.fnmatchcase(rule_id, s) for s in self.select)

    def apply(self, findings: list[Finding]) -> list[Finding]:
        """Findings of selected rules only, severities overridden, per-path ignores marked. A
        finding keeps the severity its check gave it (a rule's default unless the check judged
        this instance worse or milder) unless the config sets that rule's severity."""
        out = []
        for f in findings:
            if not self.enabled(f.rule.id):
                continue
            f.severity = self.severity_for(f.rule.id, f.severity or f.rule.severity)
            pi = self.path_ignore(f.location.path if f.location else None, f.rule.id)
            if pi is not None:
                f.suppressed = f"config: {pi.reason}"
            out.append(f)
        return out

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        return self.severity.get(rule_id, default)

    def path_ignore(self, path: str | None, rule_id: str) -> PathIgnore | None:
        if path is None:
            return None
        path = self._rel(path)
        for pi in self.path_ignores:
            if pi.matches(path, rule_id):
                return pi
        return None

    def fix_value(self, name: str) -> str | None:
        if name in self.fix:
            return self.fix[name]
        return FIX_DEFAULTS.get(name)

    def excluded(self, path: str) -> bool:
        """Is this project-relative path excluded?"""
        path = self._rel(path)
        return any(_match_path(path, p) for p in self.exclude)

    def excludes_file(self, path: str) -> bool:
        """Is this file (named on the command line) excluded? Matched relative to the config's
        directory when it lies below it, else by its name."""
        if not self.exclude:
            return False
        real = os.path.realpath(path)
        rel = os.path.basename(real)
        if self.base is not None and real.startswith(self.base.rstrip(os.sep) + os.sep):
            rel = os.path.relpath(real, self.base).replace(os.sep, "/")
        return any(_match_path(rel, p) for p in self.exclude)


def _split(items: list[str]) -> list[str]:
    """`--select a,b --select c` -> [a, b, c]"""
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _as_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"{where}: '{key}' must be a string or a list of strings")


def _rule_patterns(value: Any, key: str, where: str, known: Any) -> list[str]:
    """A list of rule ids or globs; a plain id (no glob characters) must be a known rule, so a
    typo cannot silently select or ignore nothing."""
    out = _as_list(value, key, where)
    for pat in out:
        if not any(c in pat for c in "*?[") and pat not in known:
            raise UsageError(f"{where}: '{key}' names unknown rule {pat!r} "
                             "(rule ids look like 'user.missing'; globs like 'limits.*' are fine)")
    return out


def parse_config(data: dict[str, Any], where: str) -> Config:
    from batten.checks.catalogue import RULES  # local: config is read before rules run

    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} in batten config")
    cfg = Config(source=where)
    if "select" in data:
        cfg.select = _rule_patterns(data["select"], "select", where, RULES)
    if "ignore" in data:
        cfg.ignore = _rule_patterns(data["ignore"], "ignore", where, RULES)
    if "exclude" in data:
        cfg.exclude = _as_list(data["exclude"], "exclude", where)
    if "baseline" in data:
        if not isinstance(data["baseline"], str) or not data["baseline"].strip():
            raise UsageError(f"{where}: 'baseline' must be a file name")
        cfg.baseline = data["baseline"]
    if "trusted-registries" in data:
        cfg.trusted_registries = [r.strip().rstrip("/").lower()
                                  for r in _as_list(data["trusted-registries"], "trusted-registries", where) if r.strip()]
    if "fail-on" in data:
        fo = str(data["fail-on"]).lower()
        if fo != "never":
            try:
                Severity.parse(fo)
            except ValueError:
                raise UsageError(f"{where}: fail-on must be one of info, low, medium, high, critical, never; "
                                 f"not {data['fail-on']!r}") from None
        cfg.fail_on = fo
    sev = data.get("severity", {})
    if not isinstance(sev, dict):
        raise UsageError(f"{where}: 'severity' must be a table of rule id = severity")
    for rid, value in sev.items():
        if rid not in RULES:
            raise UsageError(f"{where}: severity override for unknown rule {rid!r}")
        try:
            cfg.severity[rid] = Severity.parse(str(value))
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
    for i, entry in enumerate(data.get("per-path-ignores", []) or []):
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: per-path-ignores[{i}] must be a table")
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise UsageError(f"{where}: per-path-ignores[{i}] needs a reason")
        paths = _as_list(entry.get("paths", entry.get("path", [])), "paths", where)
        rules = _rule_patterns(entry.get("rules", entry.get("rule", ["*"])), f"per-path-ignores[{i}].rules",
                               where, RULES)
        if not paths:
            raise UsageError(f"{where}: per-path-ignores[{i}] needs paths")
        cfg.path_ignores.append(PathIgnore(paths, rules, reason))
    fix = data.get("fix", {})
    if not isinstance(fix, dict):
        raise UsageError(f"{where}: 'fix' must be a table of parameter = value")
    cfg.fix = {str(k).replace("-", "_"): str(v) for k, v in fix.items()}
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise UsageError(f"{where}: 'keys' must be a table of binding id = keys")
    cfg.keys = {str(k): str(v) for k, v in keys.items()}
    return cfg


def repo_top(start: str) -> str | None:
    """The nearest directory at or above `start` holding `.git` (a directory or a worktree file)."""
    d = start
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def find_config_file(path: str) -> str | None:
    """The config file governing `path` (a directory or a file): the first `.batten.toml`, or
    `pyproject.toml` with a `[tool.batten]` table, from its directory upwards to the repository
    top (inclusive) or, outside a repository, the filesystem root."""
    start = os.path.realpath(path)
    d = start if os.path.isdir(start) else os.path.dirname(start)
    top = repo_top(d)
    while True:
        dot = os.path.join(d, ".batten.toml")
        if os.path.isfile(dot):
            return dot
        pyproject = os.path.join(d, "pyproject.toml")
        if os.path.isfile(pyproject) and _has_batten_table(pyproject):
            return pyproject
        parent = os.path.dirname(d)
        if d == top or parent == d:
            return None
        d = parent


def _has_batten_table(pyproject: str) -> bool:
    section = _read_toml(pyproject).get("tool", {}).get("batten")
    return isinstance(section, dict)


def load_config_file(path: str) -> Config:
    """Read one config file: `.batten.toml`-style (top-level keys or a `[tool.batten]` table) or
    a pyproject.toml's `[tool.batten]`."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such config file")
    data = _read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        section = data.get("tool", {}).get("batten")
        if not isinstance(section, dict):
            raise UsageError(f"{path}: no [tool.batten] table")
        cfg = parse_config(section, f"{path} [tool.batten]")
    else:
        cfg = parse_config(data.get("tool", {}).get("batten", data) if "tool" in data else data, path)
    cfg.base = os.path.dirname(os.path.realpath(path))
    if cfg.baseline is not None:
        cfg.baseline = os.path.join(cfg.base, cfg.baseline)
    return cfg


def load_config(path: str) -> Config:
    """The config governing `path` (see `find_config_file`), or the defaults."""
    found = find_config_file(path)
    return load_config_file(found) if found is not None else Config()


def config_for(paths: list[str], config_file: str | None = None, select: list[str] | None = None,
               ignore: list[str] | None = None) -> Config:
    """The config of a command: `--config FILE` or the one discovered from the paths, with the
    command line's `--select`/`--ignore` on top."""
    cfg = load_config_file(config_file) if config_file else discover_config(paths)
    return cfg.with_rules(select, ignore) if select or ignore else cfg


def discover_config(paths: list[str]) -> Config:
    """One config for a scan of `paths`, the same whatever their order: the config every path
    finds when they agree, else the one found from their common directory."""
    paths = paths or ["."]
    found = {find_config_file(p) for p in paths}
    if len(found) == 1:
        only = found.pop()
        return load_config_file(only) if only is not None else Config()
    dirs = [os.path.realpath(p) if os.path.isdir(p) else os.path.dirname(os.path.realpath(p)) for p in paths]
    return load_config(os.path.commonpath(dirs))


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, 1 << 20).decode("utf-8"))  # never blocks on a FIFO
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
