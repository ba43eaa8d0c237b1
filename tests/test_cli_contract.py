"""The command line's contract with scripts and shells: repeated options, broken pipes, full or
closed standard streams, JSON for every outcome, one input layer (compressed files, bounded
lines, /proc/PID/maps named), and SIGINT. Every command runs as a user runs it, in a child."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import re
import resource
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from support import INVALID, LIVE, help_text, listed_commands, run_cli, run_main

SLEEP = LIVE / "6.18/sleep"
SMAPS = SLEEP / "smaps"
ROLLUP = SLEEP / "smaps_rollup"
MANY = LIVE / "6.18/many-small/smaps"
MAX_LINE = 65536  # bytes: the bound on a line, which the messages state


def _shell(script: str, *, limit_memory: bool = False) -> subprocess.CompletedProcess[bytes]:
    """``script`` in bash, with "$0" the interpreter (smapsfmt as ``"$0" -m smapsfmt``)."""
    return subprocess.run(
        ["bash", "-c", script, sys.executable], capture_output=True, check=False,
        cwd=tempfile.gettempdir(), timeout=60,
        preexec_fn=_one_gigabyte if limit_memory else None,
    )  # fmt: skip


def _one_gigabyte() -> None:
    """Hold a run that would grow without bound to 1 GiB of address space (it then fails with
    MemoryError instead of taking the machine's memory)."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _interruptible() -> None:
    """SIGINT at its default action, as an interactive shell starts a command: a suite started
    in the background of a shell script inherits SIGINT ignored (POSIX: asynchronous lists
    without job control), and a command started with it ignored rightly goes on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interruptible_in_one_gigabyte() -> None:
    _interruptible()
    _one_gigabyte()


# --- repeated options: refused, by the parsers themselves ----------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "--pid", "1", "--pid", "2"],
        ["parse", "--format", "json", "--format", "text", str(SMAPS)],
        ["parse", "--kind", "smaps", "--kind", "rollup", str(SMAPS)],
        ["rollup", "--kernel", "6.1", "--kernel", "6.6", str(SMAPS)],
        ["check", "--pid", "1", "--freeze-timeout", "1", "--freeze-timeout", "2"],
        ["validate", "--kernel", "5.4", "--kernel", "6.1", str(SMAPS)],
    ],
    ids=["parse-pid", "parse-format", "parse-kind", "rollup-kernel", "check-timeout", "validate"],
)
def test_an_option_given_twice_is_a_usage_error(args: list[str]) -> None:
    result = run_cli(*args)
    option = next(a for a in args[1:] if args.count(a) == 2 and a.startswith("--"))
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        f"smapsfmt: error: argument {option}: given more than once: it takes one value "
        f"(see 'smapsfmt {args[0]} --help')\n"
    )


# The options that may be given more than once (a list of values): every other option of every
# command takes one value, and is refused twice.
REPEATABLE = {
    ("validate", "--select"), ("validate", "--ignore"), ("selftest", "--shape"),
    ("summary", "--fields"), ("diff", "--fields"), ("ps", "--fields"),
}  # fmt: skip
_OPTION = re.compile(r"^  (?:(-\w) [^,]+, |(-\w), )?(--[\w-]+)(?: (\S+))?(?:  |$)")


def _options(text: str) -> list[tuple[list[str], str | None]]:
    """Each option a command's help lists: its option strings, and its metavar (None for a
    flag); the choices of ``{a,b}`` as the metavar."""
    found = []
    for line in text.splitlines():
        match = _OPTION.match(line)
        if match and match.group(3) != "--help":
            short = match.group(1) or match.group(2)
            found.append(([short, match.group(3)] if short else [match.group(3)], match.group(4)))
    return found


def test_every_option_that_takes_one_value_is_refused_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every option of every command, as each command's help lists it: one mechanism, so an
    option added later is covered too; options that take a list stay repeatable."""
    checked = 0
    repeatable = set()
    commands = listed_commands(capsys)
    assert len(commands) >= 15, commands
    for command in commands:
        for strings, metavar in _options(help_text(capsys, command)):
            if metavar is None:
                continue
            value = metavar[1:].split(",")[0].rstrip("}") if metavar.startswith("{") else "1"
            option = strings[-1]
            code = run_main(command, option, value, option, value)
            err = capsys.readouterr().err
            if (command, option) in REPEATABLE:
                # taken twice: whatever the command then says, not that it was given twice
                assert "given more than once" not in err, (command, option, err)
                repeatable.add((command, option))
                continue
            assert code == 2, (command, option)
            assert err.startswith(
                f"smapsfmt: error: argument {'/'.join(strings)}: given more than "
                "once: it takes one value"
            ), (command, option, err)
            checked += 1
    assert checked >= 12
    assert repeatable == REPEATABLE
    both = run_cli("validate", "--select", "layout", "--select", "syntax", str(SMAPS))
    assert (both.returncode, both.stderr) == (0, b"")


