"""Where did the survey look, and how hard? Coverage grids, gaps and pdot.

* :func:`pdot_points` / :func:`pdot_surface`: probability that an animal
  whose activity centre lies at a point is detected at least once, given
  every station's usage (days of operation) and a half-normal detection
  function, as secr's ``pdot`` (Efford 2004; Efford, Borchers & Mowat 2013).
* :func:`pdot_summary`: effective sampled area and the share of the study
  area (and of each zone) with pdot above 0.5 and 0.9.

Detection model (see :mod:`trapscape.detection`): with station usage
``u_jk`` in days and ``k(d) = exp(-d**2 / (2 sigma**2))``

* hazard half-normal (``"HHN"``):
  ``pdot = 1 - exp(-sum_jk u_jk lambda0 k(d_j))``;
* half-normal (``"HN"``):
  ``pdot = 1 - prod_jk (1 - g0 k(d_j)) ** (u_jk / occasion_days)``.

In both cases only the total usage of each station matters, so occasions
are collapsed before any distance is computed.

References
----------
Efford, M. G. (2004). Density estimation in live-trapping studies. *Oikos*
106, 598-610.

Efford, M. G., Borchers, D. L. & Mowat, G. (2013). Varying effort in
capture-recapture studies. *Methods in Ecology and Evolution* 4, 629-636.

Efford, M. G. (2024). secr: spatially explicit capture-recapture models.
R package, function ``pdot``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np

from .detection import DetectionParams
from .errors import InputError

__all__ = ["pdot_points"]

logger = logging.getLogger(__name__)

# exp(-r**2 / 2 sigma**2) < 1e-16 beyond r = sigma * sqrt(2 ln 1e16)
_CUTOFF_SIGMAS = math.sqrt(2.0 * math.log(1e16))
_CHUNK_ELEMENTS = 1 << 20  # points x traps evaluated at once (8 MB per array)


def _sex_params(params: DetectionParams) -> list[DetectionParams]:
    """The parameter sets to average over: one per sex, or ``params`` itself."""
    if not params.by_sex:
        return [params]
    known = {f.name for f in dataclasses.fields(DetectionParams)} - {"by_sex"}
    out = []
    for sex, over in sorted(params.by_sex.items()):
        bad = set(over) - known
        if bad:
            raise InputError(
                f"by_sex[{sex!r}] has unknown key(s) {sorted(bad)}; use some of "
                f"{sorted(known)}.")
        out.append(dataclasses.replace(params, by_sex={}, **over))
    return out


def _as_points(points: Any, name: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(f"{name} must be an (n, 2) array of x, y map coordinates; "
                         f"got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or infinite coordinates. Drop them first.")
    return arr


def _total_usage(usage: Any, n_traps: int) -> np.ndarray:
    u = np.asarray(usage, dtype=np.float64)
    if u.ndim == 2:
        u = np.nansum(u, axis=1)
    if u.ndim != 1 or u.shape[0] != n_traps:
        raise InputError(f"usage must have shape (J,) or (J, K) with J = {n_traps} "
                         f"traps; got shape {np.shape(usage)}.")
    if np.any(u < 0):
        raise InputError("usage contains negative values; usage is days of operation.")
    return np.nan_to_num(u, nan=0.0)


def _log_survival_points(points: np.ndarray, traps: np.ndarray, total: np.ndarray,
                         p: DetectionParams) -> np.ndarray:
    """``log P(no detection)`` at each point for one parameter set (chunked)."""
    out = np.zeros(len(points), dtype=np.float64)
    use = total > 0
    traps, total = traps[use], total[use]
    if len(traps) == 0 or len(points) == 0:
        return out
    two_s2 = 2.0 * p.sigma**2
    cutoff = _CUTOFF_SIGMAS * p.sigma
    if p.detectfn == "HHN":
        weight = -float(p.lambda0) * total  # type: ignore[arg-type]
    else:
        weight = total / p.occasion_days
        g0 = float(p.g0)  # type: ignore[arg-type]
    step = max(1, _CHUNK_ELEMENTS // len(traps))
    for i in range(0, len(points), step):
        pts = points[i:i + step]
        lo, hi = pts.min(axis=0) - cutoff, pts.max(axis=0) + cutoff
        near = np.all((traps >= lo) & (traps <= hi), axis=1)
        if not near.any():
            continue
        tx, ty, w = traps[near, 0], traps[near, 1], weight[near]
        d2 = (pts[:, 0:1] - tx) ** 2
        d2 += (pts[:, 1:2] - ty) ** 2
        k = np.exp(-d2 / two_s2)
        if p.detectfn == "HHN":
            out[i:i + step] = k @ w
        else:
            with np.errstate(divide="ignore"):
                out[i:i + step] = np.log1p(-g0 * k) @ w
    return out


def pdot_points(
    points: Any,
    traps: Any,
    usage: Any,
    params: DetectionParams,
) -> np.ndarray:
    """Probability of at least one detection for activity centres at ``points``.

    Parameters
    ----------
    points
        ``(m, 2)`` x, y of activity centres (metres, survey CRS).
    traps
        ``(J, 2)`` x, y of the detectors (stations).
    usage
        ``(J, K)`` usage per occasion in days, or ``(J,)`` total days
        (e.g. :attr:`trapscape.effort.Usage.usage`).
    params
        Detection function (``HHN``: lambda0 per day of usage; ``HN``: g0 per
        occasion of ``params.occasion_days`` days). With ``params.by_sex``
        the result is the unweighted mean of the sex-specific pdots (equal sex
        ratio assumed).

    Returns
    -------
    numpy.ndarray
        ``(m,)`` probabilities in [0, 1].

    Notes
    -----
    HHN: ``1 - exp(-sum_j U_j lambda0 exp(-d_j**2 / 2 sigma**2))`` with
    ``U_j`` the total usage of trap *j* (equal to secr's ``pdot`` for count
    and proximity detectors with usage). HN:
    ``1 - prod_j (1 - g0 exp(-d_j**2 / 2 sigma**2)) ** (U_j / occasion_days)``.
    Points are processed in chunks (bounded memory) and each chunk only sees
    traps within 8.6 sigma of it, where the kernel exceeds 1e-16.

    References
    ----------
    Efford (2004); Efford, Borchers & Mowat (2013); secr ``pdot``.
    """
    pts = _as_points(points, "points")
    trp = _as_points(traps, "traps")
    total = _total_usage(usage, len(trp))
    origin = trp.mean(axis=0) if len(trp) else np.zeros(2)
    pts, trp = pts - origin, trp - origin
    sets = _sex_params(params)
    acc = np.zeros(len(pts), dtype=np.float64)
    for p in sets:
        acc += -np.expm1(_log_survival_points(pts, trp, total, p))
    return acc / len(sets)
