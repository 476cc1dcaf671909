"""The transboundary brief: one self-contained, printable HTML report.

:func:`write_report` turns the results of a run into ``report.html``: survey
effort, coverage by country, density and abundance with confidence
intervals, individuals detected in one or both countries, home ranges that
straddle the border, corridors and ranked border-crossing hotspots, a
candidate reserve outline with its area in each country, proposed stations,
and the methods, assumptions and references behind them.  Figures are
embedded as PNG, so the file can be mailed or printed to PDF as it is.

:func:`trapscape.reserve.candidate_reserve` builds the reserve outline; this
module only renders what the analyses computed.
"""

from __future__ import annotations

import base64
import html
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import validation as V
from ..reserve import holds_whole_population, zones_with_stations

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "REFERENCES",
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

_CSS = """
body{font:14px/1.5 "DejaVu Sans",Arial,sans-serif;color:#222;max-width:960px;margin:0 auto;padding:16px 24px}
h1{font-size:24px;margin:8px 0}h2{font-size:18px;border-bottom:2px solid #1b7837;padding-bottom:2px;margin-top:28px}
h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:12px}
th,td{border:1px solid #bbb;padding:3px 7px;text-align:right}th{background:#eef3ee}
td:first-child,th:first-child{text-align:left}
.note{background:#fff8e1;border-left:4px solid #f0a500;padding:6px 10px;margin:10px 0}
.public{background:#fdecea;border-left:4px solid #b2182b;padding:6px 10px;margin:10px 0;font-weight:bold}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.kpi{border:1px solid #cbd5c0;border-radius:6px;padding:6px 12px;min-width:150px;background:#f7faf5}
.kpi b{display:block;font-size:20px}
figure{margin:10px 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:12px;color:#555}
.muted{color:#666;font-size:12px}
@media print{body{max-width:none;padding:0;font-size:11pt}h2{page-break-after:avoid}
 figure,table,.kpis{page-break-inside:avoid}a{color:inherit;text-decoration:none}
 @page{size:A4;margin:16mm 14mm}}
"""


# ------------------------------------------------------------------ rendering
def _e(v: Any) -> str:
    return html.escape(str(v))


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
    return _e(v)


