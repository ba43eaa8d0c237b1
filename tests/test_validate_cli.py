"""``smapsfmt validate`` as a linter, and ``smapsfmt rules``: quiet, statistics, rule selection,
SARIF, colors, several files, unreadable files, the JSON Schema of the JSON output. Every case
runs the installed command line in a child process and pins its exact output."""

from __future__ import annotations

import ast
import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support import FIXTURES, ROOT, corpus, run_cli

INVALID_VALIDATE = FIXTURES / "invalid-validate"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SEVERAL = (
    "several-problems.smaps:51:1: syntax: not a smaps line: expected a mapping header "
    "'START-END PERMS OFFSET MAJOR:MINOR INODE [NAME]', a field line 'Name: VALUE kB', a "
    "VmFlags line or a Name line\n"
    "several-problems.smaps:52:36: syntax: expected a blank after the offset\n"
    "several-problems.smaps:107:22: smaps-pss-le-rss: Pss <= Rss does not hold: Pss = 999, "
    "Rss = 4\n"
    "several-problems.smaps: smaps, 4 mappings: 3 errors, 0 warnings; profile Linux 6.6-7.3 "
    "(matched)\n"
)
UNKNOWN = (
    "unknown-field.smaps:48:1: unknown-field (warning): 'FooBar:' is not a field of the ABI "
    "document (a vendor field?); Linux 6.6-7.3 does not print it\n"
    "unknown-field.smaps: smaps, 3 mappings: 0 errors, 1 warning; profile Linux 6.6-7.3 "
    "(matched)\n"
)
PSS = (
    "pss-gt-rss.smaps:31:23: smaps-pss-le-rss: Pss <= Rss does not hold: Pss = 20, Rss = 16\n"
    "pss-gt-rss.smaps: smaps, 3 mappings: 1 error, 0 warnings; profile Linux 6.6-7.3 "
    "(matched)\n"
)


def validate(*args: str, cwd: Path = INVALID_VALIDATE) -> subprocess.CompletedProcess[bytes]:
    return run_cli("validate", *args, cwd=cwd)


def text(result: subprocess.CompletedProcess[bytes]) -> tuple[int, str, str]:
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def diagnostics(stdout: bytes) -> list[dict[str, Any]]:
    """Every diagnostic of ``--format json``, FILE after FILE."""
    return [d for file in json.loads(stdout)["files"] for d in file["diagnostics"]]


# --- several files, and a file that cannot be read -------------------------------------------


def test_several_files_end_with_a_total_line() -> None:
    assert text(validate("several-problems.smaps", "unknown-field.smaps", "pss-gt-rss.smaps")) == (
        1,
        SEVERAL
        + UNKNOWN
        + PSS
        + "3 files: 1 valid, 2 invalid, 0 unreadable; 4 errors, 1 warning\n",
        "",
    )


def test_one_file_has_no_total_line() -> None:
    assert text(validate("pss-gt-rss.smaps")) == (1, PSS, "")


def test_an_unreadable_file_does_not_lose_the_others() -> None:
    assert text(validate("unknown-field.smaps", "missing.smaps", "pss-gt-rss.smaps")) == (
        2,
        UNKNOWN + PSS + "3 files: 1 valid, 1 invalid, 1 unreadable; 1 error, 1 warning\n",
        "smapsfmt: error: cannot read missing.smaps: No such file or directory\n",
    )


