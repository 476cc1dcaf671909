"""Benchmark: design evaluation by simulation (planning.evaluate_designs).

Two designs on a 6 x 6 and an 8 x 8 grid of stations 2 km apart, 60 days,
sigma 1.5 km, lambda0 0.05 per day, 20 animals per 100 km2.  Prints the time
per replicate (simulate + fit) in process, then the same run on a 2-worker
dask LocalCluster (when dask is installed), the 1 vs 2 worker ratio (wall
time, cluster start-up included and excluded) and whether the tables are
identical (they must be: each replicate has its own seed).

Run: ``.venv/bin/python benchmarks/bench_design.py [replicates]``
(default 12 per design; about a minute on 2 idle cores).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from trapscape.detection import DetectionParams
from trapscape.planning import Design, evaluate_designs

PARAMS = DetectionParams(sigma=1500.0, lambda0=0.05)


def designs() -> list[Design]:
    out = []
    for n in (6, 8):
        xy = np.array([(2000.0 * i, 2000.0 * j) for i in range(n) for j in range(n)])
        out.append(Design(f"grid{n}x{n}", xy, np.full(len(xy), 60.0)))
    return out


def main(replicates: int = 12) -> None:
    kw = {"density": 20.0, "replicates": replicates, "seed": 1, "batch_size": 3}
    t0 = time.perf_counter()
    one = evaluate_designs(designs(), PARAMS, **kw)
    t_one = time.perf_counter() - t0
    n_rep = 2 * replicates
    print(f"in process: {t_one:.1f} s for {n_rep} replicates")
    per = one.summary.groupby("design")["seconds_per_replicate"].first()
    for name, sec in per.items():
        print(f"  {name}: {sec:.2f} s per replicate")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask not installed: no 2-worker comparison")
        return
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster),
    ):
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        two = evaluate_designs(
            designs(), PARAMS, scheduler=cluster.scheduler_address, **kw
        )
        t_two = time.perf_counter() - t1
    same = one.summary.drop(columns="seconds_per_replicate").equals(
        two.summary.drop(columns="seconds_per_replicate")
    ) and one.replicates.equals(two.replicates)
    print(f"2 workers: {t_two:.1f} s (+ {t_start:.1f} s cluster start-up)")
    per2 = two.summary.groupby("design")["seconds_per_replicate"].first()
    for name, sec in per2.items():
        print(f"  {name}: {sec:.2f} s per replicate inside a worker")
    print(
        f"speed-up 1 -> 2 workers: {t_one / t_two:.2f}x without start-up, "
        f"{t_one / (t_two + t_start):.2f}x with it"
    )
    print(f"identical tables: {same}")
    d = one.summary[one.summary["parameter"] == "D"]
    with pd.option_context("display.width", 120):
        print(d[["design", "stations", "RB", "RSE", "COV", "mean_n", "mean_r"]])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
