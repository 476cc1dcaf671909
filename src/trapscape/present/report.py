"""The transboundary brief: one self-contained, printable HTML report.

:func:`write_report` turns the results of a run into ``report.html``: survey
effort, coverage by country, density and abundance with confidence
intervals, individuals detected in one or both countries, home ranges that
straddle the border, corridors and ranked border-crossing hotspots, a
candidate reserve outline with its area in each country, proposed stations,
and the methods, assumptions and references behind them.  Figures are
embedded as PNG, so the file can be mailed or printed to PDF as it is.

The page is the Jinja2 template ``templates/report.html.j2``;
:func:`report_context` builds what it shows (formatted numbers, tables,
figures) from a :class:`~trapscape.products.RunProducts`.  With ``lang=``
every text comes from the translation catalogs (``{% trans %}`` blocks of
the template, :data:`COLUMN_LABELS`, :data:`TEXT`, :data:`PLAN_METRICS`; see
:mod:`trapscape.present.i18n`), numbers and dates in that locale.

:func:`trapscape.reserve.candidate_reserve` builds the reserve outline; this
module only renders what the analyses computed.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import validation as V
from ..products import RunProducts
from ..reserve import MIN_ZONE_AREA_KM2, holds_whole_population, zones_with_stations
from . import i18n
from .i18n import gettext as _tr

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "COLUMN_LABELS",
    "PLAN_METRICS",
    "REFERENCES",
    "TEXT",
    "Figure",
    "Table",
    "render_report",
    "report_context",
    "write_report",
]

logger = logging.getLogger(__name__)

REFERENCES: dict[str, str] = {
    "Adriaensen2003": "Adriaensen, F., Chardon, J.P., De Blust, G., et al. (2003). The application of "
    "'least-cost' modelling as a functional landscape model. Landscape and Urban Planning 64, 233-247.",
    "BorchersEfford2008": "Borchers, D.L. & Efford, M.G. (2008). Spatially explicit maximum likelihood "
    "methods for capture-recapture studies. Biometrics 64, 377-385.",
    "Calenge2006": "Calenge, C. (2006). The package adehabitat for the R software: a tool for the "
    "analysis of space and habitat use by animals. Ecological Modelling 197, 516-519.",
    "Durbach2021": "Durbach, I., Borchers, D., Sutherland, C. & Sharma, K. (2021). Fast, flexible "
    "alternatives to regular grid designs for spatial capture-recapture. Methods in Ecology and "
    "Evolution 12, 298-310.",
    "Efford2004": "Efford, M. (2004). Density estimation in live-trapping studies. Oikos 106, 598-610.",
    "EffordBoulanger2019": "Efford, M.G. & Boulanger, J. (2019). Fast evaluation of study designs for "
    "spatially explicit capture-recapture. Methods in Ecology and Evolution 10, 1529-1535.",
    "FiebergKochanny2005": "Fieberg, J. & Kochanny, C.O. (2005). Quantifying home-range overlap: the "
    "importance of the utilization distribution. Journal of Wildlife Management 69, 1346-1359.",
    "McRae2008": "McRae, B.H., Dickson, B.G., Keitt, T.H. & Shah, V.B. (2008). Using circuit theory to "
    "model connectivity in ecology, evolution, and conservation. Ecology 89, 2712-2724.",
    "Niedballa2016": "Niedballa, J., Sollmann, R., Courtiol, A. & Wilting, A. (2016). camtrapR: an R "
    "package for efficient camera trap data management. Methods in Ecology and Evolution 7, 1457-1462.",
    "Royle2014": "Royle, J.A., Chandler, R.B., Sollmann, R. & Gardner, B. (2014). Spatial "
    "Capture-Recapture. Academic Press, Waltham.",
    "Worton1989": "Worton, B.J. (1989). Kernel methods for estimating the utilization distribution in "
    "home-range studies. Ecology 70, 164-168.",
}


# ------------------------------------------------------------ view pieces
@dataclass(frozen=True)
class Table:
    """A table ready to show: column labels, formatted cells, rows cut off."""

    head: list[str]
    rows: list[list[str]]
    more: int = 0
    text: list[bool] = field(default_factory=list)  # text columns: left-aligned


@dataclass(frozen=True)
class Figure:
    """An embedded PNG figure with its caption."""

    src: str
    caption: str


#: Column names of the results -> what a reader sees, with units.  Every
#: column label of the report comes from here (one place to translate).
COLUMN_LABELS: dict[str, str] = {
    "zone": "country",
    "scope": "country",
    "part": "country",
    "region": "region",
    "stations": "stations",
    "cameras": "cameras",
    "trap_nights": "trap-nights",
    "detections": "detections (independent events)",
    "photos": "photos",
    "individuals": "individuals",
    "detection_rate_per_100": "detections per 100 trap-nights",
    "area_km2": "area, km²",
    "cells": "grid cells",
    "cells_with_effort": "cells with a station",
    "effort_area_km2": "area of cells with a station, km²",
    "share_effort": "share of area in cells with a station",
    "within_distance_km2": "area near a station, km²",
    "share_within_distance": "share of area near a station",
    "stations_operating": "stations operating",
    "distance_m": "'near a station': within, m",
    "esa_km2": "effective sampling area, km²",
    "mean_pdot": "mean detection probability",
    "share_pdot_gt_0_5": "share of area with detection probability > 0.5",
    "share_pdot_gt_0_9": "share of area with detection probability > 0.9",
    "parameter": "parameter",
    "estimate": "estimate",
    "se": "SE",
    "rse": "RSE",
    "lcl": "95% CI lower",
    "ucl": "95% CI upper",
    "session": "session",
    "density_model": "density model",
    "npar": "parameters",
    "loglik": "log-likelihood",
    "aic": "AIC",
    "aicc": "AICc",
    "daic": "ΔAIC",
    "aic_weight": "AIC weight",
    "quantity": "quantity",
    "detected in": "detected in",
    "share": "share of individuals",
    V.INDIVIDUAL_ID: "individual",
    V.SEX: "sex",
    "elsewhere": "other countries (no stations), share",
    "rank": "rank",
    "location": "location (lat, lon)",
    "current_sum": "circuit current through the segment (sum)",
    "n_paths": "least-cost paths crossing",
    "corridor_m": "length inside corridors, m",
    "detour_cost": "extra cost of crossing here (cost-weighted m)",
    "score": "score (0–1)",
    "metric": "measure",
    "design": "design",
    "RB": "relative bias",
    "RSE": "relative SE",
    "COV": "95% CI coverage",
    "failed_share": "share of failed fits",
    "mean_n": "animals detected (mean)",
    "mean_r": "recaptures (mean)",
    "before": "now",
    "after": "with the new stations",
    "change": "change",
    "share_of_reserve": "share of the reserve",
    "ranges": "straddling ranges",
    "median_area_km2": "median range area, km²",
    "min_area_km2": "smallest range area, km²",
    "max_area_km2": "largest range area, km²",
    "step": "step",
    "status": "status",
    "message": "message",
}

#: The plan summary's measures, in words with units.
PLAN_METRICS: dict[str, str] = {
    "stations": "stations",
    "new_stations": "new stations",
    "area_pdot_km2": "area with detection probability above the plan's threshold, km²",
    "expected_covered_km2": "expected area covered (sum of detection probability), km²",
    "E_n": "expected individuals detected, E[n]",
    "E_r": "expected recaptures, E[r]",
    "RSE": "expected relative SE of density, ≈ 1/√min(E[n], E[r])",
    "border_pdot": "mean detection probability at the border hotspots",
}

#: Short texts of the report built in Python (the rest is in the template;
#: with :data:`COLUMN_LABELS`, :data:`PLAN_METRICS` and ``_ASSUMPTIONS`` these
#: are every user-facing string of this module, for translation catalogs).
TEXT: dict[str, str] = {
    "all": "all countries",
    "total": "total",
    "expected N": "expected N",
    "realised N": "realised N",
    "realised N (local)": "realised N (local)",
    "density": "density, {zone} (animals per 100 km²)",
    "density_all": "density (animals per 100 km²)",
    "lambda0": "baseline detection rate λ0{who} (per day)",
    "sigma": "movement scale σ{who} (m)",
    "g0": "baseline detection probability g0{who}",
    "pmix": "share of the population that is {who}",
    "F": "females",
    "M": "males",
    "share_of": "{zone}, share",
    "area_of": "{zone}, km²",
    "zone_region": "{zone} (country)",
    "yes": "yes",
    "no": "no",
    "heading": "{name}: camera-trap survey brief for a transboundary reserve",
    "simulated": "The survey data are simulated (the bundled Land of the Leopard "
    "example: real geography, simulated cameras and leopards with known truth). "
    "Do not cite the numbers as field results.",
    "approximate_parks": "Park boundaries are approximate (digitised for this "
    "toolkit, not an official boundary).",
    "caption_effort_public": "Camera effort per {cell_km} km cell (public version).",
    "caption_effort": "Camera stations (size: trap-nights; colour: detections) "
    "over the coverage grid.",
    "caption_pdot": "Detection probability surface (pdot).",
    "caption_homeranges": "Home ranges by individual.",
    "caption_corridors": "Current density, corridors and top border hotspots "
    "(numbered).",
    "caption_plan": "Proposed stations over the current detection probability.",
    "design_current": "current stations",
    "design_current+plan": "current and proposed stations",
    "caption_density_surface": "Density surface of the best model by AIC "
    "(animals per 100 km²).",
    "caption_sessions": "Density per session with 95% confidence intervals; the "
    "dashed line is the fitted log-linear trend.",
    "session_density": "density (animals per 100 km²)",
    "trend_line": "{model}: the density changes by a factor of {lam} per session "
    "(95% CI {lcl}–{ucl}).",
}

#: Relative size under which a value is floating-point noise around zero:
#: a value smaller than this times the largest of its column (or, in the
#: plan summary, of its row) is shown as 0.
NOISE = 1e-9


def _num(v: Any, digits: int = 3) -> str:
    """Numbers for people: ``digits`` significant digits, thousands separated."""
    return i18n.localize_number(_num_en(v, digits))


def _num_en(v: Any, digits: int = 3) -> str:
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return _tr(TEXT["yes"]) if v else _tr(TEXT["no"])
    if isinstance(v, str):
        return i18n.phrase(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f):
            return "–"
        a = abs(f)
        if a == 0:
            return "0"
        if a >= 10 ** (digits - 1):
            return f"{f:,.0f}"
        if a >= 1e-3:
            decimals = max(0, digits - 1 - int(np.floor(np.log10(a))))
            return f"{f:,.{decimals}f}"
        return f"{f:.{digits}g}"
    return str(v)


def _denoise(col: pd.Series) -> pd.Series:
    """A numeric column with values below :data:`NOISE` of its largest set to 0."""
    if col.dtype.kind not in "fiu":
        return col
    x = pd.to_numeric(col, errors="coerce")
    finite = x[np.isfinite(x)]
    if not len(finite):
        return col
    top = float(finite.abs().max())
    out = x.where(~(x.abs() < NOISE * top), 0.0)
    return out.astype(col.dtype) if col.dtype.kind in "iu" else out


def _label(col: str) -> str:
    """The reader's name of a result column (see :data:`COLUMN_LABELS`)."""
    if col == "density":
        return _tr(TEXT["session_density"])
    if col in COLUMN_LABELS:
        return _tr(COLUMN_LABELS[col])
    for prefix, key in (("area_km2_", "area_of"), ("share_", "share_of")):
        if col.startswith(prefix):
            return _tr(TEXT[key]).format(zone=_tr(col.removeprefix(prefix)))
    return col.replace("_", " ")


