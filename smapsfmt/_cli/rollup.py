"""The ``rollup`` and ``check`` commands: the smaps_rollup of a smaps, and the proof of a pair.

``smapsfmt rollup SMAPS`` prints the rollup in the kernel's own layout. A field that the smaps
determines is printed as the kernel prints it; a field it leaves open (a fixed-point sum such as
Pss, or a rollup-only field such as Pss_File) is printed as ``LO..HI``, the interval the
kernel's value lies in, right-aligned where the kernel puts the number, so that a ``diff``
against the real smaps_rollup shows only those lines; a field with a known kernel bug on that
kernel is printed as ``?``. ``--format json`` gives ``{"mappings", "start", "end", "fields",
"intervals"}``: ``fields`` has every rollup field in kB (for an open field, the low end of its
interval), ``intervals`` maps each open field to ``[LO, HI]`` (``HI`` null: no bound).

``smapsfmt check SMAPS ROLLUP`` proves or refutes, field by field, that ROLLUP is what the
kernel prints for SMAPS (the two swapped, a smaps_rollup then a smaps: a usage error that says
so). ``--format json`` gives the verdict, the diagnostics and the proof of each field (its
value, the smaps sum, the interval, the verdict): ``proof_json``, schema ``smapsfmt schema
check``. Both read the smaps incrementally through smapsfmt._cli.input (constant memory in its
size).

Neither prints a rollup that no kernel prints. When the smaps is no kernel's (field lines no
kernel prints together, a smaps_rollup given as the smaps, not the ``--kernel`` asked for),
both print one diagnostic on the smaps, ``SMAPS:LINE:1: rollup-kernel-mismatch: ...``, on
stderr (with ``--format json``, the error object on stdout), and exit 1; when a field's sum is
beyond what a rollup can print (``(2**64 - 1) >> 10`` kB, the kernel's u64 byte counters),
``SMAPS:LINE:1: value-range: ...`` at the mapping where the sum goes beyond it, exit 1. An
empty smaps has the rollup of an address space without VMAs (6.1+: range 00000000-00000000,
every field 0). A kernel before 4.14 has no smaps_rollup: ``rollup``
says so in a note and prints the sum of its smaps laid out as the oldest smaps_rollup (4.14's).
``--kernel`` is read as ``validate --kernel`` reads it (a version or a profile name; a version
newer than every profile is taken as the newest profile, with a note on stderr); anything else
is a usage error, exit 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._model import Mapping
    from .._rollup.aggregate import Summary
    from .._rollup.bounds import Interval
    from .._rollup.check import FieldProof, Proof
    from .._rollup.dating import Dating
    from .._rollup.errors import KernelMismatch
    from .._spec.profiles import Profile
    from .input import Input


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register ``rollup`` and ``check`` (called by ``_cli.build_parser``)."""
    from .common import add_source_arguments

    rollup = commands.add_parser(
        "rollup", help="compute the smaps_rollup that the kernel prints for a smaps",
        description="Print the smaps_rollup that the kernel which printed SMAPS_FILE ('-' for "
        "standard input) prints for it, in that kernel's layout. Fields the smaps does not "
        "determine (fixed-point sums such as Pss, rollup-only fields such as Pss_File) are "
        "printed as LO..HI, the interval the kernel's value lies in; '?' marks a field with a "
        "known kernel bug on that kernel. Notes go to stderr.",
    )  # fmt: skip
    rollup.add_argument("smaps", metavar="SMAPS_FILE", nargs="?")
    rollup.add_argument(
        "--kernel", metavar="VERSION",
        help="the kernel that printed SMAPS_FILE, for example 4.14 (default: the newest whose "
        "smaps has these fields)",
    )  # fmt: skip
    rollup.add_argument("--format", choices=("text", "json"), default="text")
    add_source_arguments(rollup)
    rollup.set_defaults(run=_cmd_rollup)

    check = commands.add_parser(
        "check", help="prove or refute that a smaps_rollup is the sum of a smaps",
        description="Prove, field by field, that ROLLUP_FILE is the smaps_rollup that the "
        "kernel prints for SMAPS_FILE, with the kernel's arithmetic: fields summed in bytes "
        "must be equal; fixed-point fields (Pss, Pss_Dirty, SwapPss, Locked) must lie in the "
        "interval of the kernel's PSS_SHIFT arithmetic; rollup-only fields within their "
        "bounds; the header range as that kernel computes it. Violations print as "
        "ROLLUP:LINE:COL: RULE: message; exit 0 when consistent, 1 when not. With --pid, "
        "both files of a running process, read while it is frozen.",
    )  # fmt: skip
    check.add_argument("smaps", metavar="SMAPS_FILE", nargs="?")
    check.add_argument("rollup", metavar="ROLLUP_FILE", nargs="?")
    check.add_argument(
        "--kernel", metavar="VERSION",
        help="the kernel that printed both files (default: any kernel both fit)",
    )  # fmt: skip
    check.add_argument("--format", choices=("text", "json"), default="text")
    add_source_arguments(check)
    check.set_defaults(run=_cmd_check)


