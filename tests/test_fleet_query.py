"""``smapsfmt query``: SQL on a dataset with DuckDB, its three output formats, its errors; and
the extras stay out of every other command and of ``import smapsfmt``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from support import CLI_IN_CHILD, ROOT, VALID, run_cli

from smapsfmt.fleet.queries import QUERIES
from smapsfmt.fleet.schema import ENGINE_TYPES, SCHEMA_VERSION, TABLES, markdown

SLEEP = VALID / "live/6.18/sleep"
QUERY = (
    "SELECT index, vm_start, perms, pathname, Rss, Pss_Dirty, vmflags, deleted, name "
    "FROM mappings WHERE index IN (0, 1, 36) ORDER BY index"
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("query") / "dataset"
    result = run_cli("export", str(SLEEP / "smaps"), "-o", str(folder), "--host", "h")
    assert result.returncode == 0, result.stderr.decode()
    return folder


def _query(*args: str) -> str:
    result = run_cli("query", *args)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_table(dataset: Path) -> None:
    """Numbers to the right, text to the left, NULL for null (an empty string is empty)."""
    assert _query(str(dataset), QUERY).splitlines() == [
        "index              vm_start  perms  pathname        Rss  Pss_Dirty  vmflags"
        "                         deleted  name",
        "-----  --------------------  -----  --------------  ---  ---------  "
        "------------------------------  -------  ----",
        '    0        93899484811264  r--p   /usr/bin/sleep    8          0  ["rd", "mr", '
        '"mw", "me"]        false    NULL',
        '    1        93899484819456  r-xp   /usr/bin/sleep   16          0  ["rd", "ex", '
        '"mr", "mw", "me"]  false    NULL',
        '   36  18446744073699065856  --xp   [vsyscall]        0          0  ["ex"]'
        "                          false    NULL",
        "(3 rows)",
    ]


def test_csv(dataset: Path) -> None:
    assert _query(str(dataset), QUERY, "--format", "csv").splitlines() == [
        "index,vm_start,perms,pathname,Rss,Pss_Dirty,vmflags,deleted,name",
        '0,93899484811264,r--p,/usr/bin/sleep,8,0,"[""rd"", ""mr"", ""mw"", ""me""]",false,',
        '1,93899484819456,r-xp,/usr/bin/sleep,16,0,"[""rd"", ""ex"", ""mr"", ""mw"", ""me""]",'
        "false,",
        '36,18446744073699065856,--xp,[vsyscall],0,0,"[""ex""]",false,',
    ]


def _valid(name: str, document: object) -> None:
    """``document`` is valid against ``smapsfmt schema NAME``."""
    import jsonschema

    schema = json.loads(run_cli("schema", name).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert not errors, errors[:3]


def test_json_keeps_64_bit_values_exact(dataset: Path) -> None:
    rows = json.loads(_query(str(dataset), QUERY, "--format", "json"))
    _valid("query", rows)
    assert rows[2] == {
        "index": 36, "vm_start": 0xFFFFFFFFFF600000, "perms": "--xp", "pathname": "[vsyscall]",
        "Rss": 0, "Pss_Dirty": 0, "vmflags": ["ex"], "deleted": False, "name": None,
    }  # fmt: skip
    assert [r["index"] for r in rows] == [0, 1, 36]


def test_values_of_other_sql_types_in_each_format(dataset: Path) -> None:
    """What SQL computes from the dataset (sums cast to DECIMAL, intervals, NaN, bytes,
    dates and times) in each format: JSON keeps a whole decimal a number and any other a
    string (exact), an interval in seconds, NaN as null, bytes in base64, dates and times in
    ISO 8601; CSV and the table print each as DuckDB writes it, bytes undecodable as \\x."""
    sql = (
        "SELECT sum(Rss)::DECIMAL(18,2) AS kb, (sum(Rss) / 37)::DECIMAL(18,3) AS mean, "
        "INTERVAL 90 MINUTE AS later, 'nan'::DOUBLE AS nothing, '\\xFF\\x41'::BLOB AS raw, "
        "DATE '2024-02-29' AS day, TIMESTAMP '2024-02-29 12:30:00' AS at FROM mappings"
    )
    rows = json.loads(_query(str(dataset), sql, "--format", "json"))
    _valid("query", rows)
    assert rows == [
        {"kb": 1812, "mean": "48.973", "later": 5400.0, "nothing": None, "raw": "/0E=",
         "day": "2024-02-29", "at": "2024-02-29T12:30:00"},
    ]  # fmt: skip
    assert _query(str(dataset), sql, "--format", "csv").splitlines() == [
        "kb,mean,later,nothing,raw,day,at",
        "1812.00,48.973,1:30:00,nan,\\xffA,2024-02-29,2024-02-29T12:30:00",
    ]
    assert _query(str(dataset), sql).splitlines() == [
        "     kb    mean  later    nothing  raw    day         at",
        "-------  ------  -------  -------  -----  ----------  -------------------",
        "1812.00  48.973  1:30:00      nan  \\xffA  2024-02-29  2024-02-29T12:30:00",
        "(1 row)",
    ]


def test_partitions_and_an_empty_table_are_views_too(tmp_path: Path, dataset: Path) -> None:
    sql = "SELECT host, typeof(date) AS t, count(*) AS n FROM mappings GROUP BY ALL"
    rows = json.loads(_query(str(dataset), sql, "--format", "json"))
    assert rows == [{"host": "h", "t": "DATE", "n": 37}]
    only_rollup = tmp_path / "rollup"
    assert run_cli("export", str(SLEEP / "smaps_rollup"), "-o", str(only_rollup)).returncode == 0
    sql = "SELECT count(*) AS n, count(vm_start) AS v FROM mappings"
    rows = json.loads(_query(str(only_rollup), sql, "--format", "json"))
    assert rows == [{"n": 0, "v": 0}]


def test_every_column_has_the_documented_duckdb_type(dataset: Path) -> None:
    for table, columns in TABLES.items():
        described = json.loads(_query(str(dataset), f"DESCRIBE {table}", "--format", "json"))
        got = {row["column_name"]: row["column_type"] for row in described}
        expected = {name: ENGINE_TYPES[kind][1] for name, kind, _ in columns}
        assert got == {**expected, "host": "VARCHAR", "date": "DATE"}, table


def test_the_documentation_shows_the_columns_and_queries() -> None:
    text = (ROOT / "docs/fleet.md").read_text(encoding="utf-8")
    assert markdown() in text
    for sql in QUERIES.values():
        assert f"```sql\n{sql.strip()}\n```" in text
    assert f"# The fleet dataset (schema version {SCHEMA_VERSION})" in text


def test_the_json_outputs_have_their_schemas(tmp_path: Path) -> None:
    listed = run_cli("schema", "--list").stdout.decode().splitlines()
    assert [line.split()[0] for line in listed if line.split()[0] in TABLES_OR_COMMANDS] == [
        "sample", "export", "query",
    ]  # fmt: skip
    result = run_cli(
        "export", str(SLEEP / "smaps"), str(SLEEP / "smaps_rollup"), "-o", str(tmp_path / "d"),
        "--format", "json",
    )  # fmt: skip
    exported = json.loads(result.stdout)
    _valid("export", exported)
    assert [e["kind"] for e in exported] == ["smaps", "smaps_rollup"]
    result = run_cli("sample", "-o", str(tmp_path / "d"), "--format", "json")
    _valid("sample", json.loads(result.stdout))
    bad = json.loads(result.stdout)
    bad[0]["processes"] = -1
    with pytest.raises(AssertionError):
        _valid("sample", bad)


TABLES_OR_COMMANDS = ("sample", "export", "query")


def test_errors(tmp_path: Path, dataset: Path) -> None:
    result = run_cli("query", str(tmp_path / "none"), "SELECT 1")
    assert (result.returncode, result.stderr.decode()) == (
        2, f"smapsfmt: error: {tmp_path / 'none'}: no such directory\n",
    )  # fmt: skip
    result = run_cli("query", str(tmp_path), "SELECT 1", "--format", "json")
    message = (
        f"{tmp_path}: not a dataset of smapsfmt (no samples/): make one with 'smapsfmt sample "
        "-o DIR' or 'smapsfmt export FILE... -o DIR'"
    )
    assert (result.returncode, result.stderr.decode()) == (2, f"smapsfmt: error: {message}\n")
    assert json.loads(result.stdout)["error"]["message"] == message
    result = run_cli("query", str(dataset), "SELEC 1", "--format", "json")
    assert result.returncode == 2
    assert result.stderr.decode().startswith(
        'smapsfmt: error: SQL: Parser Error: syntax error at or near "SELEC"'
    )
    error = json.loads(result.stdout)["error"]
    assert (error["kind"], error["exit"]) == ("usage", 2)
    assert error["message"].startswith("SQL: Parser Error")


def _without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        + CLI_IN_CHILD
        + "sys.exit(cli(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
        timeout=60, cwd=tempfile.gettempdir(),
    )  # fmt: skip


def test_a_missing_extra_is_named(tmp_path: Path, dataset: Path) -> None:
    result = _without("duckdb", "query", str(dataset), "SELECT 1")
    assert (result.returncode, result.stderr) == (
        2, "smapsfmt: error: smapsfmt query needs DuckDB: pip install 'smapsfmt[fleet]'\n",
    )  # fmt: skip
    needs = "smapsfmt: error: writing a dataset needs pyarrow: pip install 'smapsfmt[fleet]'\n"
    result = _without("pyarrow", "export", str(SLEEP / "smaps"), "-o", str(tmp_path / "d"))
    assert (result.returncode, result.stderr) == (2, needs)
    result = _without("pyarrow", "sample", "-o", str(tmp_path / "d"))
    assert (result.returncode, result.stderr) == (2, needs)
    assert not (tmp_path / "d").exists()


_LOADED = (
    """
