"""``trapscape coverage``: effort tables, coverage grid, gaps and the pdot raster."""

from __future__ import annotations

import inspect
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from .._memory import DEFAULT_BUDGET_GB
from .options import (
    cell_size_opt,
    config_opt,
    load_survey_from_options,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    survey_inputs,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["OUTPUTS", "cmd"]

logger = logging.getLogger(__name__)

#: files written into --out
OUTPUTS = (
    "coverage.gpkg",
    "pdot.tif",
    "effort_per_camera.csv",
    "effort_per_station.csv",
    "effort_per_zone.csv",
    "effort_total.csv",
    "coverage_stats.csv",
    "pdot_summary.csv",
)
_NODATA = -9999.0


def _options(
    project: Path | None, config: Path | None
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """[coverage] and [detection] of the project/config file, and the project."""
    from ..errors import InputError

    cov: dict[str, Any] = {}
    det: dict[str, Any] = {}
    proj = None
    if project is not None and project.suffix.lower() == ".toml":
        from ..project import load_project

        proj = load_project(project)
        cov.update(proj.step("coverage"))
        det.update(proj.params.get("detection", {}))
    if config is not None:
        try:
            doc = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise InputError(
                f"{config}: not valid TOML ({err}). Fix the syntax.", path=config
            ) from err
        cov.update(
            doc.get(
                "coverage", {k: v for k, v in doc.items() if not isinstance(v, dict)}
            )
        )
        det.update(doc.get("detection", {}))
    return cov, det, proj


def _detection(
    det_file: Path | None,
    lambda0: float | None,
    sigma: float | None,
    det_section: dict[str, Any],
) -> Any:
    from ..detection import DetectionParams, read_detection
    from ..errors import InputError

    if det_file is not None:
        if lambda0 is not None or sigma is not None:
            raise click.UsageError(
                "Give either --detection or --lambda0/--sigma, not both."
            )
        return read_detection(det_file)
    base = dict(det_section)
    if lambda0 is not None:
        base["lambda0"] = lambda0
        base.setdefault("detectfn", "HHN")
    if sigma is not None:
        base["sigma"] = sigma
    if not base:
        logger.warning(
            "No detection parameters given (--detection or --lambda0/--sigma): "
            "pdot uses hazard half-normal lambda0 0.05/day, sigma 3000 m."
        )
    try:
        return DetectionParams(**base)
    except TypeError as err:
        raise InputError(
            f"[detection]: {err}. Use keys of DetectionParams "
            "(detectfn, sigma, lambda0, g0, occasion_days, by_sex)."
        ) from err


def _stations_layer(survey: Any, report: Any) -> Any:
    import geopandas as gpd

    from .. import validation as V

    pts = survey.station_points[[V.STATION_ID, "geometry"]]
    ps = report.per_station.drop(columns=["x", "y"], errors="ignore")
    out = pts.merge(ps, on=V.STATION_ID, how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=survey.crs)


def _write_gpkg(layers: dict[str, Any], path: Path) -> None:
    import pandas as pd

    for name, gdf in layers.items():
        g = gdf.copy()
        for c in g.columns:
            if c != g.geometry.name and g[c].dtype == object:
                g[c] = g[c].astype("string")
            if c != g.geometry.name and pd.api.types.is_datetime64_any_dtype(g[c]):
                g[c] = g[c].dt.strftime("%Y-%m-%d").astype("string")
        g.to_file(path, layer=name, driver="GPKG")


def _region_arg(value: Any, base: Path | None, crs: Any) -> Any:
    """A region name passes through; anything else is read as a vector file.

    ``base`` resolves relative paths from the project file (its folder); on
    the command line they are relative to the working directory.  The layer
    named ``region`` is read if the file has several, else the first.
    """
    import geopandas as gpd
    import pyogrio

    from ..errors import CRSError, InputError
    from ..survey import REGIONS

    names = (*REGIONS, "parks+study_area")
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(
            f"[coverage] region must be one of {list(REGIONS)} or a vector file "
            f"path, got {value!r}."
        )
    text = os.fspath(value)
    if text.strip().lower().replace(" ", "") in names:
        return text
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise InputError(
            f"region {text!r} is neither one of {list(REGIONS)} nor an existing "
            f"vector file ({path} not found).",
            path=path,
        )
    try:
        layers = [n for n, _ in pyogrio.list_layers(path)]
        layer = "region" if len(layers) > 1 and "region" in layers else None
        gdf = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise InputError(
            f"{path}: cannot read the region polygons ({err}). Give a vector file "
            "(GeoPackage, GeoJSON, Shapefile) of polygons.",
            path=path,
        ) from err
    if gdf.crs is None:
        raise CRSError(
            f"{path}: the region layer has no CRS. Set one (e.g. EPSG:32652).",
        )
    return gdf.to_crs(crs)


@click.command(name="coverage")
@survey_inputs
@out_dir_opt
@cell_size_opt
@click.option(
    "--shape",
    type=click.Choice(["square", "hex"]),
    default=None,
    help="Grid cell shape (default square).",
)
@click.option(
    "--resolution",
    type=float,
    default=None,
    help="pdot raster cell size in metres (default 250).",
)
@click.option(
    "--detection",
    "detection_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Detection parameters JSON (from `trapscape density`).",
)
@click.option(
    "--lambda0",
    type=float,
    default=None,
    help="Baseline detection hazard per day (hazard half-normal).",
)
@click.option(
    "--sigma", type=float, default=None, help="Detection scale sigma in metres."
)
@click.option(
    "--distance",
    type=float,
    default=None,
    help="Radius around operating cameras for coverage share and gaps, metres "
    "(default 3000).",
)
@click.option(
    "--min-gap-km2",
    type=float,
    default=None,
    help="Smallest gap reported, km2 (default 1).",
)
@click.option(
    "--species",
    default=None,
    help="Count sightings of this species only (default: the project's "
    "species, else all).",
)
@click.option(
    "--region",
    default=None,
    help="Where the grid, gaps, stats and pdot raster go: study_area (default), "
    "parks, study_area+parks (both sides of the border), or a polygon file.",
)
@click.option(
    "--count-cameras",
    is_flag=True,
    default=None,
    help="Two working cameras at a station count as 2 trap-nights.",
)
@click.option(
    "--max-memory-gb",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Memory budget in GiB: a coverage grid or pdot raster too large for it "
    "is refused before it is built, naming a coarser --cell-size or "
    f"--resolution [default: {DEFAULT_BUDGET_GB:g}].",
)
@config_opt
@overwrite_opt
def cmd(
    project: Path | None,
    stations: Path | None,
    sightings: Path | None,
    boundaries: Path | None,
    crs: str | None,
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
    from .._raster import write_geotiff
    from ..errors import InputError

    check_outputs(out, OUTPUTS, overwrite=overwrite)  # fail before any work

    cov, det, proj = _options(project, config)
    given = {
        "cell_size": cell_size,
        "shape": shape,
        "resolution": resolution,
        "distance": distance,
        "min_area_km2": min_gap_km2,
        "count_cameras": count_cameras,
        "max_memory_gb": max_memory_gb,
    }
    cov.update({k: v for k, v in given.items() if v is not None})
    params = _detection(detection_file, lambda0, sigma, det)

    if proj is not None:
        survey = proj.survey
        if boundaries is not None or crs is not None:
            survey = load_survey_from_options(
                project, stations, sightings, boundaries, crs
            )
        species = species or proj.species
    else:
        survey = load_survey_from_options(project, stations, sightings, boundaries, crs)
    survey = survey.species_subset(species)
    if region is not None:
        cov["region"] = _region_arg(region, None, survey.crs)
    elif "region" in cov:
        base = proj.path.parent if proj is not None else None
        if base is None and config is not None:
            base = config.parent
        cov["region"] = _region_arg(cov["region"], base, survey.crs)

    def kw(fn: Any) -> dict[str, Any]:
        names = set(inspect.signature(fn).parameters)
        return {k: v for k, v in cov.items() if k in names}

    unknown = set(cov) - {
        n
        for f in (
            effort.effort_report,
            coverage.coverage_grid,
            coverage.coverage_stats,
            coverage.gaps,
            coverage.pdot_surface,
        )
        for n in inspect.signature(f).parameters
    }
    if unknown:
        raise InputError(
            f"[coverage]: unknown option(s) {sorted(unknown)}. Use keyword "
            "names of effort_report, coverage_grid, coverage_stats, gaps or "
            "pdot_surface."
        )

    progress = progress_enabled()
    with logging_redirect_tqdm():
        report = effort.effort_report(survey, **kw(effort.effort_report))
        grid = coverage.coverage_grid(
            survey, report=report, **kw(coverage.coverage_grid)
        )
        stats = coverage.coverage_stats(survey, grid, **kw(coverage.coverage_stats))
        holes = coverage.gaps(survey, **kw(coverage.gaps))
        pdot = coverage.pdot_surface(
            survey,
            params,
            progress=progress,
            **{k: v for k, v in kw(coverage.pdot_surface).items() if k != "progress"},
        )
        summary = coverage.pdot_summary(survey, pdot)

    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        _write_gpkg(
            {"grid": grid, "gaps": holes, "stations": _stations_layer(survey, report)},
            tmp / "coverage.gpkg",
        )
        tif = pdot.fillna(_NODATA).astype("float32")
        tif = tif.rio.write_nodata(_NODATA)
        tif.name = "pdot"
        write_geotiff(tif, tmp / "pdot.tif")
        report.to_csv(tmp)
        stats.to_csv(tmp / "coverage_stats.csv", index=False)
        summary.to_csv(tmp / "pdot_summary.csv", index=False)
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
