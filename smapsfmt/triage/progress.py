"""Progress of long work on standard error, only when it is a terminal.

``with Progress("reading processes") as p: ... p.update(done, total)`` redraws one line
(``smapsfmt: reading processes: 40/120``) at most ten times a second, and erases it at the end,
so that nothing is left between the command and its output. Standard error that is not a
terminal (a pipe, a file, a test) gets nothing.
"""

from __future__ import annotations

import sys
import time

from .._cli.streams import stderr_is_terminal

__all__ = ["Progress"]

_EVERY = 0.1  # seconds between two redraws


class Progress:
    def __init__(self, label: str) -> None:
        self.label = label
        self.active = stderr_is_terminal()
        self._last = -1.0
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._drawn:
            self._write("\r\x1b[K")

    def update(self, done: int, total: int, item: str = "") -> None:
        if not self.active:
            return
        now = time.monotonic()
        if self._drawn and now - self._last < _EVERY and done != total:
            return
        self._last = now
        self._drawn = True
        tail = f" {item}" if item else ""
        self._write(f"\r\x1b[Ksmapsfmt: {self.label}: {done}/{total}{tail}"[:200])

    @staticmethod
    def _write(text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
