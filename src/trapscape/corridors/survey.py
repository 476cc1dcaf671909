"""The survey-level driver: resistance, cores, least cost, circuit, hotspots."""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from .. import validation as V
from .._raster import GridSpec
from ..crs import require_projected
from ..errors import ComputationError, InputError, TrapscapeWarning
from ._grid import (
    as_grid,
    check_step_memory,
    corridor_stage_bytes,
    read_vector,
    snapped_cells,
)
from .border import (
    _border_between,
    border_hotspots,
    pair_crossings,
    survey_border,
)
from .circuit_theory import (
    CircuitResult,
    circuit,
)
from .cores import (
    cores_from,
)
from .leastcost import (
    LeastCostResult,
    least_cost_network,
)
from .omniscape import OmniscapeResult
from .omniscape.crossing import choose_method, empty_least_cost, omniscape_circuit
from .resistance import (
    resistance_from_project,
)

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["SurveyCorridors", "corridors_for_survey", "for_survey"]

logger = logging.getLogger(__name__)


def _survey_bounds(survey: Survey, extra: Iterable[Any], buffer: float) -> tuple:
    """Bounds of the survey layers and extra frames, grown by ``buffer``."""
    boxes = [
        np.asarray(layer.to_crs(survey.crs).total_bounds, dtype=float)
        for layer in (survey.study_area, survey.parks, survey.stations, *extra)
        if isinstance(layer, (gpd.GeoDataFrame, gpd.GeoSeries)) and len(layer)
    ]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    b = np.vstack(boxes)
    return (
        b[:, 0].min() - buffer,
        b[:, 1].min() - buffer,
        b[:, 2].max() + buffer,
        b[:, 3].max() + buffer,
    )


@dataclass(frozen=True)
class SurveyCorridors:
    """Everything :func:`for_survey` computes.

    Attributes
    ----------
    resistance
        The resistance surface.
    cores
        Core areas (``core_id``, ``name``, ``zone``, geometry).
    least_cost
        :class:`LeastCostResult` for the pairs of cores across the border.
    circuit
        :class:`CircuitResult` (None when ``circuit=False``); with
        ``method="omniscape"`` its current is the omnidirectional current
        and its pinch points those of the normalised current.
    hotspots
        Scored border segments (None without a border).
    pair_crossings
        Cost, length and crossing point of each pair's least-cost path.
    method
        Where the current and the hotspots come from: ``"leastcost"``
        (least-cost paths and pairwise circuit between cores) or
        ``"omniscape"`` (omnidirectional current, no cores needed).
    omniscape
        The :class:`~trapscape.corridors.omniscape.OmniscapeResult` (flow
        potential, normalised current) when ``method="omniscape"``.
    """

    resistance: xr.DataArray
    cores: gpd.GeoDataFrame
    least_cost: LeastCostResult
    circuit: CircuitResult | None
    hotspots: gpd.GeoDataFrame | None
    pair_crossings: pd.DataFrame
    method: str = "leastcost"
    omniscape: OmniscapeResult | None = None

    @property
    def paths(self) -> gpd.GeoDataFrame:
        """Least-cost paths."""
        return self.least_cost.paths

    @property
    def corridors(self) -> gpd.GeoDataFrame:
        """Least-cost corridor polygons."""
        return self.least_cost.corridors

    @property
    def current(self) -> xr.DataArray | None:
        """Cumulative current density."""
        return None if self.circuit is None else self.circuit.current


def _resolve_path(obj: Any, base_dir: Any, survey: Survey) -> Any:
    if not isinstance(obj, (str, os.PathLike)):
        return obj
    from pathlib import Path

    p = Path(obj)
    if p.is_absolute() or p.exists():
        return p
    folders = [Path(base_dir)] if base_dir is not None else []
    st = (survey.sources or {}).get("stations")
    if isinstance(st, (str, os.PathLike)):
        folders.append(Path(st).parent)
    for folder in folders:
        if (folder / p).exists():
            return folder / p
    return p


