"""The header's layout comes from the profiles' printf format, and from nowhere else.

A copy of the spec files prints every address and offset in 16 hex digits (``%016lx``,
``%016llx``, as a kernel that always zero-padded to a 64-bit word would). ``SMAPSFMT_SPEC_DIR``
points the real command line at the copy: the grammar's header terminals, the parser's messages,
the validator's exact header and its layout messages all follow, with no code edit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from support import LIVE, ROOT, run_cli

SLEEP = LIVE / "6.18/sleep"
HEADER = 'header "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "\n'
WIDE = 'header "%016lx-%016lx %c%c%c%c %016llx %02x:%02x %lu "\n'
ROLLUP = 'rollup-header "%08lx-%08lx ---p 00000000 00:00 0 " "[rollup]"\n'
WIDE_ROLLUP = 'rollup-header "%016lx-%016lx ---p 0000000000000000 00:00 0 " "[rollup]"\n'
_HEADER_LINE = re.compile(
    r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) ([0-9]+) ?( *)(.*)$", re.M
)


def _wide_spec(tmp: Path) -> Path:
    spec = tmp / "spec"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part)
    for profile in (spec / "kernel").glob("*.profile"):
        text = profile.read_text(encoding="utf-8")
        assert text.count(HEADER) == 1, profile
        text = text.replace(HEADER, WIDE).replace(ROLLUP, WIDE_ROLLUP)
        profile.write_text(text, encoding="utf-8")
    return spec


def _widened(text: str, offset_digits: int) -> str:
    """The capture's headers with 16-digit addresses and offsets of ``offset_digits``, the
    name at column 73 as before (the longer prefix still ends before it)."""

    def header(match: re.Match[str]) -> str:
        start, end, perms, offset, device, inode, _pad, name = match.groups()
        prefix = (
            f"{int(start, 16):016x}-{int(end, 16):016x} {perms} "
            f"{int(offset, 16):0{offset_digits}x} {device} {inode} "
        )
        return prefix.ljust(73) + name if name else prefix

    return _HEADER_LINE.sub(header, text)


def test_a_header_format_edited_in_the_profiles_changes_what_is_taken(tmp_path: Path) -> None:
    env = {"SMAPSFMT_SPEC_DIR": str(_wide_spec(tmp_path))}
    capture = SLEEP / "smaps"
    text = capture.read_text(encoding="latin-1")

    # The parser: 12-digit addresses are no longer a header; the message says what the
    # format asks for.
    refused = run_cli("parse", str(capture), env_extra=env)
    assert refused.returncode == 1
    assert refused.stderr.decode().splitlines()[0] == (
        f"{capture}:1:1: syntax: expected the start address: 16 lowercase hex digits, found 12"
    )
    plain = run_cli("parse", str(capture))
    assert plain.returncode == 0, plain.stderr

    # The same mappings printed as the copy's format says: parsed, and valid.
    wide = tmp_path / "smaps"
    wide.write_text(_widened(text, 16), encoding="latin-1")
    valid = run_cli("validate", str(wide), env_extra=env)
    assert valid.stdout.decode() == (
        f"{wide}: smaps, 37 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)\n"
    )
    assert valid.returncode == 0
    # Without the copy, the shipped format finds its zeros too many.
    shipped = run_cli("validate", str(wide))
    assert shipped.returncode == 1
    said = shipped.stdout.decode().splitlines()[0]
    assert said.startswith(
        f"{wide}:1:1: layout-header: expected the addresses as %08lx-%08lx: lowercase hex, at "
        "least 8 digits, no extra leading zeros (expected '5566ad6fd000-5566ad6ff000 r--p "
    ), said

    # Offsets in 8 digits: the grammar takes them (it leaves widths to the validator), the
    # validator's message quotes the copy's format.
    short = tmp_path / "short"
    short.write_text(_widened(text, 8), encoding="latin-1")
    invalid = run_cli("validate", str(short), env_extra=env)
    assert invalid.returncode == 1
    first = invalid.stdout.decode().splitlines()[0]
    assert first == (
        f"{short}:1:48: layout-header: expected the offset as %016llx: at least 16 hex digits, "
        "no extra leading zeros (expected '00005566ad6fd000-00005566ad6ff000 r--p "
        "0000000000000000 fe:00 260875     /usr/bin/sleep')"
    ), first
