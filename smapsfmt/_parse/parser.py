"""parse_smaps and parse_rollup: the grammar's verdict, turned into the model.

The input is bytes (str is encoded as UTF-8 first). It is decoded as latin-1, one character per
byte, so that the grammar sees every byte, columns count bytes, and pathnames come back as the
very bytes the kernel wrote.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from .. import _limits
from .._errors import SmapsSyntaxError
from .._model import KNOWN_FIELDS, Mapping, Rollup, Smaps
from .._spec import grammar as _grammar
from . import fast as _fast
from . import generic as _generic

if TYPE_CHECKING:
    import lark

    from .batch import Batch

__all__ = ["iter_smaps", "parse_rollup", "parse_smaps"]


def _surrogates(exc: UnicodeError) -> tuple[bytes, int]:
    """Encoding error handler for str input: a lone surrogate U+DC80..U+DCFF is the byte it
    stands for (PEP 383, as the JSON output writes non-UTF-8 bytes); any other lone surrogate
    is kept in its UTF-8 form ("surrogatepass"), so that no str input fails to encode."""
    assert isinstance(exc, UnicodeEncodeError)
    out = bytearray()
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        else:
            out += char.encode("utf-8", "surrogatepass")
    return bytes(out), exc.end


codecs.register_error("smapsfmt-surrogates", _surrogates)


def _bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "smapsfmt-surrogates")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes or str, not {type(data).__name__}")


def as_text(data: bytes | bytearray | memoryview | str) -> str:
    """The input as text, one character per byte (latin-1): what the grammar reads."""
    return _bytes(data).decode("latin-1")


def detect_kind(data: bytes | str) -> str:
    """``rollup`` when the first line is a ``[rollup]`` header, else ``smaps``."""
    if isinstance(data, bytes):
        end = data.find(b"\n")
        data = (data if end < 0 else data[:end]).decode("latin-1")
    end = data.find("\n")
    first = data if end < 0 else data[:end]  # not split: that would copy all the rest
    return "rollup" if first.rstrip(" ").endswith(" [rollup]") else "smaps"


def parse_smaps(data: bytes | str, *, path: str | None = None) -> Smaps:
    """Parse the text of a /proc/PID/smaps file.

    Returns a :class:`Smaps`, a sequence of :class:`Mapping`. An empty text is a valid smaps
    (a kernel thread's). Raises :class:`SmapsSyntaxError` with the line and column of the first
    thing that is not smaps syntax; ``path`` is used in its message.
    """
    raw = _bytes(data)
    return Smaps(
        mappings=tuple(_mappings(raw, path)), final_newline=raw.endswith(b"\n") or not raw
    )


def _mappings(raw: bytes, path: str | None, first_line: int = 1) -> list[Mapping]:
    """The mappings of ``raw``: the fast path takes the entries it recognises, the grammar
    decides the stretches it does not (and locates the error). A line longer than any kernel
    prints is an error at that line, unless the text before it has one."""
    long = _limits.first_long_line(raw)
    end = len(raw) if long is None else long
    try:
        mappings, _pos, _line, error = _scan(raw, end, path, first_line, final=True)
    except SmapsSyntaxError as exc:
        if long is None or exc.line < first_line + raw.count(b"\n", 0, long):
            raise
        error = exc  # at the long line: the end of the text before it
    if long is not None:
        raise _limits.line_too_long(raw, long, first_line=first_line, path=path)
    if error is not None:
        raise error
    return mappings  # type: ignore[return-value]


def _scan(  # noqa: PLR0917 - positional: one internal step of three callers
    raw: bytes,
    end: int,
    path: str | None,
    line: int,
    final: bool,
    batches: bool = False,
) -> tuple[list[Mapping | Batch], int, int, SmapsSyntaxError | None]:
    """The items of the whole entries of ``raw[:end]`` (``end``: the end of the text when
    ``final``, else the start of a header), where they end, the line there, and the first
    problem the models found (a field twice...: the grammar's own errors further on are
    reported first, as when the whole text is parsed, so it is returned, not raised; the items
    stop before it). Raises SmapsSyntaxError where the text is not smaps syntax. Stops early
    where only the text after ``end`` can decide a stretch."""
    out: list[Mapping | Batch] = []
    pos, error = 0, None
    while pos < end:
        items, pos, line = _fast.fast_prefix(raw, pos, end, line, batches=batches)
        if error is None:
            out += items
        if pos >= end:
            break
        stretch = _stretch(raw, pos, end, line, path, final=final, boundary=True)
        if stretch is None:
            break
        mappings, problem, pos, line = stretch
        if error is None:
            out += mappings
            error = problem
    return out, pos, line, error


def _stretch(
    raw: bytes,
    pos: int,
    end: int,
    line: int,
    path: str | None,
    *,
    final: bool,
    boundary: bool,
) -> tuple[list[Mapping], SmapsSyntaxError | None, int, int] | None:
    """The grammar's verdict on the entries from ``pos`` (line ``line``), the fewest whole
    entries it can decide alone: one line, then twice as many each time, each stretch cut
    before a header (``end`` is the end of the input when ``final``; a header when
    ``boundary``). The mappings, the first problem the models found, the end of the stretch
    and its line; None when the text after ``end`` may decide."""
    lines = 1
    while True:
        stop = _after_lines(raw, pos, end, lines)  # a line cut: errors before it are final
        cut = stop
        tokens, after = _tokens(raw, pos, stop, line, path, final and stop == end)
        if tokens is not None and stop < end:
            cut = _fast.next_header(raw, stop - 1, end)  # a header cut: so is success
            if cut != stop:
                tokens, after = _tokens(raw, pos, cut, line, path, final and cut == end)
        if tokens is None or (cut == end and not (final or boundary)):
            if cut == end:
                return None  # what follows the cut decides
            lines *= 2
            continue
        builder = _Builder(raw[pos:cut].decode("latin-1"), path, line - 1)
        mappings: list[Mapping] = []
        for entry in tokens:
            try:
                mappings.append(builder.mapping(entry))
            except SmapsSyntaxError as exc:
                return mappings, exc, cut, after
        return mappings, None, cut, after


def _tokens(  # noqa: PLR0917 - positional: one internal step
    raw: bytes, pos: int, stop: int, line: int, path: str | None, last: bool
) -> tuple[list[list[lark.Token]] | None, int]:
    """The grammar's entries of ``raw[pos:stop]`` (from line ``line``) and the line of
    ``stop``; None where the error is at ``stop`` (the text after it may decide), unless
    ``last``. Raises the error found before ``stop``: the text is read left to right, so it
    is the whole text's error too."""
    text = raw[pos:stop].decode("latin-1")
    after = line + text.count("\n")
    GRAMMAR_READ[0] += stop - pos
    try:
        return _parse(text, "smaps", path, line - 1), after
    except SmapsSyntaxError as exc:
        if exc.line < after or last:
            raise
        return None, after


GRAMMAR_READ = [0]  # bytes the grammar read for _scan since the import: the tests' view of it


def _after_lines(raw: bytes, pos: int, end: int, lines: int) -> int:
    """Where the line after ``lines`` lines from ``pos`` starts; ``end`` if sooner."""
    for _ in range(lines):
        found = raw.find(b"\n", pos, end)
        if found < 0:
            return end
        pos = found + 1
    return pos


def parse_smaps_by_grammar(data: bytes | str, *, path: str | None = None) -> Smaps:
    """:func:`parse_smaps` by the lark grammar alone, without the fast path: the normative
    reference the fast path is tested against."""
    text = as_text(data)
    mappings = _grammar_mappings(text, path, 1)
    return Smaps(mappings=tuple(mappings), final_newline=text.endswith("\n") or not text)


def _grammar_mappings(text: str, path: str | None, first_line: int) -> list[Mapping]:
    offset = first_line - 1
    builder = _Builder(text, path, offset)
    return [builder.mapping(tokens) for tokens in _parse(text, "smaps", path, offset)]


_CHUNK = 1 << 20


def iter_smaps(
    source: BinaryIO | Iterable[bytes], *, path: str | None = None
) -> Iterator[Mapping]:
    """Yield the mappings of a smaps read incrementally from ``source``: a binary file object
    (read in 1 MiB pieces) or an iterable of byte chunks.

    Holds a bounded amount of text and no more mappings than one piece contains, so a smaps of
    any size streams in constant memory. Mappings come out as soon as their entry is complete;
    a syntax error raises :class:`SmapsSyntaxError` with the same line and column as
    :func:`parse_smaps` would give, after the mappings before it have been yielded.

    Raises TypeError for a file open in text mode, at once, and for a ``read()`` that returns
    anything but bytes, when it does: open the file in binary mode (``open(path, "rb")``).
    """
    if isinstance(source, io.TextIOBase):
        raise TypeError(_TEXT_MODE.format("this file is open in text mode"))
    return _Stream(source, path)


_TEXT_MODE = (
    "iter_smaps reads bytes, but {}: open the file in binary mode "
    "(open(path, 'rb'), or sys.stdin.buffer)"
)


def _pieces(reader: BinaryIO) -> Iterator[bytes]:
    """The pieces ``reader.read`` returns, up to the end of the file (an empty piece)."""
    while True:
        piece = reader.read(_CHUNK)
        if not isinstance(piece, (bytes, bytearray, memoryview)):
            raise TypeError(_TEXT_MODE.format(f"read() returned {type(piece).__name__}"))
        if not piece:
            return
        yield piece


class _Stream(Iterator[Mapping]):
    """The iterator iter_smaps returns. :func:`smapsfmt.aggregate` and
    :func:`smapsfmt.check_rollup` read it through ``_batches()``: the same entries, runs of
    one shape as column Batches (smapsfmt._parse.batch) instead of one Mapping each."""

    def __init__(self, source: BinaryIO | Iterable[bytes], path: str | None) -> None:
        self._source = source
        self._path = path
        self._mappings: Iterator[Mapping] | None = None

    def __next__(self) -> Mapping:
        if self._mappings is None:
            self._mappings = _stream(self._source, self._path, batches=False)  # type: ignore[assignment]
        assert self._mappings is not None
        return next(self._mappings)

    def _batches(self) -> Iterator[Mapping | Batch]:
        if self._mappings is not None:  # iteration has begun: the rest, mapping by mapping
            return self._mappings
        self._mappings = iter(())  # the stream is consumed by this call
        return _stream(self._source, self._path, batches=True)


def _stream(
    source: BinaryIO | Iterable[bytes], path: str | None, *, batches: bool
) -> Iterator[Mapping | Batch]:
    chunks: Iterator[bytes]
    if hasattr(source, "read"):
        reader = cast("BinaryIO", source)
        chunks = _pieces(reader)
    else:
        chunks = iter(source)
    parts: list[bytes] = []  # the text not decided yet, joined only when it is read
    size = 0
    tail = 0  # the length of its last line so far (no newline yet)
    line = 1
    error: SmapsSyntaxError | None = None  # the models' first problem (see _scan)
    retry = 0  # an undecided stretch is read again once the text holds this much
    for piece in chunks:
        if not piece:
            continue
        chunk = _bytes(piece)
        parts.append(chunk)
        size += len(chunk)
        newline = chunk.find(b"\n")
        if newline < 0:
            tail += len(chunk)
        elif (
            tail + newline > _limits.MAX_LINE
            or _limits.first_long_line(chunk, newline + 1) is not None
        ):
            break  # _last reports it, or an error before it
        else:
            tail = len(chunk) - chunk.rfind(b"\n") - 1
        if tail > _limits.MAX_LINE:
            break
        if size < retry:
            continue
        pending = parts[0] if len(parts) == 1 else b"".join(parts)
        first = pending.find(b"\n") + 1
        if first and not _fast.is_header(pending, first):
            # Not the start of an entry (no smaps at all): refused now, at that line.
            _stretch(pending, 0, first, line, path, final=False, boundary=False)
        cut = _fast.split_complete(pending)
        if cut == 0:
            # No whole entry yet: lines that cannot follow its header are refused now.
            decided = pending.rfind(b"\n") + 1
            if decided and _generic.entry(pending, 0, decided, line) is None:
                _stretch(pending, 0, decided, line, path, final=False, boundary=False)
            retry = 2 * size
            parts = [pending]
            continue
        items, pos, line, problem = _scan(pending, cut, path, line, False, batches)
        if error is None:
            yield from items
            error = problem
        retry = 2 * size if pos < cut else 0
        parts = [pending[pos:]]
        size = len(parts[0])
    pending = b"".join(parts)
    yield from _last(pending, path, line, batches, error)


def _last(
    pending: bytes, path: str | None, line: int, batches: bool, error: SmapsSyntaxError | None
) -> Iterator[Mapping | Batch]:
    """The end of a stream: ``pending`` (from line ``line``) is the rest of the input, or its
    text up to a line longer than any kernel prints, and what follows is not read."""
    long = _limits.first_long_line(pending)
    end = len(pending) if long is None else long
    try:
        items, _pos, _line, problem = _scan(pending, end, path, line, True, batches)
    except SmapsSyntaxError as exc:
        if long is None or exc.line < line + pending.count(b"\n", 0, long):
            raise
        items, problem = [], None  # at the long line: the end of the text before it
    if error is None:
        yield from items
        error = problem
    if long is not None:
        raise _limits.line_too_long(pending, long, first_line=line, path=path)
    if error is not None:
        raise error


def parse_rollup(data: bytes | str, *, path: str | None = None) -> Rollup:
    """Parse the text of a /proc/PID/smaps_rollup file (Linux 4.14+).

    Raises :class:`SmapsSyntaxError` when the text is not one ``[rollup]`` entry.
    """
    raw = _bytes(data)
    long = _limits.first_long_line(raw)
    if long is not None:
        # The text before that line may have an error of its own, first.
        try:
            _rollup(raw[:long], path)
        except SmapsSyntaxError as exc:
            if exc.line <= raw.count(b"\n", 0, long):
                raise
        raise _limits.line_too_long(raw, long, path=path)
    # A sampler calls this again and again on a few hundred bytes: one call into the fast path.
    found = _fast.fast_rollup(raw)
    return found if found is not None else _rollup(raw, path)


def parse_rollup_by_grammar(data: bytes | str, *, path: str | None = None) -> Rollup:
    """:func:`parse_rollup` by the lark grammar alone (the fast path's reference)."""
    return _rollup(_bytes(data), path)


def _rollup(raw: bytes, path: str | None) -> Rollup:
    if not raw:
        raise SmapsSyntaxError(
            "empty input: a smaps_rollup has one entry, starting with its [rollup] header",
            line=1,
            column=1,
            path=path,
        )
    text = raw.decode("latin-1")
    builder = _Builder(text, path)
    tokens = _parse(text, "rollup", path)[0]
    header = builder.header(tokens[0])
    if header["pathname"] != b"[rollup]":
        column = _pathname_column(tokens[0])
        raise builder.error(
            builder.line(tokens[0]),
            column,
            "the smaps_rollup header must name [rollup] (task_mmu.c 4.14+ "
            "show_smaps_rollup); is this a smaps file?",
        )
    for token in tokens[1:]:
        if token.type in ("VMFLAGS_LINE", "NAME_LINE"):
            what = "VmFlags" if token.type == "VMFLAGS_LINE" else "Name"
            raise builder.error(
                builder.line(token),
                1,
                f"a {what} line in smaps_rollup: the kernel prints none there",
            )
    fields, unknown = builder.fields(tokens[1:])
    return Rollup(
        **header, fields=fields, unknown_lines=unknown, final_newline=text.endswith("\n")
    )


# --- building the model ----------------------------------------------------------------------


class _Builder:
    """Builds models from the tokens of ``text``, which starts at line ``offset + 1`` of the
    input."""

    def __init__(self, text: str, path: str | None, offset: int = 0) -> None:
        self.text = text
        self.path = path
        self.offset = offset
        patterns = _grammar.line_patterns()
        self.header_match = patterns["HEADER"].regex.match

    def line(self, token: lark.Token) -> int:
        """The token's line in the whole input."""
        return _line(token) + self.offset

    def error(self, line: int, column: int, msg: str) -> SmapsSyntaxError:
        """An error at ``line`` of the whole input."""
        return SmapsSyntaxError(
            msg, line=line, column=column,
            source_line=_source_line(self.text, line - self.offset),
            path=self.path,
        )  # fmt: skip

    def header(self, token: lark.Token) -> dict[str, Any]:
        match = self.header_match(token)
        assert match is not None, "the grammar accepted this header"
        major, minor = match["device"].split(":")
        pathname = match["pathname"] or ""
        device = match.start("device")
        return {
            "line": self.line(token),
            "start": int(match["start"], 16),
            "end": int(match["end"], 16),
            "perms": match["perms"],
            "offset": self.hexadecimal(
                token, match["offset"], match.start("offset"), "the offset"
            ),
            "major": self.hexadecimal(token, major, device, "the device major"),
            "minor": self.hexadecimal(token, minor, device + len(major) + 1, "the device minor"),
            "inode": self.decimal(token, match["inode"], match.start("inode"), "the inode"),
            "pathname": pathname.lstrip(" ").encode("latin-1"),
        }

    def hexadecimal(self, token: lark.Token, digits: str, start: int, what: str) -> int:
        """``int(digits, 16)``, or a located error for a number too long for Python to print
        in decimal (see _fast.MAX_HEX_DIGITS)."""
        if len(digits) > _fast.MAX_HEX_DIGITS:
            raise self.error(
                self.line(token), start + 1,
                f"{what} has {len(digits)} hex digits: far beyond any number the kernel prints",
            )  # fmt: skip
        return int(digits, 16)

    def decimal(self, token: lark.Token, digits: str, start: int, what: str) -> int:
        """``int(digits)``, or a located error where Python refuses the conversion (more than
        sys.get_int_max_str_digits() digits, 4300 by default)."""
        try:
            return int(digits)
        except ValueError:
            raise self.error(
                self.line(token), start + 1,
                f"{what} has {len(digits)} digits: far beyond any number the kernel prints "
                "(a 64-bit counter has at most 20)",
            ) from None  # fmt: skip

    def fields(self, tokens: list[lark.Token]) -> tuple[dict[str, int], tuple[str, ...]]:
        values: dict[str, int] = {}
        unknown: list[str] = []
        for token in tokens:
            label, _, rest = token.partition(":")
            if label in values:
                first = next(self.line(t) for t in tokens if t.partition(":")[0] == label)
                raise self.error(
                    self.line(token), 1, f"field {label!r} appears twice in one entry (first at "
                    f"line {first})",
                )  # fmt: skip
            digits = rest.split()[0]
            start = token.index(digits, len(label) + 1)
            values[label] = self.decimal(token, digits, start, f"the value of {label!r}")
            if label not in KNOWN_FIELDS:
                unknown.append(token.rstrip("\n"))
        return values, tuple(unknown)

    def mapping(self, tokens: list[lark.Token]) -> Mapping:
        header = self.header(tokens[0])
        name: bytes | None = None
        name_after = False
        vmflags: tuple[str, ...] | None = None
        body = tokens[1:]
        if body and body[0].type == "NAME_LINE":
            name = _name_value(body[0])
            body = body[1:]
        if body and body[-1].type == "NAME_LINE":
            if name is not None:
                raise self.error(self.line(body[-1]), 1, "a second Name line in one entry")
            name = _name_value(body[-1])
            name_after = True
            body = body[:-1]
        if body and body[-1].type == "VMFLAGS_LINE":
            vmflags = tuple(body[-1][len("VmFlags:") :].split())
            body = body[:-1]
        fields, unknown = self.fields(body)
        return Mapping(
            **header,
            fields=fields,
            unknown_lines=unknown,
            vmflags=vmflags,
            name=name,
            name_after_fields=name_after,
        )


def _line(token: lark.Token) -> int:
    assert token.line is not None, "lark counts lines"
    return token.line


def _name_value(token: lark.Token) -> bytes:
    value = token[len("Name:") :].lstrip(" \t")
    if value.endswith("\n"):
        value = value[:-1]
    return value.encode("latin-1")


def _pathname_column(token: lark.Token) -> int:
    match = _grammar.line_patterns()["HEADER"].regex.match(token)
    assert match is not None
    if match["pathname"] is None:
        return len(token.rstrip("\n")) + 1
    start = match.start("pathname")
    return start + len(match["pathname"]) - len(match["pathname"].lstrip(" ")) + 1


def _source_line(text: str, line: int) -> str:
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found < 0:
            return ""
        start = found + 1
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


# --- turning lark's errors into located messages ----------------------------------------------


def _parse(text: str, start: str, path: str | None, offset: int = 0) -> list[list[lark.Token]]:
    """The tokens of each entry, one token per line; SmapsSyntaxError where the text is not
    in the grammar's language."""
    import lark

    try:
        tree = _grammar.parser().parse(text, start=start)
        return [cast("list[lark.Token]", entry.children) for entry in tree.children]  # type: ignore[union-attr]
    except lark.exceptions.UnexpectedCharacters as exc:
        line_text = _source_line(text, exc.line)
        column, msg = _diagnose_line(line_text)
        raise SmapsSyntaxError(
            msg, line=exc.line + offset, column=column, source_line=line_text, path=path
        ) from None
    except lark.exceptions.UnexpectedToken as exc:
        line, column, msg = _unexpected_token(text, start, exc, offset)
        raise SmapsSyntaxError(
            msg,
            line=line + offset,
            column=column,
            source_line=_source_line(text, line),
            path=path,
        ) from None
    except lark.exceptions.UnexpectedInput as exc:  # pragma: no cover - other lark errors
        line = max(getattr(exc, "line", 1), 1)
        raise SmapsSyntaxError(
            "not smaps syntax", line=line + offset, column=max(getattr(exc, "column", 1), 1),
            source_line=_source_line(text, line), path=path,
        ) from None  # fmt: skip


_KIND = {
    "HEADER": "a mapping header",
    "KB_FIELD": "a field line",
    "PLAIN_FIELD": "a field line",
    "VMFLAGS_LINE": "the VmFlags line",
    "NAME_LINE": "a Name line",
    "$END": "the end of the input",
}


def _unexpected_token(
    text: str, start: str, exc: lark.exceptions.UnexpectedToken, offset: int
) -> tuple[int, int, str]:
    """Local line and column of an unexpected line, and the message (which names lines of the
    whole input: ``offset`` is added to local line numbers)."""
    token = exc.token
    kinds = {_KIND.get(name, name) for name in exc.expected}
    expected = sorted(kinds, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k))
    found = _KIND.get(token.type, token.type)
    if token.type == "$END":
        lines = text.split("\n")
        if lines[-1]:  # no final newline: the end is after the last character
            line, column = len(lines), len(lines[-1]) + 1
        else:
            line, column = len(lines), 1
        header = _last_header_line(lines) + offset
        return (
            line,
            column,
            (
                f"unexpected end of the input: the mapping header at line {header} has no field "
                "lines"
            ),
        )
    line, column = token.line, token.column
    if token.type in ("KB_FIELD", "PLAIN_FIELD"):
        label = token.partition(":")[0]
        found = f"the field line {label!r}"
    if start == "rollup" and token.type == "HEADER":
        return line, column, "a second entry: a smaps_rollup has exactly one"
    hint = ""
    if token.type == "HEADER" and "a field line" in expected:
        hint = "; the entry above has no field lines"
    elif token.type in ("KB_FIELD", "PLAIN_FIELD") and "a field line" not in expected:
        hint = (
            "; every entry starts with a header 'START-END PERMS OFFSET MAJOR:MINOR INODE [NAME]'"
            if line == 1
            else "; the VmFlags line ends an entry"
        )
    elif token.type == "VMFLAGS_LINE":
        hint = "; an entry has one VmFlags line, after its fields"
    elif token.type == "NAME_LINE":
        hint = "; the Name line comes right after the header or ends the entry"
    return line, column, f"expected {' or '.join(expected)}, found {found}{hint}"