def for_survey(
    survey: Survey,
    *,
    rasters: Mapping[str, Any] | None = None,
    resistance: xr.DataArray | None = None,
    cores: gpd.GeoDataFrame | Sequence[Any] | None = None,
    resolution: float = 250.0,
    pairs: Literal["across", "all"] = "across",
    units: Literal["map", "cells"] = "map",
    width_cost: float | None = None,
    width_m: float | None = None,
    circuit_mode: Literal["pairwise", "one_to_all"] = "pairwise",
    mode: Literal["pairwise", "one_to_all"] | None = None,
    solver: Literal["auto", "cg_amg", "direct"] = "auto",
    max_memory_gb: float = 4.0,
    segment_length: float = 1000.0,
    pinch_quantile: float = 0.95,
    buffer: float = 5000.0,
    core_setback: float = 5000.0,
    run_circuit: bool = True,
    method: Literal["auto", "leastcost", "omniscape"] = "auto",
    omniscape_radius: float = 10000.0,
    omniscape_block_size: int | None = None,
    omniscape_options: Mapping[str, Any] | None = None,
    n_jobs: int = 1,
    base_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
) -> SurveyCorridors:
    """Resistance, least-cost corridors, current and border hotspots of a survey.

    Parameters
    ----------
    survey
        The survey (parks, zones, border and habitat are used).
    rasters
        ``{"landcover", "elevation", "settlements", "rivers"}`` for
        :func:`resistance_from_project` (ignored if ``resistance`` given).
    resistance
        A ready resistance surface.
    cores
        Core layers (GeoDataFrames or paths), or a frame from
        :func:`cores_from`.  Default: the survey's parks.
    resolution
        Cell size in metres of the resistance grid.
    pairs, units, width_cost, width_m
        See :func:`least_cost_network`.
    circuit_mode, mode
        Circuit mode (``mode`` is an alias used by the CLI).
    solver, pinch_quantile
        See :func:`circuit`.
    max_memory_gb
        Budget in GiB of the whole step (its largest stage: resistance,
        least-cost or circuit); a step over it is refused before any layer
        is read, naming the finest resolution that fits.
    segment_length
        Border segment length for :func:`border_hotspots`.
    buffer
        Margin in metres around the survey and cores for the grid.
    core_setback
        Cores are cut back to their parts at least this far (metres) from
        the border, so that the crossing zone is modelled rather than
        assumed (parks on both sides often touch the border; touching cores
        would give zero-length paths).  0 keeps them whole.
    run_circuit
        Also run circuit theory.
    method, omniscape_radius, omniscape_block_size
        Current from ``"leastcost"`` cores or ``"omniscape"`` (moving window
        of that radius in metres, blocks in cells, default ~radius / 4; see
        :mod:`.omniscape.crossing`); ``"auto"``: omniscape if cores touch.
        ``omniscape_options`` (the project's ``[omniscape]``) override them.
    n_jobs
        Processes for the circuit's unit-source solves (see :func:`circuit`).
    base_dir
        Folder for relative core paths (default: the working directory, then
        the folder of the survey's stations file).
    progress
        Progress bars.
    workers, scheduler
        Build the resistance and solve the omnidirectional windows on a
        dask.distributed cluster: a LocalCluster of ``workers`` processes or
        the scheduler at ``scheduler`` (``trapscape[dask]``); same results.

    Returns
    -------
    SurveyCorridors

    Raises
    ------
    InputError
        If no cores or no rasters are available.
    ComputationError
        If no pair of cores lies across the border, or if the whole step
        would need more than ``max_memory_gb`` (checked before any work).
    """
    require_projected(survey.crs, "survey CRS")
    step = {"solver": solver, "run_circuit": run_circuit}
    _check_run_memory(
        survey, resistance, cores, resolution, buffer, max_memory_gb, **step
    )
    no_cores = cores is None and (survey.parks is None or len(survey.parks) == 0)
    core_gdf = None if no_cores else _survey_cores(survey, cores, base_dir)
    chosen = choose_method(method, core_gdf, resolution)
    om: dict[str, Any] = {"radius_m": omniscape_radius, "progress": progress}
    om.update(workers=workers, scheduler=scheduler)
    om.update(block_size=omniscape_block_size, pinch_quantile=pinch_quantile)
    om.update(options=dict(omniscape_options or {}))
    if core_gdf is None:
        area = (rasters, resistance, resolution, buffer, max_memory_gb)
        return _omniscape_only(survey, chosen, area, segment_length, om)
    kw: dict[str, Any] = {"rasters": rasters, "resistance": resistance}
    kw.update(resolution=resolution, buffer=buffer, max_memory_gb=max_memory_gb)
    kw.update(pairs=pairs, units=units, width_cost=width_cost, width_m=width_m)
    kw.update(mode=mode or circuit_mode, solver=solver, n_jobs=n_jobs)
    kw.update(core_setback=core_setback, segment_length=segment_length)
    kw.update(run_circuit=run_circuit)
    return _with_cores(survey, core_gdf, chosen, om, kw)


