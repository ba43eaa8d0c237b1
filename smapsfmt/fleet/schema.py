"""The dataset's layout and columns, version :data:`SCHEMA_VERSION` (``docs/fleet.md``).

A dataset is a folder with one folder per table, each partitioned by host and date (UTC, of
the sample's time), Hive style, one Parquet file (zstd) per sample and table::

    DIR/samples/host=HOST/date=YYYY-MM-DD/SAMPLE_ID.parquet
    DIR/processes/host=HOST/date=YYYY-MM-DD/SAMPLE_ID.parquet
    DIR/mappings/host=HOST/date=YYYY-MM-DD/SAMPLE_ID.parquet   (when mappings were read)

``host`` and ``date`` are not stored in the files: readers take them from the folder names.
A file appears under its name only when complete (written under a hidden name, then renamed),
and a sample's ``samples`` file is written last: a sample is complete once its row is in
``samples``.

Columns named as the kernel names a field (``Rss``, ``Pss``, ``Pss_Dirty``, ...) hold the
value it printed (kB, or a plain number for ``THPeligible`` and ``ProtectionKey``), null where
it did not print the field. Values the kernel prints as unsigned 64-bit numbers (addresses,
offsets, inodes, field values) are Parquet UINT_64: exact, read as UBIGINT by DuckDB and as
DECIMAL(20,0) by Spark.

This module describes the columns in plain Python; :func:`arrow_schema` builds the pyarrow
schema (pyarrow is imported there only).
"""

from __future__ import annotations

from typing import Any, Final

from .._model import known_fields

__all__ = [
    "ENGINE_TYPES",
    "FIELD_COLUMNS",
    "PARTITIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "arrow_schema",
    "column_names",
    "markdown",
]

# 1: the first version. A reader checks samples.schema_version (and the files' metadata key
# ``smapsfmt.schema_version``); a change of a column's meaning or type raises it.
SCHEMA_VERSION: Final = 1

# The kernel's fields, one column each, in the order of smapsfmt._model.known_fields().
FIELD_COLUMNS: Final[tuple[str, ...]] = tuple(known_fields())

# The partition columns, in the order of the folders, with their SQL type.
PARTITIONS: Final[tuple[tuple[str, str], ...]] = (("host", "VARCHAR"), ("date", "DATE"))

# Each table's columns: name, type (a short name, see _ARROW), description.
_Column = tuple[str, str, str]

_SAMPLES: tuple[_Column, ...] = (
    ("schema_version", "int32", "the version of this schema: 1"),
    ("sample_id", "string", "unique id of the sample (a UUID)"),
    ("time", "timestamp", "when the sample began (UTC); for a file exported, its mtime"),
    ("source", "string", "'live' for smapsfmt sample, else the path of the file exported"),
    ("boot_id", "string", "/proc/sys/kernel/random/boot_id; null for a file"),
    ("kernel_release", "string", "uname -r; null for a file (unless --kernel-release)"),
    ("profile", "string", "the kernel profile of smapsfmt that matched (kernel/*.profile)"),
    ("page_size", "int32", "the page size in bytes; null for a file"),
    ("smapsfmt_version", "string", "the version of smapsfmt that wrote the sample"),
    ("smaps", "bool", "whether mappings were read (sample --smaps, or a smaps file)"),
    ("processes", "int32", "processes in the sample (rows of processes)"),
    ("mappings", "int64", "mappings in the sample (rows of mappings)"),
    ("kernel_threads", "int32", "kernel threads skipped (no memory map); null for a file"),
    ("vanished", "int32", "processes that exited while read; null for a file"),
    ("denied", "int32", "processes not readable (permission, hidepid); null for a file"),
    ("unreadable", "int32", "processes skipped for another error of the kernel; null for a file"),
)

_PROCESSES: tuple[_Column, ...] = (
    ("sample_id", "string", "the sample (samples.sample_id)"),
    ("pid", "int32", "the process id; null for a file exported"),
    (
        "start_time",
        "uint64",
        "start time after boot, clock ticks (/proc/PID/stat field 22): "
        "with boot_id and pid, names a process even after its pid is reused",
    ),
    ("comm", "string", "the command name (/proc/PID/stat); null for a file"),
    (
        "cmdline",
        "string",
        "the command line, NULs between arguments as blanks (/proc/PID/cmdline); null for a file",
    ),
    (
        "uid",
        "uint32",
        "the owner of /proc/PID (the effective uid; root for a process that "
        "is not dumpable); null for a file",
    ),
    ("user", "string", "the user's name, null where the uid has none"),
    (
        "cgroup",
        "string",
        "the cgroup that accounts the memory (/proc/PID/cgroup): the v1 "
        "memory controller's path where one is mounted, else the v2 path; null for a file",
    ),
    (
        "rollup_source",
        "string",
        "'smaps_rollup': values as the kernel printed them; 'smaps': "
        "summed from smaps by smapsfmt.aggregate (the low end of each field's interval)",
    ),
    (
        "proven",
        "bool",
        "the rollup was checked against the smaps read with it: true when "
        "smapsfmt.check_rollup proved it, false when not; null when smaps was not read",
    ),
    (
        "frozen",
        "bool",
        "the process was held stopped while its smaps and smaps_rollup were read "
        "(sample --smaps --freeze); null when smaps was not read",
    ),
    ("range_start", "uint64", "the start address of the rollup's header"),
    ("range_end", "uint64", "the end address of the rollup's header"),
    *(
        (name, "uint64", f"the rollup's {name} line; null where not printed")
        for name in FIELD_COLUMNS
    ),
    (
        "vendor",
        "map<string,uint64>",
        "fields smapsfmt does not know (vendor lines): name -> value",
    ),
    ("mappings", "int32", "mappings of the process read from smaps; null when not read"),
)

