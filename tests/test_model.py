"""The models: typed attributes, read-only fields, JSON and its schema."""

from __future__ import annotations

import json
from types import MappingProxyType

import pydantic
import pytest
from support import EXTERNAL, LIVE, as_json, field_units

import smapsfmt
from smapsfmt import Mapping, Rollup, Smaps

SHORT = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"

# The public attribute names, derived from the ABI document's field names (and its one
# :Attribute: line, THPeligible's), in the document's order: smaps, then the rollup's own.
ATTRIBUTES = {
    "Size": "size", "KernelPageSize": "kernel_page_size", "MMUPageSize": "mmu_page_size",
    "Rss": "rss", "Pss": "pss", "Pss_Dirty": "pss_dirty", "Shared_Clean": "shared_clean",
    "Shared_Dirty": "shared_dirty", "Private_Clean": "private_clean",
    "Private_Dirty": "private_dirty", "Referenced": "referenced", "Anonymous": "anonymous",
    "KSM": "ksm", "LazyFree": "lazy_free", "AnonHugePages": "anon_huge_pages",
    "ShmemPmdMapped": "shmem_pmd_mapped", "FilePmdMapped": "file_pmd_mapped",
    "Shared_Hugetlb": "shared_hugetlb", "Private_Hugetlb": "private_hugetlb",
    "Swap": "swap", "SwapPss": "swap_pss", "Locked": "locked", "Nonlinear": "nonlinear",
    "THPeligible": "thp_eligible", "ProtectionKey": "protection_key",
    "Pss_Anon": "pss_anon", "Pss_File": "pss_file", "Pss_Shmem": "pss_shmem",
}  # fmt: skip
VENDOR = ["Writeback", "WritebackHuge", "Same", "Huge", "SwapShared"]


def test_public_surface_is_small() -> None:
    assert sorted(smapsfmt.__all__) == [
        "AggregatedRollup", "Diagnostic", "ExactPss", "ExactUnavailable", "Freeze", "Interval",
        "KernelMismatch", "KernelThreadError", "Mapping", "MappingCount", "NoSuchProcessError",
        "OutOfRange", "PidReusedError", "ProcError", "ProcPermissionError",
        "ProcUnavailableError", "Process", "ProcessExitedError", "Rollup", "RollupMissingError",
        "Smaps", "SmapsSyntaxError", "Snapshot", "ZombieProcessError", "aggregate",
        "check_rollup", "exact_pss", "iter_smaps", "parse_rollup", "parse_smaps", "read_rollup",
        "read_smaps", "snapshot", "validate",
    ]  # fmt: skip
    for name in smapsfmt.__all__:
        assert getattr(smapsfmt, name) is not None
    with pytest.raises(AttributeError):
        _ = smapsfmt.no_such_thing  # type: ignore[attr-defined]


def test_smaps_is_a_sequence_of_mappings() -> None:
    smaps = smapsfmt.parse_smaps(SHORT.read_bytes())
    assert len(smaps) == 6
    assert isinstance(smaps[0], Mapping) and isinstance(smaps[-1], Mapping)
    assert smaps[1:3] == (smaps[1], smaps[2])
    assert [m.start for m in smaps] == sorted(m.start for m in smaps)


def test_every_known_field_has_a_typed_attribute() -> None:
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/sleep/smaps_rollup").read_bytes())
    mapping = smapsfmt.parse_smaps((LIVE / "6.18/sleep/smaps").read_bytes())[0]
    for key, attribute in ATTRIBUTES.items():
        for entry in (mapping, rollup):
            assert getattr(entry, attribute) == entry.fields.get(key)
    assert mapping.thp_eligible == 0 and rollup.thp_eligible is None
    assert mapping.protection_key is None  # no pkeys on this CPU
    assert {"rss", "thp_eligible", "mmu_page_size"} <= set(dir(mapping))
    with pytest.raises(AttributeError, match="'Mapping' object has no attribute 'rsss'"):
        _ = mapping.rsss


def test_the_attributes_derived_from_the_abi_document_are_the_documented_ones() -> None:
    # Every field the schema names, in its order: these have attributes; the vendor fields
    # the document describes (Writeback, ...) have none.
    assert list(ATTRIBUTES) == [name for name in field_units() if name in ATTRIBUTES]
    mapping = smapsfmt.parse_smaps((LIVE / "6.18/sleep/smaps").read_bytes())[0]
    assert [name for name in field_units() if name not in ATTRIBUTES] == VENDOR
    for name in VENDOR:
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        assert not hasattr(mapping, snake), name
    assert {name for name, unit in field_units().items() if unit is None} == {
        "THPeligible",
        "ProtectionKey",
    }


