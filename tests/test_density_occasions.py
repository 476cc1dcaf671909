"""Bernoulli-per-occasion SCR (secr fastproximity = FALSE) and multi-session fits.

References: secr 5.3.0 fits of three South African leopard surveys
(``tests/data/secr_multisession``, see its README).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trapscape.density import CaptureHistory, Mask, fit, log_likelihood
from trapscape.density import _likelihood as L
from trapscape.density._setup import _design
from trapscape.density.multisession import Session, fit_sessions
from trapscape.density.secr import read_secr_mask
from trapscape.errors import InputError, TrapscapeWarning

DATA = Path(__file__).parent / "data" / "secr_multisession"
REF = json.loads((DATA / "fits.json").read_text())


def _history(session: str) -> CaptureHistory:
    traps = pd.read_csv(DATA / "traps.csv")
    caps = pd.read_csv(DATA / "captures.csv")
    t = traps[traps["session"] == session].reset_index(drop=True)
    c = caps[caps["session"] == session]
    ids = sorted(c["individual_id"].unique())
    j_of = {x: i for i, x in enumerate(t["trap_id"])}
    arr = np.zeros((len(ids), 1, len(t)), dtype=int)
    for _, r in c.iterrows():
        arr[ids.index(r["individual_id"]), r["occasion"] - 1, j_of[r["trap_id"]]] = 1
    return CaptureHistory(
        t[["x", "y"]].to_numpy(float),
        t[["usage"]].to_numpy(float),
        arr,
        trap_ids=tuple(t["trap_id"]),
    )


@pytest.fixture(scope="module")
def sessions() -> list[Session]:
    cov = pd.read_csv(DATA / "session_covariates.csv").set_index("session")
    return [
        Session(
            s,
            _history(s),
            read_secr_mask(DATA / f"mask_{s}.csv"),
            {k: float(v) for k, v in cov.loc[s].items()},
        )
        for s in REF["sessions"]
    ]


def _brute_force_ll(
    ch: CaptureHistory, mask: Mask, dens_ha: float, lam0: float, sigma: float
) -> float:
    """Bernoulli per occasion written out plainly (no shortcuts), HHN."""
    d2 = ((mask.xy[:, None, :] - ch.traps_xy[None, :, :]) ** 2).sum(axis=2)
    h = np.exp(-d2 / (2 * sigma**2))  # (M, J)
    a = mask.cell_area / 1e4
    total = 0.0
    # Pr(history | x) for each animal, per occasion and detector
    for i in range(ch.n):
        pr = np.ones(len(mask))
        for k in range(ch.n_occasions):
            for j in range(ch.traps_xy.shape[0]):
                u = ch.usage[j, k]
                p = 1.0 - np.exp(-u * lam0 * h[:, j])
                pr *= p if ch.captures[i, k, j] else 1.0 - p
        total += math.log(np.sum(pr * dens_ha * a))
    p_none = np.exp(-lam0 * (h @ ch.usage.sum(axis=1)))
    total -= float(np.sum((1.0 - p_none) * dens_ha * a))
    hist = ch.captures.reshape(ch.n, -1)
    _, mult = np.unique(hist, axis=0, return_counts=True)
    total -= float(sum(math.lgamma(m + 1) for m in mult))
    return total


def test_bernoulli_loglik_equals_the_model_written_out(
    sessions: list[Session],
) -> None:
    s = sessions[0]
    got = log_likelihood(
        s.history,
        s.mask,
        density_per_100km2=6.5,
        lambda0=0.015,
        sigma=2500.0,
        occasion_model="bernoulli",
    )
    want = _brute_force_ll(s.history, s.mask, 6.5e-4, 0.015, 2500.0)
    assert got == pytest.approx(want, rel=1e-12)


def test_bernoulli_single_session_sum_equals_secr_joint_loglik(
    sessions: list[Session],
) -> None:
    for fp, om in (("FALSE", "bernoulli"), ("TRUE", "binomial")):
        ref = REF[f"D~1 fastproximity={fp}"]
        b = ref["beta"]
        total = sum(
            log_likelihood(
                s.history,
                s.mask,
                density_per_100km2=math.exp(b["D"]) * 1e4,
                lambda0=math.exp(b["lambda0"]),
                sigma=math.exp(b["sigma"]),
                occasion_model=om,  # type: ignore[arg-type]
            )
            for s in sessions
        )
        assert total == pytest.approx(ref["logLik"], rel=1e-12)


@pytest.mark.parametrize("detectfn", ["HHN", "HN"])
@pytest.mark.parametrize("lattice", [True, False])
def test_bernoulli_gradient_is_analytic(
    sessions: list[Session], detectfn: str, lattice: bool
) -> None:
    s = sessions[1]
    mask = s.mask
    if not lattice:  # jitter: the general (non-separable) path
        rng = np.random.default_rng(1)
        mask = Mask(mask.xy + rng.uniform(-5, 5, mask.xy.shape), mask.spacing)
    # several occasions with different usage, so columns group (detector, u)
    ch = s.history
    caps = np.concatenate([ch.captures, ch.captures[:, :, ::-1]], axis=1)
    use = np.column_stack([ch.usage[:, 0], np.full(ch.usage.shape[0], 7.0)])
    ch2 = CaptureHistory(ch.traps_xy, use, np.minimum(caps, 1))
    design, _, _ = _design(
        ch2, mask, detectfn=detectfn, model="null", occasion_model="bernoulli"
    )
    assert (design.grid is not None) == lattice
    p0 = math.log(0.02) if detectfn == "HHN" else math.log(0.02 / 0.98)
    beta = np.array([math.log(6e-4), p0, math.log(2600.0)])
    _, g = L.loglik_and_gradient(beta, design)
    np.testing.assert_allclose(g, L.numeric_gradient(beta, design), rtol=2e-5)


def test_fast_and_general_paths_agree(sessions: list[Session]) -> None:
    s = sessions[2]
    beta = np.array([math.log(6e-4), math.log(0.015), math.log(2500.0)])
    d1, _, _ = _design(
        s.history, s.mask, detectfn="HHN", model="null", occasion_model="bernoulli"
    )
    d2 = L.Design(**{**d1.__dict__, "grid": None, "aux": None})
    assert L.loglik(beta, d1) == pytest.approx(L.loglik(beta, d2), rel=1e-12)


def test_auto_fits_bernoulli_for_multi_day_occasions(sessions: list[Session]) -> None:
    s = sessions[0]
    res = fit(s.history, s.mask)
    assert res.occasion_model == "bernoulli"
    assert res.to_dict()["occasion_model"] == "bernoulli"
    collapsed = fit(s.history, s.mask, occasion_model="binomial")
    assert collapsed.occasion_model == "binomial"
    # the two models differ on multi-night occasions (lambda0 by ~30 %)
    assert abs(res.estimate("lambda0") / collapsed.estimate("lambda0") - 1) > 0.2
    with pytest.raises(InputError, match="occasion_model"):
        fit(s.history, s.mask, occasion_model="weekly")  # type: ignore[arg-type]


def test_daily_occasions_keep_the_collapsed_model() -> None:
    rng = np.random.default_rng(3)
    xy = np.array(
        [[x, y] for x in range(0, 500, 100) for y in range(0, 500, 100)], float
    )
    caps = (rng.uniform(size=(6, 5, len(xy))) < 0.08).astype(int)
    ch = CaptureHistory(xy, np.ones((len(xy), 5)), caps)
    mask = Mask(
        np.array(
            [[x, y] for x in range(-200, 700, 50) for y in range(-200, 700, 50)], float
        ),
        50.0,
    )
    with pytest.warns(TrapscapeWarning, match="imprecise"):
        assert fit(ch, mask).occasion_model == "binomial"


def _check_against_secr(got, ref: dict) -> None:
    assert got.loglik == pytest.approx(ref["logLik"], rel=1e-6)
    assert list(got.beta_names) == list(ref["beta"])
    for s, rows in ref["real"].items():
        for row in rows:
            m = got.estimates[
                (got.estimates["session"] == s)
                & (got.estimates["parameter"] == row["parameter"])
            ].iloc[0]
            scale = 1e4 if row["parameter"] == "D" else 1.0
            assert m["estimate"] / scale == pytest.approx(row["estimate"], rel=0.01)
            assert m["se"] / scale == pytest.approx(row["SE"], rel=0.05)
            assert m["lcl"] / scale == pytest.approx(row["lcl"], rel=0.01)


def test_multisession_null_bernoulli_equals_secr(sessions: list[Session]) -> None:
    got = fit_sessions(sessions, density="~1")
    assert got.occasion_model == "bernoulli"
    _check_against_secr(got, REF["D~1 fastproximity=FALSE"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "key",
    [k for k in REF if k.startswith("D~") and k != "D~1 fastproximity=FALSE"],
)
def test_multisession_models_equal_secr(sessions: list[Session], key: str) -> None:
    model, fp = key.split(" ")
    om = "bernoulli" if fp.endswith("FALSE") else "binomial"
    got = fit_sessions(sessions, density="~" + model[2:], occasion_model=om)  # type: ignore[arg-type]
    _check_against_secr(got, REF[key])


def test_multisession_trend_and_bad_models(sessions: list[Session]) -> None:
    got = fit_sessions(sessions, density="~Session", occasion_model="bernoulli")
    t = got.trend
    assert t["lcl"] < t["lambda"] < t["ucl"]
    assert t["lambda"] == pytest.approx(math.exp(got.beta[1]))
    with pytest.raises(InputError, match="Rain"):
        fit_sessions(sessions, density="~Rain")
    with pytest.raises(InputError, match="unique"):
        fit_sessions([sessions[0], sessions[0]])


def test_read_sessions_and_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trapscape.cli.main import cli
    from trapscape.density.sessions_io import read_sessions

    got = read_sessions(
        DATA / "traps.csv",
        DATA / "captures.csv",
        covariates=DATA / "session_covariates.csv",
        masks=DATA,
    )
    assert [s.name for s in got] == REF["sessions"]
    for s in got:
        info = REF["masks"][s.name]
        assert len(s.mask) == info["n_points"]
        assert s.history.n == info["n_animals"]
        assert s.history.traps_xy.shape[0] == info["n_traps"]
    assert got[0].covariates["Prey"] == pytest.approx(1.064470918)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "sessions",
            "--traps",
            str(DATA / "traps.csv"),
            "--captures",
            str(DATA / "captures.csv"),
            "--masks",
            str(DATA),
            "--model",
            "~1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    models = pd.read_csv(out / "sessions/models.csv")
    assert models["aic"].iloc[0] == pytest.approx(
        REF["D~1 fastproximity=FALSE"]["AIC"], abs=1e-3
    )
    est = pd.read_csv(out / "sessions/estimates.csv")
    assert {"rse", "lcl", "ucl", "session", "model"} <= set(est.columns)


def test_read_sessions_names_the_bad_row(tmp_path: Path) -> None:
    from trapscape.density.sessions_io import read_sessions

    caps = pd.read_csv(DATA / "captures.csv")
    caps.loc[5, "trap_id"] = "nowhere"
    bad = tmp_path / "captures.csv"
    caps.to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"row 7, column 'trap_id'.*nowhere"):
        read_sessions(DATA / "traps.csv", bad)


def test_secr_files_with_numeric_usage_fit_the_bernoulli_model(
    sessions: list[Session], tmp_path: Path
) -> None:
    from trapscape.density import read_secr, write_secr

    s = sessions[0]
    write_secr(s.history, tmp_path / "traps.txt", tmp_path / "capt.txt")
    ch = read_secr(tmp_path / "traps.txt", tmp_path / "capt.txt", binary_usage=False)
    assert float(ch.usage.max()) > 1
    b = REF["D~1 fastproximity=FALSE"]["beta"]
    kw = {
        "density_per_100km2": math.exp(b["D"]) * 1e4,
        "lambda0": math.exp(b["lambda0"]),
        "sigma": math.exp(b["sigma"]),
    }
    auto = log_likelihood(ch, s.mask, **kw)  # default: "auto"
    assert auto == pytest.approx(
        log_likelihood(s.history, s.mask, occasion_model="bernoulli", **kw), rel=1e-12
    )
    assert auto != pytest.approx(
        log_likelihood(ch, s.mask, occasion_model="binomial", **kw), rel=1e-3
    )
