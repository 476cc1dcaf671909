"""``trapscape omniscape``: run an Omniscape.jl INI file as it is."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .options import EXISTING_FILE, overwrite_opt, progress_enabled

__all__ = ["cmd"]

logger = logging.getLogger(__name__)


@click.command("omniscape")
@click.argument("config", type=EXISTING_FILE)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: project_name beside CONFIG].",
)
@overwrite_opt
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Solve the moving windows on a local dask cluster of N worker processes "
    "(needs trapscape[dask]).",
)
@click.option(
    "--scheduler",
    default=None,
    help="Address of a running dask.distributed scheduler (e.g. tcp://host:8786) "
    "to solve the windows on.",
)
def cmd(
    config: Path, out: Path | None, overwrite: bool, workers: int, scheduler: str | None
) -> None:
    """Run the Omniscape.jl configuration CONFIG (an INI file).

    Paths in CONFIG are relative to it; the outputs (cum_currmap,
    flow_potential, normalized_cum_currmap as .tif, or .asc with
    write_as_tif = false) go to the folder project_name beside it.
    """
    from ..corridors.omniscape.ini import run_ini

    run = run_ini(
        config,
        out=out,
        overwrite=overwrite,
        workers=workers,
        scheduler=scheduler,
        progress=progress_enabled(),
    )
    res = run.result
    click.echo(
        f"omniscape: {res.n_targets} targets in {res.seconds:.1f} s "
        f"({res.workers} worker(s)); wrote {', '.join(run.files)} to {run.out}"
    )
