"""The "cg+amg" window solve of Circuitscape, as Omniscape.jl runs it.

Omniscape.jl's default solver (``solver = cg+amg``) hands every moving
window to Circuitscape's advanced mode, which solves the grounded Laplacian
with conjugate gradients preconditioned by one V-cycle of smoothed-aggregation
algebraic multigrid and stops at a relative residual of 1e-6.  The answer is
therefore not the exact solution but CG's iterate at that point (up to 2e-5
per cell below it on windows 15 cells wide), and reproducing Omniscape.jl's
outputs to 1e-6 means reproducing the iterate: the same matrix in the same
node order, the same multigrid hierarchy, the same cycle and the same
stopping rule.  This module does that; what each step follows is:

* **Matrix** (Circuitscape ``compute_omniscape_current`` and
  ``multiple_solver``): nodes are the window's cells with a positive
  conductance, numbered column by column (Julia's column-major order);
  only the connected component holding the grounded target is solved, its
  nodes in ascending order; the target (an infinite ground) is removed
  from the Laplacian's rows and columns (its edges stay on the diagonal of
  its neighbours).  No regularisation is added in advanced mode.
* **Hierarchy** (AlgebraicMultigrid.jl ``smoothed_aggregation`` with its
  defaults): near-null-space candidate ``B = 1``; symmetric strength of
  connection with theta = 0 (every off-diagonal non-zero is strong); standard
  aggregation (Vanek, Mandel & Brezina 1996: the same three passes as
  PyAMG); the candidate improved by four symmetric Gauss-Seidel sweeps on
  ``A x = 0`` before fitting; tentative prolongator from the candidate
  normalised per aggregate; prolongator smoothed by one weighted Jacobi
  step ``P = (I - 4/3 D^-1 A) T`` with *local* weights (``D`` the absolute
  row sums of ``A``, no spectral-radius estimate); ``R = P^T``; Galerkin
  coarse operators with exact zeros dropped; at most 10 levels, coarsening
  stops at 10 or fewer unknowns; the coarsest level solved with the
  pseudo-inverse.
* **Cycle** (AlgebraicMultigrid.jl ``aspreconditioner``): one V-cycle from a
  zero guess, one symmetric (forward then backward) Gauss-Seidel sweep
  before and after each coarse-grid correction.
* **CG** (IterativeSolvers.jl ``cg`` with ``reltol = 1e-6``,
  ``maxiter = 100_000``): zero initial guess; stop as soon as the 2-norm of
  the true recursive residual ``r`` is at most ``1e-6 * ||b||``; the
  preconditioned update ``u = z + (rho / rho_prev) u`` with
  ``rho = z . r`` and ``rho_prev = 1`` at the start.

The hierarchy, cycle and CG are written here on PyAMG's compiled kernels for
standard aggregation and Gauss-Seidel (AlgebraicMultigrid.jl's aggregation
and smoother are the same algorithms).  PyAMG's own
``smoothed_aggregation_solver`` with the same options is not used: its
coarse operators keep unsorted column indices, and standard aggregation's
second and third passes take the *first* aggregated neighbour in storage
order, so from the second level on its aggregates differ from
AlgebraicMultigrid.jl's (sorted CSC columns) and so does the iterate (by a
few 1e-8 on a 41-cell window).  On Omniscape.jl's verification cases the
currents agree to about 1e-7 per cell (the exact solution differs by up to
2e-5).

References
----------
Vanek, P., Mandel, J. & Brezina, M. (1996) Algebraic multigrid by smoothed
aggregation for second and fourth order elliptic problems. Computing 56,
179-196.
Hestenes, M. R. & Stiefel, E. (1952) Methods of conjugate gradients for
solving linear systems. J. Res. Natl. Bur. Stand. 49, 409-436.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["CG_MAXITER", "CG_RTOL", "AmgCg"]

#: IterativeSolvers.jl's stopping rule as Circuitscape sets it
CG_RTOL = 1e-6
CG_MAXITER = 100_000

#: AlgebraicMultigrid.jl's ``smoothed_aggregation`` defaults
MAX_LEVELS = 10
MAX_COARSE = 10
JACOBI_OMEGA = 4.0 / 3.0
CANDIDATE_SWEEPS = 4


#: levels with at most this many unknowns are held as dense arrays (the
#: same arithmetic without sparse bookkeeping, which dominates small windows)
DENSE_MAX = 600


def _csr_parts(a: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, indices, data) of a sparse or dense matrix, zeros left out."""
    if sp.issparse(a):
        return a.indptr, a.indices, a.data
    rows, cols = np.nonzero(a)
    indptr = np.zeros(a.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32), np.ascontiguousarray(a[rows, cols])


def _sweep(
    parts: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray, b: np.ndarray
) -> None:
    """One symmetric Gauss-Seidel sweep (forward, then backward), in place."""
    from pyamg import amg_core

    indptr, indices, data = parts
    n = len(indptr) - 1
    amg_core.gauss_seidel(indptr, indices, data, x, b, 0, n, 1)
    amg_core.gauss_seidel(indptr, indices, data, x, b, n - 1, -1, -1)