def test_fields_are_read_only() -> None:
    mapping = smapsfmt.parse_smaps(SHORT.read_bytes())[0]
    assert isinstance(mapping.fields, MappingProxyType)
    with pytest.raises(TypeError):
        mapping.fields["Rss"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        mapping.fields.clear()  # type: ignore[attr-defined]


def test_unknown_vendor_fields_are_kept_with_their_raw_text() -> None:
    text = (
        "00400000-00401000 r--p 00000000 00:00 0 \nSwapPss:               0 kB\n"
        "Writeback:            12 kB\nSame:                  0 kB\nLocked:                0 kB\n"
    )
    mapping = smapsfmt.parse_smaps(text)[0]
    assert list(mapping.fields) == ["SwapPss", "Writeback", "Same", "Locked"]
    assert mapping.unknown_fields == ("Writeback", "Same")
    assert mapping.unknown_lines == ("Writeback:            12 kB", "Same:                  0 kB")


def test_json_round_trips_non_utf8_names() -> None:
    data = (LIVE / "6.18/deleted-file/smaps").read_bytes()
    smaps = smapsfmt.parse_smaps(data)
    dumped = json.dumps(as_json(smaps))
    back = Smaps.__pydantic_validator__.validate_python(json.loads(dumped))  # type: ignore[attr-defined]
    assert back == smaps
    assert any(b"\xe9\xff" in m.pathname for m in back)


def test_rollup_json_has_hex_addresses() -> None:
    rollup = smapsfmt.parse_rollup(
        (EXTERNAL / "prometheus-procfs/fixtures/proc/26231/smaps_rollup").read_bytes()
    )
    obj = as_json(rollup)
    assert (obj["start"], obj["end"]) == ("00400000", "ffffffffff601000")
    assert obj["pathname"] == "[rollup]"
    assert obj["fields"]["Rss"] == 29948


@pytest.mark.parametrize("kind", [Smaps, Rollup])
def test_json_schema_describes_the_output(kind: type) -> None:
    schema = pydantic.TypeAdapter(kind).json_schema(mode="serialization")
    text = json.dumps(schema)
    assert '"fields"' in text and '"pathname"' in text
    assert schema["type"] == "object"


def test_models_validate_their_input() -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic ValidationError
        Mapping(
            line=1,
            start=0,
            end=4096,
            perms="rwzp",
            offset=0,
            major=0,
            minor=0,
            inode=0,
            pathname=b"",
            fields={},
        )


def test_str_input_with_any_surrogate_is_parsed_not_crashed() -> None:
    # Lone surrogates from PEP 383 decoding come back as their bytes; any other is kept as
    # its UTF-8 form ("surrogatepass"), so no str input raises an encoding error.
    text = "00400000-00401000 r--p 00000000 00:00 0 /a\udcff\ud800\nRss: 4 kB\n"
    assert smapsfmt.parse_smaps(text)[0].pathname == b"/a\xff\xed\xa0\x80"
    with pytest.raises(smapsfmt.SmapsSyntaxError):
        smapsfmt.parse_smaps("\ud800")
    with pytest.raises(TypeError):
        smapsfmt.parse_smaps(5)  # type: ignore[arg-type]


def test_models_pickle_and_copy_as_they_are() -> None:
    """A parsed smaps crosses a process boundary (multiprocessing pickles it) and comes back
    equal, its fields read-only again."""
    import copy
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    path = EXTERNAL / "android-libmeminfo/testdata1/smaps"
    smaps = smapsfmt.parse_smaps(path.read_bytes())
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/sleep/smaps_rollup").read_bytes())
    for model in (smaps, smaps[0], rollup):
        again = pickle.loads(pickle.dumps(model))
        assert again == model and type(again) is type(model)
        assert copy.deepcopy(model) == model
    again = pickle.loads(pickle.dumps(smaps[0]))
    assert isinstance(again.fields, MappingProxyType) and again.rss == smaps[0].rss
    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(smapsfmt.parse_smaps, path.read_bytes()).result() == smaps


FIXED_POINT = ("Pss", "Pss_Dirty", "SwapPss", "Locked")  # procfs-smaps: fixed-point-sum


@pytest.mark.parametrize("name", sorted(p.name for p in (LIVE / "6.18").iterdir() if p.is_dir()))
def test_totals_are_what_the_real_rollup_sums(name: str) -> None:
    """Each pair was read from one frozen process: the totals are the rollup's fields that
    smaps prints, in its order, each the rollup's value (fixed-point fields: the kernel's
    value lies in sum .. sum + N - 1); page sizes and THPeligible are not amounts."""
    smaps = smapsfmt.parse_smaps((LIVE / "6.18" / name / "smaps").read_bytes())
    rollup = smapsfmt.parse_rollup((LIVE / "6.18" / name / "smaps_rollup").read_bytes())
    totals = smaps.totals()
    printed = set(smaps[0].fields)
    assert list(totals) == [field for field in rollup.fields if field in printed]
    assert set(rollup.fields) - set(totals) == {"Pss_Anon", "Pss_File", "Pss_Shmem"}
    assert {"Size", "KernelPageSize", "MMUPageSize", "THPeligible"} <= printed - set(totals)
    for field, total in totals.items():
        high = total + len(smaps) - 1 if field in FIXED_POINT else total
        assert total <= rollup.fields[field] <= high, field


def test_totals_leave_out_what_the_document_does_not_sum() -> None:
    """ProtectionKey (not in the rollup) and a vendor field the document does not describe
    are not summed; a described vendor field that the rollup sums (Writeback) is."""
    data = (LIVE / "6.18/sleep/smaps").read_bytes()
    extra = b"Writeback:             4 kB\nProtectionKey:         3\nFooBar:                5 kB\n"
    data = data.replace(b"THPeligible:", extra + b"THPeligible:")
    smaps = smapsfmt.parse_smaps(data)
    assert smaps[0].fields["ProtectionKey"] == 3 and smaps[0].fields["FooBar"] == 5
    totals = smaps.totals()
    assert totals["Writeback"] == 4 * len(smaps)
    assert "ProtectionKey" not in totals and "FooBar" not in totals
