"""Tests for batten.sources.dockerfile: grammar, exact spans, stages, pairs and the real corpus."""

from __future__ import annotations

import io
from functools import cache

import pytest
from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import extract_key_values
from hypothesis import given, settings
from hypothesis import strategies as st

from batten.model import Span
from batten.sources.dockerfile import (
    DockerfileModel,
    ImageRef,
    Instruction,
    expand_args,
    parse_dockerfile,
    unquote,
)
from batten.sources.text import SourceText
from tests.corpus import require_corpus


def parse(text: str, path: str = "Dockerfile") -> DockerfileModel:
    return parse_dockerfile(SourceText.from_text(path, text))


def sl(model: DockerfileModel, span: Span | None) -> str:
    assert span is not None
    return model.source.text[span.start : span.end]


def only(model: DockerfileModel, keyword: str) -> Instruction:
    found = [i for i in model.instructions if i.keyword == keyword]
    assert len(found) == 1, found
    return found[0]


# -- basics -------------------------------------------------------------------------------------


def test_basic_instructions_and_spans() -> None:
    text = 'FROM python:3.12-slim\n  run  pip install x\nCMD ["python", "app.py"]\n'
    m = parse(text)
    assert [i.keyword for i in m.instructions] == ["FROM", "RUN", "CMD"]
    run = m.instructions[1]
    assert run.raw_keyword == "run"
    assert sl(m, run.span) == "run  pip install x"
    assert sl(m, run.keyword_span) == "run"
    assert sl(m, run.args_span) == "pip install x"
    assert run.args == "pip install x"
    assert (run.line, run.end_line) == (2, 2)
    assert run.json is None and not run.is_exec_form
    cmd = m.instructions[2]
    assert cmd.json == ["python", "app.py"] and cmd.is_exec_form
    assert m.problems == []
    assert m.escape == "\\"


def test_mixed_case_keywords() -> None:
    m = parse("From alpine As Build\nWorkDir /app\nrUn true\n")
    assert [i.keyword for i in m.instructions] == ["FROM", "WORKDIR", "RUN"]
    assert [i.raw_keyword for i in m.instructions] == ["From", "WorkDir", "rUn"]
    assert m.stages[0].name == "Build"
    assert m.stage_named("build") is m.stages[0]


def test_crlf_everywhere() -> None:
    text = "FROM alpine\r\nRUN apk add \\\r\n    curl \\\r\n    git\r\nUSER app\r\n"
    m = parse(text)
    run = only(m, "RUN")
    assert "\r" not in run.args
    assert run.args == "apk add     curl     git"
    assert (run.line, run.end_line) == (2, 4)
    assert sl(m, run.span) == "RUN apk add \\\r\n    curl \\\r\n    git"
    user = only(m, "USER")
    assert sl(m, user.span) == "USER app"
    assert user.args == "app"
    for k, ch in enumerate(run.args):
        assert m.source.text[run.source_offset(k)] == ch


def test_crlf_continuation_with_trailing_blanks_after_escape() -> None:
    text = "FROM a\r\nRUN echo a \\  \t\r\n  b\r\n"
    run = only(parse(text), "RUN")
    assert run.args == "echo a   b"
    assert run.end_line == 3


def test_no_final_newline() -> None:
    text = "FROM alpine\nRUN echo hi \\\n  there"
    m = parse(text)
    run = only(m, "RUN")
    assert run.span.end == len(text)
    assert run.args_span.end == len(text)
    assert run.source_offset(len(run.args)) == len(text)
    assert run.end_line == 3


def test_bom_is_stripped_before_parsing() -> None:
    src = SourceText.from_bytes("Dockerfile", b"\xef\xbb\xbf# syntax=docker/dockerfile:1\nFROM a\n")
    m = parse_dockerfile(src)
    assert m.directives["syntax"].value == "docker/dockerfile:1"
    assert only(m, "FROM").span.start == src.text.index("FROM")


def test_empty_and_comment_only_files() -> None:
    m = parse("")
    assert m.instructions == [] and m.stages == []
    assert [p.message for p in m.problems] == ["file with no instructions"]
    m = parse("# just a comment\n\n")
    assert m.comments == [(1, " just a comment")]
    assert len(m.problems) == 1


# -- directives ---------------------------------------------------------------------------------


def test_directives_at_top() -> None:
    text = "# Syntax = docker/dockerfile:1.7\n#escape=`\n# check=skip=JSONArgsRecommended\nFROM a\n"
    m = parse(text)
    assert set(m.directives) == {"syntax", "escape", "check"}
    assert m.directives["syntax"].value == "docker/dockerfile:1.7"
    assert m.directives["check"].value == "skip=JSONArgsRecommended"
    assert m.escape == "`"
    assert sl(m, m.directives["syntax"].span) == "# Syntax = docker/dockerfile:1.7"
    # directives are comments too
    assert [line for line, _ in m.comments] == [1, 2, 3]


def test_directive_after_blank_line_is_a_comment() -> None:
    m = parse("# syntax=docker/dockerfile:1\n\n# escape=`\nFROM a\nRUN echo \\\n  hi\n")
    assert "escape" not in m.directives
    assert m.escape == "\\"
    assert only(m, "RUN").args == "echo   hi"


def test_directive_after_plain_comment_or_instruction_is_a_comment() -> None:
    m = parse("# hello\n# escape=`\nFROM a\n")
    assert m.directives == {} and m.escape == "\\"
    m = parse("FROM a\n# escape=`\n")
    assert m.directives == {} and m.escape == "\\"
    assert (2, " escape=`") in m.comments


def test_unknown_directive_ends_the_block() -> None:
    m = parse("# foo=bar\n# escape=`\nFROM a\n")
    assert m.directives == {} and m.escape == "\\"


def test_bad_and_duplicate_directives_are_problems() -> None:
    m = parse("# escape=x\nFROM a\n")
    assert m.escape == "\\"
    assert any("invalid escape" in p.message for p in m.problems)
    m = parse("# syntax=a\n# syntax=b\nFROM a\n")
    assert m.directives["syntax"].value == "a"
    assert any("only one syntax" in p.message for p in m.problems)


# -- continuations ------------------------------------------------------------------------------


