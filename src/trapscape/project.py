"""Survey project files (TOML): the inputs and the parameters of every step.

A project file names the survey's input files (paths relative to the TOML's
folder) and holds one table of keyword arguments per analysis step.  See
``docs/project-file.md`` for the full format and an example.
"""

from __future__ import annotations

import datetime
import difflib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _steps
from .errors import InputError, ProblemCollector, TrapscapeError
from .survey import Survey

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SECTIONS", "Project", "load_project"]

#: known keys of [survey] -> type
SURVEY_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "crs": str,
    "stations": str,
    "sightings": str,
    "camtrap_dp": str,
    "species": str,
    "x": str,
    "y": str,
    "stations_crs": str,
    "date_format": str,
    "earliest_date": (str, datetime.date),
    "latest_date": (str, datetime.date),
    "description": str,
}
#: known keys of [boundaries] -> type
BOUNDARY_KEYS: dict[str, type | tuple[type, ...]] = {
    "study_area": str,
    "zones": str,
    "zone_field": str,
    "parks": str,
    "park_field": str,
    "border": str,
    "habitat": str,
    "study_area_field": str,
}
#: every top-level section a project file may have: the survey's own, the
#: step sections of the step table, and [simulate] (``trapscape simulate``)
SECTIONS = (
    "survey",
    "boundaries",
    "rasters",
    "steps",
    *_steps.STEP_SECTIONS,
    "simulate",
)


@dataclass(frozen=True)
class Project:
    """A loaded project file.

    Attributes
    ----------
    path
        Absolute path of the TOML file.
    survey
        The survey it names, read and validated (all species); ``None``
        when loaded with ``read=False``.
    params
        Every section other than [survey] and [boundaries], as dicts
        (``params["density"]`` holds the keyword arguments of the density
        step; ``params["rasters"]`` maps names to resolved paths; ``params
        ["steps"]`` maps step names to booleans).  Missing sections are
        empty dicts.
    inputs
        Every file the project names, resolved (for checksums in run
        manifests), e.g. ``{"survey.stations": Path(...), "rasters.elevation":
        Path(...)}``.
    species
        Target species of [survey] (``None``: all species).
    name
        The survey name.
    """

    path: Path
    survey: Survey | None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, Path] = field(default_factory=dict)
    species: str | None = None
    name: str = "survey"

    def step(self, name: str) -> dict[str, Any]:
        """Keyword arguments of one step (empty dict when absent)."""
        return dict(self.params.get(name, {}))

    def enabled(self, name: str, *, default: bool = True) -> bool:
        """Whether [steps] switches ``name`` on."""
        return bool(self.params.get("steps", {}).get(name, default))


