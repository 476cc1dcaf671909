"""Coverage grids, gaps and detection-probability (pdot) surfaces."""

from __future__ import annotations

import numpy as np
import pytest

from trapscape import coverage
from trapscape.detection import DetectionParams
from trapscape.errors import InputError


# ------------------------------------------------------------------ pdot_points
@pytest.mark.parametrize("d", [0.0, 500.0, 3000.0, 7000.0, 20000.0])
def test_pdot_one_camera_hhn_closed_form(d):
    lam, sig, T = 0.05, 3000.0, 10.5
    p = DetectionParams(lambda0=lam, sigma=sig)
    got = coverage.pdot_points([[500_000.0 + d, 4_760_000.0]], [[500_000.0, 4_760_000.0]],
                               [T], p)
    expected = 1 - np.exp(-T * lam * np.exp(-d**2 / (2 * sig**2)))
    assert abs(got[0] - expected) < 1e-12


def test_pdot_hn_closed_form_and_occasions_collapse():
    p = DetectionParams(detectfn="HN", g0=0.2, lambda0=None, sigma=1500.0, occasion_days=2)
    traps = np.array([[0.0, 0.0], [2000.0, 0.0]])
    usage = np.array([[1.0, 1.0, 0.5], [2.0, 0.0, 0.0]])
    pts = np.array([[100.0, 300.0], [5000.0, -200.0]])
    d2 = ((pts[:, None, :] - traps[None]) ** 2).sum(-1)
    k = 0.2 * np.exp(-d2 / (2 * 1500.0**2))
    expected = 1 - np.prod((1 - k) ** (usage.sum(1) / 2.0), axis=1)
    np.testing.assert_allclose(coverage.pdot_points(pts, traps, usage, p), expected,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(coverage.pdot_points(pts, traps, usage.sum(1), p), expected,
                               rtol=0, atol=1e-12)


def test_pdot_many_traps_matches_dense_formula():
    rng = np.random.default_rng(0)
    traps = rng.uniform(0, 20_000, (60, 2))
    usage = rng.uniform(0, 3, (60, 30))
    usage[rng.random(usage.shape) < 0.2] = 0.0
    pts = rng.uniform(-5000, 25_000, (5000, 2))
    p = DetectionParams(lambda0=0.02, sigma=1200.0)
    d2 = ((pts[:, None, :] - traps[None]) ** 2).sum(-1)
    expected = 1 - np.exp(-(usage.sum(1) * 0.02 * np.exp(-d2 / (2 * 1200.0**2))).sum(1))
    np.testing.assert_allclose(coverage.pdot_points(pts, traps, usage, p), expected,
                               rtol=0, atol=1e-12)


def test_pdot_by_sex_is_equal_weight_mean():
    traps, usage, pts = [[0.0, 0.0]], [20.0], [[1000.0, 0.0], [4000.0, 0.0]]
    p = DetectionParams(lambda0=0.05, sigma=3000.0,
                        by_sex={"F": {"sigma": 2000.0}, "M": {"lambda0": 0.02, "sigma": 5000.0}})
    f = coverage.pdot_points(pts, traps, usage, DetectionParams(lambda0=0.05, sigma=2000.0))
    m = coverage.pdot_points(pts, traps, usage, DetectionParams(lambda0=0.02, sigma=5000.0))
    np.testing.assert_allclose(coverage.pdot_points(pts, traps, usage, p), (f + m) / 2)


def test_pdot_zero_usage_gives_zero_and_bad_shapes_raise():
    p = DetectionParams()
    assert coverage.pdot_points([[0.0, 0.0]], [[0.0, 0.0]], [0.0], p)[0] == 0.0
    with pytest.raises(InputError, match="usage must have shape"):
        coverage.pdot_points([[0.0, 0.0]], [[0.0, 0.0]], [1.0, 2.0], p)
    with pytest.raises(InputError, match=r"points must be an \(n, 2\)"):
        coverage.pdot_points([0.0, 0.0, 1.0], [[0.0, 0.0]], [1.0], p)
