"""Camtrap DP packages (Bubnicki et al. 2023) read into a Survey."""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import ProblemCollector, TrapscapeWarning
from ..survey import Survey, _empty_problems
from .camtrap_dp_write import write_camtrap_dp
from .sightings import _SEX
from .tables import (
    PathLike,
    _check_crs_area,
    _check_lonlat,
    _is_blank,
    _parse_float,
    _pick_crs,
    _read_csv,
    _strings,
    _usable_file,
    _window_message,
)

__all__ = [
    "MAX_DESCRIPTOR_BYTES",
    "MAX_DESCRIPTOR_DEPTH",
    "read_camtrap_dp",
    "resource_path_problem",
    "write_camtrap_dp",
]

logger = logging.getLogger(__name__)


def _offset_of(text: str) -> pd.Timedelta | None:
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    off = ts.utcoffset()
    return None if off is None else pd.Timedelta(off)


_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$"
)


def _offsets_ns(offsets: np.ndarray) -> np.ndarray:
    """UTC offsets (Timedelta or None) as int64 nanoseconds (None: 0)."""
    ser = pd.Series(offsets, dtype=object)
    uniq = {o for o in ser.drop_duplicates() if o is not None and not pd.isna(o)}
    ns = {o: pd.Timedelta(o).value for o in uniq}
    return ser.map(ns).fillna(0).to_numpy(dtype=np.int64)


def _to_local(
    texts: np.ndarray,
    offsets: np.ndarray,
    *,
    chk: ProblemCollector,
    path: str,
    column: str,
) -> np.ndarray:
    """Parse ISO strings and express them as naive times at the given offsets.

    Date-times with a UTC offset (all of them in a conforming package) are
    converted at once; any other text is parsed one by one.
    """
    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    window = V.date_window()
    ser = pd.Series(texts, dtype=object)
    fast = ser.str.match(_WITH_OFFSET).fillna(False).to_numpy(dtype=bool).copy()
    if fast.any():
        utc = pd.to_datetime(ser[fast], utc=True, errors="coerce", format="ISO8601")
        naive = utc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        local = naive + _offsets_ns(offsets[fast]).astype("timedelta64[ns]")
        ok = ~np.isnat(local)
        inside = ok & (local >= window[0].to_datetime64())
        inside &= local <= window[1].to_datetime64()
        idx = np.flatnonzero(fast)
        out[idx[inside]] = local[inside]
        fast[idx[~ok]] = False  # unparsable: reported by the loop below
        for i in idx[ok & ~inside]:
            chk.add(
                _window_message(texts[i], window), path=path, row=i + 1, column=column
            )
    for i in np.flatnonzero(~fast):
        t, off = texts[i], offsets[i]
        if t == "":
            continue
        try:
            ts = pd.Timestamp(t)
        except (ValueError, TypeError):
            chk.add(
                f"'{t}' is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss+hh:mm).",
                path=path,
                row=int(i) + 1,
                column=column,
            )
            continue
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
            ts = ts + (off if off is not None and not pd.isna(off) else pd.Timedelta(0))
        if not window[0] <= ts <= window[1]:
            chk.add(
                _window_message(t, window), path=path, row=int(i) + 1, column=column
            )
            continue
        out[i] = np.datetime64(ts.as_unit("ns").to_datetime64(), "ns")
    return out


