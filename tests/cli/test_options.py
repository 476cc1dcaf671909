"""The shared option helpers: one detection-parameter rule, one region argument."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import box

from trapscape.cli.options import detection_from_options, region_arg
from trapscape.detection import DetectionParams
from trapscape.errors import InputError, TrapscapeWarning
from trapscape.pipeline import resolve_detection

CRS = "EPSG:32652"


@pytest.fixture
def det_json(tmp_path):
    path = tmp_path / "det.json"
    path.write_text(
        json.dumps(
            {"detectfn": "HHN", "sigma": 1500.0, "lambda0": 0.1, "occasion_days": 1.0}
        )
    )
    return path


def test_file_is_the_base_and_options_override_it(det_json):
    p = resolve_detection(det_json)
    assert (p.sigma, p.lambda0) == (1500.0, 0.1)
    p = resolve_detection(det_json, sigma=900.0, density=4.0)
    assert (p.sigma, p.lambda0, p.density_per_100km2) == (900.0, 0.1, 4.0)
    p = resolve_detection(det_json, lambda0=0.02)
    assert (p.sigma, p.lambda0, p.detectfn) == (1500.0, 0.02, "HHN")


def test_command_line_file_wins_over_the_section(det_json):
    p = resolve_detection(det_json, {"sigma": 700.0, "lambda0": 0.5})
    assert (p.sigma, p.lambda0) == (1500.0, 0.1)


def test_section_file_is_relative_to_base_and_its_keys_override(det_json):
    sec = {"file": det_json.name, "lambda0": 0.03}
    p = resolve_detection(None, sec, base=det_json.parent)
    assert (p.sigma, p.lambda0) == (1500.0, 0.03)
    p = resolve_detection(
        None, {"path": det_json.name}, base=det_json.parent, sigma=5.0
    )
    assert (p.sigma, p.lambda0) == (5.0, 0.1)
    p = resolve_detection(None, {"sigma": 800.0, "lambda0": 0.2}, sigma=1000.0)
    assert (p.sigma, p.lambda0) == (1000.0, 0.2)


def test_nothing_given_warns_and_uses_defaults_or_refuses():
    with pytest.warns(TrapscapeWarning, match="sigma 3000 m"):
        p = resolve_detection(None, {})
    assert p == DetectionParams()
    with pytest.warns(TrapscapeWarning, match="No detection sigma"):
        p = resolve_detection(None, {}, lambda0=0.2)
    assert (p.sigma, p.lambda0) == (DetectionParams().sigma, 0.2)
    with pytest.raises(InputError, match="No detection parameters"):
        resolve_detection(None, {}, lambda0=0.2, require=True)
    p = resolve_detection(None, {"sigma": 800.0}, require=True)
    assert p.sigma == 800.0


def test_unknown_section_key_is_named():
    with pytest.raises(InputError, match=r"unknown key\(s\) \['sigmaa'\]"):
        resolve_detection(None, {"sigmaa": 800.0})


def test_cli_helper_prints_the_default_warning(capsys):
    p = detection_from_options(None, {})
    assert p == DetectionParams()
    assert "Warning: No detection sigma" in capsys.readouterr().err


def test_region_arg_names_pass_through():
    for name in ("study_area", "parks", "study_area+parks", "Parks + Study_Area"):
        assert region_arg(name, crs=CRS) == name


def test_region_arg_reads_and_reprojects_a_file(tmp_path):
    poly = gpd.GeoDataFrame(
        geometry=[box(500_200, 4_760_200, 501_800, 4_761_800)], crs=CRS
    ).to_crs(4326)
    poly.to_file(tmp_path / "r.gpkg")
    got = region_arg("r.gpkg", crs=CRS, base=tmp_path)
    assert got.crs == CRS
    assert got.geometry.area.sum() == pytest.approx(1600.0**2, rel=1e-4)


def test_region_arg_errors_say_what_and_where(tmp_path):
    with pytest.raises(InputError, match=r"\[plan\]: region 'moon' is neither one of"):
        region_arg("moon", crs=CRS, base=tmp_path, where="[plan]")
    with pytest.raises(InputError, match="region must be one of"):
        region_arg(3, crs=CRS, where="[coverage]")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(InputError, match="cannot read the region layer"):
        region_arg(str(bad), crs=CRS)


def test_read_toml_names_the_file_and_the_fix(tmp_path):
    from trapscape.cli.options import read_toml

    good = tmp_path / "c.toml"
    good.write_text("[coverage]\ndistance = 2000.0\n")
    assert read_toml(good) == {"coverage": {"distance": 2000.0}}
    bad = tmp_path / "bad.toml"
    bad.write_text("[coverage]\ndistance = = 1\n")
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML .*Fix the syntax"):
        read_toml(bad)


def test_site_constraints_are_one_object_and_know_when_they_apply(tmp_path):
    import click
    from click.testing import CliRunner

    from trapscape.cli.plan import SiteConstraints, site_constraint_opts

    seen = []

    @click.command()
    @site_constraint_opts
    def cmd(sites: SiteConstraints) -> None:
        seen.append(sites)

    assert CliRunner().invoke(cmd, []).exit_code == 0
    assert not seen[0].constrained
    assert seen[0].settlement_buffer == 500.0  # candidate_sites' own default
    assert seen[0].candidates(None, {}) is None
    res = CliRunner().invoke(cmd, ["--max-access-distance", "0"])
    assert res.exit_code == 0, res.output
    assert seen[1].constrained and seen[1].max_access_distance == 0.0


def _commands(group, prefix=()):
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        elif cmd is not None:
            yield (*prefix, name), cmd


def test_every_command_reading_a_survey_takes_crs_and_date_format():
    from trapscape.cli.main import cli

    seen = []
    for name, cmd in _commands(cli):
        params = {p.name for p in cmd.params}
        if "stations" in params:
            seen.append(name)
            assert {"crs", "date_format"} <= params, name
    assert ("density",) in seen and ("map",) in seen and len(seen) >= 9


def test_date_format_of_the_survey_options_reaches_the_reader():
    from pathlib import Path

    from trapscape.cli.options import SurveyInputs

    data = Path(__file__).parents[1] / "data" / "camtrapR"
    files = {
        "stations": data / "camtraps.csv",
        "sightings": data / "recordTableIndividualSample.csv",
        "crs": "EPSG:32650",
    }
    survey = SurveyInputs(**files, date_format="%d/%m/%Y").load()
    assert survey.sightings["individual_id"].dropna().nunique() == 3
    with pytest.raises(InputError):
        SurveyInputs(**files, date_format="%Y.%m.%d").load()
