"""Names a package exports but loads on first use (PEP 562), so that importing the package, and
running ``smapsfmt --help``, stay light: ``__getattr__, __dir__ = lazy(__name__, where, __all__)``
with ``where`` mapping each exported name to the submodule that defines it."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not from typing: importing it would cost more than smapsfmt's import
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from typing import Any
del TYPE_CHECKING

__all__ = ["lazy"]


def lazy(
    package: str, where: Mapping[str, str], exported: Collection[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``: a name of ``where`` is
    imported from ``package.<where[name]>`` when first asked for, then kept in the package."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # __import__, not importlib.import_module: importing importlib would cost every
        # command's start-up more than the rest of this module
        __import__(f"{package}.{module}")
        value = getattr(sys.modules[f"{package}.{module}"], name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exported))

    return __getattr__, __dir__
