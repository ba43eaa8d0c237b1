"""``smapsfmt parse`` writes its output mapping by mapping, byte for byte as the model whole gave.

The reference is how parse printed before it streamed, written here from the public surface
alone: for JSON, pydantic's own dump of the whole model ``smapsfmt.parse_smaps`` or
``parse_rollup`` returns (``json.dumps(..., indent=1)``), or the error object the README
documents built from the SmapsSyntaxError's line, column, path and message; for text, the
former text writer, kept below as it was (units from ``smapsfmt schema smaps``, the rollup's
name from ``smapsfmt.spec``). Every input of the corpus, valid and invalid, and seeded variants
of real captures (names with quotes, backslashes, control and non-UTF-8 bytes, vendor fields
with and without a unit, no final newline, no mapping at all) go through the installed command
line, from a file and from standard input, in one child process on the C path and one with
SMAPSFMT_PURE_PYTHON=1 (each child names its path as ``smapsfmt --version`` does), and each
byte of their output is compared with the reference, made in this process.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from support import CLI_IN_CHILD, INVALID, LIVE, VALID, as_json, corpus, field_units

import smapsfmt
import smapsfmt.spec

SEED = 1304
MANY = LIVE / "6.18/many-small/smaps"
ANDROID = VALID / "external/android-libmeminfo/testdata1/smaps_short"


# --- the reference: parse's output as it was when the model was printed whole -----------------


def _unitless() -> frozenset[str]:
    """The fields the specification names that are printed without a unit."""
    return frozenset(name for name, unit in field_units().items() if unit is None)


def _kind(data: bytes) -> str:
    """What ``--kind auto`` takes ``data`` for: a rollup when its first line ends in the name
    smaps_rollup's header prints (``[rollup]``), else a smaps."""
    first = data.split(b"\n", 1)[0].rstrip(b" ")
    return "rollup" if first.endswith(b" " + smapsfmt.spec.rollup_name()) else "smaps"


def _error_object(exc: smapsfmt.SmapsSyntaxError) -> dict[str, Any]:
    """The JSON error object of a syntax error (README, "JSON for scripts"; ``smapsfmt schema
    error``), every key present."""
    return {
        "error": {
            "kind": "syntax", "rule": "syntax", "path": exc.path, "line": exc.line,
            "column": exc.column, "message": exc.msg, "exit": 1,
        }
    }  # fmt: skip


def _former_text_entry(entry: Any, vmflags: Sequence[str] | None) -> str:
    lines = [entry.header_text()]
    name = getattr(entry, "name", None)
    if name is not None:
        lines.append(f"  Name: {name.decode('utf-8', 'backslashreplace')}")
    width = max((len(k) for k in entry.fields), default=0) + 1
    for key, value in entry.fields.items():
        unit = "" if key in _unitless() else " kB"
        if key in entry.unknown_fields:
            unit = (
                " kB"
                if any(
                    raw.split(":", 1)[0] == key and raw.endswith(" kB")
                    for raw in entry.unknown_lines
                )
                else ""
            )
            lines.append(f"  {key + ':':<{width}}{value:>9}{unit}   (not in the specification)")
        else:
            lines.append(f"  {key + ':':<{width}}{value:>9}{unit}")
    if vmflags is not None:
        lines.append(f"  VmFlags: {' '.join(vmflags)}")
    return "\n".join(lines)


def _former_output(data: bytes, fmt: str, path: str, kind: str = "auto") -> tuple[int, bytes]:
    kind = _kind(data) if kind == "auto" else kind
    try:
        parse = smapsfmt.parse_rollup if kind == "rollup" else smapsfmt.parse_smaps
        model: Any = parse(data, path=path)
    except smapsfmt.SmapsSyntaxError as exc:  # said on stderr; on stdout, JSON's error object
        said = json.dumps(_error_object(exc), indent=1) + "\n" if fmt == "json" else ""
        return 1, said.encode("utf-8", "backslashreplace")
    if fmt == "json":
        text = json.dumps(as_json(model), indent=1) + "\n"
    elif kind == "rollup":
        text = _former_text_entry(model, None) + "\n"
    else:
        text = "".join(_former_text_entry(m, m.vmflags) + "\n" for m in model)
        text += f"# {len(model)} mapping{'s' if len(model) != 1 else ''}\n"
    return 0, text.encode("utf-8", "backslashreplace")


# --- seeded variants of real captures ---------------------------------------------------------

