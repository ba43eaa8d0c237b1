"""parse_smaps and parse_rollup: the fast path's entries and the grammar's verdict, as models.

The input is bytes (str is encoded as UTF-8 first). It is decoded as latin-1, one character per
byte, so that the grammar sees every byte, columns count bytes, and pathnames come back as the
very bytes the kernel wrote. The fast path (``fast.py``) takes the entries it recognises; the
lark grammar decides the stretches it does not, and locates their errors (``diagnose.py``).
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

from .. import _limits
from .._errors import SmapsSyntaxError
from .._model import Mapping, Rollup, Smaps
from .._spec.layout import rollup_name, rollup_name_text
from . import fast as _fast
from .boundaries import next_header
from .build import Builder, pathname_column
from .diagnose import grammar_tokens
from .fast_rollup import fast_rollup

if TYPE_CHECKING:
    import lark

    from .batch import Batch

__all__ = [
    "GRAMMAR_READ", "as_bytes", "as_text", "detect_kind", "grammar_mappings", "mappings_of",
    "parse_rollup",
    "parse_rollup_by_grammar", "parse_smaps", "parse_smaps_by_grammar", "scan", "stretch",
]  # fmt: skip


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


def as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "smapsfmt-surrogates")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes or str, not {type(data).__name__}")


def as_text(data: bytes | bytearray | memoryview | str) -> str:
    """The input as text, one character per byte (latin-1): what the grammar reads."""
    return as_bytes(data).decode("latin-1")


def detect_kind(data: bytes | str) -> str:
    """``rollup`` when the first line is a ``[rollup]`` header, else ``smaps``."""
    if isinstance(data, bytes):
        end = data.find(b"\n")
        data = (data if end < 0 else data[:end]).decode("latin-1")
    end = data.find("\n")
    first = data if end < 0 else data[:end]  # not split: that would copy all the rest
    named = first.rstrip(" ")
    # The rollup's name is read from the profiles only for a first line that could end in it.
    if named.endswith("]") and named.endswith(" " + rollup_name_text()):
        return "rollup"
    return "smaps"


def parse_smaps(data: bytes | str, *, path: str | None = None) -> Smaps:
    """Parse the text of a /proc/PID/smaps file.

    Returns a :class:`Smaps`, a sequence of :class:`Mapping`. An empty text is a valid smaps
    (a kernel thread's). Raises :class:`SmapsSyntaxError` with the line and column of the first
    thing that is not smaps syntax; ``path`` is used in its message.
    """
    raw = as_bytes(data)
    return Smaps(
        mappings=tuple(mappings_of(raw, path)), final_newline=raw.endswith(b"\n") or not raw
    )


def mappings_of(raw: bytes, path: str | None, first_line: int = 1) -> list[Mapping]:
    """The mappings of ``raw``: the fast path takes the entries it recognises, the grammar
    decides the stretches it does not (and locates the error). A line longer than any kernel
    prints is an error at that line, unless the text before it has one."""
    long = _limits.first_long_line(raw)
    end = len(raw) if long is None else long
    try:
        mappings, _pos, _line, error = scan(raw, end, path, first_line, final=True)
    except SmapsSyntaxError as exc:
        if long is None or exc.line < first_line + raw.count(b"\n", 0, long):
            raise
        error = exc  # at the long line: the end of the text before it
    if long is not None:
        raise _limits.line_too_long(raw, long, first_line=first_line, path=path)
    if error is not None:
        raise error
    return mappings  # type: ignore[return-value]


def scan(  # noqa: PLR0917 - positional: one internal step of three callers
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
        decided = stretch(raw, pos, end, line, path, final=final, boundary=True)
        if decided is None:
            break
        mappings, problem, pos, line = decided
        if error is None:
            out += mappings
            error = problem
    return out, pos, line, error


def stretch(
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
            cut = next_header(raw, stop - 1, end)  # a header cut: so is success
            if cut != stop:
                tokens, after = _tokens(raw, pos, cut, line, path, final and cut == end)
        if tokens is None or (cut == end and not (final or boundary)):
            if cut == end:
                return None  # what follows the cut decides
            lines *= 2
            continue
        builder = Builder(raw[pos:cut].decode("latin-1"), path, line - 1)
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
        return grammar_tokens(text, "smaps", path, line - 1), after
    except SmapsSyntaxError as exc:
        if exc.line < after or last:
            raise
        return None, after


GRAMMAR_READ = [0]  # bytes the grammar read for scan since the import: the tests' view of it


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
    mappings = grammar_mappings(text, path, 1)
    return Smaps(mappings=tuple(mappings), final_newline=text.endswith("\n") or not text)


def grammar_mappings(text: str, path: str | None, first_line: int) -> list[Mapping]:
    offset = first_line - 1
    builder = Builder(text, path, offset)
    return [builder.mapping(tokens) for tokens in grammar_tokens(text, "smaps", path, offset)]


def parse_rollup(data: bytes | str, *, path: str | None = None) -> Rollup:
    """Parse the text of a /proc/PID/smaps_rollup file (Linux 4.14+).

    Raises :class:`SmapsSyntaxError` when the text is not one ``[rollup]`` entry.
    """
    raw = data if type(data) is bytes else as_bytes(data)
    # Only a text longer than the bound can hold a line longer than it (a sampler's few
    # hundred bytes are not looked through).
    long = _limits.first_long_line(raw) if len(raw) > _limits.MAX_LINE else None
    if long is not None:
        # The text before that line may have an error of its own, first.
        try:
            _rollup(raw[:long], path)
        except SmapsSyntaxError as exc:
            if exc.line <= raw.count(b"\n", 0, long):
                raise
        raise _limits.line_too_long(raw, long, path=path)
    # A sampler calls this again and again on a few hundred bytes: one call into the fast path.
    found = fast_rollup(raw)
    return found if found is not None else _rollup(raw, path)


def parse_rollup_by_grammar(data: bytes | str, *, path: str | None = None) -> Rollup:
    """:func:`parse_rollup` by the lark grammar alone (the fast path's reference)."""
    return _rollup(as_bytes(data), path)


def _rollup(raw: bytes, path: str | None) -> Rollup:
    if not raw:
        raise SmapsSyntaxError(
            f"empty input: a smaps_rollup has one entry, starting with its {rollup_name_text()} "
            "header",
            line=1,
            column=1,
            path=path,
        )
    text = raw.decode("latin-1")
    builder = Builder(text, path)
    tokens = grammar_tokens(text, "rollup", path)[0]
    header = builder.header(tokens[0])
    if header["pathname"] != rollup_name():
        column = pathname_column(tokens[0])
        raise builder.error(
            builder.line(tokens[0]),
            column,
            f"the smaps_rollup header must name {rollup_name_text()} (task_mmu.c 4.14+ "
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
