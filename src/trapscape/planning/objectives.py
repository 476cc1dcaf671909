"""Objectives of the planner: detection kernels, expected counts and gains.

The detection model is the one in :mod:`trapscape.detection`: the detector
is the station, and an animal whose activity centre lies at distance ``d``
from a station working ``T`` days is detected there on an occasion of
``occasion_days`` with probability ``p = 1 - exp(-lambda0 * occ * g(d))``
(``"HHN"``) or ``p = g0 * g(d)`` (``"HN"``), ``g(d) = exp(-d² / 2sigma²)``, for
``K = T / occ`` occasions.

:func:`expected_counts` gives ``E[n]`` and ``E[r]`` of a layout (Efford &
Boulanger 2019); :class:`_Engine` keeps the cumulative hazard of a growing
layout over evaluation points (mask cells and hotspot samples) and the
marginal gain of every site for the three objectives (coverage, precision,
border).

References
----------
Efford, M. G., & Boulanger, J. (2019). Fast evaluation of study designs for
spatially explicit capture-recapture. *Methods in Ecology and Evolution*,
10, 1529-1535.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .. import validation as V
from ..crs import require_projected
from ..detection import DetectionParams
from ..errors import InputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from ..survey import Survey

__all__ = [
    "COVERAGE_SMOOTH_WEIGHT",
    "KERNEL_RADIUS_SIGMAS",
    "OBJECTIVES",
    "expected_counts",
]

#: Objective names accepted by :func:`trapscape.planning.plan`.
OBJECTIVES = ("coverage", "precision", "border")

#: Weight of the smooth (expected covered area) term added to the threshold
#: coverage gain, so that ties are broken toward sites that raise pdot.
COVERAGE_SMOOTH_WEIGHT = 0.05

#: Kernel truncation radius in units of sigma (g(6sigma) = 1.5e-8).
KERNEL_RADIUS_SIGMAS = 6.0


# --------------------------------------------------------------------------- kernels
def _site_terms(
    dist2: np.ndarray,
    days: np.ndarray | float,
    params: DetectionParams,
    *,
    detector: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative hazard and expected detections of one animal per site-point pair.

    ``dist2`` are squared distances (m2) between activity centres and sites,
    ``days`` the site usage in days (broadcast against ``dist2``).  Returns
    ``(hazard, detections)``: ``pdot = 1 - exp(-sum(hazard))`` and the
    expected number of detections (proximity: detector-occasions with a
    detection; count: Poisson count) summed over occasions.
    """
    g = np.exp(-dist2 / (2.0 * params.sigma**2))
    occ = float(params.occasion_days)
    k = np.asarray(days, dtype=float) / occ
    if params.detectfn == "HHN":
        lam = float(params.lambda0) * occ * g  # type: ignore[arg-type]
        hazard = k * lam
        p = -np.expm1(-lam)
    else:
        p = np.minimum(float(params.g0) * g, 1.0 - 1e-12)  # type: ignore[arg-type]
        hazard = -k * np.log1p(-p)
    detections = k * p if detector == "proximity" else hazard
    return hazard, detections


