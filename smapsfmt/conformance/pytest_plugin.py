"""A pytest plugin (entry point ``pytest11``): the ``smaps_case`` fixture over the corpus.

Any test that takes ``smaps_case`` runs once per case of the corpus shipped with smapsfmt,
with the case id as the test id::

    def test_my_parser(smaps_case):
        data = smaps_case.data()
        if smaps_case.cls == "valid":
            assert my_parse(data) ...  # smaps_case.expected_json(): the contract's JSON

``@pytest.mark.smaps_cases(cls=..., kind=..., tags=[...], generated=...)`` narrows the cases
(the arguments of :func:`smapsfmt.conformance.cases`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["pytest_configure", "pytest_generate_tests"]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "smaps_cases(cls=None, kind=None, tags=(), generated=None): the corpus cases the "
        "smaps_case fixture runs over (smapsfmt.conformance.cases)",
    )


def pytest_generate_tests(metafunc: Any) -> None:
    if "smaps_case" not in metafunc.fixturenames:
        return
    from .corpus import cases

    marker = metafunc.definition.get_closest_marker("smaps_cases")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        options["cls"] = marker.args[0]
    found = cases(**options)
    metafunc.parametrize("smaps_case", found, ids=[case.id for case in found])
