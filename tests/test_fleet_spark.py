"""The issue's test of done: ``smapsfmt sample -o DIR --interval 1 --count 3`` of real
processes, then DuckDB (``smapsfmt query``) and the Spark job give the top 10 processes by Pss
that reading their smaps_rollup directly gives; and every documented query gives the same rows
in both engines, on that sample and on the whole corpus exported.

The sample is of a PID namespace of its own (``unshare --pid --mount-proc``), holding eleven
processes of known, private, unchanging memory (tests/fleet_target.c) larger than anything
else there: so its top 10 is the same at the three samples and at the direct read after them,
to the kB, whatever the rest of the machine does. One Spark session (local mode) serves the
whole module.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_support import TARGET_MIB, duckdb_rows, namespace_sample, top_direct
from support import VALID, corpus, run_cli

from smapsfmt.fleet import spark as fleet_spark
from smapsfmt.fleet.queries import QUERIES
from smapsfmt.fleet.schema import ENGINE_TYPES, TABLES


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return namespace_sample(tmp_path_factory.mktemp("namespace"))


@pytest.fixture(scope="module")
def corpus_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = tmp_path_factory.mktemp("corpus") / "dataset"
    for host, files in (("a", corpus(VALID / "live")), ("b", corpus(VALID / "external"))):
        result = run_cli("export", *map(str, files), "-o", str(dataset), "--host", host,
                         "--kernel-release", "6.18.0" if host == "a" else "5.5.7")  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
    return dataset


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    # Small data: one task at a time, one partition after a shuffle (the test's time is the
    # JVM's start and its planning, not the rows).
    session = fleet_spark.session(
        "local[1]", **{"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"}
    )
    yield session
    session.stop()


def _spark_rows(spark: Any, dataset: Path, sql: str) -> list[tuple[Any, ...]]:
    fleet_spark.load(spark, str(dataset))
    _, rows = fleet_spark.run(spark, sql)
    return [tuple(fleet_spark.plain(v) for v in row) for row in rows]


def _per_sample(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[int, int]]]:
    """top-pss rows (host, time, sample_id, pid, comm, Pss, rank) as each sample's
    [(pid, Pss)], by time."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for _host, time, _sample, pid, _comm, pss, rank in rows:
        ranked = samples.setdefault(time, [])
        assert rank == len(ranked) + 1
        ranked.append((pid, pss))
    return samples


def test_top_10_by_pss_in_duckdb_and_spark_is_the_rollups_read_directly(
    sampled: dict[str, Any], spark: Any
) -> None:
    expected = top_direct(sampled["direct"])
    targets = sampled["targets"]
    # The ten largest targets, largest first; their Pss is their memory and a little more.
    assert [pid for pid, _ in expected] == targets[::-1][:10]
    for (_, pss), mib in zip(expected, TARGET_MIB[::-1], strict=False):
        assert mib * 1024 <= pss < mib * 1024 + 2048
    written = json.loads(sampled["stdout"])
    assert len(written) == 3

    duck = _per_sample(duckdb_rows(sampled["dataset"], QUERIES["top-pss"]))
    assert list(duck.values()) == [expected] * 3
    assert sorted(duck) == sorted(item["time"] for item in written)

    rows = _spark_rows(spark, sampled["dataset"], QUERIES["top-pss"])
    assert _per_sample(rows) == duck


def test_the_sample_proves_each_target_s_rollup(sampled: dict[str, Any]) -> None:
    """With --smaps every process's rollup is checked against its smaps; the targets' hold,
    and their mappings sum to their rollup (Rss and Pss exactly: private pages)."""
    rows = duckdb_rows(
        sampled["dataset"],
        "SELECT p.pid, bool_and(p.proven), min(p.Rss), min(p.Pss), count(*) FROM processes p "
        "WHERE p.comm LIKE 'fleet_target%' GROUP BY p.pid ORDER BY p.pid",
    )
    assert [(r[0], r[1], r[4]) for r in rows] == [(pid, True, 3) for pid in sampled["targets"]]
    sums = duckdb_rows(
        sampled["dataset"],
        "SELECT p.pid, p.sample_id, p.Rss, p.Pss, sum(m.Rss), sum(m.Pss) FROM processes p "
        "JOIN mappings m ON m.sample_id = p.sample_id AND m.pid = p.pid "
        "WHERE p.comm LIKE 'fleet_target%' GROUP BY ALL",
    )
    assert len(sums) == 3 * len(TARGET_MIB)
    for pid, _, rss, pss, mapped_rss, mapped_pss in sums:
        assert (rss, pss) == (mapped_rss, mapped_pss)
        assert (rss, pss) == tuple(sampled["direct"][str(pid)][f] for f in ("Rss", "Pss"))


@pytest.mark.parametrize("query", list(QUERIES))
def test_each_documented_query_gives_the_same_rows_in_both_engines(
    sampled: dict[str, Any], corpus_dataset: Path, spark: Any, query: str
) -> None:
    for dataset in (sampled["dataset"], corpus_dataset):
        duck = duckdb_rows(dataset, QUERIES[query])
        assert duck, (query, dataset)
        assert _spark_rows(spark, dataset, QUERIES[query]) == duck


def test_kernel_totals_on_the_corpus(corpus_dataset: Path) -> None:
    """The latest sample of each host: one rollup or smaps each; totals per kernel."""
    rows = duckdb_rows(corpus_dataset, QUERIES["kernel-totals"])
    assert [(r[0], r[2], r[3]) for r in rows] in (
        [("6.18.0", 1, 1), ("5.5.7", 1, 1)],
        [("5.5.7", 1, 1), ("6.18.0", 1, 1)],
    )


