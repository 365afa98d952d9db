"""The package's layers: format <- pipeline <- tools.  A layer imports only itself and the ones
below it, so the format library can be read (and vendored) without the converter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tfrecord_lite"
BELOW = {  # "" is the package root itself (its __version__)
    "format": {"format", "_protos"},
    "pipeline": {"", "format", "_protos", "pipeline"},
    "tools": {"", "format", "_protos", "pipeline", "tools"},
}


def _imports(path: Path) -> list[str]:
    """Every tfrecord_lite module ``path`` imports, as ``tfrecord_lite.<layer>...``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import of {node.module}")
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [m for m in out if m.split(".")[0] == "tfrecord_lite"]


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_a_layer_imports_nothing_above_it(layer) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    wrong = []
    for path in files:
        for module in _imports(path):
            parts = module.split(".") + [""]
            if parts[1] not in BELOW[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong


def test_the_package_root_holds_only_the_entry_points_and_the_layers() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert modules == ["__init__.py", "__main__.py"]
    assert folders == ["_protos", "format", "pipeline", "tools"]


def test_the_public_names_load_from_their_layers() -> None:
    import tfrecord_lite

    for name in tfrecord_lite.__all__:
        assert getattr(tfrecord_lite, name) is not None, name


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports when it runs, at its top or inside a function
    (``if TYPE_CHECKING:`` blocks left out); ``from package import module`` counts the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            node.body = []
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m in modules and m != _module_name(path)}


def test_no_modules_import_each_other_in_a_circle() -> None:
    """A circle (beam <-> beam_stages was one) makes import order matter and hides a missing
    layer; deferred imports count too, since they only move the circle to run time."""
    paths = [p for p in PACKAGE.rglob("*.py") if "_protos" not in p.parts]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _runtime_imports(p, modules) for p in paths}
    circles = []
    for start in sorted(graph):
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module == start:
                circles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo += graph[module]
    assert circles == []


def test_no_module_keeps_state_in_globals() -> None:
    """State is passed explicitly (a memo or a setting in a module global is shared by every
    caller and every test, and forked into workers as it happened to be)."""
    found = [f"{p.relative_to(PACKAGE)}:{node.lineno}" for p in sorted(PACKAGE.rglob("*.py"))
             if "_protos" not in p.parts
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.Global)]
    assert found == []
