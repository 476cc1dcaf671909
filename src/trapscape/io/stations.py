"""Camera stations and deployments: read, check and write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..crs import as_crs
from ..errors import CRSError, InputError, ProblemCollector
from ..survey import _empty_problems
from .tables import (
    VECTOR_SUFFIXES,
    PathLike,
    _check_crs_area,
    _check_date_format,
    _check_lonlat,
    _is_blank,
    _missing_required,
    _name,
    _parse_dates,
    _parse_float,
    _read_csv,
    _read_vector,
    _strings,
)

if TYPE_CHECKING:
    import pyproj

__all__ = [
    "StationsTable",
    "read_stations",
    "write_stations",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StationsTable:
    """Stations read from a file.

    Attributes
    ----------
    stations
        One row per camera deployment, canonical columns, in the input CRS
        (EPSG:4326 for longitude/latitude CSVs).
    problems
        Malfunction intervals: ``deployment_id``, ``problem_from``,
        ``problem_to``.
    """

    stations: gpd.GeoDataFrame
    problems: pd.DataFrame


def _deployment_ids(
    station: np.ndarray, camera: np.ndarray, setup: np.ndarray
) -> np.ndarray:
    """'<station>/<camera>', with '#2', '#3' for later deployments of one camera."""
    frame = pd.DataFrame(
        {"s": station, "c": camera, "a": setup, "i": np.arange(len(station))}
    )
    frame = frame.sort_values(["s", "c", "a", "i"], kind="stable")
    rank = frame.groupby(["s", "c"], sort=False).cumcount().to_numpy() + 1
    ids = np.empty(len(station), dtype=object)
    for i, s, c, r in zip(frame["i"], frame["s"], frame["c"], rank, strict=False):
        ids[i] = f"{s}/{c}" if r == 1 else f"{s}/{c}#{r}"
    return ids


def _problem_columns(
    columns: list[str], chk: ProblemCollector, path: PathLike | None
) -> dict[int, dict[str, str]]:
    """Pair malfunction columns by number: {N: {"from": col, "to": col}}.

    Accepts full names (``Problem1_from``) and names cut to 10 characters by
    Shapefile (``Problem1_f``, ``Problem1_t``).  Columns that look like
    malfunction columns (``problem`` + number) but cannot be paired are
    reported, never ignored.
    """
    pcols: dict[int, dict[str, list[str]]] = {}
    stray: list[str] = []
    for c in columns:
        norm = V.normalise_name(c)
        if not V.PROBLEM_LIKE.match(norm):
            continue
        m = V.PROBLEM_COLUMN.match(norm) or V.PROBLEM_COLUMN_TRUNCATED.match(norm)
        if m is None:
            stray.append(c)
            continue
        end = "from" if m.group(2).startswith("f") else "to"
        pcols.setdefault(int(m.group(1)), {}).setdefault(end, []).append(c)
    out: dict[int, dict[str, str]] = {}
    for k, d in sorted(pcols.items()):
        dupes = [c for cs in d.values() if len(cs) > 1 for c in cs]
        if dupes:
            chk.add(
                f"columns {', '.join(repr(c) for c in dupes)} are all read as "
                f"malfunction {k}. Keep one column per end (Problem{k}_from, "
                f"Problem{k}_to).",
                path=path,
                column=dupes[0],
                kind="schema",
            )
            continue
        pair = {e: cs[0] for e, cs in d.items()}
        missing = [e for e in ("from", "to") if e not in pair]
        if missing:
            other = next(iter(pair.values()))
            chk.add(
                f"column '{other}' has no partner 'Problem{k}_{missing[0]}'. "
                "Add it (malfunction intervals need a from and a to column).",
                path=path,
                column=other,
                kind="schema",
            )
            continue
        out[k] = pair
    if stray:
        names = ", ".join(f"'{c}'" for c in stray)
        plural = len(stray) > 1
        chk.add(
            f"column{'s' if plural else ''} {names} look{'' if plural else 's'} "
            "like malfunction columns but cannot be "
            "paired into ProblemN_from/ProblemN_to (a Shapefile cuts names to 10 "
            "characters, so 'Problem12_from' and 'Problem12_to' collide). Rename "
            "them ProblemN_from/ProblemN_to (in a Shapefile: ProblemN_f/ProblemN_t "
            "with N < 10), or save the stations as a GeoPackage or CSV.",
            path=path,
            column=stray[0],
            kind="schema",
        )
    return out


@dataclass(frozen=True)
class _Layer:
    """A stations file as read, before its columns are interpreted."""

    table: pd.DataFrame  # attribute cells as objects
    geometry: gpd.GeoSeries | None  # the features' geometry (vector files)
    crs: Any  # the features' CRS (vector files)


def _layer_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes of a vector layer, with datetime columns written as text."""
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    for c in table.columns:
        if pd.api.types.is_datetime64_any_dtype(gdf[c]):
            vals = pd.to_datetime(gdf[c])
            midnight = (vals.dropna().dt.normalize() == vals.dropna()).all()
            fmtd = vals.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
            table[c] = fmtd.where(vals.notna(), "").astype(object)
    return table


