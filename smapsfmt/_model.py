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
(the parser builds them directly, see _fast.py). Models built by hand, or from JSON, are
validated by pydantic. Treat them as read-only; ``fields`` is a read-only mapping.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Mapping as AbcMapping
from types import MappingProxyType
from typing import Annotated, Any, Final, overload

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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._rollup.aggregate import Interval

__all__ = ["KNOWN_FIELDS", "UNITLESS_FIELDS", "AggregatedRollup", "Mapping", "Rollup", "Smaps"]

# The fields of the kernel's smaps and smaps_rollup, by the name the kernel prints, with the
# attribute that gives them typed. Order: the 6.18 order, then fields of older kernels.
# (fs/proc/task_mmu.c 6.18 __show_smap/show_smap; Nonlinear: 3.8..3.18.) The ABI document
# (Documentation/ABI/testing/procfs-smaps) describes each; tests/test_model.py keeps the two
# lists equal.
KNOWN_FIELDS: Final[dict[str, str]] = {
    "Size": "size",
    "KernelPageSize": "kernel_page_size",
    "MMUPageSize": "mmu_page_size",
    "Rss": "rss",
    "Pss": "pss",
    "Pss_Dirty": "pss_dirty",
    "Pss_Anon": "pss_anon",
    "Pss_File": "pss_file",
    "Pss_Shmem": "pss_shmem",
    "Shared_Clean": "shared_clean",
    "Shared_Dirty": "shared_dirty",
    "Private_Clean": "private_clean",
    "Private_Dirty": "private_dirty",
    "Referenced": "referenced",
    "Anonymous": "anonymous",
    "KSM": "ksm",
    "LazyFree": "lazy_free",
    "AnonHugePages": "anon_huge_pages",
    "ShmemPmdMapped": "shmem_pmd_mapped",
    "FilePmdMapped": "file_pmd_mapped",
    "Shared_Hugetlb": "shared_hugetlb",
    "Private_Hugetlb": "private_hugetlb",
    "Swap": "swap",
    "SwapPss": "swap_pss",
    "Locked": "locked",
    "Nonlinear": "nonlinear",
    "THPeligible": "thp_eligible",
    "ProtectionKey": "protection_key",
}

# Known fields printed without a unit (task_mmu.c 5.0+ THPeligible, 4.9+ ProtectionKey).
UNITLESS_FIELDS: Final[frozenset[str]] = frozenset({"THPeligible", "ProtectionKey"})


# --- value types ---------------------------------------------------------------------------


def _hex_in(value: object) -> object:
    if isinstance(value, str):
        return int(value, 16)
    return value


def _hex_out(value: int) -> str:
    return format(value, "08x")


Hex = Annotated[
    int,
    Field(ge=0),
    BeforeValidator(_hex_in),
    PlainSerializer(_hex_out, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9a-f]{8,}$"}),
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

Perms = Annotated[str, Field(pattern=r"^[r-][w-][x-][sp]$")]


class _FieldAttr:
    """A typed attribute for one kernel field: its value, or None where it was not printed."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _FieldAttr: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> int | None: ...
    def __get__(self, obj: object, owner: type | None = None) -> int | _FieldAttr | None:
        if obj is None:
            return self
        fields: AbcMapping[str, int] = obj.fields  # type: ignore[attr-defined]
        return fields.get(self.key)


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
class _Entry:
    """Header parts and fields, common to a smaps mapping and the smaps_rollup entry."""

    line: Annotated[int, Field(ge=1, description="1-based line of the header in the input")]
    start: Hex
    end: Hex
    perms: Perms
    offset: Hex
    major: Annotated[int, Field(ge=0)]
    minor: Annotated[int, Field(ge=0)]
    inode: Annotated[int, Field(ge=0)]
    pathname: Annotated[RawBytes, Field(description="the name after the padding, empty for none")]
    fields: Annotated[FieldValues, Field(description="every field line, in order: name -> value")]
    unknown_lines: tuple[str, ...] = Field(
        default=(), description="raw text of the field lines the specification does not name"
    )

    # Typed attributes, one per known kernel field (None where this kernel did not print it).
    size = _FieldAttr("Size")
    kernel_page_size = _FieldAttr("KernelPageSize")
    mmu_page_size = _FieldAttr("MMUPageSize")
    rss = _FieldAttr("Rss")
    pss = _FieldAttr("Pss")
    pss_dirty = _FieldAttr("Pss_Dirty")
    pss_anon = _FieldAttr("Pss_Anon")
    pss_file = _FieldAttr("Pss_File")
    pss_shmem = _FieldAttr("Pss_Shmem")
    shared_clean = _FieldAttr("Shared_Clean")
    shared_dirty = _FieldAttr("Shared_Dirty")
    private_clean = _FieldAttr("Private_Clean")
    private_dirty = _FieldAttr("Private_Dirty")
    referenced = _FieldAttr("Referenced")
    anonymous = _FieldAttr("Anonymous")
    ksm = _FieldAttr("KSM")
    lazy_free = _FieldAttr("LazyFree")
    anon_huge_pages = _FieldAttr("AnonHugePages")
    shmem_pmd_mapped = _FieldAttr("ShmemPmdMapped")
    file_pmd_mapped = _FieldAttr("FilePmdMapped")
    shared_hugetlb = _FieldAttr("Shared_Hugetlb")
    private_hugetlb = _FieldAttr("Private_Hugetlb")
    swap = _FieldAttr("Swap")
    swap_pss = _FieldAttr("SwapPss")
    locked = _FieldAttr("Locked")
    nonlinear = _FieldAttr("Nonlinear")
    thp_eligible = _FieldAttr("THPeligible")
    protection_key = _FieldAttr("ProtectionKey")

    @property
    def dev(self) -> str:
        """The device as the kernel prints it, ``major:minor`` in hex."""
        return f"{self.major:02x}:{self.minor:02x}"

    @property
    def unknown_fields(self) -> tuple[str, ...]:
        """Names of the fields that the specification does not know (vendor fields)."""
        return tuple(name for name in self.fields if name not in KNOWN_FIELDS)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling and copy.deepcopy: the attributes as they are, ``fields`` as a plain dict
        (a read-only mapping does not pickle), read-only again once restored."""
        state = {name: getattr(self, name) for name in _slot_names(type(self))}
        state["fields"] = dict(self.fields)
        return (_restore, (type(self), state))

    def header_text(self) -> str:
        """The header's parts in the kernel's order, separated by single blanks."""
        text = (
            f"{self.start:08x}-{self.end:08x} {self.perms} {self.offset:08x} {self.dev} "
            f"{self.inode}"
        )
        if self.pathname:
            text += " " + self.pathname.decode("utf-8", "backslashreplace")
        return text


@dataclass(slots=True, kw_only=True, config=_CONFIG)
class Mapping(_Entry):
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
class Rollup(_Entry):
    """The one entry of /proc/PID/smaps_rollup (Linux 4.14+)."""

    final_newline: bool = Field(default=True, description="the text ended in a newline")


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
