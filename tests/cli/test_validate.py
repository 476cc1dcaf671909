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
