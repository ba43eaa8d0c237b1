"""The words and the place of an invariant that does not hold: ``Pss <= Rss does not hold:
Pss = 12, Rss = 8``, at the line and column of the value it is about."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .._spec.abi import Invariant
from .findings import Problem

__all__ = ["anchor", "invariant_message", "located", "value_column", "where_in"]

_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9_]*:[ \t]*")


def value_column(text: str) -> int:
    """The 1-based column where the value of a field line starts."""
    match = _VALUE.match(text)
    return (match.end() if match else 0) + 1


def where_in(body: str) -> dict[str, tuple[int, int]]:
    """label -> (line offset from the header, 1-based column of the value) in an entry's body
    (the lines after its header)."""
    return {
        label.group(1): (index, value_column(text))
        for index, text in enumerate(body.split("\n")[:-1], start=1)
        if (label := _LABEL.match(text)) is not None
    }


def anchor(inv: Invariant, values: dict[str, Any]) -> str:
    """The name an invariant is about: the first one its expression names (for max_kB, the
    field that holds the largest value)."""
    for word in inv.order:
        if word == "max_kB":
            biggest = values.get("max_kB")
            for key, value in values.items():
                if key[:1].isupper() and value == biggest and isinstance(value, int):
                    return key
        if word in inv.names or word.startswith("prev."):
            return word
    return "start"


def invariant_message(inv: Invariant, values: dict[str, Any]) -> str:
    """``Pss <= Rss does not hold: Pss = 12, Rss = 8``."""
    shown: list[str] = []
    for word in inv.order:
        key = word.replace(".", "_")
        if key not in values or any(s.startswith(f"{word} = ") for s in shown):
            continue
        if word == "VmFlags":
            continue
        value = values[key]
        if word in ("start", "end", "prev.start", "prev.end", "offset"):
            value = format(value, "x")
        elif isinstance(value, str):
            value = repr(value)
        shown.append(f"{word} = {value}")
    text = f"{inv.expr} does not hold"
    if shown:
        text += ": " + ", ".join(shown)
    if "VmFlags" in inv.names and "VmFlags" in values:
        text += f", VmFlags = '{values['VmFlags'].strip()}'"
    return text


def located(
    invariants: list[Invariant],
    failing: Iterable[int],
    values: dict[str, Any],
    where: dict[str, tuple[int, int]],
) -> list[Problem]:
    """The problem of each failing invariant (by index), at the line offset and column of the
    value it is about (``where``: :func:`where_in` of the entry's body), with its message."""
    found: list[Problem] = []
    for index in failing:
        inv = invariants[index]
        offset, column = where.get(anchor(inv, values), (0, 1))
        found.append((offset, column, inv.id, invariant_message(inv, values), inv.severity))
    return found
