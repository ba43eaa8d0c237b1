"""The kernel modules a guest loads for the swap shape: zram and what it needs, from the booted
kernel's own Debian packages.

An initramfs boot has no /lib/modules and no modprobe, and Debian builds zram as a module, so
the swap shape (zram + MADV_PAGEOUT) could not run under qemu. Here the host takes ``zram.ko``
from the package of the booted kernel (``linux-image-*`` up to 6.18 holds its modules; from 6.19
on they are in ``linux-modules-V``, a package of their own), follows each module's
``depends=`` (its ``.modinfo`` section: what ``modules.dep`` is made from, and the packages
ship no ``modules.dep``), decompresses the ``.ko.xz`` files Debian ships from 6.12 on (Python's
lzma), and hands them to the guest in load order; /init (init.c) loads each with
``init_module(2)``. A dependency that is no module file of the package is built in.

The compressor: up to 6.11 zram compresses through the crypto API, and its default algorithm
(``lzo-rle``, ``CONFIG_ZRAM_DEF_COMP``) is found by ``request_module`` when it is a module, which
needs a modprobe the guest has not: ``lzo-rle.ko`` goes in too when the package has it as a
module (drivers/block/zram/zcomp.c of 5.10 and 6.1). From 6.12 on zram carries its own
compressor backends, which name the compression libraries in their ``depends=``
(drivers/block/zram/backend_*.c of 6.12).
"""

from __future__ import annotations

import gzip
import lzma
import re
import struct
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .debian import Apt, Fetched

# The modules the swap shape needs, the first required, the others when they are modules.
WANTED = ("zram", "lzo_rle")
# The folders of a package's modules that hold them and their dependencies.
_FOLDERS = ("kernel/drivers/block/zram/", "kernel/mm/", "kernel/lib/", "kernel/crypto/")
_MODULE = re.compile(r"^\.?/?(?:usr/)?lib/modules/([^/]+)/(kernel/.+\.ko(?:\.xz|\.gz|\.zst)?)$")


class ModuleError(Exception):
    """A module file that cannot be read; the message says which."""


@dataclass(frozen=True)
class Modules:
    """What the guest loads, in order (name, the module's ELF bytes), where they came from,
    and why there are none when there are none."""

    files: tuple[tuple[str, bytes], ...] = ()
    package: str = ""  # name:arch of the package that held them
    package_version: str = ""
    package_sha256: str = ""
    note: str = ""  # why no zram module is given, when none is
    paths: tuple[str, ...] = field(default=(), compare=False)

    def initramfs_files(self) -> dict[str, bytes]:
        """The files for the initramfs: ``module-NN-NAME.ko``, loaded by /init in name order."""
        return {f"module-{i:02d}-{name}.ko": data for i, (name, data) in enumerate(self.files)}


def module_name(path: str) -> str:
    """A module's name from its file: ``lzo-rle.ko.xz`` -> ``lzo_rle``."""
    base = path.rsplit("/", 1)[-1]
    base = re.sub(r"\.ko(\.xz|\.gz|\.zst)?$", "", base)
    return base.replace("-", "_")


def decompress(path: str, data: bytes) -> bytes:
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        raise ModuleError(f"{path}: zstd-compressed modules are not read (Python has no zstd)")
    return data


