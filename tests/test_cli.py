"""The command line, run as a user runs it: exit codes, messages, no traceback ever."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support import EXTERNAL, INVALID, LIVE, ROOT, run_cli

SHORT = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"
ROLLUP = EXTERNAL / "pcp/procpid-5.5.7-root-007/proc/1/smaps_rollup"


def test_parse_json_equals_the_expected_result() -> None:
    result = run_cli("parse", "--format", "json", str(SHORT))
    assert result.returncode == 0, result.stderr
    expected = json.loads(Path(f"{SHORT}.expected.json").read_text())
    assert json.loads(result.stdout) == expected


def test_parse_detects_a_rollup() -> None:
    result = run_cli("parse", "--format", "json", str(ROLLUP))
    assert result.returncode == 0
    assert json.loads(result.stdout)["fields"]["Rss"] == 10540


def test_parse_text() -> None:
    result = run_cli("parse", str(SHORT))
    assert result.returncode == 0
    out = result.stdout.decode()
    assert out.splitlines()[0] == (
        "54c00000-56c00000 r-xp 00000000 00:00 0 [anon:dalvik-zygote-jit-code-cache]"
    )
    assert "  Name: [anon:dalvik-zygote-jit-code-cache]" in out
    assert "  Pss:                  113 kB" in out
    assert out.rstrip().endswith("# 6 mappings")


def test_parse_stdin() -> None:
    result = run_cli("parse", "-", "--format", "json", stdin=SHORT.read_bytes())
    assert result.returncode == 0
    assert len(json.loads(result.stdout)["mappings"]) == 6


def test_syntax_error_is_located() -> None:
    broken = INVALID / "bad-perms.smaps"
    result = run_cli("parse", str(broken))
    assert result.returncode == 1
    assert result.stdout == b""  # diagnostics go to stderr
    lines = result.stderr.decode().splitlines()
    assert lines[0] == (
        f"{broken}:1:27: syntax: expected the permissions: r or -, w or -, x or -, then s or p, "
        "found 'r--x'"
    )
    assert lines[2].index("^") == lines[1].index("r--x")


def test_syntax_error_from_stdin_names_stdin() -> None:
    result = run_cli("parse", "-", stdin=b"junk\n")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("<stdin>:1:1: syntax: not a smaps line")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["parse", "/nonexistent/smaps"],
            "smapsfmt: error: cannot read /nonexistent/smaps: No such file or directory",
        ),
        (["parse", "/"], "smapsfmt: error: cannot read /: Is a directory"),
        (
            ["parse"],
            "smapsfmt: error: FILE or --pid PID is required (see 'smapsfmt parse --help')",
        ),
        (
            ["parse", "x", "--format", "yaml"],
            "smapsfmt: error: argument --format: invalid "
            "choice: 'yaml' (choose from text, json) (see 'smapsfmt parse --help')",
        ),
        ([], "smapsfmt: error: a COMMAND is required (see 'smapsfmt --help')"),
        (["frobnicate"], None),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str | None) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    if message is not None:
        assert err.rstrip("\n") == message.replace("'text', 'json'", "text, json") or (
            err.startswith("smapsfmt: error: argument --format: invalid choice: 'yaml'")
        )


def test_no_traceback_on_any_broken_input() -> None:
    for path in sorted(INVALID.iterdir()):
        if path.name.endswith(".expected-error"):
            continue
        kind = "rollup" if "rollup" in path.name else "smaps"
        result = run_cli("parse", "--kind", kind, str(path))
        assert result.returncode == 1, path
        assert b"Traceback" not in result.stdout + result.stderr


def test_schema() -> None:
    for kind in ("smaps", "rollup"):
        result = run_cli("schema", kind)
        assert result.returncode == 0
        schema = json.loads(result.stdout)
        assert schema["type"] == "object"


def test_help_and_version() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert b"parse" in result.stdout and b"Exit status" in result.stdout
    assert run_cli("--version").stdout.startswith(b"smapsfmt ")


def test_console_script_runs_from_another_directory(tmp_path: Path) -> None:
    beside = Path(sys.executable).parent / "smapsfmt"
    script = str(beside) if beside.exists() else shutil.which("smapsfmt")
    if script is None:
        pytest.fail("the smapsfmt console script is not installed: run pip install .")
    capture = LIVE / "6.18/sleep/smaps"
    result = subprocess.run(
        [script, "parse", "--format", "json", str(capture)],
        cwd=tmp_path, capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["mappings"]) == 37


def test_installed_package_carries_its_grammar() -> None:
    import smapsfmt

    package_dir = Path(smapsfmt.__file__).resolve().parent
    if ROOT in package_dir.parents:
        # Running from the source tree (editable install): the grammar comes from grammar/.
        grammar = ROOT / "grammar/smaps.lark"
    else:
        # Installed from a wheel: the grammar is inside the package.
        grammar = package_dir / "_data/grammar/smaps.lark"
    assert "HEADER:" in grammar.read_text()


CAPTURE = LIVE / "6.18/sleep/smaps"


@pytest.mark.parametrize(
    ("redirect", "code", "message"),
    [
        ("<&-", 2, "smapsfmt: error: cannot read <stdin>: standard input is closed"),
        (">&-", 2, "smapsfmt: error: cannot write the output: standard output is closed"),
        (">/dev/full", 2, "smapsfmt: error: cannot write the output: No space left on device"),
        ("2>&-", 0, ""),
    ],
)
def test_closed_or_failing_standard_streams(redirect: str, code: int, message: str) -> None:
    source = "-" if redirect == "<&-" else str(CAPTURE)
    rollup = str(CAPTURE.parent / "smaps_rollup")
    commands = [
        ["parse", source, "--format", "json"],
        ["parse", source],
        ["validate", source],
        ["rollup", source],
        ["rollup", source, "--format", "json"],
        ["check", source, rollup],
        ["check", source, rollup, "--format", "json"],
    ]
    if redirect != "<&-":
        commands += [["schema", "check"], ["schema", "--list"]]
    for command in commands:
        script = f'"$0" -m smapsfmt {" ".join(command)} {redirect}'
        result = subprocess.run(
            ["bash", "-c", script, sys.executable], capture_output=True, check=False,
            cwd=tempfile.gettempdir(), timeout=60,
        )  # fmt: skip
        assert result.returncode == code, (command, result.stderr)
        last = result.stderr.decode().splitlines()[-1:]  # after notes, if any (rollup)
        assert last == ([message] if message else []), command


def test_standard_input_only_once() -> None:
    result = run_cli("validate", "-", "-", stdin=b"")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "smapsfmt: error: standard input ('-') can be given only once\n"
    )


def _interruptible() -> None:
    """SIGINT at its default action, as an interactive shell starts a command (a suite run in
    the background of a script inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("command", ["rollup", "validate"])
def test_sigint_while_waiting_for_input_gives_the_json_error_object(
    tmp_path: Path, command: str
) -> None:
    """Ctrl-C while a command waits on a silent FIFO, with --format json: the interrupted
    error object on stdout (a script reading it is not left with nothing), one line on
    stderr, exit 130."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # held open and silent: the command's read blocks
    try:
        reader = subprocess.Popen(
            [sys.executable, "-m", "smapsfmt", command, str(fifo), "--format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tempfile.gettempdir(),
            preexec_fn=_interruptible,  # noqa: PLW1509 - the test starts no thread
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not _has_open(reader.pid, fifo):  # past start-up: it reads the FIFO
                assert reader.poll() is None and time.monotonic() < deadline, command
                time.sleep(0.01)
            reader.send_signal(signal.SIGINT)
            out, err = reader.communicate(timeout=30)
        finally:
            reader.kill()
            reader.wait()
    finally:
        os.close(writer)
    assert (reader.returncode, err) == (130, b"smapsfmt: interrupted\n")
    assert json.loads(out) == {
        "error": {"kind": "interrupted", "rule": None, "path": None, "line": None,
                  "column": None, "message": "interrupted", "exit": 130},
    }  # fmt: skip


def _has_open(pid: int, path: Path) -> bool:
    folder = f"/proc/{pid}/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"{folder}/{name}") == str(path):
                return True
        except OSError:
            continue
    return False
