"""Text the fast paths do not take, cut into entries and parsed one by one, so that every broken
entry is reported, not only the first."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

from .._errors import SmapsSyntaxError
from .._spec.header import entry_starts
from .findings import SYNTAX, Context

__all__ = ["HEADER_START", "chunks", "first_syntax_error", "parse_chunk"]

# Where a new entry may start, for cutting text the fast path did not take into entries
# (``^[0-9a-fA-F]{4,}-``, from the profile's header format).
HEADER_START = entry_starts()


def chunks(text: str, start: int, end: int, first_line: int) -> Iterator[tuple[int, int, int]]:
    """``(start, end, line)`` of each entry-sized piece of ``text[start:end]``: cut before every
    line that looks like a header."""
    cuts = [m.start() for m in HEADER_START.finditer(text, start, end) if m.start() > start]
    bounds = [start, *cuts, end]
    line = first_line
    for a, b in itertools.pairwise(bounds):
        if a < b:
            yield a, b, line
            line += text.count("\n", a, b)


def parse_chunk(
    context: Context,
    chunk: str,
    line: int,
    kind: str,
    first_error: Callable[[], SmapsSyntaxError | None] | None = None,
) -> Any:
    """The entry in ``chunk`` (Mapping or Rollup), or None after a syntax diagnostic.

    The chunk is parsed alone, so that every broken entry is reported, not only the first.
    Where the whole text's first syntax error (``first_error()``) falls in this chunk, that
    error is reported instead, word for word what ``parse_smaps`` says (the grammar may see
    the entry's end differently when it sees what follows).
    """
    from .._parse.parser import parse_rollup, parse_smaps

    try:
        if kind == "rollup":
            return parse_rollup(chunk)
        mappings = parse_smaps(chunk)
    except SmapsSyntaxError as exc:
        _syntax(context, exc, chunk, line, first_error)
        return None
    return mappings[0] if len(mappings) == 1 else None


def _syntax(
    context: Context,
    exc: SmapsSyntaxError,
    chunk: str,
    line: int,
    first_error: Callable[[], SmapsSyntaxError | None] | None,
) -> None:
    """Report ``exc`` (from parsing ``chunk`` alone, which starts at ``line``) in the text's
    own lines; the whole text's first error where it falls in this chunk."""
    shift = line - 1
    first = first_error() if first_error is not None else None
    last = line + chunk.count("\n")
    if first is not None and line <= first.line <= last:
        context.add(first.line, first.column, SYNTAX, first.msg)
        return
    msg = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) + shift}", exc.msg)
    context.add(exc.line + shift, exc.column, SYNTAX, msg)


def first_syntax_error(text: str) -> SmapsSyntaxError | None:
    from .._parse.parser import parse_smaps

    try:
        parse_smaps(text)
    except SmapsSyntaxError as exc:
        return exc
    return None
