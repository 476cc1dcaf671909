"""The steps of ``trapscape run``: each calls its library function and writes its files."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import corridors, coverage, density, effort, planning
from .. import validation as V
from .._steps import (
    accepted,
)
from ..detection import resolve_detection
from ..effort import station_table
from ..errors import (
    InputError,
)
from ..products import RunProducts

if TYPE_CHECKING:
    pass

from ..homerange import for_survey
from .context import _Context, _Skip
from .sessions import _step_sessions
from .writers import (
    _tab,
    corridor_layers,
    density_summary,
    write_corridors,
    write_coverage,
    write_csv,
    write_density,
    write_design_evaluation,
    write_effort,
    write_homeranges,
    write_json,
    write_layer,
    write_pdot,
    write_plan,
)

__all__: list[str] = []  # run by run.py; _STEP_FUNCS is the step table

logger = logging.getLogger("trapscape.pipeline")


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


def _with_dask(ctx: _Context, opts: Mapping[str, Any]) -> dict[str, Any]:
    """``opts`` with the project's ``[dask]`` cluster unless they name their own."""
    from .._dask import wants_dask

    out = dict(opts)
    cluster = ctx.params.get("dask", {})
    if not wants_dask(out.get("workers"), out.get("scheduler")) and wants_dask(
        cluster.get("workers"), cluster.get("scheduler")
    ):
        out.update(workers=cluster.get("workers"), scheduler=cluster.get("scheduler"))
    return out


def _step_validate(ctx: _Context) -> str:
    summary = ctx.survey.summary()
    if ctx.public:
        summary = {
            k: v
            for k, v in summary.items()
            if k not in ("first_setup", "last_retrieval")
        }
    ctx.products.summary = summary
    from ..reserve import individuals_by_zone, zones_with_stations
    from ..reserve import zone_population as _zone_population

    surveyed = zones_with_stations(ctx.survey)
    ctx.products.surveyed_zones = None if surveyed is None else sorted(surveyed)
    by_zone = individuals_by_zone(ctx.survey)
    ctx.products.individual_zones = by_zone
    ctx.products.population = _zone_population(by_zone)
    rec_out = ctx.records["validate"].outputs
    rec_out.append(
        write_csv(ctx.stage, ctx.products.population, "individuals_by_country.csv")
    )
    if not ctx.public:
        rec_out.append(write_csv(ctx.stage, by_zone, "individuals_detected_zones.csv"))
    ctx.records["validate"].outputs.append(
        write_json(ctx.stage, summary, "survey_summary.json")
    )
    return f"{summary['stations']} stations, {summary['sightings']} sightings"


def _step_effort(ctx: _Context) -> str:
    opts = {**ctx.params.get("coverage", {}), **ctx.params.get("effort", {})}
    rep = _call(effort.effort_report, ctx.survey, options=opts)
    ctx.products.effort = rep
    stations = station_table(ctx.survey, rep)
    ctx.products.stations = stations
    rec = ctx.records["effort"]
    if ctx.public:
        from ..privacy import aggregate_points

        cells = aggregate_points(
            stations,
            cell=ctx.public_cell,
            sums=("trap_nights", "detections"),
            as_polygons=True,
        )
        rec.outputs.append(write_csv(ctx.stage, cells, "effort/effort_per_cell.csv"))
        rec.outputs.append(write_layer(ctx.stage, cells, "station_cells"))
        rec.outputs.extend(
            write_effort(ctx.stage, rep, None, tables=("per_zone", "total"))
        )
    else:
        rec.outputs.extend(write_effort(ctx.stage, rep, stations))
    total = _tab(rep.total)
    tn = (
        float(total["trap_nights"].iloc[0])
        if "trap_nights" in total.columns and len(total)
        else float(stations.get("trap_nights", pd.Series([0.0])).sum())
    )
    ctx.products.trap_nights = tn
    return f"{tn:.0f} trap-nights"


def _detection_params(ctx: _Context) -> Any:
    """The fitted parameters of the density step, else :func:`resolve_detection`."""
    dp = ctx.products.detection
    if dp is not None:
        return dp
    return resolve_detection(
        None, ctx.params.get("detection", {}), base=ctx.project_dir
    )


def _step_coverage(ctx: _Context) -> str:
    survey = ctx.shown_survey  # public: computed on generalised stations
    # the effort report describes the exact stations; public runs use generalised ones
    report = None if ctx.public else ctx.products.effort
    opts = ctx.params.get("coverage", {})
    res = coverage.for_survey(survey, None, report=report, **opts)
    assert res.grid is not None
    ctx.products.coverage_grid = res.grid
    ctx.products.coverage_stats = res.stats
    if res.gaps is not None and len(res.gaps):
        ctx.products.gaps = res.gaps
    ctx.records["coverage"].outputs.extend(write_coverage(ctx.stage, res))
    return f"{len(res.grid)} cells of the coverage grid"


