"""Canonical column names and the public ``check_*`` validators.

Every reader returns frames with these column names, whatever the input
called them, so analysis code refers to the constants below.

Stations (``Survey.stations``): one row per camera **deployment**
    ``station_id`` (str), ``camera_id`` (str; equals the station id when a
    station has one camera and no camera column was given), ``deployment_id``
    (str, unique), ``setup`` and ``retrieval`` (naive local ``datetime64``),
    ``setup_time_known`` / ``retrieval_time_known`` (bool), geometry (Point,
    survey CRS), plus any extra attributes of the input.
    Date-only setup/retrieval values are stored at 12:00 so that setup and
    retrieval days count as half days (camtrapR's convention).

Problems (``Survey.problems``): malfunction intervals, one row each
    ``deployment_id``, ``problem_from``, ``problem_to`` (naive datetime).
    A date-only ``from`` is stored at 00:00 of that day and a date-only ``to``
    at 00:00 of the following day, so whole days are removed.

Sightings (``Survey.sightings``): one row per photo / record
    ``station_id``, ``camera_id`` (may be NA), ``deployment_id`` (resolved
    from station/camera and time when possible, else NA), ``timestamp``
    (naive local datetime), ``species`` (str), ``individual_id`` (str or NA
    for unidentified animals), ``sex`` ("F", "M" or NA), ``media_id`` (str or
    NA), ``count`` (int >= 1), plus extra columns.

Boundaries: GeoDataFrames with a ``name`` column (zones/countries, parks,
study area) and line geometries for the international ``border``.
"""

from __future__ import annotations

import difflib as _difflib
import re as _re
from collections.abc import Iterable as _Iterable
from collections.abc import Sequence as _Sequence
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .errors import MAX_LISTED as MAX_LISTED
from .errors import CRSError as _CRSError
from .errors import Problem, ProblemCollector

if _TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from .survey import Survey

__all__ = [
    "CAMERA_ID",
    "COUNT",
    "DEPLOYMENT_ID",
    "INDIVIDUAL_ID",
    "MEDIA_ID",
    "NAME",
    "PROBLEM_FROM",
    "PROBLEM_TO",
    "RETRIEVAL",
    "RETRIEVAL_TIME_KNOWN",
    "SETUP",
    "SETUP_TIME_KNOWN",
    "SEX",
    "SPECIES",
    "STATION_ID",
    "TIMESTAMP",
    "ZONE",
]

STATION_ID = "station_id"
CAMERA_ID = "camera_id"
DEPLOYMENT_ID = "deployment_id"
SETUP = "setup"
RETRIEVAL = "retrieval"
SETUP_TIME_KNOWN = "setup_time_known"
RETRIEVAL_TIME_KNOWN = "retrieval_time_known"
PROBLEM_FROM = "problem_from"
PROBLEM_TO = "problem_to"
TIMESTAMP = "timestamp"
SPECIES = "species"
INDIVIDUAL_ID = "individual_id"
SEX = "sex"
MEDIA_ID = "media_id"
COUNT = "count"
NAME = "name"
ZONE = "zone"

#: the canonical sightings columns, in the order they are written
SIGHTING_COLUMNS: tuple[str, ...] = (
    STATION_ID,
    CAMERA_ID,
    DEPLOYMENT_ID,
    TIMESTAMP,
    SPECIES,
    INDIVIDUAL_ID,
    SEX,
    MEDIA_ID,
    COUNT,
)

# --------------------------------------------------------------------------
# Column aliases (matched case-insensitively after normalising separators)
# --------------------------------------------------------------------------
__all__ += [
    "BOUNDARY_KINDS",
    "SIGHTING_ALIASES",
    "SIGHTING_COLUMNS",
    "STATION_ALIASES",
    "check_boundaries",
    "check_sightings",
    "check_stations",
    "check_survey",
]

#: canonical name -> accepted spellings (normalised: lower case, ``_`` for separators)
STATION_ALIASES: dict[str, tuple[str, ...]] = {
    STATION_ID: ("station_id", "station", "locationid", "location_id", "stationid"),
    CAMERA_ID: ("camera_id", "camera", "cameraid"),
    # "deployment": what a Shapefile keeps of "deployment_id" (10 characters)
    DEPLOYMENT_ID: ("deployment_id", "deploymentid", "deployment"),
    SETUP: (
        "setup",
        "setup_date",
        "deploymentstart",
        "deployment_start",
        "setup_datetime",
    ),
    RETRIEVAL: (
        "retrieval",
        "retrieval_date",
        "deploymentend",
        "deployment_end",
        "retrieval_datetime",
        "retrieval_",
    ),  # "retrieval_": Shapefile's 10 chars
    "longitude": ("longitude", "lon", "long", "lng"),
    "latitude": ("latitude", "lat"),
    "x": ("x", "utm_x", "easting"),
    "y": ("y", "utm_y", "northing"),
}

SIGHTING_ALIASES: dict[str, tuple[str, ...]] = {
    STATION_ID: ("station_id", "station", "locationid", "location_id", "stationid"),
    CAMERA_ID: ("camera_id", "camera", "cameraid"),
    DEPLOYMENT_ID: ("deployment_id", "deploymentid"),
    TIMESTAMP: ("timestamp", "datetimeoriginal", "datetime", "date_time"),
    "date": ("date",),
    "time": ("time",),
    SPECIES: ("species", "scientificname", "scientific_name"),
    INDIVIDUAL_ID: ("individual_id", "individual", "individualid"),
    SEX: ("sex",),
    MEDIA_ID: ("media_id", "filename", "file_name", "mediaid"),
    COUNT: ("count",),
}

#: values of the ``kind`` column of a combined boundaries file
BOUNDARY_KINDS = ("study_area", "zones", "parks", "border", "habitat")

PROBLEM_COLUMN = _re.compile(r"^problem_?(\d+)_?(from|to)$")
#: Shapefile keeps 10 characters: ``problem1_f``, ``problem1_fr``, ``problem3_t``
PROBLEM_COLUMN_TRUNCATED = _re.compile(
    r"^problem_?(\d+)_?(f(?:r(?:o(?:m)?)?)?|t(?:o)?)$"
)
#: names that look like malfunction columns (reported when they cannot be paired)
PROBLEM_LIKE = _re.compile(r"^problem_?\d")

