"""``smapsfmt sample``: every process of this machine into the dataset, checked against a
process the test starts (tests/fleet_target.c: private memory that does not change, so its
values read directly before and after the sample are the sample's, to the kB)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fleet_support import build_target, namespace_sample
from support import run_cli

import smapsfmt
from smapsfmt.fleet.schema import FIELD_COLUMNS, SCHEMA_VERSION


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    folder = tmp_path_factory.mktemp("target")
    binary = build_target(folder)
    copy = folder / "fleet_target-sample"
    shutil.copy(binary, copy)
    process = subprocess.Popen([str(copy), "24"], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    yield process
    process.kill()
    process.wait(timeout=10)


def _rows(dataset: Path, table: str) -> list[dict[str, Any]]:
    files = sorted(dataset.glob(f"{table}/host=*/date=*/*.parquet"))
    return [row for file in files for row in pq.read_table(file).to_pylist()]


def _cgroup(pid: int) -> str:
    """The cgroup that accounts the memory: v1's memory controller where mounted, else v2's."""
    with open(f"/proc/{pid}/cgroup", encoding="utf-8") as file:
        lines = [line.split(":", 2) for line in file.read().splitlines()]
    memory = [path for _, controllers, path in lines if "memory" in controllers.split(",")]
    return (memory or [path for number, _, path in lines if number == "0"])[0]


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as file:
        return int(file.read().rpartition(b") ")[2].split()[19])


def test_one_sample_of_every_process(tmp_path: Path, target: subprocess.Popen[bytes]) -> None:
    dataset = tmp_path / "dataset"
    before = smapsfmt.read_rollup(target.pid)
    result = run_cli("sample", "-o", str(dataset), "--host", "box-1", "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    assert smapsfmt.read_rollup(target.pid) == before  # it did not change: exact comparison
    (written,) = json.loads(result.stdout)
    (sample,) = _rows(dataset, "samples")
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
        boot_id = file.read().strip()
    assert sample == {
        "schema_version": SCHEMA_VERSION,
        "sample_id": written["sample_id"],
        "time": sample["time"],
        "source": "live",
        "boot_id": boot_id,
        "kernel_release": os.uname().release,
        "profile": sample["profile"],
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "smapsfmt_version": smapsfmt.__version__,
        "smaps": False,
        "processes": written["processes"],
        "mappings": 0,
        "kernel_threads": written["kernel_threads"],
        "vanished": written["vanished"],
        "denied": written["denied"],
        "unreadable": written["unreadable"],
    }
    assert sample["time"].isoformat() == written["time"]
    assert sample["profile"] is not None and sample["kernel_threads"] > 0
    assert written["date"] == sample["time"].date().isoformat()
    assert (dataset / "samples" / "host=box-1" / f"date={written['date']}").is_dir()
    assert not (dataset / "mappings").exists()

    processes = _rows(dataset, "processes")
    assert len(processes) == sample["processes"]
    pids = [p["pid"] for p in processes]
    assert len(set(pids)) == len(pids) and 2 not in pids  # kthreadd: a kernel thread
    (mine,) = [p for p in processes if p["pid"] == target.pid]
    command = target.args
    assert isinstance(command, list)
    assert mine == {
        "sample_id": sample["sample_id"],
        "pid": target.pid,
        "start_time": _start_time(target.pid),
        "comm": "fleet_target-sa",  # TASK_COMM_LEN: 15 characters
        "cmdline": " ".join(command),
        "uid": os.geteuid(),
        "user": "root" if os.geteuid() == 0 else mine["user"],
        "cgroup": _cgroup(target.pid),
        "rollup_source": "smaps_rollup",
        "proven": None,
        "frozen": None,
        "range_start": before.start,
        "range_end": before.end,
        **{name: before.fields.get(name) for name in FIELD_COLUMNS},
        "vendor": [],
        "mappings": None,
    }
    assert mine["Pss"] >= 24 * 1024


def test_smaps_and_count(tmp_path: Path, target: subprocess.Popen[bytes]) -> None:
    """--smaps: each process's mappings, and its rollup proven against them; two samples."""
    dataset = tmp_path / "dataset"
    smaps = smapsfmt.read_smaps(target.pid)
    result = run_cli("sample", "-o", str(dataset), "--smaps", "--count", "2", "--interval", "0")
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    pattern = (
        rf"{re.escape(str(dataset))}: sample [0-9a-f-]{{36}} at \S+: \d+ processes, \d+ "
        r"mappings; skipped \d+ kernel threads, \d+ vanished, \d+ denied, \d+ unreadable"
    )
    assert len(lines) == 2 and all(re.fullmatch(pattern, line) for line in lines), lines
    samples = sorted(_rows(dataset, "samples"), key=lambda s: s["time"])
    assert len(samples) == 2 and all(s["smaps"] for s in samples)
    processes = [p for p in _rows(dataset, "processes") if p["pid"] == target.pid]
    mappings = [m for m in _rows(dataset, "mappings") if m["pid"] == target.pid]
    assert len(processes) == 2
    for process in processes:
        assert (process["proven"], process["frozen"]) == (True, False)
        assert process["mappings"] == len(smaps)
        rows = sorted(
            (m for m in mappings if m["sample_id"] == process["sample_id"]),
            key=lambda m: m["index"],
        )
        assert [(r["vm_start"], r["vm_end"], r["perms"], r["pathname_bytes"]) for r in rows] == [
            (m.start, m.end, m.perms, m.pathname) for m in smaps
        ]
        assert [{n: r[n] for n in FIELD_COLUMNS} for r in rows] == [
            {n: m.fields.get(n) for n in FIELD_COLUMNS} for m in smaps
        ]
    totals = {s["sample_id"]: s["mappings"] for s in samples}
    for sample_id, count in totals.items():
        assert count == sum(1 for m in _rows(dataset, "mappings") if m["sample_id"] == sample_id)


