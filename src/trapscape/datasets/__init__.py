"""Bundled data: the Land of the Leopard example survey and its boundary layers.

The example is a **simulated** camera-trap survey (:mod:`trapscape.simulate`)
on **real** geography (OpenStreetMap borders, GSHHG coast, GeoNames
settlements, ETOPO1, MODIS land cover) with approximate, digitised park
boundaries.  See ``docs/example.md`` and ``data/boundaries/SOURCES.md``.

Examples
--------
>>> from trapscape import datasets
>>> datasets.get_path("example").name
'survey.toml'
>>> datasets.get_path("park.gpkg").name
'park.gpkg'
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["available", "get_path"]

_PACKAGE_DATA = Path(__file__).resolve().parent.parent / "_data"
_SOURCE_DATA = Path(__file__).resolve().parents[3] / "data"

#: short names -> path inside the data folder
_NAMED = {
    "example": "example/survey.toml",
    "example_stations": "example/stations.csv",
    "example_sightings": "example/sightings.csv",
    "example_truth": "example/truth.json",
}


def _roots() -> list[Path]:
    return [p for p in (_PACKAGE_DATA, _SOURCE_DATA) if p.is_dir()]


def available() -> list[str]:
    """Names :func:`get_path` accepts (short names and boundary files)."""
    names = set()
    for root in _roots():
        names |= {k for k, rel in _NAMED.items() if (root / rel).exists()}
        bnd = root / "boundaries"
        if bnd.is_dir():
            names |= {
                p.name
                for p in bnd.iterdir()
                if p.suffix in (".gpkg", ".tif", ".json", ".md")
            }
    return sorted(names)


def get_path(name: str) -> Path:
    """Path of a bundled file.

    Parameters
    ----------
    name
        ``"example"`` (the example's project file ``survey.toml``),
        ``"example_stations"``, ``"example_sightings"``, ``"example_truth"``,
        or a boundary file name such as ``"park.gpkg"``, ``"countries"``
        (suffix optional) or ``"elevation.tif"``.

    Returns
    -------
    pathlib.Path
        Looked up in the installed package's ``_data`` folder first, then in
        the source tree's ``data/`` folder.

    Raises
    ------
    InputError
        If no bundled file has that name.
    """
    rels = []
    if name in _NAMED:
        rels.append(_NAMED[name])
    else:
        base = f"boundaries/{name}"
        rels.append(base)
        if "." not in name:
            rels += [f"{base}.gpkg", f"{base}.tif"]
    for root in _roots():
        for rel in rels:
            p = root / rel
            if p.is_file():
                return p
    raise InputError(
        f"No bundled data file named {name!r} (looked in "
        f"{', '.join(str(r) for r in _roots()) or 'no data folder'}). "
        f"Available: {', '.join(available()) or 'none - reinstall trapscape'}."
    )
