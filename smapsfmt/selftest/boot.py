"""``smapsfmt selftest --boot``: the shapes on a kernel image under qemu, checked on the host.

One boot: the guest programs compiled for the architecture (guest.py), an initramfs holding
them, qemu with the serial console captured (qemu.py), the frames decoded and verified
(frames.py); then every captured file is validated against the profile of the kernel that
printed it (its release, as the guest's uname reported it), every smaps and smaps_rollup pair
is proved, and each shape's mapping is checked against what the ABI document says its fields
mean (checks.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import smapsfmt

from . import frames, guest, qemu
from .checks import Check, check_shapes

# A boot that has not powered off after this long is cut: a kernel that hangs is reported.
TIMEOUT_SECONDS = 240.0


@dataclass
class BootResult:
    arch: str
    image: Path
    boot: qemu.Boot
    decoded: frames.Decoded
    release: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "fail"]


def run(
    image: Path, arch: str, timeout: float = TIMEOUT_SECONDS, kernel: str | None = None
) -> BootResult:
    """Boot ``image`` on ``arch`` and check what its guest printed. ``kernel`` names the profile
    to validate against (default: the release the guest reported)."""
    programs = guest.programs(arch)
    with tempfile.TemporaryDirectory(prefix="smapsfmt-boot-") as where:
        initrd = Path(where) / "initramfs.cpio"
        initrd.write_bytes(qemu.initramfs(programs))
        booted = qemu.boot(arch, image, initrd, timeout)
    decoded = frames.decode(booted.output)
    release = decoded.init.get("START", "").split(" ")[0]
    result = BootResult(arch, image, booted, decoded, release)
    result.checks += _boot_checks(result)
    if release:
        result.checks += _file_checks(decoded, kernel or release)
        result.checks += check_shapes(decoded)
    return result


def _boot_checks(result: BootResult) -> list[Check]:
    booted, decoded = result.boot, result.decoded
    checks = []
    if booted.timed_out:
        reason = f"no power-off within {booted.seconds:.0f} s"
        checks.append(Check("boot", "power-off", "before the time limit", reason, "fail"))
    if not result.release:
        tail = booted.output[-300:].decode(errors="replace").strip().splitlines()
        checks.append(Check("boot", "init", "the guest's START line",
                            tail[-1] if tail else "no output", "fail"))  # fmt: skip
    elif "DONE" not in decoded.init:
        checks.append(Check("boot", "init", "DONE", "missing", "fail"))
    else:
        checks.append(Check("boot", "init", "DONE", "DONE", "pass"))
    for problem in decoded.problems:
        checks.append(Check("boot", "frame", "length and sha256 as sent", problem, "fail"))
    return checks


def _file_checks(decoded: frames.Decoded, kernel: str) -> list[Check]:
    checks = []
    shapes = sorted({f.shape for f in decoded.frames})
    for shape in shapes:
        smaps = decoded.file(shape, "smaps")
        rollup = decoded.file(shape, "smaps_rollup")
        for name, data in (("smaps", smaps), ("smaps_rollup", rollup)):
            if data is None:
                checks.append(Check(shape, name, "captured", "missing", "fail"))
                continue
            kind = "rollup" if name == "smaps_rollup" else "smaps"
            found = smapsfmt.validate(data, kernel=kernel, kind=kind, path=f"{shape}/{name}")
            printed = "; ".join(f"{d.line}:{d.column}: {d.rule}: {d.message}" for d in found)
            checks.append(Check(shape, f"{name} validates", f"no diagnostics (--kernel {kernel})",
                                printed or "none", "fail" if found else "pass"))  # fmt: skip
        if smaps is None or rollup is None:
            continue
        try:
            proof = smapsfmt.check_rollup(
                smapsfmt.parse_smaps(smaps), smapsfmt.parse_rollup(rollup), kernel=kernel,
                path=f"{shape}/smaps_rollup",
            )  # fmt: skip
        except smapsfmt.SmapsSyntaxError as error:
            checks.append(Check(shape, "rollup proves", "proved", str(error), "fail"))
            continue
        printed = "; ".join(f"{d.rule}: {d.message}" for d in proof)
        checks.append(Check(shape, "rollup proves", "rollup == sum of smaps", printed or "proved",
                            "fail" if proof else "pass"))  # fmt: skip
    return checks
