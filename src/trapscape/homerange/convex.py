"""Minimum convex polygons (adehabitatHR ``mcp``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
from shapely.geometry import MultiPoint, Polygon

from .. import validation as V
from .relocations import _as_relocations, _percents, _split

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "mcp",
]

logger = logging.getLogger(__name__)


def mcp(
    relocations: gpd.GeoDataFrame | Survey,
    *,
    percent: float | Sequence[float] = 95,
    min_detections: int = 5,
    min_stations: int = 3,
) -> gpd.GeoDataFrame:
    """Minimum convex polygons at one or more percentages (adehabitatHR ``mcp``).

    For each individual the relocations whose distance to the arithmetic
    centroid exceeds the ``percent`` quantile of those distances (R quantile
    type 7, i.e. numpy's ``linear``) are dropped; the convex hull of the rest
    is the range.

    Parameters
    ----------
    relocations
        Points with ``individual_id`` in a projected CRS, or a Survey (its
        detection events are used, see :func:`relocations_from_survey`).
    percent
        Percentage(s) of relocations to keep, in (0, 100].
    min_detections, min_stations
        Individuals with fewer relocations or distinct stations are left out
        and listed in ``result.attrs["excluded"]`` (records with
        ``individual_id``, ``n_detections``, ``n_stations``, ``reason``; see
        also :func:`eligibility`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id``, ``method`` ("mcp"), ``percent``, ``n``,
        ``area_km2``, polygon geometry; CRS of the input. Collinear
        relocations give an empty polygon of area 0.

    References
    ----------
    Mohr, C. O. (1947). Table of equivalent populations of North American
    small mammals. American Midland Naturalist 37, 223-249.
    Calenge (2006), see the module docstring.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame({"individual_id": ["a"] * 5},
    ...     geometry=gpd.points_from_xy([0, 1000, 1000, 0, 500],
    ...                                 [0, 0, 1000, 1000, 500]),
    ...     crs="EPSG:32652")
    >>> float(mcp(pts, percent=100, min_stations=3)["area_km2"].iloc[0])
    1.0
    """
    rel = _as_relocations(relocations)
    percents = _percents(percent)
    coords, _, excluded = _split(rel, min_detections, min_stations)
    rows = []
    for ind, xy in coords.items():
        c = xy.mean(axis=0)
        d = np.hypot(xy[:, 0] - c[0], xy[:, 1] - c[1])
        for p in percents:
            q = np.quantile(d, p / 100.0)
            hull = MultiPoint(xy[d <= q]).convex_hull
            if not isinstance(hull, Polygon):
                hull = Polygon()
            rows.append(
                {
                    V.INDIVIDUAL_ID: ind,
                    "method": "mcp",
                    "percent": p,
                    "n": len(xy),
                    "area_km2": hull.area / 1e6,
                    "geometry": hull,
                }
            )
    out = gpd.GeoDataFrame(
        rows
        or {V.INDIVIDUAL_ID: [], "method": [], "percent": [], "n": [], "area_km2": []},
        geometry="geometry" if rows else gpd.GeoSeries([]),
        crs=rel.crs,
    )
    out.attrs["excluded"] = excluded.to_dict("records")
    logger.info("MCP of %d individual(s) at %s %%", len(coords), list(percents))
    return out
