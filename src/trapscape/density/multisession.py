"""Multi-session SCR: several surveys fitted jointly (secr's multi-session models).

Each session (a year, or a reserve) has its own detectors, capture history
and habitat mask; the sessions share the detection parameters (``lambda0``
or ``g0`` and ``sigma``) and their densities follow a log-linear model on
the sessions, as secr's ``D ~ session``, ``D ~ Session`` and ``D ~ cov``
(Efford 2024, secr vignette "secr-multisession"; Borchers & Efford 2008).
Sessions are independent given the parameters, so the log-likelihood is the
sum of the sessions' full likelihoods (Poisson N in each)::

    log L(beta) = sum_s log L_s(D_s, lambda0, sigma),
    log D_s = x_s' beta_D

and the analytic gradient of every session (:mod:`._likelihood`) carries
over by the chain rule: ``d log L / d beta_D = sum_s x_s dlog L_s / dlog D_s``.

Density models (``density=``):

``"~1"``
    One density shared by all sessions.
``"~session"``
    A density per session (treatment contrasts: the first session is the
    intercept, as in secr).
``"~Session"``
    Log-linear trend over the session number ``0, 1, ..., S - 1``: the
    rate of change per session is ``lambda = exp(beta_Session)``, reported
    with its Wald CI (``MultiSessionFit.trend``).
``"~Prey"``, ``"~Prey + Mgmt"``
    Session covariates (a value per session, used as given, not scaled).

References
----------
Borchers, D. L. & Efford, M. G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
Efford, M. G. (2024) secr: multi-session models (vignette
``secr-multisession``) and the secr 5 documentation of ``secr.fit``
(``details = list(fastproximity = FALSE)``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.stats import norm

from ..errors import ComputationError, InputError
from . import _likelihood as _lik
from ._setup import _check_fittable, _design, _occasion_model, _start
from .data import PER_100KM2, CaptureHistory, DetectFn, Mask, OccasionModel, rpsv
from .fitting import check_precision
from .result import _real_row, _records

__all__ = ["MultiSessionFit", "Session", "fit_sessions"]

_Z = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Session:
    """One session: its capture history, mask and session covariates."""

    name: str
    history: CaptureHistory
    mask: Mask
    covariates: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MultiSessionFit:
    """A fitted multi-session model.

    Attributes
    ----------
    estimates
        Real-scale table per session: ``session``, ``parameter`` (``D`` per
        100 km², ``lambda0`` / ``g0``, ``sigma`` in metres), ``estimate``,
        ``se``, ``rse`` (SE / estimate, for D), ``lcl``, ``ucl``.
    beta, beta_names, vcov
        Link-scale coefficients (secr's names: ``D``, ``D.sessionX``,
        ``D.Session``, ``D.Prey``, ``lambda0``, ``sigma``) and covariance.
    loglik, aic, aicc, npar
        Maximised log-likelihood (sum over sessions), AIC, AICc (n = all
        animals).
    trend
        For ``"~Session"``: ``lambda`` (rate of change per session) with SE
        and 95 % CI; else empty.
    notes
        Densities with an RSE above 30 % (also warned, see
        :func:`trapscape.density.fitting.check_precision`).
    density, detectfn, occasion_model
        Settings.
    """

    estimates: pd.DataFrame
    beta: np.ndarray
    beta_names: tuple[str, ...]
    vcov: np.ndarray
    loglik: float
    aic: float
    aicc: float
    npar: int
    density: str
    detectfn: str
    occasion_model: str
    sessions: tuple[str, ...]
    n: tuple[int, ...]
    converged: bool
    message: str
    seconds: float
    trend: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "density_model": self.density,
            "detectfn": self.detectfn,
            "occasion_model": self.occasion_model,
            "sessions": list(self.sessions),
            "n_individuals": list(self.n),
            "estimates": _records(self.estimates),
            "beta": {
                "names": list(self.beta_names),
                "estimate": self.beta.tolist(),
                "vcov": self.vcov.tolist(),
            },
            "loglik": self.loglik,
            "npar": self.npar,
            "aic": self.aic,
            "aicc": self.aicc,
            "trend": self.trend,
            "notes": list(self.notes),
            "optimizer": {
                "converged": self.converged,
                "message": self.message,
                "seconds": self.seconds,
            },
        }


def _density_matrix(
    density: str, sessions: Sequence[Session]
) -> tuple[np.ndarray, list[str]]:
    """Session design matrix ``(S, P_D)`` and secr's coefficient names."""
    rhs = density.replace(" ", "")
    rhs = rhs[1:] if rhs.startswith("~") else rhs
    s_n = len(sessions)
    cols: list[np.ndarray] = [np.ones(s_n)]
    names = ["D"]
    if rhs in ("", "1"):
        pass
    elif rhs == "session":
        for k in range(1, s_n):
            cols.append((np.arange(s_n) == k).astype(float))
            names.append(f"D.session{sessions[k].name}")
    elif rhs == "Session":
        cols.append(np.arange(s_n, dtype=float))
        names.append("D.Session")
    else:
        for term in rhs.split("+"):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", term):
                raise InputError(
                    f"density model {density!r}: {term!r} is not a covariate name "
                    "(use '~1', '~session', '~Session' or '~cov1 + cov2')."
                )
            try:
                vals = [float(s.covariates[term]) for s in sessions]
            except (KeyError, TypeError, ValueError):
                missing = [s.name for s in sessions if term not in s.covariates]
                raise InputError(
                    f"density model {density!r}: session covariate {term!r} is "
                    f"missing or not a number for sessions {missing}; give it in "
                    "the session covariates table."
                ) from None
            cols.append(np.asarray(vals))
            names.append(f"D.{term}")
    xmat = np.column_stack(cols)
    if np.linalg.matrix_rank(xmat) < xmat.shape[1]:
        raise InputError(
            f"density model {density!r} has more coefficients than the "
            f"{s_n} session(s) can separate (e.g. a covariate constant over "
            "sessions); simplify it."
        )
    return xmat, names