_HEADER = re.compile(rb"^([0-9a-f]+-[0-9a-f]+ \S{4} [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ [0-9]+)(.*)$")
NAMES = (
    b'/tmp/a "quoted" \\ back\\slash',
    b"/tmp/\xff\xfe not UTF-8 \xc3",
    "/tmp/é ü 日本 \U0001f600 \u2028".encode(),
    b"/tmp/ctl \x01\t\x1f\x7f end",
    b"/tmp/100% %d %s (deleted)",
    b"[anon:x y]",
    b"",
)
VENDOR = (b"Writeback:             4 kB", b"Vendor_X:   12", b"ZZ9:      0 kB")


def _variant(data: bytes, rng: random.Random) -> bytes:
    """``data`` with names changed and vendor field lines added (at most one of each label per
    mapping, after its Rss line), each by chance."""
    out: list[bytes] = []
    for line in data.split(b"\n"):
        header = _HEADER.match(line)
        new = line
        if header and rng.random() < 0.4:
            name = rng.choice(NAMES)
            new = header[1] + (b" " * rng.choice((1, 20)) + name if name else b"")
        elif line.startswith(b"Name:") and rng.random() < 0.5:
            new = b"Name:           " + (rng.choice(NAMES) or b"x")
        out.append(new)
        if line.startswith(b"Rss:"):
            out += rng.sample(VENDOR, rng.randrange(len(VENDOR) + 1))
    return b"\n".join(out)


def _first_entry(data: bytes) -> bytes:
    """The first mapping of a smaps text, with its final newline."""
    lines = data.split(b"\n")
    end = next(i for i in range(1, len(lines)) if _HEADER.match(lines[i]))
    return b"\n".join(lines[:end]) + b"\n"


def _generated(directory: Path) -> list[Path]:
    rng = random.Random(SEED)
    many = b"".join(MANY.read_bytes().splitlines(keepends=True)[:2500])  # about 100 mappings
    cases = {"empty.smaps": b"", "no-final-newline.smaps": ANDROID.read_bytes().rstrip(b"\n")}
    cases["one.smaps"] = _first_entry(ANDROID.read_bytes())
    for number in range(12):
        base = ANDROID.read_bytes() if number % 2 else many
        text = _variant(base, rng)
        if number % 3 == 0:
            text = text.rstrip(b"\n")
        cases[f"variant-{number}.smaps"] = text
    paths = []
    for name, text in cases.items():
        smapsfmt.parse_smaps(text)  # each is a smaps (else the generator is wrong)
        path = directory / name
        path.write_bytes(text)
        paths.append(path)
    return paths


# --- the installed command line, many inputs in one child process ----------------------------

# The command line in the child, through python -m smapsfmt's entry point (CLI_IN_CHILD's
# cli), once per job; first ``--version``, whose second line names the parser's path.
CHILD = (
    CLI_IN_CHILD
    + """
import io, json
with open(sys.argv[1], encoding="utf-8") as listing:
    jobs = json.load(listing)
report = sys.stdout
sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
cli(["--version"])
sys.stdout.flush()
words = sys.stdout.buffer.getvalue().decode().splitlines()[1]
for source, fmt, kind, out in jobs:
    sys.stdout = open(out + ".stdout", "w", encoding="utf-8")
    if source == "-":
        sys.stdin = open(out + ".stdin", encoding="latin-1")  # the command reads its .buffer
    code = cli(["parse", "--format", fmt, "--kind", kind, source])
    sys.stdout.close()
    with open(out + ".status", "w") as handle:
        handle.write(str(code))
print(json.dumps({"parser": words}), file=report)
"""
)


