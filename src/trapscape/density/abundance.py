"""Population size in regions: expected and realised N (secr's ``region.N``).

References
----------
Efford, M. G. & Fewster, R. M. (2013) Estimating population size by spatially
explicit capture-recapture. Oikos 122, 918-928.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy.special import logsumexp

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB
from . import _likelihood as _lik
from ._setup import _design, unsurveyed_zones
from .data import HA, CaptureHistory, Mask
from .mask import _as_geometry, _zone_labels
from .result import _Z, SCRFit

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from ..survey import Survey

__all__ = ["survey_regions"]


def _with_region_n(
    result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    *,
    regions: Mapping[str, BaseGeometry] | None,
    region_zones: Mapping[str, BaseGeometry] | None,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> SCRFit:
    """``result`` with its region N table, for a fit made with ``regions=None``.

    Rebuilds the design of ``result`` on ``mask`` and computes the table from
    the fitted betas and their covariance, exactly as :func:`fit` would have.
    """
    if not regions:
        return result
    design, d_levels, _ = _design(
        ch,
        mask,
        detectfn=result.detectfn,
        model=result.model,
        integer_usage=integer_usage,
        max_memory_gb=max_memory_gb,
        occasion_model=result.occasion_model,
    )
    table = _region_n(
        result.beta,
        result.vcov,
        design,
        mask,
        ch,
        regions,
        d_levels=d_levels,
        region_zones=region_zones,
    )
    return replace(result, region_n=table)


def _region_points(
    geom: Any, spacing: float, max_points: int = 50000
) -> tuple[np.ndarray, float]:
    """Region mask as secr's ``make.mask(type = "polygon")``: cell centres in R.

    Returns the points and the cell area (m²).  The spacing is widened only
    when the region would need more than ``max_points`` cells.
    """
    import shapely

    minx, miny, maxx, maxy = geom.bounds
    sp = spacing
    while (float(geom.area) / sp**2) > max_points:
        sp *= 1.5
    eps = sp * 1e-9
    xs = np.arange(minx + sp / 2, maxx + eps, sp)
    ys = np.arange(miny + sp / 2, maxy + eps, sp)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[shapely.contains_xy(geom, pts[:, 0], pts[:, 1])]
    return pts, sp * sp


def _lognormal_ci(est: float, se: float, lower: float = 0.0) -> tuple[float, float]:
    """secr's ``add.cl``: log-normal interval for ``est - lower``."""
    delta = est - lower
    if not (np.isfinite(se) and delta > 0):
        return math.nan, math.nan
    cf = math.exp(_Z * math.sqrt(math.log1p((se / delta) ** 2)))
    return delta / cf + lower, delta * cf + lower


_REGION_COLUMNS = [
    "region",
    "quantity",
    "estimate",
    "se",
    "lcl",
    "ucl",
    "n",
    "area_km2",
]
_STEP = 1e-5  # central-difference step on the link scale for R.N.local's SE


@dataclass(frozen=True)
class _Region:
    """One region on its own grid.

    ``d2``: squared distances of its cells to the detectors; ``d_index``: the
    density level of each cell; ``in_mask``: which fitted mask points lie
    inside; ``cell_ha``: the cell area in hectares.
    """

    name: str
    geom: Any
    d2: np.ndarray
    d_index: np.ndarray
    in_mask: np.ndarray
    cell_ha: float


def _region_n(
    beta: np.ndarray,
    vcov: np.ndarray,
    design: _lik.Design,
    mask: Mask,
    ch: CaptureHistory,
    regions: Mapping[str, Any],
    *,
    d_levels: list[str],
    region_zones: Mapping[str, Any] | None,
) -> pd.DataFrame:
    """Population size in each region, as secr's ``region.N`` (plus a local R.N).

    * ``E.N``: expected number of activity centres in R, ``sum_R D(x) a`` on a
      region mask at the mask spacing; SE from the real-scale SE of D
      (homogeneous D) or the delta method on the density betas.
    * ``R.N``: secr's realised number (``RN.method = "poisson"``): all ``n``
      detected animals plus the expected number of undetected animals in R,
      SE ``sqrt(SE(E.N)^2 - E.N)``, log-normal CI bounded below by ``n``.
      Meant for regions that contain the whole survey.
    * ``R.N.local``: detected animals weighted by the posterior probability
      that their centre lies in R, plus the undetected animals in R (for
      parts of the survey area such as one country); SE by the delta method
      plus the Poisson variance of the undetected animals plus the
      membership variance ``sum p_i (1 - p_i)`` of the detected ones.
    """
    specs = _region_grids(design, mask, ch, regions, d_levels, region_zones)
    if not specs:
        return pd.DataFrame(columns=_REGION_COLUMNS)
    vals, member_var = _region_terms(beta, design, specs, ch.n)
    rows = []
    for r, spec in enumerate(specs):
        rows += _region_rows(beta, vcov, design, spec, vals[:, r], member_var[r], ch.n)
    return pd.DataFrame(rows, columns=_REGION_COLUMNS)


