"""``trapscape export``: write a survey in an exchange format (Camtrap DP 1.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import (
    SurveyInputs,
    library_opt,
    out_dir_opt,
    overwrite_opt,
    survey_inputs,
)

__all__ = ["cmd"]

_WRITER = "trapscape.io.camtrap_dp_write:write_camtrap_dp"


@click.group(name="export")
def cmd() -> None:
    """Write a survey in an exchange format."""


@cmd.command(name="camtrap-dp")
@survey_inputs
@out_dir_opt
@overwrite_opt
@library_opt(
    "--utc-offset",
    of=_WRITER,
    use=True,
    help="UTC offset of the survey's local times, +hh:mm (e.g. +10:00).",
)
@library_opt(
    "--sampling-design",
    of=_WRITER,
    use=True,
    type=click.Choice(
        [
            "simpleRandom",
            "systematicRandom",
            "clusteredRandom",
            "experimental",
            "targeted",
            "opportunistic",
        ]
    ),
    help="project.samplingDesign of the package.",
)
@click.option(
    "--public",
    is_flag=True,
    default=False,
    help="Generalise locations to grid cells, drop individuals and media, round "
    "coordinates to 0.01 degrees (coordinatePrecision) for sensitive species.",
)
@library_opt(
    "--cell",
    of="trapscape.privacy:write_public_camtrap_dp",
    use=True,
    type=click.FloatRange(min=0, min_open=True),
    help="With --public: grid cell size in metres.",
)
def camtrap_dp(
    inputs: SurveyInputs,
    out: Path,
    overwrite: bool,
    utc_offset: str,
    sampling_design: str,
    public: bool,
    cell: float,
) -> None:
    """Write a survey as a Camtrap DP 1.0 package into --out.

    PROJECT is a survey TOML file or a Camtrap DP package; or give
    --stations and --sightings.  Malfunctions split a deployment into its
    working periods; each sighting becomes an event-level observation (and
    a media-level one when it names a media file).  The package passes
    `trapscape validate`.
    """
    from .. import privacy
    from .._output import check_outputs
    from ..io.camtrap_dp_write import FILES, write_camtrap_dp

    check_outputs(out, FILES, overwrite=overwrite, what="a Camtrap DP package")
    survey = inputs.load()
    options: dict[str, Any] = {
        "utc_offset": utc_offset,
        "sampling_design": sampling_design,
        "overwrite": overwrite,
    }
    if public:
        path = privacy.write_public_camtrap_dp(survey, out, cell=cell, **options)
    else:
        path = write_camtrap_dp(survey, out, **options)
    click.echo(f"Wrote {path}")
