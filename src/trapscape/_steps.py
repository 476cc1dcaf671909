"""The one step table: section -> library functions, defaults, allowed keys and values.

Every rule about a project-file step section lives here once:

* :func:`section_functions` -- which library functions a section's keys feed
  (plain imports, done only when a section is checked or run);
* :data:`RUN_DEFAULTS` -- the coarse values ``trapscape run`` uses where a
  section is silent; command defaults are the library functions' own
  signature defaults, read with :func:`defaults`;
* :data:`PIPELINE_KEYS` / :data:`RESERVED` -- keys the pipeline handles itself
  and arguments it passes itself;
* :func:`allowed_values` -- allowed ``Literal`` values of a keyword;
* :func:`check_sections` -- the check used by :func:`trapscape.project.load_project`,
  the pipeline and ``trapscape validate``: unknown keys, wrong types and bad
  ``Literal`` values, each named with file, section and key and the fix;
* :data:`VALUE_RULES` -- the range of every numeric parameter by name
  (positive sizes, percentages, probabilities, counts), applied to whichever
  section holds the key, and :data:`PATH_KINDS` -- what kind of file each
  path key must name (:func:`path_problem`);
* :func:`merge` -- project values + command options (command line wins).

Rules for ``Literal`` values, for one section served by one or several functions:

* a keyword is restricted only when *every* function accepting it annotates
  it ``Literal[...]`` (optionally ``| None``); the allowed values are the union
  over those functions, in order of first appearance;
* ``None`` is allowed iff some function accepts ``None`` for it;
* any other annotation (``str``, ``float``, ``Literal[...] | float``, ``Any``),
  no annotation, an annotation that cannot be resolved at run time, or a
  function taking ``**kwargs`` means "no restriction".
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import os
import stat
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._signature import accepted, keywords_for
from .errors import InputError, ProblemCollector, TrapscapeWarning

__all__ = [
    "GRID_KEYS",
    "PATH_KINDS",
    "PIPELINE_KEYS",
    "RESERVED",
    "RUN_DEFAULTS",
    "STEPS",
    "STEP_SECTIONS",
    "STEP_SWITCH",
    "SWITCHES",
    "VALUE_RULES",
    "Choices",
    "ValueRule",
    "accepted",
    "allowed_values",
    "check_section",
    "check_sections",
    "choice_problems",
    "defaults",
    "grid_memory_problems",
    "keywords_for",
    "literal_hints",
    "merge",
    "path_problem",
    "section_functions",
    "value_problems",
]

#: marker: the keyword takes a free type (no value restriction)
_FREE = None


@dataclass(frozen=True)
class Choices:
    """Values one keyword may take.

    Attributes
    ----------
    values
        The ``Literal`` values, in declaration order, without ``None``.
    none_ok
        Whether ``None`` is also allowed (``Optional[Literal[...]]``).
    owners
        ``module.qualname`` of the functions that restrict the keyword.
    """

    values: tuple[Any, ...]
    none_ok: bool = False
    owners: tuple[str, ...] = ()

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is allowed (``True`` never passes for ``1``)."""
        if value is None:
            return self.none_ok
        return any(
            value == v and isinstance(value, bool) == isinstance(v, bool)
            for v in self.values
        )


def _literal_values(tp: Any) -> tuple[tuple[Any, ...], bool] | None:
    """(values, none_ok) of a ``Literal`` annotation, or None for any other type."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        vals = typing.get_args(tp)
        return tuple(v for v in vals if v is not None), None in vals
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        none_ok = False
        for arg in typing.get_args(tp):
            if arg is type(None):
                none_ok = True
                continue
            sub = _literal_values(arg)
            if sub is None:
                return None
            for v in sub[0]:
                if v not in out:
                    out.append(v)
            none_ok = none_ok or sub[1]
        return (tuple(out), none_ok) if out else None
    return None


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``typing.get_type_hints(fn)``; on failure, each annotation resolved alone.

    Annotations naming things imported only for type checking cannot be
    resolved; one such name then costs only its own keyword (left unchecked).
    """
    try:
        return typing.get_type_hints(fn)
    except Exception:
        pass
    env = dict(getattr(inspect.unwrap(fn), "__globals__", {}))
    env.setdefault("Literal", typing.Literal)
    hints: dict[str, Any] = {}
    for name, ann in getattr(fn, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, env)  # what get_type_hints does
            except Exception:
                continue
        hints[name] = ann
    return hints


