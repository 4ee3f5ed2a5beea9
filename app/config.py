"""Project configuration: `[tool.batten]` in pyproject.toml or the top level of `.batten.toml`.

```toml
[tool.batten]
select = ["*"]                       # rule ids or globs to run (default: all)
ignore = ["image.not-minimal"]       # rule ids or globs to skip
fail-on = "high"                     # default threshold of `batten scan`

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
from dataclasses import dataclass, field
from typing import Any

from batten.model import Severity, UsageError
from batten.sources.discover import match_path as _match_path

# checklist defaults for fix parameters (RULES.md / the hardening checklist)
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

_KNOWN_KEYS = {"select", "ignore", "fail-on", "severity", "per-path-ignores", "fix", "keys", "exclude"}


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
    source: str | None = None  # file the config came from

    def enabled(self, rule_id: str) -> bool:
        if not any(fnmatch.fnmatchcase(rule_id, s) for s in self.select):
            return False
        return not any(fnmatch.fnmatchcase(rule_id, i) for i in self.ignore)

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        return self.severity.get(rule_id, default)

    def path_ignore(self, path: str | None, rule_id: str) -> PathIgnore | None:
        if path is None:
            return None
        for pi in self.path_ignores:
            if pi.matches(path, rule_id):
                return pi
        return None

    def fix_value(self, name: str) -> str | None:
        if name in self.fix:
            return self.fix[name]
        return FIX_DEFAULTS.get(name)

    def excluded(self, path: str) -> bool:
        return any(_match_path(path, p) for p in self.exclude)


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


def load_config(root: str) -> Config:
    """Read `.batten.toml` (preferred) or `[tool.batten]` of pyproject.toml under `root`."""
    root = root if os.path.isdir(root) else os.path.dirname(root) or "."
    dot = os.path.join(root, ".batten.toml")
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(dot):
        data = _read_toml(dot)
        return parse_config(data.get("tool", {}).get("batten", data) if "tool" in data else data, dot)
    if os.path.isfile(pyproject):
        data = _read_toml(pyproject)
        section = data.get("tool", {}).get("batten")
        if isinstance(section, dict):
            return parse_config(section, f"{pyproject} [tool.batten]")
    return Config()


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
