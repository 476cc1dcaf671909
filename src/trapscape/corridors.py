"""Connectivity: resistance surfaces, least-cost corridors and circuit current.

The workflow is

1. :func:`resistance_surface` (or :func:`resistance_from_project`) builds a
   resistance raster on one aligned grid from reclassified rasters,
   functions of continuous rasters and vector layers;
2. :func:`cores_from` turns parks, sectors or home-range cores into nodes;
3. :func:`cost_distance` / :class:`CostSurface`, :func:`least_cost_path` and
   :func:`least_cost_corridor` (or :func:`least_cost_network` for every pair
   of cores) give least-cost distances, paths and corridors;
4. :func:`circuit` gives effective resistances and the cumulative current
   map (circuit theory);
5. :func:`border_hotspots` and :func:`pair_crossings` score stretches of the
   international border.

Conventions
-----------
Least-cost distance follows GRASS ``r.cost`` (8 neighbours, no knight's
moves): a move between neighbouring cells costs the mean of their two cell
resistances times the step length, the step being one cell for rook moves
and sqrt(2) cells for diagonal moves.  With ``units="map"`` (default) step
lengths are in metres, so costs are *resistance x metres*; ``units="cells"``
gives r.cost's cell units (the map value divided by the cell size).

Circuit theory follows Circuitscape 4 with 8 neighbours and "average
conductance": neighbouring cells are joined by a resistor of conductance
``(1/r1 + 1/r2) / 2`` (divided by sqrt(2) for diagonal neighbours).
Resistances are in the raster's resistance units (not multiplied by the cell
size), exactly as Circuitscape reports them.

Cells that are NaN (nodata or barrier) are impassable in both.

References
----------
Adriaensen, F. et al. (2003) The application of 'least-cost' modelling as a
functional landscape model. Landscape and Urban Planning 64, 233-247.
McRae, B. H. (2006) Isolation by resistance. Evolution 60, 1551-1561.
McRae, B. H., Dickson, B. G., Keitt, T. H. & Shah, V. B. (2008) Using circuit
theory to model connectivity in ecology, evolution, and conservation.
Ecology 89, 2712-2724.
Shah, V. B. & McRae, B. H. (2008) Circuitscape: a tool for landscape ecology.
Proceedings of the 7th Python in Science Conference, 62-66.
GRASS Development Team. r.cost manual, GRASS GIS 8.2.
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from . import _circuit, _costdist
from . import validation as V
from ._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from ._raster import (
    GridSpec,
    grid_for_bounds,
    grid_of,
    rasterize_geometries,
    to_dataarray,
)
from .crs import as_crs, require_projected
from .errors import ComputationError, CRSError, InputError, TrapscapeWarning

if TYPE_CHECKING:
    from .survey import Survey

__all__ = [
    "LEOPARD_IGBP_RESISTANCE",
    "CircuitResult",
    "Corridor",
    "CostSurface",
    "LeastCostResult",
    "RasterFunction",
    "RasterReclass",
    "SurveyCorridors",
    "VectorLayer",
    "border_hotspots",
    "border_segments",
    "circuit",
    "cores_from",
    "corridors_for_survey",
    "cost_distance",
    "least_cost_corridor",
    "least_cost_network",
    "least_cost_path",
    "pair_crossings",
    "resistance_from_project",
    "resistance_surface",
    "survey_border",
]

logger = logging.getLogger(__name__)

RasterSource = "str | os.PathLike[str] | xr.DataArray"

# --------------------------------------------------------------------------
# resistance layers
# --------------------------------------------------------------------------


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


def _as_grid(grid_or_template: GridSpec | xr.DataArray) -> GridSpec:
    if isinstance(grid_or_template, GridSpec):
        grid = grid_or_template
    elif isinstance(grid_or_template, xr.DataArray):
        grid = grid_of(grid_or_template)
    else:
        raise InputError(
            f"Expected a GridSpec or a georeferenced DataArray as the grid, got "
            f"{type(grid_or_template).__name__}. Build one with "
            "trapscape._raster.grid_for_bounds()."
        )
    require_projected(grid.crs, "resistance grid")
    return grid


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


def _layer_values(
    layer: Layer, grid: GridSpec, combine: str
) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """Return (values with neutral elsewhere, barrier mask, barrier value)."""
    neutral = 1.0 if combine == "product" else 0.0
    if isinstance(layer, RasterReclass):
        vals = _warp(layer.source, grid, nearest=True)
        out = np.full(
            grid.shape, np.nan if layer.default is None else float(layer.default)
        )
        for cls, res in layer.table.items():
            out[vals == cls] = np.nan if res is None else float(res)
        out[np.isnan(vals)] = np.nan if layer.fill is None else float(layer.fill)
        return out, None, None
    if isinstance(layer, RasterFunction):
        vals = _warp(layer.source, grid, nearest=False)
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
            vals = _slope_deg(vals, grid.cell)
        elif of != "value":
            raise InputError(
                f"RasterFunction.of must be 'value' or 'slope', got {of!r}."
            )
        out = np.asarray(func(vals), dtype=np.float64)
        if out.shape != grid.shape:
            out = np.broadcast_to(out, grid.shape).copy()
        if layer.fill is not None:
            out[nod | np.isnan(out)] = float(layer.fill)
        return out, None, None
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
    grid = _as_grid(grid_or_template)
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
    if np.isnan(out).all():
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
    return to_dataarray(out, grid, name=name, nodata=np.nan)


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


def _read_vector(obj: Any) -> gpd.GeoDataFrame:
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return obj
    try:
        return gpd.read_file(obj)
    except Exception as err:
        raise InputError(
            f"{obj}: cannot read vector layer ({err}). Check the path.",
            path=os.fspath(obj),
        ) from err


# Peak memory per grid cell, calibrated on the bundled example
# (data/example, 2 cores, /usr/bin/time -v peak RSS minus the ~110 MB of
# imports): the whole `trapscape corridors` run (resistance from four layers,
# least-cost surfaces of 2 cores, pairwise circuit with cg_amg) peaked at
# 394 MB on 0.39 M cells (250 m), 886 MB on 1.56 M cells (125 m) and
# 1842 MB on 3.8 M cells (80 m): about 430 B per cell above a fixed ~230 MB.
# 500 B/cell leaves a margin.  Building the resistance alone (warped layers,
# slope, settlement distances, rasterised rivers and habitat) peaked at 85 B
# per cell at 125 m and 73 B at 80 m (getrusage around
# resistance_from_project); 100 B/cell.
_CORRIDORS_BYTES_PER_CELL = 500
_RESISTANCE_BYTES_PER_CELL = 100


def _check_grid_memory(
    n_cells: int,
    resolution: float,
    bytes_per_cell: float,
    *,
    what: str,
    max_memory_gb: float | None,
) -> None:
    check_budget(
        n_cells,
        bytes_per_cell,
        what=what,
        budget_gb=max_memory_gb,
        suggest=lambda f: (
            f"Use a resolution of {coarser(resolution, f)} m or coarser "
            f"(now {resolution:g} m)."
        ),
    )


def _survey_bounds(survey: Survey, extra: Iterable[Any], buffer: float) -> tuple:
    """Bounds of the survey layers and extra frames, grown by ``buffer``."""
    boxes = [
        np.asarray(layer.to_crs(survey.crs).total_bounds, dtype=float)
        for layer in (survey.study_area, survey.parks, survey.stations, *extra)
        if isinstance(layer, (gpd.GeoDataFrame, gpd.GeoSeries)) and len(layer)
    ]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    b = np.vstack(boxes)
    return (
        b[:, 0].min() - buffer,
        b[:, 1].min() - buffer,
        b[:, 2].max() + buffer,
        b[:, 3].max() + buffer,
    )


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
    bounds = (
        b[:, 0].min() - buffer,
        b[:, 1].min() - buffer,
        b[:, 2].max() + buffer,
        b[:, 3].max() + buffer,
    )
    _check_grid_memory(
        grid_cells(bounds, resolution),
        resolution,
        _RESISTANCE_BYTES_PER_CELL,
        what=f"the resistance grid at {resolution:g} m",
        max_memory_gb=max_memory_gb,
    )
    grid = grid_for_bounds(bounds, resolution, crs)
    table = dict(
        LEOPARD_IGBP_RESISTANCE if landcover_table is None else landcover_table
    )
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
    base = 0.0 if rasters.get("landcover") is not None else 1.0
    if rasters.get("settlements") is not None:
        layers.append(
            VectorLayer(
                _read_vector(rasters["settlements"]),
                resistance=settlement_resistance,
                decay_distance=settlement_decay,
            )
        )
    if rasters.get("rivers") is not None:
        layers.append(
            VectorLayer(
                _read_vector(rasters["rivers"]),
                resistance=river_resistance,
                width=river_width,
            )
        )
    res = resistance_surface(grid, layers=layers, combine="sum", base=base)
    if sea_barrier and survey.habitat is not None and len(survey.habitat):
        land = rasterize_geometries(
            survey.habitat.geometry, grid, values=1, fill=0, all_touched=True
        ).astype(bool)
        vals = res.values.copy()
        vals[~land] = np.nan
        res = to_dataarray(vals, grid, name="resistance", nodata=np.nan)
    return res


# --------------------------------------------------------------------------
# cores
# --------------------------------------------------------------------------


def _slug(text: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", str(text)).strip("_").lower()
    return s or "core"


def cores_from(
    *layers: gpd.GeoDataFrame | gpd.GeoSeries,
    survey: Survey | None = None,
    name_column: str = V.NAME,
    zone_column: str = V.ZONE,
    crs: Any = None,
    drop_nested: bool = True,
) -> gpd.GeoDataFrame:
    """Core areas / nodes from polygon or point layers.

    Each feature of each layer becomes one core.  Its zone (country) is the
    layer's ``zone`` column when present, otherwise the survey zone that
    contains the feature's representative point.

    Parameters
    ----------
    *layers
        Parks, a China sector layer, home-range cores (polygons) or points.
    survey
        Supplies the CRS and the zones (countries).
    name_column
        Column holding a name (default ``name``); missing names become
        ``core_<n>``.
    zone_column
        Column holding a zone if the layer has one.
    crs
        Target CRS when no survey is given (default: the first layer's).
    drop_nested
        Drop a polygon core lying (90% or more of its area) inside a larger
        one, e.g. a reserve inside a national park: nodes must not overlap.

    Returns
    -------
    geopandas.GeoDataFrame
        ``core_id`` (unique slug), ``name``, ``zone``, geometry.
    """
    if not layers:
        raise InputError("cores_from needs at least one layer of polygons or points.")
    target = (
        as_crs(survey.crs)
        if survey is not None
        else (as_crs(crs) if crs is not None else None)
    )
    frames = []
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        gdf = (
            layer
            if isinstance(layer, gpd.GeoDataFrame)
            else gpd.GeoDataFrame(geometry=layer)
        )
        if gdf.crs is None:
            raise CRSError("A core layer has no CRS. Set it with .set_crs() first.")
        if target is None:
            target = as_crs(gdf.crs)
        gdf = gdf.to_crs(target)
        names = (
            gdf[name_column].astype("string")
            if name_column in gdf.columns
            else pd.Series(pd.NA, index=gdf.index, dtype="string")
        )
        zones = (
            gdf[zone_column].astype("object")
            if zone_column in gdf.columns
            else pd.Series(pd.NA, index=gdf.index, dtype="object")
        )
        frames.append(
            gpd.GeoDataFrame(
                {"name": names.to_numpy(), V.ZONE: zones.to_numpy()},
                geometry=gdf.geometry.to_numpy(),
                crs=target,
            )
        )
    if not frames:
        raise InputError("All core layers are empty.")
    cores = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=target)
    cores = cores[~(cores.geometry.is_empty | cores.geometry.isna())].reset_index(
        drop=True
    )
    require_projected(target, "core layers' CRS")
    if drop_nested and len(cores) > 1:
        area = cores.geometry.area.to_numpy()
        drop = set()
        for i in range(len(cores)):
            for j in range(len(cores)):
                if i == j or j in drop or area[i] <= 0 or area[j] < area[i]:
                    continue
                if area[j] == area[i] and j > i:
                    continue
                inter = cores.geometry.iloc[i].intersection(cores.geometry.iloc[j]).area
                if inter >= 0.9 * area[i]:
                    drop.add(i)
                    logger.info(
                        "core %r dropped: inside core %r",
                        cores["name"].iloc[i],
                        cores["name"].iloc[j],
                    )
                    break
        cores = cores.drop(index=sorted(drop)).reset_index(drop=True)
    if survey is not None and survey.zones is not None and len(survey.zones):
        missing = cores[V.ZONE].isna()
        if missing.any():
            rep = cores.geometry[missing].representative_point()
            cores.loc[missing, V.ZONE] = survey.zone_of(rep).to_numpy()
        # polygons: the zone holding most of the core's area
        z = survey.zones
        for i in np.flatnonzero(missing.to_numpy()).tolist():
            g = cores.geometry.iloc[i]
            if g.area <= 0:
                continue
            shares = z.geometry.intersection(g).area.to_numpy()
            if shares.max() > 0:
                cores.loc[cores.index[i], V.ZONE] = z[V.NAME].iloc[
                    int(np.argmax(shares))
                ]
    names = [
        n if isinstance(n, str) and n else f"core_{i + 1}"
        for i, n in enumerate(cores["name"].tolist())
    ]
    ids: list[str] = []
    for n in names:
        base = _slug(n)
        cid, k = base, 2
        while cid in ids:
            cid, k = f"{base}_{k}", k + 1
        ids.append(cid)
    cores.insert(0, "core_id", ids)
    cores["name"] = names
    return cores[["core_id", "name", V.ZONE, "geometry"]]


# --------------------------------------------------------------------------
# least cost
# --------------------------------------------------------------------------


def _source_cells(
    sources: Any, grid: GridSpec, what: str = "sources"
) -> tuple[np.ndarray, np.ndarray]:
    """Row/col of the cells covered by ``sources`` (geometries or (x, y))."""
    geoms: list[BaseGeometry]
    if isinstance(sources, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if sources.crs is not None and not as_crs(sources.crs).equals(grid.crs):
            raise CRSError(
                f"The {what} are in {sources.crs}, the resistance grid in "
                f"{grid.crs.to_string()}. Reproject them with .to_crs() first."
            )
        geoms = list(sources.geometry)
    elif isinstance(sources, BaseGeometry):
        geoms = [sources]
    elif isinstance(sources, tuple) and len(sources) == 2 and np.isscalar(sources[0]):
        geoms = [Point(float(sources[0]), float(sources[1]))]  # type: ignore[arg-type]
    else:
        geoms = [g if isinstance(g, BaseGeometry) else Point(*g) for g in sources]
    rows, cols = [], []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Point", "MultiPoint"):
            pts = [g] if g.geom_type == "Point" else list(g.geoms)
            r, c = grid.rowcol(
                np.array([p.x for p in pts]), np.array([p.y for p in pts])
            )
        else:
            # cells whose centre is inside; small shapes fall back to touched cells
            m = rasterize_geometries([g], grid, values=1, fill=0, all_touched=False)
            if not m.any():
                m = rasterize_geometries([g], grid, values=1, fill=0, all_touched=True)
            r, c = np.nonzero(m)
        rows.append(np.asarray(r))
        cols.append(np.asarray(c))
    if not rows:
        raise InputError(f"No {what} given (all geometries empty).")
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    inside = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
    if not inside.any():
        raise InputError(
            f"The {what} fall outside the resistance grid {grid.bounds}. Enlarge the "
            "grid (extent/buffer) or check the coordinates' CRS."
        )
    return r[inside].astype(np.int64), c[inside].astype(np.int64)


def _check_units(units: str) -> None:
    if units not in ("map", "cells"):
        raise InputError(
            f"units must be 'map' (cost x metres) or 'cells', got {units!r}."
        )


class CostSurface:
    """Least-cost engine: one resistance raster, many sources and targets.

    The resistance is validated and converted once; each call of
    :meth:`cost_distance` runs one Dijkstra search (scikit-image's compiled
    ``MCP_Geometric``) and :meth:`path` traces least-cost paths down an
    accumulated surface.

    Parameters
    ----------
    resistance
        Resistance raster (DataArray on a projected grid); NaN, inf and
        negative cells are impassable.
    units
        ``"map"``: accumulated cost in resistance x metres (default);
        ``"cells"``: in cell units as GRASS ``r.cost`` reports it.

    Examples
    --------
    >>> import numpy as np, pyproj
    >>> from trapscape._raster import GridSpec, to_dataarray
    >>> grid = GridSpec(0.0, 500.0, 100.0, 5, 5, pyproj.CRS("EPSG:32652"))
    >>> cs = CostSurface(to_dataarray(np.ones((5, 5)), grid), units="cells")
    >>> float(cs.cost_distance((50.0, 450.0)).values[0, 4])
    4.0
    """

    def __init__(
        self, resistance: xr.DataArray, *, units: Literal["map", "cells"] = "map"
    ) -> None:
        _check_units(units)
        self.grid = _as_grid(resistance)
        self.units = units
        self._costs = _costdist.prepare_costs(np.asarray(resistance.values))
        if not np.isfinite(self._costs).any():
            raise ComputationError("The resistance raster has no passable cell.")
        self._step = self.grid.cell if units == "map" else 1.0

    def cost_distance(
        self, sources: Any, *, name: str = "cost_distance"
    ) -> xr.DataArray:
        """Accumulated least cost from ``sources`` to every cell.

        Parameters
        ----------
        sources
            Points, polygons (every cell whose centre lies inside is a
            source; a polygon smaller than a cell uses the cells it touches), a
            GeoDataFrame/GeoSeries in the grid's CRS, or ``(x, y)``.

        Returns
        -------
        xarray.DataArray
            Accumulated cost (NaN where unreachable or impassable); attribute
            ``units`` says ``"map"`` or ``"cells"``.
        """
        rows, cols = _source_cells(sources, self.grid)
        ok = np.isfinite(self._costs[rows, cols])
        if not ok.any():
            raise ComputationError(
                "Every source cell is impassable (NaN resistance). Move the sources "
                "onto passable cells."
            )
        cum = _costdist.accumulate(self._costs, rows[ok], cols[ok], step=self._step)
        cum[~np.isfinite(cum)] = np.nan
        da = to_dataarray(cum, self.grid, name=name, nodata=np.nan)
        da.attrs["units"] = self.units
        return da

    def path(
        self, cost_distance: xr.DataArray, target: Any
    ) -> tuple[LineString, float]:
        """Least-cost path from the sources of ``cost_distance`` to ``target``.

        ``target`` may be a point, ``(x, y)`` or a polygon (the path ends at
        its cheapest cell).  Returns the path through cell centres (source
        first) and its accumulated cost.
        """
        cum = np.asarray(cost_distance.values, dtype=np.float64)
        rows, cols = _source_cells(target, self.grid, "target")
        vals = cum[rows, cols]
        if not np.isfinite(vals).any():
            raise ComputationError("The target cannot be reached from the sources.")
        k = int(np.nanargmin(vals))
        cumf = np.where(np.isfinite(cum), cum, np.inf)
        cells = _costdist.trace_back(
            cumf, self._costs, int(rows[k]), int(cols[k]), step=self._step
        )
        xs = self.grid.xs[cells[:, 1]]
        ys = self.grid.ys[cells[:, 0]]
        line = (
            LineString(np.column_stack([xs, ys]))
            if len(cells) > 1
            else LineString([(xs[0], ys[0]), (xs[0], ys[0])])
        )
        return line, float(vals[k])


def cost_distance(
    resistance: xr.DataArray, sources: Any, *, units: Literal["map", "cells"] = "map"
) -> xr.DataArray:
    """Accumulated least-cost distance from ``sources`` (see :class:`CostSurface`).

    A move between neighbouring cells costs the mean of their resistances
    times the step length (8 neighbours, diagonal x sqrt(2)), as GRASS
    ``r.cost`` (no knight's moves) and scikit-image ``MCP_Geometric``.

    Parameters
    ----------
    resistance
        Resistance raster on a projected grid (NaN impassable).
    sources
        Geometries, a GeoDataFrame/GeoSeries in the grid CRS, or ``(x, y)``.
    units
        ``"map"`` (resistance x metres) or ``"cells"`` (r.cost cell units).

    Returns
    -------
    xarray.DataArray
        Accumulated cost, NaN where unreachable.

    References
    ----------
    Adriaensen et al. (2003); GRASS r.cost manual.
    """
    return CostSurface(resistance, units=units).cost_distance(sources)


def least_cost_path(
    resistance: xr.DataArray,
    cost_distance: xr.DataArray,
    target: Any,
) -> tuple[LineString, float]:
    """Least-cost path from the sources of ``cost_distance`` to ``target``.

    ``cost_distance`` must come from :func:`cost_distance` on the same
    ``resistance``; its ``units`` attribute is respected.  Returns the path
    (through cell centres, source first) and its cost.
    """
    units = cost_distance.attrs.get("units", "map")
    return CostSurface(resistance, units=units).path(cost_distance, target)


@dataclass(frozen=True)
class Corridor:
    """A least-cost corridor between two sources.

    Attributes
    ----------
    raster
        ``cd_a + cd_b - least_cost`` inside the corridor, NaN outside.
    polygon
        Union of the corridor cells.
    least_cost
        Least-cost distance between the two sources.
    width_cost
        Cut applied (same units as the cost distances).
    """

    raster: xr.DataArray
    polygon: BaseGeometry
    least_cost: float
    width_cost: float


def _mask_polygon(mask: np.ndarray, grid: GridSpec) -> BaseGeometry:
    from rasterio import features
    from shapely.geometry import shape
    from shapely.ops import unary_union

    if not mask.any():
        from shapely.geometry import Polygon

        return Polygon()
    polys = [
        shape(g)
        for g, v in features.shapes(
            mask.astype(np.uint8), mask=mask, transform=grid.transform
        )
        if v == 1
    ]
    return unary_union(polys)


def least_cost_corridor(
    cd_a: xr.DataArray,
    cd_b: xr.DataArray,
    *,
    width_cost: float | None = None,
    width_m: float | None = None,
    resistance: xr.DataArray | None = None,
) -> Corridor:
    """Least-cost corridor: cells whose best route costs at most ``width`` extra.

    The corridor value of a cell is ``cd_a + cd_b - L`` where ``L`` is the
    least-cost distance between the two sources (the minimum of the sum).
    Cells with a value ``<= width_cost`` form the corridor.

    A width in metres is converted to cost units as the cost of a straight
    move of ``width_m`` through the median resistance of the passable cells:
    ``width_cost = width_m * median(resistance)`` in map units, divided by
    the cell size in cell units.  This needs ``resistance``.

    Parameters
    ----------
    cd_a, cd_b
        Cost-distance rasters from two sources (same grid and units).
    width_cost, width_m
        The cut, in cost units or metres (give one; default: 10% of ``L``).
    resistance
        The resistance raster, needed for ``width_m``.

    Returns
    -------
    Corridor
    """
    if width_cost is not None and width_m is not None:
        raise InputError("Give width_cost or width_m, not both.")
    a = np.asarray(cd_a.values, dtype=np.float64)
    b = np.asarray(cd_b.values, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(
            "cd_a and cd_b are on different grids; compute both on one resistance."
        )
    total = a + b
    if not np.isfinite(total).any():
        raise ComputationError("The two sources are not connected; no corridor exists.")
    lcd = float(np.nanmin(total))
    grid = grid_of(cd_a)
    if width_m is not None:
        if resistance is None:
            raise InputError("width_m needs the resistance raster (resistance=...).")
        med = float(np.nanmedian(np.asarray(resistance.values, dtype=float)))
        width_cost = float(width_m) * med
        if cd_a.attrs.get("units", "map") == "cells":
            width_cost /= grid.cell
    if width_cost is None:
        width_cost = 0.1 * lcd
    if width_cost < 0:
        raise InputError(f"Corridor width must be >= 0, got {width_cost}.")
    rel = total - lcd
    inside = np.isfinite(rel) & (rel <= width_cost * (1 + 1e-12) + 1e-9)
    out = np.where(inside, rel, np.nan)
    raster = to_dataarray(out, grid, name="corridor", nodata=np.nan)
    raster.attrs["units"] = cd_a.attrs.get("units", "map")
    return Corridor(raster, _mask_polygon(inside, grid), lcd, float(width_cost))


@dataclass(frozen=True)
class LeastCostResult:
    """Least-cost analysis between cores.

    Attributes
    ----------
    cost_distances
        ``{core_id: cost-distance DataArray}``.
    paths
        GeoDataFrame: ``core_a``, ``core_b``, ``cost``, ``length_m``, line.
    corridors
        GeoDataFrame: ``core_a``, ``core_b``, ``least_cost``, ``width_cost``,
        ``area_km2``, polygon.
    corridor_raster
        Minimum over pairs of the corridor value (NaN outside all corridors).
    detour
        Minimum over pairs of ``cd_a + cd_b - L`` everywhere (the corridor
        value without the width cut): the extra cost of the best route
        between a pair of cores through each cell.
    pair_costs
        DataFrame of the pairwise least costs (``core_a``, ``core_b``,
        ``zone_a``, ``zone_b``, ``cost``, ``length_m``).
    """

    cost_distances: dict[str, xr.DataArray]
    paths: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    corridor_raster: xr.DataArray
    pair_costs: pd.DataFrame
    detour: xr.DataArray | None = None


def _core_pairs(cores: gpd.GeoDataFrame, pairs: str) -> list[tuple[int, int]]:
    n = len(cores)
    allp = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if pairs == "all":
        return allp
    if pairs != "across":
        raise InputError(f"pairs must be 'across' or 'all', got {pairs!r}.")
    zones = cores[V.ZONE].tolist() if V.ZONE in cores.columns else [None] * n
    if any(
        z is None or (isinstance(z, float) and math.isnan(z)) or z is pd.NA
        for z in zones
    ):
        warnings.warn(
            "Some cores have no zone (country); using every pair of cores. Give a "
            "'zone' column or survey zones to keep only cross-border pairs.",
            TrapscapeWarning,
            stacklevel=3,
        )
        return allp
    return [(i, j) for i, j in allp if zones[i] != zones[j]]


def least_cost_network(
    resistance: xr.DataArray,
    cores: gpd.GeoDataFrame,
    *,
    pairs: Literal["across", "all"] = "across",
    units: Literal["map", "cells"] = "map",
    width_cost: float | None = None,
    width_m: float | None = None,
    progress: bool = False,
) -> LeastCostResult:
    """Cost distances, least-cost paths and corridors for pairs of cores.

    Parameters
    ----------
    resistance
        Resistance raster (projected grid).
    cores
        From :func:`cores_from` (``core_id``, ``zone``, geometry) in the
        grid's CRS.
    pairs
        ``"across"``: pairs of cores in different zones (across the border;
        all pairs if zones are unknown); ``"all"``: every pair.
    units
        Cost units, ``"map"`` or ``"cells"``.
    width_cost, width_m
        Corridor cut (see :func:`least_cost_corridor`).
    progress
        Show a progress bar over cores.

    Returns
    -------
    LeastCostResult
    """
    if "core_id" not in cores.columns:
        raise InputError("cores need a 'core_id' column; build them with cores_from().")
    engine = CostSurface(resistance, units=units)
    grid = engine.grid
    plist = _core_pairs(cores, pairs)
    needed = sorted({k for p in plist for k in p})
    it: Iterable[int] = needed
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(needed, desc="cost distance")
    cds: dict[str, xr.DataArray] = {}
    for k in it:
        cid = cores["core_id"].iloc[k]
        cds[cid] = engine.cost_distance(
            cores.geometry.iloc[[k]], name=f"cost_distance_{cid}"
        )
    path_rows, corr_rows = [], []
    best = np.full(grid.shape, np.nan)
    detour = np.full(grid.shape, np.nan)
    for i, j in plist:
        ca, cb = cores["core_id"].iloc[i], cores["core_id"].iloc[j]
        row = {
            "core_a": ca,
            "core_b": cb,
            "zone_a": cores[V.ZONE].iloc[i] if V.ZONE in cores else pd.NA,
            "zone_b": cores[V.ZONE].iloc[j] if V.ZONE in cores else pd.NA,
        }
        try:
            line, cost = engine.path(cds[ca], cores.geometry.iloc[[j]])
        except ComputationError:
            warnings.warn(
                f"Cores {ca} and {cb} are not connected by passable cells.",
                TrapscapeWarning,
                stacklevel=2,
            )
            path_rows.append(
                {**row, "cost": np.inf, "length_m": np.nan, "geometry": None}
            )
            continue
        path_rows.append(
            {**row, "cost": cost, "length_m": float(line.length), "geometry": line}
        )
        cor = least_cost_corridor(
            cds[ca],
            cds[cb],
            width_cost=width_cost,
            width_m=width_m,
            resistance=resistance,
        )
        corr_rows.append(
            {
                "core_a": ca,
                "core_b": cb,
                "least_cost": cor.least_cost,
                "width_cost": cor.width_cost,
                "area_km2": float(cor.polygon.area) / 1e6,
                "geometry": cor.polygon,
            }
        )
        best = np.fmin(best, cor.raster.values)
        total = np.asarray(cds[ca].values) + np.asarray(cds[cb].values)
        detour = np.fmin(detour, total - cor.least_cost)
    cols = ["core_a", "core_b", "zone_a", "zone_b", "cost", "length_m"]
    paths = gpd.GeoDataFrame(
        path_rows, columns=[*cols, "geometry"], geometry="geometry", crs=grid.crs
    )
    corridors = gpd.GeoDataFrame(
        corr_rows,
        columns=[
            "core_a",
            "core_b",
            "least_cost",
            "width_cost",
            "area_km2",
            "geometry",
        ],
        geometry="geometry",
        crs=grid.crs,
    )
    logger.info(
        "least cost: %d cores, %d pairs, units %s", len(needed), len(plist), units
    )
    craster = to_dataarray(best, grid, name="corridor", nodata=np.nan)
    draster = to_dataarray(detour, grid, name="detour", nodata=np.nan)
    draster.attrs["units"] = units
    return LeastCostResult(
        cds,
        paths,
        corridors,
        craster,
        pd.DataFrame(paths[cols]).reset_index(drop=True),
        draster,
    )


# --------------------------------------------------------------------------
# circuit theory
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CircuitResult:
    """Circuit-theory connectivity.

    Attributes
    ----------
    resistances
        Pairwise mode: symmetric DataFrame of effective resistances indexed by
        node id (inf between disconnected nodes).  One-to-all mode: one
        column ``to_all``, each node's resistance to all other nodes grounded.
    current
        Cumulative current density per cell (amperes with 1 A injected per
        pair/source), NaN on impassable cells; None if not computed.
    pinch_points
        Polygons of contiguous cells in the top ``1 - pinch_quantile`` of
        current (``current_max``, ``current_sum``, ``area_km2``), strongest
        first; at most the 200 patches of highest current.
    mode, solver
        What was run.
    """

    resistances: pd.DataFrame
    current: xr.DataArray | None
    pinch_points: gpd.GeoDataFrame
    mode: str
    solver: str
    node_ids: list[str] = field(default_factory=list)


def _node_labels(nodes: Any, grid: GridSpec) -> tuple[np.ndarray, list[str]]:
    if isinstance(nodes, gpd.GeoDataFrame):
        gdf = nodes
    elif isinstance(nodes, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=nodes)
    else:
        gdf = gpd.GeoDataFrame(
            geometry=[g if isinstance(g, BaseGeometry) else Point(*g) for g in nodes],
            crs=grid.crs,
        )
    if gdf.crs is not None and not as_crs(gdf.crs).equals(grid.crs):
        raise CRSError(
            f"The nodes are in {gdf.crs}, the resistance grid in "
            f"{grid.crs.to_string()}. "
            "Reproject them with .to_crs() first."
        )
    if "core_id" in gdf.columns:
        ids = [str(v) for v in gdf["core_id"]]
    elif "node_id" in gdf.columns:
        ids = [str(v) for v in gdf["node_id"]]
    else:
        ids = [str(i + 1) for i in range(len(gdf))]
    focal = np.full(grid.shape, -1, dtype=np.int64)
    for k, g in enumerate(gdf.geometry):
        r, c = _source_cells(g, grid, f"node {ids[k]}")
        free = focal[r, c] < 0  # cells shared with an earlier node stay with it
        if not free.any():
            raise InputError(
                f"Node {ids[k]} lies entirely on cells of node "
                f"{ids[int(focal[r[0], c[0]])]}; merge them or use a finer resolution."
            )
        focal[r[free], c[free]] = k
    return focal, ids


def circuit(
    resistance: xr.DataArray,
    nodes: Any,
    *,
    mode: Literal["pairwise", "one_to_all"] = "pairwise",
    solver: Literal["auto", "cg_amg", "direct"] = "auto",
    rtol: float = 1e-6,
    current: bool = True,
    pinch_quantile: float = 0.95,
    max_memory_gb: float = 4.0,
    n_jobs: int = 1,
    progress: bool = False,
) -> CircuitResult:
    """Effective resistances and cumulative current density (circuit theory).

    The grid is a resistor network (8 neighbours, average conductance, NaN
    cells removed; see the module notes).  A point node is the cell it falls
    in; a polygon node short-circuits every cell whose centre lies inside it
    (Circuitscape's focal regions; a polygon smaller than a cell uses the
    cells it touches).  Resistances must be positive: cells <= 0 are refused
    (NaN marks barriers).  Inside a polygon node the per-cell current is the
    current on the cell's own edges, not the node's total.  Pairwise mode
    injects 1 A at one node of each pair and grounds the other; one-to-all
    mode injects 1 A at each node in turn with all other nodes grounded.

    The current of a cell is Circuitscape's node current: the larger of the
    current flowing into and out of it, i.e. half the sum of the absolute
    branch currents on its edges plus half the current injected there.
    The cumulative map sums it over pairs (sources).

    Parameters
    ----------
    resistance
        Resistance raster (projected grid), NaN impassable.
    nodes
        Points / polygons (GeoDataFrame with ``core_id`` or ``node_id``,
        GeoSeries, geometries or ``(x, y)`` pairs) in the grid CRS.
    mode
        ``"pairwise"`` or ``"one_to_all"``.
    solver
        ``"direct"`` (sparse LU, exact, best below ~2e5 cells), ``"cg_amg"``
        (conjugate gradients preconditioned by pyamg smoothed aggregation,
        one hierarchy reused for every pair) or ``"auto"``.
    rtol
        Relative residual tolerance of the conjugate-gradient solver (1e-6 as
        Circuitscape; effective resistances are then typically within 1e-7
        relative).  The direct solver is exact to rounding.
    current
        Compute the cumulative current map.
    pinch_quantile
        Cells above this quantile of positive current are pinch points.
    max_memory_gb
        Memory budget; larger problems are refused before solving.
    n_jobs
        Pairwise mode: solve the unit sources in this many forked processes
        (POSIX only; each shares the multigrid hierarchy copy-on-write).
    progress
        Progress bar over solves.

    Returns
    -------
    CircuitResult

    Raises
    ------
    ComputationError
        If the estimated memory exceeds ``max_memory_gb`` (the message gives
        a resolution that fits), or the solver does not converge.

    References
    ----------
    McRae (2006); McRae et al. (2008); Shah & McRae (2008).
    """
    if mode not in ("pairwise", "one_to_all"):
        raise InputError(f"mode must be 'pairwise' or 'one_to_all', got {mode!r}.")
    if solver not in ("auto", "cg_amg", "direct"):
        raise InputError(
            f"solver must be 'auto', 'cg_amg' or 'direct', got {solver!r}."
        )
    grid = _as_grid(resistance)
    res = np.asarray(resistance.values, dtype=np.float64)
    focal, ids = _node_labels(nodes, grid)
    if len(ids) < 2:
        raise InputError("circuit needs at least two nodes.")
    zero = np.isfinite(res) & (res <= 0)
    if zero.any():
        # a zero-resistance cell has infinite conductance: the circuit is not
        # defined (Circuitscape refuses it too); least-cost treats it as free
        rr, cc = np.nonzero(zero)
        x = grid.xs[cc[0]]
        y = grid.ys[rr[0]]
        raise InputError(
            f"The resistance grid has {int(zero.sum()):,} cell(s) with resistance "
            f"<= 0 (first at x={x:.0f}, y={y:.0f}); circuit theory needs positive "
            "resistances. Give them a small positive value, set them to NaN to "
            "make them barriers, or use a polygon node for a short-circuit region."
        )
    n_valid = int(np.isfinite(res).sum())
    method = (
        solver if solver != "auto" else ("direct" if n_valid <= 150_000 else "cg_amg")
    )
    need = _circuit.estimate_memory_bytes(n_valid, len(ids), solver=method)
    budget = float(max_memory_gb) * 2**30
    if need > budget:
        factor = math.sqrt(need / budget) * 1.05
        suggestion = math.ceil(grid.cell * factor)
        raise ComputationError(
            f"The circuit on {n_valid:,} cells needs about "
            f"{need / 2**30:.1f} GiB, over "
            f"the {max_memory_gb:g} GiB budget. Use a resolution of {suggestion} m or "
            f"coarser (now {grid.cell:g} m), or raise max_memory_gb."
        )
    graph = _circuit.build_graph(res, focal)
    run = _circuit.pairwise if mode == "pairwise" else _circuit.one_to_all
    kw = {"n_jobs": n_jobs} if mode == "pairwise" else {}
    values, cum = run(
        graph, method=method, rtol=rtol, current=current, progress=progress, **kw
    )
    if mode == "pairwise":
        table = pd.DataFrame(values, index=pd.Index(ids, name="node"), columns=ids)
    else:
        table = pd.DataFrame({"to_all": values}, index=pd.Index(ids, name="node"))
    cur_da = None
    pinch = gpd.GeoDataFrame(
        {"current_max": [], "current_sum": [], "area_km2": []},
        geometry=[],
        crs=grid.crs,
    )
    if cum is not None:
        cum = np.where(graph.gid >= 0, cum, np.nan)
        cur_da = to_dataarray(cum, grid, name="current", nodata=np.nan)
        pinch = _pinch_points(cum, grid, pinch_quantile)
    logger.info("circuit (%s, %s): %d nodes, %d cells", mode, method, len(ids), n_valid)
    return CircuitResult(table, cur_da, pinch, mode, method, ids)


def _pinch_points(
    cum: np.ndarray, grid: GridSpec, q: float, max_patches: int = 200
) -> gpd.GeoDataFrame:
    from scipy import ndimage

    pos = cum[np.isfinite(cum) & (cum > 0)]
    empty = gpd.GeoDataFrame(
        {"current_max": [], "current_sum": [], "area_km2": []},
        geometry=[],
        crs=grid.crs,
    )
    if pos.size == 0:
        return empty
    thr = float(np.quantile(pos, q))
    mask = np.isfinite(cum) & (cum >= thr) & (cum > 0)
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return empty
    idx = np.arange(1, n + 1)
    cmax = np.asarray(ndimage.maximum(cum, labels, idx), dtype=float)
    csum = np.asarray(ndimage.sum(cum, labels, idx), dtype=float)
    if n > max_patches:  # polygonise only the strongest patches
        top = np.sort(np.argsort(-cmax, kind="stable")[:max_patches])
        idx, cmax, csum = idx[top], cmax[top], csum[top]
        mask = np.isin(labels, idx)
    from rasterio import features
    from shapely.geometry import shape
    from shapely.ops import unary_union

    geoms: dict[int, list[BaseGeometry]] = {}
    for g, v in features.shapes(
        labels.astype(np.int32), mask=mask, connectivity=8, transform=grid.transform
    ):
        geoms.setdefault(int(v), []).append(shape(g))
    polys = [geoms[i][0] if len(geoms[i]) == 1 else unary_union(geoms[i]) for i in idx]
    out = gpd.GeoDataFrame(
        {"current_max": cmax, "current_sum": csum}, geometry=polys, crs=grid.crs
    )
    out["area_km2"] = out.geometry.area / 1e6
    return out.sort_values("current_max", ascending=False).reset_index(drop=True)


# --------------------------------------------------------------------------
# border hotspots
# --------------------------------------------------------------------------


def _lines_of(border: Any) -> list[LineString]:
    from shapely.ops import linemerge

    geoms = (
        border.geometry
        if isinstance(border, (gpd.GeoDataFrame, gpd.GeoSeries))
        else ([border] if isinstance(border, BaseGeometry) else list(border))
    )
    parts: list[LineString] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if isinstance(g, LineString):
            parts.append(g)
        elif isinstance(g, MultiLineString):
            parts.extend(g.geoms)
        elif hasattr(g, "boundary"):
            b = g.boundary
            parts.extend(b.geoms if isinstance(b, MultiLineString) else [b])
    if not parts:
        return []
    merged = linemerge(parts)
    return list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]


def border_segments(
    border_lines: Any, *, segment_length: float = 1000.0, clip: Any = None
) -> gpd.GeoDataFrame:
    """Split border lines into segments of about ``segment_length`` metres.

    Each line is cut into ``round(length / segment_length)`` (at least one)
    equal pieces, so segments are within a factor 1.5 of the target length.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id``, ``line`` (index of the merged border line),
        ``start_m`` (distance along it), ``length_m``, geometry.
    """
    from shapely.ops import substring

    if not segment_length > 0:
        raise InputError(f"segment_length must be positive, got {segment_length}.")
    crs = getattr(border_lines, "crs", None)
    if crs is not None:
        require_projected(crs, "border")
    lines = _lines_of(border_lines)
    if clip is not None:
        clipped = []
        for ln in lines:
            inter = ln.intersection(clip)
            clipped.extend(_lines_of([inter]) if not inter.is_empty else [])
        lines = clipped
    rows = []
    for li, ln in enumerate(lines):
        n = max(1, round(ln.length / segment_length))
        step = ln.length / n
        for k in range(n):
            seg = substring(ln, k * step, (k + 1) * step)
            rows.append(
                {
                    "line": li,
                    "start_m": k * step,
                    "length_m": seg.length,
                    "geometry": seg,
                }
            )
    out = gpd.GeoDataFrame(
        rows,
        columns=["line", "start_m", "length_m", "geometry"],
        geometry="geometry",
        crs=crs,
    )
    out.insert(0, "segment_id", np.arange(1, len(out) + 1))
    return out


def _segment_cells(segs: gpd.GeoDataFrame, grid: GridSpec) -> list[np.ndarray]:
    """Flat indices of the distinct cells each segment passes through."""
    out = []
    for g in segs.geometry:
        n = max(2, math.ceil(g.length / (grid.cell / 4.0)) + 1)
        d = np.linspace(0.0, g.length, n)
        pts = [g.interpolate(x) for x in d]
        r, c = grid.rowcol(np.array([p.x for p in pts]), np.array([p.y for p in pts]))
        ok = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
        out.append(np.unique(r[ok] * grid.width + c[ok]))
    return out


def _segment_current(segs: gpd.GeoDataFrame, current: xr.DataArray) -> pd.DataFrame:
    vals = np.asarray(current.values, dtype=float).ravel()
    out: dict[str, list[float]] = {
        "current_sum": [],
        "current_max": [],
        "current_mean": [],
    }
    for cells in _segment_cells(segs, grid_of(current)):
        v = vals[cells]
        v = v[np.isfinite(v)]
        out["current_sum"].append(float(v.sum()) if v.size else 0.0)
        out["current_max"].append(float(v.max()) if v.size else 0.0)
        out["current_mean"].append(float(v.mean()) if v.size else 0.0)
    return pd.DataFrame(out, index=segs.index)


def _segment_detour(segs: gpd.GeoDataFrame, detour: xr.DataArray) -> np.ndarray:
    vals = np.asarray(detour.values, dtype=float).ravel()
    out = np.full(len(segs), np.nan)
    for k, cells in enumerate(_segment_cells(segs, grid_of(detour))):
        v = vals[cells]
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = float(v.min())
    return out


def border_hotspots(
    border_lines: Any,
    *,
    current: xr.DataArray | None = None,
    paths: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    detour: xr.DataArray | None = None,
    segment_length: float = 1000.0,
) -> gpd.GeoDataFrame:
    """Score and rank border segments as crossing hotspots.

    The border is split by :func:`border_segments` (clipped to the extent of
    the current or detour raster when given).  Each segment is scored by

    - ``current_sum`` / ``current_max`` / ``current_mean``: cumulative current
      density of the distinct cells the segment passes through;
    - ``n_paths``: least-cost paths crossing it (each crossing point counted
      for its nearest segment);
    - ``corridor_m``: length of the segment inside least-cost corridors
      (summed over corridors);
    - ``detour_cost``: the extra cost of the best route between a pair of
      cores forced to cross the border at this segment, over the least-cost
      route (min over the segment's cells of ``LeastCostResult.detour``,
      ``cd_a + cd_b - L``; 0 where the least-cost path crosses).

    ``score`` is the mean over the available measures of the measure divided
    by its maximum over segments (0-1; for ``detour_cost``, which is better
    when low, ``1 - detour / max detour``); ``rank`` 1 is the best.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment with the columns above, sorted by rank.
    """
    clip = None
    extent = current if current is not None else detour
    if extent is not None:
        from shapely.geometry import box

        clip = box(*grid_of(extent).bounds)
    segs = border_segments(border_lines, segment_length=segment_length, clip=clip)
    if len(segs) == 0:
        raise ComputationError(
            "The border does not cross the analysis extent; no hotspot can be scored. "
            "Check the border layer or enlarge the grid."
        )
    measures: list[str] = []
    if current is not None:
        segs = segs.join(_segment_current(segs, current))
        measures.append("current_sum")
    if paths is not None:
        counts = np.zeros(len(segs), dtype=np.int64)
        union = segs.geometry.union_all()
        tree_geoms = segs.geometry.to_numpy()
        import shapely

        for line in paths.geometry:
            if line is None or line.is_empty:
                continue
            inter = line.intersection(union)
            pts = (
                shapely.get_parts(shapely.extract_unique_points(inter))
                if not inter.is_empty
                else []
            )
            if (
                inter.geom_type in ("LineString", "MultiLineString")
                and not inter.is_empty
            ):
                pts = [inter.interpolate(0.5, normalized=True)]
            seen: set[int] = set()
            for p in pts:
                k = int(np.argmin(shapely.distance(tree_geoms, p)))
                seen.add(k)
            for k in seen:
                counts[k] += 1
        segs["n_paths"] = counts
        measures.append("n_paths")
    if corridors is not None:
        polys = [g for g in corridors.geometry if g is not None and not g.is_empty]
        cm = np.zeros(len(segs))
        for p in polys:
            cm += segs.geometry.intersection(p).length.to_numpy()
        segs["corridor_m"] = cm
        measures.append("corridor_m")
    if detour is not None:
        segs["detour_cost"] = _segment_detour(segs, detour)
        measures.append("detour_cost")
    score = np.zeros(len(segs))
    for m in measures:
        v = segs[m].to_numpy(dtype=float)
        if m == "detour_cost":
            finite = np.isfinite(v)
            top = float(np.max(v[finite])) if finite.any() else 0.0
            part = np.zeros(len(v))
            if top > 0:
                part[finite] = 1.0 - v[finite] / top
            else:
                part[finite] = 1.0
            score += part
            continue
        top = np.nanmax(v) if v.size else 0.0
        if top > 0:
            score += v / top
    segs["score"] = score / max(len(measures), 1)
    order = np.lexsort((segs["segment_id"].to_numpy(), -segs["score"].to_numpy()))
    segs = segs.iloc[order].reset_index(drop=True)
    segs["rank"] = np.arange(1, len(segs) + 1)
    logger.info(
        "border hotspots: %d segments of ~%g m scored by %s",
        len(segs),
        segment_length,
        ", ".join(measures) or "nothing",
    )
    return segs


def pair_crossings(
    paths: gpd.GeoDataFrame,
    border_lines: Any,
    *,
    segments: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Where and at what cost each pair's least-cost path crosses the border.

    Parameters
    ----------
    paths
        ``LeastCostResult.paths`` (``core_a``, ``core_b``, ``cost``,
        ``length_m``, line).
    border_lines
        The international border (lines in the paths' CRS).
    segments
        Optional :func:`border_segments` output, to report the segment id.

    Returns
    -------
    pandas.DataFrame
        ``core_a``, ``core_b``, ``cost``, ``length_m``, ``n_crossings``,
        ``crossing_x``, ``crossing_y`` (first crossing from ``core_a``),
        ``segment_id``.
    """
    import shapely

    lines = _lines_of(border_lines)
    border = MultiLineString(lines) if lines else MultiLineString()
    rows = []
    for _, p in paths.iterrows():
        row = {
            "core_a": p["core_a"],
            "core_b": p["core_b"],
            "cost": p["cost"],
            "length_m": p["length_m"],
            "n_crossings": 0,
            "crossing_x": np.nan,
            "crossing_y": np.nan,
            "segment_id": pd.NA,
        }
        line = p.geometry
        if line is not None and not line.is_empty and not border.is_empty:
            inter = line.intersection(border)
            pts = (
                list(shapely.get_parts(shapely.extract_unique_points(inter)))
                if not inter.is_empty
                else []
            )
            if pts:
                pts.sort(key=line.project)
                row["n_crossings"] = len(pts)
                row["crossing_x"], row["crossing_y"] = pts[0].x, pts[0].y
                if segments is not None and len(segments):
                    k = int(
                        np.argmin(
                            shapely.distance(segments.geometry.to_numpy(), pts[0])
                        )
                    )
                    row["segment_id"] = int(segments["segment_id"].iloc[k])
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "core_a",
            "core_b",
            "cost",
            "length_m",
            "n_crossings",
            "crossing_x",
            "crossing_y",
            "segment_id",
        ],
    )


