"""Read and write survey data: stations, sightings, boundaries, Camtrap DP.

Every reader returns frames with the canonical columns of
:mod:`trapscape.validation`, checks the content, and raises **one** error
listing every problem found (file, 1-based data row, column and the fix).

Conventions
-----------
* Date-only ``setup``/``retrieval`` values are stored at 12:00 (half days,
  as camtrapR counts them) with ``setup_time_known``/``retrieval_time_known``
  set to False.
* Date-only malfunction ``from`` values are stored at 00:00 and date-only
  ``to`` values at 00:00 of the next day, so whole days are removed.
* Times are naive local times.  Values with a UTC offset (Camtrap DP) are
  converted to the deployment's local offset, then the offset is dropped.

References
----------
Niedballa J. et al. (2016) camtrapR: an R package for efficient camera trap
data management. Methods Ecol. Evol. 7, 1457-1462.
Bubnicki J.W. et al. (2023) Camtrap DP: an open standard for the FAIR
exchange and archiving of camera trap data. Remote Sens. Ecol. Conserv.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import validation as V
from .crs import as_crs, survey_crs
from .errors import CRSError, InputError, TrapscapeWarning
from .survey import Survey, _empty_problems
from .validation import _Checker

if TYPE_CHECKING:
    import pyproj

__all__ = [
    "StationsTable",
    "build_survey",
    "read_boundaries",
    "read_camtrap_dp",
    "read_sightings",
    "read_stations",
    "read_survey",
    "split_boundaries",
    "write_sightings",
    "write_stations",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

VECTOR_SUFFIXES = {
    ".gpkg",
    ".geojson",
    ".json",
    ".shp",
    ".fgb",
    ".gml",
    ".kml",
    ".zip",
    ".sqlite",
}

_ISO = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%T", "%R")


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


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _name(path: PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)


def _is_blank(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, float) and np.isnan(v))
        or (isinstance(v, str) and v.strip() == "")
        or v is pd.NA
        or v is pd.NaT
    )


def _detect_separator(path: Path) -> str:
    """Column separator of a CSV: ',', ';' (Excel in many locales) or tab.

    Each candidate splits the first lines; the one giving the same number
    (> 1) of fields on every line wins, ',' first.  When none is consistent,
    a header without ',' but with ';' (or a tab) decides; else ','.
    """
    import csv
    import io as _io

    try:
        with open(path, "rb") as fh:
            raw = fh.read(65536)
    except OSError:
        return ","
    text = raw.decode("utf-8-sig", errors="ignore")
    lines = text.splitlines()
    if len(raw) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:50] if ln.strip()]
    if not lines:
        return ","
    consistent = []
    for cand in (",", ";", "\t"):
        counts = {
            len(r) for r in csv.reader(_io.StringIO("\n".join(lines)), delimiter=cand)
        }
        if len(counts) == 1 and counts.pop() > 1:
            consistent.append(cand)
    if len(consistent) == 1 or (consistent and len(lines) > 1):
        return consistent[0]
    header = lines[0]
    if "," not in header and ";" in header:
        return ";"
    if "," not in header and ";" not in header and "\t" in header:
        return "\t"
    return ","


def _read_csv(
    path: PathLike, chk: _Checker, *, allow_no_rows: bool = False
) -> pd.DataFrame | None:
    """Read a CSV as strings (blank cells -> ''); None when unreadable/empty.

    A header without data rows is a problem unless ``allow_no_rows``.
    """
    p = Path(path)
    if not p.exists():
        chk.add(
            f"file not found (looked in {p.resolve()}). Fix the path.",
            path=path,
            kind="value",
        )
        return None
    if p.stat().st_size == 0:
        chk.add(
            "the file is empty. Give a CSV with a header row and data rows.", path=path
        )
        return None
    sep = _detect_separator(p)
    try:
        df = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skipinitialspace=True,
            encoding="utf-8-sig",
            sep=sep,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        chk.add(
            f"cannot be read as CSV ({str(err).strip().splitlines()[-1]}). "
            "Save it as comma-separated UTF-8 text.",
            path=path,
        )
        return None
    df.columns = [str(c).strip() for c in df.columns]
    if sep != ",":
        logger.info("%s: columns separated by %r", _name(path), sep)
        # Excel in many locales writes decimal commas with ';' separators
        for c in df.columns:
            vals = df[c].astype(str).str.strip()
            filled = vals[vals != ""]
            if (
                len(filled)
                and filled.str.fullmatch(r"[+-]?\d+(?:,\d+)?").all()
                and filled.str.contains(",").any()
            ):
                df[c] = vals.str.replace(",", ".", regex=False).where(vals != "", df[c])
    if len(df) == 0 and not allow_no_rows:
        chk.add(
            "the file has a header but no data rows. Add at least one row.", path=path
        )
        return None
    return df.astype(object)


def _strings(series: pd.Series) -> np.ndarray:
    """Object array of stripped strings ('' for blanks)."""
    ser = pd.Series(series.to_numpy(dtype=object), dtype=object)
    blank = ser.isna().to_numpy()
    out = ser.where(~blank, "").astype(str).str.strip().to_numpy(dtype=object)
    return out


def _format_has_time(fmt: str) -> bool:
    return any(d in fmt for d in _TIME_DIRECTIVES)


def _parse_one(text: str, fmt: str | None) -> tuple[pd.Timestamp | None, bool]:
    """Parse one date/time string -> (naive local Timestamp, has_time)."""
    if fmt:
        fmts = [fmt]
        if not _format_has_time(fmt):
            fmts += [fmt + " %H:%M:%S", fmt + " %H:%M", fmt + "T%H:%M:%S"]
        for f in fmts:
            try:
                dt = datetime.strptime(text, f)
            except ValueError:
                continue
            ts = pd.Timestamp(dt)
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)
            return ts, _format_has_time(f)
        # ISO 8601 is unambiguous, so it is accepted whatever the format
    if not _ISO.match(text):
        return None, False
    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None, False
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)  # keep the local wall-clock time as written
    return ts, bool(_HAS_TIME.search(text))


def _guess_format_hint(text: str) -> str:
    m = re.match(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
    if m:
        sep = text[len(m.group(1))]
        if int(m.group(1)) > 12:
            return f" It looks like day{sep}month{sep}year: pass date_format='%d{sep}%m{sep}%Y'."
        if int(m.group(2)) > 12:
            return f" It looks like month{sep}day{sep}year: pass date_format='%m{sep}%d{sep}%Y'."
        if sep == ".":  # dotted dates are day first (German, Russian, ... locales)
            return (
                " It looks like day.month.year: pass date_format='%d.%m.%Y' "
                "(--date-format '%d.%m.%Y', or date_format in [survey])."
            )
        return (
            f" Pass date_format='%d{sep}%m{sep}%Y' (day first) or "
            f"'%m{sep}%d{sep}%Y' (month first)."
        )
    return " Correct it or pass date_format=."


def _parse_dates(
    values: np.ndarray,
    *,
    fmt: str | None,
    date_only: str,
    chk: _Checker,
    path: PathLike | None,
    column: str,
    rows: np.ndarray,
    required: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of date strings.

    ``date_only`` says where a date without time goes: "noon", "start"
    (00:00) or "next" (00:00 of the following day).
    Returns (datetime64[ns] array with NaT for blanks/errors, time_known bool array).
    """
    n = len(values)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    known = np.ones(n, dtype=bool)
    expected = f"'{fmt}'" if fmt else "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
    col_hint = None
    if not fmt:
        firsts = [re.match(r"^(\d{1,2})[/.](\d{1,2})[/.]\d{4}", str(v)) for v in values]
        firsts = [m for m in firsts if m]
        if firsts:
            sep = next(c for c in firsts[0].group(0) if not c.isdigit())
            if any(int(m.group(1)) > 12 for m in firsts):
                col_hint = (
                    f" The column looks like day{sep}month{sep}year: pass "
                    f"date_format='%d{sep}%m{sep}%Y'."
                )
            elif any(int(m.group(2)) > 12 for m in firsts):
                col_hint = (
                    f" The column looks like month{sep}day{sep}year: pass "
                    f"date_format='%m{sep}%d{sep}%Y'."
                )
            elif sep == ".":
                col_hint = (
                    " The column looks like day.month.year: pass "
                    "date_format='%d.%m.%Y' (--date-format '%d.%m.%Y', or "
                    "date_format in [survey])."
                )
    # fast path: vectorised parse of the plain ISO / given-format values; the
    # rest (blanks, offsets, errors) go through the checked per-value parser
    ser = pd.Series(values, dtype=object).astype(str)
    if fmt:
        fast = pd.to_datetime(ser, format=fmt, errors="coerce")
        fast_has_time = np.full(n, _format_has_time(fmt))
    else:
        plain = ser.str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
        fast = pd.Series(pd.NaT, index=ser.index, dtype="datetime64[ns]")
        if plain.any():
            fast[plain] = pd.to_datetime(ser[plain], format="ISO8601", errors="coerce")
        fast_has_time = (ser.str.len() > 10).to_numpy()
    fast_vals = fast.to_numpy(dtype="datetime64[ns]")
    done = ~np.isnat(fast_vals)
    if done.any():
        fv = fast_vals[done]
        ht = fast_has_time[done]
        day = fv.astype("datetime64[D]").astype("datetime64[ns]")
        if date_only == "noon":
            shifted = day + np.timedelta64(12, "h")
        elif date_only == "next":
            shifted = day + np.timedelta64(1, "D")
        else:
            shifted = day
        out[done] = np.where(ht, fv, shifted)
        known[done] = ht
    for i in np.flatnonzero(~done):
        text = values[i]
        if text == "":
            if required:
                chk.add(
                    f"date is missing. Fill it in ({expected}).",
                    path=path,
                    row=int(rows[i]),
                    column=column,
                )
            continue
        ts, has_time = _parse_one(text, fmt)
        if ts is None:
            hint = (
                (col_hint or _guess_format_hint(text))
                if not fmt
                else (" Correct it or change date_format=.")
            )
            chk.add(
                f"'{text}' is not a date ({expected}).{hint}",
                path=path,
                row=int(rows[i]),
                column=column,
            )
            continue
        if not has_time:
            if date_only == "noon":
                ts = ts.normalize() + pd.Timedelta(hours=12)
            elif date_only == "next":
                ts = ts.normalize() + pd.Timedelta(days=1)
            else:
                ts = ts.normalize()
            known[i] = False
        out[i] = np.datetime64(ts.as_unit("ns").to_datetime64(), "ns")
    return out, known


