"""What freezing a live process costs: ptrace freeze + release, per number of threads.

    python bench/freeze.py [--rounds 200] [--threads 1,16,64]

Starts its own targets (Python processes with the given number of threads, all asleep), then
times, interleaved round by round (medians and 90th percentiles, in milliseconds):

  freeze+release   smapsfmt's freezer alone: every thread seized and interrupted (PTRACE_SEIZE,
                   PTRACE_INTERRUPT, waitpid), then PTRACE_DETACH; includes forking the
                   holder process that does it, and reaping it
  target stopped   within freeze+release, how long the target was held: from the first
                   PTRACE_SEIZE to the last PTRACE_DETACH
  held in a read   the same, around the reads of a snapshot (smaps and smaps_rollup): how long
                   a snapshot holds the target
  snapshot frozen  smapsfmt.snapshot(pid): smaps and smaps_rollup read while frozen
  snapshot loose   smapsfmt.snapshot(pid, freeze=False): the same reads, not frozen

"frozen - loose" is what the freeze adds to a snapshot. Absolute times vary with the machine
and its load; run it on an otherwise idle machine. Needs the right to ptrace the targets (the
same user, and no Yama restriction, or root).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

from _installed import require_installed

require_installed()

import smapsfmt  # noqa: E402
from smapsfmt._live import freeze as _freeze  # noqa: E402
from smapsfmt._live import proc as _live  # noqa: E402

TARGET = textwrap.dedent(
    """
    import sys, threading, time
    for _ in range(int(sys.argv[1]) - 1):
        threading.Thread(target=time.sleep, args=(10000,), daemon=True).start()
    print("ready", flush=True)
    time.sleep(10000)
    """
)


def _freeze_release(pid: int, paused: list[float]) -> Callable[[], None]:
    def run() -> None:
        with _live.ProcDir(pid) as proc:
            freezer = _freeze.Freezer(pid, 5.0, proc.list_threads, proc.thread_state)
            if not freezer.freeze():
                raise SystemExit(f"cannot freeze {pid}: {freezer.reason}")
            if not freezer.release():
                raise SystemExit(f"{pid} was not held until release")
            paused.append(freezer.held_until - freezer.held_from)

    return run


def _held_read(pid: int, paused: list[float]) -> Callable[[], None]:
    def run() -> None:
        with _live.ProcDir(pid) as proc:
            files = _live._open_files(proc)
            try:
                freezer = _freeze.Freezer(pid, 5.0, proc.list_threads, proc.thread_state)
                if not freezer.freeze():
                    raise SystemExit(f"cannot freeze {pid}: {freezer.reason}")
                proc.read(files.smaps, "smaps")
                if files.rollup is not None:
                    proc.read(files.rollup, "smaps_rollup")
                if not freezer.release():
                    raise SystemExit(f"{pid} was not held until release")
                paused.append(freezer.held_until - freezer.held_from)
            finally:
                _live._close_files(files)

    return run


def _snapshot(pid: int, freeze: bool) -> Callable[[], None]:
    def run() -> None:
        snap = smapsfmt.snapshot(pid, freeze=freeze)
        if snap.frozen != freeze:
            raise SystemExit(f"snapshot of {pid}: {snap.note}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", default="1,16,64")
    args = parser.parse_args()
    counts = [int(n) for n in args.threads.split(",")]

    targets = {}
    try:
        for count in counts:
            child = subprocess.Popen(
                [sys.executable, "-c", TARGET, str(count)], stdout=subprocess.PIPE, text=True
            )
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            targets[count] = child
        jobs: dict[tuple[int, str], Callable[[], None]] = {}
        paused: dict[int, list[float]] = {count: [] for count in counts}
        in_read: dict[int, list[float]] = {count: [] for count in counts}
        for count, child in targets.items():
            jobs[count, "freeze+release"] = _freeze_release(child.pid, paused[count])
            jobs[count, "(held in a read)"] = _held_read(child.pid, in_read[count])
            jobs[count, "snapshot frozen"] = _snapshot(child.pid, True)
            jobs[count, "snapshot loose"] = _snapshot(child.pid, False)
        times: dict[tuple[int, str], list[float]] = {key: [] for key in jobs}
        for job in jobs.values():  # warm up: imports, first parse
            job()
        for _ in range(args.rounds):
            for key, job in jobs.items():
                start = time.perf_counter()
                job()
                times[key].append(time.perf_counter() - start)
    finally:
        for child in targets.values():
            child.kill()
            child.wait()

    print(f"{'threads':>7}  {'job':<16} {'median ms':>10} {'p90 ms':>8}")
    rows = [(key, samples) for key, samples in times.items() if key[1] != "(held in a read)"]
    rows += [((count, "target stopped"), samples) for count, samples in paused.items()]
    rows += [((count, "held in a read"), samples) for count, samples in in_read.items()]
    for (count, name), samples in sorted(rows, key=lambda row: row[0][0]):
        samples.sort()
        median = statistics.median(samples) * 1e3
        p90 = samples[int(len(samples) * 0.9)] * 1e3
        print(f"{count:>7}  {name:<16} {median:>10.3f} {p90:>8.3f}")
    for count in counts:
        added = statistics.median(times[count, "snapshot frozen"]) - statistics.median(
            times[count, "snapshot loose"]
        )
        print(f"{count:>7}  frozen - loose   {added * 1e3:>10.3f}")


if __name__ == "__main__":
    main()
