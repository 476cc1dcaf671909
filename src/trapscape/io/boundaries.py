"""Boundary layers: study area, zones, parks, border, habitat."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np

from .. import validation as V
from ..crs import as_crs
from ..errors import InputError, ProblemCollector, TrapscapeWarning
from .tables import _WRONG_CRS_FIX, PathLike, _is_blank, _name, _read_vector

__all__ = [
    "read_boundaries",
    "split_boundaries",
]

logger = logging.getLogger(__name__)


def _degrees_ok(
    gdf: gpd.GeoDataFrame, chk: ProblemCollector, path: PathLike | None
) -> bool:
    """A layer labelled geographic must hold degrees; report it when not."""
    if gdf.crs is None or not as_crs(gdf.crs).is_geographic:
        return True
    b = gdf.geometry.bounds.to_numpy(dtype=float)
    ok = np.isfinite(b).all(axis=1)
    bad = ok & (
        (np.abs(b[:, [0, 2]]) > 180).any(axis=1)
        | (np.abs(b[:, [1, 3]]) > 90).any(axis=1)
    )
    if not bad.any():
        return True
    i = int(np.flatnonzero(bad)[0])
    crs_name = as_crs(gdf.crs).name
    epsg = as_crs(gdf.crs).to_epsg()
    label = f"{crs_name} (EPSG:{epsg})" if epsg else crs_name
    chk.add(
        f"the layer's CRS is {label}, in degrees, but {int(bad.sum())} of "
        f"{len(gdf)} features lie outside -180..180 / -90..90 (feature {i + 1} "
        f"spans x {b[i, 0]:.2f}..{b[i, 2]:.2f}, y {b[i, 1]:.2f}..{b[i, 3]:.2f}): "
        + _WRONG_CRS_FIX,
        path=path,
        row=i + 1,
        column="geometry",
        kind="crs",
    )
    return False


def _with_names(
    gdf: gpd.GeoDataFrame,
    chk: ProblemCollector,
    path: PathLike,
    *,
    name_field: str,
    kind: str,
) -> gpd.GeoDataFrame | None:
    """A copy of the layer with a ``name`` column; None (reported) without one.

    Zones and parks need names; other layers are named after the file.
    """
    gdf = gdf.copy()
    if name_field in gdf.columns:
        if name_field != V.NAME:
            gdf = (
                gdf.rename(columns={name_field: V.NAME})
                if V.NAME not in gdf.columns
                else gdf.assign(**{V.NAME: gdf[name_field]})
            )
    elif name_field != "name" or kind in ("zones", "parks"):
        hint = V.suggest(name_field, [c for c in gdf.columns if c != gdf.geometry.name])
        chk.add(
            f"no name column '{name_field}'."
            + (
                f" Did you mean '{hint}'? Pass name_field='{hint}'."
                if hint
                else " Add one or pass name_field= naming the column that holds names."
            ),
            path=path,
            column=name_field,
            kind="schema",
        )
        return None
    if V.NAME not in gdf.columns:
        gdf[V.NAME] = [f"{Path(path).stem} {i + 1}" for i in range(len(gdf))]
    gdf[V.NAME] = gdf[V.NAME].astype(object)
    return gdf


def _checked_geometries(
    gdf: gpd.GeoDataFrame,
    chk: ProblemCollector,
    path: PathLike,
    *,
    kind: str,
    stacklevel: int,
) -> np.ndarray:
    """The layer's geometries, invalid ones repaired (with a warning) when possible.

    Empty, unrepairable and (for polygon layers) non-polygon features are
    reported.
    """
    import shapely

    geoms = gdf.geometry.to_numpy().copy()
    for i, g in enumerate(geoms):
        label = f"feature {i + 1}" + (
            f" ('{gdf[V.NAME].iloc[i]}')" if not _is_blank(gdf[V.NAME].iloc[i]) else ""
        )
        if g is None or g.is_empty:
            chk.add(
                f"{label} has no geometry. Remove it or draw its shape.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
            continue
        polygonal = kind in ("study_area", "zones", "parks", "habitat") or (
            kind == "any" and g.geom_type in ("Polygon", "MultiPolygon")
        )
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            if polygonal:
                parts = [
                    p
                    for p in getattr(fixed, "geoms", [fixed])
                    if p.geom_type in ("Polygon", "MultiPolygon")
                ]
                fixed = shapely.union_all(parts) if parts else shapely.Polygon()
            if fixed.is_empty or (polygonal and fixed.area == 0):
                chk.add(
                    f"{label} is invalid ({reason}) and cannot be repaired (nothing "
                    "is left). Fix or remove it.",
                    path=path,
                    row=i + 1,
                    column="geometry",
                    kind="geometry",
                )
                continue
            warnings.warn(
                f"{_name(path)} row {i + 1}: {label} was invalid ({reason}); repaired "
                "with make_valid. Check the result or fix the source file.",
                TrapscapeWarning,
                stacklevel=stacklevel,
            )
            geoms[i] = fixed
        elif polygonal and geoms[i].geom_type not in ("Polygon", "MultiPolygon"):
            chk.add(
                f"{label} is a {geoms[i].geom_type}; the {kind} layer needs polygons.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
    return geoms


def _read_boundaries(
    path: PathLike,
    chk: ProblemCollector,
    *,
    name_field: str = "name",
    layer: str | int | None = None,
    kind: str = "study_area",
    stacklevel: int = 3,
) -> gpd.GeoDataFrame | None:
    """Read and check a boundary layer; problems go to ``chk``.

    ``stacklevel`` is that of a repair warning raised here.
    """
    gdf = _read_vector(path, chk, layer)
    if gdf is None:
        return None
    if gdf.crs is None:
        chk.add(
            "the layer has no CRS. Save it with its CRS (a .prj file, or as "
            "GeoPackage/GeoJSON).",
            path=path,
            kind="crs",
        )
        return None
    if not _degrees_ok(gdf, chk, path):
        return None
    named = _with_names(gdf, chk, path, name_field=name_field, kind=kind)
    if named is None:
        return None
    # one frame deeper: the warning still points where ``stacklevel`` says
    geoms = _checked_geometries(named, chk, path, kind=kind, stacklevel=stacklevel + 1)
    return named.set_geometry(gpd.GeoSeries(geoms, index=named.index, crs=named.crs))


def read_boundaries(
    path: PathLike,
    *,
    name_field: str = "name",
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary layer (study area, zones, parks, border) from any GDAL vector.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile, ...
    name_field
        Column holding feature names; renamed to ``name``.  When the default
        ``"name"`` is absent, names are made from the file name.
    layer
        Layer of a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's CRS, with a ``name`` column.

    Raises
    ------
    GeometryError
        Empty or unrepairable geometries (each named by row).
    CRSError
        The file has no CRS.

    Warns
    -----
    TrapscapeWarning
        When an invalid polygon was repaired with ``make_valid``.
    """
    chk = ProblemCollector()
    gdf = _read_boundaries(
        path, chk, name_field=name_field, layer=layer, kind="any", stacklevel=3
    )
    chk.raise_if_any()
    assert gdf is not None
    return gdf


