"""The system settings the shapes of ``--with-system-settings`` change, kept and restored.

The shaper restores each setting itself when its shape ends (on failure too, and on SIGINT,
SIGTERM or SIGHUP): it must, as a guest's ``/init`` has no one else to do it. The guard here
is the second line, for a shaper that could not (killed with SIGKILL, or a bug): it notes
every setting before the run, and after it puts back any that differs, swaps off and removes
any zram device the run added. What it had to restore is reported: a clean run leaves it
nothing to do.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from types import TracebackType

__all__ = ["SETTINGS", "SystemSettings", "swaps", "zram_devices"]

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

    def __enter__(self) -> SystemSettings:
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
        self.restore()

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
