"""The guard of the system settings (smapsfmt/selftest/settings.py) puts back swap and zram
devices that appeared inside it: a real swap file swapped on, a real zram device added."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smapsfmt.selftest import settings

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mkswap") is None or shutil.which("swapon") is None,
    reason="root and util-linux's mkswap and swapon (CI runs as root and installs them)",
)


@pytest.fixture
def swapfile() -> Iterator[Path]:
    """A file for swap, on /var/tmp: a disk's file system (/tmp may be a tmpfs, where the kernel
    refuses swap files)."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as where:
        yield Path(where) / "swap"


def test_a_swap_file_swapped_on_inside_the_guard_is_swapped_off(swapfile: Path) -> None:
    with swapfile.open("wb") as file:
        file.write(b"\0" * (16 << 20))
    swapfile.chmod(0o600)
    subprocess.run(["mkswap", str(swapfile)], check=True, capture_output=True)
    with settings.SystemSettings() as guard:
        assert str(swapfile) not in guard.swaps
        subprocess.run(["swapon", str(swapfile)], check=True, capture_output=True)
        assert str(swapfile) in settings.swaps()
    assert str(swapfile) not in settings.swaps()
    assert (guard.restored, guard.failed) == ([f"swap device {swapfile}: swapped off"], [])


@pytest.mark.skipif(
    not Path("/sys/class/zram-control/hot_add").exists(), reason="no zram module loaded"
)
def test_a_zram_device_added_inside_the_guard_is_reset_and_removed() -> None:
    with settings.SystemSettings() as guard:
        number = Path("/sys/class/zram-control/hot_add").read_text().strip()
        assert f"zram{number}" in settings.zram_devices()
    assert f"zram{number}" not in settings.zram_devices()
    assert (guard.restored, guard.failed) == (
        [f"zram device zram{number}: reset", f"zram device zram{number}: removed"], [],
    )  # fmt: skip
