"""Errors, CRS helpers, the Survey model and the raster grid."""

from __future__ import annotations

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
