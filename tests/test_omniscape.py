"""Omnidirectional connectivity against Omniscape.jl's verification cases.

The reference grids were computed by Omniscape.jl with its default solver,
Circuitscape's conjugate gradients preconditioned by smoothed-aggregation
multigrid and stopped at a relative residual of 1e-6.  trapscape's
``solver="cg+amg"`` (the default, as in Omniscape.jl) reproduces that
iterative solve, so the INI runs match every cell to 1e-6 relative (about
1e-7 in fact) and norm-wise to 1e-6, as Omniscape.jl's own test suite asks.
``solver="cholmod"`` solves each window exactly: on the cases with a buffer
(15-cell windows) it lies up to 2.3e-5 per cell above the references (CG
from a zero start under-shoots), on the case without one below 4e-7.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from trapscape.cli.main import cli
from trapscape.corridors.omniscape import Conditions, OmniscapeOptions, omniscape
from trapscape.corridors.omniscape.ini import run_ini
from trapscape.errors import InputError
from trapscape.io.omniscape import read_grid

DATA = Path(__file__).parent / "data" / "omniscape"


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        a = src.read(1).astype(np.float64)
        assert src.nodata == -9999
    return a


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """The INI files beside a copy of ``input/`` (their paths are relative to it)."""
    shutil.copytree(DATA / "input", tmp_path / "input")
    for case in ("test1", "test2", "test6"):
        shutil.copyfile(DATA / case / "config.ini", tmp_path / f"{case}.ini")
    return tmp_path


def _agree(mine: np.ndarray, ref: np.ndarray, *, cell: float, norm: float) -> float:
    """Largest relative difference per cell (asserted below ``cell``)."""
    nodata = ref == -9999
    assert nodata.sum() == 2
    np.testing.assert_array_equal(mine == -9999, nodata)
    m, r = mine[~nodata], ref[~nodata]
    rel = np.abs(m - r) / np.abs(r)
    assert rel.max() < cell, rel.max()
    assert np.linalg.norm(m - r) / np.linalg.norm(r) < norm
    return float(rel.max())


def test_case1_current_flow_potential_normalised(cases: Path) -> None:
    run = run_ini(cases / "test1.ini")
    assert run.files == (
        "cum_currmap.tif",
        "flow_potential.tif",
        "normalized_cum_currmap.tif",
        "config.ini",
    )
    for name in ("cum_currmap", "flow_potential", "normalized_cum_currmap"):
        _agree(
            _read(cases / "test1" / f"{name}.tif"),
            _read(DATA / "test1" / f"{name}.tif"),
            cell=1e-6,
            norm=1e-6,
        )
    assert run.result.n_targets == 100
    assert run.result.options.solver == "cg+amg"  # Omniscape.jl's default
    assert run.result.options.block_size == 3  # 2 is raised to 3, as Omniscape.jl does


def test_case2_ascii_output(cases: Path) -> None:
    run = run_ini(cases / "test2.ini")
    assert run.files == ("cum_currmap.asc", "config.ini")
    _agree(
        _read(cases / "test2" / "cum_currmap.asc"),
        _read(DATA / "test2" / "cum_currmap.asc"),
        cell=1e-6,
        norm=1e-6,
    )


def test_case6_conductance_and_conditional(cases: Path) -> None:
    run_ini(cases / "test6.ini")
    _agree(
        _read(cases / "test6" / "cum_currmap.tif"),
        _read(DATA / "test6" / "cum_currmap.tif"),
        cell=1e-6,
        norm=1e-6,
    )


@pytest.mark.parametrize("case", ["test1", "test2"])
def test_exact_solver_differs_from_the_iterative_one(cases: Path, case: str) -> None:
    """``solver = cholmod`` in the INI: exact windows, within 3e-5 of Omniscape.jl."""
    ini = cases / f"{case}.ini"
    ini.write_text(ini.read_text() + "\nsolver = cholmod\n")
    run = run_ini(ini)
    assert run.result.options.solver == "cholmod"
    name = "cum_currmap.tif" if case == "test1" else "cum_currmap.asc"
    worst = _agree(
        _read(cases / case / name), _read(DATA / case / name), cell=3e-5, norm=1e-5
    )
    assert worst > 2e-6  # the iterative solve's shortfall is real


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    res = read_grid(DATA / "input" / "resistance.asc", what="r").values
    src = read_grid(DATA / "input" / "source.asc", what="s").values
    return res, src


def test_without_conditions_case6_differs() -> None:
    """The conditions matter: dropping them changes the current a lot."""
    res, src = _inputs()
    temp = read_grid(DATA / "input" / "temperature.asc", what="t").values
    base: dict = {
        "radius": 5,
        "block_size": 3,
        "source_threshold": 0.2,
        "resistance_is_conductance": True,
    }
    with_c = omniscape(
        res,
        src,
        options=OmniscapeOptions(
            **base, conditions=Conditions(("within",), (-0.5,), (0.5,))
        ),
        conditions=[temp],
    ).cumulative_current
    without = omniscape(res, src, **base).cumulative_current
    assert np.nanmax(np.abs(with_c - without) / without) > 0.5


def test_equal_comparison_keeps_only_matching_sources() -> None:
    """'equal': a target only draws from sources of its own class."""
    res = np.ones((15, 15))
    src = np.ones((15, 15))
    klass = np.zeros((15, 15))
    klass[:, 8:] = 1.0
    opts = OmniscapeOptions(
        radius=4,
        correct_artifacts=False,
        conditions=Conditions(("equal",), (0.0,), (0.0,)),
    )
    out = omniscape(res, src, options=opts, conditions=[klass]).cumulative_current
    free = omniscape(res, src, radius=4, correct_artifacts=False).cumulative_current
    # no current crosses between the classes, so the class boundary carries less
    assert out[:, 7:9].sum() < 0.8 * free[:, 7:9].sum()


def test_sources_from_resistance_and_r_cutoff() -> None:
    res, _ = _inputs()
    a = omniscape(
        res, None, radius=4, r_cutoff=0.5, solver="cholmod"
    ).cumulative_current
    src = np.where(res <= 0.5, 1.0 / res, 0.0)
    b = omniscape(res, src, radius=4, solver="cholmod").cumulative_current
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_reclass_table_applies_before_solving() -> None:
    res = np.array([[1.0, 2.0] * 6] * 12)
    src = np.ones_like(res)
    table = [[1.0, 5.0], [2.0, 5.0]]
    a = omniscape(
        res, src, radius=3, reclass_table=table, solver="cholmod"
    ).cumulative_current
    b = omniscape(
        np.full_like(res, 5.0), src, radius=3, solver="cholmod"
    ).cumulative_current
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_four_neighbours_differ_from_eight() -> None:
    res, src = _inputs()
    four = omniscape(
        res, src, radius=4, connect_four_neighbors_only=True, solver="cholmod"
    )
    eight = omniscape(res, src, radius=4, solver="cholmod")
    assert np.nanmax(np.abs(four.cumulative_current - eight.cumulative_current)) > 0.01


@pytest.mark.parametrize(("solver", "rtol"), [("cholmod", 1e-5), ("cg+amg", 2e-3)])
def test_single_precision_close_to_double(solver: str, rtol: float) -> None:
    """Single precision: exact solves agree to float32; CG's stopping point
    (a relative residual of 1e-6, near float32's resolution) moves by more."""
    res, src = _inputs()
    kw = {"radius": 5, "block_size": 3, "buffer": 2, "solver": solver}
    d = omniscape(res, src, **kw).cumulative_current
    s = omniscape(res, src, precision="single", **kw)
    assert s.cumulative_current.dtype == np.float32
    np.testing.assert_allclose(s.cumulative_current, d, rtol=rtol)


def test_dataarray_in_dataarray_out() -> None:
    import xarray as xr

    res, src = _inputs()
    da = xr.DataArray(
        res, dims=("y", "x"), coords={"y": np.arange(30.0)[::-1], "x": np.arange(30.0)}
    )
    out = omniscape(da, src, radius=4, solver="cholmod")
    assert isinstance(out.cumulative_current, xr.DataArray)
    assert out.cumulative_current.name == "cum_currmap"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"radius": 0}, "at least one cell"),
        ({"radius": 2.5}, "whole number"),
        ({"radius": 3, "source_threshold": 5.0}, "No source strength above"),
        ({"radius": 3, "solver": "lu"}, "'cg\\+amg' or 'cholmod'"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    res, src = _inputs()
    with pytest.raises(InputError, match=match):
        omniscape(res, src, **kwargs)


def test_mismatched_grids() -> None:
    res, src = _inputs()
    with pytest.raises(InputError, match="same grid"):
        omniscape(res, src[:, :20], radius=3)


def test_bad_ini_nothing_written(cases: Path) -> None:
    ini = cases / "bad.ini"
    ini.write_text(
        "[Input files]\nresistance_file = input/missing.asc\n"
        "source_file = input/source.asc\n[Options]\nradius = 3\nproject_name = bad\n"
    )
    with pytest.raises(InputError, match=r"missing\.asc"):
        run_ini(ini)
    assert not (cases / "bad").exists()
    ini.write_text(
        "resistance_file = input/resistance.asc\nsource_file = input/source.asc\n"
        "radius = three\nproject_name = bad\n"
    )
    with pytest.raises(InputError, match="radius = 'three' is not a number"):
        run_ini(ini)
    assert not (cases / "bad").exists()
    ini.write_text(
        "resistance_file = input/resistance.asc\nsource_file = input/source.asc\n"
        "radius = 3\nproject_name = bad\nsolver = pardiso\n"
    )
    with pytest.raises(InputError, match=r"bad\.ini.*solver = 'pardiso'.*cholmod"):
        run_ini(ini)
    assert not (cases / "bad").exists()


def test_ini_with_mismatched_grids_writes_nothing(cases: Path) -> None:
    small = cases / "input" / "small.asc"
    lines = (cases / "input" / "source.asc").read_text().splitlines()
    header = ["ncols 30", "nrows 20", *lines[2:6]]
    small.write_text("\n".join(header + lines[6:26]) + "\n")
    ini = cases / "mismatch.ini"
    ini.write_text(
        "resistance_file = input/resistance.asc\nsource_file = input/small.asc\n"
        "radius = 3\nproject_name = mismatch\n"
    )
    with pytest.raises(InputError, match="not on the grid of resistance_file"):
        run_ini(ini)
    assert not (cases / "mismatch").exists()


def test_cli_out_option(cases: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    res = CliRunner().invoke(
        cli, ["omniscape", str(cases / "test6.ini"), "--out", str(target)]
    )
    assert res.exit_code == 0, res.output
    assert (target / "cum_currmap.tif").exists()
    assert not (cases / "test6").exists()


def test_cli_runs_ini_and_refuses_to_overwrite(cases: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["omniscape", str(cases / "test2.ini")])
    assert first.exit_code == 0, first.output
    assert "100 targets" in first.output
    before = (cases / "test2" / "cum_currmap.asc").read_bytes()
    again = runner.invoke(cli, ["omniscape", str(cases / "test2.ini")])
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert "Traceback" not in again.output
    forced = runner.invoke(cli, ["omniscape", str(cases / "test2.ini"), "--overwrite"])
    assert forced.exit_code == 0, forced.output
    assert (cases / "test2" / "cum_currmap.asc").read_bytes() == before


# --- crossing sites from the omnidirectional current --------------------------


def _grid_da(values: np.ndarray, cell: float = 100.0):
    from trapscape._raster import GridSpec, to_dataarray
    from trapscape.crs import as_crs

    h, w = values.shape
    grid = GridSpec(500_000.0, 4_760_000.0, cell, w, h, as_crs("EPSG:32652"))
    return to_dataarray(values, grid, name="resistance")


def test_choose_method_auto_picks_omniscape_when_cores_touch() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from trapscape.corridors.omniscape.crossing import choose_method

    touching = gpd.GeoDataFrame(
        {"zone": ["Russia", "China"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)]
    )
    apart = touching.set_geometry([box(0, 0, 10, 10), box(500, 0, 510, 10)])
    assert choose_method("auto", touching, 100.0) == "omniscape"
    assert choose_method("auto", apart, 100.0) == "leastcost"
    assert choose_method("auto", None, 100.0) == "omniscape"
    assert choose_method("leastcost", touching, 100.0) == "leastcost"
    with pytest.raises(InputError, match="method"):
        choose_method("circuit", touching, 100.0)


def test_border_hotspots_find_the_gap_in_a_barrier() -> None:
    """A barrier along the border with one gap: the gap ranks first."""
    from shapely.geometry import LineString

    from trapscape.corridors import border_hotspots
    from trapscape.corridors.omniscape.crossing import omniscape_circuit

    res = np.ones((40, 60))
    res[18:22, :] = 50.0  # barrier band along the border
    res[18:22, 40:44] = 1.0  # the gap
    da = _grid_da(res)
    circ, omni = omniscape_circuit(da, radius_m=800.0, block_size=3, pinch_quantile=0.9)
    assert circ.mode == "omniscape"
    assert circ.current.attrs["method"] == "omniscape"
    y = 4_760_000.0 - 20 * 100.0
    border = LineString([(500_000.0, y), (506_000.0, y)])
    hot = border_hotspots(
        [border],
        current=circ.current,
        flow_potential=omni.flow_potential,
        segment_length=400.0,
    )
    top = hot.iloc[0]
    assert 504_000.0 <= top.geometry.centroid.x <= 504_400.0 + 400.0
    assert top["flow_ratio"] > 1.0  # the landscape channels movement there
    assert {"current_sum", "flow_potential_sum", "flow_ratio", "rank"} <= set(
        hot.columns
    )


def test_coarsened_grid_when_the_radius_is_many_cells() -> None:
    from trapscape.corridors.omniscape.crossing import (
        MAX_RADIUS_CELLS,
        omniscape_circuit,
    )

    da = _grid_da(np.ones((120, 120)), cell=50.0)
    circ, _ = omniscape_circuit(
        da, radius_m=50.0 * 60, block_size=None, pinch_quantile=0.9
    )
    assert circ.current.attrs["radius_cells"] <= MAX_RADIUS_CELLS
    assert circ.current.shape == (40, 40)


def test_memory_budget_refuses_before_solving() -> None:
    from trapscape.errors import ComputationError

    res, src = _inputs()
    with pytest.raises(ComputationError, match="GiB"):
        omniscape(res, src, radius=5, max_memory_gb=1e-6)


def test_batches_cover_every_target_once() -> None:
    from trapscape.corridors.omniscape._engine import batches, targets

    _, src = _inputs()
    tg = targets(src, OmniscapeOptions(radius=3))
    groups = batches(tg, 16)
    flat = np.sort(np.concatenate(groups))
    np.testing.assert_array_equal(flat, np.arange(len(tg)))
    assert max(len(g) for g in groups) <= 16


def test_batch_size_does_not_change_the_result() -> None:
    res, src = _inputs()
    kw = {"radius": 4, "block_size": 3, "solver": "cg+amg"}
    a = omniscape(res, src, batch_size=4, **kw).cumulative_current
    b = omniscape(res, src, batch_size=400, **kw).cumulative_current
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.slow
def test_two_dask_workers_give_identical_maps() -> None:
    """A 2-worker LocalCluster gives bit-identical rasters (same batch order)."""
    pytest.importorskip("dask.distributed")
    res, src = _inputs()
    kw = {
        "radius": 5,
        "block_size": 3,
        "buffer": 2,
        "calc_flow_potential": True,
        "calc_normalized_current": True,
        "batch_size": 9,
    }
    one = omniscape(res, src, **kw)
    two = omniscape(res, src, workers=2, **kw)
    assert two.workers == 2
    for name in ("cumulative_current", "flow_potential", "normalized_current"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(cases: Path) -> None:
    pytest.importorskip("dask.distributed")
    runner = CliRunner()
    out = runner.invoke(
        cli, ["omniscape", str(cases / "test2.ini"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert out.exit_code == 1
    assert "Cannot reach the dask scheduler" in out.output
    assert "Traceback" not in out.output
    assert not (cases / "test2").exists()


def test_project_omniscape_section_sets_the_options() -> None:
    """[omniscape] (radius, block size in cells, buffer...) reaches the solve."""
    from trapscape import _steps
    from trapscape.corridors.omniscape.crossing import omniscape_circuit

    section = {"radius": 5, "block_size": 3, "buffer": 1}
    _steps.check_section("omniscape", section, "p.toml")
    with pytest.raises(InputError, match="radius"):
        _steps.check_section("omniscape", {"radius": 0}, "p.toml")
    with pytest.raises(InputError, match="radious"):
        _steps.check_section("omniscape", {"radious": 5}, "p.toml")
    da = _grid_da(np.ones((30, 30)))
    circ, omni = omniscape_circuit(
        da, radius_m=2000.0, block_size=None, pinch_quantile=0.9, options=section
    )
    assert circ.current.attrs["radius_cells"] == 5
    assert omni.options.block_size == 3
    assert omni.options.buffer == 1


def test_window_contexts_give_the_same_partials() -> None:
    """What a dask task gets (only its part of the grids) changes nothing."""
    from trapscape.corridors.omniscape._engine import batches, solve_batch
    from trapscape.corridors.omniscape.core import prepare_context

    res, src = _inputs()
    temp = read_grid(DATA / "input" / "temperature.asc", what="t").values
    opts = OmniscapeOptions(
        radius=5,
        block_size=3,
        buffer=2,
        calc_flow_potential=True,
        conditions=Conditions(("within",), (-0.5,), (0.5,)),
    )
    ctx, _ = prepare_context(res, src, options=opts, conditions=[temp])
    for idx in batches(ctx.targets, 9):
        sub = ctx.window(ctx.targets[idx])
        assert sub.conductance.size < ctx.conductance.size
        a = solve_batch(ctx, idx)
        b = solve_batch(sub, np.arange(len(idx)))
        assert (a.row0, a.col0) == (b.row0, b.col0)
        np.testing.assert_array_equal(a.current, b.current)
        np.testing.assert_array_equal(a.flow_potential, b.flow_potential)


def test_cg_amg_window_solve_is_cg_stopped_at_1e_6(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 41-cell window: a 4-level hierarchy, CG's iterate (residual <= 1e-6,
    not exact), the same with every level sparse or small levels dense."""
    import importlib

    amg = importlib.import_module("trapscape.corridors.omniscape._amg")
    window = importlib.import_module("trapscape.corridors.omniscape._window")
    rng = np.random.default_rng(3)
    cond = rng.uniform(0.01, 1.0, (41, 41))
    cond[rng.uniform(size=cond.shape) < 0.1] = np.nan
    cond[20, 20] = 1.0
    fact = window.Factorised(cond, (20, 20), solver="cg+amg")
    solver = fact._solver
    assert solver.n_levels == 4
    b = rng.uniform(size=solver.matrix.shape[0])
    x = solver.solve(b)
    lap = solver.matrix
    rel = np.linalg.norm(b - lap @ x) / np.linalg.norm(b)
    assert 1e-9 < rel <= 1e-6
    monkeypatch.setattr(amg, "DENSE_MAX", 0)
    sparse_only = amg.AmgCg(lap)
    np.testing.assert_allclose(sparse_only.solve(b), x, rtol=1e-9)