#: largest datapackage.json read (bytes); a descriptor is metadata, not data
MAX_DESCRIPTOR_BYTES = 10 * 1024 * 1024
#: deepest nesting of JSON arrays/objects accepted in a descriptor
MAX_DESCRIPTOR_DEPTH = 64

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text (strings skipped), without parsing."""
    bare = _JSON_STRING.sub('""', text).encode("utf-8", errors="replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    step = np.zeros(len(codes), dtype=np.int32)
    step[(codes == ord("[")) | (codes == ord("{"))] = 1
    step[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def resource_path_problem(
    folder: Path, path: object, *, allow_urls: bool = False
) -> str | None:
    """Why a resource ``path`` may not be read, or None when it is safe.

    A path is safe when it names a regular file inside ``folder`` (the
    package): relative, without ``..``, and not a link leading out of the
    package.  Links are resolved without opening anything, so no byte of a
    file outside the package is read.  URLs are refused unless
    ``allow_urls`` (and even then nothing is downloaded: the caller gets
    None back and must not read the path as a file).
    """
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        return f"path {path!r} is not a file name. Give the CSV file's relative path."
    if _URL.match(path):
        if allow_urls:
            return None
        return (
            f"path '{path}' is a URL; trapscape reads only files inside the "
            "package and downloads nothing. Download it next to datapackage.json "
            "and give its relative path."
        )
    parts = re.split(r"[\\/]", path)
    if (
        path.startswith(("/", "\\", "~"))
        or re.match(r"^[A-Za-z]:", path)
        or os.path.isabs(path)
    ):
        return (
            f"path '{path}' is absolute. Give a path relative to the folder of "
            "datapackage.json (e.g. 'deployments.csv')."
        )
    if ".." in parts:
        return (
            f"path '{path}' climbs out of the package ('..'). Put the file inside "
            "the package folder and give its relative path."
        )
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, target]) != root:
        return (
            f"path '{path}' is a link leading outside the package; it was not "
            "read. Copy the file into the package folder."
        )
    return None


def _dp_resource(
    pkg: dict[str, Any], name: str, folder: Path, chk: ProblemCollector, dp_path: str
) -> pd.DataFrame | None:
    res = next(
        (
            r
            for r in pkg.get("resources", [])
            if isinstance(r, dict) and r.get("name") == name
        ),
        None,
    )
    if res is None:
        return None
    if "data" in res and isinstance(res["data"], list):
        rows = res["data"]
        if not all(isinstance(r, dict) for r in rows):
            chk.add(
                f"resource '{name}': inline data must be a list of objects "
                "(one per row). Fix the descriptor.",
                path=dp_path,
            )
            return None
        return pd.DataFrame(rows).astype(object)
    paths = res.get("path")
    if paths is None:
        chk.add(
            f"resource '{name}' has no path or data. Give the CSV file's path.",
            path=dp_path,
        )
        return None
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not paths:
        chk.add(
            f"resource '{name}': path must be a file name or a list of them. "
            "Fix the descriptor.",
            path=dp_path,
        )
        return None
    frames = []
    for p in paths:
        why = resource_path_problem(folder, p)
        if why is not None:
            chk.add(f"resource '{name}': {why}", path=dp_path)
            return None
        f = _read_csv(folder / p, chk, allow_no_rows=name == "media")
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

    The package is first held to the Camtrap DP 1.0 standard (see
    :mod:`trapscape.io.camtrap_dp_standard`), and every resource must lie
    inside the package folder (:func:`resource_path_problem`).

    Parameters
    ----------
    path
        ``datapackage.json`` or the folder holding it.
    crs
        Projected CRS for the survey (default: UTM zone of the deployments).

    Returns
    -------
    Survey

    Raises
    ------
    InputError
        Every problem of the descriptor and tables at once, each with its
        file, 1-based data row and column.

    Warns
    -----
    TrapscapeWarning
        A profile version other than 1.0.x, or columns that are not fields of
        the standard (only when there are no errors).

    References
    ----------
    Bubnicki J.W. et al. (2023) Camtrap DP. Remote Sens. Ecol. Conserv.
    """
    chk = ProblemCollector()
    survey = _read_camtrap_dp(path, chk, crs=crs)
    chk.raise_if_any()
    assert survey is not None
    return survey


@dataclass(frozen=True)
class _Deployments:
    """The deployments resource as canonical stations, and what sightings need."""

    stations: gpd.GeoDataFrame  # EPSG:4326
    deployment: np.ndarray  # deploymentID per row
    station: np.ndarray  # station per row
    camera: np.ndarray  # camera per row
    offsets: np.ndarray  # UTC offset of each deploymentStart (or None)


