"""Build hook: compiles smapsfmt/_parse/_match.c, the optional C module of the parser's fast path.

Without a C compiler (or Python's headers) the wheel is built without it, with a warning, and
smapsfmt runs the same patterns with Python's re module (smapsfmt._parse.accel says
which is in use).

Two environment variables serve builds that must not fall back quietly:
  SMAPSFMT_REQUIRE_C=1   a failed compile fails the build instead (CI sets it)
  SMAPSFMT_CFLAGS="..."  extra compiler flags, e.g. "-fsanitize=address,undefined -g" for a
                         sanitizer build of the module
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("smapsfmt") / "_parse" / "_match.c"


def compile_module(root: Path, out_dir: Path) -> Path | None:
    """Compile the C module into ``out_dir``; None (with a warning) when that fails."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = out_dir / f"_match{suffix}"
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    command = [
        *compiler, "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
        "-Werror=implicit-function-declaration",  # an undeclared name is a failed build
        *shlex.split(os.environ.get("SMAPSFMT_CFLAGS", "")),
        f"-I{sysconfig.get_paths()['include']}", str(root / SOURCE), "-o", str(target),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        return _without(f"no C compiler ({exc})")
    if result.returncode != 0:
        return _without("compiling smapsfmt/_parse/_match.c failed:\n" + result.stderr)
    return target


def _without(reason: str) -> None:
    """Build without the C module, with a warning; or fail the build where it is required."""
    if os.environ.get("SMAPSFMT_REQUIRE_C", "") not in ("", "0"):
        raise RuntimeError(f"smapsfmt: SMAPSFMT_REQUIRE_C is set and {reason}")
    print(f"smapsfmt: {reason}; building without smapsfmt._parse._match", file=sys.stderr)


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if version == "editable":
            # An editable install imports the package from the tree: the module goes there.
            compile_module(root, root / "smapsfmt" / "_parse")
            return
        self._tmp = tempfile.TemporaryDirectory()
        built = compile_module(root, Path(self._tmp.name))
        if built is None:
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(built)] = f"smapsfmt/_parse/{built.name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
