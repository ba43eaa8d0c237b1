"""The system settings the shapes of ``--with-system-settings`` change, kept and restored.

The shaper restores each setting itself when its shape ends (on failure too, and on SIGINT,
SIGTERM or SIGHUP): it must, as a guest's ``/init`` has no one else to do it. The guard here
is the second line, for a shaper that could not (killed with SIGKILL, or a bug): it notes
every setting before the run, and after it puts back any that differs, swaps off and removes
any zram device the run added. What it had to restore is reported: a clean run leaves it
nothing to do.

Two runs at once would each note the other's changes as "before" and put them back: the guard
holds an exclusive lock (``LOCK``) for the whole run, so a second run waits for the first.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK", "SETTINGS", "SystemSettings", "swaps", "zram_devices"]

# The lock of runs that change system settings: one machine, one lock (root's /run/lock).
LOCK = os.path.join(
    "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir(),
    "smapsfmt-system-settings.lock",
)

SETTINGS = (
    "/sys/kernel/mm/ksm/run",
    "/sys/kernel/mm/ksm/pages_to_scan",
    "/sys/kernel/mm/ksm/sleep_millisecs",
    "/proc/sys/vm/nr_hugepages",
)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def swaps() -> set[str]:
    """The swap devices in use (/proc/swaps)."""
    text = _read("/proc/swaps") or ""
    return {line.split()[0] for line in text.splitlines()[1:] if line.split()}


def zram_devices() -> set[str]:
    """The zram devices of the system (zram0, zram1, ...)."""
    try:
        return {name for name in os.listdir("/sys/block") if name.startswith("zram")}
    except OSError:
        return set()


def _swapoff(device: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.swapoff(os.fsencode(device)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), device)


class SystemSettings:
    """``with SystemSettings() as guard:`` the settings are as before when the block ends;
    ``guard.restored`` lists what the guard itself had to put back (``PATH: AFTER -> BEFORE``),
    ``guard.failed`` what it could not."""

    def __init__(self) -> None:
        self.before: dict[str, str | None] = {}
        self.swaps: set[str] = set()
        self.zram: set[str] = set()
        self.restored: list[str] = []
        self.failed: list[str] = []
        self._lock: int | None = None

    def __enter__(self) -> SystemSettings:
        self._lock = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # waits for another run to end
        except BaseException:
            os.close(self._lock)
            self._lock = None
            raise
        self.before = {path: _read(path) for path in SETTINGS}
        self.swaps = swaps()
        self.zram = zram_devices()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.restore()
        finally:
            if self._lock is not None:
                os.close(self._lock)  # closing the last descriptor releases the lock
                self._lock = None

    def restore(self) -> None:
        for device in sorted(swaps() - self.swaps):
            self._do(f"swap device {device}: swapped off", _swapoff, device)
        for name in sorted(zram_devices() - self.zram):
            self._do(f"zram device {name}: reset", _write, f"/sys/block/{name}/reset", "1")
            self._do(
                f"zram device {name}: removed",
                _write,
                "/sys/class/zram-control/hot_remove",
                name.removeprefix("zram"),
            )
        for path, before in self.before.items():
            now = _read(path)
            if before is not None and now != before:
                self._do(f"{path}: {now} -> {before}", _write, path, before)

    def _do(self, what: str, action: object, *args: str) -> None:
        assert callable(action)
        try:
            action(*args)
        except OSError as exc:
            self.failed.append(f"{what}: {errno.errorcode.get(exc.errno or 0, exc)}")
        else:
            self.restored.append(what)


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)