def _table(obj: Any, *, max_rows: int = 40) -> Table:
    """A data frame (or a mapping/series of scalars) as a :class:`Table`.

    Columns get the reader's names (:data:`COLUMN_LABELS`), numbers their
    precision (:func:`_num`, noise around zero shown as 0).  Nothing to
    show gives an empty table (the template says "No data.").
    """
    df = _as_frame(obj)
    if df is None or len(df) == 0:
        return Table(head=[], rows=[])
    df = pd.DataFrame(df)
    if "geometry" in df.columns:
        df = df.drop(columns="geometry")
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    more = len(df) - max_rows
    df = df.head(max_rows)
    for c in df.columns:
        if df[c].dtype.kind in "fiu":
            df[c] = _denoise(df[c])
    text = [
        not bool(pd.to_numeric(df[c], errors="coerce").notna().all())
        for c in df.columns
    ]
    return Table(
        head=[_label(str(c)) for c in df.columns],
        rows=[[_num(v) for v in r] for r in df.itertuples(index=False)],
        more=max(more, 0),
        text=text,
    )


def _maybe_table(obj: Any) -> Table | None:
    """``None`` for a missing product, else its :class:`Table`."""
    return None if obj is None else _table(obj)


def _figure(png: bytes | None, caption: str) -> Figure | None:
    if not png:
        return None
    return Figure("data:image/png;base64," + base64.b64encode(png).decode(), caption)


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        v = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if v is not None:
            return v
    return None


