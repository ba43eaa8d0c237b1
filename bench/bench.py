"""smapsfmt's performance, as ratios to the kernel's own read, measured in one run.

    .venv/bin/python bench/bench.py [--mappings 20000] [--rounds 15]

Measures the installed smapsfmt (never the source tree, which has no C module; see
_installed.py), on both of its paths: the C module, and pure Python (SMAPSFMT_PURE_PYTHON=1),
each in a process of its own, and prints one table with both. Starts its own target
processes (one with --mappings small mappings, some of their pages resident; a plain Python
process and a 2,000-mapping one for the rollup sample), reads their /proc files, and times,
interleaved round by round (medians), each job against the kernel's read of the same file:

  parse    parse_smaps(data), then every field of every mapping read as a typed value
  rollup   the aggregator's rollup of the smaps, from the bytes (streaming)
  validate validate(data) with every rule of the ABI document
  rollup   reading and parsing smaps_rollup, against the bare read and psutil's rollup call
  peers    psutil memory_maps(), jc's proc_pid_smaps parser, a plain line loop (C run only)

then the first three jobs on the largest captures of the corpus, per mapping, against the
kernel's read time per mapping of the live process (the captured processes are gone),

then whole commands, each a fresh interpreter, output to /dev/null: `smapsfmt parse` of the
live process's smaps (from a file, and with --pid) in JSON and text, against
`python -c 'import smapsfmt; smapsfmt.parse_smaps(...)'` on the same file and `pmap -X` on the
same process, and the peak resident size of parse above that of a one-mapping file,

then the peak memory growth of computing a rollup from a 60,000-mapping smaps, streaming, and
the import time of smapsfmt and of `smapsfmt --help`; then bench/adversarial.py, where present.
Peers not installed are reported as such. Absolute times vary with the machine and its load;
the ratios are the result.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _installed import CHILD_CWD, ROOT, c_built, child_env, path_ran, require_installed
from _targets import start_target, stop

INSTALLED = require_installed()

import smapsfmt  # noqa: E402

BENCH = Path(__file__).resolve().parent
PATHS = {"c": "C", "pure": "pure Python"}


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
    return {
        "parse_smaps + every field typed": lambda: read_every_field(smapsfmt.parse_smaps(data)),
        "aggregate(iter_smaps(bytes)): the rollup from the bytes": lambda: smapsfmt.aggregate(
            smapsfmt.iter_smaps(io.BytesIO(data))
        ),
        "validate(data), every rule": lambda: smapsfmt.validate(data),
    }


# --- the in-process jobs, measured in a child process per path --------------------------------


def child_measure(args: argparse.Namespace) -> dict[str, Any]:
    """What one path measures: the live smaps, the corpus captures, the rollup samples."""
    path = f"/proc/{args.smaps_pid}/smaps"
    data = read(path)
    count = len(smapsfmt.parse_smaps(data))
    jobs: dict[str, Callable[[], object]] = {"kernel read of smaps": lambda: read(path)}
    jobs.update(smapsfmt_jobs(data))
    if args.peers:
        jobs.update(optional_peers(args.smaps_pid, data))
    live = {"count": count, "bytes": len(data), "medians": measure(jobs, args.rounds)}
    corpus = []
    for capture in CORPUS:
        captured = capture.read_bytes()
        corpus.append({
            "name": f"{capture.parent.name}/{capture.name}",
            "count": len(smapsfmt.parse_smaps(captured)),
            "medians": measure(smapsfmt_jobs(captured), args.rounds),
        })  # fmt: skip
    rollups = [
        _rollup_sample(pid, label, args.rounds, args.peers)
        for pid, label in zip(
            args.rollup_pids, ("a live Python process", "a live process"), strict=True
        )
    ]
    return {"ran": path_ran(), "live": live, "corpus": corpus, "rollup": rollups}


def _rollup_sample(pid: int, label: str, rounds: int, peers: bool) -> dict[str, Any]:
    path = f"/proc/{pid}/smaps_rollup"
    count = len(smapsfmt.parse_smaps(read(f"/proc/{pid}/smaps")))
    jobs: dict[str, Callable[[], object]] = {
        "bare read of smaps_rollup": lambda: read(path),
        "read + parse_rollup": lambda: smapsfmt.parse_rollup(read(path)),
    }
    if peers:
        try:
            import psutil

            process = psutil.Process(pid)
            jobs["psutil memory_full_info() (reads smaps_rollup)"] = process.memory_full_info
        except ImportError:
            pass
    repeat = 200 if count < 1000 else 20
    medians = measure(jobs, rounds * 2, repeat=repeat)
    return {"label": label, "count": count, "repeat": repeat, "medians": medians}


def run_children(
    paths: list[str], smaps_pid: int, rollup_pids: list[int], rounds: int
) -> dict[str, dict[str, Any]]:
    results = {}
    for path in paths:
        command = [sys.executable, str(BENCH / "bench.py"), "--measure", path,
                   "--smaps-pid", str(smaps_pid), "--rounds", str(rounds),
                   "--rollup-pids", *map(str, rollup_pids)]  # fmt: skip
        if path == paths[0]:
            command.append("--peers")
        out = subprocess.run(
            command, env=child_env(pure=path == "pure"), cwd=CHILD_CWD, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        results[path] = json.loads(out.stdout)
        wanted = "C" if path == "c" else "pure Python"
        if not results[path]["ran"].startswith(wanted):
            raise SystemExit(f"the {PATHS[path]} run ran {results[path]['ran']}")
    return results


# --- tables -----------------------------------------------------------------------------------


def _cells(seconds: float | None, base: float | None, scale: float) -> str:
    if seconds is None or base is None:
        return " | "
    return f"{seconds * scale:.2f} | {seconds / base:.2f}"


def _header(first: str, unit: str, ratio: str, paths: list[str]) -> list[str]:
    cells = " | ".join(f"{PATHS[p]} {unit} | {PATHS[p]} {ratio}" for p in paths)
    return [f"| {first} | {cells} | target |", "|---|" + "---:|---:|" * len(paths) + "---|"]


def live_table(results: dict[str, dict[str, Any]]) -> list[str]:
    paths = list(results)
    first = results[paths[0]]["live"]
    names = list(first["medians"])
    lines = [
        f"smaps of a live process with {first['count']} mappings "
        f"({first['bytes'] / 1e6:.1f} MB), {len(names)} jobs interleaved, medians:",
        "",
        *_header("job", "ms", "ratio to the kernel read", paths),
    ]
    for name in names:
        cells = []
        for path in paths:
            medians = results[path]["live"]["medians"]
            cells.append(_cells(medians.get(name), medians["kernel read of smaps"], 1e3))
        lines.append(f"| {name} | {' | '.join(cells)} | {TARGETS.get(name, '')} |")
    return lines


def corpus_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Per mapping, against the kernel's read per mapping of the live process (the captured
    processes are gone), as measured in the same run."""
    paths = list(results)
    per = {
        path: results[path]["live"]["medians"]["kernel read of smaps"]
        / results[path]["live"]["count"]
        for path in paths
    }
    kernel = ", ".join(f"{PATHS[p]} run {per[p] * 1e6:.2f} us" for p in paths)
    lines = [
        "The largest corpus captures, medians; time per mapping against the kernel's read "
        f"per mapping of the live process above ({kernel}):",
        "",
        *_header("capture | job", "us per mapping", "ratio", paths),
    ]
    lines[-1] = "|---" + lines[-1]
    for index, capture in enumerate(results[paths[0]]["corpus"]):
        for job in capture["medians"]:
            cells = []
            for path in paths:
                entry = results[path]["corpus"][index]
                cells.append(_cells(entry["medians"][job] / entry["count"], per[path], 1e6))
            lines.append(
                f"| {capture['name']} ({capture['count']} mappings) | {job} | "
                f"{' | '.join(cells)} | {TARGETS.get(job, '')} |"
            )
    return lines


