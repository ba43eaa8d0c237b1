"""The validator's cost: per mapping against the kernel's read, and per MB as inputs grow.

    python bench/validate_scaling.py [--rounds 7]

1. validate() on tests/fixtures/valid/live/6.18/many-small/smaps (3161 mappings) and on a
   live process this script starts with as many small mappings, against the kernel's read of
   that process's /proc/PID/smaps (interleaved rounds, medians): microseconds per mapping and
   the ratio to the read.
2. Time per MB of validate() on inputs of 1, 2, 4 and 8 MB of several shapes: clean entries,
   entries that all take the slow path (CRLF line endings), and single pathological lines (a
   long run of blanks, of digits, of header padding ending in a NUL byte, of letters). If the
   time grows linearly with the size, the per-MB column stays flat; the last column is the
   per-MB time of the largest input over that of the smallest.

Absolute times vary with the machine and its load; the ratios are the result.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable

from _installed import ROOT, require_installed

require_installed()

from _targets import start_target, stop  # noqa: E402

import smapsfmt  # noqa: E402

MANY_SMALL = ROOT / "tests/fixtures/valid/live/6.18/many-small/smaps"


def _median(job: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def per_mapping(rounds: int) -> None:
    data = MANY_SMALL.read_bytes()
    mappings = len(re.findall(rb"(?m)^[0-9a-f]{8,16}-", data))
    child = start_target(3000, pages=1)
    try:
        live_path = f"/proc/{child.pid}/smaps"
        live = _read(live_path)
        live_mappings = len(re.findall(rb"(?m)^[0-9a-f]{8,16}-", live))
        assert smapsfmt.validate(live) == [] and smapsfmt.validate(data) == []
        reads, corpus, fresh = [], [], []
        for _ in range(rounds):
            reads.append(_median(lambda: _read(live_path), 1))
            corpus.append(_median(lambda: smapsfmt.validate(data), 1))
            fresh.append(_median(lambda: smapsfmt.validate(live), 1))
    finally:
        stop(child)
    read_us = statistics.median(reads) / live_mappings * 1e6
    corpus_us = statistics.median(corpus) / mappings * 1e6
    live_us = statistics.median(fresh) / live_mappings * 1e6
    print(f"validate() cost per mapping, {rounds} interleaved rounds, medians:\n")
    print("| input | mappings | us per mapping | ratio to the kernel read |")
    print("|---|---:|---:|---:|")
    print(f"| kernel read of /proc/{child.pid}/smaps | {live_mappings} | {read_us:.2f} | 1.00 |")
    print(f"| validate(that text) | {live_mappings} | {live_us:.2f} | {live_us / read_us:.2f} |")
    print(
        f"| validate({MANY_SMALL.relative_to(ROOT)}) | {mappings} | {corpus_us:.2f} | "
        f"{corpus_us / read_us:.2f} |"
    )
    print()


def _entries(size: int) -> bytes:
    """Clean 6.18 entries (a real capture's, with addresses moved on) up to ``size`` bytes."""
    text = (ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps").read_bytes()
    entry = text[: text.index(b"\n5566ad6ff000-")] + b"\n"
    header, _, body = entry.partition(b"\n")
    out = []
    start = 0x5566AD6FD000
    total = 0
    while total < size:
        line = f"{start:012x}-{start + 0x2000:012x}".encode() + header[25:]
        out.append(line + b"\n" + body)
        total += len(entry)
        start += 0x2000
    return b"".join(out)


def _line(size: int, fill: bytes, prefix: bytes, suffix: bytes = b"") -> bytes:
    seed = _entries(1)
    head, _, rest = seed.partition(b"\nRss:")
    return head + b"\n" + prefix + fill * (size // len(fill)) + suffix + b"\nRss:" + rest


_HEADER = b"5566ad6fd000-5566ad6ff000 r--p 00000000 fe:00 1"

SHAPES: dict[str, Callable[[int], bytes]] = {
    "clean entries": _entries,
    "every entry slow (CRLF)": lambda n: _entries(n).replace(b"\n", b"\r\n"),
    "one line of blanks": lambda n: _line(n, b" ", b"Rss:", b"x"),
    "one line of digits": lambda n: _line(n, b"9", b"Rss:            ", b" kB"),
    "header padding + NUL": lambda n: _line(n, b" ", _HEADER, b"\0"),
    "one line of letters": lambda n: _line(n, b"Label", b""),
}  # fmt: skip


def scaling(rounds: int) -> None:
    sizes = [1 << 20, 2 << 20, 4 << 20, 8 << 20]
    print(f"validate() time per MB as the input grows, {rounds} rounds, medians:\n")
    print("| shape | " + " | ".join(f"{s >> 20} MB: ms/MB" for s in sizes) + " | 8 MB / 1 MB |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for name, make in SHAPES.items():
        per_mb = []
        for size in sizes:
            data = make(size)
            seconds = _median(lambda data=data: smapsfmt.validate(data), rounds)  # type: ignore[misc]
            per_mb.append(seconds * 1e3 / (len(data) / (1 << 20)))
        cells = " | ".join(f"{value:.1f}" for value in per_mb)
        print(f"| {name} | {cells} | {per_mb[-1] / per_mb[0]:.2f} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"smapsfmt {smapsfmt.__version__}, Python {sys.version.split()[0]}, "
          f"Linux {os.uname().release}\n")  # fmt: skip
    per_mapping(args.rounds)
    scaling(max(3, args.rounds // 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
