"""What the aggregator knows about fields, all of it read from the spec files.

From the ABI document (``Documentation/ABI/testing/procfs-smaps*``, read by
``smapsfmt._spec.abi``): how each field's rollup value relates to smaps on which kernels (its
``:Rollup:`` lines), the fields summed in fixed point, the byte fields that cap a fixed-point
field per mapping (an invariant ``F <= A + B``), the field that only a VmFlags mnemonic lets be
non-zero (an invariant ``F == (G if 'xx' in VmFlags else 0)``: Locked and ``lo``), and the
rollup invariants that name a rollup-only field. From the kernel profiles (``kernel/*.profile``):
the name of the smaps_rollup entry (its ``rollup-header``), the field lines that every smaps
entry has and no smaps_rollup, and each major version's last minor release.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Final

from .._spec.kernels import Version
from .dating import NEWEST, OLDEST, Dating

if TYPE_CHECKING:
    from .._spec.abi import ABI, KernelRange
    from .._spec.profiles import Profile

__all__ = ["Knowledge", "RollupRule", "knowledge", "knowledge_from"]

# The relations of the ABI document's :Rollup: lines.
EXACT: Final = "exact-sum"
FIXED: Final = "fixed-point-sum"
ROLLUP_ONLY: Final = "rollup-only"
NOT_IN_ROLLUP: Final = "not-in-rollup"
UNRELIABLE: Final = "unreliable"


@dataclass(frozen=True, slots=True)
class RollupRule:
    """An invariant of the smaps_rollup entry that names a rollup-only field."""

    id: str
    expr: str
    kernels: tuple[Dating, ...]
    names: frozenset[str]
    check: Callable[[dict[str, object]], bool | None]  # None: a name has no value


@dataclass(frozen=True, slots=True)
class FlagGate:
    """A field that is non-zero only on mappings whose VmFlags have ``flag``: the invariant
    ``rule`` of the ABI document."""

    flag: str
    rule: str


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What the aggregator knows about fields: from the ABI document and the kernel profiles."""

    # field -> its (relation, kernels) lines, for example Swap: exact-sum 4.19+, unreliable
    # 4.14..4.18
    relations: dict[str, tuple[tuple[str, Dating], ...]]
    # fixed-point field -> the byte fields its per-mapping value is at most the sum of
    caps: dict[str, tuple[str, ...]]
    since: dict[str, Version]
    rules: tuple[RollupRule, ...] = ()
    # the fields summed in fixed point on some kernel, in the document's order
    fixed: tuple[str, ...] = ()
    gates: dict[str, FlagGate] = field(default_factory=dict)
    rollup_names: frozenset[bytes] = frozenset()  # the smaps_rollup entry's name: [rollup]
    # the fields every smaps entry has and no smaps_rollup has: Size
    smaps_only: frozenset[str] = frozenset()
    # major -> its last minor release, where a profile ends with it and the next one starts
    # at the next major: 3.19, 4.20, 5.19
    last_minor: dict[int, int] = field(default_factory=dict)
    # relation's answers, by name and kernels: a rollup asks the same few again and again
    known: dict[tuple[str, Dating], str | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def relation(self, name: str, kernels: Dating) -> str | None:
        """How the rollup value of ``name`` relates to smaps on all of ``kernels``: one
        relation, ``unreliable`` when any of them has a known bug, None for unknown fields."""
        key = (name, kernels)
        if key not in self.known:
            if len(self.known) >= 4096:
                self.known.clear()
            self.known[key] = self._relation(name, kernels)
        return self.known[key]

    def _relation(self, name: str, kernels: Dating) -> str | None:
        lines = self.relations.get(name)
        if not lines:
            return None
        found = {rel for rel, where in lines if where.meet(kernels) is not None}
        if not found:
            # Outside every range of the document (a vendor backport to an older kernel, such
            # as Android 4.9's rollup of 4.14): the relation of the nearest range.
            older = [(where.lo, rel) for rel, where in lines if where.lo[:2] > kernels.hi[:2]]
            newer = [(where.hi, rel) for rel, where in lines if where.hi[:2] < kernels.lo[:2]]
            if kernels.lo[:2] > kernels.hi[:2] or not (older or newer):
                # No kernel at all (a range whose low end is above its high end): the relation
                # of the newest range, the one the kernel keeps.
                return max((where.hi, rel) for rel, where in lines)[1]
            return min(older)[1] if older else max(newer)[1]
        if UNRELIABLE in found:
            return UNRELIABLE
        return sorted(found)[0] if len(found) > 1 else found.pop()

    def in_rollup(self, name: str, version: Version) -> bool:
        relation = self.relation(name, Dating(version, version))
        return relation in (EXACT, FIXED, UNRELIABLE)

    def rollup_only(self, version: Version) -> list[str]:
        return [
            name
            for name, lines in self.relations.items()
            if any(rel == ROLLUP_ONLY for rel, _ in lines)
            and self.since.get(name, NEWEST)[:2] <= version[:2]
        ]


_KNOWLEDGE: list[Knowledge] = []


def knowledge() -> Knowledge:
    """The field knowledge of the shipped ABI document and profiles, read once."""
    if not _KNOWLEDGE:
        from .._spec.abi import load_abi

        _KNOWLEDGE.append(knowledge_from(load_abi()))
    return _KNOWLEDGE[0]


def knowledge_from(abi: ABI, profiles: Sequence[Profile] | None = None) -> Knowledge:
    """The aggregator's knowledge from a loaded ABI document
    (``smapsfmt._spec.abi.load_abi()``) and kernel profiles (the shipped ones by default)."""
    from .._spec.abi import parse_version

    if profiles is None:
        from .._spec.profiles import load_profiles

        profiles = load_profiles()
    relations: dict[str, tuple[tuple[str, Dating], ...]] = {}
    since: dict[str, Version] = {}
    for name, spec in abi.fields.items():
        lines = spec.rollup_by_kernels or ((None, spec.rollup),)
        relations[name] = tuple((rel, dating_of(where)) for where, rel in lines)
        since[name] = parse_version(spec.since)
    bytes_fields = {n for n, lines in relations.items() if any(r == EXACT for r, _ in lines)}
    fixed = tuple(n for n, lines in relations.items() if any(r == FIXED for r, _ in lines))
    caps: dict[str, tuple[str, ...]] = {}
    gates: dict[str, FlagGate] = {}
    rules: list[RollupRule] = []
    rollup_only = {n for n, lines in relations.items() if any(r == ROLLUP_ONLY for r, _ in lines)}
    for inv in abi.invariants:
        if "smaps" in inv.scope:
            for name, terms in inv.caps:
                if name in fixed and set(terms) <= bytes_fields and name not in caps:
                    caps[name] = terms
            for name, flag in inv.gates:
                if name in fixed:
                    gates.setdefault(name, FlagGate(flag, inv.id))
        elif inv.fields & rollup_only:
            rules.append(
                RollupRule(
                    id=inv.id,
                    expr=inv.expr,
                    kernels=tuple(dating_of(k) for k in inv.kernels),
                    names=inv.fields,
                    check=inv.check,
                )
            )
    return Knowledge(
        relations,
        caps,
        since,
        tuple(rules),
        fixed,
        gates,
        rollup_names=frozenset(
            p.rollup_header[1].encode("latin-1") for p in profiles if p.rollup_header
        ),
        smaps_only=_smaps_only(profiles),
        last_minor=_last_minor(profiles),
    )


def _last_minor(profiles: Sequence[Profile]) -> dict[int, int]:
    """Each major's last minor release, where the mainline profiles show it: one range ends
    with it and the next starts at the next major's .0 (3.8-3.19, then 4.0-4.3)."""
    ranges = sorted(p.kernels for p in profiles if p.variant_of is None)
    found: dict[int, int] = {}
    for (_, high), (low, _) in pairwise(ranges):
        if low[0] == high[0] + 1 and low[1] == 0 and len(high) == 2:
            found[high[0]] = high[1]
    return found


def _smaps_only(profiles: Sequence[Profile]) -> frozenset[str]:
    """The fields every profile prints in every smaps entry and none in smaps_rollup (Size)."""
    every = [{line.field for line in p.smaps_lines if not line.optional} for p in profiles]
    rollup = {line.field for p in profiles for line in p.rollup_lines or ()}
    return frozenset(set.intersection(*every) - rollup if every else ())


def dating_of(where: KernelRange | None) -> Dating:
    """A range of the ABI document as kernels (no range: every kernel)."""
    if where is None:
        return Dating(OLDEST, NEWEST)
    return Dating(where.low or OLDEST, where.high or NEWEST)
