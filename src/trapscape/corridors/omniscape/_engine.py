"""The moving-window engine: targets, window sources, correction, batches.

Follows the algorithm of Omniscape.jl (Landau et al. 2021; McRae et al.
2016) cell for cell, including where it places things near the grid's
edges, so that its verification outputs are reproduced:

* targets are the centres of ``block_size`` x ``block_size`` blocks tiling
  the grid from its top-left corner; a target's strength is the sum of the
  source strengths in its block; blocks without source are skipped;
* a target's window reaches ``radius + buffer`` cells around it (clipped
  at the grid's edges); its conductances are those within ``radius +
  buffer`` of the target, its sources those within ``radius``, rescaled to
  sum to the target's strength after the sources of the target block are
  removed (Omniscape.jl removes the block at the window's nominal centre,
  which near the top and left edges is not where the target is; the same
  is done here);
* the target is grounded and the window's circuit solved (``solver``:
  Circuitscape's CG with multigrid as Omniscape.jl runs it, or exactly);
  the current is
  optionally multiplied by the block-artifact correction and added to the
  cumulative map;
* flow potential is the same solve on a window of unit conductance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._options import OmniscapeOptions
from ._window import Factorised

__all__ = [
    "Context",
    "Partial",
    "batches",
    "correction_array",
    "solve_batch",
    "targets",
]


@dataclass(frozen=True)
class Context:
    """Everything a worker needs to solve targets (read-only)."""

    conductance: np.ndarray  # NaN where the cell is not passable
    source: np.ndarray  # >= 0, zero where nodata or under the threshold
    present: tuple[np.ndarray, ...]  # condition layers (conditional runs)
    future: tuple[np.ndarray, ...]  # the targets' condition layers
    options: OmniscapeOptions
    correction: np.ndarray | None
    targets: np.ndarray  # (n, 3): row, column, strength
    # a window of the landscape (dask tasks): where its arrays start, and the
    # landscape's shape; target coordinates stay those of the landscape
    origin: tuple[int, int] = (0, 0)
    full_shape: tuple[int, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the whole landscape."""
        if self.full_shape is not None:
            return self.full_shape
        return self.conductance.shape

    def take(self, arr: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """``arr[y0:y1, x0:x1]`` in landscape coordinates."""
        oy, ox = self.origin
        return arr[y0 - oy : y1 - oy, x0 - ox : x1 - ox]

    def window(self, tg: np.ndarray) -> Context:
        """A context holding only the part of the grids that targets ``tg`` read."""
        d = max(self.options.reach, self.options.block_radius)
        nrows, ncols = self.shape
        r0 = max(int(tg[:, 0].min()) - d, 0)
        r1 = min(int(tg[:, 0].max()) + d, nrows - 1) + 1
        c0 = max(int(tg[:, 1].min()) - d, 0)
        c1 = min(int(tg[:, 1].max()) + d, ncols - 1) + 1

        def cut(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(self.take(a, r0, r1, c0, c1))

        return Context(
            cut(self.conductance),
            cut(self.source),
            tuple(cut(a) for a in self.present),
            tuple(cut(a) for a in self.future),
            self.options,
            self.correction,
            tg,
            (r0, c0),
            self.shape,
        )


@dataclass(frozen=True)
class Partial:
    """Current summed over a batch of targets, on the batch's bounding box."""

    row0: int
    col0: int
    current: np.ndarray
    flow_potential: np.ndarray | None
    n_targets: int
    seconds: float


def targets(source: np.ndarray, options: OmniscapeOptions) -> np.ndarray:
    """Block centres with their summed source strength (rows with strength > 0)."""
    nrows, ncols = source.shape
    br, bs = options.block_radius, options.block_size
    ys = np.arange(br, nrows - br, bs)
    xs = np.arange(br, ncols - br, bs)
    if not len(ys) or not len(xs):
        return np.zeros((0, 3))
    # every target's block lies inside the grid: sum the blocks by reshaping
    ny, nx = len(ys), len(xs)
    blocks = source[: ny * bs, : nx * bs].reshape(ny, bs, nx, bs)
    strength = blocks.sum(axis=(1, 3))
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    out = np.column_stack([yy.ravel(), xx.ravel(), strength.ravel()])
    return out[out[:, 2] > 0]


def _bounds(
    y: int, x: int, reach: int, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    nrows, ncols = shape
    return (
        max(y - reach, 0),
        min(y + reach, nrows - 1) + 1,
        max(x - reach, 0),
        min(x + reach, ncols - 1) + 1,
    )


def _disc(
    y0: int, y1: int, x0: int, x1: int, y: int, x: int, radius: int
) -> np.ndarray:
    """Cells of the window ``[y0:y1, x0:x1]`` within ``radius`` of ``(y, x)``."""
    dy = (np.arange(y0, y1) - y)[:, None]
    dx = (np.arange(x0, x1) - x)[None, :]
    return np.sqrt(dy * dy + dx * dx) <= radius


def _median(values: np.ndarray) -> float:
    v = values[~np.isnan(values)]
    return float(np.median(v)) if v.size else math.nan


def _mode(values: np.ndarray) -> float:
    """Most frequent value, ties to the one that reached the count first.

    ``values`` are visited column by column (Julia's order), as StatsBase's
    ``mode`` does.
    """
    counts: dict[float, int] = {}
    best, best_n = math.nan, 0
    for v in values.ravel(order="F"):
        if np.isnan(v):
            continue
        n = counts.get(float(v), 0) + 1
        counts[float(v)] = n
        if n > best_n:
            best, best_n = float(v), n
    return best


def _match_conditions(
    ctx: Context, src: np.ndarray, y: int, x: int, window: tuple[int, int, int, int]
) -> None:
    """Zero the sources whose condition does not match the target's (in place)."""
    cond = ctx.options.conditions
    assert cond is not None
    nrows, ncols = ctx.shape
    br = ctx.options.block_radius
    y0, y1, x0, x1 = window
    by = slice(y - br, min(y + br, nrows - 1) + 1)
    bx = slice(x - br, min(x + br, ncols - 1) + 1)
    for k, comp in enumerate(cond.comparisons):
        present = ctx.take(ctx.present[k], y0, y1, x0, x1)
        target_layer = ctx.future[k] if cond.uses_future(k) else ctx.present[k]
        block = ctx.take(target_layer, by.start, by.stop, bx.start, bx.stop)
        with np.errstate(invalid="ignore"):
            if comp == "within":
                diff = present - _median(block)
                drop = (diff > cond.upper[k]) | (diff < cond.lower[k])
            else:
                drop = (present != _mode(block)) & ~np.isnan(present)
        src[drop[: src.shape[0], : src.shape[1]]] = 0.0


def window_sources(
    ctx: Context,
    y: int,
    x: int,
    strength: float,
    source: np.ndarray | None = None,
    *,
    match: bool = True,
) -> np.ndarray:
    """Source currents of the window of target ``(y, x)``.

    With ``match`` (and conditions set) sources whose condition does not
    match the target's are removed after the rescaling, as Omniscape.jl does.
    """
    opts = ctx.options
    shape = ctx.shape if source is None else source.shape
    window = _bounds(y, x, opts.reach, shape)
    y0, y1, x0, x1 = window
    vals = (
        ctx.take(ctx.source, y0, y1, x0, x1) if source is None else source[y0:y1, x0:x1]
    )
    src = np.where(_disc(y0, y1, x0, x1, y, x, opts.radius), vals, 0.0)
    d, br = opts.reach, opts.block_radius
    nrows, ncols = ctx.shape
    src[
        max(d - br, 0) : min(d + br, nrows - 1) + 1,
        max(d - br, 0) : min(d + br, ncols - 1) + 1,
    ] = 0.0
    positive = src > 0
    total = float(src[positive].sum())
    if total > 0:
        src[positive] = src[positive] * strength / total
    if match and opts.conditions is not None:
        _match_conditions(ctx, src, y, x, window)
    return src


def _factor(
    opts: OmniscapeOptions, cond: np.ndarray, ground: tuple[int, int]
) -> Factorised:
    return Factorised(
        cond,
        ground,
        four_neighbors=opts.connect_four_neighbors_only,
        solver=opts.solver,
        dtype=np.float32 if opts.precision == "single" else np.float64,
    )


def _solve(
    opts: OmniscapeOptions, cond: np.ndarray, src: np.ndarray, ground: tuple[int, int]
) -> np.ndarray:
    return _factor(opts, cond, ground).current(src)


def correction_array(ctx: Context) -> np.ndarray:
    """Omniscape.jl's block-artifact correction for a window of unit conductance.

    The current when every cell of the block is a target on its own (the
    current of one target with sources of 1 / (n - 1), shifted over the
    block and summed) divided by the current of one target carrying the
    whole block's strength; cells without current get 1.
    """
    opts = ctx.options
    d, r, br, bs = opts.reach, opts.radius, opts.block_radius, opts.block_size
    w = 2 * d + 1
    ones = np.ones((w, w))
    inner = _disc(0, w, 0, w, d, d, r)
    null_src = np.where(inner, 1.0, 0.0)
    n_sources = float(inner.sum())
    null_src[d, d] = 0.0
    null_src[null_src != 0] = 1.0 / (n_sources - 1.0)
    # one target carrying the whole block (conditions play no part here: the
    # verification case of conditional connectivity is reproduced this way)
    blocked = window_sources(ctx, d, d, float(bs * bs), ones, match=False)
    cond = np.where(_disc(0, w, 0, w, d, d, d), 1.0, np.nan)
    block_null = _solve(opts, cond, blocked, (d, d))
    null = _solve(opts, cond, null_src, (d, d))
    total = np.zeros((w + bs - 1, w + bs - 1))
    for i in range(bs):
        for j in range(bs):
            total[i : i + w, j : j + w] += null
    total = total[br : br + w, br : br + w]
    total[block_null == 0] = 0.0
    total[total == 0] = 1.0
    block_null[block_null == 0] = 1.0
    return total / block_null


def _crop_correction(ctx: Context, y: int, x: int, h: int, w: int) -> np.ndarray:
    corr = ctx.correction
    assert corr is not None
    nrows, ncols = ctx.shape
    d = ctx.options.reach
    lx, ux = 0, corr.shape[1]
    ly, uy = 0, corr.shape[0]
    if x >= ncols - d:
        ux = w
    if x < d:
        lx = ux - w
    if y >= nrows - d:
        uy = h
    if y < d:
        ly = uy - h
    return corr[ly:uy, lx:ux]


def solve_batch(ctx: Context, index: np.ndarray) -> Partial:
    """Solve targets ``ctx.targets[index]``; current on their bounding box.

    BLAS runs single-threaded here: LAPACK's threaded band Cholesky on
    windows this small is several times slower (badly so on a busy
    machine), and parallelism comes from the batches instead.
    """
    from .._solver import _single_thread_blas

    with _single_thread_blas():
        return _solve_batch(ctx, index)


def _solve_batch(ctx: Context, index: np.ndarray) -> Partial:
    import time

    start = time.perf_counter()
    opts = ctx.options
    d = opts.reach
    tg = ctx.targets[np.asarray(index, dtype=np.int64)]
    dtype = np.float32 if opts.precision == "single" else np.float64
    if not len(tg):
        return Partial(0, 0, np.zeros((0, 0), dtype), None, 0, 0.0)
    nrows, ncols = ctx.shape
    ys, xs = tg[:, 0].astype(int), tg[:, 1].astype(int)
    r0, r1 = max(int(ys.min()) - d, 0), min(int(ys.max()) + d, nrows - 1) + 1
    c0, c1 = max(int(xs.min()) - d, 0), min(int(xs.max()) + d, ncols - 1) + 1
    cum = np.zeros((r1 - r0, c1 - c0), dtype)
    fp = np.zeros_like(cum) if opts.needs_flow_potential else None
    unit: dict[tuple[int, ...], Factorised] = {}
    for y, x, strength in zip(ys, xs, tg[:, 2], strict=True):
        y0, y1, x0, x1 = _bounds(int(y), int(x), d, ctx.shape)
        src = window_sources(ctx, int(y), int(x), float(strength))
        ground = (int(y) - y0, int(x) - x0)
        cond = ctx.take(ctx.conductance, y0, y1, x0, x1)
        cond = np.where(_disc(y0, y1, x0, x1, int(y), int(x), d), cond, np.nan)
        cur = _solve(opts, cond, src, ground)
        flow = None
        if fp is not None:
            # unit conductance: one factorisation per window shape and ground
            key = (y1 - y0, x1 - x0, *ground)
            if key not in unit:
                if len(unit) >= 32:  # edge windows vary; keep the cache small
                    unit.clear()
                unit[key] = _factor(opts, np.ones((y1 - y0, x1 - x0)), ground)
            flow = unit[key].current(src)
        if ctx.correction is not None:
            corr = _crop_correction(ctx, int(y), int(x), y1 - y0, x1 - x0)
            cur = cur * corr
            if flow is not None:
                flow = flow * corr
        cum[y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] += cur.astype(dtype)
        if fp is not None and flow is not None:
            fp[y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] += flow.astype(dtype)
    return Partial(r0, c0, cum, fp, len(tg), time.perf_counter() - start)


def batches(tg: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Target indices grouped into spatially compact batches of about ``batch_size``.

    Targets are grouped by square tiles of about ``batch_size`` targets so a
    batch's partial map covers a small bounding box.
    """
    n = len(tg)
    if n == 0:
        return []
    side = max(1, math.isqrt(max(int(batch_size), 1)))
    ys, xs = tg[:, 0], tg[:, 1]
    _, iy = np.unique(ys, return_inverse=True)
    ux, ix = np.unique(xs, return_inverse=True)
    tile = (iy // side) * (len(ux) // side + 1) + ix // side
    order = np.lexsort((iy, ix, tile))
    cuts = np.flatnonzero(np.diff(tile[order])) + 1
    return [np.asarray(part) for part in np.split(order, cuts)]
