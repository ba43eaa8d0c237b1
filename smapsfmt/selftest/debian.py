"""Debian's kernel images, fetched by package name with an apt configuration of their own.

The machine's own apt (its sources, lists, cache, dpkg database) is never read or written:
every ``apt-get``/``apt-cache`` call names a ``sources.list``, a lists folder and a cache folder
under the kernel cache (``$SMAPSFMT_KERNEL_CACHE``, default ``/var/cache/smapsfmt/kernels``),
and ``dpkg-deb -x`` unpacks a package there without installing it.

Where the image is (Debian's packaging of linux): up to 6.18 in ``linux-image-*`` packages at
``/boot/vmlinuz-V``; from 6.19 on in ``linux-binary-*`` (``/usr/lib/modules/V/vmlinuz``, signed)
and ``linux-binary-unsigned-*`` (``/usr/lib/modules/V/vmlinuz.unsigned``). An arm64 package
holds a plain ``Image``, which qemu boots as it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/smapsfmt/kernels")
ARCHIVE = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The suites that hold the kernels of the matrix (see KERNELS in matrix.py); others can be
# named with SMAPSFMT_DEBIAN_SUITES (blank-separated). 5.10 and 6.1 are each in two suites (the
# release and its security updates, which has the newer builds), so that one index a mirror
# serves broken (see Apt.update) does not take a kernel away.
SUITES = ("bullseye", "bullseye-security", "bookworm", "bookworm-security", "trixie",
          "trixie-backports")  # fmt: skip
ARCHES = ("amd64", "i386", "arm64")
# Debian's architecture of each qemu guest architecture smapsfmt boots.
DEBIAN_ARCH = {"x86_64": "amd64", "i386": "i386", "arm64": "arm64"}
# apt's words for an index it could not take: "E: Failed to fetch URI  REASON", the URI of one
# suite's index for one architecture, as apt 2.6.1 (Debian 12) printed them here for
# deb.debian.org's bookworm-security i386 index in 2026-12 (REASON: "File has unexpected size
# (371952 != 372316). Mirror sync in progress? [IP: ...]").
_FAILED_INDEX = re.compile(
    r"^E: Failed to fetch \S+/dists/(?P<suite>[^/\s]+)/main/binary-(?P<arch>[^/\s]+)/\S*"
    r"\s+(?P<why>.+?)(?:\s+\[IP: [^]]*\])?$",
    re.MULTILINE,
)


class FetchError(Exception):
    """A package that cannot be found, fetched or unpacked; the message says which."""


@dataclass(frozen=True)
class Fetched:
    """A kernel package in the cache and the image unpacked from it."""

    package: str  # name[:arch] as apt knows it
    version: str
    deb: Path
    deb_sha256: str
    image: Path
    image_sha256: str
    kernel_release: str  # the V of /boot/vmlinuz-V or /usr/lib/modules/V/


def cache_dir() -> Path:
    return Path(os.environ.get("SMAPSFMT_KERNEL_CACHE") or DEFAULT_CACHE)


def suites() -> tuple[str, ...]:
    named = os.environ.get("SMAPSFMT_DEBIAN_SUITES", "").split()
    return tuple(named) or SUITES


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Apt:
    """apt-get and apt-cache with a configuration of their own under ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir()
        self.sources = self.root / "apt" / "sources.list"
        self.lists = self.root / "apt" / "lists"
        self.cache = self.root / "apt" / "cache"
        self.status = self.root / "apt" / "status"
        self.debs = self.root / "debs"
        self.images = self.root / "images"

    def _options(self) -> list[str]:
        options = [
            f"-o=Dir::Etc::SourceList={self.sources}",
            "-o=Dir::Etc::SourceParts=/dev/null",
            f"-o=Dir::State::Lists={self.lists}",
            f"-o=Dir::Cache={self.cache}",
            # apt's binary cache of the lists, kept (reading the lists afresh takes seconds)
            f"-o=Dir::Cache::pkgcache={self.cache / 'pkgcache.bin'}",
            f"-o=Dir::Cache::srcpkgcache={self.cache / 'srcpkgcache.bin'}",
            # an empty dpkg status: what the machine has installed plays no part
            f"-o=Dir::State::status={self.status}",
            "-o=Debug::NoLocking=1",  # the lists are ours alone; the machine's lock is not taken
            "-o=APT::Sandbox::User=root",
        ]
        options += [f"-o=APT::Architectures::={arch}" for arch in ARCHES]
        return options

    def _attempt(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [tool, *self._options(), *args]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def _run(self, tool: str, *args: str) -> str:
        done = self._attempt(tool, *args)
        if done.returncode != 0:
            raise FetchError(_failed(" ".join([tool, *args]), done))
        return done.stdout

    def write_sources(self, left_out: dict[tuple[str, str], str] | None = None) -> None:
        """The sources list: each suite on its archive, less the architectures ``left_out``
        names for it ((suite, arch) -> apt's reason)."""
        lines = []
        for suite in suites():
            uri = SECURITY if suite.endswith("-security") else ARCHIVE
            arches = [a for a in ARCHES if (suite, a) not in (left_out or {})]
            only = f"arch={','.join(arches)} " if len(arches) < len(ARCHES) else ""
            if arches:
                lines.append(f"deb [{only}signed-by={KEYRING}] {uri} {suite} main\n")
        text = "".join(lines)
        self.status.parent.mkdir(parents=True, exist_ok=True)
        self.status.touch()
        if not self.sources.exists() or self.sources.read_text() != text:
            self.sources.parent.mkdir(parents=True, exist_ok=True)
            self.sources.write_text(text)
            (self.lists / "partial").mkdir(parents=True, exist_ok=True)
            (self.cache / "archives" / "partial").mkdir(parents=True, exist_ok=True)

    def update(self) -> None:
        """Fetch the package lists of the suites (apt's own download, only when changed).

        One index that a mirror serves broken (apt: "File has unexpected size (...). Mirror
        sync in progress?", or a hash that does not match its Release file) fails the whole
        update, and apt then keeps no list of that suite at all. Such an index is left out:
        its suite is listed again without that architecture and the update is run again, so
        the other architectures of the suite, and the other suites, still serve. What was
        left out, and why, is kept beside the lists (``left_out``) and named when a package
        is not found. Anything else that fails the update is a FetchError."""
        self.done.unlink(missing_ok=True)
        self.write_sources()
        (self.lists / "partial").mkdir(parents=True, exist_ok=True)
        (self.cache / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        done = self._attempt("apt-get", "-q", "update")
        left_out: dict[tuple[str, str], str] = {}
        if done.returncode != 0:
            left_out = {
                (m["suite"], m["arch"]): m["why"]
                for m in _FAILED_INDEX.finditer(done.stdout + done.stderr)
                if m["suite"] in suites() and m["arch"] in ARCHES
            }
            if not left_out:
                raise FetchError(_failed("apt-get -q update", done))
            self.write_sources(left_out)
            self._run("apt-get", "-q", "update")
        self.done.write_text("".join(f"{s} {a} {why}\n" for (s, a), why in left_out.items()))

    @property
    def done(self) -> Path:
        """Written by an update that ended well: the indexes it left out, one a line."""
        return self.root / "apt" / "left-out"

    def left_out(self) -> dict[tuple[str, str], str]:
        """The indexes the last update left out: (suite, arch) -> apt's reason."""
        if not self.done.exists():
            return {}
        lines = self.done.read_text().splitlines()
        return {(s, a): why for s, a, why in (line.split(" ", 2) for line in lines)}

    def _looked_in(self) -> str:
        """The suites looked in, and what the last update left out of them."""
        where = ", ".join(suites())
        missing = [f"{s} {a}: {why}" for (s, a), why in self.left_out().items()]
        return where + (f" (left out: {'; '.join(missing)})" if missing else "")

    def has_lists(self) -> bool:
        """An update ended well and fetched lists (it is run again otherwise)."""
        return self.done.exists() and any(self.lists.glob("*_Packages*"))

    def newest(self, pattern: str, arch: str) -> tuple[str, str]:
        """The newest package of ``arch`` whose whole name matches the regular expression
        ``pattern``: (name, version)."""
        prefix = re.split(r"[\\.^$*+?()\[\]{}|]", pattern, maxsplit=1)[0]
        found = sorted(set(self._run("apt-cache", "pkgnames", prefix).split()))
        names = [name for name in found if re.fullmatch(pattern, name)]
        best: tuple[str, str] | None = None
        for name, version in self.candidates(names, arch).items():
            if best is None or _newer(version, best[1]):
                best = (name, version)
        if best is None:
            raise FetchError(f"no package named {pattern!r} for {arch} in {self._looked_in()}")
        return best

    def candidates(self, names: list[str], arch: str) -> dict[str, str]:
        """The version apt would fetch of each package of ``names`` that ``arch`` has."""
        if not names:
            return {}
        out = self._run("apt-cache", "policy", *(f"{name}:{arch}" for name in names))
        found: dict[str, str] = {}
        for block in re.split(r"^(?=\S)", out, flags=re.MULTILINE):
            head = re.match(r"(\S+?)(?::\S+)?:\n", block)
            version = re.search(r"^\s*Candidate:\s*(\S+)", block, re.MULTILINE)
            if head and version and version.group(1) != "(none)":
                found[head.group(1)] = version.group(1)
        return found

    def candidate(self, package: str) -> str | None:
        """The version apt would fetch of ``package`` (name:arch), or None."""
        name, _, arch = package.partition(":")
        return self.candidates([name], arch).get(name)

    def download(self, package: str, arch: str) -> Path:
        """The cached .deb of ``package`` for ``arch``, downloaded if not cached yet."""
        self.debs.mkdir(parents=True, exist_ok=True)
        version = self.candidate(f"{package}:{arch}")
        if version is None:
            raise FetchError(f"no package {package}:{arch} in {self._looked_in()}")
        quoted = version.replace(":", "%3a")
        cached = self.debs / f"{package}_{quoted}_{arch}.deb"
        if cached.exists():
            return cached
        with tempfile.TemporaryDirectory(dir=self.debs) as where:
            os.chmod(where, 0o755)
            done = subprocess.run(
                ["apt-get", *self._options(), "-q", "download", f"{package}:{arch}={version}"],
                capture_output=True, text=True, cwd=where, check=False,
            )  # fmt: skip
            got = list(Path(where).glob("*.deb"))
            if done.returncode != 0 or len(got) != 1:
                said = (done.stderr or done.stdout).strip().splitlines()
                raise FetchError(f"apt-get download {package}:{arch} failed: "
                                 f"{said[-1] if said else 'no .deb'}")  # fmt: skip
            got[0].rename(cached)
        return cached


def _failed(what: str, done: subprocess.CompletedProcess[str]) -> str:
    """``what`` failed, with the last line apt said."""
    said = (done.stderr or done.stdout).strip().splitlines()
    return f"{what} failed: {said[-1] if said else ''}"


def _newer(a: str, b: str) -> bool:
    done = subprocess.run(["dpkg", "--compare-versions", a, "gt", b], check=False)
    return done.returncode == 0


def image_in(root: Path) -> tuple[Path, str]:
    """The kernel image unpacked under ``root`` and its release string."""
    found = sorted(root.glob("boot/vmlinuz-*"))
    found += sorted(root.glob("usr/lib/modules/*/vmlinuz.unsigned"))
    found += sorted(root.glob("usr/lib/modules/*/vmlinuz"))
    if not found:
        raise FetchError("no kernel image in the package (looked in /boot and /usr/lib/modules)")
    image = found[0]
    if image.parent.name == "boot":
        return image, image.name.removeprefix("vmlinuz-")
    return image, image.parent.name


def fetch(package: str, arch: str, apt: Apt | None = None) -> Fetched:
    """Fetch (or find in the cache) Debian's kernel package ``package`` for ``arch`` (Debian's
    name: amd64, i386, arm64) and unpack its image. The lists are updated once, when absent."""
    apt = apt or Apt()
    if not apt.has_lists():
        apt.update()
    try:
        deb = apt.download(package, arch)
    except FetchError:  # lists older than the archive: the build was replaced since
        apt.update()
        deb = apt.download(package, arch)
    version = deb.name.split("_")[1].replace("%3a", ":")
    unpacked = apt.images / deb.name.removesuffix(".deb")
    if not unpacked.exists():
        apt.images.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=apt.images) as where:
            # Only the image: the modules are not needed by a kernel that boots an initramfs.
            done = subprocess.run(
                ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=False
            )
            if done.returncode != 0:
                raise FetchError(f"dpkg-deb cannot read {deb}: {done.stderr.decode().strip()}")
            untar = subprocess.run(
                ["tar", "-x", "-C", where, "--wildcards", "./boot/vmlinuz-*",
                 "./usr/lib/modules/*/vmlinuz*"],
                input=done.stdout, capture_output=True, check=False,
            )  # fmt: skip
            del untar  # tar reports the pattern that matched nothing; image_in decides
            image_in(Path(where))  # raises when the package holds no image
            Path(where).rename(unpacked)
            os.makedirs(where)  # TemporaryDirectory removes it again
    image, release = image_in(unpacked)
    return Fetched(
        package=f"{package}:{arch}",
        version=version,
        deb=deb,
        deb_sha256=sha256(deb),
        image=image,
        image_sha256=sha256(image),
        kernel_release=release,
    )
