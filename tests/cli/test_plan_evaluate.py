"""``trapscape plan --evaluate``: design evaluation by simulation from the CLI."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_tiny_survey, write_survey_project

from trapscape.cli.main import cli
from trapscape.detection import DetectionParams
from trapscape.errors import MissingDependencyError
from trapscape.planning import Design, evaluate_designs

from .test_plan import survey_files  # noqa: F401  (fixture)

ARGS = ["--sigma", "800", "--lambda0", "0.05", "--density", "300"]
ARGS += ["--spacing", "250", "--min-spacing", "500", "--n-new", "3", "--seed", "2"]


def _invoke(args):
    return CliRunner().invoke(cli, ["plan", *args])


def test_evaluate_writes_a_table_per_design(survey_files, tmp_path):  # noqa: F811
    out = tmp_path / "o"
    extra = tmp_path / "other_layout.csv"
    extra.write_text((tmp_path / "stations.csv").read_text())
    evaluate = ["--evaluate", "2", "--design", str(extra)]
    res = _invoke([*survey_files, *ARGS, "--out", str(out), *evaluate])
    assert res.exit_code == 0, res.output
    assert "Design evaluation (2 replicates per design)" in res.output
    table = pd.read_csv(out / "plan/design_evaluation.csv")
    assert list(dict.fromkeys(table["design"])) == [
        "current",
        "current+plan",
        "other_layout",
    ]
    assert set(table["parameter"]) == {"D", "lambda0", "sigma"}
    st = table.groupby("design")["stations"].first()
    assert st["current+plan"] == st["current"] + 3
    assert st["other_layout"] == st["current"]
    d = table[table["parameter"] == "D"].set_index("design")
    assert (d["true"] == 300.0).all()
    assert (d["replicates"] == 2).all()
    doc = json.loads((out / "plan/design_evaluation.json").read_text())
    assert doc["settings"]["replicates"] == 2
    assert doc["settings"]["seed"] == 2
    assert len(doc["summary"]) == len(table)


def test_no_evaluation_by_default(survey_files, tmp_path):  # noqa: F811
    out = tmp_path / "o"
    res = _invoke([*survey_files, *ARGS, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not (out / "plan/design_evaluation.csv").exists()
    assert "Design evaluation" not in res.output


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--workers", "2"], 1, "give --evaluate R"),
        (["--evaluate", "-1"], 2, "-1"),
        (["--evaluate", "2", "--design", "missing.csv"], 2, "missing.csv"),
        (["--evaluate", "2", "--workers", "0"], 2, "--workers"),
    ],
)
def test_bad_evaluation_options_write_nothing(
    survey_files,  # noqa: F811
    tmp_path,
    extra,
    code,
    message,
):
    out = tmp_path / "o"
    res = _invoke([*survey_files, *ARGS, "--out", str(out), *extra])
    assert res.exit_code == code, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_project_key_evaluate_replicates(tmp_path):
    det = "[detection]\nsigma = 800.0\nlambda0 = 0.05\ndensity_per_100km2 = 300.0\n"
    plan = "[plan]\nn_new = 2\nspacing = 250.0\nmin_spacing = 500.0\n"
    project = write_survey_project(
        make_tiny_survey(),
        tmp_path / "p",
        extra=plan + "evaluate_replicates = 1\n" + det,
    )
    out = tmp_path / "o"
    res = _invoke([str(project), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "plan/design_evaluation.csv")
    assert set(table["replicates"]) == {1}
    bad = write_survey_project(
        make_tiny_survey(),
        tmp_path / "bad",
        extra=plan + "evaluate_replicates = -2\n" + det,
    )
    res = _invoke([str(bad), "--out", str(tmp_path / "b")])
    assert res.exit_code == 1
    assert "evaluate_replicates" in res.output
    assert not (tmp_path / "b").exists()


def test_workers_without_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    xy = np.array([(x * 2000.0, y * 2000.0) for x in range(3) for y in range(3)])
    with pytest.raises(MissingDependencyError, match=r"trapscape\[dask\]"):
        evaluate_designs(
            [Design("g", xy, np.full(9, 30.0))],
            DetectionParams(sigma=1500.0, lambda0=0.05),
            density=20.0,
            replicates=1,
            workers=2,
        )
