"""The one reader of the ABI document's invariant expressions.

An invariant's expression (``:Invariant ID: EXPRESSION`` in
``Documentation/ABI/testing/procfs-smaps*``) is a small subset of Python, described for people
in the document's first entry. It is read here once, into everything the other layers need:
the Python source the validator compiles (each node checked against the subset), the names it
uses, the names in the order the text writes them (for messages: ``Pss = 12, Rss = 8``), and the
parts the aggregator bounds fixed-point sums with: ``F <= A + B`` (F is at most the sum of the
fields A and B) and ``F == (G if 'xx' in VmFlags else 0)`` (F counts only where VmFlags has xx).
Nothing else parses an expression.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["Expression", "ExpressionError", "Translator", "read_expression"]


class ExpressionError(ValueError):
    """An expression outside the subset (the message says what is not allowed)."""


@dataclass(frozen=True, slots=True)
class Expression:
    """One expression, read."""

    python: str
    names: frozenset[str]  # every name used ("prev" for prev.start, "VmFlags", "max_kB", ...)
    uses_prev: bool
    order: tuple[str, ...]  # the names in the text's order, prev.start as such, repeats kept
    caps: tuple[tuple[str, tuple[str, ...]], ...]  # the "F <= A + B" parts: (F, (A, B))
    gates: tuple[tuple[str, str], ...]  # the "F == (G if 'xx' in VmFlags else 0)" parts: (F, xx)


def parse(expr: str) -> ast.Expression:
    try:
        return ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not an expression ({exc.msg})") from None


def read_expression(expr: str, names: frozenset[str]) -> Expression:
    """Read ``expr``, whose names must be among ``names``; ExpressionError otherwise."""
    tree = parse(expr)
    translator = Translator(names)
    python = translator.translate_tree(tree)
    parts = _conjuncts(tree.body)
    return Expression(
        python=python,
        names=frozenset(translator.used),
        uses_prev=translator.uses_prev,
        order=_order(tree),
        caps=tuple(cap for cap in map(_cap, parts) if cap is not None),
        gates=tuple(gate for gate in map(_gate, parts) if gate is not None),
    )


def _order(tree: ast.Expression) -> tuple[str, ...]:
    """The names in the order the text writes them (``prev.start`` as one name)."""
    found: list[tuple[int, int, str]] = []
    inside_prev: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "prev"
        ):
            found.append((node.lineno, node.col_offset, f"prev.{node.attr}"))
            inside_prev.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in inside_prev:
            found.append((node.lineno, node.col_offset, node.id))
    return tuple(name for _, _, name in sorted(found))


def _conjuncts(body: ast.expr) -> list[ast.expr]:
    """The parts of an expression joined by ``and``."""
    if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And):
        return body.values
    return [body]


def _cap(part: ast.expr) -> tuple[str, tuple[str, ...]] | None:
    """``F <= A + B``: F is at most the sum of the fields A, B."""
    if (
        isinstance(part, ast.Compare)
        and len(part.ops) == 1
        and isinstance(part.ops[0], ast.LtE)
        and isinstance(part.left, ast.Name)
    ):
        terms = _sum_of_names(part.comparators[0])
        if terms:
            return part.left.id, terms
    return None


def _gate(part: ast.expr) -> tuple[str, str] | None:
    """``F == (G if 'xx' in VmFlags else 0)``: F is 0 unless VmFlags has ``xx``."""
    if not (
        isinstance(part, ast.Compare)
        and len(part.ops) == 1
        and isinstance(part.ops[0], ast.Eq)
        and isinstance(part.left, ast.Name)
    ):
        return None
    right = part.comparators[0]
    if not (
        isinstance(right, ast.IfExp)
        and isinstance(right.orelse, ast.Constant)
        and right.orelse.value == 0
    ):
        return None
    test = right.test
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.In)
        and isinstance(test.left, ast.Constant)
        and isinstance(test.left.value, str)
        and isinstance(test.comparators[0], ast.Name)
        and test.comparators[0].id == "VmFlags"
    ):
        return part.left.id, test.left.value
    return None


def _sum_of_names(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sum_of_names(node.left), _sum_of_names(node.right)
        return left + right if left and right else ()
    return ()


class Translator:
    """Check an invariant expression against the allowed subset and turn it into Python.

    ``prev.start`` becomes ``prev_start``; ``'lo' in VmFlags`` becomes ``' lo ' in VmFlags``,
    VmFlags being the line's text after ``VmFlags:`` with blanks around each mnemonic.
    """

    _BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Mod, ast.FloorDiv, ast.BitAnd, ast.BitOr)
    _CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.used: set[str] = set()
        self.uses_prev = False
        self.divisors: list[str] = []  # the right operands of % and //, innermost first

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(what)

    def translate_tree(self, tree: ast.Expression) -> str:
        python = self.node(tree.body)
        # A remainder or quotient by zero is not checked (as a value not printed is not): the
        # value that is zero breaks its own field's rule (KernelPageSize: kernel-page-size).
        guards = "".join(f"{divisor} == 0 or " for divisor in self.divisors)
        return f"({guards}{python})" if guards else python

    def node(self, node: ast.AST) -> str:
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return "(" + joiner.join(self.node(value) for value in node.values) + ")"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"(not {self.node(node.operand)})"
            if isinstance(node.op, ast.USub):
                return f"(-{self.node(node.operand)})"
            raise self.fail("unary operators are 'not' and '-'")
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, self._BINOPS):
                raise self.fail("arithmetic is + - * % // & |")
            first, second = self.node(node.left), self.node(node.right)
            if isinstance(node.op, (ast.Mod, ast.FloorDiv)):
                self.divisors.append(second)
            return f"({first} {_OPS[type(node.op)]} {second})"
        if isinstance(node, ast.Compare):
            parts = [self.node(node.left)]
            for op, right in zip(node.ops, node.comparators, strict=True):
                if not isinstance(op, self._CMPOPS):
                    raise self.fail("comparisons are == != < <= > >= in, not in")
                if isinstance(op, (ast.In, ast.NotIn)) and _is_vmflags(right):
                    member = node.left if len(parts) == 1 else None
                    if not (isinstance(member, ast.Constant) and isinstance(member.value, str)):
                        raise self.fail("'in VmFlags' takes a quoted mnemonic: 'lo' in VmFlags")
                    self.used.add("VmFlags")
                    parts[-1] = repr(f" {member.value} ")
                    parts.append(f"{_OPS[type(op)]} VmFlags")
                    continue
                parts.append(f"{_OPS[type(op)]} {self.node(right)}")
            return "(" + " ".join(parts) + ")"
        if isinstance(node, ast.IfExp):
            return (
                f"({self.node(node.body)} if {self.node(node.test)} else {self.node(node.orelse)})"
            )
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, str)):
                raise self.fail("constants are integers and quoted strings")
            return repr(node.value)
        if isinstance(node, ast.Tuple):
            return "(" + "".join(f"{self.node(e)}, " for e in node.elts) + ")"
        if isinstance(node, ast.Name):
            if node.id not in self.names or node.id in ("prev", "VmFlags"):
                raise self.fail(f"unknown name {node.id!r}")
            self.used.add(node.id)
            return node.id
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "prev":
                if node.attr not in ("start", "end"):
                    raise self.fail("prev has start and end")
                self.uses_prev = True
                self.used.add("prev")
                return f"prev_{node.attr}"
            raise self.fail("attributes: prev.start, prev.end")
        if isinstance(node, ast.Subscript):
            index = node.slice
            if (
                isinstance(node.value, ast.Name)
                and node.value.id == "perms"
                and isinstance(index, ast.Constant)
                and index.value in (0, 1, 2, 3)
            ):
                self.used.add("perms")
                return f"perms[{index.value}]"
            raise self.fail("indexing: perms[0] .. perms[3]")
        raise self.fail(f"{type(node).__name__} is not allowed")


def _is_vmflags(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "VmFlags"


_OPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Mod: "%", ast.FloorDiv: "//",
    ast.BitAnd: "&", ast.BitOr: "|", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<",
    ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
