"""The output of ``smapsfmt parse``: the model as text or JSON, written mapping by mapping.

A smaps is never held whole, neither as models nor as output. Its input is a seekable binary
file (a regular file, or the bytes of any other input in memory), read twice through
:func:`smapsfmt.iter_smaps`: once to check it, so that a syntax error is reported before any
output and with nothing printed before it (as when the text is parsed whole), then again to
write each mapping as it comes. A text whose two reads differ (the file was rewritten in
between) is reported by the second read as the first would have.

The JSON is written by hand, byte for byte what ``json.dumps(to_jsonable(model), indent=1)``
gives (ASCII, strings escaped by the encoder ``json.dumps`` itself uses); the text is what each
entry prints. tests/test_output.py holds both equal to those references on the whole corpus.
Field blocks are laid out once per entry shape (the same labels in the same order) and filled
by one ``%`` per mapping.
"""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import BinaryIO

from ._model import KNOWN_FIELDS, UNITLESS_FIELDS, Mapping, Rollup, Smaps, to_jsonable
from ._parser import detect_kind, iter_smaps, parse_rollup

__all__ = ["TextSmaps", "in_memory", "open_plain", "parse_source", "text_entry", "write_model"]

Write = Callable[[str], None]

_CHUNK = 1 << 20  # bytes read at a time, as iter_smaps reads a file
_FLUSH = 1 << 16  # characters of output gathered before a write
_CACHE = 4096  # entry shapes (and VmFlags sets) whose layout is kept; cleared when full
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
    """The mappings of a smaps whose text has been checked whole: each iteration reads the
    text again and yields its mappings; ``final_newline`` is known after an iteration."""

    def __init__(self, source: BinaryIO, path: str) -> None:
        self._source = source
        self._path = path
        self.final_newline = True

    def __iter__(self) -> Iterator[Mapping]:
        return iter_smaps(self._chunks(), path=self._path)

    def check(self) -> None:
        """Read the whole text once; raise its first syntax error, as parse_smaps does."""
        for _ in iter_smaps(self._chunks(), path=self._path)._batches():  # type: ignore[attr-defined]
            pass

    def _chunks(self) -> Iterator[bytes]:
        self._source.seek(0)
        last = b""
        while chunk := self._source.read(_CHUNK):
            last = chunk[-1:]
            yield chunk
        self.final_newline = last in (b"", b"\n")  # as parse_smaps: empty text counts


def parse_source(source: BinaryIO, kind: str, path: str) -> TextSmaps | Rollup:
    """The parsed input: a Rollup, or for a smaps a checked :class:`TextSmaps`. ``kind`` is
    ``auto``, ``smaps`` or ``rollup``, as parse's ``--kind``. Raises SmapsSyntaxError."""
    if kind == "auto":
        source.seek(0)
        kind = detect_kind(source.readline())
    if kind == "rollup":
        source.seek(0)
        return parse_rollup(source.read(), path=path)
    smaps = TextSmaps(source, path)
    smaps.check()
    return smaps


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


