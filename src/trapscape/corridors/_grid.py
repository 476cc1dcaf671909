"""Private helpers shared by the corridor modules: grids, sources, memory."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import xarray as xr
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .._memory import _GIB, check_budget, finest_fitting
from .._raster import (
    GridSpec,
    grid_of,
    rasterize_geometries,
)
from ..crs import as_crs, require_projected
from ..errors import CRSError, InputError

__all__ = [
    "CORRIDORS_BYTES_PER_CELL",
    "RESISTANCE_BYTES_PER_CELL",
    "as_grid",
    "check_grid_memory",
    "check_step_memory",
    "corridor_stage_bytes",
    "read_vector",
    "snapped_cells",
    "source_cells",
]

logger = logging.getLogger(__name__)


def as_grid(grid_or_template: GridSpec | xr.DataArray) -> GridSpec:
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


def read_vector(obj: Any) -> gpd.GeoDataFrame:
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
CORRIDORS_BYTES_PER_CELL = 500


RESISTANCE_BYTES_PER_CELL = 100


#: Arrays of the grid held while the circuit is solved, per cell and per
#: core (one float64 cost surface each) plus four more float64 grids
#: (resistance, corridor, current, scratch).
HELD_BYTES_PER_CELL_AND_CORE = 8
HELD_BYTES_PER_CELL = 4 * 8


def snapped_cells(bounds: tuple[float, float, float, float], cell: float) -> int:
    """Cells of the grid of ``cell`` metres over ``bounds``, snapped.

    :func:`trapscape._raster.grid_for_bounds` aligns the origin to multiples
    of the cell, which can add one column and one row to the plain count.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    cell = float(cell)
    if not cell > 0:
        return 0
    nx = max(1, math.ceil((maxx - minx) / cell)) + 1
    ny = max(1, math.ceil((maxy - miny) / cell)) + 1
    return nx * ny


def corridor_stage_bytes(
    n_cells: int, n_cores: int, *, solver: str = "auto", run_circuit: bool = True
) -> dict[str, float]:
    """Estimated peak bytes of each stage of a corridor step on ``n_cells``.

    ``resistance``: building the surface from the project's layers;
    ``least_cost``: the calibrated whole run without an exceptional circuit
    (cost surfaces of every core, corridors, paths); ``circuit``: the grids
    still held plus the solve with its multigrid hierarchy or LU fill-in
    (:func:`._solver.worst_memory_bytes`, the worst case over every count
    of valid cells up to ``n_cells``).  The step needs the largest of them.
    """
    from ._solver import worst_memory_bytes

    n = max(int(n_cells), 0)
    k = max(int(n_cores), 2)
    stages = {
        "resistance": float(RESISTANCE_BYTES_PER_CELL * n),
        "least_cost": float(CORRIDORS_BYTES_PER_CELL * n),
    }
    if run_circuit:
        held = (HELD_BYTES_PER_CELL + HELD_BYTES_PER_CELL_AND_CORE * k) * n
        stages["circuit"] = float(held + worst_memory_bytes(n, k, solver=solver))
    return stages


def check_step_memory(
    cells_at: Callable[[float], int],
    resolution: float,
    need_at: Callable[[int], float],
    *,
    what: str,
    max_memory_gb: float | None,
    resample: bool = False,
) -> float:
    """Refuse a step whose whole estimate exceeds the budget, up front.

    ``cells_at(cell)`` counts the grid's cells at a cell size and
    ``need_at(n_cells)`` is the step's peak estimate on that many cells; the
    advice is the finest round resolution whose *whole-step* estimate fits
    (:func:`trapscape._memory.finest_fitting`), not a scaling of one stage.
    """
    n = int(cells_at(resolution))
    need = float(need_at(n))
    verb = "Resample the resistance raster to" if resample else "Use a resolution of"

    def advice(_factor: float) -> str:
        budget = float(max_memory_gb or 0) * _GIB
        cell = finest_fitting(lambda r: need_at(cells_at(r)), resolution, budget)
        if cell is None:
            return "No resolution fits this budget."
        return f"{verb} {cell} m or coarser (now {resolution:g} m)."

    return check_budget(
        n,
        need / n if n else 0.0,
        what=what,
        budget_gb=max_memory_gb,
        suggest=advice,
    )


def check_grid_memory(
    n_cells: int,
    resolution: float,
    bytes_per_cell: float,
    *,
    what: str,
    max_memory_gb: float | None,
    cells_at: Callable[[float], int] | None = None,
) -> None:
    """Refuse a grid of ``bytes_per_cell`` per cell over the budget.

    ``cells_at(cell)`` counts the cells at another cell size (for the
    advice); without it the count is scaled by area, plus a rim of cells.
    """

    def scaled(cell: float) -> int:
        if cell == resolution:
            return int(n_cells)
        ratio = float(resolution) / float(cell)
        return math.ceil(n_cells * ratio**2 + 2 * math.sqrt(n_cells) * ratio + 1)

    check_step_memory(
        cells_at or scaled,
        resolution,
        lambda n: float(n) * float(bytes_per_cell),
        what=what,
        max_memory_gb=max_memory_gb,
    )


def source_cells(
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
