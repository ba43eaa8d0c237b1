"""Entry patterns run in C: the optional accelerator of the fast path (smapsfmt._parse._match).

The fast path (smapsfmt._parse.fast) composes one regular expression per entry shape from the
grammar's own terminals. This module translates such a compiled pattern, through Python's own
regex parser (``re._parser``), into a program for the C module ``smapsfmt._parse._match``, which
matches it with the backtracking semantics of ``re`` and builds the models of the entries it
matches. The C module holds no knowledge of the format: the pattern is the one ``re`` runs, and
the recipe (which group fills which attribute, converted how) is the one fast.py applies.

A pattern using anything this translation does not cover (lazy repetition, back references,
look-behind, flags...) gets no program: ``re`` runs it, as when the C module is not built.
``tests/test_accel.py`` proves both equal on the corpus and on generated inputs.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._match import Program

# Python's own regex parser (re._parser; sre_parse before 3.11).
_sre: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
_c: Any = importlib.import_module(
    "re._constants" if sys.version_info >= (3, 11) else "sre_constants"
)

__all__ = [
    "DEC",
    "DEVICE",
    "EXCLUSIVE",
    "FIELD",
    "FLAGS",
    "GENERAL",
    "HEX",
    "ITERATE",
    "KEEP",
    "LEN",
    "PATH",
    "RAW",
    "SKIP",
    "TEXT",
    "available",
    "path_in_words",
    "program",
    "translate",
]

# Node kinds and conversions: the numbering of smapsfmt/_parse/_match.c.
LIT, SET, REP, OPEN, CLOSE, ALT, END, LOOK, SPAN = range(9)
# How a repetition is run: by backtracking (any body); never giving back what it took; one
# iteration after another, giving back whole iterations only (a body matching in one way).
GENERAL, KEEP, ITERATE = range(3)
# How an alternation is run: each branch with what follows, backtracking; or, where at most
# one branch can match at any place and in one way only, the first that matches, alone.
EXCLUSIVE = 1
SKIP, HEX, DEC, TEXT, PATH, DEVICE, FIELD, FLAGS, RAW, LEN = range(10)

_match: Any = None
_why_not = "SMAPSFMT_PURE_PYTHON=1"  # why the C module is not in use, in words
if os.environ.get("SMAPSFMT_PURE_PYTHON", "") in ("", "0"):
    try:
        _match = importlib.import_module("smapsfmt._parse._match")
    except ModuleNotFoundError:  # not built (no C compiler where it was installed): re runs
        _why_not = "the C module was not built at install"
    except ImportError as exc:  # built, but it does not load here (another Python, a bad link)
        _why_not = f"the C module does not load: {exc}"


def available() -> bool:
    """The C module is built and in use (SMAPSFMT_PURE_PYTHON=1 turns it off)."""
    return _match is not None


def path_in_words() -> str:
    """Which path the parser runs, as ``smapsfmt --version`` says it: ``C accelerator``, or
    ``pure Python (WHY)``."""
    return "C accelerator" if _match is not None else f"pure Python ({_why_not})"


class Unsupported(ValueError):
    """A pattern construct the C module does not run."""


_Node = tuple[Any, ...]


def translate(pattern: re.Pattern[bytes]) -> tuple[_Node, ...]:
    """The program nodes of a compiled bytes pattern (Unsupported for what they cannot say)."""
    if not isinstance(pattern.pattern, bytes) or pattern.flags & ~re.ASCII:
        raise Unsupported("a bytes pattern without flags")
    return _fuse(_mark(_seq(_sre.parse(pattern.pattern, pattern.flags)), _ALL))


def _set_of(items: Sequence[tuple[Any, Any]]) -> bytes:
    """The 256-bit set of a character class (sre IN items, or one LITERAL/NOT_LITERAL)."""
    chars = [False] * 256
    negate = False
    for op, av in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            chars[av] = True
        elif op is _c.RANGE:
            for c in range(av[0], av[1] + 1):
                chars[c] = True
        elif op is _c.CATEGORY and av is _c.CATEGORY_DIGIT:
            for c in range(0x30, 0x3A):
                chars[c] = True
        else:
            raise Unsupported(f"class item {op}")
    if negate:
        chars = [not x for x in chars]
    return bytes(sum(1 << b for b in range(8) if chars[8 * i + b]) for i in range(32))


def _single(op: Any, av: Any) -> bytes | None:
    """The set of a one-character item, None for anything else."""
    if op is _c.LITERAL:
        return _set_of([(op, av)])
    if op is _c.NOT_LITERAL:
        return _set_of([(_c.NEGATE, None), (_c.LITERAL, av)])
    if op is _c.IN:
        return _set_of(av)
    if op is _c.ANY:
        return _set_of([(_c.NEGATE, None), (_c.LITERAL, 10)])
    return None


def _seq(items: Any) -> tuple[_Node, ...]:
    nodes: list[_Node] = []
    for op, av in items:
        if op is _c.LITERAL:
            if nodes and nodes[-1][0] == LIT:
                nodes[-1] = (LIT, nodes[-1][1] + bytes([av]))
            else:
                nodes.append((LIT, bytes([av])))
            continue
        single = _single(op, av)
        if single is not None:
            nodes.append((SET, single))
        elif op is _c.MAX_REPEAT:
            low, high, body = av
            inner = _seq(body)
            if len(inner) == 1 and inner[0][0] == LIT and len(inner[0][1]) == 1:
                inner = ((SET, _set_of([(_c.LITERAL, inner[0][1][0])])),)  # one character
            nodes.append((REP, low, -1 if high is _c.MAXREPEAT else high, False, inner))
        elif op is _c.SUBPATTERN:
            group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                raise Unsupported("inline flags")
            inner = _seq(body)
            nodes += [(OPEN, group), *inner, (CLOSE, group)] if group else inner
        elif op is _c.BRANCH:
            nodes.append((ALT, tuple(_seq(alt) for alt in av[1])))
        elif op is _c.AT and av is _c.AT_END_STRING:
            nodes.append((END,))
        elif op is _c.ASSERT and av[0] == 1:
            body = _seq(av[1])
            if any(node[0] in (OPEN, CLOSE) for node in _walk(body)):
                raise Unsupported("a group inside a look-ahead")
            nodes.append((LOOK, body))
        else:
            raise Unsupported(f"{op} {av!r}")
    return tuple(nodes)


def _walk(nodes: tuple[_Node, ...]) -> list[_Node]:
    out: list[_Node] = []
    for node in nodes:
        out.append(node)
        if node[0] == REP:
            out += _walk(node[4])
        elif node[0] == LOOK:
            out += _walk(node[1])
        elif node[0] == ALT:
            for alt in node[1]:
                out += _walk(alt)
    return out


_ALL = (1 << 256) - 1  # the set of every character: nothing known of what follows


def _bits(set_: bytes) -> int:
    return int.from_bytes(set_, "little")


def _first(node: _Node) -> tuple[int, bool]:
    """The characters ``node`` can start with, and whether it can match empty."""
    op = node[0]
    if op == LIT:
        return 1 << node[1][0], False
    if op == SET:
        return _bits(node[1]), False
    if op == REP:
        chars, empty = _seq_first(node[4], 0, 0)
        return chars, empty or node[1] == 0
    if op == ALT:
        firsts = [_seq_first(alt, 0, 0) for alt in node[1]]
        return _union(f for f, _ in firsts), any(e for _, e in firsts)
    if op == END:
        return 0, False  # \Z: nothing can be matched after it
    return 0, True  # group marks and look-aheads consume nothing


def _union(values: Any) -> int:
    out = 0
    for value in values:
        out |= value
    return out


def _seq_first(nodes: tuple[_Node, ...], i: int, follow: int) -> tuple[int, bool]:
    """The characters what starts at ``nodes[i]`` can start with (``follow``: those of what
    comes after the sequence), and whether all of it can match empty."""
    chars = 0
    for node in nodes[i:]:
        first, empty = _first(node)
        chars |= first
        if not empty:
            return chars, False
    return chars | follow, True


def _one_way(nodes: tuple[_Node, ...]) -> bool:
    """The sequence can match a given text in one way at most: no alternatives but those of
    which one at most can match (EXCLUSIVE, marked before), and no repetition but those that
    never give back what they took."""
    return all(
        node[0] in (LIT, SET, OPEN, CLOSE)
        or (node[0] == REP and node[3] == KEEP)
        or (node[0] == ALT and node[2] == EXCLUSIVE)
        for node in nodes
    )


def _mark(nodes: tuple[_Node, ...], follow: int) -> tuple[_Node, ...]:
    """Mark the repetitions of one set whose continuation can never start with a character of
    that set: giving characters back to it cannot make it match, so the C module does not try.
    Repetitions of a sequence that matches in one way only are run one iteration after
    another (ITERATE), or never give back an iteration (KEEP) when what follows cannot start
    like one.
    ``follow``: the characters what comes after ``nodes`` can start with."""
    out: list[_Node] = []
    for i, node in enumerate(nodes):
        rest, _ = _seq_first(nodes, i + 1, follow)
        op = node[0]
        marked = node
        if op == REP:
            low, high, _, body = node[1:]
            if len(body) == 1 and body[0][0] == SET:
                # A fixed count, or what follows never starts with a character of the set.
                keep = low == high or not _bits(body[0][1]) & rest
                marked = (REP, low, high, KEEP if keep else GENERAL, body)
            else:
                again = _seq_first(body, 0, 0)[0] if high != 1 else 0
                inner = _mark(body, rest | again)
                first, empty = _seq_first(inner, 0, 0)
                mode = GENERAL
                if _one_way(inner) and not empty:
                    # Its only choice is how many iterations; and when what follows can never
                    # start like an iteration, giving one back cannot help.
                    mode = ITERATE if first & rest else KEEP
                marked = (REP, low, high, mode, inner)
        elif op == ALT:
            alts = tuple(_mark(alt, rest) for alt in node[1])
            marked = (ALT, alts, EXCLUSIVE if _exclusive(alts) else GENERAL)
        elif op == LOOK:
            marked = (LOOK, _mark(node[1], _ALL))
        out.append(marked)
    return tuple(out)


def _exclusive(alts: tuple[tuple[_Node, ...], ...]) -> bool:
    """At most one branch can match at any place, in one way: each branch is one way (and
    sets no group mark, which a failed branch would leave set), and any two branches need
    characters of disjoint sets at some place counted from their start."""
    if not all(_one_way(alt) and all(n[0] not in (OPEN, CLOSE) for n in alt) for alt in alts):
        return False
    fixed = [_fixed_places(alt) for alt in alts]
    return all(
        any(not a & b for a, b in zip(one, other, strict=False))
        for i, one in enumerate(fixed)
        for other in fixed[i + 1 :]
    )


def _fixed_places(nodes: tuple[_Node, ...]) -> list[int]:
    """The set of the character at each place from the start of a sequence, as far as places
    are fixed (up to the first repetition of varying count, and its least count)."""
    out: list[int] = []
    for node in nodes:
        if node[0] == LIT:
            out += [1 << c for c in node[1]]
        elif node[0] == SET:
            out.append(_bits(node[1]))
        elif node[0] == REP and len(node[4]) == 1 and node[4][0][0] == SET:
            out += [_bits(node[4][0][1])] * node[1]
            if node[1] != node[2]:
                break
        else:
            break
    return out


def _kept_run(node: _Node) -> bool:
    return node[0] == REP and node[3] == KEEP and len(node[4]) == 1 and node[4][0][0] == SET


def _fuse(nodes: tuple[_Node, ...]) -> tuple[_Node, ...]:
    """Join a literal and the run of one set that follows it, kept whole and captured or not
    (a field line's label, blanks and digits), into SPAN nodes: fewer nodes to dispatch."""
    out: list[_Node] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        lit = node[1] if node[0] == LIT else b""
        j = i + 1 if lit else i
        group, at = -1, j
        if (
            at + 2 < len(nodes)
            and nodes[at][0] == OPEN
            and nodes[at + 2][:2] == (CLOSE, nodes[at][1])
        ):
            group, at = nodes[at][1], at + 1
        if at < len(nodes) and _kept_run(nodes[at]):
            low, high, _, body = nodes[at][1:]
            out.append((SPAN, lit, body[0][1], low, high, group))
            i = at + (2 if group >= 0 else 1)
            continue
        if node[0] == REP:
            node = (*node[:4], _fuse(node[4]))
        elif node[0] == LOOK:
            node = (LOOK, _fuse(node[1]))
        elif node[0] == ALT:
            node = (ALT, tuple(_fuse(alt) for alt in node[1]), *node[2:])
        out.append(node)
        i += 1
    return tuple(out)


def program(  # noqa: PLR0917 - the C constructor's arguments, in its order
    pattern: re.Pattern[bytes],
    recipe: Sequence[tuple[int, int, int]],
    cls: type | None,
    slots: Sequence[str],
    labels: tuple[str, ...],
    constants: Sequence[tuple[str, object]],
    lines: int,
    max_hex: int,
) -> Program | None:
    """A ``smapsfmt._parse._match.Program`` for ``pattern``, or None (no C module, or a pattern it
    does not run). ``recipe``: one ``(conversion, slot or label index, second slot)`` per
    group, from group 0; ``slots``: attribute names of ``cls`` (``line`` and ``fields`` among
    them); ``constants``: attributes set alike on every object; ``lines``: lines per entry (0:
    as many as each entry has, for a pattern with an optional line);
    ``max_hex``: hex numbers longer than this are left to the Python code (decimal ones past
    Python's digit limit are, too)."""
    if _match is None:
        return None
    try:
        nodes = translate(pattern)
    except Unsupported:
        return None
    # The slots' member descriptors, where objects are built; their names, for columns only.
    slot_args = tuple(getattr(cls, name) for name in slots) if cls is not None else tuple(slots)
    index = {name: i for i, name in enumerate(slots)}
    made: Program = _match.Program(
        nodes,
        pattern.groups,
        tuple(recipe),
        cls,
        slot_args,
        labels,
        tuple((index[name], value) for name, value in constants),
        index["line"],
        index["fields"],
        lines,
        max_hex,
    )
    return made
