"""CSV and vector tables shared by the readers: separators, dates, numbers.

The readers of :mod:`trapscape.io` read every file through these helpers,
so a date, a decimal comma or a swapped coordinate is parsed and reported
the same way in stations, sightings and Camtrap DP files.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..crs import as_crs, survey_crs
from ..errors import CRSError, ProblemCollector

if TYPE_CHECKING:
    import pyproj

__all__ = [
    "VECTOR_SUFFIXES",
    "PathLike",
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

_WRONG_CRS_FIX = (
    "the values look like metres; the layer's CRS is probably wrong: "
    "set it to the projected CRS the coordinates were measured in, e.g. "
    "EPSG:32652 (WGS 84 / UTM zone 52N) (QGIS: Layer > Set CRS; "
    "geopandas: gdf.set_crs(32652, allow_override=True)), and save the "
    "file again."
)


_ISO = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%T", "%R")


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


def _usable_file(p: Path, chk: ProblemCollector, path: PathLike, *, dirs: bool) -> bool:
    """Whether ``p`` is a readable regular file (or folder, with ``dirs``).

    Missing files, symlink loops, devices and FIFOs are reported (reading
    ``/dev/zero`` or a FIFO would never end).
    """
    import stat as _stat

    where = os.path.abspath(p)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        chk.add(f"file not found (looked in {where}). Fix the path.", path=path)
        return False
    except (OSError, RuntimeError) as err:  # e.g. a symlink loop
        why = getattr(err, "strerror", None) or str(err)
        chk.add(f"cannot be opened ({why}). Fix the path or the link.", path=path)
        return False
    if _stat.S_ISREG(mode) or (dirs and _stat.S_ISDIR(mode)):
        return True
    chk.add(
        "is not a regular file (a folder, device or FIFO). Give the path of the "
        "data file.",
        path=path,
    )
    return False


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
    path: PathLike, chk: ProblemCollector, *, allow_no_rows: bool = False
) -> pd.DataFrame | None:
    """Read a CSV as strings (blank cells -> ''); None when unreadable/empty.

    A header without data rows is a problem unless ``allow_no_rows``.
    """
    p = Path(path)
    if not _usable_file(p, chk, path, dirs=False):
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
    _check_repeated_columns(list(df.columns), chk, path)
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
    _blank_r_missing(df)
    if len(df) == 0 and not allow_no_rows:
        chk.add(
            "the file has a header but no data rows. Add at least one row.", path=path
        )
        return None
    out = df.astype(object)
    out.attrs["sep"] = sep  # a decimal comma is only read in ';'/tab files
    return out


#: a number or an ISO date(-time): a column of these never holds the text "NA"
_TYPED = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^\d{4}-\d{2}-\d{2}\b")


def _blank_r_missing(df: pd.DataFrame) -> None:
    """Blank R's missing value ``NA`` in columns of numbers or dates (in place).

    R writes missing values as a bare ``NA`` (``write.csv``); in a column
    whose other cells are all numbers or dates it can only mean "missing".
    Text columns keep ``NA`` (a station may be named so).
    """
    for c in df.columns:
        na = df[c] == "NA"
        if not na.any():
            continue
        vals = df[c].astype(str).str.strip()
        rest = vals[~na & (vals != "")]
        if len(rest) and rest.str.match(_TYPED).all():
            df[c] = df[c].where(~na, "")


def _check_repeated_columns(
    columns: list[str], chk: ProblemCollector, path: PathLike
) -> None:
    """A header naming a column twice (pandas reads the second as 'name.1'
    and would silently ignore it) is a problem."""
    names = set(columns)
    for c in columns:
        m = re.fullmatch(r"(.+)\.(\d+)", c)
        if m and m.group(1) in names:
            chk.add(
                f"the header names column {m.group(1)!r} more than once. "
                "Remove or rename the repeated column.",
                path=path,
                column=m.group(1),
                kind="schema",
            )


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
    if ts is pd.NaT:
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


def _column_date_hint(values: np.ndarray) -> str | None:
    """How to read a column of d/m/y or m/d/y dates, when its values tell."""
    matches = (re.match(r"^(\d{1,2})[/.](\d{1,2})[/.]\d{4}", str(v)) for v in values)
    firsts = [m for m in matches if m is not None]
    if not firsts:
        return None
    sep = next(c for c in firsts[0].group(0) if not c.isdigit())
    if any(int(m.group(1)) > 12 for m in firsts):
        return (
            f" The column looks like day{sep}month{sep}year: pass "
            f"date_format='%d{sep}%m{sep}%Y'."
        )
    if any(int(m.group(2)) > 12 for m in firsts):
        return (
            f" The column looks like month{sep}day{sep}year: pass "
            f"date_format='%m{sep}%d{sep}%Y'."
        )
    if sep == ".":
        return (
            " The column looks like day.month.year: pass "
            "date_format='%d.%m.%Y' (--date-format '%d.%m.%Y', or "
            "date_format in [survey])."
        )
    return None


def _format_problem(fmt: str) -> str | None:
    """Why ``fmt`` is not a usable strptime format (None when it is)."""
    if "%" not in fmt:
        return "has no % directives"
    sample = datetime(2001, 2, 3, 4, 5, 6)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as err:
        return str(err)
    return None


def _check_date_format(
    fmt: str | None, chk: ProblemCollector, path: PathLike | None
) -> bool:
    """Report an unusable ``date_format`` once; True when it can be used."""
    if not fmt:
        return True
    why = _format_problem(fmt)
    if why is None:
        return True
    chk.add(
        f"date_format {fmt!r} is not a valid strptime format ({why}). Use "
        "directives such as '%d/%m/%Y' or '%d.%m.%Y %H:%M' (see Python's "
        "datetime.strptime), or leave date_format out for ISO dates "
        "(YYYY-MM-DD HH:MM:SS).",
        path=path,
        column="date_format",
    )
    return False


def _window_message(text: str, window: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    lo, hi = window
    return (
        f"date '{text}' is outside the plausible survey window "
        f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d}. Correct it (a camera clock reset to "
        "its factory date, or a mistyped year?); if the date is right, widen "
        "the window ([survey] earliest_date / latest_date in a project file, "
        "date_window= of the readers in Python)."
    )


def _in_ns_range(ts: pd.Timestamp) -> bool:
    return bool(pd.Timestamp.min <= ts <= pd.Timestamp.max)


def _fast_dates(ser: pd.Series, fmt: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised parse of plain ISO / given-format values (NaT for the rest).

    Values beyond what pandas stores in nanoseconds (before 1677, after
    2262) are left NaT here and reported by the per-value parser.
    """
    n = len(ser)
    if fmt:
        fast = pd.to_datetime(ser, format=fmt, errors="coerce")
        has_time = np.full(n, _format_has_time(fmt))
    else:
        plain = ser.str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
        fast = pd.Series(pd.NaT, index=ser.index, dtype="datetime64[ns]")
        if plain.any():
            parsed = pd.to_datetime(ser[plain], format="ISO8601", errors="coerce")
            inside = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
            fast[plain] = parsed.where(inside).astype("datetime64[ns]")
        has_time = (ser.str.len() > 10).to_numpy()
    inside = (fast >= pd.Timestamp.min) & (fast <= pd.Timestamp.max)
    return fast.where(inside).astype("datetime64[ns]").to_numpy(), has_time


