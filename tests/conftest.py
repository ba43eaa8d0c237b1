"""Randomness in the suite is reproducible.

Hypothesis runs under a profile: ``ci`` by default (no example database, derandomized: the
same examples on every run and every machine), ``long`` on demand (``HYPOTHESIS_PROFILE=long``:
ten times the examples, still derandomized, still without a database). A failing example is
printed with the blob that replays it (``@reproduce_failure``).

Other randomness comes from the ``rng`` fixture: a ``random.Random`` seeded from the test's
id, or from ``SMAPSFMT_TEST_SEED``; a failure prints the seed.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Generator, Iterator

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ("pytester",)

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", database=None, derandomize=True, print_blob=True, suppress_health_check=_QUIET
)
settings.register_profile(
    "long", database=None, derandomize=True, print_blob=True, suppress_health_check=_QUIET
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))  # see support.examples


_SEED_KEY = pytest.StashKey[int]()


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> Iterator[random.Random]:
    """A random.Random seeded from the test's id (or SMAPSFMT_TEST_SEED); printed on failure."""
    given = os.environ.get("SMAPSFMT_TEST_SEED")
    seed = int(given) if given else zlib.crc32(request.node.nodeid.encode())
    request.node.stash[_SEED_KEY] = seed
    yield random.Random(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seed = item.stash.get(_SEED_KEY, None)
    if seed is not None and report.failed:
        report.sections.append(
            ("random seed", f"seed {seed}: rerun with SMAPSFMT_TEST_SEED={seed}")
        )
    return report
