"""Omnidirectional (moving-window) circuit connectivity: :func:`omniscape`."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from ...errors import ComputationError, InputError
from ._engine import Context, Partial, batches, correction_array, solve_batch, targets
from ._options import Conditions, OmniscapeOptions

__all__ = ["OmniscapeResult", "omniscape", "prepare_context", "worker_memory_bytes"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OmniscapeResult:
    """Outputs of :func:`omniscape` (NaN where the resistance is nodata).

    ``cumulative_current`` is Omniscape.jl's ``cum_currmap``,
    ``flow_potential`` its ``flow_potential`` (current on a landscape of
    unit resistance with the same sources) and ``normalized_current`` their
    ratio, ``normalized_cum_currmap`` (above 1: current channelled through a
    pinch; below 1: impeded).
    """

    cumulative_current: Any
    flow_potential: Any | None
    normalized_current: Any | None
    options: OmniscapeOptions
    n_targets: int
    n_batches: int
    seconds: float
    workers: int = 1

    @property
    def seconds_per_target(self) -> float:
        return self.seconds / max(self.n_targets, 1)


def _array(obj: Any, name: str) -> np.ndarray:
    arr = np.asarray(
        obj.values if isinstance(obj, xr.DataArray) else obj, dtype=np.float64
    )
    if arr.ndim != 2:
        raise InputError(f"The {name} raster must be 2-D, got shape {arr.shape}.")
    return arr


def _reclassify(res: np.ndarray, table: Any) -> np.ndarray:
    tab = np.asarray(table, dtype=np.float64)
    if tab.ndim != 2 or tab.shape[1] != 2:
        raise InputError(
            f"A reclassification table has two columns (old value, new value); got "
            f"shape {tab.shape}."
        )
    out = res.copy()
    for old, new in tab:
        out[res == old] = new
    return out


def _check_same_shape(shape: tuple[int, ...], other: np.ndarray, name: str) -> None:
    if other.shape != shape:
        raise InputError(
            f"The {name} raster has {other.shape[0]} rows x {other.shape[1]} columns but "
            f"the resistance raster has {shape[0]} x {shape[1]}; put both on the same "
            "grid (same extent and cell size)."
        )


def _source_strength(
    res: np.ndarray, source: Any, opts: OmniscapeOptions
) -> np.ndarray:
    if source is None:
        # sources from resistance: conductance where the resistance is <= r_cutoff
        with np.errstate(divide="ignore", invalid="ignore"):
            strength = res.copy() if opts.resistance_is_conductance else 1.0 / res
            cutoff = 1.0 / opts.r_cutoff if opts.r_cutoff > 0 else np.inf
            strength[~(strength >= cutoff)] = 0.0
        return np.where(np.isfinite(strength), strength, 0.0)
    src = _array(source, "source strength")
    _check_same_shape(res.shape, src, "source strength")
    src = np.where(np.isnan(src), 0.0, src)
    src[src < opts.source_threshold] = 0.0
    return src


def _condition_layers(
    conditions: Sequence[Any] | None,
    future: Sequence[Any] | None,
    opts: OmniscapeOptions,
    shape: tuple[int, ...],
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    cond = opts.conditions
    if cond is None:
        return (), ()
    n = len(cond.comparisons)
    layers = list(conditions or ())
    if len(layers) != n:
        raise InputError(
            f"Conditional connectivity with {n} condition(s) needs {n} condition "
            f"raster(s), got {len(layers)}."
        )
    present = tuple(_array(c, f"condition{k + 1}") for k, c in enumerate(layers))
    futures = list(future or [None] * n) + [None] * n
    fut = []
    for k in range(n):
        _check_same_shape(shape, present[k], f"condition{k + 1}")
        if cond.uses_future(k):
            if futures[k] is None:
                raise InputError(
                    f"compare_to_future = {cond.compare_to_future!r} needs the future "
                    f"raster of condition {k + 1} (condition{k + 1}_future_file)."
                )
            f = _array(futures[k], f"condition{k + 1}_future")
            _check_same_shape(shape, f, f"condition{k + 1}_future")
            fut.append(f)
        else:
            fut.append(present[k])
    return present, tuple(fut)


def prepare_context(
    resistance: Any,
    source_strength: Any = None,
    *,
    options: OmniscapeOptions,
    reclass_table: Any = None,
    conditions: Sequence[Any] | None = None,
    future_conditions: Sequence[Any] | None = None,
) -> tuple[Context, np.ndarray]:
    """The engine's read-only context and the nodata mask of the resistance."""
    res = _array(resistance, "resistance")
    nodata = ~np.isfinite(res)
    if (res[~nodata] <= 0).any():
        n = int((res[~nodata] <= 0).sum())
        kind = "conductance" if options.resistance_is_conductance else "resistance"
        raise InputError(
            f"The {kind} raster has {n} cell(s) <= 0; Omniscape needs positive values "
            "(mark impassable cells as nodata)."
        )
    if reclass_table is not None:
        res = _reclassify(res, reclass_table)
        nodata = ~np.isfinite(res)
    if options.source_from_resistance or source_strength is None:
        src = _source_strength(res, None, options)
    else:
        src = _source_strength(res, source_strength, options)
    with np.errstate(divide="ignore"):
        cond = res if options.resistance_is_conductance else 1.0 / res
    cond = np.where(nodata, np.nan, cond)
    present, fut = _condition_layers(conditions, future_conditions, options, res.shape)
    tg = targets(src, options)
    if not len(tg):
        raise InputError(
            f"No source strength above the threshold ({options.source_threshold}): "
            "every block of the source raster sums to 0, so there is nothing to "
            "connect. Lower source_threshold or r_cutoff, or check the source raster."
        )
    ctx = Context(cond, src, present, fut, options, None, tg)
    if options.corrects:
        ctx = Context(cond, src, present, fut, options, correction_array(ctx), tg)
    return ctx, nodata


