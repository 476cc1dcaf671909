"""Home ranges from camera-trap detections or other relocations.

Minimum convex polygons (:func:`mcp`), fixed-kernel utilisation
distributions with isopleth polygons (:func:`kde`), overlap indices between
individuals (:func:`overlap`), circular ranges from the detection scale
sigma (:func:`sigma_ranges`) and cross-border attribution
(:func:`cross_border`).

The estimators follow adehabitatHR (Calenge 2006) so that areas can be
compared with it directly:

* MCP: keep the relocations whose distance to the arithmetic centroid is at
  most the ``percent`` quantile of those distances (R quantile type 7), then
  take their convex hull.
* KDE: bivariate normal kernel evaluated exactly at each cell centre,
  truncated to the square ``|dx| < 4h, |dy| < 4h`` and normalised by the
  number of relocations (so the UD sums to about 0.99987, not 1).  Because
  both the kernel and its truncation are products of an x and a y factor,
  the UD is computed exactly as a matrix product ``Ky^T W Kx``.
* Reference bandwidth ``href = sqrt(0.5 (var x + var y)) n^(-1/6)`` (the
  issue text writes ``0.5 (sd x + sd y)``; adehabitatHR uses the root of
  the mean variance, and so do we).
* LSCV over 100 bandwidths from 0.1 to 1.5 href (adehabitatHR's ``CVmise``).
* Volume contour: cells sorted by decreasing density, cumulative sum of
  ``density * cell area`` in percent; ``kernel.area`` counts the cells whose
  volume is at most ``percent``; isopleth polygons are the ``percent``
  contour lines of the volume surface (``getverticeshr``).
* Overlap indices HR, PHR, VI, BA, UDOI and HD as in ``kerneloverlap``
  (Fieberg & Kochanny 2005).

References
----------
Worton, B. J. (1989). Kernel methods for estimating the utilization
distribution in home-range studies. Ecology 70, 164-168.

Silverman, B. W. (1986). Density Estimation for Statistics and Data
Analysis. Chapman & Hall.

Calenge, C. (2006). The package adehabitat for the R software: a tool for
the analysis of space and habitat use by animals. Ecological Modelling 197,
516-519.

Fieberg, J. & Kochanny, C. O. (2005). Quantifying home-range overlap: the
importance of the utilization distribution. Journal of Wildlife Management
69, 1346-1359.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from . import validation as V
from ._memory import DEFAULT_BUDGET_GB, check_budget, coarser
from ._raster import GridSpec, grid_of, to_dataarray
from .crs import as_crs, require_projected
from .errors import ComputationError, InputError, SchemaError, TrapscapeWarning

if TYPE_CHECKING:
    import xarray as xr

    from .detection import DetectionParams
    from .survey import Survey

__all__ = [
    "CrossBorderResult",
    "HomeRangeResult",
    "cross_border",
    "eligibility",
    "href",
    "kde",
    "lscv",
    "mcp",
    "overlap",
    "read_relocations",
    "relocations_from_survey",
    "sigma_ranges",
    "station_weights",
    "utilization_distributions",
    "zone_areas",
]

logger = logging.getLogger(__name__)

#: Relocations closer in time than this at one station are one detection event.
DEFAULT_BURST_MINUTES = 30.0
#: LSCV is refused when at least this share of relocations repeat a location.
LSCV_MAX_DUPLICATE_SHARE = 0.5
_OVERLAP_METHODS = ("HR", "PHR", "VI", "BA", "UDOI", "HD")
_GROUP = 4096


# --------------------------------------------------------------------- results
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


@dataclass(frozen=True)
class CrossBorderResult:
    """Which individuals use which zones (countries) and when they cross.

    Attributes
    ----------
    individuals
        One row per identified individual: ``individual_id``, ``sex``,
        ``n_detections``, ``n_stations``, ``zones`` (the zones it was
        detected in, ``"; "``-separated), ``n_zones``, ``status`` ("Russia
        only", "both", ...), ``n_crossings`` and, when ranges were given,
        ``share_<zone>`` (share of its home range area in each zone).
    crossings
        Consecutive detections of one individual in different zones:
        ``individual_id``, ``from_zone``, ``to_zone``, ``from_station``,
        ``to_station``, ``from_time``, ``to_time``, ``hours_between``.
    population
        ``status``, ``n_individuals``, ``share`` (of individuals detected in
        at least one zone), plus a row ``"multiple zones"`` summarising all
        individuals seen in more than one zone.
    """

    individuals: pd.DataFrame
    crossings: pd.DataFrame
    population: pd.DataFrame


# ------------------------------------------------------------------- inputs
def read_relocations(
    path: str | os.PathLike[str], *, crs: Any, sep: str | None = None
) -> gpd.GeoDataFrame:
    """Read a relocations CSV ``individual_id,x,y[,timestamp]`` (GPS or other).

    Parameters
    ----------
    path
        CSV file. Column names are matched case-insensitively; ``id`` is
        accepted for ``individual_id``. Extra columns are kept.
    crs
        CRS of ``x``/``y``. Must be projected in metres.
    sep
        Field separator (default: sniffed).

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id`` (str), optional ``timestamp``, point geometry.

    Raises
    ------
    SchemaError
        If a required column is missing or a coordinate is not a number.
    CRSError
        If ``crs`` is not projected in metres.
    """
    crs = require_projected(as_crs(crs), "relocations CRS")
    try:
        df = pd.read_csv(path, sep=sep, engine="python" if sep is None else "c")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(
            f"{os.fspath(path)}: cannot read as CSV ({err}).", path=path
        ) from err
    rename = {}
    for col in df.columns:
        low = str(col).strip().lower()
        if low in ("id", "individual", "individual_id", "animal", "animal_id"):
            rename[col] = V.INDIVIDUAL_ID
        elif low in ("x", "y", "timestamp"):
            rename[col] = low
    df = df.rename(columns=rename)
    missing = [c for c in (V.INDIVIDUAL_ID, "x", "y") if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{os.fspath(path)}: missing column(s) {missing}; expected "
            "individual_id,x,y[,timestamp]. Rename the columns.",
            path=path,
            column=missing[0],
        )
    for col in ("x", "y"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(vals.isna().to_numpy())
        if len(bad):
            raise SchemaError(
                f"{os.fspath(path)} row {bad[0] + 1}, column '{col}': "
                f"{df[col].iloc[bad[0]]!r} is not a number. "
                "Correct it or drop the row.",
                path=path,
                row=int(bad[0] + 1),
                column=col,
            )
        df[col] = vals.astype(float)
    if df[V.INDIVIDUAL_ID].isna().any():
        row = int(np.flatnonzero(df[V.INDIVIDUAL_ID].isna().to_numpy())[0]) + 1
        raise SchemaError(
            f"{os.fspath(path)} row {row}, column 'individual_id': empty. "
            "Every relocation needs an individual.",
            path=path,
            row=row,
            column=V.INDIVIDUAL_ID,
        )
    df[V.INDIVIDUAL_ID] = df[V.INDIVIDUAL_ID].astype(str)
    if V.TIMESTAMP in df.columns:
        ts = pd.to_datetime(df[V.TIMESTAMP], errors="coerce")
        bad = np.flatnonzero(ts.isna().to_numpy() & df[V.TIMESTAMP].notna().to_numpy())
        if len(bad):
            raise SchemaError(
                f"{os.fspath(path)} row {bad[0] + 1}, column 'timestamp': "
                f"{df[V.TIMESTAMP].iloc[bad[0]]!r} is not a date-time "
                "(YYYY-MM-DD HH:MM:SS).",
                path=path,
                row=int(bad[0] + 1),
                column=V.TIMESTAMP,
            )
        df[V.TIMESTAMP] = ts
    geom = gpd.points_from_xy(df["x"], df["y"])
    return gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=geom, crs=crs)


def relocations_from_survey(
    survey: Survey,
    *,
    species: str | None = None,
    burst_minutes: float = DEFAULT_BURST_MINUTES,
) -> gpd.GeoDataFrame:
    """Relocations of identified individuals at the survey's stations.

    One relocation per **detection event**: photos of the same individual at
    the same station less than ``burst_minutes`` after the previous photo
    belong to one event (camtrapR's ``minDeltaTime`` compared with the last
    record; the same rule as :func:`trapscape.effort.detection_events`).
    Sightings without a timestamp are events of their own. The relocation is
    the station's location and the event's time is its first photo.

    Parameters
    ----------
    survey
        The survey; only sightings with an ``individual_id`` are used.
    species
        Keep only this species (default: all).
    burst_minutes
        Event window in minutes (0 keeps every photo).

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id``, ``station_id``, ``timestamp``, ``sex``,
        ``n_photos``, point geometry (station), survey CRS.
    """
    sv = survey.species_subset(species) if species is not None else survey
    ident = sv.identified.copy()
    cols = [V.INDIVIDUAL_ID, V.STATION_ID, V.TIMESTAMP, V.SEX, "n_photos", "geometry"]
    if ident.empty:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=survey.crs)
    ident[V.INDIVIDUAL_ID] = ident[V.INDIVIDUAL_ID].astype(str)
    if V.SEX not in ident.columns:
        ident[V.SEX] = pd.NA
    ident = ident.sort_values(
        [V.INDIVIDUAL_ID, V.STATION_ID, V.TIMESTAMP], kind="stable"
    )
    keys = (
        ident[V.INDIVIDUAL_ID].astype(str) + "\x1f" + ident[V.STATION_ID].astype(str)
    ).to_numpy()
    t = ident[V.TIMESTAMP]
    tn = t.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
    tn[t.isna().to_numpy()] = np.nan
    new = np.ones(len(ident), dtype=bool)
    if len(ident) > 1:
        gap = np.diff(tn)
        same = keys[1:] == keys[:-1]
        with np.errstate(invalid="ignore"):
            new[1:] = ~same | ~(gap < float(burst_minutes) * 60e9)
    event = np.cumsum(new) - 1
    ident["_event"] = event
    grouped = ident.groupby("_event", sort=True)
    ev = grouped.agg(
        individual_id=(V.INDIVIDUAL_ID, "first"),
        station_id=(V.STATION_ID, "first"),
        timestamp=(V.TIMESTAMP, "first"),
        sex=(V.SEX, "first"),
        n_photos=(V.INDIVIDUAL_ID, "size"),
    ).reset_index(drop=True)
    pts = survey.station_points.set_index(V.STATION_ID).geometry
    pts.index = pts.index.astype(str)
    ev[V.STATION_ID] = ev[V.STATION_ID].astype(str)
    unknown = sorted(set(ev[V.STATION_ID]) - set(pts.index))
    if unknown:
        raise InputError(
            f"Sightings refer to station(s) {unknown[:5]} that are not in the stations "
            "table. Add them or correct the station ids."
        )
    geom = pts.reindex(ev[V.STATION_ID]).to_numpy()
    out = gpd.GeoDataFrame(ev, geometry=list(geom), crs=survey.crs)
    out = out.sort_values([V.INDIVIDUAL_ID, V.TIMESTAMP], kind="stable").reset_index(
        drop=True
    )
    logger.info(
        "%d detection events of %d individuals from %d photos",
        len(out),
        out[V.INDIVIDUAL_ID].nunique(),
        len(ident),
    )
    return out


def station_weights(survey: Survey, relocations: gpd.GeoDataFrame) -> np.ndarray:
    """Effort weights: 1 / trap-nights of each relocation's station, summing to 1.

    Weights sum to 1 per individual.

    Trap-nights of a station are the days during which at least one of its
    cameras worked (deployment intervals minus malfunctions, cameras
    pooled), following :mod:`trapscape.detection`'s station-as-detector
    convention.
    """
    days = _trap_nights(survey)
    st = relocations[V.STATION_ID].astype(str)
    tn = st.map(days).to_numpy(dtype=float)
    if np.any(~np.isfinite(tn)) or np.any(tn <= 0):
        bad = sorted(set(st[~(np.isfinite(tn) & (tn > 0))]))
        raise ComputationError(
            f"Station(s) {bad[:5]} have no operating days; cannot weight by effort. "
            "Check their setup/retrieval dates or run without effort weighting."
        )
    w = 1.0 / tn
    ids = relocations[V.INDIVIDUAL_ID].astype(str).to_numpy()
    tot = pd.Series(w).groupby(ids).transform("sum").to_numpy()
    return np.asarray(w / tot, dtype=float)


def _trap_nights(survey: Survey) -> dict[str, float]:
    """Operating days per station: trapscape.effort when present, else computed here."""
    try:
        from .effort import station_usage
    except ImportError:  # pragma: no cover - effort is part of trapscape
        return _station_trap_nights(survey)
    usage = station_usage(survey)
    return dict(
        zip(map(str, usage.station_ids), map(float, usage.total_days), strict=False)
    )


def _station_trap_nights(survey: Survey) -> dict[str, float]:
    st = survey.stations
    probs = survey.problems
    out: dict[str, float] = {}
    day = np.timedelta64(1, "D").astype("timedelta64[ns]").astype(np.int64)
    for sid, g in st.groupby(V.STATION_ID):
        ivs: list[tuple[int, int]] = []
        for _, row in g.iterrows():
            a = pd.Timestamp(row[V.SETUP]).value
            b = pd.Timestamp(row[V.RETRIEVAL]).value
            pieces = [(a, b)]
            if probs is not None and len(probs):
                pr = probs[probs[V.DEPLOYMENT_ID] == row[V.DEPLOYMENT_ID]]
                for _, p in pr.iterrows():
                    pa, pb = (
                        pd.Timestamp(p[V.PROBLEM_FROM]).value,
                        pd.Timestamp(p[V.PROBLEM_TO]).value,
                    )
                    nxt = []
                    for s, e in pieces:
                        if pb <= s or pa >= e:
                            nxt.append((s, e))
                            continue
                        if pa > s:
                            nxt.append((s, pa))
                        if pb < e:
                            nxt.append((pb, e))
                    pieces = nxt
            ivs.extend(pieces)
        ivs.sort()
        total = 0
        if ivs:
            cur_s, cur_e = ivs[0]
            for s, e in ivs[1:]:
                if s > cur_e:
                    total += cur_e - cur_s
                    cur_s, cur_e = s, e
                else:
                    cur_e = max(cur_e, e)
            total += cur_e - cur_s
        out[str(sid)] = total / day
    return out


def _as_relocations(relocations: Any) -> gpd.GeoDataFrame:
    from .survey import Survey

    if isinstance(relocations, Survey):
        relocations = relocations_from_survey(relocations)
    if not isinstance(relocations, gpd.GeoDataFrame):
        raise InputError(
            "relocations must be a GeoDataFrame with an 'individual_id' column and "
            "point "
            "geometries, or a Survey. Use read_relocations() for CSV files."
        )
    require_projected(relocations, "relocations layer")
    if V.INDIVIDUAL_ID not in relocations.columns:
        raise SchemaError(
            "relocations have no 'individual_id' column. Rename the id column.",
            column=V.INDIVIDUAL_ID,
        )
    geom = relocations.geometry
    if len(geom) and not (geom.geom_type == "Point").all():
        raise InputError(
            "relocations must be points; use centroids of other geometries."
        )
    rel = relocations[relocations[V.INDIVIDUAL_ID].notna()]
    rel = rel[~rel.geometry.is_empty]
    return rel


def _percents(percent: float | Iterable[float]) -> tuple[float, ...]:
    vals: tuple[Any, ...] = (
        (percent,) if np.isscalar(percent) else tuple(percent)  # type: ignore[arg-type]
    )
    if not vals:
        raise InputError("percent is empty; give at least one percentage such as 95.")
    out = []
    for raw in vals:
        p = float(raw)
        if not 0 < p <= 100:
            raise InputError(f"percent must lie in (0, 100], got {p}.")
        out.append(p)
    return tuple(out)


def eligibility(
    relocations: gpd.GeoDataFrame | Survey,
    *,
    min_detections: int = 5,
    min_stations: int = 3,
) -> pd.DataFrame:
    """Count detections and distinct stations per individual and say who qualifies.

    Distinct stations are distinct ``station_id`` values when that column
    exists, else distinct coordinates.

    Returns
    -------
    pandas.DataFrame
        ``individual_id``, ``n_detections``, ``n_stations``, ``included``
        (bool) and ``reason`` (empty when included), sorted by id.
    """
    rel = _as_relocations(relocations)
    ids = _id_strings(rel)
    if V.STATION_ID in rel.columns:
        loc = pd.factorize(np.asarray(rel[V.STATION_ID]).astype(str))[0]
    else:
        xy = np.ascontiguousarray(
            np.round(shapely.get_coordinates(rel.geometry.values), 6)
        )
        loc = np.unique(xy.view(np.complex128).ravel(), return_inverse=True)[1]
    df = pd.DataFrame({V.INDIVIDUAL_ID: ids, "_loc": loc})
    g = df.groupby(V.INDIVIDUAL_ID, sort=True)
    tab = pd.DataFrame({"n_detections": g.size(), "n_stations": g["_loc"].nunique()})
    reasons = []
    for n_det, n_st in zip(tab["n_detections"], tab["n_stations"], strict=False):
        r = []
        if n_det < min_detections:
            r.append(f"{n_det} detections < min_detections={min_detections}")
        if n_st < min_stations:
            r.append(f"{n_st} stations < min_stations={min_stations}")
        reasons.append("; ".join(r))
    tab["reason"] = reasons
    tab["included"] = tab["reason"] == ""
    tab = tab.reset_index()
    return tab[[V.INDIVIDUAL_ID, "n_detections", "n_stations", "included", "reason"]]


def _split(
    rel: gpd.GeoDataFrame, min_detections: int, min_stations: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], pd.DataFrame]:
    elig = eligibility(rel, min_detections=min_detections, min_stations=min_stations)
    excluded = elig[~elig["included"]].drop(columns="included").reset_index(drop=True)
    if len(excluded):
        logger.info(
            "%d individual(s) excluded: %s",
            len(excluded),
            ", ".join(
                f"{a} ({b})"
                for a, b in zip(
                    excluded[V.INDIVIDUAL_ID], excluded["reason"], strict=False
                )
            ),
        )
    keep = set(elig.loc[elig["included"], V.INDIVIDUAL_ID])
    ids = _id_strings(rel)
    xy = shapely.get_coordinates(rel.geometry.values)
    groups = pd.Series(np.arange(len(ids))).groupby(ids, sort=True).indices
    coords: dict[str, np.ndarray] = {}
    idx: dict[str, np.ndarray] = {}
    for ind in sorted(keep):
        m = np.sort(groups[ind])
        coords[ind] = xy[m]
        idx[ind] = m
    return coords, idx, excluded


def _id_strings(rel: pd.DataFrame) -> np.ndarray:
    """Individual ids as an object array of str (fast path when they already are)."""
    return np.array(
        [str(v) for v in np.asarray(rel[V.INDIVIDUAL_ID], dtype=object)], dtype=object
    )


# ---------------------------------------------------------------------- MCP
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


# ---------------------------------------------------------------------- KDE
def href(xy: np.ndarray) -> float:
    """Reference bandwidth ``sqrt(0.5 (var x + var y)) n^(-1/6)`` (adehabitatHR).

    Variances use the ``n - 1`` denominator, as R's ``var``.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        raise ComputationError("href needs at least 2 relocations; give h in metres.")
    sd = math.sqrt(0.5 * (np.var(xy[:, 0], ddof=1) + np.var(xy[:, 1], ddof=1)))
    return float(sd * n ** (-1.0 / 6.0))


def lscv(
    xy: np.ndarray,
    *,
    hlim: tuple[float, float] = (0.1, 1.5),
    n_h: int = 100,
    adehabitat: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares cross-validation score over a range of bandwidths.

    The score is adehabitatHR's ``CVmise`` for the bivariate normal kernel
    (Worton 1989; Silverman 1986)::

        CV(h) = 1 / (pi h² n) + (2 S(h) - 3 n) / (4 pi h² n²),
        S(h) = sum over pairs i < j of exp(-d²/4h²) - 4 exp(-d²/2h²)

    adehabitatHR 0.4.x fills its distance vector from index 1 but sums it
    from index 0, so its score uses, in place of the last pair's distance
    (pairs in the order (1,2), (1,3), ..., (n-1,n)), the number stored in
    slot 0 by its allocator, n(n-1) metres.  With ``adehabitat=True`` (the
    default) this is reproduced so that the chosen bandwidth is identical to
    ``kernelUD(h = "LSCV")``; ``adehabitat=False`` uses every pair.

    Returns
    -------
    (h, cv)
        The ``n_h`` bandwidths from ``hlim[0]`` to ``hlim[1]`` times href and
        their scores.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    h0 = href(xy)
    hvec = np.linspace(hlim[0] * h0, hlim[1] * h0, n_h)
    from scipy.spatial.distance import pdist

    d2 = pdist(xy, "sqeuclidean")
    if adehabitat and len(d2):
        d2 = np.concatenate([[float(n * (n - 1)) ** 2], d2[:-1]])
    s = np.zeros(n_h)
    inv4 = 1.0 / (4.0 * hvec**2)
    step = max(1, 4_000_000 // n_h)
    for a in range(0, len(d2), step):
        u = np.exp(-d2[a : a + step, None] * inv4)  # exp(-d²/2h²) is u²
        s += (u - 4.0 * u * u).sum(axis=0)
    cv = 1.0 / (math.pi * hvec**2 * n) + (2.0 * s - 3.0 * n) / (
        4.0 * math.pi * hvec**2 * n**2
    )
    return hvec, cv


def _bandwidth(xy: np.ndarray, h: str | float) -> dict[str, Any]:
    n = len(xy)
    rec: dict[str, Any] = {"n": n, "href": np.nan, "h_lscv": np.nan, "note": ""}
    if isinstance(h, str):
        key = h.strip().lower()
        if key not in ("href", "lscv"):
            raise InputError(
                f"h must be 'href', 'lscv' or a distance in metres, got {h!r}."
            )
        rec["href"] = href(xy)
        if rec["href"] <= 0:
            raise ComputationError(
                "all relocations share one location: href is 0. Give h in metres."
            )
        if key == "href":
            rec.update(h=rec["href"], h_method="href")
            return rec
        dup = 1.0 - len(np.unique(xy, axis=0)) / n
        hv, cv = lscv(xy)
        i = int(np.argmin(cv))
        rec["h_lscv"] = float(hv[i])
        reason = ""
        if dup >= LSCV_MAX_DUPLICATE_SHARE:
            reason = (
                f"{dup:.0%} of relocations repeat a location (camera stations); "
                "LSCV is degenerate"
            )
        elif i == 0:
            reason = (
                "LSCV minimum at the smallest h tried (0.1 href): no interior minimum"
            )
        elif i == len(hv) - 1:
            reason = (
                "LSCV minimum at the largest h tried (1.5 href): no interior minimum"
            )
        if reason:
            rec.update(
                h=rec["href"], h_method="href", note=reason + "; fell back to href"
            )
        else:
            rec.update(h=float(hv[i]), h_method="LSCV")
        return rec
    try:
        val = float(h)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"h must be 'href', 'lscv' or a distance in metres, got {h!r}."
        ) from err
    if not val > 0:
        raise InputError(f"h must be a positive distance in metres, got {val}.")
    if n >= 2:
        rec["href"] = href(xy)
    rec.update(h=val, h_method="specified")
    return rec


def _grid_count(xy: np.ndarray, grid: int, extent: float, crs: Any) -> GridSpec:
    """adehabitatHR ``.makegridUD``: ``grid`` cell centres along the longer side."""
    if grid < 2:
        raise InputError(f"grid must be at least 2 cells, got {grid}.")
    xmin, ymin = xy.min(axis=0)
    xmax, ymax = xy.max(axis=0)
    rx, ry = xmax - xmin, ymax - ymin
    xl = (xmin - extent * rx, xmax + extent * rx)
    yl = (ymin - extent * ry, ymax + extent * ry)
    if yl[1] - yl[0] > xl[1] - xl[0]:
        cell = (yl[1] - yl[0]) / (grid - 1)
        ny = grid
        nx = math.floor((xl[1] - xl[0]) / cell + 1e-10) + 1
    else:
        cell = (xl[1] - xl[0]) / (grid - 1)
        nx = grid
        ny = math.floor((yl[1] - yl[0]) / cell + 1e-10) + 1
    if not cell > 0:
        raise ComputationError(
            "relocations of one individual share one location, so the grid has "
            "no extent. "
            "Pass a cell size (grid=100.0) or a GridSpec."
        )
    top = yl[0] + (ny - 1) * cell
    return GridSpec(xl[0] - cell / 2, top + cell / 2, cell, nx, ny, as_crs(crs))


def _grid_cell(
    xy: np.ndarray, cell: float, extent: float, h: float, crs: Any
) -> GridSpec:
    """Grid of ``cell`` with centres at multiples of cell + cell/2.

    Covers the bounding box widened by ``extent`` times its range and by at
    least 4h (so no kernel mass is cut off).
    """
    if not cell > 0:
        raise InputError(f"cell size must be positive, got {cell}.")
    xmin, ymin = xy.min(axis=0)
    xmax, ymax = xy.max(axis=0)
    rx, ry = xmax - xmin, ymax - ymin
    bx = max(extent * rx, 4 * h + cell)
    by = max(extent * ry, 4 * h + cell)
    x0 = math.floor((xmin - bx) / cell) * cell
    x1 = math.ceil((xmax + bx) / cell) * cell
    y0 = math.floor((ymin - by) / cell) * cell
    y1 = math.ceil((ymax + by) / cell) * cell
    return GridSpec(
        float(x0),
        float(y1),
        float(cell),
        round((x1 - x0) / cell),
        round((y1 - y0) / cell),
        as_crs(crs),
    )


def _kernel_1d(values: np.ndarray, centres: np.ndarray, h: float) -> np.ndarray:
    """``exp(-d²/2h²)`` from values (rows) to centres (columns); 0 if ``|d| >= 4h``."""
    d = np.subtract(centres[None, :], values[:, None])
    np.multiply(d, d, out=d)
    far = d >= 16.0 * h * h
    d *= -0.5 / (h * h)
    np.exp(d, out=d)
    d[far] = 0.0
    return np.asarray(d)


def _ud(
    xy: np.ndarray, h: float, grid: GridSpec, weights: np.ndarray | None = None
) -> np.ndarray:
    """Exact truncated-Gaussian UD on ``grid`` (density per m², rows north to south).

    The kernel and its square truncation are separable, so the UD of a group
    of points is the matrix product ``Ky^T W Kx``.  Points are sorted by y
    and processed in groups of at most ``_GROUP`` points (bounding memory);
    each group only touches the window of cells within 4h of its points, so
    the work follows the kernels' footprint rather than the whole grid while
    the products stay large enough for BLAS to run at full speed.
    """
    n = len(xy)
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
    xs, ys = grid.xs, grid.ys
    out = np.zeros(grid.shape)
    cell = grid.cell
    reach = 4.0 * h
    x_lo, x_hi = grid.x0 - reach, grid.x0 + grid.width * cell + reach
    y_lo, y_hi = grid.y0 - grid.height * cell - reach, grid.y0 + reach
    keep = (
        (xy[:, 0] > x_lo)
        & (xy[:, 0] < x_hi)
        & (xy[:, 1] > y_lo)
        & (xy[:, 1] < y_hi)
        & (w != 0)
    )
    if not keep.any():
        return out
    xy, w = xy[keep], w[keep]
    order = np.argsort(-xy[:, 1], kind="stable")
    xy, w = xy[order], w[order]
    m = len(xy)
    n_groups = max(1, -(-m // _GROUP))
    bounds = np.linspace(0, m, n_groups + 1).astype(np.int64)
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        px, py, pw = xy[a:b, 0], xy[a:b, 1], w[a:b]
        c_lo = max(0, math.floor((px.min() - reach - grid.x0) / cell))
        c_hi = min(grid.width, math.ceil((px.max() + reach - grid.x0) / cell) + 1)
        r_lo = max(0, math.floor((grid.y0 - py.max() - reach) / cell))
        r_hi = min(grid.height, math.ceil((grid.y0 - py.min() + reach) / cell) + 1)
        if c_hi <= c_lo or r_hi <= r_lo:
            continue
        kx = _kernel_1d(px, xs[c_lo:c_hi], h)
        ky = _kernel_1d(py, ys[r_lo:r_hi], h)
        ky *= pw[:, None]
        out[r_lo:r_hi, c_lo:c_hi] += ky.T @ kx
    out *= 1.0 / (2.0 * math.pi * h * h)
    return out


def _volume(ud: np.ndarray, cell: float) -> np.ndarray:
    """adehabitatHR ``getvolumeUD``: percent of UD mass in cells at least as dense."""
    v = ud.ravel() * (cell * cell)
    pos = np.flatnonzero(v > 0)
    vp = v[pos]
    order = np.argsort(-vp, kind="stable")
    csum = np.cumsum(vp[order]) * 100.0
    # cells of zero density all get the total (ties: their order does not matter)
    vol = np.full(v.shape, csum[-1] if len(csum) else 0.0)
    vol[pos[order]] = csum
    return vol.reshape(ud.shape)


def _isopleth(vol: np.ndarray, grid: GridSpec, percent: float) -> Any:
    """Polygon where the volume surface is <= percent (``getverticeshr``)."""
    from skimage import measure

    pad = np.pad(vol, 1, constant_values=max(1000.0, float(vol.max()) * 10))
    rings = []
    for c in measure.find_contours(pad, percent):  # type: ignore[no-untyped-call]
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


def _map_individuals(fn: Any, keys: list[str], *, progress: bool = False) -> list[Any]:
    """Apply ``fn`` to every key, on up to 2 worker threads with single-threaded BLAS.

    Many small matrix products run much faster with one BLAS thread each than
    with BLAS's own threading (which oversubscribes a busy machine), so BLAS is
    limited with threadpoolctl when it is installed and the individuals are
    spread over a thread pool instead (numpy releases the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        limit: Any = nullcontext()
        workers = 1
    else:
        limit = threadpool_limits(limits=1, user_api="blas")
        workers = max(1, min(2, os.cpu_count() or 1, len(keys)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(keys), desc="kde", unit="individual")

    def run(k: str) -> Any:
        r = fn(k)
        if bar is not None:
            bar.update(1)
        return r

    try:
        with limit:
            if workers == 1:
                return [run(k) for k in keys]
            with ThreadPoolExecutor(max_workers=workers) as ex:
                return list(ex.map(run, keys))
    finally:
        if bar is not None:
            bar.close()


# Peak memory per UD cell, calibrated on the bundled example (59
# individuals, `trapscape homerange --cell C`, /usr/bin/time -v peak RSS):
# 291 MB at 100 m (5.9 M UD cells in all) and 611 MB at 50 m (23.7 M cells),
# i.e. about 19 B per cell held (the float64 UDs are all kept until the
# isopleths and rasters are written) above ~180 MB of imports and data.
# 24 B/cell leaves a margin; one individual's volume/contouring (argsort,
# sorted copy, cumulative sum, ...) is added per worker thread on top.
_KDE_BYTES_PER_CELL = 24
_KDE_BYTES_PER_WORKING_CELL = 64


def _check_kde_memory(
    grids: dict[str, GridSpec], grid: Any, max_memory_gb: float | None
) -> None:
    """Refuse UDs whose grids (all held at once) would exceed the budget."""
    if not grids:
        return
    n_cells = sum(g.width * g.height for g in grids.values())
    largest = max(g.width * g.height for g in grids.values())
    cell = next(iter(grids.values())).cell

    def suggest(factor: float) -> str:
        if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
            fewer = max(2, int(int(grid) / (math.sqrt(factor) * 1.1)))
            return f"Use grid={fewer} cells or fewer (now {int(grid)})."
        return (
            f"Use a cell size of {coarser(cell, factor)} m or coarser (now {cell:g} m)."
        )

    check_budget(
        n_cells,
        _KDE_BYTES_PER_CELL,
        what=f"the kde grids of {len(grids)} individual(s)",
        budget_gb=max_memory_gb,
        suggest=suggest,
        extra_bytes=2 * largest * _KDE_BYTES_PER_WORKING_CELL,
    )


def utilization_distributions(
    relocations: gpd.GeoDataFrame | Survey,
    *,
    h: str | float = "href",
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
) -> tuple[dict[str, np.ndarray], dict[str, GridSpec], pd.DataFrame, pd.DataFrame]:
    """Kernel UDs as plain arrays (the fast core of :func:`kde`).

    Parameters are those of :func:`kde`.

    Returns
    -------
    (uds, grids, bandwidths, excluded)
        ``uds[id]`` is a ``(height, width)`` array of density per m² on
        ``grids[id]``.
    """
    from .survey import Survey

    if cell_size is not None:
        grid = float(cell_size)
    if effort_weights:
        if not isinstance(relocations, Survey):
            raise InputError(
                "effort_weights=True needs a Survey (station operating days); "
                "pass weights= for other relocations."
            )
        if weights is not None:
            raise InputError("Give either weights= or effort_weights=True, not both.")
        survey = relocations
        relocations = relocations_from_survey(survey)
        weights = station_weights(survey, relocations)
    rel = _as_relocations(relocations)
    coords, idx, excluded = _split(rel, min_detections, min_stations)
    if not coords:
        raise ComputationError(
            f"No individual has at least {min_detections} detections at {min_stations} "
            "stations; lower min_detections/min_stations or collect more data."
        )
    w_all = None
    if weights is not None:
        w_all = np.asarray(weights, dtype=float)
        if (
            w_all.shape != (len(rel),)
            or np.any(w_all < 0)
            or not np.all(np.isfinite(w_all))
        ):
            raise InputError(
                f"weights must be {len(rel)} non-negative numbers, one per relocation."
            )
    common: GridSpec | None = None
    n_cells: int | None = None
    cell: float | None = None
    if isinstance(grid, GridSpec):
        common = grid
    elif isinstance(grid, (int, np.integer)):
        n_cells = int(grid)
    else:
        cell = float(grid)
    if common is not None and not as_crs(common.crs).equals(as_crs(rel.crs)):
        from .errors import CRSError

        raise CRSError(
            f"The grid is in {as_crs(common.crs).to_string()} but the relocations "
            f"are in {as_crs(rel.crs).to_string()}. Build the GridSpec in the "
            "relocations' CRS."
        )
    bw_rows = []
    hs: dict[str, float] = {}
    for ind, xy in coords.items():
        rec = _bandwidth(xy, h)
        bw_rows.append({V.INDIVIDUAL_ID: ind, **rec})
        hs[ind] = rec["h"]
    fell_back = [r for r in bw_rows if r["note"]]
    if fell_back:
        names = ", ".join(str(r[V.INDIVIDUAL_ID]) for r in fell_back[:10])
        more = ", ..." if len(fell_back) > 10 else ""
        warnings.warn(
            f"LSCV fell back to href for {len(fell_back)} individual(s) "
            f"({names}{more}): {fell_back[0]['note']}. The reason for each is in the "
            "bandwidths table.",
            TrapscapeWarning,
            stacklevel=3,
        )
    if common is None and same_grid:
        allxy = np.vstack(list(coords.values()))
        if n_cells is not None:
            common = _grid_count(allxy, n_cells, extent, rel.crs)
        elif cell is not None:
            common = _grid_cell(allxy, cell, extent, max(hs.values()), rel.crs)
    grids: dict[str, GridSpec] = {}
    wts: dict[str, np.ndarray | None] = {}
    for ind, xy in coords.items():
        if common is not None:
            grids[ind] = common
        elif n_cells is not None:
            grids[ind] = _grid_count(xy, n_cells, extent, rel.crs)
        else:
            grids[ind] = _grid_cell(xy, float(cell or 0.0), extent, hs[ind], rel.crs)
        w = None
        if w_all is not None:
            w = w_all[idx[ind]]
            if not w.sum() > 0:
                raise InputError(f"weights of individual {ind} sum to 0.")
            w = w / w.sum()
        wts[ind] = w
    _check_kde_memory(grids, grid if cell is None else cell, max_memory_gb)

    def one(ind: str) -> np.ndarray:
        return _ud(coords[ind], hs[ind], grids[ind], wts[ind])

    uds = dict(
        zip(
            coords, _map_individuals(one, list(coords), progress=progress), strict=False
        )
    )
    bandwidths = pd.DataFrame(
        bw_rows,
        columns=[V.INDIVIDUAL_ID, "n", "href", "h_lscv", "h", "h_method", "note"],
    )
    return uds, grids, bandwidths, excluded


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
    crs = next(iter(grids.values())).crs
    bw = bandwidths.set_index(V.INDIVIDUAL_ID)
    rows = []
    das = {}
    at_edge: list[str] = []
    for ind, ud in uds.items():
        g = grids[ind]
        vol = _volume(ud, g.cell)
        edge = min(vol[0].min(), vol[-1].min(), vol[:, 0].min(), vol[:, -1].min())
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
        das[ind] = to_dataarray(ud, g, name="ud")
    if at_edge:
        more = ", ..." if len(at_edge) > 10 else ""
        warnings.warn(
            f"{len(at_edge)} range(s) reach the edge of their grid, so their area is "
            f"cut off: {', '.join(at_edge[:10])}{more}. Increase extent, use a larger "
            "grid, or give cell_size (grids then cover at least 4h around the points).",
            TrapscapeWarning,
            stacklevel=2,
        )
    iso = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    logger.info("KDE of %d individual(s), %d isopleth(s)", len(uds), len(iso))
    return HomeRangeResult(
        isopleths=iso, ud=das, bandwidths=bandwidths, excluded=excluded
    )


# ------------------------------------------------------------------ overlap
def overlap(
    result: HomeRangeResult,
    *,
    method: str = "HR",
    percent: float = 95,
) -> pd.DataFrame:
    """Home-range overlap indices between individuals (adehabitatHR ``kerneloverlap``).

    All UDs must lie on one lattice: one grid (``kde(..., same_grid=True)``
    or one GridSpec) or grids of one cell size aligned to multiples of it
    (``kde(..., cell_size=...)``; cells outside an individual's grid count as
    zero density). With ``A_i`` the cells in the ``percent`` volume contour of
    individual *i*, ``UD_i`` its density and cell area ``c``:

    * ``HR[i, j]`` = |A_i ∩ A_j| / |A_i| (share of i's range used by j);
    * ``PHR[i, j]`` = sum over A_j of UD_i · c (probability of finding i in
      j's range);
    * ``VI`` = sum of min(UD_i, UD_j) · c; ``BA`` = sum of sqrt(UD_i UD_j) · c;
    * ``UDOI`` = |A_i ∩ A_j| · sum of UD_i UD_j · c;
    * ``HD`` = sqrt(sum of (sqrt UD_i - sqrt UD_j)² · c).

    VI, BA, UDOI and HD use the whole UDs (adehabitatHR's default
    ``conditional = FALSE``); only UDOI's area factor uses ``percent``.

    Returns
    -------
    pandas.DataFrame
        Square matrix indexed and labelled by individual id.

    References
    ----------
    Fieberg & Kochanny (2005), see the module docstring.
    """
    m = method.upper()
    if m not in _OVERLAP_METHODS:
        raise InputError(
            f"method must be one of {list(_OVERLAP_METHODS)}, got {method!r}."
        )
    ids = list(result.ud)
    grids = [grid_of(result.ud[i]) for i in ids]
    g0 = grids[0]
    for name, g in zip(ids, grids, strict=True):
        off_x = (g.x0 - g0.x0) / g0.cell
        off_y = (g0.y0 - g.y0) / g0.cell
        if (
            abs(g.cell - g0.cell) > 1e-9 * g0.cell
            or abs(off_x - round(off_x)) > 1e-6
            or abs(off_y - round(off_y)) > 1e-6
        ):
            raise ComputationError(
                f"UD of {name} is on a grid not aligned with that of {ids[0]}; overlap "
                "needs "
                "one grid or grids of one cell size on a common lattice. Run "
                "kde(..., same_grid=True) or kde(..., cell_size=...)."
            )
    c = g0.cell**2
    uds = [np.asarray(result.ud[i].values, dtype=float) for i in ids]
    inside = [(_volume(u, g0.cell) <= percent) for u in uds]
    n_inside = [int(np.count_nonzero(a)) for a in inside]
    totals = [float(u.sum()) for u in uds]
    # cell offsets of every grid on the common lattice
    col0 = [round((g.x0 - g0.x0) / g0.cell) for g in grids]
    row0 = [round((g0.y0 - g.y0) / g0.cell) for g in grids]
    heights, widths = [], []
    for k in range(len(ids)):
        # crop each UD to the cells that matter (non-zero density or inside)
        rows = np.flatnonzero((uds[k] > 0).any(axis=1) | inside[k].any(axis=1))
        cols = np.flatnonzero((uds[k] > 0).any(axis=0) | inside[k].any(axis=0))
        if len(rows) == 0:
            rows = cols = np.array([0])
        r_sl, c_sl = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        uds[k], inside[k] = uds[k][r_sl, c_sl], inside[k][r_sl, c_sl]
        row0[k] += int(rows[0])
        col0[k] += int(cols[0])
        heights.append(uds[k].shape[0])
        widths.append(uds[k].shape[1])
    n = len(ids)
    res = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            r_lo = max(row0[i], row0[j])
            r_hi = min(row0[i] + heights[i], row0[j] + heights[j])
            c_lo = max(col0[i], col0[j])
            c_hi = min(col0[i] + widths[i], col0[j] + widths[j])
            if r_hi > r_lo and c_hi > c_lo:
                si = (
                    slice(r_lo - row0[i], r_hi - row0[i]),
                    slice(c_lo - col0[i], c_hi - col0[i]),
                )
                sj = (
                    slice(r_lo - row0[j], r_hi - row0[j]),
                    slice(c_lo - col0[j], c_hi - col0[j]),
                )
                ui, uj, ai, aj = uds[i][si], uds[j][sj], inside[i][si], inside[j][sj]
            else:
                ui = uj = np.zeros(0)
                ai = aj = np.zeros(0, dtype=bool)
            if m == "HR":
                inter = float(np.count_nonzero(ai & aj))
                res[i, j] = inter / n_inside[i] if n_inside[i] else np.nan
                res[j, i] = inter / n_inside[j] if n_inside[j] else np.nan
            elif m == "PHR":
                res[i, j] = float(uj[ai].sum()) * c
                res[j, i] = float(ui[aj].sum()) * c
            elif m == "VI":
                res[i, j] = res[j, i] = float(np.minimum(ui, uj).sum()) * c
            elif m == "BA":
                res[i, j] = res[j, i] = float(np.sqrt(ui * uj).sum()) * c
            elif m == "UDOI":
                inter = float(np.count_nonzero(ai & aj)) * c
                res[i, j] = res[j, i] = inter * float((ui * uj).sum()) * c
            else:
                if i == j:
                    res[i, j] = 0.0
                    continue
                ba = float(np.sqrt(ui * uj).sum())
                d2 = (totals[i] + totals[j] - 2.0 * ba) * c
                res[i, j] = res[j, i] = math.sqrt(max(d2, 0.0))
    return pd.DataFrame(
        res, index=pd.Index(ids, name="id1"), columns=pd.Index(ids, name="id2")
    )


# ------------------------------------------------------------- sigma ranges
def sigma_ranges(
    centres_or_individuals: gpd.GeoDataFrame | Survey,
    params: DetectionParams,
    *,
    percent: float = 95,
) -> gpd.GeoDataFrame:
    """Circular ranges from the detection scale sigma.

    Under a bivariate normal (half-normal detection) model the ``percent``
    range is a circle of radius ``sqrt(-2 ln(1 - p)) sigma`` (2.45 sigma for
    95 %), centred on the individual's mean detection location.

    Parameters
    ----------
    centres_or_individuals
        Relocations (one centre per ``individual_id``: their mean), activity
        centres (one point each) or a Survey.
    params
        Detection parameters; ``params.by_sex[sex]["sigma"]`` is used for
        individuals of that sex when present.
    percent
        Range percentage in (0, 100).

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id``, ``sex``, ``method`` ("sigma"), ``percent``,
        ``sigma``, ``radius``, ``area_km2``, circle geometry.
    """
    if not 0 < float(percent) < 100:
        raise InputError(f"percent must lie in (0, 100), got {percent}.")
    rel = _as_relocations(centres_or_individuals)
    k = math.sqrt(-2.0 * math.log(1.0 - float(percent) / 100.0))
    df = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: rel[V.INDIVIDUAL_ID].astype(str).to_numpy(),
            "x": rel.geometry.x.to_numpy(),
            "y": rel.geometry.y.to_numpy(),
            V.SEX: rel[V.SEX].to_numpy() if V.SEX in rel.columns else pd.NA,
        }
    )
    g = df.groupby(V.INDIVIDUAL_ID, sort=True)
    cen = g.agg(
        x=("x", "mean"),
        y=("y", "mean"),
        sex=(V.SEX, lambda s: s.dropna().iloc[0] if s.notna().any() else pd.NA),
    )
    rows = []
    for ind, r in cen.iterrows():
        sex = r[V.SEX]
        sigma = float(params.sigma)
        if (
            isinstance(sex, str)
            and sex in params.by_sex
            and "sigma" in params.by_sex[sex]
        ):
            sigma = float(params.by_sex[sex]["sigma"])
        radius = k * sigma
        rows.append(
            {
                V.INDIVIDUAL_ID: ind,
                V.SEX: sex,
                "method": "sigma",
                "percent": float(percent),
                "sigma": sigma,
                "radius": radius,
                "area_km2": math.pi * radius**2 / 1e6,
                "geometry": Point(r["x"], r["y"]).buffer(radius, 64),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=rel.crs)


# ------------------------------------------------------------- cross-border
def zone_areas(polygons: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Area (km²) of each polygon inside each zone: columns ``area_<zone>_km2``.

    The result keeps the index of ``polygons``.
    """
    if zones is None or len(zones) == 0:
        return pd.DataFrame(index=polygons.index)
    z = (
        zones.to_crs(polygons.crs)
        if not as_crs(zones.crs).equals(as_crs(polygons.crs))
        else zones
    )
    out = {}
    for name, zg in z.groupby(V.NAME, sort=True):
        shape = zg.geometry.union_all()
        out[f"area_{_slug(str(name))}_km2"] = (
            polygons.geometry.intersection(shape).area.to_numpy() / 1e6
        )
    return pd.DataFrame(out, index=polygons.index)


def _slug(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in name.strip()).strip("_")
    return s or "zone"


def cross_border(
    survey: Survey,
    ranges: gpd.GeoDataFrame | HomeRangeResult | None = None,
    *,
    relocations: gpd.GeoDataFrame | None = None,
    percent: float = 95,
) -> CrossBorderResult:
    """Zones (countries) used by each individual, border crossings, population.

    Parameters
    ----------
    survey
        Survey with ``zones`` (polygons with ``name``). Stations outside every
        zone count as zone ``"outside"``.
    ranges
        Optional home ranges (a :class:`HomeRangeResult` or polygons from
        :func:`mcp`/:func:`kde`); the ``percent`` polygon of each individual
        (the largest available when absent) gives ``share_<zone>``.
    relocations
        Detection events (default: :func:`relocations_from_survey`).
    percent
        Which isopleth to use for the shares.

    Returns
    -------
    CrossBorderResult
    """
    if survey.zones is None or len(survey.zones) == 0:
        raise InputError(
            "The survey has no zones (countries); add [boundaries] zones "
            "to the project to attribute individuals to countries."
        )
    rel = relocations_from_survey(survey) if relocations is None else relocations
    zone = survey.zone_of(rel.geometry).fillna("outside").astype(str).to_numpy()
    df = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: rel[V.INDIVIDUAL_ID].astype(str).to_numpy(),
            V.STATION_ID: rel[V.STATION_ID].astype(str).to_numpy()
            if V.STATION_ID in rel
            else "",
            V.TIMESTAMP: rel[V.TIMESTAMP].to_numpy() if V.TIMESTAMP in rel else pd.NaT,
            V.SEX: rel[V.SEX].to_numpy() if V.SEX in rel else pd.NA,
            V.ZONE: zone,
        }
    )
    df = df.sort_values([V.INDIVIDUAL_ID, V.TIMESTAMP], kind="stable")
    cross_rows = []
    ind_rows = []
    for ind, g in df.groupby(V.INDIVIDUAL_ID, sort=True):
        zs = sorted(set(g[V.ZONE]) - {"outside"}) or sorted(set(g[V.ZONE]))
        if len(zs) == 1:
            status = f"{zs[0]} only"
        elif len(zs) == 2:
            status = "both"
        else:
            status = "multiple"
        gz = g[g[V.ZONE] != "outside"]
        z, st, t = (
            gz[V.ZONE].to_numpy(),
            gz[V.STATION_ID].to_numpy(),
            gz[V.TIMESTAMP].to_numpy(),
        )
        n_cross = 0
        for a in range(1, len(gz)):
            if z[a] != z[a - 1]:
                n_cross += 1
                dt = (pd.Timestamp(t[a]) - pd.Timestamp(t[a - 1])) / pd.Timedelta(
                    hours=1
                )
                cross_rows.append(
                    {
                        V.INDIVIDUAL_ID: ind,
                        "from_zone": z[a - 1],
                        "to_zone": z[a],
                        "from_station": st[a - 1],
                        "to_station": st[a],
                        "from_time": t[a - 1],
                        "to_time": t[a],
                        "hours_between": float(dt),
                    }
                )
        sex = g[V.SEX].dropna()
        ind_rows.append(
            {
                V.INDIVIDUAL_ID: ind,
                V.SEX: sex.iloc[0] if len(sex) else pd.NA,
                "n_detections": len(g),
                "n_stations": g[V.STATION_ID].nunique(),
                "zones": "; ".join(zs),
                "n_zones": len(zs),
                "status": status,
                "n_crossings": n_cross,
            }
        )
    individuals = pd.DataFrame(ind_rows)
    if ranges is not None:
        polys = ranges.isopleths if isinstance(ranges, HomeRangeResult) else ranges
        pick = []
        for _, g in polys.groupby(V.INDIVIDUAL_ID, sort=True):
            sel = g[np.isclose(g["percent"].astype(float), percent)]
            pick.append(
                sel.iloc[[0]] if len(sel) else g.sort_values("percent").iloc[[-1]]
            )
        if pick:
            chosen = pd.concat(pick)
            areas = zone_areas(chosen, survey.zones)
            tot = chosen.geometry.area.to_numpy() / 1e6
            shares = areas.div(np.where(tot > 0, tot, np.nan), axis=0)
            shares.columns = [
                c.replace("area_", "share_").replace("_km2", "") for c in shares.columns
            ]
            shares[V.INDIVIDUAL_ID] = chosen[V.INDIVIDUAL_ID].astype(str).to_numpy()
            shares["range_method"] = chosen["method"].to_numpy()
            shares["range_percent"] = chosen["percent"].to_numpy()
            individuals = individuals.merge(shares, on=V.INDIVIDUAL_ID, how="left")
    crossings = pd.DataFrame(
        cross_rows,
        columns=[
            V.INDIVIDUAL_ID,
            "from_zone",
            "to_zone",
            "from_station",
            "to_station",
            "from_time",
            "to_time",
            "hours_between",
        ],
    )
    n = len(individuals)
    counts = individuals["status"].value_counts() if n else pd.Series(dtype=int)
    pop = [
        {"status": s, "n_individuals": int(c), "share": c / n}
        for s, c in counts.items()
    ]
    multi = int((individuals["n_zones"] > 1).sum()) if n else 0
    pop.append(
        {
            "status": "multiple zones",
            "n_individuals": multi,
            "share": multi / n if n else np.nan,
        }
    )
    pop.append({"status": "total", "n_individuals": n, "share": 1.0 if n else np.nan})
    population = pd.DataFrame(pop)
    logger.info(
        "%d of %d individual(s) detected in more than one zone; %d crossing(s)",
        multi,
        n,
        len(crossings),
    )
    return CrossBorderResult(
        individuals=individuals, crossings=crossings, population=population
    )