def test_freeze_holds_each_process_while_its_pair_is_read(tmp_path: Path) -> None:
    """In a PID namespace of its own (freezing every process of the machine would stop
    other people's): every process there is read frozen, and its rollup proven."""
    report = namespace_sample(tmp_path, "--smaps --freeze", (16,))
    rows = json.loads(
        run_cli("query", str(report["dataset"]), "SELECT pid, comm, frozen, proven FROM "
                "processes ORDER BY pid", "--format", "json").stdout
    )  # fmt: skip
    (target_pid,) = report["targets"]
    assert {r["pid"] for r in rows} >= {1, target_pid}
    mine = next(r for r in rows if r["pid"] == target_pid)
    assert (mine["frozen"], mine["proven"]) == (True, True)
    driver = next(r for r in rows if r["pid"] == 1)
    assert driver["frozen"] is True


_INTERVAL = "--interval must be a finite number of seconds, 0 or more, not"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be 1 or more, not 0"),
        (["--interval", "-1"], f"{_INTERVAL} -1"),
        (["--interval", "nan"], f"{_INTERVAL} nan"),
        (["--freeze"], "--freeze applies to --smaps only (see 'smapsfmt sample --help')"),
        (["--host", "a b"], "--host 'a b': a host name is letters, digits, '.', '_' and '-' (it "
         "names a folder of the dataset)"),
    ],
)  # fmt: skip
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("sample", "-o", str(tmp_path / "d"), *args, "--format", "json")
    assert (result.returncode, result.stderr.decode()) == (2, f"smapsfmt: error: {message}\n")
    assert json.loads(result.stdout)["error"]["message"] == message
    assert not (tmp_path / "d").exists()


def test_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    occupied = tmp_path / "file"
    occupied.write_text("")
    result = run_cli("sample", "-o", str(occupied))
    assert (result.returncode, result.stderr.decode()) == (
        2, f"smapsfmt: error: cannot write {occupied}: Not a directory\n",
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux (CI installs it)")
def test_a_host_name_that_cannot_name_a_folder_needs_host(tmp_path: Path) -> None:
    """The machine's own name (here 'build box', set in a UTS namespace of its own; no '/', so
    that coverage's data file, which carries the host name, can still be written) is the
    default host; one that cannot name a folder is refused before anything is read or
    written."""
    start = (
        "import os, socket, sys; socket.sethostname('build box'); "
        "os.execv(sys.executable, [sys.executable, '-m', 'smapsfmt', *sys.argv[1:]])"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        ["unshare", "--uts", sys.executable, "-c", start, "sample", "-o", str(tmp_path / "d")],
        capture_output=True, check=False, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == (
        b"smapsfmt: error: this machine's host name 'build box' cannot name a folder: give "
        b"--host NAME\n"
    )
    assert not (tmp_path / "d").exists()
