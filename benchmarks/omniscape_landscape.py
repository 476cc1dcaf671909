"""The 10 M-cell transboundary landscape and a stratified sample of its blocks.

Helpers of ``bench_omniscape.py --landscape`` and ``--window-scaling``
(imported from the script's folder; not part of the package).

The landscape is the leopard/tiger range across the border (Primorye,
Jilin, Heilongjiang): a 3,163 x 3,163 grid of 100 m cells (100,000 km²) in
UTM 52N whose south-east corner is that of the bundled rasters'
box (lon 129.8-132.2 E, lat 42.2-44.4 N), so it reaches west to about
128.4 E (Yanbian, Jilin) and north to about 45.05 N (Heilongjiang).

* Inside the bundled box (about 48 % of the grid) the resistance is real:
  the project's leopard rules (``corridors.resistance``: MODIS land cover
  reclassified, ETOPO1 slope, settlements with distance decay, rivers) on
  ``data/boundaries``, with the sea impassable (GSHHG land polygons).
* Outside it the bundled rasters do not reach, so the resistance is
  **synthetic**: a smooth Gaussian random field (2 and 10 km scales)
  mapped by quantiles onto the distribution of the real land cells'
  resistance, without sea (the real landscape there is inland).  It has
  the real values' distribution but not their geography.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = ROOT / "data" / "boundaries"
#: south-east corner of the bundled rasters' box in UTM 52N (metres)
SE_CORNER = (764_198.5, 4_672_292.1)


def transboundary_resistance(
    cell: float = 100.0, side: int = 3163, seed: int = 11
) -> tuple[np.ndarray, np.ndarray]:
    """Resistance (NaN = impassable) and the mask of cells from real rasters."""
    import geopandas as gpd
    import pyproj

    from trapscape._raster import GridSpec, rasterize_geometries
    from trapscape.corridors import resistance as R

    x1, y0 = SE_CORNER
    grid = GridSpec(
        x1 - side * cell, y0 + side * cell, cell, side, side, pyproj.CRS(32652)
    )
    rasters = {
        "landcover": BOUNDARIES / "landcover.tif",
        "elevation": BOUNDARIES / "elevation.tif",
        "settlements": BOUNDARIES / "settlements.gpkg",
        "rivers": BOUNDARIES / "rivers.gpkg",
    }
    layers = R._project_layers(
        rasters,
        R.LEOPARD_IGBP_RESISTANCE,
        settlement_resistance=50.0,
        settlement_decay=1500.0,
        river_resistance=30.0,
        river_width=200.0,
    )
    res = np.asarray(
        R.resistance_surface(grid, layers=layers, combine="sum", base=0.0).values
    )
    real = np.isfinite(R._warp(rasters["landcover"], grid, nearest=True))
    land = rasterize_geometries(
        gpd.read_file(BOUNDARIES / "land.gpkg").to_crs(grid.crs).geometry,
        grid,
        values=1,
        fill=0,
        all_touched=True,
    ).astype(bool)
    res[real & ~land] = np.nan
    values = np.sort(res[real & np.isfinite(res)])
    res[~real] = _synthetic(values, (side, side), cell, seed)[~real]
    return res, real


def _synthetic(
    values: np.ndarray, shape: tuple[int, int], cell: float, seed: int
) -> np.ndarray:
    """A smooth random field with the distribution of ``values`` (sorted)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = np.zeros(shape, dtype=np.float32)
    for scale_m, weight in ((2_000.0, 1.0), (10_000.0, 1.0)):
        noise = rng.standard_normal(shape, dtype=np.float32)
        part = ndimage.gaussian_filter(noise, sigma=scale_m / cell)
        field += weight * part / float(part.std() or 1.0)
    # quantile mapping: the k-th smallest cell gets the k-th quantile of values
    ranks = np.empty(field.size, dtype=np.int64)
    ranks[np.argsort(field, axis=None, kind="stable")] = np.arange(field.size)
    q = (ranks * (len(values) - 1)) // max(field.size - 1, 1)
    return values[q].reshape(shape)


