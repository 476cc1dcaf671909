"""Shared look of the map and the figures: colours, classes, number formats.

One owner for the colours of each theme (so the map and the PNG figures
agree), for class breaks with numbers (legends state ranges, not "low/high"),
for colouring many home ranges so that overlapping ones differ, and for
rounding numbers to their precision in popups and legends.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .i18n import localize_number

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "COLORS",
    "QUALITATIVE",
    "class_breaks",
    "class_colors",
    "class_labels",
    "distinct_colors",
    "fmt_number",
]

# Colour of each theme (map and figures).  The border is black on a white
# casing: no other layer uses black lines, so it stays unmistakable over the
# red hotspots and the yellow end of the pdot ramp.
COLORS = {
    "study_area": "#444444",
    "park": "#1b7837",
    "border": "#000000",
    "border_casing": "#ffffff",
    "zone": "#7a7a7a",
    "land": "#f2efe6",
    "sea": "#c6dbe9",
    "outside": "#dcdad5",
    "reserve": "#762a83",
    "proposed": "#00e5ff",
    "corridor": "#6baed6",
    "path": "#08306b",
    "hotspot": "#b2182b",
    "station_none": "#9e9e9e",
    "settlement": "#333333",
}

# Colour-blind-aware qualitative palette (Paul Tol's "bright" + "vibrant"),
# for home ranges: neighbours get different entries (see distinct_colors).
QUALITATIVE = (
    "#4477aa",
    "#ee6677",
    "#228833",
    "#ccbb44",
    "#66ccee",
    "#aa3377",
    "#ee7733",
    "#0077bb",
    "#009988",
    "#cc3311",
    "#33bbee",
    "#ee3377",
)

# class ramps of the legends (matplotlib colormap, part of its range used)
RAMPS = {
    "effort": ("YlGnBu", 0.15, 0.95),
    "pdot": ("viridis", 0.0, 1.0),
    "current": ("inferno", 0.1, 0.95),
    "density": ("magma", 0.15, 0.95),
    "hotspot": ("OrRd", 0.45, 1.0),
    "detections": ("plasma", 0.15, 0.9),
}


def fmt_number(v: Any, *, digits: int = 3) -> str:
    """A number for display: :func:`_fmt_number` in the current locale.

    Russian output groups with a no-break space and uses a decimal comma
    (see :func:`trapscape.present.i18n.localize_number`).
    """
    return localize_number(_fmt_number(v, digits=digits))


def _fmt_number(v: Any, *, digits: int = 3) -> str:
    """A number rounded to ``digits`` significant digits, with thousands separators.

    Values whose magnitude is below 1e-9 are printed as ``0`` (floating-point
    noise, such as a detour cost of 1.8e-12, is not a result); values below
    0.001 in powers of ten (``1.1 × 10⁻⁷``); trailing zeros are dropped.

    >>> _fmt_number(11201.99), _fmt_number(0.2), _fmt_number(1.8e-12), _fmt_number(1.1e-7)
    ('11,202', '0.2', '0', '1.1 × 10⁻⁷')
    """
    if v is None:
        return ""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "–"
    if abs(x) < 1e-9:
        return "0"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 10 ** (digits - 1):
        return f"{round(x):,}"
    if abs(x) < 1e-3:
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        sup = str(int(exp)).translate(_SUPERSCRIPT)
        return f"{mant.rstrip('0').rstrip('.')} × 10{sup}"
    mag = math.floor(math.log10(abs(x)))
    dec = max(digits - 1 - mag, 0)
    text = f"{x:,.{dec}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _nice(x: float) -> float:
    """``x`` rounded to 2 significant digits."""
    if x == 0 or not math.isfinite(x):
        return x
    mag = math.floor(math.log10(abs(x)))
    return round(x, -mag + 1)


def class_breaks(
    values: Any,
    n: int = 4,
    *,
    fixed: Sequence[float] | None = None,
    start: float | None = None,
) -> list[float]:
    """Edges of ``n`` classes of the finite, positive ``values`` (quantiles, 2 digits).

    ``fixed`` gives the edges directly (e.g. 0, 0.2, ..., 1 for a probability);
    ``start`` replaces the first edge (e.g. 0 for a score).
    Returns at least two edges; the first is the minimum, the last the maximum.
    """
    if fixed is not None:
        return [float(f) for f in fixed]
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return [0.0, 1.0]
    qs = np.quantile(v, np.linspace(0, 1, n + 1))
    edges = sorted({_nice(float(q)) for q in qs[1:-1]})
    lo, hi = float(v.min()), float(v.max())
    if start is not None:
        lo = min(lo, float(start))
    out = [lo, *[e for e in edges if lo < e < hi], hi]
    return out if hi > lo else [lo, lo]


def class_colors(ramp: str, n: int) -> list[str]:
    """``n`` colours spread over the used part of ``RAMPS[ramp]``."""
    import matplotlib as mpl
    from matplotlib import colors

    name, a, b = RAMPS[ramp]
    cm = mpl.colormaps[name]
    pos = np.linspace(a, b, n) if n > 1 else np.array([b])
    return [colors.to_hex(cm(float(p))) for p in pos]


def class_labels(
    edges: Sequence[float], unit: str = "", *, integer: bool = False
) -> list[str]:
    """``"a–b unit"`` for each class of ``edges`` (see :func:`classify`).

    With ``integer=True`` (counts) classes after the first start one above
    the previous edge, so no count is in two classes: ``1–4``, ``5–8``.

    >>> class_labels([1, 4, 8, 19], "detections", integer=True)
    ['1–4 detections', '5–8 detections', '9–19 detections']
    """
    suffix = f" {unit}" if unit else ""
    if len(edges) < 2 or edges[0] == edges[-1]:
        return [f"{fmt_number(edges[0])}{suffix}"]
    out = []
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        lo = math.floor(a) + 1 if integer and i > 0 else a
        hi = math.floor(b) if integer else b
        text = fmt_number(lo) if lo == hi else f"{fmt_number(lo)}–{fmt_number(hi)}"
        out.append(f"{text}{suffix}")
    return out


def classify(values: Any, edges: Sequence[float]) -> np.ndarray:
    """Class index of each value: 0 for ``[e0, e1]``, i for ``(e_i, e_i+1]``; -1 below e0 or NaN."""
    v = np.asarray(values, dtype=float)
    idx = np.searchsorted(np.asarray(edges[1:-1], dtype=float), v, side="left")
    idx = np.where(np.isfinite(v) & (v >= edges[0]), idx, -1)
    return np.asarray(idx, dtype=int)


def distinct_colors(gdf: gpd.GeoDataFrame, key: str | None = None) -> dict[Any, str]:
    """A colour per feature (or per ``key`` value) such that touching ones differ.

    Greedy graph colouring (Welsh & Powell 1967): features are taken in order
    of decreasing number of neighbours (features whose polygons intersect),
    and each gets the first palette colour that no neighbour has.  With more
    neighbours than colours the least used neighbour colour is reused.
    """
    keys = list(gdf[key].astype(str)) if key else [str(i) for i in gdf.index]
    geoms = list(gdf.geometry.values)
    uniq = list(dict.fromkeys(keys))
    from shapely.ops import unary_union

    merged = {
        k: unary_union([g for kk, g in zip(keys, geoms, strict=False) if kk == k])
        for k in uniq
    }
    nb: dict[str, set[str]] = {k: set() for k in uniq}
    from shapely import STRtree

    items = [merged[k] for k in uniq]
    tree = STRtree(items)
    left, right = tree.query(items, predicate="intersects")
    for i, j in zip(left, right, strict=False):
        if i != j:
            nb[uniq[i]].add(uniq[j])
            nb[uniq[j]].add(uniq[i])
    order = sorted(uniq, key=lambda k: (-len(nb[k]), k))
    out: dict[str, str] = {}
    for k in order:
        used = [out[n] for n in nb[k] if n in out]
        free = [c for c in QUALITATIVE if c not in used]
        out[k] = free[0] if free else min(QUALITATIVE, key=used.count)
    return out
