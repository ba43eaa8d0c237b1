"""The conformance corpus's manifest: the one corpus manifest format of smapsfmt
(``smapsfmt._manifest``, docs/decoder-contract.md "The manifest"), and the corpus's own version.
"""

from __future__ import annotations

from .._manifest import (
    CLASSES,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    Case,
    ManifestError,
    digest,
    load_manifest,
)

__all__ = [
    "CLASSES",
    "CORPUS_VERSION",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "Case",
    "ManifestError",
    "digest",
    "load_manifest",
]

# The corpus's own version: bumped when cases are added, removed or their expectations change.
CORPUS_VERSION = "1.1.0"