def test_json_reports_an_unreadable_file_and_keeps_the_others() -> None:
    result = validate("--format", "json", "missing.smaps", "pss-gt-rss.smaps")
    assert result.returncode == 2
    assert (
        result.stderr == b"smapsfmt: error: cannot read missing.smaps: No such file or directory\n"
    )
    output = json.loads(result.stdout)
    assert diagnostics(result.stdout) == [
        {
            "path": "missing.smaps",
            "line": 1,
            "column": 1,
            "rule": "io-error",
            "severity": "error",
            "message": "cannot read missing.smaps: No such file or directory",
        },
        {
            "path": "pss-gt-rss.smaps",
            "line": 31,
            "column": 23,
            "rule": "smaps-pss-le-rss",
            "severity": "error",
            "message": "Pss <= Rss does not hold: Pss = 20, Rss = 16",
        },
    ]
    # Each FILE with its summary line's facts: an unreadable one has no profile.
    assert [{k: v for k, v in f.items() if k != "diagnostics"} for f in output["files"]] == [
        {"path": "missing.smaps", "status": "unreadable", "kind": None, "mappings": None,
         "errors": 1, "warnings": 0, "profile": None},
        {"path": "pss-gt-rss.smaps", "status": "invalid", "kind": "smaps", "mappings": 3,
         "errors": 1, "warnings": 0, "profile": "profile Linux 6.6-7.3 (matched)"},
    ]  # fmt: skip
    jsonschema.validate(output, _validate_schema())


def test_closed_standard_input_is_an_unreadable_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", "validate", "--format=json", "pss-gt-rss.smaps", "-"],
        stdin=subprocess.DEVNULL, capture_output=True, cwd=INVALID_VALIDATE, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        preexec_fn=lambda: os.close(0), check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == b"smapsfmt: error: cannot read <stdin>: standard input is closed\n"
    assert [(d["path"], d["rule"]) for d in diagnostics(result.stdout)] == [
        ("pss-gt-rss.smaps", "smaps-pss-le-rss"),
        ("<stdin>", "io-error"),
    ]


def test_a_directory_is_unreadable_too() -> None:
    code, out, err = text(validate("--format", "json", str(INVALID_VALIDATE)))
    assert code == 2
    assert err == f"smapsfmt: error: cannot read {INVALID_VALIDATE}: Is a directory\n"
    assert [d["rule"] for d in diagnostics(out.encode())] == ["io-error"]


# --- --quiet ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "code", "stderr"),
    [
        (["pss-gt-rss.smaps"], 1, ""),
        (["unknown-field.smaps"], 0, ""),
        (["unknown-field.smaps", "pss-gt-rss.smaps"], 1, ""),
        (["unknown-field.smaps", "missing.smaps"], 2,
         "smapsfmt: error: cannot read missing.smaps: No such file or directory\n"),
    ],
)  # fmt: skip
def test_quiet_says_it_with_the_exit_status_only(files: list[str], code: int, stderr: str) -> None:
    assert text(validate("--quiet", *files)) == (code, "", stderr)
    assert text(validate("-q", *files)) == (code, "", stderr)


def test_quiet_with_strict_fails_on_a_warning() -> None:
    assert text(validate("-q", "--strict", "unknown-field.smaps")) == (1, "", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quiet", "--statistics"], "--quiet prints nothing: it cannot go with --statistics"),
        (["--quiet", "--format", "json"],
         "--quiet prints nothing: it cannot go with --format json"),
        (["--quiet", "--format", "sarif"],
         "--quiet prints nothing: it cannot go with --format sarif"),
        (["--statistics", "--format", "sarif"],
         "--statistics has no SARIF form: use --format text or json"),
    ],
)  # fmt: skip
def test_options_that_cannot_go_together(args: list[str], message: str) -> None:
    code, out, err = text(validate(*args, "pss-gt-rss.smaps"))
    assert (code, err) == (2, f"smapsfmt: error: {message}\n")
    if "json" in args:  # every outcome of --format json is JSON, a usage error too
        assert json.loads(out)["error"] == {
            "kind": "usage", "rule": None, "path": None, "line": None, "column": None,
            "message": message, "exit": 2,
        }  # fmt: skip
    else:
        assert out == ""


# --- --statistics -------------------------------------------------------------------------------


