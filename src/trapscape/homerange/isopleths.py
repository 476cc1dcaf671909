"""Kernel home ranges: isopleth polygons of the utilisation distributions."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB
from .._raster import GridSpec, grid_of, to_dataarray
from ..errors import TrapscapeWarning
from .relocations import _percents
from .utilization import _volume, utilization_distributions

if TYPE_CHECKING:
    import xarray as xr

    from ..survey import Survey

__all__ = [
    "HomeRangeResult",
    "kde",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HomeRangeResult:
    """Kernel home ranges of several individuals.

    Attributes
    ----------
    isopleths
        One row per individual and percent: ``individual_id``, ``method``
        ("kde"), ``percent``, ``h`` (metres), ``h_method`` ("href", "LSCV" or
        "specified"), ``n`` (relocations), ``cell`` (metres), ``area_km2``
        (adehabitatHR ``kernel.area``: cells whose volume contour is at most
        ``percent`` times the cell area), ``poly_area_km2`` (area of the
        isopleth polygon, ``getverticeshr``) and the polygon geometry.
    ud
        Utilisation distribution (density per m²) of each individual as a
        georeferenced DataArray, keyed by individual id.
    bandwidths
        Per individual: ``n``, ``href``, ``h_lscv`` (NaN unless LSCV was
        tried), ``h``, ``h_method`` and ``note`` (why LSCV fell back to href).
    excluded
        Individuals left out, with ``n_detections``, ``n_stations`` and
        ``reason``.
    """

    isopleths: gpd.GeoDataFrame
    ud: dict[str, xr.DataArray]
    bandwidths: pd.DataFrame
    excluded: pd.DataFrame

    @property
    def volumes(self) -> dict[str, np.ndarray]:
        """Volume contour (percent) of each UD, same shape as the UD."""
        return {
            k: _volume(np.asarray(v.values), grid_of(v).cell)
            for k, v in self.ud.items()
        }


def _isopleth(vol: np.ndarray, grid: GridSpec, percent: float) -> Any:
    """Polygon where the volume surface is <= percent (``getverticeshr``)."""
    from skimage import measure

    pad = np.pad(vol, 1, constant_values=max(1000.0, float(vol.max()) * 10))
    rings = []
    for c in measure.find_contours(pad, percent):
        if len(c) < 4:
            continue
        x = grid.x0 + (c[:, 1] - 0.5) * grid.cell
        y = grid.y0 - (c[:, 0] - 0.5) * grid.cell
        poly = Polygon(np.column_stack([x, y]))
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        if poly.area > 0:
            rings.append(poly)
    if not rings:
        return Polygon()
    rings.sort(key=lambda p: -p.area)
    geom = rings[0]
    for r in rings[1:]:
        geom = geom.symmetric_difference(r)
    return shapely.normalize(geom)


def kde(
    relocations: gpd.GeoDataFrame | Survey,
    *,
    h: str | float = "href",
    percent: float | Sequence[float] = (50, 95),
    grid: int | float | GridSpec = 60,
    cell_size: float | None = None,
    extent: float = 1.0,
    same_grid: bool = False,
    weights: Sequence[float] | np.ndarray | None = None,
    effort_weights: bool = False,
    min_detections: int = 5,
    min_stations: int = 3,
    progress: bool = False,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> HomeRangeResult:
    """Fixed-kernel home ranges (adehabitatHR ``kernelUD`` + ``getverticeshr``).

    Parameters
    ----------
    relocations
        Points with ``individual_id`` in a projected CRS (metres), or a
        Survey (its detection events at stations are used).
    h
        ``"href"`` (reference bandwidth), ``"lscv"`` (least-squares
        cross-validation over 100 values in 0.1-1.5 href; falls back to href
        with a :class:`~trapscape.errors.TrapscapeWarning` when it is
        degenerate, as with repeated camera-station locations) or a
        bandwidth in metres.
    percent
        Isopleth percentage(s).
    grid
        An ``int``: adehabitatHR's grid, that many cell centres along the
        longer side of the relocations' bounding box widened by ``extent``
        times its range on each side. A ``float``: the cell size in metres,
        with cell centres at multiples of cell + cell/2 and the box widened
        by ``extent`` times the range and at least 4h. A
        :class:`~trapscape._raster.GridSpec`: that grid for every individual.
    cell_size
        Cell size in metres; when given it replaces ``grid`` (same as passing
        a float). Grids of one cell size are aligned, so :func:`overlap`
        works without ``same_grid``.
    extent
        Widening of the bounding box, in multiples of its range.
    same_grid
        One grid for all individuals, built from all relocations
        (adehabitatHR's ``same4all``); needed by :func:`overlap`.
    weights
        Optional non-negative weight per relocation (e.g. from
        :func:`station_weights`); normalised to sum to 1 per individual.
        Bandwidths are computed without weights.
    effort_weights
        With a Survey: weight each detection event by 1 / operating days of
        its station (:func:`station_weights`), so that detections at
        stations that worked longer count less.
    min_detections, min_stations
        Individuals with fewer relocations or distinct stations are excluded
        and listed in ``result.excluded``.
    progress
        Show a progress bar over individuals.
    max_memory_gb
        Memory budget in GiB.  The UD grids of all individuals are held at
        once; their size is estimated from the grids (before any UD is
        computed) and a request over the budget is refused, naming a cell
        size that fits (``None``: no check).

    Returns
    -------
    HomeRangeResult
        Isopleth polygons, UDs, bandwidths and exclusions.

    Raises
    ------
    ComputationError
        If no individual qualifies, or the grids would exceed
        ``max_memory_gb``.

    References
    ----------
    Worton (1989); Silverman (1986); Calenge (2006), see the module docstring.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> rng = np.random.default_rng(1)
    >>> xy = rng.normal(0, 500, size=(50, 2)) + 500_000
    >>> pts = gpd.GeoDataFrame({"individual_id": ["a"] * 50},
    ...     geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32652")
    >>> res = kde(pts, h=300.0, percent=95, grid=50.0)
    >>> bool(res.isopleths["area_km2"].iloc[0] > 0)
    True
    """
    percents = _percents(percent)
    uds, grids, bandwidths, excluded = utilization_distributions(
        relocations,
        h=h,
        grid=grid,
        cell_size=cell_size,
        extent=extent,
        same_grid=same_grid,
        weights=weights,
        effort_weights=effort_weights,
        min_detections=min_detections,
        min_stations=min_stations,
        progress=progress,
        max_memory_gb=max_memory_gb,
    )
    bw = bandwidths.set_index(V.INDIVIDUAL_ID)
    rows: list[dict[str, Any]] = []
    at_edge: list[str] = []
    for ind, ud in uds.items():
        rows += _isopleth_rows(ind, ud, grids[ind], bw, percents, at_edge)
    _warn_at_edge(at_edge)
    das = {ind: to_dataarray(ud, grids[ind], name="ud") for ind, ud in uds.items()}
    crs = next(iter(grids.values())).crs
    iso = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    logger.info("KDE of %d individual(s), %d isopleth(s)", len(uds), len(iso))
    return HomeRangeResult(
        isopleths=iso, ud=das, bandwidths=bandwidths, excluded=excluded
    )


def _isopleth_rows(
    ind: str,
    ud: np.ndarray,
    g: GridSpec,
    bw: pd.DataFrame,
    percents: tuple[float, ...],
    at_edge: list[str],
) -> list[dict[str, Any]]:
    """Isopleth rows of one individual; appends the ranges cut by the grid edge."""
    vol = _volume(ud, g.cell)
    edge = min(vol[0].min(), vol[-1].min(), vol[:, 0].min(), vol[:, -1].min())
    rows = []
    for p in percents:
        if edge <= p < 100:
            at_edge.append(f"{ind} ({p:g} %)")
        geom = _isopleth(vol, g, p)
        rows.append(
            {
                V.INDIVIDUAL_ID: ind,
                "method": "kde",
                "percent": p,
                "h": float(bw.at[ind, "h"]),
                "h_method": bw.at[ind, "h_method"],
                "n": int(bw.at[ind, "n"]),
                "cell": g.cell,
                "area_km2": float(np.count_nonzero(vol <= p)) * g.cell**2 / 1e6,
                "poly_area_km2": geom.area / 1e6,
                "geometry": geom,
            }
        )
    return rows


def _warn_at_edge(at_edge: list[str]) -> None:
    """Warn (at the caller of :func:`kde`) about ranges cut off by their grid."""
    if at_edge:
        more = ", ..." if len(at_edge) > 10 else ""
        warnings.warn(
            f"{len(at_edge)} range(s) reach the edge of their grid, so their area is "
            f"cut off: {', '.join(at_edge[:10])}{more}. Increase extent, use a larger "
            "grid, or give cell_size (grids then cover at least 4h around the points).",
            TrapscapeWarning,
            stacklevel=3,
        )
