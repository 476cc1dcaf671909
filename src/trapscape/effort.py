"""Survey effort: camera operation matrix, trap-nights and effort tables.

The operation matrix follows camtrapR's ``cameraOperation`` semantics
(Niedballa et al. 2016):

* ``NaN`` means *not set up* (no deployment overlaps that day/occasion);
* ``0`` means *set up but not working* (malfunction for the whole day);
* otherwise the value is the time the camera worked in that column, in days.
  For daily columns this is the working fraction of the day, so setup and
  retrieval days count by their time of day (date-only values are stored at
  12:00 by the readers, i.e. half days) and malfunction intervals remove
  exactly their duration.

Everything is computed from interval arithmetic on nanosecond timestamps:
deployments and malfunctions become step functions ("number of cameras
working"), whose overlap with each column is summed.  Nothing loops over
days or minutes, so 400 cameras x 90 days take milliseconds.

"No effort" (``NaN``) and "no detection" (``0``) stay distinct in every
table of this module.

References
----------
Niedballa, J., Sollmann, R., Courtiol, A. & Wilting, A. (2016). camtrapR: an
R package for efficient camera trap data management. *Methods in Ecology and
Evolution* 7, 1457-1462.

Efford, M. G., Borchers, D. L. & Mowat, G. (2013). Varying effort in
capture-recapture studies. *Methods in Ecology and Evolution* 4, 629-636.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from . import validation as V
from .errors import InputError, ProblemCollector, SchemaError, TrapscapeWarning

if TYPE_CHECKING:
    import geopandas as gpd

    from .survey import Survey

__all__ = [
    "EffortReport",
    "Usage",
    "check_sightings_effort",
    "detection_events",
    "effort_report",
    "operation_matrix",
    "station_table",
    "station_usage",
]

logger = logging.getLogger(__name__)

_NS_PER_DAY = 86_400 * 1_000_000_000
_CHUNK_CELLS = 2_000_000  # segments x columns evaluated at once


# --------------------------------------------------------------------------
# helpers: time as int64 nanoseconds
# --------------------------------------------------------------------------
def _ns(values: Any) -> np.ndarray:
    """Naive datetimes (Series/array/scalar) -> int64 nanoseconds."""
    arr = pd.to_datetime(pd.Series(values) if np.ndim(values) else pd.Series([values]))
    return arr.astype("datetime64[ns]").to_numpy().astype("int64")


def _stations_and_problems(
    survey_or_stations: Any, problems: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from .survey import Survey

    if isinstance(survey_or_stations, Survey):
        stations = survey_or_stations.stations
        if problems is None:
            problems = survey_or_stations.problems
    else:
        stations = survey_or_stations
    if problems is None:
        problems = pd.DataFrame(
            {
                V.DEPLOYMENT_ID: pd.Series(dtype="object"),
                V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
                V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]"),
            }
        )
    return stations, problems


def _check_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {what} table lacks column(s) {missing}. Read it with "
            "trapscape.io so that canonical columns are present.",
            column=missing[0],
        )


def _deployment_table(stations: pd.DataFrame) -> pd.DataFrame:
    """Validated deployments with int64 setup/retrieval (``s``, ``e``)."""
    _check_columns(stations, [V.STATION_ID, V.SETUP, V.RETRIEVAL], "stations")
    dep = pd.DataFrame(
        {
            V.STATION_ID: stations[V.STATION_ID].astype(str).to_numpy(),
            V.CAMERA_ID: (
                stations[V.CAMERA_ID].astype(str).to_numpy()
                if V.CAMERA_ID in stations.columns
                else stations[V.STATION_ID].astype(str).to_numpy()
            ),
            V.DEPLOYMENT_ID: (
                stations[V.DEPLOYMENT_ID].astype(str).to_numpy()
                if V.DEPLOYMENT_ID in stations.columns
                else np.array(
                    [f"row {i + 1}" for i in range(len(stations))], dtype=object
                )
            ),
            "row": np.arange(1, len(stations) + 1),
        }
    )
    setup = pd.to_datetime(stations[V.SETUP]).reset_index(drop=True)
    retrieval = pd.to_datetime(stations[V.RETRIEVAL]).reset_index(drop=True)
    pc = ProblemCollector()
    for i in np.flatnonzero(setup.isna().to_numpy() | retrieval.isna().to_numpy()):
        pc.add(
            f"deployment '{dep[V.DEPLOYMENT_ID].iat[i]}' has no setup or retrieval "
            "date. Fill both in.",
            row=int(i) + 1,
            column=V.SETUP if pd.isna(setup.iat[i]) else V.RETRIEVAL,
        )
    pc.raise_if_any()
    dep["s"] = _ns(setup)
    dep["e"] = _ns(retrieval)
    for i in np.flatnonzero(dep["e"].to_numpy() <= dep["s"].to_numpy()):
        pc.add(
            f"deployment '{dep[V.DEPLOYMENT_ID].iat[i]}' is retrieved "
            f"({retrieval.iat[i]}) no later than it is set up ({setup.iat[i]}). "
            "Correct the dates.",
            row=int(i) + 1,
            column=V.RETRIEVAL,
        )
    pc.raise_if_any()
    # overlapping deployments of the same camera
    srt = dep.sort_values([V.STATION_ID, V.CAMERA_ID, "s"], kind="stable")
    same = (srt[V.STATION_ID].to_numpy()[1:] == srt[V.STATION_ID].to_numpy()[:-1]) & (
        srt[V.CAMERA_ID].to_numpy()[1:] == srt[V.CAMERA_ID].to_numpy()[:-1]
    )
    prev_end = (
        srt.groupby([V.STATION_ID, V.CAMERA_ID], sort=False)["e"].cummax().to_numpy()
    )
    overlap = same & (srt["s"].to_numpy()[1:] < prev_end[:-1])
    for k in np.flatnonzero(overlap):
        a, b = srt.iloc[k], srt.iloc[k + 1]
        pc.add(
            f"deployments '{a[V.DEPLOYMENT_ID]}' and '{b[V.DEPLOYMENT_ID]}' of camera "
            f"'{b[V.CAMERA_ID]}' at station '{b[V.STATION_ID]}' overlap in time. "
            "A camera can be deployed only once at a time; correct the setup/"
            "retrieval dates or give the cameras different camera_id values.",
            row=int(b["row"]),
            column=V.SETUP,
        )
    pc.raise_if_any()
    return dep


def _merge_intervals(
    group: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of intervals within each group (vectorised sort-and-sweep)."""
    if len(s) == 0:
        return group, s, e
    order = np.lexsort((s, group))
    g, s, e = group[order], s[order], e[order]
    df = pd.DataFrame({"g": g, "e": e})
    run_end = df.groupby("g", sort=False)["e"].cummax().to_numpy()
    new = np.ones(len(s), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (s[1:] > run_end[:-1])
    np.cumsum(new) - 1
    out_s = s[new]
    out_e = np.maximum.reduceat(e, np.flatnonzero(new))
    return g[new], out_s, out_e


def _problem_table(problems: pd.DataFrame, dep: pd.DataFrame) -> pd.DataFrame:
    """Malfunctions merged and clipped to their deployment, with ``dep`` row index."""
    empty = pd.DataFrame(
        {
            "dep": np.zeros(0, dtype=np.int64),
            "s": np.zeros(0, np.int64),
            "e": np.zeros(0, np.int64),
        }
    )
    if problems is None or len(problems) == 0:
        return empty
    _check_columns(
        problems, [V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO], "problems"
    )
    pid = problems[V.DEPLOYMENT_ID].astype(str).to_numpy()
    pfrom = pd.to_datetime(problems[V.PROBLEM_FROM]).reset_index(drop=True)
    pto = pd.to_datetime(problems[V.PROBLEM_TO]).reset_index(drop=True)
    lookup = pd.Series(np.arange(len(dep)), index=dep[V.DEPLOYMENT_ID].to_numpy())
    if lookup.index.has_duplicates:
        dups = sorted(set(lookup.index[lookup.index.duplicated()]))
        raise InputError(
            f"deployment_id values {dups[:5]} occur more than once in the stations "
            "table, so malfunctions cannot be assigned. Make deployment ids unique.",
            column=V.DEPLOYMENT_ID,
        )
    pc = ProblemCollector()
    for i in range(len(problems)):
        if pid[i] not in lookup.index:
            pc.add(
                f"malfunction of unknown deployment '{pid[i]}'. Use a deployment_id "
                "of the stations table.",
                row=i + 1,
                column=V.DEPLOYMENT_ID,
            )
        elif pd.isna(pfrom.iat[i]) or pd.isna(pto.iat[i]):
            pc.add(
                f"malfunction of deployment '{pid[i]}' lacks a start or end. Fill "
                "both in.",
                row=i + 1,
                column=V.PROBLEM_FROM,
            )
        elif pto.iat[i] <= pfrom.iat[i]:
            pc.add(
                f"malfunction of deployment '{pid[i]}' ends ({pto.iat[i]}) no later "
                f"than it starts ({pfrom.iat[i]}). Correct the dates.",
                row=i + 1,
                column=V.PROBLEM_TO,
            )
    pc.raise_if_any()
    d = lookup.loc[pid].to_numpy()
    s, e = _ns(pfrom), _ns(pto)
    ds, de = dep["s"].to_numpy()[d], dep["e"].to_numpy()[d]
    outside = (s < ds) | (e > de)
    if outside.any():
        rows = np.flatnonzero(outside)
        listed = ", ".join(f"row {r + 1} ('{pid[r]}')" for r in rows[:10])
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        warnings.warn(
            f"{len(rows)} malfunction interval(s) reach outside their deployment: "
            f"{listed}{more}. Only the part within the deployment is removed; check "
            "the dates.",
            TrapscapeWarning,
            stacklevel=3,
        )
    s, e = np.maximum(s, ds), np.minimum(e, de)
    keep = e > s
    g, s, e = _merge_intervals(d[keep].astype(np.int64), s[keep], e[keep])
    return pd.DataFrame({"dep": g, "s": s, "e": e})


def _step_segments(
    key: np.ndarray, t: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Piecewise-constant counts from +/- events per key.

    Returns ``key, start, end, count`` of the segments between consecutive
    events of the same key (count = running sum of ``delta``).
    """
    order = np.lexsort((delta, t, key))  # at equal times apply -1 before +1
    k, t, d = key[order], t[order], delta[order]
    c = pd.Series(d).groupby(k).cumsum().to_numpy()
    same = k[1:] == k[:-1]
    seg_k, seg_s, seg_e, seg_c = k[:-1][same], t[:-1][same], t[1:][same], c[:-1][same]
    keep = (seg_e > seg_s) & (seg_c != 0)
    return seg_k[keep], seg_s[keep], seg_e[keep], seg_c[keep]


def _overlap_matrix(
    n_rows: int,
    key: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    w: np.ndarray,
    edges: np.ndarray,
) -> np.ndarray:
    """``out[r, k] = sum_i w_i * |[s_i, e_i) & [edges_k, edges_k+1)|`` in ns."""
    n_col = len(edges) - 1
    out = np.zeros((n_rows, n_col), dtype=np.float64)
    if len(s) == 0 or n_col == 0:
        return out
    a, b = edges[:-1][None, :], edges[1:][None, :]
    step = max(1, _CHUNK_CELLS // max(n_col, 1))
    for i in range(0, len(s), step):
        sl = slice(i, i + step)
        ov = np.minimum(e[sl, None], b) - np.maximum(s[sl, None], a)
        ov = np.clip(ov, 0, None).astype(np.float64) * w[sl, None]
        np.add.at(out, key[sl], ov)
    return out


def _column_edges(
    dep: pd.DataFrame, start: Any, end: Any, occasion_days: float
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    if not (occasion_days and occasion_days > 0):
        raise InputError(f"occasion_days must be positive, got {occasion_days!r}.")
    if start is None:
        t0 = pd.Timestamp(int(dep["s"].min())).floor("D")
    else:
        t0 = pd.Timestamp(start).floor("D")
    if end is None:
        t1 = pd.Timestamp(int(dep["e"].max()) - 1).floor("D")  # last day with effort
    else:
        t1 = pd.Timestamp(end).floor("D")
    if t1 < t0:
        raise InputError(
            f"end ({t1.date()}) is before start ({t0.date()}). "
            "Give end on or after start."
        )
    step = round(occasion_days * _NS_PER_DAY)
    span = (t1 - t0).value + _NS_PER_DAY
    n = int(-(-span // step))
    edges = t0.as_unit("ns").value + step * np.arange(n + 1, dtype=np.int64)
    cols = pd.DatetimeIndex(
        pd.to_datetime(edges[:-1]).as_unit("ns"),
        name="day" if occasion_days == 1 else "occasion_start",
    )
    return edges, cols


# --------------------------------------------------------------------------
# operation matrix
# --------------------------------------------------------------------------
def _matrix_rows(dep: pd.DataFrame, by: str) -> tuple[pd.Index, np.ndarray]:
    """Row keys of the operation matrix (cameras or stations, sorted) and the
    row of each deployment."""
    keys: pd.Index
    if by == "camera":
        keys = pd.MultiIndex.from_frame(
            dep[[V.STATION_ID, V.CAMERA_ID]]
            .drop_duplicates()
            .sort_values([V.STATION_ID, V.CAMERA_ID])
        )
        row_of_dep = keys.get_indexer(
            pd.MultiIndex.from_frame(dep[[V.STATION_ID, V.CAMERA_ID]])
        )
    else:
        keys = pd.Index(np.sort(dep[V.STATION_ID].unique()), name=V.STATION_ID)
        row_of_dep = keys.get_indexer(dep[V.STATION_ID])
    row_of_dep = row_of_dep.astype(np.int64)
    return keys, row_of_dep


def _setup_time(
    n: int, row_of_dep: np.ndarray, ds: np.ndarray, de: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Time each row had at least one deployment set up, per column (ns)."""
    k, s, e, c = _step_segments(
        np.concatenate([row_of_dep, row_of_dep]),
        np.concatenate([ds, de]),
        np.concatenate([np.ones(len(ds), np.int64), -np.ones(len(ds), np.int64)]),
    )
    return _overlap_matrix(n, k, s, e, (c > 0).astype(np.float64), edges)


def _working_days(
    n: int,
    row_of_dep: np.ndarray,
    ds: np.ndarray,
    de: np.ndarray,
    prob: pd.DataFrame,
    edges: np.ndarray,
    *,
    count_cameras: bool,
) -> np.ndarray:
    """Days each row had a working camera (or, counting, camera-days) per column."""
    pr = row_of_dep[prob["dep"].to_numpy()] if len(prob) else np.zeros(0, np.int64)
    ps, pe = prob["s"].to_numpy(), prob["e"].to_numpy()
    k, s, e, c = _step_segments(
        np.concatenate([row_of_dep, row_of_dep, pr, pr]),
        np.concatenate([ds, de, ps, pe]),
        np.concatenate(
            [
                np.ones(len(ds), np.int64),
                -np.ones(len(ds), np.int64),
                -np.ones(len(ps), np.int64),
                np.ones(len(ps), np.int64),
            ]
        ),
    )
    weight = c.astype(np.float64) if count_cameras else ((c > 0).astype(np.float64))
    return _overlap_matrix(n, k, s, e, weight, edges) / _NS_PER_DAY


def operation_matrix(
    survey_or_stations: Survey | pd.DataFrame,
    problems: pd.DataFrame | None = None,
    *,
    by: Literal["camera", "station"] = "camera",
    count_cameras: bool = False,
    start: Any = None,
    end: Any = None,
    occasion_days: float = 1.0,
) -> pd.DataFrame:
    """Camera (or station) operation matrix: days of operation per day/occasion.

    Parameters
    ----------
    survey_or_stations
        A :class:`~trapscape.survey.Survey`, or a stations table with the
        canonical columns (one row per camera deployment).
    problems
        Malfunction intervals (``deployment_id, problem_from, problem_to``).
        Default: ``survey.problems`` (none for a bare stations table).
    by
        ``"camera"``: one row per camera, indexed by ``(station_id,
        camera_id)`` (successive deployments of one camera share a row).
        ``"station"``: one row per station.
    count_cameras
        Only for ``by="station"``. ``False`` (default): the time during which
        at least one camera of the station worked (the SCR usage convention of
        :mod:`trapscape.detection`). ``True``: the sum over cameras, so two
        cameras working all day give 2 trap-nights.
    start, end
        First and last calendar day of the columns (anything
        :class:`pandas.Timestamp` accepts). Default: first setup day and last
        day with effort.
    occasion_days
        Column length in days. With 1 (default) the columns are calendar days
        (midnight timestamps); otherwise occasions of this length starting at
        ``start`` (the last one may be shorter).

    Returns
    -------
    pandas.DataFrame
        Rows = cameras or stations; columns = day / occasion start
        (``DatetimeIndex``). ``NaN``: not set up in that column; ``0``: set up
        but not working; else days worked in the column (for daily columns the
        working fraction of the day). Row sums are trap-nights.

    Raises
    ------
    InputError
        Missing or reversed dates, overlapping deployments of one camera,
        malfunctions of unknown deployments. A malfunction reaching outside
        its deployment gives a :class:`~trapscape.errors.TrapscapeWarning`
        and is clipped.

    References
    ----------
    Niedballa et al. (2016), camtrapR ``cameraOperation``.

    Examples
    --------
    One camera set up at noon on 1 June and retrieved at midnight ending
    11 June works half of its first day and nine whole days:

    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import Point
    >>> cams = gpd.GeoDataFrame(
    ...     {"station_id": ["S1"], "camera_id": ["a"], "deployment_id": ["S1/a"],
    ...      "setup": [pd.Timestamp("2024-06-01 12:00")],
    ...      "retrieval": [pd.Timestamp("2024-06-11 00:00")]},
    ...     geometry=[Point(500000, 4760000)], crs="EPSG:32652")
    >>> m = operation_matrix(cams, by="camera")
    >>> float(m.loc[("S1", "a")].sum()), float(m.iloc[0, 0])
    (9.5, 0.5)
    """
    if by not in ("camera", "station"):
        raise InputError(f"by must be 'camera' or 'station', got {by!r}.")
    stations, problems = _stations_and_problems(survey_or_stations, problems)
    dep = _deployment_table(stations)
    if len(dep) == 0:
        raise InputError("The stations table is empty; there is no effort to compute.")
    prob = _problem_table(problems, dep)
    edges, cols = _column_edges(dep, start, end, occasion_days)

    keys, row_of_dep = _matrix_rows(dep, by)
    n = len(keys)
    ds, de = dep["s"].to_numpy(), dep["e"].to_numpy()

    # set-up time per column (union of deployments) -> NaN mask
    setup_time = _setup_time(n, row_of_dep, ds, de, edges)

    # working cameras: +1/-1 per deployment, -1/+1 per (merged) malfunction
    counts = by == "station" and count_cameras
    work = _working_days(n, row_of_dep, ds, de, prob, edges, count_cameras=counts)
    work[setup_time <= 0] = np.nan
    out = pd.DataFrame(work, index=keys, columns=cols)
    logger.info(
        "Operation matrix: %d %ss x %d columns, %.1f trap-nights",
        n,
        by,
        len(cols),
        float(np.nansum(work)),
    )
    return out


# --------------------------------------------------------------------------
# usage for SCR / pdot
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    """Station usage per occasion, in days (the SCR detector convention).

    Attributes
    ----------
    station_ids
        Station ids, length J (sorted).
    xy
        ``(J, 2)`` station coordinates in the survey CRS (metres).
    usage
        ``(J, K)`` days during which at least one camera of the station worked
        in each occasion (0 where not set up or not working).
    occasion_starts
        Start of each occasion (``DatetimeIndex`` of length K).
    """

    station_ids: np.ndarray
    xy: np.ndarray
    usage: np.ndarray
    occasion_starts: pd.DatetimeIndex

    @property
    def total_days(self) -> np.ndarray:
        """Usage summed over occasions, ``(J,)`` days."""
        return self.usage.sum(axis=1)


def station_usage(survey: Survey, *, occasion_days: float = 1.0) -> Usage:
    """Usage matrix of each station (cameras pooled), for SCR, planning and pdot.

    Parameters
    ----------
    survey
        The survey.
    occasion_days
        Occasion length in days.

    Returns
    -------
    Usage
        Stations sorted by id, usage in days (``NaN`` "not set up" becomes 0).

    References
    ----------
    Efford, Borchers & Mowat (2013), varying effort in capture-recapture.
    """
    m = operation_matrix(
        survey, by="station", count_cameras=False, occasion_days=occasion_days
    )
    pts = survey.station_points.set_index(V.STATION_ID)
    pts = pts.loc[m.index]
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    return Usage(
        station_ids=m.index.to_numpy().astype(str),
        xy=xy.astype(np.float64),
        usage=np.nan_to_num(m.to_numpy(dtype=np.float64), nan=0.0),
        occasion_starts=pd.DatetimeIndex(m.columns),
    )


# --------------------------------------------------------------------------
# sightings: photos, independent detections, consistency with effort
# --------------------------------------------------------------------------
def detection_events(
    sightings: pd.DataFrame, *, independence_minutes: float = 30.0
) -> pd.Series:
    """Flag the sightings that start a new independent detection event.

    Records of the same animal (its ``individual_id``, or its species when it
    is unidentified) at the same station less than ``independence_minutes``
    after the previous record are one event (camtrapR's ``minDeltaTime``,
    compared with the last record).

    Parameters
    ----------
    sightings
        Canonical sightings table.
    independence_minutes
        Minimum gap between two independent events, minutes (0: every
        record is an event).

    Returns
    -------
    pandas.Series
        Boolean, same index as ``sightings``, named ``new_event``.
    """
    _check_columns(sightings, [V.STATION_ID, V.TIMESTAMP], "sightings")
    if len(sightings) == 0:
        return pd.Series(
            np.zeros(0, dtype=bool), index=sightings.index, name="new_event"
        )
    ind_s = V.individual_ids(sightings)
    spc = (
        sightings[V.SPECIES]
        if V.SPECIES in sightings.columns
        else pd.Series("", index=sightings.index)
    )
    animal = np.where(ind_s.isna(), "?sp:" + spc.astype(str), "id:" + ind_s.astype(str))
    frame = pd.DataFrame(
        {
            "st": sightings[V.STATION_ID].astype(str).to_numpy(),
            "an": animal,
            "t": _ns(sightings[V.TIMESTAMP].reset_index(drop=True)),
        }
    )
    order = np.lexsort(
        (frame["t"].to_numpy(), frame["an"].to_numpy(), frame["st"].to_numpy())
    )
    f = frame.iloc[order]
    new = np.ones(len(f), dtype=bool)
    same = (f["st"].to_numpy()[1:] == f["st"].to_numpy()[:-1]) & (
        f["an"].to_numpy()[1:] == f["an"].to_numpy()[:-1]
    )
    gap = np.diff(f["t"].to_numpy())
    new[1:] = ~same | (gap >= independence_minutes * 60e9)
    out = np.empty(len(f), dtype=bool)
    out[order] = new
    return pd.Series(out, index=sightings.index, name="new_event")


def _photo_keys(sightings: pd.DataFrame) -> pd.Series:
    """One key per photo: media_id where given, else the row itself."""
    rows = pd.Series([f"row:{i}" for i in range(len(sightings))], index=sightings.index)
    if V.MEDIA_ID not in sightings.columns:
        return rows
    media = sightings[V.MEDIA_ID]
    ok = media.notna() & (media.astype(str) != "")
    return ("m:" + media.astype(str)).where(ok, rows)


def check_sightings_effort(survey: Survey) -> pd.DataFrame:
    """Sightings recorded on a day their camera was not set up or not working.

    The check is by calendar day (the operation matrix): a photo taken at
    09:00 on a setup day counts as consistent even when setup was at 12:00.
    When a sighting has no ``camera_id`` its station is checked instead.

    Returns
    -------
    pandas.DataFrame
        ``row`` (1-based row of the sightings table), ``station_id``,
        ``camera_id``, ``timestamp`` and ``reason`` (``"unknown station"``,
        ``"not set up"`` or ``"not working"``); empty when all is well.
    """
    if len(survey.sightings) == 0:
        return _check_sightings_effort(survey, None, None)
    return _check_sightings_effort(
        survey,
        operation_matrix(survey, by="camera"),
        operation_matrix(survey, by="station"),
    )


def _check_sightings_effort(
    survey: Survey, cam: pd.DataFrame | None, sta: pd.DataFrame | None
) -> pd.DataFrame:
    """:func:`check_sightings_effort` on given camera and station matrices.

    ``sta`` may count cameras (``count_cameras=True``): the check only asks
    whether a day is missing (NaN) or has no working camera (<= 0), which
    counting does not change.
    """
    si = survey.sightings
    cols = ["row", V.STATION_ID, V.CAMERA_ID, V.TIMESTAMP, "reason"]
    if len(si) == 0:
        return pd.DataFrame(columns=cols)
    assert cam is not None and sta is not None
    day = pd.to_datetime(si[V.TIMESTAMP]).dt.floor("D").astype("datetime64[ns]")
    st_ids = si[V.STATION_ID].astype(str)
    cam_ids = (
        si[V.CAMERA_ID]
        if V.CAMERA_ID in si.columns
        else pd.Series(pd.NA, index=si.index)
    )
    has_cam = cam_ids.notna().to_numpy()
    cam_ids = cam_ids.astype("object").where(cam_ids.notna(), "").astype(str)
    value = np.full(len(si), np.nan)
    known = np.zeros(len(si), dtype=bool)
    # camera-level lookup
    r = cam.index.get_indexer(pd.MultiIndex.from_arrays([st_ids, cam_ids]))
    c = cam.columns.get_indexer(pd.DatetimeIndex(day))
    ok = has_cam & (r >= 0)
    hit = ok & (c >= 0)
    value[hit] = cam.to_numpy()[r[hit], c[hit]]
    known |= ok
    # station-level lookup for the rest
    rs = sta.index.get_indexer(st_ids)
    cs = sta.columns.get_indexer(pd.DatetimeIndex(day))
    use = ~ok & (rs >= 0)
    hit = use & (cs >= 0)
    value[hit] = sta.to_numpy()[rs[hit], cs[hit]]
    known |= use
    unknown_station = rs < 0
    reason = np.where(
        unknown_station,
        "unknown station",
        np.where(
            np.isnan(value), "not set up", np.where(value <= 0, "not working", "")
        ),
    )
    bad = reason != ""
    out = pd.DataFrame(
        {
            "row": np.flatnonzero(bad) + 1,
            V.STATION_ID: st_ids.to_numpy()[bad],
            V.CAMERA_ID: np.where(has_cam, cam_ids.to_numpy(), None)[bad],
            V.TIMESTAMP: pd.to_datetime(si[V.TIMESTAMP]).to_numpy()[bad],
            "reason": reason[bad],
        }
    )
    return out


def _warn_sightings(bad: pd.DataFrame, stacklevel: int) -> None:
    if len(bad) == 0:
        return
    listed = "; ".join(
        f"row {r.row} ({r.station_id}/{r.camera_id or '-'} {r.timestamp}: {r.reason})"
        for r in bad.head(10).itertuples()
    )
    more = f"; and {len(bad) - 10} more" if len(bad) > 10 else ""
    warnings.warn(
        f"{len(bad)} sighting(s) fall on days without effort at their camera: "
        f"{listed}{more}. Check the sightings' station/camera ids and timestamps, "
        "or the deployment and malfunction dates.",
        TrapscapeWarning,
        stacklevel=stacklevel,
    )


# --------------------------------------------------------------------------
# effort report
# --------------------------------------------------------------------------
_ZONE_NONE = "(outside zones)"


@dataclass(frozen=True)
class EffortReport:
    """Effort and detections per camera, station, zone and in total.

    ``trap_nights`` is ``0`` only for cameras that were set up but never
    worked; ``detection_rate_per_100`` (detections per 100 trap-nights) is
    ``NaN`` where there was no effort, so "no effort" and "no detection" stay
    distinct.

    Attributes
    ----------
    per_camera
        ``station_id, camera_id, deployments, first_day, last_day,
        days_set_up, operating_days, trap_nights``.
    per_station
        ``station_id, zone, x, y, cameras, first_day, last_day,
        operating_days, trap_nights, detections, photos, individuals,
        detection_rate_per_100``.
    per_zone
        ``zone, stations, cameras, trap_nights, detections, photos,
        individuals, detection_rate_per_100`` (empty without zones).
    total
        One row with the same columns as ``per_zone`` (``zone = "total"``)
        plus ``first_day, last_day``.
    """

    per_camera: pd.DataFrame
    per_station: pd.DataFrame
    per_zone: pd.DataFrame
    total: pd.DataFrame

    def to_csv(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write ``effort_per_{camera,station,zone}.csv`` and ``effort_total.csv``.

        Returns the written paths. The directory must exist.
        """
        d = Path(directory)
        out = []
        for name in ("per_camera", "per_station", "per_zone", "total"):
            path = d / (f"effort_{name}.csv")
            getattr(self, name).to_csv(path, index=False)
            out.append(path)
        return out


def _rate(detections: pd.Series, trap_nights: pd.Series) -> pd.Series:
    tn = trap_nights.astype(float)
    return (100.0 * detections.astype(float) / tn.where(tn > 0)).rename(
        "detection_rate_per_100"
    )


def _station_detections(
    sightings: pd.DataFrame, *, independence_minutes: float
) -> pd.DataFrame:
    """detections, photos, individuals per station id."""
    cols = ["detections", "photos", "individuals"]
    if len(sightings) == 0:
        return pd.DataFrame(columns=cols, dtype="int64")
    ev = detection_events(sightings, independence_minutes=independence_minutes)
    frame = pd.DataFrame(
        {
            V.STATION_ID: sightings[V.STATION_ID].astype(str).to_numpy(),
            "ev": ev.to_numpy(),
            "photo": _photo_keys(sightings).to_numpy(),
            "ind": V.individual_ids(sightings).to_numpy(),
        }
    )
    g = frame.groupby(V.STATION_ID)
    return pd.DataFrame(
        {
            "detections": g["ev"].sum().astype("int64"),
            "photos": g["photo"].nunique().astype("int64"),
            "individuals": g["ind"].nunique().astype("int64"),
        }
    )


def _aggregate(
    per_station: pd.DataFrame,
    sightings: pd.DataFrame,
    cameras: pd.Series,
    key: pd.Series,
) -> pd.DataFrame:
    """Sum station rows by ``key`` (zone), counting distinct photos/individuals."""
    st = per_station.assign(_key=key.to_numpy())
    g = st.groupby("_key", sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "stations": g[V.STATION_ID].nunique(),
            "cameras": g["cameras"].sum(),
            "trap_nights": g["trap_nights"].sum(min_count=1),
            "detections": g["detections"].sum(),
        }
    )
    key_of_station = pd.Series(
        key.to_numpy(), index=per_station[V.STATION_ID].to_numpy()
    )
    if len(sightings):
        sk = key_of_station.reindex(sightings[V.STATION_ID].astype(str)).to_numpy()
        f = pd.DataFrame(
            {
                "_key": sk,
                "photo": _photo_keys(sightings).to_numpy(),
                "ind": V.individual_ids(sightings).to_numpy(),
            }
        )
        gs = f.groupby("_key", dropna=False)
        out["photos"] = (
            gs["photo"].nunique().reindex(out.index).fillna(0).astype("int64")
        )
        out["individuals"] = (
            gs["ind"].nunique().reindex(out.index).fillna(0).astype("int64")
        )
    else:
        out["photos"] = 0
        out["individuals"] = 0
    out["detection_rate_per_100"] = _rate(out["detections"], out["trap_nights"])
    return out.reset_index(names="zone")


def _first_last(m: pd.DataFrame, day_index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """First and last day each row was set up (NaT/NaN when never)."""
    setup = m.notna().to_numpy()
    first = np.where(setup.any(1), setup.argmax(1), -1)
    last = np.where(setup.any(1), setup.shape[1] - 1 - setup[:, ::-1].argmax(1), -1)
    return (
        pd.Series(day_index[first].where(first >= 0), index=m.index),
        pd.Series(day_index[last].where(last >= 0), index=m.index),
    )


def _per_station_table(
    survey: Survey,
    sta: pd.DataFrame,
    si: pd.DataFrame,
    day_index: pd.Index,
    *,
    zones: bool,
    independence_minutes: float,
) -> pd.DataFrame:
    """Effort and detections per station (``EffortReport.per_station``)."""
    pts = survey.station_points.set_index(V.STATION_ID).loc[sta.index]
    fs, ls = _first_last(sta, day_index)
    det = _station_detections(si, independence_minutes=independence_minutes)
    det = det.reindex(sta.index).fillna(0).astype("int64")
    zone = (
        survey.zone_of(pts.geometry).fillna(_ZONE_NONE)
        if zones and survey.zones is not None and len(survey.zones)
        else pd.Series(pd.NA, index=pts.index, dtype="object")
    )
    per_station = pd.DataFrame(
        {
            V.STATION_ID: sta.index.to_numpy(),
            V.ZONE: zone.to_numpy(),
            "x": pts.geometry.x.to_numpy(),
            "y": pts.geometry.y.to_numpy(),
            "cameras": pts["n_cameras"].to_numpy(),
            "first_day": fs.to_numpy(),
            "last_day": ls.to_numpy(),
            "operating_days": (sta > 0).sum(axis=1).to_numpy(),
            "trap_nights": sta.sum(axis=1, min_count=1).fillna(0.0).to_numpy(),
            "detections": det["detections"].to_numpy(),
            "photos": det["photos"].to_numpy(),
            "individuals": det["individuals"].to_numpy(),
        }
    )
    per_station["detection_rate_per_100"] = _rate(
        per_station["detections"], per_station["trap_nights"]
    ).to_numpy()
    return per_station


def effort_report(
    survey: Survey,
    *,
    count_cameras: bool = False,
    zones: bool = True,
    independence_minutes: float = 30.0,
) -> EffortReport:
    """Trap-nights, detections, photos and individuals per camera, station and zone.

    Parameters
    ----------
    survey
        The survey (its sightings as given: subset a species first with
        :meth:`~trapscape.survey.Survey.species_subset` if needed).
    count_cameras
        Station trap-nights count every working camera (two cameras = 2
        trap-nights per day) instead of days with at least one working camera.
    zones
        Summarise by ``survey.zones`` (countries); the zone of a station is
        the zone containing its point (:meth:`~trapscape.survey.Survey.zone_of`).
    independence_minutes
        Records of the same animal at a station closer in time than this are
        one detection (see :func:`detection_events`).

    Returns
    -------
    EffortReport

    Warns
    -----
    TrapscapeWarning
        When sightings fall on days their camera was not set up or not
        working, or at unknown stations (those are left out of the counts).

    References
    ----------
    Niedballa et al. (2016), camtrapR ``cameraOperation`` and
    ``surveyReport``.
    """
    cam = operation_matrix(survey, by="camera")
    sta = operation_matrix(survey, by="station", count_cameras=count_cameras)
    day_index = cam.columns
    f, la = _first_last(cam, day_index)
    deployments = survey.stations.groupby(
        [
            survey.stations[V.STATION_ID].astype(str),
            survey.stations[V.CAMERA_ID].astype(str),
        ]
    ).size()
    per_camera = pd.DataFrame(
        {
            "deployments": deployments.reindex(cam.index).to_numpy(),
            "first_day": f.to_numpy(),
            "last_day": la.to_numpy(),
            "days_set_up": cam.notna().sum(axis=1).to_numpy(),
            "operating_days": (cam > 0).sum(axis=1).to_numpy(),
            "trap_nights": cam.sum(axis=1, min_count=1).fillna(0.0).to_numpy(),
        },
        index=cam.index,
    ).reset_index()

    bad = _check_sightings_effort(survey, cam, sta)
    _warn_sightings(bad, stacklevel=3)
    si = survey.sightings
    unknown = set(bad.loc[bad["reason"] == "unknown station", V.STATION_ID])
    if unknown:
        si = si[~si[V.STATION_ID].astype(str).isin(unknown)]

    per_station = _per_station_table(
        survey,
        sta,
        si,
        day_index,
        zones=zones,
        independence_minutes=independence_minutes,
    )

    if zones and survey.zones is not None and len(survey.zones):
        per_zone = _aggregate(
            per_station, si, per_station["cameras"], per_station[V.ZONE]
        )
    else:
        per_zone = pd.DataFrame(
            columns=[
                "zone",
                "stations",
                "cameras",
                "trap_nights",
                "detections",
                "photos",
                "individuals",
                "detection_rate_per_100",
            ]
        )
    total = _aggregate(
        per_station,
        si,
        per_station["cameras"],
        pd.Series("total", index=per_station.index),
    )
    total["first_day"] = per_camera["first_day"].min()
    total["last_day"] = per_camera["last_day"].max()
    logger.info(
        "Effort: %d cameras, %d stations, %.1f trap-nights, %d detections",
        len(per_camera),
        len(per_station),
        float(total["trap_nights"].iat[0]),
        int(total["detections"].iat[0]),
    )
    return EffortReport(
        per_camera=per_camera, per_station=per_station, per_zone=per_zone, total=total
    )


def station_table(
    survey: Survey, report: EffortReport | None = None
) -> gpd.GeoDataFrame:
    """One point per station with its effort and detections: the stations layer.

    Every stations layer (``trapscape run``, ``coverage`` and ``map``) is
    built here, so they agree.

    Parameters
    ----------
    survey
        The survey (subset to the target species first).
    report
        Its :class:`~trapscape.effort.EffortReport`; computed with
        :func:`trapscape.effort.effort_report` (default options) if ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``n_cameras``, geometry, then the columns of
        ``report.per_station`` (``zone``, ``first_day``, ``last_day``,
        ``operating_days``, ``trap_nights``, ``detections`` = independent
        detection events, ``photos``, ``individuals`` = distinct identified
        animals, ``detection_rate_per_100``).  Stations missing from the
        report get 0 detections/photos/individuals and 0 trap-nights.
    """
    import geopandas as gpd

    if report is None:
        report = effort_report(survey)
    pts = survey.station_points[[V.STATION_ID, "n_cameras", "geometry"]].copy()
    per = pd.DataFrame(report.per_station)
    if per.index.name is not None or isinstance(per.index, pd.MultiIndex):
        per = per.reset_index()
    per = per.drop(columns=["x", "y", "cameras"], errors="ignore")
    per[V.STATION_ID] = per[V.STATION_ID].astype(str)
    pts[V.STATION_ID] = pts[V.STATION_ID].astype(str)
    out = pts.merge(per, on=V.STATION_ID, how="left")
    for col in ("detections", "photos", "individuals"):
        if col in out.columns:
            out[col] = out[col].fillna(0).astype("int64")
    if "trap_nights" in out.columns:
        out["trap_nights"] = out["trap_nights"].fillna(0.0).astype(float)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=survey.crs)