def test_statistics_count_each_rule_over_all_files() -> None:
    result = validate(
        "--statistics", "several-problems.smaps", "unknown-field.smaps", "pss-gt-rss.smaps"
    )
    assert text(result) == (
        1,
        "2  smaps-pss-le-rss  each smaps entry: Pss <= Rss\n"
        "2  syntax            the text is not in the grammar's language (grammar/smaps.lark)\n"
        "1  unknown-field     a field the ABI document does not describe, or a vendor field "
        "the kernel of the profile does not print\n",
        "",
    )


def test_statistics_of_a_valid_file_print_nothing() -> None:
    assert text(validate("--statistics", str(FIXTURES / "valid/live/6.18/sleep/smaps"))) == (
        0,
        "",
        "",
    )


def test_statistics_in_json() -> None:
    result = validate("--statistics", "--format", "json", "missing.smaps", "pss-gt-rss.smaps")
    assert result.returncode == 2
    output = json.loads(result.stdout)
    assert output == [
        {"rule": "io-error", "count": 1,
         "description": "a FILE cannot be read (reported whatever the selection)"},
        {"rule": "smaps-pss-le-rss", "count": 1, "description": "each smaps entry: Pss <= Rss"},
    ]  # fmt: skip
    jsonschema.validate(output, _validate_schema())


# --- --select and --ignore ----------------------------------------------------------------------


def test_select_and_ignore_choose_the_rules_reported() -> None:
    files = ("several-problems.smaps", "pss-gt-rss.smaps")
    only_pss = (
        "several-problems.smaps:107:22: smaps-pss-le-rss: Pss <= Rss does not hold: Pss = 999, "
        "Rss = 4\n"
        "several-problems.smaps: smaps, 4 mappings: 1 error, 0 warnings; profile Linux "
        "6.6-7.3 (matched)\n"
        + PSS
        + "2 files: 0 valid, 2 invalid, 0 unreadable; 2 errors, 0 warnings\n"
    )
    for args in (
        ["--select", "smaps-pss-le-rss"],
        ["--select", "smaps-pss"],  # a prefix of whole words
        ["--select", "smaps"],
        ["--ignore", "syntax"],
        ["--ignore", "syntax,layout", "--ignore", "unknown-field"],
    ):
        assert text(validate(*args, *files)) == (1, only_pss, ""), args


def test_select_is_repeatable_and_takes_a_list() -> None:
    files = ("several-problems.smaps", "unknown-field.smaps")
    one = text(validate("--select", "syntax", "--select", "unknown-field", *files))
    other = text(validate("--select", "syntax,unknown-field", *files))
    assert one == other
    assert one[0] == 1
    assert "smaps-pss-le-rss" not in one[1]
    assert one[1].count(": syntax: ") == 2
    assert one[1].count(": unknown-field (warning): ") == 1


def test_ignore_wins_over_select_and_a_file_without_selected_errors_is_valid() -> None:
    assert text(
        validate("--select", "smaps-pss", "--ignore", "smaps-pss-le-rss", "pss-gt-rss.smaps")
    ) == (
        0,
        "pss-gt-rss.smaps: smaps, 3 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 "
        "(matched)\n",
        "",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "nope"], "--select: unknown rule 'nope' (see 'smapsfmt rules')"),
        (["--ignore", "syntax,smaps-pss-le-rs"],
         "--ignore: unknown rule 'smaps-pss-le-rs'; did you mean 'smaps-pss-le-rss'? "
         "(see 'smapsfmt rules')"),
        (["--select", "smaps-ps"], "--select: unknown rule 'smaps-ps'; did you mean 'smaps-pss'? "
         "(see 'smapsfmt rules')"),
        (["--select", "syntax,"], "--select: an empty rule name in 'syntax,'"),
    ],
)  # fmt: skip
def test_an_unknown_rule_is_a_usage_error(args: list[str], message: str) -> None:
    assert text(validate(*args, "pss-gt-rss.smaps")) == (2, "", f"smapsfmt: error: {message}\n")


