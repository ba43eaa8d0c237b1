"""The ways one smaps text reaches the aggregator through the public API, and everything the
aggregator gives for it (test_batch.py, here and in child processes that read an edited copy of
the spec files).

Which internal path each way takes (smapsfmt/_rollup/sums.py ``read``): the aggregator sums
Batches, runs of entries of one shape column by column. Parsed mappings (a Smaps, a list, any
iterable of Mapping) are gathered into Batches by the aggregator itself: each run of one shape
in Batches of at most 256 entries (the per-mapping path). The stream of ``smapsfmt.iter_smaps``
is read through the parser's own Batches instead: with the C module, each run of three or more
entries of one shape that one scan of the stream decides is one Batch (shorter runs come as
Mappings, gathered as above); the pure-Python parser hands over Mappings, gathered as above.
A stream fed in pieces is scanned piece by piece, so that where the pieces end decides where
the Batches end: with the C module, a text in pieces of 1, 3, 1, 1, 4, 2, 7 entries is summed
in Batches of 1 to 7 entries, one cut at 40 seeded random bytes in Batches of uneven sizes,
and every running quantity (the header's range, the gate VMA, the first entry that carries a
fraction of each field, the first sum beyond what a rollup can print, a smaps_rollup entry
among the mappings) crosses their boundaries.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import pydantic

import smapsfmt

HEADER = re.compile(rb"^[0-9a-f]+-[0-9a-f]+ ", re.MULTILINE)

# The kernels the aggregator is asked for, besides the one it finds (the newest whose profile
# prints the text): 4.14, whose rollup range ends with the gate VMA, and 4.19, whose range ends
# before it (each a KernelMismatch for a text a newer kernel printed).
KERNELS: tuple[str | None, ...] = (None, "4.14", "4.19")


def by_entries(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """``data`` in pieces of ``sizes[0]``, ``sizes[1]``, ... entries (round and round), each
    piece ending inside the header of the entry after its last one, after its range: the stream
    decides a piece's entries when the piece arrives."""
    starts = [m.start() for m in HEADER.finditer(data)]
    pieces: list[bytes] = []
    at, entry, turn = 0, 0, 0
    while True:
        entry += sizes[turn % len(sizes)]
        turn += 1
        if entry >= len(starts):
            pieces.append(data[at:])
            return pieces
        cut = data.index(b" ", starts[entry]) + 1
        pieces.append(data[at:cut])
        at = cut


def at_random(data: bytes, rng: random.Random, count: int = 40) -> list[bytes]:
    """``data`` cut at ``count`` bytes drawn by ``rng`` (in lines, headers, numbers)."""
    cuts = sorted(rng.sample(range(1, len(data)), min(count, max(len(data) - 1, 0))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


Source = Callable[[], Iterable[smapsfmt.Mapping]]


def ways(data: bytes, seed: int) -> dict[str, Source]:
    """Each public way of giving the aggregator the mappings of ``data``, by name: each call
    of a value makes a new source. ``mappings`` (parsed, gathered by the aggregator) first:
    the reference."""
    parsed = smapsfmt.parse_smaps(data)  # a sequence: read again by each call
    uneven = at_random(data, random.Random(seed))
    one = by_entries(data, (1, 3, 1, 1, 4, 2, 7))
    return {
        "mappings": lambda: parsed,
        "stream": lambda: smapsfmt.iter_smaps([data]),
        "stream in pieces of 1 3 1 1 4 2 7 entries": lambda: smapsfmt.iter_smaps(one),
        f"stream cut at random bytes (seed {seed})": lambda: smapsfmt.iter_smaps(uneven),
    }


def outcome(run: Callable[[], Any]) -> list[Any]:
    """What a call gives: ``["ok", result]``, or its error: type, message, line and rule."""
    try:
        return ["ok", run()]
    except ValueError as exc:
        return [
            type(exc).__name__,
            str(exc),
            getattr(exc, "line", None),
            getattr(exc, "rule", None),
        ]


def as_json(model: object) -> Any:
    """A model as ``--format json`` prints it (pydantic's dump of the public model)."""
    return pydantic.TypeAdapter(type(model)).dump_python(model, mode="json")


def aggregated(result: smapsfmt.AggregatedRollup) -> dict[str, Any]:
    """All of an AggregatedRollup: the rollup model (header, every field) and each field's
    interval with its reason (which states the sums, the mappings that can carry a fraction,
    the caps and the split of Pss it was computed from)."""
    return {
        "rollup": as_json(result),
        "intervals": {n: [i.lo, i.hi, i.why] for n, i in result.intervals.items()},
    }


def probe_rollup(data: bytes) -> smapsfmt.Rollup:
    """A smaps_rollup with a line, of value 0, for every field label of ``data`` (those of no
    rollup, and those the specification does not name, too): check_rollup states the sum of
    each over the mappings, or what no rollup prints."""
    labels = dict.fromkeys(re.findall(rb"^([A-Za-z_][A-Za-z0-9_]*):", data, re.MULTILINE))
    labels.pop(b"VmFlags", None)
    labels.pop(b"Name", None)
    lines = [b"00400000-7fff00000000 ---p 00000000 00:00 0                          [rollup]"]
    lines += [(label + b":").ljust(16) + b"       0 kB" for label in labels]
    return smapsfmt.parse_rollup(b"\n".join(lines) + b"\n")


def _rollup(source: Source, kernel: str | None) -> dict[str, Any]:
    return aggregated(smapsfmt.aggregate(source(), kernel=kernel))


def _check(source: Source, rollup: smapsfmt.Rollup) -> list[list[str]]:
    found = smapsfmt.check_rollup(source(), rollup, path="ROLLUP")
    return [[d.render(), d.severity] for d in found]


def results(
    source: Source, rollups: Sequence[smapsfmt.Rollup], kernels: Sequence[str | None] = KERNELS
) -> list[Any]:
    """Everything the aggregator gives for the mappings ``source`` makes: the rollup of each
    of ``kernels``, and the check of each of ``rollups`` (every diagnostic, rendered)."""
    return [outcome(partial(_rollup, source, kernel)) for kernel in kernels] + [
        outcome(partial(_check, source, rollup)) for rollup in rollups
    ]


def learn_shapes(data: bytes) -> None:
    """Parse ``data`` repeated to 512 KiB, once: the parser composes the C module's program for
    a shape of entries only in a text of 64 KiB or more per shape (up to eight), or for a shape
    it has composed before. After this, it takes the entries of ``data``'s shapes in C however
    small the pieces of a stream (the C path's Batches of 1 to 7 entries)."""
    if not data or os.environ.get("SMAPSFMT_PURE_PYTHON", "") not in ("", "0"):
        return
    text = data if data.endswith(b"\n") else data + b"\n"
    with contextlib.suppress(
        ValueError
    ):  # a text the aggregator refuses parses; if not, the ways say
        smapsfmt.parse_smaps(text * -(-(8 << 16) // len(text)))


def every_way(
    data: bytes,
    rollups: Sequence[smapsfmt.Rollup],
    seed: int,
    kernels: Sequence[str | None] = KERNELS,
) -> dict[str, list[Any]]:
    """:func:`results` of each way of :func:`ways`, by name (the shapes of ``data`` learnt
    first)."""
    learn_shapes(data)
    return {how: results(source, rollups, kernels) for how, source in ways(data, seed).items()}
