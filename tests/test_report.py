"""Tests of the transboundary report and the candidate reserve (trapscape.present.report, trapscape.reserve)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import X0, Y0, make_tiny_survey
from shapely.geometry import LineString, Point, box

from trapscape import reserve
from trapscape import validation as V
from trapscape.present import report
from trapscape.products import RunProducts


def _ranges(survey):
    """Two circular ranges: A straddles the border at x = X0 + 2500, B does not."""
    return gpd.GeoDataFrame(
        {V.INDIVIDUAL_ID: ["A", "B"], "percent": [95, 95]},
        geometry=[
            Point(X0 + 2500, Y0 + 2000).buffer(1000),
            Point(X0 + 1000, Y0 + 1000).buffer(500),
        ],
        crs=survey.crs,
    )


def test_individuals_by_zone() -> None:
    s = make_tiny_survey()
    by = reserve.individuals_by_zone(s).set_index(V.INDIVIDUAL_ID)
    # A at S1, S2 (x = X0+1000, +2000: China) and S5 (China); B at S8 (China) and S9 (x = X0+3000: Russia)
    assert by.loc["A", "zones"] == "China"
    assert by.loc["B", "zones"] == "China + Russia"
    pop = reserve.zone_population(reserve.individuals_by_zone(s)).set_index(
        "detected in"
    )
    assert pop.loc["China only", "individuals"] == 1
    assert pop.loc["both (China + Russia)", "individuals"] == 1
    assert pop.loc["total", "individuals"] == 2


def test_straddling_ranges_and_areas() -> None:
    s = make_tiny_survey()
    strad = reserve.straddling_ranges(s, _ranges(s))
    assert list(strad[V.INDIVIDUAL_ID]) == ["A"]
    row = strad.iloc[0]
    # the circle is split in half by the border (within the polygon approximation)
    assert row["area_km2_China"] == pytest.approx(row["area_km2_Russia"], rel=1e-6)
    assert row["area_km2_China"] + row["area_km2_Russia"] == pytest.approx(
        row["area_km2"]
    )


def test_candidate_reserve_is_union_with_areas_per_country() -> None:
    s = make_tiny_survey()
    corridor = gpd.GeoDataFrame(
        geometry=[box(X0 + 500, Y0 + 3500, X0 + 3500, Y0 + 3800)], crs=s.crs
    )
    res = reserve.candidate_reserve(s, ranges=_ranges(s), corridors=corridor)
    assert len(res) == 1
    geom = res.geometry.iloc[0]
    park = s.parks.geometry.union_all()
    assert geom.buffer(1e-6).contains(park)
    assert geom.buffer(1e-6).contains(corridor.geometry.iloc[0])
    assert not geom.contains(Point(X0 + 1000, Y0 + 1000))  # B's range does not straddle
    assert res["area_km2"].iloc[0] == pytest.approx(
        res["area_km2_China"].iloc[0] + res["area_km2_Russia"].iloc[0]
    )
    assert res["area_km2"].iloc[0] == pytest.approx(geom.area / 1e6)


def test_candidate_reserve_empty_without_inputs() -> None:
    from dataclasses import replace

    s = replace(make_tiny_survey(), parks=None)
    assert len(reserve.candidate_reserve(s)) == 0


def test_write_report_sections_and_print_css(tmp_path: Path) -> None:
    s = make_tiny_survey()
    est = pd.DataFrame(
        {
            "parameter": ["D", "lambda0", "sigma"],
            "estimate": [1.23, 0.05, 2500.0],
            "se": [0.3, 0.01, 300.0],
            "lcl": [0.77, 0.03, 2000.0],
            "ucl": [1.96, 0.08, 3100.0],
        }
    )
    prods = RunProducts(
        density_estimates=est,
        population=reserve.zone_population(reserve.individuals_by_zone(s)),
        straddling=reserve.straddling_ranges(s, _ranges(s)),
        reserve=reserve.candidate_reserve(s, ranges=_ranges(s)),
    )
    path = report.write_report(
        s, tmp_path / "r.html", products=prods, simulated=True, figures=False
    )
    html = path.read_text()
    for text in (
        "Survey effort",
        "Coverage by country",
        "Density and abundance",
        "Russia, China and both",
        "straddling the border",
        "Corridors",
        "Candidate transboundary reserve",
        "Proposed new stations",
        "References",
        "simulated",
        "approximate",
        "@media print",
        "1.23 (0.770–1.96)",
        "Borchers",
        "Worton",
        "McRae",
        "Niedballa",
        "Durbach",
        "Efford",
    ):
        assert text in html, text
    assert "<script" not in html and "http://" not in html.replace("http://www.w3", "")


def test_public_report_refuses_exact_layers(tmp_path: Path) -> None:
    from trapscape.errors import InputError

    s = make_tiny_survey()
    with pytest.raises(InputError):
        report.write_report(
            s, tmp_path / "r.html", products=RunProducts(ranges=_ranges(s)), public=True
        )


def test_zone_densities_in_the_headline(tmp_path: Path) -> None:
    s = make_tiny_survey()
    est = pd.DataFrame(
        {
            "parameter": ["D[China]", "D[Russia]", "sigma"],
            "estimate": [0.5, 1.5, 3000.0],
            "se": [0.1, 0.2, 100.0],
            "lcl": [0.3, 1.1, 2800.0],
            "ucl": [0.8, 2.0, 3200.0],
        }
    )
    html = report.write_report(
        s,
        tmp_path / "r.html",
        products=RunProducts(density_estimates=est),
        figures=False,
    ).read_text()
    assert (
        "<li>China: 0.500 (0.300–0.800)</li><li>Russia: 1.50 (1.10–2.00)</li>" in html
    )


def _three_zone_survey():
    """The tiny survey plus a third zone ("North Korea") holding no station."""
    from dataclasses import replace

    s = make_tiny_survey()
    nk = gpd.GeoDataFrame(
        {V.NAME: ["North Korea"]},
        geometry=[box(X0, Y0 - 5000, X0 + 4000, Y0 - 1000)],
        crs=s.crs,
    )
    return replace(s, zones=pd.concat([s.zones, nk], ignore_index=True))


def _summary(html: str) -> str:
    return html.split("<h2>Summary</h2>", 1)[1].split("</section>", 1)[0]


def test_zones_without_stations_are_named_but_get_no_numbers(tmp_path: Path) -> None:
    s = _three_zone_survey()
    assert reserve.zones_with_stations(s) == {"China", "Russia"}
    est = pd.DataFrame(
        {
            "parameter": ["D[China]", "D[North Korea]", "D[Russia]"],
            "estimate": [0.5, 0.547, 1.5],
            "lcl": [0.3, 0.081, 1.1],
            "ucl": [0.8, 3.69, 2.0],
        }
    )
    html = report.write_report(
        s,
        tmp_path / "r.html",
        products=RunProducts(density_estimates=est),
        figures=False,
    ).read_text()
    summary = _summary(html)
    assert (
        "<li>China: 0.500 (0.300–0.800)</li><li>Russia: 1.50 (1.10–2.00)</li>"
        in summary
    )
    assert "North Korea" not in summary
    assert "No camera stood in North Korea" in html
    # no number of the zone without stations, in any table
    assert "0.547" not in html and "3.69" not in html
    for table in html.split("<table")[1:]:
        assert "North Korea" not in table.split("</table>", 1)[0]


def test_public_and_internal_reports_show_the_same_zones(tmp_path: Path) -> None:
    """The zones come from the exact stations (RunProducts.surveyed_zones)."""
    s = _three_zone_survey()
    est = pd.DataFrame(
        {
            "parameter": ["D[China]", "D[North Korea]", "D[Russia]"],
            "estimate": [0.5, 0.547, 1.5],
            "lcl": [0.3, 0.081, 1.1],
            "ucl": [0.8, 3.69, 2.0],
        }
    )
    prods = RunProducts(density_estimates=est, surveyed_zones=["China", "Russia"])
    internal = report.report_context(s, prods, figures=False)
    public = report.report_context(s, prods, public=True, figures=False)
    assert internal["summary"] == public["summary"]
    assert [z for z, _ in public["summary"]["density"]] == ["China", "Russia"]
    # the recorded zones win over stations that, generalised, fall elsewhere
    only = report.report_context(
        s, prods.copy(surveyed_zones=["Russia"]), public=True, figures=False
    )
    assert [z for z, _ in only["summary"]["density"]] == ["Russia"]


def test_region_abundance_uses_local_realised_n_for_parts(tmp_path: Path) -> None:
    s = _three_zone_survey()
    rows = []
    for region, en, rn, loc in (
        ("mask", 990.0, 1000.0, 996.0),  # holds every detected animal
        ("study area", 51.8, 82.0, 48.9),  # detected animals also live outside
        ("park: Kedrovaya Pad", 2.49, 82.0, 1.64),
        ("zone: Russia", 193.8, 206.5, 194.7),
        ("zone: North Korea", 22.27, 102.9, 22.25),
    ):
        for q, v in (("E.N", en), ("R.N", rn), ("R.N.local", loc)):
            rows.append({"region": region, "quantity": q, "estimate": v})
    rn = pd.DataFrame(rows)
    whole = reserve.holds_whole_population(rn)
    assert whole.tolist() == [True] * 3 + [False] * 12
    est = pd.DataFrame({"parameter": ["D"], "estimate": [1.0]})
    html = report.write_report(
        s,
        tmp_path / "r.html",
        products=RunProducts(density_estimates=est, region_n=rn),
        figures=False,
    ).read_text()
    main = html.split("Number of leopards by region", 1)[1].split("</table>", 1)[0]
    # secr's R.N (every detected animal) only where it is the whole population
    assert "1,000" in main and "996" not in main
    assert "82.0" not in main and "206" not in main
    assert "realised N (local)" in main
    assert "48.9" in main and "1.64" in main and "195" in main
    assert "Russia (country)" in main and "zone:" not in main
    # the zone without stations is named, its numbers are not shown
    assert "North Korea" not in main
    assert "22.2" not in html and "No camera stood in North Korea" in html


def test_report_context_feeds_the_packaged_template(tmp_path: Path) -> None:
    s = make_tiny_survey()
    prods = RunProducts(
        population=reserve.zone_population(reserve.individuals_by_zone(s)),
        plan_summary=pd.DataFrame({"stations": [3]}),
    )
    ctx = report.report_context(s, prods, public=True, figures=False)
    assert ctx["public_note"] and ctx["density"] is None
    assert ctx["population"].head == [
        "detected in",
        "individuals",
        "share of individuals",
    ]
    html = report.render_report(ctx)
    assert '<div class="public">' in html
    assert "Density was not estimated in this run." in html
    assert "<th>stations</th>" in html and "No plan was made" not in html


def test_columns_have_human_names_with_units(tmp_path: Path) -> None:
    s = make_tiny_survey()
    pdot = pd.DataFrame(
        {
            "zone": ["China", "Russia", "total"],
            "area_km2": [8.0, 8.0, 16.0],
            "esa_km2": [5.0, 6.0, 11.0],
            "mean_pdot": [0.6, 0.7, 0.65],
            "share_pdot_gt_0_5": [0.5, 0.9, 0.7],
        }
    )
    est = pd.DataFrame(
        {
            "parameter": ["D[China]", "lambda0[F]", "sigma[M]", "pmix[M]"],
            "estimate": [0.5, 0.05, 4000.0, 0.46],
        }
    )
    html = report.write_report(
        s,
        tmp_path / "r.html",
        products=RunProducts(pdot_summary=pdot, density_estimates=est),
        figures=False,
    ).read_text()
    import re

    heads = " ".join(re.findall(r"<th[^>]*>([^<]*)</th>", html))
    assert '<th class="t">country</th>' in html  # text columns left-aligned
    assert "<th>mean detection probability</th>" in html
    for raw in ("esa", "share pdot", "pdot gt", "area km2", "mean pdot", "zone"):
        assert raw not in heads, raw
    assert "effective sampling area, km²" in heads and "area, km²" in heads
    assert "share of area with detection probability &gt; 0.5" in heads
    assert "density, China (animals per 100 km²)" in html
    assert "baseline detection rate λ0, females (per day)" in html
    assert "movement scale σ, males (m)" in html
    assert "share of the population that is males" in html


def test_floating_point_noise_is_shown_as_zero() -> None:
    plan = pd.DataFrame(
        {
            "scope": ["all", "all", "Russia", "Russia", "Russia"],
            "metric": ["E_n", "border_pdot", "E_n", "area_pdot_km2", "new_stations"],
            "before": [73.3, 0.992, 46.0, 3585.0, 0.0],
            "after": [85.0, 0.992 + 4.86e-10, 46.0 + 2.51e-10, 3585.0 - 4.55e-13, 10.0],
        }
    )
    plan["change"] = plan["after"] - plan["before"]
    t = report._plan_table(plan, {"Russia"})
    assert t is not None
    cells = [c for r in t.rows for c in r]
    assert not any("e-" in c for c in cells), cells
    assert [r[-1] for r in t.rows] == ["11.7", "0", "0", "0", "10"]
    assert t.rows[-1][2:] == ["0", "10", "10"]  # counts as whole numbers
    assert "expected individuals detected, E[n]" in [r[1] for r in t.rows]
    # a column of the hotspot table: a detour of 1.82e-12 next to 780 is 0
    tab = report._table(pd.DataFrame({"detour_cost": [1.82e-12, 769.0, 780.0]}))
    assert [r[0] for r in tab.rows] == ["0", "769", "780"]
    assert tab.head == ["extra cost of crossing here (cost-weighted m)"]


def test_zone_rows_drop_zones_without_stations_and_slivers() -> None:
    cov = pd.DataFrame(
        {
            "zone": ["China", "North Korea", "Russia", "total"],
            "area_km2": [4183.0, 0.00825, 3598.0, 7781.0],
        }
    )
    kept = report._zone_rows(cov, {"China", "Russia", "North Korea"})
    assert list(kept["zone"]) == ["China", "Russia", "total"]  # sliver dropped
    kept = report._zone_rows(cov.assign(area_km2=10.0), {"China", "Russia"})
    assert list(kept["zone"]) == ["China", "Russia", "total"]  # no stations


def test_straddling_shares_add_up_to_one() -> None:
    strad = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: ["F020"],
            "area_km2": [201.0],
            "share_China": [0.177],
            "share_North Korea": [0.205],
            "share_Russia": [0.618],
        }
    )
    ctx = report._straddling_context(RunProducts(straddling=strad), {"China", "Russia"})
    t = ctx["table"]
    assert "North Korea" not in " ".join(t.head)
    assert t.head[-1] == "other countries (no stations), share"
    assert sum(float(v) for v in t.rows[0][2:]) == pytest.approx(1.0, abs=0.002)


def test_summary_page_and_print_css(tmp_path: Path) -> None:
    s = make_tiny_survey()
    hs = gpd.GeoDataFrame(
        {"rank": [2, 1], "score": [0.5, 0.9], "segment_id": [7, 3]},
        geometry=[
            LineString([(X0 + 2500, Y0), (X0 + 2500, Y0 + 1000)]),
            LineString([(X0 + 2500, Y0 + 1000), (X0 + 2500, Y0 + 2000)]),
        ],
        crs=s.crs,
    )
    plan = pd.DataFrame(
        {
            "scope": ["all", "China"],
            "metric": ["RSE", "new_stations"],
            "before": [0.117, 0.0],
            "after": [0.108, 4.0],
            "change": [-0.009, 4.0],
        }
    )
    prods = RunProducts(
        population=reserve.zone_population(reserve.individuals_by_zone(s)),
        reserve=reserve.candidate_reserve(s, ranges=_ranges(s)),
        border_hotspots=hs,
        plan_summary=plan,
        trap_nights=85.5,
        straddling=reserve.straddling_ranges(s, _ranges(s)),
    )
    html = report.write_report(s, tmp_path / "r.html", products=prods, figures=False)
    text = html.read_text()
    summary = _summary(text)
    for label in (
        "Surveyed area",
        "Effort",
        "Individuals identified",
        "Density",
        "Animals crossing the border",
        "Top border-crossing sites",
        "Candidate reserve",
        "Next season's cameras",
    ):
        assert label in summary, label
    assert "1 photographed in both countries; 1 home ranges extend" in summary
    assert summary.index("#1:") < summary.index("#2:")
    assert "° N, " in summary and "° E" in summary
    assert "China: 4" in summary and "from 11.7% to 10.8%" in summary
    assert "85.5 trap-nights" in summary
    # the summary is one printed page; tables are not cut and repeat headers
    assert "section.summary{page-break-after:always;break-after:page}" in text
    assert "thead{display:table-header-group}" in text
    assert "tr{page-break-inside:avoid" in text


# ---------------------------------------------------------------- reserve
def test_candidate_reserve_limited_to_chosen_countries() -> None:
    s = _three_zone_survey()
    # a park reaching into the zone without stations (y < Y0 - 1000)
    from dataclasses import replace

    park = gpd.GeoDataFrame(
        {V.NAME: ["park"]},
        geometry=[box(X0 + 500, Y0 - 3000, X0 + 3500, Y0 + 3500)],
        crs=s.crs,
    )
    s = replace(s, parks=park)
    default = reserve.candidate_reserve(s)
    assert default["countries"].iloc[0] == "China + Russia"
    assert "area_km2_North Korea" not in default.columns
    nk = box(X0, Y0 - 5000, X0 + 4000, Y0 - 1000)
    assert default.geometry.iloc[0].intersection(nk).area == pytest.approx(0, abs=1e-6)
    assert default["area_km2"].iloc[0] == pytest.approx(
        default["area_km2_China"].iloc[0] + default["area_km2_Russia"].iloc[0]
    )
    every = reserve.candidate_reserve(s, countries=["China", "Russia", "North Korea"])
    assert every["area_km2_North Korea"].iloc[0] == pytest.approx(3 * 2, rel=1e-6)
    russia = reserve.candidate_reserve(s, countries=["Russia"])
    assert [c for c in russia.columns if c.startswith("area_km2_")] == [
        "area_km2_Russia"
    ]
    from trapscape.errors import InputError

    with pytest.raises(
        InputError, match=r"no zone named 'Japan'.*China, North Korea, Russia"
    ):
        reserve.candidate_reserve(s, countries=["Japan"])


def test_reserve_areas_leave_out_slivers() -> None:
    s = _three_zone_survey()
    sliver = gpd.GeoDataFrame(
        {V.NAME: ["r"]},
        geometry=[
            box(X0 + 100, Y0 - 1000 - 200, X0 + 3900, Y0 + 3900)
        ],  # 0.76 km² in NK
        crs=s.crs,
    )
    areas = reserve.reserve_areas(sliver, s)
    assert "area_km2_North Korea" in areas.columns
    thin = sliver.set_geometry([box(X0 + 100, Y0 - 1000 - 50, X0 + 3900, Y0 + 3900)])
    assert "area_km2_North Korea" not in reserve.reserve_areas(thin, s).columns
    assert reserve.MIN_ZONE_AREA_KM2 == 0.5


def test_public_reserve_keeps_the_exact_area() -> None:
    """A generalised outline keeps the exact outline's areas: one number in both reports."""
    from trapscape.privacy import snap_polygons

    s = make_tiny_survey()
    exact = reserve.candidate_reserve(s, ranges=_ranges(s))
    snapped = snap_polygons(exact, cell=1000.0)
    assert snapped.geometry.iloc[0].area != pytest.approx(exact.geometry.iloc[0].area)
    a = report.report_context(s, RunProducts(reserve=exact), figures=False)
    b = report.report_context(
        s, RunProducts(reserve=snapped), public=True, figures=False
    )
    assert a["summary"]["reserve"]["total_km2"] == b["summary"]["reserve"]["total_km2"]
    assert a["reserve"]["areas"] == b["reserve"]["areas"]
    assert b["reserve"]["generalised"] and not a["reserve"]["generalised"]


