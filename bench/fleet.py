"""The fleet commands' figures: sampling cost, bytes on disk, export speed and memory.

    python bench/fleet.py [--rounds 20] [--mappings 60000] [--processes 30] [--busy-mappings 2000]

1. Sampling cost per process. In one interpreter, imports warmed up, twice: on the machine as
   it is (its processes, whatever their sizes), then on a busy host (the same machine with
   PROCESSES static targets of BUSY_MAPPINGS mappings each running, as bench/ps.py builds it):
   the bare reads (list /proc; open, read, close every
   /proc/PID/smaps_rollup, nothing else, as in bench/ps.py) against ``smapsfmt sample``'s work
   (smapsfmt.fleet.sample.sample_machine: the sweep shared with ``ps``, which also reads stat,
   cmdline and cgroup through one /proc/PID handle, the rows, and the three Parquet files of the
   sample), and the sweep alone, alternated over ROUNDS rounds (the order turned each round).
   Each is divided by the processes it read. Two figures: the sample without its Parquet files
   and its writer's set-up (the cost per process; those are a cost per sample, whatever the
   number of processes) and with them (all in, at this machine's number of processes). Medians
   of wall and CPU time (user + system of this process: other people's load on a shared machine
   moves wall time far more), and the median of each round's ratio. Target: within 1.2x, without
   the set-up and the files.
2. Bytes per mapping row on disk: the mappings files of one ``sample --smaps`` of this machine
   and of the export of the big capture, against the bytes of smaps text per mapping.
3. Export rows per second: ``smapsfmt export`` of a real smaps of MAPPINGS mappings (a process
   with that many, stopped while read), in a child interpreter, C path and pure path.
4. Peak memory of that export: the child's VmHWM, against the export of a 37-mapping smaps.

Each measurement checks its result (rows written, values equal to the input's), so that a
fast wrong answer cannot pass for a figure. Runs on the installed package (bench/_installed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _installed import CHILD_CWD, ROOT, c_built, child_env, path_ran, require_installed
from _targets import build_static_target, start_busy, start_target, stop

SMALL = ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps"

EXPORT = textwrap.dedent(
    """
    import re, sys, time
    from smapsfmt._cli.main import main
    smaps, small, folder = sys.argv[1:4]
    assert main(["export", small, "-o", folder + "/warm", "--format", "json"]) == 0
    start = time.perf_counter()
    assert main(["export", smaps, "-o", folder + "/big", "--format", "json"]) == 0
    seconds = time.perf_counter() - start
    hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
    print(seconds, hwm, file=sys.stderr)
    """
)

SMALL_PEAK = textwrap.dedent(
    """
    import re, sys
    from smapsfmt._cli.main import main
    assert main(["export", sys.argv[1], "-o", sys.argv[2], "--format", "json"]) == 0
    print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1),
          file=sys.stderr)
    """
)


def _user_pids() -> list[int]:
    """Processes with a memory map (kernel threads have an empty smaps_rollup)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/smaps_rollup", "rb") as file:
                    if file.read(1):
                        pids.append(int(name))
            except OSError:
                pass
    return pids


