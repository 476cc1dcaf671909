"""Imports flow one way: core -> io -> analyses -> present -> project -> pipeline -> cli.

Every ``import`` in the package (module level, inside functions and under
``TYPE_CHECKING``) is read from the source with :mod:`ast` and checked
against the layer of the importing module: a module may import its own
layer or those below, never a layer above.  The layers are those of
docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trapscape"

# top-level name inside trapscape -> layer (higher may import lower)
LAYER: dict[str, int] = {
    **dict.fromkeys(
        [
            "errors",
            "crs",
            "validation",
            "survey",
            "detection",
            "products",
            "_raster",
            "_signature",
            "_memory",
            "_dask",
            "_output",
            "datasets",
        ],
        0,
    ),
    **dict.fromkeys(["io"], 1),
    **dict.fromkeys(
        [
            "effort",
            "coverage",
            "density",
            "homerange",
            "corridors",
            "planning",
            "reserve",
            "simulate",
            "privacy",
            "secrio",
        ],
        2,
    ),
    "present": 3,
    # the step table names every section's library function, renderers included
    **dict.fromkeys(["_steps", "project"], 4),
    "pipeline": 5,
    "cli": 6,
}
TOP = {"__init__", "__main__"}


def _modules() -> list[Path]:
    return sorted(
        p
        for p in SRC.rglob("*.py")
        if "datasets" not in p.parts or p.name == "__init__.py"
    )


def _top(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def _imported_tops(path: Path) -> set[tuple[str, int]]:
    """(top-level trapscape module, line) for every trapscape import in ``path``."""
    tree = ast.parse(path.read_text())
    pkg = path.relative_to(SRC).parts[:-1]
    out: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "trapscape" and len(parts) > 1:
                    out.add((parts[1], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "trapscape":
                    continue
                rest = parts[1:]
            else:
                base = list(pkg[: len(pkg) - (node.level - 1)])
                rest = base + ((node.module or "").split(".") if node.module else [])
            if rest:
                out.add((rest[0], node.lineno))
            else:  # from . import x, y  (at the package root)
                for alias in node.names:
                    out.add((alias.name, node.lineno))
    return out


def test_every_module_has_a_layer() -> None:
    tops = {_top(p) for p in _modules()} - TOP
    assert tops <= set(LAYER), (
        f"add to LAYER (and docs/architecture.md): {tops - set(LAYER)}"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_one_way(path: Path) -> None:
    me = _top(path)
    if me in TOP:
        return
    upward = [
        f"line {line}: imports trapscape.{name} (layer {LAYER[name]})"
        for name, line in sorted(_imported_tops(path))
        if name in LAYER and LAYER[name] > LAYER[me]
    ]
    assert not upward, f"{path.relative_to(SRC)} (layer {LAYER[me]}) " + "; ".join(
        upward
    )
