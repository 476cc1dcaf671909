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

Two solvers, named as Omniscape.jl names them (its ``solver`` option):

* ``"cg+amg"`` (Omniscape.jl's default) reproduces Circuitscape's iterative
  solve, stopped at a relative residual of 1e-6 (:mod:`._amg`, where each
  step is referenced), so the currents are Omniscape.jl's, not the exact
  ones;
* ``"cholmod"`` solves exactly.  Windows are small and square, so the
  grounded Laplacian is factorised as a *banded* matrix in raster order
  (LAPACK's band Cholesky, ``n * (width + 1)**2`` operations, no sparse
  bookkeeping): cells that are not nodes and the ground become identity
  rows.  Windows wider than :data:`BAND_MAX_WIDTH` cells go to the
  project's sparse direct solver (:mod:`.._solver`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.linalg import cho_solve_banded, cholesky_banded

from .._solver import _Solver
from ._amg import AmgCg

__all__ = ["BAND_MAX_WIDTH", "SOLVERS", "Factorised", "window_current"]

#: windows up to this many cells wide are solved by band Cholesky
BAND_MAX_WIDTH = 121

#: Omniscape.jl's solvers: Circuitscape's iterative solve, or an exact one
SOLVERS = ("cg+amg", "cholmod")

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


class Factorised:
    """The grounded Laplacian of one window, factorised once, solved many times."""

    def __init__(
        self,
        conductance: np.ndarray,
        ground: tuple[int, int],
        *,
        four_neighbors: bool = False,
        solver: str = "cholmod",
        dtype: Any = np.float64,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        height, width = conductance.shape
        self.shape = (height, width)
        self.ground = ground
        self.directions = _ROOK if four_neighbors else _ROOK + _DIAG
        cond = np.where(np.isfinite(conductance) & (conductance > 0), conductance, 0.0)
        gr, gc = ground
        self.empty = bool(cond[gr, gc] <= 0)
        if self.empty:
            return
        valid = cond > 0
        if not valid.all():
            labels, _ = ndimage.label(
                valid, structure=_FOUR if four_neighbors else _EIGHT
            )
            valid = labels == labels[gr, gc]
            cond = np.where(valid, cond, 0.0)
        self.node = valid
        self.edges: list[tuple[Any, Any, np.ndarray]] = []
        for dr, dc, w in self.directions:
            a, b = _pairs(height, width, dr, dc)
            g = 0.5 * (cond[a] + cond[b]) * w
            g[~(valid[a] & valid[b])] = 0.0
            self.edges.append((a, b, g))
        self.banded = solver == "cholmod" and width <= BAND_MAX_WIDTH
        self.iterative = solver == "cg+amg"
        if self.banded:
            self._factor_banded()
        else:
            self._factor_sparse(dtype)

    def _diagonal(self) -> np.ndarray:
        deg = np.zeros(self.shape)
        for a, b, g in self.edges:
            deg[a] += g
            deg[b] += g
        return deg

    def _free(self) -> np.ndarray:
        """Cells whose potential is unknown (nodes other than the ground)."""
        free = self.node.copy()
        free[self.ground] = False
        return free

    def _factor_banded(self) -> None:
        height, width = self.shape
        n = height * width
        free = self._free().ravel()
        deg = self._diagonal().ravel()
        ab = np.zeros((width + 2, n))
        ab[0] = np.where(free, deg, 1.0)
        for (dr, dc, _w), (a, _b, g) in zip(self.directions, self.edges, strict=True):
            off = dr * width + dc
            idx = np.arange(n).reshape(height, width)[a].ravel()
            vals = -g.ravel()
            both = free[idx] & free[idx + off]
            ab[off, idx] = np.where(both, vals, 0.0)
        self._free_flat = free
        self._chol = cholesky_banded(ab, lower=True, check_finite=False)

    def _factor_sparse(self, dtype: Any) -> None:
        """The grounded Laplacian as a sparse matrix, nodes column by column.

        Column-major numbering is Circuitscape's (Julia's arrays), and the
        iterative solve depends on the order of the unknowns.
        """
        free = self._free()
        n = int(free.sum())
        gid = np.full(self.shape, -1, dtype=np.int64)
        gid.T[free.T] = np.arange(n)
        rows, cols, vals = [gid[free]], [gid[free]], [self._diagonal()[free]]
        for a, b, g in self.edges:
            ga, gb = gid[a], gid[b]
            m = (ga >= 0) & (gb >= 0) & (g > 0)
            rows += [ga[m], gb[m]]
            cols += [gb[m], ga[m]]
            vals += [-g[m], -g[m]]
        lap = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n),
        )
        self._gid_free = free
        self._gid = gid[free]
        self._solver: AmgCg | _Solver
        if self.iterative:
            self._solver = AmgCg(lap, dtype)
        else:
            self._solver = _Solver(lap, "direct", 1e-10)

    def potentials(self, source: np.ndarray) -> np.ndarray:
        """Cell potentials for the injected ``source`` (0 off the circuit)."""
        if self.banded:
            b = np.where(self._free_flat, source.ravel(), 0.0)
            v = cho_solve_banded((self._chol, True), b, check_finite=False)
            return np.where(self._free_flat, v, 0.0).reshape(self.shape)
        b = np.zeros(len(self._gid))
        b[self._gid] = source[self._gid_free]
        out = np.zeros(self.shape)
        out[self._gid_free] = self._solver.solve(b)[self._gid]
        return out

    def current(self, source: np.ndarray) -> np.ndarray:
        """Node current of every cell for the injected ``source``."""
        out = np.zeros(self.shape)
        if self.empty:
            return out
        src = np.where(self.node, source, 0.0)
        src[self.ground] = 0.0
        if not src.any():
            return out
        v = self.potentials(src)
        flow_in = np.zeros(self.shape)
        flow_out = np.zeros(self.shape)
        for a, b, g in self.edges:
            i = g * (v[a] - v[b])  # > 0: from the cell in a to its neighbour in b
            pos = np.maximum(i, 0.0)
            neg = np.maximum(-i, 0.0)
            flow_out[a] += pos
            flow_in[b] += pos
            flow_out[b] += neg
            flow_in[a] += neg
        return np.maximum(flow_in, flow_out)


def window_current(
    conductance: np.ndarray,
    source: np.ndarray,
    ground: tuple[int, int],
    *,
    four_neighbors: bool = False,
    solver: str = "cholmod",
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
    solver
        ``"cholmod"`` (exact) or ``"cg+amg"`` (Circuitscape's iterative
        solve, as Omniscape.jl runs it by default).
    """
    fact = Factorised(conductance, ground, four_neighbors=four_neighbors, solver=solver)
    return fact.current(source)
