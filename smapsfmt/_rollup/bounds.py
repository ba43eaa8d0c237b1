"""The intervals a rollup's fields lie in, given the sums of a smaps: exact for the fields
summed in bytes, ``[S, S + K - 1]`` for the fixed-point ones (capped where the ABI document caps
them), and bounds for the rollup-only split of Pss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._model import Interval
from .knowledge import EXACT, FIXED, ROLLUP_ONLY, UNRELIABLE
from .sums import PSS_SHIFT

if TYPE_CHECKING:
    from .dating import Dating
    from .sums import Sums

__all__ = ["Interval", "bounds", "plural"]


def plural(count: int, word: str = "mapping") -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def bounds(
    state: Sums, names: Sequence[str], kernels: Dating, *, pss: int | None = None
) -> dict[str, Interval]:
    """The interval of each rollup field in ``names`` for the kernels ``kernels``. ``pss``:
    the rollup's own Pss, when known (it narrows the rollup-only fields)."""
    know = state.know
    out: dict[str, Interval] = {}
    for name in names:
        relation = know.relation(name, kernels)
        total = state.sums.get(name, 0)
        if relation == EXACT:
            out[name] = Interval(total, total, f"the sum over the {plural(state.count)}")
        elif relation == FIXED:
            out[name] = fixed_bound(state, name, total, kernels)
        elif relation == UNRELIABLE:
            out[name] = Interval(
                0,
                None,
                f"{kernels} has a known bug in its rollup {name} (see the ABI document): "
                "no relation to smaps",
            )
    split = [n for n in names if know.relation(n, kernels) == ROLLUP_ONLY]
    if split and "Pss" in out:
        base = out["Pss"] if pss is None else Interval(pss, pss, "the rollup's Pss")
        out.update(split_bounds(state, base, split))
    return {name: out[name] for name in names if name in out}


def fixed_bound(state: Sums, name: str, total: int, kernels: Dating) -> Interval:
    fractions = state.fractions.get(name, 0)
    gate = state.know.gates.get(name)
    if gate is not None and any(gate.rule in p.deviations for p in kernels.profiles):
        # a kernel that deviates from the invariant that gates the field by a VmFlags
        # mnemonic: a vendor kernel that counts Locked without VM_LOCKED
        # (kernel/android-4.9.profile)
        fractions = state.ungated.get(name, 0)
    hi = total + max(fractions - 1, 0)
    why = (
        f"the kernel sums {name} in fixed point (PSS_SHIFT {PSS_SHIFT}) and truncates once, "
        f"smaps truncates each of the {plural(state.count)}: from their sum, {total} kB"
    )
    if fractions > 1:
        why += f", to {fractions - 1} kB more ({plural(fractions)} can carry a fraction of a kB)"
    else:
        why += f", exactly ({plural(fractions)} can carry a fraction of a kB)"
    cap = state.cap_sums.get(name)
    if cap is not None and cap < hi:
        hi = cap
        caps = " + ".join(state.know.caps[name])
        why += f", and at most the sum of {caps}, {cap} kB"
    return Interval(total, hi, why)


def split_bounds(state: Sums, pss: Interval, split: list[str]) -> dict[str, Interval]:
    """Pss_Anon, Pss_File, Pss_Shmem (task_mmu.c 5.3.1+ smaps_page_accumulate): each page's Pss
    increment goes to pss_anon if its folio is anonymous, else to pss_shmem if swap-backed
    (shmem), else to pss_file; Anonymous counts the size of the same anonymous pages
    (smaps_account). So per mapping the anonymous share of the fixed-point Pss is at most
    Anonymous and the rest at most Rss - Anonymous: the anonymous share is at least
    Pss - (Rss - Anonymous), the rest at least Pss - Anonymous, and the rest is file, not shmem,
    where the mapping cannot map shmem (see sums.Sums._add_split)."""
    rss = state.sums.get("Rss", 0)
    anonymous = state.sums.get("Anonymous", 0)
    top = pss.hi if pss.hi is not None else rss
    other_hi = max(0, min(rss - anonymous, top - state.anon_low))
    out: dict[str, Interval] = {}
    for name in split:
        if name == "Pss_Anon":
            out[name] = Interval(
                state.anon_low,
                max(state.anon_low, min(anonymous, top - state.nonanon_low)),
                f"the Pss of anonymous pages: at least the sum over the mappings of "
                f"Pss - (Rss - Anonymous), {state.anon_low} kB; at most Anonymous, "
                f"{anonymous} kB, and Pss ({pss}) less the sum of Pss - Anonymous, "
                f"{state.nonanon_low} kB",
            )
        elif name == "Pss_File":
            out[name] = Interval(
                min(state.file_low, other_hi),
                other_hi,
                f"the Pss of file pages: at least the sum of Pss - Anonymous over the mappings "
                f"that cannot map shmem, {state.file_low} kB; at most Rss - Anonymous, "
                f"{rss - anonymous} kB, and Pss ({pss}) less the sum of Pss - (Rss - Anonymous), "
                f"{state.anon_low} kB",
            )
        else:
            out[name] = Interval(
                0,
                min(other_hi, state.shmem_high),
                f"the Pss of shmem pages: at most the non-anonymous Pss of the mappings of files "
                f"on devices with major 0 (tmpfs, shm), {state.shmem_high} kB, and Pss ({pss}) "
                f"less the sum of Pss - (Rss - Anonymous), {state.anon_low} kB",
            )
    return out
