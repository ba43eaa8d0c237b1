"""Building the selftest's shaper: a compile that fails, a C library without its static archive,
and the per-user cache a user without a home gets (smapsfmt/selftest/build.py).

The compilers here are real programs: a shell script standing in for a broken compiler (it
prints what a compiler prints and fails), or one that runs the system's gcc except for a static
link, which it refuses as a gcc without libc.a does.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from smapsfmt.selftest import SOURCE, ShaperBuildError, build_shaper, shaper_path

# What ld prints when the C library's static archive is not installed.
NO_LIBC_A = "/usr/bin/ld: cannot find -lc: No such file or directory"


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_a_failed_compile_is_reported_with_its_command_and_the_compilers_words(
    tmp_path: Path,
) -> None:
    cc = _script(tmp_path / "cc", 'echo "cc: error: shaper.c: something is wrong" >&2\nexit 1\n')
    out = tmp_path / "bin" / "shaper"
    with pytest.raises(ShaperBuildError) as raised:
        build_shaper(out, cc=str(cc))
    pattern = (
        re.escape(f"building the shaper failed: {cc} -O2 -static -o {out.parent}/")
        + r"\.shaper-\w+"
        + re.escape(f" {SOURCE}\ncc: error: shaper.c: something is wrong")
    )
    assert re.fullmatch(pattern, str(raised.value)), str(raised.value)
    # Nothing is left behind: neither the binary nor the compiler's temporary output.
    assert list((tmp_path / "bin").iterdir()) == []


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed (CI installs it)")
def test_without_libc_a_the_static_build_says_so_and_a_dynamic_shaper_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cc = _script(
        tmp_path / "cc",
        'for a in "$@"; do [ "$a" = -static ] && { echo "' + NO_LIBC_A + '" >&2; exit 1; }; done\n'
        'exec gcc "$@"\n',
    )
    with pytest.raises(ShaperBuildError) as raised:
        build_shaper(tmp_path / "static", cc=str(cc))
    first = str(raised.value).splitlines()
    assert first[0].startswith(
        "building the shaper failed (a static build needs the C library's static archive, "
        f"libc.a): {cc} -O2 -static -o "
    ), first[0]
    assert first[1:] == [NO_LIBC_A]

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shaper = shaper_path(cc=str(cc))
    assert shaper.parent == tmp_path / "cache" / "smapsfmt"
    assert shaper.name.startswith("shaper-")
    listed = subprocess.run([shaper, "--list"], capture_output=True, text=True, check=True)
    assert "anon plain" in listed.stdout.splitlines()
    interpreter = subprocess.run(
        ["readelf", "-l", str(shaper)], capture_output=True, text=True, check=True
    ).stdout
    assert "INTERP" in interpreter  # dynamically linked: the fallback built it
    built = shaper.stat().st_mtime_ns
    assert shaper_path(cc=str(cc)) == shaper  # the second call finds it in the cache
    assert shaper.stat().st_mtime_ns == built


def _no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment of a user without a home (``nobody``): no XDG_CACHE_HOME, a HOME that
    does not exist, and the temporary folder ``tmp_path``."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / f"smapsfmt-{os.getuid()}"


def test_without_a_home_the_shaper_is_kept_in_a_private_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = _no_home(monkeypatch, tmp_path)
    cc = _script(tmp_path / "cc", "exit 1\n")  # the folder is made before the compiler runs
    with pytest.raises(ShaperBuildError, match=r"^building the shaper failed: "):
        shaper_path(cc=str(cc))
    info = private.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()


@pytest.mark.parametrize("planted", ["writable", "symlink"])
def test_a_temporary_folder_others_may_write_or_a_link_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    private = _no_home(monkeypatch, tmp_path)
    if planted == "writable":
        private.mkdir()
        private.chmod(0o777)
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        private.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ShaperBuildError) as raised:
        shaper_path(cc="cc")
    assert str(raised.value) == (
        f"{private} is not a directory of this user's alone: the shaper is not built or run "
        "from there (set XDG_CACHE_HOME to a directory of your own)"
    )


def test_no_compiler_on_the_path_is_named_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder with no cc and no gcc
    with pytest.raises(ShaperBuildError) as raised:
        shaper_path()
    assert str(raised.value) == (
        "smapsfmt selftest builds its shaper from smapsfmt/selftest/shaper.c on first use, and "
        "no C compiler was found (tried $CC, cc, gcc): install one with the C library's "
        "headers (Debian: apt-get install gcc libc6-dev), or set CC"
    )


def test_a_shaper_that_fails_or_runs_too_long_is_reported() -> None:
    """What the shaper says when it refuses its arguments, and a run cut at its timeout (one
    microsecond: no run of the shaper is that short)."""
    from smapsfmt.selftest.run import ShaperError, run_shaper

    with pytest.raises(ShaperError) as raised:
        run_shaper(["nosuch"], system=False)
    assert str(raised.value) == (
        "the shaper failed (exit status 2): shaper: unknown shape or option nosuch\n"
        "usage: shaper [--system] [--list] [SHAPE ...]"
    )
    with pytest.raises(ShaperError) as raised:
        run_shaper(["anon"], system=False, timeout=1e-6)
    assert str(raised.value) == "the shaper ran longer than 1e-06 s and was stopped"
