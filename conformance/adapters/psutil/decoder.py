"""psutil as a decoder of the contract: Process.memory_maps(grouped=False) over a fake /proc.

The input goes into a temporary proc tree (``PID/smaps``, with this process's own ``stat``
and the machine's ``/proc/stat``, which psutil reads to identify the process), and
``psutil.PROCFS_PATH`` points there. psutil raises ValueError for text it cannot interpret:
that is a refusal (exit 1); any other exception is a crash (exit 2, the traceback on stderr).
covers.json says what memory_maps reports: start, end, perms, the path with psutil's own
conventions, ten fields (in bytes: divided back to kB here), no offset, device, inode, VmFlags
or Name.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import traceback

import psutil

FIELDS = ("Rss", "Size", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean",
          "Private_Dirty", "Referenced", "Anonymous", "Swap")  # fmt: skip


def path_json(path: str) -> dict[str, str]:
    raw = path.encode("utf-8", "surrogateescape")
    try:
        return {"pathname": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"pathname_b64": base64.b64encode(raw).decode()}


def main() -> int:
    data = sys.stdin.buffer.read()
    pid = os.getpid()
    root = tempfile.mkdtemp(prefix="psutil-proc-")
    try:
        os.mkdir(f"{root}/{pid}")
        with open(f"{root}/{pid}/smaps", "wb") as out:
            out.write(data)
        shutil.copyfile(f"/proc/{pid}/stat", f"{root}/{pid}/stat")
        shutil.copyfile("/proc/stat", f"{root}/stat")
        psutil.PROCFS_PATH = root
        try:
            maps = psutil.Process(pid).memory_maps(grouped=False)
        except ValueError as exc:
            print(f"psutil refused the input: {exc}", file=sys.stderr)
            return 1
    except Exception:  # noqa: BLE001 - any other failure of psutil is a crash
        traceback.print_exc()
        return 2
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mappings = []
    for m in maps:
        start, end = m.addr.split("-")
        entry = {"start": start, "end": end, "perms": m.perms, **path_json(m.path)}
        values = (m.rss, m.size, m.pss, m.shared_clean, m.shared_dirty, m.private_clean,
                  m.private_dirty, m.referenced, m.anonymous, m.swap)  # fmt: skip
        entry["fields"] = {
            name: str(value // 1024) for name, value in zip(FIELDS, values, strict=True)
        }
        mappings.append(entry)
    print(json.dumps({"mappings": mappings}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