# --------------------------------------------------------------------------
# whole-survey workflow
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyCorridors:
    """Everything :func:`corridors_for_survey` computes.

    Attributes
    ----------
    resistance
        The resistance surface.
    cores
        Core areas (``core_id``, ``name``, ``zone``, geometry).
    least_cost
        :class:`LeastCostResult` for the pairs of cores across the border.
    circuit
        :class:`CircuitResult` (None when ``circuit=False``).
    hotspots
        Scored border segments (None without a border).
    pair_crossings
        Cost, length and crossing point of each pair's least-cost path.
    """

    resistance: xr.DataArray
    cores: gpd.GeoDataFrame
    least_cost: LeastCostResult
    circuit: CircuitResult | None
    hotspots: gpd.GeoDataFrame | None
    pair_crossings: pd.DataFrame

    @property
    def paths(self) -> gpd.GeoDataFrame:
        """Least-cost paths."""
        return self.least_cost.paths

    @property
    def corridors(self) -> gpd.GeoDataFrame:
        """Least-cost corridor polygons."""
        return self.least_cost.corridors

    @property
    def current(self) -> xr.DataArray | None:
        """Cumulative current density."""
        return None if self.circuit is None else self.circuit.current


def survey_border(survey: Survey) -> gpd.GeoDataFrame | None:
    """The survey's international border lines, or shared zone boundaries."""
    if survey.border is not None and len(survey.border):
        return survey.border
    zones = survey.zones
    if zones is None or len(zones) < 2:
        return None
    parts = []
    geoms = zones.geometry.tolist()
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            shared = geoms[i].boundary.intersection(geoms[j].boundary)
            if not shared.is_empty and shared.length > 0:
                parts.append(shared)
    if not parts:
        return None
    return gpd.GeoDataFrame(geometry=parts, crs=survey.crs)


