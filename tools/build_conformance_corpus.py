"""Build the portable conformance corpus (conformance/corpus/) from tests/fixtures/.

    python tools/build_conformance_corpus.py          # rewrite conformance/corpus/
    python tools/build_conformance_corpus.py --check  # exit 1 when it is not up to date

The corpus is made, never edited: its inputs are byte-exact copies of the fixtures (git
stores a copy of an identical file once), its expected results come from smapsfmt's
reference decoder (smapsfmt.conformance.decode) and parser, its manifest
(docs/conformance.md, "The manifest") from this script. tests/test_conformance_corpus.py
fails when the committed corpus differs from what this script makes. Run it with the
installed smapsfmt (``.venv/bin/python tools/build_conformance_corpus.py``).

Tags come from the text itself (features), from the manifest of the fixture's folder where it
has one (tests/fixtures/valid/qemu/manifest.json: the kernel captures, whose provenance is
carried over whole), and from a sidecar ``INPUT.case.json`` next to a fixture (kernel, arch,
provenance); see docs/decoder-contract.md.
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import smapsfmt
from smapsfmt._manifest import MANIFEST, dump_manifest
from smapsfmt._model import Mapping, Rollup, Smaps, known_fields, unitless_fields
from smapsfmt._render import render, word_size
from smapsfmt._spec.profiles import Profile, load_profiles
from smapsfmt.conformance.decode import decode
from smapsfmt.conformance.manifest import CORPUS_VERSION, Case, load_manifest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OUT = ROOT / "conformance" / "corpus"
NOT_INPUTS = (".md", ".json", ".expected-error", ".py")

# Inputs of tests/fixtures/invalid/ that a parser may accept or refuse: smapsfmt refuses them,
# the contract leaves them to each parser (docs/decoder-contract.md).
IMPLEMENTATION_DEFINED = {"crlf.smaps"}

# What the fixture folders say of their kernels (their CAPTURES.md / SOURCES.md).
FOLDER_TAGS: dict[str, list[str]] = {
    "valid/live/6.18/": ["kernel:6.18", "arch:x86_64", "source:live"],
    "valid/external/": ["source:external"],
    "valid/external/android-libmeminfo/": ["android"],
}
PROVENANCE = {
    "valid/live/6.18/": "valid/live/6.18/CAPTURES.md",
    "valid/external/": "valid/external/SOURCES.md",
}


def is_rollup(path: Path) -> bool:
    return "rollup" in path.name


def inputs(part: Path) -> list[Path]:
    return sorted(p for p in part.rglob("*") if p.is_file() and not p.name.endswith(NOT_INPUTS))


def dump(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def features(decoded: dict[str, Any], data: bytes) -> list[str]:
    """The feature tags of a decoded valid input (docs/conformance.md lists them)."""
    found: set[str] = set()
    entries = decoded.get("mappings", [decoded])
    if not entries:
        found.add("empty")
    for entry in entries:
        name = entry.get("pathname", "")
        if "pathname_b64" in entry:
            found.add("non-utf8-name")
        if "\t" in name:
            found.add("tabs")
        if name.endswith(" (deleted)"):
            found.add("deleted")
        if "\\012" in name:
            found.add("newline-in-name")
        if " " in name.replace(" (deleted)", ""):
            found.add("blanks-in-name")
        if name.startswith("[anon:"):
            found.add("anon-name")
        if "name" in entry or "name_b64" in entry:
            found.add("android-name")
        if "mappings" in decoded and "vmflags" not in entry:
            found.add("no-vmflags")
        if entry.get("vmflags") == []:
            found.add("empty-vmflags")
        for field, value in entry["fields"].items():
            if field not in known_fields():
                found.add("vendor-field")
            if field in unitless_fields():
                found.add("unitless-field")
            if len(value) > 8:
                found.add("wide-value")
        if len(entry.get("start", "")) > 8:
            found.add("64-bit-addresses")
    if decoded.get("mappings"):
        found.add(f"bits:{word_size(data)}")
    return sorted(found)


def sidecar(fixture: Path) -> dict[str, Any]:
    path = Path(f"{fixture}.case.json")
    if not path.is_file():
        return {}
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def manifested(fixture: Path) -> Case | None:
    """The fixture's case in the manifest of the nearest folder above it that has one."""
    for parent in fixture.parents:
        if parent == FIXTURES or FIXTURES not in parent.parents:
            return None
        if (parent / MANIFEST).is_file():
            rel = str(fixture.relative_to(parent))
            return next((c for c in listed(parent) if c.inputs.get(c.kind) == rel), None)
    return None


