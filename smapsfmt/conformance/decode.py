"""The reference decoder: smaps or smaps_rollup bytes to the decoder contract's JSON.

The contract (docs/decoder-contract.md) carries every value as the text the kernel printed, so
that no language loses a 64-bit value and no decoder has to agree with smapsfmt's models: the
hex parts of a header as printed, each field's decimal digits as printed, the pathname after
the blanks that separate it from the inode (a TAB belongs to the name), the Android ``Name:``
value after the blanks that follow its colon. Text that is not valid UTF-8 goes base64-encoded
in ``pathname_b64`` / ``name_b64`` instead.

smapsfmt's parser decides what is accepted (a refused input raises
:class:`smapsfmt.SmapsSyntaxError`); the printed text of each part is then read back from the
header and field lines the parser located, which the grammar has already proven.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import Any

import smapsfmt

from .compare import HEADER_PARTS

__all__ = ["decode", "decode_bytes"]


@functools.cache
def _header_line() -> re.Pattern[bytes]:
    """A header line the grammar has accepted: its parts as the profile's format prints them
    (smapsfmt._spec.header), then the pathname after the blanks."""
    from .._spec.header import header_groups

    return re.compile(header_groups() + rb"(?: +(.*))?\Z", re.DOTALL)


_FIELD = re.compile(rb"([^:]+):[ \t]*([0-9]+)")


def _text(key: str, raw: bytes, out: dict[str, Any]) -> None:
    """``raw`` under ``key`` when it is UTF-8, else base64 under ``key_b64``."""
    try:
        out[key] = raw.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(raw).decode("ascii")


def _header(line: bytes) -> dict[str, Any]:
    match = _header_line().match(line)
    if match is None:  # the parser accepted it: a header always matches
        raise AssertionError(f"header not understood: {line!r}")
    # The contract's names of the parts, in the header's order (a test holds them to it).
    *parts, pathname = match.groups()
    out: dict[str, Any] = {
        key: part.decode() for key, part in zip(HEADER_PARTS[:-1], parts, strict=True)
    }
    _text("pathname", pathname or b"", out)
    return out


def _fields(lines: list[bytes], names: list[str]) -> dict[str, str]:
    """The printed digits of each field, by the names the parser found, in its order."""
    printed: dict[str, str] = {}
    for line in lines:
        match = _FIELD.match(line)
        if match is not None:
            printed.setdefault(match.group(1).decode("latin-1"), match.group(2).decode())
    return {name: printed[name] for name in names}


def _entry_lines(lines: list[bytes], first: int, last: int) -> list[bytes]:
    """Lines ``first`` .. ``last`` - 1 (0-based) that are field lines, not Name or VmFlags."""
    return [line for line in lines[first:last] if not line.startswith((b"VmFlags:", b"Name:"))]


def decode(data: bytes, kind: str) -> dict[str, Any]:
    """The contract's JSON object for ``data``, a smaps (``kind`` "smaps") or a smaps_rollup
    ("rollup"). Raises :class:`smapsfmt.SmapsSyntaxError` for text the parser refuses."""
    lines = data.split(b"\n")
    if kind == "rollup":
        rollup = smapsfmt.parse_rollup(data)
        head = _header(lines[rollup.line - 1])
        body = _entry_lines(lines, rollup.line, len(lines))
        return {
            "start": head["start"],
            "end": head["end"],
            "fields": _fields(body, list(rollup.fields)),
        }
    if kind != "smaps":
        raise ValueError(f"kind must be 'smaps' or 'rollup', not {kind!r}")
    smaps = smapsfmt.parse_smaps(data)
    mappings: list[dict[str, Any]] = []
    starts = [m.line for m in smaps] + [len(lines) + 1]
    for index, mapping in enumerate(smaps):
        # A name with a newline spans lines: the header is as many lines as the name has.
        used = mapping.pathname.count(b"\n")
        out = _header(b"\n".join(lines[mapping.line - 1 : mapping.line + used]))
        body = _entry_lines(lines, mapping.line + used, starts[index + 1] - 1)
        if mapping.name is not None:
            _text("name", mapping.name, out)
        out["fields"] = _fields(body, list(mapping.fields))
        if mapping.vmflags is not None:
            out["vmflags"] = list(mapping.vmflags)
        mappings.append(out)
    return {"mappings": mappings}


def decode_bytes(data: bytes, kind: str) -> bytes:
    """:func:`decode` as the JSON text a decoder prints (one line, ASCII, a final newline)."""
    import json

    return (json.dumps(decode(data, kind), separators=(",", ":")) + "\n").encode("ascii")
