"""Tests of trapscape.homerange: hand-checkable cases and adehabitatHR references."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from trapscape import homerange as hr
from trapscape import validation as V
from trapscape._raster import GridSpec
from trapscape.crs import as_crs
from trapscape.detection import DetectionParams
from trapscape.errors import (
    ComputationError,
    CRSError,
    InputError,
    SchemaError,
    TrapscapeWarning,
)

DATA = Path(__file__).parent / "data" / "adehabitat"
CRS = "EPSG:32652"


def _points(ids, x, y, crs=CRS, **cols):
    return gpd.GeoDataFrame(
        {V.INDIVIDUAL_ID: list(ids), **cols}, geometry=gpd.points_from_xy(x, y), crs=crs
    )


@pytest.fixture(scope="module")
def boars() -> gpd.GeoDataFrame:
    d = pd.read_csv(DATA / "puechabon_relocs.csv")
    return _points(d["id"], d["x"], d["y"], crs="EPSG:32631")


@pytest.fixture(scope="module")
def grid50(boars) -> GridSpec:
    """The reference's common grid.

    50 m cells with centres at k*50 + 25, box widened by 1 x range.
    """
    xy = np.column_stack([boars.geometry.x, boars.geometry.y])
    (xmin, ymin), (xmax, ymax) = xy.min(0), xy.max(0)
    rx, ry, c = xmax - xmin, ymax - ymin, 50.0
    x0, x1 = math.floor((xmin - rx) / c) * c, math.ceil((xmax + rx) / c) * c
    y0, y1 = math.floor((ymin - ry) / c) * c, math.ceil((ymax + ry) / c) * c
    return GridSpec(
        x0, y1, c, round((x1 - x0) / c), round((y1 - y0) / c), as_crs("EPSG:32631")
    )


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def _merge(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    ref = ref.rename(columns={"id": V.INDIVIDUAL_ID})
    return ours.merge(
        ref, on=[V.INDIVIDUAL_ID, "percent"], suffixes=("", "_ref"), validate="1:1"
    )


# --------------------------------------------------------- adehabitatHR refs
def test_mcp_matches_adehabitat(boars):
    m = hr.mcp(boars, percent=[50, 95, 100])
    both = _merge(pd.DataFrame(m.drop(columns="geometry")), _ref("hr_mcp.csv"))
    assert len(both) == 12
    np.testing.assert_allclose(both["area_km2"], both["area_km2_ref"], rtol=1e-9)
    assert (m["method"] == "mcp").all()


def test_kde_fixed_h_grid60_matches_adehabitat(boars):
    res = hr.kde(boars, h=150.0, percent=95, grid=60, extent=1.0)
    both = _merge(
        pd.DataFrame(res.isopleths.drop(columns="geometry")),
        _ref("hr_kde_h150_grid60.csv"),
    )
    assert len(both) == 4
    np.testing.assert_allclose(both["cell"], both["cell_ref"], rtol=1e-9)
    np.testing.assert_allclose(both["area_km2"], both["area_km2_ref"], rtol=1e-9)
    np.testing.assert_allclose(
        both["poly_area_km2"], both["poly_area_km2_ref"], rtol=1e-4
    )
    assert (both["h_method"] == "specified").all()


@pytest.mark.parametrize(
    ("h", "name", "label"),
    [("href", "hr_kde_href.csv", "href"), ("lscv", "hr_kde_lscv.csv", "LSCV")],
)
def test_kde_href_and_lscv_match_adehabitat(boars, grid50, h, name, label):
    res = hr.kde(boars, h=h, percent=(50, 95), grid=grid50)
    both = _merge(pd.DataFrame(res.isopleths.drop(columns="geometry")), _ref(name))
    assert len(both) == 8
    np.testing.assert_allclose(both["h"], both["h_ref"], rtol=1e-9)
    assert (both["h_method"] == label).all()
    np.testing.assert_allclose(both["area_km2"], both["area_km2_ref"], rtol=1e-9)
    np.testing.assert_allclose(
        both["poly_area_km2"], both["poly_area_km2_ref"], rtol=1e-4
    )


@pytest.mark.parametrize("method", ["HR", "PHR", "VI", "BA", "UDOI", "HD"])
def test_overlap_matches_kerneloverlap(boars, grid50, method):
    res = hr.kde(boars, h="href", percent=95, grid=grid50)
    ours = hr.overlap(res, method=method, percent=95)
    ref = _ref("hr_kde_overlap.csv")
    ref = ref[ref["method"] == method].pivot(index="id1", columns="id2", values="value")
    ref = ref.loc[ours.index, ours.columns]
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6, atol=1e-9)


def test_lscv_without_adehabitat_quirk_uses_all_pairs(boars):
    xy = np.column_stack([boars.geometry.x, boars.geometry.y])[:30]  # Brock
    h_q, cv_q = hr.lscv(xy)
    h_e, cv_e = hr.lscv(xy, adehabitat=False)
    np.testing.assert_allclose(h_q, h_e)
    assert h_q[np.argmin(cv_q)] == pytest.approx(75.039919480586)
    assert h_e[np.argmin(cv_e)] != pytest.approx(75.039919480586)


# ------------------------------------------------------------ hand checks
def test_mcp_of_square_corners():
    pts = _points(["a"] * 5, [0, 2000, 2000, 0, 1000], [0, 0, 2000, 2000, 1000])
    m = hr.mcp(pts, percent=100)
    assert m["area_km2"].iloc[0] == pytest.approx(4.0)
    assert m.geometry.iloc[0].equals(
        gpd.GeoSeries.from_wkt(
            ["POLYGON ((0 0, 2000 0, 2000 2000, 0 2000, 0 0))"]
        ).iloc[0]
    )
    # Distances to the centroid are 0 and 4 x 1414 m: at 50 % the quantile is
    # 1414 m and every point is kept; at 10 % (quantile 566 m) only the centre.
    m = hr.mcp(pts, percent=[50, 10])
    assert list(m["area_km2"]) == pytest.approx([4.0, 0.0])
    assert m.geometry.iloc[1].is_empty


@pytest.mark.parametrize("p", [50, 95])
def test_kde_of_single_point_is_circle(p):
    h = 200.0
    pts = _points(["a"], [500_000.0], [4_700_000.0])
    res = hr.kde(pts, h=h, percent=p, grid=5.0, min_detections=1, min_stations=1)
    r = h * math.sqrt(-2 * math.log(1 - p / 100))
    row = res.isopleths.iloc[0]
    assert row["poly_area_km2"] == pytest.approx(math.pi * r**2 / 1e6, rel=2e-3)
    assert row["area_km2"] == pytest.approx(math.pi * r**2 / 1e6, rel=1e-2)
    assert row.geometry.centroid.distance(Point(500_000, 4_700_000)) < 1.0
    assert res.bandwidths["h_method"].iloc[0] == "specified"


def test_kde_ud_integrates_to_truncated_mass():
    pts = _points(["a"] * 6, [0, 300, 600, 100, 900, 450], [0, 200, 100, 700, 800, 400])
    res = hr.kde(pts, h=150.0, percent=95, grid=10.0)
    da = res.ud["a"]
    total = float(da.sum()) * 100.0
    # Square truncation at +-4h keeps erf(4/sqrt2)^2 of the mass.
    assert total == pytest.approx(math.erf(4 / math.sqrt(2)) ** 2, rel=1e-6)


def test_isopleths_nest():
    rng = np.random.default_rng(3)
    xy = rng.normal(0, 800, size=(40, 2)) + np.array([500_000.0, 4_700_000.0])
    pts = _points(["a"] * 40, xy[:, 0], xy[:, 1])
    res = hr.kde(pts, h="href", percent=(25, 50, 75, 95), grid=25.0)
    geoms = res.isopleths.sort_values("percent").geometry.to_list()
    for inner, outer in itertools.pairwise(geoms):
        assert inner.difference(outer).area < 1e-6 * inner.area + 1.0
    assert res.isopleths["area_km2"].is_monotonic_increasing


@settings(max_examples=25, deadline=None)
@given(
    xy=st.lists(
        st.tuples(st.floats(0, 5000), st.floats(0, 5000)), min_size=5, max_size=30
    ),
    p1=st.floats(10, 100),
    p2=st.floats(10, 100),
)
def test_mcp_area_grows_with_percent(xy, p1, p2):
    arr = np.array(xy)
    pts = _points(["a"] * len(arr), arr[:, 0], arr[:, 1])
    lo, hi = sorted((p1, p2))
    m = hr.mcp(pts, percent=[lo, hi], min_stations=1)
    assert m["area_km2"].iloc[0] <= m["area_km2"].iloc[1] + 1e-12


def test_same_grid_and_overlap_diagonals(boars):
    res = hr.kde(boars, h=150.0, percent=95, grid=80, same_grid=True)
    grids = {(da.sizes["x"], da.sizes["y"]) for da in res.ud.values()}
    assert len(grids) == 1
    hrm = hr.overlap(res, method="HR")
    np.testing.assert_allclose(np.diag(hrm), 1.0)
    hd = hr.overlap(res, method="HD")
    np.testing.assert_allclose(np.diag(hd), 0.0)
    vi = hr.overlap(res, method="VI")
    assert ((vi.to_numpy() >= 0) & (vi.to_numpy() <= 1)).all()


def test_overlap_refuses_different_grids(boars):
    res = hr.kde(boars, h=150.0, percent=95, grid=40)
    with pytest.raises(ComputationError, match="same_grid=True"):
        hr.overlap(res, method="HR")
    with pytest.raises(InputError, match="method must be one of"):
        hr.overlap(res, method="XX")


def test_weights_equal_give_same_ud(boars):
    res0 = hr.kde(boars, h=150.0, percent=95, grid=60)
    res1 = hr.kde(boars, h=150.0, percent=95, grid=60, weights=np.full(len(boars), 3.0))
    for k in res0.ud:
        np.testing.assert_allclose(res0.ud[k].values, res1.ud[k].values, rtol=1e-12)
    w = np.ones(len(boars))
    w[0] = 50.0
    res2 = hr.kde(boars, h=150.0, percent=95, grid=60, weights=w)
    assert not np.allclose(res0.ud["Brock"].values, res2.ud["Brock"].values)


def test_input_not_modified(boars):
    before = boars.copy()
    hr.kde(boars, h="href", percent=95, grid=30)
    hr.mcp(boars)
    pd.testing.assert_frame_equal(pd.DataFrame(before), pd.DataFrame(boars))


# ---------------------------------------------------------- camera rules
def _camera_relocs() -> gpd.GeoDataFrame:
    """An individual seen 12 times at 4 stations (repeated coordinates)."""
    st_xy = {"S1": (0, 0), "S2": (1500, 0), "S3": (0, 1800), "S4": (1600, 1700)}
    seq = ["S1", "S1", "S1", "S2", "S2", "S3", "S1", "S4", "S4", "S2", "S1", "S3"]
    x = [st_xy[s][0] + 500_000 for s in seq]
    y = [st_xy[s][1] + 4_700_000 for s in seq]
    return _points(["L1"] * len(seq), x, y, station_id=seq)


def test_lscv_degenerate_with_camera_duplicates_falls_back_to_href():
    rel = _camera_relocs()
    with pytest.warns(TrapscapeWarning, match="fell back to href"):
        res = hr.kde(rel, h="lscv", percent=95, grid=50.0)
    bw = res.bandwidths.iloc[0]
    assert bw["h_method"] == "href"
    assert bw["h"] == pytest.approx(bw["href"])
    assert "repeat a location" in bw["note"]
    assert res.isopleths["h_method"].iloc[0] == "href"


def test_exclusions_are_listed(tiny_survey):
    elig = hr.eligibility(tiny_survey)
    assert list(elig[V.INDIVIDUAL_ID]) == ["A", "B"]
    assert list(elig["n_detections"]) == [4, 2]
    assert list(elig["n_stations"]) == [3, 2]
    assert not elig["included"].any()
    m = hr.mcp(tiny_survey, min_detections=3, min_stations=3)
    assert list(m[V.INDIVIDUAL_ID]) == ["A"]
    exc = pd.DataFrame(m.attrs["excluded"])
    assert list(exc[V.INDIVIDUAL_ID]) == ["B"]
    assert "2 detections < min_detections=3" in exc["reason"].iloc[0]
    assert "2 stations < min_stations=3" in exc["reason"].iloc[0]
    with pytest.raises(ComputationError, match="No individual"):
        hr.kde(tiny_survey)


def test_relocations_from_survey_collapses_bursts(tiny_survey):
    s = tiny_survey.sightings
    extra = s.iloc[[0, 0]].copy()
    extra[V.TIMESTAMP] = [
        pd.Timestamp("2024-06-02 22:25"),
        pd.Timestamp("2024-06-02 22:56"),
    ]
    sv = tiny_survey.with_sightings(pd.concat([s, extra], ignore_index=True))
    rel = hr.relocations_from_survey(sv)
    a = rel[rel[V.INDIVIDUAL_ID] == "A"]
    # 22:10 and 22:25 are one event; 22:56 comes 31 min after the previous photo.
    assert len(a) == 5
    assert list(a["n_photos"]) == [2, 1, 1, 1, 1]
    assert a.geometry.iloc[0].equals(Point(501_000, 4_761_000))
    rel0 = hr.relocations_from_survey(sv, burst_minutes=0)
    assert (rel0[V.INDIVIDUAL_ID] == "A").sum() == 6


def test_station_weights(tiny_survey):
    rel = hr.relocations_from_survey(tiny_survey)
    w = hr.station_weights(tiny_survey, rel)
    own = hr.relocations._station_trap_nights(tiny_survey)
    assert own["S8"] == pytest.approx(9.5)
    assert own["S9"] == pytest.approx(7.5)
    assert own["S5"] == pytest.approx(9.5)  # two cameras pooled, not summed
    b = rel[V.INDIVIDUAL_ID].to_numpy() == "B"
    # B: S8 works 9.5 days (06-01 12:00 to 06-11 00:00), S9 7.5 (2-day malfunction).
    wb = dict(zip(rel.loc[b, V.STATION_ID], w[b], strict=False))
    tot = 1 / 9.5 + 1 / 7.5
    assert wb["S8"] == pytest.approx((1 / 9.5) / tot)
    assert wb["S9"] == pytest.approx((1 / 7.5) / tot)
    assert w[~b].sum() == pytest.approx(1.0)


# ------------------------------------------------------------------ inputs
def test_read_relocations(tmp_path):
    p = tmp_path / "rel.csv"
    p.write_text(
        "id,x,y,timestamp\nL1,500000,4700000,2024-01-01 10:00\n"
        "L1,500100,4700050,2024-01-02 10:00\n"
    )
    rel = hr.read_relocations(p, crs=CRS)
    assert list(rel[V.INDIVIDUAL_ID]) == ["L1", "L1"]
    assert rel.geometry.iloc[1].x == 500100
    assert rel[V.TIMESTAMP].dtype.kind == "M"
    bad = tmp_path / "bad.csv"
    bad.write_text("individual_id,x,y\nL1,500000,4700000\nL1,abc,4700000\n")
    with pytest.raises(SchemaError, match=r"row 2, column 'x'"):
        hr.read_relocations(bad, crs=CRS)
    with pytest.raises(SchemaError, match="missing column"):
        (tmp_path / "m.csv").write_text("a,b\n1,2\n")
        hr.read_relocations(tmp_path / "m.csv", crs=CRS)
    with pytest.raises(CRSError):
        hr.read_relocations(p, crs="EPSG:4326")


def test_analysis_refuses_degrees():
    pts = _points(
        ["a"] * 5,
        [131, 131.1, 131.2, 131.0, 131.1],
        [43, 43.1, 43, 43.2, 43.3],
        crs="EPSG:4326",
    )
    with pytest.raises(CRSError, match="projected"):
        hr.mcp(pts)
    with pytest.raises(CRSError, match="projected"):
        hr.kde(pts, h=100.0)


def test_bad_arguments(boars):
    with pytest.raises(InputError, match="percent must lie"):
        hr.mcp(boars, percent=0)
    with pytest.raises(InputError, match="h must be"):
        hr.kde(boars, h="silverman")
    with pytest.raises(InputError, match="positive distance"):
        hr.kde(boars, h=-5.0)


# --------------------------------------------------------------- sigma
def test_sigma_ranges():
    rel = _points(
        ["a", "a", "b", "b"],
        [0, 2000, 10_000, 10_000],
        [0, 0, 0, 4000],
        sex=["F", "F", "M", "M"],
    )
    params = DetectionParams(
        sigma=1000.0, by_sex={"M": {"sigma": 2000.0, "lambda0": 0.05}}
    )
    out = hr.sigma_ranges(rel, params, percent=95).set_index(V.INDIVIDUAL_ID)
    k = math.sqrt(-2 * math.log(0.05))
    assert k == pytest.approx(2.4477, abs=1e-4)
    assert out.loc["a", "radius"] == pytest.approx(k * 1000)
    assert out.loc["b", "radius"] == pytest.approx(k * 2000)
    assert out.loc["b", "sigma"] == 2000.0
    assert out.loc["a", "area_km2"] == pytest.approx(math.pi * (k * 1000) ** 2 / 1e6)
    c = out.loc["a", "geometry"].centroid
    assert (c.x, c.y) == pytest.approx((1000.0, 0.0), abs=1e-6)
    assert out.loc["a", "geometry"].area / 1e6 == pytest.approx(
        out.loc["a", "area_km2"], rel=2e-3
    )


# ---------------------------------------------------------- cross-border
def test_cross_border(tiny_survey):
    res = hr.cross_border(tiny_survey)
    ind = res.individuals.set_index(V.INDIVIDUAL_ID)
    assert ind.loc["A", "status"] == "China only"
    assert ind.loc["B", "status"] == "both"
    assert ind.loc["B", "zones"] == "China; Russia"
    assert ind.loc["B", "n_crossings"] == 1
    cr = res.crossings.iloc[0]
    assert (cr["from_zone"], cr["to_zone"]) == ("China", "Russia")
    assert (cr["from_station"], cr["to_station"]) == ("S8", "S9")
    assert cr["hours_between"] == pytest.approx(152.5)
    pop = res.population.set_index("status")
    assert pop.loc["both", "n_individuals"] == 1
    assert pop.loc["both", "share"] == pytest.approx(0.5)
    assert pop.loc["total", "n_individuals"] == 2
    # the statuses partition the individuals: each counted once
    parts = pop.drop(index="total")
    assert parts["n_individuals"].sum() == 2
    assert parts["share"].sum() == pytest.approx(1.0)


def test_cross_border_range_shares(tiny_survey):
    ranges = hr.mcp(tiny_survey, percent=100, min_detections=1, min_stations=2)
    res = hr.cross_border(tiny_survey, ranges, percent=100)
    ind = res.individuals.set_index(V.INDIVIDUAL_ID)
    # A's MCP (S1, S2, S5) lies in China (x < border at +2500).
    assert ind.loc["A", "share_China"] == pytest.approx(1.0)
    assert ind.loc["A", "share_Russia"] == pytest.approx(0.0)
    # B's two stations are collinear: empty polygon, shares undefined.
    assert np.isnan(ind.loc["B", "share_China"])
    areas = hr.zone_areas(ranges, tiny_survey.zones)
    assert list(areas.columns) == ["area_China_km2", "area_Russia_km2"]
    assert areas.iloc[0].sum() == pytest.approx(ranges["area_km2"].iloc[0])


def test_cell_size_grids_are_aligned_for_overlap(boars, grid50):
    res = hr.kde(boars, h="href", percent=95, cell_size=50.0)
    assert {float(da.x[1] - da.x[0]) for da in res.ud.values()} == {50.0}
    ref = hr.kde(boars, h="href", percent=95, grid=grid50)
    np.testing.assert_allclose(
        res.isopleths["area_km2"], ref.isopleths["area_km2"], rtol=1e-9
    )
    for method in ("HR", "PHR", "BA", "HD"):
        a = hr.overlap(res, method=method)
        b = hr.overlap(ref, method=method)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-9)


def test_effort_weights_from_survey(tiny_survey):
    res = hr.kde(
        tiny_survey,
        h=500.0,
        percent=95,
        cell_size=100.0,
        effort_weights=True,
        min_detections=2,
        min_stations=2,
    )
    plain = hr.kde(
        tiny_survey,
        h=500.0,
        percent=95,
        cell_size=100.0,
        min_detections=2,
        min_stations=2,
    )

    # B: S9 (7.5 days) outweighs S8 (9.5 days), so B's UD shifts east (towards S9).
    def centre_x(da):
        return float((da * da.x).sum() / da.sum())

    assert centre_x(res.ud["B"]) > centre_x(plain.ud["B"]) + 10
    with pytest.raises(InputError, match="needs a Survey"):
        hr.kde(hr.relocations_from_survey(tiny_survey), effort_weights=True)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 25),
    p=st.lists(st.floats(20, 99), min_size=2, max_size=3, unique=True),
)
def test_kde_isopleths_nest_hypothesis(seed, n, p):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, size=(n, 2)) + np.array([500_000.0, 4_700_000.0])
    pts = _points(["a"] * n, xy[:, 0], xy[:, 1])
    res = hr.kde(pts, h=250.0, percent=sorted(p), cell_size=50.0, min_stations=1)
    iso = res.isopleths.sort_values("percent")
    geoms = iso.geometry.to_list()
    for inner, outer in itertools.pairwise(geoms):
        assert inner.difference(outer).area <= 1e-6 * max(inner.area, 1.0)
    assert iso["area_km2"].is_monotonic_increasing


def test_isopleth_keeps_holes_and_parts():
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    ring_x, ring_y = 2000 * np.cos(t), 2000 * np.sin(t)
    far_x, far_y = np.full(10, 20_000.0), np.linspace(0, 90, 10)
    pts = _points(
        ["a"] * 70, np.r_[ring_x, far_x] + 500_000, np.r_[ring_y, far_y] + 4_700_000
    )
    res = hr.kde(pts, h=150.0, percent=95, cell_size=20.0, min_stations=1)
    geom = res.isopleths.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon"
    parts = sorted(geom.geoms, key=lambda g: -g.area)
    assert len(parts) == 2
    assert len(parts[0].interiors) == 1  # the ring's empty middle
    assert parts[0].contains(Point(500_000 + 2000, 4_700_000))
    assert not geom.contains(Point(500_000, 4_700_000))
    row = res.isopleths.iloc[0]
    assert row["poly_area_km2"] == pytest.approx(row["area_km2"], rel=0.02)


def test_gridspec_crs_must_match(boars, grid50):
    from dataclasses import replace

    other = replace(grid50, crs=as_crs("EPSG:32652"))
    with pytest.raises(CRSError, match="Build the GridSpec"):
        hr.kde(boars, h=150.0, grid=other)


def test_warns_when_range_reaches_grid_edge(boars):
    with pytest.warns(
        TrapscapeWarning, match=r"4 range\(s\) reach the edge.*Brock \(95 %\)"
    ):
        res = hr.kde(boars, h=400.0, percent=95, grid=30, extent=0.0)
    assert len(res.isopleths) == 4


def test_kde_refuses_grids_over_the_memory_budget(boars) -> None:
    # 1 m cells: refused up front, naming a cell size that fits
    with pytest.raises(ComputationError) as err:
        hr.kde(boars, h=150.0, grid=1.0, max_memory_gb=0.001)
    msg = str(err.value)
    assert "individual(s)" in msg and "GiB" in msg and "0.001 GiB" in msg
    assert "Use a cell size of" in msg and "(now 1 m)" in msg
    # adehabitatHR-style cell counts get a smaller count instead
    with pytest.raises(ComputationError, match=r"Use grid=\d+ cells or fewer"):
        hr.kde(boars, h=150.0, grid=5000, max_memory_gb=0.001)
    # the suggested cell size fits the same budget
    import re

    cell = float(re.search(r"cell size of (\d+) m", msg).group(1))
    res = hr.kde(boars, h=150.0, percent=95, grid=cell, max_memory_gb=0.001)
    assert len(res.isopleths) > 0


def test_public_names_of_the_former_module_still_import() -> None:
    """Every public name of the former homerange.py resolves on the package."""
    import trapscape.homerange as pkg

    former = [
        "CrossBorderResult",
        "HomeRangeResult",
        "cross_border",
        "eligibility",
        "href",
        "kde",
        "lscv",
        "mcp",
        "overlap",
        "read_relocations",
        "relocations_from_survey",
        "sigma_ranges",
        "station_weights",
        "utilization_distributions",
        "zone_areas",
    ]
    assert set(former) <= set(pkg.__all__)
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None, name
    assert callable(pkg.kde) and callable(pkg.mcp) and callable(pkg.overlap)


# ------------------------------------------------ survey ranges: grids and land
def _line_of_points():
    """Detections along an east-west line: adehabitatHR's grid is too narrow in y."""
    x = np.repeat(np.arange(0.0, 10_000.0, 1000.0), 2) + 500_000
    y = np.tile([0.0, 50.0], 10) + 4_700_000
    st = [f"S{i}" for i in range(20)]
    return _points(["a"] * 20, x, y, station_id=st)


