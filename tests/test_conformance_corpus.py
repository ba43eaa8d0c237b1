"""The portable conformance corpus (conformance/corpus/): made from tests/fixtures/ and up to
date, its manifest whole and exact, shipped in the installed package, and smapsfmt's
reference decoder passing every case."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import FIXTURES, INVALID, ROOT, VALID, corpus, profile_names

import smapsfmt
from smapsfmt.conformance import Case, Coverage, cases, corpus_root, decode, judge, load_manifest

TREE = ROOT / "conformance" / "corpus"
HEADER, CASES = load_manifest(TREE)


def test_corpus_is_what_the_script_makes() -> None:
    result = subprocess.run(
        [sys.executable, "tools/build_conformance_corpus.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_manifest_header() -> None:
    header = smapsfmt.conformance.manifest_header()
    assert header == smapsfmt.conformance.manifest_header(TREE) == HEADER
    assert HEADER == {
        "format": "smaps-conformance",
        "format_version": 2,
        "corpus_version": "1.1.0",
    }


def test_manifest_names_every_file_once_with_its_hash() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    named: set[str] = {"manifest.json"}
    for case in CASES:
        named.add(case.expected)
        named.update(case.inputs.values())
        hashed = case.root / case.expected if case.cls == "pair" else case.input_path
        assert hashlib.sha256(hashed.read_bytes()).hexdigest() == case.sha256, case.id
    on_disk = {str(p.relative_to(TREE)) for p in TREE.rglob("*") if p.is_file()}
    docs = {p for p in on_disk if p.endswith(".md")}
    assert on_disk - docs == named
    assert docs == {"valid/live/6.18/CAPTURES.md", "valid/external/SOURCES.md"}


def test_every_fixture_is_a_case_byte_for_byte() -> None:
    sources = {case.source: case for case in CASES if case.source}
    for fixture in corpus(VALID) + corpus(INVALID):
        case = sources[str(fixture.relative_to(ROOT))]
        assert case.data() == fixture.read_bytes()
        if fixture.parent == INVALID:
            expected = case.expected_json()
            error = Path(f"{fixture}.expected-error").read_text(encoding="utf-8").rstrip("\n")
            assert f"{expected['line']}:{expected['column']}: {expected['message']}" == error


def test_classes_and_generated_cases_are_kept_apart() -> None:
    counts = {cls: sum(1 for c in CASES if c.cls == cls) for cls in
              ("valid", "invalid", "implementation-defined", "pair")}  # fmt: skip
    assert counts == {"valid": 245, "invalid": 32, "implementation-defined": 6, "pair": 103}
    for case in CASES:
        assert case.generated == case.id.startswith("generated/"), case.id
        assert case.generated == ("generated" in case.tags), case.id
        assert case.id.startswith({"valid": ("valid/", "generated/"), "invalid": "invalid/",
                                   "implementation-defined": "implementation-defined/",
                                   "pair": "pairs/"}[case.cls]), case.id  # fmt: skip
    profiles = profile_names()
    assert {t.split(":", 1)[1] for c in CASES for t in c.tags if t.startswith("profile:")} == (
        profiles
    )


def test_feature_tags_are_found_in_the_text() -> None:
    tagged = {case.id: set(case.tags) for case in CASES}
    deleted = tagged["valid/live/6.18/deleted-file/smaps"]
    assert {"deleted", "newline-in-name", "non-utf8-name", "blanks-in-name", "kernel:6.18",
            "arch:x86_64", "bits:64"} <= deleted  # fmt: skip
    assert {"android-name", "anon-name", "android"} <= tagged[
        "valid/external/android-libmeminfo/testdata1/smaps_short"
    ]
    assert "no-vmflags" in tagged["generated/3.0-3.7/smaps"]
    assert "no-vmflags" not in tagged["generated/3.8-3.19/smaps"]
    assert "vendor-field" in tagged["generated/android-5.4-zram/smaps_rollup"]
    assert {"empty", "kind:smaps"} <= tagged["valid/kernel-thread/smaps"]


def test_the_installed_package_carries_the_corpus() -> None:
    from importlib import metadata

    dist = metadata.distribution("smapsfmt")
    shipped = {str(f) for f in dist.files or () if "_data/conformance/" in str(f)}
    on_disk = {p for p in TREE.rglob("*") if p.is_file()}
    assert shipped == {f"smapsfmt/_data/conformance/{p.relative_to(TREE)}" for p in on_disk}
    manifest = Path(str(dist.locate_file("smapsfmt/_data/conformance/manifest.json")))
    assert "site-packages" in manifest.parts  # installed, not the source tree
    assert manifest.read_bytes() == (TREE / "manifest.json").read_bytes()
    assert (corpus_root() / "manifest.json").read_bytes() == manifest.read_bytes()
    assert len(cases()) == len(CASES) == 386


def test_cases_filters() -> None:
    assert {c.cls for c in cases("invalid")} == {"invalid"}
    assert len(cases(["invalid", "pair"])) == 135
    assert {c.kind for c in cases(kind="rollup")} == {"rollup"}
    assert all(c.generated for c in cases(generated=True))
    assert [c.id for c in cases(tags=["newline-in-name"])] == [
        "valid/live/6.18/deleted-file/smaps",
        *(f"valid/qemu/{kernel}/file/smaps" for kernel in (
            "5.10-amd64", "6.1-686", "6.1-amd64", "6.12-amd64", "6.19-amd64", "7.x-amd64",
            "7.x-arm64-16k",
        )),
    ]  # fmt: skip
    assert str(cases("valid")[0]) == cases("valid")[0].id


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_decoder_passes(case: Case) -> None:
    """smapsfmt's reference decoder, in process, judged as the harness judges a command."""
    runs = case.inputs.items()
    for kind, rel in runs:
        data = (case.root / rel).read_bytes()
        try:
            out, status = json.dumps(decode(data, kind)).encode(), 0
        except smapsfmt.SmapsSyntaxError:
            out, status = b"", 1
        expected_file = f"{rel}.json" if case.cls in ("valid", "pair") else case.expected
        expected = json.loads((case.root / expected_file).read_text(encoding="utf-8"))
        cls = "valid" if case.cls == "pair" else case.cls
        verdict = judge(cls, kind, expected, status, out, coverage=Coverage())
        assert verdict.outcome == "PASS", verdict


