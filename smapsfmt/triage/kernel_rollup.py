"""A smaps_rollup's fields, read as the kernel prints them, without the re module.

``rollup_fields(text, path)`` is what ``smapsfmt.parse_rollup`` gives for the fields of a text
(kB by kernel name): the kernel's own layout is read here, with bytes operations only, and
anything else goes to parse_rollup itself, which reads it (vendor layouts) or raises its located
SmapsSyntaxError. ``smapsfmt ps`` and ``smapsfmt sample`` read every process's rollup through
it (smapsfmt.triage.sweep): importing re (with enum) would cost ps's start-up about 6 ms, a
quarter of the bare reads of a busy machine's rollups (bench/ps.py).
"""

from __future__ import annotations

__all__ = ["HEADER_PREFIX", "ROLLUP_NAME", "rollup_fields"]

# A mapping header up to its device, and the rollup's name: the profiles' facts, kept here as
# constants because reading the profiles would double ps's start-up (29 to 61 ms here).
# HEADER_PREFIX is the pattern of what _kernel_header checks up to the inode;
# tests/test_grammar.py holds it and ROLLUP_NAME equal to what smapsfmt._spec.header and
# .layout derive from the profiles, and tests/test_triage_sweep.py holds _kernel_header to it.
HEADER_PREFIX = (
    rb"[0-9a-f]{8,16}\-[0-9a-f]{8,16}\ [r-][w-][x-][sp]\ [0-9a-f]+\ [0-9a-f]{2,}:[0-9a-f]{2,}\ "
)
ROLLUP_NAME = b"[rollup]"
_ADDRESS_DIGITS = range(8, 17)
_DEVICE_DIGITS = 2
_PERMS = frozenset(  # the permissions column: r or -, w or -, x or -, s or p
    bytes((r, w, x, s)) for r in b"r-" for w in b"w-" for x in b"x-" for s in b"sp"
)
_HEX = b"0123456789abcdef"


def _kernel_header(line: bytes) -> bool:
    """Whether ``line`` (no newline) is a rollup's header as the grammar takes it: the start of
    a mapping's header (HEADER_PREFIX), the inode, one space, padding and the rollup's name
    (grammar/smaps.lark HEADER; fs/proc/task_mmu.c 6.18 show_smaps_rollup pads with seq_pad)."""
    parts = line.split(b" ", 5)
    if len(parts) != 6:
        return False
    span, perms, offset, device, inode, name = parts
    start, dash, end = span.partition(b"-")
    major, colon, minor = device.partition(b":")
    return (
        name.lstrip(b" ") == ROLLUP_NAME
        and inode.isdigit()
        and bool(dash and colon and offset)
        and len(start) in _ADDRESS_DIGITS
        and len(end) in _ADDRESS_DIGITS
        and len(major) >= _DEVICE_DIGITS
        and len(minor) >= _DEVICE_DIGITS
        and not b"".join((start, end, offset, major, minor)).translate(None, _HEX)
        and perms in _PERMS
    )


# The layouts of the rollups read so far (the kernel prints the same fields in the same order,
# each value right-aligned in the same columns, for every process), keyed by the text after the
# header with every digit a blank: the labels ("Rss:", ...) and units as the text's words, and
# the names. A few at most (one per kernel, in practice).
_LAYOUTS: dict[bytes, tuple[list[bytes], list[bytes], tuple[str, ...]]] = {}
_DIGITS_AS_BLANKS = bytes.maketrans(b"0123456789", b" " * 10)


def _learn(body: bytes) -> dict[str, int] | None:
    """The fields of the lines after a rollup's header, when every one is ``Name:``, blanks or
    TABs, a value and " kB" (grammar/smaps.lark KB_FIELD; fs/proc/task_mmu.c SEQ_PUT_DEC and
    show_val_kb print them so) with a label as the grammar takes it (LABEL:
    ``[A-Za-z][A-Za-z0-9_]*``) and no name twice; their layout is then kept. Else None."""
    names: list[bytes] = []
    values: list[int] = []
    for line in body[:-1].split(b"\n"):
        name, colon, rest = line.partition(b":")
        value = rest.lstrip(b" \t")
        digits = value[:-3]
        if not (colon and len(value) < len(rest) and value.endswith(b" kB")):
            return None
        if not (digits.isdigit() and len(digits) <= 20):
            return None
        if not name[:1].isalpha() or not name.replace(b"_", b"A").isalnum():
            return None
        names.append(name)
        values.append(int(digits))
    if not body.endswith(b"\n") or len(set(names)) != len(names):
        return None
    if len(_LAYOUTS) >= 4:
        _LAYOUTS.clear()
    known = tuple(name.decode("ascii") for name in names)
    _LAYOUTS[body.translate(_DIGITS_AS_BLANKS)] = (
        [name + b":" for name in names], [b"kB"] * len(names), known
    )  # fmt: skip
    return dict(zip(known, values, strict=True))


def rollup_fields(text: bytes, path: str) -> dict[str, int]:
    """The fields of a smaps_rollup text, in kB by kernel name. The kernel's own layout is read
    here (its header, then one ``Name:`` line per field with a right-aligned value and " kB");
    anything else by ``smapsfmt.parse_rollup`` (SmapsSyntaxError, located, for a text that is
    no smaps_rollup).

    A text of a layout already met differs from it only where digits and blanks trade places:
    its words are then the labels, the values and the units in turn, and no value is followed
    by more than one blank (grammar/smaps.lark KB_FIELD: VALUE " kB")."""
    newline = text.find(b"\n")
    if newline > 0 and _kernel_header(text[:newline]):
        body = text[newline + 1 :]
        layout = _LAYOUTS.get(body.translate(_DIGITS_AS_BLANKS))
        if layout is None:
            fields = _learn(body)
            if fields is not None:
                return fields
        else:
            labels, units, names = layout
            words = body.split()
            if (
                len(words) == 3 * len(names)
                and words[0::3] == labels
                and words[2::3] == units
                and b"  kB" not in body
            ):
                return dict(zip(names, map(int, words[1::3]), strict=True))
    from .._parse.parser import parse_rollup

    rollup = parse_rollup(text, path=path)
    return {name: value for name, value in rollup.fields.items() if isinstance(value, int)}
