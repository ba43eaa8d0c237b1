"""The invariants' evaluator against Python's own evaluation of the same text, the reference it
replaces (nothing is executed from the ABI document's text): random expressions of the subset
the document may write, and every invariant it ships."""

from __future__ import annotations

import random
from typing import Any

from smapsfmt._spec.evaluator import compile_expression
from smapsfmt._spec.expressions import read_expression
from smapsfmt.spec import load_abi

# --- the evaluator: what Python's own evaluation of the expression gives, without eval ----------

_NAMES = ("Rss", "Pss", "Size", "Swap")
_MNEMONICS = ("rd", "wr", "lo", "ht")


def _random_expression(rng: random.Random, depth: int) -> str:
    """An expression of the invariants' subset, as the ABI document may write one."""
    if depth == 0 or rng.random() < 0.25:
        pick = rng.random()
        if pick < 0.6:
            return rng.choice(_NAMES)
        if pick < 0.8:
            return str(rng.choice((0, 1, 2, 4, 1024)))
        return rng.choice(("prev.start", "prev.end", "start", "end"))
    inner = lambda: _random_expression(rng, depth - 1)  # noqa: E731
    kind = rng.randrange(9)
    if kind == 0:
        return f"({inner()} {rng.choice(('+', '-', '*', '&', '|'))} {inner()})"
    if kind == 1:
        return f"({inner()} {rng.choice(('%', '//'))} {inner()})"
    if kind == 2:
        ops = [rng.choice(("==", "!=", "<", "<=", ">", ">=")) for _ in range(rng.randint(1, 3))]
        return "(" + inner() + "".join(f" {op} {inner()}" for op in ops) + ")"
    if kind == 3:
        joiner = rng.choice((" and ", " or "))
        return "(" + joiner.join(inner() for _ in range(rng.randint(2, 3))) + ")"
    if kind == 4:
        return f"({inner()} if {inner()} else {inner()})"
    if kind == 5:
        return f"(not {inner()})" if rng.random() < 0.5 else f"(-{inner()})"
    if kind == 6:
        return f"('{rng.choice(_MNEMONICS)}' {rng.choice(('in', 'not in'))} VmFlags)"
    if kind == 7:
        items = ", ".join(inner() for _ in range(rng.randint(1, 3)))
        return f"({inner()} {rng.choice(('in', 'not in'))} ({items},))"
    return f"(perms[{rng.randrange(4)}] == '{rng.choice('rwxsp-')}')"


def _row(rng: random.Random, arguments: tuple[str, ...]) -> list[object]:
    row: list[object] = []
    for name in arguments:
        if name == "VmFlags":
            row.append(" " + "".join(f"{m} " for m in _MNEMONICS if rng.random() < 0.5))
        elif name == "perms":
            row.append("".join(rng.choice(pair) for pair in ("r-", "w-", "x-", "sp")))
        else:
            row.append(rng.choice((0, 0, 1, 2, 3, 4, 8, 1024, 4096, rng.randrange(10**6))))
    return row


def _outcome(function: Any, row: list[object]) -> object:
    try:
        return function(*row)
    except (ArithmeticError, TypeError) as exc:
        return type(exc)


def test_the_evaluator_gives_what_python_gives() -> None:
    """Random expressions of the subset, read as the ABI document's are, evaluated by the
    evaluator (over columns and row by row) and by Python's own evaluation of their text (the
    reference, here in the test): the same value on every row, or the same exception."""
    seed = 20261204
    rng = random.Random(seed)
    names = frozenset({*_NAMES, "start", "end", "prev", "VmFlags", "perms"})
    checked = 0
    for case in range(400):
        text = _random_expression(rng, 3)
        read = read_expression(text, names)
        arguments = tuple(
            sorted(
                read.names - {"prev"} | ({"prev_start", "prev_end"} if read.uses_prev else set())
            )
        )
        reference = eval(
            f"lambda {', '.join(arguments)}: ({read.python})", {}
        )  # the reference: Python itself
        evaluator = compile_expression(read.python, arguments)
        rows = [_row(rng, arguments) for _ in range(60)]
        expected = [_outcome(reference, row) for row in rows]
        where = f"seed {seed}, case {case}: {text}"
        assert [_outcome(evaluator, row) for row in rows] == expected, where
        if arguments and not any(isinstance(e, type) for e in expected):
            columns = [list(column) for column in zip(*rows, strict=True)]
            assert list(evaluator.rows(columns)) == expected, where
            checked += 1
    assert checked > 100  # most cases raise nowhere: their columns were compared too


def test_the_shipped_invariants_give_what_python_gives() -> None:
    seed = 7
    rng = random.Random(seed)
    for inv in load_abi().invariants:
        arguments = inv.arguments()
        reference = eval(
            f"lambda {', '.join(arguments)}: ({inv.python})", {}
        )  # the reference: Python itself
        rows = [_row(rng, arguments) for _ in range(200)]
        expected = [_outcome(reference, row) for row in rows]
        assert [_outcome(inv.evaluator(), row) for row in rows] == expected, (seed, inv.id)