@functools.cache
def listed(root: Path) -> list[Case]:
    return load_manifest(root)[1]


def kernel_tags(case: Case) -> list[str]:
    """The tags a kernel capture's manifest entry gives its conformance case."""
    tags = list(case.tags)
    kernel = (case.provenance or {}).get("kernel")
    if kernel:
        tags += [f"kernel:{kernel['release']}", "source:qemu"]
    return tags


def folder(rel: str, table: dict[str, Any]) -> list[Any]:
    return [value for prefix, value in table.items() if rel.startswith(prefix)]


def as_printed_by(profile: Profile, model: Smaps) -> bytes:
    """A real capture's entries as the kernel of ``profile`` prints them: its lines, in its
    order, values from the capture (0 for a field the capture lacks), its VmFlags mnemonics."""
    mappings = []
    for m in model:
        fields = {
            line.field: m.fields.get(line.field, 0)
            for line in profile.smaps_lines
            if not line.optional
        }
        vmflags = None
        if profile.vmflags_prefix is not None:
            vmflags = tuple(f for f in m.vmflags or () if f in profile.vmflags)
        mappings.append(
            Mapping(
                line=m.line,
                start=m.start,
                end=m.end,
                perms=m.perms,
                offset=m.offset,
                major=m.major,
                minor=m.minor,
                inode=m.inode,
                pathname=m.pathname,
                fields=fields,
                vmflags=vmflags,
            )
        )
    return render(Smaps(mappings=tuple(mappings)), profile)


