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
    from .survey import Survey

__all__ = [
    "Usage",
    "operation_matrix",
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
            {V.DEPLOYMENT_ID: pd.Series(dtype="object"),
             V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
             V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]")}
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
    dep = pd.DataFrame({
        V.STATION_ID: stations[V.STATION_ID].astype(str).to_numpy(),
        V.CAMERA_ID: (
            stations[V.CAMERA_ID].astype(str).to_numpy()
            if V.CAMERA_ID in stations.columns
            else stations[V.STATION_ID].astype(str).to_numpy()
        ),
        V.DEPLOYMENT_ID: (
            stations[V.DEPLOYMENT_ID].astype(str).to_numpy()
            if V.DEPLOYMENT_ID in stations.columns
            else np.array([f"row {i + 1}" for i in range(len(stations))], dtype=object)
        ),
        "row": np.arange(1, len(stations) + 1),
    })
    setup = pd.to_datetime(stations[V.SETUP]).reset_index(drop=True)
    retrieval = pd.to_datetime(stations[V.RETRIEVAL]).reset_index(drop=True)
    pc = ProblemCollector()
    for i in np.flatnonzero(setup.isna().to_numpy() | retrieval.isna().to_numpy()):
        pc.add(f"deployment '{dep[V.DEPLOYMENT_ID].iat[i]}' has no setup or retrieval "
               "date. Fill both in.", row=int(i) + 1,
               column=V.SETUP if pd.isna(setup.iat[i]) else V.RETRIEVAL)
    pc.raise_if_any()
    dep["s"] = _ns(setup)
    dep["e"] = _ns(retrieval)
    for i in np.flatnonzero(dep["e"].to_numpy() <= dep["s"].to_numpy()):
        pc.add(f"deployment '{dep[V.DEPLOYMENT_ID].iat[i]}' is retrieved "
               f"({retrieval.iat[i]}) no later than it is set up ({setup.iat[i]}). "
               "Correct the dates.", row=int(i) + 1, column=V.RETRIEVAL)
    pc.raise_if_any()
    # overlapping deployments of the same camera
    srt = dep.sort_values([V.STATION_ID, V.CAMERA_ID, "s"], kind="stable")
    same = (srt[V.STATION_ID].to_numpy()[1:] == srt[V.STATION_ID].to_numpy()[:-1]) & (
        srt[V.CAMERA_ID].to_numpy()[1:] == srt[V.CAMERA_ID].to_numpy()[:-1])
    prev_end = srt.groupby([V.STATION_ID, V.CAMERA_ID], sort=False)["e"].cummax().to_numpy()
    overlap = same & (srt["s"].to_numpy()[1:] < prev_end[:-1])
    for k in np.flatnonzero(overlap):
        a, b = srt.iloc[k], srt.iloc[k + 1]
        pc.add(f"deployments '{a[V.DEPLOYMENT_ID]}' and '{b[V.DEPLOYMENT_ID]}' of camera "
               f"'{b[V.CAMERA_ID]}' at station '{b[V.STATION_ID]}' overlap in time. "
               "A camera can be deployed only once at a time; correct the setup/"
               "retrieval dates or give the cameras different camera_id values.",
               row=int(b["row"]), column=V.SETUP)
    pc.raise_if_any()
    return dep


def _merge_intervals(group: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Union of intervals within each group (vectorised sort-and-sweep)."""
    if len(s) == 0:
        return group, s, e
    order = np.lexsort((s, group))
    g, s, e = group[order], s[order], e[order]
    df = pd.DataFrame({"g": g, "e": e})
    run_end = df.groupby("g", sort=False)["e"].cummax().to_numpy()
    new = np.ones(len(s), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (s[1:] > run_end[:-1])
    block = np.cumsum(new) - 1
    out_s = s[new]
    out_e = np.maximum.reduceat(e, np.flatnonzero(new))
    return g[new], out_s, out_e


def _problem_table(problems: pd.DataFrame, dep: pd.DataFrame) -> pd.DataFrame:
    """Malfunctions merged and clipped to their deployment, with ``dep`` row index."""
    empty = pd.DataFrame({"dep": np.zeros(0, dtype=np.int64), "s": np.zeros(0, np.int64),
                          "e": np.zeros(0, np.int64)})
    if problems is None or len(problems) == 0:
        return empty
    _check_columns(problems, [V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO], "problems")
    pid = problems[V.DEPLOYMENT_ID].astype(str).to_numpy()
    pfrom = pd.to_datetime(problems[V.PROBLEM_FROM]).reset_index(drop=True)
    pto = pd.to_datetime(problems[V.PROBLEM_TO]).reset_index(drop=True)
    lookup = pd.Series(np.arange(len(dep)), index=dep[V.DEPLOYMENT_ID].to_numpy())
    if lookup.index.has_duplicates:
        dups = sorted(set(lookup.index[lookup.index.duplicated()]))
        raise InputError(
            f"deployment_id values {dups[:5]} occur more than once in the stations "
            "table, so malfunctions cannot be assigned. Make deployment ids unique.",
            column=V.DEPLOYMENT_ID)
    pc = ProblemCollector()
    for i in range(len(problems)):
        if pid[i] not in lookup.index:
            pc.add(f"malfunction of unknown deployment '{pid[i]}'. Use a deployment_id "
                   "of the stations table.", row=i + 1, column=V.DEPLOYMENT_ID)
        elif pd.isna(pfrom.iat[i]) or pd.isna(pto.iat[i]):
            pc.add(f"malfunction of deployment '{pid[i]}' lacks a start or end. Fill "
                   "both in.", row=i + 1, column=V.PROBLEM_FROM)
        elif pto.iat[i] <= pfrom.iat[i]:
            pc.add(f"malfunction of deployment '{pid[i]}' ends ({pto.iat[i]}) no later "
                   f"than it starts ({pfrom.iat[i]}). Correct the dates.",
                   row=i + 1, column=V.PROBLEM_TO)
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
            "the dates.", TrapscapeWarning, stacklevel=4)
    s, e = np.maximum(s, ds), np.minimum(e, de)
    keep = e > s
    g, s, e = _merge_intervals(d[keep].astype(np.int64), s[keep], e[keep])
    return pd.DataFrame({"dep": g, "s": s, "e": e})


def _step_segments(key: np.ndarray, t: np.ndarray, delta: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def _overlap_matrix(n_rows: int, key: np.ndarray, s: np.ndarray, e: np.ndarray,
                    w: np.ndarray, edges: np.ndarray) -> np.ndarray:
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


def _column_edges(dep: pd.DataFrame, start: Any, end: Any, occasion_days: float
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
        raise InputError(f"end ({t1.date()}) is before start ({t0.date()}). "
                         "Give end on or after start.")
    step = round(occasion_days * _NS_PER_DAY)
    span = (t1 - t0).value + _NS_PER_DAY
    n = int(-(-span // step))
    edges = t0.as_unit("ns").value + step * np.arange(n + 1, dtype=np.int64)
    cols = pd.DatetimeIndex(pd.to_datetime(edges[:-1]).as_unit("ns"),
                            name="day" if occasion_days == 1 else "occasion_start")
    return edges, cols


# --------------------------------------------------------------------------
# operation matrix
# --------------------------------------------------------------------------
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
    >>> m = operation_matrix(tiny, by="camera")          # doctest: +SKIP
    >>> float(m.loc[("S1", "a")].sum())                   # doctest: +SKIP
    10.5
    """
    if by not in ("camera", "station"):
        raise InputError(f"by must be 'camera' or 'station', got {by!r}.")
    stations, problems = _stations_and_problems(survey_or_stations, problems)
    dep = _deployment_table(stations)
    if len(dep) == 0:
        raise InputError("The stations table is empty; there is no effort to compute.")
    prob = _problem_table(problems, dep)
    edges, cols = _column_edges(dep, start, end, occasion_days)

    if by == "camera":
        keys = pd.MultiIndex.from_frame(
            dep[[V.STATION_ID, V.CAMERA_ID]].drop_duplicates().sort_values(
                [V.STATION_ID, V.CAMERA_ID]))
        row_of_dep = keys.get_indexer(pd.MultiIndex.from_frame(dep[[V.STATION_ID,
                                                                    V.CAMERA_ID]]))
    else:
        keys = pd.Index(np.sort(dep[V.STATION_ID].unique()), name=V.STATION_ID)
        row_of_dep = keys.get_indexer(dep[V.STATION_ID])
    row_of_dep = row_of_dep.astype(np.int64)
    n = len(keys)
    ds, de = dep["s"].to_numpy(), dep["e"].to_numpy()

    # set-up time per column (union of deployments) -> NaN mask
    k, s, e, c = _step_segments(
        np.concatenate([row_of_dep, row_of_dep]), np.concatenate([ds, de]),
        np.concatenate([np.ones(len(ds), np.int64), -np.ones(len(ds), np.int64)]))
    setup_time = _overlap_matrix(n, k, s, e, (c > 0).astype(np.float64), edges)

    # working cameras: +1/-1 per deployment, -1/+1 per (merged) malfunction
    pr = row_of_dep[prob["dep"].to_numpy()] if len(prob) else np.zeros(0, np.int64)
    ps, pe = prob["s"].to_numpy(), prob["e"].to_numpy()
    k, s, e, c = _step_segments(
        np.concatenate([row_of_dep, row_of_dep, pr, pr]),
        np.concatenate([ds, de, ps, pe]),
        np.concatenate([np.ones(len(ds), np.int64), -np.ones(len(ds), np.int64),
                        -np.ones(len(ps), np.int64), np.ones(len(ps), np.int64)]))
    weight = c.astype(np.float64) if (by == "station" and count_cameras) else (
        (c > 0).astype(np.float64))
    work = _overlap_matrix(n, k, s, e, weight, edges) / _NS_PER_DAY
    work[setup_time <= 0] = np.nan
    out = pd.DataFrame(work, index=keys, columns=cols)
    logger.info("Operation matrix: %d %ss x %d columns, %.1f trap-nights", n, by,
                len(cols), float(np.nansum(work)))
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
    m = operation_matrix(survey, by="station", count_cameras=False,
                         occasion_days=occasion_days)
    pts = survey.station_points.set_index(V.STATION_ID)
    pts = pts.loc[m.index]
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    return Usage(
        station_ids=m.index.to_numpy().astype(str),
        xy=xy.astype(np.float64),
        usage=np.nan_to_num(m.to_numpy(dtype=np.float64), nan=0.0),
        occasion_starts=pd.DatetimeIndex(m.columns),
    )
