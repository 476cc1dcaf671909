"""Chunked grids on dask: resistance and pdot equal the in-memory run.

The cluster tests start one 2-worker LocalCluster for the module (slow:
process start-up on a shared machine) and compare the banded results with
the single-process ones on small grids cut into several bands.
"""

from __future__ import annotations

import builtins
import itertools

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, Point, Polygon, box

from trapscape import _dask, coverage
from trapscape import corridors as C
from trapscape._raster import GridSpec, to_dataarray
from trapscape.detection import DetectionParams
from trapscape.errors import ComputationError, MissingDependencyError

UTM = pyproj.CRS.from_epsg(32652)
X0, Y0 = 500_000.0, 4_770_000.0
GRID = GridSpec(X0, Y0, 100.0, 70, 53, UTM)  # 53 rows x 70 columns


def _layers(tmp_path):
    """Every kind of layer: a warped DEM (slope), classes, decay, width, fence."""
    rng = np.random.default_rng(5)
    # elevation in geographic coordinates: warped bilinearly, then the slope
    lon0, lat0 = 129.0, 43.08
    dem = rng.normal(400.0, 120.0, (80, 110)).cumsum(axis=1) / 10.0
    dem[5:9, 20:25] = -9999.0
    path = tmp_path / "dem.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=110,
        height=80,
        count=1,
        dtype="float64",
        crs="EPSG:4326",
        transform=Affine(0.0012, 0, lon0 - 0.01, 0, -0.0009, lat0 + 0.0),
        nodata=-9999.0,
    ) as dst:
        dst.write(dem, 1)
    classes = rng.integers(1, 14, (60, 80)).astype(float)
    cgrid = GridSpec(X0 - 300, Y0 + 250, 90.0, 80, 60, UTM)
    landcover = to_dataarray(classes, cgrid, nodata=np.nan)
    table = {c: float(c) for c in range(1, 12)} | {12: None}
    villages = gpd.GeoDataFrame(
        geometry=[Point(X0 + 1200, Y0 - 900), Point(X0 + 5200, Y0 - 4100)], crs=UTM
    )
    river = gpd.GeoDataFrame(
        geometry=[LineString([(X0, Y0 - 2000), (X0 + 7000, Y0 - 3500)])], crs=UTM
    )
    fence = gpd.GeoDataFrame(
        geometry=[LineString([(X0 + 3000, Y0), (X0 + 3100, Y0 - 5300)])], crs=UTM
    )
    return [
        C.RasterReclass(landcover, table, default=10.0, fill=7.0),
        C.RasterFunction(path, lambda s: 1.0 + s / 3.0, of="slope", fill=0.0),
        C.VectorLayer(villages, resistance=40.0, decay_distance=800.0),
        C.VectorLayer(river, resistance=25.0, width=150.0),
        C.VectorLayer(fence, barrier=True),
    ]


def _survey_for_pdot(tiny_survey):
    tri = Polygon(
        [(X0 - 1000, Y0 - 1000), (X0 + 5000, Y0 - 1000), (X0 - 1000, Y0 + 5000)]
    )
    area = gpd.GeoDataFrame(geometry=[tri], crs=tiny_survey.crs)
    from dataclasses import replace

    return replace(tiny_survey, study_area=area)


