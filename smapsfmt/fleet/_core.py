"""The parts of smapsfmt's core that the fleet package uses beyond the public API, imported in
this one place."""

from __future__ import annotations

import functools
from typing import Any

from .._cli.common import Refusal, display_name
from .._cli.input import InputError, open_input
from .._cli.streams import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError
from .._cli.streams import err as _err
from .._cli.streams import flush as _flush
from .._cli.streams import out as _out
from .._live.proc import ProcDir, ProcError
from .._model import known_fields
from .._parse.parser import detect_kind

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "InputError",
    "ProcDir",
    "ProcError",
    "Refusal",
    "UsageError",
    "detect_kind",
    "display_name",
    "err",
    "flush",
    "known_fields",
    "open_input",
    "out",
    "profile_for_release",
    "profile_for_text",
    "too_large",
]

out = _out
err = _err
flush = _flush


@functools.lru_cache(maxsize=8)
def profile_for_release(release: str) -> str | None:
    """The name of the profile for a running kernel's release (``uname -r``): the mainline
    profile whose range covers it (the newest profile for a newer kernel); None if none.
    Worked out once per release (each sample of ``sample --interval`` asks again)."""
    from .._spec.abi import parse_version
    from .._spec.profiles import beyond_every_profile, load_profiles

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
    from .._validate.validate import validate_report

    report = validate_report(text, kind=kind)
    if report.profile is None or not report.how.startswith("matched"):
        return None
    return report.profile.name


U64_MAX = (1 << 64) - 1


def too_large(entry: Any, path: str | None) -> Refusal | None:
    """The refusal of a mapping or rollup with a field value beyond unsigned 64 bits (no
    kernel prints one: it keeps them in u64 counters), located at that field's line; None
    when every value fits."""
    from smapsfmt import Diagnostic

    fields = entry.fields
    if not fields or max(fields.values()) <= U64_MAX:
        return None
    # Field lines follow the header in order; an Android Name: line may come first.
    first = entry.line + 1 + (getattr(entry, "name", None) is not None
                              and not getattr(entry, "name_after_fields", False))  # fmt: skip
    for number, (name, value) in enumerate(fields.items()):
        if value > U64_MAX:
            message = (
                f"{name} = {value} kB is beyond unsigned 64 bits: no kernel prints it, and "
                "the dataset's columns hold unsigned 64-bit values"
            )
            return Refusal(Diagnostic(path, first + number, 1, "value-range", "error", message))
    return None