@functools.lru_cache(maxsize=256)
def literal_hints(
    fn: Callable[..., Any],
) -> tuple[dict[str, tuple[tuple[Any, ...], bool] | None], bool]:
    """Keyword name -> ``(values, none_ok)`` or None (free), and ``**kwargs``.

    Covers every keyword-passable parameter of ``fn``; the second item tells
    whether ``fn`` also takes ``**kwargs`` (any other keyword, free).  A
    callable without a signature counts as taking ``**kwargs``.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}, True
    hints = _resolved_hints(fn)
    out: dict[str, tuple[tuple[Any, ...], bool] | None] = {}
    var_kw = False
    for p in params.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            out[p.name] = _literal_values(hints[p.name]) if p.name in hints else _FREE
    return out, var_kw


def allowed_values(
    fns: Callable[..., Any] | Iterable[Callable[..., Any]],
) -> dict[str, Choices]:
    """Allowed values per keyword over the functions of one section.

    Parameters
    ----------
    fns
        A step function, or the several functions one project-file section
        feeds.

    Returns
    -------
    dict
        Keyword -> :class:`Choices`, only for keywords every accepting
        function restricts to ``Literal`` values (union of their values;
        ``None`` allowed iff some function accepts it).  Keywords missing from
        the result take any value (or are accepted by no function).
    """
    fn_list = [fns] if callable(fns) else list(fns)
    analysed = [(fn, *literal_hints(fn)) for fn in fn_list]
    names: list[str] = []
    for _fn, kws, _var in analysed:
        names.extend(k for k in kws if k not in names)
    out: dict[str, Choices] = {}
    for name in names:
        values: list[Any] = []
        none_ok = False
        owners: list[str] = []
        free = False
        for fn, kws, var_kw in analysed:
            if name not in kws:
                if var_kw:
                    free = True  # goes into **kwargs: any value
                    break
                continue
            lit = kws[name]
            if lit is None:
                free = True
                break
            for v in lit[0]:
                if v not in values:
                    values.append(v)
            none_ok = none_ok or lit[1]
            owners.append(f"{fn.__module__}.{fn.__qualname__}")
        if not free and (values or none_ok):
            out[name] = Choices(tuple(values), none_ok, tuple(owners))
    return out


# ------------------------------------------------------------------ the table
def _coverage() -> tuple[Callable[..., Any], ...]:
    from . import coverage, effort

    return (
        effort.effort_report,
        coverage.coverage_grid,
        coverage.coverage_stats,
        coverage.gaps,
        coverage.pdot_surface,
    )


def _effort() -> tuple[Callable[..., Any], ...]:
    from . import effort

    return (effort.effort_report,)


def _density() -> tuple[Callable[..., Any], ...]:
    from . import density

    return (density.fit_survey,)


def _homerange() -> tuple[Callable[..., Any], ...]:
    from . import homerange

    return (homerange.for_survey,)


def _corridors() -> tuple[Callable[..., Any], ...]:
    from . import corridors

    return (corridors.corridors_for_survey,)


def _omniscape() -> tuple[Callable[..., Any], ...]:
    from .corridors.omniscape import OmniscapeOptions

    return (OmniscapeOptions,)


def _dask() -> tuple[Callable[..., Any], ...]:
    from ._dask import cluster_options

    return (cluster_options,)


def _plan() -> tuple[Callable[..., Any], ...]:
    from . import planning

    return (planning.plan,)


def _map() -> tuple[Callable[..., Any], ...]:
    from .present import maps

    return (maps.survey_map,)


def _report() -> tuple[Callable[..., Any], ...]:
    from . import reserve
    from .present import report

    return (report.write_report, reserve.candidate_reserve)


def _reserve() -> tuple[Callable[..., Any], ...]:
    from . import reserve

    return (reserve.candidate_reserve,)


def _figures() -> tuple[Callable[..., Any], ...]:
    from .present import figures

    return (figures.write_figures,)


#: section -> loader of the library functions whose keyword names it holds.
#: The loaders import lazily so that reading a project file imports only the
#: modules of the sections it checks.
_SECTIONS: dict[str, Callable[[], tuple[Callable[..., Any], ...]]] = {
    "coverage": _coverage,
    "density": _density,
    "homerange": _homerange,
    "corridors": _corridors,
    "omniscape": _omniscape,
    "dask": _dask,
    "plan": _plan,
    "map": _map,
    "report": _report,
    "effort": _effort,
    "reserve": _reserve,
    "figures": _figures,
}

#: Steps of ``trapscape run`` in execution order.  ``validate`` always runs.
STEPS: tuple[str, ...] = (
    "validate",
    "effort",
    "coverage",
    "density",
    "sessions",
    "pdot",
    "homerange",
    "corridors",
    "plan",
    "reserve",
    "figures",
    "map",
    "report",
)

#: Which [steps] switch turns each pipeline step on; it is also the section
#: holding its keyword arguments.  Effort shares [coverage]; the reserve
#: outline and the static figures belong to [report].
STEP_SWITCH: dict[str, str] = {
    "effort": "coverage",
    "coverage": "coverage",
    "pdot": "coverage",
    "density": "density",
    "sessions": "sessions",
    "homerange": "homerange",
    "corridors": "corridors",
    "plan": "plan",
    "reserve": "report",
    "figures": "report",
    "map": "map",
    "report": "report",
}

#: Project-file sections read by the pipeline (besides [survey], [boundaries],
#: [rasters] and [steps], which belong to the project reader).
STEP_SECTIONS: tuple[str, ...] = (
    "coverage",
    "density",
    "homerange",
    "corridors",
    "omniscape",
    "plan",
    "map",
    "report",
    "run",
    "detection",
    "effort",
    "reserve",
    "figures",
    "dask",
)

#: Names a ``[steps]`` table may switch (``validate`` always runs).
SWITCHES: tuple[str, ...] = tuple(dict.fromkeys(STEP_SWITCH.values()))

#: Coarse defaults of ``trapscape run`` so the bundled example runs end to
#: end well under a minute.  Applied only where the project file does not set
#: the key.  The commands use the library functions' own defaults.
RUN_DEFAULTS: dict[str, dict[str, Any]] = {
    "coverage": {"cell_size": 2000.0, "resolution": 500.0},
    "homerange": {"percent": 95},
    "corridors": {"resolution": 500.0, "segment_length": 1000.0},
    "plan": {"n_new": 10},
}

#: Keys the pipeline itself handles in a section.
PIPELINE_KEYS: dict[str, frozenset[str]] = {
    "homerange": frozenset({"method"}),
    "run": frozenset({"public_cell", "out", "seed", "public", "offline", "lang"}),
    "detection": frozenset(
        {
            "detectfn",
            "sigma",
            "lambda0",
            "g0",
            "occasion_days",
            "by_sex",
            "density_per_100km2",
            "file",  # a detection JSON (see detection.resolve_detection)
            "path",
        }
    ),
    # evaluate_replicates: simulated surveys per design (planning.evaluate_plan)
    "plan": frozenset({"seed", "evaluate_replicates"}),
    "corridors": frozenset({"cores"}),
}

#: Arguments the pipeline passes itself; not settable from the project file.
RESERVED: frozenset[str] = frozenset(
    {
        "survey",
        "params",
        "progress",
        "rng",
        "seed",
        "public",
        "offline",
        "stations",
        "sightings",
        "ranges",
        "products",
        "path",
        "out",
        "records",
        "notes",
        "public_cell",
        "lang",
        "hotspots",
        "corridors",
        "cross_border",
        "grid",
        "surface",
        "relocations",
        "report",
        "detection",
        "straddling_percent",
        "omniscape_options",
        "conditions",
    }
)
_RESERVED_OK: dict[str, frozenset[str]] = {
    "run": PIPELINE_KEYS["run"],
    "plan": frozenset({"seed"}),
    "corridors": frozenset({"cores"}),
}


def section_functions(section: str) -> tuple[Callable[..., Any], ...]:
    """The library functions whose keyword names ``section`` may use."""
    loader = _SECTIONS.get(section)
    return loader() if loader is not None else ()


def _signature_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.default is not inspect.Parameter.empty
    }


def defaults(section: str, *, run: bool = False) -> dict[str, Any]:
    """Default keyword values of a section (first function wins on a clash).

    With ``run=True``, :data:`RUN_DEFAULTS` override them (what ``trapscape
    run`` uses); otherwise these are the library functions' own defaults,
    which the commands use.
    """
    out: dict[str, Any] = {}
    for fn in section_functions(section):
        for k, v in _signature_defaults(fn).items():
            out.setdefault(k, v)
    if run:
        out.update(RUN_DEFAULTS.get(section, {}))
    return out


def merge(
    project: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    *,
    given: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Project values merged with command options: the command line wins.

    The one rule every command follows:

    1. an option given on the command line wins;
    2. else the project section's value;
    3. else the option's own default (when it is not ``None``); keys left
       out take the library function's default.

    Parameters
    ----------
    project
        A project section's keys (``[corridors]`` ...).
    options
        Command option values by keyword name (the library's names).
    given
        Names of the options given on the command line.  ``None``: an option
        counts as given when its value is not ``None`` (options whose default
        is ``None``).

    Returns
    -------
    dict
        Keyword arguments for the step's library function.
    """
    names = (
        {k for k, v in options.items() if v is not None}
        if given is None
        else set(given)
    )
    out = {k: v for k, v in options.items() if v is not None and k not in names}
    out.update(project or {})
    out.update({k: v for k, v in options.items() if k in names})
    return out


