"""``smapsfmt export CAPTURE... -o DIR``: capture files into a dataset, one sample per file.

A smaps file streams: its mappings are parsed piece by piece (``smapsfmt.iter_smaps``), written
as rows in batches and summed on the way by ``smapsfmt.aggregate`` into the processes row (the
rollup that the kernel which printed it prints, low end of each fixed-point field's interval;
``rollup_source`` 'smaps'), so a file of any size is exported holding one batch of rows. A
smaps_rollup file gives one processes row with the values it prints (``rollup_source``
'smaps_rollup'). A file that no kernel prints a rollup of (``aggregate`` refuses it) keeps its
mappings, its processes row has null fields, and a warning says why.

The files are exported in order; the first that cannot be read or parsed stops the export with
its error, and nothing of it is in the dataset (the files before it are).
"""

from __future__ import annotations

import datetime
import functools
import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

from ._core import InputError, UsageError, detect_kind, display_name, err, open_input
from .writer import SampleWriter

__all__ = ["export_file"]


@functools.cache
def _next_header() -> re.Pattern[bytes]:
    """The header of a smaps entry after the first (where the first entry ends): its range,
    as the profiles' header format prints it (smapsfmt._spec.header)."""
    from .._spec.header import prefix_pattern

    return re.compile(b"\n" + prefix_pattern(2))


def _mtime(name: str) -> datetime.datetime:
    if name != "-":
        try:
            return datetime.datetime.fromtimestamp(os.stat(name).st_mtime, datetime.timezone.utc)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    return datetime.datetime.now(datetime.timezone.utc)


def export_file(
    name: str, directory: str, host: str, *, kernel_release: str | None = None
) -> dict[str, Any]:
    """Export the capture ``name`` as one sample; what was written, as the JSON output shows
    it. Raises InputError, SmapsSyntaxError (nothing of the file written) and UsageError."""
    from ._core import profile_for_text

    path = display_name(name)
    when = _mtime(name)
    with open_input(name) as source:
        chunks = source.chunks()
        first = next(chunks, b"")
        kind = detect_kind(first)
        writer = SampleWriter(directory, host, when, mappings=kind == "smaps", path=path)
        try:
            pieces = itertools.chain((first,), chunks)
            if kind == "rollup":
                profile = _export_rollup(writer, b"".join(pieces), path)
            else:
                entry = _next_header().search(first)
                head = first if entry is None else first[: entry.start() + 1]
                profile = profile_for_text(head, "smaps") if head else None
                _export_smaps(writer, pieces, path)
            writer.commit(
                {
                    "source": path,
                    "boot_id": None,
                    "kernel_release": kernel_release,
                    "profile": profile,
                    "page_size": None,
                    "kernel_threads": None,
                    "vanished": None,
                    "denied": None,
                }
            )
        except OSError as exc:
            writer.abort()
            raise UsageError(f"cannot write {directory}: {exc.strerror or exc}") from None
        except BaseException:
            writer.abort()
            raise
    return {
        "path": path,
        "kind": "smaps_rollup" if kind == "rollup" else "smaps",
        "sample_id": writer.sample_id,
        "host": host,
        "date": writer.date,
        "processes": writer.process_count,
        "mappings": writer.mapping_count,
    }


def _export_rollup(writer: SampleWriter, text: bytes, path: str) -> str | None:
    import smapsfmt

    from ._core import profile_for_text

    rollup = smapsfmt.parse_rollup(text, path=path)
    header = (rollup.start, rollup.end)
    writer.add_process(_file_process("smaps_rollup"), rollup.fields, header, entry=rollup)
    return profile_for_text(text, "rollup")


def _export_smaps(writer: SampleWriter, pieces: Iterator[bytes], path: str) -> None:
    import smapsfmt

    count = 0

    def rows() -> Iterator[Any]:
        nonlocal count
        for mapping in smapsfmt.iter_smaps(pieces, path=path):
            writer.add_mapping(None, count, mapping)
            count += 1
            yield mapping

    mappings = rows()
    try:
        rollup: Any = smapsfmt.aggregate(mappings)
        source: str | None = "smaps"
    except smapsfmt.KernelMismatch as exc:  # the mappings are read before it is raised
        for _ in mappings:  # (and if not, the rest of them)
            pass
        err(f"{path}:{exc.line}:1: warning: no rollup for its processes row: {exc}\n")
        rollup, source = None, None
    row = _file_process(source)
    row["mappings"] = count
    if rollup is None:
        writer.add_process(row, None)
    else:
        writer.add_process(row, rollup.fields, (rollup.start, rollup.end))


def _file_process(source: str | None) -> dict[str, Any]:
    """A processes row of a file: what a file does not say is null."""
    return {"rollup_source": source, "proven": None}
