"""Options shared by several commands, defined once."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "cell_size_opt",
    "config_opt",
    "crs_opt",
    "html_out_opt",
    "option_given",
    "option_or_project",
    "out_dir_opt",
    "overwrite_opt",
    "progress_enabled",
    "project_step",
    "survey_inputs",
]

crs_opt = click.option(
    "--crs",
    default=None,
    help="Projected CRS for analysis, e.g. EPSG:32652 (default: UTM zone of the data).",
)
cell_size_opt = click.option(
    "--cell-size", type=float, default=None, help="Cell size in metres."
)
overwrite_opt = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace existing outputs."
)
config_opt = click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML file of parameters (keys are the function keyword names).",
)
out_dir_opt = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory.",
)

html_out_opt = click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HTML file to write.",
)


def survey_inputs(f: F) -> F:
    """Options naming a survey: a project file/Camtrap DP package or separate files."""
    opts = [
        click.argument(
            "project", required=False, type=click.Path(exists=True, path_type=Path)
        ),
        click.option(
            "--stations",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Stations/deployments file (CSV, GPKG, GeoJSON, SHP).",
        ),
        click.option(
            "--sightings",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Sightings CSV.",
        ),
        click.option(
            "--boundaries",
            type=click.Path(exists=True, path_type=Path),
            help="Boundary layer (study area / zones).",
        ),
        crs_opt,
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def progress_enabled() -> bool:
    """Progress bars when stderr is a terminal."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def load_survey_from_options(
    project: Path | None,
    stations: Path | None,
    sightings: Path | None,
    boundaries: Path | None,
    crs: str | None,
) -> Any:
    """Build a :class:`~trapscape.survey.Survey` from the shared CLI inputs.

    ``project`` may be a survey TOML file, a Camtrap DP ``datapackage.json``
    or its folder; otherwise ``--stations`` (and usually ``--sightings``) are
    required.
    """
    from ..io import read_survey

    if project is None and stations is None:
        raise click.UsageError(
            "Give a project file / Camtrap DP package, or --stations."
        )
    return read_survey(
        project, stations=stations, sightings=sightings, boundaries=boundaries, crs=crs
    )


def project_step(project: Path | None, step: str) -> tuple[dict[str, Any], str | None]:
    """The ``[step]`` keys and the target species of a project TOML.

    Anything but a ``.toml`` file (a Camtrap DP package, no project) gives
    ``({}, None)``.
    """
    if project is None or project.suffix.lower() != ".toml":
        return {}, None
    from ..project import load_project

    proj = load_project(project, read=False)
    return proj.step(step), proj.species


def option_given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` was given (command line or environment)."""
    source = ctx.get_parameter_source(name)
    return source not in (click.core.ParameterSource.DEFAULT, None)


def option_or_project(
    ctx: click.Context, conf: Mapping[str, Any]
) -> Callable[..., Any]:
    """A function ``opt(name, value, key=None)`` merging options and project keys.

    It returns the command-line ``value`` when option ``name`` was given, else
    the project's ``conf[key or name]`` when present, else ``value`` (the
    option's default).
    """

    def opt(name: str, value: Any, key: str | None = None) -> Any:
        key = key or name
        return value if option_given(ctx, name) or key not in conf else conf[key]

    return opt
