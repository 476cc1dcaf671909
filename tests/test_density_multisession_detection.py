"""Multi-session SCR with session-specific detection parameters.

With ``D ~ session``, ``lambda0 ~ session`` and ``sigma ~ session`` every
session has its own parameters, so the joint log-likelihood is a sum of
single-session terms without common parameters: the joint maximum is the
separate single-session maxima (Borchers & Efford 2008 for the
single-session model; Efford's secr multi-session vignette).  The data are
the three leopard surveys of ``tests/data/secr_multisession`` (see its
README).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_density_occasions import _history

from trapscape.density import fit
from trapscape.density.multisession import Session, fit_sessions
from trapscape.density.secr import read_secr_mask
from trapscape.errors import ComputationError, InputError

DATA = Path(__file__).parent / "data" / "secr_multisession"
REF = json.loads((DATA / "fits.json").read_text())


def _session(name: str, cov: pd.DataFrame) -> Session:
    return Session(
        name,
        _history(name),
        read_secr_mask(DATA / f"mask_{name}.csv"),
        {k: float(v) for k, v in cov.loc[name].items()},
    )


@pytest.fixture(scope="module")
def sessions() -> list[Session]:
    cov = pd.read_csv(DATA / "session_covariates.csv").set_index("session")
    return [_session(s, cov) for s in REF["sessions"]]


def _check_separates(
    sessions: list[Session], *, detectfn: str, occasion_model: str
) -> None:
    n_s = len(sessions)
    p0 = "lambda0" if detectfn == "HHN" else "g0"
    joint = fit_sessions(
        sessions,
        density="~session",
        detectfn=detectfn,  # type: ignore[arg-type]
        occasion_model=occasion_model,  # type: ignore[arg-type]
        sigma="~session",
        **{p0: "~session"},  # type: ignore[arg-type]
    )
    assert joint.label == f"D~session {p0}~session sigma~session"
    assert joint.npar == 3 * n_s
    singles = [
        fit(
            s.history,
            s.mask,
            detectfn=detectfn,  # type: ignore[arg-type]
            occasion_model=occasion_model,  # type: ignore[arg-type]
        )
        for s in sessions
    ]
    assert joint.loglik == pytest.approx(sum(f.loglik for f in singles), rel=1e-8)
    assert joint.aic == pytest.approx(sum(f.aic for f in singles), rel=1e-8)
    for s, single in zip(sessions, singles, strict=True):
        got = joint.estimates[joint.estimates["session"] == s.name]
        got = got.set_index("parameter")
        want = single.estimates.set_index("parameter")
        for par in ("D", p0, "sigma"):
            assert got.loc[par, "estimate"] == pytest.approx(
                want.loc[par, "estimate"], rel=1e-5
            )
            assert got.loc[par, "se"] == pytest.approx(want.loc[par, "se"], rel=1e-4)
            assert got.loc[par, "lcl"] == pytest.approx(want.loc[par, "lcl"], rel=1e-4)


def test_session_specific_model_equals_separate_fits(
    sessions: list[Session],
) -> None:
    _check_separates(sessions[:2], detectfn="HHN", occasion_model="bernoulli")


@pytest.mark.slow
def test_three_session_specific_sessions_equal_separate_fits(
    sessions: list[Session],
) -> None:
    _check_separates(sessions, detectfn="HHN", occasion_model="bernoulli")


@pytest.mark.slow
def test_session_specific_hn_binomial_equals_separate_fits(
    sessions: list[Session],
) -> None:
    _check_separates(sessions, detectfn="HN", occasion_model="binomial")


@pytest.mark.slow
def test_shared_detection_is_the_default_and_names_follow_secr(
    sessions: list[Session],
) -> None:
    shared = fit_sessions(sessions)
    explicit = fit_sessions(sessions, lambda0="~1", sigma="~ 1")
    assert explicit.loglik == shared.loglik
    np.testing.assert_array_equal(explicit.beta, shared.beta)
    assert shared.label == "D~1 lambda0~1 sigma~1"
    ref = REF["D~1 fastproximity=FALSE"]
    assert shared.loglik == pytest.approx(ref["logLik"], rel=1e-6)
    # sigma by session: nested in the shared model, one parameter per session more
    by = fit_sessions(sessions, sigma="~session")
    assert by.beta_names[-3:] == (
        "sigma",
        "sigma.sessionTimbavati_2016",
        "sigma.sessionuMkhuze_2016",
    )
    assert by.npar == shared.npar + 2
    assert by.loglik >= shared.loglik - 1e-6
    sig = by.estimates[by.estimates["parameter"] == "sigma"]
    assert sig["estimate"].nunique() == 3
    assert (sig["lcl"] < sig["estimate"]).all()
    assert by.to_dict()["sigma_model"] == "~session"


def test_detection_trend_over_sessions(sessions: list[Session]) -> None:
    got = fit_sessions(sessions, lambda0="~Session")
    assert got.beta_names == ("D", "lambda0", "lambda0.Session", "sigma")
    lam = got.estimates[got.estimates["parameter"] == "lambda0"]["estimate"]
    b = got.beta
    np.testing.assert_allclose(
        lam.to_numpy(), np.exp(b[1] + b[2] * np.arange(3)), rtol=1e-12
    )
    assert got.trend == {}  # the D trend only


def test_bad_detection_models_are_input_errors(sessions: list[Session]) -> None:
    with pytest.raises(InputError, match=r"lambda0 model '~Rain'.*'Rain'"):
        fit_sessions(sessions, lambda0="~Rain")
    with pytest.raises(InputError, match=r"sigma model '~session \+ Prey'"):
        fit_sessions(sessions, sigma="~session + Prey")
    with pytest.raises(InputError, match="not a covariate name"):
        fit_sessions(sessions, sigma="~log(Prey)")
    with pytest.raises(InputError, match="formula string"):
        fit_sessions(sessions, sigma=1)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="g0="):
        fit_sessions(sessions, detectfn="HN", lambda0="~session")
    with pytest.raises(InputError, match="lambda0="):
        fit_sessions(sessions, g0="~session")


def test_own_sigma_needs_recaptures_in_each_session(sessions: list[Session]) -> None:
    from trapscape.density import CaptureHistory

    s = sessions[1]
    ch = s.history
    keep = ch.captures.sum(axis=(1, 2)) == 1  # animals seen at one station only
    lone = CaptureHistory(
        ch.traps_xy, ch.usage, ch.captures[keep], trap_ids=ch.trap_ids
    )
    assert lone.n >= 2 and lone.n_recaptures == 0
    bad = [sessions[0], Session(s.name, lone, s.mask, s.covariates), sessions[2]]
    with pytest.raises(ComputationError, match=r"Timbavati_2016.*own sigma"):
        fit_sessions(bad, sigma="~session")


@pytest.mark.slow
def test_cli_fits_every_combination(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trapscape.cli.main import cli

    out = tmp_path / "out"
    args = ["sessions", "--traps", str(DATA / "traps.csv")]
    args += ["--captures", str(DATA / "captures.csv"), "--masks", str(DATA)]
    args += ["--model", "~1", "--lambda0", "~1", "--lambda0", "~session"]
    res = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    models = pd.read_csv(out / "sessions/models.csv")
    assert set(models["model"]) == {
        "D~1 lambda0~1 sigma~1",
        "D~1 lambda0~session sigma~1",
    }
    shared = models.set_index("model").loc["D~1 lambda0~1 sigma~1"]
    assert shared["aic"] == pytest.approx(
        REF["D~1 fastproximity=FALSE"]["AIC"], abs=1e-3
    )
    fits = json.loads((out / "sessions/fits.json").read_text())
    assert fits["D~1 lambda0~session sigma~1"]["lambda0_model"] == "~session"
    est = pd.read_csv(out / "sessions/estimates.csv")
    assert set(est["model"]) == set(models["model"])
    bad = CliRunner().invoke(
        cli, [*args, "--sigma", "~Rain", "--out", str(tmp_path / "bad")]
    )
    assert bad.exit_code == 1
    assert "Rain" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "bad").exists()


def _with_sex(s: Session) -> Session:
    """The session with each leopard's sex (from its name, as the 1/2/NA codes)."""
    caps = pd.read_csv(DATA / "captures.csv")
    ids = sorted(caps.loc[caps["session"] == s.name, "individual_id"].unique())
    code = {"Female": "F", "Male": "M", "Unknown": None}
    sex = tuple(code[i.split("_")[2]] for i in ids)
    return dataclasses.replace(s, history=dataclasses.replace(s.history, sex=sex))


