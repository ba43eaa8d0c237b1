"""The grammar file is the one description of the syntax: the line patterns the parser uses to
take lines apart are composed from its part terminals and equal its line terminals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import CLI_IN_CHILD, INVALID, ROOT, VALID, corpus

from smapsfmt import spec


@pytest.mark.parametrize(
    "terminal", ["HEADER", "KB_FIELD", "PLAIN_FIELD", "NAME_LINE", "VMFLAGS_LINE"]
)
def test_composed_line_pattern_is_the_grammar_terminal(terminal: str) -> None:
    pattern = spec.line_patterns()[terminal]
    assert pattern.plain == spec.terminal_regexps()[terminal]
    # The named version differs only by its groups: it accepts exactly what the terminal does,
    # on every line of the corpus, valid or broken.
    names = {
        "HEADER": {"start", "end", "perms", "offset", "device", "inode", "pathname"},
        "KB_FIELD": {"label", "value"},
        "PLAIN_FIELD": {"label", "value"},
        "NAME_LINE": {"name"},
        "VMFLAGS_LINE": {"flags"},
    }[terminal]
    assert set(pattern.regex.groupindex) == names
    plain = re.compile(pattern.plain)
    seen = 0
    for path in corpus(VALID) + corpus(INVALID):
        for line in path.read_bytes().decode("latin-1").splitlines(keepends=True)[:400]:
            assert bool(plain.fullmatch(line)) == bool(pattern.regex.fullmatch(line)), line
            seen += bool(plain.fullmatch(line))
    assert seen > 0


def test_the_lark_parser_uses_the_same_terminals() -> None:
    # The parser smapsfmt builds from the grammar: LALR, one token per line, both start symbols.
    import lark

    parser = lark.Lark(
        spec.grammar_text(), parser="lalr", lexer="contextual", start=["smaps", "rollup"],
        maybe_placeholders=False,
    )  # fmt: skip
    lexed = {t.name: t.pattern.to_regexp() for t in parser.terminals}
    regexps = spec.terminal_regexps()
    assert set(lexed) == {"HEADER", "KB_FIELD", "PLAIN_FIELD", "VMFLAGS_LINE", "NAME_LINE"}
    for name, regexp in lexed.items():
        assert regexps[name] == regexp


def test_every_rule_and_terminal_has_a_comment_citing_its_source() -> None:
    text = spec.grammar_text()
    blocks = re.split(r"\n\s*\n", text)
    for block in blocks:
        lines = block.strip().splitlines()
        definitions = [ln for ln in lines if re.match(r"^[A-Za-z_][A-Za-z0-9_.]*:", ln)]
        comments = [ln for ln in lines if ln.startswith("//")]
        if definitions:
            assert comments, f"definitions without a comment: {definitions}"
    for cite in (
        "task_mmu.c",
        "fs/seq_file.c",
        "fs/d_path.c",
        "android-libmeminfo",
        "jc/tests/fixtures/linux-proc/pid_smaps",
    ):
        assert cite in text


ACCEPTED = {
    "8-digit addresses (32-bit)": "08048000-08049000 r-xp 00000000 03:01 12345      /bin/x\n",
    "16-digit gate": "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n",
    "3-digit major, 5-digit minor": "7f0000000000-7f0000001000 r--s 00000000 103:1a2b3 9 /x\n",
    "offset wider than 8": "7f0000000000-7f0000001000 r--p 1000000000 08:01 9 /x\n",
    "20-digit inode": "7f0000000000-7f0000001000 r--p 00000000 08:01 18446744073709551615 /x\n",
    "no name, trailing blank": "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n",
    "no name, blank stripped": "7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n",
    "anon name with blanks": "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 [anon:a b]\n",
    "stack of a thread": "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 [stack:1234]\n",
}


@pytest.mark.parametrize("header", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_header_variants(header: str) -> None:
    from smapsfmt import parse_smaps

    mapping = parse_smaps(header + "Rss:                   0 kB\n")[0]
    assert mapping.header_text().split() == header.split()


FIELDS = {
    "8+ digit value": ("Size:           123456789 kB", "Size", 123456789),
    "beyond 2**64": ("Rss:            99999999999999999999999 kB", "Rss", 10**23 - 1),
    "tab-separated THPeligible": ("THPeligible:\t\t1", "THPeligible", 1),
    "ProtectionKey": ("ProtectionKey:         0", "ProtectionKey", 0),
    "2.6.20 15-column label": ("Private_Dirty:      4 kB", "Private_Dirty", 4),
    "vendor field": ("Writeback:             0 kB", "Writeback", 0),
}


@pytest.mark.parametrize(("line", "key", "value"), FIELDS.values(), ids=FIELDS.keys())
def test_field_variants(line: str, key: str, value: int) -> None:
    from smapsfmt import parse_smaps

    mapping = parse_smaps(f"00400000-00401000 r--p 00000000 00:00 0 \n{line}")[0]
    assert mapping.fields == {key: value}


@pytest.mark.parametrize(
    ("line", "flags"),
    [
        ("VmFlags: \n", ()),
        ("VmFlags:\n", ()),
        ("VmFlags: rd ?? zz \n", ("rd", "??", "zz")),
        ("VmFlags: rd mr", ("rd", "mr")),
    ],
)
def test_vmflags_variants(line: str, flags: tuple[str, ...]) -> None:
    from smapsfmt import parse_smaps

    mapping = parse_smaps(f"00400000-00401000 r--p 00000000 00:00 0 \nRss: 0 kB\n{line}")[0]
    assert mapping.vmflags == flags


def test_android_name_line_after_vmflags() -> None:
    from smapsfmt import parse_smaps

    text = (
        "00400000-00401000 rw-p 00000000 00:00 0      [anon:libc_malloc]\nRss: 4 kB\n"
        "VmFlags: rd wr \nName:           [anon:libc_malloc]\n"
    )
    mapping = parse_smaps(text)[0]
    assert (mapping.name, mapping.name_after_fields) == (b"[anon:libc_malloc]", True)


# --- the compiled terminals are kept in a cache file ---------------------------------------------

_PROBE = (
    CLI_IN_CHILD
    + """
