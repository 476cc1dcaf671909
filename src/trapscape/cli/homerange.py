"""``trapscape homerange``: home ranges, overlaps and cross-border status."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .._memory import DEFAULT_BUDGET_GB
from .._output import check_outputs, staged_outputs
from .options import (
    load_survey_from_options,
    merged,
    option_given,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    project_step,
    survey_inputs,
)

__all__ = ["cmd"]

logger = logging.getLogger(__name__)

OUTPUTS = (
    "homeranges.gpkg",
    "homerange_areas.csv",
    "overlap.csv",
    "cross_border.csv",
    "crossings.csv",
    "population.csv",
    "excluded.csv",
    "bandwidths.csv",
)
#: everything the command may write (sigma_ranges.csv only with --detection)
ALL_OUTPUTS = (*OUTPUTS, "sigma_ranges.csv")


def _h_value(text: str) -> str | float:
    low = text.strip().lower()
    if low in ("href", "lscv"):
        return low
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: use href, lscv or a bandwidth in metres.", param_hint="--h"
        ) from None


@click.command(name="homerange")
@survey_inputs
@click.option(
    "--relocations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Relocations CSV individual_id,x,y[,timestamp] (needs --crs).",
)
@out_dir_opt
@click.option(
    "--method",
    type=click.Choice(["kde", "mcp", "both"]),
    default="kde",
    show_default=True,
    help="Home-range estimator(s).",
)
@click.option(
    "--h",
    "h",
    default="href",
    show_default=True,
    help="KDE bandwidth: href, lscv or metres.",
)
@click.option(
    "--percent",
    "percent",
    type=float,
    multiple=True,
    help="Isopleth / MCP percentage; repeat for several (default 50 and 95).",
)
@click.option(
    "--cell",
    "cell",
    type=float,
    default=100.0,
    show_default=True,
    help="KDE cell size in metres (grids aligned, covering at least 4h around points).",
)
@click.option(
    "--grid",
    "grid",
    type=int,
    default=None,
    help="Instead of --cell: adehabitatHR's grid of this many cells along the longer "
    "side of each individual's box.",
)
@click.option(
    "--extent",
    type=float,
    default=1.0,
    show_default=True,
    help="Widening of the bounding box, in multiples of its range.",
)
@click.option(
    "--min-detections",
    type=int,
    default=5,
    show_default=True,
    help="Fewer detection events: individual excluded (listed in excluded.csv).",
)
@click.option(
    "--min-stations",
    type=int,
    default=3,
    show_default=True,
    help="Fewer distinct stations: individual excluded.",
)
@click.option(
    "--burst-minutes",
    type=float,
    default=30.0,
    show_default=True,
    help="Photos of one individual at one station closer than this are one event.",
)
@click.option(
    "--effort-weights",
    is_flag=True,
    default=False,
    help="Weight detections by 1 / operating days of their station.",
)
@click.option(
    "--species", default=None, help="Species to analyse (default: project's)."
)
@click.option(
    "--detection",
    "detection",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="detection.json (from trapscape density): add 95% sigma ranges.",
)
@click.option(
    "--max-memory-gb",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_BUDGET_GB,
    show_default=True,
    help="Memory budget in GiB: KDE grids too large for it are refused before "
    "they are built, naming a coarser --cell.",
)
@overwrite_opt
@click.pass_context
def cmd(
    ctx: click.Context,
    project: Path | None,
    stations: Path | None,
    sightings: Path | None,
    boundaries: Path | None,
    crs: str | None,
    relocations: Path | None,
    out: Path,
    method: str,
    h: str,
    percent: tuple[float, ...],
    cell: float | None,
    grid: int,
    extent: float,
    min_detections: int,
    min_stations: int,
    burst_minutes: float,
    effort_weights: bool,
    species: str | None,
    detection: Path | None,
    max_memory_gb: float,
    overwrite: bool,
) -> None:
    """Home ranges (MCP, KDE), overlaps and cross-border status of individuals.

    Give a survey (PROJECT, or --stations/--sightings/--boundaries) to use
    detection events at camera stations, or --relocations with --crs for GPS
    or other points.  Writes into OUT: homeranges.gpkg (layer 'homeranges':
    polygons with individual_id, method, percent, area_km2 and area per
    country), homerange_areas.csv, overlap.csv, bandwidths.csv,
    excluded.csv and, for surveys with zones, cross_border.csv,
    crossings.csv and population.csv.
    """
    import geopandas as gpd
    import pandas as pd

    from .. import homerange as hr
    from .. import validation as V
    from ..errors import ComputationError, InputError

    conf, proj_species = project_step(project, "homerange")
    kw = merged(
        ctx,
        conf,
        {
            "method": method,
            "h": h,
            "percent": percent or None,
            "cell_size": cell,
            "grid": grid,
            "extent": extent,
            "min_detections": min_detections,
            "min_stations": min_stations,
            "burst_minutes": burst_minutes,
            "effort_weights": effort_weights,
            "max_memory_gb": max_memory_gb,
        },
        names={"cell_size": "cell"},
    )

    if relocations is not None and (project is not None or stations is not None):
        raise click.UsageError(
            "Give either a survey (PROJECT/--stations) or --relocations."
        )
    if relocations is None and project is None and stations is None:
        raise click.UsageError(
            "Give a project file, --stations, or --relocations with --crs."
        )
    out = Path(out)
    check_outputs(out, ALL_OUTPUTS, overwrite=overwrite)

    method = str(kw["method"]).lower()
    if method not in ("kde", "mcp", "both"):
        raise InputError(f"[homerange] method = {method!r}: use kde, mcp or both.")
    use_weights = bool(kw["effort_weights"])
    if use_weights and relocations is not None:
        raise InputError(
            "--effort-weights needs a survey (station operating days); "
            "it cannot be used with --relocations."
        )
    hval = _h_value(str(kw["h"]))
    pct = kw.get("percent", (50.0, 95.0))
    pct = tuple(float(p) for p in (pct if isinstance(pct, (list, tuple)) else [pct]))
    cell = kw["cell_size"]
    grid_n = kw.get("grid")
    if grid_n is not None and option_given(ctx, "cell"):
        raise click.UsageError("Give --cell or --grid, not both.")
    min_det = int(kw["min_detections"])
    min_st = int(kw["min_stations"])
    budget = float(kw["max_memory_gb"])
    progress = progress_enabled()

    survey = None
    if relocations is not None:
        if crs is None:
            raise InputError(
                "--relocations needs --crs (the CRS of x and y, e.g. EPSG:32652)."
            )
        rel = hr.read_relocations(relocations, crs=crs)
    else:
        survey = load_survey_from_options(project, stations, sightings, boundaries, crs)
        sp = species or conf.get("species") or proj_species
        if sp is not None:
            survey = survey.species_subset(sp)
        rel = hr.relocations_from_survey(
            survey, burst_minutes=float(kw["burst_minutes"])
        )
        if len(rel) == 0:
            raise InputError(
                "The survey has no sightings of identified individuals"
                + (f" of species {sp!r}" if sp else "")
                + "; nothing to do."
            )

    layers: list[gpd.GeoDataFrame] = []
    excluded = None
    bandwidths = None
    overlap_rows: list[pd.DataFrame] = []
    kres = None
    if method in ("mcp", "both"):
        m = hr.mcp(rel, percent=pct, min_detections=min_det, min_stations=min_st)
        layers.append(m)
        excluded = pd.DataFrame(m.attrs.get("excluded", []))
    if method in ("kde", "both"):
        weights = (
            hr.station_weights(survey, rel)
            if (use_weights and survey is not None)
            else None
        )
        kres = hr.kde(
            rel,
            h=hval,
            percent=pct,
            grid=int(grid_n) if grid_n is not None else float(cell),
            extent=float(kw["extent"]),
            weights=weights,
            progress=progress,
            min_detections=min_det,
            min_stations=min_st,
            max_memory_gb=budget,
        )
        layers.append(kres.isopleths)
        excluded = kres.excluded
        bandwidths = kres.bandwidths
        ovr = kres
        if len(kres.ud) > 1:
            try:
                hr.overlap(kres, method="HR", percent=max(pct))
            except ComputationError:  # grids not aligned: recompute on a common lattice
                cs = float(
                    pd.Series(
                        [float(da.x[1] - da.x[0]) for da in kres.ud.values()]
                    ).median()
                )
                logger.info("overlap: UDs recomputed on aligned %.1f m grids", cs)
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ovr = hr.kde(
                        rel,
                        h=hval,
                        percent=max(pct),
                        cell_size=cs,
                        extent=float(kw["extent"]),
                        weights=weights,
                        min_detections=min_det,
                        min_stations=min_st,
                        max_memory_gb=budget,
                    )
            p_ov = 95.0 if 95.0 in pct else max(pct)
            for meth in ("HR", "PHR", "VI", "BA", "UDOI", "HD"):
                mat = hr.overlap(ovr, method=meth, percent=p_ov)
                long = mat.stack().rename("value").reset_index()
                long.insert(0, "percent", p_ov)
                long.insert(0, "method", meth)
                overlap_rows.append(long)
    polys = pd.concat(layers, ignore_index=True) if len(layers) > 1 else layers[0]
    polys = gpd.GeoDataFrame(polys, geometry="geometry", crs=rel.crs)
    if survey is not None and survey.zones is not None and len(survey.zones):
        polys = pd.concat([polys, hr.zone_areas(polys, survey.zones)], axis=1)
        polys = gpd.GeoDataFrame(polys, geometry="geometry", crs=rel.crs)

    sig = None
    if detection is not None:
        from ..detection import read_detection

        sig = hr.sigma_ranges(rel, read_detection(detection), percent=95)

    cb = None
    if survey is not None and survey.zones is not None and len(survey.zones):
        ranges = kres if kres is not None else polys
        cb = hr.cross_border(
            survey, ranges, relocations=rel, percent=95.0 if 95.0 in pct else max(pct)
        )

    # prune: outputs of an earlier run that this one does not write are removed
    with staged_outputs(out, ALL_OUTPUTS, overwrite=overwrite, prune=True) as tmp:
        gpkg = tmp / "homeranges.gpkg"
        if len(polys):
            polys.to_file(gpkg, layer="homeranges", driver="GPKG")
        if sig is not None and len(sig):
            sig.to_file(gpkg, layer="sigma_ranges", driver="GPKG")
            pd.DataFrame(sig.drop(columns="geometry")).to_csv(
                tmp / "sigma_ranges.csv", index=False
            )
        pd.DataFrame(polys.drop(columns="geometry")).to_csv(
            tmp / "homerange_areas.csv", index=False
        )
        ov = (
            pd.concat(overlap_rows, ignore_index=True)
            if overlap_rows
            else pd.DataFrame(columns=["method", "percent", "id1", "id2", "value"])
        )
        ov.to_csv(tmp / "overlap.csv", index=False)
        if excluded is None or len(excluded) == 0:
            excluded = pd.DataFrame(
                columns=[V.INDIVIDUAL_ID, "n_detections", "n_stations", "reason"]
            )
        excluded.to_csv(tmp / "excluded.csv", index=False)
        if bandwidths is not None:
            bandwidths.to_csv(tmp / "bandwidths.csv", index=False)
        if cb is not None:
            cb.individuals.to_csv(tmp / "cross_border.csv", index=False)
            cb.crossings.to_csv(tmp / "crossings.csv", index=False)
            cb.population.to_csv(tmp / "population.csv", index=False)
    n_ind = polys[V.INDIVIDUAL_ID].nunique() if len(polys) else 0
    msg = f"{n_ind} individual(s) with home ranges"
    if excluded is not None and len(excluded):
        msg += f", {len(excluded)} excluded (see excluded.csv)"
    if cb is not None:
        both = int((cb.individuals["n_zones"] > 1).sum())
        msg += f"; {both} of {len(cb.individuals)} detected in more than one zone"
    click.echo(f"{msg}. Results in {out}", err=True)
