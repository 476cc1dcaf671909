"""``trapscape corridors``: resistance, corridors, current and border hotspots."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from .options import (
    EXISTING_FILE,
    SurveyInputs,
    dask_opts,
    library_opt,
    max_memory_opt,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    survey_inputs,
)

__all__ = ["cmd"]

logger = logging.getLogger(__name__)

RASTER_KEYS = ("landcover", "elevation", "settlements", "rivers")
#: what the command writes into --out: the corridors step's files of
#: ``trapscape run`` (layers of results.gpkg, rasters and tables in corridors/)
OUTPUTS = ("results.gpkg", "corridors")


def _raster_paths(
    given: tuple[Path | None, ...], proj_rasters: dict[str, Any]
) -> dict[str, Path]:
    """Input rasters by name: the options, else the project's [rasters]."""
    rasters: dict[str, Path] = {}
    for key, path in zip(RASTER_KEYS, given, strict=True):
        chosen = path if path is not None else proj_rasters.get(key)
        if chosen is not None:
            rasters[key] = Path(chosen)
    return rasters


def _core_paths(
    cores: tuple[Path, ...], conf: dict[str, Any], base: Path | None
) -> list[Path]:
    """Core layer files: --cores, else [corridors] cores (relative to the TOML)."""
    from ..errors import InputError

    paths = list(cores)
    if not paths and conf.get("cores"):
        raw = conf["cores"]
        for c in [raw] if isinstance(raw, str) else list(raw):
            p = Path(c)
            paths.append(p if p.is_absolute() or base is None else base / p)
    for p in paths:
        if not Path(p).exists():
            raise InputError(f"{p}: core layer not found. Fix the path.", path=p)
    return paths


def _cli_widths_and_circuit(
    kw: dict[str, Any],
    width_cost: float | None,
    width_m: float | None,
    no_circuit: bool,
) -> None:
    """A width given on the command line replaces both project widths; --no-circuit."""
    if width_cost is not None:  # one width given on the command line replaces both
        kw.pop("width_m", None)
    if width_m is not None:
        kw.pop("width_cost", None)
    if no_circuit:
        kw["run_circuit"] = False
    for key in ("cores", "rasters", "resistance", "progress"):
        kw.pop(key, None)  # read above (cores, rasters) or set here


def _project_conf(
    inputs: SurveyInputs,
) -> tuple[dict[str, Any], dict[str, Any], Path | None]:
    """[corridors] keys, [rasters] paths and the TOML folder (empty otherwise)."""
    project = inputs.project
    if project is None or not inputs.toml:
        return {}, {}, None
    from ..project import load_project

    proj = load_project(project, read=False)
    conf = proj.step("corridors")
    if proj.params.get("omniscape"):  # as the run's corridors step does
        conf = {**conf, "omniscape_options": dict(proj.params["omniscape"])}
    return (
        conf,
        dict(proj.params.get("rasters", {})),
        project.resolve().parent,
    )