# ------------------------------------------------------------------ value rules
@dataclass(frozen=True)
class ValueRule:
    """The range a numeric parameter must lie in.

    Attributes
    ----------
    low, high
        Bounds (``None``: unbounded on that side).
    low_open
        Whether ``low`` itself is excluded (``> low`` rather than ``>= low``).
    integer
        Whether the value must be a whole number.
    what
        The rule in words, for the message (``"a positive distance in metres"``).
    example
        A valid value, for the message.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    what: str = "a finite number"
    example: str = "1"

    def allows(self, value: float) -> bool:
        """Whether the finite number ``value`` satisfies the rule."""
        if self.integer and float(value) != int(value):
            return False
        if self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        ):
            return False
        return self.high is None or value <= self.high


_DISTANCE = ValueRule(
    0, low_open=True, what="a positive distance in metres", example="2000"
)
_SIZE = ValueRule(0, low_open=True, what="a positive number", example="1")
_NONNEG = ValueRule(0, what="zero or a positive number", example="0")
_PERCENT = ValueRule(
    0, 100, low_open=True, what="a percentage in (0, 100]", example="95"
)
_PROBABILITY = ValueRule(0, 1, what="a probability in [0, 1]", example="0.5")
_COUNT0 = ValueRule(0, integer=True, what="a whole number >= 0", example="10")
_COUNT1 = ValueRule(1, integer=True, what="a whole number >= 1", example="5")

#: Parameter name (or ``"section.name"`` for one section only) -> its range,
#: whatever section (and function) takes it.
#: Every number in a step section must moreover be finite (no nan or inf);
#: a list (``percent = [50, 95]``) is checked item by item.
VALUE_RULES: dict[str, ValueRule] = {
    # sizes and distances (metres)
    "cell_size": _DISTANCE,
    "resolution": _DISTANCE,
    "segment_length": _DISTANCE,
    "sigma": _DISTANCE,
    "spacing": _DISTANCE,
    "buffer": _DISTANCE,
    "distance": _DISTANCE,
    "path_buffer": _DISTANCE,
    "width_m": _DISTANCE,
    "public_cell": _DISTANCE,
    "core_setback": ValueRule(0, what="a distance in metres >= 0", example="5000"),
    "min_spacing": ValueRule(0, what="a distance in metres >= 0", example="2000"),
    "omniscape_radius": _DISTANCE,
    # other positive sizes
    "occasion_days": _SIZE,
    "session_days": _SIZE,
    "max_memory_gb": _SIZE,
    "width_cost": _SIZE,
    "lambda0": _SIZE,
    "extent": _SIZE,
    "h": _SIZE,  # a number (bandwidth in metres) or "href"/"lscv"
    "burst_minutes": _NONNEG,
    "independence_minutes": _NONNEG,
    "min_area_km2": _NONNEG,
    "density": _NONNEG,
    "density_per_100km2": _NONNEG,
    # percentages and probabilities
    "percent": _PERCENT,
    "pinch_quantile": _PROBABILITY,
    "threshold": _PROBABILITY,
    "g0": _PROBABILITY,
    # counts
    "n_new": _COUNT0,
    "move": _COUNT0,
    "swap_passes": _COUNT0,
    "evaluate_replicates": _COUNT0,
    "top_hotspots": _COUNT0,
    "zoom_start": ValueRule(
        0, 22, integer=True, what="a zoom level 0-22", example="10"
    ),
    "min_detections": _COUNT1,
    "min_stations": _COUNT1,
    "max_mask_points": _COUNT1,
    "n_jobs": _COUNT1,
    "workers": _COUNT1,
    "omniscape_block_size": _COUNT1,
    # [omniscape]: Omniscape.jl's options (radius and block size in cells)
    "radius": _COUNT1,
    "block_size": _COUNT1,
    "source_threshold": _NONNEG,
    "r_cutoff": _NONNEG,
    # "section.key": a rule of one section only, over the name's own rule
    # (Omniscape.jl's buffer is in cells and may be 0; elsewhere a buffer is
    # a positive distance in metres)
    "omniscape.buffer": ValueRule(
        0, integer=True, what="a whole number of cells >= 0", example="0"
    ),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_finite(value: Any) -> bool:
    """Whether ``value`` is, or holds (lists, tables), a nan or infinite number."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    return False