# ------------------------------------------------------- without a cluster
def test_bands_cover_the_grid_in_whole_rows() -> None:
    bands = _dask.row_bands(53, 70, 700)
    assert bands[0] == (0, 10) and bands[-1] == (50, 53)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bands))
    # at least two bands per worker, never less than a row
    assert _dask.band_cells_for(2, 53, 70) == -(-53 * 70 // 4)
    assert _dask.band_cells_for(64, 3, 70) == 70


def test_no_cluster_asked_means_no_dask(monkeypatch, tiny_survey) -> None:
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        # what the cluster path imports (xarray's own dask probe stays)
        if name.startswith(("dask.distributed", "distributed", "dask.array")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    assert coverage.pdot_surface(tiny_survey, p, resolution=500).shape == (8, 8)
    with pytest.raises(MissingDependencyError, match=r"trapscape\[dask\]"):
        coverage.pdot_surface(tiny_survey, p, resolution=500, workers=2)
    grid = GridSpec(X0, Y0, 100.0, 4, 3, UTM)
    with pytest.raises(MissingDependencyError, match=r"trapscape\[dask\]"):
        C.resistance_surface(grid, layers=[], scheduler="tcp://127.0.0.1:9")


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(tiny_survey, tmp_path) -> None:
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    with pytest.raises(ComputationError, match="Cannot reach the dask scheduler"):
        coverage.pdot_surface(
            tiny_survey, p, resolution=500, scheduler="tcp://127.0.0.1:9"
        )


@pytest.mark.slow
def test_memory_check_counts_one_band_on_a_cluster(tiny_survey) -> None:
    p = DetectionParams(lambda0=0.05, sigma=1000.0)
    # 4 m over the 4 km study area: 1 M cells, 48 MB in memory; in 4 bands
    # 12 MB per worker plus the 8 MB surface
    with pytest.raises(ComputationError, match="GiB"):
        coverage.pdot_surface(tiny_survey, p, resolution=4, max_memory_gb=0.03)
    # in bands the same budget is enough for the check (the scheduler is
    # unreachable, so it fails after the check, not on it)
    with pytest.raises(ComputationError, match="Cannot reach"):
        coverage.pdot_surface(
            tiny_survey,
            p,
            resolution=4,
            max_memory_gb=0.03,
            scheduler="tcp://127.0.0.1:9",
        )


# ------------------------------------------------------------ on a cluster
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    ) as lc:
        yield lc.scheduler_address


@pytest.fixture
def small_bands(monkeypatch):
    # bands of about 8 rows: several band edges cross the small grids
    monkeypatch.setattr(_dask, "BAND_CELLS", 560)


@pytest.mark.slow
def test_resistance_on_two_workers_is_identical(
    cluster, small_bands, tmp_path, capsys
) -> None:
    layers = _layers(tmp_path)
    habitat = [box(X0, Y0 - 5000, X0 + 6500, Y0)]
    for combine in ("sum", "product"):
        mem = C.resistance_surface(
            GRID, layers=layers, combine=combine, habitat=habitat
        )
        dsk = C.resistance_surface(
            GRID,
            layers=layers,
            combine=combine,
            habitat=habitat,
            scheduler=cluster,
            progress=True,
        )
        assert "resistance (dask)" in capsys.readouterr().err  # the bar over bands
        assert np.isnan(mem.values).any() and np.isfinite(mem.values).sum() > 1000
        np.testing.assert_array_equal(dsk.values, mem.values)
        assert dsk.rio.transform() == mem.rio.transform()


@pytest.mark.slow
def test_pdot_on_two_workers_is_identical(
    cluster, small_bands, tiny_survey, monkeypatch
) -> None:
    # matrix products of 5 rows: the bands (two products each) cut the grid
    # where one process cuts it
    monkeypatch.setattr(coverage, "_CHUNK_ELEMENTS", 5 * 60)
    s = _survey_for_pdot(tiny_survey)
    hhn = DetectionParams(lambda0=0.05, sigma=900.0)
    mem = coverage.pdot_surface(s, hhn, resolution=100)
    dsk = coverage.pdot_surface(s, hhn, resolution=100, scheduler=cluster)
    assert mem.shape[0] > 8 * 3 and np.isnan(mem.values).any()
    np.testing.assert_array_equal(dsk.values, mem.values)
    # HN: points are grouped per band, so stations beyond 8.6 sigma (kernel
    # < 1e-16) enter other sums than in one process: equal to rounding
    hn = DetectionParams(detectfn="HN", g0=0.1, lambda0=None, sigma=700.0)
    mem = coverage.pdot_surface(s, hn, resolution=100)
    dsk = coverage.pdot_surface(s, hn, resolution=100, scheduler=cluster)
    assert np.array_equal(np.isnan(dsk.values), np.isnan(mem.values))
    np.testing.assert_allclose(dsk.values, mem.values, rtol=0, atol=1e-12)


# ------------------------------------------------------------------- the CLI
@pytest.mark.slow
def test_cli_unreachable_scheduler_writes_nothing(tmp_path, tiny_survey) -> None:
    from click.testing import CliRunner

    from trapscape import io as tio
    from trapscape.cli.main import cli

    st, si = tmp_path / "stations.csv", tmp_path / "sightings.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st)
    tio.write_sightings(tiny_survey.sightings, si)
    area = tmp_path / "area.gpkg"
    tiny_survey.study_area.assign(kind="study_area").to_file(area)
    out = tmp_path / "out"
    args = ["coverage", "--stations", str(st), "--sightings", str(si)]
    args += ["--boundaries", str(area), "--out", str(out), "--resolution", "500"]
    args += ["--lambda0", "0.05", "--sigma", "1000"]
    res = CliRunner().invoke(cli, [*args, "--scheduler", "tcp://127.0.0.1:9"])
    assert res.exit_code == 1, res.output
    assert "Cannot reach the dask scheduler" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_project_dask_section_is_checked() -> None:
    from trapscape import _steps

    assert "dask" in _steps.STEP_SECTIONS
    assert _steps.defaults("dask") == {"workers": 1, "scheduler": None}
    assert _steps.value_problems("dask", {"workers": 2}) == []
    assert _steps.value_problems("dask", {"workers": 0})
    # the step sections whose library functions take a cluster
    for section in ("coverage", "corridors"):
        assert {"workers", "scheduler"} <= set(_steps.defaults(section))


# ------------------------------------------------ omniscape: windowed reads
def _omniscape_case(folder, extra: str):
    """A 45 x 38 GeoTIFF landscape and an INI file naming it."""
    from trapscape.io.omniscape import write_grid

    rng = np.random.default_rng(11)
    shape = (45, 38)
    res = np.exp(rng.normal(1.0, 0.8, shape))
    res[10:13, 5:9] = np.nan
    res[30, 20] = np.nan
    src = rng.uniform(0.0, 1.0, shape)
    src[rng.uniform(size=shape) < 0.4] = 0.0
    temp = np.cumsum(rng.normal(0.0, 0.3, shape), axis=0)
    tr = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 4_770_000.0)
    for name, vals in (("res", res), ("src", src), ("temp", temp)):
        write_grid(vals, folder / f"{name}.tif", transform=tr, crs=UTM)
    np.savetxt(folder / "reclass.txt", [[1.0, 2.0]])
    write_grid(
        np.maximum(np.round(res), 1.0), folder / "classes.tif", transform=tr, crs=UTM
    )
    ini = folder / "case.ini"
    ini.write_text(
        "[Input files]\nresistance_file = res.tif\nsource_file = src.tif\n"
        "[Options]\nradius = 5\nbuffer = 2\nproject_name = out\n"
        "parallel_batch_size = 9\n" + extra
    )
    return ini


