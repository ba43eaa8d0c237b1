"""The output of ``smapsfmt parse``: the model as text or JSON, written mapping by mapping.

A smaps is never held whole, neither as models nor as output. Its input is a seekable binary
file (a regular file, or the bytes of any other input in memory), read once through
:func:`smapsfmt.iter_smaps`; each mapping is written as it comes to a spool (memory up to the
input's size, then a temporary file), which reaches standard output only once the whole text
has parsed: a syntax error is reported with nothing printed before it, as when the text was
parsed whole.

The JSON is written by hand, byte for byte what ``json.dumps(to_jsonable(model), indent=1)``
gives (ASCII, strings escaped by the encoder ``json.dumps`` itself uses); the text is what
parse always printed. tests/test_output.py holds both equal to those references on the whole
corpus, C and pure-Python paths. Each mapping's header is formatted by one ``%``; its fields
block, which real processes repeat from one mapping to many others, is laid out once for each
distinct set of labels and values.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any, BinaryIO

from .._limits import MAX_LINE
from .._model import Mapping, Rollup, Smaps, known_fields, to_jsonable, unitless_fields
from .._parse.parser import detect_kind, parse_rollup
from .._parse.stream import iter_smaps

__all__ = [
    "TextSmaps", "in_memory", "open_plain", "parse_source", "text_entry", "write_checked",
    "write_model",
]  # fmt: skip

Write = Callable[[str], None]

_CHUNK = 1 << 18  # bytes read at a time: about 350 mappings' worth
_FLUSH = 1 << 16  # characters of output gathered before a write
_CACHE = 4096  # field blocks, names, VmFlags sets kept, of each kind; cleared when full
_HEX_START = frozenset(b"0123456789abcdef")


# --- input --------------------------------------------------------------------------------


def open_plain(name: str | None) -> BinaryIO | None:
    """FILE opened for two reads, when it is a regular file whose text starts as a kernel's
    does (an address: a lowercase hex digit); else None, and the input is read as one piece
    by the caller's usual means (standard input, /proc files, whose size is 0 and whose text
    changes from one read to the next, devices, pipes, compressed or empty files; the reasons
    a file cannot be read are reported there too)."""
    if name is None or name == "-":
        return None
    try:
        # stat before open: opening a FIFO would block, and closing it would end its writer.
        if not stat.S_ISREG(os.stat(name).st_mode):
            return None
        handle = open(name, "rb")  # noqa: SIM115 - the caller's to close
    except OSError:
        return None
    try:
        info = os.fstat(handle.fileno())
        first = handle.peek(1)[:1]
        if stat.S_ISREG(info.st_mode) and info.st_size > 0 and first and first[0] in _HEX_START:
            return handle
    except OSError:
        pass
    handle.close()
    return None


def in_memory(data: bytes) -> BinaryIO:
    """The bytes of an input read as one piece, as a file that can be read twice."""
    return io.BytesIO(data)


class TextSmaps(Iterable[Mapping]):
    """The mappings of a smaps text: each iteration reads the text and yields its mappings,
    raising its first syntax error where it is met; ``final_newline`` is known after an
    iteration."""

    def __init__(self, source: BinaryIO, path: str) -> None:
        self._source = source
        self._path = path
        self.final_newline = True

    def __iter__(self) -> Iterator[Mapping]:
        return iter_smaps(self._chunks(), path=self._path)

    def _chunks(self) -> Iterator[bytes]:
        self._source.seek(0)
        last = b""
        while chunk := self._source.read(_CHUNK):
            last = chunk[-1:]
            yield chunk
        self.final_newline = last in (b"", b"\n")  # as parse_smaps: empty text counts


def parse_source(source: BinaryIO, kind: str, path: str) -> TextSmaps | Rollup:
    """The parsed input: a Rollup, or for a smaps a :class:`TextSmaps` to write with
    :func:`write_checked`. ``kind`` is ``auto``, ``smaps`` or ``rollup``, as parse's ``--kind``.
    Raises SmapsSyntaxError."""
    if kind == "auto":
        source.seek(0)
        # A first line longer than any kernel prints is no [rollup] header: read no further.
        kind = detect_kind(source.readline(MAX_LINE + 1))
    if kind == "rollup":
        source.seek(0)
        return parse_rollup(source.read(), path=path)
    return TextSmaps(source, path)


# --- output -------------------------------------------------------------------------------


def write_model(model: Smaps | TextSmaps | Rollup, fmt: str, write: Write) -> None:
    """Write ``model`` as ``smapsfmt parse --format FMT`` prints it."""
    if isinstance(model, Rollup):
        if fmt == "json":
            write(json.dumps(to_jsonable(model), indent=1) + "\n")
        else:
            write(text_entry(model) + "\n")
    elif fmt == "json":
        _write_smaps_json(model, write)
    else:
        _write_smaps_text(model, write)


def write_checked(model: TextSmaps | Rollup, fmt: str, write: Write, budget: int) -> None:
    """Write ``model`` as :func:`write_model` does, but only once it has parsed whole: until
    then the output is spooled, in memory up to half of ``budget`` (the input's size), then
    in a temporary file. A syntax error leaves nothing written."""
    if isinstance(model, Rollup):
        write_model(model, fmt, write)
        return
    with tempfile.SpooledTemporaryFile(
        max_size=max(budget // 2, _FLUSH), mode="w+", encoding="utf-8", errors="surrogatepass"
    ) as spool:

        def keep(text: str) -> None:
            spool.write(text)

        write_model(model, fmt, keep)
        spool.seek(0)
        while piece := spool.read(_CHUNK):
            write(piece)


def _write_smaps_text(smaps: Iterable[Mapping], write: Write) -> None:
    parts: list[str] = []
    size = count = 0
    for mapping in smaps:
        text = text_entry(mapping)
        parts.append(text)
        size += len(text)
        count += 1
        if size >= _FLUSH:
            write("\n".join(parts) + "\n")
            parts = []
            size = 0
    parts.append(f"# {count} mapping{'s' if count != 1 else ''}\n")
    write("\n".join(parts))


def _write_smaps_json(smaps: Smaps | TextSmaps, write: Write) -> None:
    write('{\n "mappings": [')
    separator = "\n"  # before the next piece of the list
    parts: list[str] = []
    size = 0
    for mapping in smaps:
        text = json_mapping(mapping)
        parts.append(text)
        size += len(text)
        if size >= _FLUSH:
            write(separator + ",\n".join(parts))
            separator = ",\n"
            parts = []
            size = 0
    if parts:
        write(separator + ",\n".join(parts))
        separator = ",\n"
    end = "]" if separator == "\n" else "\n ]"  # json.dumps writes an empty list as []
    write(f'{end},\n "final_newline": {"true" if smaps.final_newline else "false"}\n}}\n')


# --- one entry ------------------------------------------------------------------------------
# Layouts, names and flag sets repeat from one mapping to the next: each is made once and
# kept, up to _CACHE of a kind (then they are made again), so that any input costs linear time.


def _kept(cache: dict[Any, str], key: Any, make: Callable[[Any], str]) -> str:
    text = cache.get(key)
    if text is None:
        if len(cache) >= _CACHE:
            cache.clear()
        text = cache[key] = make(key)
    return text


def _string(value: str) -> str:
    return encode_basestring_ascii(value)


def _json_raw(value: bytes) -> str:
    """Bytes as the model's JSON serializer writes them: UTF-8, other bytes as lone
    surrogates (PEP 383), then escaped to ASCII by json's own encoder."""
    return encode_basestring_ascii(value.decode("utf-8", "surrogateescape"))


def _json_strings(values: Iterable[str]) -> str:
    """A list of strings as json.dumps(indent=1) writes it as a mapping's value."""
    items = [_string(value) for value in values]
    if not items:
        return "[]"
    return "[\n    " + ",\n    ".join(items) + "\n   ]"


def _json_block(key: tuple[tuple[str, ...], tuple[int, ...]]) -> str:
    """The ``fields`` object of a mapping (its labels and values), as json.dumps(indent=1)
    writes it there."""
    labels, values = key
    if not labels:
        return "{}"
    lines = [f"    {_string(label)}: {value}" for label, value in zip(labels, values, strict=True)]
    return "{\n" + ",\n".join(lines) + "\n   }"


# Each entry's header is one ``%`` of a template made once, on first use, from the newest
# profile's printf format (smapsfmt._spec.header): the JSON's hex strings as the header pads them
# (``%08x``), the text's header as the kernel's format without its length modifiers.
_HEADS: dict[str, str] = {}


def _head(kind: str) -> str:
    from .._spec.header import parser_format, python_template, value_format

    if kind == "text":  # the name (one blank, then it) or nothing, for the format's last blank
        _HEADS[kind] = python_template(parser_format()).removesuffix(" ") + "%s"
    else:
        start, end, offset = (value_format(name) for name in ("start", "end", "offset"))
        _HEADS[kind] = (
            '  {\n   "line": %d,\n'
            f'   "start": "%{start}",\n   "end": "%{end}",\n   "perms": %s,\n'
            f'   "offset": "%{offset}",\n   "major": %d,\n   "minor": %d,\n   "inode": %d,\n'
            '   "pathname": %s,\n   "fields": '
        )
    return _HEADS[kind]


_json_blocks: dict[Any, str] = {}
_json_paths: dict[Any, str] = {}
_json_flags: dict[Any, str] = {}


def json_mapping(m: Mapping) -> str:
    """One mapping as ``json.dumps(to_jsonable(smaps), indent=1)`` writes it in the list of
    mappings: from its ``{`` to its ``}``, without the separator before or after."""
    fields = m.fields
    block = _kept(_json_blocks, (tuple(fields), tuple(fields.values())), _json_block)
    head = (_HEADS.get("json") or _head("json")) % (
        m.line, m.start, m.end, _string(m.perms), m.offset, m.major, m.minor, m.inode,
        _kept(_json_paths, m.pathname, _json_raw),
    )  # fmt: skip
    unknown = _json_strings(m.unknown_lines) if m.unknown_lines else "[]"
    flags = "null" if m.vmflags is None else _kept(_json_flags, m.vmflags, _json_strings)
    name = "null" if m.name is None else _json_raw(m.name)
    return (
        f'{head}{block},\n   "unknown_lines": {unknown},\n   "vmflags": {flags},\n'
        f'   "name": {name},\n   "name_after_fields": '
        f"{'true' if m.name_after_fields else 'false'}\n  }}"
    )


def _text_block(key: tuple[tuple[str, ...], tuple[int, ...], frozenset[str]]) -> str:
    """The field lines of an entry as parse prints them: each label padded to the longest
    label's width, the value in 9 columns, then the unit (``kB`` where the kernel prints it);
    a field the specification does not know (its unit as its line had it) marked so."""
    labels, values, unknown_kb = key
    width = max((len(label) for label in labels), default=0) + 1
    lines = []
    known, unitless = known_fields(), unitless_fields()
    for label, value in zip(labels, values, strict=True):
        if label in known:
            unit = "" if label in unitless else " kB"
            lines.append(f"\n  {label + ':':<{width}}{value:>9}{unit}")
        else:
            unit = " kB" if label in unknown_kb else ""
            lines.append(
                f"\n  {label + ':':<{width}}{value:>9}{unit}   (not in the specification)"
            )
    return "".join(lines)


def _text_path(pathname: bytes) -> str:
    return " " + pathname.decode("utf-8", "backslashreplace") if pathname else ""


def _text_flags(vmflags: tuple[str, ...]) -> str:
    return "\n  VmFlags: " + " ".join(vmflags)


_text_blocks: dict[Any, str] = {}
_text_paths: dict[Any, str] = {}
_text_flag_lines: dict[Any, str] = {}


def text_entry(entry: Mapping | Rollup) -> str:
    """One entry as ``smapsfmt parse`` prints it, without the final newline: the header's
    parts separated by single blanks, the Name line, the fields, the VmFlags line."""
    fields = entry.fields
    unknown_kb: frozenset[str] = frozenset()
    if entry.unknown_lines:  # a vendor field has kB where its line ended in kB
        unknown_kb = frozenset(
            raw.split(":", 1)[0] for raw in entry.unknown_lines if raw.endswith(" kB")
        )
    block = _kept(_text_blocks, (tuple(fields), tuple(fields.values()), unknown_kb), _text_block)
    text = (_HEADS.get("text") or _head("text")) % (
        entry.start, entry.end, entry.perms, entry.offset, entry.major, entry.minor,
        entry.inode, _kept(_text_paths, entry.pathname, _text_path),
    )  # fmt: skip
    name = getattr(entry, "name", None)
    if name is not None:
        text += "\n  Name: " + name.decode("utf-8", "backslashreplace")
    vmflags = getattr(entry, "vmflags", None)
    flags = "" if vmflags is None else _kept(_text_flag_lines, vmflags, _text_flags)
    return text + block + flags
