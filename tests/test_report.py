"""Tests of the transboundary report and the candidate reserve (trapscape.present.report, trapscape.reserve)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import X0, Y0, make_tiny_survey
from shapely.geometry import Point, box

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
    assert "China: 0.500 (0.300–0.800)<br>Russia: 1.50 (1.10–2.00)" in html


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


def test_zones_without_stations_are_footnoted_not_headlined(tmp_path: Path) -> None:
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
    glance = html.split("<h2>At a glance</h2>", 1)[1].split("<h2", 1)[0]
    assert "China: 0.500 (0.300–0.800)<br>Russia: 1.50 (1.10–2.00)" in glance
    assert "North Korea" not in glance
    assert "Zones without stations" in html
    foot = html.split("Zones without stations", 1)[1]
    assert "No camera stood in North Korea" in foot and "0.547" in foot
    assert html.count("0.547") == 1


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
    main = html.split("Number of leopards by region", 1)[1].split("<h3", 1)[0]
    # secr's R.N (every detected animal) only where it is the whole population
    assert "1,000" in main and "996" not in main
    assert "82.0" not in main and "206" not in main
    assert "realised N (local)" in main
    assert "48.9" in main and "1.64" in main and "195" in main
    # the zone without stations is footnoted, not in the main table
    assert "North Korea" not in main
    assert "22.2" in html.split("Zones without stations", 1)[1]


def test_report_context_feeds_the_packaged_template(tmp_path: Path) -> None:
    s = make_tiny_survey()
    prods = RunProducts(
        population=reserve.zone_population(reserve.individuals_by_zone(s)),
        plan_summary=pd.DataFrame({"stations": [3]}),
    )
    ctx = report.report_context(s, prods, public=True, figures=False)
    assert ctx["public_note"] and ctx["density"] is None
    assert ctx["population"].head == ["detected in", "individuals"]
    html = report.render_report(ctx)
    assert '<div class="public">' in html
    assert "Density was not estimated in this run." in html
    assert "<th>stations</th>" in html and "No plan was made" not in html
