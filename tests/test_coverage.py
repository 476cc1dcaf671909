"""Coverage grids, gaps and detection-probability (pdot) surfaces."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from trapscape import coverage, effort
from trapscape import validation as V
from trapscape._raster import grid_of
from trapscape.detection import DetectionParams
from trapscape.errors import InputError, TrapscapeWarning


# ------------------------------------------------------------------ pdot_points
@pytest.mark.parametrize("d", [0.0, 500.0, 3000.0, 7000.0, 20000.0])
def test_pdot_one_camera_hhn_closed_form(d):
    lam, sig, T = 0.05, 3000.0, 10.5
    p = DetectionParams(lambda0=lam, sigma=sig)
    got = coverage.pdot_points(
        [[500_000.0 + d, 4_760_000.0]], [[500_000.0, 4_760_000.0]], [T], p
    )
    expected = 1 - np.exp(-T * lam * np.exp(-(d**2) / (2 * sig**2)))
    assert abs(got[0] - expected) < 1e-12


def test_pdot_hn_closed_form_and_occasions_collapse():
    p = DetectionParams(
        detectfn="HN", g0=0.2, lambda0=None, sigma=1500.0, occasion_days=2
    )
    traps = np.array([[0.0, 0.0], [2000.0, 0.0]])
    usage = np.array([[1.0, 1.0, 0.5], [2.0, 0.0, 0.0]])
    pts = np.array([[100.0, 300.0], [5000.0, -200.0]])
    d2 = ((pts[:, None, :] - traps[None]) ** 2).sum(-1)
    k = 0.2 * np.exp(-d2 / (2 * 1500.0**2))
    expected = 1 - np.prod((1 - k) ** (usage.sum(1) / 2.0), axis=1)
    np.testing.assert_allclose(
        coverage.pdot_points(pts, traps, usage, p), expected, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        coverage.pdot_points(pts, traps, usage.sum(1), p), expected, rtol=0, atol=1e-12
    )


def test_pdot_many_traps_matches_dense_formula():
    rng = np.random.default_rng(0)
    traps = rng.uniform(0, 20_000, (60, 2))
    usage = rng.uniform(0, 3, (60, 30))
    usage[rng.random(usage.shape) < 0.2] = 0.0
    pts = rng.uniform(-5000, 25_000, (5000, 2))
    p = DetectionParams(lambda0=0.02, sigma=1200.0)
    d2 = ((pts[:, None, :] - traps[None]) ** 2).sum(-1)
    expected = 1 - np.exp(-(usage.sum(1) * 0.02 * np.exp(-d2 / (2 * 1200.0**2))).sum(1))
    np.testing.assert_allclose(
        coverage.pdot_points(pts, traps, usage, p), expected, rtol=0, atol=1e-12
    )


def test_pdot_by_sex_is_equal_weight_mean():
    traps, usage, pts = [[0.0, 0.0]], [20.0], [[1000.0, 0.0], [4000.0, 0.0]]
    p = DetectionParams(
        lambda0=0.05,
        sigma=3000.0,
        by_sex={"F": {"sigma": 2000.0}, "M": {"lambda0": 0.02, "sigma": 5000.0}},
    )
    f = coverage.pdot_points(
        pts, traps, usage, DetectionParams(lambda0=0.05, sigma=2000.0)
    )
    m = coverage.pdot_points(
        pts, traps, usage, DetectionParams(lambda0=0.02, sigma=5000.0)
    )
    np.testing.assert_allclose(coverage.pdot_points(pts, traps, usage, p), (f + m) / 2)


def test_pdot_zero_usage_gives_zero_and_bad_shapes_raise():
    p = DetectionParams()
    assert coverage.pdot_points([[0.0, 0.0]], [[0.0, 0.0]], [0.0], p)[0] == 0.0
    with pytest.raises(InputError, match="usage must have shape"):
        coverage.pdot_points([[0.0, 0.0]], [[0.0, 0.0]], [1.0, 2.0], p)
    with pytest.raises(InputError, match=r"points must be an \(n, 2\)"):
        coverage.pdot_points([0.0, 0.0, 1.0], [[0.0, 0.0]], [1.0], p)


# --------------------------------------------------------------- coverage grid

X0, Y0 = 500_000.0, 4_760_000.0


def _with(survey, **changes):
    from dataclasses import replace

    return replace(survey, **changes)


def _study(survey, geom):
    return _with(
        survey,
        study_area=gpd.GeoDataFrame(
            {V.NAME: ["area"]}, geometry=[geom], crs=survey.crs
        ),
    )


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_grid_partitions_tiny_study_area(tiny_survey, shape):
    g = coverage.coverage_grid(tiny_survey, cell_size=1500, shape=shape)
    assert g.crs == tiny_survey.crs
    assert g["area_km2"].sum() == pytest.approx(16.0, rel=1e-12)
    assert (
        g.geometry.union_all().symmetric_difference(tiny_survey.study_polygon).area
        < 1e-3
    )
    # no two cells overlap
    assert (
        sum(
            shapely.area(shapely.intersection(a, b))
            for i, a in enumerate(g.geometry)
            for b in g.geometry[i + 1 :]
        )
        < 1e-3
    )
    assert g["stations"].sum() == 9 and g["cameras"].sum() == 10
    assert g["trap_nights"].sum() == pytest.approx(8 * 9.5 + 7.5)
    assert list(g["cell_id"]) == list(range(1, len(g) + 1))


def test_square_grid_by_hand(tiny_survey):
    # 2 km squares aligned to multiples of 2 km: exactly 4 cells, S1..S9 split
    g = coverage.coverage_grid(tiny_survey, cell_size=2000)
    assert len(g) == 4
    assert np.allclose(g["area_km2"], 4.0)
    # north-west cell: [X0, X0+2000) x [Y0+2000, Y0+4000): S7 (1000,3000)
    # stations on shared edges/corners count once, in the lowest cell id
    nw = g.iloc[0]
    assert nw.geometry.bounds == (X0, Y0 + 2000, X0 + 2000, Y0 + 4000)
    # NW: S4 S5 S7 S8; NE: S6 S9; SW: S1 S2; SE: S3
    assert list(g["stations"]) == [4, 2, 2, 1]
    assert list(g["cameras"]) == [5, 2, 2, 1]
    # western cells lie in China; eastern ones are 3/4 Russia
    assert list(g[V.ZONE]) == ["China", "Russia", "China", "Russia"]


def test_grid_counts_distinct_individuals_and_na_without_effort(tiny_survey):
    big = _study(tiny_survey, box(X0 - 4000, Y0, X0 + 4000, Y0 + 4000))
    g = coverage.coverage_grid(big, cell_size=4000)
    assert len(g) == 2
    west, east = g.iloc[0], g.iloc[1]
    assert not west["effort"] and west["trap_nights"] == 0
    assert pd.isna(west["detections"]) and pd.isna(west["individuals"])
    assert np.isnan(west["detection_rate_per_100"])
    assert east["effort"] and east["individuals"] == 2 and east["detections"] == 7
    assert east["photos"] == 7 and east["stations"] == 9


def test_count_cameras_in_grid(tiny_survey):
    g1 = coverage.coverage_grid(tiny_survey, cell_size=4000)
    g2 = coverage.coverage_grid(tiny_survey, cell_size=4000, count_cameras=True)
    assert g2["trap_nights"].sum() - g1["trap_nights"].sum() == pytest.approx(9.5)


def test_grid_bad_arguments(tiny_survey):
    with pytest.raises(InputError, match="cell_size must be a positive number"):
        coverage.coverage_grid(tiny_survey, cell_size=0)
    with pytest.raises(InputError, match="shape must be 'square' or 'hex'"):
        coverage.coverage_grid(tiny_survey, shape="triangle")


def test_grid_without_study_area_warns(tiny_survey):
    with pytest.warns(TrapscapeWarning, match="union of its zones"):
        g = coverage.coverage_grid(_with(tiny_survey, study_area=None), cell_size=2000)
    assert g["area_km2"].sum() == pytest.approx(16.0)


@st.composite
def _polygons(draw):
    n = draw(st.integers(3, 9))
    ang = np.sort(
        np.array(
            draw(st.lists(st.floats(0, 2 * np.pi), min_size=n, max_size=n, unique=True))
        )
    )
    rad = np.array(draw(st.lists(st.floats(500, 8000), min_size=n, max_size=n)))
    cx = draw(st.floats(X0, X0 + 5000))
    cy = draw(st.floats(Y0, Y0 + 5000))
    pts = np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
    poly = shapely.make_valid(Polygon(pts))
    return poly


@settings(max_examples=40, deadline=None)
@given(_polygons(), st.floats(300, 5000), st.sampled_from(["square", "hex"]))
def test_grid_cells_partition_random_polygons(poly, size, shape):
    from conftest import make_tiny_survey

    poly = coverage._polygonal(poly)
    if poly.area < 1.0:
        return
    survey = _study(make_tiny_survey(), poly)
    g = coverage.coverage_grid(survey, cell_size=size, shape=shape)
    # overlay at UTM magnitudes (1e6 m) rounds vertices to ~1e-9 m: allow an
    # absolute error of perimeter x 1e-8 m (1e-4 m2 for a 10 km perimeter)
    tol = poly.length * 1e-8
    assert g["area_km2"].sum() * 1e6 == pytest.approx(poly.area, rel=1e-9, abs=tol)
    assert g.geometry.union_all().symmetric_difference(poly).area <= max(
        1e-6 * poly.area, tol
    )


# ------------------------------------------------------------ stats and gaps
def test_coverage_stats_by_hand():
    from conftest import make_tiny_survey

    # one station S5 only, study area 10 x 4 km; 1 km radius lies inside
    s = make_tiny_survey()
    st5 = s.stations[s.stations[V.STATION_ID] == "S5"]
    si = s.sightings[s.sightings[V.STATION_ID] == "S5"]
    s = _study(
        _with(s, stations=st5, sightings=si, problems=s.problems.iloc[:0]),
        box(X0, Y0, X0 + 10_000, Y0 + 4000),
    )
    g = coverage.coverage_grid(s, cell_size=2000)
    tab = coverage.coverage_stats(s, g, distance=1000).set_index(V.ZONE)
    tot = tab.loc["total"]
    assert tot["area_km2"] == pytest.approx(40.0)
    # S5 at (2000, 2000) touches 4 cells; it is counted in exactly one
    assert tot["cells_with_effort"] == 1 and tot["effort_area_km2"] == pytest.approx(
        4.0
    )
    assert tot["share_effort"] == pytest.approx(0.1)
    assert tot["within_distance_km2"] == pytest.approx(np.pi, rel=2e-3)
    assert tot["stations_operating"] == 1
    # zones: China x < 2500 (10 km2 in the study area), Russia 2500..4000 (6 km2)
    assert tab.loc["China", "area_km2"] == pytest.approx(10.0)
    assert tab.loc["Russia", "area_km2"] == pytest.approx(6.0)
    # the circle's part east of x = 2500 (a circular segment, d = 500 m)
    seg = np.arccos(0.5) - 0.5 * np.sqrt(0.75)
    assert tab.loc["Russia", "within_distance_km2"] == pytest.approx(seg, rel=2e-3)


def test_gaps_ranked_by_area(tiny_survey):
    s = _study(tiny_survey, box(X0, Y0, X0 + 12_000, Y0 + 4000))
    gp = coverage.gaps(s, distance=1000, min_area_km2=0.5)
    assert list(gp["rank"]) == list(range(1, len(gp) + 1))
    assert gp["area_km2"].is_monotonic_decreasing
    big = gp.iloc[0]
    # east of x = 4000 (stations end at 3000 + 1000) all is uncovered: 8 x 4 km
    assert big["area_km2"] > 32.0
    assert (gp["area_km2"] >= 0.5).all()
    assert big[V.ZONE] is None  # mostly outside the China/Russia zones of the fixture


def test_gaps_ignore_stations_without_effort(tiny_survey):
    pr = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: [f"S{i}/a" for i in range(1, 10)] + ["S5/b"],
            V.PROBLEM_FROM: pd.Timestamp("2024-06-01 12:00"),
            V.PROBLEM_TO: pd.Timestamp("2024-06-11 00:00"),
        }
    )
    gp = coverage.gaps(_with(tiny_survey, problems=pr), distance=1000, min_area_km2=0)
    assert len(gp) == 1 and gp["area_km2"].iat[0] == pytest.approx(16.0)


def test_stats_and_gaps_reuse_an_effort_report(tiny_survey):
    """report= gives the same operating stations (and results) as recomputing
    the operation matrix, also when the report counted cameras."""
    pr = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: [f"S{i}/a" for i in range(1, 10)] + ["S5/b"],
            V.PROBLEM_FROM: pd.Timestamp("2024-06-01 12:00"),
            V.PROBLEM_TO: pd.Timestamp("2024-06-11 00:00"),
        }
    )
    s = _with(tiny_survey, problems=pr)
    s = _study(s, box(X0, Y0, X0 + 12_000, Y0 + 4000))
    with pytest.warns(TrapscapeWarning, match="sighting"):  # photos on broken days
        rep = effort.effort_report(s, count_cameras=True, zones=False)
    ops = coverage._operating_points(s)
    assert list(coverage._operating_points(s, rep)[V.STATION_ID]) == list(
        ops[V.STATION_ID]
    )
    assert len(ops) < len(s.station_points)  # some stations never worked
    g = coverage.coverage_grid(s, cell_size=2000, report=rep)
    pd.testing.assert_frame_equal(
        coverage.coverage_stats(s, g, distance=1000, report=rep),
        coverage.coverage_stats(s, g, distance=1000),
    )
    a = coverage.gaps(s, distance=1000, min_area_km2=0, report=rep)
    b = coverage.gaps(s, distance=1000, min_area_km2=0)
    assert a.geometry.geom_equals(b.geometry).all()
    pd.testing.assert_frame_equal(
        a.drop(columns="geometry"), b.drop(columns="geometry")
    )


def test_covered_union_is_built_once_per_points_and_distance(tiny_survey):
    pts = tiny_survey.station_points
    first = coverage._covered(pts, 1000.0)
    assert coverage._covered(pts, 1000.0) is first  # reused
    other = coverage._covered(pts, 1500.0)
    assert other.area > first.area
    fewer = coverage._covered(pts.iloc[:3], 1500.0)
    assert fewer.area < other.area  # another point set is another key


# ---------------------------------------------------------------- pdot surface
def test_pdot_surface_matches_points(tiny_survey):
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    da = coverage.pdot_surface(tiny_survey, p, resolution=250)
    assert da.dims == ("y", "x") and da.shape == (16, 16)
    assert da.rio.crs.to_epsg() == 32652
    assert grid_of(da).bounds == (X0, Y0, X0 + 4000, Y0 + 4000)
    u = effort.station_usage(tiny_survey)
    gx, gy = np.meshgrid(da.x.values, da.y.values)
    ref = coverage.pdot_points(
        np.column_stack([gx.ravel(), gy.ravel()]), u.xy, u.usage, p
    )
    np.testing.assert_allclose(da.values.ravel(), ref, rtol=0, atol=1e-12)


def test_pdot_surface_nan_outside_and_hn(tiny_survey):
    tri = Polygon([(X0, Y0), (X0 + 4000, Y0), (X0, Y0 + 4000)])
    s = _study(tiny_survey, tri)
    p = DetectionParams(detectfn="HN", g0=0.1, lambda0=None, sigma=800.0)
    da = coverage.pdot_surface(s, p, resolution=500)
    v = da.values
    assert np.isnan(v[0, -1]) and np.isfinite(v[-1, 0])  # NE corner outside
    u = effort.station_usage(s)
    gx, gy = np.meshgrid(da.x.values, da.y.values)
    ref = coverage.pdot_points(
        np.column_stack([gx.ravel(), gy.ravel()]), u.xy, u.usage, p
    ).reshape(v.shape)
    ok = np.isfinite(v)
    np.testing.assert_allclose(v[ok], ref[ok], rtol=0, atol=1e-12)
    # 8 x 8 cells; centres with x + y < 4000 km are inside (28), the 8 on the
    # hypotenuse may go either way
    assert da.shape == (8, 8) and 28 <= ok.sum() <= 36


def test_pdot_summary_by_hand(tiny_survey):
    from trapscape._raster import grid_for_bounds, to_dataarray

    grid = grid_for_bounds((X0, Y0, X0 + 4000, Y0 + 4000), 1000, tiny_survey.crs)
    vals = np.full((4, 4), 0.2)
    vals[:, 3] = 0.95  # easternmost column (Russia)
    vals[0, 0] = np.nan
    da = to_dataarray(vals, grid, name="pdot", nodata=np.nan)
    tab = coverage.pdot_summary(tiny_survey, da).set_index(V.ZONE)
    assert tab.loc["total", "area_km2"] == pytest.approx(15.0)
    assert tab.loc["total", "esa_km2"] == pytest.approx(11 * 0.2 + 4 * 0.95)
    assert tab.loc["total", "share_pdot_gt_0_9"] == pytest.approx(4 / 15)
    # cell centres at x = 500, 1500 -> China; 2500 lies on the border; 3500 -> Russia
    assert tab.loc["Russia", "share_pdot_gt_0_5"] > 0
    assert tab.loc["China", "share_pdot_gt_0_5"] == 0.0


# ------------------------------------------------------------ regions
def _transboundary(survey):
    """The tiny survey as the Russian side, plus a Chinese park west of it.

    Study area and zone 'Russia': the 4 x 4 km box of the stations; zone
    'China' and the parks layer: a 6 x 4 km box west of it, without stations.
    """
    zones = gpd.GeoDataFrame(
        {V.NAME: ["China", "Russia"]},
        geometry=[box(X0 - 6000, Y0, X0, Y0 + 4000), box(X0, Y0, X0 + 4000, Y0 + 4000)],
        crs=survey.crs,
    )
    return _with(survey, zones=zones, parks=zones.iloc[[0]].copy())


def test_region_extends_grid_and_stats_over_the_park(tiny_survey):
    s = _transboundary(tiny_survey)
    g = coverage.coverage_grid(s, cell_size=2000, region="study_area+parks")
    region = s.region("study_area+parks")
    # the cells still partition the (wider) region exactly
    assert g["area_km2"].sum() == pytest.approx(40.0, rel=1e-12)
    assert g.geometry.union_all().symmetric_difference(region).area < 1e-3
    assert g.geometry.area.sum() == pytest.approx(region.area, rel=1e-12)
    assert g.geometry.union_all().bounds == (X0 - 6000, Y0, X0 + 4000, Y0 + 4000)
    assert set(g[V.ZONE]) == {"China", "Russia"}
    assert not g.loc[g[V.ZONE] == "China", "effort"].any()
    assert g["stations"].sum() == 9  # every station is still counted once
    assert len(g) == 10  # 2 km cells line up with the border at x = X0
    st = coverage.coverage_stats(
        s, g, distance=1500, region="study_area+parks"
    ).set_index(V.ZONE)
    assert list(st.index) == ["China", "Russia", "total"]
    assert st.loc["China", "area_km2"] == pytest.approx(24.0)
    assert st.loc["total", "area_km2"] == pytest.approx(40.0)
    assert st.loc["China", "stations_operating"] == 0
    assert st.loc["China", "cells_with_effort"] == 0
    assert st.loc["China", "effort_area_km2"] == 0.0
    # the 1.5 km buffers of the western stations (x = X0 + 1 km) reach 0.5 km
    # into China: part of a lens, far less than the 2 km2 of a 0.5 km strip
    assert 0 < st.loc["China", "within_distance_km2"] < 2.0
    # Russia's numbers do not depend on the region (the same cells, the same
    # buffers); only the total's area grows
    base = coverage.coverage_stats(
        s, coverage.coverage_grid(s, cell_size=2000), distance=1500
    ).set_index(V.ZONE)
    assert list(base.index) == ["Russia", "total"]
    pd.testing.assert_series_equal(
        st.loc["Russia", ["area_km2", "effort_area_km2", "within_distance_km2"]],
        base.loc["Russia", ["area_km2", "effort_area_km2", "within_distance_km2"]],
        rtol=1e-9,
    )
    gp = coverage.gaps(s, distance=1500, region="study_area+parks")
    assert gp["area_km2"].sum() == pytest.approx(
        40.0 - st.loc["total", "within_distance_km2"], rel=1e-6
    )
    assert gp[V.ZONE].iat[0] == "China"  # the park is the largest gap
    assert coverage.gaps(s, distance=1500)[V.ZONE].isin(["Russia"]).all()


def test_region_pdot_covers_the_park(tiny_survey):
    s = _transboundary(tiny_survey)
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    wide = coverage.pdot_surface(s, p, resolution=500, region="study_area+parks")
    assert grid_of(wide).bounds == (X0 - 6000, Y0, X0 + 4000, Y0 + 4000)
    assert np.isfinite(wide.values).all()  # the region fills its bounding box
    assert wide.attrs["region"] == "study_area+parks"
    # pdot falls off westward into the park with distance from the stations
    west = wide.sel(x=slice(X0 - 6000, X0)).values
    assert west.max() < wide.values.max() and west.min() < 1e-6
    summ = coverage.pdot_summary(s, wide).set_index(V.ZONE)
    assert list(summ.index) == ["China", "Russia", "total"]
    assert summ.loc["China", "area_km2"] == pytest.approx(24.0)
    assert summ.loc["total", "area_km2"] == pytest.approx(40.0)
    assert summ.loc["China", "esa_km2"] < summ.loc["Russia", "esa_km2"]
    # the default surface is the study-area part of the wide one, and
    # summarising the wide one over the study area gives the default table
    narrow = coverage.pdot_surface(s, p, resolution=500)
    np.testing.assert_allclose(
        wide.sel(x=narrow.x, y=narrow.y).values, narrow.values, rtol=0, atol=1e-12
    )
    pd.testing.assert_frame_equal(
        coverage.pdot_summary(s, wide, region="study_area"),
        coverage.pdot_summary(s, narrow),
    )
    only_park = coverage.pdot_summary(s, wide, region="parks").set_index(V.ZONE)
    assert list(only_park.index) == ["China", "total"]
    assert only_park.loc["total", "esa_km2"] == pytest.approx(
        summ.loc["China", "esa_km2"]
    )


def test_region_default_is_the_study_area(tiny_survey):
    s = _transboundary(tiny_survey)
    g = coverage.coverage_grid(s, cell_size=1500)
    for region in ("study_area", s.study_area, s.study_polygon):
        other = coverage.coverage_grid(s, cell_size=1500, region=region)
        pd.testing.assert_frame_equal(
            pd.DataFrame(other.drop(columns="geometry")),
            pd.DataFrame(g.drop(columns="geometry")),
        )
        assert other.geometry.geom_equals(g.geometry).all()
    assert g["area_km2"].sum() == pytest.approx(16.0)
    st = coverage.coverage_stats(s, g)
    assert list(st[V.ZONE]) == ["Russia", "total"]
    # the park alone is a region too
    park = coverage.coverage_grid(s, cell_size=1500, region="parks")
    assert park["area_km2"].sum() == pytest.approx(24.0)
    assert park["stations"].sum() == 0


def test_region_errors(tiny_survey):
    s = _transboundary(tiny_survey)
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    calls = [
        lambda r: coverage.coverage_grid(s, region=r),
        lambda r: coverage.coverage_stats(s, coverage.coverage_grid(s), region=r),
        lambda r: coverage.gaps(s, region=r),
        lambda r: coverage.pdot_surface(s, p, resolution=500, region=r),
    ]
    for call in calls:
        with pytest.raises(InputError, match="Unknown region 'everywhere'"):
            call("everywhere")
    no_parks = _with(s, parks=None)
    with pytest.raises(InputError, match=r"\[boundaries\] parks"):
        coverage.coverage_grid(no_parks, region="study_area+parks")
    with pytest.raises(InputError, match=r"\[boundaries\] parks"):
        coverage.pdot_summary(
            no_parks, coverage.pdot_surface(s, p, resolution=500), region="parks"
        )


# ------------------------------------------------------ agreement with secr
DATA = Path(__file__).parent / "data" / "coverage"


@pytest.mark.parametrize("detectfn", ["HHN", "HN"])
def test_pdot_matches_secr_esa(detectfn):
    """sum(pdot) x cell area over secr's mask equals secr's derived esa."""
    ref = json.loads((DATA / "secr_esa.json").read_text())[detectfn]
    traps = pd.read_csv(DATA / "secr_traps.csv")[["x", "y"]].to_numpy(float)
    mask = pd.read_csv(DATA / "secr_mask_spacing10.csv")[["x", "y"]].to_numpy(float)
    if detectfn == "HHN":
        p = DetectionParams(lambda0=ref["lambda0"], sigma=ref["sigma"])
    else:
        p = DetectionParams(
            detectfn="HN", g0=ref["g0"], lambda0=None, sigma=ref["sigma"]
        )
    usage = np.ones((len(traps), ref["n_occasions"]))  # 5 occasions of 1 day
    esa = coverage.pdot_points(mask, traps, usage, p).sum() * ref["cell_area_ha"]
    assert esa == pytest.approx(ref["esa_ha"], rel=1e-10)


def test_grids_over_the_memory_budget_are_refused_with_a_size_that_fits(tiny_survey):
    import re

    from trapscape.errors import ComputationError

    p = DetectionParams(sigma=400.0, lambda0=0.05)
    with pytest.raises(ComputationError) as err:
        coverage.pdot_surface(tiny_survey, p, resolution=1.0, max_memory_gb=0.001)
    msg = str(err.value)
    assert "cells would need about" in msg and "0.001 GiB" in msg
    assert "Use a resolution of" in msg and "(now 1 m)" in msg
    fits = float(re.search(r"resolution of (\d+) m", msg).group(1))
    da = coverage.pdot_surface(tiny_survey, p, resolution=fits, max_memory_gb=0.001)
    assert float(da.max()) > 0
    with pytest.raises(ComputationError, match=r"Use a cell_size of \d+ m or larger"):
        coverage.coverage_grid(tiny_survey, cell_size=1.0, max_memory_gb=0.001)