def test_unsigned_64_bit_values_stay_exact_in_spark(corpus_dataset: Path, spark: Any) -> None:
    sql = (
        "SELECT max(vm_end) AS top, sum(vm_end) AS total, count(*) AS n FROM mappings "
        "WHERE pathname = '[vsyscall]'"
    )
    ((top, total, count),) = _spark_rows(spark, corpus_dataset, sql)
    assert top == 0xFFFFFFFFFF601000 > 2**63
    assert total == count * 0xFFFFFFFFFF601000  # beyond 64 bits: DECIMAL(30,0)
    assert duckdb_rows(corpus_dataset, sql) == [(top, total, count)]
    fleet_spark.load(spark, str(corpus_dataset))
    for table, columns in TABLES.items():
        expected = {name: ENGINE_TYPES[kind][2] for name, kind, _ in columns}
        got = dict(spark.table(table).dtypes)
        assert got == {**expected, "host": "string", "date": "date"}, table


def test_the_job_prints_each_query_as_json_lines(sampled: dict[str, Any], spark: Any) -> None:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert fleet_spark.main([str(sampled["dataset"]), "top-pss"], spark=spark) == 0
    records = [json.loads(line) for line in output.getvalue().splitlines()]
    assert len(records) == 30 and {r["query"] for r in records} == {"top-pss"}
    assert [(r["pid"], r["Pss"]) for r in records[:10]] == top_direct(sampled["direct"])


def test_a_dataset_of_rollups_only_has_an_empty_mappings_table_of_the_same_types(
    tmp_path: Path, spark: Any
) -> None:
    """Rollups alone write no mappings files: Spark still has the table (typed from the
    schema), and the query of mappings gives what DuckDB gives on the same files: nothing."""
    dataset = tmp_path / "dataset"
    rollups = [p for p in corpus(VALID / "live") if "rollup" in p.name]
    result = run_cli("export", *map(str, rollups), "-o", str(dataset), "--host", "a")
    assert result.returncode == 0, result.stderr.decode()
    assert not list(dataset.rglob("mappings/**/*.parquet"))
    fleet_spark.load(spark, str(dataset))
    expected = {name: ENGINE_TYPES[kind][2] for name, kind, _ in TABLES["mappings"]}
    assert dict(spark.table("mappings").dtypes) == {**expected, "host": "string", "date": "date"}
    assert spark.table("mappings").count() == 0
    sql = QUERIES["growth-by-pathname"]
    assert _spark_rows(spark, dataset, sql) == duckdb_rows(dataset, sql) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "usage: python -m smapsfmt.fleet.spark DIR [{}...]".format("|".join(QUERIES))),
        (
            ["--help"],
            "usage: python -m smapsfmt.fleet.spark DIR [{}...]".format("|".join(QUERIES)),
        ),
        (["DIR", "top-rss"], f"unknown query 'top-rss': choose from {', '.join(QUERIES)}"),
    ],
    ids=["no-dir", "option", "unknown-query"],
)
def test_the_jobs_usage_errors(args: list[str], message: str) -> None:
    """Refused before Spark starts (the child never imports pyspark)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt.fleet.spark", *args],
        capture_output=True, check=False, env=env, cwd=tempfile.gettempdir(), timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == message + "\n"


def test_values_as_json_shows_them() -> None:
    assert fleet_spark.plain(decimal.Decimal(18446744073709551615)) == 2**64 - 1
    assert fleet_spark.plain(decimal.Decimal("1.5")) == decimal.Decimal("1.5")  # not an integer
    when = datetime.datetime(2026, 12, 5, 3, 0, 1, 500000)
    assert fleet_spark.plain(when) == "2026-12-05T03:00:01.500000+00:00"  # the session's UTC
    aware = when.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert fleet_spark.plain(aware) == "2026-12-05T03:00:01.500000+01:00"
    assert fleet_spark.plain(datetime.date(2026, 12, 5)) == "2026-12-05"
    assert fleet_spark.plain(bytearray(b"[heap]\xff")) == "[heap]\\xff"
    assert fleet_spark.plain("text") == "text"


# --- the job as a program: its own session --------------------------------------------------


def _job(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SMAPSFMT_SPARK_MASTER"] = "local[1]"
    return subprocess.run(
        [sys.executable, "-m", "smapsfmt.fleet.spark", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False,
    )  # fmt: skip


def test_the_job_run_as_a_program_starts_and_stops_its_own_session(corpus_dataset: Path) -> None:
    """``python -m smapsfmt.fleet.spark dataset QUERY...`` (a folder relative to where it
    runs): it makes its session (the master from SMAPSFMT_SPARK_MASTER), prints each query's
    rows as JSON lines, the rows DuckDB gives, and ends."""
    names = ["kernel-totals", "top-pss"]
    done = _job(corpus_dataset.name, *names, cwd=corpus_dataset.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    for name in names:
        mine = [
            tuple(v for k, v in r.items() if k != "query") for r in records if r["query"] == name
        ]
        assert mine == duckdb_rows(corpus_dataset, QUERIES[name]), name
        assert mine, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], f"usage: python -m smapsfmt.fleet.spark DIR [{'|'.join(QUERIES)}...]"),
        (["--help"], f"usage: python -m smapsfmt.fleet.spark DIR [{'|'.join(QUERIES)}...]"),
        (["d", "top-pss", "nope"], f"unknown query 'nope': choose from {', '.join(QUERIES)}"),
    ],
)
def test_the_job_s_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    """Said before any session starts."""
    done = _job(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")
