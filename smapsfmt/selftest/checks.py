"""The expectations of bootshaper.c's shapes, from what the ABI document says each field means
(Documentation/ABI/testing/procfs-smaps, Documentation/filesystems/proc.rst), checked on the
mapping each shape describes in its SHAPE line (found by its start address).

Values are in kB as printed; ``P`` is the guest's page size in kB.
- anon: N pages written: Rss = Anonymous = Private_Dirty = N x P, Pss = Rss.
- mlock: N pages written then mlock()ed: Locked = Rss = Size = N x P, VmFlags has ``lo``.
- shared3: N pages of MAP_SHARED anonymous memory written, then mapped by 3 processes that all
  read it: Rss = Shared_Dirty = N x P, Private_* = 0, Pss = Rss / 3 (each page's share is
  P / 3 and the kernel sums shares in fixed point, so the floor, or one below it).
- pkey: pkey_mprotect with key K: ProtectionKey = K; n/a when the kernel or CPU has no keys.
- madv-free: N pages written then given to MADV_FREE: 0 <= LazyFree <= N x P (the kernel marks
  them through a per-CPU batch that may not have drained when the file is read).
- names: file names printed as the kernel escapes them: a blank kept, a newline as ``\\012``,
  an unlinked file with `` (deleted)`` appended.
- thp: one PMD-sized, PMD-aligned region under MADV_HUGEPAGE, written: AnonHugePages = its
  size when the kernel's THP mode is ``always`` or ``madvise``; n/a when ``never`` or absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import smapsfmt

from .frames import Decoded


@dataclass(frozen=True)
class Check:
    shape: str
    field: str
    expected: str
    printed: str
    verdict: str  # pass, fail or n/a
    reason: str = ""


def _is(shape: str, name: str, expected: int | str, printed: int | str | None) -> Check:
    shown = "absent" if printed is None else str(printed)
    return Check(shape, name, str(expected), shown, "pass" if printed == expected else "fail")


def _mapping(data: bytes | None, start: int) -> smapsfmt.Mapping | None:
    if data is None:
        return None
    for mapping in smapsfmt.parse_smaps(data):
        if mapping.start == start:
            return mapping
    return None


def check_shapes(decoded: Decoded) -> list[Check]:
    """The checks of every shape of bootshaper.c that the guest described and framed."""
    checks: list[Check] = []
    for shape, described in sorted(decoded.shapes.items()):
        rule = RULES.get(shape)
        if rule is None:
            continue
        smaps = decoded.file(shape, "smaps")
        try:
            checks += rule(shape, described, smaps)
        except (KeyError, ValueError) as error:
            checks.append(Check(shape, "SHAPE line", "addr and sizes", repr(error), "fail"))
    return checks


def _found(shape: str, key: str, described: dict[str, str], smaps: bytes | None,
           ) -> tuple[smapsfmt.Mapping | None, list[Check]]:  # fmt: skip
    start = int(described[key], 16)
    mapping = _mapping(smaps, start)
    if mapping is None:
        return None, [Check(shape, "mapping", f"{start:x}", "absent", "fail")]
    return mapping, []


def _anon(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    kb = int(d["pages"]) * int(d["pagesize"]) // 1024
    f = m.fields
    return [
        _is(shape, name, kb, f.get(name)) for name in ("Rss", "Anonymous", "Private_Dirty")
    ] + [_is(shape, "Pss", f.get("Rss", -1), f.get("Pss"))]


def _mlock(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    if d.get("mlock") != "0":
        return [Check(shape, "Locked", "-", "-", "n/a", "mlock() failed in the guest")]
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    kb = int(d["pages"]) * int(d["pagesize"]) // 1024
    return [_is(shape, name, kb, m.fields.get(name)) for name in ("Size", "Rss", "Locked")] + [
        _is(shape, "VmFlags lo", "lo", "lo" if "lo" in (m.vmflags or ()) else "no lo")
    ]


def _shared(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    kb = int(d["pages"]) * int(d["pagesize"]) // 1024
    n = int(d["processes"])
    f = m.fields
    out = [
        _is(shape, "Rss", kb, f.get("Rss")),
        _is(shape, "Shared_Dirty", kb, f.get("Shared_Dirty")),
    ]
    out += [_is(shape, name, 0, f.get(name)) for name in ("Private_Clean", "Private_Dirty")]
    pss, low = f.get("Pss"), kb // n - 1
    ok = pss is not None and low <= pss <= kb // n
    out.append(
        Check(shape, "Pss", f"{low}..{kb // n} (Rss / {n})", str(pss), "pass" if ok else "fail")
    )
    return out


def _pkey(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    key = int(d["pkey"])
    if key < 0:
        why = f"pkey_alloc/pkey_mprotect failed in the guest (errno {d.get('errno')}): no keys"
        return [Check(shape, "ProtectionKey", "-", "-", "n/a", why)]
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    return [_is(shape, "ProtectionKey", key, m.fields.get("ProtectionKey"))]


def _madv_free(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    if d.get("madvise") != "0":
        return [Check(shape, "LazyFree", "-", "-", "n/a", "madvise(MADV_FREE) failed")]
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    kb = int(d["pages"]) * int(d["pagesize"]) // 1024
    lazy = m.fields.get("LazyFree")
    ok = lazy is not None and 0 <= lazy <= kb
    return [Check(shape, "LazyFree", f"0..{kb}", str(lazy), "pass" if ok else "fail")]


def _names(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    out: list[Check] = []
    expected = {"blanks": b"/tmp/with blanks", "newline": b"/tmp/new\\012line",
                "deleted": b"/tmp/gone (deleted)"}  # fmt: skip
    for key, name in expected.items():
        m, missing = _found(shape, key, d, smaps)
        if m is None:
            out += missing
            continue
        printed = (m.pathname or b"").decode(errors="backslashreplace")
        out.append(_is(shape, f"pathname ({key})", name.decode(), printed))
    return out


def _thp(shape: str, d: dict[str, str], smaps: bytes | None) -> list[Check]:
    mode = d.get("mode", "none")
    if mode not in ("always", "madvise") or int(d["bytes"]) == 0:
        why = f"transparent huge pages {mode} in the guest kernel"
        return [Check(shape, "AnonHugePages", "-", "-", "n/a", why)]
    m, out = _found(shape, "addr", d, smaps)
    if m is None:
        return out
    kb = int(d["bytes"]) // 1024
    return [_is(shape, "AnonHugePages", kb, m.fields.get("AnonHugePages"))]


RULES = {
    "anon": _anon,
    "mlock": _mlock,
    "shared3": _shared,
    "pkey": _pkey,
    "madv-free": _madv_free,
    "names": _names,
    "thp": _thp,
}
