"""Home ranges of a survey: everything ``trapscape homerange`` and the run's step report.

:func:`for_survey` is the one function both call, so the command and the
``homerange`` step of ``trapscape run`` compute the same things: ranges
(KDE isopleths and/or MCPs) with their area per zone, the individuals left
out, KDE bandwidths, pairwise overlaps (Fieberg & Kochanny 2005), 95 %
detection-scale circles (sigma ranges, when detection parameters are given),
the cross-border status of individuals and the ranges that straddle zones.

MERGER: this module becomes ``homerange/survey.py`` once ``homerange`` is a
package (``trapscape.homerange.for_survey``).

References
----------
Fieberg, J. & Kochanny, C. O. (2005). Quantifying home-range overlap: the
importance of the utilization distribution. *Journal of Wildlife
Management* 69(4), 1346-1359.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB
from ..errors import ComputationError, InputError, TrapscapeWarning
from ..reserve import straddling_ranges
from . import borders as _borders
from . import convex as _convex
from . import isopleths as _isopleths
from . import overlaps as _overlap_mod
from . import relocations as _reloc
from . import sigma as _sigma

if TYPE_CHECKING:
    from .._raster import GridSpec
    from ..detection import DetectionParams
    from ..survey import Survey
    from .borders import CrossBorderResult
    from .isopleths import HomeRangeResult

__all__ = ["OVERLAP_METHODS", "SurveyHomeRanges", "for_survey"]

logger = logging.getLogger(__name__)

#: overlap indices written, in order (see :func:`trapscape.homerange.overlap`)
OVERLAP_METHODS = ("HR", "PHR", "VI", "BA", "UDOI", "HD")
_OVERLAP_COLUMNS = ["method", "percent", "id1", "id2", "value"]
_EXCLUDED_COLUMNS = [V.INDIVIDUAL_ID, "n_detections", "n_stations", "reason"]


@dataclass(frozen=True)
class SurveyHomeRanges:
    """What :func:`for_survey` computed.

    Attributes
    ----------
    relocations
        The points the ranges were estimated from.
    ranges
        Range polygons (``individual_id``, ``method``, ``percent``,
        ``area_km2``, ...) with their area per zone when the survey has zones.
    excluded
        Individuals left out and why (may be empty).
    bandwidths
        KDE bandwidth per individual (``None`` for MCP only).
    overlaps
        Long table ``method, percent, id1, id2, value`` of the indices in
        :data:`OVERLAP_METHODS` (empty for MCP or a single individual).
    sigma_ranges
        Circles of radius 2.45 sigma around each individual's detections
        (``None`` without detection parameters).
    cross_border
        Zones used per individual, crossings and population per zone
        (``None`` without zones).
    straddling
        Ranges that straddle zone borders (``None`` without zones).
    kde
        The KDE result with the utilization distributions (``None`` for MCP).
    """

    relocations: gpd.GeoDataFrame
    ranges: gpd.GeoDataFrame
    excluded: pd.DataFrame
    bandwidths: pd.DataFrame | None
    overlaps: pd.DataFrame
    sigma_ranges: gpd.GeoDataFrame | None
    cross_border: CrossBorderResult | None
    straddling: pd.DataFrame | None
    kde: HomeRangeResult | None

    @property
    def areas(self) -> pd.DataFrame:
        """The range table without geometries (``home_range_areas.csv``)."""
        return pd.DataFrame(self.ranges.drop(columns=self.ranges.geometry.name))

    @property
    def n_individuals(self) -> int:
        """Individuals with a range."""
        if V.INDIVIDUAL_ID in self.ranges.columns:
            return int(self.ranges[V.INDIVIDUAL_ID].nunique())
        return len(self.ranges)


def for_survey(
    survey: Survey | None = None,
    *,
    relocations: gpd.GeoDataFrame | None = None,
    method: Literal["kde", "mcp", "both"] = "kde",
    h: str | float = "href",
    percent: float | Sequence[float] = (50, 95),
    grid: int | float | GridSpec = 60,
    cell_size: float | None = None,
    extent: float = 1.0,
    min_detections: int = 5,
    min_stations: int = 3,
    burst_minutes: float = _reloc.DEFAULT_BURST_MINUTES,
    effort_weights: bool = False,
    detection: DetectionParams | None = None,
    straddling_percent: float = 95.0,
    clip_to_land: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    progress: bool = False,
) -> SurveyHomeRanges:
    """Home ranges, overlaps, sigma ranges and cross-border status of a survey.

    Parameters
    ----------
    survey
        The survey (its detection events are the relocations).
    relocations
        Instead of a survey: relocation points (``individual_id``, points in
        a projected CRS); cross-border results then need no survey.
    method
        ``"kde"``, ``"mcp"`` or ``"both"``.
    h, grid, cell_size, extent
        KDE bandwidth and grid (see :func:`trapscape.homerange.kde`).  With
        adehabitatHR's grid of ``grid`` cells, an individual whose isopleths
        reach the edge of its grid (narrow or near-collinear detections) is
        estimated again on a grid of the same cell size covering at least 4h
        around its points, so no range is cut off.
    percent
        Isopleth / MCP percentages.
    min_detections, min_stations
        Eligibility rules (see :func:`trapscape.homerange.eligibility`).
    burst_minutes
        Photos of one individual at one station closer than this are one
        relocation.
    effort_weights
        Weight detections by 1 / operating days of their station (survey only).
    detection
        Detection parameters: adds :attr:`SurveyHomeRanges.sigma_ranges`.
    straddling_percent
        Isopleth whose straddling of zone borders is listed.
    clip_to_land
        Clip the range polygons to the union of the survey's zones (the
        countries: land), so ranges do not spill over the sea and the shares
        of a range per country add up to 1.  ``area_km2`` and
        ``poly_area_km2`` are then the area on land, and ``off_land_km2``
        the area cut off.
    max_memory_gb
        Memory budget of the KDE grids.
    progress
        Progress bar over individuals.

    Returns
    -------
    SurveyHomeRanges

    Raises
    ------
    InputError
        Neither or both of ``survey`` and ``relocations``; no identified
        individuals; ``effort_weights`` without a survey; unknown method.
    """
    rel = _relocations(survey, relocations, method, effort_weights, burst_minutes)
    pct = (
        (float(percent),)
        if isinstance(percent, (int, float))
        else tuple(float(p) for p in percent)
    )
    weights = None
    if effort_weights and survey is not None:
        weights = _reloc.station_weights(survey, rel)
    kde_kw = {
        "h": h, "extent": extent, "weights": weights, "max_memory_gb": max_memory_gb,
        "min_detections": min_detections, "min_stations": min_stations,
    }  # fmt: skip
    ranges, excluded, kres = _estimate(
        rel, method, pct, kde_kw, grid=grid, cell_size=cell_size, progress=progress
    )
    zones = survey.zones if survey is not None else None
    has_zones = zones is not None and len(zones) > 0
    if clip_to_land and has_zones and len(ranges):
        ranges, kres = _clip_ranges(ranges, kres, zones)
    plain = kres.isopleths if kres is not None else ranges  # before areas per zone
    if has_zones and len(ranges):
        areas = _borders.zone_areas(ranges, zones)
        areas = areas[[c for c in areas.columns if c not in ranges.columns]]
        ranges = gpd.GeoDataFrame(
            pd.concat([ranges, areas], axis=1), geometry="geometry", crs=rel.crs
        )
    p_main = 95.0 if 95.0 in pct else max(pct)
    cb = straddling = None
    if has_zones and survey is not None and len(ranges):
        cb = _borders.cross_border(
            survey,
            kres if kres is not None else ranges,
            relocations=rel,
            percent=p_main,
        )
        straddling = straddling_ranges(survey, plain, percent=straddling_percent)
    return SurveyHomeRanges(
        relocations=rel,
        ranges=ranges,
        excluded=_excluded_table(excluded),
        bandwidths=None if kres is None else kres.bandwidths,
        overlaps=_overlaps(rel, kres, p_main, kde_kw),
        sigma_ranges=detection and _sigma.sigma_ranges(rel, detection, percent=95),
        cross_border=cb,
        straddling=straddling,
        kde=kres,
    )


def _relocations(
    survey: Survey | None,
    relocations: gpd.GeoDataFrame | None,
    method: str,
    effort_weights: bool,
    burst_minutes: float,
) -> gpd.GeoDataFrame:
    """The relocations to estimate from, after checking the arguments."""
    if (survey is None) == (relocations is None):
        raise InputError("Give either a survey or relocations.")
    if method not in ("kde", "mcp", "both"):
        raise InputError(f"[homerange] method = {method!r}: use kde, mcp or both.")
    if effort_weights and survey is None:
        raise InputError(
            "effort_weights needs a survey (station operating days); it cannot be "
            "used with relocations."
        )
    rel = (
        relocations
        if relocations is not None
        else _reloc.relocations_from_survey(survey, burst_minutes=burst_minutes)  # type: ignore[arg-type]
    )
    if len(rel) == 0:
        raise InputError("No sightings of identified individuals; nothing to do.")
    return rel


def _estimate(
    rel: gpd.GeoDataFrame,
    method: str,
    pct: tuple[float, ...],
    kde_kw: Mapping[str, Any],
    *,
    grid: Any,
    cell_size: float | None,
    progress: bool,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None, HomeRangeResult | None]:
    """Range polygons (MCP and/or KDE), the individuals left out, the KDE result."""
    layers: list[gpd.GeoDataFrame] = []
    excluded: pd.DataFrame | None = None
    kres = None
    if method in ("mcp", "both"):
        m = _convex.mcp(
            rel,
            percent=pct,
            min_detections=kde_kw["min_detections"],
            min_stations=kde_kw["min_stations"],
        )
        layers.append(m)
        excluded = pd.DataFrame(m.attrs.get("excluded", []))
    if method in ("kde", "both"):
        count_grid = cell_size is None and isinstance(grid, int)
        with warnings.catch_warnings():
            if count_grid:  # cut ranges are estimated again below
                warnings.filterwarnings(
                    "ignore",
                    message=".*reach the edge of their grid",
                    category=TrapscapeWarning,
                )
            kres = _isopleths.kde(
                rel,
                percent=pct,
                grid=grid,
                cell_size=cell_size,
                progress=progress,
                **kde_kw,
            )
        if count_grid:
            kres = _widen_cut_ranges(rel, kres, pct, kde_kw)
        layers.append(kres.isopleths)
        excluded = kres.excluded
    ranges = pd.concat(layers, ignore_index=True) if len(layers) > 1 else layers[0]
    return gpd.GeoDataFrame(ranges, geometry="geometry", crs=rel.crs), excluded, kres


def _widen_cut_ranges(
    rel: gpd.GeoDataFrame,
    kres: HomeRangeResult,
    pct: tuple[float, ...],
    kde_kw: Mapping[str, Any],
) -> HomeRangeResult:
    """Estimate again, on wider grids, the individuals whose ranges reach the grid edge.

    adehabitatHR's grid spans the relocations' bounding box widened by
    ``extent`` times its range, which for narrow or near-collinear
    detections is less than the kernel's reach.  Such an individual gets a
    grid of the same cell size that covers at least 4h around its points
    (:func:`trapscape.homerange.kde` with ``cell_size``); its bandwidth,
    chosen from its points alone, is unchanged.
    """
    top = max(p for p in pct if p < 100) if any(p < 100 for p in pct) else None
    if top is None:
        return kres
    cut = []
    for ind, vol in kres.volumes.items():
        edge = min(vol[0].min(), vol[-1].min(), vol[:, 0].min(), vol[:, -1].min())
        if edge <= top:
            cut.append(ind)
    if not cut:
        return kres
    ids = rel[V.INDIVIDUAL_ID].astype(str)
    iso, uds = (
        [kres.isopleths[~kres.isopleths[V.INDIVIDUAL_ID].isin(cut)]],
        dict(kres.ud),
    )
    for ind in cut:
        sel = (ids == ind).to_numpy()
        kw = dict(kde_kw)
        if kw.get("weights") is not None:
            kw["weights"] = np.asarray(kw["weights"], dtype=float)[sel]
        cell = float(
            kres.isopleths.loc[kres.isopleths[V.INDIVIDUAL_ID] == ind, "cell"].iloc[0]
        )
        again = _isopleths.kde(rel[sel], percent=pct, cell_size=cell, **kw)
        iso.append(again.isopleths)
        uds[ind] = again.ud[ind]
    logger.info("%d range(s) re-estimated on wider grids: %s", len(cut), ", ".join(cut))
    rows = gpd.GeoDataFrame(pd.concat(iso), geometry="geometry", crs=rel.crs)
    order = {k: i for i, k in enumerate(kres.ud)}
    rows = rows.sort_values(
        [V.INDIVIDUAL_ID, "percent"],
        key=lambda c: c.map(order) if c.name == V.INDIVIDUAL_ID else c,
    ).reset_index(drop=True)
    return replace(kres, isopleths=rows, ud=uds)


def _clip_ranges(
    ranges: gpd.GeoDataFrame, kres: HomeRangeResult | None, zones: Any
) -> tuple[gpd.GeoDataFrame, HomeRangeResult | None]:
    """Ranges (and the KDE result's isopleths) clipped to the zones: land."""
    land = zones.to_crs(ranges.crs).geometry.union_all()
    if kres is not None:
        kres = replace(kres, isopleths=_clip_to(kres.isopleths, land))
    return _clip_to(ranges, land), kres


def _clip_to(ranges: gpd.GeoDataFrame, land: Any) -> gpd.GeoDataFrame:
    """Range polygons clipped to ``land``, with areas on land and the area cut off."""
    out = ranges.copy()
    before = out.geometry.area.to_numpy()
    out["geometry"] = out.geometry.intersection(land)
    after = out.geometry.area.to_numpy()
    lost = before - after
    changed = lost > 1e-6 * np.maximum(before, 1.0)
    for col in ("area_km2", "poly_area_km2"):
        if col in out.columns:
            out[col] = np.where(changed, after / 1e6, out[col].to_numpy(dtype=float))
    out["off_land_km2"] = np.where(changed, lost / 1e6, 0.0)
    return out


def _excluded_table(excluded: pd.DataFrame | None) -> pd.DataFrame:
    if excluded is None or len(excluded) == 0:
        return pd.DataFrame(columns=_EXCLUDED_COLUMNS)
    return pd.DataFrame(excluded)


def _overlaps(
    rel: gpd.GeoDataFrame,
    kres: HomeRangeResult | None,
    percent: float,
    kde_kw: Mapping[str, Any],
) -> pd.DataFrame:
    """Every overlap index between the individuals' UDs, as one long table.

    The indices need UDs on one lattice; per-individual grids are recomputed
    on an aligned grid of their median cell size first.
    """
    if kres is None or len(kres.ud) < 2:
        return pd.DataFrame(columns=_OVERLAP_COLUMNS)
    ovr = kres
    try:
        _overlap_mod.overlap(kres, method="HR", percent=percent)
    except ComputationError:  # grids not aligned: recompute on a common lattice
        cs = float(
            pd.Series([float(da.x[1] - da.x[0]) for da in kres.ud.values()]).median()
        )
        logger.info("overlap: UDs recomputed on aligned %.1f m grids", cs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ovr = _isopleths.kde(rel, percent=percent, cell_size=cs, **kde_kw)
    rows = []
    for meth in OVERLAP_METHODS:
        mat = _overlap_mod.overlap(ovr, method=meth, percent=percent)
        long = mat.stack().rename("value").reset_index()
        long.insert(0, "percent", percent)
        long.insert(0, "method", meth)
        rows.append(long)
    return pd.concat(rows, ignore_index=True)
