"""Raster grid specification and DataArray <-> GeoTIFF helpers.

Rasters in trapscape are :class:`xarray.DataArray` objects with dims
``("y", "x")``, cell-centre coordinates in metres (y decreasing), and CRS and
transform attached through rioxarray.  :class:`GridSpec` describes such a grid
without data; only this module and :mod:`trapscape.io` touch rasterio.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import xarray as xr
from affine import Affine

from .crs import as_crs

__all__ = [
    "GridSpec",
    "grid_for_bounds",
    "rasterize_geometries",
    "read_geotiff",
    "to_dataarray",
    "write_geotiff",
]


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid: origin (upper-left corner), cell size, shape and CRS.

    Attributes
    ----------
    x0, y0
        Map coordinates of the upper-left corner of the upper-left cell.
    cell
        Cell size in CRS units (metres).
    width, height
        Number of columns and rows.
    crs
        Projected CRS.
    """

    x0: float
    y0: float
    cell: float
    width: int
    height: int
    crs: pyproj.CRS

    @property
    def transform(self) -> Affine:
        """Affine transform (rasterio convention)."""
        return Affine(self.cell, 0.0, self.x0, 0.0, -self.cell, self.y0)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)``."""
        return (
            self.x0,
            self.y0 - self.height * self.cell,
            self.x0 + self.width * self.cell,
            self.y0,
        )

    @property
    def xs(self) -> np.ndarray:
        """Cell-centre x coordinates (length ``width``)."""
        return self.x0 + (np.arange(self.width) + 0.5) * self.cell

    @property
    def ys(self) -> np.ndarray:
        """Cell-centre y coordinates (length ``height``, decreasing)."""
        return self.y0 - (np.arange(self.height) + 0.5) * self.cell

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of map coordinates (may fall outside)."""
        col = np.floor((np.asarray(x) - self.x0) / self.cell).astype(np.int64)
        row = np.floor((self.y0 - np.asarray(y)) / self.cell).astype(np.int64)
        return row, col


def grid_for_bounds(
    bounds: tuple[float, float, float, float],
    cell: float,
    crs: Any,
    *,
    snap: bool = True,
) -> GridSpec:
    """Smallest grid of ``cell``-sized cells covering ``bounds``.

    With ``snap`` the origin is aligned to multiples of ``cell`` so grids of
    the same resolution from different layers line up.
    """
    if not cell > 0:
        raise ValueError(f"cell size must be positive, got {cell}")
    minx, miny, maxx, maxy = bounds
    if snap:
        minx = math.floor(minx / cell) * cell
        maxy = math.ceil(maxy / cell) * cell
    width = max(1, math.ceil((maxx - minx) / cell - 1e-9))
    height = max(1, math.ceil((maxy - miny) / cell - 1e-9))
    return GridSpec(float(minx), float(maxy), float(cell), width, height, as_crs(crs))


def to_dataarray(
    values: np.ndarray,
    grid: GridSpec,
    *,
    name: str = "value",
    nodata: float | None = None,
    copy: bool = True,
) -> xr.DataArray:
    """Wrap a ``(height, width)`` array as a georeferenced DataArray.

    With ``copy=False`` the DataArray holds ``values`` itself (no full-grid
    copy; the caller must not reuse the array).
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    values = np.asarray(values)
    if values.shape != grid.shape:
        raise ValueError(f"array shape {values.shape} does not match grid {grid.shape}")
    da = xr.DataArray(
        values, dims=("y", "x"), coords={"y": grid.ys, "x": grid.xs}, name=name
    )
    inplace = not copy
    da = da.rio.write_crs(grid.crs.to_wkt(), inplace=inplace)
    da = da.rio.write_transform(grid.transform, inplace=inplace)
    if nodata is not None:
        da = da.rio.write_nodata(nodata, inplace=inplace)
    return da


def grid_of(da: xr.DataArray) -> GridSpec:
    """Recover the :class:`GridSpec` of a DataArray made by :func:`to_dataarray`."""
    t = da.rio.transform()
    return GridSpec(t.c, t.f, t.a, da.sizes["x"], da.sizes["y"], as_crs(da.rio.crs))


def write_geotiff(da: xr.DataArray, path: str | os.PathLike[str]) -> None:
    """Write a DataArray as a compressed, tiled GeoTIFF."""
    import rasterio

    grid = grid_of(da)
    data = np.asarray(da.values)
    nodata = da.rio.nodata
    dtype = data.dtype.name if data.dtype != bool else "uint8"
    profile = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": 1,
        "dtype": dtype,
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "compress": "deflate",
    }
    if nodata is not None:
        profile["nodata"] = nodata
    if grid.width >= 256 and grid.height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype), 1)
        if da.name:
            dst.set_band_description(1, str(da.name))


def read_geotiff(path: str | os.PathLike[str], *, masked: bool = True) -> xr.DataArray:
    """Read band 1 of a raster as a DataArray (nodata to NaN when ``masked``)."""
    import rasterio

    with rasterio.open(path) as src:
        data = src.read(1, masked=masked)
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise ValueError(f"{path}: only north-up rasters are supported")
        if abs(abs(t.e) - t.a) > 1e-9 * abs(t.a):
            raise ValueError(f"{path}: only square cells are supported")
        grid = GridSpec(t.c, t.f, t.a, src.width, src.height, as_crs(src.crs))
        nodata = src.nodata
    if masked and np.ma.isMaskedArray(data):
        data = np.ma.filled(np.ma.asarray(data).astype("float64"), np.nan)
        nodata = np.nan
    return to_dataarray(np.asarray(data), grid, nodata=nodata)


def rasterize_geometries(
    geometries: Any,
    grid: GridSpec,
    *,
    values: Any = 1,
    fill: float = 0,
    all_touched: bool = False,
    dtype: str = "uint8",
) -> np.ndarray:
    """Burn geometries into an array on ``grid`` (rasterio.features.rasterize)."""
    from rasterio import features

    geoms = list(geometries)
    if np.isscalar(values):
        shapes = [(g, values) for g in geoms if g is not None and not g.is_empty]
    else:
        shapes = [
            (g, v)
            for g, v in zip(geoms, values, strict=False)
            if g is not None and not g.is_empty
        ]
    if not shapes:
        return np.full(grid.shape, fill, dtype=dtype)
    return features.rasterize(
        shapes,
        out_shape=grid.shape,
        transform=grid.transform,
        fill=fill,
        all_touched=all_touched,
        dtype=dtype,
    )
