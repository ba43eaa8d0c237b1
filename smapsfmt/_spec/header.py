"""The mapping header, part by part, read from a kernel profile's printf format.

A profile's ``header`` directive is the kernel's own format of the header up to the name
(``"%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "``: show_map_vma, later
show_vma_header_prefix, fs/proc/task_mmu.c 2.6.20 to 6.18). This module cuts it into parts: the
literal before each part, its conversions (flag, width, length, kind), and, from the order of
the kernel's arguments, which attribute of a mapping it prints. Everything that says what a
header looks like is built here from that one format:

* the grammar's header terminals (``grammar/smaps.lark``'s ``HEADER``, ``ADDRESS``, ``PERMS``...:
  :func:`grammar_rules`; the grammar file's own lines are replaced by these, and a test holds the
  file to them) and the order of the parser's header groups (:func:`header_spec`);
* the parser's message for each part (:attr:`HeaderPart.expected`, keyed by conversion and part);
* the validator's exact pattern of each part as the kernel prints it (:attr:`HeaderPart.exact`)
  and its message for a part printed otherwise (:func:`layout_messages`).

What a printf format cannot say is kept by part name, with its source: the letters of the
permissions, the names the messages use, and the bits of a device number.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from .profiles import CONVERSION, Profile, ProfileError

__all__ = [
    "Conversion",
    "ExactHeader",
    "HeaderPart",
    "address_text",
    "device_template",
    "entry_starts",
    "exact_header",
    "exact_number",
    "grammar_rules",
    "header_groups",
    "header_parts",
    "header_spec",
    "header_words",
    "hex_pattern",
    "layout_messages",
    "parser_format",
    "parser_parts",
    "perms_pattern",
    "prefix_pattern",
    "python_template",
    "value_format",
]


@dataclass(frozen=True, slots=True)
class Conversion:
    """One printf conversion: ``%08lx`` is zero-padded, 8 wide, length ``l``, kind ``x``."""

    zero: bool
    width: int
    length: str
    kind: str

    @property
    def text(self) -> str:
        return f"%{'0' if self.zero else ''}{self.width or ''}{self.length}{self.kind}"

    @property
    def python(self) -> str:
        """This conversion as Python's ``format()`` spec: ``%08llx`` is ``08x``, ``%lu`` is
        ``d`` (Python has no length modifiers; a ``%c`` prints one letter, ``s``)."""
        kind = {"x": "x", "c": "s", "s": "s"}.get(self.kind, "d")
        return f"{'0' if self.zero else ''}{self.width or ''}{kind}"

    @property
    def max_digits(self) -> int:
        """The most digits a value of this conversion has on a 64-bit kernel: 16 hex or 20
        decimal digits for a long or a u64; for a plain ``%x``, as many as its part's bits
        allow (see :data:`_BITS`), else 8."""
        if self.length in ("l", "ll"):
            return 16 if self.kind == "x" else 20
        return 8 if self.kind == "x" else 10


# The attributes of a mapping that the header prints, in the order of the kernel's arguments to
# the format (task_mmu.c 6.18 show_vma_header_prefix: start, end, the four flag letters, pgoff
# in bytes, MAJOR(dev), MINOR(dev), ino; the same order since 2.6.20's show_map).
_ARGUMENTS = ("start", "end", "perms", "offset", "major", "minor", "inode")

# The letters each %c of the permissions prints: VM_READ 'r', VM_WRITE 'w', VM_EXEC 'x', or
# '-'; then VM_MAYSHARE 's', else 'p' (task_mmu.c 2.6.20..6.18).
_PERMS = (("r", "-"), ("w", "-"), ("x", "-"), ("s", "p"))

# How many bits a device number's major and minor have: dev_t is 12 + 20 bits
# (include/linux/kdev_t.h MINORBITS 20), so at most 3 and 5 hex digits.
_BITS = {"major": 12, "minor": 20}

# How a message names each part: after "expected", and after "a blank after".
_NAMES = {
    "start": ("the start address", "the start address"),
    "end": ("the end address", "the end address"),
    "perms": ("the permissions", "the permissions"),
    "offset": ("the file offset", "the offset"),
    "device": ("the device MAJOR:MINOR", "the device"),
    "inode": ("the inode number", "the inode number"),
}

_TERMINALS = {"start": "ADDRESS", "end": "ADDRESS", "perms": "PERMS", "offset": "OFFSET",
              "device": "DEVICE", "inode": "INODE"}  # fmt: skip

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


@dataclass(frozen=True, slots=True)
class HeaderPart:
    """One part of the header: ``name`` (a mapping attribute, ``device`` for MAJOR:MINOR), the
    literal printed before it, its conversions, and the literal between them (``:``)."""

    name: str
    before: str
    conversions: tuple[Conversion, ...]
    joiner: str = ""

    @property
    def kind(self) -> str:
        """``hex``, ``decimal``, ``text`` (a run of %c) or ``device`` (two hex joined)."""
        if self.name == "device":
            return "device"
        kind = self.conversions[0].kind
        return {"x": "hex", "c": "text"}.get(kind, "decimal")

    @property
    def format(self) -> str:
        return self.joiner.join(c.text for c in self.conversions)

    @property
    def title(self) -> str:
        return _NAMES[self.name][0]

    @property
    def short(self) -> str:
        return _NAMES[self.name][1]

    @property
    def terminal(self) -> str:
        return _TERMINALS[self.name]

    @property
    def bounded(self) -> bool:
        """The grammar takes this part's digits between its width and its most digits (the
        range's addresses: a header is told from other lines by them); other numbers take any
        count of digits there (the validator checks the width)."""
        return self.kind == "hex" and self.conversions[0].length == "l"

    def _width(self) -> int:
        return self.conversions[0].width

    def grammar_regex(self) -> str:
        """What the grammar takes for this part (lenient about widths, strict about digits)."""
        if self.kind == "text":
            letters = _perms(len(self.conversions))
            return "".join(f"[{''.join(pair)}]" for pair in letters)
        if self.kind == "decimal":
            return "[0-9]+"
        if self.bounded:
            return f"[0-9a-f]{{{self._width()},{self.conversions[0].max_digits}}}"
        if self.kind == "device":
            return f"[0-9a-f]{{{self.conversions[0].width},}}"
        return "[0-9a-f]+"

    def exact(self) -> str:
        """This part exactly as the kernel prints it, one group per value (the device's major
        and minor, two): zero-padded to its width, no more leading zeros, at most its most
        digits (a device number's, from its bits)."""
        if self.kind == "text":
            return (
                "(" + "".join(f"[{''.join(pair)}]" for pair in _perms(len(self.conversions))) + ")"
            )
        names = ("major", "minor") if self.kind == "device" else (self.name,)
        pieces = []
        for conversion, name in zip(self.conversions, names, strict=True):
            most = -(-_BITS[name] // 4) if name in _BITS else conversion.max_digits
            pieces.append(f"({exact_number(conversion, most)})")
        return re.escape(self.joiner).join(pieces)

    def taken(self) -> str:
        """The whole part as the grammar takes it (the device's two numbers and their ":")."""
        if self.kind == "device":
            return re.escape(self.joiner).join([self.grammar_regex()] * len(self.conversions))
        return self.grammar_regex()

    @property
    def expected(self) -> str:
        """The parser's message for this part not as the grammar takes it."""
        if self.kind == "text":
            letters = [" or ".join(pair) for pair in _perms(len(self.conversions))]
            shown = ", ".join(letters[:-1]) + ", then " + letters[-1]
            return f"expected {self.title}: {shown}"
        if self.kind == "decimal":
            return f"expected {self.title}: decimal digits"
        if self.bounded:
            low, high = self._width(), self.conversions[0].max_digits
            count = f"{low} to {high}" if low < high else f"{low}"
            return f"expected {self.title}: {count} lowercase hex digits"
        if self.kind == "device":
            width = self.conversions[0].width
            return (
                f"expected {self.title}: {_WORDS.get(width, str(width))} or more lowercase hex "
                "digits each"
            )
        return f"expected {self.title}: lowercase hex digits"


def _perms(count: int) -> tuple[tuple[str, str], ...]:
    if count != len(_PERMS):
        raise ProfileError(
            f"the header prints {count} permission letters; the kernel prints {len(_PERMS)}"
        )
    return _PERMS


def exact_number(conversion: Conversion, most: int) -> str:
    """A number as ``conversion`` prints it, as a regex without groups: ``%08lx`` is 8 digits
    with leading zeros, or more without (up to ``most``); ``%lu`` has no leading zero but the
    zero itself."""
    digit = "[0-9a-f]" if conversion.kind == "x" else "[0-9]"
    first = "[1-9a-f]" if conversion.kind == "x" else "[1-9]"
    width = max(conversion.width, 1)
    if not conversion.zero or width == 1:
        return f"(?:0|{first}{digit}{{0,{most - 1}}})"
    rest = digit if width == 2 else f"{digit}{{{width - 1}}}"
    return f"(?:0{rest}|{first}{digit}{{{width - 1},{most - 1}}})"


@dataclass(frozen=True, slots=True)
class ExactHeader:
    """A header exactly as a profile's kernel prints it, for the validator's fast path:
    ``address`` (no group), ``range`` (start and end, two groups, and the literal after),
    ``tail`` (the parts after the range, one group each: perms, offset, major, minor, inode,
    then the literal before the name)."""

    address: str
    range: str
    tail: str
    literals: int  # the characters of the range's literals ("-" and " ")


@functools.lru_cache(maxsize=8)
def exact_header(fmt: str) -> ExactHeader:
    parts = header_parts(fmt)
    start, end, *rest = parts
    if start.exact() != end.exact():
        raise ProfileError(f"the header format {fmt!r}: start and end are printed alike")
    address = exact_number(start.conversions[0], start.conversions[0].max_digits)
    after = rest[0].before if rest else " "
    tail = "".join((re.escape(p.before) if i else "") + p.exact() for i, p in enumerate(rest))
    return ExactHeader(
        address=address,
        range=f"({address}){re.escape(end.before)}({address}){re.escape(after)}",
        tail=tail + " ",
        literals=len(end.before) + len(after),
    )


@functools.lru_cache(maxsize=8)
def header_parts(fmt: str) -> tuple[HeaderPart, ...]:
    """The parts of a header printf format, in order; ProfileError for a format that does not
    print the kernel's arguments (:data:`_ARGUMENTS`) as conversions this module knows."""
    conversions = list(CONVERSION.finditer(fmt))
    if len(conversions) != len(_ARGUMENTS) + len(_PERMS) - 1:
        raise ProfileError(f"the header format {fmt!r} does not print the kernel's arguments")
    if fmt[conversions[-1].end() :] != " ":
        raise ProfileError(f"the header format {fmt!r} ends in one blank before the name")
    arguments = [*_ARGUMENTS[:2], *["perms"] * len(_PERMS), *_ARGUMENTS[3:]]
    parts: list[HeaderPart] = []
    pos = 0
    index = 0
    while index < len(conversions):
        name = arguments[index]
        group = [conversions[index]]
        if name == "perms":
            group = conversions[index : index + len(_PERMS)]
        elif name == "major":
            group = conversions[index : index + 2]
            name = "device"
        before = fmt[pos : group[0].start()]
        joiner = fmt[group[0].end() : group[-1].start()] if name == "device" else ""
        for earlier, later in itertools.pairwise(group):
            between = fmt[earlier.end() : later.start()]
            if between != joiner:
                raise ProfileError(f"the header format {fmt!r}: {name} is printed in one piece")
        parts.append(
            HeaderPart(
                name=name,
                before=before,
                conversions=tuple(
                    Conversion(m.group(1) == "0", int(m.group(2) or 0), m.group(3), m.group(4))
                    for m in group
                ),
                joiner=joiner,
            )
        )
        pos = group[-1].end()
        index += len(group)
    if not parts[0].before == "" or any(not p.before for p in parts[1:]):
        raise ProfileError(f"the header format {fmt!r}: its parts are separated")
    return tuple(parts)


def parser_format() -> str:
    """The header format the parser takes: the newest mainline profile's (every profile
    prints the same one, kernel/*.profile)."""
    from .layout import newest_profile

    return newest_profile().header


def parser_parts() -> tuple[HeaderPart, ...]:
    """The header's parts as the parser takes them (:func:`parser_format`)."""
    return header_parts(parser_format())


def header_spec() -> tuple[object, ...]:
    """The grammar's HEADER line as smapsfmt._spec.grammar composes it: each part's group and
    terminal, the literals between, then the optional blank and name, and the end of line."""
    items: list[object] = []
    for part in parser_parts():
        if part.before:
            items.append(part.before)
        if part.kind == "device" or part.name not in ("start", "end"):
            items.append((part.name, part.terminal))
        else:
            items.append((part.name, "ADDRESS"))
    items.append(("?", (" ", ("pathname", "PATHNAME"))))
    items.append((None, "EOL"))
    return tuple(items)


def grammar_rules() -> dict[str, str]:
    """The grammar's header terminals (name: definition) as the parser's format gives them."""
    parts = parser_parts()
    pieces = []
    rules: dict[str, str] = {}
    for part in parts:
        if part.before:
            pieces.append(_lark_literal(part.before))
        pieces.append(part.terminal)
        if part.kind == "device":
            widths = {c.width for c in part.conversions}
            if len(widths) != 1:
                raise ProfileError("the device's major and minor are printed alike")
            rules[part.terminal] = f"HEX2 {_lark_literal(part.joiner)} HEX2"
            rules["HEX2"] = f"/{part.grammar_regex()}/"
            continue
        regex = f"/{part.grammar_regex()}/"
        if rules.setdefault(part.terminal, regex) != regex:
            raise ProfileError(f"the header's {part.terminal} parts are printed alike")
    header = " ".join(pieces) + ' (" " PATHNAME)? EOL'
    return {"HEADER": header, **rules}


def _lark_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def layout_messages(profile: Profile) -> list[str]:
    """The validator's message for each blank-separated group of ``profile``'s header printed
    otherwise than the kernel prints it (the range, ``%08lx-%08lx``, is one group)."""
    groups: list[list[HeaderPart]] = []
    for part in header_parts(profile.header):
        if part.before == " " or not groups:
            groups.append([part])
        else:
            groups[-1].append(part)
    messages = []
    for group in groups:
        first = group[0]
        shown = first.format + "".join(p.before + p.format for p in group[1:])
        noun = _LAYOUT_NOUNS[first.name]
        width = first.conversions[0].width
        if first.kind == "text":
            messages.append(f"expected {noun}")
        elif first.kind == "decimal":
            messages.append(f"expected {noun} as {shown}: decimal, no leading zeros")
        elif first.bounded:
            messages.append(
                f"expected {noun} as {shown}: lowercase hex, at least {width} digits, no extra "
                "leading zeros"
            )
        else:
            each = " each" if first.kind == "device" else ""
            messages.append(
                f"expected {noun} as {shown}: at least {width} hex digits{each}, no extra "
                "leading zeros"
            )
    return messages


# How the validator's layout messages name each group of the header (by its first part).
_LAYOUT_NOUNS = {"start": "the addresses", "perms": "the permissions", "offset": "the offset",
                 "device": "the device", "inode": "the inode"}  # fmt: skip


@functools.lru_cache(maxsize=8)
def prefix_pattern(count: int) -> bytes:
    """The first ``count`` parts of a header and the literal after them, as the grammar takes
    them (a regex over bytes, no groups): for tools that find headers in a text without parsing
    it (``prefix_pattern(2)`` is ``START-END ``)."""
    parts = parser_parts()
    source = "".join(re.escape(p.before) + p.taken() for p in parts[:count])
    after = parts[count].before if count < len(parts) else " "
    return (source + re.escape(after)).encode("latin-1")


@functools.lru_cache(maxsize=8)
def header_groups(count: int | None = None) -> bytes:
    """The header's parts as the grammar takes them, one group each (the device's two numbers
    one group), with the literals between, as a regex over bytes: for tools that read back the
    text of each part of a header the parser accepted (the conformance kit's decoder). With
    ``count``, only the first ``count`` parts and the literal after them (``header_groups(2)``
    is ``(START)-(END) ``)."""
    parts = parser_parts()
    source = "".join(re.escape(p.before) + f"({p.taken()})" for p in parts[:count])
    if count is not None and count < len(parts):
        source += re.escape(parts[count].before)
    return source.encode("latin-1")


def header_words() -> str:
    """The header's shape in words, for messages: ``START-END PERMS OFFSET MAJOR:MINOR INODE
    [NAME]``, from the parser's format."""
    words = []
    for part in parser_parts():
        word = part.joiner.join(("MAJOR", "MINOR")) if part.kind == "device" else part.name.upper()
        words.append(part.before + word)
    return "".join(words) + " [NAME]"


def address_text(value: int) -> str:
    """An address as the header prints it (``%08lx``: the newest profile's start)."""
    return format(value, value_format("start"))


@functools.lru_cache(maxsize=16)
def value_format(name: str) -> str:
    """The ``format()`` spec of one value of the header as the parser's format prints it:
    ``start``, ``end``, ``offset`` (``08x``), ``major``, ``minor`` (``02x``), ``inode``
    (``d``). The JSON output's hex strings and the device text are printed with it."""
    for part in parser_parts():
        if part.kind == "device" and name in ("major", "minor"):
            return part.conversions[("major", "minor").index(name)].python
        if part.name == name and part.kind in ("hex", "decimal"):
            return part.conversions[0].python
    raise ValueError(f"the header prints no number called {name!r}")


def python_template(fmt: str) -> str:
    """The header format ``fmt`` as a Python ``%`` template over start, end, the permissions
    (one string), offset, major, minor and inode, its last blank included:
    ``"%08x-%08x %s %08x %02x:%02x %d "`` for the kernel's."""
    out = []
    for part in header_parts(fmt):
        if part.kind == "text":
            out.append(part.before.replace("%", "%%") + "%s")
            continue
        texts = ["%" + c.python for c in part.conversions]
        out.append(part.before.replace("%", "%%") + part.joiner.replace("%", "%%").join(texts))
    return "".join(out) + " "


@functools.cache
def device_template() -> str:
    """The device as a Python ``%`` template over major and minor (``%02x:%02x``)."""
    part = next(p for p in parser_parts() if p.kind == "device")
    return part.joiner.replace("%", "%%").join("%" + c.python for c in part.conversions)


@functools.lru_cache(maxsize=4)
def hex_pattern(name: str) -> str:
    """The JSON Schema pattern of a hex value of the header (``start``, ``end``, ``offset``) in
    smapsfmt's JSON: lowercase hex, at least as many digits as the format pads it to
    (``^[0-9a-f]{8,}$`` for ``%08lx``)."""
    spec = value_format(name)
    if not spec.endswith("x"):
        raise ValueError(f"the header prints {name!r} in decimal")
    width = int(spec[:-1] or "1")
    return f"^[0-9a-f]{{{width},}}$"


@functools.cache
def perms_pattern() -> str:
    """The permissions as a pattern over the whole text (``^[r-][w-][x-][sp]$``): the letters
    the parser's format prints (task_mmu.c, see :data:`_PERMS`)."""
    part = next(p for p in parser_parts() if p.kind == "text")
    return f"^{part.grammar_regex()}$"


@functools.cache
def entry_starts() -> re.Pattern[str]:
    """Where a line may start an entry, for cutting text the parser refuses into entries:
    hex digits in either case, at least half as many as the start address is padded to, then
    the literal after the start (``^[0-9a-fA-F]{4,}-`` for ``%08lx-``). Lenient on purpose: a
    header printed wrong in its digits still starts an entry of its own, reported alone."""
    start, end = parser_parts()[:2]
    least = max(start.conversions[0].width // 2, 1)
    return re.compile(f"^[0-9a-fA-F]{{{least},}}{re.escape(end.before)}", re.M)