def expected_counts(
    points: np.ndarray,
    traps: np.ndarray,
    days: np.ndarray,
    params: DetectionParams,
    *,
    density: float,
    cell_area: float,
    detector: Literal["proximity", "count"] = "proximity",
) -> dict[str, float]:
    """Expected individuals ``E[n]``, detections and recaptures ``E[r]``.

    Following Efford & Boulanger (2019), for activity centres uniformly
    distributed with ``density`` over the mask ``points`` (each standing for
    ``cell_area`` m2)::

        E[n] = D a Σ_m (1 - exp(-Σ_j H_jm))
        E[detections] = D a Σ_m Σ_j Σ_k p_jkm
        E[r] = E[detections] - E[n]

    where ``H_jm`` is the cumulative hazard of trap ``j`` on an animal at
    ``m`` over its ``K_j = days_j / occasion_days`` occasions and ``p_jkm``
    the per-occasion detection probability (proximity detectors) or
    expected count (count detectors).

    Parameters
    ----------
    points
        ``(m, 2)`` mask point coordinates in metres.
    traps
        ``(J, 2)`` station coordinates in metres.
    days
        ``(J,)`` usage of each station in days, or ``(J, K)`` usage per
        occasion (summed: occasions of equal length are assumed).
    params
        Detection parameters (``sigma`` in metres, ``lambda0`` per day).
    density
        Animals per m2.
    cell_area
        Area of one mask cell in m2.
    detector
        ``"proximity"`` (binary per station and occasion) or ``"count"``.
        With ``params.by_sex`` each sex has density ``density * share`` (see
        :meth:`~trapscape.detection.DetectionParams.sex_classes`).

    Returns
    -------
    dict
        ``E_n``, ``E_detections``, ``E_r`` and ``RSE`` ≈ ``1/sqrt(min(E_n, E_r))``.

    Examples
    --------
    >>> import numpy as np
    >>> from trapscape.detection import DetectionParams
    >>> pts = np.array([[0.0, 0.0]])
    >>> out = expected_counts(pts, np.array([[0.0, 0.0]]), np.array([10.0]),
    ...                       DetectionParams(sigma=1000, lambda0=0.1),
    ...                       density=1e-6, cell_area=1e6)
    >>> round(out["E_n"], 4)
    0.6321
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    traps = np.asarray(traps, dtype=float).reshape(-1, 2)
    days = np.asarray(days, dtype=float)
    if days.ndim == 2:
        days = days.sum(axis=1)
    if days.shape != (len(traps),):
        raise InputError(
            f"days has shape {days.shape}; expected ({len(traps)},) to match traps."
        )
    en = edet = 0.0
    for share, pk in params.sex_classes():
        w = density * cell_area * share
        h_tot = np.zeros(len(points))
        det_tot = np.zeros(len(points))
        for start in range(0, len(traps), 256):
            sl = slice(start, start + 256)
            d2 = ((points[:, None, :] - traps[None, sl, :]) ** 2).sum(axis=2)
            hz, dt = _site_terms(d2, days[None, sl], pk, detector=detector)
            h_tot += hz.sum(axis=1)
            det_tot += dt.sum(axis=1)
        en += float(w * (-np.expm1(-h_tot)).sum())
        edet += float(w * det_tot.sum())
    er = edet - en
    m = min(en, er)
    return {
        "E_n": en,
        "E_detections": edet,
        "E_r": er,
        "RSE": float(1.0 / math.sqrt(m)) if m > 0 else math.inf,
    }


# --------------------------------------------------------------------------- candidates


# --------------------------------------------------------------------------- engine
class _Engine:
    """Hazard bookkeeping over evaluation points for incremental greedy search.

    Points are mask cells (weights ``w_cov`` in km2 inside the planning region,
    ``w_den`` expected animals per cell) and hotspot samples (``w_bor``,
    summing to 1).  Each site (candidate or existing station) is a sparse
    row of hazard contributions to points within 6sigma.  The state is the
    cumulative hazard ``H`` per point and the expected detections ``Etot``.
    """

    def __init__(
        self,
        points: np.ndarray,
        w_cov: np.ndarray,
        w_den: np.ndarray,
        w_bor: np.ndarray,
        sites: np.ndarray,
        days: np.ndarray,
        params: DetectionParams | Sequence[DetectionParams],
        *,
        detector: str,
        threshold: float,
    ) -> None:
        # With several parameter sets (one per sex), ``points`` holds one copy
        # of the base points per set, stacked, and the weights are per copy.
        classes = [params] if isinstance(params, DetectionParams) else list(params)
        n_base = len(points) // len(classes)
        if n_base * len(classes) != len(points):
            raise ValueError(
                "points must hold one copy of the base points per parameter set"
            )
        self.points, self.n_base = points, n_base
        self.w_cov, self.w_den, self.w_bor = w_cov, w_den, w_bor
        self.h_thr = -math.log1p(-threshold)
        self.sites = np.asarray(sites, dtype=float).reshape(-1, 2)
        # two sites share a point only within twice the largest kernel radius
        # (a hair more, so that rounding never drops a neighbour)
        self.reach = 2.0 * KERNEL_RADIUS_SIGMAS * max(pk.sigma for pk in classes)
        self.reach = self.reach * (1.0 + 1e-9) + 1e-6
        self._site_tree: cKDTree | None = None
        days = np.asarray(days, dtype=float)
        base = points[:n_base]
        tree = cKDTree(base) if n_base else None
        parts: list[tuple[np.ndarray, ...]] = []
        for k, pk in enumerate(classes):
            if tree is None or len(sites) == 0:
                break
            nbrs = tree.query_ball_point(sites, r=KERNEL_RADIUS_SIGMAS * pk.sigma)
            counts = np.fromiter(
                (len(n) for n in nbrs), dtype=np.int64, count=len(sites)
            )
            if counts.sum() == 0:
                continue
            idx = np.concatenate([np.asarray(n, dtype=np.int64) for n in nbrs])
            rows = np.repeat(np.arange(len(sites)), counts)
            d2 = ((base[idx] - sites[rows]) ** 2).sum(axis=1)
            hz, dt = _site_terms(d2, days[rows], pk, detector=detector)
            parts.append((rows, idx + k * n_base, hz, dt))
        if parts:
            rows, idx, hz, dt = (np.concatenate(x) for x in zip(*parts, strict=False))
            order = np.argsort(rows, kind="stable")
            rows, idx, hz, dt = rows[order], idx[order], hz[order], dt[order]
        else:
            rows = idx = np.zeros(0, dtype=np.int64)
            hz = dt = np.zeros(0)
        indptr = np.zeros(len(sites) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(sites)), out=indptr[1:])
        self.indptr, self.idx, self.rows, self.hz = indptr, idx, rows, hz
        self.q = -np.expm1(-hz)  # 1 - exp(-hazard)
        self.Q = sp.csr_matrix((self.q, idx, indptr), shape=(len(sites), len(points)))
        w_det = w_den[idx] * dt
        self.etot_site = np.bincount(rows, weights=w_det, minlength=len(sites))
        self.H = np.zeros(len(points))
        self.etot = 0.0
        self._cache: dict[str, float] | None = None
        self.weights = {"coverage": 0.0, "precision": 0.0, "border": 0.0}
        self.scale = {"coverage": 1.0, "precision": 1.0, "border": 1.0}

    # -- state ------------------------------------------------------------
    def add(self, s: int, sign: float = 1.0) -> None:
        """Add (``sign=1``) or remove (``sign=-1``) site ``s``."""
        sl = slice(self.indptr[s], self.indptr[s + 1])
        idx = self.idx[sl]
        self.H[idx] += sign * self.hz[sl]
        if sign < 0:
            self.H[idx] = np.maximum(self.H[idx], 0.0)
        self.etot += sign * self.etot_site[s]
        self._cache = None

    def metrics(self) -> dict[str, float]:
        """Raw objective values of the current state."""
        if getattr(self, "_cache", None) is not None:
            return dict(self._cache)  # type: ignore[arg-type]
        H = self.H
        pd_ = -np.expm1(-H)
        en = float((self.w_den * pd_).sum())
        m = {
            "cov_thr": float(self.w_cov[self.h_thr <= H].sum()),
            "cov_smooth": float((self.w_cov * pd_).sum()),
            "E_n": en,
            "E_r": self.etot - en,
            "border": float((self.w_bor * pd_).sum()),
        }
        self._cache = m
        return dict(m)

    def value(self) -> float:
        """Combined (weighted, normalised) objective of the current state."""
        m = self.metrics()
        return float(
            self._combine(
                m["cov_thr"], m["cov_smooth"], m["E_n"], m["E_r"], m["border"]
            )
        )

    def _combine(self, thr: Any, smooth: Any, en: Any, er: Any, bor: Any) -> Any:
        w, s = self.weights, self.scale
        out: Any = 0.0
        if w["coverage"]:
            out = (
                out
                + w["coverage"]
                * (thr + COVERAGE_SMOOTH_WEIGHT * smooth)
                / s["coverage"]
            )
        if w["precision"]:
            out = out + w["precision"] * np.minimum(en, er) / s["precision"]
        if w["border"]:
            out = out + w["border"] * bor / s["border"]
        return out

    # -- gains ------------------------------------------------------------
    def raw_gains(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-objective raw gains of adding each site to the current state.

        With ``rows``, only those sites, in that order.  A row's gains are
        bit-for-bit the same whether computed alone or with all rows: the
        sparse products and the threshold counts sum each row's entries in
        storage order either way (``test_raw_gains_of_rows_are_bitwise_equal``).
        """
        e = np.exp(-self.H)
        if rows is None:
            n = self.Q.shape[0]
            q, ent_rows, idx, hz = self.Q, self.rows, self.idx, self.hz
            etot = self.etot_site
        else:
            rows = np.asarray(rows, dtype=np.int64)
            n = len(rows)
            starts = self.indptr[rows]
            counts = self.indptr[rows + 1] - starts
            ent_rows = np.repeat(np.arange(n), counts)
            first = np.repeat(starts - np.cumsum(counts) + counts, counts)
            ent = first + np.arange(len(ent_rows))
            q, idx, hz = self.Q[rows], self.idx[ent], self.hz[ent]
            etot = self.etot_site[rows]
        Hs = self.H[idx]
        crosses = (Hs < self.h_thr) & (Hs + hz >= self.h_thr)
        # three matrix-vector products, not one product against a 3-column
        # matrix: scipy's multi-vector CSR kernel measured 1.6x slower here
        # (example: Q 5233 x 23476, 8.8 M entries: 29 vs 18 ms per call)
        return {
            "d_thr": np.bincount(
                ent_rows, weights=self.w_cov[idx] * crosses, minlength=n
            ),
            "d_sm": q @ (self.w_cov * e),
            "d_en": q @ (self.w_den * e),
            "d_etot": etot,
            "d_bor": q @ (self.w_bor * e),
        }

    def overlapping(self, s: int) -> np.ndarray:
        """Sites whose kernels share an evaluation point with site ``s``.

        Only these sites' raw gains change when ``s`` is added or removed:
        two sites share a point only when they lie within twice the kernel
        radius of each other.
        """
        if self._site_tree is None:
            self._site_tree = cKDTree(self.sites)
        near = self._site_tree.query_ball_point(self.sites[s], r=self.reach)
        return np.asarray(sorted(near), dtype=np.int64)

    def _gain(self, g: Mapping[str, Any]) -> Any:
        m = self.metrics()
        en = m["E_n"] + g["d_en"]
        er = self.etot + g["d_etot"] - en
        new = self._combine(
            m["cov_thr"] + g["d_thr"],
            m["cov_smooth"] + g["d_sm"],
            en,
            er,
            m["border"] + g["d_bor"],
        )
        base = self._combine(
            m["cov_thr"], m["cov_smooth"], m["E_n"], m["E_r"], m["border"]
        )
        return np.round(np.asarray(new, dtype=float) - base, 10)

    def gains(self, sites: np.ndarray | None = None) -> np.ndarray:
        """Combined objective gain of adding each site (all sites when None)."""
        out = self._gain(self.raw_gains())
        return np.asarray(out if sites is None else out[sites], dtype=float)

    def gain_one(self, s: int) -> float:
        """Combined gain of adding site ``s`` (touches only its neighbourhood)."""
        sl = slice(self.indptr[s], self.indptr[s + 1])
        idx, hz, q = self.idx[sl], self.hz[sl], self.q[sl]
        Hs = self.H[idx]
        e = np.exp(-Hs)
        crosses = (Hs < self.h_thr) & (Hs + hz >= self.h_thr)
        g = {
            "d_thr": float((self.w_cov[idx] * crosses).sum()),
            "d_sm": float((q * self.w_cov[idx] * e).sum()),
            "d_en": float((q * self.w_den[idx] * e).sum()),
            "d_etot": float(self.etot_site[s]),
            "d_bor": float((q * self.w_bor[idx] * e).sum()),
        }
        return float(self._gain(g))


