"""Types of the C module smapsfmt._parse._match (smapsfmt/_parse/_match.c).

The module runs the fast path's entry patterns; smapsfmt._parse.accel builds its programs
(node kinds, conversions and their numbering are described there). tests/test_accel.py keeps
this stub's methods equal to the module's.
"""

from collections.abc import Sequence
from typing import Any, final

@final
class Program:
    """One entry pattern, translated, with the recipe that turns its groups into objects."""

    def __init__(
        self,
        nodes: tuple[Any, ...],
        groups: int,
        recipe: tuple[tuple[int, int, int], ...],
        cls: type | None,
        slots: tuple[Any, ...],
        labels: tuple[str, ...],
        constants: tuple[tuple[int, object], ...],
        line_slot: int,
        fields_slot: int,
        lines: int,
        max_hex: int,
    ) -> None: ...
    def run(
        self,
        data: bytes,
        pos: int,
        line: int,
        out: list[Any] | None = None,
        sinks: Sequence[list[Any] | None] | None = None,
        columns: tuple[list[Any], ...] | None = None,
        limit: int = -1,
        end: int = -1,
        /,
    ) -> tuple[int, int, int]:
        """Match entries from ``pos`` on: (where they end, the line there, the stop's status:
        0 an entry that does not match, 1 one it cannot convert)."""
    def entire(self, data: bytes, line: int, /) -> Any:
        """The object of ``data`` when it is exactly one entry, else None. The last entry
        built is kept (its data and fields), so that a field printed alike in the next call's
        data keeps its value without being converted again (a sampler's repeated reads)."""