def _with_cores(
    survey: Survey,
    core_gdf: gpd.GeoDataFrame,
    method: str,
    om: dict[str, Any],
    kw: dict[str, Any],
) -> SurveyCorridors:
    """Least-cost network between the cores, then current and hotspots."""
    _check_pairs_cross(core_gdf, kw["pairs"])
    core_gdf, border = _cores_off_border(survey, core_gdf, kw["core_setback"])
    _check_two_cores(core_gdf)
    step = {"solver": kw["solver"], "run_circuit": kw["run_circuit"]}
    resistance = _survey_resistance(
        survey,
        kw["rasters"],
        kw["resistance"],
        core_gdf,
        kw["resolution"],
        kw["buffer"],
        kw["max_memory_gb"],
        dask={k: om[k] for k in ("workers", "scheduler", "progress")},
        **step,
    )
    grid = as_grid(resistance)
    lc = least_cost_network(
        resistance,
        core_gdf,
        pairs=kw["pairs"],
        units=kw["units"],
        width_cost=kw["width_cost"],
        width_m=kw["width_m"],
        progress=om["progress"],
    )
    seg = kw["segment_length"]
    pair_kw = {"mode": kw["mode"], "solver": kw["solver"], "n_jobs": kw["n_jobs"]}
    pair_kw.update(max_memory_gb=kw["max_memory_gb"], progress=om["progress"])
    pair_kw.update(pinch_quantile=om["pinch_quantile"])
    if method == "omniscape" and kw["run_circuit"]:
        # effective resistances between the cores still come from the pairs
        pair = _pair_circuit(resistance, core_gdf, lc, current=False, **pair_kw)
        ocirc, omni = omniscape_circuit(resistance, **om)
        ocirc = replace(ocirc, resistances=pair.resistances, node_ids=pair.node_ids)
        hot, crossings = _border_results(
            border, grid, lc, ocirc, seg, omni.flow_potential
        )
        return SurveyCorridors(
            resistance, core_gdf, lc, ocirc, hot, crossings, "omniscape", omni
        )
    circ = (
        _pair_circuit(resistance, core_gdf, lc, **pair_kw)
        if kw["run_circuit"]
        else None
    )
    hot, crossings = _border_results(border, grid, lc, circ, seg)
    return SurveyCorridors(resistance, core_gdf, lc, circ, hot, crossings)


def _omniscape_only(
    survey: Survey,
    method: str,
    area: tuple[Any, Any, float, float, float],
    segment_length: float,
    om: dict[str, Any],
) -> SurveyCorridors:
    """Without cores: omnidirectional current over the survey's extent."""
    if method != "omniscape":
        raise InputError(
            "No core areas: the survey has no parks. Give cores (e.g. --cores "
            "china_sector.gpkg or [corridors] cores = [...]) or use method = "
            "'omniscape', which needs none."
        )
    rasters, resistance, resolution, buffer, max_memory_gb = area
    if resistance is None:
        resistance = resistance_from_project(
            survey,
            dict(rasters or {}),
            resolution=resolution,
            extent=survey.study_area,
            buffer=buffer,
            max_memory_gb=max_memory_gb,
            workers=om["workers"],
            scheduler=om["scheduler"],
            progress=om["progress"],
        )
    grid = as_grid(resistance)
    circ, omni = omniscape_circuit(resistance, **om)
    lc = empty_least_cost(resistance)
    border = survey_border(survey)
    hot, crossings = _border_results(
        border, grid, lc, circ, segment_length, omni.flow_potential
    )
    cores = gpd.GeoDataFrame({"core_id": [], "name": []}, geometry=[], crs=grid.crs)
    return SurveyCorridors(
        resistance, cores, lc, circ, hot, crossings, "omniscape", omni
    )


