"""Run a decoder command on cases, in parallel, each within a time limit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .compare import Coverage, Verdict, judge
from .manifest import Case

__all__ = ["Result", "run_cases"]


@dataclass(frozen=True)
class Result:
    """A case and its verdict; ``known`` when the known-failures file lists this failure."""

    case: Case
    verdict: Verdict
    seconds: float
    known: bool = False
    stderr: str = ""


class CommandNotFound(Exception):
    """CMD cannot be started at all (no such file, not executable)."""


def _run_one(
    command: Sequence[str], data: bytes, kind: str, timeout: float
) -> tuple[int | None, bytes, bytes]:
    env = dict(os.environ, SMAPS_KIND=kind)
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a process group: a timeout ends the decoder's children too
        )
    except OSError as exc:
        raise CommandNotFound(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, b"", b""
    return process.returncode, stdout, stderr


def _run_case(case: Case, command: Sequence[str], timeout: float, coverage: Coverage) -> Result:
    started = time.monotonic()
    if case.cls == "pair":
        expected = case.expected_json()
        verdict = Verdict("PASS")
        stderr = b""
        for kind in ("smaps", "rollup"):
            if kind not in coverage.kinds:
                continue
            member = expected[kind]
            want = _read_json(case, member + ".json")
            status, stdout, stderr = _run_one(command, case.data(kind), kind, timeout)
            verdict = judge("valid", kind, want, status, stdout, coverage=coverage)
            if verdict.outcome != "PASS":
                where = f"{kind} {verdict.field}" if verdict.field else kind
                verdict = Verdict(verdict.outcome, verdict.detail, where, verdict.accepted)
                break
        return Result(case, verdict, time.monotonic() - started, stderr=_tail(stderr))
    expected = case.expected_json() if case.cls == "valid" else None
    status, stdout, stderr = _run_one(command, case.data(), case.kind, timeout)
    verdict = judge(case.cls, case.kind, expected, status, stdout, coverage=coverage)
    return Result(case, verdict, time.monotonic() - started, stderr=_tail(stderr))


def _read_json(case: Case, rel: str) -> object:
    import json

    return json.loads((case.root / rel).read_text(encoding="utf-8"))


def _tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return text[-400:]


def covered(case: Case, coverage: Coverage) -> bool:
    """Does the decoder's coverage take this case (its kind, or a pair's)?"""
    if case.cls == "pair":
        return bool(coverage.kinds)
    return case.kind in coverage.kinds


def run_cases(
    found: Sequence[Case],
    command: Sequence[str],
    *,
    timeout: float,
    jobs: int,
    coverage: Coverage,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every case's result, in the order of ``found``."""
    results: list[Result | None] = [None] * len(found)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(_run_case, case, command, timeout, coverage): index
            for index, case in enumerate(found)
        }
        try:
            for future, index in futures.items():
                result = future.result()
                results[index] = result
                if progress is not None:
                    progress(result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [r for r in results if r is not None]
