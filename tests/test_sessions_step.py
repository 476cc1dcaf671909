"""Several surveys in one project: [sessions], the sessions step, its report and map.

Three small surveys simulated with ``trapscape simulate`` (different seeds
and densities, 9 km station spacing, 30 days) are the sessions of a
project; the run fits ``~1`` and the trend ``~Session``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from trapscape import pipeline
from trapscape.cli.main import cli
from trapscape.errors import ComputationError, InputError
from trapscape.project import load_project

SIM = ["--days", "30", "--spacing", "9000", "--no-china-stations"]
SIM += ["--cameras-per-station", "1"]
SESSIONS = (("2021", 11, "1.5"), ("2022", 12, "2.5"), ("2023", 13, "3.5"))
#: small masks so the fits take seconds
MASK = {"buffer": 12000.0, "spacing": 3000.0}
MODELS = ["~1", "~Session"]

HEAD = """
[survey]
name = "three years"
crs = "EPSG:32652"
stations = "2021/stations.csv"
sightings = "2021/sightings.csv"
species = "Panthera pardus orientalis"

[steps]
coverage = false
density = false
homerange = false
corridors = false
plan = false
{report}
"""


def _session_tables(prey: bool = True) -> str:
    out = []
    for i, (name, _, _) in enumerate(SESSIONS):
        cov = f"covariates = {{ prey = {0.5 + 0.3 * i} }}\n" if prey else ""
        out.append(
            f'[[sessions.survey]]\nname = "{name}"\n'
            f'stations = "{name}/stations.csv"\nsightings = "{name}/sightings.csv"\n'
            + cov
        )
    return "\n".join(out)


def _project(folder: Path, *, report: bool = True, extra: str = "") -> Path:
    steps = "" if report else "map = false\nreport = false\n"
    text = HEAD.format(report=steps)
    text += (
        f"\n[sessions]\ndensity = {json.dumps(MODELS)}\n"
        f"buffer = {MASK['buffer']}\nspacing = {MASK['spacing']}\n" + extra + "\n"
    )
    text += _session_tables()
    p = folder / "project.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def surveys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sessions")
    runner = CliRunner()
    for name, seed, dens in SESSIONS:
        res = runner.invoke(
            cli,
            [
                "simulate",
                "--out",
                str(root / name),
                "--seed",
                str(seed),
                *SIM,
                "--density",
                f"Russia={dens}",
            ],
        )
        assert res.exit_code == 0, res.output
    return root


@pytest.fixture(scope="module")
def run(surveys: Path) -> Path:
    project = _project(surveys)
    out = surveys / "run"
    res = pipeline.run_project(project, out)
    assert res.steps["sessions"].status == "ok", res.steps["sessions"].message
    return out


@pytest.mark.slow
def test_run_writes_the_session_files_and_the_trend(run: Path) -> None:
    models = pd.read_csv(run / "sessions/models.csv")
    assert sorted(models["model"]) == [
        "D~1 lambda0~1 sigma~1",
        "D~Session lambda0~1 sigma~1",
    ]
    assert models["daic"].min() == 0
    est = pd.read_csv(run / "sessions/estimates.csv")
    trend_model = "D~Session lambda0~1 sigma~1"
    d = est[(est["parameter"] == "D") & (est["model"] == trend_model)]
    assert list(d["session"].astype(str)) == ["2021", "2022", "2023"]
    assert (d["lcl"] < d["estimate"]).all() and (d["estimate"] < d["ucl"]).all()
    # simulated densities rise 1.5 -> 3.5: the fitted trend rises too
    assert d["estimate"].iloc[2] > d["estimate"].iloc[0]
    trend = pd.read_csv(run / "sessions/trend.csv")
    assert list(trend["model"]) == [trend_model]
    t = trend.iloc[0]
    assert t["lcl"] < t["lambda"] < t["ucl"] and t["lambda"] > 1
    fits = json.loads((run / "sessions/fits.json").read_text())
    assert set(fits) == {"D~1 lambda0~1 sigma~1", trend_model}
    assert fits[trend_model]["trend"]["lambda"] == pytest.approx(t["lambda"])
    for stem in ("traps", "captures", "covariates"):
        assert (run / f"sessions/input/{stem}.csv").exists()
    man = json.loads((run / "manifest.json").read_text())
    assert "sessions/models.csv" in man["steps"]["sessions"]["outputs"]


@pytest.mark.slow
def test_step_and_command_write_identical_files(run: Path, tmp_path: Path) -> None:
    inp = run / "sessions/input"
    args = ["sessions", "--traps", str(inp / "traps.csv")]
    args += ["--captures", str(inp / "captures.csv")]
    args += ["--covariates", str(inp / "covariates.csv")]
    for m in MODELS:
        args += ["--model", m]
    args += ["--buffer", str(MASK["buffer"]), "--spacing", str(MASK["spacing"])]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "cmd")])
    assert res.exit_code == 0, res.output
    written = sorted(
        p.relative_to(tmp_path / "cmd").as_posix()
        for p in (tmp_path / "cmd" / "sessions").rglob("*")
        if p.is_file()
    )
    assert written == [
        "sessions/estimates.csv",
        "sessions/fits.json",
        "sessions/models.csv",
        "sessions/trend.csv",
    ]
    for name in written:
        assert (tmp_path / "cmd" / name).read_bytes() == (run / name).read_bytes(), name


@pytest.mark.slow
def test_report_and_map_show_the_sessions(run: Path) -> None:
    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'id="sessions"' in html
    for name, _, _ in SESSIONS:
        assert name in html
    assert "D~Session lambda0~1 sigma~1" in html
    assert (run / "figures/sessions.png").exists()
    from PIL import Image

    with Image.open(run / "figures/sessions.png") as im:
        assert round(im.info["dpi"][0]) == 200
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "2022" in page and "D~Session lambda0~1 sigma~1" in page


def test_bad_session_tables_are_refused_naming_key(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")

    def problems(text: str) -> str:
        p = tmp_path / "p.toml"
        p.write_text(
            '[survey]\nstations = "a.csv"\ncrs = "EPSG:32652"\n' + text,
            encoding="utf-8",
        )
        with pytest.raises(InputError) as err:
            load_project(p, read=False)
        return str(err.value)

    one = '[[sessions.survey]]\nname = "A"\nstations = "a.csv"\n'
    two = one + '[[sessions.survey]]\nname = "B"\nstations = "a.csv"\n'
    assert "[[sessions.survey]]" in problems('[[sessions]]\nname = "A"\n')
    assert "at least two" in problems("[sessions]\n" + one)
    msg = problems("[sessions]\n" + one + one)
    assert "used twice" in msg
    msg = problems("[sessions]\n" + two.replace('"a.csv"\n', '"nope.csv"\n', 1))
    assert "stations = 'nope.csv': file not found" in msg and "#1" in msg
    msg = problems("[sessions]\n" + two + "prey = 1.0\n")
    assert "unknown key 'prey'" in msg and "covariates = {" in msg
    assert "unknown key 'densty'" in problems("[sessions]\ndensty = '~1'\n" + two)
    assert "Did you mean 'density'" in problems("[sessions]\ndensty = '~1'\n" + two)
    assert "either" in problems('[sessions]\nsplit = "year"\n' + two)
    assert "names no sessions" in problems("[sessions]\ndensity = '~1'\n")
    assert "buffer must be a positive distance" in problems(
        "[sessions]\nbuffer = -5.0\n" + two
    )
    bad_cov = two.replace(
        'stations = "a.csv"\n', 'stations = "a.csv"\ncovariates = { prey = "x" }\n', 1
    )
    assert "must be a number" in problems("[sessions]\n" + bad_cov)


def test_validate_exits_1_naming_the_table(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    p = tmp_path / "p.toml"
    p.write_text(
        '[survey]\nstations = "a.csv"\n[sessions]\n[[sessions.survey]]\nname = "A"\n'
        'stations = "missing.csv"\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(cli, ["validate", str(p)])
    assert res.exit_code == 1
    assert "[[sessions.survey]] #1 ('A') stations = 'missing.csv'" in res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == [tmp_path / "a.csv", p] or set(
        tmp_path.iterdir()
    ) == {tmp_path / "a.csv", p}


def test_split_survey_cuts_deployments_and_sightings() -> None:
    from conftest import make_tiny_survey

    from trapscape import validation as V
    from trapscape.density import split_survey

    sv = make_tiny_survey()
    start = sv.stations[V.SETUP].min().normalize()
    mid = start + pd.Timedelta(days=3)
    parts = split_survey(
        sv,
        {
            "early": [start.date().isoformat(), mid.date().isoformat()],
            "late": [(mid + pd.Timedelta(days=1)).date().isoformat(), "2030-01-01"],
        },
    )
    assert list(parts) == ["early", "late"]
    e, late = parts["early"], parts["late"]
    assert e.stations[V.RETRIEVAL].max() <= mid + pd.Timedelta(days=1)
    assert late.stations[V.SETUP].min() >= mid + pd.Timedelta(days=1)
    assert len(e.sightings) + len(late.sightings) == len(sv.sightings)
    with pytest.raises(InputError, match=r"'none'.*no deployment"):
        split_survey(
            sv,
            {"a": ["2024-06-01", "2024-06-30"], "none": ["1999-01-01", "1999-01-02"]},
        )
    with pytest.raises(InputError, match="at least two"):
        split_survey(sv, {"a": ["2024-01-01", "2024-12-31"]})


def test_a_session_without_detections_is_named() -> None:
    from conftest import make_tiny_survey

    from trapscape.density import survey_sessions

    sv = make_tiny_survey()
    empty = sv.with_sightings(sv.sightings.iloc[0:0])
    with pytest.raises(ComputationError, match="Session 'B' has no identified animal"):
        survey_sessions({"A": sv, "B": empty}, buffer=2000.0, spacing=500.0)


@pytest.mark.slow
def test_a_failed_session_fails_the_step_and_writes_nothing(surveys: Path) -> None:
    project = _project(surveys, report=False)
    text = project.read_text().replace(
        'name = "2023"\nstations = "2023/stations.csv"\nsightings = "2023/sightings.csv"',
        'name = "2023"\nstations = "2023/stations.csv"\nsightings = "2023/none.csv"',
    )
    sight = pd.read_csv(surveys / "2023/sightings.csv")
    sight.iloc[0:0].to_csv(surveys / "2023/none.csv", index=False)
    project.write_text(text)
    res = CliRunner().invoke(cli, ["run", str(project), "--out", str(surveys / "bad")])
    assert res.exit_code == 3, res.output
    man = json.loads((surveys / "bad/manifest.json").read_text())
    assert man["steps"]["sessions"]["status"] == "failed"
    assert "'2023'" in man["steps"]["sessions"]["message"]
    assert not (surveys / "bad/sessions").exists()


@pytest.mark.slow
def _three_years_in_one(surveys: Path, folder: Path) -> None:
    """The three simulated surveys as one survey, shifted to consecutive years."""
    stations, sightings = [], []
    for shift, (name, _, _) in enumerate(SESSIONS):
        years = pd.DateOffset(years=shift - 2)
        st = pd.read_csv(surveys / name / "stations.csv")
        si = pd.read_csv(surveys / name / "sightings.csv")
        problems = tuple(c for c in st.columns if c.startswith("problem"))
        for frame, cols in (
            (st, ("setup", "retrieval", *problems)),
            (si, ("timestamp",)),
        ):
            for c in cols:
                frame[c] = (pd.to_datetime(frame[c]) + years).dt.strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
        tag = f"y{shift}/"
        st["deployment_id"] = tag + st["deployment_id"].astype(str)
        st["camera_id"] = tag + st["camera_id"].astype(str)
        st["station_id"] = tag + st["station_id"].astype(str)
        for c in ("deployment_id", "camera_id", "station_id"):
            si[c] = tag + si[c].astype(str)
        for c in ("individual_id", "media_id"):
            si[c] = si[c].where(si[c].isna(), tag + si[c].astype(str))
        stations.append(st)
        sightings.append(si)
    pd.concat(stations).to_csv(folder / "stations.csv", index=False)
    pd.concat(sightings).to_csv(folder / "sightings.csv", index=False)


@pytest.mark.slow
def test_one_survey_split_by_year_public_run(surveys: Path, tmp_path: Path) -> None:
    """One survey over three years cut by split = 'year'; the public run hides inputs."""
    _three_years_in_one(surveys, tmp_path)
    text = HEAD.format(report="map = false\n").replace("2021/", "")
    text += (
        '\n[sessions]\nsplit = "year"\ndensity = "~Session"\n'
        f"buffer = {MASK['buffer']}\nspacing = {MASK['spacing']}\n"
    )
    project = tmp_path / "project.toml"
    project.write_text(text, encoding="utf-8")
    res = pipeline.run_project(project, tmp_path / "out", public=True)
    assert res.steps["sessions"].status == "ok", res.steps["sessions"].message
    est = pd.read_csv(tmp_path / "out/sessions/estimates.csv")
    d = est[est["parameter"] == "D"]
    years = sorted({int(s) for s in d["session"]})
    assert len(years) == 3 and years == list(range(years[0], years[0] + 3))
    assert (tmp_path / "out/sessions/trend.csv").exists()
    assert not (tmp_path / "out/sessions/input").exists()  # exact coordinates
    html = (tmp_path / "out/report.html").read_text(encoding="utf-8")
    assert 'id="sessions"' in html and str(years[1]) in html


def test_report_shows_the_density_surfaces_aic_table(tmp_path: Path) -> None:
    from conftest import make_tiny_survey

    from trapscape.present.report import write_report
    from trapscape.products import RunProducts

    table = pd.DataFrame(
        {
            "model": ["D ~x + y", "D ~elevation"],
            "npar": [5, 4],
            "loglik": [-100.0, -103.0],
            "aic": [210.0, 214.0],
            "aicc": [211.0, 214.5],
            "daic": [0.0, 4.0],
            "aic_weight": [0.88, 0.12],
        }
    )
    out = tmp_path / "report.html"
    write_report(
        make_tiny_survey(),
        out,
        products=RunProducts(density_surfaces=table),
        figures=False,
    )
    html = out.read_text(encoding="utf-8")
    assert 'id="surfaces"' in html
    assert "D ~x + y" in html and "ΔAIC" in html and "0.88" in html
    assert 'id="sessions"' not in html  # no sessions in this run


def test_validate_reads_the_sessions(tiny_project: Path) -> None:
    folder = tiny_project.parent
    tables = (
        "\n[sessions]\n"
        '[[sessions.survey]]\nname = "A"\nstations = "stations.csv"\n'
        'sightings = "sightings.csv"\n'
        '[[sessions.survey]]\nname = "B"\nstations = "bad.csv"\n'
        'sightings = "sightings.csv"\n'
    )
    text = tiny_project.read_text(encoding="utf-8")
    (folder / "bad.csv").write_text(
        (folder / "stations.csv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    tiny_project.write_text(text + tables, encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(tiny_project)])
    assert res.exit_code == 0, res.output
    assert "Sessions:" in res.output and "A (" in res.output and "B (" in res.output
    st = pd.read_csv(folder / "stations.csv")
    st.loc[0, "setup"] = "not a date"
    st.to_csv(folder / "bad.csv", index=False)
    before = sorted(folder.iterdir())
    res = CliRunner().invoke(cli, ["validate", str(tiny_project)])
    assert res.exit_code == 1
    assert "session 'B'" in res.output and "bad.csv" in res.output
    assert "'setup'" in res.output and "Traceback" not in res.output
    assert sorted(folder.iterdir()) == before  # nothing written


@pytest.mark.slow
def test_camtrap_dp_package_with_three_deployment_periods(
    surveys: Path, tmp_path: Path
) -> None:
    """A Camtrap DP package spanning three years, cut by split = 'year'.

    The same survey as CSV files and as a package written by
    ``write_camtrap_dp`` gives the same sessions and the same estimates (to
    1e-5: the package stores WGS84 coordinates to 1e-6 degrees, about 0.1 m,
    which moves D by about 1e-6).
    """
    from trapscape.io import write_camtrap_dp

    _three_years_in_one(surveys, tmp_path)
    sessions = (
        '\n[sessions]\nsplit = "year"\ndensity = "~Session"\n'
        f"buffer = {MASK['buffer']}\nspacing = {MASK['spacing']}\n"
    )
    csv_text = HEAD.format(report="map = false\nreport = false\n").replace("2021/", "")
    csv_project = tmp_path / "csv.toml"
    csv_project.write_text(csv_text + sessions, encoding="utf-8")
    write_camtrap_dp(load_project(csv_project).survey, tmp_path / "pkg")
    dp_text = csv_text.replace(
        'stations = "stations.csv"\nsightings = "sightings.csv"\n',
        'camtrap_dp = "pkg"\n',
    )
    assert "camtrap_dp" in dp_text and "sightings.csv" not in dp_text
    dp_project = tmp_path / "dp.toml"
    dp_project.write_text(dp_text + sessions, encoding="utf-8")
    got = {}
    for name, project in (("csv", csv_project), ("dp", dp_project)):
        res = pipeline.run_project(project, tmp_path / name)
        assert res.steps["sessions"].status == "ok", res.steps["sessions"].message
        est = pd.read_csv(tmp_path / name / "sessions/estimates.csv")
        got[name] = est[est["parameter"] == "D"].reset_index(drop=True)
    assert len(got["dp"]) == 3
    assert list(got["dp"]["session"]) == list(got["csv"]["session"])
    np.testing.assert_allclose(got["dp"]["estimate"], got["csv"]["estimate"], rtol=1e-5)
