"""The one input layer of the command line: every command reads FILE (or ``-``) through it.

``open_input(name)`` gives an :class:`Input` that reads in pieces of 1 MiB and

* decompresses transparently what starts with the magic bytes of gzip (``1f 8b``, RFC 1952), xz
  (``fd 37 7a 58 5a 00``) or zstd (``28 b5 2f fd``, RFC 8878): gzip and xz with the standard
  library; zstd with ``compression.zstd`` (Python 3.14+) or else the ``zstandard`` package,
  the optional extra ``smapsfmt[zstd]`` (without either: a usage error saying what to install);
* holds no line longer than :data:`smapsfmt._limits.MAX_LINE`: reading stops at the first
  such line, a :class:`SmapsSyntaxError` located at its line and at column MAX_LINE + 1, so
  an endless input without a newline (``/dev/zero``) or a decompression bomb of such bytes ends
  at once instead of growing without bound;
* names a ``/proc/PID/maps`` file as such, in one error at line 1, instead of a syntax error
  per mapping.

An input that cannot be opened or read (or a corrupt compressed stream) is an
:class:`InputError` (exit 2), standard input closed included. This module imports no command
module.
"""

from __future__ import annotations

import functools
import io
import os
import re
import stat
import sys
from collections.abc import Iterator

from .._errors import SmapsSyntaxError
from .._limits import MAX_LINE, line_too_long

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["CHUNK", "Input", "InputError", "from_bytes", "open_input"]

CHUNK = 1 << 20

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"(\xb5/\xfd": "zstd",
}


# A mapping header as /proc/PID/maps and smaps print it (task_mmu.c show_map_vma): the maps
# file is these lines alone, smaps follows each with its field lines.
@functools.cache
def _header() -> re.Pattern[bytes]:
    from .._spec.header import prefix_pattern

    return re.compile(prefix_pattern(4))  # up to the offset (smapsfmt._spec.header)


class InputError(Exception):
    """An input that cannot be opened or read: exit status 2, a one-line message."""


class Input:
    """One input of a command, read in bounded pieces (see the module docstring)."""

    __slots__ = ("_handle", "_kind", "_lines", "_raw", "_tail", "head", "name")

    def __init__(self, name: str, raw: BinaryIO) -> None:
        self.name = name  # as messages show it: <stdin> for '-'
        self._raw = raw
        self._handle: BinaryIO | None = None
        self._kind = "plain"  # or the compression format read
        self.head = b""  # the first piece (decompressed): it shows the layout of the text
        self._tail = b""  # the start of the line that the last piece leaves open
        self._lines = 0  # newlines read so far

    def chunks(self, *, whole: bool = False) -> Iterator[bytes]:
        """The text in pieces, decompressed, each line checked against MAX_LINE. ``whole``: a
        plain regular file in one piece (its size bounds it; no copy to join pieces)."""
        handle = self._open_stream()
        size = -1 if whole and self._kind == "plain" and _regular(self._raw) else CHUNK
        while True:
            try:
                chunk = handle.read(size)
            except Exception as exc:  # noqa: BLE001 - OSError, or a decompressor's own type
                raise InputError(f"cannot read {self.name}: {self._reason(exc)}") from None
            if not chunk:
                return
            if not self.head:
                self.head = chunk
                _refuse_maps(chunk, self.name)
            self._bound(chunk, count=size != -1)
            yield chunk

    def read(self) -> bytes:
        """The whole text (bounded line by line as :meth:`chunks`)."""
        return b"".join(self.chunks(whole=True))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # never the file below it
        if self._raw is not _stdin():
            self._raw.close()

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        if self._kind == "plain":
            return str(exc) or type(exc).__name__
        return f"not valid {self._kind} data ({exc or type(exc).__name__})"

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_stream(self) -> BinaryIO:
        """The raw input, or a decompressing reader over it when its first bytes say so."""
        try:
            first = self._raw.read(8)
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {self._reason(exc)}") from None
        kind = next((k for magic, k in _MAGIC.items() if first.startswith(magic)), None)
        self._kind = kind or "plain"
        if kind is None:  # read as it is: from the start again if it can seek, with no copy
            if _regular(self._raw):
                try:
                    self._raw.seek(-len(first), io.SEEK_CUR)
                    return self._raw
                except (OSError, ValueError):
                    pass
            self._handle = _Plain(first, self._raw)  # type: ignore[assignment]
            return self._handle  # type: ignore[return-value]
        rest = io.BufferedReader(_Prefixed(first, self._raw), CHUNK)
        handle: BinaryIO = rest
        if kind == "gzip":
            import gzip

            handle = gzip.GzipFile(fileobj=rest, mode="rb")  # type: ignore[assignment]
        elif kind == "xz":
            import lzma

            handle = lzma.LZMAFile(rest)  # type: ignore[assignment]  # noqa: SIM115
        elif kind == "zstd":
            handle = _zstd_reader(rest, self.name)
        self._handle = handle
        return handle

    def _bound(self, chunk: bytes, *, count: bool = True) -> None:
        """Refuse a line longer than MAX_LINE: from each line start, a newline must come within
        MAX_LINE + 1 bytes. Jumps to the last newline of each such window: a few steps per
        piece, whatever the number of lines."""
        start = -len(self._tail)  # where the open line began, relative to this piece
        while True:
            window = start + MAX_LINE + 1
            if window > len(chunk):
                break
            newline = chunk.rfind(b"\n", max(start, 0), window)
            if newline < 0:
                text = self._tail + chunk[:window] if start < 0 else chunk[start:window]
                self._too_long(text, chunk, start)
            start = newline + 1
        if count:  # not for the one piece of a whole file: an error counts its own lines
            self._lines += chunk.count(b"\n")
        last = chunk.rfind(b"\n")
        if last < 0:
            self._tail = (self._tail + chunk)[: MAX_LINE + 1]
        else:
            self._tail = chunk[last + 1 : last + 2 + MAX_LINE]

    def _too_long(self, text: bytes, chunk: bytes, start: int) -> None:
        before = self._lines + chunk.count(b"\n", 0, max(start, 0))
        raise line_too_long(text, 0, first_line=before + 1, path=self.name)


