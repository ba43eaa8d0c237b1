"""The self-test: processes of known memory shapes, and what the kernel must print for them.

``shaper.c`` (one C program, libc only, built static) gives each shape to a process, freezes
it, and prints its smaps and smaps_rollup framed with length and SHA-256, and a record of
what the shape did. This package builds and runs it (:func:`run_selftest`), decodes its
output from anywhere, a serial console included (:func:`decode`), and checks a capture
(:func:`check_capture`): every file validates, every pair proves, every shape meets the
expectations of ``expectations.py``::

    from smapsfmt.selftest import check_capture, decode
    checks = check_capture(decode(open("console.log", "rb").read()))
    failed = [c for c in checks if c.verdict == "fail"]

Heavy parts load on first use: importing this package imports nothing of smapsfmt's core.
"""

from __future__ import annotations

from .._lazy import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .build import SOURCE, ShaperBuildError, build_shaper, shaper_path
    from .check import Check, check_capture, summary
    from .frames import Capture, FrameError, ShapeRecord, decode
    from .run import Result, ShaperError, run_selftest
del TYPE_CHECKING

__all__ = [
    "SOURCE",
    "Capture",
    "Check",
    "FrameError",
    "Result",
    "ShapeRecord",
    "ShaperBuildError",
    "ShaperError",
    "build_shaper",
    "check_capture",
    "decode",
    "run_selftest",
    "shaper_path",
    "summary",
]

_LAZY = {
    "SOURCE": "build",
    "ShaperBuildError": "build",
    "build_shaper": "build",
    "shaper_path": "build",
    "Check": "check",
    "check_capture": "check",
    "summary": "check",
    "Capture": "frames",
    "FrameError": "frames",
    "ShapeRecord": "frames",
    "decode": "frames",
    "Result": "run",
    "ShaperError": "run",
    "run_selftest": "run",
}


__getattr__, __dir__ = lazy(__name__, _LAZY, __all__)
