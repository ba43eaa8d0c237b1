"""The package's shape, held by tests: layers that import only downwards (import-linter, with
the contract in pyproject.toml), no module reaching into another's private names, modules of a
size a reader takes in, and no library call that changes the interpreter's global state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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
