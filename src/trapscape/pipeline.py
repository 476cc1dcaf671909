"""The main job: one call from a survey project file to maps and a report.

:func:`run_project` reads a project file (see :mod:`trapscape.project`) and
runs, in order::

    validate -> effort -> coverage -> density -> pdot -> homerange
             -> corridors -> plan -> reserve -> figures -> map -> report

Each step can be switched off in the project's ``[steps]`` section (effort
and pdot follow ``coverage``; reserve and figures follow ``report``) and
takes its parameters from its own section (``[coverage]``, ``[density]``,
...), whose keys are the keyword names of the step's library functions.
Where a section is silent, :data:`PIPELINE_DEFAULTS` keeps the bundled
example fast (2 km coverage cells, pdot and corridors at 500 m).  Results
are written into a temporary sibling of the output directory, which is
renamed into place only when the run has finished, so an interrupted run
never leaves half-written outputs.  ``manifest.json`` records input
checksums, parameters, package versions, per-step status and timings, and
the seed.

A step that cannot be computed on the data (for example a density model with
too few recaptures) is recorded as ``"failed"`` with the reason and the run
goes on; invalid input aborts the run before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import __version__, corridors, coverage, density, effort, homerange, planning
from . import validation as V
from ._steps import (
    RUN_DEFAULTS,
    STEP_SECTIONS,
    STEP_SWITCH,
    STEPS,
    accepted,
    check_sections,
)
from .detection import resolve_detection
from .effort import station_table
from .errors import (
    InputError,
    MissingDependencyError,
    TrapscapeError,
    TrapscapeWarning,
)
from .project import load_project

if TYPE_CHECKING:
    import geopandas as gpd

    from .survey import Survey

__all__ = [
    "STEPS",
    "RunResult",
    "StepRecord",
    "load_results",
    "resolve_detection",
    "run_project",
    "run_survey",
    "station_table",
]

logger = logging.getLogger(__name__)

#: Where a section is silent, the step table's run defaults apply.
PIPELINE_DEFAULTS = RUN_DEFAULTS
STEP_SECTION: dict[str, str] = dict(STEP_SWITCH)

_VERSIONS_OF = (
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "rasterio",
    "xarray",
    "rioxarray",
    "scikit-image",
    "pyamg",
    "matplotlib",
    "folium",
    "branca",
)


@dataclass
class StepRecord:
    """Outcome of one step.

    Attributes
    ----------
    status
        ``"ok"``, ``"skipped"`` (switched off), ``"not available"`` (module
        not installed), ``"failed"`` (could not be computed on this data).
    seconds
        Wall-clock time.
    message
        Reason for a skip or failure, or a short summary.
    outputs
        Output files, relative to the output directory.
    """

    status: str
    seconds: float = 0.0
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_project` produced.

    Attributes
    ----------
    out_dir
        The output directory.
    steps
        Per-step records, in execution order.
    manifest
        The content of ``manifest.json``.
    """

    out_dir: Path
    steps: dict[str, StepRecord]
    manifest: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        """Every file written, sorted."""
        return sorted(p for p in self.out_dir.rglob("*") if p.is_file())


