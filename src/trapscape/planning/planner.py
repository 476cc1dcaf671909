"""The planner: propose new camera sites for a survey.

:func:`plan` runs the steps of a plan: resolve the options, gather the
existing stations and the candidates, build the evaluation points and the
hazard engine, (move mode) remove stations, select sites greedily, swap,
and assemble a :class:`Plan`.

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

Selection is greedy: each step adds the feasible candidate with the
largest gain.  With ``method="lazy"`` (default) only the gains that the
last pick can have changed (candidates within twice the kernel radius of
it) are recomputed, so the sites are exactly those of plain greedy even
though the threshold area and ``min(E[n], E[r])`` are not submodular.
A local-swap pass follows (each chosen site is replaced by the best
feasible candidate while that improves the objective).  Ties are broken
by a random order drawn from ``rng``, so results are deterministic for a
seed.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from ..crs import require_projected
from ..detection import DetectionParams
from ..errors import ComputationError, GeometryError, InputError, TrapscapeWarning
from .candidates import (
    CANDIDATE_ID,
    RegionLike,
    _region,
    candidate_sites,
    region_polygon,
)
from .export import _selection_frame, _stations_frame, _summary
from .objectives import (
    COVERAGE_SMOOTH_WEIGHT,
    KERNEL_RADIUS_SIGMAS,
    OBJECTIVES,
    _Engine,
    _hotspot_points,
    _mask,
    _metrics_by_zone,
)
from .search import _Constraints, _greedy, _swap_pass

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from ..survey import Survey

__all__ = ["Plan", "PlanOptions", "plan"]

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True, eq=False)
class PlanOptions:
    """The keyword options of :func:`plan`, with the same names and defaults.

    :func:`plan` packs its keywords into one of these and hands it to the
    steps of the planner.

    Attributes
    ----------
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
        ``"lazy"`` (recompute only the gains the last pick changed) or
        ``"naive"`` (recompute every gain at every step); both choose the same
        sites.
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
    """

    n_new: int = 20
    objectives: Mapping[str, float] | None = None
    candidates: gpd.GeoDataFrame | None = None
    spacing: float = 1000.0
    min_spacing: float = 2000.0
    zone_budget: Mapping[str, int] | None = None
    region: RegionLike = "study_area"
    hotspots: gpd.GeoDataFrame | None = None
    score_column: str = "score"
    threshold: float = 0.5
    density: float | None = None
    cell_size: float | None = None
    buffer: float | None = None
    session_start: str | pd.Timestamp | None = None
    session_days: float | None = None
    existing_usage: Literal["session", "observed"] = "session"
    detector: Literal["proximity", "count"] = "proximity"
    move: int = 0
    method: Literal["lazy", "naive"] = "lazy"
    swap_passes: int = 2
    rng: int | np.random.Generator | None = None
    progress: bool = False
    max_memory_gb: float | None = DEFAULT_BUDGET_GB


def _observed_days(survey: Survey) -> pd.Series:
    """Operating days per station (cameras pooled, malfunctions removed)."""
    from ..effort import station_usage

    u = station_usage(survey)
    days = np.asarray(u.usage, dtype=float).reshape(len(u.station_ids), -1).sum(axis=1)
    return pd.Series(
        days,
        index=pd.Index([str(i) for i in u.station_ids], name=V.STATION_ID),
        name="days",
    )


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

    The objectives, their scales and the greedy search are described in
    :mod:`trapscape.planning.planner`; :class:`PlanOptions` gives the full
    meaning of every keyword.

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
        Weights of ``"coverage"``, ``"precision"`` and ``"border"``; default
        ``{"coverage": 1, "precision": 1, "border": 0.5}``.
    candidates
        Candidate points; default :func:`candidate_sites` with ``spacing``,
        ``min_spacing`` and ``zone_budget``.
    spacing
        Candidate grid spacing in metres.
    min_spacing
        Minimum distance in metres between any two stations.
    zone_budget
        Maximum number of new sites per zone name.
    region
        Where the plan looks for gaps: ``"study_area"``, ``"parks"``,
        ``"study_area+parks"`` or polygons (see :class:`PlanOptions`).
    hotspots
        Border-crossing hotspots (lines or points) with ``score_column``.
    score_column
        Column of ``hotspots`` with the (positive) rank score.
    threshold
        pdot threshold for the coverage area.
    density
        Animals per 100 km2 for ``E[n]``/``E[r]``; default
        ``params.density_per_100km2`` (without one: NaN counts, same sites).
    cell_size
        Mask cell size in metres (default sigma/2).
    buffer
        State-space buffer in metres (default 4sigma).
    session_start
        First day of the planned session (default: one year after the
        survey's first setup).
    session_days
        Session length in days (default: median operating days, else 90).
    existing_usage
        ``"session"`` or ``"observed"`` usage of the existing stations.
    detector
        ``"proximity"`` (binary per station and occasion) or ``"count"``.
    move
        Also move this many existing stations (least loss first).
    method
        ``"lazy"`` or ``"naive"`` greedy; both choose the same sites.
    swap_passes
        Maximum local-swap passes (0 disables).
    rng
        Seed or Generator for tie-breaking.
    progress
        Show a progress bar.
    max_memory_gb
        Memory budget in GiB checked before anything is built (``None``: no
        check).

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
    Efford & Boulanger (2019); Durbach et al. (2021).  See
    :mod:`trapscape.planning`.
    """
    fields = {k: v for k, v in locals().items() if k not in ("survey", "params")}
    options = PlanOptions(**fields)
    return _plan(survey, params, options)