def test_comment_lines_inside_continuation() -> None:
    text = (
        "FROM a\n"
        "RUN apt-get install -y \\\n"
        "\tgnupg \\\n"
        "# a comment between packages \\\n"
        "    # an indented one\n"
        "\t\tless \\\n"
        "\t; rm -rf /var/lib/apt/lists/*\n"
    )
    m = parse(text)
    run = only(m, "RUN")
    assert run.args == "apt-get install -y \tgnupg \t\tless \t; rm -rf /var/lib/apt/lists/*"
    assert (run.line, run.end_line) == (2, 7)
    assert sl(m, run.span) == text[text.index("RUN") : -1]
    assert (4, " a comment between packages \\") in m.comments
    assert (5, " an indented one") in m.comments
    less = run.args.index("less")
    assert m.source.text[run.source_offset(less) :].startswith("less \\\n")


def test_empty_lines_inside_continuation_are_skipped() -> None:
    m = parse("FROM a\nRUN echo a \\\n\n   \t\n  b\nUSER x\n")
    run = only(m, "RUN")
    assert run.args == "echo a   b"
    assert (run.line, run.end_line) == (2, 5)
    assert run.empty_continuation_lines == [3, 4]
    assert only(m, "USER").line == 6


def test_comment_line_never_continues() -> None:
    m = parse("# docker run -v /x:/y \\\n#\t-d img\nFROM a\n")
    assert only(m, "FROM").line == 3
    assert m.comments == [(1, " docker run -v /x:/y \\"), (2, "\t-d img")]


def test_escaped_escape_at_end_does_not_continue() -> None:
    # BuildKit's continuation regex needs a non-escape character before the escape token
    m = parse("FROM a\nRUN echo a\\\\\nUSER x\n")
    assert [i.keyword for i in m.instructions] == ["FROM", "RUN", "USER"]


def test_lone_escape_line_inside_continuation() -> None:
    m = parse("FROM a\nRUN Write-Host a; \\\n\t\\\n\tWrite-Host b\n")
    run = only(m, "RUN")
    assert run.args == "Write-Host a; \t\tWrite-Host b"
    assert run.end_line == 4
    k = run.args.index("Write-Host b")
    assert m.source.text[run.source_offset(k) :].startswith("Write-Host b")


def test_instruction_after_lone_escape_line() -> None:
    m = parse("FROM a\n\\\nRUN true\n")
    run = only(m, "RUN")
    assert (run.line, run.end_line) == (3, 3)
    assert sl(m, run.span) == "RUN true"


def test_continuation_into_eof_and_dangling_comment() -> None:
    m = parse("FROM a\nRUN echo \\\n# trailing comment\n")
    run = only(m, "RUN")
    assert run.args == "echo"
    assert run.end_line == 2


def test_backtick_escape() -> None:
    text = (
        "# escape=`\n"
        "FROM mcr.microsoft.com/windows/servercore\n"
        "COPY C:\\src\\ C:\\dst\\\n"
        "RUN mkdir C:\\target ; `\n"
        "    dir C:\\target\n"
    )
    m = parse(text)
    assert m.escape == "`"
    copy = only(m, "COPY")
    assert copy.args == "C:\\src\\ C:\\dst\\"
    assert copy.end_line == 3
    run = only(m, "RUN")
    assert run.args == "mkdir C:\\target ;     dir C:\\target"
    assert (run.line, run.end_line) == (4, 5)


def test_keyword_alone_and_args_span_when_empty() -> None:
    m = parse("FROM a\nSTOPSIGNAL\n")
    st = only(m, "STOPSIGNAL")
    assert st.args == ""
    assert st.args_span == Span(st.keyword_span.end, st.keyword_span.end)
    assert sl(m, st.span) == "STOPSIGNAL"


# -- heredocs -----------------------------------------------------------------------------------


def test_heredoc_basic() -> None:
    text = "# syntax=docker/dockerfile:1.4\nFROM debian\nRUN <<EOF\napt-get update\n# not a comment\nEOF\nUSER app\n"
    m = parse(text)
    run = only(m, "RUN")
    (hd,) = run.heredocs
    assert hd.delimiter == "EOF" and not hd.quoted and not hd.strip_tabs
    assert hd.body == "apt-get update\n# not a comment\n"
    assert sl(m, hd.body_span) == hd.body
    assert sl(m, hd.span) == "apt-get update\n# not a comment\nEOF"
    assert sl(m, hd.marker_span) == "<<EOF"
    assert run.args == "<<EOF"
    assert sl(m, run.args_span) == "<<EOF"
    assert sl(m, run.span) == "RUN <<EOF\napt-get update\n# not a comment\nEOF"
    assert (run.line, run.end_line) == (3, 6)
    assert only(m, "USER").line == 7
    assert all(line != 5 for line, _ in m.comments)
    assert m.problems == []


def test_heredoc_strip_tabs_and_quoted() -> None:
    text = "FROM a\nRUN <<-'EOT' bash\n\techo $HOME\n\t\tEOT\nRUN cat <<\"X\"\nhi\nX\n"
    m = parse(text)
    r1, r2 = m.instructions[1:]
    (h1,) = r1.heredocs
    assert (h1.delimiter, h1.quoted, h1.strip_tabs) == ("EOT", True, True)
    assert h1.body == "\techo $HOME\n"
    assert h1.content == "echo $HOME\n"
    assert sl(m, h1.marker_span) == "<<-'EOT'"
    assert sl(m, h1.span) == "\techo $HOME\n\t\tEOT"
    assert r1.args == "<<-'EOT' bash"
    (h2,) = r2.heredocs
    assert (h2.delimiter, h2.quoted, h2.strip_tabs) == ("X", True, False)
    assert h2.body == "hi\n"
    # without `-` a tab-indented terminator does not end the body
    m = parse("FROM a\nRUN <<EOF\n\tEOF\nEOF\n")
    assert only(m, "RUN").heredocs[0].body == "\tEOF\n"


def test_two_heredocs_on_one_copy_line() -> None:
    text = "FROM a\nCOPY <<a.txt <<b.txt /dest/\nalpha\na.txt\nbeta\nb.txt\nUSER x\n"
    m = parse(text)
    copy = only(m, "COPY")
    assert [h.delimiter for h in copy.heredocs] == ["a.txt", "b.txt"]
    assert [h.body for h in copy.heredocs] == ["alpha\n", "beta\n"]
    assert [sl(m, h.marker_span) for h in copy.heredocs] == ["<<a.txt", "<<b.txt"]
    assert copy.end_line == 6
    assert sl(m, copy.span).endswith("beta\nb.txt")
    assert only(m, "USER").line == 7


