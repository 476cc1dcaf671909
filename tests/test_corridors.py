"""Tests of trapscape.corridors: least cost, circuit theory, resistance, hotspots."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from trapscape import corridors as C
from trapscape._raster import GridSpec, grid_of, to_dataarray
from trapscape.errors import ComputationError, CRSError, InputError, TrapscapeWarning

DATA = Path(__file__).parent / "data" / "leastcost"
UTM = pyproj.CRS("EPSG:32652")


def _grid(
    h: int, w: int, cell: float = 100.0, x0: float = 500_000.0, y0: float = 4_000_000.0
) -> GridSpec:
    return GridSpec(x0, y0, cell, w, h, UTM)


def _da(values: np.ndarray, cell: float = 100.0) -> object:
    h, w = values.shape
    return to_dataarray(
        np.asarray(values, dtype=float), _grid(h, w, cell), nodata=np.nan
    )


def _centre(grid: GridSpec, row: int, col: int) -> tuple[float, float]:
    return float(grid.xs[col]), float(grid.ys[row])


def _reference_cost() -> object:
    with rasterio.open(DATA / "cost.tif") as src:
        vals = src.read(1).astype(float)
        t = src.transform
    grid = GridSpec(t.c, t.f, t.a, vals.shape[1], vals.shape[0], UTM)
    return to_dataarray(vals, grid, nodata=np.nan)


def _habitat() -> object:
    vals = np.loadtxt(DATA / "habitat.asc", skiprows=6)
    grid = GridSpec(500_000.0, 4_002_000.0, 100.0, 20, 20, UTM)
    return to_dataarray(vals, grid, nodata=np.nan)


# ----------------------------------------------------------- cost distance
@pytest.fixture(params=["default", "python", "skimage"])
def engine(request, monkeypatch) -> str:
    """Run a test with each search engine: the default one (Numba-compiled when
    Numba is installed, else scikit-image), the same search as plain Python
    (what Numba compiles) and scikit-image's MCP_Geometric."""
    from trapscape.corridors import _dijkstra

    monkeypatch.setattr(_dijkstra, "COMPILE_MIN_CELLS", 0)  # small grids too
    if request.param == "python":
        monkeypatch.setattr(_dijkstra, "compiled_search", lambda: _dijkstra.search)
    elif request.param == "skimage":
        monkeypatch.setattr(_dijkstra, "compiled_search", lambda: None)
    return request.param


def test_uniform_row_and_diagonal_costs_are_hand_checkable() -> None:
    res = _da(np.ones((6, 6)))
    g = grid_of(res)
    cd = C.cost_distance(res, _centre(g, 0, 0), units="cells").values
    assert cd[0, 5] == pytest.approx(5.0)
    assert cd[5, 0] == pytest.approx(5.0)
    assert cd[5, 5] == pytest.approx(5 * math.sqrt(2))
    assert cd[2, 5] == pytest.approx(2 * math.sqrt(2) + 3)
    cdm = C.cost_distance(res, _centre(g, 0, 0)).values  # metres
    np.testing.assert_allclose(cdm, cd * 100.0)


def test_cost_is_mean_of_neighbouring_cells() -> None:
    res = _da(np.array([[1.0, 3.0, 5.0]]))
    g = grid_of(res)
    cd = C.cost_distance(res, _centre(g, 0, 0), units="cells").values
    np.testing.assert_allclose(cd[0], [0.0, 2.0, 6.0])


def test_matches_skimage_mcp_geometric_on_random_raster(engine: str) -> None:
    from skimage.graph import MCP_Geometric

    rng = np.random.default_rng(42)
    vals = rng.uniform(0.5, 20.0, (60, 45))
    vals[rng.random(vals.shape) < 0.1] = np.nan
    vals[10, 7] = 2.0
    res = _da(vals, cell=30.0)
    g = grid_of(res)
    cd = C.cost_distance(res, _centre(g, 10, 7)).values
    costs = np.where(np.isnan(vals), np.inf, vals)
    ref, _ = MCP_Geometric(
        costs, fully_connected=True, sampling=(30.0, 30.0)
    ).find_costs([(10, 7)])
    ok = np.isfinite(ref) & ~np.isnan(vals)
    np.testing.assert_allclose(cd[ok], ref[ok], rtol=1e-12)
    assert np.isnan(cd[np.isnan(vals)]).all()


def test_matches_grass_rcost_reference(engine: str) -> None:
    res = _reference_cost()
    cs = C.CostSurface(res, units="cells")
    cd = cs.cost_distance((500050.0, 4000050.0))
    with rasterio.open(DATA / "rcost8_accum_cost.tif") as src:
        ref = src.read(1)
    np.testing.assert_allclose(cd.values, ref, rtol=1e-12, atol=1e-12)
    ref_paths = pd.read_csv(DATA / "rcost8_paths.csv")
    for _, row in ref_paths.iterrows():
        line, cost = cs.path(cd, (row["x"], row["y"]))
        assert cost == pytest.approx(row["accumulated_cost"], rel=1e-12)
        assert len(line.coords) == row["path_cells"]
    assert ref_paths["accumulated_cost"].tolist() == pytest.approx(
        [39.870058, 19, 5], abs=1e-6
    )


