"""``trapscape plan`` through click's CliRunner."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CRS, X0, Y0, make_tiny_survey
from shapely.geometry import LineString

from trapscape import validation as V
from trapscape.cli.main import cli
from trapscape.io import read_stations, write_stations

BASE = [
    "--sigma",
    "800",
    "--lambda0",
    "0.05",
    "--density",
    "5",
    "--spacing",
    "250",
    "--min-spacing",
    "500",
]


@pytest.fixture
def survey_files(tmp_path):
    s = make_tiny_survey()
    write_stations(s.stations, s.problems, tmp_path / "stations.csv")
    b = pd.concat(
        [
            s.study_area.assign(kind="study_area"),
            s.zones.assign(kind="zones"),
            s.border.assign(kind="border"),
        ],
        ignore_index=True,
    )
    gpd.GeoDataFrame(b, geometry="geometry", crs=CRS).to_file(tmp_path / "bounds.gpkg")
    return [
        "--stations",
        str(tmp_path / "stations.csv"),
        "--boundaries",
        str(tmp_path / "bounds.gpkg"),
        "--crs",
        CRS,
    ]


def _run(args):
    return CliRunner().invoke(cli, ["plan", *args], catch_exceptions=False)


def test_plan_writes_rereadable_outputs(survey_files, tmp_path):
    out = tmp_path / "plan"
    res = _run([*survey_files, *BASE, "--out", str(out), "--n-new", "4", "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "Proposed 4 new stations" in res.output
    back = read_stations(out / "plan/proposed_stations.csv", crs=CRS).stations
    assert len(back) == 4
    assert back[V.STATION_ID].str.startswith("P").all()
    summ = pd.read_csv(out / "plan/plan_summary.csv").set_index(["scope", "metric"])
    assert summ.loc[("all", "area_pdot_km2"), "change"] > 0
    assert summ.loc[("all", "RSE"), "change"] < 0
    assert (
        summ.loc[("Russia", "new_stations"), "after"]
        + summ.loc[("China", "new_stations"), "after"]
        == 4
    )
    wpts = (
        ET.parse(out / "plan/proposed_stations.gpx")
        .getroot()
        .findall("{http://www.topografix.com/GPX/1/1}wpt")
    )
    assert len(wpts) == 4
    import pyogrio

    assert {n for n, _ in pyogrio.list_layers(out / "results.gpkg")} == {
        "plan_candidates",
        "proposed_stations",
    }
    assert len(gpd.read_file(out / "results.gpkg", layer="proposed_stations")) == 4
    sel = pd.read_csv(out / "plan/plan_selection.csv")
    assert list(sel["order"]) == [1, 2, 3, 4]
    # the plan can be fed back as a survey
    res2 = CliRunner().invoke(
        cli,
        [
            "validate",
            "--stations",
            str(out / "plan/proposed_stations.csv"),
            "--crs",
            CRS,
        ],
    )
    assert res2.exit_code == 0, res2.output


def test_plan_refuses_to_overwrite(survey_files, tmp_path):
    out = tmp_path / "plan"
    args = [*survey_files, *BASE, "--out", str(out), "--n-new", "2"]
    assert _run(args).exit_code == 0
    before = (out / "plan/proposed_stations.csv").read_text()
    res = CliRunner().invoke(cli, ["plan", *args, "--n-new", "3"])
    assert res.exit_code == 1
    assert "--overwrite" in res.output
    assert (out / "plan/proposed_stations.csv").read_text() == before
    res = _run([*args, "--n-new", "3", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "plan/proposed_stations.csv")) == 3


def test_plan_objectives_budget_detection_file_and_move(survey_files, tmp_path):
    det = tmp_path / "detection.json"
    det.write_text(
        json.dumps(
            {
                "detectfn": "HHN",
                "sigma": 800.0,
                "lambda0": 0.05,
                "density_per_100km2": 5.0,
            }
        )
    )
    out = tmp_path / "plan"
    res = _run(
        [
            *survey_files,
            "--detection",
            str(det),
            "--spacing",
            "250",
            "--min-spacing",
            "500",
            "--out",
            str(out),
            "--n-new",
            "3",
            "--objective",
            "coverage=1",
            "--objective",
            "precision=0",
            "--zone-budget",
            "China=0",
            "--move",
            "1",
        ]
    )
    assert res.exit_code == 0, res.output
    back = pd.read_csv(out / "plan/proposed_stations.csv")
    assert (back["zone"] == "Russia").all()
    assert len(pd.read_csv(out / "plan/removed_stations.csv")) == 1
    # a later run without --move replaces the plan and drops the stale list
    again = _run(
        [
            *survey_files,
            "--detection",
            str(det),
            "--spacing",
            "250",
            "--min-spacing",
            "500",
            "--out",
            str(out),
            "--n-new",
            "2",
            "--overwrite",
        ]
    )
    assert again.exit_code == 0, again.output
    assert not (out / "plan/removed_stations.csv").exists()
    assert len(pd.read_csv(out / "plan/proposed_stations.csv")) == 2
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_plan_hotspots_file(survey_files, tmp_path):
    hot = gpd.GeoDataFrame(
        {"score": [5.0]},
        geometry=[LineString([(X0 + 2500, Y0 + 3500), (X0 + 2500, Y0 + 3900)])],
        crs=CRS,
    ).to_crs(4326)  # any CRS: the CLI projects it to the survey CRS
    hot.to_file(tmp_path / "corridors.gpkg", layer="hotspots")
    hot.assign(score=1.0).to_file(tmp_path / "corridors.gpkg", layer="paths")
    out = tmp_path / "plan"
    res = _run(
        [
            *survey_files,
            *BASE,
            "--out",
            str(out),
            "--n-new",
            "1",
            "--objective",
            "border=1",
            "--hotspots",
            str(tmp_path / "corridors.gpkg"),
        ]
    )
    assert res.exit_code == 0, res.output
    back = read_stations(out / "plan/proposed_stations.csv", crs=CRS).stations
    assert back.geometry.y.iloc[0] - Y0 > 3000


def test_plan_hotspots_default_to_the_corridors_layer(survey_files, tmp_path):
    # the corridors step's results.gpkg: 'cores' first (no score), then
    # 'border_hotspots'; --hotspots alone must read the latter
    hot = gpd.GeoDataFrame(
        {"score": [5.0]},
        geometry=[LineString([(X0 + 2500, Y0 + 3500), (X0 + 2500, Y0 + 3900)])],
        crs=CRS,
    )
    gpkg = tmp_path / "results.gpkg"
    hot.drop(columns="score").assign(core="a").to_file(gpkg, layer="cores")
    hot.to_file(gpkg, layer="border_hotspots")
    out = tmp_path / "plan"
    args = [*survey_files, *BASE, "--out", str(out), "--n-new", "1"]
    res = _run([*args, "--objective", "border=1", "--hotspots", str(gpkg)])
    assert res.exit_code == 0, res.output
    back = read_stations(out / "plan/proposed_stations.csv", crs=CRS).stations
    assert back.geometry.y.iloc[0] - Y0 > 3000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "No detection parameters"),
        (
            ["--sigma", "800", "--lambda0", "0.05", "--objective", "beauty=1"],
            "Unknown objective",
        ),
        (
            [
                "--sigma",
                "800",
                "--lambda0",
                "0.05",
                "--density",
                "5",
                "--threshold",
                "2",
            ],
            "threshold must be a probability",
        ),
        (
            [
                "--sigma",
                "800",
                "--lambda0",
                "0.05",
                "--density",
                "5",
                "--min-spacing",
                "9000",
            ],
            "No candidate site",
        ),
        (
            [
                "--sigma",
                "800",
                "--lambda0",
                "0.05",
                "--density",
                "5",
                "--zone-budget",
                "Rusia=3",
            ],
            "--zone-budget 'Rusia': no zone of that name in the zones layer; "
            "did you mean 'Russia'?",
        ),
    ],
)
def test_plan_bad_input_is_a_clean_error(survey_files, tmp_path, extra, message):
    res = CliRunner().invoke(
        cli, ["plan", *survey_files, "--out", str(tmp_path / "o"), *extra]
    )
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_plan_bad_objective_syntax_is_usage_error(survey_files, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "plan",
            *survey_files,
            *BASE,
            "--out",
            str(tmp_path / "o"),
            "--objective",
            "coverage",
        ],
    )
    assert res.exit_code == 2
    assert "NAME=VALUE" in res.output


def test_plan_reads_plan_and_detection_sections_of_a_project(tmp_path):
    from conftest import write_survey_project

    project = write_survey_project(
        make_tiny_survey(),
        tmp_path / "project",
        extra=(
            "[plan]\nn_new = 2\nspacing = 250.0\nmin_spacing = 500.0\nseed = 3\n"
            "objectives = {coverage = 1.0, precision = 1.0}\n"
            "[detection]\nsigma = 800.0\nlambda0 = 0.05\ndensity_per_100km2 = 5.0\n"
        ),
    )
    out = tmp_path / "plan"
    res = _run([str(project), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "plan/proposed_stations.csv")) == 2
    # command-line options override the [plan] section
    res = _run([str(project), "--out", str(out), "--overwrite", "--n-new", "3"])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "plan/proposed_stations.csv")) == 3
    bad = write_survey_project(
        make_tiny_survey(),
        tmp_path / "bad",
        extra="[plan]\nn_neww = 2\n[detection]\nsigma = 800.0\n",
    )
    res = CliRunner().invoke(cli, ["plan", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "n_neww" in res.output


def test_plan_user_candidates(survey_files, tmp_path):
    from shapely.geometry import Point

    pts = [
        Point(X0 + 500, Y0 + 3500),
        Point(X0 + 3500, Y0 + 500),
        Point(X0 + 1500, Y0 + 1500),
    ]
    gpd.GeoDataFrame(
        {"site": ["ridge", "spring", "middle"]}, geometry=pts, crs=CRS
    ).to_file(tmp_path / "cands.gpkg")
    out = tmp_path / "plan"
    res = _run(
        [
            *survey_files,
            *BASE,
            "--out",
            str(out),
            "--n-new",
            "2",
            "--objective",
            "coverage=1",
            "--candidates",
            str(tmp_path / "cands.gpkg"),
        ]
    )
    assert res.exit_code == 0, res.output
    back = pd.read_csv(out / "plan/proposed_stations.csv")
    # only the user's sites are proposed, with their attributes; "middle" (707 m from
    # four stations, inside the covered grid) adds the least coverage
    assert sorted(back["site"]) == ["ridge", "spring"]


def test_plan_site_constraints(survey_files, tmp_path):
    from shapely.geometry import Point, box

    gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 4000, Y0 + 1500)], crs=CRS).to_file(
        tmp_path / "lake.gpkg"
    )
    gpd.GeoDataFrame(
        {"name": ["village"]}, geometry=[Point(X0 + 3800, Y0 + 3800)], crs=CRS
    ).to_file(tmp_path / "villages.gpkg")
    gpd.GeoDataFrame(
        geometry=[LineString([(X0, Y0 + 3000), (X0 + 4000, Y0 + 3000)])], crs=CRS
    ).to_file(tmp_path / "roads.gpkg")
    out = tmp_path / "plan"
    res = _run(
        [
            *survey_files,
            *BASE,
            "--out",
            str(out),
            "--n-new",
            "3",
            "--exclude",
            str(tmp_path / "lake.gpkg"),
            "--settlements",
            str(tmp_path / "villages.gpkg"),
            "--settlement-buffer",
            "700",
            "--access",
            str(tmp_path / "roads.gpkg"),
            "--max-access-distance",
            "800",
        ]
    )
    assert res.exit_code == 0, res.output
    back = read_stations(out / "plan/proposed_stations.csv", crs=CRS).stations
    x, y = back.geometry.x - X0, back.geometry.y - Y0
    assert len(back) == 3
    assert (y > 1500).all() and ((y - 3000).abs() <= 800).all()
    assert (((x - 3800) ** 2 + (y - 3800) ** 2) ** 0.5 > 700).all()


def test_plan_model_options_change_the_expected_counts(survey_files, tmp_path):
    def e_r(extra, name):
        out = tmp_path / name
        res = _run([*survey_files, *BASE, "--out", str(out), "--n-new", "1", *extra])
        assert res.exit_code == 0, res.output
        summ = pd.read_csv(out / "plan/plan_summary.csv").set_index(["scope", "metric"])
        return summ.loc[("all", "E_r"), "before"]

    base = e_r([], "a")
    # count detectors count repeat detections on an occasion: more recaptures
    assert e_r(["--detector", "count"], "b") > base
    # S9 lost two days to a malfunction: observed usage is lower than a full session
    assert e_r(["--existing-usage", "observed", "--session-days", "10.5"], "c") < e_r(
        ["--session-days", "10.5"], "d"
    )
    assert e_r(["--cell-size", "300"], "e") == pytest.approx(base, rel=0.05)


# ------------------------------------------------------------------ --region
REGION_ARGS = [
    "--sigma",
    "800",
    "--lambda0",
    "0.05",
    "--density",
    "5",
    "--spacing",
    "1000",
    "--min-spacing",
    "700",
    "--objective",
    "coverage=1",
    "--objective",
    "precision=1",
    "--n-new",
    "3",
]


def _area(out, scope):
    summ = pd.read_csv(out / "plan/plan_summary.csv").set_index(["scope", "metric"])
    return summ.loc[(scope, "area_pdot_km2")]


def test_plan_region_option_file_and_project_key(tmp_path):
    from conftest import write_survey_project
    from test_planning import make_transboundary_survey

    survey = make_transboundary_survey()
    project = write_survey_project(survey, tmp_path / "project")
    # default: the covered study area only; nothing to gain
    res = _run([str(project), *REGION_ARGS, "--out", str(tmp_path / "sa")])
    assert res.exit_code == 0, res.output
    assert _area(tmp_path / "sa", "all")["change"] == pytest.approx(0.0, abs=1e-9)
    # --region study_area+parks: the new sites go into the empty park
    out = tmp_path / "both"
    res = _run(
        [str(project), *REGION_ARGS, "--region", "study_area+parks", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out / "plan/proposed_stations.csv")
    assert (got[V.ZONE] == "China").all()
    assert _area(out, "all")["change"] > 8.0
    # a polygon file as the region gives the same plan as the parks layer
    res = _run(
        [str(project), *REGION_ARGS, "--region", "parks", "--out", str(tmp_path / "pk")]
    )
    assert res.exit_code == 0, res.output
    parks = pd.read_csv(tmp_path / "pk" / "plan/proposed_stations.csv")
    assert (parks[V.ZONE] == "China").all()
    survey.parks.to_file(tmp_path / "park.gpkg")
    res = _run(
        [
            str(project),
            *REGION_ARGS,
            "--region",
            str(tmp_path / "park.gpkg"),
            "--out",
            str(tmp_path / "file"),
        ]
    )
    assert res.exit_code == 0, res.output
    by_file = pd.read_csv(tmp_path / "file" / "plan/proposed_stations.csv")
    assert list(by_file["candidate_id"]) == list(parks["candidate_id"])
    # the [plan] region key, a file path relative to the project file
    proj2 = write_survey_project(
        survey,
        tmp_path / "p2",
        extra='[plan]\nregion = "parks.gpkg"\n',
    )
    res = _run([str(proj2), *REGION_ARGS, "--out", str(tmp_path / "key")])
    assert res.exit_code == 0, res.output
    by_key = pd.read_csv(tmp_path / "key" / "plan/proposed_stations.csv")
    assert list(by_key["candidate_id"]) == list(parks["candidate_id"])
    assert _area(tmp_path / "key", "Russia")["before"] == 0.0
    # the command line overrides the [plan] key
    res = _run(
        [
            str(proj2),
            *REGION_ARGS,
            "--region",
            "study_area",
            "--out",
            str(tmp_path / "k2"),
        ]
    )
    assert res.exit_code == 0, res.output
    assert (
        pd.read_csv(tmp_path / "k2" / "plan/proposed_stations.csv")[V.ZONE] == "Russia"
    ).all()


def test_plan_region_errors_are_clean(tmp_path):
    from conftest import write_survey_project
    from test_planning import make_transboundary_survey

    project = write_survey_project(
        make_transboundary_survey(parks=False), tmp_path / "project"
    )
    res = CliRunner().invoke(
        cli,
        [
            "plan",
            str(project),
            *REGION_ARGS,
            "--region",
            "parks",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 1
    assert "[boundaries] parks" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(
        cli,
        [
            "plan",
            str(project),
            *REGION_ARGS,
            "--region",
            "nowhere.gpkg",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 1
    assert "nowhere.gpkg" in res.output
    assert not (tmp_path / "o").exists()


def test_plan_max_memory_gb_refuses_with_a_coarser_spacing(survey_files, tmp_path):
    out = tmp_path / "small"
    res = CliRunner().invoke(
        cli,
        ["plan", *survey_files, *BASE, "--out", str(out), "--max-memory-gb", "0.0001"],
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "over the 0.0001 GiB memory budget" in res.output
    assert "Use a candidate spacing of" in res.output and "(now 250 m)" in res.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging left


def test_plan_max_memory_gb_from_the_plan_section(tmp_path):
    from conftest import write_survey_project

    project = write_survey_project(
        make_tiny_survey(),
        tmp_path / "project",
        extra=(
            "[plan]\nn_new = 2\nspacing = 250.0\nmax_memory_gb = 0.0001\n"
            "[detection]\nsigma = 800.0\nlambda0 = 0.05\ndensity_per_100km2 = 5.0\n"
        ),
    )
    out = tmp_path / "plan"
    res = CliRunner().invoke(cli, ["plan", str(project), "--out", str(out)])
    assert res.exit_code == 1
    assert "over the 0.0001 GiB memory budget" in res.output
    assert not out.exists()
