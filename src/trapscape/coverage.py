"""Where did the survey look, and how hard? Coverage grids, gaps and pdot.

* :func:`coverage_grid`: square or hexagonal cells clipped to the study
  area (or another region), with stations, cameras, trap-nights, detections
  and individuals.
* :func:`coverage_stats`: per zone (country) and in total, the share of the
  area in cells with effort and within a distance of an operating camera.
* :func:`gaps`: the largest areas farther than a distance from every
  operating camera, ranked by area.
* :func:`pdot_points` / :func:`pdot_surface`: probability that an animal
  whose activity centre lies at a point is detected at least once, given
  every station's usage (days of operation) and a half-normal detection
  function, as secr's ``pdot`` (Efford 2004; Efford, Borchers & Mowat 2013).
* :func:`pdot_summary`: effective sampled area and the share of the study
  area (and of each zone) with pdot above 0.5 and 0.9.

Every function works over the study area by default.  ``region=`` widens
(or narrows) that to another region of :meth:`trapscape.survey.Survey.region`:
``"parks"``, ``"study_area+parks"`` (the study area plus the parks on both
sides of a border, for a transboundary report) or given polygons.

Detection model (see :mod:`trapscape.detection`): with station usage
``u_jk`` in days and ``k(d) = exp(-d**2 / (2 sigma**2))``

* hazard half-normal (``"HHN"``):
  ``pdot = 1 - exp(-sum_jk u_jk lambda0 k(d_j))``;
* half-normal (``"HN"``):
  ``pdot = 1 - prod_jk (1 - g0 k(d_j)) ** (u_jk / occasion_days)``.

In both cases only the total usage of each station matters, so occasions
are collapsed before any distance is computed.

References
----------
Efford, M. G. (2004). Density estimation in live-trapping studies. *Oikos*
106, 598-610.

Efford, M. G., Borchers, D. L. & Mowat, G. (2013). Varying effort in
capture-recapture studies. *Methods in Ecology and Evolution* 4, 629-636.

Efford, M. G. (2024). secr: spatially explicit capture-recapture models.
R package, function ``pdot``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import validation as V
from ._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from ._signature import keywords_for
from .crs import require_projected
from .detection import DetectionParams
from .errors import GeometryError, InputError, TrapscapeWarning

if TYPE_CHECKING:
    import xarray as xr
    from shapely.geometry.base import BaseGeometry

    from .effort import EffortReport
    from .survey import Survey

__all__ = [
    "SurveyCoverage",
    "coverage_grid",
    "coverage_stats",
    "for_survey",
    "gaps",
    "pdot_points",
    "pdot_summary",
    "pdot_surface",
]

logger = logging.getLogger(__name__)

# exp(-r**2 / 2 sigma**2) < 1e-16 beyond r = sigma * sqrt(2 ln 1e16)
_CUTOFF_SIGMAS = math.sqrt(2.0 * math.log(1e16))
_CHUNK_ELEMENTS = 1 << 20  # points x traps evaluated at once (8 MB per array)


def _as_points(points: Any, name: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"{name} must be an (n, 2) array of x, y map coordinates; "
            f"got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise InputError(
            f"{name} contains NaN or infinite coordinates. Drop them first."
        )
    return arr


def _total_usage(usage: Any, n_traps: int) -> np.ndarray:
    u = np.asarray(usage, dtype=np.float64)
    if u.ndim == 2:
        u = np.nansum(u, axis=1)
    if u.ndim != 1 or u.shape[0] != n_traps:
        raise InputError(
            f"usage must have shape (J,) or (J, K) with J = {n_traps} "
            f"traps; got shape {np.shape(usage)}."
        )
    if np.any(u < 0):
        raise InputError("usage contains negative values; usage is days of operation.")
    return np.nan_to_num(u, nan=0.0)


def _log_survival_points(
    points: np.ndarray, traps: np.ndarray, total: np.ndarray, p: DetectionParams
) -> np.ndarray:
    """``log P(no detection)`` at each point for one parameter set (chunked)."""
    out = np.zeros(len(points), dtype=np.float64)
    use = total > 0
    traps, total = traps[use], total[use]
    if len(traps) == 0 or len(points) == 0:
        return out
    two_s2 = 2.0 * p.sigma**2
    cutoff = _CUTOFF_SIGMAS * p.sigma
    if p.detectfn == "HHN":
        weight = -float(p.lambda0) * total  # type: ignore[arg-type]
    else:
        weight = total / p.occasion_days
        g0 = float(p.g0)  # type: ignore[arg-type]
    step = max(1, _CHUNK_ELEMENTS // len(traps))
    for i in range(0, len(points), step):
        pts = points[i : i + step]
        lo, hi = pts.min(axis=0) - cutoff, pts.max(axis=0) + cutoff
        near = np.all((traps >= lo) & (traps <= hi), axis=1)
        if not near.any():
            continue
        tx, ty, w = traps[near, 0], traps[near, 1], weight[near]
        d2 = (pts[:, 0:1] - tx) ** 2
        d2 += (pts[:, 1:2] - ty) ** 2
        k = np.exp(-d2 / two_s2)
        if p.detectfn == "HHN":
            out[i : i + step] = k @ w
        else:
            with np.errstate(divide="ignore"):
                out[i : i + step] = np.log1p(-g0 * k) @ w
    return out


def pdot_points(
    points: Any,
    traps: Any,
    usage: Any,
    params: DetectionParams,
) -> np.ndarray:
    """Probability of at least one detection for activity centres at ``points``.

    Parameters
    ----------
    points
        ``(m, 2)`` x, y of activity centres (metres, survey CRS).
    traps
        ``(J, 2)`` x, y of the detectors (stations).
    usage
        ``(J, K)`` usage per occasion in days, or ``(J,)`` total days
        (e.g. :attr:`trapscape.effort.Usage.usage`).
    params
        Detection function (``HHN``: lambda0 per day of usage; ``HN``: g0 per
        occasion of ``params.occasion_days`` days). With ``params.by_sex``
        the result is the unweighted mean of the sex-specific pdots (equal sex
        ratio assumed).

    Returns
    -------
    numpy.ndarray
        ``(m,)`` probabilities in [0, 1].

    Notes
    -----
    HHN: ``1 - exp(-sum_j U_j lambda0 exp(-d_j**2 / 2 sigma**2))`` with
    ``U_j`` the total usage of trap *j* (equal to secr's ``pdot`` for count
    and proximity detectors with usage). HN:
    ``1 - prod_j (1 - g0 exp(-d_j**2 / 2 sigma**2)) ** (U_j / occasion_days)``.
    Points are processed in chunks (bounded memory) and each chunk only sees
    traps within 8.6 sigma of it, where the kernel exceeds 1e-16.

    References
    ----------
    Efford (2004); Efford, Borchers & Mowat (2013); secr ``pdot``.
    """
    pts = _as_points(points, "points")
    trp = _as_points(traps, "traps")
    total = _total_usage(usage, len(trp))
    origin = trp.mean(axis=0) if len(trp) else np.zeros(2)
    pts, trp = pts - origin, trp - origin
    acc = np.zeros(len(pts), dtype=np.float64)
    for share, p in params.sex_classes():
        acc += share * -np.expm1(_log_survival_points(pts, trp, total, p))
    return acc


# --------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------
def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of a geometry (drops points/lines of collections)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0
    ]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def _study_polygon(survey: Survey, *, pad: float) -> BaseGeometry:
    """Study area polygon; falls back to zones, then to a buffered station hull."""
    require_projected(survey.crs, "survey CRS")
    poly = survey.study_polygon
    if poly is None and survey.zones is not None and len(survey.zones):
        warnings.warn(
            "The survey has no study area; using the union of its zones. "
            "Give a study area for coverage over a chosen region.",
            TrapscapeWarning,
            stacklevel=4,
        )
        poly = survey.zones.geometry.union_all()
    if poly is None:
        warnings.warn(
            f"The survey has no study area or zones; using the stations' convex "
            f"hull buffered by {pad:g} m. Give a study area (boundaries) for "
            "meaningful coverage.",
            TrapscapeWarning,
            stacklevel=4,
        )
        poly = survey.stations.geometry.union_all().convex_hull.buffer(pad)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    poly = _polygonal(poly)
    if poly.is_empty or poly.area <= 0:
        raise GeometryError(
            "The study area has no area (empty or only lines/points). "
            "Give a polygon layer as the study area."
        )
    return poly


def _area_polygon(survey: Survey, region: Any, *, pad: float) -> BaseGeometry:
    """The polygon coverage works over: the study area, or ``survey.region(region)``.

    ``"study_area"`` keeps coverage's own fallbacks (zones, then the station
    hull buffered by ``pad``); any other region is taken from
    :meth:`trapscape.survey.Survey.region` (errors for unknown names or
    missing layers come from there).
    """
    if isinstance(region, str) and region.strip().lower() == "study_area":
        return _study_polygon(survey, pad=pad)
    require_projected(survey.crs, "survey CRS")
    poly = survey.region(region)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    poly = _polygonal(poly)
    if poly.is_empty or poly.area <= 0:
        raise GeometryError(
            f"The coverage region {_region_label(region)!r} has no area (empty or "
            "only lines/points). Give polygons."
        )
    return poly


def _region_label(region: Any) -> str:
    return region if isinstance(region, str) else "given polygons"


def _square_cells(bounds: tuple[float, float, float, float], size: float) -> np.ndarray:
    minx, miny, maxx, maxy = bounds
    x0, y0 = math.floor(minx / size) * size, math.floor(miny / size) * size
    nx = max(1, math.ceil((maxx - x0) / size))
    ny = max(1, math.ceil((maxy - y0) / size))
    xs = x0 + size * np.arange(nx)
    ys = y0 + size * np.arange(ny)[::-1]  # north to south
    gx, gy = np.meshgrid(xs, ys)
    return shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)


def _hex_cells(bounds: tuple[float, float, float, float], size: float) -> np.ndarray:
    """Pointy-top hexagons, flat-to-flat width (centre spacing) ``size``."""
    minx, miny, maxx, maxy = bounds
    r = size / math.sqrt(3.0)  # circumradius
    dy = 1.5 * r
    j0, j1 = math.floor((miny - r) / dy), math.ceil((maxy + r) / dy)
    i0, i1 = math.floor((minx - size) / size), math.ceil((maxx + size) / size)
    rows = np.arange(j1, j0 - 1, -1)  # north to south
    cols = np.arange(i0, i1 + 1)
    gj, gi = np.meshgrid(rows, cols, indexing="ij")
    cx = gi * size + np.where(gj % 2 == 1, size / 2.0, 0.0)
    cy = gj * dy
    ang = np.deg2rad(30.0 + 60.0 * np.arange(7))  # closed ring
    ring = np.stack([r * np.cos(ang), r * np.sin(ang)], axis=-1)
    coords = np.stack([cx.ravel(), cy.ravel()], axis=-1)[:, None, :] + ring[None]
    return shapely.polygons(coords)


def _majority_zone(geoms: np.ndarray, zones: gpd.GeoDataFrame | None) -> np.ndarray:
    """Name of the zone covering the largest part of each geometry (None if none)."""
    out = np.full(len(geoms), None, dtype=object)
    if zones is None or len(zones) == 0 or len(geoms) == 0:
        return out
    # clip (large) country polygons to the extent at hand, then prepare them
    b = shapely.total_bounds(geoms)
    pad = 1.0 + 1e-6 * max(b[2] - b[0], b[3] - b[1])
    zg = shapely.clip_by_rect(
        np.asarray(zones.geometry.values),
        b[0] - pad,
        b[1] - pad,
        b[2] + pad,
        b[3] + pad,
    )
    names = zones[V.NAME].astype(str).to_numpy()
    zi_ok = ~shapely.is_empty(zg)
    zg, names = zg[zi_ok], names[zi_ok]
    if len(zg) == 0:
        return out
    shapely.prepare(zg)
    gi, zi = shapely.STRtree(zg).query(geoms)  # bounding boxes only
    if len(gi) == 0:
        return out
    area = np.zeros(len(gi))
    inside = shapely.covers(zg[zi], geoms[gi])
    area[inside] = shapely.area(geoms[gi[inside]])
    rest = ~inside
    area[rest] = shapely.area(shapely.intersection(geoms[gi[rest]], zg[zi[rest]]))
    df = pd.DataFrame({"g": gi, "name": names[zi], "a": area})
    df = df[df["a"] > 0].groupby(["g", "name"], sort=False)["a"].sum().reset_index()
    if len(df) == 0:
        return out
    best = df.loc[df.groupby("g")["a"].idxmax()].set_index("g")
    # the part outside every zone competes too ("no zone" may be the majority)
    in_zones = df.groupby("g")["a"].sum().reindex(best.index)
    outside = shapely.area(geoms[best.index.to_numpy()]) - in_zones.to_numpy()
    win = best["a"].to_numpy() >= outside
    out[best.index.to_numpy()[win]] = best["name"].to_numpy()[win]
    return out


def _operating_points(
    survey: Survey, report: EffortReport | None = None
) -> gpd.GeoDataFrame:
    """Station points with pooled trap-nights > 0.

    With ``report`` (an :func:`trapscape.effort.effort_report` of this
    survey) its per-station trap-nights are used instead of a new operation
    matrix; counting cameras or not does not change which are > 0.
    """
    if report is not None:
        tn = report.per_station.set_index(report.per_station[V.STATION_ID].astype(str))[
            "trap_nights"
        ]
    else:
        from .effort import operation_matrix

        tn = operation_matrix(survey, by="station").sum(axis=1, min_count=1).fillna(0.0)
    pts = survey.station_points
    return pts[pts[V.STATION_ID].astype(str).map(tn).fillna(0.0).to_numpy() > 0]


# the last buffer union: coverage_stats and gaps of one survey ask for the same
_COVERED_CACHE: dict[tuple[float, bytes], BaseGeometry] = {}


def _covered(points: gpd.GeoDataFrame, distance: float) -> BaseGeometry:
    if not distance > 0:
        raise InputError(
            f"distance must be a positive number of metres, got {distance!r}."
        )
    if len(points) == 0:
        return shapely.Polygon()
    geoms = np.asarray(points.geometry.values)
    key = (float(distance), shapely.get_coordinates(geoms).tobytes())
    hit = _COVERED_CACHE.get(key)
    if hit is not None:
        return hit
    out = shapely.union_all(shapely.buffer(geoms, distance, quad_segs=32))
    _COVERED_CACHE.clear()  # keep one entry: shapes are immutable, memory is not free
    _COVERED_CACHE[key] = out
    return out


# --------------------------------------------------------------------------
# coverage grid, statistics and gaps
# --------------------------------------------------------------------------
# Memory per cell, calibrated on the bundled example (region
# "study_area+parks"): coverage_grid peaked 575 B per bounding-box cell above
# the baseline (getrusage; 0.53 M cells at 200 m: +298 MB, 2.13 M cells at
# 100 m: +1.19 GB: the shapely boxes, the STRtree and the clipped cells);
# pdot_surface peaked 41-43 B per cell (tracemalloc; 2.1 M cells at 100 m,
# 8.5 M at 50 m: the pdot, hazard, mask and NaN-filled copies).  Rounded up.
_GRID_BYTES_PER_CELL = 640
_PDOT_BYTES_PER_CELL = 48


def _grid_region(
    survey: Survey,
    region: Any,
    cell_size: float,
    shape: str,
    max_memory_gb: float | None,
) -> Any:
    """The region polygon of the grid, after checking the cell size, shape and budget."""
    if not (cell_size and cell_size > 0):
        raise InputError(
            f"cell_size must be a positive number of metres, got {cell_size!r}."
        )
    if shape not in ("square", "hex"):
        raise InputError(f"shape must be 'square' or 'hex', got {shape!r}.")
    poly = _area_polygon(survey, region, pad=cell_size)
    n_est = grid_cells(poly.bounds, float(cell_size))
    if shape == "hex":
        n_est = int(n_est * 2.0 / math.sqrt(3.0)) + 1  # hexagon area s^2 sqrt(3)/2
    check_budget(
        n_est,
        _GRID_BYTES_PER_CELL,
        what=(
            f"the {shape} coverage grid of {cell_size:g} m over the region "
            f"{_region_label(region)!r}"
        ),
        budget_gb=max_memory_gb,
        suggest=lambda f: (
            f"Use a cell_size of {coarser(float(cell_size), f)} m or larger "
            f"(now {cell_size:g} m)."
        ),
    )
    return poly


def _clipped_cells(poly: Any, shape: str, cell_size: float) -> np.ndarray:
    """Grid cells over ``poly``'s bounds, clipped to it (empty ones dropped)."""
    make = _square_cells if shape == "square" else _hex_cells
    cells = make(poly.bounds, cell_size)
    idx = shapely.STRtree(cells).query(poly, predicate="intersects")
    idx = np.sort(idx)
    cand = cells[idx]
    shapely.prepare(poly)
    inside = shapely.contains_properly(poly, cand)
    clipped = cand.copy()
    clipped[~inside] = shapely.intersection(cand[~inside], poly)
    clipped = np.array(
        [
            g if g.geom_type in ("Polygon", "MultiPolygon") else _polygonal(g)
            for g in clipped
        ],
        dtype=object,
    )
    keep = shapely.area(clipped) > 0
    geoms = clipped[keep]
    return geoms


