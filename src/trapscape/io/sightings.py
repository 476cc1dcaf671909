"""Sightings (one row per photo or record): read, check and write."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import ProblemCollector
from ..survey import Survey
from .stations import StationsTable, _fmt_dt
from .tables import (
    PathLike,
    _check_date_format,
    _missing_required,
    _name,
    _parse_dates,
    _read_csv,
    _strings,
)

__all__ = [
    "read_sightings",
    "write_sightings",
]

logger = logging.getLogger(__name__)

_SEX = {"f": "F", "female": "F", "m": "M", "male": "M"}


def _stations_parts(
    stations: Any,
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    if stations is None:
        return None, None
    if isinstance(stations, StationsTable):
        return stations.stations, stations.problems
    if isinstance(stations, Survey):
        return stations.stations, stations.problems
    return stations, None


def _stations_of_cameras(
    cams: np.ndarray,
    stations: pd.DataFrame,
    *,
    chk: ProblemCollector,
    path: PathLike,
    column: str,
    rows: np.ndarray,
) -> np.ndarray:
    """Station of each camera id, for sightings that name only the camera."""
    pairs = stations[[V.STATION_ID, V.CAMERA_ID]].astype(str).drop_duplicates()
    n_st = pairs.groupby(V.CAMERA_ID)[V.STATION_ID].nunique()
    lookup = pairs.drop_duplicates(V.CAMERA_ID).set_index(V.CAMERA_ID)[V.STATION_ID]
    out = pd.Series(cams, dtype=object).map(lookup).fillna("").to_numpy(dtype=object)
    ambiguous = pd.Series(cams, dtype=object).map(n_st).fillna(0).to_numpy() > 1
    for i in np.flatnonzero(ambiguous):
        chk.add(
            f"camera '{cams[i]}' was deployed at several stations, so the sighting's "
            "station is unknown. Add a station column.",
            path=path,
            row=int(rows[i]),
            column=column,
        )
        out[i] = ""
    for i in np.flatnonzero((out == "") & ~ambiguous & (cams != "")):
        chk.add(
            f"camera '{cams[i]}' is not in the stations table. Fix the camera id or "
            "add a station column.",
            path=path,
            row=int(rows[i]),
            column=column,
        )
    return out


def _sighting_times(
    table: pd.DataFrame,
    found: dict[str, str],
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    date_format: str | None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> np.ndarray:
    """Timestamps from a timestamp column, or from date and time columns."""
    if V.TIMESTAMP in found:
        tcol = found[V.TIMESTAMP]
        texts = _strings(table[tcol])
    else:
        tcol = found["date"]
        d, t = _strings(table[found["date"]]), _strings(table[found["time"]])
        texts = np.array(
            [f"{a} {b}".strip() if a else "" for a, b in zip(d, t, strict=False)],
            dtype=object,
        )
    ts, _known = _parse_dates(
        texts,
        fmt=date_format,
        date_only="noon",
        chk=chk,
        path=path,
        column=tcol,
        rows=rows,
        required=True,
        window=window,
    )
    return ts


def _sexes(
    raw: np.ndarray,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    column: str,
) -> pd.api.extensions.ExtensionArray:
    """Sex per sighting ("F", "M" or NA); unknown values are reported."""
    sex_out = np.full(len(raw), None, dtype=object)
    low = pd.Series(raw, dtype=object).str.lower()
    mapped = low.map(_SEX).to_numpy(dtype=object)
    unknown = low.isin(["", "unknown", "na", "u", "?"]).to_numpy()
    ok = pd.notna(mapped)
    sex_out[ok] = mapped[ok]
    for i in np.flatnonzero(~ok & ~unknown):
        chk.add(
            f"sex '{raw[i]}' is not F or M. Use F/M (female/male) or leave it empty.",
            path=path,
            row=int(rows[i]),
            column=column,
        )
    return pd.array(sex_out, dtype="string")


def _sighting_counts(
    raw: np.ndarray,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    column: str,
) -> np.ndarray:
    """Whole counts from 1 to MAX_COUNT (blank: 1); other values are reported."""
    counts = np.ones(len(raw), dtype=np.int64)
    bad = V.count_problems(raw)
    for i, msg in bad:
        chk.add(msg, path=path, row=int(rows[i]), column=column)
    good = np.ones(len(raw), dtype=bool)
    good[[i for i, _ in bad]] = False
    num = pd.to_numeric(
        pd.Series(raw, dtype=object).replace("", "1"), errors="coerce"
    ).to_numpy(dtype=float)
    counts[good] = num[good].astype(np.int64)
    return counts


def _sightings_frame(
    table: pd.DataFrame,
    found: dict[str, str],
    sid: np.ndarray,
    ts: np.ndarray,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
) -> pd.DataFrame:
    """Canonical sightings, then the file's other columns (blanks as NA)."""
    n = len(table)

    def optional(key: str) -> Any:
        vals = (
            _strings(table[found[key]])
            if key in found
            else np.full(n, "", dtype=object)
        )
        vals = vals.copy()
        vals[vals == ""] = None
        return pd.array(vals, dtype="string")

    data: dict[str, Any] = {V.STATION_ID: sid}
    data[V.CAMERA_ID] = optional(V.CAMERA_ID)
    data[V.DEPLOYMENT_ID] = optional(V.DEPLOYMENT_ID)
    data[V.TIMESTAMP] = ts
    data[V.SPECIES] = _strings(table[found[V.SPECIES]])
    data[V.INDIVIDUAL_ID] = optional(V.INDIVIDUAL_ID)
    data[V.SEX] = pd.array(np.full(n, None, dtype=object), dtype="string")
    if V.SEX in found:
        raw = _strings(table[found[V.SEX]])
        data[V.SEX] = _sexes(raw, chk, path, rows, found[V.SEX])
    data[V.MEDIA_ID] = optional(V.MEDIA_ID)
    data[V.COUNT] = np.ones(n, dtype=np.int64)
    if V.COUNT in found:
        raw = _strings(table[found[V.COUNT]])
        data[V.COUNT] = _sighting_counts(raw, chk, path, rows, found[V.COUNT])
    frame = pd.DataFrame(data)
    for c in (V.STATION_ID, V.SPECIES):
        frame[c] = frame[c].astype(object)
    skip = set(found.values())
    for c in table.columns:
        if c not in skip and c not in frame.columns:
            vals = table[c].to_numpy(dtype=object, copy=True)
            blank = _strings(table[c]) == ""
            vals[blank] = pd.NA
            frame[c] = pd.Series(vals, index=frame.index, dtype=object)
    return frame


