"""The data model: a mapping, a whole smaps file, a rollup.

Nothing in the input is lost: every header part, every field line (known or not, with its raw
text when the specification does not name it), every VmFlags mnemonic and the Android ``Name:``
line are kept, in the kernel's order. Layout (padding, widths) is not content: the validator
checks it against the kernel profile, on the input itself.

Pathnames are bytes, as in the kernel. In JSON they are strings: the bytes decoded as UTF-8,
any byte that is not valid UTF-8 carried as a lone surrogate (U+DC80..U+DCFF, PEP 383
"surrogateescape"), so that ``name.encode("utf-8", "surrogateescape")`` gives the bytes back.
Addresses and offsets are ints in Python and lowercase hex strings (at least 8 digits, as the
kernel prints them) in JSON.

Models made by the parser are not validated again: the grammar has already proven every part
(the parser builds them directly, see _parse/fast.py). Models built by hand, or from JSON, are
validated by pydantic. Treat them as read-only; ``fields`` is a read-only mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from collections.abc import Mapping as AbcMapping
from types import MappingProxyType
from typing import Annotated, Any, overload

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.dataclasses import dataclass

__all__ = [
    "AggregatedRollup",
    "Interval",
    "Mapping",
    "Rollup",
    "Smaps",
    "known_fields",
    "unitless_fields",
]

# Every fact about a field (its name, unit and attribute) is the ABI document's: see
# smapsfmt/_spec/fields.py. ``known_fields()`` and ``unitless_fields()`` give them here.


def known_fields() -> AbcMapping[str, str]:
    """The fields the specification names, by the name the kernel prints, with the attribute
    that gives them typed (``{"Rss": "rss", ...}``), in the kernel's order."""
    if not _KNOWN:
        from ._spec.fields import field_table

        _KNOWN.append(field_table().attributes)
    return _KNOWN[0]


_KNOWN: list[AbcMapping[str, str]] = []  # the table's name -> attribute, once it is read


def unitless_fields() -> frozenset[str]:
    """The known fields printed without a unit (THPeligible, ProtectionKey, ...)."""
    from ._spec.fields import field_table

    return field_table().unitless


_NAMES: list[AbcMapping[str, str]] = []  # the table's attribute -> name, once it is read


def _field_names() -> AbcMapping[str, str]:
    if not _NAMES:
        from ._spec.fields import field_table

        _NAMES.append(field_table().names)
    return _NAMES[0]


# --- value types ---------------------------------------------------------------------------


def _hex_in(value: object) -> object:
    if isinstance(value, str):
        return int(value, 16)
    return value


# How the header prints its values (``08x``, ``%02x:%02x``): from the newest profile's printf
# format (smapsfmt._spec.header), read on first use, not at import.
_FORMATS: dict[str, str] = {}


def _format(name: str) -> str:
    spec = _FORMATS.get(name)
    if spec is None:
        from ._spec.header import device_template, value_format

        spec = device_template() if name == "device" else value_format(name)
        _FORMATS[name] = spec
    return spec


def _address_out(value: int) -> str:
    return format(value, _FORMATS.get("start") or _format("start"))


def _offset_out(value: int) -> str:
    return format(value, _FORMATS.get("offset") or _format("offset"))


@dataclasses.dataclass(frozen=True)
class _HexSchema:
    """The JSON Schema of a header's hex value (``start`` or ``offset``): a string of at least
    as many lowercase hex digits as the profile's format pads it to, read when a schema is
    asked for."""

    part: str

    def __get_pydantic_json_schema__(self, core: Any, handler: Any) -> dict[str, Any]:
        from ._spec.header import hex_pattern

        return {"type": "string", "pattern": hex_pattern(self.part)}