def test_matches_gdistance_in_cells_and_metres() -> None:
    res = _reference_cost()
    pts = pd.read_csv(DATA / "lc_points_ids.csv").set_index("id")
    ref = pd.read_csv(DATA / "gd_leastcost8.csv")
    cs_cells = C.CostSurface(res, units="cells")
    cs_map = C.CostSurface(res, units="map")
    for _, row in ref.iterrows():
        a = tuple(pts.loc[row["id1"], ["x", "y"]])
        b = tuple(pts.loc[row["id2"], ["x", "y"]])
        cd = cs_cells.cost_distance(a)
        _, cost = cs_cells.path(cd, b)
        assert cost == pytest.approx(row["leastcost_cells"], rel=1e-12)
        cdm = cs_map.cost_distance(a)
        assert cs_map.path(cdm, b)[1] == pytest.approx(row["leastcost_map"], rel=1e-12)


def test_path_is_connected_and_goes_around_barrier(engine: str) -> None:
    vals = np.ones((7, 7))
    vals[:6, 3] = np.nan  # wall with a gap at the bottom row
    res = _da(vals)
    g = grid_of(res)
    cd = C.cost_distance(res, _centre(g, 0, 0))
    line, cost = C.least_cost_path(res, cd, _centre(g, 0, 6))
    xy = np.asarray(line.coords)
    steps = np.abs(np.diff(xy, axis=0)) / 100.0
    assert (steps.max(axis=1) == 1).all()  # each move to a neighbour
    assert xy[0] == pytest.approx(_centre(g, 0, 0))
    assert xy[-1] == pytest.approx(_centre(g, 0, 6))
    assert min(xy[:, 1]) == pytest.approx(g.ys[6])  # passes through the gap
    assert cost == pytest.approx(float(cd.values[0, 6]))


def test_polygon_sources_have_zero_cost_inside(engine: str) -> None:
    res = _da(np.ones((10, 10)))
    g = grid_of(res)
    poly = box(g.x0, g.y0 - 300, g.x0 + 300, g.y0)
    cd = C.cost_distance(res, gpd.GeoSeries([poly], crs=UTM), units="cells").values
    assert (cd[:3, :3] == 0).all()
    assert cd[0, 9] == pytest.approx(7.0)  # from the nearest source cell, column 2
    assert cd[9, 9] == pytest.approx(7 * math.sqrt(2))


def test_search_engines_agree_on_ties_float32_and_earlier_surfaces(
    monkeypatch,
) -> None:
    """Integer resistance (many equal-cost routes), float32 input and a path
    traced from an earlier surface: every engine gives the same costs, and
    each path re-adds, step by step, to the cost of its end cell."""
    from trapscape.corridors import _dijkstra

    monkeypatch.setattr(_dijkstra, "COMPILE_MIN_CELLS", 0)
    rng = np.random.default_rng(7)
    vals = rng.integers(1, 4, (25, 30)).astype(np.float32)
    vals[rng.random(vals.shape) < 0.1] = np.nan
    vals[0, 0] = vals[24, 29] = 1.0
    res = _da(vals)
    res = res.astype(np.float32)
    g = grid_of(res)
    out = {}
    for name, kernel in [("python", _dijkstra.search), ("skimage", None)]:
        monkeypatch.setattr(_dijkstra, "compiled_search", lambda k=kernel: k)
        cs = C.CostSurface(res, units="cells")
        assert cs._costs.dtype == np.float32
        first = cs.cost_distance(_centre(g, 0, 0))
        cs.cost_distance(_centre(g, 24, 29))  # the engine now holds another search
        line, cost = cs.path(first, _centre(g, 24, 29))
        assert cost == pytest.approx(float(first.values[24, 29]), rel=1e-12)
        cells = [
            (g.ys.tolist().index(y), g.xs.tolist().index(x)) for x, y in line.coords
        ]
        steps = 0.0
        for (r0, c0), (r1, c1) in itertools.pairwise(cells):
            assert max(abs(r1 - r0), abs(c1 - c0)) == 1
            length = math.hypot(r1 - r0, c1 - c0)
            steps += (float(vals[r0, c0]) + float(vals[r1, c1])) / 2 * length
        assert steps == pytest.approx(cost, rel=1e-12)
        out[name] = first.values
    np.testing.assert_allclose(out["python"], out["skimage"], rtol=1e-12)
    assert np.isnan(out["python"][np.isnan(vals)]).all()


def test_several_sources_at_once_equal_one_at_a_time(engine: str, monkeypatch) -> None:
    """cost_distances searches side by side; each surface equals its own
    search, and paths from any of them need no second search."""
    rng = np.random.default_rng(3)
    vals = rng.uniform(1, 9, (30, 40))
    vals[rng.random(vals.shape) < 0.05] = np.nan
    vals[[2, 27, 15], [3, 35, 20]] = 1.0
    res = _da(vals)
    g = grid_of(res)
    srcs = [_centre(g, 2, 3), _centre(g, 27, 35), _centre(g, 15, 20)]
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # two at a time, then one
    cs = C.CostSurface(res)
    many = cs.cost_distances(srcs, names=["a", "b", "c"])
    assert [d.name for d in many] == ["a", "b", "c"]
    calls = []
    search = cs._search
    monkeypatch.setattr(cs, "_search", lambda r, c: calls.append(1) or search(r, c))
    for cd, src in zip(many, srcs, strict=True):
        np.testing.assert_array_equal(
            cd.values, C.CostSurface(res).cost_distance(src).values
        )
        _line, cost = cs.path(cd, srcs[0])
        assert cost == pytest.approx(float(cd.values[2, 3]))
    assert calls == []


