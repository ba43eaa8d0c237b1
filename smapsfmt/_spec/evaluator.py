"""Invariant expressions evaluated over columns of values, by functions built from their tree.

An invariant (``:Invariant ID: EXPRESSION`` in ``Documentation/ABI/testing/procfs-smaps*``) is
read once by ``expressions.py``, which checks it node by node and writes it in the subset of
Python it admits (``prev.start`` as ``prev_start``, a guard before each ``%`` and ``//``).
This module turns that text into a tree of plain functions, one per node, nothing executed
from text: each takes the columns of the names (one value per row: an entry, or a distinct
body) and returns the node's value for every row, the work of each node done for the whole
column at once by ``map`` over the functions of :mod:`operator`. ``and``, ``or``, ``if``
and chained comparisons evaluate what follows only on the rows where Python would evaluate
it (so a guard keeps a ``%`` from dividing by zero), and a result is the value Python's own
evaluation of the expression gives on each row. A subexpression written several times
(``KernelPageSize * 1024``) is computed once per set of rows.
"""

from __future__ import annotations

import ast
import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Evaluator", "compile_expression"]

# The columns a node reads (one per argument, in order) and the number of rows.
Columns = Sequence[Sequence[Any]]
# A node: (columns, rows, memo of the subexpressions computed on these rows) -> its values.
Node = Callable[[Columns, int, dict[str, Sequence[Any]]], Sequence[Any]]

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv, ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
}  # fmt: skip
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip


class Evaluator:
    """One expression as a function of its arguments: over columns (:meth:`rows`) or over
    one row (calling it)."""

    __slots__ = ("arguments", "root")

    def __init__(self, root: Node, arguments: tuple[str, ...]) -> None:
        self.root = root
        self.arguments = arguments

    def rows(self, columns: Columns) -> Sequence[Any]:
        """The value on each row of ``columns`` (one column per argument, in order, all of
        one length; an expression without arguments has one row)."""
        count = len(columns[0]) if columns else 1
        return self.root(columns, count, {})

    def __call__(self, *values: Any) -> Any:
        return self.root([[value] for value in values], 1, {})[0]


@functools.lru_cache(maxsize=512)
def compile_expression(python: str, arguments: tuple[str, ...]) -> Evaluator:
    """The expression ``python`` (as ``expressions.read_expression`` writes it) as a function
    of ``arguments``; ValueError for a node outside what that reader writes or a name not
    among the arguments."""
    tree = ast.parse(python, mode="eval")
    builder = _Builder({name: n for n, name in enumerate(arguments)})
    return Evaluator(builder.node(tree.body), arguments)


def _subset(columns: Columns, mask: Sequence[Any]) -> list[list[Any]]:
    """The rows of ``columns`` where ``mask`` is true."""
    return [list(itertools.compress(column, mask)) for column in columns]


def _merge(base: Sequence[Any], mask: Sequence[Any], chosen: Sequence[Any]) -> list[Any]:
    """``base`` with the rows where ``mask`` is true taken, in order, from ``chosen``."""
    it = iter(chosen)
    return [next(it) if m else b for b, m in zip(base, mask, strict=True)]


def _truth(values: Sequence[Any]) -> list[bool]:
    return list(map(bool, values))


