"""Every type a public function returns or raises is exported from ``smapsfmt`` (and listed
in ``__all__``), lazily: ``import smapsfmt`` loads none of them."""

from __future__ import annotations

import builtins
import importlib
import inspect
import json
import pickle
import re
import subprocess
import sys

import pytest
from support import LIVE, as_json, run_cli

import smapsfmt

MODULES = ("_rollup.aggregate", "_rollup.bounds", "_rollup.check", "_rollup.errors",
           "_diagnostics", "_errors", "_live.exact", "_live.errors", "_live.proc", "_model",
           "_parse.parser", "_parse.stream", "_validate.validate")  # fmt: skip


FUNCTIONS = [name for name in smapsfmt.__all__ if inspect.isfunction(getattr(smapsfmt, name))]


def _classes() -> dict[str, type]:
    """Every public class the package defines, by name."""
    found: dict[str, type] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"smapsfmt.{module_name}")
        for name, value in vars(module).items():
            ours = inspect.isclass(value) and value.__module__.startswith("smapsfmt")
            if ours and not name.startswith("_"):
                found[name] = value
    return found


def _named(text: str, classes: dict[str, type]) -> set[str]:
    return {word for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if word in classes}


def _reachable() -> dict[str, str]:
    """The package's classes that a public function's signature or documented raises name, and
    those that their attributes' annotations name in turn: name -> where it was met."""
    classes = _classes()
    met: dict[str, str] = {}
    todo: list[tuple[str, str]] = []
    for name in FUNCTIONS:
        function = getattr(smapsfmt, name)
        annotations = " ".join(str(a) for a in function.__annotations__.values())
        todo += [(found, f"{name}()") for found in _named(annotations, classes)]
        doc = inspect.getdoc(function) or ""
        raised = [w for w in _named(doc, classes) if issubclass(classes[w], BaseException)]
        todo += [(found, f"{name}() documented raises") for found in raised]
    while todo:
        name, where = todo.pop()
        if name in met:
            continue
        met[name] = where
        cls = classes[name]
        texts = [
            str(a)
            for klass in cls.__mro__
            for a in vars(klass).get("__annotations__", {}).values()
        ]
        texts += [
            str(member.fget.__annotations__.get("return", ""))
            for member in vars(cls).values()
            if isinstance(member, property) and member.fget is not None
        ]
        todo += [(found, f"{name}, an attribute") for found in _named(" ".join(texts), classes)]
    return met


def test_every_type_a_public_function_returns_or_raises_is_exported() -> None:
    reachable = _reachable()
    # The types users meet most, and the errors aggregate() and check_rollup() document.
    assert {"Diagnostic", "ExactUnavailable", "KernelMismatch", "Interval"} <= set(reachable)
    missing = {
        name: where
        for name, where in reachable.items()
        if name not in smapsfmt.__all__ or getattr(smapsfmt, name) is not _classes()[name]
    }
    assert missing == {}
    assert not hasattr(builtins, "KernelMismatch")


def test_import_smapsfmt_stays_light() -> None:
    code = (
        "import sys, smapsfmt\n"
        "heavy = ('pydantic', 'lark', 'smapsfmt._')\n"
        "print(sorted(set(smapsfmt.__all__) - set(dir(smapsfmt))))\n"  # completion
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
        "smapsfmt.Diagnostic\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
        "smapsfmt.SmapsSyntaxError\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    unlisted, before, after, error = result.stdout.splitlines()
    assert unlisted == "[]"  # dir() lists every public name, none of them loaded by it
    assert before == "['smapsfmt._lazy']"
    assert after == "['smapsfmt._diagnostics', 'smapsfmt._lazy']"
    assert error == "['smapsfmt._diagnostics', 'smapsfmt._errors', 'smapsfmt._lazy']"


SLEEP = LIVE / "6.18/sleep"


def test_aggregate_returns_the_intervals_the_command_prints() -> None:
    smaps = smapsfmt.parse_smaps((SLEEP / "smaps").read_bytes())
    real = smapsfmt.parse_rollup((SLEEP / "smaps_rollup").read_bytes())
    ours = smapsfmt.aggregate(smaps)
    assert isinstance(ours, smapsfmt.Rollup) and isinstance(ours, smapsfmt.AggregatedRollup)
    assert list(ours.intervals) == list(ours.fields)
    assert all(isinstance(bound, smapsfmt.Interval) for bound in ours.intervals.values())
    assert {name: bound.lo for name, bound in ours.intervals.items()} == dict(ours.fields)
    for name, bound in ours.intervals.items():
        assert real.fields[name] in bound, (name, bound)
    pss = ours.intervals["Pss"]
    assert (pss.lo, pss.hi, pss.exact) == (530, 549, False)
    assert ours.intervals["Rss"].exact and ours.intervals["Rss"].lo == real.fields["Rss"]
    printed = json.loads(run_cli("rollup", "--format", "json", str(SLEEP / "smaps")).stdout)
    assert printed["intervals"] == {
        name: [bound.lo, bound.hi] for name, bound in ours.intervals.items() if not bound.exact
    }


def test_an_aggregated_rollup_is_still_the_rollup_it_was() -> None:
    """Equal to a Rollup of the same values (either way round), the same JSON, and it pickles
    with its intervals."""
    from smapsfmt import Rollup

    smaps = smapsfmt.parse_smaps((SLEEP / "smaps").read_bytes())
    ours = smapsfmt.aggregate(smaps)
    plain = Rollup(**{name: getattr(ours, name) for name in Rollup.__dataclass_fields__})
    assert type(plain) is Rollup
    assert ours == plain and plain == ours
    assert as_json(ours) == as_json(plain)
    again = pickle.loads(pickle.dumps(ours))
    assert again == ours and again.intervals == ours.intervals
    with pytest.raises(TypeError):
        hash(ours)
