"""Static figures (PNG, matplotlib) of the survey's themes, for documents.

One figure per theme, each drawn from the same products the interactive map
uses: survey effort and coverage, the detection-probability surface, home
ranges, corridors with the current map and border hotspots, and proposed
stations.  Figures use the Agg backend, the survey's projected CRS with axes
in kilometres, and never show per-station or per-individual detail in
public mode (the pipeline passes generalised products).
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

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..survey import Survey

__all__ = ["FIGURE_NAMES", "render_figures", "write_figures"]

logger = logging.getLogger(__name__)

FIGURE_NAMES = ("effort", "pdot", "homeranges", "corridors", "plan")

_TITLES = {
    "effort": "Survey effort and coverage",
    "pdot": "Detection probability (pdot)",
    "homeranges": "Home ranges",
    "corridors": "Corridors, current and border hotspots",
    "plan": "Proposed new stations",
}


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 6.0), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _km_axes(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _p: f"{v / 1000:g}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel("Easting (km)")
    ax.set_ylabel("Northing (km)")
    ax.set_aspect("equal")
    ax.tick_params(labelsize=8)


def _base(ax: Axes, survey: Survey) -> None:
    if survey.habitat is not None and len(survey.habitat):
        survey.habitat.plot(
            ax=ax, color="#f2efe6", edgecolor="#bbbbbb", linewidth=0.3, zorder=0
        )
    if survey.zones is not None and len(survey.zones):
        survey.zones.boundary.plot(ax=ax, color="#8c8c8c", linewidth=0.6, zorder=1)
    if survey.parks is not None and len(survey.parks):
        survey.parks.boundary.plot(ax=ax, color="#1b7837", linewidth=1.2, zorder=5)
    if survey.study_area is not None and len(survey.study_area):
        survey.study_area.boundary.plot(
            ax=ax, color="#444444", linewidth=1.0, linestyle="--", zorder=5
        )
    if survey.border is not None and len(survey.border):
        survey.border.plot(
            ax=ax, color="#d7191c", linewidth=1.8, linestyle=(0, (6, 3)), zorder=6
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
    _km_axes(ax)


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
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)


def _stations(ax: Axes, prods: RunProducts, fig: Figure) -> None:
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
            legend_kwds={"shrink": 0.7, "label": f"{col.replace('_', '-')} per cell"},
            zorder=7,
        )
    elif st is not None and len(st):
        tn = (
            st["trap_nights"].to_numpy(dtype=float)
            if "trap_nights" in st.columns
            else np.ones(len(st))
        )
        tn = np.nan_to_num(tn, nan=0.0)
        size = (
            8 + 60 * np.sqrt(tn / tn.max()) if tn.max() > 0 else np.full(len(st), 20.0)
        )
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
        fig.colorbar(sc, ax=ax, shrink=0.7, label="log(1 + detections) per station")


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
    _stations(ax, prods, fig)
    ax.set_title(_TITLES["effort"])
    return fig


def _pdot(survey: Survey, prods: RunProducts) -> Figure | None:
    da = prods.pdot
    if da is None:
        return None
    fig, ax = _figure()
    _base(ax, survey)
    _raster(
        ax,
        da,
        cmap="viridis",
        label="p(detected at least once)",
        fig=fig,
        vmin=0,
        vmax=1,
    )
    ax.set_title(_TITLES["pdot"])
    return fig


def _homeranges(survey: Survey, prods: RunProducts) -> Figure | None:
    r = prods.ranges
    if r is None or not len(r):
        return None
    fig, ax = _figure()
    _base(ax, survey)
    col = V.INDIVIDUAL_ID if V.INDIVIDUAL_ID in r.columns else None
    r.plot(
        ax=ax,
        column=col,
        categorical=True,
        cmap="tab20",
        alpha=0.25,
        edgecolor="#333333",
        linewidth=0.5,
        zorder=3,
    )
    ax.set_title(
        _TITLES["homeranges"] + (f" ({r[col].nunique()} individuals)" if col else "")
    )
    return fig


def _corridors(survey: Survey, prods: RunProducts) -> Figure | None:
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
            label="current density",
            fig=fig,
            log=True,
        )
    for v, style in (
        (
            prods.corridors,
            {"facecolor": "#2166ac", "alpha": 0.25, "edgecolor": "#2166ac"},
        ),
        (prods.corridor_paths, {"color": "#2166ac", "linewidth": 1.5}),
    ):
        if v is not None and len(v):
            v.plot(ax=ax, zorder=4, **style)
    hs = prods.border_hotspots
    if hs is not None and len(hs):
        score = next((c for c in ("score", "current") if c in hs.columns), None)
        top = hs.sort_values(score, ascending=False).head(10) if score else hs.head(10)
        top.plot(ax=ax, color="#00e5ff", linewidth=4, zorder=9)
        for rank, geom in enumerate(top.geometry, start=1):
            c = geom.centroid
            ax.annotate(
                str(rank),
                (c.x, c.y),
                fontsize=7,
                color="black",
                zorder=10,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_title(_TITLES["corridors"])
    return fig


def _light_greens() -> Any:
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap

    return ListedColormap(
        mpl.colormaps["Greens"](np.linspace(0.0, 0.55, 256)), name="pdot"
    )


def _plan(survey: Survey, prods: RunProducts) -> Figure | None:
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
            label="current pdot",
            fig=fig,
            vmin=0,
            vmax=1,
            alpha=0.7,
        )
    st = prods.stations
    cells = prods.station_cells
    if st is not None and len(st):
        ax.scatter(
            st.geometry.x,
            st.geometry.y,
            s=6,
            color="#222222",
            zorder=8,
            label="existing stations",
        )
    elif cells is not None and len(cells):
        cells.boundary.plot(ax=ax, color="#222222", linewidth=0.6, zorder=8)
    if all(t == "Point" for t in p.geom_type):
        ax.scatter(
            p.geometry.x,
            p.geometry.y,
            marker="D",
            s=40,
            color="#e66101",
            edgecolors="black",
            linewidths=0.5,
            zorder=10,
            label="proposed",
        )
        ax.legend(loc="lower right", fontsize=8)
    else:
        p.plot(ax=ax, color="#e66101", alpha=0.5, zorder=10)
    ax.set_title(_TITLES["plan"])
    return fig


_BUILDERS = {
    "effort": _effort,
    "pdot": _pdot,
    "homeranges": _homeranges,
    "corridors": _corridors,
    "plan": _plan,
}


def render_figures(
    survey: Survey,
    *,
    products: RunProducts | None = None,
    public: bool = False,
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
    out: dict[str, bytes] = {}
    for name in FIGURE_NAMES:
        fig = _BUILDERS[name](survey, prods)
        if fig is None:
            continue
        if public:
            fig.text(
                0.01,
                0.005,
                "Public version: locations generalised, identities removed.",
                fontsize=7,
                color="#b2182b",
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        out[name] = buf.getvalue()
    return out


def write_figures(
    survey: Survey,
    out_dir: str | os.PathLike[str],
    *,
    products: RunProducts | None = None,
    public: bool = False,
) -> list[Path]:
    """Write the figures of :func:`render_figures` as ``<name>.png`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    pngs = render_figures(survey, products=products, public=public)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, data in pngs.items():
        p = out / f"{name}.png"
        p.write_bytes(data)
        files.append(p)
    logger.info("Wrote %d figures to %s", len(files), out)
    return files
