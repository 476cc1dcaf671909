"""Interactive survey maps (folium / Leaflet) for rangers and meetings.

:func:`survey_map` builds one :class:`folium.Map`: land, sea and country
polygons under everything (the area beyond the bundled data is a neutral
grey, never sea-blue), the coverage grid, the detection-probability (pdot)
surface and the circuit current, the study area, parks and candidate
reserve, home ranges per individual, least-cost corridors and paths, ranked
border hotspots, stations and proposed stations, then the international
border drawn last in the highest pane (black on a white casing), and
country, park and settlement names above it.  A collapsible layer control
switches layers; the legend lists only the visible layers, each class with
its numbers and units.  Base tiles are optional (off by default).

:func:`save_map` writes it as HTML with deterministic element ids and,
by default, with Leaflet's JavaScript and CSS inlined from the
``xstatic-leaflet`` package, so the map opens without internet; folium's
other default assets (jQuery, Bootstrap, awesome-markers) are not used.

Every user-visible string is in :data:`LABELS`, shown in the language of
``lang`` (see :mod:`trapscape.present.i18n`).
This module (with :mod:`trapscape.present.report`) is the only place that
reprojects to EPSG:4326, and only for display.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import InputError, MissingDependencyError
from ..products import RunProducts
from . import i18n
from ._style import (
    COLORS,
    class_breaks,
    class_colors,
    class_labels,
    classify,
    distinct_colors,
    fmt_number,
)

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    import xarray as xr

    from ..survey import Survey

__all__ = [
    "LABELS",
    "find_leaflet",
    "offline_assets",
    "raster_overlay_png",
    "render_html",
    "save_map",
    "survey_map",
]

logger = logging.getLogger(__name__)

LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"

#: Every string the map shows, by key ("field.<column>" for popup rows,
#: with units).  One place, so a translation catalog can replace them.
LABELS: dict[str, str] = {
    "title": "{name}: camera-trap survey",
    "legend": "Legend",
    "layer.land": "Land and sea",
    "layer.countries": "Countries",
    "layer.coverage": "Coverage grid (trap-nights per cell)",
    "layer.pdot": "Detection probability (pdot)",
    "layer.current": "Current density (circuit theory)",
    "layer.density": "Density surface (animals per 100 km²)",
    "layer.study_area": "Study area",
    "layer.parks": "Park (approximate boundary)",
    "layer.reserve": "Candidate transboundary reserve",
    "layer.ranges": "Home ranges (by individual)",
    "layer.corridors": "Least-cost corridors",
    "layer.paths": "Least-cost paths",
    "layer.hotspots": "Border-crossing hotspots (top 10 thick)",
    "layer.stations": "Camera stations",
    "layer.cells": "Camera effort per {cell_km:g} km cell",
    "layer.proposed": "Proposed new stations",
    "layer.proposed_cells": "Proposed new stations (per cell)",
    "layer.border": "International border",
    "layer.labels": "Place names",
    "legend.land": "land",
    "legend.sea": "sea",
    "legend.outside": "beyond the mapped data",
    "legend.country": "country boundary",
    "legend.no_effort": "no effort (0 trap-nights)",
    "unit.trap_nights": "trap-nights",
    "unit.probability": "probability",
    "unit.current": "A",
    "unit.density": "per 100 km²",
    "legend.density": "density surface of the best model by AIC (log-linear on habitat)",
    "legend.current": "current per cell, 1 A injected per pair of cores",
    "unit.score": "score (0–1)",
    "unit.detections": "detections",
    "legend.pdot": "probability of detecting an animal centred here at least once",
    "legend.study_area": "study area",
    "legend.park": "park (approximate)",
    "legend.reserve": "candidate reserve",
    "legend.ranges": "{n} individuals; touching ranges differ in colour",
    "legend.corridor": "corridor (within {width} of the least cost)",
    "legend.corridor_plain": "corridor (low-cost band)",
    "legend.path": "least-cost path",
    "legend.hotspot_top": "top 10 segments (thick)",
    "legend.stations_size": "circle size: trap-nights ({lo}–{hi})",
    "legend.no_detections": "no detections",
    "legend.proposed": "proposed station",
    "legend.border": "international border",
    "legend.settlement": "settlement",
    "field.name": "Name",
    "field.country": "Country",
    "field.station_id": "Station",
    "field.n_cameras": "Cameras",
    "field.trap_nights": "Trap-nights",
    "field.detections": "Detections (independent events)",
    "field.photos": "Photos",
    "field.individuals": "Individuals",
    "field.cell_id": "Cell",
    "field.zone": "Country",
    "field.n_stations": "Stations",
    "field.stations": "Stations",
    "field.area_km2": "Area (km²)",
    "field.individual_id": "Individual",
    "field.sex": "Sex",
    "field.method": "Method",
    "field.percent": "Isopleth (%)",
    "field.cross_border": "Cross-border status",
    "field.core_a": "From",
    "field.core_b": "To",
    "field.zone_a": "From country",
    "field.zone_b": "To country",
    "field.cost": "Accumulated cost (cost-distance units)",
    "field.least_cost": "Least cost (cost-distance units)",
    "field.width_cost": "Corridor width (cost-distance units)",
    "field.length_km": "Length (km)",
    "field.length_m": "Length (m)",
    "field.rank": "Rank",
    "field.score": "Score (0–1)",
    "field.current_sum": "Current through the segment (A)",
    "field.n_paths": "Least-cost paths crossing",
    "field.detour_cost": "Detour cost (cost-distance units)",
    "field.segment_id": "Segment",
    "field.order": "Order of placement",
    "field.candidate_id": "Candidate site",
    "field.objective": "Objective",
    "field.gain": "Gain",
    "field.components": "Made of",
    "field.lat": "Latitude (WGS 84)",
    "field.lon": "Longitude (WGS 84)",
    "field.area_km2_zone": "Area in {zone} (km²)",
    "sessions.title": "Density by session (animals per 100 km²)",
    "sessions.best": "best model by AIC: {model}",
    "sessions.row": "{session}: {d} (95% CI {lcl}–{ucl})",
    "sessions.trend": "trend {model}: ×{lam} per session (95% CI {lcl}–{ucl})",
}


def _t(key: str, **kw: Any) -> str:
    """The label ``key`` of :data:`LABELS` in the current language, formatted with ``kw``."""
    text = i18n.gettext(LABELS[key])
    return text.format(**kw) if kw else text


_INSTALL_HINT = (
    "Install the offline map assets with `pip install xstatic-leaflet` (a dependency of "
    "trapscape), or pass assets= a folder holding leaflet.js and leaflet.css."
)

# Panes, bottom to top.  Leaflet's own: tiles 200, overlays 400, markers 600,
# tooltips 650, popups 700.  The border and the names sit above every layer.
_PANES = (
    ("ts_base", 210, False),
    ("ts_raster", 300, False),
    ("ts_border", 620, False),
    ("ts_labels", 630, False),
)


def _folium() -> Any:
    try:
        import folium
    except ImportError as err:  # pragma: no cover - folium is installed in CI
        raise MissingDependencyError(
            'Interactive maps need folium: pip install "trapscape[maps]".'
        ) from err
    return folium


# -------------------------------------------------------------------- assets
def _packaged_leaflet() -> Path | None:
    """Leaflet's ``dist`` folder from the ``xstatic-leaflet`` package, if installed."""
    try:
        from xstatic.pkg import leaflet
    except ImportError:
        return None
    return Path(leaflet.BASE_DIR)


