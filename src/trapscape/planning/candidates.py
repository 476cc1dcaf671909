"""Candidate sites for new cameras and the planning region.

:func:`candidate_sites` lays a grid (or takes the user's points) over the
planning region and keeps the sites that meet the fixed placement
constraints; :func:`region_polygon` names the region.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from .. import validation as V
from ..crs import require_projected
from ..errors import GeometryError, InputError
from ..survey import REGIONS as _SURVEY_REGIONS

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from ..survey import Survey

__all__ = ["CANDIDATE_ID", "REGIONS", "RegionLike", "candidate_sites", "region_polygon"]

logger = logging.getLogger(__name__)

#: Column holding the id of each candidate site.
CANDIDATE_ID = "candidate_id"

#: Named planning regions accepted by ``region=`` in :func:`plan` and
#: :func:`candidate_sites` (see :meth:`trapscape.survey.Survey.region`).
REGIONS = _SURVEY_REGIONS

#: Type of the ``region`` argument: a name from :data:`REGIONS` or polygons.
RegionLike = Any


def region_polygon(survey: Survey, region: RegionLike = "study_area") -> BaseGeometry:
    """The planning region as one (multi)polygon in the survey CRS.

    An alias of :meth:`trapscape.survey.Survey.region` (same names, polygons,
    fallbacks and errors), kept for existing callers.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    region
        ``"study_area"``, ``"parks"``, ``"study_area+parks"`` or polygons; see
        :meth:`~trapscape.survey.Survey.region`.

    Returns
    -------
    shapely geometry
        The region, not yet clipped to habitat.

    Raises
    ------
    InputError
        If the layer the region names is missing, the name is unknown or the
        polygons have no area.
    CRSError
        If a region layer is not in a projected CRS.
    """
    return survey.region(region)


def _region(
    survey: Survey,
    habitat: gpd.GeoDataFrame | None,
    region: RegionLike = "study_area",
) -> BaseGeometry:
    area = region_polygon(survey, region)
    hab = habitat if habitat is not None else survey.habitat
    if hab is not None and len(hab) > 0:
        require_projected(hab, "habitat layer")
        area = area.intersection(hab.to_crs(survey.crs).geometry.union_all())
    return area


def _layer_union(layer: gpd.GeoDataFrame, crs: Any, what: str) -> BaseGeometry:
    require_projected(layer, what)
    return layer.to_crs(crs).geometry.union_all()


def candidate_sites(
    survey: Survey,
    *,
    spacing: float = 1000.0,
    candidates: gpd.GeoDataFrame | None = None,
    exclude: Sequence[gpd.GeoDataFrame] | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    settlement_buffer: float = 500.0,
    habitat: gpd.GeoDataFrame | None = None,
    access: gpd.GeoDataFrame | None = None,
    max_access_distance: float | None = None,
    min_spacing: float = 2000.0,
    zone_budget: Mapping[str, int] | None = None,
    region: RegionLike = "study_area",
) -> gpd.GeoDataFrame:
    """Candidate camera sites satisfying the fixed placement constraints.

    Candidates are the centres of a square grid of ``spacing`` metres laid
    over the planning ``region`` (by default the study area; or the user's
    ``candidates`` points in it), kept only when they are

    * on habitat (default: ``survey.habitat`` ∩ region; the region alone
      when the survey has no habitat layer);
    * outside every ``exclude`` polygon (water, fields, ...) and more than
      ``settlement_buffer`` metres from ``settlements``;
    * within ``max_access_distance`` metres of an ``access`` line (roads,
      tracks), when both are given;
    * at least ``min_spacing`` metres from every existing station;
    * not in a zone whose ``zone_budget`` is 0.

    Spacing between chosen candidates and the per-zone budget are enforced
    during selection by :func:`plan`.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    spacing
        Grid spacing in metres (ignored when ``candidates`` is given).
    candidates
        User-supplied candidate points in a projected CRS (reprojected to
        the survey CRS when it differs).  Polygons or lines are replaced by a
        point on them.
    exclude
        Polygon layers where cameras may not go.
    settlements
        Settlement polygons or points, avoided by ``settlement_buffer`` metres.
    settlement_buffer
        Minimum distance to settlements in metres.
    habitat
        Habitat polygons overriding ``survey.habitat``.
    access
        Roads/tracks as lines.
    max_access_distance
        Maximum distance in metres from ``access`` (needs ``access``).
    min_spacing
        Minimum distance in metres to existing stations.
    zone_budget
        Maximum number of new sites per zone name (``survey.zones``); zones
        with budget 0 get no candidates.
    region
        Where candidates may go: ``"study_area"`` (default), ``"parks"``
        (union of ``survey.parks``), ``"study_area+parks"``, or polygons (a
        GeoDataFrame/GeoSeries in a projected CRS, or a shapely polygon in
        the survey CRS); see :func:`region_polygon`.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the survey CRS with ``candidate_id`` (``"C00001"``...) and
        ``zone`` (zone name or NA), plus the user's columns.

    Raises
    ------
    CRSError
        If a layer is not in a projected CRS in metres.
    InputError
        If no candidate survives the constraints, an argument is invalid, or
        ``region`` names a boundary layer the survey lacks.
    """
    crs = require_projected(survey.crs, "survey")
    if not spacing > 0:
        raise InputError(
            f"spacing must be a positive distance in metres, got {spacing!r}."
        )
    if min_spacing < 0:
        raise InputError(f"min_spacing must be >= 0 metres, got {min_spacing!r}.")
    if max_access_distance is not None and access is None:
        raise InputError(
            "max_access_distance needs an access layer (roads/tracks); pass access=."
        )

    label = region if isinstance(region, str) else "region"
    area = _region(survey, habitat, region)
    if candidates is not None:
        cand = _user_candidates(candidates, area, crs)
        stages = [(f"user candidates in the {label}", len(cand))]
    else:
        cand = _grid_candidates(area, spacing, crs, label)
        stages = [(f"grid points ({spacing:g} m) in the {label}", len(cand))]
    cand = _drop_excluded(
        cand,
        stages,
        crs,
        exclude=exclude,
        settlements=settlements,
        settlement_buffer=settlement_buffer,
        access=access,
        max_access_distance=max_access_distance,
    )
    cand = _drop_near_stations(cand, stages, survey, min_spacing)
    cand = _zoned_and_named(cand, stages, survey, zone_budget)
    logger.info(
        "%d candidate sites (spacing %.0f m, min spacing %.0f m)",
        len(cand),
        spacing,
        min_spacing,
    )
    return cand


def _user_candidates(
    candidates: gpd.GeoDataFrame, area: BaseGeometry, crs: Any
) -> gpd.GeoDataFrame:
    """The user's candidates in the survey CRS, as points, inside ``area``."""
    require_projected(
        candidates.crs if candidates.crs is not None else None, "candidates layer"
    )
    cand = candidates.to_crs(crs).copy()
    geom = cand.geometry
    if geom.is_empty.any() or geom.isna().any():
        bad = int(np.flatnonzero((geom.is_empty | geom.isna()).to_numpy())[0]) + 1
        raise GeometryError(
            f"candidates row {bad}: empty geometry. Remove it or give a point.",
            row=bad,
        )
    not_pt = geom.geom_type != "Point"
    if not_pt.any():
        cand.loc[not_pt, "geometry"] = geom[not_pt].representative_point()
    return cand[cand.geometry.intersects(area)]


