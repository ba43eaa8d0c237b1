"""The conformance corpus and harness for any smaps / smaps_rollup parser.

In Python, three lines::

    import pytest, smapsfmt.conformance
    @pytest.mark.parametrize("case", smapsfmt.conformance.cases("valid"), ids=str)
    def test_parser(case): assert my_decoder(case.data()) == case.expected_json()

or the ``smaps_case`` fixture of the pytest plugin that installs with smapsfmt. Other languages:
``smapsfmt conformance run -- CMD`` (the decoder contract: docs/decoder-contract.md),
``smapsfmt conformance export DIR`` or the tarball of ``smapsfmt conformance pack``.
"""

from __future__ import annotations

from .._lazy import lazy

# Loaded on first use: the command line imports this package to register its commands.
_WHERE = {
    "OUTCOMES": "compare",
    "Coverage": "compare",
    "Verdict": "compare",
    "judge": "compare",
    "cases": "corpus",
    "corpus_root": "corpus",
    "manifest_header": "corpus",
    "select": "corpus",
    "decode": "decode",
    "CORPUS_VERSION": "manifest",
    "Case": "manifest",
    "ManifestError": "manifest",
    "load_manifest": "manifest",
}

__all__ = [
    "CORPUS_VERSION",
    "OUTCOMES",
    "Case",
    "Coverage",
    "ManifestError",
    "Verdict",
    "cases",
    "corpus_root",
    "decode",
    "judge",
    "load_manifest",
    "manifest_header",
    "select",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .compare import OUTCOMES, Coverage, Verdict, judge
    from .corpus import cases, corpus_root, manifest_header, select
    from .decode import decode
    from .manifest import CORPUS_VERSION, Case, ManifestError, load_manifest
del TYPE_CHECKING


__getattr__, __dir__ = lazy(__name__, _WHERE, __all__)
