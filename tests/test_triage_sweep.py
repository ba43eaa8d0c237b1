"""The process sweep (smapsfmt.triage.sweep): real processes, the real /proc."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import triage_targets
from support import VALID, corpus, is_rollup

import smapsfmt
from smapsfmt.triage import kernel_rollup
from smapsfmt.triage import sweep as sw

# Fields the kernel sums exactly (bytes): equal in a stopped process, read twice. Its clean
# file pages are counted as shared or private by how many processes map them at the moment
# (fs/proc/task_mmu.c smaps_account, 6.18: its mapcount, or folio_maybe_mapped_shared), which
# others starting or ending change: only their sum is the stopped process's own.
EXACT = ("Rss", "Private_Dirty", "Anonymous", "Swap")


def _exact(fields: dict[str, int]) -> dict[str, int]:
    clean = fields["Shared_Clean"] + fields["Private_Clean"]
    return {**{name: fields[name] for name in EXACT}, "clean": clean}


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = triage_targets.start(40, tmp_path / "backing", kib=2048)
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_stopped_process_is_read_as_read_rollup_reads_it(
    stopped: subprocess.Popen[str],
) -> None:
    result = sw.sweep(cgroup=True)
    found = {p.pid: p for p in result.processes}
    assert stopped.pid in found, result
    process = found[stopped.pid]
    rollup = smapsfmt.read_rollup(stopped.pid)
    assert _exact(process.fields) == _exact(rollup.fields)
    assert process.fields["Anonymous"] >= 2048
    assert process.uss == process.fields["Private_Clean"] + process.fields["Private_Dirty"]
    assert process.user == "root" and process.uid == 0
    assert process.comm == "python3" or process.comm.startswith("python")
    assert "triage_targets.py 40" in process.cmdline
    assert process.cgroup is not None and process.cgroup.startswith("/")
    with open(f"/proc/{stopped.pid}/stat", "rb") as handle:
        assert process.starttime == int(handle.read().rpartition(b") ")[2].split()[19])


def test_kernel_threads_are_counted_and_left_out() -> None:
    with open("/proc/2/stat", "rb") as handle:  # kthreadd, the parent of every kernel thread
        assert b"(kthreadd)" in handle.read()
    for stat in (True, False):  # without stat, known by its smaps_rollup's refusal, then stat
        result = sw.sweep(cmdline=False, stat=stat)
        assert result.kernel_threads >= 1
        assert 2 not in {p.pid for p in result.processes}
        assert 2 not in {s.pid for s in result.skipped}


def test_kernel_threads_are_told_by_one_read_of_their_stat() -> None:
    """The sweep reads the stat of kthreadd's children first, and leaves out those whose stat
    says kernel thread: each pid it names is a kernel thread or gone; a process, a pid that is
    gone and a pid that is no number's are not kernel threads (they are read as processes)."""
    hinted = sw._kernel_thread_pids("/proc")
    assert 2 in hinted and len(hinted) > 1, sorted(hinted)
    for pid in hinted:  # a kernel worker may end between the two reads
        assert sw._is_kernel_thread(pid, "/proc") or not os.path.exists(f"/proc/{pid}"), pid
    gone = subprocess.Popen(["true"])
    gone.wait()
    for pid in (os.getpid(), 1, gone.pid, 0):
        assert not sw._is_kernel_thread(pid, "/proc"), pid
    result = sw.sweep([2, os.getpid()], stat=False)
    assert (result.kernel_threads, [p.pid for p in result.processes]) == (1, [os.getpid()])


