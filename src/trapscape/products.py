"""What one run produced, as a typed record handed from the pipeline to the renderers.

:class:`RunProducts` is the contract between :mod:`trapscape.pipeline` (which
fills it, step by step) and the presentation layer (maps, report, figures),
which only reads it.  Every field is optional: a step that was switched off,
skipped or failed leaves its fields at ``None``.  In public mode the pipeline
hands the renderers a copy in which
per-individual and exact-location fields are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import xarray as xr

    from .detection import DetectionParams

__all__ = ["RunProducts"]


@dataclass
class RunProducts:
    """Results of the steps of one run (``None`` where a step did not run).

    Attributes
    ----------
    summary
        ``Survey.summary()`` (validate step).
    individual_zones
        Per individual, the zones (countries) it was detected in.
    population
        Individuals per zone and cross-border counts (a table).
    surveyed_zones
        Names of the zones (countries) holding at least one station, from the
        exact station locations (the report gives numbers for these only, in
        the public version too).
    effort
        The :class:`~trapscape.effort.EffortReport`.
    stations
        Stations layer: one point per station with trap-nights and detections.
    station_cells
        Public mode: stations aggregated to grid cells (replaces ``stations``).
    trap_nights
        Total trap-nights of the survey.
    coverage_grid, coverage_stats, gaps
        Coverage grid (polygons), its statistics per region, coverage gaps.
    pdot, pdot_summary
        Detection-probability surface (``xarray.DataArray``) and its summary.
    density_fit, detection, density, density_estimates, region_n
        The SCR fit object, its detection parameters, its JSON summary, the
        table of estimates and abundance per region.
    sessions
        The multi-session models of the sessions step
        (:class:`trapscape.density.multisurvey.SessionModels`; no locations).
    density_surfaces
        AIC table of the density surfaces (``[density] surfaces``).
    ranges, cross_border, cross_border_population, straddling, straddling_areas
        Home-range polygons, the cross-border result, its population table,
        ranges that straddle zones (public mode: their count) and, in public
        mode, summary statistics of their areas.
    cores, corridor_paths, corridors, border_hotspots, pinch_points
        Corridor layers.
    resistance, current
        Resistance surface and circuit current.
    proposed, plan_summary
        Proposed stations (public mode: cells) and the plan summary.
    design_evaluation
        Bias, RSE and coverage per design by simulation
        (:func:`trapscape.planning.evaluate_plan`), when requested.
    reserve
        Candidate reserve polygons with areas per zone.
    figures, figure_png
        Written figure files and their PNG bytes by name (for inlining).
    public_cell
        Public mode: the generalisation cell in metres.
    """

    summary: dict[str, Any] | None = None
    individual_zones: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    surveyed_zones: list[str] | None = None
    effort: Any = None
    stations: gpd.GeoDataFrame | None = None
    station_cells: gpd.GeoDataFrame | None = None
    trap_nights: float | None = None
    coverage_grid: gpd.GeoDataFrame | None = None
    coverage_stats: pd.DataFrame | None = None
    gaps: gpd.GeoDataFrame | None = None
    pdot: xr.DataArray | None = None
    pdot_summary: pd.DataFrame | None = None
    density_fit: Any = None
    detection: DetectionParams | None = None
    density: dict[str, Any] | None = None
    density_estimates: pd.DataFrame | None = None
    region_n: pd.DataFrame | None = None
    sessions: Any = None
    density_surfaces: pd.DataFrame | None = None
    ranges: gpd.GeoDataFrame | None = None
    cross_border: Any = None
    cross_border_population: pd.DataFrame | None = None
    straddling: pd.DataFrame | int | None = None
    straddling_areas: dict[str, float] | None = None
    cores: gpd.GeoDataFrame | None = None
    corridor_paths: gpd.GeoDataFrame | None = None
    corridors: gpd.GeoDataFrame | None = None
    border_hotspots: gpd.GeoDataFrame | None = None
    pinch_points: gpd.GeoDataFrame | None = None
    resistance: xr.DataArray | None = None
    current: xr.DataArray | None = None
    proposed: gpd.GeoDataFrame | None = None
    plan_summary: pd.DataFrame | None = None
    design_evaluation: pd.DataFrame | None = None
    reserve: gpd.GeoDataFrame | None = None
    figures: list[str] = field(default_factory=list)
    figure_png: dict[str, bytes] = field(default_factory=dict)
    public_cell: float | None = None

    def present(self) -> list[str]:
        """Names of the fields that hold a result (not ``None`` or empty)."""
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or (isinstance(v, (list, dict)) and not v):
                continue
            out.append(f.name)
        return out

    def copy(self, **changes: Any) -> RunProducts:
        """A shallow copy with ``changes`` applied."""
        return replace(self, **changes)