def test_search_falls_back_to_scikit_image_without_numba(monkeypatch, caplog) -> None:
    """No Numba, or a Numba that cannot compile: None (scikit-image is used),
    with a log line in the second case."""
    import sys
    import types

    from trapscape.corridors import _dijkstra

    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    assert _dijkstra._compile() is None

    def njit(**_kw):
        raise RuntimeError("no LLVM here")

    monkeypatch.setitem(sys.modules, "numba", types.SimpleNamespace(njit=njit))
    with caplog.at_level("WARNING", logger="trapscape.corridors._dijkstra"):
        assert _dijkstra._compile() is None
    assert "no LLVM here" in caplog.text and "scikit-image" in caplog.text
    # below COMPILE_MIN_CELLS scikit-image runs even when Numba is there
    monkeypatch.setattr(_dijkstra, "compiled_search", lambda: _dijkstra.search)
    small = _da(np.ones((5, 5)))
    assert C.CostSurface(small)._kernel is None
    monkeypatch.setattr(_dijkstra, "COMPILE_MIN_CELLS", 49)  # 7 x 7 with the border
    assert C.CostSurface(small)._kernel is _dijkstra.search


def test_cost_distance_refuses_other_crs_and_outside_sources() -> None:
    res = _da(np.ones((5, 5)))
    pts = gpd.GeoSeries([Point(131.0, 43.0)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="to_crs"):
        C.cost_distance(res, pts)
    with pytest.raises(InputError, match="outside the resistance grid"):
        C.cost_distance(res, (0.0, 0.0))
    with pytest.raises(InputError, match="units"):
        C.cost_distance(res, (500_050.0, 3_999_950.0), units="km")


def test_geographic_grid_is_refused() -> None:
    grid = GridSpec(130.0, 43.0, 0.01, 5, 5, pyproj.CRS("EPSG:4326"))
    da = to_dataarray(np.ones((5, 5)), grid)
    with pytest.raises(CRSError, match="projected"):
        C.cost_distance(da, (130.02, 42.98))


def test_input_raster_is_not_modified() -> None:
    vals = np.ones((5, 5))
    vals[2, 2] = np.nan
    res = _da(vals)
    before = res.values.copy()
    C.cost_distance(res, (500_050.0, 3_999_950.0))
    np.testing.assert_array_equal(res.values, before)


# ---------------------------------------------------------------- corridors
def test_corridor_contains_path_and_widens_with_width() -> None:
    rng = np.random.default_rng(1)
    res = _da(rng.uniform(1, 5, (30, 30)))
    g = grid_of(res)
    a, b = _centre(g, 2, 2), _centre(g, 27, 27)
    cs = C.CostSurface(res)
    cda, cdb = cs.cost_distance(a), cs.cost_distance(b)
    line, cost = cs.path(cda, b)
    narrow = C.least_cost_corridor(cda, cdb, width_cost=0.0)
    wide = C.least_cost_corridor(cda, cdb, width_cost=2000.0)
    assert narrow.least_cost == pytest.approx(cost)
    assert wide.polygon.area > narrow.polygon.area
    assert wide.polygon.buffer(1).contains(line)
    assert np.nanmax(wide.raster.values) <= 2000.0 + 1e-9


def test_corridor_polygon_of_a_fragmented_mask_is_valid_without_a_union() -> None:
    """Pieces meeting at corners (and islands in holes) form a valid
    MultiPolygon with the mask's area and the same parts as their union."""
    from shapely.ops import unary_union

    from trapscape.corridors.leastcost import _mask_polygon

    rng = np.random.default_rng(11)
    mask = rng.random((60, 60)) < 0.45
    mask[20:30, 20:30] = True
    mask[22:28, 22:28] = False
    mask[24:26, 24:26] = True  # an island inside a hole
    grid = _grid(60, 60)
    poly = _mask_polygon(mask, grid)
    assert poly.is_valid and poly.geom_type == "MultiPolygon"
    assert poly.area == pytest.approx(mask.sum() * 100.0**2)
    union = unary_union(list(poly.geoms))
    assert len(union.geoms) == len(poly.geoms)
    assert union.symmetric_difference(poly).area == pytest.approx(0.0, abs=1e-6)
    one = np.zeros((5, 5), bool)
    one[1:3, 1:4] = True
    assert _mask_polygon(one, _grid(5, 5)).geom_type == "Polygon"


def test_corridor_width_in_metres_uses_median_resistance() -> None:
    res = _da(np.full((20, 20), 2.0))
    g = grid_of(res)
    cs = C.CostSurface(res)
    cda, cdb = cs.cost_distance(_centre(g, 10, 0)), cs.cost_distance(_centre(g, 10, 19))
    cor = C.least_cost_corridor(cda, cdb, width_m=300.0, resistance=res)
    assert cor.width_cost == pytest.approx(600.0)
    cs_cells = C.CostSurface(res, units="cells")
    c2 = C.least_cost_corridor(
        cs_cells.cost_distance(_centre(g, 10, 0)),
        cs_cells.cost_distance(_centre(g, 10, 19)),
        width_m=300.0,
        resistance=res,
    )
    assert c2.width_cost == pytest.approx(6.0)
    with pytest.raises(InputError, match="not both"):
        C.least_cost_corridor(cda, cdb, width_m=1.0, width_cost=1.0)


# --------------------------------------------------------------- circuit
def test_chain_effective_resistance_is_series_sum() -> None:
    res = _da(np.ones((1, 8)))
    g = grid_of(res)
    out = C.circuit(res, [_centre(g, 0, 0), _centre(g, 0, 7)], solver="direct")
    assert out.resistances.iloc[0, 1] == pytest.approx(7.0, rel=1e-12)
    # series of different resistors: average-conductance edges
    vals = np.array([[1.0, 2.0, 4.0]])
    res2 = _da(vals)
    g2 = grid_of(res2)
    out2 = C.circuit(res2, [_centre(g2, 0, 0), _centre(g2, 0, 2)], solver="direct")
    expect = 1 / ((1 + 0.5) / 2) + 1 / ((0.5 + 0.25) / 2)
    assert out2.resistances.iloc[0, 1] == pytest.approx(expect, rel=1e-12)
    # a 1 A current flows through every cell of the chain
    np.testing.assert_allclose(out.current.values, 1.0)


def _dense_effective_resistance(vals: np.ndarray, a: int, b: int) -> float:
    h, w = vals.shape
    n = h * w
    lap = np.zeros((n, n))
    cond = 1.0 / vals
    for r in range(h):
        for c in range(w):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < h and 0 <= c2 < w:
                    wgt = 1.0 if dr == 0 or dc == 0 else 1 / math.sqrt(2)
                    e = 0.5 * (cond[r, c] + cond[r2, c2]) * wgt
                    i, j = r * w + c, r2 * w + c2
                    lap[i, j] -= e
                    lap[j, i] -= e
                    lap[i, i] += e
                    lap[j, j] += e
    pinv = np.linalg.pinv(lap)
    return float(pinv[a, a] + pinv[b, b] - 2 * pinv[a, b])


@pytest.mark.parametrize("solver", ["direct", "cg_amg"])
def test_effective_resistance_matches_dense_laplacian(solver: str) -> None:
    rng = np.random.default_rng(7)
    vals = rng.uniform(0.2, 10.0, (9, 11))
    res = _da(vals)
    g = grid_of(res)
    cells = [(0, 0), (8, 10), (4, 5)]
    out = C.circuit(
        res, [_centre(g, r, c) for r, c in cells], solver=solver, rtol=1e-13
    )
    for i in range(3):
        for j in range(i + 1, 3):
            a = cells[i][0] * 11 + cells[i][1]
            b = cells[j][0] * 11 + cells[j][1]
            ref = _dense_effective_resistance(vals, a, b)
            assert out.resistances.iloc[i, j] == pytest.approx(ref, rel=1e-8)


def test_effective_resistance_matches_circuitscape_reference() -> None:
    res = _habitat()
    pts = np.loadtxt(DATA / "points.txt")
    nodes = gpd.GeoDataFrame(
        {"node_id": [str(int(p[0])) for p in pts]},
        geometry=[Point(p[1], p[2]) for p in pts],
        crs=UTM,
    )
    out = C.circuit(res, nodes)
    ref = np.loadtxt(DATA / "cs_resistances_3columns.out")
    for i, j, r in ref:
        got = out.resistances.loc[str(int(i)), str(int(j))]
        # Circuitscape prints 10 digits from an iterative solve (its 2-4 value
        # is 1.1e-8 off the exact one that gdistance and a dense solve give)
        assert got == pytest.approx(r, rel=5e-8)
    gd = pd.read_csv(DATA / "gd_resistance8.csv")
    for _, row in gd.iterrows():
        got = out.resistances.loc[str(int(row["id1"])), str(int(row["id2"]))]
        assert got == pytest.approx(row["resistance_cells"], rel=1e-9)
    assert out.solver == "direct"
    # symmetric with zero diagonal
    m = out.resistances.to_numpy()
    np.testing.assert_allclose(m, m.T)
    assert (np.diag(m) == 0).all()


def test_current_is_conserved_and_pinch_points_found() -> None:
    vals = np.ones((15, 15))
    vals[:, 7] = np.nan
    vals[7, 7] = 1.0  # a single gap: pinch point
    res = _da(vals)
    g = grid_of(res)
    out = C.circuit(res, [_centre(g, 7, 0), _centre(g, 7, 14)], solver="direct")
    cur = out.current.values
    assert cur[7, 7] == pytest.approx(1.0, rel=1e-9)  # all current through the gap
    assert cur[7, 0] == pytest.approx(1.0, rel=1e-9)  # source cell
    assert np.isnan(cur[0, 7])
    assert len(out.pinch_points) >= 1
    gap = Point(_centre(g, 7, 7))
    assert out.pinch_points.geometry.buffer(1).contains(gap).any()
    assert (out.pinch_points["current_max"] <= 1.0 + 1e-9).all()


def test_disconnected_nodes_get_infinite_resistance() -> None:
    vals = np.ones((5, 9))
    vals[:, 4] = np.nan
    res = _da(vals)
    g = grid_of(res)
    out = C.circuit(
        res, [_centre(g, 0, 0), _centre(g, 4, 1), _centre(g, 2, 8)], solver="direct"
    )
    r = out.resistances.to_numpy()
    assert np.isinf(r[0, 2]) and np.isinf(r[1, 2])
    assert np.isfinite(r[0, 1])


def test_one_to_all_matches_parallel_grounding() -> None:
    res = _da(np.ones((1, 9)))
    g = grid_of(res)
    out = C.circuit(
        res,
        [_centre(g, 0, 0), _centre(g, 0, 4), _centre(g, 0, 8)],
        mode="one_to_all",
        solver="direct",
    )
    to_all = out.resistances["to_all"].to_numpy()
    # middle node: two 4-ohm chains in parallel; ends: 4 ohm to the middle
    np.testing.assert_allclose(to_all, [4.0, 2.0, 4.0], rtol=1e-12)


def test_polygon_nodes_are_short_circuited() -> None:
    res = _da(np.ones((1, 10)))
    g = grid_of(res)
    left = box(g.x0, g.y0 - 100, g.x0 + 300, g.y0)  # cells 0..2
    nodes = gpd.GeoDataFrame(
        {"core_id": ["L", "R"]}, geometry=[left, Point(_centre(g, 0, 9))], crs=UTM
    )
    out = C.circuit(res, nodes, solver="direct")
    assert out.resistances.loc["L", "R"] == pytest.approx(7.0, rel=1e-12)


def test_memory_budget_refusal_suggests_resolution() -> None:
    res = _da(np.ones((200, 200)))
    g = grid_of(res)
    with pytest.raises(ComputationError, match=r"resolution of \d+ m"):
        C.circuit(res, [_centre(g, 0, 0), _centre(g, 199, 199)], max_memory_gb=0.001)


# ------------------------------------------------------------ resistance
def _write_tif(
    path: Path,
    vals: np.ndarray,
    transform: object,
    crs: str,
    nodata: float | None = None,
) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=vals.shape[1],
        height=vals.shape[0],
        count=1,
        dtype=vals.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(vals, 1)


def test_resistance_surface_reclass_from_geographic_raster(tmp_path: Path) -> None:
    from rasterio.transform import from_origin

    # a lon/lat raster: west half class 1 (forest), east half class 12 (crop)
    vals = np.ones((40, 40), dtype=np.uint8)
    vals[:, 20:] = 12
    path = tmp_path / "lc.tif"
    _write_tif(
        path, vals, from_origin(130.9, 43.1, 0.005, 0.005), "EPSG:4326", nodata=255
    )
    cx, cy = pyproj.Transformer.from_crs(4326, UTM, always_xy=True).transform(
        131.0, 43.0
    )
    grid = GridSpec(cx - 2000, cy + 2000, 250.0, 16, 16, UTM)
    res = C.resistance_surface(
        grid, layers=[C.RasterReclass(path, {1: 1.0, 12: 50.0})], base=0.0
    )
    v = res.values
    assert v[8, 0] == 1.0 and v[8, -1] == 50.0
    assert set(np.unique(v)) == {1.0, 50.0}
    assert res.rio.crs is not None and grid_of(res) == grid


def test_resistance_combination_rules_and_barrier() -> None:
    grid = _grid(10, 10)
    elev = to_dataarray(np.tile(np.arange(10.0) * 100.0, (10, 1)), grid)  # slope 45 deg
    road = gpd.GeoDataFrame(
        geometry=[LineString([(grid.xs[0], grid.ys[5]), (grid.xs[-1], grid.ys[5])])],
        crs=UTM,
    )
    fence = gpd.GeoDataFrame(
        geometry=[LineString([(grid.xs[2], grid.ys[0]), (grid.xs[2], grid.ys[-1])])],
        crs=UTM,
    )
    layers = [
        C.RasterFunction(elev, lambda s: s / 45.0, of="slope"),
        C.VectorLayer(road, resistance=10.0),
        C.VectorLayer(fence, barrier=True),
    ]
    s = C.resistance_surface(grid, layers=layers, combine="sum").values
    assert s[0, 5] == pytest.approx(2.0)  # base 1 + slope 45 deg / 45
    assert s[5, 5] == pytest.approx(12.0)
    assert np.isnan(s[:, 2]).all()
    m = C.resistance_surface(grid, layers=layers, combine="max").values
    assert m[5, 5] == pytest.approx(10.0) and m[0, 5] == pytest.approx(1.0)
    slope = C.resistance_surface(
        grid, layers=[C.RasterFunction(elev, "slope")], base=0.0
    ).values
    assert slope[5, 5] == pytest.approx(45.0)
    p = C.resistance_surface(grid, layers=layers, combine="product", base=2.0).values
    assert p[5, 5] == pytest.approx(20.0) and p[0, 5] == pytest.approx(2.0)


def test_settlement_distance_decay() -> None:
    grid = _grid(1, 30)
    town = gpd.GeoDataFrame(geometry=[Point(grid.xs[0], grid.ys[0])], crs=UTM)
    s = C.resistance_surface(
        grid, layers=[C.VectorLayer(town, resistance=50.0, decay_distance=1000.0)]
    ).values
    d = np.arange(30) * 100.0
    np.testing.assert_allclose(s[0], 1.0 + 50.0 * np.exp(-d / 1000.0), rtol=1e-12)
    # vectors in another CRS are reprojected
    town_ll = town.to_crs(4326)
    s2 = C.resistance_surface(
        grid, layers=[C.VectorLayer(town_ll, resistance=50.0, decay_distance=1000.0)]
    ).values
    np.testing.assert_allclose(s2, s, rtol=1e-9)


def test_resistance_surface_errors() -> None:
    grid = _grid(3, 3)
    with pytest.raises(InputError, match="combine"):
        C.resistance_surface(grid, layers=[], combine="mean")
    wall = gpd.GeoDataFrame(
        geometry=[box(grid.x0, grid.y0 - 300, grid.x0 + 300, grid.y0)], crs=UTM
    )
    with pytest.raises(ComputationError, match="impassable"):
        C.resistance_surface(grid, layers=[C.VectorLayer(wall, barrier=True)])


# ------------------------------------------------------- cores and network
def _two_country_setup() -> tuple[object, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(3)
    vals = rng.uniform(1.0, 3.0, (40, 40))
    vals[:, 20] = 50.0
    vals[18:22, 20] = 1.0  # cheap crossing in the middle of the border
    res = _da(vals)
    g = grid_of(res)
    west = box(g.x0 + 100, g.y0 - 3900, g.x0 + 800, g.y0 - 100)
    east = box(g.x0 + 3200, g.y0 - 3900, g.x0 + 3900, g.y0 - 100)
    parks = gpd.GeoDataFrame(
        {"name": ["West Park", "East Park"], "zone": ["China", "Russia"]},
        geometry=[west, east],
        crs=UTM,
    )
    bx = g.x0 + 20.5 * 100
    border = gpd.GeoDataFrame(
        geometry=[LineString([(bx, g.y0), (bx, g.y0 - 4000)])], crs=UTM
    )
    return res, parks, border


def test_cores_from_assigns_ids_and_zones(tiny_survey) -> None:
    cores = C.cores_from(tiny_survey.zones, survey=tiny_survey)
    assert list(cores.columns) == ["core_id", "name", "zone", "geometry"]
    assert cores["core_id"].is_unique
    assert set(cores["zone"]) == set(tiny_survey.zones["name"])


def test_least_cost_network_and_hotspots_find_the_gap() -> None:
    res, parks, border = _two_country_setup()
    cores = C.cores_from(parks)
    out = C.least_cost_network(res, cores, width_m=200.0)
    assert len(out.paths) == 1 and len(out.corridors) == 1
    assert set(out.cost_distances) == {"west_park", "east_park"}
    path = out.paths.geometry.iloc[0]
    g = grid_of(res)
    cross = path.intersection(border.geometry.iloc[0])
    assert g.y0 - 2200 <= cross.y <= g.y0 - 1800
    circ = C.circuit(res, cores, solver="direct")
    hot = C.border_hotspots(
        border,
        current=circ.current,
        paths=out.paths,
        corridors=out.corridors,
        detour=out.detour,
        segment_length=500.0,
    )
    assert hot["rank"].tolist() == list(range(1, len(hot) + 1))
    assert len(hot) == 8
    top = hot.iloc[0]
    assert top["n_paths"] == 1
    assert top.geometry.distance(cross) < 1.0
    assert hot["current_sum"].iloc[0] == hot["current_sum"].max()
    assert hot["detour_cost"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert (hot["detour_cost"].iloc[1:] > 0).all()
    pc = C.pair_crossings(out.paths, border, segments=hot)
    assert pc.loc[0, "n_crossings"] >= 1
    assert pc.loc[0, "segment_id"] == top["segment_id"]
    assert pc.loc[0, "cost"] == pytest.approx(out.paths["cost"].iloc[0])


def test_network_warns_without_zones() -> None:
    res, parks, _ = _two_country_setup()
    cores = C.cores_from(parks.drop(columns="zone"))
    with pytest.warns(TrapscapeWarning, match="no zone"):
        out = C.least_cost_network(res, cores)
    assert len(out.paths) == 1


def test_border_segments_lengths() -> None:
    line = gpd.GeoSeries([LineString([(0, 0), (10_400, 0)])], crs=UTM)
    segs = C.border_segments(line, segment_length=1000.0)
    assert len(segs) == 10
    assert segs["length_m"].sum() == pytest.approx(10_400.0)
    assert segs["length_m"].to_numpy() == pytest.approx(np.full(10, 1040.0))


def test_fast_and_general_laplacian_assembly_agree() -> None:
    from trapscape.corridors import _solver

    rng = np.random.default_rng(11)
    vals = rng.uniform(0.5, 5.0, (12, 17))
    vals[rng.random(vals.shape) < 0.15] = np.nan
    vals[0, 0] = vals[11, 16] = 1.0
    focal = np.full(vals.shape, -1)
    focal[0, 0], focal[11, 16] = 0, 1
    g = _solver.build_graph(vals, focal)
    general = _solver._laplacian_coo(g.gid, g.edge_cond, g.laplacian.shape[0])
    assert abs(g.laplacian - general).max() < 1e-14
    np.testing.assert_allclose(
        np.asarray(g.laplacian.sum(axis=1)).ravel(), 0, atol=1e-12
    )


def test_parallel_solves_match_serial() -> None:
    rng = np.random.default_rng(5)
    res = _da(rng.uniform(1.0, 10.0, (40, 40)))
    g = grid_of(res)
    nodes = [
        _centre(g, 2, 2),
        _centre(g, 37, 3),
        _centre(g, 20, 36),
        _centre(g, 38, 38),
    ]
    one = C.circuit(res, nodes, solver="cg_amg", rtol=1e-10)
    two = C.circuit(res, nodes, solver="cg_amg", rtol=1e-10, n_jobs=2)
    direct = C.circuit(res, nodes, solver="direct")
    np.testing.assert_allclose(two.resistances, one.resistances, rtol=1e-12)
    np.testing.assert_allclose(one.resistances, direct.resistances, rtol=1e-8)
    np.testing.assert_allclose(
        two.current.values, direct.current.values, rtol=1e-6, atol=1e-9
    )


def test_cores_from_drops_nested_reserve() -> None:
    big = box(0, 0, 10_000, 10_000)
    small = box(1000, 1000, 2000, 2000)
    other = box(20_000, 0, 30_000, 10_000)
    layer = gpd.GeoDataFrame(
        {"name": ["Park", "Reserve", "Other"]}, geometry=[big, small, other], crs=UTM
    )
    cores = C.cores_from(layer)
    assert cores["name"].tolist() == ["Park", "Other"]
    assert len(C.cores_from(layer, drop_nested=False)) == 3


def test_corridors_for_survey_on_tiny_survey(tiny_survey) -> None:
    from trapscape._raster import grid_for_bounds

    grid = grid_for_bounds((499_000.0, 4_759_000.0, 505_000.0, 4_765_000.0), 100.0, UTM)
    vals = np.ones(grid.shape)
    res = to_dataarray(vals, grid, nodata=np.nan)
    cores = gpd.GeoDataFrame(
        {"name": ["West", "East"]},
        geometry=[
            box(499_200, 4_760_000, 501_800, 4_764_000),
            box(503_200, 4_760_000, 504_800, 4_764_000),
        ],
        crs=UTM,
    )
    out = C.corridors_for_survey(
        tiny_survey,
        resistance=res,
        cores=cores,
        core_setback=500.0,
        segment_length=500.0,
    )
    assert set(out.cores["zone"]) == {"China", "Russia"}
    # cores cut back 500 m from the border at x = 502 500
    west = out.cores.geometry.iloc[0]
    assert west.bounds[2] == pytest.approx(501_800.0)
    east = out.cores.geometry.iloc[1]
    assert east.bounds[0] == pytest.approx(503_200.0)
    assert len(out.paths) == 1
    # uniform resistance: a straight crossing between the nearest cell centres
    # (x = 501 750 and 503 250): 15 moves of 100 m at resistance 1
    assert out.paths["cost"].iloc[0] == pytest.approx(1500.0)
    assert out.paths["length_m"].iloc[0] == pytest.approx(1500.0)
    assert out.hotspots is not None and len(out.hotspots) == 8
    assert out.pair_crossings.loc[0, "n_crossings"] == 1
    assert out.current is not None
    er = out.circuit.resistances.to_numpy()
    assert er[0, 1] > 0 and np.isfinite(er[0, 1])
    # the survey's parks alone are all in Russia: refused with a fix
    with pytest.raises(ComputationError, match="no pair crosses the border"):
        C.corridors_for_survey(tiny_survey, resistance=res)


def test_default_tolerance_single_precision_preconditioner_is_accurate() -> None:
    rng = np.random.default_rng(9)
    vals = rng.uniform(1.0, 50.0, (60, 60))
    vals[rng.random(vals.shape) < 0.05] = np.nan
    cells = [(1, 1), (58, 2), (30, 57)]
    for r, c in cells:
        vals[r, c] = 1.0
    res = _da(vals)
    g = grid_of(res)
    nodes = [_centre(g, r, c) for r, c in cells]
    amg = C.circuit(res, nodes, solver="cg_amg")  # rtol 1e-6, float32 V-cycle
    exact = C.circuit(res, nodes, solver="direct")
    np.testing.assert_allclose(amg.resistances, exact.resistances, rtol=1e-6)
    np.testing.assert_allclose(
        amg.current.values, exact.current.values, rtol=1e-4, atol=1e-6
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(2, 12),
    w=st.integers(2, 12),
)
def test_least_cost_is_symmetric_and_path_cost_matches(
    seed: int, h: int, w: int
) -> None:
    rng = np.random.default_rng(seed)
    vals = rng.uniform(0.5, 20.0, (h, w))
    res = _da(vals)
    g = grid_of(res)
    a = _centre(g, 0, 0)
    b = _centre(g, h - 1, w - 1)
    cs = C.CostSurface(res, units="cells")
    cda, cdb = cs.cost_distance(a), cs.cost_distance(b)
    assert float(cda.values[-1, -1]) == pytest.approx(
        float(cdb.values[0, 0]), rel=1e-12
    )
    line, cost = cs.path(cda, b)
    # re-add the path's step costs: mean of the two cells x step length
    xy = np.asarray(line.coords)
    rows = np.round((g.y0 - xy[:, 1]) / g.cell - 0.5).astype(int)
    cols = np.round((xy[:, 0] - g.x0) / g.cell - 0.5).astype(int)
    steps = np.hypot(np.diff(rows), np.diff(cols))
    again = np.sum(
        0.5 * (vals[rows[:-1], cols[:-1]] + vals[rows[1:], cols[1:]]) * steps
    )
    assert again == pytest.approx(cost, rel=1e-12)
    # effective resistance is symmetric and below the least-cost distance bound
    er = C.circuit(res, [a, b], solver="direct").resistances.iloc[0, 1]
    assert 0 < er <= cost + 1e-12


def _path_cost_again(line: LineString, vals: np.ndarray, g: GridSpec) -> float:
    """Sum of the step costs along a path through cell centres (cell units)."""
    xy = np.asarray(line.coords)
    rows = np.round((g.y0 - xy[:, 1]) / g.cell - 0.5).astype(int)
    cols = np.round((xy[:, 0] - g.x0) / g.cell - 0.5).astype(int)
    moves = np.maximum(abs(np.diff(rows)), abs(np.diff(cols)))
    assert (moves == 1).all() or (len(moves) == 1 and moves[0] == 0)  # one cell
    steps = np.hypot(np.diff(rows), np.diff(cols))
    return float(
        np.sum(0.5 * (vals[rows[:-1], cols[:-1]] + vals[rows[1:], cols[1:]]) * steps)
    )


@pytest.mark.parametrize("kind", ["uniform", "integers"])
def test_paths_through_tied_costs_are_least_cost(kind: str) -> None:
    """On grids with many equal-cost routes, any traced path must cost L.

    MCP's trace-back picks one of the tied routes (see docs/corridors.md);
    the cost of the route it picks must equal the accumulated cost, both
    from the engine's latest search and after searching again from a
    surface computed earlier (``least_cost_path`` on a fresh engine).
    """
    rng = np.random.default_rng(5)
    vals = np.ones((25, 30)) if kind == "uniform" else rng.integers(1, 4, (25, 30))
    vals = vals.astype(float)
    res = _da(vals)
    g = grid_of(res)
    cs = C.CostSurface(res, units="cells")
    src = _centre(g, 3, 4)
    cd = cs.cost_distance(src)
    earlier = cd
    cs.cost_distance(_centre(g, 20, 25))  # the engine now holds another search
    for r, c in [(24, 29), (0, 29), (12, 0), (3, 4), (24, 5)]:
        line, cost = cs.path(earlier, _centre(g, r, c))
        assert cost == pytest.approx(float(cd.values[r, c]), rel=1e-12)
        assert tuple(line.coords[0]) == pytest.approx(src)
        assert tuple(line.coords[-1]) == pytest.approx(_centre(g, r, c))
        assert _path_cost_again(line, vals, g) == pytest.approx(cost, rel=1e-12)
        line2, cost2 = C.least_cost_path(res, cd, _centre(g, r, c))
        assert cost2 == cost
        assert _path_cost_again(line2, vals, g) == pytest.approx(cost, rel=1e-12)


def test_circuit_refuses_zero_resistance_cells_least_cost_treats_them_as_free():
    """Review regression: a 0-resistance cell must not silently become a barrier."""
    import numpy as np
    import pytest

    from trapscape._raster import grid_for_bounds, to_dataarray
    from trapscape.errors import InputError

    grid = grid_for_bounds((0, 0, 500, 100), 100, "EPSG:32652")
    vals = np.ones((1, 5))
    vals[0, 2] = 0.0
    res = to_dataarray(vals, grid)
    pts = [(50.0, 50.0), (450.0, 50.0)]
    with pytest.raises(InputError, match="resistance <= 0"):
        C.circuit(res, pts)
    cd = C.cost_distance(res, [pts[0]])
    assert np.isfinite(float(cd.values[0, 4]))


def _suggested_m(msg: str) -> float:
    import re

    found = re.search(r"(?:resolution of|to) (\d+) m", msg)
    assert found, msg
    return float(found.group(1))


def test_corridors_refuse_a_grid_over_the_budget_before_any_work(tiny_survey) -> None:
    # no rasters, no cores: the size check comes first, from extent and
    # resolution alone (a 1 m grid over the survey and a 5 km buffer)
    with pytest.raises(ComputationError) as err:
        C.corridors_for_survey(tiny_survey, resolution=1.0, max_memory_gb=0.001)
    msg = str(err.value)
    assert "cells" in msg and "GiB" in msg and "0.001 GiB" in msg
    suggested = _suggested_m(msg)
    assert suggested > 1.0
    # the suggested resolution passes the size check (and then fails on the
    # cores, all in Russia, which is the next thing checked)
    with pytest.raises(ComputationError, match="no pair crosses the border"):
        C.corridors_for_survey(tiny_survey, resolution=suggested, max_memory_gb=0.001)


def test_resistance_from_project_refuses_before_reading_layers(tiny_survey) -> None:
    # the layer paths do not exist: refused on size before they are read
    with pytest.raises(ComputationError, match=r"resolution of \d+ m or coarser"):
        C.resistance_from_project(
            tiny_survey,
            {"landcover": "/nonexistent/landcover.tif"},
            resolution=1.0,
            max_memory_gb=0.001,
        )


def test_corridors_refuse_a_given_resistance_over_the_budget(tiny_survey) -> None:
    grid = GridSpec(499_000.0, 4_765_000.0, 10.0, 600, 600, UTM)
    res = to_dataarray(np.ones(grid.shape), grid, nodata=np.nan)
    with pytest.raises(ComputationError, match=r"Resample the resistance raster"):
        C.corridors_for_survey(tiny_survey, resistance=res, max_memory_gb=0.001)


def test_corridors_check_the_grid_again_once_core_files_are_read(
    tiny_survey, tmp_path: Path
) -> None:
    # core files far from the survey widen the grid: refused after reading
    # the cores, before any raster is read (the rasters do not exist)
    far = gpd.GeoDataFrame(
        {"name": ["far west", "far east"]},
        geometry=[
            box(300_000, 4_760_000, 302_000, 4_762_000),
            box(306_000, 4_760_000, 308_000, 4_762_000),
        ],
        crs=UTM,
    )
    path = tmp_path / "far_cores.gpkg"
    far.to_file(path, driver="GPKG")
    kw = {
        "rasters": {"landcover": tmp_path / "missing.tif"},
        "cores": [path],
        "pairs": "all",
        "core_setback": 0.0,
        "resolution": 100.0,
        "max_memory_gb": 0.05,
    }
    with pytest.raises(ComputationError, match=r"resolution of \d+ m or coarser"):
        C.corridors_for_survey(tiny_survey, **kw)


def test_package_reexports_every_public_name() -> None:
    """The package split keeps ``trapscape.corridors.<name>`` for every name."""
    import importlib

    import trapscape.corridors as pkg
    from trapscape.corridors import (
        border,
        circuit_theory,
        cores,
        leastcost,
        resistance,
        survey,
    )

    omni = importlib.import_module("trapscape.corridors.omniscape")
    modules = (resistance, cores, leastcost, circuit_theory, border, survey, omni)
    owned = {name: mod for mod in modules for name in mod.__all__}
    assert sorted(owned) == sorted(pkg.__all__)
    for name, mod in owned.items():
        assert getattr(pkg, name) is getattr(mod, name)
    assert pkg.for_survey is pkg.corridors_for_survey
    assert callable(pkg.circuit)  # the function, not the circuit_theory module
