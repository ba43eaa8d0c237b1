"""The model, built from the grammar's tokens (one token per line of an entry)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import SmapsSyntaxError
from .._model import Mapping, known_fields
from .._spec import grammar as _grammar
from .diagnose import source_line
from .values import MAX_HEX_DIGITS

if TYPE_CHECKING:
    import lark

__all__ = ["Builder", "name_value", "pathname_column", "token_line"]


class Builder:
    """Builds models from the tokens of ``text``, which starts at line ``offset + 1`` of the
    input."""

    def __init__(self, text: str, path: str | None, offset: int = 0) -> None:
        self.text = text
        self.path = path
        self.offset = offset
        patterns = _grammar.line_patterns()
        self.header_match = patterns["HEADER"].regex.match

    def line(self, token: lark.Token) -> int:
        """The token's line in the whole input."""
        return token_line(token) + self.offset

    def error(self, line: int, column: int, msg: str) -> SmapsSyntaxError:
        """An error at ``line`` of the whole input."""
        return SmapsSyntaxError(
            msg, line=line, column=column,
            source_line=source_line(self.text, line - self.offset),
            path=self.path,
        )  # fmt: skip

    def header(self, token: lark.Token) -> dict[str, Any]:
        match = self.header_match(token)
        assert match is not None, "the grammar accepted this header"
        major, minor = match["device"].split(":")
        pathname = match["pathname"] or ""
        device = match.start("device")
        return {
            "line": self.line(token),
            "start": int(match["start"], 16),
            "end": int(match["end"], 16),
            "perms": match["perms"],
            "offset": self.hexadecimal(
                token, match["offset"], match.start("offset"), "the offset"
            ),
            "major": self.hexadecimal(token, major, device, "the device major"),
            "minor": self.hexadecimal(token, minor, device + len(major) + 1, "the device minor"),
            "inode": self.decimal(token, match["inode"], match.start("inode"), "the inode"),
            "pathname": pathname.lstrip(" ").encode("latin-1"),
        }

    def hexadecimal(self, token: lark.Token, digits: str, start: int, what: str) -> int:
        """``int(digits, 16)``, or a located error for a number too long for Python to print
        in decimal (see MAX_HEX_DIGITS)."""
        if len(digits) > MAX_HEX_DIGITS:
            raise self.error(
                self.line(token), start + 1,
                f"{what} has {len(digits)} hex digits: far beyond any number the kernel prints",
            )  # fmt: skip
        return int(digits, 16)

    def decimal(self, token: lark.Token, digits: str, start: int, what: str) -> int:
        """``int(digits)``, or a located error where Python refuses the conversion (more than
        sys.get_int_max_str_digits() digits, 4300 by default)."""
        try:
            return int(digits)
        except ValueError:
            raise self.error(
                self.line(token), start + 1,
                f"{what} has {len(digits)} digits: far beyond any number the kernel prints "
                "(a 64-bit counter has at most 20)",
            ) from None  # fmt: skip

    def fields(self, tokens: list[lark.Token]) -> tuple[dict[str, int], tuple[str, ...]]:
        values: dict[str, int] = {}
        unknown: list[str] = []
        for token in tokens:
            label, _, rest = token.partition(":")
            if label in values:
                first = next(self.line(t) for t in tokens if t.partition(":")[0] == label)
                raise self.error(
                    self.line(token), 1, f"field {label!r} appears twice in one entry (first at "
                    f"line {first})",
                )  # fmt: skip
            digits = rest.split()[0]
            start = token.index(digits, len(label) + 1)
            values[label] = self.decimal(token, digits, start, f"the value of {label!r}")
            if label not in known_fields():
                unknown.append(token.rstrip("\n"))
        return values, tuple(unknown)

    def mapping(self, tokens: list[lark.Token]) -> Mapping:
        header = self.header(tokens[0])
        name: bytes | None = None
        name_after = False
        vmflags: tuple[str, ...] | None = None
        body = tokens[1:]
        if body and body[0].type == "NAME_LINE":
            name = name_value(body[0])
            body = body[1:]
        if body and body[-1].type == "NAME_LINE":
            if name is not None:
                raise self.error(self.line(body[-1]), 1, "a second Name line in one entry")
            name = name_value(body[-1])
            name_after = True
            body = body[:-1]
        if body and body[-1].type == "VMFLAGS_LINE":
            vmflags = tuple(body[-1][len("VmFlags:") :].split())
            body = body[:-1]
        fields, unknown = self.fields(body)
        return Mapping(
            **header,
            fields=fields,
            unknown_lines=unknown,
            vmflags=vmflags,
            name=name,
            name_after_fields=name_after,
        )


def token_line(token: lark.Token) -> int:
    assert token.line is not None, "lark counts lines"
    return token.line


def name_value(token: lark.Token) -> bytes:
    value = token[len("Name:") :].lstrip(" \t")
    if value.endswith("\n"):
        value = value[:-1]
    return value.encode("latin-1")


def pathname_column(token: lark.Token) -> int:
    match = _grammar.line_patterns()["HEADER"].regex.match(token)
    assert match is not None
    if match["pathname"] is None:
        return len(token.rstrip("\n")) + 1
    start = match.start("pathname")
    return start + len(match["pathname"]) - len(match["pathname"].lstrip(" ")) + 1