def _region_grids(
    design: _lik.Design,
    mask: Mask,
    ch: CaptureHistory,
    regions: Mapping[str, Any],
    d_levels: list[str],
    region_zones: Mapping[str, Any] | None,
) -> list[_Region]:
    """The non-empty regions on their grids, with the density level of each cell."""
    specs = []
    for name, geom0 in regions.items():
        geom = _as_geometry(geom0)
        if geom is None or geom.is_empty:
            continue
        rxy, rcell_m2 = _region_points(geom, mask.spacing)
        if len(rxy) == 0:
            continue
        if len(d_levels) > 1:
            labels = (
                np.array(_nearest_labels(rxy, mask))
                if region_zones is None
                else np.array(_zone_labels(rxy, region_zones))
            )
            lookup = {z: i for i, z in enumerate(d_levels)}
            for z_out in unsurveyed_zones(ch, mask):
                lookup[z_out] = len(d_levels)  # left out: density 0
            r_dindex = np.array([lookup.get(z, -1) for z in labels])
            if np.any(r_dindex < 0):
                near = np.array([lookup[z] for z in _nearest_labels(rxy, mask)])
                r_dindex = np.where(r_dindex < 0, near, r_dindex)
        else:
            r_dindex = np.zeros(len(rxy), dtype=np.int64)
        in_mask = shapely.contains_xy(geom, mask.xy[:, 0], mask.xy[:, 1])
        specs.append(
            _Region(
                str(name),
                geom,
                _with_points(design, ch, rxy),
                r_dindex,
                in_mask,
                rcell_m2 / HA,
            )
        )
    return specs