def _step_pdot(ctx: _Context) -> str:
    """Detection-probability surface, after density so it uses the fitted parameters."""
    opts = _with_dask(ctx, ctx.params.get("coverage", {}))
    dp = _detection_params(ctx)
    res = coverage.for_survey(
        ctx.shown_survey, dp, with_grid=False, progress=ctx.progress, **opts
    )
    pdot = res.pdot
    assert pdot is not None
    ctx.products.pdot = pdot
    ctx.products.pdot_summary = res.pdot_summary
    ctx.records["pdot"].outputs.extend(write_pdot(ctx.stage, res))
    src = "fitted" if ctx.products.detection is not None else "assumed"
    return f"{pdot.sizes['y']}x{pdot.sizes['x']} cells, {src} detection parameters"


def _step_density(ctx: _Context) -> str:
    opts = ctx.params.get("density", {})
    rasters = dict(ctx.params.get("rasters", {}))
    fit = _call(density.fit_survey, ctx.survey, options=opts, rasters=rasters)
    ctx.products.density_fit = fit
    ctx.products.detection = fit.detection_params()
    summary = density_summary(fit)
    ctx.products.density = summary
    ctx.products.density_estimates = _tab(fit.estimates)
    if getattr(fit, "region_n", None) is not None and len(fit.region_n):
        ctx.products.region_n = _tab(fit.region_n)
    if getattr(fit, "surfaces", ()):  # the AIC table the report shows
        from ..density.surface import aic_table

        ctx.products.density_surfaces = aic_table(list(fit.surfaces))
    ctx.records["density"].outputs.extend(write_density(ctx.stage, fit, ctx.survey))
    from ..reserve import zones_with_stations as _zones_with_stations

    surveyed = _zones_with_stations(ctx.survey)
    est = ctx.products.density_estimates
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
    extra = (
        f" ({hidden} zone(s) without stations: only in density/estimates.csv)"
        if hidden
        else ""
    )
    return "D per 100 km2: " + ", ".join(shown) + extra


def _step_homerange(ctx: _Context) -> str:
    opts = dict(ctx.params.get("homerange", {}))
    if ctx.params.get("detection") or ctx.products.detection is not None:
        opts.setdefault("detection", _detection_params(ctx))
    pct = ctx.params.get("report", {}).get("percent", 95.0)
    res = _call(
        for_survey,
        ctx.survey,
        options=opts,
        straddling_percent=float(pct),
        progress=ctx.progress,
    )
    if len(res.ranges) == 0:
        n_ex = len(res.excluded)
        raise _Skip(f"no individual met the home-range rules ({n_ex} excluded)")
    ctx.products.ranges = res.kde.isopleths if res.kde is not None else res.ranges
    ctx.products.cross_border = res.cross_border
    if res.cross_border is not None:
        ctx.products.cross_border_population = _tab(res.cross_border.population)
    ctx.products.straddling = res.straddling
    ctx.records["homerange"].outputs.extend(
        write_homeranges(ctx.stage, res, public=ctx.public)
    )
    return f"{res.n_individuals} individuals"


def _step_corridors(ctx: _Context) -> str:
    fn = corridors.corridors_for_survey
    opts = _with_dask(ctx, ctx.params.get("corridors", {}))
    if ctx.params.get("omniscape"):  # Omniscape.jl's options for method = omniscape
        opts["omniscape_options"] = dict(ctx.params["omniscape"])
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
    for layer, v in corridor_layers(res).items():
        setattr(ctx.products, layer, v)
    ctx.products.resistance = res.resistance
    if res.circuit is not None and res.circuit.current is not None:
        ctx.products.current = res.circuit.current
    ctx.records["corridors"].outputs.extend(write_corridors(ctx.stage, res))
    lc, hs = res.least_cost, res.hotspots
    n_paths = 0 if lc.paths is None else len(lc.paths)
    how = (
        "omnidirectional current (Omniscape)"
        if res.method == "omniscape"
        else "least cost"
    )
    return (
        f"{n_paths} least-cost paths, {0 if hs is None else len(hs)} border segments "
        f"scored by {how}"
    )


def _step_plan(ctx: _Context) -> str:
    fn = planning.plan
    opts = dict(ctx.params.get("plan", {}))
    seed = opts.pop("seed", ctx.seed)  # [plan] seed, as `trapscape plan` reads it
    replicates = int(opts.pop("evaluate_replicates", 0) or 0)
    dp = _detection_params(ctx)
    result = _call(
        fn,
        ctx.survey,
        dp,
        options=opts,
        hotspots=ctx.products.border_hotspots,
        rng=seed,
        progress=ctx.progress,
    )
    proposed = result.stations
    rec = ctx.records["plan"]
    if ctx.public:
        from ..privacy import aggregate_points

        shown = aggregate_points(proposed, cell=ctx.public_cell, as_polygons=True)
        ctx.products.proposed = shown
        rec.outputs.append(write_layer(ctx.stage, shown, "proposed_cells"))
    else:
        ctx.products.proposed = proposed
        rec.outputs.extend(write_plan(ctx.stage, result))
    summ = _tab(result.summary)
    ctx.products.plan_summary = summ
    if ctx.public:
        rec.outputs.append(write_csv(ctx.stage, summ, "plan/plan_summary.csv"))
    if replicates > 0:  # no coordinates in it: the same in public mode
        ev = planning.evaluate_plan(
            ctx.survey,
            result,
            dp,
            replicates=replicates,
            seed=int(seed or 0),
            density=opts.get("density"),
            progress=ctx.progress,
        )
        ctx.products.design_evaluation = ev.summary
        rec.outputs.extend(write_design_evaluation(ctx.stage, ev))
        return f"{len(proposed)} stations proposed, designs evaluated ({replicates} replicates)"
    return f"{len(proposed)} stations proposed"


