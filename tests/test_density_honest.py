"""Zones without stations, non-convergence and small samples in SCR fits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from trapscape import density as dn
from trapscape.density import _setup
from trapscape.density.fitting import RSE_WARN, SIGMA_CI_RATIO_MAX, check_precision
from trapscape.errors import ComputationError, TrapscapeWarning


def _grid_history(
    seed: int, *, dens: float = 40.0, occasions: int = 20, n_side: int = 6
) -> dn.CaptureHistory:
    """HHN proximity detections on a square grid of 500 m (Poisson centres)."""
    rng = np.random.default_rng(seed)
    g = np.arange(n_side) * 500.0
    traps = np.array([(x, y) for y in g for x in g])
    lo, hi = traps.min(0) - 2500, traps.max(0) + 2500
    n_pop = rng.poisson(dens * np.prod(hi - lo) / 1e8)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    d2 = ((centres[:, None, :] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-0.1 * np.exp(-d2 / (2 * 500.0**2)))
    caps = (rng.random((n_pop, occasions, len(traps))) < p[:, None, :]).astype(int)
    keep = caps.sum(axis=(1, 2)) > 0
    return dn.CaptureHistory(traps, np.ones((len(traps), occasions)), caps[keep])


ZONES = {
    "W": box(-1e5, -1e5, 1250, 3000),
    "E": box(1250, -1e5, 1e5, 3000),
    "X": box(-1e5, 3000, 1e5, 1e5),  # north of the stations: none there
}


def test_zone_without_stations_is_left_out() -> None:
    ch = _grid_history(9, dens=150.0)
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0, zones=ZONES)
    assert "X" in set(mask.zone or ())
    left_out = _setup.unsurveyed_zones(ch, mask)
    assert set(left_out) == {"X"} and left_out["X"] in ("W", "E")
    box_all = box(-2500, -2500, 5000, 5000)
    regions = {"all": box_all, "X": ZONES["X"].intersection(box_all)}
    res = dn.fit(ch, mask, model="zone", regions=regions, region_zones=ZONES)
    names = res.estimates["parameter"].tolist()
    assert [n for n in names if n.startswith("D")] == ["D[E]", "D[W]"]
    assert res.settings["zones_left_out"] == ["X"]
    assert any("'X' has no station" in note for note in res.settings["notes"])
    assert np.all(np.isfinite(res.estimates["se"]))
    # no density is estimated in the left-out zone
    rn = res.region_n.set_index(["region", "quantity"])
    assert rn.loc[("X", "E.N"), "estimate"] == 0.0
    # the same as a fit on the mask without the zone's points
    keep = np.array([z != "X" for z in mask.zone or ()])
    cut = dn.Mask(mask.xy[keep], mask.spacing, zone=tuple(np.array(mask.zone)[keep]))
    ref = dn.fit(ch, cut, model="zone")
    assert res.loglik == pytest.approx(ref.loglik, rel=1e-9)
    assert res.estimate("D[E]") == pytest.approx(ref.estimate("D[E]"), rel=1e-5)


def test_a_fit_that_does_not_converge_is_an_error() -> None:
    ch = _grid_history(9)
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0)
    start = [math.log(1e-6), math.log(5.0), math.log(20000.0)]
    with pytest.raises(ComputationError, match="did not converge"):
        dn.fit(ch, mask, start=start, maxiter=1)


def test_rse_column_and_warning_above_threshold() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["D", "lambda0", "sigma"],
            "link": ["log"] * 3,
            "estimate": [1.0, 0.05, 2000.0],
            "se": [0.45, 0.01, 200.0],
            "lcl": [0.4, 0.03, 1600.0],
            "ucl": [2.5, 0.07, 2500.0],
        }
    )
    with pytest.warns(TrapscapeWarning, match="RSE 45 %"):
        notes = check_precision(table, n=5, n_recaptures=4)
    assert table["rse"].iloc[0] == pytest.approx(0.45)
    assert len(notes) == 1 and "above 30 %" in notes[0]
    assert RSE_WARN == 0.30


def test_flat_sigma_is_refused() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["D", "lambda0", "sigma"],
            "link": ["log"] * 3,
            "estimate": [1.0, 0.05, 18000.0],
            "se": [0.2, 0.01, 20000.0],
            "lcl": [0.6, 0.03, 3700.0],
            "ucl": [1.5, 0.07, 86000.0],
        }
    )
    with pytest.raises(ComputationError, match="flat in sigma"):
        check_precision(table, n=3, n_recaptures=2)
    assert SIGMA_CI_RATIO_MAX < 86000 / 3700


def test_small_survey_flags_imprecise_density() -> None:
    ch = _grid_history(5, dens=8.0, occasions=10)
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0)
    with pytest.warns(TrapscapeWarning, match="imprecise"):
        res = dn.fit(ch, mask)
    d = res.estimates.set_index("parameter").loc["D"]
    assert d["rse"] > RSE_WARN
    assert res.to_dict()["estimates"][0]["rse"] == pytest.approx(d["rse"])