def _read_package(
    path: PathLike, chk: ProblemCollector
) -> tuple[Path, dict[str, Any]] | None:
    """(datapackage.json, its parsed content); None (reported) when unusable.

    The descriptor must be a JSON object of at most
    :data:`MAX_DESCRIPTOR_BYTES` nested at most :data:`MAX_DESCRIPTOR_DEPTH`
    deep, with a list of resource objects.
    """
    p = Path(path)
    dp = p / "datapackage.json" if p.is_dir() else p
    where = os.fspath(dp)
    if not _usable_file(dp, chk, where, dirs=False):
        return None
    size = dp.stat().st_size
    if size > MAX_DESCRIPTOR_BYTES:
        chk.add(
            f"is {size:,} bytes; a descriptor is at most {MAX_DESCRIPTOR_BYTES:,} "
            "bytes. Keep data in the CSV resources, not in datapackage.json.",
            path=where,
        )
        return None
    try:
        text = dp.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        chk.add(f"is not UTF-8 text ({err}). Save it as UTF-8.", path=where)
        return None
    depth = _json_depth(text)
    if depth > MAX_DESCRIPTOR_DEPTH:
        chk.add(
            f"nests JSON {depth} levels deep; at most {MAX_DESCRIPTOR_DEPTH} are "
            "read. Fix the descriptor.",
            path=where,
        )
        return None
    try:
        pkg = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        chk.add(f"is not valid JSON ({err}). Fix the file.", path=where)
        return None
    if not isinstance(pkg, dict):
        chk.add(
            f"is a JSON {type(pkg).__name__}, not an object. A Camtrap DP "
            'descriptor is an object such as {"resources": [...], ...}.',
            path=where,
        )
        return None
    res = pkg.get("resources", [])
    if not isinstance(res, list) or not all(isinstance(r, dict) for r in res):
        chk.add(
            "'resources' must be a list of objects (one per table). Fix the "
            "descriptor.",
            path=where,
        )
        return None
    return dp, pkg


def _fields(
    frame: pd.DataFrame,
    need: list[str],
    resource: str,
    chk: ProblemCollector,
    path: str,
    *,
    first_only: bool = False,
) -> dict[str, str] | None:
    """Lower-case field name -> column; None (reported) when ``need`` is missing."""
    cols = {c.lower(): c for c in frame.columns}
    miss = [c for c in need if c not in cols]
    for c in miss[:1] if first_only else miss:
        chk.add(
            f"required {resource} field '{c}' is missing. Add it (Camtrap DP "
            f"1.0 {resource} schema).",
            path=path,
            column=c,
            kind="schema",
        )
    return None if miss else cols


