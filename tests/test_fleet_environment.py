"""The fleet commands where the machine fails them, and the Spark job as a program of its own.

A dataset on a file system that fills up or is read-only (real tmpfs mounts, made here as
root): ``sample`` and ``export`` exit 2 with the system's reason, and leave no file behind, not
even a hidden one (a reader never sees half a sample). ``python -m smapsfmt.fleet.spark``
starts its own Spark session, runs the documented queries, and stops it: its rows are DuckDB's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_support import duckdb_rows
from support import LIVE, run_cli

from smapsfmt.fleet.queries import QUERIES

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
    """64 kB: the folders fit, the first Parquet file does not (ENOSPC while pyarrow writes)."""
    with _tmpfs(tmp_path / "small", "size=64k") as mount:
        dataset = mount / "dataset"
        result = run_cli(
            "sample", "-o", str(dataset), "--smaps", "--host", "h", "--format", "json"
        )
        assert result.returncode == 2, result.stderr.decode()
        message = json.loads(result.stdout)["error"]["message"]
        assert message.startswith(f"cannot write {dataset}: "), message
        assert "No space left on device" in message, message
        assert result.stderr.decode() == f"smapsfmt: error: {message}\n"
        assert _files(mount) == []


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


# --- the Spark job as a program --------------------------------------------------------------


def _job(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SMAPSFMT_SPARK_MASTER"] = "local[1]"
    return subprocess.run(
        [sys.executable, "-m", "smapsfmt.fleet.spark", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (CI installs it)")
def test_the_spark_job_starts_and_stops_its_own_session(tmp_path: Path) -> None:
    """Given a folder relative to where it runs, the job makes its session (the master from
    SMAPSFMT_SPARK_MASTER), prints each query's rows as JSON lines, the rows DuckDB gives."""
    dataset = tmp_path / "dataset"
    rollup = CAPTURE.parent / "smaps_rollup"
    result = run_cli("export", str(CAPTURE), str(rollup), "-o", str(dataset), "--host", "a")
    assert result.returncode == 0, result.stderr.decode()
    names = ["kernel-totals", "top-pss"]
    done = _job("dataset", *names, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    for name in names:
        mine = [
            tuple(v for k, v in r.items() if k != "query") for r in records if r["query"] == name
        ]
        assert mine == duckdb_rows(dataset, QUERIES[name]), name
        assert mine, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], f"usage: python -m smapsfmt.fleet.spark DIR [{'|'.join(QUERIES)}...]"),
        (["--help"], f"usage: python -m smapsfmt.fleet.spark DIR [{'|'.join(QUERIES)}...]"),
        (["d", "top-pss", "nope"], f"unknown query 'nope': choose from {', '.join(QUERIES)}"),
    ],
)
def test_the_spark_job_s_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    """Said before any session starts (no Java needed)."""
    done = _job(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")
