"""Fetching a Debian kernel when the archive cannot be reached (smapsfmt/selftest/debian.py).

apt is pointed at a real address that refuses connections: an HTTP proxy on a port of this
machine that was just bound and closed (apt reads ``APT_CONFIG``; Acquire::http::Proxy sends
every request there). The kernel cache is a folder of the test's own: nothing of the
machine's apt, and nothing of the kernels CI caches, is read or written.
"""

from __future__ import annotations

import shutil
import socket
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
        "no package linux-image-6.1.0-57-686:i386 in bullseye-security, bookworm-security, "
        "trixie, trixie-backports"
    )
    assert apt.sources.read_text().count("deb [signed-by=") == len(debian.SUITES)
    assert not apt.has_lists()
    assert [p.name for p in apt.debs.iterdir()] == []
    assert not apt.images.exists()
