"""``trapscape run``: the main job on a survey project file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..privacy import DEFAULT_CELL
from .options import lang_opt, overwrite_opt, progress_enabled

if TYPE_CHECKING:
    from ..pipeline.context import StepRecord

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
quiet_opt = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    default=False,
    help="Print nothing while the steps run (failures are still reported).",
)
json_opt = click.option(
    "--json",
    "as_json",
    is_flag=True,
    default=False,
    help="Machine-readable progress: one JSON object per line on stdout as each "
    'step starts and ends ("event": "start" | "end"), then a final "done" object.',
)
seed_opt = click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for every random choice (default: [run] seed, else 0).",
)


def run_opts(f: F) -> F:
    """``--overwrite``, ``--public``, ``--offline``, ``--seed``, ``--lang``, ``-q``, ``--json``.

    The options of ``run`` and ``demo``; their values are the keywords of
    :func:`run_and_echo`.
    """
    for opt in (
        json_opt,
        quiet_opt,
        lang_opt,
        seed_opt,
        offline_opt,
        public_opt,
        overwrite_opt,
    ):
        f = opt(f)
    return f


def _step_printer(
    *, quiet: bool, as_json: bool
) -> Callable[[str, StepRecord | None], None]:
    """The ``on_step`` callback of ``run``: a line per step start and end.

    Lines go to stderr; ``as_json`` prints JSON objects on stdout instead and
    ``quiet`` prints nothing.
    """
    from .._steps import STEPS

    index = {s: i + 1 for i, s in enumerate(STEPS)}
    total = len(STEPS)

    def show(step: str, rec: StepRecord | None) -> None:
        n = index.get(step, 0)
        if as_json:
            event: dict[str, Any] = {
                "event": "start" if rec is None else "end",
                "step": step,
                "index": n,
                "total": total,
            }
            if rec is not None:
                event.update(
                    status=rec.status, seconds=rec.seconds, message=rec.message
                )
            click.echo(json.dumps(event))
        elif not quiet:
            where = f"[{n:>2}/{total}] {step:<10}"
            if rec is None:
                click.echo(f"{where} started", err=True)
            else:
                msg = f" - {rec.message}" if rec.message else ""
                click.echo(
                    f"{where} {rec.status:<14}{rec.seconds:7.1f} s{msg}", err=True
                )

    return show


def run_and_echo(
    project: Path,
    out: Path | None,
    *,
    overwrite: bool,
    public: bool,
    offline: bool,
    seed: int | None,
    quiet: bool = False,
    as_json: bool = False,
    lang: str | None = None,
) -> None:
    """Run the pipeline showing each step as it starts and ends (shared with ``demo``).

    Lines go to stderr; ``quiet`` prints nothing but failures, ``as_json``
    prints JSON lines on stdout instead (see :func:`_step_printer`).
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..pipeline import project_out_dir, run_project

    if out is None:
        out = project_out_dir(project)
        if out is None:
            raise click.UsageError(
                "Give --out DIR (or set [run] out in the project file)."
            )
    ctx = click.get_current_context()
    quiet = quiet or (ctx.find_root().obj or {}).get("verbosity", 0) < 0
    progress = progress_enabled() and not (quiet or as_json)
    with logging_redirect_tqdm():
        result = run_project(
            project,
            out,
            overwrite=overwrite,
            public=public,
            offline=offline,
            seed=seed,
            lang=lang,
            progress=progress,
            on_step=_step_printer(quiet=quiet, as_json=as_json),
        )
    failed = {s: r.message for s, r in result.steps.items() if r.status == "failed"}
    status = EXIT_STEP_FAILED if failed else 0
    if as_json:
        click.echo(
            json.dumps(
                {
                    "event": "done",
                    "out_dir": str(result.out_dir),
                    "files": len(result.files),
                    "seconds": result.manifest.get("seconds"),
                    "failed": sorted(failed),
                    "exit_status": status,
                }
            )
        )
    elif not quiet:
        click.echo(
            f"Outputs in {result.out_dir}: map.html, report.html, manifest.json "
            f"({len(result.files)} files)."
        )
    if failed:
        for step, why in failed.items():
            click.echo(f"Step {step} failed: {why}", err=True)
        click.echo(
            f"{len(failed)} step(s) failed (reasons in {result.out_dir}/manifest.json, "
            f'"steps"); the other outputs are written. Exit status '
            f"{EXIT_STEP_FAILED}.",
            err=True,
        )
        ctx.exit(EXIT_STEP_FAILED)


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

    Each step is shown on stderr as it starts and ends, with its time
    (-q: quiet; --json: JSON lines on stdout instead).

    Example: trapscape run survey.toml --out results --public --offline
    """
    run_and_echo(project, out, **flags)