def test_run_mount_with_heredoc_after_continuation() -> None:
    text = (
        "FROM a\n"
        "RUN --mount=type=bind,target=.,rw \\\n"
        "    --mount=target=/ctx,type=tmpfs <<EOT\n"
        "  set -e\n"
        "  cp -rf /out/* .\n"
        "EOT\n"
    )
    m = parse(text)
    run = only(m, "RUN")
    assert [f.name for f in run.flags] == ["mount", "mount"]
    assert run.flags[0].options() == {"type": "bind", "target": ".", "rw": "true"}
    assert run.flags[1].options() == {"target": "/ctx", "type": "tmpfs"}
    assert run.args == "<<EOT"
    assert run.heredocs[0].body == "  set -e\n  cp -rf /out/* .\n"
    assert (run.line, run.end_line) == (2, 6)
    assert sl(m, run.heredocs[0].marker_span) == "<<EOT"


def test_heredoc_program_before_marker_and_crlf_terminator() -> None:
    text = "FROM a\r\nRUN python3 <<EOF\r\nprint('hi')\r\nEOF\r\nUSER x\r\n"
    m = parse(text)
    run = only(m, "RUN")
    assert run.args == "python3 <<EOF"
    assert run.heredocs[0].body == "print('hi')\r\n"
    assert sl(m, run.heredocs[0].span) == "print('hi')\r\nEOF"
    assert sl(m, run.span) == "RUN python3 <<EOF\r\nprint('hi')\r\nEOF"
    assert only(m, "USER").line == 5


def test_unterminated_heredoc() -> None:
    text = "FROM a\nRUN <<EOF\necho one\nUSER x\n"
    m = parse(text)
    run = only(m, "RUN")
    hd = run.heredocs[0]
    assert not hd.terminated
    assert hd.body == "echo one\nUSER x\n"
    assert hd.body_span.end == len(text)
    assert sl(m, hd.span) == "echo one\nUSER x"
    assert sl(m, run.span) == "RUN <<EOF\necho one\nUSER x"
    assert run.end_line == 4
    assert [i.keyword for i in m.instructions] == ["FROM", "RUN"]
    assert len(m.problems) == 1 and "unterminated heredoc" in m.problems[0].message
    assert m.problems[0].line == 2


def test_not_heredocs() -> None:
    m = parse(
        "FROM a\n"
        'RUN cat <<<"$VAR"\n'
        "RUN echo \"<<EOF\" '<<EOF'\n"
        'RUN ["sh", "-c", "cat <<EOF"]\n'
        "RUN cat<<EOF\n"
        "USER x\n"
    )
    assert [i.keyword for i in m.instructions] == ["FROM", "RUN", "RUN", "RUN", "RUN", "USER"]
    assert all(not i.heredocs for i in m.instructions)
    assert m.problems == []


def test_heredoc_only_on_run_copy_add_and_onbuild() -> None:
    m = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nADD <<x /x\ny\nx\n")
    assert [i.keyword for i in m.instructions] == ["FROM", "ONBUILD", "ADD"]
    assert m.instructions[1].heredocs[0].body == "echo hi\n"
    assert m.instructions[2].heredocs[0].body == "y\n"
    # other instructions do not take heredocs (BuildKit): the next lines are instructions
    m = parse("FROM a\nLABEL x=<<EOF\nUSER x\n")
    assert [i.keyword for i in m.instructions] == ["FROM", "LABEL", "USER"]


# -- flags --------------------------------------------------------------------------------------


def test_flags() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang AS build\n"
        "RUN --mount=type=cache,target=/root/.cache --network=none --security=insecure go build --x\n"
        "COPY --from=build --chown=app:app --chmod=0755 --link /out /bin/\n"
        'ADD --checksum=sha256:abc --keep-git-dir=true --exclude="*.md" https://x/y.tar.gz /y\n'
        "COPY -- --weird /dst\n"
    )
    m = parse(text)
    frm, run, copy, add, copy2 = m.instructions
    assert frm.flag("platform").value == "$BUILDPLATFORM"  # type: ignore[union-attr]
    assert frm.args == "golang AS build"
    assert [f.name for f in run.flags] == ["mount", "network", "security"]
    assert run.args == "go build --x"
    assert run.flag("mount").options() == {"type": "cache", "target": "/root/.cache"}  # type: ignore[union-attr]
    assert run.flag("--network").value == "none"  # type: ignore[union-attr]
    assert sl(m, run.flags[0].span) == "--mount=type=cache,target=/root/.cache"
    assert [(f.name, f.value) for f in copy.flags] == [
        ("from", "build"),
        ("chown", "app:app"),
        ("chmod", "0755"),
        ("link", None),
    ]
    assert copy.args == "/out /bin/"
    assert add.flag("exclude").value == "*.md"  # type: ignore[union-attr]
    assert sl(m, add.flag("exclude").span) == '--exclude="*.md"'  # type: ignore[union-attr]
    assert add.flag("missing") is None
    assert copy2.flags == [] and copy2.args == "--weird /dst"
    assert len(run.flags_named("mount")) == 1
    assert sl(m, run.args_span).startswith("--mount=")


def test_several_mounts_and_flag_case() -> None:
    m = parse(
        "FROM a\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc --MOUNT=type=ssh true\n"
    )
    run = only(m, "RUN")
    mounts = run.flags_named("mount")
    assert len(mounts) == 2
    assert mounts[0].options()["id"] == "npmrc"
    assert mounts[1].options() == {"type": "ssh"}


def test_healthcheck_flags_over_continuation() -> None:
    m = parse(
        "FROM a\nHEALTHCHECK --interval=30s \\\n  --timeout=3s \\\n  CMD node healthcheck.js\n"
    )
    hc = only(m, "HEALTHCHECK")
    assert [(f.name, f.value) for f in hc.flags] == [("interval", "30s"), ("timeout", "3s")]
    assert hc.args == "CMD node healthcheck.js"
    assert sl(m, hc.flags[1].span) == "--timeout=3s"
    assert (hc.line, hc.end_line) == (2, 4)


# -- exec form ----------------------------------------------------------------------------------


def test_json_exec_form_over_continuation_lines() -> None:
    text = 'FROM a\nCMD ["python", \\\n     "-m", \\\n     "http.server"]\n'
    cmd = only(parse(text), "CMD")
    assert cmd.json == ["python", "-m", "http.server"]
    assert cmd.end_line == 4