# --- reading the smaps as a stream ---------------------------------------------------------------


def _smaps_input(args: argparse.Namespace) -> Input:
    """SMAPS_FILE (through the input layer), or the smaps of ``--pid``."""
    from .common import load_source
    from .input import from_bytes, open_input
    from .streams import UsageError

    if getattr(args, "pid", None) is not None:
        data, name = load_source(args, args.smaps, kind="smaps")
        return from_bytes(data, name)
    if args.smaps is None:
        raise UsageError(f"SMAPS_FILE or --pid PID is required (see '{args.source_prog} --help')")
    return open_input(args.smaps)


def _read_smaps(source: Input) -> tuple[bytes, Iterator[Mapping]]:
    """The first piece of the smaps (it shows the layout) and its mappings, one at a time, as
    the pieces are read."""
    from .._parse.stream import iter_smaps

    chunks = source.chunks()
    first = next(chunks, b"")
    return first, iter_smaps(itertools.chain((first,), chunks), path=source.name)


# --- what the first piece of the smaps shows ----------------------------------------------------


def first_entry(head: bytes) -> str | None:
    """The text of the first entries (as many as the kernel detector samples), when the piece
    holds all of them; all of it when it holds fewer."""
    from .._render import header_lines
    from .._spec.kernels import SAMPLE

    text = head.decode("latin-1")
    starts = [m.start() for m in header_lines().finditer(text)][: SAMPLE + 1]
    if not starts:
        return None
    return text[starts[0] : starts[SAMPLE] if len(starts) > SAMPLE else len(text)]


def _check_kernel(kernel: str | None) -> None:
    """``--kernel`` as ``validate`` reads it: a usage error (exit 2) when no profile has it."""
    from .._rollup.dating import asked_kernels
    from .common import edited_spec
    from .streams import UsageError

    if kernel is not None:
        try:
            asked_kernels(kernel)
        except ValueError as exc:  # no such kernel; or the SMAPSFMT_SPEC_DIR copy
            raise UsageError(edited_spec(exc) or str(exc)) from None


# --- rollup ------------------------------------------------------------------------------------


def _cmd_rollup(args: argparse.Namespace) -> int:
    from .._render import word_size
    from .._rollup.aggregate import render_text, summarize
    from .._rollup.errors import KernelMismatch
    from .common import Refusal
    from .streams import EXIT_OK, err, out

    _check_kernel(args.kernel)
    with _smaps_input(args) as source:
        head, mappings = _read_smaps(source)  # the first piece dates the text
        try:
            summary = summarize(mappings, kernel=args.kernel, sample=first_entry(head))
        except KernelMismatch as exc:
            raise Refusal(_refusal(source.name, exc)) from None
    # A syntax error goes to smapsfmt._cli.main.main, which reports it (stderr; JSON with
    # --format).
    profile = profile_words(summary.kernels, summary.profile, args.kernel, summary.mappings)
    for note in [*_newer_kernel(args.kernel), *_notes(summary), profile]:
        err(f"smapsfmt: note: {note}\n")
    if args.format == "json":
        out(json.dumps({**summary.to_jsonable(), "profile": profile}, indent=1) + "\n")
    else:
        out(render_text(summary, word_size(head)))
    return EXIT_OK