def _as_frame(obj: Any) -> pd.DataFrame | None:
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.Series):
        return obj.to_frame().T if obj.index.dtype == object else obj.to_frame()
    if isinstance(obj, Mapping):
        flat = {
            k: v for k, v in obj.items() if not isinstance(v, (Mapping, list, tuple))
        }
        return pd.DataFrame([flat]) if flat else None
    return None


# ------------------------------------------------------------ zones shown
def _shown_zones(survey: Survey, prods: RunProducts) -> set[str] | None:
    """Zones (countries) the report gives numbers for: those holding stations.

    The pipeline records them from the exact stations
    (``RunProducts.surveyed_zones``), so a public report, drawn from
    stations moved to grid-cell centres, shows the same zones as the
    internal one.  ``None``: the survey has no zones.
    """
    if prods.surveyed_zones is not None:
        return set(prods.surveyed_zones)
    return zones_with_stations(survey)


def _zone_rows(
    df: pd.DataFrame | None, shown: set[str] | None, column: str = "zone"
) -> pd.DataFrame | None:
    """Rows of zones with data (and the totals); slivers of a zone left out."""
    if df is None or column not in df.columns:
        return df
    out = pd.DataFrame(df)
    keys = out[column].astype(str)
    keep = keys.isin(["total", "all", "study area"])
    if shown is not None:
        keep |= keys.isin(sorted(shown))
    else:
        keep |= True
    if "area_km2" in out.columns:
        area = pd.to_numeric(out["area_km2"], errors="coerce")
        keep &= ~(area < MIN_ZONE_AREA_KM2)
    return out[keep.to_numpy()]


# ---------------------------------------------------------------- density
def _param_label(name: str) -> str:
    """``D[China]`` -> "density, China (animals per 100 km²)", ``sigma[F]`` -> ..."""
    base, _, rest = name.partition("[")
    level = rest.rstrip("]")
    if base == "D":
        return (
            _tr(TEXT["density"]).format(zone=_tr(level))
            if level
            else _tr(TEXT["density_all"])
        )
    if base in ("lambda0", "sigma", "g0"):
        who = f", {_tr(TEXT.get(level, level))}" if level else ""
        return _tr(TEXT[base]).format(who=who)
    if base == "pmix" and level:
        return _tr(TEXT["pmix"]).format(who=_tr(TEXT.get(level, level)))
    return name


