"""Interactive survey maps (folium / Leaflet) for rangers and meetings.

:func:`survey_map` builds one :class:`folium.Map` with a layer control:
boundaries (study area, parks, countries, the international border),
stations sized by trap-nights and coloured by detections, the coverage grid,
the detection-probability (pdot) surface, home ranges per individual,
corridors, the cumulative current map and ranked border hotspots, proposed
stations and the candidate reserve.  Base tiles are optional; the vector and
raster layers carry the map on their own.

:func:`save_map` writes it as HTML with deterministic element ids, and with
``offline=True`` inlines Leaflet's JavaScript and CSS from the
``xstatic-leaflet`` package so the map opens without internet.

This module (with :mod:`trapscape.present.report`) is the only place that reprojects
to EPSG:4326, and only for display.
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

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    import xarray as xr

    from ..survey import Survey

__all__ = [
    "find_leaflet",
    "offline_assets",
    "raster_overlay_png",
    "save_map",
    "survey_map",
]

logger = logging.getLogger(__name__)

LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"

# Colour choices (colour-blind friendly where it matters).
COLORS = {
    "study_area": "#444444",
    "park": "#1b7837",
    "border": "#d7191c",
    "zone": "#8c8c8c",
    "land": "#f2efe6",
    "reserve": "#762a83",
    "proposed": "#e66101",
    "corridor": "#2166ac",
    "hotspot": "#b2182b",
    "station_none": "#9e9e9e",
}
_INDIVIDUAL_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

_INSTALL_HINT = (
    "Install the offline map assets with `pip install xstatic-leaflet` (part of "
    '"trapscape[maps]"), or pass assets= a folder holding leaflet.js and leaflet.css.'
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


def _plain(gdf: gpd.GeoDataFrame, cols: Sequence[str]) -> gpd.GeoDataFrame:
    """Keep ``cols`` (that exist) with JSON-friendly values, in EPSG:4326."""
    import geopandas as gpd

    keep = [c for c in cols if c in gdf.columns]
    out = pd.DataFrame(index=gdf.index)
    for c in keep:
        s = gdf[c]
        if pd.api.types.is_float_dtype(s):
            out[c] = s.round(3).astype(object).where(s.notna(), None)
        elif pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(object).where(s.notna(), None)
        else:
            out[c] = s.astype(object).map(
                lambda v: (
                    None
                    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                    else str(v)
                )
            )
    g = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    return _to_wgs84(g)


def _geojson(
    fm: Any,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    style: dict[str, Any] | Any,
    fields: Sequence[str] = (),
    aliases: Sequence[str] | None = None,
    show: bool = True,
    highlight: bool = False,
    pane: str | None = None,
) -> Any:
    data = _plain(gdf, fields)
    style_fn = style if callable(style) else (lambda _f, s=style: s)
    kw: dict[str, Any] = {}
    present = [f for f in fields if f in data.columns]
    if present:
        kw["popup"] = fm.GeoJsonPopup(
            fields=present,
            aliases=list(aliases or present)[: len(present)] if aliases else present,
            localize=True,
            labels=True,
        )
    if highlight:
        kw["highlight_function"] = lambda _f: {"weight": 4, "fillOpacity": 0.6}
    if pane is not None:
        kw["pane"] = pane
    layer = fm.FeatureGroup(name=name, show=show)
    fm.GeoJson(data.__geo_interface__, style_function=style_fn, **kw).add_to(layer)
    return layer


def _ramp(values: Any, cmap: str = "viridis") -> list[str]:
    import matplotlib as mpl
    from matplotlib import colors

    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return ["#999999"] * len(v)
    lo, hi = float(finite.min()), float(finite.max())
    norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cm = mpl.colormaps[cmap]
    return [colors.to_hex(cm(norm(x))) if np.isfinite(x) else "#999999" for x in v]


def raster_overlay_png(
    da: xr.DataArray,
    *,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: float = 0.75,
    log: bool = False,
) -> tuple[bytes, tuple[tuple[float, float], tuple[float, float]]]:
    """Render a raster as an RGBA PNG in Web Mercator and its lat/lon bounds.

    The raster (projected CRS) is reprojected to EPSG:3857 so that the image,
    stretched linearly between its corners by Leaflet, lines up with vector
    layers.  NaN and nodata cells are transparent.

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
    finite = arr[np.isfinite(arr)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1e-12)
    rgba = mpl.colormaps[cmap](norm(np.nan_to_num(arr, nan=lo)))
    rgba[..., 3] = np.where(np.isfinite(arr), alpha, 0.0)
    buf = io.BytesIO()
    from matplotlib import image as mimage

    mimage.imsave(buf, (rgba * 255).astype(np.uint8), format="png")
    minx, miny, maxx, maxy = merc.rio.bounds()
    tr = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    w, s = tr.transform(minx, miny)
    e, n = tr.transform(maxx, maxy)
    return buf.getvalue(), ((s, w), (n, e))