#: stations farther than this from the study area are reported (metres)
MAX_OUTSIDE_STUDY_AREA = 10_000.0

__all__ += [
    "CRS_AREA_MARGIN",
    "EARLIEST_DATE",
    "MAX_COUNT",
    "MAX_HINTS",
    "date_window",
]

#: default start of the plausible survey window (digital camera traps)
EARLIEST_DATE = "1990-01-01"

#: unknown ids that get a "did you mean" suggestion (the rest are listed plainly)
MAX_HINTS = 20

#: largest plausible number of animals in one record
MAX_COUNT = 10_000

#: degrees by which locations may lie outside a CRS's area of use (a UTM
#: zone is 6 degrees wide: a neighbouring zone still passes, another continent not)
CRS_AREA_MARGIN = 10.0


def date_window(
    earliest: _Any = None, latest: _Any = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The plausible survey window: dates outside it are reported.

    Defaults: :data:`EARLIEST_DATE` (1990-01-01) to the end of tomorrow
    (today plus one day, so clocks a few hours ahead pass).  Either end may
    be given as anything :class:`pandas.Timestamp` reads ("2005-01-01").
    The window never reaches beyond what pandas stores (1677..2262).
    """
    import pandas as pd

    lo = pd.Timestamp(earliest if earliest is not None else EARLIEST_DATE)
    if latest is not None:
        hi = pd.Timestamp(latest)
        if hi == hi.normalize():  # a date: the whole day
            hi = hi + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    else:
        hi = pd.Timestamp.now().normalize() + pd.Timedelta(days=2)
        hi = hi - pd.Timedelta(seconds=1)
    lo = max(lo, pd.Timestamp.min)
    hi = min(hi, pd.Timestamp.max)
    return lo.as_unit("ns"), hi.as_unit("ns")


def normalise_name(name: object) -> str:
    """Column name in the form used for alias matching (``Setup.Date`` -> ``setup_date``)."""
    return _re.sub(r"[\s.\-]+", "_", str(name).strip().lower())


def suggest(name: str, candidates: _Iterable[str]) -> str | None:
    """Closest candidate to ``name`` (difflib), or None."""
    cands = list(candidates)
    norm = {normalise_name(c): c for c in cands}
    hit = _difflib.get_close_matches(normalise_name(name), list(norm), n=1, cutoff=0.6)
    return norm[hit[0]] if hit else None


def suggest_id(name: str, candidates: _Iterable[str]) -> str | None:
    """Closest id to a mistyped ``name`` (station, camera ...), or None.

    Ids are codes, where the leading characters carry the most meaning
    (``S17A`` is a typo for ``S174`` rather than ``S197``): candidates that
    share the longest common prefix with ``name`` (case-insensitive) win,
    ties go to the closest by :mod:`difflib`.  A candidate qualifies when it
    is difflib-close (ratio >= 0.6) or shares all but the last character.
    """
    key = str(name).strip().lower()
    if not key:
        return None

    def lcp(a: str, b: str) -> int:
        n = 0
        for x, y in zip(a, b, strict=False):
            if x != y:
                break
            n += 1
        return n

    best: tuple[int, float] | None = None
    hit = None
    matcher = _difflib.SequenceMatcher(None, "", key)  # caches the analysis of key
    for c in dict.fromkeys(candidates):
        low = str(c).lower()
        pre = lcp(key, low)
        if best is not None and pre < best[0]:
            continue  # cannot win: a longer common prefix is already found
        matcher.set_seq1(low)
        ratio = matcher.ratio()
        if ratio < 0.6 and pre < max(1, len(key) - 1):
            continue
        score = (pre, ratio)
        if best is None or score > best:
            best, hit = score, c
    return hit


def resolve_columns(
    columns: _Sequence[str],
    aliases: dict[str, tuple[str, ...]],
) -> dict[str, str]:
    """Map canonical names to the actual column names found (first match wins)."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise_name(c), c)
    found: dict[str, str] = {}
    for canon, names in aliases.items():
        for n in names:
            if n in by_norm:
                found[canon] = by_norm[n]
                break
    return found


def missing_column_message(
    canon: str,
    aliases: dict[str, tuple[str, ...]],
    columns: _Sequence[str],
    used: _Iterable[str],
) -> str:
    """Message for a missing required column, with the closest unused column."""
    used = set(used)
    free = [c for c in columns if c not in used]
    best = None
    for alias in aliases.get(canon, (canon,)):
        best = suggest(alias, free)
        if best:
            break
    accepted = ", ".join(f"'{a}'" for a in aliases.get(canon, (canon,)))
    msg = f"required column '{canon}' is missing (accepted names: {accepted})."
    if best:
        msg += f" Did you mean '{best}'? Rename it to '{canon}'."
    else:
        msg += f" Add a '{canon}' column."
    return msg


# --------------------------------------------------------------------------
# Public validators on canonical frames
# --------------------------------------------------------------------------
def _rows_for(n: int, rows: _Iterable[int] | None) -> list[int]:
    return list(rows) if rows is not None else list(range(1, n + 1))


def _check_station_rows(
    stations: gpd.GeoDataFrame,
    chk: ProblemCollector,
    path: _Any,
    rws: list[int],
    *,
    report_missing: bool,
) -> None:
    """Empty station ids, missing dates, setup after retrieval, duplicate ids
    and overlapping deployments of one camera."""
    import numpy as np
    import pandas as pd

    n = len(stations)
    setup = pd.to_datetime(stations[SETUP]).to_numpy()
    retr = pd.to_datetime(stations[RETRIEVAL]).to_numpy()
    sid = stations[STATION_ID].astype("object").to_numpy()
    cid = stations[CAMERA_ID].astype("object").to_numpy()
    did = stations[DEPLOYMENT_ID].astype("object").to_numpy()
    for i in range(n):
        if pd.isna(sid[i]) or str(sid[i]).strip() == "":
            chk.add(
                "station id is empty. Give every deployment a station id.",
                path=path,
                row=rws[i],
                column=STATION_ID,
            )
    if report_missing:
        for col, arr in ((SETUP, setup), (RETRIEVAL, retr)):
            for i in np.flatnonzero(pd.isna(arr)).tolist():
                chk.add(
                    f"{col} date is missing. Fill in the {col} date (YYYY-MM-DD).",
                    path=path,
                    row=rws[i],
                    column=col,
                )
    bad = np.flatnonzero(~pd.isna(setup) & ~pd.isna(retr) & (setup > retr))
    for i in bad.tolist():
        chk.add(
            f"setup {pd.Timestamp(setup[i])} is after retrieval {pd.Timestamp(retr[i])}. "
            "Swap or correct the dates.",
            path=path,
            row=rws[i],
            column=SETUP,
        )
    # duplicate deployment ids
    dup = pd.Series(did).duplicated(keep="first").to_numpy()
    for i in np.flatnonzero(dup).tolist():
        first = int(np.flatnonzero(did == did[i])[0])
        chk.add(
            f"deployment id '{did[i]}' is used twice (also row {rws[first]}). "
            "Make deployment ids unique.",
            path=path,
            row=rws[i],
            column=DEPLOYMENT_ID,
        )
    # overlapping deployments of one camera
    frame = pd.DataFrame({"s": sid, "c": cid, "a": setup, "b": retr, "i": np.arange(n)})
    frame = frame.dropna(subset=["a", "b"]).sort_values(["s", "c", "a"], kind="stable")
    same = (frame["s"].to_numpy()[1:] == frame["s"].to_numpy()[:-1]) & (
        frame["c"].to_numpy()[1:] == frame["c"].to_numpy()[:-1]
    )
    overl = same & (frame["a"].to_numpy()[1:] < frame["b"].to_numpy()[:-1])
    idx = frame["i"].to_numpy()
    for k in np.flatnonzero(overl):
        i, j = idx[k + 1], idx[k]
        chk.add(
            f"camera '{cid[i]}' at station '{sid[i]}' has overlapping deployments "
            f"(this one and row {rws[j]}). A camera can be deployed only once at a time: "
            "give the second camera its own camera_id or correct the dates.",
            path=path,
            row=rws[i],
            column=CAMERA_ID,
        )


def _check_station_locations(
    stations: gpd.GeoDataFrame,
    chk: ProblemCollector,
    path: _Any,
    rws: list[int],
    *,
    study_area: gpd.GeoDataFrame | None,
) -> None:
    """Stations without a location, or far outside the study area."""
    import numpy as np

    sid = stations[STATION_ID].astype("object").to_numpy()
    geom = stations.geometry
    empty = (geom.isna() | geom.is_empty).to_numpy()
    for i in np.flatnonzero(empty):
        chk.add(
            "the station has no location. Give its coordinates.",
            path=path,
            row=rws[i],
            column="geometry",
            kind="geometry",
        )
    if study_area is None or not len(study_area) or stations.crs is None:
        return
    area = study_area.to_crs(stations.crs).geometry.union_all()
    try:
        from .crs import require_projected

        require_projected(stations.crs)
        d = geom.distance(area).to_numpy()
    except _CRSError:
        d = np.zeros(len(stations))
    far = np.flatnonzero(~empty & (d > MAX_OUTSIDE_STUDY_AREA))
    swapped = _swapped_fits(geom.iloc[far], area, stations.crs) if len(far) else []
    for i, sw in zip(far, swapped, strict=False):
        if sw:
            chk.add(
                f"station '{sid[i]}' lies {d[i] / 1000:.1f} km outside the study "
                "area but would be inside it with longitude and latitude "
                "swapped. Swap its longitude/latitude values.",
                path=path,
                row=rws[i],
                column="geometry",
            )
            continue
        chk.add(
            f"station '{sid[i]}' lies {d[i] / 1000:.1f} km outside the study area "
            f"(more than {MAX_OUTSIDE_STUDY_AREA / 1000:.0f} km). Check its "
            "coordinates (swapped? wrong CRS?) or the study area.",
            path=path,
            row=rws[i],
            column="geometry",
        )


def _check_malfunctions(
    stations: gpd.GeoDataFrame,
    problems: pd.DataFrame,
    chk: ProblemCollector,
    path: _Any,
    *,
    problem_src: pd.DataFrame | None,
    report_missing: bool,
) -> None:
    """Malfunctions of unknown deployments, with a missing or reversed end, or
    outside their deployment (compared by calendar day)."""
    import numpy as np
    import pandas as pd

    setup = pd.to_datetime(stations[SETUP]).to_numpy()
    retr = pd.to_datetime(stations[RETRIEVAL]).to_numpy()
    did = stations[DEPLOYMENT_ID].astype("object").to_numpy()
    pr = problems.reset_index(drop=True)
    pos = {d: k for k, d in enumerate(did)}
    src = problem_src.reset_index(drop=True) if problem_src is not None else None
    pf = pd.to_datetime(pr[PROBLEM_FROM]).to_numpy()
    pt = pd.to_datetime(pr[PROBLEM_TO]).to_numpy()
    day = np.timedelta64(1, "D")
    for k in range(len(pr)):
        dep = pr[DEPLOYMENT_ID].iloc[k]
        if src is not None:
            row, cf, ct = (
                int(src["row"].iloc[k]),
                src["from"].iloc[k],
                src["to"].iloc[k],
            )
        else:
            row, cf, ct = k + 1, PROBLEM_FROM, PROBLEM_TO
        if dep not in pos:
            chk.add(
                f"malfunction refers to unknown deployment '{dep}'. Use a "
                "deployment_id of the stations table.",
                path=path,
                row=row,
                column=DEPLOYMENT_ID,
            )
            continue
        i = pos[dep]
        if pd.isna(pf[k]) or pd.isna(pt[k]):
            if report_missing:
                chk.add(
                    "malfunction interval has a missing date. Give both ends.",
                    path=path,
                    row=row,
                    column=cf if pd.isna(pf[k]) else ct,
                )
            continue
        if pf[k] > pt[k]:
            chk.add(
                f"malfunction interval is reversed ({pd.Timestamp(pf[k])} > "
                f"{pd.Timestamp(pt[k])}). Swap its from/to dates.",
                path=path,
                row=row,
                column=cf,
            )
            continue
        if pd.isna(setup[i]) or pd.isna(retr[i]):
            continue
        s0 = setup[i].astype("datetime64[D]")
        r1 = retr[i].astype("datetime64[D]") + day
        if pf[k] < s0:
            chk.add(
                f"malfunction starts {pd.Timestamp(pf[k]).date()}, before the "
                f"camera was set up ({pd.Timestamp(setup[i]).date()}). Correct the "
                "dates.",
                path=path,
                row=row,
                column=cf,
            )
        if pt[k] > r1:
            chk.add(
                f"malfunction ends {pd.Timestamp(pt[k])}, after the camera was "
                f"retrieved ({pd.Timestamp(retr[i]).date()}). Correct the dates.",
                path=path,
                row=row,
                column=ct,
            )


def _check_stations(
    stations: gpd.GeoDataFrame,
    problems: pd.DataFrame | None,
    chk: ProblemCollector,
    *,
    path: _Any = None,
    rows: _Iterable[int] | None = None,
    problem_src: pd.DataFrame | None = None,
    report_missing: bool = True,
    study_area: gpd.GeoDataFrame | None = None,
) -> None:
    """Check stations and their malfunctions into ``chk`` (see check_stations)."""
    required = [STATION_ID, CAMERA_ID, DEPLOYMENT_ID, SETUP, RETRIEVAL]
    miss = [c for c in required if c not in stations.columns]
    for c in miss:
        chk.add(
            missing_column_message(c, STATION_ALIASES, list(stations.columns), []),
            path=path,
            column=c,
            kind="schema",
        )
    if miss:
        return
    if len(stations) == 0:
        chk.add(
            "no stations (the table is empty). Add at least one camera deployment.",
            path=path,
            kind="value",
        )
        return
    rws = _rows_for(len(stations), rows)
    _check_station_rows(stations, chk, path, rws, report_missing=report_missing)
    if "geometry" in stations.columns and hasattr(stations, "geometry"):
        _check_station_locations(stations, chk, path, rws, study_area=study_area)
    if problems is None or len(problems) == 0:
        return
    _check_malfunctions(
        stations,
        problems,
        chk,
        path,
        problem_src=problem_src,
        report_missing=report_missing,
    )


def _swapped_fits(points: _Any, area: _Any, crs: _Any) -> list[bool]:
    """For each point: would swapping its longitude/latitude put it near ``area``?"""
    import geopandas as gpd
    import numpy as np

    try:
        ll = points.to_crs(4326)
        lon, lat = ll.x.to_numpy(), ll.y.to_numpy()
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 90)
        sw = gpd.GeoSeries(
            gpd.points_from_xy(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0)), crs=4326
        ).to_crs(crs)
        dist = sw.distance(area).to_numpy()
    except Exception:  # projection failures: no hint
        return [False] * len(points)
    return list(ok & np.isfinite(dist) & (dist <= MAX_OUTSIDE_STUDY_AREA))