def test_json_backtick_escape_with_backslashes() -> None:
    text = (
        "# escape=`\n"
        "FROM a\n"
        'ENTRYPOINT [ "C:\\\\bin\\\\prometheus.exe" ]\n'
        'CMD        [ "--config.file=C:\\\\p.yml", `\n'
        '             "--storage.tsdb.path=/prometheus" ]\n'
    )
    m = parse(text)
    assert only(m, "ENTRYPOINT").json == ["C:\\bin\\prometheus.exe"]
    assert only(m, "CMD").json == ["--config.file=C:\\p.yml", "--storage.tsdb.path=/prometheus"]


def test_not_json() -> None:
    m = parse('FROM a\nCMD [ "a", 1 ]\nRUN [ -f x ] && echo\nCMD ["unterminated"\nEXPOSE [80]\n')
    assert all(i.json is None for i in m.instructions)
    m = parse('FROM a\nCOPY --chown=a ["x y", "/z/"]\nVOLUME ["/data"]\n')
    assert m.instructions[1].json == ["x y", "/z/"]
    assert m.instructions[2].json == ["/data"]


# -- FROM and stages ----------------------------------------------------------------------------


def test_stages_args_and_parents() -> None:
    text = (
        "ARG BASE=python\n"
        "ARG TAG=3.12-slim\n"
        "ARG UNSET\n"
        "FROM ${BASE}:${TAG} AS Builder\n"
        "RUN pip wheel .\n"
        "FROM $BASE:${NOPE:-3.11} as runtime\n"
        "COPY --from=builder /w /w\n"
        "FROM builder AS test\n"
        "FROM scratch\n"
        "FROM ${UNSET}/x\n"
        "FROM ${UNSET:-alpine}\n"
    )
    m = parse(text)
    assert [i.args for i in m.global_args] == ["BASE=python", "TAG=3.12-slim", "UNSET"]
    assert len(m.stages) == 6
    s0, s1, s2, s3, s4, s5 = m.stages
    assert (s0.name, s0.base, s0.base_resolved) == ("Builder", "${BASE}:${TAG}", "python:3.12-slim")
    assert s0.image == ImageRef.parse("python:3.12-slim")
    assert [i.keyword for i in s0.instructions] == ["FROM", "RUN"]
    assert s0.from_instr is s0.instructions[0]
    assert (s1.name, s1.base_resolved) == ("runtime", "python:3.11")
    assert s2.parent is s0 and s2.image is None
    assert s2.root_image() == s0.image
    assert s3.is_scratch and s3.image is None and s3.root_image() is None
    assert s4.base_resolved == "${UNSET}/x" and s4.image is None
    assert s5.base_resolved == "alpine"
    assert m.final_stage is s5
    assert m.stage_named("BUILDER") is s0
    assert m.stage_named("2") is s2
    assert m.stage_named("nope") is None
    assert [i.stage for i in m.instructions] == [-1, -1, -1, 0, 0, 1, 1, 2, 3, 4, 5]
    assert m.problems == []


def test_from_platform_and_stage_parent_chain() -> None:
    m = parse("FROM --platform=linux/amd64 alpine:3.20 AS a\nFROM a AS b\nFROM b\n")
    a, b, c = m.stages
    assert a.platform == "linux/amd64"
    assert c.parent is b and b.parent is a
    assert c.root_image() is not None and c.root_image().repository == "alpine"  # type: ignore[union-attr]
    assert c.root_stage() is a
    # a later stage cannot be a parent
    m = parse("FROM later\nFROM alpine AS later\n")
    assert m.stages[0].parent is None and m.stages[0].image is not None


def test_global_arg_defaults_chain() -> None:
    m = parse('ARG A=1\nARG B=${A}.2 C="x y"\nFROM img:$B\n')
    assert m.global_arg_defaults() == {"A": "1", "B": "1.2", "C": "x y"}
    assert m.stages[0].base_resolved == "img:1.2"


def test_problems() -> None:
    m = parse("RUN echo\nFROM a\nFOO bar\n")
    msgs = [p.message for p in m.problems]
    assert any("before the first FROM" in s for s in msgs)
    assert "unknown instruction: FOO" in msgs
    assert [p.line for p in m.problems] == [1, 3]
    m = parse("ARG X=1\nRUN true\n")
    assert any("no FROM" in p.message for p in m.problems)


def test_instruction_at_line() -> None:
    m = parse("FROM a\n\nRUN a \\\n  b\n# c\nRUN <<EOF\nx\nEOF\n")
    assert m.instruction_at_line(1).keyword == "FROM"  # type: ignore[union-attr]
    assert m.instruction_at_line(2) is None
    assert m.instruction_at_line(4).line == 3  # type: ignore[union-attr]
    assert m.instruction_at_line(5) is None
    assert m.instruction_at_line(7).line == 6  # type: ignore[union-attr]
    assert m.instruction_at_line(8).line == 6  # type: ignore[union-attr]
    assert m.instruction_at_line(99) is None


# -- pairs --------------------------------------------------------------------------------------


def test_env_pairs_all_forms() -> None:
    text = "FROM a\nENV A=1 B=\"two words\" C=three\\ four D='sq $x' E=\nENV HOME /home/x y\n"
    m = parse(text)
    e1, e2 = m.instructions[1:]
    ps = e1.pairs()
    assert [(p.key, p.value, p.raw_value) for p in ps] == [
        ("A", "1", "1"),
        ("B", "two words", '"two words"'),
        ("C", "three four", "three\\ four"),
        ("D", "sq $x", "'sq $x'"),
        ("E", "", ""),
    ]
    for p in ps:
        assert sl(m, p.key_span) == p.key
        assert sl(m, p.value_span) == p.raw_value
        assert sl(m, p.span) == f"{p.key}={p.raw_value}"
    (legacy,) = e2.pairs()
    assert (legacy.key, legacy.value, legacy.raw_value, legacy.legacy) == (
        "HOME",
        "/home/x y",
        "/home/x y",
        True,
    )
    assert sl(m, legacy.span) == "HOME /home/x y"
    assert sl(m, legacy.value_span) == "/home/x y"


