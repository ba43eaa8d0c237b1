"""Kernel packages as the selftest reads them (smapsfmt/selftest/modules.py, debian.py), without
the archive: small real Debian packages built here with dpkg-deb, holding real ELF objects
compiled by gcc with a ``.modinfo`` section, laid out as Debian's kernel packages lay them out
(plain, xz- and gzip-compressed modules). Debian's own packages, from the kernel cache, are read
by the ``kernels`` tests in test_kernels.py.
"""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from smapsfmt.selftest import debian, modules

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("dpkg-deb") is None,
    reason="gcc and dpkg-deb are not installed (CI installs gcc; dpkg-deb is Debian's)",
)

RELEASE = "6.1.0-99-amd64"


def _module(tmp_path: Path, name: str, depends: str) -> bytes:
    """A relocatable ELF object whose ``.modinfo`` names ``depends``, as a module's does."""
    source = tmp_path / f"{name}.c"
    source.write_text(
        '__attribute__((section(".modinfo"), used)) static const char info[] =\n'
        f'    "license=GPL\\0depends={depends}\\0name={name}";\n'
    )
    subprocess.run(["gcc", "-c", "-o", str(tmp_path / f"{name}.o"), str(source)], check=True)
    return (tmp_path / f"{name}.o").read_bytes()


def _package(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    """A Debian package ``name`` holding ``files`` (path in the package -> bytes)."""
    tree = tmp_path / f"{name}-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: amd64\n"
        "Maintainer: none <none@example.org>\n"
        "Description: modules laid out as a kernel package lays them out\n"
    )
    for path, data in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(data)
    deb = tmp_path / f"{name}_1.0_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)],
        check=True, capture_output=True,
    )  # fmt: skip
    return deb


@pytest.fixture
def kernel_package(tmp_path: Path) -> Path:
    """zram needing zsmalloc (xz) and lz4_compress (built in: no file), lzo-rle (gzip), and a
    module of another folder (not read)."""
    base = f"lib/modules/{RELEASE}/kernel/"
    return _package(
        tmp_path,
        f"linux-image-{RELEASE}",
        {
            base + "drivers/block/zram/zram.ko": _module(
                tmp_path, "zram", "zsmalloc,lz4_compress"
            ),
            base + "mm/zsmalloc.ko.xz": lzma.compress(_module(tmp_path, "zsmalloc", "")),
            base + "crypto/lzo-rle.ko.gz": gzip.compress(_module(tmp_path, "lzo_rle", "lzo")),
            base + "crypto/lzo.ko": _module(tmp_path, "lzo", ""),
            base + "drivers/net/dummy.ko": _module(tmp_path, "dummy", ""),
            f"boot/vmlinuz-{RELEASE}": b"MZ not really a kernel\n",
        },
    )


def test_zram_comes_after_its_dependencies_decompressed_from_the_package(
    kernel_package: Path,
) -> None:
    files, paths, note = modules.from_package(kernel_package)
    assert [name for name, _ in files] == ["zsmalloc", "zram", "lzo", "lzo_rle"]
    assert all(elf.startswith(b"\x7fELF") for _, elf in files)  # xz and gzip undone
    assert modules.modinfo(dict(files)["zram"])["depends"] == ["zsmalloc,lz4_compress"]
    base = f"/lib/modules/{RELEASE}/kernel/"
    assert paths == (
        base + "mm/zsmalloc.ko.xz",
        base + "drivers/block/zram/zram.ko",
        base + "crypto/lzo.ko",
        base + "crypto/lzo-rle.ko.gz",
    )
    assert note == ""