def _read_layer(
    path: PathLike,
    chk: ProblemCollector,
    *,
    crs: Any,
    layer: str | int | None,
) -> _Layer | None:
    """Read the stations file: a vector layer or a CSV (None when unreadable)."""
    p = Path(path)
    if not (p.suffix.lower() in VECTOR_SUFFIXES or p.is_dir()):
        table = _read_csv(p, chk)
        return None if table is None else _Layer(table, None, None)
    gdf = _read_vector(p, chk, layer)
    if gdf is None:
        return None
    src_crs = gdf.crs
    if src_crs is None:
        if crs is None:
            chk.add(
                "the layer has no CRS. Save it with its CRS or pass crs=.",
                path=path,
                kind="crs",
            )
            return None
        src_crs = as_crs(crs)
    return _Layer(_layer_table(gdf), gdf.geometry, src_crs)


def _station_columns(
    columns: list[str],
    chk: ProblemCollector,
    path: PathLike,
    *,
    x: str | None,
    y: str | None,
) -> dict[str, str] | None:
    """Canonical name -> column of the file (None when x=/y= name no column)."""
    found = V.resolve_columns(columns, V.STATION_ALIASES)
    if x:
        found["x"] = x
    if y:
        found["y"] = y
    for user, key in ((x, "x"), (y, "y")):
        if user and user not in columns:
            hint = V.suggest(user, columns)
            chk.add(
                f"column '{user}' (given as {key}=) is not in the file."
                + (f" Did you mean '{hint}'?" if hint else ""),
                path=path,
                column=user,
                kind="schema",
            )
            return None
    _missing_required(
        found,
        [V.STATION_ID, V.SETUP, V.RETRIEVAL],
        V.STATION_ALIASES,
        columns,
        chk,
        path,
    )
    return found


def _coordinate_kind(
    found: dict[str, str],
    columns: list[str],
    chk: ProblemCollector,
    path: PathLike,
    *,
    explicit: bool,
) -> str:
    """Where a CSV's locations are: "lonlat", "xy" or "none" (reported).

    Longitude/latitude (unambiguous WGS84) win unless x=/y= name the
    columns (``explicit``).
    """
    if explicit and "x" in found and "y" in found:
        return "xy"
    if "longitude" in found and "latitude" in found:
        return "lonlat"
    if "x" in found and "y" in found:
        return "xy"
    best = None
    for alias in ("longitude", "latitude", "x", "y", "easting", "northing"):
        best = V.suggest(alias, [c for c in columns if c not in found.values()])
        if best:
            break
    chk.add(
        "no coordinate columns: give 'longitude'/'latitude' (WGS84 degrees) "
        "or 'x'/'y' with crs= (e.g. crs='EPSG:32652')."
        + (f" Did you mean '{best}'?" if best else ""),
        path=path,
        column="longitude",
        kind="schema",
    )
    return "none"