# --------------------------------------------------------------------------- points
def _hotspot_points(
    hotspots: gpd.GeoDataFrame | None, survey: Survey, score_column: str, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample hotspot lines every ``step`` m; weights ∝ score x length, sum 1."""
    layer = hotspots
    col: str | None = score_column
    if layer is None:
        if survey.border is None or len(survey.border) == 0:
            return np.zeros((0, 2)), np.zeros(0)
        layer, col = survey.border, None
    require_projected(layer, "hotspots layer")
    layer = layer.to_crs(survey.crs)
    if col is not None and col not in layer.columns:
        raise InputError(
            f"hotspots layer has no score column '{col}' "
            f"(columns: {list(layer.columns)}). "
            "Pass score_column= (CLI: --score-column)."
        )
    scores = (
        pd.to_numeric(layer[col], errors="coerce").to_numpy(dtype=float)
        if col is not None
        else np.ones(len(layer))
    )
    xy, w = [], []
    for geom, sc in zip(layer.geometry, scores, strict=False):
        if geom is None or geom.is_empty or not np.isfinite(sc) or sc <= 0:
            continue
        if geom.geom_type in ("Point", "MultiPoint"):
            pts = np.array([(p.x, p.y) for p in getattr(geom, "geoms", [geom])])
            xy.append(pts)
            w.append(np.full(len(pts), sc / len(pts)))
            continue
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            geom = geom.boundary
        n = max(1, math.ceil(geom.length / step))
        d = (np.arange(n) + 0.5) * geom.length / n
        pts = np.array([(p.x, p.y) for p in (geom.interpolate(di) for di in d)])
        xy.append(pts)
        w.append(np.full(n, sc * geom.length / n))
    if not xy:
        return np.zeros((0, 2)), np.zeros(0)
    xy_a, w_a = np.vstack(xy), np.concatenate(w)
    return xy_a, w_a / w_a.sum()


def _mask(
    survey: Survey,
    region_geom: BaseGeometry,
    st_xy: np.ndarray,
    cand_xy: np.ndarray,
    cell: float,
    buffer: float,
) -> tuple[np.ndarray, np.ndarray, BaseGeometry]:
    """Mask cell centres of the state space and a flag for 'inside the region'."""
    from shapely import contains_xy
    from shapely.geometry import MultiPoint

    pts = [p for p in (st_xy, cand_xy) if len(p)]
    hull = MultiPoint(np.vstack(pts)).convex_hull if pts else region_geom
    state = region_geom.union(hull).buffer(buffer)
    if survey.habitat is not None and len(survey.habitat) > 0:
        state = state.intersection(survey.habitat.geometry.union_all())
    minx, miny, maxx, maxy = state.bounds
    xs = np.arange(math.floor(minx / cell) * cell + cell / 2, maxx, cell)
    ys = np.arange(math.floor(miny / cell) * cell + cell / 2, maxy, cell)
    mx, my = np.meshgrid(xs, ys)
    gx, gy = mx.ravel(), my.ravel()
    inside = contains_xy(state, gx, gy)
    gx, gy = gx[inside], gy[inside]
    in_study = contains_xy(region_geom, gx, gy)
    return np.column_stack([gx, gy]), in_study, state


# Memory of the planner.  Its engine holds, for every site (candidate or
# existing station) and detection class, the mask points within
# KERNEL_RADIUS_SIGMAS sigma: neighbour lists, distances, hazards and a CSR
# matrix.  The estimate is sites (region area / spacing^2 + 2 x stations)
# x points per site (a disc of 6 sigma over cell_size^2, at most the mask).
# Calibrated on the bundled example (sigma 3622 m, cell 1811 m, region
# study_area+parks, 7781 km2; `trapscape plan --spacing S`, /usr/bin/time -v):
# spacing 1000 m -> 3.75 M estimated entries, 600 MB peak RSS; 500 m ->
# 14.3 M, 1652 MB: 102 B per estimated entry above ~220 MB of imports and
# data (the estimate is ~1.6 x the true neighbour count, as candidates near
# stations and outside the habitat are dropped).  128 B leaves a margin.


def _metrics_by_zone(
    eng: _Engine, survey: Survey, points: np.ndarray, n_mask: int
) -> dict[str, dict[str, float]]:
    H = eng.H
    pd_ = -np.expm1(-H)
    out = {"all": eng.metrics()}
    out["all"]["covered"] = out["all"]["cov_smooth"]
    if survey.zones is not None and len(survey.zones):
        from shapely import contains_xy

        for name, grp in survey.zones.groupby(V.NAME, sort=True):
            base = np.zeros(eng.n_base, dtype=bool)
            base[:n_mask] = contains_xy(
                grp.geometry.union_all(), points[:n_mask, 0], points[:n_mask, 1]
            )
            inside = np.tile(base, len(points) // eng.n_base)
            w_cov = eng.w_cov * inside
            out[str(name)] = {
                "cov_thr": float(w_cov[eng.h_thr <= H].sum()),
                "covered": float((w_cov * pd_).sum()),
                "E_n": float((eng.w_den * inside * pd_).sum()),
            }
    return out
