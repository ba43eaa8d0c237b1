"""The ABI document, read: every field, unit, version and invariant the validator knows.

The knowledge lives in ``Documentation/ABI/testing/procfs-smaps`` and ``procfs-smaps_rollup``,
written in the kernel's ABI format (``Documentation/ABI/README``: ``What:``, ``Date:``,
``KernelVersion:``, ``Contact:``, ``Description:``; tags in column 0, TAB-aligned, the
description indented with TABs). Inside a description, the lines that start with a colon right
after the two-TAB indentation are ReST field lists that this module reads: ``:Unit:``,
``:Value:``, ``:Scope:``, ``:Rollup:``, ``:Removed:``, ``:Vendor:`` and invariants
(``:Invariant ID: EXPRESSION`` with ``:Kernels:``, ``:Severity:``, ``:Source:``). The syntax is
described for people in the first entry of procfs-smaps. Nothing here repeats it: this module
only reads.

Invariant expressions are a small subset of Python, read once, by ``expressions.py``: checked
node by node, written in that subset with the names they use in their order and their ``F <= A
+ B`` caps; ``evaluator.py`` builds from it the functions that evaluate one over columns of
values (nothing is executed from text).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .evaluator import Evaluator, compile_expression
from .expressions import ExpressionError, read_expression

__all__ = [
    "ABI",
    "ROLLUP_PATH",
    "SMAPS_PATH",
    "AbiError",
    "FieldSpec",
    "Invariant",
    "KernelRange",
    "Version",
    "load_abi",
    "load_fields",
    "parse_version",
]

SMAPS_PATH = "Documentation/ABI/testing/procfs-smaps"
ROLLUP_PATH = "Documentation/ABI/testing/procfs-smaps_rollup"

Version = tuple[int, ...]
Relation = Literal["exact-sum", "fixed-point-sum", "rollup-only", "not-in-rollup", "unreliable"]
RELATIONS: frozenset[str] = frozenset(
    {"exact-sum", "fixed-point-sum", "rollup-only", "not-in-rollup", "unreliable"}
)
FILES = {"/proc/pid/smaps": "smaps", "/proc/pid/smaps_rollup": "smaps_rollup"}
_TAGS = ("What", "Date", "KernelVersion", "Contact", "Description", "Users")

# Names an invariant may use besides the fields: the header's parts, the previous entry's
# range, the VmFlags set and the largest kB value of the entry (described in procfs-smaps).
HEADER_NAMES = frozenset({"start", "end", "offset", "major", "minor", "inode", "perms", "name"})
COMPUTED_NAMES = frozenset({"max_kB"})


class AbiError(ValueError):
    """The ABI document does not follow its own format (with the file and line)."""


# A kernel version as ``uname -r`` prints it: VERSION.PATCHLEVEL[.SUBLEVEL] (a fourth number on
# 2.6.x.y stable trees), then the EXTRAVERSION and local version (top-level Makefile,
# CONFIG_LOCALVERSION, scripts/setlocalversion: "-rc1", "-91-generic", "+"), at most
# __NEW_UTS_LEN characters (64, include/uapi/linux/utsname.h). Anything else is not a version:
# no "v" prefix, no blank or text after the number, no number longer than four digits.
_VERSION_TEXT = re.compile(
    r"(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4})(?:\.\d{1,4})?)?(?:[-+_~][0-9A-Za-z._+~-]*)?"
)
_UTS_LEN = 64


def parse_version(text: str) -> Version:
    """``"4.14"`` -> ``(4, 14)``; ``"6.18.44-fc"`` -> ``(6, 18, 44)``; ValueError for anything
    that is not a whole version (``"v6.1"``, ``"6.1 junk"``, a number of five digits or more)."""
    stripped = text.strip()
    match = _VERSION_TEXT.fullmatch(stripped) if len(stripped) <= _UTS_LEN else None
    if match is None:
        shown = stripped if len(stripped) <= _UTS_LEN else stripped[:_UTS_LEN] + "..."
        raise ValueError(f"not a kernel version: {shown!r}")
    return tuple(int(part) for part in match.groups() if part is not None)


def _le_upper(version: Version, upper: Version) -> bool:
    """``version`` is at most ``upper``, where ``upper`` "4.11" includes every 4.11.x."""
    return version[: len(upper)] <= upper


@dataclass(frozen=True, slots=True)
class KernelRange:
    """An inclusive range of kernel versions; None for an open end."""

    low: Version | None
    high: Version | None

    @classmethod
    def parse(cls, text: str) -> KernelRange:
        text = text.strip()
        if text == "all":
            return cls(None, None)
        if text.endswith("+"):
            return cls(parse_version(text[:-1]), None)
        low, sep, high = text.partition("..")
        if not sep:
            version = parse_version(text)
            return cls(version, version)
        return cls(parse_version(low) if low else None, parse_version(high) if high else None)

    def contains(self, version: Version) -> bool:
        if self.low is not None and version < self.low:
            return False
        return self.high is None or _le_upper(version, self.high)

    def covers(self, low: Version, high: Version) -> bool:
        """Every version from ``low`` to ``high`` (inclusive) is in this range."""
        if self.low is not None and low < self.low:
            return False
        return self.high is None or _le_upper(high, self.high)

    def __str__(self) -> str:
        def show(version: Version | None) -> str:
            return "" if version is None else ".".join(map(str, version))

        if self.low is None and self.high is None:
            return "all"
        if self.high is None:
            return f"{show(self.low)}+"
        if self.low == self.high:
            return show(self.low)
        return f"{show(self.low)}..{show(self.high)}"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of smaps or smaps_rollup, as the ABI document describes it."""

    name: str
    unit: str | None
    since: str
    removed: str | None
    scope: frozenset[str]
    rollup: str
    description: str
    value: str = "decimal"
    vendor: str | None = None
    rollup_by_kernels: tuple[tuple[KernelRange, str], ...] = ()
    line: int = 0
    attribute: str | None = None

    def rollup_for(self, low: Version, high: Version | None = None) -> str | None:
        """The rollup relation for kernels ``low``..``high``; None when it changes inside."""
        if not self.rollup_by_kernels:
            return self.rollup
        high = low if high is None else high
        for kernels, relation in self.rollup_by_kernels:
            if kernels.covers(low, high):
                return relation
        return None

    @property
    def numeric(self) -> bool:
        return self.value == "decimal"