# --------------------------------------------------------------------------- steps
# Warnings raised in a step function point at the caller of plan():
# step (1) <- _plan (2) <- plan (3) <- user (4).
_STEP_STACKLEVEL = 4


def _objective_weights(objectives: Mapping[str, float] | None) -> dict[str, float]:
    """Validated weight per objective name (absent objectives weigh 0)."""
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
    return weights


def _check_options(opts: PlanOptions) -> None:
    """Refuse counts, probabilities and choices out of their ranges."""
    if int(opts.n_new) < 0 or int(opts.move) < 0:
        raise InputError(
            f"n_new and move must be >= 0, got n_new={opts.n_new}, move={opts.move}."
        )
    if not 0 < opts.threshold < 1:
        raise InputError(
            f"threshold must be a probability in (0, 1), got {opts.threshold!r}."
        )
    choices = {
        "detector": ("proximity", "count"),
        "method": ("lazy", "naive"),
        "existing_usage": ("session", "observed"),
    }
    for name, allowed in choices.items():
        value = getattr(opts, name)
        if value not in allowed:
            quoted = " or ".join(f"'{a}'" for a in allowed)
            raise InputError(f"{name} must be {quoted}, got {value!r}.")


def _density_per_100km2(
    density: float | None, params: DetectionParams, weights: Mapping[str, float]
) -> tuple[float, bool]:
    """Density (animals per 100 km2) for E[n]/E[r] and whether it was given."""
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
                stacklevel=_STEP_STACKLEVEL,
            )
        dens_in = 1.0
    dens100 = float(dens_in)
    if not dens100 > 0:
        raise InputError(
            f"density must be positive (animals per 100 km2), got {dens100!r}."
        )
    return dens100, density_known


@dataclass(frozen=True)
class _Existing:
    """The survey's stations as the planner sees them."""

    ids: np.ndarray
    xy: np.ndarray
    days: np.ndarray  # usage assumed next season
    session_days: float  # usage of every planned station


def _existing_stations(survey: Survey, opts: PlanOptions) -> _Existing:
    """Existing stations, their usage next season and the session length."""
    st = survey.station_points
    xy = (
        np.column_stack([st.geometry.x, st.geometry.y]) if len(st) else np.zeros((0, 2))
    )
    observed = _observed_days(survey) if len(st) else pd.Series(dtype=float)
    obs_days = (
        observed.reindex(st[V.STATION_ID].astype(str)).fillna(0.0).to_numpy(dtype=float)
    )
    session_days = opts.session_days
    if session_days is None:
        pos = obs_days[obs_days > 0]
        session_days = float(max(1, round(float(np.median(pos))))) if len(pos) else 90.0
    if not session_days > 0:
        raise InputError(f"session_days must be positive, got {session_days!r}.")
    days = (
        obs_days
        if opts.existing_usage == "observed"
        else np.full(len(st), float(session_days))
    )
    if opts.move > len(st):
        raise InputError(
            f"move={opts.move} but the survey has only {len(st)} stations."
        )
    return _Existing(
        ids=st[V.STATION_ID].astype(str).to_numpy(),
        xy=xy,
        days=days,
        session_days=float(session_days),
    )


