"""Tests of trapscape.density: likelihood, secr agreement, fitting, surveys."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln
from shapely.geometry import Point, box

from trapscape import density as dn
from trapscape import validation as V
from trapscape.density import _likelihood as _lik
from trapscape.density import _setup, abundance
from trapscape.detection import DetectionParams
from trapscape.errors import ComputationError, InputError, TrapscapeWarning
from trapscape.survey import Survey

DATA = Path(__file__).parent / "data" / "secr"

# small simulated surveys give imprecise densities: that warning has its own
# tests (test_density_honest.py)
pytestmark = pytest.mark.filterwarnings("ignore::trapscape.density.PrecisionWarning")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def load_captdata() -> dn.CaptureHistory:
    traps = pd.read_csv(DATA / "traps.csv")
    caps = pd.read_csv(DATA / "captures.csv")
    ids = sorted(caps["ID"].unique())
    tidx = {t: i for i, t in enumerate(traps["trapID"])}
    arr = np.zeros((len(ids), 5, len(traps)), dtype=int)
    for r in caps.itertuples():
        arr[ids.index(r.ID), r.occasion - 1, tidx[r.trapID]] += 1
    return dn.CaptureHistory(
        traps[["x", "y"]].to_numpy(float), np.ones((len(traps), 5)), arr
    )


def read_json(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def simulate_ch(
    rng: np.random.Generator,
    *,
    density_per_100km2: float = 40.0,
    lambda0: float = 0.1,
    sigma: float = 500.0,
    n_side: int = 6,
    spacing: float = 500.0,
    occasions: int = 20,
    buffer: float = 2500.0,
    detectfn: str = "HHN",
    sex_sigma: dict | None = None,
) -> dn.CaptureHistory:
    """Poisson centres in the trap bounding box + buffer; proximity detections."""
    g = np.arange(n_side) * spacing
    traps = np.array([(x, y) for y in g for x in g], dtype=float)
    lo, hi = traps.min(0) - buffer, traps.max(0) + buffer
    n_pop = rng.poisson(density_per_100km2 * np.prod(hi - lo) / 1e8)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    sexes = rng.choice(["F", "M"], size=n_pop)
    sig = np.full(n_pop, sigma)
    if sex_sigma:
        sig = np.array([sex_sigma[s] for s in sexes])
    usage = np.ones((len(traps), occasions))
    usage[0, :5] = 0.0
    d2 = ((centres[:, None, :] - traps[None]) ** 2).sum(-1)
    h = np.exp(-d2 / (2 * sig[:, None] ** 2))
    if detectfn == "HHN":
        p = 1 - np.exp(-lambda0 * h[:, None, :] * usage.T[None])
    else:
        p = lambda0 * h[:, None, :] * usage.T[None]
    caps = (rng.random(p.shape) < p).astype(int)
    keep = caps.sum(axis=(1, 2)) > 0
    return dn.CaptureHistory(traps, usage, caps[keep], sex=tuple(sexes[keep]))


def brute_loglik(
    ch: dn.CaptureHistory,
    mask: dn.Mask,
    dens_per_ha: float,
    p0: float,
    sigma: float,
    detectfn: str,
) -> float:
    """Loop-based secr likelihood (per occasion; usage in {0, 1})."""
    a = mask.cell_area / 1e4
    n, k_occ, j_n = ch.captures.shape
    total = 0.0
    pdot_sum = 0.0
    for m in range(len(mask)):
        x = mask.xy[m]
        q = 1.0
        for j in range(j_n):
            d2 = (x[0] - ch.traps_xy[j, 0]) ** 2 + (x[1] - ch.traps_xy[j, 1]) ** 2
            g = p0 * math.exp(-d2 / (2 * sigma**2))
            for k in range(k_occ):
                u = ch.usage[j, k]
                if ch.detector == "proximity":
                    p = g if detectfn == "HN" else 1 - math.exp(-g)
                    q *= (1 - p) ** u
                else:  # Poisson hazard: lambda0 h (HHN) or -log(1 - g0 h) (HN)
                    q *= math.exp(-u * (g if detectfn == "HHN" else -math.log1p(-g)))
        pdot_sum += 1 - q
    for i in range(n):
        s = 0.0
        for m in range(len(mask)):
            x = mask.xy[m]
            lp = 0.0
            for j in range(j_n):
                d2 = (x[0] - ch.traps_xy[j, 0]) ** 2 + (x[1] - ch.traps_xy[j, 1]) ** 2
                g = p0 * math.exp(-d2 / (2 * sigma**2))
                for k in range(k_occ):
                    u = ch.usage[j, k]
                    y = ch.captures[i, k, j]
                    if u == 0:
                        continue
                    if ch.detector == "proximity":
                        p = g if detectfn == "HN" else 1 - math.exp(-g)
                        lp += math.log(p) if y else math.log(1 - p)
                    else:
                        mu = (g if detectfn == "HHN" else -math.log1p(-g)) * u
                        lp += y * math.log(mu) - mu - math.lgamma(y + 1)
            s += math.exp(lp)
        total += math.log(s * a * dens_per_ha)
    ll = total - dens_per_ha * a * pdot_sum
    # secr's collapsed-occasion constants
    counts = ch.captures.sum(axis=1)
    usage = ch.usage.sum(axis=1)
    if ch.detector == "proximity":
        for i in range(n):
            for j in range(j_n):
                y = counts[i, j]
                if y:
                    ll += (
                        gammaln(usage[j] + 1)
                        - gammaln(y + 1)
                        - gammaln(usage[j] - y + 1)
                    )
    else:
        # secr collapses occasions: Poisson(Y; U mu) for the total Y and total
        # usage U, which differs from the per-occasion product by the
        # multinomial split of Y over occasions
        for i in range(n):
            for j in range(j_n):
                y = counts[i, j]
                if y == 0:
                    continue
                per_occ = sum(
                    math.lgamma(ch.captures[i, k, j] + 1)
                    - ch.captures[i, k, j] * math.log(ch.usage[j, k])
                    for k in range(k_occ)
                    if ch.usage[j, k] > 0
                )
                ll += per_occ - math.lgamma(y + 1) + y * math.log(usage[j])
    keys: dict[bytes, int] = {}
    for i in range(n):
        kk = counts[i].tobytes()
        keys[kk] = keys.get(kk, 0) + 1
    ll -= sum(math.lgamma(c + 1) for c in keys.values())
    return ll


# ---------------------------------------------------------------------------
# likelihood against brute force and secr
# ---------------------------------------------------------------------------
def tiny_ch(detector: str = "proximity") -> dn.CaptureHistory:
    traps = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    usage = np.ones((4, 3))
    usage[3, 2] = 0.0
    caps = np.zeros((3, 3, 4), dtype=int)
    caps[0, 0, 0] = caps[0, 1, 1] = 1
    caps[1, 2, 2] = 1
    caps[2, 0, 3] = 1
    caps[2, 1, 3] = 2 if detector == "count" else 1
    return dn.CaptureHistory(traps, usage, caps, detector=detector)


@pytest.mark.parametrize(
    ("detector", "detectfn"),
    [("proximity", "HN"), ("proximity", "HHN"), ("count", "HHN"), ("count", "HN")],
)
def test_loglik_matches_brute_force(detector: str, detectfn: str) -> None:
    ch = tiny_ch(detector)
    mask = dn.make_mask(ch.traps_xy, buffer=150.0, spacing=50.0)
    kw = {"lambda0": 0.3} if detectfn == "HHN" else {"g0": 0.3}
    ll = dn.log_likelihood(
        ch, mask, density_per_100km2=5e4, sigma=60.0, detectfn=detectfn, **kw
    )
    ref = brute_loglik(ch, mask, 5.0, 0.3, 60.0, detectfn)
    assert ll == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("spacing", [5, 10, 20])
def test_loglik_matches_secr(spacing: int) -> None:
    ref = read_json(f"ll_spacing{spacing}.json")
    ch = load_captdata()
    mask = dn.make_mask(ch.traps_xy, buffer=100.0, spacing=float(spacing))
    assert len(mask) == ref["mask_points"]
    real = ref["at_real"]
    ll = dn.log_likelihood(
        ch,
        mask,
        density_per_100km2=real["D"] * 1e4,
        g0=real["g0"],
        sigma=real["sigma"],
        detectfn="HN",
    )
    assert ll == pytest.approx(ref["logLik"], rel=1e-9)


@pytest.mark.parametrize(
    ("name", "detectfn"),
    [
        ("fit_proximity_spacing10.json", "HN"),
        ("fit_proximity_HHN_spacing10.json", "HHN"),
    ],
)
def test_fit_matches_secr(name: str, detectfn: str) -> None:
    ref = read_json(name)
    ch = load_captdata()
    mask = dn.make_mask(ch.traps_xy, buffer=100.0, spacing=10.0)
    res = dn.fit(ch, mask, detectfn=detectfn)
    assert res.converged
    assert res.loglik == pytest.approx(ref["logLik"], rel=1e-7)
    assert res.aic == pytest.approx(ref["AIC"], abs=2e-3)
    assert res.aicc == pytest.approx(ref["AICc"], abs=2e-3)
    for par, vals in ref["estimates"].items():
        scale = 1e4 if par == "D" else 1.0
        row = res.estimates.set_index("parameter").loc[par]
        assert row["estimate"] == pytest.approx(vals["estimate"] * scale, rel=1e-3)
        assert row["se"] == pytest.approx(vals["SE"] * scale, rel=0.01)
        assert row["lcl"] == pytest.approx(vals["lcl"] * scale, rel=2e-3)
        assert row["ucl"] == pytest.approx(vals["ucl"] * scale, rel=2e-3)
    np.testing.assert_allclose(
        res.vcov, np.array(ref["beta"]["vcov"]), rtol=0.02, atol=2e-5
    )
    dp = res.detection_params()
    assert isinstance(dp, DetectionParams)
    assert dp.detectfn == detectfn
    assert dp.sigma == pytest.approx(ref["estimates"]["sigma"]["estimate"], rel=1e-3)


# ---------------------------------------------------------------------------
# gradient and model identities
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("detectfn", ["HN", "HHN"])
@pytest.mark.parametrize("model", ["null", "sex", "zone", "sex+zone"])
@pytest.mark.parametrize("detector", ["proximity", "count"])
def test_analytic_gradient(detectfn: str, model: str, detector: str) -> None:
    rng = np.random.default_rng(3)
    ch = simulate_ch(rng, occasions=6, detectfn=detectfn, lambda0=0.2)
    if detector == "count":
        ch = dn.CaptureHistory(
            ch.traps_xy, ch.usage, ch.captures * 2, detector="count", sex=ch.sex
        )
    sex = list(ch.sex)
    sex[0] = None  # one unknown sex: mixture term
    ch = dn.CaptureHistory(
        ch.traps_xy, ch.usage, ch.captures, detector=ch.detector, sex=tuple(sex)
    )
    zones = {"W": box(-1e5, -1e5, 1250, 1e5), "E": box(1250, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=1500.0, spacing=250.0, zones=zones)
    design, _, _ = _setup._design(ch, mask, detectfn=detectfn, model=model)
    beta = rng.normal(size=design.n_beta) * 0.2
    nd = design.n_d
    beta[:nd] += math.log(40 / 1e4)
    beta[nd : nd + design.n_classes] += -1.5
    beta[nd + design.n_classes : nd + 2 * design.n_classes] += math.log(500)
    _, g = _lik.loglik_and_gradient(beta, design)
    num = _lik.numeric_gradient(beta, design, step=1e-6)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5)


def test_sex_and_zone_models_reduce_to_null() -> None:
    rng = np.random.default_rng(5)
    ch = simulate_ch(rng)
    zones = {"W": box(-1e5, -1e5, 1250, 1e5), "E": box(1250, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0, zones=zones)
    null, _, _ = _setup._design(ch, mask, detectfn="HHN", model="null")
    b0 = np.array([math.log(40 / 1e4), math.log(0.1), math.log(500)])
    ll0 = _lik.loglik(b0, null)
    zone, levels, _ = _setup._design(ch, mask, detectfn="HHN", model="zone")
    assert levels == ["E", "W"]
    assert _lik.loglik(np.r_[b0[0], b0], zone) == pytest.approx(ll0, rel=1e-12)
    # sex with known classes: null + sum log pi(class) (+ identical-history grouping)
    sex, _, _ = _setup._design(ch, mask, detectfn="HHN", model="sex")
    pm = 0.3
    bs = np.r_[b0[0], b0[1], b0[1], b0[2], b0[2], math.log(pm / (1 - pm))]
    n_m = sum(s == "M" for s in ch.sex)
    expect = ll0 + n_m * math.log(pm) + (ch.n - n_m) * math.log(1 - pm)
    expect += null.constant - sex.constant
    assert _lik.loglik(bs, sex) == pytest.approx(expect, rel=1e-10)


# ---------------------------------------------------------------------------
# fitting on simulated data
# ---------------------------------------------------------------------------
def test_simulation_recovery_few_replicates() -> None:
    rng = np.random.default_rng(11)
    true = 40.0
    ests, covered = [], 0
    for _ in range(4):
        ch = simulate_ch(rng, density_per_100km2=true)
        mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=200.0)
        res = dn.fit(ch, mask)
        row = res.estimates.set_index("parameter").loc["D"]
        ests.append(row["estimate"])
        covered += row["lcl"] <= true <= row["ucl"]
        assert res.estimate("sigma") == pytest.approx(500.0, rel=0.25)
    assert np.mean(ests) == pytest.approx(true, rel=0.3)
    assert covered >= 3


@pytest.mark.slow
def test_simulation_bias_and_coverage() -> None:
    """200 simulated surveys (~30 animals detected each): bias of D and CI coverage."""
    rng = np.random.default_rng(2024)
    true = 150.0
    ests, covered = [], []
    for _ in range(200):
        ch = simulate_ch(rng, density_per_100km2=true)
        mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0)
        row = dn.fit(ch, mask).estimates.set_index("parameter").loc["D"]
        ests.append(row["estimate"])
        covered.append(row["lcl"] <= true <= row["ucl"])
    assert abs(np.mean(ests) / true - 1) < 0.05
    assert 0.91 <= np.mean(covered) <= 0.98


def test_sex_model_recovers_sigma_difference() -> None:
    rng = np.random.default_rng(8)
    ch = simulate_ch(
        rng, density_per_100km2=80.0, sex_sigma={"F": 350.0, "M": 700.0}, buffer=3000.0
    )
    sex = list(ch.sex)
    for k in range(0, len(sex), 5):
        sex[k] = None  # some unknown: finite mixture
    ch = dn.CaptureHistory(ch.traps_xy, ch.usage, ch.captures, sex=tuple(sex))
    mask = dn.make_mask(ch.traps_xy, buffer=3000.0, spacing=300.0)
    res = dn.fit(ch, mask, model="sex")
    assert res.estimate("sigma[F]") < res.estimate("sigma[M]")
    assert res.estimate("sigma[M]") == pytest.approx(700, rel=0.3)
    dp = res.detection_params()
    assert set(dp.by_sex) == {"F", "M"}
    known = [s for s in sex if s is not None]
    # males range wider, so they are over-represented among detected animals;
    # the population proportion pmix corrects for that (true value 0.5)
    assert 0.2 < res.estimate("pmix[M]") < known.count("M") / len(known)
    assert res.npar == 6


def test_zone_model_and_regions() -> None:
    rng = np.random.default_rng(9)
    ch = simulate_ch(rng)
    zones = {"China": box(-1e5, -1e5, 1250, 1e5), "Russia": box(1250, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0, zones=zones)
    regions = {
        "all": box(-2500, -2500, 5000, 5000),
        "Russia": zones["Russia"].intersection(box(-2500, -2500, 5000, 5000)),
    }
    res = dn.fit(ch, mask, model="zone", regions=regions, region_zones=zones)
    names = res.estimates["parameter"].tolist()
    assert names[:2] == ["D[China]", "D[Russia]"]
    rn = res.region_n.set_index(["region", "quantity"])
    assert rn.loc[("all", "R.N"), "estimate"] >= ch.n - 1e-6
    assert (
        rn.loc[("Russia", "R.N.local"), "estimate"] < rn.loc[("all", "R.N"), "estimate"]
    )
    assert rn.loc[("Russia", "E.N"), "estimate"] < rn.loc[("all", "E.N"), "estimate"]
    en = rn.loc[("all", "E.N")]
    assert en["lcl"] < en["estimate"] < en["ucl"]


def test_region_n_added_after_fit_matches_fit_with_regions() -> None:
    """fit_survey skips region N on a first fit that may be refitted and adds
    it afterwards only to the kept fit: the table must be the same."""
    rng = np.random.default_rng(9)
    ch = simulate_ch(rng)
    zones = {"China": box(-1e5, -1e5, 1250, 1e5), "Russia": box(1250, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0, zones=zones)
    regions = {
        "all": box(-2500, -2500, 5000, 5000),
        "Russia": zones["Russia"].intersection(box(-2500, -2500, 5000, 5000)),
    }
    with_r = dn.fit(ch, mask, model="zone", regions=regions, region_zones=zones)
    bare = dn.fit(ch, mask, model="zone", regions=None, region_zones=zones)
    assert bare.region_n.empty
    np.testing.assert_array_equal(bare.beta, with_r.beta)
    added = abundance._with_region_n(
        bare, ch, mask, regions=regions, region_zones=zones
    )
    pd.testing.assert_frame_equal(added.region_n, with_r.region_n)
    pd.testing.assert_frame_equal(added.estimates, with_r.estimates)
    assert (
        abundance._with_region_n(bare, ch, mask, regions=None, region_zones=zones)
        is bare
    )


def simulate_zone_sex_ch(
    rng: np.random.Generator,
    *,
    densities: dict[str, float],
    sex_sigma: dict[str, float],
    split_x: float,
    lambda0: float = 0.1,
    n_side: int = 8,
    spacing: float = 500.0,
    occasions: int = 15,
    buffer: float = 3000.0,
) -> tuple[dn.CaptureHistory, dict[str, int]]:
    """Centres with density ``densities['W']`` west of ``split_x`` and
    ``densities['E']`` east of it (per 100 km²), sex-specific sigma, HHN
    proximity detections.  Returns the history and the true number of
    centres per zone."""
    g = np.arange(n_side) * spacing
    traps = np.array([(x, y) for y in g for x in g], dtype=float)
    lo, hi = traps.min(0) - buffer, traps.max(0) + buffer
    centres = []
    for z, (x0, x1) in {"W": (lo[0], split_x), "E": (split_x, hi[0])}.items():
        area = (x1 - x0) * (hi[1] - lo[1])
        k = rng.poisson(densities[z] * area / 1e8)
        xy = np.column_stack(
            [x0 + rng.random(k) * (x1 - x0), lo[1] + rng.random(k) * (hi[1] - lo[1])]
        )
        centres.append(xy)
    xy = np.vstack(centres)
    truth = {
        "W": int(np.sum(xy[:, 0] < split_x)),
        "E": int(np.sum(xy[:, 0] >= split_x)),
    }
    sexes = rng.choice(["F", "M"], size=len(xy))
    sig = np.array([sex_sigma[s] for s in sexes])
    usage = np.ones((len(traps), occasions))
    d2 = ((xy[:, None, :] - traps[None]) ** 2).sum(-1)
    h = np.exp(-d2 / (2 * sig[:, None] ** 2))
    p = 1 - np.exp(-lambda0 * h[:, None, :] * usage.T[None])
    caps = (rng.random(p.shape) < p).astype(int)
    keep = caps.sum(axis=(1, 2)) > 0
    return dn.CaptureHistory(traps, usage, caps[keep], sex=tuple(sexes[keep])), truth


def test_sex_zone_model_reduces_to_sex_model() -> None:
    rng = np.random.default_rng(5)
    ch = simulate_ch(rng, sex_sigma={"F": 400.0, "M": 600.0})
    zones = {"W": box(-1e5, -1e5, 1250, 1e5), "E": box(1250, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=250.0, zones=zones)
    sex, _, classes = _setup._design(ch, mask, detectfn="HHN", model="sex")
    both, levels, classes2 = _setup._design(ch, mask, detectfn="HHN", model="sex+zone")
    assert levels == ["E", "W"] and classes == classes2 == ["F", "M"]
    assert both.n_beta == sex.n_beta + 1
    bs = np.array(
        [
            math.log(40 / 1e4),  # D
            math.log(0.1),  # lambda0[F]
            math.log(0.12),  # lambda0[M]
            math.log(400),  # sigma[F]
            math.log(600),  # sigma[M]
            0.3,  # logit pmix[M]
        ]
    )
    # equal zone densities: the same likelihood as the sex model
    assert _lik.loglik(np.r_[bs[0], bs], both) == pytest.approx(
        _lik.loglik(bs, sex), rel=1e-12
    )
    # different zone densities change it
    assert _lik.loglik(np.r_[bs[0] + 0.5, bs], both) != pytest.approx(
        _lik.loglik(bs, sex), rel=1e-6
    )


def test_sex_zone_model_recovers_zone_densities_and_sigmas() -> None:
    """Density 100 vs 300 per 100 km² across a line, sigma 350 (F) / 700 (M)."""
    rng = np.random.default_rng(21)
    dens = {"W": 100.0, "E": 300.0}
    ch, truth = simulate_zone_sex_ch(
        rng, densities=dens, sex_sigma={"F": 350.0, "M": 700.0}, split_x=1750.0
    )
    zones = {"W": box(-1e5, -1e5, 1750, 1e5), "E": box(1750, -1e5, 1e5, 1e5)}
    mask = dn.make_mask(ch.traps_xy, buffer=3000.0, spacing=300.0, zones=zones)
    lo, hi = ch.traps_xy.min(0) - 3000.0, ch.traps_xy.max(0) + 3000.0
    regions = {
        z: g.intersection(box(lo[0], lo[1], hi[0], hi[1])) for z, g in zones.items()
    }
    res = dn.fit(ch, mask, model="sex+zone", regions=regions, region_zones=zones)
    assert res.converged
    assert res.npar == 7
    est = res.estimates.set_index("parameter")
    assert est.index.tolist() == [
        "D[E]",
        "D[W]",
        "lambda0[F]",
        "lambda0[M]",
        "sigma[F]",
        "sigma[M]",
        "pmix[M]",
    ]
    for z, d in dens.items():
        assert est.loc[f"D[{z}]", "lcl"] < d < est.loc[f"D[{z}]", "ucl"]
    assert est.loc["D[W]", "estimate"] < est.loc["D[E]", "estimate"]
    assert est.loc["sigma[F]", "estimate"] == pytest.approx(350.0, rel=0.2)
    assert est.loc["sigma[M]", "estimate"] == pytest.approx(700.0, rel=0.2)
    rn = res.region_n.set_index(["region", "quantity"])
    for z in dens:
        row = rn.loc[(z, "R.N.local")]
        assert row["lcl"] < truth[z] < row["ucl"]
    dp = res.detection_params()
    assert set(dp.by_sex) == {"F", "M"}
    assert res.to_dict()["model"] == "sex+zone"


def test_null_region_n_follows_secr_region_n() -> None:
    ch = load_captdata()
    mask = dn.make_mask(ch.traps_xy, buffer=100.0, spacing=20.0)
    region = box(300, 300, 700, 700)  # 20 x 20 cells of the 20 m region mask
    res = dn.fit(ch, mask, detectfn="HN", regions={"box": region})
    rn = res.region_n.set_index("quantity")
    d_row = res.estimates.set_index("parameter").loc["D"]
    # E.N = D x region size; SE(E.N) = SE(D) x region size (per 100 km2 -> m2)
    assert rn.loc["E.N", "estimate"] == pytest.approx(
        d_row["estimate"] * region.area / 1e8, rel=1e-9
    )
    assert rn.loc["E.N", "se"] == pytest.approx(
        d_row["se"] * region.area / 1e8, rel=1e-9
    )
    # R.N = n + undetected; SE = sqrt(SE(E.N)^2 - E.N); CI bounded below by n
    assert rn.loc["R.N", "estimate"] > ch.n
    assert rn.loc["R.N", "se"] == pytest.approx(
        math.sqrt(rn.loc["E.N", "se"] ** 2 - rn.loc["E.N", "estimate"]), rel=1e-9
    )
    assert (
        ch.n < rn.loc["R.N", "lcl"] < rn.loc["R.N", "estimate"] < rn.loc["R.N", "ucl"]
    )
    # the posterior-weighted count cannot exceed secr's R.N
    assert rn.loc["R.N.local", "estimate"] <= rn.loc["R.N", "estimate"] + 1e-9


def test_buffer_check_warns_for_small_buffer() -> None:
    rng = np.random.default_rng(4)
    ch = simulate_ch(rng)
    small = dn.make_mask(ch.traps_xy, buffer=500.0, spacing=100.0)
    res = dn.fit(ch, small)
    with pytest.warns(TrapscapeWarning, match="buffer"):
        change = dn.buffer_check(res, ch, small)
    assert change < -0.01  # D overestimated with a too-small buffer


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def _ch_from(caps: np.ndarray) -> dn.CaptureHistory:
    traps = np.array([[0.0, 0.0], [500.0, 0.0], [0.0, 500.0]])
    return dn.CaptureHistory(traps, np.ones((3, caps.shape[1])), caps)


def test_fit_refuses_unfittable_data() -> None:
    mask = dn.make_mask(
        np.array([[0.0, 0.0], [500.0, 0.0], [0.0, 500.0]]), buffer=1000.0, spacing=100.0
    )
    single = np.zeros((1, 3, 3), dtype=int)
    single[0, 0, 0] = single[0, 1, 1] = 1
    with pytest.raises(ComputationError, match="only one individual"):
        dn.fit(_ch_from(single), mask)
    norecap = np.zeros((2, 3, 3), dtype=int)
    norecap[0, 0, 0] = norecap[1, 1, 1] = 1
    with pytest.raises(ComputationError, match="no animal was recaptured"):
        dn.fit(_ch_from(norecap), mask)
    one_station = np.zeros((2, 3, 3), dtype=int)
    one_station[0, 0, 0] = one_station[0, 1, 0] = one_station[1, 2, 0] = 1
    with pytest.raises(ComputationError, match="one station"):
        dn.fit(_ch_from(one_station), mask)
    with pytest.raises(ComputationError, match="no individual"):
        dn.fit(_ch_from(np.zeros((0, 3, 3), dtype=int)), mask)


def test_capture_history_validation() -> None:
    traps = np.array([[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(InputError, match="usage must be"):
        dn.CaptureHistory(traps, np.ones((2, 4)), np.zeros((1, 3, 2)))
    with pytest.raises(InputError, match="at most one detection"):
        dn.CaptureHistory(traps, np.ones((2, 3)), np.full((1, 3, 2), 2))
    with pytest.raises(InputError, match="zero usage"):
        caps = np.zeros((1, 3, 2))
        caps[0, 1, 0] = 1
        use = np.ones((2, 3))
        use[0, 1] = 0
        dn.CaptureHistory(traps, use, caps)
    with pytest.raises(InputError, match="detectfn"):
        ch = load_captdata()
        dn.fit(ch, dn.make_mask(ch.traps_xy, buffer=100, spacing=20), detectfn="EX")
    with pytest.raises(InputError, match="sigma_guess"):
        dn.make_mask(traps)


def test_make_mask_clips_to_habitat_and_labels_zones() -> None:
    traps = np.array([[0.0, 0.0], [1000.0, 0.0]])
    land = box(-5000, -5000, 500, 5000)
    mask = dn.make_mask(
        traps,
        buffer=2000.0,
        spacing=100.0,
        habitat=land,
        zones={"A": box(-5000, -5000, 0, 5000), "B": box(0, -100, 300, 100)},
    )
    assert mask.xy[:, 0].max() < 500
    zone = np.array(mask.zone)
    assert set(zone) == {"A", "B"}
    # points in no zone take the nearest one
    assert np.all(zone[mask.xy[:, 0] < 0] == "A")
    near_b = (mask.xy[:, 0] > 300) & (np.abs(mask.xy[:, 1]) < 100)
    assert near_b.any()
    assert np.all(zone[near_b] == "B")
    full = dn.make_mask(traps, buffer=2000.0, spacing=100.0)
    assert len(full) > len(mask)
    auto = dn.make_mask(traps, sigma_guess=500.0, max_points=300)
    assert len(auto) <= 300
    assert auto.buffer == 2000.0


# ---------------------------------------------------------------------------
# surveys
# ---------------------------------------------------------------------------
def survey_from_ch(
    ch: dn.CaptureHistory, *, x0: float = 500_000.0, y0: float = 4_760_000.0
) -> Survey:
    """Turn a simulated capture history into a Survey (daily occasions)."""
    crs = "EPSG:32652"
    start = pd.Timestamp("2024-01-01 00:00")
    k = ch.n_occasions
    st = gpd.GeoDataFrame(
        {
            V.STATION_ID: [f"S{j:03d}" for j in range(len(ch.traps_xy))],
            V.CAMERA_ID: "a",
            V.DEPLOYMENT_ID: [f"S{j:03d}/a" for j in range(len(ch.traps_xy))],
            V.SETUP: start,
            V.RETRIEVAL: start + pd.Timedelta(days=k),
            V.SETUP_TIME_KNOWN: True,
            V.RETRIEVAL_TIME_KNOWN: True,
        },
        geometry=[Point(x0 + x, y0 + y) for x, y in ch.traps_xy],
        crs=crs,
    )
    rows = []
    for i, kk, j in zip(*np.nonzero(ch.captures), strict=True):
        rows.append(
            (
                f"S{j:03d}",
                start + pd.Timedelta(days=int(kk), hours=12),
                f"L{i:02d}",
                ch.sex[i] if ch.sex else None,
            )
        )
    si = pd.DataFrame(
        {
            V.STATION_ID: [r[0] for r in rows],
            V.CAMERA_ID: "a",
            V.DEPLOYMENT_ID: [f"{r[0]}/a" for r in rows],
            V.TIMESTAMP: pd.to_datetime([r[1] for r in rows]),
            V.SPECIES: "Panthera pardus orientalis",
            V.INDIVIDUAL_ID: pd.array([r[2] for r in rows], dtype="string"),
            V.SEX: pd.array([r[3] for r in rows], dtype="string"),
            V.MEDIA_ID: [f"m{q}" for q in range(len(rows))],
            V.COUNT: 1,
        }
    )
    problems = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: pd.Series(dtype="object"),
            V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
            V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]"),
        }
    )
    ext = box(x0 - 3000, y0 - 3000, x0 + 5500, y0 + 5500)
    zones = gpd.GeoDataFrame(
        {V.NAME: ["China", "Russia"]},
        geometry=[
            box(x0 - 3000, y0 - 3000, x0 + 1250, y0 + 5500),
            box(x0 + 1250, y0 - 3000, x0 + 5500, y0 + 5500),
        ],
        crs=crs,
    )
    study = gpd.GeoDataFrame({V.NAME: ["study"]}, geometry=[ext], crs=crs)
    return Survey(
        stations=st,
        sightings=si,
        problems=problems,
        crs=crs,
        study_area=study,
        zones=zones,
        parks=zones.iloc[[1]].copy(),
        name="sim",
    )


def test_capture_history_from_tiny_survey(tiny_survey: Survey) -> None:
    ch = dn.capture_history(tiny_survey)
    assert ch.individual_ids == ("A", "B")
    assert ch.sex == ("F", "M")
    assert ch.traps_xy.shape == (9, 2)
    assert ch.n_detections == 6
    assert ch.n_recaptures == 4
    j9 = ch.trap_ids.index("S9")
    j1 = ch.trap_ids.index("S1")
    assert ch.usage[j9].sum() == pytest.approx(ch.usage[j1].sum() - 2.0)
    assert ch.captures.sum(axis=1)[0, ch.trap_ids.index("S5")] == 2
    # count detectors: independent events (a burst 10 minutes later is one event)
    extra = tiny_survey.sightings.iloc[[0]].copy()
    extra["timestamp"] = extra["timestamp"] + pd.Timedelta(minutes=10)
    extra["media_id"] = "m-burst"
    burst = tiny_survey.with_sightings(
        pd.concat([tiny_survey.sightings, extra], ignore_index=True)
    )
    counts = dn.capture_history(burst, detector="count")
    assert counts.n_detections == 6
    every = dn.capture_history(burst, detector="count", independence_minutes=0)
    assert every.n_detections == 7


def test_fit_survey_end_to_end() -> None:
    rng = np.random.default_rng(21)
    ch = simulate_ch(rng)
    ch = dn.CaptureHistory(ch.traps_xy, np.ones_like(ch.usage), ch.captures, sex=ch.sex)
    survey = survey_from_ch(ch)
    res = dn.fit_survey(survey, buffer=2000.0, spacing=250.0)
    direct = dn.fit(
        dn.capture_history(survey),
        res_mask := dn.make_mask(
            dn.capture_history(survey).traps_xy, buffer=2000.0, spacing=250.0
        ),
    )
    assert len(res_mask) == res.mask_points
    assert res.n == ch.n
    assert res.estimate("D") == pytest.approx(direct.estimate("D"), rel=1e-6)
    regions = set(res.region_n["region"])
    assert {"study area", "park: Russia", "zone: China", "zone: Russia"} <= regions
    d = res.to_dict()
    assert json.loads(json.dumps(d))["detection"]["detectfn"] == "HHN"
    zone = dn.fit_survey(survey, model="zone", buffer=2000.0, spacing=250.0)
    assert "D[Russia]" in zone.estimates["parameter"].tolist()


@pytest.mark.parametrize("detectfn", ["HN", "HHN"])
@pytest.mark.parametrize("detector", ["proximity", "count"])
def test_fast_path_matches_dense_path(detectfn: str, detector: str) -> None:
    import dataclasses

    rng = np.random.default_rng(12)
    ch = simulate_ch(rng, occasions=8, detectfn=detectfn, lambda0=0.3)
    if detector == "count":
        ch = dn.CaptureHistory(ch.traps_xy, ch.usage, ch.captures * 3, detector="count")
    mask = dn.make_mask(ch.traps_xy, buffer=2500.0, spacing=200.0)
    fast, _, _ = _setup._design(ch, mask, detectfn=detectfn, model="null")
    assert fast.aux is not None
    dense = dataclasses.replace(fast, aux=None, grid=None)
    for sig in (150.0, 500.0, 2000.0):
        beta = np.array([math.log(40 / 1e4), -1.0, math.log(sig)])
        ll_f, g_f = _lik.loglik_and_gradient(beta, fast)
        ll_d, g_d = _lik.loglik_and_gradient(beta, dense)
        assert ll_f == pytest.approx(ll_d, rel=1e-12)
        np.testing.assert_allclose(g_f, g_d, rtol=1e-9, atol=1e-9)


def brute_mixture_loglik(
    ch: dn.CaptureHistory,
    mask: dn.Mask,
    dens_per_ha: float,
    p0: tuple[float, float],
    sigma: tuple[float, float],
    pmix_m: float,
) -> float:
    """secr's hcov mixture likelihood (fastsecrloglikfn), written with loops.

    Proximity HN detectors, collapsed occasions; classes F (0) and M (1).
    """
    a = mask.cell_area / 1e4
    counts = ch.captures.sum(axis=1)
    usage = ch.usage.sum(axis=1)
    pis = (1 - pmix_m, pmix_m)
    n_m = len(mask)
    big_n = dens_per_ha * a * n_m

    def pr(i: int, c: int, m: int) -> float:
        out = 1.0
        for j in range(len(usage)):
            d2 = ((mask.xy[m] - ch.traps_xy[j]) ** 2).sum()
            g = p0[c] * math.exp(-d2 / (2 * sigma[c] ** 2))
            y = counts[i, j] if i >= 0 else 0
            out *= math.comb(int(usage[j]), int(y)) * g**y * (1 - g) ** (usage[j] - y)
        return out

    pdot_c = [sum(1 - pr(-1, c, m) for m in range(n_m)) / n_m for c in (0, 1)]
    ll = 0.0
    inv_sum = 0.0
    n_known = [0, 0]
    for i in range(ch.n):
        s = ch.sex[i]
        w = [1.0, 0.0] if s == "F" else [0.0, 1.0] if s == "M" else list(pis)
        if s is not None:
            n_known[0 if s == "F" else 1] += 1
        prw = sum(w[c] * sum(pr(i, c, m) for m in range(n_m)) / n_m for c in (0, 1))
        pd = sum(w[c] * pdot_c[c] for c in (0, 1))
        ll += math.log(prw) - math.log(pd)
        inv_sum += 1 / pd
    meanpdot = ch.n / inv_sum
    mu = big_n * meanpdot
    ll += ch.n * math.log(mu) - mu - math.lgamma(ch.n + 1)
    present = [c for c in (0, 1) if n_known[c] > 0]
    tot = sum(pdot_c[c] * pis[c] for c in present)
    ll += sum(n_known[c] * math.log(pdot_c[c] * pis[c] / tot) for c in present)
    # logmultinom: log n! - sum log n_w! over identical collapsed histories
    keys: dict[bytes, int] = {}
    for i in range(ch.n):
        keys[counts[i].tobytes()] = keys.get(counts[i].tobytes(), 0) + 1
    ll += math.lgamma(ch.n + 1) - sum(math.lgamma(v + 1) for v in keys.values())
    return ll


@pytest.mark.parametrize(
    "sexes", [("F", None, "M"), ("F", "F", None), ("M", None, None)]
)
def test_sex_mixture_loglik_matches_secr_formula(sexes: tuple) -> None:
    base = tiny_ch()
    ch = dn.CaptureHistory(
        base.traps_xy, np.ones_like(base.usage), base.captures, sex=sexes
    )
    mask = dn.make_mask(ch.traps_xy, buffer=150.0, spacing=50.0)
    design, _, _ = _setup._design(ch, mask, detectfn="HN", model="sex")
    real = _lik.Real(
        density=np.array([5.0]),
        p0=np.array([0.3, 0.2]),
        sigma=np.array([60.0, 90.0]),
        pmix=np.array([0.6, 0.4]),
    )
    ll = _lik.loglik(_lik.pack(real, design), design)
    ref = brute_mixture_loglik(ch, mask, 5.0, (0.3, 0.2), (60.0, 90.0), 0.4)
    assert ll == pytest.approx(ref, rel=1e-10)


def test_integer_usage_follows_secr() -> None:
    base = tiny_ch()
    frac = base.usage.copy()
    frac[0, 0] = 0.5  # summed usage 2.5 -> secr uses 2
    frac[2, 1] = 0.6  # station 2: 2.6 -> 2
    ch = dn.CaptureHistory(base.traps_xy, frac, base.captures)
    mask = dn.make_mask(ch.traps_xy, buffer=150.0, spacing=50.0)
    kw = {"density_per_100km2": 5e4, "sigma": 60.0, "g0": 0.3, "detectfn": "HN"}
    secr_like = dn.log_likelihood(ch, mask, **kw)
    exact = dn.log_likelihood(ch, mask, integer_usage=False, **kw)
    assert secr_like != pytest.approx(exact, rel=1e-6)
    # the same detections with whole-day usage summing to the truncated totals
    whole = base.usage.copy()
    whole[0, 2] = 0.0
    whole[2, 1] = 0.0
    ch_whole = dn.CaptureHistory(base.traps_xy, whole, base.captures)
    assert secr_like == pytest.approx(
        dn.log_likelihood(ch_whole, mask, **kw), rel=1e-12
    )


def test_detection_on_part_day_station_is_allowed() -> None:
    traps = np.array([[0.0, 0.0], [300.0, 0.0], [0.0, 300.0]])
    usage = np.array([[0.5, 0.0], [1.0, 1.0], [1.0, 1.0]])
    caps = np.zeros((2, 2, 3), dtype=int)
    caps[0, 0, 0] = caps[0, 1, 1] = caps[1, 0, 2] = caps[1, 1, 1] = 1
    ch = dn.CaptureHistory(traps, usage, caps)
    mask = dn.make_mask(traps, buffer=600.0, spacing=50.0)
    ll = dn.log_likelihood(
        ch, mask, density_per_100km2=1e4, sigma=150.0, g0=0.3, detectfn="HN"
    )
    assert np.isfinite(ll)


def _simulated_survey(seed: int) -> Survey:
    """A survey from trapscape.simulate: 3 leopards / 100 km2, sigma 3 km, 40 days."""
    from trapscape import simulate

    x0, y0, crs = 500_000.0, 4_760_000.0, "EPSG:32652"
    zones = gpd.GeoDataFrame(
        {V.NAME: ["China", "Russia"]},
        geometry=[
            box(x0 - 30_000, y0 - 30_000, x0 + 10_000, y0 + 60_000),
            box(x0 + 10_000, y0 - 30_000, x0 + 70_000, y0 + 60_000),
        ],
        crs=crs,
    )
    study = gpd.GeoDataFrame(
        {V.NAME: ["study"]},
        geometry=[box(x0 + 10_000, y0, x0 + 40_000, y0 + 30_000)],
        crs=crs,
    )
    params = simulate.SimulationParams(
        densities={"Russia": 3.0, "China": 3.0},
        sigma_f=3000.0,
        sigma_m=3000.0,
        spacing=3000.0,
        days=40,
        extra_zone=None,
        buffer=12_000.0,
        photos_per_event=3.0,
    )
    sim = simulate.simulate_survey(params, study_area=study, zones=zones, rng=seed)
    return Survey(
        stations=sim.stations,
        sightings=sim.sightings,
        problems=sim.problems,
        crs=crs,
        study_area=study,
        zones=zones,
    )


@pytest.mark.slow
def test_recovers_density_of_trapscape_simulate() -> None:
    for seed in range(3):
        res = dn.fit_survey(_simulated_survey(seed))
        d = res.estimates.set_index("parameter").loc["D"]
        assert d["lcl"] <= 3.0 <= d["ucl"]
        assert res.estimate("sigma") == pytest.approx(3000.0, rel=0.1)
        assert res.detection_params().sigma == res.estimate("sigma")


@pytest.mark.slow
def test_trapscape_simulate_bias_and_coverage() -> None:
    ests, covered = [], []
    for seed in range(100, 140):
        d = dn.fit_survey(_simulated_survey(seed)).estimates.set_index("parameter")
        ests.append(d.loc["D", "estimate"])
        covered.append(d.loc["D", "lcl"] <= 3.0 <= d.loc["D", "ucl"])
    assert abs(np.mean(ests) / 3.0 - 1) < 0.05
    assert np.mean(covered) >= 0.85


# --------------------------------------------------------------------------
# regressions found in review


def test_exported_hn_parameters_reproduce_the_fits_own_pdot_with_weekly_occasions():
    """g0 is per day of usage: detection_params() gives the fit's own p.(x)."""
    import warnings as _w

    from trapscape import coverage

    rng = np.random.default_rng(5)
    g = np.arange(0, 1000, 200.0)
    traps = np.array([(x, y) for x in g for y in g])
    usage = np.full((len(traps), 6), 7.0)  # weekly occasions, usage in days
    caps = []
    for s in rng.uniform(-400, 1400, (120, 2)):
        h = np.exp(-((traps - s) ** 2).sum(1) / (2 * 150.0**2))
        y = (rng.uniform(size=(6, len(traps))) < 1 - (1 - 0.03 * h) ** 7).astype(int)
        if y.sum():
            caps.append(y)
    ch = dn.CaptureHistory(traps, usage, np.array(caps), occasion_days=7.0)
    mask = dn.make_mask(traps, buffer=600, spacing=40)
    with _w.catch_warnings():
        _w.simplefilter("ignore")
        fit = dn.fit(ch, mask, detectfn="HN")
    dp = fit.detection_params()
    design, _, _ = _setup._design(ch, mask, detectfn="HN", model="null")
    own = -np.expm1(_lik.class_terms(design, dp.g0, dp.sigma)["logq"])
    exported = coverage.pdot_points(mask.xy, traps, usage, dp)
    np.testing.assert_allclose(exported, own, rtol=1e-9, atol=1e-12)


