"""Utilisation distributions: kernel density grids of individuals (adehabitatHR).

The bivariate normal kernel is evaluated exactly at each cell centre,
truncated to ``|dx| < 4h, |dy| < 4h`` and normalised by the number of
relocations (``kernelUD``); the volume surface is ``getvolumeUD``.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB, check_budget, coarser
from .._raster import GridSpec
from ..crs import as_crs
from ..errors import ComputationError, InputError, TrapscapeWarning
from .bandwidth import _bandwidth
from .relocations import (
    _as_relocations,
    _split,
    relocations_from_survey,
    station_weights,
)

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "utilization_distributions",
]

_GROUP = 4096


def _grid_count(xy: np.ndarray, grid: int, extent: float, crs: Any) -> GridSpec:
    """adehabitatHR ``.makegridUD``: ``grid`` cell centres along the longer side."""
    if grid < 2:
        raise InputError(f"grid must be at least 2 cells, got {grid}.")
    xmin, ymin = xy.min(axis=0)
    xmax, ymax = xy.max(axis=0)
    rx, ry = xmax - xmin, ymax - ymin
    xl = (xmin - extent * rx, xmax + extent * rx)
    yl = (ymin - extent * ry, ymax + extent * ry)
    if yl[1] - yl[0] > xl[1] - xl[0]:
        cell = (yl[1] - yl[0]) / (grid - 1)
        ny = grid
        nx = math.floor((xl[1] - xl[0]) / cell + 1e-10) + 1
    else:
        cell = (xl[1] - xl[0]) / (grid - 1)
        nx = grid
        ny = math.floor((yl[1] - yl[0]) / cell + 1e-10) + 1
    if not cell > 0:
        raise ComputationError(
            "relocations of one individual share one location, so the grid has "
            "no extent. "
            "Pass a cell size (grid=100.0) or a GridSpec."
        )
    top = yl[0] + (ny - 1) * cell
    return GridSpec(xl[0] - cell / 2, top + cell / 2, cell, nx, ny, as_crs(crs))


def _grid_cell(
    xy: np.ndarray, cell: float, extent: float, h: float, crs: Any
) -> GridSpec:
    """Grid of ``cell`` with centres at multiples of cell + cell/2.

    Covers the bounding box widened by ``extent`` times its range and by at
    least 4h (so no kernel mass is cut off).
    """
    if not cell > 0:
        raise InputError(f"cell size must be positive, got {cell}.")
    xmin, ymin = xy.min(axis=0)
    xmax, ymax = xy.max(axis=0)
    rx, ry = xmax - xmin, ymax - ymin
    bx = max(extent * rx, 4 * h + cell)
    by = max(extent * ry, 4 * h + cell)
    x0 = math.floor((xmin - bx) / cell) * cell
    x1 = math.ceil((xmax + bx) / cell) * cell
    y0 = math.floor((ymin - by) / cell) * cell
    y1 = math.ceil((ymax + by) / cell) * cell
    return GridSpec(
        float(x0),
        float(y1),
        float(cell),
        round((x1 - x0) / cell),
        round((y1 - y0) / cell),
        as_crs(crs),
    )


def _kernel_1d(values: np.ndarray, centres: np.ndarray, h: float) -> np.ndarray:
    """``exp(-d²/2h²)`` from values (rows) to centres (columns); 0 if ``|d| >= 4h``."""
    d = np.subtract(centres[None, :], values[:, None])
    np.multiply(d, d, out=d)
    far = d >= 16.0 * h * h
    d *= -0.5 / (h * h)
    np.exp(d, out=d)
    d[far] = 0.0
    return np.asarray(d)


def _ud(
    xy: np.ndarray, h: float, grid: GridSpec, weights: np.ndarray | None = None
) -> np.ndarray:
    """Exact truncated-Gaussian UD on ``grid`` (density per m², rows north to south).

    The kernel and its square truncation are separable, so the UD of a group
    of points is the matrix product ``Ky^T W Kx``.  Points are sorted by y
    and processed in groups of at most ``_GROUP`` points (bounding memory);
    each group only touches the window of cells within 4h of its points, so
    the work follows the kernels' footprint rather than the whole grid while
    the products stay large enough for BLAS to run at full speed.
    """
    n = len(xy)
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
    xs, ys = grid.xs, grid.ys
    out = np.zeros(grid.shape)
    cell = grid.cell
    reach = 4.0 * h
    x_lo, x_hi = grid.x0 - reach, grid.x0 + grid.width * cell + reach
    y_lo, y_hi = grid.y0 - grid.height * cell - reach, grid.y0 + reach
    keep = (
        (xy[:, 0] > x_lo)
        & (xy[:, 0] < x_hi)
        & (xy[:, 1] > y_lo)
        & (xy[:, 1] < y_hi)
        & (w != 0)
    )
    if not keep.any():
        return out
    xy, w = xy[keep], w[keep]
    order = np.argsort(-xy[:, 1], kind="stable")
    xy, w = xy[order], w[order]
    m = len(xy)
    n_groups = max(1, -(-m // _GROUP))
    bounds = np.linspace(0, m, n_groups + 1).astype(np.int64)
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        px, py, pw = xy[a:b, 0], xy[a:b, 1], w[a:b]
        c_lo = max(0, math.floor((px.min() - reach - grid.x0) / cell))
        c_hi = min(grid.width, math.ceil((px.max() + reach - grid.x0) / cell) + 1)
        r_lo = max(0, math.floor((grid.y0 - py.max() - reach) / cell))
        r_hi = min(grid.height, math.ceil((grid.y0 - py.min() + reach) / cell) + 1)
        if c_hi <= c_lo or r_hi <= r_lo:
            continue
        kx = _kernel_1d(px, xs[c_lo:c_hi], h)
        ky = _kernel_1d(py, ys[r_lo:r_hi], h)
        ky *= pw[:, None]
        out[r_lo:r_hi, c_lo:c_hi] += ky.T @ kx
    out *= 1.0 / (2.0 * math.pi * h * h)
    return out


def _volume(ud: np.ndarray, cell: float) -> np.ndarray:
    """adehabitatHR ``getvolumeUD``: percent of UD mass in cells at least as dense."""
    v = ud.ravel() * (cell * cell)
    pos = np.flatnonzero(v > 0)
    vp = v[pos]
    order = np.argsort(-vp, kind="stable")
    csum = np.cumsum(vp[order]) * 100.0
    # cells of zero density all get the total (ties: their order does not matter)
    vol = np.full(v.shape, csum[-1] if len(csum) else 0.0)
    vol[pos[order]] = csum
    return vol.reshape(ud.shape)


def _map_individuals(fn: Any, keys: list[str], *, progress: bool = False) -> list[Any]:
    """Apply ``fn`` to every key, on up to 2 worker threads with single-threaded BLAS.

    Many small matrix products run much faster with one BLAS thread each than
    with BLAS's own threading (which oversubscribes a busy machine), so BLAS is
    limited with threadpoolctl when it is installed and the individuals are
    spread over a thread pool instead (numpy releases the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        limit: Any = nullcontext()
        workers = 1
    else:
        limit = threadpool_limits(limits=1, user_api="blas")
        workers = max(1, min(2, os.cpu_count() or 1, len(keys)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(keys), desc="kde", unit="individual")

    def run(k: str) -> Any:
        r = fn(k)
        if bar is not None:
            bar.update(1)
        return r

    try:
        with limit:
            if workers == 1:
                return [run(k) for k in keys]
            with ThreadPoolExecutor(max_workers=workers) as ex:
                return list(ex.map(run, keys))
    finally:
        if bar is not None:
            bar.close()


# Peak memory per UD cell, calibrated on the bundled example (59
# individuals, `trapscape homerange --cell C`, /usr/bin/time -v peak RSS):
# 291 MB at 100 m (5.9 M UD cells in all) and 611 MB at 50 m (23.7 M cells),
# i.e. about 19 B per cell held (the float64 UDs are all kept until the
# isopleths and rasters are written) above ~180 MB of imports and data.
# 24 B/cell leaves a margin; one individual's volume/contouring (argsort,
# sorted copy, cumulative sum, ...) is added per worker thread on top.
_KDE_BYTES_PER_CELL = 24
_KDE_BYTES_PER_WORKING_CELL = 64


def _check_kde_memory(
    grids: dict[str, GridSpec], grid: Any, max_memory_gb: float | None
) -> None:
    """Refuse UDs whose grids (all held at once) would exceed the budget."""
    if not grids:
        return
    n_cells = sum(g.width * g.height for g in grids.values())
    largest = max(g.width * g.height for g in grids.values())
    cell = next(iter(grids.values())).cell

    def suggest(factor: float) -> str:
        if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
            fewer = max(2, int(int(grid) / (math.sqrt(factor) * 1.1)))
            return f"Use grid={fewer} cells or fewer (now {int(grid)})."
        return (
            f"Use a cell size of {coarser(cell, factor)} m or coarser (now {cell:g} m)."
        )

    check_budget(
        n_cells,
        _KDE_BYTES_PER_CELL,
        what=f"the kde grids of {len(grids)} individual(s)",
        budget_gb=max_memory_gb,
        suggest=suggest,
        extra_bytes=2 * largest * _KDE_BYTES_PER_WORKING_CELL,
    )


def utilization_distributions(
    relocations: gpd.GeoDataFrame | Survey,
    *,
    h: str | float = "href",
    grid: int | float | GridSpec = 60,
    cell_size: float | None = None,
    extent: float = 1.0,
    same_grid: bool = False,
    weights: Sequence[float] | np.ndarray | None = None,
    effort_weights: bool = False,
    min_detections: int = 5,
    min_stations: int = 3,
    progress: bool = False,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> tuple[dict[str, np.ndarray], dict[str, GridSpec], pd.DataFrame, pd.DataFrame]:
    """Kernel UDs as plain arrays (the fast core of :func:`kde`).

    Parameters are those of :func:`kde`.

    Returns
    -------
    (uds, grids, bandwidths, excluded)
        ``uds[id]`` is a ``(height, width)`` array of density per m² on
        ``grids[id]``.
    """
    if cell_size is not None:
        grid = float(cell_size)
    if effort_weights:
        relocations, weights = _effort_weighted(relocations, weights)
    rel = _as_relocations(relocations)
    coords, idx, excluded = _split(rel, min_detections, min_stations)
    if not coords:
        raise ComputationError(
            f"No individual has at least {min_detections} detections at {min_stations} "
            "stations; lower min_detections/min_stations or collect more data."
        )
    w_all = _relocation_weights(weights, len(rel))
    common, n_cells, cell = _grid_request(grid, rel.crs)
    bw_rows, hs = _bandwidths(coords, h)
    if common is None and same_grid:
        allxy = np.vstack(list(coords.values()))
        if n_cells is not None:
            common = _grid_count(allxy, n_cells, extent, rel.crs)
        elif cell is not None:
            common = _grid_cell(allxy, cell, extent, max(hs.values()), rel.crs)
    grids: dict[str, GridSpec] = {}
    wts: dict[str, np.ndarray | None] = {}
    for ind, xy in coords.items():
        if common is not None:
            grids[ind] = common
        elif n_cells is not None:
            grids[ind] = _grid_count(xy, n_cells, extent, rel.crs)
        else:
            grids[ind] = _grid_cell(xy, float(cell or 0.0), extent, hs[ind], rel.crs)
        wts[ind] = _individual_weights(w_all, idx[ind], ind)
    _check_kde_memory(grids, grid if cell is None else cell, max_memory_gb)

    def one(ind: str) -> np.ndarray:
        return _ud(coords[ind], hs[ind], grids[ind], wts[ind])

    uds = dict(
        zip(
            coords, _map_individuals(one, list(coords), progress=progress), strict=False
        )
    )
    bandwidths = pd.DataFrame(
        bw_rows,
        columns=[V.INDIVIDUAL_ID, "n", "href", "h_lscv", "h", "h_method", "note"],
    )
    return uds, grids, bandwidths, excluded


def _effort_weighted(
    relocations: gpd.GeoDataFrame | Survey,
    weights: Sequence[float] | np.ndarray | None,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Detection events of a survey with their effort weights (``effort_weights``)."""
    from ..survey import Survey

    if not isinstance(relocations, Survey):
        raise InputError(
            "effort_weights=True needs a Survey (station operating days); "
            "pass weights= for other relocations."
        )
    if weights is not None:
        raise InputError("Give either weights= or effort_weights=True, not both.")
    events = relocations_from_survey(relocations)
    return events, station_weights(relocations, events)


def _relocation_weights(
    weights: Sequence[float] | np.ndarray | None, n: int
) -> np.ndarray | None:
    """``weights`` as a float array after checking one non-negative value per row."""
    if weights is None:
        return None
    w_all = np.asarray(weights, dtype=float)
    if w_all.shape != (n,) or np.any(w_all < 0) or not np.all(np.isfinite(w_all)):
        raise InputError(
            f"weights must be {n} non-negative numbers, one per relocation."
        )
    return w_all


def _individual_weights(
    w_all: np.ndarray | None, rows: np.ndarray, ind: str
) -> np.ndarray | None:
    """One individual's weights, normalised to sum to 1 (None: unweighted)."""
    if w_all is None:
        return None
    w = w_all[rows]
    if not w.sum() > 0:
        raise InputError(f"weights of individual {ind} sum to 0.")
    return np.asarray(w / w.sum())


def _grid_request(
    grid: int | float | GridSpec, crs: Any
) -> tuple[GridSpec | None, int | None, float | None]:
    """Split ``grid`` into (common GridSpec, number of cells, cell size)."""
    if isinstance(grid, GridSpec):
        if not as_crs(grid.crs).equals(as_crs(crs)):
            from ..errors import CRSError

            raise CRSError(
                f"The grid is in {as_crs(grid.crs).to_string()} but the relocations "
                f"are in {as_crs(crs).to_string()}. Build the GridSpec in the "
                "relocations' CRS."
            )
        return grid, None, None
    if isinstance(grid, (int, np.integer)):
        return None, int(grid), None
    return None, None, float(grid)


def _bandwidths(
    coords: dict[str, np.ndarray], h: str | float
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Bandwidth record and ``h`` of every individual; warn when LSCV fell back."""
    bw_rows = []
    hs: dict[str, float] = {}
    for ind, xy in coords.items():
        rec = _bandwidth(xy, h)
        bw_rows.append({V.INDIVIDUAL_ID: ind, **rec})
        hs[ind] = rec["h"]
    fell_back = [r for r in bw_rows if r["note"]]
    if fell_back:
        names = ", ".join(str(r[V.INDIVIDUAL_ID]) for r in fell_back[:10])
        more = ", ..." if len(fell_back) > 10 else ""
        # stacklevel 4: the caller of kde (kde -> utilization_distributions -> here)
        warnings.warn(
            f"LSCV fell back to href for {len(fell_back)} individual(s) "
            f"({names}{more}): {fell_back[0]['note']}. The reason for each is in the "
            "bandwidths table.",
            TrapscapeWarning,
            stacklevel=4,
        )
    return bw_rows, hs