def _cell_of_station(
    geoms: np.ndarray, pts: gpd.GeoDataFrame, region: Any
) -> pd.Series:
    """Row number of the cell holding each station (-1 outside every cell)."""
    pi, ci = shapely.STRtree(geoms).query(
        np.asarray(pts.geometry.values), predicate="intersects"
    )
    order = np.lexsort((ci, pi))  # a station on a shared edge goes to the lowest id
    first = pd.Series(ci[order], index=pi[order])
    first = first[~first.index.duplicated(keep="first")]
    cell_of_station = pd.Series(-1, index=np.arange(len(pts)), dtype=np.int64)
    cell_of_station.loc[first.index] = first.to_numpy()
    n_out = int((cell_of_station < 0).sum())
    if n_out:
        logger.info(
            "%d station(s) lie outside the region %r and no cell counts them",
            n_out,
            _region_label(region),
        )
    return cell_of_station


def _individuals_per_cell(survey: Survey, stc: pd.DataFrame, n: int) -> np.ndarray:
    """Distinct identified individuals detected at the stations of each cell."""
    si = survey.sightings
    individuals = np.zeros(n, dtype=np.int64)
    if len(si) and V.INDIVIDUAL_ID in si.columns:
        cell_map = pd.Series(stc["_cell"].to_numpy(), index=stc.index)
        sc = cell_map.reindex(si[V.STATION_ID].astype(str)).to_numpy()
        ind = V.individual_ids(si)
        ok = ~pd.isna(sc) & ind.notna().to_numpy()
        if ok.any():
            cnt = (
                pd.DataFrame({"c": sc[ok].astype(np.int64), "i": ind.to_numpy()[ok]})
                .groupby("c")["i"]
                .nunique()
            )
            individuals[cnt.index.to_numpy()] = cnt.to_numpy()
    return individuals


