"""Public mode: generalise sensitive locations before anything is shared.

Camera-trap stations mark where a critically endangered cat walks, and the
identity of each leopard tells a poacher where to wait for it.  Outputs meant
for the public therefore show station effort and detections only as totals
per grid cell (default 5 km), with every exact coordinate and every
individual identity removed.

The generalisation is a plain "snap to cell centre and aggregate" rule: a
station at ``(x, y)`` is reported at the centre of the ``cell``-sized square
that contains it, on a grid anchored at multiples of ``cell`` in the survey
CRS.  Aggregates per cell replace per-station rows, so the number of
stations in a cell is known but not where they stand inside it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from . import validation as V
from .crs import require_projected
from .errors import InputError

if TYPE_CHECKING:
    from .survey import Survey

__all__ = [
    "DEFAULT_CELL",
    "PUBLIC_NOTE",
    "PUBLIC_PRECISION",
    "aggregate_points",
    "generalise_survey",
    "snap_polygons",
    "snap_to_grid",
    "write_public_camtrap_dp",
]

logger = logging.getLogger(__name__)

DEFAULT_CELL = 5000.0

PUBLIC_NOTE = (
    "Public version: station and sighting locations are generalised to "
    "{cell_km:g} km grid cells (totals per cell), and individual identities "
    "are removed. Exact coordinates are withheld to protect the animals."
)


def _check_cell(cell: float) -> float:
    if not (isinstance(cell, (int, float)) and np.isfinite(cell) and cell > 0):
        raise InputError(
            f"public cell size must be a positive distance in metres, got {cell!r}. "
            "Use e.g. 5000 for 5 km cells."
        )
    return float(cell)


def snap_to_grid(
    x: np.ndarray, y: np.ndarray, *, cell: float = DEFAULT_CELL
) -> tuple[np.ndarray, np.ndarray]:
    """Return the centres of the ``cell``-sized grid squares containing ``(x, y)``.

    Parameters
    ----------
    x, y
        Map coordinates in metres (projected CRS).
    cell
        Grid cell size in metres; the grid is anchored at multiples of
        ``cell``.

    Returns
    -------
    tuple of numpy.ndarray
        Cell-centre x and y coordinates.

    Examples
    --------
    >>> snap_to_grid(np.array([1234.0]), np.array([9999.0]), cell=5000)
    (array([2500.]), array([7500.]))
    """
    cell = _check_cell(cell)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return (np.floor(x / cell) + 0.5) * cell, (np.floor(y / cell) + 0.5) * cell


def aggregate_points(
    points: gpd.GeoDataFrame,
    *,
    cell: float = DEFAULT_CELL,
    sums: tuple[str, ...] = (),
    as_polygons: bool = False,
) -> gpd.GeoDataFrame:
    """Aggregate point features to grid cells: count and sums per cell.

    Parameters
    ----------
    points
        Point layer in a projected CRS (for example stations with effort).
    cell
        Cell size in metres.
    sums
        Numeric columns to sum per cell (missing columns are ignored).
    as_polygons
        Return cell squares instead of cell-centre points.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell: ``cell_id``, ``n_stations`` and the
        summed columns; no identifier or attribute of a single point.
    """
    crs = require_projected(points, "layer to generalise")
    cell = _check_cell(cell)
    cols = [c for c in sums if c in points.columns]
    if len(points) == 0:
        return gpd.GeoDataFrame(
            {
                "cell_id": pd.Series(dtype=str),
                "n_stations": pd.Series(dtype=int),
                **{c: pd.Series(dtype=float) for c in cols},
            },
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    cx, cy = snap_to_grid(
        points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), cell=cell
    )
    frame = pd.DataFrame({"cx": cx, "cy": cy})
    for c in cols:
        frame[c] = pd.to_numeric(points[c], errors="coerce").to_numpy()
    grouped = frame.groupby(["cx", "cy"], sort=True)
    out = grouped.size().rename("n_stations").to_frame()
    if cols:
        out = out.join(grouped[cols].sum(min_count=1))
    out = out.reset_index()
    half = cell / 2.0
    if as_polygons:
        geoms = [
            box(a - half, b - half, a + half, b + half)
            for a, b in zip(out.cx, out.cy, strict=False)
        ]
    else:
        geoms = gpd.points_from_xy(out.cx, out.cy)
    out.insert(
        0,
        "cell_id",
        [
            f"C{int(a // cell)}_{int(b // cell)}"
            for a, b in zip(out.cx, out.cy, strict=False)
        ],
    )
    out = out.drop(columns=["cx", "cy"])
    return gpd.GeoDataFrame(out, geometry=geoms, crs=crs)


def snap_polygons(
    polygons: gpd.GeoDataFrame, *, cell: float = DEFAULT_CELL, min_share: float = 0.25
) -> gpd.GeoDataFrame:
    """Replace each polygon by the union of grid cells it covers.

    A cell is kept when at least ``min_share`` of it lies inside the
    polygon, so outlines follow the public grid and reveal nothing finer.
    Attributes are kept; geometry becomes cell-aligned.
    """
    crs = require_projected(polygons, "layer to generalise")
    cell = _check_cell(cell)
    out_geoms = []
    for geom in polygons.geometry:
        if geom is None or geom.is_empty:
            out_geoms.append(geom)
            continue
        minx, miny, maxx, maxy = geom.bounds
        i0, i1 = int(np.floor(minx / cell)), int(np.ceil(maxx / cell))
        j0, j1 = int(np.floor(miny / cell)), int(np.ceil(maxy / cell))
        cells = [
            box(i * cell, j * cell, (i + 1) * cell, (j + 1) * cell)
            for i in range(i0, i1)
            for j in range(j0, j1)
        ]
        series = gpd.GeoSeries(cells, crs=crs)
        share = series.intersection(geom).area / (cell * cell)
        keep = series[share.to_numpy() >= min_share]
        out_geoms.append(keep.union_all() if len(keep) else None)
    result = polygons.copy()
    result = result.set_geometry(
        gpd.GeoSeries(out_geoms, index=polygons.index, crs=crs)
    )
    return result[~(result.geometry.isna() | result.geometry.is_empty)]


def generalise_survey(survey: Survey, *, cell: float = DEFAULT_CELL) -> Survey:
    """Return a copy of ``survey`` safe to map in public.

    Stations are moved to the centre of their grid cell and renamed after
    it (``C<i>_<j>``; cameras keep a running number), sightings follow their
    station, and individual identities, sexes and media ids are removed.
    Effort and detection totals per cell are unchanged.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    cell
        Grid cell size in metres (default 5 km).

    Returns
    -------
    Survey
        A new survey; the input is not modified.
    """
    require_projected(survey.crs, "survey CRS")
    cell = _check_cell(cell)
    st = survey.stations
    cx, cy = snap_to_grid(st.geometry.x.to_numpy(), st.geometry.y.to_numpy(), cell=cell)
    cell_ids = [
        f"C{int(a // cell)}_{int(b // cell)}" for a, b in zip(cx, cy, strict=False)
    ]
    station_map = dict(zip(st[V.STATION_ID].astype(str), cell_ids, strict=False))
    new = st[[V.SETUP, V.RETRIEVAL]].copy()
    for col in (V.SETUP_TIME_KNOWN, V.RETRIEVAL_TIME_KNOWN):
        if col in st.columns:
            new[col] = st[col].to_numpy()
    new.insert(0, V.STATION_ID, cell_ids)
    # cameras renumbered within each cell so no station name survives
    new.insert(
        1,
        V.CAMERA_ID,
        (new.groupby(V.STATION_ID).cumcount() + 1).map(lambda k: f"cam{k}").to_numpy(),
    )
    new.insert(
        2, V.DEPLOYMENT_ID, (new[V.STATION_ID] + "/" + new[V.CAMERA_ID]).to_numpy()
    )
    dep_map = dict(
        zip(st[V.DEPLOYMENT_ID].astype(str), new[V.DEPLOYMENT_ID], strict=False)
    )
    stations = gpd.GeoDataFrame(
        new.reset_index(drop=True), geometry=gpd.points_from_xy(cx, cy), crs=survey.crs
    )
    si = survey.sightings
    sightings = pd.DataFrame(
        {
            V.STATION_ID: si[V.STATION_ID].astype(str).map(station_map).to_numpy(),
            V.DEPLOYMENT_ID: si[V.DEPLOYMENT_ID]
            .astype("object")
            .map(lambda d: dep_map.get(str(d)) if pd.notna(d) else None)
            .to_numpy(),
        }
    )
    sightings.insert(
        1,
        V.CAMERA_ID,
        sightings[V.DEPLOYMENT_ID].map(
            lambda d: d.split("/", 1)[1] if isinstance(d, str) else None
        ),
    )
    sightings[V.TIMESTAMP] = si[V.TIMESTAMP].to_numpy()
    sightings[V.SPECIES] = si[V.SPECIES].to_numpy()
    sightings[V.INDIVIDUAL_ID] = pd.array([pd.NA] * len(si), dtype="string")
    sightings[V.SEX] = pd.array([pd.NA] * len(si), dtype="string")
    sightings[V.MEDIA_ID] = pd.array([pd.NA] * len(si), dtype="string")
    sightings[V.COUNT] = si[V.COUNT].to_numpy() if V.COUNT in si.columns else 1
    pr = survey.problems
    problems = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: pr[V.DEPLOYMENT_ID].astype(str).map(dep_map).to_numpy(),
            V.PROBLEM_FROM: pr[V.PROBLEM_FROM].to_numpy(),
            V.PROBLEM_TO: pr[V.PROBLEM_TO].to_numpy(),
        }
    )
    logger.info(
        "Generalised %d deployments to %d cells of %.0f m",
        len(st),
        len(set(cell_ids)),
        cell,
    )
    return replace(
        survey, stations=stations, sightings=sightings, problems=problems, sources={}
    )


#: ``coordinatePrecision`` (degrees) of a public Camtrap DP package
PUBLIC_PRECISION = 0.01


def write_public_camtrap_dp(
    survey: Survey,
    folder: str | os.PathLike[str],
    *,
    cell: float = DEFAULT_CELL,
    **options: Any,
) -> Path:
    """Write the public version of ``survey`` as a Camtrap DP 1.0 package.

    The survey is generalised by :func:`generalise_survey` (stations at the
    centre of their ``cell``-sized square, individuals, sexes and media
    removed), its coordinates are rounded to :data:`PUBLIC_PRECISION`
    degrees and recorded as ``coordinatePrecision``, and each deployment's
    ``coordinateUncertainty`` covers the whole cell plus the rounding, as
    Camtrap DP recommends for sensitive species.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    folder
        Output folder.
    cell
        Grid cell size in metres (default 5 km).
    **options
        Passed on to :func:`trapscape.io.write_camtrap_dp` (``utc_offset``,
        ``sampling_design``, ``contributors``, ``overwrite``).

    Returns
    -------
    pathlib.Path
        The written ``datapackage.json``.
    """
    from .io import write_camtrap_dp

    public = generalise_survey(survey, cell=cell)
    # half a cell's diagonal, plus half a rounding step in both directions
    rounding = np.hypot(0.5, 0.5) * PUBLIC_PRECISION * 111_320.0
    uncertainty = int(np.ceil(np.hypot(cell, cell) / 2 + rounding))
    return write_camtrap_dp(
        public,
        folder,
        coordinate_precision=PUBLIC_PRECISION,
        coordinate_uncertainty=uncertainty,
        **options,
    )