import sys
{before}
"""
    + CLI_IN_CHILD.replace("{", "{{").replace("}", "}}")
    + """
code = cli(sys.argv[1:])
heavy = ("pyarrow", "duckdb", "pyspark", "py4j", "smapsfmt.fleet")
print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)
"""
)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["parse", str(SLEEP / "smaps")], ["validate", str(SLEEP / "smaps")],
     ["rollup", str(SLEEP / "smaps")], ["sample", "--help"]],
    ids=lambda a: " ".join(a[:1]) + (" --help" if a[-1] == "--help" else ""),
)  # fmt: skip
def test_other_commands_never_load_the_extras(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LOADED.format(before=""), *args], capture_output=True,
        text=True, check=False, timeout=60, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    # The fleet's command-line module only where its commands are parsed (--help lists every
    # command; sample's own): a command's parser is built alone (smapsfmt._cli.main).
    fleet = args[0] in ("--help", "sample")
    expected = "['smapsfmt.fleet', 'smapsfmt.fleet.cli']" if fleet else "[]"
    assert result.stderr.splitlines()[-1] == expected


def test_import_smapsfmt_loads_no_part_of_the_fleet() -> None:
    code = (
        "import sys, smapsfmt\n"
        "heavy = ('pyarrow', 'duckdb', 'pyspark', 'smapsfmt.fleet')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    assert result.stdout == "[]\n"