@dataclass(frozen=True, slots=True)
class Invariant:
    """A relation the kernel guarantees for every entry it prints (a validator rule)."""

    id: str
    expr: str
    scope: frozenset[str]
    source: str
    description: str
    kernels: tuple[KernelRange, ...] = (KernelRange(None, None),)
    severity: Literal["error", "warning"] = "error"
    names: frozenset[str] = frozenset()
    python: str = ""
    uses_prev: bool = False
    line: int = 0
    path: str = ""
    # the names as the expression writes them, in its order (prev.start as such), repeats kept
    order: tuple[str, ...] = ()
    # its "F <= A + B" parts: F is at most the sum of the fields A, B
    caps: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # its "F == (G if 'xx' in VmFlags else 0)" parts: F counts only where VmFlags has xx
    gates: tuple[tuple[str, str], ...] = ()

    def applies_to(self, low: Version, high: Version) -> bool:
        """Checked for a kernel known to lie in ``low``..``high`` (all of it in one range)."""
        return any(kernels.covers(low, high) for kernels in self.kernels)

    @property
    def fields(self) -> frozenset[str]:
        """The kernel fields the expression names."""
        return self.names - HEADER_NAMES - COMPUTED_NAMES - {"VmFlags", "prev"}

    def arguments(self) -> tuple[str, ...]:
        """The names the translated expression takes, sorted."""
        args = set(self.names) - {"prev"}
        if self.uses_prev:
            args |= {"prev_start", "prev_end"}
        return tuple(sorted(args))

    def check(self, values: Mapping[str, object]) -> bool | None:
        """Evaluate on one entry's values (names as in the document, ``VmFlags`` as the text
        after ``VmFlags:`` with a blank after each mnemonic and one before the first,
        ``prev_start``/``prev_end``); None when a name has no value."""
        arguments = {}
        for name in self.arguments():
            value = values.get(name)
            if value is None:
                return None
            arguments[name] = value
        return bool(self.evaluator()(*arguments.values()))

    def evaluator(self) -> Evaluator:
        """The expression as a function of :meth:`arguments`, given in that order, over
        columns of values or one row (built once per expression): what every check of the
        validator calls."""
        return compile_expression(self.python, self.arguments())