def _grid_frame(
    survey: Survey,
    geoms: np.ndarray,
    *,
    stations: np.ndarray,
    cameras: np.ndarray,
    trap_nights: np.ndarray,
    detections: np.ndarray,
    photos: np.ndarray,
    individuals: np.ndarray,
) -> gpd.GeoDataFrame:
    """The coverage grid table; counts are NA in cells without effort."""
    n = len(geoms)
    effort = trap_nights > 0

    def _na_without_effort(a: np.ndarray) -> Any:
        arr = pd.array(a, dtype="Int64")
        arr[~effort] = pd.NA
        return arr

    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(
            effort, 100.0 * detections / np.where(effort, trap_nights, 1.0), np.nan
        )
    return gpd.GeoDataFrame(
        {
            "cell_id": np.arange(1, n + 1, dtype=np.int64),
            V.ZONE: _majority_zone(geoms, survey.zones),
            "area_km2": shapely.area(geoms) / 1e6,
            "stations": stations,
            "cameras": cameras,
            "trap_nights": trap_nights,
            "detections": _na_without_effort(detections),
            "photos": _na_without_effort(photos),
            "individuals": _na_without_effort(individuals),
            "detection_rate_per_100": rate,
            "effort": effort,
        },
        geometry=gpd.GeoSeries(geoms, crs=survey.crs),
        crs=survey.crs,
    )


