"""The field table: what the model knows of each kernel field, derived from the spec files.

Every fact comes from the ABI document (``Documentation/ABI/testing/procfs-smaps*``): which
fields there are (the documented numeric fields that no vendor alone prints), their unit, and
the name of each one's typed attribute on the model (``Rss`` -> ``rss``, ``MMUPageSize`` ->
``mmu_page_size``: the words of the name in lowercase joined by ``_``, or the field's own
``:Attribute:`` line where the words are not plain, as for ``THPeligible``). Their order is the
kernel's: the newest mainline profile's lines (``kernel/*.profile``, smaps with the rollup's own
lines at their place), then the fields of older kernels in the document's order.

Adding a field to the kernel therefore means editing the spec files: the model, the parser,
the validator, the aggregator and the renderer take it from here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .profiles import Profile

__all__ = ["FieldTable", "attribute_name", "field_table"]

# The words of a field name: a run of capitals before a capitalised word (MMU in MMUPageSize),
# a capitalised or lowercase word, a run of capitals, digits.
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_ATTRIBUTE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def attribute_name(name: str) -> str:
    """The attribute a field name gets by default: ``Pss_Dirty`` -> ``pss_dirty``,
    ``AnonHugePages`` -> ``anon_huge_pages``, ``KSM`` -> ``ksm``."""
    return "_".join(word.lower() for word in _WORDS.findall(name))


@dataclass(frozen=True, slots=True)
class FieldTable:
    """The fields the model names, with their facts."""

    attributes: Mapping[str, str]  # kernel name -> attribute, in the kernel's order
    names: Mapping[str, str]  # attribute -> kernel name
    unitless: frozenset[str]  # the fields printed without a unit
    kb: frozenset[str]  # the fields printed in kB


@functools.lru_cache(maxsize=1)
def field_table() -> FieldTable:
    """The table, built once from the ABI document and the profiles."""
    from .abi import AbiError, load_abi
    from .layout import newest_profile

    abi = load_abi()
    known = [name for name, spec in abi.fields.items() if spec.numeric and spec.vendor is None]
    attributes: dict[str, str] = {}
    names: dict[str, str] = {}
    for name in _kernel_order(known, newest_profile()):
        spec = abi.fields[name]
        attribute = spec.attribute or attribute_name(name)
        if not _ATTRIBUTE.fullmatch(attribute) or attribute in _RESERVED:
            raise AbiError(f"field {name}: {attribute!r} cannot be a model attribute")
        if attribute in names:
            raise AbiError(
                f"fields {names[attribute]} and {name} would both be the attribute "
                f"{attribute!r}: give one an :Attribute: line"
            )
        attributes[name] = attribute
        names[attribute] = name
    return FieldTable(
        attributes=MappingProxyType(attributes),
        names=MappingProxyType(names),
        unitless=frozenset(name for name in attributes if abi.fields[name].unit is None),
        kb=frozenset(name for name in attributes if abi.fields[name].unit == "kB"),
    )


def _kernel_order(known: list[str], newest: Profile) -> list[str]:
    """``known`` in the order of the ``newest`` profile's lines (a rollup-only line right after
    the line it follows in the rollup), the others after, as given."""
    order = [line.field for line in newest.smaps_lines]
    previous: str | None = None
    for line in newest.rollup_lines or ():
        if line.field not in order:
            at = order.index(previous) + 1 if previous in order else len(order)
            order.insert(at, line.field)
        previous = line.field
    wanted = set(known)
    ordered = [name for name in order if name in wanted]
    return ordered + [name for name in known if name not in set(ordered)]


# Names the model's entries already use for their own parts (the header and the rest).
_RESERVED = frozenset(
    {
        "line", "start", "end", "perms", "offset", "major", "minor", "inode", "pathname",
        "fields", "unknown_lines", "vmflags", "name", "name_after_fields", "final_newline",
        "intervals", "dev", "unknown_fields", "readable", "writable", "executable", "shared",
        "deleted", "header_text",
    }
)  # fmt: skip