def _parse_dates(
    values: np.ndarray,
    *,
    fmt: str | None,
    date_only: str,
    chk: ProblemCollector,
    path: PathLike | None,
    column: str,
    rows: np.ndarray,
    required: bool,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of date strings.

    ``date_only`` says where a date without time goes: "noon", "start"
    (00:00) or "next" (00:00 of the following day).  Dates outside
    ``window`` (default :func:`trapscape.validation.date_window`) are
    reported.
    Returns (datetime64[ns] array with NaT for blanks/errors, time_known bool array).
    """
    n = len(values)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    known = np.ones(n, dtype=bool)
    window = window or V.date_window()
    if fmt and _format_problem(fmt) is not None:
        return out, known  # reported once by the reader (_check_date_format)
    expected = f"'{fmt}'" if fmt else "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
    col_hint = None if fmt else _column_date_hint(values)
    # fast path: vectorised parse of the plain ISO / given-format values; the
    # rest (blanks, offsets, errors) go through the checked per-value parser
    ser = pd.Series(values, dtype=object).astype(str)
    fast_vals, fast_has_time = _fast_dates(ser, fmt)
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
        if not _in_ns_range(ts):
            chk.add(
                _window_message(text, window),
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
    _check_window(out, values, window, chk=chk, path=path, column=column, rows=rows)
    return out, known


def _check_window(
    out: np.ndarray,
    values: np.ndarray,
    window: tuple[pd.Timestamp, pd.Timestamp],
    *,
    chk: ProblemCollector,
    path: PathLike | None,
    column: str,
    rows: np.ndarray,
) -> None:
    """Report parsed dates outside the plausible survey ``window``."""
    lo, hi = (np.datetime64(w.to_datetime64(), "ns") for w in window)
    outside = ~np.isnat(out) & ((out < lo) | (out > hi))
    for i in np.flatnonzero(outside):
        chk.add(
            _window_message(str(values[i]), window),
            path=path,
            row=int(rows[i]),
            column=column,
        )


def _parse_float(
    values: np.ndarray,
    *,
    chk: ProblemCollector,
    path: PathLike | None,
    column: str,
    rows: np.ndarray,
    sep: str = ",",
) -> np.ndarray:
    """Decimal numbers of a coordinate column (NaN where a problem was reported).

    A decimal comma is read only when the columns are separated by ';' or a
    tab (``sep``); in a comma-separated file "42,31" is a quoted cell and
    most likely a mistake, so it is reported instead of read as 42.31.
    """
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if sep == "," and "," in str(v):
            chk.add(
                f"'{v}' has a decimal comma in a comma-separated file. Write it "
                f"with a decimal point ({str(v).replace(',', '.')}), or save the "
                "file with ';' between columns (Excel's CSV in comma-decimal "
                "locales).",
                path=path,
                row=int(rows[i]),
                column=column,
            )
            continue
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
    chk: ProblemCollector,
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


def _missing_required(
    found: dict[str, str],
    required: list[str],
    aliases: dict[str, tuple[str, ...]],
    columns: list[str],
    chk: ProblemCollector,
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


def _read_vector(
    path: PathLike, chk: ProblemCollector, layer: str | int | None = None
) -> gpd.GeoDataFrame | None:
    p = Path(path)
    if not _usable_file(p, chk, path, dirs=True):
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
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        chk.add(
            "the file has no geometries (a table, such as a CSV, was given). Give "
            "a GeoPackage, GeoJSON, Shapefile or another GDAL vector file.",
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


def _crs_label(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _check_crs_area(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: Any,
    chk: ProblemCollector,
    path: PathLike | None,
    *,
    column: str = "crs",
) -> None:
    """Report locations far outside the area of use of ``crs``.

    ``points`` are in their own CRS (any); their index + 1 is the row.  A
    projected CRS is accurate only near its area of use (pyproj's
    ``CRS.area_of_use``); locations more than
    :data:`trapscape.validation.CRS_AREA_MARGIN` degrees outside it mean a
    wrong CRS (e.g. a UTM zone of another continent), which distorts every
    distance and area.  One problem names the CRS, the rows and the UTM
    zone of the data.
    """
    target = as_crs(crs)
    area = target.area_of_use
    if area is None or target.is_geographic or points.crs is None or not len(points):
        return
    geom = points.geometry if hasattr(points, "geometry") else points
    ok = ~(geom.isna() | geom.is_empty).to_numpy()
    if not ok.any():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ll = geom[ok].to_crs(4326)
    lon, lat = ll.x.to_numpy(), ll.y.to_numpy()
    m = V.CRS_AREA_MARGIN
    if area.west <= area.east:
        in_lon = (lon >= area.west - m) & (lon <= area.east + m)
    else:  # the area crosses the antimeridian
        in_lon = (lon >= area.west - m) | (lon <= area.east + m)
    inside = (
        np.isfinite(lon) & in_lon & (lat >= area.south - m) & (lat <= area.north + m)
    )
    if inside.all():
        return
    rows = (np.asarray(geom.index[ok])[~inside] + 1).tolist()
    fin = (
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    hint = ""
    if fin.any():
        utm = survey_crs(
            gpd.GeoSeries(gpd.points_from_xy(lon[fin], lat[fin]), crs=4326)
        )
        hint = (
            f" The locations lie around {np.median(lon[fin]):.2f} E, "
            f"{np.median(lat[fin]):.2f} N, in {_crs_label(utm)}: use "
            f"crs = 'EPSG:{utm.to_epsg()}', or leave crs out to get the UTM "
            "zone of the data."
        )
    listed = ", ".join(map(str, rows[:10])) + (
        f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    )
    chk.add(
        f"{len(rows)} of {int(ok.sum())} locations (rows {listed}) are far outside "
        f"the area of use of the CRS {_crs_label(target)} ({area.west:g}..{area.east:g}"
        f" E, {area.south:g}..{area.north:g} N), so its distances and "
        f"areas would be wrong: the CRS does not fit the data.{hint}",
        path=path,
        row=rows[0],
        column=column,
        kind="crs",
    )


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
