"""Recovery of a density covariate's coefficient and of a trend from simulations.

Each replicate simulates data with :mod:`trapscape.simulate` (the SCR model:
Poisson activity centres, hazard half-normal detection, daily occasions,
camera malfunctions) and fits the model that generated them:

* **surface** — one session whose density follows elevation,
  ``D(x) = exp(beta0 + beta z(x))`` with ``z`` the bundled elevation raster
  (``elevation.tif``) standardised over the state space, fitted with
  :func:`trapscape.density.fit_surface` (``D ~ z``) on a mask covering the
  state space (``z`` at the mask points from the same raster and scaling);
* **trend** — three annual sessions with ``D_s = D_0 lambda^s`` at the same
  stations, fitted jointly with :func:`trapscape.density.fit_sessions`
  (``D ~ Session``; ``lambda = exp(beta_Session)``).

The design is small so that a replicate takes about a second: a square
study area of 18 x 18 km inland of Vladivostok (130.9 E, 43.2 N) with
stations 3 km apart, 30 days, σ = 2 km for both sexes, a 4 σ buffer and
1 km masks.  Printed per target: true value, mean estimate, relative bias
with its Monte-Carlo SE, mean RSE, the share of 95 % Wald intervals that
cover the truth, non-converged fits, and the mean fit time.

Run: ``python benchmarks/bench_recovery.py [--replicates R] [--seed N]``
(R = 100 takes about 5 minutes on one core).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from trapscape import datasets
from trapscape import density as dn
from trapscape import simulate as sm
from trapscape.errors import TrapscapeWarning

CRS = "EPSG:32652"
#: centre of the study square (130.9 E, 43.2 N in UTM 52N), elevation sd ~ 200 m
CX, CY = 654_000.0, 4_785_000.0
HALF = 9_000.0
SIGMA = 2_000.0
BETA = 1.0  # log density per SD of elevation
D0 = 15.0  # animals per 100 km2 where elevation is at its state-space mean
LAMBDA = 0.85  # rate of change per session
D0_TREND = 25.0
SESSIONS = 3
MASK_SPACING = 1_000.0
TREND_MASK_SPACING = 1_500.0


def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Study square and one zone around it."""
    study = gpd.GeoDataFrame(
        {"name": ["study"]},
        geometry=[box(CX - HALF, CY - HALF, CX + HALF, CY + HALF)],
        crs=CRS,
    )
    zone = gpd.GeoDataFrame(
        {"name": ["A"]},
        geometry=[box(CX - 5 * HALF, CY - 5 * HALF, CX + 5 * HALF, CY + 5 * HALF)],
        crs=CRS,
    )
    return study, zone


def params(**kw: object) -> sm.SimulationParams:
    """Small, fast design: 1 camera per station, 1 photo per event."""
    base: dict[str, object] = {
        "densities": {"A": D0},
        "sigma_f": SIGMA,
        "sigma_m": SIGMA,
        "lambda0": 0.08,
        "buffer": 4 * SIGMA,
        "settlement_radius": 0.0,
        "spacing": 3_000.0,
        "layout": "regular",
        "cameras_per_station": 1,
        "extra_zone": None,
        "days": 30,
        "photos_per_event": 1.0,
        "unidentifiable_share": 0.0,
        "theft_prob": 0.0,
    }
    base.update(kw)
    return sm.SimulationParams(**base)  # type: ignore[arg-type]


def history(sim: sm.SimulatedSurvey) -> dn.CaptureHistory:
    """Daily proximity capture history of the detection events.

    With every photo identifiable this is the history ``trapscape density``
    builds from the photos (:func:`trapscape.density.capture_history`), at a
    tenth of the cost.
    """
    st = list(sim.usage.index)
    ev = sim.events
    ids = sorted(ev["individual_id"].unique())
    caps = np.zeros((len(ids), sim.usage.shape[1], len(st)), dtype=np.int64)
    i = np.searchsorted(ids, ev["individual_id"].to_numpy())
    j = pd.Index(st).get_indexer(ev["station_id"])
    caps[i, ev["day"].to_numpy(), j] = 1
    xy = sim.stations.drop_duplicates("station_id").set_index("station_id")
    pts = xy.loc[st].geometry
    return dn.CaptureHistory(
        np.column_stack([pts.x, pts.y]),
        sim.usage.to_numpy(dtype=float),
        caps,
        individual_ids=tuple(ids),
        trap_ids=tuple(st),
    )


def state_mask(state: object, spacing: float) -> dn.Mask:
    """The state space on a grid (the mask of the model that made the data)."""
    xy = sm._grid_points(state, spacing)  # type: ignore[arg-type]
    return dn.Mask(xy=xy, spacing=spacing)