def value_problems(section: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, key) for values outside their :data:`VALUE_RULES` range.

    Numbers anywhere in the section must be finite; a key named in
    :data:`VALUE_RULES` must lie in its range (each item of a list).  Other
    types (strings such as ``h = "href"``, ``None``) are left to the type and
    ``Literal`` checks.
    """
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        rule = VALUE_RULES.get(f"{section}.{key}", VALUE_RULES.get(key))
        if _non_finite(value):
            what = rule.what if rule is not None else "a finite number"
            example = f", e.g. {rule.example}" if rule is not None else ""
            out.append(
                (
                    f"[{section}] {key} = {value!r}: nan and inf are not allowed; "
                    f"use {what}{example}.",
                    key,
                )
            )
            continue
        if rule is None:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in items if _is_number(v) and not rule.allows(v)]
        if bad:
            out.append(
                (
                    f"[{section}] {key} = {value!r} is out of range: {key} must be "
                    f"{rule.what} (e.g. {key} = {rule.example}); {bad[0]!r} is not.",
                    key,
                )
            )
    return out


#: File kinds: the name endings each accepts.  The content is left to the
#: reader (a step that cannot read it fails with the file named).
_KIND_SUFFIXES: dict[str, tuple[str, ...]] = {
    "raster": (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2"),
    "vector": (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".zip"),
    "table": (),  # any name: the table reader checks the content
    "json": (".json",),
}
_KIND_WORDS = {
    "raster": "a raster (GeoTIFF .tif, .vrt, ...)",
    "vector": "a vector layer (.gpkg, .shp, .geojson, ...)",
    "table": "a table (CSV)",
    "json": "a JSON file",
}

#: Path keys of the project file -> the kinds of file they may name
#: (``section.*``: every key of the section without its own entry).
PATH_KINDS: dict[str, tuple[str, ...]] = {
    "survey.stations": ("table",),
    "survey.sightings": ("table",),
    "survey.camtrap_dp": ("json", "folder"),
    "boundaries.*": ("vector",),
    "rasters.elevation": ("raster",),
    "rasters.landcover": ("raster",),
    "rasters.settlements": ("vector",),
    "rasters.rivers": ("vector",),
    "rasters.*": ("raster", "vector"),
    "detection.file": ("json",),
    "detection.path": ("json",),
}


def _kind_problem(path: Path, kinds: tuple[str, ...]) -> str | None:
    """Why a readable regular file is not of one of ``kinds`` (None: it is).

    Judged by the name ending, so the file is not opened here.
    """
    suffix = path.suffix.lower()
    ok = [
        k
        for k in kinds
        if k != "folder" and (not _KIND_SUFFIXES[k] or suffix in _KIND_SUFFIXES[k])
    ]
    want = " or ".join(_KIND_WORDS.get(k, "a folder") for k in kinds)
    if not ok:
        return f"is not {want} (a '{suffix or path.name}' file)"
    return None


def path_problem(section: str, key: str, path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be the file ``[section] key`` names (None: it can).

    The path must exist, be a regular, readable file (a folder only where
    :data:`PATH_KINDS` allows one): devices such as ``/dev/zero``, FIFOs,
    sockets and symbolic-link loops are refused, so nothing later hangs
    reading them; and its name ending must fit the kind of file the key
    takes (a raster key naming a ``.csv`` is refused).
    """
    kinds = PATH_KINDS.get(f"{section}.{key}") or PATH_KINDS.get(f"{section}.*", ())
    try:
        st = os.stat(path)  # follows links: a loop raises ELOOP
    except FileNotFoundError:
        return "file not found"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if stat.S_ISDIR(st.st_mode):
        return None if "folder" in kinds else "is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        what = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
        )
        return f"is {what}, not a regular file"
    if not os.access(path, os.R_OK):
        return "is not readable (check its permissions)"
    if not kinds:
        return None
    return _kind_problem(Path(path), kinds)


