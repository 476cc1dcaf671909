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
        recs.append({
            V.STATION_ID: sid, V.CAMERA_ID: cam,
            V.DEPLOYMENT_ID: r[4] if len(r) > 4 else f"{sid}/{cam}/{k}",
            V.SETUP: pd.Timestamp(s), V.RETRIEVAL: pd.Timestamp(e),
            "geometry": Point(500_000 + 1000 * k, 4_760_000),
        })
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=CRS)


def _problems(rows):
    return pd.DataFrame({
        V.DEPLOYMENT_ID: [r[0] for r in rows],
        V.PROBLEM_FROM: pd.to_datetime([r[1] for r in rows]),
        V.PROBLEM_TO: pd.to_datetime([r[2] for r in rows]),
    })


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
    st = _stations([("S1", "a", "2024-06-01 12:00", "2024-06-06 12:00", "D1"),
                    ("S2", "a", "2024-06-03 12:00", "2024-06-06 12:00", "D2")])
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
    pr = _problems([("D1", "2024-06-01 06:00", "2024-06-01 12:00"),
                    ("D1", "2024-06-01 10:00", "2024-06-01 14:00"),
                    ("D1", "2024-06-02 21:00", "2024-06-03 00:00")])
    m = effort.operation_matrix(st, pr)
    np.testing.assert_allclose(m.iloc[0].to_numpy(), [1 - 8 / 24, 1 - 3 / 24])


def test_two_cameras_at_station_count_once_or_twice():
    st = _stations([("S1", "a", "2024-06-01 00:00", "2024-06-03 00:00", "A"),
                    ("S1", "b", "2024-06-01 00:00", "2024-06-03 00:00", "B")])
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
    st = _stations([("S1", "a", "2024-06-01 00:00", "2024-06-01 12:00", "A"),
                    ("S1", "b", "2024-06-01 06:00", "2024-06-01 18:00", "B")])
    pooled = effort.operation_matrix(st, by="station")
    assert pooled.loc["S1"].iloc[0] == pytest.approx(0.75)
    counted = effort.operation_matrix(st, by="station", count_cameras=True)
    assert counted.loc["S1"].iloc[0] == pytest.approx(1.0)


def test_successive_deployments_share_a_camera_row():
    st = _stations([("S1", "a", "2024-06-01 12:00", "2024-06-03 12:00", "D1"),
                    ("S1", "a", "2024-06-05 12:00", "2024-06-06 12:00", "D2")])
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
        s = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=int(rng.integers(0, 24 * 10)))
        e = s + pd.Timedelta(hours=int(rng.integers(24 * 30, 24 * 80)))
        rows.append((f"S{j // 2}", "ab"[j % 2], s, e))
    st = _stations(rows)
    m = effort.operation_matrix(st)
    expected = (st[V.RETRIEVAL] - st[V.SETUP]).dt.total_seconds().to_numpy() / 86400
    got = m.loc[list(zip(st[V.STATION_ID], st[V.CAMERA_ID]))].sum(axis=1).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_input_not_modified(tiny_survey):
    before = tiny_survey.stations.copy()
    effort.operation_matrix(tiny_survey, by="station")
    pd.testing.assert_frame_equal(tiny_survey.stations, before)


# ------------------------------------------------------------------ bad input
def test_overlapping_deployments_of_one_camera_are_refused():
    st = _stations([("S1", "a", "2024-06-01", "2024-06-10", "D1"),
                    ("S1", "a", "2024-06-05", "2024-06-12", "D2")])
    with pytest.raises(InputError, match=r"'D1' and 'D2'.*overlap") as info:
        effort.operation_matrix(st)
    assert info.value.row == 2


def test_retrieval_before_setup_is_refused():
    st = _stations([("S1", "a", "2024-06-10", "2024-06-01", "D1")])
    with pytest.raises(InputError, match="row 1.*'D1'.*no later"):
        effort.operation_matrix(st)


def test_malfunction_of_unknown_deployment_is_refused():
    st = _stations([("S1", "a", "2024-06-01", "2024-06-10", "D1")])
    pr = _problems([("D9", "2024-06-02", "2024-06-03")])
    with pytest.raises(InputError, match="row 1.*unknown deployment 'D9'"):
        effort.operation_matrix(st, pr)


def test_malfunction_outside_deployment_warns_and_is_clipped():
    st = _stations([("S1", "a", "2024-06-01 00:00", "2024-06-03 00:00", "D1")])
    pr = _problems([("D1", "2024-06-02 12:00", "2024-06-05 00:00")])
    with pytest.warns(TrapscapeWarning, match=r"outside their deployment: row 1 \('D1'\)"):
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
