"""Public mode leaks no exact station coordinate and no individual identity."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import make_tiny_survey
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from trapscape import pipeline, privacy
from trapscape import validation as V
from trapscape.errors import InputError

IDS = ("Leo-Amba-07", "Leo-Khan-12")
TEXT_SUFFIXES = {".csv", ".html", ".json", ".txt", ".gpx", ".md"}


def sensitive_survey():
    """The tiny survey with irregular coordinates and distinctive leopard names."""
    s = make_tiny_survey()
    st = s.stations.copy()
    k = st[V.STATION_ID].str[1:].astype(int).to_numpy()
    geoms = [
        Point(p.x + 37.137 * i + 0.371, p.y + 53.319 * i + 0.713)
        for p, i in zip(st.geometry, k, strict=False)
    ]
    st = st.set_geometry(gpd.GeoSeries(geoms, crs=st.crs, index=st.index))
    si = s.sightings.copy()
    si[V.INDIVIDUAL_ID] = (
        si[V.INDIVIDUAL_ID].map({"A": IDS[0], "B": IDS[1]}).astype("string")
    )
    return replace(s, stations=st, sightings=si, name="sensitive")


PARAMS = {
    "homerange": {"min_detections": 2, "min_stations": 2},
    "coverage": {"cell_size": 1000.0, "resolution": 250.0},
}


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def station_forms(survey) -> tuple[set[str], np.ndarray, np.ndarray]:
    """Printed forms of every station coordinate that cannot match by chance
    (projected at 1-3 decimals, lon/lat at 7-8 decimals, full repr), and the
    exact xy and lon/lat arrays.  Coarser roundings (whole metres, 4-6
    decimal degrees) are caught by the pair test of :func:`scan_text`."""
    pts = survey.station_points
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    ll4 = pts.to_crs(4326)
    ll = np.column_stack([ll4.geometry.x, ll4.geometry.y])
    forms: set[str] = set()
    for v in xy.ravel():
        forms |= {f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", repr(float(v))}
    for v in ll.ravel():
        forms |= {f"{v:.{d}f}" for d in (7, 8)} | {repr(float(v))}
    return forms, xy, ll


def _near(pairs: np.ndarray, ref: np.ndarray, tol: np.ndarray | float) -> bool:
    keep = np.isfinite(pairs).all(axis=1)
    pairs = pairs[keep]
    tol = np.broadcast_to(np.asarray(tol, dtype=float), keep.shape)[keep]
    if len(pairs) == 0:
        return False
    from scipy.spatial import cKDTree

    d, _ = cKDTree(ref).query(pairs)
    return bool((d <= tol).any())


def scan_text(text: str, forms: set[str], xy: np.ndarray, ll: np.ndarray) -> list[str]:
    """Leaks in one text: a number printed exactly as a station coordinate, or
    two consecutive numbers (either order) that equal a station position
    rounded to the precision they are printed with: whole metres or finer,
    4 decimals of a degree (about 10 m) or finer."""
    tokens = NUMBER.findall(text)
    leaks = [f"coordinate {t}" for t in sorted(set(tokens) & forms)]
    if len(tokens) < 2:
        return leaks
    vals = np.array([float(t) for t in tokens])
    dec = np.array(
        [
            len(t.split(".")[1]) if "." in t and "e" not in t.lower() else 0
            for t in tokens
        ]
    )
    pairs = np.column_stack([vals[:-1], vals[1:]])
    d = np.minimum(dec[:-1], dec[1:])
    half = 0.5 * 10.0 ** (-d.astype(float)) * np.sqrt(2) + 1e-7
    if _near(pairs, xy, half):
        leaks.append("projected coordinate pair at a station")
    deg_tol = np.where(
        d >= 4, half, -1.0
    )  # coarser than 4 decimals is no exact position
    if _near(pairs, ll, deg_tol) or _near(pairs[:, ::-1], ll, deg_tol):
        leaks.append("lon/lat pair at a station")
    return leaks


def scan(out: Path, survey) -> list[str]:
    """Every leak found in ``out``, as "file: what"."""
    forms, xy, ll = station_forms(survey)
    leaks: list[str] = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if path.suffix in TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="replace")
            # embedded images are pixels, not coordinates
            text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
            leaks += [f"{rel}: {x}" for x in scan_text(text, forms, xy, ll)]
            leaks += [
                f"{rel}: id {i}" for i in IDS if re.search(rf"\b{re.escape(i)}\b", text)
            ]
        elif path.suffix == ".gpkg":
            for layer, _kind in pyogrio.list_layers(path):
                gdf = gpd.read_file(path, layer=layer)
                attrs = gdf.drop(columns="geometry").astype(str).to_csv()
                leaks += [
                    f"{rel}:{layer}: id {i}"
                    for i in IDS
                    if re.search(rf"\b{re.escape(i)}\b", attrs)
                ]
                leaks += [
                    f"{rel}:{layer}: {x}" for x in scan_text(attrs, forms, xy, ll)
                ]
                verts = np.asarray(
                    gdf.to_crs(survey.crs).geometry.get_coordinates(), dtype=float
                )
                if _near(verts, xy, 0.5):
                    leaks.append(f"{rel}:{layer}: vertex within 0.5 m of a station")
    return leaks


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    s = sensitive_survey()
    base = tmp_path_factory.mktemp("privacy")
    out = {}
    for mode in ("exact", "public"):
        out[mode] = base / mode
        pipeline.run_survey(
            s, out[mode], params=PARAMS, public=mode == "public", inputs={}, seed=1
        )
    return out


def test_scanner_finds_leaks_in_the_exact_run(runs: dict[str, Path]) -> None:
    leaks = scan(runs["exact"], sensitive_survey())
    assert any("id Leo-Amba-07" in x for x in leaks)
    assert any(x.startswith("map.html: lon/lat pair") for x in leaks)
    assert any(x.startswith("results.gpkg:stations: vertex") for x in leaks)
    assert any(x.startswith("effort/effort_per_station.csv") for x in leaks)


def test_public_run_leaks_no_coordinate_or_identity(runs: dict[str, Path]) -> None:
    assert scan(runs["public"], sensitive_survey()) == []


def test_public_outputs_say_so(runs: dict[str, Path]) -> None:
    import json

    out = runs["public"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["public"] is True and "generalised" in man["privacy"]
    for name in ("map.html", "report.html"):
        assert "Public version" in (out / name).read_text()
    assert "PUBLIC VERSION" in (out / "PUBLIC-README.txt").read_text()
    assert not (runs["exact"] / "PUBLIC-README.txt").exists()


def test_public_run_keeps_aggregates(runs: dict[str, Path]) -> None:
    out = runs["public"]
    cells = pd.read_csv(out / "effort" / "effort_per_cell.csv")
    exact = pd.read_csv(runs["exact"] / "effort" / "effort_per_station.csv")
    assert cells["n_stations"].sum() == 9
    assert cells["trap_nights"].sum() == pytest.approx(exact["trap_nights"].sum())
    pop = pd.read_csv(out / "individuals_by_country.csv")
    assert pop.loc[pop["detected in"] == "total", "individuals"].item() == 2


def test_snap_to_grid_centres() -> None:
    x, y = privacy.snap_to_grid(
        np.array([0.0, 4999.9, 5000.0, -1.0]), np.array([1.0, 1.0, 1.0, 1.0]), cell=5000
    )
    assert x.tolist() == [2500.0, 2500.0, 7500.0, -2500.0]
    assert y.tolist() == [2500.0] * 4


def test_generalise_survey_moves_every_station_to_a_cell_centre() -> None:
    s = sensitive_survey()
    g = privacy.generalise_survey(s, cell=5000)
    xs, ys = g.stations.geometry.x.to_numpy(), g.stations.geometry.y.to_numpy()
    assert np.allclose((xs - 2500) % 5000, 0) and np.allclose((ys - 2500) % 5000, 0)
    assert g.sightings[V.INDIVIDUAL_ID].isna().all()
    assert not set(g.stations[V.STATION_ID]) & set(s.stations[V.STATION_ID])
    assert len(g.sightings) == len(s.sightings)
    # the input is untouched
    assert s.sightings[V.INDIVIDUAL_ID].notna().sum() == 6


def test_bad_cell_size() -> None:
    with pytest.raises(InputError, match="positive"):
        privacy.generalise_survey(make_tiny_survey(), cell=0)


def test_public_map_refuses_exact_layers() -> None:
    from trapscape.present.maps import survey_map
    from trapscape.products import RunProducts

    s = make_tiny_survey()
    with pytest.raises(InputError, match="public"):
        survey_map(s, RunProducts(stations=s.station_points), public=True)


@pytest.mark.slow
def test_public_demo_leaks_nothing(tmp_path: Path) -> None:
    """The bundled example (about 250 stations) run in public mode."""
    from trapscape.datasets import get_path
    from trapscape.project import load_project

    global IDS
    out = tmp_path / "public"
    pipeline.run_project(get_path("example"), out, public=True, offline=True)
    survey = load_project(get_path("example")).survey
    ids = tuple(sorted(set(survey.identified[V.INDIVIDUAL_ID].astype(str))))
    saved, IDS = IDS, ids
    try:
        leaks = scan(out, survey)
    finally:
        IDS = saved
    assert leaks == []
    assert (out / "map.html").is_file() and (out / "report.html").is_file()


@given(
    x=st.floats(-1e7, 1e7, allow_nan=False),
    y=st.floats(-1e7, 1e7, allow_nan=False),
    cell=st.sampled_from([1000.0, 2500.0, 5000.0, 10000.0]),
)
def test_snap_is_within_half_a_cell_and_idempotent(
    x: float, y: float, cell: float
) -> None:
    sx, sy = privacy.snap_to_grid(np.array([x]), np.array([y]), cell=cell)
    assert abs(sx[0] - x) <= cell / 2 + 1e-6 and abs(sy[0] - y) <= cell / 2 + 1e-6
    tx, ty = privacy.snap_to_grid(sx, sy, cell=cell)
    assert tx[0] == sx[0] and ty[0] == sy[0]
