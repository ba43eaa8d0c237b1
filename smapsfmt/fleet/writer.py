"""Writing one sample into a dataset: rows of the three tables, in bounded memory.

Rows are gathered column by column, made an Arrow batch every :data:`BATCH_ROWS` rows and
written as a Parquet row group every :data:`ROW_GROUP_ROWS` rows, so a table of any size is
written holding at most one row group (about 15 MB for mappings, and 4,096 rows as Python
values). Each
table's file is written under a hidden name (``.SAMPLE_ID.parquet.tmp``, which DuckDB's and
Spark's readers skip) and renamed when the sample is complete: a reader never sees half a
sample. :meth:`SampleWriter.commit` writes the ``samples`` row last.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import uuid
from collections.abc import Mapping as AbcMapping
from typing import Any

from ._core import UsageError, known_fields, too_large
from .schema import FIELD_COLUMNS, SCHEMA_VERSION, arrow_schema, column_names

__all__ = ["BATCH_ROWS", "ROW_GROUP_ROWS", "SampleWriter", "check_host", "pyarrow"]

# Rows gathered as Python values before they become an Arrow batch (a few MB), and rows of
# Arrow batches gathered into one Parquet row group (about 1 kB a row in Arrow).
BATCH_ROWS = 4096
ROW_GROUP_ROWS = 16384
_U64_MAX = (1 << 64) - 1

# A host name as a folder name: letters, digits and . _ - (RFC 1123 names, and more).
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def pyarrow() -> Any:
    """The pyarrow module, or a usage error saying how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(
            "writing a dataset needs pyarrow: pip install 'smapsfmt[fleet]'"
        ) from None
    return pyarrow


def check_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise UsageError(
            f"--host {host!r}: a host name is letters, digits, '.', '_' and '-' (it names a "
            "folder of the dataset)"
        )
    return host


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


class _Table:
    """One table's file of one sample: columns gathered, written in row groups."""

    def __init__(self, pa: Any, folder: str, sample_id: str, table: str) -> None:
        self._pa = pa
        self.table = table
        self.schema = arrow_schema(table)
        self.names = column_names(table)
        self.columns: dict[str, list[Any]] = {name: [] for name in self.names}
        self.rows = 0
        self.written = 0
        self.batches: list[Any] = []
        self.batched = 0
        self.folder = folder
        self.final = os.path.join(folder, f"{sample_id}.parquet")
        self.temp = os.path.join(folder, f".{sample_id}.parquet.tmp")
        self._writer: Any = None

    def add(self, row: AbcMapping[str, Any]) -> None:
        for name in self.names:
            self.columns[name].append(row.get(name))
        self.rows += 1
        if self.rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """The rows gathered become an Arrow batch; a row group is written once enough."""
        pa = self._pa
        if self.rows:
            arrays = [pa.array(self.columns[field.name], type=field.type) for field in self.schema]
            self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
            self.batched += self.rows
            self.written += self.rows
            self.columns = {name: [] for name in self.names}
            self.rows = 0
        if self.batched >= ROW_GROUP_ROWS:
            self._write()

    def _write(self) -> None:
        pa = self._pa
        if self._writer is None:
            os.makedirs(self.folder, exist_ok=True)
            self._writer = pa.parquet.ParquetWriter(
                self.temp, self.schema, compression="zstd", write_statistics=True
            )
        if self.batches:
            table = pa.Table.from_batches(self.batches, schema=self.schema)
            self._writer.write_table(table, row_group_size=max(self.batched, 1))
        self.batches = []
        self.batched = 0

    def finish(self) -> None:
        """Write what is left and close the file, still under its hidden name."""
        self.flush()
        self._write()
        self._writer.close()
        self._writer = None

    def publish(self) -> None:
        os.replace(self.temp, self.final)

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        with contextlib.suppress(OSError):  # never written, or the folder cannot be reached
            os.unlink(self.temp)