def profile_words(kernels: Dating, chosen: Profile | None, kernel: str | None,
                  mappings: int = 1) -> str:  # fmt: skip
    """The profile used, in the words of ``validate``'s summary line (``profile Linux 6.6-7.3
    (matched)``; smapsfmt._spec.kernels.Detection): ``chosen``, else the first of the
    profiles the kernel detector found, the others as printing the same text. Every kernel
    prints an empty smaps alike: for one, the newest profile is used, and said so."""
    from .._spec.kernels import Detection, asked_suffix

    profiles = kernels.profiles
    if chosen is None and profiles:
        chosen = next((p for p in profiles if p.rollup_lines is not None), profiles[0])
    if chosen is None:
        return f"no profile (dated by its fields: {kernels})"
    if not mappings:
        how = "an empty smaps, which every kernel prints alike: the newest is used"
        return Detection((chosen,), how + asked_suffix(kernel)).describe()
    rest = tuple(p for p in profiles if p != chosen)
    return Detection((chosen, *rest), "matched" + asked_suffix(kernel)).describe()


def _refusal(smaps_name: str, exc: KernelMismatch) -> Any:
    """Why no kernel prints a rollup of the smaps: one diagnostic on the smaps."""
    from .._diagnostics import Diagnostic

    return Diagnostic(smaps_name, exc.line, 1, exc.rule, "error", str(exc))


def _newer_kernel(kernel: str | None) -> list[str]:
    """The note for a ``--kernel`` newer than every profile, as ``validate`` words it."""
    from .._spec.profiles import newer_note

    note = newer_note(kernel)
    return [note] if note is not None else []


def _notes(summary: Summary) -> list[str]:
    notes = list(summary.notes)
    if summary.unknown:
        notes.append(
            f"left out {', '.join(summary.unknown)}: not in the specification, so how the "
            "kernel sums them is unknown"
        )
    open_fields = [n for n, b in summary.fields.items() if not b.exact]
    if open_fields:
        notes.append(
            f"{', '.join(open_fields)}: not determined by the smaps; printed as LO..HI, the "
            "interval the kernel's value lies in ('?': a known kernel bug; see 'smapsfmt check')"
        )
    return notes


# --- check -------------------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace) -> int:
    from .._parse.parser import detect_kind, parse_rollup
    from .._rollup.check import check
    from .._rollup.errors import KernelMismatch
    from .common import Refusal, load_snapshot, read_input, snapshot_rollup
    from .input import from_bytes, open_input
    from .streams import EXIT_INVALID, EXIT_OK, UsageError, err, out

    _check_kernel(args.kernel)
    if getattr(args, "pid", None) is not None:
        if args.smaps is not None or args.rollup is not None:
            raise UsageError("give either SMAPS_FILE ROLLUP_FILE or --pid PID, not both")
        snap = load_snapshot(args)
        rollup_data, rollup_path = snapshot_rollup(snap)
        source = from_bytes(snap.smaps_text, snap.smaps_path)
    else:
        if args.smaps is None or args.rollup is None:
            raise UsageError(
                "SMAPS_FILE and ROLLUP_FILE, or --pid PID, are required "
                "(see 'smapsfmt check --help')"
            )
        if args.smaps == "-" and args.rollup == "-":
            raise UsageError("only one of SMAPS_FILE and ROLLUP_FILE can be standard input")
        rollup_data = read_input(args.rollup)
        rollup_path = "<stdin>" if args.rollup == "-" else args.rollup
        source = open_input(args.smaps)
    with source:
        head, mappings = _read_smaps(source)
        if detect_kind(head) == "rollup" and rollup_data and detect_kind(rollup_data) == "smaps":
            raise UsageError(
                f"SMAPS_FILE and ROLLUP_FILE are swapped: {source.name} is a smaps_rollup and "
                f"{rollup_path} a smaps; give the smaps first (see 'smapsfmt check --help')"
            )
        rollup = parse_rollup(rollup_data, path=rollup_path)
        try:
            proof = check(
                mappings,
                rollup,
                kernel=args.kernel,
                path=rollup_path,
                sample=first_entry(head),
                rollup_text=rollup_data.decode("latin-1"),
            )
        except KernelMismatch as exc:
            raise Refusal(_refusal(source.name, exc)) from None
    # A syntax error goes to smapsfmt._cli.main.main, which reports it (stderr; JSON with
    # --format).
    errors = [d for d in proof.diagnostics if d.severity == "error"]
    profile = profile_words(proof.kernels, None, args.kernel, proof.mappings)
    for note in _newer_kernel(args.kernel):
        err(f"smapsfmt: note: {note}\n")
    if args.format == "json":
        found = {**proof_json(proof, source.name, rollup_path), "profile": profile}
        out(json.dumps(found, indent=1) + "\n")
    else:  # the profile on the summary line, as validate's ends
        out(_proof_text(proof, source.name, rollup_path).rstrip("\n") + f"; {profile}\n")
    return EXIT_INVALID if errors else EXIT_OK