def _tname(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return {
        "str": "a string",
        "bool": "true or false",
        "int": "an integer",
        "float": "a number",
    }.get(t.__name__, t.__name__)


def _literal_choices(fn: Any) -> dict[str, tuple[Any, ...]]:
    """Keyword name -> allowed values, for parameters annotated ``Literal[...]``."""
    return {k: c.values for k, c in _steps.allowed_values(fn).items()}


def _check_choices(section: str, values: dict[str, Any]) -> list[str]:
    """Messages for step keywords whose value is not one of their ``Literal`` values.

    The rule is :func:`trapscape._steps.choice_problems` (the step table).
    """
    return _steps.choice_problems(section, values)


def _read_toml(p: Path) -> dict[str, Any]:
    """The parsed TOML of a project file (clean errors for missing/bad files)."""
    fname = p.name
    if not p.exists():
        raise InputError(
            f"{p}: project file not found (looked in {p.resolve()}). Fix the path.",
            path=p,
        )
    why = _steps.path_problem("project", "file", p)  # no devices, FIFOs, loops
    if why is not None:
        raise InputError(f"{p}: the project file {why}. Fix the path.", path=p)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(
            f"{fname}: not valid TOML ({err}). Fix the syntax.", path=p
        ) from err
    except UnicodeDecodeError as err:
        raise InputError(f"{fname}: not UTF-8 text. Save it as UTF-8.", path=p) from err
    return doc


def _check_top_level(doc: dict[str, Any], bad: Callable[[str], None]) -> None:
    """Every top-level key is a known section."""
    for key, value in doc.items():
        if key not in SECTIONS:
            hint = difflib.get_close_matches(key, SECTIONS, n=1)
            if not isinstance(value, dict):
                bad(
                    f"top-level key '{key}' is not inside a section. Put it under "
                    "[survey] or the step it belongs to."
                )
            else:
                bad(
                    f"unknown section [{key}]."
                    + (
                        f" Did you mean [{hint[0]}]?"
                        if hint
                        else f" Known sections: {', '.join(SECTIONS)}."
                    )
                )
        elif not isinstance(value, dict):
            bad(f"'{key}' must be a section ([{key}]), not a value.")


def _check_known_keys(
    sec: str,
    values: dict[str, Any],
    known: dict[str, type | tuple[type, ...]],
    bad: Callable[[str], None],
) -> None:
    """Keys of [survey]/[boundaries]: known names, right types."""
    for k, v in values.items():
        if k not in known:
            hint = difflib.get_close_matches(k, list(known), n=1)
            bad(
                f"[{sec}] unknown key '{k}'."
                + (
                    f" Did you mean '{hint[0]}'?"
                    if hint
                    else f" Known keys: {', '.join(known)}."
                )
            )
        elif not isinstance(v, known[k]):
            bad(f"[{sec}] {k} = {v!r}: must be {_tname(known[k])}.")


def _check_rasters_and_steps(
    raster_sec: dict[str, Any], steps_sec: dict[str, Any], bad: Callable[[str], None]
) -> None:
    """[rasters] values are paths; [steps] switches are known and boolean."""
    for k, v in raster_sec.items():
        if not isinstance(v, str):
            bad(f"[rasters] {k} = {v!r}: must be a file path (a string).")
    for k, v in steps_sec.items():
        if not isinstance(v, bool):
            bad(f"[steps] {k} = {v!r}: must be true or false.")
        elif k not in _steps.SWITCHES and k not in ("validate",):
            hint = difflib.get_close_matches(k, _steps.SWITCHES, n=1)
            bad(
                f"[steps] unknown step '{k}'."
                + (
                    f" Did you mean '{hint[0]}'?"
                    if hint
                    else f" Known steps: {', '.join(_steps.SWITCHES)}."
                )
            )


def _check_crs(survey_sec: dict[str, Any], bad: Callable[[str], None]) -> None:
    """[survey] crs and stations_crs are CRSs pyproj understands."""
    for k in ("crs", "stations_crs"):
        v = survey_sec.get(k)
        if isinstance(v, str):
            import pyproj

            try:
                pyproj.CRS.from_user_input(v)
            except pyproj.exceptions.CRSError:
                bad(
                    f"[survey] {k} = '{v}': not a CRS pyproj understands. Use an EPSG "
                    "code such as 'EPSG:32652'."
                )


def load_project(
    path: str | os.PathLike[str], *, crs: Any = None, read: bool = True
) -> Project:
    """Load a survey project TOML file and read the survey it names.

    Parameters
    ----------
    path
        The TOML file.  Input paths in it are relative to its folder.
    crs
        Override of ``[survey] crs``.
    read
        When False, only the TOML is checked (files must still exist), the
        survey is not read and step keys and values are not checked
        against the step table, so no step module is imported;
        ``Project.survey`` is then ``None``.

    Returns
    -------
    Project

    Raises
    ------
    InputError
        Bad TOML syntax, unknown sections or keys, wrong value types, missing
        files: every problem in one message naming the key and the file.
    """
    p = Path(path)
    fname = p.name
    doc = _read_toml(p)
    base = p.resolve().parent
    pc = ProblemCollector()

    def bad(msg: str) -> None:
        pc.add(msg, path=fname)

    _check_top_level(doc, bad)
    survey_sec = doc.get("survey", {}) if isinstance(doc.get("survey"), dict) else {}
    bound_sec = (
        doc.get("boundaries", {}) if isinstance(doc.get("boundaries"), dict) else {}
    )
    raster_sec = doc.get("rasters", {}) if isinstance(doc.get("rasters"), dict) else {}
    steps_sec = doc.get("steps", {}) if isinstance(doc.get("steps"), dict) else {}
    if "survey" not in doc:
        bad("no [survey] section. Add [survey] with stations = '...' (or camtrap_dp).")

    _check_known_keys("survey", survey_sec, SURVEY_KEYS, bad)
    _check_known_keys("boundaries", bound_sec, BOUNDARY_KEYS, bad)
    _check_rasters_and_steps(raster_sec, steps_sec, bad)

    inputs: dict[str, Path] = {}

    def resolve(sec: str, key: str, value: Any) -> Path | None:
        if not isinstance(value, str) or value.strip() == "":
            return None
        target = Path(value) if Path(value).is_absolute() else base / value
        try:
            target = target.resolve()
        except (OSError, RuntimeError):  # a symbolic-link loop: reported below
            target = Path(os.path.abspath(target))
        why = _steps.path_problem(sec, key, target)
        if why is not None:
            bad(f"[{sec}] {key} = '{value}': {why} (looked in {target}). Fix the path.")
            return None
        inputs[f"{sec}.{key}"] = target
        return target

    st_path = resolve("survey", "stations", survey_sec.get("stations"))
    si_path = resolve("survey", "sightings", survey_sec.get("sightings"))
    dp_path = resolve("survey", "camtrap_dp", survey_sec.get("camtrap_dp"))
    if (
        "survey" in doc
        and not survey_sec.get("stations")
        and not survey_sec.get("camtrap_dp")
    ):
        bad(
            "[survey] needs stations = 'stations.csv' or camtrap_dp = 'datapackage.json'."
        )
    if survey_sec.get("stations") and survey_sec.get("camtrap_dp"):
        bad("[survey] give either stations (+ sightings) or camtrap_dp, not both.")
    bpaths: dict[str, Path] = {}
    for k in ("study_area", "zones", "parks", "border", "habitat"):
        r = resolve("boundaries", k, bound_sec.get(k))
        if r is not None:
            bpaths[k] = r
    rasters: dict[str, Path] = {}
    for k, v in raster_sec.items():
        r = resolve("rasters", k, v)
        if r is not None:
            rasters[k] = r
    if read:  # step keys and values need the step modules: skipped for a quick look
        _steps.check_sections(
            {k: v for k, v in doc.items() if k != "steps"}, fname, pc, base=base
        )
    _check_crs(survey_sec, bad)
    pc.raise_if_any()

    params: dict[str, dict[str, Any]] = {}
    for key, value in doc.items():
        if key in ("survey", "boundaries"):
            continue
        params[key] = dict(value)
    params["rasters"] = dict(rasters)
    for s in ("steps", "run", *_steps.SWITCHES, "simulate"):
        params.setdefault(s, {})
    name = survey_sec.get("name") or p.stem
    survey: Survey | None = None
    if read:
        survey = _read_project_survey(
            p, survey_sec, bound_sec, st_path, si_path, dp_path, bpaths, crs, name
        )
        _check_grid_memory(survey, params, fname)
    return Project(
        path=p.resolve(),
        survey=survey,
        params=params,
        inputs=inputs,
        species=survey_sec.get("species"),
        name=name,
    )


def _check_grid_memory(
    survey: Survey, params: dict[str, dict[str, Any]], where: str
) -> None:
    """Refuse grid sizes whose grid alone would exceed the memory budget."""
    given = {
        s: {**_steps.defaults(s, run=True), **params.get(s, {})}
        for s in _steps.GRID_KEYS
    }
    _steps.grid_memory_problems(given, tuple(survey.stations.total_bounds), where)


def _read_project_survey(
    p: Path,
    sec: dict[str, Any],
    bsec: dict[str, Any],
    st_path: Path | None,
    si_path: Path | None,
    dp_path: Path | None,
    bpaths: dict[str, Path],
    crs: Any,
    name: str,
) -> Survey:
    from dataclasses import replace

    from . import io

    target = crs if crs is not None else sec.get("crs")
    try:
        if dp_path is not None:
            survey = io.read_camtrap_dp(dp_path, crs=target)
            if bpaths:
                survey = io.add_boundaries(survey, dict(bpaths.items()))
            return replace(survey, name=name)
        assert st_path is not None
        fields = {
            "zones": bsec.get("zone_field", "name"),
            "parks": bsec.get("park_field", "name"),
            "study_area": bsec.get("study_area_field", "name"),
        }
        return io.build_survey(
            stations=st_path,
            sightings=si_path,
            boundaries=dict[str, str | os.PathLike[str]](bpaths) or None,
            boundary_fields=fields,
            crs=target,
            stations_crs=sec.get("stations_crs"),
            x=sec.get("x"),
            y=sec.get("y"),
            date_format=sec.get("date_format"),
            date_window=(sec.get("earliest_date"), sec.get("latest_date")),
            name=name,
        )
    except InputError as err:
        raise type(err)(
            f"{p.name}: the survey it names has problems:\n{err}",
            path=err.path,
            row=err.row,
            column=err.column,
            problems=err.problems,
        ) from err
    except TrapscapeError as err:
        raise type(err)(f"{p.name}: {err}") from err
