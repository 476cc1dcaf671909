"""Simulation recovery of a multi-session trend and a density-surface coefficient.

Known truth, own simulator (Poisson activity centres, HHN proximity
detections with one Bernoulli occasion of 30-50 nights per station, the shape
of the leopard surveys in ``tests/data/secr_multisession``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trapscape import density as dn

LAMBDA0, SIGMA = 0.015, 2500.0

# single replicates may be imprecise (RSE > 30 %): that warning is tested elsewhere
pytestmark = pytest.mark.filterwarnings("ignore::trapscape.density.PrecisionWarning")


def _stations() -> np.ndarray:
    g = np.arange(8) * 2000.0
    return np.array([(x, y) for y in g for x in g[:5]], dtype=float)


def _detect(
    rng: np.random.Generator, traps: np.ndarray, centres: np.ndarray
) -> dn.CaptureHistory:
    usage = rng.integers(30, 51, size=(len(traps), 1)).astype(float)
    d2 = ((centres[:, None, :] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-usage[:, 0][None] * LAMBDA0 * np.exp(-d2 / (2 * SIGMA**2)))
    caps = (rng.random(p.shape) < p).astype(int)[:, None, :]
    keep = caps.sum(axis=(1, 2)) > 0
    return dn.CaptureHistory(traps, usage, caps[keep])


def _centres(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, d_per_100km2: float
) -> np.ndarray:
    n_pop = rng.poisson(d_per_100km2 * np.prod(hi - lo) / 1e8)
    return lo + rng.random((n_pop, 2)) * (hi - lo)


@pytest.mark.slow
def test_trend_is_recovered() -> None:
    traps = _stations()
    lo, hi = traps.min(0) - 4 * SIGMA, traps.max(0) + 4 * SIGMA
    mask = dn.make_mask(traps, buffer=4 * SIGMA, spacing=600.0)
    rate, d0 = 0.85, 14.0
    ests, covered = [], []
    for rep in range(12):
        rng = np.random.default_rng(1000 + rep)
        sessions = [
            dn.Session(
                f"year{k}",
                _detect(rng, traps, _centres(rng, lo, hi, d0 * rate**k)),
                mask,
            )
            for k in range(4)
        ]
        fit = dn.fit_sessions(sessions, density="~Session")
        ests.append(fit.trend["lambda"])
        covered.append(fit.trend["lcl"] <= rate <= fit.trend["ucl"])
    assert abs(np.mean(ests) / rate - 1) < 0.05
    assert np.mean(covered) >= 0.75  # 12 replicates: 95 % nominal


@pytest.mark.slow
def test_surface_coefficient_is_recovered() -> None:
    traps = _stations()[:, ::-1].copy()  # 8 stations along x: the gradient
    mask = dn.make_mask(traps, buffer=4 * SIGMA, spacing=600.0)
    beta = 0.5  # per SD of x: density rises to the east
    mean_x, sd_x = float(mask.xy[:, 0].mean()), float(mask.xy[:, 0].std(ddof=1))
    ests, covered = [], []
    for rep in range(12):
        rng = np.random.default_rng(2000 + rep)
        # inhomogeneous Poisson centres on the mask cells
        dens = 20.0 * np.exp(beta * (mask.xy[:, 0] - mean_x) / sd_x)  # per 100 km2
        counts = rng.poisson(dens * mask.cell_area / 1e8)
        cells = np.repeat(np.arange(len(mask)), counts)
        jitter = rng.uniform(-0.5, 0.5, (len(cells), 2)) * mask.spacing
        centres = mask.xy[cells] + jitter
        fit = dn.fit_surface(_detect(rng, traps, centres), mask, density="~x")
        k = fit.beta_names.index("D.x")
        se = math.sqrt(fit.vcov[k, k])
        ests.append(fit.beta[k])
        covered.append(abs(fit.beta[k] - beta) <= 1.96 * se)
    # 12 replicates of a weakly informed slope: bias within 2.5 SE of the mean
    sem = float(np.std(ests, ddof=1)) / math.sqrt(len(ests))
    assert abs(np.mean(ests) - beta) < 2.5 * sem
    assert np.mean(covered) >= 0.75
