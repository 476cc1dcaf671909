"""Static figures (PNG, matplotlib) of the survey's themes, for documents.

One figure per theme, each drawn from the same products the interactive map
uses: survey effort and coverage, the detection-probability surface, home
ranges, corridors with the current map and border hotspots, and proposed
stations.  Figures use the Agg backend and are made for print: 17 cm wide
(A4 text width) at 200 dpi, trimmed to their content, with a key for every
line and symbol, country names, and the axes in kilometres of the survey's
projected CRS, named in the axis labels.  The border is drawn as on the map
(black on a white casing, above the other layers); hotspot ranks are placed
so that they do not overlap; touching home ranges get different colours.
They never show per-station or per-individual detail in public mode (the
pipeline passes generalised products).

Every string the figures show is in :data:`LABELS`, drawn in the language
of ``lang`` (see :mod:`trapscape.present.i18n`) with a font that has every
glyph, else in English (see :mod:`trapscape.present._fonts`).
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import validation as V
from ..products import RunProducts
from . import i18n
from ._fonts import figure_language, weight_fallback_quiet
from ._style import COLORS, distinct_colors

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..survey import Survey

__all__ = ["DPI", "FIGURE_NAMES", "LABELS", "render_figures", "write_figures"]

logger = logging.getLogger(__name__)

FIGURE_NAMES = (
    "effort",
    "pdot",
    "density_surface",
    "sessions",
    "homeranges",
    "corridors",
    "plan",
)

#: Print resolution (dots per inch) and size (inches: 17 cm wide, A4 text width).
DPI = 200
FIGSIZE = (6.7, 6.0)

#: Every string the figures show, by key.  One place, for translation.
LABELS: dict[str, str] = {
    "title.effort": "Survey effort and coverage",
    "title.pdot": "Detection probability (pdot)",
    "title.homeranges": "Home ranges",
    "title.homeranges_n": "Home ranges ({n} individuals)",
    "title.corridors": "Corridors, current and border hotspots",
    "title.plan": "Proposed new stations",
    "axis.x": "Easting (km), {crs}",
    "axis.y": "Northing (km), {crs}",
    "key.study_area": "study area",
    "key.park": "park (approximate)",
    "key.border": "international border",
    "key.corridor": "least-cost corridor",
    "key.path": "least-cost path",
    "key.hotspot": "top-10 border hotspot (rank)",
    "key.stations": "camera station",
    "key.existing": "existing stations",
    "key.proposed": "proposed station",
    "key.ranges": "95% home range (touching ranges differ in colour)",
    "bar.pdot": "p(detected at least once)",
    "bar.current": "current density (A, log scale)",
    "bar.detections": "detections per station (log scale)",
    "bar.cells": "{what} per cell",
    "bar.pdot_now": "current pdot",
    "public": "Public version: locations generalised, identities removed.",
    "title.density_surface": "Density surface, best model by AIC ({model})",
    "bar.density": "density (animals per 100 km²)",
    "title.sessions": "Density per session (best model by AIC: {model})",
    "axis.session": "session",
    "axis.density": "density (animals per 100 km²), 95% CI",
    "key.session_d": "density and 95% CI",
    "key.trend": "trend {model}: ×{lam} per session (95% CI {lcl}–{ucl})",
}


def _t(key: str, **kw: Any) -> str:
    text = i18n.gettext(LABELS[key])
    return text.format(**kw) if kw else text


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _crs_name(crs: Any) -> str:
    """``WGS 84 / UTM zone 52N (EPSG:32652)``: the CRS as a reader can look it up."""
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return f"{c.name} (EPSG:{epsg})" if epsg else c.name


def _km_axes(ax: Axes, crs: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _p: f"{v / 1000:g}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    name = _crs_name(crs)
    ax.set_xlabel(_t("axis.x", crs=name), fontsize=8)
    ax.set_ylabel(_t("axis.y", crs=name), fontsize=8)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)


def _border_effects() -> list[Any]:
    from matplotlib import patheffects as pe

    return [pe.Stroke(linewidth=4.0, foreground=COLORS["border_casing"]), pe.Normal()]


def _base(ax: Axes, survey: Survey) -> None:
    """Land, countries (with names), parks, study area and the border (on top)."""
    if survey.habitat is not None and len(survey.habitat):
        ax.set_facecolor(COLORS["sea"])
        survey.habitat.plot(
            ax=ax, color=COLORS["land"], edgecolor="#bbbbbb", linewidth=0.3, zorder=0
        )
    if survey.zones is not None and len(survey.zones):
        survey.zones.boundary.plot(ax=ax, color=COLORS["zone"], linewidth=0.6, zorder=1)
    if survey.parks is not None and len(survey.parks):
        survey.parks.boundary.plot(ax=ax, color=COLORS["park"], linewidth=1.2, zorder=5)
    if survey.study_area is not None and len(survey.study_area):
        survey.study_area.boundary.plot(
            ax=ax, color=COLORS["study_area"], linewidth=1.0, linestyle="--", zorder=5
        )
    if survey.border is not None and len(survey.border):
        survey.border.plot(
            ax=ax,
            color=COLORS["border"],
            linewidth=1.6,
            linestyle=(0, (7, 2, 1.5, 2)),
            zorder=12,
            path_effects=_border_effects(),
        )
    # the study area and every station (stations may lie outside it)
    boxes = [survey.stations.total_bounds]
    if survey.study_area is not None and len(survey.study_area):
        boxes.append(survey.study_area.total_bounds)
    b = np.array(boxes)
    minx, miny = b[:, 0].min(), b[:, 1].min()
    maxx, maxy = b[:, 2].max(), b[:, 3].max()
    pad = 0.05 * max(maxx - minx, maxy - miny, 1000.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    _country_names(ax, survey)
    _km_axes(ax, survey.crs)


def _country_names(ax: Axes, survey: Survey) -> None:
    """Each country's name at a point of its part inside the view."""
    from shapely.geometry import box

    z = survey.zones
    if z is None or not len(z) or V.NAME not in z.columns:
        return
    from matplotlib import patheffects as pe

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = box(x0, y0, x1, y1)
    for name, geom in zip(z[V.NAME].astype(str), z.geometry, strict=False):
        part = geom.intersection(view)
        if part.is_empty or part.area < 0.01 * view.area:
            continue
        pt = part.representative_point()
        ax.text(
            pt.x,
            pt.y,
            i18n.gettext(name).upper(),
            fontsize=9,
            fontweight="bold",
            color="#555555",
            ha="center",
            va="center",
            zorder=13,
            path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
        )