CASES = {
    "blocks, flow potential": "block_size = 3\nsource_threshold = 0.2\n"
    "calc_flow_potential = true\ncalc_normalized_current = true\n",
    "sources from resistance, reclassified, single precision": (
        "resistance_file = classes.tif\nsource_from_resistance = true\n"
        "r_cutoff = 4\nreclassify_resistance = true\nreclass_table = reclass.txt\n"
        "write_reclassified_resistance = true\nprecision = single\n"
        "calc_flow_potential = true\ncalc_normalized_current = true\n"
    ),
    "conditional": "block_size = 3\nconditional = true\nn_conditions = 1\n"
    "condition1_file = temp.tif\ncomparison1 = within\n"
    "condition1_lower = -0.5\ncondition1_upper = 0.5\n",
}


@pytest.mark.slow
def test_windowed_omniscape_inputs_are_bit_identical(
    cluster, tmp_path, monkeypatch
) -> None:
    from trapscape.corridors.omniscape import _windowed
    from trapscape.corridors.omniscape.ini import run_ini

    # strips of one block row (3 rows) when scanning and writing
    monkeypatch.setattr(_windowed, "STRIP_CELLS", 3 * 38)
    reads = []
    real_read = _windowed._read

    def spy(path, r0, r1, c0, c1):
        reads.append((r1 - r0) * (c1 - c0))
        return real_read(path, r0, r1, c0, c1)

    monkeypatch.setattr(_windowed, "_read", spy)
    for k, extra in enumerate(CASES.values()):
        folder = tmp_path / f"case{k}"
        folder.mkdir()
        ini = _omniscape_case(folder, extra)
        one = run_ini(ini, out=folder / "one")
        assert not reads  # the single-process run reads whole grids
        two = run_ini(ini, out=folder / "two", scheduler=cluster)
        # the client read strips only (the tasks' reads happen on the workers)
        assert reads and max(reads) <= 3 * 38
        reads.clear()
        assert one.files == two.files and two.result.workers == 2
        assert two.result.n_targets == one.result.n_targets
        for name in one.files:
            if not name.endswith(".tif"):
                continue
            with rasterio.open(one.out / name) as a, rasterio.open(two.out / name) as b:
                va, vb = a.read(1), b.read(1)
                assert a.dtypes == b.dtypes and a.transform == b.transform
            np.testing.assert_array_equal(va, vb)
            assert (va != -9999).sum() > 100