def _split_unsurveyed(
    est: pd.DataFrame, shown: set[str] | None
) -> tuple[pd.DataFrame, list[str]]:
    """(estimates of zones with data, names of the zones without stations)."""
    if "parameter" not in est.columns or shown is None:
        return est, []
    zone_of = est["parameter"].astype(str).str.extract(r"^D\[(.+)\]$")[0]
    off = zone_of.notna() & ~zone_of.isin(sorted(shown))
    return est[~off], sorted(set(zone_of[off]))


def _density_lines(est: pd.DataFrame) -> list[tuple[str, str]]:
    """(zone or "", 'D (lcl–ucl)') per density parameter, for the summary."""
    if "parameter" not in est.columns:
        return []
    names = est["parameter"].astype(str)
    d = est[names == "D"]
    if len(d) == 0:  # zone models: one density per zone, D[<zone>]
        d = est[names.str.match(r"^D\[.+\]$")]
    lines = []
    for _, r in d.iterrows():
        txt = _num(float(r["estimate"]))
        if "lcl" in est.columns and "ucl" in est.columns:
            txt += f" ({_num(float(r['lcl']))}–{_num(float(r['ucl']))})"
        if "rse" in est.columns and np.isfinite(float(r["rse"])):
            txt += f", RSE {100 * float(r['rse']):.0f} %"
        label = str(r["parameter"])
        lines.append(("" if label == "D" else _tr(label[2:-1]), txt))
    return lines


def _region_rows(region_n: pd.DataFrame, shown: set[str] | None) -> pd.DataFrame:
    """Abundance rows to show (zones with stations only).

    secr's realised N (``R.N``) counts every detected animal in any region,
    so it is kept only for a region holding the whole population; the other
    regions show the local realised N.
    """
    rn = pd.DataFrame(region_n).copy()
    if "region" not in rn.columns or "quantity" not in rn.columns:
        return rn
    whole = holds_whole_population(rn)
    q = rn["quantity"].astype(str)
    keep = (q == "E.N") | ((q == "R.N") & whole) | ((q == "R.N.local") & ~whole)
    rn = rn[keep].copy()
    names = {
        "E.N": "expected N",
        "R.N": "realised N",
        "R.N.local": "realised N (local)",
    }
    rn["quantity"] = [
        _tr(TEXT.get(names.get(str(v), str(v)), str(v))) for v in rn["quantity"]
    ]
    zone = rn["region"].astype(str).str.extract(r"^zone: (.+)$")[0]
    rn["region"] = [
        _tr(TEXT["zone_region"]).format(zone=_tr(z)) if isinstance(z, str) else r
        for z, r in zip(zone, rn["region"], strict=True)
    ]
    if shown is None:
        return rn
    off = zone.notna() & ~zone.isin(sorted(shown))
    return rn[~off.to_numpy()]


def _region_name(region: str) -> str:
    """``"zone: China"`` -> "China", ``"park: <name>"`` -> the park's name, translated."""
    kind, sep, name = region.partition(": ")
    return _tr(name) if sep and kind in ("zone", "park") else _tr(region)


def _density_context(
    est: pd.DataFrame | None,
    region_n: pd.DataFrame | None,
    *,
    shown: set[str] | None = None,
) -> dict[str, Any] | None:
    """What the density section shows (``None``: density was not estimated).

    Zone densities (``D[<zone>]``) and zone abundances of zones without any
    station are extrapolations; they are left out of the summary and the
    tables (the CSV outputs keep them), and the zones are named in a note.
    """
    if est is None or len(est) == 0:
        return None
    est, unsurveyed = _split_unsurveyed(pd.DataFrame(est), shown)
    pcols = [
        c
        for c in ("parameter", "estimate", "se", "rse", "lcl", "ucl")
        if c in est.columns
    ]
    params = est[pcols].copy()
    params["parameter"] = params["parameter"].astype(str).map(_param_label)
    regions = None
    if region_n is not None and len(region_n) and "region" in region_n.columns:
        zone = pd.Series(region_n["region"]).astype(str).str.extract(r"^zone: (.+)$")[0]
        off = zone.dropna()
        if shown is not None:
            unsurveyed = sorted(set(unsurveyed) | (set(off) - shown))
    if region_n is not None and len(region_n):
        rn = _region_rows(region_n, shown)
        if "region" in rn.columns:
            rn = rn.assign(region=rn["region"].astype(str).map(_region_name))
        cols = [
            c
            for c in ("region", "area_km2", "quantity", "estimate", "se", "lcl", "ucl")
            if c in rn.columns
        ]
        regions = _table(rn[cols])
    return {
        "lines": _density_lines(est),
        "parameters": _table(params),
        "regions": regions,
        "unsurveyed_zones": [_tr(z) for z in unsurveyed],
    }