# ------------------------------------------------------------------ checking
_TYPE_WORDS = {bool: "true or false", float: "a number", str: "a string"}


def _expected_type(values: list[Any]) -> type | None:
    """The TOML type a key must have, from its defaults (None: not checkable)."""
    kinds: set[type] = set()
    for d in values:
        if isinstance(d, bool):
            kinds.add(bool)
        elif isinstance(d, (int, float)):
            kinds.add(float)
        elif isinstance(d, str):
            kinds.add(str)
        else:
            return None  # None or a structured default: any type may be meant
    return kinds.pop() if len(kinds) == 1 else None


_NO_HINT = object()
_FREE_KIND = object()  # an annotation that allows more than one TOML type


def _annotated_kind(hint: Any, default: Any) -> Any:
    """What :func:`_expected_type` reads for one function's keyword.

    A plain ``bool``/``int``/``float``/``str`` annotation gives a value of
    that type; any other annotation (unions, ``Literal`` mixed with numbers,
    ``Any``) lifts the check; without an annotation the default stands in.
    """
    if hint is _NO_HINT:
        return default
    return {bool: True, int: 0.0, float: 0.0, str: ""}.get(hint, _FREE_KIND)


def _is_type(value: Any, want: type) -> bool:
    if want is bool:
        return isinstance(value, bool)
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, want)