def _parse_float(
    values: np.ndarray,
    *,
    chk: _Checker,
    path: PathLike | None,
    column: str,
    rows: np.ndarray,
) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v == "":
            chk.add(
                "coordinate is missing. Fill in the station's location.",
                path=path,
                row=int(rows[i]),
                column=column,
            )
            continue
        try:
            out[i] = float(str(v).replace(",", "."))
        except ValueError:
            chk.add(
                f"'{v}' is not a number. Give the coordinate as a decimal number.",
                path=path,
                row=int(rows[i]),
                column=column,
            )
            continue
        if not np.isfinite(out[i]):
            chk.add(
                f"'{v}' is not a finite number. Give a decimal coordinate.",
                path=path,
                row=int(rows[i]),
                column=column,
            )
            out[i] = np.nan
    return out


def _check_lonlat(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    chk: _Checker,
    path: PathLike | None,
    cols: tuple[str, str],
    rows: np.ndarray,
    layer_crs: str | None = None,
) -> None:
    """Out-of-range and swapped longitude/latitude.

    ``layer_crs`` names the geographic CRS of a vector layer: out-of-range
    values then mean the layer's CRS label is wrong.
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    med_lon = np.nanmedian(lon[ok]) if ok.any() else np.nan
    med_lat = np.nanmedian(lat[ok]) if ok.any() else np.nan
    for i in np.flatnonzero(ok):
        x, y = lon[i], lat[i]
        if abs(y) > 90 and abs(x) <= 90 and abs(y) <= 180:
            chk.add(
                f"latitude {y} is outside -90..90 while longitude is {x}: the two "
                f"look swapped. Swap the '{cols[0]}' and '{cols[1]}' values.",
                path=path,
                row=int(rows[i]),
                column=cols[1],
            )
        elif layer_crs is not None and (abs(y) > 90 or abs(x) > 180):
            chk.add(
                f"position ({x}, {y}) is not longitude/latitude although the "
                f"layer's CRS is {layer_crs}: " + _WRONG_CRS_FIX,
                path=path,
                row=int(rows[i]),
                column="geometry",
                kind="crs",
            )
        elif abs(y) > 90 or abs(x) > 180:
            bad_col = cols[1] if abs(y) > 90 else cols[0]
            rng = "-90..90" if abs(y) > 90 else "-180..180"
            chk.add(
                f"{'latitude' if abs(y) > 90 else 'longitude'} "
                f"{y if abs(y) > 90 else x} is outside {rng}. Give WGS84 decimal "
                "degrees, or x/y columns with crs=.",
                path=path,
                row=int(rows[i]),
                column=bad_col,
            )
        elif (
            ok.sum() >= 3
            and np.hypot(x - med_lon, y - med_lat) > 5
            and np.hypot(y - med_lon, x - med_lat) < 1
        ):
            chk.add(
                f"position ({x}, {y}) is far from the other stations but would fit "
                f"them with longitude and latitude swapped. Swap the '{cols[0]}' and "
                f"'{cols[1]}' values.",
                path=path,
                row=int(rows[i]),
                column=cols[0],
            )


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


def _missing_required(
    found: dict[str, str],
    required: list[str],
    aliases: dict[str, tuple[str, ...]],
    columns: list[str],
    chk: _Checker,
    path: PathLike | None,
) -> bool:
    miss = [c for c in required if c not in found]
    odd = [c for c in columns if ";" in c or "\t" in c]
    if miss and odd:
        sep = ";" if ";" in odd[0] else "\t"
        label = "';'" if sep == ";" else "tabs"
        chk.add(
            f"the header looks like it uses {label} between columns "
            f"({odd[0][:60]!r}...), so the required columns "
            f"{', '.join(repr(c) for c in miss)} were not found. Save the file as "
            f"comma-separated CSV, or make every line use {label} the same way "
            "(trapscape reads ';' and tab-separated files when all lines agree).",
            path=path,
            column=odd[0],
            kind="schema",
        )
        return True
    for c in miss:
        chk.add(
            V.missing_column_message(c, aliases, columns, found.values()),
            path=path,
            column=c,
            kind="schema",
        )
    return bool(miss)


def _problem_columns(
    columns: list[str], chk: _Checker, path: PathLike | None
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


def _read_vector(
    path: PathLike, chk: _Checker, layer: str | int | None = None
) -> gpd.GeoDataFrame | None:
    p = Path(path)
    if not p.exists():
        chk.add(f"file not found (looked in {p.resolve()}). Fix the path.", path=path)
        return None
    if p.is_file() and p.stat().st_size == 0:
        chk.add(
            "the file is empty. Give a vector file with at least one feature.",
            path=path,
        )
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(p, layer=layer)
    except Exception as err:  # pyogrio raises several types
        chk.add(
            f"cannot be read as a vector file ({str(err).strip()[:200]}). "
            "Give a GeoPackage, GeoJSON, Shapefile or another GDAL vector format.",
            path=path,
        )
        return None
    if len(gdf) == 0:
        chk.add(
            "the layer has no features. Give a file with at least one feature.",
            path=path,
        )
        return None
    return gdf


# ---------------------------------------------------------------------------
# stations
# ---------------------------------------------------------------------------
def _read_stations(
    path: PathLike,
    chk: _Checker,
    *,
    crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    date_format: str | None = None,
    layer: str | int | None = None,
) -> StationsTable | None:
    p = Path(path)
    vector = p.suffix.lower() in VECTOR_SUFFIXES or p.is_dir()
    n0 = len(chk)
    if vector:
        gdf = _read_vector(p, chk, layer)
        if gdf is None:
            return None
        geom_in = gdf.geometry
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
        for c in table.columns:
            if pd.api.types.is_datetime64_any_dtype(gdf[c]):
                vals = pd.to_datetime(gdf[c])
                midnight = (vals.dropna().dt.normalize() == vals.dropna()).all()
                fmtd = vals.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
                table[c] = fmtd.where(vals.notna(), "").astype(object)
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
    else:
        table = _read_csv(p, chk)
        if table is None:
            return None
        geom_in = None
    columns = list(table.columns)
    n = len(table)
    rows = np.arange(1, n + 1)
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
    # coordinates
    kind = "geometry"
    if not vector:
        # longitude/latitude (unambiguous WGS84) win unless x=/y= name the columns
        if (x or y) and "x" in found and "y" in found:
            kind = "xy"
        elif "longitude" in found and "latitude" in found:
            kind = "lonlat"
        elif "x" in found and "y" in found:
            kind = "xy"
        else:
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
            kind = "none"
    # problem columns (also Shapefile-truncated: Problem1_f, Problem1_t)
    pcols = _problem_columns(columns, chk, path)
    if len(chk) > n0 and any(k == "schema" for k in chk.kinds[n0:]):
        return None

    sid = _strings(table[found[V.STATION_ID]])
    cam = _strings(table[found[V.CAMERA_ID]]) if V.CAMERA_ID in found else sid.copy()
    cam = np.array(
        [c if c != "" else s for c, s in zip(cam, sid, strict=False)], dtype=object
    )
    setup, setup_known = _parse_dates(
        _strings(table[found[V.SETUP]]),
        fmt=date_format,
        date_only="noon",
        chk=chk,
        path=path,
        column=found[V.SETUP],
        rows=rows,
        required=True,
    )
    retr, retr_known = _parse_dates(
        _strings(table[found[V.RETRIEVAL]]),
        fmt=date_format,
        date_only="noon",
        chk=chk,
        path=path,
        column=found[V.RETRIEVAL],
        rows=rows,
        required=True,
    )
    for i in np.flatnonzero(sid == ""):
        chk.add(
            "station id is empty. Give every deployment a station id.",
            path=path,
            row=int(rows[i]),
            column=found[V.STATION_ID],
        )
    # geometry
    if kind == "lonlat":
        lon = _parse_float(
            _strings(table[found["longitude"]]),
            chk=chk,
            path=path,
            column=found["longitude"],
            rows=rows,
        )
        lat = _parse_float(
            _strings(table[found["latitude"]]),
            chk=chk,
            path=path,
            column=found["latitude"],
            rows=rows,
        )
        _check_lonlat(
            lon,
            lat,
            chk=chk,
            path=path,
            cols=(found["longitude"], found["latitude"]),
            rows=rows,
        )
        geometry = gpd.points_from_xy(lon, lat)
        src_crs = as_crs("EPSG:4326")
    elif kind == "xy":
        xs = _parse_float(
            _strings(table[found["x"]]),
            chk=chk,
            path=path,
            column=found["x"],
            rows=rows,
        )
        ys = _parse_float(
            _strings(table[found["y"]]),
            chk=chk,
            path=path,
            column=found["y"],
            rows=rows,
        )
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
        geometry = gpd.points_from_xy(xs, ys)
    elif kind == "geometry":
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
        if as_crs(src_crs).is_geographic:
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
            gc = as_crs(src_crs)
            _check_lonlat(
                lon,
                lat,
                chk=chk,
                path=path,
                cols=("x", "y"),
                rows=rows,
                layer_crs=gc.name + (f" (EPSG:{gc.to_epsg()})" if gc.to_epsg() else ""),
            )
    else:
        geometry = gpd.points_from_xy(np.full(n, np.nan), np.full(n, np.nan))
        src_crs = as_crs("EPSG:4326")

    # deployment ids
    if V.DEPLOYMENT_ID in found:
        dep = _strings(table[found[V.DEPLOYMENT_ID]])
        auto = _deployment_ids(sid, cam, setup)
        dep = np.array(
            [d if d != "" else a for d, a in zip(dep, auto, strict=False)], dtype=object
        )
    else:
        dep = _deployment_ids(sid, cam, setup)

    # malfunctions
    precs: list[dict[str, Any]] = []
    for k, d in sorted(pcols.items()):
        if "from" not in d or "to" not in d:
            continue
        fr, _ = _parse_dates(
            _strings(table[d["from"]]),
            fmt=date_format,
            date_only="start",
            chk=chk,
            path=path,
            column=d["from"],
            rows=rows,
            required=False,
        )
        to, _ = _parse_dates(
            _strings(table[d["to"]]),
            fmt=date_format,
            date_only="next",
            chk=chk,
            path=path,
            column=d["to"],
            rows=rows,
            required=False,
        )
        fs, ts_ = _strings(table[d["from"]]), _strings(table[d["to"]])
        for i in range(n):
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
    coord_keys = {"lonlat": ("longitude", "latitude"), "xy": ("x", "y")}.get(kind, ())
    used = {c for k, c in found.items() if k not in ("longitude", "latitude", "x", "y")}
    used |= {found[k] for k in coord_keys}
    used |= {c for d in pcols.values() for c in d.values()}
    if kind == "geometry":  # coordinates come from the geometry
        used |= {found[k] for k in ("longitude", "latitude", "x", "y") if k in found}
    extras = [c for c in columns if c not in used]
    data: dict[str, Any] = {
        V.STATION_ID: sid,
        V.CAMERA_ID: cam,
        V.DEPLOYMENT_ID: dep,
        V.SETUP: setup,
        V.RETRIEVAL: retr,
        V.SETUP_TIME_KNOWN: setup_known,
        V.RETRIEVAL_TIME_KNOWN: retr_known,
    }
    frame = pd.DataFrame(data)
    frame[[V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID]] = frame[
        [V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID]
    ].astype(object)
    for c in extras:
        if c in frame.columns or c == "geometry":
            continue
        vals = table[c].to_numpy(dtype=object)
        frame[c] = [pd.NA if _is_blank(v) else v for v in vals]
        frame[c] = frame[c].astype(object)
    stations = gpd.GeoDataFrame(
        frame, geometry=np.asarray(geometry, dtype=object), crs=src_crs
    )
    if precs:
        pr_full = pd.DataFrame(precs)
        problems = pr_full[[V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]].copy()
        problems[V.DEPLOYMENT_ID] = problems[V.DEPLOYMENT_ID].astype(object)
        src = pr_full[["row", "from", "to"]]
    else:
        problems, src = _empty_problems(), None
    V._check_stations(
        stations,
        problems,
        chk,
        path=path,
        rows=rows,
        problem_src=src,
        report_missing=False,
    )
    if len(chk) == n0 and len(problems):
        # date-only ends may overshoot a noon setup/retrieval by part of a day:
        # keep malfunctions within their deployment
        win = stations.set_index(V.DEPLOYMENT_ID)
        a = win[V.SETUP].reindex(problems[V.DEPLOYMENT_ID]).to_numpy()
        b = win[V.RETRIEVAL].reindex(problems[V.DEPLOYMENT_ID]).to_numpy()
        problems[V.PROBLEM_FROM] = np.maximum(problems[V.PROBLEM_FROM].to_numpy(), a)
        problems[V.PROBLEM_TO] = np.minimum(problems[V.PROBLEM_TO].to_numpy(), b)
    if crs is not None and kind in ("lonlat",) and len(chk) == n0:
        target = as_crs(crs)
        if not target.equals(stations.crs):
            stations = stations.to_crs(target)
    logger.info(
        "Read %d deployments at %d stations from %s",
        len(stations),
        len(set(sid)),
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
    chk = _Checker()
    table = _read_stations(
        path, chk, crs=crs, x=x, y=y, date_format=date_format, layer=layer
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


# ---------------------------------------------------------------------------
# sightings
# ---------------------------------------------------------------------------
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
    chk: _Checker,
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


def _read_sightings(
    path: PathLike,
    chk: _Checker,
    *,
    stations: Any = None,
    date_format: str | None = None,
    stations_path: PathLike | None = None,
) -> pd.DataFrame | None:
    table = _read_csv(path, chk, allow_no_rows=True)  # a survey may detect nothing
    if table is None:
        return None
    columns = list(table.columns)
    n = len(table)
    rows = np.arange(1, n + 1)
    found = V.resolve_columns(columns, V.SIGHTING_ALIASES)
    st, pr = _stations_parts(stations)
    by_camera = V.STATION_ID not in found and V.CAMERA_ID in found and st is not None
    required = [V.SPECIES] if by_camera else [V.STATION_ID, V.SPECIES]
    if V.TIMESTAMP not in found and not ("date" in found and "time" in found):
        required.append(V.TIMESTAMP)
    if _missing_required(found, required, V.SIGHTING_ALIASES, columns, chk, path):
        return None
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
    data: dict[str, Any] = {V.STATION_ID: sid}

    def optional(key: str) -> Any:
        vals = (
            _strings(table[found[key]])
            if key in found
            else np.full(n, "", dtype=object)
        )
        return pd.array(np.where(vals == "", None, vals), dtype="string")

    data[V.CAMERA_ID] = optional(V.CAMERA_ID)
    data[V.DEPLOYMENT_ID] = optional(V.DEPLOYMENT_ID)
    data[V.TIMESTAMP] = ts
    data[V.SPECIES] = _strings(table[found[V.SPECIES]])
    data[V.INDIVIDUAL_ID] = optional(V.INDIVIDUAL_ID)
    sex_out = np.full(n, None, dtype=object)
    if V.SEX in found:
        raw = _strings(table[found[V.SEX]])
        low = pd.Series(raw, dtype=object).str.lower()
        mapped = low.map(_SEX).to_numpy(dtype=object)
        unknown = low.isin(["", "unknown", "na", "u", "?"]).to_numpy()
        ok = pd.notna(mapped)
        sex_out[ok] = mapped[ok]
        for i in np.flatnonzero(~ok & ~unknown):
            chk.add(
                f"sex '{raw[i]}' is not F or M. Use F/M (female/male) or leave it "
                "empty.",
                path=path,
                row=int(rows[i]),
                column=found[V.SEX],
            )
    data[V.SEX] = pd.array(sex_out, dtype="string")
    data[V.MEDIA_ID] = optional(V.MEDIA_ID)
    counts = np.ones(n, dtype=np.int64)
    if V.COUNT in found:
        raw = _strings(table[found[V.COUNT]])
        num = pd.to_numeric(
            pd.Series(raw, dtype=object).replace("", "1"), errors="coerce"
        ).to_numpy(dtype=float)
        good = np.isfinite(num) & (num >= 1) & (num == np.round(num))
        counts[good] = num[good].astype(np.int64)
        for i in np.flatnonzero(~good):
            chk.add(
                f"count '{raw[i]}' is not a positive whole number. Use 1, 2, ...",
                path=path,
                row=int(rows[i]),
                column=found[V.COUNT],
            )
    data[V.COUNT] = counts
    frame = pd.DataFrame(data)
    for c in (V.STATION_ID, V.SPECIES):
        frame[c] = frame[c].astype(object)
    skip = set(found.values())
    for c in columns:
        if c not in skip and c not in frame.columns:
            vals = table[c].to_numpy(dtype=object, copy=True)
            blank = _strings(table[c]) == ""
            vals[blank] = pd.NA
            frame[c] = pd.Series(vals, index=frame.index, dtype=object)
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
        keep = [
            k
            for k in range(len(chk))
            if k < n_before
            or not (
                chk.problems[k].column == V.STATION_ID
                and chk.problems[k].row in flagged
            )
        ]
        chk.problems = [chk.problems[k] for k in keep]
        chk.kinds = [chk.kinds[k] for k in keep]
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

    Returns
    -------
    pandas.DataFrame
        Canonical sightings (see :mod:`trapscape.validation`).

    Raises
    ------
    SchemaError, InputError
        With every problem, its row and column.
    """
    chk = _Checker()
    frame = _read_sightings(path, chk, stations=stations, date_format=date_format)
    chk.raise_if_any()
    assert frame is not None
    return frame


