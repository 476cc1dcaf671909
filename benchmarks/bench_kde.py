"""Benchmark: kernel UDs of 100 individuals x 1,000 relocations on a 500 x 500 grid.

Times :func:`trapscape.homerange.utilization_distributions` (exact truncated
Gaussian kernel as a separable matrix product) and, for comparison,
``scipy.stats.gaussian_kde`` evaluated at the same 250,000 cell centres with
the same bandwidth.  scipy is timed on a few individuals and scaled to 100
(evaluating it on all would take minutes).  Target: under 2 s on 2 cores.

Run: ``python benchmarks/bench_kde.py [--individuals 100] [--n 1000] [--size 500]``
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np
from scipy.stats import gaussian_kde

from trapscape import homerange as hr
from trapscape._raster import GridSpec
from trapscape.crs import as_crs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=500)
    ap.add_argument("--scipy-individuals", type=int, default=2)
    args = ap.parse_args()

    rng = np.random.default_rng(42)
    k, n, size, cell, h = args.individuals, args.n, args.size, 100.0, 1500.0
    x0, y0 = 500_000.0, 4_800_000.0
    span = size * cell
    centres = rng.uniform(0.2 * span, 0.8 * span, size=(k, 2))
    xy = np.concatenate([c + rng.normal(0, 3000, size=(n, 2)) for c in centres])
    xy[:, 0] += x0
    xy[:, 1] += y0 - span
    ids = np.repeat([f"L{i:03d}" for i in range(k)], n)
    rel = gpd.GeoDataFrame(
        {"individual_id": ids},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:32652",
    )
    grid = GridSpec(x0, y0, cell, size, size, as_crs("EPSG:32652"))

    hr.utilization_distributions(rel.iloc[:n], h=h, grid=grid)  # warm-up
    c0 = time.process_time()
    t0 = time.perf_counter()
    uds, _, _, _ = hr.utilization_distributions(rel, h=h, grid=grid)
    t_ours = time.perf_counter() - t0
    c_ours = time.process_time() - c0
    assert len(uds) == k

    gx, gy = np.meshgrid(grid.xs, grid.ys)
    pts = np.vstack([gx.ravel(), gy.ravel()])
    m = max(1, min(args.scipy_individuals, k))
    t0 = time.perf_counter()
    for i in range(m):
        sub = xy[i * n : (i + 1) * n].T
        # gaussian_kde's covariance is factor^2 * data covariance; match h per axis
        kde = gaussian_kde(
            sub, bw_method=h / float(np.sqrt(np.mean(np.var(sub, axis=1, ddof=1))))
        )
        kde(pts)
    t_scipy = (time.perf_counter() - t0) / m * k

    print(f"{k} individuals x {n} relocations on a {size} x {size} grid")
    print(
        f"trapscape utilization_distributions: {t_ours:8.2f} s wall, "
        f"{c_ours:.2f} s CPU "
        "(target < 2 s wall on 2 cores)"
    )
    print(f"scipy gaussian_kde (scaled from {m}):  {t_scipy:8.2f} s")
    print(f"speed-up vs scipy: {t_scipy / t_ours:8.1f} x")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(
            f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
            "wall times are inflated by other processes"
        )


if __name__ == "__main__":
    main()