def choice_problems(section: str, values: Mapping[str, Any]) -> list[str]:
    """Messages for keys whose value is not one of their ``Literal`` values."""
    if not values:
        return []  # nothing to check: do not import the step's modules
    choices = allowed_values(section_functions(section))
    out: list[str] = []
    for key, value in values.items():
        c = choices.get(key)
        if c is None or c.allows(value):
            continue
        listed = ", ".join(repr(a) for a in (*c.values, *[None] * c.none_ok))
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(
                value, [a for a in c.values if isinstance(a, str)], n=1, cutoff=0.5
            )
            hint = f" Did you mean {close[0]!r}?" if close else ""
        out.append(
            f"[{section}] {key} = {value!r} is not allowed; use one of {listed} "
            f"(allowed values of '{key}' in {', '.join(c.owners)}).{hint}"
        )
    return out


def _key_problems(section: str, sec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, key) for unknown, reserved and ill-typed keys of one section."""
    fns = section_functions(section)
    allowed: set[str] | None = set(PIPELINE_KEYS.get(section, set()))
    kinds: dict[str, list[Any]] = {}
    for fn in fns:
        acc = accepted(fn)
        if acc is None:
            allowed = None
            break
        allowed |= acc  # type: ignore[operator]
        hints = _resolved_hints(fn)
        for k, d in _signature_defaults(fn).items():
            kinds.setdefault(k, []).append(_annotated_kind(hints.get(k, _NO_HINT), d))
    out: list[tuple[str, str]] = []
    for key, value in sec.items():
        if key in RESERVED and key not in _RESERVED_OK.get(section, frozenset()):
            out.append(
                (
                    f"[{section}] key '{key}' is set by the pipeline and cannot be "
                    "given in the project file; remove it.",
                    key,
                )
            )
        elif (
            allowed is not None
            and (fns or section in PIPELINE_KEYS)
            and key not in allowed
        ):
            close = difflib.get_close_matches(key, sorted(allowed - RESERVED), n=1)
            hint = (
                f" Did you mean '{close[0]}'?"
                if close
                else f" Use some of {', '.join(sorted(allowed - RESERVED)) or '(none)'}."
            )
            out.append(
                (
                    f"[{section}] unknown key '{key}': not a parameter of this step.{hint}",
                    key,
                )
            )
        else:
            want = _expected_type(kinds.get(key, []))
            if want is not None and not _is_type(value, want):
                out.append(
                    (
                        f"[{section}] {key} = {value!r}: must be {_TYPE_WORDS[want]}.",
                        key,
                    )
                )
    return out


_RUN_TYPES = (
    ("out", (str,), "a folder path"),
    ("seed", (int,), "an integer"),
    ("public", (bool,), "true or false"),
    ("offline", (bool,), "true or false"),
)


def _run_problems(run: Mapping[str, Any], pc: ProblemCollector, where: Any) -> None:
    cell = run.get("public_cell", 1.0)
    if not _is_number(cell):  # its range is a VALUE_RULES rule
        pc.add(
            f"[run] public_cell = {cell!r} must be a positive distance in "
            "metres, e.g. 5000.",
            path=where,
            column="run.public_cell",
        )
    lang = run.get("lang", "en")
    from .present.i18n import LANGUAGES

    if lang not in LANGUAGES:
        pc.add(
            f"[run] lang = {lang!r} is not a supported language; use one of "
            f"{', '.join(repr(k) for k in LANGUAGES)} (English, Russian, "
            "Simplified Chinese).",
            path=where,
            column="run.lang",
        )
    for key, kinds, what in _RUN_TYPES:
        if key in run and (
            not isinstance(run[key], kinds)
            or (key == "seed" and isinstance(run[key], bool))
        ):
            pc.add(
                f"[run] {key} = {run[key]!r} must be {what}.",
                path=where,
                column=f"run.{key}",
            )


def _switches(steps: Any, pc: ProblemCollector, where: Any) -> dict[str, Any]:
    """The [steps] switches, checked: known step names, true or false."""
    if steps is None:
        return {}
    if not isinstance(steps, Mapping):
        pc.add(
            "[steps] must be a table of step = true/false.", path=where, column="steps"
        )
        return {}
    known = sorted(set(STEP_SWITCH.values()) | {"validate"})
    for key, val in steps.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            pc.add(
                f"[steps] key '{key}' is not a step; use some of {', '.join(known)}.{hint}",
                path=where,
                column=f"steps.{key}",
            )
        elif not isinstance(val, bool):
            pc.add(
                f"[steps] {key} = {val!r} must be true or false.",
                path=where,
                column=f"steps.{key}",
            )
    return dict(steps)


def check_section(section: str, values: Mapping[str, Any], where: str | None) -> None:
    """Check one section's keys and values (as :func:`check_sections`); raise if bad.

    Unknown keys, types, ``Literal`` values and :data:`VALUE_RULES` ranges.
    """
    pc = ProblemCollector()
    bad = set()
    for msg, key in _key_problems(section, values):
        pc.add(msg, path=where, column=f"{section}.{key}")
        bad.add(key)
    checkable = {k: v for k, v in values.items() if k not in bad}
    for msg in choice_problems(section, checkable):
        pc.add(msg, path=where)
    for msg, key in value_problems(section, checkable):
        pc.add(msg, path=where, column=f"{section}.{key}")
    pc.raise_if_any()


def _detection_problems(
    det: Mapping[str, Any], folder: str | Path | None, pc: ProblemCollector, where: Any
) -> None:
    """[detection]: its file (a regular JSON file) and its values, as resolved."""
    from .detection import resolve_detection

    for key in ("file", "path"):
        src = det.get(key)
        if isinstance(src, str) and src.strip():
            target = Path(src) if folder is None else Path(folder) / src
            why = path_problem("detection", key, target)
            if why is not None:
                pc.add(
                    f"[detection] {key} = {src!r}: {why} (looked in {target}). "
                    "Fix the path.",
                    path=where,
                    column=f"detection.{key}",
                )
                return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrapscapeWarning)
            resolve_detection(section=det, base=folder)
    except (InputError, TypeError, OSError) as err:
        pc.add(f"[detection] {err}", path=where, column="detection")


def check_sections(
    params: Mapping[str, Any],
    where: str | None,
    pc: ProblemCollector | None = None,
    *,
    base: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Check every step section: unknown keys, types, ``Literal`` values, ranges.

    Parameters
    ----------
    params
        Sections by name (a project file's tables, or ``run_survey``'s params).
    where
        The project file named in the messages.
    pc
        Collector to add problems to; when ``None`` a new one is made and
        raised if any problem was found.
    base
        Folder relative ``[detection] file`` paths are resolved against.

    Returns
    -------
    dict
        Section -> its keys (copied), for :data:`STEP_SECTIONS` and
        ``"steps"`` (the switches).
    """
    own = pc is None
    coll = ProblemCollector() if pc is None else pc
    out: dict[str, dict[str, Any]] = {
        "steps": _switches(params.get("steps"), coll, where)
    }
    for section in STEP_SECTIONS:
        sec = params.get(section, {}) or {}
        if not isinstance(sec, Mapping):
            coll.add(
                f"[{section}] must be a table of key = value.",
                path=where,
                column=section,
            )
            continue
        out[section] = dict(sec)
        bad_keys = set()
        for msg, key in _key_problems(section, sec):
            coll.add(msg, path=where, column=f"{section}.{key}")
            bad_keys.add(key)
        checkable = {k: v for k, v in sec.items() if k not in bad_keys}
        for msg in choice_problems(section, checkable):
            coll.add(msg, path=where)
        for msg, key in value_problems(section, checkable):
            coll.add(msg, path=where, column=f"{section}.{key}")
    _run_problems(out.get("run", {}), coll, where)
    det = out.get("detection", {})
    if det and not coll.problems:
        folder = base if base is not None else (Path(where).parent if where else None)
        _detection_problems(det, folder, coll, where)
    if own:
        coll.raise_if_any()
    return out


