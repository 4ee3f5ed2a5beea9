"""Scaffold a new rule: its catalogue entry, a check that does not fire yet, and a test that says so.

    .venv/bin/python scripts/add_rule.py --id health.interval-long --kind compose --area health \
        --severity low --title "Healthcheck interval over five minutes"

writes
  - the `_r(...)` entry in app/checks/catalogue.py, after the last rule of the same area;
  - `_<name>` in app/checks/dockerfile_rules.py or compose_rules.py, registered in `_CHECKS`
    (its condition is a placeholder: it never fires);
  - tests/test_rule_<name>.py: fires / stays quiet / can be suppressed. The first test fails
    until the check is written, which is the point: make it pass;
  - docs/rules.md, regenerated;
  - with --fix df.<name>|co.<name>: `fix=` in the catalogue entry, a fixer in
    fixers/dockerfile_fixes.py or compose_fixes.py that takes the site the check hands over
    (`ctx.site`) and declines until written, and its data case under tests/fixers/cases/
    (before/ the weak file, after/ what the fix must write: fill it in).
Then fill in the rationale, the condition and the test's Dockerfile or compose file, and see
CONTRIBUTING.md ("Adding a rule"). Modelled on ruff's scripts/add_rule.py.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AREAS = ("user", "capabilities", "filesystem", "secrets", "images", "health", "network", "resources",
         "supply chain", "logging", "input")
SEVERITIES = {"critical": "C", "high": "H", "medium": "M", "low": "L", "info": "I"}
KINDS = {"dockerfile": ("DF", "dockerfile_rules.py"), "compose": ("CO", "compose_rules.py")}


# what the scaffolded check hands its fixer (batten.checks.sites), and how the fixer reads it
SITES = {
    "dockerfile": ("InstructionSite", "InstructionSite(stage, ins)",
                   "doc, ins = _doc(ctx), ctx.site.ins  # the file to edit, the instruction judged\n"
                   "    if ins.heredocs:  # TODO: an instance the fix leaves to a person\n"
                   "        raise NoFix(\"TODO: why, in one line\")\n"
                   "    raise NoFix(f\"TODO: not written yet (doc.edit(start, end, text) on {doc.path})\")"),
    "compose": ("ValueSite", "ValueSite(svc, node)",
                "svc, node = ctx.site.svc, ctx.site.value  # the service and the value judged\n"
                "    if node.file is None:  # TODO: an instance the fix leaves to a person\n"
                "        raise NoFix(\"TODO: why, in one line\")\n"
                "    raise NoFix(f\"TODO: not written yet (edit {svc.name}'s value with fixers/yamledit.py)\")"),
}
WEAK = {"dockerfile": ("Dockerfile", 'FROM alpine:3.20\nCMD ["/app"]\n'),
        "compose": ("compose.yaml", "services:\n  web:\n    image: nginx:1.27\n")}


def _entry(rule_id: str, title: str, sev: str, area: str, kind: str, fix_id: str | None = None) -> str:
    area_name = area.upper().replace(" ", "_")
    fix = f'\n        fix="{fix_id}",' if fix_id else ""
    return f'''    _r(
        "{rule_id}",
        "{title}",
        {SEVERITIES[sev]}, Area.{area_name}, "{KINDS[kind][0]}",
        """TODO: why this matters, in a reviewer's words: what an attacker or an accident gains
        when it is left as it is.""",
        refs={{}},  # other tools' ids for the same check, e.g. {{"hadolint": "DL3000"}}
        remedy="TODO: what to do about it.",{fix}
    ),
'''


def add_to_catalogue(text: str, entry: str, rule_id: str, area: str) -> str:
    if f'"{rule_id}",' in text:
        raise SystemExit(f"add_rule: {rule_id} is already in the catalogue")
    area_name = f"Area.{area.upper().replace(' ', '_')}"
    starts = [m.start() for m in re.finditer(r"^    _r\(\n", text, re.M)]
    ends = [text.index("\n    ),\n", s) + len("\n    ),\n") for s in starts]
    same = [e for s, e in zip(starts, ends, strict=True) if area_name in text[s:e]]
    at = same[-1] if same else starts[-1]  # else before the last entry (parse.error)
    return text[:at] + entry + text[at:]


def _check(rule_id: str, name: str, kind: str, method: str) -> str:
    site = SITES[kind][1]
    if kind == "dockerfile":
        return f'''def _{name}(ctx: DfCtx) -> Iterator[Finding]:
    """{rule_id}: judged on the stages that run."""
    for stage in ctx.runtime:
        for ins in stage.instructions:
            if ins.keyword == "TODO":  # the instruction and the condition {rule_id} looks for
                # subject: what the fixer gets as ctx.site (batten.checks.sites), the node judged here
                yield ctx.{method}("{rule_id}", f"{{ins.keyword}} TODO: what is wrong, in one line", ins, stage,
                                   subject={site})


'''
    return f'''def _{name}(ctx: SvcCtx) -> Iterator[Finding]:
    """{rule_id}: judged per service."""
    svc = ctx.svc
    node = svc.get("TODO")  # the key {rule_id} looks at
    if node is not None:
        # subject: what the fixer gets as ctx.site (batten.checks.sites), the node judged here
        yield ctx.{method}("{rule_id}", f"service {{svc.name!r}} TODO: what is wrong, in one line", node,
                           subject={site})


'''


def add_check(text: str, func: str, name: str) -> str:
    m = re.search(r"^_CHECKS = \((.*?)\)\n", text, re.S | re.M)
    if m is None:
        raise SystemExit("add_rule: no _CHECKS tuple found")
    body = m.group(1)
    if "\n" in body:
        new_tuple = f"_CHECKS = ({body.rstrip().rstrip(',')},\n    _{name},\n)\n"
    else:
        new_tuple = f"_CHECKS = ({body}, _{name})\n"
    return text[:m.start()] + func + new_tuple + text[m.end():]


def _fixer(fix_id: str, rule_id: str, name: str, kind: str) -> str:
    cls, _made, reads = SITES[kind]
    return f'''

@fixer(
    "{fix_id}",
    title="TODO: what the fix does, in a few words",
    applicability=Applicability.SAFE,  # SAFE keeps behaviour, UNSAFE changes it, NEEDS_INPUT takes params=
    explanation="""TODO: what the edit changes, and what it may break.""",
    site={cls},  # what {rule_id} hands over
)
def fix_{name}(ctx: FixContext[{cls}]) -> list[Edit]:
    {reads}
'''


def _case(root: Path, rule_id: str, name: str, kind: str) -> Path:
    path, weak = WEAK[kind]
    case = root / "tests" / "fixers" / "cases" / kind / name.replace("_", "-")
    if case.exists():
        raise SystemExit(f"add_rule: {case} exists")
    (case / "before").mkdir(parents=True)
    (case / "after").mkdir()
    (case / "case.toml").write_text(f'rule = "{rule_id}"\n')
    (case / "before" / path).write_text(weak)  # TODO: the same weak file as the rule's test
    (case / "after" / path).write_text(weak)  # TODO: the file exactly as the fix must write it
    return case


def _test(rule_id: str, name: str, kind: str) -> str:
    if kind == "dockerfile":
        helper, path, fires, quiet, where = ("dockerfile", "Dockerfile",
                                             'FROM alpine:3.20\nCMD ["/app"]\n', 'FROM alpine:3.20\nCMD ["/app"]\n',
                                             '("Dockerfile", 1, "stage 0")')
    else:
        helper, path, fires, quiet, where = ("compose", "compose.yaml",
                                             "services:\n  web:\n    image: nginx:1.27\n",
                                             "services:\n  web:\n    image: nginx:1.27\n",
                                             '("compose.yaml", 2, "web")')
    return f'''"""{rule_id} (app/checks/{KINDS[kind][1]}): fires on the weak form, stays quiet on the
