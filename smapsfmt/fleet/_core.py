"""The parts of smapsfmt's core that the fleet package uses beyond the public API, imported in
this one place."""

from __future__ import annotations

from .._cli import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _err,
    _flush,
    _out,
    display_name,
)
from .._input import InputError, open_input
from .._live import ProcError, _ProcDir
from .._model import KNOWN_FIELDS
from .._parser import detect_kind

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "KNOWN_FIELDS",
    "InputError",
    "ProcDir",
    "ProcError",
    "UsageError",
    "detect_kind",
    "display_name",
    "err",
    "flush",
    "open_input",
    "out",
    "profile_for_release",
    "profile_for_text",
]

ProcDir = _ProcDir
out = _out
err = _err
flush = _flush


def profile_for_release(release: str) -> str | None:
    """The name of the profile for a running kernel's release (``uname -r``): the mainline
    profile whose range covers it (the newest profile for a newer kernel); None if none."""
    from .._abi import parse_version
    from .._profiles import beyond_every_profile, load_profiles

    try:
        version = parse_version(release)
    except ValueError:
        return None
    for profile in load_profiles():
        if profile.variant_of is None and profile.kernel_range.contains(version):
            return profile.name
    newest = beyond_every_profile(release)
    return None if newest is None else newest.name


def profile_for_text(text: bytes, kind: str) -> str | None:
    """The name of the profile that the validator matches for ``text`` (one entry is enough:
    every entry of a kernel has the same lines), None when none matches."""
    from .._validate import validate_report

    report = validate_report(text, kind=kind)
    if report.profile is None or not report.how.startswith("matched"):
        return None
    return report.profile.name