def test_one_session_by_sex_equals_the_single_session_sex_model(
    sessions: list[Session],
) -> None:
    s = _with_sex(sessions[0])
    assert s.history.sex is not None and None in s.history.sex  # unknown sex too
    single = fit(s.history, s.mask, model="sex")
    joint = fit_sessions([s], sex=True)
    assert joint.label == "D~1 lambda0~sex sigma~sex"
    assert joint.beta_names == (
        "D",
        "lambda0",
        "sigma",
        "lambda0.sexM",
        "sigma.sexM",
        "pmix.sexM",
    )
    assert joint.loglik == pytest.approx(single.loglik, rel=1e-8)
    assert joint.aic == pytest.approx(single.aic, rel=1e-8)
    got = joint.estimates.set_index("parameter")
    want = single.estimates.set_index("parameter")
    assert set(got.index) == set(want.index)
    for par in want.index:
        assert got.loc[par, "estimate"] == pytest.approx(
            want.loc[par, "estimate"], rel=1e-5
        )
        assert got.loc[par, "se"] == pytest.approx(want.loc[par, "se"], rel=1e-4)


def test_sex_needs_f_m_in_every_session(sessions: list[Session]) -> None:
    with pytest.raises(InputError, match=r"Session 'Tembe_2016'.*sex"):
        fit_sessions(sessions, sex=True)  # no sex recorded
    coded = dataclasses.replace(
        sessions[0],
        history=dataclasses.replace(
            sessions[0].history, sex=("1",) * sessions[0].history.n
        ),
    )
    with pytest.raises(InputError, match=r"Session 'Tembe_2016'.*'F', 'M'"):
        fit_sessions([coded, *sessions[1:]], sex=True)


