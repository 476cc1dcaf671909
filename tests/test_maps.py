"""Tests of the interactive map builder (trapscape.present.maps)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import X0, Y0, make_tiny_survey

from trapscape._raster import grid_for_bounds, to_dataarray
from trapscape.errors import MissingDependencyError
from trapscape.present import maps
from trapscape.present._style import class_breaks, class_labels, fmt_number
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
    assert "Camera stations" in html and "circle size: trap-nights (10–10)" in html


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


# --------------------------------------------------------- issue 14: the map
def _full_products(s):
    """Stations, pdot, hotspots, corridors, paths and proposed stations."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    st = s.station_points.assign(
        trap_nights=np.linspace(10, 90, 9), detections=[0, 1, 2, 0, 5, 0, 0, 1, 9]
    )
    line = [(X0 + 2500, Y0 + k * 1000) for k in range(5)]
    hs = gpd.GeoDataFrame(
        {
            "segment_id": range(4),
            "score": [0.9, 0.5, 0.2, 1.8e-12],
            "rank": [1, 2, 3, 4],
            "detour_cost": [1.8e-12, 10.0, 20.0, 30.0],
        },
        geometry=[LineString(line[i : i + 2]) for i in range(4)],
        crs=s.crs,
    )
    cor = gpd.GeoDataFrame(
        {
            "core_a": ["land_of_the_leopard_national_park"],
            "core_b": ["china_core_two"],
            "least_cost": [11201.991452],
        },
        geometry=[box(X0 + 1000, Y0 + 1500, X0 + 3000, Y0 + 2500)],
        crs=s.crs,
    )
    paths = gpd.GeoDataFrame(
        {
            "core_a": ["a"],
            "core_b": ["b"],
            "cost": [11201.991452],
            "length_m": [2000.0],
        },
        geometry=[LineString([(X0 + 1000, Y0 + 2000), (X0 + 3000, Y0 + 2000)])],
        crs=s.crs,
    )
    prop = gpd.GeoDataFrame(
        {"station_id": ["P001", "P002"], "order": [1, 2], "zone": ["China", "Russia"]},
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 3500, Y0 + 3500)],
        crs=s.crs,
    )
    return RunProducts(
        stations=st,
        pdot=_pdot(s),
        border_hotspots=hs,
        corridors=cor,
        corridor_paths=paths,
        proposed=prop,
    )


def test_map_is_offline_by_default_and_needs_no_cdn(tmp_path: Path) -> None:
    s = make_tiny_survey()
    html = maps.save_map(
        maps.survey_map(s, _full_products(s)), tmp_path / "m.html"
    ).read_text()
    assert not re.search(r'<script[^>]+src="https?://', html)
    assert not re.search(r'<link[^>]+href="https?://', html)
    for cdn in ("jquery", "bootstrap", "awesome-markers", "font-awesome", "cdn."):
        assert cdn not in html.lower().replace("leaflet.awesome", ""), cdn
    assert "$(" not in html.split("</script>", 2)[-1]  # no jQuery calls in our code
    online = maps.render_html(maps.survey_map(s), offline=False)
    assert maps.LEAFLET_JS in online  # opting out links the CDN


def test_border_is_drawn_last_in_the_highest_pane() -> None:
    s = make_tiny_survey()
    html = maps.survey_map(s, _full_products(s), labels=False).get_root().render()
    i_border = html.index('"className": "ts-border"')
    for other in ("ts_raster", '"className": "ts-border-casing"'):
        assert html.index(other) < i_border
    # every other GeoJSON layer is created before the border
    geo = [m.start() for m in re.finditer(r"L\.geoJson\(", html)]
    assert geo and max(geo) < i_border
    z = {
        m.group(1): int(m.group(2))
        for m in re.finditer(
            r'createPane\(\s*"(\w+)"\);\s*\w+\.style\.zIndex = (\d+)', html
        )
    }
    assert z["ts_border"] > 600 and z["ts_border"] > z["ts_raster"]  # above markers