class _Buffer:
    """Output gathered into writes of about _FLUSH characters."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._parts: list[str] = []
        self._size = 0

    def add(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._write("".join(self._parts))
            self._parts = []
            self._size = 0


def _write_smaps_text(smaps: Iterable[Mapping], write: Write) -> None:
    out = _Buffer(write)
    count = 0
    for mapping in smaps:
        out.add(text_entry(mapping) + "\n")
        count += 1
    out.add(f"# {count} mapping{'s' if count != 1 else ''}\n")
    out.flush()


def _write_smaps_json(smaps: Smaps | TextSmaps, write: Write) -> None:
    out = _Buffer(write)
    out.add('{\n "mappings": [')
    separator = "\n"
    for mapping in smaps:
        out.add(separator)
        out.add(json_mapping(mapping))
        separator = ",\n"
    out.add("]" if separator == "\n" else "\n ]")  # json.dumps writes an empty list as []
    out.add(f',\n "final_newline": {"true" if smaps.final_newline else "false"}\n}}\n')
    out.flush()


# --- one entry ------------------------------------------------------------------------------


def _string(value: str) -> str:
    return encode_basestring_ascii(value)


def _raw_string(value: bytes) -> str:
    # As the model's JSON serializer writes bytes: UTF-8, other bytes as lone surrogates.
    return encode_basestring_ascii(value.decode("utf-8", "surrogateescape"))


def _string_list(values: Iterable[str], indent: str) -> str:
    """A list of strings as json.dumps(indent=1) writes it at the depth of ``indent``."""
    items = [_string(value) for value in values]
    if not items:
        return "[]"
    inner = indent + " "
    return "[\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "]"


_json_fields: dict[tuple[str, ...], str] = {}
_json_vmflags: dict[tuple[str, ...], str] = {}


def _json_fields_layout(labels: tuple[str, ...]) -> str:
    """The ``fields`` object of one entry shape at depth 3, a ``%d`` for each value."""
    layout = _json_fields.get(labels)
    if layout is None:
        if len(_json_fields) >= _CACHE:
            _json_fields.clear()
        if labels:
            lines = [f"    {_string(label).replace('%', '%%')}: %d" for label in labels]
            layout = "{\n" + ",\n".join(lines) + "\n   }"
        else:
            layout = "{}"
        _json_fields[labels] = layout
    return layout


def _json_flags(vmflags: tuple[str, ...]) -> str:
    """The ``vmflags`` list at depth 3 (a process has few distinct sets: each is kept)."""
    text = _json_vmflags.get(vmflags)
    if text is None:
        if len(_json_vmflags) >= _CACHE:
            _json_vmflags.clear()
        text = _json_vmflags[vmflags] = _string_list(vmflags, "   ")
    return text


def json_mapping(m: Mapping) -> str:
    """One mapping as ``json.dumps(to_jsonable(smaps), indent=1)`` writes it in the list of
    mappings: from its ``{`` to its ``}``, without the separator before or after."""
    fields = m.fields
    block = _json_fields_layout(tuple(fields)) % tuple(fields.values())
    flags = "null" if m.vmflags is None else _json_flags(m.vmflags)
    unknown = _string_list(m.unknown_lines, "   ") if m.unknown_lines else "[]"
    name = "null" if m.name is None else _raw_string(m.name)
    return (
        f'  {{\n   "line": {m.line},\n   "start": "{m.start:08x}",\n   "end": "{m.end:08x}",\n'
        f'   "perms": {_string(m.perms)},\n   "offset": "{m.offset:08x}",\n'
        f'   "major": {m.major},\n   "minor": {m.minor},\n   "inode": {m.inode},\n'
        f'   "pathname": {_raw_string(m.pathname)},\n   "fields": {block},\n'
        f'   "unknown_lines": {unknown},\n   "vmflags": {flags},\n   "name": {name},\n'
        f'   "name_after_fields": {"true" if m.name_after_fields else "false"}\n  }}'
    )


_text_fields: dict[object, str] = {}


def _text_fields_layout(labels: tuple[str, ...], unknown_kb: frozenset[str]) -> str:
    """The field lines of one entry shape, a ``%9d`` for each value: each label padded to the
    longest label's width, then the unit (``kB`` where the kernel prints it); a field the
    specification does not know (its unit as its line had it) marked as such."""
    key = (labels, unknown_kb) if unknown_kb else labels
    layout = _text_fields.get(key)
    if layout is None:
        if len(_text_fields) >= _CACHE:
            _text_fields.clear()
        width = max((len(label) for label in labels), default=0) + 1
        lines = []
        for label in labels:
            padded = f"  {label + ':':<{width}}".replace("%", "%%")
            if label in KNOWN_FIELDS:
                lines.append(padded + ("%9d" if label in UNITLESS_FIELDS else "%9d kB"))
            else:
                unit = " kB" if label in unknown_kb else ""
                lines.append(f"{padded}%9d{unit}   (not in the specification)")
        layout = _text_fields[key] = "".join(f"\n{line}" for line in lines)
    return layout


def text_entry(entry: Mapping | Rollup) -> str:
    """One entry as ``smapsfmt parse`` prints it, without the final newline: the header's
    parts, the Name line, the fields, the VmFlags."""
    text = entry.header_text()
    name = getattr(entry, "name", None)
    if name is not None:
        text += f"\n  Name: {name.decode('utf-8', 'backslashreplace')}"
    fields = entry.fields
    unknown_kb: frozenset[str] = frozenset()
    if entry.unknown_lines:  # a vendor field has kB where its line ended in kB
        unknown_kb = frozenset(
            raw.split(":", 1)[0] for raw in entry.unknown_lines if raw.endswith(" kB")
        )
    text += _text_fields_layout(tuple(fields), unknown_kb) % tuple(fields.values())
    vmflags = getattr(entry, "vmflags", None)
    if vmflags is not None:
        text += f"\n  VmFlags: {' '.join(vmflags)}"
    return text
