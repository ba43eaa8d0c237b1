"""The guest programs, compiled on first use for the guest's architecture.

The C sources ship inside the installed package (next to this module); the first
``smapsfmt selftest --boot`` for an architecture compiles them static with a C compiler for it
and keeps the binaries in ``$XDG_CACHE_HOME/smapsfmt/guest`` (``~/.cache/smapsfmt/guest``),
named by the digest of the sources and the compiler, so a new smapsfmt or compiler builds
afresh. The compiler is ``$SMAPSFMT_GUEST_CC_<ARCH>`` when set (``X86_64``, ``I386``,
``ARM64``), else the first found of: the machine's ``cc``/``gcc`` when it runs that
architecture, Debian's cross compilers (``x86_64-linux-gnu-gcc``, ``i686-linux-gnu-gcc``,
``aarch64-linux-gnu-gcc``: packages ``gcc-i686-linux-gnu`` and ``gcc-aarch64-linux-gnu``, with
``libc6-dev-i386-cross`` and ``libc6-dev-arm64-cross`` for static glibc), and ``gcc -m32`` for
i386 on x86_64.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The programs: /init (init.c) and /shaper (the selftest's shaper.c); files they include.
HEADERS: tuple[str, ...] = ()
CROSS = {
    "x86_64": ("x86_64-linux-gnu-gcc",),
    "i386": ("i686-linux-gnu-gcc",),
    "arm64": ("aarch64-linux-gnu-gcc",),
}
HOST = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64",
        "i686": "i386", "i386": "i386"}  # fmt: skip


class GuestBuildError(Exception):
    """No compiler for the architecture, or a build that failed; the message says which."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smapsfmt" / "guest"


def compiler(arch: str) -> list[str]:
    """The command compiling C for ``arch``."""
    named = os.environ.get(f"SMAPSFMT_GUEST_CC_{arch.upper()}")
    if named:
        return shlex.split(named)
    host = HOST.get(platform.machine())
    candidates: list[list[str]] = []
    if host == arch:
        candidates += [["cc"], ["gcc"]]
    candidates += [[name] for name in CROSS[arch]]
    if arch == "i386" and host == "x86_64":
        candidates.append(["gcc", "-m32"])
    for candidate in candidates:
        if shutil.which(candidate[0]):
            return candidate
    wanted = {"i386": "gcc-i686-linux-gnu libc6-dev-i386-cross",
              "arm64": "gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
              "x86_64": "gcc-x86-64-linux-gnu libc6-dev-amd64-cross"}[arch]  # fmt: skip
    raise GuestBuildError(
        f"no C compiler for {arch} guests (Debian: apt-get install {wanted}; "
        f"or name one in SMAPSFMT_GUEST_CC_{arch.upper()})"
    )


def _version(cc: list[str]) -> str:
    done = subprocess.run([*cc, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else " ".join(cc)


def build(arch: str, source: Path) -> Path:
    """``source`` compiled static for ``arch`` (cached)."""
    cc = compiler(arch)
    digest = hashlib.sha256()
    for part in (source, *(HERE / h for h in HEADERS)):
        digest.update(part.read_bytes())
    digest.update(" ".join(cc).encode() + b"\0" + _version(cc).encode())
    target = cache_dir() / arch / f"{source.stem}-{digest.hexdigest()[:16]}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as where:
        out = Path(where) / target.name
        command = [*cc, "-static", "-O2", "-o", str(out), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise GuestBuildError(
                f"{' '.join(command)} failed: {said[-1] if said else done.returncode}"
            )
        out.rename(target)
    return target


def programs(arch: str) -> dict[str, bytes]:
    """The initramfs's programs for ``arch``: name -> static executable."""
    return {
        "init": build(arch, HERE / "init.c").read_bytes(),
        "shaper": build(arch, HERE / "shaper.c").read_bytes(),
    }