def _table(df: pd.DataFrame | None, *, max_rows: int = 40) -> str:
    if df is None or len(df) == 0:
        return '<p class="muted">No data.</p>'
    df = pd.DataFrame(df)
    if "geometry" in df.columns:
        df = df.drop(columns="geometry")
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    more = len(df) - max_rows
    df = df.head(max_rows)
    head = "".join(f"<th>{_e(str(c).replace('_', ' '))}</th>" for c in df.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_num(v)}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    tail = (
        f'<p class="muted">… {more} more rows in the CSV outputs.</p>'
        if more > 0
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{tail}"


def _figure_html(png: bytes | None, caption: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode()
    return f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}"><figcaption>{_e(caption)}</figcaption></figure>'


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


def _kpis(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{v}</b>{_e(k)}</div>' for k, v in items)
        + "</div>"
    )


def _density_html(
    est: pd.DataFrame | None,
    region_n: pd.DataFrame | None,
    *,
    zones_with_effort: set[str] | None = None,
) -> tuple[str, str | None]:
    """(HTML section body, headline 'D (lcl–ucl)').

    Zone densities (``D[<zone>]``) and zone abundances of zones without any
    station are extrapolations; they are kept out of the headline and the
    main tables and listed in a footnote table instead.
    """
    if est is None or len(est) == 0:
        return '<p class="muted">Density was not estimated in this run.</p>', None
    est = pd.DataFrame(est)
    headline = None
    unsurveyed_est = est.iloc[0:0]
    if "parameter" in est.columns and zones_with_effort is not None:
        pn = est["parameter"].astype(str)
        zone_of = pn.str.extract(r"^D\[(.+)\]$")[0]
        off = zone_of.notna() & ~zone_of.isin(sorted(zones_with_effort))
        unsurveyed_est, est = est[off], est[~off]
    if "parameter" in est.columns:
        names_ = est["parameter"].astype(str)
        d = est[names_ == "D"]
        if len(d) == 0:  # zone models: one density per zone, D[<zone>]
            d = est[names_.str.match(r"^D\[.+\]$")]
        parts = []
        for _, r in d.iterrows():
            txt = _num(float(r["estimate"]))
            if "lcl" in est.columns and "ucl" in est.columns:
                txt += f" ({_num(float(r['lcl']))}–{_num(float(r['ucl']))})"
            label = str(r["parameter"])
            if label != "D":
                txt = f"{_e(label[2:-1])}: {txt}"
            parts.append(txt)
        if parts:
            headline = "<br>".join(parts)
    pcols = [
        c for c in ("parameter", "estimate", "se", "lcl", "ucl") if c in est.columns
    ]
    names = {
        "parameter": "parameter",
        "estimate": "estimate",
        "se": "SE",
        "lcl": "95% CI lower",
        "ucl": "95% CI upper",
        "area_km2": "area, km²",
    }
    body = (
        '<h3>Parameters</h3><p class="muted">D in animals per 100 km²; sigma in metres; '
        "lambda0 per day of station usage.</p>"
        + _table(est[pcols].rename(columns=names))
    )
    unsurveyed_rn = None
    if region_n is not None and len(region_n):
        rn = pd.DataFrame(region_n).copy()
        if "region" in rn.columns and "quantity" in rn.columns:
            whole = holds_whole_population(rn)
            q = rn["quantity"].astype(str)
            # secr's R.N counts every detected animal in any region: only
            # meaningful for a region holding the whole survey.
            keep = (q == "E.N") | ((q == "R.N") & whole) | ((q == "R.N.local") & ~whole)
            rn = rn[keep].copy()
            rn["quantity"] = (
                rn["quantity"]
                .map(
                    {
                        "E.N": "expected N",
                        "R.N": "realised N",
                        "R.N.local": "realised N (local)",
                    }
                )
                .fillna(rn["quantity"])
            )
            if zones_with_effort is not None:
                zone = rn["region"].astype(str).str.extract(r"^zone: (.+)$")[0]
                off = zone.notna() & ~zone.isin(sorted(zones_with_effort))
                unsurveyed_rn, rn = rn[off], rn[~off]
        cols = [
            c
            for c in ("region", "area_km2", "quantity", "estimate", "se", "lcl", "ucl")
            if c in rn.columns
        ]
        body += (
            '<h3>Number of leopards by region</h3><p class="muted">Expected N is the '
            "model's mean number of activity centres in the region. Realised N (as "
            "secr reports it) is every detected animal plus the expected undetected "
            "ones, so it is shown only for a region holding all detected animals; for "
            "a part of the population (the study area when animals also live around "
            "it, a park, a country) realised N (local) instead counts each detected "
            "animal by the probability that its activity centre lies in that region."
            "</p>" + _table(rn[cols].rename(columns=names))
        )
    if len(unsurveyed_est) or (unsurveyed_rn is not None and len(unsurveyed_rn)):
        zs = sorted(
            set(
                unsurveyed_est["parameter"].astype(str).str.slice(2, -1).tolist()
                if len(unsurveyed_est)
                else []
            )
            | set(
                unsurveyed_rn["region"].astype(str).str.slice(6).tolist()
                if unsurveyed_rn is not None
                else []
            )
        )
        body += (
            '<h3 class="muted">Zones without stations</h3><p class="muted">No camera '
            f"stood in {_e(', '.join(zs))}: the model's numbers there are "
            "extrapolations with little or no data behind them, not estimates of "
            "the leopards living there; they are listed here for completeness and "
            "left out of the summary above.</p>"
        )
        if len(unsurveyed_est):
            body += _table(unsurveyed_est[pcols].rename(columns=names))
        if unsurveyed_rn is not None and len(unsurveyed_rn):
            rcols = [
                c
                for c in ("region", "area_km2", "quantity", "estimate", "lcl", "ucl")
                if c in unsurveyed_rn.columns
            ]
            body += _table(unsurveyed_rn[rcols].rename(columns=names))
    return body, headline


def write_report(
    survey: Survey,
    path: str | os.PathLike[str],
    *,
    products: Mapping[str, Any] | None = None,
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
        Results keyed as in :func:`trapscape.maps.survey_map`, plus
        ``summary``, ``effort``, ``coverage_stats``, ``pdot_summary``,
        ``density``, ``population``, ``straddling``, ``plan_summary`` and
        ``figure_png`` (name -> PNG bytes).
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

    References
    ----------
    See :data:`REFERENCES`; every method section cites its sources.
    """
    prods = dict(products or {})
    if public and any(prods.get(k) is not None for k in ("stations", "ranges")):
        from ..errors import InputError

        raise InputError(
            "public report given exact stations or home ranges; pass generalised products."
        )
    summ = prods.get("summary") or survey.summary()
    if simulated is None:
        simulated = any(
            w in str(survey.name).lower() for w in ("simulat", "example", "demo")
        )
    figs = prods.get("figure_png") or {}
    if not figs and figures:
        try:
            from .figures import render_figures

            figs = render_figures(survey, products=prods, public=public)
        except Exception as err:  # figures are a nicety; never lose the report
            logger.warning("Figures could not be drawn for the report: %s", err)
            figs = {}
    zones = (
        sorted(map(str, survey.zones[V.NAME].unique()))
        if survey.zones is not None
        else []
    )
    parts: list[str] = []
    heading = (
        title
        or f"{summ.get('name', survey.name)}: camera-trap survey brief for a transboundary reserve"
    )
    parts.append(f"<h1>{_e(heading)}</h1>")
    if public:
        from ..privacy import PUBLIC_NOTE

        parts.append(
            f'<div class="public">{_e(PUBLIC_NOTE.format(cell_km=public_cell / 1000.0))}</div>'
        )
    caveats = [
        "Park boundaries are approximate (digitised for this toolkit, not an official boundary)."
    ]
    if simulated:
        caveats.insert(
            0,
            "The survey data are simulated (the bundled Land of the Leopard example: real "
            "geography, simulated cameras and leopards with known truth). Do not cite the "
            "numbers as field results.",
        )
    parts.append("".join(f'<div class="note">{_e(c)}</div>' for c in caveats))

    # ----- at a glance
    pop = prods.get("population")
    dens_html, d_head = _density_html(
        prods.get("density_estimates"),
        prods.get("region_n"),
        zones_with_effort=zones_with_stations(survey),
    )
    strad = prods.get("straddling")
    hs = prods.get("border_hotspots")
    res = prods.get("reserve")
    k = [
        ("stations", _num(summ.get("stations"))),
        ("cameras", _num(summ.get("cameras"))),
        ("photos / records", _num(summ.get("sightings"))),
        ("individuals identified", _num(summ.get("individuals"))),
    ]
    if prods.get("trap_nights") is not None:
        k.insert(2, ("trap-nights", _num(float(prods["trap_nights"]), 4)))
    if d_head:
        k.append(("leopards per 100 km² (95% CI)", d_head))
    if isinstance(pop, pd.DataFrame) and len(pop):
        both = pop[pop["detected in"].str.startswith("both")]["individuals"].sum()
        k.append(("individuals detected in both countries", _num(int(both))))
    if strad is not None:
        k.append(
            (
                "home ranges straddling the border",
                _num(
                    int(strad) if isinstance(strad, (int, np.integer)) else len(strad)
                ),
            )
        )
    if res is not None and len(res) and "area_km2" in res.columns:
        k.append(("candidate reserve, km²", _num(float(res["area_km2"].sum()), 4)))
    parts.append("<h2>At a glance</h2>" + _kpis(k))

    # ----- effort
    eff = prods.get("effort")
    sec = [
        "<h2>1. Survey effort</h2>",
        f"<p>{_num(summ.get('stations'))} stations with {_num(summ.get('cameras'))} cameras "
        f"({_num(summ.get('deployments'))} deployments) were operated"
        + (
            f" between {_e(str(summ.get('first_setup'))[:10])} and {_e(str(summ.get('last_retrieval'))[:10])}"
            if summ.get("first_setup")
            else ""
        )
        + f"; {_num(summ.get('malfunctions'))} malfunction intervals were removed from effort. "
        "Trap-nights follow camtrapR's convention: setup and retrieval days count fractionally and "
        "periods when no camera of a station worked are excluded (Niedballa et al. 2016).</p>",
    ]
    per_zone = _get(eff, "per_zone") if eff is not None else None
    if per_zone is not None:
        sec.append("<h3>Effort by country</h3>" + _table(_as_frame(per_zone)))
    sec.append(
        _figure_html(
            figs.get("effort"),
            "Camera stations (size: trap-nights; colour: detections) "
            "over the coverage grid."
            if not public
            else f"Camera effort per {public_cell / 1000:g} km cell (public version).",
        )
    )
    parts.append("".join(sec))

    # ----- coverage
    sec = ["<h2>2. Coverage by country</h2>"]
    cs = prods.get("coverage_stats")
    if cs is not None:
        sec.append("<h3>Coverage grid</h3>" + _table(_as_frame(cs)))
    ps = prods.get("pdot_summary")
    if ps is not None:
        sec.append(
            "<h3>Detection probability</h3><p>pdot is the probability that a leopard whose "
            "activity centre lies in a cell is photographed at least once during the survey, "
            "given every station's daily effort and the fitted hazard half-normal detection "
            "function (Efford 2004; Borchers &amp; Efford 2008).</p>"
            + _table(_as_frame(ps))
        )
    if cs is None and ps is None:
        sec.append('<p class="muted">Coverage was not computed in this run.</p>')
    sec.append(_figure_html(figs.get("pdot"), "Detection probability surface (pdot)."))
    parts.append("".join(sec))

    # ----- density
    sec = [
        "<h2>3. Density and abundance</h2>",
        "<p>Density D (animals per 100 km²) and abundance N were estimated by maximum-likelihood "
        "spatial capture-recapture with stations as proximity detectors and station usage from "
        "the operation matrix (Borchers &amp; Efford 2008; Royle et al. 2014). Intervals are "
        "log-normal 95% confidence intervals.</p>",
        dens_html,
    ]
    parts.append("".join(sec))

    # ----- individuals by country
    sec = ["<h2>4. Individuals in Russia, China and both</h2>"]
    if isinstance(pop, pd.DataFrame) and len(pop):
        sec.append(
            "<p>Individuals by the countries of the stations where they were photographed. "
            "Animals photographed on both sides are the direct evidence of a shared population.</p>"
            + _table(pop)
        )
    else:
        sec.append('<p class="muted">No identified individuals.</p>')
    cbp = prods.get("cross_border_population")
    if cbp is not None:
        sec.append(
            "<h3>Cross-border status from home ranges</h3>" + _table(_as_frame(cbp))
        )
    parts.append("".join(sec))

    # ----- home ranges
    sec = [
        "<h2>5. Home ranges straddling the border</h2>",
        "<p>Kernel home ranges (bivariate normal kernel, Worton 1989; computed as in adehabitatHR, "
        "Calenge 2006) at the 95% isopleth. A range straddles the border when at least 1% of its "
        "area lies in a second country. Overlap between individuals uses the indices of Fieberg "
        "&amp; Kochanny (2005).</p>",
    ]
    if strad is None:
        sec.append('<p class="muted">Home ranges were not computed in this run.</p>')
    elif isinstance(strad, (int, np.integer)):
        sec.append(
            f"<p>{_num(int(strad))} individual home ranges straddle the border "
            "(identities withheld in the public version).</p>"
        )
        sa = prods.get("straddling_areas")
        if sa is not None:
            sec.append(_table(_as_frame(sa)))
    else:
        cols = [
            c
            for c in strad.columns
            if c in (V.INDIVIDUAL_ID, V.SEX, "area_km2")
            or c.startswith(("area_km2_", "share_"))
        ]
        sec.append(_table(pd.DataFrame(strad[cols])))
    sec.append(_figure_html(figs.get("homeranges"), "Home ranges by individual."))
    parts.append("".join(sec))

    # ----- corridors
    sec = [
        "<h2>6. Corridors and border-crossing hotspots</h2>",
        "<p>Least-cost corridors between the core areas on both sides of the border follow "
        "Adriaensen et al. (2003); cumulative current from circuit theory (McRae et al. 2008) shows "
        "where movement concentrates. The border is split into segments, ranked by the current "
        "and the corridors crossing them.</p>",
    ]
    if hs is not None and len(hs):
        score = next((c for c in ("rank", "score", "current") if c in hs.columns), None)
        h = hs.sort_values(score, ascending=score == "rank") if score else hs
        sec.append(
            f"<h3>Top {min(top_hotspots, len(h))} border segments</h3>"
            + _table(pd.DataFrame(h.drop(columns="geometry")).head(top_hotspots))
        )
    else:
        sec.append('<p class="muted">Corridors were not computed in this run.</p>')
    sec.append(
        _figure_html(
            figs.get("corridors"),
            "Current density, corridors and top border hotspots (numbered).",
        )
    )
    parts.append("".join(sec))

    # ----- reserve
    sec = [
        "<h2>7. Candidate transboundary reserve</h2>",
        "<p>The candidate outline is the union of the existing parks, the 95% home ranges of "
        "individuals that straddle the border, and the corridors between them, kept on land. It "
        "is a starting point for discussion, not a boundary proposal.</p>",
    ]
    if res is not None and len(res):
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
        sec.append(_table(area))
        if "components" in res.columns:
            sec.append(
                f'<p class="muted">Built from: {_e(res["components"].iloc[0])}.</p>'
            )
    else:
        sec.append(
            '<p class="muted">No reserve outline could be built in this run.</p>'
        )
    parts.append("".join(sec))

    # ----- plan
    sec = [
        "<h2>8. Proposed new stations</h2>",
        "<p>New camera sites chosen greedily (with local swaps) to close coverage gaps, improve the "
        "precision of the density estimate — maximising min(E[n], E[r]) with RSE ≈ "
        "1/√min(E[n], E[r]) (Efford &amp; Boulanger 2019; Durbach et al. 2021) — and watch the "
        "highest-ranked border hotspots.</p>",
    ]
    if prods.get("plan_summary") is not None:
        sec.append(_table(_as_frame(prods["plan_summary"])))
    prop = prods.get("proposed")
    if prop is not None and len(prop):
        sec.append(
            f"<p>{len(prop)} {'cells with ' if public else ''}proposed stations; coordinates in "
            f"{'the GPX and CSV outputs of the full (non-public) run' if public else 'plan/proposed_stations.csv'}.</p>"
        )
    elif prods.get("plan_summary") is None:
        sec.append('<p class="muted">No plan was made in this run.</p>')
    sec.append(
        _figure_html(
            figs.get("plan"),
            "Proposed stations over the current detection probability.",
        )
    )
    parts.append("".join(sec))

    # ----- methods, assumptions, references
    assumptions = [
        "Leopards are identified without error from their rosette patterns; unidentified photos count "
        "towards effort and detections but not towards individuals.",
        "The population is closed during the survey (no births, deaths or permanent emigration).",
        "Activity centres are distributed as a Poisson process over the habitat mask; detection "
        "declines with distance as a hazard half-normal function.",
        "Paired cameras at one station form one detector; effort is pooled per station.",
        "Resistance values for corridors are expert-based assumptions, not fitted to movement data.",
    ]
    assumptions += [str(n) for n in notes]
    sec = [
        "<h2>9. Methods, assumptions and references</h2>",
        "<h3>Assumptions and notes</h3><ul>"
        + "".join(f"<li>{_e(a)}</li>" for a in assumptions)
        + "</ul>",
    ]
    if records:
        rows = [(s, _get(r, "status"), _get(r, "message")) for s, r in records.items()]
        sec.append(
            '<h3>Steps of this run</h3><p class="muted">Timings, parameters and input '
            "checksums are in manifest.json.</p>"
            + _table(pd.DataFrame(rows, columns=["step", "status", "message"]))
        )
    sec.append(
        "<h3>References</h3><ol>"
        + "".join(f"<li>{_e(v)}</li>" for _k, v in sorted(REFERENCES.items()))
        + "</ol>"
    )
    if zones:
        sec.append(
            f'<p class="muted">Countries/zones in this survey: {_e(", ".join(zones))}. '
            "Boundaries: © OpenStreetMap contributors (ODbL) where derived from OpenStreetMap.</p>"
        )
    parts.append("".join(sec))

    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(heading)}</title>'
        f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n"
    )
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    logger.info("Wrote report %s", path)
    return path
