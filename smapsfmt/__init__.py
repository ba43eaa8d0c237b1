"""smapsfmt: the formal, executable specification of /proc/PID/smaps and smaps_rollup.

The public surface is small: parse the text of either file into typed models, and one error
type for text that is not such a file::

    import smapsfmt
    smaps = smapsfmt.parse_smaps(open("/proc/self/smaps", "rb").read())
    print(len(smaps), sum(m.fields["Rss"] for m in smaps))

Live processes: ``read_smaps(pid)``, ``read_rollup(pid)`` and ``snapshot(pid)`` (both files, read
while the process is frozen), with one ``ProcError`` subclass per situation where a process
cannot be read (no such process, permission denied, kernel thread, zombie, exited mid-read, ...).
``Process(pid)`` holds one process's /proc directory across many reads, so that each is of
that process and never of a later holder of its pid; ``Process.frozen()`` holds it stopped
while a block reads it, and yields a ``Freeze``.

Every type a public function returns or raises is exported here: ``Diagnostic`` (validate,
check_rollup), ``AggregatedRollup`` and ``Interval`` (aggregate), ``KernelMismatch`` and
``OutOfRange`` (aggregate, check_rollup), ``Snapshot``, ``ExactPss``, ``MappingCount`` and
``ExactUnavailable`` (exact_pss).

Heavy parts (pydantic, lark, the grammar) load on first use, so that importing smapsfmt and
running ``smapsfmt --help`` stay light.
"""

from __future__ import annotations

from ._lazy import lazy

# Not from typing: importing it costs several times all of smapsfmt's own import (mypy knows
# this name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._diagnostics import Diagnostic
    from ._errors import SmapsSyntaxError
    from ._live.errors import (
        KernelThreadError,
        NoSuchProcessError,
        PidReusedError,
        ProcError,
        ProcessExitedError,
        ProcPermissionError,
        ProcUnavailableError,
        RollupMissingError,
        ZombieProcessError,
    )
    from ._live.exact import ExactPss, ExactUnavailable, MappingCount, exact_pss
    from ._live.hold import Freeze
    from ._live.proc import Snapshot, read_rollup, read_smaps, snapshot
    from ._live.process import Process
    from ._model import AggregatedRollup, Interval, Mapping, Rollup, Smaps
    from ._parse.parser import parse_rollup, parse_smaps
    from ._parse.stream import iter_smaps
    from ._rollup.aggregate import aggregate
    from ._rollup.check import check_rollup
    from ._rollup.errors import KernelMismatch, OutOfRange
    from ._validate.validate import validate
del TYPE_CHECKING

__all__ = [
    "AggregatedRollup",
    "Diagnostic",
    "ExactPss",
    "ExactUnavailable",
    "Freeze",
    "Interval",
    "KernelMismatch",
    "KernelThreadError",
    "Mapping",
    "MappingCount",
    "NoSuchProcessError",
    "OutOfRange",
    "PidReusedError",
    "ProcError",
    "ProcPermissionError",
    "ProcUnavailableError",
    "Process",
    "ProcessExitedError",
    "Rollup",
    "RollupMissingError",
    "Smaps",
    "SmapsSyntaxError",
    "Snapshot",
    "ZombieProcessError",
    "aggregate",
    "check_rollup",
    "exact_pss",
    "iter_smaps",
    "parse_rollup",
    "parse_smaps",
    "read_rollup",
    "read_smaps",
    "snapshot",
    "validate",
]

__version__ = "0.1.0"

_LAZY = {
    "AggregatedRollup": "_model",
    "Diagnostic": "_diagnostics",
    "ExactPss": "_live.exact",
    "ExactUnavailable": "_live.exact",
    "Interval": "_model",
    "KernelMismatch": "_rollup.errors",
    "MappingCount": "_live.exact",
    "OutOfRange": "_rollup.errors",
    "Snapshot": "_live.proc",
    "Mapping": "_model",
    "Rollup": "_model",
    "Smaps": "_model",
    "SmapsSyntaxError": "_errors",  # lazily too: ``smapsfmt ps`` never raises it (bench/ps.py)
    "parse_rollup": "_parse.parser",
    "parse_smaps": "_parse.parser",
    "iter_smaps": "_parse.stream",
    "validate": "_validate.validate",
    "aggregate": "_rollup.aggregate",
    "check_rollup": "_rollup.check",
    "exact_pss": "_live.exact",
    "KernelThreadError": "_live.errors",
    "NoSuchProcessError": "_live.errors",
    "PidReusedError": "_live.errors",
    "ProcError": "_live.errors",
    "ProcPermissionError": "_live.errors",
    "ProcUnavailableError": "_live.errors",
    "ProcessExitedError": "_live.errors",
    "RollupMissingError": "_live.errors",
    "ZombieProcessError": "_live.errors",
    "read_rollup": "_live.proc",
    "read_smaps": "_live.proc",
    "snapshot": "_live.proc",
    "Process": "_live.process",
    "Freeze": "_live.hold",
}


__getattr__, __dir__ = lazy(__name__, _LAZY, __all__)
