"""Camtrap DP out: a survey written as a package reads back to the same survey.

The written package passes trapscape's checks of the standard and the
Frictionless validator (a test-only dependency), so other tools accept it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from trapscape import effort, privacy
from trapscape import io as tio
from trapscape import validation as V
from trapscape.cli.main import cli
from trapscape.errors import InputError

SCHEMAS = Path(tio.__file__).parent / "camtrap_dp_schemas"
#: what a sighting is, compared on the round trip (the reader takes the
#: event-level observations, which name no media file)
SIGHTING = [V.STATION_ID, V.TIMESTAMP, V.SPECIES, V.INDIVIDUAL_ID, V.SEX, V.COUNT]


def _nights(survey: Any) -> pd.Series:
    """Trap-nights per station (the effort of trapscape.effort)."""
    op = effort.operation_matrix(survey, by="station")
    return op.sum(axis=1, skipna=True).sort_index()


def _sightings(survey: Any) -> pd.DataFrame:
    s = survey.sightings[SIGHTING].astype(str)
    return s.sort_values(SIGHTING).reset_index(drop=True)


def _assert_same_survey(a: Any, b: Any) -> None:
    assert set(a.stations[V.STATION_ID]) == set(b.stations[V.STATION_ID])
    na, nb = _nights(a), _nights(b)
    assert list(na.index) == list(nb.index)
    np.testing.assert_allclose(na.to_numpy(), nb.to_numpy(), atol=1e-9)
    pd.testing.assert_frame_equal(_sightings(a), _sightings(b))
    xy_a = a.stations.groupby(V.STATION_ID).geometry.first().sort_index()
    xy_b = b.stations.to_crs(a.crs).groupby(V.STATION_ID).geometry.first().sort_index()
    assert xy_a.distance(xy_b).max() < 0.2  # 1e-6 degrees


def _frictionless_report(pkg: Path) -> Any:
    """frictionless.validate on the package, its table schemas given locally."""
    import frictionless

    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    desc.pop("profile")  # the Camtrap DP profile URL would be downloaded
    for res in desc["resources"]:
        shutil.copy(SCHEMAS / f"{res['name']}-table-schema.json", pkg)
        res["schema"] = f"{res['name']}-table-schema.json"
    (pkg / "frictionless.json").write_text(json.dumps(desc), encoding="utf-8")
    return frictionless.validate(str(pkg / "frictionless.json"))


def test_tiny_survey_round_trip(tiny_survey: Any, tmp_path: Path) -> None:
    path = tio.write_camtrap_dp(tiny_survey, tmp_path / "pkg", utc_offset="+10:00")
    back = tio.read_camtrap_dp(path, crs=tiny_survey.crs)
    _assert_same_survey(tiny_survey, back)
    # S9/a's malfunction splits it into two working periods
    deps = pd.read_csv(tmp_path / "pkg" / "deployments.csv", dtype=str)
    s9 = deps[deps["locationID"] == "S9"]
    assert list(s9["deploymentID"]) == ["S9/a_p1", "S9/a_p2"]
    assert list(s9["deploymentEnd"]) == [
        "2024-06-05T00:00:00+10:00",
        "2024-06-11T00:00:00+10:00",
    ]
    assert list(s9["deploymentStart"])[1] == "2024-06-07T00:00:00+10:00"
    # media-level observations keep the media files
    obs = pd.read_csv(tmp_path / "pkg" / "observations.csv", dtype=str)
    assert set(obs.loc[obs.observationLevel == "media", "mediaID"]) == {
        f"m{k}" for k in range(7)
    }
    assert sorted(obs["individualID"].dropna().unique()) == ["A", "B"]


def test_tiny_survey_package_passes_frictionless(
    tiny_survey: Any, tmp_path: Path
) -> None:
    tio.write_camtrap_dp(tiny_survey, tmp_path / "pkg")
    report = _frictionless_report(tmp_path / "pkg")
    assert report.valid, report.flatten(["type", "message"])[:5]


def test_descriptor_metadata(tiny_survey: Any, tmp_path: Path) -> None:
    path = tio.write_camtrap_dp(
        tiny_survey, tmp_path / "pkg", sampling_design="systematicRandom"
    )
    desc = json.loads(path.read_text(encoding="utf-8"))
    assert desc["project"]["samplingDesign"] == "systematicRandom"
    assert desc["project"]["individualAnimals"] is True
    assert desc["coordinatePrecision"] == 1e-6
    assert desc["temporal"] == {"start": "2024-06-01", "end": "2024-06-11"}
    assert desc["taxonomic"] == [
        {"scientificName": "Panthera pardus orientalis", "taxonRank": "subspecies"}
    ]
    x0, y0, x1, y1 = desc["spatial"]["bbox"]
    assert x0 < x1 and y0 < y1


def test_public_package_generalises(tiny_survey: Any, tmp_path: Path) -> None:
    path = privacy.write_public_camtrap_dp(tiny_survey, tmp_path / "pub")
    desc = json.loads(path.read_text(encoding="utf-8"))
    assert desc["coordinatePrecision"] == 0.01
    deps = pd.read_csv(tmp_path / "pub" / "deployments.csv", dtype=str)
    assert deps["latitude"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert (deps["coordinateUncertainty"].astype(int) >= 3536).all()
    assert not set(deps["locationID"]) & set(tiny_survey.stations[V.STATION_ID])
    obs = pd.read_csv(tmp_path / "pub" / "observations.csv", dtype=str)
    assert obs["individualID"].isna().all() and obs["mediaID"].isna().all()
    back = tio.read_camtrap_dp(path, crs=tiny_survey.crs)
    assert len(back.sightings) == len(tiny_survey.sightings)
    public = privacy.generalise_survey(tiny_survey)
    assert _nights(back).sum() == pytest.approx(_nights(public).sum())


def test_refuses_to_overwrite(tiny_survey: Any, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "deployments.csv").write_text("mine")
    with pytest.raises(InputError, match=r"deployments\.csv"):
        tio.write_camtrap_dp(tiny_survey, out)
    assert (out / "deployments.csv").read_text() == "mine"


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"utc_offset": "10:00"}, "is not a UTC offset"),
        ({"utc_offset": "+25:00"}, "is not a UTC offset"),
        ({"sampling_design": "grid"}, "is not one of"),
        ({"coordinate_precision": 0.03}, "is not a power of ten"),
    ],
)
def test_bad_options(
    option: dict[str, Any], match: str, tiny_survey: Any, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=match):
        tio.write_camtrap_dp(tiny_survey, tmp_path / "pkg", **option)
    assert not (tmp_path / "pkg").exists()


def test_cli_export_then_validate(tmp_path: Path) -> None:
    src = Path(__file__).parent / "data" / "camtrap-dp"
    out = tmp_path / "pkg"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        ["export", "camtrap-dp", str(src), "--out", str(out), "--utc-offset", "+02:00"],
    )
    assert res.exit_code == 0, res.output
    assert "Wrote" in res.output and (out / "observations.csv").exists()
    res = runner.invoke(cli, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "OK: no problems found" in res.output
    again = runner.invoke(cli, ["export", "camtrap-dp", str(src), "--out", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output
    res = runner.invoke(
        cli,
        [
            "export",
            "camtrap-dp",
            str(src),
            "--out",
            str(out),
            "--overwrite",
            "--public",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        json.loads((out / "datapackage.json").read_text())["coordinatePrecision"]
        == 0.01
    )


@pytest.mark.filterwarnings("always::trapscape.errors.TrapscapeWarning")
def test_cli_validate_errors_and_warnings(tmp_path: Path) -> None:
    src = Path(__file__).parent / "data" / "camtrap-dp"
    pkg = tmp_path / "pkg"
    shutil.copytree(src, pkg)
    for f in pkg.iterdir():
        f.chmod(0o644)
    desc = json.loads((pkg / "datapackage.json").read_text())
    desc["profile"] = desc["profile"].replace("/1.0.2/", "/1.1/")
    (pkg / "datapackage.json").write_text(json.dumps(desc))
    res = CliRunner().invoke(cli, ["validate", str(pkg)])
    assert res.exit_code == 0, res.output
    assert "declares version 1.1" in res.output
    assert "OK: no problems found (1 warning above)." in res.output
    res = CliRunner().invoke(cli, ["validate", str(pkg), "--json"])
    assert "declares version 1.1" in json.loads(res.stdout)["warnings"][0]
    text = (
        (pkg / "observations.csv")
        .read_text()
        .replace(",event,animal,", ",event,bird,", 1)
    )
    (pkg / "observations.csv").write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(pkg)])
    assert res.exit_code == 1
    assert "observations.csv row 1, column 'observationType'" in res.output
    assert "Traceback" not in res.output


@pytest.mark.slow
def test_bundled_example_round_trip_and_frictionless(tmp_path: Path) -> None:
    from trapscape.datasets import get_path
    from trapscape.project import load_project

    survey = load_project(get_path("example")).survey
    assert survey is not None and len(survey.problems) > 0
    path = tio.write_camtrap_dp(survey, tmp_path / "pkg", utc_offset="+10:00")
    back = tio.read_camtrap_dp(path, crs=survey.crs)
    _assert_same_survey(survey, back)
    report = _frictionless_report(tmp_path / "pkg")
    assert report.valid, report.flatten(["type", "message"])[:5]


def test_simulate_writes_a_valid_package(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "simulate",
            "--out",
            str(tmp_path / "sim"),
            "--camtrap-dp",
            str(tmp_path / "pkg"),
            "--days",
            "10",
            "--spacing",
            "8000",
            "--seed",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    survey = tio.read_camtrap_dp(tmp_path / "pkg")
    sims = pd.read_csv(tmp_path / "sim" / "sightings.csv")
    assert len(survey.sightings) == len(sims)
    desc = json.loads((tmp_path / "pkg" / "datapackage.json").read_text())
    assert desc["project"]["samplingDesign"] == "systematicRandom"
    assert desc["temporal"]["start"] <= desc["temporal"]["end"]


def test_sighting_without_deployment_gets_its_stations(
    tiny_survey: Any, tmp_path: Path
) -> None:
    from dataclasses import replace

    si = tiny_survey.sightings.copy()
    si[V.DEPLOYMENT_ID] = si[V.DEPLOYMENT_ID].astype(object)
    si.loc[si[V.STATION_ID] == "S5", [V.DEPLOYMENT_ID, V.CAMERA_ID]] = pd.NA
    survey = replace(tiny_survey, sightings=si)
    path = tio.write_camtrap_dp(survey, tmp_path / "pkg")
    back = tio.read_camtrap_dp(path, crs=survey.crs)
    assert set(
        back.sightings.loc[back.sightings[V.STATION_ID] == "S5", V.DEPLOYMENT_ID]
    ) == {"S5/a"}
    pd.testing.assert_frame_equal(_sightings(back), _sightings(survey))
    late = si.copy()
    late.loc[late[V.STATION_ID] == "S5", V.TIMESTAMP] = pd.Timestamp("2025-01-01")
    with pytest.raises(InputError, match="outside every deployment of its station"):
        tio.write_camtrap_dp(replace(tiny_survey, sightings=late), tmp_path / "x")