def _bare() -> int:
    """The bare reads of every rollup: list /proc, and open, read and close each
    /proc/PID/smaps_rollup (a kernel thread's open fails at once), nothing else; the number
    read. The same baseline as bench/ps.py's."""
    read = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/smaps_rollup", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            while os.read(fd, 16384):
                pass
            read += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return read


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def sampling(rounds: int, folder: Path, where: str) -> None:
    from smapsfmt.fleet import writer
    from smapsfmt.fleet.sample import sample_machine
    from smapsfmt.triage.sweep import sweep

    # The time of each sample's commit (its three Parquet files written and renamed): a cost
    # per sample, whatever the number of processes, told apart from the cost per process.
    commits: list[tuple[float, float]] = []
    commit = writer.SampleWriter.commit

    def timed_commit(self: writer.SampleWriter, row: dict[str, object]) -> None:
        start = _clock()
        commit(self, row)
        commits.append(_since(start))

    # The writer's set-up (the sample's id, its tables' folders and columns): a cost per
    # sample too, which a machine of a few processes would otherwise share among them.
    setups: list[tuple[float, float]] = []
    init = writer.SampleWriter.__init__

    def timed_init(self: writer.SampleWriter, *args: object, **kwargs: object) -> None:
        start = _clock()
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        setups.append(_since(start))

    writer.SampleWriter.commit = timed_commit  # type: ignore[method-assign]
    writer.SampleWriter.__init__ = timed_init  # type: ignore[method-assign]
    dataset = folder / "sampling"
    sample_machine(str(dataset), "bench")  # warm up: imports, pyarrow, the profiles
    # per round, per process, (wall, CPU) seconds
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "full": [], "marginal": [],
                                                  "sweep": []}  # fmt: skip
    counts = []

    def bare() -> None:
        start = _clock()
        count = _bare()
        wall, cpu = _since(start)
        runs["bare"].append((wall / count, cpu / count))
        counts.append(count)

    def sample() -> None:
        start = _clock()
        item = sample_machine(str(dataset), "bench")
        wall, cpu = _since(start)
        n = item["processes"]
        runs["full"].append((wall / n, cpu / n))
        fixed = commits[-1][0] + setups[-1][0], commits[-1][1] + setups[-1][1]
        runs["marginal"].append(((wall - fixed[0]) / n, (cpu - fixed[1]) / n))

    def swept() -> None:
        start = _clock()
        result = sweep(cgroup=True, keep_text=True)
        wall, cpu = _since(start)
        n = len(result.processes)
        runs["sweep"].append((wall / n, cpu / n))

    for round_ in range(rounds):
        jobs = [bare, sample, swept]
        for job in jobs if round_ % 2 == 0 else jobs[::-1]:
            job()
    writer.SampleWriter.commit = commit  # type: ignore[method-assign]
    writer.SampleWriter.__init__ = init  # type: ignore[method-assign]
    per_sample = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(commits, setups, strict=True)]
    _print_sampling(runs, per_sample, int(statistics.median(counts)), rounds, where)


def _print_sampling(
    runs: dict[str, list[tuple[float, float]]],
    commits: list[tuple[float, float]],
    count: int,
    rounds: int,
    where: str,
) -> None:
    def med(name: str, which: int) -> float:
        return statistics.median(run[which] for run in runs[name]) * 1e6

    def ratio(name: str, which: int) -> float:
        pairs = zip(runs[name], runs["bare"], strict=True)
        return statistics.median(a[which] / b[which] for a, b in pairs)

    b, f, m, s = (med(x, 0) for x in ("bare", "full", "marginal", "sweep"))
    bc, fc, mc, sc = (med(x, 1) for x in ("bare", "full", "marginal", "sweep"))
    files = statistics.median(c[0] for c in commits[1:]) * 1000
    files_cpu = statistics.median(c[1] for c in commits[1:]) * 1000
    print(f"1. sampling cost per process, {where} ({count} processes, median of {rounds} rounds;"
          " wall, then CPU time; in brackets the median of the rounds' ratios):")  # fmt: skip
    print(f"   bare smaps_rollup read             {b:8.1f} us              {bc:8.1f} us CPU")
    print(f"   smapsfmt sample, per process       {m:8.1f} us   {m / b:5.2f}x the bare read "
          f"(target 1.2x) [{ratio('marginal', 0):.2f}]; {mc:8.1f} us CPU {mc / bc:5.2f}x "
          f"[{ratio('marginal', 1):.2f}]   (without the set-up and the Parquet "
          "files)")  # fmt: skip
    print(f"     of which the sweep (triage)      {s:8.1f} us   {s / b:5.2f}x "
          f"[{ratio('sweep', 0):.2f}]; {sc:8.1f} us CPU {sc / bc:5.2f}x "
          f"[{ratio('sweep', 1):.2f}]")  # fmt: skip
    print(f"   plus per sample: set-up, 3 Parquet files {files:6.1f} ms   ({files_cpu:.1f} ms "
          "CPU)")  # fmt: skip
    print(f"   all in (with the files), per process {f:6.1f} us   {f / b:5.2f}x "
          f"[{ratio('full', 0):.2f}]; {fc:8.1f} us CPU {fc / bc:5.2f}x "
          f"[{ratio('full', 1):.2f}]   (at {count} processes: the files' share falls as "
          "processes grow)")  # fmt: skip