def check_stations(
    stations: gpd.GeoDataFrame,
    problems: pd.DataFrame | None = None,
    *,
    path: _Any = None,
    rows: _Sequence[int] | None = None,
    study_area: gpd.GeoDataFrame | None = None,
) -> list[Problem]:
    """Check canonical stations (and their malfunction intervals).

    Rules: required columns; missing dates; setup after retrieval; duplicate
    deployment ids; overlapping deployments of one camera; empty locations;
    stations more than 10 km outside ``study_area``; malfunction intervals
    that are reversed, refer to an unknown deployment, or fall outside their
    deployment (compared by calendar day).

    Parameters
    ----------
    stations
        Canonical stations (see module docstring).
    problems
        Canonical malfunction intervals.
    path
        File name used in the messages.
    rows
        1-based source row of each station row (default: position + 1).
    study_area
        Optional study-area polygons (any CRS with a projected ``stations``).

    Returns
    -------
    list of Problem
        Empty when the stations are valid.
    """
    chk = ProblemCollector()
    _check_stations(
        stations, problems, chk, path=path, rows=rows, study_area=study_area
    )
    return chk.problems


__all__ += ["individual_ids"]


def individual_ids(sightings: pd.DataFrame) -> pd.Series:
    """The individual each sighting names: its ``individual_id`` as text.

    The one rule for "this photo is of a known animal": the id is present
    (not NA) and not the empty string.  Other rows (and every row when the
    column is missing) get NA.

    Parameters
    ----------
    sightings
        A sightings table (any columns).

    Returns
    -------
    pandas.Series
        Object dtype, ``str`` values or ``pd.NA``; same index as
        ``sightings``, named ``individual_id``.
    """
    import pandas as pd

    if INDIVIDUAL_ID not in sightings.columns:
        return pd.Series(pd.NA, index=sightings.index, dtype=object, name=INDIVIDUAL_ID)
    raw = sightings[INDIVIDUAL_ID]
    text = raw.astype(str)
    named = raw.notna() & (text != "")
    return text.astype(object).where(named, pd.NA).rename(INDIVIDUAL_ID)


