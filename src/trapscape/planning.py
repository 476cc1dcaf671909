"""Planning new camera-trap placements.

Park staff decide each season where to put the next cameras.  This module
proposes sites that

* **close coverage gaps**: raise the area (km2) of the study area where the
  probability that an animal living there is photographed at least once,
  ``pdot``, reaches a threshold;
* **sharpen the density estimate**: raise ``min(E[n], E[r])``, the smaller
  of the expected number of detected individuals and of recaptures, whose
  inverse square root approximates the relative standard error of the SCR
  density estimate (Efford & Boulanger 2019);
* **watch the border**: raise the score-weighted ``pdot`` at ranked
  border-crossing hotspots.

Sites are chosen from candidates (:func:`candidate_sites`) by lazy greedy
selection (Minoux 1978; Leskovec et al. 2007) followed by a local-swap pass,
deterministically for a seed, never breaking the spacing, per-zone budget or
total count constraints.  :func:`plan` returns a :class:`Plan` whose
``stations`` frame has the columns :func:`trapscape.io.read_stations`
accepts, so a plan can be fed back as a survey; :func:`write_gpx` writes the
sites as GPX 1.1 waypoints for field GPS units.

The detection model is the one in :mod:`trapscape.detection`: the detector
is the station, and an animal whose activity centre lies at distance ``d``
from a station working ``T`` days is detected there on an occasion of
``occasion_days`` with probability ``p = 1 - exp(-lambda0 * occ * g(d))``
(``"HHN"``) or ``p = g0 * g(d)`` (``"HN"``), ``g(d) = exp(-d² / 2sigma²)``, for
``K = T / occ`` occasions.

References
----------
Efford, M. G., & Boulanger, J. (2019). Fast evaluation of study designs for
spatially explicit capture-recapture. *Methods in Ecology and Evolution*,
10, 1529-1535.

Durbach, I., Borchers, D., Sutherland, C., & Sharma, K. (2021). Fast,
flexible alternatives to regular grid designs for spatial capture-recapture.
*Methods in Ecology and Evolution*, 12, 298-310.

Minoux, M. (1978). Accelerated greedy algorithms for maximizing submodular
set functions. In *Optimization Techniques*, LNCIS 7, 234-243.

Leskovec, J., Krause, A., Guestrin, C., Faloutsos, C., VanBriesen, J., &
Glance, N. (2007). Cost-effective outbreak detection in networks. *KDD '07*,
420-429.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from . import validation as V
from ._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from .crs import require_projected
from .detection import DetectionParams
from .errors import ComputationError, GeometryError, InputError, TrapscapeWarning
from .survey import REGIONS as _SURVEY_REGIONS

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from .survey import Survey

__all__ = [
    "OBJECTIVES",
    "REGIONS",
    "Plan",
    "candidate_sites",
    "expected_counts",
    "plan",
    "region_polygon",
    "write_gpx",
    "write_plan_stations",
]

logger = logging.getLogger(__name__)

#: Objective names accepted by :func:`plan`.
OBJECTIVES = ("coverage", "precision", "border")

#: Weight of the smooth (expected covered area) term added to the threshold
#: coverage gain, so that ties are broken toward sites that raise pdot.
COVERAGE_SMOOTH_WEIGHT = 0.05

#: Kernel truncation radius in units of sigma (g(6sigma) = 1.5e-8).
KERNEL_RADIUS_SIGMAS = 6.0

CANDIDATE_ID = "candidate_id"


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
#: Named planning regions accepted by ``region=`` in :func:`plan` and
#: :func:`candidate_sites` (see :meth:`trapscape.survey.Survey.region`).
REGIONS = _SURVEY_REGIONS

#: Type of the ``region`` argument: a name from :data:`REGIONS` or polygons.
RegionLike = Any


def region_polygon(survey: Survey, region: RegionLike = "study_area") -> BaseGeometry:
    """The planning region as one (multi)polygon in the survey CRS.

    An alias of :meth:`trapscape.survey.Survey.region` (same names, polygons,
    fallbacks and errors), kept for existing callers.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    region
        ``"study_area"``, ``"parks"``, ``"study_area+parks"`` or polygons; see
        :meth:`~trapscape.survey.Survey.region`.

    Returns
    -------
    shapely geometry
        The region, not yet clipped to habitat.

    Raises
    ------
    InputError
        If the layer the region names is missing, the name is unknown or the
        polygons have no area.
    CRSError
        If a region layer is not in a projected CRS.
    """
    return survey.region(region)


def _region(
    survey: Survey,
    habitat: gpd.GeoDataFrame | None,
    region: RegionLike = "study_area",
) -> BaseGeometry:
    area = region_polygon(survey, region)
    hab = habitat if habitat is not None else survey.habitat
    if hab is not None and len(hab) > 0:
        require_projected(hab, "habitat layer")
        area = area.intersection(hab.to_crs(survey.crs).geometry.union_all())
    return area


def _layer_union(layer: gpd.GeoDataFrame, crs: Any, what: str) -> BaseGeometry:
    require_projected(layer, what)
    return layer.to_crs(crs).geometry.union_all()


def candidate_sites(
    survey: Survey,
    *,
    spacing: float = 1000.0,
    candidates: gpd.GeoDataFrame | None = None,
    exclude: Sequence[gpd.GeoDataFrame] | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    settlement_buffer: float = 500.0,
    habitat: gpd.GeoDataFrame | None = None,
    access: gpd.GeoDataFrame | None = None,
    max_access_distance: float | None = None,
    min_spacing: float = 2000.0,
    zone_budget: Mapping[str, int] | None = None,
    region: RegionLike = "study_area",
) -> gpd.GeoDataFrame:
    """Candidate camera sites satisfying the fixed placement constraints.

    Candidates are the centres of a square grid of ``spacing`` metres laid
    over the planning ``region`` (by default the study area; or the user's
    ``candidates`` points in it), kept only when they are

    * on habitat (default: ``survey.habitat`` ∩ region; the region alone
      when the survey has no habitat layer);
    * outside every ``exclude`` polygon (water, fields, ...) and more than
      ``settlement_buffer`` metres from ``settlements``;
    * within ``max_access_distance`` metres of an ``access`` line (roads,
      tracks), when both are given;
    * at least ``min_spacing`` metres from every existing station;
    * not in a zone whose ``zone_budget`` is 0.

    Spacing between chosen candidates and the per-zone budget are enforced
    during selection by :func:`plan`.

    Parameters
    ----------
    survey
        The survey (projected CRS).
    spacing
        Grid spacing in metres (ignored when ``candidates`` is given).
    candidates
        User-supplied candidate points in a projected CRS (reprojected to
        the survey CRS when it differs).  Polygons or lines are replaced by a
        point on them.
    exclude
        Polygon layers where cameras may not go.
    settlements
        Settlement polygons or points, avoided by ``settlement_buffer`` metres.
    settlement_buffer
        Minimum distance to settlements in metres.
    habitat
        Habitat polygons overriding ``survey.habitat``.
    access
        Roads/tracks as lines.
    max_access_distance
        Maximum distance in metres from ``access`` (needs ``access``).
    min_spacing
        Minimum distance in metres to existing stations.
    zone_budget
        Maximum number of new sites per zone name (``survey.zones``); zones
        with budget 0 get no candidates.
    region
        Where candidates may go: ``"study_area"`` (default), ``"parks"``
        (union of ``survey.parks``), ``"study_area+parks"``, or polygons (a
        GeoDataFrame/GeoSeries in a projected CRS, or a shapely polygon in
        the survey CRS); see :func:`region_polygon`.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the survey CRS with ``candidate_id`` (``"C00001"``...) and
        ``zone`` (zone name or NA), plus the user's columns.

    Raises
    ------
    CRSError
        If a layer is not in a projected CRS in metres.
    InputError
        If no candidate survives the constraints, an argument is invalid, or
        ``region`` names a boundary layer the survey lacks.
    """
    crs = require_projected(survey.crs, "survey")
    if not spacing > 0:
        raise InputError(
            f"spacing must be a positive distance in metres, got {spacing!r}."
        )
    if min_spacing < 0:
        raise InputError(f"min_spacing must be >= 0 metres, got {min_spacing!r}.")
    if max_access_distance is not None and access is None:
        raise InputError(
            "max_access_distance needs an access layer (roads/tracks); pass access=."
        )

    region_label = region if isinstance(region, str) else "region"
    region = _region(survey, habitat, region)
    if candidates is not None:
        require_projected(
            candidates.crs if candidates.crs is not None else None, "candidates layer"
        )
        cand = candidates.to_crs(crs).copy()
        geom = cand.geometry
        if geom.is_empty.any() or geom.isna().any():
            bad = int(np.flatnonzero((geom.is_empty | geom.isna()).to_numpy())[0]) + 1
            raise GeometryError(
                f"candidates row {bad}: empty geometry. Remove it or give a point.",
                row=bad,
            )
        not_pt = geom.geom_type != "Point"
        if not_pt.any():
            cand.loc[not_pt, "geometry"] = geom[not_pt].representative_point()
        cand = cand[cand.geometry.intersects(region)]
        stages = [(f"user candidates in the {region_label}", len(cand))]
    else:
        if region.is_empty:
            raise InputError(
                f"The planning region '{region_label}' (∩ habitat) is empty; "
                "nothing to place candidates in. Check the boundary layers or "
                "choose another region."
            )
        minx, miny, maxx, maxy = region.bounds
        x0 = math.floor(minx / spacing) * spacing + spacing / 2.0
        y0 = math.floor(miny / spacing) * spacing + spacing / 2.0
        xs = np.arange(x0, maxx, spacing)
        ys = np.arange(y0, maxy, spacing)
        gx, gy = np.meshgrid(xs, ys)
        pts = gpd.GeoSeries(gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=crs)
        keep = pts.intersects(region).to_numpy()
        cand = gpd.GeoDataFrame(geometry=pts[keep].reset_index(drop=True), crs=crs)
        stages = [(f"grid points ({spacing:g} m) in the {region_label}", len(cand))]

    for i, layer in enumerate(exclude or ()):
        u = _layer_union(layer, crs, f"exclude layer {i + 1}")
        cand = cand[~cand.geometry.intersects(u)]
        stages.append((f"outside exclude layer {i + 1}", len(cand)))
    if settlements is not None and len(settlements) > 0:
        u = _layer_union(settlements, crs, "settlements layer")
        cand = cand[cand.geometry.distance(u) > settlement_buffer]
        stages.append(
            (f"more than {settlement_buffer:g} m from settlements", len(cand))
        )
    if access is not None and max_access_distance is not None:
        u = _layer_union(access, crs, "access layer")
        cand = cand[cand.geometry.distance(u) <= max_access_distance]
        stages.append((f"within {max_access_distance:g} m of access", len(cand)))
    st = survey.station_points
    if len(st) > 0 and len(cand) > 0 and min_spacing > 0:
        tree = cKDTree(np.column_stack([st.geometry.x, st.geometry.y]))
        d, _ = tree.query(np.column_stack([cand.geometry.x, cand.geometry.y]))
        cand = cand[d >= min_spacing - 1e-6]
        stages.append((f"at least {min_spacing:g} m from existing stations", len(cand)))

    cand = cand.copy()
    cand[V.ZONE] = survey.zone_of(cand.geometry).to_numpy() if len(cand) else []
    if zone_budget:
        closed = [z for z, b in zone_budget.items() if int(b) <= 0]
        cand = cand[~cand[V.ZONE].isin(closed)]
        stages.append(("outside zones with budget 0", len(cand)))
    if len(cand) == 0:
        steps = "; ".join(f"{what}: {n}" for what, n in stages)
        raise InputError(
            f"No candidate site satisfies the constraints ({steps}). Relax the "
            "constraint that removed the last ones (e.g. a smaller min_spacing or "
            "spacing), or pass "
            "candidates=."
        )
    cand = cand.reset_index(drop=True)
    if CANDIDATE_ID not in cand.columns:
        cand.insert(0, CANDIDATE_ID, [f"C{i + 1:05d}" for i in range(len(cand))])
    else:
        cand[CANDIDATE_ID] = cand[CANDIDATE_ID].astype(str)
    logger.info(
        "%d candidate sites (spacing %.0f m, min spacing %.0f m)",
        len(cand),
        spacing,
        min_spacing,
    )
    return cand


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
    def raw_gains(self) -> dict[str, np.ndarray]:
        """Per-objective raw gains of adding each site to the current state."""
        e = np.exp(-self.H)
        n = self.Q.shape[0]
        Hs = self.H[self.idx]
        crosses = (Hs < self.h_thr) & (Hs + self.hz >= self.h_thr)
        # three matrix-vector products, not one product against a 3-column
        # matrix: scipy's multi-vector CSR kernel measured 1.6x slower here
        # (example: Q 5233 x 23476, 8.8 M entries: 29 vs 18 ms per call)
        return {
            "d_thr": np.bincount(
                self.rows, weights=self.w_cov[self.idx] * crosses, minlength=n
            ),
            "d_sm": self.Q @ (self.w_cov * e),
            "d_en": self.Q @ (self.w_den * e),
            "d_etot": self.etot_site,
            "d_bor": self.Q @ (self.w_bor * e),
        }

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


# --------------------------------------------------------------------------- selection
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
    """Add up to ``k`` sites from ``cand`` (engine rows == constraint indices)."""
    gains_out: list[float] = []
    chosen_set = set(chosen)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=k, desc="plan", unit="site")
    if method == "naive":
        for _ in range(k):
            g = eng.gains(cand)
            ok = cons.feasible_mask(np.asarray(chosen, dtype=np.int64))[cand]
            if not ok.any():
                break
            g = np.where(ok, g, -np.inf)
            best = np.flatnonzero(g == g.max())
            c = int(cand[best[np.argmin(rank[cand[best]])]])
            _accept(eng, cons, c, chosen, chosen_set)
            gains_out.append(float(g.max()))
            if bar is not None:
                bar.update()
    else:
        g0 = eng.gains(cand)
        it = 0
        heap = [
            (-float(g), int(rank[c]), int(c), 0) for g, c in zip(g0, cand, strict=True)
        ]
        heapq.heapify(heap)
        while heap and len(gains_out) < k:
            neg, rk, c, stamp = heapq.heappop(heap)
            if not cons.feasible(c, chosen_set):
                continue
            if stamp == it:
                _accept(eng, cons, c, chosen, chosen_set)
                gains_out.append(-neg)
                it += 1
                if bar is not None:
                    bar.update()
                continue
            heapq.heappush(heap, (-eng.gain_one(c), rk, c, it))
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


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Plan:
    """A proposed set of new camera sites.

    Attributes
    ----------
    stations
        Proposed stations, one row per site, in the schema
        :func:`trapscape.io.read_stations` returns (``station_id``,
        ``camera_id``, ``deployment_id``, ``setup``, ``retrieval``,
        ``setup_time_known``, ``retrieval_time_known``, geometry in the survey
        CRS) plus ``candidate_id``, ``zone``, ``order`` (selection order) and
        the other attributes of the candidates.
    removed
        Ids of existing stations to take down ("move" mode; empty otherwise).
    summary
        Long table ``scope, metric, before, after, change``: scope ``"all"``
        or a zone name; metrics ``stations``, ``area_pdot_km2`` (area with
        pdot >= threshold), ``expected_covered_km2`` (Σ pdot x area),
        ``E_n``, ``E_r``, ``RSE`` and ``border_pdot`` (score-weighted mean
        pdot at hotspots).
    selection
        One row per selected site in selection order: ``order``,
        ``station_id``, ``candidate_id``, ``zone``, ``x``, ``y``, ``gain``
        (marginal gain of the combined, normalised objective), the raw
        marginal gains ``gain_area_pdot_km2``, ``gain_E_n``, ``gain_E_r``,
        ``gain_border_pdot`` (each site added in order to the existing
        stations and the sites before it, after the swap pass), and
        ``kept_existing`` (move mode: a removed station chosen again).
    candidates
        The candidate sites with a boolean ``selected`` column.
    objectives
        Weights used.
    scales
        The scale dividing each raw objective (its best single-site gain at
        the start).
    objective_before, objective_after
        Combined (weighted, normalised) objective of the existing layout and
        of the planned one.
    """

    stations: gpd.GeoDataFrame
    removed: tuple[str, ...]
    summary: pd.DataFrame
    selection: pd.DataFrame
    candidates: gpd.GeoDataFrame
    objectives: dict[str, float]
    scales: dict[str, float]
    objective_before: float = math.nan
    objective_after: float = math.nan


def _observed_days(survey: Survey) -> pd.Series:
    """Operating days per station (cameras pooled, malfunctions removed)."""
    from .effort import station_usage

    u = station_usage(survey)
    days = np.asarray(u.usage, dtype=float).reshape(len(u.station_ids), -1).sum(axis=1)
    return pd.Series(
        days,
        index=pd.Index([str(i) for i in u.station_ids], name=V.STATION_ID),
        name="days",
    )


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
# Mask points (meshgrid, contains test, weights): 96 B each, an upper value.
_PLAN_BYTES_PER_ENTRY = 128
_PLAN_BYTES_PER_MASK_POINT = 96


def _check_plan_memory(
    survey: Survey,
    region: RegionLike,
    candidates: gpd.GeoDataFrame | None,
    spacing: float,
    cell: float,
    buffer: float,
    sigmas: Sequence[float],
    n_stations: int,
    max_memory_gb: float | None,
    *,
    cell_given: bool = False,
) -> None:
    """Refuse a candidate grid / mask that cannot fit, before building them."""
    if max_memory_gb is None:
        return
    try:
        area = region_polygon(survey, region)
    except Exception:  # the planner reports region problems itself
        return
    minx, miny, maxx, maxy = area.bounds
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        return
    n_mask = grid_cells(
        (minx - buffer, miny - buffer, maxx + buffer, maxy + buffer), cell
    )
    n_cand = (
        len(candidates)
        if candidates is not None
        else math.ceil(float(area.area) / float(spacing) ** 2)
    )
    n_sites = n_cand + 2 * int(n_stations)
    per_site = sum(
        min(float(n_mask), math.pi * (KERNEL_RADIUS_SIGMAS * sg) ** 2 / cell**2)
        for sg in sigmas
    )

    def suggest(factor: float) -> str:
        cell_fix = (
            f"a cell_size of {coarser(cell, factor)} m or coarser (now {cell:.0f} m)"
        )
        if candidates is not None:
            return f"Use {cell_fix}, or fewer candidates."
        spacing_fix = (
            f"Use a candidate spacing of {coarser(spacing, factor)} m or coarser "
            f"(now {spacing:g} m)"
        )
        return f"{spacing_fix}, or {cell_fix}." if cell_given else f"{spacing_fix}."

    check_budget(
        math.ceil(n_sites * per_site),
        _PLAN_BYTES_PER_ENTRY,
        what=(
            f"the planner with {n_sites:,} sites (candidate spacing {spacing:g} m) "
            f"and a {cell:.0f} m mask"
        ),
        unit="site x mask-point entries",
        budget_gb=max_memory_gb,
        extra_bytes=n_mask * _PLAN_BYTES_PER_MASK_POINT,
        suggest=suggest,
    )


def _new_ids(n: int, existing: set[str]) -> list[str]:
    prefix = "P"
    while any(f"{prefix}{i + 1:03d}" in existing for i in range(n)):
        prefix += "P"
    return [f"{prefix}{i + 1:03d}" for i in range(n)]


def plan(
    survey: Survey,
    params: DetectionParams,
    *,
    n_new: int = 20,
    objectives: Mapping[str, float] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing: float = 1000.0,
    min_spacing: float = 2000.0,
    zone_budget: Mapping[str, int] | None = None,
    region: RegionLike = "study_area",
    hotspots: gpd.GeoDataFrame | None = None,
    score_column: str = "score",
    threshold: float = 0.5,
    density: float | None = None,
    cell_size: float | None = None,
    buffer: float | None = None,
    session_start: str | pd.Timestamp | None = None,
    session_days: float | None = None,
    existing_usage: Literal["session", "observed"] = "session",
    detector: Literal["proximity", "count"] = "proximity",
    move: int = 0,
    method: Literal["lazy", "naive"] = "lazy",
    swap_passes: int = 2,
    rng: int | np.random.Generator | None = None,
    progress: bool = False,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> Plan:
    """Propose new camera sites that best raise coverage, precision and border watch.

    Objectives (weights in ``objectives``; 0 or absent turns one off):

    ``coverage``
        Area (km2) of the planning ``region`` (default the study area) where
        ``pdot >= threshold`` plus
        ``COVERAGE_SMOOTH_WEIGHT`` (0.05) x the expected covered area
        Σ pdot x cell area (which breaks ties toward sites that raise pdot
        even where no cell crosses the threshold yet).
    ``precision``
        ``min(E[n], E[r])`` (Efford & Boulanger 2019), the expected number of
        detected individuals and of recaptures for the density ``density``;
        the predicted RSE of D is ``1 / sqrt(min(E[n], E[r]))``.
    ``border``
        Score-weighted mean pdot at points sampled every ``cell_size`` m along
        ``hotspots`` (lines or points with ``score_column``), or along
        ``survey.border`` (score 1) when no hotspots are given.

    With sex-specific parameters (``params.by_sex``) every quantity is the
    mean over sexes (equal sex ratio, as in :func:`trapscape.coverage.pdot_points`):
    the coverage area is the mean over sexes of the area where that sex's
    pdot reaches the threshold, and ``E[n]``, ``E[r]`` sum both sexes at
    density ``D / 2`` each.

    Each objective is divided by its **scale**, the largest gain any single
    candidate offers at the start, so a weight of 1 means "the best first
    site is worth one unit"; the combined objective is the weighted sum.

    Selection is greedy with lazy evaluation (CELF; Minoux 1978, Leskovec et
    al. 2007): stale gains are kept in a priority queue and only the top one
    is re-evaluated.  This is exact for submodular objectives (expected
    covered area, border pdot); the threshold area and ``min(E[n], E[r])``
    are not submodular, so lazy greedy is then a heuristic, and a local-swap
    pass follows (each chosen site is replaced by the best feasible
    candidate while that improves the objective).  Ties are broken by a
    random order drawn from ``rng``, so results are deterministic for a seed.

    Parameters
    ----------
    survey
        Existing survey (projected CRS); its stations stay in place (except
        ``move`` ones) and count toward coverage and spacing.
    params
        Detection parameters (``trapscape density`` output or guesses).
    n_new
        Number of new sites.
    objectives
        Weights per objective; default ``{"coverage": 1, "precision": 1,
        "border": 0.5}``.
    candidates
        Candidate points; default :func:`candidate_sites` with ``spacing``,
        ``min_spacing`` and ``zone_budget``.
    spacing
        Candidate grid spacing in metres.
    min_spacing
        Minimum distance in metres between any two stations (new-new and
        new-existing).
    zone_budget
        Maximum number of new sites per zone name.
    region
        Where the plan looks for gaps: the default candidates lie in it, and
        the coverage objective and the ``area_pdot_km2`` /
        ``expected_covered_km2`` summaries (overall and per zone) count only
        mask cells inside it.  ``"study_area"`` (default),
        ``"parks"`` (union of ``survey.parks``), ``"study_area+parks"``, or
        polygons (GeoDataFrame/GeoSeries in a projected CRS, or a shapely
        polygon in the survey CRS); see :func:`region_polygon`.  The
        state space for ``E[n]``/``E[r]`` is the region and the stations
        buffered by ``buffer``, so with a 4sigma buffer the counts barely
        depend on the region.  Use ``"study_area+parks"`` for a
        transboundary reserve whose gaps lie beyond the surveyed area.
    hotspots
        Border-crossing hotspots (lines or points) with ``score_column``.
    score_column
        Column of ``hotspots`` with the (positive) rank score.
    threshold
        pdot threshold for the coverage area.
    density
        Animals per 100 km2 for ``E[n]``/``E[r]``; default
        ``params.density_per_100km2``.  Without one, the sites chosen are the
        same (``min(E[n], E[r])`` and its scale are both proportional to D)
        but ``E_n``, ``E_r`` and ``RSE`` are reported as NaN, with a warning.
    cell_size
        Mask cell size in metres (default sigma/2; the smallest sigma with ``by_sex``).
    buffer
        State-space buffer around the region and stations (default 4sigma;
        the largest sigma with ``by_sex``).
    session_start
        First day of the planned session (default: one year after the
        survey's first setup).
    session_days
        Session length in days of every planned station (default: the median
        operating days of the existing stations, rounded to whole days, else 90).
    existing_usage
        ``"session"``: existing stations are assumed to run ``session_days``
        next season too; ``"observed"``: they keep their observed usage.
    detector
        ``"proximity"`` (binary per station and occasion) or ``"count"``.
    move
        Also move this many existing stations: they are removed one by one
        (least loss first) and ``n_new + move`` sites are added (a removed
        station may be re-chosen, i.e. kept).
    method
        ``"lazy"`` (CELF) or ``"naive"`` (re-evaluate every candidate each step).
    swap_passes
        Maximum local-swap passes (0 disables).
    rng
        Seed or Generator for tie-breaking.
    progress
        Show a progress bar.
    max_memory_gb
        Memory budget in GiB.  The candidate grid (``spacing``) and the
        evaluation mask (``cell_size``) are sized from the region's extent
        before anything is built, and a request over the budget is refused,
        naming a spacing or cell size that fits (``None``: no check).

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        On unknown objectives, negative weights, no feasible candidate, or a
        ``region`` naming a boundary layer the survey lacks (the message says
        which ``[boundaries]`` key to add).
    CRSError
        If the survey is not in a projected CRS.

    References
    ----------
    Efford & Boulanger (2019); Durbach et al. (2021); Minoux (1978);
    Leskovec et al. (2007).  See the module docstring.
    """
    locals_for_retry = {
        k: v for k, v in locals().items() if k not in ("survey", "params")
    }
    crs = require_projected(survey.crs, "survey")
    weights = dict(
        {"coverage": 1.0, "precision": 1.0, "border": 0.5}
        if objectives is None
        else objectives
    )
    unknown = set(weights) - set(OBJECTIVES)
    if unknown:
        raise InputError(
            f"Unknown objective(s) {sorted(unknown)}; choose from {list(OBJECTIVES)}."
        )
    if any(not (float(v) >= 0) for v in weights.values()):
        raise InputError(f"Objective weights must be >= 0, got {weights}.")
    weights = {k: float(weights.get(k, 0.0)) for k in OBJECTIVES}
    if not any(weights.values()):
        raise InputError(
            "All objective weights are 0; give at least one positive weight."
        )
    if int(n_new) < 0 or int(move) < 0:
        raise InputError(
            f"n_new and move must be >= 0, got n_new={n_new}, move={move}."
        )
    if not 0 < threshold < 1:
        raise InputError(
            f"threshold must be a probability in (0, 1), got {threshold!r}."
        )
    if detector not in ("proximity", "count"):
        raise InputError(f"detector must be 'proximity' or 'count', got {detector!r}.")
    if method not in ("lazy", "naive"):
        raise InputError(f"method must be 'lazy' or 'naive', got {method!r}.")
    if existing_usage not in ("session", "observed"):
        raise InputError(
            f"existing_usage must be 'session' or 'observed', got {existing_usage!r}."
        )
    dens_in = density if density is not None else params.density_per_100km2
    density_known = dens_in is not None
    if dens_in is None:
        # min(E[n], E[r]) scales with D, and so does its normalising scale: the
        # choice of sites does not depend on D, only the reported counts do.
        if weights["precision"] > 0:
            warnings.warn(
                "No density given: sites are chosen as usual, but E[n], E[r] and the "
                "RSE are reported as NaN. Pass density= (animals per 100 km2; CLI "
                "--density) "
                "or a detection file with density_per_100km2.",
                TrapscapeWarning,
                stacklevel=2,
            )
        dens_in = 1.0
    dens100 = float(dens_in)
    if not dens100 > 0:
        raise InputError(
            f"density must be positive (animals per 100 km2), got {dens100!r}."
        )
    gen = np.random.default_rng(rng)
    sigmas = [pk.sigma for _, pk in params.sex_classes()]
    cell = float(cell_size) if cell_size else min(sigmas) / 2.0
    buf = float(buffer) if buffer is not None else 4.0 * max(sigmas)
    _check_plan_memory(
        survey,
        region,
        candidates,
        spacing,
        cell,
        buf,
        sigmas,
        len(survey.stations) if survey.stations is not None else 0,
        max_memory_gb,
        cell_given=bool(cell_size),
    )

    # existing stations and their usage
    st = survey.station_points
    st_ids = st[V.STATION_ID].astype(str).to_numpy()
    st_xy = (
        np.column_stack([st.geometry.x, st.geometry.y]) if len(st) else np.zeros((0, 2))
    )
    observed = _observed_days(survey) if len(st) else pd.Series(dtype=float)
    obs_days = (
        observed.reindex(st[V.STATION_ID].astype(str)).fillna(0.0).to_numpy(dtype=float)
    )
    if session_days is None:
        pos = obs_days[obs_days > 0]
        session_days = float(max(1, round(float(np.median(pos))))) if len(pos) else 90.0
    if not session_days > 0:
        raise InputError(f"session_days must be positive, got {session_days!r}.")
    ex_days = (
        obs_days
        if existing_usage == "observed"
        else np.full(len(st), float(session_days))
    )
    if move > len(st):
        raise InputError(f"move={move} but the survey has only {len(st)} stations.")

    # candidates
    if candidates is None:
        # in move mode, sites near stations that may be removed stay candidates;
        # spacing to the stations that remain is enforced during selection
        cand_gdf = candidate_sites(
            survey,
            spacing=spacing,
            min_spacing=0.0 if move else min_spacing,
            zone_budget=zone_budget,
            region=region,
        )
    else:
        require_projected(
            candidates.crs if candidates.crs is not None else None, "candidates"
        )
        cand_gdf = candidates.to_crs(crs).reset_index(drop=True).copy()
        if (cand_gdf.geometry.geom_type != "Point").any():
            raise GeometryError(
                "candidates must be points; use candidate_sites() to convert."
            )
        if CANDIDATE_ID not in cand_gdf.columns:
            cand_gdf.insert(
                0, CANDIDATE_ID, [f"C{i + 1:05d}" for i in range(len(cand_gdf))]
            )
        if V.ZONE not in cand_gdf.columns:
            cand_gdf[V.ZONE] = survey.zone_of(cand_gdf.geometry).to_numpy()
    if len(cand_gdf) == 0:
        raise InputError("No candidate sites to choose from.")
    c_xy = np.column_stack([cand_gdf.geometry.x, cand_gdf.geometry.y])
    n_c = len(c_xy)

    # evaluation points
    region_geom = _region(survey, None, region)
    mask_xy, in_study, _state = _mask(survey, region_geom, st_xy, c_xy, cell, buf)
    if len(mask_xy) == 0:
        raise ComputationError(f"The mask is empty; lower cell_size (now {cell} m).")
    cell_km2 = cell * cell / 1e6
    hs_xy, hs_w = _hotspot_points(hotspots, survey, score_column, cell)
    if weights["border"] > 0 and len(hs_xy) == 0:
        warnings.warn(
            "The border objective has no hotspots and the survey no border; "
            "its weight is ignored.",
            TrapscapeWarning,
            stacklevel=2,
        )
        weights["border"] = 0.0
        if not any(weights.values()):
            raise InputError(
                "Only the border objective was asked for, but there are no "
                "hotspots and no survey border. Pass hotspots=."
            )
    n_mask = len(mask_xy)
    base_pts = np.vstack([mask_xy, hs_xy])
    w_cov = np.concatenate([in_study * cell_km2, np.zeros(len(hs_xy))])
    w_den = np.concatenate(
        [np.full(n_mask, dens100 / 1e8 * cell * cell), np.zeros(len(hs_xy))]
    )
    w_bor = np.concatenate([np.zeros(n_mask), hs_w])
    # sex-specific parameters: one copy of the points per sex, weighted by its share
    shares, classes = zip(*params.sex_classes(), strict=True)
    n_cls = len(classes)
    points = np.vstack([base_pts] * n_cls)
    cls_w = np.repeat(np.asarray(shares, dtype=float), len(base_pts))
    w_cov, w_den, w_bor = (np.tile(w, n_cls) * cls_w for w in (w_cov, w_den, w_bor))

    # sites: candidates, existing stations as candidates (move mode only),
    # existing stations.  Without moves the candidate copy is left out; the
    # seeded tie-break ranks still follow the full layout (see ``rank``).
    n_st = len(st)
    ex0 = n_c + n_st if move else n_c  # first existing-station row
    if move:
        site_xy = np.vstack([c_xy, st_xy, st_xy])
        site_days = np.concatenate(
            [
                np.full(n_c, float(session_days)),
                np.full(n_st, float(session_days)),
                ex_days,
            ]
        )
    else:
        site_xy = np.vstack([c_xy, st_xy])
        site_days = np.concatenate([np.full(n_c, float(session_days)), ex_days])
    eng = _Engine(
        points,
        w_cov,
        w_den,
        w_bor,
        site_xy,
        site_days,
        classes,
        detector=detector,
        threshold=threshold,
    )
    ex_rows = np.arange(ex0, ex0 + n_st)
    for r in ex_rows:
        eng.add(int(r))
    before = _metrics_by_zone(eng, survey, points, n_mask)

    zones_arr = np.concatenate(
        [
            cand_gdf[V.ZONE]
            .astype(object)
            .where(cand_gdf[V.ZONE].notna(), None)
            .to_numpy(),
            np.array([None] * (len(site_xy) - n_c), dtype=object),
        ]
    )
    budget = {str(k): int(v) for k, v in (zone_budget or {}).items()}
    cons = _Constraints(site_xy, zones_arr, float(min_spacing), budget)
    # existing stations block their neighbourhood and themselves (as move candidates)
    for j in range(len(st)):
        cons.block(st_xy[j])
    # existing-station rows themselves are never addable as new candidates
    cons.blocked[ex_rows] += 1

    # one permutation over the full layout (candidates, move copies,
    # existing), whether or not the move copies are built, so that ties break
    # the same way with and without them
    full_rank = gen.permutation(n_c + 2 * n_st)
    rank = np.empty(len(site_xy), dtype=np.int64)
    if move:
        rank[:] = full_rank
    else:
        rank[:] = np.concatenate([full_rank[:n_c], full_rank[n_c + n_st :]])

    # scales: best single-site raw gain at the start
    g = {k_: v[:n_c] for k_, v in eng.raw_gains().items()}
    m0 = eng.metrics()
    en = m0["E_n"] + g["d_en"]
    er = eng.etot + g["d_etot"] - en
    raw = {
        "coverage": g["d_thr"] + COVERAGE_SMOOTH_WEIGHT * g["d_sm"],
        "precision": np.minimum(en, er) - min(m0["E_n"], m0["E_r"]),
        "border": g["d_bor"],
    }
    scales = {}
    for k_, arr in raw.items():
        top = float(np.max(arr)) if len(arr) else 0.0
        scales[k_] = top if top > 1e-12 else 1.0
    eng.weights, eng.scale = weights, scales
    value_before = eng.value()

    # move mode: remove `move` existing stations, least loss first
    removed_rows: list[int] = []
    if move:
        present = [int(r) for r in ex_rows]
        for _ in range(int(move)):
            base = eng.value()
            losses = []
            for row in present:
                eng.add(row, -1.0)
                losses.append(base - eng.value())
                eng.add(row)
            least = np.lexsort((rank[present], np.round(losses, 10)))
            gone = present.pop(int(least[0]))
            eng.add(gone, -1.0)
            removed_rows.append(gone)
            j = gone - ex0
            cons.block(st_xy[j], -1)  # frees its neighbourhood and its own location

    cand_rows = np.arange(n_c + (len(st) if move else 0))
    if move:
        # only removed stations' own locations are extra candidates
        keep_extra = np.array([r - len(st) for r in removed_rows], dtype=np.int64)
        cand_rows = np.concatenate([np.arange(n_c), np.sort(keep_extra)])
    chosen: list[int] = []
    k_total = int(n_new) + int(move)
    _greedy(
        eng,
        cons,
        cand_rows,
        k_total,
        rank,
        method=method,
        chosen=chosen,
        progress=progress,
    )
    if len(chosen) < k_total:
        warnings.warn(
            f"Only {len(chosen)} of {k_total} sites could be placed without breaking "
            f"the spacing ({min_spacing} m) or zone budgets; lower min_spacing or add "
            "candidates.",
            TrapscapeWarning,
            stacklevel=2,
        )
    n_swaps = 0
    for _ in range(int(swap_passes)):
        s = _swap_pass(eng, cons, cand_rows, chosen, rank, list(chosen))
        n_swaps += s
        if s == 0:
            break
    value_after = eng.value()
    if move:
        # moving must beat simply adding n_new sites; otherwise move nothing
        kwargs = dict(locals_for_retry)
        kwargs["move"] = 0
        stay = plan(survey, params, **kwargs)
        if stay.objective_after >= value_after - 1e-9:
            warnings.warn(
                f"Moving {move} stations does not improve on adding {n_new} sites "
                "only; "
                "nothing is moved.",
                TrapscapeWarning,
                stacklevel=2,
            )
            return stay
    after = _metrics_by_zone(eng, survey, points, n_mask)

    # outputs
    kept_back = {c for c in chosen if c >= n_c}
    removed = tuple(
        st_ids[r - ex0] for r in removed_rows if (r - len(st)) not in kept_back
    )
    new_sites = [c for c in chosen if c < n_c]
    ids = _new_ids(len(new_sites), set(st_ids))
    start = (
        pd.Timestamp(session_start)
        if session_start is not None
        else (
            survey.time_span[0] + pd.DateOffset(years=1)
            if len(survey.stations)
            else pd.Timestamp.now().normalize()
        )
    )
    if pd.isna(start):
        start = pd.Timestamp("2000-01-01")
    start = pd.Timestamp(start).normalize() + pd.Timedelta(hours=12)
    end = start + pd.Timedelta(days=float(session_days))
    sel_idx = np.asarray(new_sites, dtype=np.int64)
    order = {c: i + 1 for i, c in enumerate(chosen)}
    stations = gpd.GeoDataFrame(
        {
            V.STATION_ID: ids,
            V.CAMERA_ID: ids,
            V.DEPLOYMENT_ID: ids,
            V.SETUP: pd.Series([start] * len(ids), dtype="datetime64[ns]"),
            V.RETRIEVAL: pd.Series([end] * len(ids), dtype="datetime64[ns]"),
            V.SETUP_TIME_KNOWN: False,
            V.RETRIEVAL_TIME_KNOWN: False,
            CANDIDATE_ID: cand_gdf[CANDIDATE_ID].to_numpy()[sel_idx].astype(str)
            if len(sel_idx)
            else [],
            V.ZONE: cand_gdf[V.ZONE].to_numpy()[sel_idx] if len(sel_idx) else [],
            "order": [order[c] for c in new_sites],
        },
        geometry=gpd.points_from_xy(c_xy[sel_idx, 0], c_xy[sel_idx, 1])
        if len(sel_idx)
        else [],
        crs=crs,
    )
    # carry the user's candidate attributes (e.g. a site name) into the stations
    for col in cand_gdf.columns:
        if col in stations.columns or col == cand_gdf.geometry.name:
            continue
        stations[col] = cand_gdf[col].to_numpy()[sel_idx] if len(sel_idx) else []
    sid_of = dict(zip(new_sites, ids, strict=False))
    # marginal gains of the final set, replayed in selection order
    for c in reversed(chosen):
        eng.add(c, -1.0)
    replay: list[dict[str, float]] = []
    for c in chosen:
        m0, v0 = eng.metrics(), eng.value()
        eng.add(c)
        m1 = eng.metrics()
        replay.append(
            {
                "gain": round(eng.value() - v0, 10),
                "gain_area_pdot_km2": m1["cov_thr"] - m0["cov_thr"],
                "gain_E_n": m1["E_n"] - m0["E_n"] if density_known else np.nan,
                "gain_E_r": m1["E_r"] - m0["E_r"] if density_known else np.nan,
                "gain_border_pdot": m1["border"] - m0["border"],
            }
        )
    sel_rows = []
    for i, c in enumerate(chosen):
        is_new = c < n_c
        sel_rows.append(
            {
                "order": i + 1,
                V.STATION_ID: sid_of[c] if is_new else st_ids[c - n_c],
                CANDIDATE_ID: cand_gdf[CANDIDATE_ID].iloc[c] if is_new else None,
                V.ZONE: zones_arr[c] if is_new else None,
                "x": float(site_xy[c, 0]),
                "y": float(site_xy[c, 1]),
                **replay[i],
                "kept_existing": not is_new,
            }
        )
    selection = pd.DataFrame(
        sel_rows,
        columns=[
            "order",
            V.STATION_ID,
            CANDIDATE_ID,
            V.ZONE,
            "x",
            "y",
            "gain",
            "gain_area_pdot_km2",
            "gain_E_n",
            "gain_E_r",
            "gain_border_pdot",
            "kept_existing",
        ],
    )
    cand_out = cand_gdf.copy()
    cand_out["selected"] = np.isin(np.arange(n_c), sel_idx)
    summary = _summary(
        before,
        after,
        len(st),
        len(st) - len(removed) + len(new_sites),
        stations,
        survey,
        threshold,
    )
    summary.attrs["region"] = region if isinstance(region, str) else "custom"
    summary.attrs["region_km2"] = float(region_geom.area) / 1e6
    if not density_known:
        summary.loc[
            summary["metric"].isin(["E_n", "E_r", "RSE"]), ["before", "after", "change"]
        ] = np.nan
    logger.info(
        "Planned %d new sites (%d moved, %d swaps): combined objective %.3f -> %.3f",
        len(new_sites),
        len(removed),
        n_swaps,
        value_before,
        value_after,
    )
    return Plan(
        stations=stations,
        removed=removed,
        summary=summary,
        selection=selection,
        candidates=cand_out,
        objectives=weights,
        scales=scales,
        objective_before=float(value_before),
        objective_after=float(value_after),
    )


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


def _summary(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    n_before: int,
    n_after: int,
    stations: gpd.GeoDataFrame,
    survey: Survey,
    threshold: float,
) -> pd.DataFrame:
    rows = []

    def add(scope: str, metric: str, b: float, a: float) -> None:
        rows.append(
            {"scope": scope, "metric": metric, "before": b, "after": a, "change": a - b}
        )

    def rse(m: dict[str, float]) -> float:
        v = min(m["E_n"], m["E_r"])
        return 1.0 / math.sqrt(v) if v > 0 else math.inf

    b, a = before["all"], after["all"]
    add("all", "stations", n_before, n_after)
    add("all", "area_pdot_km2", b["cov_thr"], a["cov_thr"])
    add("all", "expected_covered_km2", b["covered"], a["covered"])
    add("all", "E_n", b["E_n"], a["E_n"])
    add("all", "E_r", b["E_r"], a["E_r"])
    add("all", "RSE", rse(b), rse(a))
    add("all", "border_pdot", b["border"], a["border"])
    for scope in before:
        if scope == "all":
            continue
        bz, az = before[scope], after[scope]
        n_new = int((stations[V.ZONE] == scope).sum()) if len(stations) else 0
        add(scope, "new_stations", 0, n_new)
        add(scope, "area_pdot_km2", bz["cov_thr"], az["cov_thr"])
        add(scope, "expected_covered_km2", bz["covered"], az["covered"])
        add(scope, "E_n", bz["E_n"], az["E_n"])
    out = pd.DataFrame(rows, columns=["scope", "metric", "before", "after", "change"])
    out.attrs["threshold"] = threshold
    return out


# --------------------------------------------------------------------------- writers
def write_gpx(
    stations: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    name_column: str = V.STATION_ID,
    creator: str = "trapscape",
) -> None:
    """Write stations as GPX 1.1 waypoints (WGS84) for field GPS units.

    Parameters
    ----------
    stations
        Point layer with a CRS (e.g. :attr:`Plan.stations`).
    path
        Output ``.gpx`` file.
    name_column
        Column used as the waypoint name.
    creator
        GPX ``creator`` attribute.

    Raises
    ------
    InputError
        If the layer has no CRS, non-point geometries or lacks ``name_column``.
    """
    if stations.crs is None:
        raise InputError("stations have no CRS; set one before writing GPX.")
    if name_column not in stations.columns:
        raise InputError(f"stations have no column '{name_column}' for waypoint names.")
    if len(stations) and (stations.geometry.geom_type != "Point").any():
        raise GeometryError("GPX waypoints need point geometries.")
    ll = stations.to_crs(4326)
    ns = "http://www.topografix.com/GPX/1/1"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}gpx", {"version": "1.1", "creator": creator})
    meta = ET.SubElement(root, f"{{{ns}}}metadata")
    ET.SubElement(meta, f"{{{ns}}}name").text = "trapscape proposed stations"
    for (_, row), geom in zip(ll.iterrows(), ll.geometry, strict=False):
        wpt = ET.SubElement(
            root, f"{{{ns}}}wpt", {"lat": f"{geom.y:.7f}", "lon": f"{geom.x:.7f}"}
        )
        ET.SubElement(wpt, f"{{{ns}}}name").text = str(row[name_column])
        parts = []
        for col in ("zone", "order", CANDIDATE_ID):
            if col in ll.columns and pd.notna(row[col]):
                parts.append(f"{col}={row[col]}")
        if V.SETUP in ll.columns and pd.notna(row[V.SETUP]):
            parts.append(f"setup={pd.Timestamp(row[V.SETUP]).date()}")
        if parts:
            ET.SubElement(wpt, f"{{{ns}}}desc").text = "; ".join(parts)
        ET.SubElement(wpt, f"{{{ns}}}sym").text = "Flag, Blue"
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(os.fspath(path), encoding="UTF-8", xml_declaration=True)


def write_plan_stations(
    stations: gpd.GeoDataFrame, path: str | os.PathLike[str]
) -> None:
    """Write proposed stations as a stations CSV that ``read_stations`` reads.

    A thin wrapper of :func:`trapscape.io.write_stations` (no malfunctions):
    ``station_id, camera_id, deployment_id, longitude, latitude, setup,
    retrieval`` plus ``candidate_id``, ``zone`` and ``order``.
    """
    from .io import write_stations
    from .survey import _empty_problems

    write_stations(stations, _empty_problems(), path)
