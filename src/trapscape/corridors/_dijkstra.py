"""Dijkstra's search over an implicit 8-neighbour grid (compiled with Numba).

The least-cost engine of :mod:`trapscape.corridors.leastcost`.  The grid is
never turned into an explicit graph: the costs are one flat array with a
one-cell border of impassable (``inf``) cells, so the eight neighbours of a
cell are fixed offsets in that array and no bounds check is needed.  A move
from cell ``a`` to its neighbour ``b`` costs ``(c_a + c_b) / 2`` times the
step length (straight or diagonal), as in GRASS ``r.cost`` without knight's
moves and in scikit-image's ``MCP_Geometric``.

The priority queue is a binary heap with lazy deletion (a cell is pushed again
whenever its tentative cost drops; stale entries are skipped when popped), so
no position index over the whole grid is needed: the heap only ever holds the
search front.  Each cell keeps the direction of the neighbour its final cost
came from (one ``int8`` per cell), from which a least-cost path is traced back
without a second search.  Method: Dijkstra (1959); compiled with Numba
(Lam et al. 2015).

:func:`search` is plain Python; :func:`compiled_search` returns the same
function compiled by Numba when Numba is installed (``trapscape[fast]``), or
``None``.  The plain version is what the tests run on small grids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "COMPILE_MIN_CELLS",
    "OFFSETS",
    "compiled_search",
    "neighbour_offsets",
    "search",
    "step_lengths",
]

logger = logging.getLogger(__name__)

#: Grids smaller than this are searched by scikit-image even with Numba
#: installed: importing Numba and loading the compiled search costs about 1 s
#: per process (3 s on a busy machine), while the compiled search saves about
#: 0.2-0.4 s per million cells and source (benchmarks/bench_costdistance.py).
COMPILE_MIN_CELLS = 1_000_000

#: The eight moves (row, column), in the order their direction codes use.
OFFSETS = np.array(
    [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
    dtype=np.int64,
)


def neighbour_offsets(width: int) -> np.ndarray:
    """Flat offsets of the eight neighbours in a padded grid ``width`` wide."""
    return OFFSETS[:, 0] * width + OFFSETS[:, 1]


def step_lengths(step: float) -> np.ndarray:
    """Length of each of the eight moves for square cells ``step`` wide."""
    return np.sqrt(((OFFSETS * step) ** 2).sum(axis=1).astype(np.float64))


def search(
    costs: np.ndarray,
    offsets: np.ndarray,
    lengths: np.ndarray,
    starts: np.ndarray,
    dist: np.ndarray,
    pred: np.ndarray,
) -> None:
    """Accumulated least cost from ``starts`` into ``dist`` (in place).

    ``costs`` is the flat padded cost array (``inf`` on impassable and border
    cells; float32 or float64, added in float64), ``offsets`` and ``lengths``
    the eight moves' flat offsets and lengths, ``starts`` flat indices of the
    (passable) source cells, int32 or int64 (the heap stores cells in that
    type).  ``dist`` must be filled with ``inf`` and ``pred`` with ``-1``; on
    return ``dist`` holds the accumulated costs (``inf`` where unreachable)
    and ``pred`` the move (index into ``offsets``) by which each reached cell
    was entered.  The heap is 4-ary: half as deep as a binary one, and the
    four children of an entry are adjacent in memory.
    """
    cap = 4096 + 2 * starts.size
    keys = np.empty(cap, np.float64)
    cells = np.empty(cap, starts.dtype)
    n = 0
    for s in starts:
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        keys[n] = 0.0
        cells[n] = s
        n += 1
    while n > 0:
        key = keys[0]
        cell = cells[0]
        n -= 1
        if n > 0:  # move the last entry to the root and sift it down
            last_key = keys[n]
            last_cell = cells[n]
            i = 0
            while True:
                first = 4 * i + 1
                if first >= n:
                    break
                m = first
                m_key = keys[first]
                for q in range(first + 1, min(first + 4, n)):
                    if keys[q] < m_key:
                        m_key = keys[q]
                        m = q
                if m_key >= last_key:
                    break
                keys[i] = m_key
                cells[i] = cells[m]
                i = m
            keys[i] = last_key
            cells[i] = last_cell
        if key > dist[cell]:
            continue  # stale: the cell was reached more cheaply since
        c0 = float(costs[cell])
        for k in range(8):
            nb = cell + offsets[k]
            # an impassable or border neighbour gives inf, never below dist
            nd = key + 0.5 * (c0 + float(costs[nb])) * lengths[k]
            if nd < dist[nb]:
                dist[nb] = nd
                pred[nb] = k
                if n == cap:  # grow the heap
                    cap *= 2
                    grown_keys = np.empty(cap, np.float64)
                    grown_cells = np.empty(cap, starts.dtype)
                    grown_keys[:n] = keys[:n]
                    grown_cells[:n] = cells[:n]
                    keys = grown_keys
                    cells = grown_cells
                i = n  # sift the new entry up
                n += 1
                while i > 0:
                    p = (i - 1) >> 2
                    if keys[p] <= nd:
                        break
                    keys[i] = keys[p]
                    cells[i] = cells[p]
                    i = p
                keys[i] = nd
                cells[i] = nb


_COMPILED: dict[str, Any] = {}


def compiled_search() -> Callable[..., None] | None:
    """:func:`search` compiled by Numba (cached on disk), or ``None``.

    ``None`` when Numba is not installed, or when it cannot compile the
    search here (logged); the caller then uses scikit-image.  The first call
    in a process compiles the search, or loads it from Numba's cache.
    """
    if "search" not in _COMPILED:
        _COMPILED["search"] = _compile()
    return _COMPILED["search"]


def _compile() -> Callable[..., None] | None:
    try:
        import numba
    except ImportError:
        return None
    try:
        fn = numba.njit(cache=True, nogil=True)(search)
        costs = np.ones(9)  # a one-cell grid and its border
        costs[[0, 1, 2, 3, 5, 6, 7, 8]] = np.inf
        dist = np.full(9, np.inf)
        fn(costs, neighbour_offsets(3), step_lengths(1.0), np.array([4], np.int32),
           dist, np.full(9, -1, np.int8))  # fmt: skip
    except Exception as err:  # a broken Numba install must not stop the analysis
        logger.warning("Numba cannot compile the least-cost search (%s); using "
                       "scikit-image instead.", err)  # fmt: skip
        return None
    return fn