def _blank(values: _Any) -> _Any:
    """Boolean array: NA or empty/whitespace-only string."""
    import pandas as pd

    ser = pd.Series(
        values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else values,
        dtype=object,
    )
    na = ser.isna().to_numpy()
    return na | (ser.where(~na, "").astype(str).str.strip() == "").to_numpy()


def _window(stations: pd.DataFrame) -> tuple[_Any, _Any]:
    """Start/end of each deployment's working window (whole days if time unknown)."""
    import pandas as pd

    a = pd.to_datetime(stations[SETUP])
    b = pd.to_datetime(stations[RETRIEVAL])
    if SETUP_TIME_KNOWN in stations.columns:
        known = stations[SETUP_TIME_KNOWN].fillna(True).astype(bool)
        a = a.where(known, a.dt.floor("D"))
    if RETRIEVAL_TIME_KNOWN in stations.columns:
        known = stations[RETRIEVAL_TIME_KNOWN].fillna(True).astype(bool)
        b = b.where(known, b.dt.floor("D") + pd.Timedelta(days=1))
    return a, b


def resolve_deployments(
    sightings: pd.DataFrame,
    stations: pd.DataFrame,
    problems: pd.DataFrame | None,
) -> tuple[_Any, _Any, _Any]:
    """Find each sighting's working deployment.

    Returns
    -------
    deployment : Series of object (NA when none)
    status : ndarray of str
        "ok", "unknown_station", "unknown_camera", "outside", "malfunction"
        or "no_time".
    """
    import numpy as np
    import pandas as pd

    n = len(sightings)
    dep = pd.Series([pd.NA] * n, index=sightings.index, dtype="object")
    status = np.full(n, "ok", dtype=object)
    if n == 0:
        return dep, status, None
    st = pd.DataFrame(
        {
            "s": stations[STATION_ID].astype(str).to_numpy(),
            "c": stations[CAMERA_ID].astype(str).to_numpy(),
            "d": stations[DEPLOYMENT_ID].astype(str).to_numpy(),
        }
    )
    wa, wb = _window(stations)
    # deployments with unknown dates cannot be checked: treat them as always on
    st["a"] = wa.fillna(pd.Timestamp.min).to_numpy()
    st["b"] = wb.fillna(pd.Timestamp.max).to_numpy()
    ts = pd.to_datetime(sightings[TIMESTAMP]).to_numpy()
    sid = sightings[STATION_ID].astype("object").to_numpy()
    if CAMERA_ID in sightings.columns:
        cam = sightings[CAMERA_ID].astype("object").to_numpy()
    else:
        cam = np.full(n, None, dtype=object)
    has_cam = ~_blank(pd.Series(cam, dtype=object))
    cam_s = pd.Series(cam, dtype=object).where(has_cam, "").astype(str)
    s = pd.DataFrame(
        {
            "i": np.arange(n),
            "s": pd.Series(sid, dtype=object).astype(str).to_numpy(),
            "c": cam_s.to_numpy(),
            "t": ts,
            "hc": has_cam,
        }
    )
    unknown_st = ~s["s"].isin(set(st["s"])).to_numpy()
    pair = s["s"] + "\x00" + s["c"]
    known_pair = set(st["s"] + "\x00" + st["c"])
    unknown_cam = ~unknown_st & has_cam & ~pair.isin(known_pair).to_numpy()
    status[unknown_st] = "unknown_station"
    status[unknown_cam] = "unknown_camera"
    notime = pd.isna(ts)
    status[notime & (status == "ok")] = "no_time"
    ok = status == "ok"
    m1 = s[ok & has_cam].merge(st, on=["s", "c"])
    m2 = s[ok & ~has_cam].drop(columns="c").merge(st, on="s")
    m = pd.concat([m1, m2], ignore_index=True)
    m = m[(m["t"] >= m["a"]) & (m["t"] <= m["b"])]
    within = np.zeros(n, dtype=bool)
    within[m["i"].to_numpy()] = True
    status[ok & ~within] = "outside"
    if problems is not None and len(problems):
        pr = pd.DataFrame(
            {
                "d": problems[DEPLOYMENT_ID].astype(str).to_numpy(),
                "pf": pd.to_datetime(problems[PROBLEM_FROM]).to_numpy(),
                "pt": pd.to_datetime(problems[PROBLEM_TO]).to_numpy(),
            }
        )
        mm = m[["i", "d", "t"]].merge(pr, on="d", how="left")
        inside = ((mm["t"] >= mm["pf"]) & (mm["t"] < mm["pt"])).fillna(False).to_numpy()
        tday = mm["t"].dt.floor("D")
        edge = (
            inside
            & (
                (tday == mm["pf"].dt.floor("D"))
                | (tday == (mm["pt"] - pd.Timedelta(seconds=1)).dt.floor("D"))
            )
            .fillna(False)
            .to_numpy()
        )
        mm = mm.assign(bad=inside & ~edge, edge=edge)
        g = mm.groupby(["i", "d"], sort=False)[["bad", "edge"]].any().reset_index()
        working = g[~g["bad"]]
        clean = working[~working["edge"]]
        has_any = np.zeros(n, dtype=bool)
        has_any[g["i"].to_numpy()] = True
        has_work = np.zeros(n, dtype=bool)
        has_work[working["i"].to_numpy()] = True
        has_clean = np.zeros(n, dtype=bool)
        has_clean[clean["i"].to_numpy()] = True
        status[has_any & ~has_work & (status == "ok")] = "malfunction"
        status[has_work & ~has_clean & (status == "ok")] = "malfunction_edge"
        first = pd.concat([clean, working]).drop_duplicates("i")
    else:
        first = m.drop_duplicates("i")
    vals = dep.to_numpy(copy=True)
    vals[first["i"].to_numpy()] = first["d"].to_numpy()
    dep = pd.Series(vals, index=sightings.index, dtype="object")
    return dep, status, None


