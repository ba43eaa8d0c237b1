"""jc's proc_pid_smaps parser as a decoder of the contract (``jc.parse``, processed output).

The input is decoded as jc's command line reads it (UTF-8; bytes that are not UTF-8 kept as
lone surrogates and encoded back here). jc's processed output is turned back into the
contract: the permission words (read, write, execute, private/shared) into ``r-xp``, the
integer values into their digits, ``maj`` and ``min`` into ``dev``. jc raises ParseError for
text it refuses (exit 1); any other exception is a crash (exit 2). covers.json: smaps only
(jc has no smaps_rollup parser), every header part, every field, VmFlags and Name.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
from typing import Any

import jc
from jc.exceptions import ParseError

HEADER = {"start", "end", "perms", "offset", "maj", "min", "inode", "pathname", "Name",
          "VmFlags", "VmFlags_pretty"}  # fmt: skip


def text(key: str, value: str, out: dict[str, Any]) -> None:
    raw = value.encode("utf-8", "surrogateescape")
    try:
        out[key] = raw.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(raw).decode()


def perms(words: list[str]) -> str:
    return (
        ("r" if "read" in words else "-")
        + ("w" if "write" in words else "-")
        + ("x" if "execute" in words else "-")
        + ("s" if "shared" in words else "p")
    )


def entry(found: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "start": found.get("start"),
        "end": found.get("end"),
        "perms": perms(found.get("perms") or []),
        "offset": found.get("offset"),
        "dev": f"{found.get('maj')}:{found.get('min')}",
        "inode": str(found.get("inode")),
    }
    text("pathname", found.get("pathname") or "", out)
    if "Name" in found:
        if isinstance(found["Name"], str):
            text("name", found["Name"], out)
        else:
            out["name"] = found["Name"]
    out["fields"] = {key: str(value) for key, value in found.items() if key not in HEADER}
    if "VmFlags" in found:
        out["vmflags"] = found["VmFlags"]
    return out


def main() -> int:
    data = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    try:
        found = jc.parse("proc_pid_smaps", data, quiet=True)
    except ParseError as exc:
        print(f"jc refused the input: {exc}", file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - any other failure of jc is a crash
        traceback.print_exc()
        return 2
    print(json.dumps({"mappings": [entry(m) for m in found]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