# --- broken pipes, full and closed standard output -----------------------------------------------


def test_a_closed_pipe_ends_quietly_with_the_commands_own_status(tmp_path: Path) -> None:
    """`smapsfmt validate BAD | head -1`: the reader goes after one line of 600 kB of
    diagnostics; validate still exits 1 (the file is invalid), and says nothing about the pipe."""
    bad = tmp_path / "smaps"
    bad.write_bytes(
        MANY.read_bytes().replace(b"KernelPageSize:        4 kB", b"KernelPageSize:        8 kB")
    )
    for args, code in ((["validate", str(bad)], 1), (["parse", "--format", "json", str(MANY)], 0)):
        command = " ".join(args)
        script = f'"$0" -m smapsfmt {command} | head -c 100 >/dev/null; exit ${{PIPESTATUS[0]}}'
        result = _shell(script)
        assert (result.returncode, result.stderr) == (code, b""), args


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["parse", "--help"], ["check", "--help"]]
)
def test_help_and_version_report_a_failing_standard_output(args: list[str]) -> None:
    command = " ".join(args)
    full = _shell(f'"$0" -m smapsfmt {command} >/dev/full')
    assert (full.returncode, full.stderr.decode()) == (
        2, "smapsfmt: error: cannot write the output: No space left on device\n"
    )  # fmt: skip
    closed = _shell(f'"$0" -m smapsfmt {command} >&-')
    assert (closed.returncode, closed.stderr.decode()) == (
        2, "smapsfmt: error: cannot write the output: standard output is closed\n"
    )  # fmt: skip
    piped = _shell(f'"$0" -m smapsfmt {command} | true; exit ${{PIPESTATUS[0]}}')
    assert (piped.returncode, piped.stderr) == (0, b"")


# --- --version names the parser's path ---------------------------------------------------------


def test_version_names_the_parsers_path_and_why(tmp_path: Path) -> None:
    """The C accelerator when the installed package has the C module and nothing turns it off;
    pure Python otherwise, with the reason: the variable, or a package installed without a C
    compiler (here a copy of the installed package without the module's file)."""
    import shutil

    import smapsfmt

    installed = Path(smapsfmt.__file__).parent
    built = sorted((installed / "_parse").glob("_match.*.so"))
    version = f"smapsfmt {smapsfmt.__version__}\n"
    result = run_cli("--version", env_extra={"SMAPSFMT_PURE_PYTHON": "0"})
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode() == version + (
        "parser: C accelerator\n" if built else
        "parser: pure Python (the C module was not built at install)\n"
    )  # fmt: skip
    pure = run_cli("--version", env_extra={"SMAPSFMT_PURE_PYTHON": "1"})
    assert pure.stdout.decode() == version + "parser: pure Python (SMAPSFMT_PURE_PYTHON=1)\n"
    # A site-packages of its own: a run under coverage reports the copy's files as the tree's
    # (pyproject.toml, [tool.coverage.paths]), as it does the installed package's.
    site = tmp_path / "site-packages"
    shutil.copytree(
        installed, site / "smapsfmt", ignore=shutil.ignore_patterns("_match.*.so", "__pycache__")
    )
    in_copy = {"PYTHONPATH": str(site), "SMAPSFMT_PURE_PYTHON": "0"}
    unbuilt = run_cli("--version", env_extra=in_copy)
    assert unbuilt.stdout.decode() == (
        version + "parser: pure Python (the C module was not built at install)\n"
    ), unbuilt.stderr
    # a module that is there but does not load (a broken build: here an empty file)
    broken = site / "smapsfmt" / "_parse" / f"_match{sysconfig.get_config_var('EXT_SUFFIX')}"
    broken.write_bytes(b"")
    loads_not = run_cli("--version", env_extra=in_copy)
    assert loads_not.stdout.decode() == (
        version + f"parser: pure Python (the C module does not load: {broken}: file too short)\n"
    ), loads_not.stderr


