"""``smapsfmt selftest --boot``: the command line of booted kernels.

``--boot KERNEL_IMAGE`` boots an image file; ``--boot debian:PACKAGE`` fetches Debian's kernel
package PACKAGE first (for the architecture of ``--arch``) into the kernel cache
(``$SMAPSFMT_KERNEL_CACHE``, default ``/var/cache/smapsfmt/kernels``). ``--save DIR`` writes
the captures and their provenance (corpus.py). Exit 0 every check passed (``n/a`` is not a
failure), 1 a check failed, 2 usage (no qemu, no compiler for the guest, no such image or
package).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .qemu import ARCHES


def add_boot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--boot", metavar="KERNEL_IMAGE",
        help="run the shapes on KERNEL_IMAGE under qemu (software emulation) instead of the "
        "running kernel; 'debian:PACKAGE' fetches Debian's kernel package PACKAGE first",
    )  # fmt: skip
    parser.add_argument(
        "--arch", choices=ARCHES, default="x86_64",
        help="the architecture of KERNEL_IMAGE (default x86_64)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=240.0, metavar="SECONDS",
        help="give up on a boot that has not powered off after SECONDS (default 240)",
    )  # fmt: skip
    parser.add_argument(
        "--save", metavar="DIR",
        help="write each capture to DIR/LABEL/SHAPE/{smaps,smaps_rollup} with its provenance in "
        "DIR/MANIFEST.json",
    )  # fmt: skip
    parser.add_argument("--label", metavar="LABEL", help="the folder of --save (default: release)")


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register ``selftest`` with its --boot options (called by ``_cli.build_parser``)."""
    selftest = commands.add_parser(
        "selftest", help="check what a kernel prints for known process shapes",
        description="Run process shapes whose smaps values are known from the ABI document on "
        "a kernel image booted under qemu, and check what it prints: one line per check "
        "(shape, field, expected, printed, verdict: pass, fail, or n/a with the reason), "
        "then a summary. Every capture is also validated against the kernel's profile and "
        "each smaps_rollup proved against its smaps. Exit 0 all pass, 1 a check failed.",
    )  # fmt: skip
    add_boot_arguments(selftest)
    selftest.add_argument("--format", choices=("text", "json"), default="text")
    selftest.set_defaults(run=run_boot)


def run_boot(args: argparse.Namespace) -> int:
    from smapsfmt._cli import UsageError, _out

    from . import boot, corpus, debian, guest, qemu

    if not args.boot:
        raise UsageError("--boot KERNEL_IMAGE is required")
    source = None
    try:
        if args.boot.startswith("debian:"):
            fetched = debian.fetch(
                args.boot.removeprefix("debian:"), debian.DEBIAN_ARCH[args.arch]
            )
            image = fetched.image
            source = corpus.Source(
                fetched.package, fetched.version, fetched.deb_sha256, _inside(image),
                fetched.image_sha256,
            )  # fmt: skip
        else:
            image = Path(args.boot)
            if not image.is_file():
                raise UsageError(f"{args.boot}: no such kernel image")
        result = boot.run(image, args.arch, timeout=args.timeout)
    except (debian.FetchError, guest.GuestBuildError, qemu.BootError) as error:
        raise UsageError(str(error)) from None
    if args.save:
        corpus.write(result, args.label or result.release or "unknown", Path(args.save), source)
    counts = {"pass": 0, "fail": 0, "n/a": 0}
    for check in result.checks:
        counts[check.verdict] += 1
    if args.format == "json":
        _out(json.dumps({
            "kernel": result.release, "arch": args.arch, "image": str(image),
            "boot_seconds": round(result.boot.seconds, 1),
            "checks": [{"shape": c.shape, "field": c.field, "expected": c.expected,
                        "printed": c.printed, "verdict": c.verdict,
                        **({"reason": c.reason} if c.reason else {})} for c in result.checks],
            "summary": counts,
        }, indent=1) + "\n")  # fmt: skip
    else:
        _out(f"booted Linux {result.release or '?'} ({args.arch}) in "
             f"{result.boot.seconds:.1f} s: {image}\n")  # fmt: skip
        for c in result.checks:
            why = f" ({c.reason})" if c.reason else ""
            _out(f"{c.shape} {c.field}: expected {c.expected}, printed {c.printed}: "
                 f"{c.verdict}{why}\n")  # fmt: skip
        _out(f"{len(result.checks)} checks: {counts['pass']} pass, {counts['fail']} fail, "
             f"{counts['n/a']} n/a\n")  # fmt: skip
    return 1 if counts["fail"] else 0


def _inside(image: Path) -> str:
    """The image's path inside its package (the unpacked tree's boot/ or usr/)."""
    parts = image.parts
    for anchor in ("boot", "usr"):
        if anchor in parts:
            return "/" + "/".join(parts[parts.index(anchor) :])
    return image.name