def write_sightings(sightings: pd.DataFrame, path: PathLike) -> None:
    """Write canonical sightings as CSV (read back by :func:`read_sightings`)."""
    out = sightings.copy()
    out[V.TIMESTAMP] = _fmt_dt(out[V.TIMESTAMP])
    first = [
        c
        for c in (
            V.STATION_ID,
            V.CAMERA_ID,
            V.DEPLOYMENT_ID,
            V.TIMESTAMP,
            V.SPECIES,
            V.INDIVIDUAL_ID,
            V.SEX,
            V.MEDIA_ID,
            V.COUNT,
        )
        if c in out.columns
    ]
    out = out[first + [c for c in out.columns if c not in first]]
    out.to_csv(path, index=False)


# ---------------------------------------------------------------------------
# boundaries
# ---------------------------------------------------------------------------
_WRONG_CRS_FIX = (
    "the values look like metres; the layer's CRS is probably wrong: "
    "set it to the projected CRS the coordinates were measured in, e.g. "
    "EPSG:32652 (WGS 84 / UTM zone 52N) (QGIS: Layer > Set CRS; "
    "geopandas: gdf.set_crs(32652, allow_override=True)), and save the "
    "file again."
)


def _degrees_ok(gdf: gpd.GeoDataFrame, chk: _Checker, path: PathLike | None) -> bool:
    """A layer labelled geographic must hold degrees; report it when not."""
    if gdf.crs is None or not as_crs(gdf.crs).is_geographic:
        return True
    b = gdf.geometry.bounds.to_numpy(dtype=float)
    ok = np.isfinite(b).all(axis=1)
    bad = ok & (
        (np.abs(b[:, [0, 2]]) > 180).any(axis=1)
        | (np.abs(b[:, [1, 3]]) > 90).any(axis=1)
    )
    if not bad.any():
        return True
    i = int(np.flatnonzero(bad)[0])
    crs_name = as_crs(gdf.crs).name
    epsg = as_crs(gdf.crs).to_epsg()
    label = f"{crs_name} (EPSG:{epsg})" if epsg else crs_name
    chk.add(
        f"the layer's CRS is {label}, in degrees, but {int(bad.sum())} of "
        f"{len(gdf)} features lie outside -180..180 / -90..90 (feature {i + 1} "
        f"spans x {b[i, 0]:.2f}..{b[i, 2]:.2f}, y {b[i, 1]:.2f}..{b[i, 3]:.2f}): "
        + _WRONG_CRS_FIX,
        path=path,
        row=i + 1,
        column="geometry",
        kind="crs",
    )
    return False