# --- standard input closed -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["rollup", "-"], ["check", "-", str(ROLLUP)], ["check", str(SMAPS), "-"]]
)
def test_closed_standard_input_is_a_usage_error(args: list[str]) -> None:
    result = _shell(f'"$0" -m smapsfmt {" ".join(args)} <&-')
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        "smapsfmt: error: cannot read <stdin>: standard input is closed\n"
    )
    as_json = _shell(f'"$0" -m smapsfmt {" ".join(args)} --format json <&-')
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout) == {
        "error": {
            "kind": "input", "rule": None, "path": None, "line": None, "column": None,
            "message": "cannot read <stdin>: standard input is closed", "exit": 2,
        }
    }  # fmt: skip


# --- --format json: every outcome is JSON on stdout ----------------------------------------------


def test_a_syntax_error_is_a_json_error_object_in_every_command(tmp_path: Path) -> None:
    broken = INVALID / "bad-perms.smaps"
    expected = {
        "error": {
            "kind": "syntax", "rule": "syntax", "path": str(broken), "line": 1, "column": 27,
            "message": "expected the permissions: r or -, w or -, x or -, then s or p, found "
            "'r--x'",
            "exit": 1,
        }
    }  # fmt: skip
    text = run_cli("parse", str(broken))
    for args in (
        ["parse", str(broken)],
        ["rollup", str(broken)],
        ["check", str(broken), str(ROLLUP)],
    ):
        result = run_cli(*args, "--format", "json")
        assert result.returncode == 1, args
        assert json.loads(result.stdout) == expected, args
        assert result.stderr == text.stderr  # people still read the located message
    assert text.stdout == b""  # in text mode, stdout carries only results


NO_PROCESS = "no process 99999999: /proc/99999999 does not exist"


@pytest.mark.parametrize(
    ("args", "kind", "code", "message"),
    [
        (["parse"], "usage", 2, "FILE or --pid PID is required (see 'smapsfmt parse --help')"),
        (["rollup", "/nonexistent"], "input", 2, "cannot read /nonexistent: No such file or "
         "directory"),
        (["check", str(SMAPS), "/"], "input", 2, "cannot read /: Is a directory"),
        (["rollup", "--kernel", "2.4", str(SMAPS)], "usage", 2, "no profile for Linux 2.4: "
         "the profiles cover 2.6.20 to 7.3"),
        (["parse", "--pid", "99999999"], "process", 4, NO_PROCESS),
        (["check", "--pid", "99999999"], "process", 4, NO_PROCESS),
        # argparse's own refusals, before any command runs: the format is read from the words
        (["validate", "--bogus", str(SMAPS)], "usage", 2, "unrecognized arguments: --bogus "
         "(see 'smapsfmt --help')"),
        (["summary", "--top", "abc", str(SMAPS)], "usage", 2, "argument --top: expected a whole "
         "number above 0, not 'abc' (see 'smapsfmt summary --help')"),
    ],
)  # fmt: skip
def test_errors_are_json_error_objects(
    args: list[str], kind: str, code: int, message: str
) -> None:
    result = run_cli(*args, "--format", "json")
    assert result.returncode == code
    error = json.loads(result.stdout)["error"]
    assert (error["kind"], error["exit"]) == (kind, code)
    assert error["message"] == message, error
    assert result.stderr.decode() == f"smapsfmt: error: {error['message']}\n"


def test_a_usage_error_reads_the_format_in_either_spelling() -> None:
    joined = run_cli("rollup", "--format=json", "--kernel")
    assert joined.returncode == 2
    assert json.loads(joined.stdout)["error"]["message"] == (
        "argument --kernel: expected one argument (see 'smapsfmt rollup --help')"
    )
    # The words after -- belong to the decoder under test, not to smapsfmt
    other = run_cli("conformance", "run", "--bogus", "--", "cat", "--format", "json")
    assert (other.returncode, other.stdout) == (2, b"")
    assert b"unrecognized arguments: --bogus" in other.stderr
    text = run_cli("rollup", "--format", "text", "--kernel")
    assert (text.returncode, text.stdout) == (2, b"")


