"""``trapscape homerange``: home ranges, overlaps and cross-border status."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .._output import check_outputs, staged_outputs
from .options import (
    EXISTING_FILE,
    SurveyInputs,
    library_default,
    library_opt,
    max_memory_opt,
    merged,
    option_given,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    project_step,
    species_opt,
    survey_inputs,
)

__all__ = ["cmd"]

logger = logging.getLogger(__name__)

#: what the command writes into --out: the homerange step's files of
#: ``trapscape run`` (layers of results.gpkg, tables in homerange/)
OUTPUTS = ("results.gpkg", "homerange")
ALL_OUTPUTS = OUTPUTS


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
    type=EXISTING_FILE,
    help="Relocations CSV individual_id,x,y[,timestamp] (needs --crs).",
)
@out_dir_opt
@library_opt(
    "--method",
    of="homerange",
    use=True,
    type=click.Choice(["kde", "mcp", "both"]),
    help="Home-range estimator(s).",
)
@library_opt(
    "--h",
    "h",
    of="homerange",
    use=True,
    help="KDE bandwidth: href, lscv or metres.",
)
@library_opt(
    "--percent",
    "percent",
    of="homerange",
    type=float,
    multiple=True,
    default=(),
    help="Isopleth / MCP percentage; repeat for several (default {default}).",
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
@library_opt(
    "--extent",
    of="homerange",
    use=True,
    type=float,
    help="Widening of the bounding box, in multiples of its range.",
)
@library_opt(
    "--min-detections",
    of="homerange",
    use=True,
    type=int,
    help="Fewer detection events: individual excluded (listed in excluded.csv).",
)
@library_opt(
    "--min-stations",
    of="homerange",
    use=True,
    type=int,
    help="Fewer distinct stations: individual excluded.",
)
@library_opt(
    "--burst-minutes",
    of="homerange",
    use=True,
    type=float,
    help="Photos of one individual at one station closer than this are one event.",
)
@click.option(
    "--effort-weights",
    is_flag=True,
    default=False,
    help="Weight detections by 1 / operating days of their station.",
)
@click.option(
    "--clip-to-land/--no-clip-to-land",
    "clip_to_land",
    default=None,
    help="Clip ranges to the survey's zones (countries: land), so a range's "
    "shares per country add up to 1 (default: clip).",
)
@species_opt
@click.option(
    "--detection",
    "detection",
    type=EXISTING_FILE,
    help="detection.json (from trapscape density): add 95% sigma ranges.",
)
@max_memory_opt(
    "homerange",
    ": KDE grids too large for it are refused before they are built, naming "
    "a coarser --cell.",
    use=True,
)
@overwrite_opt
@click.pass_context
def cmd(
    ctx: click.Context,
    inputs: SurveyInputs,
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
    clip_to_land: bool | None,
    species: str | None,
    detection: Path | None,
    max_memory_gb: float,
    overwrite: bool,
) -> None:
    """Home ranges (MCP, KDE), overlaps and cross-border status of individuals.

    Give a survey (PROJECT, or --stations/--sightings/--boundaries) to use
    detection events at camera stations, or --relocations with --crs for GPS
    or other points.  Writes into OUT the files of the homerange step of
    ``trapscape run``: results.gpkg (layer 'home_ranges': polygons with
    individual_id, method, percent, area_km2 and area per country; layer
    'sigma_ranges' with --detection) and, in homerange/,
    home_range_areas.csv, overlaps.csv, bandwidths.csv, excluded.csv,
    sigma_ranges.csv and, for surveys with zones,
    cross_border_individuals.csv, crossings.csv,
    cross_border_population.csv and straddling_ranges.csv.
    """
    from .. import homerange as hr
    from ..detection import read_detection
    from ..errors import InputError
    from ..homerange import for_survey
    from ..pipeline.writers import write_homeranges

    project, stations, crs = inputs.project, inputs.stations, inputs.crs
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
            "clip_to_land": clip_to_land,
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
    if kw.get("grid") is not None and option_given(ctx, "cell"):
        raise click.UsageError("Give --cell or --grid, not both.")
    check_outputs(out, ALL_OUTPUTS, overwrite=overwrite)
    kw["method"] = str(kw["method"]).lower()
    kw["h"] = _h_value(str(kw["h"]))
    pct = kw.get("percent", library_default("homerange", "percent"))
    kw["percent"] = tuple(
        float(p) for p in (pct if isinstance(pct, (list, tuple)) else [pct])
    )
    # --cell is the KDE cell size, given as a float grid (aligned grids)
    cell_m = kw.pop("cell_size")
    kw["grid"] = int(kw["grid"]) if kw.get("grid") is not None else float(cell_m)
    if detection is not None:
        kw["detection"] = read_detection(detection)

    survey = rel = None
    if relocations is not None:
        if crs is None:
            raise InputError(
                "--relocations needs --crs (the CRS of x and y, e.g. EPSG:32652)."
            )
        rel = hr.read_relocations(relocations, crs=crs)
    else:
        survey = inputs.load()
        sp = species or conf.get("species") or proj_species
        if sp is not None:
            survey = survey.species_subset(sp)
    kw.pop("species", None)
    res = for_survey(survey, relocations=rel, progress=progress_enabled(), **kw)

    # prune: outputs of an earlier run that this one does not write are removed
    with staged_outputs(out, ALL_OUTPUTS, overwrite=overwrite, prune=True) as tmp:
        write_homeranges(tmp, res)
    msg = (
        f"{res.n_individuals if len(res.ranges) else 0} individual(s) with home ranges"
    )
    if len(res.excluded):
        msg += f", {len(res.excluded)} excluded (see homerange/excluded.csv)"
    cb = res.cross_border
    if cb is not None:
        both = int((cb.individuals["n_zones"] > 1).sum())
        msg += f"; {both} of {len(cb.individuals)} detected in more than one zone"
    click.echo(f"{msg}. Results in {out}", err=True)