_MAPPINGS: tuple[_Column, ...] = (
    ("sample_id", "string", "the sample (samples.sample_id)"),
    ("pid", "int32", "the process id; null for a file exported"),
    ("index", "int32", "the mapping's position in smaps, from 0"),
    ("vm_start", "uint64", "start address (the header's first number)"),
    ("vm_end", "uint64", "end address, exclusive"),
    ("offset", "uint64", "offset in the file, bytes"),
    ("major", "uint32", "device major number"),
    ("minor", "uint32", "device minor number"),
    ("device", "string", "the device as the kernel prints it, major:minor in hex"),
    ("inode", "uint64", "inode number, 0 for none"),
    ("perms", "string", "permissions, e.g. r-xp"),
    ("pathname", "string", "the pathname as text: bytes that are not UTF-8 as \\xNN"),
    ("pathname_bytes", "binary", "the pathname, exact bytes"),
    ("deleted", "bool", "the pathname ends in ' (deleted)'"),
    ("name", "string", "the Android 'Name:' line; null where not printed"),
    *((name, "uint64", f"the {name} line; null where not printed") for name in FIELD_COLUMNS),
    ("vmflags", "list<string>", "the VmFlags mnemonics in order; null where not printed"),
    (
        "vendor",
        "map<string,uint64>",
        "fields smapsfmt does not know (vendor lines): name -> value",
    ),
    ("unknown_lines", "list<string>", "field lines the specification does not name, raw text"),
)

TABLES: Final[dict[str, tuple[_Column, ...]]] = {
    "samples": _SAMPLES,
    "processes": _PROCESSES,
    "mappings": _MAPPINGS,
}


# Each short type as Parquet stores it, as DuckDB reads it, as Spark reads it.
ENGINE_TYPES: Final[dict[str, tuple[str, str, str]]] = {
    "int32": ("INT32", "INTEGER", "int"),
    "int64": ("INT64", "BIGINT", "bigint"),
    "uint32": ("INT32 (UINT_32)", "UINTEGER", "bigint"),
    "uint64": ("INT64 (UINT_64)", "UBIGINT", "decimal(20,0)"),
    "string": ("BYTE_ARRAY (UTF8)", "VARCHAR", "string"),
    "binary": ("BYTE_ARRAY", "BLOB", "binary"),
    "bool": ("BOOLEAN", "BOOLEAN", "boolean"),
    "timestamp": ("INT64 (TIMESTAMP, µs, UTC)", "TIMESTAMP WITH TIME ZONE", "timestamp"),
    "list<string>": ("LIST of UTF8", "VARCHAR[]", "array<string>"),
    "map<string,uint64>": (
        "MAP of UTF8 to UINT_64",
        "MAP(VARCHAR, UBIGINT)",
        "map<string,decimal(20,0)>",
    ),
}


def markdown() -> str:
    """The tables' columns as docs/fleet.md shows them (``python -m smapsfmt.fleet.schema``)."""
    lines = []
    for table, columns in TABLES.items():
        lines += [f"### `{table}`", "", "| column | type | DuckDB | Spark | meaning |"]
        lines.append("|---|---|---|---|---|")
        kernel = [name for name, _, _ in columns if name in FIELD_COLUMNS]
        for name, kind, meaning in columns:
            if name in FIELD_COLUMNS and name != kernel[0]:
                continue
            _, duck, spark = ENGINE_TYPES[kind]
            shown, description = f"`{name}`", meaning
            if name in FIELD_COLUMNS:
                shown = f"`{kernel[0]}` ... `{kernel[-1]}` ({len(kernel)} columns)"
                description = (
                    "one column per kernel field, named as the kernel prints it, in this order: "
                    + ", ".join(kernel)
                    + "; the value printed (kB; a number for THPeligible and ProtectionKey), "
                    "null where not printed"
                )
            lines.append(f"| {shown} | {kind} | {duck} | {spark} | {description} |")
        lines.append("")
    return "\n".join(lines)


def column_names(table: str) -> tuple[str, ...]:
    return tuple(name for name, _, _ in TABLES[table])


def _arrow_type(pa: Any, name: str) -> Any:
    simple = {
        "int32": pa.int32(),
        "int64": pa.int64(),
        "uint32": pa.uint32(),
        "uint64": pa.uint64(),
        "string": pa.string(),
        "binary": pa.binary(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "list<string>": pa.list_(pa.string()),
        "map<string,uint64>": pa.map_(pa.string(), pa.uint64()),
    }
    return simple[name]


_ARROW_SCHEMAS: dict[tuple[str, bool], Any] = {}


def arrow_schema(table: str, *, partitions: bool = False) -> Any:
    """The pyarrow schema of ``table``'s files (with ``partitions``: and host and date, as a
    reader of the dataset sees them). Built once per process (a schema is immutable): each
    sample of ``sample --interval`` would otherwise build its three again."""
    found = _ARROW_SCHEMAS.get((table, partitions))
    if found is None:
        found = _ARROW_SCHEMAS[table, partitions] = _build_arrow_schema(table, partitions)
    return found


def _build_arrow_schema(table: str, partitions: bool) -> Any:
    import pyarrow as pa

    fields = [pa.field(name, _arrow_type(pa, kind)) for name, kind, _ in TABLES[table]]
    if partitions:
        fields += [pa.field("host", pa.string()), pa.field("date", pa.date32())]
    metadata = {"smapsfmt.schema_version": str(SCHEMA_VERSION), "smapsfmt.table": table}
    return pa.schema(fields, metadata=metadata)


if __name__ == "__main__":
    print(markdown())
