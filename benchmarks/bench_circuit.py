"""Benchmark: pairwise circuit-theory current map, 4 point nodes, ~3M cells.

Times ``trapscape.corridors.circuit`` (effective resistances + cumulative
current map + pinch points) on a random resistance grid with 2 % barrier
cells, and prints it beside Circuitscape 4.0.5 on such a grid (about 33 s on
this 2-core machine class, issue 6) and the issue's target (< 10 s).

It also reports the stages (graph assembly, multigrid setup, solves) and
the accuracy of the conjugate-gradient answer against a tighter solve.
Times are wall-clock and CPU seconds of this process (CPU is steadier when
the machine is shared; forked workers are not counted in CPU).

Run: ``python benchmarks/bench_circuit.py [--cells 3e6] [--n-jobs 2]``
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import pyproj

from trapscape import corridors
from trapscape._raster import GridSpec, to_dataarray
from trapscape.corridors import _solver

CIRCUITSCAPE_S = 33.0
TARGET_S = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=float, default=3e6)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument(
        "--check",
        action="store_true",
        help="also solve with rtol=1e-10 to report the accuracy",
    )
    args = ap.parse_args()
    side = round(math.sqrt(args.cells))
    rng = np.random.default_rng(0)
    vals = rng.uniform(1.0, 10.0, (side, side))
    vals[rng.random(vals.shape) < 0.02] = np.nan
    m = side // 20
    cells = [(m, m), (m, side - m), (side - m, m), (side - m, side - m)]
    for r, c in cells:
        vals[r, c] = 1.0
    grid = GridSpec(500_000.0, 4_800_000.0, 30.0, side, side, pyproj.CRS("EPSG:32652"))
    da = to_dataarray(vals, grid, nodata=np.nan)
    nodes = [(float(grid.xs[c]), float(grid.ys[r])) for r, c in cells]

    # stages, serial
    focal = np.full(vals.shape, -1)
    for k, (r, c) in enumerate(cells):
        focal[r, c] = k
    t0 = time.perf_counter()
    graph = _solver.build_graph(vals, focal)
    t1 = time.perf_counter()
    keep = np.ones(graph.laplacian.shape[0], dtype=bool)
    keep[graph.focal_gid[0]] = False
    a, _rows = _solver._grounded(graph.laplacian, keep, ~keep)
    t2 = time.perf_counter()
    solver = _solver._Solver(a, "cg_amg", 1e-6)
    t3 = time.perf_counter()
    b = np.zeros(a.shape[0])
    b[0] = 1.0
    solver.solve(b)
    t4 = time.perf_counter()
    print(f"grid {side} x {side} = {side * side:,} cells, 4 nodes, 6 pairs")
    print(
        f"stages: assembly {t1 - t0:.2f} s, grounding {t2 - t1:.2f} s, "
        f"AMG setup {t3 - t2:.2f} s, one CG solve {t4 - t3:.2f} s"
    )
    del graph, a, solver

    best = {}
    for jobs in sorted({1, args.n_jobs}):
        w0, c0 = time.perf_counter(), time.process_time()
        out = corridors.circuit(da, nodes, solver="cg_amg", n_jobs=jobs)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        best[jobs] = wall
        print(
            f"trapscape circuit (pairwise, current map, n_jobs={jobs}): "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU in the main process "
            f"-> {wall / CIRCUITSCAPE_S:.2f} x Circuitscape 4.0.5 "
            f"(~{CIRCUITSCAPE_S:.0f} s)"
        )
    fastest = min(best.values())
    print(
        f"fastest {fastest:.2f} s; target < {TARGET_S:.0f} s: "
        f"{'met' if fastest < TARGET_S else 'NOT met'} "
        f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    if args.check:
        ref = corridors.circuit(da, nodes, solver="cg_amg", rtol=1e-10, current=False)
        err = np.nanmax(
            np.abs(out.resistances.to_numpy() - ref.resistances.to_numpy())
            / np.where(ref.resistances.to_numpy() > 0, ref.resistances.to_numpy(), 1.0)
        )
        print(f"max relative error of effective resistances at rtol=1e-6: {err:.1e}")
    print(out.resistances.round(6).to_string())


if __name__ == "__main__":
    main()
