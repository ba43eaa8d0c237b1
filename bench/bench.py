"""smapsfmt's performance, as ratios to the kernel's own read, measured in one run.

    python bench/bench.py [--mappings 20000] [--rounds 15]

Starts its own target processes (one with --mappings small mappings, some of their pages
resident; a plain Python process for the rollup sample), reads their /proc files, and times,
interleaved round by round (medians), each job against the kernel's read of the same file:

  parse    parse_smaps(data), then every field of every mapping read as a typed value
  rollup   the aggregator's rollup of the smaps, from the bytes (streaming)
  validate validate(data) with every rule of the ABI document (where validate exists)
  rollup   reading and parsing smaps_rollup, against the bare read and psutil's rollup call
  peers    psutil memory_maps(), jc's proc_pid_smaps parser, a plain line loop

then the first three jobs on the largest captures of the corpus, per mapping, against the
kernel's read time per mapping of the live process (the captured processes are gone),

then the peak memory growth of computing a rollup from a 60,000-mapping smaps, streaming, and
the import time of smapsfmt and of `smapsfmt --help`. Peers not installed are reported as such.
Absolute times vary with the machine and its load; the ratios are the result.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _targets import start_target, stop  # noqa: E402

import smapsfmt  # noqa: E402


def read(path: str) -> bytes:
    with open(path, "rb", buffering=0) as handle:
        return handle.read()


def measure(
    jobs: dict[str, Callable[[], object]], rounds: int, repeat: int = 1
) -> dict[str, float]:
    """Median seconds of each job, the jobs interleaved within each round, in an order that
    turns by one each round (so that no job always follows the same one). A job that takes
    microseconds runs ``repeat`` times back to back per round (the mean is its time): a
    garbage collection before each run would only measure cold caches."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for job in jobs.values():
        job()  # warm caches and lazy imports
    order = list(jobs.items())
    for turn in range(rounds):
        for name, job in order[turn % len(order) :] + order[: turn % len(order)]:
            if repeat == 1:
                gc.collect()
            start = time.perf_counter()
            for _ in range(repeat):
                job()
            times[name].append((time.perf_counter() - start) / repeat)
    return {name: statistics.median(values) for name, values in times.items()}


def read_every_field(smaps: smapsfmt.Smaps) -> int:
    total = 0
    for mapping in smaps:
        for value in mapping.fields.values():
            total += value
        total += mapping.start + mapping.end
    return total


def line_loop(data: bytes) -> list[dict[str, int]]:
    """A plain Python smaps reader, a dict per mapping (the peers' usual approach)."""
    out: list[dict[str, int]] = []
    current: dict[str, int] = {}
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        first, _, rest = line.partition(" ")
        if first.endswith(":"):
            if first != "VmFlags:":
                current[first[:-1]] = int(rest.split()[0])
        else:
            current = {}
            out.append(current)
    return out


def optional_peers(pid: int, data: bytes) -> dict[str, Callable[[], object]]:
    peers: dict[str, Callable[[], object]] = {}
    try:
        import psutil

        process = psutil.Process(pid)
        peers["psutil memory_maps() (reads smaps)"] = lambda: process.memory_maps(grouped=False)
    except ImportError:
        pass
    try:
        import jc

        text = data.decode("utf-8", "surrogateescape")
        peers["jc proc_pid_smaps (parse only)"] = lambda: jc.parse("proc_pid_smaps", text)
    except ImportError:
        pass
    peers["plain Python line loop (parse only)"] = lambda: line_loop(data)
    return peers


def row(name: str, seconds: float, base: float, target: str = "", unit: str = "ms") -> str:
    scale = 1e3 if unit == "ms" else 1e6
    return f"| {name} | {seconds * scale:9.2f} | {seconds / base:6.2f} | {target} |"


TARGETS = {
    "parse_smaps + every field typed": "<= 2.0",
    "aggregate(iter_smaps(bytes)): the rollup from the bytes": "<= 1.5",
    "validate(data), every rule": "<= 3.0",
}

