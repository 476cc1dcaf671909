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
from shapely.geometry import Point

from trapscape import pipeline, privacy
from trapscape import validation as V
from trapscape.errors import InputError

from conftest import make_tiny_survey

IDS = ("Leo-Amba-07", "Leo-Khan-12")
TEXT_SUFFIXES = {".csv", ".html", ".json", ".txt", ".gpx", ".md"}


def sensitive_survey():
    """The tiny survey with irregular coordinates and distinctive leopard names."""
    s = make_tiny_survey()
    st = s.stations.copy()
    k = st[V.STATION_ID].str[1:].astype(int).to_numpy()
    geoms = [Point(p.x + 37.137 * i + 0.371, p.y + 53.319 * i + 0.713)
             for p, i in zip(st.geometry, k)]
    st = st.set_geometry(gpd.GeoSeries(geoms, crs=st.crs, index=st.index))
    si = s.sightings.copy()
    si[V.INDIVIDUAL_ID] = si[V.INDIVIDUAL_ID].map({"A": IDS[0], "B": IDS[1]}).astype("string")
    return replace(s, stations=st, sightings=si, name="sensitive")


PARAMS = {
    "homerange": {"min_detections": 2, "min_stations": 2},
    "coverage": {"cell_size": 1000.0, "resolution": 250.0},
}


def coordinate_strings(survey) -> tuple[set[str], list[tuple[str, str]]]:
    """Strings that would reveal a station: projected at several roundings,
    lon/lat at 5-8 decimals, and lon/lat pairs at 4 decimals."""
    pts = survey.station_points
    singles: set[str] = set()
    for x, y in zip(pts.geometry.x, pts.geometry.y):
        for v in (x, y):
            singles |= {f"{v:.0f}", f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", repr(float(v))}
    ll = pts.to_crs(4326)
    pairs = []
    for lon, lat in zip(ll.geometry.x, ll.geometry.y):
        for d in (5, 6, 7, 8):
            singles |= {f"{lon:.{d}f}", f"{lat:.{d}f}"}
        singles |= {repr(float(lon)), repr(float(lat))}
        pairs.append((f"{lon:.4f}", f"{lat:.4f}"))
    return singles, pairs


def scan(out: Path, survey) -> list[str]:
    """Every leak found in ``out``: (file, what)."""
    singles, pairs = coordinate_strings(survey)
    xy = np.column_stack([survey.station_points.geometry.x, survey.station_points.geometry.y])
    leaks: list[str] = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if path.suffix in TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="replace")
            # drop embedded images: base64 cannot hold digits-with-dots anyway
            text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
            leaks += [f"{rel}: coordinate {s}" for s in singles if s in text]
            leaks += [f"{rel}: lon/lat {a},{b}" for a, b in pairs if a in text and b in text]
            leaks += [f"{rel}: id {i}" for i in IDS if i in text]
        elif path.suffix == ".gpkg":
            for layer, _kind in pyogrio.list_layers(path):
                gdf = gpd.read_file(path, layer=layer)
                attrs = gdf.drop(columns="geometry").astype(str).to_csv()
                leaks += [f"{rel}:{layer}: id {i}" for i in IDS if i in attrs]
                leaks += [f"{rel}:{layer}: coordinate {s}" for s in singles if s in attrs]
                g = gdf.to_crs(survey.crs).geometry
                verts = np.asarray(g.get_coordinates(), dtype=float)
                if len(verts):
                    d = np.sqrt(((verts[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).min()
                    if d < 1.0:
                        leaks.append(f"{rel}:{layer}: vertex {d:.3f} m from a station")
    return leaks


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    s = sensitive_survey()
    base = tmp_path_factory.mktemp("privacy")
    out = {}
    for mode in ("exact", "public"):
        out[mode] = base / mode
        pipeline.run_survey(s, out[mode], params=PARAMS, public=mode == "public",
                            inputs={}, seed=1)
    return out


def test_scanner_finds_leaks_in_the_exact_run(runs: dict[str, Path]) -> None:
    leaks = scan(runs["exact"], sensitive_survey())
    assert any("id Leo-Amba-07" in x for x in leaks)
    assert any("coordinate" in x or "vertex" in x for x in leaks)


def test_public_run_leaks_no_coordinate_or_identity(runs: dict[str, Path]) -> None:
    assert scan(runs["public"], sensitive_survey()) == []


def test_public_outputs_say_so(runs: dict[str, Path]) -> None:
    import json

    out = runs["public"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["public"] is True and "generalised" in man["privacy"]
    for name in ("map.html", "report.html"):
        assert "Public version" in (out / name).read_text()


def test_public_run_keeps_aggregates(runs: dict[str, Path]) -> None:
    out = runs["public"]
    cells = pd.read_csv(out / "effort" / "effort_per_cell.csv")
    exact = pd.read_csv(runs["exact"] / "effort" / "effort_per_station.csv")
    assert cells["n_stations"].sum() == 9
    assert cells["trap_nights"].sum() == pytest.approx(exact["trap_nights"].sum())
    pop = pd.read_csv(out / "individuals_by_country.csv")
    assert pop.loc[pop["detected in"] == "total", "individuals"].item() == 2


def test_snap_to_grid_centres() -> None:
    x, y = privacy.snap_to_grid(np.array([0.0, 4999.9, 5000.0, -1.0]),
                                np.array([1.0, 1.0, 1.0, 1.0]), cell=5000)
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
    from trapscape.maps import survey_map

    s = make_tiny_survey()
    with pytest.raises(InputError, match="public"):
        survey_map(s, products={"stations": s.station_points}, public=True)
