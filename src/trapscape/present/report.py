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
figures) from a :class:`~trapscape.products.RunProducts`.

:func:`trapscape.reserve.candidate_reserve` builds the reserve outline; this
module only renders what the analyses computed.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import validation as V
from ..products import RunProducts
from ..reserve import holds_whole_population, zones_with_stations

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "REFERENCES",
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


@dataclass(frozen=True)
class Figure:
    """An embedded PNG figure with its caption."""

    src: str
    caption: str


_NAMES = {
    "parameter": "parameter",
    "estimate": "estimate",
    "se": "SE",
    "rse": "RSE",
    "lcl": "95% CI lower",
    "ucl": "95% CI upper",
    "area_km2": "area, km²",
}
_QUANTITIES = {
    "E.N": "expected N",
    "R.N": "realised N",
    "R.N.local": "realised N (local)",
}


def _num(v: Any, digits: int = 3) -> str:
    """Numbers for people: ``digits`` significant digits, thousands separated."""
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
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


def _table(obj: Any, *, max_rows: int = 40) -> Table:
    """A data frame (or a mapping/series of scalars) as a :class:`Table`.

    Nothing to show gives an empty table (the template says "No data.").
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
    return Table(
        head=[str(c).replace("_", " ") for c in df.columns],
        rows=[[_num(v) for v in r] for r in df.itertuples(index=False)],
        more=max(more, 0),
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


# ---------------------------------------------------------------- density
def _split_unsurveyed(
    est: pd.DataFrame, zones_with_effort: set[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(estimates, zone densities ``D[<zone>]`` of zones without any station)."""
    if "parameter" not in est.columns or zones_with_effort is None:
        return est, est.iloc[0:0]
    zone_of = est["parameter"].astype(str).str.extract(r"^D\[(.+)\]$")[0]
    off = zone_of.notna() & ~zone_of.isin(sorted(zones_with_effort))
    return est[~off], est[off]


def _density_headline(est: pd.DataFrame) -> list[str]:
    """Lines 'D (lcl–ucl)', one per zone for zone models (``D[<zone>]``)."""
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
        lines.append(txt if label == "D" else f"{label[2:-1]}: {txt}")
    return lines