def _deployment_ids_of(
    deps: pd.DataFrame, cols: dict[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deployment, station, camera) per row; blanks fall back to the deployment.

    The station is ``locationID``, else ``locationName``, else the deployment.
    """
    n = len(deps)
    did = _strings(deps[cols["deploymentid"]])
    loc = _strings(deps[cols["locationid"]]) if "locationid" in cols else np.full(n, "")
    if "locationname" in cols:
        lname = _strings(deps[cols["locationname"]])
        loc = np.array([a or b for a, b in zip(loc, lname, strict=False)], dtype=object)
    loc = np.array([a or d for a, d in zip(loc, did, strict=False)], dtype=object)
    cam = _strings(deps[cols["cameraid"]]) if "cameraid" in cols else np.full(n, "")
    cam = np.array([c or d for c, d in zip(cam, did, strict=False)], dtype=object)
    return did, loc, cam


#: deployments fields that become canonical columns (the others are kept)
_DEPLOYMENT_FIELDS = (
    "deploymentid",
    "locationid",
    "cameraid",
    "deploymentstart",
    "deploymentend",
    "latitude",
    "longitude",
)


def _deployments(
    deps: pd.DataFrame, chk: ProblemCollector, dpath: str
) -> _Deployments | None:
    """Parse and check the deployments (None when required fields are missing)."""
    need = ["deploymentid", "latitude", "longitude", "deploymentstart", "deploymentend"]
    cols = _fields(deps, need, "deployments", chk, dpath)
    if cols is None:
        return None
    rows = np.arange(1, len(deps) + 1)
    did, loc, cam = _deployment_ids_of(deps, cols)
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
    lon, lat = (
        _parse_float(_strings(deps[cols[c]]), chk=chk, path=dpath, column=c, rows=rows)
        for c in ("longitude", "latitude")
    )
    _check_lonlat(
        lon, lat, chk=chk, path=dpath, cols=("longitude", "latitude"), rows=rows
    )
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
    for name in (V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID):
        frame[name] = frame[name].astype(object)
    used = {cols[c] for c in _DEPLOYMENT_FIELDS if c in cols}
    for name in deps.columns:
        if name not in used:
            frame[name] = [pd.NA if _is_blank(v) else v for v in deps[name].to_numpy()]
            frame[name] = frame[name].astype(object)
    stations = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    V._check_stations(stations, None, chk, path=dpath, rows=rows, report_missing=False)
    return _Deployments(stations, did, loc, cam, offsets)


def _animal_observations(
    obs: pd.DataFrame, ocols: dict[str, str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Animal observations, one level per deployment, and their level.

    A deployment's event-level observations are used when it has any, else
    its media-level ones, so no animal is counted twice.  ``_row`` keeps the
    1-based row of the file.
    """
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
    return o[keep], level[keep]


def _observation_times(
    o: pd.DataFrame, ocols: dict[str, str], media: pd.DataFrame | None
) -> np.ndarray:
    """``eventStart`` of each observation, else its media's ``timestamp``."""
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
            need = np.flatnonzero(ts_txt == "")
            mids = _strings(o[ocols["mediaid"]].iloc[need])
            ts_txt = ts_txt.copy()
            ts_txt[need] = [mt.get(m, "") for m in mids]
    return ts_txt


def _local_times(
    ts_txt: np.ndarray,
    o_dep: pd.Series,
    dep: _Deployments,
    orows: np.ndarray,
    chk: ProblemCollector,
    opath: str,
) -> np.ndarray:
    """Observation times at their deployment's UTC offset; problems by file row."""
    for i in np.flatnonzero(~o_dep.isin(set(dep.deployment)).to_numpy()):
        chk.add(
            f"deploymentID '{o_dep.iloc[i]}' is not in deployments.csv. Fix the id.",
            path=opath,
            row=int(orows[i]),
            column="deploymentID",
        )
    off_by_dep = pd.Series(dep.offsets, index=dep.deployment, dtype=object)
    off_by_dep = off_by_dep[~off_by_dep.index.duplicated()]
    o_off = off_by_dep.reindex(o_dep.to_numpy()).to_numpy(dtype=object)
    own = ProblemCollector()
    ts = _to_local(ts_txt, o_off, chk=own, path=opath, column="eventStart")
    for prob in own.problems:  # re-number to the file's rows
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
    return ts


def _counts(
    values: np.ndarray, orows: np.ndarray, chk: ProblemCollector, opath: str
) -> np.ndarray:
    """Whole counts from 1 to MAX_COUNT (blank: 1); other values are reported."""
    counts = np.ones(len(values), dtype=np.int64)
    bad = V.count_problems(values)
    for i, msg in bad:
        chk.add(
            msg + " (Or leave it empty.)",
            path=opath,
            row=int(orows[i]),
            column="count",
        )
    good = np.ones(len(values), dtype=bool)
    good[[i for i, _ in bad]] = False
    num = pd.to_numeric(
        pd.Series(values, dtype=object).replace("", "1"), errors="coerce"
    ).to_numpy(dtype=float)
    counts[good] = num[good].astype(np.int64)
    return counts


def _dp_sightings(
    obs: pd.DataFrame,
    media: pd.DataFrame | None,
    dep: _Deployments,
    chk: ProblemCollector,
    opath: str,
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(canonical sightings, their file rows); None when fields are missing."""
    ocols = _fields(
        obs,
        ["deploymentid", "scientificname"],
        "observations",
        chk,
        opath,
        first_only=True,
    )
    if ocols is None:
        return None
    o, level = _animal_observations(obs, ocols)
    o_dep = o[ocols["deploymentid"]].astype(str).str.strip()
    orows = o["_row"].to_numpy()
    ts_txt = _observation_times(o, ocols, media)
    ts = _local_times(ts_txt, o_dep, dep, orows, chk, opath)
    loc_by_dep = dict(zip(dep.deployment, dep.station, strict=False))
    cam_by_dep = dict(zip(dep.deployment, dep.camera, strict=False))

    def col(name: str) -> np.ndarray:
        if name in ocols:
            return _strings(o[ocols[name]])
        return np.full(len(o), "", dtype=object)

    sex = pd.Series(col("sex"), dtype=object).str.lower().map(_SEX)
    counts = _counts(col("count"), orows, chk, opath)
    sightings = pd.DataFrame(
        {
            V.STATION_ID: o_dep.map(loc_by_dep).fillna(o_dep).to_numpy(),
            V.CAMERA_ID: pd.array(o_dep.map(cam_by_dep).to_numpy(), dtype="string"),
            V.DEPLOYMENT_ID: pd.array(list(o_dep), dtype="string"),
            V.TIMESTAMP: ts,
            V.SPECIES: list(col("scientificname")),
            V.INDIVIDUAL_ID: pd.array(
                [v or pd.NA for v in col("individualid")], dtype="string"
            ),
            V.SEX: pd.array(sex.to_numpy(), dtype="string"),
            V.MEDIA_ID: pd.array([v or pd.NA for v in col("mediaid")], dtype="string"),
            V.COUNT: counts,
            "observation_id": pd.array(list(col("observationid")), dtype="string"),
            "event_id": pd.array([v or pd.NA for v in col("eventid")], dtype="string"),
            "observation_level": pd.array(list(level), dtype="string"),
        }
    )
    for c in (V.STATION_ID, V.SPECIES):
        sightings[c] = sightings[c].astype(object)
    return sightings.reset_index(drop=True), orows


def _check_working_period(
    sightings: pd.DataFrame,
    dep: _Deployments,
    orows: np.ndarray,
    chk: ProblemCollector,
    opath: str,
) -> None:
    """Report observations outside their deployment's setup..retrieval."""
    a, b = V._window(dep.stations)
    win = pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()}, index=dep.deployment)
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


