"""The freeze against targets that change under it, through the public ``smapsfmt.snapshot``:
a target killed while it is held (the holder then detaches a thread that is no longer there),
and a target whose threads come and go while they are being seized (a thread listed in
``task`` that has exited before it is seized, or that exits before it reports its stop).

The kill is made certain by ``proc_targets.gated`` (the reader held between two system calls,
its first read of smaps done, the target frozen meanwhile). Whether a short-lived thread ends
inside one of the holder's windows is luck: the test takes many snapshots of a target that
makes threads without pause, and holds every outcome to the same rule: a snapshot that says
frozen holds a pair that agrees, and the target is never left traced or stopped.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from live_support import started, target
from proc_targets import gated

import smapsfmt

MANY = 2000  # one-page mappings: smaps is read in many kernel buffers


def _state(pid: int) -> tuple[str, int]:
    """The process's state letter and its tracer (0: none), from /proc/PID/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return fields["State"].split()[0], int(fields["TracerPid"])


def test_a_target_killed_while_it_is_frozen_is_said_to_have_exited(tmp_path: Path) -> None:
    """The reader is held after its first read of smaps, the target frozen meanwhile; the
    target is killed there (a ptrace-stopped process dies of SIGKILL). Let go, the reader
    reports the exit, never the part it read, and the holder, whose detach now finds a dead
    thread, ends without leaving anything behind: the target is reaped by its parent as any
    dead child."""
    pages = tmp_path / "pages"
    pages.write_bytes(bytes(MANY * 4096))
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()
        states: list[tuple[str, int]] = []

        def read() -> str:
            snap = smapsfmt.snapshot(child.pid, timeout=30)
            return f"complete: frozen={snap.frozen}"

        def kill() -> None:
            states.append(_state(child.pid))  # frozen: stopped by its tracer, the holder
            os.kill(child.pid, signal.SIGKILL)  # not reaped here: its tracer reaps it first
            deadline = time.monotonic() + 10
            while _state(child.pid)[0] != "Z":  # dead, its memory gone, before the reader goes on
                assert time.monotonic() < deadline, "the killed target did not die"
                time.sleep(0.001)

        said, acted_at = gated(read, f"/proc/{child.pid}/smaps", lambda at: at > 0, kill)
        assert acted_at is not None, said
        assert states and states[0][0] == "t" and states[0][1] != 0, states
        # Still a zombie its tracer has not reaped when the reader checks: from /proc, an
        # exit cannot be told from an exec then.
        assert said == (
            f"ProcessExitedError: process {child.pid} ({comm}) exited or called exec while it "
            "was being read; what was read may be cut short, so it is not used"
        )
        assert child.wait(timeout=30) == -signal.SIGKILL


