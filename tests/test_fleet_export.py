"""``smapsfmt export``: capture files into the Parquet dataset, checked against the models the
library parses from the same files and the rollups the aggregator proves.

Every capture of the corpus (valid, and the texts that parse but do not validate) is exported
by the real command line; the dataset is read back with pyarrow (row by row against the model)
and with DuckDB (the per-field sums against ``smapsfmt.aggregate`` and the captured rollups).
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fleet_support import big_smaps, duckdb_rows
from support import CLI_IN_CHILD, FIXTURES, VALID, corpus, is_rollup, run_cli

import smapsfmt
from smapsfmt.fleet.schema import FIELD_COLUMNS, SCHEMA_VERSION, column_names


def _parses(path: Path) -> bool:
    try:
        (smapsfmt.parse_rollup if is_rollup(path) else smapsfmt.parse_smaps)(path.read_bytes())
    except smapsfmt.SmapsSyntaxError:
        return False
    return True


# The valid corpus, and the texts of invalid-validate that parse (they break a rule of the
# validator, not the grammar): their inputs, not the expected diagnostics next to them.
CAPTURES = corpus(VALID) + [
    p
    for p in corpus(FIXTURES / "invalid-validate")
    if p.suffix in (".smaps", ".smaps_rollup")
    and _parses(p)
    and p.name != "value-beyond-u64.smaps"
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The dataset of every capture, and each capture's sample id by path."""
    dataset = tmp_path_factory.mktemp("export") / "dataset"
    result = run_cli(
        "export", *map(str, CAPTURES), "-o", str(dataset), "--host", "corpus", "--format", "json"
    )
    assert result.returncode == 0, result.stderr.decode()
    written = json.loads(result.stdout)
    assert [item["path"] for item in written] == list(map(str, CAPTURES))
    return dataset, {item["path"]: item["sample_id"] for item in written}


def _table(dataset: Path, table: str, sample_id: str) -> list[dict[str, Any]]:
    files = list(dataset.glob(f"{table}/host=corpus/date=*/{sample_id}.parquet"))
    assert len(files) == 1, files
    rows: list[dict[str, Any]] = pq.read_table(files[0]).to_pylist()
    assert list(rows[0]) if rows else True
    return rows


def _expected_mapping(index: int, m: smapsfmt.Mapping) -> dict[str, Any]:
    row: dict[str, Any] = {
        "pid": None,
        "index": index,
        "vm_start": m.start,
        "vm_end": m.end,
        "offset": m.offset,
        "major": m.major,
        "minor": m.minor,
        "device": m.dev,
        "inode": m.inode,
        "perms": m.perms,
        "pathname": m.pathname.decode("utf-8", "backslashreplace"),
        "pathname_bytes": m.pathname,
        "deleted": m.deleted,
        "name": None if m.name is None else m.name.decode("utf-8", "backslashreplace"),
    }
    row.update({name: m.fields.get(name) for name in FIELD_COLUMNS})
    row["vmflags"] = None if m.vmflags is None else list(m.vmflags)
    row["vendor"] = [(k, v) for k, v in m.fields.items() if k in m.unknown_fields]
    row["unknown_lines"] = list(m.unknown_lines)
    return row


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_row_is_the_model_of_the_capture(
    exported: tuple[Path, dict[str, str]], capture: Path
) -> None:
    dataset, ids = exported
    sample_id = ids[str(capture)]
    data = capture.read_bytes()
    (sample,) = _table(dataset, "samples", sample_id)
    assert sample["schema_version"] == SCHEMA_VERSION
    assert sample["source"] == str(capture)
    assert sample["boot_id"] is None and sample["page_size"] is None
    assert sample["processes"] == 1
    (process,) = _table(dataset, "processes", sample_id)
    assert process["sample_id"] == sample_id and process["pid"] is None
    if is_rollup(capture):
        rollup = smapsfmt.parse_rollup(data)
        assert process["rollup_source"] == "smaps_rollup"
        assert {n: process[n] for n in FIELD_COLUMNS} == {
            n: rollup.fields.get(n) for n in FIELD_COLUMNS
        }
        assert (process["range_start"], process["range_end"]) == (rollup.start, rollup.end)
        assert sample["smaps"] is False and sample["mappings"] == 0
        assert not list(dataset.glob(f"mappings/*/*/{sample_id}.parquet"))
        return
    smaps = smapsfmt.parse_smaps(data)
    rows = _table(dataset, "mappings", sample_id)
    assert sample["mappings"] == len(smaps) == len(rows) == process["mappings"]
    for index, (row, mapping) in enumerate(zip(rows, smaps, strict=True)):
        assert row == {"sample_id": sample_id, **_expected_mapping(index, mapping)}, index
    assert list(rows[0]) == list(column_names("mappings"))
    try:
        summed = smapsfmt.aggregate(smaps)
    except smapsfmt.KernelMismatch:
        assert process["rollup_source"] is None
        assert all(process[n] is None for n in FIELD_COLUMNS)
        return
    assert process["rollup_source"] == "smaps"
    assert {n: process[n] for n in FIELD_COLUMNS} == {
        n: summed.fields.get(n) for n in FIELD_COLUMNS
    }


