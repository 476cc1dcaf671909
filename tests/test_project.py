"""Survey project files (TOML)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trapscape import io as tio
from trapscape.errors import InputError, TrapscapeWarning
from trapscape.project import SECTIONS, Project, load_project

DATA = Path(__file__).parent / "data"


@pytest.fixture
def project_dir(tmp_path, tiny_survey):
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, tmp_path / "st.csv")
    tio.write_sightings(tiny_survey.sightings, tmp_path / "si.csv")
    (tmp_path / "gis").mkdir()
    tiny_survey.study_area.to_file(tmp_path / "gis" / "area.gpkg")
    z = tiny_survey.zones.rename(columns={"name": "country"})
    z.to_file(tmp_path / "gis" / "zones.gpkg")
    tiny_survey.border.to_file(tmp_path / "gis" / "border.gpkg")
    (tmp_path / "dem.tif").write_bytes(b"not really a tif")
    return tmp_path


FULL = """
[survey]
name = "Tiny"
crs = "EPSG:32652"
stations = "st.csv"
sightings = "si.csv"
species = "Panthera pardus orientalis"

[boundaries]
study_area = "gis/area.gpkg"
zones = "gis/zones.gpkg"
zone_field = "country"
border = "gis/border.gpkg"

[rasters]
elevation = "dem.tif"

[steps]
coverage = true
density = false

[density]
detectfn = "HHN"
buffer = 12000

