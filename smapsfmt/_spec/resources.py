"""Access to the specification files shipped with the package.

The grammar, the ABI document and the kernel profiles live at the top of the source tree
(``grammar/``, ``Documentation/ABI/``, ``kernel/``). A wheel carries them inside the package, under
``smapsfmt/_data/``; a source checkout (or an editable install) reads them where they are.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["read_text"]

_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


def read_text(relpath: str) -> str:
    """Return the text of a specification file, ``relpath`` being relative to the tree's top."""
    packaged = resources.files("smapsfmt") / "_data"
    for part in relpath.split("/"):
        packaged = packaged / part
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = _SOURCE_ROOT / relpath
    if source.is_file():
        return source.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"smapsfmt specification file {relpath!r} is missing from this installation"
    )