def coverage_grid(
    survey: Survey,
    *,
    cell_size: float = 2000.0,
    shape: Literal["square", "hex"] = "square",
    count_cameras: bool = False,
    independence_minutes: float = 30.0,
    report: EffortReport | None = None,
    region: Any = "study_area",
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> gpd.GeoDataFrame:
    """Grid of square or hexagonal cells over the study area with effort and detections.

    Cells are aligned to multiples of ``cell_size`` (so grids of different
    surveys line up) and clipped to the study area (or ``region``): together
    they partition it exactly (their areas sum to the region's area).

    Parameters
    ----------
    survey
        The survey (projected CRS). Without a study area the union of the
        zones is used, else the stations' hull buffered by one cell
        (with a :class:`~trapscape.errors.TrapscapeWarning`).
    cell_size
        Distance between centres of neighbouring cells, metres: the side of a
        square, the flat-to-flat width of a hexagon (area
        ``sqrt(3)/2 * cell_size**2``). 2 km by default; Chinese Amur leopard
        surveys use 3.6 km squares.
    shape
        ``"square"`` or ``"hex"`` (pointy-top hexagons).
    count_cameras
        Trap-nights count every working camera of a station (see
        :func:`trapscape.effort.operation_matrix`).
    independence_minutes
        Gap separating independent detections (see
        :func:`trapscape.effort.detection_events`).
    report
        A precomputed :class:`~trapscape.effort.EffortReport` (made with the
        same ``count_cameras``), to avoid computing it again.
    region
        Where the grid goes: ``"study_area"`` (default), ``"parks"``,
        ``"study_area+parks"`` or polygons (see
        :meth:`trapscape.survey.Survey.region`). ``"study_area+parks"``
        extends the grid over the parks on both sides of a border.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` (1.. from north-west to south-east), ``zone`` (zone
        covering most of the cell), ``area_km2``, ``stations``, ``cameras``,
        ``trap_nights``, ``detections``, ``photos``, ``individuals`` (distinct
        individuals in the cell), ``detection_rate_per_100``, ``effort``
        (bool: trap-nights > 0) and the clipped cell geometry, in the survey
        CRS. Detections, photos, individuals and the rate are missing (NA)
        in cells without effort: no effort is not zero detections.

    Raises
    ------
    InputError
        ``cell_size`` not positive, ``shape`` unknown, or ``region`` unknown
        or naming a boundary layer the survey lacks.
    ComputationError
        If the cells over the region's bounding box would need more than
        ``max_memory_gb`` GiB (checked before any cell is built; the message
        names a cell size that fits).  ``None`` turns the check off.
    """
    from .effort import effort_report

    poly = _grid_region(survey, region, cell_size, shape, max_memory_gb)
    geoms = _clipped_cells(poly, shape, float(cell_size))

    if report is None:
        report = effort_report(
            survey,
            count_cameras=count_cameras,
            zones=False,
            independence_minutes=independence_minutes,
        )
    st = report.per_station.set_index(V.STATION_ID)
    pts = survey.station_points.set_index(V.STATION_ID).loc[st.index]
    cell_of_station = _cell_of_station(geoms, pts, region)
    stc = st.assign(_cell=cell_of_station.to_numpy())
    stc = stc[stc["_cell"] >= 0]
    g = stc.groupby("_cell")
    n = len(geoms)

    def _per_cell(values: pd.Series, fill: float = 0) -> np.ndarray:
        return values.reindex(np.arange(n)).fillna(fill).to_numpy()

    stations = _per_cell(g.size()).astype(np.int64)
    cameras = _per_cell(g["cameras"].sum()).astype(np.int64)
    trap_nights = _per_cell(g["trap_nights"].sum()).astype(np.float64)
    effort = trap_nights > 0
    detections = _per_cell(g["detections"].sum()).astype(np.int64)
    photos = _per_cell(g["photos"].sum()).astype(np.int64)

    individuals = _individuals_per_cell(survey, stc, n)

    out = _grid_frame(
        survey,
        geoms,
        stations=stations,
        cameras=cameras,
        trap_nights=trap_nights,
        detections=detections,
        photos=photos,
        individuals=individuals,
    )
    logger.info(
        "Coverage grid: %d %s cells of %g m, %d with effort",
        n,
        shape,
        cell_size,
        int(effort.sum()),
    )
    return out


def coverage_stats(
    survey: Survey,
    grid: gpd.GeoDataFrame,
    *,
    distance: float = 3000.0,
    region: Any = "study_area",
    report: EffortReport | None = None,
) -> pd.DataFrame:
    """Share of each zone (and of the whole study area) that the survey covered.

    Parameters
    ----------
    survey
        The survey.
    grid
        Output of :func:`coverage_grid` for this survey.
    distance
        Radius around operating stations (metres). 3 km by default: about one
        sigma of Amur leopard detection functions, and half the 6 km spacing
        of a sparse leopard trap grid.
    region
        The area the shares are of: ``"study_area"`` (default) or another
        region of :meth:`trapscape.survey.Survey.region`; use the same
        ``region`` as for ``grid``.
    report
        An :func:`trapscape.effort.effort_report` of this survey, to reuse its
        per-station trap-nights (which stations operated) instead of
        recomputing the operation matrix.

    Returns
    -------
    pandas.DataFrame
        One row per zone and a last row ``zone = "total"``: ``area_km2``,
        ``cells``, ``cells_with_effort``, ``effort_area_km2`` and
        ``share_effort`` (area of the zone inside cells with effort),
        ``within_distance_km2`` and ``share_within_distance`` (area within
        ``distance`` of a station that worked at least once),
        ``stations_operating``, ``distance_m``. Zones are intersected with
        the region exactly (not by cell majority); zones outside it get no row.
    """
    poly = _area_polygon(
        survey,
        region,
        pad=float(grid.geometry.area.max() ** 0.5) if len(grid) else 1000.0,
    )
    ops = _operating_points(survey, report)
    cover = shapely.intersection(_covered(ops, distance), poly)
    eff = grid[grid["effort"].to_numpy(dtype=bool)]
    effort_area = (
        shapely.union_all(np.asarray(eff.geometry.values))
        if len(eff)
        else shapely.Polygon()
    )
    regions: list[tuple[str, BaseGeometry]] = []
    if survey.zones is not None and len(survey.zones):
        for name, geom in zip(
            survey.zones[V.NAME].astype(str), survey.zones.geometry.values, strict=True
        ):
            part = _polygonal(shapely.intersection(geom, poly))
            if part.area > 0:
                regions.append((name, part))
    regions.append(("total", poly))
    rows = []
    for name, region in regions:
        area = region.area
        e = _polygonal(shapely.intersection(region, effort_area)).area
        w = _polygonal(shapely.intersection(region, cover)).area
        if name == "total":
            in_zone = np.ones(len(grid), dtype=bool)
            st_in = np.asarray(
                shapely.intersects(poly, np.asarray(ops.geometry.values))
            )
        else:
            in_zone = (grid[V.ZONE] == name).to_numpy(dtype=bool)
            st_in = np.asarray(
                shapely.intersects(region, np.asarray(ops.geometry.values))
            )
        rows.append(
            {
                V.ZONE: name,
                "area_km2": area / 1e6,
                "cells": int(in_zone.sum()),
                "cells_with_effort": int(
                    (in_zone & grid["effort"].to_numpy(dtype=bool)).sum()
                ),
                "effort_area_km2": e / 1e6,
                "share_effort": e / area,
                "within_distance_km2": w / 1e6,
                "share_within_distance": w / area,
                "stations_operating": int(st_in.sum()),
                "distance_m": float(distance),
            }
        )
    return pd.DataFrame(rows)


def gaps(
    survey: Survey,
    *,
    distance: float = 3000.0,
    min_area_km2: float = 1.0,
    region: Any = "study_area",
    report: EffortReport | None = None,
) -> gpd.GeoDataFrame:
    """Parts of the study area farther than ``distance`` from any operating station.

    Parameters
    ----------
    survey
        The survey.
    distance
        Radius around stations that worked at least once (metres).
    min_area_km2
        Drop gaps smaller than this (slivers between buffers).
    region
        Where to look for gaps: ``"study_area"`` (default) or another region
        of :meth:`trapscape.survey.Survey.region`, e.g. ``"study_area+parks"``.
    report
        An :func:`trapscape.effort.effort_report` of this survey, to reuse its
        per-station trap-nights instead of recomputing the operation matrix.

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per gap, largest first: ``rank`` (1 = largest),
        ``area_km2``, ``zone`` (zone covering most of the gap), geometry.
    """
    if min_area_km2 < 0:
        raise InputError(f"min_area_km2 must be >= 0, got {min_area_km2!r}.")
    poly = _area_polygon(survey, region, pad=distance)
    cover = _covered(_operating_points(survey, report), distance)
    rest = _polygonal(shapely.difference(poly, cover))
    parts = np.asarray(
        [p for p in shapely.get_parts(rest) if p.geom_type == "Polygon" and p.area > 0],
        dtype=object,
    )
    area = shapely.area(parts) if len(parts) else np.zeros(0)
    keep = area >= min_area_km2 * 1e6
    parts, area = parts[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    parts, area = parts[order], area[order]
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(parts) + 1, dtype=np.int64),
            "area_km2": area / 1e6,
            V.ZONE: _majority_zone(parts, survey.zones),
        },
        geometry=gpd.GeoSeries(parts, crs=survey.crs),
        crs=survey.crs,
    )
    logger.info(
        "Gaps: %d areas farther than %g m from operating stations, %.1f km2",
        len(out),
        distance,
        float(area.sum()) / 1e6,
    )
    return out


