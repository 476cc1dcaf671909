"""Run the steps in order into a staging folder moved into place at the end."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._steps import (
    RUN_DEFAULTS,
    STEP_SECTIONS,
    STEP_SWITCH,
    STEPS,
    check_sections,
)
from ..errors import (
    InputError,
    MissingDependencyError,
    TrapscapeError,
    TrapscapeWarning,
)
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
    "project_out_dir",
    "run_project",
    "run_survey",
]

logger = logging.getLogger("trapscape.pipeline")


PIPELINE_DEFAULTS = RUN_DEFAULTS


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
        Replace an existing non-empty ``out_dir`` (only once the new run has
        finished).
    public
        Write a public version: station and sighting locations generalised
        to grid cells (``[public] cell``, default 5000 m) and individual
        identities removed from every output (see :mod:`trapscape.privacy`).
    offline
        Inline the map's JavaScript and CSS so ``map.html`` works without
        internet (needs the local Leaflet copy, see :func:`trapscape.present.maps.save_map`).
    seed
        Seed for every random choice (planning ties).  Default: ``[run]
        seed`` of the project file, else 0.  ``[run] public = true`` and
        ``offline = true`` switch those modes on as well.
    progress
        Show a progress bar over the steps.

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
        progress=progress,
        project_path=project_path,
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


_OS_CLUTTER = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _run_folder_foreign(out: Path) -> list[str] | None:
    """Entries of ``out`` that a trapscape run did not write.

    None when ``out`` has no trapscape ``manifest.json`` (it is not a run
    folder).  The manifest lists the run's files; anything else at the top
    level (a user's notes, photos) is foreign.
    """
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "trapscape_version" not in manifest:
        return None
    files = manifest.get("files")
    if not isinstance(files, list):
        return None
    ours = {"manifest.json"} | {str(f).split("/", 1)[0] for f in files}
    return sorted(p.name for p in out.iterdir() if p.name not in ours | _OS_CLUTTER)


def _check_out_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse an output folder the run could not safely replace.

    A run replaces its whole output folder, so the folder must be new,
    empty, or the output of an earlier run (with ``overwrite``) holding
    nothing else; and it must not be, or contain, the working directory.
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
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError(
            f"Output directory {out} exists and is not empty. Pass --overwrite "
            "(overwrite=True) to replace it, or choose another --out.",
            path=out,
        )
    foreign = _run_folder_foreign(out)
    if foreign is None:  # not a run folder: only OS clutter may be in it
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _OS_CLUTTER)
    if not foreign:
        return
    shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
    raise InputError(
        f"{out} holds files that are not from a trapscape run (e.g. {shown}); "
        "--overwrite replaces the whole folder, so choose a new or empty folder "
        "(or move those files out).",
        path=out,
    )


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
    pub_cell = float(checked.get("run", {}).get("public_cell", 5000.0))
    if offline:  # fail before any work when the offline assets are missing
        from ..present.maps import offline_assets

        offline_assets()
    inputs_p = {k: Path(v) for k, v in dict(inputs or {}).items()}
    switches = checked.pop("steps")
    step_params = {s: _with_defaults(s, checked.get(s, {})) for s in STEP_SECTIONS}
    step_params["rasters"] = dict(dict((params or {}).get("rasters", {}) or {}).items())
    public_survey = None
    if public:
        from ..privacy import generalise_survey

        public_survey = generalise_survey(survey, cell=pub_cell)

    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(out)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    # From here on every exit path removes the staging folder: errors,
    # Ctrl-C (KeyboardInterrupt) and SystemExit (raised by the CLI's SIGTERM
    # handler), so an interrupted run leaves the previous output as it was.
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
            inputs=inputs_p,
            progress=progress,
            project_dir=Path(project_path).resolve().parent if project_path else None,
        )
        started = time.perf_counter()
        _run_steps(ctx, switches)
        _scrub_records(ctx)
        if ctx.public:
            _write_public_readme(ctx)
        manifest = _manifest(ctx, switches, time.perf_counter() - started, project_path)
        (stage / "manifest.json").write_text(
            json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
        )
        _move_into_place(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    logger.info("Run finished in %.1f s: %s", manifest["seconds"], out)
    return RunResult(out_dir=out, steps=ctx.records, manifest=manifest)


def _with_defaults(step: str, section: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(RUN_DEFAULTS.get(step, {}))
    merged.update(section)
    return merged


def _run_steps(ctx: _Context, switches: Mapping[str, bool]) -> None:
    bar = None
    if ctx.progress:
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
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _remove_stale_stages(out: Path) -> None:
    """Delete staging folders of runs that were killed (their process is gone)."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.old-*"):
        for p in out.parent.glob(pattern):
            try:
                pid = int(p.name.rsplit("-", 1)[1])
            except ValueError:
                continue
            if pid == os.getpid() or not _pid_alive(pid):
                logger.info("Removing %s left by an interrupted run", p)
                shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into_place(stage: Path, out: Path) -> None:
    """Rename the finished staging directory to ``out`` (replacing it)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