def _plan_candidates(survey: Survey, opts: PlanOptions) -> gpd.GeoDataFrame:
    """The candidates to choose from: the user's points or a grid."""
    if opts.candidates is None:
        # in move mode, sites near stations that may be removed stay candidates;
        # spacing to the stations that remain is enforced during selection
        cand = candidate_sites(
            survey,
            spacing=opts.spacing,
            min_spacing=0.0 if opts.move else opts.min_spacing,
            zone_budget=opts.zone_budget,
            region=opts.region,
        )
    else:
        given = opts.candidates
        require_projected(given.crs if given.crs is not None else None, "candidates")
        cand = given.to_crs(survey.crs).reset_index(drop=True).copy()
        if (cand.geometry.geom_type != "Point").any():
            raise GeometryError(
                "candidates must be points; use candidate_sites() to convert."
            )
        if CANDIDATE_ID not in cand.columns:
            cand.insert(0, CANDIDATE_ID, [f"C{i + 1:05d}" for i in range(len(cand))])
        if V.ZONE not in cand.columns:
            cand[V.ZONE] = survey.zone_of(cand.geometry).to_numpy()
    if len(cand) == 0:
        raise InputError("No candidate sites to choose from.")
    return cand


@dataclass(frozen=True)
class _Points:
    """Evaluation points (mask cells, then hotspot samples; one copy per sex)."""

    xy: np.ndarray
    w_cov: np.ndarray  # km2 of the planning region
    w_den: np.ndarray  # expected animals
    w_bor: np.ndarray  # hotspot weight, summing to 1
    n_mask: int  # mask cells per copy
    region: BaseGeometry
    classes: tuple[DetectionParams, ...]


def _evaluation_points(
    survey: Survey,
    params: DetectionParams,
    opts: PlanOptions,
    station_xy: np.ndarray,
    cand_xy: np.ndarray,
    grid: tuple[float, float, float],
    weights: dict[str, float],
) -> _Points:
    """Mask and hotspot points with their weights; drops an idle border weight.

    ``grid`` is ``(cell, buffer, density per 100 km2)``.  Sets
    ``weights["border"]`` to 0, with a warning, when there is nothing to watch.
    """
    cell, buf, dens100 = grid
    region_geom = _region(survey, None, opts.region)
    mask_xy, in_study, _state = _mask(
        survey, region_geom, station_xy, cand_xy, cell, buf
    )
    if len(mask_xy) == 0:
        raise ComputationError(f"The mask is empty; lower cell_size (now {cell} m).")
    hs_xy, hs_w = _hotspot_points(opts.hotspots, survey, opts.score_column, cell)
    if weights["border"] > 0 and len(hs_xy) == 0:
        warnings.warn(
            "The border objective has no hotspots and the survey no border; "
            "its weight is ignored.",
            TrapscapeWarning,
            stacklevel=_STEP_STACKLEVEL,
        )
        weights["border"] = 0.0
        if not any(weights.values()):
            raise InputError(
                "Only the border objective was asked for, but there are no "
                "hotspots and no survey border. Pass hotspots=."
            )
    n_mask = len(mask_xy)
    base_pts = np.vstack([mask_xy, hs_xy])
    w_cov = np.concatenate([in_study * (cell * cell / 1e6), np.zeros(len(hs_xy))])
    w_den = np.concatenate(
        [np.full(n_mask, dens100 / 1e8 * cell * cell), np.zeros(len(hs_xy))]
    )
    w_bor = np.concatenate([np.zeros(n_mask), hs_w])
    # sex-specific parameters: one copy of the points per sex, weighted by its share
    shares, classes = zip(*params.sex_classes(), strict=True)
    n_cls = len(classes)
    cls_w = np.repeat(np.asarray(shares, dtype=float), len(base_pts))
    w_cov, w_den, w_bor = (np.tile(w, n_cls) * cls_w for w in (w_cov, w_den, w_bor))
    return _Points(
        xy=np.vstack([base_pts] * n_cls),
        w_cov=w_cov,
        w_den=w_den,
        w_bor=w_bor,
        n_mask=n_mask,
        region=region_geom,
        classes=tuple(classes),
    )