code = cli(["parse", sys.argv[1]])
print(code, "lark" in sys.modules, file=sys.stderr)
"""
)


def _parse_in_child(path: str, cache_home: str) -> tuple[int, bool]:
    """Run ``smapsfmt parse PATH`` in a fresh interpreter with its cache under cache_home:
    its exit status, and whether it imported lark."""
    import os
    import subprocess
    import sys
    import tempfile

    env = {**os.environ, "XDG_CACHE_HOME": cache_home}
    env.pop("PYTHONPATH", None)
    env.pop("SMAPSFMT_NO_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, path], capture_output=True, text=True, env=env,
        cwd=tempfile.gettempdir(), timeout=120, check=False,
    )  # fmt: skip
    code, imported = result.stderr.split()[-2:]
    return int(code), imported == "True"


def test_a_second_run_reads_the_compiled_terminals_from_the_cache(tmp_path: Path) -> None:
    capture = str(VALID / "live" / "6.18" / "thp" / "smaps")
    assert _parse_in_child(capture, str(tmp_path)) == (0, True)  # compiled by lark, then kept
    kept = list((tmp_path / "smapsfmt").glob("terminals-*.json"))
    assert len(kept) == 1
    assert _parse_in_child(capture, str(tmp_path)) == (0, False)  # lark not even imported
    import json

    assert json.loads(kept[0].read_text()) == _compiled_in_child()


def _compiled_in_child() -> dict[str, str]:
    """The grammar's terminals as lark compiles them, with no cache to read or write."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    env = {**os.environ, "SMAPSFMT_NO_CACHE": "1"}
    env.pop("PYTHONPATH", None)
    code = "import json, smapsfmt.spec; print(json.dumps(smapsfmt.spec.terminal_regexps()))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        cwd=tempfile.gettempdir(), timeout=120, check=True,
    )  # fmt: skip
    compiled: dict[str, str] = json.loads(result.stdout)
    return compiled


