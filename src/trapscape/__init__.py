"""trapscape: camera-trap survey analysis for transboundary conservation.

Submodules are imported lazily on attribute access, so
``import trapscape`` is cheap and calls read ``trapscape.coverage.pdot(...)``.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("trapscape")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_SUBMODULES = (
    "errors",
    "crs",
    "validation",
    "io",
    "survey",
    "project",
    "simulate",
    "effort",
    "coverage",
    "density",
    "homerange",
    "corridors",
    "planning",
    "reserve",
    "products",
    "present",
    "pipeline",
    "datasets",
    "secrio",
    "detection",
)

__all__ = ["__version__", "show_versions", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'trapscape' has no attribute {name!r}")


def show_versions() -> None:
    """Print versions of trapscape, Python and the main dependencies."""
    import platform
    import sys

    lines = [
        f"trapscape: {__version__}",
        f"python: {sys.version.split()[0]}",
        f"platform: {platform.platform()}",
    ]
    for dep in (
        "numpy",
        "scipy",
        "pandas",
        "geopandas",
        "shapely",
        "pyproj",
        "rasterio",
        "pyogrio",
        "xarray",
        "rioxarray",
        "scikit-image",
        "pyamg",
        "click",
        "tqdm",
        "matplotlib",
        "folium",
    ):
        try:
            lines.append(f"{dep}: {version(dep)}")
        except PackageNotFoundError:
            lines.append(f"{dep}: not installed")
    print("\n".join(lines))