# --------------------------------------------------------------------------
# pdot surface
# --------------------------------------------------------------------------
def _hazard_band(n_columns: int, n_traps: int) -> int:
    """Rows per matrix product of :func:`_hazard_grid`."""
    return max(1, _CHUNK_ELEMENTS // max(n_columns, n_traps, 1))


def _hazard_grid(
    xs: np.ndarray,
    ys: np.ndarray,
    traps: np.ndarray,
    weight: np.ndarray,
    sigma: float,
    *,
    progress: bool = False,
    band: int | None = None,
) -> np.ndarray:
    """``sum_j weight_j exp(-d_j**2 / 2 sigma**2)`` at every grid node.

    The Gaussian kernel factorises, ``k = kx * ky``, so on a regular grid
    the sum is the matrix product ``(ky * weight) @ kx.T``: exact (no
    truncation) and computed with BLAS in bands of rows to bound memory.
    """
    from tqdm.auto import tqdm

    two_s2 = 2.0 * sigma**2
    kx = np.exp(-((xs[:, None] - traps[None, :, 0]) ** 2) / two_s2)  # (W, J)
    out = np.empty((len(ys), len(xs)), dtype=np.float64)
    band = band or _hazard_band(len(xs), len(traps))
    starts = range(0, len(ys), band)
    for r0 in tqdm(starts, disable=not progress, desc="pdot", unit="band"):
        ky = np.exp(-((ys[r0 : r0 + band, None] - traps[None, :, 1]) ** 2) / two_s2)
        out[r0 : r0 + band] = (ky * weight) @ kx.T
    return out


def _pdot_values(
    params: DetectionParams,
    shape: tuple[int, int],
    mask: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    traps: np.ndarray,
    total: np.ndarray,
    progress: bool,
    band: int | None = None,
) -> np.ndarray:
    """pdot on the raster cells, mixed over the sex classes (no mask applied)."""
    values = np.zeros(shape, dtype=np.float64)
    for share, p in params.sex_classes():
        if len(traps) == 0:
            continue
        if p.detectfn == "HHN":
            h = _hazard_grid(
                xs,
                ys,
                traps,
                float(p.lambda0 or 0.0) * total,
                p.sigma,
                progress=progress,
                band=band,
            )
            values += share * -np.expm1(-h)
        else:
            rr, cc = np.nonzero(mask)
            pts = np.column_stack([xs[cc], ys[rr]])
            values[rr, cc] += share * -np.expm1(
                _log_survival_points(pts, traps, total, p)
            )
    return values


def _check_pdot_budget(
    grid: Any,
    resolution: float,
    region: Any,
    max_memory_gb: float | None,
    chunked: bool,
    workers: int,
) -> None:
    """Refuse a pdot grid over the budget (in bands: one band plus the surface)."""
    from ._dask import band_cells_for

    n_cells = grid.width * grid.height
    band = band_cells_for(workers, grid.height, grid.width) if chunked else n_cells
    check_budget(
        # in bands: one band's work arrays plus the assembled float64 surface
        min(band, n_cells) + (n_cells * 8 // _PDOT_BYTES_PER_CELL if chunked else 0),
        _PDOT_BYTES_PER_CELL,
        what=(
            f"the pdot grid of {resolution:g} m over the region "
            f"{_region_label(region)!r}"
        ),
        budget_gb=max_memory_gb,
        suggest=lambda f: (
            f"Use a resolution of {coarser(float(resolution), f)} m or coarser "
            f"(now {resolution:g} m)."
        ),
    )


def _pdot_band(
    params: DetectionParams,
    grid: Any,
    poly: BaseGeometry,
    rows: tuple[int, int],
    xs: np.ndarray,
    ys: np.ndarray,
    traps: np.ndarray,
    total: np.ndarray,
    hazard_rows: int,
) -> np.ndarray:
    """pdot on rows ``rows`` of ``grid`` (one dask task; NaN outside ``poly``)."""
    from dataclasses import replace

    from ._raster import rasterize_geometries

    r0, r1 = rows
    band = replace(grid, y0=grid.y0 - r0 * grid.cell, height=r1 - r0)
    mask = rasterize_geometries([poly], band, values=1, fill=0).astype(bool)
    values = _pdot_values(
        params, band.shape, mask, xs, ys, traps, total, False, hazard_rows
    )
    values[~mask] = np.nan
    return values


def _pdot_chunked(
    params: DetectionParams,
    grid: Any,
    poly: BaseGeometry,
    xs: np.ndarray,
    ys: np.ndarray,
    traps: np.ndarray,
    total: np.ndarray,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> np.ndarray:
    """pdot in bands of rows on a dask cluster, written into one array.

    Each band gets the polygon, its own cell-centre rows and every station;
    bands are whole multiples of the rows of one matrix product of
    :func:`_hazard_grid`, so the products are those of the single-process
    run.  The values are identical when BLAS runs them alike; dask's worker
    processes run BLAS on one thread, and a multi-threaded BLAS in the
    client splits a large product's rows among its threads, which can change
    the last bit of the rows at the splits (2.2e-16 on the example at 250 m;
    for ``HN`` the
    points are grouped per band, which changes which far stations, whose
    kernel is below 1e-16, enter a sum: equal to ~1e-15).
    """
    from ._dask import band_cells_for, dask_client, gather_in_order, row_bands

    hazard_rows = _hazard_band(grid.width, len(traps))
    want = band_cells_for(workers, grid.height, grid.width) // grid.width
    rows = hazard_rows * max(1, round(want / hazard_rows))
    bands = row_bands(grid.height, grid.width, rows * grid.width)
    out = np.empty(grid.shape, dtype=np.float64)
    with dask_client(workers, scheduler) as client:
        args = [
            (params, grid, poly, (r0, r1), xs, ys[r0:r1], traps, total, hazard_rows)
            for r0, r1 in bands
        ]
        for (r0, r1), vals in zip(
            bands,
            gather_in_order(client, _pdot_band, args, progress=progress, desc="pdot"),
            strict=True,
        ):
            out[r0:r1] = vals
    return out


def pdot_surface(
    survey: Survey,
    params: DetectionParams,
    *,
    resolution: float = 250.0,
    occasion_days: float = 1.0,
    region: Any = "study_area",
    progress: bool = False,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    workers: int = 1,
    scheduler: str | None = None,
) -> xr.DataArray:
    """Detection-probability (pdot) raster over the study area.

    Each cell holds the probability that an animal whose activity centre is
    at the cell centre is detected at least once during the survey, given
    every station's usage (days with at least one working camera) and the
    detection function (:func:`pdot_points`).

    Parameters
    ----------
    survey
        The survey (projected CRS).
    params
        Detection function, e.g. from :func:`trapscape.detection.read_detection`
        (the output of ``trapscape density``) or given by hand.
    resolution
        Cell size in metres (default 250 m). The grid is aligned to multiples
        of ``resolution`` (:func:`trapscape._raster.grid_for_bounds`).
    occasion_days
        Occasion length used to build the usage matrix (pdot only depends on
        total usage, so this only matters for bookkeeping).
    region
        Where the raster has values: ``"study_area"`` (default) or another
        region of :meth:`trapscape.survey.Survey.region`, e.g.
        ``"study_area+parks"``.
    progress
        Show a progress bar.
    max_memory_gb
        Memory budget in GiB; a grid that would need more is refused before
        it is built, naming a resolution that fits (``None``: no check).
        On a dask cluster it covers one worker's band plus the assembled
        surface.
    workers, scheduler
        Compute the surface in bands of rows on a dask.distributed cluster:
        a LocalCluster of ``workers`` processes or the scheduler at
        ``scheduler`` (needs ``trapscape[dask]``).  Every band reads only
        its rows of the grid and the stations; no overlap is needed as each
        cell depends on the stations alone.

    Returns
    -------
    xarray.DataArray
        ``pdot`` on dims ``("y", "x")``, float64, ``NaN`` (nodata) for cells
        whose centre lies outside the study area (``region``); CRS and
        transform attached; ``attrs["region"]`` names the region.

    Notes
    -----
    For the hazard half-normal the kernel is separable on the raster, so the
    whole surface is a pair of matrix products (exact, no distance cut-off):
    360,000 cells and 400 stations take well under a second. The half-normal
    (``HN``) uses :func:`pdot_points` on the cells inside the study area.

    References
    ----------
    Efford (2004); Efford, Borchers & Mowat (2013); secr ``pdot``.
    """
    from ._raster import grid_for_bounds, rasterize_geometries, to_dataarray
    from .effort import station_usage

    if not (resolution and resolution > 0):
        raise InputError(
            f"resolution must be a positive number of metres, got {resolution!r}."
        )
    from ._dask import wants_dask

    poly = _area_polygon(survey, region, pad=3.0 * params.sigma)
    grid = grid_for_bounds(poly.bounds, float(resolution), survey.crs)
    chunked = wants_dask(workers, scheduler)
    _check_pdot_budget(grid, resolution, region, max_memory_gb, chunked, workers)
    use = station_usage(survey, occasion_days=occasion_days)
    total = use.total_days
    keep = total > 0
    traps, total = use.xy[keep], total[keep]
    origin = traps.mean(axis=0) if len(traps) else np.zeros(2)
    xs, ys = grid.xs - origin[0], grid.ys - origin[1]
    traps = traps - origin
    if chunked:
        values = _pdot_chunked(
            params, grid, poly, xs, ys, traps, total, workers, scheduler, progress
        )
    else:
        mask = rasterize_geometries([poly], grid, values=1, fill=0).astype(bool)
        values = _pdot_values(params, grid.shape, mask, xs, ys, traps, total, progress)
        values[~mask] = np.nan
    if len(traps) == 0:
        warnings.warn(
            "No station worked at any time: pdot is 0 everywhere.",
            TrapscapeWarning,
            stacklevel=2,
        )
    logger.info(
        "pdot surface: %d x %d cells of %g m, %d stations",
        grid.height,
        grid.width,
        resolution,
        len(traps),
    )
    da = to_dataarray(values, grid, name="pdot", nodata=np.nan, copy=False)
    da.attrs.update(
        detectfn=params.detectfn,
        sigma=params.sigma,
        lambda0=params.lambda0 if params.lambda0 is not None else np.nan,
        long_name="probability of at least one detection",
        region=_region_label(region),
    )
    return da


def pdot_summary(
    survey: Survey,
    surface: xr.DataArray,
    *,
    region: Any = None,
) -> pd.DataFrame:
    """Effective sampled area and high-pdot shares, per zone and in total.

    Parameters
    ----------
    survey
        The survey the surface was computed for.
    surface
        Output of :func:`pdot_surface` (``NaN`` outside its region).
    region
        ``None`` (default): every cell with a value, i.e. the region the
        surface was computed over (the study area unless ``pdot_surface``
        was given another ``region``). A region of
        :meth:`trapscape.survey.Survey.region` (``"study_area"``,
        ``"parks"``, ``"study_area+parks"``, polygons) restricts the summary
        to the cells whose centre lies in it.

    Returns
    -------
    pandas.DataFrame
        One row per zone and a last row ``zone = "total"``: ``area_km2``
        (cells in the region), ``esa_km2`` (effective sampled area
        ``sum(pdot * cell area)``), ``mean_pdot``, ``share_pdot_gt_0_5`` and
        ``share_pdot_gt_0_9`` (shares of the area with pdot above 0.5 and
        0.9). A cell belongs to the zone containing its centre.

    References
    ----------
    Efford (2004): the effective sampled area ``a(theta) = integral pdot``.
    """
    from ._raster import grid_of, rasterize_geometries

    grid = grid_of(surface)
    vals = np.asarray(surface.values, dtype=np.float64)
    inside = np.isfinite(vals)
    if region is not None:
        poly = _area_polygon(survey, region, pad=grid.cell)
        inside &= rasterize_geometries([poly], grid, values=1, fill=0).astype(bool)
    cell_km2 = grid.cell**2 / 1e6
    regions: list[tuple[str, np.ndarray]] = []
    if survey.zones is not None and len(survey.zones):
        zone_idx = rasterize_geometries(
            list(survey.zones.geometry.values),
            grid,
            values=list(range(1, len(survey.zones) + 1)),
            fill=0,
            dtype="int32",
        )
        for i, name in enumerate(survey.zones[V.NAME].astype(str), start=1):
            m = inside & (zone_idx == i)
            if m.any():
                regions.append((name, m))
    regions.append(("total", inside))
    rows = []
    for name, m in regions:
        v = vals[m]
        n = v.size
        rows.append(
            {
                V.ZONE: name,
                "area_km2": n * cell_km2,
                "esa_km2": float(v.sum()) * cell_km2,
                "mean_pdot": float(v.mean()) if n else np.nan,
                "share_pdot_gt_0_5": float((v > 0.5).mean()) if n else np.nan,
                "share_pdot_gt_0_9": float((v > 0.9).mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SurveyCoverage:
    """What :func:`for_survey` computed (``None``: that part was not asked for).

    Attributes
    ----------
    grid
        :func:`coverage_grid`.
    stats
        :func:`coverage_stats` of the grid.
    gaps
        :func:`gaps`.
    pdot
        :func:`pdot_surface` (needs detection parameters).
    pdot_summary
        :func:`pdot_summary` of the surface.
    """

    grid: gpd.GeoDataFrame | None = None
    stats: pd.DataFrame | None = None
    gaps: gpd.GeoDataFrame | None = None
    pdot: xr.DataArray | None = None
    pdot_summary: pd.DataFrame | None = None


def for_survey(
    survey: Survey,
    params: DetectionParams | None = None,
    *,
    report: EffortReport | None = None,
    with_grid: bool = True,
    progress: bool = False,
    **options: Any,
) -> SurveyCoverage:
    """Coverage grid, its statistics, gaps and the pdot surface of a survey.

    The one function ``trapscape coverage`` and the coverage and pdot steps
    of ``trapscape run`` call.  ``options`` are the keywords of
    :func:`coverage_grid`, :func:`coverage_stats`, :func:`gaps` and
    :func:`pdot_surface` (the project's ``[coverage]`` section); each
    function receives those it takes.

    Parameters
    ----------
    survey
        The survey.
    params
        Detection parameters; without them no pdot surface is computed.
    report
        The survey's :class:`~trapscape.effort.EffortReport` (computed when
        needed and not given).
    with_grid
        Compute the grid, its statistics and the gaps (``False``: only pdot).
    progress
        Progress bar of the pdot surface.
    **options
        Keywords of the functions above.

    Returns
    -------
    SurveyCoverage
    """
    opts = dict(options)
    out: dict[str, Any] = {}
    if with_grid:
        grid = coverage_grid(survey, report=report, **keywords_for(coverage_grid, opts))
        out["grid"] = grid
        out["stats"] = coverage_stats(
            survey, grid, report=report, **keywords_for(coverage_stats, opts)
        )
        out["gaps"] = gaps(survey, report=report, **keywords_for(gaps, opts))
    if params is not None:
        kw = {
            k: v for k, v in keywords_for(pdot_surface, opts).items() if k != "progress"
        }
        surface = pdot_surface(survey, params, progress=progress, **kw)
        out["pdot"] = surface
        out["pdot_summary"] = pdot_summary(survey, surface)
    return SurveyCoverage(**out)