@dataclass(frozen=True)
class ABI:
    """The two ABI documents, read."""

    fields: dict[str, FieldSpec]
    invariants: list[Invariant]
    files: dict[str, str] = field(default_factory=dict)

    def invariants_for(self, scope: str) -> list[Invariant]:
        return [inv for inv in self.invariants if scope in inv.scope]

    def fields_in(self, scope: str) -> list[FieldSpec]:
        return [spec for spec in self.fields.values() if scope in spec.scope]

    def kb_fields(self) -> frozenset[str]:
        return frozenset(name for name, spec in self.fields.items() if spec.unit == "kB")

    def summed_fields(self) -> frozenset[str]:
        """The smaps fields that smaps_rollup sums over the mappings (:Rollup: exact-sum or
        fixed-point-sum, on some kernel): the amounts, not page sizes, flags or keys."""
        summed = {"exact-sum", "fixed-point-sum"}
        return frozenset(
            name
            for name, spec in self.fields.items()
            if "smaps" in spec.scope
            and ({spec.rollup} | {relation for _, relation in spec.rollup_by_kernels}) & summed
        )


# --- reading the document ---------------------------------------------------------------------


@dataclass
class _Entry:
    path: str
    line: int
    tags: dict[str, str]
    body: list[tuple[int, str]]  # (line number, text without the two-TAB indentation)


def _entries(text: str, path: str) -> list[_Entry]:
    entries: list[_Entry] = []
    current: _Entry | None = None
    in_description = False
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            if current is not None and in_description:
                current.body.append((number, ""))
            continue
        tag = re.match(r"([A-Za-z]+):(\t+|$)(.*)", raw)
        if tag and tag.group(1) in _TAGS:
            name, value = tag.group(1), tag.group(3)
            if name == "What":
                current = _Entry(path, number, {}, [])
                entries.append(current)
                in_description = False
            if current is None:
                raise AbiError(f"{path}:{number}: the file must start with a What: line")
            if name in current.tags:
                raise AbiError(f"{path}:{number}: a second {name}: tag in one entry")
            current.tags[name] = value.strip()
            in_description = name == "Description"
            if in_description and value.strip():
                current.body.append((number, value.strip()))
            continue
        if current is None or not in_description or not raw.startswith("\t"):
            raise AbiError(
                f"{path}:{number}: expected a tag (What:, Date:, ...) or a description line "
                "indented with TABs"
            )
        current.body.append((number, raw[2:] if raw.startswith("\t\t") else raw.lstrip("\t")))
    for entry in entries:
        missing = [t for t in ("What", "Date", "KernelVersion", "Contact") if t not in entry.tags]
        if missing or "Description" not in entry.tags:
            lacks = ", ".join(missing) or "Description:"
            raise AbiError(f"{path}:{entry.line}: entry lacks {lacks}")
    return entries


def _machine_lines(entry: _Entry) -> list[tuple[int, str, str]]:
    """The ``:Key: value`` lines of a description, continuation lines joined."""
    found: list[tuple[int, str, str]] = []
    open_field = False
    for number, text in entry.body:
        if text.startswith(":"):
            match = re.match(r":([A-Za-z][A-Za-z0-9 _.-]*):(?:[ \t]+(.*))?$", text)
            if match is None:
                raise AbiError(f"{entry.path}:{number}: expected ':Key: value'")
            found.append((number, match.group(1), (match.group(2) or "").strip()))
            open_field = True
        elif open_field and text.startswith("\t") and found:
            number0, key, value = found[-1]
            found[-1] = (number0, key, f"{value} {text.strip()}".strip())
        else:
            open_field = False
    return found


def _description(entry: _Entry) -> str:
    """The prose of an entry: its description without the machine-readable lines."""
    lines: list[str] = []
    skipping = False
    for _, text in entry.body:
        if text.startswith(":"):
            skipping = True
            continue
        if skipping and text.startswith("\t"):
            continue
        skipping = False
        lines.append(text)
    return "\n".join(lines).strip()


