"""The live reader's steps and the freezer, driven one by one against real processes: what no
public call can pause at, so the private modules are used here (and only here, for live reads).

- A read stopped after its first kernel buffer (the files opened by ``_open_files``, the rest
  read by ``_read``) while the target exits or calls exec: the smaps_rollup opened before the
  read tells. (The public reader held mid-read by ptrace is in test_live_proc.py.)
- The freezer (smapsfmt._live.freeze ``Freezer``) with its checks skipped (another tracer, a
  group stop), and stuck past its time limit, timed by its holder's own clock. (Held while
  the test looks, its holder killed or ended on its own: through the public
  ``Process.frozen()`` in test_live_proc.py.)
- A kernel without smaps_rollup (older than 4.14), which none here is: the sum that stands in
  for it, the error that names it, and the one refusal every command makes of it.

Each test first shows the kernel behaviour it relies on (measured here, Linux 6.18), then what
smapsfmt makes of it. Targets and helpers: tests/live_support.py. (Two reads of one held
/proc/PID, the process killed or its pid reused in between, go through the public
smapsfmt.Process: test_live_proc.py.)
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import pytest
from live_support import (
    MANY,
    OWN,
    assert_running_and_untraced,
    holder,
    mappings_file,
    parent_of,
    status,
    target,
    thread_states,
    threaded_target,
    tracer,
    wait_for,
    wait_let_go,
)
from support import as_json

import smapsfmt
from smapsfmt._live import freeze as _freeze
from smapsfmt._live import proc as _live
from smapsfmt._live.proc import ProcDir, _close_files, _open_files, _read


def _freezer(proc: ProcDir, limit: float = 30.0) -> _freeze.Freezer:
    assert isinstance(proc.pid, int)
    return _freeze.Freezer(proc.pid, limit, proc.list_threads, proc.thread_state)


# --- exit and exec between two reads of the held files ---------------------------------------


def test_an_exit_during_the_read_is_detected(tmp_path: Path) -> None:
    """The read is stopped after its first 4 KiB; the target is killed and reaped; the rest is
    read by smapsfmt's own reader. The kernel ends the text on a whole block, so what was read
    parses as a valid smaps: only the smaps_rollup opened before the read can tell."""
    pages = mappings_file(tmp_path, MANY)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        proc = ProcDir(child.pid)
        files = _open_files(proc)
        try:
            head = os.read(files.smaps, 1 << 20)
            assert 0 < len(head) <= 8192  # one kernel buffer per read
            child.kill()
            child.wait()
            with pytest.raises(smapsfmt.ProcessExitedError) as caught:
                _read(proc, files, freeze=False, timeout=1.0)
        finally:
            _close_files(files)
            proc.close()
    assert str(caught.value) == (
        f"process {child.pid} ({proc.first.comm}) exited while it was being read"
    )
    assert 1 <= len(smapsfmt.parse_smaps(head)) < MANY  # the part read is a valid smaps


def test_an_exec_during_the_read_is_detected(tmp_path: Path) -> None:
    pages = mappings_file(tmp_path, MANY)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        proc = ProcDir(child.pid)
        files = _open_files(proc)
        kernel = os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)
        try:
            head = os.read(files.smaps, 1 << 20)
            os.read(kernel, 1 << 20)
            assert child.stdin is not None
            child.stdin.write("exec\n")
            child.stdin.flush()
            wait_for(lambda: Path(f"/proc/{child.pid}/comm").read_text() == "sleep\n", "exec")
            assert os.read(kernel, 1 << 20) == b""  # the kernel: a silent EOF
            with pytest.raises(smapsfmt.ProcessExitedError) as caught:
                _read(proc, files, freeze=False, timeout=1.0)
        finally:
            os.close(kernel)
            _close_files(files)
            proc.close()
    assert head
    assert str(caught.value) == (
        f"process {child.pid} ({proc.first.comm}) exited or called exec while it was being "
        "read; what was read may be cut short, so it is not used"
    )


# --- the freezer, step by step ----------------------------------------------------------------


def test_a_freezer_refused_by_another_tracer_says_why(tmp_path: Path) -> None:
    """Without the check that reads TracerPid first (test_live_proc.py
    test_an_already_traced_target_is_read_unfrozen_and_said_so), PTRACE_SEIZE itself says no:
    the fallback's reason. The other tracer is another smapsfmt's holder, and keeps it."""
    with threaded_target(tmp_path, count=2) as (pid, _), holder(pid) as frozen_by:
        holder_pid = tracer(pid)  # the other smapsfmt's holder process
        assert parent_of(holder_pid) == frozen_by.pid
        proc = ProcDir(pid)
        freezer = _freezer(proc)
        try:
            assert not freezer.freeze()
            assert freezer.reason == (
                "ptrace is not permitted (EPERM): freezing needs the right to trace the "
                "process (the same user and ptrace allowed by Yama, or CAP_SYS_PTRACE), and no "
                "other tracer"
            )
        finally:
            assert not freezer.release()
            proc.close()
        assert tracer(pid) == holder_pid  # the other tracer keeps it


def test_a_group_stop_outlasts_a_freeze_and_release(tmp_path: Path) -> None:
    """A target stopped by someone else (SIGSTOP), even frozen and released by ptrace (the
    check that leaves it alone skipped: test_live_proc.py
    test_a_target_stopped_by_someone_else_stays_stopped), is not resumed: the kernel keeps the
    group stop through PTRACE_DETACH."""
    with threaded_target(tmp_path, count=4) as (pid, counter):
        os.kill(pid, signal.SIGSTOP)
        wait_for(lambda: set(thread_states(pid).values()) == {"T"}, "the group stop")
        proc = ProcDir(pid)
        freezer = _freezer(proc)
        try:
            assert freezer.freeze()
        finally:
            freezer.release()
            proc.close()
        time.sleep(0.05)
        assert set(thread_states(pid).values()) == {"T"}
        assert status(pid, "TracerPid") == "0"
        stopped_at = counter()
        time.sleep(0.05)
        assert counter() == stopped_at
        os.kill(pid, signal.SIGCONT)
        assert_running_and_untraced(pid, counter)


def test_a_stuck_read_cannot_keep_the_target_frozen(tmp_path: Path) -> None:
    """The freezer's own time limit: the reader is stuck (it never calls release()), yet the
    target is let go once the limit has passed, and the freezer says so. Wide margins for a
    loaded machine: the target is seen held well within the limit (1 s), and its release is
    waited for up to 30 s rather than assumed after a fixed sleep."""
    limit = 1.0
    with threaded_target(tmp_path, count=4) as (pid, counter):
        proc = ProcDir(pid)
        freezer = _freezer(proc, limit=limit)
        started = time.monotonic()  # the limit counts from the start of freeze()
        try:
            assert freezer.freeze()
            assert set(thread_states(pid).values()) == {"t"}
            assert tracer(pid) == freezer.holder
            # Stuck from here on: only the limit can let the target go.
            wait_let_go(pid, limit=30)
            assert_running_and_untraced(pid, counter)
        finally:
            assert not freezer.release() and freezer.expired
            proc.close()
        assert freezer.reason is None
        # Not let go early: not before the limit, counted (CLOCK_MONOTONIC, one clock for both
        # processes) from the start of freeze(), which a loaded machine can make long before
        # the first thread is held.
        assert freezer.held_until >= started + limit * 0.9


# --- smaps_rollup missing (kernels older than 4.14) -------------------------------------------


def test_a_rollup_summed_from_smaps_says_so(tmp_path: Path) -> None:
    """Linux 6.18 always has smaps_rollup, so the sum is checked against the kernel's own
    rollup of the same frozen snapshot: the fields only the target changes are equal, and Pss
    is within the rounding. Pss also follows other processes' mappings of shared pages, so the
    bound is checked on a snapshot during which no mapcount moved (Shared_Clean, ... agree),
    taking a new one until then, as tools/capture_live.py does."""
    shared = ("Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")
    with threaded_target(tmp_path, count=2) as (pid, _):
        for _ in range(20):
            snap = smapsfmt.snapshot(pid)
            assert snap.frozen and snap.rollup is not None
            totals = snap.smaps.totals()
            if all(snap.rollup.fields.get(n) == totals.get(n) for n in shared):
                break
    assert snap.rollup is not None
    assert all(snap.rollup.fields.get(n) == totals.get(n) for n in shared)
    summed = _live.summed_rollup(snap.smaps)
    assert isinstance(summed, smapsfmt.Rollup) and getattr(summed, "summed_from_smaps", False)
    assert getattr(snap.rollup, "summed_from_smaps", False) is False
    for name in OWN:
        assert summed.fields.get(name) == snap.rollup.fields.get(name), name
    assert summed.pss is not None and snap.rollup.pss is not None
    assert 0 <= snap.rollup.pss - summed.pss < len(snap.smaps)
    # The kernel's header range and field list, from smapsfmt.aggregate.
    assert (summed.start, summed.end) == (snap.rollup.start, snap.rollup.end)
    assert summed.pathname == b"[rollup]" and list(summed.fields) == list(snap.rollup.fields)
    json = as_json(summed)  # pydantic's own dump, as parse --format json prints a model
    assert isinstance(json, dict) and json["summed_from_smaps"] is True


def test_a_missing_rollup_is_named() -> None:
    """The kernel's answer on Linux < 4.14 (ENOENT for smaps_rollup through the held
    directory), given to the classifier here, since no such kernel runs on this machine."""
    with ProcDir("self") as proc:
        missing = FileNotFoundError(errno.ENOENT, "No such file or directory")
        error = proc.error(missing, "smaps_rollup", at_start=True)
    assert isinstance(error, smapsfmt.RollupMissingError) and error.exit_code == 11
    assert str(error) == (
        f"/proc/{os.getpid()}/smaps_rollup does not exist: this kernel has no smaps_rollup "
        "(it appeared in Linux 4.14)"
    )


def test_a_snapshot_without_rollup_is_one_error_for_every_command() -> None:
    """A kernel before 4.14 has no smaps_rollup: the snapshot of this process, as such a kernel
    would give it (rollup_text None: no such kernel runs here), is refused by the one helper
    that parse, validate, rollup and check use (exit 11)."""
    import inspect

    from smapsfmt._cli import common as _cli
    from smapsfmt._cli import rollup as _rollup_cli
    from smapsfmt._live.proc import Snapshot, capture

    real = capture("self", freeze=False)
    assert _cli.snapshot_rollup(real) == (real.rollup_text, real.rollup_path)
    old = Snapshot(real.pid, real.smaps_text, None, frozen=False, consistent=False)
    with pytest.raises(smapsfmt.RollupMissingError) as info:
        _cli.snapshot_rollup(old)
    assert info.value.exit_code == 11
    assert str(info.value) == (
        f"/proc/{real.pid}/smaps_rollup does not exist: this kernel has no smaps_rollup (it "
        "appeared in Linux 4.14)"
    )
    # the message is written once, in the helper
    assert "appeared in Linux 4.14" not in inspect.getsource(_rollup_cli)
    assert inspect.getsource(_cli).count("appeared in Linux 4.14") == 1