def _region_terms(
    beta: np.ndarray, design: _lik.Design, specs: list[_Region], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Undetected and detected animals in each region, at ``beta`` and its steps.

    Returns ``vals`` of shape ``(1 + 2 P, regions, 2)``: for ``beta`` then
    ``beta +/- step`` in each of the P link-scale parameters, the expected
    number of undetected animals in R and the posterior mass of the detected
    animals' centres in R; and the membership variance ``sum p_i (1 - p_i)``
    of the detected animals at ``beta`` (animal i's centre lies in R with
    posterior probability p_i).
    """
    variants = [beta]
    for k in range(beta.size):
        e = np.zeros(beta.size)
        e[k] = _STEP
        variants += [beta + e, beta - e]
    vals = np.empty((len(variants), len(specs), 2))
    member_var = np.zeros(len(specs))
    for v, b in enumerate(variants):
        real = _lik.unpack(b, design)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            parts = _lik.evaluate(b, design, keep=True)
        li = np.asarray(parts["li"])
        logw = np.asarray(parts["logw"])
        for r, spec in enumerate(specs):
            dens_r = np.append(real.density, 0.0)[spec.d_index]
            undet = 0.0
            for c in range(design.n_classes):
                logq = _lik.class_terms(
                    design, float(real.p0[c]), float(real.sigma[c]), d2=spec.d2
                )["logq"]
                undet += (
                    float(np.sum(real.pmix[c] * np.exp(logq) * dens_r)) * spec.cell_ha
                )
            p_in = np.zeros(n)
            if np.any(spec.in_mask):
                for c, lp in enumerate(list(parts["lp"])):  # type: ignore[call-overload]
                    lpc = lp[:, spec.in_mask] + (logw[:, c] - li)[:, None]
                    p_in += np.exp(logsumexp(lpc, axis=1))
            det = float(np.sum(p_in))
            if v == 0:
                p_in = np.clip(p_in, 0.0, 1.0)
                member_var[r] = float(np.sum(p_in * (1.0 - p_in)))
            vals[v, r] = (undet, det)
    return vals, member_var


def _region_rows(
    beta: np.ndarray,
    vcov: np.ndarray,
    design: _lik.Design,
    spec: _Region,
    vals: np.ndarray,
    member_var: float,
    n: int,
) -> list[dict[str, Any]]:
    """The E.N, R.N and R.N.local rows of one region (``vals``: its terms)."""
    nd = design.n_d
    vc = np.nan_to_num(vcov)  # non-estimable parameters count as fixed
    real0 = _lik.unpack(beta, design)
    cells = np.bincount(spec.d_index, minlength=nd + 1)[:nd].astype(np.float64)
    cells *= spec.cell_ha
    contrib = real0.density * cells  # E.N by density level
    en = float(np.sum(contrib))
    if nd == 1:
        se_b = math.sqrt(vc[0, 0]) if vc[0, 0] > 0 else math.nan
        se_en = real0.density[0] * math.sqrt(math.expm1(se_b**2)) * cells[0]
    else:
        g_en = np.zeros(beta.size)
        g_en[:nd] = contrib
        se_en = math.sqrt(max(float(g_en @ vc @ g_en), 0.0))
    undet, det = vals[0]
    rn = n + undet
    se_rn = math.sqrt(se_en**2 - en) if se_en**2 > en else math.nan
    plus, minus = vals[1::2], vals[2::2]
    g_loc = ((plus[:, 0] + plus[:, 1]) - (minus[:, 0] + minus[:, 1])) / (2 * _STEP)
    rn_loc = det + undet
    var_loc = float(g_loc @ vc @ g_loc) + undet + member_var
    se_loc = math.sqrt(var_loc) if var_loc >= 0 else math.nan
    area_km2 = float(spec.geom.area) / 1e6
    rows = []
    for label, est, se, lower in (
        ("E.N", en, se_en, 0.0),
        ("R.N", rn, se_rn, float(n)),
        ("R.N.local", rn_loc, se_loc, 0.0),
    ):
        lcl, ucl = _lognormal_ci(est, se, lower)
        rows.append(
            {
                "region": spec.name,
                "quantity": label,
                "estimate": est,
                "se": se,
                "lcl": lcl,
                "ucl": ucl,
                "n": n,
                "area_km2": area_km2,
            }
        )
    return rows


def _nearest_labels(xy: np.ndarray, mask: Mask) -> list[str]:
    from scipy.spatial import cKDTree

    _, idx = cKDTree(mask.xy).query(xy)
    assert mask.zone is not None
    return [mask.zone[i] for i in idx]


def _with_points(design: _lik.Design, ch: CaptureHistory, xy: np.ndarray) -> np.ndarray:
    """Squared distances from other points (a region grid) to the detectors."""
    txy = ch.traps_xy[design.order]
    return np.asarray(
        (xy[:, 0:1] - txy[None, :, 0]) ** 2 + (xy[:, 1:2] - txy[None, :, 1]) ** 2
    )


def survey_regions(survey: Survey) -> dict[str, Any]:
    """Regions for population size: study area, each park and each zone.

    Zones (countries) are cut to the surveyed region (the study area and the
    parks), so "N in Russia" means the Russian part of the area the survey
    speaks for, not an extrapolation over the whole country layer; zone parts
    smaller than 1 km² are left out.  Without a study area or parks the zones
    are used whole.
    """
    regions: dict[str, Any] = {}
    if survey.study_polygon is not None:
        regions["study area"] = survey.study_polygon
    surveyed = None
    parts = [
        g
        for g in (
            survey.study_polygon,
            survey.parks.geometry.union_all()
            if survey.parks is not None and len(survey.parks)
            else None,
        )
        if g is not None and not g.is_empty
    ]
    if parts:
        surveyed = shapely.union_all(parts)
    for layer, prefix in ((survey.parks, "park"), (survey.zones, "zone")):
        if layer is None or len(layer) == 0:
            continue
        names = (
            layer[V.NAME].astype(str)
            if V.NAME in layer.columns
            else pd.Series([f"{prefix} {i}" for i in range(len(layer))])
        )
        for nm in sorted(set(names)):
            geom = layer.geometry[names.to_numpy() == nm].union_all()
            if prefix == "zone" and surveyed is not None:
                geom = geom.intersection(surveyed)
                if geom.is_empty or geom.area < 1e6:
                    continue
            key = f"{prefix}: {nm}"
            regions[key] = geom
    return regions
