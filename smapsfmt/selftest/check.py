"""The checks of a capture: each file validates, each pair proves (smaps_rollup is the sum of
smaps, in the kernel's arithmetic), each shape meets its expectations (expectations.py), and
every system setting the shaper changed was restored.

:func:`check_capture` takes a decoded capture (frames.decode) from anywhere: the running
kernel, or a kernel booted under qemu whose serial console carried the shaper's output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import smapsfmt

from .expectations import NEEDS, ROWS, Missing, Row, evaluate
from .frames import Capture, ShapeRecord
from .shapes import SHAPES

__all__ = ["Check", "check_capture", "summary"]

_NUMBER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Check:
    """One line of the self-test: for a shape, a field, what it must be, what the kernel
    printed, and the verdict: ``pass``, ``fail`` or ``n/a`` (``reason`` says why)."""

    shape: str
    file: str  # smaps, smaps_rollup, or "shaper" for what the shaper itself reports
    field: str
    expected: str
    printed: str
    verdict: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _verdict(found: list[Any]) -> str:
    return f"fail: {found[0].render()}" if found else "pass"


def summary(checks: list[Check]) -> dict[str, int]:
    counts = {"checks": len(checks), "pass": 0, "fail": 0, "n/a": 0}
    for check in checks:
        counts[check.verdict] += 1
    return counts


def _facts(record: ShapeRecord, page_size: int) -> dict[str, object]:
    names: dict[str, object] = {"page_kb": page_size // 1024, "page_size": page_size}
    for key, value in record.facts.items():
        names[key] = int(value) if _NUMBER.fullmatch(value) else value
    path = record.texts.get("path")
    if path is not None:
        names["deleted_path"] = path.replace(b"\n", b"\\012") + b" (deleted)"
    label = record.texts.get("name")
    if label is not None:
        names["anon_label"] = b"[anon:" + label + b"]"
    return names


# What an expectation says when the shaper could not give its value (the step failed).
_UNKNOWN = {"pkey": "the key allocated"}


class _Unmet(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Defaulting(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "nothing (not tried)"


def _need(name: str, names: dict[str, object], page_size: int) -> None:
    condition, reason = NEEDS[name]
    try:
        holds = bool(evaluate(condition, names, page_size))
    except Missing:
        holds = False
    if not holds:
        raise _Unmet(reason.format_map(_Defaulting(names)))


def _show(value: object, field: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, int) and field not in (
        "THPeligible",
        "ProtectionKey",
        "inode",
        "offset",
        "entries",
    ):
        return f"{value} kB"
    return str(value)


class _ShapeChecker:
    def __init__(self, capture: Capture, record: ShapeRecord) -> None:
        self.capture = capture
        self.record = record
        self.page_size = capture.page_size
        self.names = _facts(record, self.page_size)
        self.checks: list[Check] = []
        self.smaps: Any = None
        self.rollup: Any = None
        self.entry: Any = None

    def add(self, file: str, field: str, expected: str, printed: str, verdict: str) -> None:
        """A check; ``verdict`` is ``pass``, or ``fail: REASON`` / ``n/a: REASON``."""
        verdict, _, reason = verdict.partition(": ")
        self.checks.append(
            Check(self.record.name, file, field, expected, printed, verdict, reason)
        )

    def run(self) -> list[Check]:
        record = self.record
        if record.status != "ok":
            reason = {
                "died": "the shape's process died before it was read",
                "impossible": "the shape could not be set up",
            }.get(record.status, f"the shaper reported status {record.status or 'nothing'}")
            steps = ", ".join(f"{k}={v}" for k, v in record.pairs if v != "ok" and k != "status")
            verdict = "n/a" if record.status == "impossible" else "fail"
            because = f"{reason}: {steps}" if steps else reason
            self.add("shaper", "status", "ok", record.status or "-", f"{verdict}: {because}")
            self._settings()
            return self.checks
        self._files()
        if self.smaps is not None:
            for row in ROWS:
                if row.shape == record.name:
                    self._row(row)
        self._settings()
        return self.checks

    # --- validate and prove --------------------------------------------------------------------

    def _kernel(self) -> str | None:
        release = self.capture.kernel.get("release")
        if release is None:
            return None
        try:
            smapsfmt.validate(b"", kernel=release, kind="rollup")
        except ValueError:
            return None  # no profile names this release: the profile is detected
        return release

    def _files(self) -> None:
        kernel = self._kernel()
        texts = self.record.files
        for file, kind in (("smaps", "smaps"), ("smaps_rollup", "rollup")):
            data = texts.get(file)
            if data is None:
                why = self.record.facts.get(file, "no frame")
                self.add(
                    file, "validates", "read", "not read", f"fail: the shaper read none: {why}"
                )
                continue
            path = f"{self.record.name}/{file}"
            found = smapsfmt.validate(data, path=path, kernel=kernel, kind=kind)
            errors = [d for d in found if d.severity == "error"]
            printed = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
            self.add(file, "validates", "0 errors", printed, _verdict(errors))
            try:
                model = (smapsfmt.parse_smaps if kind == "smaps" else smapsfmt.parse_rollup)(data)
            except smapsfmt.SmapsSyntaxError:
                continue
            if kind == "smaps":
                self.smaps = model
            else:
                self.rollup = model
        if self.smaps is not None and self.rollup is not None:
            try:
                found = smapsfmt.check_rollup(
                    self.smaps, self.rollup, kernel=kernel, path=f"{self.record.name}/smaps_rollup"
                )
            except ValueError as exc:  # KernelMismatch: no kernel prints this smaps
                found = []
                self.add("smaps_rollup", "proves", "proven", "not proven", f"fail: {exc}")
            else:
                printed = "proven" if not found else f"{len(found)} violations"
                self.add("smaps_rollup", "proves", "proven", printed, _verdict(found))
        if self.smaps is not None:
            start, end = self.record.number("start"), self.record.number("end")
            for mapping in self.smaps:
                if mapping.start == start and mapping.end == end:
                    self.entry = mapping
            for mapping in self.smaps:
                if self.entry is None and start is not None and mapping.start == start:
                    self.entry = mapping

    # --- expectations --------------------------------------------------------------------------

    def _row(self, row: Row) -> None:
        file = "smaps_rollup" if row.where == "rollup" else "smaps"
        try:
            expected, holds = self._expectation(row)
        except Missing as missing:
            text = row.expect.partition(" ")[2]
            expected, holds = _UNKNOWN.get(text, text), None
            lacking = str(missing)
        try:
            for need in row.needs:
                _need(need, self.names, self.page_size)
        except _Unmet as unmet:
            self.add(file, row.field, expected, "-", f"n/a: {unmet.reason}")
            return
        if holds is None:
            why = f"the shaper reported no {lacking}: its output is incomplete"
            self.add(file, row.field, expected, "-", f"fail: {why}")
            return
        printed, verdict = self._printed(row)
        if printed is None:
            self.add(file, row.field, expected, "-", verdict)
            return
        verdict = "pass" if holds(printed) else f"fail: {row.why}"
        self.add(file, row.field, expected, _show(printed, row.field), verdict)

    def _expectation(self, row: Row) -> tuple[str, Callable[[Any], bool]]:
        kind, _, text = row.expect.partition(" ")
        if kind == "has":
            return text, lambda printed: text in printed.split()
        if kind == "in":
            lo_text, _, hi_text = text.partition("..")
            lo, hi = self._evaluate(lo_text), self._evaluate(hi_text)
            if not (isinstance(lo, int) and isinstance(hi, int)):
                raise TypeError(f"an interval of numbers, not {row.expect!r}")
            return (
                f"{lo}..{hi} kB",
                lambda printed: isinstance(printed, int) and lo <= printed <= hi,
            )
        value = self._evaluate(text)  # == and is
        return _show(value, row.field), lambda printed: printed == value

    def _evaluate(self, text: str) -> object:
        return evaluate(text.strip(), self.names, self.page_size)

    def _printed(self, row: Row) -> tuple[Any, str]:
        """The value printed for the row, or None and the verdict (``fail: ...``, ...)."""
        if row.where == "range":
            return self._range(row), ""
        if row.where == "rollup":
            source = self.rollup
            if source is None:
                return None, "fail: smaps_rollup could not be read"
        else:
            source = self.entry
            if source is None:
                where = f"{self.record.facts.get('start')}-{self.record.facts.get('end')}"
                return None, f"fail: smaps has no mapping at {where}, the shape's range"
        if row.field == "VmFlags":
            if source.vmflags is None:
                return None, "n/a: this kernel prints no VmFlags (before 3.8)"
            return " ".join(source.vmflags), ""
        if row.field == "name":
            return bytes(source.pathname), ""
        if row.field in ("inode", "offset"):
            return getattr(source, row.field), ""
        value = source.fields.get(row.field)
        if value is not None:
            return value, ""
        printed_elsewhere = any(row.field in m.fields for m in self.smaps) or (
            self.rollup is not None and row.field in self.rollup.fields
        )
        if printed_elsewhere:
            return None, (
                f"fail: {row.field} is not printed for this mapping, while the kernel prints "
                "it for others"
            )
        return None, f"n/a: this kernel prints no {row.field} line"

    def _range(self, row: Row) -> int:
        start, end = self.record.number("start") or 0, self.record.number("end") or 0
        inside = [m for m in self.smaps if start <= m.start and m.end <= end]
        if row.field == "entries":
            return len(inside)
        return sum(m.fields.get(row.field, 0) for m in inside)

    # --- settings --------------------------------------------------------------------------------

    def _settings(self) -> None:
        """One check per setting the shaper restored, from its record: the value a setting
        had before (``restored=PATH restore=ok``), and the zram swap device taken away."""
        what = "a setting"
        for key, value in self.record.pairs:
            if key == "restored":
                what = value
                continue
            if key == "restored_hex":
                what = bytes.fromhex(value).decode("utf-8", "backslashreplace")
                continue
            label = _UNDO.get(key, what if key == "restore" else None)
            if label is None:
                continue
            verdict = "pass" if value == "ok" else "fail: a system setting was left changed"
            self.add("shaper", f"restore {label}", "ok", value, verdict)


_UNDO = {
    "swapoff": "swapoff of the zram device",
    "zram_reset": "zram device reset",
    "zram_remove": "zram device removed",
}


def check_capture(capture: Capture, shapes: list[str] | None = None) -> list[Check]:
    """Every check of every shape in ``capture`` (or of ``shapes``, in that order). A shape
    asked for but absent from the capture is a failed check: the shaper did not run it."""
    checks: list[Check] = []
    if shapes is not None:
        names = list(shapes)
    else:  # the table's order, then any shape this smapsfmt does not know (checked as such)
        names = [s for s in SHAPES if s in capture.shapes]
        names += [s for s in capture.shapes if s not in names]
    for name in names:
        record = capture.shapes.get(name)
        if record is None:
            checks.append(
                Check(
                    name,
                    "shaper",
                    "status",
                    "ok",
                    "-",
                    "fail",
                    "the capture has no record of this shape",
                )
            )
            continue
        checks.extend(_ShapeChecker(capture, record).run())
    if capture.done is None:
        checks.append(
            Check(
                "-",
                "shaper",
                "DONE",
                "present",
                "-",
                "fail",
                "the shaper's output ends before its DONE record: cut short",
            )
        )
    return checks
