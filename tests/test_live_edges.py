"""The live reader where a race or an old kernel decides, made certain with real processes, and
through the public surface only (the helpers: tests/live_support.py, tests/proc_targets.py):

- What the kernel gives when the target calls exec in the middle of a read (the exit:
  test_live_proc.py); smapsfmt's own answer to both is there too, its reader held mid-read.
- A reader held (``gated``) between its checks of the target and the freeze, while another
  tracer attaches or someone stops the target: PTRACE_SEIZE's own refusal, and a group stop
  that outlasts the freeze and its release.
- A block of ``Process.frozen()`` that never ends: the time limit lets the target go, not
  before it.
- A /proc/PID without smaps_rollup, as kernels before 4.14 list it (none boots here with
  Python): this kernel's own files of the process, in a mount namespace of the test's own.

Each test first shows the kernel behaviour it relies on (measured here, Linux 6.18) where it
is not shown elsewhere, then what smapsfmt makes of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from pathlib import Path

import pytest
from live_support import (
    CAN_UNSHARE,
    MANY,
    NEEDS_UNSHARE,
    OWN,
    assert_running_and_untraced,
    assert_still_stopped_then_resumed,
    holder,
    mappings_file,
    parent_of,
    status,
    stop_group,
    target,
    thread_states,
    threaded_target,
    tracer,
    wait_for,
    without_rollup,
)
from proc_targets import gated

import smapsfmt

# --- exec during the read ---------------------------------------------------------------------


def test_what_the_kernel_gives_when_the_target_execs_mid_read(tmp_path: Path) -> None:
    """After exec, the smaps opened before gives EOF where the text stops (no error: the cut
    cannot be seen in it), and the smaps_rollup opened before fails with ESRCH: the address
    space both were opened on is gone (fs/proc/task_mmu.c m_start, show_smaps_rollup)."""
    pages = mappings_file(tmp_path, MANY)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        rollup = os.open(f"/proc/{child.pid}/smaps_rollup", os.O_RDONLY)
        smaps = os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)
        try:
            head = os.read(smaps, 1 << 20)
            assert 0 < len(head) <= 8192  # one kernel buffer per read
            assert child.stdin is not None
            child.stdin.write("exec\n")
            child.stdin.flush()
            wait_for(lambda: Path(f"/proc/{child.pid}/comm").read_text() == "sleep\n", "exec")
            assert os.read(smaps, 1 << 20) == b""  # a silent EOF
            with pytest.raises(ProcessLookupError):
                os.read(rollup, 1 << 20)
        finally:
            os.close(smaps)
            os.close(rollup)
    assert 1 <= len(smapsfmt.parse_smaps(head)) < MANY  # the part read is a valid smaps


# --- a reader held between its checks and the freeze -----------------------------------------


def _snapshot_of(pid: int) -> str:
    snap = smapsfmt.snapshot(pid)
    return f"{snap.frozen} {snap.consistent} {len(snap.smaps) > 10} {snap.note}"


def test_a_tracer_that_attaches_after_the_check_is_refused_by_ptrace_itself(
    tmp_path: Path,
) -> None:
    """The snapshot reads TracerPid (0), and is held there while another smapsfmt freezes the
    target; let go, its own PTRACE_SEIZE fails with EPERM, and that is the reason it gives.
    The other tracer keeps the target. (Traced before the check: test_live_proc.py
    test_an_already_traced_target_is_read_unfrozen_and_said_so.)"""
    with threaded_target(tmp_path, count=2) as (pid, _), contextlib.ExitStack() as stack:
        others: list[int] = []

        def another_tracer() -> None:
            others.append(stack.enter_context(holder(pid)).pid)

        said, at = gated(
            lambda: _snapshot_of(pid), f"/proc/{pid}/status", lambda at: at > 0, another_tracer
        )
        assert at is not None and at > 0
        holder_pid = tracer(pid)  # the other smapsfmt's holder process
        assert parent_of(holder_pid) == others[0]
        assert said == (
            "False False True not frozen: ptrace is not permitted (EPERM): freezing needs the "
            "right to trace the process (the same user and ptrace allowed by Yama, or "
            "CAP_SYS_PTRACE), and no other tracer"
        )
        assert tracer(pid) == holder_pid  # the other tracer keeps it


def test_a_group_stop_made_after_the_check_outlasts_the_freeze(tmp_path: Path) -> None:
    """The snapshot finds the target running, and is held there while someone stops it
    (SIGSTOP); let go, it freezes, reads and releases a target in a group stop. The kernel keeps
    the group stop through PTRACE_DETACH (kernel/ptrace.c __ptrace_unlink): the target is
    still stopped after the snapshot, untraced, and runs again on SIGCONT. (Stopped before the
    check, it is not touched: test_live_proc.py
    test_a_target_stopped_by_someone_else_stays_stopped.)"""
    with threaded_target(tmp_path, count=4) as (pid, counter):
        stop = functools.partial(stop_group, pid)
        said, at = gated(lambda: _snapshot_of(pid), f"/proc/{pid}/status", lambda at: at > 0, stop)
        assert at is not None and at > 0
        assert said == "True True True None"  # it could not run during the read
        time.sleep(0.05)
        assert_still_stopped_then_resumed(pid, counter)


# --- a block that never ends ------------------------------------------------------------------


def test_a_block_that_never_ends_cannot_keep_the_target_frozen(tmp_path: Path) -> None:
    """The block of ``Process.frozen()`` is stuck: only the time limit can let the target go.
    It is let go, and not before the limit, counted (CLOCK_MONOTONIC, one clock for every
    process) from the call: the target is seen held at a time at least three quarters of the
    limit after it (a wide margin for a loaded machine, whose polls can come late). Its
    release is waited for up to 30 s rather than assumed after a fixed sleep."""
    limit = 2.0
    with threaded_target(tmp_path, count=4) as (pid, counter), smapsfmt.Process(pid) as proc:
        started = time.monotonic()
        with proc.frozen(timeout=limit) as freeze:
            assert freeze.frozen
            assert set(thread_states(pid).values()) == {"t"}
            held_by = tracer(pid)
            assert parent_of(held_by) == os.getpid()
            seen_held = started
            while True:  # stuck from here on, watching
                now = time.monotonic()  # taken before the look: the look is later
                if status(pid, "TracerPid") == "0":
                    break
                seen_held = now
                assert now < started + 30, "the target was not let go"
                time.sleep(0.005)
            assert_running_and_untraced(pid, counter)
        assert seen_held >= started + 0.75 * limit
        assert (freeze.frozen, freeze.consistent) == (False, False)
        assert freeze.note == (
            "not frozen throughout: the time limit (2 s) expired before the read ended, and "
            "the process was let go"
        )


# --- a kernel without smaps_rollup (before 4.14) ----------------------------------------------

# Run where /proc/PID has no smaps_rollup: every public way to get the rollup, and the kernel's
# own rollup of the same frozen moment, read through this kernel's /proc mounted elsewhere.
WITHOUT_ROLLUP_PROBE = """
import json, os, sys
import pydantic
import smapsfmt