def _sessions_context(models: Any) -> dict[str, Any] | None:
    """What the sessions subsection shows (``None``: no sessions step)."""
    if models is None:
        return None
    best = models.best
    est = best.estimates[best.estimates["parameter"] == "D"]
    cols = ["session", "estimate", "se", "rse", "lcl", "ucl"]
    d = est[cols].copy()
    d["session"] = d["session"].astype(str)
    d = d.rename(columns={"estimate": "density"})
    trends = []
    for _, t in models.trends.iterrows():
        trends.append(
            _tr(TEXT["trend_line"]).format(
                model=str(t["model"]),
                lam=_num(float(t["lambda"])),
                lcl=_num(float(t["lcl"])),
                ucl=_num(float(t["ucl"])),
            )
        )
    return {
        "best": best.label,
        "n": len(best.sessions),
        "density": _table(d),
        "models": _table(models.table.rename(columns={"model": "density_model"})),
        "trends": trends,
        "notes": list(best.notes),
    }


def _surface_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """The density surfaces' AIC table with the report's column names."""
    if table is None:
        return None
    return table.rename(columns={"model": "density_model"})


# ------------------------------------------------------------ other sections
def _effort_context(
    summ: Mapping[str, Any], effort: Any, shown: set[str] | None
) -> dict[str, Any]:
    first = summ.get("first_setup")
    per_zone = _get(effort, "per_zone")
    return {
        "stations": _num(summ.get("stations")),
        "cameras": _num(summ.get("cameras")),
        "deployments": _num(summ.get("deployments")),
        "malfunctions": _num(summ.get("malfunctions")),
        "period": (
            (i18n.format_date(first), i18n.format_date(summ.get("last_retrieval")))
            if first
            else None
        ),
        "per_zone": _maybe_table(_zone_rows(per_zone, shown)),
    }


def _population_table(pop: Any) -> Table | None:
    """Individuals by the countries they were photographed in, with shares."""
    if not isinstance(pop, pd.DataFrame) or not len(pop):
        return None
    p = pop.copy()
    if "individuals" in p.columns and "detected in" in p.columns:
        total = p.loc[p["detected in"] == "total", "individuals"].sum()
        if total:
            p["share"] = p["individuals"] / float(total)
        p["detected in"] = p["detected in"].astype(str).map(i18n.phrase)
    return _table(p)


def _straddling_context(
    prods: RunProducts, shown: set[str] | None
) -> dict[str, Any] | None:
    """Ranges straddling the border: shares per country with data, the rest as one."""
    strad = prods.straddling
    if strad is None:
        return None
    if isinstance(strad, (int, np.integer)):
        return {
            "count": _num(int(strad)),
            "table": _maybe_table(prods.straddling_areas),
        }
    df = pd.DataFrame(strad)
    share_cols = [c for c in df.columns if c.startswith("share_")]
    keep = [c for c in share_cols if shown is None or c[6:] in shown]
    cols = [c for c in (V.INDIVIDUAL_ID, V.SEX, "area_km2") if c in df.columns]
    out = df[cols + keep].copy()
    rest = [c for c in share_cols if c not in keep]
    if rest:
        out["elsewhere"] = df[rest].astype(float).sum(axis=1)
    return {"count": None, "table": _table(out)}


def _lat_lon(geoms: Any) -> list[str]:
    """'43.12° N, 130.92° E' at the middle of each geometry (for display only)."""
    import geopandas as gpd

    g = gpd.GeoSeries(geoms)
    if g.crs is None or len(g) == 0:
        return ["–"] * len(g)
    mids = g.interpolate(0.5, normalized=True).to_crs(4326)
    out = []
    for p in mids:
        lat = i18n.localize_number(f"{abs(p.y):.3f}")
        lon = i18n.localize_number(f"{abs(p.x):.3f}")
        if p.y >= 0 and p.x >= 0:
            out.append(_tr("{lat}° N, {lon}° E").format(lat=lat, lon=lon))
            continue
        ns = "N" if p.y >= 0 else "S"
        ew = "E" if p.x >= 0 else "W"
        out.append(f"{lat}° {ns}, {lon}° {ew}")
    return out


def _top_hotspots(hs: Any, top: int) -> pd.DataFrame | None:
    """The ``top`` best-ranked border segments with their location."""
    if hs is None or not len(hs):
        return None
    score = next((c for c in ("rank", "score", "current") if c in hs.columns), None)
    h = hs.sort_values(score, ascending=score == "rank") if score else hs
    h = h.head(top)
    out = pd.DataFrame(h.drop(columns="geometry"))
    out.insert(1 if "rank" in out.columns else 0, "location", _lat_lon(h.geometry))
    cols = [
        c
        for c in (
            "rank",
            "location",
            "current_sum",
            "n_paths",
            "corridor_m",
            "detour_cost",
            "score",
        )
        if c in out.columns
    ]
    return out[cols]


def _hotspots_context(hs: Any, top: int) -> dict[str, Any] | None:
    table = _top_hotspots(hs, top)
    if table is None:
        return None
    return {"n": len(table), "table": _table(table)}


