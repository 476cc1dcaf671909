"""Private circuit-theory solver on 8-neighbour resistance grids.

Conventions follow Circuitscape 4 (Shah & McRae 2008; McRae et al. 2008)
with "average conductance" and 8 neighbours: each valid cell is a node; two
neighbouring valid cells are joined by a resistor whose conductance is the
mean of the two cells' conductances (1 / resistance), divided by sqrt(2) for
diagonal neighbours.  Cells of one focal region are short-circuited into a
single node.  Components without a focal node are dropped.

Pairwise mode grounds one focal node per component and solves
``L x_k = e_k`` for every other focal node ``k``; the potentials for the pair
``(i, j)`` (1 A in at ``i``, out at ``j``) are ``x_i - x_j``, so ``k`` focal
nodes need ``k - 1`` solves with one factorisation or one multigrid
hierarchy.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ComputationError

__all__ = [
    "DIRECT_MAX_CELLS",
    "CircuitGraph",
    "build_graph",
    "choose_solver",
    "estimate_memory_bytes",
    "worst_memory_bytes",
]

#: ``solver="auto"`` factorises (LU) up to this many valid cells, above it
#: uses conjugate gradients with algebraic multigrid.
DIRECT_MAX_CELLS = 150_000


def choose_solver(n_valid: int, solver: str) -> str:
    """The method ``solver`` means on ``n_valid`` valid cells."""
    if solver != "auto":
        return solver
    return "direct" if n_valid <= DIRECT_MAX_CELLS else "cg_amg"


logger = logging.getLogger(__name__)

# (drow, dcol, weight) for the 4 forward directions of the 8-neighbourhood
_DIRECTIONS = (
    (0, 1, 1.0),
    (1, 0, 1.0),
    (1, 1, 1.0 / math.sqrt(2.0)),
    (1, -1, 1.0 / math.sqrt(2.0)),
)


def _slices(
    height: int, width: int, dr: int, dc: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    a = (slice(0, height - dr), slice(max(0, -dc), width - max(0, dc)))
    b = (slice(dr, height), slice(max(0, dc), width + min(0, dc)))
    return a, b


def estimate_memory_bytes(n_cells: int, n_focal: int, *, solver: str) -> int:
    """Rough peak memory of a circuit solve on ``n_cells`` valid cells.

    Counts the edge arrays and sparse assembly (about 9 non-zeros per node in
    COO then CSR), the multigrid hierarchy (operator complexity about 2 plus
    the prolongators) or the LU fill-in, and the potential vectors.
    """
    n = int(n_cells)
    per_cell = 4 * 8 * 2  # edge conductances per direction (grid + flat)
    per_cell += 9 * (8 + 8 + 8)  # COO assembly (int64 rows/cols, float64)
    per_cell += 9 * 12 * 2  # CSR matrix and reduced copy
    if solver == "direct":
        fill = max(1.0, 0.5 * math.log2(max(n, 2)))
        per_cell += int(9 * 12 * fill * 3)
    else:
        per_cell += 9 * 12 * 3  # AMG levels, P and R
    per_cell += 8 * (max(n_focal, 1) + 12)  # solutions and Krylov vectors
    return int(n * per_cell)


def worst_memory_bytes(n_cells: int, n_focal: int, *, solver: str) -> int:
    """Peak of a circuit solve on *at most* ``n_cells`` valid cells.

    Before the grid is built only its size is known, not how many cells are
    valid.  With ``solver="auto"`` fewer valid cells can mean the direct
    solver, which needs more per cell than multigrid, so the worst case over
    every valid count up to ``n_cells`` is taken: it never falls as
    ``n_cells`` grows, as the search for a resolution that fits needs.
    """
    n = max(int(n_cells), 0)
    if solver != "auto":
        return estimate_memory_bytes(n, n_focal, solver=solver)
    worst = estimate_memory_bytes(min(n, DIRECT_MAX_CELLS), n_focal, solver="direct")
    if n > DIRECT_MAX_CELLS:
        worst = max(worst, estimate_memory_bytes(n, n_focal, solver="cg_amg"))
    return worst


@dataclass
class CircuitGraph:
    """Laplacian of a resistance grid with focal nodes short-circuited."""

    shape: tuple[int, int]
    gid: np.ndarray  # per cell: graph node index or -1
    focal_gid: np.ndarray  # graph node index of each focal node
    laplacian: sp.csr_matrix
    component: np.ndarray  # component label of each graph node
    edge_cond: list[np.ndarray]  # per direction: conductance on the grid slice
    focal_is_point: np.ndarray  # focal node made of a single cell


def build_graph(resistance: np.ndarray, focal: np.ndarray) -> CircuitGraph:
    """Assemble the graph Laplacian.

    Parameters
    ----------
    resistance
        Cell resistances; NaN, inf and values <= 0 are removed.
    focal
        Integer array of the grid's shape: focal node index ``k >= 0`` or -1.
        A focal node covering several cells is short-circuited into one
        graph node.
    """
    height, width = resistance.shape
    res = np.asarray(resistance, dtype=np.float64)
    valid = np.isfinite(res) & (res > 0)
    cond = np.zeros_like(res)
    np.divide(1.0, res, out=cond, where=valid)
    n_focal = int(focal.max()) + 1 if focal.size and focal.max() >= 0 else 0
    focal = np.where(valid, focal, -1)
    sizes = (
        np.bincount(focal[focal >= 0], minlength=n_focal)
        if n_focal
        else np.zeros(0, int)
    )
    if n_focal and (sizes == 0).any():
        missing = np.flatnonzero(sizes == 0).tolist()
        raise ComputationError(
            f"Focal node(s) {missing} fall only on nodata/barrier cells of the "
            "resistance grid. Move them onto passable cells or fix the grid."
        )
    point = sizes == 1
    gid = np.full(res.shape, -1, dtype=np.int64)
    if point.all():
        # every valid cell is a node, in raster order
        n_nodes = int(valid.sum())
        gid[valid] = np.arange(n_nodes, dtype=np.int64)
        fr, fc = np.nonzero(focal >= 0)
        focal_gid = np.empty(n_focal, dtype=np.int64)
        focal_gid[focal[fr, fc]] = gid[fr, fc]
    else:
        # focal regions first (0..n_focal-1), then the other valid cells
        other = valid & (focal < 0)
        n_other = int(other.sum())
        gid[other] = n_focal + np.arange(n_other, dtype=np.int64)
        gid[focal >= 0] = focal[focal >= 0]
        n_nodes = n_focal + n_other
        focal_gid = np.arange(n_focal, dtype=np.int64)
    edge_cond = []
    for dr, dc, w in _DIRECTIONS:
        a, b = _slices(height, width, dr, dc)
        ga, gb = gid[a], gid[b]
        c = 0.5 * (cond[a] + cond[b]) * w
        c[(ga < 0) | (gb < 0) | (ga == gb)] = 0.0
        edge_cond.append(c)
    if point.all():
        lap = _laplacian_raster_order(valid, gid, edge_cond, n_nodes)
    else:
        lap = _laplacian_coo(gid, edge_cond, n_nodes)
    if point.all():
        # nodes are the valid cells: components are 8-connected patches
        from scipy import ndimage

        labels, _ = ndimage.label(valid, structure=np.ones((3, 3), dtype=bool))
        comp = labels[valid].astype(np.int64)
    else:
        from scipy.sparse.csgraph import connected_components

        _, comp = connected_components(lap, directed=False)
    return CircuitGraph((height, width), gid, focal_gid, lap, comp, edge_cond, point)


def _laplacian_coo(
    gid: np.ndarray, edge_cond: list[np.ndarray], n_nodes: int
) -> sp.csr_matrix:
    height, width = gid.shape
    rows, cols, vals = [], [], []
    for (dr, dc, _w), c in zip(_DIRECTIONS, edge_cond, strict=True):
        a, b = _slices(height, width, dr, dc)
        m = c > 0
        rows.append(gid[a][m])
        cols.append(gid[b][m])
        vals.append(c[m])
    r = np.concatenate(rows)
    c_ = np.concatenate(cols)
    v = np.concatenate(vals)
    adj = sp.coo_matrix((v, (r, c_)), shape=(n_nodes, n_nodes)).tocsr()
    adj = adj + adj.T
    deg = np.asarray(adj.sum(axis=1)).ravel()
    return (sp.diags(deg) - adj).tocsr()


def _laplacian_raster_order(
    valid: np.ndarray, gid: np.ndarray, edge_cond: list[np.ndarray], n_nodes: int
) -> sp.csr_matrix:
    """CSR Laplacian built directly: nodes in raster order, 9-point stencil rows.

    Each row holds the stencil in increasing column order (NW, N, NE, W, self,
    E, SW, S, SE); missing neighbours are stored as zeros and then removed.
    """
    height, width = valid.shape
    stencil = (
        (-1, -1),
        (-1, 0),
        (-1, 1),
        (0, -1),
        (0, 0),
        (0, 1),
        (1, -1),
        (1, 0),
        (1, 1),
    )
    pos = {d: k for k, d in enumerate(stencil)}
    vals = np.zeros((9, height, width))
    for (dr, dc, _w), c in zip(_DIRECTIONS, edge_cond, strict=True):
        a, b = _slices(height, width, dr, dc)
        vals[pos[(dr, dc)]][a] = -c  # from the cell in slice a to its neighbour
        vals[pos[(-dr, -dc)]][b] = -c  # and back
    vals[4] = -vals.sum(axis=0)
    idx_dtype = np.int32 if n_nodes < 2**31 - 1 else np.int64
    gpad = np.zeros((height + 2, width + 2), dtype=idx_dtype)
    gpad[1:-1, 1:-1] = np.maximum(gid, 0)
    cols = np.empty((9, height, width), dtype=idx_dtype)
    for k, (dr, dc) in enumerate(stencil):
        cols[k] = gpad[1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]
    # rows of the (cells x 9) transposed views, gathered in one pass each
    sel = slice(None) if valid.all() else np.flatnonzero(valid.ravel())
    data = np.ascontiguousarray(vals.reshape(9, -1).T[sel]).ravel()
    del vals
    indices = np.ascontiguousarray(cols.reshape(9, -1).T[sel]).ravel()
    del cols
    indptr = np.arange(0, 9 * n_nodes + 1, 9, dtype=idx_dtype)
    lap = sp.csr_matrix((data, indices, indptr), shape=(n_nodes, n_nodes))
    lap.eliminate_zeros()
    lap.has_sorted_indices = True
    return lap


def _single_thread_blas() -> Any:
    """Context limiting BLAS to one thread (no-op without threadpoolctl).

    The Krylov loop calls BLAS level-1 kernels on long vectors; OpenBLAS
    threads for these cost more than they save, badly so on a busy machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _sa_hierarchy(
    a: sp.csr_matrix,
    *,
    max_coarse: int = 500,
    max_levels: int = 12,
    omega: float = 1.8,
) -> tuple[list[tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]], Any]:
    """Smoothed-aggregation hierarchy of an SPD matrix, every level in CSR.

    Built one level at a time with pyamg (every connection strong, standard
    aggregation, constant near-null space, prolongator smoothed by locally
    weighted Jacobi, i.e. without an eigenvalue estimate).  The local weights
    divide by each row's absolute sum, a Gershgorin bound (twice the
    diagonal for a Laplacian), so ``omega`` up to 2 keeps the smoother
    stable; 1.8 instead of pyamg's 4/3 compensates for the bound being
    loose (about 25 % fewer iterations on resistance grids).  Going level by
    level keeps the coarse operators in CSR: pyamg would keep them as
    1x1-block BSR, whose setup and smoothing kernels are several times
    slower.  Returns ``[(A, P, R), ...]`` and an LU factorisation of the
    coarsest operator.
    """
    import pyamg
    from scipy.sparse.linalg import splu

    levels: list[tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]] = []
    b = np.ones((a.shape[0], 1), dtype=a.dtype)
    while a.shape[0] > max_coarse and len(levels) < max_levels:
        ml = pyamg.smoothed_aggregation_solver(
            a,
            B=b,
            symmetry="symmetric",
            strength=None,
            max_levels=2,
            max_coarse=1,
            smooth=("jacobi", {"weighting": "local", "omega": omega}),
            improve_candidates=None,
            keep=False,
        )
        if len(ml.levels) < 2:
            break
        p = ml.levels[0].P.tocsr()
        r = ml.levels[0].R.tocsr()
        levels.append((a, p, r))
        a = ml.levels[1].A.tocsr()
        b = ml.levels[1].B
    coarse = splu(sp.csc_matrix(a, dtype=np.float64), permc_spec="COLAMD")
    return levels, coarse


