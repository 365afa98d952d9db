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
