"""``trapscape simulate``."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from trapscape.cli.main import cli
from trapscape.project import load_project

SMALL = ["--days", "20", "--spacing", "9000", "--no-china-stations"]


def run(*args: str):
    return CliRunner().invoke(cli, ["simulate", *args])


def test_simulate_writes_readable_survey(tmp_path) -> None:
    out = tmp_path / "sim"
    res = run("--out", str(out), "--seed", "3", *SMALL, "--density", "Russia=2.5")
    assert res.exit_code == 0, res.output
    assert "stations" in res.output and "truth.json" in res.output
    for name in ("survey.toml", "stations.csv", "sightings.csv", "truth.json"):
        assert (out / name).is_file()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["parameters"]["densities"]["Russia"] == 2.5
    assert truth["parameters"]["densities"]["China"] == 0.35  # default kept
    assert truth["parameters"]["days"] == 20
    assert truth["seed"] == 3
    assert "China" not in truth["stations_by_zone"]
    survey = load_project(out / "survey.toml").survey
    assert survey.summary()["span_days"] == 20.0
    assert survey.summary()["stations"] == truth["stations"]
    assert survey.zones is not None and survey.habitat is not None


def test_simulate_same_seed_same_files(tmp_path) -> None:
    for d in ("a", "b"):
        res = run("--out", str(tmp_path / d), "--seed", "9", *SMALL)
        assert res.exit_code == 0, res.output
    for name in ("survey.toml", "stations.csv", "sightings.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes()


def test_simulate_refuses_overwrite(tmp_path) -> None:
    out = tmp_path / "sim"
    assert run("--out", str(out), *SMALL).exit_code == 0
    before = (out / "sightings.csv").read_bytes()
    res = run("--out", str(out), *SMALL, "--seed", "5")
    assert res.exit_code == 1
    assert "already holds a survey" in res.output and "--overwrite" in res.output
    assert (out / "sightings.csv").read_bytes() == before
    res = run("--out", str(out), *SMALL, "--seed", "5", "--overwrite")
    assert res.exit_code == 0, res.output
    assert (out / "sightings.csv").read_bytes() != before


def test_simulate_user_stations(tmp_path) -> None:
    pts = gpd.GeoDataFrame(
        {
            "station_id": ["A1", "A2", "A3"],
            "camera_id": ["c1", "c1", "c1"],
            "setup": ["2024-01-10"] * 3,
            "retrieval": ["2024-04-09"] * 3,
        },
        geometry=[Point(131.25, 43.2), Point(131.3, 43.25), Point(131.35, 43.3)],
        crs=4326,
    )
    csv = tmp_path / "st.csv"
    df = pts.drop(columns="geometry").assign(
        longitude=pts.geometry.x, latitude=pts.geometry.y
    )
    df.to_csv(csv, index=False)
    res = run("--out", str(tmp_path / "sim"), "--stations", str(csv), "--days", "10")
    assert res.exit_code == 0, res.output
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())
    assert truth["stations"] == 3 and truth["cameras"] == 3


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--sigma-f", "-1"], 1, "sigma_f must be a positive number"),
        (["--density", "Russia=0", "--density", "China=0"], 1, "expectation"),
        (["--spacing", "100000000"], 1, "larger than the study area"),
        (["--density", "Russia"], 2, "ZONE=VALUE"),
        (["--density", "Russia=lots"], 2, "not a number"),
        (["--days", "0"], 1, "days must be"),
        (["--density", "Rusia=2"], 1, "--density 'Rusia': no zone of that name"),
        (["--density", "Rusia=2"], 1, "did you mean 'Russia'?"),
    ],
)
def test_simulate_bad_input(tmp_path, args, code, text) -> None:
    out = tmp_path / "sim"
    res = run("--out", str(out), *args)
    assert res.exit_code == code, res.output
    assert text in res.output
    assert "Traceback" not in res.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--trend", "0.9"], "--trend needs --sessions"),
        (["--station-share", "0.5", "--mask-spacing", "900"], "needs --sessions"),
        (["--density-beta", "1"], "go together"),
        (["--density-covariate", "x"], "go together"),
        (
            ["--density-covariate", "nosuch.tif", "--density-beta", "1"],
            "not 'x', 'y', 'elevation' or an existing GeoTIFF",
        ),
        (["--sessions", "2", "--camtrap-dp", "pkg"], "leave it out with --sessions"),
        (["--sessions", "0"], "--sessions"),
        (["--sessions", "2", "--trend", "-1"], "--trend"),
        (["--sessions", "2", "--station-share", "1.5"], "--station-share"),
    ],
)
def test_simulate_bad_surface_and_session_options(tmp_path, args, text) -> None:
    out = tmp_path / "sim"
    res = run("--out", str(out), *args)
    assert res.exit_code == 2, res.output
    assert text in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_simulate_density_surface(tmp_path) -> None:
    out = tmp_path / "sim"
    res = run(
        "--out", str(out), "--seed", "4", *SMALL,
        "--density-covariate", "elevation", "--density-beta", "0.7",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    truth = json.loads((out / "truth.json").read_text())
    surf = truth["density_surface"]
    assert surf["beta"] == 0.7 and surf["covariate"].endswith("elevation.tif")
    assert surf["scaling"]["sd"] > 0
    assert truth["parameters"]["density_beta"] == 0.7
    assert set(surf["beta0_by_zone"]) == {"China", "Russia"}


@pytest.mark.slow
def test_simulate_sessions_then_fit_them(tmp_path) -> None:
    """`trapscape sessions` runs on the written tables as they are."""
    out = tmp_path / "sim"
    res = run(
        "--out", str(out), "--seed", "6", *SMALL, "--density", "Russia=3",
        "--sessions", "2", "--trend", "0.8", "--mask-spacing", "3000",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "trapscape sessions --traps" in res.output
    truth = json.loads((out / "truth.json").read_text())
    assert truth["sessions"] == ["2024", "2025"]
    assert truth["trend"]["lambda"] == 0.8
    for n in truth["sessions"]:
        assert load_project(out / f"session_{n}" / "survey.toml").survey is not None
    fit = CliRunner().invoke(
        cli,
        [
            "sessions", "--traps", str(out / "traps.csv"),
            "--captures", str(out / "captures.csv"), "--masks", str(out / "masks"),
            "--model", "~Session", "--out", str(tmp_path / "fit"),
        ],
    )  # fmt: skip
    assert fit.exit_code == 0, fit.output
    fits = json.loads((tmp_path / "fit" / "sessions" / "fits.json").read_text())
    lam = fits["D~Session lambda0~1 sigma~1"]["trend"]["lambda"]
    assert 0.3 < lam < 2.0
