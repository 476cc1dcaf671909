"""``trapscape simulate``: write a simulated survey (with its truth) as a project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import EXISTING_FILE, library_opt, overwrite_opt

__all__ = ["cmd"]

#: the simulation's defaults are SimulationParams' own
_PARAMS = "trapscape.simulate:SimulationParams"


def _parse_densities(values: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for v in values:
        zone, sep, num = v.rpartition("=")
        if not sep or not zone.strip():
            raise click.BadParameter(
                f"{v!r} is not ZONE=VALUE, e.g. --density Russia=1.6",
                param_hint="--density",
            )
        try:
            out[zone.strip()] = float(num)
        except ValueError:
            raise click.BadParameter(
                f"{num!r} in {v!r} is not a number (adults per 100 km2).",
                param_hint="--density",
            ) from None
    return out


def _write_package(sim: Any, folder: Path, *, name: str, overwrite: bool) -> None:
    """The simulated survey as a Camtrap DP package (local times at UTC+10)."""
    from ..io import write_camtrap_dp
    from ..survey import Survey

    survey = Survey(
        stations=sim.stations,
        sightings=sim.sightings,
        problems=sim.problems,
        crs=sim.stations.crs,
        name=name,
    )
    path = write_camtrap_dp(
        survey,
        folder,
        utc_offset="+10:00",
        sampling_design="systematicRandom",
        overwrite=overwrite,
    )
    click.echo(f"Wrote {path}")


def _read(path: Path, what: str) -> Any:
    import geopandas as gpd

    from ..errors import InputError

    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio/fiona errors vary
        raise InputError(
            f"{path}: cannot read the {what} layer ({err}). Give a "
            "GeoPackage, GeoJSON or Shapefile.",
            path=path,
        ) from err


@click.command(name="simulate")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (survey.toml, stations.csv, sightings.csv, truth.json).",
)
@click.option(
    "--seed",
    type=int,
    default=2044,
    show_default=True,
    help="Random seed (2044 = the bundled example).",
)
@library_opt("--days", of=_PARAMS, use=True, type=int, help="Session length in days.")
@library_opt(
    "--spacing",
    of=_PARAMS,
    use=True,
    type=float,
    help="Station grid spacing in metres.",
)
@library_opt(
    "--layout",
    of=_PARAMS,
    use=True,
    type=click.Choice(["jittered", "regular"]),
    help="Station grid layout.",
)
@library_opt(
    "--cameras-per-station",
    of=_PARAMS,
    use=True,
    type=int,
    help="Cameras per station (2 = paired).",
)
@click.option(
    "--density",
    "densities",
    multiple=True,
    metavar="ZONE=VALUE",
    help="Adults per 100 km2 in a zone (repeatable); updates the defaults "
    "Russia=1.6, China=0.35, 'North Korea'=0.",
)
@library_opt(
    "--sigma-f",
    of=_PARAMS,
    use=True,
    type=float,
    help="Female movement scale sigma (m).",
)
@library_opt(
    "--sigma-m", of=_PARAMS, use=True, type=float, help="Male movement scale sigma (m)."
)
@library_opt(
    "--lambda0",
    of=_PARAMS,
    use=True,
    type=float,
    help="Baseline detections per station-day of usage.",
)
@click.option(
    "--china-stations/--no-china-stations",
    default=True,
    show_default=True,
    help="Also place stations on the Chinese side near the study area.",
)
@click.option(
    "--stations",
    "stations_file",
    type=EXISTING_FILE,
    help="Use these stations (CSV/GPKG with station_id) instead of a grid.",
)
@click.option(
    "--study-area",
    type=EXISTING_FILE,
    help="Study area polygons (default: the bundled Land of the Leopard).",
)
@click.option(
    "--zones",
    type=EXISTING_FILE,
    help="Zones with a 'name' column (default: bundled countries).",
)
@click.option(
    "--name",
    default="Simulated Land of the Leopard survey",
    show_default=True,
    help="Survey name written to survey.toml.",
)
@click.option(
    "--camtrap-dp",
    "camtrap_dp",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the simulated survey as a Camtrap DP 1.0 package into this "
    "folder (times at UTC+10:00, Vladivostok).",
)
@click.option(
    "--density-covariate",
    default=None,
    metavar="NAME",
    help="Density surface D = D_zone exp(beta z): z standardised over the state "
    "space from 'x' or 'y' (coordinate), 'elevation' (bundled raster) or a "
    "GeoTIFF path; needs --density-beta.",
)
@click.option(
    "--density-beta",
    type=float,
    default=None,
    help="Coefficient beta of the standardised --density-covariate (log density "
    "per SD).",
)
@click.option(
    "--sessions",
    type=click.IntRange(min=1),
    default=None,
    help="Simulate this many annual sessions (session_<year>/ folders plus "
    "traps.csv, captures.csv, covariates.csv and masks/ for trapscape sessions).",
)
@click.option(
    "--trend",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Rate of change of density per session, D_s = D_0 * TREND**s "
    "(default 1, stable); needs --sessions.",
)
@click.option(
    "--station-share",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Share of the stations used in each session (a random subset per "
    "session; default 1 = all); needs --sessions.",
)
@click.option(
    "--mask-spacing",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Spacing (m) of the session masks written with --sessions (default "
    "0.6 x the smaller sigma).",
)
@overwrite_opt
def cmd(
    out: Path,
    seed: int,
    densities: tuple[str, ...],
    china_stations: bool,
    stations_file: Path | None,
    study_area: Path | None,
    zones: Path | None,
    name: str,
    camtrap_dp: Path | None,
    density_covariate: str | None,
    density_beta: float | None,
    sessions: int | None,
    trend: float | None,
    station_share: float | None,
    mask_spacing: float | None,
    overwrite: bool,
    **model: Any,
) -> None:
    """Simulate a camera-trap survey with known truth (the SCR model).

    Defaults reproduce the bundled Land of the Leopard example: real
    boundaries, ~200 stations of paired cameras 4.2 km apart plus ~40 on the
    Chinese side, 90 days, about 10,000 photos.  Boundary files are
    referenced from survey.toml, not copied.

    With --density-covariate and --density-beta the density follows a
    surface, D(x) = D_zone exp(beta z(x)); with --sessions S (and --trend)
    OUT holds S annual sessions with D_s = D_0 * TREND**s.

    Example: trapscape simulate --out sim --seed 7 --density Russia=2 --days 60
    """
    from .. import datasets, simulate
    from .plan import check_zone_names

    multi = _session_options(sessions, trend, station_share, mask_spacing, camtrap_dp)
    model.update(_surface_options(density_covariate, density_beta))

    given = _parse_densities(densities)
    zones_path = Path(zones or datasets.get_path("countries.gpkg"))
    zones_gdf = None
    if given:  # typos must not silently fall back to the defaults
        zones_gdf = _read(zones_path, "zones")
        names = zones_gdf.get("name", [])
        check_zone_names(given, names, option="--density", where=str(zones_path))
    dens = dict(simulate.DEFAULT_DENSITIES)
    dens.update(given)
    # model: the options declared of=_PARAMS (days, spacing, layout,
    # cameras_per_station, sigma_f, sigma_m, lambda0), SimulationParams fields
    params = simulate.SimulationParams(
        densities=dens, extra_zone="China" if china_stations else None, **model
    )
    bnd = {
        "study_area": study_area or datasets.get_path("study_area.gpkg"),
        "zones": zones or datasets.get_path("countries.gpkg"),
    }
    if study_area is None:
        bnd["parks"] = datasets.get_path("parks.gpkg")
    for key, fname in (
        ("border", "border.gpkg"),
        ("habitat", "land.gpkg"),
        ("elevation", "elevation.tif"),
        ("landcover", "landcover.tif"),
        ("settlements", "settlements.gpkg"),
        ("rivers", "rivers.gpkg"),
    ):
        bnd[key] = datasets.get_path(fname)

    read = _read
    user_stations = None
    if stations_file is not None:
        from ..io import read_stations

        table = read_stations(stations_file)
        user_stations = table.stations
    layers = {
        "study_area": read(Path(bnd["study_area"]), "study area"),
        "zones": zones_gdf if zones_gdf is not None else read(zones_path, "zones"),
        "habitat": read(Path(bnd["habitat"]), "habitat"),
        "settlements": read(Path(bnd["settlements"]), "settlements"),
        "stations": user_stations,
    }
    if multi is not None:
        _write_sessions(params, layers, multi, seed, out, bnd, name, overwrite)
        return
    sim = simulate.simulate_survey(params, rng=seed, **layers)
    if camtrap_dp is not None:
        from .._output import check_outputs
        from ..io.camtrap_dp_write import FILES

        check_outputs(camtrap_dp, FILES, overwrite=overwrite, what="a package")
    path = simulate.write_simulated_survey(
        sim, out, boundaries=bnd, name=name, overwrite=overwrite
    )
    if camtrap_dp is not None:
        _write_package(sim, camtrap_dp, name=name, overwrite=overwrite)
    t = sim.truth
    click.echo(
        f"Wrote {path}: {t['stations']} stations, {t['cameras']} cameras, "
        f"{t['n_total']} animals {t['n_by_zone']} ({t['n_in_study_area']} in the study area), "
        f"{t['events']} detection events, {t['photos']} photos, "
        f"{t['camera_days_lost_share']:.1%} camera-days lost. Truth: {out / 'truth.json'}"
    )


def _session_options(
    sessions: int | None,
    trend: float | None,
    station_share: float | None,
    mask_spacing: float | None,
    camtrap_dp: Path | None,
) -> dict[str, Any] | None:
    """The session options as keywords of simulate_sessions (None: one survey)."""
    if sessions is None:
        given = [
            opt
            for opt, v in (
                ("--trend", trend),
                ("--station-share", station_share),
                ("--mask-spacing", mask_spacing),
            )
            if v is not None
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)} needs --sessions.")
        return None
    if camtrap_dp is not None:
        raise click.UsageError(
            "--camtrap-dp writes one survey; leave it out with --sessions."
        )
    return {
        "sessions": sessions,
        "trend": 1.0 if trend is None else trend,
        "station_share": 1.0 if station_share is None else station_share,
        "mask_spacing": mask_spacing,
    }


def _surface_options(covariate: str | None, beta: float | None) -> dict[str, Any]:
    """SimulationParams fields of the density surface (empty: none)."""
    from .. import datasets

    if covariate is None and beta is None:
        return {}
    if covariate is None or beta is None:
        raise click.UsageError(
            "--density-covariate and --density-beta go together, e.g. "
            "--density-covariate elevation --density-beta 0.5."
        )
    if covariate == "elevation":
        covariate = str(datasets.get_path("elevation.tif"))
    elif covariate not in ("x", "y") and not Path(covariate).is_file():
        raise click.BadParameter(
            f"{covariate!r} is not 'x', 'y', 'elevation' or an existing GeoTIFF.",
            param_hint="--density-covariate",
        )
    return {"density_covariate": covariate, "density_beta": beta}


def _write_sessions(
    params: Any,
    layers: dict[str, Any],
    multi: dict[str, Any],
    seed: int,
    out: Path,
    bnd: dict[str, Any],
    name: str,
    overwrite: bool,
) -> None:
    """Simulate and write several sessions (--sessions)."""
    from .. import simulate
    from .._output import check_outputs

    mask_spacing = multi.pop("mask_spacing")
    check_outputs(out, ("truth.json", "traps.csv"), overwrite=overwrite)
    sims = simulate.simulate_sessions(params, rng=seed, **multi, **layers)
    simulate.write_simulated_sessions(
        sims,
        out,
        boundaries=bnd,
        name=name,
        mask_spacing=mask_spacing,
        overwrite=overwrite,
    )
    per = sims.truth["by_session"]
    shown = "; ".join(
        f"{n}: {t['n_total']} animals, {t['n_detected']} detected"
        for n, t in per.items()
    )
    click.echo(
        f"Wrote {len(sims.names)} sessions to {out} (trend {multi['trend']:g} per "
        f"session): {shown}. Fit them with: trapscape sessions --traps "
        f"{out / 'traps.csv'} --captures {out / 'captures.csv'} --masks "
        f"{out / 'masks'} --model '~Session' --out RESULTS. Truth: {out / 'truth.json'}"
    )