def test_an_unreadable_file_is_reported_whatever_the_selection() -> None:
    result = validate("--format", "json", "--select", "syntax", "missing.smaps")
    assert result.returncode == 2
    assert [d["rule"] for d in diagnostics(result.stdout)] == ["io-error"]


# --- smapsfmt rules -----------------------------------------------------------------------------


def _rules() -> list[dict[str, str]]:
    """The rules as ``smapsfmt rules --format json`` lists them, in order."""
    result = run_cli("rules", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, str]] = json.loads(result.stdout)
    return listed


def test_rules_lists_every_rule_with_its_line() -> None:
    code, out, err = text(run_cli("rules"))
    assert (code, err) == (0, "")
    width = max(len(r["id"]) for r in _rules())
    assert out == "".join(
        f"{r['id']:<{width}}  {r['severity']:<7}  {r['description']}\n" for r in _rules()
    )
    assert out.startswith(
        "syntax                        error    the text is not in the grammar's language "
        "(grammar/smaps.lark)\n"
    )
    assert (
        "snapshot-inconsistent         warning  each smaps entry: start >= prev.end or end <= "
        "prev.start\n" in out
    )


def test_rules_of_a_prefix_and_in_json() -> None:
    assert text(run_cli("rules", "smaps-pss")) == (
        0,
        "smaps-pss-le-rss      error    each smaps entry: Pss <= Rss\n"
        "smaps-pss-ge-private  error    each smaps entry: Pss >= Private_Clean + Private_Dirty "
        "(kernels ..6.13)\n"
        "smaps-pss-dirty       error    each smaps entry: Pss_Dirty <= Pss and Pss_Dirty <= "
        "Shared_Dirty + Private_Dirty\n",
        "",
    )
    result = run_cli("rules", "value-range", "unknown-vmflag", "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == [
        {"id": "unknown-vmflag", "kind": "layout", "severity": "warning",
         "description": "a VmFlags mnemonic that the kernels of the profile do not print",
         "kernels": "all", "source": "kernel/*.profile"},
        {"id": "value-range", "kind": "semantics", "severity": "error",
         "description": "each smaps entry and the smaps_rollup entry: max_kB <= 18014398509481983",
         "kernels": "all",
         "source": "Documentation/ABI/testing/procfs-smaps:133, "
         "Documentation/ABI/testing/procfs-smaps_rollup:77"},
    ]  # fmt: skip
    assert text(run_cli("rules", "nope")) == (
        2, "", "smapsfmt: error: unknown rule 'nope' (see 'smapsfmt rules')\n"
    )  # fmt: skip


def _rule_constants(tree: ast.Module) -> dict[str, str]:
    """The module-level ``NAME = "rule-id"`` constants of the validator."""
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.isupper()
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and re.fullmatch(r"[a-z][a-z0-9-]*", node.value.value)
        ):
            found[node.targets[0].id] = node.value.value
    return found


def _documented_rules() -> set[str]:
    """The ids in the first column of every table of docs/rules.md whose first column is
    'rule'."""
    found: set[str] = set()
    in_rule_table = False
    for line in (ROOT / "docs" / "rules.md").read_text().splitlines():
        if not line.startswith("|"):
            in_rule_table = False
            continue
        first = line.split("|")[1].strip()
        if first == "rule":
            in_rule_table = True
        elif in_rule_table and not set(first) <= {"-", " "}:
            found.update(re.findall(r"`([a-z][a-z0-9-]*)`", first))
    return found


