"""The catalogue of the validator's rules, and how ``--select``/``--ignore`` name them.

The rules come from where the validator defines them: ``syntax``, the ``layout-*`` and
``unknown-*`` rules from ``smapsfmt._validate.validate`` (id, one line, severity), the invariants
from the ABI document (id, expression, kernels, severity). One more id is the command line's own:
``io-error``, a FILE that cannot be read (always reported, whatever the selection says).

A selector is a rule id or a prefix of whole words: ``layout`` names every ``layout-*`` rule,
``smaps-pss`` names ``smaps-pss-le-rss``, ``smaps-pss-ge-private`` and ``smaps-pss-dirty``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["IO_ERROR", "Rule", "enabled_rules", "match_rules", "rules"]

IO_ERROR = "io-error"

Kind = Literal["syntax", "layout", "semantics", "input"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, kind, default severity, one-line text, kernels and where it is defined."""

    id: str
    kind: Kind
    severity: Literal["error", "warning"]
    description: str
    kernels: str = "all"
    source: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "description": self.description,
            "kernels": self.kernels,
            "source": self.source,
        }


_SCOPES = {"smaps": "each smaps entry", "smaps_rollup": "the smaps_rollup entry"}


@functools.cache
def rules() -> tuple[Rule, ...]:
    """Every rule, in the order of docs/rules.md: syntax, layout, semantics, input."""
    from .._spec.abi import load_abi
    from .validate import RULE_DESCRIPTIONS, SYNTAX, WARNING_RULES

    found = [
        Rule(
            rule_id,
            "syntax" if rule_id == SYNTAX else "layout",
            "warning" if rule_id in WARNING_RULES else "error",
            text,
            source="grammar/smaps.lark" if rule_id == SYNTAX else "kernel/*.profile",
        )
        for rule_id, text in RULE_DESCRIPTIONS.items()
    ]
    # An id defined for both files (value-range) is one rule, its texts joined.
    invariants: dict[str, list[Rule]] = {}
    for inv in load_abi().invariants:
        kernels = ", ".join(str(k) for k in inv.kernels)
        scope = " and ".join(_SCOPES.get(s, s) for s in sorted(inv.scope))
        text = f"{scope}: {inv.expr}" + ("" if kernels == "all" else f" (kernels {kernels})")
        source = f"Documentation/ABI/testing/{inv.path.rsplit('/', 1)[-1]}:{inv.line}"
        invariants.setdefault(inv.id, []).append(
            Rule(inv.id, "semantics", inv.severity, text, kernels, source)
        )
    for same in invariants.values():
        first = same[0]
        if len(same) == 1:
            found.append(first)
            continue
        exprs = {r.description.split(": ", 1)[1] for r in same}
        if len(exprs) == 1:
            scopes = " and ".join(r.description.split(": ", 1)[0] for r in same)
            text = f"{scopes}: {exprs.pop()}"
        else:
            text = "; ".join(r.description for r in same)
        found.append(
            Rule(
                first.id, "semantics", first.severity, text,
                ", ".join(dict.fromkeys(r.kernels for r in same)),
                ", ".join(r.source for r in same),
            )
        )  # fmt: skip
    found.append(
        Rule(IO_ERROR, "input", "error", "a FILE cannot be read (reported whatever the selection)",
             source="smapsfmt validate")
    )  # fmt: skip
    return tuple(found)


def match_rules(selector: str) -> list[Rule]:
    """The rules a selector names: the rule of that id, or every rule whose id starts with
    the selector's words (``smaps-pss`` names ``smaps-pss-le-rss``, not ``smaps-pssx``)."""
    return [r for r in rules() if r.id == selector or r.id.startswith(selector + "-")]


@functools.cache
def _names() -> list[str]:
    """Every rule id and every prefix of whole words of one (``smaps``, ``smaps-pss``)."""
    names: dict[str, None] = {}
    for rule in rules():
        words = rule.id.split("-")
        for n in range(1, len(words) + 1):
            names["-".join(words[:n])] = None
    return list(names)


def _selectors(values: Iterable[str], option: str) -> list[str]:
    """The selectors of a repeatable option, each value a comma-separated list."""
    found = []
    for value in values:
        for part in value.split(","):
            selector = part.strip()
            if not selector:
                raise ValueError(f"{option}: an empty rule name in {value!r}")
            if not match_rules(selector):
                close = difflib.get_close_matches(selector, _names(), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(
                    f"{option}: unknown rule {selector!r}{hint} (see 'smapsfmt rules')"
                )
            found.append(selector)
    return found


def enabled_rules(select: Iterable[str] | None, ignore: Iterable[str] | None) -> frozenset[str]:
    """The ids reported: those ``select`` names (every rule without it), less those ``ignore``
    names. ValueError names an unknown rule or an empty name."""
    chosen = _selectors(select or (), "--select")
    ignored = _selectors(ignore or (), "--ignore")
    enabled = {r.id for s in chosen for r in match_rules(s)} if chosen else {r.id for r in rules()}
    enabled -= {r.id for s in ignored for r in match_rules(s)}
    return frozenset(enabled | {IO_ERROR})