class _Builder:
    """Builds the function of each node; a subexpression written twice is computed once per
    set of rows (remembered by its text for the evaluation)."""

    def __init__(self, index: dict[str, int]) -> None:
        self.index = index

    def node(self, node: ast.expr) -> Node:
        build = self._build(node)
        key = ast.dump(node)
        if isinstance(node, (ast.Name, ast.Constant)):
            return build

        def memoised(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> Any:
            found = memo.get(key)
            if found is None:
                found = memo[key] = build(columns, count, memo)
            return found

        return memoised

    def _build(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
            constant = node.value
            return lambda columns, count, memo: [constant] * count
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            function = _BINARY[type(node.op)]
            if isinstance(node.right, ast.Constant) and not isinstance(node.left, ast.Constant):
                return self._with_constant(function, node.left, node.right.value)
            return self._binary(function, node.left, node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            unary: Callable[[Any], Any] = (
                operator.not_ if isinstance(node.op, ast.Not) else operator.neg
            )
            operand = self.node(node.operand)
            return lambda columns, count, memo: list(map(unary, operand(columns, count, memo)))
        if isinstance(node, ast.BoolOp):
            return self._boolean(isinstance(node.op, ast.And), [self.node(v) for v in node.values])
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            return self._choice(self.node(node.test), self.node(node.body), self.node(node.orelse))
        if isinstance(node, ast.Tuple):
            return self._tuple([self.node(item) for item in node.elts])
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            pick = operator.itemgetter(node.slice.value)
            value = self.node(node.value)
            return lambda columns, count, memo: list(map(pick, value(columns, count, memo)))
        raise ValueError(f"{type(node).__name__} is not an expression of the invariants")

    @staticmethod
    def _tuple(items: list[Node]) -> Node:
        def pack(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> list[Any]:
            if not items:
                return [()] * count
            return list(zip(*(item(columns, count, memo) for item in items), strict=True))

        return pack

    def _name(self, name: str) -> Node:
        if name not in self.index:
            raise ValueError(f"unknown name {name!r}")
        at = self.index[name]
        return lambda columns, count, memo: columns[at]

    def _with_constant(self, function: Callable[[Any, Any], Any], left: ast.expr,
                       value: Any) -> Node:  # fmt: skip
        """``x OP constant``: the constant repeated, not a column of it."""
        first = self.node(left)

        def binary(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> list[Any]:
            return list(map(function, first(columns, count, memo), itertools.repeat(value)))

        return binary

    def _binary(self, function: Callable[[Any, Any], Any], left: ast.expr,
                right: ast.expr) -> Node:  # fmt: skip
        first, second = self.node(left), self.node(right)

        def binary(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> list[Any]:
            return list(map(function, first(columns, count, memo), second(columns, count, memo)))

        return binary

    def _boolean(self, conjunction: bool, values: list[Node]) -> Node:
        """``a and b and ...`` (``or``): each operand on the rows where those before it are
        true (false); the value of a row is the operand that decided it, as Python's."""

        def boolean(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> Any:
            result = values[0](columns, count, memo)
            for operand in values[1:]:
                # every row goes on (the most common case, looked for without a column of
                # the rows that go on): the next operand decides them all
                if all(result) if conjunction else not any(result):
                    result = operand(columns, count, memo)
                    continue
                go_on = result if conjunction else list(map(operator.not_, result))
                if any(go_on):
                    truth = _truth(go_on)
                    chosen = operand(_subset(columns, truth), sum(truth), {})
                    result = _merge(result, truth, chosen)
                else:
                    break
            return result

        return boolean

    def _compare(self, node: ast.Compare) -> Node:
        """``a < b <= c``: each comparison on the rows where those before it hold; ``x in
        y`` and ``x not in y`` by ``y``'s containment."""
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and isinstance(node.comparators[0], ast.Tuple)
            and node.comparators[0].elts
        ):
            return self._member(
                self.node(node.left), [self.node(e) for e in node.comparators[0].elts],
                isinstance(node.ops[0], ast.NotIn),
            )  # fmt: skip
        operands = [self.node(node.left), *(self.node(c) for c in node.comparators)]
        functions = [_comparison(op) for op in node.ops]
        last = node.comparators[0]
        if len(node.ops) == 1 and isinstance(last, ast.Constant):
            return self._against(operands[0], functions[0], last.value)

        def compare(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> Any:
            left = operands[0](columns, count, memo)
            right = operands[1](columns, count, memo)
            result = _apply(functions[0], left, right)
            if len(functions) == 1:
                return result
            return _chain(result, right, operands[2:], functions[1:], columns=columns,
                          count=count, memo=memo)  # fmt: skip

        return compare

    @staticmethod
    def _against(left: Node, comparison: Comparison, constant: Any) -> Node:
        """``x OP constant``: the constant repeated, not a column of it."""

        def against(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> list[Any]:
            return _apply(comparison, left(columns, count, memo), itertools.repeat(constant))

        return against

    @staticmethod
    def _member(left: Node, items: list[Node], negated: bool) -> Node:
        """``x in (a, b)``: the tuple's items evaluated on every row, as Python builds it, then
        compared without building it (a tuple per row would be garbage to collect). Over
        integers and strings, ``in`` is true exactly where an item is equal."""

        def member(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> list[Any]:
            value = left(columns, count, memo)
            found: Any = None
            for item in [item(columns, count, memo) for item in items]:
                if found is not None and all(found):  # every row found: True, whatever follows
                    break
                equal = map(operator.eq, value, item)
                found = list(equal if found is None else map(operator.or_, found, equal))
            return list(map(operator.not_, found)) if negated else found

        return member

    def _choice(self, test: Node, body: Node, orelse: Node) -> Node:
        """``a if t else b``: ``a`` on the rows where ``t`` is true, ``b`` on the others."""

        def choice(columns: Columns, count: int, memo: dict[str, Sequence[Any]]) -> Any:
            truth = _truth(test(columns, count, memo))
            if all(truth):
                return body(columns, count, memo)
            if not any(truth):
                return orelse(columns, count, memo)
            falsity = list(map(operator.not_, truth))
            chosen = body(_subset(columns, truth), sum(truth), {})
            other = orelse(_subset(columns, falsity), count - sum(truth), {})
            yes, no = iter(chosen), iter(other)
            return [next(yes) if t else next(no) for t in truth]

        return choice


def _chain(result: list[Any], left: Sequence[Any], operands: list[Node],
           functions: list[Comparison], *, columns: Columns, count: int,
           memo: dict[str, Sequence[Any]]) -> list[Any]:  # fmt: skip
    """The rest of a chained comparison: each next one on the rows where the result so far
    is true (Python's ``a < b and b < c``, ``b`` evaluated once)."""
    for operand, function in zip(operands, functions, strict=True):
        go_on = _truth(result)
        if all(go_on):
            right = operand(columns, count, memo)
            result = _apply(function, left, right)
            left = right
        elif any(go_on):
            sub = _subset(columns, go_on)
            right = operand(sub, sum(go_on), {})
            sub_left = list(itertools.compress(left, go_on))
            result = _merge(result, go_on, _apply(function, sub_left, right))
            left = _merge(left, go_on, right)
        else:
            break
    return result


# A comparison: its function of (left, right), or of (right, left) where flipped (``in``:
# ``operator.contains(right, left)``), and whether its result is negated (``not in``).
Comparison = tuple[Callable[[Any, Any], Any], bool, bool]


def _comparison(op: ast.cmpop) -> Comparison:
    if isinstance(op, (ast.In, ast.NotIn)):
        return operator.contains, True, isinstance(op, ast.NotIn)
    if type(op) in _COMPARE:
        return _COMPARE[type(op)], False, False
    raise ValueError(f"{type(op).__name__} is not a comparison of the invariants")


def _apply(comparison: Comparison, left: Iterable[Any], right: Iterable[Any]) -> list[Any]:
    function, flipped, negated = comparison
    found = map(function, right, left) if flipped else map(function, left, right)
    return list(map(operator.not_, found) if negated else found)
