"""lark's errors, turned into located messages: which line, which column, what was expected."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from .._errors import SmapsSyntaxError
from .._spec import grammar as _grammar
from .._spec.header import HeaderPart, header_words, parser_parts

if TYPE_CHECKING:
    import lark

__all__ = ["grammar_tokens", "source_line"]


def grammar_tokens(
    text: str, start: str, path: str | None, offset: int = 0
) -> list[list[lark.Token]]:
    """The tokens of each entry, one token per line; SmapsSyntaxError where the text is not
    in the grammar's language."""
    import lark

    try:
        tree = _grammar.parser().parse(text, start=start)
        return [cast("list[lark.Token]", entry.children) for entry in tree.children]  # type: ignore[union-attr]
    except lark.exceptions.UnexpectedCharacters as exc:
        line_text = source_line(text, exc.line)
        column, msg = _diagnose_line(line_text)
        raise SmapsSyntaxError(
            msg, line=exc.line + offset, column=column, source_line=line_text, path=path
        ) from None
    except lark.exceptions.UnexpectedToken as exc:
        line, column, msg = _unexpected_token(text, start, exc, offset)
        raise SmapsSyntaxError(
            msg,
            line=line + offset,
            column=column,
            source_line=source_line(text, line),
            path=path,
        ) from None
    except lark.exceptions.UnexpectedInput as exc:  # pragma: no cover - other lark errors
        line = max(getattr(exc, "line", 1), 1)
        raise SmapsSyntaxError(
            "not smaps syntax", line=line + offset, column=max(getattr(exc, "column", 1), 1),
            source_line=source_line(text, line), path=path,
        ) from None  # fmt: skip


_KIND = {
    "HEADER": "a mapping header",
    "KB_FIELD": "a field line",
    "PLAIN_FIELD": "a field line",
    "VMFLAGS_LINE": "the VmFlags line",
    "NAME_LINE": "a Name line",
    "$END": "the end of the input",
}


def _unexpected_token(
    text: str, start: str, exc: lark.exceptions.UnexpectedToken, offset: int
) -> tuple[int, int, str]:
    """Local line and column of an unexpected line, and the message (which names lines of the
    whole input: ``offset`` is added to local line numbers)."""
    token = exc.token
    kinds = {_KIND.get(name, name) for name in exc.expected}
    expected = sorted(kinds, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k))
    found = _KIND.get(token.type, token.type)
    if token.type == "$END":
        lines = text.split("\n")
        if lines[-1]:  # no final newline: the end is after the last character
            line, column = len(lines), len(lines[-1]) + 1
        else:
            line, column = len(lines), 1
        header = _last_header_line(lines) + offset
        return (
            line,
            column,
            (
                f"unexpected end of the input: the mapping header at line {header} has no field "
                "lines"
            ),
        )
    line, column = token.line, token.column
    if token.type in ("KB_FIELD", "PLAIN_FIELD"):
        label = token.partition(":")[0]
        found = f"the field line {label!r}"
    if start == "rollup" and token.type == "HEADER":
        return line, column, "a second entry: a smaps_rollup has exactly one"
    hint = ""
    if token.type == "HEADER" and "a field line" in expected:
        hint = "; the entry above has no field lines"
    elif token.type in ("KB_FIELD", "PLAIN_FIELD") and "a field line" not in expected:
        hint = (
            f"; every entry starts with a header '{header_words()}'"
            if line == 1
            else "; the VmFlags line ends an entry"
        )
    elif token.type == "VMFLAGS_LINE":
        hint = "; an entry has one VmFlags line, after its fields"
    elif token.type == "NAME_LINE":
        hint = "; the Name line comes right after the header or ends the entry"
    return line, column, f"expected {' or '.join(expected)}, found {found}{hint}"


def _last_header_line(lines: list[str]) -> int:
    header = _grammar.line_patterns()["HEADER"].regex
    for index in range(len(lines) - 1, -1, -1):
        if header.match(lines[index]):
            return index + 1
    return 1  # pragma: no cover - $END is only unexpected right after a header


_ORDER = ["a field line", "a mapping header", "the VmFlags line", "a Name line"]

_HEX_RUN = re.compile(r"[0-9A-Fa-f]*")
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*:")


def _diagnose_line(line: str) -> tuple[int, str]:
    """Column and message for a line that is none of the four kinds of line."""
    if line.endswith("\r"):
        return len(line), (
            "carriage return before the newline: the kernel ends lines with \\n alone "
            "(was the file converted to CRLF line endings?)"
        )
    if not line:
        return 1, "empty line: the kernel prints none"
    if line.startswith("VmFlags:"):
        return _diagnose_vmflags(line)
    label = _LABEL.match(line)
    if label:
        return _diagnose_field(line, label.group()[:-1], label.end())
    run = _HEX_RUN.match(line)
    start, end = parser_parts()[:2]
    if run and run.end() and line[run.end() :].startswith(end.before):  # the range's "-"
        return _diagnose_header(line)
    width = start.conversions[0].width  # %08lx: a header's first hex run
    if run and len(run.group()) >= width and not line[run.end() :].startswith(":"):
        return _diagnose_header(line)
    return 1, (
        f"not a smaps line: expected a mapping header '{header_words()}', a field line "
        "'Name: VALUE kB', a VmFlags line or a Name line"
    )


