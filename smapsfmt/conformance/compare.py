"""What a decoder's answer to one case means: an outcome, and the first thing that differs.

The outcomes are the contract's (docs/decoder-contract.md): PASS, REJECTED_VALID,
ACCEPTED_INVALID, WRONG_VALUE, CRASH, TIMEOUT. A decoder's coverage (:class:`Coverage`) says
which parts of the contract its parser reports; only those are compared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAILURES",
    "OUTCOMES",
    "Coverage",
    "CoverageError",
    "Verdict",
    "judge",
]

OUTCOMES = ("PASS", "REJECTED_VALID", "ACCEPTED_INVALID", "WRONG_VALUE", "CRASH", "TIMEOUT")
FAILURES = OUTCOMES[1:]
# The contract's names of a header's parts (docs/decoder-contract.md), in the order the header
# prints them: the profile's format's parts, the device called ``dev``, then the pathname. The
# contract is a published document, so they stay written here; tests/test_grammar.py holds
# them to the profiles.
HEADER_PARTS = ("start", "end", "perms", "offset", "dev", "inode", "pathname")


class CoverageError(ValueError):
    """A coverage file that does not follow its format."""


@dataclass(frozen=True)
class Rewrite:
    """A parser's documented convention for pathnames: a regular expression over the
    contract's pathname and what the parser reports instead (``re.sub`` syntax)."""

    pattern: re.Pattern[str]
    replace: str