def test_every_rule_the_code_emits_is_listed_and_documented() -> None:
    listed = [r["id"] for r in _rules()]
    invariants = {
        found
        for name in ("procfs-smaps", "procfs-smaps_rollup")
        for found in re.findall(
            r"^\s*:Invariant ([a-z0-9-]+):",
            (ROOT / "Documentation/ABI/testing" / name).read_text(),
            re.MULTILINE,
        )
    }
    # The validator's own rules: every rule listed but the ABI document's invariants and
    # the unreadable input's io-error.
    own = set(listed) - invariants - {"io-error"}
    assert len(listed) == len(set(listed)), "a rule is listed twice"
    # Every module of the validator's package but the catalogue, as one tree.
    tree = ast.Module(body=[], type_ignores=[])
    for module in sorted((ROOT / "smapsfmt" / "_validate").glob("*.py")):
        if module.name == "rules.py":
            continue
        tree.body.extend(ast.parse(module.read_text()).body)
    constants = _rule_constants(tree)
    # Every rule constant of the validator has its line, and nothing else has one.
    assert set(constants.values()) == own
    # The validator reports a rule through a constant or an invariant's id, never a literal.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add"
            and len(node.args) >= 3
        ):
            rule = node.args[2]
            assert not isinstance(rule, ast.Constant), f"line {node.lineno}: a literal rule"
            if isinstance(rule, ast.Name) and rule.id.isupper():
                assert rule.id in constants, f"line {node.lineno}: {rule.id}"
    assert set(listed) == own | invariants | {"io-error"}
    documented = _documented_rules()
    assert documented - set(listed) == set(), "documented in docs/rules.md but never reported"
    assert set(listed) - documented == set(), "reported but not in docs/rules.md"


def test_every_rule_the_corpus_shows_is_listed() -> None:
    inputs = [
        str(p)
        for part in ("valid", "invalid", "invalid-validate")
        for p in corpus(FIXTURES / part)
    ]
    result = run_cli("validate", "--statistics", "--format", "json", *inputs)
    assert result.returncode == 1, result.stderr
    seen = {row["rule"] for row in json.loads(result.stdout)}
    assert len(seen) > 20
    assert seen <= {r["id"] for r in _rules()}


# --- --format sarif -----------------------------------------------------------------------------


def _sarif_check(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


def test_sarif_of_the_corpus_is_valid_sarif_2_1_0() -> None:
    inputs = [*corpus(FIXTURES / "valid"), *corpus(INVALID_VALIDATE)]
    result = run_cli("validate", "--format", "sarif", *map(str, inputs), "missing.smaps")
    assert result.returncode == 2
    log = json.loads(result.stdout)
    _sarif_check(log)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "smapsfmt"
    assert [r["id"] for r in driver["rules"]] == [r["id"] for r in _rules()]
    assert run["invocations"] == [{"executionSuccessful": False}]
    uris = {
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for res in run["results"]
    }
    assert f"file://{INVALID_VALIDATE}/pss-gt-rss.smaps" in uris
    assert "missing.smaps" in uris
    assert len(run["results"]) > 40
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning")


def test_sarif_pins_a_result() -> None:
    result = validate("--format", "sarif", "pss-gt-rss.smaps", "unknown-field.smaps")
    assert result.returncode == 1
    log = json.loads(result.stdout)
    _sarif_check(log)
    assert log["$schema"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    index = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert results == [
        {
            "ruleId": "smaps-pss-le-rss",
            "level": "error",
            "message": {"text": "Pss <= Rss does not hold: Pss = 20, Rss = 16"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "pss-gt-rss.smaps"},
                        "region": {"startLine": 31, "startColumn": 23},
                    }
                }
            ],
            "ruleIndex": index.index("smaps-pss-le-rss"),
        },
        {
            "ruleId": "unknown-field",
            "level": "warning",
            "message": {
                "text": "'FooBar:' is not a field of the ABI document (a vendor field?); "
                "Linux 6.6-7.3 does not print it"
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "unknown-field.smaps"},
                        "region": {"startLine": 48, "startColumn": 1},
                    }
                }
            ],
            "ruleIndex": index.index("unknown-field"),
        },
    ]
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_sarif_uri_of_a_name_with_blanks_and_of_stdin(tmp_path: Path) -> None:
    odd = tmp_path / "a b%.smaps"
    odd.write_bytes((INVALID_VALIDATE / "pss-gt-rss.smaps").read_bytes())
    result = run_cli("validate", "--format", "sarif", odd.name, "-", cwd=tmp_path,
                     stdin=(INVALID_VALIDATE / "pss-gt-rss.smaps").read_bytes())  # fmt: skip
    log = json.loads(result.stdout)
    _sarif_check(log)
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    ]
    assert uris == ["a%20b%25.smaps", "%3Cstdin%3E"]