def _last_header_line(lines: list[str]) -> int:
    header = _grammar.line_patterns()["HEADER"].regex
    for index in range(len(lines) - 1, -1, -1):
        if header.match(lines[index]):
            return index + 1
    return 1  # pragma: no cover - $END is only unexpected right after a header


_ORDER = ["a field line", "a mapping header", "the VmFlags line", "a Name line"]

_HEX_RUN = re.compile(r"[0-9A-Fa-f]*")
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*:")


def _diagnose_line(line: str) -> tuple[int, str]:
    """Column and message for a line that is none of the four kinds of line."""
    if line.endswith("\r"):
        return len(line), (
            "carriage return before the newline: the kernel ends lines with \\n alone "
            "(was the file converted to CRLF line endings?)"
        )
    if not line:
        return 1, "empty line: the kernel prints none"
    if line.startswith("VmFlags:"):
        return _diagnose_vmflags(line)
    label = _LABEL.match(line)
    if label:
        return _diagnose_field(line, label.group()[:-1], label.end())
    run = _HEX_RUN.match(line)
    if run and run.end() and line[run.end() : run.end() + 1] == "-":
        return _diagnose_header(line)
    if run and len(run.group()) >= 8 and not line[run.end() :].startswith(":"):
        return _diagnose_header(line)
    return 1, (
        "not a smaps line: expected a mapping header 'START-END PERMS OFFSET MAJOR:MINOR "
        "INODE [NAME]', a field line 'Name: VALUE kB', a VmFlags line or a Name line"
    )


