"""Density surfaces and several sessions with a trend in trapscape.simulate."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from trapscape import simulate as S
from trapscape.density.sessions_io import read_sessions
from trapscape.errors import InputError

CRS = "EPSG:32652"
X0, Y0 = 500_000.0, 4_760_000.0


def _zone() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["A"]},
        geometry=[box(X0 - 40_000, Y0 - 40_000, X0 + 60_000, Y0 + 60_000)],
        crs=CRS,
    )


def _study() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["study"]}, geometry=[box(X0, Y0, X0 + 20_000, Y0 + 20_000)], crs=CRS
    )


def _params(**kw) -> S.SimulationParams:
    base = {
        "densities": {"A": 10.0},
        "sigma_f": 2000.0,
        "sigma_m": 2000.0,
        "buffer": 6000.0,
        "spacing": 4000.0,
        "layout": "regular",
        "cameras_per_station": 1,
        "extra_zone": None,
        "days": 15,
        "photos_per_event": 1.0,
    }
    base.update(kw)
    return S.SimulationParams(**base)


def _step_raster(path, *, west: float = 0.0, east: float = 1.0, nodata_east=False):
    """A 1 km raster over the zone: ``west`` left of X0 + 10 km, ``east`` right."""
    cell = 1000.0
    x_left, y_top = X0 - 40_000, Y0 + 60_000
    ncol = nrow = 100
    xs = x_left + cell * (np.arange(ncol) + 0.5)
    data = np.where(xs < X0 + 10_000, west, east)[None, :].repeat(nrow, axis=0)
    data = data.astype("float32")
    if nodata_east:
        data[:, xs > X0 + 25_000] = -9999.0
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=ncol,
        height=nrow,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(x_left, y_top, cell, cell),
        nodata=-9999.0,
    ) as dst:
        dst.write(data, 1)
    return path


def _state() -> object:
    return _study().geometry.iloc[0].buffer(6000.0)


# ------------------------------------------------------------------ surfaces
def test_default_params_have_no_surface_fields() -> None:
    d = S.SimulationParams().to_dict()
    assert not {"density_covariate", "density_beta", "density_grid"} & set(d)
    d2 = _params(density_covariate="x", density_beta=0.5).to_dict()
    assert d2["density_covariate"] == "x" and d2["density_beta"] == 0.5


def test_coordinate_surface_scaling_and_expected_n() -> None:
    p = _params(density_covariate="x", density_beta=0.8, density_grid=250.0)
    state = _state()
    surf = S.density_surface(p, state)
    # x standardised over the state space (symmetric about the study's centre)
    assert surf.mean == pytest.approx(X0 + 10_000, abs=1.0)
    pts = surf.grid_xy
    assert surf.sd == pytest.approx(pts[:, 0].std(ddof=1))
    # expected N = integral of D exp(beta z) over the state space (grid sum);
    # check against a finer grid
    fine = S.density_surface(
        p.__class__(**{**p.to_dict(), "density_grid": 100.0}), state
    )
    region = [("A", 10.0, state)]
    assert surf.expected(region)["A"] == pytest.approx(
        fine.expected(region)["A"], rel=2e-3
    )
    # beta = 0 gives D x area
    flat = S.density_surface(_params(density_covariate="x", density_beta=0.0), state)
    assert flat.expected(region)["A"] == pytest.approx(
        10.0 * state.area / 1e8, rel=2e-3
    )


def test_centres_follow_the_surface() -> None:
    """Counts by x-band over 60 draws match the integrated surface (within 4 SE)."""
    p = _params(density_covariate="x", density_beta=0.8)
    state = _state()
    surf = S.density_surface(p, state)
    zones = _zone()
    bands = [(-1e9, X0 + 5_000), (X0 + 5_000, X0 + 15_000), (X0 + 15_000, 1e9)]
    counts = np.zeros(len(bands))
    reps = 60
    for seed in range(reps):
        c = S.draw_activity_centres(
            p, state_space=state, zones=zones, rng=seed, surface=surf
        )
        x = c.geometry.x.to_numpy()
        counts += [((x >= a) & (x < b)).sum() for a, b in bands]
    for (a, b), n in zip(bands, counts, strict=True):
        region = state.intersection(
            box(max(a, X0 - 1e5), Y0 - 1e5, min(b, X0 + 1e5), Y0 + 1e5)
        )
        mu = reps * surf.expected([("A", 10.0, region)])["A"]
        assert abs(n - mu) < 4 * math.sqrt(mu), (a, b, n, mu)
    # the east band is denser than the west band by about exp(beta * dz)
    assert counts[2] > 3 * counts[0]


def test_raster_surface_step(tmp_path) -> None:
    tif = _step_raster(tmp_path / "step.tif")
    p = _params(density_covariate=str(tif), density_beta=1.0)
    state = _state()
    surf = S.density_surface(p, state)
    raw = surf.raw(np.array([[X0 + 1_000, Y0], [X0 + 19_000, Y0]]))
    assert raw.tolist() == [0.0, 1.0]
    share_east = np.mean(surf.grid_xy[:, 0] >= X0 + 10_000)
    assert surf.mean == pytest.approx(share_east, abs=1e-9)
    z_east = (1.0 - surf.mean) / surf.sd
    z_west = (0.0 - surf.mean) / surf.sd
    assert surf.top == pytest.approx(z_east)  # beta > 0: the larger value
    west = state.intersection(box(X0 - 1e5, Y0 - 1e5, X0 + 10_000, Y0 + 1e5))
    east = state.intersection(box(X0 + 10_000, Y0 - 1e5, X0 + 1e5, Y0 + 1e5))
    exp_w = surf.expected([("A", 10.0, west)])["A"]
    exp_e = surf.expected([("A", 10.0, east)])["A"]
    assert exp_w == pytest.approx(10 * math.exp(z_west) * west.area / 1e8, rel=0.01)
    assert exp_e == pytest.approx(10 * math.exp(z_east) * east.area / 1e8, rel=0.01)
    n_w = n_e = 0
    for seed in range(40):
        c = S.draw_activity_centres(
            p, state_space=state, zones=_zone(), rng=seed, surface=surf
        )
        east_of = c.geometry.x.to_numpy() >= X0 + 10_000
        n_e += int(east_of.sum())
        n_w += int((~east_of).sum())
    assert abs(n_w - 40 * exp_w) < 4 * math.sqrt(40 * exp_w)
    assert abs(n_e - 40 * exp_e) < 4 * math.sqrt(40 * exp_e)


def test_surface_truth_and_reproducible() -> None:
    p = _params(density_covariate="x", density_beta=0.5)
    a = S.simulate_survey(p, study_area=_study(), zones=_zone(), rng=3)
    b = S.simulate_survey(p, study_area=_study(), zones=_zone(), rng=3)
    assert a.sightings.equals(b.sightings) and a.truth == b.truth
    t = a.truth
    ds = t["density_surface"]
    assert ds["beta"] == 0.5 and ds["beta0_by_zone"] == {"A": round(math.log(10.0), 6)}
    assert ds["scaling"]["sd"] > 0
    flat = S.simulate_survey(_params(), study_area=_study(), zones=_zone(), rng=3)
    # exp(0.5 z) averages above 1 over a symmetric z: more animals expected
    assert t["expected_n_by_zone"]["A"] > flat.truth["expected_n_by_zone"]["A"]
    assert a.state_space is not None and a.state_space.area > 0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"density_beta": 1.0}, "density_beta needs a density_covariate"),
        ({"density_covariate": "nosuch.tif", "density_beta": 1.0}, "neither 'x'"),
        ({"density_covariate": "x", "density_beta": math.nan}, "density_beta must"),
        ({"density_covariate": "x", "density_grid": 0.0}, "density_grid must"),
    ],
)
def test_bad_surface_params(kw, match) -> None:
    with pytest.raises(InputError, match=match):
        _params(**kw)


def test_raster_must_cover_state_space(tmp_path) -> None:
    tif = _step_raster(tmp_path / "hole.tif", nodata_east=True)
    p = _params(density_covariate=str(tif), density_beta=1.0)
    with pytest.raises(
        InputError, match=r"has no value at .* points of the state space"
    ):
        S.simulate_survey(p, study_area=_study(), zones=_zone(), rng=1)
    flat = _step_raster(tmp_path / "flat.tif", west=2.0, east=2.0)
    p = _params(density_covariate=str(flat), density_beta=1.0)
    with pytest.raises(InputError, match="constant"):
        S.simulate_survey(p, study_area=_study(), zones=_zone(), rng=1)


# ------------------------------------------------------------------ sessions
def _sessions(seed: int = 7, **kw) -> S.SimulatedSessions:
    opts = {"sessions": 3, "trend": 0.8}
    opts.update(kw)
    return S.simulate_sessions(
        _params(), study_area=_study(), zones=_zone(), rng=seed, **opts
    )


def test_sessions_trend_and_truth() -> None:
    sim = _sessions()
    assert sim.names == ("2024", "2025", "2026")
    t = sim.truth
    assert t["trend"]["lambda"] == 0.8
    e = [t["by_session"][n]["expected_n_by_zone"]["A"] for n in sim.names]
    assert e[1] == pytest.approx(0.8 * e[0], rel=1e-3)
    assert e[2] == pytest.approx(0.64 * e[0], rel=1e-3)
    d = [t["by_session"][n]["densities"]["A"] for n in sim.names]
    assert d == pytest.approx([10.0, 8.0, 6.4])
    starts = [sv.truth["parameters"]["start"] for sv in sim.surveys]
    assert starts == ["2024-01-10", "2025-01-10", "2026-01-10"]
    assert [sv.truth["session_index"] for sv in sim.surveys] == [0, 1, 2]
    # same stations every session
    xy = [
        sorted(map(tuple, sv.stations.get_coordinates().to_numpy()))
        for sv in sim.surveys
    ]
    assert xy[0] == xy[1] == xy[2]
    # own animals per session
    assert not np.allclose(
        sim.surveys[0].centres.get_coordinates().to_numpy()[:5],
        sim.surveys[1].centres.get_coordinates().to_numpy()[:5],
    )


def test_sessions_seed_streams() -> None:
    a, b = _sessions(7), _sessions(7)
    for sa, sb in zip(a.surveys, b.surveys, strict=True):
        assert sa.sightings.equals(sb.sightings)
    # a session's data do not depend on the sessions after it
    two = _sessions(7, sessions=2)
    assert two.surveys[1].sightings.equals(a.surveys[1].sightings)
    other = _sessions(8)
    assert not other.surveys[0].sightings.equals(a.surveys[0].sightings)


def test_station_share_subsets() -> None:
    full = _sessions(sessions=2)
    part = _sessions(sessions=2, station_share=0.5)
    n_full = full.surveys[0].stations["station_id"].nunique()
    ids = [set(sv.stations["station_id"]) for sv in part.surveys]
    assert all(len(i) == round(0.5 * n_full) for i in ids)
    assert ids[0] <= set(full.surveys[0].stations["station_id"])
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"sessions": 0}, "sessions must be a whole number"),
        ({"trend": 0.0}, "trend must be a positive"),
        ({"trend": math.inf}, "trend must be a positive"),
        ({"station_share": 1.5}, "station_share must be in"),
    ],
)
def test_bad_session_options(kw, match) -> None:
    with pytest.raises(InputError, match=match):
        _sessions(**kw)


def test_written_sessions_read_by_read_sessions(tmp_path) -> None:
    sim = _sessions(sessions=2)
    out = S.write_simulated_sessions(sim, tmp_path / "out", mask_spacing=1500.0)
    for n in sim.names:
        assert (out / f"session_{n}" / "survey.toml").is_file()
        assert (out / "masks" / f"mask_{n}.csv").is_file()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["trend"]["lambda"] == 0.8
    sessions = read_sessions(
        out / "traps.csv",
        out / "captures.csv",
        covariates=out / "covariates.csv",
        masks=out / "masks",
    )
    assert [s.name for s in sessions] == list(sim.names)
    for s, sv in zip(sessions, sim.surveys, strict=True):
        # animals with an identified photo (a few are seen only unidentified)
        seen = sv.sightings["individual_id"].dropna().nunique()
        assert s.history.captures.shape[0] == seen <= sv.truth["n_detected"]
        assert s.history.traps_xy.shape[0] == sv.truth["stations"]
        assert s.mask.spacing == 1500.0
        assert s.mask.xy.shape[0] == pytest.approx(
            sim.state_space.area / 1500.0**2, rel=0.05
        )
    assert sessions[1].covariates["Session"] == 1.0
    # refuses to overwrite, and leaves the folder as it was
    before = (out / "traps.csv").read_bytes()
    with pytest.raises(InputError, match="overwrite"):
        S.write_simulated_sessions(_sessions(9, sessions=2), out)
    assert (out / "traps.csv").read_bytes() == before


def test_draw_builds_the_surface_from_params() -> None:
    p = _params(density_covariate="x", density_beta=0.8)
    state = _state()
    explicit = S.draw_activity_centres(
        p, state_space=state, zones=_zone(), rng=5, surface=S.density_surface(p, state)
    )
    implicit = S.draw_activity_centres(p, state_space=state, zones=_zone(), rng=5)
    assert explicit.geometry.equals(implicit.geometry)
