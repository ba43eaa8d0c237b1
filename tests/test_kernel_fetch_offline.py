"""Fetching a Debian kernel when the archive cannot be reached, or serves an index broken
(smapsfmt/selftest/debian.py).

apt is pointed at an HTTP proxy on a port of this machine (apt reads ``APT_CONFIG``;
Acquire::http::Proxy sends every request there): one that was just bound and closed, which
refuses connections; or one of the test's own that answers for deb.debian.org with a small
archive built here. The kernel cache is a folder of the test's own: nothing of the machine's
apt, and nothing of the kernels CI caches, is read or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smapsfmt.selftest import debian

pytestmark = pytest.mark.skipif(
    shutil.which("apt-get") is None, reason="apt-get is Debian's (CI runs on Debian)"
)


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """APT_CONFIG naming, as apt's HTTP proxy, a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = tmp_path / "apt.conf"
    config.write_text(f'Acquire::http::Proxy "http://127.0.0.1:{port}/";\nAcquire::Retries "0";\n')
    monkeypatch.setenv("APT_CONFIG", str(config))
    yield port


def test_an_unreachable_archive_fetches_nothing_and_names_the_package(
    tmp_path: Path, unreachable: int
) -> None:
    """No lists yet: fetch updates them (every suite's request is refused, which apt-get
    update only warns about), finds no such package, updates once more (the lists may be
    older than the archive) and gives up, naming the package and the suites looked in. The
    cache holds no list, no package and no image afterwards."""
    apt = debian.Apt(tmp_path / "cache")
    with pytest.raises(debian.FetchError) as raised:
        debian.fetch("linux-image-6.1.0-57-686", "i386", apt)
    assert str(raised.value) == (
        "no package linux-image-6.1.0-57-686:i386 in bullseye, bullseye-security, bookworm, "
        "bookworm-security, trixie, trixie-backports"
    )
    assert apt.sources.read_text().count("deb [signed-by=") == len(debian.SUITES)
    assert not apt.has_lists()
    assert [p.name for p in apt.debs.iterdir()] == []
    assert not apt.images.exists()


# --- a mirror that serves one index broken ----------------------------------------------------

ARCHIVE = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"


def _packages(*packages: tuple[str, str, str]) -> bytes:
    """A Packages index of (name, version, arch) stanzas."""
    return "".join(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>\n"
        f"Filename: pool/main/l/linux/{name}_{version}_{arch}.deb\nSize: 1\n"
        f"Description: Linux for {arch}\n\n"
        for name, version, arch in packages
    ).encode()


def _suite(
    uri: str, suite: str, indexes: dict[str, bytes], served: dict[str, bytes] | None = None
) -> dict[str, bytes]:
    """An unsigned suite: its Release file, which lists ``indexes`` (arch -> Packages), and
    the indexes as served (``served`` replaces some: a mirror caught mid-sync)."""
    lines = [
        f"Suite: {suite}", f"Codename: {suite}", "Date: Sat, 05 Dec 2026 00:00:00 UTC",
        "Architectures: amd64 i386 arm64", "Components: main", "SHA256:",
    ]  # fmt: skip
    files = {}
    for arch, text in indexes.items():
        name = f"main/binary-{arch}/Packages"
        lines.append(f" {hashlib.sha256(text).hexdigest()} {len(text)} {name}")
        files[f"{uri}/dists/{suite}/{name}"] = (served or {}).get(arch, text)
    files[f"{uri}/dists/{suite}/Release"] = ("\n".join(lines) + "\n").encode()
    return files


@contextlib.contextmanager
def _proxy(files: dict[str, bytes]) -> Iterator[int]:
    """An HTTP proxy on a port of this machine that answers each URL of ``files`` (404
    otherwise): its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_an_index_the_mirror_serves_broken_is_left_out_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One suite's i386 index is served with another size than its Release file says (as a
    mirror in the middle of a sync serves it): apt's update fails, and keeps no list of that
    suite at all. The update leaves that one index out and runs again: the suite's other
    architectures, and the other suite, still serve; the newest build of each kernel is found
    where it still is, and a package that is nowhere is named with what was left out."""
    i386 = _packages(("linux-image-6.1.0-57-686", "6.1.192-3", "i386"))
    security = _suite(
        SECURITY, "bookworm-security",
        {"amd64": _packages(("linux-image-6.1.0-57-amd64", "6.1.192-3", "amd64")),
         "i386": i386, "arm64": _packages()},
        served={"i386": i386[:-40]},
    )  # fmt: skip
    release = _suite(
        ARCHIVE, "bookworm",
        {"amd64": _packages(("linux-image-6.1.0-50-amd64", "6.1.176-1", "amd64")),
         "i386": _packages(("linux-image-6.1.0-50-686", "6.1.176-1", "i386")),
         "arm64": _packages()},
    )  # fmt: skip
    monkeypatch.setenv("SMAPSFMT_DEBIAN_SUITES", "bookworm bookworm-security")
    files = {**security, **release}
    with _proxy(files) as port:
        config = tmp_path / "apt.conf"
        config.write_text(
            f'Acquire::http::Proxy "http://127.0.0.1:{port}/";\nAcquire::Retries "0";\n'
            # the archive built here is not signed
            'Acquire::AllowInsecureRepositories "true";\n'
        )
        monkeypatch.setenv("APT_CONFIG", str(config))
        apt = debian.Apt(tmp_path / "cache")
        apt.update()
        why = (
            f"File has unexpected size ({len(i386) - 40} != {len(i386)}). Mirror sync in progress?"
        )
        assert apt.left_out() == {("bookworm-security", "i386"): why}
        assert apt.has_lists()
        keyring = "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
        assert apt.sources.read_text() == (
            f"deb [{keyring}] {ARCHIVE} bookworm main\n"
            f"deb [arch=amd64,arm64 {keyring}] {SECURITY} bookworm-security main\n"
        )
        found = apt.newest(r"linux-image-6\.1\.0-\d+-686", "i386")
        assert found == ("linux-image-6.1.0-50-686", "6.1.176-1")  # the release's build
        found = apt.newest(r"linux-image-6\.1\.0-\d+-amd64", "amd64")
        assert found == ("linux-image-6.1.0-57-amd64", "6.1.192-3")  # the security update's
        arm64 = r"linux-image-6\.1\.0-\d+-arm64"
        with pytest.raises(debian.FetchError) as raised:
            apt.newest(arm64, "arm64")
        assert str(raised.value) == (
            f"no package named {arm64!r} for arm64 in bookworm, bookworm-security (left out: "
            f"bookworm-security i386: {why})"
        )
        # Served whole again, the index is taken again, and nothing is left out.
        files[f"{SECURITY}/dists/bookworm-security/main/binary-i386/Packages"] = i386
        apt.update()
        assert apt.left_out() == {}
        assert apt.newest(r"linux-image-6\.1\.0-\d+-686", "i386")[0] == "linux-image-6.1.0-57-686"