def _kernels(text: str, where: str) -> tuple[KernelRange, ...]:
    try:
        return tuple(KernelRange.parse(part) for part in text.split(","))
    except ValueError as exc:
        raise AbiError(f"{where}: {exc}") from None


def _read(text: str, path: str, scope: str, abi_fields: dict[str, FieldSpec],
          invariants: list[Invariant]) -> None:  # fmt: skip
    entries = _entries(text, path)
    for entry in entries:
        what = entry.tags["What"]
        file_part, _, field_name = what.partition(": ")
        if file_part not in FILES:
            raise AbiError(f"{path}:{entry.line}: What: must name /proc/pid/smaps[_rollup]")
        lines = _machine_lines(entry)
        keys: dict[str, str] = {}
        rollups: list[tuple[KernelRange, str]] = []
        current: dict[str, object] | None = None
        for number, key, value in lines:
            where = f"{path}:{number}"
            if key.startswith("Invariant "):
                current = {"id": key.split(" ", 1)[1].strip(), "expr": value, "line": number}
                invariants.append(_invariant_stub(current, scope, path))
                continue
            if key in ("Kernels", "Severity", "Source"):
                if current is None:
                    raise AbiError(f"{where}: :{key}: must follow an :Invariant ID: line")
                if key in current:
                    raise AbiError(f"{where}: a second :{key}: for invariant {current['id']}")
                current[key] = value
                invariants[-1] = _invariant_stub(current, scope, path)
                continue
            current = None
            if key == "Rollup":
                relation, _, kernels = value.partition(" ")
                if relation not in RELATIONS:
                    raise AbiError(f"{where}: unknown rollup relation {relation!r}")
                kernel_range = (
                    _kernels(kernels.strip().strip("[]"), where)[0]
                    if kernels.strip()
                    else KernelRange(None, None)
                )
                rollups.append((kernel_range, relation))
                continue
            if key not in ("Unit", "Value", "Scope", "Removed", "Vendor", "Attribute"):
                raise AbiError(f"{where}: unknown key :{key}:")
            if key in keys:
                raise AbiError(f"{where}: a second :{key}: line")
            keys[key] = value
        if not field_name:
            if keys or rollups:
                raise AbiError(f"{path}:{entry.line}: a file entry describes no field")
            continue
        if field_name in abi_fields:
            raise AbiError(f"{path}:{entry.line}: field {field_name!r} is described twice")
        abi_fields[field_name] = _field(entry, field_name, keys, rollups)


def _field(
    entry: _Entry, field_name: str, keys: dict[str, str], rollups: list[tuple[KernelRange, str]]
) -> FieldSpec:
    path = entry.path
    for required in ("Unit", "Value", "Scope"):
        if required not in keys:
            raise AbiError(f"{path}:{entry.line}: field {field_name} lacks :{required}:")
    if not rollups:
        raise AbiError(f"{path}:{entry.line}: field {field_name} lacks :Rollup:")
    scopes = frozenset(part.strip() for part in keys["Scope"].split(","))
    if not scopes <= {"smaps", "smaps_rollup"}:
        raise AbiError(f"{path}:{entry.line}: :Scope: is smaps and/or smaps_rollup")
    if keys["Value"] not in ("decimal", "mnemonics", "text"):
        raise AbiError(f"{path}:{entry.line}: :Value: is decimal, mnemonics or text")
    newest = max(rollups, key=lambda item: item[0].low or ())[1]
    return FieldSpec(
        name=field_name,
        unit=None if keys["Unit"] == "none" else keys["Unit"],
        since=entry.tags["KernelVersion"],
        removed=keys.get("Removed"),
        scope=scopes,
        rollup=newest,
        description=_description(entry),
        value=keys["Value"],
        vendor=keys.get("Vendor"),
        rollup_by_kernels=tuple(rollups) if len(rollups) > 1 else (),
        line=entry.line,
        attribute=keys.get("Attribute"),
    )


