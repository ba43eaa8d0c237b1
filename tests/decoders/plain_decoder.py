"""A decoder of the contract written apart from smapsfmt (standard library only, its own
reading of the format), to test the harness with: ``python plain_decoder.py [MODE]``.

MODE (or PLAIN_DECODER_MODE in the environment) makes it wrong on purpose, as parsers are in
the wild:
  correct        the contract, as docs/decoder-contract.md says it
  drop-mapping   loses the last mapping of every smaps with more than one
  round          reports Rss rounded to a multiple of 1024 kB (values in MB, back to kB)
  accept-garbage prints {"mappings": []} for any input it cannot read, and exits 0
  crash          exits 3 on the first input that has a Name: line
  hang           sleeps on inputs with a Name: line
  totals         prints {"totals": {...}}: each field summed
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time

HEADER = re.compile(
    rb"^([0-9a-f]{8,16})-([0-9a-f]{8,16}) ([r-][w-][x-][sp]) ([0-9a-f]{8,}) "
    rb"([0-9a-f]{2,}:[0-9a-f]{2,}) ([0-9]+)(?: +(.*))?$"
)
FIELD = re.compile(rb"^([A-Za-z][A-Za-z0-9_]*): +([0-9]+)( kB)?$")
NAME = re.compile(rb"^Name: +(.*)$")


class Refused(Exception):
    pass


def text(key: str, raw: bytes, out: dict) -> None:
    try:
        out[key] = raw.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(raw).decode()


def entries(data: bytes) -> list[dict]:
    if data and not data.endswith(b"\n"):
        raise Refused("no final newline")
    found: list[dict] = []
    for line in data.split(b"\n")[:-1]:
        header = HEADER.match(line)
        if header:
            start, end, perms, offset, dev, inode, path = header.groups()
            entry = {
                "start": start.decode(),
                "end": end.decode(),
                "perms": perms.decode(),
                "offset": offset.decode(),
                "dev": dev.decode(),
                "inode": inode.decode(),
                "fields": {},
            }
            text("pathname", path or b"", entry)
            found.append(entry)
            continue
        if not found:
            raise Refused("text before the first header")
        if line.startswith(b"VmFlags:"):
            entry["vmflags"] = line[len(b"VmFlags:") :].split()
            entry["vmflags"] = [f.decode() for f in entry["vmflags"]]
            continue
        name = NAME.match(line)
        if name:
            text("name", name.group(1), entry)
            continue
        field = FIELD.match(line)
        if not field or field.group(1).decode() in entry["fields"]:
            raise Refused(f"not a field line: {line[:40]!r}")
        entry["fields"][field.group(1).decode()] = field.group(2).decode()
    for entry in found:
        if not entry["fields"]:
            raise Refused("a header without fields")
    return found


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLAIN_DECODER_MODE", "correct")
    kind = os.environ["SMAPS_KIND"]
    data = sys.stdin.buffer.read()
    if mode in ("crash", "hang") and b"\nName:" in data:
        if mode == "hang":
            time.sleep(60)
        return 3
    try:
        found = entries(data)
        if kind == "rollup" and (len(found) != 1 or "vmflags" in found[0]):
            raise Refused("a rollup has one entry")
    except Refused as exc:
        if mode == "accept-garbage":
            print(json.dumps({"mappings": []}))
            return 0
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    if mode == "drop-mapping" and len(found) > 1:
        found = found[:-1]
    if mode == "round":
        for entry in found:
            if "Rss" in entry["fields"]:
                entry["fields"]["Rss"] = str(round(int(entry["fields"]["Rss"]) / 1024) * 1024)
    if mode == "totals":
        totals: dict[str, int] = {}
        for entry in found:
            for key, value in entry["fields"].items():
                totals[key] = totals.get(key, 0) + int(value)
        print(json.dumps({"totals": {k: str(v) for k, v in totals.items()}}))
        return 0
    if kind == "rollup":
        entry = found[0]
        print(
            json.dumps({"start": entry["start"], "end": entry["end"], "fields": entry["fields"]})
        )
    else:
        print(json.dumps({"mappings": found}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
