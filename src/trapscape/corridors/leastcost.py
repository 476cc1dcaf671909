"""Least-cost distance, paths and corridors (GRASS r.cost convention)."""

from __future__ import annotations

import logging
import math
import os
import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from .. import validation as V
from .._raster import (
    GridSpec,
    grid_of,
    to_dataarray,
)
from ..errors import ComputationError, InputError, TrapscapeWarning
from . import _dijkstra
from ._grid import (
    as_grid,
    source_cells,
)

__all__ = [
    "Corridor",
    "CostSurface",
    "LeastCostResult",
    "cost_distance",
    "least_cost_corridor",
    "least_cost_network",
    "least_cost_path",
]

logger = logging.getLogger(__name__)


def _check_units(units: str) -> None:
    if units not in ("map", "cells"):
        raise InputError(
            f"units must be 'map' (cost x metres) or 'cells', got {units!r}."
        )


class CostSurface:
    """Least-cost engine: one resistance raster, many sources and targets.

    The resistance is validated and converted once into a flat cost array
    with a border of impassable cells; each call of :meth:`cost_distance`
    runs one Dijkstra search over the implicit 8-neighbour grid (step length
    1 or sqrt(2) cells) and records, per cell, the move its least cost came
    by, so :meth:`path` traces a path without a second search when it is
    traced from the latest surface.  On grids of a million cells or more the
    search is compiled with Numba when it is installed (``pip install
    trapscape[fast]``, about 2x faster than scikit-image); otherwise
    scikit-image's ``MCP_Geometric`` runs the same search.  Both give the same
    costs (GRASS ``r.cost`` convention).

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
        self.grid = as_grid(resistance)
        self.units = units
        self._costs = _padded_costs(np.asarray(resistance.values))
        if not np.isfinite(self._costs).any():
            raise ComputationError("The resistance raster has no passable cell.")
        self._step = self.grid.cell if units == "map" else 1.0
        self._kernel = (
            _dijkstra.compiled_search()
            if self._costs.size >= _dijkstra.COMPILE_MIN_CELLS
            else None
        )
        self._mcp: Any = None  # scikit-image's engine, built when first needed
        # the latest surfaces and the predecessor moves of their searches
        self._held: list[tuple[weakref.ref[xr.DataArray], np.ndarray]] = []

    def _search(
        self, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One search from the given cells.

        Returns the accumulated cost (NaN where unreachable or impassable)
        and the index into :data:`_dijkstra.OFFSETS` of the move by which
        each cell was reached (-1 at the sources and unreached cells).
        """
        if self._kernel is None:
            return self._search_skimage(rows, cols)
        height, width = self._costs.shape
        dist = np.full((height, width), np.inf)
        pred = np.full((height, width), -1, dtype=np.int8)
        index = np.int32 if dist.size < 2**31 else np.int64
        starts = ((rows + 1) * width + cols + 1).astype(index)
        self._kernel(
            self._costs.reshape(-1),
            _dijkstra.neighbour_offsets(width),
            _dijkstra.step_lengths(self._step),
            starts,
            dist.reshape(-1),
            pred.reshape(-1),
        )
        cum = dist[1:-1, 1:-1]  # a view: the border is not copied away
        cum[np.isinf(cum)] = np.nan
        return cum, pred[1:-1, 1:-1]

    def _search_skimage(
        self, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_search` by scikit-image's ``MCP_Geometric`` (no Numba).

        Its move offsets are in the order of :data:`_dijkstra.OFFSETS`, so its
        traceback array is the same predecessor code.
        """
        if self._mcp is None:
            from skimage.graph import MCP_Geometric

            self._mcp = MCP_Geometric(
                self._costs[1:-1, 1:-1],
                fully_connected=True,
                sampling=(self._step, self._step),
            )
        starts = list(zip(rows.tolist(), cols.tolist(), strict=True))
        cum, trace = self._mcp.find_costs(starts)
        cum = np.array(cum, dtype=np.float64)  # the MCP object reuses its arrays
        cum[~np.isfinite(cum)] = np.nan
        return cum, np.array(trace, dtype=np.int8)

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
        return self.cost_distances([sources], names=[name])[0]

    def _start_cells(self, sources: Any) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = source_cells(sources, self.grid)
        ok = np.isfinite(self._costs[rows + 1, cols + 1])
        if not ok.any():
            raise ComputationError(
                "Every source cell is impassable (NaN resistance). Move the sources "
                "onto passable cells."
            )
        return rows[ok], cols[ok]

    def cost_distances(
        self, sources: Sequence[Any], *, names: Sequence[str] | None = None
    ) -> list[xr.DataArray]:
        """One accumulated-cost surface per entry of ``sources``.

        The searches run side by side, one per processor core, when the
        compiled search is available (it releases the GIL); each still has
        its own surface.  ``names`` names the DataArrays.  Paths can then be
        traced from any of them without a second search.
        """
        starts = [self._start_cells(src) for src in sources]
        names = list(names) if names is not None else ["cost_distance"] * len(starts)
        workers = min(len(starts), os.cpu_count() or 1)
        if self._kernel is None or workers < 2:
            found = [self._search(r, c) for r, c in starts]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                found = list(pool.map(lambda rc: self._search(*rc), starts))
        out = []
        self._held = []
        for (cum, pred), name in zip(found, names, strict=True):
            da = to_dataarray(cum, self.grid, name=name, nodata=np.nan, copy=False)
            da.attrs["units"] = self.units
            self._held.append((weakref.ref(da), pred))
            out.append(da)
        return out

    def _moves_of(self, cost_distance: xr.DataArray) -> np.ndarray:
        """Predecessor moves of the search behind ``cost_distance``.

        A surface from an earlier call (or another engine, or a file) is
        searched again from its zero-cost cells: its sources, plus any cell
        reachable from them for free, which gives the same accumulated costs.
        """
        for ref, pred in self._held:
            if ref() is cost_distance:
                return pred
        cum = np.asarray(cost_distance.values, dtype=np.float64)
        if cum.shape != self.grid.shape:
            raise InputError(
                "cost_distance is on another grid than the resistance; compute it "
                "with this CostSurface."
            )
        rows, cols = np.nonzero(cum == 0.0)
        if rows.size == 0:
            raise InputError(
                "cost_distance has no zero-cost (source) cell; compute it with "
                "CostSurface.cost_distance()."
            )
        _, pred = self._search(rows.astype(np.int64), cols.astype(np.int64))
        self._held = [(weakref.ref(cost_distance), pred)]
        return pred

    def path(
        self, cost_distance: xr.DataArray, target: Any
    ) -> tuple[LineString, float]:
        """Least-cost path from the sources of ``cost_distance`` to ``target``.

        ``target`` may be a point, ``(x, y)`` or a polygon (the path ends at
        its cheapest cell).  Returns the path through cell centres (source
        first) and its accumulated cost.  Among paths of equal cost, the
        one returned is the one the search reached first.
        """
        cum = np.asarray(cost_distance.values, dtype=np.float64)
        rows, cols = source_cells(target, self.grid, "target")
        vals = cum[rows, cols]
        if not np.isfinite(vals).any():
            raise ComputationError("The target cannot be reached from the sources.")
        k = int(np.nanargmin(vals))
        cells = _trace_back(self._moves_of(cost_distance), int(rows[k]), int(cols[k]))
        xs = self.grid.xs[cells[:, 1]]
        ys = self.grid.ys[cells[:, 0]]
        line = (
            LineString(np.column_stack([xs, ys]))
            if len(cells) > 1
            else LineString([(xs[0], ys[0]), (xs[0], ys[0])])
        )
        return line, float(vals[k])


def _trace_back(pred: np.ndarray, row: int, col: int) -> np.ndarray:
    """Cells ``(row, col)`` from a source to the given cell, following ``pred``."""
    cells = [(row, col)]
    for _ in range(pred.size):
        k = int(pred[row, col])
        if k < 0:
            break
        row -= int(_dijkstra.OFFSETS[k, 0])
        col -= int(_dijkstra.OFFSETS[k, 1])
        cells.append((row, col))
    return np.array(cells[::-1], dtype=np.int64)


def _padded_costs(resistance: np.ndarray) -> np.ndarray:
    """Costs with a one-cell impassable border; NaN, inf and negative cells inf.

    Zero-cost cells stay passable (free), as in GRASS r.cost.  A float32
    resistance stays float32 (the search adds in float64, so the costs are
    the same); anything else becomes float64.
    """
    dtype = np.float32 if resistance.dtype == np.float32 else np.float64
    height, width = resistance.shape
    costs = np.full((height + 2, width + 2), np.inf, dtype=dtype)
    inner = costs[1:-1, 1:-1]
    inner[...] = resistance
    inner[~(inner >= 0)] = np.inf  # NaN and negative; +inf stays inf
    return costs


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
    """The cells of ``mask`` as one (multi)polygon.

    ``rasterio.features.shapes`` gives one polygon per 4-connected region;
    two regions can only meet at a corner, so together they already form a
    valid MultiPolygon and no union is needed (a union of the 22,600 pieces
    of a corridor across a 3 M-cell random grid took 12 s; same area and
    parts).
    """
    from rasterio import features
    from shapely.geometry import MultiPolygon, Polygon, shape

    if not mask.any():
        return Polygon()
    polys = [
        shape(g)
        for g, v in features.shapes(
            mask.astype(np.uint8), mask=mask, transform=grid.transform
        )
        if v == 1
    ]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


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
    return _corridor(
        cd_a, cd_b, width_cost=width_cost, width_m=width_m, resistance=resistance
    )[0]


def _corridor(
    cd_a: xr.DataArray,
    cd_b: xr.DataArray,
    *,
    width_cost: float | None,
    width_m: float | None,
    resistance: xr.DataArray | None,
) -> tuple[Corridor, np.ndarray]:
    """:func:`least_cost_corridor`, and ``cd_a + cd_b - L`` without the cut."""
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
    lcd = float(np.fmin.reduce(total, axis=None))  # nanmin without its copy
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
    rel = total
    rel -= lcd  # in place: one full grid fewer
    inside = np.isfinite(rel) & (rel <= width_cost * (1 + 1e-12) + 1e-9)
    out = np.where(inside, rel, np.nan)
    raster = to_dataarray(out, grid, name="corridor", nodata=np.nan, copy=False)
    raster.attrs["units"] = cd_a.attrs.get("units", "map")
    cor = Corridor(raster, _mask_polygon(inside, grid), lcd, float(width_cost))
    return cor, rel


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
    cds, path_rows = _trace_pairs(engine, cores, plist, needed, progress=progress)
    del engine  # its MCP arrays are not needed for the corridors
    corr_rows, best, detour = _pair_corridors(
        cds,
        [(cores["core_id"].iloc[i], cores["core_id"].iloc[j]) for i, j in plist],
        path_rows,
        width_cost=width_cost,
        width_m=width_m,
        resistance=resistance,
    )
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
    craster = to_dataarray(best, grid, name="corridor", nodata=np.nan, copy=False)
    draster = to_dataarray(detour, grid, name="detour", nodata=np.nan, copy=False)
    draster.attrs["units"] = units
    return LeastCostResult(
        cds,
        paths,
        corridors,
        craster,
        pd.DataFrame(paths[cols]).reset_index(drop=True),
        draster,
    )


def _trace_pairs(
    engine: CostSurface,
    cores: gpd.GeoDataFrame,
    plist: list[tuple[int, int]],
    needed: list[int],
    *,
    progress: bool,
) -> tuple[dict[str, xr.DataArray], list[dict[str, Any]]]:
    """Cost distance from each needed core, and the path of each pair.

    The cores are searched in batches of one per processor core (side by
    side, see :meth:`CostSurface.cost_distances`); the paths of the pairs
    ``(k, j)`` are traced from the moves of core ``k``'s search while the
    engine holds them (no second search).  Returns the surfaces by core id
    and one path row per pair, in the order of ``plist``.
    """
    batch = max(1, min(len(needed), os.cpu_count() or 1))
    batches = [needed[i : i + batch] for i in range(0, len(needed), batch)]
    it: Iterable[list[int]] = batches
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(batches, desc=f"cost distance ({batch} core(s) at a time)")
    cds: dict[str, xr.DataArray] = {}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for ks in it:
        ids = [cores["core_id"].iloc[k] for k in ks]
        found = engine.cost_distances(
            [cores.geometry.iloc[[k]] for k in ks],
            names=[f"cost_distance_{cid}" for cid in ids],
        )
        for k, cid, cd in zip(ks, ids, found, strict=True):
            cds[cid] = cd
            for i, j in plist:
                if i == k:
                    rows[(i, j)] = _path_row(engine, cd, cores, i, j)
    return cds, [rows[p] for p in plist]


def _path_row(
    engine: CostSurface, cd: xr.DataArray, cores: gpd.GeoDataFrame, i: int, j: int
) -> dict[str, Any]:
    """Row of the paths table for cores ``i`` and ``j`` (no line if unconnected)."""
    ca, cb = cores["core_id"].iloc[i], cores["core_id"].iloc[j]
    row = {
        "core_a": ca,
        "core_b": cb,
        "zone_a": cores[V.ZONE].iloc[i] if V.ZONE in cores else pd.NA,
        "zone_b": cores[V.ZONE].iloc[j] if V.ZONE in cores else pd.NA,
    }
    try:
        line, cost = engine.path(cd, cores.geometry.iloc[[j]])
    except ComputationError:
        warnings.warn(
            f"Cores {ca} and {cb} are not connected by passable cells.",
            TrapscapeWarning,
            stacklevel=5,  # _path_row < _trace_pairs < least_cost_network < caller
        )
        return {**row, "cost": np.inf, "length_m": np.nan, "geometry": None}
    return {**row, "cost": cost, "length_m": float(line.length), "geometry": line}


def _pair_corridors(
    cds: dict[str, xr.DataArray],
    ids: list[tuple[str, str]],
    path_rows: list[dict[str, Any]],
    *,
    width_cost: float | None,
    width_m: float | None,
    resistance: xr.DataArray,
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Corridor rows of the connected pairs, their minimum raster and detour."""
    shape = resistance.shape
    corr_rows = []
    best = np.full(shape, np.nan)
    detour = np.full(shape, np.nan)
    for (ca, cb), prow in zip(ids, path_rows, strict=True):
        if prow["geometry"] is None:
            continue
        cor, rel = _corridor(
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
        np.fmin(best, cor.raster.values, out=best)
        np.fmin(detour, rel, out=detour)  # rel: cd_a + cd_b - L, computed once
    return corr_rows, best, detour
