"""Hold a process still while its files are read, and say what the hold achieved.

One home for the freeze around a read: ``snapshot`` reads smaps and smaps_rollup inside it,
``Process.frozen()`` runs the caller's own reads inside it. Whether the process may be frozen
at all, the Ctrl-Z held back meanwhile, the release, and the words of every outcome are here;
how a freeze is made is ``freeze.py``.
"""

from __future__ import annotations

import contextlib
import time

from .errors import ProcError

TYPE_CHECKING = False  # not from typing (mypy knows the idiom)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from .freeze import Freezer
    from .proc import ProcDir

__all__ = ["Freeze", "hold", "time_limit"]


def time_limit(timeout: float) -> float:
    """The freeze time limit, checked: finite and above 0, capped at ``threading.TIMEOUT_MAX``
    (the longest a thread can wait: about 292 years here; ``Event.wait`` raises beyond it)."""
    import math

    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(
            f"the freeze time limit must be a finite number of seconds above 0, not {timeout!r}"
        )
    import threading  # here: only a freeze needs it, and a sweep of every process imports proc

    return min(float(timeout), threading.TIMEOUT_MAX)


class Freeze:
    """What a freeze achieved (``Process.frozen()``), read-only.

    ``frozen``: every thread of the process is held stopped (ptrace); inside the block, from
    its start; after it, True only if they were held until its end. ``consistent``: known
    after the block: the process could not run during it (frozen throughout, or stopped by
    someone else before and after). ``note``: why not frozen (None when frozen), in the words
    of ``Snapshot.note``.
    """

    __slots__ = ("consistent", "frozen", "note", "pid")

    pid: int
    frozen: bool
    consistent: bool
    note: str | None

    def __init__(self, pid: int, *, frozen: bool, consistent: bool, note: str | None) -> None:
        self._set(pid=pid, frozen=frozen, consistent=consistent, note=note)

    def _set(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Freeze is read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        return (
            f"Freeze(pid={self.pid}, frozen={self.frozen}, consistent={self.consistent}, "
            f"note={self.note!r})"
        )


@contextlib.contextmanager
def hold(proc: ProcDir, *, freeze: bool, timeout: float) -> Iterator[Freeze]:
    """Run the block with the process of ``proc`` frozen, if asked and allowed; the Freeze
    says how it went. ``timeout`` is checked by the caller (``time_limit``)."""
    from . import freeze as _freeze

    assert isinstance(proc.pid, int)
    note: str | None = "not frozen: freezing was not asked for" if not freeze else None
    freezer: Freezer | None = None
    stopped_before = False
    if freeze:
        why = _freeze.why_not(proc.pid, [proc.first.state], proc.read_file("status"))
        if why is not None:
            note = f"not frozen: {why}"
            stopped_before = proc.first.state == "T"
        else:
            freezer = _freeze.Freezer(proc.pid, timeout, proc.list_threads, proc.thread_state)
    outcome = Freeze(proc.pid, frozen=False, consistent=False, note=note)
    # Ctrl-Z is held back while the target is frozen (see freeze.stop_deferred).
    with _freeze.stop_deferred() if freezer is not None else contextlib.nullcontext():
        held = False
        read_end: float | None = None  # when the block's last read returned
        try:
            if freezer is not None and not freezer.freeze():
                note = f"not frozen: {freezer.reason}"
            outcome._set(frozen=freezer is not None and note is None, note=note)
            yield outcome
            read_end = time.monotonic()
        finally:
            if freezer is not None:
                frozen_at_first = note is None
                # Held until the read ended? The holder says when it let the target go: at
                # the reader's word, or at the time limit even if smapsfmt was stopped.
                held = freezer.release(read_end)
                if freezer.reason is None and not held:
                    note = (
                        f"not frozen throughout: the time limit ({timeout:g} s) expired before "
                        "the read ended, and the process was let go"
                    )
                elif frozen_at_first and not held:
                    # Frozen at first, then the freezer failed: the reads may straddle the
                    # release.
                    note = f"not frozen throughout: {freezer.reason}"
            outcome._set(frozen=held, note=None if held else note)
    consistent = held
    if stopped_before:
        try:
            consistent = proc.stat().state == "T"
        except ProcError:
            consistent = False
        after = "it stayed stopped" if consistent else "it was resumed"
        note = f"{note}; {after} during the read"
    outcome._set(consistent=consistent, note=None if held else note)
