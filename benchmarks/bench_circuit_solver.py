"""Benchmark: the circuit's own multigrid preconditioner against stock pyamg.

Both run the same outer iteration, ``scipy.sparse.linalg.cg`` with
``rtol=1e-6`` (Circuitscape's tolerance), on the same grounded Laplacian;
only the preconditioner ``M`` differs:

- **trapscape**: one V-cycle of ``corridors._solver._Solver`` (smoothed
  aggregation built level by level with pyamg, every level in CSR,
  locally weighted Jacobi prolongation smoothing with omega 1.8, float32
  hierarchy, one forward / one backward Gauss-Seidel sweep);
- **pyamg**: ``pyamg.smoothed_aggregation_solver(A, symmetry="symmetric",
  max_coarse=500).aspreconditioner(cycle="V")`` with every other option at
  its pyamg 5 default.

The grid is the bundled example's resistance surface (real land cover,
elevation, settlements, rivers and sea of the Land of the Leopard example)
at ``--resolution`` metres; the nodes are its parks (polygon nodes, each
short-circuited) and, as stepping stones, every 25th camera station
outside them (point nodes).  One core is
grounded and a 1 A unit source is solved at every other one, as in
pairwise mode.  It prints the setup and solve times, iterations per solve,
the largest difference of the voltages between the two, and the time
ratio.

Run: ``python benchmarks/bench_circuit_solver.py [--resolution 125]``
(about a minute at 125 m, 1.5 M cells, on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from trapscape.corridors import _solver, resistance_from_project
from trapscape.corridors.circuit_theory import _node_labels
from trapscape.corridors.survey import _survey_cores
from trapscape.datasets import get_path
from trapscape.project import load_project


def _system(resolution: float) -> tuple[object, list[int], float]:
    """Grounded Laplacian of the example, unit-source rows, build seconds."""
    project = load_project(get_path("example"))
    survey = project.survey
    parks = _survey_cores(survey, None, None)  # every park, whole
    # plus stepping stones: every 25th station outside the parks
    st = survey.stations
    outside = st[~st.within(parks.geometry.union_all())].iloc[::25]
    stones = gpd.GeoDataFrame(
        {"core_id": [f"station_{i}" for i in range(len(outside))]},
        geometry=outside.geometry.to_numpy(),
        crs=st.crs,
    )
    cores = pd.concat([parks[["core_id", "geometry"]], stones], ignore_index=True)
    t0 = time.perf_counter()
    res = resistance_from_project(
        survey, project.params["rasters"], resolution=resolution, extent=cores
    )
    focal, _ids = _node_labels(cores, _grid_of(res))
    graph = _solver.build_graph(np.asarray(res.values), focal)
    keep = np.ones(graph.laplacian.shape[0], dtype=bool)
    keep[graph.focal_gid[0]] = False
    a, _rows = _solver._grounded(graph.laplacian, keep, ~keep)
    sources = [int(g) for g in graph.focal_gid[1:]]
    return a, sources, time.perf_counter() - t0


def _grid_of(da: object) -> object:
    from trapscape._raster import grid_of

    return grid_of(da)


def _run(
    a: object, sources: list[int], make_m: object, *, rtol: float = 1e-6
) -> dict[str, object]:
    """Setup of M, then one cg solve per unit source."""
    from scipy.sparse.linalg import cg

    t0 = time.perf_counter()
    m = make_m(a)
    t1 = time.perf_counter()
    xs, its = [], []
    with _solver._single_thread_blas():
        for k in sources:
            b = np.zeros(a.shape[0])
            b[k] = 1.0
            count = [0]

            def step(_x: np.ndarray, count: list[int] = count) -> None:
                count[0] += 1

            x, info = cg(a, b, rtol=rtol, atol=0.0, maxiter=1000, M=m, callback=step)
            if info != 0:
                raise RuntimeError(f"cg did not converge (info={info})")
            xs.append(x)
            its.append(count[0])
    t2 = time.perf_counter()
    return {"setup": t1 - t0, "solve": t2 - t1, "its": its, "x": xs}


def _own(a: object) -> object:
    return _solver._Solver(a, "cg_amg", 1e-6).preconditioner()


def _stock(a: object) -> object:
    import pyamg

    ml = pyamg.smoothed_aggregation_solver(a, symmetry="symmetric", max_coarse=500)
    return ml.aspreconditioner(cycle="V")


def main() -> None:
    import pyamg

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resolution", type=float, default=125.0)
    args = ap.parse_args()
    a, sources, build = _system(args.resolution)
    print(
        f"example resistance at {args.resolution:g} m: {a.shape[0]:,} unknowns, "
        f"{a.nnz:,} non-zeros, {len(sources)} unit sources (built in {build:.1f} s); "
        f"pyamg {pyamg.__version__}, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    own = _run(a, sources, _own)
    stock = _run(a, sources, _stock)
    ref = _run(a, sources, _own, rtol=1e-10)["x"]
    for r in (own, stock):
        r["err"] = max(
            float(np.abs(x - y).max()) for x, y in zip(r["x"], ref, strict=True)
        )
    vmax = max(float(np.abs(x).max()) for x in own["x"])
    diff = max(
        float(np.abs(x - y).max()) for x, y in zip(own["x"], stock["x"], strict=True)
    )
    print(
        f"{'preconditioner':<12} {'setup s':>8} {'solves s':>9} {'total s':>8} "
        f"{'max error V':>12}  iterations per solve"
    )
    for name, r in (("trapscape", own), ("pyamg", stock)):
        total = r["setup"] + r["solve"]
        print(
            f"{name:<12} {r['setup']:8.2f} {r['solve']:9.2f} {total:8.2f} "
            f"{r['err']:12.2e}  {r['its']}"
        )
    t_own = own["setup"] + own["solve"]
    t_stock = stock["setup"] + stock["solve"]
    print("(max error: against a solve to rtol=1e-10)")
    print(
        f"max |voltage difference| between the two {diff:.2e} V (largest voltage {vmax:.3g} V, "
        f"relative {diff / vmax:.1e})"
    )
    print(
        f"time ratio pyamg / trapscape: {t_stock / t_own:.2f} "
        f"(setup {stock['setup'] / own['setup']:.2f}, "
        f"solves {stock['solve'] / own['solve']:.2f})"
    )


if __name__ == "__main__":
    main()