# The largest captures of the corpus: many small mappings (6.18), and Android with Name lines.
CORPUS = (
    ROOT / "tests/fixtures/valid/live/6.18/many-small/smaps",
    ROOT / "tests/fixtures/valid/external/android-libmeminfo/testdata1/smaps",
)


def smapsfmt_jobs(data: bytes) -> dict[str, Callable[[], object]]:
    jobs: dict[str, Callable[[], object]] = {
        "parse_smaps + every field typed": lambda: read_every_field(smapsfmt.parse_smaps(data)),
        "aggregate(iter_smaps(bytes)): the rollup from the bytes": lambda: smapsfmt.aggregate(
            smapsfmt.iter_smaps(io.BytesIO(data))
        ),
    }
    validate = getattr(smapsfmt, "validate", None)
    if validate is not None:
        jobs["validate(data), every rule"] = lambda: validate(data)
    return jobs


def smaps_table(mappings: int, rounds: int) -> tuple[list[str], float]:
    """The table of the live process, and the kernel's read time per mapping."""
    proc = start_target(mappings)
    try:
        path = f"/proc/{proc.pid}/smaps"
        data = read(path)
        count = len(smapsfmt.parse_smaps(data))
        jobs: dict[str, Callable[[], object]] = {"kernel read of smaps": lambda: read(path)}
        jobs.update(smapsfmt_jobs(data))
        jobs.update(optional_peers(proc.pid, data))
        medians = measure(jobs, rounds)
    finally:
        stop(proc)
    base = medians["kernel read of smaps"]
    lines = [
        f"smaps of a live process with {count} mappings ({len(data) / 1e6:.1f} MB), "
        f"{rounds} interleaved rounds, medians:",
        "",
        "| job | ms | ratio to the kernel read | target |",
        "|---|---:|---:|---|",
    ]
    lines += [row(name, s, base, TARGETS.get(name, "")) for name, s in medians.items()]
    return lines, base / count


def corpus_table(rounds: int, kernel_per_mapping: float) -> list[str]:
    """The same jobs on the largest corpus captures. Their processes are gone, so each time
    per mapping is set against the kernel's read time per mapping of the live process above."""
    lines = [
        f"The largest corpus captures, {rounds} interleaved rounds, medians; time per mapping "
        f"against the kernel's read per mapping of the live process above "
        f"({kernel_per_mapping * 1e6:.2f} us):",
        "",
        "| capture | job | us per mapping | ratio to the kernel read | target |",
        "|---|---|---:|---:|---|",
    ]
    for path in CORPUS:
        data = path.read_bytes()
        count = len(smapsfmt.parse_smaps(data))
        name = f"{path.parent.name}/{path.name} ({count} mappings)"
        for job, seconds in measure(smapsfmt_jobs(data), rounds).items():
            per = seconds / count
            lines.append(
                f"| {name} | {job} | {per * 1e6:.2f} | {per / kernel_per_mapping:.2f} "
                f"| {TARGETS.get(job, '')} |"
            )
    return lines


def rollup_table(rounds: int) -> list[str]:
    lines: list[str] = []
    for label, mappings in (("a live Python process", 0), ("a live process", 2000)):
        if mappings:
            proc = start_target(mappings)
        else:
            proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdout is not None
            proc.stdout.readline()
        try:
            lines += _rollup_rows(proc.pid, label, rounds)
        finally:
            stop(proc)
    return lines


def _rollup_rows(pid: int, label: str, rounds: int) -> list[str]:
    path = f"/proc/{pid}/smaps_rollup"
    count = len(smapsfmt.parse_smaps(read(f"/proc/{pid}/smaps")))
    jobs: dict[str, Callable[[], object]] = {
        "bare read of smaps_rollup": lambda: read(path),
        "read + parse_rollup": lambda: smapsfmt.parse_rollup(read(path)),
    }
    try:
        import psutil

        process = psutil.Process(pid)
        jobs["psutil memory_full_info() (reads smaps_rollup)"] = process.memory_full_info
    except ImportError:
        pass
    repeat = 200 if count < 1000 else 20
    medians = measure(jobs, rounds * 2, repeat=repeat)
    base = medians["bare read of smaps_rollup"]
    parse_share = medians["read + parse_rollup"] / base - 1
    lines = [
        f"smaps_rollup of {label} ({count} mappings), {rounds * 2} rounds of {repeat} reads:",
        "",
        "| job | us | ratio to the bare read | target |",
        "|---|---:|---:|---|",
        row("bare read of smaps_rollup", base, base, unit="us"),
        row("read + parse_rollup", medians["read + parse_rollup"], base,
            f"parsing adds {parse_share:.1%} (target < 10%)", unit="us"),
    ]  # fmt: skip
    for name, seconds in medians.items():
        if name.startswith("psutil"):
            lines.append(
                row(name, seconds, base, "read + parse_rollup must be <= this", unit="us")
            )
    return [*lines, ""]


