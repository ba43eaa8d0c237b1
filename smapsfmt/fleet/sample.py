"""``smapsfmt sample -o DIR``: every process of this machine, as one sample of the dataset.

The processes come from one sweep of ``/proc`` (:mod:`smapsfmt.triage.sweep`): each read
through its own ``/proc/PID`` handle, so that a reused pid is never read in place of the
process listed; kernel threads are counted and left out; a process that exits or may not be
read during the sweep is counted (``vanished``, ``denied``, ``unreadable``), never an error.

With ``smaps``, each process's smaps and smaps_rollup are then read as a pair
(``smapsfmt.snapshot``, frozen with ``freeze``) while its ``/proc/PID`` handle from the sweep
is held: a process that is no longer the one swept (it exited, its pid reused) is counted as
vanished, never recorded. Its rows are the pair's: the mappings, and the rollup, proven against
them with ``smapsfmt.check_rollup`` (``proven``).
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import socket
import time
from collections.abc import Callable
from typing import Any

from ._core import ProcDir, ProcError, UsageError, profile_for_release
from .writer import SampleWriter, check_host

__all__ = ["default_host", "sample_machine", "sample_times"]


@functools.cache
def _range() -> re.Pattern[bytes]:
    """A header's start and end, as the profile's format prints them (``(START)-(END) ``)."""
    from .._spec.header import header_groups

    return re.compile(header_groups(2))


def default_host() -> str:
    host = socket.gethostname()
    try:
        return check_host(host)
    except UsageError:
        raise UsageError(
            f"this machine's host name {host!r} cannot name a folder: give --host NAME"
        ) from None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            return file.read().strip()
    except OSError:
        return None


def _header(text: bytes | None) -> tuple[int, int] | None:
    match = _range().match(text) if text else None
    return None if match is None else (int(match.group(1), 16), int(match.group(2), 16))


def sample_machine(
    directory: str, host: str, *, smaps: bool = False, freeze: bool = False
) -> dict[str, Any]:
    """Take one sample of every process and write it; what was written, as the JSON output
    shows it."""
    from smapsfmt.triage.sweep import sweep

    release = os.uname().release
    writer = SampleWriter(directory, host, datetime.datetime.now(datetime.timezone.utc),
                          mappings=smaps)  # fmt: skip
    try:
        swept = sweep(cgroup=True, keep_text=True)
        reasons = [s.reason for s in swept.skipped]
        counts = {
            "vanished": reasons.count("exited"),
            "denied": reasons.count("denied") + reasons.count("hidden"),
            "unreadable": reasons.count("error"),
        }
        for process in swept.processes:
            row: dict[str, Any] = {
                "pid": process.pid,
                "start_time": process.starttime,
                "comm": process.comm,
                "cmdline": process.cmdline,
                "uid": process.uid,
                "user": process.user if process.user != str(process.uid) else None,
                "cgroup": process.cgroup,
            }
            if smaps:
                why = _add_pair(writer, row, process, freeze=freeze)
                if why is not None:
                    counts[why] += 1
                continue
            row["rollup_source"] = "smaps" if process.summed else "smaps_rollup"
            writer.add_process(row, process.fields, _header(process.text))
        summary = {
            "boot_id": _boot_id(),
            "kernel_release": release,
            "profile": profile_for_release(release),
            "page_size": os.sysconf("SC_PAGE_SIZE"),
            "kernel_threads": swept.kernel_threads,
            "source": "live",
            **counts,
        }
        writer.commit(summary)
    except OSError as exc:
        writer.abort()
        raise UsageError(f"cannot write {directory}: {exc.strerror or exc}") from None
    except BaseException:
        writer.abort()
        raise
    return {
        "sample_id": writer.sample_id,
        "time": writer.time.isoformat(),
        "host": host,
        "date": writer.date,
        "processes": writer.process_count,
        "mappings": writer.mapping_count,
        "kernel_threads": swept.kernel_threads,
        **counts,
    }


def _add_pair(
    writer: SampleWriter, row: dict[str, Any], process: Any, *, freeze: bool
) -> str | None:
    """The rows of one process's smaps and smaps_rollup, read as a pair; None, or the counter
    of why the process is not in the sample."""
    import smapsfmt

    try:
        with ProcDir(process.pid) as held:
            if held.first.starttime != process.starttime:
                return "vanished"  # the pid is another process's now
            snap = smapsfmt.snapshot(process.pid, freeze=freeze)
            held.stat()  # still the process swept: the pid was not reused during the read
    except smapsfmt.ProcPermissionError:
        return "denied"
    except (smapsfmt.NoSuchProcessError, smapsfmt.ProcessExitedError, smapsfmt.PidReusedError,
            smapsfmt.ZombieProcessError, smapsfmt.KernelThreadError):  # fmt: skip
        return "vanished"
    except ProcError:
        return "unreadable"
    mappings = snap.smaps
    for index, mapping in enumerate(mappings):
        writer.add_mapping(process.pid, index, mapping)
    rollup = snap.rollup
    row["mappings"] = len(mappings)
    row["frozen"] = snap.frozen
    if rollup is None:  # no smaps_rollup (before 4.14): the kernel's sum, from smaps
        summed = smapsfmt.aggregate(mappings)
        row["rollup_source"] = "smaps"
        writer.add_process(row, summed.fields, (summed.start, summed.end))
        return None
    row["rollup_source"] = "smaps_rollup"
    try:
        row["proven"] = not smapsfmt.check_rollup(mappings, rollup)
    except smapsfmt.KernelMismatch:  # no kernel prints this pair together: not proven
        row["proven"] = False
    writer.add_process(row, rollup.fields, (rollup.start, rollup.end))
    return None


def sample_times(
    count: int,
    interval: float,
    take: Callable[[], None],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``take`` ``count`` times, ``interval`` seconds apart from start to start (at once
    again when a sample took longer than the interval)."""
    start = clock()
    for number in range(count):
        if number:
            delay = start + number * interval - clock()
            if delay > 0:
                time.sleep(delay)
        take()