@dataclass(frozen=True)
class _Layout:
    """Site rows of the engine: candidates, move copies, existing stations.

    Rows ``0..n_cand-1`` are the candidates; in move mode rows
    ``n_cand..n_cand+n_st-1`` are the existing stations as candidates (a
    removed station can be chosen back); the existing stations themselves
    follow from row ``ex0``.
    """

    xy: np.ndarray
    days: np.ndarray
    n_cand: int
    ex0: int
    ex_rows: np.ndarray
    zones: np.ndarray
    rank: np.ndarray


def _site_layout(
    cand: gpd.GeoDataFrame,
    existing: _Existing,
    move: int,
    gen: np.random.Generator,
) -> _Layout:
    """Coordinates, usage, zones and tie-break ranks of every site row."""
    c_xy = np.column_stack([cand.geometry.x, cand.geometry.y])
    n_c, n_st = len(c_xy), len(existing.xy)
    ex0 = n_c + n_st if move else n_c  # first existing-station row
    new_days = np.full(n_c, existing.session_days)
    if move:
        xy = np.vstack([c_xy, existing.xy, existing.xy])
        days = np.concatenate(
            [new_days, np.full(n_st, existing.session_days), existing.days]
        )
    else:
        xy = np.vstack([c_xy, existing.xy])
        days = np.concatenate([new_days, existing.days])
    zones = np.concatenate(
        [
            cand[V.ZONE].astype(object).where(cand[V.ZONE].notna(), None).to_numpy(),
            np.array([None] * (len(xy) - n_c), dtype=object),
        ]
    )
    # one permutation over the full layout (candidates, move copies,
    # existing), whether or not the move copies are built, so that ties break
    # the same way with and without them
    full_rank = gen.permutation(n_c + 2 * n_st)
    rank = np.empty(len(xy), dtype=np.int64)
    if move:
        rank[:] = full_rank
    else:
        rank[:] = np.concatenate([full_rank[:n_c], full_rank[n_c + n_st :]])
    return _Layout(
        xy=xy,
        days=days,
        n_cand=n_c,
        ex0=ex0,
        ex_rows=np.arange(ex0, ex0 + n_st),
        zones=zones,
        rank=rank,
    )


def _constraints(
    layout: _Layout, existing: _Existing, opts: PlanOptions
) -> _Constraints:
    """Spacing and budget bookkeeping with the existing stations in place."""
    budget = {str(k): int(v) for k, v in (opts.zone_budget or {}).items()}
    cons = _Constraints(layout.xy, layout.zones, float(opts.min_spacing), budget)
    # existing stations block their neighbourhood and themselves (as move candidates)
    for xy in existing.xy:
        cons.block(xy)
    # existing-station rows themselves are never addable as new candidates
    cons.blocked[layout.ex_rows] += 1
    return cons


def _objective_scales(eng: _Engine, n_cand: int) -> dict[str, float]:
    """Scale of each objective: the best single-candidate raw gain at the start."""
    g = {k: v[:n_cand] for k, v in eng.raw_gains().items()}
    m0 = eng.metrics()
    en = m0["E_n"] + g["d_en"]
    er = eng.etot + g["d_etot"] - en
    raw = {
        "coverage": g["d_thr"] + COVERAGE_SMOOTH_WEIGHT * g["d_sm"],
        "precision": np.minimum(en, er) - min(m0["E_n"], m0["E_r"]),
        "border": g["d_bor"],
    }
    scales = {}
    for k, arr in raw.items():
        top = float(np.max(arr)) if len(arr) else 0.0
        scales[k] = top if top > 1e-12 else 1.0
    return scales


