"""``smapsfmt query DIR "SQL"``: SQL on a dataset with DuckDB, the tables as views.

:func:`connect` opens an in-memory DuckDB database with one view per table (``samples``,
``processes``, ``mappings``) over the dataset's Parquet files, ``host`` (VARCHAR) and ``date``
(DATE) from the folder names. A table without files yet (``mappings`` of samples taken without
``--smaps``) is an empty view of the same columns. The queries of ``docs/fleet.md`` are in
:mod:`smapsfmt.fleet.queries`.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import io
import json
import math
import os
from typing import Any

from ._core import UsageError
from .schema import PARTITIONS, TABLES

__all__ = ["connect", "render", "run"]


def duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise UsageError("smapsfmt query needs DuckDB: pip install 'smapsfmt[fleet]'") from None
    return duckdb


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _has_files(folder: str) -> bool:
    for _, _, files in os.walk(folder):
        if any(f.endswith(".parquet") and not f.startswith((".", "_")) for f in files):
            return True
    return False


def check_dataset(directory: str) -> None:
    if not os.path.isdir(directory):
        raise UsageError(f"{directory}: no such directory")
    if not _has_files(os.path.join(directory, "samples")):
        raise UsageError(
            f"{directory}: not a dataset of smapsfmt (no samples/): make one with 'smapsfmt "
            "sample -o DIR' or 'smapsfmt export FILE... -o DIR'"
        )


def connect(directory: str) -> Any:
    """A DuckDB connection with the views ``samples``, ``processes`` and ``mappings``."""
    check_dataset(directory)
    db = duckdb()
    con = db.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # times print as written, whatever the machine's zone
    types = "{" + ", ".join(f"{_quote(n)}: {_quote(t)}" for n, t in PARTITIONS) + "}"
    for table in TABLES:
        folder = os.path.join(os.path.abspath(directory), table)
        if _has_files(folder):
            glob = os.path.join(folder, "**", "*.parquet")
            source = (
                f"read_parquet({_quote(glob)}, hive_partitioning = true, "
                f"hive_types = {types}, union_by_name = true)"
            )
        else:
            from .schema import arrow_schema

            empty = arrow_schema(table, partitions=True).empty_table()
            con.register(f"_empty_{table}", empty)
            source = f"_empty_{table}"
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
    return con


def run(directory: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows of ``sql`` on the dataset; a SQL error is a UsageError
    with DuckDB's message."""
    con = connect(directory)
    db = duckdb()
    try:
        cursor = con.execute(sql)
        if cursor.description is None:
            return [], []
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except db.Error as exc:
        raise UsageError(f"SQL: {exc}") from None
    finally:
        con.close()
    return names, rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cell(value: Any, null: str = "") -> str:
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def render(names: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    """The result as a table (text), a JSON array of objects, or CSV with a header."""
    if fmt == "json":
        objects = [dict(zip(names, map(_jsonable, row), strict=True)) for row in rows]
        return json.dumps(objects, indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_cell(v) for v in row] for row in rows)
        return buffer.getvalue()
    cells = [[_cell(v, "NULL") for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    numeric = [
        all(
            isinstance(row[i], (int, float, decimal.Decimal)) and not isinstance(row[i], bool)
            for row in rows
            if row[i] is not None
        )
        and any(row[i] is not None for row in rows)
        for i in range(len(names))
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip() + "\n"

    text = line(names) + line(["-" * w for w in widths])
    text += "".join(line(r) for r in cells)
    return text + f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n"
