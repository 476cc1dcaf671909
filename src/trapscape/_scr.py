"""Internal engine of spatial capture-recapture likelihoods (arrays only).

The public wrapper is :mod:`trapscape.density`.  Everything here works on
plain numpy arrays so that it can be tested and timed without a survey.

Likelihood (Borchers & Efford 2008, full likelihood with Poisson N), as
computed by secr with collapsed ("fast proximity") occasions:

* detections of individual *i* at detector *j* are summed over occasions,
  ``y_ij``, and usage is summed to ``U_j``;
* proximity detectors: ``y_ij ~ Binomial(U_j, p_j(x))`` (size may be
  fractional, with gamma functions), ``p = g0 h`` (HN) or
  ``p = 1 - exp(-lambda0 h)`` (HHN), ``h = exp(-d^2 / (2 sigma^2))``;
* count detectors: ``y_ij ~ Poisson(U_j mu_j(x))``, ``mu = g0 h`` or
  ``lambda0 h``;
* ``log L = sum_i log sum_m D_m a Pr(omega_i | x_m)
  - sum_m D_m a p.(x_m) + sum_ij log C(U_j, y_ij) - sum_w log n_w!``

where ``p.(x) = 1 - prod_j (1 - p_j(x))^U_j`` and ``n_w`` counts identical
collapsed histories.  Finite mixtures (class-specific detection parameters
with mixing proportion, known class where given) follow secr's ``hcov``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import gammaln, logsumexp

__all__: list[str] = []

_TINY = 1e-10


@dataclass(frozen=True)
class Design:
    """Everything a likelihood evaluation needs, precomputed once.

    Attributes
    ----------
    d2
        ``(M, J)`` squared distances mask point - detector (m²).
    cell_area
        Mask cell area (same units as 1 / density; ha in practice).
    usage
        ``(J,)`` usage summed over occasions.
    y
        ``(n, J)`` collapsed detection counts (sparse CSR).
    constant
        Data-only constant of the log-likelihood.
    cls
        ``(n,)`` known class index (``-1`` unknown).
    n_classes
        1 (null model) or 2 (mixture / sex).
    d_index
        ``(M,)`` index of the density coefficient of each mask point.
    n_d
        Number of density coefficients.
    detectfn
        ``"HN"`` or ``"HHN"``.
    detector
        ``"proximity"`` or ``"count"``.
    """

    d2: np.ndarray
    cell_area: float
    usage: np.ndarray
    y: sparse.csr_matrix
    constant: float
    cls: np.ndarray
    n_classes: int
    d_index: np.ndarray
    n_d: int
    detectfn: str
    detector: str

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_beta(self) -> int:
        extra = 1 if self.n_classes > 1 else 0
        return self.n_d + 2 * self.n_classes + extra


def make_design(
    mask_xy: np.ndarray,
    cell_area: float,
    traps_xy: np.ndarray,
    usage: np.ndarray,
    counts: np.ndarray,
    *,
    detectfn: str,
    detector: str,
    cls: np.ndarray | None = None,
    n_classes: int = 1,
    d_index: np.ndarray | None = None,
    n_d: int = 1,
) -> Design:
    """Precompute distances, collapsed counts and the data constant.

    ``counts`` is ``(n, J)`` detections summed over occasions and
    ``usage`` is ``(J,)`` usage summed over occasions.
    """
    mask_xy = np.asarray(mask_xy, dtype=np.float64)
    traps_xy = np.asarray(traps_xy, dtype=np.float64)
    d2 = (
        (mask_xy[:, 0:1] - traps_xy[None, :, 0]) ** 2
        + (mask_xy[:, 1:2] - traps_xy[None, :, 1]) ** 2
    )
    y = np.asarray(counts, dtype=np.float64)
    usage = np.asarray(usage, dtype=np.float64)
    n = y.shape[0]
    cls_arr = np.full(n, -1, dtype=np.int64) if cls is None else np.asarray(cls, np.int64)
    # data constant
    nz = y > 0
    if detector == "proximity":
        size = np.broadcast_to(usage, y.shape)
        const = float(np.sum(
            gammaln(size[nz] + 1) - gammaln(y[nz] + 1) - gammaln(size[nz] - y[nz] + 1)
        ))
    else:
        size = np.broadcast_to(usage, y.shape)
        const = float(np.sum(y[nz] * np.log(size[nz]) - gammaln(y[nz] + 1)))
    # identical collapsed histories (with class)
    keyed = np.concatenate([y, cls_arr[:, None].astype(np.float64)], axis=1)
    _, mult = np.unique(keyed, axis=0, return_counts=True)
    const -= float(np.sum(gammaln(mult + 1.0)))
    if d_index is None:
        d_index = np.zeros(mask_xy.shape[0], dtype=np.int64)
    return Design(
        d2=d2, cell_area=float(cell_area), usage=usage,
        y=sparse.csr_matrix(y), constant=const, cls=cls_arr, n_classes=int(n_classes),
        d_index=np.asarray(d_index, dtype=np.int64), n_d=int(n_d),
        detectfn=detectfn, detector=detector,
    )


@dataclass(frozen=True)
class Real:
    """Real-scale parameters unpacked from a link-scale vector."""

    density: np.ndarray  # (n_d,) per unit area (per ha)
    p0: np.ndarray  # (C,) g0 or lambda0
    sigma: np.ndarray  # (C,)
    pmix: np.ndarray  # (C,)


def unpack(beta: np.ndarray, design: Design) -> Real:
    """Link-scale vector -> real parameters.

    Order: ``log D`` (n_d), then per class ``link(p0)``, ``log sigma``, then
    ``logit pmix`` of class 1 when there are two classes.
    """
    beta = np.asarray(beta, dtype=np.float64)
    nd, c = design.n_d, design.n_classes
    dens = np.exp(beta[:nd])
    p0_link = beta[nd:nd + c]
    sig = np.exp(beta[nd + c:nd + 2 * c])
    p0 = np.exp(p0_link) if design.detectfn == "HHN" else 1.0 / (1.0 + np.exp(-p0_link))
    if c > 1:
        m1 = 1.0 / (1.0 + np.exp(-beta[nd + 2 * c]))
        pmix = np.array([1.0 - m1, m1])
    else:
        pmix = np.ones(1)
    return Real(density=dens, p0=p0, sigma=sig, pmix=pmix)


def pack(real: Real, design: Design) -> np.ndarray:
    """Inverse of :func:`unpack`."""
    p0 = np.asarray(real.p0, dtype=np.float64)
    p0_link = np.log(p0) if design.detectfn == "HHN" else np.log(p0 / (1.0 - p0))
    parts = [np.log(real.density), p0_link, np.log(real.sigma)]
    if design.n_classes > 1:
        m1 = real.pmix[1]
        parts.append(np.array([np.log(m1 / (1.0 - m1))]))
    return np.concatenate([np.atleast_1d(p) for p in parts])


def class_terms(design: Design, p0: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-class mask quantities.

    Returns
    -------
    logq
        ``(M,)`` log probability of no detection anywhere (``log(1 - p.)``).
    logpr_det
        ``(n, M)`` detection-specific part of ``log Pr(omega_i | x)``
        (add ``logq`` to get the full, constant-free value).
    """
    z = design.d2 * (-0.5 / (sigma * sigma))
    h = np.exp(z)
    if design.detector == "proximity":
        if design.detectfn == "HHN":
            lh = p0 * h
            log1mp = -lh
            with np.errstate(divide="ignore"):
                logp = np.where(lh > _TINY, np.log(-np.expm1(-np.maximum(lh, _TINY))),
                                np.log(p0) + z - 0.5 * lh)
        else:
            log1mp = np.log1p(-p0 * h)
            logp = np.log(p0) + z
        r = logp - log1mp
    else:
        mu = p0 * h
        log1mp = -mu
        r = np.log(p0) + z
    logq = log1mp @ design.usage
    logpr_det = np.asarray(design.y @ r.T)
    return logq, logpr_det