def _remove_stations(
    eng: _Engine,
    cons: _Constraints,
    layout: _Layout,
    existing: _Existing,
    move: int,
) -> list[int]:
    """Move mode: remove ``move`` existing stations one by one, least loss first."""
    removed: list[int] = []
    present = [int(r) for r in layout.ex_rows]
    for _ in range(int(move)):
        base = eng.value()
        losses = []
        for row in present:
            eng.add(row, -1.0)
            losses.append(base - eng.value())
            eng.add(row)
        least = np.lexsort((layout.rank[present], np.round(losses, 10)))
        gone = present.pop(int(least[0]))
        eng.add(gone, -1.0)
        removed.append(gone)
        # frees its neighbourhood and its own location
        cons.block(existing.xy[gone - layout.ex0], -1)
    return removed


def _select(
    eng: _Engine,
    cons: _Constraints,
    layout: _Layout,
    removed_rows: list[int],
    opts: PlanOptions,
) -> tuple[list[int], int]:
    """Greedy selection then local swaps; returns the chosen rows and swap count."""
    n_c = layout.n_cand
    cand_rows = np.arange(n_c)
    if opts.move:
        # only removed stations' own locations are extra candidates
        n_st = len(layout.ex_rows)
        keep_extra = np.array([r - n_st for r in removed_rows], dtype=np.int64)
        cand_rows = np.concatenate([cand_rows, np.sort(keep_extra)])
    chosen: list[int] = []
    k_total = int(opts.n_new) + int(opts.move)
    _greedy(
        eng,
        cons,
        cand_rows,
        k_total,
        layout.rank,
        method=opts.method,
        chosen=chosen,
        progress=opts.progress,
    )
    if len(chosen) < k_total:
        warnings.warn(
            f"Only {len(chosen)} of {k_total} sites could be placed without breaking "
            f"the spacing ({opts.min_spacing} m) or zone budgets; lower min_spacing or "
            "add candidates.",
            TrapscapeWarning,
            stacklevel=_STEP_STACKLEVEL,
        )
    n_swaps = 0
    for _ in range(int(opts.swap_passes)):
        s = _swap_pass(eng, cons, cand_rows, chosen, layout.rank, list(chosen))
        n_swaps += s
        if s == 0:
            break
    return chosen, n_swaps


def _replay_gains(
    eng: _Engine, chosen: list[int], *, density_known: bool
) -> list[dict[str, float]]:
    """Marginal gains of the final set, each site added in selection order."""
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
    return replay


