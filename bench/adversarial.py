"""Adversarial inputs: the cost of each, at two sizes, to show it grows linearly.

    python bench/adversarial.py [--scale 1.0] [--only NAME]

Builds each input below at a size n and at 8n and times, on the installed package, each of
``parse`` (parse_smaps, or parse_rollup for rollup-shaped inputs), ``aggregate``
(iter_smaps read through the aggregator, from a file object) and ``validate``. A row gives the
time per unit (a mapping, a field line or a MB) at both sizes and the growth of the total time
(8n over n): linear time is about 8x, quadratic 64x; caches make 8n up to about twice as
dear per unit (16,000 mappings do not fit where 2,000 do). The last column flags a growth over
24x where the time at 8n is over 10 ms (below that, a refusal at the first line, it is noise).

Inputs:

  uniform          real entries of one shape (the reference)
  shapes-8         entries of 8 shapes taking turns (optional fields missing)
  shapes-64        the same with 64 shapes
  shapes-300       the same with 300 shapes (more than any cache of 256)
  vendor-1         one vendor field line (a label no kernel prints) on every entry
  vendor-shapes    vendor field lines in 16 shapes taking turns
  vendor-distinct  a vendor field line of its own label on every entry: no shape repeats
  vendor-fields    one entry with many vendor field lines (unit: a field line)
  garbage-tail     valid entries, then one line of garbage (parse and validate report it)
  newlines         nothing but newlines (unit: a MB; every job refuses it at line 1)
  long-line        one line without a newline (unit: a MB)

Prints which path ran: C (smapsfmt._parse._match) or pure Python (SMAPSFMT_PURE_PYTHON=1).
Absolute times vary with the machine and its load; the growth ratios are the result.
"""

from __future__ import annotations

import argparse
import gc
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import smapsfmt
from smapsfmt._parse import accel as _accel

# The fields of a 6.x entry, in the kernel's order; THPeligible last, then VmFlags.
_FIELDS = (
    "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean",
    "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM",
    "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb",
    "Private_Hugetlb", "Swap", "SwapPss", "Locked",
)  # fmt: skip
# Fields an entry may lack in the inputs of many shapes: each shape drops a subset of them.
_OPTIONAL = ("Pss_Dirty", "KSM", "LazyFree", "ShmemPmdMapped", "FilePmdMapped",
             "Shared_Hugetlb", "Private_Hugetlb", "SwapPss", "Locked", "Referenced")  # fmt: skip


_FOUR = frozenset({"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty",
                   "Private_Dirty", "Referenced", "Anonymous"})  # fmt: skip


def _header(i: int) -> str:
    start = 0x7F0000000000 + i * 0x2000
    return f"{start:x}-{start + 0x1000:x} rw-p 00000000 00:00 0 "


def _entry(i: int, drop: frozenset[str] = frozenset(), vendor: tuple[str, ...] = ()) -> str:
    lines = [_header(i)]
    for name in _FIELDS:
        if name not in drop:
            value = 4 if name in _FOUR else 0
            lines.append(f"{name + ':':<16}{value:>8} kB")
    lines += [f"{name + ':':<16}{0:>8} kB" for name in vendor]
    lines += ["THPeligible:           0", "VmFlags: rd wr mr mw me ac "]
    return "\n".join(lines) + "\n"


def _drop(shape: int) -> frozenset[str]:
    return frozenset(name for bit, name in enumerate(_OPTIONAL) if shape >> bit & 1)


def uniform(n: int) -> bytes:
    return "".join(_entry(i) for i in range(n)).encode()


def shapes(count: int) -> Callable[[int], bytes]:
    def build(n: int) -> bytes:
        return "".join(_entry(i, _drop(i % count)) for i in range(n)).encode()

    return build


def vendor_every(n: int) -> bytes:
    return "".join(_entry(i, vendor=("Vendor_Pages",)) for i in range(n)).encode()


def vendor_shapes(n: int) -> bytes:
    return "".join(_entry(i, vendor=(f"Vendor_{i % 16}",)) for i in range(n)).encode()


