"""Bounds on what smapsfmt holds of one input, derived from what a kernel can print.

MAX_LINE: the longest line any kernel prints in smaps or smaps_rollup, with a wide margin. The
longest is a file mapping's header: a prefix padded to 73 columns (more with a 20-digit inode)
and a pathname that ``d_path`` writes into a buffer of PATH_MAX = 4096 bytes
(include/uapi/linux/limits.h; fs/d_path.c, which may append `` (deleted)``). ``show_map_vma``
prints it with ``seq_file_path(m, file, "\\n")`` (fs/proc/task_mmu.c, 4.x-6.18), and
``mangle_path`` (fs/seq_file.c) writes each newline byte as the four bytes ``\\012``: at most
4 * 4095 + 10 bytes of name, under 16.5 KiB of line. Android's ``[anon:NAME]`` reads at most
NAME_MAX (255) bytes of the name. A line longer than MAX_LINE is therefore not smaps text, and
smapsfmt refuses it at its offset instead of holding it.
"""

from __future__ import annotations

from ._errors import SmapsSyntaxError

__all__ = ["MAX_LINE", "first_long_line", "line_too_long"]

MAX_LINE = 65536


def first_long_line(data: bytes, start: int = 0, end: int | None = None) -> int | None:
    """Where the first line of ``data[start:end]`` longer than MAX_LINE bytes starts (its
    newline not counted; a last line without one counts too), or None. ``start`` is the start
    of a line.

    Linear, and reading little: a line longer than MAX_LINE holds a whole block of
    ``(MAX_LINE + 1) // 2`` bytes counted from the start of any earlier line, so only blocks
    without a newline are looked at more closely.
    """
    end = len(data) if end is None else end
    step = (MAX_LINE + 1) // 2
    pos = start
    while pos + step <= end:
        if data.find(b"\n", pos, pos + step) >= 0:
            pos += step
            continue
        line_start = max(start, data.rfind(b"\n", start, pos) + 1)
        # Looked for no further than the bound: an endless line costs what the bound costs.
        bound = min(end, line_start + MAX_LINE + 1)
        line_end = data.find(b"\n", pos + step, bound)
        if line_end < 0:
            line_end = bound
        if line_end - line_start > MAX_LINE:
            return line_start
        pos = line_end + 1
    return None


def line_too_long(
    data: bytes, offset: int, *, first_line: int = 1, path: str | None = None
) -> SmapsSyntaxError:
    """The error for the line starting at ``offset`` of ``data``, longer than MAX_LINE
    (``data`` starts at line ``first_line`` of the input): located at the first byte past the
    bound. The one message of every reader."""
    line = first_line + data.count(b"\n", 0, offset)
    shown = data[offset : offset + MAX_LINE + 1].decode("latin-1")
    return SmapsSyntaxError(
        f"line longer than {MAX_LINE} bytes: no kernel prints one",
        line=line,
        column=MAX_LINE + 1,
        source_line=shown,
        path=path,
    )
