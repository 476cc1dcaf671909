"""Overlap indices between individuals' home ranges (adehabitatHR ``kerneloverlap``).

References
----------
Fieberg, J. & Kochanny, C. O. (2005). Quantifying home-range overlap: the
importance of the utilization distribution. Journal of Wildlife Management
69, 1346-1359.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._raster import GridSpec, grid_of
from ..errors import ComputationError, InputError
from .isopleths import HomeRangeResult
from .utilization import _volume

__all__ = [
    "overlap",
]

_OVERLAP_METHODS = ("HR", "PHR", "VI", "BA", "UDOI", "HD")


def overlap(
    result: HomeRangeResult,
    *,
    method: str = "HR",
    percent: float = 95,
) -> pd.DataFrame:
    """Home-range overlap indices between individuals (adehabitatHR ``kerneloverlap``).

    All UDs must lie on one lattice: one grid (``kde(..., same_grid=True)``
    or one GridSpec) or grids of one cell size aligned to multiples of it
    (``kde(..., cell_size=...)``; cells outside an individual's grid count as
    zero density). With ``A_i`` the cells in the ``percent`` volume contour of
    individual *i*, ``UD_i`` its density and cell area ``c``:

    * ``HR[i, j] = |A_i ∩ A_j| / |A_i|`` (share of i's range used by j);
    * ``PHR[i, j]`` = sum over A_j of UD_i · c (probability of finding i in
      j's range);
    * ``VI`` = sum of min(UD_i, UD_j) · c; ``BA`` = sum of sqrt(UD_i UD_j) · c;
    * ``UDOI = |A_i ∩ A_j| · Σ UD_i UD_j · c``;
    * ``HD`` = sqrt(sum of (sqrt UD_i - sqrt UD_j)² · c).

    VI, BA, UDOI and HD use the whole UDs (adehabitatHR's default
    ``conditional = FALSE``); only UDOI's area factor uses ``percent``.

    Returns
    -------
    pandas.DataFrame
        Square matrix indexed and labelled by individual id.

    References
    ----------
    Fieberg & Kochanny (2005), see the module docstring.
    """
    m = method.upper()
    if m not in _OVERLAP_METHODS:
        raise InputError(
            f"method must be one of {list(_OVERLAP_METHODS)}, got {method!r}."
        )
    ids = list(result.ud)
    grids = [grid_of(result.ud[i]) for i in ids]
    _check_aligned(ids, grids)
    g0 = grids[0]
    c = g0.cell**2
    uds = [np.asarray(result.ud[i].values, dtype=float) for i in ids]
    inside = [(_volume(u, g0.cell) <= percent) for u in uds]
    n_inside = [int(np.count_nonzero(a)) for a in inside]
    totals = [float(u.sum()) for u in uds]
    crops = [_Crop.of(u, a, g, g0) for u, a, g in zip(uds, inside, grids, strict=True)]
    n = len(ids)
    res = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            ui, uj, ai, aj = _common_window(crops[i], crops[j])
            if m == "HR":
                inter = float(np.count_nonzero(ai & aj))
                res[i, j] = inter / n_inside[i] if n_inside[i] else np.nan
                res[j, i] = inter / n_inside[j] if n_inside[j] else np.nan
            elif m == "PHR":
                res[i, j] = float(uj[ai].sum()) * c
                res[j, i] = float(ui[aj].sum()) * c
            elif m == "VI":
                res[i, j] = res[j, i] = float(np.minimum(ui, uj).sum()) * c
            elif m == "BA":
                res[i, j] = res[j, i] = float(np.sqrt(ui * uj).sum()) * c
            elif m == "UDOI":
                inter = float(np.count_nonzero(ai & aj)) * c
                res[i, j] = res[j, i] = inter * float((ui * uj).sum()) * c
            elif i == j:
                res[i, j] = 0.0
            else:
                ba = float(np.sqrt(ui * uj).sum())
                d2 = (totals[i] + totals[j] - 2.0 * ba) * c
                res[i, j] = res[j, i] = math.sqrt(max(d2, 0.0))
    return pd.DataFrame(
        res, index=pd.Index(ids, name="id1"), columns=pd.Index(ids, name="id2")
    )


def _check_aligned(ids: list[str], grids: list[GridSpec]) -> None:
    """Refuse UDs whose grids do not share one lattice (cell size and origin)."""
    g0 = grids[0]
    for name, g in zip(ids, grids, strict=True):
        off_x = (g.x0 - g0.x0) / g0.cell
        off_y = (g0.y0 - g.y0) / g0.cell
        if (
            abs(g.cell - g0.cell) > 1e-9 * g0.cell
            or abs(off_x - round(off_x)) > 1e-6
            or abs(off_y - round(off_y)) > 1e-6
        ):
            raise ComputationError(
                f"UD of {name} is on a grid not aligned with that of {ids[0]}; overlap "
                "needs "
                "one grid or grids of one cell size on a common lattice. Run "
                "kde(..., same_grid=True) or kde(..., cell_size=...)."
            )


@dataclass(frozen=True)
class _Crop:
    """One UD cropped to the cells that matter, placed on the common lattice.

    ``row0``/``col0`` are the crop's first row and column counted from the
    first grid's origin.
    """

    ud: np.ndarray
    inside: np.ndarray
    row0: int
    col0: int

    @classmethod
    def of(cls, ud: np.ndarray, inside: np.ndarray, g: GridSpec, g0: GridSpec) -> _Crop:
        """Crop to cells of non-zero density or inside the range."""
        col0 = round((g.x0 - g0.x0) / g0.cell)
        row0 = round((g0.y0 - g.y0) / g0.cell)
        rows = np.flatnonzero((ud > 0).any(axis=1) | inside.any(axis=1))
        cols = np.flatnonzero((ud > 0).any(axis=0) | inside.any(axis=0))
        if len(rows) == 0:
            rows = cols = np.array([0])
        r_sl, c_sl = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        return cls(
            ud[r_sl, c_sl], inside[r_sl, c_sl], row0 + int(rows[0]), col0 + int(cols[0])
        )


def _common_window(
    a: _Crop, b: _Crop
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UDs and range masks of two crops on the cells they share (empty if none)."""
    r_lo = max(a.row0, b.row0)
    r_hi = min(a.row0 + a.ud.shape[0], b.row0 + b.ud.shape[0])
    c_lo = max(a.col0, b.col0)
    c_hi = min(a.col0 + a.ud.shape[1], b.col0 + b.ud.shape[1])
    if r_hi > r_lo and c_hi > c_lo:
        sa = (slice(r_lo - a.row0, r_hi - a.row0), slice(c_lo - a.col0, c_hi - a.col0))
        sb = (slice(r_lo - b.row0, r_hi - b.row0), slice(c_lo - b.col0, c_hi - b.col0))
        return a.ud[sa], b.ud[sb], a.inside[sa], b.inside[sb]
    empty = np.zeros(0)
    none = np.zeros(0, dtype=bool)
    return empty, empty, none, none