def _read_boundaries(
    path: PathLike,
    chk: _Checker,
    *,
    name_field: str = "name",
    layer: str | int | None = None,
    kind: str = "study_area",
    stacklevel: int = 3,
) -> gpd.GeoDataFrame | None:
    import shapely

    gdf = _read_vector(path, chk, layer)
    if gdf is None:
        return None
    if gdf.crs is None:
        chk.add(
            "the layer has no CRS. Save it with its CRS (a .prj file, or as "
            "GeoPackage/GeoJSON).",
            path=path,
            kind="crs",
        )
        return None
    if not _degrees_ok(gdf, chk, path):
        return None
    gdf = gdf.copy()
    if name_field in gdf.columns:
        if name_field != V.NAME:
            gdf = (
                gdf.rename(columns={name_field: V.NAME})
                if V.NAME not in gdf.columns
                else gdf.assign(**{V.NAME: gdf[name_field]})
            )
    elif name_field != "name" or kind in ("zones", "parks"):
        hint = V.suggest(name_field, [c for c in gdf.columns if c != gdf.geometry.name])
        chk.add(
            f"no name column '{name_field}'."
            + (
                f" Did you mean '{hint}'? Pass name_field='{hint}'."
                if hint
                else " Add one or pass name_field= naming the column that holds names."
            ),
            path=path,
            column=name_field,
            kind="schema",
        )
        return None
    if V.NAME not in gdf.columns:
        gdf[V.NAME] = [f"{Path(path).stem} {i + 1}" for i in range(len(gdf))]
    gdf[V.NAME] = gdf[V.NAME].astype(object)
    geoms = gdf.geometry.to_numpy().copy()
    for i, g in enumerate(geoms):
        label = f"feature {i + 1}" + (
            f" ('{gdf[V.NAME].iloc[i]}')" if not _is_blank(gdf[V.NAME].iloc[i]) else ""
        )
        if g is None or g.is_empty:
            chk.add(
                f"{label} has no geometry. Remove it or draw its shape.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
            continue
        polygonal = kind in ("study_area", "zones", "parks", "habitat") or (
            kind == "any" and g.geom_type in ("Polygon", "MultiPolygon")
        )
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            if polygonal:
                parts = [
                    p
                    for p in getattr(fixed, "geoms", [fixed])
                    if p.geom_type in ("Polygon", "MultiPolygon")
                ]
                fixed = shapely.union_all(parts) if parts else shapely.Polygon()
            if fixed.is_empty or (polygonal and fixed.area == 0):
                chk.add(
                    f"{label} is invalid ({reason}) and cannot be repaired (nothing "
                    "is left). Fix or remove it.",
                    path=path,
                    row=i + 1,
                    column="geometry",
                    kind="geometry",
                )
                continue
            warnings.warn(
                f"{_name(path)} row {i + 1}: {label} was invalid ({reason}); repaired "
                "with make_valid. Check the result or fix the source file.",
                TrapscapeWarning,
                stacklevel=stacklevel,
            )
            geoms[i] = fixed
        elif polygonal and geoms[i].geom_type not in ("Polygon", "MultiPolygon"):
            chk.add(
                f"{label} is a {geoms[i].geom_type}; the {kind} layer needs polygons.",
                path=path,
                row=i + 1,
                column="geometry",
                kind="geometry",
            )
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf


def read_boundaries(
    path: PathLike,
    *,
    name_field: str = "name",
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary layer (study area, zones, parks, border) from any GDAL vector.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile, ...
    name_field
        Column holding feature names; renamed to ``name``.  When the default
        ``"name"`` is absent, names are made from the file name.
    layer
        Layer of a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's CRS, with a ``name`` column.

    Raises
    ------
    GeometryError
        Empty or unrepairable geometries (each named by row).
    CRSError
        The file has no CRS.

    Warns
    -----
    TrapscapeWarning
        When an invalid polygon was repaired with ``make_valid``.
    """
    chk = _Checker()
    gdf = _read_boundaries(
        path, chk, name_field=name_field, layer=layer, kind="any", stacklevel=3
    )
    chk.raise_if_any()
    assert gdf is not None
    return gdf


def split_boundaries(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Split a combined boundaries layer by its ``kind`` column.

    Without a ``kind`` column, or when none of its values is a boundary kind
    (e.g. a parks file whose ``kind`` says "national park"), the whole layer
    is the study area.  A mix of known and unknown kinds is an error.
    """
    kinds = {c.lower(): c for c in gdf.columns}
    if "kind" not in kinds:
        return {"study_area": gdf}
    col = kinds["kind"]
    norm = (
        gdf[col]
        .astype(str)
        .str.strip()
        .str.lower()
        .replace(
            {
                "zone": "zones",
                "park": "parks",
                "study area": "study_area",
                "studyarea": "study_area",
                "country": "zones",
                "countries": "zones",
            }
        )
    )
    bad = sorted(set(norm) - set(V.BOUNDARY_KINDS))
    if len(bad) == len(set(norm)):  # 'kind' is just an attribute here
        return {"study_area": gdf}
    if bad:
        rows = [int(i) + 1 for i in np.flatnonzero(~norm.isin(V.BOUNDARY_KINDS))]
        raise InputError(
            f"row {rows[0]}, column '{col}': unknown boundary kind(s) {bad}. Use one of "
            f"{', '.join(V.BOUNDARY_KINDS)}.",
            row=rows[0],
            column=col,
        )
    return {
        k: gdf[norm == k].drop(columns=col).reset_index(drop=True)
        for k in V.BOUNDARY_KINDS
        if (norm == k).any()
    }


# ---------------------------------------------------------------------------
# Camtrap DP
# ---------------------------------------------------------------------------
def _offset_of(text: str) -> pd.Timedelta | None:
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    off = ts.utcoffset()
    return None if off is None else pd.Timedelta(off)


def _to_local(
    texts: np.ndarray, offsets: np.ndarray, *, chk: _Checker, path: str, column: str
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
    pkg: dict[str, Any], name: str, folder: Path, chk: _Checker, dp_path: str
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
    chk = _Checker()
    survey = _read_camtrap_dp(path, chk, crs=crs)
    chk.raise_if_any()
    assert survey is not None
    return survey


def _read_camtrap_dp(
    path: PathLike, chk: _Checker, *, crs: Any = None
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
    chk2 = _Checker()
    ts = _to_local(ts_txt, o_off, chk=chk2, path=opath, column="eventStart")
    for prob in chk2.problems:  # re-number to the file's rows
        chk.add(
            prob.message,
            path=prob.path,
            row=int(orows[prob.row - 1]),
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


# ---------------------------------------------------------------------------
# survey
# ---------------------------------------------------------------------------
def _pick_crs(layers: list[gpd.GeoDataFrame | None], crs: Any) -> pyproj.CRS:
    if crs is not None:
        target = as_crs(crs)
        if not target.is_projected:
            raise CRSError(
                f"crs={crs!r} is {target.name}, a geographic CRS; analysis needs metres. "
                "Give a projected CRS such as 'EPSG:32652' (or omit it to use the UTM "
                "zone of the data)."
            )
        return target
    return survey_crs(*[lyr for lyr in layers if lyr is not None])


def _is_camtrap_dp(path: Path) -> bool:
    if path.is_dir():
        return (path / "datapackage.json").exists()
    return (
        path.suffix.lower() == ".json" and path.name.lower() == "datapackage.json"
    ) or (
        path.suffix.lower() == ".json"
        and '"resources"' in path.read_text(encoding="utf-8", errors="ignore")[:200000]
    )


def read_survey(
    project: PathLike | None = None,
    *,
    stations: PathLike | None = None,
    sightings: PathLike | None = None,
    boundaries: PathLike | dict[str, PathLike] | None = None,
    crs: Any = None,
    date_format: str | None = None,
) -> Survey:
    """Read a whole survey into one projected CRS, checking everything.

    Parameters
    ----------
    project
        A survey TOML file (see :func:`trapscape.project.load_project`), a
        Camtrap DP ``datapackage.json`` or its folder.  Omit it to give
        separate files.
    stations, sightings
        Stations and sightings files (see :func:`read_stations`,
        :func:`read_sightings`).  For x/y stations, ``crs`` is their CRS.
    boundaries
        One vector file: split by its ``kind`` column (``study_area``,
        ``zones``, ``parks``, ``border``, ``habitat``) when present, else the
        study area.  Or a dict kind -> file.
    crs
        Projected CRS for the survey (default: the stations' projected CRS,
        else the UTM zone of the data).
    date_format
        strptime format of non-ISO dates in the separate files.

    Returns
    -------
    Survey

    Raises
    ------
    InputError
        With every problem of every file (file, row, column, fix).
    CRSError
        A geographic ``crs`` or layers without CRS.
    """
    if project is not None:
        p = Path(project)
        if p.suffix.lower() == ".toml":
            from .project import load_project

            survey = load_project(p, crs=crs).survey
            return _add_boundaries(survey, boundaries) if boundaries else survey
        if _is_camtrap_dp(p):
            chk = _Checker()
            survey = _read_camtrap_dp(p, chk, crs=crs)
            chk.raise_if_any()
            assert survey is not None
            return _add_boundaries(survey, boundaries) if boundaries else survey
        if stations is None and p.suffix.lower() in (".csv", *VECTOR_SUFFIXES):
            stations = p
        else:
            raise InputError(
                f"{p}: not a project file (.toml) or Camtrap DP package "
                "(datapackage.json or its folder). Give one of those, or --stations.",
                path=p,
            )
    if stations is None:
        raise InputError(
            "No stations given. Pass a project file, a Camtrap DP package or stations=."
        )
    bdict: dict[str, PathLike] | None
    if boundaries is None or isinstance(boundaries, dict):
        bdict = boundaries
        single = None
    else:
        bdict, single = None, boundaries
    return build_survey(
        stations=stations,
        sightings=sightings,
        boundaries=bdict,
        combined_boundaries=single,
        crs=crs,
        date_format=date_format,
    )


def _add_boundaries(survey: Survey, boundaries: Any) -> Survey:
    from dataclasses import replace

    chk = _Checker()
    layers = _load_boundaries(boundaries, chk)
    chk.raise_if_any()
    projected = {k: v.to_crs(survey.crs) for k, v in layers.items()}
    new = replace(survey, **projected)
    chk2 = _Checker()
    V._check_stations(
        new.stations,
        new.problems,
        chk2,
        path=survey.sources.get("stations"),
        study_area=new.study_area,
        report_missing=False,
    )
    # keep only the study-area distance problems (the rest was checked already)
    probs = [p for p in chk2.problems if "outside the study area" in p.message]
    if probs:
        raise InputError.from_problems(probs)
    return new


def _load_boundaries(
    boundaries: Any, chk: _Checker, *, fields: dict[str, str] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    layers: dict[str, gpd.GeoDataFrame] = {}
    if boundaries is None:
        return layers
    if not isinstance(boundaries, dict):
        g = _read_boundaries(boundaries, chk, kind="any", stacklevel=5)
        if g is not None:
            kinds = {c.lower() for c in g.columns}
            if "kind" in kinds:
                try:
                    layers.update(split_boundaries(g))
                except InputError as err:
                    chk.add(err.args[0], path=boundaries)
            else:
                layers["study_area"] = g
        return layers
    for kind, path in boundaries.items():
        if path is None:
            continue
        g = _read_boundaries(
            path,
            chk,
            kind=kind,
            name_field=(fields or {}).get(kind, "name"),
            stacklevel=5,
        )
        if g is not None:
            layers[kind] = g
    return layers


def build_survey(
    *,
    stations: PathLike,
    sightings: PathLike | None = None,
    boundaries: dict[str, PathLike] | None = None,
    combined_boundaries: PathLike | None = None,
    boundary_fields: dict[str, str] | None = None,
    crs: Any = None,
    stations_crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    date_format: str | None = None,
    name: str | None = None,
) -> Survey:
    """Read separate files into a :class:`Survey` (used by read_survey and projects).

    ``stations_crs`` is the CRS of x/y station columns (default ``crs``).
    Every problem in every file is collected and raised once.
    """
    chk = _Checker()
    target = None
    if crs is not None:
        target = _pick_crs([], crs)
    st = _read_stations(
        stations,
        chk,
        crs=stations_crs if stations_crs is not None else crs,
        x=x,
        y=y,
        date_format=date_format,
    )
    layers = _load_boundaries(boundaries, chk, fields=boundary_fields)
    if combined_boundaries is not None:
        layers.update(_load_boundaries(combined_boundaries, chk))
    if st is None or any(k == "schema" for k in chk.kinds):
        # cannot check sightings against stations that failed to read
        if sightings is not None and st is None:
            _read_sightings(sightings, chk, date_format=date_format)
        chk.raise_if_any()
    assert st is not None
    if target is None:
        try:
            target = _pick_crs([_valid_points(st.stations), *layers.values()], None)
        except CRSError as err:
            if not len(chk):  # otherwise the coordinate problems explain it
                chk.add(str(err), kind="crs")
            chk.raise_if_any()
    assert target is not None
    stations_p = st.stations.to_crs(target)
    si = None
    if sightings is not None:
        si = _read_sightings(
            sightings,
            chk,
            stations=StationsTable(stations_p, st.problems),
            date_format=date_format,
            stations_path=stations,
        )
    projected = {k: v.to_crs(target) for k, v in layers.items()}
    V._check_stations(
        stations_p,
        None,
        chk,
        path=stations,
        study_area=projected.get("study_area"),
        report_missing=False,
    )
    # the call above repeats per-row checks already made; keep only new kinds
    chk.problems, chk.kinds = _dedupe(chk.problems, chk.kinds)
    chk.raise_if_any()
    if si is None:
        si = _empty_sightings()
    sources: dict[str, Any] = {"stations": os.fspath(stations)}
    if sightings is not None:
        sources["sightings"] = os.fspath(sightings)
    if boundaries:
        sources.update(
            {k: os.fspath(v) for k, v in boundaries.items() if v is not None}
        )
    if combined_boundaries is not None:
        sources["boundaries"] = os.fspath(combined_boundaries)
    return Survey(
        stations=stations_p,
        sightings=si,
        problems=st.problems,
        crs=target,
        name=name or Path(stations).stem,
        sources=sources,
        **projected,
    )


def _valid_points(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stations with a usable location (finite; within range if geographic)."""
    g = stations.geometry
    ok = ~(g.isna() | g.is_empty)
    x = np.where(ok, g.x.where(ok), np.nan) if ok.any() else np.full(len(g), np.nan)
    y = np.where(ok, g.y.where(ok), np.nan) if ok.any() else np.full(len(g), np.nan)
    ok = ok.to_numpy() & np.isfinite(x) & np.isfinite(y)
    if stations.crs is not None and as_crs(stations.crs).is_geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    return stations[ok]


def _dedupe(problems: list[Any], kinds: list[str]) -> tuple[list[Any], list[str]]:
    seen: set[Any] = set()
    out_p, out_k = [], []
    for p, k in zip(problems, kinds, strict=False):
        if p in seen:
            continue
        seen.add(p)
        out_p.append(p)
        out_k.append(k)
    return out_p, out_k


def _empty_sightings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            V.STATION_ID: pd.Series(dtype=object),
            V.CAMERA_ID: pd.Series(dtype="string"),
            V.DEPLOYMENT_ID: pd.Series(dtype="string"),
            V.TIMESTAMP: pd.Series(dtype="datetime64[ns]"),
            V.SPECIES: pd.Series(dtype=object),
            V.INDIVIDUAL_ID: pd.Series(dtype="string"),
            V.SEX: pd.Series(dtype="string"),
            V.MEDIA_ID: pd.Series(dtype="string"),
            V.COUNT: pd.Series(dtype=np.int64),
        }
    )
