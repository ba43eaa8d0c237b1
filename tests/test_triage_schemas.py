"""The JSON outputs of summary, ps and diff are valid against the schemas ``smapsfmt schema``
publishes for them: on every capture of the corpus (in one child interpreter,
tests/cli_driver.py), on live processes, and for their error objects."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import triage_targets
from support import FIXTURES, ROOT, VALID, corpus, is_rollup, run_cli

SMAPS = [p for p in corpus(VALID) if not is_rollup(p)]
ROLLUPS = [p for p in corpus(VALID) if is_rollup(p)]
PAIRS = sorted(p.parent for p in VALID.rglob("smaps_rollup") if (p.parent / "smaps").exists())


@functools.cache
def validator(name: str) -> Any:
    import jsonschema

    result = run_cli("schema", name)
    assert result.returncode == 0, result.stderr.decode()
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:smapsfmt:schema:{name}:1"
    return jsonschema.Draft202012Validator(schema)


def errors(name: str, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(document)]


def _argvs() -> list[list[str]]:
    """summary of every capture of the corpus (valid and not); with --top, --fields, --sort and
    a rollup beside its smaps; diff of each smaps with the next, with --top and --all."""
    argvs = [["summary", "--format", "json", str(p)] for p in corpus(FIXTURES)]
    for pair in PAIRS:
        argvs.append(
            ["summary", "--format", "json", "--top", "3", "--fields", "Anonymous", "--rollup",
             str(pair / "smaps_rollup"), str(pair / "smaps")]
        )  # fmt: skip
    argvs += [["summary", "--format", "json", "--sort", "object", str(p)] for p in ROLLUPS[:5]]
    for before, after in itertools.pairwise(SMAPS):
        argvs.append(["diff", "--format", "json", str(before), str(after)])
    for before, after in zip(SMAPS[::7], SMAPS[3::7], strict=False):
        argvs.append(["diff", "--format", "json", "--top", "2", "--all", str(before), str(after)])
        argvs.append(["diff", "--format", "json", "--sort", "object", str(after), str(before)])
    return argvs


@functools.cache
def corpus_runs() -> list[tuple[list[str], int, Any]]:
    argvs = _argvs()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/cli_driver.py")], input=json.dumps(argvs).encode(),
        capture_output=True, check=False, cwd=tempfile.gettempdir(), env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    runs = []
    for argv, (code, out, _) in zip(argvs, json.loads(result.stdout), strict=True):
        runs.append((argv, code, json.loads(out.encode("latin-1"))))
    return runs


def test_every_summary_and_diff_of_the_corpus_is_valid_against_its_schema() -> None:
    seen: dict[str, int] = {}
    shapes: set[str] = set()
    for argv, code, document in corpus_runs():
        name = "error" if "error" in document else argv[0]
        problems = errors(name, document)
        assert not problems, (argv, problems[:3])
        if name == "error":
            assert code == document["error"]["exit"] != 0, argv
        else:
            assert code == 0, argv
            if name == "summary":
                kernel = document["total"]["kernel"]
                shapes.add(f"{document['kind']} {kernel and kernel['source']}")
                shapes.add("other" if document["other"] else "no other")
            else:
                shapes.update(row["change"] for row in document["rows"])
        seen[name] = seen.get(name, 0) + 1
    assert seen["summary"] >= len(SMAPS) and seen["diff"] >= len(SMAPS) - 1, seen
    assert seen.get("error", 0) >= 10, seen  # the invalid captures: the error object
    assert shapes >= {
        "smaps interval", "smaps smaps_rollup", "rollup smaps_rollup", "other", "no other",
        "grew", "shrank", "appeared", "gone", "same",
    }, shapes  # fmt: skip


def test_the_schemas_refuse_what_the_commands_never_print() -> None:
    """Each schema can fail: a row without its object, a negative amount, a kernel value from
    nowhere, an unknown change, a ps row that is neither a process nor a group."""
    summary = next(d for a, c, d in corpus_runs() if a[0] == "summary" and "error" not in d)
    diff = next(d for a, c, d in corpus_runs() if a[0] == "diff" and d["rows"])
    broken: list[tuple[str, Any]] = []
    for change in ("drop object", "negative", "kernel source", "string amount"):
        document = copy.deepcopy(summary)
        row = document["rows"][0]
        if change == "drop object":
            del row["object"]
        elif change == "negative":
            row["Rss"] = -1
        elif change == "kernel source":
            document["total"]["kernel"] = {"source": "guess", "path": None}
        else:
            row["Pss"] = "12"
        broken.append(("summary", document))
    document = copy.deepcopy(diff)
    document["rows"][0]["change"] = "moved"
    broken.append(("diff", document))
    document = copy.deepcopy(diff)
    del document["total"]
    broken.append(("diff", document))
    ps = {
        "by": "process", "columns": ["Rss"], "sort": "Rss", "other": None,
        "rows": [{"pid": 1, "Rss": 4}], "total": {"processes": 1, "Rss": 4},
        "kernel_threads": 0, "summed_from_smaps": False, "skipped": [],
    }  # fmt: skip
    broken.append(("ps", ps))
    for name, document in broken:
        assert errors(name, document), (name, document)


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = triage_targets.start(30, tmp_path / "backing", kib=1024)
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _json(*args: str) -> Any:
    result = run_cli(*args, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_ps_of_this_machine_is_valid_against_its_schema(stopped: subprocess.Popen[str]) -> None:
    for args in (
        ("ps",),
        ("ps", "--top", "3", "--fields", "Anonymous,Pss_File"),
        ("ps", "--by", "user"),
        ("ps", "--by", "cgroup", "--top", "1"),
        ("ps", "--sort", "command"),
    ):
        document = _json(*args)
        assert not errors("ps", document), (args, errors("ps", document)[:3])
        if args == ("ps",):
            assert stopped.pid in {row["pid"] for row in document["rows"]}
            assert document["kernel_threads"] >= 1


def test_summary_and_diff_of_a_live_process_are_valid(stopped: subprocess.Popen[str]) -> None:
    pid = str(stopped.pid)
    summary = _json("summary", "--pid", pid, "--top", "2")
    assert summary["total"]["kernel"]["source"] == "smaps_rollup"
    assert not errors("summary", summary), errors("summary", summary)[:3]
    os.kill(stopped.pid, signal.SIGCONT)
    diff = _json("diff", "--pid", pid, "--interval", "0.2", "--all")
    assert diff["before"]["pid"] == diff["after"]["pid"] == stopped.pid
    assert diff["before"]["time"] is not None
    assert not errors("diff", diff), errors("diff", diff)[:3]


def test_a_failure_of_each_command_is_the_error_object() -> None:
    missing = "/nonexistent/smaps"
    for argv in (
        ["summary", missing],
        ["diff", missing, missing],
        ["ps", "--sort", "nothing"],
        ["summary", "--pid", "999999999"],
    ):
        result = run_cli(*argv, "--format", "json")
        document = json.loads(result.stdout)
        assert result.returncode == document["error"]["exit"] != 0, argv
        assert not errors("error", document), argv
