"""Design evaluation by simulation (planning.evaluate_designs, secrdesign-style)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trapscape.density import Mask
from trapscape.detection import DetectionParams
from trapscape.errors import InputError
from trapscape.planning import Design, evaluate_designs
from trapscape.planning.evaluate import _Truth, replicate_rng, simulate_history

PARAMS = DetectionParams(sigma=1500.0, lambda0=0.05)


def _grid(n: int, step: float = 2000.0) -> np.ndarray:
    return np.array([(x * step, y * step) for x in range(n) for y in range(n)], float)


def _design(name: str, n: int, days: float = 60.0) -> Design:
    xy = _grid(n)
    return Design(name, xy, np.full(len(xy), days))


def _stable(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.drop(columns="seconds_per_replicate")


def test_hand_checkable_expected_n() -> None:
    """One mask cell on a station: n ~ Poisson(D a (1 - exp(-lambda0 T)))."""
    design = Design("one", np.array([[0.0, 0.0], [50_000.0, 0.0]]), [10.0, 10.0])
    mask = Mask(xy=np.array([[0.0, 0.0]]), spacing=1000.0)  # 1 km2 cell
    # 1000 animals per 100 km2 -> 10 animals expected in the 1 km2 cell
    truth = _Truth(
        PARAMS.__class__(sigma=1000.0, lambda0=0.1), 1000.0, "proximity", "null", 1.0
    )
    expected = 10.0 * (1.0 - math.exp(-0.1 * 10.0))  # 6.3212
    n = [
        simulate_history(design, mask, truth, replicate_rng(3, "one", i)).n
        for i in range(2000)
    ]
    se = math.sqrt(expected / 2000)  # n is Poisson (a thinned Poisson count)
    assert abs(np.mean(n) - expected) < 4 * se
    # detections per animal at the station: 10 Bernoulli days with p = 1 - e^-0.1
    ch = simulate_history(design, mask, truth, replicate_rng(3, "one", 0))
    assert ch.usage.shape == (2, 10)
    assert ch.captures[:, :, 1].sum() == 0  # the far station never detects


def test_simulated_mean_n_matches_the_capture_model() -> None:
    """Mean n over replicates matches E[n] of planning.expected_counts."""
    res = evaluate_designs(
        [_design("g", 4)], PARAMS, density=20.0, replicates=12, seed=5
    )
    row = res.summary.iloc[0]
    assert row["expected_n"] > 10
    se = math.sqrt(row["expected_n"] / 12)
    assert abs(row["mean_n"] - row["expected_n"]) < 4 * se
    # whole-day occasions: E[r] of planning.expected_counts is exact here
    assert abs(row["mean_r"] - row["expected_r"]) < 0.2 * row["expected_r"]
    assert list(res.summary["parameter"]) == ["D", "lambda0", "sigma"]
    assert res.summary["failed_share"].iloc[0] == 0.0


def test_poor_design_is_less_precise() -> None:
    """Four stations give a larger RSE of D than 25 on the same density."""
    res = evaluate_designs(
        [_design("poor", 2), _design("good", 5)],
        PARAMS,
        density=30.0,
        replicates=6,
        seed=2,
    )
    d = res.summary[res.summary["parameter"] == "D"].set_index("design")
    assert d.loc["good", "RSE"] < d.loc["poor", "RSE"]
    assert d.loc["good", "mean_n"] > d.loc["poor", "mean_n"]
    assert d.loc["good", "stations"] == 25


def test_reproducible_and_independent_of_batching() -> None:
    kw = {"density": 20.0, "replicates": 4, "seed": 9}
    a = evaluate_designs([_design("g", 3)], PARAMS, batch_size=1, **kw)
    b = evaluate_designs([_design("g", 3)], PARAMS, batch_size=3, **kw)
    pd.testing.assert_frame_equal(_stable(a.summary), _stable(b.summary))
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    c = evaluate_designs([_design("g", 3)], PARAMS, **{**kw, "seed": 10})
    assert not np.array_equal(a.replicates["estimate"], c.replicates["estimate"])


def test_a_design_does_not_depend_on_the_others() -> None:
    """Seeds come from the design's name, not its position in the list."""
    alone = evaluate_designs([_design("g", 3)], PARAMS, density=20.0, replicates=2)
    both = evaluate_designs(
        [_design("h", 2), _design("g", 3)], PARAMS, density=20.0, replicates=2
    )
    pd.testing.assert_frame_equal(
        alone.replicates.reset_index(drop=True),
        both.replicates[both.replicates["design"] == "g"].reset_index(drop=True),
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"replicates": 0}, "replicates must be >= 1"),
        ({"replicates": 2.5}, "whole number"),
        ({"density": -1.0}, "density must be positive"),
        ({"model": "sex"}, "model must be"),
        ({"workers": 0}, "workers must be >= 1"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict, match: str) -> None:
    args = {"density": 20.0, "replicates": 2, **kwargs}
    with pytest.raises(InputError, match=match):
        evaluate_designs([_design("g", 3)], PARAMS, **args)