def test_a_damaged_cache_file_is_compiled_around_and_replaced(tmp_path: Path) -> None:
    capture = str(VALID / "live" / "6.18" / "thp" / "smaps")
    _parse_in_child(capture, str(tmp_path))
    (kept,) = (tmp_path / "smapsfmt").glob("terminals-*.json")
    for damage in ('{"ADDRESS": "x"', '{"ADDRESS": 1}', "[]", ""):
        kept.write_text(damage)
        assert _parse_in_child(capture, str(tmp_path)) == (0, True), damage
        assert kept.read_text() != damage


def test_the_grammar_files_header_lines_are_the_profiles_header_format() -> None:
    # The parser takes the header terminals made from the newest profile's printf format; the
    # file's own lines must say the same, so that it stays the one readable description.
    text = (ROOT / spec.GRAMMAR_PATH).read_text(encoding="utf-8")
    rules = spec.header_rules()
    assert set(rules) == {"HEADER", "ADDRESS", "PERMS", "OFFSET", "DEVICE", "HEX2", "INODE"}
    for name, definition in rules.items():
        lines = [ln for ln in text.splitlines() if ln.startswith(f"{name}: ")]
        assert lines == [f"{name}: {definition}"], (name, lines)
    assert spec.grammar_text() == text


def test_the_sweeps_header_constants_are_the_profiles() -> None:
    # ps's sweep keeps the header's start and the rollup's name as constants, for start-up time
    from smapsfmt.triage import kernel_rollup

    assert spec.prefix_pattern(5) == kernel_rollup.HEADER_PREFIX
    assert spec.rollup_name() == kernel_rollup.ROLLUP_NAME


def test_the_decoder_contracts_header_parts_are_the_profiles() -> None:
    # The decoder contract (docs/decoder-contract.md) names a header's parts; as a published
    # document it keeps its names written out. They are the parts every profile's header
    # format prints, in its order, the device called "dev", then the pathname.
    from smapsfmt.conformance.compare import HEADER_PARTS

    for profile in spec.load_profiles():
        names = [
            "dev" if p.name == "device" else p.name for p in spec.header_parts(profile.header)
        ]
        assert (*names, "pathname") == HEADER_PARTS, profile.header


def test_the_parsers_device_split_is_the_profiles() -> None:
    # The parser's value conversions split a device at ":" without asking the spec, for speed
    # (the C module's K_DEVICE in _parse/_match.c, _parse/values.py, generic.py, build.py): every
    # profile's header format joins the device's two numbers with it.
    for profile in spec.load_profiles():
        (device,) = (p for p in spec.header_parts(profile.header) if p.kind == "device")
        assert device.joiner == ":", profile.header
        assert [c.kind for c in device.conversions] == ["x", "x"], profile.header


def test_the_models_permission_properties_read_the_profiles_letters() -> None:
    # Mapping.readable, .writable, .executable and .shared each test one letter of the
    # permissions: the letter the profile's format prints there for the flag they name.
    from smapsfmt import Mapping

    letters = re.findall(r"\[(.)(.)\]", spec.perms_pattern())
    properties = ("readable", "writable", "executable", "shared")
    assert len(letters) == len(properties), spec.perms_pattern()
    for index, name in enumerate(properties):
        perms = [pair[1] for pair in letters]
        perms[index] = letters[index][0]
        mapping = Mapping(
            line=1, start=0, end=4096, perms="".join(perms), offset=0, major=0, minor=0,
            inode=0, pathname=b"", fields={},
        )  # fmt: skip
        assert [getattr(mapping, p) for p in properties] == [p == name for p in properties]
