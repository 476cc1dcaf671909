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

__all__ = ["SECTIONS", "Project", "load_project", "read_session_surveys"]

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
    "sessions",
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


def _check_survey_source(
    survey_sec: dict[str, Any], bad: Callable[[str], None]
) -> None:
    """[survey] names its stations or a Camtrap DP package, not both."""
    if not survey_sec.get("stations") and not survey_sec.get("camtrap_dp"):
        bad(
            "[survey] needs stations = 'stations.csv' or camtrap_dp = 'datapackage.json'."
        )
    if survey_sec.get("stations") and survey_sec.get("camtrap_dp"):
        bad("[survey] give either stations (+ sightings) or camtrap_dp, not both.")


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
    if "survey" in doc:
        _check_survey_source(survey_sec, bad)
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
    sessions = _check_sessions(doc.get("sessions"), survey_sec, base, inputs, bad)
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
    params["sessions"] = sessions
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


# ------------------------------------------------------------------ sessions
#: keys of one [[sessions.survey]] table (besides name and covariates): the
#: survey's input keys, read as [survey] reads them
SESSION_SURVEY_KEYS: dict[str, type | tuple[type, ...]] = {
    k: SURVEY_KEYS[k]
    for k in (
        "stations",
        "sightings",
        "camtrap_dp",
        "species",
        "x",
        "y",
        "stations_crs",
        "date_format",
        "earliest_date",
        "latest_date",
        "description",
    )
}
#: [survey] keys a session takes over when it does not set them
_SESSION_INHERITS = ("species", "x", "y", "stations_crs", "date_format")
#: keys of [sessions] itself (fit_sessions' keywords are accepted as well)
SESSIONS_KEYS = (
    "density",
    "detectfn",
    "occasion_model",
    "occasion_days",
    "detector",
    "buffer",
    "spacing",
    "max_mask_points",
    "independence_minutes",
    "max_memory_gb",
    "species",
    "split",
    "windows",
    "covariates",
    "survey",
)


def _fit_keywords() -> set[str]:
    from ._signature import accepted
    from .density.multisession import fit_sessions

    return set(accepted(fit_sessions) or ()) - {"sessions"}


def _check_sessions(
    sec: Any,
    survey_sec: dict[str, Any],
    base: Path,
    inputs: dict[str, Path],
    bad: Callable[[str], None],
) -> dict[str, Any]:
    """[sessions] and its [[sessions.survey]] tables, checked and resolved.

    Returns the section with every session's files resolved to absolute
    paths and the [survey] reader keys it does not set taken over; an empty
    dict without [sessions].
    """
    if sec is None:
        return {}
    if isinstance(sec, list):
        bad(
            "[[sessions]]: write one [[sessions.survey]] table per survey (name, "
            "stations, sightings or camtrap_dp, covariates) and the models in "
            "[sessions] (density = ['~1', '~Session']); TOML cannot hold both "
            "under one name."
        )
        return {}
    if not isinstance(sec, dict):  # reported by _check_top_level
        return {}
    out = dict(sec)
    for k in sec:
        if k not in SESSIONS_KEYS and k not in _fit_keywords():
            hint = difflib.get_close_matches(k, SESSIONS_KEYS, n=1)
            bad(
                f"[sessions] unknown key '{k}'."
                + (
                    f" Did you mean '{hint[0]}'?"
                    if hint
                    else f" Known keys: {', '.join(SESSIONS_KEYS)}."
                )
            )
    numbers = {k: v for k, v in sec.items() if k not in ("density", "survey")}
    for msg, _key in _steps.value_problems("sessions", numbers):
        bad(msg)  # the value rules of the step table (positive buffer, ...)
    dens = sec.get("density", ["~1", "~session"])
    dens_list = [dens] if isinstance(dens, str) else dens
    if (
        not isinstance(dens_list, list)
        or not dens_list
        or not all(isinstance(d, str) and d.strip() for d in dens_list)
    ):
        bad(
            f"[sessions] density = {dens!r}: give a formula or a list of them, "
            "e.g. density = ['~1', '~session', '~Session', '~prey']."
        )
    split = sec.get("split")
    windows = sec.get("windows")
    tables = sec.get("survey")
    if split is not None and split != "year":
        bad(
            f"[sessions] split = {split!r}: use split = 'year' or a windows table "
            "(windows = {{ '2019' = ['2019-01-01', '2019-03-31'], ... }})."
        )
    if windows is not None and not isinstance(windows, dict):
        bad("[sessions] windows must be a table: name = ['first day', 'last day'].")
    if tables is not None and (split is not None or windows is not None):
        bad(
            "[sessions]: give either [[sessions.survey]] tables (one per survey) or "
            "split / windows (cut the main survey into periods), not both."
        )
    if tables is None and split is None and windows is None:
        bad(
            "[sessions] names no sessions: add a [[sessions.survey]] table per "
            "survey, or split = 'year' (or windows) to cut the main survey."
        )
    _check_covariate_table(sec.get("covariates"), "[sessions] covariates", bad)
    if tables is not None:
        out["survey"] = _check_session_tables(tables, survey_sec, base, inputs, bad)
    return out