def test_run_takes_the_cluster_from_the_dask_section() -> None:
    from types import SimpleNamespace

    from trapscape.pipeline.steps import _with_dask

    ctx = SimpleNamespace(params={"dask": {"workers": 3, "scheduler": None}})
    step = {"workers": 1, "scheduler": None, "resolution": 500.0}
    assert _with_dask(ctx, step) == {**step, "workers": 3}  # type: ignore[arg-type]
    # a step section naming its own cluster keeps it
    own = {"workers": 1, "scheduler": "tcp://h:8786"}
    assert _with_dask(ctx, own) == own  # type: ignore[arg-type]
    # [dask] without a cluster changes nothing
    ctx = SimpleNamespace(params={"dask": {"workers": 1, "scheduler": None}})
    assert _with_dask(ctx, step) == step  # type: ignore[arg-type]


def test_windowed_omniscape_bad_inputs_fail_before_any_cluster(tmp_path) -> None:
    """Mismatched grids and bad values are found by the strip scan: clear errors,
    nothing written, no cluster contacted (the scheduler address is dead)."""
    from trapscape.corridors.omniscape.ini import run_ini
    from trapscape.errors import InputError
    from trapscape.io.omniscape import write_grid

    ini = _omniscape_case(tmp_path, "block_size = 3\n")
    dead = "tcp://127.0.0.1:9"
    tr = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 4_770_000.0)
    write_grid(np.ones((44, 38)), tmp_path / "src.tif", transform=tr, crs=UTM)
    with pytest.raises(InputError, match="not on the grid of resistance_file"):
        run_ini(ini, scheduler=dead)
    write_grid(np.ones((45, 38)), tmp_path / "src.tif", transform=tr, crs=UTM)
    res = np.ones((45, 38))
    res[40, 3] = -1.0
    write_grid(res, tmp_path / "res.tif", transform=tr, crs=UTM)
    with pytest.raises(InputError, match=r"1 cell\(s\) <= 0"):
        run_ini(ini, scheduler=dead)
    write_grid(np.ones((45, 38)), tmp_path / "res.tif", transform=tr, crs=UTM)
    write_grid(np.zeros((45, 38)), tmp_path / "src.tif", transform=tr, crs=UTM)
    with pytest.raises(InputError, match="No source strength above the threshold"):
        run_ini(ini, scheduler=dead)
    assert not (tmp_path / "out").exists()
