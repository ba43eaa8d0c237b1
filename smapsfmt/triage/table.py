"""The three output forms shared by summary, ps and diff: an aligned text table, CSV, JSON."""

from __future__ import annotations

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["csv_text", "json_text", "text_table"]


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[int] = (-1,)
) -> str:
    """Columns separated by two spaces, numbers right-aligned; the columns ``left`` (default:
    the last, the name) left-aligned, the last one not padded. Every row has a cell for each
    header (a missing one is a ValueError): each line is laid out by one format call."""
    count = len(headers)
    lefts = {i % count for i in left}
    widths = [max(map(len, column)) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(
        ("{}" if i == count - 1 else f"{{:<{width}}}") if i in lefts else f"{{:>{width}}}"
        for i, width in enumerate(widths)
    ).format
    return "".join([line(*row).rstrip() + "\n" for row in [headers, *rows]])


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV with a header line; None is an empty cell."""
    import csv  # here, as json below: only the output asked for is loaded (ps's start-up)
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue()


def json_text(value: Any) -> str:
    """``json.dumps(value, indent=1, ensure_ascii=False)`` and a newline. Plain data (dicts
    with str keys, lists, str, int, bool, None: every output of ps) is written here, without
    the json module, whose import (re, with enum) costs ``smapsfmt ps --format json`` more
    than all of its own start-up; anything else (a float, ...) by json itself."""
    pieces: list[str] = []
    try:
        _json(value, "\n", pieces)
    except (_NotPlain, RecursionError):  # json says what it makes of them
        import json

        return json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    pieces.append("\n")
    return "".join(pieces)


class _NotPlain(Exception):
    """A value json_text leaves to the json module."""


# What json's encoder escapes with ensure_ascii=False (json/encoder.py ESCAPE, ESCAPE_DCT): the
# quote, the backslash and the C0 controls, these five by their short names.
_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in range(32)}
_JSON_ESCAPES.update(
    {ord('"'): '\\"', ord("\\"): "\\\\", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}
)


def _json(value: Any, newline: str, pieces: list[str]) -> None:
    kind = type(value)
    if kind is str:
        pieces.append(f'"{value.translate(_JSON_ESCAPES)}"')
    elif kind is int:
        pieces.append(int.__repr__(value))
    elif value is None or kind is bool:
        pieces.append("null" if value is None else "true" if value else "false")
    elif kind is dict:
        if not value:
            pieces.append("{}")
            return
        inner = newline + " "
        before = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            pieces.append(f'{before}"{key.translate(_JSON_ESCAPES)}": ')
            _json(item, inner, pieces)
            before = "," + inner
        pieces.append(newline + "}")
    elif kind is list:
        if not value:
            pieces.append("[]")
            return
        inner = newline + " "
        before = "[" + inner
        for item in value:
            pieces.append(before)
            _json(item, inner, pieces)
            before = "," + inner
        pieces.append(newline + "]")
    else:
        raise _NotPlain


def number(value: int | None) -> str:
    return "" if value is None else str(value)


# Control characters as escapes (\n, \t, \x1b, ...), so that a name or command line cannot
# break a line of the table or drive the terminal.
_CONTROLS = {c: repr(chr(c))[1:-1] for c in [*range(32), 127]}


def printable(text: str) -> str:
    # isprintable() is False for every character _CONTROLS replaces (category Cc): a text it
    # passes is returned as it is, without a translation per character (ps prints hundreds of
    # command lines).
    return text if text.isprintable() else text.translate(_CONTROLS)