def _sums(dataset: Path) -> dict[str, dict[str, int | None]]:
    """Per sample, the sum of each field over its mappings, by DuckDB."""
    columns = ", ".join(f'sum("{n}")' for n in FIELD_COLUMNS)
    rows = duckdb_rows(
        dataset,
        f"SELECT s.source, {columns} FROM mappings m JOIN samples s USING (sample_id) "
        "GROUP BY s.source",
    )
    sums: dict[str, dict[str, int | None]] = {
        row[0]: dict(zip(FIELD_COLUMNS, row[1:], strict=True)) for row in rows
    }
    vendor = duckdb_rows(
        dataset,
        "SELECT s.source, e.entry.key, sum(e.entry.value) FROM (SELECT sample_id, "
        "unnest(map_entries(vendor)) AS entry FROM mappings) e JOIN samples s USING (sample_id) "
        "GROUP BY ALL",
    )
    for source, name, total in vendor:
        sums[source][name] = total
    return sums


def test_per_field_sums_equal_the_proven_rollups(exported: tuple[Path, dict[str, str]]) -> None:
    """For each smaps: DuckDB's sum of every field over its mappings is the sum of the values
    printed (``Smaps.totals``) and lies in the interval the aggregator proves for the rollup
    of that field; where the capture has its smaps_rollup (proven by ``check_rollup``), the
    value captured is in that interval too, and equal to the sum for every field summed in
    bytes (an interval of one value)."""
    dataset, _ = exported
    sums = _sums(dataset)
    checked = exact = proven_pairs = 0
    for capture in CAPTURES:
        if is_rollup(capture):
            continue
        smaps = smapsfmt.parse_smaps(capture.read_bytes())
        got = sums.get(str(capture), dict.fromkeys(FIELD_COLUMNS))
        totals = smaps.totals()
        assert {n: got[n] for n in totals} == totals, capture
        if not capture.is_relative_to(VALID):
            continue  # these texts break the validator's rules: no interval is proven
        try:
            summed = smapsfmt.aggregate(smaps)
        except smapsfmt.KernelMismatch:
            continue
        for name, interval in summed.intervals.items():
            if name in totals:
                assert interval.lo <= got[name], (capture, name)
                assert interval.hi is None or got[name] <= interval.hi, (capture, name)
                checked += 1
        paired = capture.with_name("smaps_rollup")
        if capture.name != "smaps" or not paired.exists():
            continue
        rollup = smapsfmt.parse_rollup(paired.read_bytes())
        assert smapsfmt.check_rollup(smaps, rollup) == [], paired
        for name, value in rollup.fields.items():
            interval = summed.intervals[name]
            assert interval.lo <= value and (interval.hi is None or value <= interval.hi)
            if interval.lo == interval.hi and name in totals:
                assert got[name] == value, (paired, name)
                exact += 1
        proven_pairs += 1
    pairs = [
        p for p in corpus(VALID) if p.name == "smaps_rollup" and p.with_name("smaps").exists()
    ]
    assert proven_pairs == len(pairs) >= 14
    assert checked > 300 and exact > 200, (checked, exact)


def test_a_field_the_kernel_did_not_print_is_null(exported: tuple[Path, dict[str, str]]) -> None:
    """Linux 5.5.7 (pcp's capture) prints no Pss_Dirty: null in every row, never 0."""
    dataset, _ = exported
    rows = duckdb_rows(
        dataset,
        "SELECT count(*), count(Pss_Dirty), count(Rss), min(Pss_Dirty IS NULL) FROM mappings m "
        "JOIN samples s USING (sample_id) WHERE s.source LIKE '%pcp/procpid-5.5.7%/1/smaps'",
    )
    assert rows == [(233, 0, 233, True)]