def worker_memory_bytes(
    shape: tuple[int, int],
    options: OmniscapeOptions,
    batch_size: int,
    n_layers: int = 0,
    *,
    distributed: bool = False,
) -> int:
    """Peak memory of one worker: the grids it reads plus one batch.

    A single process reads the whole conductance and source grids (and
    condition layers); a dask task only their part under its batch's
    windows (``distributed``).  A batch adds its partial current maps and
    one window's factorisation (band Cholesky: ``(2r + 3)`` diagonals of
    ``(2r + 1)**2`` cells, twice when flow potential is on, plus about 40
    work arrays of a window).
    """
    from .._solver import estimate_memory_bytes
    from ._window import BAND_MAX_WIDTH

    cells = int(shape[0]) * int(shape[1])
    side = (
        max(1, math.isqrt(max(int(batch_size), 1))) * options.block_size
        + 2 * options.reach
    )
    read = min(side * side, cells) if distributed else cells
    context = read * 8 * (2 + n_layers)
    w = 2 * options.reach + 1
    n_w = w * w
    if w <= BAND_MAX_WIDTH:
        solve = (w + 2) * n_w * 8 * 2
    else:
        solve = estimate_memory_bytes(n_w, 1, solver="cg_amg")
    if options.needs_flow_potential:
        solve *= 2
    partial = min(side * side, cells) * 8 * (2 if options.needs_flow_potential else 1)
    return int(context + solve + 40 * n_w * 8 + partial)


def assemble(
    ctx: Context, parts: Any, nodata: np.ndarray, *, started: float, workers: int = 1
) -> OmniscapeResult:
    """Sum batch partials (in the order given) and finish the three maps."""
    opts = ctx.options
    dtype = np.float32 if opts.precision == "single" else np.float64
    cum = np.zeros(ctx.shape, dtype)
    fp = np.zeros(ctx.shape, dtype) if opts.needs_flow_potential else None
    n_batches = 0
    for part in parts:
        _add(cum, fp, part)
        n_batches += 1
    norm = None
    if opts.calc_normalized_current and fp is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = cum / fp
        norm[np.isnan(norm)] = 0.0
    if opts.mask_nodata:
        for grid in (cum, fp, norm):
            if grid is not None:
                grid[nodata] = np.nan
    return OmniscapeResult(
        cum,
        fp if opts.calc_flow_potential else None,
        norm,
        opts,
        len(ctx.targets),
        n_batches,
        time.perf_counter() - started,
        workers,
    )


def _add(cum: np.ndarray, fp: np.ndarray | None, part: Partial) -> None:
    h, w = part.current.shape
    cum[part.row0 : part.row0 + h, part.col0 : part.col0 + w] += part.current
    if fp is not None and part.flow_potential is not None:
        fp[part.row0 : part.row0 + h, part.col0 : part.col0 + w] += part.flow_potential


def _wrap(result: OmniscapeResult, template: Any) -> OmniscapeResult:
    if not isinstance(template, xr.DataArray):
        return result

    def like(grid: np.ndarray | None, name: str) -> xr.DataArray | None:
        if grid is None:
            return None
        da = xr.DataArray(grid, coords=template.coords, dims=template.dims, name=name)
        da.attrs.update({k: v for k, v in template.attrs.items() if k != "_FillValue"})
        if template.rio.crs is not None:
            da = da.rio.write_crs(template.rio.crs)
        return da

    return OmniscapeResult(
        like(result.cumulative_current, "cum_currmap"),
        like(result.flow_potential, "flow_potential"),
        like(result.normalized_current, "normalized_cum_currmap"),
        result.options,
        result.n_targets,
        result.n_batches,
        result.seconds,
        result.workers,
    )


