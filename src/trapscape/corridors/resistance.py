"""Resistance surfaces: layer specs, their combination, the leopard defaults."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
import xarray as xr
from shapely.geometry.base import BaseGeometry

from .._memory import DEFAULT_BUDGET_GB
from .._raster import (
    GridSpec,
    grid_for_bounds,
    rasterize_geometries,
    to_dataarray,
)
from ..crs import require_projected
from ..errors import ComputationError, CRSError, InputError
from ._grid import (
    RESISTANCE_BYTES_PER_CELL,
    as_grid,
    check_grid_memory,
    read_vector,
    snapped_cells,
)

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "LEOPARD_IGBP_RESISTANCE",
    "RasterFunction",
    "RasterReclass",
    "VectorLayer",
    "resistance_from_project",
    "resistance_surface",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RasterReclass:
    """A categorical raster reclassified to resistance.

    Attributes
    ----------
    source
        Path of a raster file or a georeferenced DataArray, in any CRS.
        It is resampled to the target grid with nearest neighbour.
    table
        ``{class value: resistance}``. A resistance of ``None`` or NaN makes
        the class impassable.
    default
        Resistance of classes missing from ``table`` (``None``: impassable).
    fill
        Resistance where the raster has no data or does not reach
        (``None``: impassable).
    """

    source: Any
    table: Mapping[int, float | None]
    default: float | None = None
    fill: float | None = None


@dataclass(frozen=True)
class RasterFunction:
    """A continuous raster (or its slope) mapped to resistance by a function.

    Attributes
    ----------
    source
        Path or DataArray (e.g. elevation in metres), any CRS; resampled
        bilinearly to the target grid.
    func
        Vectorised function of the values (or of slope in degrees when
        ``of="slope"``) returning resistance; NaN results are impassable.
        The strings ``"slope"`` and ``"value"`` use the slope in degrees or
        the value itself as the resistance.
    of
        ``"value"`` or ``"slope"`` (slope in degrees computed on the target
        grid from the resampled values, central differences).
    fill
        Resistance where the raster has no data (``None``: impassable).
    """

    source: Any
    func: Callable[[np.ndarray], np.ndarray] | str
    of: Literal["value", "slope"] = "value"
    fill: float | None = None


@dataclass(frozen=True)
class VectorLayer:
    """A vector layer (roads, settlements, rivers, fences) as resistance.

    Attributes
    ----------
    data
        GeoDataFrame/GeoSeries in any CRS (reprojected to the grid's CRS).
    resistance
        Resistance of cells touched by the (buffered) features.
    width
        Features are buffered by ``width / 2`` metres before rasterising
        (roads, rivers); 0 burns the touched cells.
    decay_distance
        If given (metres, ``L``), the layer's resistance decays with the
        distance ``d`` from the features: ``resistance * exp(-d / L)``
        everywhere (settlements).  Under ``combine="product"`` the factor is
        ``1 + (resistance - 1) * exp(-d / L)``.
    barrier
        ``True``: cells touched are impassable (NaN); a number: cells touched
        get exactly that resistance after combination (a fence with a high
        but finite resistance).
    """

    data: Any
    resistance: float = 0.0
    width: float = 0.0
    decay_distance: float | None = None
    barrier: bool | float = False


Layer = RasterReclass | RasterFunction | VectorLayer


def _warp(source: Any, grid: GridSpec, *, nearest: bool) -> np.ndarray:
    """Resample a raster (path or DataArray, any CRS) onto ``grid`` (NaN = no data)."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    if isinstance(source, xr.DataArray):
        data = np.asarray(source.values, dtype=np.float64)
        transform = source.rio.transform()
        crs = source.rio.crs
        nodata = source.rio.nodata
        where = "DataArray"
    else:
        where = os.fspath(source)
        try:
            with rasterio.open(source) as src:
                data = src.read(1).astype(np.float64)
                transform, crs, nodata = src.transform, src.crs, src.nodata
        except rasterio.errors.RasterioIOError as err:
            raise InputError(
                f"{where}: cannot read raster ({err}). Check the path.", path=where
            ) from err
    if crs is None:
        raise CRSError(f"Raster {where} has no CRS. Assign one (e.g. EPSG:4326).")
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        data[data == nodata] = np.nan
    dst = np.full(grid.shape, np.nan, dtype=np.float64)
    reproject(
        data,
        dst,
        src_transform=transform,
        src_crs=crs,
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs.to_wkt(),
        dst_nodata=np.nan,
        resampling=Resampling.nearest if nearest else Resampling.bilinear,
    )
    return dst


def _slope_deg(values: np.ndarray, cell: float) -> np.ndarray:
    dzdy, dzdx = np.gradient(values, cell)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


def _vector_geoms(data: Any, grid: GridSpec) -> gpd.GeoSeries:
    if isinstance(data, BaseGeometry):
        raise InputError(
            "VectorLayer.data must be a GeoDataFrame or GeoSeries with a CRS."
        )
    if isinstance(data, (str, os.PathLike)):
        data = gpd.read_file(data)
    geoms = data.geometry if isinstance(data, gpd.GeoDataFrame) else gpd.GeoSeries(data)
    if geoms.crs is None:
        raise CRSError("A VectorLayer has no CRS. Set it with .set_crs() first.")
    geoms = geoms.to_crs(grid.crs)
    return geoms[~(geoms.is_empty | geoms.isna())]


def _function_values(
    vals: np.ndarray, layer: RasterFunction, cell: float
) -> np.ndarray:
    """A RasterFunction's resistance from its values warped onto the grid."""
    nod = np.isnan(vals)
    func = layer.func
    of: str = layer.of
    if isinstance(func, str):  # "slope" / "value": the quantity itself
        if func not in ("slope", "value"):
            raise InputError(
                f"RasterFunction.func must be a callable, 'slope' or 'value', "
                f"got {func!r}."
            )
        of, func = func, np.asarray
    if of == "slope":
        vals = _slope_deg(vals, cell)
    elif of != "value":
        raise InputError(f"RasterFunction.of must be 'value' or 'slope', got {of!r}.")
    out = np.asarray(func(vals), dtype=np.float64)
    if out.shape != nod.shape:
        out = np.broadcast_to(out, nod.shape).copy()
    if layer.fill is not None:
        out[nod | np.isnan(out)] = float(layer.fill)
    return out


def _layer_values(
    layer: Layer,
    grid: GridSpec,
    combine: str,
    warp: Callable[..., np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """Return (values with neutral elsewhere, barrier mask, barrier value).

    ``warp`` replaces :func:`_warp` (the dask bands read only their window).
    """
    neutral = 1.0 if combine == "product" else 0.0
    warp = warp or _warp
    if isinstance(layer, RasterReclass):
        vals = warp(layer.source, grid, nearest=True)
        out = np.full(
            grid.shape, np.nan if layer.default is None else float(layer.default)
        )
        for cls, res in layer.table.items():
            out[vals == cls] = np.nan if res is None else float(res)
        out[np.isnan(vals)] = np.nan if layer.fill is None else float(layer.fill)
        return out, None, None
    if isinstance(layer, RasterFunction):
        vals = warp(layer.source, grid, nearest=False)
        return _function_values(vals, layer, grid.cell), None, None
    if isinstance(layer, VectorLayer):
        geoms = _vector_geoms(layer.data, grid)
        if layer.width and layer.width > 0:
            geoms = geoms.buffer(layer.width / 2.0)
        mask = rasterize_geometries(
            geoms, grid, values=1, fill=0, all_touched=True
        ).astype(bool)
        if layer.barrier is not False and layer.barrier is not None:
            bval = None if layer.barrier is True else float(layer.barrier)
            return np.full(grid.shape, neutral), mask, bval
        if layer.decay_distance:
            from scipy.ndimage import distance_transform_edt

            if mask.any():
                d = distance_transform_edt(~mask) * grid.cell
                w = np.exp(-d / float(layer.decay_distance))
            else:
                w = np.zeros(grid.shape)
            if combine == "product":
                return 1.0 + (layer.resistance - 1.0) * w, None, None
            return layer.resistance * w, None, None
        out = np.full(grid.shape, neutral)
        out[mask] = layer.resistance
        return out, None, None
    raise InputError(
        f"Unknown resistance layer {type(layer).__name__}; use RasterReclass, "
        "RasterFunction or VectorLayer."
    )


def resistance_surface(
    grid_or_template: GridSpec | xr.DataArray,
    *,
    layers: Sequence[Layer],
    combine: Literal["sum", "max", "product"] = "sum",
    base: float = 1.0,
    name: str = "resistance",
    workers: int = 1,
    scheduler: str | None = None,
    habitat: Any = None,
    progress: bool = False,
) -> xr.DataArray:
    """Combine resistance layers on one aligned grid.

    Every layer is aligned to the target grid first: rasters in any CRS are
    resampled (nearest neighbour for classes, bilinear for continuous
    values), vectors are reprojected and rasterised (cells touched).

    Combination rules (per cell, NaN = impassable propagates):

    - ``"sum"``: ``base + sum(layer values)``; vector layers add their
      resistance where present and 0 elsewhere.
    - ``"max"``: ``max(base, layer values...)``.
    - ``"product"``: ``base * prod(layer values)``; vector layers multiply by
      their resistance where present and by 1 elsewhere.

    Barrier layers are applied last: their cells become NaN (impassable), or
    the barrier's finite resistance if one is given.

    Parameters
    ----------
    grid_or_template
        Target :class:`~trapscape._raster.GridSpec` or a DataArray whose grid
        is reused; projected CRS in metres.
    layers
        :class:`RasterReclass`, :class:`RasterFunction` and
        :class:`VectorLayer` specs.
    combine
        ``"sum"``, ``"max"`` or ``"product"``.
    base
        Starting resistance of every cell.
    name
        Name of the returned DataArray.
    workers, scheduler
        Build the surface in bands of rows on a dask.distributed cluster
        (a LocalCluster of ``workers`` processes or the scheduler at
        ``scheduler``; needs ``trapscape[dask]``): rasters are warped, and
        vectors rasterised, per band; the slope kernel reads one row of the
        neighbouring bands (``map_overlap``).  Same values as in memory.
    habitat
        Geometries (grid CRS) outside which every cell is impassable,
        applied after the check that some cell is passable (the sea).
    progress
        A progress bar over the bands (on a dask cluster).

    Returns
    -------
    xarray.DataArray
        Resistance (float64, NaN impassable, nodata NaN) on the grid.

    Raises
    ------
    CRSError
        If the grid is not projected in metres or a layer lacks a CRS.
    InputError
        For unknown layer types or combine rules.
    ComputationError
        If every cell ends up impassable.
    """
    if combine not in ("sum", "max", "product"):
        raise InputError(f"combine must be 'sum', 'max' or 'product', got {combine!r}.")
    grid = as_grid(grid_or_template)
    from .._dask import wants_dask

    if wants_dask(workers, scheduler):
        out, empty = _surface_on_dask(
            grid, layers, combine, base, (workers, scheduler, progress), habitat
        )
    else:
        out = _surface_in_memory(grid, layers, combine, base)
        empty = bool(np.isnan(out).all())
        if habitat is not None and not empty:
            land = rasterize_geometries(
                habitat, grid, values=1, fill=0, all_touched=True
            ).astype(bool)
            out[~land] = np.nan
    if empty:
        raise ComputationError(
            "Every cell of the resistance surface is impassable (NaN). Check that "
            "the rasters overlap the grid and that the tables cover their classes."
        )
    logger.info(
        "resistance surface: %d x %d cells of %g m, %d layers, %.1f%% passable",
        grid.height,
        grid.width,
        grid.cell,
        len(layers),
        100.0 * np.isfinite(out).mean(),
    )
    return to_dataarray(out, grid, name=name, nodata=np.nan, copy=False)


def _surface_in_memory(
    grid: GridSpec, layers: Sequence[Layer], combine: str, base: float
) -> np.ndarray:
    out = np.full(grid.shape, float(base))
    barriers: list[tuple[np.ndarray, float | None]] = []
    for layer in layers:
        vals, bmask, bval = _layer_values(layer, grid, combine)
        if bmask is not None:
            barriers.append((bmask, bval))
            continue
        if combine == "sum":
            out = out + vals
        elif combine == "max":
            out = np.maximum(out, vals)
        else:
            out = out * vals
    for bmask, bval in barriers:
        out[bmask] = np.nan if bval is None else bval
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def _surface_on_dask(
    grid: GridSpec,
    layers: Sequence[Layer],
    combine: str,
    base: float,
    cluster: tuple[int, str | None, bool],
    habitat: Any,
) -> tuple[np.ndarray, bool]:
    from .._dask import band_cells_for, dask_client
    from ._resistance_dask import chunked_surface

    workers, scheduler, progress = cluster
    with dask_client(workers, scheduler) as client:
        return chunked_surface(
            grid,
            layers,
            combine=combine,
            base=base,
            client=client,
            band_cells=band_cells_for(workers, grid.height, grid.width),
            habitat=habitat,
            progress=progress,
        )


#: Default resistance of MODIS IGBP land-cover classes for Amur leopards
#: (1 = closed forest, the preferred habitat).  Water is high but finite:
#: the coarse 0.05 degree classes smear coastlines, so the sea is made a
#: barrier from the land polygons instead.
LEOPARD_IGBP_RESISTANCE: dict[int, float | None] = {
    0: 500.0,  # water (MCD12C1)
    1: 1.0,
    2: 1.0,
    3: 1.0,
    4: 1.0,
    5: 1.0,  # forests
    6: 3.0,  # closed shrubland
    7: 6.0,  # open shrubland
    8: 2.0,  # woody savanna (open forest)
    9: 5.0,  # savanna
    10: 10.0,  # grassland
    11: 20.0,  # permanent wetland
    12: 50.0,  # cropland
    13: 200.0,  # urban and built-up
    14: 25.0,  # cropland / natural vegetation mosaic
    15: 100.0,  # snow and ice
    16: 40.0,  # barren
    17: 500.0,  # water (MCD12Q1 numbering)
}


def _slope_rule(slope: np.ndarray) -> np.ndarray:
    flat = np.where(slope < 2.0, 4.0, 0.0)
    steep = np.clip(slope - 35.0, 0.0, None) / 2.0
    return flat + steep


def resistance_from_project(
    survey: Survey,
    rasters: Mapping[str, Any],
    *,
    resolution: float = 250.0,
    extent: Any = None,
    buffer: float = 5000.0,
    landcover_table: Mapping[int, float | None] | None = None,
    settlement_resistance: float = 50.0,
    settlement_decay: float = 1500.0,
    river_resistance: float = 30.0,
    river_width: float = 200.0,
    sea_barrier: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Default Amur leopard resistance surface from a project's layers.

    Rules (``combine="sum"``, base 0, so forest on moderate slopes is 1):

    - ``landcover`` (MODIS IGBP classes): :data:`LEOPARD_IGBP_RESISTANCE`
      (forest 1, woody savanna 2, shrubs 3-6, grassland 10, wetland 20,
      mosaic 25, cropland 50, urban 200, water 500); unlisted classes 10.
    - ``elevation`` (metres): slope in degrees on the grid; flat ground
      (< 2 degrees: valley farmland and roads) adds 4, cliffs add
      ``(slope - 35) / 2`` above 35 degrees.
    - ``settlements`` (points): add ``settlement_resistance * exp(-d /
      settlement_decay)`` (50 at a village, 18 at 1.5 km, 2.5 at 4.5 km).
    - ``rivers`` (lines): add ``river_resistance`` within ``river_width``
      (200 m corridor).
    - the sea: cells outside ``survey.habitat`` (land polygons) are
      impassable when ``sea_barrier``.

    Missing keys are skipped; at least ``landcover`` or ``elevation`` is
    needed.  These values are expert rules of thumb (forest-dependent large
    felid avoiding farmland and people), not fitted; pass your own layers to
    :func:`resistance_surface` to change them.

    Parameters
    ----------
    survey
        The survey; its study area (or stations) and parks set the extent.
    rasters
        ``{"landcover", "elevation", "settlements", "rivers"}`` to paths or
        loaded objects (DataArray / GeoDataFrame).
    resolution
        Cell size in metres.
    extent
        Extra layer(s) (GeoDataFrame) or ``(minx, miny, maxx, maxy)`` in the
        survey CRS the grid must cover (e.g. the Chinese sector).
    buffer
        Margin in metres around the extent.
    max_memory_gb
        Memory budget in GiB; a grid that would need more is refused before
        any layer is read, naming a resolution that fits (``None``: no
        check).
        On a dask cluster it counts one worker's band plus the assembled
        float64 surface on the client.
    workers, scheduler, progress
        Build in bands on a dask cluster, with a progress bar over the
        bands (:func:`resistance_surface`).

    Returns
    -------
    xarray.DataArray
        Resistance on a grid of ``resolution`` metres in the survey CRS.

    Raises
    ------
    ComputationError
        If the grid would exceed ``max_memory_gb``.
    """
    crs = require_projected(survey.crs, "survey CRS")
    bounds = _project_bounds(survey, extent, buffer, crs)
    from .._dask import BAND_CELLS, wants_dask

    per_cell: float = RESISTANCE_BYTES_PER_CELL
    if wants_dask(workers, scheduler):
        # a worker holds one band's layers, the client the finished surface
        per_cell = 8 + RESISTANCE_BYTES_PER_CELL * min(
            1.0, BAND_CELLS / max(snapped_cells(bounds, resolution), 1)
        )
    check_grid_memory(
        snapped_cells(bounds, resolution),
        resolution,
        per_cell,
        what=f"the resistance grid at {resolution:g} m",
        max_memory_gb=max_memory_gb,
        cells_at=lambda cell: snapped_cells(bounds, cell),
    )
    grid = grid_for_bounds(bounds, resolution, crs)
    table = dict(
        LEOPARD_IGBP_RESISTANCE if landcover_table is None else landcover_table
    )
    layers = _project_layers(
        rasters,
        table,
        settlement_resistance=settlement_resistance,
        settlement_decay=settlement_decay,
        river_resistance=river_resistance,
        river_width=river_width,
    )
    base = 0.0 if rasters.get("landcover") is not None else 1.0
    habitat = None
    if sea_barrier and survey.habitat is not None and len(survey.habitat):
        habitat = list(survey.habitat.geometry)
    return resistance_surface(
        grid,
        layers=layers,
        combine="sum",
        base=base,
        workers=workers,
        scheduler=scheduler,
        habitat=habitat,
        progress=progress,
    )


def _project_bounds(
    survey: Survey, extent: Any, buffer: float, crs: pyproj.CRS
) -> tuple[float, float, float, float]:
    """Bounds of the study area, parks, stations and ``extent``, plus ``buffer``."""
    boxes = []
    for layer in (survey.study_area, survey.parks, survey.stations):
        if layer is not None and len(layer):
            boxes.append(layer.total_bounds)
    if extent is not None:
        if isinstance(extent, (gpd.GeoDataFrame, gpd.GeoSeries)):
            boxes.append(extent.to_crs(crs).total_bounds)
        elif (
            isinstance(extent, (list, tuple))
            and extent
            and isinstance(extent[0], (gpd.GeoDataFrame, gpd.GeoSeries))
        ):
            boxes.extend(e.to_crs(crs).total_bounds for e in extent)
        else:
            boxes.append(np.asarray(extent, dtype=float))
    b = np.vstack(boxes)
    return (
        b[:, 0].min() - buffer,
        b[:, 1].min() - buffer,
        b[:, 2].max() + buffer,
        b[:, 3].max() + buffer,
    )


def _project_layers(
    rasters: Mapping[str, Any],
    table: Mapping[int, float | None],
    *,
    settlement_resistance: float,
    settlement_decay: float,
    river_resistance: float,
    river_width: float,
) -> list[Layer]:
    """The leopard rules of :func:`resistance_from_project` as layer specs."""
    layers: list[Layer] = []
    known = {"landcover", "elevation", "settlements", "rivers"}
    unknown = set(rasters) - known
    if unknown:
        raise InputError(
            f"Unknown raster key(s) {sorted(unknown)}; "
            f"expected some of {sorted(known)}."
        )
    if rasters.get("landcover") is not None:
        layers.append(
            RasterReclass(rasters["landcover"], table, default=10.0, fill=10.0)
        )
    if rasters.get("elevation") is not None:
        layers.append(
            RasterFunction(rasters["elevation"], _slope_rule, of="slope", fill=0.0)
        )
    if not layers:
        raise InputError(
            "resistance_from_project needs at least a 'landcover' or 'elevation' "
            "raster "
            "(project [rasters] section or --landcover/--elevation)."
        )
    if rasters.get("settlements") is not None:
        layers.append(
            VectorLayer(
                read_vector(rasters["settlements"]),
                resistance=settlement_resistance,
                decay_distance=settlement_decay,
            )
        )
    if rasters.get("rivers") is not None:
        layers.append(
            VectorLayer(
                read_vector(rasters["rivers"]),
                resistance=river_resistance,
                width=river_width,
            )
        )
    return layers
