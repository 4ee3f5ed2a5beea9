"""Tests for batten.sources.shell: command splitting with exact word offsets."""

from __future__ import annotations

import pytest

from batten.sources.shell import Command, has_shell_syntax, split_commands


def names(text: str) -> list[str]:
    return [c.name for c in split_commands(text)]


def check_offsets(text: str, cmds: list[Command]) -> None:
    for c in cmds:
        for w in c.words:
            assert text[w.start : w.end] == w.raw
        for r in c.redirects:
            if r.target is not None:
                assert text[r.target.start : r.target.end] == r.target.raw
        assert c.start <= c.end
        assert c.start == c.end or not text[c.start].isspace()


def test_separators() -> None:
    text = "a 1 && b 2 || c ; d | e & f\ng"
    cmds = split_commands(text)
    assert [c.name for c in cmds] == ["a", "b", "c", "d", "e", "f", "g"]
    assert [c.separator_after for c in cmds] == ["&&", "||", ";", "|", "&", "\n", None]
    assert [w.text for w in cmds[0].words] == ["a", "1"]
    check_offsets(text, cmds)
    assert text[cmds[0].start : cmds[0].end] == "a 1"


def test_quotes_and_escapes() -> None:
    text = """echo 'single $x' "double \\"q\\" $HOME" plain\\ word "a"'b'c \\$lit"""
    (cmd,) = split_commands(text)
    assert [w.text for w in cmd.words] == [
        "echo",
        "single $x",
        'double "q" $HOME',
        "plain word",
        "abc",
        "$lit",
    ]
    check_offsets(text, [cmd])


def test_separators_inside_quotes_are_words() -> None:
    cmds = split_commands("echo 'a && b' \"c; d | e\"")
    assert len(cmds) == 1
    assert [w.text for w in cmds[0].words] == ["echo", "a && b", "c; d | e"]


def test_command_substitution_and_backticks_stay_in_word() -> None:
    text = "x=\"$(dpkg --print-architecture | awk -F- '{ print $NF }')\"; y=`uname -m` z=$(( 1 + 2 )) w=${A:-b c}"
    cmds = split_commands(text)
    assert len(cmds) == 2
    assert cmds[0].words[0].text == "x=$(dpkg --print-architecture | awk -F- '{ print $NF }')"
    assert [w.raw for w in cmds[1].words] == ["y=`uname -m`", "z=$(( 1 + 2 ))", "w=${A:-b c}"]
    check_offsets(text, cmds)


def test_comment_only_at_word_start() -> None:
    text = "echo a#b # comment && not a command\nls"
    cmds = split_commands(text)
    assert [c.name for c in cmds] == ["echo", "ls"]
    assert [w.text for w in cmds[0].words] == ["echo", "a#b"]


def test_line_continuation_in_script() -> None:
    text = "apt-get install -y \\\n    curl \\\n    git && \\\n  rm -rf /x"
    cmds = split_commands(text)
    assert [c.name for c in cmds] == ["apt-get", "rm"]
    assert [w.text for w in cmds[0].words] == ["apt-get", "install", "-y", "curl", "git"]
    check_offsets(text, cmds)


def test_redirections() -> None:
    text = "make >/dev/null 2>&1 && cat < in.txt >> out.txt; cmd &>log"
    cmds = split_commands(text)
    assert [[w.text for w in c.words] for c in cmds] == [["make"], ["cat"], ["cmd"]]
    assert [(r.op, r.target.text if r.target else None) for r in cmds[0].redirects] == [
        (">", "/dev/null"),
        ("2>&", "1"),
    ]
    assert [(r.op, r.target.text if r.target else None) for r in cmds[1].redirects] == [
        ("<", "in.txt"),
        (">>", "out.txt"),
    ]
    assert cmds[2].redirects[0].op == "&>"
    check_offsets(text, cmds)


def test_heredoc_bodies_are_skipped() -> None:
    text = "cat <<EOF > /etc/x.conf\nhello && world\n  EOF\nEOF\nchmod 600 /etc/x.conf\ncat <<-'E'\n\tbody\n\tE\nls"
    cmds = split_commands(text)
    assert [c.name for c in cmds] == ["cat", "chmod", "cat", "ls"]
    assert cmds[0].redirects[0].op == "<<" and cmds[0].redirects[0].target.text == "EOF"  # type: ignore[union-attr]
    assert cmds[2].redirects[0].target.text == "E"  # type: ignore[union-attr]


def test_subshells_and_groups() -> None:
    text = "(cd /x && make) || { echo fail; exit 1; }"
    cmds = split_commands(text)
    assert [c.name for c in cmds] == ["cd", "make", "echo", "exit"]
    check_offsets(text, cmds)


