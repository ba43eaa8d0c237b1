"""The kernels the test suite boots: Debian's packages, named by a pattern resolved to the
newest build in the archive when first fetched (a build is replaced in the archive by the next
one, so exact names go stale; each capture's manifest records the exact package and version)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .boot import BootResult
    from .debian import Fetched


@dataclass(frozen=True)
class Kernel:
    label: str  # the row of the README's table and the folder of its captures
    arch: str  # qemu guest: x86_64, i386, arm64
    pattern: str  # a regular expression matching the whole package name
    note: str


KERNELS: tuple[Kernel, ...] = (
    Kernel("5.10-amd64", "x86_64", r"linux-image-5\.10\.0-\d+-amd64-unsigned",
           "bullseye (LTS, bullseye-security)"),
    Kernel("6.1-amd64", "x86_64", r"linux-image-6\.1\.0-\d+-amd64-unsigned",
           "bookworm (bookworm-security)"),
    Kernel("6.12-amd64", "x86_64", r"linux-image-6\.12\.\d+\+deb13-amd64-unsigned", "trixie"),
    Kernel("6.19-amd64", "x86_64", r"linux-binary(-unsigned)?-6\.19\.\d+\+deb13-amd64",
           "trixie-backports"),
    Kernel("7.x-amd64", "x86_64", r"linux-binary-unsigned-7\.\d+\.\d+\+deb\d+-amd64",
           "the newest released 7.x (trixie-backports or sid)"),
    Kernel("6.1-686", "i386", r"linux-image-6\.1\.0-\d+-686", "bookworm, 32-bit x86"),
    Kernel("7.x-arm64-16k", "arm64", r"linux-binary-unsigned-7\.\d+\.\d+\+deb\d+-arm64-16k",
           "the newest released 7.x, 16 KiB pages"),
)  # fmt: skip


def by_label(label: str) -> Kernel:
    for kernel in KERNELS:
        if kernel.label == label:
            return kernel
    raise KeyError(label)


def boot_kernel(kernel: Kernel, timeout: float = 240.0) -> tuple[Fetched, BootResult]:
    """Fetch (or find cached) the newest package of ``kernel`` and boot it: (Fetched,
    BootResult)."""
    from . import boot, debian, modules

    apt = debian.Apt()
    if not apt.has_lists():
        apt.update()
    arch = debian.DEBIAN_ARCH[kernel.arch]
    name, _version = apt.newest(kernel.pattern, arch)
    fetched = debian.fetch(name, arch, apt)
    swap = modules.for_fetched(fetched, apt)
    return fetched, boot.run(fetched.image, kernel.arch, timeout=timeout, modules=swap)