def _key(ax: Axes, survey: Survey, extra: list[Any] | None = None) -> None:
    """The key: boundaries of the survey plus the figure's own symbols."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    if survey.study_area is not None and len(survey.study_area):
        handles.append(
            Line2D(
                [],
                [],
                color=COLORS["study_area"],
                linestyle="--",
                label=_t("key.study_area"),
            )
        )
    if survey.parks is not None and len(survey.parks):
        handles.append(Line2D([], [], color=COLORS["park"], label=_t("key.park")))
    if survey.border is not None and len(survey.border):
        handles.append(
            Line2D(
                [],
                [],
                color=COLORS["border"],
                linewidth=1.6,
                linestyle=(0, (7, 2, 1.5, 2)),
                path_effects=_border_effects(),
                label=_t("key.border"),
            )
        )
    handles += extra or []
    if handles:
        ax.legend(
            handles=handles,
            loc="lower right",
            fontsize=7,
            framealpha=0.9,
        ).set_zorder(20)


def _raster(
    ax: Axes,
    da: Any,
    *,
    cmap: Any,
    label: str,
    fig: Figure,
    log: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: float = 0.85,
) -> None:
    from matplotlib import colors

    t = da.rio.transform()
    h, w = da.shape
    ext = (t.c, t.c + w * t.a, t.f + h * t.e, t.f)
    arr = np.asarray(da.values, dtype=float)
    nod = da.rio.nodata
    if nod is not None and np.isfinite(nod):
        arr = np.where(arr == nod, np.nan, arr)
    norm = None
    if log:
        pos = arr[np.isfinite(arr) & (arr > 0)]
        if pos.size:
            norm = colors.LogNorm(vmin=max(pos.min(), pos.max() * 1e-4), vmax=pos.max())
            arr = np.where(arr > 0, arr, np.nan)
    im = ax.imshow(
        arr,
        extent=ext,
        origin="upper",
        cmap=cmap,
        norm=norm,
        vmin=None if norm else vmin,
        vmax=None if norm else vmax,
        alpha=alpha,
        zorder=2,
        interpolation="nearest",
    )
    _colorbar(fig.colorbar(im, ax=ax, shrink=0.7), label)


def _colorbar(cb: Any, label: str) -> None:
    """Colour-bar label and ticks at the figure's text size."""
    cb.set_label(label, fontsize=8)
    cb.ax.tick_params(labelsize=7)


