"""The field table: what the model knows of each kernel field, derived from the spec files.

Every fact comes from the ABI document (``Documentation/ABI/testing/procfs-smaps*``): which
fields there are (the documented numeric fields that no vendor alone prints), their unit, and
the name of each one's typed attribute on the model (``Rss`` -> ``rss``, ``MMUPageSize`` ->
``mmu_page_size``: the words of the name in lowercase joined by ``_``, or the field's own
``:Attribute:`` line where the words are not plain, as for ``THPeligible``). Their order is the
document's: procfs-smaps, then the fields of smaps_rollup alone.

Adding a field to the kernel therefore means editing the spec files: the model, the parser,
the validator, the aggregator and the renderer take it from here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

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
    """The table, built once from the ABI document."""
    from .abi import AbiError, load_fields

    fields = load_fields()
    attributes: dict[str, str] = {}
    names: dict[str, str] = {}
    for name, spec in fields.items():
        if not spec.numeric or spec.vendor is not None:
            continue
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
        unitless=frozenset(name for name in attributes if fields[name].unit is None),
        kb=frozenset(name for name in attributes if fields[name].unit == "kB"),
    )


# Names the model's entries already use for their own parts (the header and the rest).
_RESERVED = frozenset(
    {
        "line", "start", "end", "perms", "offset", "major", "minor", "inode", "pathname",
        "fields", "unknown_lines", "vmflags", "name", "name_after_fields", "final_newline",
        "intervals", "dev", "unknown_fields", "readable", "writable", "executable", "shared",
        "deleted", "header_text",
    }
)  # fmt: skip
