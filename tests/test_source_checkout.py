"""smapsfmt run from a source checkout, and from an installation that lost its data.

A wheel carries the specification files and the conformance corpus inside the package
(``smapsfmt/_data/``); a source checkout has none there and reads them at the top of the tree
(``grammar/``, ``Documentation/ABI/``, ``kernel/``, ``conformance/corpus/``). Both must give the
same answers. A package without either (a copy of the package alone, here laid out in a
``site-packages`` folder of its own) says which file is missing and exits 2, as for any
problem of the environment: never a traceback, never an internal error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import LIVE, ROOT, run_cli

CAPTURE = LIVE / "6.18" / "sleep" / "smaps"


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m smapsfmt ARGS`` with ``cwd`` first on sys.path (as python -m puts it): the
    smapsfmt found there runs, not the installed one."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SMAPSFMT_SPEC_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "smapsfmt", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False,
    )  # fmt: skip


def _where(cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-c", "import smapsfmt; print(smapsfmt.__file__)"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.mark.skipif(
    not (ROOT / "kernel" / "INDEX").is_file() or (ROOT / "smapsfmt" / "_data").exists(),
    reason="needs the source tree, without a built smapsfmt/_data",
)
def test_a_source_checkout_reads_the_files_of_the_tree() -> None:
    assert _where(ROOT) == str(ROOT / "smapsfmt" / "__init__.py")
    for args in (
        ["validate", str(CAPTURE), "--format", "json"],
        ["rollup", str(CAPTURE)],
        ["conformance", "list", "--format", "json"],
    ):
        checkout, installed = _run(ROOT, *args), run_cli(*args)
        assert checkout.returncode == installed.returncode == 0, args
        assert checkout.stderr == installed.stderr.decode(), args
        assert checkout.stdout == installed.stdout.decode(), args
    listed = json.loads(_run(ROOT, "conformance", "list", "--format", "json").stdout)
    assert len(listed["cases"]) > 100


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package alone (no _data), as a broken installation leaves it."""
    site = tmp_path_factory.mktemp("broken") / "site-packages"
    shutil.copytree(
        ROOT / "smapsfmt",
        site / "smapsfmt",
        ignore=shutil.ignore_patterns("__pycache__", "_data", "*.so"),
    )
    assert _where(site) == str(site / "smapsfmt" / "__init__.py")
    return site


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["validate", str(CAPTURE)],
            "smapsfmt specification file 'kernel/INDEX' is missing from this installation",
        ),
        (["conformance", "list"], "the conformance corpus is missing from this installation"),
    ],
)
def test_an_installation_without_its_files_says_which_is_missing(
    bare: Path, args: list[str], message: str
) -> None:
    result = _run(bare, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", f"smapsfmt: error: {message}\n",
    )  # fmt: skip
    result = _run(bare, *args, "--format", "json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["message"] == message