class _Plain:
    """The bytes already read to learn the format, then the rest: read(n) as the file's."""

    def __init__(self, first: bytes, raw: BinaryIO) -> None:
        self._first = first
        self._raw = raw

    def read(self, size: int) -> bytes:
        if not self._first:
            return self._raw.read(size)
        first, self._first = self._first, b""
        return first + self._raw.read(size - len(first) if size >= 0 else -1)

    def close(self) -> None:
        """The file below is closed by Input.close."""


class _Prefixed(io.RawIOBase):
    """The bytes already read to learn the format, then the rest of the input."""

    def __init__(self, first: bytes, raw: BinaryIO) -> None:
        self._first = first
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._first:
            n = min(len(buffer), len(self._first))
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _zstd_reader(raw: BinaryIO, name: str) -> BinaryIO:
    try:  # Python 3.14+
        from compression import zstd  # type: ignore[import-not-found, unused-ignore]

        return zstd.ZstdFile(raw)  # type: ignore[no-any-return, unused-ignore]
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise InputError(
            f"cannot read {name}: it is zstd-compressed, and reading zstd needs Python 3.14 or "
            "the zstandard package: pip install 'smapsfmt[zstd]' (or decompress it first: "
            "zstd -dc FILE | smapsfmt COMMAND -)"
        ) from None
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return reader


def _refuse_maps(head: bytes, name: str) -> None:
    """A ``/proc/PID/maps`` text: its lines, as far as the first piece shows (up to 64 of
    them, at least 2), are all mapping headers; in smaps, field lines follow every header."""
    lines: list[bytes] = []
    start = 0
    while len(lines) < 64 and start < len(head):  # found in place: the piece is not copied
        end = head.find(b"\n", start)
        lines.append(head[start : start + 80 if end < 0 else min(end, start + 80)])
        start = len(head) if end < 0 else end + 1
    if len(lines) >= 2 and all(_header().match(line) for line in lines):
        raise SmapsSyntaxError(
            "this is a /proc/PID/maps file (mapping headers only, no field lines), not smaps "
            "or smaps_rollup: read /proc/PID/smaps instead",
            line=1,
            column=1,
            path=name,
        )


def check_head(handle: BinaryIO, name: str) -> None:
    """Refuse what the input layer refuses at a text's first piece (a /proc/PID/maps file),
    for a file on disk that is read in place rather than through an Input
    (smapsfmt._cli.output)."""
    head = handle.read(CHUNK)
    handle.seek(0)
    _refuse_maps(head, name)


def _regular(raw: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
    except (OSError, ValueError):  # io.UnsupportedOperation: bytes in memory
        return False


def _stdin() -> BinaryIO | None:
    return sys.stdin.buffer if sys.stdin is not None else None


def open_input(name: str) -> Input:
    """FILE, or standard input for ``-``; an InputError when it cannot be opened."""
    if name == "-":
        stdin = _stdin()
        if stdin is None:
            raise InputError("cannot read <stdin>: standard input is closed")
        return Input("<stdin>", stdin)
    try:
        raw = open(name, "rb", buffering=0)  # noqa: SIM115 - closed by Input.close
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if _regular(raw) and os.fstat(raw.fileno()).st_size > 0:  # a file on disk: full reads,
        return Input(name, raw)  # whole in one call or in pieces of CHUNK, with no buffer
    return Input(name, io.BufferedReader(raw, CHUNK))  # a pipe or a device: whole pieces


def from_bytes(data: bytes, name: str) -> Input:
    """An Input over bytes already read (a live process's text)."""
    return Input(name, io.BytesIO(data))
