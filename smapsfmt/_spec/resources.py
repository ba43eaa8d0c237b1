"""Access to the specification files shipped with the package.

The grammar, the ABI document and the kernel profiles live at the top of the source tree
(``grammar/``, ``Documentation/ABI/``, ``kernel/``). A wheel carries them inside the package, under
``smapsfmt/_data/``; a source checkout (or an editable install) reads them where they are.

``SMAPSFMT_SPEC_DIR=DIR`` points smapsfmt at another copy of the three: every specification
file is then read from ``DIR`` (laid out as the tree's top: ``DIR/grammar/smaps.lark``,
``DIR/Documentation/ABI/testing/procfs-smaps``, ``DIR/kernel/INDEX``, ...), none from the
package. The variable is read once, at the first use of a specification file.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

__all__ = ["SPEC_DIR_VARIABLE", "SpecFileError", "read_text", "spec_dir"]

SPEC_DIR_VARIABLE = "SMAPSFMT_SPEC_DIR"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


class SpecFileError(FileNotFoundError):
    """A specification file cannot be read: the installation is broken, or
    ``SMAPSFMT_SPEC_DIR`` names a directory without it. The command line exits 2."""


@functools.cache
def spec_dir() -> Path | None:
    """The directory ``SMAPSFMT_SPEC_DIR`` names (read once), or None to use the package's."""
    value = os.environ.get(SPEC_DIR_VARIABLE)
    return Path(value) if value else None


def read_text(relpath: str) -> str:
    """Return the text of a specification file, ``relpath`` being relative to the tree's top."""
    directory = spec_dir()
    if directory is not None:
        chosen = directory / relpath
        try:
            return chosen.read_text(encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SpecFileError(
                f"smapsfmt specification file {relpath!r} cannot be read from "
                f"{SPEC_DIR_VARIABLE}={directory}: {reason}"
            ) from None
    packaged = resources.files("smapsfmt") / "_data"
    for part in relpath.split("/"):
        packaged = packaged / part
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = _SOURCE_ROOT / relpath
    if source.is_file():
        return source.read_text(encoding="utf-8")
    raise SpecFileError(
        f"smapsfmt specification file {relpath!r} is missing from this installation"
    )