class _Joint:
    """The joint log-likelihood of the sessions and its gradient."""

    def __init__(self, designs: list[_lik.Design], xmat: np.ndarray) -> None:
        self.designs = designs
        self.xmat = xmat
        self.nd = xmat.shape[1]

    def session_beta(self, beta: np.ndarray, s: int) -> np.ndarray:
        return np.concatenate([[self.xmat[s] @ beta[: self.nd]], beta[self.nd :]])

    def value_and_gradient(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros_like(beta)
        for s, design in enumerate(self.designs):
            ll, g = _lik.loglik_and_gradient(self.session_beta(beta, s), design)
            if not np.isfinite(ll):
                return -np.inf, np.zeros_like(beta)
            total += ll
            grad[: self.nd] += g[0] * self.xmat[s]
            grad[self.nd :] += g[1:]
        return total, grad

    def hessian(self, beta: np.ndarray, step: float = 1e-4) -> np.ndarray:
        p = beta.size
        hmat = np.empty((p, p))
        for k in range(p):
            e = np.zeros(p)
            e[k] = step
            gp = self.value_and_gradient(beta + e)[1]
            gm = self.value_and_gradient(beta - e)[1]
            hmat[:, k] = (gp - gm) / (2 * step)
        return 0.5 * (hmat + hmat.T)


def fit_sessions(
    sessions: Sequence[Session],
    *,
    density: str = "~1",
    detectfn: DetectFn = "HHN",
    occasion_model: OccasionModel = "auto",
    maxiter: int = 500,
) -> MultiSessionFit:
    """Fit a multi-session SCR model with shared detection parameters.

    Parameters
    ----------
    sessions
        The sessions (:class:`Session`), in order (``"~Session"`` numbers
        them 0, 1, ... in this order).
    density
        ``"~1"``, ``"~session"``, ``"~Session"`` or session covariates
        ``"~Prey"`` / ``"~Prey + Mgmt"`` (see the module docs).
    detectfn
        ``"HHN"`` (lambda0, sigma) or ``"HN"`` (g0, sigma).
    occasion_model
        See :func:`trapscape.density.fit`; ``"auto"`` fits the Bernoulli
        model when any session has an occasion of more than one day.
    maxiter
        Optimiser iteration limit.

    Raises
    ------
    InputError
        Bad density model or covariates, duplicate session names.
    ComputationError
        A session without detected animals; all sessions together with
        fewer than two animals, no recapture or detections at one station
        only (see :func:`trapscape.density.fit`); a fit that does not
        converge, has no invertible information matrix or is flat in sigma.
    """
    with _lik.blas_single_thread():
        return _fit_sessions(
            sessions,
            density=density,
            detectfn=detectfn,
            occasion_model=occasion_model,
            maxiter=maxiter,
        )


def _resolve_occasion_model(sessions: Sequence[Session], occasion_model: str) -> str:
    models = {_occasion_model(s.history, occasion_model) for s in sessions}
    if "bernoulli" in models:
        return "bernoulli"
    return models.pop() if len(models) == 1 else "binomial"


def _fit_sessions(
    sessions: Sequence[Session],
    *,
    density: str,
    detectfn: str,
    occasion_model: str,
    maxiter: int,
) -> MultiSessionFit:
    t0 = time.perf_counter()
    if len(sessions) < 1:
        raise InputError("fit_sessions needs at least one session.")
    names = [s.name for s in sessions]
    if len(set(names)) != len(names):
        raise InputError(f"session names must be unique, got {names}.")
    om = _resolve_occasion_model(sessions, occasion_model)
    xmat, d_names = _density_matrix(density, sessions)
    designs = []
    for s in sessions:
        if s.history.n == 0:
            raise ComputationError(
                f"Session {s.name!r} has no detected animal; leave it out or "
                "fit it with the others only when it has detections."
            )
        designs.append(
            _design(
                s.history,
                s.mask,
                detectfn=detectfn,
                model="null",
                occasion_model=om if s.history.detector == "proximity" else "poisson",
            )[0]
        )
    pooled = _pooled_history_check(sessions)
    joint = _Joint(designs, xmat)
    beta0 = _joint_start(sessions, designs, xmat, pooled)
    beta, res, hmat = _optimise(joint, beta0, maxiter)
    ll, grad = joint.value_and_gradient(beta)
    vcov = np.full((beta.size, beta.size), np.nan)
    ok = bool(np.isfinite(ll) and np.max(np.abs(grad)) < 1e-3)
    try:
        vcov = np.linalg.inv(-hmat)
        ok = ok and bool(np.all(np.diag(vcov) > 0))
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        raise ComputationError(
            f"The multi-session SCR fit (density {density!r}) did not converge "
            f"({res.message}; largest gradient {np.max(np.abs(grad)):.2g}) or its "
            "information matrix is not invertible; simplify the density model."
        )
    p0name = "lambda0" if detectfn == "HHN" else "g0"
    beta_names = (*d_names, p0name, "sigma")
    table = _session_table(beta, vcov, xmat, names, detectfn)
    npar = beta.size
    n_all = sum(s.history.n for s in sessions)
    shown = table[(table["parameter"] == "D") | (table["session"] == names[0])].copy()
    d_rows = shown["parameter"] == "D"
    shown.loc[d_rows, "parameter"] = "D[" + shown.loc[d_rows, "session"] + "]"
    notes = check_precision(
        shown.drop(columns="rse"),
        n=n_all,
        n_recaptures=sum(s.history.n_recaptures for s in sessions),
        what="The multi-session SCR fit",
    )
    aic = -2 * ll + 2 * npar
    aicc = (
        aic + 2 * npar * (npar + 1) / (n_all - npar - 1)
        if n_all - npar - 1 > 0
        else math.nan
    )
    trend: dict[str, float] = {}
    if "D.Session" in d_names:
        k = d_names.index("D.Session")
        b, se = float(beta[k]), float(math.sqrt(vcov[k, k]))
        trend = {
            "lambda": math.exp(b),
            "lcl": math.exp(b - _Z * se),
            "ucl": math.exp(b + _Z * se),
            "beta": b,
            "se_beta": se,
        }
    return MultiSessionFit(
        estimates=table,
        beta=beta,
        beta_names=beta_names,
        vcov=vcov,
        loglik=ll,
        aic=aic,
        aicc=aicc,
        npar=npar,
        density=density,
        detectfn=detectfn,
        occasion_model=om,
        sessions=tuple(names),
        n=tuple(s.history.n for s in sessions),
        converged=ok,
        message=str(res.message),
        seconds=time.perf_counter() - t0,
        trend=trend,
        notes=tuple(notes),
    )


def _pooled_history_check(sessions: Sequence[Session]) -> CaptureHistory:
    """All sessions' animals side by side: the data must support sigma jointly."""
    j_tot = sum(s.history.traps_xy.shape[0] for s in sessions)
    n_tot = sum(s.history.n for s in sessions)
    caps = np.zeros((n_tot, 1, j_tot), dtype=np.int64)
    i0 = j0 = 0
    for s in sessions:
        ch = s.history
        caps[i0 : i0 + ch.n, 0, j0 : j0 + ch.traps_xy.shape[0]] = ch.counts
        i0 += ch.n
        j0 += ch.traps_xy.shape[0]
    xy = np.vstack([s.history.traps_xy for s in sessions])
    pooled = CaptureHistory(xy, np.ones((j_tot, 1)) * 1e6, caps, detector="count")
    _check_fittable(pooled)
    return pooled


def _joint_start(
    sessions: Sequence[Session],
    designs: list[_lik.Design],
    xmat: np.ndarray,
    pooled: CaptureHistory,
) -> np.ndarray:
    """Start: detection from the largest session, density intercept from n / esa."""
    sg = rpsv(pooled)
    big = int(np.argmax([s.history.n for s in sessions]))
    sgb = sg if np.isfinite(sg) and sg > 0 else 2 * sessions[big].mask.spacing
    b_one = _start(
        sessions[big].history, designs[big], max(sgb, sessions[big].mask.spacing)
    )
    logd = []
    for s, design in zip(sessions, designs, strict=True):
        p0 = float(_lik.unpack(b_one, design).p0[0])
        sig = float(np.exp(b_one[-1]))
        esa = float(np.sum(-np.expm1(_lik.class_terms(design, p0, sig)["logq"])))
        logd.append(
            math.log(max(s.history.n, 0.5) / max(esa * design.cell_area, 1e-12))
        )
    bd, *_ = np.linalg.lstsq(xmat, np.asarray(logd), rcond=None)
    return np.concatenate([bd, b_one[1:]])


def _optimise(
    joint: _Joint, beta0: np.ndarray, maxiter: int
) -> tuple[np.ndarray, optimize.OptimizeResult, np.ndarray]:
    """BFGS then Newton steps on the finite-difference Hessian of the gradient."""

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = joint.value_and_gradient(b)
        if not np.isfinite(v):
            return 1e300, np.zeros_like(b)
        return -v, -g

    res = optimize.minimize(
        objective,
        beta0,
        jac=True,
        method="BFGS",
        options={"maxiter": maxiter, "gtol": 1e-4},
    )
    beta = res.x
    # one Newton step on the Hessian at the quasi-Newton optimum (as the
    # single-session fit); the covariance uses that Hessian: a step this
    # small does not change it beyond the finite-difference error
    hmat = joint.hessian(beta)
    ll, g = joint.value_and_gradient(beta)
    if np.max(np.abs(g)) > 1e-9:
        try:
            cand = beta + np.linalg.solve(-hmat, g)
            if joint.value_and_gradient(cand)[0] >= ll:
                beta = cand
        except np.linalg.LinAlgError:
            pass
    return beta, res, hmat


def _session_table(
    beta: np.ndarray,
    vcov: np.ndarray,
    xmat: np.ndarray,
    names: list[str],
    detectfn: str,
) -> pd.DataFrame:
    """Real estimates per session: D (per 100 km²) by the delta method, detection."""
    nd = xmat.shape[1]
    p0name, p0link = ("lambda0", "log") if detectfn == "HHN" else ("g0", "logit")
    rows = []
    for s, nm in enumerate(names):
        x = xmat[s]
        link = float(x @ beta[:nd])
        se = float(math.sqrt(max(x @ vcov[:nd, :nd] @ x, 0.0)))
        d_row = _real_row("D", "log", link + math.log(PER_100KM2), se)
        d_row["rse"] = d_row["se"] / d_row["estimate"]
        rows.append({"session": nm, **d_row})
        rows.append(
            {
                "session": nm,
                **_real_row(p0name, p0link, float(beta[nd]), math.sqrt(vcov[nd, nd])),
                "rse": math.nan,
            }
        )
        rows.append(
            {
                "session": nm,
                **_real_row(
                    "sigma", "log", beta[nd + 1], math.sqrt(vcov[nd + 1, nd + 1])
                ),
                "rse": math.nan,
            }
        )
    cols = ["session", "parameter", "link", "estimate", "se", "rse", "lcl", "ucl"]
    out = pd.DataFrame(rows)
    out["rse"] = out["se"] / out["estimate"]
    return out[cols]
