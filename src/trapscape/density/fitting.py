"""Density by spatial capture-recapture (maximum likelihood, secr-compatible).

The likelihood is the full likelihood of Borchers & Efford (2008) with a
Poisson number of animals, as computed by the R package secr (Efford) for
proximity or count detectors with occasions collapsed (secr's
"fastproximity"): the log-likelihood at given parameters equals secr's on
the same mask.  Parameters are estimated on the link scale (log D,
log lambda0 or logit g0, log sigma), standard errors come from the inverse
of the observed information on that scale, real-scale SEs use secr's
transforms (log-normal for log links, delta method for logit) and
confidence intervals are Wald intervals on the link scale.

This module holds the fitting driver (:func:`fit`), the
log-likelihood at given real parameters and the mask-buffer check.  See
``docs/density.md`` for the formulas and conventions.

References
----------
Borchers, D. L. & Efford, M. G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
Efford, M. G. (2004) Density estimation in live-trapping studies. Oikos 106,
598-610.
Efford, M. G., Borchers, D. L. & Mowat, G. (2013) Varying effort in
capture-recapture studies. Methods Ecol. Evol. 4, 629-636.
Efford, M. G. & Fewster, R. M. (2013) Estimating population size by spatially
explicit capture-recapture. Oikos 122, 918-928.
Royle, J. A., Chandler, R. B., Sollmann, R. & Gardner, B. (2014) Spatial
Capture-Recapture. Academic Press.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from .._memory import DEFAULT_BUDGET_GB
from ..errors import ComputationError, InputError, TrapscapeWarning
from . import _likelihood as _lik
from ._setup import (
    _check_fittable,
    _design,
    _occasion_model,
    _start,
    unsurveyed_zones,
)
from .abundance import _region_n
from .data import (
    PER_100KM2,
    CaptureHistory,
    DetectFn,
    Mask,
    ModelName,
    OccasionModel,
    rpsv,
)
from .mask import make_mask
from .result import SCRFit, _real_row

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


__all__ = [
    "RSE_WARN",
    "SIGMA_CI_RATIO_MAX",
    "PrecisionWarning",
    "buffer_check",
    "check_precision",
    "fit",
    "log_likelihood",
]


logger = logging.getLogger(__name__)


def _bounds(design: _lik.Design, mask: Mask) -> list[tuple[float, float]]:
    """Link-scale bounds that keep runaway parameters finite."""
    ext = float(np.ptp(mask.xy, axis=0).max()) + mask.spacing
    nd, c = design.n_d, design.n_classes
    p0b = (
        (math.log(1e-10), math.log(1e4)) if design.detectfn == "HHN" else (-30.0, 30.0)
    )
    out = [(math.log(1e-14), math.log(1e6))] * nd + [p0b] * c
    out += [(math.log(mask.spacing / 50.0), math.log(100.0 * ext))] * c
    if c > 1:
        out.append((-20.0, 20.0))
    return out


def _warn_bounds(
    at_bound: np.ndarray, design: _lik.Design, d_levels: list[str]
) -> None:
    if not np.any(at_bound):
        return
    nd = design.n_d
    which = []
    for k in np.flatnonzero(at_bound):
        if k < nd:
            which.append(
                f"density of {d_levels[k]!r} (no detected animal lives there?)"
            )
        else:
            which.append(f"parameter {k} on the link scale")
    warnings.warn(
        "Not estimable from these data (at the limit of its range or with a "
        "link-scale SE above 5): " + "; ".join(which) + ". Its estimate is not "
        "reliable and has no SE; simplify the model (e.g. merge zones).",
        TrapscapeWarning,
        stacklevel=4,
    )


def log_likelihood(
    ch: CaptureHistory,
    mask: Mask,
    *,
    density_per_100km2: float,
    sigma: float,
    lambda0: float | None = None,
    g0: float | None = None,
    detectfn: DetectFn = "HHN",
    integer_usage: bool = True,
    occasion_model: OccasionModel = "auto",
) -> float:
    """Log-likelihood of the null model at given real parameters.

    Equals secr's ``logLik`` for the same data, mask and parameters
    (full likelihood, Poisson N; collapsed occasions or, for occasions of
    more than one day, the Bernoulli model of ``fastproximity = FALSE``).

    Parameters
    ----------
    ch, mask
        Data and habitat mask.
    density_per_100km2
        Density (animals per 100 km²).
    sigma
        Spatial scale (m).
    lambda0, g0
        Baseline detection (HHN uses ``lambda0``, HN ``g0``).
    detectfn
        ``"HHN"`` or ``"HN"``.
    integer_usage
        Truncate each detector's summed usage to a whole number, as secr does
        when it collapses occasions (default); ``False`` keeps fractional
        usage.
    occasion_model
        See :func:`fit`.
    """
    design, _, _ = _design(
        ch,
        mask,
        detectfn=detectfn,
        model="null",
        integer_usage=integer_usage,
        occasion_model=_occasion_model(ch, occasion_model),
    )
    p0 = lambda0 if detectfn == "HHN" else g0
    if p0 is None:
        raise InputError(
            f"detectfn {detectfn!r} needs {'lambda0' if detectfn == 'HHN' else 'g0'}."
        )
    real = _lik.Real(
        density=np.array([density_per_100km2 / PER_100KM2]),
        p0=np.array([p0]),
        sigma=np.array([sigma]),
        pmix=np.ones(1),
    )
    return _lik.loglik(_lik.pack(real, design), design)


def fit(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: DetectFn = "HHN",
    model: ModelName = "null",
    regions: Mapping[str, BaseGeometry] | None = None,
    region_zones: Mapping[str, BaseGeometry] | None = None,
    start: Sequence[float] | None = None,
    maxiter: int = 200,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    occasion_model: OccasionModel = "auto",
) -> SCRFit:
    """Fit an SCR model by maximum likelihood.

    Parameters
    ----------
    ch
        Capture history (:func:`capture_history` or :class:`CaptureHistory`).
    mask
        Habitat mask (:func:`make_mask`).
    detectfn
        ``"HHN"`` hazard half-normal (lambda0, sigma) or ``"HN"`` half-normal
        (g0, sigma).
    model
        ``"null"``; ``"sex"`` (sex-specific detection parameters as a 2-class
        finite mixture with known class where sex is recorded, mixing
        proportion ``pmix[M]``); ``"zone"`` (density per mask zone label;
        a zone without a working station is left out of the habitat, listed
        in ``settings["zones_left_out"]``).
    regions
        Optional mapping name -> polygon (projected, metres) for expected and
        realised population size (secr's ``region.N``).
    region_zones
        For ``model="zone"``: mapping zone name -> polygon, to extrapolate the
        zone densities over regions outside the mask.
    start
        Optional link-scale starting values.
    maxiter
        Optimiser iteration limit.
    integer_usage
        Truncate summed usage to whole numbers as secr does (default), so
        that estimates and logLik match secr; ``False`` keeps fractional
        usage (setup/retrieval half days).
    max_memory_gb
        Memory budget in GiB; a mask x detector problem over it is refused
        before any array is built, naming a mask spacing that fits
        (``None``: no check).
    occasion_model
        How a proximity detector's binary record per occasion is modelled.
        ``"bernoulli"``: one Bernoulli trial per occasion with
        ``p = 1 - exp(-u lambda0 h)`` (HHN) or ``1 - (1 - g0 h)^u`` (HN) for
        an occasion of usage ``u`` days (secr's ``details =
        list(fastproximity = FALSE)``), the proper model when an occasion
        spans several days; ``"binomial"``: occasions collapsed and the
        summed record treated as ``Binomial(U_j, p)`` (secr's default, for
        comparison with secr fits that kept it); ``"auto"`` (default):
        Bernoulli as soon as an occasion carries more than one day of usage,
        else the binomial (with daily occasions the two coincide up to a
        data constant).  The fitted one is
        ``SCRFit.occasion_model``.  Count detectors are Poisson either way.

    Returns
    -------
    SCRFit

    Raises
    ------
    ComputationError
        If the data cannot support the model (one animal, no recaptures,
        all detections at one station), the fit does not converge or its
        information matrix is not invertible (no estimates without SEs are
        returned), or the fit would exceed ``max_memory_gb``.
    """
    with _lik.blas_single_thread():
        return _fit(
            ch,
            mask,
            detectfn=detectfn,
            model=model,
            regions=regions,
            region_zones=region_zones,
            start=start,
            maxiter=maxiter,
            integer_usage=integer_usage,
            max_memory_gb=max_memory_gb,
            occasion_model=occasion_model,
        )


def _fit(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: str,
    model: str,
    regions: Mapping[str, BaseGeometry] | None,
    region_zones: Mapping[str, BaseGeometry] | None,
    start: Sequence[float] | None,
    maxiter: int,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    occasion_model: str = "auto",
) -> SCRFit:
    """The steps of :func:`fit`: setup, optimum, covariance, tables."""
    t0 = time.perf_counter()
    _check_fittable(ch)
    om = _occasion_model(ch, occasion_model)
    design, d_levels, classes = _design(
        ch,
        mask,
        detectfn=detectfn,
        model=model,
        integer_usage=integer_usage,
        max_memory_gb=max_memory_gb,
        occasion_model=om,
    )
    beta0 = _initial_beta(ch, mask, design, start)
    opt = _maximise(design, mask, beta0, maxiter=maxiter)
    beta = opt.beta
    ll, grad = _lik.loglik_and_gradient(beta, design)
    converged = bool(np.isfinite(ll) and np.max(np.abs(grad[opt.free])) < 1e-3)
    vcov, invertible = _covariance(opt)
    converged = converged and invertible
    if not converged:
        raise ComputationError(
            f"The SCR fit ({model}/{detectfn}) did not converge "
            f"({opt.res.message}; largest gradient "
            f"{float(np.max(np.abs(grad[opt.free]), initial=0.0)):.2g}"
            f"{'' if invertible else '; information matrix not invertible'}): "
            "no estimates are reported. Simplify the model (e.g. model='null' "
            "or fewer zones), check the mask buffer, or collect more data."
        )
    se = np.sqrt(np.abs(np.diag(vcov)))
    at_bound = opt.at_bound
    loose = opt.free & (se > 5.0)
    if np.any(loose):
        at_bound = at_bound | loose
        se[loose] = np.nan
    _warn_bounds(at_bound, design, d_levels)
    names, table = _estimates(
        beta, se, d_levels, classes, detectfn=detectfn, model=model
    )
    npar = beta.size
    n = ch.n
    aic = -2 * ll + 2 * npar
    aicc = aic + 2 * npar * (npar + 1) / (n - npar - 1) if n - npar - 1 > 0 else np.nan
    settings = _settings(ch, mask, model, _lik.density_at_mask(beta, design), table)
    settings["integer_usage"] = integer_usage and om == "binomial"
    settings["occasion_model"] = om
    region_table = pd.DataFrame()
    if regions:
        region_table = _region_n(
            beta,
            vcov,
            design,
            mask,
            ch,
            regions,
            d_levels=d_levels,
            region_zones=region_zones,
        )
    seconds = time.perf_counter() - t0
    logger.info(
        "SCR %s/%s fit: n=%d, logL=%.4f, D=%.3f /100 km2 in %.1f s (%d evaluations)",
        model,
        detectfn,
        n,
        ll,
        float(table["estimate"].iloc[0]),
        seconds,
        opt.evaluations,
    )
    return SCRFit(
        estimates=table,
        beta=beta,
        beta_names=tuple(names),
        vcov=vcov,
        loglik=ll,
        aic=aic,
        aicc=aicc,
        npar=npar,
        n=n,
        n_detections=ch.n_detections,
        n_recaptures=ch.n_recaptures,
        detectfn=detectfn,
        detector=ch.detector,
        model=model,
        occasion_days=ch.occasion_days,
        mask_points=len(mask),
        mask_spacing=mask.spacing,
        mask_buffer=mask.buffer,
        converged=converged,
        message=str(opt.res.message),
        iterations=int(opt.res.nit),
        evaluations=opt.evaluations,
        seconds=seconds,
        region_n=region_table,
        settings=settings,
        occasion_model=om,
    )


class PrecisionWarning(TrapscapeWarning):
    """A density estimate with a relative standard error above :data:`RSE_WARN`."""


#: relative standard error of a density above which a fit is flagged
#: (a conventional limit for a usable density estimate; RSE is the precision
#: measure by which SCR designs are judged, Efford & Boulanger 2019)
RSE_WARN = 0.30
#: a sigma whose 95 % CI spans more than this factor (upper / lower) means the
#: likelihood is nearly flat in sigma: the fit is refused
SIGMA_CI_RATIO_MAX = 10.0


def check_precision(
    table: pd.DataFrame, *, n: int, n_recaptures: int, what: str = "The SCR fit"
) -> list[str]:
    """Refuse a fit flat in sigma; flag densities with RSE above :data:`RSE_WARN`.

    Adds the column ``rse`` (SE / estimate) to ``table`` in place and returns
    the notes (also issued as one :class:`PrecisionWarning`, a
    :class:`~trapscape.errors.TrapscapeWarning`).

    Raises
    ------
    ComputationError
        When a sigma has no SE or its 95 % CI spans more than
        :data:`SIGMA_CI_RATIO_MAX` (e.g. 3.7-86 km): the data do not tell a
        small home range from a large one, so density is not estimable.
    """
    table["rse"] = table["se"] / table["estimate"]
    names = table["parameter"].astype(str)
    for _, row in table[names.str.startswith("sigma")].iterrows():
        ratio = row["ucl"] / row["lcl"] if row["lcl"] > 0 else math.inf
        if not (np.isfinite(row["se"]) and ratio <= SIGMA_CI_RATIO_MAX):
            span = (
                f"95 % CI {row['lcl'] / 1000:.3g}-{row['ucl'] / 1000:.3g} km"
                if np.isfinite(ratio)
                else "no SE"
            )
            raise ComputationError(
                f"{what} is refused: the likelihood is nearly flat in "
                f"{row['parameter']} ({span}, more than a factor "
                f"{SIGMA_CI_RATIO_MAX:g}) with {n} animals and {n_recaptures} "
                "recaptures, so the movement scale, and with it density, is not "
                "estimable. More recaptures at different stations are needed "
                "(longer survey, denser stations), or fix sigma from another study."
            )
    notes = []
    dens = table[names.str.match(r"^D(\[|$)")]
    for _, row in dens.iterrows():
        rse = row["rse"]
        if not np.isfinite(rse) or rse > RSE_WARN:
            rtxt = f"{100 * rse:.0f} %" if np.isfinite(rse) else "unknown"
            notes.append(
                f"{row['parameter']} is imprecise: RSE {rtxt} (above "
                f"{100 * RSE_WARN:.0f} %), 95 % CI {row['lcl']:.3g}-{row['ucl']:.3g} "
                f"per 100 km2 from {n} animals and {n_recaptures} recaptures"
            )
    if notes:
        warnings.warn("; ".join(notes) + ".", PrecisionWarning, stacklevel=4)
    return notes


def _settings(
    ch: CaptureHistory,
    mask: Mask,
    model: str,
    dens_m: np.ndarray,
    table: pd.DataFrame,
) -> dict[str, Any]:
    """Notes (merged zones, precision) and the settings of :attr:`SCRFit.settings`."""
    left_out = unsurveyed_zones(ch, mask) if model in ("zone", "sex+zone") else {}
    notes = [
        f"zone {z!r} has no station: left out of the habitat (no density is "
        f"estimated there; its animals could not be told from those of {near})"
        for z, near in left_out.items()
    ]
    notes += check_precision(table, n=ch.n, n_recaptures=ch.n_recaptures)
    return {
        "zones_left_out": sorted(left_out),
        "notes": notes,
        "rse_warn": RSE_WARN,
        "mean_density_per_100km2": float(
            np.mean(dens_m[[z not in left_out for z in mask.zone]])
            if left_out and mask.zone is not None
            else np.mean(dens_m)
        )
        * PER_100KM2,
        "mask_area_km2": mask.area / 1e6,
    }


def _initial_beta(
    ch: CaptureHistory,
    mask: Mask,
    design: _lik.Design,
    start: Sequence[float] | None,
) -> np.ndarray:
    """Link-scale starting values: ``start`` or a search from the RPSV sigma."""
    sg = rpsv(ch)
    if not np.isfinite(sg) or sg <= 0:
        sg = mask.spacing * 2
    sg = max(sg, mask.spacing)
    beta0 = (
        np.asarray(start, dtype=np.float64)
        if start is not None
        else _start(ch, design, sg)
    )
    if beta0.size != design.n_beta:
        raise InputError(f"start must have {design.n_beta} link-scale values.")
    return beta0


@dataclass(frozen=True)
class _Optimum:
    """The maximum found by :func:`_maximise`.

    ``at_bound``/``free`` flag the link-scale parameters at (or away from) the
    limits of :func:`_bounds`; ``hessian_free`` is the Hessian at ``beta``
    restricted to the free ones; ``res`` is scipy's result of the last
    quasi-Newton run; ``evaluations`` counts likelihood evaluations.
    """

    beta: np.ndarray
    at_bound: np.ndarray
    free: np.ndarray
    hessian_free: np.ndarray
    res: optimize.OptimizeResult
    evaluations: int


def _maximise(
    design: _lik.Design, mask: Mask, beta0: np.ndarray, *, maxiter: int
) -> _Optimum:
    """BFGS from ``beta0``, a bounded refit if a parameter ran away, a Newton step."""
    nev = [0]

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        nev[0] += 1
        v, g = _lik.loglik_and_gradient(b, design)
        if not np.isfinite(v):
            return 1e300, np.zeros_like(b)
        return -v, -g

    bounds = _bounds(design, mask)
    beta0 = np.clip(
        beta0, [lo + 1e-3 for lo, _ in bounds], [hi - 1e-3 for _, hi in bounds]
    )
    res = optimize.minimize(
        objective,
        beta0,
        jac=True,
        method="BFGS",
        options={"maxiter": maxiter, "gtol": 1e-6},
    )
    beta = res.x
    lo_b = np.array([lo for lo, _ in bounds])
    hi_b = np.array([hi for _, hi in bounds])
    if not np.all(np.isfinite(beta)) or np.any(beta < lo_b) or np.any(beta > hi_b):
        # a parameter ran away (e.g. a zone without animals): bounded refit
        res = optimize.minimize(
            objective,
            np.clip(np.nan_to_num(beta), lo_b, hi_b),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "gtol": 1e-7},
        )
        beta = res.x
    at_bound = (beta <= lo_b + 1e-4) | (beta >= hi_b - 1e-4)
    free = ~at_bound
    # one Newton step on the finite-difference Hessian of the analytic gradient
    hmat = _lik.hessian(beta, design)
    nev[0] += 2 * beta.size
    llb, g = _lik.loglik_and_gradient(beta, design)
    nev[0] += 1
    hf = hmat[np.ix_(free, free)]
    if np.max(np.abs(g[free])) > 1e-9:
        try:
            cand = beta.copy()
            cand[free] = beta[free] + np.linalg.solve(-hf, g[free])
            nev[0] += 1
            if _lik.loglik(cand, design) >= llb:
                beta = cand
        except np.linalg.LinAlgError:
            pass
    return _Optimum(beta, at_bound, free, hf, res, nev[0])


def _covariance(opt: _Optimum) -> tuple[np.ndarray, bool]:
    """Link-scale covariance (inverse observed information) and whether it exists.

    Parameters at a bound get NaN rows and columns.
    """
    size = opt.beta.size
    vcov = np.full((size, size), np.nan)
    try:
        vf = np.linalg.inv(-opt.hessian_free)
        if np.any(np.diag(vf) <= 0):
            raise np.linalg.LinAlgError
        vcov[np.ix_(opt.free, opt.free)] = vf
    except np.linalg.LinAlgError:
        return vcov, False  # the caller refuses the fit
    return vcov, True


def _estimates(
    beta: np.ndarray,
    se: np.ndarray,
    d_levels: list[str],
    classes: list[str],
    *,
    detectfn: str,
    model: str,
) -> tuple[list[str], pd.DataFrame]:
    """Parameter names and the real-scale table of :attr:`SCRFit.estimates`."""
    p0name = "lambda0" if detectfn == "HHN" else "g0"
    p0link = "log" if detectfn == "HHN" else "logit"
    names: list[str] = []
    rows: list[dict[str, Any]] = []
    for k, lev in enumerate(d_levels):
        nm = "D" if model not in ("zone", "sex+zone") else f"D[{lev}]"
        names.append(nm)
        rows.append(_real_row(nm, "log", beta[k] + math.log(PER_100KM2), se[k]))
    c = len(classes)
    nd = len(d_levels)
    for k, cl in enumerate(classes):
        nm = p0name if c == 1 else f"{p0name}[{cl}]"
        names.append(nm)
        rows.append(_real_row(nm, p0link, beta[nd + k], se[nd + k]))
    for k, cl in enumerate(classes):
        nm = "sigma" if c == 1 else f"sigma[{cl}]"
        names.append(nm)
        rows.append(_real_row(nm, "log", beta[nd + c + k], se[nd + c + k]))
    if c > 1:
        names.append("pmix[M]")
        rows.append(_real_row("pmix[M]", "logit", beta[-1], se[-1]))
    table = pd.DataFrame(
        rows, columns=["parameter", "link", "estimate", "se", "lcl", "ucl"]
    )
    return names, table


def buffer_check(
    fit_result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    *,
    factor: float = 1.5,
    tolerance: float = 0.01,
) -> float:
    """Relative change in D if the mask buffer were ``factor`` times wider.

    With the fitted detection parameters, D-hat is close to ``n / esa``
    (effective sampling area); the esa of a wider mask is compared with the
    esa of the fitted mask (secr's ``esa.plot`` idea).  Warns with
    :class:`~trapscape.errors.TrapscapeWarning` when D would change by more
    than ``tolerance``.

    Returns
    -------
    float
        Estimated relative change of D (negative: D was overestimated).
    """
    if mask.buffer is None:
        return float("nan")
    wide = make_mask(
        ch.traps_xy,
        buffer=mask.buffer * factor,
        spacing=mask.spacing,
        habitat=mask.habitat,
    )
    dp = fit_result.detection_params()
    esas = []
    for m in (mask, wide):
        design, _, _ = _design(ch, m, detectfn=fit_result.detectfn, model="null")
        vals = [
            (w, (c.lambda0 if c.detectfn == "HHN" else c.g0) or 0.0, c.sigma)
            for w, c in dp.sex_classes()
        ]
        tot = 0.0
        for w, p0, sg in vals:
            logq = _lik.class_terms(design, float(p0), float(sg))["logq"]
            tot += w * float(np.sum(-np.expm1(logq))) * m.cell_area
        esas.append(tot)
    change = esas[0] / esas[1] - 1.0
    if abs(change) > tolerance:
        warnings.warn(
            f"The mask buffer ({mask.buffer:.0f} m) looks too small: widening it to "
            f"{mask.buffer * factor:.0f} m would change D by {100 * change:+.1f} %. "
            f"Refit with a larger buffer (e.g. buffer={mask.buffer * factor:.0f}).",
            TrapscapeWarning,
            stacklevel=2,
        )
    return change
