"""Benchmark: resistance and pdot surfaces in one process vs on 2 dask workers.

Both surfaces are built over the bundled example's landscape
(``data/boundaries``: land cover, elevation, settlements, rivers; the
example's 60-odd stations) on a fine grid, once in memory and once in bands
on a 2-worker dask ``LocalCluster`` started beforehand (its start-up is
printed apart).  Printed per surface: wall seconds, CPU seconds (this
process, and the workers' own), the 2-worker / 1-process wall ratio, the
peak memory of this process (``tracemalloc``: numpy's arrays included) and
of the largest worker (its peak RSS, imports included), and whether the
values are identical.  The machine is shared: the load average is printed,
and a 2-core machine with other work running will not show a clean 2x.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_dask_grids.py
        [--resolution 125] [--pdot-resolution 40] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RASTERS = {
    "landcover": ROOT / "data/boundaries/landcover.tif",
    "elevation": ROOT / "data/boundaries/elevation.tif",
    "settlements": ROOT / "data/boundaries/settlements.gpkg",
    "rivers": ROOT / "data/boundaries/rivers.gpkg",
}


def _worker_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(fn: Any, client: Any = None) -> dict[str, Any]:
    """Wall, CPU and peak memory of ``fn()``."""
    before = sum(client.run(_worker_cpu).values()) if client is not None else 0.0
    tracemalloc.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    res: dict[str, Any] = {"value": out, "wall": wall, "cpu": cpu, "peak": peak / 2**20}
    if client is not None:
        res["worker_cpu"] = sum(client.run(_worker_cpu).values()) - before
        res["worker_peak"] = max(client.run(_worker_peak_mb).values())
    return res


def report(name: str, one: dict[str, Any], two: dict[str, Any], cells: int) -> str:
    a, b = one["value"].values, two["value"].values
    same = np.array_equal(a, b, equal_nan=True)
    diff = float(np.nanmax(np.abs(a - b))) if not same else 0.0
    return (
        f"{name}: {cells / 1e6:.2f} M cells\n"
        f"  1 process : {one['wall']:6.2f} s wall, {one['cpu']:6.2f} s CPU, "
        f"peak {one['peak']:7.1f} MiB\n"
        f"  2 workers : {two['wall']:6.2f} s wall, client {two['cpu']:5.2f} s CPU + "
        f"workers {two['worker_cpu']:6.2f} s CPU, client peak {two['peak']:7.1f} MiB, "
        f"largest worker peak RSS {two['worker_peak']:7.1f} MiB\n"
        f"  ratio 2 workers / 1 process (wall): {two['wall'] / one['wall']:.2f}; "
        f"client peak ratio {two['peak'] / one['peak']:.2f}; "
        f"identical: {same}" + ("" if same else f" (max |diff| {diff:.1e})")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=float, default=125.0)
    ap.add_argument("--pdot-resolution", type=float, default=40.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from dask.distributed import Client, LocalCluster

    from trapscape import coverage
    from trapscape.corridors import resistance_from_project
    from trapscape.detection import DetectionParams
    from trapscape.project import load_project

    survey = load_project(ROOT / "data/example/survey.toml").survey
    params = DetectionParams(lambda0=0.05, sigma=3000.0)
    lines = [f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}"]

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=50
    )
    client = Client(cluster)
    lines.append(f"cluster start-up: {time.perf_counter() - t0:.1f} s (not counted)")
    address = cluster.scheduler_address

    def res_mem() -> Any:
        return resistance_from_project(
            survey, RASTERS, resolution=args.resolution, max_memory_gb=None
        )

    def res_dask() -> Any:
        return resistance_from_project(
            survey,
            RASTERS,
            resolution=args.resolution,
            max_memory_gb=None,
            scheduler=address,
        )

    def pdot_mem() -> Any:
        return coverage.pdot_surface(
            survey, params, resolution=args.pdot_resolution, max_memory_gb=None
        )

    def pdot_dask() -> Any:
        return coverage.pdot_surface(
            survey,
            params,
            resolution=args.pdot_resolution,
            max_memory_gb=None,
            scheduler=address,
        )

    try:
        one = measure(res_mem)
        two = measure(res_dask, client)
        lines.append(report("resistance", one, two, one["value"].size))
        one = measure(pdot_mem)
        two = measure(pdot_dask, client)
        lines.append(report("pdot (HHN)", one, two, one["value"].size))
    finally:
        client.close()
        cluster.close()
    lines.append(f"load average after: {os.getloadavg()}")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