def test_count_detector_with_detection_on_a_part_day_station_is_finite():
    """A station that worked half a day and recorded a detection must not give -inf."""
    traps = np.array([[0.0, 0.0], [200.0, 0.0], [0.0, 200.0], [200.0, 200.0]])
    usage = np.ones((4, 3))
    usage[3] = [0.5, 0.0, 0.0]
    caps = np.zeros((3, 3, 4), int)
    caps[0, 0, 0] = caps[0, 1, 1] = caps[1, 0, 3] = caps[1, 2, 2] = 1
    caps[2, 1, 1] = caps[2, 2, 0] = 1
    mask = dn.make_mask(traps, buffer=400, spacing=25)
    ch = dn.CaptureHistory(traps, usage, caps, detector="count")
    ll = dn.log_likelihood(ch, mask, density_per_100km2=3000, sigma=100, lambda0=0.2)
    assert np.isfinite(ll)


def test_make_mask_refuses_a_spacing_over_the_memory_budget() -> None:
    import re

    ch = tiny_ch()
    with pytest.raises(ComputationError) as err:
        dn.make_mask(ch.traps_xy, buffer=2000.0, spacing=1.0, max_memory_gb=0.001)
    msg = str(err.value)
    assert "points would need about" in msg and "0.001 GiB" in msg
    assert f"{len(ch.traps_xy)} detectors" in msg
    assert "Use a mask spacing of" in msg and "(now 1 m)" in msg
    # the suggested spacing fits: the mask is built and the fit is allowed
    spacing = float(re.search(r"spacing of (\d+) m", msg).group(1))
    mask = dn.make_mask(
        ch.traps_xy, buffer=2000.0, spacing=spacing, max_memory_gb=0.001
    )
    assert len(mask.xy) * len(ch.traps_xy) * 64 <= 0.001 * 2**30
    # an automatic spacing stays within max_points as before
    auto = dn.make_mask(ch.traps_xy, buffer=2000.0, sigma_guess=1.0, max_points=500)
    assert 0 < len(auto.xy) <= 500