def _reserve_context(res: Any, *, public: bool) -> dict[str, Any] | None:
    """Reserve area per country (of the exact outline, in both versions)."""
    if res is None or not len(res):
        return None
    cols = [c for c in res.columns if c.startswith("area_km2_")]
    total = float(res["area_km2"].sum()) if "area_km2" in res.columns else np.nan
    rows = [(c.removeprefix("area_km2_"), float(res[c].sum())) for c in cols]
    rows = [(z, a) for z, a in rows if a >= MIN_ZONE_AREA_KM2]
    rows.append((_tr(TEXT["total"]), total))
    area = pd.DataFrame(rows, columns=["part", "area_km2"])
    area["share_of_reserve"] = area["area_km2"] / total if total else np.nan
    comps = res["components"].iloc[0] if "components" in res.columns else None
    countries = res["countries"].iloc[0] if "countries" in res.columns else None
    return {
        "areas": _table(area),
        "total_km2": _num(total, 4),
        "by_country": [(_tr(z), _num(a, 4)) for z, a in rows[:-1]],
        "components": None if comps is None else i18n.phrase(str(comps)),
        "countries": " + ".join(_tr(c) for c in str(countries).split(" + "))
        if countries
        else None,
        "generalised": public,
    }


def _plan_table(summ: Any, shown: set[str] | None) -> Table | None:
    """The plan summary in words: one row per measure and country."""
    if not isinstance(summ, pd.DataFrame) or not len(summ):
        return None
    if not {"scope", "metric", "before", "after"} <= set(summ.columns):
        return _table(summ)
    p = _zone_rows(summ, shown, "scope")
    assert p is not None
    p = p.copy()
    num = p[["before", "after", "change"]].apply(pd.to_numeric, errors="coerce")
    scale = num[["before", "after"]].abs().max(axis=1)
    p["change"] = num["change"].where(~(num["change"].abs() <= NOISE * scale), 0.0)
    counts = p["metric"].isin(["stations", "new_stations"]).to_numpy()
    for c in ("before", "after", "change"):
        vals = p[c] if c == "change" else num[c]
        p[c] = pd.Series(
            [
                int(v) if k and np.isfinite(v) else float(v)
                for v, k in zip(vals, counts, strict=True)
            ],
            index=p.index,
            dtype=object,
        )
    p["scope"] = p["scope"].map(lambda v: _tr(TEXT["all"]) if v == "all" else v)
    p["metric"] = p["metric"].map(lambda v: _tr(PLAN_METRICS.get(v, str(v))))
    return _table(p[["scope", "metric", "before", "after", "change"]])


def _design_table(ev: Any) -> dict[str, Any] | None:
    """Density rows of the design evaluation (bias, RSE, coverage per design)."""
    if not isinstance(ev, pd.DataFrame) or not len(ev) or "parameter" not in ev:
        return None
    d = ev[ev["parameter"].astype(str).str.startswith("D")].copy()
    cols = ["design", "stations", "parameter", "RB", "RSE", "COV"]
    cols += ["failed_share", "mean_n", "mean_r"]
    d = d[[c for c in cols if c in d.columns]]
    if d["parameter"].nunique() == 1:
        d = d.drop(columns="parameter")
    d["design"] = d["design"].map(
        lambda v: _tr(TEXT[f"design_{v}"]) if f"design_{v}" in TEXT else str(v)
    )
    reps = int(ev["replicates"].max()) if "replicates" in ev else 0
    return {"table": _table(d), "replicates": _num(reps)}


def _plan_next(prods: RunProducts) -> dict[str, Any] | None:
    """Next season's cameras: how many, where, and the expected precision."""
    summ = prods.plan_summary
    n = len(prods.proposed) if prods.proposed is not None else 0
    if not n and not isinstance(summ, pd.DataFrame):
        return None
    where: list[tuple[str, str]] = []
    rse: tuple[str, str] | None = None
    if isinstance(summ, pd.DataFrame) and {"scope", "metric"} <= set(summ.columns):
        new = summ[(summ["metric"] == "new_stations") & (summ["after"] > 0)]
        where = [(_tr(str(r.scope)), _num(int(r.after))) for r in new.itertuples()]
        r = summ[(summ["metric"] == "RSE") & (summ["scope"] == "all")]
        if len(r):
            b, a = float(r["before"].iloc[0]), float(r["after"].iloc[0])
            if np.isfinite(b) and np.isfinite(a):
                pct = " %" if i18n.current() == "ru" else "%"  # 11,7 % in Russian
                rse = (
                    i18n.localize_number(f"{100 * b:.1f}") + pct,
                    i18n.localize_number(f"{100 * a:.1f}") + pct,
                )
    return {"n": n, "where": where, "rse": rse}


def _trap_nights(prods: RunProducts) -> str | None:
    """Total trap-nights: the run's total, else the stations' (a reloaded run)."""
    if prods.trap_nights is not None:
        return _num(float(prods.trap_nights))
    for layer in (prods.stations, prods.station_cells):
        if layer is not None and "trap_nights" in layer.columns:
            return _num(float(pd.to_numeric(layer["trap_nights"]).sum()))
    return None