class _Broken(io.RawIOBase):
    """A standard input whose every read fails with an error no command expects."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise RuntimeError("boom")


def test_an_internal_error_has_the_same_object(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure no command foresaw (here, standard input raising RuntimeError): exit 3, one
    line on stderr, and with --format json the error object on stdout."""
    text = "smapsfmt: internal error: RuntimeError: boom (please report this)\n"
    for fmt in ("text", "json"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(_Broken())))
        assert run_main("parse", "--format", fmt, "-") == 3
        out, err = capsys.readouterr()
        assert err == text
        if fmt == "text":
            assert out == ""
            continue
        assert json.loads(out) == {
            "error": {
                "kind": "internal", "rule": None, "path": None, "line": None, "column": None,
                "message": "RuntimeError: boom (please report this)", "exit": 3,
            }
        }  # fmt: skip


# --- messages that lead somewhere: swapped arguments, a maps file --------------------------------


def test_check_with_the_files_swapped_says_so() -> None:
    result = run_cli("check", str(ROLLUP), str(SMAPS))
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        f"smapsfmt: error: SMAPS_FILE and ROLLUP_FILE are swapped: {ROLLUP} is a smaps_rollup "
        f"and {SMAPS} a smaps; give the smaps first (see 'smapsfmt check --help')\n"
    )


def test_a_maps_file_is_named_as_such_in_one_message(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.write_bytes(Path("/proc/self/maps").read_bytes())  # a real one: this process's
    expected = (
        f"{maps}:1:1: syntax: this is a /proc/PID/maps file (mapping headers only, no field "
        "lines), not smaps or smaps_rollup: read /proc/PID/smaps instead\n"
    )
    for args in (
        ["parse", str(maps)],
        ["rollup", str(maps)],
        ["check", str(maps), str(ROLLUP)],
    ):
        result = run_cli(*args)
        assert (result.returncode, result.stdout, result.stderr.decode()) == (1, b"", expected)
    # validate reports it as its result, on stdout, as any FILE's syntax error
    result = run_cli("validate", str(maps))
    assert (result.returncode, result.stdout.decode(), result.stderr) == (
        1, expected + f"{maps}: smaps, 0 mappings: 1 error, 0 warnings; no profile (not read to "
        "its end)\n", b"",
    )  # fmt: skip
    live = run_cli("parse", "/proc/self/maps")
    assert live.returncode == 1
    assert live.stderr.decode().startswith("/proc/self/maps:1:1: syntax: this is a /proc/PID/maps")


# --- compressed input: one layer for every command -----------------------------------------------


def _compressed(tmp_path: Path, data: bytes, kind: str) -> Path:
    import zstandard

    path = tmp_path / f"{kind}-input"
    if kind == "gzip":
        path.write_bytes(gzip.compress(data))
    elif kind == "xz":
        path.write_bytes(lzma.compress(data))
    else:
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    return path


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd"])
def test_compressed_input_is_read_by_every_command(tmp_path: Path, kind: str) -> None:
    smaps = _compressed(tmp_path, SMAPS.read_bytes(), kind)
    rollup = _compressed(tmp_path / "..", ROLLUP.read_bytes(), kind)
    rollup = rollup.rename(tmp_path / f"{kind}-rollup")
    for plain, packed in (
        (["parse", "--format", "json", str(SMAPS)], ["parse", "--format", "json", str(smaps)]),
        (["validate", str(SMAPS)], ["validate", str(smaps)]),
        (["rollup", str(SMAPS)], ["rollup", str(smaps)]),
        (["check", str(SMAPS), str(ROLLUP)], ["check", str(smaps), str(rollup)]),
    ):
        want, got = run_cli(*plain), run_cli(*packed)
        assert got.returncode == want.returncode == 0, (packed, got.stderr)
        shown = got.stdout.replace(str(smaps).encode(), str(SMAPS).encode())
        assert shown.replace(str(rollup).encode(), str(ROLLUP).encode()) == want.stdout
    piped = run_cli("parse", "-", stdin=smaps.read_bytes())
    assert piped.stdout == run_cli("parse", str(SMAPS)).stdout


def test_corrupt_compressed_input_is_unreadable(tmp_path: Path) -> None:
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(SMAPS.read_bytes())[:200])
    result = run_cli("parse", str(cut))
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        f"smapsfmt: error: cannot read {cut}: not valid gzip data (Compressed file ended "
        "before the end-of-stream marker was reached)\n"
    )


