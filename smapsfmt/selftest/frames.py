"""Decoding the shaper's output: frames of /proc files, and one record per shape.

The shaper (``shaper.c`` beside this module) prints, for each shape::

    @@smapsfmt-shaper 1 BEGIN SHAPE PID FILE LENGTH SHA256
    <LENGTH raw bytes of /proc/PID/FILE>
    @@smapsfmt-shaper 1 END SHAPE FILE
    @@smapsfmt-shaper 1 SHAPE SHAPE key=value ...

with one ``KERNEL`` line first and one ``DONE`` line last. Anything else in the stream (the
messages of a kernel booting on the same serial console) is ignored between frames. Inside a
frame, the bytes must have the announced length and SHA-256; when they do not, the frame is
tried again with the console's CR LF line ends made LF and with kernel log lines
(``[    1.234567] ...``) taken out, and kept only if then length and hash agree. A frame
that cannot be made to agree is an error, never a guess.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["SHAPER_MARK", "Capture", "FrameError", "ShapeRecord", "decode"]

PROTOCOL = b"1"
# What every line of the shaper's output begins with.
SHAPER_MARK = b"@@smapsfmt-shaper "
_BEGIN = re.compile(
    rb"@@smapsfmt-shaper 1 BEGIN ([!-~]+) (\d+) (smaps|smaps_rollup) (\d+) ([0-9a-f]{64})\r*\n"
)
_LINE = re.compile(rb"@@smapsfmt-shaper ([!-~]+) ([A-Z]+)([^\n]*?)\r*(?:\n|\Z)")
# A kernel log line as a console prints it, possibly inside a line of ours.
_KERNEL_LOG = re.compile(rb"\[ *\d+\.\d+\] [^\n]*\n")


class FrameError(ValueError):
    """The shaper's output cannot be decoded: a frame whose bytes do not match its length and
    hash, a frame without its end, or a record that is not the protocol's. ``line`` is the
    1-based line of the output where the problem is."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class ShapeRecord:
    """One shape: what the shaper did (``facts``), and the files it read of the shape process
    (``files``: ``smaps`` and ``smaps_rollup`` as the kernel printed them)."""

    name: str
    pid: int = 0
    status: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    texts: dict[str, bytes] = field(default_factory=dict)  # KEY_hex values, as bytes
    pairs: list[tuple[str, str]] = field(default_factory=list)  # every key=value, in order
    files: dict[str, bytes] = field(default_factory=dict)
    line: int = 0  # the line of the SHAPE record in the output

    def number(self, key: str) -> int | None:
        value = self.facts.get(key)
        if value is None:
            return None
        try:
            return int(value, 16) if key in ("start", "end") else int(value)
        except ValueError:
            return None


@dataclass
class Capture:
    """The decoded output of one run of the shaper."""

    kernel: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, ShapeRecord] = field(default_factory=dict)
    done: dict[str, str] | None = None  # the DONE record; None: the output was cut short

    @property
    def page_size(self) -> int:
        return int(self.kernel.get("page_size", "4096"))


def _pairs(text: bytes) -> tuple[dict[str, str], dict[str, bytes], list[tuple[str, str]]]:
    facts: dict[str, str] = {}
    texts: dict[str, bytes] = {}
    pairs: list[tuple[str, str]] = []
    for token in text.split():
        key, sep, value = token.decode("ascii", "replace").partition("=")
        if not sep:
            continue
        pairs.append((key, value))
        if key.endswith("_hex"):
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                continue
            texts[key[:-4]] = raw
            facts[key[:-4]] = raw.decode("utf-8", "surrogateescape")
        else:
            facts[key] = value
            texts[key] = value.encode()
    return facts, texts, pairs


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _payload(region: bytes, length: int, digest: str) -> bytes | None:
    """The frame's bytes: as they came, or with CR LF made LF, or also without kernel log
    lines; the first whose length and SHA-256 are the announced ones."""
    candidates = [region]
    lf = region.replace(b"\r\n", b"\n")
    candidates.append(lf)
    candidates.append(_KERNEL_LOG.sub(b"", lf))
    for candidate in candidates:
        if len(candidate) == length and hashlib.sha256(candidate).hexdigest() == digest:
            return candidate
    return None


def _frame(data: bytes, at: int, begin: re.Match[bytes], capture: Capture) -> int:
    """Verify the frame that starts at ``at`` and keep its bytes; where the scan goes on."""
    shape = begin.group(1).decode()
    file = begin.group(3).decode()
    length, digest = int(begin.group(4)), begin.group(5).decode()
    end_mark = b"@@smapsfmt-shaper 1 END " + begin.group(1) + b" " + begin.group(3)
    end = data.find(end_mark, begin.end())
    line = _line_of(data, at)
    if end < 0:
        raise FrameError(f"frame {shape} {file}: no END line (the output is cut)", line)
    payload = _payload(data[begin.end() : end], length, digest)
    if payload is None:
        found = end - begin.end()
        raise FrameError(
            f"frame {shape} {file}: {length} bytes with SHA-256 {digest[:12]}... announced, "
            f"{found} bytes found that do not match", line,
        )  # fmt: skip
    record = capture.shapes.setdefault(shape, ShapeRecord(shape))
    record.files[file] = payload
    record.pid = int(begin.group(2))
    return end + len(end_mark)


def decode(data: bytes) -> Capture:
    """The capture in ``data``, the shaper's output (raw, or as a serial console gave it).

    Raises :class:`FrameError` for a frame that cannot be verified, and for output with no
    KERNEL record (not the shaper's output at all)."""
    capture = Capture()
    pos = 0
    seen_kernel = False
    while True:
        at = data.find(SHAPER_MARK, pos)
        if at < 0:
            break
        begin = _BEGIN.match(data, at)
        if begin is not None:
            pos = _frame(data, at, begin, capture)
            continue
        match = _LINE.match(data, at)
        line = _line_of(data, at)
        if match is None:
            pos = at + len(SHAPER_MARK)
            continue
        version, kind, rest = match.group(1), match.group(2).decode(), match.group(3)
        if version != PROTOCOL:
            raise FrameError(
                f"shaper protocol {version.decode('ascii', 'replace')} (this smapsfmt reads "
                f"protocol {PROTOCOL.decode()})", line,
            )  # fmt: skip
        if kind == "KERNEL":
            capture.kernel, _, _ = _pairs(rest)
            seen_kernel = True
        elif kind == "SHAPE":
            words = rest.split(maxsplit=1)
            if not words:
                raise FrameError("a SHAPE record without a shape", line)
            name = words[0].decode("ascii", "replace")
            record = capture.shapes.setdefault(name, ShapeRecord(name))
            record.facts, record.texts, record.pairs = _pairs(words[1] if len(words) > 1 else b"")
            record.status = record.facts.get("status", "")
            record.line = line
            pid = record.number("pid")
            if pid is not None and pid > 0:
                record.pid = pid
        elif kind == "DONE":
            capture.done, _, _ = _pairs(rest)
        elif kind != "END":
            raise FrameError(f"unknown shaper record {kind}", line)
        pos = match.end()
    if not seen_kernel:
        raise FrameError("no '@@smapsfmt-shaper 1 KERNEL' record: not the shaper's output", 1)
    return capture
