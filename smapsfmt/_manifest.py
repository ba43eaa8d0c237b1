"""The corpus manifest: one format for every set of captures smapsfmt keeps or ships, one reader.

A corpus is a folder with ``manifest.json`` at its root, listing every case; paths are relative
to that root, with ``/``. The conformance corpus (conformance/corpus/, shipped in the package),
the kernel captures of the test suite (tests/fixtures/valid/qemu/, tests/fixtures/kernel-bugs/)
and what ``smapsfmt selftest --boot --save DIR`` writes are such folders. Format version 2
(docs/decoder-contract.md, "The manifest")::

    {"format": "smaps-conformance", "format_version": 2, "corpus_version": "1.1.0",
     "cases": [{"id": "valid/qemu/7.x-amd64/swap/smaps", "class": "valid", "kind": "smaps",
                "input": "valid/qemu/7.x-amd64/swap/smaps", "expected": "....json",
                "sha256": "...", "generated": false, "tags": ["arch:x86_64", ...],
                "provenance": {"kernel": {...}, "package": {...}, "modules": {...},
                               "qemu": {...}, "shape": {...}},
                "source": "tests/fixtures/valid/qemu/7.x-amd64/swap/smaps"},
               ...]}

``class`` is ``valid``, ``invalid``, ``implementation-defined`` or ``pair`` (whose ``inputs``
names a smaps and a smaps_rollup instead of one ``input``). ``expected`` is required in the
conformance corpus and may be absent where no expected result is kept (a kernel's captures
saved by ``selftest --boot``). ``provenance`` is an object: ``document`` (a path in the corpus
or a sentence), and for a capture of a booted kernel ``kernel``, ``package``, ``modules``,
``qemu`` and ``shape`` (PROVENANCE below). Version 1 had ``provenance`` as a string and
``expected`` always.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLASSES",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "PROVENANCE",
    "Case",
    "ManifestError",
    "dump_manifest",
    "load_manifest",
]

FORMAT = "smaps-conformance"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CLASSES = ("valid", "invalid", "implementation-defined", "pair")
KINDS = ("smaps", "rollup", "pair")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# The keys of a case's provenance and, for each object, its required keys and their types
# ("sha256": 64 hex digits).
PROVENANCE: dict[str, dict[str, str]] = {
    "document": {},  # a string: a path in the corpus (a CAPTURES.md table) or a sentence
    "kernel": {"release": "str", "arch": "str", "page_size": "int", "version": "str"},
    "package": {"name": "str", "version": "str", "sha256": "sha256", "image": "str",
                "image_sha256": "sha256"},
    "modules": {"name": "str", "version": "str", "sha256": "sha256", "files": "list"},
    "qemu": {"version": "str", "command": "str"},
    "shape": {"name": "str"},
}  # fmt: skip


class ManifestError(ValueError):
    """A manifest that does not follow the format."""


@dataclass(frozen=True)
class Case:
    """One case of a corpus, as its manifest entry describes it."""

    id: str
    cls: str
    kind: str
    root: Path
    inputs: dict[str, str]
    expected: str  # "" where the manifest keeps no expected result
    sha256: str
    generated: bool = False
    tags: tuple[str, ...] = ()
    provenance: dict[str, Any] | None = None
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
        if not self.expected:
            raise ManifestError(f"{self.root / MANIFEST}: case {self.id}: no expected result")
        return json.loads((self.root / self.expected).read_text(encoding="utf-8"))

    def __str__(self) -> str:
        return self.id


def _typed(value: Any, kind: str) -> bool:
    if kind == "sha256":
        return isinstance(value, str) and _SHA256.fullmatch(value) is not None
    return isinstance(value, {"str": str, "int": int, "list": list}[kind])


def _provenance(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: 'provenance' is an object")
    for key, value in raw.items():
        if key not in PROVENANCE:
            raise ManifestError(
                f"{where}: 'provenance' has no key {key!r} (one of {', '.join(PROVENANCE)})"
            )
        if key == "document":
            if not isinstance(value, str):
                raise ManifestError(f"{where}: 'provenance.document' is a string")
            continue
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: 'provenance.{key}' is an object")
        for name, kind in PROVENANCE[key].items():
            if not _typed(value.get(name), kind):
                wanted = "64 hexadecimal digits" if kind == "sha256" else f"a {kind}"
                raise ManifestError(f"{where}: 'provenance.{key}.{name}' is {wanted}")
    return dict(raw)


def _entry(raw: Any, root: Path, where: str) -> Case:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a case is a JSON object")
    for key in ("id", "class", "kind", "sha256"):
        if not isinstance(raw.get(key), str):
            raise ManifestError(f"{where}: '{key}' is a string")
    if not isinstance(raw.get("expected", ""), str):
        raise ManifestError(f"{where}: 'expected' is a string")
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
    known = {"id", "class", "kind", "input", "inputs", "expected", "sha256", "generated",
             "tags", "provenance", "source"}  # fmt: skip
    return Case(
        id=raw["id"],
        cls=raw["class"],
        kind=raw["kind"],
        root=root,
        inputs=dict(inputs),
        expected=raw.get("expected", ""),
        sha256=raw["sha256"],
        generated=bool(raw.get("generated", False)),
        tags=tuple(tags),
        provenance=_provenance(raw.get("provenance"), where),
        source=raw.get("source"),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_manifest(root: Path) -> tuple[dict[str, Any], list[Case]]:
    """The manifest of the corpus at ``root``: its header and its cases, in manifest order."""
    path = root / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ManifestError(f"{path}: no manifest (is this a conformance corpus?)") from None
    except OSError as exc:  # a manifest.json that is a folder, or unreadable
        raise ManifestError(f"{path}: {exc.strerror or exc}") from None
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
    ids = [case.id for case in found]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ManifestError(f"{path}: case id {twice[0]!r} is listed twice")
    header = {k: v for k, v in raw.items() if k != "cases"}
    return header, found


def dump_manifest(cases: list[dict[str, Any]], corpus_version: str | None = None) -> bytes:
    """A manifest of ``cases`` (manifest entries, written sorted by id), as its file's bytes."""
    document: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    if corpus_version is not None:
        document["corpus_version"] = corpus_version
    document["cases"] = sorted(cases, key=lambda c: str(c["id"]))
    return (json.dumps(document, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