class Builder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.cases: list[dict[str, Any]] = []

    def write(self, rel: str, data: bytes) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def case(self, entry: dict[str, Any], data: bytes) -> None:
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        entry["tags"] = sorted(set(entry["tags"]))
        self.cases.append(entry)

    def valid(
        self,
        data: bytes,
        rel: str,
        extra_tags: list[str],
        generated: bool,
        fixture: Path | None = None,
    ) -> None:
        kind = "rollup" if is_rollup(Path(rel)) else "smaps"
        decoded = decode(data, kind)
        self.write(rel, data)
        self.write(rel + ".json", dump(decoded))
        more = sidecar(fixture) if fixture is not None else {}
        listed = manifested(fixture) if fixture is not None else None
        if listed is not None:
            more = {"tags": kernel_tags(listed), "provenance": listed.provenance, **more}
        tags = [f"kind:{kind}", *extra_tags, *features(decoded, data), *more.get("tags", [])]
        if fixture is not None:
            for found in folder(rel, FOLDER_TAGS):
                tags += found
        entry: dict[str, Any] = {
            "id": rel,
            "class": "valid",
            "kind": kind,
            "input": rel,
            "expected": rel + ".json",
            "generated": generated,
            "tags": tags,
        }
        provenance = more.get("provenance") or (folder(rel, PROVENANCE) or [None])[-1]
        if isinstance(provenance, str):  # a sidecar's or a folder's document
            provenance = {"document": provenance}
        if provenance:
            entry["provenance"] = provenance
        if fixture is not None:
            entry["source"] = str(fixture.relative_to(ROOT))
        self.case(entry, data)

    def refused(self, fixture: Path, rel: str, cls: str) -> None:
        data = fixture.read_bytes()
        kind = "rollup" if is_rollup(fixture) else "smaps"
        try:
            decode(data, kind)
        except smapsfmt.SmapsSyntaxError as exc:
            expected: dict[str, Any] = {
                "line": exc.line,
                "column": exc.column,
                "rule": fixture.name.rsplit(".", 1)[0],
                "message": exc.msg,
            }
        else:
            if cls == "invalid":
                raise SystemExit(f"{fixture}: smapsfmt accepts an input of invalid/")
            expected = {"reference": "accepted"}
        if cls == "implementation-defined":
            expected = {"reference": "refused" if "line" in expected else "accepted", **expected}
        self.write(rel, data)
        self.write(rel + ".json", dump(expected))
        tags = [f"kind:{kind}", f"rule:{fixture.name.rsplit('.', 1)[0]}"]
        self.case(
            {
                "id": rel,
                "class": cls,
                "kind": kind,
                "input": rel,
                "expected": rel + ".json",
                "generated": False,
                "tags": tags,
                "source": str(fixture.relative_to(ROOT)),
            },
            data,
        )

    def derived(self, name: str, data: bytes, kind: str, how: str, base: str) -> None:
        """An implementation-defined input made from a real capture by one edit."""
        rel = f"implementation-defined/{name}"
        try:
            decode(data, kind)
            expected: dict[str, Any] = {"reference": "accepted"}
        except smapsfmt.SmapsSyntaxError as exc:
            expected = {
                "reference": "refused",
                "line": exc.line,
                "column": exc.column,
                "rule": name.rsplit(".", 1)[0],
                "message": exc.msg,
            }
        self.write(rel, data)
        self.write(rel + ".json", dump(expected))
        self.case(
            {
                "id": rel,
                "class": "implementation-defined",
                "kind": kind,
                "input": rel,
                "expected": rel + ".json",
                "generated": False,
                "tags": [f"kind:{kind}", f"rule:{name.rsplit('.', 1)[0]}"],
                "provenance": {"document": f"{base}, {how}"},
            },
            data,
        )

    def pair(self, smaps_rel: str, rollup_rel: str) -> None:
        smaps = smapsfmt.parse_smaps((self.out / smaps_rel).read_bytes())
        rollup = smapsfmt.parse_rollup((self.out / rollup_rel).read_bytes())
        try:
            aggregated = smapsfmt.aggregate(smaps)
        except ValueError:
            return
        intervals = {
            name: [str(iv.lo), None if iv.hi is None else str(iv.hi)]
            for name, iv in aggregated.intervals.items()
            if name in rollup.fields
        }
        outside = [
            name
            for name, (lo, hi) in intervals.items()
            if not (
                int(lo) <= rollup.fields[name] and (hi is None or rollup.fields[name] <= int(hi))
            )
        ]
        if outside:  # a capture that does not prove: not a pair
            return
        rel = "pairs/" + smaps_rel.removeprefix("valid/").rsplit("/", 1)[0] + ".json"
        body = {"smaps": smaps_rel, "rollup": rollup_rel, "intervals": intervals}
        data = dump(body)
        self.write(rel, data)
        self.case(
            {
                "id": rel.removesuffix(".json"),
                "class": "pair",
                "kind": "pair",
                "inputs": {"smaps": smaps_rel, "rollup": rollup_rel},
                "expected": rel,
                "generated": False,
                "tags": ["kind:pair"],
            },
            data,
        )

    def generated(self, base: bytes) -> None:
        model = smapsfmt.parse_smaps(base)
        for profile in load_profiles():
            tags = ["generated", f"profile:{profile.name}"]
            if profile.variant_of:
                tags.append("android")
            rel = f"generated/{profile.name}/smaps"
            data = as_printed_by(profile, model)
            self.valid(data, rel, tags, generated=True)
            if profile.rollup_header is not None and profile.rollup_lines:
                summed = {line.field: 0 for line in profile.rollup_lines}
                for m in model:
                    for key in summed:
                        summed[key] += m.fields.get(key, 0)
                first = model[0]
                rollup = Rollup(
                    line=1,
                    start=first.start,
                    end=model[-1].end,
                    perms="---p",
                    offset=0,
                    major=0,
                    minor=0,
                    inode=0,
                    pathname=b"[rollup]",
                    fields=summed,
                )
                data = render(rollup, profile)
                self.valid(data, f"generated/{profile.name}/smaps_rollup", tags, True)

    def manifest(self) -> None:
        self.write(MANIFEST, dump_manifest(self.cases, CORPUS_VERSION))


