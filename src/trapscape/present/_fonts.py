"""Fonts of the PNG figures: a font that has every glyph of the figure text.

matplotlib ships DejaVu Sans, which covers Latin and Cyrillic but no CJK
characters; no CJK font comes with trapscape's dependencies.  Before drawing,
:func:`figure_language` checks the figure texts of the requested language
(labels and place names) against the character map of each installed font
(``FT2Font.get_charmap``), DejaVu Sans first.  When no font has every glyph
(Chinese on a machine without a CJK font), the figures are drawn with their
English labels instead, never with missing-glyph boxes, and the report says
so.  Installing a CJK font (``make system-deps`` installs Debian's
``fonts-wqy-microhei``) gives Chinese figures.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from . import i18n

__all__ = [
    "FigureFont",
    "covers",
    "figure_language",
    "figure_texts",
    "font_charmap",
    "weight_fallback_quiet",
]

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@functools.cache
def font_charmap(path: str) -> frozenset[int]:
    """Code points the font file at ``path`` has glyphs for."""
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


class FigureFont(NamedTuple):
    """The language the figures are drawn in, and the font (family, file)."""

    lang: str
    family: str
    path: str


#: Fonts whose glyphs are placeholders (matplotlib's "Last Resort" draws a
#: box naming the Unicode block for every character): never chosen.
_PLACEHOLDER_FONTS = ("last resort",)


def _system_fonts() -> set[tuple[str, str]]:
    """(family, file) of the system's fonts, registered with matplotlib.

    matplotlib caches its font list; a font installed after that cache was
    written (e.g. by ``make system-deps``) is found here and added, so the
    figures can use it.
    """
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    out = set()
    for path in font_manager.findSystemFonts():
        if path in known or not path.lower().endswith((".ttf", ".otf", ".ttc")):
            continue
        try:
            font_manager.fontManager.addfont(path)
            out.add((font_manager.FontProperties(fname=path).get_name(), path))
        except (OSError, RuntimeError, ValueError):  # unreadable font file
            continue
    return out


def _font_paths() -> list[tuple[str, str]]:
    """(family, file) of the installed text fonts, DejaVu Sans first."""
    from matplotlib import font_manager

    fonts = sorted(
        {(f.name, f.fname) for f in font_manager.fontManager.ttflist} | _system_fonts(),
        key=lambda nf: (nf[0] != "DejaVu Sans", nf[0], nf[1]),
    )
    return [
        (n, p)
        for n, p in fonts
        if p.lower().endswith((".ttf", ".otf", ".ttc"))
        and not any(bad in n.lower() for bad in _PLACEHOLDER_FONTS)
    ]


def figure_texts(lang: str) -> list[str]:
    """Every text the figures may show in ``lang`` (placeholders removed)."""
    from .figures import LABELS

    with i18n.language(lang):
        texts = [i18n.gettext(t) for t in LABELS.values()]
        texts += [i18n.gettext(n).upper() for n in i18n.NAMES]
        texts += [i18n.gettext(n) for n in i18n.NAMES]
    return [_PLACEHOLDER.sub("", t) for t in texts] + ["0123456789.,−-–×°"]


def covers(path: str, texts: Iterable[str]) -> bool:
    """Whether the font file at ``path`` has a glyph for every character of ``texts``."""
    cmap = font_charmap(path)
    return all(ord(ch) in cmap for t in texts for ch in t if not ch.isspace())


@functools.cache
def figure_language(lang: str) -> FigureFont:
    """The language and font to draw the figures of ``lang`` with.

    The language is ``lang`` when an installed font covers its figure texts
    (DejaVu Sans for English and Russian), else ``"en"`` (with DejaVu Sans,
    matplotlib's own font).  Placeholder fonts (Last Resort) never count.
    """
    code = i18n.check_lang(lang)
    texts = figure_texts(code)
    fonts = _font_paths()
    for family, path in fonts:
        try:
            if covers(path, texts):
                return FigureFont(code, family, path)
        except (OSError, RuntimeError):  # unreadable font file
            continue
    logger.warning(
        "No installed font has every character of the %s figure labels; "
        "the figures use English labels (install a CJK font such as "
        "fonts-wqy-microhei for Chinese figures).",
        {"ru": "Russian", "zh": "Simplified Chinese"}.get(code, code),
    )
    if code == "en":  # pragma: no cover - matplotlib ships DejaVu Sans
        raise RuntimeError("no installed font covers the English figure labels")
    return figure_language("en")


class _NoWeightFallback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage()


@contextlib.contextmanager
def weight_fallback_quiet() -> Iterator[None]:
    """Silence matplotlib's note that a font has no bold face (it uses regular).

    CJK fonts such as WenQuanYi Micro Hei have one weight; bold labels
    (country names) are drawn in it without a log line per text.
    """
    log = logging.getLogger("matplotlib.font_manager")
    flt = _NoWeightFallback()
    log.addFilter(flt)
    try:
        yield
    finally:
        log.removeFilter(flt)
