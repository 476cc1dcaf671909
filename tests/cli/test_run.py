"""CLI tests of ``trapscape run`` and ``trapscape demo`` (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_tiny_survey, write_survey_project

from trapscape.cli.main import cli

FAST = """
[report]
figures = false
[coverage]
cell_size = 1000.0
resolution = 250.0
[steps]
density = false
homerange = false
plan = false
corridors = false
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_survey_project(make_tiny_survey(), tmp_path / "p", extra=FAST)


def test_run_writes_map_report_and_manifest(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(out), "--seed", "5"]
    )
    assert res.exit_code == 0, res.output
    assert "coverage" in res.output and "ok" in res.output
    assert (out / "map.html").is_file() and (out / "report.html").is_file()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5


def test_run_refuses_overwrite_then_overwrites(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    res = runner.invoke(cli, ["run", str(project), "--out", str(out)])
    assert res.exit_code == 1
    assert "--overwrite" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(
        cli, ["run", str(project), "--out", str(out), "--overwrite", "--public"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["public"] is True


def test_run_overwrite_keeps_unrelated_files(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "userdir"
    (out / "fieldphotos").mkdir(parents=True)
    (out / "fieldphotos" / "p1.jpg").write_bytes(b"jpg")
    (out / "my_notes.txt").write_text("precious")
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(out), "--overwrite"]
    )
    assert res.exit_code == 1
    assert "not from a trapscape run" in res.output and "my_notes.txt" in res.output
    assert "Traceback" not in res.output
    assert (out / "my_notes.txt").read_text() == "precious"
    assert (out / "fieldphotos" / "p1.jpg").read_bytes() == b"jpg"


def test_run_out_dot_is_refused_cleanly(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "my_notes.txt").write_text("precious")
    monkeypatch.chdir(work)
    res = CliRunner().invoke(cli, ["run", str(project), "--out", ".", "--overwrite"])
    assert res.exit_code == 1
    assert "current folder" in res.output
    assert "Traceback" not in res.output
    assert sorted(p.name for p in work.iterdir()) == ["my_notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "work"]


def test_run_bad_key_is_one_clean_message(tmp_path: Path) -> None:
    proj = write_survey_project(
        make_tiny_survey(), tmp_path / "p", extra="[plan]\nn_nwe = 4\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(proj), "--out", str(out)])
    assert res.exit_code == 1
    assert "n_nwe" in res.output and "survey.toml" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_run_offline_map_has_no_remote_assets(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(out), "--offline"])
    assert res.exit_code == 0, res.output
    html = (out / "map.html").read_text()
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    assert "L.map(" in html or "L.map (" in html


def test_demo_help_names_the_example() -> None:
    res = CliRunner().invoke(cli, ["demo", "--help"])
    assert res.exit_code == 0
    assert "Land of the Leopard" in res.output


def test_map_and_report_commands_from_a_run(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    res = runner.invoke(
        cli,
        [
            "map",
            str(project),
            "--results",
            str(out),
            "--out",
            str(tmp_path / "m.html"),
            "--offline",
        ],
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "m.html").read_text()
    assert "Camera stations" in html and "Detection probability" in html
    res = runner.invoke(
        cli,
        [
            "report",
            str(project),
            "--results",
            str(out),
            "--out",
            str(tmp_path / "r.html"),
            "--title",
            "Brief for the meeting",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Brief for the meeting" in (tmp_path / "r.html").read_text()
    res = runner.invoke(
        cli,
        [
            "report",
            str(project),
            "--results",
            str(out),
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert res.exit_code == 1 and "--overwrite" in res.output


def test_map_without_results_shows_stations(project: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["map", str(project), "--out", str(tmp_path / "m.html")]
    )
    assert res.exit_code == 0, res.output
    assert "Camera stations" in (tmp_path / "m.html").read_text()


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    """`trapscape demo`: every step works on the bundled example."""
    out = tmp_path / "demo-output"
    res = CliRunner().invoke(cli, ["demo", "--out", str(out), "--offline"])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    bad = {s: r["message"] for s, r in man["steps"].items() if r["status"] != "ok"}
    # the example is one survey: the multi-session step has nothing to do
    assert bad == {"sessions": "no [sessions] in the project file"}
    report = (out / "report.html").read_text()
    assert "simulated" in report and "approximate" in report
    assert "both (China + Russia)" in report
    assert "Top 10 border segments" in report
    for f in (
        "map.html",
        "results.gpkg",
        "pdot.tif",
        "corridors/current.tif",
        "plan/proposed_stations.gpx",
        "figures/corridors.png",
    ):
        assert (out / f).is_file(), f


def test_run_section_gives_defaults(tmp_path: Path) -> None:
    proj = write_survey_project(
        make_tiny_survey(),
        tmp_path / "p",
        extra=FAST + '[run]\nout = "../results"\nseed = 11\npublic = true\n',
    )
    res = CliRunner().invoke(cli, ["run", str(proj)])
    assert res.exit_code == 0, res.output
    man = json.loads((tmp_path / "results" / "manifest.json").read_text())
    assert man["seed"] == 11 and man["public"] is True


def test_run_section_bad_type(tmp_path: Path) -> None:
    proj = write_survey_project(
        make_tiny_survey(), tmp_path / "p", extra='[run]\nseed = "one"\n'
    )
    res = CliRunner().invoke(cli, ["run", str(proj), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "[run] seed" in res.output and "survey.toml" in res.output


def test_map_and_run_show_the_same_station_attributes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`map` without --results counts stations exactly as `run` does."""
    import geopandas as gpd
    import pandas as pd

    from trapscape.present import maps

    shown: dict[str, object] = {}
    real = maps.survey_map

    def spy(survey, products=None, **kw):
        shown["stations"] = products.stations if products is not None else None
        return real(survey, products, **kw)

    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    monkeypatch.setattr(maps, "survey_map", spy)
    res = runner.invoke(cli, ["map", str(project), "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 0, res.output
    cols = [
        "station_id",
        "n_cameras",
        "trap_nights",
        "detections",
        "photos",
        "individuals",
        "operating_days",
    ]
    run_st = gpd.read_file(out / "results.gpkg", layer="stations")
    map_st = shown["stations"]
    assert set(cols) <= set(map_st.columns)
    a = run_st[cols].sort_values("station_id").reset_index(drop=True)
    b = pd.DataFrame(map_st[cols]).sort_values("station_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # detections are independent events (7), not photos, and effort is there
    assert b["detections"].sum() == 7 and (b["trap_nights"] > 0).all()


# ---------------------------------------------------- parameters and exit status
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("[coverage]\ncell_size = -1000.0\n", "[coverage] cell_size = -1000.0"),
        ("[coverage]\ncell_size = 0\n", "[coverage] cell_size = 0"),
        ("[coverage]\ncell_size = nan\n", "[coverage] cell_size = nan"),
        ("[coverage]\ncell_size = inf\n", "[coverage] cell_size = inf"),
        ("[homerange]\npercent = [50, 200]\n", "[homerange] percent = [50, 200]"),
        ("[plan]\nn_new = -3\n", "[plan] n_new = -3"),
        ("[corridors]\nresolution = -500.0\n", "[corridors] resolution = -500.0"),
        ('[rasters]\nelevation = "/dev/zero"\n', "[rasters] elevation = '/dev/zero'"),
        ('[rasters]\nelevation = "stations.csv"\n', "is not a raster"),
    ],
)
def test_run_bad_parameter_exits_1_and_writes_nothing(
    tmp_path: Path, extra: str, named: str
) -> None:
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    res = CliRunner().invoke(cli, ["run", str(proj), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert named in res.output and "survey.toml" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging left


def _no_individuals(folder: Path) -> None:
    """Blank the identities: density then fails on the data (nobody detected)."""
    import pandas as pd

    f = folder / "sightings.csv"
    df = pd.read_csv(f)
    df["individual_id"] = ""
    df["sex"] = ""
    df.to_csv(f, index=False)


def test_run_step_failing_on_data_exits_3_with_reasons(tmp_path: Path) -> None:
    fast = FAST.replace("density = false\n", "")
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=fast)
    _no_individuals(proj.parent)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(proj), "--out", str(out)])
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output
    assert "Step density failed:" in res.stderr
    assert "Exit status 3" in res.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["steps"]["density"]["status"] == "failed"
    assert "no individual" in man["steps"]["density"]["message"]
    assert (out / "report.html").is_file()  # the rest of the run is written


def test_run_all_done_exits_0_without_failure_lines(
    project: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "failed" not in res.output


def test_unexpected_error_in_a_step_has_no_traceback_unless_vv(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape import pipeline

    def boom(_ctx: object) -> str:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(pipeline._STEP_FUNCS, "coverage", boom)
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(tmp_path / "a")])
    assert res.exit_code == 3
    assert "Traceback" not in res.output
    assert "internal error: ZeroDivisionError" in res.output


def test_unexpected_error_in_a_command_exits_1_without_traceback(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape import pipeline

    def boom(*_a: object, **_k: object) -> None:
        raise ValueError("something odd")

    monkeypatch.setattr(pipeline, "run_project", boom)
    out = str(tmp_path / "a")
    res = CliRunner().invoke(cli, ["run", str(project), "--out", out])
    assert res.exit_code == 1
    assert "internal error (ValueError: something odd)" in res.output
    assert "-vv" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["-vv", "run", str(project), "--out", out])
    assert isinstance(res.exception, ValueError)  # -vv: the traceback is shown


def test_run_refuses_a_device_as_project_file(tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["run", "/dev/zero", "--out", str(out)])
    assert res.exit_code == 1
    assert "the project file is a device, not a regular file" in res.output
    assert not out.exists()


def _sub_folder(out: Path) -> Path:
    return next(p for p in sorted(out.iterdir()) if p.is_dir())


def test_run_overwrite_refuses_user_and_changed_files_at_depth(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    sub = _sub_folder(out)
    (sub / "deeper").mkdir()
    (sub / "deeper" / "annotated_map.png").write_bytes(b"png")
    (sub / "my_notes.txt").write_text("precious")
    again = ["run", str(project), "--out", str(out), "--overwrite"]
    res = runner.invoke(cli, again)
    assert res.exit_code == 1
    assert "annotated_map.png" in res.output and "my_notes.txt" in res.output
    assert "Traceback" not in res.output
    assert (sub / "my_notes.txt").read_text() == "precious"
    assert (sub / "deeper" / "annotated_map.png").read_bytes() == b"png"
    (sub / "my_notes.txt").unlink()
    (sub / "deeper" / "annotated_map.png").unlink()
    (sub / "deeper").rmdir()
    # an output edited by hand is not trapscape's any more
    with (out / "report.html").open("a") as fh:
        fh.write("<p>my comments</p>")
    res = runner.invoke(cli, again)
    assert res.exit_code == 1 and "report.html (changed since" in res.output
    assert "my comments" in (out / "report.html").read_text()
    (out / "report.html").unlink()
    # a normal --overwrite re-run still works (a deleted output is fine)
    res = runner.invoke(cli, [*again, "--seed", "9"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9
    assert (out / "report.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "p"]


def test_run_overwrite_refuses_a_forged_manifest(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    forged = {"trapscape_version": "0", "files": ["thesis.docx"]}
    (out / "manifest.json").write_text(json.dumps(forged))
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(out), "--overwrite"]
    )
    assert res.exit_code == 1
    assert "not a manifest written by trapscape" in res.output
    assert (out / "thesis.docx").read_text() == "years of work"
    # checksums that do not match prove nothing either
    forged = {
        "trapscape_version": "0.1.0",
        "files": ["thesis.docx"],
        "file_checksums": {"thesis.docx": {"sha256": "0" * 64, "size": 13}},
    }
    (out / "manifest.json").write_text(json.dumps(forged))
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(out), "--overwrite"]
    )
    assert res.exit_code == 1 and "thesis.docx" in res.output
    assert (out / "thesis.docx").read_text() == "years of work"


def test_run_does_not_replace_a_folder_created_meanwhile(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape import pipeline

    out = tmp_path / "out"
    report = pipeline._STEP_FUNCS["report"]

    def report_then_user_writes(ctx: object) -> str | None:
        msg = report(ctx)
        out.mkdir()
        (out / "notes.txt").write_text("notes")
        return msg

    monkeypatch.setitem(pipeline._STEP_FUNCS, "report", report_then_user_writes)
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert res.exit_code == 1
    assert "appeared" in res.output and "kept in" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]
    assert len(kept) == 1 and (kept[0] / "manifest.json").is_file()
    assert str(kept[0]) in res.output.replace("\n", "")
    assert not (tmp_path / ".out.lock").exists()


def test_second_run_into_the_same_folder_is_refused(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    import os
    import socket

    # a run that is going: this test's own process holds the lock
    held = {"pid": os.getpid(), "host": socket.gethostname(), "started_utc": "now"}
    lock.write_text(json.dumps(held))
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert res.exit_code == 1
    assert "being written by" in res.output and "Traceback" not in res.output
    assert not out.exists() and lock.exists()


def test_stale_lock_and_staging_folder_are_cleaned(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os
    import socket
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = {"pid": proc.pid, "host": socket.gethostname(), "started_utc": "then"}
    (tmp_path / ".out.lock").write_text(json.dumps(dead))
    stage = tmp_path / f".out.partial-{proc.pid}"
    stage.mkdir()
    (stage / ".trapscape-stage").write_text(json.dumps(dead))
    (stage / "half.csv").write_text("half")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Took over the lock" in caplog.text
    assert "left by an interrupted run" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "p"]
    assert os.getpid() != proc.pid


def test_overwrite_run_keeps_a_file_added_meanwhile(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape import pipeline

    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    before = (out / "manifest.json").read_text()
    report = pipeline._STEP_FUNCS["report"]

    def report_then_user_writes(ctx: object) -> str | None:
        msg = report(ctx)
        (out / "annotated.png").write_bytes(b"png")
        return msg

    monkeypatch.setitem(pipeline._STEP_FUNCS, "report", report_then_user_writes)
    res = runner.invoke(cli, ["run", str(project), "--out", str(out), "--overwrite"])
    assert res.exit_code == 1 and "kept in" in res.output
    assert "annotated.png" in res.output
    assert (out / "annotated.png").read_bytes() == b"png"
    assert (out / "manifest.json").read_text() == before  # previous run untouched


def test_run_into_an_empty_folder_filled_meanwhile_keeps_the_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trapscape import pipeline

    out = tmp_path / "out"
    out.mkdir()
    report = pipeline._STEP_FUNCS["report"]

    def report_then_user_writes(ctx: object) -> str | None:
        msg = report(ctx)
        (out / "notes.txt").write_text("notes")
        return msg

    monkeypatch.setitem(pipeline._STEP_FUNCS, "report", report_then_user_writes)
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert res.exit_code == 1 and "was filled" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------------ progress
def test_run_shows_each_step_as_it_starts_and_ends(
    project: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    err = res.stderr.splitlines()
    # a start and an end line per step that ran, in order, on stderr
    from trapscape._steps import STEPS

    n = len(STEPS)  # the step count is not fixed here: steps get added
    start = err.index(f"[ 3/{n}] coverage   started")
    end = next(
        i for i, line in enumerate(err) if line.startswith(f"[ 3/{n}] coverage   ok")
    )
    assert start < end and line_has_time(err[end])
    assert any(line.startswith(f"[ 4/{n}] density    skipped") for line in err)
    assert "started" not in " ".join(line for line in err if "density" in line)
    assert "Outputs in" in res.stdout and "started" not in res.stdout


def line_has_time(line: str) -> bool:
    import re

    return re.search(r"\d+\.\d s", line) is not None


def test_run_quiet_prints_nothing(project: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path / "o"), "-q"]
    )
    assert res.exit_code == 0, res.output
    assert res.output == ""
    res = CliRunner().invoke(
        cli, ["-q", "run", str(project), "--out", str(tmp_path / "o2")]
    )
    assert res.exit_code == 0 and res.output == ""


def test_run_json_progress_is_one_object_per_line(
    project: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.stderr == ""
    from trapscape._steps import STEPS

    first = {"event": "start", "step": "validate", "index": 1, "total": len(STEPS)}
    assert events[0] == first
    ends = [e for e in events if e["event"] == "end"]
    assert [e["step"] for e in ends][:3] == ["validate", "effort", "coverage"]
    assert len(ends) == len(STEPS)
    assert all(isinstance(e["seconds"], float) for e in ends)
    assert {e["status"] for e in ends} == {"ok", "skipped"}
    done = events[-1]
    assert done["event"] == "done" and done["exit_status"] == 0
    assert done["failed"] == [] and done["files"] > 0


def test_run_json_reports_failed_steps(tmp_path: Path) -> None:
    fast = FAST.replace("density = false\n", "")
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=fast)
    _no_individuals(proj.parent)
    res = CliRunner().invoke(
        cli, ["run", str(proj), "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == 3
    done = json.loads(res.stdout.splitlines()[-1])
    assert done["failed"] == ["density"] and done["exit_status"] == 3


def test_run_project_calls_on_step(project: Path, tmp_path: Path) -> None:
    from trapscape import pipeline

    calls: list[tuple[str, str | None]] = []
    pipeline.run_project(
        project,
        tmp_path / "o",
        on_step=lambda step, rec: calls.append(
            (step, None if rec is None else rec.status)
        ),
    )
    assert calls[:2] == [("validate", None), ("validate", "ok")]
    assert ("plan", "skipped") in calls and ("plan", None) not in calls