def _check_run_memory(
    survey: Survey,
    resistance: xr.DataArray | None,
    cores: Any,
    resolution: float,
    buffer: float,
    max_memory_gb: float,
    **step: Any,
) -> None:
    """Refuse a step that cannot fit before any layer is read.

    The estimate is that of the whole step, its largest stage
    (:func:`._grid.corridor_stage_bytes`: resistance, least-cost surfaces,
    circuit solve with its multigrid hierarchy), and the advised resolution
    is the finest whose whole estimate fits.  ``step`` holds ``n_cores``,
    ``solver`` and ``run_circuit``.
    """
    n_cores = int(step.get("n_cores") or _known_core_count(survey, cores))
    kw = {
        "solver": step.get("solver", "auto"),
        "run_circuit": step.get("run_circuit", True),
    }

    def need_at(n: int) -> float:
        return max(corridor_stage_bytes(n, n_cores, **kw).values())

    if resistance is None:
        extra = cores if isinstance(cores, list) else [cores]
        bounds = _survey_bounds(survey, extra, buffer)
        check_step_memory(
            lambda cell: snapped_cells(bounds, cell),
            resolution,
            need_at,
            what=f"the corridor grid at {resolution:g} m",
            max_memory_gb=max_memory_gb,
        )
        return
    g = as_grid(resistance)
    extent = (g.width * g.cell, g.height * g.cell)
    check_step_memory(
        lambda cell: math.ceil(extent[0] / cell) * math.ceil(extent[1] / cell),
        g.cell,
        need_at,
        what="the resistance grid given",
        max_memory_gb=max_memory_gb,
        resample=True,
    )


