"""Public check_* validators on canonical frames."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from trapscape import validation as V
from trapscape.errors import Problem, ProblemCollector, TrapscapeWarning


def test_tiny_survey_is_valid(tiny_survey):
    assert V.check_survey(tiny_survey) == []


def test_check_stations_setup_after_retrieval(tiny_survey):
    st = tiny_survey.stations.copy()
    st.loc[3, V.SETUP] = pd.Timestamp("2024-07-01")
    probs = V.check_stations(st, tiny_survey.problems, path="st.csv")
    assert len(probs) == 1
    p = probs[0]
    assert isinstance(p, Problem)
    assert (p.row, p.column, p.path) == (4, V.SETUP, "st.csv")
    assert "after retrieval" in p.message


def test_check_stations_custom_rows(tiny_survey):
    st = tiny_survey.stations.copy()
    st.loc[0, V.RETRIEVAL] = pd.NaT
    rows = list(range(10, 10 + len(st)))
    probs = V.check_stations(st, rows=rows)
    assert [(p.row, p.column) for p in probs] == [(10, V.RETRIEVAL)]


def test_check_stations_overlap_and_duplicates(tiny_survey):
    st = tiny_survey.stations.copy()
    extra = st.iloc[[0]].copy()
    extra[V.SETUP] = pd.Timestamp("2024-06-05")
    st = pd.concat([st, extra], ignore_index=True)  # same id, overlapping
    msgs = [p.message for p in V.check_stations(st)]
    assert any("used twice" in m for m in msgs)
    assert any("overlapping deployments" in m for m in msgs)


def test_check_stations_malfunctions(tiny_survey):
    pr = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: ["S1/a", "S2/a", "nope"],
            V.PROBLEM_FROM: pd.to_datetime(["2024-06-08", "2024-05-01", "2024-06-02"]),
            V.PROBLEM_TO: pd.to_datetime(["2024-06-04", "2024-06-03", "2024-06-03"]),
        }
    )
    probs = V.check_stations(tiny_survey.stations, pr)
    msgs = {p.row: p.message for p in probs}
    assert "reversed" in msgs[1]
    assert "before the camera was set up" in msgs[2]
    assert "unknown deployment" in msgs[3]


def test_malfunction_day_tolerance(tiny_survey):
    # date-only ends: 00:00 of the setup day and 00:00 after the retrieval day are fine
    pr = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: ["S1/a"],
            V.PROBLEM_FROM: [pd.Timestamp("2024-06-01 00:00")],
            V.PROBLEM_TO: [pd.Timestamp("2024-06-12 00:00")],
        }
    )
    assert V.check_stations(tiny_survey.stations, pr) == []


def test_check_stations_study_area_distance(tiny_survey):
    st = tiny_survey.stations.copy()
    st.loc[0, "geometry"] = Point(500_000 - 12_000, 4_761_000)
    probs = V.check_stations(st, study_area=tiny_survey.study_area)
    assert len(probs) == 1
    assert "12.0 km outside the study area" in probs[0].message
    st.loc[0, "geometry"] = Point(500_000 - 9_000, 4_761_000)  # within 10 km: ok
    assert V.check_stations(st, study_area=tiny_survey.study_area) == []


def test_check_sightings_rules(tiny_survey):
    si = tiny_survey.sightings.copy()
    si.loc[0, V.STATION_ID] = "S99"
    si.loc[1, V.TIMESTAMP] = pd.Timestamp("2024-07-01")
    si.loc[2, V.COUNT] = 0
    si[V.SEX] = si[V.SEX].astype(object)
    si.loc[3, V.SEX] = "x"
    si.loc[5, V.TIMESTAMP] = pd.Timestamp("2024-06-05 10:00")  # S9 malfunction
    pr = tiny_survey.problems.copy()
    pr[V.PROBLEM_FROM] = pd.Timestamp("2024-06-03")
    pr[V.PROBLEM_TO] = pd.Timestamp("2024-06-08")
    probs = V.check_sightings(si, tiny_survey.stations, pr)
    got = {(p.row, p.column) for p in probs}
    assert got == {
        (1, V.STATION_ID),
        (2, V.TIMESTAMP),
        (3, V.COUNT),
        (4, V.SEX),
        (6, V.TIMESTAMP),
    }


def test_sighting_on_edge_day_of_malfunction_warns(tiny_survey):
    si = tiny_survey.sightings.copy()
    si.loc[5, V.TIMESTAMP] = pd.Timestamp("2024-06-05 01:00")  # first day
    with pytest.warns(TrapscapeWarning, match="first or last day"):
        assert V.check_sightings(si, tiny_survey.stations, tiny_survey.problems) == []


def test_sightings_without_camera_use_any_camera(tiny_survey):
    si = tiny_survey.sightings.copy()
    si[V.CAMERA_ID] = pd.NA
    dep, status, _ = V.resolve_deployments(
        si, tiny_survey.stations, tiny_survey.problems
    )
    assert set(status) == {"ok"}
    assert dep.iloc[0] == "S1/a"


def test_check_sightings_missing_columns():
    probs = V.check_sightings(pd.DataFrame({"station_id": ["A"]}))
    assert {p.column for p in probs} == {V.TIMESTAMP, V.SPECIES}


def test_check_boundaries():
    bow = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    layer = gpd.GeoDataFrame(
        {"name": ["ok", "bow", "line"]},
        geometry=[box(0, 0, 1, 1), bow, LineString([(0, 0), (1, 1)])],
        crs=32652,
    )
    probs = V.check_boundaries(layer, kind="zones")
    assert [(p.row, p.column) for p in probs] == [(2, "geometry"), (3, "geometry")]
    assert "Self-intersection" in probs[0].message
    border = gpd.GeoDataFrame(
        {"name": ["b"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=32652
    )
    assert V.check_boundaries(border, kind="border") == []
    nocrs = gpd.GeoDataFrame({"x": [1]}, geometry=[box(0, 0, 1, 1)])
    msgs = [p.message for p in V.check_boundaries(nocrs, kind="parks")]
    assert any("no CRS" in m for m in msgs) and any("'name'" in m for m in msgs)


def test_check_survey_layers_in_other_crs(tiny_survey):
    s = tiny_survey
    object.__setattr__(s, "parks", s.parks.to_crs(4326))  # bypass Survey's own guard
    probs = V.check_survey(s)
    assert any(
        "layer 'parks'" in p.message and "not the survey CRS" in p.message
        for p in probs
    )


def test_check_survey_collects_all(tiny_survey):
    st = tiny_survey.stations.copy()
    st.loc[0, V.SETUP] = pd.Timestamp("2024-07-01")
    si = tiny_survey.sightings.copy()
    si.loc[6, V.STATION_ID] = "S77"
    s = replace(tiny_survey, stations=st, sightings=si)
    probs = V.check_survey(s)
    assert len(probs) >= 2


def test_suggest_and_aliases():
    assert V.suggest("setup_date", ["Setp_date", "foo"]) == "Setp_date"
    assert V.suggest("setup", ["zzz"]) is None
    found = V.resolve_columns(
        ["Station", "Setup_date", "Retrieval_date", "utm_x", "utm_y", "Problem1_from"],
        V.STATION_ALIASES,
    )
    assert found[V.STATION_ID] == "Station" and found["x"] == "utm_x"
    assert V.PROBLEM_COLUMN.match(V.normalise_name("Problem12_to")).group(1) == "12"


def test_long_problem_lists_are_capped_in_the_message():
    chk = ProblemCollector()
    for i in range(V.MAX_LISTED + 50):
        chk.add(f"bad {i}", path="f.csv", row=i + 1, column="c")
    err = chk.error()
    assert len(err.problems) == V.MAX_LISTED + 50
    assert f"{V.MAX_LISTED + 50} problems found" in str(err)
    assert "... and 50 more" in str(err)
    assert str(err).count("\n") == V.MAX_LISTED + 1


def test_identical_problems_share_one_line():
    chk = ProblemCollector()
    for i in range(10_000):
        chk.add("bad", path="f.csv", row=i + 1, column="c")
    chk.add("other", path="f.csv", row=3, column="d")
    err = chk.error()
    assert len(err.problems) == 10_001  # all kept
    text = str(err)
    assert text.count("\n") == 2
    assert (
        "f.csv rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 9990 more, column 'c': bad"
        in text
    )
    assert "f.csv row 3, column 'd': other" in text


def test_suggest_id_prefers_longest_common_prefix():
    # difflib alone ranks 'S197' first (same letters); 'S17A' is a typo of 'S174'
    ids = ["S174", "S197", "S201"]
    assert V.suggest_id("S17A", ids) == "S174"
    assert V.suggest_id("s174", ids) == "S174"  # case-insensitive
    assert V.suggest_id("XYZ", ids) is None
    assert V.suggest_id("S2O1", ids) == "S201"  # letter O for zero


def test_unknown_station_hint_uses_prefix(tiny_survey):
    st = tiny_survey.stations.copy()
    other = {s: f"S{200 + k}" for k, s in enumerate(sorted(set(st[V.STATION_ID])))}
    names = dict(zip(sorted(other)[:2], ["S174", "S197"], strict=True)) | {
        s: n for s, n in other.items() if s not in sorted(other)[:2]
    }
    st[V.STATION_ID] = st[V.STATION_ID].map(names)
    si = tiny_survey.sightings.iloc[:1].copy()
    si[V.STATION_ID] = "S17A"
    probs = V.check_sightings(si, st, None, path="si.csv")
    assert len(probs) == 1
    p = probs[0]
    assert (p.path, p.row, p.column) == ("si.csv", 1, V.STATION_ID)
    assert (
        "station 'S17A' is not in the stations table. Did you mean 'S174'?" in p.message
    )