def modinfo(elf: bytes) -> dict[str, list[str]]:
    """The ``key=value`` strings of a module's ``.modinfo`` section."""
    if elf[:4] != b"\x7fELF":
        raise ModuleError("not an ELF file")
    wide, endian = elf[4] == 2, "<" if elf[5] == 1 else ">"
    if wide:
        (shoff,) = struct.unpack_from(endian + "Q", elf, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", elf, 0x3A)
        section = endian + "IIQQQQIIQQ"
        place = (4, 5)  # sh_offset, sh_size
    else:
        (shoff,) = struct.unpack_from(endian + "I", elf, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", elf, 0x2E)
        section = endian + "IIIIIIIIII"
        place = (4, 5)
    headers = [struct.unpack_from(section, elf, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx]
    strings = elf[names[place[0]] : names[place[0]] + names[place[1]]]
    found: dict[str, list[str]] = {}
    for header in headers:
        name = strings[header[0] : strings.index(b"\0", header[0])]
        if name == b".modinfo":
            body = elf[header[place[0]] : header[place[0]] + header[place[1]]]
            for item in body.split(b"\0"):
                key, eq, value = item.decode(errors="replace").partition("=")
                if eq:
                    found.setdefault(key, []).append(value)
    return found


def _read_package(deb: Path) -> tuple[str, dict[str, tuple[str, bytes]]]:
    """The release and the module files (name -> (path, compressed bytes)) of the folders that
    matter, read from the package's data without unpacking it."""
    unpack = subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert unpack.stdout is not None
    release = ""
    found: dict[str, tuple[str, bytes]] = {}
    try:
        with tarfile.open(fileobj=unpack.stdout, mode="r|") as archive:
            for member in archive:
                match = _MODULE.match(member.name)
                if not match or not member.isfile():
                    continue
                if not match.group(2).startswith(_FOLDERS):
                    continue
                release = match.group(1)
                extracted = archive.extractfile(member)
                if extracted is not None:
                    found[module_name(member.name)] = (member.name, extracted.read())
    except tarfile.TarError as error:
        raise ModuleError(f"{deb.name}: not a package's data: {error}") from None
    finally:
        unpack.stdout.close()
        unpack.wait()
    return release, found


def from_package(deb: Path) -> tuple[tuple[tuple[str, bytes], ...], tuple[str, ...], str]:
    """zram and its dependencies from the package ``deb``, dependencies first: (modules,
    their paths in the package, a note saying why none when there are none)."""
    _release, found = _read_package(deb)
    if "zram" not in found:
        return (), (), f"{deb.name} holds no zram module (built in, or not built)"
    order: list[str] = []
    loaded: dict[str, bytes] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in loaded or name not in found or name in trail:
            return
        path, packed = found[name]
        elf = decompress(path, packed)
        for depends in modinfo(elf).get("depends", []):
            for dep in filter(None, depends.split(",")):
                visit(dep.replace("-", "_"), (*trail, name))
        loaded[name] = elf
        order.append(name)

    for wanted in WANTED:
        visit(wanted, ())
    return (
        tuple((name, loaded[name]) for name in order),
        tuple(found[name][0].lstrip(".") for name in order),
        "",
    )


def modules_package(package: str, release: str) -> str | None:
    """The package holding the modules of kernel package ``package`` (name:arch): itself up to
    6.18 (``linux-image-*``), ``linux-modules-RELEASE`` from 6.19 on (``linux-binary-*``)."""
    name, _, arch = package.partition(":")
    if name.startswith("linux-image-"):
        return package
    if name.startswith("linux-binary-"):
        return f"linux-modules-{release}:{arch}"
    return None


def for_fetched(fetched: Fetched, apt: Apt) -> Modules:
    """The swap shape's modules for the kernel of ``fetched``, from its package or the package
    of its modules (fetched into the kernel cache); a note instead when there are none. The
    modules are kept, decompressed, beside the unpacked image."""
    from .debian import FetchError, sha256

    holder = modules_package(fetched.package, fetched.kernel_release)
    if holder is None:
        return Modules(note=f"no known package holds the modules of {fetched.package}")
    name, _, arch = holder.partition(":")
    if holder == fetched.package:
        deb, version = fetched.deb, fetched.version
    else:
        version_found = apt.candidate(holder)
        if version_found is None:
            return Modules(note=f"the archive holds no {name} for {arch} (the kernel's modules)")
        try:
            deb = apt.download(name, arch)
        except FetchError as error:
            return Modules(note=str(error))
        version = version_found
    kept = apt.images / (deb.name.removesuffix(".deb") + ".zram")
    if not kept.is_dir():
        files, paths, note = from_package(deb)
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(".partial")
        partial.mkdir(exist_ok=True)
        for i, ((module, data), path) in enumerate(zip(files, paths, strict=True)):
            (partial / f"{i:02d}-{module}.ko").write_bytes(data)
            (partial / f"{i:02d}-{module}.path").write_text(path + "\n")
        (partial / "NOTE").write_text(note)
        partial.rename(kept)
    files_kept = tuple(
        (p.stem.split("-", 1)[1], p.read_bytes()) for p in sorted(kept.glob("*.ko"))
    )
    paths_kept = tuple(p.read_text().strip() for p in sorted(kept.glob("*.path")))
    return Modules(
        files=files_kept,
        package=holder,
        package_version=version,
        package_sha256=sha256(deb),
        note=(kept / "NOTE").read_text(),
        paths=paths_kept,
    )