def test_zstd_without_a_decompressor_says_what_to_install(tmp_path: Path) -> None:
    smaps = _compressed(tmp_path, SMAPS.read_bytes(), "zstd")
    code = (
        "import sys; sys.modules['zstandard'] = None; sys.modules['compression'] = None; "
        "sys.argv[0] = 'smapsfmt'; import smapsfmt.__main__; smapsfmt.__main__.entry_point()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "parse", str(smaps)], capture_output=True, check=False,
        cwd=tempfile.gettempdir(), timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        f"smapsfmt: error: cannot read {smaps}: it is zstd-compressed, and reading zstd needs "
        "Python 3.14 or the zstandard package: pip install 'smapsfmt[zstd]' (or decompress it "
        "first: zstd -dc FILE | smapsfmt COMMAND -)\n"
    )


# --- bounded lines: an endless or huge line is an error at its line ------------------------------

LONG = f"syntax: line longer than {MAX_LINE} bytes: no kernel prints one"


def test_validate_dev_zero_ends_at_once_with_a_located_error() -> None:
    started = time.monotonic()
    result = _shell('"$0" -m smapsfmt validate /dev/zero', limit_memory=True)
    assert result.returncode == 1, result.stderr[-300:]
    assert result.stdout.decode().splitlines()[0] == f"/dev/zero:1:{MAX_LINE + 1}: {LONG}"
    assert time.monotonic() - started < 30


def test_a_long_line_is_located_in_every_command(tmp_path: Path) -> None:
    text = SMAPS.read_bytes()
    lines = text.count(b"\n")
    long_line = tmp_path / "smaps"
    long_line.write_bytes(text + b"x" * (MAX_LINE + 1) + b"\n")
    first = f"{long_line}:{lines + 1}:{MAX_LINE + 1}: {LONG}"
    for args in (
        ["parse", str(long_line)],
        ["validate", str(long_line)],
        ["rollup", str(long_line)],
        ["check", str(long_line), str(ROLLUP)],
        ["check", str(SMAPS), str(long_line)],
    ):
        result = run_cli(*args)
        # validate reports it as its result, on stdout; the other commands on stderr
        said, quiet = (result.stdout, result.stderr)[:: 1 if args[0] == "validate" else -1]
        assert (result.returncode, quiet) == (1, b""), args
        assert said.decode().splitlines()[0] == first, args


def test_a_decompression_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (256 << 20), compresslevel=9))  # 256 MiB in 250 kB
    result = _shell(f'"$0" -m smapsfmt parse {bomb}', limit_memory=True)
    assert result.returncode == 1, result.stderr[-300:]
    assert result.stderr.decode().splitlines()[0] == f"{bomb}:1:{MAX_LINE + 1}: {LONG}"


@pytest.mark.parametrize("start", [0, 1, (1 << 20) - MAX_LINE - 3, (1 << 20) - 5, (1 << 20) + 7])
@pytest.mark.parametrize("where", ["pipe", "disk"])
def test_the_bound_is_exact_across_pieces(start: int, where: str, tmp_path: Path) -> None:
    """A line of MAX_LINE bytes is held, one of MAX_LINE + 1 is refused at its own line, wherever
    it lies against the 1 MiB pieces the layer reads (from a pipe), or in a file on disk, read
    whole. validate reads the whole text before it checks it: a held line lets it reach the
    end (the last line's missing newline, located after its 10 bytes)."""

    def validate(data: bytes) -> list[str]:
        if where == "pipe":
            result = run_cli("validate", "-", stdin=data)
        else:
            (tmp_path / "x").write_bytes(data)
            result = run_cli("validate", str(tmp_path / "x"))
        assert (result.returncode, result.stderr) == (1, b""), result.stderr[-300:]
        name = "<stdin>" if where == "pipe" else str(tmp_path / "x")
        return [line.removeprefix(f"{name}:") for line in result.stdout.decode().splitlines()]

    before = b"\n" * start
    held = validate(before + b"y" * MAX_LINE + b"\n" + b"z" * 10)
    assert not any("line longer" in line for line in held), f"start={start}"
    final = "layout-final-newline: the text ends without a newline: the kernel ends every line"
    assert f"{start + 2}:11: {final} with one" in held, f"start={start}"
    refused = validate(before + b"y" * (MAX_LINE + 1))
    assert refused[0] == f"{start + 1}:{MAX_LINE + 1}: {LONG}", f"start={start}"