hardened one, can be suppressed. Written by scripts/add_rule.py: make the {path} below the
smallest one that shows the weakness, and the check pass these tests."""

from __future__ import annotations

from tests.rulekit import at, {helper}, ids, of

RULE = "{rule_id}"
WEAK = {fires!r}  # TODO: the smallest {path} with the weakness
HARDENED = {quiet!r}  # TODO: the same, fixed


def test_fires_on_the_weak_form(tmp_path):
    assert at({helper}(tmp_path, WEAK), RULE) == [{where}]


def test_quiet_on_the_hardened_form(tmp_path):
    assert RULE not in ids({helper}(tmp_path, HARDENED))


def test_an_inline_pragma_suppresses_it(tmp_path):
    fs = {helper}(tmp_path, f"# batten: ignore={{RULE}} -- accepted here\\n" + WEAK)
    assert of(fs, RULE) and all(f.suppressed for f in of(fs, RULE))
'''


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Scaffold a rule: catalogue entry, check, test, docs.")
    p.add_argument("--id", required=True, help="area.name, e.g. health.interval-long")
    p.add_argument("--title", required=True, help="one line, what is wrong")
    p.add_argument("--kind", choices=KINDS, required=True, help="which files the rule reads")
    p.add_argument("--area", choices=AREAS, required=True)
    p.add_argument("--severity", choices=SEVERITIES, required=True)
    p.add_argument("--fix", help="also scaffold its fixer, e.g. df.shell-login or co.interval")
    p.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)  # tests scaffold into a copy
    args = p.parse_args(argv)
    if not re.fullmatch(r"[a-z]+(?:-[a-z]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*", args.id):
        raise SystemExit(f"add_rule: {args.id!r} is not an id like 'health.interval-long'")
    if '"' in args.title or "\\" in args.title:
        raise SystemExit("add_rule: the title cannot hold quotes or backslashes")
    prefix = "df." if args.kind == "dockerfile" else "co."
    if args.fix is not None and not re.fullmatch(re.escape(prefix) + r"[a-z0-9]+(?:-[a-z0-9]+)*", args.fix):
        raise SystemExit(f"add_rule: {args.fix!r} is not a fix id like '{prefix}interval-long'")
    root = Path(args.root)
    name = re.sub(r"[.-]", "_", args.id)
    catalogue = root / "app" / "checks" / "catalogue.py"
    checks = root / "app" / "checks" / KINDS[args.kind][1]
    test = root / "tests" / f"test_rule_{name}.py"
    if f'"{args.id}",' in catalogue.read_text():
        raise SystemExit(f"add_rule: {args.id} is already in the catalogue")
    if test.exists():
        raise SystemExit(f"add_rule: {test} exists")
    fixers = root / "fixers" / f"{args.kind}_fixes.py"
    if args.fix is not None and f'"{args.fix}",' in fixers.read_text():
        raise SystemExit(f"add_rule: {args.fix} is already registered")
    entry = _entry(args.id, args.title, args.severity, args.area, args.kind, args.fix)
    catalogue.write_text(add_to_catalogue(catalogue.read_text(), entry, args.id, args.area))
    source = checks.read_text()
    method = "finding" if "    def finding(" in source else "f"  # the context's finding maker
    checks.write_text(add_check(source, _check(args.id, name, args.kind, method), name))
    test.write_text(_test(args.id, name, args.kind))
    written = [catalogue, checks, test]
    if args.fix is not None:
        fixers.write_text(fixers.read_text() + _fixer(args.fix, args.id, name, args.kind))
        written += [fixers, _case(root, args.id, name, args.kind)]
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    done = subprocess.run([sys.executable, str(root / "scripts" / "gen_rules_doc.py")], cwd=root)
    if done.returncode == 0:
        print("wrote docs/rules.md")
    print(f"next: the rationale in {catalogue.name}, the condition in {checks.name}, the files in "
          f"{test.name}; then .venv/bin/python -m pytest {test.relative_to(root)}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
