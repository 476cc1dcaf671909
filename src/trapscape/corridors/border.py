"""Border segments scored as crossing hotspots, and where paths cross."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from .. import validation as V
from .._raster import (
    GridSpec,
    grid_of,
)
from ..crs import require_projected
from ..errors import ComputationError, InputError

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["border_hotspots", "border_segments", "pair_crossings", "survey_border"]

logger = logging.getLogger(__name__)


def _lines_of(border: Any) -> list[LineString]:
    from shapely.ops import linemerge

    geoms = (
        border.geometry
        if isinstance(border, (gpd.GeoDataFrame, gpd.GeoSeries))
        else ([border] if isinstance(border, BaseGeometry) else list(border))
    )
    parts: list[LineString] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if isinstance(g, LineString):
            parts.append(g)
        elif isinstance(g, MultiLineString):
            parts.extend(g.geoms)
        elif hasattr(g, "boundary"):
            b = g.boundary
            parts.extend(b.geoms if isinstance(b, MultiLineString) else [b])
    if not parts:
        return []
    merged = linemerge(parts)
    return list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]


def border_segments(
    border_lines: Any, *, segment_length: float = 1000.0, clip: Any = None
) -> gpd.GeoDataFrame:
    """Split border lines into segments of about ``segment_length`` metres.

    Each line is cut into ``round(length / segment_length)`` (at least one)
    equal pieces, so segments are within a factor 1.5 of the target length.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id``, ``line`` (index of the merged border line),
        ``start_m`` (distance along it), ``length_m``, geometry.
    """
    from shapely.ops import substring

    if not segment_length > 0:
        raise InputError(f"segment_length must be positive, got {segment_length}.")
    crs = getattr(border_lines, "crs", None)
    if crs is not None:
        require_projected(crs, "border")
    lines = _lines_of(border_lines)
    if clip is not None:
        clipped = []
        for ln in lines:
            inter = ln.intersection(clip)
            clipped.extend(_lines_of([inter]) if not inter.is_empty else [])
        lines = clipped
    rows = []
    for li, ln in enumerate(lines):
        n = max(1, round(ln.length / segment_length))
        step = ln.length / n
        for k in range(n):
            seg = substring(ln, k * step, (k + 1) * step)
            rows.append(
                {
                    "line": li,
                    "start_m": k * step,
                    "length_m": seg.length,
                    "geometry": seg,
                }
            )
    out = gpd.GeoDataFrame(
        rows,
        columns=["line", "start_m", "length_m", "geometry"],
        geometry="geometry",
        crs=crs,
    )
    out.insert(0, "segment_id", np.arange(1, len(out) + 1))
    return out


def _segment_cells(segs: gpd.GeoDataFrame, grid: GridSpec) -> list[np.ndarray]:
    """Flat indices of the distinct cells each segment passes through."""
    out = []
    for g in segs.geometry:
        n = max(2, math.ceil(g.length / (grid.cell / 4.0)) + 1)
        d = np.linspace(0.0, g.length, n)
        pts = [g.interpolate(x) for x in d]
        r, c = grid.rowcol(np.array([p.x for p in pts]), np.array([p.y for p in pts]))
        ok = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
        out.append(np.unique(r[ok] * grid.width + c[ok]))
    return out


def _segment_current(segs: gpd.GeoDataFrame, current: xr.DataArray) -> pd.DataFrame:
    vals = np.asarray(current.values, dtype=float).ravel()
    out: dict[str, list[float]] = {
        "current_sum": [],
        "current_max": [],
        "current_mean": [],
    }
    for cells in _segment_cells(segs, grid_of(current)):
        v = vals[cells]
        v = v[np.isfinite(v)]
        out["current_sum"].append(float(v.sum()) if v.size else 0.0)
        out["current_max"].append(float(v.max()) if v.size else 0.0)
        out["current_mean"].append(float(v.mean()) if v.size else 0.0)
    return pd.DataFrame(out, index=segs.index)


def _segment_detour(segs: gpd.GeoDataFrame, detour: xr.DataArray) -> np.ndarray:
    vals = np.asarray(detour.values, dtype=float).ravel()
    out = np.full(len(segs), np.nan)
    for k, cells in enumerate(_segment_cells(segs, grid_of(detour))):
        v = vals[cells]
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = float(v.min())
    return out


def _segment_paths(segs: gpd.GeoDataFrame, paths: gpd.GeoDataFrame) -> np.ndarray:
    """Least-cost paths crossing each segment (crossing points to the nearest)."""
    counts = np.zeros(len(segs), dtype=np.int64)
    union = segs.geometry.union_all()
    tree_geoms = segs.geometry.to_numpy()
    import shapely

    for line in paths.geometry:
        if line is None or line.is_empty:
            continue
        inter = line.intersection(union)
        pts = (
            shapely.get_parts(shapely.extract_unique_points(inter))
            if not inter.is_empty
            else []
        )
        if inter.geom_type in ("LineString", "MultiLineString") and not inter.is_empty:
            pts = [inter.interpolate(0.5, normalized=True)]
        seen: set[int] = set()
        for p in pts:
            k = int(np.argmin(shapely.distance(tree_geoms, p)))
            seen.add(k)
        for k in seen:
            counts[k] += 1
    return counts


def border_hotspots(
    border_lines: Any,
    *,
    current: xr.DataArray | None = None,
    paths: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    detour: xr.DataArray | None = None,
    flow_potential: xr.DataArray | None = None,
    segment_length: float = 1000.0,
) -> gpd.GeoDataFrame:
    """Score and rank border segments as crossing hotspots.

    The border is split by :func:`border_segments` (clipped to the extent of
    the current or detour raster when given).  Each segment is scored by

    - ``current_sum`` / ``current_max`` / ``current_mean``: cumulative current
      density of the distinct cells the segment passes through;
    - ``n_paths``: least-cost paths crossing it (each crossing point counted
      for its nearest segment);
    - ``corridor_m``: length of the segment inside least-cost corridors
      (summed over corridors);
    - ``detour_cost``: the extra cost of the best route between a pair of
      cores forced to cross the border at this segment, over the least-cost
      route (min over the segment's cells of ``LeastCostResult.detour``,
      ``cd_a + cd_b - L``; 0 where the least-cost path crosses);
    - ``flow_ratio`` (with ``flow_potential``, the omnidirectional current's
      flow potential): ``current_sum`` over the segment's summed flow
      potential, above 1 where the landscape channels movement across the
      border (McRae et al. 2016).

    ``score`` is the mean over the available measures of the measure divided
    by its maximum over segments (0-1; for ``detour_cost``, which is better
    when low, ``1 - detour / max detour``); ``rank`` 1 is the best.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment with the columns above, sorted by rank.
    """
    clip = None
    extent = current if current is not None else detour
    if extent is not None:
        from shapely.geometry import box

        clip = box(*grid_of(extent).bounds)
    segs = border_segments(border_lines, segment_length=segment_length, clip=clip)
    if len(segs) == 0:
        raise ComputationError(
            "The border does not cross the analysis extent; no hotspot can be scored. "
            "Check the border layer or enlarge the grid."
        )
    measures: list[str] = []
    if current is not None:
        segs = segs.join(_segment_current(segs, current))
        measures.append("current_sum")
    if current is not None and flow_potential is not None:
        fp = _segment_current(segs, flow_potential)["current_sum"].to_numpy()
        segs["flow_potential_sum"] = fp
        with np.errstate(divide="ignore", invalid="ignore"):
            segs["flow_ratio"] = np.where(
                fp > 0, segs["current_sum"].to_numpy() / fp, 0.0
            )
        measures.append("flow_ratio")
    if paths is not None:
        segs["n_paths"] = _segment_paths(segs, paths)
        measures.append("n_paths")
    if corridors is not None:
        polys = [g for g in corridors.geometry if g is not None and not g.is_empty]
        cm = np.zeros(len(segs))
        for p in polys:
            cm += segs.geometry.intersection(p).length.to_numpy()
        segs["corridor_m"] = cm
        measures.append("corridor_m")
    if detour is not None:
        segs["detour_cost"] = _segment_detour(segs, detour)
        measures.append("detour_cost")
    score = np.zeros(len(segs))
    for m in measures:
        v = segs[m].to_numpy(dtype=float)
        if m == "detour_cost":
            finite = np.isfinite(v)
            top = float(np.max(v[finite])) if finite.any() else 0.0
            part = np.zeros(len(v))
            if top > 0:
                part[finite] = 1.0 - v[finite] / top
            else:
                part[finite] = 1.0
            score += part
            continue
        top = np.nanmax(v) if v.size else 0.0
        if top > 0:
            score += v / top
    segs["score"] = score / max(len(measures), 1)
    order = np.lexsort((segs["segment_id"].to_numpy(), -segs["score"].to_numpy()))
    segs = segs.iloc[order].reset_index(drop=True)
    segs["rank"] = np.arange(1, len(segs) + 1)
    logger.info(
        "border hotspots: %d segments of ~%g m scored by %s",
        len(segs),
        segment_length,
        ", ".join(measures) or "nothing",
    )
    return segs


def pair_crossings(
    paths: gpd.GeoDataFrame,
    border_lines: Any,
    *,
    segments: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Where and at what cost each pair's least-cost path crosses the border.

    Parameters
    ----------
    paths
        ``LeastCostResult.paths`` (``core_a``, ``core_b``, ``cost``,
        ``length_m``, line).
    border_lines
        The international border (lines in the paths' CRS).
    segments
        Optional :func:`border_segments` output, to report the segment id.

    Returns
    -------
    pandas.DataFrame
        ``core_a``, ``core_b``, ``cost``, ``length_m``, ``n_crossings``,
        ``crossing_x``, ``crossing_y`` (first crossing from ``core_a``),
        ``segment_id``.
    """
    import shapely

    lines = _lines_of(border_lines)
    border = MultiLineString(lines) if lines else MultiLineString()
    rows = []
    for _, p in paths.iterrows():
        row = {
            "core_a": p["core_a"],
            "core_b": p["core_b"],
            "cost": p["cost"],
            "length_m": p["length_m"],
            "n_crossings": 0,
            "crossing_x": np.nan,
            "crossing_y": np.nan,
            "segment_id": pd.NA,
        }
        line = p.geometry
        if line is not None and not line.is_empty and not border.is_empty:
            inter = line.intersection(border)
            pts = (
                list(shapely.get_parts(shapely.extract_unique_points(inter)))
                if not inter.is_empty
                else []
            )
            if pts:
                pts.sort(key=line.project)
                row["n_crossings"] = len(pts)
                row["crossing_x"], row["crossing_y"] = pts[0].x, pts[0].y
                if segments is not None and len(segments):
                    k = int(
                        np.argmin(
                            shapely.distance(segments.geometry.to_numpy(), pts[0])
                        )
                    )
                    row["segment_id"] = int(segments["segment_id"].iloc[k])
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "core_a",
            "core_b",
            "cost",
            "length_m",
            "n_crossings",
            "crossing_x",
            "crossing_y",
            "segment_id",
        ],
    )


