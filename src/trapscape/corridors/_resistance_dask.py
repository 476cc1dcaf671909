"""Resistance surfaces built in chunks with dask.array (``trapscape[dask]``).

The grid is cut into bands of whole rows; every layer is evaluated per band
with the functions of the in-memory path (:mod:`.resistance`):

* rasters are warped onto the band's own window of the grid (rasterio's
  ``reproject`` from the file's band onto the band's transform, so GDAL
  reads only the source blocks under it; the band origin is the grid
  origin moved by whole cells, so the cell centres are the same numbers);
* the slope kernel (central differences) crosses band edges, so the warped
  elevation goes through ``map_overlap`` with a depth of one row
  (``boundary="none"``: the grid's own edges keep their one-sided
  differences, as ``numpy.gradient`` does on the whole grid);
* vector layers are rasterised per band; a layer whose resistance decays
  with distance needs the distance to the nearest touched cell anywhere on
  the grid: the touched cells are collected first (few), then each band
  measures its cells' distances to them with a KD-tree (the exact
  Euclidean distance in cells, as ``distance_transform_edt`` gives).

The values are those of :func:`.resistance.resistance_surface` cell for
cell; the client only assembles the finished bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from .._raster import GridSpec, rasterize_geometries

__all__ = ["chunked_surface"]


def _band(grid: GridSpec, r0: int, r1: int) -> GridSpec:
    return replace(grid, y0=grid.y0 - r0 * grid.cell, height=r1 - r0)


def _rows(block_info: dict[Any, Any] | None) -> tuple[int, int]:
    assert block_info is not None
    (r0, r1), _ = block_info[None]["array-location"]
    return int(r0), int(r1)


def _warp_window(source: Any, grid: GridSpec, *, nearest: bool) -> np.ndarray:
    """:func:`.resistance._warp` reading only the part of a file ``grid`` needs.

    GDAL reads the source blocks under the band itself (the source is the
    dataset's band, with its own transform and nodata), instead of the
    whole raster being read into memory first; a DataArray source is warped
    as in memory.
    """
    import os

    import rasterio
    from rasterio.warp import Resampling, reproject

    from ..errors import CRSError, InputError
    from .resistance import _warp

    if not isinstance(source, (str, os.PathLike)):
        return _warp(source, grid, nearest=nearest)
    where = os.fspath(source)
    try:
        src = rasterio.open(source)
    except rasterio.errors.RasterioIOError as err:
        raise InputError(
            f"{where}: cannot read raster ({err}). Check the path.", path=where
        ) from err
    with src:
        if src.crs is None:
            raise CRSError(f"Raster {where} has no CRS. Assign one (e.g. EPSG:4326).")
        dst = np.full(grid.shape, np.nan, dtype=np.float64)
        reproject(
            rasterio.band(src, 1),
            dst,
            src_nodata=src.nodata,
            dst_transform=grid.transform,
            dst_crs=grid.crs.to_wkt(),
            dst_nodata=np.nan,
            resampling=Resampling.nearest if nearest else Resampling.bilinear,
        )
    return dst


def _plain_block(
    _blk: Any, layer: Any, grid: GridSpec, combine: str, *, block_info: Any = None
) -> np.ndarray:
    """A layer's values on one band (no neighbours needed)."""
    from .resistance import _layer_values

    r0, r1 = _rows(block_info)
    band = _band(grid, r0, r1)
    vals, bmask, _ = _layer_values(layer, band, combine, warp=_warp_window)
    return (bmask if bmask is not None else vals).astype(
        bool if bmask is not None else np.float64
    )


def _warp_block(
    _blk: Any, source: Any, grid: GridSpec, *, block_info: Any = None
) -> np.ndarray:
    r0, r1 = _rows(block_info)
    return _warp_window(source, _band(grid, r0, r1), nearest=False)


def _slope_then_function(vals: np.ndarray, layer: Any, grid: GridSpec) -> np.ndarray:
    """The RasterFunction rule on warped values (slope of the padded band)."""
    from .resistance import _function_values

    return _function_values(vals, layer, grid.cell)


def _touched_block(
    _blk: Any, geoms: Any, grid: GridSpec, *, block_info: Any = None
) -> np.ndarray:
    r0, r1 = _rows(block_info)
    band = _band(grid, r0, r1)
    return rasterize_geometries(geoms, band, values=1, fill=0, all_touched=True).astype(
        bool
    )


def _decay_block(
    _blk: Any,
    touched: np.ndarray,
    layer: Any,
    grid: GridSpec,
    combine: str,
    *,
    block_info: Any = None,
) -> np.ndarray:
    r0, r1 = _rows(block_info)
    shape = (r1 - r0, grid.width)
    if len(touched):
        from scipy.spatial import cKDTree

        rr, cc = np.mgrid[r0:r1, 0 : grid.width]
        cells = np.column_stack([rr.ravel(), cc.ravel()]).astype(np.float64)
        dist, _ = cKDTree(touched.astype(np.float64)).query(cells)
        d = dist.reshape(shape) * grid.cell
        w = np.exp(-d / float(layer.decay_distance))
    else:
        w = np.zeros(shape)
    if combine == "product":
        return 1.0 + (layer.resistance - 1.0) * w
    return layer.resistance * w


def _layer_array(
    layer: Any, grid: GridSpec, combine: str, template: Any, client: Any
) -> tuple[Any, bool, float | None]:
    """(dask array of values or barrier mask, is barrier, barrier value)."""
    import dask.array as da

    from .resistance import RasterFunction, VectorLayer, _vector_geoms

    # the arguments ride in partials: a DataArray source must not be taken
    # for a dask collection, nor a layer's arrays be chunked
    if isinstance(layer, RasterFunction) and _uses_slope(layer):
        warped = template.map_blocks(
            partial(_warp_block, source=layer.source, grid=grid), dtype=np.float64
        )
        vals = warped.map_overlap(
            partial(_slope_then_function, layer=layer, grid=grid),
            depth={0: 1, 1: 0},
            boundary="none",
            dtype=np.float64,
        )
        return vals, False, None
    if isinstance(layer, VectorLayer):
        barrier = layer.barrier is not False and layer.barrier is not None
        if layer.decay_distance and not barrier:
            geoms = _vector_geoms(layer.data, grid)
            if layer.width and layer.width > 0:
                geoms = geoms.buffer(layer.width / 2.0)
            mask = template.map_blocks(
                partial(_touched_block, geoms=list(geoms), grid=grid), dtype=bool
            )
            touched = np.asarray(client.compute(da.argwhere(mask)).result())
            vals = template.map_blocks(
                partial(
                    _decay_block,
                    touched=touched,
                    layer=layer,
                    grid=grid,
                    combine=combine,
                ),
                dtype=np.float64,
            )
            return vals, False, None
        if barrier:
            bval = None if layer.barrier is True else float(layer.barrier)
            mask = template.map_blocks(
                partial(_plain_block, layer=layer, grid=grid, combine=combine),
                dtype=bool,
            )
            return mask, True, bval
    vals = template.map_blocks(
        partial(_plain_block, layer=layer, grid=grid, combine=combine),
        dtype=np.float64,
    )
    return vals, False, None


def _uses_slope(layer: Any) -> bool:
    return layer.of == "slope" or layer.func == "slope"


def _land_block(
    vals: np.ndarray, *, habitat: Any, grid: GridSpec, block_info: Any = None
) -> np.ndarray:
    r0, r1 = _rows(block_info)
    land = rasterize_geometries(
        habitat, _band(grid, r0, r1), values=1, fill=0, all_touched=True
    ).astype(bool)
    out = vals.copy()
    out[~land] = np.nan
    return out


def _finish_block(vals: np.ndarray) -> np.ndarray:
    out = vals.copy()
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def chunked_surface(
    grid: GridSpec,
    layers: Sequence[Any],
    *,
    combine: str,
    base: float,
    client: Any,
    band_cells: int,
    habitat: Any = None,
    progress: bool = False,
) -> tuple[np.ndarray, bool]:
    """The combined resistance on ``grid``, computed by bands on ``client``.

    Returns the values (NaN impassable; cells outside ``habitat`` NaN when
    it is given) and whether every cell was impassable before ``habitat``
    was applied.
    """
    import dask.array as da

    from .._dask import row_bands

    bands = row_bands(grid.height, grid.width, band_cells)
    chunks = (tuple(r1 - r0 for r0, r1 in bands), (grid.width,))
    out = da.full(grid.shape, float(base), chunks=chunks, dtype=np.float64)
    template = da.zeros(grid.shape, chunks=chunks, dtype=np.uint8)
    barriers = []
    for layer in layers:
        vals, is_barrier, bval = _layer_array(layer, grid, combine, template, client)
        if is_barrier:
            barriers.append((vals, bval))
        elif combine == "sum":
            out = out + vals
        elif combine == "max":
            out = da.maximum(out, vals)
        else:
            out = out * vals
    for mask, bval in barriers:
        out = da.where(mask, np.nan if bval is None else bval, out)
    pre = out.map_blocks(_finish_block, dtype=np.float64)
    out = pre
    if habitat is not None:
        out = pre.map_blocks(
            partial(_land_block, habitat=list(habitat), grid=grid), dtype=np.float64
        )
    # one graph: the bands are computed once and stay on the workers
    pre, out = client.persist([pre, out])
    if progress:
        _progress_bar(out, len(bands))
    empty = client.compute(da.isnan(pre).all(), sync=True)
    values = client.compute(out, sync=True)
    return np.asarray(values), bool(empty)


def _progress_bar(arr: Any, n_bands: int) -> None:
    """A tqdm bar over the finished bands of a persisted array."""
    from dask.distributed import as_completed, futures_of
    from tqdm.auto import tqdm

    futures = futures_of(arr)
    with tqdm(total=n_bands, desc="resistance (dask)", unit="band") as bar:
        for _ in as_completed(futures):
            bar.update(1)