def _legend_html(title: str, items: Sequence[tuple[str, str, str]]) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:{"4px" if kind == "line" else "14px"};'
        f"background:{col};border-radius:{'50%' if kind == 'circle' else '2px'};"
        f'margin-right:6px;vertical-align:middle;opacity:.85"></span>{html.escape(label)}</div>'
        for label, col, kind in items
    )
    return f'<div class="ts-legend-block"><b>{html.escape(title)}</b>{rows}</div>'


def _add_fixed_html(fm: Any, m: Any, inner: str, position: str, css_class: str) -> None:
    from branca.element import Element

    pos = {
        "bottomleft": "bottom:56px;left:10px",
        "topleft": "top:80px;left:50px",
        "bottomright": "bottom:24px;right:10px",
        "top": "top:8px;left:50%;transform:translateX(-50%)",
    }[position]
    box = (
        f'<div class="{css_class}" style="position:absolute;{pos};z-index:1000;'
        "background:rgba(255,255,255,.92);padding:6px 10px;border:1px solid #999;"
        'border-radius:4px;font:12px/1.4 sans-serif;max-height:60%;overflow:auto">'
        f"{inner}</div>"
    )
    m.get_root().html.add_child(Element(box))


def _palette(keys: Sequence[Any]) -> dict[Any, str]:
    return {
        k: _INDIVIDUAL_PALETTE[i % len(_INDIVIDUAL_PALETTE)] for i, k in enumerate(keys)
    }


# ------------------------------------------------------------------ the map
_EXACT_LAYERS = ("stations", "ranges", "cross_border")


