"""Languages of the map, the report and the figures (gettext catalogs via Babel).

The English texts of the presentation modules are the message ids: the
values of :data:`trapscape.present.maps.LABELS`,
:data:`trapscape.present.figures.LABELS`, the report's
:data:`~trapscape.present.report.COLUMN_LABELS`, ``TEXT`` and
``PLAN_METRICS``, the ``{% trans %}`` blocks of ``templates/report.html.j2``,
and the names of the bundled layers (:data:`NAMES`: countries, parks).  The
translations live in ``locale/<locale>/LC_MESSAGES/trapscape.po`` (Russian
``ru``, Simplified Chinese ``zh_Hans``); they are compiled in memory when
first used, so the package ships only the ``.po`` text files.
``make i18n`` (``scripts/i18n_catalogs.py``) extracts the messages and
updates the catalogs.

A rendering function takes ``lang=`` and renders inside :func:`language`,
which makes :func:`gettext` and the number and date formats of this module
follow that language for the current thread or task only (a
:class:`contextvars.ContextVar`; nothing global changes).  Numbers keep the
precision rules of the modules that format them and take the locale's
decimal and group symbols from Babel (CLDR): ``11 202,5`` in Russian;
dates are Babel's long format (``1 марта 2024 г.``, ``2024年3月1日``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import functools
import gettext as _gettext
import inspect
import io
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from ..errors import InputError, MissingDependencyError

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "NAMES",
    "PHRASES",
    "SETTLEMENTS",
    "WORDS",
    "Lang",
    "check_lang",
    "current",
    "format_date",
    "gettext",
    "html_lang",
    "in_language",
    "language",
    "localize_number",
    "phrase",
    "source_messages",
    "translations",
]

Lang = Literal["en", "ru", "zh"]

#: Languages of the outputs: code -> name of the language in itself.
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "zh": "简体中文"}

#: Babel locale of each language (the catalog folder under ``locale/``).
_LOCALES: dict[str, str] = {"en": "en", "ru": "ru", "zh": "zh_Hans"}

#: ``lang`` attribute of the HTML pages (BCP 47).
_HTML_LANG: dict[str, str] = {"en": "en", "ru": "ru", "zh": "zh-Hans"}

DOMAIN = "trapscape"
LOCALE_DIR = Path(__file__).with_name("locale")

#: Names in the bundled layers that the outputs translate (countries, parks,
#: the study area); other names (settlements, user layers) are shown as given.
NAMES: tuple[str, ...] = (
    "Russia",
    "China",
    "North Korea",
    "China–Russia",
    "North Korea–Russia",
    "China–North Korea",
    "Land of the Leopard National Park (approximate)",
    "Kedrovaya Pad Nature Reserve (approximate)",
    "Northeast China Tiger and Leopard National Park, Hunchun sector (approximate)",
    "Land of the Leopard study area: park and buffer zone (approximate)",
    "Land of the Leopard example (simulated survey, real geography)",
)

_LANG: contextvars.ContextVar[Lang] = contextvars.ContextVar(
    "trapscape_lang", default="en"
)


def check_lang(lang: str | None) -> Lang:
    """``lang`` if it is a supported language code (``None``: ``"en"``).

    Raises
    ------
    InputError
        For any other value, naming the supported codes.
    """
    if lang is None:
        return "en"
    if lang not in LANGUAGES:
        raise InputError(
            f"lang = {lang!r} is not a supported language; use one of "
            f"{', '.join(LANGUAGES)} (en English, ru Russian, zh Simplified Chinese)."
        )
    return typing.cast(Lang, lang)


def current() -> Lang:
    """The language of the output being rendered (``"en"`` outside :func:`language`)."""
    return _LANG.get()


def html_lang(lang: str | None = None) -> str:
    """The HTML ``lang`` attribute of ``lang`` (default: the current language)."""
    return _HTML_LANG[check_lang(lang or current())]


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[Lang]:
    """Render in ``lang`` inside the ``with`` block (this thread/task only).

    >>> with language("ru"):
    ...     gettext("Legend")
    'Легенда'
    >>> gettext("Legend")
    'Legend'
    """
    code = check_lang(lang)
    if code != "en":
        translations(code)  # fail early if Babel or the catalog is missing
    token = _LANG.set(code)
    try:
        yield code
    finally:
        _LANG.reset(token)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_language(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` inside :func:`language` of its own ``lang`` argument.

    For the rendering functions (``survey_map``, ``render_figures``,
    ``report_context``...): they declare ``lang`` in their signature and
    render every label through :func:`gettext`.
    """
    sig = inspect.signature(fn)
    default = sig.parameters["lang"].default

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        lang = sig.bind(*args, **kwargs).arguments.get("lang", default)
        with language(lang):
            return fn(*args, **kwargs)

    return wrapper


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The gettext translations of ``lang``, compiled in memory from its ``.po``.

    ``"en"`` gives :class:`gettext.NullTranslations` (the message ids are
    English).  Fuzzy entries are not used.

    Raises
    ------
    MissingDependencyError
        If Babel is not installed (``pip install "trapscape[maps]"``).
    """
    code = check_lang(lang)
    if code == "en":
        return _gettext.NullTranslations()
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
        from babel.support import Translations
    except ImportError as err:  # pragma: no cover - babel comes with [maps]
        raise MissingDependencyError(
            f'Output in language {code!r} needs Babel: pip install "trapscape[maps]".'
        ) from err
    po = LOCALE_DIR / _LOCALES[code] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=_LOCALES[code], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def gettext(message: str) -> str:
    """``message`` in the current language (unchanged if the catalog lacks it)."""
    if not message or current() == "en":
        return message
    return translations(current()).gettext(message)


def _babel_locale(lang: str) -> Any:
    from babel import Locale

    return Locale.parse(_LOCALES[lang])


#: a number as the modules format it: ``-11,202.5`` or ``1.1 × 10⁻⁷``
_NUMBER_RE = re.compile(r"[-−]?\d{1,3}(?:,\d{3})*(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?")


def localize_number(text: str) -> str:
    """A number formatted the English way (``11,202.5``) in the current locale.

    ``text`` that is not such a number alone is returned unchanged.  The digits (the precision) stay as the caller rounded them; the decimal
    and group symbols are the locale's (Babel/CLDR): ``11 202,5`` in Russian
    (a no-break space groups the thousands), unchanged in Chinese.
    """
    lang = current()
    if lang == "en" or not text:
        return text
    from babel.numbers import get_decimal_symbol, get_group_symbol

    loc = _babel_locale(lang)
    dec, grp = get_decimal_symbol(loc), get_group_symbol(loc)
    if (dec, grp) == (".", ",") or not _NUMBER_RE.fullmatch(text):
        return text
    return text.replace(",", "\0").replace(".", dec).replace("\0", grp)


def format_date(value: Any) -> str:
    """A date (or an ISO ``YYYY-MM-DD...`` string) in the current locale's long format.

    English keeps ISO 8601 (``2024-03-01``), as the outputs always had.

    >>> with language("zh"):
    ...     format_date("2024-03-01")
    '2024年3月1日'
    """
    text = str(value)
    if current() == "en":
        return text[:10]
    try:
        d = _dt.date.fromisoformat(text[:10])
    except ValueError:
        return text
    from babel.dates import format_date as _fmt

    return str(_fmt(d, format="long", locale=_babel_locale(current())))


#: Settlements of the bundled GeoNames layer shown on the map, by their
#: GeoNames name; small North Korean places without an established
#: Russian/Chinese name stay in the GeoNames romanisation.
SETTLEMENTS: tuple[str, ...] = (
    "Vladivostok",
    "Ussuriysk",
    "Artëm",
    "Zarubino",
    "Vozdvizhenka",
    "Vol’no-Nadezhdinskoye",
    "Uglovoye",
    "Trudovoye",
    "Tavrichanka",
    "Slavyanka",
    "Russkiy",
    "Razdol’noye",
    "Primorskiy",
    "Popova",
    "Pokrovka",
    "Novoshakhtinskiy",
    "Novonikol’sk",
    "Mikhaylovka",
    "Sergeyevka",
    "Lipovtsy",
    "Kraskino",
    "Knevichi",
    "Blagodatnoye",
    "Barabash",
    "Novyy",
    "Emar",
    "Tumen",
    "Suifenhe",
    "Hunchun",
    "Dongning",
    "Rajin",
    "Sŏnbong",
    "Onsŏng",
    "Namyang",
    "Kyŏngwŏn",
    "Aoji",
    "Ŭndŏk",
    "Ungsang",
)

#: Words of the run records and data tables that the report shows as cells.
WORDS: tuple[str, ...] = (
    "ok",
    "skipped",
    "failed",
    "not available",
    "total",
    "outside zones",
    "candidate transboundary reserve",
    "switched off in [steps]",
    "figures = false in [report]",
    "no [sessions] in the project file",
    # step names (the report's table of the run's steps)
    "validate",
    "effort",
    "coverage",
    "density",
    "pdot",
    "homerange",
    "corridors",
    "plan",
    "sessions",
    "reserve",
    "figures",
    "map",
    "report",
)

#: Phrases that analyses write into tables (:mod:`trapscape.reserve`): a
#: pattern and its message, whose ``{name}`` fields are the pattern's groups
#: (``zones``: names joined by " + ", each translated).
PHRASES: tuple[tuple[str, str], ...] = (
    (r"both \((?P<zones>.+)\)", "both ({zones})"),
    (r"(?P<zones>.+) only", "{zones} only"),
    (r"(?P<n>\d+) park polygon\(s\)", "{n} park polygon(s)"),
    (
        r"(?P<percent>[\d.]+)% home ranges of (?P<n>\d+) individual\(s\) "
        r"straddling the border",
        "{percent}% home ranges of {n} individual(s) straddling the border",
    ),
    (r"(?P<n>\d+) corridor\(s\)", "{n} corridor(s)"),
    # the step messages of a run (trapscape.pipeline.steps), in the report
    (r"(?P<n>\d+) stations, (?P<m>\d+) sightings", "{n} stations, {m} sightings"),
    (r"(?P<n>\d+) trap-nights", "{n} trap-nights"),
    (r"(?P<n>\d+) cells of the coverage grid", "{n} cells of the coverage grid"),
    (
        r"(?P<rows>\d+)x(?P<cols>\d+) cells, fitted detection parameters",
        "{rows}x{cols} cells, fitted detection parameters",
    ),
    (
        r"(?P<rows>\d+)x(?P<cols>\d+) cells, assumed detection parameters",
        "{rows}x{cols} cells, assumed detection parameters",
    ),
    (r"D = (?P<d>[\d.e+-]+) per 100 km2", "D = {d} per 100 km²"),
    (
        r"D per 100 km2: (?P<dlist>.+) \((?P<k>\d+) zone\(s\) without stations: "
        r"see the report\)",
        "D per 100 km²: {dlist} ({k} zone(s) without stations: see the report)",
    ),
    (r"D per 100 km2: (?P<dlist>.+)", "D per 100 km²: {dlist}"),
    (r"(?P<n>\d+) individuals", "{n} individuals"),
    (
        r"(?P<n>\d+) least-cost paths, (?P<m>\d+) border segments scored",
        "{n} least-cost paths, {m} border segments scored",
    ),
    (
        r"(?P<n>\d+) least-cost paths, (?P<m>\d+) border segments scored by "
        r"omnidirectional current \(Omniscape\)",
        "{n} least-cost paths, {m} border segments scored by omnidirectional "
        "current (Omniscape)",
    ),
    (
        r"(?P<n>\d+) least-cost paths, (?P<m>\d+) border segments scored by "
        r"least cost",
        "{n} least-cost paths, {m} border segments scored by least cost",
    ),
    (
        r"(?P<n>\d+) sessions, best (?P<model>.+?): (?P<values>.+) per 100 km2",
        "{n} sessions, best {model}: {values} per 100 km²",
    ),
    (
        r"trend (?P<lam>[\d.e+-]+) per session \((?P<lcl>[\d.e+-]+)-(?P<ucl>[\d.e+-]+)\)",
        "trend {lam} per session ({lcl}–{ucl})",
    ),
    (r"(?P<n>\d+) stations proposed", "{n} stations proposed"),
    (r"(?P<n>\d+) km2", "{n} km²"),
    (r"(?P<n>\d+) figures", "{n} figures"),
)


def phrase(text: str) -> str:
    """``text`` from a results table in the current language.

    Parts separated by ``"; "`` are translated one by one: a part matching
    one of :data:`PHRASES` through its message (``"both (China + Russia)"``
    -> ``"в обеих странах (Китай + Россия)"``), any other through
    :func:`gettext` (names such as ``"Russia"``, words such as ``"total"``,
    names joined by ``" + "``).
    """
    if current() == "en" or not text:
        return text
    out = []
    for part in text.split("; "):
        for pattern, msg in PHRASES:
            mt = re.fullmatch(pattern, part)
            if mt:
                fields = dict(mt.groupdict())
                if "zones" in fields:
                    fields["zones"] = " + ".join(
                        gettext(z) for z in fields["zones"].split(" + ")
                    )
                if "dlist" in fields:  # "China 0.288, Russia 1.55"
                    fields["dlist"] = ", ".join(
                        f"{gettext(z)} {localize_number(v)}"
                        for z, _sp, v in (
                            item.rpartition(" ") for item in fields["dlist"].split(", ")
                        )
                    )
                if "d" in fields:
                    fields["d"] = localize_number(fields["d"])
                part = gettext(msg).format(**fields)
                break
        else:  # a name, a word, or names joined by " + "
            part = " + ".join(gettext(z) for z in part.split(" + "))
        out.append(part)
    return "; ".join(out)


_TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"
#: functions whose string-literal argument is a message (Python sources)
_KEYWORDS = {"gettext": None, "_tr": None, "_": None}


def source_messages() -> dict[str, list[str]]:
    """Every message the outputs may show -> where it comes from (English).

    The dictionaries of labels (maps, figures, report), the report's
    texts built in Python, :data:`trapscape.privacy.PUBLIC_NOTE`,
    :data:`NAMES`, :data:`WORDS`, the ``gettext``/``_tr`` calls with a
    literal argument in the presentation modules, and the ``{% trans %}``
    blocks and ``_()`` calls of the report template (Babel's extractors).
    This is what ``make i18n`` writes to ``locale/trapscape.pot`` and what
    the tests check every catalog against.
    """
    from babel.messages.extract import extract_from_file

    from .. import privacy
    from . import figures, maps, report

    out: dict[str, list[str]] = {}

    def add(msg: str, where: str) -> None:
        if msg:
            out.setdefault(msg, []).append(where)

    for mod, names in (
        (maps, ("LABELS",)),
        (figures, ("LABELS",)),
        (report, ("COLUMN_LABELS", "TEXT", "PLAN_METRICS")),
    ):
        for name in names:
            for key, msg in getattr(mod, name).items():
                add(msg, f"{mod.__name__}.{name}[{key!r}]")
    for _pattern, msg in PHRASES:
        add(msg, f"{__name__}.PHRASES")
    for i, msg in enumerate(report._ASSUMPTIONS):
        add(msg, f"{report.__name__}._ASSUMPTIONS[{i}]")
    add(privacy.PUBLIC_NOTE, "trapscape.privacy.PUBLIC_NOTE")
    for seq, label in (
        (NAMES, "NAMES"),
        (SETTLEMENTS, "SETTLEMENTS"),
        (WORDS, "WORDS"),
    ):
        for msg in seq:
            add(msg, f"{__name__}.{label}")
    here = Path(__file__).parent
    for py in sorted(here.glob("*.py")):
        for line, msg, _comments, _ctx in extract_from_file(
            "python", py, keywords=_KEYWORDS, comment_tags=()
        ):
            if isinstance(msg, str):
                add(msg, f"{py.name}:{line}")
    for line, msg, _comments, _ctx in extract_from_file(
        "jinja2.ext:babel_extract",
        _TEMPLATE,
        keywords=_KEYWORDS,
        options={
            "trim_blocks": "true",
            "lstrip_blocks": "true",
            "newstyle_gettext": "true",
        },
    ):
        if isinstance(msg, str):
            add(msg, f"{_TEMPLATE.name}:{line}")
    return out