def build(out: Path) -> None:
    builder = Builder(out)
    for fixture in inputs(FIXTURES / "valid"):
        rel = str(fixture.relative_to(FIXTURES))
        builder.valid(fixture.read_bytes(), rel, [], generated=False, fixture=fixture)
    for doc in ("valid/live/6.18/CAPTURES.md", "valid/external/SOURCES.md"):
        builder.write(doc, (FIXTURES / doc).read_bytes())
    for fixture in inputs(FIXTURES / "invalid"):
        if fixture.name in IMPLEMENTATION_DEFINED:
            builder.refused(
                fixture, f"implementation-defined/{fixture.name}", "implementation-defined"
            )
        else:
            builder.refused(fixture, f"invalid/{fixture.name}", "invalid")
    base_rel = "valid/external/prometheus-procfs/fixtures/proc/26231/smaps"
    base = (FIXTURES / base_rel).read_bytes()
    rollup = (FIXTURES / base_rel).with_name("smaps_rollup").read_bytes()
    lines = base.split(b"\n")
    last_header = max(i for i, line in enumerate(lines) if b"-" in line[:20] and b" " in line)
    builder.derived(
        "no-final-newline.smaps", base[:-1], "smaps", "without its last byte (\\n)", base_rel
    )
    builder.derived(
        "no-final-newline.smaps_rollup",
        rollup[:-1],
        "rollup",
        "without its last byte (\\n)",
        base_rel.replace("smaps", "smaps_rollup"),
    )
    builder.derived(
        "truncated-last-entry.smaps",
        b"\n".join(lines[: last_header + 5]) + b"\n",
        "smaps",
        "cut after the fourth field line of its last entry",
        base_rel,
    )
    cut = b"\n".join(lines[: last_header + 5])
    builder.derived(
        "truncated-mid-line.smaps",
        cut[: len(cut) - 4],
        "smaps",
        "cut in the middle of a field line of its last entry",
        base_rel,
    )
    builder.derived(
        "trailing-blanks.smaps",
        base.replace(b" kB\n", b" kB \n", 1),
        "smaps",
        "a blank added after the first ' kB'",
        base_rel,
    )
    # What the kernel prints for a kernel thread (no mm): nothing (task_mmu.c m_start).
    builder.valid(b"", "valid/kernel-thread/smaps", ["source:contract"], generated=False)
    for fixture in inputs(FIXTURES / "valid"):
        if fixture.name == "smaps" and fixture.with_name("smaps_rollup").is_file():
            rel = str(fixture.relative_to(FIXTURES))
            builder.pair(rel, rel + "_rollup")
    builder.generated(base)
    builder.manifest()


def same_tree(a: Path, b: Path) -> list[str]:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(p) for p in files_a ^ files_b)
    for rel in sorted(files_a & files_b):
        if not filecmp.cmp(a / rel, b / rel, shallow=False):
            differ.append(str(rel))
    return differ


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--check", action="store_true", help="exit 1 when out of date")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        made = Path(tmp) / "corpus"
        build(made)
        if args.check:
            differ = same_tree(made, OUT)
            for rel in differ:
                print(f"out of date: conformance/corpus/{rel}")
            return 1 if differ else 0
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(made, OUT)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
