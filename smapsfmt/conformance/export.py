"""The corpus as files: ``conformance export DIR`` and the versioned tarball of ``pack``."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
from pathlib import Path

from .manifest import load_manifest

__all__ = ["export", "pack"]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def export(root: Path, target: Path) -> int:
    """Copy the corpus at ``root`` into ``target`` (absent or empty); the number of files."""
    load_manifest(root)  # a corpus, not any folder
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target}: exists and is not an empty folder")
    files = _files(root)
    for path in files:
        out = target / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    return len(files)


def pack(root: Path, output: Path) -> tuple[Path, Path]:
    """Write ``smaps-conformance-VERSION.tar.gz`` (members under ``smaps-conformance-VERSION/``,
    sorted, owner 0, mode 0644, time 0: the same bytes on every machine) and its ``.sha256``
    (``sha256sum`` format) into ``output``; their paths."""
    header, _ = load_manifest(root)
    name = f"smaps-conformance-{header['corpus_version']}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _files(root):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{name}/{path.relative_to(root).as_posix()}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)
    output.mkdir(parents=True, exist_ok=True)
    tarball = output / f"{name}.tar.gz"
    tarball.write_bytes(packed)
    digest = output / f"{name}.tar.gz.sha256"
    digest.write_text(f"{hashlib.sha256(packed).hexdigest()}  {tarball.name}\n", encoding="ascii")
    return tarball, digest
