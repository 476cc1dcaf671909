"""Tests of the main job (trapscape.pipeline) on the tiny survey."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import make_tiny_survey, write_survey_project

from trapscape import pipeline
from trapscape.errors import InputError

# Loose home-range rules so the tiny survey yields ranges; small grids keep it fast.
TINY_STEPS = """
[report]
figures = false
[homerange]
min_detections = 2
min_stations = 2
[coverage]
cell_size = 1000.0
resolution = 250.0
"""


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


WITH_FIGURES = TINY_STEPS.replace("figures = false", "figures = true")
# Mechanics tests need no statistics: switch the slow analyses off.
FAST_STEPS = (
    TINY_STEPS
    + "[steps]\ndensity = false\nhomerange = false\nplan = false\ncorridors = false\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_survey_project(
        make_tiny_survey(), tmp_path / "project", extra=FAST_STEPS
    )


@pytest.fixture
def project_with_figures(tmp_path: Path) -> Path:
    return write_survey_project(
        make_tiny_survey(), tmp_path / "project", extra=WITH_FIGURES
    )


def test_run_project_writes_outputs_and_manifest(
    project_with_figures: Path, tmp_path: Path
) -> None:
    project = project_with_figures
    out = tmp_path / "out"
    result = pipeline.run_project(project, out, seed=7)
    assert (out / "figures" / "effort.png").is_file()
    assert result.steps["figures"].status == "ok"
    assert (out / "map.html").is_file()
    assert (out / "report.html").is_file()
    man = json.loads((out / "manifest.json").read_text())
    assert man == result.manifest
    assert man["seed"] == 7
    assert set(man["steps"]) == set(pipeline.STEPS)
    assert man["steps"]["validate"]["status"] == "ok"
    assert man["steps"]["effort"]["status"] == "ok"
    assert man["steps"]["coverage"]["status"] == "ok"
    for step, rec in man["steps"].items():
        assert rec["status"] in ("ok", "skipped", "not available", "failed"), step
        assert rec["seconds"] >= 0
    # input checksums are the real SHA-256 of the files
    st = man["inputs"]["survey.stations"]
    assert (
        st["sha256"]
        == hashlib.sha256((project.parent / "stations.csv").read_bytes()).hexdigest()
    )
    assert "numpy" in man["versions"] and man["versions"]["trapscape"]
    # every output file a step lists exists
    for rec in man["steps"].values():
        for f in rec["outputs"]:
            assert (out / f).is_file(), f
    assert "map.html" in man["files"]
    assert (out / "results.gpkg").is_file()
    # no staging directories left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.mark.slow  # two full runs of the example (~15 s)
def test_same_inputs_and_seed_give_identical_outputs(
    project_with_figures: Path, tmp_path: Path
) -> None:
    project = project_with_figures
    a, b = tmp_path / "a", tmp_path / "b"
    pipeline.run_project(project, a, seed=3)
    pipeline.run_project(project, b, seed=3)
    da, db = _digest(a), _digest(b)
    da.pop("manifest.json")
    db.pop("manifest.json")
    assert da.keys() == db.keys()
    assert any(k.endswith(".png") for k in da) and "results.gpkg" in da
    diff = [k for k in da if da[k] != db[k]]
    assert diff == []


def test_refuses_to_overwrite_without_flag(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline.run_project(project, out)
    before = _digest(out)
    with pytest.raises(InputError, match="--overwrite"):
        pipeline.run_project(project, out)
    assert _digest(out) == before
    pipeline.run_project(project, out, overwrite=True)
    assert (out / "map.html").is_file()


def test_overwrite_refuses_a_folder_with_user_files(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "userdir"
    (out / "fieldphotos").mkdir(parents=True)
    (out / "fieldphotos" / "p1.jpg").write_bytes(b"jpg")
    (out / "my_notes.txt").write_text("precious")
    with pytest.raises(InputError, match="not from a trapscape run") as info:
        pipeline.run_project(project, out, overwrite=True)
    assert "my_notes.txt" in str(info.value) and "new or empty folder" in str(
        info.value
    )
    assert sorted(p.name for p in out.iterdir()) == ["fieldphotos", "my_notes.txt"]
    assert (out / "my_notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "userdir"]


def test_overwrite_refuses_a_run_folder_with_added_user_files(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    pipeline.run_project(project, out)
    (out / "my_notes.txt").write_text("precious")
    with pytest.raises(InputError, match=r"my_notes.txt"):
        pipeline.run_project(project, out, overwrite=True)
    assert (out / "my_notes.txt").read_text() == "precious"


def test_overwrite_accepts_an_empty_folder(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    pipeline.run_project(project, out, overwrite=True)
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("which", [".", ".."])
def test_out_must_not_be_or_contain_the_working_directory(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "my_notes.txt").write_text("precious")
    monkeypatch.chdir(work)
    with pytest.raises(InputError, match="current folder"):
        pipeline.run_project(project, Path(which), overwrite=True)
    assert (work / "my_notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "work"]
    assert sorted(p.name for p in work.iterdir()) == ["my_notes.txt"]


def test_system_exit_in_a_step_cleans_up_and_keeps_previous_outputs(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the SIGTERM handler of the CLI raises in the main thread
    out = tmp_path / "out"
    pipeline.run_project(project, out)
    before = _digest(out)

    def term(_ctx: object) -> str:
        raise SystemExit(143)

    monkeypatch.setitem(pipeline._STEP_FUNCS, "coverage", term)
    with pytest.raises(SystemExit):
        pipeline.run_project(project, out, overwrite=True)
    assert _digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "project"]


def test_interrupted_run_leaves_nothing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"

    def boom(_ctx: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setitem(pipeline._STEP_FUNCS, "map", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_project(project, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_interrupted_overwrite_keeps_previous_outputs(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    pipeline.run_project(project, out)
    before = _digest(out)

    def boom(_ctx: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setitem(pipeline._STEP_FUNCS, "report", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_project(project, out, overwrite=True)
    assert _digest(out) == before


def test_step_switches(tmp_path: Path) -> None:
    proj = write_survey_project(
        make_tiny_survey(),
        tmp_path / "p",
        extra=TINY_STEPS + "[steps]\nmap = false\ndensity = false\nplan = false\n",
    )
    res = pipeline.run_project(proj, tmp_path / "out")
    assert not (tmp_path / "out" / "map.html").exists()
    assert res.steps["map"].status == "skipped"
    assert res.steps["density"].status == "skipped"
    assert res.steps["homerange"].status == "ok"
    assert (tmp_path / "out" / "report.html").is_file()
    # the home_ranges layer has per-country areas, as `trapscape homerange` writes
    import geopandas as gpd

    hr = gpd.read_file(tmp_path / "out" / "results.gpkg", layer="home_ranges")
    area_cols = [c for c in hr.columns if c.startswith("area_") and c != "area_km2"]
    assert len(area_cols) == 2, list(hr.columns)
    total = hr[area_cols].sum(axis=1)
    assert (total > 0).all()
    # ranges are clipped to land (the countries): their parts add up to the polygon
    assert total.to_numpy() == pytest.approx(hr["poly_area_km2"].to_numpy(), rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[coverage]\ncell_sise = 500\n", "cell_sise"),
        ("[plan]\nn_neww = 3\n", "n_neww"),
        ("[run]\npublic_cell = -5\n", "public_cell"),
        ("[detection]\nsigma = -1.0\n", "detection"),
        ("[steps]\ncorridor = true\n", "corridor"),
        ("[report]\nsurvey = 1\n", "survey"),
        ('[coverage]\ncell_size = "2 km"\n', "cell_size"),
        ("[density]\ncheck_buffer = 1\n", "check_buffer"),
        ('[density]\nmodel = "zones"\n', "'null', 'sex', 'zone'"),
    ],
)
def test_bad_project_keys_name_key_and_file_and_write_nothing(
    tmp_path: Path, extra: str, key: str
) -> None:
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        pipeline.run_project(proj, out)
    assert key in str(info.value)
    assert "survey.toml" in str(info.value)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_check_params_checks_literal_values() -> None:
    # the project loader may catch this first; the pipeline checks it too
    with pytest.raises(InputError) as info:
        pipeline._check_params({"density": {"model": "zones"}}, "survey.toml")
    assert str(info.value) == (
        "survey.toml: [density] model = 'zones' is not allowed; use one of 'null', 'sex', "
        "'zone', 'sex+zone' (allowed values of 'model' in "
        "trapscape.density.fit_survey). Did you mean 'zone'?"
    )
    ok = pipeline._check_params({"density": {"model": "zone"}}, "survey.toml")
    assert ok["density"] == {"model": "zone"}


def test_bad_input_file_aborts_before_writing(tmp_path: Path) -> None:
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p")
    csv = proj.parent / "stations.csv"
    text = csv.read_text().splitlines()
    text[2] = text[2].replace("2024-06-01", "2024-13-01")
    csv.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"stations.csv"):
        pipeline.run_project(proj, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_module_is_recorded_not_available(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(_ctx: object) -> str:
        raise ModuleNotFoundError("No module named 'somelib'", name="somelib")

    monkeypatch.setitem(pipeline._STEP_FUNCS, "coverage", missing)
    res = pipeline.run_project(project, tmp_path / "out")
    assert res.steps["coverage"].status == "not available"
    assert res.manifest["steps"]["coverage"]["status"] == "not available"
    assert (tmp_path / "out" / "map.html").is_file()


def test_failing_step_is_recorded_and_run_continues(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape.errors import ComputationError

    def fail(_ctx: object) -> str:
        raise ComputationError("cannot fit: no recaptures")

    monkeypatch.setitem(pipeline._STEP_FUNCS, "coverage", fail)
    res = pipeline.run_project(project, tmp_path / "out")
    assert res.steps["coverage"].status == "failed"
    assert "no recaptures" in res.steps["coverage"].message
    assert res.steps["report"].status == "ok"
    assert "no recaptures" in (tmp_path / "out" / "report.html").read_text()


def test_run_survey_does_not_modify_input(tmp_path: Path) -> None:
    s = make_tiny_survey()
    before = (s.stations.copy(), s.sightings.copy())
    pipeline.run_survey(
        s,
        tmp_path / "o",
        params={
            "homerange": {"min_detections": 2, "min_stations": 2},
            "report": {"figures": False},
            "steps": {"density": False, "plan": False},
        },
    )
    assert s.stations.equals(before[0])
    assert s.sightings.equals(before[1])


def test_offline_without_assets_fails_before_writing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape.errors import MissingDependencyError
    from trapscape.present import maps

    monkeypatch.setattr(maps, "find_leaflet", lambda assets=None: None)
    with pytest.raises(MissingDependencyError, match="xstatic-leaflet"):
        pipeline.run_project(project, tmp_path / "out", offline=True)
    assert not (tmp_path / "out").exists()
    # the map always inlines Leaflet, so a run with the map step checks too
    with pytest.raises(MissingDependencyError, match="xstatic-leaflet"):
        pipeline.run_project(project, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corridors_step_on_a_synthetic_landcover(tmp_path: Path) -> None:
    from dataclasses import replace

    import geopandas as gpd
    import numpy as np
    from conftest import X0, Y0
    from shapely.geometry import box

    from trapscape._raster import grid_for_bounds, to_dataarray, write_geotiff

    s = make_tiny_survey()
    parks = gpd.GeoDataFrame(
        {"name": ["China park", "Russia park"]},
        geometry=[
            box(X0, Y0, X0 + 1500, Y0 + 4000),
            box(X0 + 3000, Y0, X0 + 4000, Y0 + 4000),
        ],
        crs=s.crs,
    )
    s = replace(s, parks=parks)
    g = grid_for_bounds((X0 - 6000, Y0 - 6000, X0 + 10000, Y0 + 10000), 100, s.crs)
    write_geotiff(
        to_dataarray(np.full(g.shape, 5, dtype="int16"), g, name="landcover"),
        tmp_path / "lc.tif",
    )
    out = tmp_path / "out"
    res = pipeline.run_survey(
        s,
        out,
        params={
            "rasters": {"landcover": tmp_path / "lc.tif"},
            "corridors": {"resolution": 250.0, "core_setback": 0.0},
            "report": {"figures": False},
            "steps": {"density": False, "plan": False, "homerange": False},
        },
    )
    assert res.steps["corridors"].status == "ok", res.steps["corridors"].message
    assert (out / "corridors" / "current.tif").is_file()
    hs = __import__("pandas").read_csv(out / "corridors" / "border_hotspots.csv")
    assert len(hs) == 4 and hs["rank"].min() == 1
    html = (out / "report.html").read_text()
    assert "Top 4 border segments" in html
    assert "Border-crossing hotspots" in (out / "map.html").read_text()
    # the reserve holds both parks and the corridor between them
    reserve = gpd.read_file(out / "results.gpkg", layer="candidate_reserve")
    assert reserve.geometry.iloc[0].buffer(1).contains(parks.geometry.union_all())


def test_leftovers_of_a_killed_run_are_removed(project: Path, tmp_path: Path) -> None:
    # a staging folder of a process that no longer exists (pid 2**22 + 7 is unused)
    stale = tmp_path / ".out.partial-4194311"
    stale.mkdir()
    (stale / "half.csv").write_text("x\n")
    pipeline.run_project(project, tmp_path / "out")
    assert not stale.exists()
    assert (tmp_path / "out" / "map.html").is_file()


def test_progress_bar(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.run_project(project, tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert (
        "trapscape run" in err and f"{len(pipeline.STEPS)}/{len(pipeline.STEPS)}" in err
    )


def test_detection_section_may_name_a_json_file(tmp_path: Path) -> None:
    """[detection] file = ... is accepted by the run (the rule of resolve_detection)."""
    from trapscape.detection import DetectionParams, write_detection

    folder = tmp_path / "project"
    folder.mkdir()
    write_detection(DetectionParams(sigma=1234.0, lambda0=0.07), folder / "det.json")
    toml = write_survey_project(
        make_tiny_survey(),
        folder,
        extra=FAST_STEPS + '[detection]\nfile = "det.json"\n',
    )
    result = pipeline.run_project(toml, tmp_path / "out")
    assert result.steps["pdot"].status == "ok"
    bad = write_survey_project(
        make_tiny_survey(),
        tmp_path / "bad",
        extra=FAST_STEPS + '[detection]\nfile = "missing.json"\n',
    )
    with pytest.raises(InputError, match=r"\[detection\]"):
        pipeline.run_project(bad, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
