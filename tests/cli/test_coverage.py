"""``trapscape coverage`` end to end on the tiny survey written to files."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from trapscape import io as tio
from trapscape._raster import read_geotiff
from trapscape.cli.main import cli


@pytest.fixture
def survey_files(tmp_path, tiny_survey):
    st = tmp_path / "stations.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st)
    si = tmp_path / "sightings.csv"
    tio.write_sightings(tiny_survey.sightings, si)
    layers = []
    for kind in ("study_area", "zones", "border"):
        g = getattr(tiny_survey, kind).copy()
        g["kind"] = kind
        layers.append(g)
    b = tmp_path / "boundaries.gpkg"
    gpd.GeoDataFrame(
        pd.concat(layers, ignore_index=True), geometry="geometry", crs=tiny_survey.crs
    ).to_file(b)
    return ["--stations", str(st), "--sightings", str(si), "--boundaries", str(b)]


def _run(args):
    return CliRunner().invoke(cli, ["coverage", *args])


def test_coverage_writes_all_layers(tmp_path, survey_files):
    out = tmp_path / "out"
    res = _run(
        [
            *survey_files,
            "--out",
            str(out),
            "--cell-size",
            "2000",
            "--resolution",
            "500",
            "--lambda0",
            "0.05",
            "--sigma",
            "1000",
            "--distance",
            "800",
        ]
    )
    assert res.exit_code == 0, res.output
    assert "trap-nights" in res.output
    layers = {name for name, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert layers == {"coverage_grid", "coverage_gaps", "stations"}
    grid = gpd.read_file(out / "results.gpkg", layer="coverage_grid")
    assert len(grid) == 4 and grid["area_km2"].sum() == pytest.approx(16.0)
    assert grid["trap_nights"].sum() == pytest.approx(8 * 9.5 + 7.5)
    st = gpd.read_file(out / "results.gpkg", layer="stations")
    assert len(st) == 9 and st["detections"].sum() == 7
    da = read_geotiff(out / "pdot.tif")
    assert da.dtype == np.float64 and da.shape == (8, 8)  # masked -> float64 NaN
    import rasterio

    with rasterio.open(out / "pdot.tif") as src:
        assert src.dtypes[0] == "float64"  # the run's pdot.tif: NaN outside
    for name in (
        "effort/effort_per_camera.csv",
        "effort/effort_per_station.csv",
        "effort/effort_per_zone.csv",
        "coverage/coverage_stats.csv",
        "coverage/pdot_summary.csv",
    ):
        assert (out / name).stat().st_size > 0
    zones = pd.read_csv(out / "effort/effort_per_zone.csv")
    assert sorted(zones["zone"]) == ["China", "Russia"]
    summ = pd.read_csv(out / "coverage/pdot_summary.csv")
    assert summ["zone"].iloc[-1] == "total" and summ["area_km2"].iloc[
        -1
    ] == pytest.approx(16)
    assert not list(tmp_path.glob(".out.*"))  # temporary directory cleaned up


def test_refuses_to_overwrite(tmp_path, survey_files):
    out = tmp_path / "out"
    args = [*survey_files, "--out", str(out), "--resolution", "1000"]
    assert _run(args).exit_code == 0
    before = (out / "coverage/coverage_stats.csv").read_text()
    res = _run([*args, "--distance", "500"])
    assert res.exit_code == 1
    assert "--overwrite" in res.output and "Traceback" not in res.output
    assert (out / "coverage/coverage_stats.csv").read_text() == before
    res = _run([*args, "--distance", "500", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert (out / "coverage/coverage_stats.csv").read_text() != before


def test_detection_file_and_hex(tmp_path, survey_files):
    det = tmp_path / "det.json"
    det.write_text(json.dumps({"detectfn": "HHN", "lambda0": 0.1, "sigma": 1500.0}))
    out = tmp_path / "o"
    res = _run(
        [
            *survey_files,
            "--out",
            str(out),
            "--detection",
            str(det),
            "--shape",
            "hex",
            "--cell-size",
            "1500",
            "--resolution",
            "1000",
        ]
    )
    assert res.exit_code == 0, res.output
    grid = gpd.read_file(out / "results.gpkg", layer="coverage_grid")
    assert grid["area_km2"].sum() == pytest.approx(16.0)
    assert len(grid.geometry.iloc[len(grid) // 2].exterior.coords) >= 4


def test_bad_input_is_a_clean_error(tmp_path, survey_files):
    bad = tmp_path / "det.json"
    bad.write_text("{not json")
    res = _run([*survey_files, "--out", str(tmp_path / "o"), "--detection", str(bad)])
    assert res.exit_code == 1
    assert "not valid JSON" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()
    res = _run([*survey_files, "--out", str(tmp_path / "o"), "--cell-size", "-5"])
    assert res.exit_code == 1 and "cell_size must be a positive" in res.output
    assert not (tmp_path / "o").exists()


@pytest.fixture
def project_file(tmp_path, tiny_survey):
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, tmp_path / "st.csv")
    tio.write_sightings(tiny_survey.sightings, tmp_path / "si.csv")
    tiny_survey.study_area.to_file(tmp_path / "study.gpkg")
    tiny_survey.zones.to_file(tmp_path / "zones.gpkg")
    toml = tmp_path / "survey.toml"
    toml.write_text(
        '[survey]\nname = "tiny"\nstations = "st.csv"\nsightings = "si.csv"\n'
        'species = "Panthera pardus orientalis"\n\n'
        '[boundaries]\nstudy_area = "study.gpkg"\nzones = "zones.gpkg"\n\n'
        "[coverage]\ncell_size = 1000.0\nresolution = 500.0\ndistance = 900.0\n\n"
        "[detection]\nsigma = 800.0\nlambda0 = 0.1\n",
        encoding="utf-8",
    )
    return toml


def test_project_file_sections_and_cli_override(tmp_path, project_file):
    out = tmp_path / "p"
    res = _run([str(project_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    grid = gpd.read_file(out / "results.gpkg", layer="coverage_grid")
    assert len(grid) == 16  # [coverage] cell_size = 1000
    stats = pd.read_csv(out / "coverage/coverage_stats.csv")
    assert (stats["distance_m"] == 900.0).all()
    assert read_geotiff(out / "pdot.tif").shape == (8, 8)  # resolution = 500
    res = _run(
        [str(project_file), "--out", str(out), "--cell-size", "2000", "--overwrite"]
    )
    assert res.exit_code == 0, res.output
    assert len(gpd.read_file(out / "results.gpkg", layer="coverage_grid")) == 4


def test_unknown_coverage_option_is_named(tmp_path, project_file):
    text = project_file.read_text().replace("distance = 900.0", "distanse = 900.0")
    project_file.write_text(text)
    res = _run([str(project_file), "--out", str(tmp_path / "p")])
    assert res.exit_code == 1
    assert "distanse" in res.output and "Traceback" not in res.output


# ------------------------------------------------------------------ --region
X0, Y0 = 500_000.0, 4_760_000.0


@pytest.fixture
def park_project(tmp_path, tiny_survey):
    """The tiny project plus a 4 x 4 km Chinese park west of the study area."""
    from shapely.geometry import box

    tio.write_stations(tiny_survey.stations, tiny_survey.problems, tmp_path / "st.csv")
    tio.write_sightings(tiny_survey.sightings, tmp_path / "si.csv")
    tiny_survey.study_area.to_file(tmp_path / "study.gpkg")
    zones = tiny_survey.zones.copy()
    zones["geometry"] = [
        box(X0 - 4000, Y0, X0 + 2500, Y0 + 4000),
        box(X0 + 2500, Y0, X0 + 4000, Y0 + 4000),
    ]
    zones.to_file(tmp_path / "zones.gpkg")
    park = gpd.GeoDataFrame(
        {"name": ["Chinese park"]},
        geometry=[box(X0 - 4000, Y0, X0, Y0 + 4000)],
        crs=tiny_survey.crs,
    )
    park.to_file(tmp_path / "parks.gpkg")
    toml = tmp_path / "survey.toml"
    toml.write_text(
        '[survey]\nname = "tiny"\nstations = "st.csv"\nsightings = "si.csv"\n\n'
        '[boundaries]\nstudy_area = "study.gpkg"\nzones = "zones.gpkg"\n'
        'parks = "parks.gpkg"\n\n'
        "[coverage]\ncell_size = 2000.0\nresolution = 500.0\n\n"
        "[detection]\nsigma = 800.0\nlambda0 = 0.1\n",
        encoding="utf-8",
    )
    return toml


def test_region_option_extends_every_output_over_the_park(tmp_path, park_project):
    out = tmp_path / "r"
    res = _run([str(park_project), "--out", str(out), "--region", "study_area+parks"])
    assert res.exit_code == 0, res.output
    assert "(study_area+parks)" in res.output
    grid = gpd.read_file(out / "results.gpkg", layer="coverage_grid")
    assert len(grid) == 8 and grid["area_km2"].sum() == pytest.approx(32.0)
    assert grid.total_bounds[0] == X0 - 4000
    stats = pd.read_csv(out / "coverage/coverage_stats.csv").set_index("zone")
    assert stats.loc["China", "area_km2"] == pytest.approx(16 + 10)
    assert stats.loc["total", "area_km2"] == pytest.approx(32.0)
    summ = pd.read_csv(out / "coverage/pdot_summary.csv").set_index("zone")
    assert summ.loc["total", "area_km2"] == pytest.approx(32.0)
    da = read_geotiff(out / "pdot.tif")
    assert da.shape == (8, 16) and np.isfinite(da.values).all()
    gaps = gpd.read_file(out / "results.gpkg", layer="coverage_gaps")
    assert gaps.total_bounds[0] == pytest.approx(X0 - 4000)
    # the default is still the study area
    res = _run([str(park_project), "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    stats = pd.read_csv(tmp_path / "d" / "coverage/coverage_stats.csv").set_index(
        "zone"
    )
    assert stats.loc["total", "area_km2"] == pytest.approx(16.0)
    assert read_geotiff(tmp_path / "d" / "pdot.tif").shape == (8, 8)


def test_region_in_project_section_and_as_a_file(tmp_path, park_project):
    from shapely.geometry import box

    text = park_project.read_text().replace(
        "[coverage]\n", '[coverage]\nregion = "parks"\n'
    )
    park_project.write_text(text)
    res = _run([str(park_project), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    stats = pd.read_csv(tmp_path / "a" / "coverage/coverage_stats.csv").set_index(
        "zone"
    )
    assert list(stats.index) == ["China", "total"]
    assert stats.loc["total", "area_km2"] == pytest.approx(16.0)
    # a polygon file (in degrees: reprojected), relative to the project folder
    poly = gpd.GeoDataFrame(
        geometry=[box(X0 + 200, Y0 + 200, X0 + 1800, Y0 + 1800)], crs=32652
    ).to_crs(4326)
    poly.to_file(park_project.parent / "sw.gpkg")
    park_project.write_text(text.replace('region = "parks"', 'region = "sw.gpkg"'))
    res = _run([str(park_project), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    grid = gpd.read_file(tmp_path / "b" / "results.gpkg", layer="coverage_grid")
    assert len(grid) == 1 and grid["area_km2"].sum() == pytest.approx(2.56, rel=1e-4)
    # the command line wins over the section
    res = _run(
        [str(park_project), "--out", str(tmp_path / "c"), "--region", "study_area"]
    )
    assert res.exit_code == 0, res.output
    stats = pd.read_csv(tmp_path / "c" / "coverage/coverage_stats.csv").set_index(
        "zone"
    )
    assert stats.loc["total", "area_km2"] == pytest.approx(16.0)


def test_bad_region_is_a_clean_error(tmp_path, park_project, survey_files):
    res = _run([str(park_project), "--out", str(tmp_path / "o"), "--region", "moon"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "neither one of" in res.output and "moon" in res.output
    assert not (tmp_path / "o").exists()
    # no parks layer: says which boundary to add
    res = _run([*survey_files, "--out", str(tmp_path / "o"), "--region", "parks"])
    assert res.exit_code == 1 and "[boundaries] parks" in res.output
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.glob(".o.*"))


def test_max_memory_gb_refuses_with_a_coarser_setting(tmp_path, survey_files):
    out = tmp_path / "small"
    res = _run(
        [
            *survey_files,
            "--out",
            str(out),
            "--cell-size",
            "100",
            "--sigma",
            "1000",
            "--max-memory-gb",
            "0.0001",
        ]
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "coverage grid of 100 m" in res.output
    assert "over the 0.0001 GiB memory budget" in res.output
    assert "Use a cell_size of" in res.output and "(now 100 m)" in res.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging left
    # the pdot raster is held to the same budget
    res = _run(
        [
            *survey_files,
            "--out",
            str(out),
            "--cell-size",
            "2000",
            "--resolution",
            "20",
            "--sigma",
            "1000",
            "--max-memory-gb",
            "0.0001",
        ]
    )
    assert res.exit_code == 1
    assert "pdot grid of 20 m" in res.output
    assert "Use a resolution of" in res.output and "(now 20 m)" in res.output
    assert not out.exists()


def test_max_memory_gb_from_the_coverage_section(tmp_path, project_file):
    text = project_file.read_text().replace(
        "distance = 900.0", "distance = 900.0\nmax_memory_gb = 0.000001"
    )
    project_file.write_text(text)
    out = tmp_path / "p"
    res = _run([str(project_file), "--out", str(out)])
    assert res.exit_code == 1
    assert "over the 1e-06 GiB memory budget" in res.output
    assert not out.exists()


# ------------------------------------------------- detection-parameter rule
def _pdot_mean(out):
    return float(np.nanmean(read_geotiff(out / "pdot.tif").values))


def test_options_override_the_detection_file(tmp_path, survey_files):
    det = tmp_path / "det.json"
    det.write_text(json.dumps({"detectfn": "HHN", "lambda0": 0.1, "sigma": 1500.0}))
    base = [*survey_files, "--resolution", "1000"]
    runs = {
        "file": ["--detection", str(det)],
        "both": ["--detection", str(det), "--sigma", "300"],
        "plain": ["--lambda0", "0.1", "--sigma", "300"],
    }
    for name, extra in runs.items():
        res = _run([*base, "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
    # --sigma beats the file; the file's lambda0 stays
    assert _pdot_mean(tmp_path / "both") == pytest.approx(
        _pdot_mean(tmp_path / "plain")
    )
    assert _pdot_mean(tmp_path / "both") < _pdot_mean(tmp_path / "file")


def test_detection_section_file_relative_to_project(tmp_path, project_file):
    det = tmp_path / "fit" / "det.json"
    det.parent.mkdir()
    det.write_text(json.dumps({"detectfn": "HHN", "lambda0": 0.1, "sigma": 800.0}))
    res = _run([str(project_file), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    text = project_file.read_text().replace(
        "[detection]\nsigma = 800.0\nlambda0 = 0.1\n",
        '[detection]\nfile = "fit/det.json"\n',
    )
    project_file.write_text(text)
    res = _run([str(project_file), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert _pdot_mean(tmp_path / "b") == pytest.approx(_pdot_mean(tmp_path / "a"))


def test_no_detection_parameters_warns_and_uses_defaults(tmp_path, survey_files):
    res = CliRunner().invoke(
        cli,
        [
            "coverage",
            *survey_files,
            "--out",
            str(tmp_path / "o"),
            "--resolution",
            "1000",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Warning: No detection sigma" in res.output
    assert "sigma 3000 m" in res.output


def test_stations_layer_matches_the_pipeline_table(tmp_path, survey_files, tiny_survey):
    from trapscape.pipeline import station_table

    out = tmp_path / "o"
    res = _run([*survey_files, "--out", str(out), "--sigma", "1000"])
    assert res.exit_code == 0, res.output
    st = gpd.read_file(out / "results.gpkg", layer="stations").sort_values("station_id")
    ref = station_table(tiny_survey).sort_values("station_id")
    for col in ("n_cameras", "trap_nights", "detections", "photos", "individuals"):
        assert st[col].to_list() == pytest.approx(ref[col].to_list()), col
