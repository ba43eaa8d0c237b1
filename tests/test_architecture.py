"""The package's shape, held by tests: layers that import only downwards (import-linter, with
the contract in pyproject.toml), no module reaching into another's private names, modules of a
size a reader takes in, no library call that changes the interpreter's global state, and each
command's parser built by the one module that adds the command."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import help_text, listed_commands

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "smapsfmt"
MODULES = sorted(PACKAGE.rglob("*.py"))
LONGEST = 700  # lines: about 600 is the aim; no module over 700


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    relative = Path(*dotted.split("."))
    return (
        (ROOT / relative).with_suffix(".py").is_file()
        or (ROOT / relative).is_dir()
        or any((ROOT / relative.parent).glob(relative.name + ".*.so"))
        or (ROOT / relative.parent / (relative.name + ".c")).is_file()
    )


def _resolve(module: Path, node: ast.ImportFrom) -> str:
    """The absolute name of what ``from X import ...`` imports from."""
    if node.level == 0:
        return node.module or ""
    package = _dotted(module).split(".")
    if module.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_the_layers_import_only_downwards() -> None:
    """import-linter's verdict on the contract in pyproject.toml."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout, result.stdout


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in MODULES:
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> smapsfmt module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(path, node)
                if not source.startswith("smapsfmt"):
                    continue
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    if _is_module(full):
                        aliases[alias.asname or alias.name] = full
                    elif alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {full}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.append(f"{where}: {aliases[node.value.id]}.{node.attr}")
    assert not found, "private names used across modules:\n" + "\n".join(found)


# The tests go through the public surface: smapsfmt.__all__, the public subpackages
# (conformance, selftest, triage, fleet), the command line (in a child process, or in this one
# through python -m smapsfmt's entry point), smapsfmt.spec and the specification's own files.
# These may reach into the private modules, each for its reason: the fast paths and the
# evaluator tested against the reference they replace, internals no public call can reach or
# pause at, and this file, which reads the source. Each listed file does reach into them.
PRIVATE_ACCESS = {
    "test_accel.py": "the C module against the pure-Python scanner it replaces, and the "
    "aggregator's refusal of a malformed column batch, which no public call makes",
    "test_fast.py": "the fast parser (its composed patterns per shape and its generic pattern) "
    "against the grammar, and how much text the grammar reads",
    "test_validate_fuzz.py": "validate's C column scan against its pure-Python scan, and the "
    "invariants' evaluator against Python's own evaluation it replaces",
    "test_architecture.py": "it reads the source, and builds the command line's full parser "
    "beside the table of the modules that add the commands",
}
TESTS = sorted(p for p in (ROOT / "tests").rglob("*.py") if "fixtures" not in p.parts)
_CODE = re.compile(r"\b(?:from|import)\s+(smapsfmt(?:\.\w+)*)")


def _private(dotted: str) -> bool:
    """Whether a dotted name inside smapsfmt passes through a private name (``_x``)."""
    parts = dotted.split(".")
    return parts[0] == "smapsfmt" and any(
        part.startswith("_") and not part.startswith("__") for part in parts[1:]
    )


def _dotted_attribute(node: ast.AST) -> str | None:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(names)])
    return None


