"""smapsfmt: the formal, executable specification of /proc/PID/smaps and smaps_rollup.

The public surface is small: parse the text of either file into typed models, and one error
type for text that is not such a file::

    import smapsfmt
    smaps = smapsfmt.parse_smaps(open("/proc/self/smaps", "rb").read())
    print(len(smaps), sum(m.fields["Rss"] for m in smaps))

Heavy parts (pydantic, lark, the grammar) load on first use, so that importing smapsfmt and
running ``smapsfmt --help`` stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import SmapsSyntaxError

if TYPE_CHECKING:
    from ._model import Mapping, Rollup, Smaps
    from ._parser import parse_rollup, parse_smaps

__all__ = [
    "Mapping",
    "Rollup",
    "Smaps",
    "SmapsSyntaxError",
    "parse_rollup",
    "parse_smaps",
]

__version__ = "0.1.0"

_LAZY = {
    "Mapping": "_model",
    "Rollup": "_model",
    "Smaps": "_model",
    "parse_rollup": "_parser",
    "parse_smaps": "_parser",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smapsfmt' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"smapsfmt.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