def _invariant_stub(current: dict[str, object], scope: str, path: str) -> Invariant:
    source = str(current.get("Source", ""))
    severity = str(current.get("Severity", "error"))
    where = f"{path}:{current['line']}"
    if severity not in ("error", "warning"):
        raise AbiError(f"{where}: :Severity: is error or warning")
    return Invariant(
        id=str(current["id"]),
        expr=str(current["expr"]),
        scope=frozenset({scope}),
        source=source.split(": ", 1)[0] if ": " in source else source,
        description=source,
        kernels=_kernels(str(current.get("Kernels", "all")), where),
        severity=severity,  # type: ignore[arg-type]
        line=int(current["line"]),  # type: ignore[call-overload]
        path=path,
    )


def _finish(invariants: list[Invariant], known: Iterable[str]) -> list[Invariant]:
    names = frozenset(known) | HEADER_NAMES | COMPUTED_NAMES | {"VmFlags", "prev"}
    done: list[Invariant] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for inv in invariants:
        where = f"{inv.path}:{inv.line}"
        if not re.fullmatch(r"[a-z][a-z0-9-]*", inv.id):
            raise AbiError(f"{where}: rule id {inv.id!r}: lowercase words joined by '-'")
        if (inv.id, inv.scope) in seen:
            raise AbiError(f"{where}: invariant {inv.id} is defined twice")
        seen.add((inv.id, inv.scope))
        if not inv.description:
            raise AbiError(f"{where}: invariant {inv.id} has no :Source:")
        try:
            read = read_expression(inv.expr, names)
        except ExpressionError as exc:
            raise AbiError(f"{where}: invariant expression: {exc}") from None
        done.append(
            Invariant(
                id=inv.id, expr=inv.expr, scope=inv.scope, source=inv.source,
                description=inv.description, kernels=inv.kernels, severity=inv.severity,
                names=read.names, python=read.python, uses_prev=read.uses_prev,
                line=inv.line, path=inv.path, order=read.order, caps=read.caps, gates=read.gates,
            )
        )  # fmt: skip
    return done


def _build(text_smaps: str, text_rollup: str) -> ABI:
    fields: dict[str, FieldSpec] = {}
    stubs: list[Invariant] = []
    _read(text_smaps, SMAPS_PATH, "smaps", fields, stubs)
    _read(text_rollup, ROLLUP_PATH, "smaps_rollup", fields, stubs)
    invariants = _finish(stubs, fields)
    for inv in invariants:
        for name in inv.fields:
            if inv.scope.isdisjoint(fields[name].scope):
                raise AbiError(
                    f"{inv.path}:{inv.line}: invariant {inv.id} names {name}, which "
                    f"{'/'.join(sorted(inv.scope))} never prints"
                )
    return ABI(fields=fields, invariants=invariants, files={"smaps": text_smaps,
               "smaps_rollup": text_rollup})  # fmt: skip


@functools.lru_cache(maxsize=1)
def _default() -> ABI:
    from .resources import read_text

    return _build(read_text(SMAPS_PATH), read_text(ROLLUP_PATH))


def load_fields() -> dict[str, FieldSpec]:
    """The fields of the shipped ABI document, without translating its invariants: what the
    model needs, read at less cost than :func:`load_abi` (whose fields they are)."""
    if _default.cache_info().currsize:
        return _default().fields
    return _fields_only()


@functools.lru_cache(maxsize=1)
def _fields_only() -> dict[str, FieldSpec]:
    from .resources import read_text

    fields: dict[str, FieldSpec] = {}
    stubs: list[Invariant] = []
    _read(read_text(SMAPS_PATH), SMAPS_PATH, "smaps", fields, stubs)
    _read(read_text(ROLLUP_PATH), ROLLUP_PATH, "smaps_rollup", fields, stubs)
    return fields


def load_abi(text_smaps: str | None = None, text_rollup: str | None = None) -> ABI:
    """The ABI document, read once; or, given the text of one or both files, that copy
    (the shipped file stands in for the one not given)."""
    if text_smaps is None and text_rollup is None:
        return _default()
    from .resources import read_text

    return _build(
        read_text(SMAPS_PATH) if text_smaps is None else text_smaps,
        read_text(ROLLUP_PATH) if text_rollup is None else text_rollup,
    )
