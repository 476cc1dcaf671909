"""Errors, CRS helpers, the Survey model and the raster grid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trapscape import crs as tcrs
from trapscape._raster import grid_for_bounds, read_geotiff, to_dataarray, write_geotiff
from trapscape.errors import CRSError, InputError, ProblemCollector, SchemaError


def test_problem_collector_lists_every_problem():
    pc = ProblemCollector(SchemaError)
    pc.add("missing", path="a.csv", column="setup")
    pc.add("not a date", path="a.csv", row=4, column="retrieval")
    with pytest.raises(SchemaError, match="2 problems") as info:
        pc.raise_if_any()
    assert "a.csv row 4, column 'retrieval'" in str(info.value)
    assert info.value.row is None and len(info.value.problems) == 2
    assert isinstance(info.value, InputError)


def test_problem_collector_raises_the_class_of_its_kinds():
    pc = ProblemCollector()
    pc.add("no CRS", path="a.gpkg", kind="crs")
    with pytest.raises(CRSError, match="no CRS"):
        pc.raise_if_any()
    pc.add("column missing", path="a.gpkg", kind="schema")
    err = pc.error()
    assert type(err) is InputError and len(err.problems) == 2
    schema = ProblemCollector()
    schema.add("column missing", column="setup", kind="schema")
    assert type(schema.error()) is SchemaError


def test_problem_collector_keeps_and_dedupes():
    pc = ProblemCollector()
    for row in (1, 2, 2, 3):
        pc.add("bad", path="a.csv", row=row, column="c")
    pc.drop_duplicates()
    assert [p.row for p in pc.problems] == [1, 2, 3] and len(pc.kinds) == 3
    pc.keep(lambda p: p.row != 1, since=1)
    assert [p.row for p in pc.problems] == [1, 2, 3]
    pc.keep(lambda p: p.row != 2)
    assert [p.row for p in pc.problems] == [1, 3]
    assert not pc.has_kind("schema") and pc.has_kind("value", since=1)


def test_utm_zone_for_primorye():
    assert tcrs.utm_crs(131.4, 43.0).to_epsg() == 32652
    assert tcrs.utm_crs(-70, -33).to_epsg() == 32719


def test_require_projected_refuses_degrees():
    with pytest.raises(CRSError, match="projected CRS in metres"):
        tcrs.require_projected(tcrs.as_crs(4326))
    assert tcrs.require_projected(tcrs.as_crs(32652)).to_epsg() == 32652


@settings(max_examples=50, deadline=None)
@given(st.floats(129.0, 134.0), st.floats(41.5, 45.5))
def test_projection_round_trip_within_1mm(lon, lat):
    import pyproj

    fwd = pyproj.Transformer.from_crs(4326, 32652, always_xy=True)
    inv = pyproj.Transformer.from_crs(32652, 4326, always_xy=True)
    x, y = fwd.transform(lon, lat)
    lon2, lat2 = inv.transform(x, y)
    x2, y2 = fwd.transform(lon2, lat2)
    assert abs(x2 - x) < 1e-3 and abs(y2 - y) < 1e-3


def test_survey_summary(tiny_survey):
    s = tiny_survey.summary()
    assert s["stations"] == 9 and s["cameras"] == 10
    assert s["individuals"] == 2 and s["sightings"] == 7
    assert s["study_area_km2"] == 16.0
    assert s["crs"] == "EPSG:32652"


def test_survey_rejects_mixed_crs(tiny_survey):
    from dataclasses import replace

    with pytest.raises(CRSError, match="zones"):
        replace(tiny_survey, zones=tiny_survey.zones.to_crs(4326))


def test_zone_of(tiny_survey):
    zones = tiny_survey.zone_of(tiny_survey.station_points)
    assert list(zones[:3]) == ["China", "China", "Russia"]


def test_geotiff_round_trip(tmp_path):
    grid = grid_for_bounds((500_000, 4_760_000, 501_000, 4_760_500), 100, 32652)
    assert grid.shape == (5, 10)
    vals = np.arange(50, dtype="float32").reshape(5, 10)
    write_geotiff(to_dataarray(vals, grid, nodata=-1), tmp_path / "a.tif")
    back = read_geotiff(tmp_path / "a.tif")
    np.testing.assert_array_equal(back.values, vals)
    assert back.x.values[0] == 500_050 and back.y.values[0] == 4_760_450


# ------------------------------------------------------------------ Survey.region
def test_survey_region_names(tiny_survey):
    from shapely.geometry import box

    from trapscape import planning
    from trapscape.survey import REGIONS

    x0, y0 = 500_000.0, 4_760_000.0
    study = tiny_survey.region()
    assert study.equals(tiny_survey.study_polygon) and study.area == 16e6
    parks = tiny_survey.region("parks")  # the 'Russia' box, east of the border
    assert parks.equals(box(x0 + 2500, y0, x0 + 4000, y0 + 4000))
    # a park reaching beyond the study area extends the union
    wide = tiny_survey.parks.copy()
    wide["geometry"] = [box(x0 + 2500, y0, x0 + 9000, y0 + 4000)]
    s = replace(tiny_survey, parks=wide)
    both = s.region("study_area+parks")
    assert both.area == pytest.approx(36e6)
    assert s.region(" Parks + Study_Area").equals(both)
    # the planning alias gives the same geometry for every name
    for name in REGIONS:
        assert planning.region_polygon(s, name).equals(s.region(name))
    assert planning.REGIONS == REGIONS


def test_survey_region_polygons(tiny_survey):
    import geopandas as gpd
    from shapely.geometry import box

    poly = box(500_000, 4_760_000, 501_000, 4_761_000)
    assert tiny_survey.region(poly) is poly
    layer = gpd.GeoDataFrame(geometry=[poly], crs=32652).to_crs(32653)
    assert tiny_survey.region(layer).area == pytest.approx(1e6, rel=1e-6)
    with pytest.raises(CRSError):
        tiny_survey.region(layer.to_crs(4326))


def test_survey_region_errors(tiny_survey):
    import geopandas as gpd
    from shapely.geometry import Point

    with pytest.raises(InputError, match="Unknown region 'everywhere'"):
        tiny_survey.region("everywhere")
    with pytest.raises(InputError, match="GeoDataFrame"):
        tiny_survey.region(42)
    pts = gpd.GeoDataFrame(geometry=[Point(500_500, 4_760_500)], crs=32652)
    with pytest.raises(InputError, match="no area"):
        tiny_survey.region(pts)
    no_parks = replace(tiny_survey, parks=None)
    for name in ("parks", "study_area+parks"):
        with pytest.raises(InputError, match=r"\[boundaries\] parks"):
            no_parks.region(name)
    no_study = replace(tiny_survey, study_area=None)
    with pytest.raises(InputError, match=r"\[boundaries\] study_area"):
        no_study.region("study_area+parks")


def test_survey_region_without_study_area_falls_back_to_station_hull(tiny_survey):
    from trapscape.errors import TrapscapeWarning

    no_study = replace(tiny_survey, study_area=None)
    with pytest.warns(TrapscapeWarning, match="no study area") as rec:
        hull = no_study.region()
    assert rec[0].filename == __file__  # points at the caller, not trapscape
    # 2 x 2 km hull of the stations buffered by 5 km: 4 + 4*2*5 + pi*25 km2
    # (the buffer's arcs are polygons, slightly inside the true circle)
    assert hull.area / 1e6 == pytest.approx(4 + 40 + np.pi * 25, rel=2e-3)


def test_sex_classes_weight_by_share():
    from trapscape.coverage import pdot_points
    from trapscape.detection import DetectionParams

    base = DetectionParams(sigma=900.0, lambda0=0.03)
    p = DetectionParams(
        sigma=900.0,
        lambda0=0.03,
        by_sex={
            "F": {"sigma": 600.0, "share": 3.0},
            "M": {"sigma": 1500.0, "share": 1.0},
        },
    )
    assert [(w, c.sigma) for w, c in p.sex_classes()] == [(0.75, 600.0), (0.25, 1500.0)]
    assert [w for w, _ in base.sex_classes()] == [1.0]
    pts = np.array([[0.0, 0.0], [800.0, 300.0], [3000.0, 0.0]])
    traps = np.array([[100.0, 0.0], [900.0, 900.0]])
    days = np.array([30.0, 12.5])
    from dataclasses import replace

    f = pdot_points(pts, traps, days, replace(base, sigma=600.0))
    m = pdot_points(pts, traps, days, replace(base, sigma=1500.0))
    np.testing.assert_allclose(
        pdot_points(pts, traps, days, p), 0.75 * f + 0.25 * m, rtol=1e-12
    )


@pytest.mark.parametrize(
    ("by_sex", "match"),
    [
        (
            {"F": {"sigma": 600.0, "share": 0.5}, "M": {"sigma": 900.0}},
            "every sex or for none",
        ),
        ({"F": {"sigmaa": 600.0}}, "unknown key"),
        ({"F": {"share": 0.0}}, "share must be positive"),
    ],
)
def test_sex_classes_bad_input(by_sex, match):
    from trapscape.detection import DetectionParams

    with pytest.raises(InputError, match=match):
        DetectionParams(sigma=900.0, lambda0=0.03, by_sex=by_sex).sex_classes()


def test_individual_ids_one_rule_for_named_sightings(tiny_survey):
    import pandas as pd

    from trapscape import validation as V

    si = pd.DataFrame(
        {V.INDIVIDUAL_ID: ["L1", None, "", pd.NA, "L2", 7]}, index=[5, 6, 7, 8, 9, 10]
    )
    ids = V.individual_ids(si)
    assert ids.name == V.INDIVIDUAL_ID and list(ids.index) == [5, 6, 7, 8, 9, 10]
    assert ids.dtype == object
    assert list(ids.isna()) == [False, True, True, True, False, False]
    assert list(ids.dropna()) == ["L1", "L2", "7"]  # text, numbers included
    # a string column with missing values, and no column at all
    s2 = pd.DataFrame({V.INDIVIDUAL_ID: pd.array(["a", None, ""], dtype="string")})
    assert list(V.individual_ids(s2).isna()) == [False, True, True]
    none = V.individual_ids(si.drop(columns=V.INDIVIDUAL_ID))
    assert none.isna().all() and len(none) == 6
    # Survey.identified is the same rule
    sv = tiny_survey
    assert list(sv.identified.index) == list(
        sv.sightings.index[V.individual_ids(sv.sightings).notna()]
    )
    assert 0 < len(sv.identified) < len(sv.sightings)


def test_to_dataarray_without_copy_wraps_the_array() -> None:
    """copy=False: same georeferenced DataArray, holding the caller's array."""
    import xarray as xr

    grid = grid_for_bounds(
        (500_000.0, 4_000_000.0, 500_500.0, 4_000_300.0), 100.0, 32652
    )
    vals = np.arange(grid.height * grid.width, dtype=float).reshape(grid.shape)
    copied = to_dataarray(vals, grid, name="v", nodata=np.nan)
    wrapped = to_dataarray(vals, grid, name="v", nodata=np.nan, copy=False)
    xr.testing.assert_identical(copied, wrapped)
    assert wrapped.rio.crs == copied.rio.crs and wrapped.rio.nodata is not None
    assert np.shares_memory(wrapped.values, vals)
    assert not np.shares_memory(copied.values, vals)
