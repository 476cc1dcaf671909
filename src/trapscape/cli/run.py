"""``trapscape run``: the main job on a survey project file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..privacy import DEFAULT_CELL
from .options import overwrite_opt, progress_enabled

#: exit status of a run that finished but in which a step failed on the data
#: (e.g. no recaptures for density); the reasons are in manifest.json
EXIT_STEP_FAILED = 3

F = TypeVar("F", bound=Callable[..., Any])

public_opt = click.option(
    "--public",
    is_flag=True,
    default=False,
    help="Public version: locations generalised to grid cells ([run] public_cell, "
    f"default {DEFAULT_CELL / 1000:g} km), individual identities removed.",
)
offline_opt = click.option(
    "--offline",
    is_flag=True,
    default=False,
    help="Check before the run that the map's JavaScript/CSS (the xstatic-leaflet "
    "package) are installed; map.html always inlines them and works without internet.",
)
seed_opt = click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for every random choice (default: [run] seed, else 0).",
)


def run_opts(f: F) -> F:
    """``--overwrite``, ``--public``, ``--offline`` and ``--seed`` of ``run`` and ``demo``.

    Their values are the keywords of :func:`run_and_echo`.
    """
    for opt in (seed_opt, offline_opt, public_opt, overwrite_opt):
        f = opt(f)
    return f


def run_and_echo(
    project: Path,
    out: Path | None,
    *,
    overwrite: bool,
    public: bool,
    offline: bool,
    seed: int | None,
) -> None:
    """Run the pipeline and print one line per step (shared with ``demo``)."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..pipeline import project_out_dir, run_project

    if out is None:
        out = project_out_dir(project)
        if out is None:
            raise click.UsageError(
                "Give --out DIR (or set [run] out in the project file)."
            )
    progress = progress_enabled()
    with logging_redirect_tqdm():
        result = run_project(
            project,
            out,
            overwrite=overwrite,
            public=public,
            offline=offline,
            seed=seed,
            progress=progress,
        )
    for step, rec in result.steps.items():
        msg = f" - {rec.message}" if rec.message else ""
        click.echo(f"{step:<10} {rec.status:<14} {rec.seconds:6.1f} s{msg}")
    click.echo(
        f"Outputs in {result.out_dir}: map.html, report.html, manifest.json "
        f"({len(result.files)} files)."
    )
    failed = {s: r.message for s, r in result.steps.items() if r.status == "failed"}
    if failed:
        for step, why in failed.items():
            click.echo(f"Step {step} failed: {why}", err=True)
        click.echo(
            f"{len(failed)} step(s) failed (reasons in {result.out_dir}/manifest.json, "
            f'"steps"); the other outputs are written. Exit status '
            f"{EXIT_STEP_FAILED}.",
            err=True,
        )
        click.get_current_context().exit(EXIT_STEP_FAILED)


@click.command(name="run")
@click.argument("project", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: [run] out of the project file).",
)
@run_opts
def cmd(project: Path, out: Path | None, **flags: Any) -> None:
    """Run every step of PROJECT (a survey TOML file) into --out.

    validate -> effort and coverage -> density -> pdot -> home ranges ->
    corridors -> planning -> candidate reserve -> figures -> map.html ->
    report.html, each switchable in the project's [steps] section.  A
    manifest.json records input checksums, parameters, versions and timings.

    Exit status: 0 every step done (or skipped / not available); 1 bad
    input or parameters, nothing written; 3 the run finished but a step
    failed on the data (reasons on stderr and in manifest.json).

    Example: trapscape run survey.toml --out results --public --offline
    """
    run_and_echo(project, out, **flags)