def test_fit_refuses_a_given_mask_over_the_memory_budget() -> None:
    ch = tiny_ch()
    mask = dn.make_mask(ch.traps_xy, buffer=300.0, spacing=10.0, max_memory_gb=None)
    with pytest.raises(ComputationError, match=r"Use a mask spacing of \d+ m"):
        dn.fit(ch, mask, max_memory_gb=0.0001)


def test_survey_regions_cut_zones_to_the_surveyed_area(tiny_survey):
    """N per country speaks for the surveyed part only, not the whole country layer."""
    from dataclasses import replace

    big = tiny_survey.zones.copy()
    big["geometry"] = big.geometry.buffer(50_000)  # countries far beyond the survey
    survey = replace(tiny_survey, zones=big)
    regions = dn.survey_regions(survey)
    surveyed = survey.study_polygon.union(survey.parks.geometry.union_all())
    for name in ("China", "Russia"):
        geom = regions[f"zone: {name}"]
        assert geom.difference(surveyed).area < 1e-6
        assert geom.area == pytest.approx(
            big.geometry[big["name"] == name].iloc[0].intersection(surveyed).area
        )
    assert regions["study area"].equals(survey.study_polygon)


def test_package_reexports_its_public_names() -> None:
    for name in dn.__all__:
        assert getattr(dn, name) is not None, name
    assert dn.for_survey is dn.fit_survey
    # parameter messages name the documented path, not the module inside
    assert f"{dn.fit_survey.__module__}.{dn.fit_survey.__qualname__}" == (
        "trapscape.density.fit_survey"
    )
    assert dn.fit is dn.fitting.fit
    assert dn.make_mask is dn.mask.make_mask


def test_capture_history_too_big_for_the_budget_is_refused_with_an_occasion_that_fits():
    import re

    from conftest import make_tiny_survey

    from trapscape.density.data import CAPTURE_BYTES_PER_CELL
    from trapscape.errors import ComputationError

    survey = make_tiny_survey()
    full = dn.capture_history(survey)
    need = full.captures.size * CAPTURE_BYTES_PER_CELL
    budget_gb = need / 3 / 2**30
    with pytest.raises(ComputationError, match="capture history") as err:
        dn.capture_history(survey, max_memory_gb=budget_gb)
    advised = float(re.search(r"occasion_days=([0-9.]+)", str(err.value)).group(1))
    assert advised > 1  # longer occasions than the default day
    ch = dn.capture_history(survey, occasion_days=advised, max_memory_gb=budget_gb)
    assert ch.captures.size * CAPTURE_BYTES_PER_CELL <= budget_gb * 2**30
    assert ch.captures.sum() > 0