class SampleWriter:
    """The files of one sample: ``process`` and ``mapping`` rows as they come, then
    :meth:`commit` with the ``samples`` row (or :meth:`abort`: nothing is left)."""

    def __init__(
        self,
        directory: str,
        host: str,
        time: datetime.datetime,
        *,
        mappings: bool,
        path: str | None = None,
    ) -> None:
        self._pa = pyarrow()
        self.sample_id = str(uuid.uuid4())
        self.time = time.astimezone(datetime.timezone.utc)
        self.host = host
        self.date = self.time.date().isoformat()
        self.directory = directory
        self.path = path  # the text's name in errors (a file's; None for live processes)

        def table(name: str) -> _Table:
            folder = os.path.join(directory, name, f"host={host}", f"date={self.date}")
            return _Table(self._pa, folder, self.sample_id, name)

        self.processes = table("processes")
        self.mappings = table("mappings") if mappings else None
        self.samples = table("samples")
        self.process_count = 0
        self.mapping_count = 0

    def add_process(
        self,
        row: dict[str, Any],
        fields: AbcMapping[str, int] | None,
        header: tuple[int, int] | None = None,
        *,
        entry: Any = None,
    ) -> None:
        """A processes row: ``row``'s own columns, the rollup's ``fields`` (by kernel name) and
        its ``header`` range (start, end); None leaves them null. ``entry``: the parsed rollup
        they come from, to locate a value that no column can hold."""
        if entry is not None and (refusal := too_large(entry, self.path)) is not None:
            raise refusal
        row["sample_id"] = self.sample_id
        if fields is not None:
            for name in FIELD_COLUMNS:
                row[name] = fields.get(name)
            known = known_fields()
            row["vendor"] = [(k, v) for k, v in fields.items() if k not in known]
        if header is not None:
            row["range_start"], row["range_end"] = header
        self.processes.add(row)
        self.process_count += 1

    def add_mapping(self, pid: int | None, index: int, mapping: Any) -> None:
        """A mappings row for a smapsfmt Mapping (``index``: its position in smaps)."""
        table = self.mappings
        assert table is not None, "a sample without mappings"
        columns = table.columns
        fields = mapping.fields
        if fields and max(fields.values()) > _U64_MAX:
            raise too_large(mapping, self.path) or AssertionError
        pathname: bytes = mapping.pathname
        columns["sample_id"].append(self.sample_id)
        columns["pid"].append(pid)
        columns["index"].append(index)
        columns["vm_start"].append(mapping.start)
        columns["vm_end"].append(mapping.end)
        columns["offset"].append(mapping.offset)
        columns["major"].append(mapping.major)
        columns["minor"].append(mapping.minor)
        columns["device"].append(mapping.dev)
        columns["inode"].append(mapping.inode)
        columns["perms"].append(mapping.perms)
        columns["pathname"].append(_text(pathname))
        columns["pathname_bytes"].append(pathname)
        columns["deleted"].append(pathname.endswith(b" (deleted)"))
        name = mapping.name
        columns["name"].append(None if name is None else _text(name))
        for field in FIELD_COLUMNS:
            columns[field].append(fields.get(field))
        flags = mapping.vmflags
        columns["vmflags"].append(None if flags is None else list(flags))
        known = known_fields()
        columns["vendor"].append([(k, v) for k, v in fields.items() if k not in known])
        columns["unknown_lines"].append(list(mapping.unknown_lines))
        table.rows += 1
        self.mapping_count += 1
        if table.rows >= BATCH_ROWS:
            table.flush()

    def commit(self, row: dict[str, Any]) -> None:
        """Write the samples row (``row``: the columns a caller knows) and publish the sample."""
        from .. import __version__

        row.update(
            schema_version=SCHEMA_VERSION,
            sample_id=self.sample_id,
            time=self.time,
            smapsfmt_version=__version__,
            smaps=self.mappings is not None,
            processes=self.process_count,
            mappings=self.mapping_count if self.mappings is not None else 0,
        )
        tables = [t for t in (self.mappings, self.processes, self.samples) if t is not None]
        try:
            self.samples.add(row)
            for table in tables:
                table.finish()
            for table in tables:  # the samples file last: then the sample is complete
                table.publish()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for table in (self.mappings, self.processes, self.samples):
            if table is not None:
                table.abort()