[report]
title = "Tiny report"
"""


def test_load_full_project(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(FULL)
    p = load_project(f)
    assert isinstance(p, Project)
    assert p.path == f.resolve()
    assert p.name == "Tiny" and p.survey.name == "Tiny"
    assert p.species == "Panthera pardus orientalis"
    assert p.survey.crs.to_epsg() == 32652
    assert sorted(p.survey.zones["name"]) == ["China", "Russia"]
    assert len(p.survey.border) == 1 and len(p.survey.study_area) == 1
    assert p.params["density"] == {"detectfn": "HHN", "buffer": 12000}
    assert p.params["steps"] == {"coverage": True, "density": False}
    assert p.params["rasters"]["elevation"] == (project_dir / "dem.tif").resolve()
    assert p.params["homerange"] == {}
    assert p.enabled("coverage") and not p.enabled("density")
    assert p.step("report") == {"title": "Tiny report"}
    assert set(p.inputs) == {
        "survey.stations",
        "survey.sightings",
        "boundaries.study_area",
        "boundaries.zones",
        "boundaries.border",
        "rasters.elevation",
    }
    assert all(v.is_absolute() and v.exists() for v in p.inputs.values())
    assert p.survey.summary()["sightings"] == 7


def test_paths_relative_to_toml_not_cwd(project_dir, monkeypatch, tmp_path_factory):
    f = project_dir / "survey.toml"
    f.write_text(FULL)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert load_project(f).survey.summary()["stations"] == 9


def test_crs_override(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(FULL)
    assert load_project(f, crs="EPSG:3857").survey.crs.to_epsg() == 3857


def test_camtrap_dp_project(tmp_path):
    shutil.copytree(DATA / "camtrap-dp", tmp_path / "dp")
    f = tmp_path / "p.toml"
    f.write_text('[survey]\nname = "MICA"\ncamtrap_dp = "dp"\n')
    p = load_project(f)
    assert p.survey.name == "MICA"
    assert p.survey.summary()["stations"] == 4
    assert p.inputs["survey.camtrap_dp"] == (tmp_path / "dp").resolve()


def test_camtrapr_project_with_xy_and_date_format(tmp_path):
    for n in ("camtraps.csv", "recordTableIndividualSample.csv"):
        shutil.copy(DATA / "camtrapR" / n, tmp_path / n)
    f = tmp_path / "p.toml"
    f.write_text(
        '[survey]\nstations = "camtraps.csv"\n'
        'sightings = "recordTableIndividualSample.csv"\n'
        'stations_crs = "EPSG:32650"\ndate_format = "%d/%m/%Y"\n'
    )
    p = load_project(f)
    s = p.survey.summary()
    assert s["crs"] == "EPSG:32650" and s["individuals"] == 3 and s["malfunctions"] == 1


def test_read_survey_sends_project_files_to_load_project(project_dir):
    # io sits below the project layer: it does not read project files itself
    f = project_dir / "survey.toml"
    f.write_text(FULL)
    with pytest.raises(InputError, match=r"load_project\(path\)\.survey"):
        tio.read_survey(f)
    assert load_project(f).survey.summary()["stations"] == 9


def test_read_false_skips_survey(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(FULL)
    p = load_project(f, read=False)
    assert p.survey is None and "survey.stations" in p.inputs


def test_all_problems_in_one_message(project_dir):
    f = project_dir / "bad.toml"
    f.write_text(
        '[survey]\nstations = "st.csv"\nsightngs = "si.csv"\ncrs = 32652\n'
        '[boundaries]\nparks = "nope.gpkg"\n[rasters]\nroads = 3\n'
    )
    with pytest.raises(InputError) as info:
        load_project(f)
    text = str(info.value)
    assert "4 problems found" in text
    assert (
        "bad.toml: [survey] unknown key 'sightngs'. Did you mean 'sightings'?" in text
    )
    assert "[survey] crs = 32652: must be a string" in text
    assert "[boundaries] parks = 'nope.gpkg': file not found" in text
    assert "[rasters] roads = 3: must be a file path" in text


def test_missing_stations_and_bad_crs(project_dir):
    f = project_dir / "p.toml"
    f.write_text('[survey]\ncrs = "EPSG:99999999"\n')
    with pytest.raises(InputError) as info:
        load_project(f)
    assert "needs stations" in str(info.value)
    assert "not a CRS" in str(info.value)


def test_missing_project_file(tmp_path):
    with pytest.raises(InputError, match="project file not found"):
        load_project(tmp_path / "none.toml")


def test_invalid_boundary_in_project_warns(project_dir):
    import geopandas as gpd
    from shapely.geometry import Polygon

    bow = Polygon(
        [
            (500000, 4760000),
            (504000, 4764000),
            (504000, 4760000),
            (500000, 4764000),
            (500000, 4760000),
        ]
    )
    gpd.GeoDataFrame({"name": ["bow"]}, geometry=[bow], crs=32652).to_file(
        project_dir / "bow.gpkg"
    )
    f = project_dir / "p.toml"
    f.write_text(
        '[survey]\nstations = "st.csv"\n[boundaries]\nstudy_area = "bow.gpkg"\n'
    )
    with pytest.warns(TrapscapeWarning, match="repaired"):
        p = load_project(f)
    assert p.survey.study_area.geometry.is_valid.all()


def test_sections_documented():
    doc = (Path(__file__).parents[1] / "docs" / "project-file.md").read_text()
    for s in SECTIONS:
        assert f"[{s}]" in doc


BASE = """
[survey]
crs = "EPSG:32652"
stations = "st.csv"
sightings = "si.csv"
"""


def test_literal_parameter_value_is_checked(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(
        BASE + '\n[density]\nmodel = "zones"\n\n[coverage]\nshape = "hexagon"\n'
    )
    with pytest.raises(InputError) as info:
        load_project(f)
    text = str(info.value)
    assert (
        "survey.toml: [density] model = 'zones' is not allowed; use one of 'null', 'sex', "
        "'zone', 'sex+zone' (allowed values of 'model' in "
        "trapscape.density.fit_survey). Did you mean 'zone'?"
    ) in text
    assert "[coverage] shape = 'hexagon'" in text and "'square', 'hex'" in text


def test_unknown_key_and_wrong_type_are_named_with_the_fix(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(BASE + '\n[corridors]\nresolutoin = 250\nn_jobs = "two"\n')
    with pytest.raises(InputError) as info:
        load_project(f)
    text = str(info.value)
    assert "[corridors] unknown key 'resolutoin'" in text
    assert "Did you mean 'resolution'?" in text
    assert "[corridors] n_jobs = 'two': must be a number." in text


def test_validate_cli_reports_unknown_step_key(project_dir):
    from click.testing import CliRunner

    from trapscape.cli.main import cli

    f = project_dir / "survey.toml"
    f.write_text(BASE + "\n[plan]\nn_neww = 5\n")
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1
    assert "[plan] unknown key 'n_neww'" in res.output
    assert "Did you mean 'n_new'?" in res.output


def test_literal_parameter_valid_values_pass(project_dir):
    f = project_dir / "survey.toml"
    f.write_text(
        BASE + '\n[density]\nmodel = "zone"\n\n[corridors]\nsolver = "direct"\n'
    )
    assert load_project(f, read=False).step("density") == {"model": "zone"}


def test_validate_cli_reports_literal_value(project_dir):
    from click.testing import CliRunner

    from trapscape.cli.main import cli

    f = project_dir / "survey.toml"
    f.write_text(BASE + '\n[density]\nmodel = "zones"\n')
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1
    assert "survey.toml: [density] model = 'zones'" in res.output
    assert "use one of 'null', 'sex', 'zone', 'sex+zone'" in res.output
    assert "Traceback" not in res.output


def test_literal_choices_is_generic():
    from typing import Literal

    from trapscape.project import _check_choices, _literal_choices

    def step(
        data: UnknownType,  # noqa: F821 (deliberately unresolvable)
        *,
        how: Literal["a", "b"] | None = None,
        n: int = 1,
        what: Literal["x"] | float = "x",
    ) -> None:
        """Annotations left as strings; ``UnknownType`` cannot be resolved."""

    assert _literal_choices(step) == {"how": ("a", "b")}  # 'what' also takes floats
    assert _check_choices("steps", {"coverage": True}) == []  # no step function


def test_value_check_imports_only_sections_with_keys(project_dir):
    # an empty step section costs no module import; read=False imports none
    import subprocess
    import sys

    f = project_dir / "survey.toml"
    f.write_text(BASE + '\n[map]\n\n[corridors]\nsolver = "fast"\n')
    code = (
        "import sys\n"
        "from trapscape.project import _check_choices, load_project\n"
        f"load_project({str(f)!r}, read=False)\n"
        "print('trapscape.corridors' in sys.modules)\n"
        "print(_check_choices('map', {}), 'trapscape.present.maps' in sys.modules)\n"
        "print(len(_check_choices('corridors', {'solver': 'fast'})))\n"
        "print('trapscape.corridors' in sys.modules)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert res.stdout.splitlines() == ["False", "[] False", "1", "True"]


def test_survey_date_window_keys(tmp_path):
    from conftest import make_tiny_survey, write_survey_project

    path = write_survey_project(make_tiny_survey(), tmp_path / "p")
    assert load_project(path).survey is not None  # default window: fine
    text = path.read_text()
    path.write_text(
        text.replace("[survey]\n", '[survey]\nearliest_date = "2099-01-01"\n')
    )
    with pytest.raises(
        InputError, match="outside the plausible survey window 2099-01-01"
    ):
        load_project(path)
    path.write_text(text.replace("[survey]\n", "[survey]\nlatest_date = 1999-12-31\n"))
    with pytest.raises(InputError, match="earliest_date / latest_date"):
        load_project(path)