@pytest.mark.slow
def test_sessions_by_sex_share_the_sex_difference(
    sessions: list[Session], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from trapscape.cli.main import cli

    by_sex = [_with_sex(s) for s in sessions]
    got = fit_sessions(by_sex, density="~session", sex=True)
    assert got.npar == 3 + 2 + 3
    est = got.estimates
    for par in ("lambda0[F]", "lambda0[M]", "sigma[F]", "sigma[M]", "pmix[M]"):
        vals = est.loc[est["parameter"] == par, "estimate"]
        assert len(vals) == 3 and vals.nunique() == 1  # shared by the sessions
    sig = est.set_index("parameter")["estimate"]
    assert sig["sigma[M]"].iloc[0] != sig["sigma[F]"].iloc[0]
    # the command: captures with F/M
    caps = pd.read_csv(DATA / "captures.csv")
    caps["sex"] = caps["sex"].map({1: "F", 2: "M"})
    caps.to_csv(tmp_path / "captures.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "sessions",
            "--traps",
            str(DATA / "traps.csv"),
            "--captures",
            str(tmp_path / "captures.csv"),
            "--masks",
            str(DATA),
            "--model",
            "~session",
            "--sex",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    models = pd.read_csv(out / "sessions/models.csv")
    assert list(models["model"]) == ["D~session lambda0~sex sigma~sex"]
    assert models["loglik"].iloc[0] == pytest.approx(got.loglik, rel=1e-6)
