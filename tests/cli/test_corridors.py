"""``trapscape corridors`` through click's CliRunner."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import X0, Y0, make_tiny_survey, write_survey_project
from rasterio.transform import from_origin
from shapely.geometry import Point, box

from trapscape.cli.main import cli

CRS = "EPSG:32652"


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Tiny survey + land cover (forest, with a cropland band and one forest gap)."""
    folder = tmp_path / "project"
    survey = make_tiny_survey()
    toml = write_survey_project(survey, folder)
    # 100 m land cover covering the study area and a 5 km margin
    x0, y0, n = X0 - 5000, Y0 + 9000, 140
    lc = np.full((n, n), 1, dtype=np.uint8)  # forest
    col_border = int((X0 + 2500 - x0) // 100)
    lc[:, col_border - 3 : col_border + 3] = 12  # cropland strip along the border
    gap_row = int((y0 - (Y0 + 2000)) // 100)
    lc[gap_row - 1 : gap_row + 2, col_border - 3 : col_border + 3] = 1  # forest gap
    with rasterio.open(
        folder / "landcover.tif",
        "w",
        driver="GTiff",
        width=n,
        height=n,
        count=1,
        dtype="uint8",
        crs=CRS,
        transform=from_origin(x0, y0, 100, 100),
        nodata=255,
    ) as dst:
        dst.write(lc, 1)
    towns = gpd.GeoDataFrame(
        {"name": ["village"]}, geometry=[Point(X0 + 2500, Y0 + 3800)], crs=CRS
    ).to_crs(4326)
    towns.to_file(folder / "settlements.gpkg", driver="GPKG")
    china = gpd.GeoDataFrame(
        {"name": ["China core"]},
        geometry=[box(X0 - 3000, Y0, X0 + 1000, Y0 + 4000)],
        crs=CRS,
    )
    china.to_file(folder / "china.gpkg", driver="GPKG")
    text = toml.read_text() + (
        '[rasters]\nlandcover = "landcover.tif"\nsettlements = "settlements.gpkg"\n'
        '[corridors]\nresolution = 100.0\ncores = ["china.gpkg"]\n'
        "core_setback = 500.0\n"
        "segment_length = 500.0\nbuffer = 3000.0\n"
    )
    toml.write_text(text)
    return toml


def test_corridors_from_project_writes_every_output(
    tmp_path: Path, project: Path
) -> None:
    out = tmp_path / "out"
    res = _run(["corridors", str(project), "--out", str(out), "--n-jobs", "2"])
    assert res.exit_code == 0, res.output
    for name in (
        "results.gpkg",
        "corridors/resistance.tif",
        "corridors/current.tif",
        "corridors/corridor.tif",
        "corridors/detour.tif",
        "corridors/pair_costs.csv",
        "corridors/pair_crossings.csv",
        "corridors/effective_resistance.csv",
        "corridors/border_hotspots.csv",
    ):
        assert (out / name).exists(), name
    assert len(list(out.glob("corridors/cost_distance_*.tif"))) == 2
    layers = set(gpd.list_layers(out / "results.gpkg")["name"])
    assert {"cores", "corridor_paths", "corridors", "border_hotspots"} <= layers
    cores = gpd.read_file(out / "results.gpkg", layer="cores")
    assert set(cores["zone"]) == {"China", "Russia"}
    hot = pd.read_csv(out / "corridors/border_hotspots.csv")
    assert hot["rank"].tolist() == list(range(1, len(hot) + 1))
    hs = gpd.read_file(out / "results.gpkg", layer="border_hotspots")
    top = hs.sort_values("rank").geometry.iloc[0]
    # the forest gap in the cropland strip is the best crossing
    assert top.distance(Point(X0 + 2500, Y0 + 2000)) < 600
    pc = pd.read_csv(out / "corridors/pair_crossings.csv")
    assert len(pc) == 1 and pc.loc[0, "n_crossings"] >= 1
    assert abs(pc.loc[0, "crossing_y"] - (Y0 + 2000)) < 300
    er = pd.read_csv(out / "corridors/effective_resistance.csv", index_col=0)
    assert er.shape == (2, 2) and er.iloc[0, 1] > 0
    with rasterio.open(out / "corridors/resistance.tif") as src:
        assert src.res == (100.0, 100.0)
        assert src.crs.to_epsg() == 32652
    assert "2 cores" in res.output


def test_refuses_to_overwrite_and_leaves_no_partial_output(
    tmp_path: Path, project: Path
) -> None:
    out = tmp_path / "out"
    args = ["corridors", str(project), "--out", str(out), "--no-circuit"]
    assert _run(args).exit_code == 0
    before = sorted(p.name for p in out.iterdir())
    again = _run(args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert _run([*args, "--overwrite", "--width-m", "300"]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == before
    assert not (out / "corridors/current.tif").exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert leftovers == []


def test_bad_inputs_give_clean_errors(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "out2"
    # a memory budget far too small: clean refusal naming a coarser resolution
    res = _run(
        ["corridors", str(project), "--out", str(out), "--max-memory-gb", "0.0001"]
    )
    assert res.exit_code == 1
    assert "resolution of" in res.output and "Traceback" not in res.output
    assert not out.exists()
    # stations only, no rasters
    survey_dir = project.parent
    res = _run(
        ["corridors", "--stations", str(survey_dir / "stations.csv"), "--out", str(out)]
    )
    assert res.exit_code == 1
    assert "--landcover" in res.output
    res = _run(
        [
            "corridors",
            str(project),
            "--out",
            str(out),
            "--width-m",
            "1",
            "--width-cost",
            "1",
        ]
    )
    assert res.exit_code == 2


def test_too_fine_resolution_is_refused_with_one_that_fits(
    tmp_path: Path, project: Path
) -> None:
    out = tmp_path / "fine"
    res = _run(["corridors", str(project), "--out", str(out), "--resolution", "1"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    # size, estimate, budget (default 4 GiB) and a coarser resolution
    assert "cells would need about" in res.output
    assert "over the 4 GiB memory budget" in res.output
    assert "Use a resolution of" in res.output and "(now 1 m)" in res.output
    assert not out.exists()


def test_max_memory_gb_covers_the_whole_run(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "small"
    res = CliRunner().invoke(
        cli, ["corridors", str(project), "--out", str(out), "--max-memory-gb", "0.0001"]
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "corridor grid at 100 m" in res.output.lower()
    assert "over the 0.0001 GiB memory budget" in res.output
    assert "Use a resolution of" in res.output and "(now 100 m)" in res.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging left
    help_text = " ".join(
        CliRunner().invoke(cli, ["corridors", "--help"]).output.split()
    )
    assert "for the whole run" in help_text
    assert "of the circuit solve" not in help_text


def test_advised_resolution_runs_without_a_second_refusal(tmp_path: Path) -> None:
    """Issue 13: the resolution advised for --resolution 5 runs at once.

    The advice is solved from the estimate of the whole step (resistance,
    least-cost surfaces, circuit solve), so the run at that resolution is
    not refused later by the circuit's own check.
    """
    example = Path(__file__).resolve().parents[2] / "data" / "example" / "survey.toml"
    budget = ["--max-memory-gb", "0.5"]
    first = _run(
        [
            "corridors",
            str(example),
            "--out",
            str(tmp_path / "a"),
            "--resolution",
            "5",
            *budget,
        ]
    )
    assert first.exit_code == 1
    assert "over the 0.5 GiB memory budget" in first.output
    found = re.search(r"Use a resolution of (\d+) m or coarser", first.output)
    assert found, first.output
    advised = found.group(1)
    out = tmp_path / "b"
    second = _run(
        ["corridors", str(example), "--out", str(out), "--resolution", advised, *budget]
    )
    assert second.exit_code == 0, second.output
    assert "budget" not in second.output
    assert (out / "results.gpkg").exists()


def test_method_omniscape_with_the_project_section(
    tmp_path: Path, project: Path
) -> None:
    """--method omniscape: hotspots from the omnidirectional current; [omniscape] used."""
    project.write_text(
        project.read_text() + "[omniscape]\nradius = 8\nblock_size = 3\n"
    )
    out = tmp_path / "omni"
    res = _run(["corridors", str(project), "--out", str(out), "--method", "omniscape"])
    assert res.exit_code == 0, res.output
    assert "ranked by omniscape" in res.output
    hot = pd.read_csv(out / "corridors" / "border_hotspots.csv")
    assert set(hot["method"]) == {"omniscape"}
    assert {"flow_ratio", "flow_potential_sum"} <= set(hot.columns)
    assert (out / "corridors" / "flow_potential.tif").exists()
    with rasterio.open(out / "corridors" / "current.tif") as src:
        assert src.res == (100.0, 100.0)  # radius 8 cells: no coarsening


def test_omniscape_radius_below_a_cell_is_refused(
    tmp_path: Path, project: Path
) -> None:
    project.write_text(
        project.read_text().replace(
            "[corridors]\n",
            '[corridors]\nmethod = "omniscape"\nomniscape_radius = 50.0\n',
        )
    )
    res = _run(["corridors", str(project), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "smaller than a cell" in res.output
    assert not (tmp_path / "o").exists()