def test_the_modules_of_a_fetched_kernel_are_kept_beside_its_image(
    kernel_package: Path, tmp_path: Path
) -> None:
    apt = debian.Apt(tmp_path / "cache")
    fetched = debian.Fetched(
        package=f"linux-image-{RELEASE}:amd64", version="1.0", deb=kernel_package,
        deb_sha256=debian.sha256(kernel_package), image=Path("/nonexistent"), image_sha256="",
        kernel_release=RELEASE,
    )  # fmt: skip
    got = modules.for_fetched(fetched, apt)
    assert (got.package, got.package_version, got.note) == (fetched.package, "1.0", "")
    assert got.package_sha256 == fetched.deb_sha256
    assert [name for name, _ in got.files] == ["zsmalloc", "zram", "lzo", "lzo_rle"]
    assert got.files == modules.from_package(kernel_package)[0]
    assert got.paths[1] == f"/lib/modules/{RELEASE}/kernel/drivers/block/zram/zram.ko"
    assert list(got.initramfs_files()) == [
        "module-00-zsmalloc.ko", "module-01-zram.ko", "module-02-lzo.ko", "module-03-lzo_rle.ko"
    ]  # fmt: skip
    kept = apt.images / f"linux-image-{RELEASE}_1.0_amd64.zram"
    assert sorted(p.name for p in kept.iterdir())[:3] == ["00-zsmalloc.ko", "00-zsmalloc.path",
                                                          "01-zram.ko"]  # fmt: skip
    # The second time the kept folder serves: the package is not read again.
    (kept / "03-lzo_rle.ko").unlink()
    (kept / "03-lzo_rle.path").unlink()
    again = modules.for_fetched(fetched, apt)
    assert (again.files, again.paths) == (got.files[:3], got.paths[:3])


def test_a_package_without_zram_says_so(tmp_path: Path) -> None:
    deb = _package(
        tmp_path,
        "linux-image-6.1.0-98-amd64",
        {"lib/modules/6.1.0-98-amd64/kernel/mm/zsmalloc.ko": _module(tmp_path, "zsmalloc", "")},
    )
    assert modules.from_package(deb) == (
        (), (), "linux-image-6.1.0-98-amd64_1.0_amd64.deb holds no zram module (built in, or "
        "not built)"
    )  # fmt: skip


def test_a_kernel_package_of_no_known_kind_has_no_modules(tmp_path: Path) -> None:
    fetched = debian.Fetched(
        package="vmlinux-custom:amd64", version="1", deb=tmp_path / "x.deb", deb_sha256="",
        image=tmp_path / "vmlinuz", image_sha256="", kernel_release="6.1.0",
    )  # fmt: skip
    assert modules.for_fetched(fetched, debian.Apt(tmp_path)) == modules.Modules(
        note="no known package holds the modules of vmlinux-custom:amd64"
    )


