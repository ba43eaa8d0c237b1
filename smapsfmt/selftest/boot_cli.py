"""``smapsfmt selftest --boot``: the options of a booted kernel, and the run behind them.

``--boot KERNEL_IMAGE`` boots an image file; ``--boot debian:PACKAGE`` fetches Debian's kernel
package PACKAGE first (for the architecture of ``--arch``) into the kernel cache
(``$SMAPSFMT_KERNEL_CACHE``, default ``/var/cache/smapsfmt/kernels``). ``--save DIR`` writes
the captures and their provenance (corpus.py). Missing qemu, a missing compiler for the guest,
no such image or package: a usage error (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ARCHES = ("x86_64", "i386", "arm64")  # qemu.ARCHES; not imported: start-up stays light

__all__ = ["BOOT_OPTIONS", "add_boot_arguments", "run_boot"]

# The options that only mean something with --boot.
BOOT_OPTIONS = ("arch", "timeout", "save", "label")


def add_boot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--boot", metavar="KERNEL_IMAGE",
        help="run every shape on KERNEL_IMAGE booted under qemu (software emulation; the guest "
        "runs the system-settings shapes too) instead of the running kernel; "
        "'debian:PACKAGE' fetches Debian's kernel package PACKAGE first",
    )  # fmt: skip
    parser.add_argument(
        "--arch", choices=ARCHES,
        help="the architecture of KERNEL_IMAGE (default x86_64)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS",
        help="with --boot: stop a guest still running after SECONDS (default 240)",
    )  # fmt: skip
    parser.add_argument(
        "--save", metavar="DIR",
        help="with --boot: write each capture to DIR/LABEL/SHAPE/{smaps,smaps_rollup} and its "
        "provenance to DIR/manifest.json (the corpus manifest format)",
    )  # fmt: skip
    parser.add_argument(
        "--label", metavar="LABEL", help="with --save: the folder (default: the release)"
    )


def run_boot(args: argparse.Namespace) -> tuple[Any, list[Any], dict[str, Any]]:
    """Boot, check, save: (the capture, its checks, what the boot was)."""
    from .._cli.streams import UsageError
    from . import boot, corpus, debian, guest, modules, qemu

    arch = args.arch or "x86_64"
    source = None
    swap = None
    try:
        if args.boot.startswith("debian:"):
            package = args.boot.removeprefix("debian:")
            fetched = debian.fetch(package, debian.DEBIAN_ARCH[arch])
            image = fetched.image
            source = corpus.Source(
                fetched.package, fetched.version, fetched.deb_sha256, _inside(image),
                fetched.image_sha256,
            )  # fmt: skip
            swap = modules.for_fetched(fetched, debian.Apt())
        else:
            image = Path(args.boot)
            if not image.is_file():
                raise UsageError(f"{args.boot}: no such kernel image")
        timeout = args.timeout if args.timeout is not None else boot.TIMEOUT_SECONDS
        if timeout <= 0:
            raise UsageError(f"--timeout {timeout:g}: give a number of seconds above 0")
        result = boot.run(image, arch, timeout=timeout, modules=swap)
    except (debian.FetchError, guest.GuestBuildError, qemu.BootError) as error:
        raise UsageError(str(error)) from None
    if args.save:
        label = args.label or result.release or "unknown"
        corpus.write(result, label, Path(args.save), source)
    info = {
        "image": str(image),
        "arch": arch,
        "seconds": round(result.boot.seconds, 1),
        "qemu": qemu.qemu_version(arch),
        **({"package": source.package, "package_version": source.package_version}
           if source else {}),
    }  # fmt: skip
    return result.capture, result.checks, info


def _inside(image: Path) -> str:
    """The image's path inside its package (the unpacked tree's boot/ or usr/)."""
    parts = image.parts
    for anchor in ("boot", "usr"):
        if anchor in parts:
            return "/" + "/".join(parts[parts.index(anchor) :])
    return image.name