@dataclass(frozen=True)
class Coverage:
    """What a decoder's parser reports, from its adapter's coverage file (docs/conformance.md).

    The default covers the whole contract, in mappings mode, for both kinds."""

    name: str = ""
    kinds: tuple[str, ...] = ("smaps", "rollup")
    mode: str = "mappings"
    header: tuple[str, ...] = HEADER_PARTS
    fields: tuple[str, ...] | None = None  # None: every field
    vmflags: bool = True
    name_line: bool = True
    pathname: tuple[Rewrite, ...] = ()
    notes: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any, where: str) -> Coverage:
        if not isinstance(data, dict):
            raise CoverageError(f"{where}: a coverage file holds one JSON object")
        known = {
            "name",
            "kinds",
            "mode",
            "header",
            "fields",
            "vmflags",
            "name_line",
            "pathname",
            "notes",
            "version",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise CoverageError(f"{where}: unknown key {unknown[0]!r}")
        kinds = tuple(data.get("kinds", ("smaps", "rollup")))
        if not kinds or not set(kinds) <= {"smaps", "rollup"}:
            raise CoverageError(f"{where}: 'kinds' lists 'smaps' and/or 'rollup'")
        mode = data.get("mode", "mappings")
        if mode not in ("mappings", "totals"):
            raise CoverageError(f"{where}: 'mode' is 'mappings' or 'totals'")
        header = tuple(data.get("header", HEADER_PARTS))
        if not set(header) <= set(HEADER_PARTS):
            raise CoverageError(f"{where}: 'header' lists parts of {', '.join(HEADER_PARTS)}")
        fields = data.get("fields", "*")
        if fields != "*" and not (
            isinstance(fields, list) and all(isinstance(f, str) for f in fields)
        ):
            raise CoverageError(f"{where}: 'fields' is \"*\" or a list of field names")
        rewrites = []
        for number, rule in enumerate(data.get("pathname", [])):
            if not isinstance(rule, dict) or set(rule) != {"match", "replace"}:
                raise CoverageError(
                    f'{where}: pathname rule {number + 1} is {{"match": RE, "replace": TEXT}}'
                )
            try:
                rewrites.append(Rewrite(re.compile(rule["match"], re.DOTALL), rule["replace"]))
            except re.error as exc:
                raise CoverageError(f"{where}: pathname rule {number + 1}: {exc}") from None
        return cls(
            name=str(data.get("name", "")),
            kinds=kinds,
            mode=mode,
            header=header,
            fields=None if fields == "*" else tuple(fields),
            vmflags=bool(data.get("vmflags", True)),
            name_line=bool(data.get("name_line", True)),
            pathname=tuple(rewrites),
            notes=tuple(data.get("notes", ())),
            raw=data,
        )

    def covers_field(self, name: str) -> bool:
        return self.fields is None or name in self.fields


@dataclass(frozen=True)
class Verdict:
    """One case's outcome; ``field`` names the first difference of a WRONG_VALUE."""

    outcome: str
    detail: str = ""
    field: str | None = None
    accepted: bool | None = None


class _Differs(Exception):
    def __init__(self, where: str, detail: str) -> None:
        super().__init__(where)
        self.where = where
        self.detail = detail


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(where: str, expected: Any, got: Any) -> None:
    if got != expected:
        raise _Differs(where, f"expected {_show(expected)}, got {_show(got)}")


def _pathname(entry: dict[str, Any], coverage: Coverage) -> tuple[str, Any]:
    if "pathname_b64" in entry:
        return "pathname_b64", entry["pathname_b64"]
    name = entry.get("pathname", "")
    for rule in coverage.pathname:
        name = rule.pattern.sub(rule.replace, name)
    return "pathname", name


def _fields(where: str, expected: dict[str, str], got: Any, coverage: Coverage) -> None:
    if not isinstance(got, dict):
        raise _Differs(where, f"expected an object of fields, got {_show(got)}")
    for name, value in expected.items():
        if coverage.covers_field(name):
            _same(f"{where}.{name}", value, got.get(name))
    for name in got:
        if name not in expected and coverage.covers_field(name):
            raise _Differs(f"{where}.{name}", f"not in the input, got {_show(got[name])}")


def _mapping(where: str, expected: dict[str, Any], got: Any, coverage: Coverage) -> None:
    if not isinstance(got, dict):
        raise _Differs(where, f"expected a mapping object, got {_show(got)}")
    for part in coverage.header:
        if part == "pathname":
            key, value = _pathname(expected, coverage)
            _same(f"{where}.{key}", value, got.get(key, "" if key == "pathname" else None))
        else:
            _same(f"{where}.{part}", expected[part], got.get(part))
    if coverage.name_line:
        for key in ("name", "name_b64"):
            _same(f"{where}.{key}", expected.get(key), got.get(key))
    _fields(f"{where}.fields", expected["fields"], got.get("fields"), coverage)
    if coverage.vmflags:
        _same(f"{where}.vmflags", expected.get("vmflags"), got.get("vmflags"))


def _totals(expected: dict[str, Any], kind: str) -> dict[str, str]:
    if kind == "rollup":
        return dict(expected["fields"])
    sums: dict[str, int] = {}
    for mapping in expected["mappings"]:
        for name, value in mapping["fields"].items():
            sums[name] = sums.get(name, 0) + int(value)
    return {name: str(value) for name, value in sums.items()}


def compare(expected: Any, got: Any, kind: str, coverage: Coverage) -> None:
    """Raise _Differs at the first covered difference between ``got`` and ``expected``."""
    if coverage.mode == "totals":
        if not isinstance(got, dict) or "totals" not in got:
            raise _Differs("totals", f'expected {{"totals": {{...}}}}, got {_show(got)}')
        totals = got["totals"]
        if not isinstance(totals, dict):
            raise _Differs("totals", f"expected an object of fields, got {_show(totals)}")
        want = _totals(expected, kind)
        # Over no mappings every sum is 0; otherwise a field no mapping printed has no sum.
        empty = "0" if kind == "smaps" and not expected["mappings"] else None
        for name in sorted(totals):
            if coverage.covers_field(name):
                _same(f"totals.{name}", want.get(name, empty), totals[name])
        for name in coverage.fields or ():
            if name in want and name not in totals:
                raise _Differs(f"totals.{name}", f"expected {_show(want[name])}, got nothing")
        return
    if kind == "rollup":
        if not isinstance(got, dict):
            raise _Differs("", f"expected a rollup object, got {_show(got)}")
        for part in ("start", "end"):
            if part in coverage.header:
                _same(part, expected[part], got.get(part))
        _fields("fields", expected["fields"], got.get("fields"), coverage)
        return
    if not isinstance(got, dict) or not isinstance(got.get("mappings"), list):
        raise _Differs("mappings", f'expected {{"mappings": [...]}}, got {_show(got)}')
    mappings = got["mappings"]
    for index, (want, have) in enumerate(zip(expected["mappings"], mappings, strict=False)):
        _mapping(f"mappings[{index}]", want, have, coverage)
    if len(mappings) != len(expected["mappings"]):
        raise _Differs(
            "mappings", f"expected {len(expected['mappings'])} mappings, got {len(mappings)}"
        )


def well_formed(got: Any, kind: str, coverage: Coverage) -> bool:
    """Is ``got`` shaped as the contract's JSON for ``kind`` (any values)?"""
    if not isinstance(got, dict):
        return False
    if coverage.mode == "totals":
        return isinstance(got.get("totals"), dict)
    if kind == "rollup":
        return isinstance(got.get("fields"), dict)
    return isinstance(got.get("mappings"), list)


def judge(
    cls: str, kind: str, expected: Any, status: int | None, stdout: bytes, *, coverage: Coverage
) -> Verdict:
    """The verdict on one run: ``status`` the exit status (negative: killed by that signal;
    None: timed out), ``stdout`` what it printed, ``expected`` the case's expected JSON."""
    if status is None:
        return Verdict("TIMEOUT", "no answer within the time limit")
    if status < 0:
        return Verdict("CRASH", f"killed by signal {-status}")
    if status not in (0, 1):
        return Verdict("CRASH", f"exit status {status}")
    if status == 1:
        if cls == "valid":
            return Verdict("REJECTED_VALID", "exit 1 on a valid input", accepted=False)
        return Verdict("PASS", "refused", accepted=False)
    try:
        got = json.loads(stdout)
    except ValueError as exc:
        return Verdict("CRASH", f"exit 0, but the output is not JSON: {exc}", accepted=True)
    if cls == "invalid":
        return Verdict("ACCEPTED_INVALID", "exit 0 on an invalid input", accepted=True)
    if cls == "implementation-defined":
        if not well_formed(got, kind, coverage):
            return Verdict(
                "CRASH", f"exit 0, output not the contract's JSON: {_show(got)}", accepted=True
            )
        return Verdict("PASS", "accepted", accepted=True)
    try:
        compare(expected, got, kind, coverage)
    except _Differs as differs:
        return Verdict("WRONG_VALUE", differs.detail, field=differs.where, accepted=True)
    return Verdict("PASS", accepted=True)
