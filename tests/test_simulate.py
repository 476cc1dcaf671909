"""The survey simulator checked against its own model (trapscape.simulate)."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from trapscape import simulate as S
from trapscape import validation as V
from trapscape.errors import CRSError, InputError, TrapscapeWarning

CRS = "EPSG:32652"
X0, Y0 = 500_000.0, 4_760_000.0


def _zones() -> gpd.GeoDataFrame:
    """China west of x0+10 km, Russia east, up to x0+40 km; 30 km tall."""
    return gpd.GeoDataFrame(
        {"name": ["China", "Russia"]},
        geometry=[
            box(X0 - 30_000, Y0 - 30_000, X0 + 10_000, Y0 + 60_000),
            box(X0 + 10_000, Y0 - 30_000, X0 + 70_000, Y0 + 60_000),
        ],
        crs=CRS,
    )


def _study() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["study"]},
        geometry=[box(X0 + 10_000, Y0, X0 + 40_000, Y0 + 30_000)],
        crs=CRS,
    )


def _params(**kw) -> S.SimulationParams:
    base = {
        "densities": {"Russia": 4.0, "China": 2.0},
        "spacing": 3000.0,
        "days": 40,
        "extra_zone": "China",
        "extra_band": 5000.0,
        "buffer": 8000.0,
        "photos_per_event": 3.0,
    }
    base.update(kw)
    return S.SimulationParams(**base)


def _sim(seed: int, **kw) -> S.SimulatedSurvey:
    return S.simulate_survey(
        _params(**kw), study_area=_study(), zones=_zones(), rng=seed
    )


@pytest.fixture(scope="module")
def replicates() -> list[S.SimulatedSurvey]:
    return [_sim(seed) for seed in range(6)]


def _station_xy(sim: S.SimulatedSurvey) -> np.ndarray:
    first = sim.stations.groupby(V.STATION_ID, sort=False).geometry.first()
    first = first.loc[sim.usage.index]
    return np.column_stack([first.x.to_numpy(), first.y.to_numpy()])


# ------------------------------------------------------------------ model checks
def test_expected_detections_by_hand() -> None:
    centres = gpd.GeoDataFrame(
        {"sigma": [2000.0], "lambda0": [0.1]}, geometry=[Point(0, 0)], crs=CRS
    )
    e = S.expected_detections(
        centres, np.array([[2000.0, 0.0], [0.0, 0.0]]), np.array([10.0, 5.0])
    )
    assert e.shape == (1, 2)
    assert e[0, 0] == pytest.approx(0.1 * math.exp(-0.5) * 10.0)
    assert e[0, 1] == pytest.approx(0.1 * 5.0)


def test_detections_match_model_by_distance(replicates) -> None:
    """Events per individual x station agree with lambda0 exp(-d2/2s2) usage."""
    obs_bins = np.zeros(4)
    exp_bins = np.zeros(4)
    for sim in replicates:
        xy = _station_xy(sim)
        expected = S.expected_detections(sim.centres, xy, sim.usage.to_numpy())
        ids = sim.centres[V.INDIVIDUAL_ID].to_numpy()
        counts = (
            sim.events.groupby([V.INDIVIDUAL_ID, V.STATION_ID])
            .size()
            .unstack(fill_value=0)
            .reindex(index=ids, columns=sim.usage.index, fill_value=0)
            .to_numpy()
        )
        d = np.hypot(
            sim.centres.geometry.x.to_numpy()[:, None] - xy[None, :, 0],
            sim.centres.geometry.y.to_numpy()[:, None] - xy[None, :, 1],
        )
        ratio = d / sim.centres["sigma"].to_numpy()[:, None]
        b = np.digitize(ratio, [1.0, 2.0, 3.0])
        for k in range(4):
            obs_bins[k] += counts[b == k].sum()
            exp_bins[k] += expected[b == k].sum()
        assert sim.truth["expected_events"] == pytest.approx(expected.sum(), rel=1e-3)
        assert sim.truth["events"] == counts.sum() == len(sim.events)
    assert exp_bins[:3].min() > 50  # enough for the test to bite
    z = (obs_bins - exp_bins) / np.sqrt(np.maximum(exp_bins, 1.0))
    assert np.all(np.abs(z) < 4.0), (obs_bins, exp_bins)


def test_events_only_on_working_days(replicates) -> None:
    for sim in replicates[:2]:
        u = sim.usage
        used = u.to_numpy()[
            u.index.get_indexer(sim.events[V.STATION_ID]), sim.events["day"].to_numpy()
        ]
        assert np.all(used > 0)


def test_usage_is_any_camera_working(replicates) -> None:
    sim = replicates[0]
    start = sim.stations[V.SETUP].iloc[0]
    days = sim.usage.shape[1]
    work = {d: np.ones(days, bool) for d in sim.stations[V.DEPLOYMENT_ID]}
    for d, a, b in sim.problems[
        [V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]
    ].itertuples(index=False):
        ka = int((a - start) / pd.Timedelta(days=1))
        kb = int((b - start) / pd.Timedelta(days=1))
        work[d][ka:kb] = False
    st = sim.stations
    for sid, grp in st.groupby(V.STATION_ID):
        anyw = np.any([work[d] for d in grp[V.DEPLOYMENT_ID]], axis=0)
        np.testing.assert_array_equal(sim.usage.loc[sid].to_numpy() > 0, anyw)


def test_malfunction_share_in_range() -> None:
    sim = _sim(11, days=90, malfunction_rate=0.07, theft_prob=0.03)
    share = sim.truth["camera_days_lost_share"]
    assert 0.05 <= share <= 0.15
    # clustered: runs longer than one day on average
    runs = (sim.problems[V.PROBLEM_TO] - sim.problems[V.PROBLEM_FROM]) / pd.Timedelta(
        days=1
    )
    assert runs.mean() > 2.0
    # thefts run to retrieval
    stolen = sim.problems[sim.problems["theft"]]
    assert len(stolen) == sim.truth["cameras_stolen"]
    assert (stolen[V.PROBLEM_TO] == sim.stations[V.RETRIEVAL].iloc[0]).all()


def test_n_per_zone_matches_density(replicates) -> None:
    """Realised N per zone ~ Poisson(density x zone area in the state space)."""
    p = _params()
    zones = _zones()
    study = _study().geometry.iloc[0]
    china = zones.geometry.iloc[0]
    band = china.intersection(study.buffer(p.extra_band)).difference(study)
    state = study.union(band).buffer(p.buffer)
    for zone, geom in zip(zones["name"], zones.geometry, strict=True):
        mu = p.densities[zone] * state.intersection(geom).area / 1e8
        n = sum(sim.truth["n_by_zone"].get(zone, 0) for sim in replicates)
        mu_tot = mu * len(replicates)
        assert abs(n - mu_tot) < 4 * math.sqrt(mu_tot), (zone, n, mu_tot)
    # centres lie in the state space and in their zone
    for sim in replicates[:2]:
        c = sim.centres
        assert shapely.contains_xy(state.buffer(1.0), c.geometry.x, c.geometry.y).all()
        for zone, geom in zip(zones["name"], zones.geometry, strict=True):
            sel = c[V.ZONE] == zone
            assert shapely.contains_xy(geom, c.geometry.x[sel], c.geometry.y[sel]).all()


def test_sex_ratio_and_sigma(replicates) -> None:
    c = pd.concat([s.centres for s in replicates])
    n, m = len(c), int((c[V.SEX] == "M").sum())
    p = 1 / 2.2
    assert abs(m - n * p) < 4 * math.sqrt(n * p * (1 - p))
    assert set(c.loc[c[V.SEX] == "M", "sigma"]) == {4000.0}
    assert set(c.loc[c[V.SEX] == "F", "sigma"]) == {2500.0}


def test_sex_specific_lambda0() -> None:
    sim = _sim(3, lambda0_m=0.1)
    c = sim.centres
    assert set(c.loc[c[V.SEX] == "M", "lambda0"]) == {0.1}
    assert set(c.loc[c[V.SEX] == "F", "lambda0"]) == {0.05}


def test_habitat_and_settlements_exclude_centres() -> None:
    habitat = gpd.GeoDataFrame(
        geometry=[box(X0, Y0 - 20_000, X0 + 30_000, Y0 + 50_000)], crs=CRS
    )
    town = gpd.GeoDataFrame(
        {"name": ["town"]}, geometry=[Point(X0 + 20_000, Y0 + 15_000)], crs=CRS
    )
    p = _params(densities={"Russia": 30.0, "China": 0.0}, settlement_radius=5000.0)
    sim = S.simulate_survey(
        p, study_area=_study(), zones=_zones(), habitat=habitat, settlements=town, rng=5
    )
    c = sim.centres
    assert len(c) > 100
    assert (c.geometry.x <= X0 + 30_000).all()
    assert (c.distance(town.geometry.iloc[0]) >= 5000.0).all()
    assert set(c[V.ZONE]) == {"Russia"}


# ------------------------------------------------------------------ layout
def test_grid_layout_and_extra_stations() -> None:
    sim = _sim(2, layout="regular")
    st = sim.stations
    assert (st.groupby(V.STATION_ID)[V.CAMERA_ID].nunique() == 2).all()
    ru = st[st[V.STATION_ID].str.startswith("S")]
    cn = st[st[V.STATION_ID].str.startswith("CH")]
    study = _study().geometry.iloc[0]
    assert shapely.contains_xy(study, ru.geometry.x, ru.geometry.y).all()
    assert (cn.geometry.x < X0 + 10_000).all() and (cn.geometry.x > X0 + 5_000).all()
    # regular grid: x offsets are multiples of the spacing
    xs = np.sort(ru.geometry.x.unique())
    steps = np.diff(xs) / 3000.0
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    # station count ~ area / spacing^2
    n_ru = ru[V.STATION_ID].nunique()
    assert abs(n_ru - study.area / 3000.0**2) <= 15


def test_grid_jitter_stays_inside() -> None:
    poly = box(0, 0, 20_000, 10_000)
    xy = S.station_grid(poly, spacing=2000.0, layout="jittered", jitter=0.4, rng=1)
    assert shapely.contains_xy(poly, xy[:, 0], xy[:, 1]).all()
    assert 40 <= len(xy) <= 60
    reg = S.station_grid(poly, spacing=2000.0, layout="regular", rng=1)
    assert len(reg) == len(xy)  # membership decided by grid points


def test_user_stations() -> None:
    pts = gpd.GeoDataFrame(
        {V.STATION_ID: ["A", "B"]},
        geometry=[Point(X0 + 20_000, Y0 + 10_000), Point(X0 + 22_000, Y0 + 10_000)],
        crs=CRS,
    )
    sim = S.simulate_survey(
        _params(), study_area=_study(), zones=_zones(), stations=pts, rng=1
    )
    assert sorted(sim.stations[V.STATION_ID].unique()) == ["A", "B"]
    assert len(sim.stations) == 4
    assert set(sim.sightings[V.STATION_ID]) <= {"A", "B"}


# ------------------------------------------------------------------ sightings
def test_sightings_canonical_and_consistent(replicates) -> None:
    sim = replicates[1]
    s = sim.sightings
    assert list(s.columns) == [
        V.STATION_ID,
        V.CAMERA_ID,
        V.DEPLOYMENT_ID,
        V.TIMESTAMP,
        V.SPECIES,
        V.INDIVIDUAL_ID,
        V.SEX,
        V.MEDIA_ID,
        V.COUNT,
    ]
    assert s[V.MEDIA_ID].is_unique
    assert (s[V.SPECIES] == S.SPECIES).all()
    assert len(s) > 200
    share = s[V.INDIVIDUAL_ID].isna().mean()
    assert 0.01 < share < 0.12
    assert (s[V.SEX].isna() == s[V.INDIVIDUAL_ID].isna()).all()
    # sex agrees with the truth
    sex = dict(zip(sim.centres[V.INDIVIDUAL_ID], sim.centres[V.SEX], strict=True))
    ident = s.dropna(subset=[V.INDIVIDUAL_ID])
    assert (ident[V.SEX].to_numpy() == ident[V.INDIVIDUAL_ID].map(sex).to_numpy()).all()
    # photos only while their camera works
    start, end = sim.stations[V.SETUP].iloc[0], sim.stations[V.RETRIEVAL].iloc[0]
    assert (s[V.TIMESTAMP] > start).all() and (s[V.TIMESTAMP] < end).all()
    pr = sim.problems.merge(s[[V.DEPLOYMENT_ID, V.TIMESTAMP]], on=V.DEPLOYMENT_ID)
    inside = (pr[V.TIMESTAMP] >= pr[V.PROBLEM_FROM]) & (
        pr[V.TIMESTAMP] < pr[V.PROBLEM_TO]
    )
    assert not inside.any()


def test_activity_pattern_nocturnal() -> None:
    h = S.activity_times(20_000, rng=0)
    assert ((h >= 0) & (h < 24)).all()
    night = ((h >= 18) | (h < 7)).mean()
    assert night > 0.75
    assert ((h >= 10) & (h < 15)).mean() < 0.08


# ------------------------------------------------------------------ files
def _write(sim, path):
    return S.write_simulated_survey(
        sim,
        path,
        boundaries={
            "study_area": path.parent / "sa.gpkg",
            "zones": path.parent / "z.gpkg",
        },
    )


def test_same_seed_same_files(tmp_path) -> None:
    _study().to_file(tmp_path / "sa.gpkg")
    _zones().to_file(tmp_path / "z.gpkg")
    a = _write(_sim(42), tmp_path / "a")
    b = _write(_sim(42), tmp_path / "b")
    c = _write(_sim(43), tmp_path / "c")
    for name in ("survey.toml", "stations.csv", "sightings.csv", "truth.json"):
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes(), name
    assert (a.parent / "sightings.csv").read_bytes() != (
        c.parent / "sightings.csv"
    ).read_bytes()


def test_written_survey_reads_back(tmp_path) -> None:
    from trapscape.project import load_project

    _study().to_file(tmp_path / "sa.gpkg")
    _zones().to_file(tmp_path / "z.gpkg")
    sim = _sim(8)
    path = _write(sim, tmp_path / "out")
    survey = load_project(path).survey
    assert survey.crs.to_epsg() == 32652
    assert len(survey.stations) == len(sim.stations)
    assert len(survey.sightings) == len(sim.sightings)
    assert len(survey.problems) == len(sim.problems)
    np.testing.assert_allclose(
        np.sort(survey.stations.geometry.x), np.sort(sim.stations.geometry.x), atol=1e-3
    )
    assert survey.zones is not None and set(survey.zones["name"]) == {"China", "Russia"}
    # refuses to overwrite
    with pytest.raises(InputError, match="overwrite"):
        _write(sim, tmp_path / "out")
    S.write_simulated_survey(sim, tmp_path / "out", overwrite=True)


def test_truth_content(replicates) -> None:
    t = replicates[0].truth
    assert t["n_total"] == len(t["animals"]) == sum(t["n_by_zone"].values())
    assert t["parameters"]["sigma_f"] == 2500.0
    assert t["photos"] == len(replicates[0].sightings)
    assert t["n_detected"] == sum(a["events"] > 0 for a in t["animals"])
    assert t["stations_by_zone"]["China"] > 0


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"sigma_f": -100.0}, "sigma_f must be a positive"),
        ({"sigma_m": 0.0}, "sigma_m"),
        ({"lambda0": -1.0}, "lambda0"),
        ({"days": 0}, "days"),
        ({"layout": "hex"}, "layout"),
        ({"malfunction_rate": 1.5}, "malfunction_rate"),
        ({"densities": {"Russia": -1.0}}, "density of zone 'Russia'"),
        ({"densities": {}}, "densities must map"),
        ({"crs": "EPSG:4326"}, "projected"),
        ({"start": "not a date"}, "start"),
    ],
)
def test_bad_params(kw, match) -> None:
    with pytest.raises(InputError, match=match):
        _params(**kw)


def test_several_bad_params_listed() -> None:
    with pytest.raises(InputError, match="sigma_f") as err:
        _params(sigma_f=-1.0, lambda0=0.0)
    assert "lambda0" in str(err.value)


def test_spacing_larger_than_area() -> None:
    with pytest.raises(
        InputError, match="spacing 50000 m is larger than the study area"
    ):
        _sim(1, spacing=50_000.0)


def test_densities_giving_no_animals() -> None:
    with pytest.raises(InputError, match="expectation"):
        _sim(1, densities={"Russia": 0.0, "China": 0.0})
    with pytest.raises(InputError, match="None of the density zones"):
        _sim(1, densities={"Mongolia": 2.0})


def test_unknown_zone_warns() -> None:
    with pytest.warns(TrapscapeWarning, match="Atlantis"):
        _sim(1, densities={"Russia": 2.0, "Atlantis": 1.0})


def test_extra_zone_must_exist() -> None:
    with pytest.raises(InputError, match="extra_zone 'Mongolia'"):
        _sim(1, extra_zone="Mongolia")


def test_layers_need_crs() -> None:
    st = _study().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        S.simulate_survey(_params(), study_area=st, zones=_zones(), rng=1)


def test_params_frozen_and_inputs_unchanged() -> None:
    p = _params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.days = 3  # type: ignore[misc]
    study, zones = _study(), _zones()
    before = (study.copy(), zones.copy())
    S.simulate_survey(p, study_area=study, zones=zones, rng=1)
    assert study.equals(before[0]) and zones.equals(before[1])


def test_truth_detection_params_readable(tmp_path, replicates) -> None:
    from trapscape.detection import read_detection

    t = replicates[0].truth
    path = tmp_path / "truth.json"
    path.write_text(__import__("json").dumps(t))
    det = read_detection(path)
    assert det.detectfn == "HHN" and det.lambda0 == pytest.approx(0.05)
    assert det.by_sex["M"]["sigma"] == 4000.0 and det.by_sex["F"]["sigma"] == 2500.0
    assert 2500.0 < det.sigma < 4000.0
    # the study area lies in Russia: expected density there is Russia's
    assert det.density_per_100km2 == pytest.approx(4.0, rel=1e-3)
    p = _params()
    zones = _zones()
    study = _study().geometry.iloc[0]
    band = (
        zones.geometry.iloc[0]
        .intersection(study.buffer(p.extra_band))
        .difference(study)
    )
    state = study.union(band).buffer(p.buffer)
    mu_ru = 4.0 * state.intersection(zones.geometry.iloc[1]).area / 1e8
    assert t["expected_n_by_zone"]["Russia"] == pytest.approx(mu_ru, rel=1e-3)
    assert t["expected_n_in_study_area"] == pytest.approx(
        4.0 * study.area / 1e8, rel=1e-3
    )


@pytest.mark.slow
def test_real_boundaries_n_in_study_area_matches_density() -> None:
    """On the bundled boundaries, N in the study area ~ Poisson(expected)."""
    from trapscape import datasets

    lay = {
        "study_area": gpd.read_file(datasets.get_path("study_area.gpkg")),
        "zones": gpd.read_file(datasets.get_path("countries.gpkg")),
        "habitat": gpd.read_file(datasets.get_path("land.gpkg")),
        "settlements": gpd.read_file(datasets.get_path("settlements.gpkg")),
    }
    p = S.SimulationParams(days=5)
    # independent expectation: Russian land in the study area, minus settlements
    study = lay["study_area"].to_crs(CRS).geometry.union_all()
    land = lay["habitat"].to_crs(CRS).geometry.union_all()
    rus = lay["zones"].to_crs(CRS).set_index("name").geometry["Russia"]
    towns = lay["settlements"].to_crs(CRS).buffer(p.settlement_radius).union_all()
    mu = 1.6 * study.intersection(land).intersection(rus).difference(towns).area / 1e8
    n, reps = 0, 15
    for seed in range(reps):
        sim = S.simulate_survey(p, rng=seed, **lay)
        n += sim.truth["n_in_study_area"]
        assert sim.truth["expected_n_in_study_area"] == pytest.approx(mu, rel=0.01)
    assert abs(n - reps * mu) < 4 * math.sqrt(reps * mu), (n, reps * mu)


def test_bundled_example_regenerates_byte_identical(tmp_path) -> None:
    """scripts/make_example.py with its seed rewrites data/example byte for byte."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = root / "scripts" / "make_example.py"
    if not (root / "data" / "boundaries").is_dir():  # pragma: no cover - sdist
        pytest.fail("data/boundaries is missing; the example cannot be regenerated")
    spec = importlib.util.spec_from_file_location("make_example", script)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--out", str(tmp_path / "example")]) == 0
    for name in ("stations.csv", "sightings.csv", "truth.json"):
        new = (tmp_path / "example" / name).read_bytes()
        assert new == (root / "data" / "example" / name).read_bytes(), name
