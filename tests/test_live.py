"""Real processes of this machine, shaped by the tests, read through the real /proc."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import smapsfmt


def test_this_process() -> None:
    smaps = smapsfmt.parse_smaps(Path("/proc/self/smaps").read_bytes())
    assert len(smaps) > 10
    assert any(m.pathname in {b"[heap]", b"[stack]"} for m in smaps)
    rollup = smapsfmt.parse_rollup(Path("/proc/self/smaps_rollup").read_bytes())
    assert rollup.pathname == b"[rollup]" and (rollup.rss or 0) > 0


def test_a_mapping_made_here_is_seen_with_its_exact_name(tmp_path: Path) -> None:
    # A name with blanks, a newline and bytes that are not UTF-8.
    name = os.path.join(os.fsencode(tmp_path), b"my file \xff\xfe\nend")
    with open(name, "wb") as handle:
        handle.write(b"x" * 3 * 4096)
    with open(name, "r+b") as handle:
        region = mmap.mmap(handle.fileno(), 3 * 4096)
        region[0:1] = b"y"  # one dirty page
        try:
            smaps = smapsfmt.parse_smaps(Path("/proc/self/smaps").read_bytes())
            expected = name.replace(b"\n", b"\\012")  # fs/seq_file.c escapes the newline
            mine = [m for m in smaps if m.pathname == expected]
            assert len(mine) == 1
            assert mine[0].size == 12 and mine[0].shared and mine[0].inode == os.stat(name).st_ino
            assert (mine[0].private_dirty or 0) + (mine[0].shared_dirty or 0) >= 4
        finally:
            region.close()


def test_a_child_that_is_deleted_and_stopped(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import mmap, os, sys, signal
        path = sys.argv[1]
        with open(path, "wb") as f:
            f.write(b"z" * 8192)
        f = open(path, "rb")
        m = mmap.mmap(f.fileno(), 8192, prot=mmap.PROT_READ)
        m[0]
        os.unlink(path)
        anon = mmap.mmap(-1, 1 << 20)
        anon.write(b"a" * (1 << 20))
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        signal.pause()
        """
    )
    target = tmp_path / "doomed file"
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        os.kill(child.pid, 19)  # SIGSTOP: a frozen target
        smaps = smapsfmt.parse_smaps(Path(f"/proc/{child.pid}/smaps").read_bytes())
        rollup = smapsfmt.parse_rollup(Path(f"/proc/{child.pid}/smaps_rollup").read_bytes())
        os.kill(child.pid, 18)  # SIGCONT
        deleted = [m for m in smaps if m.deleted and m.pathname.startswith(b"/tmp")]
        assert [m.pathname for m in deleted] == [os.fsencode(target) + b" (deleted)"]
        # Python's anonymous mmap is MAP_SHARED: shmem, shown as a deleted /dev/zero.
        assert any(m.pathname == b"/dev/zero (deleted)" and m.shared for m in smaps)
        assert rollup.rss == smaps.totals()["Rss"]
        assert rollup.anonymous == smaps.totals()["Anonymous"] >= 1024
    finally:
        child.kill()
        child.wait()