def vendor_distinct(n: int) -> bytes:
    return "".join(_entry(i, vendor=(f"Vendor_{i}",)) for i in range(n)).encode()


def vendor_fields(n: int) -> bytes:
    return _entry(0, vendor=tuple(f"Vendor_{i}" for i in range(n))).encode()


def garbage_tail(n: int) -> bytes:
    return uniform(n) + b"garbage\n"


def newlines(megabytes: int) -> bytes:
    return b"\n" * (megabytes << 20)


def long_line(megabytes: int) -> bytes:
    return b"7" * (megabytes << 20)


@dataclass
class Input:
    name: str
    build: Callable[[int], bytes]
    n: int
    unit: str  # what n counts: "mapping", "field" or "MB"


INPUTS = (
    Input("uniform", uniform, 2000, "mapping"),
    Input("shapes-8", shapes(8), 2000, "mapping"),
    Input("shapes-64", shapes(64), 2000, "mapping"),
    Input("shapes-300", shapes(300), 2000, "mapping"),
    Input("vendor-1", vendor_every, 2000, "mapping"),
    Input("vendor-shapes", vendor_shapes, 2000, "mapping"),
    Input("vendor-distinct", vendor_distinct, 2000, "mapping"),
    Input("vendor-fields", vendor_fields, 2048, "field"),
    Input("garbage-tail", garbage_tail, 2000, "mapping"),
    Input("newlines", newlines, 2, "MB"),
    Input("long-line", long_line, 2, "MB"),
)


def _parse(data: bytes) -> object:
    try:
        return smapsfmt.parse_smaps(data)
    except smapsfmt.SmapsSyntaxError as exc:
        return exc


def _aggregate(data: bytes) -> object:
    try:
        return smapsfmt.aggregate(smapsfmt.iter_smaps(io.BytesIO(data)))
    except smapsfmt.SmapsSyntaxError as exc:
        return exc


def _validate(data: bytes) -> object:
    return smapsfmt.validate(data)


JOBS: dict[str, Callable[[bytes], object]] = {
    "parse": _parse,
    "aggregate": _aggregate,
    "validate": _validate,
}


def _time(job: Callable[[bytes], object], data: bytes, rounds: int) -> float:
    best = float("inf")
    job(data[:4096])  # warm: lazy imports, the grammar, composed shapes
    for _ in range(rounds):
        gc.collect()  # no garbage of the last run collected during this one
        start = time.perf_counter()
        job(data)
        best = min(best, time.perf_counter() - start)
    return best


def run(scale: float = 1.0, only: str | None = None, rounds: int = 3) -> list[str]:
    """The table's rows (markdown), one per input and job."""
    path = "C (smapsfmt._parse._match)" if _accel.available() else "pure Python"
    rows = [
        f"Adversarial inputs, {path} path; best of {rounds} runs; growth = time(8n) / time(n), "
        "linear is ~8x.",
        "",
        "| input | job | n | us per unit at n | us per unit at 8n | ms at 8n | growth | |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for item in INPUTS:
        if only is not None and item.name != only:
            continue
        n = max(1, round(item.n * scale))
        small, large = item.build(n), item.build(8 * n)
        for job_name, job in JOBS.items():
            t_small = _time(job, small, rounds)
            t_large = _time(job, large, max(1, rounds - 2))
            growth = t_large / t_small
            # Below 10 ms the growth is noise (a refusal at the first line costs microseconds).
            flag = "NOT LINEAR" if growth > 24 and t_large > 0.01 else ""
            rows.append(
                f"| {item.name} | {job_name} | {n} {item.unit} | "
                f"{t_small / n * 1e6:.1f} | {t_large / (8 * n) * 1e6:.1f} | {t_large * 1e3:.1f} | "
                f"{growth:.1f}x | {flag} |"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every n")
    parser.add_argument("--only", help="one input by name")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for line in run(args.scale, args.only, args.rounds):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