def test_the_sarif_check_rejects_a_broken_log() -> None:
    """The schema check can fail: a result without a message is not SARIF."""
    log = json.loads(validate("--format", "sarif", "pss-gt-rss.smaps").stdout)
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        _sarif_check(log)


# --- --color ------------------------------------------------------------------------------------


def test_color_always_only_decorates() -> None:
    files = ("several-problems.smaps", "unknown-field.smaps", "missing.smaps")
    plain = validate("--color", "never", *files)
    colored = validate("--color", "always", *files)
    assert plain.returncode == colored.returncode == 2
    assert b"\x1b[" not in plain.stdout
    out = colored.stdout.decode()
    assert ANSI.sub("", out) == plain.stdout.decode()
    assert out.startswith("\x1b[1mseveral-problems.smaps:51:1:\x1b[0m \x1b[31msyntax\x1b[0m: not")
    assert (
        "\x1b[1munknown-field.smaps:48:1:\x1b[0m \x1b[33munknown-field (warning)\x1b[0m: 'FooBar:'"
        in out
    )
    assert (
        "\x1b[1mseveral-problems.smaps:\x1b[0m smaps, 4 mappings: \x1b[31m3 errors\x1b[0m, "
        "0 warnings; profile" in out
    )
    assert out.endswith(
        "3 files: 1 valid, \x1b[31m1 invalid\x1b[0m, \x1b[31m1 unreadable\x1b[0m; "
        "\x1b[31m3 errors\x1b[0m, \x1b[33m1 warning\x1b[0m\n"
    )
    assert colored.stderr == plain.stderr


def test_color_always_pins_every_escape() -> None:
    assert text(validate("--color", "always", "pss-gt-rss.smaps")) == (
        1,
        "\x1b[1mpss-gt-rss.smaps:31:23:\x1b[0m \x1b[31msmaps-pss-le-rss\x1b[0m: Pss <= Rss does "
        "not hold: Pss = 20, Rss = 16\n"
        "\x1b[1mpss-gt-rss.smaps:\x1b[0m smaps, 3 mappings: \x1b[31m1 error\x1b[0m, 0 warnings; "
        "profile Linux 6.6-7.3 (matched)\n",
        "",
    )


