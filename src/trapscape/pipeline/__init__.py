"""The main job: one call from a survey project file to maps and a report.

:func:`run_project` reads a project file (see :mod:`trapscape.project`) and
runs, in order::

    validate -> effort -> coverage -> density -> pdot -> homerange
             -> corridors -> plan -> reserve -> figures -> map -> report

Each step can be switched off in the project's ``[steps]`` section (effort
and pdot follow ``coverage``; reserve and figures follow ``report``) and
takes its parameters from its own section (``[coverage]``, ``[density]``,
...), whose keys are the keyword names of the step's library functions.
Where a section is silent, :data:`trapscape._steps.RUN_DEFAULTS` keeps the bundled
example fast (2 km coverage cells, pdot and corridors at 500 m).  Results
are written into a temporary sibling of the output directory, which is
renamed into place only when the run has finished, so an interrupted run
never leaves half-written outputs.  ``manifest.json`` records input
checksums, parameters, package versions, per-step status and timings, and
the seed.

A step that cannot be computed on the data (for example a density model with
too few recaptures) is recorded as ``"failed"`` with the reason and the run
goes on; invalid input aborts the run before anything is written.

Modules: :mod:`.run` (run_project, run_survey), :mod:`.steps` (one function
per step), :mod:`.writers` (shared output writers), :mod:`.manifest`,
:mod:`.results` (load_results) and :mod:`.context` (records).  The run's
products are a :class:`trapscape.products.RunProducts`.
"""

from __future__ import annotations

from ..detection import resolve_detection
from ..effort import station_table
from .context import RunResult, StepRecord
from .results import load_results
from .run import (
    PIPELINE_DEFAULTS,
    STEP_SECTION,
    STEP_SECTIONS,
    STEP_SWITCH,
    STEPS,
    _check_params,  # noqa: F401 (tests)
    project_out_dir,
    run_project,
    run_survey,
)
from .steps import _STEP_FUNCS  # noqa: F401 (tests monkeypatch it)

__all__ = [
    "PIPELINE_DEFAULTS",
    "STEPS",
    "STEP_SECTION",
    "STEP_SECTIONS",
    "STEP_SWITCH",
    "RunResult",
    "StepRecord",
    "load_results",
    "project_out_dir",
    "resolve_detection",
    "run_project",
    "run_survey",
    "station_table",
]
