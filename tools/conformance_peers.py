"""Run every peer adapter (conformance/adapters/) on the corpus and write the results table
of docs/conformance.md (between its "peers:begin" and "peers:end" markers).

    python tools/conformance_peers.py            # rerun the peers, rewrite the table
    python tools/conformance_peers.py --check    # rerun them; exit 1 if the table differs
    python tools/conformance_peers.py --json F   # also write every run's JSON report to F

Needs what .ci/run installs: the test extra (psutil, jc: pinned, so that the table is
reproducible) and Debian's golang-go, golang-github-prometheus-procfs-dev and
golang-github-shirou-gopsutil-dev (the Go adapters are built here, in GOPATH mode against
Debian's sources). Uses the installed smapsfmt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ROOT / "conformance" / "adapters"
DOC = ROOT / "docs" / "conformance.md"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
GOPATH = "/usr/share/gocode"

SHORT = {
    "PASS": "pass",
    "REJECTED_VALID": "rejected",
    "ACCEPTED_INVALID": "accepted",
    "WRONG_VALUE": "wrong",
    "CRASH": "crash",
    "TIMEOUT": "timeout",
}


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    command: list[str]
    covers: Path | None


class PeerError(Exception):
    pass


def debian_version(package: str) -> str:
    found = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if found.returncode != 0 or not found.stdout:
        raise PeerError(f"Debian package {package} is not installed (see .ci/run)")
    return f"{found.stdout} (Debian {package})"


def build_go(name: str, out: Path) -> Path:
    if shutil.which("go") is None:
        raise PeerError("go is not installed: apt-get install golang-go (see .ci/run)")
    binary = out / name
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "smapsfmt-go-cache"))
    built = subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=ADAPTERS / name, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        raise PeerError(f"go build of {name} failed:\n{built.stderr}")
    return binary


def peers(build_dir: Path) -> list[Peer]:
    import smapsfmt

    python = sys.executable
    return [
        Peer(
            "smapsfmt conformance decode",
            smapsfmt.__version__,
            [python, "-m", "smapsfmt", "conformance", "decode"],
            None,
        ),
        Peer(
            "psutil",
            metadata.version("psutil"),
            [python, str(ADAPTERS / "psutil" / "decoder.py")],
            ADAPTERS / "psutil" / "covers.json",
        ),
        Peer(
            "jc",
            metadata.version("jc"),
            [python, str(ADAPTERS / "jc" / "decoder.py")],
            ADAPTERS / "jc" / "covers.json",
        ),
        Peer(
            "prometheus/procfs",
            debian_version("golang-github-prometheus-procfs-dev"),
            [str(build_go("procfs-go", build_dir))],
            ADAPTERS / "procfs-go" / "covers.json",
        ),
        Peer(
            "gopsutil",
            debian_version("golang-github-shirou-gopsutil-dev"),
            [str(build_go("gopsutil-go", build_dir))],
            ADAPTERS / "gopsutil-go" / "covers.json",
        ),
    ]


def run_peer(peer: Peer) -> dict[str, Any]:
    # A generous time limit: a TIMEOUT in the table must be the peer's, not a loaded machine's.
    args = [sys.executable, "-m", "smapsfmt", "conformance", "run", "--format", "json",
            "--timeout", "120"]  # fmt: skip
    if peer.covers is not None:
        args += ["--covers", str(peer.covers)]
    done = subprocess.run(
        [*args, "--", *peer.command], capture_output=True, check=False, timeout=1800,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise PeerError(f"{peer.name}: the harness exited {done.returncode}: {done.stderr!r}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def cell(case: dict[str, Any] | None) -> str:
    if case is None:
        return "—"
    if case["class"] == "implementation-defined" and case["outcome"] == "PASS":
        return "accepts" if case["accepted"] else "refuses"
    return SHORT[case["outcome"]]


def table(found: list[tuple[Peer, dict[str, Any]]], all_ids: list[str]) -> str:
    by_peer = [{c["id"]: c for c in report["cases"]} for _, report in found]
    names = [peer.name for peer, _ in found]
    head = "| case | " + " | ".join(names) + " |"
    rule = "|---|" + "---|" * len(names)
    lines = [
        "Generated by `python tools/conformance_peers.py`; do not edit by hand. Cells: "
        "pass, rejected (REJECTED_VALID), accepted (ACCEPTED_INVALID), wrong (WRONG_VALUE), "
        "crash (CRASH), timeout (TIMEOUT), — (outside what the adapter covers); on "
        "implementation-defined cases, accepts or refuses (both pass).",
        "",
        "### Peers",
        "",
        "| peer | version | what it covers | " + " | ".join(SHORT) + " | skipped |",
        "|---|---|---|" + "---:|" * (len(SHORT) + 1),
    ]
    for peer, report in found:
        covers = "the whole contract"
        if peer.covers is not None:
            covers = (
                json.loads(peer.covers.read_text())["name"]
                + f" (`{peer.covers.relative_to(ROOT)}`)"
            )
        s = report["summary"]
        counts = " | ".join(str(s[name]) for name in SHORT)
        lines.append(f"| {peer.name} | {peer.version} | {covers} | {counts} | {s['skipped']} |")
    # The pruned view: one case per distinct row of outcomes, with how many cases share it.
    rows: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for case_id in all_ids:
        rows[tuple(cell(p.get(case_id)) for p in by_peer)].append(case_id)
    lines += [
        "",
        "### Pruned: one case per distinct row of outcomes",
        "",
        "| case (and how many share its row) | " + " | ".join(names) + " |",
        rule,
    ]
    for outcomes, ids in sorted(rows.items(), key=lambda item: item[1][0]):
        more = f" (+{len(ids) - 1})" if len(ids) > 1 else ""
        lines.append(f"| `{ids[0]}`{more} | " + " | ".join(outcomes) + " |")
    lines += ["", "<details><summary>Every case</summary>", "", head, rule]
    for case_id in all_ids:
        lines.append(
            f"| `{case_id}` | " + " | ".join(cell(p.get(case_id)) for p in by_peer) + " |"
        )
    lines += ["", "</details>", "", "### Every failure, traced to its case", ""]
    for peer, report in found:
        bad = [c for c in report["cases"] if c["outcome"] != "PASS"]
        lines.append(f"<details><summary>{peer.name}: {len(bad)} failures</summary>")
        lines.append("")
        if bad:
            lines += ["| case | outcome | field | detail |", "|---|---|---|---|"]
        for c in bad:
            detail = c.get("detail", "").replace("|", "\\|")
            lines.append(f"| `{c['id']}` | {c['outcome']} | {c.get('field', '')} | {detail} |")
        lines += ["", "</details>", ""]
    totals = Counter(c["outcome"] for _, r in found for c in r["cases"])
    lines.append(f"{sum(totals.values())} runs in all.")
    return "\n".join(lines)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--check", action="store_true", help="exit 1 if the table differs")
    options.add_argument("--json", metavar="FILE", help="write the reports to FILE")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            found = [(peer, run_peer(peer)) for peer in peers(Path(tmp))]
        except PeerError as exc:
            print(f"conformance_peers: {exc}", file=sys.stderr)
            return 2
    from smapsfmt.conformance import cases

    all_ids = [case.id for case in cases()]
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:start] + "\n" + table(found, all_ids) + "\n" + text[end:]
    if args.json:
        Path(args.json).write_text(
            json.dumps([{"peer": p.name, "version": p.version, **r} for p, r in found], indent=1)
        )
    for peer, report in found:
        s = report["summary"]
        print(f"{peer.name}: {s['PASS']} passed, {s['failed']} failed, {s['skipped']} skipped")
    if args.check:
        if new != text:
            print("docs/conformance.md: the peers' table is not what the peers do today; "
                  "rerun python tools/conformance_peers.py", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