def test_a_modules_package_the_archive_lacks_is_a_note(tmp_path: Path) -> None:
    apt = debian.Apt(tmp_path)  # lists of its own, empty: the archive holds nothing
    apt.write_sources()
    fetched = debian.Fetched(
        package="linux-binary-unsigned-7.3.4+deb13-amd64:amd64", version="7.3.4-1",
        deb=tmp_path / "x.deb", deb_sha256="", image=tmp_path / "vmlinuz", image_sha256="",
        kernel_release="7.3.4+deb13-amd64",
    )  # fmt: skip
    assert modules.for_fetched(fetched, apt) == modules.Modules(
        note="the archive holds no linux-modules-7.3.4+deb13-amd64 for amd64 (the kernel's "
        "modules)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty file"), (b"!<arch>\ndebian-binary   ", "empty file"), (None, "truncated")],
    ids=["empty", "not-a-package", "truncated"],
)
def test_a_file_that_is_not_a_whole_package_is_refused_with_its_name(
    tmp_path: Path, kernel_package: Path, data: bytes | None, message: str
) -> None:
    bad = tmp_path / "bad.deb"
    whole = kernel_package.read_bytes()
    bad.write_bytes(whole[: len(whole) * 2 // 3] if data is None else data)
    with pytest.raises(modules.ModuleError) as raised:
        modules.from_package(bad)
    if data is None:  # where the data ends decides which of tar's words it is
        assert str(raised.value).startswith("bad.deb: not a package's data: "), raised.value
    else:
        assert str(raised.value) == f"bad.deb: not a package's data: {message}"


def test_modules_python_cannot_read_are_refused_by_name() -> None:
    with pytest.raises(modules.ModuleError) as raised:
        modules.decompress("kernel/drivers/block/zram/zram.ko.zst", b"(\xb5/\xfd")
    assert str(raised.value) == (
        "kernel/drivers/block/zram/zram.ko.zst: zstd-compressed modules are not read (Python "
        "has no zstd)"
    )
    assert modules.module_name("zram.ko.zst") == "zram"


# --- debian.py: the apt configuration of its own, and where a package keeps its image ---------


def test_the_sources_name_each_suite_on_its_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMAPSFMT_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("SMAPSFMT_DEBIAN_SUITES", "bookworm-security  sid")
    apt = debian.Apt()
    assert apt.root == tmp_path
    assert not apt.has_lists()
    apt.write_sources()
    keyring = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
    assert apt.sources.read_text() == (
        f"deb {keyring} http://deb.debian.org/debian-security bookworm-security main\n"
        f"deb {keyring} http://deb.debian.org/debian sid main\n"
    )
    assert apt.status.read_bytes() == b""
    assert (apt.lists / "partial").is_dir() and (apt.cache / "archives" / "partial").is_dir()
    assert not apt.has_lists()  # no list fetched yet
    monkeypatch.delenv("SMAPSFMT_DEBIAN_SUITES")
    assert debian.suites() == debian.SUITES


def test_a_package_the_lists_do_not_hold_is_named(tmp_path: Path) -> None:
    apt = debian.Apt(tmp_path)
    apt.write_sources()
    suites = "bullseye, bullseye-security, bookworm, bookworm-security, trixie, trixie-backports"
    with pytest.raises(debian.FetchError) as raised:
        apt.newest(r"linux-image-6\.1\.0-\d+-686", "i386")
    assert str(raised.value) == (
        f"no package named 'linux-image-6\\\\.1\\\\.0-\\\\d+-686' for i386 in {suites}"
    )
    with pytest.raises(debian.FetchError) as raised:
        apt.download("linux-image-6.1.0-57-686", "i386")
    assert str(raised.value) == f"no package linux-image-6.1.0-57-686:i386 in {suites}"
    assert apt.candidates([], "i386") == {}


def test_a_failing_apt_command_is_reported_with_its_last_words(tmp_path: Path) -> None:
    apt = debian.Apt(tmp_path)
    apt.write_sources()
    apt.sources.write_text("this is not a sources line\n")
    with pytest.raises(debian.FetchError) as raised:
        apt.candidates(["linux-image-6.1.0-57-686"], "i386")
    message = str(raised.value)
    assert message.startswith("apt-cache policy linux-image-6.1.0-57-686:i386 failed: E: "), (
        message
    )


def test_the_image_of_a_package_and_its_release(tmp_path: Path) -> None:
    old = tmp_path / "old"
    (old / "boot").mkdir(parents=True)
    (old / "boot" / "vmlinuz-6.1.0-57-amd64").write_bytes(b"image")
    assert debian.image_in(old) == (old / "boot" / "vmlinuz-6.1.0-57-amd64", "6.1.0-57-amd64")
    new = tmp_path / "new" / "usr" / "lib" / "modules" / "7.3.4+deb13-amd64"
    new.mkdir(parents=True)
    (new / "vmlinuz").write_bytes(b"signed")
    (new / "vmlinuz.unsigned").write_bytes(b"unsigned")
    assert debian.image_in(tmp_path / "new") == (new / "vmlinuz.unsigned", "7.3.4+deb13-amd64")
    with pytest.raises(debian.FetchError) as raised:
        debian.image_in(tmp_path / "nothing")
    assert str(raised.value) == (
        "no kernel image in the package (looked in /boot and /usr/lib/modules)"
    )