def _stations(ax: Axes, prods: RunProducts, fig: Figure) -> list[Any]:
    """Station cells (public) or points; returns key handles."""
    from matplotlib.lines import Line2D

    cells = prods.station_cells
    st = prods.stations
    if cells is not None and len(cells):
        col = "trap_nights" if "trap_nights" in cells.columns else "n_stations"
        cells.plot(
            ax=ax,
            column=col,
            cmap="YlGnBu",
            edgecolor="#333333",
            linewidth=0.5,
            legend=True,
            legend_kwds={
                "shrink": 0.7,
                "label": _t("bar.cells", what=i18n.gettext(col.replace("_", "-"))),
            },
            zorder=7,
        )
        return []
    if st is None or not len(st):
        return []
    tn = (
        st["trap_nights"].to_numpy(dtype=float)
        if "trap_nights" in st.columns
        else np.ones(len(st))
    )
    tn = np.nan_to_num(tn, nan=0.0)
    size = 6 + 40 * np.sqrt(tn / tn.max()) if tn.max() > 0 else np.full(len(st), 15.0)
    det = (
        st["detections"].to_numpy(dtype=float)
        if "detections" in st.columns
        else np.zeros(len(st))
    )
    sc = ax.scatter(
        st.geometry.x,
        st.geometry.y,
        s=size,
        c=np.log1p(det),
        cmap="plasma",
        edgecolors="#222222",
        linewidths=0.4,
        zorder=8,
    )
    cb = fig.colorbar(sc, ax=ax, shrink=0.7)
    top = float(np.nanmax(det)) if len(det) else 0.0
    ticks = [v for v in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500) if v <= max(top, 1)]
    cb.set_ticks([float(np.log1p(v)) for v in ticks], labels=[str(v) for v in ticks])
    _colorbar(cb, _t("bar.detections"))
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="#cc4778",
            markeredgecolor="#222222",
            label=_t("key.stations"),
        )
    ]


def _effort(survey: Survey, prods: RunProducts) -> Figure | None:
    fig, ax = _figure()
    _base(ax, survey)
    grid = prods.coverage_grid
    if grid is not None and len(grid):
        col = next(
            (
                c
                for c in ("trap_nights", "effort_days", "n_stations", "stations")
                if c in grid.columns
            ),
            None,
        )
        if col is not None:
            g = grid[grid[col].astype(float) > 0]
            grid.boundary.plot(ax=ax, color="#cccccc", linewidth=0.2, zorder=2)
            if len(g):
                g.plot(ax=ax, column=col, cmap="Greens", alpha=0.6, zorder=3)
    handles = _stations(ax, prods, fig)
    _key(ax, survey, handles)
    ax.set_title(_t("title.effort"))
    return fig


def _pdot(survey: Survey, prods: RunProducts) -> Figure | None:
    da = prods.pdot
    if da is None:
        return None
    fig, ax = _figure()
    _base(ax, survey)
    _raster(ax, da, cmap="viridis", label=_t("bar.pdot"), fig=fig, vmin=0, vmax=1)
    _key(ax, survey)
    ax.set_title(_t("title.pdot"))
    return fig