def test_legend_blocks_name_their_layers_and_state_numbers() -> None:
    s = make_tiny_survey()
    m = maps.survey_map(s, _full_products(s))
    html = m.get_root().render()
    blocks = re.findall(r'data-layer="(feature_group_\w+)"><b>([^<]+)</b>', html)
    names = [b[1] for b in blocks]
    for title in (
        "Detection probability (pdot)",
        "Camera stations",
        "International border",
        "Border-crossing hotspots (top 10 thick)",
        "Least-cost corridors",
        "Least-cost paths",
        "Proposed new stations",
    ):
        assert title in names, title
    for var, _title in blocks:  # each block points at a layer of the map
        assert f"var {var} = L.featureGroup" in html
    assert "overlayadd overlayremove" in html  # legend follows the visible layers
    assert "0.8–1 probability" in html and "5–9 detections" in html
    assert "low" not in re.findall(r'class="ts-li">.*?</div>', html)
    assert 'collapsed": true' in html or '"collapsed": true' in html


def test_labels_popups_and_proposed_coordinates() -> None:
    s = make_tiny_survey()
    prods = _full_products(s)
    html = maps.survey_map(s, prods).get_root().render()
    for kind, name in (("country", "China"), ("country", "Russia"), ("park", "Russia")):
        assert f'ts-label-{kind}\\"\\u003e{name}\\u003c' in html, (kind, name)
    # human labels with units, rounded numbers, readable names
    assert '"Trap-nights"' in html and '"Detections (independent events)"' in html
    assert '"Least cost (cost-distance units)"' in html and "11,202" in html
    assert "11201.99" not in html and "1.8e-12" not in html
    assert "Land of the leopard national park" in html
    assert '"Latitude (WGS 84)"' in html and '"lat"' in html
    assert 'class_name": "ts-proposed"' in html or "ts-proposed" in html


def test_public_map_hides_proposed_coordinates() -> None:
    s = make_tiny_survey()
    p = _full_products(s)
    pub = RunProducts(
        pdot=p.pdot, proposed=p.proposed, border_hotspots=p.border_hotspots
    )
    html = maps.survey_map(s, pub, public=True).get_root().render()
    assert "Latitude (WGS 84)" not in html and '"lat"' not in html
    with pytest.raises(Exception, match="exact layers"):
        maps.survey_map(s, p, public=True)


def test_land_sea_and_outside_are_distinct() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    s = make_tiny_survey()
    land = gpd.GeoDataFrame(
        {"name": ["land"]},
        geometry=[box(X0 - 5000, Y0 - 5000, X0 + 3000, Y0 + 9000)],
        crs=s.crs,
    )
    s2 = s.__class__(**{**s.__dict__, "habitat": land})
    html = maps.survey_map(s2).get_root().render()
    from trapscape.present._style import COLORS

    assert COLORS["sea"] in html and COLORS["land"] in html
    assert f"background:{COLORS['outside']}" in html  # beyond the data: not sea


def test_number_formats_and_classes() -> None:
    assert fmt_number(11201.991452) == "11,202"
    assert fmt_number(1.818989e-12) == "0"
    assert fmt_number(0.019194) == "0.0192"
    assert class_labels([1, 4, 8], "detections", integer=True) == [
        "1–4 detections",
        "5–8 detections",
    ]
    e = class_breaks([0.1, 0.2, 0.5, 0.9], 2, start=0.0)
    assert e[0] == 0.0 and e[-1] == 0.9


def test_home_range_colours_differ_where_ranges_touch() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from trapscape.present._style import distinct_colors

    pts = [Point(i * 800.0, 0).buffer(1000) for i in range(12)]
    g = gpd.GeoDataFrame(
        {"individual_id": [f"M{i:02d}" for i in range(12)]}, geometry=pts
    )
    col = distinct_colors(g, "individual_id")
    for i in range(11):
        for j in range(i + 1, 12):
            if pts[i].intersects(pts[j]):
                assert col[f"M{i:02d}"] != col[f"M{j:02d}"]