@pytest.mark.parametrize("case", [c for c in CASES if c.cls == "valid" and c.source], ids=str)
def test_contract_agrees_with_the_model(case: Case) -> None:
    """The contract's JSON and smapsfmt's own expected model JSON say the same."""
    model = json.loads((ROOT / f"{case.source}.expected.json").read_text(encoding="utf-8"))
    contract = case.expected_json()
    entries = contract["mappings"] if case.kind == "smaps" else [contract]
    models = model["mappings"] if case.kind == "smaps" else [model]
    assert len(entries) == len(models)
    for entry, want in zip(entries, models, strict=True):
        assert int(entry["start"], 16) == int(want["start"], 16)
        assert int(entry["end"], 16) == int(want["end"], 16)
        assert {k: int(v) for k, v in entry["fields"].items()} == want["fields"]
        if case.kind == "smaps":
            assert entry.get("vmflags") == want["vmflags"]
            raw = want["pathname"].encode("utf-8", "surrogateescape")
            if "pathname_b64" in entry:
                assert base64.b64decode(entry["pathname_b64"]) == raw
            else:
                assert entry["pathname"].encode() == raw
            assert entry["dev"] == f"{want['major']:02x}:{want['minor']:02x}"
            assert entry["inode"] == str(want["inode"])


def test_fixture_folders_are_where_the_builder_reads() -> None:
    assert (FIXTURES / "valid" / "live" / "6.18" / "CAPTURES.md").is_file()
    assert (FIXTURES / "valid" / "external" / "SOURCES.md").is_file()


def test_a_sidecar_gives_a_capture_its_kernel_tags(tmp_path: Path) -> None:
    """A capture added with INPUT.case.json (docs/decoder-contract.md, "Adding cases") gets
    its tags and provenance in the manifest."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location(
        "build_conformance_corpus", ROOT / "tools" / "build_conformance_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    fixtures = tmp_path / "tree" / "tests" / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    capture = fixtures / "valid" / "qemu" / "4.19" / "smaps"
    capture.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "valid/live/6.18/sleep/smaps", capture)
    Path(f"{capture}.case.json").write_text(
        json.dumps(
            {
                "tags": ["kernel:4.19.325", "arch:aarch64", "source:qemu"],
                "provenance": "valid/qemu/CAPTURES.md",
            }
        )
    )
    builder.ROOT, builder.FIXTURES = tmp_path / "tree", fixtures
    builder.build(tmp_path / "corpus")
    _, made = load_manifest(tmp_path / "corpus")
    case = next(c for c in made if c.id == "valid/qemu/4.19/smaps")
    assert {"kernel:4.19.325", "arch:aarch64", "source:qemu", "kind:smaps"} <= set(case.tags)
    assert case.provenance == {"document": "valid/qemu/CAPTURES.md"}
    assert case.source == "tests/fixtures/valid/qemu/4.19/smaps"
    assert not (tmp_path / "corpus" / "valid/qemu/4.19/smaps.case.json").exists()
    assert len(made) == len(CASES) + 1


@pytest.mark.parametrize(
    ("covers", "message"),
    [
        ([], "a coverage file holds one JSON object"),
        ({"colour": 1}, "unknown key 'colour'"),
        ({"mode": "sums"}, "'mode' is 'mappings' or 'totals'"),
        ({"header": ["start", "colour"]},
         "'header' lists parts of start, end, perms, offset, dev, inode, pathname"),
        ({"fields": "Rss"}, "'fields' is \"*\" or a list of field names"),
        ({"fields": [1]}, "'fields' is \"*\" or a list of field names"),
        ({"pathname": ["x"]}, 'pathname rule 1 is {"match": RE, "replace": TEXT}'),
        ({"pathname": [{"match": "x"}]}, 'pathname rule 1 is {"match": RE, "replace": TEXT}'),
        ({"pathname": [{"match": "(", "replace": ""}]},
         "pathname rule 1: missing ), unterminated subpattern at position 0"),
    ],
)  # fmt: skip
def test_a_coverage_file_that_does_not_follow_the_format_is_refused(
    covers: object, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        Coverage.from_json(covers, "covers.json")
    assert str(raised.value) == f"covers.json: {message}"