def split_boundaries(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Split a combined boundaries layer by its ``kind`` column.

    Without a ``kind`` column, or when none of its values is a boundary kind
    (e.g. a parks file whose ``kind`` says "national park"), the whole layer
    is the study area.  A mix of known and unknown kinds is an error.
    """
    kinds = {c.lower(): c for c in gdf.columns}
    if "kind" not in kinds:
        return {"study_area": gdf}
    col = kinds["kind"]
    norm = (
        gdf[col]
        .astype(str)
        .str.strip()
        .str.lower()
        .replace(
            {
                "zone": "zones",
                "park": "parks",
                "study area": "study_area",
                "studyarea": "study_area",
                "country": "zones",
                "countries": "zones",
            }
        )
    )
    bad = sorted(set(norm) - set(V.BOUNDARY_KINDS))
    if len(bad) == len(set(norm)):  # 'kind' is just an attribute here
        return {"study_area": gdf}
    if bad:
        rows = [int(i) + 1 for i in np.flatnonzero(~norm.isin(V.BOUNDARY_KINDS))]
        raise InputError(
            f"row {rows[0]}, column '{col}': unknown boundary kind(s) {bad}. Use one of "
            f"{', '.join(V.BOUNDARY_KINDS)}.",
            row=rows[0],
            column=col,
        )
    return {
        k: gdf[norm == k].drop(columns=col).reset_index(drop=True)
        for k in V.BOUNDARY_KINDS
        if (norm == k).any()
    }
