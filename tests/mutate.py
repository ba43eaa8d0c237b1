"""The one mutator of the test suite: real captures, broken the ways real input breaks.

``mutate(data, rng)`` makes one edit chosen by ``rng``; ``mutant(data, seed)`` makes one to
three, all drawn from ``random.Random(seed)``, so that a seed names its mutant for good (a
failure prints it; ``mutant(data, seed)`` rebuilds the input). Every test that mutates
captures draws from here: the parsers' agreement (test_fast, test_accel), the validator's
(test_validate_fuzz) and the contract of every entry point (test_fuzz_contract).
"""

from __future__ import annotations

import random
import re

# Lines inserted as they are: a vendor field, an Android Name line, lines that the grammar
# lexes as VmFlags or Name although they look like fields.
INSERTED = (
    b"Writeback:             4 kB",
    b"Name:           [anon:x y]",
    b"VmFlags:              12 kB",
    b"VmFlags: 12",
    b"Name: 5 kB",
    b"",
)
NUMBERS = (b"0", b"18446744073709551616", b"18446744073709551615", b"1180591620717411303424",
           b"1000000000000000000000000000000", b"123456789012345678901", b"7" * 5000)  # fmt: skip
LONG = (b" ", b"9", b"a", b"x ", b"\t")
_VALUE = re.compile(rb"(?<=[ \t])[0-9]+(?= kB\n|\n)")

OPERATIONS = (
    "flip", "drop", "duplicate", "swap", "truncate", "tab", "insert", "rename", "number",
    "crlf", "crlf-one", "nul", "non-utf8", "long-line",
)  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one edit; any ``data``, the empty one too."""
    operation = rng.choice(OPERATIONS)
    if not data:
        return rng.choice(INSERTED) + rng.choice((b"", b"\n"))
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    at = rng.randrange(len(data))
    if operation == "flip":
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    if operation == "truncate":
        return data[:at]
    if operation == "nul":
        return data[:at] + b"\x00" + data[at:]
    if operation == "non-utf8":
        return data[:at] + b"\xff\xfe\xc3" + data[at:]
    if operation == "crlf":
        return data.replace(b"\n", b"\r\n")
    if operation == "tab":  # a TAB in place of blanks, once or more
        return data.replace(b"  ", b"\t", rng.randint(1, 3))
    if operation == "number":  # a value replaced: 0 (a page size of 0), beyond 64 bits, ...
        found = list(_VALUE.finditer(data))
        if found:
            match = rng.choice(found)
            return data[: match.start()] + rng.choice(NUMBERS) + data[match.end() :]
        return data
    if operation == "drop":
        del lines[i]
    elif operation == "duplicate":
        lines.insert(i, lines[i])
    elif operation == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif operation == "insert":
        lines.insert(i, rng.choice(INSERTED))
    elif operation == "rename":  # a field line labelled as the VmFlags or Name line
        if b":" in lines[i]:
            lines[i] = rng.choice((b"VmFlags", b"Name")) + lines[i][lines[i].index(b":") :]
    elif operation == "crlf-one":
        lines[i] += b"\r"
    elif operation == "long-line":
        lines[i] += rng.choice(LONG) * 20_000
    return b"\n".join(lines)


def mutant(data: bytes, seed: int, rounds: int | None = None) -> bytes:
    """``data`` with ``rounds`` edits (by default one to three), drawn from ``seed``."""
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 3) if rounds is None else rounds):
        data = mutate(data, rng)
    return data


def first_entries(data: bytes, entries: int) -> bytes:
    """The first ``entries`` entries of a smaps text: a seed small enough to fuzz fast."""
    starts = [m.start() for m in re.finditer(rb"(?m)^[0-9a-f]{8,16}-", data)]
    return data[: starts[entries]] if len(starts) > entries else data