def _resolve_path(obj: Any, base_dir: Any, survey: Survey) -> Any:
    if not isinstance(obj, (str, os.PathLike)):
        return obj
    from pathlib import Path

    p = Path(obj)
    if p.is_absolute() or p.exists():
        return p
    folders = [Path(base_dir)] if base_dir is not None else []
    st = (survey.sources or {}).get("stations")
    if isinstance(st, (str, os.PathLike)):
        folders.append(Path(st).parent)
    for folder in folders:
        if (folder / p).exists():
            return folder / p
    return p


def _border_between(
    border: gpd.GeoDataFrame, survey: Survey, zones: set[Any]
) -> gpd.GeoDataFrame:
    """Border parts separating the given zones (all of it if zones are unknown)."""
    if survey.zones is None or len(zones) < 2 or V.NAME not in survey.zones:
        return border
    z = survey.zones
    shapes = {
        n: z.loc[z[V.NAME] == n].geometry.union_all()
        for n in zones
        if (z[V.NAME] == n).any()
    }
    names = sorted(shapes, key=str)
    if len(names) < 2:
        return border
    tol = 250.0
    parts = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            both = (
                shapes[names[i]].buffer(tol).intersection(shapes[names[j]].buffer(tol))
            )
            if not both.is_empty:
                parts.append(both)
    if not parts:
        return border
    from shapely.ops import unary_union

    sel = border.clip(unary_union(parts))
    sel = sel[
        ~sel.geometry.is_empty
        & sel.geometry.geom_type.isin(["LineString", "MultiLineString"])
    ]
    return sel if len(sel) else border