def test_unsigned_64_bit_values_are_exact(exported: tuple[Path, dict[str, str]]) -> None:
    """The [vsyscall] gate ends at 2**64 - 10 MiB + 4 KiB: beyond any signed 64-bit type."""
    dataset, _ = exported
    rows = duckdb_rows(
        dataset,
        "SELECT DISTINCT vm_start, vm_end, typeof(vm_end) FROM mappings "
        "WHERE pathname = '[vsyscall]'",
    )
    assert rows == [(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "UBIGINT")]


def _edited(tmp_path: Path) -> Path:
    """A real capture (6.18, sleep) with two edits: a pathname that is not UTF-8 and a vendor
    field line (as perfetto #258 met one) in its first entry."""
    text = (VALID / "live/6.18/sleep/smaps").read_bytes()
    first, rest = text.split(b"\n", 1)
    path = first.split()[-1]
    first = first.replace(path, b"/tmp/caf\xe9 \\ \xff")
    rest = rest.replace(b"Locked:", b"Writeback:             8 kB\nLocked:", 1)
    edited = tmp_path / "edited.smaps.gz"
    edited.write_bytes(gzip.compress(first + b"\n" + rest))
    return edited


def test_pathname_bytes_vendor_fields_and_compressed_input(tmp_path: Path) -> None:
    edited = _edited(tmp_path)
    dataset = tmp_path / "dataset"
    result = run_cli("export", str(edited), "-o", str(dataset))
    assert result.returncode == 0, result.stderr.decode()
    rows = duckdb_rows(
        dataset,
        "SELECT pathname, pathname_bytes, vendor, Locked FROM mappings WHERE index = 0",
    )
    assert rows == [("/tmp/caf\\xe9 \\ \\xff", "L3RtcC9jYWbpIFwg/w==", {"Writeback": 8}, 0)]
    summed = smapsfmt.aggregate(smapsfmt.parse_smaps(gzip.decompress(edited.read_bytes())))
    vendor = {k: v for k, v in summed.fields.items() if k not in FIELD_COLUMNS}
    assert duckdb_rows(dataset, "SELECT vendor, Locked FROM processes") == [
        (vendor, summed.fields["Locked"])
    ]


def test_export_output_text(tmp_path: Path) -> None:
    capture = VALID / "live/6.18/sleep/smaps_rollup"
    dataset = tmp_path / "d"
    result = run_cli("export", str(capture), str(capture.with_name("smaps")), "-o", str(dataset))
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    date = next(dataset.glob("samples/host=unknown/date=*")).name
    sample_ids = [line.split()[2] for line in lines]
    assert lines == [
        f"{capture}: sample {sample_ids[0]} (smaps_rollup, a rollup) in {dataset}/*/host=unknown/"
        f"{date}",
        f"{capture.with_name('smaps')}: sample {sample_ids[1]} (smaps, 37 mappings) in "
        f"{dataset}/*/host=unknown/{date}",
    ]


def test_standard_input_is_a_sample_of_the_time_it_is_read(tmp_path: Path) -> None:
    """A file's sample is dated by its modification time; standard input, which has none,
    by the time it is read."""
    dataset = tmp_path / "d"
    before = datetime.datetime.now(datetime.timezone.utc)
    result = run_cli("export", "-", "-o", str(dataset), "--format", "json",
                     stdin=(VALID / "live/6.18/sleep/smaps").read_bytes())  # fmt: skip
    after = datetime.datetime.now(datetime.timezone.utc)
    assert result.returncode == 0, result.stderr.decode()
    (written,) = json.loads(result.stdout)
    assert (written["path"], written["kind"], written["mappings"]) == ("<stdin>", "smaps", 37)
    ((taken,),) = duckdb_rows(dataset, "SELECT time FROM samples")
    assert before <= datetime.datetime.fromisoformat(taken) <= after, taken


def test_a_file_that_is_not_smaps_is_located_and_nothing_of_it_is_written(
    tmp_path: Path,
) -> None:
    good = VALID / "live/6.18/sleep/smaps"
    bad = FIXTURES / "invalid/bad-perms.smaps"
    dataset = tmp_path / "d"
    result = run_cli("export", str(good), str(bad), "-o", str(dataset))
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[0] == (
        f"{bad}:1:27: syntax: expected the permissions: r or -, w or -, x or -, then s or p, "
        "found 'r--x'"
    )
    files = sorted(p.relative_to(dataset).parts[0] for p in dataset.rglob("*.parquet"))
    assert files == ["mappings", "processes", "samples"]  # the good file's sample only
    assert not [p for p in dataset.rglob("*") if p.name.startswith(".")]