# ------------------------------------------------------ the bundled example
@pytest.mark.slow
def test_example_public_and_internal_reports_agree(tmp_path: Path) -> None:
    """On the bundled example both reports give the same summary, for zones with data."""
    import re

    from trapscape import pipeline
    from trapscape.datasets import get_path

    project = Path(get_path("example"))
    pages = {}
    for name, public in (("internal", False), ("public", True)):
        pipeline.run_project(project, tmp_path / name, public=public)
        pages[name] = (tmp_path / name / "report.html").read_text()
    summaries = {k: _summary(v) for k, v in pages.items()}
    # the public version withholds the survey dates; every number agrees
    dates = re.compile(r", \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d")
    assert dates.sub("", summaries["internal"]) == summaries["public"]
    for html in pages.values():
        for table in html.split("<table")[1:]:
            body = table.split("</table>", 1)[0]
            assert "North Korea" not in body
            assert not re.search(r"\d\.?\d*e-\d", body), body[:300]
        assert "reach the edge of their grid" not in html
        assert "multiple zones" not in html
    assert "North Korea" not in summaries["public"]


def test_summary_trap_nights_from_stations_of_a_reloaded_run() -> None:
    s = make_tiny_survey()
    st = gpd.GeoDataFrame(
        {"trap_nights": [10.5, 20.0]},
        geometry=[Point(X0 + 1000, Y0 + 1000), Point(X0 + 3000, Y0 + 1000)],
        crs=s.crs,
    )
    ctx = report.report_context(s, RunProducts(stations=st), figures=False)
    assert ctx["summary"]["trap_nights"] == "30.5"
    ctx = report.report_context(s, RunProducts(trap_nights=7.0), figures=False)
    assert ctx["summary"]["trap_nights"] == "7.00"