@dataclass(frozen=True)
class Replicate:
    """One fit: estimate, SE, Wald limits (on the reported scale), seconds."""

    estimate: float
    se: float
    lcl: float
    ucl: float
    seconds: float
    converged: bool


def surface_replicate(seed: int) -> Replicate:
    """Simulate one surveyed density surface and fit ``D ~ z`` (returns beta)."""
    study, zone = layers()
    p = params(
        density_covariate=str(datasets.get_path("elevation.tif")),
        density_beta=BETA,
    )
    sim = sm.simulate_survey(p, study_area=study, zones=zone, rng=seed)
    mask = state_mask(sim.state_space, MASK_SPACING)
    surf = sm.density_surface(p, sim.state_space)
    ch = history(sim)
    t0 = time.perf_counter()
    fit = dn.fit_surface(ch, mask, density="~z", covariates={"z": surf.z(mask.xy)})
    secs = time.perf_counter() - t0
    k = fit.beta_names.index("D.z")
    b, se = float(fit.beta[k]), float(math.sqrt(fit.vcov[k, k]))
    return Replicate(b, se, b - 1.96 * se, b + 1.96 * se, secs, True)


def trend_replicate(seed: int) -> Replicate:
    """Simulate three sessions with a trend and fit ``D ~ Session`` (returns lambda)."""
    study, zone = layers()
    p = params(densities={"A": D0_TREND})
    sims = sm.simulate_sessions(
        p, sessions=SESSIONS, trend=LAMBDA, study_area=study, zones=zone, rng=seed
    )
    mask = state_mask(sims.state_space, TREND_MASK_SPACING)
    sessions = [
        dn.Session(n, history(sv), mask)
        for n, sv in zip(sims.names, sims.surveys, strict=True)
    ]
    t0 = time.perf_counter()
    fit = dn.fit_sessions(sessions, density="~Session")
    secs = time.perf_counter() - t0
    k = fit.beta_names.index("D.Session")
    b, se = float(fit.beta[k]), float(math.sqrt(fit.vcov[k, k]))
    lam = math.exp(b)
    return Replicate(
        lam,
        lam * se,
        math.exp(b - 1.96 * se),
        math.exp(b + 1.96 * se),
        secs,
        fit.converged,
    )


def summary(name: str, truth: float, reps: list[Replicate]) -> dict[str, float]:
    """Bias, RSE, coverage and time over replicates."""
    est = np.array([r.estimate for r in reps])
    se = np.array([r.se for r in reps])
    cover = np.array([r.lcl <= truth <= r.ucl for r in reps])
    out = {
        "truth": truth,
        "mean": float(est.mean()),
        "bias_pct": float(100 * (est.mean() - truth) / truth),
        "bias_mc_se_pct": float(100 * est.std(ddof=1) / math.sqrt(len(est)) / truth),
        "rse_pct": float(100 * np.mean(se / np.abs(est))),
        "coverage": float(cover.mean()),
        "covered": int(cover.sum()),
        "replicates": len(reps),
        "not_converged": int(sum(not r.converged for r in reps)),
        "fit_seconds": float(np.mean([r.seconds for r in reps])),
    }
    print(
        f"{name}: truth {truth:g}, mean {out['mean']:.4f}, bias "
        f"{out['bias_pct']:+.2f} % (MC SE {out['bias_mc_se_pct']:.2f} %), "
        f"RSE {out['rse_pct']:.1f} %, 95 % CI coverage {out['covered']}/"
        f"{len(reps)} = {out['coverage']:.1%}, not converged "
        f"{out['not_converged']}, fit {out['fit_seconds']:.2f} s",
        flush=True,
    )
    return out


def _shown(what: str, fn: Callable[[int], Replicate], seed: int) -> Replicate:
    """Run one replicate and print it (so partial results survive)."""
    r = fn(seed)
    print(
        f"  seed {seed}: {what} {r.estimate:.4f} (SE {r.se:.4f}, "
        f"{r.lcl:.4f}-{r.ucl:.4f}), fit {r.seconds:.2f} s",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--only", choices=["surface", "trend"], default=None)
    args = parser.parse_args()
    seeds = range(args.seed, args.seed + args.replicates)
    warnings.simplefilter("ignore", TrapscapeWarning)
    t0 = time.perf_counter()
    if args.only in (None, "surface"):
        reps = [_shown("beta", surface_replicate, s) for s in seeds]
        summary("beta (D ~ elevation)", BETA, reps)
    if args.only in (None, "trend"):
        reps = [_shown("lambda", trend_replicate, s) for s in seeds]
        summary(f"lambda (D ~ Session, {SESSIONS} sessions)", LAMBDA, reps)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
