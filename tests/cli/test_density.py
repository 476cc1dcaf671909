"""``trapscape density`` through click's CliRunner on a simulated survey."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from trapscape import io as tio
from trapscape import validation as V
from trapscape.cli.main import cli
from trapscape.detection import read_detection

CRS = "EPSG:32652"
X0, Y0 = 500_000.0, 4_760_000.0


@pytest.fixture
def survey_files(tmp_path):
    """A 6 x 6 station grid (500 m), 20 daily occasions, HHN detections."""
    rng = np.random.default_rng(7)
    g = np.arange(6) * 500.0
    traps = np.array([(x, y) for y in g for x in g])
    lo, hi = traps.min(0) - 2500, traps.max(0) + 2500
    n_pop = rng.poisson(40 * np.prod(hi - lo) / 1e8)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    d2 = ((centres[:, None] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-0.1 * np.exp(-d2 / (2 * 500.0**2)))
    caps = rng.random((n_pop, 20, len(traps))) < p[:, None, :]
    start = pd.Timestamp("2024-01-01 00:00")
    st = gpd.GeoDataFrame(
        {
            V.STATION_ID: [f"S{j:02d}" for j in range(len(traps))],
            V.CAMERA_ID: "a",
            V.DEPLOYMENT_ID: [f"S{j:02d}/a" for j in range(len(traps))],
            V.SETUP: start,
            V.RETRIEVAL: start + pd.Timedelta(days=20),
            V.SETUP_TIME_KNOWN: True,
            V.RETRIEVAL_TIME_KNOWN: True,
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in traps],
        crs=CRS,
    )
    i, k, j = np.nonzero(caps)
    si = pd.DataFrame(
        {
            V.STATION_ID: [f"S{q:02d}" for q in j],
            V.CAMERA_ID: "a",
            V.DEPLOYMENT_ID: [f"S{q:02d}/a" for q in j],
            V.TIMESTAMP: [start + pd.Timedelta(days=int(q), hours=12) for q in k],
            V.SPECIES: "Panthera pardus orientalis",
            V.INDIVIDUAL_ID: [f"L{q:03d}" for q in i],
            V.SEX: ["F" if q % 2 else "M" for q in i],
            V.MEDIA_ID: [f"m{q}" for q in range(len(i))],
            V.COUNT: 1,
        }
    )
    problems = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: pd.Series(dtype="object"),
            V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
            V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]"),
        }
    )
    stp = tmp_path / "stations.csv"
    tio.write_stations(st, problems, stp)
    sip = tmp_path / "sightings.csv"
    tio.write_sightings(si, sip)
    zones = gpd.GeoDataFrame(
        {V.NAME: ["China", "Russia"], "kind": "zones"},
        geometry=[
            box(X0 - 3000, Y0 - 3000, X0 + 1250, Y0 + 5500),
            box(X0 + 1250, Y0 - 3000, X0 + 5500, Y0 + 5500),
        ],
        crs=CRS,
    )
    study = gpd.GeoDataFrame(
        {V.NAME: ["study"], "kind": "study_area"},
        geometry=[box(X0 - 3000, Y0 - 3000, X0 + 5500, Y0 + 5500)],
        crs=CRS,
    )
    b = tmp_path / "boundaries.gpkg"
    gpd.GeoDataFrame(
        pd.concat([study, zones], ignore_index=True), geometry="geometry", crs=CRS
    ).to_file(b)
    return ["--stations", str(stp), "--sightings", str(sip), "--boundaries", str(b)]


def _run(args):
    return CliRunner().invoke(cli, ["density", *args])


def test_density_writes_outputs(tmp_path, survey_files):
    out = tmp_path / "out"
    res = _run(
        [*survey_files, "--out", str(out), "--buffer", "2000", "--spacing", "250"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "density/density.json").read_text())
    assert summary["model"] == "null"
    assert summary["mask"]["spacing_m"] == 250
    est = pd.read_csv(out / "density/estimates.csv").set_index("parameter")
    assert list(est.index) == ["D", "lambda0", "sigma"]
    assert est.loc["D", "lcl"] < 40 < est.loc["D", "ucl"]
    assert est.loc["sigma", "estimate"] == pytest.approx(500, rel=0.25)
    rn = pd.read_csv(out / "density/region_n.csv")
    assert {"study area", "zone: Russia"} <= set(rn["region"])
    det = read_detection(out / "density/detection.json")
    assert det.detectfn == "HHN"
    assert det.sigma == pytest.approx(est.loc["sigma", "estimate"])
    assert det.density_per_100km2 == pytest.approx(est.loc["D", "estimate"])
    assert "per 100 km2" in res.output


def test_density_refuses_overwrite_and_hn(tmp_path, survey_files):
    out = tmp_path / "out"
    args = [*survey_files, "--out", str(out), "--buffer", "2000", "--spacing", "300"]
    assert _run(args).exit_code == 0
    again = _run(args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    hn = _run([*args, "--detectfn", "HN", "--model", "zone", "--overwrite"])
    assert hn.exit_code == 0, hn.output
    est = pd.read_csv(out / "density/estimates.csv")
    assert est["parameter"].tolist()[:2] == ["D[China]", "D[Russia]"]
    assert "g0" in est["parameter"].tolist()
    # staged in a temporary folder beside --out that is gone afterwards
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_density_unfittable_data_is_a_clean_error(tmp_path, tiny_survey):
    st = tmp_path / "st.csv"
    si = tmp_path / "si.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st)
    sight = tiny_survey.sightings
    tio.write_sightings(sight[sight[V.INDIVIDUAL_ID] == "B"], si)
    out = tmp_path / "out"
    res = _run(["--stations", str(st), "--sightings", str(si), "--out", str(out)])
    assert res.exit_code == 1
    assert "only one individual" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_density_with_given_mask(tmp_path, survey_files):
    xs = np.arange(-2000.0, 4600.0, 400.0)
    gx, gy = np.meshgrid(X0 + xs, Y0 + xs)
    mfile = tmp_path / "mask.csv"
    pd.DataFrame({"x": gx.ravel(), "y": gy.ravel()}).to_csv(mfile, index=False)
    out = tmp_path / "out"
    res = _run([*survey_files, "--out", str(out), "--mask", str(mfile)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "density/density.json").read_text())
    assert summary["mask"]["n_points"] == gx.size
    assert summary["mask"]["spacing_m"] == 400.0


def test_density_project_file_section(tmp_path, survey_files):
    st, si = survey_files[1], survey_files[3]
    toml = tmp_path / "survey.toml"
    toml.write_text(
        f'[survey]\nname = "sim"\nstations = "{Path(st).name}"\n'
        f'sightings = "{Path(si).name}"\n'
        'species = "Panthera pardus orientalis"\n\n'
        '[density]\ndetectfn = "HN"\nbuffer = 2000.0\nspacing = 300.0\n',
        encoding="utf-8",
    )
    out = tmp_path / "p"
    res = _run([str(toml), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "density/density.json").read_text())
    assert summary["detectfn"] == "HN"
    assert summary["mask"]["spacing_m"] == 300.0
    # the command line overrides the project file
    res = _run([str(toml), "--out", str(out), "--detectfn", "HHN", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "density/density.json").read_text())["detectfn"] == "HHN"


def test_density_too_fine_spacing_is_refused_with_one_that_fits(tmp_path, survey_files):
    out = tmp_path / "fine"
    res = _run([*survey_files, "--out", str(out), "--buffer", "2000", "--spacing", "1"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "points would need about" in res.output
    assert "over the 4 GiB memory budget" in res.output
    assert "Use a mask spacing of" in res.output and "(now 1 m)" in res.output
    assert not out.exists()


def test_density_max_memory_gb_option_refuses_with_a_coarser_spacing(
    tmp_path, survey_files
):
    out = tmp_path / "small"
    res = _run([*survey_files, "--out", str(out), "--max-memory-gb", "0.0005"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "over the 0.0005 GiB memory budget" in res.output
    assert "Use a mask spacing of" in res.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging left


def test_density_max_memory_gb_from_the_project_section(tmp_path, survey_files):
    st, si = survey_files[1], survey_files[3]
    toml = tmp_path / "survey.toml"
    toml.write_text(
        f'[survey]\nname = "sim"\nstations = "{Path(st).name}"\n'
        f'sightings = "{Path(si).name}"\n'
        'species = "Panthera pardus orientalis"\n\n'
        "[density]\nmax_memory_gb = 0.0005\n",
        encoding="utf-8",
    )
    out = tmp_path / "p"
    res = _run([str(toml), "--out", str(out)])
    assert res.exit_code == 1
    assert "over the 0.0005 GiB memory budget" in res.output
    assert not out.exists()


def test_density_max_memory_gb_must_be_positive(tmp_path, survey_files):
    res = _run([*survey_files, "--out", str(tmp_path / "o"), "--max-memory-gb", "0"])
    assert res.exit_code == 2


def test_density_surfaces_ranked_by_aic_with_a_geotiff(tmp_path, survey_files):
    import rasterio
    from rasterio.transform import from_origin

    # a covariate raster over the survey: rising to the north
    tif = tmp_path / "north.tif"
    grid = np.tile(np.linspace(1, 0, 40)[:, None], (1, 40)).astype("float32")
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0 - 5000, Y0 + 8000, 400, 400),
    ) as dst:
        dst.write(grid, 1)
    out = tmp_path / "out"
    common = [*survey_files, "--buffer", "2000", "--spacing", "250"]
    res = _run(
        [
            *common,
            "--out",
            str(out),
            "--surface",
            "~x + y",
            "--surface",
            "~north",
            "--raster",
            f"north={tif}",
        ]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "density/surfaces.csv")
    assert set(table["model"]) == {"D ~x + y", "D ~north"}
    assert table["daic"].min() == 0
    with rasterio.open(out / "density/surface.tif") as src:
        assert src.count == 2
        assert np.nanmin(src.read(1)) > 0
    summary = json.loads((out / "density/density.json").read_text())
    assert [s["density_model"] for s in summary["surfaces"]] == ["~x + y", "~north"]
    bad = _run([*common, "--out", str(tmp_path / "o2"), "--surface", "~forest"])
    assert bad.exit_code == 1
    assert "forest" in bad.output and "[rasters]" in bad.output
