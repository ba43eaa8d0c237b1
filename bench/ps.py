"""`smapsfmt ps` against smem, and against the bare reads of every smaps_rollup, in one run.

    python bench/ps.py [--processes 30] [--mappings 2000] [--rounds 5] [--sweeps 20]

Starts its own busy host: PROCESSES static targets (tests/triage_target.c, built here with the
C compiler), each with MAPPINGS one-page mappings of one file that all of them share (so every
page's Pss is a fraction of a kB) and 1 MiB of anonymous memory. Then, in one run:

  same numbers     smem's and ps's Rss, USS and Swap of each target must be equal, and ps's
                   Pss (the kernel's, from smaps_rollup) at most one kB per mapping above
                   smem's (which sums each mapping's truncated Pss): printed, and a failure
                   exits 1
  whole commands   each a fresh process as a user runs it, output to /dev/null, interleaved
                   round by round (the order turned each round; medians): `smapsfmt ps` (the
                   console script; C and pure-Python runs of the same install: ps parses no
                   smaps, so both should be the same), `smem`, and, to compare like with like,
                   the bare reads as a whole command: a fresh interpreter (`python -c`) that
                   lists /proc and opens, reads and closes every smaps_rollup, nothing else;
                   `python -c pass` shows the interpreter's start-up alone. Targets:
                   smem / ps >= 10, and ps / bare reads (both whole commands, each with one
                   interpreter start-up) <= 1.2
  the sweep        in this process (no start-up on either side), the sweep as `smapsfmt ps`
                   runs it (sweep(stat=False): every rollup, command line and owner) against
                   the bare reads of every /proc/PID/smaps_rollup (list /proc; open, read, close),
                   interleaved in pairs whose order turns each round; the median of each and
                   the median of the pairs' ratios. target: sweep / bare <= 1.2
  start-up         `python -X importtime -m smapsfmt ps`: the modules ps imports, the slowest
                   ones, and none of pydantic, lark or the parser

Absolute times move with the machine's load; the ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _installed import CHILD_CWD, child_env, path_ran, require_installed
from _targets import build_static_target, start_busy, stop

require_installed()

import smapsfmt  # noqa: E402
from smapsfmt.triage.sweep import list_pids, sweep  # noqa: E402

SMEM = ["smem", "-c", "pid user command swap uss pss rss"]
PS = [sys.executable, "-m", "smapsfmt", "ps"]
_SCRIPT = Path(sys.executable).parent / "smapsfmt"
# What a user runs: the console script installed with the package (else python -m smapsfmt).
PS_COMMAND = [str(_SCRIPT), "ps"] if _SCRIPT.exists() else PS
BARE = """
import os
for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            fd = os.open("/proc/" + name + "/smaps_rollup", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            while os.read(fd, 16384):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
"""
BARE_COMMAND = [sys.executable, "-c", BARE]
START = [sys.executable, "-c", "pass"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _whole(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the child's own: other engineers' load on a
    shared machine moves the first much more than the second) of one run of ``command``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        cwd=CHILD_CWD, env=env,
    )  # fmt: skip
    return time.perf_counter() - start, _children_cpu() - cpu


def _timed(job: Callable[[], object]) -> tuple[float, float]:
    cpu = time.process_time()
    start = time.perf_counter()
    job()
    return time.perf_counter() - start, time.process_time() - cpu


def _bare() -> None:
    for pid in list_pids():
        try:
            fd = os.open(f"/proc/{pid}/smaps_rollup", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            while os.read(fd, 16384):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)


def _ps_sweep() -> None:
    """The sweep as ``smapsfmt ps`` runs it (smapsfmt/triage/ps.py: ``run``)."""
    sweep(stat=False)


def _agreement(pids: set[int], mappings: dict[int, int]) -> tuple[bool, list[str]]:
    smem = subprocess.run(
        ["smem", "-H", "-c", "pid swap uss pss rss", "-P", "triage_target"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ours_json = subprocess.run(
        [*PS, "--format", "json"], capture_output=True, text=True, check=True,
        cwd=CHILD_CWD, env=child_env(),
    ).stdout  # fmt: skip
    ours = {row["pid"]: row for row in json.loads(ours_json)["rows"] if row["pid"] in pids}
    lines = []
    same = True
    low = 0
    for line in smem.stdout.splitlines():
        pid, swap, uss, pss, rss = map(int, line.split())
        if pid not in pids:
            continue
        row = ours.get(pid)
        if row is None:
            same = False
            lines.append(f"pid {pid}: in smem, not in ps")
            continue
        equal = (row["Swap"], row["USS"], row["Rss"]) == (swap, uss, rss)
        within = pss <= row["Pss"] <= pss + mappings[pid]
        low += row["Pss"] - pss
        if not (equal and within):
            same = False
            lines.append(f"pid {pid}: smem {swap} {uss} {pss} {rss}, ps {row}")
    lines.append(
        f"smem's Pss is below the kernel's by {low} kB over the {len(pids)} targets "
        f"({low / max(len(pids), 1):.0f} kB each, of at most {max(mappings.values())} each)"
    )
    return same, lines


def _importtime() -> tuple[int, list[tuple[int, str]], list[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "smapsfmt", "ps"],
        capture_output=True, text=True, check=True, cwd=CHILD_CWD, env=child_env(),
    )  # fmt: skip
    modules: list[tuple[int, str]] = []
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _own, cumulative, name = line[len("import time:") :].split("|")
        if len(name) - len(name.lstrip()) == 1:  # a top-level import: its cumulative counts
            total += int(cumulative)
        modules.append((int(cumulative), name.strip()))
    heavy = [m for m in ("pydantic", "lark", "smapsfmt._parse.parser", "smapsfmt._model")
             if any(name == m for _, name in modules)]  # fmt: skip
    return total, sorted(modules, reverse=True), heavy


Times = dict[str, list[tuple[float, float]]]  # name -> (wall, CPU) seconds of each round


def _medians(times: Times, which: int) -> dict[str, float]:
    return {k: statistics.median(v[which] for v in runs) * 1000 for k, runs in times.items()}


def _pairs(times: Times, top: str, bottom: str, which: int) -> float:
    """The median of the rounds' ratios (each round's two runs are next to each other)."""
    return statistics.median(
        a[which] / b[which] for a, b in zip(times[top], times[bottom], strict=True)
    )


_WHOLE = (
    ("ps", "`smapsfmt ps` (C install)"),
    ("ps pure", "`smapsfmt ps` (SMAPSFMT_PURE_PYTHON=1)"),
    ("smem", "`smem`"),
    ("bare", "bare reads as a whole command (`python -c`: start-up, list /proc, read every "
             "smaps_rollup)"),
    ("start", "`python -c pass` (the interpreter's start-up alone)"),
)  # fmt: skip


def _print_tables(times: Times, sweeps: Times) -> None:
    wall, cpu = _medians(times, 0), _medians(times, 1)
    print(
        f"\nWhole commands ({len(times['ps'])} rounds, interleaved, medians; each a fresh "
        "process with its own start-up, output to /dev/null; CPU = the child's user + system "
        "time):\n"
    )
    print("| command | ms | smem / command | command / bare reads (whole) | CPU ms | "
          "CPU / bare reads (whole) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in _WHOLE:
        print(f"| {label} | {wall[name]:.1f} | {wall['smem'] / wall[name]:.1f} | "
              f"{wall[name] / wall['bare']:.2f} | {cpu[name]:.1f} | "
              f"{cpu[name] / cpu['bare']:.2f} |")  # fmt: skip
    print(
        "\n`smapsfmt ps` / bare reads, both whole commands with one interpreter start-up "
        f"each (target <= 1.2): {wall['ps'] / wall['bare']:.2f} wall, "
        f"{cpu['ps'] / cpu['bare']:.2f} CPU (medians of the rounds' ratios "
        f"{_pairs(times, 'ps', 'bare', 0):.2f}, {_pairs(times, 'ps', 'bare', 1):.2f}); "
        f"smem / `smapsfmt ps` (target >= 10): {wall['smem'] / wall['ps']:.1f} wall, "
        f"{cpu['smem'] / cpu['ps']:.1f} CPU"
    )
    sw, sw_cpu = _medians(sweeps, 0), _medians(sweeps, 1)
    print(
        f"\nThe sweep in one process, no start-up on either side ({len(sweeps['bare'])} "
        "pairs, interleaved, medians; target <= 1.2):\n"
    )
    print("| job | ms | ratio | CPU ms | CPU ratio |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bare reads of every /proc/PID/smaps_rollup | {sw['bare']:.2f} | 1.00 | "
          f"{sw_cpu['bare']:.2f} | 1.00 |")  # fmt: skip
    print(f"| `sweep(stat=False)`, as ps runs it: every process read safely, rollup fields, "
          f"user, command line | "
          f"{sw['sweep']:.2f} | {sw['sweep'] / sw['bare']:.2f} | {sw_cpu['sweep']:.2f} | "
          f"{sw_cpu['sweep'] / sw_cpu['bare']:.2f} |")  # fmt: skip
    print(
        f"\n(medians of the pairs' ratios: {_pairs(sweeps, 'sweep', 'bare', 0):.2f} wall, "
        f"{_pairs(sweeps, 'sweep', 'bare', 1):.2f} CPU)"
    )


def _report_startup() -> list[str]:
    total, modules, heavy = _importtime()
    found = "none" if not heavy else ", ".join(heavy)
    print(
        f"\nStart-up of `smapsfmt ps` (python -X importtime): {total / 1000:.1f} ms of imports, "
        f"{len(modules)} modules; pydantic, lark, the parser: {found}. Slowest (cumulative us):"
    )
    for cumulative, name in modules[:6]:
        print(f"  {cumulative:>7}  {name}")
    return heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=30)
    parser.add_argument("--mappings", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the whole commands")
    parser.add_argument("--sweeps", type=int, default=20, help="rounds of the in-process sweep")
    args = parser.parse_args()
    if shutil.which("smem") is None:
        raise SystemExit("smem is needed (Debian: apt-get install smem)")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="smapsfmt-bench-ps-"))
    procs: list[subprocess.Popen[str]] = []
    try:
        binary = build_static_target(work)
        backing = work / "backing"
        backing.touch()
        procs = start_busy(binary, args.processes, args.mappings, backing)
        pids = {p.pid for p in procs}
        mappings = {pid: len(smapsfmt.read_smaps(pid)) for pid in pids}
        print(
            f"smapsfmt {smapsfmt.__version__} installed in {os.path.dirname(smapsfmt.__file__)}"
            f"; Python {sys.version.split()[0]}; Linux {os.uname().release}; "
            f"{os.cpu_count()} CPUs; {len(list_pids())} processes running, of which "
            f"{args.processes} targets of {min(mappings.values())} mappings each; load "
            f"average {os.getloadavg()[0]:.2f}; smapsfmt's path in this process: {path_ran()} "
            "(ps reads no smaps: neither path's code runs in it)"
        )
        same, notes = _agreement(pids, mappings)
        print(f"\nsame numbers as smem (Rss, USS, Swap equal; Pss within the kernel's interval): "
              f"{'yes' if same else 'NO'}")  # fmt: skip
        for note in notes:
            print(f"  {note}")
        times: Times = {"ps": [], "ps pure": [], "smem": [], "bare": [], "start": []}
        for round_ in range(args.rounds):
            jobs = [
                ("ps", lambda: _whole(PS_COMMAND, child_env())),
                ("bare", lambda: _whole(BARE_COMMAND, child_env())),
                ("ps pure", lambda: _whole(PS_COMMAND, child_env(pure=True))),
                ("smem", lambda: _whole(SMEM)),
                ("start", lambda: _whole(START, child_env())),
            ]
            if round_ % 2:
                jobs.reverse()
            for name, job in jobs:
                times[name].append(job())
        sweeps: Times = {"bare": [], "sweep": []}
        _ps_sweep()  # warm up: the modules, the user names, the rollup layout
        for round_ in range(args.sweeps):
            order: list[tuple[str, Callable[[], object]]] = [("bare", _bare), ("sweep", _ps_sweep)]
            if round_ % 2:
                order.reverse()
            for name, reads in order:
                sweeps[name].append(_timed(reads))
        _print_tables(times, sweeps)
        heavy = _report_startup()
        print(
            f"\nThe whole run took {time.perf_counter() - started:.0f} s; load average at "
            f"the end {os.getloadavg()[0]:.2f}."
        )
        return 0 if same and not heavy else 1
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
