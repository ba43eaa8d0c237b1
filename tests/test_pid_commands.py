"""``rollup --pid`` and ``check --pid`` on a running process the test starts and shapes: the
pair is read while the process is frozen, so check proves it consistent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import run_cli

import smapsfmt

TARGET = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    anon = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    anon.write(b"x" * (8 << 20))
    shared = mmap.mmap(-1, 4 << 20)
    shared.write(b"y" * (4 << 20))
    locked = mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    locked.write(b"z" * (1 << 20))
    buf = (ctypes.c_char * 1).from_buffer(locked)
    libc.mlock(ctypes.c_void_p(ctypes.addressof(buf)), ctypes.c_size_t(1 << 20))
    print("ready", flush=True)
    sys.stdin.read()
    """
)


@pytest.fixture
def target() -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TARGET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_check_pid_proves_a_frozen_pair(target: int) -> None:
    # The target is frozen while both files are read, so what only it changes (Rss,
    # Anonymous, Private_Dirty, Locked...) is always proven. Shared library pages also count
    # other processes' mappings, which a process starting or exiting elsewhere can change
    # between the two reads (README, "Freezing"): such a pair is re-read, a few times at most.
    outputs = []
    for _ in range(5):
        result = run_cli("check", "--pid", str(target))
        out = result.stdout.decode()
        outputs.append(out)
        for field in ("Rss", "Anonymous", "Private_Dirty", "Locked", "Swap"):
            assert f"rollup-sum: {field} is" not in out, out
        if result.returncode == 0:
            break
    assert result.returncode == 0, outputs
    assert (
        out.rstrip()
        .splitlines()[-1]
        .startswith(f"/proc/{target}/smaps_rollup: consistent with /proc/{target}/smaps")
    )
    assert "22 of 22 fields proven" in out
    assert b"warning" not in result.stderr  # frozen: no inconsistency to report


def test_check_pid_json(target: int) -> None:
    for _ in range(5):  # re-read as above when another process moved a shared page's count
        result = run_cli("check", "--pid", str(target), "--format", "json")
        if result.returncode == 0:
            break
    assert result.returncode == 0
    proof = json.loads(result.stdout)
    assert (proof["consistent"], proof["diagnostics"]) == (True, [])


def test_rollup_pid_matches_the_kernel(target: int) -> None:
    result = run_cli("rollup", "--pid", str(target), "--format", "json")
    assert result.returncode == 0, result.stderr
    computed = json.loads(result.stdout)
    kernel = smapsfmt.parse_rollup(Path(f"/proc/{target}/smaps_rollup").read_bytes())
    # The target is idle: its byte-counted fields do not move between the two reads.
    for field in ("Rss", "Anonymous", "Private_Dirty", "Locked"):
        assert computed["fields"][field] == kernel.fields[field], field
    assert computed["fields"]["Locked"] >= 1024  # the mlocked MiB
    assert (computed["start"], computed["end"]) == (f"{kernel.start:08x}", f"{kernel.end:08x}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check"], "smapsfmt: error: SMAPS_FILE and ROLLUP_FILE, or --pid PID, are required "
                    "(see 'smapsfmt check --help')"),
        (["check", "a", "b", "--pid", "1"],
         "smapsfmt: error: give either SMAPS_FILE ROLLUP_FILE or --pid PID, not both"),
        (["rollup"], "smapsfmt: error: SMAPS_FILE or --pid PID is required "
                     "(see 'smapsfmt rollup --help')"),
        (["rollup", "a", "--pid", "1"],
         "smapsfmt: error: give either FILE or --pid PID, not both "
         "(see 'smapsfmt rollup --help')"),
        # how to read a live process, given with a file: refused, not ignored
        (["validate", "--no-freeze", "a"],
         "smapsfmt: error: --no-freeze applies to --pid PID only "
         "(see 'smapsfmt validate --help')"),
        (["rollup", "--freeze-timeout", "3", "a"],
         "smapsfmt: error: --freeze-timeout applies to --pid PID only "
         "(see 'smapsfmt rollup --help')"),
        (["check", "--no-freeze", "--freeze-timeout", "2", "a", "b"],
         "smapsfmt: error: --no-freeze and --freeze-timeout apply to --pid PID only "
         "(see 'smapsfmt check --help')"),
        (["parse", "--pid", "self", "--freeze-timeout", "nan"],
         "smapsfmt: error: --freeze-timeout must be a finite number of seconds above 0, "
         "not nan"),
    ],
)  # fmt: skip
def test_usage(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.decode().rstrip("\n") == message


def test_vanished_pid() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    for command in ("check", "rollup"):
        result = run_cli(command, "--pid", str(proc.pid))
        assert result.returncode == 4  # NoSuchProcessError
        assert result.stderr.decode().startswith(f"smapsfmt: error: no process {proc.pid}")
