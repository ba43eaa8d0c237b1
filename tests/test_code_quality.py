"""The code meets its own bar: ruff (lint and format) and strict mypy, as configured in
pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip


def test_ruff_lint() -> None:
    result = _run("ruff", "check", "smapsfmt", "tests", "tools", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "smapsfmt", "tests", "tools", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