def test_label_legacy_and_quoted_keys() -> None:
    m = parse(
        'FROM a\nLABEL maintainer "Jess <j@x>"\nLABEL "com.example.vendor"="ACME Inc" version=1\n'
    )
    (p,) = m.instructions[1].pairs()
    assert (p.key, p.value, p.raw_value) == ("maintainer", "Jess <j@x>", '"Jess <j@x>"')
    assert sl(m, p.value_span) == '"Jess <j@x>"'
    p1, p2 = m.instructions[2].pairs()
    assert (p1.key, p1.value) == ("com.example.vendor", "ACME Inc")
    assert sl(m, p1.key_span) == '"com.example.vendor"'
    assert (p2.key, p2.value) == ("version", "1")


def test_arg_pairs() -> None:
    m = parse('ARG NAME\nARG V=1.2 OTHER="a b"\nFROM a\nARG EMPTY=\n')
    (n,) = m.instructions[0].pairs()
    assert (n.key, n.value, n.raw_value, n.value_span) == ("NAME", None, None, None)
    assert sl(m, n.span) == "NAME"
    v, o = m.instructions[1].pairs()
    assert (v.key, v.value) == ("V", "1.2")
    assert (o.key, o.value, o.raw_value) == ("OTHER", "a b", '"a b"')
    m2 = parse("FROM a\nENV A=\\\n  B=1\n")
    a_pair, b_pair = m2.instructions[1].pairs()
    assert a_pair.value == "" and a_pair.value_span is not None
    assert m2.source.text[a_pair.value_span.start - 2 : a_pair.value_span.start] == "A="
    assert sl(m2, b_pair.span) == "B=1"
    (e,) = m.instructions[3].pairs()
    assert (e.key, e.value, e.raw_value) == ("EMPTY", "", "")
    assert e.value_span is not None and e.value_span.start == e.value_span.end


def test_pairs_over_continuation_lines_point_at_source() -> None:
    text = 'FROM a\nENV A=1 \\\n    B="x \\\n y" \\\n\tC=3\n'
    m = parse(text)
    env = only(m, "ENV")
    ps = env.pairs()
    assert [p.key for p in ps] == ["A", "B", "C"]
    a, b, c = ps
    assert sl(m, a.span) == "A=1"
    assert sl(m, c.span) == "C=3"
    assert sl(m, c.key_span) == "C"
    # B's value crosses a continuation: the span covers the real source characters
    assert b.raw_value == '"x  y"'
    assert b.value == "x  y"
    assert sl(m, b.value_span) == '"x \\\n y"'


def test_pairs_with_backtick_escape_and_other_keywords() -> None:
    m = parse('# escape=`\nFROM a\nENV P=C:\\dir Q="a `"b`"" R=x` y\nRUN x\n')
    p, q, r = m.instructions[1].pairs()
    assert p.value == "C:\\dir"
    assert q.value == 'a "b"'
    assert r.value == "x y"
    assert m.instructions[2].pairs() == []


def test_unquote_and_expand_helpers() -> None:
    assert unquote('"a\\"b\\$c\\d"') == 'a"b$c\\d'
    assert unquote("'a\\b'") == "a\\b"
    assert unquote("a\\ b") == "a b"
    assert unquote('"un') == "un"
    env = {"A": "1", "E": "", "N": None}
    assert (
        expand_args("$A-${A}-${E:-d}-${E-d}-${N:-x}-${A:+set}-${Z}-$", env) == "1-1-d--x-set-${Z}-$"
    )
    assert expand_args("${Z:-${A}}", env) == "1"


def test_words() -> None:
    m = parse('FROM a\nEXPOSE 80 "443" \\\n  8080/udp\n')
    words = only(m, "EXPOSE").words()
    assert [w[0] for w in words] == ["80", "443", "8080/udp"]
    assert [sl(m, w[2]) for w in words] == ["80", '"443"', "8080/udp"]


# -- offsets ------------------------------------------------------------------------------------


def test_source_offset_insertion_after_apt_get_install() -> None:
    text = "FROM debian\nRUN apt-get update && apt-get install -y \\\n\tcurl \\\n# c\n\tgit\n"
    m = parse(text)
    run = only(m, "RUN")
    k = run.args.index("apt-get install") + len("apt-get install")
    off = run.source_offset(k)
    new = text[:off] + " --no-install-recommends" + text[off:]
    m2 = parse(new)
    assert (
        only(m2, "RUN").args
        == "apt-get update && apt-get install --no-install-recommends -y \tcurl \tgit"
    )
    # every character maps onto itself
    for i, ch in enumerate(run.args):
        assert text[run.source_offset(i)] == ch
    assert run.source_offset(len(run.args)) == len(text) - 1
    with pytest.raises(IndexError):
        run.source_offset(len(run.args) + 1)


def test_source_offset_after_bias_at_line_joins() -> None:
    text = "FROM a\nRUN apt-get install\\\n  curl\n"
    run = only(parse(text), "RUN")
    k = len("apt-get install")
    assert run.args[k] == " "  # first character kept from the next line
    assert text[run.source_offset(k) - 1] == "\n"
    after = run.source_offset(k, after=True)
    assert text[after] == "\\" and text[after - 7 : after] == "install"
    assert run.args_subspan(0, len(run.args)) == run.args_span


# -- ImageRef -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "registry", "repository", "tag", "digest", "name"),
    [
        ("python", None, "python", None, None, "python"),
        ("python:3.12-slim", None, "python", "3.12-slim", None, "python"),
        ("library/python:3", None, "library/python", "3", None, "python"),
        ("bitnami/redis", None, "bitnami/redis", None, None, "redis"),
        (
            "ghcr.io/org/app:1.2@sha256:" + "a" * 64,
            "ghcr.io",
            "org/app",
            "1.2",
            "sha256:" + "a" * 64,
            "app",
        ),
        ("localhost:5000/x", "localhost:5000", "x", None, None, "x"),
        ("localhost/x:1", "localhost", "x", "1", None, "x"),
        ("registry:5000/ns/x:tag", "registry:5000", "ns/x", "tag", None, "x"),
        (
            "mcr.microsoft.com/windows/servercore:ltsc2016",
            "mcr.microsoft.com",
            "windows/servercore",
            "ltsc2016",
            None,
            "servercore",
        ),
        ("alpine@sha256:" + "0" * 64, None, "alpine", None, "sha256:" + "0" * 64, "alpine"),
    ],
)
def test_imageref_parse(
    raw: str, registry: str | None, repository: str, tag: str | None, digest: str | None, name: str
) -> None:
    ref = ImageRef.parse(raw)
    assert ref is not None
    assert (ref.raw, ref.registry, ref.repository, ref.tag, ref.digest, ref.name) == (
        raw,
        registry,
        repository,
        tag,
        digest,
        name,
    )
    assert str(ref) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "scratch",
        "SCRATCH",
        "$BASE",
        "${BASE}:1",
        "python:${TAG}",
        "",
        "Python",
        "a b",
        "x:",
        "x@nope",
    ],
)
def test_imageref_parse_none(raw: str) -> None:
    assert ImageRef.parse(raw) is None


