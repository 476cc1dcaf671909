"""The planner: propose new camera sites for a survey.

:func:`plan` runs the steps of a plan: resolve the options, gather the
existing stations and the candidates, build the evaluation points and the
hazard engine, (move mode) remove stations, select sites greedily, swap,
and assemble a :class:`Plan`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from .export import _summary
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
    from ..survey import Survey

__all__ = ["Plan", "plan"]

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
