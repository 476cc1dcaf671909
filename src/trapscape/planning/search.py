"""Greedy selection of sites under spacing, zone-budget and count constraints.

Sites are added one at a time, each the feasible candidate with the largest
marginal gain (ties broken by a seeded rank), then a local-swap pass tries
to replace each chosen site by a better one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .objectives import _Engine

__all__: list[str] = []


@dataclass
class _Constraints:
    """Spacing, zone budget and count bookkeeping over candidate indices."""

    xy: np.ndarray
    zones: np.ndarray  # object array of zone names / None
    min_spacing: float
    budget: dict[str, int]
    tree: cKDTree = field(init=False)
    blocked: np.ndarray = field(init=False)
    zone_count: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.tree = cKDTree(self.xy) if len(self.xy) else cKDTree(np.zeros((1, 2)))
        self.blocked = np.zeros(len(self.xy), dtype=np.int64)
        self.zone_count = {}

    def _near(self, xy: np.ndarray) -> np.ndarray:
        if self.min_spacing <= 0 or len(self.xy) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(
            self.tree.query_ball_point(xy, r=self.min_spacing - 1e-6), dtype=np.int64
        )

    def block(self, xy: np.ndarray, sign: int = 1) -> None:
        self.blocked[self._near(xy)] += sign

    def take(self, c: int, sign: int = 1) -> None:
        self.block(self.xy[c], sign)
        z = self.zones[c]
        if z is not None:
            self.zone_count[z] = self.zone_count.get(z, 0) + sign

    def feasible_mask(self, chosen: np.ndarray) -> np.ndarray:
        ok: np.ndarray = np.asarray(self.blocked == 0)
        ok[chosen] = False
        for z, b in self.budget.items():
            if self.zone_count.get(z, 0) >= b:
                ok &= self.zones != z
        return ok

    def feasible(self, c: int, chosen_set: set[int]) -> bool:
        if self.blocked[c] != 0 or c in chosen_set:
            return False
        z = self.zones[c]
        return not (z in self.budget and self.zone_count.get(z, 0) >= self.budget[z])


class _GainCache:
    """Raw gains of every site, recomputed only where the last pick changed them.

    Adding site ``c`` changes the cumulative hazard only at the evaluation
    points within the kernel radius of ``c``, so only the raw gains of the
    sites sharing such a point (:meth:`_Engine.overlapping`) change; they are
    recomputed exactly, the others are kept.  The combined gains are then
    formed from the raw gains of all sites with the current totals, exactly
    as :meth:`_Engine.gains` does, so the selection is that of plain greedy
    for any objective, submodular or not.
    """

    def __init__(self, eng: _Engine) -> None:
        self.eng = eng
        self.raw = {k: np.array(v, dtype=float) for k, v in eng.raw_gains().items()}

    def add(self, c: int, live: np.ndarray) -> None:
        """Refresh the raw gains that adding site ``c`` may have changed.

        Only rows still feasible (``live``) are refreshed: during greedy
        selection a row that became infeasible never becomes feasible again,
        so its gain is never read.
        """
        rows = self.eng.overlapping(c)
        rows = rows[live[rows]]
        fresh = self.eng.raw_gains(rows)
        for key, arr in self.raw.items():
            arr[rows] = fresh[key]

    def gains(self, sites: np.ndarray) -> np.ndarray:
        """Combined gain of adding each of ``sites`` to the current state."""
        return np.asarray(self.eng._gain(self.raw)[sites], dtype=float)


def _greedy(
    eng: _Engine,
    cons: _Constraints,
    cand: np.ndarray,
    k: int,
    rank: np.ndarray,
    *,
    method: str,
    chosen: list[int],
    progress: bool,
) -> list[float]:
    """Add up to ``k`` sites from ``cand`` (engine rows == constraint indices).

    Each step adds the feasible candidate with the largest combined gain,
    the lowest ``rank`` among ties.  ``method="naive"`` recomputes every gain
    at every step; ``"lazy"`` keeps a :class:`_GainCache` and recomputes only
    the gains the last pick changed.  Both select the same sites.
    """
    gains_out: list[float] = []
    chosen_set = set(chosen)
    cache = _GainCache(eng) if method == "lazy" else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=k, desc="plan", unit="site")
    live = cons.feasible_mask(np.asarray(chosen, dtype=np.int64))
    for _ in range(k):
        ok = live[cand]
        if not ok.any():
            break
        g = cache.gains(cand) if cache is not None else eng.gains(cand)
        g = np.where(ok, g, -np.inf)
        best = np.flatnonzero(g == g.max())
        c = int(cand[best[np.argmin(rank[cand[best]])]])
        _accept(eng, cons, c, chosen, chosen_set)
        live = cons.feasible_mask(np.asarray(chosen, dtype=np.int64))
        if cache is not None:
            cache.add(c, live)
        gains_out.append(float(g.max()))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return gains_out


def _accept(
    eng: _Engine, cons: _Constraints, c: int, chosen: list[int], chosen_set: set[int]
) -> None:
    eng.add(c)
    cons.take(c)
    chosen.append(c)
    chosen_set.add(c)


def _swap_pass(
    eng: _Engine,
    cons: _Constraints,
    cand: np.ndarray,
    chosen: list[int],
    rank: np.ndarray,
    movable: Sequence[int],
) -> int:
    """Try to replace each movable chosen site by the best feasible other one."""
    swaps = 0
    for s in list(movable):
        if s not in chosen:
            continue
        eng.add(s, -1.0)
        cons.take(s, -1)
        pos = chosen.index(s)
        chosen.pop(pos)
        g = eng.gains(cand)
        ok = cons.feasible_mask(np.asarray(chosen, dtype=np.int64))[cand]
        g_s = float(g[np.searchsorted(cand, s)]) if s in set(cand.tolist()) else -np.inf
        g = np.where(ok, g, -np.inf)
        best = np.flatnonzero(g == g.max())
        c = int(cand[best[np.argmin(rank[cand[best]])]])
        new = c if g.max() > g_s + 1e-9 else s
        if new != s:
            swaps += 1
        eng.add(new)
        cons.take(new)
        chosen.insert(pos, new)
    return swaps
