"""Coordinate reference systems: one projected metric CRS per survey.

Analysis in trapscape happens in metres.  :func:`survey_crs` picks the UTM
zone of the data's centroid (EPSG:32652 for southern Primorye);
:func:`to_projected` reprojects to it, and :func:`require_projected` guards
every analysis entry point so that nothing is ever computed in degrees.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyproj

from .errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["as_crs", "require_projected", "survey_crs", "to_projected", "utm_crs"]

logger = logging.getLogger(__name__)


def as_crs(crs: Any) -> pyproj.CRS:
    """Parse anything pyproj accepts ("EPSG:32652", 32652, WKT, CRS) to a CRS.

    Raises
    ------
    CRSError
        If the value is not a CRS pyproj understands.
    """
    if crs is None:
        raise CRSError("No CRS given. Pass a CRS such as 'EPSG:32652'.")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as err:
        raise CRSError(
            f"{crs!r} is not a coordinate reference system pyproj understands. "
            "Use an EPSG code such as 'EPSG:32652' or a WKT/PROJ string."
        ) from err


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS containing longitude/latitude ``(lon, lat)``.

    Examples
    --------
    >>> utm_crs(131.4, 43.0).to_epsg()
    32652
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CRSError(
            f"({lon}, {lat}) is not a longitude/latitude position. If it comes from a "
            "layer labelled geographic (e.g. EPSG:4326), its coordinates look like "
            "metres and its CRS is probably wrong: set it to the projected CRS, e.g. "
            "EPSG:32652."
        )
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return pyproj.CRS.from_epsg(epsg)


def survey_crs(*frames: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Pick one projected CRS for a survey from its layers.

    If the first layer with a CRS is already projected (in metres) it is
    kept; otherwise the UTM zone of the combined centroid is chosen.

    Raises
    ------
    CRSError
        If no layer has a CRS.
    """
    frames = tuple(f for f in frames if f is not None and len(f) > 0)
    with_crs = [f for f in frames if f.crs is not None]
    if not with_crs:
        raise CRSError("None of the layers has a CRS; state one with --crs.")
    first = pyproj.CRS.from_user_input(with_crs[0].crs)
    if first.is_projected and _is_metric(first):
        return first
    import geopandas as gpd
    import pandas as pd

    geoms = pd.concat(
        [
            gpd.GeoSeries(f.geometry if hasattr(f, "geometry") else f).to_crs(4326)
            for f in with_crs
        ]
    )
    minx, miny, maxx, maxy = gpd.GeoSeries(geoms).total_bounds
    crs = utm_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)
    logger.info("Survey CRS chosen: %s", crs.to_string())
    return crs


def _is_metric(crs: pyproj.CRS) -> bool:
    try:
        unit = crs.axis_info[0].unit_name
    except (IndexError, AttributeError):
        return False
    return unit in ("metre", "meter", "m")


def require_projected(obj: Any, what: str = "input") -> pyproj.CRS:
    """Return the CRS of ``obj`` (a layer or a CRS) if it is projected in metres.

    Raises
    ------
    CRSError
        If the CRS is missing, geographic, or not in metres.
    """
    crs = obj if isinstance(obj, pyproj.CRS) else getattr(obj, "crs", obj)
    if crs is None:
        raise CRSError(
            f"The {what} has no CRS. Set one (e.g. 'EPSG:32652') before analysis."
        )
    crs = as_crs(crs)
    if not crs.is_projected or not _is_metric(crs):
        raise CRSError(
            f"The {what} is in {crs.name} ({'geographic' if crs.is_geographic else 'non-metric'}"
            " coordinates); analysis needs a projected CRS in metres. "
            "Reproject with trapscape.crs.to_projected() or pass crs='EPSG:32652'."
        )
    return crs


def to_projected(frame: gpd.GeoDataFrame, crs: Any = None) -> gpd.GeoDataFrame:
    """Return ``frame`` reprojected to ``crs`` (default: its survey UTM zone).

    The input is not modified.

    Raises
    ------
    CRSError
        If the frame has no CRS or the target is not projected in metres.
    """
    if frame.crs is None:
        raise CRSError("The layer has no CRS; set it before reprojecting.")
    target = survey_crs(frame) if crs is None else as_crs(crs)
    require_projected(target, "target CRS")
    return frame.to_crs(target)
