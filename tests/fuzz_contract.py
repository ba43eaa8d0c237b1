"""The fuzz contract of the library: every verb's entry point, on mutated captures, succeeds or
raises the error its documentation names, and nothing else.

Mutant ``k`` is ``mutant(SEEDS[k % len(SEEDS)].data, k)`` (tests/mutate.py): a number names
an input for good, on every machine. Each mutant goes through every verb:

- ``parse``: parse_smaps or parse_rollup (the seed's kind), SmapsSyntaxError;
- ``iter``: iter_smaps over a binary file, SmapsSyntaxError (smaps seeds);
- ``validate``: validate, nothing (problems are diagnostics);
- ``aggregate``, ``render``: aggregate, and what ``smapsfmt rollup`` prints of its rollup,
  through the public surface: the rollup as the kernel prints it (smapsfmt.spec.render, in
  the profile smapsfmt.spec.detect names) and each field's value as the command prints it
  (``Interval.text``), KernelMismatch (aggregate's ValueError);
- ``check``: check_rollup against the real other file of the capture, KernelMismatch.

``outcomes(start, count)`` gives one line per mutant: each verb's outcome, a result or an
error reduced to a short digest, so that the C path and the pure-Python path can be
compared. Run as a program, it prints them for the path it runs on (the test runs it with
SMAPSFMT_PURE_PYTHON=1):

    python tests/fuzz_contract.py START COUNT
"""

from __future__ import annotations

import functools
import hashlib
import io
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutate import first_entries, mutant

import smapsfmt
import smapsfmt.spec
from smapsfmt import KernelMismatch

VALID = Path(__file__).resolve().parent / "fixtures" / "valid"


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    rollup: bool
    other: bytes  # the other file of the capture: the rollup of a smaps, the smaps of a rollup


def _seeds() -> list[Seed]:
    found: list[Seed] = []
    live = VALID / "live" / "6.18"
    for name in ("sleep", "hugetlb", "thp", "mlocked", "shared-fork"):
        smaps = first_entries((live / name / "smaps").read_bytes(), 2)
        rollup = (live / name / "smaps_rollup").read_bytes()
        found.append(Seed(f"live/6.18/{name}/smaps", smaps, False, rollup))
        if name in ("sleep", "hugetlb"):
            found.append(Seed(f"live/6.18/{name}/smaps_rollup", rollup, True, smaps))
    external = VALID / "external"
    for where in ("prometheus-procfs/fixtures/proc/26231", "pcp/procpid-5.5.7-root-007/proc/1"):
        smaps = first_entries((external / where / "smaps").read_bytes(), 2)
        rollup = (external / where / "smaps_rollup").read_bytes()
        found.append(Seed(f"external/{where}/smaps", smaps, False, rollup))
        found.append(Seed(f"external/{where}/smaps_rollup", rollup, True, smaps))
    sleep_rollup = (live / "sleep" / "smaps_rollup").read_bytes()
    for path in (
        "android-libmeminfo/testdata1/smaps_short",
        "jc/tests/fixtures/linux-proc/pid_smaps",
    ):
        smaps = first_entries((external / path).read_bytes(), 2)
        found.append(Seed(f"external/{path}", smaps, False, sleep_rollup))
    return found


SEEDS = _seeds()
VERBS = ("parse", "iter", "validate", "aggregate", "render", "check")
DOCUMENTED: dict[str, tuple[type[BaseException], ...]] = {
    "parse": (smapsfmt.SmapsSyntaxError,),
    "iter": (smapsfmt.SmapsSyntaxError,),
    "validate": (),
    "aggregate": (KernelMismatch,),
    "render": (KernelMismatch,),
    "check": (KernelMismatch,),
}


def input_of(index: int) -> tuple[Seed, bytes]:
    seed = SEEDS[index % len(SEEDS)]
    return seed, mutant(seed.data, index)


@functools.cache
def _other(seed: Seed) -> Any:
    """The other file of the seed's capture, parsed (once)."""
    return smapsfmt.parse_smaps(seed.other) if seed.rollup else smapsfmt.parse_rollup(seed.other)


@functools.cache
def _layouts() -> tuple[smapsfmt.spec.Profile, ...]:
    """The mainline profiles that print a smaps_rollup, oldest first."""
    profiles = smapsfmt.spec.load_profiles()
    return tuple(p for p in profiles if p.rollup_lines is not None and p.variant_of is None)


