"""``trapscape homerange`` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from trapscape.cli.main import cli

DATA = Path(__file__).parents[1] / "data" / "adehabitat"


@pytest.fixture
def relocs(tmp_path) -> Path:
    p = tmp_path / "relocs.csv"
    shutil.copy(DATA / "puechabon_relocs.csv", p)
    return p


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_relocations_both_methods(tmp_path, relocs):
    out = tmp_path / "out"
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(out),
            "--method",
            "both",
            "--cell",
            "50",
            "--percent",
            "50",
            "--percent",
            "95",
        ]
    )
    assert res.exit_code == 0, res.output
    for name in (
        "results.gpkg",
        "homerange/home_range_areas.csv",
        "homerange/overlaps.csv",
        "homerange/excluded.csv",
        "homerange/bandwidths.csv",
    ):
        assert (out / name).exists(), name
    areas = pd.read_csv(out / "homerange/home_range_areas.csv")
    mcp95 = areas[(areas["method"] == "mcp") & (areas["percent"] == 95)]
    assert mcp95.set_index("individual_id").loc["Brock", "area_km2"] == pytest.approx(
        0.226467
    )
    kde95 = areas[(areas["method"] == "kde") & (areas["percent"] == 95)].set_index(
        "individual_id"
    )
    # adehabitatHR kernel.area, href, 50 m grid
    assert kde95.loc["Jean", "area_km2"] == pytest.approx(2.8175)
    polys = gpd.read_file(out / "results.gpkg", layer="home_ranges")
    assert len(polys) == 16
    assert polys.crs.to_epsg() == 32631
    ov = pd.read_csv(out / "homerange/overlaps.csv")
    assert set(ov["method"]) == {"HR", "PHR", "VI", "BA", "UDOI", "HD"}
    hr = ov[ov["method"] == "HR"].set_index(["id1", "id2"])["value"]
    assert hr.loc[("Brock", "Calou")] == pytest.approx(0.401668653158522, rel=1e-6)
    assert "4 individual(s)" in res.output


def test_refuses_to_overwrite(tmp_path, relocs):
    out = tmp_path / "out"
    args = [
        "homerange",
        "--relocations",
        str(relocs),
        "--crs",
        "EPSG:32631",
        "--out",
        str(out),
        "--method",
        "mcp",
    ]
    assert _run(args).exit_code == 0
    again = _run(args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert "Traceback" not in again.output
    assert _run([*args, "--overwrite"]).exit_code == 0
    # no temporary folders left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "relocs.csv"]


def test_exclusions_listed(tmp_path, relocs):
    out = tmp_path / "out"
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(out),
            "--min-detections",
            "25",
            "--cell",
            "50",
        ]
    )
    assert res.exit_code == 0, res.output
    exc = pd.read_csv(out / "homerange/excluded.csv")
    assert list(exc["individual_id"]) == ["Calou"]
    assert "19 detections < min_detections=25" in exc["reason"].iloc[0]
    assert "1 excluded" in res.output


def test_bad_inputs(tmp_path, relocs):
    out = tmp_path / "out"
    res = _run(["homerange", "--relocations", str(relocs), "--out", str(out)])
    assert res.exit_code == 1
    assert "--crs" in res.output
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(out),
            "--h",
            "wide",
        ]
    )
    assert res.exit_code == 2
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:4326",
            "--out",
            str(out),
        ]
    )
    assert res.exit_code == 1
    assert "projected" in res.output
    assert not out.exists()


def test_survey_files_cross_border(tmp_path, tiny_survey):
    from trapscape import io

    st = tmp_path / "stations.csv"
    si = tmp_path / "sightings.csv"
    bd = tmp_path / "boundaries.gpkg"
    io.write_stations(tiny_survey.stations, tiny_survey.problems, st)
    io.write_sightings(tiny_survey.sightings, si)
    zones = tiny_survey.zones.assign(kind="zones")
    zones.to_file(bd, driver="GPKG")
    det = tmp_path / "detection.json"
    det.write_text(json.dumps({"detectfn": "HHN", "sigma": 1500.0, "lambda0": 0.05}))
    out = tmp_path / "out"
    res = _run(
        [
            "homerange",
            "--stations",
            str(st),
            "--sightings",
            str(si),
            "--boundaries",
            str(bd),
            "--crs",
            "EPSG:32652",
            "--out",
            str(out),
            "--h",
            "500",
            "--cell",
            "100",
            "--min-detections",
            "2",
            "--min-stations",
            "2",
            "--detection",
            str(det),
        ]
    )
    assert res.exit_code == 0, res.output
    cb = pd.read_csv(out / "homerange/cross_border_individuals.csv").set_index(
        "individual_id"
    )
    assert cb.loc["A", "status"] == "China only"
    assert cb.loc["B", "status"] == "both"
    assert 0 < cb.loc["B", "share_Russia"] < 1
    cr = pd.read_csv(out / "homerange/crossings.csv")
    assert list(cr["individual_id"]) == ["B"]
    assert cr["hours_between"].iloc[0] == pytest.approx(152.5)
    pop = pd.read_csv(out / "homerange/cross_border_population.csv").set_index("status")
    assert pop.loc["both", "n_individuals"] == 1
    polys = gpd.read_file(out / "results.gpkg", layer="home_ranges")
    assert {"area_China_km2", "area_Russia_km2"} <= set(polys.columns)
    row = polys.iloc[0]
    assert row["area_China_km2"] + row["area_Russia_km2"] == pytest.approx(
        row["poly_area_km2"], rel=1e-6
    )
    sig = gpd.read_file(out / "results.gpkg", layer="sigma_ranges")
    assert sig["radius"].iloc[0] == pytest.approx(1500 * 2.4477, rel=1e-4)


def test_project_toml_section_gives_defaults(tmp_path, tiny_survey):
    from trapscape import io

    io.write_stations(
        tiny_survey.stations, tiny_survey.problems, tmp_path / "stations.csv"
    )
    io.write_sightings(tiny_survey.sightings, tmp_path / "sightings.csv")
    tiny_survey.zones.to_file(tmp_path / "zones.gpkg", driver="GPKG")
    (tmp_path / "project.toml").write_text(
        '[survey]\nname = "tiny"\ncrs = "EPSG:32652"\nstations = "stations.csv"\n'
        'sightings = "sightings.csv"\n\n[boundaries]\nzones = "zones.gpkg"\n\n'
        "[homerange]\nh = 400.0\ncell_size = 100.0\n"
        "min_detections = 2\nmin_stations = 2\n"
    )
    out = tmp_path / "out"
    res = _run(
        [
            "homerange",
            str(tmp_path / "project.toml"),
            "--out",
            str(out),
            "--percent",
            "95",
        ]
    )
    assert res.exit_code == 0, res.output
    bw = pd.read_csv(out / "homerange/bandwidths.csv")
    assert set(bw["h"]) == {400.0}
    areas = pd.read_csv(out / "homerange/home_range_areas.csv")
    assert set(areas["cell"]) == {100.0}
    assert list(areas["percent"]) == [95.0, 95.0]
    # the command line overrides the project file
    res = _run(
        [
            "homerange",
            str(tmp_path / "project.toml"),
            "--out",
            str(out),
            "--h",
            "600",
            "--overwrite",
        ]
    )
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "homerange/bandwidths.csv")["h"]) == {600.0}


def test_overlap_with_adehabitat_per_animal_grids(tmp_path, relocs):
    out = tmp_path / "out"
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(out),
            "--percent",
            "95",
            "--grid",
            "60",
        ]
    )
    assert res.exit_code == 0, res.output
    ov = pd.read_csv(out / "homerange/overlaps.csv")
    assert len(ov) == 6 * 16
    hr = ov[ov["method"] == "HR"]
    assert (hr.loc[hr["id1"] == hr["id2"], "value"] == 1.0).all()
    areas = pd.read_csv(out / "homerange/home_range_areas.csv")
    assert areas["cell"].nunique() == 4  # adehabitatHR's own grid per animal


def test_effort_weights_option(tmp_path, relocs, tiny_survey):
    from trapscape import io

    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(tmp_path / "x"),
            "--effort-weights",
        ]
    )
    assert res.exit_code == 1
    assert "needs a survey" in res.output
    io.write_stations(tiny_survey.stations, tiny_survey.problems, tmp_path / "st.csv")
    io.write_sightings(tiny_survey.sightings, tmp_path / "si.csv")
    outs = {}
    for flag in ([], ["--effort-weights"]):
        out = tmp_path / ("w" if flag else "u")
        res = _run(
            [
                "homerange",
                "--stations",
                str(tmp_path / "st.csv"),
                "--sightings",
                str(tmp_path / "si.csv"),
                "--crs",
                "EPSG:32652",
                "--out",
                str(out),
                "--h",
                "500",
                "--cell",
                "100",
                "--min-detections",
                "2",
                "--min-stations",
                "2",
                "--percent",
                "95",
                *flag,
            ]
        )
        assert res.exit_code == 0, res.output
        outs[bool(flag)] = gpd.read_file(out / "results.gpkg", layer="home_ranges")
    # weighting moves B's range towards S9, the station that worked fewer days
    cu = outs[False].set_index("individual_id").geometry["B"].centroid
    cw = outs[True].set_index("individual_id").geometry["B"].centroid
    assert cw.x > cu.x + 10


def test_cell_and_grid_are_exclusive(tmp_path, relocs):
    res = _run(
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(tmp_path / "o"),
            "--grid",
            "60",
            "--cell",
            "50",
        ]
    )
    assert res.exit_code == 2
    assert "not both" in res.output


def test_max_memory_gb_refuses_kde_grids_with_a_coarser_cell(tmp_path, relocs):
    out = tmp_path / "small"
    res = CliRunner().invoke(
        cli,
        [
            "homerange",
            "--relocations",
            str(relocs),
            "--crs",
            "EPSG:32631",
            "--out",
            str(out),
            "--cell",
            "50",
            "--max-memory-gb",
            "0.0001",
        ],
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "kde grids" in res.output
    assert "over the 0.0001 GiB memory budget" in res.output
    assert "Use a cell size of" in res.output and "(now 50 m)" in res.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging left


def test_max_memory_gb_from_the_project_section(tmp_path, tiny_survey):
    from trapscape import io

    io.write_stations(
        tiny_survey.stations, tiny_survey.problems, tmp_path / "stations.csv"
    )
    io.write_sightings(tiny_survey.sightings, tmp_path / "sightings.csv")
    toml = tmp_path / "survey.toml"
    toml.write_text(
        '[survey]\nname = "t"\ncrs = "EPSG:32652"\nstations = "stations.csv"\n'
        'sightings = "sightings.csv"\n\n'
        "[homerange]\nh = 500.0\nmin_detections = 2\nmin_stations = 2\n"
        "max_memory_gb = 0.000001\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["homerange", str(toml), "--out", str(out)])
    assert res.exit_code == 1
    assert "over the 1e-06 GiB memory budget" in res.output
    assert not out.exists()


def test_ranges_clipped_to_land_unless_told_not_to(tmp_path, tiny_survey):
    from trapscape import io

    st, si, bd = (tmp_path / n for n in ("st.csv", "si.csv", "b.gpkg"))
    io.write_stations(tiny_survey.stations, tiny_survey.problems, st)
    io.write_sightings(tiny_survey.sightings, si)
    tiny_survey.zones.assign(kind="zones").to_file(bd, driver="GPKG")
    base = ["homerange", "--stations", str(st), "--sightings", str(si)]
    base += ["--boundaries", str(bd), "--crs", "EPSG:32652", "--h", "500"]
    base += ["--min-detections", "2", "--min-stations", "2", "--percent", "95"]
    land = tiny_survey.zones.geometry.union_all()
    res = _run([*base, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    clipped = gpd.read_file(tmp_path / "a" / "results.gpkg", layer="home_ranges")
    assert all(land.buffer(1e-6).contains(g) for g in clipped.geometry)
    assert (clipped["off_land_km2"] > 0).all()
    res = _run([*base, "--no-clip-to-land", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    full = gpd.read_file(tmp_path / "b" / "results.gpkg", layer="home_ranges")
    assert "off_land_km2" not in full.columns
    assert not all(land.contains(g) for g in full.geometry)
