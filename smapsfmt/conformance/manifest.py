"""The corpus manifest: one JSON file, ``manifest.json`` at the corpus root, listing every case.

Format (docs/conformance.md, "The manifest")::

    {"format": "smaps-conformance", "format_version": 1, "corpus_version": "1.0.0",
     "cases": [{"id": "valid/live/6.18/thp/smaps", "class": "valid", "kind": "smaps",
                "input": "valid/live/6.18/thp/smaps", "expected": "valid/...json",
                "sha256": "...", "generated": false, "tags": ["kernel:6.18", ...],
                "provenance": "valid/live/6.18/CAPTURES.md", "source": "tests/fixtures/..."},
               ...]}

``class`` is ``valid``, ``invalid``, ``implementation-defined`` or ``pair`` (whose ``inputs``
names a smaps and a smaps_rollup instead of one ``input``). Paths are relative to the corpus
root, with ``/``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLASSES",
    "CORPUS_VERSION",
    "FORMAT",
    "FORMAT_VERSION",
    "Case",
    "ManifestError",
    "load_manifest",
]

FORMAT = "smaps-conformance"
FORMAT_VERSION = 1
# The corpus's own version: bumped when cases are added, removed or their expectations change.
CORPUS_VERSION = "1.0.0"
CLASSES = ("valid", "invalid", "implementation-defined", "pair")
KINDS = ("smaps", "rollup", "pair")


class ManifestError(ValueError):
    """A manifest that does not follow the format."""


@dataclass(frozen=True)
class Case:
    """One case of the corpus, as its manifest entry describes it."""

    id: str
    cls: str
    kind: str
    root: Path
    inputs: dict[str, str]
    expected: str
    sha256: str
    generated: bool = False
    tags: tuple[str, ...] = ()
    provenance: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def input_path(self) -> Path:
        """The input file (a pair's smaps)."""
        return self.root / next(iter(self.inputs.values()))

    def data(self, which: str | None = None) -> bytes:
        """The input's bytes (a pair: ``which`` is "smaps" or "rollup")."""
        name = self.inputs[which] if which else next(iter(self.inputs.values()))
        return (self.root / name).read_bytes()

    def expected_json(self) -> Any:
        """The expected result (docs/conformance.md says what each class holds)."""
        return json.loads((self.root / self.expected).read_text(encoding="utf-8"))

    def __str__(self) -> str:
        return self.id


def _entry(raw: Any, root: Path, where: str) -> Case:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a case is a JSON object")
    for key in ("id", "class", "kind", "expected", "sha256"):
        if not isinstance(raw.get(key), str):
            raise ManifestError(f"{where}: '{key}' is a string")
    if raw["class"] not in CLASSES:
        raise ManifestError(f"{where}: 'class' is one of {', '.join(CLASSES)}")
    if raw["kind"] not in KINDS:
        raise ManifestError(f"{where}: 'kind' is one of {', '.join(KINDS)}")
    if raw["class"] == "pair":
        inputs = raw.get("inputs")
        if not isinstance(inputs, dict) or set(inputs) != {"smaps", "rollup"}:
            raise ManifestError(f"{where}: a pair's 'inputs' names its 'smaps' and 'rollup'")
    else:
        if not isinstance(raw.get("input"), str):
            raise ManifestError(f"{where}: 'input' is a string")
        inputs = {raw["kind"]: raw["input"]}
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ManifestError(f"{where}: 'tags' is a list of strings")
    known = {
        "id",
        "class",
        "kind",
        "input",
        "inputs",
        "expected",
        "sha256",
        "generated",
        "tags",
        "provenance",
        "source",
    }
    return Case(
        id=raw["id"],
        cls=raw["class"],
        kind=raw["kind"],
        root=root,
        inputs=dict(inputs),
        expected=raw["expected"],
        sha256=raw["sha256"],
        generated=bool(raw.get("generated", False)),
        tags=tuple(tags),
        provenance=raw.get("provenance"),
        source=raw.get("source"),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_manifest(root: Path) -> tuple[dict[str, Any], list[Case]]:
    """The manifest of the corpus at ``root``: its header and its cases, in manifest order."""
    path = root / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest (is this a conformance corpus?)") from None
    except ValueError as exc:
        raise ManifestError(f"{path}: not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ManifestError(f"{path}: 'format' is not {FORMAT!r}")
    if raw.get("format_version") != FORMAT_VERSION:
        raise ManifestError(
            f"{path}: format_version {raw.get('format_version')!r}; this smapsfmt reads "
            f"{FORMAT_VERSION}"
        )
    cases = raw.get("cases")
    if not isinstance(cases, list):
        raise ManifestError(f"{path}: 'cases' is a list")
    found = [_entry(c, root, f"{path}: case {i + 1}") for i, c in enumerate(cases)]
    header = {k: v for k, v in raw.items() if k != "cases"}
    return header, found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