_HEADER_PART_MESSAGES = {
    "start": "expected the start address: 8 to 16 lowercase hex digits",
    "end": "expected the end address: 8 to 16 lowercase hex digits",
    "perms": "expected the permissions: r or -, w or -, x or -, then s or p",
    "offset": "expected the file offset: lowercase hex digits",
    "device": "expected the device MAJOR:MINOR: two or more lowercase hex digits each",
    "inode": "expected the inode number: decimal digits",
}


def _diagnose_header(line: str) -> tuple[int, str]:
    pattern = _grammar.line_patterns()["HEADER"]
    pos = 0
    previous = "the start address"
    for group, regex in pattern.parts:
        if group == "?":
            match = re.compile(regex).match(line, pos)
            if match is None or not match.group():
                if pos < len(line) and line[pos] != " ":
                    return pos + 1, "expected a blank after the inode number"
            else:
                pos = match.end()
            continue
        if group is None and regex == _grammar.terminal_regexps()["EOL"]:
            if pos < len(line):
                if line[pos] == "\x00":
                    return pos + 1, "NUL byte in the mapping name"
                return pos + 1, "unexpected text at the end of the header"
            return len(line) + 1, "invalid header"  # pragma: no cover - grammar accepted it
        match = re.compile(regex).match(line, pos)
        if match is None:
            if group is None:
                literal = re.sub(r"\\(.)", r"\1", regex)
                shown = "a blank" if literal == " " else repr(literal)
                return pos + 1, f"expected {shown} after {previous}"
            return pos + 1, _header_part_problem(group, line, pos)
        if group in ("start", "end"):
            digits = _HEX_RUN.match(line, pos)
            assert digits is not None
            if digits.end() > match.end():
                return pos + 1, _header_part_problem(group, line, pos)
        if group:
            previous = {
                "start": "the start address", "end": "the end address",
                "perms": "the permissions", "offset": "the offset", "device": "the device",
                "inode": "the inode number",
            }[group]  # fmt: skip
        pos = match.end()
    return 1, "invalid mapping header"  # pragma: no cover - the grammar accepted it