STREAM = textwrap.dedent(
    """
    import resource, sys, tracemalloc
    sys.path.insert(0, sys.argv[2])
    import smapsfmt
    def rollup_streaming(path):
        seen = [0]
        def counted(mappings):
            for mapping in mappings:
                seen[0] += 1
                yield mapping
        with open(path, "rb") as handle:
            smapsfmt.aggregate(counted(smapsfmt.iter_smaps(handle)))
        return seen[0]
    rollup_streaming(sys.argv[3])  # warm up lazy imports on a small file
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    count = rollup_streaming(sys.argv[1])
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(count, peak, (after - before) * 1024)
    """
)


def streaming_table() -> list[str]:
    proc = start_target(60000, pages=1)
    try:
        data = read(f"/proc/{proc.pid}/smaps")
    finally:
        stop(proc)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "smaps"
        big.write_bytes(data)
        small = ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps"
        out = subprocess.run(
            [sys.executable, "-c", STREAM, str(big), str(ROOT), str(small)],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
    count, peak, rss = int(out[0]), int(out[1]), int(out[2])
    return [
        f"aggregate(iter_smaps(file)), streaming, of a {count}-mapping smaps "
        f"({len(data) / 1e6:.1f} MB):",
        "",
        "| measure | MB | target |",
        "|---|---:|---|",
        f"| peak traced allocation (tracemalloc) | {peak / 1e6:.1f} | < 20 |",
        f"| growth of the peak resident size (ru_maxrss) | {rss / 1e6:.1f} | < 20 |",
    ]


def import_table(rounds: int) -> list[str]:
    # Bytecode cached, as an installed package has it (pip compiles it at install): each
    # command runs once untimed, which writes the cache, in a directory of its own.
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def run(args: list[str]) -> float:
            subprocess.run(args, env=env, capture_output=True, check=True)
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                subprocess.run(args, env=env, capture_output=True, check=True)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        bare = run([sys.executable, "-c", "pass"])
        imp = run([sys.executable, "-c", "import smapsfmt"])
        helps = run([sys.executable, "-m", "smapsfmt", "--help"])
        heavy = run([sys.executable, "-c", "import smapsfmt; smapsfmt.parse_smaps(b'')"])
    return [
        "Start-up (whole interpreter runs, bytecode cached, medians):",
        "",
        "| command | ms | over a bare interpreter |",
        "|---|---:|---:|",
        f"| python -c pass | {bare * 1000:.1f} | |",
        f"| import smapsfmt | {imp * 1000:.1f} | +{(imp - bare) * 1000:.1f} ms |",
        f"| smapsfmt --help | {helps * 1000:.1f} | +{(helps - bare) * 1000:.1f} ms |",
        f"| import + first parse (loads pydantic and the parser) | {heavy * 1000:.1f} "
        f"| +{(heavy - bare) * 1000:.1f} ms |",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mappings", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--skip-streaming", action="store_true")
    args = ap.parse_args()
    print(f"smapsfmt {smapsfmt.__version__}, Python {sys.version.split()[0]}, "
          f"Linux {os.uname().release}, {os.cpu_count()} CPUs\n")  # fmt: skip
    live, kernel_per_mapping = smaps_table(args.mappings, args.rounds)
    for table in (
        live,
        corpus_table(args.rounds, kernel_per_mapping),
        rollup_table(args.rounds),
        [] if args.skip_streaming else streaming_table(),
        import_table(args.rounds),
    ):
        if table:
            print("\n".join(table) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