def rollup_table(results: dict[str, dict[str, Any]]) -> list[str]:
    paths = list(results)
    lines: list[str] = []
    for index, sample in enumerate(results[paths[0]]["rollup"]):
        lines += [
            f"smaps_rollup of {sample['label']} ({sample['count']} mappings), "
            f"rounds of {sample['repeat']} reads, medians:",
            "",
            *_header("job", "us", "ratio to the bare read", paths),
        ]
        for name in sample["medians"]:
            cells = []
            for path in paths:
                medians = results[path]["rollup"][index]["medians"]
                cells.append(_cells(medians.get(name), medians["bare read of smaps_rollup"], 1e6))
            target = ""
            if name == "read + parse_rollup":
                shares = []
                for p in paths:
                    medians = results[p]["rollup"][index]["medians"]
                    share = medians[name] / medians["bare read of smaps_rollup"] - 1
                    shares.append(f"{PATHS[p]} {share:.1%}")
                target = f"parsing adds {', '.join(shares)} (target < 10%)"
            elif name.startswith("psutil"):
                target = "read + parse_rollup must be <= this"
            lines.append(f"| {name} | {' | '.join(cells)} | {target} |")
        lines.append("")
    return lines[:-1]


# --- whole commands ---------------------------------------------------------------------------

REFERENCE = "import smapsfmt, sys; smapsfmt.parse_smaps(open(sys.argv[1], 'rb').read())"

