"""``trapscape coverage``: effort tables, coverage grid, gaps and the pdot raster."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from .options import (
    SurveyInputs,
    cell_size_opt,
    config_opt,
    dask_opts,
    detection_from_options,
    detection_opts,
    library_opt,
    max_memory_opt,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    read_toml,
    region_arg,
    survey_inputs,
)

__all__ = ["OUTPUTS", "cmd"]

logger = logging.getLogger(__name__)

#: what the command writes into --out: the files of the effort, coverage
#: and pdot steps of ``trapscape run`` (results.gpkg layers stations,
#: coverage_grid, coverage_gaps; effort/*.csv; coverage/*.csv; pdot.tif)
OUTPUTS = ("results.gpkg", "effort", "coverage", "pdot.tif")


def _options(
    inputs: SurveyInputs, config: Path | None
) -> tuple[dict[str, Any], dict[str, Any], Any, Path | None]:
    """[coverage] and [detection] of the project/config file, the project, and
    the folder a relative [detection] ``file`` is resolved against."""
    cov: dict[str, Any] = {}
    det: dict[str, Any] = {}
    proj = None
    det_base = None
    if inputs.project is not None and inputs.toml:
        from ..project import load_project

        proj = load_project(inputs.project)
        cov.update(proj.step("coverage"))
        det.update(proj.params.get("detection", {}))
        det_base = proj.path.parent
    if config is not None:
        doc = read_toml(config)
        cov.update(
            doc.get(
                "coverage", {k: v for k, v in doc.items() if not isinstance(v, dict)}
            )
        )
        if "detection" in doc:
            det.update(doc["detection"])
            det_base = config.parent
    return cov, det, proj, det_base


@click.command(name="coverage")
@survey_inputs
@out_dir_opt
@cell_size_opt
@library_opt(
    "--shape",
    of="coverage",
    type=click.Choice(["square", "hex"]),
    help="Grid cell shape (default {default}).",
)
@library_opt(
    "--resolution",
    of="coverage",
    type=float,
    help="pdot raster cell size in metres (default {default}).",
)
@detection_opts()
@library_opt(
    "--distance",
    of="coverage",
    type=float,
    help="Radius around operating cameras for coverage share and gaps, metres "
    "(default {default}).",
)
@library_opt(
    "--min-gap-km2",
    of="coverage",
    key="min_area_km2",
    type=float,
    help="Smallest gap reported, km2 (default {default}).",
)
@click.option(
    "--species",
    default=None,
    help="Count sightings of this species only (default: the project's "
    "species, else all).",
)
@library_opt(
    "--region",
    of="coverage",
    help="Where the grid, gaps, stats and pdot raster go: {default} (default), "
    "parks, study_area+parks (both sides of the border), or a polygon file.",
)
@click.option(
    "--count-cameras",
    is_flag=True,
    default=None,
    help="Two working cameras at a station count as 2 trap-nights.",
)
@max_memory_opt(
    "coverage",
    ": a coverage grid or pdot raster too large for it is refused before it "
    "is built, naming a coarser --cell-size or --resolution [default: {default}].",
)
@dask_opts("the pdot bands")
@config_opt
@overwrite_opt
def cmd(
    inputs: SurveyInputs,
    out: Path,
    cell_size: float | None,
    shape: str | None,
    resolution: float | None,
    detection_file: Path | None,
    lambda0: float | None,
    sigma: float | None,
    distance: float | None,
    min_gap_km2: float | None,
    species: str | None,
    region: str | None,
    count_cameras: bool | None,
    max_memory_gb: float | None,
    workers: int | None,
    scheduler: str | None,
    config: Path | None,
    overwrite: bool,
) -> None:
    """Survey effort and coverage: where did the cameras look, and how hard?

    PROJECT is a survey TOML file (its [coverage] and [detection] sections
    give defaults), a Camtrap DP package, or give --stations, --sightings and
    --boundaries.  Writes into OUT: coverage.gpkg (layers grid, gaps,
    stations), pdot.tif (float32, nodata -9999 outside the region) and
    the CSV tables effort_per_{camera,station,zone}.csv, effort_total.csv,
    coverage_stats.csv and pdot_summary.csv.  --region study_area+parks
    extends all of them over the parks on both sides of the border.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from .. import coverage, effort
    from .._output import check_outputs, staged_outputs
    from .._steps import check_section, keywords_for, merge
    from ..effort import station_table
    from ..pipeline.writers import write_coverage, write_effort, write_pdot

    check_outputs(out, OUTPUTS, overwrite=overwrite)  # fail before any work

    conf, det, proj, det_base = _options(inputs, config)
    cov = merge(
        conf,
        {
            "cell_size": cell_size,
            "shape": shape,
            "resolution": resolution,
            "distance": distance,
            "min_area_km2": min_gap_km2,
            "count_cameras": count_cameras,
            "max_memory_gb": max_memory_gb,
            "workers": workers,
            "scheduler": scheduler,
        },
    )
    params = detection_from_options(
        detection_file, det, lambda0=lambda0, sigma=sigma, base=det_base
    )

    if proj is not None:
        survey = proj.survey
        if survey is None or inputs.boundaries is not None or inputs.crs is not None:
            survey = inputs.load()
        species = species or proj.species
    else:
        survey = inputs.load()
    survey = survey.species_subset(species)
    if region is not None:
        cov["region"] = region_arg(region, crs=survey.crs)
    elif "region" in cov:
        base = proj.path.parent if proj is not None else None
        if base is None and config is not None:
            base = config.parent
        cov["region"] = region_arg(
            cov["region"], crs=survey.crs, base=base, where="[coverage]"
        )

    check_section("coverage", {k: v for k, v in cov.items() if k != "region"}, None)

    with logging_redirect_tqdm():
        report = effort.effort_report(survey, **keywords_for(effort.effort_report, cov))
        res = coverage.for_survey(
            survey, params, report=report, progress=progress_enabled(), **cov
        )
    grid, holes, summary = res.grid, res.gaps, res.pdot_summary
    assert grid is not None and holes is not None and summary is not None

    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        write_effort(tmp, report, station_table(survey, report))
        write_coverage(tmp, res)
        write_pdot(tmp, res)
    tot = summary.iloc[-1]
    reg = cov.get("region", "study_area")
    label = reg if isinstance(reg, str) else "given region"
    click.echo(
        f"{len(grid)} cells ({int(grid['effort'].sum())} with effort), "
        f"{len(holes)} gaps, {report.total['trap_nights'].iat[0]:.1f} trap-nights; "
        f"effective sampled area {tot['esa_km2']:.1f} km2 "
        f"of {tot['area_km2']:.1f} km2"
        f"{'' if label == 'study_area' else f' ({label})'}. "
        f"Written to {out}"
    )
