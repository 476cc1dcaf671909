"""Options shared by several commands, defined once."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..present.i18n import Lang

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "EXISTING_FILE",
    "EXISTING_PATH",
    "LibraryDefault",
    "SurveyInputs",
    "cell_size_opt",
    "config_opt",
    "crs_opt",
    "dask_opts",
    "detection_from_options",
    "grouped",
    "html_out_opt",
    "lang_opt",
    "library_default",
    "library_opt",
    "max_memory_opt",
    "merged",
    "option_given",
    "out_dir_opt",
    "overwrite_opt",
    "progress_enabled",
    "project_lang",
    "project_step",
    "read_layer",
    "read_toml",
    "region_arg",
    "results_opt",
    "species_opt",
    "survey_inputs",
]

#: an existing file (not a folder) given on the command line
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: an existing file or folder given on the command line
EXISTING_PATH = click.Path(exists=True, path_type=Path)

crs_opt = click.option(
    "--crs",
    default=None,
    help="Projected CRS for analysis, e.g. EPSG:32652 (default: UTM zone of the data).",
)
cell_size_opt = click.option(
    "--cell-size", type=float, default=None, help="Cell size in metres."
)
overwrite_opt = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace existing outputs."
)
config_opt = click.option(
    "--config",
    "config",
    type=EXISTING_FILE,
    help="TOML file of parameters (keys are the function keyword names).",
)
out_dir_opt = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory.",
)

html_out_opt = click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HTML file to write.",
)
species_opt = click.option(
    "--species", default=None, help="Species to analyse (default: project's)."
)


lang_opt = click.option(
    "--lang",
    type=click.Choice(["en", "ru", "zh"]),
    default=None,
    help="Language of map.html, report.html and the figures: en (English), "
    "ru (Russian), zh (Simplified Chinese). Default: [run] lang of the project "
    "file, else en.",
)


def project_lang(project: Path | None, lang: str | None) -> Lang:
    """``--lang`` if given, else ``[run] lang`` of the project file, else ``"en"``."""
    from ..present.i18n import check_lang

    if lang is None:
        run, _species = project_step(project, "run")
        lang = run.get("lang", "en")
    return check_lang(lang)


def results_opt(*, required: bool, help: str) -> Callable[[F], F]:
    """``--results``: the output folder of a finished ``trapscape run``."""
    return click.option(
        "--results",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=required,
        help=help,
    )


@dataclass(frozen=True)
class SurveyInputs:
    """What names a survey on the command line (see :func:`survey_inputs`)."""

    project: Path | None = None
    stations: Path | None = None
    sightings: Path | None = None
    boundaries: Path | None = None
    crs: str | None = None
    date_format: str | None = None

    @property
    def toml(self) -> bool:
        """Whether PROJECT is a survey TOML file."""
        return self.project is not None and self.project.suffix.lower() == ".toml"

    def load(self, *, date_format: str | None = None) -> Any:
        """The survey: :func:`load_survey_from_options` on these inputs.

        ``date_format`` (default: ``--date-format``) applies to --stations
        and --sightings read without a PROJECT.
        """
        return load_survey_from_options(
            self.project,
            self.stations,
            self.sightings,
            self.boundaries,
            self.crs,
            date_format=date_format if date_format is not None else self.date_format,
        )


def grouped(
    name: str, cls: Callable[..., Any], *opts: Callable[[Any], Any]
) -> Callable[[F], F]:
    """Options (and arguments) whose values reach the command as one object.

    ``opts`` are click decorators whose parameter names are the fields of the
    dataclass ``cls``; the command receives ``name=cls(**values)`` instead of
    one keyword per option.
    """
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in fields}
            return f(*args, **{name: cls(**values)}, **kwargs)

        out: Any = command
        for opt in reversed(opts):
            out = opt(out)
        return out

    return decorate


#: Options naming a survey: a project file/Camtrap DP package or separate
#: files.  The command receives them as one keyword ``inputs`` (a
#: :class:`SurveyInputs`), not as six parameters.
survey_inputs = grouped(
    "inputs",
    SurveyInputs,
    click.argument("project", required=False, type=EXISTING_PATH),
    click.option(
        "--stations",
        type=EXISTING_FILE,
        help="Stations/deployments file (CSV, GPKG, GeoJSON, SHP).",
    ),
    click.option("--sightings", type=EXISTING_FILE, help="Sightings CSV."),
    click.option(
        "--boundaries",
        type=EXISTING_PATH,
        help="Boundary layer (study area / zones).",
    ),
    crs_opt,
    click.option(
        "--date-format",
        default=None,
        help="strptime format of non-ISO dates in --stations/--sightings, e.g. "
        "'%d/%m/%Y' (default: inferred).",
    ),
)


def library_default(of: str, key: str) -> Any:
    """The signature default of keyword ``key`` in the library.

    ``of`` is a step section (``"plan"``: the functions of
    :func:`trapscape._steps.section_functions`, read with
    :func:`trapscape._steps.defaults`) or ``"module:name"`` of one callable
    (e.g. ``"trapscape.planning:candidate_sites"``).

    Raises
    ------
    KeyError
        The keyword has no default there.
    """
    if ":" not in of:
        from .._steps import defaults

        return defaults(of)[key]
    import importlib

    module, _, name = of.partition(":")
    fn = getattr(importlib.import_module(module), name)
    default = inspect.signature(fn).parameters[key].default
    if default is inspect.Parameter.empty:
        raise KeyError(f"{of}: {key} has no default")
    return default


def _shown(value: Any) -> str:
    """A default as the help shows it (``250.0`` -> ``250``, ``(50, 95)`` -> ``50 and 95``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return " and ".join(_shown(v) for v in value)
    return str(value)


class LibraryDefault(click.Option):
    """An option whose ``--help`` shows the library's default, read from its signature.

    The library function's signature is the one owner of the value: the help
    reads it when it is rendered (``{default}`` in the help text is replaced
    by it, else ``[default: ...]`` is appended), so a changed library default
    changes the help.  With ``use=True`` the value is also the option's
    default (read when the command runs); otherwise the option defaults to
    None and the library applies its own default.
    """

    def __init__(
        self,
        *args: Any,
        of: str,
        key: str | None = None,
        use: bool = False,
        **attrs: Any,
    ) -> None:
        self.of = of
        self._key = key
        if use:
            attrs["default"] = self.library_value
        else:
            attrs.setdefault("default", None)
        super().__init__(*args, **attrs)

    @property
    def key(self) -> str:
        """The library keyword (the option's parameter name unless given)."""
        return self._key or str(self.name)

    def library_value(self) -> Any:
        """The library's default for this option."""
        return library_default(self.of, self.key)

    @property
    def help(self) -> str | None:
        """The help text with the library's default in it."""
        text = self._help_text
        if text is None:
            return None
        shown = _shown(self.library_value())
        if "{default}" in text:
            return text.replace("{default}", shown)
        return f"{text}  [default: {shown}]"

    @help.setter
    def help(self, text: str | None) -> None:
        self._help_text = text


def library_opt(
    *decls: str, of: str, key: str | None = None, use: bool = False, **attrs: Any
) -> Callable[[F], F]:
    """``click.option`` of class :class:`LibraryDefault` (help shows the library default)."""
    return click.option(*decls, cls=LibraryDefault, of=of, key=key, use=use, **attrs)


def max_memory_opt(
    section: str, refused: str, *, use: bool = False
) -> Callable[[F], F]:
    """``--max-memory-gb``: the memory budget of ``section``'s library function.

    ``refused`` says what is refused, e.g. ``": KDE grids too large for it are
    refused before they are built, naming a coarser --cell."``.
    """
    return library_opt(
        "--max-memory-gb",
        of=section,
        use=use,
        type=click.FloatRange(min=0, min_open=True),
        help=f"Memory budget in GiB{refused}",
    )


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML of a file named on the command line (--config, PROJECT).

    Raises
    ------
    InputError
        The file is not valid TOML (with the parser's line and column).
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from ..errors import InputError

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(
            f"{path}: not valid TOML ({err}). Fix the syntax.", path=path
        ) from err


def progress_enabled() -> bool:
    """Progress bars when stderr is a terminal."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def load_survey_from_options(
    project: Path | None,
    stations: Path | None,
    sightings: Path | None,
    boundaries: Path | None,
    crs: str | None,
    *,
    date_format: str | None = None,
) -> Any:
    """Build a :class:`~trapscape.survey.Survey` from the shared CLI inputs.

    ``project`` may be a survey TOML file, a Camtrap DP ``datapackage.json``
    or its folder; otherwise ``--stations`` (and usually ``--sightings``) are
    required.  ``date_format`` (strptime) is used for --stations and
    --sightings read without a ``project``.
    """
    from ..io import add_boundaries, read_survey

    if project is None and stations is None:
        raise click.UsageError(
            "Give a project file / Camtrap DP package, or --stations."
        )
    if project is not None and project.suffix.lower() == ".toml":
        from ..project import load_project

        survey = load_project(project, crs=crs).survey
        assert survey is not None  # read=True always reads it
        return add_boundaries(survey, boundaries) if boundaries else survey
    return read_survey(
        project,
        stations=stations,
        sightings=sightings,
        boundaries=boundaries,
        crs=crs,
        date_format=date_format if project is None else None,
    )


def project_step(project: Path | None, step: str) -> tuple[dict[str, Any], str | None]:
    """The ``[step]`` keys and the target species of a project TOML.

    Anything but a ``.toml`` file (a Camtrap DP package, no project) gives
    ``({}, None)``.
    """
    if project is None or project.suffix.lower() != ".toml":
        return {}, None
    from ..project import load_project

    proj = load_project(project, read=False)
    return proj.step(step), proj.species


def option_given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` was given (command line or environment)."""
    source = ctx.get_parameter_source(name)
    return source not in (click.core.ParameterSource.DEFAULT, None)


def merged(
    ctx: click.Context,
    conf: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Project values and command options merged by :func:`trapscape._steps.merge`.

    ``options`` maps library keyword names to option values; ``names`` maps
    a keyword to its click parameter name where they differ (e.g.
    ``{"cell_size": "cell"}``).  An option counts as given when it came from
    the command line or the environment, not from its default.
    """
    from .._steps import merge

    names = dict(names or {})
    given = [k for k in options if option_given(ctx, names.get(k, k))]
    return merge(conf, options, given=given)


def detection_opts(*, density: bool = False) -> Callable[[F], F]:
    """``--detection``, ``--lambda0``, ``--sigma`` (and ``--density``) options.

    The values go to :func:`detection_from_options`, which applies the one
    rule of :func:`trapscape.detection.resolve_detection`: the file (or the
    project's ``[detection]``) is the base and explicit values override it.
    """
    opts = [
        click.option(
            "--detection",
            "detection_file",
            type=EXISTING_FILE,
            help="Detection parameters JSON (from `trapscape density`).",
        ),
        click.option(
            "--lambda0",
            type=float,
            default=None,
            help="Baseline detection hazard per day (hazard half-normal); "
            "overrides --detection and [detection].",
        ),
        click.option(
            "--sigma",
            type=float,
            default=None,
            help="Detection scale sigma in metres; overrides --detection and "
            "[detection].",
        ),
    ]
    if density:
        opts.append(
            click.option(
                "--density",
                type=float,
                default=None,
                help="Animals per 100 km²; overrides the fitted density.",
            )
        )

    def decorate(f: F) -> F:
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def detection_from_options(
    file: Path | None,
    section: Mapping[str, Any] | None,
    *,
    lambda0: float | None = None,
    sigma: float | None = None,
    density: float | None = None,
    require: bool = False,
    base: Path | None = None,
) -> Any:
    """:func:`trapscape.detection.resolve_detection` for a command.

    The same rule as the pipeline (file or ``[detection]`` section as the
    base, ``--lambda0``/``--sigma``/``--density`` override it); its warning
    about default parameters is printed as one ``Warning:`` line on stderr.
    """
    import warnings

    from ..detection import resolve_detection
    from ..errors import TrapscapeWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrapscapeWarning)
        params = resolve_detection(
            file,
            section,
            lambda0=lambda0,
            sigma=sigma,
            density=density,
            require=require,
            base=base,
        )
    for w in caught:
        if issubclass(w.category, TrapscapeWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:  # pragma: no cover - passed on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return params


def read_layer(path: Path, layer: str | None, what: str, crs: Any) -> Any:
    """Read a vector layer given on the command line, in ``crs``.

    Without ``layer``, the layer named ``what`` is read when the file has
    several and one is so named, else the first.

    Raises
    ------
    InputError
        The file cannot be read as vector data.
    CRSError
        The layer has no CRS.
    """
    import geopandas as gpd
    import pyogrio

    from ..errors import CRSError, InputError

    try:
        if layer is None:
            names = [n for n, _ in pyogrio.list_layers(path)]
            if len(names) > 1 and what in names:
                layer = what
        gdf = gpd.read_file(path, layer=layer)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        ValueError,
    ) as err:
        raise InputError(
            f"{path}: cannot read the {what} layer ({err}). Give a vector file "
            "(GeoPackage, GeoJSON, Shapefile)"
            f"{'' if what == 'region' else f' and --{what}-layer if needed'}.",
            path=path,
        ) from err
    if gdf.crs is None:
        raise CRSError(
            f"{path}: the {what} layer has no CRS. Set one (e.g. EPSG:32652)."
        )
    return gdf.to_crs(crs)


def region_arg(
    value: Any, *, crs: Any, base: Path | None = None, where: str = "--region"
) -> Any:
    """A ``--region``/``region =`` value: a region name, or polygons read from a file.

    Names (see :data:`trapscape.survey.REGIONS`, resolved later by
    :meth:`~trapscape.survey.Survey.region`) pass through unchanged; anything
    else is a vector file, read with :func:`read_layer` (layer ``region`` if
    the file has several) and reprojected to ``crs``.  ``base`` resolves a
    relative path from a project/config file (its folder); on the command
    line paths are relative to the working directory.

    Raises
    ------
    InputError
        Not a name nor an existing, readable vector file.
    """
    from ..errors import InputError
    from ..survey import REGIONS

    if not isinstance(value, (str, os.PathLike)):
        raise InputError(
            f"{where} region must be one of {list(REGIONS)} or a vector file "
            f"path, got {value!r}."
        )
    text = os.fspath(value)
    if text.strip().lower().replace(" ", "") in (*REGIONS, "parks+study_area"):
        return text
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists():
        raise InputError(
            f"{where}: region {text!r} is neither one of {list(REGIONS)} nor an "
            f"existing vector file ({path} not found).",
            path=path,
        )
    return read_layer(path, None, "region", crs)


def dask_opts(what: str) -> Callable[[F], F]:
    """``--workers N`` and ``--scheduler ADDRESS``: run ``what`` on dask.

    Both default to ``None`` (run in this process); the command passes them
    to the library function's ``workers`` and ``scheduler`` keywords.
    """

    def deco(f: F) -> F:
        f = click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help=f"Run {what} on a running dask.distributed scheduler "
            "(e.g. tcp://host:8786; needs trapscape[dask]).",
        )(f)
        return click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help=f"Run {what} on a local dask cluster of N worker processes "
            "(needs trapscape[dask]; default: in this process).",
        )(f)

    return deco
