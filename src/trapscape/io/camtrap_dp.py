"""Camtrap DP packages (Bubnicki et al. 2023) read into a Survey."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import ProblemCollector
from ..survey import Survey, _empty_problems
from .sightings import _SEX
from .tables import (
    PathLike,
    _check_lonlat,
    _is_blank,
    _parse_float,
    _pick_crs,
    _read_csv,
    _strings,
)

logger = logging.getLogger(__name__)


def _offset_of(text: str) -> pd.Timedelta | None:
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    off = ts.utcoffset()
    return None if off is None else pd.Timedelta(off)


def _to_local(
    texts: np.ndarray,
    offsets: np.ndarray,
    *,
    chk: ProblemCollector,
    path: str,
    column: str,
) -> np.ndarray:
    """Parse ISO strings and express them as naive times at the given offsets."""
    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i, (t, off) in enumerate(zip(texts, offsets, strict=False)):
        if t == "":
            continue
        try:
            ts = pd.Timestamp(t)
        except (ValueError, TypeError):
            chk.add(
                f"'{t}' is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss+hh:mm).",
                path=path,
                row=i + 1,
                column=column,
            )
            continue
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
            ts = ts + (off if off is not None and not pd.isna(off) else pd.Timedelta(0))
        out[i] = np.datetime64(ts.as_unit("ns").to_datetime64(), "ns")
    return out


def _dp_resource(
    pkg: dict[str, Any], name: str, folder: Path, chk: ProblemCollector, dp_path: str
) -> pd.DataFrame | None:
    res = next((r for r in pkg.get("resources", []) if r.get("name") == name), None)
    if res is None:
        return None
    if "data" in res and isinstance(res["data"], list):
        return pd.DataFrame(res["data"]).astype(object)
    paths = res.get("path")
    if paths is None:
        chk.add(
            f"resource '{name}' has no path or data. Give the CSV file's path.",
            path=dp_path,
        )
        return None
    if isinstance(paths, str):
        paths = [paths]
    frames = []
    for p in paths:
        if re.match(r"^https?://", p):
            chk.add(
                f"resource '{name}' points to a URL ({p}); download it next to "
                "datapackage.json and use a relative path.",
                path=dp_path,
            )
            return None
        f = _read_csv(folder / p, chk)
        if f is None:
            return None
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def read_camtrap_dp(
    path: PathLike,
    *,
    crs: Any = None,
) -> Survey:
    """Read a Camtrap DP 1.0 data package into a :class:`~trapscape.survey.Survey`.

    Mapping: each deployment is one camera deployment; ``locationID`` is the
    station (``locationName``, then the deployment id, when missing);
    ``cameraID`` the camera (the deployment id when missing); ``individualID``
    the individual.  Several deployments of one camera at one location are
    gaps in effort.  Only ``observationType == "animal"`` observations become
    sightings.  To avoid counting one animal twice, a deployment's
    event-level observations are used when it has any, else its media-level
    ones.  Times are converted to the UTC offset of the deployment's
    ``deploymentStart`` and stored naive.

    Parameters
    ----------
    path
        ``datapackage.json`` or the folder holding it.
    crs
        Projected CRS for the survey (default: UTM zone of the deployments).

    Returns
    -------
    Survey

    References
    ----------
    Bubnicki J.W. et al. (2023) Camtrap DP. Remote Sens. Ecol. Conserv.
    """
    chk = ProblemCollector()
    survey = _read_camtrap_dp(path, chk, crs=crs)
    chk.raise_if_any()
    assert survey is not None
    return survey


def _read_camtrap_dp(
    path: PathLike, chk: ProblemCollector, *, crs: Any = None
) -> Survey | None:
    p = Path(path)
    dp = p / "datapackage.json" if p.is_dir() else p
    dps = os.fspath(dp)
    if not dp.exists():
        chk.add(
            f"file not found (looked in {dp.resolve()}). Give a datapackage.json "
            "or its folder.",
            path=dps,
        )
        return None
    try:
        pkg = json.loads(dp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        chk.add(f"is not valid JSON ({err}). Fix the file.", path=dps)
        return None
    folder = dp.parent
    deps = _dp_resource(pkg, "deployments", folder, chk, dps)
    obs = _dp_resource(pkg, "observations", folder, chk, dps)
    media = _dp_resource(pkg, "media", folder, chk, dps)
    if deps is None:
        if not chk.problems:
            chk.add(
                "has no 'deployments' resource. A Camtrap DP package needs "
                "deployments, media and observations.",
                path=dps,
                kind="schema",
            )
        return None
    dpath = os.fspath(folder / "deployments.csv")
    cols = {c.lower(): c for c in deps.columns}
    need = ["deploymentid", "latitude", "longitude", "deploymentstart", "deploymentend"]
    miss = [c for c in need if c not in cols]
    for c in miss:
        chk.add(
            f"required deployments field '{c}' is missing. Add it (Camtrap DP 1.0 "
            "deployments schema).",
            path=dpath,
            column=c,
            kind="schema",
        )
    if miss:
        return None
    n = len(deps)
    rows = np.arange(1, n + 1)
    did = _strings(deps[cols["deploymentid"]])
    loc = _strings(deps[cols["locationid"]]) if "locationid" in cols else np.full(n, "")
    if "locationname" in cols:
        lname = _strings(deps[cols["locationname"]])
        loc = np.array([a or b for a, b in zip(loc, lname, strict=False)], dtype=object)
    loc = np.array([a or d for a, d in zip(loc, did, strict=False)], dtype=object)
    cam = _strings(deps[cols["cameraid"]]) if "cameraid" in cols else np.full(n, "")
    cam = np.array([c or d for c, d in zip(cam, did, strict=False)], dtype=object)
    start_txt = _strings(deps[cols["deploymentstart"]])
    end_txt = _strings(deps[cols["deploymentend"]])
    offsets = np.array([_offset_of(t) if t else None for t in start_txt], dtype=object)
    setup = _to_local(start_txt, offsets, chk=chk, path=dpath, column="deploymentStart")
    retr = _to_local(end_txt, offsets, chk=chk, path=dpath, column="deploymentEnd")
    for i in np.flatnonzero(pd.isna(setup) & (start_txt == "")):
        chk.add(
            "deploymentStart is missing. Fill in when the camera was set up.",
            path=dpath,
            row=int(rows[i]),
            column="deploymentStart",
        )
    for i in np.flatnonzero(pd.isna(retr) & (end_txt == "")):
        chk.add(
            "deploymentEnd is missing. Fill in when the camera was retrieved.",
            path=dpath,
            row=int(rows[i]),
            column="deploymentEnd",
        )
    lon = _parse_float(
        _strings(deps[cols["longitude"]]),
        chk=chk,
        path=dpath,
        column="longitude",
        rows=rows,
    )
    lat = _parse_float(
        _strings(deps[cols["latitude"]]),
        chk=chk,
        path=dpath,
        column="latitude",
        rows=rows,
    )
    _check_lonlat(
        lon, lat, chk=chk, path=dpath, cols=("longitude", "latitude"), rows=rows
    )
    used = {
        cols[c]
        for c in (
            "deploymentid",
            "locationid",
            "cameraid",
            "deploymentstart",
            "deploymentend",
            "latitude",
            "longitude",
        )
        if c in cols
    }
    frame = pd.DataFrame(
        {
            V.STATION_ID: loc,
            V.CAMERA_ID: cam,
            V.DEPLOYMENT_ID: did,
            V.SETUP: setup,
            V.RETRIEVAL: retr,
            V.SETUP_TIME_KNOWN: True,
            V.RETRIEVAL_TIME_KNOWN: True,
        }
    )
    for c in (V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID):
        frame[c] = frame[c].astype(object)
    for c in deps.columns:
        if c not in used:
            frame[c] = [pd.NA if _is_blank(v) else v for v in deps[c].to_numpy()]
            frame[c] = frame[c].astype(object)
    stations = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    V._check_stations(stations, None, chk, path=dpath, rows=rows, report_missing=False)

    # observations -> sightings
    opath = os.fspath(folder / "observations.csv")
    if obs is None:
        obs = pd.DataFrame(columns=["deploymentID", "scientificName"])
    ocols = {c.lower(): c for c in obs.columns}
    for c in ("deploymentid", "scientificname"):
        if c not in ocols:
            chk.add(
                f"required observations field '{c}' is missing. Add it (Camtrap DP "
                "1.0 observations schema).",
                path=opath,
                column=c,
                kind="schema",
            )
            return None
    o = obs.copy()
    o["_row"] = np.arange(1, len(o) + 1)
    if "observationtype" in ocols:
        o = o[o[ocols["observationtype"]].astype(str).str.strip() == "animal"]
    level = (
        o[ocols["observationlevel"]].astype(str).str.strip()
        if "observationlevel" in ocols
        else pd.Series("media", index=o.index)
    )
    o_dep = o[ocols["deploymentid"]].astype(str).str.strip()
    has_event = set(o_dep[level == "event"])
    keep = np.where(o_dep.isin(has_event), level == "event", level != "event")
    o = o[keep]
    o_dep = o_dep[keep]
    ts_txt = (
        _strings(o[ocols["eventstart"]])
        if "eventstart" in ocols
        else np.full(len(o), "", dtype=object)
    )
    if media is not None and "mediaid" in ocols:
        mcols = {c.lower(): c for c in media.columns}
        if "mediaid" in mcols and "timestamp" in mcols:
            mt = dict(
                zip(
                    _strings(media[mcols["mediaid"]]),
                    _strings(media[mcols["timestamp"]]),
                    strict=False,
                )
            )
            mids = _strings(o[ocols["mediaid"]])
            ts_txt = np.array(
                [t or mt.get(m, "") for t, m in zip(ts_txt, mids, strict=False)],
                dtype=object,
            )
    off_by_dep = dict(zip(did, offsets, strict=False))
    o_off = np.array([off_by_dep.get(d) for d in o_dep], dtype=object)
    unknown = ~o_dep.isin(set(did)).to_numpy()
    orows = o["_row"].to_numpy()
    for i in np.flatnonzero(unknown):
        chk.add(
            f"deploymentID '{o_dep.iloc[i]}' is not in deployments.csv. Fix the id.",
            path=opath,
            row=int(orows[i]),
            column="deploymentID",
        )
    chk2 = ProblemCollector()
    ts = _to_local(ts_txt, o_off, chk=chk2, path=opath, column="eventStart")
    for prob in chk2.problems:  # re-number to the file's rows
        chk.add(
            prob.message,
            path=prob.path,
            row=None if prob.row is None else int(orows[prob.row - 1]),
            column=prob.column,
        )
    for i in np.flatnonzero(ts_txt == ""):
        chk.add(
            "observation has no time (eventStart or media timestamp). Add it.",
            path=opath,
            row=int(orows[i]),
            column="eventStart",
        )
    loc_by_dep = dict(zip(did, loc, strict=False))
    cam_by_dep = dict(zip(did, cam, strict=False))
    m_ = len(o)

    def col(name: str) -> np.ndarray:
        return (
            _strings(o[ocols[name]]) if name in ocols else np.full(m_, "", dtype=object)
        )

    sex = [(_SEX.get(v.lower(), pd.NA) if v else pd.NA) for v in col("sex")]
    counts = []
    for i, v in enumerate(col("count")):
        try:
            c = int(float(v)) if v else 1
        except ValueError:
            c = -1
        if c < 1:
            chk.add(
                f"count '{v}' is not a positive whole number. Use 1, 2, ... or "
                "leave it empty.",
                path=opath,
                row=int(orows[i]),
                column="count",
            )
            c = 1
        counts.append(c)
    sightings = pd.DataFrame(
        {
            V.STATION_ID: [loc_by_dep.get(d, d) for d in o_dep],
            V.CAMERA_ID: pd.array(
                [cam_by_dep.get(d, pd.NA) for d in o_dep], dtype="string"
            ),
            V.DEPLOYMENT_ID: pd.array(list(o_dep), dtype="string"),
            V.TIMESTAMP: ts,
            V.SPECIES: list(col("scientificname")),
            V.INDIVIDUAL_ID: pd.array(
                [v or pd.NA for v in col("individualid")], dtype="string"
            ),
            V.SEX: pd.array(sex, dtype="string"),
            V.MEDIA_ID: pd.array([v or pd.NA for v in col("mediaid")], dtype="string"),
            V.COUNT: np.asarray(counts, dtype=np.int64),
            "observation_id": pd.array(list(col("observationid")), dtype="string"),
            "event_id": pd.array([v or pd.NA for v in col("eventid")], dtype="string"),
            "observation_level": pd.array(list(level[keep]), dtype="string"),
        }
    )
    for c in (V.STATION_ID, V.SPECIES):
        sightings[c] = sightings[c].astype(object)
    sightings = sightings.reset_index(drop=True)
    if len(chk):
        return None
    # working-period check (deployment is known; timestamps must fall inside it)
    a, b = V._window(stations)
    win = pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()}, index=did)
    wa = win["a"].reindex(sightings[V.DEPLOYMENT_ID].astype(str)).to_numpy()
    wb = win["b"].reindex(sightings[V.DEPLOYMENT_ID].astype(str)).to_numpy()
    t = sightings[V.TIMESTAMP].to_numpy()
    outside = (t < wa) | (t > wb)
    for i in np.flatnonzero(outside):
        chk.add(
            f"observation at {pd.Timestamp(t[i])} is outside its deployment "
            f"({pd.Timestamp(wa[i])} to {pd.Timestamp(wb[i])}). Check the "
            "timestamps.",
            path=opath,
            row=int(orows[i]),
            column="eventStart",
        )
    if len(chk):
        return None
    target = _pick_crs([stations], crs)
    name = str(pkg.get("name") or pkg.get("title") or dp.parent.name)
    return Survey(
        stations=stations.to_crs(target),
        sightings=sightings,
        problems=_empty_problems(),
        crs=target,
        name=name,
        sources={"camtrap_dp": dps, "stations": dpath, "sightings": opath},
    )
