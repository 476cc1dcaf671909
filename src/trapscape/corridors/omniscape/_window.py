"""One moving-window circuit: sources injected, the target cell grounded.

The circuit follows Circuitscape's advanced mode as Omniscape.jl calls it
(McRae et al. 2016; Landau et al. 2021): every cell with a positive finite
conductance is a node; neighbours (4 or 8) are joined by a resistor of the
mean of their two conductances, divided by sqrt(2) on the diagonal; the
target cell is tied to ground (zero potential) and each source cell injects
its current.  Only the connected component holding the ground carries
current; sources elsewhere have nowhere to go and are dropped, as
Circuitscape drops components without a ground.  The current of a cell is
the larger of the current flowing into it and out of it (Circuitscape's node
current).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from .._solver import _Solver, choose_solver

__all__ = ["window_current"]

_ROOK = ((0, 1, 1.0), (1, 0, 1.0))
_DIAG = ((1, 1, 1.0 / math.sqrt(2.0)), (1, -1, 1.0 / math.sqrt(2.0)))
_EIGHT = np.ones((3, 3), dtype=bool)
_FOUR = ndimage.generate_binary_structure(2, 1)


def _pairs(
    height: int, width: int, dr: int, dc: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    a = (slice(0, height - dr), slice(max(0, -dc), width - max(0, dc)))
    b = (slice(dr, height), slice(max(0, dc), width + min(0, dc)))
    return a, b


def window_current(
    conductance: np.ndarray,
    source: np.ndarray,
    ground: tuple[int, int],
    *,
    four_neighbors: bool = False,
    solver: str = "auto",
    rtol: float = 1e-10,
) -> np.ndarray:
    """Cell currents of one window.

    Parameters
    ----------
    conductance
        Cell conductances of the window; NaN, inf and values <= 0 are not
        nodes.
    source
        Current injected at each cell (same shape); the source on the ground
        cell is removed.
    ground
        (row, column) of the grounded target cell.
    """
    height, width = conductance.shape
    cond = np.where(np.isfinite(conductance) & (conductance > 0), conductance, 0.0)
    gr, gc = ground
    out = np.zeros((height, width))
    if cond[gr, gc] <= 0:
        return out
    labels, _ = ndimage.label(cond > 0, structure=_FOUR if four_neighbors else _EIGHT)
    node = labels == labels[gr, gc]
    src = np.where(node, source, 0.0)
    src[gr, gc] = 0.0
    if not (src > 0).any() and not (src < 0).any():
        return out
    cond = np.where(node, cond, 0.0)
    n_nodes = int(node.sum())
    gid = np.full((height, width), -1, dtype=np.int64)
    gid[node] = np.arange(n_nodes)
    directions = _ROOK if four_neighbors else _ROOK + _DIAG
    edges = []
    for dr, dc, w in directions:
        a, b = _pairs(height, width, dr, dc)
        ga, gb = gid[a], gid[b]
        m = (ga >= 0) & (gb >= 0)
        g = 0.5 * (cond[a][m] + cond[b][m]) * w
        edges.append((ga[m], gb[m], g, a, b, m))
    ia = np.concatenate([e[0] for e in edges])
    ib = np.concatenate([e[1] for e in edges])
    gv = np.concatenate([e[2] for e in edges])
    ground_id = int(gid[gr, gc])
    deg = np.bincount(ia, gv, n_nodes) + np.bincount(ib, gv, n_nodes)
    keep = np.ones(n_nodes, dtype=bool)
    keep[ground_id] = False
    red = np.cumsum(keep) - 1  # reduced index of every kept node
    off = keep[ia] & keep[ib]
    rows = np.concatenate([red[ia[off]], red[ib[off]], red[keep]])
    cols = np.concatenate([red[ib[off]], red[ia[off]], red[keep]])
    vals = np.concatenate([-gv[off], -gv[off], deg[keep]])
    n_red = n_nodes - 1
    volt = np.zeros(n_nodes)
    if n_red > 0:
        lap = sp.csr_matrix((vals, (rows, cols)), shape=(n_red, n_red))
        rhs = src[node][keep]
        method = choose_solver(n_red, solver)
        volt[keep] = _Solver(lap, method, rtol).solve(rhs)
    flow_in = np.zeros(n_nodes)
    flow_out = np.zeros(n_nodes)
    cur = gv * (volt[ia] - volt[ib])  # positive: from node a to node b
    pos = np.maximum(cur, 0.0)
    neg = np.maximum(-cur, 0.0)
    flow_out += np.bincount(ia, pos, n_nodes) + np.bincount(ib, neg, n_nodes)
    flow_in += np.bincount(ib, pos, n_nodes) + np.bincount(ia, neg, n_nodes)
    out[node] = np.maximum(flow_in, flow_out)
    return out