def _summary(
    summ: Mapping[str, Any],
    prods: RunProducts,
    shown: set[str] | None,
    density: dict[str, Any] | None,
) -> dict[str, Any]:
    """The one-page summary at the top of the report."""
    cov = _zone_rows(prods.coverage_stats, shown)
    areas: list[tuple[str, str]] = []
    if cov is not None and "area_km2" in cov.columns and "zone" in cov.columns:
        areas = [
            (_tr(str(z)), _num(float(a), 4))
            for z, a in zip(cov["zone"], cov["area_km2"], strict=True)
        ]
    pop = prods.population
    individuals: list[tuple[str, str]] = []
    both = None
    if isinstance(pop, pd.DataFrame) and len(pop):
        individuals = [
            (i18n.phrase(str(d)), _num(int(n)))
            for d, n in zip(pop["detected in"], pop["individuals"], strict=True)
        ]
        both = int(pop[pop["detected in"].str.startswith("both")]["individuals"].sum())
    strad = prods.straddling
    n_strad = None
    if strad is not None:
        n_strad = int(strad) if isinstance(strad, (int, np.integer)) else len(strad)
    hs = _top_hotspots(prods.border_hotspots, 3)
    first = summ.get("first_setup")
    return {
        "areas": areas,
        "stations": _num(summ.get("stations")),
        "cameras": _num(summ.get("cameras")),
        "trap_nights": _trap_nights(prods),
        "period": (
            (i18n.format_date(first), i18n.format_date(summ.get("last_retrieval")))
            if first
            else None
        ),
        "identified": _num(summ.get("individuals")),
        "individuals": individuals,
        "density": density["lines"] if density else [],
        "both": None if both is None else _num(both),
        "straddling": None if n_strad is None else _num(n_strad),
        "hotspots": (
            []
            if hs is None
            else [
                (_num(r.get("rank", i + 1)), str(r["location"]), _num(r.get("score")))
                for i, (_, r) in enumerate(hs.iterrows())
            ]
        ),
        "reserve": _reserve_context(prods.reserve, public=False),
        "plan": _plan_next(prods),
    }


def _figures(
    survey: Survey, prods: RunProducts, *, public: bool, cell: float, draw: bool
) -> dict[str, Figure | None]:
    """The embedded figures by section (drawn here when the run has none)."""
    figs = prods.figure_png or {}
    if not figs and draw:
        try:
            from .figures import render_figures

            figs = render_figures(
                survey, products=prods, public=public, lang=i18n.current()
            )
        except Exception as err:  # figures are a nicety; never lose the report
            logger.warning("Figures could not be drawn for the report: %s", err)
            figs = {}
    effort = (
        _tr(TEXT["caption_effort_public"]).format(
            cell_km=i18n.localize_number(f"{cell / 1000:g}")
        )
        if public
        else _tr(TEXT["caption_effort"])
    )
    captions = {
        "effort": effort,
        **{
            k: _tr(TEXT[f"caption_{k}"])
            for k in (
                "pdot",
                "homeranges",
                "corridors",
                "plan",
                "density_surface",
                "sessions",
            )
        },
    }
    from ._fonts import figure_language

    if figure_language(i18n.current()).lang != i18n.current():
        note = _tr(
            "Figure labels are in English: no installed font has the characters "
            "of this language."
        )
        captions = {k: f"{c} {note}" for k, c in captions.items()}
    return {k: _figure(figs.get(k), c) for k, c in captions.items()}


_ASSUMPTIONS = (
    "Leopards are identified without error from their rosette patterns; "
    "unidentified photos count towards effort and detections but not towards "
    "individuals.",
    "The population is closed during the survey (no births, deaths or permanent "
    "emigration).",
    "Activity centres are distributed as a Poisson process over the habitat mask; "
    "detection declines with distance as a hazard half-normal function.",
    "Paired cameras at one station form one detector; effort is pooled per station.",
    "Resistance values for corridors are expert-based assumptions, not fitted to "
    "movement data.",
    "Numbers are given for the countries holding at least one station; the model's "
    "extrapolations to other countries are in the CSV outputs only. A country's "
    f"part smaller than {MIN_ZONE_AREA_KM2:g} km² is a sliver of the boundary "
    "layers and is left out of the tables.",
)


