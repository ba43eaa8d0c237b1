"""`smapsfmt ps` against smem, and against the bare reads of every smaps_rollup, in one run.

    python bench/ps.py [--processes 30] [--mappings 2000] [--rounds 5] [--sweeps 20]

Starts its own busy host: PROCESSES static targets (tests/triage_target.c, built here with the
C compiler), each with MAPPINGS one-page mappings of one file that all of them share (so every
page's Pss is a fraction of a kB) and 1 MiB of anonymous memory. Then, in one run:

  same numbers     smem's and ps's Rss, USS and Swap of each target must be equal, and ps's
                   Pss (the kernel's, from smaps_rollup) at most one kB per mapping above
                   smem's (which sums each mapping's truncated Pss): printed, and a failure
                   exits 1
  whole commands   `smapsfmt ps` (C and pure-Python installs of the same package: ps parses
                   no smaps, so both should be the same) and `smem` as a user runs them, a
                   fresh process each, output to /dev/null, interleaved round by round
                   (medians); target: smem / ps >= 10
  the sweep        in this process, smapsfmt.triage.sweep.sweep() against the bare reads of
                   every /proc/PID/smaps_rollup (open, read, close), interleaved (medians);
                   target: sweep / bare <= 1.2
  start-up         `python -X importtime -m smapsfmt ps`: the modules ps imports, the slowest
                   ones, and none of pydantic, lark or the parser

Absolute times move with the machine's load; the ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _installed import CHILD_CWD, ROOT, child_env, require_installed

require_installed()

import smapsfmt  # noqa: E402
from smapsfmt.triage.sweep import list_pids, sweep  # noqa: E402

SMEM = ["smem", "-c", "pid user command swap uss pss rss"]
PS = [sys.executable, "-m", "smapsfmt", "ps"]


def _build(directory: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("a C compiler is needed to build tests/triage_target.c")
    binary = directory / "triage_target"
    subprocess.run(
        [compiler, "-static", "-O1", "-o", str(binary), str(ROOT / "tests/triage_target.c")],
        check=True,
    )
    return binary


def _start(binary: Path, count: int, mappings: int, backing: Path) -> list[subprocess.Popen[str]]:
    procs = []
    for _ in range(count):
        proc = subprocess.Popen(
            [str(binary), str(mappings), str(backing), "1024"], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        if proc.stdout.readline() != "ready\n":
            raise SystemExit("a target did not start")
        procs.append(proc)
    return procs


def _whole(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        cwd=CHILD_CWD, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def _bare() -> float:
    start = time.perf_counter()
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
    return time.perf_counter() - start


def _sweep() -> float:
    start = time.perf_counter()
    sweep()
    return time.perf_counter() - start


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


def _print_tables(times: dict[str, list[float]], sweeps: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    sw = {k: statistics.median(v) * 1000 for k, v in sweeps.items()}
    print(f"\nWhole commands ({len(times['ps'])} rounds, medians):\n")
    print("| command | ms | smem / command |")
    print("|---|---:|---:|")
    print(f"| `smapsfmt ps` (C install) | {med['ps']:.1f} | {med['smem'] / med['ps']:.1f} |")
    print(f"| `smapsfmt ps` (SMAPSFMT_PURE_PYTHON=1) | {med['ps pure']:.1f} | "
          f"{med['smem'] / med['ps pure']:.1f} |")  # fmt: skip
    print(f"| `smem` | {med['smem']:.1f} | 1.0 |")
    print(f"\nThe sweep in one process ({len(sweeps['bare'])} rounds, medians; target <= 1.2):\n")
    print("| job | ms | ratio |")
    print("|---|---:|---:|")
    print(f"| bare reads of every /proc/PID/smaps_rollup | {sw['bare']:.2f} | 1.00 |")
    print(f"| `sweep()`: every process read safely, rollup fields, user, command line | "
          f"{sw['sweep']:.2f} | {sw['sweep'] / sw['bare']:.2f} |")  # fmt: skip


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
        binary = _build(work)
        backing = work / "backing"
        backing.touch()
        procs = _start(binary, args.processes, args.mappings, backing)
        pids = {p.pid for p in procs}
        mappings = {pid: len(smapsfmt.read_smaps(pid)) for pid in pids}
        print(
            f"smapsfmt {smapsfmt.__version__} installed in {os.path.dirname(smapsfmt.__file__)}"
            f"; Python {sys.version.split()[0]}; Linux {os.uname().release}; "
            f"{os.cpu_count()} CPUs; {len(list_pids())} processes running, of which "
            f"{args.processes} targets of {min(mappings.values())} mappings each"
        )
        same, notes = _agreement(pids, mappings)
        print(f"\nsame numbers as smem (Rss, USS, Swap equal; Pss within the kernel's interval): "
              f"{'yes' if same else 'NO'}")  # fmt: skip
        for note in notes:
            print(f"  {note}")
        times: dict[str, list[float]] = {"ps": [], "ps pure": [], "smem": []}
        for round_ in range(args.rounds):
            jobs = [
                ("ps", lambda: _whole(PS, child_env())),
                ("ps pure", lambda: _whole(PS, child_env(pure=True))),
                ("smem", lambda: _whole(SMEM)),
            ]
            if round_ % 2:
                jobs.reverse()
            for name, job in jobs:
                times[name].append(job())
        sweeps: dict[str, list[float]] = {"bare": [], "sweep": []}
        for round_ in range(args.sweeps):
            order = [("bare", _bare), ("sweep", _sweep)]
            if round_ % 2:
                order.reverse()
            for name, job in order:
                sweeps[name].append(job())
        _print_tables(times, sweeps)
        heavy = _report_startup()
        print(f"\nThe whole run took {time.perf_counter() - started:.0f} s.")
        return 0 if same and not heavy else 1
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
