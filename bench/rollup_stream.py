"""Memory of the aggregator on a 60,000-mapping smaps: streaming, against parsing it whole.

    python bench/rollup_stream.py [--mappings 60000]

Starts a process with that many mappings (vm.max_map_count is 65530 by default), stops it with
SIGSTOP while its smaps and smaps_rollup are read into files (a consistent pair), then, each in
a fresh interpreter whose imports are warmed up on a small smaps first, measures the peak memory
growth of:

  rollup  smapsfmt._rollup.aggregate.summarize(iter_smaps(file)): the rollup, read from the file
  check   smapsfmt._rollup.aggregate.check(iter_smaps(file), rollup): the proof of the pair
  whole   parse_smaps(file.read()) then summarize: the same work holding every mapping

as the peak traced allocation (tracemalloc) and the growth of the peak resident size
(ru_maxrss); and the peak resident size of the command line `smapsfmt check` on the big pair
against the same command on a 37-mapping pair. The target is under 20 MB of growth for the
streaming runs. Each run also checks its result (the pair is proven consistent), so a fast
wrong answer cannot pass for a measurement.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _installed import CHILD_CWD, ROOT, child_env, require_installed
from _targets import start_target, stop

SMALL = ROOT / "tests/fixtures/valid/live/6.18/sleep"

MEASURE = textwrap.dedent(
    """
    import resource, sys, tracemalloc
    from smapsfmt._rollup import aggregate as _aggregate
    from smapsfmt._parse import parser as _parser
    job, smaps, rollup_file, small, small_rollup = sys.argv[1:6]

    def run(path, rollup_path):
        rollup = _parser.parse_rollup(open(rollup_path, "rb").read())
        with open(path, "rb") as handle:
            if job == "rollup":
                summary = _aggregate.summarize(_parser.iter_smaps(handle))
                assert summary.fields["Rss"].lo == rollup.rss, "wrong sum"
                return summary.mappings
            if job == "check":
                proof = _aggregate.check(_parser.iter_smaps(handle), rollup)
                assert not proof.diagnostics, proof.diagnostics[:3]
                return proof.mappings
            smaps_model = _parser.parse_smaps(handle.read())
            summary = _aggregate.summarize(smaps_model)
            assert summary.fields["Rss"].lo == rollup.rss, "wrong sum"
            return summary.mappings

    run(small, small_rollup)  # load pydantic, the parser, the ABI document
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    count = run(smaps, rollup_file)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(count, peak, (after - before) * 1024)
    """
)


def capture(mappings: int, folder: Path) -> tuple[Path, Path]:
    """The smaps and smaps_rollup of a stopped process with ``mappings`` mappings."""
    proc = start_target(mappings, pages=1)
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.05)
        smaps, rollup = folder / "smaps", folder / "smaps_rollup"
        smaps.write_bytes(Path(f"/proc/{proc.pid}/smaps").read_bytes())
        rollup.write_bytes(Path(f"/proc/{proc.pid}/smaps_rollup").read_bytes())
    finally:
        stop(proc)
    return smaps, rollup


def measure(job: str, smaps: Path, rollup: Path) -> tuple[int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, job, str(smaps), str(rollup),
         str(SMALL / "smaps"), str(SMALL / "smaps_rollup")],
        capture_output=True, text=True, check=True, env=child_env(), cwd=CHILD_CWD,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1]), int(out[2])


def cli_peak(smaps: Path, rollup: Path) -> int:
    """Peak resident size of `smapsfmt check SMAPS ROLLUP` in bytes (it must prove the pair)."""
    env = child_env()
    code = (
        "import resource, subprocess, sys; "
        "r = subprocess.run([sys.executable, '-m', 'smapsfmt', 'check', sys.argv[1], "
        "sys.argv[2]], capture_output=True); "
        "assert r.returncode == 0, r.stdout[-500:]; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(smaps), str(rollup)],
        capture_output=True, text=True, check=True, env=env, cwd=CHILD_CWD,
    )  # fmt: skip
    return int(out.stdout) * 1024


def main() -> None:
    require_installed()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mappings", type=int, default=60000)
    args = parser.parse_args()
    if resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY:
        print("note: an address-space limit is set; the target may fail to map", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        smaps, rollup = capture(args.mappings, Path(tmp))
        size = smaps.stat().st_size
        rows = []
        for job, what in (
            ("rollup", "rollup, streaming (summarize(iter_smaps(file)))"),
            ("check", "check of the pair, streaming (check(iter_smaps(file), rollup))"),
            ("whole", "rollup after parse_smaps(file.read()) (not streaming)"),
        ):
            count, peak, rss = measure(job, smaps, rollup)
            target = "< 20" if job != "whole" else "(reference)"
            rows.append(f"| {what} | {peak / 1e6:.1f} | {rss / 1e6:.1f} | {target} |")
        big_cli = cli_peak(smaps, rollup)
        small_cli = cli_peak(SMALL / "smaps", SMALL / "smaps_rollup")
    print(f"A {count}-mapping smaps ({size / 1e6:.1f} MB) and its smaps_rollup, from files:")
    print()
    print("| job | peak traced MB | ru_maxrss growth MB | target MB |")
    print("|---|---:|---:|---|")
    print("\n".join(rows))
    print()
    print(
        f"`smapsfmt check` peak resident size: {big_cli / 1e6:.1f} MB on this pair, "
        f"{small_cli / 1e6:.1f} MB on a 37-mapping pair: {(big_cli - small_cli) / 1e6:+.1f} MB"
    )


if __name__ == "__main__":
    main()
