"""The guest's files, recovered from a serial console that also carries the kernel's messages.

The guest frames each file (protocol version 1)::

    @@smapsfmt-shaper 1 BEGIN <shape> <pid> <file> <length> <sha256hex>\\n
    <exactly length bytes>
    @@smapsfmt-shaper 1 END <shape> <file>\\n

and describes each shape with ``@@smapsfmt-shaper 1 SHAPE <shape> key=value ...`` lines; the
first process (``init.c``) prints ``@@smapsfmt-init 1 <WORD> ...`` lines. A marker may follow
other text on the same line (the firmware's escape sequences, a kernel message). The console
is raw on the guest side, so a file's bytes arrive unchanged, except that the kernel may print
a message in the middle of them: such a message ends in "\\r\\n" (the serial console's line end)
and starts with its timestamp, and is cut out when the bytes as received do not match the
length and sha256 the guest computed. A frame that still does not match is reported, never
used.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

BEGIN = re.compile(rb"@@smapsfmt-shaper 1 BEGIN (\S+) (\d+) (\S+) (\d+) ([0-9a-f]{64})\r?\n")
SHAPE = re.compile(rb"@@smapsfmt-shaper 1 SHAPE (\S+)((?: [^\r\n]*)?)\r?\n")
INIT = re.compile(rb"@@smapsfmt-init 1 (\S+)((?: [^\r\n]*)?)\r?\n")
KERNEL_MESSAGE = re.compile(rb"\[ *\d+\.\d+\] [^\r\n]*\r\n")


@dataclass(frozen=True)
class Frame:
    shape: str
    pid: int
    file: str  # smaps or smaps_rollup
    data: bytes
    sha256: str
    cut: int  # kernel messages cut out of the bytes as received


@dataclass
class Decoded:
    frames: list[Frame] = field(default_factory=list)
    shapes: dict[str, dict[str, str]] = field(default_factory=dict)
    init: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def file(self, shape: str, name: str) -> bytes | None:
        for frame in self.frames:
            if frame.shape == shape and frame.file == name:
                return frame.data
        return None


def _end(shape: bytes, file: bytes) -> bytes:
    return b"@@smapsfmt-shaper 1 END " + shape + b" " + file


def decode(console: bytes) -> Decoded:
    """Every frame, shape description and init line of ``console``, with what went wrong."""
    out = Decoded()
    position = 0
    while True:
        begin = BEGIN.search(console, position)
        stop = begin.start() if begin else len(console)
        _lines(console[position:stop], out)
        if begin is None:
            break
        shape, pid, file, length, digest = begin.groups()
        name = f"{shape.decode()}/{file.decode()}"
        start, size = begin.end(), int(length)
        end_marker = _end(shape, file)
        exact = console[start : start + size]
        cut = 0
        if hashlib.sha256(exact).hexdigest().encode() == digest and console.startswith(
            end_marker, start + size
        ):
            data, after = exact, start + size + len(end_marker)
        else:
            at = console.find(end_marker, start)
            if at < 0:
                out.problems.append(f"{name}: no END marker (the guest stopped while printing it)")
                position = start
                continue
            data, cut = KERNEL_MESSAGE.subn(b"", console[start:at])
            after = at + len(end_marker)
            if len(data) != size or hashlib.sha256(data).hexdigest().encode() != digest:
                out.problems.append(
                    f"{name}: {at - start} bytes received, {size} sent with sha256 "
                    f"{digest.decode()}: the bytes do not match"
                )
                position = after
                continue
        out.frames.append(
            Frame(shape.decode(), int(pid), file.decode(), data, digest.decode(), cut)
        )
        position = after
    return out


def _lines(text: bytes, out: Decoded) -> None:
    for match in SHAPE.finditer(text):
        words = match.group(2).decode(errors="replace").split()
        values = out.shapes.setdefault(match.group(1).decode(), {})
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    for match in INIT.finditer(text):
        out.init[match.group(1).decode()] = match.group(2).decode(errors="replace").strip()
