"""Benchmark: omnidirectional current, per window and on 1 vs 2 dask workers.

1. Per-window solve: the window circuit of ``--radius`` cells solved exactly
   (``solver="cholmod"``: band Cholesky) against Omniscape.jl's default
   (``solver="cg+amg"``: Circuitscape's conjugate gradients with a
   smoothed-aggregation multigrid preconditioner, reproduced); prints
   milliseconds and the ratio.
2. Throughput: the whole moving-window run (cumulative current and flow
   potential) in one process and on a 2-worker dask LocalCluster started
   beforehand; prints targets per second and the 2-worker / 1-process ratio
   (2 cores shared with other work will not show a clean 2x), and checks
   the maps are bit-identical.

The resistance is a synthetic landscape (a smoothed random field, 1-100,
with a river-like barrier): the default grid is 300 x 300 cells (a run under
about two minutes); ``--full`` runs the 10 M-cell grid of the issue
(3,163 x 3,163 cells at 100 m, the leopard/tiger landscape), which takes
hours on two cores.

``--landscape`` measures the 10 M-cell transboundary landscape of the issue
(3,163 x 3,163 cells at 100 m: real resistance from ``data/boundaries`` where
the bundled rasters reach, synthetic beyond; see ``omniscape_landscape.py``)
on a stratified random sample of its target blocks (``--sample``, 1 % by
default): the cost of each sampled window (CPU and wall, by stratum), then
the same blocks in 1 process, on a 1-worker and on a 2-worker LocalCluster
(blocks/s, ratios, scheduler overhead per task, peak memory per worker) and
the whole grid extrapolated from the per-block CPU: 77 targets at
``--sample 0.005``, 5-20 minutes depending on the machine's load.

``--window-scaling`` times single windows of the same ground (10 km radius)
at finer cell sizes (radius 25 to 333 cells: 400 m to 30 m cells), fits the
cost's exponent in the window's cells and prints the estimate for 110 M
cells at 30 m on 64 cores (docs/scaling.md).  About 10 minutes on a
loaded machine (the 333-cell direct LU dominates).

The machine's cores are shared: the load average is printed alongside;
CPU seconds per block are the load-independent numbers.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_omniscape.py
        [--size 300] [--radius 16] [--block 5] [--full] [--no-dask]
        [--landscape [--sample 0.01] [--cache FILE.npz]] [--window-scaling]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def landscape(n: int, seed: int = 7) -> np.ndarray:
    """A smooth random resistance surface (1-100) with a barrier and gaps."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal((n, n)), sigma=max(n / 40, 2))
    field = (field - field.min()) / (np.ptp(field) or 1.0)
    res = 1.0 + 99.0 * field**2
    row = n // 2
    res[row - 1 : row + 2, :] = 500.0  # a river along the middle...
    for c in range(n // 8, n, n // 4):
        res[row - 1 : row + 2, c : c + 3] = 2.0  # ...with a few crossings
    return res


def window_bench(radius: int, n: int = 20) -> tuple[float, float]:
    """Milliseconds per window: exact (band Cholesky) and cg+amg."""
    from trapscape.corridors._solver import _single_thread_blas
    from trapscape.corridors.omniscape._window import Factorised

    rng = np.random.default_rng(1)
    w = 2 * radius + 1
    times = {}
    for solver in ("cholmod", "cg+amg"):
        start = time.perf_counter()
        with _single_thread_blas():
            for _ in range(n):
                cond = rng.uniform(0.01, 1.0, (w, w))
                src = rng.uniform(0.0, 1.0, (w, w))
                Factorised(cond, (radius, radius), solver=solver).current(src)
        times[solver] = (time.perf_counter() - start) / n * 1e3
    return times["cholmod"], times["cg+amg"]


def _load() -> str:
    import os

    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1, 5, 15 min)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=300, help="grid side in cells")
    ap.add_argument("--radius", type=int, default=16, help="window radius in cells")
    ap.add_argument("--block", type=int, default=5, help="block size in cells")
    ap.add_argument("--full", action="store_true", help="the 10 M-cell grid (hours)")
    ap.add_argument("--no-dask", action="store_true", help="skip the 2-worker run")
    ap.add_argument(
        "--window-radii", default="16,33,50", help="radii of the per-window timing"
    )
    ap.add_argument(
        "--landscape", action="store_true", help="10 M-cell landscape, sampled blocks"
    )
    ap.add_argument("--sample", type=float, default=0.01, help="share of the blocks")
    ap.add_argument("--radius-m", type=float, default=10_000.0, help="radius (m)")
    ap.add_argument("--cache", default=None, help=".npz keeping the landscape")
    ap.add_argument(
        "--window-scaling", action="store_true", help="window cost vs cell size"
    )
    args = ap.parse_args()
    if args.landscape or args.window_scaling:
        from omniscape_landscape import landscape_main, scaling_main

        print(f"load average at start: {_load()}")
        if args.landscape:
            landscape_main(args)
        if args.window_scaling:
            scaling_main(args)
        print(f"load average at end: {_load()}")
        return
    size = 3163 if args.full else args.size

    from trapscape.corridors.omniscape import omniscape

    for r in (int(v) for v in args.window_radii.split(",")):
        band, sparse = window_bench(r, n=10)
        print(
            f"per-window solve, radius {r} ({(2 * r + 1) ** 2} cells): "
            f"band Cholesky {band:.2f} ms, cg+amg (Omniscape.jl's) {sparse:.2f} ms, "
            f"ratio {sparse / band:.1f}x"
        )
    res = landscape(size)
    kw = {
        "radius": args.radius,
        "block_size": args.block,
        "calc_flow_potential": True,
        "calc_normalized_current": True,
        "batch_size": 64,
    }
    cpu0 = time.process_time()
    one = omniscape(res, None, **kw)
    cpu = time.process_time() - cpu0
    rate1 = one.n_targets / one.seconds
    print(
        f"grid {size} x {size} ({size * size / 1e6:.2f} M cells), {one.n_targets} targets: "
        f"1 process {one.seconds:.1f} s wall, {cpu:.1f} s CPU "
        f"({rate1:.1f} targets/s; {1e3 * cpu / one.n_targets:.2f} ms CPU per target "
        "with flow potential)"
    )
    if args.no_dask:
        return
    from dask.distributed import LocalCluster

    # start the cluster first, so the ratio is solving throughput, not start-up
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        omniscape(res[:40, :40], None, radius=4, scheduler=address)  # warm up
        two = omniscape(res, None, scheduler=address, **kw)
    rate2 = two.n_targets / two.seconds
    same = all(
        np.array_equal(getattr(one, k), getattr(two, k), equal_nan=True)
        for k in ("cumulative_current", "flow_potential", "normalized_current")
    )
    print(
        f"2 dask workers (cluster started before): {two.seconds:.1f} s wall "
        f"({rate2:.1f} targets/s); throughput ratio 2 workers / 1 process = "
        f"{rate2 / rate1:.2f}; identical maps: {same}"
    )


if __name__ == "__main__":
    main()
