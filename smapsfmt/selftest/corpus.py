"""A boot's captures written as corpus fixtures, with their provenance in the manifest.

Layout: ``DIR/<label>/<shape>/smaps`` and ``.../smaps_rollup``, byte for byte as the guest
sent them, and one ``DIR/MANIFEST.json`` for every capture under DIR::

    {"manifest": 1, "cases": [{"path": "<label>/<shape>/smaps", "kind": "smaps",
      "bytes": N, "sha256": "...", "real": true, "tags": [...],
      "kernel": {"release": "...", "arch": "...", "page_size": 4096, "version": "Linux ..."},
      "source": {"package": "name:arch", "package_version": "...", "package_sha256": "...",
                 "image": "path in the package", "image_sha256": "...",
                 "qemu": "QEMU emulator version ...", "command": "qemu-system-... ..."},
      "shape": {"name": "<shape>", "key": "value", ...}}]}

Cases are sorted by path; writing a label replaces that label's cases and keeps the others.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .boot import BootResult
from .qemu import qemu_version, shell_words

MANIFEST = "MANIFEST.json"


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
    return [*tags, f"shape:{shape}"]


def write(
    result: BootResult,
    label: str,
    where: Path,
    source: Source | None,
    shapes: set[str] | None = None,
) -> list[Path]:
    """Write ``result``'s captures (of ``shapes``, default all) under ``where/label`` and
    update ``where/MANIFEST.json``."""
    capture = result.capture
    page_size = capture.page_size
    folder = where / label
    if folder.exists() and shapes is None:
        shutil.rmtree(folder)
    written: list[Path] = []
    cases: list[dict[str, Any]] = []
    provenance: dict[str, Any] = {
        "qemu": qemu_version(result.arch),
        "command": shell_words(_portable(result.boot.command, result.image)),
    }
    if source is not None:
        provenance = {
            "package": source.package,
            "package_version": source.package_version,
            "package_sha256": source.package_sha256,
            "image": source.image_in_package,
            "image_sha256": source.image_sha256,
            **provenance,
        }
    kernel = {
        "release": result.release,
        "arch": result.arch,
        "page_size": page_size,
        "version": result.init.get("VERSION", ""),
    }
    for name, record in sorted(capture.shapes.items()):
        if shapes is not None and name not in shapes:
            continue
        for file, data in sorted(record.files.items()):
            path = folder / name / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
            cases.append({
                "path": f"{label}/{name}/{file}",
                "kind": "rollup" if file == "smaps_rollup" else "smaps",
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "real": True,
                "tags": _tags(name, data, result.arch, page_size),
                "kernel": kernel,
                "source": provenance,
                "shape": {"name": name, **dict(record.pairs)},
            })  # fmt: skip
    manifest = where / MANIFEST
    old: list[dict[str, Any]] = []
    if manifest.exists():
        old = [c for c in json.loads(manifest.read_text())["cases"]
               if not _replaced(str(c["path"]), label, shapes)]  # fmt: skip
    every = sorted(old + cases, key=lambda c: str(c["path"]))
    manifest.write_text(json.dumps({"manifest": 1, "cases": every}, indent=1) + "\n")
    return written


def _replaced(path: str, label: str, shapes: set[str] | None) -> bool:
    parts = path.split("/")
    return parts[0] == label and (shapes is None or parts[1] in shapes)


def _portable(command: list[str], image: Path) -> list[str]:
    """The qemu command with the machine's paths replaced by what they hold."""
    out = []
    for word in command:
        if word == str(image):
            out.append("IMAGE")
        elif word.endswith("initramfs.cpio"):
            out.append("INITRAMFS")
        else:
            out.append(word)
    return out