def _region_rows(
    region_n: pd.DataFrame, zones_with_effort: set[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Abundance rows to show, and those of zones without stations.

    secr's realised N (``R.N``) counts every detected animal in any region,
    so it is kept only for a region holding the whole population; the other
    regions show the local realised N.
    """
    rn = pd.DataFrame(region_n).copy()
    if "region" not in rn.columns or "quantity" not in rn.columns:
        return rn, None
    whole = holds_whole_population(rn)
    q = rn["quantity"].astype(str)
    keep = (q == "E.N") | ((q == "R.N") & whole) | ((q == "R.N.local") & ~whole)
    rn = rn[keep].copy()
    rn["quantity"] = rn["quantity"].map(_QUANTITIES).fillna(rn["quantity"])
    if zones_with_effort is None:
        return rn, None
    zone = rn["region"].astype(str).str.extract(r"^zone: (.+)$")[0]
    off = zone.notna() & ~zone.isin(sorted(zones_with_effort))
    return rn[~off], rn[off]


def _density_context(
    est: pd.DataFrame | None,
    region_n: pd.DataFrame | None,
    *,
    zones_with_effort: set[str] | None = None,
) -> dict[str, Any] | None:
    """What the density section shows (``None``: density was not estimated).

    Zone densities (``D[<zone>]``) and zone abundances of zones without any
    station are extrapolations; they are kept out of the headline and the
    main tables and listed in a footnote instead.
    """
    if est is None or len(est) == 0:
        return None
    est, unsurveyed_est = _split_unsurveyed(pd.DataFrame(est), zones_with_effort)
    pcols = [
        c
        for c in ("parameter", "estimate", "se", "rse", "lcl", "ucl")
        if c in est.columns
    ]
    regions = None
    unsurveyed_rn: pd.DataFrame | None = None
    if region_n is not None and len(region_n):
        rn, unsurveyed_rn = _region_rows(region_n, zones_with_effort)
        cols = [
            c
            for c in ("region", "area_km2", "quantity", "estimate", "se", "lcl", "ucl")
            if c in rn.columns
        ]
        regions = _table(rn[cols].rename(columns=_NAMES))
    zones = set(unsurveyed_est["parameter"].astype(str).str.slice(2, -1))
    if unsurveyed_rn is not None and len(unsurveyed_rn):
        zones |= set(unsurveyed_rn["region"].astype(str).str.slice(6))
        rcols = [
            c
            for c in ("region", "area_km2", "quantity", "estimate", "lcl", "ucl")
            if c in unsurveyed_rn.columns
        ]
        unsurveyed_rn = unsurveyed_rn[rcols]
    unsurveyed_params = None
    if len(unsurveyed_est):
        unsurveyed_params = _table(unsurveyed_est[pcols].rename(columns=_NAMES))
    unsurveyed_regions = None
    if unsurveyed_rn is not None and len(unsurveyed_rn):
        unsurveyed_regions = _table(unsurveyed_rn.rename(columns=_NAMES))
    return {
        "headline": _density_headline(est),
        "parameters": _table(est[pcols].rename(columns=_NAMES)),
        "regions": regions,
        "unsurveyed_zones": sorted(zones),
        "unsurveyed_parameters": unsurveyed_params,
        "unsurveyed_regions": unsurveyed_regions,
    }


# ---------------------------------------------------------------- context
def _kpis(
    summ: Mapping[str, Any], prods: RunProducts, headline: list[str]
) -> list[tuple[str, list[str]]]:
    """The 'At a glance' boxes: (label, lines of the value)."""
    k = [
        ("stations", [_num(summ.get("stations"))]),
        ("cameras", [_num(summ.get("cameras"))]),
        ("photos / records", [_num(summ.get("sightings"))]),
        ("individuals identified", [_num(summ.get("individuals"))]),
    ]
    if prods.trap_nights is not None:
        k.insert(2, ("trap-nights", [_num(float(prods.trap_nights), 4)]))
    if headline:
        k.append(("leopards per 100 km² (95% CI)", headline))
    pop = prods.population
    if isinstance(pop, pd.DataFrame) and len(pop):
        both = pop[pop["detected in"].str.startswith("both")]["individuals"].sum()
        k.append(("individuals detected in both countries", [_num(int(both))]))
    strad = prods.straddling
    if strad is not None:
        n = int(strad) if isinstance(strad, (int, np.integer)) else len(strad)
        k.append(("home ranges straddling the border", [_num(n)]))
    res = prods.reserve
    if res is not None and len(res) and "area_km2" in res.columns:
        area = _num(float(res["area_km2"].sum()), 4)
        k.append(("candidate reserve, km²", [area]))
    return k


def _effort_context(summ: Mapping[str, Any], effort: Any) -> dict[str, Any]:
    first = summ.get("first_setup")
    return {
        "stations": _num(summ.get("stations")),
        "cameras": _num(summ.get("cameras")),
        "deployments": _num(summ.get("deployments")),
        "malfunctions": _num(summ.get("malfunctions")),
        "period": (
            (str(first)[:10], str(summ.get("last_retrieval"))[:10]) if first else None
        ),
        "per_zone": _maybe_table(_get(effort, "per_zone")),
    }


def _straddling_context(prods: RunProducts) -> dict[str, Any] | None:
    strad = prods.straddling
    if strad is None:
        return None
    if isinstance(strad, (int, np.integer)):
        return {
            "count": _num(int(strad)),
            "table": _maybe_table(prods.straddling_areas),
        }
    cols = [
        c
        for c in strad.columns
        if c in (V.INDIVIDUAL_ID, V.SEX, "area_km2")
        or c.startswith(("area_km2_", "share_"))
    ]
    return {"count": None, "table": _table(pd.DataFrame(strad[cols]))}


def _hotspots_context(hs: Any, top: int) -> dict[str, Any] | None:
    if hs is None or not len(hs):
        return None
    score = next((c for c in ("rank", "score", "current") if c in hs.columns), None)
    h = hs.sort_values(score, ascending=score == "rank") if score else hs
    return {
        "n": min(top, len(h)),
        "table": _table(pd.DataFrame(h.drop(columns="geometry")).head(top)),
    }


def _reserve_context(res: Any) -> dict[str, Any] | None:
    if res is None or not len(res):
        return None
    cols = [c for c in res.columns if c.startswith("area_km2")]
    area = pd.DataFrame(
        {
            "part": [
                "total" if c == "area_km2" else c.removeprefix("area_km2_")
                for c in cols
            ],
            "area_km2": [float(res[c].sum()) for c in cols],
        }
    )
    comps = res["components"].iloc[0] if "components" in res.columns else None
    return {"areas": _table(area), "components": comps}


def _figures(
    survey: Survey, prods: RunProducts, *, public: bool, cell: float, draw: bool
) -> dict[str, Figure | None]:
    """The embedded figures by section (drawn here when the run has none)."""
    figs = prods.figure_png or {}
    if not figs and draw:
        try:
            from .figures import render_figures

            figs = render_figures(survey, products=prods, public=public)
        except Exception as err:  # figures are a nicety; never lose the report
            logger.warning("Figures could not be drawn for the report: %s", err)
            figs = {}
    effort = (
        f"Camera effort per {cell / 1000:g} km cell (public version)."
        if public
        else "Camera stations (size: trap-nights; colour: detections) "
        "over the coverage grid."
    )
    captions = {
        "effort": effort,
        "pdot": "Detection probability surface (pdot).",
        "homeranges": "Home ranges by individual.",
        "corridors": "Current density, corridors and top border hotspots (numbered).",
        "plan": "Proposed stations over the current detection probability.",
    }
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
)

_SIMULATED = (
    "The survey data are simulated (the bundled Land of the Leopard example: real "
    "geography, simulated cameras and leopards with known truth). Do not cite the "
    "numbers as field results."
)


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
) -> dict[str, Any]:
    """What the report shows, ready for the template (see :func:`write_report`).

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
    density = _density_context(
        prods.density_estimates,
        prods.region_n,
        zones_with_effort=zones_with_stations(survey),
    )
    heading = (
        title
        or f"{summ.get('name', survey.name)}: camera-trap survey brief for a transboundary reserve"
    )
    public_note = None
    if public:
        from ..privacy import PUBLIC_NOTE

        public_note = PUBLIC_NOTE.format(cell_km=public_cell / 1000.0)
    caveats = [
        "Park boundaries are approximate (digitised for this toolkit, not an official boundary)."
    ]
    if simulated:
        caveats.insert(0, _SIMULATED)
    steps = None
    if records:
        rows = [(s, _get(r, "status"), _get(r, "message")) for s, r in records.items()]
        steps = _table(pd.DataFrame(rows, columns=["step", "status", "message"]))
    zones = (
        sorted(map(str, survey.zones[V.NAME].unique()))
        if survey.zones is not None
        else []
    )
    pop = prods.population
    return {
        "heading": heading,
        "public": public,
        "public_note": public_note,
        "public_cell_km": f"{public_cell / 1000:g}",
        "caveats": caveats,
        "kpis": _kpis(summ, prods, density["headline"] if density else []),
        "effort": _effort_context(summ, prods.effort),
        "coverage_stats": _maybe_table(prods.coverage_stats),
        "pdot_summary": _maybe_table(prods.pdot_summary),
        "density": density,
        "population": (
            _table(pop) if isinstance(pop, pd.DataFrame) and len(pop) else None
        ),
        "cross_border_population": _maybe_table(prods.cross_border_population),
        "straddling": _straddling_context(prods),
        "hotspots": _hotspots_context(prods.border_hotspots, top_hotspots),
        "reserve": _reserve_context(prods.reserve),
        "plan_summary": _maybe_table(prods.plan_summary),
        "n_proposed": len(prods.proposed) if prods.proposed is not None else 0,
        "figures": _figures(
            survey, prods, public=public, cell=public_cell, draw=figures
        ),
        "assumptions": [*_ASSUMPTIONS, *map(str, notes)],
        "steps": steps,
        "references": [v for _k, v in sorted(REFERENCES.items())],
        "zones": zones,
    }


# --------------------------------------------------------------- rendering
def _environment() -> Any:
    try:
        import jinja2
    except ImportError as err:  # pragma: no cover - jinja2 comes with folium
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            'The report needs jinja2: pip install "trapscape[maps]".'
        ) from err
    return jinja2.Environment(
        loader=jinja2.PackageLoader("trapscape.present", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_report(context: Mapping[str, Any]) -> str:
    """The report's HTML from a :func:`report_context`."""
    return str(_environment().get_template("report.html.j2").render(**context))


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
        ``reserve``, ``plan_summary``, ``proposed`` and ``figure_png``.
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
    )
    doc = render_report(context)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    logger.info("Wrote report %s", path)
    return path