class _Solver:
    """Solve ``A x = b`` for an SPD grounded Laplacian, reusing the setup.

    ``cg_amg``: preconditioned conjugate gradients in float64 whose
    preconditioner is one V-cycle of a pyamg smoothed-aggregation hierarchy.
    For ``rtol >= 1e-7`` the hierarchy is kept in float32 (a third less
    memory traffic per cycle; the outer iteration and its residual stay in
    float64, so the answer meets ``rtol`` all the same).
    """

    def __init__(self, a: sp.csr_matrix, method: str, rtol: float) -> None:
        self.method = method
        self.rtol = rtol
        self.a = a
        self.iterations: list[int] = []
        self._lu: Any = None
        if a.shape[0] == 0:
            return
        if method == "direct":
            from scipy.sparse.linalg import splu

            self._lu = splu(a.tocsc(), permc_spec="COLAMD")
            return
        self._dtype = np.float32 if rtol >= 1e-7 else np.float64
        with _single_thread_blas():
            self._levels, self._coarse = _sa_hierarchy(a.astype(self._dtype))

    def _vcycle(self, b: np.ndarray, lvl: int = 0) -> np.ndarray:
        """One V-cycle from a zero initial guess (no residual bookkeeping)."""
        from pyamg.relaxation.relaxation import gauss_seidel

        if lvl == len(self._levels):
            return np.asarray(self._coarse.solve(b.astype(np.float64)), dtype=b.dtype)
        a, p, r = self._levels[lvl]
        x = np.zeros_like(b)
        gauss_seidel(a, x, b, iterations=1, sweep="forward")
        coarse_x = self._vcycle(r @ (b - a @ x), lvl + 1)
        x += p @ coarse_x
        gauss_seidel(a, x, b, iterations=1, sweep="backward")
        return x

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        return self._vcycle(r.astype(self._dtype)).astype(np.float64)

    def preconditioner(self) -> Any:
        """One V-cycle as a ``LinearOperator`` (the ``M`` of scipy's ``cg``)."""
        from scipy.sparse.linalg import LinearOperator

        n = self.a.shape[0]
        return LinearOperator((n, n), matvec=self._precondition, dtype=np.float64)

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self.a.shape[0] == 0:
            return np.zeros(0)
        if self.method == "direct":
            return np.asarray(self._lu.solve(b))
        with _single_thread_blas():
            x, it, rel = self._pcg(b, maxiter=1000)
        self.iterations.append(it)
        if not rel <= self.rtol:
            raise ComputationError(
                f"Conjugate gradients did not converge in {it} iterations (relative "
                f"residual {rel:.2e}, wanted {self.rtol:.1e}). Check the resistance "
                "grid for extreme contrasts or use solver='direct'."
            )
        return x

    def _pcg(self, b: np.ndarray, *, maxiter: int) -> tuple[np.ndarray, int, float]:
        """scipy's conjugate gradients, preconditioned by one V-cycle.

        Stops when the recursive residual is below ``rtol * |b|``; returns
        the solution, the iterations and the true relative residual (the
        recursive one drifts from it in long runs).
        """
        from scipy.sparse.linalg import cg

        norm_b = float(np.linalg.norm(b))
        if norm_b == 0.0:
            return np.zeros_like(b), 0, 0.0
        count = [0]

        def step(_xk: np.ndarray) -> None:
            count[0] += 1

        x, _info = cg(
            self.a,
            b,
            rtol=self.rtol,
            atol=0.0,
            maxiter=maxiter,
            M=self.preconditioner(),
            callback=step,
        )
        rel = float(np.linalg.norm(b - self.a @ x)) / norm_b
        return x, count[0], rel


