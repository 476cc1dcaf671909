"""``trapscape validate``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from trapscape import io as tio
from trapscape.cli.main import cli

DATA = Path(__file__).parents[1] / "data"


def test_validate_camtrap_dp_summary():
    res = CliRunner().invoke(cli, ["validate", str(DATA / "camtrap-dp")])
    assert res.exit_code == 0, res.output
    out = res.output
    for label in (
        "Stations:      4",
        "Cameras:       4",
        "Sightings:     11",
        "Species:       7",
        "CRS:           EPSG:32631",
        "Operating days:",
        "Individuals:",
    ):
        assert label in out
    assert "OK: no problems found." in out


def test_validate_datapackage_json_json_output():
    res = CliRunner().invoke(
        cli, ["validate", str(DATA / "camtrap-dp" / "datapackage.json"), "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["stations"] == 4 and summary["crs"] == "EPSG:32631"
    assert summary["operating_days"] > 0


def test_validate_separate_files(tmp_path, tiny_survey):
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, tmp_path / "st.csv")
    tio.write_sightings(tiny_survey.sightings, tmp_path / "si.csv")
    tiny_survey.study_area.to_file(tmp_path / "area.gpkg")
    res = CliRunner().invoke(
        cli,
        [
            "validate",
            "--stations",
            str(tmp_path / "st.csv"),
            "--sightings",
            str(tmp_path / "si.csv"),
            "--boundaries",
            str(tmp_path / "area.gpkg"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Stations:      9" in res.output and "Individuals:   2" in res.output
    assert "study_area: 1" in res.output


def test_validate_camtrapr_with_date_format():
    res = CliRunner().invoke(
        cli,
        [
            "validate",
            "--stations",
            str(DATA / "camtrapR" / "camtraps.csv"),
            "--sightings",
            str(DATA / "camtrapR" / "recordTableIndividualSample.csv"),
            "--crs",
            "EPSG:32650",
            "--date-format",
            "%d/%m/%Y",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Individuals:   3" in res.output


def test_validate_bad_input_exits_1_without_traceback(tmp_path):
    f = tmp_path / "st.csv"
    f.write_text(
        "station_id,longitude,latitude,setup,retrieval\n"
        "A,131.2,43.1,2024-06-01,2024-06-30\n"
        "B,131.3,43.2,2024-13-01,2024-06-30\n"
        "C,131.3,143.2,2024-06-01,2024-05-30\n"
    )
    res = CliRunner().invoke(cli, ["validate", "--stations", str(f)])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "st.csv row 2, column 'setup'" in res.output
    assert "st.csv row 3, column 'latitude'" in res.output
    assert "st.csv row 3, column 'setup'" in res.output  # all problems listed


def test_validate_bad_project_exits_1(tmp_path):
    f = tmp_path / "survey.toml"
    f.write_text("[survey]\nstations = 'missing.csv'\n")
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1
    assert (
        "survey.toml: [survey] stations = 'missing.csv': file not found" in res.output
    )
    assert "Traceback" not in res.output


def test_validate_needs_input():
    res = CliRunner().invoke(cli, ["validate"])
    assert res.exit_code == 2


def test_validate_json_lists_problems(tmp_path):
    f = tmp_path / "st.csv"
    f.write_text(
        "station_id,longitude,latitude,setup,retrieval\n"
        "A,131.2,43.1,2024-06-01,2024-06-30\n"
        "B,131.3,43.2,2024-07-01,2024-06-30\n"
    )
    res = CliRunner().invoke(cli, ["validate", "--stations", str(f), "--json"])
    assert res.exit_code == 1
    out = json.loads(res.output)
    assert out["ok"] is False
    assert out["problems"] == [
        {
            "message": out["problems"][0]["message"],
            "path": str(f),
            "row": 2,
            "column": "setup",
        }
    ]
    assert "after retrieval" in out["problems"][0]["message"]


def test_validate_json_crs_error(tmp_path):
    f = tmp_path / "st.csv"
    f.write_text(
        "station_id,x,y,setup,retrieval\nA,500000,4760000,2024-06-01,2024-06-30\n"
    )
    res = CliRunner().invoke(cli, ["validate", "--stations", str(f), "--json"])
    assert res.exit_code == 1
    assert "crs=" in json.loads(res.output)["problems"][0]["message"]


# ---------------------------------------------------------------- value rules
import os  # noqa: E402

import pytest  # noqa: E402
from conftest import make_tiny_survey, write_survey_project  # noqa: E402

BAD_VALUES = [
    ("[coverage]\ncell_size = -1000.0\n", "[coverage] cell_size = -1000.0"),
    ("[coverage]\ncell_size = 0\n", "[coverage] cell_size = 0"),
    ("[coverage]\ncell_size = nan\n", "[coverage] cell_size = nan"),
    ("[coverage]\ncell_size = inf\n", "[coverage] cell_size = inf"),
    ("[homerange]\npercent = [50, 200]\n", "[homerange] percent = [50, 200]"),
    ("[plan]\nn_new = -3\n", "[plan] n_new = -3"),
    ("[plan]\nn_new = 2.5\n", "[plan] n_new = 2.5"),
    ("[corridors]\nresolution = -500.0\n", "[corridors] resolution = -500.0"),
    ("[corridors]\npinch_quantile = 1.5\n", "[corridors] pinch_quantile = 1.5"),
    ("[detection]\nsigma = -1.0\n", "[detection] sigma = -1.0"),
]


@pytest.mark.parametrize(("extra", "named"), BAD_VALUES)
def test_validate_rejects_out_of_range_parameters(tmp_path, extra, named):
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert "survey.toml" in res.output and named in res.output
    assert "e.g." in res.output  # the fix: a valid value


def test_validate_lists_every_bad_parameter_at_once(tmp_path):
    extra = "[coverage]\ncell_size = 0\n[plan]\nn_new = -3\n"
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1
    assert "[coverage] cell_size = 0" in res.output
    assert "[plan] n_new = -3" in res.output


def test_validate_accepts_valid_edge_values(tmp_path):
    extra = (
        "[homerange]\npercent = [50, 100]\n[plan]\nn_new = 0\n"
        "[corridors]\npinch_quantile = 1.0\n"
    )
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 0, res.output


def _raster_project(tmp_path, target):
    proj = write_survey_project(
        make_tiny_survey(), tmp_path / "p", extra=f'[rasters]\nelevation = "{target}"\n'
    )
    return CliRunner().invoke(cli, ["validate", str(proj)])


def test_validate_rejects_a_device_as_raster(tmp_path):
    res = _raster_project(tmp_path, "/dev/zero")
    assert res.exit_code == 1
    assert "[rasters] elevation = '/dev/zero': is a device, not a regular file" in (
        res.output
    )
    assert "Traceback" not in res.output


def test_validate_rejects_a_csv_as_raster(tmp_path):
    res = _raster_project(tmp_path, "stations.csv")
    assert res.exit_code == 1
    assert "[rasters] elevation = 'stations.csv': is not a raster" in res.output


def test_validate_rejects_a_folder_as_raster(tmp_path):
    (tmp_path / "p" / "dem").mkdir(parents=True)
    res = _raster_project(tmp_path, "dem")
    assert res.exit_code == 1
    assert "[rasters] elevation = 'dem': is a folder, not a file" in res.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_validate_rejects_a_fifo_and_a_link_loop(tmp_path):
    (tmp_path / "p").mkdir()
    os.mkfifo(tmp_path / "p" / "pipe.tif")
    os.symlink("loop.tif", tmp_path / "p" / "loop.tif")
    extra = '[rasters]\nelevation = "pipe.tif"\nlandcover = "loop.tif"\n'
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1
    assert "[rasters] elevation = 'pipe.tif': is a FIFO" in res.output
    assert "[rasters] landcover = 'loop.tif': cannot be read" in res.output
    assert "Traceback" not in res.output


def test_validate_rejects_a_csv_as_boundary(tmp_path):
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p")
    text = proj.read_text().replace('parks = "parks.gpkg"', 'parks = "stations.csv"')
    proj.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1
    assert "[boundaries] parks = 'stations.csv': is not a vector layer" in res.output


def test_validate_rejects_a_device_as_detection_file(tmp_path):
    extra = '[detection]\nfile = "/dev/zero"\n'
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1
    assert "[detection] file = '/dev/zero': is a device" in res.output


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_validate_stations_link_loop_has_no_traceback(tmp_path):
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p")
    os.symlink("loop.csv", tmp_path / "p" / "loop.csv")
    proj.write_text(proj.read_text().replace('"stations.csv"', '"loop.csv"'))
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1
    assert "[survey] stations = 'loop.csv': cannot be read" in res.output
    assert "Traceback" not in res.output


# ------------------------------------------------------ grids beyond the budget
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("[coverage]\nresolution = 1e-300\n", "[coverage] resolution = 1e-300 m"),
        ("[corridors]\nresolution = 0.01\n", "[corridors] resolution = 0.01 m"),
        ("[density]\nspacing = 0.01\n", "[density] spacing = 0.01 m"),
        (
            "[plan]\ncell_size = 1.0\nmax_memory_gb = 0.001\n",
            "[plan] cell_size = 1 m",
        ),
    ],
)
def test_validate_rejects_a_grid_that_cannot_fit_the_memory_budget(
    tmp_path, extra, named
):
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = CliRunner().invoke(cli, ["validate", str(proj)])
    assert res.exit_code == 1, res.output
    assert named in res.output and "memory budget" in res.output
    assert "Traceback" not in res.output
    # the advice is a size whose grid does fit
    advised = float(res.output.split(">= ")[1].split(" m")[0])
    assert advised > 0.01


def test_run_refuses_a_grid_beyond_the_budget_before_writing(tmp_path):
    extra = "[coverage]\nresolution = 1e-300\n"
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(proj), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "[coverage] resolution = 1e-300 m" in res.output
    assert not out.exists()


def test_grid_memory_check_passes_a_fitting_grid_and_tells_its_floor():
    from trapscape import _steps
    from trapscape.errors import InputError

    bounds = (0.0, 0.0, 60_000.0, 60_000.0)  # 3,600 km2
    # 100 m over 3,600 km2: 360,000 cells, 2.9 MB: fine
    _steps.grid_memory_problems({"coverage": {"resolution": 100.0}}, bounds, None)
    with pytest.raises(InputError, match=r"resolution >= (\d+) m") as err:
        _steps.grid_memory_problems(
            {"coverage": {"resolution": 10.0, "max_memory_gb": 0.001}}, bounds, None
        )
    floor = float(str(err.value).split(">= ")[1].split(" m")[0])
    # the floor's own grid fits the budget of 0.001 GiB at 8 bytes a cell
    assert (60_000 / floor) ** 2 * 8 <= 0.001 * 2**30
    _steps.grid_memory_problems(
        {"coverage": {"resolution": floor, "max_memory_gb": 0.001}}, bounds, None
    )