class _PermsPattern:
    """The permissions' letters as the profile's format prints them (``^[r-][w-][x-][sp]$``),
    read when the model is first built (its build is deferred: see _CONFIG)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        from ._spec.header import perms_pattern

        return core_schema.str_schema(pattern=perms_pattern())


Address = Annotated[
    int,
    Field(ge=0),
    BeforeValidator(_hex_in),
    PlainSerializer(_address_out, return_type=str, when_used="json"),
    _HexSchema("start"),
]

Offset = Annotated[
    int,
    Field(ge=0),
    BeforeValidator(_hex_in),
    PlainSerializer(_offset_out, return_type=str, when_used="json"),
    _HexSchema("offset"),
]


def _bytes_in(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return value


def _bytes_out(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


RawBytes = Annotated[
    bytes,
    BeforeValidator(_bytes_in),
    PlainSerializer(_bytes_out, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "description": "bytes as UTF-8; invalid bytes as U+DC80..U+DCFF (PEP 383)",
        }
    ),
]

FieldValues = Annotated[
    AbcMapping[str, Annotated[int, Field(ge=0)]],
    AfterValidator(MappingProxyType),
    PlainSerializer(dict, return_type=dict[str, int]),
]

Perms = Annotated[str, _PermsPattern()]


_CONFIG = ConfigDict(strict=False, defer_build=True)


def _slot_names(cls: type) -> tuple[str, ...]:
    return tuple(name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ()))


def _restore(cls: type, state: dict[str, Any]) -> Any:
    """An entry from the state __reduce__ gave (its values were validated when first made)."""
    entry: Any = object.__new__(cls)
    for name, value in state.items():
        object.__setattr__(entry, name, MappingProxyType(value) if name == "fields" else value)
    return entry


@dataclass(slots=True, kw_only=True, config=_CONFIG)
class Entry:
    """Header parts and fields, common to a smaps mapping and the smaps_rollup entry."""

    line: Annotated[int, Field(ge=1, description="1-based line of the header in the input")]
    start: Address
    end: Address
    perms: Perms
    offset: Offset
    major: Annotated[int, Field(ge=0)]
    minor: Annotated[int, Field(ge=0)]
    inode: Annotated[int, Field(ge=0)]
    pathname: Annotated[RawBytes, Field(description="the name after the padding, empty for none")]
    fields: Annotated[FieldValues, Field(description="every field line, in order: name -> value")]
    unknown_lines: tuple[str, ...] = Field(
        default=(), description="raw text of the field lines the specification does not name"
    )

    def __getattr__(self, attribute: str) -> int | None:
        """A typed attribute for each field the ABI document names (``rss`` for ``Rss``):
        its value, or None where this kernel did not print it."""
        key = _field_names().get(attribute)
        if key is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attribute!r}")
        fields: AbcMapping[str, int] = object.__getattribute__(self, "fields")
        return fields.get(key)

    def __dir__(self) -> list[str]:
        return [*object.__dir__(self), *_field_names()]

    @property
    def dev(self) -> str:
        """The device as the kernel prints it, ``major:minor`` in hex."""
        return (_FORMATS.get("device") or _format("device")) % (self.major, self.minor)

    @property
    def unknown_fields(self) -> tuple[str, ...]:
        """Names of the fields that the specification does not know (vendor fields)."""
        known = known_fields()
        return tuple(name for name in self.fields if name not in known)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling and copy.deepcopy: the attributes as they are, ``fields`` as a plain dict
        (a read-only mapping does not pickle), read-only again once restored."""
        state = {name: getattr(self, name) for name in _slot_names(type(self))}
        state["fields"] = dict(self.fields)
        return (_restore, (type(self), state))

    def header_text(self) -> str:
        """The header's parts in the kernel's order, separated by single blanks."""
        from ._render import compact_header

        return compact_header(self)


@dataclass(slots=True, kw_only=True, config=_CONFIG)
class Mapping(Entry):
    """One entry of /proc/PID/smaps: one memory mapping (VMA)."""

    vmflags: tuple[Annotated[str, Field(pattern=r"^[!-~]{2}$")], ...] | None = Field(
        default=None, description="VmFlags mnemonics in printed order; None where not printed"
    )
    name: RawBytes | None = Field(
        default=None, description="the Android 'Name:' line's value; None where not printed"
    )
    name_after_fields: bool = Field(
        default=False, description="the 'Name:' line came last in the entry, not first"
    )

    @property
    def readable(self) -> bool:
        return self.perms[0] == "r"

    @property
    def writable(self) -> bool:
        return self.perms[1] == "w"

    @property
    def executable(self) -> bool:
        return self.perms[2] == "x"

    @property
    def shared(self) -> bool:
        """The mapping may be shared (VM_MAYSHARE: ``s`` in the permissions)."""
        return self.perms[3] == "s"

    @property
    def deleted(self) -> bool:
        """The name ends in `` (deleted)``: the file was unlinked (fs/d_path.c)."""
        return self.pathname.endswith(b" (deleted)")


