"""The header's layout comes from the profiles' printf format, and from nowhere else.

A copy of the spec files prints every address and offset in 16 hex digits (``%016lx``,
``%016llx``, as a kernel that always zero-padded to a 64-bit word would). ``SMAPSFMT_SPEC_DIR``
points the real command line at the copy: the grammar's header terminals, the parser's messages,
the validator's exact header and its layout messages all follow, with no code edit. So does
what smapsfmt prints: parse's text and JSON, the rollup's addresses, the JSON Schemas, the
model's device text, the conformance kit's decoder, and the validator's cut of a text into
entries, also in a copy that pads the device's numbers to 3 digits (``%03x:%03x``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import LIVE, ROOT, run_cli

from smapsfmt.spec import ProfileError, header_parts

SLEEP = LIVE / "6.18/sleep"
HEADER_FORMAT = "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "
HEADER = f'header "{HEADER_FORMAT}"\n'
WIDE = 'header "%016lx-%016lx %c%c%c%c %016llx %02x:%02x %lu "\n'
ROLLUP = 'rollup-header "%08lx-%08lx ---p 00000000 00:00 0 " "[rollup]"\n'
WIDE_ROLLUP = 'rollup-header "%016lx-%016lx ---p 0000000000000000 00:00 0 " "[rollup]"\n'
_HEADER_LINE = re.compile(
    r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) ([0-9]+) ?( *)(.*)$", re.M
)


def _wide_spec(tmp: Path, header: str = WIDE) -> Path:
    spec = tmp / "spec"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part)
    for profile in (spec / "kernel").glob("*.profile"):
        text = profile.read_text(encoding="utf-8")
        assert text.count(HEADER) == 1, profile
        text = text.replace(HEADER, header).replace(ROLLUP, WIDE_ROLLUP)
        profile.write_text(text, encoding="utf-8")
    return spec


def _widened(text: str, offset_digits: int, device_digits: int = 2) -> str:
    """The capture's headers with 16-digit addresses, offsets of ``offset_digits`` and device
    numbers of ``device_digits``, the name at column 73 as before (the longer prefix still
    ends before it)."""

    def header(match: re.Match[str]) -> str:
        start, end, perms, offset, device, inode, _pad, name = match.groups()
        major, minor = (int(number, 16) for number in device.split(":"))
        prefix = (
            f"{int(start, 16):016x}-{int(end, 16):016x} {perms} "
            f"{int(offset, 16):0{offset_digits}x} "
            f"{major:0{device_digits}x}:{minor:0{device_digits}x} {inode} "
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


WIDE_DEVICE = WIDE.replace("%02x:%02x", "%03x:%03x")


def test_a_header_format_edited_in_the_profiles_changes_what_is_printed(tmp_path: Path) -> None:
    env = {"SMAPSFMT_SPEC_DIR": str(_wide_spec(tmp_path, WIDE_DEVICE))}
    text = (SLEEP / "smaps").read_text(encoding="latin-1")
    wide = tmp_path / "smaps"
    wide.write_text(_widened(text, 16, device_digits=3), encoding="latin-1")
    valid = run_cli("validate", str(wide), env_extra=env)
    assert valid.stdout.decode() == (
        f"{wide}: smaps, 37 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)\n"
    ), valid.stderr

    # parse's text: each header as the copy's format prints it, the name one blank after.
    printed = run_cli("parse", str(wide), env_extra=env)
    assert printed.returncode == 0, printed.stderr
    headers = [line for line in printed.stdout.decode().splitlines() if line[:1].isalnum()]
    assert len(headers) == 37
    assert headers[0] == (
        "00005566ad6fd000-00005566ad6ff000 r--p 0000000000000000 0fe:000 260875 /usr/bin/sleep"
    )

    # parse's JSON: the same values as the shipped spec gives for the capture, the hex strings
    # padded as the copy's format pads them.
    got = json.loads(run_cli("parse", "--format", "json", str(wide), env_extra=env).stdout)
    shipped = json.loads(run_cli("parse", "--format", "json", str(SLEEP / "smaps")).stdout)
    assert len(got["mappings"]) == len(shipped["mappings"]) == 37
    for mine, theirs in zip(got["mappings"], shipped["mappings"], strict=True):
        for part in ("start", "end", "offset"):
            assert len(mine[part]) == 16, mine
            assert int(mine[part], 16) == int(theirs[part], 16), (part, mine, theirs)
        assert {k: v for k, v in mine.items() if k not in ("start", "end", "offset")} == {
            k: v for k, v in theirs.items() if k not in ("start", "end", "offset")
        }

    # The rollup's addresses, and the JSON Schemas that describe them.
    rollup = json.loads(run_cli("rollup", "--format", "json", str(wide), env_extra=env).stdout)
    assert (rollup["start"], rollup["end"]) == ("00005566ad6fd000", "00007ffdaaae0000")
    for name in ("parse", "rollup"):
        schema = run_cli("schema", name, env_extra=env).stdout.decode()
        assert '"^[0-9a-f]{16,}$"' in schema, name
        assert '"^[0-9a-f]{8,}$"' not in schema, name

    # The conformance kit's reference decoder reads each part back as the copy prints it.
    decoded = run_cli("conformance", "decode", stdin=wide.read_bytes(), env_extra=env)
    assert decoded.returncode == 0, decoded.stderr
    first = json.loads(decoded.stdout)["mappings"][0]
    assert {k: first[k] for k in ("start", "end", "perms", "offset", "dev", "inode")} == {
        "start": "00005566ad6fd000", "end": "00005566ad6ff000", "perms": "r--p",
        "offset": "0000000000000000", "dev": "0fe:000", "inode": "260875",
    }  # fmt: skip
    assert first["pathname"] == "/usr/bin/sleep"

    # The model, through the public surface: its device and header text.
    program = (
        "import sys, smapsfmt\n"
        "m = smapsfmt.parse_smaps(open(sys.argv[1], 'rb').read())[0]\n"
        "print(m.dev, m.header_text())\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", program, str(wide)],
        capture_output=True,
        env={**os.environ, **env},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert child.stdout.decode() == (
        "0fe:000 00005566ad6fd000-00005566ad6ff000 r--p 0000000000000000 0fe:000 260875 "
        "/usr/bin/sleep\n"
    ), child.stderr

    # The validator cuts a text it cannot parse whole at each line that may start an entry, as
    # the copy prints one: two broken entries, two errors, the other 35 mappings read.
    lines = wide.read_text(encoding="latin-1").splitlines(keepends=True)
    rss = [number for number, line in enumerate(lines) if line.startswith("Rss:")]
    for number in (rss[1], rss[4]):
        lines[number] = lines[number].replace("Rss:", "Rss;", 1)
    broken = tmp_path / "broken"
    broken.write_text("".join(lines), encoding="latin-1")
    said = run_cli("validate", str(broken), env_extra=env).stdout.decode().splitlines()
    expected = (
        ": syntax: not a smaps line: expected a mapping header 'START-END PERMS OFFSET "
        "MAJOR:MINOR INODE [NAME]', a field line 'Name: VALUE kB', a VmFlags line or a Name line"
    )
    assert said == [
        f"{broken}:{rss[1] + 1}:1{expected}",
        f"{broken}:{rss[4] + 1}:1{expected}",
        f"{broken}: smaps, 35 mappings: 2 errors, 0 warnings; profile Linux 6.6-7.3 (matched)",
    ]


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (HEADER_FORMAT[:-1], "ends in one blank before the name"),
        (HEADER_FORMAT.replace("%c%c%c%c", "%c%c%c"), "does not print the kernel's arguments"),
        (HEADER_FORMAT + "%lu ", "does not print the kernel's arguments"),
        (HEADER_FORMAT.replace("%c%c%c%c", "%c%c %c%c"), "perms is printed in one piece"),
        (HEADER_FORMAT.replace(" %c", "%c"), "its parts are separated"),
        ("[" + HEADER_FORMAT, "its parts are separated"),
    ],
)  # fmt: skip
def test_a_header_format_that_does_not_print_the_kernels_arguments_is_refused(
    fmt: str, message: str
) -> None:
    """What a profile's header format must be to be read at all: each of the kernel's
    arguments as a conversion, the permissions and the device each in one piece, a literal
    between parts and none before the first, one blank before the name."""
    with pytest.raises(ProfileError) as info:
        header_parts(fmt)
    assert str(info.value) == (
        f"the header format {fmt!r}: {message}"
        if message[0] in "pi"
        else f"the header format {fmt!r} {message}"
    )


def test_the_kernels_header_format_in_parts() -> None:
    """The parts of the shipped format, as another parser's author reads them."""
    parts = header_parts(HEADER_FORMAT)
    assert [(p.name, p.before, p.kind, p.joiner) for p in parts] == [
        ("start", "", "hex", ""),
        ("end", "-", "hex", ""),
        ("perms", " ", "text", ""),
        ("offset", " ", "hex", ""),
        ("device", " ", "device", ":"),
        ("inode", " ", "decimal", ""),
    ]
    assert [c.text for p in parts for c in p.conversions] == [
        "%08lx", "%08lx", "%c", "%c", "%c", "%c", "%08llx", "%02x", "%02x", "%lu",
    ]  # fmt: skip
    assert [c.max_digits for p in parts for c in p.conversions if c.kind != "c"] == [
        16, 16, 16, 8, 8, 20,
    ]  # fmt: skip
