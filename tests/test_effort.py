"""Operation matrix, usage and effort tables: hand-checkable cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from trapscape import effort
from trapscape import validation as V
from trapscape.errors import InputError, TrapscapeWarning

CRS = "EPSG:32652"


def _stations(rows):
    """Deployments from (station, camera, setup, retrieval[, deployment_id])."""
    recs = []
    for k, r in enumerate(rows):
        sid, cam, s, e = r[:4]
        recs.append(
            {
                V.STATION_ID: sid,
                V.CAMERA_ID: cam,
                V.DEPLOYMENT_ID: r[4] if len(r) > 4 else f"{sid}/{cam}/{k}",
                V.SETUP: pd.Timestamp(s),
                V.RETRIEVAL: pd.Timestamp(e),
                "geometry": Point(500_000 + 1000 * k, 4_760_000),
            }
        )
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=CRS)


def _problems(rows):
    return pd.DataFrame(
        {
            V.DEPLOYMENT_ID: [r[0] for r in rows],
            V.PROBLEM_FROM: pd.to_datetime([r[1] for r in rows]),
            V.PROBLEM_TO: pd.to_datetime([r[2] for r in rows]),
        }
    )


# ------------------------------------------------------------ operation matrix
def test_one_camera_working_10_5_days_has_10_5_trap_nights():
    st = _stations([("S1", "a", "2024-06-01 12:00", "2024-06-12 00:00")])
    m = effort.operation_matrix(st)
    assert m.shape == (1, 11)
    assert m.sum(axis=1).iloc[0] == pytest.approx(10.5, abs=1e-12)
    assert m.iloc[0, 0] == pytest.approx(0.5)  # setup day at noon: half a day
    assert (m.iloc[0, 1:] == 1.0).all()
    assert m.columns[0] == pd.Timestamp("2024-06-01")
    assert m.index[0] == ("S1", "a")


def test_setup_and_retrieval_fraction_by_time_of_day():
    st = _stations([("S1", "a", "2024-06-01 18:00", "2024-06-03 06:00")])
    m = effort.operation_matrix(st)
    np.testing.assert_allclose(m.iloc[0].to_numpy(), [0.25, 1.0, 0.25])


def test_not_set_up_is_nan_and_malfunction_is_zero():
    st = _stations(
        [
            ("S1", "a", "2024-06-01 12:00", "2024-06-06 12:00", "D1"),
            ("S2", "a", "2024-06-03 12:00", "2024-06-06 12:00", "D2"),
        ]
    )
    pr = _problems([("D1", "2024-06-03 00:00", "2024-06-04 00:00")])
    m = effort.operation_matrix(st, pr)
    row1, row2 = m.loc[("S1", "a")], m.loc[("S2", "a")]
    assert row1[pd.Timestamp("2024-06-03")] == 0.0  # set up but not working
    assert np.isnan(row2[pd.Timestamp("2024-06-01")])  # not set up
    assert np.isnan(row2[pd.Timestamp("2024-06-02")])
    assert row2[pd.Timestamp("2024-06-03")] == 0.5
    assert row1.sum() == pytest.approx(4.0)
    assert row2.sum() == pytest.approx(3.0)


def test_malfunction_removes_exact_fraction():
    st = _stations([("S1", "a", "2024-06-01 00:00", "2024-06-03 00:00", "D1")])
    # 6 h on day 1, plus an overlapping 4 h problem counted once
    pr = _problems(
        [
            ("D1", "2024-06-01 06:00", "2024-06-01 12:00"),
            ("D1", "2024-06-01 10:00", "2024-06-01 14:00"),
            ("D1", "2024-06-02 21:00", "2024-06-03 00:00"),
        ]
    )
    m = effort.operation_matrix(st, pr)
    np.testing.assert_allclose(m.iloc[0].to_numpy(), [1 - 8 / 24, 1 - 3 / 24])


def test_two_cameras_at_station_count_once_or_twice():
    st = _stations(
        [
            ("S1", "a", "2024-06-01 00:00", "2024-06-03 00:00", "A"),
            ("S1", "b", "2024-06-01 00:00", "2024-06-03 00:00", "B"),
        ]
    )
    pooled = effort.operation_matrix(st, by="station")
    counted = effort.operation_matrix(st, by="station", count_cameras=True)
    np.testing.assert_allclose(pooled.loc["S1"].to_numpy(), [1.0, 1.0])
    np.testing.assert_allclose(counted.loc["S1"].to_numpy(), [2.0, 2.0])
    # a malfunction of one camera costs nothing when pooled, 1 when counted
    pr = _problems([("A", "2024-06-01 00:00", "2024-06-02 00:00")])
    pooled = effort.operation_matrix(st, pr, by="station")
    counted = effort.operation_matrix(st, pr, by="station", count_cameras=True)
    np.testing.assert_allclose(pooled.loc["S1"].to_numpy(), [1.0, 1.0])
    np.testing.assert_allclose(counted.loc["S1"].to_numpy(), [1.0, 2.0])


def test_pooled_station_union_of_staggered_cameras():
    st = _stations(
        [
            ("S1", "a", "2024-06-01 00:00", "2024-06-01 12:00", "A"),
            ("S1", "b", "2024-06-01 06:00", "2024-06-01 18:00", "B"),
        ]
    )
    pooled = effort.operation_matrix(st, by="station")
    assert pooled.loc["S1"].iloc[0] == pytest.approx(0.75)
    counted = effort.operation_matrix(st, by="station", count_cameras=True)
    assert counted.loc["S1"].iloc[0] == pytest.approx(1.0)


def test_successive_deployments_share_a_camera_row():
    st = _stations(
        [
            ("S1", "a", "2024-06-01 12:00", "2024-06-03 12:00", "D1"),
            ("S1", "a", "2024-06-05 12:00", "2024-06-06 12:00", "D2"),
        ]
    )
    m = effort.operation_matrix(st)
    assert m.shape[0] == 1
    assert np.isnan(m.loc[("S1", "a"), pd.Timestamp("2024-06-04")])
    assert m.sum(axis=1).iloc[0] == pytest.approx(3.0)


def test_occasions_sum_days():
    st = _stations([("S1", "a", "2024-06-01 12:00", "2024-06-08 00:00")])
    m = effort.operation_matrix(st, occasion_days=3)
    assert m.columns.name == "occasion_start"
    np.testing.assert_allclose(m.iloc[0].to_numpy(), [2.5, 3.0, 1.0])


def test_start_end_restrict_columns():
    st = _stations([("S1", "a", "2024-06-01 12:00", "2024-06-08 00:00")])
    m = effort.operation_matrix(st, start="2024-05-30", end="2024-06-02")
    assert list(m.columns) == list(pd.date_range("2024-05-30", "2024-06-02"))
    assert np.isnan(m.iloc[0, 0]) and m.iloc[0, 2] == 0.5


def test_vectorised_400_cameras_90_days_consistent():
    rng = np.random.default_rng(1)
    rows = []
    for j in range(400):
        s = pd.Timestamp("2024-01-01") + pd.Timedelta(
            hours=int(rng.integers(0, 24 * 10))
        )
        e = s + pd.Timedelta(hours=int(rng.integers(24 * 30, 24 * 80)))
        rows.append((f"S{j // 2}", "ab"[j % 2], s, e))
    st = _stations(rows)
    m = effort.operation_matrix(st)
    expected = (st[V.RETRIEVAL] - st[V.SETUP]).dt.total_seconds().to_numpy() / 86400
    got = (
        m.loc[list(zip(st[V.STATION_ID], st[V.CAMERA_ID], strict=True))]
        .sum(axis=1)
        .to_numpy()
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_input_not_modified(tiny_survey):
    before = tiny_survey.stations.copy()
    effort.operation_matrix(tiny_survey, by="station")
    pd.testing.assert_frame_equal(tiny_survey.stations, before)


# ------------------------------------------------------------------ bad input
def test_overlapping_deployments_of_one_camera_are_refused():
    st = _stations(
        [
            ("S1", "a", "2024-06-01", "2024-06-10", "D1"),
            ("S1", "a", "2024-06-05", "2024-06-12", "D2"),
        ]
    )
    with pytest.raises(InputError, match=r"'D1' and 'D2'.*overlap") as info:
        effort.operation_matrix(st)
    assert info.value.row == 2


def test_retrieval_before_setup_is_refused():
    st = _stations([("S1", "a", "2024-06-10", "2024-06-01", "D1")])
    with pytest.raises(InputError, match=r"row 1.*'D1'.*no later"):
        effort.operation_matrix(st)


def test_malfunction_of_unknown_deployment_is_refused():
    st = _stations([("S1", "a", "2024-06-01", "2024-06-10", "D1")])
    pr = _problems([("D9", "2024-06-02", "2024-06-03")])
    with pytest.raises(InputError, match=r"row 1.*unknown deployment 'D9'"):
        effort.operation_matrix(st, pr)


def test_malfunction_outside_deployment_warns_and_is_clipped():
    st = _stations([("S1", "a", "2024-06-01 00:00", "2024-06-03 00:00", "D1")])
    pr = _problems([("D1", "2024-06-02 12:00", "2024-06-05 00:00")])
    with pytest.warns(
        TrapscapeWarning, match=r"outside their deployment: row 1 \('D1'\)"
    ):
        m = effort.operation_matrix(st, pr)
    assert m.sum(axis=1).iloc[0] == pytest.approx(1.5)


# ---------------------------------------------------------------------- usage
def test_station_usage_matches_pooled_matrix(tiny_survey):
    u = effort.station_usage(tiny_survey)
    assert list(u.station_ids) == [f"S{i}" for i in range(1, 10)]
    assert u.usage.shape == (9, 10)
    assert not np.isnan(u.usage).any()
    np.testing.assert_allclose(u.total_days[[0, 4, 8]], [9.5, 9.5, 7.5])
    np.testing.assert_allclose(u.xy[0], [501_000.0, 4_761_000.0])
    np.testing.assert_allclose(u.xy[8], [503_000.0, 4_763_000.0])
    assert len(u.occasion_starts) == 10


# ------------------------------------------------------------- effort report
def _with(survey, **changes):
    from dataclasses import replace

    return replace(survey, **changes)


def test_effort_report_tiny_by_hand(tiny_survey):
    r = effort.effort_report(tiny_survey)
    cam = r.per_camera.set_index([V.STATION_ID, V.CAMERA_ID])
    assert cam.loc[("S9", "a"), "trap_nights"] == pytest.approx(7.5)
    assert cam.loc[("S9", "a"), "operating_days"] == 8
    assert cam.loc[("S9", "a"), "days_set_up"] == 10
    st = r.per_station.set_index(V.STATION_ID)
    assert st.loc["S5", "cameras"] == 2
    assert st.loc["S5", "trap_nights"] == pytest.approx(9.5)  # pooled
    assert st.loc["S5", "detections"] == 2
    assert st.loc["S5", "individuals"] == 1
    assert st.loc["S3", "individuals"] == 0 and st.loc["S3", "detections"] == 1
    assert st.loc["S4", "detection_rate_per_100"] == 0.0  # effort, no detection
    assert st.loc["S9", "detection_rate_per_100"] == pytest.approx(100 / 7.5)
    assert st.loc["S1", V.ZONE] == "China" and st.loc["S9", V.ZONE] == "Russia"
    zone = r.per_zone.set_index("zone")
    # China: S1 S2 S4 S5 S7 S8; Russia: S3 S6 S9
    assert zone.loc["China", "trap_nights"] == pytest.approx(6 * 9.5)
    assert zone.loc["Russia", "trap_nights"] == pytest.approx(2 * 9.5 + 7.5)
    assert zone.loc["China", "individuals"] == 2  # A and B, counted once each
    assert zone.loc["Russia", "individuals"] == 1
    tot = r.total.iloc[0]
    assert tot["trap_nights"] == pytest.approx(8 * 9.5 + 7.5)
    assert tot["detections"] == 7 and tot["photos"] == 7 and tot["individuals"] == 2
    assert tot["cameras"] == 10 and tot["stations"] == 9


def test_effort_report_count_cameras(tiny_survey):
    r = effort.effort_report(tiny_survey, count_cameras=True)
    st = r.per_station.set_index(V.STATION_ID)
    assert st.loc["S5", "trap_nights"] == pytest.approx(19.0)
    assert r.total["trap_nights"].iat[0] == pytest.approx(9 * 9.5 + 7.5)


def test_no_effort_is_nan_not_zero(tiny_survey):
    pr = pd.DataFrame(
        {
            V.DEPLOYMENT_ID: ["S4/a"],
            V.PROBLEM_FROM: [pd.Timestamp("2024-06-01")],
            V.PROBLEM_TO: [pd.Timestamp("2024-06-12")],
        }
    )
    with pytest.warns(TrapscapeWarning, match="outside their deployment"):
        r = effort.effort_report(_with(tiny_survey, problems=pr))
    st = r.per_station.set_index(V.STATION_ID)
    assert st.loc["S4", "trap_nights"] == 0.0
    assert np.isnan(st.loc["S4", "detection_rate_per_100"])
    assert st.loc["S7", "detection_rate_per_100"] == 0.0


def test_sighting_on_malfunction_day_warns_with_row(tiny_survey):
    si = tiny_survey.sightings.copy()
    si.loc[len(si)] = si.iloc[-2]
    si.loc[len(si) - 1, V.TIMESTAMP] = pd.Timestamp("2024-06-05 03:00")  # S9 broken
    si.loc[len(si) - 1, V.MEDIA_ID] = "m-late"
    bad = effort.check_sightings_effort(_with(tiny_survey, sightings=si))
    assert list(bad["row"]) == [8] and list(bad["reason"]) == ["not working"]
    with pytest.warns(
        TrapscapeWarning, match=r"row 8 \(S9/a 2024-06-05 03:00:00: not working"
    ):
        effort.effort_report(_with(tiny_survey, sightings=si))


def test_sighting_check_on_counting_station_matrix_is_the_same(tiny_survey):
    """effort_report hands its own matrices (stations may count cameras) to the
    sightings check; the verdicts must not depend on that."""
    si = tiny_survey.sightings.copy()
    si.loc[0, V.STATION_ID] = "S99"
    si.loc[1, V.TIMESTAMP] = pd.Timestamp("2024-05-20 10:00")
    si.loc[len(si)] = si.iloc[-2]
    si.loc[len(si) - 1, V.TIMESTAMP] = pd.Timestamp("2024-06-05 03:00")
    sv = _with(tiny_survey, sightings=si)
    public = effort.check_sightings_effort(sv)
    assert len(public) == 3
    cam = effort.operation_matrix(sv, by="camera")
    for count in (False, True):
        sta = effort.operation_matrix(sv, by="station", count_cameras=count)
        pd.testing.assert_frame_equal(
            effort._check_sightings_effort(sv, cam, sta), public
        )
    with pytest.warns(TrapscapeWarning, match="3 sighting"):
        effort.effort_report(sv, count_cameras=True)


def test_sighting_at_unknown_station_or_before_setup(tiny_survey):
    si = tiny_survey.sightings.copy()
    si.loc[0, V.STATION_ID] = "S99"
    si.loc[1, V.TIMESTAMP] = pd.Timestamp("2024-05-20 10:00")
    bad = effort.check_sightings_effort(_with(tiny_survey, sightings=si))
    assert dict(zip(bad["row"], bad["reason"], strict=True)) == {
        1: "unknown station",
        2: "not set up",
    }
    with pytest.warns(TrapscapeWarning, match="2 sighting"):
        r = effort.effort_report(_with(tiny_survey, sightings=si))
    assert r.total["photos"].iat[0] == 6  # the unknown station's photo is left out


def test_detection_events_independence():
    si = pd.DataFrame(
        {
            V.STATION_ID: ["S1"] * 4 + ["S2"],
            V.TIMESTAMP: pd.to_datetime(
                [
                    "2024-06-01 00:00",
                    "2024-06-01 00:10",
                    "2024-06-01 00:35",
                    "2024-06-01 02:00",
                    "2024-06-01 00:05",
                ]
            ),
            V.INDIVIDUAL_ID: pd.array(["A", "A", "A", "B", "A"], dtype="string"),
            V.SPECIES: "leopard",
        }
    )
    ev = effort.detection_events(si)
    assert list(ev) == [True, False, False, True, True]
    assert effort.detection_events(si, independence_minutes=0).all()


def test_effort_report_to_csv(tiny_survey, tmp_path):
    r = effort.effort_report(tiny_survey)
    paths = r.to_csv(tmp_path)
    assert sorted(p.name for p in paths) == [
        "effort_per_camera.csv",
        "effort_per_station.csv",
        "effort_per_zone.csv",
        "effort_total.csv",
    ]
    back = pd.read_csv(tmp_path / "effort_per_station.csv")
    assert back["trap_nights"].sum() == pytest.approx(8 * 9.5 + 7.5)


def test_camtrapr_sample_cameraoperation_semantics():
    """camtrapR's `camtraps`: half setup/retrieval days, malfunction days are 0."""
    from pathlib import Path

    from trapscape import io as tio

    path = Path(__file__).parent / "data" / "coverage" / "camtrapr_camtraps.csv"
    t = tio.read_stations(path, crs="EPSG:32650", date_format="%d/%m/%Y")
    m = effort.operation_matrix(t.stations, t.problems, by="station")
    assert m.columns[0] == pd.Timestamp("2009-04-02")
    assert m.columns[-1] == pd.Timestamp("2009-05-17")
    a, c = m.loc["StationA"], m.loc["StationC"]
    assert a[pd.Timestamp("2009-04-02")] == 0.5 and a[pd.Timestamp("2009-05-14")] == 0.5
    assert np.isnan(a[pd.Timestamp("2009-05-15")])
    assert np.isnan(c[pd.Timestamp("2009-04-03")])
    assert c[pd.Timestamp("2009-05-11")] == 1.0
    # Problem1 12/05 - 17/05: whole days 0, through the retrieval day
    assert (c[pd.Timestamp("2009-05-12") :] == 0.0).all()
    # 2 Apr 12:00 -> 14 May 12:00; 3 Apr -> 16 May; 4 Apr 12:00 -> 12 May 00:00
    np.testing.assert_allclose(m.sum(axis=1).to_numpy(), [42.0, 43.0, 37.5])
