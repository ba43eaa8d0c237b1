"""Target processes for the live /proc tests: each shapes itself, says ``ready``, and waits.

    python proc_targets.py threads N COUNTER_FILE   N threads; one adds 1 to a counter kept in
                                                    COUNTER_FILE (shared memory; "-" for none)
                                                    every 0.5 ms
    python proc_targets.py mappings N FILE          N one-page mappings of FILE, then obeys
                                                    stdin: "exit" or "exec" (into sleep)
    python proc_targets.py churn N                  N threads map, touch and unmap memory
                                                    without pause
    python proc_targets.py epoll N                  calls epoll_wait(2) with an N-second
                                                    timeout, directly (no retry on EINTR), and
                                                    prints its result and errno, N times

Every target dies with its parent (PR_SET_PDEATHSIG), so a failed test leaves nothing behind.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import signal
import struct
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def _sleep_forever() -> None:
    while True:
        time.sleep(1000)


def threads(count: int, counter_file: str) -> None:
    shared: mmap.mmap | bytearray = bytearray(8)  # COUNTER_FILE "-": counted, not shown
    if counter_file != "-":
        with open(counter_file, "r+b") as handle:
            shared = mmap.mmap(handle.fileno(), 8)

    def count_up() -> None:
        value = 0
        while True:
            value += 1
            shared[0:8] = struct.pack("<Q", value)
            time.sleep(0.0005)

    workers = [threading.Thread(target=count_up, daemon=True)]
    workers += [threading.Thread(target=_sleep_forever, daemon=True) for _ in range(count - 2)]
    for worker in workers:
        worker.start()
    _ready()
    _sleep_forever()


def mappings(count: int, path: str) -> None:
    with open(path, "r+b") as handle:
        # One page each, read-only and read-write in turn: no two can merge into one VMA.
        regions = [
            mmap.mmap(
                handle.fileno(),
                mmap.PAGESIZE,
                prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0),
                offset=i * mmap.PAGESIZE,
            )
            for i in range(count)
        ]
    _ready()
    command = sys.stdin.readline().strip()
    if command == "exec":
        os.execv("/bin/sleep", ["sleep", "1000"])
    if command == "exit":
        os._exit(0)
    del regions


def churn(count: int) -> None:
    def work() -> None:
        while True:
            region = mmap.mmap(-1, 64 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE)
            for offset in range(0, len(region), mmap.PAGESIZE):
                region[offset] = 1
            region.close()

    for _ in range(count):
        threading.Thread(target=work, daemon=True).start()
    _ready()
    _sleep_forever()


def epoll(count: int) -> None:
    import select

    libc = ctypes.CDLL(None, use_errno=True)
    poller = select.epoll()
    events = ctypes.create_string_buffer(64)
    _ready()
    for _ in range(count):
        result = libc.epoll_wait(poller.fileno(), events, 1, count * 1000)
        code = ctypes.get_errno() if result < 0 else 0
        sys.stdout.write(f"{result} {errno.errorcode.get(code, code)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _die_with_parent()
    shape, number, *rest = sys.argv[1:]
    {"threads": threads, "mappings": mappings, "churn": churn, "epoll": epoll}[shape](
        int(number), *rest
    )