def _rendered(data: bytes, smaps: smapsfmt.Smaps) -> tuple[bytes, list[str]]:
    """What ``smapsfmt rollup`` prints for the smaps ``data``, through the public surface: the
    rollup of ``aggregate`` as the kernel of the profile ``detect`` names prints it, and each
    field's value as the command puts it where the kernel puts the number (N, LO..HI, or ?).
    A profile without smaps_rollup, or none: the layout the command takes, the oldest
    smaps_rollup for a kernel before 4.14 (which has none), else the newest."""
    rollup = smapsfmt.aggregate(smaps)
    found = smapsfmt.spec.detect(data, kind="smaps")
    profile = found.profile
    if profile is None or profile.rollup_lines is None:
        layouts = _layouts()
        before = profile is not None and profile.kernels[1][:2] < (4, 14)
        profile = layouts[0] if before else layouts[-1]
    text = smapsfmt.spec.render(rollup, profile, word_size=found.word_size)
    return text, [bound.text for bound in rollup.intervals.values()]


def _digest(value: object) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


class Crash(Exception):
    """An exception no documentation names: the contract is broken."""

    def __init__(self, verb: str, index: int, exc: BaseException) -> None:
        lines = traceback.format_exception(exc)
        super().__init__(
            f"mutant {index} ({SEEDS[index % len(SEEDS)].name}), {verb}: "
            f"{type(exc).__name__}: {exc}\n{''.join(lines[-6:])}"
        )
        self.verb = verb
        self.index = index


def _run(verb: str, index: int, call: Callable[[], Any]) -> tuple[str, Any]:
    """``(outcome, value)``: ``ok`` and the result, or ``error`` and the documented error."""
    try:
        return "ok", call()
    except DOCUMENTED[verb] as exc:
        return "error", exc
    except Exception as exc:
        raise Crash(verb, index, exc) from exc


def _error(exc: BaseException) -> str:
    where = (getattr(exc, "line", None), getattr(exc, "column", None))
    return f"{type(exc).__name__}{where}:{_digest(str(exc))}"


def outcome(index: int) -> list[str]:
    """The outcome of every verb on mutant ``index``, one short string each."""
    seed, data = input_of(index)
    shown: list[str] = []
    parse = smapsfmt.parse_rollup if seed.rollup else smapsfmt.parse_smaps
    parsed = _run("parse", index, lambda: parse(data, path="m"))
    shown.append(_error(parsed[1]) if parsed[0] == "error" else _digest(parsed[1]))
    if not seed.rollup:
        streamed = _run("iter", index, lambda: list(smapsfmt.iter_smaps(io.BytesIO(data))))
        shown.append(_error(streamed[1]) if streamed[0] == "error" else _digest(streamed[1]))
    found = _run("validate", index, lambda: smapsfmt.validate(data, path="m"))
    shown.append(_digest([d.render() for d in found[1]]))
    if parsed[0] == "error":
        return shown
    if seed.rollup:
        smaps, rollup = _other(seed), parsed[1]
    else:
        smaps, rollup = parsed[1], _other(seed)
        aggregated = _run("aggregate", index, lambda: smapsfmt.aggregate(smaps))
        shown.append(_error(aggregated[1]) if aggregated[0] == "error" else _digest(aggregated[1]))
        text = _run("render", index, lambda: _rendered(data, smaps))
        shown.append(_error(text[1]) if text[0] == "error" else _digest(text[1]))
    checked = _run("check", index, lambda: smapsfmt.check_rollup(smaps, rollup, path="r"))
    shown.append(
        _error(checked[1]) if checked[0] == "error" else _digest([d.render() for d in checked[1]])
    )
    return shown


def outcomes(start: int, count: int) -> tuple[list[str], list[str]]:
    """One line per mutant (its verbs' outcomes), and the crashes (empty: the contract holds)."""
    lines: list[str] = []
    crashes: list[str] = []
    for index in range(start, start + count):
        try:
            lines.append(f"{index} " + " ".join(outcome(index)))
        except Crash as crash:
            crashes.append(str(crash))
            lines.append(f"{index} crash {crash.verb}")
    return lines, crashes


def main(argv: list[str]) -> int:
    start, count = int(argv[0]), int(argv[1])
    lines, crashes = outcomes(start, count)
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    for crash in crashes:
        sys.stderr.write(f"{crash}\n")
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
