"""Shared paths and helpers of the test suite (tests/ is on sys.path: see pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
EXTERNAL = VALID / "external"
LIVE = VALID / "live"

# Files in the corpus that are not inputs: provenance, expected results, oracles.
NOT_INPUTS = (".md", ".json", ".expected-error", ".py")


def examples(count: int) -> int:
    """A property test's number of Hypothesis examples under the profile in use (conftest.py):
    ``count``, or ten times as many under ``HYPOTHESIS_PROFILE=long``."""
    return count * 10 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else count


def corpus(part: Path) -> list[Path]:
    """The inputs under ``part``, sorted; an empty corpus is an error, never a pass."""
    found = sorted(p for p in part.rglob("*") if p.is_file() and not p.name.endswith(NOT_INPUTS))
    if not found:
        raise RuntimeError(f"no inputs under {part}: the conformance corpus is missing")
    return found


def is_rollup(path: Path) -> bool:
    return "rollup" in path.name


def fixture_id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def run_cli(
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed command line as a user would, in a child process (with the
    environment variables ``env_extra`` added)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "smapsfmt", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd or tempfile.gettempdir(),  # outside the tree: the installed smapsfmt runs
        env=env,
        timeout=120,
        check=False,
    )


def run_main(*args: str) -> int:
    """The command line in this process, as ``python -m smapsfmt ARGS`` runs it (the entry
    point of ``smapsfmt.__main__``): its exit status."""
    import smapsfmt.__main__

    saved = sys.argv
    sys.argv = ["smapsfmt", *args]
    try:
        smapsfmt.__main__.entry_point()
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    finally:
        sys.argv = saved
    raise AssertionError("the command line returned without an exit status")


def help_text(capsys: Any, *args: str) -> str:
    """What ``smapsfmt ARGS --help`` prints, run in this process (``capsys``: pytest's
    fixture that holds the output)."""
    assert run_main(*args, "--help") == 0, args
    return str(capsys.readouterr().out)


def listed_commands(capsys: Any) -> list[str]:
    """The commands ``smapsfmt --help`` lists, in its order (the same as the choices a usage
    error names)."""
    import re

    listed = re.findall(r"^    (\w+)(?: |$)", help_text(capsys), re.M)
    assert run_main("no-such-command") == 2
    choices = re.search(r"choose from (.*)\)", capsys.readouterr().err)
    assert choices is not None and listed == re.findall(r"'(\w+)'", choices.group(1))
    return listed


# The same in a child interpreter's ``-c`` code (tests/ is not on its path): ``cli(ARGS)``.
CLI_IN_CHILD = """
import sys
import smapsfmt.__main__
def cli(args):
    sys.argv = ["smapsfmt", *args]
    try:
        smapsfmt.__main__.entry_point()
    except SystemExit as exit:
        return exit.code
"""


def as_json(model: object) -> object:
    """A model as plain JSON data, as ``parse --format json`` prints it: the models are pydantic
    dataclasses, and this is pydantic's own dump of them in JSON mode."""
    import pydantic

    return pydantic.TypeAdapter(type(model)).dump_python(model, mode="json")


_UNITS: list[dict[str, str | None]] = []


def field_units() -> dict[str, str | None]:
    """The fields the specification names, in the kernel's order, each with its unit (None:
    printed without one), as ``smapsfmt schema smaps`` publishes them."""
    if not _UNITS:
        import json

        result = run_cli("schema", "smaps")
        assert result.returncode == 0, result.stderr
        mapping = json.loads(result.stdout)["$defs"]["Mapping"]
        fields = mapping["properties"]["fields"]["properties"]
        _UNITS.append({name: spec["unit"] for name, spec in fields.items()})
    return _UNITS[0]


def profile_names() -> set[str]:
    """The names of the kernel profiles (the ``profile NAME`` line of each ``kernel/*.profile``,
    the specification's files)."""
    return {
        line.split()[1]
        for path in (ROOT / "kernel").glob("*.profile")
        for line in path.read_text().splitlines()
        if line.startswith("profile ")
    }


def profile_vmflags(name: str) -> list[str]:
    """The VmFlags mnemonics of the kernel profile NAME, as its ``vmflags`` line lists them."""
    for path in (ROOT / "kernel").glob("*.profile"):
        lines = path.read_text().splitlines()
        if f"profile {name}" in lines:
            found = [line for line in lines if line.startswith("vmflags ")]
            assert len(found) == 1, path
            return found[0].split('"')[2].split()
    raise AssertionError(f"no kernel profile named {name}")


def profile_index() -> list[str]:
    """The names of the kernel profiles in the order of kernel/INDEX (oldest first, then the
    vendor variants): the order in which smapsfmt lists them."""
    return [
        line.strip().removesuffix(".profile")
        for line in (ROOT / "kernel" / "INDEX").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def profile_described(name: str) -> str:
    """The kernel profile NAME as validate's summary names it: ``Linux 6.6-7.3``, or for a
    variant (its ``variant-of`` line) ``android-4.9 (a variant of Linux 4.9-4.11)``."""
    lines = (ROOT / "kernel" / f"{name}.profile").read_text().splitlines()
    assert f"profile {name}" in lines, name
    variant = [line.split()[1] for line in lines if line.startswith("variant-of ")]
    return f"{name} (a variant of Linux {variant[0]})" if variant else f"Linux {name}"


SHAPED = """
import ctypes, mmap, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
private = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
private.write(b"p" * (8 << 20))
address = ctypes.addressof(ctypes.c_char.from_buffer(private))
if libc.mlock(ctypes.c_void_p(address), ctypes.c_size_t(1 << 20)) != 0:
    sys.exit("mlock failed")
private.madvise(mmap.MADV_FREE, 4 << 20, 2 << 20)
shared = mmap.mmap(-1, 4 << 20)  # MAP_SHARED: shmem, shared with the child
shared.write(b"s" * (4 << 20))
if os.fork() == 0:
    shared[0:1]; signal.pause()
sys.stdout.write("ready\\n"); sys.stdout.flush()
signal.pause()
"""


def shaped_process_texts() -> tuple[bytes, bytes]:
    """The smaps and smaps_rollup of a real process shaped here (mlocked, MADV_FREE'd and
    shared memory, a child sharing it), read while it and its child are stopped."""
    import signal

    child = subprocess.Popen(
        [sys.executable, "-c", SHAPED], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        os.killpg(child.pid, signal.SIGSTOP)  # the target and its child, frozen
        smaps = Path(f"/proc/{child.pid}/smaps").read_bytes()
        rollup = Path(f"/proc/{child.pid}/smaps_rollup").read_bytes()
        os.killpg(child.pid, signal.SIGCONT)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    return smaps, rollup


def syntax_error(parse, data: bytes) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    """Where and why ``parse`` refuses ``data``: its SmapsSyntaxError's line, column, message."""
    import pytest

    import smapsfmt

    with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
        parse(data)
    return caught.value.line, caught.value.column, caught.value.msg


def streamed(data: bytes) -> None:
    """Read ``data`` through the public stream reader, to its end."""
    import io

    import smapsfmt

    list(smapsfmt.iter_smaps(io.BytesIO(data)))
