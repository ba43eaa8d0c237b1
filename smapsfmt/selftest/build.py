"""Building the shaper: ``shaper.c``, which the package carries beside this module, compiled on
first use with the system's C compiler into a per-user cache.

The cache is ``$XDG_CACHE_HOME/smapsfmt`` (``~/.cache/smapsfmt``); for a user without a home
(``nobody``), ``$TMPDIR/smapsfmt-UID``, made mode 0700 and used only when that user owns it
and nobody else may write it. The binary's name carries the SHA-256 of the source, the
compiler command and the machine, so that a changed source or compiler builds anew. The
compiler is ``$CC`` (split as a shell would), else ``cc``, else ``gcc``. The binary is
linked statically when the C library allows it (the same program runs as a guest's
``/init``), else dynamically.

For a guest of another architecture, :func:`build_shaper` takes the cross compiler
(``cc="aarch64-linux-gnu-gcc"``) and an output path, and insists on a static binary.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

__all__ = ["SOURCE", "ShaperBuildError", "build_shaper", "shaper_path"]

SOURCE = Path(__file__).with_name("shaper.c")


class ShaperBuildError(Exception):
    """The shaper cannot be built: no C compiler, or the compile failed. The message says what
    is missing."""


def _compiler(cc: str | None) -> list[str]:
    if cc:
        return shlex.split(cc)
    env = os.environ.get("CC", "").strip()
    if env:
        return shlex.split(env)
    for name in ("cc", "gcc"):
        if shutil.which(name):
            return [name]
    raise ShaperBuildError(
        "smapsfmt selftest builds its shaper from smapsfmt/selftest/shaper.c on first use, "
        "and no C compiler was found (tried $CC, cc, gcc): install one with the C library's "
        "headers (Debian: apt-get install gcc libc6-dev), or set CC"
    )


def build_shaper(out: Path, *, cc: str | None = None, static: bool = True) -> Path:
    """Compile the shaper to ``out`` (``-O2``, static unless ``static`` is False); returns
    ``out``. Raises ShaperBuildError with the compiler's own words when it fails."""
    if not SOURCE.is_file():
        raise ShaperBuildError(f"the shaper's source is missing from the package: {SOURCE}")
    compiler = _compiler(cc)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".shaper-", dir=out.parent)
    os.close(fd)
    try:
        command = [*compiler, "-O2", *(["-static"] if static else []), "-o", tmp, str(SOURCE)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise ShaperBuildError(
                f"cannot run the C compiler {compiler[0]!r} to build the shaper: "
                f"{exc.strerror or exc}"
            ) from None
        if result.returncode != 0:
            hint = ""
            if static and "-lc" in result.stderr:
                hint = " (a static build needs the C library's static archive, libc.a)"
            raise ShaperBuildError(
                f"building the shaper failed{hint}: {shlex.join(command)}\n"
                + result.stderr.strip()
            )
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    home = os.path.expanduser("~")
    if not base and home not in ("", "~") and os.access(home, os.W_OK):
        base = os.path.join(home, ".cache")
    if base:
        return Path(base) / "smapsfmt"
    private = Path(tempfile.gettempdir()) / f"smapsfmt-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    info = private.lstat()
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise ShaperBuildError(
            f"{private} is not a directory of this user's alone: the shaper is not built or "
            "run from there (set XDG_CACHE_HOME to a directory of your own)"
        )
    return private


def shaper_path(cc: str | None = None) -> Path:
    """The shaper for this machine, built on first use (see the module docstring)."""
    compiler = _compiler(cc)
    key = hashlib.sha256()
    key.update(SOURCE.read_bytes())
    key.update(shlex.join(compiler).encode())
    name = f"shaper-{key.hexdigest()[:16]}-{platform.machine() or 'unknown'}"
    path = _cache_dir() / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    try:
        return build_shaper(path, cc=cc, static=True)
    except ShaperBuildError:
        return build_shaper(path, cc=cc, static=False)  # no libc.a: a dynamic one serves here
