"""Benchmark: pdot surface at 100 m over 3,600 km^2 with 400 cameras x 90 days.

Target (issue 4): under 5 s on 2 cores with bounded memory.  Prints the time
of :func:`trapscape.coverage.pdot_surface` (hazard half-normal, separable
kernel as two matrix products in row bands) beside a straightforward numpy
baseline (loop over traps, accumulating the hazard on the full grid), the
ratio, the agreement between the two, and the peak memory of each.

Run: ``.venv/bin/python benchmarks/bench_pdot.py``
"""

from __future__ import annotations

import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from trapscape import coverage, effort
from trapscape import validation as V
from trapscape.detection import DetectionParams
from trapscape.survey import Survey

CRS = "EPSG:32652"
X0, Y0, SIDE = 420_000.0, 4_700_000.0, 60_000.0  # 60 x 60 km = 3,600 km^2
N_CAMERAS, DAYS, RES = 400, 90, 100.0


def make_survey(seed: int = 42) -> Survey:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(
        [X0 + 1000, Y0 + 1000], [X0 + SIDE - 1000, Y0 + SIDE - 1000], (N_CAMERAS, 2)
    )
    start = pd.Timestamp("2024-01-10 12:00")
    setup = start + pd.to_timedelta(rng.integers(0, 48, N_CAMERAS), unit="h")
    retrieval = setup + pd.Timedelta(days=DAYS)
    stations = gpd.GeoDataFrame(
        {
            V.STATION_ID: [f"S{i:03d}" for i in range(N_CAMERAS)],
            V.CAMERA_ID: "a",
            V.DEPLOYMENT_ID: [f"S{i:03d}/a" for i in range(N_CAMERAS)],
            V.SETUP: setup,
            V.RETRIEVAL: retrieval,
        },
        geometry=[Point(x, y) for x, y in xy],
        crs=CRS,
    )
    broken = rng.choice(N_CAMERAS, 40, replace=False)
    pfrom = setup[broken] + pd.to_timedelta(rng.integers(5, 40, 40), unit="D")
    problems = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: stations[V.DEPLOYMENT_ID].to_numpy()[broken],
            V.PROBLEM_FROM: pfrom,
            V.PROBLEM_TO: pfrom + pd.to_timedelta(rng.integers(1, 30, 40), unit="D"),
        }
    )
    sightings = pd.DataFrame(
        {
            c: pd.Series(dtype="object")
            for c in (
                V.STATION_ID,
                V.CAMERA_ID,
                V.DEPLOYMENT_ID,
                V.SPECIES,
                V.INDIVIDUAL_ID,
                V.SEX,
                V.MEDIA_ID,
            )
        }
    )
    sightings[V.TIMESTAMP] = pd.Series(dtype="datetime64[ns]")
    sightings[V.COUNT] = pd.Series(dtype="int64")
    study = gpd.GeoDataFrame(
        {V.NAME: ["study"]}, geometry=[box(X0, Y0, X0 + SIDE, Y0 + SIDE)], crs=CRS
    )
    return Survey(
        stations=stations,
        sightings=sightings,
        problems=problems,
        crs=CRS,
        study_area=study,
        name="bench",
    )


def baseline(survey: Survey, params: DetectionParams) -> np.ndarray:
    """Straightforward numpy: loop over traps, full-grid hazard per trap."""
    use = effort.station_usage(survey)
    xs = X0 + (np.arange(int(SIDE / RES)) + 0.5) * RES
    ys = Y0 + SIDE - (np.arange(int(SIDE / RES)) + 0.5) * RES
    gx, gy = np.meshgrid(xs, ys)
    hazard = np.zeros_like(gx)
    for (tx, ty), u in zip(use.xy, use.usage.sum(axis=1), strict=True):
        d2 = (gx - tx) ** 2 + (gy - ty) ** 2
        hazard += u * params.lambda0 * np.exp(-d2 / (2 * params.sigma**2))
    return 1.0 - np.exp(-hazard)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def peak_mib(fn, *args, **kw) -> float:
    tracemalloc.start()
    fn(*args, **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    survey = make_survey()
    params = DetectionParams(lambda0=0.05, sigma=3000.0)
    coverage.pdot_surface(survey, params, resolution=1000)  # warm-up imports

    times = []
    for _ in range(3):
        da, t = timed(coverage.pdot_surface, survey, params, resolution=RES)
        times.append(t)
    t_ours = min(times)
    ref, t_base = timed(baseline, survey, params)
    diff = float(np.nanmax(np.abs(da.values - ref)))
    mem_ours = peak_mib(coverage.pdot_surface, survey, params, resolution=RES)
    mem_base = peak_mib(baseline, survey, params)

    print(
        f"pdot surface: {da.sizes['y']} x {da.sizes['x']} = {da.size:,} cells of "
        f"{RES:g} m, {N_CAMERAS} cameras x {DAYS} days (HHN, sigma 3 km)"
    )
    print(
        f"  trapscape.coverage.pdot_surface : {t_ours:7.3f} s  peak {mem_ours:7.1f} MiB"
    )
    print(
        f"  numpy baseline (loop over traps): {t_base:7.3f} s  peak {mem_base:7.1f} MiB"
    )
    print(
        f"  speed-up: {t_base / t_ours:.1f}x   max |difference|: {diff:.2e}   "
        f"target < 5 s: {'met' if t_ours < 5 else 'NOT met'}"
    )

    # the general point path (any points, chunked, trap pruning)
    use = effort.station_usage(survey)
    gx, gy = np.meshgrid(da.x.values, da.y.values)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    p, t_pts = timed(coverage.pdot_points, pts, use.xy, use.usage, params)
    print(
        f"  pdot_points on the same {len(pts):,} points: {t_pts:.3f} s "
        f"(max |difference| {np.max(np.abs(p - ref.ravel())):.2e})"
    )


if __name__ == "__main__":
    main()