def _aggregates(
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, int]:
    """Standard aggregation on the pattern of a matrix (strength, theta = 0).

    Returns each node's aggregate (-1: a node without neighbours, left out)
    and the number of aggregates.
    """
    from pyamg import amg_core

    indptr, indices, _ = parts
    n = len(indptr) - 1
    agg = np.empty(n, dtype=indices.dtype)
    roots = np.empty(n, dtype=indices.dtype)
    count = amg_core.standard_aggregation(n, indptr, indices, agg, roots)
    return agg, int(count)


def _next_level(a: Any, candidate: np.ndarray) -> tuple[Any, Any, np.ndarray]:
    """Smoothed prolongator ``P``, coarse operator and coarse candidate.

    ``a`` is a dense array or a CSR matrix; ``P`` and the coarse operator
    are of the same kind (dense when the coarse level is small).
    """
    n = a.shape[0]
    parts = _csr_parts(a)
    agg, n_agg = _aggregates(parts)
    # the candidate improved by Gauss-Seidel on A x = 0
    zero = np.zeros(n, dtype=a.dtype)
    for _ in range(CANDIDATE_SWEEPS):
        _sweep(parts, candidate, zero)
    # tentative prolongator: the candidate normalised on each aggregate
    rows = np.flatnonzero(agg >= 0)
    cols = agg[rows]
    norms = np.sqrt(np.bincount(cols, candidate[rows] ** 2, minlength=n_agg))
    scale = np.zeros_like(norms)
    scale[norms > 0] = 1.0 / norms[norms > 0]
    vals = (candidate[rows] * scale[cols]).astype(a.dtype)
    # one Jacobi step, each row weighted by its absolute row sum
    rowsum = np.asarray(abs(a).sum(axis=1), dtype=np.float64).ravel()
    weight = np.zeros_like(rowsum)
    weight[rowsum != 0] = JACOBI_OMEGA / rowsum[rowsum != 0]
    weight = weight.astype(a.dtype)
    if sp.issparse(a):
        t = sp.csr_matrix((vals, (rows, cols)), shape=(n, n_agg))
        p = sp.csr_matrix(t - sp.diags(weight) @ (a @ t))
        coarse = sp.csr_matrix(p.T @ (a @ p))
        coarse.eliminate_zeros()
        coarse.sort_indices()
        if n_agg <= DENSE_MAX:
            return p, coarse.toarray(), norms.astype(a.dtype)
        return p, coarse, norms.astype(a.dtype)
    t = np.zeros((n, n_agg), dtype=a.dtype)
    t[rows, cols] = vals
    p = t - weight[:, None] * (a @ t)
    return p, p.T @ (a @ p), norms.astype(a.dtype)


class AmgCg:
    """CG with a smoothed-aggregation V-cycle on one grounded Laplacian.

    ``matrix`` must be symmetric positive definite, its unknowns in the order
    Circuitscape numbers them (see the module's notes).
    """

    def __init__(self, matrix: sp.csr_matrix, dtype: Any = np.float64) -> None:
        m = sp.csr_matrix(matrix, dtype=dtype)
        m.eliminate_zeros()
        m.sort_indices()
        a: Any = m.toarray() if m.shape[0] <= DENSE_MAX else m
        self.matrix = a
        candidate = np.ones(a.shape[0], dtype=dtype)
        self.ops: list[tuple[Any, Any, Any, tuple[np.ndarray, ...]]] = []
        while len(self.ops) + 1 < MAX_LEVELS and a.shape[0] > MAX_COARSE:
            p, coarse, candidate = _next_level(a, candidate)
            r = sp.csr_matrix(p.T) if sp.issparse(p) else np.ascontiguousarray(p.T)
            self.ops.append((a, p, r, _csr_parts(a)))
            a = coarse
        dense = a.toarray() if sp.issparse(a) else a
        self.coarse_inverse = scipy.linalg.pinv(dense).astype(dtype)

    @property
    def n_levels(self) -> int:
        return len(self.ops) + 1

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        if level == len(self.ops):
            return self.coarse_inverse @ b
        a, p, r, parts = self.ops[level]
        x = np.zeros_like(b)
        _sweep(parts, x, b)  # type: ignore[arg-type]
        x += p @ self._cycle(level + 1, r @ (b - a @ x))
        _sweep(parts, x, b)  # type: ignore[arg-type]
        return x

    def precondition(self, b: np.ndarray) -> np.ndarray:
        """One V-cycle from a zero guess (the preconditioner ``M^-1 b``)."""
        return self._cycle(0, b)

    def solve(
        self, b: np.ndarray, *, rtol: float = CG_RTOL, maxiter: int = CG_MAXITER
    ) -> np.ndarray:
        """CG's iterate when ``||b - A x|| <= rtol ||b||`` (zero initial guess)."""
        a = self.matrix
        b = np.asarray(b, dtype=a.dtype)
        x = np.zeros_like(b)
        r = b.copy()
        u = np.zeros_like(b)
        rho = a.dtype.type(1.0)
        residual = np.linalg.norm(r)
        tolerance = rtol * residual
        for _ in range(maxiter):
            if residual <= tolerance:
                break
            z = self.precondition(r)
            rho_prev, rho = rho, z @ r
            u = z + (rho / rho_prev) * u
            c = a @ u
            alpha = rho / (u @ c)
            x += alpha * u
            r -= alpha * c
            residual = np.linalg.norm(r)
        return x
