"""The bundled Land of the Leopard example and its boundary layers."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
import rasterio
import shapely

from trapscape import datasets
from trapscape import validation as V
from trapscape.errors import InputError

VECTORS = (
    "countries",
    "border",
    "land",
    "rivers",
    "coastline",
    "settlements",
    "park",
    "parks",
    "study_area",
    "china_sector",
)
APPROX = ("park", "parks", "study_area", "china_sector")


@pytest.fixture(scope="module")
def example():
    from trapscape.project import load_project

    return load_project(datasets.get_path("example")).survey


def test_get_path() -> None:
    p = datasets.get_path("example")
    assert p.name == "survey.toml" and p.is_file()
    assert datasets.get_path("park").name == "park.gpkg"
    assert datasets.get_path("elevation.tif").is_file()
    assert datasets.get_path("example_truth").name == "truth.json"
    assert "countries.gpkg" in datasets.available()


def test_get_path_missing() -> None:
    with pytest.raises(InputError, match=r"No bundled data file named 'nope.gpkg'"):
        datasets.get_path("nope.gpkg")


@pytest.mark.parametrize("name", VECTORS)
def test_vector_layers_open_with_crs(name: str) -> None:
    path = datasets.get_path(f"{name}.gpkg")
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:4326"
    assert "name" in list(info["fields"])
    gdf = gpd.read_file(path)
    assert len(gdf) >= 1 and gdf.is_valid.all() and not gdf.is_empty.any()
    meta = info.get("layer_metadata") or {}
    assert meta.get("DESCRIPTION")
    if name in APPROX:
        assert "APPROXIMATE" in meta["DESCRIPTION"]
        assert "not a legal boundary" in meta["warning"]
    if name in ("countries", "border"):
        assert "OpenStreetMap contributors" in meta["DESCRIPTION"]


@pytest.mark.parametrize("name", ["elevation", "landcover"])
def test_rasters_open_with_crs(name: str) -> None:
    with rasterio.open(datasets.get_path(f"{name}.tif")) as r:
        assert r.crs.to_epsg() == 4326
        left, bottom, right, top = r.bounds
        assert left <= 129.81 and right >= 132.19 and bottom <= 42.21 and top >= 44.39
        assert r.tags()["LICENSE"]


def test_boundary_areas_and_names() -> None:
    countries = gpd.read_file(datasets.get_path("countries"))
    assert set(countries["name"]) == {"Russia", "China", "North Korea"}
    assert set(countries["iso_a3"]) == {"RUS", "CHN", "PRK"}
    border = gpd.read_file(datasets.get_path("border"))
    assert "China–Russia" in set(border["name"])
    park = gpd.read_file(datasets.get_path("park")).to_crs(32652)
    areas = dict(zip(park["name"], park.area / 1e6, strict=True))
    assert areas["Land of the Leopard National Park (approximate)"] == pytest.approx(
        2800, rel=0.03
    )
    assert areas["Kedrovaya Pad Nature Reserve (approximate)"] == pytest.approx(
        180, rel=0.05
    )
    study = gpd.read_file(datasets.get_path("study_area")).to_crs(32652)
    assert study.area.sum() / 1e6 == pytest.approx(3600, rel=0.03)
    # park inside the study area, both on the Russian side
    rus = countries.to_crs(32652).set_index("name").geometry["Russia"].buffer(200)
    park_g = park.geometry.iloc[0]
    assert study.geometry.iloc[0].buffer(200).contains(park_g)
    assert rus.contains(study.geometry.iloc[0])
    # the park runs from the Tumen end to about 43.9 N
    lat = gpd.GeoSeries([park_g], crs=32652).to_crs(4326).total_bounds
    assert lat[1] < 42.5 and 43.8 < lat[3] < 43.97
    sector = gpd.read_file(datasets.get_path("china_sector")).to_crs(32652)
    chn = countries.to_crs(32652).set_index("name").geometry["China"].buffer(200)
    assert chn.contains(sector.geometry.iloc[0])


def test_sources_attribution() -> None:
    text = datasets.get_path("SOURCES.md").read_text(encoding="utf-8")
    for needle in (
        "NOT LEGAL BOUNDARIES",
        "© OpenStreetMap contributors",
        "ODbL",
        "GeoNames",
        "CC BY 4.0",
        "LGPL",
        "ETOPO1",
        "public domain",
        "doi:10.5067/MODIS/MCD12C1.006",
    ):
        assert needle in text, needle


def test_example_reads(example) -> None:
    s = example
    assert s.crs.to_epsg() == 32652
    ids = s.stations[V.STATION_ID].drop_duplicates()
    n_ru = int(ids.str.startswith("S").sum())
    n_cn = int(ids.str.startswith("CH").sum())
    assert 180 <= n_ru <= 230 and 20 <= n_cn <= 60
    assert 380 <= int(s.stations[V.STATION_ID].str.startswith("S").sum()) <= 460
    assert 9_000 <= len(s.sightings) <= 11_000
    assert set(s.sightings[V.SPECIES]) == {"Panthera pardus orientalis"}
    assert s.summary()["span_days"] == 90.0
    assert s.summary()["study_area_km2"] == pytest.approx(3600, rel=0.03)
    assert set(s.zones["name"]) >= {"Russia", "China"}
    assert len(s.parks) == 3 and len(s.border) >= 1


def test_example_truth(example) -> None:
    truth = json.loads(datasets.get_path("example_truth").read_text(encoding="utf-8"))
    assert 52 <= truth["n_in_study_area"] <= 62
    sector = [
        v for k, v in truth["n_in_parks"].items() if k.startswith("Northeast China")
    ]
    assert sector and 8 <= sector[0] <= 12
    assert truth["n_detected_in_several_zones"] > 0
    assert 0.05 <= truth["camera_days_lost_share"] <= 0.15
    assert truth["photos"] == len(example.sightings)
    # every identified individual of the sightings is in the truth
    ids = set(example.identified[V.INDIVIDUAL_ID].astype(str))
    assert ids <= {a["individual_id"] for a in truth["animals"]}
    # truth activity centres are in the survey CRS coordinates
    a = truth["animals"][0]
    p = gpd.GeoSeries.from_xy([a["longitude"]], [a["latitude"]], crs=4326).to_crs(32652)
    assert shapely.Point(a["x"], a["y"]).distance(p.iloc[0]) < 1.0


def test_example_project_paths_relative() -> None:
    text = datasets.get_path("example").read_text(encoding="utf-8")
    assert '"../boundaries/study_area.gpkg"' in text
    assert "/work" not in text and "\\\\" not in text