@i18n.in_language
def report_context(
    survey: Survey,
    products: RunProducts | None = None,
    *,
    records: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    public: bool = False,
    public_cell: float = 5000.0,
    title: str | None = None,
    simulated: bool | None = None,
    top_hotspots: int = 10,
    figures: bool = True,
    lang: i18n.Lang = "en",
) -> dict[str, Any]:
    """What the report shows, ready for the template (see :func:`write_report`).

    Texts, numbers and dates are in ``lang`` (see :func:`write_report`).

    Returns
    -------
    dict
        Template variables: formatted numbers, :class:`Table` and
        :class:`Figure` objects, lists of notes and references.
    """
    prods = products if products is not None else RunProducts()
    if public and (prods.stations is not None or prods.ranges is not None):
        from ..errors import InputError

        raise InputError(
            "public report given exact stations or home ranges; pass generalised products."
        )
    summ = prods.summary or survey.summary()
    if simulated is None:
        simulated = any(
            w in str(survey.name).lower() for w in ("simulat", "example", "demo")
        )
    shown = _shown_zones(survey, prods)
    density = _density_context(prods.density_estimates, prods.region_n, shown=shown)
    heading = (
        _tr(title)
        if title
        else _tr(TEXT["heading"]).format(name=_tr(str(summ.get("name", survey.name))))
    )
    public_note = None
    if public:
        from ..privacy import PUBLIC_NOTE

        public_note = _tr(PUBLIC_NOTE).format(cell_km=public_cell / 1000.0)
    caveats = [_tr(TEXT["approximate_parks"])]
    if simulated:
        caveats.insert(0, _tr(TEXT["simulated"]))
    steps = None
    if records:
        rows = [(s, _get(r, "status"), _get(r, "message")) for s, r in records.items()]
        steps = _table(pd.DataFrame(rows, columns=["step", "status", "message"]))
    zones = (
        sorted(map(str, survey.zones[V.NAME].unique()))
        if survey.zones is not None
        else []
    )
    return {
        "lang": i18n.current(),
        "html_lang": i18n.html_lang(),
        "heading": heading,
        "public": public,
        "public_note": public_note,
        "public_cell_km": f"{public_cell / 1000:g}",
        "caveats": caveats,
        "summary": _summary(summ, prods, shown, density),
        "effort": _effort_context(summ, prods.effort, shown),
        "coverage_stats": _maybe_table(_zone_rows(prods.coverage_stats, shown)),
        "pdot_summary": _maybe_table(_zone_rows(prods.pdot_summary, shown)),
        "density": density,
        "sessions": _sessions_context(prods.sessions),
        "surfaces": _maybe_table(_surface_table(prods.density_surfaces)),
        "population": _population_table(prods.population),
        "straddling": _straddling_context(prods, shown),
        "hotspots": _hotspots_context(prods.border_hotspots, top_hotspots),
        "reserve": _reserve_context(prods.reserve, public=public),
        "plan_summary": _plan_table(prods.plan_summary, shown),
        "n_proposed": len(prods.proposed) if prods.proposed is not None else 0,
        "design_evaluation": _design_table(prods.design_evaluation),
        "figures": _figures(
            survey, prods, public=public, cell=public_cell, draw=figures
        ),
        "assumptions": [*map(_tr, _ASSUMPTIONS), *map(str, notes)],
        "steps": steps,
        "references": [v for _k, v in sorted(REFERENCES.items())],
        "zones": [_tr(z) for z in zones],
        "shown_zones": [
            _tr(z) for z in (sorted(shown) if shown is not None else zones)
        ],
    }


# --------------------------------------------------------------- rendering
def _environment(lang: str = "en") -> Any:
    try:
        import jinja2
    except ImportError as err:  # pragma: no cover - jinja2 comes with folium
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            'The report needs jinja2: pip install "trapscape[maps]".'
        ) from err
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trapscape.present", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(lang), newstyle=True
    )
    return env


def render_report(context: Mapping[str, Any]) -> str:
    """The report's HTML from a :func:`report_context` (in its ``lang``)."""
    lang = i18n.check_lang(context.get("lang", "en"))
    ctx = {"html_lang": i18n.html_lang(lang), **context}
    return str(_environment(lang).get_template("report.html.j2").render(**ctx))


def write_report(
    survey: Survey,
    path: str | os.PathLike[str],
    products: RunProducts | None = None,
    *,
    records: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    public: bool = False,
    public_cell: float = 5000.0,
    title: str | None = None,
    simulated: bool | None = None,
    top_hotspots: int = 10,
    figures: bool = True,
    lang: i18n.Lang = "en",
) -> Path:
    """Write the transboundary brief as one self-contained HTML file.

    Parameters
    ----------
    survey
        The survey (generalised in public mode).
    path
        Target HTML file (written atomically).
    products
        The run's results (:class:`~trapscape.products.RunProducts`); the
        report uses ``summary``, ``effort``, ``trap_nights``,
        ``coverage_stats``, ``pdot_summary``, ``density_estimates``,
        ``region_n``, ``population``, ``cross_border_population``,
        ``straddling`` (and ``straddling_areas``), ``border_hotspots``,
        ``reserve``, ``plan_summary``, ``proposed``, ``density_surfaces``
        (the surfaces' AIC table), ``sessions`` (multi-session models: D per
        session, AIC table, trend) and ``figure_png``.
    records
        Per-step records of the run (status, time, message).
    notes
        Warnings and fallbacks to list under assumptions.
    public
        Public version: banner, and per-individual tables refused.
    public_cell
        Generalisation cell size in metres (for the banner).
    title
        Report title (default from the survey name).
    simulated
        State that the survey is simulated (the bundled example).  Default:
        guessed from the survey name.
    top_hotspots
        How many border hotspots to list.
    figures
        Embed the static figures (PNG).  ``False`` gives a text-only report
        (and, in a pipeline run, skips the figures step).
    lang
        Language of the report: ``"en"``, ``"ru"`` (Russian) or ``"zh"``
        (Simplified Chinese), from the catalogs of
        :mod:`trapscape.present.i18n`; numbers and dates in that locale,
        and the page's ``<html lang>``.

    Returns
    -------
    pathlib.Path
        The report file.

    Raises
    ------
    InputError
        In public mode, if exact stations or home ranges are passed.

    References
    ----------
    See :data:`REFERENCES`; every method section cites its sources.
    """
    context = report_context(
        survey,
        products,
        records=records,
        notes=notes,
        public=public,
        public_cell=public_cell,
        title=title,
        simulated=simulated,
        top_hotspots=top_hotspots,
        figures=figures,
        lang=lang,
    )
    doc = render_report(context)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    logger.info("Wrote report %s", path)
    return path
