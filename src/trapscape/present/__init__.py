"""Presentation: the interactive map, the printable report and the static figures.

These modules only render the typed run record
(:class:`trapscape.products.RunProducts`); every number they show is
computed by the analysis modules (e.g. :mod:`trapscape.reserve`).  They are
the only place that reprojects to EPSG:4326, and only for display.
"""

from __future__ import annotations

from . import figures, i18n, maps, report
from .figures import FIGURE_NAMES, render_figures, write_figures
from .maps import find_leaflet, offline_assets, raster_overlay_png, save_map, survey_map
from .report import REFERENCES, render_report, report_context, write_report

__all__ = [
    "FIGURE_NAMES",
    "REFERENCES",
    "figures",
    "find_leaflet",
    "i18n",
    "maps",
    "offline_assets",
    "raster_overlay_png",
    "render_figures",
    "render_report",
    "report",
    "report_context",
    "save_map",
    "survey_map",
    "write_figures",
    "write_report",
]
