"""The one error type of the parser."""

from __future__ import annotations

__all__ = ["SmapsSyntaxError"]


class SmapsSyntaxError(ValueError):
    """The text is not a smaps or smaps_rollup file.

    ``line`` and ``column`` are 1-based; columns count bytes of the input, as the kernel wrote
    it. ``path`` names the input when the caller gave one. ``msg`` is the bare message, and
    ``str(error)`` renders it for people: ``PATH:LINE:COL: message``, then the offending line and
    a caret under the column.
    """

    def __init__(
        self,
        msg: str,
        *,
        line: int,
        column: int,
        source_line: str = "",
        path: str | None = None,
    ) -> None:
        self.msg = msg
        self.line = line
        self.column = column
        self.source_line = source_line
        self.path = path
        super().__init__(self.render())

    @property
    def location(self) -> str:
        """``PATH:LINE:COL`` (``<data>`` when no path was given)."""
        return f"{self.path if self.path is not None else '<data>'}:{self.line}:{self.column}"

    def render(self) -> str:
        head = f"{self.location}: {self.msg}"
        if not self.source_line and self.column <= 1:
            return head
        shown, caret = _show(self.source_line, self.column)
        return f"{head}\n    {shown}\n    {caret}^"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (
            _rebuild,
            (self.msg, self.line, self.column, self.source_line, self.path),
        )


def _rebuild(
    msg: str, line: int, column: int, source_line: str, path: str | None
) -> SmapsSyntaxError:
    return SmapsSyntaxError(msg, line=line, column=column, source_line=source_line, path=path)


_MAX_SHOWN = 160


def _show(source_line: str, column: int) -> tuple[str, str]:
    """The line as people should see it and the blanks that put a caret under ``column``.

    ``source_line`` holds one character per input byte (latin-1). Bytes that are not printable
    ASCII are shown escaped, so that the caret lines up and control characters do no harm.
    Very long lines are cut around the column.
    """
    start = 0
    if len(source_line) > _MAX_SHOWN:
        start = max(0, min(column - 1 - _MAX_SHOWN // 2, len(source_line) - _MAX_SHOWN))
    piece = source_line[start : start + _MAX_SHOWN]
    shown: list[str] = []
    caret = ""
    for offset, char in enumerate(piece):
        text = char if " " <= char <= "~" else _escape(char)
        if start + offset < column - 1:
            caret += " " * len(text)
        shown.append(text)
    if start + len(piece) < column - 1:
        caret += " " * (column - 1 - start - len(piece))
    prefix = "..." if start else ""
    suffix = "..." if start + len(piece) < len(source_line) else ""
    return prefix + "".join(shown) + suffix, " " * len(prefix) + caret


def _escape(char: str) -> str:
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{ord(char):02x}"
