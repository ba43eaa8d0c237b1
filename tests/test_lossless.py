"""Parsing loses nothing: every header part, field, unknown line, flag and name of the input is
in the model, in the input's order. Whitespace is layout, not content: it is checked by the
validator against the kernel profile, on the input itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import VALID, corpus, field_units, fixture_id, is_rollup

import smapsfmt


def _words(line: bytes) -> list[bytes]:
    return line.split()


def _model_lines(entry: smapsfmt.Mapping | smapsfmt.Rollup) -> list[list[bytes]]:
    """What each input line of the entry must contain, word by word, rebuilt from the model."""
    header = [
        f"{entry.start:08x}-{entry.end:08x}".encode(),
        entry.perms.encode(),
        f"{entry.offset:08x}".encode(),
        entry.dev.encode(),
        str(entry.inode).encode(),
        *entry.pathname.split(),
    ]
    lines = [header]
    name = getattr(entry, "name", None)
    name_line = [b"Name:", *name.split()] if name is not None else None
    if name_line and not getattr(entry, "name_after_fields", False):
        lines.append(name_line)
    unknown = iter(entry.unknown_lines)
    for key, value in entry.fields.items():
        if key in entry.unknown_fields:
            raw = next(unknown).encode("latin-1")
            assert raw.split(b":", 1)[0].decode() == key
            lines.append(raw.split())
        elif field_units().get(key, "kB") is None:
            lines.append([f"{key}:".encode(), str(value).encode()])
        else:
            lines.append([f"{key}:".encode(), str(value).encode(), b"kB"])
    vmflags = getattr(entry, "vmflags", None)
    if vmflags is not None:
        lines.append([b"VmFlags:", *(f.encode() for f in vmflags)])
    if name_line and getattr(entry, "name_after_fields", False):
        lines.append(name_line)
    return lines


@pytest.mark.parametrize("path", corpus(VALID), ids=fixture_id)
def test_every_word_of_the_input_is_in_the_model(path: Path) -> None:
    data = path.read_bytes()
    input_lines = [_words(line) for line in data.split(b"\n")]
    if input_lines and not input_lines[-1]:
        input_lines.pop()
    rebuilt: list[list[bytes]] = []
    if is_rollup(path):
        rollup = smapsfmt.parse_rollup(data)
        rebuilt = _model_lines(rollup)
        assert rollup.final_newline == data.endswith(b"\n")
    else:
        parsed = smapsfmt.parse_smaps(data)
        for mapping in parsed:
            assert rebuilt == [] or mapping.line == len(rebuilt) + 1
            rebuilt.extend(_model_lines(mapping))
        assert parsed.final_newline == (data.endswith(b"\n") or not data)
    assert rebuilt == input_lines


@pytest.mark.parametrize("path", corpus(VALID), ids=fixture_id)
def test_pathnames_are_the_bytes_after_the_padding(path: Path) -> None:
    data = path.read_bytes()
    entries = (
        [smapsfmt.parse_rollup(data)] if is_rollup(path) else list(smapsfmt.parse_smaps(data))
    )
    lines = data.split(b"\n")
    for entry in entries:
        header = lines[entry.line - 1]
        fixed = header.split(b" ", 5)
        tail = fixed[5] if len(fixed) > 5 else b""
        assert entry.pathname == tail.lstrip(b" ")