def _session_window(
    survey: Survey, opts: PlanOptions, session_days: float
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Setup and retrieval of the planned stations (noon, ``session_days`` apart)."""
    if opts.session_start is not None:
        start = pd.Timestamp(opts.session_start)
    elif len(survey.stations):
        start = survey.time_span[0] + pd.DateOffset(years=1)
    else:
        start = pd.Timestamp.now().normalize()
    if pd.isna(start):
        start = pd.Timestamp("2000-01-01")
    start = pd.Timestamp(start).normalize() + pd.Timedelta(hours=12)
    return start, start + pd.Timedelta(days=float(session_days))


def _mask_grid(
    survey: Survey, params: DetectionParams, opts: PlanOptions
) -> tuple[float, float]:
    """Mask cell size and state-space buffer, checked against the memory budget."""
    sigmas = [pk.sigma for _, pk in params.sex_classes()]
    cell = float(opts.cell_size) if opts.cell_size else min(sigmas) / 2.0
    buf = float(opts.buffer) if opts.buffer is not None else 4.0 * max(sigmas)
    _check_plan_memory(
        survey,
        opts.region,
        opts.candidates,
        opts.spacing,
        cell,
        buf,
        sigmas,
        len(survey.stations) if survey.stations is not None else 0,
        opts.max_memory_gb,
        cell_given=bool(opts.cell_size),
    )
    return cell, buf


def _layout_engine(pts: _Points, layout: _Layout, opts: PlanOptions) -> _Engine:
    """The hazard engine over all site rows, with the existing stations added."""
    eng = _Engine(
        pts.xy,
        pts.w_cov,
        pts.w_den,
        pts.w_bor,
        layout.xy,
        layout.days,
        pts.classes,
        detector=opts.detector,
        threshold=opts.threshold,
    )
    for r in layout.ex_rows:
        eng.add(int(r))
    return eng


def _label_summary(
    summary: pd.DataFrame,
    opts: PlanOptions,
    region: BaseGeometry,
    *,
    density_known: bool,
) -> None:
    """Record the region in ``summary.attrs``; blank counts of an unknown density."""
    summary.attrs["region"] = opts.region if isinstance(opts.region, str) else "custom"
    summary.attrs["region_km2"] = float(region.area) / 1e6
    if not density_known:
        summary.loc[
            summary["metric"].isin(["E_n", "E_r", "RSE"]), ["before", "after", "change"]
        ] = np.nan


def _plan(survey: Survey, params: DetectionParams, opts: PlanOptions) -> Plan:
    """Run the steps of :func:`plan` on validated options."""
    crs = require_projected(survey.crs, "survey")
    weights = _objective_weights(opts.objectives)
    _check_options(opts)
    dens100, density_known = _density_per_100km2(opts.density, params, weights)
    gen = np.random.default_rng(opts.rng)
    cell, buf = _mask_grid(survey, params, opts)

    existing = _existing_stations(survey, opts)
    cand = _plan_candidates(survey, opts)
    layout = _site_layout(cand, existing, opts.move, gen)
    pts = _evaluation_points(
        survey,
        params,
        opts,
        existing.xy,
        layout.xy[: layout.n_cand],
        (cell, buf, dens100),
        weights,
    )
    eng = _layout_engine(pts, layout, opts)
    before = _metrics_by_zone(eng, survey, pts.xy, pts.n_mask)
    cons = _constraints(layout, existing, opts)
    scales = _objective_scales(eng, layout.n_cand)
    eng.weights, eng.scale = weights, scales
    value_before = eng.value()

    removed_rows = (
        _remove_stations(eng, cons, layout, existing, opts.move) if opts.move else []
    )
    chosen, n_swaps = _select(eng, cons, layout, removed_rows, opts)
    value_after = eng.value()
    if opts.move:
        # moving must beat simply adding n_new sites; otherwise move nothing
        stay = _plan(survey, params, replace(opts, move=0))
        if stay.objective_after >= value_after - 1e-9:
            warnings.warn(
                f"Moving {opts.move} stations does not improve on adding "
                f"{opts.n_new} sites only; nothing is moved.",
                TrapscapeWarning,
                stacklevel=_STEP_STACKLEVEL - 1,
            )
            return stay
    after = _metrics_by_zone(eng, survey, pts.xy, pts.n_mask)
    replay = _replay_gains(eng, chosen, density_known=density_known)

    n_c, n_st = layout.n_cand, len(existing.xy)
    kept_back = {c for c in chosen if c >= n_c}
    removed = tuple(
        existing.ids[r - layout.ex0]
        for r in removed_rows
        if (r - n_st) not in kept_back
    )
    new_sites = [c for c in chosen if c < n_c]
    ids = _new_ids(len(new_sites), set(existing.ids))
    stations = _stations_frame(
        cand,
        new_sites,
        ids,
        _session_window(survey, opts, existing.session_days),
        order={c: i + 1 for i, c in enumerate(chosen)},
        crs=crs,
    )
    selection = _selection_frame(
        cand,
        chosen,
        replay,
        layout.xy,
        station_ids=dict(zip(new_sites, ids, strict=False)),
        existing_ids=existing.ids,
    )
    cand_out = cand.copy()
    cand_out["selected"] = np.isin(np.arange(n_c), np.asarray(new_sites, dtype=int))
    summary = _summary(
        before,
        after,
        n_st,
        n_st - len(removed) + len(new_sites),
        stations,
        survey,
        opts.threshold,
    )
    _label_summary(summary, opts, pts.region, density_known=density_known)
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
