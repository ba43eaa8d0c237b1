"""The run's report: text (toml-test style), JSON, Markdown; the known-failures file."""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .compare import OUTCOMES
from .runner import Result

__all__ = ["KnownFailures", "as_json", "as_markdown", "as_text", "summary"]


class KnownFailuresError(ValueError):
    """A known-failures file that cannot be read or does not follow its format."""


class KnownFailures:
    """A project's accepted failures: one case id (a glob) a line, optionally followed by the
    outcome it fails with; ``#`` starts a comment. A listed case that fails otherwise, or with
    another outcome than the one named, still fails the run."""

    def __init__(self, entries: Sequence[tuple[str, str | None]]) -> None:
        self.entries = list(entries)

    @classmethod
    def read(cls, path: str) -> KnownFailures:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KnownFailuresError(f"{path}: {exc.strerror or exc}") from None
        entries: list[tuple[str, str | None]] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) > 2 or (len(words) == 2 and words[1] not in OUTCOMES[1:]):
                raise KnownFailuresError(
                    f"{path}:{number}:1: expected 'CASE-ID [OUTCOME]', OUTCOME one of "
                    f"{', '.join(OUTCOMES[1:])}"
                )
            entries.append((words[0], words[1] if len(words) == 2 else None))
        return cls(entries)

    def covers(self, result: Result) -> bool:
        return any(
            fnmatch.fnmatchcase(result.case.id, glob)
            and (outcome is None or outcome == result.verdict.outcome)
            for glob, outcome in self.entries
        )

    def apply(self, results: list[Result]) -> list[Result]:
        return [
            replace(r, known=True) if r.verdict.outcome != "PASS" and self.covers(r) else r
            for r in results
        ]

    def stale(self, results: list[Result]) -> list[str]:
        """Entries that matched no failing case (fixed, or mistyped)."""
        return [
            glob
            for glob, outcome in self.entries
            if not any(
                r.known
                and fnmatch.fnmatchcase(r.case.id, glob)
                and (outcome is None or outcome == r.verdict.outcome)
                for r in results
            )
        ]


def failed(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.verdict.outcome != "PASS" and not r.known]


def summary(results: Sequence[Result], skipped: int) -> dict[str, Any]:
    counts = Counter(r.verdict.outcome for r in results)
    out: dict[str, Any] = {name: counts.get(name, 0) for name in OUTCOMES}
    out["cases"] = len(results)
    out["failed"] = len(failed(results))
    out["known"] = sum(1 for r in results if r.known)
    out["skipped"] = skipped
    return out


def _line(result: Result) -> str:
    verdict = result.verdict
    where = f" {verdict.field}:" if verdict.field else ""
    known = " (known)" if result.known else ""
    return f"{verdict.outcome:<16} {result.case.id}:{where} {verdict.detail}{known}".rstrip()


def as_text(results: Sequence[Result], skipped: int, head: str, stale: Sequence[str] = ()) -> str:
    lines = [_line(r) for r in results if r.verdict.outcome != "PASS"]
    lines += [f"note: known failure now passes or matches nothing: {g}" for g in stale]
    count = summary(results, skipped)
    outcomes = ", ".join(f"{name} {count[name]}" for name in OUTCOMES if count[name])
    lines.append(
        f"{head}: {count['cases']} case{'' if count['cases'] == 1 else 's'}: "
        f"{count['PASS']} passed, {count['failed']} failed, "
        f"{count['known']} known failures, {skipped} skipped ({outcomes or 'nothing run'})"
    )
    return "\n".join(lines) + "\n"


def _result_json(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": result.case.id,
        "class": result.case.cls,
        "kind": result.case.kind,
        "outcome": result.verdict.outcome,
    }
    if result.verdict.field is not None:
        out["field"] = result.verdict.field
    if result.verdict.detail:
        out["detail"] = result.verdict.detail
    if result.verdict.accepted is not None:
        out["accepted"] = result.verdict.accepted
    out["known"] = result.known
    out["seconds"] = round(result.seconds, 3)
    if result.stderr and result.verdict.outcome != "PASS":
        out["stderr"] = result.stderr
    return out


def as_json(
    results: Sequence[Result], skipped: int, header: dict[str, Any], command: Sequence[str]
) -> str:
    data = {
        "corpus_version": header.get("corpus_version"),
        "command": list(command),
        "cases": [_result_json(r) for r in results],
        "summary": summary(results, skipped),
    }
    return json.dumps(data, indent=1) + "\n"


def as_markdown(results: Sequence[Result], skipped: int, head: str) -> str:
    count = summary(results, skipped)
    lines = [f"**{head}**", "", "| outcome | cases |", "|---|---:|"]
    lines += [f"| {name} | {count[name]} |" for name in OUTCOMES]
    lines += [f"| known failures | {count['known']} |", f"| skipped | {skipped} |", ""]
    bad = [r for r in results if r.verdict.outcome != "PASS"]
    if bad:
        lines += ["| case | outcome | field | detail |", "|---|---|---|---|"]
        for r in bad:
            detail = r.verdict.detail.replace("|", "\\|") + (" (known)" if r.known else "")
            lines.append(
                f"| `{r.case.id}` | {r.verdict.outcome} | {r.verdict.field or ''} | {detail} |"
            )
    return "\n".join(lines) + "\n"
