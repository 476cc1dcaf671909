"""Tests of the interactive map builder (trapscape.present.maps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import X0, Y0, make_tiny_survey

from trapscape._raster import grid_for_bounds, to_dataarray
from trapscape.errors import MissingDependencyError
from trapscape.present import maps
from trapscape.products import RunProducts


def _pdot(survey):
    grid = grid_for_bounds((X0, Y0, X0 + 4000, Y0 + 4000), 500.0, survey.crs)
    yy, xx = np.meshgrid(grid.ys, grid.xs, indexing="ij")
    vals = np.exp(-((xx - X0 - 2000) ** 2 + (yy - Y0 - 2000) ** 2) / 2e6)
    return to_dataarray(vals, grid, name="pdot")


def test_survey_map_has_layers_and_legend(tmp_path: Path) -> None:
    s = make_tiny_survey()
    st = s.station_points.assign(
        trap_nights=np.linspace(1, 9, 9), detections=[0, 1, 2, 0, 5, 0, 0, 1, 1]
    )
    m = maps.survey_map(s, products=RunProducts(stations=st, pdot=_pdot(s)))
    path = maps.save_map(m, tmp_path / "map.html")
    html = path.read_text()
    for name in (
        "Camera stations",
        "Detection probability (pdot)",
        "International border",
        "Study area",
        "Park (approximate boundary)",
    ):
        assert name in html, name
    assert "L.control.layers" in html
    assert "ts-legend" in html
    assert "data:image/png;base64," in html  # pdot overlay embedded
    assert "S5" in html  # station popup / tooltip


def test_save_map_is_deterministic(tmp_path: Path) -> None:
    s = make_tiny_survey()
    a = maps.save_map(maps.survey_map(s), tmp_path / "a.html").read_text()
    b = maps.save_map(maps.survey_map(s), tmp_path / "b.html").read_text()
    assert a == b
    assert a.count("map_00000000000000000000000000000000") >= 1


def test_offline_inlines_leaflet(tmp_path: Path) -> None:
    s = make_tiny_survey()
    html = maps.save_map(
        maps.survey_map(s), tmp_path / "m.html", offline=True
    ).read_text()
    assert "<script src=" not in html
    assert 'rel="stylesheet" href="http' not in html
    assert "leaflet-control-layers" in html  # the inlined CSS
    assert "url(images/" not in html  # images inlined as data URIs


def test_leaflet_comes_from_the_xstatic_package() -> None:
    from xstatic.pkg import leaflet

    assert maps.find_leaflet() == Path(leaflet.BASE_DIR)
    js = maps.offline_assets()["js"]
    assert f"Leaflet {leaflet.VERSION}" in js[:200]


def test_survey_map_takes_run_products() -> None:
    s = make_tiny_survey()
    st = s.station_points.assign(trap_nights=10.0, detections=1)
    html = maps.survey_map(s, RunProducts(stations=st)).get_root().render()
    assert "Camera stations" in html and "Stations (size: trap-nights)" in html


def test_offline_without_assets_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="xstatic-leaflet"):
        maps.offline_assets(tmp_path / "nowhere")


def test_raster_overlay_bounds_are_lonlat() -> None:
    s = make_tiny_survey()
    png, ((south, west), (north, east)) = maps.raster_overlay_png(_pdot(s))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    ll = s.study_area.to_crs(4326).total_bounds
    assert west == pytest.approx(ll[0], abs=0.01) and east == pytest.approx(
        ll[2], abs=0.01
    )
    assert south == pytest.approx(ll[1], abs=0.01) and north == pytest.approx(
        ll[3], abs=0.01
    )


def test_map_without_tiles_has_no_tile_layer(tmp_path: Path) -> None:
    html = maps.save_map(
        maps.survey_map(make_tiny_survey()), tmp_path / "m.html"
    ).read_text()
    assert "L.tileLayer" not in html
    html2 = maps.save_map(
        maps.survey_map(make_tiny_survey(), tiles="OpenStreetMap"), tmp_path / "m2.html"
    ).read_text()
    assert "L.tileLayer" in html2