def _on_a_terminal(*args: str, env: dict[str, str]) -> bytes:
    """The standard output of the command line when it is a terminal."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NO_COLOR")}
    environ.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "smapsfmt", *args], stdout=slave, stderr=subprocess.DEVNULL,
        cwd=INVALID_VALIDATE, env=environ,
    )  # fmt: skip
    os.close(slave)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, "no output from the command line within 60 s"
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert process.wait(timeout=60) == 1
    return output.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    ("args", "env", "colored"),
    [
        ([], {"TERM": "xterm"}, True),
        ([], {"TERM": "xterm", "NO_COLOR": "1"}, False),
        ([], {"TERM": "xterm", "NO_COLOR": ""}, True),  # no-color.org: set and not empty
        ([], {"TERM": "dumb"}, False),
        (["--color", "never"], {"TERM": "xterm"}, False),
        (["--color", "always"], {"TERM": "xterm", "NO_COLOR": "1"}, True),  # the option wins
    ],
)  # fmt: skip
def test_color_auto_on_a_terminal(args: list[str], env: dict[str, str], colored: bool) -> None:
    out = _on_a_terminal("validate", *args, "pss-gt-rss.smaps", env=env)
    assert (b"\x1b[" in out) is colored
    assert ANSI.sub("", out.decode()) == PSS


def test_color_auto_into_a_pipe_is_plain() -> None:
    assert text(validate("pss-gt-rss.smaps")) == (1, PSS, "")


# --- the JSON Schema of validate --format json --------------------------------------------------


def _validate_schema() -> dict[str, Any]:
    result = run_cli("schema", "validate")
    assert result.returncode == 0, result.stderr
    schema: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _undescribed(node: Any, where: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if not isinstance(sub, dict) or not sub.get("description"):
                found.append(f"{where}.{name}")
        for key, sub in node.items():
            found += _undescribed(sub, f"{where}.{key}")
    elif isinstance(node, list):
        for n, sub in enumerate(node):
            found += _undescribed(sub, f"{where}[{n}]")
    return found


def test_the_schema_has_an_id_a_version_and_describes_every_property() -> None:
    schema = _validate_schema()
    # Version 2: an object per FILE, with its profile (version 1 was an array of diagnostics).
    assert schema["$id"] == "urn:smapsfmt:schema:validate:2"
    assert schema["version"] == 2
    assert _undescribed(schema, "") == []
    # The schema can fail: a diagnostic without a rule, an unknown severity.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"path": "x", "line": 1, "column": 1, "severity": "error",
                              "message": "m"}], schema)  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"path": "x", "line": 1, "column": 1, "rule": "r",
                              "severity": "fatal", "message": "m"}], schema)  # fmt: skip
    file = {
        "path": "x",
        "status": "valid",
        "kind": "smaps",
        "mappings": 1,
        "errors": 0,
        "warnings": 0,
        "profile": "profile Linux 6.6-7.3 (matched)",
        "diagnostics": [],
    }
    jsonschema.validate({"files": [file]}, schema)
    for broken in (
        {**file, "status": "fine"},
        {**file, "profile": 6},
        {k: v for k, v in file.items() if k != "profile"},
        {
            **file,
            "diagnostics": [
                {
                    "path": "x",
                    "line": 0,
                    "column": 1,
                    "rule": "r",
                    "severity": "error",
                    "message": "m",
                }
            ],
        },
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"files": [broken]}, schema)


def test_the_json_output_of_the_corpus_fits_the_schema() -> None:
    schema = _validate_schema()
    inputs = [
        *corpus(FIXTURES / "valid"),
        *corpus(INVALID_VALIDATE),
        *corpus(FIXTURES / "invalid"),
    ]
    result = run_cli("validate", "--format", "json", *map(str, inputs))
    assert result.returncode == 1, result.stderr
    output = json.loads(result.stdout)
    assert len(diagnostics(result.stdout)) > 40
    assert len(output["files"]) == len(inputs)
    jsonschema.validate(output, schema)


# --- the README's examples are real output ------------------------------------------------------


def test_the_readme_examples_of_validate_are_real() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```\n\$ (smapsfmt (?:validate|rules) [^\n]*)\n(.*?)```", readme, re.S)
    assert len(blocks) >= 3
    for command, shown in blocks:
        result = run_cli(*command.split()[1:], cwd=INVALID_VALIDATE)
        lines = shown.splitlines(keepends=True)
        errors = "".join(line for line in lines if line.startswith("smapsfmt: error: "))
        output = "".join(line for line in lines if not line.startswith("smapsfmt: error: "))
        assert (result.stdout.decode(), result.stderr.decode()) == (output, errors), command


def test_help_documents_every_option() -> None:
    code, out, err = text(run_cli("validate", "--help"))
    assert (code, err) == (0, "")
    flat = " ".join(out.split())
    for option in ("--format {text,json,sarif}", "-q, --quiet", "--statistics",
                   "--select RULE[,RULE...]", "--ignore RULE[,RULE...]",
                   "--color {auto,always,never}", "NO_COLOR", "a prefix of whole words",
                   "2 usage error or a FILE could not be read"):  # fmt: skip
        assert option in flat, option
    code, out, err = text(run_cli("rules", "--help"))
    assert (code, err) == (0, "")
    assert "--format {text,json}" in out