# A small process runs a command and reports its peak resident size: a child of this large
# process would count this one's resident size as its own peak (exec keeps the high-water mark).
PEAK = textwrap.dedent(
    """
    import resource, subprocess, sys
    code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
    print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    """
)


def smapsfmt_command() -> list[str]:
    """The installed script beside this interpreter, else ``python -m smapsfmt``."""
    script = Path(sys.executable).with_name("smapsfmt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "smapsfmt"]


def _first_entry(data: bytes) -> bytes:
    """The first mapping of a smaps text (up to its second header)."""
    headers = re.finditer(rb"^[0-9a-f]+-[0-9a-f]+ ", data, re.MULTILINE)
    next(headers)
    second = next(headers, None)
    return data if second is None else data[: second.start()]


def command_table(pid: int, paths: list[str], rounds: int) -> list[str]:
    """`smapsfmt parse` as whole commands on the live target, against the reference (import
    and parse_smaps of the same text) and pmap -X; then their peak resident size."""
    cli = smapsfmt_command()
    pmap = shutil.which("pmap")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "smaps"
        data = read(f"/proc/{pid}/smaps")
        big.write_bytes(data)
        one = Path(tmp) / "one"
        one.write_bytes(_first_entry(data))
        count = len(smapsfmt.parse_smaps(data))
        jobs: dict[str, tuple[list[str], dict[str, str]]] = {}
        for path in paths:
            env = child_env(pure=path == "pure")
            jobs[f"{path} reference"] = ([sys.executable, "-c", REFERENCE, str(big)], env)
            jobs[f"{path} json file"] = ([*cli, "parse", "--format", "json", str(big)], env)
            jobs[f"{path} text file"] = ([*cli, "parse", str(big)], env)
            pid_args = ["parse", "--pid", str(pid)]
            jobs[f"{path} json pid"] = ([*cli, *pid_args, "--format", "json"], env)
            jobs[f"{path} text pid"] = ([*cli, *pid_args], env)
        if pmap is not None:
            jobs["pmap"] = ([pmap, "-X", str(pid)], child_env())

        def runner(command: list[str], env: dict[str, str]) -> Callable[[], object]:
            return lambda: subprocess.run(
                command, env=env, cwd=CHILD_CWD, stdout=subprocess.DEVNULL, check=True
            )

        medians = measure({name: runner(*job) for name, job in jobs.items()}, rounds)
        peaks = {}
        for path in paths:
            env = child_env(pure=path == "pure")
            for fmt in ("json", "text"):
                for name, file in (("one", one), ("big", big)):
                    out = subprocess.run(
                        [sys.executable, "-c", PEAK, *cli, "parse", "--format", fmt, str(file)],
                        env=env, cwd=CHILD_CWD, capture_output=True, text=True, check=True,
                    ).stdout.split()  # fmt: skip
                    if out[0] != "0":
                        raise SystemExit(f"parse --format {fmt} {file} failed")
                    peaks[path, fmt, name] = int(out[1])
    pmap_time = medians.get("pmap")
    lines = [
        f"Whole commands on the live process ({count} mappings, {len(data) / 1e6:.1f} MB of "
        f"smaps), each a fresh interpreter with output to /dev/null, {rounds} interleaved "
        "rounds, medians; FILE is a copy of its smaps; the reference is "
        "`python -c 'import smapsfmt; smapsfmt.parse_smaps(open(FILE, \"rb\").read())'`:",
        "",
        *_header("command", "ms", "ratio to the reference", paths),
    ]
    rows = [
        ("reference", "import smapsfmt + parse_smaps(FILE)", ""),
        ("json file", "smapsfmt parse --format json FILE", "<= 2.0, and < pmap -X"),
        ("text file", "smapsfmt parse FILE", "<= 2.0, and < pmap -X"),
        ("json pid", "smapsfmt parse --format json --pid PID", "< pmap -X"),
        ("text pid", "smapsfmt parse --pid PID", "< pmap -X"),
    ]
    for key, label, target in rows:
        cells = [_cells(medians[f"{p} {key}"], medians[f"{p} reference"], 1e3) for p in paths]
        lines.append(f"| `{label}` | {' | '.join(cells)} | {target} |")
    if pmap_time is None:
        lines.append("| `pmap -X PID` | not installed (Debian: procps) |")
    else:
        cells = [_cells(pmap_time, medians[f"{p} reference"], 1e3) for p in paths]
        lines.append(f"| `pmap -X PID` | {' | '.join(cells)} | |")
    lines += [
        "",
        f"Peak resident size of `smapsfmt parse FILE` above that of a one-mapping file, "
        f"against the size of FILE ({len(data) / 1e6:.1f} MB):",
        "",
        *_header("command", "MB", "ratio to the input", paths),
    ]
    for fmt in ("json", "text"):
        cells = []
        for path in paths:
            above = peaks[path, fmt, "big"] - peaks[path, fmt, "one"]
            cells.append(f"{above / 1e6:.1f} | {above / len(data):.2f}")
        lines.append(f"| `smapsfmt parse --format {fmt} FILE` | {' | '.join(cells)} | <= 1.0 |")
    return lines


# --- memory of streaming, start-up ------------------------------------------------------------

STREAM = textwrap.dedent(
    """
    import resource, sys, tracemalloc
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
    rollup_streaming(sys.argv[2])  # warm up lazy imports on a small file
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    count = rollup_streaming(sys.argv[1])
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(count, peak, (after - before) * 1024)
    """
)


def streaming_table(paths: list[str]) -> list[str]:
    proc = start_target(60000, pages=1)
    try:
        data = read(f"/proc/{proc.pid}/smaps")
    finally:
        stop(proc)
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "smaps"
        big.write_bytes(data)
        small = ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps"
        for path in paths:
            out = subprocess.run(
                [sys.executable, "-c", STREAM, str(big), str(small)],
                env=child_env(pure=path == "pure"), cwd=CHILD_CWD, capture_output=True,
                text=True, check=True,
            ).stdout.split()  # fmt: skip
            measured[path] = (int(out[0]), int(out[1]), int(out[2]))
    count = measured[paths[0]][0]
    return [
        f"aggregate(iter_smaps(file)), streaming, of a {count}-mapping smaps "
        f"({len(data) / 1e6:.1f} MB):",
        "",
        f"| measure | {' | '.join(f'{PATHS[p]} MB' for p in paths)} | target |",
        "|---|" + "---:|" * len(paths) + "---|",
        "| peak traced allocation (tracemalloc) | "
        + " | ".join(f"{measured[p][1] / 1e6:.1f}" for p in paths)
        + " | < 20 |",
        "| growth of the peak resident size (ru_maxrss) | "
        + " | ".join(f"{measured[p][2] / 1e6:.1f}" for p in paths)
        + " | < 20 |",
    ]


def import_table(rounds: int) -> list[str]:
    # Bytecode cached, as an installed package has it (pip compiles it at install): each
    # command runs once untimed, which writes the cache, in a directory of its own.
    with tempfile.TemporaryDirectory() as cache:
        env = dict(child_env(), PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def run(args: list[str]) -> float:
            subprocess.run(args, env=env, cwd=CHILD_CWD, capture_output=True, check=True)
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                subprocess.run(args, env=env, cwd=CHILD_CWD, capture_output=True, check=True)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        bare = run([sys.executable, "-c", "pass"])
        imp = run([sys.executable, "-c", "import smapsfmt"])
        helps = run([*smapsfmt_command(), "--help"])
        heavy = run([sys.executable, "-c", "import smapsfmt; smapsfmt.parse_smaps(b'')"])
    return [
        "Start-up (whole interpreter runs, bytecode cached, medians; the C path):",
        "",
        "| command | ms | over a bare interpreter |",
        "|---|---:|---:|",
        f"| python -c pass | {bare * 1000:.1f} | |",
        f"| import smapsfmt | {imp * 1000:.1f} | +{(imp - bare) * 1000:.1f} ms |",
        f"| smapsfmt --help | {helps * 1000:.1f} | +{(helps - bare) * 1000:.1f} ms |",
        f"| import + first parse (loads pydantic and the parser) | {heavy * 1000:.1f} "
        f"| +{(heavy - bare) * 1000:.1f} ms |",
    ]


# --- main -------------------------------------------------------------------------------------


def _python_target() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=CHILD_CWD,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mappings", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--skip-streaming", action="store_true")
    # A run of one path (a child of the main run): its measurements as JSON on stdout.
    ap.add_argument("--measure", choices=tuple(PATHS), help=argparse.SUPPRESS)
    ap.add_argument("--smaps-pid", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--rollup-pids", type=int, nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--peers", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(child_measure(args)))
        return 0
    paths = ["c", "pure"] if c_built() else ["pure"]
    system = f"Python {sys.version.split()[0]}, Linux {os.uname().release}"
    print(f"smapsfmt {smapsfmt.__version__} installed in {INSTALLED}, {system}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(
        "C module: "
        + ("built; " if c_built() else "not built (no C compiler at install); ")
        + "this run measures "
        + " and ".join(
            {"c": "the C path", "pure": "the pure-Python path (SMAPSFMT_PURE_PYTHON=1)"}[p]
            for p in paths
        )
        + ", each in a process of its own\n",
        flush=True,
    )
    start = time.perf_counter()
    target = start_target(args.mappings)
    rollup_targets = [_python_target(), start_target(2000)]
    try:
        results = run_children(paths, target.pid, [p.pid for p in rollup_targets], args.rounds)
        for path in paths:
            print(f"{PATHS[path]} run: {results[path]['ran']}")
        print()
        for table in (live_table(results), corpus_table(results), rollup_table(results)):
            print("\n".join(table) + "\n", flush=True)
        print("\n".join(command_table(target.pid, paths, args.rounds)) + "\n", flush=True)
    finally:
        for proc in (target, *rollup_targets):
            stop(proc)
    if not args.skip_streaming:
        print("\n".join(streaming_table(paths)) + "\n", flush=True)
    print("\n".join(import_table(args.rounds)) + "\n", flush=True)
    adversarial = BENCH / "adversarial.py"
    if adversarial.exists():
        subprocess.run([sys.executable, str(adversarial)], env=child_env(), check=True)
    print(f"(the whole run took {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
