"""Omnidirectional current for a survey's corridors step.

When the cores touch across the border (or there are none), least-cost
paths and pairwise current between cores say little: the paths have no
length and the current only fills the setback strip.  The omnidirectional
current (McRae et al. 2016) needs no cores: every passable cell is a source
of strength ``1 / resistance`` and current flows to every other cell within
``radius``.  Its current density along the border shows where animals would
cross; the ratio to the flow potential (the same current on a uniform
landscape) shows where the landscape channels it (ratio > 1: a pinch).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ... import validation as V
from .._grid import as_grid
from ..circuit_theory import CircuitResult, _pinch_points
from ..leastcost import LeastCostResult
from .core import OmniscapeResult, omniscape

__all__ = ["choose_method", "cores_touch", "empty_least_cost", "omniscape_circuit"]

logger = logging.getLogger(__name__)


def cores_touch(cores: gpd.GeoDataFrame | None, tolerance: float) -> bool:
    """Whether two cores of different zones lie within ``tolerance`` metres."""
    if cores is None or len(cores) < 2:
        return False
    zones = cores[V.ZONE].tolist() if V.ZONE in cores.columns else [None] * len(cores)
    geoms = cores.geometry.tolist()
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            if zones[i] is not None and zones[i] == zones[j]:
                continue
            if geoms[i].distance(geoms[j]) <= tolerance:
                return True
    return False


def choose_method(method: str, cores: gpd.GeoDataFrame | None, tolerance: float) -> str:
    """``"omniscape"`` or ``"leastcost"``; ``"auto"`` picks omniscape when the
    cores are missing or touch across the border."""
    if method not in ("auto", "leastcost", "omniscape"):
        from ...errors import InputError

        raise InputError(
            f"[corridors] method = {method!r} is not allowed; use 'auto', "
            "'leastcost' or 'omniscape'."
        )
    if method != "auto":
        return method
    if cores is None or len(cores) < 2 or cores_touch(cores, tolerance):
        return "omniscape"
    return "leastcost"


def _block_for(radius_cells: int) -> int:
    """Omniscape.jl's advice: blocks much smaller than the radius (odd)."""
    block = max(1, radius_cells // 4)
    return block if block % 2 else block - 1 if block > 1 else 1


#: windows wider than this many cells run on a coarsened resistance grid
MAX_RADIUS_CELLS = 24


def coarsened(resistance: xr.DataArray, factor: int) -> xr.DataArray:
    """Mean resistance over ``factor`` x ``factor`` blocks (NaN if under half valid)."""
    from ..._raster import GridSpec, to_dataarray

    grid = as_grid(resistance)
    h, w = grid.height // factor, grid.width // factor
    vals = np.asarray(resistance.values, dtype=float)[: h * factor, : w * factor]
    blocks = vals.reshape(h, factor, w, factor)
    valid = np.isfinite(blocks).sum(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        mean = np.nansum(blocks, axis=(1, 3)) / np.maximum(valid, 1)
    mean[valid * 2 < factor * factor] = np.nan
    coarse = GridSpec(grid.x0, grid.y0, grid.cell * factor, w, h, grid.crs)
    return to_dataarray(mean, coarse, name="resistance")


def omniscape_circuit(
    resistance: xr.DataArray,
    *,
    radius_m: float,
    block_size: int | None,
    pinch_quantile: float,
    progress: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[CircuitResult, OmniscapeResult]:
    """Omnidirectional current on ``resistance`` as a :class:`CircuitResult`.

    Sources are every passable cell with strength ``1 / resistance``; the
    radius is given in metres and rounded to cells.  ``options`` are further
    :class:`OmniscapeOptions` fields (a project's ``[omniscape]``; its
    ``radius`` and ``block_size`` are in cells and replace the others).  ``pinch_points`` are
    patches of the top ``1 - pinch_quantile`` of the normalised current.
    Windows are solved exactly (``solver = "cholmod"``) unless ``options``
    name Omniscape.jl's default ``"cg+amg"``.
    When the radius exceeds :data:`MAX_RADIUS_CELLS` cells the resistance is
    first averaged onto a coarser grid (an integer multiple of the cell
    size) so that the windows stay small; the current is then on that grid.
    """
    grid = as_grid(resistance)
    extra = dict(options or {})  # the project's [omniscape]: radius in cells
    extra.setdefault("solver", "cholmod")
    if "radius" in extra:
        radius_m = float(extra.pop("radius")) * grid.cell
    if "block_size" in extra:
        block_size = int(extra.pop("block_size"))
    for forced in (
        "source_from_resistance",
        "calc_flow_potential",
        "calc_normalized_current",
    ):
        extra.pop(forced, None)
    if not radius_m >= grid.cell:
        from ...errors import InputError

        raise InputError(
            f"The omniscape radius ({radius_m:g} m) is smaller than a cell of the "
            f"resistance grid ({grid.cell:g} m); raise omniscape_radius or use a finer "
            "resolution."
        )
    radius = max(1, round(radius_m / grid.cell))
    if radius > MAX_RADIUS_CELLS:
        # keep the windows small: solve on a coarser grid of the same extent
        factor = math.ceil(radius / MAX_RADIUS_CELLS)
        resistance = coarsened(resistance, factor)
        grid = as_grid(resistance)
        radius = max(1, round(radius_m / grid.cell))
        logger.info(
            "omniscape: resistance coarsened %dx to %g m cells", factor, grid.cell
        )
    block = _block_for(radius) if block_size is None else int(block_size)
    result = omniscape(
        resistance,
        None,
        radius=radius,
        block_size=block,
        calc_flow_potential=True,
        calc_normalized_current=True,
        progress=progress,
        **extra,
        workers=workers,
        scheduler=scheduler,
    )
    cur = result.cumulative_current
    assert isinstance(cur, xr.DataArray)
    cur = cur.rename("current")
    cur.attrs["method"] = "omniscape"
    cur.attrs["radius_cells"] = radius
    cur.attrs["block_size"] = result.options.block_size
    norm = np.asarray(result.normalized_current, dtype=float)
    pinch = _pinch_points(norm, grid, pinch_quantile)
    logger.info(
        "omniscape: radius %d cells (%g m), block %d, %d targets in %.1f s",
        radius,
        radius * grid.cell,
        result.options.block_size,
        result.n_targets,
        result.seconds,
    )
    circ = CircuitResult(pd.DataFrame(), cur, pinch, "omniscape", "band_cholesky")
    return circ, result


def empty_least_cost(grid_like: xr.DataArray) -> LeastCostResult:
    """A least-cost result without pairs (no cores to connect)."""
    crs = as_grid(grid_like).crs
    paths = gpd.GeoDataFrame(
        {"core_a": [], "core_b": [], "cost": [], "length_m": []}, geometry=[], crs=crs
    )
    corridors = gpd.GeoDataFrame(
        {
            "core_a": [],
            "core_b": [],
            "least_cost": [],
            "width_cost": [],
            "area_km2": [],
        },
        geometry=[],
        crs=crs,
    )
    raster = xr.full_like(grid_like, np.nan, dtype=float)
    costs = pd.DataFrame(
        columns=["core_a", "core_b", "zone_a", "zone_b", "cost", "length_m"]
    )
    return LeastCostResult({}, paths, corridors, raster, costs, None)