def test_imageref_helpers() -> None:
    assert ImageRef.parse("python").is_docker_hub  # type: ignore[union-attr]
    assert not ImageRef.parse("ghcr.io/a/b").is_docker_hub  # type: ignore[union-attr]
    assert ImageRef.parse("a@sha256:" + "1" * 64).pinned  # type: ignore[union-attr]


# -- dockerfile-parse, the library underneath ----------------------------------------------------


def _dp_structure(text: str) -> list[tuple[str, int, int]]:
    dp = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    return [
        (d["instruction"], d["startline"] + 1, d["endline"] + 1)
        for d in dp.structure
        if d["instruction"] != "COMMENT"
    ]


def _ours(text: str) -> list[tuple[str, int, int]]:
    return [(i.keyword, i.line, i.end_line) for i in parse(text).instructions]


def test_documented_differences_from_dockerfile_parse() -> None:
    # comment lines inside a continuation: both keep the instruction going
    t = "FROM a\nRUN echo a \\\n# c\n  b\n"
    assert _dp_structure(t) == _ours(t) == [("FROM", 1, 1), ("RUN", 2, 4)]
    # an empty line inside a continuation ends it for dockerfile-parse, not for BuildKit
    t = "FROM a\nRUN echo a \\\n\n    b\nUSER x\n"
    assert _dp_structure(t) == [("FROM", 1, 1), ("RUN", 2, 3), ("B", 4, 4), ("USER", 5, 5)]
    assert _ours(t) == [("FROM", 1, 1), ("RUN", 2, 4), ("USER", 5, 5)]
    # heredoc bodies are instructions to dockerfile-parse
    t = "FROM a\nRUN <<EOF\necho hi\nEOF\nUSER x\n"
    assert _dp_structure(t) == [
        ("FROM", 1, 1),
        ("RUN", 2, 2),
        ("ECHO", 3, 3),
        ("EOF", 4, 4),
        ("USER", 5, 5),
    ]
    assert _ours(t) == [("FROM", 1, 1), ("RUN", 2, 4), ("USER", 5, 5)]
    # an escaped escape token at the end of a line does not continue for BuildKit
    t = "FROM a\nRUN echo a\\\\\nUSER x\n"
    assert _dp_structure(t) == [("FROM", 1, 1), ("RUN", 2, 3)]
    assert _ours(t) == [("FROM", 1, 1), ("RUN", 2, 2), ("USER", 3, 3)]


# -- corpus -------------------------------------------------------------------------------------

# corpus files that are wrong on purpose, with the problems they must report
EXPECTED_PROBLEMS = {
    "docker__compose/pkg/e2e/fixtures/wrong-composefile/service1/Dockerfile": [
        "unknown instruction: WRONG"
    ],
}


@cache
def _corpus_sources() -> tuple[SourceText, ...]:
    root = require_corpus()
    out = []
    for row in (root / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) > 1 and cols[1] == "dockerfile":
            out.append(SourceText.read(str(root / cols[0]), cols[0]))
    return tuple(out)


def _corpus_models() -> list[DockerfileModel]:
    return [parse_dockerfile(s) for s in _corpus_sources()]