def _resource_file(pkg: dict[str, Any], name: str, folder: Path) -> str:
    """The file named in problems of resource ``name`` (its first path)."""
    res: dict[str, Any] = next(
        (r for r in pkg.get("resources", []) if r.get("name") == name), {}
    )
    p = res.get("path")
    p = p[0] if isinstance(p, list) and p else p
    return os.fspath(folder / (p if isinstance(p, str) else f"{name}.csv"))


def _check_standard(
    pkg: dict[str, Any],
    frames: dict[str, pd.DataFrame | None],
    folder: Path,
    chk: ProblemCollector,
    dps: str,
) -> None:
    """Problems of the descriptor and tables against Camtrap DP 1.0 go to ``chk``.

    Deviations that the standard allows but a reader should know about
    (another profile version, extra columns) are warned about when there
    are no errors.
    """
    from .camtrap_dp_standard import Finding, check_descriptor, check_tables

    found = Finding()
    check_descriptor(pkg, found, dps)
    present = {n: f for n, f in frames.items() if f is not None}
    paths = {n: _resource_file(pkg, n, folder) for n in present}
    check_tables(present, paths, found, descriptor=pkg, dp_path=dps)
    chk.extend(found.errors)
    if len(found.errors):
        return  # the errors come first; warnings follow once they are fixed
    for text in found.warnings:
        warnings.warn(text, TrapscapeWarning, stacklevel=4)


def _read_camtrap_dp(
    path: PathLike, chk: ProblemCollector, *, crs: Any = None
) -> Survey | None:
    """Read and check a package; problems go to ``chk`` (None when there are any)."""
    read = _read_package(path, chk)
    if read is None:
        return None
    dp, pkg = read
    dps = os.fspath(dp)
    folder = dp.parent
    deps = _dp_resource(pkg, "deployments", folder, chk, dps)
    obs = _dp_resource(pkg, "observations", folder, chk, dps)
    media = _dp_resource(pkg, "media", folder, chk, dps)
    before = len(chk)
    frames = {"deployments": deps, "media": media, "observations": obs}
    _check_standard(pkg, frames, folder, chk, dps)
    if deps is None or len(chk) > before:
        if not chk.problems:
            chk.add(
                "has no 'deployments' resource. A Camtrap DP package needs "
                "deployments, media and observations.",
                path=dps,
                kind="schema",
            )
        return None
    dpath = _resource_file(pkg, "deployments", folder)
    dep = _deployments(deps, chk, dpath)
    if dep is None:
        return None
    opath = _resource_file(pkg, "observations", folder)
    if obs is None:
        obs = pd.DataFrame(columns=["deploymentID", "scientificName"])
    read_obs = _dp_sightings(obs, media, dep, chk, opath)
    if read_obs is None:
        return None
    sightings, orows = read_obs
    if len(chk):
        return None
    _check_working_period(sightings, dep, orows, chk, opath)
    if len(chk):
        return None
    target = _pick_crs([dep.stations], crs)
    _check_crs_area(dep.stations, target, chk, dpath)
    if len(chk):
        return None
    name = str(pkg.get("name") or pkg.get("title") or dp.parent.name)
    return Survey(
        stations=dep.stations.to_crs(target),
        sightings=sightings,
        problems=_empty_problems(),
        crs=target,
        name=name,
        sources={"camtrap_dp": dps, "stations": dpath, "sightings": opath},
    )