def proof_json(proof: Proof, smaps_name: str, rollup_name: str) -> dict[str, Any]:
    """``check --format json``: the verdict, the diagnostics and the proof, field by field
    (schema: ``smapsfmt schema check``)."""
    return {
        "smaps": smaps_name,
        "rollup": rollup_name,
        "mappings": proof.mappings,
        "kernels": str(proof.kernels),
        "consistent": not any(d.severity == "error" for d in proof.diagnostics),
        "diagnostics": [d.to_json() for d in proof.diagnostics],
        "fields": [_field_json(item) for item in proof.fields],
    }


def _field_json(item: FieldProof) -> dict[str, Any]:
    bound = item.bound
    return {
        "name": item.name,
        "line": item.line,
        "value": item.value,
        "sum": item.smaps_sum,
        "interval": None if bound is None else [bound.lo, bound.hi],
        "verdict": _verdict(item),
        "why": None if bound is None else bound.why,
    }


def _verdict(item: FieldProof) -> str:
    return "holds" if item.holds else "violated" if item.checked else "not checked"


def _proof_text(proof: Proof, smaps_name: str, rollup_name: str) -> str:
    out = [d.render() for d in proof.diagnostics]
    width = max((len(p.name) for p in proof.fields), default=0) + 1
    for item in proof.fields:
        shown = "absent" if item.value is None else f"{item.value} kB"
        verdict = _verdict(item).replace("violated", "VIOLATED")
        out.append(f"  {item.name + ':':<{width}} {shown:>11}  {_relation(item.bound)}  {verdict}")
    errors = sum(d.severity == "error" for d in proof.diagnostics)
    plural = "s" if proof.mappings != 1 else ""
    if errors:
        out.append(
            f"{rollup_name}: NOT the rollup of {smaps_name} ({proof.mappings} mapping{plural}, "
            f"{proof.kernels}): {errors} violation{'s' if errors != 1 else ''}"
        )
    else:
        proven = sum(p.holds for p in proof.fields)
        unchecked = len(proof.fields) - proven
        out.append(
            f"{rollup_name}: consistent with {smaps_name} ({proof.mappings} mapping{plural}, "
            f"{proof.kernels}): {proven} of {len(proof.fields)} fields proven"
            + (f", {unchecked} not checked" if unchecked else "")
        )
    return "\n".join(out) + "\n"


def _relation(bound: Interval | None) -> str:
    if bound is None:
        return "no relation known"
    if bound.hi is None:
        return "unreliable: a known kernel bug"
    if bound.exact:
        return f"= {bound.lo} kB"
    return f"in [{bound.lo}, {bound.hi}]"
