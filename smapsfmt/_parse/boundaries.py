"""Where entries start: header lines as the grammar lexes them, for the stream's cuts."""

from __future__ import annotations

import re
from functools import cache

from .generic import bytes_pattern, lines
from .shapes import learners

__all__ = ["is_header", "next_header", "split_complete"]


@cache
def _header_start() -> re.Pattern[bytes]:
    """A newline followed by the start of a header (two addresses)."""
    return bytes_pattern(f"\\n(?={lines().address}-{lines().address} )")


def is_header(data: bytes, end: int) -> bool:
    """``data[:end]`` is a header line, as the grammar lexes one."""
    return learners()["HEADER"].fullmatch(data, 0, end) is not None


def next_header(data: bytes, pos: int, end: int) -> int:
    """Where the first header after the newline at or after ``pos`` starts; ``end`` if none."""
    found = _header_start().search(data, pos, end)
    return end if found is None else found.start() + 1


def split_complete(text: bytes) -> int:
    """Where the last header of ``text`` starts (0 if none after the first line): everything
    before it is a whole number of entries, when ``text`` is the start of a smaps."""
    last = 0
    # Search backwards in growing windows: the last header is usually near the end.
    window = 4096
    while True:
        start = max(0, len(text) - window)
        found = [m.start() for m in _header_start().finditer(text, start)]
        if found:
            last = found[-1] + 1
            break
        if start == 0:
            break
        window *= 4
    return last