def corridors_for_survey(
    survey: Survey,
    *,
    rasters: Mapping[str, Any] | None = None,
    resistance: xr.DataArray | None = None,
    cores: gpd.GeoDataFrame | Sequence[Any] | None = None,
    resolution: float = 250.0,
    pairs: Literal["across", "all"] = "across",
    units: Literal["map", "cells"] = "map",
    width_cost: float | None = None,
    width_m: float | None = None,
    circuit_mode: Literal["pairwise", "one_to_all"] = "pairwise",
    mode: Literal["pairwise", "one_to_all"] | None = None,
    solver: Literal["auto", "cg_amg", "direct"] = "auto",
    max_memory_gb: float = 4.0,
    segment_length: float = 1000.0,
    pinch_quantile: float = 0.95,
    buffer: float = 5000.0,
    core_setback: float = 5000.0,
    run_circuit: bool = True,
    n_jobs: int = 1,
    base_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> SurveyCorridors:
    """Resistance, least-cost corridors, current and border hotspots of a survey.

    Parameters
    ----------
    survey
        The survey (parks, zones, border and habitat are used).
    rasters
        ``{"landcover", "elevation", "settlements", "rivers"}`` for
        :func:`resistance_from_project` (ignored if ``resistance`` given).
    resistance
        A ready resistance surface.
    cores
        Core layers (GeoDataFrames or paths), or a frame from
        :func:`cores_from`.  Default: the survey's parks.
    resolution
        Cell size in metres of the resistance grid.
    pairs, units, width_cost, width_m
        See :func:`least_cost_network`.
    circuit_mode, mode
        Circuit mode (``mode`` is an alias used by the CLI).
    solver, pinch_quantile
        See :func:`circuit`.
    max_memory_gb
        Memory budget in GiB of the whole run; a grid that would exceed it
        is refused at once (before any layer is read) with a resolution that
        fits; the circuit solve checks it again on the exact cell count.
    segment_length
        Border segment length for :func:`border_hotspots`.
    buffer
        Margin in metres around the survey and cores for the grid.
    core_setback
        Cores are cut back to their parts at least this far (metres) from
        the border, so that the crossing zone is modelled rather than
        assumed (parks on both sides often touch the border; touching cores
        would give zero-length paths).  0 keeps them whole.
    run_circuit
        Also run circuit theory.
    n_jobs
        Processes for the circuit's unit-source solves (see :func:`circuit`).
    base_dir
        Folder for relative core paths (default: the working directory, then
        the folder of the survey's stations file).
    progress
        Progress bars.

    Returns
    -------
    SurveyCorridors

    Raises
    ------
    InputError
        If no cores or no rasters are available.
    ComputationError
        If no pair of cores lies across the border, or if the grid at
        ``resolution`` would need more than ``max_memory_gb`` (checked first,
        from the extent and resolution; the message names a resolution that
        fits).
    """
    require_projected(survey.crs, "survey CRS")
    if resistance is None:
        # refuse a grid that cannot fit before reading any layer: every step
        # (resistance, least-cost surfaces, circuit) holds arrays of the grid
        given = [cores] if isinstance(cores, (gpd.GeoDataFrame, gpd.GeoSeries)) else []
        _check_grid_memory(
            grid_cells(_survey_bounds(survey, given, buffer), resolution),
            resolution,
            _CORRIDORS_BYTES_PER_CELL,
            what=f"the corridor grid at {resolution:g} m",
            max_memory_gb=max_memory_gb,
        )
    else:
        g = _as_grid(resistance)
        check_budget(
            g.width * g.height,
            _CORRIDORS_BYTES_PER_CELL,
            what="the resistance grid given",
            budget_gb=max_memory_gb,
            suggest=lambda f: (
                "Resample the resistance raster to "
                f"{coarser(g.cell, f)} m cells or coarser (now {g.cell:g} m)."
            ),
        )
    if cores is None:
        if survey.parks is None or len(survey.parks) == 0:
            raise InputError(
                "No core areas: the survey has no parks. Give cores (e.g. "
                "--cores china_sector.gpkg or [corridors] cores = [...])."
            )
        core_gdf = cores_from(survey.parks, survey=survey)
    elif isinstance(cores, gpd.GeoDataFrame) and "core_id" in cores.columns:
        core_gdf = cores.to_crs(survey.crs)
    else:
        layers = (
            [cores]
            if isinstance(cores, (gpd.GeoDataFrame, gpd.GeoSeries, str, os.PathLike))
            else list(cores)
        )
        layers = [_resolve_path(c, base_dir, survey) for c in layers]
        core_gdf = cores_from(*[_read_vector(c) for c in layers], survey=survey)
    if (
        pairs == "across"
        and V.ZONE in core_gdf
        and core_gdf[V.ZONE].notna().all()
        and core_gdf[V.ZONE].nunique() < 2
    ):
        raise ComputationError(
            f"All cores lie in {core_gdf[V.ZONE].iloc[0]}; no pair crosses the border. "
            "Add cores on the other side (e.g. --cores china_sector.gpkg) or use "
            "pairs='all'."
        )
    border = survey_border(survey)
    if border is not None and core_setback > 0:
        zone_set = set(core_gdf[V.ZONE].dropna()) if V.ZONE in core_gdf else set()
        border = _border_between(border, survey, zone_set)
        band = border.geometry.buffer(core_setback).union_all()
        cut = core_gdf.geometry.difference(band)
        keep = ~cut.is_empty
        if not keep.all():
            lost = core_gdf.loc[~keep, "core_id"].tolist()
            warnings.warn(
                f"Cores {lost} lie within core_setback={core_setback:g} m of the "
                "border and were dropped; lower core_setback to keep them.",
                TrapscapeWarning,
                stacklevel=2,
            )
        core_gdf = core_gdf.set_geometry(cut)[keep].reset_index(drop=True)
    elif border is not None:
        zone_set = set(core_gdf[V.ZONE].dropna()) if V.ZONE in core_gdf else set()
        border = _border_between(border, survey, zone_set)
    if len(core_gdf) < 2:
        raise InputError(
            f"Need at least two core areas, got {len(core_gdf)}. Add cores "
            "on the other side of the border."
        )
    if resistance is None:
        # the cores are known now (files read, cut back): check the grid
        # over them too before any raster is read
        _check_grid_memory(
            grid_cells(_survey_bounds(survey, [core_gdf], buffer), resolution),
            resolution,
            _CORRIDORS_BYTES_PER_CELL,
            what=f"the corridor grid at {resolution:g} m",
            max_memory_gb=max_memory_gb,
        )
        resistance = resistance_from_project(
            survey,
            dict(rasters or {}),
            resolution=resolution,
            extent=core_gdf,
            buffer=buffer,
            max_memory_gb=max_memory_gb,
        )
    grid = _as_grid(resistance)
    lc = least_cost_network(
        resistance,
        core_gdf,
        pairs=pairs,
        units=units,
        width_cost=width_cost,
        width_m=width_m,
        progress=progress,
    )
    circ = None
    if run_circuit:
        used = sorted(set(lc.paths["core_a"]) | set(lc.paths["core_b"]))
        nodes = core_gdf[core_gdf["core_id"].isin(used)]
        circ = circuit(
            resistance,
            nodes,
            mode=mode or circuit_mode,
            solver=solver,
            max_memory_gb=max_memory_gb,
            pinch_quantile=pinch_quantile,
            n_jobs=n_jobs,
            progress=progress,
        )
    hot = None
    crossings = pair_crossings(lc.paths, border if border is not None else [])
    if border is not None:
        from shapely.geometry import box

        clipped = border.clip(box(*grid.bounds))
        if len(clipped) and not clipped.geometry.is_empty.all():
            hot = border_hotspots(
                border,
                current=None if circ is None else circ.current,
                paths=lc.paths,
                corridors=lc.corridors,
                detour=lc.detour,
                segment_length=segment_length,
            )
            crossings = pair_crossings(lc.paths, border, segments=hot)
    else:
        warnings.warn(
            "The survey has no border or zones; border hotspots are skipped.",
            TrapscapeWarning,
            stacklevel=2,
        )
    return SurveyCorridors(resistance, core_gdf, lc, circ, hot, crossings)
