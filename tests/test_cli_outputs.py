"""Every verb over the whole corpus, in text and JSON: the bytes do not depend on the hash seed,
and every JSON output is valid against the schema ``smapsfmt schema`` publishes for it."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES, ROOT, corpus, run_cli

Run = tuple[list[str], int, bytes, bytes]
SEEDS = ("1", "2")


def _argvs() -> list[list[str]]:
    """parse, validate and rollup of every input; check of every pair of the corpus (and of
    pairs that disagree); every schema."""
    inputs = corpus(FIXTURES)
    argvs = [
        [verb, "--format", form, str(path)]
        for path in inputs
        for verb in ("parse", "validate", "rollup")
        for form in ("text", "json")
    ]
    pairs = sorted(p.parent for p in inputs if p.name == "smaps_rollup")
    assert len(pairs) >= 10, pairs
    for rollup_dir in pairs:
        for smaps_dir in (rollup_dir, pairs[0]):  # its own smaps, and one it does not fit
            for form in ("text", "json"):
                argvs.append(
                    ["check", "--format", form, str(smaps_dir / "smaps"),
                     str(rollup_dir / "smaps_rollup")]
                )  # fmt: skip
    argvs.append(["schema", "--list"])
    argvs += [["schema", name] for name in _schema_names()]
    return argvs


def _schema_names() -> list[str]:
    listed = run_cli("schema", "--list")
    assert listed.returncode == 0, listed.stderr
    return [line.split()[0] for line in listed.stdout.decode().splitlines()]


def _documented_units() -> dict[str, str | None]:
    """Each numeric field of the ABI document (both files), with its ``:Unit:`` (None: "none")."""
    units: dict[str, str | None] = {}
    for name in ("procfs-smaps", "procfs-smaps_rollup"):
        text = (ROOT / "Documentation/ABI/testing" / name).read_text()
        for entry in text.split("\nWhat:")[1:]:
            what = entry.split("\n", 1)[0].strip()
            if ": " not in what:
                continue  # the file's own entry
            lines = [line.strip() for line in entry.splitlines()]
            if ":Value: decimal" in lines:
                unit = next(line.split()[1] for line in lines if line.startswith(":Unit:"))
                units[what.split(": ", 1)[1]] = None if unit == "none" else unit
    return units


@functools.cache
def _runs(seed: str) -> list[Run]:
    """All the runs, in one child interpreter under PYTHONHASHSEED=seed (tests/cli_driver.py)."""
    argvs = _argvs()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONHASHSEED"] = seed
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/cli_driver.py")], input=json.dumps(argvs).encode(),
        capture_output=True, check=False, cwd=tempfile.gettempdir(), env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return [
        (argv, code, out.encode("latin-1"), err.encode("latin-1"))
        for argv, (code, out, err) in zip(argvs, json.loads(result.stdout), strict=True)
    ]


def test_every_verb_prints_the_same_bytes_under_two_hash_seeds() -> None:
    first, second = (_runs(seed) for seed in SEEDS)
    differ = [run[0] for run, other in zip(first, second, strict=True) if run != other]
    assert not differ, f"PYTHONHASHSEED {SEEDS[0]} and {SEEDS[1]} differ for {differ[:5]}"
    assert {code for _, code, _, _ in first} >= {0, 1}  # valid and invalid inputs were run


def test_no_run_ends_in_an_internal_error() -> None:
    bad = [(argv, err) for argv, code, _, err in _runs(SEEDS[0]) if code not in (0, 1)]
    assert not bad, bad[:3]


@functools.cache
def _validator(name: str) -> Any:
    import jsonschema

    schema = json.loads(run_cli("schema", name).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_json_output_is_valid_against_its_schema() -> None:
    names = set(_schema_names())
    checked: dict[str, int] = {}
    for argv, code, out, _ in _runs(SEEDS[0]):
        if "json" not in argv:
            continue
        document = json.loads(out)  # every outcome is JSON, errors included
        name = "error" if isinstance(document, dict) and "error" in document else argv[0]
        assert name in names, argv
        errors = [e.message for e in _validator(name).iter_errors(document)]
        assert not errors, (argv, code, errors[:3])
        if name == "error":
            assert document["error"]["exit"] == code != 0, argv
        else:
            assert code == 0 or (argv[0] in ("check", "validate") and code == 1), argv
        checked[name] = checked.get(name, 0) + 1
    assert set(checked) >= {"parse", "rollup", "check", "validate", "error"}, checked
    assert checked["parse"] >= 60 and checked["check"] >= 20, checked


def test_text_mode_keeps_stdout_for_results() -> None:
    """A syntax error or a refusal goes to stderr; stdout is empty then."""
    for argv, code, out, err in _runs(SEEDS[0]):
        if "text" in argv and argv[0] in ("parse", "rollup") and code == 1:
            assert out == b"" and err, argv


def test_the_schemas_carry_the_units_of_the_abi_document() -> None:
    parse = json.loads(run_cli("schema", "parse").stdout)
    rollup = json.loads(run_cli("schema", "rollup").stdout)
    mapping = parse["$defs"]["Mapping"]["properties"]["fields"]["properties"]
    assert mapping["Rss"]["unit"] == "kB" and mapping["KernelPageSize"]["unit"] == "kB"
    assert mapping["THPeligible"]["unit"] is None and mapping["ProtectionKey"]["unit"] is None
    assert {n: f["unit"] for n, f in mapping.items()} == _documented_units()
    assert {f["unit"] for f in rollup["properties"]["fields"]["properties"].values()} == {"kB"}
    for name in _schema_names():
        schema = json.loads(run_cli("schema", name).stdout)
        # validate's output changed shape (an object per FILE, with its profile): version 2
        version = 2 if name == "validate" else 1
        assert schema["$id"] == f"urn:smapsfmt:schema:{name}:{version}"
        assert (schema["version"], schema["$schema"]) == (
            version, "https://json-schema.org/draft/2020-12/schema"
        )  # fmt: skip


def test_schema_list_names_each_schema_by_its_command() -> None:
    result = run_cli("schema", "--list")
    assert result.returncode == 0
    assert result.stdout.decode() == (
        "parse     smapsfmt parse --format json: a smaps or a smaps_rollup\n"
        "smaps     smapsfmt parse --format json of a smaps alone (the default)\n"
        "rollup    smapsfmt rollup --format json: the rollup a kernel prints\n"
        "check     smapsfmt check --format json: the verdict, the proof per field\n"
        "validate  smapsfmt validate --format json: the diagnostics of every FILE\n"
        "error     smapsfmt COMMAND --format json when any command fails\n"
        "selftest  smapsfmt selftest --format json: one object per check\n"
        "summary   smapsfmt summary --format json: one process's memory, object by object, and "
        "the totals\n"
        "ps        smapsfmt ps --format json: every process's memory, and the totals\n"
        "diff      smapsfmt diff --format json: what changed between two captures, object by "
        "object\n"
        "sample    smapsfmt sample --format json: one object per sample written\n"
        "export    smapsfmt export --format json: one object per FILE exported\n"
        "query     smapsfmt query --format json: one object per row\n"
    )
    unknown = run_cli("schema", "yaml")
    assert (unknown.returncode, unknown.stderr.decode()) == (
        2, "smapsfmt: error: no schema named 'yaml': choose from parse, smaps, rollup, check, "
        "validate, error, selftest, summary, ps, diff, sample, export, query (see 'smapsfmt "
        "schema --list')\n",
    )  # fmt: skip
    # `schema` alone and `schema smaps` print what `schema` printed before: parse's, of a smaps
    assert run_cli("schema").stdout == run_cli("schema", "smaps").stdout


@pytest.mark.parametrize("name", ["parse", "smaps"])
def test_a_parsed_capture_is_valid_and_a_wrong_one_is_not(name: str, tmp_path: Path) -> None:
    """The schema is not vacuous: a field of the wrong type is refused."""
    capture = FIXTURES / "valid/live/6.18/sleep/smaps"
    document = json.loads(run_cli("parse", "--format", "json", str(capture)).stdout)
    validator = _validator(name)
    assert not list(validator.iter_errors(document))
    document["mappings"][0]["fields"]["Rss"] = "1812 kB"
    assert list(validator.iter_errors(document))