def _density_surface(survey: Survey, prods: RunProducts) -> Figure | None:
    """The best density surface by AIC (exact runs: public runs drop the fit)."""
    surfaces = getattr(prods.density_fit, "surfaces", ()) or ()
    if not surfaces:
        return None
    from ..density.surface import best_surface

    best = best_surface(surfaces)
    if best.crs is None:
        return None
    fig, ax = _figure()
    _base(ax, survey)
    _raster(ax, best.to_dataarray(), cmap="magma", label=_t("bar.density"), fig=fig)
    _key(ax, survey)
    ax.set_title(_t("title.density_surface", model=f"D {best.density}"))
    return fig


def _sessions(survey: Survey, prods: RunProducts) -> Figure | None:
    """Density per session with 95 % CI bars (best model) and the fitted trend."""
    models = prods.sessions
    if models is None:
        return None
    from matplotlib.figure import Figure as _Fig

    best = models.best
    est = best.estimates[best.estimates["parameter"] == "D"]
    x = np.arange(len(est))
    fig = _Fig(figsize=(FIGSIZE[0], 3.6), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    d = est["estimate"].to_numpy(float)
    err = np.vstack([d - est["lcl"].to_numpy(float), est["ucl"].to_numpy(float) - d])
    ax.errorbar(
        x,
        d,
        yerr=err,
        fmt="o",
        color=COLORS["path"],
        ecolor=COLORS["path"],
        capsize=4,
        zorder=3,
        label=_t("key.session_d"),
    )
    trends = models.trends
    for f in models.fits:
        if f.trend:
            td = f.estimates[f.estimates["parameter"] == "D"]["estimate"]
            ax.plot(x, td.to_numpy(float), "--", color=COLORS["hotspot"], zorder=2)
    if len(trends):
        t = trends.iloc[0]
        ax.plot(
            [],
            [],
            "--",
            color=COLORS["hotspot"],
            label=_t(
                "key.trend",
                model=str(t["model"]),
                lam=i18n.localize_number(f"{float(t['lambda']):.3g}"),
                lcl=i18n.localize_number(f"{float(t['lcl']):.3g}"),
                ucl=i18n.localize_number(f"{float(t['ucl']):.3g}"),
            ),
        )
    ax.set_xticks(x, [str(s) for s in est["session"]])
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_t("axis.session"))
    ax.set_ylabel(_t("axis.density"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.set_title(_t("title.sessions", model=best.label))
    return fig


def _homeranges(survey: Survey, prods: RunProducts) -> Figure | None:
    from matplotlib.patches import Patch

    r = prods.ranges
    if r is None or not len(r):
        return None
    fig, ax = _figure()
    _base(ax, survey)
    col = V.INDIVIDUAL_ID if V.INDIVIDUAL_ID in r.columns else None
    pal = distinct_colors(r, col)
    keys = r[col].astype(str) if col else r.index.astype(str)
    colours = list(keys.map(pal))
    r.plot(ax=ax, color=colours, alpha=0.18, linewidth=0, zorder=3)
    r.boundary.plot(ax=ax, color=colours, linewidth=0.9, zorder=4)
    handles = [
        Patch(
            facecolor="none", edgecolor=next(iter(pal.values())), label=_t("key.ranges")
        )
    ]
    _key(ax, survey, handles)
    title = (
        _t("title.homeranges_n", n=r[col].nunique()) if col else _t("title.homeranges")
    )
    ax.set_title(title)
    return fig


def _place_labels(
    points: list[tuple[float, float]], span: float, *, sep: float = 0.045
) -> list[tuple[float, float]]:
    """Label positions near ``points`` that keep ``sep * span`` apart (greedy).

    Each label tries offsets on rings of growing radius around its point, in
    eight directions, and takes the first position far enough from every
    label already placed and from every point.
    """
    placed: list[tuple[float, float]] = []
    gap = sep * span
    dirs = [
        (np.cos(a), np.sin(a))
        for a in np.linspace(np.pi / 4, 2 * np.pi + np.pi / 4, 8, endpoint=False)
    ]
    for x, y in points:
        best = None
        for ring in (1.0, 1.6, 2.3, 3.2, 4.5):
            for dx, dy in dirs:
                cx, cy = x + dx * ring * gap, y + dy * ring * gap
                if all(np.hypot(cx - px, cy - py) >= gap for px, py in placed) and all(
                    np.hypot(cx - qx, cy - qy) >= 0.6 * gap for qx, qy in points
                ):
                    best = (cx, cy)
                    break
            if best is not None:
                break
        placed.append(best if best is not None else (x + gap, y + gap))
    return placed


def _hotspot_ranks(ax: Axes, hs: Any) -> list[Any]:
    """The ten best border segments, thick, with rank numbers that do not overlap."""
    from matplotlib.lines import Line2D

    if hs is None or not len(hs):
        return []
    if "rank" in hs.columns:
        top = hs.sort_values("rank").head(10)
    else:
        score = next((c for c in ("score", "current") if c in hs.columns), None)
        top = hs.sort_values(score, ascending=False).head(10) if score else hs.head(10)
    colour = COLORS["hotspot"]
    top.plot(ax=ax, color=colour, linewidth=5, zorder=11, capstyle="butt")
    pts = [(g.centroid.x, g.centroid.y) for g in top.geometry]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    spots = _place_labels(pts, max(x1 - x0, y1 - y0))
    for rank, ((px, py), (lx, ly)) in enumerate(zip(pts, spots, strict=False), start=1):
        ax.annotate(
            str(rank),
            (px, py),
            xytext=(lx, ly),
            fontsize=7,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=14,
            bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": colour, "lw": 0.8},
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.7},
        )
    return [Line2D([], [], color=colour, linewidth=5, label=_t("key.hotspot"))]


def _corridors(survey: Survey, prods: RunProducts) -> Figure | None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    layers = (
        prods.current,
        prods.corridors,
        prods.corridor_paths,
        prods.border_hotspots,
    )
    if all(v is None for v in layers):
        return None
    fig, ax = _figure()
    _base(ax, survey)
    if prods.current is not None:
        _raster(
            ax,
            prods.current,
            cmap="inferno",
            label=_t("bar.current"),
            fig=fig,
            log=True,
        )
    handles: list[Any] = []
    c = prods.corridors
    if c is not None and len(c):
        c.plot(
            ax=ax, facecolor=COLORS["corridor"], alpha=0.55, edgecolor="none", zorder=4
        )
        handles.append(
            Patch(facecolor=COLORS["corridor"], alpha=0.55, label=_t("key.corridor"))
        )
    p = prods.corridor_paths
    if p is not None and len(p):
        p.plot(
            ax=ax, color=COLORS["path"], linewidth=1.6, linestyle=(0, (4, 2)), zorder=5
        )
        handles.append(
            Line2D(
                [],
                [],
                color=COLORS["path"],
                linestyle=(0, (4, 2)),
                label=_t("key.path"),
            )
        )
    handles += _hotspot_ranks(ax, prods.border_hotspots)
    _key(ax, survey, handles)
    ax.set_title(_t("title.corridors"))
    return fig


def _light_greens() -> Any:
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap

    return ListedColormap(
        mpl.colormaps["Greens"](np.linspace(0.0, 0.55, 256)), name="pdot"
    )


def _plan(survey: Survey, prods: RunProducts) -> Figure | None:
    from matplotlib.lines import Line2D

    p = prods.proposed
    if p is None or not len(p):
        return None
    fig, ax = _figure()
    _base(ax, survey)
    if prods.pdot is not None:
        _raster(
            ax,
            prods.pdot,
            cmap=_light_greens(),  # light, so the stations stay visible
            label=_t("bar.pdot_now"),
            fig=fig,
            vmin=0,
            vmax=1,
            alpha=0.7,
        )
    handles: list[Any] = []
    st = prods.stations
    cells = prods.station_cells
    if st is not None and len(st):
        ax.scatter(st.geometry.x, st.geometry.y, s=5, color="#222222", zorder=8)
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markersize=3,
                linestyle="",
                color="#222222",
                label=_t("key.existing"),
            )
        )
    elif cells is not None and len(cells):
        cells.boundary.plot(ax=ax, color="#222222", linewidth=0.6, zorder=8)
    if all(t == "Point" for t in p.geom_type):
        ax.scatter(
            p.geometry.x,
            p.geometry.y,
            marker="D",
            s=36,
            color=COLORS["proposed"],
            edgecolors="black",
            linewidths=0.8,
            zorder=10,
        )
    else:
        p.plot(ax=ax, color=COLORS["proposed"], edgecolor="black", alpha=0.6, zorder=10)
    handles.append(
        Line2D(
            [],
            [],
            marker="D",
            linestyle="",
            markerfacecolor=COLORS["proposed"],
            markeredgecolor="black",
            label=_t("key.proposed"),
        )
    )
    _key(ax, survey, handles)
    ax.set_title(_t("title.plan"))
    return fig