def _grid_candidates(
    area: BaseGeometry, spacing: float, crs: Any, label: str
) -> gpd.GeoDataFrame:
    """Centres of a ``spacing`` grid (aligned on multiples of it) inside ``area``."""
    if area.is_empty:
        raise InputError(
            f"The planning region '{label}' (∩ habitat) is empty; "
            "nothing to place candidates in. Check the boundary layers or "
            "choose another region."
        )
    minx, miny, maxx, maxy = area.bounds
    x0 = math.floor(minx / spacing) * spacing + spacing / 2.0
    y0 = math.floor(miny / spacing) * spacing + spacing / 2.0
    xs = np.arange(x0, maxx, spacing)
    ys = np.arange(y0, maxy, spacing)
    gx, gy = np.meshgrid(xs, ys)
    pts = gpd.GeoSeries(gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=crs)
    keep = pts.intersects(area).to_numpy()
    return gpd.GeoDataFrame(geometry=pts[keep].reset_index(drop=True), crs=crs)


def _drop_excluded(
    cand: gpd.GeoDataFrame,
    stages: list[tuple[str, int]],
    crs: Any,
    *,
    exclude: Sequence[gpd.GeoDataFrame] | None,
    settlements: gpd.GeoDataFrame | None,
    settlement_buffer: float,
    access: gpd.GeoDataFrame | None,
    max_access_distance: float | None,
) -> gpd.GeoDataFrame:
    """Drop candidates in excluded areas, near settlements or far from access.

    Appends ``(what, candidates left)`` to ``stages`` for every filter applied.
    """
    for i, layer in enumerate(exclude or ()):
        u = _layer_union(layer, crs, f"exclude layer {i + 1}")
        cand = cand[~cand.geometry.intersects(u)]
        stages.append((f"outside exclude layer {i + 1}", len(cand)))
    if settlements is not None and len(settlements) > 0:
        u = _layer_union(settlements, crs, "settlements layer")
        cand = cand[cand.geometry.distance(u) > settlement_buffer]
        stages.append(
            (f"more than {settlement_buffer:g} m from settlements", len(cand))
        )
    if access is not None and max_access_distance is not None:
        u = _layer_union(access, crs, "access layer")
        cand = cand[cand.geometry.distance(u) <= max_access_distance]
        stages.append((f"within {max_access_distance:g} m of access", len(cand)))
    return cand


