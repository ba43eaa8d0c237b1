"""The one corpus manifest format (smapsfmt._manifest, docs/decoder-contract.md): the reader
every corpus goes through (the conformance corpus, the kernel captures, ``selftest --boot
--save``) refuses what does not follow it, naming the file, the case and the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES

from smapsfmt.conformance import ManifestError, load_manifest

SHA = "0" * 64
PACKAGE = {"name": "linux-image-6.1.0-57-686:i386", "version": "6.1.192-3", "sha256": SHA,
           "image": "/boot/vmlinuz-6.1.0-57-686", "image_sha256": SHA}  # fmt: skip


def _case(**provenance: Any) -> dict[str, Any]:
    return {"id": "a/smaps", "class": "valid", "kind": "smaps", "input": "a/smaps",
            "sha256": SHA, "provenance": provenance}  # fmt: skip


def _write(where: Path, document: Any) -> Path:
    text = document if isinstance(document, str) else json.dumps(document)
    (where / "manifest.json").write_text(text)
    return where / "manifest.json"


def _v2(*cases: dict[str, Any]) -> dict[str, Any]:
    return {"format": "smaps-conformance", "format_version": 2, "cases": list(cases)}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"manifest": 1, "cases": []}, "'format' is not 'smaps-conformance'"),
        ({"format": "smaps-conformance", "format_version": 1, "cases": []},
         "format_version 1; this smapsfmt reads 2"),
        (_v2(_case(document=3)), "case 1: 'provenance.document' is a string"),
        (_v2(_case(source={})), "case 1: 'provenance' has no key 'source' (one of document, "
         "kernel, package, modules, qemu, shape)"),
        (_v2(_case(package={**PACKAGE, "sha256": "c0e8"})),
         "case 1: 'provenance.package.sha256' is 64 hexadecimal digits"),
        (_v2(_case(kernel={"release": "6.1", "arch": "i386", "page_size": "4096",
                           "version": "Linux"})),
         "case 1: 'provenance.kernel.page_size' is a int"),
        (_v2(_case(), _case()), "case id 'a/smaps' is listed twice"),
        (_v2({**_case(), "expected": 1}), "case 1: 'expected' is a string"),
        ("{", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
         "(char 1)"),
        ({"format": "smaps-conformance", "format_version": 2, "cases": {}}, "'cases' is a list"),
        (_v2(_case(), 3), "case 2: a case is a JSON object"),
        (_v2({**_case(), "id": 1}), "case 1: 'id' is a string"),
        (_v2({**_case(), "class": "odd"}),
         "case 1: 'class' is one of valid, invalid, implementation-defined, pair"),
        (_v2({**_case(), "kind": "status"}), "case 1: 'kind' is one of smaps, rollup, pair"),
        (_v2({**_case(), "class": "pair", "kind": "pair", "inputs": {"smaps": "a/smaps"}}),
         "case 1: a pair's 'inputs' names its 'smaps' and 'rollup'"),
        (_v2({**_case(), "input": None}), "case 1: 'input' is a string"),
        (_v2({**_case(), "tags": "swap"}), "case 1: 'tags' is a list of strings"),
        (_v2({**_case(), "provenance": []}), "case 1: 'provenance' is an object"),
        (_v2(_case(kernel="6.1")), "case 1: 'provenance.kernel' is an object"),
    ],
)  # fmt: skip
def test_the_reader_refuses_what_does_not_follow_the_format(
    tmp_path: Path, document: Any, message: str
) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(ManifestError) as raised:
        load_manifest(tmp_path)
    assert str(raised.value) == f"{path}: {message}"


def test_a_case_without_an_expected_result_says_so_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, _v2(_case(package=PACKAGE)))
    _, (case,) = load_manifest(tmp_path)
    assert (case.expected, case.provenance) == ("", {"package": PACKAGE})
    with pytest.raises(ManifestError) as raised:
        case.expected_json()
    assert str(raised.value) == f"{path}: case a/smaps: no expected result"


@pytest.mark.parametrize("folder", ["valid/qemu", "kernel-bugs"])
def test_the_kernel_captures_are_in_the_one_format(folder: str) -> None:
    header, cases = load_manifest(FIXTURES / folder)
    assert header == {"format": "smaps-conformance", "format_version": 2}
    assert cases and all(set(c.provenance or {}) >= {"kernel", "package", "qemu", "shape"}
                         for c in cases)  # fmt: skip