def survey_map(
    survey: Survey,
    products: RunProducts | None = None,
    *,
    tiles: str | None = None,
    public: bool = False,
    public_cell: float = 5000.0,
    title: str | None = None,
    zoom_start: int = 10,
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
        Base tiles name or URL (e.g. ``"OpenStreetMap"``); ``None`` for no
        tiles (works offline).
    public
        Add the public-version banner and refuse per-station and
        per-individual layers.
    public_cell
        Cell size of the public generalisation, for the banner (metres).
    title
        Map title shown at the top (default: the survey name).
    zoom_start
        Initial zoom level.

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
    _add_background(fm, m, survey)
    legends = _add_coverage_grid(fm, m, prods.coverage_grid)
    legends += _add_rasters(fm, m, prods)
    legends += _add_boundaries(fm, m, survey, prods.reserve)
    legends += _add_ranges(fm, m, prods.ranges, prods.cross_border)
    legends += _add_corridors(fm, m, prods)
    legends += _add_hotspots(fm, m, prods.border_hotspots)
    legends += _add_stations(fm, m, survey, prods, public=public, cell=public_cell)
    legends += _add_proposed(fm, m, prods.proposed)
    fm.LayerControl(collapsed=False, position="topright").add_to(m)
    _add_header(fm, m, survey, title=title, public=public, cell=public_cell)
    _add_fixed_html(fm, m, "".join(legends), "bottomleft", "ts-legend")
    if b[2] > b[0] and b[3] > b[1]:
        m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    return m


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
    m.get_root().header.add_child(
        fm.Element(
            "<style>.leaflet-container.leaflet-container{background:#dbe8ef}"
            ".ts-legend-block{margin-bottom:6px}.ts-banner{font-weight:bold}</style>"
        )
    )
    # panes: opaque background polygons < raster overlays < vector layers
    fm.map.CustomPane("ts_base", z_index=250, pointer_events=True).add_to(m)
    fm.map.CustomPane("ts_raster", z_index=300, pointer_events=False).add_to(m)
    return m


def _add_background(fm: Any, m: Any, survey: Survey) -> None:
    """Land and country polygons under everything else."""
    if survey.habitat is not None and len(survey.habitat):
        _geojson(
            fm,
            survey.habitat,
            name="Land",
            pane="ts_base",
            style={
                "color": "#bbbbbb",
                "weight": 0.5,
                "fillColor": COLORS["land"],
                "fillOpacity": 1.0,
            },
        ).add_to(m)
    if survey.zones is not None and len(survey.zones):
        _geojson(
            fm,
            survey.zones,
            name="Countries",
            fields=[V.NAME],
            aliases=["Country"],
            pane="ts_base",
            style={
                "color": COLORS["zone"],
                "weight": 1,
                "fillColor": "#ffffff",
                "fillOpacity": 0.15 if survey.habitat is not None else 0.6,
            },
        ).add_to(m)


def _add_coverage_grid(fm: Any, m: Any, grid: gpd.GeoDataFrame | None) -> list[str]:
    """Grid cells coloured by trap-nights (hidden at first); returns legends."""
    if grid is None or not len(grid):
        return []
    col = next(
        (
            c
            for c in ("trap_nights", "effort_days", "n_stations", "stations")
            if c in grid.columns
        ),
        None,
    )
    vals = grid[col].to_numpy(dtype=float) if col else np.zeros(len(grid))
    g = grid.assign(_fill=_ramp(np.where(vals > 0, vals, np.nan), "YlGnBu"))
    fields = [
        c
        for c in (
            "cell_id",
            "zone",
            "n_stations",
            "stations",
            "trap_nights",
            "detections",
            "individuals",
        )
        if c in g.columns
    ]
    data = _plain(g, [*fields, "_fill"])
    fg = fm.FeatureGroup(name="Coverage grid (trap-nights per cell)", show=False)
    kw = {"popup": fm.GeoJsonPopup(fields=fields, localize=True)} if fields else {}
    fm.GeoJson(
        data.__geo_interface__,
        style_function=lambda f: {
            "color": "#666666",
            "weight": 0.3,
            "fillColor": f["properties"].get("_fill") or "#eeeeee",
            "fillOpacity": 0.55,
        },
        **kw,
    ).add_to(fg)
    fg.add_to(m)
    if not col:
        return []
    lo, hi = _ramp([0, 1], "YlGnBu")
    items = [("no effort", "#999999", "box"), ("low", lo, "box"), ("high", hi, "box")]
    return [_legend_html("Coverage grid (trap-nights)", items)]


def _add_rasters(fm: Any, m: Any, prods: RunProducts) -> list[str]:
    """The pdot surface (shown), the density surface and the circuit current (hidden)."""
    from ..density.surface import best_surface

    surfaces = getattr(prods.density_fit, "surfaces", ()) or ()
    best = best_surface(surfaces) if surfaces else None
    dens = best.to_dataarray() if best is not None and best.crs is not None else None
    legends = []
    for key, da, label, cmap, log in (
        ("pdot", prods.pdot, "Detection probability (pdot)", "viridis", False),
        ("density", dens, "Density surface (per 100 km²)", "magma", False),
        ("current", prods.current, "Current density (circuit theory)", "inferno", True),
    ):
        if da is None:
            continue
        png, bnds = raster_overlay_png(
            da,
            cmap=cmap,
            log=log,
            vmin=0.0 if key == "pdot" else None,
            vmax=1.0 if key == "pdot" else None,
        )
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        fg = fm.FeatureGroup(name=label, show=key == "pdot")
        fm.raster_layers.ImageOverlay(
            url,
            bounds=[list(bnds[0]), list(bnds[1])],
            opacity=0.75,
            interactive=False,
            pane="ts_raster",
        ).add_to(fg)
        fg.add_to(m)
        lo, hi = _ramp([0, 1], cmap)
        ends = ("0", "1") if key == "pdot" else ("low", "high")
        legends.append(
            _legend_html(label, [(ends[0], lo, "box"), (ends[1], hi, "box")])
        )
    return legends


def _add_boundaries(
    fm: Any, m: Any, survey: Survey, res: gpd.GeoDataFrame | None
) -> list[str]:
    """Study area, parks, the international border and the candidate reserve."""
    if survey.study_area is not None and len(survey.study_area):
        _geojson(
            fm,
            survey.study_area,
            name="Study area",
            fields=[V.NAME],
            style={
                "color": COLORS["study_area"],
                "weight": 2,
                "fill": False,
                "dashArray": "4 4",
            },
        ).add_to(m)
    if survey.parks is not None and len(survey.parks):
        _geojson(
            fm,
            survey.parks,
            name="Park (approximate boundary)",
            fields=[V.NAME],
            style={
                "color": COLORS["park"],
                "weight": 2.5,
                "fillColor": COLORS["park"],
                "fillOpacity": 0.06,
            },
        ).add_to(m)
    if survey.border is not None and len(survey.border):
        _geojson(
            fm,
            survey.border,
            name="International border",
            fields=[V.NAME],
            style={"color": COLORS["border"], "weight": 2, "dashArray": "8 4"},
        ).add_to(m)
    has_reserve = res is not None and len(res) > 0
    if res is not None and has_reserve:
        _add_reserve(fm, m, res)
    items = [
        ("study area", COLORS["study_area"], "line"),
        ("park (approximate)", COLORS["park"], "line"),
        ("international border", COLORS["border"], "line"),
    ]
    if has_reserve:
        items.append(("candidate reserve", COLORS["reserve"], "line"))
    return [_legend_html("Boundaries", items)]


def _add_reserve(fm: Any, m: Any, res: gpd.GeoDataFrame) -> None:
    fields = [
        c
        for c in res.columns
        if c.startswith("area_km2") or c in ("components", "name")
    ]
    _geojson(
        fm,
        res,
        name="Candidate transboundary reserve",
        fields=fields,
        show=False,
        style={
            "color": COLORS["reserve"],
            "weight": 3,
            "fillColor": COLORS["reserve"],
            "fillOpacity": 0.08,
        },
    ).add_to(m)


def _add_ranges(
    fm: Any, m: Any, ranges: gpd.GeoDataFrame | None, cross_border: Any
) -> list[str]:
    """Home ranges, one colour per individual, with their cross-border status."""
    if ranges is None or not len(ranges):
        return []
    has_id = V.INDIVIDUAL_ID in ranges.columns
    ids = sorted(map(str, ranges[V.INDIVIDUAL_ID].unique())) if has_id else []
    pal = _palette(ids)
    r = ranges.copy()
    r["_col"] = r[V.INDIVIDUAL_ID].astype(str).map(pal) if has_id else "#1f77b4"
    status = _status_lookup(cross_border)
    if status and has_id:
        r["cross_border"] = r[V.INDIVIDUAL_ID].astype(str).map(status)
    fields = [
        x
        for x in (
            V.INDIVIDUAL_ID,
            V.SEX,
            "method",
            "percent",
            "area_km2",
            "cross_border",
        )
        if x in r.columns
    ]
    data = _plain(r, [*fields, "_col"])
    fg = fm.FeatureGroup(name="Home ranges (by individual)", show=len(ids) <= 20)
    fm.GeoJson(
        data.__geo_interface__,
        style_function=lambda f: {
            "color": f["properties"].get("_col"),
            "weight": 1.5,
            "fillColor": f["properties"].get("_col"),
            "fillOpacity": 0.1,
        },
        popup=fm.GeoJsonPopup(fields=fields, localize=True) if fields else None,
    ).add_to(fg)
    fg.add_to(m)
    label = f"{len(ids)} individuals, one colour each (click a range)"
    return [
        _legend_html("Home ranges", [(label, pal[ids[0]] if ids else "#1f77b4", "box")])
    ]


def _add_corridors(fm: Any, m: Any, prods: RunProducts) -> list[str]:
    """Least-cost corridors (polygons) and paths (dashed lines)."""
    legends = []
    for c, label, dash in (
        (prods.corridors, "Least-cost corridors", None),
        (prods.corridor_paths, "Least-cost paths", "6 4"),
    ):
        if c is None or not len(c):
            continue
        fields = [
            x
            for x in (
                "from",
                "to",
                "pair",
                "core_a",
                "core_b",
                "cost",
                "length_km",
                "name",
            )
            if x in c.columns
        ]
        _geojson(
            fm,
            c,
            name=label,
            fields=fields,
            style={
                "color": COLORS["corridor"],
                "weight": 3,
                "fillColor": COLORS["corridor"],
                "fillOpacity": 0.25,
                "dashArray": dash,
            },
        ).add_to(m)
        legends.append(
            _legend_html(label, [(label.lower(), COLORS["corridor"], "line")])
        )
    return legends


def _add_hotspots(fm: Any, m: Any, hs: gpd.GeoDataFrame | None) -> list[str]:
    """Border segments coloured by score; the top ten drawn thick."""
    if hs is None or not len(hs):
        return []
    h = hs.copy()
    if "rank" in h.columns:
        h = h.sort_values("rank")
    elif "score" in h.columns:
        h = h.sort_values("score", ascending=False)
    score = next(
        (c for c in ("score", "current_sum", "current") if c in h.columns), None
    )
    vals = (
        h[score].to_numpy(dtype=float)
        if score
        else np.arange(len(h))[::-1].astype(float)
    )
    h["_col"] = _ramp(vals, "YlOrRd")
    top = np.zeros(len(h), dtype=bool)
    top[: min(10, len(h))] = True
    h["_w"] = np.where(top, 9, 4)
    fields = [
        x
        for x in ("rank", "score", "current_sum", "n_paths", "segment_id", "length_m")
        if x in h.columns
    ]
    data = _plain(h, [*fields, "_col", "_w"])
    fg = fm.FeatureGroup(name="Border-crossing hotspots (top 10 thick)", show=True)
    kw = {"popup": fm.GeoJsonPopup(fields=fields, localize=True)} if fields else {}
    fm.GeoJson(
        data.__geo_interface__,
        style_function=lambda f: {
            "color": f["properties"].get("_col") or COLORS["hotspot"],
            "weight": f["properties"].get("_w") or 4,
            "opacity": 0.95,
        },
        **kw,
    ).add_to(fg)
    fg.add_to(m)
    lo, hi = _ramp([0, 1], "YlOrRd")
    items = [("lower score", lo, "line"), ("higher score (top 10 thick)", hi, "line")]
    return [_legend_html("Border hotspots", items)]


def _add_stations(
    fm: Any, m: Any, survey: Survey, prods: RunProducts, *, public: bool, cell: float
) -> list[str]:
    """Public cells, else station points (from the products or the survey)."""
    cells, st = prods.station_cells, prods.stations
    if cells is not None and len(cells):
        return _add_station_cells(fm, m, cells, cell)
    if st is not None and len(st):
        _station_layer(fm, m, st)
        items = [
            ("no detections", COLORS["station_none"], "circle"),
            ("few detections", _det_color(1, 10), "circle"),
            ("many detections", _det_color(10, 10), "circle"),
        ]
        return [_legend_html("Stations (size: trap-nights)", items)]
    if not public and len(survey.stations):
        _station_layer(fm, m, survey.station_points)
    return []


def _add_station_cells(
    fm: Any, m: Any, cells: gpd.GeoDataFrame, cell: float
) -> list[str]:
    """Public mode: camera effort per grid cell, coloured by detections."""
    fields = [
        c
        for c in ("cell_id", "n_stations", "trap_nights", "detections")
        if c in cells.columns
    ]
    det = (
        cells["detections"].to_numpy(dtype=float)
        if "detections" in cells.columns
        else np.zeros(len(cells))
    )
    c2 = cells.assign(_col=[_det_color(d, det.max()) for d in det])
    data = _plain(c2, [*fields, "_col"])
    fg = fm.FeatureGroup(name=f"Camera effort per {cell / 1000:g} km cell", show=True)
    fm.GeoJson(
        data.__geo_interface__,
        style_function=lambda f: {
            "color": "#333333",
            "weight": 1,
            "fillColor": f["properties"].get("_col"),
            "fillOpacity": 0.6,
        },
        popup=fm.GeoJsonPopup(fields=fields, localize=True),
    ).add_to(fg)
    fg.add_to(m)
    items = [
        ("no detections", COLORS["station_none"], "box"),
        ("few", _det_color(1, 10), "box"),
        ("many", _det_color(10, 10), "box"),
    ]
    title = f"Cameras per {cell / 1000:g} km cell (colour: detections)"
    return [_legend_html(title, items)]


def _add_proposed(fm: Any, m: Any, prop: gpd.GeoDataFrame | None) -> list[str]:
    """Proposed stations: points, or cells in public mode."""
    if prop is None or not len(prop):
        return []
    if all(t == "Point" for t in prop.geom_type):
        fields = [
            c
            for c in (V.STATION_ID, "rank", "objective", "gain", "zone")
            if c in prop.columns
        ]
        _point_layer(
            fm,
            m,
            prop,
            name="Proposed new stations",
            fields=fields,
            aliases=fields,
            radius=np.full(len(prop), 6.0),
            fill=[COLORS["proposed"]] * len(prop),
            weight=2.5,
        )
    else:
        fields = [c for c in ("cell_id", "n_stations") if c in prop.columns]
        _geojson(
            fm,
            prop,
            name="Proposed new stations (per cell)",
            fields=fields,
            style={
                "color": COLORS["proposed"],
                "weight": 2,
                "fillColor": COLORS["proposed"],
                "fillOpacity": 0.3,
            },
        ).add_to(m)
    return [_legend_html("Plan", [("proposed station", COLORS["proposed"], "circle")])]


def _add_header(
    fm: Any, m: Any, survey: Survey, *, title: str | None, public: bool, cell: float
) -> None:
    """The title box at the top, with the public-version banner."""
    heading = html.escape(title or f"{survey.name}: camera-trap survey")
    banner = f'<div class="ts-title"><b>{heading}</b></div>'
    if public:
        from ..privacy import PUBLIC_NOTE

        banner += (
            '<div class="ts-banner" style="color:#b2182b;max-width:520px">'
            f"{html.escape(PUBLIC_NOTE.format(cell_km=cell / 1000.0))}</div>"
        )
    _add_fixed_html(fm, m, banner, "top", "ts-header")


def _det_color(d: float, dmax: float) -> str:
    if not np.isfinite(d) or d <= 0:
        return COLORS["station_none"]
    import matplotlib as mpl
    from matplotlib import colors

    frac = np.log1p(d) / np.log1p(max(dmax, 1.0))
    return colors.to_hex(mpl.colormaps["plasma"](0.15 + 0.75 * float(frac)))


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


def _point_layer(
    fm: Any,
    m: Any,
    pts: gpd.GeoDataFrame,
    *,
    name: str,
    fields: Sequence[str],
    aliases: Sequence[str],
    radius: np.ndarray,
    fill: Sequence[str],
    color: str = "#222222",
    weight: float = 1.0,
    tooltip: str | None = None,
) -> None:
    """Points as SVG circle markers with per-feature style and a field popup (no jQuery)."""
    data = _plain(pts, list(fields))
    data["_r"] = [round(float(r), 2) for r in radius]
    data["_fill"] = list(fill)
    present = [f for f in fields if f in data.columns]
    alias = [a for f, a in zip(fields, aliases, strict=False) if f in data.columns]
    fg = fm.FeatureGroup(name=name, show=True)
    kw: dict[str, Any] = {}
    if present:
        kw["popup"] = fm.GeoJsonPopup(
            fields=present, aliases=alias, localize=True, labels=True
        )
    if tooltip and tooltip in data.columns:
        kw["tooltip"] = fm.GeoJsonTooltip(fields=[tooltip], labels=False)
    fm.GeoJson(
        data.__geo_interface__,
        marker=fm.CircleMarker(radius=5, fill=True),
        style_function=lambda f: {
            "radius": f["properties"].get("_r", 5),
            "color": color,
            "weight": weight,
            "fillColor": f["properties"].get("_fill"),
            "fillOpacity": 0.9,
        },
        **kw,
    ).add_to(fg)
    fg.add_to(m)


def _station_layer(fm: Any, m: Any, st: gpd.GeoDataFrame) -> None:
    tn = (
        st["trap_nights"].to_numpy(dtype=float)
        if "trap_nights" in st.columns
        else np.full(len(st), np.nan)
    )
    det = (
        st["detections"].to_numpy(dtype=float)
        if "detections" in st.columns
        else np.full(len(st), np.nan)
    )
    tmax = np.nanmax(tn) if np.isfinite(tn).any() else 1.0
    dmax = np.nanmax(det) if np.isfinite(det).any() else 1.0
    radius = np.where(
        np.isfinite(tn) & (tmax > 0),
        2.0 + 4.0 * np.sqrt(np.nan_to_num(tn) / max(tmax, 1e-9)),
        4.0,
    )
    fields = [
        V.STATION_ID,
        "n_cameras",
        "trap_nights",
        "detections",
        "photos",
        "individuals",
    ]
    aliases = [
        "station",
        "cameras",
        "trap-nights",
        "detections (independent events)",
        "photos",
        "individuals",
    ]
    _point_layer(
        fm,
        m,
        st,
        name="Camera stations",
        fields=fields,
        aliases=aliases,
        radius=radius,
        fill=[_det_color(d, dmax) for d in det],
        tooltip=V.STATION_ID,
    )


# -------------------------------------------------------------------- saving
_ID_RE = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def render_html(
    m: folium.Map,
    *,
    offline: bool = False,
    assets: str | os.PathLike[str] | None = None,
) -> str:
    """HTML of the map with deterministic ids (and inlined Leaflet when offline)."""
    text = m.get_root().render()
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
    offline: bool = False,
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
        Inline Leaflet's JavaScript and CSS from the ``xstatic-leaflet`` package (see
        :func:`offline_assets`) so the file needs no internet.  Base tiles,
        if any, still need internet.
    assets
        Folder of the local Leaflet copy (default: see :func:`find_leaflet`).
    """
    path = Path(path)
    text = render_html(m, offline=offline, assets=assets)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
