"""A boot's captures written as corpus fixtures, with their provenance in the manifest.

Layout: ``DIR/<label>/<shape>/smaps`` and ``.../smaps_rollup``, byte for byte as the guest
sent them, and one ``DIR/manifest.json`` for every capture under DIR, in the corpus manifest
format of the whole corpus (``smapsfmt._manifest``, docs/decoder-contract.md): each case's
``provenance`` holds the kernel (``kernel``), the Debian package and the image in it with
their sha256 (``package``), the package of the modules the guest loaded (``modules``, when
it loaded any), qemu's version and command line (``qemu``), and what the shape did (``shape``).
An ``expected`` result is named where ``X.expected.json`` is beside the capture (the test
suite's fixtures; tools/update_expected.py writes them).

Writing a label replaces that label's cases (or only those of the shapes written) and keeps
the others.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._manifest import MANIFEST, dump_manifest, load_manifest
from .boot import BootResult
from .qemu import qemu_version, shell_words


@dataclass(frozen=True)
class Source:
    package: str
    package_version: str
    package_sha256: str
    image_in_package: str
    image_sha256: str


def _tags(shape: str, data: bytes, arch: str, page_size: int) -> list[str]:
    tags = [f"arch:{arch}", f"page-size:{page_size}"]
    if arch == "i386":
        tags.append("32-bit")
    if b"\nProtectionKey:" in data and any(
        line.startswith(b"ProtectionKey:") and line.split()[1] != b"0"
        for line in data.split(b"\n")
    ):
        tags.append("protection-key")
    if b"\\012" in data:
        tags.append("newline-in-name")
    if b" (deleted)\n" in data:
        tags.append("deleted")
    if any(line.startswith(b"Swap:") and line.split()[1] != b"0" for line in data.split(b"\n")):
        tags.append("swap")
    return [*tags, f"shape:{shape}"]


def write(
    result: BootResult,
    label: str,
    where: Path,
    source: Source | None,
    shapes: set[str] | None = None,
) -> list[Path]:
    """Write ``result``'s captures (of ``shapes``, default all) under ``where/label`` and
    update ``where/manifest.json``."""
    capture = result.capture
    page_size = capture.page_size
    folder = where / label
    if folder.exists() and shapes is None:
        shutil.rmtree(folder)
    written: list[Path] = []
    cases: list[dict[str, Any]] = []
    provenance = _provenance(result, source)
    for name, record in sorted(capture.shapes.items()):
        if shapes is not None and name not in shapes:
            continue
        for file, data in sorted(record.files.items()):
            path = folder / name / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
            rel = f"{label}/{name}/{file}"
            case: dict[str, Any] = {
                "id": rel, "class": "valid",
                "kind": "rollup" if file == "smaps_rollup" else "smaps", "input": rel,
                "sha256": hashlib.sha256(data).hexdigest(), "generated": False,
                "tags": _tags(name, data, result.arch, page_size),
                "provenance": {**provenance, "shape": _shape(name, record.pairs)},
            }  # fmt: skip
            cases.append(case)
    old: list[dict[str, Any]] = []
    if (where / MANIFEST).exists():
        _, kept = load_manifest(where)
        old = [_raw(c) for c in kept if not _replaced(c.id, label, shapes)]
    every = old + cases
    for case in every:
        expected = where / f"{case['input']}.expected.json"
        case.pop("expected", None)
        if expected.is_file():
            case["expected"] = f"{case['input']}.expected.json"
    (where / MANIFEST).write_bytes(dump_manifest(every))
    return written


def _provenance(result: BootResult, source: Source | None) -> dict[str, Any]:
    provenance: dict[str, Any] = {
        "kernel": {
            "release": result.release,
            "arch": result.arch,
            "page_size": result.capture.page_size,
            "version": result.init.get("VERSION", ""),
        }
    }
    if source is not None:
        provenance["package"] = {
            "name": source.package,
            "version": source.package_version,
            "sha256": source.package_sha256,
            "image": source.image_in_package,
            "image_sha256": source.image_sha256,
        }
    modules = result.modules
    if modules.files:
        provenance["modules"] = {
            "name": modules.package,
            "version": modules.package_version,
            "sha256": modules.package_sha256,
            "files": list(modules.paths),
            "loaded": [f"{name} {outcome}" for name, outcome in result.loaded],
        }
    provenance["qemu"] = {
        "version": qemu_version(result.arch),
        "command": shell_words(_portable(result.boot.command, result.image)),
    }
    return provenance


def _shape(name: str, pairs: Any) -> dict[str, Any]:
    """What the shape did; the anon-name shape's own ``name`` (the VMA name it gave) is kept
    as ``vma_name``, ``name`` being the shape's."""
    facts = {("vma_name" if key == "name" else key): value for key, value in pairs}
    return {"name": name, **facts}


def _raw(case: Any) -> dict[str, Any]:
    """A case read back as its manifest entry."""
    raw: dict[str, Any] = {
        "id": case.id, "class": case.cls, "kind": case.kind, "input": case.inputs[case.kind],
        "sha256": case.sha256, "generated": case.generated, "tags": list(case.tags),
    }  # fmt: skip
    if case.provenance is not None:
        raw["provenance"] = case.provenance
    return raw


def _replaced(path: str, label: str, shapes: set[str] | None) -> bool:
    """Whether the case at ``path`` is one that writing ``label`` (``shapes``) replaces."""
    parts = path.split("/")
    return parts[0] == label and (shapes is None or parts[1] in shapes)


def _portable(command: list[str], image: Path) -> list[str]:
    """The qemu command with the machine's paths replaced by what they hold."""
    out = []
    for word in command:
        if word == str(image):
            out.append("IMAGE")
        elif word.endswith("initramfs.cpio"):  # its programs and modules are in provenance
            out.append("INITRAMFS")
        else:
            out.append(word)
    return out