def _private_uses(path: Path) -> list[str]:
    """Where a test file names one of smapsfmt's private modules or names (one per line):
    imports, attribute chains from ``smapsfmt``, modules looked up by name, and code in
    strings that a child interpreter runs."""
    found: dict[int, str] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            names = [_dotted_attribute(node) or ""]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.func, ast.Attribute) and node.func.attr in (
                "find_spec", "import_module"
            ):  # fmt: skip
                names = [str(node.args[0].value)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = _CODE.findall(node.value)
        for name in names:
            line = getattr(node, "lineno", 0)
            if _private(name) and len(name) > len(found.get(line, "")):
                found[line] = name
    return [f"{path.name}:{line}: {name}" for line, name in sorted(found.items())]


def test_only_the_listed_tests_reach_into_private_modules() -> None:
    uses = {path.name: _private_uses(path) for path in TESTS}
    reaching = {name for name, found in uses.items() if found}
    unlisted = reaching - set(PRIVATE_ACCESS)
    assert not unlisted, "tests reaching into private modules (use the public surface):\n" + (
        "\n".join(use for name in sorted(unlisted) for use in uses[name])
    )
    assert set(PRIVATE_ACCESS) <= reaching, "public now: take it off PRIVATE_ACCESS"


def test_the_private_access_check_finds_each_form(tmp_path: Path) -> None:
    """The check above can fail: each way a test could name a private module is found, and
    a private module named only as a string (a sys.modules check) is not a use."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import smapsfmt._model\n"
        "from smapsfmt._cli.main import main\n"
        "from smapsfmt.fleet import _core\n"
        "x = smapsfmt._parse.parser\n"
        "importlib.util.find_spec('smapsfmt._parse._match')\n"
        "CODE = 'import sys\\nfrom smapsfmt._cli import main'\n"
        "fine = ('smapsfmt._model' in sys.modules, smapsfmt.__version__)\n"
        "from smapsfmt.conformance import cases\n"
    )
    assert _private_uses(sample) == [
        "test_sample.py:1: smapsfmt._model",
        "test_sample.py:2: smapsfmt._cli.main.main",
        "test_sample.py:3: smapsfmt.fleet._core",
        "test_sample.py:4: smapsfmt._parse.parser",
        "test_sample.py:5: smapsfmt._parse._match",
        "test_sample.py:6: smapsfmt._cli",
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_a_reader_takes_in(path: Path) -> None:
    lines = path.read_text().count("\n")
    assert lines <= LONGEST, f"{path.relative_to(ROOT)}: {lines} lines (at most {LONGEST})"


def _outside_the_holder(tree: ast.AST) -> list[ast.AST]:
    """Every node but those of the freeze holder (smapsfmt._live.freeze ``_holder``): a forked
    process of its own, whose interpreter state is not the caller's."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_holder":
            skip.update(id(inner) for inner in ast.walk(node))
    return [node for node in ast.walk(tree) if id(node) not in skip]


def test_no_exec_of_generated_code_and_no_switch_of_the_garbage_collector() -> None:
    """No generated code is compiled or executed, by exec or eval (the invariants are trees of
    plain functions built from their checked expression: smapsfmt._spec.evaluator), and no
    library call switches the collector of the caller's interpreter."""
    found = []
    for path in MODULES:
        for node in _outside_the_holder(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("exec", "eval", "compile"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {func.id}")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "gc"
                and func.attr in ("disable", "enable", "freeze", "set_threshold")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: gc.{func.attr}")
    assert not found, "\n".join(found)


# --- the command line: one module per command -------------------------------------------------


def test_each_command_parses_alike_with_only_its_own_module_loaded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``smapsfmt COMMAND`` builds only the parsers of the module that adds COMMAND (a
    command's start-up is its own): the table of those modules names every command of the full
    parser, in its order, and each command's help as ``smapsfmt COMMAND --help`` prints it is
    the full parser's. (The table, and the full parser's help of one command, are what no
    command line shows: every command line with a COMMAND builds its module alone.)"""
    import argparse

    from smapsfmt._cli.main import COMMAND_MODULES, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    full = dict(sub.choices)
    listed = [name for _, names in COMMAND_MODULES for name in names]
    assert listed == list(full) == listed_commands(capsys)
    for name in listed:
        shown = help_text(capsys, name)
        assert shown.startswith(f"usage: smapsfmt {name} "), name
        assert shown == full[name].format_help(), name


def test_the_refusal_of_a_kernel_without_smaps_rollup_is_written_once() -> None:
    """The reader's error for a missing smaps_rollup and the refusal of a snapshot without one
    (parse --kind rollup and check, tests/test_live_edges.py) are one message, written in one
    place."""
    package = ROOT / "smapsfmt"
    words = "does not exist: this kernel has no smaps_rollup"
    holders = {
        str(path.relative_to(package)): path.read_text().count(words)
        for path in package.rglob("*.py")
        if words in path.read_text()
    }
    assert holders == {"_live/errors.py": 1}