pid = int(sys.argv[1])
said = {}
with smapsfmt.Process(pid) as proc:
    for name, read in (("read_rollup", lambda: smapsfmt.read_rollup(pid)),
                       ("Process.read_rollup", proc.read_rollup)):
        try:
            read()
        except smapsfmt.ProcError as exc:
            said[name] = [type(exc).__name__, exc.exit_code, str(exc)]
snap = smapsfmt.snapshot(pid)
said["snapshot"] = [snap.frozen, snap.rollup_text, snap.rollup is None, snap.rollup_path]
summed = smapsfmt.read_rollup(pid, sum_if_missing=True)
said["summed"] = pydantic.TypeAdapter(type(summed)).dump_python(summed, mode="json")
shared = ("Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")
with smapsfmt.Process(pid) as proc:
    for _ in range(20):  # until no page's mapcount moved during the reads (see below)
        with proc.frozen() as freeze:
            summed = proc.read_rollup(sum_if_missing=True)
            with open(f"{os.environ['REAL_PROC']}/{pid}/smaps_rollup", "rb") as handle:
                kernel = smapsfmt.parse_rollup(handle.read())
        if all(summed.fields.get(n) == kernel.fields.get(n) for n in shared):
            break
said["frozen"] = freeze.frozen
said["class"] = [type(summed).__name__, isinstance(summed, smapsfmt.Rollup)]
for name, rollup in (("pair_summed", summed), ("pair_kernel", kernel)):
    said[name] = {"fields": dict(rollup.fields), "pss": rollup.pss, "start": rollup.start,
                  "end": rollup.end, "pathname": rollup.pathname.decode(),
                  "flag": getattr(rollup, "summed_from_smaps", False)}