def _run_child(jobs: list[tuple[str, str, str, str]], pure: bool) -> dict[str, Any]:
    env = dict(os.environ, SMAPSFMT_PURE_PYTHON="1" if pure else "0")
    env.pop("PYTHONPATH", None)
    # The list goes in a file: on the command line, a corpus this size exceeds ARG_MAX.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as listing:
        json.dump(jobs, listing)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, listing.name],
        capture_output=True, cwd=tempfile.gettempdir(), env=env, timeout=600, check=False,
    )  # fmt: skip
    os.unlink(listing.name)
    assert result.returncode == 0, result.stderr.decode()
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _path_in_words(pure: bool) -> str:
    """The parser's path, as ``smapsfmt --version`` names it, that a child runs: the C module
    wherever a C compiler built it at install (test_accel.py holds the build to that)."""
    if pure:
        return "parser: pure Python (SMAPSFMT_PURE_PYTHON=1)"
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(compiler) is None:
        return "parser: pure Python (the C module was not built at install)"
    return "parser: C accelerator"


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
def test_output_is_the_former_output_on_the_corpus(pure: bool, tmp_path: Path) -> None:
    inputs = corpus(VALID) + corpus(INVALID) + _generated(tmp_path)
    jobs: list[tuple[str, str, str, str]] = []
    expected: dict[str, tuple[int, bytes]] = {}
    for path in inputs:
        data = path.read_bytes()
        for fmt in ("json", "text"):
            # From the file with each --kind; from standard input as found.
            for source, kind in ((str(path), "auto"), (str(path), "smaps"),
                                 (str(path), "rollup"), ("-", "auto")):  # fmt: skip
                out = str(tmp_path / f"out-{len(jobs)}")
                if source == "-":
                    Path(out + ".stdin").write_bytes(data)
                jobs.append((source, fmt, kind, out))
                name = "<stdin>" if source == "-" else str(path)
                expected[out] = _former_output(data, fmt, name, kind)
    report = _run_child(jobs, pure)
    assert report["parser"] == _path_in_words(pure), report
    mismatches = []
    for source, fmt, kind, out in jobs:
        got = (int(Path(out + ".status").read_text()), Path(out + ".stdout").read_bytes())
        if got != expected[out]:
            mismatches.append(f"{source} --format {fmt} --kind {kind}")
    assert not mismatches, f"seed {SEED}: output differs from the former output for {mismatches}"


# --- streaming, by its effect ------------------------------------------------------------------


# A small process runs the command and reports its peak: a child forked from this (large) test
# process would count the test process's resident size as its own peak (exec keeps it).
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as errors:
    code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=errors).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_rss_kib(args: Sequence[str], directory: Path) -> int:
    """The peak resident size of ``smapsfmt ARGS`` (output to /dev/null), in KiB."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    err = directory / "stderr"
    command = [sys.executable, "-m", "smapsfmt", *args]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(err), *command],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), timeout=300,
        check=True,
    )  # fmt: skip
    code, peak = result.stdout.split()
    assert code == "0", err.read_text()
    return int(peak)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_large_file_is_parsed_in_bounded_memory(fmt: str, tmp_path: Path) -> None:
    """Above what parsing one mapping costs, a 20 MB smaps costs less memory than its size
    (printed whole, it cost 12 times its size in JSON and 2.5 times in text)."""
    data = MANY.read_bytes()
    one = tmp_path / "one.smaps"
    one.write_bytes(_first_entry(data))
    big = tmp_path / "big.smaps"
    big.write_bytes(data * 9)
    size_kib = big.stat().st_size // 1024
    base = _peak_rss_kib(["parse", "--format", fmt, str(one)], tmp_path)
    peak = _peak_rss_kib(["parse", "--format", fmt, str(big)], tmp_path)
    assert peak - base < size_kib, (
        f"parse --format {fmt} of {size_kib} KiB peaked {peak - base} KiB above one mapping's "
        f"parse ({base} KiB)"
    )


def test_a_syntax_error_at_the_end_prints_nothing_before_it(tmp_path: Path) -> None:
    data = MANY.read_bytes()
    path = tmp_path / "smaps"
    path.write_bytes(data + b"junk\n")
    for fmt in ("json", "text"):
        result = subprocess.run(
            [sys.executable, "-m", "smapsfmt", "parse", "--format", fmt, str(path)],
            capture_output=True, cwd=tempfile.gettempdir(), timeout=120, check=False,
        )  # fmt: skip
        line = data.count(b"\n") + 1
        assert result.returncode == 1
        assert result.stderr.decode().startswith(f"{path}:{line}:1: syntax: "), fmt
        if fmt == "text":
            assert result.stdout == b""
        else:  # the error object alone
            assert json.loads(result.stdout)["error"]["line"] == line


def test_a_fifo_is_read_once(tmp_path: Path) -> None:
    """A named pipe given as FILE is not a file that can be read twice: it is read as one piece,
    and the writer sees its whole text taken."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = ANDROID.read_bytes()
    done: list[BaseException | None] = []

    def feed() -> None:
        try:
            with open(fifo, "wb") as handle:
                handle.write(data)
            done.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            done.append(exc)

    writer = threading.Thread(target=feed)
    writer.start()
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", "parse", "--format", "json", str(fifo)],
        capture_output=True, cwd=tempfile.gettempdir(), timeout=120, check=False,
    )  # fmt: skip
    writer.join(timeout=60)
    assert done == [None]
    assert result.returncode == 0, result.stderr
    assert result.stdout == _former_output(data, "json", str(fifo))[1]
