"""Private cost-distance engine on 8-neighbour grids (r.cost convention).

The accumulated cost of a move between two neighbouring cells is the mean of
their cell costs times the step length (1 for rook moves, sqrt(2) for
diagonal moves), as in GRASS ``r.cost`` without knight's moves and in
scikit-image's :class:`~skimage.graph.MCP_Geometric`.  The Dijkstra search
itself is scikit-image's compiled ``MCP_Geometric``; this module only
prepares the cost array, seeds the sources, and traces paths back down the
accumulated surface.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["accumulate", "prepare_costs", "trace_back"]

_SQRT2 = math.sqrt(2.0)
_OFFSETS = np.array(
    [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
    dtype=np.int64,
)
_STEP = np.hypot(_OFFSETS[:, 0], _OFFSETS[:, 1])


def prepare_costs(resistance: np.ndarray) -> np.ndarray:
    """Float64 copy with NaN, infinite and negative cells made impassable.

    Zero-cost cells stay passable (free), as in GRASS r.cost.
    """
    costs = np.array(resistance, dtype=np.float64, copy=True)
    bad = ~np.isfinite(costs) | (costs < 0)
    costs[bad] = np.inf
    return costs


def accumulate(
    costs: np.ndarray,
    source_rows: np.ndarray,
    source_cols: np.ndarray,
    *,
    step: float = 1.0,
) -> np.ndarray:
    """Accumulated cost from the source cells (``inf`` where unreachable).

    ``costs`` must come from :func:`prepare_costs`; ``step`` scales the
    unit move length (the cell size gives cost x metres, 1 gives cell units).
    """
    from skimage.graph import MCP_Geometric

    mcp = MCP_Geometric(costs, fully_connected=True, sampling=(step, step))
    starts = list(zip(source_rows.tolist(), source_cols.tolist(), strict=True))
    cum, _ = mcp.find_costs(starts)
    cum = np.asarray(cum, dtype=np.float64)
    cum[~np.isfinite(costs)] = np.inf
    return cum


def trace_back(
    cum: np.ndarray, costs: np.ndarray, row: int, col: int, *, step: float = 1.0
) -> np.ndarray:
    """Cells ``(row, col)`` of a least-cost path from a source to ``(row, col)``.

    Walks from the target to the predecessor that realises the accumulated
    cost (``cum[prev] + step cost == cum[cur]``), choosing the neighbour that
    minimises ``cum[prev] + step cost``; each step strictly lowers ``cum`` so
    the walk ends at a source cell (``cum == 0``).  Returned source first.
    """
    height, width = cum.shape
    if not np.isfinite(cum[row, col]):
        raise ValueError("target cell is unreachable")
    path = [(row, col)]
    r, c = row, col
    max_steps = cum.size
    while cum[r, c] > 0.0 and len(path) <= max_steps:
        nr = r + _OFFSETS[:, 0]
        nc = c + _OFFSETS[:, 1]
        ok = (nr >= 0) & (nr < height) & (nc >= 0) & (nc < width)
        nr, nc, st = nr[ok], nc[ok], _STEP[ok]
        cand = cum[nr, nc] + 0.5 * (costs[nr, nc] + costs[r, c]) * st * step
        cand[~np.isfinite(cand)] = np.inf
        k = int(np.argmin(cand))
        if not cum[nr[k], nc[k]] < cum[r, c]:
            break
        r, c = int(nr[k]), int(nc[k])
        path.append((r, c))
    return np.array(path[::-1], dtype=np.int64)