def _check_model(m: DockerfileModel) -> None:
    text = m.source.text
    path = m.source.path
    prev_end = -1
    prev_line = 0
    covered: set[int] = set()
    for ins in m.instructions:
        sp = ins.span
        body = text[sp.start : sp.end]
        assert body.startswith(ins.raw_keyword), (path, ins.line)
        assert text[ins.keyword_span.start : ins.keyword_span.end] == ins.raw_keyword
        # the span starts at the first non-blank of its line and ends at a line end
        line_start = text.rfind("\n", 0, sp.start) + 1
        assert text[line_start : sp.start].strip() == "", (path, ins.line)
        assert sp.end == len(text) or text[sp.end] in "\r\n", (path, ins.line)
        assert text[sp.end - 1 : sp.end] != "\r"
        assert m.source.line_col(sp.start)[0] == ins.line
        assert m.source.line_col(max(sp.start, sp.end - 1))[0] == ins.end_line, (path, ins.line)
        # ordered and non-overlapping
        assert sp.start > prev_end and ins.line > prev_line, (path, ins.line)
        prev_end, prev_line = sp.end, ins.end_line
        # every argument character maps onto itself in the source, inside the spans
        for k, ch in enumerate(ins.args):
            off = ins.source_offset(k)
            assert text[off] == ch, (path, ins.line, k)
            assert ins.args_span.start <= off < ins.args_span.end
        assert ins.args_span.start >= ins.keyword_span.end and ins.args_span.end <= sp.end
        assert "\r" not in ins.args and "\n" not in ins.args
        for f in ins.flags:
            assert text[f.span.start : f.span.end].startswith("--" + f.name) or text[
                f.span.start : f.span.end
            ].lower().startswith("--" + f.name)
        for h in ins.heredocs:
            assert text[h.body_span.start : h.body_span.end] == h.body
            assert text[h.marker_span.start : h.marker_span.end].startswith("<<")
            assert sp.start <= h.body_span.start and h.span.end <= sp.end
            term = text[h.body_span.end : h.span.end]
            assert (term.lstrip("\t") if h.strip_tabs else term).rstrip("\r") == h.delimiter
        covered.update(range(ins.line, ins.end_line + 1))
    comment_lines = {line for line, _ in m.comments}
    for n, line in enumerate(m.source.lines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#") and n not in covered:
            assert n in comment_lines, (path, n)
            continue
        assert n in covered, (path, n, line)


@pytest.mark.corpus
def test_corpus_parses_with_exact_spans() -> None:
    models = _corpus_models()
    assert len(models) == 261
    for m in models:
        assert [p.message for p in m.problems] == EXPECTED_PROBLEMS.get(m.source.path, []), (
            m.source.path
        )
        if m.source.path not in EXPECTED_PROBLEMS:
            assert m.stages, m.source.path
        _check_model(m)


@pytest.mark.corpus
def test_corpus_agrees_with_dockerfile_parse_structure() -> None:
    compared = 0
    for src in _corpus_sources():
        m = parse_dockerfile(src)
        if any(i.heredocs for i in m.instructions):
            continue  # dockerfile-parse turns heredoc bodies into instructions
        dp = DockerfileParser(fileobj=io.BytesIO(src.raw))
        theirs = [d for d in dp.structure if d["instruction"] != "COMMENT"]
        assert [(d["instruction"], d["startline"] + 1, d["endline"] + 1) for d in theirs] == [
            (i.keyword, i.line, i.end_line) for i in m.instructions
        ], src.path
        for d, ins in zip(theirs, m.instructions):
            if not ins.flags:
                assert d["value"] == ins.args, (src.path, ins.line)
        compared += 1
    assert compared > 200


@pytest.mark.corpus
def test_corpus_pairs_agree_with_dockerfile_parse_util() -> None:
    checked = 0
    for m in _corpus_models():
        if m.escape != "\\":
            continue
        for ins in m.instructions:
            if ins.keyword not in ("ENV", "LABEL") or "\\" in ins.args:
                continue
            theirs = extract_key_values(False, {}, {}, ins.args)
            assert [(p.key, p.value) for p in ins.pairs()] == theirs, (m.source.path, ins.line)
            for p in ins.pairs():
                assert m.source.text[p.key_span.start : p.key_span.end].strip("\"'") == p.key
                if p.value_span is not None and ins.line == ins.end_line:
                    assert m.source.text[p.value_span.start : p.value_span.end] == p.raw_value
            checked += 1
    assert checked > 100


def _edge(name: str) -> DockerfileModel:
    d = require_corpus() / "_edge" / name
    (f,) = [p for p in d.iterdir() if p.is_file()]
    return parse_dockerfile(SourceText.read(str(f), f"_edge/{name}/{f.name}"))


@pytest.mark.corpus
def test_corpus_edge_multistage31() -> None:
    m = _edge("df-multistage31-heredoc-with-mount-arg-before-from")
    assert len(m.stages) == 31
    assert m.directives["syntax"].value == "docker/dockerfile:1"
    assert [a.pairs()[0].key for a in m.global_args] == [
        "GO_VERSION",
        "XX_VERSION",
        "GOLANGCI_LINT_VERSION",
        "ADDLICENSE_VERSION",
        "BUILD_TAGS",
        "DOCS_FORMATS",
        "LICENSE_FILES",
    ]
    xx = m.stage_named("xx")
    assert xx is not None and xx.platform == "${BUILDPLATFORM}"
    assert xx.base_resolved == "tonistiigi/xx:1.9.0"
    assert m.stage_named("base").image.tag == "1.26.6-alpine3.23"  # type: ignore[union-attr]
    assert m.stage_named("build").parent is m.stage_named("build-base")  # type: ignore[union-attr]
    assert m.stage_named("build").root_image().repository == "golang"  # type: ignore[union-attr]
    binary = m.stage_named("binary")
    assert binary is not None and binary.base_resolved == "binary-$TARGETOS"
    assert binary.parent is None and binary.image is None
    heredoc_runs = [i for i in m.instructions if i.heredocs]
    assert len(heredoc_runs) == 4
    vv = heredoc_runs[0]
    assert vv.flag("mount").options() == {"type": "bind", "target": ".", "rw": "true"}  # type: ignore[union-attr]
    assert vv.heredocs[0].delimiter == "EOT"
    assert vv.heredocs[0].body.startswith("  set -e\n  git add -A\n")
    assert vv.heredocs[0].body.endswith("    exit 1\n  fi\n")
    docs = heredoc_runs[2]
    assert len(docs.flags_named("mount")) == 2 and docs.line < docs.end_line
    assert (211, " TODO: should just use standard arch") in m.comments
    releaser = m.stage_named("releaser")
    run = next(i for i in releaser.instructions if i.keyword == "RUN")  # type: ignore[union-attr]
    assert "TODO" not in run.args
    assert m.final_stage is m.stage_named("module")


@pytest.mark.corpus
def test_corpus_edge_heredoc_healthcheck() -> None:
    m = _edge("df-heredoc-run-healthcheck-continuation")
    assert m.directives["syntax"].value == "docker/dockerfile:1.4"
    assert [s.name for s in m.stages] == ["development", "dev-envs"]
    assert m.stages[1].parent is m.stages[0]
    runs = [i for i in m.instructions if i.heredocs]
    assert [r.heredocs[0].body for r in runs] == [
        "apt-get update\napt-get install -y --no-install-recommends git\n",
        "useradd -s /bin/bash -m vscode\ngroupadd docker\nusermod -aG docker vscode\n",
    ]
    hc = only(m, "HEALTHCHECK")
    assert hc.flag("interval").value == "30s"  # type: ignore[union-attr]
    assert hc.args == "CMD node healthcheck.js"
    env = m.instructions[[i.keyword for i in m.instructions].index("ENV")]
    (p,) = env.pairs()
    assert (p.key, p.value, p.legacy) == ("NODE_ENV", "$NODE_ENV", True)


@pytest.mark.corpus
def test_corpus_edge_crlf_backtick() -> None:
    m = _edge("df-crlf-escape-backtick")
    assert m.escape == "`" and m.source.newline == "\r\n"
    runs = m.instructions_named("RUN")
    assert runs[0].args == "mkdir C:\\target"
    last = runs[-1]
    assert (last.line, last.end_line) == (14, 16)
    assert "\r" not in last.args and "`" not in last.args
    assert last.args.startswith("tar czf C:\\test.tar.gz target ;     $output")
    # the commented-out RUN with a trailing backtick is a comment, not a continuation
    assert all(i.line < 19 for i in m.instructions)
    assert any(t.startswith(" RUN Add-Type") for _, t in m.comments)


@pytest.mark.corpus
def test_corpus_edge_backtick_multiline_json() -> None:
    m = _edge("df-escape-backtick-multiline-json-cmd")
    assert m.escape == "`"
    assert [a.args for a in m.global_args] == ["tag=ltsc2016"]
    assert len(m.stages) == 2 and m.stages[0].name == "tar"
    cmd = only(m, "CMD")
    assert cmd.json == [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        "--web.console.libraries=/etc/prometheus/console_libraries",
        "--web.console.templates=/etc/prometheus/consoles",
    ]
    assert only(m, "ENTRYPOINT").json == ["C:\\bin\\prometheus.exe"]
    copies = m.instructions_named("COPY")
    assert all(c.flag("from").value == "tar" for c in copies)  # type: ignore[union-attr]
    assert [i.keyword for i in m.stages[1].instructions][:2] == ["FROM", "COPY"]


@pytest.mark.corpus
def test_corpus_edge_comment_lines_inside_continuations() -> None:
    m = _edge("df-comment-lines-inside-continuations")
    first_run = m.instructions_named("RUN")[0]
    assert (first_run.line, first_run.end_line) == (10, 16)
    assert "#" not in first_run.args
    assert "useradd -r -g postgres --uid=999" in first_run.args
    second = m.instructions_named("RUN")[1]
    assert "gnupg \t\tless" in second.args
    assert (
        12,
        " https://salsa.debian.org/postgresql/postgresql-common/blob/997d842ee744687d99a2b2d95c1083a2615c79e8/debian/postgresql-common.postinst#L32-35",
    ) in m.comments
    (p,) = m.instructions_named("ENV")[0].pairs()
    assert (p.key, p.value, p.legacy) == ("GOSU_VERSION", "1.19", True)


@pytest.mark.corpus
def test_corpus_edge_powershell_backslash() -> None:
    m = _edge("df-powershell-shell-backslash-cont")
    shell = only(m, "SHELL")
    assert shell.json is not None and shell.json[0] == "powershell"
    run = only(m, "RUN")
    assert run.line == 17 and run.end_line == 63
    assert run.args.startswith(
        "$url = ('https://www.python.org/ftp/python/{0}/python-{1}-amd64.exe'"
    )
    assert run.args.endswith("Write-Host 'Complete.'")
    assert "the installer updated PATH" not in run.args
    assert "'TargetDir=C:\\Python'," in run.args
    assert only(m, "CMD").json == ["python"]


@pytest.mark.corpus
def test_corpus_edge_lowercase_legacy_label_env() -> None:
    m = _edge("df-lowercase-instruction-legacy-label-env")
    low = [i for i in m.instructions if i.raw_keyword == "run"]
    assert len(low) == 1 and low[0].keyword == "RUN" and (low[0].line, low[0].end_line) == (22, 27)
    (label,) = only(m, "LABEL").pairs()
    assert (label.key, label.value) == ("maintainer", "Jessie Frazelle <jess@linux.com>")
    (env,) = only(m, "ENV").pairs()
    assert (env.key, env.value, env.legacy) == ("HOME", "/home/mpd", True)
    assert m.instructions[0].keyword == "FROM" and m.instructions[0].line == 11


@pytest.mark.corpus
def test_corpus_edge_comment_line_ending_backslash() -> None:
    m = _edge("df-comment-line-ending-backslash")
    assert m.instructions[0].keyword == "FROM" and m.instructions[0].line == 27
    assert len(m.comments) >= 26
    env = only(m, "ENV")
    assert [(p.key, p.value) for p in env.pairs()] == [
        ("LDAP_ROOTPASS", "fsociety"),
        ("LDAP_ORGANIZATION", "E CORP"),
        ("LDAP_DOMAIN", "mr.robot.com"),
    ]
    run = only(m, "RUN")
    assert "--no-install-recommends" in run.args and (run.line, run.end_line) == (30, 35)


@pytest.mark.corpus
def test_corpus_edge_no_final_newline() -> None:
    m = _edge("df-no-final-newline-multistage")
    assert not m.source.ends_with_newline
    last = m.instructions[-1]
    assert last.span.end == len(m.source.text)
    assert last.json == ["dotnet", "aspnetapp.dll"]
    assert [s.name for s in m.stages] == ["base", "build", "publish", "final"]
    assert m.stages[3].parent is m.stages[0]
    assert m.stages[3].root_image().registry == "mcr.microsoft.com"  # type: ignore[union-attr]


@pytest.mark.corpus
def test_corpus_edge_containerfile() -> None:
    m = _edge("df-containerfile-name-multistage-arg-before-from")
    assert m.source.path.endswith("Containerfile")
    assert len(m.stages) == 3
    assert [a.args for a in m.global_args] == ["PYTHON_VERSION=3.14.2", "DEBIAN_BASE=bookworm"]
    assert m.stages[0].base_resolved == "python:3.14.2-slim-bookworm"
    assert m.stages[0].image is not None and m.stages[0].image.tag == "3.14.2-slim-bookworm"
    big = max(m.instructions, key=lambda i: i.end_line - i.line)
    assert big.keyword == "RUN" and "# For backups" not in big.args and "restic" in big.args
    secrets = [
        f
        for i in m.instructions
        for f in i.flags_named("mount")
        if f.options().get("type") == "secret"
    ]
    assert secrets
    assert secrets[0].options()["id"] == "apps_json"
    assert m.stages[1].parent is m.stages[0] and m.stages[2].parent is m.stages[0]
    assert m.stages[2].root_image() == m.stages[0].image


# -- robustness ---------------------------------------------------------------------------------

_FRAGMENTS = [
    "FROM a",
    "from b AS c",
    "RUN x",
    "run <<EOF",
    "RUN <<-'T' y",
    "EOF",
    "\tT",
    "COPY <<a <<b /d",
    "a",
    "b",
    " \\",
    "\\",
    "`",
    "# c \\",
    "# escape=`",
    "# syntax=x",
    'ENV A=1 B="x',
    "LABEL k v",
    "ARG Z",
    'CMD ["a", ',
    '"b"]',
    "--mount=type=cache",
    "  ",
    "",
    "\r",
    "'",
    '"',
    "ONBUILD RUN <<E",
    "E",
]


@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=14),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_fuzz_invariants(parts: list[str], nl: str, final_nl: bool) -> None:
    text = nl.join(parts) + (nl if final_nl and parts else "")
    m = parse(text)
    prev = -1
    for ins in m.instructions:
        kw = text[ins.keyword_span.start : ins.keyword_span.end]
        assert kw == ins.raw_keyword or "\n" in kw
        assert text[ins.span.start : ins.span.end].startswith(kw)
        assert ins.span.start > prev
        prev = ins.span.end
        assert ins.line <= ins.end_line
        for k, ch in enumerate(ins.args):
            assert text[ins.source_offset(k)] == ch
        ins.source_offset(len(ins.args))
        ins.pairs()
        ins.words()
        for h in ins.heredocs:
            assert text[h.body_span.start : h.body_span.end] == h.body
    for s in m.stages:
        s.root_image()