_BUILDERS = {
    "effort": _effort,
    "pdot": _pdot,
    "homeranges": _homeranges,
    "corridors": _corridors,
    "plan": _plan,
    "density_surface": _density_surface,
    "sessions": _sessions,
}


def render_figures(
    survey: Survey,
    *,
    products: RunProducts | None = None,
    public: bool = False,
    lang: i18n.Lang = "en",
) -> dict[str, bytes]:
    """Render every figure that the products allow, as PNG bytes.

    Parameters
    ----------
    survey
        The (in public mode: generalised) survey, projected CRS.
    products
        The run's results; themes whose products are ``None`` are left out.
    public
        Refuse per-station and per-individual products.
    lang
        Language of the labels (``"en"``, ``"ru"``, ``"zh"``).  When no
        installed font has every character of that language (Chinese
        without a CJK font), the labels are English (logged; see
        :func:`trapscape.present._fonts.figure_language`).

    Returns
    -------
    dict
        Figure name (see :data:`FIGURE_NAMES`) to PNG bytes; themes without
        data are left out.
    """
    from ..crs import require_projected
    from ..errors import InputError

    require_projected(survey.crs, "survey CRS")
    prods = products if products is not None else RunProducts()
    if public and (prods.stations is not None or prods.ranges is not None):
        raise InputError(
            "public figures given exact stations or home ranges; pass generalised products."
        )
    import matplotlib as mpl

    font = figure_language(lang)
    with (
        i18n.language(font.lang),
        mpl.rc_context({"font.family": [font.family]}),
        weight_fallback_quiet(),
    ):
        return _render_all(survey, prods, public=public)


def _render_all(
    survey: Survey, prods: RunProducts, *, public: bool
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in FIGURE_NAMES:
        fig = _BUILDERS[name](survey, prods)
        if fig is None:
            continue
        if public:
            fig.text(0.01, 0.005, _t("public"), fontsize=7, color="#b2182b")
        buf = io.BytesIO()
        fig.savefig(
            buf,
            format="png",
            dpi=DPI,
            bbox_inches="tight",
            pad_inches=0.04,
            metadata={"Software": None},
        )
        out[name] = buf.getvalue()
    return out


def write_figures(
    survey: Survey,
    out_dir: str | os.PathLike[str],
    *,
    products: RunProducts | None = None,
    public: bool = False,
    lang: i18n.Lang = "en",
) -> list[Path]:
    """Write the figures of :func:`render_figures` as ``<name>.png`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    pngs = render_figures(survey, products=products, public=public, lang=lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, data in pngs.items():
        p = out / f"{name}.png"
        p.write_bytes(data)
        files.append(p)
    logger.info("Wrote %d figures to %s", len(files), out)
    return files
