"""Benchmark: accumulated cost distance from one source on a 3 M-cell grid.

Three ways to the same surface (GRASS ``r.cost`` convention, 8 neighbours),
each in a fresh subprocess so that its peak memory is its own:

- ``trapscape``: ``trapscape.corridors.cost_distance`` as it is now (the
  Numba-compiled search when Numba is installed, else scikit-image);
- ``trapscape x2``: two sources (the two ends of a corridor) in one
  ``CostSurface.cost_distances`` call, searched side by side on two cores;
  its times are per source (half the call);
- ``MCP alone``: scikit-image's ``MCP_Geometric(...).find_costs`` on a
  ready NumPy array, nothing around it;
- ``no numba`` (with ``--no-numba``): ``trapscape`` with the compiled search
  switched off, i.e. scikit-image's engine, as without ``trapscape[fast]``;
- ``previous``: trapscape before issue 15 (commit 2a4388b): a float64 copy of
  the resistance, a new ``MCP_Geometric`` per call, a copy of its result.

Time is the best of ``--repeat`` runs (wall-clock and CPU; CPU is steadier on a
shared machine).  Memory is the peak resident set (``VmHWM``, reset before the
call) minus the resident set just before it, i.e. what the call adds on top of
the interpreter, the imports and the input raster; the process total is shown
too.  GRASS is not installed here: issue 15 measured ``r.cost`` side by side
at 1.45 s and 112 MB (whole process) on this grid, and MCP alone at 1.1 s.

Run: ``python benchmarks/bench_costdistance.py [--cells 3e6] [--repeat 2] [--no-numba]``
(about a minute on an idle machine).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

RCOST_S = 1.45  # GRASS r.cost, 3 M cells, issue 15
RCOST_MB = 112.0
CASES = ("trapscape", "trapscape x2", "MCP alone", "previous", "no numba")
PER_CALL = {"trapscape x2": 2}  # sources per call


def _status() -> dict[str, float]:
    """VmRSS and VmHWM of this process, MB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # Linux: reset VmHWM to the current RSS


def _raster(side: int) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(0)
    vals = rng.uniform(1.0, 100.0, (side, side))
    vals[rng.random(vals.shape) < 0.02] = np.nan  # 2 % barrier cells
    mid = side // 2
    vals[mid, mid] = 1.0
    return vals, mid


def _runner(case: str, vals: np.ndarray, mid: int) -> Callable[[], object]:
    import pyproj

    from trapscape._raster import GridSpec, to_dataarray

    side = vals.shape[0]
    grid = GridSpec(500_000.0, 4_800_000.0, 30.0, side, side, pyproj.CRS("EPSG:32652"))
    src = (float(grid.xs[mid]), float(grid.ys[mid]))
    if case == "no numba":
        from trapscape.corridors import _dijkstra

        _dijkstra.compiled_search = lambda: None  # type: ignore[assignment]
        case = "trapscape"
    if case.startswith("trapscape"):
        from trapscape import corridors

        da = to_dataarray(vals, grid, nodata=np.nan)
        if case == "trapscape":
            return lambda: corridors.cost_distance(da, src)
        other = (float(grid.xs[side // 4]), float(grid.ys[side // 4]))
        return lambda: corridors.CostSurface(da).cost_distances([src, other])
    from skimage.graph import MCP_Geometric

    if case == "MCP alone":
        costs = np.where(np.isnan(vals), np.inf, vals)
        return lambda: MCP_Geometric(
            costs, fully_connected=True, sampling=(30.0, 30.0)
        ).find_costs([(mid, mid)])
    da = to_dataarray(vals, grid, nodata=np.nan)

    def previous() -> object:  # the steps of cost_distance at 2a4388b
        costs = np.array(da.values, dtype=np.float64, copy=True)
        costs[~np.isfinite(costs) | (costs < 0)] = np.inf
        mcp = MCP_Geometric(costs, fully_connected=True, sampling=(30.0, 30.0))
        cum, _ = mcp.find_costs([(mid, mid)])
        cum = np.array(cum, dtype=np.float64)
        cum[~np.isfinite(costs) | ~np.isfinite(cum)] = np.nan
        return to_dataarray(cum, grid, name="cost_distance", nodata=np.nan)

    return previous


def _child(case: str, side: int, repeat: int) -> None:
    """Measure one case in this (fresh) process; print one JSON line."""
    engine = "scikit-image"
    first = 0.0
    if case.startswith("trapscape"):
        from trapscape.corridors import _dijkstra

        if _dijkstra.compiled_search() is not None:
            engine = "numba"
        small, smid = _raster(50)  # first call: compile or load the cached code
        t0 = time.perf_counter()
        _runner(case, small, smid)()
        first = time.perf_counter() - t0
    vals, mid = _raster(side)
    vals[side // 4, side // 4] = 1.0  # the second source of "trapscape x2"
    fn = _runner(case, vals, mid)
    before = _status()["VmRSS"]
    _reset_peak()
    wall, cpu = math.inf, math.inf
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
        del out
    peak = _status()["VmHWM"]
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "extra_mb": peak - before,
                "total_mb": peak,
                "engine": engine,
                "first_call": first,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=float, default=3e6)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-numba", action="store_true", help="also time without Numba")
    ap.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    side = round(math.sqrt(args.cells))
    if args.child:
        _child(args.child, side, args.repeat)
        return
    res: dict[str, dict[str, float]] = {}
    cases = CASES if args.no_numba else CASES[:-1]
    for case in cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", case, "--cells", str(args.cells),
             "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        res[case] = json.loads(proc.stdout.strip().splitlines()[-1])
        for key in ("wall", "cpu"):
            res[case][key] /= PER_CALL.get(case, 1)
    ours = res["trapscape"]
    print(
        f"{side * side:,} cells, one source in the middle, best of {args.repeat}; "
        f"trapscape engine: {ours['engine']} (first call, compile or cache "
        f"load: {ours['first_call']:.2f} s)"
    )
    print(
        f"{'per source':>12} {'wall s':>7} {'cpu s':>6} {'extra MB':>9} {'total MB':>9} "
        f"{'wall ratio':>10} {'cpu ratio':>10} {'mem ratio':>10}  (ratios: that / trapscape)"
    )
    for case in cases:
        r = res[case]
        print(
            f"{case:>12} {r['wall']:>7.2f} {r['cpu']:>6.2f} {r['extra_mb']:>9.0f} "
            f"{r['total_mb']:>9.0f} {r['wall'] / ours['wall']:>10.2f} "
            f"{r['cpu'] / ours['cpu']:>10.2f} "
            f"{r['extra_mb'] / max(ours['extra_mb'], 1.0):>10.2f}"
        )
    # r.cost was measured beside MCP alone; scale its time by today's MCP run
    rcost_now = RCOST_S / 1.1 * res["MCP alone"]["cpu"]
    print(
        f"{'r.cost':>12} stated in issue 15: {RCOST_S} s, {RCOST_MB:.0f} MB "
        f"(1.32x MCP alone); scaled to this run's MCP: {rcost_now:.2f} s, "
        f"ratio {rcost_now / ours['cpu']:.2f}; memory budget 2x r.cost = "
        f"{2 * RCOST_MB:.0f} MB vs trapscape's {ours['extra_mb']:.0f} MB extra"
    )


if __name__ == "__main__":
    main()
