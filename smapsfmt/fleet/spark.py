"""The dataset in Spark: the documented queries as a job, for datasets beyond one machine.

    python -m smapsfmt.fleet.spark DIR [QUERY...]     local mode, both cores
    SMAPSFMT_SPARK_MASTER=spark://HOST:7077 python -m smapsfmt.fleet.spark DIR
    spark-submit --master URL path/to/smapsfmt/fleet/spark.py DIR

``DIR`` is any path Spark reads (a folder, ``hdfs://``, ``s3a://``). :func:`load` registers the
tables as temporary views named as in DuckDB; :func:`run` runs SQL; the queries are
:data:`smapsfmt.fleet.queries.QUERIES`, the same text DuckDB runs, and :func:`main` prints each
result as JSON lines.

Types. Parquet UINT_64 columns (addresses, inodes, every kernel field) are read by Spark as
DECIMAL(20,0), which holds every unsigned 64-bit value exactly (Spark has no unsigned type;
BIGINT would wrap above 2**63 - 1); their sums are DECIMAL(30,0), exact as well. UINT_32 (uid,
major, minor) is BIGINT. ``date`` is cast to DATE; ``host`` stays a string (partition type
inference is off: a host named ``1`` is not a number). Timestamps are in UTC (the session's
time zone is set to UTC).

Requires pyspark (``pip install 'smapsfmt[spark]'``) and Java 17 or newer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from smapsfmt.fleet.queries import QUERIES
from smapsfmt.fleet.schema import TABLES

__all__ = ["load", "main", "plain", "run", "session"]


def session(master: str = "local[2]", **config: str) -> Any:
    """A SparkSession for the dataset: UTC, no partition type inference, no web UI."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("smapsfmt-fleet")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
    )
    for key, value in config.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _spark_schema(table: str) -> Any:
    """The Spark schema of a table that has no files yet (a sample without mappings)."""
    from pyspark.sql import types as T

    kinds = {
        "int32": T.IntegerType(),
        "int64": T.LongType(),
        "uint32": T.LongType(),
        "uint64": T.DecimalType(20, 0),
        "string": T.StringType(),
        "binary": T.BinaryType(),
        "bool": T.BooleanType(),
        "timestamp": T.TimestampType(),
        "list<string>": T.ArrayType(T.StringType()),
        "map<string,uint64>": T.MapType(T.StringType(), T.DecimalType(20, 0)),
    }
    fields = [T.StructField(name, kinds[kind]) for name, kind, _ in TABLES[table]]
    fields += [T.StructField("host", T.StringType()), T.StructField("date", T.DateType())]
    return T.StructType(fields)


def _has_files(spark: Any, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(hadoop_path):
        return False
    files = fs.listFiles(hadoop_path, True)
    while files.hasNext():
        name = files.next().getPath().getName()
        if name.endswith(".parquet") and not name.startswith((".", "_")):
            return True
    return False


def load(spark: Any, directory: str) -> None:
    """Register the views ``samples``, ``processes`` and ``mappings`` of the dataset."""
    from pyspark.sql import functions as F

    for table in TABLES:
        path = directory.rstrip("/") + "/" + table
        if _has_files(spark, path):
            frame = spark.read.option("mergeSchema", "true").parquet(path)
            frame = frame.withColumn("date", F.to_date("date"))
        else:
            frame = spark.createDataFrame([], _spark_schema(table))
        frame.createOrReplaceTempView(table)


def run(spark: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql``."""
    frame = spark.sql(sql)
    return list(frame.columns), [tuple(row) for row in frame.collect()]


def plain(value: Any) -> Any:
    """A value as JSON shows it: exact integers for DECIMAL(…,0), ISO text for times."""
    import datetime
    import decimal

    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # Spark gives the session's time zone, UTC
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return value


def main(argv: Sequence[str] | None = None, *, spark: Any = None) -> int:
    """The job: each query's rows as JSON lines on standard output. ``spark``: a session to
    use (left running), else one is made (and stopped at the end)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        print(f"usage: python -m smapsfmt.fleet.spark DIR [{'|'.join(QUERIES)}...]",
              file=sys.stderr)  # fmt: skip
        return 2
    directory, names = args[0], args[1:] or list(QUERIES)
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        print(f"unknown query {unknown[0]!r}: choose from {', '.join(QUERIES)}", file=sys.stderr)
        return 2
    if "://" not in directory:
        directory = os.path.abspath(directory)
    own = spark is None
    if spark is None:
        spark = session(os.environ.get("SMAPSFMT_SPARK_MASTER", "local[2]"))
    try:
        load(spark, directory)
        for name in names:
            columns, rows = run(spark, QUERIES[name])
            for row in rows:
                record = {
                    "query": name,
                    **{c: plain(v) for c, v in zip(columns, row, strict=True)},
                }
                print(json.dumps(record))
    finally:
        if own:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
