"""smapsfmt diff: two captures, or a live process over an interval."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import triage_targets
from support import LIVE, VALID, corpus, is_rollup, run_cli

SLEEP = LIVE / "6.18" / "sleep"


def diff(*args: str) -> dict[str, Any]:
    result = run_cli("diff", "--format", "json", *args)
    assert result.returncode == 0, result.stderr.decode()
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _grown(tmp_path: Path) -> tuple[Path, Path]:
    """A capture and the same with [heap] grown by 100 kB, a new named mapping, and the
    [stack] gone: text edits of a real capture, so that each change is known."""
    text = (SLEEP / "smaps").read_text()
    before = tmp_path / "a.smaps"
    before.write_text(text)
    lines = text.splitlines(keepends=True)
    heap = next(i for i, line in enumerate(lines) if line.rstrip().endswith("[heap]"))
    for i in range(heap + 1, heap + 24):
        for name in ("Rss", "Pss", "Private_Dirty", "Anonymous", "Pss_Dirty", "Pss_Anon"):
            if lines[i].startswith(f"{name}:"):
                value = int(lines[i].split()[1]) + 100
                lines[i] = f"{name + ':':<16}{value:>8} kB\n".replace(f"{name}:", f"{name}:", 1)
    stack = next(i for i, line in enumerate(lines) if line.rstrip().endswith("[stack]"))
    block = lines[stack : stack + 25]
    del lines[stack : stack + 25]
    named = [block[0].replace("[stack]", "[anon:leak]"), *block[1:]]
    lines[stack:stack] = named
    after = tmp_path / "b.smaps"
    after.write_text("".join(lines))
    return before, after


def test_growth_appearance_and_disappearance(tmp_path: Path) -> None:
    before, after = _grown(tmp_path)
    check = run_cli("validate", str(after))
    assert check.returncode == 0, check.stdout
    result = diff(str(before), str(after))
    rows = {row["object"]: row for row in result["rows"]}
    assert set(rows) == {"[heap]", "[stack]", "[anon:leak]"}
    heap = rows["[heap]"]
    assert heap["change"] == "grew"
    assert heap["delta"] == {
        "mappings": 0, "Size": 0, "Rss": 100, "Pss": 100, "Private": 100, "Shared": 0,
        "Swap": 0, "SwapPss": 0, "Locked": 0,
    }  # fmt: skip
    assert rows["[stack]"]["change"] == "gone" and rows["[stack]"]["after"] is None
    assert rows["[anon:leak]"]["change"] == "appeared" and rows["[anon:leak]"]["before"] is None
    assert rows["[anon:leak]"]["delta"]["Rss"] == -rows["[stack]"]["delta"]["Rss"] == 12
    assert result["rows"][0]["object"] == "[heap]"  # largest growth first
    assert result["changes"] == {"grew": 1, "shrank": 0, "appeared": 1, "gone": 1}
    for name in ("mappings", *result["columns"]):
        total = result["total"]["delta"][name]
        assert total == result["after"]["total"][name] - result["before"]["total"][name]
        assert total == sum(r["delta"][name] for r in result["rows"])
    assert result["before"]["kernel"]["Pss"] == [530, 549]
    assert result["after"]["kernel"]["Pss"] == [630, 649]


def test_the_text_and_csv(tmp_path: Path) -> None:
    before, after = _grown(tmp_path)
    text = run_cli("diff", str(before), str(after))
    assert (text.returncode, text.stderr) == (0, b"")
    assert text.stdout.decode() == (
        "Size   Rss   Pss  Private  Shared  Swap  SwapPss  Locked  Maps  Change    Object\n"
        "   0  +100  +100     +100       0     0        0       0     0  grew      [heap]\n"
        "+132   +12   +12      +12       0     0        0       0    +1  appeared  [anon:leak]\n"
        "-132   -12   -12      -12       0     0        0       0    -1  gone      [stack]\n"
        "   0  +100  +100     +100       0     0        0       0     0            TOTAL (B - A)\n"
        f"2924  1812   530      160    1652     0        0       0    37            TOTAL A: {before}\n"  # noqa: E501
        f"2924  1912   630      260    1652     0        0       0    37            TOTAL B: {after}\n"  # noqa: E501
        "1 grew, 0 shrank, 1 appeared, 1 gone\n"
        "A, as the kernel sums it: Pss 530..549, SwapPss 0, Locked 0 (interval)\n"
        "B, as the kernel sums it: Pss 630..649, SwapPss 0, Locked 0 (interval)\n"
    )  # fmt: skip
    csv = run_cli("diff", str(before), str(after), "--format", "csv").stdout.decode()
    lines = csv.splitlines()
    assert lines[0].startswith("object,kind,change,mappings_before,mappings_after,mappings_delta,")
    assert lines[1].startswith("[heap],heap,grew,1,1,0,132,132,0,16,116,100,")
    assert lines[-1].startswith("TOTAL,total,,37,37,0,2924,2924,0,1812,1912,100,")


def test_identical_captures_differ_in_nothing_and_exit_0() -> None:
    result = diff(str(SLEEP / "smaps"), str(SLEEP / "smaps"))
    assert result["rows"] == [] and set(result["total"]["delta"].values()) == {0}
    every = diff(str(SLEEP / "smaps"), str(SLEEP / "smaps"), "--all")
    assert {r["change"] for r in every["rows"]} == {"same"} and len(every["rows"]) == 23


@pytest.mark.parametrize(
    "path", [p for p in corpus(VALID) if not is_rollup(p)], ids=lambda p: p.name
)
def test_every_capture_against_the_sleep_capture(path: Path) -> None:
    result = diff(str(SLEEP / "smaps"), str(path), "--top", "3")
    for name in result["columns"]:
        assert result["total"]["delta"][name] == (result["after"]["total"][name] or 0) - (
            result["before"]["total"][name] or 0
        )
    assert run_cli("diff", str(SLEEP / "smaps"), str(path), "--format", "csv").returncode == 0


def test_the_rows_past_top_and_a_cut_capture(tmp_path: Path) -> None:
    """--top N: the rows past the first N are summed in one row that says how many objects
    it holds (changed ones, or any with --all); a capture cut in its last mapping is compared
    without that mapping, with one warning, in every format."""
    text = (SLEEP / "smaps").read_bytes()
    cut = tmp_path / "cut.smaps"
    cut.write_bytes(text[: text.rindex(b"\nKSM:") + 10])
    warning = (
        f"smapsfmt: warning: {cut}:901:1: the text is cut in the mapping that starts here (its "
        "last line has no newline): summarised from the 36 complete mappings before it\n"
    )
    text_out = run_cli("diff", str(SLEEP / "smaps"), str(cut), "--top", "1", "--all")
    assert (text_out.returncode, text_out.stderr.decode()) == (0, warning)
    assert text_out.stdout.decode().splitlines()[2:4] == [
        "  -4     0    0        0       0     0        0       0    -1          (22 more objects)",
        "  -4     0    0        0       0     0        0       0    -1          TOTAL (B - A)",
    ]
    csv_out = run_cli("diff", str(SLEEP / "smaps"), str(cut), "--top", "1", "--all", "--format",
                      "csv")  # fmt: skip
    assert (csv_out.returncode, csv_out.stderr.decode()) == (0, warning)
    assert csv_out.stdout.decode().splitlines()[2:] == [
        "(22 more objects),other,,,,-1,,,-4,,,0,,,0,,,0,,,0,,,0,,,0,,,0",
        "TOTAL,total,,37,36,-1,2924,2920,-4,1812,1812,0,530,530,0,160,160,0,1652,1652,0,0,0,0,"
        "0,0,0,0,0,0",
    ]
    two = diff(str(SLEEP / "smaps"), str(LIVE / "6.18/thp/smaps"), "--top", "2")
    count = two["changes"]["grew"] + two["changes"]["shrank"] + two["changes"]["appeared"]
    count += two["changes"]["gone"]
    assert two["other"]["object"] == f"({count - 2} more changed objects)"


def test_a_live_process_over_an_interval(tmp_path: Path) -> None:
    proc = triage_targets.start(20, tmp_path / "backing", kib=64)
    try:
        result: dict[str, Any] = {}

        def read() -> None:
            out = run_cli("diff", "--format", "json", "--pid", str(proc.pid), "--interval", "1.5")
            result["out"] = out

        reader = threading.Thread(target=read)
        reader.start()
        threading.Event().wait(0.7)  # inside the interval
        triage_targets.grow(proc, 4096)
        reader.join()
        out = result["out"]
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["before"]["source"] == f"/proc/{proc.pid}/smaps"
        assert data["before"]["time"] < data["after"]["time"]
        assert data["total"]["delta"]["Rss"] >= 4096
        assert data["rows"][0]["delta"]["Private"] >= 4096
        assert data["after"]["kernel"]["source"] == "smaps_rollup"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["A"], "two captures A B, or --pid PID, are required (see 'smapsfmt diff --help')"),
        (["A", "B", "--interval", "2"], "--interval applies to --pid PID only (see 'smapsfmt "
         "diff --help')"),
        (["A", "--pid", "1"], "give either A B or --pid PID, not both (see 'smapsfmt diff "
         "--help')"),
        (["--pid", "1", "--interval", "soon"], "argument --interval: expected a number of "
         "seconds above 0, not 'soon' (see 'smapsfmt diff --help')"),
        (["--pid", "1", "--interval", "0"], "argument --interval: expected a number of "
         "seconds above 0, not '0' (see 'smapsfmt diff --help')"),
    ],
)  # fmt: skip
def test_usage_errors(args: list[str], message: str) -> None:
    result = run_cli("diff", *args)
    assert (result.returncode, result.stderr.decode()) == (2, f"smapsfmt: error: {message}\n")


def test_a_rollup_is_refused_and_invalid_input_exits_1(tmp_path: Path) -> None:
    rollup = run_cli("diff", str(SLEEP / "smaps"), str(SLEEP / "smaps_rollup"))
    assert (rollup.returncode, rollup.stderr.decode()) == (
        2, f"smapsfmt: error: {SLEEP / 'smaps_rollup'} is a smaps_rollup: diff compares smaps, "
        "object by object\n",
    )  # fmt: skip
    bad = tmp_path / "bad.smaps"
    bad.write_bytes(b"junk\n")
    result = run_cli("diff", str(SLEEP / "smaps"), str(bad), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["kind"] == "syntax"
