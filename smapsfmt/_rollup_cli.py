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
kernel prints for SMAPS. Both read the smaps incrementally (constant memory in its size).

Neither prints a rollup that no kernel prints. When the smaps is no kernel's (field lines no
kernel prints together, a smaps_rollup given as the smaps, not the ``--kernel`` asked for),
both print one diagnostic on the smaps, ``SMAPS:LINE:1: rollup-kernel-mismatch: ...``, and
exit 1; when a field's sum is beyond what a rollup can print (``(2**64 - 1) >> 10`` kB, the
kernel's u64 byte counters), ``SMAPS:LINE:1: value-range: ...`` at the mapping where the sum
goes beyond it, exit 1. An empty smaps has the rollup of an address space without VMAs (6.1+:
range 00000000-00000000, every field 0). A kernel before 4.14 has no smaps_rollup: ``rollup``
says so in a note and prints the sum of its smaps laid out as the oldest smaps_rollup (4.14's).
``--kernel`` is read as ``validate --kernel`` reads it (a version or a profile name; a version
newer than every profile is taken as the newest profile, with a note on stderr); anything else
is a usage error, exit 2.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from ._aggregate import Interval, KernelMismatch, Proof, Summary
    from ._model import Mapping

_CHUNK = 1 << 20


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register ``rollup`` and ``check`` (called by ``_cli.build_parser``)."""
    from ._cli import add_source_arguments

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


class _Source:
    """The smaps input, read in pieces; the first piece is kept to learn the layout."""

    __slots__ = ("handle", "head", "name", "pieces")

    def __init__(self, name: str, handle: BinaryIO) -> None:
        self.name = name
        self.handle = handle
        self.head = b""
        self.pieces = 0

    def chunks(self) -> Iterator[bytes]:
        from ._cli import UsageError

        while True:
            try:
                chunk = self.handle.read(_CHUNK)
            except OSError as exc:
                raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None
            if not chunk:
                return
            if not self.pieces:
                self.head = chunk
            self.pieces += 1
            yield chunk


def _open(name: str) -> _Source:
    from ._cli import UsageError, display_name

    if name == "-":
        return _Source(display_name(name), sys.stdin.buffer)
    try:
        return _Source(name, open(name, "rb"))  # closed by the command
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def _file(args: argparse.Namespace, name: str | None) -> str:
    from ._cli import UsageError

    if name is None:
        raise UsageError(f"SMAPS_FILE or --pid PID is required (see '{args.source_prog} --help')")
    return name


def _chain(first: Mapping | None, rest: Iterator[Mapping]) -> Iterator[Mapping]:
    if first is not None:
        yield first
        yield from rest


def _mappings(source: _Source) -> Iterator[Mapping]:
    """The mappings of the smaps, one at a time, as the pieces are read."""
    from ._parser import iter_smaps

    return iter_smaps(source.chunks(), path=source.name)


# --- what the first piece of the smaps shows ----------------------------------------------------


def first_entry(head: bytes) -> str | None:
    """The text of the first entry (header and lines), when the piece holds all of it."""
    from ._render import header_lines

    text = head.decode("latin-1")
    starts = [m.start() for m in header_lines().finditer(text)][:2]
    if not starts:
        return None
    return text[starts[0] : starts[1] if len(starts) > 1 else len(text)].rstrip("\n")


def _check_kernel(kernel: str | None) -> None:
    """``--kernel`` as ``validate`` reads it: a usage error (exit 2) when no profile has it."""
    from ._aggregate import asked_kernels
    from ._cli import UsageError

    if kernel is not None:
        try:
            asked_kernels(kernel)
        except ValueError as exc:
            raise UsageError(str(exc)) from None


# --- rollup ------------------------------------------------------------------------------------


def _cmd_rollup(args: argparse.Namespace) -> int:
    from ._aggregate import KernelMismatch, render_text, summarize
    from ._cli import EXIT_INVALID, EXIT_OK, _err, _out, _syntax_line, load_source
    from ._errors import SmapsSyntaxError
    from ._render import word_size

    _check_kernel(args.kernel)
    if getattr(args, "pid", None) is not None:
        data, name = load_source(args, args.smaps, kind="smaps")
        source = _Source(name, io.BytesIO(data))
    else:
        source = _open(_file(args, args.smaps))
    try:
        mappings = _mappings(source)
        first = next(mappings, None)  # the first piece is read: its first entry dates the text
        summary = summarize(
            _chain(first, mappings), kernel=args.kernel, sample=first_entry(source.head)
        )
    except SmapsSyntaxError as exc:
        _out(_syntax_line(exc) + "\n")
        return EXIT_INVALID
    except KernelMismatch as exc:
        _out(_refusal(source.name, exc))
        return EXIT_INVALID
    finally:
        source.handle.close()
    for note in _newer_kernel(args.kernel) + _notes(summary):
        _err(f"smapsfmt: note: {note}\n")
    if args.format == "json":
        _out(json.dumps(summary.to_jsonable(), indent=1) + "\n")
    else:
        _out(render_text(summary, word_size(source.head)))
    return EXIT_OK


def _refusal(smaps_name: str, exc: KernelMismatch) -> str:
    """Why no kernel prints a rollup of the smaps: one diagnostic line on the smaps."""
    from ._diagnostics import Diagnostic

    return Diagnostic(smaps_name, exc.line, 1, exc.rule, "error", str(exc)).render() + "\n"


def _newer_kernel(kernel: str | None) -> list[str]:
    """The note for a ``--kernel`` newer than every profile (taken as the newest), as
    ``validate`` words it; none for any other."""
    from ._profiles import beyond_every_profile, newer_note

    newest = beyond_every_profile(kernel) if kernel else None
    return [newer_note(kernel or "", newest)] if newest is not None else []


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
    from ._aggregate import KernelMismatch, check
    from ._cli import (
        EXIT_INVALID,
        EXIT_OK,
        UsageError,
        _err,
        _out,
        _syntax_line,
        display_name,
        load_snapshot,
        read_input,
        snapshot_rollup,
    )  # fmt: skip
    from ._errors import SmapsSyntaxError
    from ._parser import parse_rollup

    _check_kernel(args.kernel)
    if getattr(args, "pid", None) is not None:
        if args.smaps is not None or args.rollup is not None:
            raise UsageError("give either SMAPS_FILE ROLLUP_FILE or --pid PID, not both")
        snap = load_snapshot(args)
        rollup_data, rollup_path = snapshot_rollup(snap)
        source = _Source(snap.smaps_path, io.BytesIO(snap.smaps_text))
    else:
        if args.smaps is None or args.rollup is None:
            raise UsageError(
                "SMAPS_FILE and ROLLUP_FILE, or --pid PID, are required "
                "(see 'smapsfmt check --help')"
            )
        if args.smaps == "-" and args.rollup == "-":
            raise UsageError("only one of SMAPS_FILE and ROLLUP_FILE can be standard input")
        rollup_data = read_input(args.rollup)
        rollup_path = display_name(args.rollup)
        source = _open(args.smaps)
    try:
        rollup = parse_rollup(rollup_data, path=rollup_path)
        mappings = _mappings(source)
        first = next(mappings, None)
        proof = check(
            _chain(first, mappings),
            rollup,
            kernel=args.kernel,
            path=rollup_path,
            sample=first_entry(source.head),
        )
    except SmapsSyntaxError as exc:
        _out(_syntax_line(exc) + "\n")
        return EXIT_INVALID
    except KernelMismatch as exc:
        _out(_refusal(source.name, exc))
        return EXIT_INVALID
    finally:
        source.handle.close()
    errors = [d for d in proof.diagnostics if d.severity == "error"]
    for note in _newer_kernel(args.kernel):
        _err(f"smapsfmt: note: {note}\n")
    if args.format == "json":
        _out(json.dumps([d.to_json() for d in proof.diagnostics], indent=1) + "\n")
    else:
        _out(_proof_text(proof, source.name, rollup_path))
    return EXIT_INVALID if errors else EXIT_OK


def _proof_text(proof: Proof, smaps_name: str, rollup_name: str) -> str:
    out = [d.render() for d in proof.diagnostics]
    width = max((len(p.name) for p in proof.fields), default=0) + 1
    for item in proof.fields:
        shown = "absent" if item.value is None else f"{item.value} kB"
        verdict = "holds" if item.holds else "VIOLATED" if item.checked else "not checked"
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