# --- SIGINT: any command stops at once, exit 130 -------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "-"],
        ["validate", "-"],
        ["rollup", "-"],
        ["check", "-", str(ROLLUP)],
        ["parse", "-", "--format", "json"],
    ],
)
def test_sigint_stops_a_command_reading_an_endless_pipe(args: list[str]) -> None:
    entry = SMAPS.read_bytes().split(b"\n7")[0].decode()  # the first mapping, repeated forever
    writer = subprocess.Popen(["yes", entry], stdout=subprocess.PIPE)
    try:
        reader = subprocess.Popen(
            [sys.executable, "-m", "smapsfmt", *args], stdin=writer.stdout,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tempfile.gettempdir(),
            preexec_fn=_interruptible_in_one_gigabyte,  # noqa: PLW1509 - the test starts no thread
        )  # fmt: skip
        assert writer.stdout is not None
        writer.stdout.close()
        deadline = time.monotonic() + 30
        while _bytes_read(reader.pid) < (4 << 20) and time.monotonic() < deadline:
            time.sleep(0.01)
        reader.send_signal(signal.SIGINT)
        try:
            out, err = reader.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.communicate()
            pytest.fail(f"{args}: still running 10 s after SIGINT")
        assert (reader.returncode, err) == (130, b"smapsfmt: interrupted\n"), args
        if "json" in args:
            assert json.loads(out)["error"] == {
                "kind": "interrupted", "rule": None, "path": None, "line": None,
                "column": None, "message": "interrupted", "exit": 130,
            }  # fmt: skip
        else:
            assert out == b""
    finally:
        writer.kill()
        writer.wait()


def _bytes_read(pid: int) -> int:
    try:
        io_lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except OSError:
        return 1 << 62  # gone: communicate() tells what happened
    return int(next(line for line in io_lines if line.startswith("rchar:")).split()[1])


def test_sigint_is_not_a_hang_when_stdin_is_a_silent_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # held open and silent: a read blocks
    try:
        reader = subprocess.Popen(
            [sys.executable, "-m", "smapsfmt", "rollup", str(fifo)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=tempfile.gettempdir(),
            preexec_fn=_interruptible,  # noqa: PLW1509 - the test starts no thread
        )  # fmt: skip
        time.sleep(1.0)
        reader.send_signal(signal.SIGINT)
        _, err = reader.communicate(timeout=10)
        assert (reader.returncode, err) == (130, b"smapsfmt: interrupted\n")
    finally:
        os.close(writer)


def _columns_argparse_takes(columns: str | None) -> int:
    """The width argparse's formatter starts from in a child whose stdout is a pipe, with
    COLUMNS set so (shutil.get_terminal_size, which argparse asks)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")}
    if columns is not None:
        env["COLUMNS"] = columns
    result = subprocess.run(
        [sys.executable, "-c", "import shutil; print(shutil.get_terminal_size().columns)"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return int(result.stdout)


def _help_with(columns: str | None) -> str:
    env = {} if columns is None else {"COLUMNS": columns}
    if columns is None:
        result = subprocess.run(
            [sys.executable, "-m", "smapsfmt", "parse", "--help"], capture_output=True,
            env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")},
            cwd=tempfile.gettempdir(), timeout=60, check=True,
        )  # fmt: skip
    else:
        result = run_cli("parse", "--help", env_extra=env)
    return result.stdout.decode()


@pytest.mark.parametrize("columns", [None, "", "x", "-3", "0", "57", "200"])
def test_help_is_as_wide_as_argparse_would_make_it(columns: str | None) -> None:
    """The parsers' formatter finds the width as argparse does (shutil), without shutil: the
    help under COLUMNS as given is the help under the width argparse takes from it, and its
    description is wrapped as argparse's own formatter wraps it at that width."""
    import argparse

    width = _columns_argparse_takes(columns)
    shown = _help_with(columns)
    assert shown == _help_with(str(width))
    description = shown.split("\n\n")[1]
    formatter = argparse.HelpFormatter("smapsfmt parse", width=width - 2)  # as argparse does
    formatter.add_text(" ".join(description.split()))
    assert formatter.format_help() == description + "\n"
    assert max(len(line) for line in shown.splitlines()) <= width - 2