def bytes_per_row(folder: Path, big: Path, big_dataset: Path) -> None:
    from smapsfmt.fleet.sample import sample_machine

    dataset = folder / "smaps-sample"
    item = sample_machine(str(dataset), "bench", smaps=True)
    size = sum(p.stat().st_size for p in dataset.glob("mappings/*/*/*.parquet"))
    text = 0
    for pid in _user_pids():
        with contextlib.suppress(OSError):
            text += len(Path(f"/proc/{pid}/smaps").read_bytes())
    rows = item["mappings"]
    big_size = sum(p.stat().st_size for p in big_dataset.glob("big/mappings/*/*/*.parquet"))
    big_rows = big.read_bytes().count(b"\nVmFlags:")
    print("2. bytes per mapping row on disk (zstd Parquet):")
    print(f"   sample --smaps of this machine: {size / rows:6.1f} B/row ({rows} rows, "
          f"{size} B; smaps text about {text / rows:.0f} B/mapping)")  # fmt: skip
    print(f"   export of the {big_rows}-mapping capture: {big_size / big_rows:6.1f} B/row "
          f"(smaps text {big.stat().st_size / big_rows:.0f} B/mapping)")  # fmt: skip


def capture(mappings: int, folder: Path) -> Path:
    proc = start_target(mappings, pages=1)
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.05)
        smaps = folder / "big.smaps"
        smaps.write_bytes(Path(f"/proc/{proc.pid}/smaps").read_bytes())
    finally:
        stop(proc)
    return smaps


def export(big: Path, folder: Path) -> Path:
    count = big.read_bytes().count(b"\nVmFlags:")
    print(f"3./4. export of a {count}-mapping smaps ({big.stat().st_size} B):")
    kept = folder / "export-c"
    for pure in (False, True):
        out = folder / ("export-pure" if pure else "export-c")
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        result = subprocess.run(
            [sys.executable, "-c", EXPORT, str(big), str(SMALL), str(out)],
            capture_output=True, text=True, check=True, env=child_env(pure=pure), cwd=CHILD_CWD,
        )  # fmt: skip
        seconds, hwm = result.stderr.split()[-2:]
        small = subprocess.run(
            [sys.executable, "-c", SMALL_PEAK, str(SMALL), str(out / "small")],
            capture_output=True, text=True, check=True, env=child_env(pure=pure), cwd=CHILD_CWD,
        )  # fmt: skip
        base = int(small.stderr.split()[-1])
        _check(out / "big", count)
        path = "C" if c_built() and not pure else "pure Python"
        print(f"   {path:<11}  {count / float(seconds):9,.0f} rows/s ({float(seconds):.2f} s); "
              f"peak memory {int(hwm) / 1024:.0f} MB, {(int(hwm) - base) / 1024:+.0f} MB over "
              f"the export of 37 mappings")  # fmt: skip
    return kept


def _check(dataset: Path, count: int) -> None:
    """The export wrote every mapping, and its Rss adds up to the text's."""
    import pyarrow.parquet as pq

    table = pq.read_table(next(dataset.glob("mappings/*/*/*.parquet")))
    assert table.num_rows == count, (table.num_rows, count)
    assert table.column("index").to_pylist() == list(range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--mappings", type=int, default=60000)
    parser.add_argument("--processes", type=int, default=30, help="targets of the busy host")
    parser.add_argument("--busy-mappings", type=int, default=2000, help="mappings of each")
    args = parser.parse_args()
    require_installed()
    print(f"smapsfmt {path_ran()}; {os.cpu_count()} CPUs; Linux {os.uname().release}; load "
          f"average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sampling(args.rounds, folder, "on this machine as it is")
        backing = folder / "backing"
        backing.touch()
        binary = build_static_target(folder)
        procs = start_busy(binary, args.processes, args.busy_mappings, backing)
        try:
            sampling(args.rounds, folder, f"on a busy host: this machine with {args.processes} "
                     f"targets of {args.busy_mappings} mappings (as bench/ps.py)")  # fmt: skip
        finally:
            for proc in procs:
                stop(proc)
        big = capture(args.mappings, folder)  # the target is gone before the next sample
        kept = export(big, folder)
        bytes_per_row(folder, big, kept)


if __name__ == "__main__":
    main()