def _floats(
    table: pd.DataFrame,
    column: str,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
) -> np.ndarray:
    return _parse_float(
        _strings(table[column]),
        chk=chk,
        path=path,
        column=column,
        rows=rows,
        sep=table.attrs.get("sep", ","),
    )


def _lonlat_points(
    table: pd.DataFrame,
    found: dict[str, str],
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
) -> np.ndarray:
    """Points of longitude/latitude columns (WGS84), range and swap checked."""
    lon = _floats(table, found["longitude"], chk, path, rows)
    lat = _floats(table, found["latitude"], chk, path, rows)
    _check_lonlat(
        lon,
        lat,
        chk=chk,
        path=path,
        cols=(found["longitude"], found["latitude"]),
        rows=rows,
    )
    return gpd.points_from_xy(lon, lat)


def _xy_points(
    table: pd.DataFrame,
    found: dict[str, str],
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    crs: Any,
) -> tuple[np.ndarray, pyproj.CRS] | None:
    """Points of x/y columns in the projected ``crs`` (None without one)."""
    xs = _floats(table, found["x"], chk, path, rows)
    ys = _floats(table, found["y"], chk, path, rows)
    if crs is None:
        chk.add(
            f"columns '{found['x']}'/'{found['y']}' hold map coordinates but no "
            "CRS was stated. Pass crs= (e.g. crs='EPSG:32652' or --crs).",
            path=path,
            column=found["x"],
            kind="crs",
        )
        return None
    src_crs = as_crs(crs)
    if src_crs.is_geographic:
        looks_metric = np.nanmax(np.abs(np.r_[xs, ys, 0.0])) > 360
        chk.add(
            f"x/y columns were given with the geographic CRS {src_crs.name}"
            + (" but hold values in metres" if looks_metric else "")
            + ". Pass the projected CRS of the x/y values (e.g. "
            "crs='EPSG:32652'), or name the columns longitude/latitude.",
            path=path,
            column=found["x"],
            kind="crs",
        )
        return None
    return gpd.points_from_xy(xs, ys), src_crs


