"""A kernel image booted under qemu with an initramfs of smapsfmt's guest programs.

The initramfs is a newc cpio archive written here (no ``cpio`` needed) holding ``/init``
(``init.c``: mounts /proc, runs ``/shaper``, frames its own files, powers off) and, when
given, ``/shaper``. qemu runs under software emulation (TCG), its serial console on standard
output, which is captured whole with a time limit.

Facts the command lines rest on (checked with Debian's kernels and qemu 7.2): the x86 console is
``ttyS0`` and arm64's ``virt`` machine's is ``ttyAMA0``; with ``-m 512`` the kernel leaves
transparent huge pages off on a "small system", so the guest gets 1 GiB; ``-cpu max`` gives an
x86 guest protection keys (``ProtectionKey:`` lines), the default CPU has none; ``panic=-1``
with ``-no-reboot`` ends qemu when the kernel panics, ``reboot(RB_POWER_OFF)`` when /init is done.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ARCHES = ("x86_64", "i386", "arm64")
MEMORY_MIB = 1024


class BootError(Exception):
    """qemu missing, or a boot that could not start; the message says which."""


def qemu_binary(arch: str) -> str:
    return {"x86_64": "qemu-system-x86_64", "i386": "qemu-system-i386",
            "arm64": "qemu-system-aarch64"}[arch]  # fmt: skip


def command(arch: str, image: Path, initrd: Path, extra_append: str = "") -> list[str]:
    """qemu's command line booting ``image`` with ``initrd`` on the guest ``arch``."""
    if arch not in ARCHES:
        raise BootError(f"unknown guest architecture {arch!r} (one of {', '.join(ARCHES)})")
    console = "ttyAMA0" if arch == "arm64" else "ttyS0"
    append = f"console={console} panic=-1 quiet {extra_append}".strip()
    machine = ["-machine", "virt", "-cpu", "max"] if arch == "arm64" else ["-cpu", "max"]
    return [
        qemu_binary(arch), *machine, "-m", str(MEMORY_MIB), "-smp", "1",
        "-nographic", "-no-reboot", "-monitor", "none", "-nodefaults", "-serial", "stdio",
        "-kernel", str(image), "-initrd", str(initrd), "-append", append,
    ]  # fmt: skip


def qemu_version(arch: str) -> str:
    binary = shutil.which(qemu_binary(arch))
    if binary is None:
        package = "qemu-system-arm" if arch == "arm64" else "qemu-system-x86"
        raise BootError(f"{qemu_binary(arch)} not found (Debian: apt-get install {package})")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


# --- the initramfs ------------------------------------------------------------------------------


def _cpio_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = header + encoded
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def initramfs(files: dict[str, bytes]) -> bytes:
    """A newc cpio archive holding each executable ``files[name]`` at ``/name``."""
    out = b""
    for ino, (name, data) in enumerate(sorted(files.items()), start=1):
        out += _cpio_entry(name.lstrip("/"), 0o100755, data, ino)
    out += _cpio_entry("TRAILER!!!", 0, b"", 0)
    return out + b"\0" * (-len(out) % 512)


# --- running it ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boot:
    command: list[str]
    output: bytes  # the serial console, whole
    seconds: float
    timed_out: bool
    returncode: int | None


def boot(arch: str, image: Path, initrd: Path, timeout: float, extra_append: str = "") -> Boot:
    """Boot and capture the serial console until qemu ends or ``timeout`` seconds pass."""
    qemu_version(arch)  # says which package is missing
    if not image.is_file():
        raise BootError(f"{image}: no such kernel image")
    cmd = command(arch, image, initrd, extra_append)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    return Boot(cmd, output, time.monotonic() - start, timed_out, proc.returncode)


def shell_words(cmd: list[str]) -> str:
    """The command line as one shell line (for provenance)."""
    safe = re.compile(r"^[A-Za-z0-9_./=,:+-]+$")
    return " ".join(w if safe.match(w) else "'" + w.replace("'", "'\\''") + "'" for w in cmd)


INIT_LINE = re.compile(rb"@@smapsfmt-init 1 ([A-Z]+)((?: [^\r\n]*)?)\r?\n")


def module_lines(console: bytes) -> list[tuple[str, str]]:
    """The modules /init loaded and each one's outcome (``ok``, ``EEXIST``, an error)."""
    found = []
    for m in INIT_LINE.finditer(console):
        if m.group(1) == b"MODULE":
            name, _, outcome = m.group(2).decode(errors="replace").strip().partition(" ")
            found.append((name, outcome))
    return found


def init_lines(console: bytes) -> dict[str, str]:
    """What /init (init.c) reported: START, PAGESIZE, VERSION, SHAPER (its exit status), DONE."""
    return {
        m.group(1).decode(): m.group(2).decode(errors="replace").strip()
        for m in INIT_LINE.finditer(console)
    }