def survey_border(survey: Survey) -> gpd.GeoDataFrame | None:
    """The survey's international border lines, or shared zone boundaries."""
    if survey.border is not None and len(survey.border):
        return survey.border
    zones = survey.zones
    if zones is None or len(zones) < 2:
        return None
    parts = []
    geoms = zones.geometry.tolist()
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            shared = geoms[i].boundary.intersection(geoms[j].boundary)
            if not shared.is_empty and shared.length > 0:
                parts.append(shared)
    if not parts:
        return None
    return gpd.GeoDataFrame(geometry=parts, crs=survey.crs)


def _border_between(
    border: gpd.GeoDataFrame, survey: Survey, zones: set[Any]
) -> gpd.GeoDataFrame:
    """Border parts separating the given zones (all of it if zones are unknown)."""
    if survey.zones is None or len(zones) < 2 or V.NAME not in survey.zones:
        return border
    z = survey.zones
    shapes = {
        n: z.loc[z[V.NAME] == n].geometry.union_all()
        for n in zones
        if (z[V.NAME] == n).any()
    }
    names = sorted(shapes, key=str)
    if len(names) < 2:
        return border
    tol = 250.0
    parts = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            both = (
                shapes[names[i]].buffer(tol).intersection(shapes[names[j]].buffer(tol))
            )
            if not both.is_empty:
                parts.append(both)
    if not parts:
        return border
    from shapely.ops import unary_union

    sel = border.clip(unary_union(parts))
    sel = sel[
        ~sel.geometry.is_empty
        & sel.geometry.geom_type.isin(["LineString", "MultiLineString"])
    ]
    return sel if len(sel) else border
