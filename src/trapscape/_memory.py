"""Up-front memory estimates: refuse a request before it exhausts memory.

Each analysis estimates its peak memory from the size of what it will build
(grid cells, mask points, candidates ...) times a calibrated number of bytes
per item, *before* building anything, and calls :func:`check_budget`.  The
message names the size, the estimate, the budget and a coarser resolution
(or spacing) that fits, so the user can act on it at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .errors import ComputationError

__all__ = [
    "DEFAULT_BUDGET_GB",
    "check_budget",
    "coarser",
    "finest_fitting",
    "grid_cells",
    "nice_up",
]

#: Default memory budget in GiB; comfortably below a 16-24 GiB machine and
#: leaves room for the rest of the process (geometries, outputs, a browser).
DEFAULT_BUDGET_GB = 4.0

_GIB = 2**30


#: Cap of a memory estimate (bytes or items), far above any budget.
_HUGE = 1e300


def grid_cells(bounds: tuple[float, float, float, float], cell: float) -> int:
    """Number of cells of a grid of ``cell`` metres covering ``bounds``."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    cell = float(cell)
    if not cell > 0:
        return 0
    nx = max(1, math.ceil((maxx - minx) / cell))
    ny = max(1, math.ceil((maxy - miny) / cell))
    return nx * ny


def coarser(current: float, factor: float, *, dims: int = 2) -> int:
    """A cell size (or spacing) that shrinks the item count by ``factor``.

    For a ``dims``-dimensional grid the count scales as ``cell ** -dims``,
    so the cell grows by ``factor ** (1 / dims)``; 10 % headroom is added and
    the result rounded up to a whole metre (to 5 or 10 m when large).
    """
    value = float(current) * max(float(factor), 1.0) ** (1.0 / dims) * 1.1
    step = 10 if value >= 100 else 5 if value >= 20 else 1
    return int(math.ceil(value / step) * step)


def nice_up(value: float) -> int:
    """``value`` rounded up to a whole metre (to 5 m from 20, 10 m from 100)."""
    value = float(value)
    step = 10 if value >= 100 else 5 if value >= 20 else 1
    return int(math.ceil(value / step - 1e-9) * step)


def finest_fitting(
    need: Callable[[float], float],
    current: float,
    budget_bytes: float,
    *,
    limit: float = 1e6,
) -> int | None:
    """The finest round cell size at or above ``current`` whose need fits.

    ``need(cell)`` is the estimated peak in bytes of the *whole* step at cell
    size ``cell`` (falling as the cell grows).  The boundary is bracketed by
    doubling the cell, then found by bisection and rounded up with
    :func:`nice_up`; the value returned has itself been checked with
    ``need``, so the advice passes the very check that produced it.

    Returns
    -------
    int or None
        The cell size, or ``None`` if not even ``limit`` metres fits (a
        fixed part of the estimate is over the budget).
    """
    lo = max(float(current), 1e-3)
    if need(lo) <= budget_bytes:
        return nice_up(lo) if need(nice_up(lo)) <= budget_bytes else None
    hi = lo * 2
    while need(hi) > budget_bytes:
        if hi > limit:
            return None
        lo, hi = hi, hi * 2
    for _ in range(60):  # lo does not fit, hi fits
        if hi - lo <= 0.01 * lo:
            break
        mid = 0.5 * (lo + hi)
        if need(mid) > budget_bytes:
            lo = mid
        else:
            hi = mid
    cell = nice_up(lo)
    while need(cell) > budget_bytes:  # an estimate need not be exactly monotone
        if cell > limit:
            return None
        cell = nice_up(cell + 1e-6 + 0.001 * cell)
    return cell


def check_budget(
    n_items: int,
    bytes_per_item: float,
    *,
    what: str,
    unit: str = "cells",
    budget_gb: float | None = DEFAULT_BUDGET_GB,
    suggest: Callable[[float], str] | None = None,
    extra_bytes: float = 0.0,
) -> float:
    """Refuse a request whose estimated memory exceeds the budget.

    Parameters
    ----------
    n_items
        Number of items (grid cells, mask points, matrix entries ...).
    bytes_per_item
        Calibrated peak bytes per item.
    what
        What is being built, for the message (e.g. ``"the kde grid"``).
    unit
        Name of the items in the message.
    budget_gb
        Budget in GiB; ``None`` disables the check.
    suggest
        ``suggest(factor)`` returns the fix, given the factor by which the
        item count must shrink to fit (e.g. "Use resolution=120 m or
        coarser.").
    extra_bytes
        Fixed overhead added to the estimate.

    Returns
    -------
    float
        The estimate in bytes.

    Raises
    ------
    ComputationError
        If the estimate exceeds ``budget_gb``.
    """
    # a grid of 1e-300 m cells counts more items than a float holds: cap
    # the estimate (it is refused all the same) instead of overflowing
    count = float(n_items) if n_items < _HUGE else _HUGE
    need = min(count * float(bytes_per_item) + float(extra_bytes), _HUGE)
    if budget_gb is None:
        return need
    budget = float(budget_gb) * _GIB
    if not budget > 0:
        raise ComputationError(f"max_memory_gb must be positive, got {budget_gb!r}.")
    if need <= budget:
        return need
    factor = (need / budget) if n_items else 1.0
    if need >= _HUGE:  # no sensible factor to scale a setting by
        fix = "Ask for a problem smaller by hundreds of orders of magnitude."
        shown = f"more than {_HUGE:.0e}"
    else:
        fix = suggest(factor) if suggest is not None else "Ask for a smaller problem."
        shown = f"{int(n_items):,}" if n_items < 10**15 else f"{count:.2g}"
    gib = need / _GIB
    size = f"about {gib:.1f}" if gib < 1e9 else f"about {gib:.2g}"
    if need >= _HUGE:
        size = f"more than {gib:.0e}"
    raise ComputationError(
        f"{what[:1].upper()}{what[1:]}: {shown} {unit} would need "
        f"{size} GiB, over the {float(budget_gb):g} GiB memory "
        f"budget. {fix} Or raise max_memory_gb if the machine has the memory."
    )