def _check_covariate_table(
    covs: Any, where: str, bad: Callable[[str], None], *, flat: bool = False
) -> None:
    """Session covariates: numbers (``flat``), or session -> numbers."""
    if covs is None:
        return
    if not isinstance(covs, dict):
        bad(f"{where} must be a table, e.g. covariates = {{ prey = 0.8 }}.")
        return
    groups = {"": covs} if flat else covs
    for sname, vals in groups.items():
        if not isinstance(vals, dict):
            bad(f"{where} {sname}: must be a table of numbers, e.g. {{ prey = 0.8 }}.")
            continue
        for k, v in vals.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                bad(
                    f"{where} {sname} {k} = {v!r}: a session covariate must be a number."
                )


def _check_session_tables(
    tables: Any,
    survey_sec: dict[str, Any],
    base: Path,
    inputs: dict[str, Path],
    bad: Callable[[str], None],
) -> list[dict[str, Any]]:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        bad("[sessions] survey must be [[sessions.survey]] tables, one per survey.")
        return []
    if len(tables) < 2:
        bad(
            f"[[sessions.survey]]: {len(tables)} session given; a multi-session fit "
            "needs at least two. Add another [[sessions.survey]] table."
        )
    known = {**SESSION_SURVEY_KEYS, "name": str, "covariates": dict}
    seen: set[str] = set()
    out = []
    for i, t in enumerate(tables, start=1):
        name = t.get("name")
        where = f"[[sessions.survey]] #{i}" + (f" ({name!r})" if name else "")
        if not isinstance(name, str) or not name.strip():
            bad(f"{where}: needs name = '...' (e.g. the year), a string.")
        elif name in seen:
            bad(f"{where}: the name {name!r} is used twice; session names must differ.")
        else:
            seen.add(name)
        for k, v in t.items():
            if k not in known:
                hint = difflib.get_close_matches(k, list(known), n=1)
                bad(
                    f"{where}: unknown key '{k}'."
                    + (f" Did you mean '{hint[0]}'?" if hint else "")
                    + " Session covariates go in covariates = { prey = 0.8 }."
                )
            elif not isinstance(v, known[k]):
                bad(f"{where} {k} = {v!r}: must be {_tname(known[k])}.")
        _check_covariate_table(
            t.get("covariates"), f"{where} covariates", bad, flat=True
        )
        if not t.get("stations") and not t.get("camtrap_dp"):
            bad(f"{where}: needs stations = '...' (+ sightings) or camtrap_dp = '...'.")
        if t.get("stations") and t.get("camtrap_dp"):
            bad(f"{where}: give either stations (+ sightings) or camtrap_dp, not both.")
        res = {k: survey_sec[k] for k in _SESSION_INHERITS if k in survey_sec}
        res.update(t)
        for key in ("stations", "sightings", "camtrap_dp"):
            v = t.get(key)
            if not isinstance(v, str) or not v.strip():
                continue
            target = Path(v) if Path(v).is_absolute() else base / v
            why = _steps.path_problem("survey", key, target)
            if why is not None:
                bad(f"{where} {key} = '{v}': {why} (looked in {target}). Fix the path.")
                continue
            inputs[f"sessions.{name}.{key}"] = target.resolve()
            res[key] = str(target.resolve())
        out.append(res)
    return out


def read_session_surveys(
    section: dict[str, Any], main: Survey, *, where: str = "project"
) -> dict[str, tuple[Survey, dict[str, float]]]:
    """The surveys of a checked [sessions] section, by session name, with covariates.

    [[sessions.survey]] tables are read as [survey] is (same readers, the
    main survey's CRS) and share the main survey's boundaries (habitat,
    zones, parks); ``split`` / ``windows`` cut ``main`` into periods
    (:func:`trapscape.density.split_survey`).

    Raises
    ------
    InputError
        A session's files have problems (the message names the session).
    """
    from dataclasses import replace

    covs = dict(section.get("covariates") or {})
    tables = section.get("survey")
    if not tables:
        from .density.multisurvey import split_survey

        how = section.get("windows") or section.get("split") or "year"
        parts = split_survey(main, how)
        return {n: (sv, dict(covs.get(n, {}))) for n, sv in parts.items()}
    out: dict[str, tuple[Survey, dict[str, float]]] = {}
    for t in tables:
        name = str(t["name"])
        paths = {k: Path(t[k]) if t.get(k) else None for k in _SESSION_PATHS}
        try:
            sv = _read_project_survey(
                Path(where),
                t,
                {},
                paths["stations"],
                paths["sightings"],
                paths["camtrap_dp"],
                {},
                main.crs,
                name,
            )
        except TrapscapeError as err:
            raise InputError(f"session {name!r}: {err}") from err
        sv = replace(
            sv.species_subset(t.get("species")),
            study_area=main.study_area,
            zones=main.zones,
            parks=main.parks,
            border=main.border,
            habitat=main.habitat,
        )
        out[name] = (sv, {**covs.get(name, {}), **dict(t.get("covariates") or {})})
    return out


_SESSION_PATHS = ("stations", "sightings", "camtrap_dp")