print(json.dumps(said))
"""


@pytest.mark.skipif(not CAN_UNSHARE, reason=NEEDS_UNSHARE)
def test_a_kernel_without_smaps_rollup_gets_its_rollup_summed_from_smaps(tmp_path: Path) -> None:
    """Without smaps_rollup, reading the rollup is RollupMissingError (exit status 11, the
    file named); a snapshot has none; ``sum_if_missing=True`` gives the sum of smaps as a
    SummedRollup, flagged ``summed_from_smaps`` in its JSON too. Checked against the kernel's
    own rollup of the same frozen moment: the fields only the target changes are equal, Pss is
    within the rounding (one unit a mapping), and the header range and the field list are the
    kernel's. Pss also follows other processes' mappings of shared pages, so the pair is taken
    again until no mapcount moved during it (Shared_Clean, ... agree), as
    tools/capture_live.py does."""
    with threaded_target(tmp_path, count=2) as (pid, _):
        real = tmp_path / "proc"
        real.mkdir()
        ran = without_rollup(pid, real, sys.executable, "-c", WITHOUT_ROLLUP_PROBE, str(pid))
        assert (ran.returncode, ran.stderr) == (0, ""), ran.stderr
        mappings = len(smapsfmt.read_smaps(pid))
    said = json.loads(ran.stdout)
    missing = [
        "RollupMissingError", 11,
        f"/proc/{pid}/smaps_rollup does not exist: this kernel has no smaps_rollup (it "
        "appeared in Linux 4.14)",
    ]  # fmt: skip
    assert said["read_rollup"] == said["Process.read_rollup"] == missing
    assert said["snapshot"] == [True, None, True, f"/proc/{pid}/smaps_rollup"]
    assert said["summed"]["summed_from_smaps"] is True  # as parse --format json prints it
    assert said["frozen"] is True
    assert said["class"] == ["SummedRollup", True]
    summed, kernel = said["pair_summed"], said["pair_kernel"]
    assert (summed["flag"], kernel["flag"]) == (True, False)
    for name in OWN:
        assert summed["fields"].get(name) == kernel["fields"].get(name), name
    assert 0 <= kernel["pss"] - summed["pss"] < mappings
    assert (summed["start"], summed["end"]) == (kernel["start"], kernel["end"])
    assert summed["pathname"] == kernel["pathname"] == "[rollup]"
    assert list(summed["fields"]) == list(kernel["fields"])


@pytest.mark.skipif(not CAN_UNSHARE, reason=NEEDS_UNSHARE)
def test_the_commands_that_need_smaps_rollup_refuse_a_kernel_without_it(tmp_path: Path) -> None:
    """``parse --kind rollup`` and ``check`` need the kernel's rollup of a live process: where
    there is none, each says so, exit status 11, in text and in JSON. The commands that read
    smaps alone read it as usual: ``parse`` and ``rollup`` (which computes the rollup)."""
    with threaded_target(tmp_path, count=2) as (pid, _):
        message = (
            f"/proc/{pid}/smaps_rollup does not exist: this kernel has no smaps_rollup (it "
            "appeared in Linux 4.14)"
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        for n, args in enumerate((["parse", "--kind", "rollup"], ["check"])):
            real = tmp_path / f"proc{n}"
            real.mkdir()
            cli = [sys.executable, "-m", "smapsfmt", *args, "--pid", str(pid)]
            ran = without_rollup(pid, real, *cli, env=env)
            said = (ran.returncode, ran.stdout, ran.stderr)
            assert said == (11, "", f"smapsfmt: error: {message}\n"), args
            ran = without_rollup(pid, real, *cli, "--format", "json", env=env)
            assert ran.returncode == 11, args
            error = json.loads(ran.stdout)["error"]
            assert (error["exit"], error["message"], error["line"]) == (11, message, None), args
        for n, args in enumerate((["parse"], ["rollup"])):
            real = tmp_path / f"smaps{n}"
            real.mkdir()
            cli = [sys.executable, "-m", "smapsfmt", *args, "--pid", str(pid)]
            ran = without_rollup(pid, real, *cli, env=env)
            assert ran.returncode == 0 and "error" not in ran.stderr, (args, ran.stderr)
            assert ran.stdout.strip(), args