def test_assignments_and_name() -> None:
    (cmd,) = split_commands("DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y x")
    assert cmd.name == "apt-get"
    assert [w.text for w in cmd.assignments] == ["DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
    assert [w.text for w in cmd.args] == ["install", "-y", "x"]
    (cmd,) = split_commands("A=1")
    assert cmd.name == "" and cmd.name_word is None


def test_effective_skips_wrappers() -> None:
    (cmd,) = split_commands("sudo -u app -E env -i A=1 nohup /usr/bin/pip install --no-cache-dir x")
    assert cmd.name == "sudo"
    wrappers, eff = cmd.effective()
    assert wrappers == ["sudo", "env", "nohup"]
    assert eff.name == "/usr/bin/pip" and eff.basename == "pip"
    assert eff.has_option("--no-cache-dir")
    assert [w.text for w in eff.args] == ["install", "--no-cache-dir", "x"]
    assert eff.start == cmd.words[8].start
    (cmd,) = split_commands("exec gosu app command time -p make")
    assert cmd.effective()[0] == ["exec"]
    assert cmd.effective()[1].name == "gosu"
    (cmd,) = split_commands("command -v curl")
    assert cmd.effective()[1].name == ""
    cmds = split_commands("if ! grep -q x f; then apt-get install -y y; fi")
    assert [c.effective()[1].name for c in cmds] == ["grep", "apt-get", "fi"]


def test_has_option() -> None:
    (cmd,) = split_commands("apk add --no-cache --virtual=.deps curl")
    assert cmd.has_option("--no-cache")
    assert cmd.has_option("--virtual")
    assert not cmd.has_option("--update")
    (cmd,) = split_commands("apt-get install -qy curl -- -z")
    assert cmd.has_option("--yes", "y")
    assert not cmd.has_option(None, "z")
    assert [w.text for w in cmd.positional()] == ["install", "curl", "-z"]


def test_shell_script_detection() -> None:
    (cmd,) = split_commands("sh -c 'apt-get update && apt-get install -y x'")
    script = cmd.shell_script()
    assert script is not None and script.text == "apt-get update && apt-get install -y x"
    assert names(script.text) == ["apt-get", "apt-get"]
    (cmd,) = split_commands('sudo /bin/bash -o pipefail -ec "curl -k https://x | sh"')
    assert cmd.shell_script().text == "curl -k https://x | sh"  # type: ignore[union-attr]
    (cmd,) = split_commands("bash script.sh -c")
    assert cmd.shell_script() is None
    (cmd,) = split_commands("python -c 'print(1)'")
    assert cmd.shell_script() is None


def test_unterminated_quotes_do_not_crash() -> None:
    for text in [
        "echo 'abc",
        'echo "abc',
        "echo $(abc",
        "echo `abc",
        "echo ${abc",
        "echo \\",
        "a &&",
        "<",
        "2>",
    ]:
        cmds = split_commands(text)
        check_offsets(text, cmds)


def test_empty() -> None:
    assert split_commands("") == []
    assert split_commands("  \n\n ; ") == []


@pytest.mark.parametrize(
    "text",
    [
        "a | b",
        "a > f",
        "a 2>&1",
        "a < f",
        "a && b",
        "a || b",
        "a; b",
        "a &",
        "echo $HOME",
        "echo ${HOME}",
        'echo "$HOME"',
        "echo `date`",
        "echo $(date)",
        "ls *.txt",
        "ls file?.txt",
        "ls [ab].txt",
        "cd ~",
        "(cd x)",
        "{ a; }",
        "cat <<EOF\nx\nEOF",
        "a\nb",
        "FOO=1 run",
        "echo a # comment",
        "echo {a,b}",
        "if true; then x; fi",
    ],
)
def test_has_shell_syntax_true(text: str) -> None:
    assert has_shell_syntax(text)


@pytest.mark.parametrize(
    "text",
    [
        "nginx -g 'daemon off;'",
        "python app.py --port 8080",
        "echo \"a | b\" '$HOME'",
        "node server.js\n",
        "java -jar /app/app.jar",
        "echo a\\ b",
        "",
    ],
)
def test_has_shell_syntax_false(text: str) -> None:
    assert not has_shell_syntax(text)


def test_offsets_into_run_args_map_to_source() -> None:
    from batten.sources.dockerfile import parse_dockerfile
    from batten.sources.text import SourceText

    text = "FROM debian\nRUN apt-get update \\\n && apt-get install -y \\\n\tcurl \\\n# c\n\tgit\n"
    m = parse_dockerfile(SourceText.from_text("Dockerfile", text))
    run = m.instructions[1]
    cmds = split_commands(run.args)
    install = cmds[1]
    assert install.name == "apt-get" and install.args[0].text == "install"
    off = run.source_offset(install.args[0].end)
    assert text[off - len("install") : off] == "install"
    for w in install.words:
        assert text[run.source_offset(w.start) : run.source_offset(w.end - 1) + 1] == w.raw


@pytest.mark.corpus
def test_corpus_run_bodies_split_with_exact_offsets() -> None:
    from tests.test_dockerfile_model import _corpus_models

    scripts = 0
    for m in _corpus_models():
        for ins in m.instructions:
            if ins.keyword != "RUN" or ins.json is not None:
                continue
            for text in [ins.args, *(h.body for h in ins.heredocs)]:
                check_offsets(text, split_commands(text))
                scripts += 1
    assert scripts > 500
