"""Run the steps in order into a staging folder moved into place at the end."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._output import (
    KeptStage,
    TargetState,
    claim_target,
    describe_unowned,
    kept_stage,
    known_files,
    manifest_checksums,
    move_noreplace,
    new_stage,
    remove_stale_stages,
    unowned_files,
)
from .._steps import (
    RUN_DEFAULTS,
    STEP_SECTIONS,
    STEP_SWITCH,
    STEPS,
    check_sections,
    grid_memory_problems,
)
from ..errors import (
    InputError,
    MissingDependencyError,
    TrapscapeError,
    TrapscapeWarning,
)
from ..privacy import DEFAULT_CELL
from ..project import load_project

if TYPE_CHECKING:
    from ..survey import Survey

from .context import RunResult, StepRecord, _Context, _NotAvailable, _Skip
from .manifest import _manifest, _write_public_readme
from .steps import _STEP_FUNCS, _scrub_records
from .writers import _jsonable

__all__ = [
    "PIPELINE_DEFAULTS",
    "STEP_SECTION",
    "StepCallback",
    "project_out_dir",
    "run_project",
    "run_survey",
]

logger = logging.getLogger("trapscape.pipeline")


PIPELINE_DEFAULTS = RUN_DEFAULTS

#: ``on_step(step, record)``: a step starts (``record`` is None) or ends.
StepCallback = Callable[[str, StepRecord | None], None]


STEP_SECTION: dict[str, str] = dict(STEP_SWITCH)


def _check_params(
    params: Mapping[str, Any], project_path: str | None
) -> dict[str, dict[str, Any]]:
    """Check step sections and the [steps] switches (the step table's rule)."""
    return check_sections(params, project_path)


def run_project(
    project_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    public: bool = False,
    offline: bool = False,
    seed: int | None = None,
    progress: bool = False,
    on_step: StepCallback | None = None,
    lang: str | None = None,
) -> RunResult:
    """Run every switched-on step of a project file into ``out_dir``.

    Parameters
    ----------
    project_path
        Survey project file (TOML; see :func:`trapscape.project.load_project`).
    out_dir
        Output directory.  Created; must not exist or be empty unless
        ``overwrite``.
    overwrite
        Replace an earlier trapscape run in ``out_dir`` (only once the new
        run has finished, and only if every file there is one that run wrote,
        unchanged since; see docs/outputs.md).
    public
        Write a public version: station and sighting locations generalised
        to grid cells (``[run] public_cell``, default
        :data:`trapscape.privacy.DEFAULT_CELL` m) and individual
        identities removed from every output (see :mod:`trapscape.privacy`).
    offline
        Check for the local Leaflet copy even when the map step is switched
        off.  ``map.html`` always inlines Leaflet's JavaScript and CSS, so it
        works without internet (see :func:`trapscape.present.maps.save_map`).
    seed
        Seed for every random choice (planning ties).  Default: ``[run]
        seed`` of the project file, else 0.  ``[run] public = true`` and
        ``offline = true`` switch those modes on as well.
    progress
        Show a progress bar over the steps (and within the long ones).
    on_step
        Called as each step starts, ``on_step(step, None)``, and ends,
        ``on_step(step, record)`` with its :class:`StepRecord` (status,
        seconds, message); a step switched off only ends.  ``trapscape run``
        prints a line per call (or a JSON line with ``--json``).
    lang
        Language of map.html, report.html and the figures (``"en"``,
        ``"ru"``, ``"zh"``).  Default: ``[run] lang`` of the project file,
        else English.

    Returns
    -------
    RunResult
        Output directory, per-step records and the manifest.

    Raises
    ------
    InputError
        If the output directory exists and is not empty (pass
        ``overwrite=True``), or the project file is invalid; nothing is
        written in that case.

    References
    ----------
    The steps cite their methods; see :mod:`trapscape.present.report`.
    """
    project_path = Path(project_path)
    _check_out_dir(Path(out_dir), overwrite=overwrite)
    project = load_project(project_path)
    inputs = {
        str(k): Path(v) for k, v in dict(getattr(project, "inputs", {}) or {}).items()
    }
    inputs.setdefault("project", project_path)
    params = {
        k: dict(v) if isinstance(v, Mapping) else v
        for k, v in (getattr(project, "params", {}) or {}).items()
    }
    if _is_bundled_example(project_path):
        params.setdefault("report", {}).setdefault("simulated", True)
    survey = project.survey
    assert survey is not None  # load_project(read=True) reads it
    species = getattr(project, "species", None)
    if species:
        survey = survey.species_subset(species)
    run = params.get("run", {}) or {}
    return run_survey(
        survey,
        out_dir,
        params=params,
        inputs=inputs,
        overwrite=overwrite,
        public=public or run.get("public") is True,
        offline=offline or run.get("offline") is True,
        seed=seed if seed is not None else _run_seed(run),
        lang=lang if lang is not None else run.get("lang", "en"),
        progress=progress,
        project_path=project_path,
        on_step=on_step,
    )


def _run_seed(run: Mapping[str, Any]) -> int:
    seed = run.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def project_out_dir(project_path: str | os.PathLike[str]) -> Path | None:
    """``[run] out`` of a project file, resolved against its folder (or None)."""
    project = load_project(project_path, read=False)
    out = (project.params.get("run", {}) or {}).get("out")
    if not isinstance(out, str) or not out.strip():
        return None
    p = Path(out)
    return p if p.is_absolute() else Path(project_path).resolve().parent / p


def _is_bundled_example(project_path: Path) -> bool:
    """Whether the project is the bundled (simulated) example."""
    try:
        from ..datasets import get_path

        example = Path(get_path("example")).resolve()
    except Exception:  # datasets missing or example not installed
        return False
    return project_path.resolve().parent == example.parent


def _check_out_dir(out: Path, *, overwrite: bool) -> TargetState:
    """Refuse an output folder the run could not safely replace.

    A run replaces its whole output folder, so the folder must be new,
    empty, or (with ``overwrite``) hold only files that trapscape wrote and
    that are unchanged since (see :mod:`trapscape._output`); and it must not
    be, or contain, the working directory.
    """
    if out.exists() and not out.is_dir():
        raise InputError(
            f"Output {out} exists and is a file; choose a directory path for --out.",
            path=out,
        )
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise InputError(
            f"--out {out} is the current folder or contains it; a run replaces its "
            "whole output folder, so give a new or empty sub-folder, e.g. --out results.",
            path=out,
        )
    if not out.exists():
        return "new"
    if not any(out.iterdir()):
        return "empty"
    if not overwrite:
        raise InputError(
            f"Output directory {out} exists and is not empty. Pass --overwrite "
            "(overwrite=True) to replace it, or choose another --out.",
            path=out,
        )
    if (out / "manifest.json").exists():
        manifest_checksums(out)  # refuses an unreadable or forged manifest
    foreign = unowned_files(out, known_files(out))
    if foreign:
        raise InputError(
            f"{out} holds files that are not from a trapscape run, or that changed "
            f"since it wrote them: {describe_unowned(foreign)}. --overwrite replaces "
            "the whole folder, so move those files out, or choose a new or empty "
            "folder; nothing was written.",
            path=out,
        )
    return "ours"


def run_survey(
    survey: Survey,
    out_dir: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    overwrite: bool = False,
    public: bool = False,
    offline: bool = False,
    seed: int = 0,
    progress: bool = False,
    project_path: str | os.PathLike[str] | None = None,
    on_step: StepCallback | None = None,
    lang: str = "en",
) -> RunResult:
    """Run the pipeline on an already loaded survey.

    Same as :func:`run_project`, with the project's sections given as
    ``params`` (``{"steps": {...}, "coverage": {...}, ...}``) and its input
    files as ``inputs`` (name -> path, for checksums and rasters).
    """
    out = Path(out_dir)
    _check_out_dir(out, overwrite=overwrite)
    checked = _check_params(
        params or {}, os.fspath(project_path) if project_path else None
    )
    pub_cell = float(checked.get("run", {}).get("public_cell", DEFAULT_CELL))
    from ..present.i18n import check_lang

    lang = check_lang(lang)
    inputs_p = {k: Path(v) for k, v in dict(inputs or {}).items()}
    switches = checked.pop("steps")
    if offline or switches.get("map", True):
        # map.html always inlines Leaflet: fail before any work without it
        from ..present.maps import offline_assets

        offline_assets()
    step_params = {s: _with_defaults(s, checked.get(s, {})) for s in STEP_SECTIONS}
    step_params["rasters"] = dict(dict((params or {}).get("rasters", {}) or {}).items())
    step_params["sessions"] = dict((params or {}).get("sessions") or {})
    grid_memory_problems(
        step_params,
        tuple(survey.stations.total_bounds),
        os.fspath(project_path) if project_path else None,
    )
    public_survey = None
    if public:
        from ..privacy import generalise_survey

        public_survey = generalise_survey(survey, cell=pub_cell)

    with claim_target(out):  # a second run into the same folder is refused
        state = _check_out_dir(out, overwrite=overwrite)
        remove_stale_stages(out)
        _remove_stale_old(out)
        stage = new_stage(out)
        # From here on every exit path removes the staging folder: errors,
        # Ctrl-C (KeyboardInterrupt) and SystemExit (raised by the CLI's SIGTERM
        # handler), so an interrupted run leaves the previous output as it was;
        # only a finished run that could not be moved into place is kept.
        try:
            ctx = _Context(
                survey=survey,
                public_survey=public_survey,
                params=step_params,
                stage=stage,
                seed=int(seed),
                public=public,
                public_cell=pub_cell,
                offline=offline,
                lang=lang,
                inputs=inputs_p,
                progress=progress,
                project_dir=Path(project_path).resolve().parent
                if project_path
                else None,
            )
            started = time.perf_counter()
            _run_steps(ctx, switches, on_step)
            _scrub_records(ctx)
            if ctx.public:
                _write_public_readme(ctx)
            manifest = _manifest(
                ctx, switches, time.perf_counter() - started, project_path
            )
            (stage / "manifest.json").write_text(
                json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
            )
            _move_into_place(stage, out, state=state)
        except KeptStage:
            raise
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    logger.info("Run finished in %.1f s: %s", manifest["seconds"], out)
    return RunResult(out_dir=out, steps=ctx.records, manifest=manifest)


def _with_defaults(step: str, section: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(RUN_DEFAULTS.get(step, {}))
    merged.update(section)
    return merged


def _run_steps(
    ctx: _Context, switches: Mapping[str, bool], on_step: StepCallback | None = None
) -> None:
    bar = None
    if ctx.progress and on_step is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(STEPS), desc="trapscape run", unit="step")
    try:
        for step in STEPS:
            if bar is not None:
                bar.set_postfix_str(step)
            rec = StepRecord(
                status="ok",
                params=_jsonable(ctx.params.get(STEP_SECTION.get(step, ""), {})),
            )
            ctx.records[step] = rec
            if step != "validate" and not switches.get(STEP_SWITCH[step], True):
                rec.status, rec.message = "skipped", "switched off in [steps]"
                logger.info("Step %s: skipped (switched off)", step)
            else:
                if on_step is not None:
                    on_step(step, None)
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", TrapscapeWarning)
                        rec.message = _STEP_FUNCS[step](ctx)
                    for w in caught:
                        if issubclass(w.category, TrapscapeWarning):
                            ctx.notes.append(f"{step}: {w.message}")
                        else:
                            warnings.warn_explicit(
                                w.message, w.category, w.filename, w.lineno
                            )
                except (_NotAvailable, MissingDependencyError) as err:
                    rec.status, rec.message = "not available", str(err)
                except ModuleNotFoundError as err:
                    rec.status = "not available"
                    rec.message = (
                        f"step {step} needs {err.name}, which is not installed"
                    )
                except _Skip as err:
                    rec.status, rec.message = "skipped", str(err)
                except TrapscapeError as err:
                    if step == "validate":
                        raise
                    rec.status, rec.message = "failed", str(err)
                    ctx.notes.append(f"{step} failed: {err}")
                except Exception as err:
                    # A defect in one analysis must not cost the user the rest of
                    # the run; it is logged with its traceback and recorded.
                    if step == "validate":
                        raise
                    logger.warning(  # the traceback only at -vv (debug)
                        "Step %s raised an unexpected error: %s: %s",
                        step,
                        type(err).__name__,
                        err,
                        exc_info=logger.isEnabledFor(logging.DEBUG),
                    )
                    rec.status = "failed"
                    rec.message = f"internal error: {type(err).__name__}: {err}"
                    ctx.notes.append(
                        f"{step} failed with an internal error ({type(err).__name__}); "
                        "please report it."
                    )
                rec.seconds = round(time.perf_counter() - t0, 3)
                logger.info(
                    "Step %s: %s in %.1f s%s",
                    step,
                    rec.status,
                    rec.seconds,
                    f" ({rec.message})" if rec.message else "",
                )
            if on_step is not None:
                on_step(step, rec)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _remove_stale_old(out: Path) -> None:
    """Remove previous outputs moved aside by a run that was killed.

    Removed only when every file in it is an unchanged trapscape output;
    anything else is reported and left alone.
    """
    for p in sorted(out.parent.glob(f".{out.name}.old-*")):
        pid = p.name.rsplit("-", 1)[1]
        if not pid.isdigit() or not p.is_dir() or _pid_alive(int(pid)):
            continue
        if unowned_files(p, known_files(p)):
            logger.warning(
                "Left %s alone: a run moved it aside and was killed, and it holds "
                "files that are not trapscape outputs; move them out yourself.",
                p,
            )
        else:
            logger.warning("Removing %s, left by an interrupted run.", p)
            shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into_place(stage: Path, out: Path, *, state: TargetState) -> None:
    """Move the finished staging folder to ``out`` under the output rules.

    ``state`` is what ``out`` was when the run claimed it.  Nothing that
    appeared meanwhile is replaced: the target is checked again right before
    the move, and the renames fail rather than replace.  If something did
    appear, the finished run stays in ``stage`` (:class:`KeptStage`).
    """
    if state == "empty":
        try:
            out.rmdir()  # fails if anything appeared in it meanwhile
        except FileNotFoundError:
            pass
        except OSError:
            raise kept_stage(stage, out, "was filled") from None
    elif state == "ours":
        try:
            _check_out_dir(out, overwrite=True)
        except InputError as err:
            raise kept_stage(stage, out, f"changed ({err})") from None
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        try:
            move_noreplace(out, old)
        except FileNotFoundError:  # removed meanwhile: nothing to replace
            _move_stage(stage, out)
            return
        if unowned_files(old, known_files(old)):  # written in the last instant
            try:
                move_noreplace(old, out)
            except OSError:
                raise KeptStage(
                    f"{kept_stage(stage, out, 'changed')} The previous content "
                    f"of {out} is in {old}.",
                    path=out,
                ) from None
            raise kept_stage(stage, out, "changed")
        try:
            _move_stage(stage, out)
        except KeptStage as err:
            raise KeptStage(f"{err} The previous run is in {old}.", path=out) from None
        shutil.rmtree(old, ignore_errors=True)
        return
    _move_stage(stage, out)


def _move_stage(stage: Path, out: Path) -> None:
    """Rename the finished stage to ``out``, which must not exist."""
    for p in stage.glob(".trapscape-stage"):
        p.unlink()  # the marker of an unfinished stage
    try:
        move_noreplace(stage, out)
    except FileExistsError:
        raise kept_stage(stage, out, "appeared") from None
