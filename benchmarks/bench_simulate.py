"""Benchmark: simulate the Land of the Leopard example (and 5x more animals).

trapscape: ``simulate.simulate_survey`` on the bundled boundaries (state
space, grids, malfunctions, detections, photo bursts, truth), then
``write_simulated_survey``.
Baseline: the textbook loop of the SCR model's detection step alone — one
Poisson draw per individual x station x day with the hazard computed in the
loop (what a direct transcription of the model does), on the same centres,
stations and usage.

Run: .venv/bin/python benchmarks/bench_simulate.py
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from trapscape import datasets, simulate


def layers():
    return {
        "study_area": gpd.read_file(datasets.get_path("study_area.gpkg")),
        "zones": gpd.read_file(datasets.get_path("countries.gpkg")),
        "habitat": gpd.read_file(datasets.get_path("land.gpkg")),
        "settlements": gpd.read_file(datasets.get_path("settlements.gpkg")),
    }


def baseline_detections(sim: simulate.SimulatedSurvey, rng: np.random.Generator) -> int:
    st = (
        sim.stations.groupby("station_id", sort=False)
        .geometry.first()
        .loc[sim.usage.index]
    )
    sx, sy = st.x.to_numpy(), st.y.to_numpy()
    u = sim.usage.to_numpy()
    cx, cy = sim.centres.geometry.x.to_numpy(), sim.centres.geometry.y.to_numpy()
    sig, lam = sim.centres["sigma"].to_numpy(), sim.centres["lambda0"].to_numpy()
    total = 0
    for i in range(len(cx)):
        for j in range(len(sx)):
            h = lam[i] * math.exp(
                -((cx[i] - sx[j]) ** 2 + (cy[i] - sy[j]) ** 2) / (2 * sig[i] ** 2)
            )
            for k in range(u.shape[1]):
                total += rng.poisson(h * u[j, k])
    return total


def main() -> None:
    lay = layers()
    for label, dens in (
        ("example", None),
        ("5x density", {"Russia": 8.0, "China": 1.75}),
    ):
        params = (
            simulate.SimulationParams()
            if dens is None
            else simulate.SimulationParams(densities=dens)
        )
        t0 = time.perf_counter()
        sim = simulate.simulate_survey(params, rng=2044, **lay)
        with tempfile.TemporaryDirectory() as d:
            simulate.write_simulated_survey(sim, Path(d) / "out")
        t_ts = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = baseline_detections(sim, np.random.default_rng(1))
        t_base = time.perf_counter() - t0
        print(
            f"{label}: {sim.truth['n_total']} animals x {sim.truth['stations']} stations x "
            f"{params.days} days; {sim.truth['photos']} photos"
        )
        print(f"  trapscape simulate+write (whole survey): {t_ts:7.2f} s")
        print(
            f"  baseline loop (detection step only):     {t_base:7.2f} s  ({n} events)"
        )
        print(f"  ratio baseline / trapscape:              {t_base / t_ts:7.2f}")


if __name__ == "__main__":
    main()
