"""The smapsfmt the benchmarks measure: the installed package, never the source tree.

``pip install .`` builds the C module (smapsfmt/_parse/_match.c) into the installed package only;
the tree has none, so a benchmark that imported the tree would time the pure-Python path. Each
benchmark calls :func:`require_installed` before importing smapsfmt, and runs its child
interpreters with :func:`child_env` and :data:`CHILD_CWD` (outside the tree: ``python -c``
and ``python -m`` put the working directory first on the import path).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["CHILD_CWD", "ROOT", "c_built", "child_env", "path_ran", "require_installed"]

ROOT = Path(__file__).resolve().parent.parent
CHILD_CWD = tempfile.gettempdir()
INSTALL = ".venv/bin/pip install ."


def require_installed() -> Path:
    """The folder of the installed smapsfmt; exits with a message when smapsfmt is missing or
    would be imported from the source tree."""
    spec = importlib.util.find_spec("smapsfmt")
    if spec is None or spec.origin is None:
        raise SystemExit(
            f"smapsfmt is not installed for {sys.executable}: install it ({INSTALL}) and run "
            "the benchmark with that interpreter (.venv/bin/python bench/...)"
        )
    folder = Path(spec.origin).resolve().parent
    if folder == ROOT / "smapsfmt":
        raise SystemExit(
            f"smapsfmt would be imported from the source tree ({folder}), which has no C "
            f"module: the benchmarks measure the installed package. Install it ({INSTALL}), "
            "unset PYTHONPATH, and run .venv/bin/python bench/..."
        )
    return folder


def c_built() -> bool:
    """The installed package has the C module (a C compiler was there at install)."""
    return importlib.util.find_spec("smapsfmt._parse._match") is not None


def path_ran() -> str:
    """Which path the smapsfmt of this process runs, in words."""
    from smapsfmt._parse import accel as _accel

    if _accel.available():
        return "C (smapsfmt._parse._match)"
    if os.environ.get("SMAPSFMT_PURE_PYTHON", "") not in ("", "0"):
        return "pure Python (SMAPSFMT_PURE_PYTHON=1)"
    return "pure Python (the C module was not built at install)"


def child_env(*, pure: bool = False) -> dict[str, str]:
    """The environment of a child interpreter: the installed package, on the given path."""
    env = dict(os.environ, SMAPSFMT_PURE_PYTHON="1" if pure else "0")
    env.pop("PYTHONPATH", None)
    return env