def _read_sightings(
    path: PathLike,
    chk: ProblemCollector,
    *,
    stations: Any = None,
    date_format: str | None = None,
    stations_path: PathLike | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> pd.DataFrame | None:
    """Read, parse and check a sightings file; problems go to ``chk``.

    With ``stations``, sightings are checked against them (known station,
    camera, deployment and working period) and their deployment resolved.
    """
    if not _check_date_format(date_format, chk, path):
        return None
    window = V.date_window(*(date_window or (None, None)))
    table = _read_csv(path, chk, allow_no_rows=True)  # a survey may detect nothing
    if table is None:
        return None
    columns = list(table.columns)
    rows = np.arange(1, len(table) + 1)
    found = V.resolve_columns(columns, V.SIGHTING_ALIASES)
    st, pr = _stations_parts(stations)
    by_camera = V.STATION_ID not in found and V.CAMERA_ID in found and st is not None
    required = [V.SPECIES] if by_camera else [V.STATION_ID, V.SPECIES]
    if V.TIMESTAMP not in found and not ("date" in found and "time" in found):
        required.append(V.TIMESTAMP)
    if _missing_required(found, required, V.SIGHTING_ALIASES, columns, chk, path):
        return None
    ts = _sighting_times(
        table, found, chk, path, rows, date_format=date_format, window=window
    )
    if by_camera:
        sid = _stations_of_cameras(
            _strings(table[found[V.CAMERA_ID]]),
            st,
            chk=chk,
            path=path,
            column=found[V.CAMERA_ID],
            rows=rows,
        )
    else:
        sid = _strings(table[found[V.STATION_ID]])
    frame = _sightings_frame(table, found, sid, ts, chk, path, rows)
    checked = frame.copy()
    checked[V.SEX] = checked[V.SEX].astype(object)
    n_before = len(chk)
    dep = V._check_sightings(
        checked,
        st,
        pr,
        chk,
        path=path,
        rows=rows,
        value_checks=False,
        stations_path=stations_path,
    )
    if by_camera:  # unresolved cameras were reported already; drop the echoes
        flagged = {int(rows[i]) for i in np.flatnonzero(sid == "")}
        chk.keep(
            lambda p: not (p.column == V.STATION_ID and p.row in flagged),
            since=n_before,
        )
    if dep is not None:
        given = frame[V.DEPLOYMENT_ID]
        frame[V.DEPLOYMENT_ID] = given.fillna(
            pd.Series(dep, index=frame.index, dtype="string")
        )
    logger.info("Read %d sightings from %s", len(frame), _name(path))
    return frame


def read_sightings(
    path: PathLike,
    *,
    stations: Any = None,
    date_format: str | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> pd.DataFrame:
    """Read sightings (detections) from a CSV.

    Parameters
    ----------
    path
        CSV with a station id, a timestamp (or ``Date`` and ``Time``), the
        species, and optionally camera, individual, sex, media id and count.
        Aliases (case-insensitive): ``Station``/``locationID``; ``Camera``;
        ``DateTimeOriginal``/``timestamp``; ``Species``/``scientificName``;
        ``Individual``/``individualID``; ``Sex``; ``FileName``/``mediaID``;
        ``Count``.
    stations
        A :class:`StationsTable`, stations GeoDataFrame or Survey.  When
        given, sightings at unknown stations/cameras or outside the camera's
        working period are reported, and ``deployment_id`` is resolved.
    date_format
        strptime format when timestamps are not ISO.
    date_window
        ``(earliest, latest)`` plausible dates (either may be None); default
        1990-01-01 to tomorrow (:func:`trapscape.validation.date_window`).

    Returns
    -------
    pandas.DataFrame
        Canonical sightings (see :mod:`trapscape.validation`).

    Raises
    ------
    SchemaError, InputError
        With every problem, its row and column.
    """
    chk = ProblemCollector()
    frame = _read_sightings(
        path,
        chk,
        stations=stations,
        date_format=date_format,
        date_window=date_window,
    )
    chk.raise_if_any()
    assert frame is not None
    return frame


def write_sightings(sightings: pd.DataFrame, path: PathLike) -> None:
    """Write canonical sightings as CSV (read back by :func:`read_sightings`)."""
    out = sightings.copy()
    out[V.TIMESTAMP] = _fmt_dt(out[V.TIMESTAMP])
    first = [c for c in V.SIGHTING_COLUMNS if c in out.columns]
    out = out[first + [c for c in out.columns if c not in first]]
    out.to_csv(path, index=False)