def test_a_process_that_is_gone_or_a_zombie_is_skipped_as_exited() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while True:  # a zombie until it is reaped
        with open(f"/proc/{child.pid}/stat", "rb") as handle:
            if handle.read().rpartition(b") ")[2][:1] == b"Z":
                break
    free = max(sw.list_pids()) + 100_000
    result = sw.sweep([child.pid, free])
    as_ps = sw.sweep([child.pid, free], stat=False)
    child.wait()
    assert [(s.pid, s.reason, s.message) for s in as_ps.skipped] == [
        (s.pid, s.reason, s.message) for s in result.skipped
    ]
    assert [(s.pid, s.reason) for s in result.skipped] == [(child.pid, "exited"), (free, "exited")]
    comm = Path(sys.executable).name[:15]
    assert result.skipped[0].message == (
        f"process {child.pid} ({comm}) is a zombie: it has exited and has no memory map left "
        "(its parent has not reaped it yet)"
    )
    assert result.skipped[0].comm == comm
    assert result.skipped[1].message == f"no process {free}: /proc/{free} does not exist"
    assert result.processes == []
    # a zombie is told by the short path: the sweep loads neither the safe reader nor its errors
    code = (
        "import subprocess, sys\nfrom smapsfmt.triage.sweep import sweep\n"
        "child = subprocess.Popen(['true'])\n"
        "while open(f'/proc/{child.pid}/stat', 'rb').read().rpartition(b') ')[2][:1] != b'Z':\n"
        "    pass\n"
        "for stat in (True, False):\n"
        "    result = sweep([child.pid], stat=stat)\n"
        "    assert [(s.reason, s.comm) for s in result.skipped] == [('exited', 'true')]\n"
        "print(sorted(m for m in sys.modules if m.startswith('smapsfmt._live')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout == "['smapsfmt._live', 'smapsfmt._live.facts']\n", out.stderr


def test_a_process_that_may_not_be_read_is_skipped_as_denied(
    stopped: subprocess.Popen[str],
) -> None:
    """As nobody, root's processes are not readable: each is listed, none raises."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the fork, as nobody
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            r = sw.sweep([stopped.pid, os.getpid()], cgroup=True)
            lines = [
                repr([(s.pid, s.reason) for s in r.skipped]),
                repr([(p.pid, p.user) for p in r.processes]),
                r.skipped[0].message,
            ]
            # as ps sweeps (stat=False), and by the careful path alone: the same entry
            careful = sw.Sweep()
            sw._careful(careful, stopped.pid, root="/proc", cmdline=True, cgroup=False,
                        keep_text=False)  # fmt: skip
            for other in (sw.sweep([stopped.pid], stat=False), careful):
                lines.append(repr([(s.pid, s.reason, s.message, s.comm) for s in other.skipped]))
            os.write(write, "\n".join(lines).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        lines = pipe.read().splitlines()
    os.waitpid(child, 0)
    assert lines[0] == f"[({stopped.pid}, 'denied')]"
    assert lines[1] == f"[({child}, 'nobody')]"  # itself: readable
    assert (
        lines[3]
        == lines[4]
        == repr([(stopped.pid, "denied", lines[2], Path(sys.executable).name[:15])])
    )
    assert lines[2] == (
        f"permission denied: /proc/{stopped.pid}/smaps_rollup: reading a process's memory map "
        "needs ptrace-read access to it (the same user, or CAP_SYS_PTRACE), which this reader "
        "does not have"
    )


@pytest.mark.parametrize("path", [p for p in corpus(VALID) if is_rollup(p)], ids=str)
def test_rollup_fields_read_every_rollup_of_the_corpus_as_parse_rollup(path: Path) -> None:
    text = path.read_bytes()
    expected = {k: v for k, v in smapsfmt.parse_rollup(text).fields.items() if isinstance(v, int)}
    assert kernel_rollup.rollup_fields(text, str(path)) == expected


def test_rollup_fields_refuses_what_is_no_rollup_with_a_location() -> None:
    text = b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0 [rollup]\nRss: 12 MB\n"
    with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
        kernel_rollup.rollup_fields(text, "x")
    assert (caught.value.path, caught.value.line) == ("x", 2)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (b"0::/user.slice/a.service\n", "/user.slice/a.service"),
        (b"9:name=systemd:/\n4:memory:/docker/abc\n0::/\n", "/docker/abc"),
        (b"5:cpu,cpuacct:/x\n3:memory,hugetlb:/m\n", "/m"),
        (b"2:cpu:/first\n", "/first"),
        (b"", ""),
    ],
)
def test_cgroup_path(text: bytes, path: str) -> None:
    assert sw.cgroup_path(text) == path


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (b"0::/\n", "/"),
        (b"0::\n", ""),
        (b"0::/a\n1:memory:/m\n", "/m"),
        (b"0::/a\rb\n", "/a"),
        (b"0::/caf\xc3\xa9 \xff\n", "/caf\u00e9 \\xff"),
    ],
)
def test_cgroup_path_of_one_unified_line_as_of_any_other(text: bytes, path: str) -> None:
    """A v2-only file (one line, 0::PATH) is read without the general loop, with its answer."""
    assert sw.cgroup_path(text) == path


def test_a_sweep_loads_neither_pydantic_nor_lark() -> None:
    code = (
        "import sys\nfrom smapsfmt.triage.sweep import sweep\nr = sweep()\n"
        "assert r.processes, r\n"
        "print(sorted(m for m in ('pydantic', 'lark', 'smapsfmt._model') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout == "[]\n"


def test_the_short_path_reads_each_process_as_the_careful_path_does(
    stopped: subprocess.Popen[str],
) -> None:
    """sweep() reads a process by a short path and falls back to read_process for anything
    unusual: for a stopped process both give the same identity, fields and cgroup; a kernel
    thread and a process that is gone are no Process on either path."""
    quick = sw._quick(stopped.pid, "/proc", True, True, True)
    assert isinstance(quick, sw.Process), quick
    careful = sw.read_process(stopped.pid, cgroup=True, keep_text=True)
    for name in ("pid", "uid", "comm", "starttime", "cmdline", "cgroup", "summed", "text"):
        assert getattr(quick, name) == getattr(careful, name), name
    assert _exact(quick.fields) == _exact(careful.fields)
    assert list(quick.fields) == list(careful.fields)
    assert sw._quick(2, "/proc", True, False, False) is True  # kthreadd
    # without stat (as ps sweeps): the same, but for the command name and start time
    short = sw._quick(stopped.pid, "/proc", True, True, True, stat=False)
    assert isinstance(short, sw.Process), short
    for name in ("pid", "uid", "cmdline", "cgroup", "summed", "text"):
        assert getattr(short, name) == getattr(careful, name), name
    assert (short.comm, short.starttime) == ("", None)
    assert sw._quick(2, "/proc", True, False, False, stat=False) is True
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert sw._quick(gone.pid, "/proc", True, False, False) is False
    for stat in (True, False):
        result = sw.sweep([gone.pid, 2, stopped.pid], stat=stat)
        assert [p.pid for p in result.processes] == [stopped.pid]
        assert [(s.pid, s.reason) for s in result.skipped] == [(gone.pid, "exited")]
        assert result.kernel_threads == 1


def test_rollup_fields_reads_a_known_layout_as_strictly_as_a_new_one() -> None:
    """The pattern learnt from one rollup reads the next of that layout; a text that differs
    from it in any line (a value with no unit, a field twice, a missing newline, a value
    changed) is read as parse_rollup reads it: the same fields, or the same located error."""
    text = Path(f"/proc/{os.getpid()}/smaps_rollup").read_bytes()
    fields = kernel_rollup.rollup_fields(text, "first")
    assert kernel_rollup.rollup_fields(text, "again") == fields
    header, _, body = text.partition(b"\n")
    lines = body.splitlines(keepends=True)
    variants = [
        header + b"\n" + b"".join(lines[:-1]) + lines[-1].replace(b" kB", b""),
        header + b"\n" + b"".join(lines) + lines[0],
        text[:-1],
        header + b"\n" + lines[0].replace(b" kB", b"1 kB") + b"".join(lines[1:]),
    ]
    for number, bad in enumerate(variants):
        try:
            expected: object = {
                name: value
                for name, value in smapsfmt.parse_rollup(bad, path="bad").fields.items()
                if isinstance(value, int)
            }
        except smapsfmt.SmapsSyntaxError as exc:
            expected = str(exc)
        try:
            got: object = kernel_rollup.rollup_fields(bad, "bad")
        except smapsfmt.SmapsSyntaxError as exc:
            got = str(exc)
        assert got == expected, number
    assert isinstance(got, dict) and got != fields  # the last variant is a rollup


def _outcome(text: bytes, read: Any) -> object:
    try:
        return read(text)
    except smapsfmt.SmapsSyntaxError as exc:
        return str(exc)


def _as_parse_rollup(text: bytes) -> dict[str, int]:
    fields = smapsfmt.parse_rollup(text, path="edited").fields
    return {name: value for name, value in fields.items() if isinstance(value, int)}


EDIT_BYTES = b"0123456789abcdefgx-: \t\n\rkBrwxsp[]_Az\x00\xff"
EDIT_SEED = 20261205


def test_rollup_fields_is_parse_rollup_on_seeded_edits_of_every_rollup_of_the_corpus() -> None:
    """The sweep reads the kernel's layout itself, without the re module: it must take exactly
    the texts parse_rollup takes, with the same fields, and leave every other text to it
    (the same fields, or the same located error). Seeded edits of every rollup of the corpus
    (64- and 32-bit headers, vendor fields), one to three bytes changed, inserted or removed,
    half of them in the header, each read after its original: as a layout met before where
    only digits and blanks moved, else as a new one."""
    rng = random.Random(EDIT_SEED)
    texts = [p.read_bytes() for p in corpus(VALID) if is_rollup(p)]
    assert texts
    differ = 0
    for case in range(3000):
        original = rng.choice(texts)
        kernel_rollup.rollup_fields(original, "original")  # layout known: edits meet both paths
        text = bytearray(original)
        header_end = text.index(b"\n")
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(header_end + 1) if case % 2 else rng.randrange(len(text) + 1)
            byte = bytes([rng.choice(EDIT_BYTES)])
            kind = rng.randrange(3)
            if kind == 0:
                text[at : at + 1] = byte
            elif kind == 1:
                text[at:at] = byte
            else:
                del text[at : at + 1]
        edited = bytes(text)
        expected = _outcome(edited, _as_parse_rollup)
        got = _outcome(edited, lambda t: kernel_rollup.rollup_fields(t, "edited"))
        assert got == expected, f"seed {EDIT_SEED}, case {case}: {edited!r}"
        differ += isinstance(expected, str)
    assert 300 < differ < 2700  # both outcomes were met often: the edits tested something


def test_the_header_is_read_as_the_profiles_pattern_reads_it() -> None:
    """The sweep's header check, and HEADER_PREFIX (the pattern tests/test_grammar.py holds to
    the profiles): a rollup is read by the sweep itself exactly when its header is that
    pattern, the inode, one space, padding and the name, else by parse_rollup (which then
    loads the parser); the outcome is parse_rollup's either way."""
    import re

    body = b"Rss:                   4 kB\n"
    pattern = re.compile(
        kernel_rollup.HEADER_PREFIX + rb"[0-9]+ +" + re.escape(kernel_rollup.ROLLUP_NAME)
    )
    headers = [
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0                          [rollup]",
        b"08048000-bfb7e000 ---p 00000000 00:00 0 [rollup]",
        b"0000000000400000-00007ffdaaae0000 rw-s 0 fd:01 12 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0 x [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0  c   s   [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 12 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0\t[rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0[rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 x [rollup]",
        b"5566AD6FD000-7ffdaaae0000 ---p 00000000 00:00 0 [rollup]",  # upper case
        b"5566ad6fd00-7ffdaaae0000 ---p 00000000 00:00 0 [rollup]",  # 7 digits
        b"5566ad6fd000-7ffdaaae00000000000 ---p 00000000 00:00 0 [rollup]",  # 17 digits
        b"5566ad6fd000-7ffdaaae0000 -w-p 00000000 00:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---q 00000000 00:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p  00000000 00:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 0:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00-00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p  00:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 0 [rollup] ",
        b"5566ad6fd000_7ffdaaae0000 ---p 00000000 00:00 0 [rollup]",
        b"5566ad6fd000-7ffdaaae0000 ---p 00000000 00:00 [rollup]",
    ]
    for header in headers:
        text = header + b"\n" + body
        code = (
            "import sys\nfrom smapsfmt.triage.kernel_rollup import rollup_fields\n"
            f"try:\n    print(rollup_fields({text!r}, 'x'))\nexcept Exception as exc:\n"
            "    print(type(exc).__name__)\n"
            "print('smapsfmt._parse.parser' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
        )
        result, parsed = out.stdout.splitlines()
        matches = pattern.fullmatch(header) is not None
        assert parsed == str(not matches), header
        if matches:
            assert result == "{'Rss': 4}", header
        assert result == str(_outcome(text, _as_parse_rollup) if matches else result)