def _known_core_count(survey: Survey, cores: Any) -> int:
    """Cores known before any file is read (the parks, or a given frame)."""
    if cores is None:
        return len(survey.parks) if survey.parks is not None else 2
    if isinstance(cores, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return len(cores)
    return 2


def _survey_resistance(
    survey: Survey,
    rasters: Mapping[str, Any] | None,
    resistance: xr.DataArray | None,
    core_gdf: gpd.GeoDataFrame,
    resolution: float,
    buffer: float,
    max_memory_gb: float,
    dask: Mapping[str, Any] | None = None,
    **step: Any,
) -> xr.DataArray:
    """The given resistance, or one from the project's layers over the cores."""
    # the cores are known now (files read, cut back): check the whole step
    # with them too, before any raster is read
    _check_run_memory(
        survey,
        resistance,
        core_gdf,
        resolution,
        buffer,
        max_memory_gb,
        n_cores=len(core_gdf),
        **step,
    )
    if resistance is not None:
        return resistance
    return resistance_from_project(
        survey,
        dict(rasters or {}),
        resolution=resolution,
        extent=core_gdf,
        buffer=buffer,
        max_memory_gb=max_memory_gb,
        **dict(dask or {}),
    )


def _check_pairs_cross(core_gdf: gpd.GeoDataFrame, pairs: str) -> None:
    """Refuse ``pairs="across"`` when every core lies in one known zone."""
    if (
        pairs == "across"
        and V.ZONE in core_gdf
        and core_gdf[V.ZONE].notna().all()
        and core_gdf[V.ZONE].nunique() < 2
    ):
        raise ComputationError(
            f"All cores lie in {core_gdf[V.ZONE].iloc[0]}; no pair crosses the border. "
            "Add cores on the other side (e.g. --cores china_sector.gpkg) or use "
            "pairs='all'."
        )


def _survey_cores(survey: Survey, cores: Any, base_dir: Any) -> gpd.GeoDataFrame:
    """Core areas: the given frame, layers or paths, or the survey's parks."""
    if cores is None:
        if survey.parks is None or len(survey.parks) == 0:
            raise InputError(
                "No core areas: the survey has no parks. Give cores (e.g. "
                "--cores china_sector.gpkg or [corridors] cores = [...])."
            )
        return cores_from(survey.parks, survey=survey)
    if isinstance(cores, gpd.GeoDataFrame) and "core_id" in cores.columns:
        return cores.to_crs(survey.crs)
    layers = (
        [cores]
        if isinstance(cores, (gpd.GeoDataFrame, gpd.GeoSeries, str, os.PathLike))
        else list(cores)
    )
    layers = [_resolve_path(c, base_dir, survey) for c in layers]
    return cores_from(*[read_vector(c) for c in layers], survey=survey)


def _cores_off_border(
    survey: Survey, core_gdf: gpd.GeoDataFrame, core_setback: float
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The border between the cores' zones, and the cores cut back from it.

    Cores are cut to their parts at least ``core_setback`` metres from the
    border; cores left empty are dropped with a warning.
    """
    border = survey_border(survey)
    if border is None:
        return core_gdf, None
    zone_set = set(core_gdf[V.ZONE].dropna()) if V.ZONE in core_gdf else set()
    border = _border_between(border, survey, zone_set)
    if not core_setback > 0:
        return core_gdf, border
    band = border.geometry.buffer(core_setback).union_all()
    cut = core_gdf.geometry.difference(band)
    keep = ~cut.is_empty
    if not keep.all():
        lost = core_gdf.loc[~keep, "core_id"].tolist()
        warnings.warn(
            f"Cores {lost} lie within core_setback={core_setback:g} m of the "
            "border and were dropped; lower core_setback to keep them.",
            TrapscapeWarning,
            stacklevel=3,
        )
    return core_gdf.set_geometry(cut)[keep].reset_index(drop=True), border


def _pair_circuit(
    resistance: xr.DataArray,
    core_gdf: gpd.GeoDataFrame,
    lc: LeastCostResult,
    **options: Any,
) -> CircuitResult:
    """Circuit between the cores that belong to a least-cost pair."""
    used = sorted(set(lc.paths["core_a"]) | set(lc.paths["core_b"]))
    return circuit(resistance, core_gdf[core_gdf["core_id"].isin(used)], **options)


def _check_two_cores(core_gdf: gpd.GeoDataFrame) -> None:
    if len(core_gdf) < 2:
        raise InputError(
            f"Need at least two core areas, got {len(core_gdf)}. Add cores "
            "on the other side of the border."
        )


def _border_results(
    border: gpd.GeoDataFrame | None,
    grid: GridSpec,
    lc: LeastCostResult,
    circ: CircuitResult | None,
    segment_length: float,
    flow_potential: xr.DataArray | None = None,
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame]:
    """Border hotspots (None without a border on the grid) and pair crossings."""
    hot = None
    crossings = pair_crossings(lc.paths, border if border is not None else [])
    if border is None:
        warnings.warn(
            "The survey has no border or zones; border hotspots are skipped.",
            TrapscapeWarning,
            stacklevel=3,
        )
        return hot, crossings
    from shapely.geometry import box

    clipped = border.clip(box(*grid.bounds))
    if len(clipped) and not clipped.geometry.is_empty.all():
        # omnidirectional: ranked by its current and flow-potential ratio only
        omni = flow_potential is not None
        hot = border_hotspots(
            border,
            current=None if circ is None else circ.current,
            paths=None if omni else lc.paths,
            corridors=None if omni else lc.corridors,
            detour=None if omni else lc.detour,
            flow_potential=flow_potential,
            segment_length=segment_length,
        )
        if circ is not None:
            hot["method"] = circ.mode if circ.mode == "omniscape" else "leastcost"
        crossings = pair_crossings(lc.paths, border, segments=hot)
    return hot, crossings


#: The name used before the package split (the pipeline and the CLI call it).
corridors_for_survey = for_survey
