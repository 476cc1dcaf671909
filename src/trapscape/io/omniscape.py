"""Omniscape.jl's files: INI configurations and ASCII-grid / GeoTIFF rasters.

An Omniscape.jl INI file is ``key = value`` lines under ``[section]``
headers that carry no meaning (Omniscape.jl reads every key of every
section into one table); ``#`` and ``;`` start comments here.  Rasters are
ESRI ASCII grids (``.asc``, read in double precision, as Omniscape.jl
does) or anything rasterio opens (GeoTIFF); nodata becomes NaN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from ..errors import InputError

__all__ = ["GridFile", "read_grid", "read_ini", "tif_profile", "write_grid"]

NODATA = -9999.0


@dataclass(frozen=True)
class GridFile:
    """A raster read from a file: values (NaN = nodata) and georeference."""

    values: np.ndarray
    transform: Affine
    crs: Any  # a rasterio CRS or None
    path: Path

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape


def read_ini(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``key = value`` pairs of an Omniscape.jl INI file (keys lower-cased)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{p}: no such INI file.", path=p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the INI file ({exc}).", path=p) from None
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;[":
            continue
        if "=" not in line:
            raise InputError(
                f"{p}, line {lineno}: {line!r} is not 'key = value'. Fix or remove "
                "the line.",
                path=p,
                row=lineno,
            )
        key, value = line.split("=", 1)
        out[key.strip().lower()] = value.strip()
    return out


def _read_asc(p: Path) -> GridFile:
    header: dict[str, float] = {}
    with p.open(encoding="utf-8") as fh:
        pos = 0
        while True:
            pos = fh.tell()
            line = fh.readline()
            parts = line.split()
            if len(parts) != 2 or not parts[0][0].isalpha():
                break
            try:
                header[parts[0].lower()] = float(parts[1])
            except ValueError:
                raise InputError(
                    f"{p}: header line {line.strip()!r} has no number.", path=p
                ) from None
        fh.seek(pos)
        try:
            values = np.loadtxt(fh, dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise InputError(f"{p}: unreadable grid values ({exc}).", path=p) from None
    for key in ("ncols", "nrows", "cellsize"):
        if key not in header:
            raise InputError(f"{p}: the ASCII grid header has no {key}.", path=p)
    nrows, ncols = int(header["nrows"]), int(header["ncols"])
    if values.shape != (nrows, ncols):
        raise InputError(
            f"{p}: the header says {nrows} rows x {ncols} columns but the file holds "
            f"{values.shape[0]} x {values.shape[1]} values.",
            path=p,
        )
    cell = header["cellsize"]
    if "xllcenter" in header:
        x0, y0 = header["xllcenter"] - cell / 2, header["yllcenter"] - cell / 2
    else:
        x0, y0 = header.get("xllcorner", 0.0), header.get("yllcorner", 0.0)
    nodata = header.get("nodata_value")
    if nodata is not None:
        values[values == nodata] = np.nan
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y0 + nrows * cell)
    crs = None
    prj = p.with_suffix(".prj")
    if prj.exists():
        from rasterio.crs import CRS

        try:
            crs = CRS.from_wkt(prj.read_text())
        except Exception:
            crs = None
    return GridFile(values, transform, crs, p)


def read_grid(path: str | os.PathLike[str], *, what: str) -> GridFile:
    """Band 1 of an ASCII grid or GeoTIFF as float64 (nodata to NaN)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"{what}: no such file {p}. Fix the path in the INI file.", path=p
        )
    if p.suffix.lower() == ".asc":
        return _read_asc(p)
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(p) as src:
            data = src.read(1, masked=True).astype(np.float64)
            return GridFile(np.ma.filled(data, np.nan), src.transform, src.crs, p)
    except RasterioIOError as exc:
        raise InputError(f"{what}: {p} is not a raster ({exc}).", path=p) from None


def tif_profile(
    shape: tuple[int, int], dtype: str, transform: Affine, crs: Any = None
) -> dict[str, Any]:
    """The rasterio profile of an output GeoTIFF (one band, -9999 nodata, deflate).

    One profile for grids written whole (:func:`write_grid`) and strip by
    strip (the windowed dask run), so both write the same files.
    """
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": shape[0],
        "width": shape[1],
        "count": 1,
        "dtype": dtype,
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
    }
    if crs is not None:
        profile["crs"] = crs
    return profile


def write_grid(
    values: np.ndarray,
    path: str | os.PathLike[str],
    *,
    transform: Affine,
    crs: Any = None,
    dtype: str = "float64",
) -> None:
    """Write ``values`` (NaN = nodata, written as -9999) as ``.asc`` or ``.tif``."""
    p = Path(path)
    data = np.where(np.isnan(values), NODATA, values).astype(dtype)
    if p.suffix.lower() == ".asc":
        nrows, ncols = data.shape
        cell = transform.a
        lines = [
            f"ncols        {ncols}",
            f"nrows        {nrows}",
            f"xllcorner    {transform.c!r}",
            f"yllcorner    {transform.f + transform.e * nrows!r}",
            f"cellsize     {cell!r}",
            f"NODATA_value  {NODATA:g}",
        ]
        fmt = "%.17g" if dtype == "float64" else "%.9g"
        with p.open("w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
            np.savetxt(fh, data, fmt=fmt)
        if crs is not None:
            p.with_suffix(".prj").write_text(crs.to_wkt())
        return
    import rasterio

    profile = tif_profile(data.shape, dtype, transform, crs)
    with rasterio.open(p, "w", **profile) as dst:
        dst.write(data, 1)