def _header_part_problem(group: str, line: str, pos: int) -> str:
    msg = _HEADER_PART_MESSAGES[group]
    if group in ("start", "end", "offset", "device"):
        digits = _HEX_RUN.match(line, pos)
        assert digits is not None
        run = digits.group()
        if run != run.lower():
            return f"{msg} (the kernel prints hex in lowercase)"
        if group in ("start", "end") and run:
            if len(run) < 8:
                return f"{msg}, found {len(run)}"
            if len(run) > 16:
                return f"{msg}, found {len(run)}"
    found = line[pos:].split(" ", 1)[0][:20]
    return f"{msg}, found {found!r}" if found else f"{msg}, found the end of the line"


def _diagnose_field(line: str, label: str, pos: int) -> tuple[int, str]:
    if label == "Name":
        return pos + 1, "expected blanks after 'Name:', then the mapping name"
    blanks = re.compile(r"[ \t]*").match(line, pos)
    assert blanks is not None
    if not blanks.group():
        return pos + 1, f"expected blanks between '{label}:' and its value"
    pos = blanks.end()
    digits = re.compile(r"[0-9]*").match(line, pos)
    assert digits is not None
    if not digits.group():
        found = line[pos : pos + 12]
        if found.startswith("-"):
            return pos + 1, f"negative value for {label!r}: the kernel prints unsigned decimals"
        what = repr(found) if found else "the end of the line"
        return pos + 1, f"expected a decimal value after '{label}:', found {what}"
    pos = digits.end()
    rest = line[pos:]
    if rest[:1].isalnum():
        word = line[digits.start() :].split(" ", 1)[0][:20]
        return pos + 1, f"expected a decimal value after '{label}:', found {word!r}"
    if rest.startswith(" kB"):
        return pos + 4, f"unexpected text after '{label}:' value and its unit ' kB'"
    if rest.lower().startswith((" kb", " mb", " gb", " b")) or rest.startswith(" "):
        return pos + 1, f"expected ' kB' or the end of the line after the value of {label!r}"
    return pos + 1, f"expected ' kB' or the end of the line after the value of {label!r}"


def _diagnose_vmflags(line: str) -> tuple[int, str]:
    pos = len("VmFlags:")
    while pos < len(line):
        if line[pos] != " ":
            word = line[pos - 2 :].split(" ", 1)[0][:20]
            return pos + 1, f"VmFlags mnemonics have two characters, found {word!r}"
        pos += 1
        if pos == len(line):
            break
        flag = line[pos : pos + 2]
        if len(flag) < 2 or not all("!" <= c <= "~" for c in flag):
            return pos + 1, (
                f"expected a two-character VmFlags mnemonic, found {line[pos : pos + 4]!r}"
            )
        pos += 2
    return len(line) + 1, "invalid VmFlags line"  # pragma: no cover