def count_problems(values: _Any) -> list[tuple[int, str]]:
    """(position, message) of every count that is not a plausible whole number.

    The one rule for counts: blank means 1; otherwise a whole number from 1
    to :data:`MAX_COUNT`.  Larger values (``1e20``) are typing errors and
    would overflow 64-bit integers.
    """
    import numpy as np
    import pandas as pd

    ser = pd.Series(values, dtype=object)
    text = ser.where(ser.notna(), "").astype(str).str.strip()
    num = pd.to_numeric(text.replace("", "1"), errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(num) & (num >= 1) & (num == np.round(num))
    out: list[tuple[int, str]] = []
    for i in np.flatnonzero(~whole | (num > MAX_COUNT)).tolist():
        v = text.iloc[i]
        if whole[i]:
            out.append(
                (
                    i,
                    f"count '{v}' is more than {MAX_COUNT:,} animals in one record, "
                    "not a plausible count (a typing error?). Give the number of "
                    "animals in the record: 1, 2, ...",
                )
            )
        else:
            out.append(
                (i, f"count '{v}' is not a positive whole number. Use 1, 2, ...")
            )
    return out


def _first_rows(rows: _Sequence[int], limit: int = 10) -> str:
    """'3, 7, 9' or '3, 7, ... and 12 more'."""
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _check_sex_conflicts(
    sightings: pd.DataFrame, chk: ProblemCollector, path: _Any, rws: list[int]
) -> None:
    """An individual recorded as both F and M (per species) is an error."""
    import numpy as np
    import pandas as pd

    if SEX not in sightings.columns:
        return
    sx = sightings[SEX].astype(object).to_numpy()
    frame = pd.DataFrame(
        {
            "sp": sightings[SPECIES].astype(str).to_numpy(),
            "ind": individual_ids(sightings).to_numpy(),
            "sex": sx,
            "i": np.arange(len(sightings)),
        }
    )
    frame = frame[frame["ind"].notna() & frame["sex"].isin(["F", "M"])]
    if frame.empty:
        return
    n_sex = frame.groupby(["sp", "ind"], sort=False)["sex"].transform("nunique")
    for (_sp, ind), g in frame[n_sex > 1].groupby(["sp", "ind"], sort=False):
        f_rows = [rws[i] for i in g.loc[g["sex"] == "F", "i"]]
        m_rows = [rws[i] for i in g.loc[g["sex"] == "M", "i"]]
        fewer = f_rows if len(f_rows) <= len(m_rows) else m_rows
        chk.add(
            f"individual '{ind}' is recorded as female (F, rows {_first_rows(f_rows)}) "
            f"and as male (M, rows {_first_rows(m_rows)}). Correct the sex of the "
            "wrong records or their individual id; leave sex empty where it is "
            "not known.",
            path=path,
            row=fewer[0],
            column=SEX,
        )


def _check_given_deployments(
    sightings: pd.DataFrame,
    stations: pd.DataFrame,
    chk: ProblemCollector,
    path: _Any,
    rws: list[int],
    stations_path: _Any,
) -> None:
    """A sighting's own deployment id must exist and be at its station/camera."""
    import numpy as np
    import pandas as pd

    if DEPLOYMENT_ID not in sightings.columns or DEPLOYMENT_ID not in stations.columns:
        return
    given = sightings[DEPLOYMENT_ID].astype(object)
    has = ~_blank(given)
    if not has.any():
        return
    deps = stations.drop_duplicates(DEPLOYMENT_ID).set_index(
        stations[DEPLOYMENT_ID].drop_duplicates().astype(str).to_numpy()
    )
    dep_txt = given.where(has, "").astype(str).str.strip()
    known = dep_txt.isin(set(deps.index)).to_numpy()
    where = f"{stations_path}" if stations_path else "the stations table"
    for i in np.flatnonzero(has & ~known).tolist():
        chk.add(
            f"deployment '{dep_txt.iloc[i]}' is not in {where}. Fix the deployment "
            "id, or leave it empty to have it found from the station and time.",
            path=path,
            row=rws[i],
            column=DEPLOYMENT_ID,
        )
    idx = np.flatnonzero(has & known)
    if not len(idx):
        return
    ids = dep_txt.iloc[idx].to_numpy()
    dep_st = deps[STATION_ID].astype(str).reindex(ids).to_numpy()
    own_st = sightings[STATION_ID].astype(object).iloc[idx]
    own_blank = _blank(own_st)
    own_txt = own_st.where(~own_blank, "").astype(str).str.strip().to_numpy()
    # a hash lookup: np.isin sorts object arrays (minutes for a million rows)
    station_ids = pd.Index(stations[STATION_ID].astype(str).unique())
    own_known = station_ids.get_indexer(own_txt) >= 0
    # an unknown station is reported by _check_sighting_deployments
    for k in np.flatnonzero(~own_blank & own_known & (own_txt != dep_st)).tolist():
        chk.add(
            f"deployment '{ids[k]}' is at station '{dep_st[k]}' in {where}, but the "
            f"sighting names station '{own_txt[k]}'. Fix the station or the "
            "deployment id.",
            path=path,
            row=rws[idx[k]],
            column=DEPLOYMENT_ID,
        )
    if CAMERA_ID in sightings.columns and CAMERA_ID in stations.columns:
        cam = sightings[CAMERA_ID].astype(object).iloc[idx]
        cam_blank = _blank(cam)
        cam_txt = cam.where(~cam_blank, "").astype(str).str.strip().to_numpy()
        dep_cam = deps[CAMERA_ID].astype(str).reindex(ids).to_numpy()
        bad = ~cam_blank & (cam_txt != dep_cam) & (own_txt == dep_st)
        for k in np.flatnonzero(bad).tolist():
            chk.add(
                f"deployment '{ids[k]}' is camera '{dep_cam[k]}' in {where}, but "
                f"the sighting names camera '{cam_txt[k]}'. Fix the camera or the "
                "deployment id.",
                path=path,
                row=rws[idx[k]],
                column=DEPLOYMENT_ID,
            )


def _duplicate_rows(frame: pd.DataFrame) -> tuple[_Any, _Any]:
    """Positions of rows repeating an earlier row, and of that earlier row."""
    import numpy as np
    import pandas as pd

    if frame.empty:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    dup = frame.duplicated(keep="first").to_numpy()
    grp = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup()
    first_of = (
        pd.Series(np.arange(len(frame))).groupby(grp.to_numpy()).transform("min")
    ).to_numpy()
    return np.flatnonzero(dup), first_of[dup]


def _check_duplicates(
    sightings: pd.DataFrame, chk: ProblemCollector, path: _Any, rws: list[int]
) -> list[str]:
    """Repeated records: the same media id (error), or the same individual at
    the same station and time without media ids (warning, returned)."""
    import numpy as np
    import pandas as pd

    def text(col: str) -> pd.Series:
        if col not in sightings.columns:
            return pd.Series("", index=sightings.index, dtype=object)
        ser = sightings[col].astype(object)
        return ser.where(~_blank(ser), "").astype(str).str.strip()

    media = text(MEDIA_ID)
    with_media = (media != "").to_numpy()
    warnings: list[str] = []
    key = pd.DataFrame({"m": media, "s": text(SPECIES), "i": text(INDIVIDUAL_ID)})[
        with_media
    ]
    pos, first = _duplicate_rows(key)
    if len(pos):
        back = np.flatnonzero(with_media)
        rows = [rws[back[p]] for p in pos]
        pairs = [
            f"{r} (= row {rws[back[f]]})"
            for r, f in zip(rows[:10], first[:10], strict=False)
        ]
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        chk.add(
            f"{len(rows)} records repeat an earlier record with the same media id, "
            f"species and individual (rows {', '.join(pairs)}{more}); each would be "
            "counted again. Remove the repeated rows (keep one row per media file "
            "and animal).",
            path=path,
            row=rows[0],
            column=MEDIA_ID,
        )
    ind = text(INDIVIDUAL_ID)
    no_media = ~with_media & (ind != "").to_numpy()
    key = pd.DataFrame(
        {
            "st": text(STATION_ID),
            "c": text(CAMERA_ID),
            "t": pd.to_datetime(sightings[TIMESTAMP]).astype(str),
            "s": text(SPECIES),
            "i": ind,
        }
    )[no_media]
    pos, _first = _duplicate_rows(key)
    if len(pos):
        back = np.flatnonzero(no_media)
        rows = [rws[back[p]] for p in pos]
        warnings.append(
            f"{path or 'sightings'} rows {_first_rows(rows)}, column "
            f"'{INDIVIDUAL_ID}': {len(rows)} records repeat an earlier record of the "
            "same individual at the same station and time (no media id tells them "
            "apart); they are counted each time. Remove them if they are copies, "
            "or add a media_id column."
        )
    return warnings


def _check_sighting_values(
    sightings: pd.DataFrame,
    chk: ProblemCollector,
    path: _Any,
    rws: list[int],
) -> None:
    """Missing timestamps, counts that are not whole numbers >= 1, sex not F/M."""
    import numpy as np
    import pandas as pd

    ts = pd.to_datetime(sightings[TIMESTAMP])
    for i in np.flatnonzero(ts.isna().to_numpy()).tolist():
        chk.add(
            "timestamp is missing. Give the date and time of the photo.",
            path=path,
            row=rws[i],
            column=TIMESTAMP,
        )
    if COUNT in sightings.columns:
        raw = sightings[COUNT].to_numpy(dtype=object)
        for i, msg in count_problems(raw):
            chk.add(msg, path=path, row=rws[i], column=COUNT)
    if SEX in sightings.columns:
        sx = sightings[SEX].astype("object")
        for i in range(len(sightings)):
            v = sx.iloc[i]
            if v is None or pd.isna(v) or v in ("F", "M"):
                continue
            chk.add(
                f"sex {v!r} is not F or M. Use F, M (female/male) or leave it empty.",
                path=path,
                row=rws[i],
                column=SEX,
            )


def _check_sighting_deployments(
    sightings: pd.DataFrame,
    stations: pd.DataFrame,
    problems: pd.DataFrame | None,
    chk: ProblemCollector,
    path: _Any,
    rws: list[int],
    stations_path: _Any,
) -> tuple[_Any, list[str]]:
    """Resolve each sighting's deployment and report those that have none.

    Returns the deployment ids and the warnings for sightings on the edge day
    of a malfunction (kept, but worth a look).
    """
    import numpy as np
    import pandas as pd

    sid = sightings[STATION_ID].astype("object").to_numpy()
    dep, status, _ = resolve_deployments(sightings, stations, problems)
    where = f" in {stations_path}" if stations_path else " in the stations table"
    edges: list[str] = []
    times = pd.to_datetime(sightings[TIMESTAMP]).to_numpy()
    known = sorted(map(str, pd.unique(stations[STATION_ID].astype(str))))
    hints: dict[str, str | None] = {}  # one suggestion per unknown id
    for i in np.flatnonzero(status != "ok"):
        code = status[i]
        if code == "no_time":
            continue
        s = sid[i]
        ts_i = pd.Timestamp(times[i])
        if code == "unknown_station":
            if s is None or pd.isna(s) or str(s).strip() == "":
                continue
            if str(s) not in hints:
                # many unknown ids mean another survey's file, not typos: the
                # first MAX_HINTS get a suggestion (a listing shows no more)
                hints[str(s)] = (
                    suggest_id(str(s), known) if len(hints) < MAX_HINTS else None
                )
            hint = hints[str(s)]
            msg = f"station '{s}' is not{where}."
            msg += (
                f" Did you mean '{hint}'?"
                if hint
                else " Add it to the stations or fix the id."
            )
            chk.add(msg, path=path, row=rws[i], column=STATION_ID)
        elif code == "unknown_camera":
            c = sightings[CAMERA_ID].iloc[i]
            chk.add(
                f"camera '{c}' at station '{s}' is not{where}. Fix the camera id "
                "or add the deployment.",
                path=path,
                row=rws[i],
                column=CAMERA_ID,
            )
        elif code == "outside":
            chk.add(
                f"timestamp {ts_i} is outside every deployment of station '{s}'. "
                "Check the date (and the camera clock) or the setup/retrieval dates.",
                path=path,
                row=rws[i],
                column=TIMESTAMP,
            )
        elif code == "malfunction_edge":
            edges.append(
                f"{path or 'sightings'} row {rws[i]}: timestamp {ts_i} is on the first "
                f"or last day of a malfunction interval of station '{s}'; the camera "
                "was evidently working then. Kept; check the malfunction dates."
            )
        elif code == "malfunction":
            chk.add(
                f"timestamp {ts_i} falls in a malfunction interval of station '{s}'. "
                "Check the date or the malfunction interval.",
                path=path,
                row=rws[i],
                column=TIMESTAMP,
            )
    return dep, edges


def _check_sightings(
    sightings: pd.DataFrame,
    stations: pd.DataFrame | None,
    problems: pd.DataFrame | None,
    chk: ProblemCollector,
    *,
    path: _Any = None,
    rows: _Iterable[int] | None = None,
    value_checks: bool = True,
    stations_path: _Any = None,
) -> _Any:
    """Check sightings into ``chk``; their deployment ids when ``stations`` given."""
    import warnings

    import numpy as np

    from .errors import TrapscapeWarning

    required = [STATION_ID, TIMESTAMP, SPECIES]
    miss = [c for c in required if c not in sightings.columns]
    for c in miss:
        chk.add(
            missing_column_message(c, SIGHTING_ALIASES, list(sightings.columns), []),
            path=path,
            column=c,
            kind="schema",
        )
    if miss:
        return None
    rws = _rows_for(len(sightings), rows)
    if value_checks:
        _check_sighting_values(sightings, chk, path, rws)
    _check_sex_conflicts(sightings, chk, path, rws)
    repeats = _check_duplicates(sightings, chk, path, rws)
    for message in repeats:
        warnings.warn(message, TrapscapeWarning, stacklevel=4)
    for i in np.flatnonzero(_blank(sightings[STATION_ID])):
        chk.add(
            "station id is empty. Give the station of every sighting.",
            path=path,
            row=rws[i],
            column=STATION_ID,
        )
    for i in np.flatnonzero(_blank(sightings[SPECIES])):
        chk.add(
            "species is empty. Name the species of every sighting.",
            path=path,
            row=rws[i],
            column=SPECIES,
        )
    if stations is None:
        return None
    _check_given_deployments(sightings, stations, chk, path, rws, stations_path)
    dep, edges = _check_sighting_deployments(
        sightings, stations, problems, chk, path, rws, stations_path
    )
    for message in edges:
        warnings.warn(message, TrapscapeWarning, stacklevel=4)
    return dep


def check_sightings(
    sightings: pd.DataFrame,
    stations: pd.DataFrame | None = None,
    problems: pd.DataFrame | None = None,
    *,
    path: _Any = None,
    rows: _Sequence[int] | None = None,
) -> list[Problem]:
    """Check canonical sightings, against the stations when given.

    Rules: required columns; missing timestamps, station ids or species;
    count a positive whole number; sex F/M/empty; station or camera unknown;
    timestamp outside every deployment of its station (camera), or inside a
    malfunction interval of every deployment that covers it.

    Returns
    -------
    list of Problem
        Empty when the sightings are valid.
    """
    chk = ProblemCollector()
    _check_sightings(sightings, stations, problems, chk, path=path, rows=rows)
    return chk.problems


def _polygon_kind(kind: str) -> bool:
    return kind != "border"


def check_boundaries(
    layer: gpd.GeoDataFrame,
    *,
    kind: str = "study_area",
    path: _Any = None,
) -> list[Problem]:
    """Check one boundary layer.

    Rules: not empty; a CRS is set; every geometry present, non-empty and
    valid (no self-intersections); polygons for areas, lines for ``border``;
    a ``name`` column for ``zones`` and ``parks``.

    Returns
    -------
    list of Problem
    """
    import shapely

    chk = ProblemCollector()
    if layer is None or len(layer) == 0:
        chk.add(
            f"the {kind} layer has no features. Give a file with at least one.",
            path=path,
            kind="geometry",
        )
        return chk.problems
    if layer.crs is None:
        chk.add(
            f"the {kind} layer has no CRS. Save it with its CRS (e.g. a .prj "
            "file or a GeoPackage).",
            path=path,
            kind="crs",
        )
    if kind in ("zones", "parks") and NAME not in layer.columns:
        chk.add(
            f"the {kind} layer has no '{NAME}' column. Add one or pass name_field=.",
            path=path,
            column=NAME,
            kind="schema",
        )
    want = (
        ("LineString", "MultiLineString")
        if kind == "border"
        else ("Polygon", "MultiPolygon")
    )
    for i, g in enumerate(layer.geometry.to_numpy(), start=1):
        if g is None or g.is_empty:
            chk.add(
                "feature has no geometry. Remove it or draw its shape.",
                path=path,
                row=i,
                column="geometry",
                kind="geometry",
            )
            continue
        if g.geom_type not in want and not (
            kind == "border" and g.geom_type in ("Polygon", "MultiPolygon")
        ):
            chk.add(
                f"feature is a {g.geom_type}; the {kind} layer needs "
                f"{' or '.join(want)}.",
                path=path,
                row=i,
                column="geometry",
                kind="geometry",
            )
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            chk.add(
                f"invalid geometry ({reason}). Repair it (e.g. shapely make_valid "
                "or QGIS 'Fix geometries').",
                path=path,
                row=i,
                column="geometry",
                kind="geometry",
            )
    return chk.problems


def check_survey(survey: Survey) -> list[Problem]:
    """Check a whole survey: stations, malfunctions, sightings and boundaries.

    Besides the per-layer rules, every layer must share the survey's
    projected CRS and stations must lie within 10 km of the study area.

    Returns
    -------
    list of Problem
    """
    from .crs import as_crs

    chk = ProblemCollector()
    crs = as_crs(survey.crs)
    if not crs.is_projected:
        chk.add(
            f"survey CRS {crs.name} is geographic; analysis needs metres. "
            "Pick a projected CRS such as EPSG:32652.",
            kind="crs",
        )
    for label in ("stations", *BOUNDARY_KINDS):
        layer = getattr(survey, label)
        if layer is None:
            continue
        if layer.crs is None:
            chk.add(
                f"layer '{label}' has no CRS. Set it to the survey CRS.", kind="crs"
            )
        elif not as_crs(layer.crs).equals(crs):
            chk.add(
                f"layer '{label}' is in {as_crs(layer.crs).name}, not the survey CRS "
                f"{crs.name}. Reproject it with trapscape.crs.to_projected().",
                kind="crs",
            )
    src = survey.sources or {}
    _check_stations(
        survey.stations,
        survey.problems,
        chk,
        path=src.get("stations"),
        study_area=survey.study_area,
    )
    _check_sightings(
        survey.sightings,
        survey.stations,
        survey.problems,
        chk,
        path=src.get("sightings"),
    )
    for label in BOUNDARY_KINDS:
        layer = getattr(survey, label)
        if layer is not None:
            for p in check_boundaries(layer, kind=label, path=src.get(label)):
                chk.add(p.message, path=p.path, row=p.row, column=p.column)
    return chk.problems
