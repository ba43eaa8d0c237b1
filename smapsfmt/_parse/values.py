"""Conversions of the fast path's matched bytes to the model's values, with bounded memos.

Values repeat across the mappings of a smaps (the same perms, devices, paths, flags and small
numbers), so each conversion remembers what it made, up to a bound past which values are
converted without being remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

__all__ = [
    "CACHE_LIMIT", "DEVICES", "FLAGS", "HEX", "INTS", "MAX_HEX_DIGITS", "PATHS", "TEXT",
    "give_up_on_value_error", "to_device", "to_flags", "to_hex", "to_int", "to_ints",
    "to_path", "to_text",
]  # fmt: skip

# Small caches for values that repeat across mappings. Bounded: past the bound, values are
# converted without being remembered.
CACHE_LIMIT = 65536
INTS: dict[bytes, int] = {}
HEX: dict[bytes, int] = {}
TEXT: dict[bytes, str] = {}
DEVICES: dict[bytes, tuple[int, int]] = {}
PATHS: dict[bytes | None, bytes] = {None: b""}
FLAGS: dict[bytes, tuple[str, ...]] = {}


def to_ints(values: tuple[bytes, ...]) -> tuple[int, ...]:
    try:
        return tuple(map(INTS.__getitem__, values))
    except KeyError:
        result = tuple(map(int, values))
        if len(INTS) < CACHE_LIMIT:
            INTS.update(zip(values, result, strict=True))
        return result


# Python prints ints of at most 4300 decimal digits (sys.get_int_max_str_digits()); a hex
# number of at most this many digits always stays within that. Longer ones (far beyond any
# number the kernel prints) are left to the grammar path, which reports them at their column.
MAX_HEX_DIGITS = 3571


def to_hex(value: bytes) -> int:
    found = HEX.get(value)
    if found is None:
        if len(value) > MAX_HEX_DIGITS:
            raise ValueError("hex number too long")
        found = int(value, 16)
        if len(HEX) < CACHE_LIMIT:
            HEX[value] = found
    return found


def to_int(value: bytes) -> int:
    found = INTS.get(value)
    if found is None:
        found = int(value)
        if len(INTS) < CACHE_LIMIT:
            INTS[value] = found
    return found


def to_text(value: bytes) -> str:
    found = TEXT.get(value)
    if found is None:
        found = TEXT[value] = value.decode("ascii")
    return found


def to_device(value: bytes) -> tuple[int, int]:
    found = DEVICES.get(value)
    if found is None:
        major, minor = value.split(b":")
        if max(len(major), len(minor)) > MAX_HEX_DIGITS:
            raise ValueError("hex number too long")
        found = (int(major, 16), int(minor, 16))
        if len(DEVICES) < CACHE_LIMIT:
            DEVICES[value] = found
    return found


def to_path(value: bytes | None) -> bytes:
    found = PATHS.get(value)
    if found is None:
        assert value is not None
        found = value.lstrip(b" ")
        if len(PATHS) < CACHE_LIMIT:
            PATHS[value] = found
    return found


def to_flags(value: bytes) -> tuple[str, ...]:
    found = FLAGS.get(value)
    if found is None:
        found = tuple(value.decode("latin-1").split())
        if len(FLAGS) < CACHE_LIMIT:
            FLAGS[value] = found
    return found


_P = ParamSpec("_P")
_R = TypeVar("_R")


def give_up_on_value_error(
    function: Callable[_P, _R],
) -> Callable[_P, _R | None]:
    """Return None (let the grammar decide and locate the problem) where a conversion fails:
    a decimal longer than Python converts (sys.get_int_max_str_digits())."""

    @wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return function(*args, **kwargs)
        except ValueError:
            return None

    return wrapper