def test_a_value_beyond_64_bits_is_refused_at_its_line(tmp_path: Path) -> None:
    capture = FIXTURES / "invalid-validate/value-beyond-u64.smaps"
    dataset = tmp_path / "d"
    result = run_cli("export", str(capture), "-o", str(dataset), "--format", "json")
    assert result.returncode == 1
    message = (
        "Swap = 18446744073709551616 kB is beyond unsigned 64 bits: no kernel prints it, and "
        "the dataset's columns hold unsigned 64-bit values"
    )
    assert result.stderr.decode() == f"{capture}:46:1: value-range: {message}\n"
    assert json.loads(result.stdout)["error"] == {
        "kind": "invalid", "rule": "value-range", "path": str(capture), "line": 46, "column": 1,
        "message": message, "exit": 1,
    }  # fmt: skip
    assert not list(dataset.rglob("*.parquet")) and not list(dataset.rglob(".*"))


def test_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = run_cli("export", str(missing), "-o", str(tmp_path / "d"), "--format", "json")
    assert result.returncode == 2
    message = f"cannot read {missing}: No such file or directory"
    assert result.stderr.decode() == f"smapsfmt: error: {message}\n"
    assert json.loads(result.stdout)["error"] == {
        "kind": "input", "rule": None, "path": None, "line": None, "column": None,
        "message": message, "exit": 2,
    }  # fmt: skip
    result = run_cli("export", str(VALID / "live/6.18/sleep/smaps"), "-o", "d", "--host", "a/b")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "smapsfmt: error: --host 'a/b': a host name is letters, digits, '.', '_' and '-' (it "
        "names a folder of the dataset)\n"
    )
    occupied = tmp_path / "file"
    occupied.write_text("")
    result = run_cli("export", str(VALID / "live/6.18/sleep/smaps"), "-o", str(occupied))
    assert result.returncode == 2
    assert result.stderr.decode() == f"smapsfmt: error: cannot write {occupied}: Not a directory\n"


# VmHWM, the peak of this process's own memory map (ru_maxrss would count the parent's too:
# a child made by vfork takes the parent's peak with it through exec).
_PEAK = (
    CLI_IN_CHILD
    + """
import re
code = cli(["export", sys.argv[1], "-o", sys.argv[2]])
status = open("/proc/self/status").read()
print(code, re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""
)


def _peak_kib(smaps: Path, dataset: Path) -> int:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, str(smaps), str(dataset)],
        capture_output=True, text=True, check=True, timeout=600, env=env,
        cwd=tempfile.gettempdir(),  # the installed smapsfmt, as a user runs it
    )  # fmt: skip
    code, peak = result.stdout.split()[-2:]
    assert code == "0", result.stderr
    return int(peak)


def test_a_60000_mapping_smaps_exports_in_bounded_memory(tmp_path: Path) -> None:
    """The peak memory of exporting 60,000 mappings is that of 20,000 give or take a batch:
    the rows stream (holding them all as models would take hundreds of MB)."""
    peaks = []
    for count in (20_000, 60_000):
        smaps = tmp_path / f"{count}.smaps"
        smaps.write_bytes(big_smaps(count))
        peaks.append(_peak_kib(smaps, tmp_path / f"d{count}"))
        rows = duckdb_rows(tmp_path / f"d{count}", "SELECT count(*), max(index) FROM mappings")
        assert rows == [(count, count - 1)]
    assert peaks[1] - peaks[0] < 16 * 1024, peaks


def test_mappings_no_kernel_prints_together_are_exported_without_a_rollup(tmp_path: Path) -> None:
    """THPeligible (5.0+) taken out of a 6.18 smaps: its mappings are exported as printed, and
    its processes row has no sums (no kernel's arithmetic applies), with a located warning."""
    smaps = tmp_path / "smaps"
    smaps.write_bytes(
        b"".join(
            line
            for line in (VALID / "live/6.18/sleep/smaps").read_bytes().splitlines(True)
            if not line.startswith(b"THPeligible:")
        )
    )
    dataset = tmp_path / "dataset"
    result = run_cli("export", str(smaps), "-o", str(dataset))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode() == (
        f"{smaps}:1:1: warning: no rollup for its processes row: no kernel prints FilePmdMapped "
        "without THPeligible in smaps: FilePmdMapped appeared in 5.4; THPeligible is printed "
        "from 5.0 on\n"
    )
    (process,) = pq.read_table(next(dataset.glob("processes/**/*.parquet"))).to_pylist()
    assert process["rollup_source"] is None and process["mappings"] == 37
    assert all(process[name] is None for name in FIELD_COLUMNS)
    assert pq.read_table(next(dataset.glob("mappings/**/*.parquet"))).num_rows == 37
