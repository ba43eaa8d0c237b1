"""The benchmark measures the installed package on both paths, as the README runs it.

Times are not checked here (speed targets are the benchmark's); what is checked is what the
benchmark measures: the installed smapsfmt, not the source tree (which has no C module), the
C path and the pure-Python path each where it says, and parse as whole commands beside pmap.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import ROOT, run_cli

import smapsfmt


def _bench(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Not under coverage's tracer (when the suite runs under coverage): the benchmark times
    # the package, and traced its rounds take many times as long.
    environ = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("COVERAGE_")
    }
    environ.update(env)
    return subprocess.run(
        [sys.executable, "bench/bench.py", *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_the_benchmark_measures_the_installed_package_on_both_paths() -> None:
    result = _bench("--rounds", "1", "--mappings", "100", "--skip-streaming")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    installed = os.path.dirname(smapsfmt.__file__)
    assert f"smapsfmt {smapsfmt.__version__} installed in {installed}," in out
    lines = out.splitlines()
    # Whether the C module is built: what `smapsfmt --version` says of the C path
    # (test_cli_contract.py holds that to the installed files).
    version = run_cli("--version", env_extra={"SMAPSFMT_PURE_PYTHON": "0"}).stdout.decode()
    if "parser: C accelerator\n" in version:
        assert "C run: C (smapsfmt._parse._match)" in lines, out
        assert "| job | C ms | C ratio to the kernel read | pure Python ms |" in out
    assert "pure Python run: pure Python (SMAPSFMT_PURE_PYTHON=1)" in lines, out
    for command in (
        "import smapsfmt + parse_smaps(FILE)",
        "smapsfmt parse --format json FILE",
        "smapsfmt parse FILE",
        "smapsfmt parse --format json --pid PID",
        "smapsfmt parse --pid PID",
        "pmap -X PID",
        "smapsfmt parse --format text FILE",  # its peak resident size
    ):
        assert f"| `{command}` |" in out, command
    assert "Peak resident size of `smapsfmt parse FILE` above that of a one-mapping" in out


def test_the_benchmark_refuses_the_source_tree() -> None:
    result = _bench("--rounds", "1", PYTHONPATH=str(ROOT))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"smapsfmt would be imported from the source tree ({ROOT / 'smapsfmt'}), which has no "
        "C module: the benchmarks measure the installed package. Install it (.venv/bin/pip "
        "install .), unset PYTHONPATH, and run .venv/bin/python bench/...\n"
    )


@pytest.mark.parametrize(
    ("script", "args", "row"),
    [
        ("adversarial.py", ("--scale", "0.01", "--rounds", "1"), "| newlines | validate | "),
        ("rollup_stream.py", ("--mappings", "200"), "| rollup, streaming (summarize("),
        ("validate_scaling.py", ("--rounds", "1"), "| one line of letters | "),
        ("freeze.py", ("--rounds", "2", "--threads", "1"), "      1  held in a read  "),
    ],
)  # fmt: skip
def test_each_other_benchmark_runs_to_its_table(
    script: str, args: tuple[str, ...], row: str
) -> None:
    """The README's other benchmarks, each at a small size: each runs on the installed package
    to its last table, so a change to the package that breaks one fails here."""
    environ = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("COVERAGE_")
    }
    result = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith(row) for line in result.stdout.splitlines()), result.stdout
