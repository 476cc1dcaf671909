"""Kernel bandwidths: reference bandwidth and least-squares cross-validation.

References
----------
Worton, B. J. (1989). Kernel methods for estimating the utilization
distribution in home-range studies. Ecology 70, 164-168.

Silverman, B. W. (1986). Density Estimation for Statistics and Data
Analysis. Chapman & Hall.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ComputationError, InputError

__all__ = [
    "LSCV_MAX_DUPLICATE_SHARE",
    "href",
    "lscv",
]

#: LSCV is refused when at least this share of relocations repeat a location.
LSCV_MAX_DUPLICATE_SHARE = 0.5


def href(xy: np.ndarray) -> float:
    """Reference bandwidth ``sqrt(0.5 (var x + var y)) n^(-1/6)`` (adehabitatHR).

    Variances use the ``n - 1`` denominator, as R's ``var``.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        raise ComputationError("href needs at least 2 relocations; give h in metres.")
    sd = math.sqrt(0.5 * (np.var(xy[:, 0], ddof=1) + np.var(xy[:, 1], ddof=1)))
    return float(sd * n ** (-1.0 / 6.0))


def lscv(
    xy: np.ndarray,
    *,
    hlim: tuple[float, float] = (0.1, 1.5),
    n_h: int = 100,
    adehabitat: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares cross-validation score over a range of bandwidths.

    The score is adehabitatHR's ``CVmise`` for the bivariate normal kernel
    (Worton 1989; Silverman 1986)::

        CV(h) = 1 / (pi h² n) + (2 S(h) - 3 n) / (4 pi h² n²),
        S(h) = sum over pairs i < j of exp(-d²/4h²) - 4 exp(-d²/2h²)

    adehabitatHR 0.4.x fills its distance vector from index 1 but sums it
    from index 0, so its score uses, in place of the last pair's distance
    (pairs in the order (1,2), (1,3), ..., (n-1,n)), the number stored in
    slot 0 by its allocator, n(n-1) metres.  With ``adehabitat=True`` (the
    default) this is reproduced so that the chosen bandwidth is identical to
    ``kernelUD(h = "LSCV")``; ``adehabitat=False`` uses every pair.

    Returns
    -------
    (h, cv)
        The ``n_h`` bandwidths from ``hlim[0]`` to ``hlim[1]`` times href and
        their scores.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    h0 = href(xy)
    hvec = np.linspace(hlim[0] * h0, hlim[1] * h0, n_h)
    from scipy.spatial.distance import pdist

    d2 = pdist(xy, "sqeuclidean")
    if adehabitat and len(d2):
        d2 = np.concatenate([[float(n * (n - 1)) ** 2], d2[:-1]])
    s = np.zeros(n_h)
    inv4 = 1.0 / (4.0 * hvec**2)
    step = max(1, 4_000_000 // n_h)
    for a in range(0, len(d2), step):
        u = np.exp(-d2[a : a + step, None] * inv4)  # exp(-d²/2h²) is u²
        s += (u - 4.0 * u * u).sum(axis=0)
    cv = 1.0 / (math.pi * hvec**2 * n) + (2.0 * s - 3.0 * n) / (
        4.0 * math.pi * hvec**2 * n**2
    )
    return hvec, cv


def _bandwidth(xy: np.ndarray, h: str | float) -> dict[str, Any]:
    n = len(xy)
    rec: dict[str, Any] = {"n": n, "href": np.nan, "h_lscv": np.nan, "note": ""}
    if isinstance(h, str):
        key = h.strip().lower()
        if key not in ("href", "lscv"):
            raise InputError(
                f"h must be 'href', 'lscv' or a distance in metres, got {h!r}."
            )
        rec["href"] = href(xy)
        if rec["href"] <= 0:
            raise ComputationError(
                "all relocations share one location: href is 0. Give h in metres."
            )
        if key == "href":
            rec.update(h=rec["href"], h_method="href")
            return rec
        dup = 1.0 - len(np.unique(xy, axis=0)) / n
        hv, cv = lscv(xy)
        i = int(np.argmin(cv))
        rec["h_lscv"] = float(hv[i])
        reason = ""
        if dup >= LSCV_MAX_DUPLICATE_SHARE:
            reason = (
                f"{dup:.0%} of relocations repeat a location (camera stations); "
                "LSCV is degenerate"
            )
        elif i == 0:
            reason = (
                "LSCV minimum at the smallest h tried (0.1 href): no interior minimum"
            )
        elif i == len(hv) - 1:
            reason = (
                "LSCV minimum at the largest h tried (1.5 href): no interior minimum"
            )
        if reason:
            rec.update(
                h=rec["href"], h_method="href", note=reason + "; fell back to href"
            )
        else:
            rec.update(h=float(hv[i]), h_method="LSCV")
        return rec
    try:
        val = float(h)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"h must be 'href', 'lscv' or a distance in metres, got {h!r}."
        ) from err
    if not val > 0:
        raise InputError(f"h must be a positive distance in metres, got {val}.")
    if n >= 2:
        rec["href"] = href(xy)
    rec.update(h=val, h_method="specified")
    return rec