def _diagnose_header(line: str) -> tuple[int, str]:
    """Where a header line stops being one, and why: each part as the parser's header format
    prints it (smapsfmt._spec.header: the message of its conversion and its name)."""
    pattern = _grammar.line_patterns()["HEADER"]
    parts = {part.name: part for part in parser_parts()}
    pos = 0
    previous = parser_parts()[0].short
    for group, regex in pattern.parts:
        if group == "?":
            match = re.compile(regex).match(line, pos)
            if match is None or not match.group():
                if pos < len(line) and line[pos] != " ":
                    return pos + 1, f"expected a blank after {previous}"
            else:
                pos = match.end()
            continue
        if group is None and regex == _grammar.terminal_regexps()["EOL"]:
            if pos < len(line):
                if line[pos] == "\x00":
                    return pos + 1, "NUL byte in the mapping name"
                return pos + 1, "unexpected text at the end of the header"
            return len(line) + 1, "invalid header"  # pragma: no cover - grammar accepted it
        match = re.compile(regex).match(line, pos)
        if match is None:
            if group is None:
                literal = re.sub(r"\\(.)", r"\1", regex)
                shown = "a blank" if literal == " " else repr(literal)
                return pos + 1, f"expected {shown} after {previous}"
            return pos + 1, _header_part_problem(parts[group], line, pos)
        if group in parts and parts[group].bounded:
            digits = _HEX_RUN.match(line, pos)
            assert digits is not None
            if digits.end() > match.end():
                return pos + 1, _header_part_problem(parts[group], line, pos)
        if group:
            previous = parts[group].short
        pos = match.end()
    return 1, "invalid mapping header"  # pragma: no cover - the grammar accepted it


def _header_part_problem(part: HeaderPart, line: str, pos: int) -> str:
    msg = part.expected
    if part.kind in ("hex", "device"):
        digits = _HEX_RUN.match(line, pos)
        assert digits is not None
        run = digits.group()
        if run != run.lower():
            return f"{msg} (the kernel prints hex in lowercase)"
        if part.bounded and run:
            conversion = part.conversions[0]
            if not conversion.width <= len(run) <= conversion.max_digits:
                return f"{msg}, found {len(run)}"
    found = line[pos:].split(" ", 1)[0][:20]
    return f"{msg}, found {found!r}" if found else f"{msg}, found the end of the line"


def _diagnose_field(line: str, label: str, pos: int) -> tuple[int, str]:
    if label == "Name":
        return pos + 1, "expected blanks after 'Name:', then the mapping name"
    blanks = re.compile(r"[ \t]*").match(line, pos)
    assert blanks is not None
    if not blanks.group():
        return pos + 1, f"expected blanks between '{label}:' and its value"
    pos = blanks.end()
    digits = re.compile(r"[0-9]*").match(line, pos)
    assert digits is not None
    if not digits.group():
        found = line[pos : pos + 12]
        if found.startswith("-"):
            return pos + 1, f"negative value for {label!r}: the kernel prints unsigned decimals"
        what = repr(found) if found else "the end of the line"
        return pos + 1, f"expected a decimal value after '{label}:', found {what}"
    pos = digits.end()
    rest = line[pos:]
    if rest[:1].isalnum():
        word = line[digits.start() :].split(" ", 1)[0][:20]
        return pos + 1, f"expected a decimal value after '{label}:', found {word!r}"
    if rest.startswith(" kB"):
        return pos + 4, f"unexpected text after '{label}:' value and its unit ' kB'"
    if rest.lower().startswith((" kb", " mb", " gb", " b")) or rest.startswith(" "):
        return pos + 1, f"expected ' kB' or the end of the line after the value of {label!r}"
    return pos + 1, f"expected ' kB' or the end of the line after the value of {label!r}"


def _diagnose_vmflags(line: str) -> tuple[int, str]:
    pos = len("VmFlags:")
    while pos < len(line):
        if line[pos] != " ":
            word = line[pos - 2 :].split(" ", 1)[0][:20]
            return pos + 1, f"VmFlags mnemonics have two characters, found {word!r}"
        pos += 1
        if pos == len(line):
            break
        flag = line[pos : pos + 2]
        if len(flag) < 2 or not all("!" <= c <= "~" for c in flag):
            return pos + 1, (
                f"expected a two-character VmFlags mnemonic, found {line[pos : pos + 4]!r}"
            )
        pos += 2
    return len(line) + 1, "invalid VmFlags line"  # pragma: no cover


def source_line(text: str, line: int) -> str:
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found < 0:
            return ""
        start = found + 1
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]
