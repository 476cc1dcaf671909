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

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import gammaln, logsumexp

__all__: list[str] = []

_TINY = 1e-10


def blas_single_thread() -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to one thread (the products here are small; threads only spin)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[object] = threadpool_limits(
        limits=1, user_api="blas"
    )
    return limiter


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
        ``(n, Jv)`` collapsed detection counts at the detectors where any
        animal was detected (``visited``).
    visited
        Indices of those detectors.
    order
        Column order of ``d2`` and ``usage``: visited detectors first, so
        that ``d2[:, :Jv]`` are the visited ones.
    grid
        ``(dx2, dy2, ix, iy)`` for separable sums over detectors: squared
        x- and y-offsets from the unique mask x / y values to each detector
        and each mask point's index into them (``None`` when the mask's
        unique coordinates do not form a compact lattice).
    aux
        Arrays of the fast path (with ``grid``): ``d2t`` ``(J, M)``
        transposed distances, ``s`` ``(n, M)`` = ``y @ d2[:, :Jv].T`` and
        ``ny`` ``(n,)`` detections per individual.
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
    det_scale
        ``(Jv,)`` usage ``u`` of one occasion of each visited column for the
        Bernoulli-per-occasion model (secr's ``fastproximity = FALSE``):
        ``p = 1 - exp(-u lambda0 h)`` or ``1 - (1 - g0 h)^u``.  ``None``:
        the collapsed binomial of secr's default.  Columns are then
        (detector, occasion usage) groups and ``order`` maps each column to
        its detector.
    d_matrix
        ``(M, n_d)`` design matrix of a density surface, ``log D(x_m) =
        d_matrix[m] @ beta_D`` (secr's ``D ~ covariates``); ``None``: one
        coefficient per level of ``d_index``.
    d_weight
        ``(M,)`` 0/1 multiplier of the density (0: the point is not habitat
        of the model, e.g. a zone without stations); ``None``: all 1.
    """

    d2: np.ndarray
    cell_area: float
    usage: np.ndarray
    y: np.ndarray
    visited: np.ndarray
    order: np.ndarray
    constant: float
    cls: np.ndarray
    n_classes: int
    d_index: np.ndarray
    n_d: int
    detectfn: str
    detector: str
    grid: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    aux: dict[str, Any] | None = None
    det_scale: np.ndarray | None = None
    d_matrix: np.ndarray | None = None
    d_weight: np.ndarray | None = None

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
    integer_usage: bool = True,
    per_occasion: tuple[np.ndarray, np.ndarray] | None = None,
) -> Design:
    """Precompute distances, collapsed counts and the data constant.

    ``per_occasion`` = ``(usage (J, K), captures (n, K, J))`` selects the
    Bernoulli-per-occasion model for proximity detectors (see
    :func:`bernoulli_columns`); ``usage``/``counts``/``integer_usage`` are
    then ignored.

    ``counts`` is ``(n, J)`` detections summed over occasions and
    ``usage`` is ``(J,)`` usage summed over occasions.  With
    ``integer_usage`` the summed usage is truncated to whole numbers, as secr
    does when it collapses occasions (it passes usage to its C++ code as
    integers); it is raised where needed so that no detector has more
    detections than trials.
    """
    mask_xy = np.asarray(mask_xy, dtype=np.float64)
    traps_xy = np.asarray(traps_xy, dtype=np.float64)
    col_trap = np.arange(traps_xy.shape[0])
    scale = None
    if per_occasion is not None:
        col_trap, usage, counts, scale, bconst = bernoulli_columns(*per_occasion)
        traps_xy = traps_xy[col_trap]
        integer_usage = False
    d2 = (mask_xy[:, 0:1] - traps_xy[None, :, 0]) ** 2 + (
        mask_xy[:, 1:2] - traps_xy[None, :, 1]
    ) ** 2
    y = np.asarray(counts, dtype=np.float64)
    usage = np.asarray(usage, dtype=np.float64)
    if integer_usage:
        usage = np.floor(usage + 1e-9)
        if y.shape[0]:
            # a station that worked part of a day can still record a detection:
            # never let truncation leave fewer trials (proximity) or zero
            # exposure (count) where there are detections
            floor = y.max(axis=0) if detector == "proximity" else (y.max(axis=0) > 0)
            usage = np.maximum(usage, floor)
    n = y.shape[0]
    cls_arr = (
        np.full(n, -1, dtype=np.int64) if cls is None else np.asarray(cls, np.int64)
    )
    # data constant
    nz = y > 0
    if scale is not None:
        const = bconst
    elif detector == "proximity":
        size = np.broadcast_to(usage, y.shape)
        const = float(
            np.sum(
                gammaln(size[nz] + 1)
                - gammaln(y[nz] + 1)
                - gammaln(size[nz] - y[nz] + 1)
            )
        )
    else:
        size = np.broadcast_to(usage, y.shape)
        const = float(np.sum(y[nz] * np.log(size[nz]) - gammaln(y[nz] + 1)))
    if scale is None:
        # identical collapsed histories (secr's logmultinom ignores hcov classes)
        _, mult = np.unique(y, axis=0, return_counts=True)
        const -= float(np.sum(gammaln(mult + 1.0)))
    visited = np.flatnonzero(y.sum(axis=0) > 0)
    order = np.concatenate([visited, np.flatnonzero(y.sum(axis=0) <= 0)])
    d2 = np.ascontiguousarray(d2[:, order])
    usage_ordered = usage[order]
    if d_index is None:
        d_index = np.zeros(mask_xy.shape[0], dtype=np.int64)
    ux, ix = np.unique(mask_xy[:, 0], return_inverse=True)
    uy, iy = np.unique(mask_xy[:, 1], return_inverse=True)
    grid = None
    if len(ux) * len(uy) <= 3 * len(mask_xy) + 100:
        txo = traps_xy[order]
        grid = (
            (ux[:, None] - txo[None, :, 0]) ** 2,
            (uy[:, None] - txo[None, :, 1]) ** 2,
            ix.ravel(),
            iy.ravel(),
        )
    aux = None
    yv = np.ascontiguousarray(y[:, visited])
    if grid is not None:
        aux = {
            "d2t": np.ascontiguousarray(d2.T),
            "s": yv @ d2[:, : len(visited)].T,
            "ny": yv.sum(axis=1),
        }
    return Design(
        grid=grid,
        aux=aux,
        d2=d2,
        cell_area=float(cell_area),
        usage=usage_ordered,
        y=yv,
        visited=visited,
        order=col_trap[order],
        constant=const,
        cls=cls_arr,
        n_classes=int(n_classes),
        d_index=np.asarray(d_index, dtype=np.int64),
        n_d=int(n_d),
        detectfn=detectfn,
        detector=detector,
        det_scale=None if scale is None else np.asarray(scale)[visited],
    )


def bernoulli_columns(
    usage: np.ndarray, captures: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Columns of the Bernoulli-per-occasion likelihood.

    With a binary record per occasion the detection term of an animal is a
    sum over its detections ``(j, k)`` of ``log(p_jk / (1 - p_jk))`` with
    ``p_jk`` depending on the detector and on the occasion's usage
    ``u_jk`` only; the no-detection term depends on the detector's summed
    usage only.  Occasions are therefore grouped by (detector, usage): one
    column per group holding a detection (its usage for the no-detection
    term is the group's summed usage) and one column per detector for the
    rest of its usage.

    Returns ``(column detector, column usage, (n, C) detections per column,
    (C,) per-occasion usage u of each column, data constant)``; the constant
    is ``sum log u`` over detections minus ``sum_w log n_w!`` over identical
    (uncollapsed) histories, secr's multinomial term.
    """
    use = np.asarray(usage, dtype=np.float64)
    caps = np.asarray(captures) > 0
    n, _, j_n = caps.shape
    hit = caps.any(axis=0)  # (K, J)
    kk, jj = np.nonzero(hit)
    pairs = np.unique(np.column_stack([jj, use[jj, kk]]), axis=0)
    col_trap = [int(p[0]) for p in pairs]
    col_u = [float(p[1]) for p in pairs]
    col_use = []
    rest = use.sum(axis=1).copy()
    for j, u in zip(col_trap, col_u, strict=True):
        tot = float(np.sum(use[j][use[j] == u]))
        col_use.append(tot)
        rest[j] -= tot
    y = np.zeros((n, len(pairs) + j_n))
    index = {(j, u): c for c, (j, u) in enumerate(zip(col_trap, col_u, strict=True))}
    ii, kk2, jj2 = np.nonzero(caps)
    for i, k, jd in zip(ii, kk2, jj2, strict=True):
        y[i, index[(int(jd), float(use[jd, k]))]] += 1.0
    col_trap += list(range(j_n))
    col_use += list(np.maximum(rest, 0.0))
    col_u += [1.0] * j_n
    keep = (y.sum(axis=0) > 0) | (np.asarray(col_use) > 0)
    y = y[:, keep]
    col_trap = [c for c, k in zip(col_trap, keep, strict=True) if k]
    col_use = [c for c, k in zip(col_use, keep, strict=True) if k]
    col_u = [c for c, k in zip(col_u, keep, strict=True) if k]
    const = float(np.sum(np.log(use[jj2, kk2])))
    _, mult = np.unique(caps.reshape(n, -1), axis=0, return_counts=True)
    const -= float(np.sum(gammaln(mult + 1.0)))
    return (
        np.asarray(col_trap, dtype=np.int64),
        np.asarray(col_use),
        y,
        np.asarray(col_u),
        const,
    )


@dataclass(frozen=True)
class Real:
    """Real-scale parameters unpacked from a link-scale vector."""

    density: np.ndarray  # (n_d,) per unit area (per ha)
    p0: np.ndarray  # (C,) g0 or lambda0
    sigma: np.ndarray  # (C,)
    pmix: np.ndarray  # (C,)


def density_at_mask(beta: np.ndarray, design: Design) -> np.ndarray:
    """Density at each mask point (per unit of ``cell_area``) at link ``beta``."""
    b = np.asarray(beta, dtype=np.float64)[: design.n_d]
    if design.d_matrix is not None:
        out = np.exp(design.d_matrix @ b)
    else:
        out = np.exp(b)[design.d_index]
    if design.d_weight is not None:
        out = out * design.d_weight
    return np.asarray(out)


def unpack(beta: np.ndarray, design: Design) -> Real:
    """Link-scale vector -> real parameters.

    Order: ``log D`` (n_d), then per class ``link(p0)``, ``log sigma``, then
    ``logit pmix`` of class 1 when there are two classes.
    """
    beta = np.asarray(beta, dtype=np.float64)
    nd, c = design.n_d, design.n_classes
    dens = np.exp(beta[:nd])
    p0_link = beta[nd : nd + c]
    sig = np.exp(beta[nd + c : nd + 2 * c])
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


def class_terms(
    design: Design,
    p0: float,
    sigma: float,
    *,
    derivatives: bool = False,
    d2: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-class mask quantities for detection parameters ``p0``, ``sigma``.

    Returns a dict with

    ``logq``
        ``(M,)`` log probability of no detection anywhere (``log(1 - p.)``).
    ``det``
        ``(n, M)`` detection part of ``log Pr(omega_i | x)``; the full
        constant-free value is ``det + logq``.

    and with ``derivatives``: ``dlogq`` ``(2, M)`` and ``dr0``, ``dr1``
    ``(M, Jv)``, the derivatives of the per-detection log-odds ``r`` with
    respect to the link-scale ``p0`` and ``log sigma``.  ``d2`` replaces the
    design's squared distances (columns in ``design.order``; e.g. a region
    grid) and then only ``logq`` is computed.
    """
    if d2 is None and design.aux is not None and design.grid is not None:
        return _class_terms_fast(design, p0, sigma, derivatives=derivatives)
    full = d2 is None
    d2_all: np.ndarray = design.d2 if d2 is None else d2
    k = -0.5 / (sigma * sigma)
    hhn = design.detectfn == "HHN"
    prox = design.detector == "proximity"
    out: dict[str, Any] = {}
    jv = design.y.shape[1]
    z = d2_all * k
    h = np.exp(z)
    # --- no-detection term over all detectors
    if hhn:
        hu = h @ design.usage
        out["logq"] = -p0 * hu
        if derivatives:
            out["dlogq"] = np.stack(
                [out["logq"], (2.0 * p0) * ((z * h) @ design.usage)]
            )
    else:  # HN: log(1 - g) per unit usage (count detectors: hazard -log(1 - g))
        ph = h * p0
        out["logq"] = np.log1p(-ph) @ design.usage
        if derivatives:
            t = ph / (1.0 - ph)
            out["dlogq"] = np.stack(
                [
                    -(t @ design.usage) * (1.0 - p0),
                    2.0 * ((z * t) @ design.usage),
                ]
            )
    if not full:
        return out
    # --- detections: log-odds r at visited detectors (first jv columns)
    if jv == 0:
        out["det"] = np.zeros((design.n, d2_all.shape[0]))
        if derivatives:
            out["dr0"] = out["dr1"] = np.zeros((d2_all.shape[0], 0))
        return out
    zv = z[:, :jv]
    hv = h[:, :jv]
    if prox and design.det_scale is not None:
        r, dfac = _bernoulli_odds(hv * p0, design.det_scale[None, :], hhn=hhn)
        if derivatives:
            out["dr0"] = dfac * (1.0 if hhn else (1.0 - p0))
            out["dr1"] = (-2.0 * zv) * dfac
    elif prox and hhn:
        lh = np.maximum(hv * p0, 1e-300)
        pv = -np.expm1(-lh)
        r = np.log(pv)
        r += lh
        if derivatives:
            lp = lh / pv
            out["dr0"] = lp
            out["dr1"] = (-2.0 * zv) * lp
    elif prox:
        ph = hv * p0
        om = 1.0 - ph
        r = zv - np.log(om)
        r += np.log(p0)
        if derivatives:
            inv = 1.0 / om
            out["dr0"] = inv * (1.0 - p0)
            out["dr1"] = (-2.0 * zv) * inv
    elif hhn:  # count, Poisson mean lambda0 h per unit usage
        r = zv + np.log(p0)
        if derivatives:
            out["dr0"] = np.ones_like(zv)
            out["dr1"] = -2.0 * zv
    else:  # count HN: Poisson mean -log(1 - g0 h) per unit usage (secr's hk)
        ph = hv * p0
        haz = -np.log1p(-ph)
        r = np.log(np.maximum(haz, 1e-300))
        if derivatives:
            lfp = ph / ((1.0 - ph) * np.maximum(haz, 1e-300))  # L dr/dL
            out["dr0"] = (1.0 - p0) * lfp
            out["dr1"] = (-2.0 * zv) * lfp
    out["det"] = design.y @ r.T
    return out


def _bernoulli_odds(
    lval: np.ndarray, u: np.ndarray, *, hhn: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of a detection on an occasion of usage ``u`` and ``L dr/dL``.

    ``L`` is ``lambda0 h`` (HHN: ``p = 1 - exp(-u L)``) or ``g0 h`` (HN:
    ``p = 1 - (1 - L)^u``); the returned log-odds omit the data constant
    ``log u`` (kept in the design's constant).
    """
    lval = np.maximum(lval, 1e-300)
    if hhn:
        v = u * lval
        pv = -np.expm1(-v)
        return np.log(pv) + v - np.log(u), v / pv
    a = u * np.log1p(-lval)
    pv = -np.expm1(a)
    ul = u * lval / (1.0 - lval)
    return np.log(pv) - a - np.log(u), ul * np.exp(a) / pv + ul


def _bernoulli_correction(
    lval: np.ndarray, u: np.ndarray, *, hhn: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``f = r - log L`` and ``L f'(L)`` of :func:`_bernoulli_odds` (0 as L -> 0)."""
    r, lfp = _bernoulli_odds(lval, u, hhn=hhn)
    return r - np.log(np.maximum(lval, 1e-300)), lfp - 1.0


# thresholds below which per-pair corrections are below double precision
_L_DET = 1e-15  # f(L) ~ L/2 (HHN) or L (HN) in the detection log-odds
_L_NODET = 1e-9  # log(1 - L) + L ~ -L^2/2 in the HN no-detection term


def _pairs(
    d2t: np.ndarray, cutoff_d2: float, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(detector, mask point) pairs of the first ``rows`` detectors in a distance."""
    block = d2t[:rows]
    flat = np.flatnonzero(block.ravel() < cutoff_d2)
    m = block.shape[1]
    return flat, flat // m, flat % m


def aux_sparse_y(design: Design) -> sparse.csr_matrix:
    """The collapsed counts as a sparse matrix (cached in ``design.aux``)."""
    assert design.aux is not None
    cached = design.aux.get("ysp")
    if cached is None:
        cached = sparse.csr_matrix(design.y)
        design.aux["ysp"] = cached
    return cached


def _class_terms_fast(
    design: Design, p0: float, sigma: float, *, derivatives: bool
) -> dict[str, Any]:
    """:func:`class_terms` with separable sums and truncated corrections.

    ``sum_j U_j h_j(x)`` factorises over x and y offsets on a lattice mask;
    the detection log-odds are ``log p0 + z + f(L)`` where ``z`` enters
    through the precomputed ``y @ d2.T`` and the correction ``f(L)`` is
    evaluated only for detector-point pairs where it exceeds double
    precision.
    """
    assert design.grid is not None and design.aux is not None
    dx2, dy2, ix, iy = design.grid
    aux = design.aux
    k = -0.5 / (sigma * sigma)
    hhn = design.detectfn == "HHN"
    prox = design.detector == "proximity"
    usage = design.usage
    out: dict[str, Any] = {}
    ex = np.exp(dx2 * k)
    ey = np.exp(dy2 * k)
    exu = ex * usage
    hu = (exu @ ey.T)[ix, iy]
    zh = np.zeros(0)
    if derivatives:
        zh = ((exu * (dx2 * k)) @ ey.T + exu @ (ey * (dy2 * k)).T)[ix, iy]
    logit = not hhn  # HN: p0 = g0 on the logit scale
    deta = (1.0 - p0) if logit else 1.0  # d log p0 / d eta
    d2t = aux["d2t"]
    m_n = d2t.shape[1]
    jv = design.y.shape[1]
    if not hhn:
        # log(1 - L) = -L + c(L), c only where L is not negligible
        cut = 2.0 * sigma * sigma * math.log(p0 / _L_NODET) if p0 > _L_NODET else -1.0
        flat, jj, mm = _pairs(d2t, cut, d2t.shape[0])
        lval = p0 * np.exp(d2t.ravel()[flat] * k)
        corr = np.log1p(-lval) + lval
        uj = usage[jj]
        logq = -p0 * hu + np.bincount(mm, weights=uj * corr, minlength=m_n)
        out["logq"] = logq
        if derivatives:
            extra = lval * lval / (1.0 - lval)
            zval = d2t.ravel()[flat] * k
            s0 = p0 * hu + np.bincount(mm, weights=uj * extra, minlength=m_n)
            s1 = p0 * zh + np.bincount(mm, weights=uj * zval * extra, minlength=m_n)
            out["dlogq"] = np.stack([-(1.0 - p0) * s0, 2.0 * s1])
    else:
        out["logq"] = -p0 * hu
        if derivatives:
            out["dlogq"] = np.stack([out["logq"] * deta, (2.0 * p0) * zh])
    # detection part
    det = aux["ny"][:, None] * math.log(p0) + k * aux["s"]
    pair_info: tuple[np.ndarray, np.ndarray] | None = None
    if jv and (prox or not hhn):
        scale = design.det_scale if prox else None
        top = p0 * (float(np.max(scale)) if scale is not None else 1.0)
        cut = 2.0 * sigma * sigma * math.log(top / _L_DET) if top > _L_DET else -1.0
        block = d2t[:jv].ravel()
        flat = np.flatnonzero(block < cut)
        indptr = np.searchsorted(flat, np.arange(jv + 1) * m_n)
        col = np.repeat(np.arange(jv), np.diff(indptr))
        mm = flat - col * m_n
        zval = block[flat] * k
        lval = p0 * np.exp(zval)
        if scale is not None:  # Bernoulli per occasion of usage u
            f, g1 = _bernoulli_correction(lval, scale[col], hhn=hhn)
        elif hhn:  # proximity: r = log(1 - exp(-L)) + L
            pv = -np.expm1(-lval)
            f = np.log(pv / lval) + lval
            g1 = lval / pv - 1.0  # L f'(L)
        elif prox:  # r = log L - log(1 - L)
            f = -np.log1p(-lval)
            g1 = lval / (1.0 - lval)
        else:  # count HN: r = log(-log(1 - L))
            haz = -np.log1p(-lval)
            f = np.log(haz / lval)
            g1 = lval / ((1.0 - lval) * haz) - 1.0
        ysp = aux_sparse_y(design)

        def spmul(vals: np.ndarray) -> np.ndarray:
            mat = sparse.csr_matrix((vals, mm, indptr), shape=(jv, m_n))
            return np.asarray((ysp @ mat).toarray())

        det = det + spmul(f)
        if derivatives:
            pair_info = (spmul(g1), spmul(g1 * zval))
    out["det"] = det
    if derivatives:
        out["fast"] = np.empty(0)
        out["_k"] = np.array(k)
        out["_deta"] = np.array(deta)
        out["_pairs"] = pair_info
    return out


def evaluate(
    beta: np.ndarray, design: Design, *, gradient: bool = False, keep: bool = False
) -> dict[str, object]:
    """Log-likelihood (and its analytic gradient) at link-scale ``beta``.

    One class: ``sum_i log A_i - E + constant`` with ``A_i = sum_m D_m a
    Pr(omega_i | x_m)`` and ``E = sum_m D_m a p.(x_m)``.

    Two classes follow secr's finite-mixture likelihood with known classes
    (``hcov``, secr's ``fastsecrloglikfn``): with ``w_ic`` the class
    membership (1/0 when the class is known, ``pi_c`` otherwise),

    ``sum_i log sum_c w_ic A_ic - sum_i log Ebar_i + n log T - T + K``

    where ``Ebar_i = sum_c w_ic E_c``, ``T = n / sum_i 1/Ebar_i`` (``N`` times
    the harmonic mean of the animals' detection probabilities) and ``K =
    sum_c n_c log(E_c pi_c / sum_c' E_c' pi_c')`` over the classes of the
    animals of known class.  Without known classes this reduces to
    ``sum_i log sum_c pi_c A_ic - sum_c pi_c E_c``.

    With ``keep`` the per-class log posterior terms are returned as well
    (``lp`` list of ``(n, M)``, ``li`` ``(n,)``, ``logw`` ``(n, C)``,
    ``pdot`` ``(C, M)``).
    """
    real = unpack(beta, design)
    dens_m = density_at_mask(beta, design)
    terms, lps, lse = _class_parts(real, dens_m, design, gradient=gradient)
    n, nc = design.n, design.n_classes
    logpi = np.log(real.pmix)
    logw = np.broadcast_to(logpi, (n, nc)).copy()
    known = design.cls >= 0
    if nc > 1:
        logw[known, :] = -np.inf
        logw[known, design.cls[known]] = 0.0
    li = logsumexp(lse + logw, axis=1)
    pdot = np.stack([-np.expm1(t["logq"]) for t in terms])  # (C, M)
    da = dens_m * design.cell_area
    expected_c = pdot @ da  # (C,) E_c
    mix = None
    if nc > 1:
        mix = _Mixture.at(logw, expected_c, real, design)
        ll = float(
            np.sum(li)
            - np.sum(np.log(mix.ebar))
            + n * math.log(mix.t_n)
            - mix.t_n
            + mix.comp4
            + design.constant
        )
    else:
        ll = float(np.sum(li) - expected_c[0] + design.constant)
    out: dict[str, object] = {"ll": ll, "real": real}
    if keep:
        out.update(lp=lps, li=li, logw=logw, pdot=pdot)
    if not gradient:
        return out
    g, d_exp, post_c = _class_gradients(terms, lps, logw, li, pdot, da, design)
    if mix is None:
        out["grad"] = g - d_exp[0]
    else:
        out["grad"] = mix.gradient(g, d_exp, post_c, expected_c, real, design)
    return out


def _class_parts(
    real: Real, dens_m: np.ndarray, design: Design, *, gradient: bool
) -> tuple[list[dict[str, Any]], list[np.ndarray], np.ndarray]:
    """Per-class terms of the likelihood.

    Returns per class its :func:`class_terms` and ``log(Pr(omega_i | x_m) D_m
    a)`` as ``(n, M)``, and their sums over the mask, ``log A_ic``, ``(n, C)``.
    """
    with np.errstate(divide="ignore"):
        logda = np.log(dens_m * design.cell_area)
    terms = []
    lse = np.empty((design.n, design.n_classes))
    lps = []
    for c in range(design.n_classes):
        t = class_terms(
            design, float(real.p0[c]), float(real.sigma[c]), derivatives=gradient
        )
        lp = t["det"]
        lp += (t["logq"] + logda)[None, :]
        lse[:, c] = logsumexp(lp, axis=1)
        terms.append(t)
        lps.append(lp)
    return terms, lps, lse


@dataclass(frozen=True)
class _Mixture:
    """The finite-mixture terms of :func:`evaluate` for two classes.

    ``w`` class membership ``(n, C)``, ``ebar`` and ``inv`` ``Ebar_i`` and its
    inverse, ``t_n`` ``T``, ``n_c`` animals of known class per class, ``kset``
    classes with known animals, ``ep`` ``E_c pi_c`` and ``comp4`` the
    known-class term ``K``.
    """

    w: np.ndarray
    ebar: np.ndarray
    inv: np.ndarray
    t_n: float
    n_c: np.ndarray
    kset: np.ndarray
    ep: np.ndarray
    comp4: float

    @classmethod
    def at(
        cls, logw: np.ndarray, expected_c: np.ndarray, real: Real, design: Design
    ) -> _Mixture:
        """The terms for memberships ``logw`` and expected counts ``E_c``."""
        n, nc = design.n, design.n_classes
        known = design.cls >= 0
        w = np.exp(logw)  # (n, C)
        ebar = w @ expected_c
        inv = 1.0 / ebar
        t_n = n / float(np.sum(inv))
        n_c = np.bincount(design.cls[known], minlength=nc).astype(np.float64)
        kset = n_c > 0
        ep = expected_c * real.pmix
        comp4 = float(np.sum(n_c[kset] * np.log(ep[kset] / np.sum(ep[kset]))))
        return cls(w, ebar, inv, t_n, n_c, kset, ep, comp4)

    def gradient(
        self,
        g: np.ndarray,
        d_exp: np.ndarray,
        post_c: np.ndarray,
        expected_c: np.ndarray,
        real: Real,
        design: Design,
    ) -> np.ndarray:
        """Gradient of the mixture log-likelihood from the per-class parts."""
        n = design.n
        known = design.cls >= 0
        w, inv, t_n = self.w, self.inv, self.t_n
        n_c, kset, ep = self.n_c, self.kset, self.ep
        m1 = real.pmix[1]
        dlogpi = np.array([-m1, 1.0 - m1])
        dpi = np.array([-m1 * (1 - m1), m1 * (1 - m1)])
        # sum_i li: the mixing proportion enters only for animals of unknown class
        g[-1] = float(np.sum(post_c[~known] * dlogpi[None, :]))
        # d log Ebar_i
        d_b = (w @ d_exp) * inv[:, None]  # (n, P)
        d_b[~known, -1] += float(dpi @ expected_c) * inv[~known]
        # n log T - T with T = n / sum_i 1/Ebar_i
        d_t = t_n * (inv @ d_b) / float(np.sum(inv))
        grad = g - d_b.sum(axis=0) + (n / t_n - 1.0) * d_t
        # known-class term
        if np.any(kset):
            n_k = float(np.sum(n_c[kset]))
            sum_ep = float(np.sum(ep[kset]))
            d_ep = d_exp * real.pmix[:, None]
            d_ep[:, -1] += expected_c * dpi
            grad += (n_c[kset, None] * d_exp[kset] / expected_c[kset, None]).sum(axis=0)
            grad[-1] += float(np.sum(n_c[kset] * dlogpi[kset]))
            grad -= n_k * d_ep[kset].sum(axis=0) / sum_ep
        return np.asarray(grad)


def _class_gradients(
    terms: list[dict[str, Any]],
    lps: list[np.ndarray],
    logw: np.ndarray,
    li: np.ndarray,
    pdot: np.ndarray,
    da: np.ndarray,
    design: Design,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class parts of the gradient.

    Returns the gradient of ``sum_i li`` (``(P,)``), ``dE_c / dbeta``
    (``(C, P)``) and each animal's posterior class mass (``(n, C)``).  Turns
    the arrays of ``lps`` into posteriors in place.
    """
    n, nc = design.n, design.n_classes
    nd = design.n_d
    nb = design.n_beta
    g = np.zeros(nb)  # gradient of sum_i li
    d_exp = np.zeros((nc, nb))  # dE_c / dbeta
    post_c = np.empty((n, nc))
    for c, t in enumerate(terms):
        # posterior P_icm = exp(lp + logw - li)
        pc = lps[c]
        pc += (logw[:, c] - li)[:, None]
        np.exp(pc, out=pc)
        post_c[:, c] = pc.sum(axis=1)
        colsum = pc.sum(axis=0)  # (M,)
        if design.d_matrix is None:
            g[:nd] += np.bincount(design.d_index, weights=colsum, minlength=nd)
            d_exp[c, :nd] = np.bincount(
                design.d_index, weights=pdot[c] * da, minlength=nd
            )
        else:  # log D = X beta_D: chain rule through the design matrix
            g[:nd] += design.d_matrix.T @ colsum
            d_exp[c, :nd] = design.d_matrix.T @ (pdot[c] * da)
        gq = t["dlogq"] @ colsum  # (2,)
        dq = -(t["dlogq"] @ (da * np.exp(t["logq"])))  # dE_c / d(eta_c, s_c)
        gr0, gr1 = _usage_gradient(t, pc, design)
        g[nd + c] = gq[0] + gr0
        g[nd + nc + c] = gq[1] + gr1
        d_exp[c, nd + c] = dq[0]
        d_exp[c, nd + nc + c] = dq[1]
    return g, d_exp, post_c


def _usage_gradient(
    t: dict[str, Any], pc: np.ndarray, design: Design
) -> tuple[float, float]:
    """Derivatives of the detection terms in ``(eta_c, s_c)``, posterior-weighted."""
    if "fast" in t:
        k = float(t["_k"])
        deta = float(t["_deta"])
        aux = design.aux
        assert aux is not None
        pmass = pc.sum(axis=1)
        gr0 = deta * float(pmass @ aux["ny"])
        gr1 = -2.0 * k * float(np.vdot(pc, aux["s"]))
        pairs = t["_pairs"]
        if pairs is not None:
            yg1, yg1z = pairs  # (n, M): y @ [L f'(L)], y @ [z L f']
            gr0 += deta * float(np.vdot(pc, yg1))
            gr1 += -2.0 * float(np.vdot(pc, yg1z))
    elif design.y.shape[1]:
        wy = np.ascontiguousarray(pc.T @ design.y)  # (M, Jv)
        gr0 = float(np.vdot(t["dr0"], wy))
        gr1 = float(np.vdot(t["dr1"], wy))
    else:
        gr0 = gr1 = 0.0
    return gr0, gr1


def loglik(beta: np.ndarray, design: Design) -> float:
    """Log-likelihood at link-scale ``beta`` (-inf where undefined)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ll = float(evaluate(beta, design)["ll"])  # type: ignore[arg-type]
    return ll if np.isfinite(ll) else -np.inf


def loglik_and_gradient(beta: np.ndarray, design: Design) -> tuple[float, np.ndarray]:
    """Log-likelihood and analytic gradient at link-scale ``beta``."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = evaluate(beta, design, gradient=True)
    ll = float(res["ll"])  # type: ignore[arg-type]
    g = np.asarray(res["grad"])
    if not np.isfinite(ll) or not np.all(np.isfinite(g)):
        return -np.inf, np.zeros_like(beta)
    return ll, g


def numeric_gradient(
    beta: np.ndarray, design: Design, *, step: float = 1e-5
) -> np.ndarray:
    """Central finite-difference gradient (for checks)."""
    g = np.empty_like(beta)
    for k in range(beta.size):
        e = np.zeros_like(beta)
        e[k] = step
        g[k] = (loglik(beta + e, design) - loglik(beta - e, design)) / (2 * step)
    return g


def hessian(beta: np.ndarray, design: Design, *, step: float = 1e-4) -> np.ndarray:
    """Hessian by central differences of the analytic gradient (symmetrised)."""
    p = beta.size
    hmat = np.empty((p, p))
    for k in range(p):
        e = np.zeros(p)
        e[k] = step
        gp = loglik_and_gradient(beta + e, design)[1]
        gm = loglik_and_gradient(beta - e, design)[1]
        hmat[:, k] = (gp - gm) / (2 * step)
    return 0.5 * (hmat + hmat.T)