def _drop_near_stations(
    cand: gpd.GeoDataFrame,
    stages: list[tuple[str, int]],
    survey: Survey,
    min_spacing: float,
) -> gpd.GeoDataFrame:
    """Drop candidates closer than ``min_spacing`` to an existing station."""
    st = survey.station_points
    if len(st) > 0 and len(cand) > 0 and min_spacing > 0:
        tree = cKDTree(np.column_stack([st.geometry.x, st.geometry.y]))
        d, _ = tree.query(np.column_stack([cand.geometry.x, cand.geometry.y]))
        cand = cand[d >= min_spacing - 1e-6]
        stages.append((f"at least {min_spacing:g} m from existing stations", len(cand)))
    return cand


def _zoned_and_named(
    cand: gpd.GeoDataFrame,
    stages: list[tuple[str, int]],
    survey: Survey,
    zone_budget: Mapping[str, int] | None,
) -> gpd.GeoDataFrame:
    """Add zones, drop zones with budget 0, refuse an empty set, add ids."""
    cand = cand.copy()
    cand[V.ZONE] = survey.zone_of(cand.geometry).to_numpy() if len(cand) else []
    if zone_budget:
        closed = [z for z, b in zone_budget.items() if int(b) <= 0]
        cand = cand[~cand[V.ZONE].isin(closed)]
        stages.append(("outside zones with budget 0", len(cand)))
    if len(cand) == 0:
        steps = "; ".join(f"{what}: {n}" for what, n in stages)
        raise InputError(
            f"No candidate site satisfies the constraints ({steps}). Relax the "
            "constraint that removed the last ones (e.g. a smaller min_spacing or "
            "spacing), or pass "
            "candidates=."
        )
    cand = cand.reset_index(drop=True)
    if CANDIDATE_ID not in cand.columns:
        cand.insert(0, CANDIDATE_ID, [f"C{i + 1:05d}" for i in range(len(cand))])
    else:
        cand[CANDIDATE_ID] = cand[CANDIDATE_ID].astype(str)
    return cand