def cached_landscape(path: str | None, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`transboundary_resistance`, kept in ``path`` (.npz) if given."""
    if path and os.path.exists(path):
        with np.load(path) as npz:
            return npz["resistance"], npz["real"]
    res, real = transboundary_resistance(**kw)
    if path:
        np.savez(path, resistance=res, real=real)
    return res, real


def block_for(radius: int) -> int:
    """The block size the corridors step uses for ``radius`` cells."""
    from trapscape.corridors.omniscape.crossing import _block_for

    return _block_for(radius)


# ---------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Sample:
    """A stratified random sample of target blocks."""

    index: np.ndarray  # indices into ctx.targets
    stratum: np.ndarray  # stratum of each sampled target
    counts: dict[int, int]  # targets per stratum in the whole grid
    labels: dict[int, str]


def strata(ctx: Any, real: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Stratum of every target: real/synthetic x passable share of its window."""
    from scipy import ndimage

    d = ctx.options.reach
    valid = np.isfinite(ctx.conductance).astype(np.float32)
    share = ndimage.uniform_filter(valid, size=2 * d + 1, mode="constant")
    ys = ctx.targets[:, 0].astype(int)
    xs = ctx.targets[:, 1].astype(int)
    s = share[ys, xs]
    cls = np.digitize(s, [0.5, 0.95])  # 0: < 50 %, 1: 50-95 %, 2: >= 95 %
    region = real[ys, xs].astype(int)  # 1: real rasters
    names = ("<50% passable", "50-95% passable", ">=95% passable")
    labels = {
        2 * c + r: f"{('synthetic', 'real')[r]}, {names[c]}"
        for c in range(3)
        for r in range(2)
    }
    return 2 * cls + region, labels


def stratified_sample(
    ctx: Any, real: np.ndarray, fraction: float, seed: int = 3, minimum: int = 3
) -> Sample:
    """About ``fraction`` of the targets, allocated to strata by their size."""
    rng = np.random.default_rng(seed)
    st, labels = strata(ctx, real)
    picked: list[np.ndarray] = []
    counts = {}
    for s in np.unique(st):
        members = np.flatnonzero(st == s)
        counts[int(s)] = len(members)
        n = min(len(members), max(minimum, round(fraction * len(members))))
        picked.append(rng.choice(members, size=n, replace=False))
    index = np.sort(np.concatenate(picked))
    return Sample(index, st[index], counts, labels)


def stratified_total(sample: Sample, per_target: np.ndarray) -> float:
    """Estimate of the sum over all targets from the sampled values."""
    total = 0.0
    for s, n in sample.counts.items():
        vals = per_target[sample.stratum == s]
        if len(vals):
            total += n * float(vals.mean())
    return total


# ------------------------------------------------------------- measuring


def serial_costs(ctx: Any, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """CPU and wall seconds of each sampled target solved alone (1 process)."""
    from trapscape.corridors.omniscape._engine import solve_batch

    cpu = np.zeros(len(sample.index))
    wall = np.zeros(len(sample.index))
    for k, i in enumerate(sample.index):
        c0, w0 = time.process_time(), time.perf_counter()
        solve_batch(ctx, np.array([i]))
        cpu[k] = time.process_time() - c0
        wall[k] = time.perf_counter() - w0
    return cpu, wall


def _worker_usage() -> tuple[float, int]:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


@dataclass(frozen=True)
class ClusterRun:
    workers: int
    wall: float
    task_seconds: float  # sum of the tasks' own solve time (worker wall)
    worker_cpu: float  # CPU of the worker processes during the run
    peak_rss: list[int]  # bytes, per worker
    noop_ms: float  # scheduler round trip of an empty task


def cluster_run(ctx: Any, sample: Sample, workers: int) -> ClusterRun:
    """The sampled targets, one task each, on a ``workers``-process LocalCluster."""
    import importlib
    import logging
    import sys

    import cloudpickle
    from dask.distributed import Client, LocalCluster

    from trapscape.corridors.omniscape._distributed import DistributedSolve

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        address = cluster.scheduler_address
        # this module is not importable on the workers: ship its functions
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        # warm up (imports on the workers), then time empty tasks
        client.run(importlib.import_module, "trapscape.corridors.omniscape._engine")
        t0 = time.perf_counter()
        client.gather(client.map(abs, range(400), pure=False))
        noop = (time.perf_counter() - t0) / 400 * 1e3
        before = client.run(_worker_usage)
        t0 = time.perf_counter()
        run = DistributedSolve(
            ctx,
            [np.array([i]) for i in sample.index],
            workers=workers,
            scheduler=address,
            progress=False,
        )
        task_seconds = sum(part.seconds for part in run)
        wall = time.perf_counter() - t0
        after = client.run(_worker_usage)
    return ClusterRun(
        workers,
        wall,
        task_seconds,
        sum(after[w][0] - before[w][0] for w in after),
        [after[w][1] for w in after],
        noop,
    )


# ------------------------------------------------------ window scaling


def scaled_window(
    res: np.ndarray, y: int, x: int, reach_100m: int, radius: int
) -> np.ndarray:
    """The 100 m window around ``(y, x)`` resampled to ``2 * radius + 1`` cells.

    The same ground (radius ``reach_100m`` x 100 m) at a finer cell size,
    nearest neighbour: what a finer grid's window of that radius in metres
    holds (without the finer grid's extra detail).
    """
    win = res[y - reach_100m : y + reach_100m + 1, x - reach_100m : x + reach_100m + 1]
    w = 2 * radius + 1
    idx = np.minimum((np.arange(w) + 0.5) * win.shape[0] / w, win.shape[0] - 1)
    idx = idx.astype(int)
    return win[np.ix_(idx, idx)]


def window_costs(
    cond: np.ndarray, radius: int, solver: str
) -> tuple[float, float, float, float, int]:
    """CPU seconds of one target window and its peak traced memory.

    Returns (factorise the conductance window, solve it, factorise the unit
    window (flow potential; once per batch), solve the unit window, peak
    bytes traced by tracemalloc during the conductance solve).
    """
    import tracemalloc

    from trapscape.corridors._solver import _single_thread_blas
    from trapscape.corridors.omniscape._engine import _disc
    from trapscape.corridors.omniscape._window import Factorised

    w = 2 * radius + 1
    inside = _disc(0, w, 0, w, radius, radius, radius)
    cond = np.where(inside, cond, np.nan)
    src = np.where(inside & np.isfinite(cond), cond, 0.0)
    src[radius, radius] = 0.0
    src *= 1.0 / max(float(src.sum()), 1e-300)
    out = []
    with _single_thread_blas():
        tracemalloc.start()
        for c in (cond, np.where(inside, 1.0, np.nan)):
            t0 = time.process_time()
            fact = Factorised(c, (radius, radius), solver=solver)
            t1 = time.process_time()
            fact.current(src)
            out += [t1 - t0, time.process_time() - t1]
            if len(out) == 2:
                peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out[0], out[1], out[2], out[3], peak


def fit_power(n: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """``t = a * n**b`` by least squares on logs: (a, b)."""
    b, log_a = np.polyfit(np.log(n), np.log(t), 1)
    return math.exp(log_a), float(b)


def with_options(ctx: Any, **changes: Any) -> Any:
    """``ctx`` with some options replaced."""
    return replace(ctx, options=replace(ctx.options, **changes))


# ------------------------------------------------------------- reports


def _opts(radius: int) -> Any:
    from trapscape.corridors.omniscape import OmniscapeOptions

    # the corridors step's run: sources from resistance, flow potential
    return OmniscapeOptions(
        radius=radius,
        block_size=block_for(radius),
        source_from_resistance=True,
        calc_flow_potential=True,
        calc_normalized_current=True,
    )


def _pct(v: np.ndarray) -> str:
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return f"median {p50:.3f}, p10 {p10:.3f}, p90 {p90:.3f}, max {v.max():.3f}"


def _print_strata(sample: Sample, cpu: np.ndarray, wall: np.ndarray) -> None:
    print("  stratum                             targets  sampled  CPU s/target")
    for s, n in sorted(sample.counts.items()):
        m = sample.stratum == s
        print(
            f"  {sample.labels[s]:<35} {n:>7} {int(m.sum()):>8}  "
            f"{_pct(cpu[m]) if m.any() else '-'}"
        )
    print(f"  all sampled windows: CPU s {_pct(cpu)}")
    print(f"  all sampled windows: wall s {_pct(wall)}")


def _write_seconds(res: np.ndarray) -> tuple[float, float]:
    """Seconds and MB of writing ``res`` as a float32 GeoTIFF (deflate)."""
    import tempfile

    import rasterio
    from rasterio.transform import from_origin

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cur.tif"
        t0 = time.perf_counter()
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=res.shape[1],
            height=res.shape[0],
            count=1,
            dtype="float32",
            crs="EPSG:32652",
            transform=from_origin(0, 0, 100, 100),
            compress="deflate",
            tiled=True,
        ) as dst:
            dst.write(res.astype(np.float32), 1)
        return time.perf_counter() - t0, path.stat().st_size / 1e6


def landscape_main(args: Any) -> None:
    """``--landscape``: sampled blocks of the 10 M-cell grid, 1 vs 2 workers."""
    import resource

    from trapscape.corridors.omniscape.core import prepare_context

    t0 = time.perf_counter()
    res, real = cached_landscape(args.cache)
    n_cells = res.size
    print(
        f"landscape {res.shape[0]} x {res.shape[1]} = {n_cells / 1e6:.2f} M cells of "
        f"100 m; real rasters on {real.mean():.1%}, synthetic beyond; passable "
        f"{np.isfinite(res).mean():.1%}; built/read in {time.perf_counter() - t0:.1f} s"
    )
    radius = max(1, round(args.radius_m / 100.0))
    t0 = time.perf_counter()
    ctx, _ = prepare_context(res, None, options=_opts(radius))
    n_t = len(ctx.targets)
    print(
        f"radius {radius} cells ({args.radius_m / 1e3:g} km), block "
        f"{ctx.options.block_size}, window {2 * radius + 1}^2 cells; {n_t} target "
        f"blocks with source; context {time.perf_counter() - t0:.1f} s"
    )
    sample = stratified_sample(ctx, real, args.sample)
    n = len(sample.index)
    print(f"stratified random sample: {n} targets ({n / n_t:.2%}), one task each")
    cpu, wall = serial_costs(ctx, sample)
    print("per-window cost, 1 process (conductance + flow-potential solves):")
    _print_strata(sample, cpu, wall)
    total_cpu = stratified_total(sample, cpu)
    rate1 = n / wall.sum()
    print(
        f"1 process: {rate1:.2f} blocks/s ({wall.sum():.1f} s wall, {cpu.sum():.1f} "
        f"s CPU; wall/CPU {wall.sum() / cpu.sum():.2f} from the shared cores)"
    )
    runs = {w: cluster_run(ctx, sample, w) for w in (1, 2)}
    for w, run in runs.items():
        over = (run.wall * w - run.task_seconds) / n
        print(
            f"{w}-worker LocalCluster: {n / run.wall:.2f} blocks/s ({run.wall:.1f} s "
            f"wall); per-window wall on the worker {run.task_seconds / n:.3f} s = "
            f"{run.task_seconds / wall.sum():.2f}x the 1-process window; worker CPU "
            f"{run.worker_cpu / n:.3f} s/block; overhead {over * 1e3:.0f} ms/task "
            f"(empty task round trip {run.noop_ms:.1f} ms); cores received "
            f"{run.worker_cpu / run.wall:.2f} (worker CPU / wall); peak RSS per worker "
            + ", ".join(f"{b / 2**20:.0f} MiB" for b in run.peak_rss)
        )
    r1, r2 = runs[1], runs[2]
    print(
        f"throughput ratio 2 workers / 1 worker = {r1.wall / r2.wall:.2f}; "
        f"1 worker / 1 process = {wall.sum() / r1.wall:.2f}"
    )
    print(
        f"whole grid ({n_t} targets), stratified from the sample: {total_cpu:.0f} s "
        f"CPU = {total_cpu / 3600:.2f} CPU-hours ({total_cpu / n_t:.3f} s/block); "
        f"wall at this run's load: 1 process "
        f"{total_cpu * wall.sum() / cpu.sum() / 3600:.2f} h, 2 workers "
        f"{total_cpu * r2.wall / cpu.sum() / 3600:.2f} h"
    )
    secs, mb = _write_seconds(np.nan_to_num(res))
    print(
        f"I/O: one {n_cells / 1e6:.0f} M-cell float32 GeoTIFF (deflate) written in "
        f"{secs:.1f} s ({mb:.0f} MB); peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
    )


def _window_centres(
    res: np.ndarray, reach: int, k: int, seed: int
) -> list[tuple[int, int]]:
    """``k`` random window centres, every window inside the grid and >= 50 % land."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, int]] = []
    while len(out) < k:
        y, x = (int(v) for v in rng.integers(reach, res.shape[0] - reach, 2))
        win = res[y - reach : y + reach + 1, x - reach : x + reach + 1]
        if np.isfinite(win).mean() >= 0.5 and np.isfinite(res[y, x]):
            out.append((y, x))
    return out


#: radii (cells) of a 10 km radius at 400, 200, 100, 60 and 30 m cells
SCALING_RADII = (25, 50, 100, 166, 333)


def scaling_main(args: Any) -> None:
    """``--window-scaling``: window cost vs window cells; the 30 m estimate."""
    res, _ = cached_landscape(args.cache)
    reach = max(1, round(args.radius_m / 100.0))
    centres = _window_centres(res, reach, 4, seed=5)
    print(
        f"window cost vs cell size: the same {args.radius_m / 1e3:g} km-radius ground "
        f"around {len(centres)} random centres of the 100 m landscape (2 above "
        "100k cells), resampled; CPU seconds, median over the windows; peak = "
        "RSS of a fresh process over its RSS after imports"
    )
    print(
        "  radius  cells/window  solver        factor   solve  unit-factor  "
        "unit-solve  per block*  peak MiB"
    )
    rows: dict[str, list[tuple[int, float, float]]] = {}
    for radius in SCALING_RADII:
        w = 2 * radius + 1
        wins = [scaled_window(res, y, x, reach, radius) for y, x in centres]
        if w * w > 100_000:
            wins = wins[:2]
        for solver in ("cholmod", "cg+amg"):
            med, peak = _child_costs(wins, radius, solver)
            if med is None:
                print(f"  {radius:>6}  {w * w:>12,}  {solver}: did not converge")
                continue
            # per block in a batch of 64 (the unit window factorised once)
            per_block = med[0] + med[1] + med[3] + med[2] / 64
            used = _solver_name(radius, solver)
            rows.setdefault(used, []).append((w * w, per_block, peak))
            print(
                f"  {radius:>6}  {w * w:>12,}  {used:<12} {med[0]:>7.3f} {med[1]:>7.3f}"
                f" {med[2]:>12.3f} {med[3]:>11.3f} {per_block:>11.3f} "
                f"{peak / 2**20:>9.0f}"
            )
    print("  * conductance factor + solve + unit solve + unit factor / 64")
    for used, pts in rows.items():
        if len(pts) >= 2:
            n, t, _ = np.array(pts).T
            a, b = fit_power(n, t)
            print(f"  {used}: CPU per block ~ {a:.3g} * cells**{b:.2f}")
    _paper_estimate(rows, reach)


def _child_costs(
    wins: list[np.ndarray], radius: int, solver: str
) -> tuple[np.ndarray | None, float]:
    """:func:`_median_costs` in a fresh process: (median, peak bytes)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        base = pool.submit(_median_costs, [], radius, solver).result()[1]
        med, rss = pool.submit(_median_costs, wins, radius, solver).result()
    return med, max(rss - base, 0)


def _median_costs(
    wins: list[np.ndarray], radius: int, solver: str
) -> tuple[np.ndarray | None, int]:
    """Median window costs (``None`` if the solver fails) and this process's peak RSS."""
    import resource

    import trapscape.corridors.omniscape._window  # noqa: F401  (imports first)
    from trapscape.errors import ComputationError

    def rss() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    if not wins:
        return None, rss()
    try:
        costs = [window_costs(win, radius, solver) for win in wins]
    except ComputationError as err:
        print(f"  radius {radius}, {solver}: {err}")
        return None, rss()
    return np.median(np.array(costs), axis=0), rss()


def _solver_name(radius: int, solver: str) -> str:
    """``band`` / ``direct LU`` (``cholmod``: exact) or ``cg+amg`` (Omniscape.jl's)."""
    from trapscape.corridors.omniscape._window import BAND_MAX_WIDTH

    if solver == "cg+amg":
        return "cg+amg"
    return "band" if 2 * radius + 1 <= BAND_MAX_WIDTH else "direct LU"


def _paper_estimate(
    rows: dict[str, list[tuple[int, float, float]]], reach: int
) -> None:
    """CPU-hours of 110 M cells at 30 m (radius in metres kept), from the rows."""
    cells_30 = 110e6
    radius = round(reach * 100 / 30)
    w = 2 * radius + 1
    for used, pts in rows.items():
        for n, per_block, peak in pts:
            if n != w * w:
                continue
            for block in (block_for(radius), 25):
                n_targets = cells_30 / block**2 * SOURCE_BLOCKS
                cpu_h = n_targets * per_block / 3600
                print(
                    f"110 M cells at 30 m, {used}, radius {radius}, block {block}: "
                    f"~{n_targets:,.0f} targets x {per_block:.2f} s = {cpu_h:,.0f} "
                    f"CPU-hours; 64 cores at perfect scaling {cpu_h / 64:.1f} h; "
                    f"window peak {peak / 2**20:.0f} MiB"
                )


#: share of the blocks that carry source on the 100 m landscape (14,515 of
#: 126 x 126; measured by --landscape)
SOURCE_BLOCKS = 14_515 / 126**2