# --------------------------------------------------------------------- context
@dataclass
class _Context:
    """Mutable state shared by the steps of one run (internal)."""

    survey: Survey
    public_survey: Survey | None
    params: dict[str, dict[str, Any]]
    stage: Path
    seed: int
    public: bool
    public_cell: float
    offline: bool
    inputs: dict[str, Path]
    progress: bool
    products: dict[str, Any] = field(default_factory=dict)
    records: dict[str, StepRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    project_dir: Path | None = None

    @property
    def shown_survey(self) -> Survey:
        """The survey whose locations may appear in outputs."""
        return self.public_survey if self.public_survey is not None else self.survey

    def path(self, name: str) -> Path:
        p = self.stage / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


class _NotAvailable(Exception):
    """An optional dependency of a step is not installed."""


class _Skip(Exception):
    """The step has nothing to do on this data (recorded as skipped)."""


def _call(
    fn: Callable[..., Any],
    *args: Any,
    options: Mapping[str, Any] | None = None,
    **fixed: Any,
) -> Any:
    """Call ``fn`` with the ``options`` it accepts plus ``fixed`` keywords it accepts."""
    acc = accepted(fn)
    kw = {}
    for source in (dict(options or {}), fixed):
        for k, v in source.items():
            if acc is None or k in acc:
                kw[k] = v
    return fn(*args, **kw)


def _check_params(
    params: Mapping[str, Any], project_path: str | None
) -> dict[str, dict[str, Any]]:
    """Check step sections and the [steps] switches (the step table's rule)."""
    return check_sections(params, project_path)


# --------------------------------------------------------------------- writers
def _gpkg_env() -> Any:
    """Fixed GeoPackage timestamps so identical runs give identical files."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00Z"})


def _write_layer(
    ctx: _Context, gdf: gpd.GeoDataFrame, layer: str, name: str = "results.gpkg"
) -> str:
    import geopandas as gpd

    _gpkg_env()
    gdf = gdf.copy()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        s = gdf[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            gdf[col] = (
                s.astype("string")
                if s.map(lambda v: isinstance(v, (str, type(None))) or v is pd.NA).all()
                else s.astype(str)
            )
        elif pd.api.types.is_timedelta64_dtype(s):
            gdf[col] = s.dt.total_seconds() / 86400.0
    gdf = gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)
    gdf.to_file(ctx.path(name), layer=layer, driver="GPKG", engine="pyogrio")
    return name


def _write_csv(ctx: _Context, df: pd.DataFrame, name: str) -> str:
    df = pd.DataFrame(df)
    if "geometry" in df.columns:
        df = df.drop(columns="geometry")
    df.to_csv(ctx.path(name), index=False, float_format="%.12g", lineterminator="\n")
    return name


def _write_json(ctx: _Context, obj: Any, name: str) -> str:
    ctx.path(name).write_text(
        json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return name


def _write_tif(ctx: _Context, da: Any, name: str) -> str:
    from ._raster import write_geotiff

    write_geotiff(da, ctx.path(name))
    return name


def _jsonable(obj: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if not np.isfinite(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (pd.Timestamp, pd.Timedelta)):
        return str(obj)
    if obj is pd.NA or obj is None:
        return None
    if isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def _step_validate(ctx: _Context) -> str:
    summary = ctx.survey.summary()
    if ctx.public:
        summary = {
            k: v
            for k, v in summary.items()
            if k not in ("first_setup", "last_retrieval")
        }
    ctx.products["summary"] = summary
    from .report import _zone_population, individuals_by_zone

    by_zone = individuals_by_zone(ctx.survey)
    ctx.products["individual_zones"] = by_zone
    ctx.products["population"] = _zone_population(by_zone)
    rec_out = ctx.records["validate"].outputs
    rec_out.append(
        _write_csv(ctx, ctx.products["population"], "individuals_by_country.csv")
    )
    if not ctx.public:
        rec_out.append(_write_csv(ctx, by_zone, "individuals_detected_zones.csv"))
    ctx.records["validate"].outputs.append(
        _write_json(ctx, summary, "survey_summary.json")
    )
    return f"{summary['stations']} stations, {summary['sightings']} sightings"


def _tab(df: Any) -> pd.DataFrame:
    df = pd.DataFrame(df)
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    return df


def _step_effort(ctx: _Context) -> str:
    opts = {**ctx.params.get("coverage", {}), **ctx.params.get("effort", {})}
    rep = _call(effort.effort_report, ctx.survey, options=opts)
    ctx.products["effort"] = rep
    stations = station_table(ctx.survey, rep)
    ctx.products["stations"] = stations
    rec = ctx.records["effort"]
    if ctx.public:
        from .privacy import aggregate_points

        cells = aggregate_points(
            stations,
            cell=ctx.public_cell,
            sums=("trap_nights", "detections"),
            as_polygons=True,
        )
        rec.outputs.append(_write_csv(ctx, cells, "effort/effort_per_cell.csv"))
        rec.outputs.append(_write_layer(ctx, cells, "station_cells"))
        tables: tuple[str, ...] = ("per_zone", "total")
    else:
        tables = ("per_camera", "per_station", "per_zone", "total")
        rec.outputs.append(_write_layer(ctx, stations, "stations"))
    for attr in tables:
        tab = getattr(rep, attr, None)
        if tab is not None:
            rec.outputs.append(_write_csv(ctx, _tab(tab), f"effort/effort_{attr}.csv"))
    total = _tab(rep.total)
    tn = (
        float(total["trap_nights"].iloc[0])
        if "trap_nights" in total.columns and len(total)
        else float(stations.get("trap_nights", pd.Series([0.0])).sum())
    )
    ctx.products["trap_nights"] = tn
    return f"{tn:.0f} trap-nights"


def _detection_params(ctx: _Context) -> Any:
    """The fitted parameters of the density step, else :func:`resolve_detection`."""
    dp = ctx.products.get("detection")
    if dp is not None:
        return dp
    return resolve_detection(
        None, ctx.params.get("detection", {}), base=ctx.project_dir
    )


def _step_coverage(ctx: _Context) -> str:
    cov = coverage
    opts = ctx.params.get("coverage", {})
    survey = ctx.shown_survey  # public: computed on generalised stations
    rec = ctx.records["coverage"]
    # the effort report describes the exact stations; public runs use generalised ones
    report = None if ctx.public else ctx.products.get("effort")
    grid = _call(cov.coverage_grid, survey, options=opts, report=report)
    ctx.products["coverage_grid"] = grid
    rec.outputs.append(_write_layer(ctx, grid, "coverage_grid"))
    stats = _call(cov.coverage_stats, survey, grid, options=opts, report=report)
    ctx.products["coverage_stats"] = stats
    rec.outputs.append(_write_csv(ctx, _tab(stats), "coverage/coverage_stats.csv"))
    g = _call(cov.gaps, survey, options=opts, report=report)
    if g is not None and len(g):
        ctx.products["gaps"] = g
        rec.outputs.append(_write_layer(ctx, g, "coverage_gaps"))
    return f"{len(grid)} cells of the coverage grid"


def _step_pdot(ctx: _Context) -> str:
    """Detection-probability surface, after density so it uses the fitted parameters."""
    cov = coverage
    opts = ctx.params.get("coverage", {})
    survey = ctx.shown_survey
    rec = ctx.records["pdot"]
    dp = _detection_params(ctx)
    pdot = _call(cov.pdot_surface, survey, dp, options=opts, progress=ctx.progress)
    ctx.products["pdot"] = pdot
    rec.outputs.append(_write_tif(ctx, pdot, "pdot.tif"))
    summ = cov.pdot_summary(survey, pdot)
    ctx.products["pdot_summary"] = summ
    rec.outputs.append(_write_csv(ctx, _tab(summ), "coverage/pdot_summary.csv"))
    src = "fitted" if ctx.products.get("detection") is not None else "assumed"
    return f"{pdot.sizes['y']}x{pdot.sizes['x']} cells, {src} detection parameters"


def _step_density(ctx: _Context) -> str:
    opts = ctx.params.get("density", {})
    fit = _call(density.fit_survey, ctx.survey, options=opts)
    ctx.products["density_fit"] = fit
    ctx.products["detection"] = fit.detection_params()
    summary = fit.to_dict()
    # wall-clock time would make identical runs differ; it is in the manifest
    if isinstance(summary.get("optimizer"), dict):
        summary["optimizer"].pop("seconds", None)
    ctx.products["density"] = summary
    ctx.products["density_estimates"] = _tab(fit.estimates)
    if getattr(fit, "region_n", None) is not None and len(fit.region_n):
        ctx.products["region_n"] = _tab(fit.region_n)
    rec = ctx.records["density"]
    rec.outputs.append(_write_json(ctx, summary, "density/density.json"))
    rec.outputs.append(
        _write_csv(ctx, ctx.products["density_estimates"], "density/estimates.csv")
    )
    from .report import _zones_with_stations

    surveyed = _zones_with_stations(ctx.survey)
    if "region_n" in ctx.products:
        rec.outputs.append(
            _write_csv(
                ctx,
                _region_n_notes(ctx.products["region_n"], surveyed),
                "density/region_n.csv",
            )
        )
    from .detection import write_detection

    write_detection(ctx.products["detection"], ctx.path("density/detection.json"))
    rec.outputs.append("density/detection.json")
    est = ctx.products["density_estimates"]
    d_rows = est[est["parameter"].astype(str).str.startswith("D")]
    if len(d_rows) == 1:
        return f"D = {float(d_rows['estimate'].iloc[0]):.3g} per 100 km2"
    # zone models: one density per zone, D[<zone>]; zones without stations
    # are extrapolations and are not named in the summary line
    shown, hidden = [], 0
    for p, v in zip(d_rows["parameter"].astype(str), d_rows["estimate"], strict=True):
        zone = p.removeprefix("D[").removesuffix("]")
        if surveyed is not None and zone not in surveyed:
            hidden += 1
        else:
            shown.append(f"{zone} {float(v):.3g}")
    extra = f" ({hidden} zone(s) without stations: see the report)" if hidden else ""
    return "D per 100 km2: " + ", ".join(shown) + extra


def _region_n_notes(rn: pd.DataFrame, surveyed: set[str] | None) -> pd.DataFrame:
    """region_n with a ``note`` column saying which numbers to read how."""
    rn = rn.copy()
    if "region" not in rn.columns or "quantity" not in rn.columns:
        return rn
    from .report import holds_whole_population

    region = rn["region"].astype(str)
    q = rn["quantity"].astype(str)
    part = ~holds_whole_population(rn)
    note = pd.Series("", index=rn.index, dtype=object)
    note[part & (q == "R.N")] = (
        "secr's R.N counts every detected animal, wherever it lives; for this "
        "region read R.N.local"
    )
    if surveyed is not None:
        zone = region.str.extract(r"^zone: (.+)$")[0]
        off = zone.notna() & ~zone.isin(sorted(surveyed))
        note[off] = "no station in this zone: an extrapolation, not an estimate"
    rn["note"] = note
    return rn


def _step_homerange(ctx: _Context) -> str:
    hr = homerange
    opts = dict(ctx.params.get("homerange", {}))
    method = opts.pop("method", "kde")
    if method not in ("kde", "mcp"):
        raise InputError(f"[homerange] method = {method!r}: use 'kde' or 'mcp'.")
    fn = getattr(hr, method)
    res = _call(fn, ctx.survey, options=opts, progress=ctx.progress)
    ranges = res if hasattr(res, "geometry") else res.isopleths
    if ranges is None or len(ranges) == 0:
        excluded = getattr(res, "excluded", None)
        n_ex = 0 if excluded is None else len(excluded)
        raise _Skip(f"no individual met the home-range rules ({n_ex} excluded)")
    ctx.products["ranges"] = ranges
    rec = ctx.records["homerange"]
    excluded = getattr(res, "excluded", None)
    if excluded is not None and len(excluded) and not ctx.public:
        rec.outputs.append(_write_csv(ctx, _tab(excluded), "homerange/excluded.csv"))
    cb = _call(hr.cross_border, ctx.survey, res, options=opts)
    ctx.products["cross_border"] = cb
    ctx.products["cross_border_population"] = _tab(cb.population)
    rec.outputs.append(
        _write_csv(ctx, _tab(cb.population), "homerange/cross_border_population.csv")
    )
    if not ctx.public:
        rec.outputs.append(
            _write_csv(
                ctx, _tab(cb.individuals), "homerange/cross_border_individuals.csv"
            )
        )
        rec.outputs.append(
            _write_csv(ctx, _tab(cb.crossings), "homerange/crossings.csv")
        )
    from .report import straddling_ranges

    if ctx.survey.zones is not None and len(ctx.survey.zones):
        pct = float(ctx.params.get("report", {}).get("percent", 95.0))
        strad = straddling_ranges(ctx.survey, ranges, percent=pct)
        ctx.products["straddling"] = strad
        if not ctx.public:
            rec.outputs.append(
                _write_csv(ctx, strad, "homerange/straddling_ranges.csv")
            )
    if not ctx.public:
        import geopandas as gpd

        layer = ranges
        if ctx.survey.zones is not None and len(ctx.survey.zones):
            # per-country areas, as `trapscape homerange` writes them
            areas = hr.zone_areas(ranges, ctx.survey.zones)
            areas = areas[[c for c in areas.columns if c not in ranges.columns]]
            layer = pd.concat([ranges, areas], axis=1)
            layer = gpd.GeoDataFrame(
                layer, geometry=ranges.geometry.name, crs=ranges.crs
            )
        rec.outputs.append(_write_layer(ctx, layer, "home_ranges"))
        rec.outputs.append(_write_csv(ctx, layer, "homerange/home_range_areas.csv"))
    n = (
        ranges[V.INDIVIDUAL_ID].nunique()
        if V.INDIVIDUAL_ID in ranges.columns
        else len(ranges)
    )
    return f"{n} individuals"


def _step_corridors(ctx: _Context) -> str:
    fn = corridors.corridors_for_survey
    opts = dict(ctx.params.get("corridors", {}))
    rasters = dict(ctx.params.get("rasters", {}))
    if not rasters and "resistance" not in opts:
        raise _Skip(
            "no [rasters] in the project file to build a resistance surface from"
        )
    base = ctx.project_dir
    cores = opts.pop("cores", None)
    if cores is not None:
        import geopandas as gpd

        paths = [cores] if isinstance(cores, str) else list(cores)
        layers = (
            [ctx.survey.parks]
            if ctx.survey.parks is not None and len(ctx.survey.parks)
            else []
        )
        for c in paths:
            p = Path(c) if Path(c).is_absolute() or base is None else base / c
            if not p.exists():
                raise InputError(
                    f"[corridors] cores = '{c}': file not found (looked in {p}).",
                    path=p,
                )
            layers.append(gpd.read_file(p))
        opts["cores"] = corridors.cores_from(*layers, survey=ctx.survey)
    res = _call(fn, ctx.survey, options=opts, rasters=rasters, progress=ctx.progress)
    rec = ctx.records["corridors"]
    lc = res.least_cost
    out_layers: dict[str, Any] = {
        "cores": res.cores,
        "corridor_paths": lc.paths,
        "corridors": lc.corridors,
        "border_hotspots": res.hotspots,
    }
    if res.circuit is not None and res.circuit.pinch_points is not None:
        out_layers["pinch_points"] = res.circuit.pinch_points
    for layer, v in out_layers.items():
        if v is not None and len(v):
            ctx.products[layer] = v
            rec.outputs.append(_write_layer(ctx, v, layer))
    ctx.products["resistance"] = res.resistance
    rec.outputs.append(_write_tif(ctx, res.resistance, "corridors/resistance.tif"))
    if res.circuit is not None and res.circuit.current is not None:
        ctx.products["current"] = res.circuit.current
        rec.outputs.append(
            _write_tif(ctx, res.circuit.current, "corridors/current.tif")
        )
        rec.outputs.append(
            _write_csv(
                ctx, _tab(res.circuit.resistances), "corridors/effective_resistance.csv"
            )
        )
    if lc.pair_costs is not None and len(lc.pair_costs):
        rec.outputs.append(
            _write_csv(ctx, _tab(lc.pair_costs), "corridors/pair_costs.csv")
        )
    if res.pair_crossings is not None and len(res.pair_crossings):
        rec.outputs.append(
            _write_csv(ctx, _tab(res.pair_crossings), "corridors/pair_crossings.csv")
        )
    hs = res.hotspots
    if hs is not None and len(hs):
        rec.outputs.append(_write_csv(ctx, hs, "corridors/border_hotspots.csv"))
    n_paths = 0 if lc.paths is None else len(lc.paths)
    return f"{n_paths} least-cost paths, {0 if hs is None else len(hs)} border segments scored"


def _step_plan(ctx: _Context) -> str:
    fn = planning.plan
    opts = dict(ctx.params.get("plan", {}))
    seed = opts.pop("seed", ctx.seed)  # [plan] seed, as `trapscape plan` reads it
    dp = _detection_params(ctx)
    result = _call(
        fn,
        ctx.survey,
        dp,
        options=opts,
        hotspots=ctx.products.get("border_hotspots"),
        rng=seed,
        progress=ctx.progress,
    )
    proposed = result.stations
    rec = ctx.records["plan"]
    if ctx.public:
        from .privacy import aggregate_points

        shown = aggregate_points(proposed, cell=ctx.public_cell, as_polygons=True)
        ctx.products["proposed"] = shown
        rec.outputs.append(_write_layer(ctx, shown, "proposed_cells"))
    else:
        ctx.products["proposed"] = proposed
        rec.outputs.append(_write_layer(ctx, proposed, "proposed_stations"))
        planning.write_plan_stations(proposed, ctx.path("plan/proposed_stations.csv"))
        rec.outputs.append("plan/proposed_stations.csv")
        planning.write_gpx(proposed, ctx.path("plan/proposed_stations.gpx"))
        rec.outputs.append("plan/proposed_stations.gpx")
    summ = _tab(result.summary)
    ctx.products["plan_summary"] = summ
    rec.outputs.append(_write_csv(ctx, summ, "plan/plan_summary.csv"))
    return f"{len(proposed)} stations proposed"


def _step_reserve(ctx: _Context) -> str:
    from .report import candidate_reserve

    opts = {**ctx.params.get("report", {}), **ctx.params.get("reserve", {})}
    reserve = _call(
        candidate_reserve,
        ctx.survey,
        options=opts,
        ranges=ctx.products.get("ranges"),
        cross_border=ctx.products.get("cross_border"),
        corridors=ctx.products.get("corridors")
        if ctx.products.get("corridors") is not None
        else ctx.products.get("corridor_paths"),
    )
    if reserve is None or len(reserve) == 0:
        raise _Skip(
            "no parks, straddling home ranges or corridors to build a reserve from"
        )
    if ctx.public:
        from .privacy import snap_polygons

        reserve = snap_polygons(reserve, cell=ctx.public_cell)
        from .report import reserve_areas

        reserve = reserve_areas(reserve, ctx.survey)
    ctx.products["reserve"] = reserve
    ctx.records["reserve"].outputs.append(
        _write_layer(ctx, reserve, "candidate_reserve")
    )
    ctx.records["reserve"].outputs.append(_write_csv(ctx, reserve, "reserve_areas.csv"))
    total = (
        float(reserve["area_km2"].sum())
        if "area_km2" in reserve.columns
        else float(reserve.area.sum() / 1e6)
    )
    return f"{total:.0f} km2"


def _step_figures(ctx: _Context) -> str:
    from .figures import write_figures

    if not ctx.params.get("report", {}).get("figures", True):
        raise _Skip("figures = false in [report]")
    files = _call(
        write_figures,
        ctx.shown_survey,
        ctx.stage / "figures",
        options=ctx.params.get("figures", {}),
        products=_shown_products(ctx),
        public=ctx.public,
    )
    ctx.products["figures"] = files
    ctx.products["figure_png"] = {Path(f).stem: Path(f).read_bytes() for f in files}
    ctx.records["figures"].outputs.extend(
        str(Path(f).relative_to(ctx.stage)) for f in files
    )
    return f"{len(files)} figures"


def _scrub(ctx: _Context, text: str) -> str:
    """Remove individual and station identifiers from free text (public mode)."""
    if not ctx.public or not text:
        return text
    import re

    ids = set(ctx.survey.identified[V.INDIVIDUAL_ID].astype(str))
    ids |= set(ctx.survey.stations[V.STATION_ID].astype(str))
    ids |= set(ctx.survey.stations[V.DEPLOYMENT_ID].astype(str))
    for ident in sorted((i for i in ids if i), key=len, reverse=True):
        text = re.sub(rf"(?<![\w/]){re.escape(ident)}(?![\w/])", "[withheld]", text)
    return text


def _scrub_records(ctx: _Context) -> None:
    if not ctx.public:
        return
    for rec in ctx.records.values():
        rec.message = _scrub(ctx, rec.message)
    ctx.notes[:] = [_scrub(ctx, n) for n in ctx.notes]


def _shown_products(ctx: _Context) -> dict[str, Any]:
    """Products safe for display (per-individual layers dropped in public mode)."""
    prods = dict(ctx.products)
    if ctx.public:
        from .privacy import aggregate_points

        for k in ("ranges", "cross_border", "density_fit", "individual_zones"):
            prods.pop(k, None)
        strad = prods.pop("straddling", None)
        if strad is not None:
            prods["straddling"] = len(strad)
            if len(strad):
                a = strad["area_km2"].astype(float)
                prods["straddling_areas"] = {
                    "ranges": len(strad),
                    "median_area_km2": float(a.median()),
                    "min_area_km2": float(a.min()),
                    "max_area_km2": float(a.max()),
                }
        st = prods.pop("stations", None)
        if st is not None:
            prods["station_cells"] = aggregate_points(
                st,
                cell=ctx.public_cell,
                sums=("trap_nights", "detections"),
                as_polygons=True,
            )
        prods["public_cell"] = ctx.public_cell
    return prods


def _step_map(ctx: _Context) -> str:
    from .maps import save_map, survey_map

    opts = dict(ctx.params.get("map", {}))
    m = _call(
        survey_map,
        ctx.shown_survey,
        options=opts,
        products=_shown_products(ctx),
        public=ctx.public,
        public_cell=ctx.public_cell,
    )
    save_map(m, ctx.path("map.html"), offline=ctx.offline)
    ctx.records["map"].outputs.append("map.html")
    return "map.html"


def _step_report(ctx: _Context) -> str:
    from .report import write_report

    _scrub_records(ctx)
    opts = dict(ctx.params.get("report", {}))
    _call(
        write_report,
        ctx.shown_survey,
        ctx.path("report.html"),
        options=opts,
        products=_shown_products(ctx),
        records=ctx.records,
        notes=ctx.notes,
        public=ctx.public,
        public_cell=ctx.public_cell,
    )
    ctx.records["report"].outputs.append("report.html")
    return "report.html"


_STEP_FUNCS: dict[str, Callable[[_Context], str]] = {
    "validate": _step_validate,
    "effort": _step_effort,
    "coverage": _step_coverage,
    "density": _step_density,
    "pdot": _step_pdot,
    "homerange": _step_homerange,
    "corridors": _step_corridors,
    "plan": _step_plan,
    "reserve": _step_reserve,
    "figures": _step_figures,
    "map": _step_map,
    "report": _step_report,
}


# ----------------------------------------------------------------- public API
def run_project(
    project_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    public: bool = False,
    offline: bool = False,
    seed: int | None = None,
    progress: bool = False,
) -> RunResult:
    """Run every switched-on step of a project file into ``out_dir``.

    Parameters
    ----------
    project_path
        Survey project file (TOML; see :func:`trapscape.project.load_project`).
    out_dir
        Output directory.  Created; must not exist or be empty unless
        ``overwrite``.
    overwrite
        Replace an existing non-empty ``out_dir`` (only once the new run has
        finished).
    public
        Write a public version: station and sighting locations generalised
        to grid cells (``[public] cell``, default 5000 m) and individual
        identities removed from every output (see :mod:`trapscape.privacy`).
    offline
        Inline the map's JavaScript and CSS so ``map.html`` works without
        internet (needs the local Leaflet copy, see :func:`trapscape.maps.save_map`).
    seed
        Seed for every random choice (planning ties).  Default: ``[run]
        seed`` of the project file, else 0.  ``[run] public = true`` and
        ``offline = true`` switch those modes on as well.
    progress
        Show a progress bar over the steps.

    Returns
    -------
    RunResult
        Output directory, per-step records and the manifest.

    Raises
    ------
    InputError
        If the output directory exists and is not empty (pass
        ``overwrite=True``), or the project file is invalid; nothing is
        written in that case.

    References
    ----------
    The steps cite their methods; see :mod:`trapscape.report`.
    """
    project_path = Path(project_path)
    _check_out_dir(Path(out_dir), overwrite=overwrite)
    project = load_project(project_path)
    inputs = {
        str(k): Path(v) for k, v in dict(getattr(project, "inputs", {}) or {}).items()
    }
    inputs.setdefault("project", project_path)
    params = {
        k: dict(v) if isinstance(v, Mapping) else v
        for k, v in (getattr(project, "params", {}) or {}).items()
    }
    if _is_bundled_example(project_path):
        params.setdefault("report", {}).setdefault("simulated", True)
    survey = project.survey
    assert survey is not None  # load_project(read=True) reads it
    species = getattr(project, "species", None)
    if species:
        survey = survey.species_subset(species)
    run = params.get("run", {}) or {}
    return run_survey(
        survey,
        out_dir,
        params=params,
        inputs=inputs,
        overwrite=overwrite,
        public=public or run.get("public") is True,
        offline=offline or run.get("offline") is True,
        seed=seed if seed is not None else _run_seed(run),
        progress=progress,
        project_path=project_path,
    )


def _run_seed(run: Mapping[str, Any]) -> int:
    seed = run.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def project_out_dir(project_path: str | os.PathLike[str]) -> Path | None:
    """``[run] out`` of a project file, resolved against its folder (or None)."""
    project = load_project(project_path, read=False)
    out = (project.params.get("run", {}) or {}).get("out")
    if not isinstance(out, str) or not out.strip():
        return None
    p = Path(out)
    return p if p.is_absolute() else Path(project_path).resolve().parent / p


def _is_bundled_example(project_path: Path) -> bool:
    """Whether the project is the bundled (simulated) example."""
    try:
        from .datasets import get_path

        example = Path(get_path("example")).resolve()
    except Exception:  # datasets missing or example not installed
        return False
    return project_path.resolve().parent == example.parent


# Files a desktop may drop into any folder; they do not make it someone's data.
_OS_CLUTTER = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _run_folder_foreign(out: Path) -> list[str] | None:
    """Entries of ``out`` that a trapscape run did not write.

    None when ``out`` has no trapscape ``manifest.json`` (it is not a run
    folder).  The manifest lists the run's files; anything else at the top
    level (a user's notes, photos) is foreign.
    """
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "trapscape_version" not in manifest:
        return None
    files = manifest.get("files")
    if not isinstance(files, list):
        return None
    ours = {"manifest.json"} | {str(f).split("/", 1)[0] for f in files}
    return sorted(p.name for p in out.iterdir() if p.name not in ours | _OS_CLUTTER)


def _check_out_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse an output folder the run could not safely replace.

    A run replaces its whole output folder, so the folder must be new,
    empty, or the output of an earlier run (with ``overwrite``) holding
    nothing else; and it must not be, or contain, the working directory.
    """
    if out.exists() and not out.is_dir():
        raise InputError(
            f"Output {out} exists and is a file; choose a directory path for --out.",
            path=out,
        )
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise InputError(
            f"--out {out} is the current folder or contains it; a run replaces its "
            "whole output folder, so give a new or empty sub-folder, e.g. --out results.",
            path=out,
        )
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError(
            f"Output directory {out} exists and is not empty. Pass --overwrite "
            "(overwrite=True) to replace it, or choose another --out.",
            path=out,
        )
    foreign = _run_folder_foreign(out)
    if foreign is None:  # not a run folder: only OS clutter may be in it
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _OS_CLUTTER)
    if not foreign:
        return
    shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
    raise InputError(
        f"{out} holds files that are not from a trapscape run (e.g. {shown}); "
        "--overwrite replaces the whole folder, so choose a new or empty folder "
        "(or move those files out).",
        path=out,
    )


def run_survey(
    survey: Survey,
    out_dir: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    overwrite: bool = False,
    public: bool = False,
    offline: bool = False,
    seed: int = 0,
    progress: bool = False,
    project_path: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Run the pipeline on an already loaded survey.

    Same as :func:`run_project`, with the project's sections given as
    ``params`` (``{"steps": {...}, "coverage": {...}, ...}``) and its input
    files as ``inputs`` (name -> path, for checksums and rasters).
    """
    out = Path(out_dir)
    _check_out_dir(out, overwrite=overwrite)
    checked = _check_params(
        params or {}, os.fspath(project_path) if project_path else None
    )
    pub_cell = float(checked.get("run", {}).get("public_cell", 5000.0))
    if offline:  # fail before any work when the offline assets are missing
        from .maps import offline_assets

        offline_assets()
    inputs_p = {k: Path(v) for k, v in dict(inputs or {}).items()}
    switches = checked.pop("steps")
    step_params = {s: _with_defaults(s, checked.get(s, {})) for s in STEP_SECTIONS}
    step_params["rasters"] = dict(dict((params or {}).get("rasters", {}) or {}).items())
    public_survey = None
    if public:
        from .privacy import generalise_survey

        public_survey = generalise_survey(survey, cell=pub_cell)

    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(out)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    # From here on every exit path removes the staging folder: errors,
    # Ctrl-C (KeyboardInterrupt) and SystemExit (raised by the CLI's SIGTERM
    # handler), so an interrupted run leaves the previous output as it was.
    try:
        ctx = _Context(
            survey=survey,
            public_survey=public_survey,
            params=step_params,
            stage=stage,
            seed=int(seed),
            public=public,
            public_cell=pub_cell,
            offline=offline,
            inputs=inputs_p,
            progress=progress,
            project_dir=Path(project_path).resolve().parent if project_path else None,
        )
        started = time.perf_counter()
        _run_steps(ctx, switches)
        _scrub_records(ctx)
        if ctx.public:
            _write_public_readme(ctx)
        manifest = _manifest(ctx, switches, time.perf_counter() - started, project_path)
        (stage / "manifest.json").write_text(
            json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
        )
        _move_into_place(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    logger.info("Run finished in %.1f s: %s", manifest["seconds"], out)
    return RunResult(out_dir=out, steps=ctx.records, manifest=manifest)


def _with_defaults(step: str, section: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(RUN_DEFAULTS.get(step, {}))
    merged.update(section)
    return merged


def _run_steps(ctx: _Context, switches: Mapping[str, bool]) -> None:
    bar = None
    if ctx.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(STEPS), desc="trapscape run", unit="step")
    try:
        for step in STEPS:
            if bar is not None:
                bar.set_postfix_str(step)
            rec = StepRecord(
                status="ok",
                params=_jsonable(ctx.params.get(STEP_SECTION.get(step, ""), {})),
            )
            ctx.records[step] = rec
            if step != "validate" and not switches.get(STEP_SWITCH[step], True):
                rec.status, rec.message = "skipped", "switched off in [steps]"
                logger.info("Step %s: skipped (switched off)", step)
            else:
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", TrapscapeWarning)
                        rec.message = _STEP_FUNCS[step](ctx)
                    for w in caught:
                        if issubclass(w.category, TrapscapeWarning):
                            ctx.notes.append(f"{step}: {w.message}")
                        else:
                            warnings.warn_explicit(
                                w.message, w.category, w.filename, w.lineno
                            )
                except (_NotAvailable, MissingDependencyError) as err:
                    rec.status, rec.message = "not available", str(err)
                except ModuleNotFoundError as err:
                    rec.status = "not available"
                    rec.message = (
                        f"step {step} needs {err.name}, which is not installed"
                    )
                except _Skip as err:
                    rec.status, rec.message = "skipped", str(err)
                except TrapscapeError as err:
                    if step == "validate":
                        raise
                    rec.status, rec.message = "failed", str(err)
                    ctx.notes.append(f"{step} failed: {err}")
                except Exception as err:
                    # A defect in one analysis must not cost the user the rest of
                    # the run; it is logged with its traceback and recorded.
                    if step == "validate":
                        raise
                    logger.warning(
                        "Step %s raised an unexpected error", step, exc_info=True
                    )
                    rec.status = "failed"
                    rec.message = f"internal error: {type(err).__name__}: {err}"
                    ctx.notes.append(
                        f"{step} failed with an internal error ({type(err).__name__}); "
                        "please report it."
                    )
                rec.seconds = round(time.perf_counter() - t0, 3)
                logger.info(
                    "Step %s: %s in %.1f s%s",
                    step,
                    rec.status,
                    rec.seconds,
                    f" ({rec.message})" if rec.message else "",
                )
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(p.relative_to(path).as_posix().encode())
            h.update(_sha256(p).encode())
        return h.hexdigest()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"trapscape": __version__, "python": sys.version.split()[0]}
    for dep in _VERSIONS_OF:
        try:
            out[dep] = version(dep)
        except PackageNotFoundError:
            out[dep] = "not installed"
    return out


def _manifest(
    ctx: _Context,
    switches: Mapping[str, bool],
    seconds: float,
    project_path: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    inputs = {}
    for name, p in sorted(ctx.inputs.items()):
        if p.exists():
            inputs[name] = {
                "path": p.name if ctx.public else os.fspath(p),
                "sha256": _sha256(p),
            }
    files = sorted(
        p.relative_to(ctx.stage).as_posix() for p in ctx.stage.rglob("*") if p.is_file()
    )
    manifest = {
        "trapscape_version": __version__,
        "project": (Path(project_path).name if project_path else None),
        "seed": ctx.seed,
        "public": ctx.public,
        "offline": ctx.offline,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 3),
        "inputs": inputs,
        "steps_switched": {
            s: bool(switches.get(s, True)) for s in sorted(set(STEP_SWITCH.values()))
        },
        "steps": {
            s: {
                "status": r.status,
                "seconds": r.seconds,
                "message": r.message,
                "outputs": sorted(set(r.outputs)),
                "params": r.params,
            }
            for s, r in ctx.records.items()
        },
        "notes": list(ctx.notes),
        "versions": _versions(),
        "files": files,
    }
    if ctx.public:
        from .privacy import PUBLIC_NOTE

        manifest["privacy"] = PUBLIC_NOTE.format(cell_km=ctx.public_cell / 1000.0)
    return _jsonable(manifest)


def _write_public_readme(ctx: _Context) -> None:
    """A plain-text note at the top of a public output folder."""
    from .privacy import PUBLIC_NOTE

    text = (
        "PUBLIC VERSION\n\n"
        + PUBLIC_NOTE.format(cell_km=ctx.public_cell / 1000.0)
        + "\n\nIn this folder: camera effort and detections are totals per grid cell "
        "(effort/effort_per_cell.csv, layer station_cells); the coverage grid and the "
        "detection-probability surface are computed from the generalised stations; "
        "per-individual layers and tables (home ranges, detections per individual, "
        "border crossings) are left out; the candidate reserve follows the grid. "
        "Density, abundance, counts of individuals per country and the corridor "
        "analysis are aggregates and are kept.\n"
    )
    (ctx.stage / "PUBLIC-README.txt").write_text(text, encoding="utf-8")


def _remove_stale_stages(out: Path) -> None:
    """Delete staging folders of runs that were killed (their process is gone)."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.old-*"):
        for p in out.parent.glob(pattern):
            try:
                pid = int(p.name.rsplit("-", 1)[1])
            except ValueError:
                continue
            if pid == os.getpid() or not _pid_alive(pid):
                logger.info("Removing %s left by an interrupted run", p)
                shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into_place(stage: Path, out: Path) -> None:
    """Rename the finished staging directory to ``out`` (replacing it)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------ reading back
_RESULT_LAYERS = {
    "stations": "stations",
    "coverage_grid": "coverage_grid",
    "gaps": "coverage_gaps",
    "ranges": "home_ranges",
    "corridors": "corridors",
    "corridor_paths": "corridor_paths",
    "border_hotspots": "border_hotspots",
    "proposed": "proposed_stations",
    "reserve": "candidate_reserve",
    "station_cells": "station_cells",
}
_RESULT_TABLES = {
    "coverage_stats": "coverage/coverage_stats.csv",
    "pdot_summary": "coverage/pdot_summary.csv",
    "density_estimates": "density/estimates.csv",
    "region_n": "density/region_n.csv",
    "population": "individuals_by_country.csv",
    "cross_border_population": "homerange/cross_border_population.csv",
    "plan_summary": "plan/plan_summary.csv",
}


def load_results(out_dir: str | os.PathLike[str], *, crs: Any = None) -> dict[str, Any]:
    """Read the products of a finished run back, keyed as :func:`trapscape.maps.survey_map`
    and :func:`trapscape.report.write_report` expect them.

    Parameters
    ----------
    out_dir
        Output directory of :func:`run_project` (with ``manifest.json``).
    crs
        Reproject layers to this CRS (default: as written, the survey CRS).

    Returns
    -------
    dict
        Products found (missing ones are left out), plus ``records`` (the
        per-step records of the manifest), ``notes`` and ``public``.

    Raises
    ------
    InputError
        If ``out_dir`` has no ``manifest.json``.
    """
    import geopandas as gpd
    import pyogrio

    from ._raster import read_geotiff

    out = Path(out_dir)
    man_path = out / "manifest.json"
    if not man_path.is_file():
        raise InputError(
            f"{out} holds no manifest.json; pass the --out folder of a finished "
            "`trapscape run`.",
            path=out,
        )
    man = json.loads(man_path.read_text(encoding="utf-8"))
    prods: dict[str, Any] = {
        "public": bool(man.get("public")),
        "notes": man.get("notes", []),
        "records": {
            k: StepRecord(
                status=v.get("status", ""),
                seconds=v.get("seconds", 0.0),
                message=v.get("message", ""),
            )
            for k, v in man.get("steps", {}).items()
        },
    }
    gpkg = out / "results.gpkg"
    if gpkg.is_file():
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        for key, layer in _RESULT_LAYERS.items():
            if layer in layers:
                g = gpd.read_file(gpkg, layer=layer)
                prods[key] = g.to_crs(crs) if crs is not None else g
        if "proposed_cells" in layers:
            prods["proposed"] = gpd.read_file(gpkg, layer="proposed_cells")
    for key, rel in _RESULT_TABLES.items():
        if (out / rel).is_file():
            prods[key] = pd.read_csv(out / rel)
    for key, rel in (("pdot", "pdot.tif"), ("current", "corridors/current.tif")):
        if (out / rel).is_file():
            prods[key] = read_geotiff(out / rel)
    if (out / "homerange" / "straddling_ranges.csv").is_file():
        prods["straddling"] = pd.read_csv(out / "homerange" / "straddling_ranges.csv")
    figs = out / "figures"
    if figs.is_dir():
        prods["figure_png"] = {
            p.stem: p.read_bytes() for p in sorted(figs.glob("*.png"))
        }
    summary = out / "survey_summary.json"
    if summary.is_file():
        prods["summary"] = json.loads(summary.read_text(encoding="utf-8"))
    return prods
