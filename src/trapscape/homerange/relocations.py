"""Relocations of individuals: reading, from a survey's detections, eligibility.

Also the per-relocation effort weights (:func:`station_weights`) and the
input checks shared by the estimators of :mod:`trapscape.homerange`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import validation as V
from ..crs import as_crs, require_projected
from ..errors import ComputationError, InputError, SchemaError

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "DEFAULT_BURST_MINUTES",
    "eligibility",
    "read_relocations",
    "relocations_from_survey",
    "station_weights",
]

logger = logging.getLogger(__name__)

#: Relocations closer in time than this at one station are one detection event.
DEFAULT_BURST_MINUTES = 30.0


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
        from ..effort import station_usage
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
    from ..survey import Survey

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
