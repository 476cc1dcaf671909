"""`trapscape X` writes the same files as step X of `trapscape run`.

The bundled example is run once; each command is then run on the same
project and must write the files its step wrote (same relative names), with
the same CSV columns and the same GeoPackage layers and columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from trapscape import pipeline
from trapscape.cli.main import cli
from trapscape.datasets import get_path
from trapscape.project import load_project

_DETECTION = ["--detection", "{run}/density/detection.json"]

#: command -> (its steps of the run, arguments after the project, layers of
#: results.gpkg it writes)
STEP_COMMANDS: dict[str, tuple[tuple[str, ...], list[str], set[str]]] = {
    "coverage": (
        ("effort", "coverage", "pdot"),
        ["--cell-size", "2000", "--resolution", "500", *_DETECTION],
        {"stations", "coverage_grid", "coverage_gaps"},
    ),
    "corridors": (
        ("corridors",),
        ["--resolution", "500", "--segment-length", "1000"],
        {"cores", "corridor_paths", "corridors", "border_hotspots", "pinch_points"},
    ),
    "density": (("density",), [], set()),
    "plan": (
        ("plan",),
        [
            "--n-new",
            "10",
            *_DETECTION,
            "--hotspots",
            "{run}/results.gpkg",
            "--hotspots-layer",
            "border_hotspots",
        ],
        {"proposed_stations", "plan_candidates"},
    ),
    "homerange": (
        ("homerange",),
        ["--percent", "95", *_DETECTION],
        {"home_ranges", "sigma_ranges"},
    ),
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run") / "out"
    steps = {"map": False, "report": False}
    project = load_project(get_path("example"))
    params = {**project.params, "steps": steps}
    survey = project.survey.species_subset(project.species)
    res = pipeline.run_survey(
        survey, out, params=params, project_path=project.path, inputs=project.inputs
    )
    return out, res.manifest["steps"]


def _files(folder: Path) -> set[str]:
    # .trapscape-outputs.json: a command's record of what it wrote (checksums,
    # so a later --overwrite replaces only its own unchanged files)
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".trapscape-outputs.json"
    }


def _layer_columns(path: Path, layer: str) -> list[str]:
    return list(pyogrio.read_info(path, layer=layer)["fields"])


@pytest.mark.slow  # one full run of the example + each command (~60 s CPU)
@pytest.mark.parametrize("command", sorted(STEP_COMMANDS))
def test_command_writes_the_files_of_its_step(
    command: str, run_dir: tuple[Path, dict], tmp_path: Path
) -> None:
    run_out, records = run_dir
    steps, args, layers = STEP_COMMANDS[command]
    for step in steps:
        assert records[step]["status"] == "ok", records[step]
    out = tmp_path / command
    argv = [command, str(get_path("example")), "--out", str(out)]
    argv += [a.format(run=run_out) for a in args]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 0, res.output

    assert _files(out) == {f for step in steps for f in records[step]["outputs"]}
    for name in _files(out):
        if name.endswith(".csv"):
            got = pd.read_csv(out / name, nrows=0).columns.tolist()
            want = pd.read_csv(run_out / name, nrows=0).columns.tolist()
            assert got == want, name
    if layers:
        got_layers = {n for n, _ in pyogrio.list_layers(out / "results.gpkg")}
        assert got_layers == layers
        for layer in layers:
            assert _layer_columns(out / "results.gpkg", layer) == _layer_columns(
                run_out / "results.gpkg", layer
            ), layer