#: Grid parameters whose value sets how many cells a step builds, by section.
#: Every such step holds at least one 8-byte value per cell of a grid that
#: covers at least the stations' extent, so that product is a lower bound of
#: its memory need (the step's own estimate, made when it runs, is higher).
GRID_KEYS: dict[str, tuple[str, ...]] = {
    "coverage": ("cell_size", "resolution"),
    "density": ("spacing",),
    "homerange": ("cell_size",),
    "corridors": ("resolution",),
    "plan": ("spacing", "cell_size"),
}

_BYTES_PER_CELL = 8


def _count(value: float) -> str:
    """A large count for a message (``inf`` shown as beyond 1e308)."""
    return f"{value:.3g}" if math.isfinite(value) else "more than 1e308"


def _span_cells(span: float, cell: float) -> float:
    """Cells of size ``cell`` along ``span`` (at least 1; ``inf`` if unbounded)."""
    q = span / cell
    return max(1.0, float(math.ceil(q)) if math.isfinite(q) else q)


def grid_memory_problems(
    params: Mapping[str, Any],
    bounds: tuple[float, float, float, float],
    where: str | None,
    pc: ProblemCollector | None = None,
) -> None:
    """Refuse grid sizes that cannot fit in the memory budget, before any step runs.

    For each key of :data:`GRID_KEYS` set to a positive finite number, the
    cells of a grid of that size over ``bounds`` (the stations' extent, in
    metres) times 8 bytes is a lower bound of the step's peak memory.  When
    even that bound is over the section's ``max_memory_gb`` (default
    :data:`trapscape._memory.DEFAULT_BUDGET_GB`), the value can only fail,
    so ``validate`` and the start of ``run`` report it (exit 1, nothing
    written) instead of the step refusing it later.  Values that pass may
    still be refused by the step's own, fuller estimate.  Without ``pc``
    the problems are raised at once (:class:`~trapscape.errors.InputError`).
    """
    if pc is None:
        own = ProblemCollector()
        grid_memory_problems(params, bounds, where, own)
        own.raise_if_any()
        return
    from ._memory import _GIB, DEFAULT_BUDGET_GB, nice_up

    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return
    width, height = max(maxx - minx, 0.0), max(maxy - miny, 0.0)
    for section, keys in GRID_KEYS.items():
        sec = params.get(section) or {}
        if not isinstance(sec, Mapping):
            continue
        given: Any = sec.get("max_memory_gb", DEFAULT_BUDGET_GB)
        if not _is_number(given) or _non_finite(given) or not given > 0:
            continue  # None turns the check off; bad values are reported elsewhere
        budget = float(given)
        budget_bytes = budget * _GIB
        for key in keys:
            value: Any = sec.get(key)
            if not _is_number(value) or _non_finite(value) or not value > 0:
                continue  # missing, automatic or out of range: reported elsewhere
            cell = float(value)  # float arithmetic: no overflow for a 1e-300 m cell
            cells = _span_cells(width, cell) * _span_cells(height, cell)
            need = cells * _BYTES_PER_CELL
            if need <= budget_bytes:
                continue
            finest = nice_up(math.sqrt(width * height * _BYTES_PER_CELL / budget_bytes))
            pc.add(
                f"[{section}] {key} = {value:g} m makes a grid of {_count(cells)} cells "
                f"over the stations' extent ({width / 1000:,.1f} x "
                f"{height / 1000:,.1f} km): more than {_count(need / _GIB)} GiB, "
                f"over the {budget:g} GiB memory budget (max_memory_gb). "
                f"Use {key} >= {finest} m (the step may ask for coarser), "
                "or raise max_memory_gb.",
                path=where,
                column=f"{section}.{key}",
            )
