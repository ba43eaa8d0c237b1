"""Randomized tests are reproducible: one seeded mutator that takes any input, Hypothesis
without a database and derandomized, and the seed of the ``rng`` fixture printed on failure."""

from __future__ import annotations

import random

import pytest
from hypothesis import settings
from mutate import OPERATIONS, mutant, mutate
from support import ROOT, VALID


def test_the_mutator_takes_any_input_even_an_empty_one() -> None:
    """An edit drawn for an empty or one-line input used to call randrange(0) (about one run
    in 150 failed); every edit now takes every input."""
    entry = (VALID / "live/6.18/sleep/smaps").read_bytes()[:200]
    for data in (b"", b"\n", b"x", entry):
        for seed in range(300):
            assert isinstance(mutant(data, seed), bytes), (data, seed)
    drawn = set()
    for seed in range(2000):
        rng = random.Random(seed)
        state = rng.getstate()
        operation = rng.choice(OPERATIONS)
        rng.setstate(state)
        drawn.add(operation)
        mutate(b"", rng)
    assert drawn == set(OPERATIONS)


def test_a_seed_names_its_mutant_for_good() -> None:
    data = (VALID / "live/6.18/sleep/smaps").read_bytes()
    assert [mutant(data, seed) for seed in range(50)] == [mutant(data, seed) for seed in range(50)]
    assert len({mutant(data, seed) for seed in range(50)}) > 40


def test_hypothesis_runs_the_ci_profile_by_default() -> None:
    assert settings.default.database is None
    assert settings.default.derandomize is True
    assert settings.get_profile("long").database is None


def test_a_failing_test_prints_the_seed_of_its_rng(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_seeded="""
def test_unlucky(rng):
    assert rng.random() < 0

def test_lucky(rng):
    assert rng.random() >= 0
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines(
        [r".*random seed.*", r"seed \d+: rerun with SMAPSFMT_TEST_SEED=\d+"]
    )
    printed = [line for line in result.outlines if "SMAPSFMT_TEST_SEED=" in line]
    assert len(printed) == 1  # the failing test's, not the passing one's
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "unlucky")
    assert printed[0] in again.outlines  # the same seed: the same test, the same draws
