"""Circuit-theory connectivity: effective resistance, current, pinch points."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .._memory import finest_fitting
from .._raster import (
    GridSpec,
    to_dataarray,
)
from ..crs import as_crs
from ..errors import ComputationError, CRSError, InputError
from . import _solver
from ._grid import (
    as_grid,
    source_cells,
)

__all__ = ["CircuitResult", "circuit"]

logger = logging.getLogger(__name__)


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
        r, c = source_cells(g, grid, f"node {ids[k]}")
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
    grid = as_grid(resistance)
    res = np.asarray(resistance.values, dtype=np.float64)
    focal, ids = _node_labels(nodes, grid)
    if len(ids) < 2:
        raise InputError("circuit needs at least two nodes.")
    _refuse_zero_resistance(res, grid)
    n_valid = int(np.isfinite(res).sum())
    method = _solver.choose_solver(n_valid, solver)
    _check_circuit_memory(n_valid, len(ids), method, grid, max_memory_gb)
    graph = _solver.build_graph(res, focal)
    run = _solver.pairwise if mode == "pairwise" else _solver.one_to_all
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


def _refuse_zero_resistance(res: np.ndarray, grid: GridSpec) -> None:
    """Refuse cells of resistance <= 0, naming the first one."""
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


def _check_circuit_memory(
    n_valid: int, n_nodes: int, method: str, grid: GridSpec, max_memory_gb: float
) -> None:
    """Refuse a solve whose estimated memory exceeds the budget.

    The refusal uses the exact count of valid cells; the advised resolution
    is the finest at which the solve fits for *any* count of valid cells up
    to the resampled grid's size (:func:`._solver.worst_memory_bytes`), so a
    resampled surface at that resolution is not refused again.
    """
    need = _solver.estimate_memory_bytes(n_valid, n_nodes, solver=method)
    budget = float(max_memory_gb) * 2**30
    if need > budget:
        extent = (grid.width * grid.cell, grid.height * grid.cell)

        def worst(cell: float) -> float:
            n = math.ceil(extent[0] / cell) * math.ceil(extent[1] / cell)
            return _solver.worst_memory_bytes(n, n_nodes, solver=method)

        cell = finest_fitting(worst, grid.cell, budget)
        fix = (
            f"Use a resolution of {cell} m or coarser (now {grid.cell:g} m), or "
            if cell is not None
            else "No resolution fits; "
        )
        raise ComputationError(
            f"The circuit on {n_valid:,} cells needs about "
            f"{need / 2**30:.1f} GiB, over "
            f"the {max_memory_gb:g} GiB budget. {fix}raise max_memory_gb."
        )


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
