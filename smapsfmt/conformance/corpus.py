"""Where the corpus is, and its cases for Python tests.

The corpus ships inside the package (``smapsfmt/_data/conformance/`` of the wheel, made from
``conformance/corpus/`` of the source tree); a source checkout reads it where it is.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .manifest import Case, load_manifest

__all__ = ["cases", "corpus_root", "manifest_header", "select"]

_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


def corpus_root() -> Path:
    """The folder of the corpus that ships with this smapsfmt."""
    packaged = Path(__file__).resolve().parent.parent / "_data" / "conformance"
    if (packaged / "manifest.json").is_file():
        return packaged
    source = _SOURCE_ROOT / "conformance" / "corpus"
    if (source / "manifest.json").is_file():
        return source
    raise FileNotFoundError("the conformance corpus is missing from this installation")


def manifest_header(root: Path | None = None) -> dict[str, Any]:
    """The manifest's header: format, format_version, corpus_version."""
    header, _ = load_manifest(root or corpus_root())
    return header


def select(found: Iterable[Case], run: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Case]:
    """The cases whose id matches one of the ``run`` globs (all when none) and none of the
    ``skip`` globs."""
    run, skip = list(run), list(skip)
    return [
        case
        for case in found
        if (not run or any(fnmatch.fnmatchcase(case.id, g) for g in run))
        and not any(fnmatch.fnmatchcase(case.id, g) for g in skip)
    ]


def cases(
    cls: str | Iterable[str] | None = None,
    *,
    kind: str | None = None,
    tags: Iterable[str] = (),
    generated: bool | None = None,
    root: Path | str | None = None,
) -> list[Case]:
    """The corpus's cases, for ``pytest.mark.parametrize("case", cases(), ids=str)``.

    ``cls`` keeps one class or several (``"valid"``, ``"invalid"``,
    ``"implementation-defined"``, ``"pair"``); ``kind`` one kind (``"smaps"``, ``"rollup"``);
    ``tags`` the cases carrying every tag given; ``generated`` only the generated cases (True)
    or only the real ones (False). Each :class:`Case` has ``id``, ``cls``, ``kind``, ``tags``,
    ``data()`` (the input's bytes) and ``expected_json()``."""
    _, found = load_manifest(Path(root) if root is not None else corpus_root())
    classes = {cls} if isinstance(cls, str) else set(cls) if cls is not None else None
    wanted = set(tags)
    return [
        case
        for case in found
        if (classes is None or case.cls in classes)
        and (kind is None or case.kind == kind)
        and wanted <= set(case.tags)
        and (generated is None or case.generated == generated)
    ]
