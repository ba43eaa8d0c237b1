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
    the last, the name) left-aligned, the last one not padded."""
    count = len(headers)
    lefts = {i % count for i in left}
    if all(len(row) == count for row in rows):  # every row whole: one format call per line
        widths = [max(map(len, column)) for column in zip(headers, *rows, strict=True)]
        line = "  ".join(
            ("{}" if i == count - 1 else f"{{:<{width}}}") if i in lefts else f"{{:>{width}}}"
            for i, width in enumerate(widths)
        ).format
        return "".join([line(*row).rstrip() + "\n" for row in [headers, *rows]])
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = []
        for i, cell in enumerate(row):
            if i in lefts:
                cells.append(cell if i == count - 1 else cell.ljust(widths[i]))
            else:
                cells.append(cell.rjust(widths[i]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


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
    import json

    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


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