def test_survey_ranges_are_not_cut_by_the_grid_edge():
    pts = _line_of_points()
    with pytest.warns(TrapscapeWarning, match="reach the edge"):
        cut = hr.kde(pts, percent=95, grid=60)  # adehabitatHR's grid, as documented
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TrapscapeWarning)
        res = hr.for_survey(relocations=pts, percent=95, grid=60)
    row = res.ranges.iloc[0]
    ud = res.kde.ud["a"]
    ys = ud.y.to_numpy()
    _, miny, _, maxy = row.geometry.bounds
    assert ys.min() < miny and maxy < ys.max()  # the isopleth is inside its grid
    # the wider grid keeps the cell size and the bandwidth; the area grows
    assert row["cell"] == pytest.approx(cut.isopleths["cell"].iloc[0])
    assert row["h"] == pytest.approx(cut.isopleths["h"].iloc[0])
    assert row["h_method"] == cut.isopleths["h_method"].iloc[0] == "href"
    assert row["area_km2"] > 1.5 * cut.isopleths["area_km2"].iloc[0]
    wide = hr.kde(pts, percent=95, cell_size=float(row["cell"]))
    assert row["area_km2"] == pytest.approx(wide.isopleths["area_km2"].iloc[0])


def test_survey_ranges_are_clipped_to_land(tiny_survey):
    from dataclasses import replace

    from conftest import X0, Y0

    # the sea begins 500 m west of the stations' western column
    zones = tiny_survey.zones.copy()
    zones["geometry"] = zones.geometry.intersection(
        box(X0 + 500, Y0 - 10_000, X0 + 20_000, Y0 + 20_000)
    )
    s = replace(tiny_survey, zones=zones)
    kw = {"h": 800.0, "cell_size": 100.0, "min_detections": 1, "min_stations": 2}
    res = hr.for_survey(s, percent=95, **kw)
    land = zones.geometry.union_all()
    assert all(land.buffer(1e-6).contains(g) for g in res.ranges.geometry)
    assert (res.ranges["off_land_km2"] > 0).any()
    shares = res.cross_border.individuals.filter(like="share_").sum(axis=1)
    assert shares.to_numpy() == pytest.approx(1.0)
    assert (res.ranges["off_land_km2"] >= 0).all()
    kept = hr.for_survey(s, percent=95, clip_to_land=False, **kw)
    lost = (
        kept.ranges["poly_area_km2"].to_numpy() - res.ranges["poly_area_km2"].to_numpy()
    )
    assert lost == pytest.approx(res.ranges["off_land_km2"].to_numpy())