CHURN = textwrap.dedent(
    """
    import ctypes, signal, sys, threading
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: dies with the test
    def spawn():
        while True:  # threads that live a few microseconds each, one after another
            thread = threading.Thread(target=int)
            thread.start()
            thread.join()
    for _ in range(2):
        threading.Thread(target=spawn, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def test_threads_that_come_and_go_during_the_freeze(rng: random.Random) -> None:
    """Snapshots of a target whose threads start and end without pause, at random moments:
    each one is frozen with a pair whose Rss and Anonymous agree (a thread that ended between the
    listing and the seize, or before it stopped, is nothing to hold), or says why not; after
    each, the target runs untraced."""
    outcomes: dict[str, int] = {}
    with started([sys.executable, "-c", CHURN], stdin=True) as child:
        for number in range(40):
            time.sleep(rng.uniform(0, 0.004))
            snap = smapsfmt.snapshot(child.pid, timeout=30)
            if snap.frozen:
                # What the target alone decides (its Pss also moves with the other users of
                # the pages it shares, which no freeze of it holds still): the two texts agree.
                assert snap.rollup is not None
                for name in ("Rss", "Anonymous"):
                    summed = sum(mapping.fields[name] for mapping in snap.smaps)
                    assert snap.rollup.fields[name] == summed, (number, name)
                assert snap.note is None
                outcomes["frozen"] = outcomes.get("frozen", 0) + 1
            else:
                assert snap.note is not None and snap.note.startswith("not frozen"), snap.note
                outcomes[snap.note] = outcomes.get(snap.note, 0) + 1
            state, tracer = _state(child.pid)
            assert (state in "RS", tracer) == (True, 0), (number, state, tracer)
    assert outcomes.get("frozen", 0) >= 30, outcomes


VFORK = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Says ready, then waits in vfork(2) for a child that sleeps ARGV[1] microseconds: the parent
   sleeps meanwhile in a wait only a fatal signal ends (kernel/fork.c wait_for_vfork_done),
   so neither a ptrace interrupt nor any other signal stops it. Then says done. */
int main(int argc, char **argv) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    useconds_t pause_us = (useconds_t)atol(argc > 1 ? argv[1] : "0");
    printf("ready\n");
    fflush(stdout);
    pid_t child = vfork();
    if (child == 0) {
        usleep(pause_us);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("done\n");
    fflush(stdout);
    return getchar() == EOF ? 0 : 1;
}
"""


def test_a_thread_that_cannot_stop_in_time_ends_the_freeze_and_is_let_go(tmp_path: Path) -> None:
    """A target waiting in vfork(2) does not stop for PTRACE_INTERRUPT until its child ends:
    the freeze gives up at its time limit, says which thread did not stop, the texts are read
    unfrozen, and the target, never stopped, runs on once its child ends, untraced."""
    with started([str(_built(tmp_path, "vfork_target", VFORK)), "3000000"], stdin=True) as child:
        deadline = time.monotonic() + 10
        while _state(child.pid)[0] != "D":  # in the vfork wait
            assert time.monotonic() < deadline, _state(child.pid)
            time.sleep(0.001)
        began = time.monotonic()
        snap = smapsfmt.snapshot(child.pid, timeout=0.25)
        took = time.monotonic() - began
        assert (snap.frozen, snap.consistent) == (False, False)
        assert snap.note == (
            f"not frozen: thread {child.pid} did not stop within the time limit (0.25 s)"
        )
        assert snap.rollup is not None and len(snap.smaps) > 0
        assert took < 2.5, took  # the limit, the grace to detach, never the child's 3 s
        assert _state(child.pid) == ("D", 0)  # the holder has ended: nothing traces it
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        state, tracer = _state(child.pid)
        assert (state in "RS", tracer) == (True, 0), state  # runs on, untraced


TRACER = textwrap.dedent(
    """
    import ctypes, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:  # PTRACE_SEIZE: no stop
        sys.exit(f"PTRACE_SEIZE: errno {ctypes.get_errno()}")
    print("ready", flush=True)
    sys.stdin.read()  # traces until its input ends; the kernel then detaches the target
    """
)


def test_a_tracer_that_comes_after_the_check_is_a_refusal_not_a_freeze(tmp_path: Path) -> None:
    """The reader checks that nobody traces the target (TracerPid of /proc/PID/status); it is
    held right after that read while another process starts tracing the target. The freeze
    that follows is refused by the kernel (PTRACE_SEIZE: EPERM, one tracer at a time): the
    snapshot says why it is not frozen, and the other tracer keeps its target."""
    with started(
        [sys.executable, "-c", "print('ready', flush=True); input()"], stdin=True
    ) as child:
        tracers: list[subprocess.Popen[str]] = []

        def read() -> str:
            snap = smapsfmt.snapshot(child.pid, timeout=30)
            return f"frozen={snap.frozen} note={snap.note}"

        def trace() -> None:
            tracer = subprocess.Popen(
                [sys.executable, "-c", TRACER, str(child.pid)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            tracers.append(tracer)
            assert tracer.stdout is not None and tracer.stdout.readline() == "ready\n"

        try:
            said, acted_at = gated(read, f"/proc/{child.pid}/status", lambda at: at > 0, trace)
            assert acted_at is not None, said
            assert said == (
                "frozen=False note=not frozen: ptrace is not permitted (EPERM): freezing needs "
                "the right to trace the process (the same user and ptrace allowed by Yama, or "
                "CAP_SYS_PTRACE), and no other tracer"
            )
            assert _state(child.pid) == ("S", tracers[0].pid)
        finally:
            for tracer in tracers:
                tracer.communicate("", timeout=30)
        assert _state(child.pid) == ("S", 0)


FLOOD = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

/* Counts each real-time signal SIGRTMIN it receives (queued: none merged with another), and
   prints the count for each line of its input. */
static volatile sig_atomic_t received;

static void counted(int signum) {
    (void)signum;
    received++;
}

int main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = counted;
    action.sa_flags = SA_RESTART;
    sigaction(SIGRTMIN, &action, NULL);
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        printf("%ld\n", (long)received);
        fflush(stdout);
    }
    return 0;
}
"""


def _built(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / f"{name}.c").write_text(source)
    binary = tmp_path / name
    subprocess.run(
        ["gcc", "-O1", "-o", str(binary), str(tmp_path / f"{name}.c")], check=True, timeout=120
    )
    return binary


SENDER = textwrap.dedent(
    """
    import ctypes, errno, signal, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    # sigqueue(3), not kill(2): the kernel refuses (EAGAIN) a queued signal it has no room for;
    # a signal from kill(2) would be merged with one already pending, silently (kernel/signal.c).
    libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    stop = False
    def stopped(signum, frame):  # the test's SIGTERM: the count is then printed whole
        global stop
        stop = True
    signal.signal(signal.SIGTERM, stopped)
    pid, sent = int(sys.argv[1]), 0
    print("ready", flush=True)
    while not stop:
        if libc.sigqueue(pid, signal.SIGRTMIN, None) == 0:
            sent += 1
        elif ctypes.get_errno() == errno.EAGAIN:  # the queue is full: wait a little
            time.sleep(0.0001)
        else:
            sys.exit(f"sigqueue: errno {ctypes.get_errno()}")
    print(sent)
    """
)


SNAPSHOTS = 60


def test_no_signal_is_lost_to_the_freeze(tmp_path: Path, rng: random.Random) -> None:
    """Real-time signals (each one queued, none merged) sent without pause to a target while
    it is frozen again and again: a signal that arrives while a thread is being stopped is
    taken from it by the stop (a signal-delivery-stop) and must be given back when it is let
    go. Every signal sent is received, and every snapshot is frozen."""
    with started([str(_built(tmp_path, "flood_target", FLOOD))], stdin=True) as child:
        assert child.stdin is not None and child.stdout is not None
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(child.pid)], stdout=subprocess.PIPE, text=True
        )
        assert sender.stdout is not None and sender.stdout.readline() == "ready\n"
        for number in range(SNAPSHOTS):
            time.sleep(rng.uniform(0, 0.002))
            snap = smapsfmt.snapshot(child.pid, timeout=30)
            assert (snap.frozen, snap.note) == (True, None), number
        sender.terminate()
        out, _ = sender.communicate(timeout=30)
        sent = int(out)
        received = -1
        deadline = time.monotonic() + 10
        while received != sent and time.monotonic() < deadline:
            child.stdin.write("count\n")
            child.stdin.flush()
            received = int(child.stdout.readline())
        assert (received, sent > 0) == (sent, True), received
