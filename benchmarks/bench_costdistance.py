"""Benchmark: accumulated cost distance from one source on large rasters.

Compares ``trapscape.corridors.cost_distance`` (DataArray in, DataArray out)
with scikit-image's raw ``MCP_Geometric.find_costs`` on the same NumPy array
(the engine trapscape wraps; about 1.2 s for 3 million cells on this machine
class), and checks N log N scaling from 1 to 10 million cells.

Times are wall-clock and CPU seconds (CPU is steadier on a shared machine).

Run: ``python benchmarks/bench_costdistance.py [--sizes 1e6 3e6 1e7] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pyproj

from trapscape import corridors
from trapscape._raster import GridSpec, to_dataarray

BASELINE_3M_S = 1.2  # MCP_Geometric, 3 million cells, this machine class


def _timed(fn, repeat: int) -> tuple[float, float]:
    best_wall, best_cpu = math.inf, math.inf
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 3e6, 1e7])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from skimage.graph import MCP_Geometric

    rng = np.random.default_rng(0)
    crs = pyproj.CRS("EPSG:32652")
    print(
        f"{'cells':>11} {'MCP wall':>9} {'MCP cpu':>8} {'trapscape wall':>15} "
        f"{'cpu':>7} {'ratio(cpu)':>10} {'cpu/(N log N) x1e9':>19}"
    )
    for size in args.sizes:
        side = round(math.sqrt(size))
        n = side * side
        vals = rng.uniform(1.0, 100.0, (side, side))
        vals[rng.random(vals.shape) < 0.02] = np.nan  # 2 % barrier cells
        mid = side // 2
        vals[mid, mid] = 1.0
        grid = GridSpec(500_000.0, 4_800_000.0, 30.0, side, side, crs)
        da = to_dataarray(vals, grid, nodata=np.nan)
        src = (float(grid.xs[mid]), float(grid.ys[mid]))
        costs = np.where(np.isnan(vals), np.inf, vals)

        def raw(costs: np.ndarray = costs, mid: int = mid) -> None:
            MCP_Geometric(
                costs, fully_connected=True, sampling=(30.0, 30.0)
            ).find_costs([(mid, mid)])

        def ours(da: object = da, src: tuple[float, float] = src) -> None:
            corridors.cost_distance(da, src)

        rw, rc = _timed(raw, args.repeat)
        ow, oc = _timed(ours, args.repeat)
        nlogn = n * math.log(n)
        print(
            f"{n:>11,} {rw:>9.2f} {rc:>8.2f} {ow:>15.2f} {oc:>7.2f} {oc / rc:>10.2f} "
            f"{1e9 * oc / nlogn:>19.2f}"
        )
    print(
        f"baseline: MCP_Geometric on 3M cells ~{BASELINE_3M_S} s (issue 6); "
        "N log N scaling means a flat last column."
    )


if __name__ == "__main__":
    main()
