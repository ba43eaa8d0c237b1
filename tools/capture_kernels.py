"""Boot every kernel of the matrix (smapsfmt/selftest/matrix.py) and keep its captures.

    python tools/capture_kernels.py [--shapes SHAPE,...] [LABEL ...]

Writes tests/fixtures/valid/qemu/LABEL/SHAPE/{smaps,smaps_rollup} and their provenance in
tests/fixtures/valid/qemu/manifest.json (the corpus manifest format, docs/decoder-contract.md);
a shape whose capture does not validate (a kernel bug the validator catches) goes to
tests/fixtures/kernel-bugs/ instead, with its manifest; the vmas shape is not kept. With
--shapes only those shapes' captures are replaced, the others kept.
Prints the README's table of kernels. Then run tools/update_expected.py and review the diff.
Kernel packages are cached in /var/cache/smapsfmt/kernels ($SMAPSFMT_KERNEL_CACHE).
"""

from __future__ import annotations

import sys
from pathlib import Path

from smapsfmt.selftest import corpus
from smapsfmt.selftest.boot_cli import _inside
from smapsfmt.selftest.check import summary
from smapsfmt.selftest.matrix import KERNELS, boot_kernel

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "tests" / "fixtures" / "valid" / "qemu"
BUGS = ROOT / "tests" / "fixtures" / "kernel-bugs"
# Checked in every boot, not kept: 4,000 mappings make a 2.8 MB smaps per kernel, and the
# corpus already holds such a capture (valid/live/6.18/many-small).
NOT_KEPT = {"vmas"}


def main(labels: list[str]) -> int:
    only: set[str] | None = None
    if labels and labels[0] == "--shapes":
        only, labels = set(labels[1].split(",")), labels[2:]
    rows = []
    for kernel in KERNELS:
        if labels and kernel.label not in labels:
            continue
        fetched, result = boot_kernel(kernel)
        source = corpus.Source(
            fetched.package, fetched.version, fetched.deb_sha256,
            _inside(fetched.image), fetched.image_sha256,
        )  # fmt: skip
        invalid = {
            c.shape for c in result.checks if c.verdict == "fail" and c.field == "validates"
        }
        good = set(result.capture.shapes) - invalid - NOT_KEPT
        if only is not None:
            good, invalid = good & only, invalid & only
        corpus.write(result, kernel.label, VALID, source, good)
        if invalid:
            corpus.write(result, kernel.label, BUGS, source, invalid)
        counts = summary(result.checks)
        failed = sorted({f"{c.shape} {c.field}" for c in result.checks if c.verdict == "fail"})
        rows.append(
            f"| {kernel.label} | `{fetched.package.split(':')[0]}` {fetched.version} | "
            f"{result.release} | {counts['pass']} pass, {counts['fail']} fail, {counts['n/a']} n/a"
            f"{' (' + '; '.join(failed) + ')' if failed else ''} | {result.boot.seconds:.1f} s |"
        )
        print(rows[-1], flush=True)
    print("| kernel | package | release | checks | boot |")
    print("|---|---|---|---|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