def _step_reserve(ctx: _Context) -> str:
    from ..reserve import candidate_reserve

    opts = {**ctx.params.get("report", {}), **ctx.params.get("reserve", {})}
    reserve = _call(
        candidate_reserve,
        ctx.survey,
        options=opts,
        ranges=ctx.products.ranges,
        cross_border=ctx.products.cross_border,
        corridors=ctx.products.corridors
        if ctx.products.corridors is not None
        else ctx.products.corridor_paths,
    )
    if reserve is None or len(reserve) == 0:
        raise _Skip(
            "no parks, straddling home ranges or corridors to build a reserve from"
        )
    if ctx.public:
        from ..privacy import snap_polygons

        # the outline is generalised to the public grid; its areas stay those
        # of the exact outline, so public and internal reports give one area
        reserve = snap_polygons(reserve, cell=ctx.public_cell)
    ctx.products.reserve = reserve
    ctx.records["reserve"].outputs.append(
        write_layer(ctx.stage, reserve, "candidate_reserve")
    )
    ctx.records["reserve"].outputs.append(
        write_csv(ctx.stage, reserve, "reserve_areas.csv")
    )
    total = (
        float(reserve["area_km2"].sum())
        if "area_km2" in reserve.columns
        else float(reserve.area.sum() / 1e6)
    )
    return f"{total:.0f} km2"


def _step_figures(ctx: _Context) -> str:
    from ..present.figures import write_figures

    if not ctx.params.get("report", {}).get("figures", True):
        raise _Skip("figures = false in [report]")
    files = _call(
        write_figures,
        ctx.shown_survey,
        ctx.stage / "figures",
        options=ctx.params.get("figures", {}),
        products=_shown_products(ctx),
        public=ctx.public,
        lang=ctx.lang,
    )
    ctx.products.figures = files
    ctx.products.figure_png = {Path(f).stem: Path(f).read_bytes() for f in files}
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


def _shown_products(ctx: _Context) -> RunProducts:
    """Products safe for display (per-individual layers dropped in public mode)."""
    prods = ctx.products.copy()
    if not ctx.public:
        return prods
    from ..privacy import aggregate_points

    prods = prods.copy(
        ranges=None,
        cross_border=None,
        density_fit=None,
        individual_zones=None,
        stations=None,
        straddling=None,
        public_cell=ctx.public_cell,
    )
    strad = ctx.products.straddling
    if isinstance(strad, pd.DataFrame):
        prods.straddling = len(strad)
        if len(strad):
            a = strad["area_km2"].astype(float)
            prods.straddling_areas = {
                "ranges": len(strad),
                "median_area_km2": float(a.median()),
                "min_area_km2": float(a.min()),
                "max_area_km2": float(a.max()),
            }
    st = ctx.products.stations
    if st is not None:
        prods.station_cells = aggregate_points(
            st,
            cell=ctx.public_cell,
            sums=("trap_nights", "detections"),
            as_polygons=True,
        )
    return prods


def _step_map(ctx: _Context) -> str:
    from ..present.maps import save_map, survey_map

    opts = dict(ctx.params.get("map", {}))
    m = _call(
        survey_map,
        ctx.shown_survey,
        options=opts,
        products=_shown_products(ctx),
        public=ctx.public,
        public_cell=ctx.public_cell,
        lang=ctx.lang,
    )
    save_map(m, ctx.path("map.html"))  # Leaflet inlined: opens offline
    ctx.records["map"].outputs.append("map.html")
    return "map.html"


def _step_report(ctx: _Context) -> str:
    from ..present.report import write_report

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
        lang=ctx.lang,
    )
    ctx.records["report"].outputs.append("report.html")
    return "report.html"


_STEP_FUNCS: dict[str, Callable[[_Context], str]] = {
    "validate": _step_validate,
    "effort": _step_effort,
    "coverage": _step_coverage,
    "density": _step_density,
    "sessions": _step_sessions,
    "pdot": _step_pdot,
    "homerange": _step_homerange,
    "corridors": _step_corridors,
    "plan": _step_plan,
    "reserve": _step_reserve,
    "figures": _step_figures,
    "map": _step_map,
    "report": _step_report,
}
