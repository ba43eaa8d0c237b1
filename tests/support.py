"""Shared paths and helpers of the test suite (tests/ is on sys.path: see pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

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


def as_printed_by(profile: object, data: bytes) -> bytes:
    """A real capture's entries as the kernel of ``profile`` prints them: its lines, in its
    order, values from the capture (0 for a field the capture lacks), its VmFlags mnemonics."""
    import smapsfmt
    from smapsfmt._model import Mapping, Smaps
    from smapsfmt._render import render
    from smapsfmt._spec.profiles import Profile

    assert isinstance(profile, Profile)
    mappings = []
    for m in smapsfmt.parse_smaps(data):
        fields = {
            line.field: m.fields.get(line.field, 0)
            for line in profile.smaps_lines
            if not line.optional
        }
        vmflags = None
        if profile.vmflags_prefix is not None:
            vmflags = tuple(f for f in m.vmflags or () if f in profile.vmflags)
        mappings.append(
            Mapping(
                line=m.line, start=m.start, end=m.end, perms=m.perms, offset=m.offset,
                major=m.major, minor=m.minor, inode=m.inode, pathname=m.pathname,
                fields=fields, vmflags=vmflags,
            )
        )  # fmt: skip
    return render(Smaps(mappings=tuple(mappings)), profile)
