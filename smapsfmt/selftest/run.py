"""Running the shaper on this machine's kernel, and checking what it captured."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

from .build import shaper_path
from .check import Check, check_capture
from .frames import Capture, decode
from .settings import SystemSettings
from .shapes import SHAPES

__all__ = ["Result", "ShaperError", "run_selftest", "run_shaper"]

TIMEOUT = 300.0  # seconds for the whole shaper run (KSM waits up to 10 s for ksmd)


class ShaperError(Exception):
    """The shaper could not be run, or ended without output."""


@dataclass
class Result:
    capture: Capture
    checks: list[Check]
    restored: list[str] = field(default_factory=list)  # what the settings guard put back


def run_shaper(shapes: list[str], *, system: bool, timeout: float = TIMEOUT) -> bytes:
    """The shaper's output for ``shapes`` (all of it, as it printed it)."""
    command = [str(shaper_path()), *(["--system"] if system else []), *shapes]
    try:
        result = subprocess.run(
            command, capture_output=True, timeout=timeout, check=False, cwd="/"
        )
    except subprocess.TimeoutExpired:
        raise ShaperError(f"the shaper ran longer than {timeout:g} s and was stopped") from None
    except OSError as exc:
        raise ShaperError(f"cannot run the shaper {command[0]}: {exc.strerror or exc}") from None
    if result.returncode not in (0, 1):
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise ShaperError(
            f"the shaper failed (exit status {result.returncode}){': ' + detail if detail else ''}"
        )
    return result.stdout


def run_selftest(shapes: list[str] | None = None, *, system: bool = False) -> Result:
    """Run ``shapes`` (default: every shape, the system-settings ones only with ``system``)
    on the running kernel and check them. With ``system`` the caller must be root."""
    if shapes is None:
        shapes = [name for name, changes in SHAPES.items() if system or not changes]
    if system and os.geteuid() != 0:
        raise ShaperError("the shapes that change system settings need root")
    touches = any(SHAPES[name] for name in shapes)
    guard = SystemSettings()
    if touches:
        with guard:
            output = run_shaper(shapes, system=True)
    else:
        output = run_shaper(shapes, system=False)
    capture = decode(output)
    checks = check_capture(capture, list(shapes))
    for what in guard.restored:
        checks.append(
            Check(
                "-",
                "shaper",
                f"left changed: {what}",
                "restored by the shaper",
                "restored by smapsfmt",
                "fail",
                "the shaper did not restore it",
            )
        )
    for what in guard.failed:
        checks.append(
            Check(
                "-",
                "shaper",
                f"left changed: {what}",
                "restored",
                "not restored",
                "fail",
                "neither the shaper nor smapsfmt could restore it",
            )
        )
    return Result(capture, checks, guard.restored)
