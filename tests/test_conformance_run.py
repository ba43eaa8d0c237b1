"""``smapsfmt conformance run -- CMD``, ``decode``, ``list``, ``export`` and ``pack`` on the
command line, with decoders written apart from smapsfmt (tests/decoders/plain_decoder.py),
some wrong on purpose."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from support import ROOT, run_cli

from smapsfmt.conformance import cases

PLAIN = [sys.executable, str(ROOT / "tests" / "decoders" / "plain_decoder.py")]
SLEEP = ["--run", "valid/live/6.18/sleep/*"]
HEAD = f"smaps-conformance 1.1.0 [{' '.join(PLAIN)}"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``smapsfmt conformance run ARGS``, each decoder run given 120 s (a loaded machine)
    unless ARGS say otherwise."""
    limit = () if "--timeout" in args else ("--timeout", "120")
    return conformance("run", *limit, *args, env=env)


def conformance(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it, outside the source tree."""
    environ = dict(os.environ, **(env or {}))
    environ.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "smapsfmt", "conformance", *args],
        capture_output=True, text=True, cwd=tempfile.gettempdir(), env=environ,
        timeout=600, check=False,
    )  # fmt: skip


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


def test_reference_decoder_passes_through_the_command_line() -> None:
    result = run(
        *SLEEP, "--run", "invalid/*", "--run", "implementation-defined/*",
        "--run", "pairs/live/6.18/sleep", "--run", "generated/3.0-3.7/*",
        "--", sys.executable, "-m", "smapsfmt", "conformance", "decode",
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert lines(result) == [
        f"smaps-conformance 1.1.0 [{sys.executable} -m smapsfmt conformance decode]: 42 cases: "
        "42 passed, 0 failed, 0 known failures, 344 skipped (PASS 42)"
    ]


def test_a_decoder_that_drops_a_mapping_fails_wrong_value() -> None:
    result = run(*SLEEP, "--", *PLAIN, "drop-mapping")
    assert result.returncode == 1
    assert lines(result) == [
        "WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings: expected 37 mappings, got 36",
        f"{HEAD} drop-mapping]: 2 cases: 1 passed, 1 failed, 0 known failures, 384 skipped "
        "(PASS 1, WRONG_VALUE 1)",
    ]


def test_a_decoder_that_rounds_a_value_fails_wrong_value_naming_the_field() -> None:
    result = run(*SLEEP, "--", *PLAIN, "round")
    assert result.returncode == 1
    assert lines(result)[:2] == [
        'WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings[0].fields.Rss: expected "8", '
        'got "0"',
        'WRONG_VALUE      valid/live/6.18/sleep/smaps_rollup: fields.Rss: expected "1812", '
        'got "2048"',
    ]


def test_a_decoder_that_accepts_garbage_fails_accepted_invalid() -> None:
    result = run("--run", "invalid/junk.smaps", "--run", "invalid/binary.smaps", "--",
                 *PLAIN, "accept-garbage")  # fmt: skip
    assert result.returncode == 1
    assert lines(result) == [
        "ACCEPTED_INVALID invalid/binary.smaps: exit 0 on an invalid input",
        "ACCEPTED_INVALID invalid/junk.smaps: exit 0 on an invalid input",
        f"{HEAD} accept-garbage]: 2 cases: 0 passed, 2 failed, 0 known failures, 384 skipped "
        "(ACCEPTED_INVALID 2)",
    ]


def test_crash_timeout_and_rejected_valid() -> None:
    android = ["--run", "valid/external/android-libmeminfo/testdata1/smaps_short"]
    crashed = run(*android, "--", *PLAIN, "crash")
    assert lines(crashed)[0] == (
        "CRASH            valid/external/android-libmeminfo/testdata1/smaps_short: exit status 3"
    )
    started = time.monotonic()
    hung = run(*android, "--timeout", "1", "--", *PLAIN, "hang")
    assert time.monotonic() - started < 30  # the decoder sleeps 60 s: it was killed
    assert lines(hung)[0] == (
        "TIMEOUT          valid/external/android-libmeminfo/testdata1/smaps_short: "
        "no answer within the time limit"
    )
    rejected = run("--run", "generated/5.3/smaps", "--", *PLAIN)
    assert lines(rejected)[0] == "REJECTED_VALID   generated/5.3/smaps: exit 1 on a valid input"
    assert {crashed.returncode, hung.returncode, rejected.returncode} == {1}


def _shell(script: str) -> list[str]:
    """A decoder that reads its input and then runs ``script`` (SMAPS_KIND in its environment)."""
    return ["sh", "-c", f"cat >/dev/null; {script}"]


def _by_kind(rollup: str, smaps: str) -> list[str]:
    return _shell(f'if [ "$SMAPS_KIND" = rollup ]; then {rollup}; else {smaps}; fi')


def test_each_way_a_decoder_can_break_the_contract_is_named(tmp_path: Path) -> None:
    """A decoder killed by a signal, one that prints no JSON, and one whose JSON is not the
    contract's shape: each case's verdict says which, and where in the output."""
    cases = [*SLEEP, "--run", "implementation-defined/crlf.smaps"]
    crashed = run(*cases, "--", *_by_kind("kill -SEGV $$", "echo not json"))
    assert lines(crashed)[:3] == [
        "CRASH            implementation-defined/crlf.smaps: exit 0, but the output is not JSON: "
        "Expecting value: line 1 column 1 (char 0)",
        "CRASH            valid/live/6.18/sleep/smaps: exit 0, but the output is not JSON: "
        "Expecting value: line 1 column 1 (char 0)",
        "CRASH            valid/live/6.18/sleep/smaps_rollup: killed by signal 11",
    ]
    number = run(*cases, "--", *_shell("echo 5"))
    assert lines(number)[:3] == [
        "CRASH            implementation-defined/crlf.smaps: exit 0, output not the contract's "
        "JSON: 5",
        'WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings: expected {"mappings": [...]}, '
        "got 5",
        "WRONG_VALUE      valid/live/6.18/sleep/smaps_rollup: expected a rollup object, got 5",
    ]
    no_header = tmp_path / "covers.json"
    no_header.write_text('{"header": []}')
    shaped = _by_kind("""echo '{"fields": [1]}'""", """echo '{"mappings": [5]}'""")
    shapes = run("--covers", str(no_header), *SLEEP, "--", *shaped)
    assert lines(shapes)[:2] == [
        "WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings[0]: expected a mapping object, "
        "got 5",
        "WRONG_VALUE      valid/live/6.18/sleep/smaps_rollup: fields: expected an object of "
        "fields, got [1]",
    ]
    rss = tmp_path / "rss.json"
    rss.write_text('{"fields": ["Rss"]}')
    summed = _by_kind("""echo '{"totals": {"Size": "1"}}'""", """echo '{"totals": 5}'""")
    totals = run("--totals", "--covers", str(rss), *SLEEP, "--", *summed)
    assert lines(totals)[:2] == [
        "WRONG_VALUE      valid/live/6.18/sleep/smaps: totals: expected an object of fields, "
        "got 5",
        'WRONG_VALUE      valid/live/6.18/sleep/smaps_rollup: totals.Rss: expected "1812", got '
        "nothing",  # Size is not covered: not compared
    ]
    assert {crashed.returncode, number.returncode, shapes.returncode, totals.returncode} == {1}


SOME = ["--run", "generated/5.*", "--run", "implementation-defined/*", "--run", "invalid/r*",
        "--run", "valid/external/jc/*"]  # fmt: skip


def test_json_report_counts_every_outcome_by_name() -> None:
    result = run("--format", "json", *SOME, "--", *PLAIN)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["summary"] == {
        "PASS": 16, "REJECTED_VALID": 5, "ACCEPTED_INVALID": 1, "WRONG_VALUE": 0,
        "CRASH": 0, "TIMEOUT": 0, "cases": 22, "failed": 6, "known": 0, "skipped": 364,
    }  # fmt: skip
    assert report["corpus_version"] == "1.1.0"
    assert report["command"] == PLAIN
    prefixes = ("generated/5.", "implementation-", "invalid/r", "valid/external/jc/")
    chosen = [c.id for c in cases() if c.id.startswith(prefixes)]
    assert [c["id"] for c in report["cases"]] == chosen
    wrong = next(c for c in report["cases"] if c["id"] == "generated/5.3/smaps")
    assert wrong["outcome"] == "REJECTED_VALID"
    assert wrong["stderr"] == "refused: not a field line: b'THPeligible:\\t\\t0'"
    crlf = next(c for c in report["cases"] if c["id"] == "implementation-defined/crlf.smaps")
    assert (crlf["outcome"], crlf["accepted"]) == ("PASS", False)


def test_markdown_report() -> None:
    result = run("--format", "markdown", *SLEEP, "--", *PLAIN, "drop-mapping")
    assert result.returncode == 1
    text = result.stdout
    assert "| WRONG_VALUE | 1 |" in text
    assert (
        "| `valid/live/6.18/sleep/smaps` | WRONG_VALUE | mappings | expected 37 mappings, got 36 |"
        in text
    )


def test_known_failures_hold_a_project_to_what_it_passes_today(tmp_path: Path) -> None:
    known = tmp_path / "known-failures.txt"
    known.write_text("# THPeligible with tabs\ngenerated/5.[34]*/smaps REJECTED_VALID\n"
                     "generated/5.4-5.8/* \ngenerated/android-5.4-zram/smaps\n"
                     "*/pcp/*\nvalid/external/jc/*\ninvalid/rollup-not-rollup.smaps_rollup\n"
                     "valid/never/*\n")  # fmt: skip
    result = run("--known-failures", str(known), *SOME, "--run", "*/pcp/*", "--", *PLAIN)
    assert (result.returncode, result.stderr) == (0, "")
    assert lines(result)[-2:] == [
        "note: known failure now passes or matches nothing: valid/never/*",
        f"{HEAD}]: 31 cases: 19 passed, 0 failed, 12 known failures, 355 skipped "
        "(PASS 19, REJECTED_VALID 11, ACCEPTED_INVALID 1)",
    ]
    assert "REJECTED_VALID   generated/5.3/smaps: exit 1 on a valid input (known)" in lines(result)
    # A known failure with another outcome than the one listed still fails the run.
    known.write_text("generated/5.3/smaps CRASH\n")
    again = run("--known-failures", str(known), "--run", "generated/5.3/smaps", "--", *PLAIN)
    assert again.returncode == 1


def test_args_and_environment_reach_the_decoder() -> None:
    by_env = run(*SLEEP, "--", *PLAIN, env={"PLAIN_DECODER_MODE": "drop-mapping"})
    assert by_env.returncode == 1
    assert "expected 37 mappings, got 36" in by_env.stdout


def test_totals_mode() -> None:
    passed = run(*SLEEP, "--run", "valid/kernel-thread/*", "--totals", "--", *PLAIN, "totals")
    assert passed.returncode == 0, passed.stdout
    failed = run(*SLEEP, "--totals", "--", *PLAIN)  # prints mappings, not totals
    assert lines(failed)[0] == (
        'WRONG_VALUE      valid/live/6.18/sleep/smaps: totals: expected {"totals": {...}}, '
        'got {"mappings": [{"start": "5566ad6fd000", "end": "5566ad6ff000", "perms": "r--p...'
    )


def test_coverage_compares_only_what_the_parser_reports(tmp_path: Path) -> None:
    covers = tmp_path / "covers.json"
    covers.write_text(json.dumps({"kinds": ["smaps"], "fields": ["Size", "Pss"]}))
    result = run("--covers", str(covers), *SLEEP, "--", *PLAIN, "round")  # Rss is not covered
    assert result.returncode == 0
    assert lines(result)[-1].endswith(
        "1 case: 1 passed, 0 failed, 0 known failures, 385 skipped (PASS 1)"
    )
    rename = [{"match": "^$", "replace": "[anon]"}]
    covers.write_text(json.dumps({"header": ["start", "pathname"], "pathname": rename}))
    renamed = run("--covers", str(covers), *SLEEP, "--", *PLAIN)
    assert lines(renamed)[0] == (
        'WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings[16].pathname: expected "[anon]", '
        'got ""'
    )


def test_usage_errors(tmp_path: Path) -> None:
    bad_known = tmp_path / "known"
    bad_known.write_text("a b c\n")
    bad_covers = tmp_path / "covers.json"
    bad_covers.write_text('{"kinds": []}')
    a_file = tmp_path / "file"
    a_file.write_bytes(b"")
    expected = {
        (): "a SUBCOMMAND is required: decode, run, list, export or pack "
        "(see 'smapsfmt conformance --help')",
        ("run",): "a decoder command is required: smapsfmt conformance run -- CMD",
        ("run", "--", "/nonexistent/decoder"):
            "cannot run '/nonexistent/decoder': No such file or directory",
        ("run", "--run", "nothing*", "--", "true"):
            "no case to run: --run/--skip or the coverage leave none",
        ("run", "--timeout", "0", "--", "true"): "argument --timeout: expected a number of "
        "seconds above 0, not '0' (see 'smapsfmt conformance run --help')",
        ("run", "--known-failures", str(bad_known), "--", "true"): f"{bad_known}:1:1: expected "
        "'CASE-ID [OUTCOME]', OUTCOME one of REJECTED_VALID, ACCEPTED_INVALID, WRONG_VALUE, "
        "CRASH, TIMEOUT",
        ("run", "--covers", str(bad_covers), "--", "true"):
            f"{bad_covers}: 'kinds' lists 'smaps' and/or 'rollup'",
        ("export", str(ROOT)): f"{ROOT}: exists and is not an empty folder",
        ("run", "--timeout", "soon", "--", "true"): "argument --timeout: expected a number of "
        "seconds above 0, not 'soon' (see 'smapsfmt conformance run --help')",
        ("run", "-j", "0", "--", "true"): "argument -j/--jobs: expected a number of runs above "
        "0, not '0' (see 'smapsfmt conformance run --help')",
        ("run", "-j", "1", "--run", "nothing*", "--", "true"):
            "no case to run: --run/--skip or the coverage leave none",
        ("export", str(a_file / "corpus")): f"{a_file / 'corpus'}: Not a directory",
        ("run", "--covers", str(a_file / "no"), "--", "true"):
            f"{a_file / 'no'}: Not a directory",
        ("run", "--known-failures", str(tmp_path / "none"), "--", "true"):
            f"{tmp_path / 'none'}: No such file or directory",
        ("pack", "--output", str(a_file / "out")): f"{a_file / 'out'}: Not a directory",
    }  # fmt: skip
    for args, message in expected.items():
        result = conformance(*args)
        assert (result.returncode, result.stdout) == (2, ""), args
        assert result.stderr == f"smapsfmt: error: {message}\n"
    kind = run_cli("conformance", "decode", stdin=b"", env_extra={"SMAPS_KIND": "smaps_rollup"})
    assert (kind.returncode, kind.stdout) == (2, b"")
    assert kind.stderr == (
        b"smapsfmt: error: SMAPS_KIND is 'smaps' or 'rollup', not 'smaps_rollup'\n"
    )
    as_json = run("--format", "json", "--", "/nonexistent/decoder")
    assert json.loads(as_json.stdout)["error"]["message"] == (
        "cannot run '/nonexistent/decoder': No such file or directory"
    )


def test_a_corpus_that_is_a_file_or_holds_a_folder_for_its_manifest_is_a_usage_error(
    tmp_path: Path,
) -> None:
    file = tmp_path / "corpus.tar.gz"
    file.write_bytes(b"")
    (tmp_path / "odd" / "manifest.json").mkdir(parents=True)
    expected = {
        file: f"{file}/manifest.json: no manifest (is this a conformance corpus?)",
        tmp_path / "odd": f"{tmp_path}/odd/manifest.json: Is a directory",
    }
    for corpus, message in expected.items():
        result = run("--corpus", str(corpus), "--", "true")
        assert (result.returncode, result.stdout) == (2, ""), corpus
        assert result.stderr == f"smapsfmt: error: {message}\n"


def test_decode() -> None:
    empty = run_cli("conformance", "decode", stdin=b"")
    assert (empty.returncode, empty.stdout) == (0, b'{"mappings":[]}\n')
    refused = run_cli("conformance", "decode", "--kind", "rollup", stdin=b"junk\n")
    assert (refused.returncode, refused.stdout) == (1, b"")
    assert refused.stderr.decode().splitlines() == [
        "<stdin>:1:1: syntax: not a smaps line: expected a mapping header 'START-END PERMS "
        "OFFSET MAJOR:MINOR INODE [NAME]', a field line 'Name: VALUE kB', a VmFlags line or a "
        "Name line",
        "    junk",
        "    ^",
    ]
    data = (ROOT / "conformance/corpus/valid/live/6.18/sleep/smaps_rollup").read_bytes()
    rollup = run_cli("conformance", "decode", stdin=data)  # kind from the [rollup] header
    assert json.loads(rollup.stdout)["fields"]["Rss"] == "1812"


def test_list() -> None:
    result = conformance("list", "--run", "valid/live/6.18/deleted-file/*")
    assert lines(result) == [
        "valid/live/6.18/deleted-file/smaps\tvalid\t64-bit-addresses arch:x86_64 bits:64 "
        "blanks-in-name deleted kernel:6.18 kind:smaps newline-in-name non-utf8-name "
        "source:live unitless-field",
        "valid/live/6.18/deleted-file/smaps_rollup\tvalid\t64-bit-addresses arch:x86_64 "
        "kernel:6.18 kind:rollup source:live",
        "2 cases, corpus 1.1.0",
    ]
    as_json = conformance("list", "--format", "json", "--skip", "*/smaps_rollup",
                          "--run", "valid/live/6.18/deleted-file/*")  # fmt: skip
    assert as_json.returncode == 0
    manifest = json.loads(as_json.stdout)
    shipped = json.loads((ROOT / "conformance/corpus/manifest.json").read_text())
    assert manifest == {
        **shipped,
        "cases": [c for c in shipped["cases"] if c["id"] == "valid/live/6.18/deleted-file/smaps"],
    }


def test_export_and_run_from_the_export(tmp_path: Path) -> None:
    target = tmp_path / "corpus"
    result = conformance("export", str(target))
    assert result.stdout == f"wrote 672 files into {target}\n"
    as_json = conformance("export", str(tmp_path / "again"), "--format", "json")
    assert json.loads(as_json.stdout) == {"dir": str(tmp_path / "again"), "files": 672}
    tree = ROOT / "conformance" / "corpus"
    for path in tree.rglob("*"):
        if path.is_file():
            assert (target / path.relative_to(tree)).read_bytes() == path.read_bytes()
    (target / "valid/live/6.18/sleep/smaps.json").write_text('{"mappings": []}')
    again = run("--corpus", str(target), *SLEEP, "--", *PLAIN)
    assert lines(again)[0] == (
        "WRONG_VALUE      valid/live/6.18/sleep/smaps: mappings: expected 0 mappings, got 37"
    )


def test_pack_is_versioned_and_reproducible(tmp_path: Path) -> None:
    conformance("pack", "--output", str(tmp_path / "a"))
    first = conformance("pack", "--output", str(tmp_path / "a"))  # over its own earlier one
    conformance("pack", "--output", str(tmp_path / "b"))
    name = "smaps-conformance-1.1.0.tar.gz"
    assert lines(first) == [str(tmp_path / "a" / name), str(tmp_path / "a" / f"{name}.sha256")]
    packed = (tmp_path / "a" / name).read_bytes()
    assert packed == (tmp_path / "b" / name).read_bytes()
    digest = hashlib.sha256(packed).hexdigest()
    assert (tmp_path / "a" / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    as_json = conformance("pack", "--output", str(tmp_path / "c"), "--format", "json")
    assert json.loads(as_json.stdout) == {"tarball": str(tmp_path / "c" / name), "sha256": digest}
    with tarfile.open(tmp_path / "a" / name) as tar:
        names = tar.getnames()
        assert "smaps-conformance-1.1.0/manifest.json" in names
        assert len(names) == 672
        member = tar.extractfile("smaps-conformance-1.1.0/implementation-defined/crlf.smaps")
        assert member is not None
        assert b"\r\n" in member.read()


def test_the_readme_example_is_real() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command, shown = re.findall(r"```console\n\$ (smapsfmt conformance run [^\n]*)\n(.*?)```",
                                readme, re.S)[0]  # fmt: skip
    args = shlex.split(command)[2:]
    args[args.index("python")] = sys.executable
    args = [str(ROOT / a) if a.startswith("conformance/") else a for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", "conformance", *args],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # the installed smapsfmt, outside the tree
    got = result.stdout.replace(sys.executable, "python").replace(f"{ROOT}/", "").splitlines()
    want = [line for line in shown.splitlines() if line != "..."]
    assert [line for line in got if line in want] == want
    assert result.returncode == 1