def loglik_parts(beta: np.ndarray, design: Design) -> dict[str, np.ndarray | float]:
    """Log-likelihood and the pieces needed for derived quantities."""
    real = unpack(beta, design)
    dens_m = real.density[design.d_index]  # (M,)
    a = design.cell_area
    logd = np.log(dens_m * a)
    n = design.n
    lse = np.empty((n, design.n_classes))
    pdots = []
    posts = []
    for c in range(design.n_classes):
        logq, det = class_terms(design, float(real.p0[c]), float(real.sigma[c]))
        lp = det + logq[None, :] + logd[None, :]
        lse[:, c] = logsumexp(lp, axis=1)
        posts.append(lp)
        pdots.append(-np.expm1(logq))
    pdot = np.stack(pdots)  # (C, M)
    if design.n_classes > 1:
        logw = np.log(real.pmix)[None, :] + np.zeros((n, 1))
        known = design.cls >= 0
        mask_other = np.zeros_like(logw, dtype=bool)
        mask_other[known, :] = True
        mask_other[known, design.cls[known]] = False
        logw[mask_other] = -np.inf
        li = logsumexp(lse + logw, axis=1)
    else:
        logw = np.zeros((n, 1))
        li = lse[:, 0]
    expected = float(np.sum(real.pmix[:, None] * pdot * (dens_m * a)[None, :]))
    ll = float(np.sum(li)) - expected + design.constant
    return {"ll": ll, "li": li, "lse": lse, "logw": logw, "posts": posts,
            "pdot": pdot, "real": real}


def loglik(beta: np.ndarray, design: Design) -> float:
    """Log-likelihood at link-scale ``beta`` (NaN-safe: returns -inf)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ll = loglik_parts(beta, design)["ll"]
    return ll if np.isfinite(ll) else -np.inf


def gradient(beta: np.ndarray, design: Design, *, step: float = 1e-5) -> np.ndarray:
    """Central finite-difference gradient of the log-likelihood."""
    g = np.empty_like(beta)
    for k in range(beta.size):
        e = np.zeros_like(beta)
        e[k] = step
        g[k] = (loglik(beta + e, design) - loglik(beta - e, design)) / (2 * step)
    return g


def hessian(beta: np.ndarray, design: Design, *, step: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian of the log-likelihood."""
    p = beta.size
    f0 = loglik(beta, design)
    hmat = np.empty((p, p))
    fp = np.empty(p)
    fm = np.empty(p)
    for k in range(p):
        e = np.zeros(p)
        e[k] = step
        fp[k] = loglik(beta + e, design)
        fm[k] = loglik(beta - e, design)
        hmat[k, k] = (fp[k] - 2 * f0 + fm[k]) / step**2
    for k in range(p):
        for m in range(k + 1, p):
            e = np.zeros(p)
            e[k] = step
            e[m] = step
            f = np.zeros(p)
            f[k] = step
            f[m] = -step
            val = (loglik(beta + e, design) - loglik(beta + f, design)
                   - loglik(beta - f, design) + loglik(beta - e, design)) / (4 * step**2)
            hmat[k, m] = hmat[m, k] = val
    return hmat