@dataclass(slots=True, kw_only=True, config=_CONFIG)
class Rollup(Entry):
    """The one entry of /proc/PID/smaps_rollup (Linux 4.14+)."""

    final_newline: bool = Field(default=True, description="the text ended in a newline")


@dataclasses.dataclass(frozen=True, slots=True)
class Interval:
    """The values the kernel's rollup field can have, given the smaps: ``lo <= value <= hi``
    (``hi`` None: no upper bound), with the reason in words."""

    lo: int
    hi: int | None
    why: str

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    def __contains__(self, value: object) -> bool:
        return (
            isinstance(value, int) and self.lo <= value and (self.hi is None or value <= self.hi)
        )

    def __str__(self) -> str:
        if self.exact:
            return f"{self.lo} kB"
        return f"[{self.lo}, {'...' if self.hi is None else self.hi}] kB"

    @property
    def text(self) -> str:
        """The value as ``smapsfmt rollup`` prints it: ``N``, ``LO..HI`` or ``?``."""
        if self.hi is None:
            return "?"
        return str(self.lo) if self.exact else f"{self.lo}..{self.hi}"


class AggregatedRollup(Rollup):
    """The rollup :func:`smapsfmt.aggregate` computes: a :class:`Rollup`, equal to a Rollup of
    the same values and the same in JSON, whose ``fields`` hold the low end of each field's
    interval, and whose ``intervals`` hold each field's :class:`~smapsfmt.Interval`: the values
    the kernel's rollup can have (``lo == hi`` for a sum in bytes, ``hi`` None where a known
    kernel bug leaves it open), in the order of ``fields``."""

    __slots__ = ("intervals",)
    intervals: dict[str, Interval]

    @classmethod
    def of(cls, rollup: Rollup, intervals: AbcMapping[str, Interval]) -> AggregatedRollup:
        state = {name: getattr(rollup, name) for name in _slot_names(Rollup)}
        made: AggregatedRollup = _restore(cls, {**state, "intervals": dict(intervals)})
        return made

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rollup):
            return NotImplemented
        names = _slot_names(Rollup)
        return all(getattr(self, name) == getattr(other, name) for name in names)

    __hash__ = None  # type: ignore[assignment]  # as Rollup's: equal models, mutable slots


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Smaps(Sequence[Mapping]):
    """A whole /proc/PID/smaps: a sequence of mappings, in the order printed."""

    mappings: tuple[Mapping, ...] = ()
    final_newline: bool = Field(default=True, description="the text ended in a newline")

    def __len__(self) -> int:
        return len(self.mappings)

    @overload
    def __getitem__(self, index: int) -> Mapping: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Mapping, ...]: ...
    def __getitem__(self, index: int | slice) -> Mapping | tuple[Mapping, ...]:
        return self.mappings[index]

    def __iter__(self) -> Iterator[Mapping]:
        return iter(self.mappings)

    def totals(self) -> dict[str, int]:
        """The sum over all mappings of each field that smaps_rollup sums (the ABI document's
        exact-sum and fixed-point-sum fields: Rss, Pss, Swap, ...), in order of first
        appearance. Fields that are not amounts (KernelPageSize, MMUPageSize, THPeligible,
        ProtectionKey), Size and fields the document does not describe are left out; for the
        rollup a kernel prints, with its intervals, see :func:`smapsfmt.aggregate`."""
        from ._spec.abi import load_abi

        summed = load_abi().summed_fields()
        totals: dict[str, int] = {}
        for mapping in self.mappings:
            for name, value in mapping.fields.items():
                if name in summed:
                    totals[name] = totals.get(name, 0) + value
        return totals


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def adapter(kind: type) -> TypeAdapter[Any]:
    """The TypeAdapter of a model class, built once."""
    found = _ADAPTERS.get(kind)
    if found is None:
        found = _ADAPTERS[kind] = TypeAdapter(kind)
    return found


def to_jsonable(obj: Smaps | Rollup | Mapping) -> Any:
    """The model as plain JSON data (see the module docstring for bytes and addresses)."""
    return adapter(type(obj)).dump_python(obj, mode="json")


def json_schema(kind: type) -> dict[str, Any]:
    """The JSON Schema of a model class, as its JSON output looks."""
    return adapter(kind).json_schema(mode="serialization")
