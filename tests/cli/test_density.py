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


# --- secr files and camtrapR tables instead of a survey ----------------------

SECR = Path(__file__).parents[1] / "data" / "secr"


def _estimates(out):
    return pd.read_csv(out / "density/estimates.csv").set_index("parameter")


def test_density_secr_files_equal_the_library_fit_on_them(tmp_path):
    from trapscape import density as dn

    out = tmp_path / "out"
    traps, caps = SECR / "traps.csv", SECR / "captures.csv"
    args = ["--secr-traps", str(traps), "--secr-captures", str(caps)]
    args += ["--buffer", "100", "--spacing", "10", "--detectfn", "HN"]
    res = _run([*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    ch = dn.read_secr(traps, caps)
    mask = dn.make_mask(ch.traps_xy, buffer=100.0, spacing=10.0)
    lib = dn.fit(ch, mask, detectfn="HN")
    got = _estimates(out)
    want = lib.estimates.set_index("parameter")
    for p in ("D", "g0", "sigma"):
        assert got.loc[p, "estimate"] == pytest.approx(want.loc[p, "estimate"], 1e-9)
        assert got.loc[p, "se"] == pytest.approx(want.loc[p, "se"], 1e-9)
    # and secr's own fit of captdata (D per ha x 1e4 = per 100 km2)
    ref = json.loads((SECR / "fit_proximity_spacing10.json").read_text())
    d_ref = ref["estimates"]["D"]["estimate"] * 1e4
    assert got.loc["D", "estimate"] == pytest.approx(d_ref, rel=1e-3)
    summary = json.loads((out / "density/density.json").read_text())
    assert summary["mask"]["n_points"] == ref["mask"]["n_points"]
    assert summary["settings"]["secr_traps"] == str(traps)
    assert (out / "density/detection.json").exists()


def test_density_secr_files_with_a_secr_mask(tmp_path):
    from trapscape import density as dn

    out = tmp_path / "out"
    args = ["--secr-traps", str(SECR / "traps.csv")]
    args += ["--secr-captures", str(SECR / "captures.csv")]
    res = _run([*args, "--mask", str(SECR / "mask_spacing10.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lib = dn.fit(
        dn.read_secr(SECR / "traps.csv", SECR / "captures.csv"),
        dn.read_secr_mask(SECR / "mask_spacing10.csv"),
    )
    got = _estimates(out)
    want = lib.estimates.set_index("parameter")
    assert got.loc["D", "estimate"] == pytest.approx(want.loc["D", "estimate"], 1e-9)
    assert "76 individuals, 235 detections" in res.output


@pytest.fixture
def camtrapr_files(tmp_path):
    """camtrapR tables of a 5 x 5 grid (600 m), 30 days, HHN detections."""
    rng = np.random.default_rng(3)
    g = np.arange(5) * 600.0
    traps = np.array([(x, y) for y in g for x in g])
    lo, hi = traps.min(0) - 2500, traps.max(0) + 2500
    n_pop = rng.poisson(250 * np.prod(hi - lo) / 1e8)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    d2 = ((centres[:, None] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-0.08 * np.exp(-d2 / (2 * 600.0**2)))
    caps = rng.random((n_pop, 30, len(traps))) < p[:, None, :]
    i, k, j = np.nonzero(caps)
    cams = pd.DataFrame(
        {
            "Station": [f"St{q:02d}" for q in range(len(traps))],
            "utm_x": X0 + traps[:, 0],
            "utm_y": Y0 + traps[:, 1],
            "Setup_date": "01/03/2024",
            "Retrieval_date": "31/03/2024",
            "Problem1_from": ["10/03/2024"] + [""] * (len(traps) - 1),
            "Problem1_to": ["14/03/2024"] + [""] * (len(traps) - 1),
        }
    )
    day = pd.Timestamp("2024-03-01")
    rec = pd.DataFrame(
        {
            "Station": [f"St{q:02d}" for q in j],
            "Species": "PPO",
            "DateTimeOriginal": [
                (day + pd.Timedelta(days=int(q), hours=14)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
                for q in k
            ],
            "Individual": [f"L{q:03d}" for q in i],
        }
    )
    cp, rp = tmp_path / "CTtable.csv", tmp_path / "recordTable.csv"
    cams.to_csv(cp, index=False, quoting=1)  # R's write.csv quotes every field
    rec.to_csv(rp, index=False, quoting=1)
    return rp, cp


def test_density_camtrapr_tables_equal_the_library_fit(tmp_path, camtrapr_files):
    from trapscape import density as dn

    rp, cp = camtrapr_files
    out = tmp_path / "out"
    args = ["--camtrapr-records", str(rp), "--camtrapr-cameras", str(cp)]
    args += ["--date-format", "%d/%m/%Y", "--occasion-days", "3"]
    res = _run([*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    ch = dn.read_camtrapr(rp, cp, occasion_days=3, date_format="%d/%m/%Y")
    assert ch.n_occasions == 11
    assert ch.usage[0].sum() == pytest.approx(ch.usage[1].sum() - 5)  # problem
    from trapscape.density.survey import sigma_guess

    sg = sigma_guess(ch)
    lib = dn.fit(ch, dn.make_mask(ch.traps_xy, sigma_guess=sg))
    assert lib.occasion_model == "bernoulli"  # several days per occasion
    summary = json.loads((out / "density/density.json").read_text())
    assert summary["occasion_model"] == "bernoulli"
    got = _estimates(out)
    want = lib.estimates.set_index("parameter")
    for p in ("D", "lambda0", "sigma"):
        assert got.loc[p, "estimate"] == pytest.approx(want.loc[p, "estimate"], 1e-9)


def _refused(tmp_path, args, *words):
    out = tmp_path / "out"
    res = _run([*args, "--out", str(out)])
    assert res.exit_code == 1, res.output
    for w in words:
        assert w in res.output
    assert "Traceback" not in res.output
    assert "internal error" not in res.output
    assert not out.exists()


def test_density_secr_mixed_with_a_survey_or_half_given_is_refused(
    tmp_path, survey_files, camtrapr_files
):
    traps = ["--secr-traps", str(SECR / "traps.csv")]
    caps = ["--secr-captures", str(SECR / "captures.csv")]
    _refused(tmp_path, [*survey_files, *traps, *caps], "--stations", "cannot be")
    _refused(tmp_path, traps, "--secr-traps needs --secr-captures")
    _refused(tmp_path, caps, "--secr-captures needs --secr-traps")
    rp, cp = camtrapr_files
    _refused(tmp_path, ["--camtrapr-cameras", str(cp)], "needs --camtrapr-records")
    _refused(tmp_path, [*traps, *caps, "--camtrapr-records", str(rp)], "not both")
    _refused(tmp_path, [*traps, *caps, "--model", "zone"], "--model zone")
    _refused(tmp_path, [*traps, *caps, "--occasion-days", "2"], "--occasion-days")


def test_density_bad_secr_or_camtrapr_files_name_file_and_line(
    tmp_path, camtrapr_files
):
    bad = tmp_path / "traps.txt"
    bad.write_text("# trapID x y\nA 0 0\nB 10 north\n")
    caps = ["--secr-captures", str(SECR / "captures.csv")]
    _refused(tmp_path, ["--secr-traps", str(bad), *caps], str(bad), "line 3")
    cf = tmp_path / "capt.txt"
    cf.write_text("1 a 1 A\n1 a 2 Z\n")
    good = tmp_path / "traps2.txt"
    good.write_text("A 0 0\nB 10 0\n")
    args = ["--secr-traps", str(good), "--secr-captures", str(cf)]
    _refused(tmp_path, args, str(cf), "line 2", "'Z'")
    cf.write_text("1 a 1 A\n1 a 1\n")
    _refused(tmp_path, args, str(cf), "line 2", "got '1 a 1'")
    cf.write_text("1 a 1 A\n")
    mf = tmp_path / "mask.csv"
    mf.write_text("x,y\n1,a\n2,b\n")
    _refused(tmp_path, [*args, "--mask", str(mf)], str(mf), "numeric x and y")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00A 0 0\n")
    args = ["--secr-traps", str(binary), "--secr-captures", str(cf)]
    _refused(tmp_path, args, str(binary), "utf-8")
    rp, cp = camtrapr_files
    args = ["--camtrapr-records", str(rp), "--camtrapr-cameras", str(cp)]
    _refused(tmp_path, [*args, "--date-format", "%Y-%m-%d"], str(cp), "--date-format")
    rec = pd.read_csv(rp)
    rec.loc[len(rec)] = ["Nowhere", "PPO", "2024-03-02 10:00:00", "L001"]
    rec.to_csv(rp, index=False)
    dated = [*args, "--date-format", "%d/%m/%Y"]
    _refused(tmp_path, dated, f"row {len(rec)} ", "'Station'", "'Nowhere'")
    ct = pd.read_csv(cp).drop(columns="utm_x")
    ct.to_csv(cp, index=False)
    _refused(tmp_path, args, str(cp), "utm_x")


def test_density_secr_numeric_usage_of_several_days_is_fitted_per_occasion(tmp_path):
    from trapscape import density as dn

    traps = pd.read_csv(SECR / "traps.csv")
    tf = tmp_path / "traps.txt"
    tf.write_text(
        "# trapID x y usage (days per occasion)\n"
        + "".join(f"{r.trapID} {r.x} {r.y} 3 3 3 2 3\n" for r in traps.itertuples())
    )
    caps = SECR / "captures.csv"
    out = tmp_path / "out"
    args = ["--secr-traps", str(tf), "--secr-captures", str(caps)]
    args += ["--secr-usage", "numeric", "--buffer", "100", "--spacing", "10"]
    res = _run([*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "(bernoulli occasions)" in res.output
    ch = dn.read_secr(tf, caps, binary_usage=False)
    assert ch.usage[0].tolist() == [3, 3, 3, 2, 3]
    lib = dn.fit(ch, dn.make_mask(ch.traps_xy, buffer=100.0, spacing=10.0))
    assert lib.occasion_model == "bernoulli"
    got = _estimates(out)
    want = lib.estimates.set_index("parameter")
    for p in ("D", "lambda0", "sigma"):
        assert got.loc[p, "estimate"] == pytest.approx(want.loc[p, "estimate"], 1e-9)
    # binary usage read as such is refused with the option to use
    _refused(tmp_path / "binary", args[:4], str(tf), "--secr-usage numeric")
