"""Capture histories from camtrapR record and camera-trap tables.

The record table has ``Station``, ``Species``, ``DateTimeOriginal`` and
``Individual``; the camera-trap table ``Station``, coordinates,
``Setup_date``, ``Retrieval_date`` and optional ``ProblemN_from/_to``.

References
----------
Niedballa, J. et al. (2016) camtrapR: an R package for efficient camera trap
data management. Methods Ecol. Evol. 7, 1457-1462.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import InputError, SchemaError
from .data import CaptureHistory
from .secr import PathLike, _natural_sorted

__all__ = ["read_camtrapr"]


def read_camtrapr(
    records: PathLike | pd.DataFrame,
    camtraps: PathLike | pd.DataFrame,
    *,
    species: str | None = None,
    occasion_days: float = 1.0,
    detector: str = "proximity",
    x_column: str = "utm_x",
    y_column: str = "utm_y",
    station_column: str = "Station",
    individual_column: str = "Individual",
    date_format: str | None = None,
) -> CaptureHistory:
    """Build a capture history from camtrapR tables.

    Parameters
    ----------
    records
        Record table (``Station``, ``Species``, ``DateTimeOriginal``,
        ``Individual``; optional ``Sex``).
    camtraps
        Camera-trap table (``Station``, coordinates, ``Setup_date``,
        ``Retrieval_date``, optional ``Problem1_from``/``Problem1_to``...).
        Date-only values count the setup and retrieval days as half days
        (stored at 12:00, camtrapR's convention); problem periods remove
        whole days (from 00:00 of ``from`` to 24:00 of ``to``).
    species
        Keep only this species.
    occasion_days
        Occasion length; occasions start at 00:00 of the first setup day.
    detector
        ``"proximity"`` or ``"count"``.
    x_column, y_column, station_column, individual_column
        Column names.
    date_format
        ``strftime`` format of the dates when pandas cannot infer it.
    """
    rec = records if isinstance(records, pd.DataFrame) else pd.read_csv(records)
    ct = camtraps if isinstance(camtraps, pd.DataFrame) else pd.read_csv(camtraps)
    _check_columns(
        ct,
        [station_column, x_column, y_column, "Setup_date", "Retrieval_date"],
        "camera-trap table",
    )
    _check_columns(
        rec,
        [station_column, "Species", "DateTimeOriginal", individual_column],
        "record table",
    )
    rec = _identified_records(rec, species, individual_column)
    ct = ct.copy()
    ct["_setup"] = _to_time(ct["Setup_date"], date_format)
    ct["_retr"] = _to_time(ct["Retrieval_date"], date_format)
    stations = list(dict.fromkeys(ct[station_column].astype(str)))
    t0 = ct["_setup"].min().normalize()
    t_end = ct["_retr"].max()
    step = pd.Timedelta(days=occasion_days)
    k = int(np.ceil((t_end - t0) / step))
    edges = np.array([(t0 + q * step).value for q in range(k + 1)], dtype=np.int64)
    usage = np.zeros((len(stations), k))
    day_ns = pd.Timedelta(days=1).value
    for j, st in enumerate(stations):
        rows = ct[ct[station_column].astype(str) == st]
        for a, b in _merged(_operating_intervals(rows, date_format)):
            lo = np.maximum(edges[:-1], a)
            hi = np.minimum(edges[1:], b)
            usage[j] += np.clip(hi - lo, 0, None) / day_ns
    xy = (
        ct.groupby(ct[station_column].astype(str))[[x_column, y_column]]
        .first()
        .loc[stations]
        .to_numpy(dtype=np.float64)
    )
    ids = _natural_sorted(set(rec[individual_column].astype(str)))
    times = pd.to_datetime(rec["DateTimeOriginal"].astype(str))
    kk = np.floor((times - t0) / step).astype(int).to_numpy()
    caps = _captures(
        rec[station_column].astype(str),
        rec[individual_column].astype(str),
        kk,
        ids=ids,
        stations=stations,
        usage=usage,
    )
    if detector == "proximity":
        caps = np.minimum(caps, 1)
    sex = None
    if "Sex" in rec.columns:
        sx = rec.groupby(rec[individual_column].astype(str))["Sex"].agg(
            lambda s: s.dropna().astype(str).mode().iloc[0] if s.notna().any() else None
        )
        sex = tuple(sx.get(i) for i in ids)
    keep = caps.sum(axis=(1, 2)) > 0
    return CaptureHistory(
        xy,
        usage,
        caps[keep],
        detector=detector,  # type: ignore[arg-type]
        individual_ids=tuple(np.array(ids, dtype=object)[keep]),
        trap_ids=tuple(stations),
        sex=tuple(np.array(sex, dtype=object)[keep]) if sex else None,
        occasion_days=occasion_days,
    )


def _check_columns(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {what} lacks column(s) {missing}; it has {list(frame.columns)}."
        )


def _identified_records(
    rec: pd.DataFrame, species: str | None, individual_column: str
) -> pd.DataFrame:
    """Records of one species with an individual identity."""
    if species is not None:
        rec = rec[rec["Species"] == species]
    elif rec["Species"].nunique() > 1:
        raise InputError(
            f"The record table holds several species "
            f"({sorted(map(str, rec['Species'].unique()))}); choose one with "
            "species=."
        )
    named = V.individual_ids(pd.DataFrame({V.INDIVIDUAL_ID: rec[individual_column]}))
    return rec[named.notna().to_numpy()]


def _to_time(
    s: pd.Series,
    date_format: str | None,
    *,
    end_of_day: bool = False,
    noon: bool = True,
) -> pd.Series:
    """Times of camtrapR dates: a date alone is 12:00 (``noon``) or 24:00."""
    t = pd.to_datetime(s.astype(str), format=date_format)
    dated = t == t.dt.normalize()
    if noon:
        return t.where(~dated, t + pd.Timedelta(hours=12))
    if end_of_day:
        return t.where(~dated, t + pd.Timedelta(days=1))
    return t


def _operating_intervals(
    rows: pd.DataFrame, date_format: str | None
) -> list[tuple[int, int]]:
    """Working periods (ns) of a station's cameras: setup to retrieval less problems."""
    prob_cols = sorted(
        c for c in rows.columns if re.fullmatch(r"Problem\d+_from", str(c))
    )
    intervals: list[tuple[int, int]] = []
    for _, r in rows.iterrows():
        pieces = [(r["_setup"].value, r["_retr"].value)]
        for pc in prob_cols:
            tc = pc.replace("_from", "_to")
            if pd.isna(r[pc]) or tc not in rows.columns or pd.isna(r[tc]):
                continue
            pf = _to_time(pd.Series([r[pc]]), date_format, noon=False).iloc[0].value
            pt = (
                _to_time(pd.Series([r[tc]]), date_format, noon=False, end_of_day=True)
                .iloc[0]
                .value
            )
            new = []
            for a, b in pieces:
                if pt <= a or pf >= b:
                    new.append((a, b))
                    continue
                if pf > a:
                    new.append((a, pf))
                if pt < b:
                    new.append((pt, b))
            pieces = new
        intervals.extend(pieces)
    return intervals


def _merged(intervals: list[tuple[int, int]]) -> list[list[int]]:
    """Union of intervals (over the cameras of a station), sorted."""
    merged: list[list[int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _captures(
    station: pd.Series,
    individual: pd.Series,
    occasion: np.ndarray,
    *,
    ids: list[str],
    stations: list[str],
    usage: np.ndarray,
) -> np.ndarray:
    """Detections ``(n, K, J)`` of records on occasions when their station worked."""
    k = usage.shape[1]
    i_of = {s: i for i, s in enumerate(ids)}
    j_of = {s: j for j, s in enumerate(stations)}
    caps = np.zeros((len(ids), k, len(stations)), dtype=np.int64)
    for (row, st, ind), q in zip(
        zip(station.index, station, individual, strict=True), occasion, strict=True
    ):
        if st not in j_of:
            where = f"row {row + 1} " if isinstance(row, (int, np.integer)) else ""
            raise InputError(
                f"The record table's {where}(column {station.name!r}) names station "
                f"{st!r}, which is not in the camera-trap table; add it there or "
                "correct the station."
            )
        if 0 <= q < k and usage[j_of[st], q] > 0:
            caps[i_of[ind], q, j_of[st]] += 1
    return caps
