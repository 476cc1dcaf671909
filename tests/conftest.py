"""Shared fixtures: tiny surveys built in code (no files needed)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from trapscape import validation as V
from trapscape.survey import Survey

CRS = "EPSG:32652"
X0, Y0 = 500_000.0, 4_760_000.0  # southern Primorye, UTM 52N


def make_tiny_survey() -> Survey:
    """9 stations on a 1 km grid inside a 4 x 4 km study area.

    The study area is split by a north-south border at x = X0 + 2500 into
    'Russia' (east) and 'China' (west).  Station S5 (centre) holds two
    cameras; S9 has a malfunction.  Every camera works from 2024-06-01 12:00
    to 2024-06-11 00:00 (9.5 days).  Individuals: 'A' seen at S1, S2, S5
    (and S5 again), 'B' at S8 and S9; one unidentified photo at S3.
    """
    rows = []
    for i in range(3):
        for j in range(3):
            sid = f"S{3 * i + j + 1}"
            cams = ["a", "b"] if sid == "S5" else ["a"]
            for c in cams:
                rows.append(
                    {
                        V.STATION_ID: sid,
                        V.CAMERA_ID: c,
                        V.DEPLOYMENT_ID: f"{sid}/{c}",
                        V.SETUP: pd.Timestamp("2024-06-01 12:00"),
                        V.RETRIEVAL: pd.Timestamp("2024-06-11 00:00"),
                        V.SETUP_TIME_KNOWN: True,
                        V.RETRIEVAL_TIME_KNOWN: True,
                        "geometry": Point(X0 + 1000 * (j + 1), Y0 + 1000 * (i + 1)),
                    }
                )
    stations = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    problems = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: ["S9/a"],
            V.PROBLEM_FROM: [pd.Timestamp("2024-06-05 00:00")],
            V.PROBLEM_TO: [pd.Timestamp("2024-06-07 00:00")],
        }
    )
    sight = [
        ("S1", "a", "2024-06-02 22:10", "A", "F"),
        ("S2", "a", "2024-06-03 01:15", "A", "F"),
        ("S5", "a", "2024-06-04 03:00", "A", "F"),
        ("S5", "b", "2024-06-08 23:40", "A", "F"),
        ("S8", "a", "2024-06-02 20:00", "B", "M"),
        ("S9", "a", "2024-06-09 04:30", "B", "M"),
        ("S3", "a", "2024-06-06 02:00", None, None),
    ]
    sightings = pd.DataFrame(
        {
            V.STATION_ID: [s[0] for s in sight],
            V.CAMERA_ID: [s[1] for s in sight],
            V.DEPLOYMENT_ID: [f"{s[0]}/{s[1]}" for s in sight],
            V.TIMESTAMP: pd.to_datetime([s[2] for s in sight]),
            V.SPECIES: "Panthera pardus orientalis",
            V.INDIVIDUAL_ID: pd.array([s[3] for s in sight], dtype="string"),
            V.SEX: pd.array([s[4] for s in sight], dtype="string"),
            V.MEDIA_ID: [f"m{k}" for k in range(len(sight))],
            V.COUNT: np.ones(len(sight), dtype=int),
        }
    )
    study = gpd.GeoDataFrame(
        {V.NAME: ["study area"]}, geometry=[box(X0, Y0, X0 + 4000, Y0 + 4000)], crs=CRS
    )
    zones = gpd.GeoDataFrame(
        {V.NAME: ["China", "Russia"]},
        geometry=[
            box(X0, Y0, X0 + 2500, Y0 + 4000),
            box(X0 + 2500, Y0, X0 + 4000, Y0 + 4000),
        ],
        crs=CRS,
    )
    border = gpd.GeoDataFrame(
        {V.NAME: ["China-Russia"]},
        geometry=[LineString([(X0 + 2500, Y0), (X0 + 2500, Y0 + 4000)])],
        crs=CRS,
    )
    return Survey(
        stations=stations,
        sightings=sightings,
        problems=problems,
        crs=CRS,
        study_area=study,
        zones=zones,
        parks=zones.iloc[[1]].copy(),
        border=border,
        name="tiny",
    )


@pytest.fixture
def tiny_survey() -> Survey:
    """A fresh tiny survey (see :func:`make_tiny_survey`)."""
    return make_tiny_survey()


def write_survey_project(survey: Survey, folder: Path, *, extra: str = "") -> Path:
    """Write ``survey`` as stations/sightings CSV + boundary GPKGs + survey.toml.

    ``extra`` is appended to the TOML (step sections).  Returns the TOML path.
    """
    from pathlib import Path

    from trapscape import io

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    io.write_stations(survey.stations, survey.problems, folder / "stations.csv")
    io.write_sightings(survey.sightings, folder / "sightings.csv")
    lines = [
        "[survey]",
        f'name = "{survey.name}"',
        f'crs = "{survey.crs.to_string()}"',
        'stations = "stations.csv"',
        'sightings = "sightings.csv"',
        "[boundaries]",
    ]
    for key in ("study_area", "zones", "parks", "border", "habitat"):
        layer = getattr(survey, key)
        if layer is not None:
            layer.to_file(folder / f"{key}.gpkg", driver="GPKG")
            lines.append(f'{key} = "{key}.gpkg"')
    path = folder / "survey.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def tiny_project(tmp_path):
    """The tiny survey written as a project folder; returns the survey.toml path."""
    return write_survey_project(make_tiny_survey(), tmp_path / "project")
