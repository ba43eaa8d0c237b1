"""The fleet commands where the machine fails them: a dataset on a file system that fills up
or is read-only (real tmpfs mounts, made here as root). ``sample`` and ``export`` exit 2 with
the system's reason, and leave no file behind, not even a hidden one (a reader never sees half
a sample).
"""

from __future__ import annotations

import contextlib
import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import LIVE, run_cli

CAPTURE = LIVE / "6.18" / "sleep" / "smaps"


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``where`` with ``options`` (root only), unmounted at the end."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root is needed; CI runs as root): {done.stderr}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


def test_a_sample_that_fills_the_disk_leaves_nothing(tmp_path: Path) -> None:
    """A full disk, whatever this machine's processes: a 64 kB tmpfs filled first by a file of
    the test's own. The folders still fit (a tmpfs directory takes no data page), the first
    Parquet file does not (ENOSPC while pyarrow writes)."""
    with _tmpfs(tmp_path / "small", "size=64k") as mount:
        _fill(mount / "filler")
        dataset = mount / "dataset"
        result = run_cli(
            "sample", "-o", str(dataset), "--smaps", "--host", "h", "--format", "json"
        )
        assert result.returncode == 2, result.stderr.decode()
        message = json.loads(result.stdout)["error"]["message"]
        assert message.startswith(f"cannot write {dataset}: "), message
        assert "No space left on device" in message, message
        assert result.stderr.decode() == f"smapsfmt: error: {message}\n"
        assert _files(mount) == ["filler"]


def _fill(path: Path) -> None:
    """Write ``path`` until the file system has no page left."""
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(bytes(4096))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def test_a_read_only_dataset_is_refused_with_the_reason(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as mount:
        dataset = mount / "dataset"
        for command in (["sample"], ["export", str(CAPTURE)]):
            result = run_cli(*command, "-o", str(dataset), "--host", "h")
            assert (result.returncode, result.stdout, result.stderr.decode()) == (
                2, b"", f"smapsfmt: error: cannot write {dataset}: Read-only file system\n",
            ), command  # fmt: skip
        assert _files(mount) == []


def test_an_export_that_fills_the_disk_leaves_nothing(tmp_path: Path) -> None:
    """16 kB, and a capture of 3,161 mappings: its mappings file does not fit."""
    with _tmpfs(tmp_path / "small", "size=16k") as mount:
        dataset = mount / "dataset"
        many = LIVE / "6.18" / "many-small" / "smaps"
        result = run_cli("export", str(many), "-o", str(dataset), "--host", "h")
        assert result.returncode == 2, result.stderr.decode()
        said = result.stderr.decode()
        assert said.startswith(f"smapsfmt: error: cannot write {dataset}: "), said
        assert "No space left on device" in said, said
        assert _files(mount) == []
