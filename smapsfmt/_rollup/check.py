"""The check: the proof, field by field, that a rollup is (or is not) what the kernel prints
for a smaps, with the kernel's own arithmetic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._diagnostics import Diagnostic
from .._spec.header import address_text
from .._spec.kernels import show_version
from .bounds import Interval, bounds, plural
from .dating import (
    NEWEST,
    ROLLUP_SINCE,
    Dating,
    asked_kernels,
    restrict,
    rollup_kernels,
    smaps_kernels,
    with_profiles,
)
from .errors import KernelMismatch
from .gate import GATE_EXCLUDED_SINCE, includes_gate
from .knowledge import EXACT, NOT_IN_ROLLUP, ROLLUP_ONLY, Knowledge, knowledge
from .layout import rollup_fields
from .sums import Sums, is_text, read

if TYPE_CHECKING:
    from .._model import Mapping, Rollup

__all__ = ["FieldProof", "Proof", "check", "check_rollup"]


@dataclass(frozen=True, slots=True)
class FieldProof:
    """One line of the proof: a rollup field, its value, and what smaps allows for it."""

    name: str
    value: int | None  # None: the rollup lacks the field
    bound: Interval | None  # None: no relation to smaps is known
    line: int
    smaps_sum: int | None = None  # the field's sum over the smaps; None: a rollup-only field

    @property
    def checked(self) -> bool:
        """smaps bounds this field (it is neither unknown nor unreliable on this kernel)."""
        return self.bound is not None and self.bound.hi is not None

    @property
    def holds(self) -> bool:
        bound = self.bound
        return bound is not None and bound.hi is not None and self.value in bound


@dataclass(slots=True)
class Proof:
    """The outcome of :func:`check`: the diagnostics and one proof line per rollup field."""

    diagnostics: list[Diagnostic]
    fields: list[FieldProof]
    mappings: int
    kernels: Dating


def check_rollup(
    smaps: Iterable[Mapping],
    rollup: Rollup,
    *,
    kernel: str | None = None,
    path: str | None = None,
) -> list[Diagnostic]:
    """Prove or refute that ``rollup`` is what the kernel prints for ``smaps``, field by field.

    Returns the violations (none: proven consistent), each on the rollup line concerned, with
    ``path`` naming the rollup: ``rollup-sum`` (a field summed in bytes differs from the sum),
    ``rollup-pss-bound`` (a fixed-point or rollup-only field outside the interval the kernel's
    arithmetic allows; the message states it), ``rollup-header-range`` (the header's range
    against the mappings), ``rollup-fields`` (a line one side has that the other side's kernel
    would not print), and
    ``rollup-kernel-mismatch`` (the smaps, the rollup and ``kernel`` cannot all be one kernel,
    or no kernel prints the rollup's lines together).
    ``smaps`` is any iterable of mappings, read once.

    Raises ``TypeError`` when ``smaps`` is not mappings, ``rollup`` not a
    :class:`~smapsfmt.Rollup` (bytes: parse them with :func:`~smapsfmt.parse_rollup`) or
    ``kernel`` not a string; ``ValueError`` for a ``kernel`` no profile has, and, as
    :func:`aggregate` does, :class:`~smapsfmt.KernelMismatch` (with ``line`` and ``rule``) when
    no kernel prints this smaps or a rollup of it: those are problems of the smaps, not of
    ``rollup``.
    """
    return check(smaps, rollup, kernel=kernel, path=path).diagnostics


def check(
    smaps: Iterable[Mapping],
    rollup: Rollup,
    *,
    kernel: str | None = None,
    path: str | None = None,
    know: Knowledge | None = None,
    sample: str | None = None,
    rollup_text: str | None = None,
) -> Proof:
    """:func:`check_rollup`, with the per-field proof (``sample``: see :func:`summarize`;
    ``rollup_text``: the rollup as read, latin-1, whose label padding and value widths tell
    apart kernels that print the same fields)."""
    from .._model import Rollup

    if not isinstance(rollup, Rollup):
        raise TypeError(
            f"expected a Rollup for rollup, not {type(rollup).__name__}"
            + (": parse the text first (smapsfmt.parse_rollup)" if is_text(rollup) else "")
        )
    if kernel is not None:
        asked_kernels(kernel)
    state = read(smaps, know or knowledge())
    return Checker(state, rollup, kernel, path, sample, rollup_text=rollup_text).run()


class Checker:
    def __init__(
        self,
        state: Sums,
        rollup: Rollup,
        kernel: str | None,
        path: str | None,
        sample: str | None,
        *,
        rollup_text: str | None = None,
    ) -> None:
        self.state = state
        self.know = state.know
        self.rollup = rollup
        self.kernel = kernel
        self.path = path
        self.sample = sample
        self.rollup_text = rollup_text
        self.diagnostics: list[Diagnostic] = []
        self.proofs: list[FieldProof] = []
        self.lines = {name: rollup.line + 1 + i for i, name in enumerate(rollup.fields)}

    def report(self, line: int, rule: str, message: str, *, column: int = 1) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, column, rule, "error", message))

    def warn(self, line: int, rule: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, 1, rule, "warning", message))

    def run(self) -> Proof:
        kernels = self._kernels()
        self._check_header(kernels)
        self._check_fields(kernels)
        self._check_rules(kernels)
        self.diagnostics.sort(key=lambda d: (d.line, d.column))
        return Proof(self.diagnostics, self.proofs, self.state.count, kernels)

    def _kernels(self) -> Dating:
        """The kernels both texts (and ``kernel``) fit; a mismatch is reported."""
        smaps_range = self.smaps_dating(None)
        rollup = self.rollup
        try:
            rollup_range: Dating | None = self._rollup_dating(None)
        except KernelMismatch as exc:  # lines that no kernel prints together
            self.report(rollup.line, exc.rule, str(exc))
            rollup_range = None
        if self.kernel is not None:
            asked, label = asked_kernels(self.kernel)
            found: list[Dating] = []
            candidates = [("smaps", smaps_range, self.smaps_dating(asked))]
            if rollup_range is not None:
                candidates.append(("rollup", rollup_range, self._rollup_dating(asked)))
            for what, fitting, restricted in candidates:
                kept = restrict(restricted, asked)
                if kept is None:
                    self.report(
                        rollup.line,
                        "rollup-kernel-mismatch",
                        f"the {what} cannot come from {label}: it is printed by {fitting} "
                        f"({fitting.why})",
                    )
                else:
                    found.append(kept)
            if len(found) != len(candidates):
                return smaps_range
            return (found[0].meet(found[1]) if len(found) == 2 else found[0]) or smaps_range
        if rollup_range is None:
            return smaps_range
        both = smaps_range.meet(rollup_range)
        if both is None:
            self.report(
                rollup.line,
                "rollup-kernel-mismatch",
                f"the smaps and the rollup come from different kernels: the smaps is printed by "
                f"{smaps_range} ({smaps_range.why}), the rollup by {rollup_range} "
                f"({rollup_range.why})",
            )
            return smaps_range
        return both

    def smaps_dating(self, asked: Dating | None) -> Dating:
        state = self.state
        return smaps_kernels(
            state.names,
            self.know,
            vmflags=state.vmflags,
            name_lines=state.name_lines,
            sample=self.sample,
            asked=asked,
        )

    def _rollup_dating(self, asked: Dating | None) -> Dating:
        """The kernels whose rollup prints these lines, and its header range, when the smaps
        ends with the gate VMA (the range includes it up to 4.18 only)."""
        rollup = self.rollup
        rollup_range = rollup_kernels(list(rollup.fields), self.know, asked, text=self.rollup_text)
        _, ends = self.state.header()
        if ends[True] != ends[False] and rollup.end in ends.values():
            gate = rollup.end == ends[True]
            dated = (
                Dating(ROLLUP_SINCE, (4, 18), ("the range ends with the gate VMA",))
                if gate
                else Dating(GATE_EXCLUDED_SINCE, NEWEST, ("the range ends before the gate",))
            )
            if rollup_range.profiles:
                kept = tuple(
                    p for p in rollup_range.profiles if includes_gate(p, p.kernels[0]) == gate
                )
                if kept:
                    rollup_range = with_profiles(
                        Dating(
                            rollup_range.lo,
                            rollup_range.hi,
                            (*rollup_range.evidence, *dated.evidence),
                        ),
                        list(kept),
                    )
            else:
                rollup_range = rollup_range.meet(dated) or rollup_range
        return rollup_range

    def _expected(self, kernels: Dating) -> tuple[set[str], set[str]]:
        """The rollup lines some, and every, kernel of ``kernels`` prints for this smaps."""
        state, know = self.state, self.know
        lists = [
            rollup_fields(state.names, p.kernels[0], know, p)
            for p in kernels.profiles
            if p.rollup_lines is not None
        ] or [
            rollup_fields(state.names, kernels.lo, know),
            rollup_fields(state.names, kernels.hi, know),
        ]
        return set().union(*lists), set(lists[0]).intersection(*lists[1:])

    def _check_header(self, kernels: Dating) -> None:
        rollup = self.rollup
        start, ends = self.state.header()
        allowed: dict[int, str] = {}
        gates = {includes_gate(p, p.kernels[0]) for p in kernels.profiles} or {
            kernels.lo[:2] < GATE_EXCLUDED_SINCE,
            kernels.hi[:2] < GATE_EXCLUDED_SINCE,
        }
        if False in gates:
            allowed[ends[False]] = "the end of the last mapping before the gate VMA (4.19+)"
        if True in gates:
            allowed.setdefault(
                ends[True], "the end of the gate VMA, the last entry (4.14 to 4.18)"
            )
        if rollup.start != start:
            self.report(
                rollup.line,
                "rollup-header-range",
                f"the rollup's range starts at {address_text(rollup.start)}, the first mapping "
                f"at {address_text(start)}",
            )
        if rollup.end not in allowed:
            expected = " or ".join(f"{address_text(end)}, {why}" for end, why in allowed.items())
            self.report(
                rollup.line,
                "rollup-header-range",
                f"the rollup's range ends at {address_text(rollup.end)}; {kernels} ends it at "
                f"{expected}",
                column=len(address_text(rollup.start)) + 2,
            )

    def _check_fields(self, kernels: Dating) -> None:
        state, know, rollup = self.state, self.know, self.rollup
        possible, certain = self._expected(kernels)
        pss = rollup.fields.get("Pss")
        found = bounds(state, [n for n in rollup.fields if n in possible], kernels, pss=pss)
        for name, value in rollup.fields.items():
            line = self.lines[name]
            relation = know.relation(name, kernels)
            bound = found.get(name)
            total = None if relation == ROLLUP_ONLY else state.sums.get(name, 0)
            self.proofs.append(FieldProof(name, value, bound, line, total))
            if relation is None:
                self.warn(
                    line,
                    "rollup-fields",
                    f"{name} is not in the specification: how the kernel sums it is unknown "
                    f"(the {plural(state.count)} sum to {state.sums.get(name, 0)} kB); not "
                    "checked",
                )
            elif name not in possible:
                self.report(line, "rollup-fields", self._extra(name, relation, kernels))
            elif bound is not None and value not in bound:
                if relation == EXACT:
                    self.report(
                        line,
                        "rollup-sum",
                        f"{name} is {value} kB in the rollup, the {plural(state.count)} sum to "
                        f"{bound.lo} kB",
                    )
                else:
                    self.report(
                        line,
                        "rollup-pss-bound",
                        f"{name} is {value} kB in the rollup, outside {bound}: {bound.why}",
                    )
        # the smaps's order, then the ABI document's (rollup-only fields), never a set's (hash
        # seed)
        order = dict.fromkeys([*state.names, *know.relations])  # first place kept
        rank = {n: i for i, n in enumerate(order)}
        for name in sorted(
            certain - rollup.fields.keys(), key=lambda n: (rank.get(n, len(rank)), n)
        ):
            self.report(
                rollup.line,
                "rollup-fields",
                f"the rollup has no {name} line, which {kernels} prints in the rollup of this "
                "smaps",
            )
        for name in state.names:
            if know.relation(name, kernels) is None and name not in rollup.fields:
                self.warn(
                    rollup.line,
                    "rollup-fields",
                    f"the smaps has {name}, a field not in the specification, and the rollup "
                    "has no such line; not checked",
                )

    def _extra(self, name: str, relation: str, kernels: Dating) -> str:
        if relation == NOT_IN_ROLLUP:
            why = "no kernel prints it in smaps_rollup"
        elif relation == ROLLUP_ONLY:
            why = f"{kernels} does not print it (first in {self._since(name)})"
        else:
            why = f"the smaps has no {name} line, and the rollup sums the smaps fields"
        return f"{name} is in the rollup but cannot be in the rollup of this smaps: {why}"

    def _since(self, name: str) -> str:
        since = self.know.since.get(name)
        return show_version(since) if since else "an unknown version"

    def _check_rules(self, kernels: Dating) -> None:
        """The ABI document's invariants of the rollup entry that name a rollup-only field (the
        split of Pss): they tie those fields to the rollup's Pss."""
        values = dict(self.rollup.fields)
        for rule in self.know.rules:
            if not rule.names <= values.keys():
                continue
            if all(where.meet(kernels) is None for where in rule.kernels):
                continue
            if rule.check(dict(values)) is not False:
                continue
            first = min(rule.names, key=self.lines.__getitem__)
            named = sorted(rule.names, key=self.lines.__getitem__)
            shown = ", ".join(f"{n} {values[n]} kB" for n in named)
            self.report(
                self.lines[first],
                "rollup-pss-bound",
                f"{rule.expr} does not hold ({shown}): invariant {rule.id} of the ABI document",
            )