def find_leaflet(assets: str | os.PathLike[str] | None = None) -> Path | None:
    """Folder holding Leaflet's ``leaflet.js``/``leaflet.css``, or None.

    Looks in ``assets`` when given (the folder itself, or its ``dist``,
    ``leaflet/dist`` or ``node_modules/leaflet/dist``), else in the
    ``xstatic-leaflet`` package (installed with ``trapscape[maps]``).
    """
    if assets is None:
        packaged = _packaged_leaflet()
        cands = [packaged] if packaged is not None else []
    else:
        cands = [Path(assets)]
    for base in cands:
        for sub in (".", "dist", "leaflet/dist", "node_modules/leaflet/dist"):
            d = base / sub
            if (d / "leaflet.js").is_file() and (d / "leaflet.css").is_file():
                return d
    return None


def offline_assets(assets: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Leaflet's JS and CSS (images inlined as data URIs) for offline maps.

    Raises
    ------
    MissingDependencyError
        If no local Leaflet copy is found; the message says how to install it.
    """
    d = find_leaflet(assets)
    if d is None:
        where = f" in {os.fspath(assets)}" if assets is not None else ""
        raise MissingDependencyError(
            f"Offline map assets (Leaflet's leaflet.js and leaflet.css) not found{where}. "
            + _INSTALL_HINT
        )
    js = (d / "leaflet.js").read_text(encoding="utf-8")
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def _inline(m: re.Match[str]) -> str:
        rel = m.group(1).strip("'\"")
        p = d / rel
        if not p.is_file():
            return m.group(0)
        mime = (
            "image/svg+xml" if p.suffix == ".svg" else f"image/{p.suffix.lstrip('.')}"
        )
        return f"url(data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()})"

    css = re.sub(r"url\(([^)]+)\)", _inline, css)
    return {"js": js, "css": css}


# ------------------------------------------------------------------- helpers
def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(4326)


def _human(v: Any) -> str:
    """A value as shown in a popup: numbers rounded, slugs made readable."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return i18n.gettext("yes") if v else i18n.gettext("no")
    if isinstance(v, (int, float, np.integer, np.floating)):
        return fmt_number(v)
    s = str(v)
    if "_" in s and " " not in s and s.lower() == s and len(s) > 12:
        s = s.replace("_", " ").capitalize()
    return i18n.phrase(s)


def _field_label(col: str) -> str:
    key = f"field.{col}"
    if key in LABELS:
        return _t(key)
    if col.startswith("area_km2_"):
        return _t("field.area_km2_zone", zone=i18n.gettext(col[len("area_km2_") :]))
    return col.replace("_", " ").capitalize()


def _popup_frame(
    gdf: gpd.GeoDataFrame, fields: Sequence[str], style: Sequence[str] = ()
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``fields`` as display strings (and raw ``style`` columns), in EPSG:4326.

    Returns the frame and the fields that exist.  Popup rows show
    :func:`_field_label` as the label; values are rounded to their precision.
    """
    import geopandas as gpd

    present = [c for c in fields if c in gdf.columns]
    out = pd.DataFrame(index=gdf.index)
    for c in present:
        out[c] = gdf[c].astype(object).map(_human)
    for c in style:
        if c in gdf.columns:
            s = gdf[c]
            out[c] = s.astype(object).where(s.notna(), None)
    g = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    return _to_wgs84(g), present


def _popup(fm: Any, fields: Sequence[str]) -> Any:
    if not fields:
        return None
    return fm.GeoJsonPopup(
        fields=list(fields),
        aliases=[_field_label(f) for f in fields],
        localize=False,
        labels=True,
    )


def _geojson_group(
    fm: Any,
    m: Any,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    style: dict[str, Any] | Any,
    fields: Sequence[str] = (),
    style_cols: Sequence[str] = (),
    show: bool = True,
    pane: str | None = None,
    class_name: str | None = None,
    control: bool = True,
) -> Any:
    """A named feature group holding one GeoJSON layer with field popups."""
    data, present = _popup_frame(gdf, fields, style_cols)
    style_fn = style if callable(style) else (lambda _f, s=style: s)
    kw: dict[str, Any] = {}
    popup = _popup(fm, present)
    if popup is not None:
        kw["popup"] = popup
    if pane is not None:
        kw["pane"] = pane
    if class_name is not None:
        kw["className"] = class_name
    layer = fm.FeatureGroup(name=name, show=show, control=control)
    fm.GeoJson(data.__geo_interface__, style_function=style_fn, **kw).add_to(layer)
    layer.add_to(m)
    return layer


def _swatch(col: str, kind: str, dash: str | None = None) -> str:
    """A small legend symbol: box, circle, line (optionally dashed), diamond."""
    if kind == "line":
        border = f"border-top:3px {'dashed' if dash else 'solid'} {col}"
        return f'<span class="ts-sw" style="height:0;{border};margin-top:6px"></span>'
    if kind == "border":
        return (
            '<span class="ts-sw" style="height:3px;background:#000;'
            'outline:2px solid #fff;box-shadow:0 0 0 3px #999;margin-top:5px"></span>'
        )
    if kind == "diamond":
        return (
            f'<span class="ts-sw" style="width:10px;height:10px;background:{col};'
            'border:2px solid #000;transform:rotate(45deg);margin:1px 4px"></span>'
        )
    radius = "50%" if kind == "circle" else "2px"
    return (
        f'<span class="ts-sw" style="background:{col};border-radius:{radius};'
        'border:1px solid #555"></span>'
    )


class _Legend:
    """Legend blocks, each tied to the map layer whose visibility it follows."""

    def __init__(self) -> None:
        self.blocks: list[tuple[Any, str]] = []

    def add(
        self,
        layer: Any,
        title: str,
        items: Sequence[tuple[str, str, str]],
        note: str = "",
    ) -> None:
        """``items``: (label, colour, kind) with kind box/circle/line/dash/..."""
        rows = "".join(
            f'<div class="ts-li">{_swatch(col, "line" if kind == "dash" else kind, "d" if kind == "dash" else None)}'
            f"{html.escape(label)}</div>"
            for label, col, kind in items
        )
        extra = f'<div class="ts-note">{html.escape(note)}</div>' if note else ""
        self.blocks.append(
            (
                layer,
                f'<div class="ts-legend-block" data-layer="{layer.get_name()}">'
                f"<b>{html.escape(title)}</b>{rows}{extra}</div>",
            )
        )

    def html(self) -> str:
        inner = "".join(b for _l, b in self.blocks)
        return (
            f'<details class="ts-legend" open><summary>{html.escape(_t("legend"))}'
            f"</summary>{inner}</details>"
        )


_LEGEND_JS = """
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  function sync() {
    document.querySelectorAll('.ts-legend [data-layer]').forEach(function (b) {
      var layer = window[b.getAttribute('data-layer')];
      b.style.display = (layer && map.hasLayer(layer)) ? '' : 'none';
    });
  }
  map.on('overlayadd overlayremove layeradd layerremove', sync);
  sync();
  // names: hide a name that overlaps one drawn before it (countries, then
  // parks, then settlements by decreasing population), after every zoom
  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function declutter() {
    var kept = [];
    document.querySelectorAll('.ts-label').forEach(function (el) {
      el.style.visibility = '';
      var r = el.getBoundingClientRect();
      if (r.width === 0) { return; }
      if (kept.some(function (k) { return overlaps(k, r); })) {
        el.style.visibility = 'hidden';
      } else {
        kept.push(r);
      }
    });
  }
  map.on('zoomend moveend overlayadd', declutter);
  declutter();
})();
{% endmacro %}
"""


def _legend_sync(fm: Any, m: Any) -> None:
    """JavaScript: a legend block shows only while its layer is on the map, and
    overlapping place names are hidden (the first drawn wins) after each zoom."""
    from branca.element import MacroElement
    from jinja2 import Template

    el = MacroElement()
    el._name = "TsLegendSync"
    el._template = Template(_LEGEND_JS)
    m.add_child(el)


_UI_JS = """
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, t = %(texts)s;
  L.Control.Scale.prototype._updateMetric = function (maxMeters) {
    var meters = this._getRoundNum(maxMeters);
    var label = meters < 1000 ? meters + ' ' + t.m : (meters / 1000) + ' ' + t.km;
    this._updateScale(this._mScale, label, meters / maxMeters);
  };
  L.Control.Scale.prototype._updateImperial = function () {
    if (this._iScale) { this._iScale.style.display = 'none'; }
  };
  map.fire('moveend');
  [['.leaflet-control-zoom-in', t.zoom_in], ['.leaflet-control-zoom-out', t.zoom_out]]
    .forEach(function (p) {
      var a = document.querySelector(p[0]);
      if (a) { a.title = p[1]; a.setAttribute('aria-label', p[1]); }
    });
})();
{% endmacro %}
"""


def _leaflet_ui_language(m: Any) -> None:
    """Leaflet's own texts in the current language: scale bar units, zoom buttons.

    The scale bar shows metric units only (in the language's abbreviation).
    """
    import json

    from branca.element import MacroElement
    from jinja2 import Template

    texts = {
        "m": i18n.gettext("m"),
        "km": i18n.gettext("km"),
        "zoom_in": i18n.gettext("Zoom in"),
        "zoom_out": i18n.gettext("Zoom out"),
    }
    el = MacroElement()
    el._name = "TsLeafletUi"
    el._template = Template(_UI_JS.replace("%(texts)s", json.dumps(texts)))
    m.add_child(el)


_CSS = """<style>
.leaflet-container.leaflet-container{background:%(outside)s}
.ts-box{position:absolute;z-index:1000;background:rgba(255,255,255,.94);
 padding:5px 9px;border:1px solid #999;border-radius:4px;font:12px/1.35 sans-serif}
.ts-legend{max-width:300px}
.ts-legend summary{font-weight:bold;cursor:pointer}
.ts-legend-block{margin:4px 0 2px}
.ts-li{white-space:nowrap}
.ts-note{color:#555;font-size:11px;max-width:280px;white-space:normal}
.ts-sw{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:middle}
.ts-banner{font-weight:bold;color:#b2182b;max-width:520px}
.ts-label{white-space:nowrap;pointer-events:none;font:12px/1.1 sans-serif;
 color:#222;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}
.ts-label-country{font-size:17px;font-weight:bold;letter-spacing:.12em;
 text-transform:uppercase;color:#555}
.ts-label{display:inline-block;transform:translate(-50%%,-50%%);text-align:center}
.ts-label-park{font-style:italic;color:%(park)s;font-size:12px;white-space:normal;width:170px}
.ts-label-place{transform:translate(-3px,-50%%);text-align:left}
.ts-label-place:before{content:'';display:inline-block;width:5px;height:5px;
 margin-right:3px;border-radius:50%%;background:%(settlement)s;border:1px solid #fff}
.ts-diamond{width:12px;height:12px;margin:1px;background:%(proposed)s;
 border:2px solid #000;transform:rotate(45deg);box-sizing:border-box}
</style>"""


def raster_overlay_png(
    da: xr.DataArray,
    *,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: float = 0.75,
    log: bool = False,
    breaks: Sequence[float] | None = None,
    colors_: Sequence[str] | None = None,
) -> tuple[bytes, tuple[tuple[float, float], tuple[float, float]]]:
    """Render a raster as an RGBA PNG in Web Mercator and its lat/lon bounds.

    The raster (projected CRS) is reprojected to EPSG:3857 so that the image,
    stretched linearly between its corners by Leaflet, lines up with vector
    layers.  NaN and nodata cells are transparent.  With ``breaks`` (class
    edges) and ``colors_`` (one colour per class) the raster is drawn in
    classes, as its legend states them; values below the first edge are
    transparent.

    Returns
    -------
    png, bounds
        PNG bytes and ``((south, west), (north, east))`` in degrees.
    """
    import matplotlib as mpl
    import rioxarray  # noqa: F401
    from matplotlib import colors
    from pyproj import Transformer
    from rasterio.enums import Resampling

    src = da.astype("float64")
    nod = da.rio.nodata
    if nod is not None and np.isfinite(nod):
        src = src.where(src != nod)
    src = src.rio.write_nodata(np.nan)
    merc = src.rio.reproject("EPSG:3857", resampling=Resampling.nearest, nodata=np.nan)
    arr = np.asarray(merc.values, dtype=float)
    if log:
        arr = np.where(arr > 0, np.log10(np.where(arr > 0, arr, 1)), np.nan)
    if breaks is not None and colors_ is not None:
        cm: Any = colors.ListedColormap(list(colors_))
        norm: Any = colors.BoundaryNorm(list(breaks), cm.N, clip=True)
        arr = np.where(arr >= breaks[0], arr, np.nan)
        lo = float(breaks[0])
    else:
        finite = arr[np.isfinite(arr)]
        lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1e-12)
        cm = mpl.colormaps[cmap]
    rgba = np.asarray(cm(norm(np.nan_to_num(arr, nan=lo))), dtype=float)
    rgba[..., 3] = np.where(np.isfinite(arr), alpha, 0.0)
    buf = io.BytesIO()
    from matplotlib import image as mimage

    mimage.imsave(buf, (rgba * 255).astype(np.uint8), format="png")
    minx, miny, maxx, maxy = merc.rio.bounds()
    tr = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    w, s = tr.transform(minx, miny)
    e, n = tr.transform(maxx, maxy)
    return buf.getvalue(), ((s, w), (n, e))


def _fixed_box(m: Any, inner: str, position: str, css_class: str) -> None:
    from branca.element import Element

    pos = {
        "bottomleft": "bottom:48px;left:10px;max-height:calc(100% - 170px);overflow:auto",
        "top": "top:8px;left:50%;transform:translateX(-50%)",
    }[position]
    m.get_root().html.add_child(
        Element(f'<div class="ts-box {css_class}" style="{pos}">{inner}</div>')
    )


# ------------------------------------------------------------------ the map
_EXACT_LAYERS = ("stations", "ranges", "cross_border")


@i18n.in_language
def survey_map(
    survey: Survey,
    products: RunProducts | None = None,
    *,
    tiles: str | None = None,
    public: bool = False,
    public_cell: float = 5000.0,
    title: str | None = None,
    zoom_start: int = 10,
    labels: bool = True,
    lang: i18n.Lang = "en",
) -> folium.Map:
    """Build the interactive survey map.

    Parameters
    ----------
    survey
        The survey (projected CRS).  In public mode pass the generalised
        survey (:func:`trapscape.privacy.generalise_survey`).
    products
        The run's results (:class:`~trapscape.products.RunProducts`); the map
        shows ``stations`` (points with ``trap_nights``, ``detections``,
        ``individuals``) or ``station_cells`` (public), ``coverage_grid``,
        ``pdot``, ``ranges`` (with ``cross_border`` status), ``corridors``,
        ``corridor_paths``, ``current``, ``border_hotspots``, ``proposed`` and
        ``reserve``.  Fields left at ``None`` are left out.
    tiles
        Base tiles name or URL (e.g. ``"OpenStreetMap"``; needs internet).
        ``None`` (default): no tiles; land, sea and countries are drawn from
        the survey's layers.
    public
        Add the public-version banner and refuse per-station and
        per-individual layers; proposed stations show no coordinates.
    public_cell
        Cell size of the public generalisation, for the banner (metres).
    title
        Map title shown at the top (default: the survey name).
    zoom_start
        Initial zoom level (the map then fits the study area).
    labels
        Show country, park and settlement names (settlements from the
        bundled GeoNames layer, where it covers the map).
    lang
        Language of every label, legend and popup: ``"en"``, ``"ru"``
        (Russian) or ``"zh"`` (Simplified Chinese); numbers in that locale.
        The saved page's ``<html lang>`` follows it.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.

    Raises
    ------
    InputError
        In public mode, if per-station or per-individual layers are passed.
    """
    fm = _folium()
    prods = products if products is not None else RunProducts()
    if public:
        _refuse_exact_layers(prods)
    b = _display_bounds(survey)
    m = _base_map(fm, b, tiles=tiles, zoom_start=zoom_start)
    lg = _Legend()
    _add_background(fm, m, survey, lg, tiles=tiles)
    _add_coverage_grid(fm, m, prods.coverage_grid, lg)
    _add_rasters(fm, m, prods, lg)
    _add_boundaries(fm, m, survey, prods.reserve, lg)
    _add_ranges(fm, m, prods.ranges, prods.cross_border, lg)
    _add_corridors(fm, m, prods, lg)
    _add_hotspots(fm, m, prods.border_hotspots, lg)
    _add_stations(fm, m, survey, prods, lg, public=public, cell=public_cell)
    _add_proposed(fm, m, prods.proposed, lg, public=public)
    _add_border(fm, m, survey, lg)  # last, in the highest pane
    if labels:
        _add_labels(fm, m, survey, b)
    fm.LayerControl(collapsed=True, position="topright").add_to(m)
    _add_header(m, survey, title=title, public=public, cell=public_cell)
    _fixed_box(
        m, lg.html() + _sessions_html(prods.sessions), "bottomleft", "ts-legend-box"
    )
    _legend_sync(fm, m)
    if i18n.current() != "en":
        _leaflet_ui_language(m)
    if b[2] > b[0] and b[3] > b[1]:
        m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    m._trapscape_lang = i18n.current()  # for <html lang> (render_html)
    return m


def _sessions_html(models: Any) -> str:
    """Per-session densities and the trend, under the legend (no locations).

    The sessions are surveys of other years or areas, not layers of this
    map, so their estimates sit in the legend box, always shown.
    """
    if models is None:
        return ""
    best = models.best
    d = best.estimates[best.estimates["parameter"] == "D"]
    rows = "".join(
        '<div class="ts-li">'
        + html.escape(
            _t(
                "sessions.row",
                session=str(r["session"]),
                d=fmt_number(r["estimate"]),
                lcl=fmt_number(r["lcl"]),
                ucl=fmt_number(r["ucl"]),
            )
        )
        + "</div>"
        for _, r in d.iterrows()
    )
    notes = [_t("sessions.best", model=best.label)]
    for _, t in models.trends.iterrows():
        notes.append(
            _t(
                "sessions.trend",
                model=str(t["model"]),
                lam=fmt_number(t["lambda"]),
                lcl=fmt_number(t["lcl"]),
                ucl=fmt_number(t["ucl"]),
            )
        )
    extra = "".join(f'<div class="ts-note">{html.escape(n)}</div>' for n in notes)
    return (
        f'<details class="ts-legend ts-sessions" open><summary>'
        f"{html.escape(_t('sessions.title'))}</summary>"
        f'<div class="ts-legend-block">{rows}{extra}</div></details>'
    )


def _refuse_exact_layers(prods: RunProducts) -> None:
    """Public mode: per-station and per-individual layers must not be shown."""
    leaked = [k for k in _EXACT_LAYERS if getattr(prods, k) is not None]
    if leaked:
        raise InputError(
            f"public map given exact layers {leaked}; pass generalised "
            "products (station_cells) or public=False."
        )


def _display_bounds(survey: Survey) -> np.ndarray:
    """(west, south, east, north) in degrees: the study area, else the stations."""
    src = (
        survey.study_area
        if survey.study_area is not None and len(survey.study_area)
        else survey.stations
    )
    return np.asarray(src.to_crs(4326).total_bounds)


def _base_map(fm: Any, b: np.ndarray, *, tiles: str | None, zoom_start: int) -> Any:
    """An empty Leaflet map centred on ``b`` with the panes of the layers."""
    from branca.element import Element

    centre = [(b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0]
    m = fm.Map(
        location=centre,
        zoom_start=zoom_start,
        tiles=tiles,
        control_scale=True,
        prefer_canvas=False,
    )
    # only Leaflet is needed: no jQuery/Bootstrap/awesome-markers
    m.default_js = [("leaflet", LEAFLET_JS)]
    m.default_css = [("leaflet_css", LEAFLET_CSS)]
    m.get_root().header.add_child(Element(_CSS % COLORS))
    for name, z, events in _PANES:
        fm.map.CustomPane(name, z_index=z, pointer_events=events).add_to(m)
    return m


def _add_background(
    fm: Any, m: Any, survey: Survey, lg: _Legend, *, tiles: str | None
) -> None:
    """Land, sea (within the land layer's extent) and country polygons."""
    land = survey.habitat
    if land is not None and len(land):
        layer = _geojson_group(
            fm,
            m,
            _land_and_sea(land),
            name=_t("layer.land"),
            pane="ts_base",
            style_cols=["_fill"],
            show=tiles is None,
            style=lambda f: {
                "stroke": False,
                "fillColor": f["properties"].get("_fill"),
                "fillOpacity": 1.0,
            },
        )
        lg.add(
            layer,
            _t("layer.land"),
            [
                (_t("legend.land"), COLORS["land"], "box"),
                (_t("legend.sea"), COLORS["sea"], "box"),
                (_t("legend.outside"), COLORS["outside"], "box"),
            ],
        )
    if survey.zones is not None and len(survey.zones):
        layer = _geojson_group(
            fm,
            m,
            survey.zones,
            name=_t("layer.countries"),
            pane="ts_base",
            style={"color": COLORS["zone"], "weight": 1, "fill": False},
        )
        lg.add(
            layer,
            _t("layer.countries"),
            [(_t("legend.country"), COLORS["zone"], "line")],
        )


def _land_and_sea(land: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Land polygons plus the sea: the land layer's extent minus the land."""
    import geopandas as gpd
    from shapely.geometry import box

    merged = land.geometry.union_all()
    sea = box(*land.total_bounds).difference(merged)
    tol = 30.0 if land.crs is not None and land.crs.is_projected else 0.0003
    return gpd.GeoDataFrame(
        {"_fill": [COLORS["land"], COLORS["sea"]]},
        geometry=[merged.simplify(tol), sea.simplify(tol)],
        crs=land.crs,
    )


def _classed(
    values: Any, edges: Sequence[float], ramp: str
) -> tuple[list[str | None], list[str]]:
    """Colour of each value by class, and the colours of the classes."""
    cols = class_colors(ramp, max(len(edges) - 1, 1))
    idx = classify(values, edges)
    return [cols[i] if i >= 0 else None for i in idx], cols


def _add_coverage_grid(
    fm: Any, m: Any, grid: gpd.GeoDataFrame | None, lg: _Legend
) -> None:
    """Grid cells classed by trap-nights (hidden at first)."""
    if grid is None or not len(grid):
        return
    col = next(
        (
            c
            for c in ("trap_nights", "effort_days", "n_stations", "stations")
            if c in grid.columns
        ),
        None,
    )
    vals = grid[col].to_numpy(dtype=float) if col else np.zeros(len(grid))
    edges = class_breaks(vals, 4)
    fill, cols = _classed(np.where(vals > 0, vals, np.nan), edges, "effort")
    g = grid.assign(_fill=fill)
    fields = [
        "cell_id",
        "zone",
        "stations",
        "n_stations",
        "trap_nights",
        "detections",
        "individuals",
    ]
    layer = _geojson_group(
        fm,
        m,
        g,
        name=_t("layer.coverage"),
        fields=fields,
        style_cols=["_fill"],
        show=False,
        style=lambda f: {
            "color": "#666666",
            "weight": 0.3,
            "fillColor": f["properties"].get("_fill") or "#ffffff",
            "fillOpacity": 0.6 if f["properties"].get("_fill") else 0.15,
        },
    )
    if col:
        unit = _t("unit.trap_nights") if col == "trap_nights" else _field_label(col)
        items = [(_t("legend.no_effort"), "#ffffff", "box")]
        items += [
            (lab, c, "box")
            for lab, c in zip(class_labels(edges, unit), cols, strict=False)
        ]
        lg.add(layer, _t("layer.coverage"), items)


def _add_rasters(fm: Any, m: Any, prods: RunProducts, lg: _Legend) -> None:
    """The pdot surface (shown), the density surface and the current (hidden)."""
    from ..density.surface import best_surface

    surfaces = getattr(prods.density_fit, "surfaces", ()) or ()
    best = best_surface(surfaces) if surfaces else None
    dens = best.to_dataarray() if best is not None and best.crs is not None else None
    for key, da in (
        ("pdot", prods.pdot),
        ("density", dens),
        ("current", prods.current),
    ):
        if da is None:
            continue
        if key == "pdot":
            edges = class_breaks(None, fixed=(0, 0.2, 0.4, 0.6, 0.8, 1.0))
            unit, note = _t("unit.probability"), _t("legend.pdot")
        elif key == "density":
            edges = class_breaks(np.asarray(da.values, dtype=float), 5)
            unit, note = _t("unit.density"), _t("legend.density")
        else:
            edges = class_breaks(np.asarray(da.values, dtype=float), 5)
            unit, note = _t("unit.current"), _t("legend.current")
        cols = class_colors(key, len(edges) - 1)
        png, bnds = raster_overlay_png(da, colors_=cols, breaks=edges, alpha=1.0)
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        fg = fm.FeatureGroup(name=_t(f"layer.{key}"), show=key == "pdot")
        fm.raster_layers.ImageOverlay(
            url,
            bounds=[list(bnds[0]), list(bnds[1])],
            opacity=0.7,
            interactive=False,
            pane="ts_raster",
        ).add_to(fg)
        fg.add_to(m)
        labels = class_labels(edges, unit)
        lg.add(
            fg,
            _t(f"layer.{key}"),
            [(lab, c, "box") for lab, c in zip(labels, cols, strict=False)],
            note,
        )


def _add_boundaries(
    fm: Any, m: Any, survey: Survey, res: gpd.GeoDataFrame | None, lg: _Legend
) -> None:
    """Study area, parks and the candidate reserve."""
    if survey.study_area is not None and len(survey.study_area):
        layer = _geojson_group(
            fm,
            m,
            survey.study_area,
            name=_t("layer.study_area"),
            fields=[V.NAME, "area_km2"],
            style={
                "color": COLORS["study_area"],
                "weight": 2,
                "fill": False,
                "dashArray": "4 4",
            },
        )
        lg.add(
            layer,
            _t("layer.study_area"),
            [(_t("legend.study_area"), COLORS["study_area"], "dash")],
        )
    if survey.parks is not None and len(survey.parks):
        layer = _geojson_group(
            fm,
            m,
            survey.parks,
            name=_t("layer.parks"),
            fields=[V.NAME, "country", "area_km2"],
            style={
                "color": COLORS["park"],
                "weight": 2.5,
                "fillColor": COLORS["park"],
                "fillOpacity": 0.06,
            },
        )
        lg.add(layer, _t("layer.parks"), [(_t("legend.park"), COLORS["park"], "line")])
    if res is not None and len(res):
        fields = [
            c
            for c in res.columns
            if c.startswith("area_km2") or c in ("components", "name")
        ]
        layer = _geojson_group(
            fm,
            m,
            res,
            name=_t("layer.reserve"),
            fields=fields,
            show=False,
            style={
                "color": COLORS["reserve"],
                "weight": 3,
                "fillColor": COLORS["reserve"],
                "fillOpacity": 0.08,
            },
        )
        lg.add(
            layer,
            _t("layer.reserve"),
            [(_t("legend.reserve"), COLORS["reserve"], "line")],
        )


def _add_ranges(
    fm: Any, m: Any, ranges: gpd.GeoDataFrame | None, cross_border: Any, lg: _Legend
) -> None:
    """Home ranges; touching ranges get different colours (see distinct_colors)."""
    if ranges is None or not len(ranges):
        return
    has_id = V.INDIVIDUAL_ID in ranges.columns
    pal = distinct_colors(ranges, V.INDIVIDUAL_ID if has_id else None)
    keys = ranges[V.INDIVIDUAL_ID].astype(str) if has_id else ranges.index.astype(str)
    r = ranges.assign(_col=list(keys.map(pal)))
    status = _status_lookup(cross_border)
    if status and has_id:
        r["cross_border"] = r[V.INDIVIDUAL_ID].astype(str).map(status)
    fields = [V.INDIVIDUAL_ID, V.SEX, "method", "percent", "area_km2", "cross_border"]
    n = len(pal)
    layer = _geojson_group(
        fm,
        m,
        r,
        name=_t("layer.ranges"),
        fields=fields,
        style_cols=["_col"],
        show=n <= 20,
        style=lambda f: {
            "color": f["properties"].get("_col"),
            "weight": 1.5,
            "fillColor": f["properties"].get("_col"),
            "fillOpacity": 0.12,
        },
    )
    sample = list(dict.fromkeys(pal.values()))[:4]
    items = [
        (_t("legend.ranges", n=n) if i == 0 else "", c, "box")
        for i, c in enumerate(sample)
    ]
    lg.add(layer, _t("layer.ranges"), items[:1])


def _core_names(prods: RunProducts) -> dict[str, str]:
    cores = prods.cores
    if cores is None or "core_id" not in cores.columns or V.NAME not in cores.columns:
        return {}
    return dict(
        zip(cores["core_id"].astype(str), cores[V.NAME].astype(str), strict=False)
    )


def _add_corridors(fm: Any, m: Any, prods: RunProducts, lg: _Legend) -> None:
    """Least-cost corridors (light-blue bands) and paths (dark dashed lines)."""
    names = _core_names(prods)
    fields = [
        "core_a",
        "core_b",
        "zone_a",
        "zone_b",
        "least_cost",
        "width_cost",
        "cost",
        "area_km2",
        "length_km",
    ]
    c = prods.corridors
    if c is not None and len(c):
        c2 = c.replace({"core_a": names, "core_b": names}) if names else c
        layer = _geojson_group(
            fm,
            m,
            c2,
            name=_t("layer.corridors"),
            fields=fields,
            style={
                "color": COLORS["corridor"],
                "weight": 1,
                "fillColor": COLORS["corridor"],
                "fillOpacity": 0.45,
            },
        )
        lg.add(
            layer,
            _t("layer.corridors"),
            [(_t("legend.corridor_plain"), COLORS["corridor"], "box")],
        )
    p = prods.corridor_paths
    if p is not None and len(p):
        p2 = p.replace({"core_a": names, "core_b": names}) if names else p
        if "length_m" in p2.columns:
            p2 = p2.assign(length_km=p2["length_m"] / 1000.0)
        layer = _geojson_group(
            fm,
            m,
            p2,
            name=_t("layer.paths"),
            fields=fields,
            style={"color": COLORS["path"], "weight": 3.5, "dashArray": "8 5"},
        )
        lg.add(layer, _t("layer.paths"), [(_t("legend.path"), COLORS["path"], "dash")])


def _add_hotspots(fm: Any, m: Any, hs: gpd.GeoDataFrame | None, lg: _Legend) -> None:
    """Border segments classed by score; the top ten drawn thick."""
    if hs is None or not len(hs):
        return
    h = hs.copy()
    if "rank" in h.columns:
        h = h.sort_values("rank")
    elif "score" in h.columns:
        h = h.sort_values("score", ascending=False)
    score = next((c for c in ("score", "current_sum") if c in h.columns), None)
    vals = h[score].to_numpy(dtype=float) if score else np.arange(len(h))[::-1] + 1.0
    edges = class_breaks(vals, 4, start=0.0)
    fill, cols = _classed(vals, edges, "hotspot")
    h["_col"] = [f or cols[0] for f in fill]
    top = np.zeros(len(h), dtype=bool)
    top[: min(10, len(h))] = True
    h["_w"] = np.where(top, 18, 12)  # wider than the border's casing
    fields = ["rank", "score", "current_sum", "n_paths", "detour_cost", "length_m"]
    layer = _geojson_group(
        fm,
        m,
        h,
        name=_t("layer.hotspots"),
        fields=fields,
        style_cols=["_col", "_w"],
        style=lambda f: {
            "color": f["properties"].get("_col"),
            "weight": f["properties"].get("_w") or 5,
            "opacity": 0.9,
            "lineCap": "butt",
        },
    )
    unit = _t("unit.score") if score == "score" else ""
    items = [
        (lab, c, "line")
        for lab, c in zip(class_labels(edges, unit), cols, strict=False)
    ]
    items.append((_t("legend.hotspot_top"), cols[-1], "box"))
    lg.add(layer, _t("layer.hotspots"), items)


def _add_stations(
    fm: Any,
    m: Any,
    survey: Survey,
    prods: RunProducts,
    lg: _Legend,
    *,
    public: bool,
    cell: float,
) -> None:
    """Public cells, else station points (from the products or the survey)."""
    cells, st = prods.station_cells, prods.stations
    if cells is not None and len(cells):
        _add_station_cells(fm, m, cells, cell, lg)
    elif st is not None and len(st):
        _station_layer(fm, m, st, lg)
    elif not public and len(survey.stations):
        _station_layer(fm, m, survey.station_points, lg)


def _detection_classes(det: np.ndarray) -> tuple[list[float], list[str], list[str]]:
    """Class edges over positive detections, the colours of every value and of the classes."""
    edges = class_breaks(det, 3, start=1.0)
    fill, cols = _classed(det, edges, "detections")
    return edges, [f or COLORS["station_none"] for f in fill], cols


def _add_station_cells(
    fm: Any, m: Any, cells: gpd.GeoDataFrame, cell: float, lg: _Legend
) -> None:
    """Public mode: camera effort per grid cell, classed by detections."""
    det = (
        cells["detections"].to_numpy(dtype=float)
        if "detections" in cells.columns
        else np.zeros(len(cells))
    )
    edges, fill, cols = _detection_classes(det)
    name = _t("layer.cells", cell_km=cell / 1000)
    layer = _geojson_group(
        fm,
        m,
        cells.assign(_col=fill),
        name=name,
        fields=["cell_id", "n_stations", "trap_nights", "detections"],
        style_cols=["_col"],
        style=lambda f: {
            "color": "#333333",
            "weight": 1,
            "fillColor": f["properties"].get("_col"),
            "fillOpacity": 0.65,
        },
    )
    items = [(_t("legend.no_detections"), COLORS["station_none"], "box")]
    items += [
        (lab, c, "box")
        for lab, c in zip(
            class_labels(edges, _t("unit.detections"), integer=True), cols, strict=False
        )
    ]
    lg.add(layer, name, items)


def _station_layer(fm: Any, m: Any, st: gpd.GeoDataFrame, lg: _Legend) -> None:
    """Stations as circles: size by trap-nights, colour by detection class."""
    tn = (
        st["trap_nights"].to_numpy(dtype=float)
        if "trap_nights" in st.columns
        else np.full(len(st), np.nan)
    )
    det = (
        st["detections"].to_numpy(dtype=float)
        if "detections" in st.columns
        else np.zeros(len(st))
    )
    tmax = float(np.nanmax(tn)) if np.isfinite(tn).any() else 0.0
    radius = np.where(
        np.isfinite(tn) & (tmax > 0),
        3.0 + 4.0 * np.sqrt(np.nan_to_num(tn) / max(tmax, 1e-9)),
        5.0,
    )
    edges, fill, cols = _detection_classes(det)
    data = st.assign(_r=np.round(radius, 2), _col=fill)
    fields = [
        V.STATION_ID,
        "zone",
        "n_cameras",
        "trap_nights",
        "detections",
        "photos",
        "individuals",
    ]
    frame, present = _popup_frame(data, fields, ["_r", "_col"])
    fg = fm.FeatureGroup(name=_t("layer.stations"), show=True)
    kw: dict[str, Any] = {}
    if present:
        kw["popup"] = _popup(fm, present)
    if V.STATION_ID in present:
        kw["tooltip"] = fm.GeoJsonTooltip(fields=[V.STATION_ID], labels=False)
    fm.GeoJson(
        frame.__geo_interface__,
        marker=fm.CircleMarker(radius=5, fill=True),
        style_function=lambda f: {
            "radius": f["properties"].get("_r", 5),
            "color": "#222222",
            "weight": 1,
            "fillColor": f["properties"].get("_col"),
            "fillOpacity": 0.9,
        },
        **kw,
    ).add_to(fg)
    fg.add_to(m)
    items = [(_t("legend.no_detections"), COLORS["station_none"], "circle")]
    items += [
        (lab, c, "circle")
        for lab, c in zip(
            class_labels(edges, _t("unit.detections"), integer=True), cols, strict=False
        )
    ]
    finite = tn[np.isfinite(tn)]
    note = (
        _t(
            "legend.stations_size",
            lo=fmt_number(finite.min()),
            hi=fmt_number(finite.max()),
        )
        if finite.size
        else ""
    )
    lg.add(fg, _t("layer.stations"), items, note)


def _add_proposed(
    fm: Any, m: Any, prop: gpd.GeoDataFrame | None, lg: _Legend, *, public: bool
) -> None:
    """Proposed stations: cyan diamonds (points), or cells in public mode.

    The internal map's popups give each station's coordinates (WGS 84), so a
    field team can go there; the public map never does.
    """
    if prop is None or not len(prop):
        return
    if not all(t == "Point" for t in prop.geom_type):
        layer = _geojson_group(
            fm,
            m,
            prop,
            name=_t("layer.proposed_cells"),
            fields=["cell_id", "n_stations"],
            style={
                "color": "#000000",
                "weight": 2,
                "fillColor": COLORS["proposed"],
                "fillOpacity": 0.45,
            },
        )
        lg.add(
            layer,
            _t("layer.proposed_cells"),
            [(_t("legend.proposed"), COLORS["proposed"], "box")],
        )
        return
    fields = [V.STATION_ID, "order", "zone", "candidate_id", "objective", "gain"]
    ll = _to_wgs84(prop)
    data = prop.copy()
    if not public:
        data["lat"] = [i18n.localize_number(f"{y:.5f}") + "°" for y in ll.geometry.y]
        data["lon"] = [i18n.localize_number(f"{x:.5f}") + "°" for x in ll.geometry.x]
        fields += ["lat", "lon"]
    frame, present = _popup_frame(data, fields)
    fg = fm.FeatureGroup(name=_t("layer.proposed"), show=True)
    icon = fm.DivIcon(
        html='<div class="ts-diamond"></div>',
        icon_size=(14, 14),
        icon_anchor=(7, 7),
        class_name="ts-proposed",
    )
    fm.GeoJson(
        frame.__geo_interface__,
        marker=fm.Marker(icon=icon),
        style_function=lambda _f: {},
        popup=_popup(fm, present),
    ).add_to(fg)
    fg.add_to(m)
    lg.add(
        fg,
        _t("layer.proposed"),
        [(_t("legend.proposed"), COLORS["proposed"], "diamond")],
    )


def _add_border(fm: Any, m: Any, survey: Survey, lg: _Legend) -> None:
    """The international border: last, in the highest pane, black on white."""
    if survey.border is None or not len(survey.border):
        return
    data, _ = _popup_frame(survey.border, [V.NAME])
    fg = fm.FeatureGroup(name=_t("layer.border"), show=True)
    for style, cls in (
        (
            {"color": COLORS["border_casing"], "weight": 5, "opacity": 0.95},
            "ts-border-casing",
        ),
        (
            {
                "color": COLORS["border"],
                "weight": 2.5,
                "opacity": 1.0,
                "dashArray": "14 4 3 4",
            },
            "ts-border",
        ),
    ):
        fm.GeoJson(
            data.__geo_interface__,
            style_function=lambda _f, s=style: s,
            pane="ts_border",
            className=cls,
            interactive=False,
        ).add_to(fg)
    fg.add_to(m)
    lg.add(fg, _t("layer.border"), [(_t("legend.border"), COLORS["border"], "border")])


def _label_marker(fm: Any, lat: float, lon: float, text: str, kind: str) -> Any:
    return fm.Marker(
        [lat, lon],
        icon=fm.DivIcon(
            html=f'<span class="ts-label ts-label-{kind}">{html.escape(text)}</span>',
            icon_size=(0, 0),
            icon_anchor=(0, 0),
            class_name="ts-label-icon",
        ),
        pane="ts_labels",
        interactive=False,
        keyboard=False,
    )


def _add_labels(fm: Any, m: Any, survey: Survey, b: np.ndarray) -> None:
    """Country, park and settlement names (above every layer, not clickable)."""
    from shapely.geometry import box

    view = box(*b)
    fg = fm.FeatureGroup(name=_t("layer.labels"), show=True)
    placed: list[Any] = []
    has_parks = survey.parks is not None and len(survey.parks) > 0
    parks = _to_wgs84(survey.parks).geometry.union_all() if has_parks else None
    for layer, kind in ((survey.zones, "country"), (survey.parks, "park")):
        if layer is None or not len(layer) or V.NAME not in layer.columns:
            continue
        order = np.argsort(-layer.geometry.area.to_numpy())  # largest first
        ll = _to_wgs84(layer.iloc[order])
        for name, geom in zip(ll[V.NAME].astype(str), ll.geometry, strict=False):
            part = geom.intersection(view) if kind == "country" else geom
            if kind == "country" and parks is not None:  # name beside the parks
                rest = part.difference(parks)
                part = rest if rest.area > 0.05 * part.area else part
            if part.is_empty:
                continue
            pt = part.representative_point()
            if kind == "park" and any(q.contains(pt) for q in placed):
                continue  # a smaller park inside a labelled one: its popup names it
            if kind == "park":
                placed.append(geom)
            _label_marker(fm, pt.y, pt.x, i18n.gettext(name), kind).add_to(fg)
    w, h = b[2] - b[0], b[3] - b[1]
    around = np.array([b[0] - w / 2, b[1] - h / 4, b[2] + w / 2, b[3] + h / 4])
    for name, pt in _places(around):  # also the towns just beyond the study area
        _label_marker(fm, pt.y, pt.x, i18n.gettext(name), "place").add_to(fg)
    fg.add_to(m)


def _places(b: np.ndarray, *, min_gap: float = 0.01) -> list[tuple[str, Any]]:
    """Bundled settlements (GeoNames) inside the view, largest first.

    A place closer than ``min_gap`` degrees to a larger one already listed is
    left out, so names do not overlap.
    """
    from ..datasets import get_path
    from ..errors import TrapscapeError

    try:
        import geopandas as gpd

        pl = gpd.read_file(get_path("settlements.gpkg")).to_crs(4326)
    except (TrapscapeError, OSError):
        return []
    x, y = pl.geometry.x, pl.geometry.y
    pl = pl[(x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])]
    if "population" in pl.columns:
        pl = pl.sort_values("population", ascending=False)
    kept: list[tuple[str, Any]] = []
    for name, pt in zip(pl[V.NAME].astype(str), pl.geometry, strict=False):
        if all(pt.distance(q) >= min_gap for _n, q in kept):
            kept.append((name, pt))
    return kept


def _add_header(
    m: Any, survey: Survey, *, title: str | None, public: bool, cell: float
) -> None:
    """The title box at the top, with the public-version banner."""
    heading = html.escape(
        i18n.gettext(title) if title else _t("title", name=i18n.gettext(survey.name))
    )
    banner = f'<div class="ts-title"><b>{heading}</b></div>'
    if public:
        from ..privacy import PUBLIC_NOTE

        note = i18n.gettext(PUBLIC_NOTE).format(cell_km=cell / 1000.0)
        banner += f'<div class="ts-banner">{html.escape(note)}</div>'
    _fixed_box(m, banner, "top", "ts-header")


def _status_lookup(cb: Any) -> dict[str, str]:
    if cb is None:
        return {}
    per = None
    for name in ("per_individual", "individuals", "status"):
        per = getattr(cb, name, None)
        if per is not None:
            break
    if per is None and isinstance(cb, pd.DataFrame):
        per = cb
    if not isinstance(per, pd.DataFrame):
        return {}
    per = per.reset_index() if V.INDIVIDUAL_ID not in per.columns else per
    col = next(
        (c for c in ("status", "countries", "zones", "category") if c in per.columns),
        None,
    )
    if col is None or V.INDIVIDUAL_ID not in per.columns:
        return {}
    return dict(
        zip(per[V.INDIVIDUAL_ID].astype(str), per[col].astype(str), strict=False)
    )


# -------------------------------------------------------------------- saving
_ID_RE = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def render_html(
    m: folium.Map,
    *,
    offline: bool = True,
    assets: str | os.PathLike[str] | None = None,
) -> str:
    """HTML of the map with deterministic ids and (by default) inlined Leaflet.

    With ``offline=True`` no ``<script src>`` or stylesheet link points to
    another host (checked: :class:`InputError` otherwise); base tiles, if the
    map has any, are still fetched from their server.
    """
    text = m.get_root().render()
    lang = i18n.html_lang(getattr(m, "_trapscape_lang", "en"))
    text = text.replace("<html>", f'<html lang="{lang}">', 1)
    ids: dict[str, str] = {}

    def _sub(mt: re.Match[str]) -> str:
        return ids.setdefault(mt.group(0), f"{len(ids):032x}")

    text = _ID_RE.sub(_sub, text)
    if offline:
        a = offline_assets(assets)
        text = re.sub(
            r'<script src="[^"]*leaflet(?:@[^/"]*)?/dist/leaflet\.js"></script>',
            lambda _m: (
                "<script>" + a["js"].replace("</script", "<\\/script") + "</script>"
            ),
            text,
        )
        text = re.sub(
            r'<link rel="stylesheet" href="[^"]*leaflet(?:@[^/"]*)?/dist/leaflet\.css"/>',
            lambda _m: "<style>" + a["css"] + "</style>",
            text,
        )
        remote = re.findall(
            r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text
        )
        if remote:
            raise InputError(
                f"offline map still references remote assets {remote}; "
                "remove the layers that need them or build the map online."
            )
    return text


def save_map(
    m: folium.Map,
    path: str | os.PathLike[str],
    *,
    offline: bool = True,
    assets: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the map as HTML (atomically).

    Parameters
    ----------
    m
        A map from :func:`survey_map`.
    path
        Target HTML file.
    offline
        Inline Leaflet's JavaScript and CSS from the ``xstatic-leaflet``
        package (see :func:`offline_assets`) so the file needs no internet
        (default).  ``False`` links them from a CDN instead (a smaller file
        that needs internet).  Base tiles, if any, always need internet.
    assets
        Folder of the local Leaflet copy (default: see :func:`find_leaflet`).
    """
    path = Path(path)
    text = render_html(m, offline=offline, assets=assets)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