def _layer_points(
    geom_in: gpd.GeoSeries,
    src_crs: Any,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
) -> np.ndarray:
    """Points of a vector layer: one point per feature, degrees checked."""
    geometry = geom_in.to_numpy()
    for i, g in enumerate(geometry):
        if g is None or g.is_empty:
            chk.add(
                "the feature has no location. Draw the station point.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
        elif g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            geometry[i] = g.geoms[0]
        elif g.geom_type != "Point":
            chk.add(
                f"station geometry is a {g.geom_type}; stations must be points.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
    gc = as_crs(src_crs)
    if gc.is_geographic:
        is_pt = np.array(
            [
                g is not None and not g.is_empty and g.geom_type == "Point"
                for g in geometry
            ],
            dtype=bool,
        )
        lon = np.array(
            [g.x if k else np.nan for g, k in zip(geometry, is_pt, strict=True)]
        )
        lat = np.array(
            [g.y if k else np.nan for g, k in zip(geometry, is_pt, strict=True)]
        )
        _check_lonlat(
            lon,
            lat,
            chk=chk,
            path=path,
            cols=("x", "y"),
            rows=rows,
            layer_crs=gc.name + (f" (EPSG:{gc.to_epsg()})" if gc.to_epsg() else ""),
        )
    return geometry


def _station_points(
    kind: str,
    src: _Layer,
    found: dict[str, str],
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    crs: Any,
) -> tuple[np.ndarray, Any] | None:
    """(points, their CRS) by the coordinate ``kind``; None on a CRS problem."""
    if kind == "lonlat":
        return _lonlat_points(src.table, found, chk, path, rows), as_crs("EPSG:4326")
    if kind == "xy":
        return _xy_points(src.table, found, chk, path, rows, crs=crs)
    if kind == "geometry":
        assert src.geometry is not None
        return _layer_points(src.geometry, src.crs, chk, path, rows), src.crs
    n = len(src.table)
    nowhere = gpd.points_from_xy(np.full(n, np.nan), np.full(n, np.nan))
    return nowhere, as_crs("EPSG:4326")


def _dates(
    table: pd.DataFrame,
    column: str,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    date_format: str | None,
    date_only: str,
    required: bool,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    return _parse_dates(
        _strings(table[column]),
        fmt=date_format,
        date_only=date_only,
        chk=chk,
        path=path,
        column=column,
        rows=rows,
        required=required,
        window=window,
    )


def _deployment_columns(
    table: pd.DataFrame,
    found: dict[str, str],
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    date_format: str | None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> dict[str, Any]:
    """Station, camera and deployment ids, setup and retrieval of every row.

    A blank camera is the station; a blank or missing deployment id is
    made by :func:`_deployment_ids`.
    """
    sid = _strings(table[found[V.STATION_ID]])
    cam = _strings(table[found[V.CAMERA_ID]]) if V.CAMERA_ID in found else sid.copy()
    cam = np.array(
        [c if c != "" else s for c, s in zip(cam, sid, strict=False)], dtype=object
    )
    setup, setup_known = _dates(
        table,
        found[V.SETUP],
        chk,
        path,
        rows,
        date_format=date_format,
        date_only="noon",
        required=True,
        window=window,
    )
    retr, retr_known = _dates(
        table,
        found[V.RETRIEVAL],
        chk,
        path,
        rows,
        date_format=date_format,
        date_only="noon",
        required=True,
        window=window,
    )
    for i in np.flatnonzero(sid == ""):
        chk.add(
            "station id is empty. Give every deployment a station id.",
            path=path,
            row=int(rows[i]),
            column=found[V.STATION_ID],
        )
    dep = _deployment_ids(sid, cam, setup)
    if V.DEPLOYMENT_ID in found:
        given = _strings(table[found[V.DEPLOYMENT_ID]])
        dep = np.array(
            [d if d != "" else a for d, a in zip(given, dep, strict=False)],
            dtype=object,
        )
    return {
        V.STATION_ID: sid,
        V.CAMERA_ID: cam,
        V.DEPLOYMENT_ID: dep,
        V.SETUP: setup,
        V.RETRIEVAL: retr,
        V.SETUP_TIME_KNOWN: setup_known,
        V.RETRIEVAL_TIME_KNOWN: retr_known,
    }


def _malfunction_records(
    table: pd.DataFrame,
    pcols: dict[int, dict[str, str]],
    dep: np.ndarray,
    chk: ProblemCollector,
    path: PathLike,
    rows: np.ndarray,
    *,
    date_format: str | None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> list[dict[str, Any]]:
    """One record per filled malfunction interval (with its source row/columns)."""
    precs: list[dict[str, Any]] = []
    for k, d in sorted(pcols.items()):
        if "from" not in d or "to" not in d:
            continue
        fr, _ = _dates(
            table,
            d["from"],
            chk,
            path,
            rows,
            date_format=date_format,
            date_only="start",
            required=False,
            window=window,
        )
        to, _ = _dates(
            table,
            d["to"],
            chk,
            path,
            rows,
            date_format=date_format,
            date_only="next",
            required=False,
            window=window,
        )
        fs, ts_ = _strings(table[d["from"]]), _strings(table[d["to"]])
        for i in range(len(table)):
            if fs[i] == "" and ts_[i] == "":
                continue
            if (fs[i] == "") != (ts_[i] == ""):
                col = d["from"] if fs[i] == "" else d["to"]
                chk.add(
                    f"malfunction {k} has only one end. Fill in '{col}' or clear both.",
                    path=path,
                    row=int(rows[i]),
                    column=col,
                )
                continue
            precs.append(
                {
                    V.DEPLOYMENT_ID: dep[i],
                    V.PROBLEM_FROM: fr[i],
                    V.PROBLEM_TO: to[i],
                    "row": int(rows[i]),
                    "from": d["from"],
                    "to": d["to"],
                }
            )
    return precs


def _extra_columns(
    columns: list[str],
    found: dict[str, str],
    kind: str,
    pcols: dict[int, dict[str, str]],
) -> list[str]:
    """Columns of the file that are kept as they are (not canonical)."""
    coord_keys = {"lonlat": ("longitude", "latitude"), "xy": ("x", "y")}.get(kind, ())
    used = {c for k, c in found.items() if k not in ("longitude", "latitude", "x", "y")}
    used |= {found[k] for k in coord_keys}
    used |= {c for d in pcols.values() for c in d.values()}
    if kind == "geometry":  # coordinates come from the geometry
        used |= {found[k] for k in ("longitude", "latitude", "x", "y") if k in found}
    return [c for c in columns if c not in used]


def _stations_frame(
    data: dict[str, Any],
    table: pd.DataFrame,
    extras: list[str],
    geometry: np.ndarray,
    crs: Any,
) -> gpd.GeoDataFrame:
    """Canonical stations: ``data`` columns, then the extra columns of ``table``."""
    frame = pd.DataFrame(data)
    ids = [V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID]
    frame[ids] = frame[ids].astype(object)
    for c in extras:
        if c in frame.columns or c == "geometry":
            continue
        vals = table[c].to_numpy(dtype=object)
        frame[c] = [pd.NA if _is_blank(v) else v for v in vals]
        frame[c] = frame[c].astype(object)
    return gpd.GeoDataFrame(frame, geometry=np.asarray(geometry, dtype=object), crs=crs)


def _problems_frame(
    precs: list[dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Canonical malfunctions and their source (row, from and to columns)."""
    if not precs:
        return _empty_problems(), None
    pr_full = pd.DataFrame(precs)
    problems = pr_full[[V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]].copy()
    problems[V.DEPLOYMENT_ID] = problems[V.DEPLOYMENT_ID].astype(object)
    return problems, pr_full[["row", "from", "to"]]


def _clip_to_deployments(
    stations: gpd.GeoDataFrame, problems: pd.DataFrame
) -> pd.DataFrame:
    """Malfunctions cut to their deployment's setup..retrieval.

    Date-only ends may overshoot a noon setup/retrieval by part of a day.
    """
    win = stations.set_index(V.DEPLOYMENT_ID)
    a = win[V.SETUP].reindex(problems[V.DEPLOYMENT_ID]).to_numpy()
    b = win[V.RETRIEVAL].reindex(problems[V.DEPLOYMENT_ID]).to_numpy()
    problems[V.PROBLEM_FROM] = np.maximum(problems[V.PROBLEM_FROM].to_numpy(), a)
    problems[V.PROBLEM_TO] = np.minimum(problems[V.PROBLEM_TO].to_numpy(), b)
    return problems


def _read_stations(
    path: PathLike,
    chk: ProblemCollector,
    *,
    crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    date_format: str | None = None,
    layer: str | int | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> StationsTable | None:
    """Read, parse and check a stations file; problems go to ``chk``.

    None when the file cannot be interpreted (unreadable, missing columns,
    no usable CRS); otherwise the stations, even when ``chk`` holds problems.
    """
    n0 = len(chk)
    if not _check_date_format(date_format, chk, path):
        return None
    window = V.date_window(*(date_window or (None, None)))
    src = _read_layer(path, chk, crs=crs, layer=layer)
    if src is None:
        return None
    table = src.table
    columns = list(table.columns)
    rows = np.arange(1, len(table) + 1)
    found = _station_columns(columns, chk, path, x=x, y=y)
    if found is None:
        return None
    kind = "geometry"
    if src.geometry is None:
        kind = _coordinate_kind(found, columns, chk, path, explicit=bool(x or y))
    # problem columns (also Shapefile-truncated: Problem1_f, Problem1_t)
    pcols = _problem_columns(columns, chk, path)
    if chk.has_kind("schema", since=n0):
        return None

    data = _deployment_columns(
        table, found, chk, path, rows, date_format=date_format, window=window
    )
    points = _station_points(kind, src, found, chk, path, rows, crs=crs)
    if points is None:
        return None
    geometry, src_crs = points

    precs = _malfunction_records(
        table,
        pcols,
        data[V.DEPLOYMENT_ID],
        chk,
        path,
        rows,
        date_format=date_format,
        window=window,
    )
    extras = _extra_columns(columns, found, kind, pcols)
    stations = _stations_frame(data, table, extras, geometry, src_crs)
    problems, psrc = _problems_frame(precs)
    V._check_stations(
        stations,
        problems,
        chk,
        path=path,
        rows=rows,
        problem_src=psrc,
        report_missing=False,
    )
    if len(chk) == n0 and len(problems):
        problems = _clip_to_deployments(stations, problems)
    if crs is not None and kind == "lonlat" and len(chk) == n0:
        target = as_crs(crs)
        if not target.equals(stations.crs):
            stations = stations.to_crs(target)
    if len(chk) == n0:
        _check_crs_area(stations, stations.crs, chk, path)
    logger.info(
        "Read %d deployments at %d stations from %s",
        len(stations),
        len(set(data[V.STATION_ID])),
        _name(path),
    )
    return StationsTable(stations=stations, problems=problems.reset_index(drop=True))


def read_stations(
    path: PathLike,
    *,
    crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    date_format: str | None = None,
    layer: str | int | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> StationsTable:
    """Read camera stations / deployments.

    Parameters
    ----------
    path
        CSV (``longitude``/``latitude`` in WGS84, or ``x``/``y`` with ``crs``),
        GeoPackage, GeoJSON, Shapefile or any GDAL vector file of points.
    crs
        CRS of the ``x``/``y`` columns (required for them).  For a
        longitude/latitude CSV a projected ``crs`` is the CRS the stations are
        returned in.  For a vector file without CRS, its CRS.
    x, y
        Names of the coordinate columns when they are not called
        ``x``/``utm_x``/``easting`` and ``y``/``utm_y``/``northing``.
    date_format
        :func:`~datetime.datetime.strptime` format of the dates when they are
        not ISO (``YYYY-MM-DD[ HH:MM[:SS]]``), e.g. ``"%d/%m/%Y"``; a time
        ``" %H:%M:%S"`` may follow it.
    layer
        Layer of a multi-layer file.
    date_window
        ``(earliest, latest)`` plausible dates (either may be None); dates
        outside are reported.  Default 1990-01-01 to tomorrow
        (:func:`trapscape.validation.date_window`).

    Returns
    -------
    StationsTable
        Canonical ``stations`` (input CRS unless ``crs`` says otherwise) and
        malfunction ``problems``.

    Raises
    ------
    SchemaError
        Missing/misspelled columns (with the closest name).
    InputError
        Bad values; every problem is listed with its row and column.
    CRSError
        x/y without a CRS, or x/y with a geographic CRS.

    Notes
    -----
    Column names are matched case-insensitively: ``station_id``/``Station``/
    ``locationID``; ``camera_id``/``Camera``/``cameraID``; ``setup``/
    ``Setup_date``/``deploymentStart``; ``retrieval``/``Retrieval_date``/
    ``deploymentEnd``; ``ProblemN_from``/``ProblemN_to`` (any N). Other
    columns are kept.  Without a ``deployment_id`` column the id is
    ``"<station>/<camera>"`` (``#2``... for later deployments of a camera).
    """
    chk = ProblemCollector()
    table = _read_stations(
        path,
        chk,
        crs=crs,
        x=x,
        y=y,
        date_format=date_format,
        layer=layer,
        date_window=date_window,
    )
    chk.raise_if_any()
    assert table is not None
    return table


def _fmt_dt(values: pd.Series, known: pd.Series | None = None) -> list[str]:
    out = []
    vals = pd.to_datetime(values)
    kn = known.to_numpy() if known is not None else np.ones(len(vals), dtype=bool)
    for v, k in zip(vals, kn, strict=False):
        if pd.isna(v):
            out.append("")
        elif not k and v == v.normalize() + pd.Timedelta(hours=12):
            out.append(v.strftime("%Y-%m-%d"))
        else:
            out.append(v.strftime("%Y-%m-%d %H:%M:%S"))
    return out


def write_stations(
    stations: gpd.GeoDataFrame | StationsTable,
    problems: pd.DataFrame | None = None,
    path: PathLike | None = None,
) -> None:
    """Write stations as the canonical CSV that :func:`read_stations` reads back.

    Columns: ``station_id, camera_id, deployment_id, longitude, latitude,
    setup, retrieval, problem1_from, problem1_to, ...`` then extra
    attributes.  Date-times are ``YYYY-MM-DD HH:MM:SS``; a setup/retrieval
    whose time is unknown is written as the date only.  Coordinates are WGS84
    with full float precision (round trip well below 1 mm).

    Parameters
    ----------
    stations
        Canonical stations (any CRS), or a :class:`StationsTable`.
    problems
        Malfunction intervals (taken from the table when omitted).
    path
        Target CSV file.
    """
    if isinstance(stations, StationsTable):
        if problems is None:
            problems = stations.problems
        stations = stations.stations
    if path is None:
        raise InputError("write_stations needs a path. Pass path='stations.csv'.")
    if stations.crs is None:
        raise CRSError("The stations have no CRS; set it before writing.")
    ll = stations.geometry.to_crs(4326)
    out = pd.DataFrame(
        {
            V.STATION_ID: stations[V.STATION_ID].astype(str).to_numpy(),
            V.CAMERA_ID: stations[V.CAMERA_ID].astype(str).to_numpy(),
            V.DEPLOYMENT_ID: stations[V.DEPLOYMENT_ID].astype(str).to_numpy(),
            "longitude": [repr(float(v)) for v in ll.x],
            "latitude": [repr(float(v)) for v in ll.y],
            V.SETUP: _fmt_dt(stations[V.SETUP], stations.get(V.SETUP_TIME_KNOWN)),
            V.RETRIEVAL: _fmt_dt(
                stations[V.RETRIEVAL], stations.get(V.RETRIEVAL_TIME_KNOWN)
            ),
        }
    )
    if problems is not None and len(problems):
        pr = problems.copy()
        pr["_k"] = pr.groupby(V.DEPLOYMENT_ID, sort=False).cumcount() + 1
        pos = {d: i for i, d in enumerate(out[V.DEPLOYMENT_ID])}
        for k in range(1, int(pr["_k"].max()) + 1):
            f_col, t_col = [""] * len(out), [""] * len(out)
            sub = pr[pr["_k"] == k]
            fr = _fmt_dt(sub[V.PROBLEM_FROM])
            to = _fmt_dt(sub[V.PROBLEM_TO])
            for d, a, b in zip(sub[V.DEPLOYMENT_ID], fr, to, strict=False):
                if str(d) in pos:
                    f_col[pos[str(d)]], t_col[pos[str(d)]] = a, b
            out[f"problem{k}_from"] = f_col
            out[f"problem{k}_to"] = t_col
    skip = {
        V.STATION_ID,
        V.CAMERA_ID,
        V.DEPLOYMENT_ID,
        V.SETUP,
        V.RETRIEVAL,
        V.SETUP_TIME_KNOWN,
        V.RETRIEVAL_TIME_KNOWN,
        stations.geometry.name,
        "longitude",
        "latitude",
    }
    for c in stations.columns:
        if c not in skip and c not in out.columns:
            out[c] = stations[c].to_numpy()
    out.to_csv(path, index=False)