def omniscape(
    resistance: Any,
    source_strength: Any = None,
    *,
    options: OmniscapeOptions | None = None,
    reclass_table: Any = None,
    conditions: Sequence[Any] | None = None,
    future_conditions: Sequence[Any] | None = None,
    batch_size: int = 64,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    max_memory_gb: float | None = None,
    **kwargs: Any,
) -> OmniscapeResult:
    """Omnidirectional circuit connectivity (Omniscape; McRae et al. 2016).

    Every block of ``block_size`` cells with source strength becomes a target
    in turn; the sources within ``radius`` cells of it send their strength
    (rescaled to sum to the block's) to the grounded target through the
    resistance surface clipped to ``radius + buffer`` cells, and the window
    currents are summed.  Matches Omniscape.jl (Landau et al. 2021) on its
    verification cases.

    Parameters
    ----------
    resistance
        Resistance (or, with ``resistance_is_conductance``, conductance) per
        cell; NaN is nodata (impassable).  A 2-D array or a DataArray (then
        the outputs are DataArrays on the same grid).
    source_strength
        Source strength per cell (NaN = 0, below ``source_threshold`` = 0).
        ``None`` (or ``source_from_resistance=True``) derives it from the
        resistance: ``1 / resistance`` where ``resistance <= r_cutoff``.
    options
        An :class:`OmniscapeOptions`; or give its fields as keywords
        (``radius=``, ``block_size=``, ...).
    reclass_table
        Two columns (old value, new value) applied to the resistance first.
    conditions, future_conditions
        Present and future condition rasters for conditional connectivity
        (``options.conditions``).
    batch_size
        Targets per task; batches are square tiles of targets.
    workers, scheduler
        Solve on a dask.distributed cluster: a LocalCluster of ``workers``
        processes, or the scheduler at ``scheduler`` (needs ``trapscape[dask]``).
        The result is identical to the single-process run.
    progress
        Show a progress bar over targets (dask: over finished batches).
    max_memory_gb
        Budget of one worker (:func:`worker_memory_bytes`); a run over it is
        refused before any window is solved.

    References
    ----------
    McRae, B. H., Popper, K., Jones, A., et al. (2016) Conserving Nature's
    Stage: Mapping Omnidirectional Connectivity for Resilient Terrestrial
    Landscapes in the Pacific Northwest. The Nature Conservancy.
    Landau, V. A., Shah, V. B., Anantharaman, R. & Hall, K. R. (2021)
    Omniscape.jl: Software to compute omnidirectional landscape
    connectivity. Journal of Open Source Software 6(57), 2829.
    """
    started = time.perf_counter()
    if options is None:
        options = OmniscapeOptions(**kwargs)
    elif kwargs:
        raise InputError(
            f"Give either options= or option keywords, not both: {sorted(kwargs)}."
        )
    if source_strength is None and not options.source_from_resistance:
        options = _replace(options, source_from_resistance=True)
    ctx, nodata = prepare_context(
        resistance,
        source_strength,
        options=options,
        reclass_table=reclass_table,
        conditions=conditions,
        future_conditions=future_conditions,
    )
    groups = batches(ctx.targets, batch_size)
    need = worker_memory_bytes(
        ctx.shape,
        options,
        batch_size,
        2 * len(ctx.present),
        distributed=scheduler is not None or workers > 1,
    )
    logger.info("omniscape: about %.2f GiB per worker", need / 2**30)
    if max_memory_gb is not None and need > max_memory_gb * 2**30:
        raise ComputationError(
            f"One omniscape worker would need about {need / 2**30:.2f} GiB "
            f"(grid {ctx.shape[0]} x {ctx.shape[1]}, radius {options.radius} cells), "
            f"over the {max_memory_gb:g} GiB budget. Use a coarser grid, a smaller "
            "radius or batch_size, or raise max_memory_gb."
        )
    if scheduler is not None or workers > 1:
        from ._distributed import solve_distributed

        parts, n_workers = solve_distributed(
            ctx, groups, workers=workers, scheduler=scheduler, progress=progress
        )
        result = assemble(ctx, parts, nodata, started=started, workers=n_workers)
    else:
        result = assemble(ctx, _serial(ctx, groups, progress), nodata, started=started)
    logger.info(
        "omniscape: %d targets in %d batches, %.2f s",
        result.n_targets,
        result.n_batches,
        result.seconds,
    )
    return _wrap(result, resistance)


def _serial(ctx: Context, groups: list[np.ndarray], progress: bool) -> Any:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ctx.targets), desc="omniscape targets", unit="target")
    try:
        for idx in groups:
            part = solve_batch(ctx, idx)
            if bar is not None:
                bar.update(part.n_targets)
            yield part
    finally:
        if bar is not None:
            bar.close()


def _replace(options: OmniscapeOptions, **changes: Any) -> OmniscapeOptions:
    from dataclasses import replace

    return replace(options, **changes)


# keep the names importable from here as well
__all__ += ["Conditions", "OmniscapeOptions"]