def _grounded(
    lap: sp.csr_matrix, keep: np.ndarray, ground: np.ndarray | None = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """System for the nodes in ``keep``; returns the matrix and its rows' node ids.

    Nodes outside ``keep`` are removed.  When the only nodes removed are a
    few grounded nodes (``ground``), they are instead turned into identity
    rows with their columns zeroed (same solution, no costly slicing of a
    large matrix); their potentials come out as zero.
    """
    n = lap.shape[0]
    drop = ~keep
    if (
        ground is not None
        and np.array_equal(drop, ground)
        and 0 < int(drop.sum()) <= 64
    ):
        g = np.flatnonzero(drop)
        a = lap.copy()
        a.data[np.isin(a.indices, g)] = 0.0
        for node in g:
            lo, hi = a.indptr[node], a.indptr[node + 1]
            row = a.data[lo:hi]
            row[:] = 0.0
            row[a.indices[lo:hi] == node] = 1.0
        a.eliminate_zeros()
        return a, np.arange(n)
    idx = np.flatnonzero(keep)
    return lap[idx][:, idx].tocsr(), idx


def node_voltages_to_grid(graph: CircuitGraph, v: np.ndarray) -> np.ndarray:
    """Potential of every cell (0 where the cell is not in the graph)."""
    out = np.zeros(graph.shape)
    m = graph.gid >= 0
    out[m] = v[graph.gid[m]]
    return out


def cell_currents(
    graph: CircuitGraph, vgrid: np.ndarray, inject: dict[int, float]
) -> np.ndarray:
    """Circuitscape node current of every cell for one solve.

    Half the sum of absolute branch currents on the cell's edges, plus half
    the absolute injected current at single-cell focal nodes: this equals the
    larger of the current flowing in and out of the node.
    """
    height, width = graph.shape
    cur = np.zeros(graph.shape)
    for (dr, dc, _w), c in zip(_DIRECTIONS, graph.edge_cond, strict=True):
        a, b = _slices(height, width, dr, dc)
        i = c * np.abs(vgrid[a] - vgrid[b])
        i *= 0.5
        cur[a] += i
        cur[b] += i
    for k, amps in inject.items():
        if graph.focal_is_point[k]:
            row, col = _cell_of(graph, k)
            cur[row, col] += 0.5 * abs(amps)
    return cur


# state shared with forked worker processes (read-only, copy-on-write)
_FORK_STATE: dict[str, object] = {}


def _fork_solve(index: int) -> np.ndarray:
    solver = _FORK_STATE["solver"]
    assert isinstance(solver, _Solver)
    b = np.zeros(solver.a.shape[0])
    b[index] = 1.0
    return solver.solve(b)


def _solve_unit_sources(
    solver: _Solver, indices: list[int], *, n_jobs: int, progress: bool
) -> list[np.ndarray]:
    """Solve for a 1 A source at each index; in forked processes if ``n_jobs > 1``."""
    import multiprocessing as mp

    jobs = min(int(n_jobs), len(indices))
    if jobs > 1 and "fork" in mp.get_all_start_methods():
        _FORK_STATE["solver"] = solver
        try:
            with mp.get_context("fork").Pool(jobs) as pool:
                return pool.map(_fork_solve, indices, chunksize=1)
        finally:
            _FORK_STATE.clear()
    it: Any = indices
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(indices, desc="circuit solves")
    out = []
    for i in it:
        b = np.zeros(solver.a.shape[0])
        b[i] = 1.0
        out.append(solver.solve(b))
    return out


def _cell_of(graph: CircuitGraph, k: int) -> tuple[int, int]:
    """Row and column of single-cell focal node ``k``."""
    cache = graph.__dict__.setdefault("_focal_cells", {})
    if k not in cache:
        flat = int(np.flatnonzero(graph.gid.ravel() == graph.focal_gid[k])[0])
        cache[k] = divmod(flat, graph.shape[1])
    return cache[k]


def pairwise(
    graph: CircuitGraph,
    *,
    method: str,
    rtol: float,
    current: bool,
    progress: bool = False,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Effective resistance matrix and cumulative current (pairwise mode)."""
    fg = graph.focal_gid
    n_focal = len(fg)
    comp = graph.component
    n_nodes = graph.laplacian.shape[0]
    # keep only components with a focal node; ground the first focal of each
    focal_comp = comp[fg]
    keep = np.isin(comp, focal_comp)
    ground = np.zeros(n_nodes, dtype=bool)
    grounded_focal = np.zeros(n_focal, dtype=bool)
    seen: set[int] = set()
    for k in range(n_focal):
        if int(focal_comp[k]) not in seen:
            seen.add(int(focal_comp[k]))
            ground[fg[k]] = True
            grounded_focal[k] = True
    keep_ng = keep & ~ground
    a, rows = _grounded(graph.laplacian, keep_ng, ground)
    red_index = np.full(n_nodes, -1, dtype=np.int64)
    red_index[rows] = np.arange(len(rows))
    logger.debug("circuit: %d nodes after grounding, %s solver", a.shape[0], method)
    solver = _Solver(a, method, rtol)
    # potentials x_k (full length, zero at grounds / dropped nodes)
    todo = [k for k in range(n_focal) if not grounded_focal[k]]
    xs = _solve_unit_sources(
        solver, [int(red_index[fg[k]]) for k in todo], n_jobs=n_jobs, progress=progress
    )
    sols: dict[int, np.ndarray] = {}
    for k in range(n_focal):
        sols[k] = np.zeros(n_nodes)
    for k, x in zip(todo, xs, strict=True):
        sols[k][rows] = x
        sols[k][~keep_ng] = 0.0
    del xs
    res = np.full((n_focal, n_focal), np.inf)
    np.fill_diagonal(res, 0.0)
    cum = np.zeros(graph.shape) if current else None
    for i in range(n_focal):
        for j in range(i + 1, n_focal):
            if focal_comp[i] != focal_comp[j]:
                continue
            v = sols[i] - sols[j]
            r = float(v[fg[i]] - v[fg[j]])
            res[i, j] = res[j, i] = r
            if cum is not None:
                vg = node_voltages_to_grid(graph, v)
                cum += cell_currents(graph, vg, {i: 1.0, j: -1.0})
    return res, cum


def one_to_all(
    graph: CircuitGraph,
    *,
    method: str,
    rtol: float,
    current: bool,
    progress: bool = False,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resistance of each focal node to all others grounded, and current."""
    fg = graph.focal_gid
    n_focal = len(fg)
    comp = graph.component
    n_nodes = graph.laplacian.shape[0]
    out = np.full(n_focal, np.inf)
    cum = np.zeros(graph.shape) if current else None
    focal_comp = comp[fg]
    it = range(n_focal)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="circuit solves")
    lap = graph.laplacian
    for k in it:
        others = [
            j for j in range(n_focal) if j != k and focal_comp[j] == focal_comp[k]
        ]
        if not others:
            continue
        keep = comp == focal_comp[k]
        keep[fg[others]] = False
        a, rows = _grounded(lap, keep)
        red = np.full(n_nodes, -1, dtype=np.int64)
        red[rows] = np.arange(len(rows))
        b = np.zeros(a.shape[0])
        b[red[fg[k]]] = 1.0
        v = np.zeros(n_nodes)
        v[rows] = _Solver(a, method, rtol).solve(b)
        out[k] = float(v[fg[k]])
        if cum is not None:
            vg = node_voltages_to_grid(graph, v)
            # the grounded nodes share the 1 A that leaves the circuit
            inject = {k: 1.0}
            for j in others:
                inject[j] = float((lap[[fg[j]]] @ v)[0])
            cum += cell_currents(graph, vg, inject)
    return out, cum
