"""smapsfmt ps: every process of this machine, the real /proc, and smem on the same processes."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import triage_targets
from support import CLI_IN_CHILD, run_cli, run_main

import smapsfmt
import smapsfmt.__main__  # the command line, loaded before a fork becomes nobody

COLUMNS = ["Rss", "Pss", "USS", "Swap", "SwapPss"]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[subprocess.Popen[str]]]:
    """Three static targets (tests/triage_target.c) of 300 mappings, stopped: no page of theirs
    is mapped by any other process, so their Private/Shared split cannot change while smem and
    ps read them in turn."""
    base = tmp_path_factory.mktemp("isolated")
    binary = triage_targets.build_static(base)
    if binary is None:
        pytest.skip("no C compiler: tests/triage_target.c cannot be built")
    procs = [
        triage_targets.start_static(binary, 300, base / f"backing{i}", kib=256 * (i + 1))
        for i in range(3)
    ]
    for proc in procs:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def ps(*args: str) -> dict[str, Any]:
    result = run_cli("ps", "--format", "json", *args)
    assert result.returncode == 0, result.stderr.decode()
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_every_process_its_rollup_and_the_total(isolated: list[subprocess.Popen[str]]) -> None:
    result = ps("--fields", "Anonymous")
    rows = {row["pid"]: row for row in result["rows"]}
    for proc in isolated:
        rollup = smapsfmt.read_rollup(proc.pid).fields
        row = rows[proc.pid]
        for name in ("Rss", "Swap", "SwapPss", "Anonymous"):
            assert row[name] == rollup[name], name
        assert row["USS"] == rollup["Private_Clean"] + rollup["Private_Dirty"]
        assert row["user"] == "root" and row["uid"] == 0
        assert row["command"].endswith(f"triage_target 300 {proc.args[2]} {proc.args[3]}")
    assert 2 not in rows  # kthreadd: kernel threads are left out ...
    assert result["kernel_threads"] >= 1  # ... and counted
    for column in [*COLUMNS, "Anonymous"]:
        assert result["total"][column] == sum(row[column] for row in result["rows"])
    assert result["total"]["processes"] == len(result["rows"])
    assert result["columns"] == [*COLUMNS, "Anonymous"]
    pss = [row["Pss"] for row in result["rows"]]
    assert pss == sorted(pss, reverse=True)


def test_by_user_and_cgroup_the_groups_add_up(isolated: list[subprocess.Popen[str]]) -> None:
    for by in ("user", "cgroup"):
        result = ps("--by", by)
        assert result["total"]["processes"] == sum(r["processes"] for r in result["rows"])
        for column in COLUMNS:
            assert result["total"][column] == sum(r[column] for r in result["rows"])
    users = ps("--by", "user")["rows"]
    assert "root" in [r["group"] for r in users]
    with open(f"/proc/{isolated[0].pid}/cgroup") as handle:
        text = handle.read()
    groups = [r["group"] for r in ps("--by", "cgroup")["rows"]]
    assert any(f":{g}\n" in text for g in groups)


def test_top_the_rest_in_one_row_and_the_text_and_csv_layouts(
    isolated: list[subprocess.Popen[str]],
) -> None:
    result = ps("--top", "2", "--sort", "pid")
    assert [r["pid"] for r in result["rows"]] == sorted(r["pid"] for r in result["rows"])
    rest = result["other"]
    assert rest["command"] == f"({rest['processes']} more processes)"
    assert result["total"]["Rss"] == sum(r["Rss"] for r in result["rows"]) + rest["Rss"]
    text = run_cli("ps", "--top", "1").stdout.decode().splitlines()
    assert text[0].split() == ["PID", "User", *COLUMNS, "Command"]
    assert text[-1].split()[-3:-1] == ["TOTAL", f"({result['total']['processes']}"] or text[
        -1
    ].endswith("processes)")
    csv = run_cli("ps", "--format", "csv", "--by", "user").stdout.decode().splitlines()
    assert csv[0] == "user,processes,Rss,Pss,USS,Swap,SwapPss"
    assert csv[-1].startswith("TOTAL,")


def test_processes_that_may_not_be_read_are_listed_in_a_note(
    isolated: list[subprocess.Popen[str]],
) -> None:
    """As nobody, root's processes cannot be read: a note lists them; exit 0."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the fork, as nobody
        try:
            sys.stdout = open(out_w, "w", closefd=False)  # noqa: SIM115 - the fork's own
            sys.stderr = open(err_w, "w", closefd=False)  # noqa: SIM115
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            code = run_main("ps", "--format", "json")
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r, "rb") as out, os.fdopen(err_r, "rb") as err:
        stdout, stderr = out.read(), err.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result = json.loads(stdout)
    denied = {s["pid"] for s in result["skipped"] if s["reason"] == "denied"}
    assert {p.pid for p in isolated} <= denied
    assert [r["user"] for r in result["rows"]] == ["nobody"] * len(result["rows"])
    first = next(s for s in result["skipped"] if s["pid"] == isolated[0].pid)
    assert first["comm"] == "triage_target"
    note = stderr.splitlines()[0]
    assert note.startswith(f"smapsfmt: note: {len(result['skipped'])} processes left out: "), (
        stderr
    )
    assert f"{isolated[0].pid} ({first['comm']})" in note
    assert "may not be read (ptrace-read access is needed)" in note