@click.command(name="corridors")
@survey_inputs
@out_dir_opt
@library_opt(
    "--resolution",
    of="corridors",
    type=float,
    help="Cell size of the resistance grid in metres [default: {default}].",
)
@click.option(
    "--landcover",
    type=EXISTING_FILE,
    default=None,
    help="Land-cover raster (MODIS IGBP classes).",
)
@click.option(
    "--elevation", type=EXISTING_FILE, default=None, help="Elevation raster (metres)."
)
@click.option(
    "--settlements",
    type=EXISTING_FILE,
    default=None,
    help="Settlement points (vector file).",
)
@click.option(
    "--rivers", type=EXISTING_FILE, default=None, help="River lines (vector file)."
)
@click.option(
    "--resistance",
    "resistance_path",
    type=EXISTING_FILE,
    default=None,
    help="A ready resistance GeoTIFF (replaces the rasters above).",
)
@click.option(
    "--cores",
    type=EXISTING_FILE,
    multiple=True,
    help="Core-area polygons or points; repeat for several files "
    "[default: the survey's parks].",
)
@library_opt(
    "--core-setback",
    of="corridors",
    type=float,
    help="Cut cores back this far from the border, metres [default: {default}].",
)
@library_opt(
    "--pairs",
    of="corridors",
    type=click.Choice(["across", "all"]),
    help="Pairs of cores: across the border or all [default: {default}].",
)
@library_opt(
    "--mode",
    of="corridors",
    key="circuit_mode",
    type=click.Choice(["pairwise", "one_to_all"]),
    help="Circuit-theory mode [default: {default}].",
)
@library_opt(
    "--solver",
    of="corridors",
    type=click.Choice(["auto", "cg_amg", "direct"]),
    help="Linear solver for the circuit [default: {default}].",
)
@click.option("--no-circuit", is_flag=True, default=False, help="Skip circuit theory.")
@library_opt(
    "--method",
    of="corridors",
    type=click.Choice(["auto", "leastcost", "omniscape"]),
    help="Current and hotspots from least-cost cores or omnidirectional current "
    "(auto: omniscape when the cores touch or are missing) [default: {default}].",
)
@library_opt(
    "--segment-length",
    of="corridors",
    type=float,
    help="Border segment length in metres [default: {default}].",
)
@click.option(
    "--width-cost",
    type=float,
    default=None,
    help="Corridor cut in cost units (resistance x metres).",
)
@click.option(
    "--width-m",
    type=float,
    default=None,
    help="Corridor cut in metres (converted with the median resistance).",
)
@library_opt(
    "--units",
    of="corridors",
    type=click.Choice(["map", "cells"]),
    help="Cost units: resistance x metres (map) or r.cost cells [default: {default}].",
)
@max_memory_opt(
    "corridors",
    " for the whole run (grid, resistance surface, circuit solve): a request "
    "too large for it is refused before it is built, naming a coarser "
    "--resolution [default: {default}].",
)
@library_opt(
    "--n-jobs",
    of="corridors",
    type=int,
    help="Processes for the circuit solves [default: {default}].",
)
@dask_opts("the resistance bands and Omniscape windows")
@overwrite_opt
def cmd(
    inputs: SurveyInputs,
    out: Path,
    resolution: float | None,
    landcover: Path | None,
    elevation: Path | None,
    settlements: Path | None,
    rivers: Path | None,
    resistance_path: Path | None,
    cores: tuple[Path, ...],
    core_setback: float | None,
    pairs: str | None,
    mode: str | None,
    solver: str | None,
    no_circuit: bool,
    method: str | None,
    segment_length: float | None,
    width_cost: float | None,
    width_m: float | None,
    units: str | None,
    max_memory_gb: float | None,
    n_jobs: int | None,
    workers: int | None,
    scheduler: str | None,
    overwrite: bool,
) -> None:
    """Least-cost corridors, circuit current and border-crossing hotspots.

    Builds a resistance surface (land cover, elevation/slope, settlements
    with distance decay, rivers; the sea is a barrier), takes core areas on
    each side of the border (the survey's parks and --cores), and writes
    into OUT the files of the corridors step of ``trapscape run``:
    results.gpkg (layers cores, corridor_paths, corridors, border_hotspots,
    pinch_points) and, in corridors/, resistance.tif,
    cost_distance_<core>.tif, current.tif, corridor.tif, detour.tif,
    pair_costs.csv, pair_crossings.csv, effective_resistance.csv and
    border_hotspots.csv.

    Rasters may also come from the project file's [rasters] section and
    every option from its [corridors] section (keys are the keyword names
    of trapscape.corridors.corridors_for_survey).
    """
    import geopandas as gpd

    from .. import corridors as C
    from .._output import check_outputs, staged_outputs
    from .._raster import read_geotiff
    from .._steps import check_section, merge
    from ..errors import InputError
    from ..pipeline.writers import write_corridors

    if width_cost is not None and width_m is not None:
        raise click.UsageError("Give --width-cost or --width-m, not both.")
    conf, proj_rasters, base = _project_conf(inputs)
    project = inputs.project
    own = {k: v for k, v in conf.items() if k != "omniscape_options"}
    check_section("corridors", own, str(project) if project is not None else None)
    out = Path(out)
    check_outputs(out, OUTPUTS, overwrite=overwrite)

    rasters = _raster_paths((landcover, elevation, settlements, rivers), proj_rasters)
    core_paths = _core_paths(cores, conf, base)

    survey = inputs.load()
    resistance = None
    if resistance_path is not None:
        resistance = read_geotiff(resistance_path)
    elif not rasters:
        raise InputError(
            "No resistance inputs: give --landcover/--elevation (and optionally "
            "--settlements, --rivers), a [rasters] section in the project file, or "
            "--resistance."
        )
    core_layers = None
    if core_paths:
        core_layers = []
        if survey.parks is not None and len(survey.parks):
            core_layers.append(survey.parks)
        core_layers.extend(gpd.read_file(p) for p in core_paths)
    kw = merge(
        conf,
        {
            "resolution": resolution,
            "pairs": pairs,
            "units": units,
            "width_cost": width_cost,
            "width_m": width_m,
            "mode": mode,
            "solver": solver,
            "max_memory_gb": max_memory_gb,
            "segment_length": segment_length,
            "core_setback": core_setback,
            "n_jobs": n_jobs,
            "method": method,
            "workers": workers,
            "scheduler": scheduler,
        },
    )
    _cli_widths_and_circuit(kw, width_cost, width_m, no_circuit)
    result = C.corridors_for_survey(
        survey,
        rasters=rasters,
        resistance=resistance,
        cores=core_layers,
        progress=progress_enabled(),
        **kw,
    )

    with staged_outputs(out, OUTPUTS, overwrite=overwrite, prune=True) as tmp:
        write_corridors(tmp, result)
    _echo(result, out)


def _echo(result: Any, out: Path) -> None:
    """Log and print what was written."""
    n_hot = 0 if result.hotspots is None else len(result.hotspots)
    logger.info(
        "corridors: %d cores, %d paths, %d border segments -> %s",
        len(result.cores),
        len(result.paths),
        n_hot,
        out,
    )
    click.echo(
        f"Wrote {out} ({len(result.cores)} cores, {len(result.paths)} paths, "
        f"{n_hot} border segments ranked by {result.method})."
    )