def test_a_long_command_line_a_user_without_a_name_and_the_progress() -> None:
    """A command line beyond the first read's buffer is read whole by both paths; a uid the
    password database does not know is shown as its number; progress is told each process."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    zeros = "0" * (40 << 10)  # sleep adds its arguments: 120 s in all
    child = subprocess.Popen([sleep, "120", zeros], user=54321, group=54321)
    try:
        whole = b"".join(f"{word}\x00".encode() for word in (sleep, "120", zeros))
        while Path(f"/proc/{child.pid}/cmdline").read_bytes() != whole:  # until it has run exec
            assert child.poll() is None, "the child did not start"
        told: list[tuple[int, int]] = []
        quick = sw.sweep([child.pid, os.getpid()], progress=lambda *a: told.append(a))
        careful = sw.read_process(child.pid)
    finally:
        child.kill()
        child.wait()
    assert told == [(1, 2), (2, 2)]
    mine = quick.processes[0]
    assert mine.pid == careful.pid == child.pid
    assert mine.cmdline == careful.cmdline == f"{sleep} 120 {zeros}"
    assert mine.command == mine.cmdline
    assert mine.user == careful.user == "54321"
    assert repr(mine) == f"Process(pid={child.pid}, comm='sleep', Pss={mine.fields['Pss']})"
    assert repr(quick) == "Sweep(2 processes, 0 skipped, 0 kernel threads)"


def test_a_proc_that_cannot_be_listed_is_the_one_error_of_a_sweep(tmp_path: Path) -> None:
    with pytest.raises(smapsfmt.ProcUnavailableError) as raised:
        sw.sweep(root=str(tmp_path / "proc"))
    assert str(raised.value) == (
        f"cannot list the processes: {tmp_path / 'proc'}: No such file or directory"
    )
    free = max(sw.list_pids()) + 100_000
    assert repr(sw.sweep([free]).skipped[0]) == f"Skipped(pid={free}, reason='exited')"
