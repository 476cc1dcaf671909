"""Multi-session SCR: several surveys fitted jointly (secr's multi-session models).

Each session (a year, or a reserve) has its own detectors, capture history
and habitat mask.  Density and the detection parameters (``lambda0`` or
``g0``, and ``sigma``) each follow a model over the sessions, as secr's
``D ~ session``, ``lambda0 ~ session``, ``sigma ~ Session``, ``D ~ cov``
(Efford 2024, secr vignette "secr-multisession"; Borchers & Efford 2008);
by default the detection parameters are shared (``~1``).  Sessions are
independent given the parameters, so the log-likelihood is the sum of the
sessions' full likelihoods (Poisson N in each)::

    log L(beta) = sum_s log L_s(D_s, lambda0_s, sigma_s),
    log D_s = x_s' beta_D,  link(lambda0_s) = w_s' beta_L,  log sigma_s = v_s' beta_S

and the analytic gradient of every session (:mod:`._likelihood`) carries
over by the chain rule: ``d log L / d beta_D = sum_s x_s dlog L_s / dlog D_s``
and likewise for ``beta_L`` and ``beta_S``.  With every parameter
``~session`` the likelihood separates: the joint fit is the single-session
fits side by side (a test checks it).

Models of each parameter (``density=``, ``lambda0=`` / ``g0=``, ``sigma=``):

``"~1"``
    One value shared by all sessions.
``"~session"``
    A value per session (treatment contrasts: the first session is the
    intercept, as in secr).
``"~Session"``
    Log-linear trend over the session number ``0, 1, ..., S - 1``; for D
    the rate of change per session is ``lambda = exp(beta_Session)``,
    reported with its Wald CI (``MultiSessionFit.trend``).
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
from .result import _beta_record, _real_row, _records

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
        ``se``, ``rse`` (SE / estimate), ``lcl``, ``ucl``; detection
        parameters per session too (equal across sessions when shared).
    beta, beta_names, vcov
        Link-scale coefficients (secr's names: ``D``, ``D.sessionX``,
        ``D.Session``, ``D.Prey``, ``lambda0``, ``lambda0.sessionX``,
        ``sigma``, ``sigma.Session``, ...) and covariance.
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
    lambda0_model, sigma_model
        Models of the detection parameters over the sessions (``"~1"``:
        shared; ``lambda0_model`` is g0's for ``detectfn="HN"``).
    sex
        Whether the detection parameters differ by sex (rows
        ``lambda0[F]``, ``lambda0[M]``, ``sigma[F]``, ``sigma[M]``,
        ``pmix[M]`` per session in ``estimates``).
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
    lambda0_model: str = "~1"
    sigma_model: str = "~1"
    sex: bool = False

    @property
    def label(self) -> str:
        """secr-style model name, e.g. ``"D~session lambda0~session sigma~1"``."""
        p0name = "lambda0" if self.detectfn == "HHN" else "g0"
        return _model_label(
            self.density, p0name, self.lambda0_model, self.sigma_model, sex=self.sex
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "model": self.label,
            "density_model": self.density,
            "lambda0_model" if self.detectfn == "HHN" else "g0_model": (
                self.lambda0_model
            ),
            "sigma_model": self.sigma_model,
            "sex": self.sex,
            "detectfn": self.detectfn,
            "occasion_model": self.occasion_model,
            "sessions": list(self.sessions),
            "n_individuals": list(self.n),
            "estimates": _records(self.estimates),
            "beta": _beta_record(self.beta_names, self.beta, self.vcov),
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


_TERM = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _session_matrix(
    formula: str, sessions: Sequence[Session], par: str
) -> tuple[np.ndarray, list[str]]:
    """Design matrix ``(S, P)`` of one real parameter over the sessions.

    ``par`` is ``"D"``, ``"lambda0"``, ``"g0"`` or ``"sigma"``; the
    coefficients get secr's names (``par``, ``par.session<name>``,
    ``par.Session``, ``par.<covariate>``).
    """
    what = "density model" if par == "D" else f"{par} model"
    if not isinstance(formula, str):
        raise InputError(
            f"{what} must be a formula string such as '~1' or '~session', "
            f"got {formula!r}."
        )
    rhs = formula.replace(" ", "")
    rhs = rhs[1:] if rhs.startswith("~") else rhs
    s_n = len(sessions)
    cols: list[np.ndarray] = [np.ones(s_n)]
    names = [par]
    if rhs in ("", "1"):
        pass
    elif rhs == "session":
        for k in range(1, s_n):
            cols.append((np.arange(s_n) == k).astype(float))
            names.append(f"{par}.session{sessions[k].name}")
    elif rhs == "Session":
        cols.append(np.arange(s_n, dtype=float))
        names.append(f"{par}.Session")
    else:
        for term in rhs.split("+"):
            cols.append(_covariate_column(formula, term, sessions, what))
            names.append(f"{par}.{term}")
    xmat = np.column_stack(cols)
    if np.linalg.matrix_rank(xmat) < xmat.shape[1]:
        raise InputError(
            f"{what} {formula!r} has more coefficients than the "
            f"{s_n} session(s) can separate (e.g. a covariate constant over "
            "sessions); simplify it."
        )
    return xmat, names


def _covariate_column(
    formula: str, term: str, sessions: Sequence[Session], what: str
) -> np.ndarray:
    """The values of one session covariate (a term of ``formula``)."""
    if term in ("session", "Session") or not _TERM.fullmatch(term):
        raise InputError(
            f"{what} {formula!r}: {term!r} is not a covariate name; use '~1', "
            "'~session', '~Session' alone or session covariates '~cov1 + cov2'."
        )
    try:
        return np.asarray([float(s.covariates[term]) for s in sessions])
    except (KeyError, TypeError, ValueError):
        missing = [s.name for s in sessions if term not in s.covariates]
        raise InputError(
            f"{what} {formula!r}: session covariate {term!r} is "
            f"missing or not a number for sessions {missing}; give it in "
            "the session covariates table."
        ) from None


def _link_maps(
    xmats: tuple[np.ndarray, np.ndarray, np.ndarray], *, sex: bool
) -> list[np.ndarray]:
    """Per session the matrix ``A_s`` with ``link_s = A_s @ beta``.

    ``link_s`` is the link-scale vector of the single-session model of
    session ``s`` (:func:`._likelihood.unpack` order): ``(log D, link p0,
    log sigma)``, or with ``sex`` ``(log D, link p0[F], link p0[M], log
    sigma[F], log sigma[M], logit pmix[M])``.  ``beta`` is ``(b_D, b_p0,
    b_sigma)`` and with ``sex`` also ``(d_p0, d_sigma, b_pmix)``: males
    differ from females by ``d`` on the link scale in every session (secr's
    ``lambda0 ~ ... + h2`` with ``hcov = "sex"``), ``pmix`` is shared.
    """
    xd, xl, xs = xmats
    pd_, pl, ps = xd.shape[1], xl.shape[1], xs.shape[1]
    size = pd_ + pl + ps + (3 if sex else 0)
    maps = []
    for s in range(xd.shape[0]):
        rows = []
        for k, (x, off) in enumerate(((xd, 0), (xl, pd_), (xs, pd_ + pl))):
            row = np.zeros(size)
            row[off : off + x.shape[1]] = x[s]
            rows.append(row)
            if sex and k > 0:  # the male row: + d of this parameter
                male = row.copy()
                male[pd_ + pl + ps + k - 1] = 1.0
                rows.append(male)
        if sex:
            row = np.zeros(size)
            row[-1] = 1.0
            rows.append(row)
        maps.append(np.vstack(rows))
    return maps


class _Joint:
    """The joint log-likelihood of the sessions and its gradient.

    Session ``s`` evaluates its single-session likelihood at ``A_s @ beta``
    (:func:`_link_maps`), so by the chain rule the joint gradient is
    ``sum_s A_s' g_s`` with ``g_s`` the analytic gradient of session ``s``.
    """

    def __init__(self, designs: list[_lik.Design], maps: list[np.ndarray]) -> None:
        self.designs = designs
        self.maps = maps

    def value_and_gradient(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros_like(beta)
        for amat, design in zip(self.maps, self.designs, strict=True):
            ll, g = _lik.loglik_and_gradient(amat @ beta, design)
            if not np.isfinite(ll):
                return -np.inf, np.zeros_like(beta)
            total += ll
            grad += g @ amat
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
    lambda0: str | None = None,
    g0: str | None = None,
    sigma: str = "~1",
    sex: bool = False,
) -> MultiSessionFit:
    """Fit a multi-session SCR model (Borchers & Efford 2008; secr multi-session).

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
    lambda0, g0, sigma
        Models of the detection parameters over the sessions, with the same
        terms as ``density`` (secr's ``lambda0 ~ session``, ``sigma ~
        Session``, ...): ``"~1"`` (default) shares the parameter across
        sessions. ``lambda0`` is for ``detectfn="HHN"``, ``g0`` for
        ``"HN"``.
    sex
        Detection parameters by sex as the single-session ``model="sex"``
        (:func:`trapscape.density.fit`): a two-class finite mixture with
        known class where the ``sex`` (``F``/``M``) of an animal is
        recorded (secr's ``hcov = "sex"``); males differ from females by
        one link-scale coefficient per detection parameter in every session
        (``lambda0 ~ ... + h2``, beta ``lambda0.sexM``, ``sigma.sexM``) and
        the proportion of males (``pmix.sexM``, logit) is shared.  With one
        session this is the single-session sex model.

    Raises
    ------
    InputError
        Bad density or detection model or covariates, duplicate session
        names, ``lambda0`` given with ``detectfn="HN"`` (or ``g0`` with
        ``"HHN"``).
    ComputationError
        A session without detected animals; all sessions together (each
        session, for ``sigma="~session"``) with fewer than two animals, no
        recapture or detections at one station only (see
        :func:`trapscape.density.fit`); a fit that does not converge, has no
        invertible information matrix or is flat in sigma.
    """
    p0_model = _p0_formula(detectfn, lambda0, g0)
    with _lik.blas_single_thread():
        return _fit_sessions(
            sessions,
            density=density,
            detectfn=detectfn,
            occasion_model=occasion_model,
            maxiter=maxiter,
            p0_model=p0_model,
            sigma_model=sigma,
            sex=sex,
        )


def _p0_formula(detectfn: str, lambda0: str | None, g0: str | None) -> str:
    """The model of lambda0 (HHN) or g0 (HN); the other keyword must be unset."""
    if detectfn == "HN" and lambda0 is not None:
        raise InputError(
            "lambda0 is the HHN detection parameter; with detectfn='HN' give "
            "its model as g0= (--g0)."
        )
    if detectfn != "HN" and g0 is not None:
        raise InputError(
            "g0 is the HN detection parameter; with detectfn='HHN' give its "
            "model as lambda0= (--lambda0)."
        )
    out = g0 if detectfn == "HN" else lambda0
    return "~1" if out is None else out


def _resolve_occasion_model(sessions: Sequence[Session], occasion_model: str) -> str:
    models = {_occasion_model(s.history, occasion_model) for s in sessions}
    if "bernoulli" in models:
        return "bernoulli"
    return models.pop() if len(models) == 1 else "binomial"


def _model_label(
    density: str, p0name: str, p0_model: str, sigma_model: str, *, sex: bool = False
) -> str:
    """secr-style label, e.g. ``D~session lambda0~session sigma~1``.

    With ``sex`` the detection models gain the term ``sex`` (``lambda0~sex``,
    ``sigma~session + sex``).
    """

    def rhs(formula: str, add_sex: bool = False) -> str:
        f = formula.replace(" ", "")
        f = f[1:] if f.startswith("~") else f
        f = f or "1"
        if add_sex:
            f = "sex" if f == "1" else f + "+sex"
        return f.replace("+", " + ")

    return (
        f"D~{rhs(density)} {p0name}~{rhs(p0_model, sex)} sigma~{rhs(sigma_model, sex)}"
    )


def _session_designs(
    sessions: Sequence[Session],
    detectfn: str,
    om: str,
    sigma_model: str,
    *,
    sex: bool = False,
) -> list[_lik.Design]:
    """One single-session likelihood design per session (and the data checks).

    The null model, or with ``sex`` the single-session ``model="sex"``.
    """
    per_session = sigma_model.replace(" ", "").lstrip("~") == "session"
    designs = []
    for s in sessions:
        if s.history.n == 0:
            raise ComputationError(
                f"Session {s.name!r} has no detected animal; leave it out or "
                "fit it with the others only when it has detections."
            )
        if per_session:  # sigma of its own: the session must support it
            try:
                _check_fittable(s.history)
            except ComputationError as exc:
                raise ComputationError(
                    f"Session {s.name!r} cannot have its own sigma "
                    f"(sigma ~session): {exc} Share sigma across sessions "
                    "(sigma ~1) instead."
                ) from None
        try:
            design = _design(
                s.history,
                s.mask,
                detectfn=detectfn,
                model="sex" if sex else "null",
                occasion_model=om if s.history.detector == "proximity" else "poisson",
            )[0]
        except InputError as exc:
            raise InputError(f"Session {s.name!r}: {exc}") from None
        designs.append(design)
    return designs


def _fit_sessions(
    sessions: Sequence[Session],
    *,
    density: str,
    detectfn: str,
    occasion_model: str,
    maxiter: int,
    p0_model: str = "~1",
    sigma_model: str = "~1",
    sex: bool = False,
) -> MultiSessionFit:
    t0 = time.perf_counter()
    if len(sessions) < 1:
        raise InputError("fit_sessions needs at least one session.")
    names = [s.name for s in sessions]
    if len(set(names)) != len(names):
        raise InputError(f"session names must be unique, got {names}.")
    p0name = "lambda0" if detectfn == "HHN" else "g0"
    om = _resolve_occasion_model(sessions, occasion_model)
    xd, d_names = _session_matrix(density, sessions, "D")
    xl, l_names = _session_matrix(p0_model, sessions, p0name)
    xs, s_names = _session_matrix(sigma_model, sessions, "sigma")
    label = _model_label(density, p0name, p0_model, sigma_model, sex=sex)
    designs = _session_designs(sessions, detectfn, om, sigma_model, sex=sex)
    pooled = _pooled_history_check(sessions)
    joint = _Joint(designs, _link_maps((xd, xl, xs), sex=sex))
    beta0 = _joint_start(sessions, designs, (xd, xl, xs), pooled, sex=sex)
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
            f"The multi-session SCR fit ({label}) did not converge "
            f"({res.message}; largest gradient {np.max(np.abs(grad)):.2g}) or its "
            "information matrix is not invertible; simplify the model."
        )
    table = _session_table(beta, vcov, joint, names, detectfn)
    sex_names = [f"{p0name}.sexM", "sigma.sexM", "pmix.sexM"] if sex else []
    npar = beta.size
    n_all = sum(s.history.n for s in sessions)
    notes = _precision_notes(table, sessions, joint)
    aic = -2 * ll + 2 * npar
    aicc = (
        aic + 2 * npar * (npar + 1) / (n_all - npar - 1)
        if n_all - npar - 1 > 0
        else math.nan
    )
    return MultiSessionFit(
        estimates=table,
        beta=beta,
        beta_names=(*d_names, *l_names, *s_names, *sex_names),
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
        trend=_trend(beta, vcov, d_names),
        notes=tuple(notes),
        lambda0_model=p0_model,
        sigma_model=sigma_model,
        sex=sex,
    )


def _trend(beta: np.ndarray, vcov: np.ndarray, d_names: list[str]) -> dict[str, float]:
    """Rate of change of D per session for ``D ~ Session`` (else empty)."""
    if "D.Session" not in d_names:
        return {}
    k = d_names.index("D.Session")
    b, se = float(beta[k]), float(math.sqrt(vcov[k, k]))
    return {
        "lambda": math.exp(b),
        "lcl": math.exp(b - _Z * se),
        "ucl": math.exp(b + _Z * se),
        "beta": b,
        "se_beta": se,
    }


def _precision_notes(
    table: pd.DataFrame, sessions: Sequence[Session], joint: _Joint
) -> list[str]:
    """Check D of every session and each detection parameter once per value.

    A detection parameter equal in all sessions (the same row of every
    ``A_s``) is checked once, named plainly; a session-specific one per
    session (``sigma[<session>]``).
    """
    n_rows = joint.maps[0].shape[0]
    shared = [
        all(np.array_equal(a[r], joint.maps[0][r]) for a in joint.maps)
        for r in range(n_rows)
    ]
    keep, labels = [], []
    for k, (_, row) in enumerate(table.iterrows()):
        own = row["parameter"] == "D" or not shared[k % n_rows]
        keep.append(own or row["session"] == sessions[0].name)
        labels.append(
            f"{row['parameter']}[{row['session']}]" if own else row["parameter"]
        )
    shown = table.assign(parameter=labels)[keep]
    return check_precision(
        shown.drop(columns="rse"),
        n=sum(s.history.n for s in sessions),
        n_recaptures=sum(s.history.n_recaptures for s in sessions),
        what="The multi-session SCR fit",
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
    xmats: tuple[np.ndarray, np.ndarray, np.ndarray],
    pooled: CaptureHistory,
    *,
    sex: bool = False,
) -> np.ndarray:
    """Start: detection from the largest session, density intercept from n / esa.

    Session-specific detection terms and sex differences start at 0 (the
    largest session's values in every session).
    """
    sg = rpsv(pooled)
    big = int(np.argmax([s.history.n for s in sessions]))
    sgb = sg if np.isfinite(sg) and sg > 0 else 2 * sessions[big].mask.spacing
    b_one = _start(
        sessions[big].history, designs[big], max(sgb, sessions[big].mask.spacing)
    )
    real = _lik.unpack(b_one, designs[big])
    p0, sig = float(real.p0[0]), float(real.sigma[0])
    logd = []
    for s, design in zip(sessions, designs, strict=True):
        esa = float(np.sum(-np.expm1(_lik.class_terms(design, p0, sig)["logq"])))
        logd.append(
            math.log(max(s.history.n, 0.5) / max(esa * design.cell_area, 1e-12))
        )
    ones = np.ones(len(sessions))
    c = designs[big].n_classes
    targets = (np.asarray(logd), b_one[1] * ones, b_one[1 + c] * ones)
    parts = [
        np.linalg.lstsq(x, y, rcond=None)[0]
        for x, y in zip(xmats, targets, strict=True)
    ]
    if sex:  # equal sexes, the start's proportion of males
        parts.append(np.array([0.0, 0.0, b_one[-1]]))
    return np.concatenate(parts)


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
    joint: _Joint,
    names: list[str],
    detectfn: str,
) -> pd.DataFrame:
    """Real estimates per session by the delta method on the link scale.

    D per 100 km², lambda0 (g0) and sigma in metres (per sex and
    ``pmix[M]`` with two classes, named as :func:`trapscape.density.fit`
    names them); row ``r`` of session ``s`` has the link value ``a' b`` and
    variance ``a' V a`` with ``a = A_s[r]`` (:func:`_link_maps`).
    """
    p0name, p0link = ("lambda0", "log") if detectfn == "HHN" else ("g0", "logit")
    if joint.maps[0].shape[0] == 3:
        pars = [("D", "log"), (p0name, p0link), ("sigma", "log")]
    else:
        pars = [("D", "log")]
        pars += [(f"{p0name}[{c}]", p0link) for c in ("F", "M")]
        pars += [(f"sigma[{c}]", "log") for c in ("F", "M")]
        pars += [("pmix[M]", "logit")]
    rows = []
    for nm, amat in zip(names, joint.maps, strict=True):
        for a, (par, link) in zip(amat, pars, strict=True):
            val = float(a @ beta)
            se = float(math.sqrt(max(a @ vcov @ a, 0.0)))
            if par == "D":
                val += math.log(PER_100KM2)
            rows.append({"session": nm, **_real_row(par, link, val, se)})
    cols = ["session", "parameter", "link", "estimate", "se", "rse", "lcl", "ucl"]
    out = pd.DataFrame(rows)
    out["rse"] = out["se"] / out["estimate"]
    return out[cols]