def test_bad_designs_are_clear_errors() -> None:
    with pytest.raises(InputError, match="No design"):
        evaluate_designs([], PARAMS, density=20.0, replicates=2)
    with pytest.raises(InputError, match="no stations"):
        Design("empty", np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(InputError, match="two or more stations"):
        evaluate_designs(
            [Design("one", [[0.0, 0.0]], [30.0])], PARAMS, density=5.0, replicates=2
        )
    with pytest.raises(InputError, match="repeated"):
        evaluate_designs(
            [_design("g", 2), _design("g", 3)], PARAMS, density=5.0, replicates=2
        )
    with pytest.raises(InputError, match="No true density"):
        evaluate_designs([_design("g", 2)], PARAMS, replicates=2)


def test_usage_over_occasions() -> None:
    d = Design("u", [[0.0, 0.0], [1.0, 0.0]], [10.0, 4.5])
    np.testing.assert_allclose(d.usage(3.0), [[3, 3, 3, 1], [3, 1.5, 0, 0]])


@pytest.mark.slow
def test_known_truth_unbiased_with_nominal_coverage() -> None:
    """A well-sampled grid: RB within Monte-Carlo error of 0, COV near 0.95."""
    res = evaluate_designs(
        [_design("g", 6)], PARAMS, density=20.0, replicates=60, seed=11
    )
    s = res.summary.set_index("parameter")
    for par in ("D", "lambda0", "sigma"):
        assert abs(s.loc[par, "RB"]) < 3 * s.loc[par, "RB_se"] + 0.02, par
        assert 0.85 <= s.loc[par, "COV"] <= 1.0, par
    assert s.loc["D", "failed_share"] == 0.0


@pytest.mark.slow
def test_two_dask_workers_give_identical_results() -> None:
    pytest.importorskip("dask.distributed")
    kw = {"density": 20.0, "replicates": 4, "seed": 4, "batch_size": 2}
    designs = [_design("a", 3), _design("b", 4)]
    one = evaluate_designs(designs, PARAMS, **kw)
    two = evaluate_designs(designs, PARAMS, workers=2, **kw)
    pd.testing.assert_frame_equal(_stable(one.summary), _stable(two.summary))
    pd.testing.assert_frame_equal(one.replicates, two.replicates)
    assert two.settings["workers"] == 2


def _summary_frame() -> pd.DataFrame:
    res = evaluate_designs(
        [_design("current", 2), _design("current+plan", 3)],
        PARAMS,
        density=20.0,
        replicates=1,
        seed=1,
    )
    return res.summary


@pytest.mark.parametrize(
    ("lang", "heading", "design"),
    [
        ("en", "Design evaluation by simulation", "current and proposed stations"),
        ("ru", "Оценка вариантов размещения моделированием", "текущие станции"),
        ("zh", "基于模拟的布设方案评估", "现有及建议位点"),
    ],
)
def test_report_shows_the_design_table(lang: str, heading: str, design: str) -> None:
    from conftest import make_tiny_survey

    from trapscape.present import report
    from trapscape.products import RunProducts

    s = make_tiny_survey()
    frame = _summary_frame()
    ctx = report.report_context(
        s, RunProducts(design_evaluation=frame), figures=False, lang=lang
    )
    html = report.render_report(ctx)
    assert heading in html
    assert design in html
    assert "secrdesign" in html
    assert ctx["design_evaluation"]["table"].rows[0][0] != "current"  # translated
    none = report.render_report(report.report_context(s, figures=False, lang=lang))
    assert heading not in none


def test_json_is_strict() -> None:
    import json

    res = evaluate_designs([_design("g", 3)], PARAMS, density=20.0, replicates=1)
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert doc["summary"][0]["RB_se"] is None  # one replicate: no SE
    assert doc["settings"]["replicates"] == 1


def test_run_step_evaluates_designs_when_asked(tmp_path) -> None:
    """[plan] evaluate_replicates = 1: the plan step writes the table, the report shows it."""
    from conftest import make_tiny_survey, write_survey_project

    from trapscape import pipeline

    extra = (
        "[report]\nfigures = false\n"
        "[coverage]\ncell_size = 1000.0\nresolution = 250.0\n"
        "[steps]\ndensity = false\nhomerange = false\ncorridors = false\n"
        "map = false\n"
        "[plan]\nn_new = 2\nspacing = 250.0\nmin_spacing = 500.0\n"
        "evaluate_replicates = 1\n"
        "[detection]\nsigma = 800.0\nlambda0 = 0.05\ndensity_per_100km2 = 300.0\n"
    )
    proj = write_survey_project(make_tiny_survey(), tmp_path / "p", extra=extra)
    res = pipeline.run_project(proj, tmp_path / "out")
    assert res.steps["plan"].status == "ok"
    assert "designs evaluated (1 replicates)" in res.steps["plan"].message
    table = pd.read_csv(tmp_path / "out/plan/design_evaluation.csv")
    assert list(dict.fromkeys(table["design"])) == ["current", "current+plan"]
    html = (tmp_path / "out/report.html").read_text(encoding="utf-8")
    assert "Design evaluation by simulation" in html


def test_density_per_zone_and_zone_model() -> None:
    """A density per zone: the zone model reports D[zone] against each zone's truth."""
    from shapely.geometry import box

    zones = {
        "west": box(-20_000, -20_000, 5000, 30_000),
        "east": box(5000, -20_000, 30_000, 30_000),
    }
    res = evaluate_designs(
        [_design("g", 6)],
        PARAMS,
        density={"west": 10.0, "east": 40.0},
        zones=zones,
        model="zone",
        replicates=2,
        seed=3,
    )
    s = res.summary.set_index("parameter")
    assert s.loc["D[west]", "true"] == 10.0
    assert s.loc["D[east]", "true"] == 40.0
    assert s.loc["D[east]", "mean_estimate"] > s.loc["D[west]", "mean_estimate"]
    with pytest.raises(InputError, match="no value for zone"):
        evaluate_designs(
            [_design("g", 3)], PARAMS, density={"west": 10.0}, zones=zones, replicates=1
        )


def test_large_population_is_simulated_in_chunks() -> None:
    """More animals than one chunk: n still follows the capture model."""
    from trapscape.planning.evaluate import CHUNK_ANIMALS

    design = Design("one", np.array([[0.0, 0.0], [50_000.0, 0.0]]), [10.0, 10.0])
    mask = Mask(xy=np.array([[0.0, 0.0]]), spacing=1000.0)
    truth = _Truth(
        DetectionParams(sigma=1000.0, lambda0=0.1), 1e5, "proximity", "null", 1.0
    )  # 1000 animals expected in the cell
    expected = 1000.0 * (1.0 - math.exp(-1.0))
    assert expected > CHUNK_ANIMALS
    n = [
        simulate_history(design, mask, truth, replicate_rng(1, "one", i)).n
        for i in range(20)
    ]
    assert abs(np.mean(n) - expected) < 4 * math.sqrt(expected / 20)


def test_replicates_without_data_count_as_failed() -> None:
    """A density so low that nothing is detected: every fit fails, nothing crashes."""
    res = evaluate_designs([_design("g", 2)], PARAMS, density=0.001, replicates=3)
    s = res.summary.set_index("parameter")
    assert s.loc["D", "failed_share"] == 1.0
    assert s.loc["D", "n_valid"] == 0
    assert math.isnan(s.loc["D", "RB"])
    assert (res.replicates["error"] != "").all()


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("dask.distributed")
    from trapscape.errors import ComputationError

    with pytest.raises(ComputationError, match="Cannot reach the dask scheduler"):
        evaluate_designs(
            [_design("g", 2)],
            PARAMS,
            density=20.0,
            replicates=1,
            scheduler="tcp://127.0.0.1:9",
        )
