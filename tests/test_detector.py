"""One kernel detector: validate, rollup and check name the same profile for every text of the
corpus, in the same words."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
from support import EXTERNAL, FIXTURES, VALID, corpus, fixture_id, is_rollup, run_cli

import smapsfmt

REJECTED = FIXTURES / "invalid-validate"
TEXTS = [
    p for p in [*corpus(VALID), *corpus(REJECTED)] if not p.name.endswith((".args", ".expected"))
]
SMAPS = [p for p in TEXTS if not is_rollup(p)]
PAIRS = [p for p in SMAPS if p.with_name("smaps_rollup").is_file()]


@functools.cache
def _machine_words() -> dict[str, tuple[str, str]]:
    """Each text's profile as validate's JSON (``profile``, rollup's and check's key) and its
    SARIF (the artifact's properties) give it, from one run of each over the whole corpus."""
    paths = [str(p) for p in TEXTS]
    as_json = json.loads(run_cli("validate", "--format", "json", *paths).stdout)
    (run,) = json.loads(run_cli("validate", "--format", "sarif", *paths).stdout)["runs"]
    assert [f["path"] for f in as_json["files"]] == paths
    assert len(run["artifacts"]) == len(paths)
    return {
        path: (file["profile"], artifact["properties"]["profile"])
        for path, file, artifact in zip(paths, as_json["files"], run["artifacts"], strict=True)
    }


def _validate_words(path: Path) -> str:
    """The profile part of validate's summary line; its JSON and SARIF say the same."""
    result = run_cli("validate", str(path))
    summary = result.stdout.decode().splitlines()[-1]
    words = summary.split("; ", 1)[1]
    assert words.startswith(("profile ", "no profile ")), summary
    assert _machine_words()[str(path)] == (words, words)
    return words


def _notes(stderr: bytes) -> list[str]:
    return re.findall(r"^smapsfmt: note: (.*)$", stderr.decode(), re.M)


@pytest.mark.parametrize("path", SMAPS, ids=fixture_id)
def test_rollup_names_the_profile_validate_names(path: Path) -> None:
    words = _validate_words(path)
    text = run_cli("rollup", str(path))
    if text.returncode != 0:  # no kernel prints a rollup of it: nothing is named
        assert text.stdout == b"" and b"Traceback" not in text.stderr
        return
    assert _notes(text.stderr)[-1] == words
    data = run_cli("rollup", "--format", "json", str(path))
    assert json.loads(data.stdout)["profile"] == words


@pytest.mark.parametrize("path", PAIRS, ids=fixture_id)
def test_check_names_the_profile_validate_names_for_the_rollup(path: Path) -> None:
    rollup = path.with_name("smaps_rollup")
    words = _validate_words(rollup)
    result = run_cli("check", "--format", "json", str(path), str(rollup))
    assert json.loads(result.stdout)["profile"] == words
    text = run_cli("check", str(path), str(rollup))
    assert text.stdout.decode().splitlines()[-1].endswith(f"; {words}")


def test_every_text_of_the_corpus_is_covered() -> None:
    assert len(SMAPS) >= 40 and len(PAIRS) >= 13


def test_a_tie_names_the_oldest_and_the_others() -> None:
    # prometheus-procfs 26231: 4.14-4.18 and 4.19-4.20 print this smaps alike; its own
    # smaps_rollup ends at the gate VMA, which only 4.14-4.18 does.
    smaps = EXTERNAL / "prometheus-procfs/fixtures/proc/26231/smaps"
    assert (
        _validate_words(smaps) == "profile Linux 4.14-4.18 (matched); the same text as 4.19-4.20"
    )


def test_the_old_kernel_with_one_thp_line_is_one_kernel_for_every_command() -> None:
    # THPeligible is printed for every mapping from 5.0 on (task_mmu.c 5.0.1 show_smap: an
    # unconditional seq_printf), so 11 entries without it are no 5.0 kernel's: the entries are
    # 4.14-4.20's, and the one THPeligible line is the error, as validate says.
    path = REJECTED / "old-kernel-thp-line.smaps"
    words = "profile Linux 4.14-4.18 (matched); the same text as 4.19-4.20"
    assert _validate_words(path) == words
    result = run_cli("rollup", str(path))
    assert result.returncode == 0
    assert _notes(result.stderr)[-1] == words
    assert result.stdout.splitlines()[0].startswith(b"00400000-ffffffffff601000 ")


def test_a_32_bit_rollup_is_rendered_with_its_own_name_column_and_matched() -> None:
    # An i686 kernel pads the name to column 49 (task_mmu.c: seq_setwidth(m, 25 +
    # sizeof(void *) * 6 - 1)); a real 6.18 rollup, moved below 4 GiB and printed so.
    real = (VALID / "live/6.18/sleep/smaps_rollup").read_bytes()
    model = smapsfmt.parse_rollup(real)
    lines = real.decode().split("\n")
    header = "08048000-bfa1f000 ---p 00000000 00:00 0"
    lines[0] = header + " " * (49 - len(header)) + "[rollup]"
    text = "\n".join(lines).encode()
    assert model.end > 0xFFFFFFFF  # the capture was not already 32-bit
    report = smapsfmt.validate(text)
    assert report == []
    result = run_cli("validate", "-", stdin=text)
    assert result.stdout.decode().splitlines()[-1] == (
        "<stdin>: smaps_rollup: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)"
    )