def test_progress_goes_to_a_terminal_only() -> None:
    """On a terminal, stderr shows the sweep's progress and erases it; in a pipe, nothing."""
    piped = run_cli("ps", "--top", "1")
    assert b"reading processes" not in piped.stderr
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smapsfmt", "ps", "--top", "1"],
        stdout=subprocess.PIPE, stderr=follower, env=env, cwd="/",
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's last writer closed it
            break
        if not chunk:
            break
        shown += chunk
    proc.wait()
    os.close(leader)
    assert proc.returncode == 0
    assert b"\r\x1b[Ksmapsfmt: reading processes: 1/" in shown
    progress = shown.split(b"smapsfmt: note")[0]
    assert progress.endswith(b"\r\x1b[K")  # erased before the note


def test_ps_loads_nothing_that_parses_smaps() -> None:
    code = (
        CLI_IN_CHILD + "sys.stdout = open('/dev/null', 'w')\n"
        "cli(['ps'])\n"
        "heavy = ('pydantic', 'lark', 'smapsfmt._model', 'smapsfmt._parse.parser',"
        " 'smapsfmt._validate.validate')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stderr.splitlines()[-1] == "[]"


def test_ps_loads_no_other_command_and_nothing_its_output_does_not_use() -> None:
    """A command's start-up is its own: ps (text) loads no other command's module, no JSON or
    CSV writer, not shutil (argparse's width), not threading (the freezer's), not typing
    (annotations only); with --format json neither (its JSON is plain data, written without the
    json module) and still no other command. What the interpreter had loaded before smapsfmt
    was imported (a coverage run's own start-up) is not ps's."""
    others = (
        "smapsfmt._cli.parse", "smapsfmt._cli.validate", "smapsfmt._cli.rollup",
        "smapsfmt.conformance.cli", "smapsfmt.selftest.cli", "smapsfmt.fleet.cli",
    )  # fmt: skip
    unused = ("json", "csv", "shutil", "threading", "pathlib", "typing")
    for argv, loaded in ((["ps"], []), (["ps", "--format", "json"], [])):
        code = (
            "import sys\nbefore = set(sys.modules)\nimport smapsfmt.__main__\n"
            f"sys.stdout = open('/dev/null', 'w'); sys.argv = ['smapsfmt', *{argv!r}]\n"
            "try:\n    smapsfmt.__main__.entry_point()\n"
            "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            f"new = set(sys.modules) - before | set({loaded!r}) & set(sys.modules)\n"
            f"print(sorted(m for m in {others + unused!r} if m in new), file=sys.stderr)"
        )
        out = subprocess.run(
            [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stderr.splitlines()[-1] == str(loaded), argv


@pytest.mark.skipif(shutil.which("smem") is None, reason="smem: .ci/run installs it")
def test_ps_and_smem_agree_on_the_same_stopped_processes(
    isolated: list[subprocess.Popen[str]],
) -> None:
    """smem sums each mapping's truncated Pss; the kernel's rollup sums in fixed point: ours is
    at most one kB per mapping above smem's, never below. Everything else is equal."""
    pids = {p.pid for p in isolated}
    smem = subprocess.run(
        ["smem", "-H", "-c", "pid swap uss pss rss", "-P", "triage_target"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    theirs = {}
    for line in smem.stdout.splitlines():
        pid, swap, uss, pss, rss = map(int, line.split())
        if pid in pids:
            theirs[pid] = {"Swap": swap, "USS": uss, "Pss": pss, "Rss": rss}
    assert set(theirs) == pids, smem.stdout
    ours = {row["pid"]: row for row in ps()["rows"] if row["pid"] in pids}
    for pid in pids:
        mappings = len(smapsfmt.read_smaps(pid))
        assert mappings > 300
        for name in ("Swap", "USS", "Rss"):
            assert ours[pid][name] == theirs[pid][name], (pid, name)
        assert theirs[pid]["Pss"] <= ours[pid]["Pss"] <= theirs[pid]["Pss"] + mappings


def _full_parser() -> Any:
    """ps's options as smapsfmt.triage.cli declares them, read by argparse."""
    import argparse

    from smapsfmt.triage.cli import add_commands

    parser = argparse.ArgumentParser(prog="smapsfmt")
    add_commands(parser.add_subparsers(dest="command"))
    return parser


QUICK_SEED = 4242
OPTION_WORDS = [
    ["--format", "json"], ["--format=csv"], ["--format", "text"], ["--format", "yaml"],
    ["--by", "user"], ["--by=cgroup"], ["--by", "process"], ["--by", "group"],
    ["--sort", "Rss"], ["--sort=pid"], ["--sort=-x"], ["--sort="], ["--sort", "-x"],
    ["--top", "3"], ["--top=1"], ["--top", "0"], ["--top", "x"], ["--top", "-1"],
    ["--fields", "Locked"], ["--fields=Anonymous,KSM"], ["--fields="],
    ["--form", "json"], ["-h"], ["--help"], ["--"], ["extra"], ["--top"], ["--by=user=x"],
]  # fmt: skip


def test_ps_reads_its_command_line_without_argparse_as_argparse_does() -> None:
    """``smapsfmt ps`` reads the common forms of its options itself (quick_args): every command
    line it takes gives the options argparse gives; anything else (help, an abbreviation, an
    option twice, a value argparse refuses) it leaves to argparse, which explains it."""
    from smapsfmt.triage import ps as ps_module

    parser = _full_parser()
    rng = random.Random(QUICK_SEED)
    taken = 0
    for case in range(400):
        words = [w for _ in range(rng.randint(0, 4)) for w in rng.choice(OPTION_WORDS)]
        quick = ps_module.quick_args(words)
        if quick is None:
            continue
        taken += 1
        full = parser.parse_args(["ps", *words])
        names = ("command", "format", "by", "sort", "top", "fields")
        got = {name: getattr(quick, name) for name in names}
        assert got == {name: getattr(full, name) for name in names}, (QUICK_SEED, case, words)
        assert quick.run is ps_module.run
    assert taken > 100, taken
    for words in (["--format", "json", "--top", "5", "--by", "user", "--sort", "Rss"], []):
        assert ps_module.quick_args(words) is not None, words
    declined = [
        ["--help"], ["-h"], ["--form", "json"], ["--top", "0"], ["--format", "yaml"],
        ["--format", "json", "--format", "csv"], ["--"], ["--sort", "-x"], ["--top"], ["x"],
    ]  # fmt: skip
    for words in declined:
        assert ps_module.quick_args(words) is None, words


def test_the_installed_script_starts_ps_with_neither_re_nor_argparse() -> None:
    """The installed ``smapsfmt`` script (bin/smapsfmt, not an entry point's wrapper, which
    imports re) runs ps on the interpreter's own modules: no re (nor enum), no argparse, no
    contextlib, no collections, no typing. What the interpreter loaded in its own start-up
    (site, and a coverage run's hook in it) is not the script's."""
    script = Path(sys.executable).with_name("smapsfmt")
    assert script.read_bytes().startswith(b"#!" + str(script.parent).encode())
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run([script, "ps"], capture_output=True, env=env, check=True)
    names = [line.rsplit("|", 1)[-1] for line in result.stderr.decode().splitlines()]
    site = max(i for i, name in enumerate(names) if name.strip() == "site")
    loaded = {name.strip() for name in names[site + 1 :]}
    assert "smapsfmt.triage.sweep" in loaded
    heavy = {"re", "enum", "argparse", "contextlib", "collections", "typing", "json", "csv"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_ps_as_a_process_of_its_own_ends_without_the_interpreters_teardown() -> None:
    """``python -m smapsfmt`` and the installed script end a ps process at once when it is done
    (its output flushed, its status kept), unless something waits for the interpreter's exit:
    an atexit function (a coverage run's data) runs, and so does the teardown. Other commands
    always get the teardown. An object held by __main__ says whether the teardown ran."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    code = (
        "import sys\nimport smapsfmt.__main__\n"
        "class Mark:\n    def __del__(self):\n        sys.stderr.write('teardown\\n')\n"
        "mark = Mark()\n{register}sys.argv = ['smapsfmt', *{argv!r}]\n"
        "smapsfmt.__main__.run_process()\n"
    )
    register = "import atexit\natexit.register(sys.stderr.write, 'atexit\\n')\n"
    for argv, atexit_function, status, ends in (
        (["ps"], False, 0, []),
        (["ps", "--format", "yaml"], False, 2, []),  # a usage error: its status is kept
        (["ps"], True, 0, ["atexit", "teardown"]),
        (["rules", "--format", "json"], False, 0, ["teardown"]),
    ):
        child = code.format(register=register if atexit_function else "", argv=argv)
        result = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, env=env,
            cwd=tempfile.gettempdir(), check=False,
        )  # fmt: skip
        assert result.returncode == status, (argv, result.stderr)
        if status == 0:  # the output was all written before the end
            assert result.stdout.endswith(")\n" if argv == ["ps"] else "]\n"), result.stdout
        else:
            assert result.stderr.startswith("smapsfmt: error: argument --format"), argv
        tail = [line for line in result.stderr.splitlines() if line in ("atexit", "teardown")]
        assert tail == ends, (argv, atexit_function, result.stderr)


def test_json_text_writes_what_json_dumps_writes() -> None:
    """ps's JSON is written without the json module: byte for byte what
    json.dumps(indent=1, ensure_ascii=False) writes, on seeded random data of every kind ps
    prints (and of kinds it leaves to json: floats, tuples, keys that are no str)."""
    import json as json_module

    from smapsfmt.triage.table import json_text

    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    letters = ["a", " ", '"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\udc80",
               "\U0001f600", "/", "{", ":"]  # fmt: skip

    def text() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randrange(6)))

    def value(depth: int) -> object:
        kinds = ["int", "str", "none", "bool"] + (["dict", "list"] * 2 if depth < 4 else [])
        kind = rng.choice(kinds + (["float", "tuple", "intkey"] if rng.random() < 0.05 else []))
        if kind == "dict":
            return {text(): value(depth + 1) for _ in range(rng.randrange(4))}
        if kind == "list":
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {
            "int": lambda: rng.randrange(-(1 << 70), 1 << 70), "str": text, "none": lambda: None,
            "bool": lambda: rng.random() < 0.5, "float": lambda: rng.random() * 1e6,
            "tuple": lambda: (1, "a"), "intkey": lambda: {1: "a"},
        }[kind]()  # fmt: skip

    for _ in range(3000):
        data = value(0)
        expected = json_module.dumps(data, indent=1, ensure_ascii=False) + "\n"
        assert json_text(data) == expected, (seed, data)


def test_the_process_layout_in_csv(isolated: list[subprocess.Popen[str]]) -> None:
    """CSV by process: pid, user, command and the columns, one row per process (a command
    with a comma or a newline quoted), then the total."""
    text = run_cli("ps", "--format", "csv").stdout.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["pid", "user", "command", *COLUMNS]
    assert rows[-1][:3] == ["", "", "TOTAL"]
    by_pid = {int(row[0]): row for row in rows[1:-1]}
    for proc in isolated:
        rollup = smapsfmt.read_rollup(proc.pid).fields
        _, user, command, rss, *_ = by_pid[proc.pid]
        assert (user, int(rss)) == ("root", rollup["Rss"])
        assert command.endswith(f"triage_target 300 {proc.args[2]} {proc.args[3]}")
    for index in range(3, 3 + len(COLUMNS)):
        assert int(rows[-1][index]) == sum(int(row[index]) for row in rows[1:-1]), index


def test_sorting_groups_by_their_own_name() -> None:
    """--by user --sort user (or cgroup by cgroup): the groups in the order of their names."""
    for by in ("user", "cgroup"):
        result = ps("--by", by, "--sort", by)
        groups = [row["group"] for row in result["rows"]]
        assert (result["sort"], groups) == ("group", sorted(groups)), by


def test_the_group_layouts_in_text_and_csv_add_up(isolated: list[subprocess.Popen[str]]) -> None:
    text = run_cli("ps", "--by", "user").stdout.decode().splitlines()
    assert text[0].split() == ["Procs", *COLUMNS, "User"]
    table = [line.split() for line in text[1:]]
    assert table[-1][-1] == "TOTAL"
    for index in range(1 + len(COLUMNS)):  # Procs and each column: the rows add up
        assert int(table[-1][index]) == sum(int(row[index]) for row in table[:-1]), index
    csv = run_cli("ps", "--by", "cgroup", "--format", "csv", "--top", "1").stdout.decode()
    lines = [line.split(",") for line in csv.splitlines()]
    assert lines[0] == ["cgroup", "processes", *COLUMNS]
    rows, total = lines[1:-1], lines[-1]
    assert total[0] == "TOTAL" and len(rows) in (1, 2), lines  # the top one, and the rest
    if len(rows) == 2:  # more than one cgroup on this machine (a container may have one)
        assert re.fullmatch(r"\(\d+ more cgroups\)", rows[1][0]), rows[1]
    for index in range(1, 2 + len(COLUMNS)):
        assert int(total[index]) == sum(int(row[index]) for row in rows), index


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sort", "nope"],
         "--sort: choose one of Rss, Pss, USS, Swap, SwapPss, pid, user, command, not 'nope'"),
        (["--by", "user", "--sort", "command"],
         "--sort: choose one of Rss, Pss, USS, Swap, SwapPss, group, not 'command'"),
        (["--fields", "Rss,Nope"], "--fields: smaps_rollup has no field 'Nope' here; its "
         "fields: Rss, Pss, "),
        # what quick_args leaves to argparse, which explains it
        (["--format", "json", "--format", "csv"], "argument --format: given more than once: "
         "it takes one value (see 'smapsfmt ps --help')"),
        (["--top", "0"],
         "argument --top: expected a whole number above 0, not '0' (see 'smapsfmt ps --help')"),
        (["--form", "yaml"], "argument --format: invalid choice: 'yaml' (choose from 'text', "
         "'json', 'csv') (see 'smapsfmt ps --help')"),
    ],
    ids=["sort", "sort-of-groups", "fields", "twice", "top-0", "abbreviated-bad-choice"],
)  # fmt: skip
def test_usage_errors(args: list[str], message: str) -> None:
    result = run_cli("ps", *args)
    assert (result.returncode, result.stdout) == (2, b"")
    said = result.stderr.decode()
    if args[0] == "--fields":  # then the fields this kernel prints, whichever they are
        assert said.startswith(f"smapsfmt: error: {message}"), said
    else:
        assert said == f"smapsfmt: error: {message}\n"
