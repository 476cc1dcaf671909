"""Readers and writers of trapscape.io."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from trapscape import io as tio
from trapscape import validation as V
from trapscape.errors import CRSError, GeometryError, InputError, TrapscapeWarning

DATA = Path(__file__).parent / "data"
CAMTRAPR = DATA / "camtrapR"
CAMTRAP_DP = DATA / "camtrap-dp"


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


STATIONS_CSV = """
station,camera,longitude,latitude,setup_date,retrieval_date,habitat
L01,a,131.20,43.10,2024-06-01,2024-07-01,oak
L01,b,131.20,43.10,2024-06-01 09:30,2024-07-01 16:00:00,oak
L02,a,131.25,43.12,2024-06-02,2024-07-02,pine
"""


# ------------------------------------------------------------------ stations
def test_read_stations_lonlat_canonical(tmp_path):
    t = tio.read_stations(write(tmp_path / "s.csv", STATIONS_CSV))
    s = t.stations
    assert list(s[V.STATION_ID]) == ["L01", "L01", "L02"]
    assert list(s[V.CAMERA_ID]) == ["a", "b", "a"]
    assert list(s[V.DEPLOYMENT_ID]) == ["L01/a", "L01/b", "L02/a"]
    assert s.crs.to_epsg() == 4326
    # date-only -> 12:00, time unknown; given times kept
    assert s[V.SETUP].iloc[0] == pd.Timestamp("2024-06-01 12:00")
    assert not s[V.SETUP_TIME_KNOWN].iloc[0]
    assert s[V.SETUP].iloc[1] == pd.Timestamp("2024-06-01 09:30")
    assert s[V.SETUP_TIME_KNOWN].iloc[1]
    assert s[V.RETRIEVAL].iloc[1] == pd.Timestamp("2024-07-01 16:00")
    assert list(s["habitat"]) == ["oak", "oak", "pine"]  # extra attribute kept
    assert s.geometry.iloc[0].x == pytest.approx(131.2)
    assert len(t.problems) == 0


def test_read_stations_projected_target_crs(tmp_path):
    t = tio.read_stations(write(tmp_path / "s.csv", STATIONS_CSV), crs="EPSG:32652")
    assert t.stations.crs.to_epsg() == 32652
    assert 300_000 < t.stations.geometry.x.min() < 800_000


def test_camtrapr_stations_utm_ddmmyyyy():
    t = tio.read_stations(
        CAMTRAPR / "camtraps.csv", crs="EPSG:32650", date_format="%d/%m/%Y"
    )
    s = t.stations
    assert s.crs.to_epsg() == 32650
    assert list(s[V.STATION_ID]) == ["StationA", "StationB", "StationC"]
    assert s.geometry.x.tolist() == [526000, 523000, 525000]
    assert s.geometry.y.tolist() == [604000, 606000, 607050]
    assert s[V.SETUP].iloc[0] == pd.Timestamp("2009-04-02 12:00")
    assert s[V.RETRIEVAL].iloc[2] == pd.Timestamp("2009-05-17 12:00")
    # Problem1 12/05 -> 17/05 on StationC: from 00:00, to next-day 00:00 clipped
    # to the retrieval at 12:00 (nothing outside the deployment is removed)
    p = t.problems
    assert list(p[V.DEPLOYMENT_ID]) == ["StationC/StationC"]
    assert p[V.PROBLEM_FROM].iloc[0] == pd.Timestamp("2009-05-12 00:00")
    assert p[V.PROBLEM_TO].iloc[0] == pd.Timestamp("2009-05-17 12:00")


def test_problem_to_date_only_is_next_midnight(tmp_path):
    f = write(
        tmp_path / "s.csv",
        """
station_id,x,y,setup,retrieval,problem1_from,problem1_to,problem2_from,problem2_to
A,500000,4760000,2024-06-01,2024-06-30,2024-06-05,2024-06-06,2024-06-10 08:00,2024-06-11 18:00
""",
    )
    t = tio.read_stations(f, crs="EPSG:32652")
    p = t.problems
    assert len(p) == 2
    assert p[V.PROBLEM_FROM].iloc[0] == pd.Timestamp("2024-06-05 00:00")
    assert p[V.PROBLEM_TO].iloc[0] == pd.Timestamp("2024-06-07 00:00")
    assert p[V.PROBLEM_FROM].iloc[1] == pd.Timestamp("2024-06-10 08:00")
    assert p[V.PROBLEM_TO].iloc[1] == pd.Timestamp("2024-06-11 18:00")


def test_several_deployments_of_one_camera_get_suffixes(tmp_path):
    f = write(
        tmp_path / "s.csv",
        """
station_id,camera_id,x,y,setup,retrieval
A,c1,500000,4760000,2024-07-01,2024-07-30
A,c1,500000,4760000,2024-06-01,2024-06-20
""",
    )
    s = tio.read_stations(f, crs="EPSG:32652").stations
    assert list(s[V.DEPLOYMENT_ID]) == ["A/c1#2", "A/c1"]


def test_explicit_deployment_id_and_xy_names(tmp_path):
    f = write(
        tmp_path / "s.csv",
        """
Station,Camera,deploymentID,E,N,deploymentStart,deploymentEnd
A,1,dep-9,500000,4760000,2024-06-01T08:00:00,2024-06-20T17:00:00
""",
    )
    s = tio.read_stations(f, crs=32652, x="E", y="N").stations
    assert s[V.DEPLOYMENT_ID].iloc[0] == "dep-9"
    assert s.geometry.x.iloc[0] == 500000


@pytest.mark.parametrize(
    "suffix,driver",
    [(".gpkg", "GPKG"), (".geojson", "GeoJSON"), (".shp", "ESRI Shapefile")],
)
def test_read_stations_vector_formats(tmp_path, suffix, driver):
    gdf = gpd.GeoDataFrame(
        {
            "Station": ["A", "B"],
            "Setup": ["2024-06-01", "2024-06-02"],
            "Retrieval": ["2024-06-30", "2024-07-01"],
            "ridge": [1, 0],
        },
        geometry=[Point(500_000, 4_760_000), Point(501_000, 4_760_500)],
        crs=32652,
    )
    path = tmp_path / f"st{suffix}"
    gdf.to_file(path, driver=driver)
    s = tio.read_stations(path).stations
    assert s.crs.to_epsg() == 32652
    assert list(s[V.STATION_ID]) == ["A", "B"]
    assert s.geometry.iloc[1].x == pytest.approx(501_000)
    assert "ridge" in s.columns
    assert s[V.SETUP].iloc[0] == pd.Timestamp("2024-06-01 12:00")


def test_read_stations_does_not_modify_file(tmp_path):
    f = write(tmp_path / "s.csv", STATIONS_CSV)
    before = f.read_bytes()
    tio.read_stations(f)
    assert f.read_bytes() == before


# ------------------------------------------------------------ write/read round trip
def test_write_stations_round_trip_exact(tmp_path, tiny_survey):
    path = tmp_path / "out.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, path)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:7] == [
        V.STATION_ID,
        V.CAMERA_ID,
        V.DEPLOYMENT_ID,
        "longitude",
        "latitude",
        V.SETUP,
        V.RETRIEVAL,
    ]
    assert "problem1_from" in header and "problem1_to" in header
    back = tio.read_stations(path, crs=tiny_survey.crs)
    s0, s1 = tiny_survey.stations, back.stations
    for c in (V.STATION_ID, V.CAMERA_ID, V.DEPLOYMENT_ID, V.SETUP, V.RETRIEVAL):
        assert list(s0[c]) == list(s1[c])
    d = s0.geometry.distance(s1.geometry.set_crs(s0.crs, allow_override=True))
    assert d.max() < 1e-3
    pd.testing.assert_frame_equal(
        tiny_survey.problems.reset_index(drop=True), back.problems, check_dtype=False
    )


def test_write_stations_keeps_date_only_and_extras(tmp_path):
    t = tio.read_stations(write(tmp_path / "s.csv", STATIONS_CSV))
    out = tmp_path / "w.csv"
    tio.write_stations(t, path=out)
    text = out.read_text()
    assert "2024-06-01,2024-07-01" in text  # date-only stays date-only
    back = tio.read_stations(out)
    assert list(back.stations[V.SETUP_TIME_KNOWN]) == [False, True, False]
    assert list(back.stations["habitat"]) == ["oak", "oak", "pine"]


ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_", min_size=1, max_size=8)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.lists(
        st.tuples(
            ids,
            st.floats(130.0, 132.5),
            st.floats(42.2, 44.8),
            st.integers(0, 300),
            st.integers(1, 100 * 24 * 60),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    ),
)
def test_round_trip_property(tmp_path_factory, data):
    base = pd.Timestamp("2023-01-01")
    rows, probs = [], []
    for sid, lon, lat, day, minutes, with_problem in data:
        setup = base + pd.Timedelta(days=day, minutes=7)
        retr = setup + pd.Timedelta(minutes=minutes)
        rows.append(
            {
                V.STATION_ID: sid,
                V.CAMERA_ID: "c",
                V.DEPLOYMENT_ID: f"{sid}/c",
                V.SETUP: setup,
                V.RETRIEVAL: retr,
                V.SETUP_TIME_KNOWN: True,
                V.RETRIEVAL_TIME_KNOWN: True,
                "geometry": Point(lon, lat),
            }
        )
        if with_problem and minutes > 2:
            probs.append(
                {
                    V.DEPLOYMENT_ID: f"{sid}/c",
                    V.PROBLEM_FROM: setup + pd.Timedelta(minutes=1),
                    V.PROBLEM_TO: retr - pd.Timedelta(minutes=1),
                }
            )
    stations = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326).to_crs(32652)
    problems = pd.DataFrame(
        probs, columns=[V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]
    )
    path = tmp_path_factory.mktemp("rt") / "st.csv"
    tio.write_stations(stations, problems, path)
    back = tio.read_stations(path, crs="EPSG:32652")
    assert list(back.stations[V.DEPLOYMENT_ID]) == list(stations[V.DEPLOYMENT_ID])
    assert list(back.stations[V.SETUP]) == list(stations[V.SETUP])
    assert list(back.stations[V.RETRIEVAL]) == list(stations[V.RETRIEVAL])
    dist = back.stations.geometry.distance(stations.geometry)
    assert float(dist.max()) < 1e-3  # 1 mm
    assert len(back.problems) == len(problems)
    if len(problems):
        assert list(back.problems[V.PROBLEM_FROM]) == list(problems[V.PROBLEM_FROM])
        assert list(back.problems[V.PROBLEM_TO]) == list(problems[V.PROBLEM_TO])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lon=st.floats(126.0, 138.0), lat=st.floats(38.0, 48.0))
def test_lonlat_to_survey_crs_and_back_within_1mm(tmp_path_factory, lon, lat):
    folder = tmp_path_factory.mktemp("ll")
    src = folder / "in.csv"
    src.write_text(
        "station_id,longitude,latitude,setup,retrieval\n"
        f"A,{lon!r},{lat!r},2024-06-01,2024-06-30\n"
    )
    survey = tio.read_survey(stations=src, crs="EPSG:32652")
    assert survey.crs.to_epsg() == 32652
    out = folder / "out.csv"
    tio.write_stations(survey.stations, survey.problems, out)
    back = pd.read_csv(out)
    p0 = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(32652)
    p1 = gpd.GeoSeries([Point(back.longitude[0], back.latitude[0])], crs=4326).to_crs(
        32652
    )
    assert p0.distance(p1).iloc[0] < 1e-3


# ------------------------------------------------------------------ sightings
def test_read_sightings_camtrapr_individuals():
    st_ = tio.read_stations(
        CAMTRAPR / "camtraps.csv", crs="EPSG:32650", date_format="%d/%m/%Y"
    )
    s = tio.read_sightings(CAMTRAPR / "recordTableIndividualSample.csv", stations=st_)
    assert len(s) == 21
    assert set(s[V.SPECIES]) == {"LeopardCat"}
    assert s[V.INDIVIDUAL_ID].nunique() == 3
    assert s[V.TIMESTAMP].iloc[0] == pd.Timestamp("2009-05-07 17:11:00")
    assert s[V.MEDIA_ID].iloc[0] == "StationA__2009-05-07__17-11-00(1).JPG"
    assert (s[V.COUNT] == 1).all()
    assert s[V.DEPLOYMENT_ID].notna().all()  # resolved from station + time
    assert "Directory" in s.columns  # extra column kept


def test_read_sightings_camtrapr_edge_malfunction_warns():
    st_ = tio.read_stations(
        CAMTRAPR / "camtraps.csv", crs="EPSG:32650", date_format="%d/%m/%Y"
    )
    with pytest.warns(TrapscapeWarning, match="row 38"):
        s = tio.read_sightings(CAMTRAPR / "recordTableSample.csv", stations=st_)
    assert len(s) == 39
    assert sorted(s[V.SPECIES].unique()) == ["EGY", "MNE", "PBE", "TRA", "VTA"]


def test_read_sightings_date_and_time_columns_sex_count(tmp_path):
    f = write(
        tmp_path / "si.csv",
        """
Station,Camera,Date,Time,Species,Individual,Sex,Count,FileName
L01,a,2024-06-03,22:10:00,Panthera pardus orientalis,PPO-12,female,1,x.jpg
L01,,2024-06-04,01:00,Panthera pardus orientalis,,,2,y.jpg
L02,a,2024-06-05,03:00:00,Panthera pardus orientalis,PPO-3,M,,z.jpg
""",
    )
    stations = tio.read_stations(write(tmp_path / "s.csv", STATIONS_CSV))
    s = tio.read_sightings(f, stations=stations)
    assert list(s[V.SEX].astype(object).fillna("-")) == ["F", "-", "M"]
    assert list(s[V.COUNT]) == [1, 2, 1]
    assert s[V.INDIVIDUAL_ID].isna().tolist() == [False, True, False]
    assert s[V.TIMESTAMP].iloc[1] == pd.Timestamp("2024-06-04 01:00")
    assert list(s[V.DEPLOYMENT_ID]) == ["L01/a", "L01/a", "L02/a"]


def test_write_sightings_round_trip(tmp_path, tiny_survey):
    path = tmp_path / "si.csv"
    tio.write_sightings(tiny_survey.sightings, path)
    back = tio.read_sightings(path, stations=tiny_survey.stations)
    a, b = tiny_survey.sightings, back
    for c in (V.STATION_ID, V.TIMESTAMP, V.SPECIES, V.COUNT):
        assert list(a[c]) == list(b[c])
    assert list(a[V.INDIVIDUAL_ID].fillna("-")) == list(b[V.INDIVIDUAL_ID].fillna("-"))
    assert list(a[V.DEPLOYMENT_ID]) == list(b[V.DEPLOYMENT_ID])


# ------------------------------------------------------------------ Camtrap DP
def test_read_camtrap_dp_folder_and_json():
    s1 = tio.read_camtrap_dp(CAMTRAP_DP)
    s2 = tio.read_camtrap_dp(CAMTRAP_DP / "datapackage.json")
    assert len(s1.stations) == len(s2.stations) == 4
    st_ = s1.stations
    assert set(st_[V.STATION_ID]) == {"e254a13c", "2df5259b", "ff1535c0", "ce943ced"}
    assert set(st_[V.CAMERA_ID]) == {"320", "250", "303", "315"}
    assert s1.crs.to_epsg() == 32631  # Belgium: UTM 31N
    # local (deployment offset) naive times
    row = st_[st_[V.DEPLOYMENT_ID] == "00a2c20d"].iloc[0]
    assert row[V.SETUP] == pd.Timestamp("2020-05-30 04:57:37")
    assert row[V.RETRIEVAL] == pd.Timestamp("2020-07-01 11:41:41")


def test_camtrap_dp_event_level_no_double_counting():
    s = tio.read_camtrap_dp(CAMTRAP_DP)
    obs = pd.read_csv(CAMTRAP_DP / "observations.csv")
    ev = obs[(obs.observationLevel == "event") & (obs.observationType == "animal")]
    assert len(s.sightings) == len(ev)  # media-level rows of the same events dropped
    assert set(s.sightings["observation_level"]) == {"event"}
    # the first event: 2020-05-30T02:57:37Z -> +02:00 local
    first = s.sightings.sort_values(V.TIMESTAMP).iloc[0]
    assert first[V.TIMESTAMP] == pd.Timestamp("2020-05-30 04:57:37")
    assert first[V.SEX] == "F"


def test_camtrap_dp_media_level_when_no_events(tmp_path):
    pkg = tmp_path / "dp"
    shutil.copytree(CAMTRAP_DP, pkg)
    for f in pkg.iterdir():
        f.chmod(0o644)
    obs = pd.read_csv(pkg / "observations.csv", dtype=str, keep_default_na=False)
    media_only = obs[obs.observationLevel == "media"]
    media_only.to_csv(pkg / "observations.csv", index=False)
    s = tio.read_camtrap_dp(pkg, crs="EPSG:32631")
    assert len(s.sightings) == int((media_only.observationType == "animal").sum())
    assert s.sightings[V.MEDIA_ID].notna().all()


def test_camtrap_dp_split_deployments_are_gaps(tmp_path):
    pkg = tmp_path / "dp"
    shutil.copytree(CAMTRAP_DP, pkg)
    for f in pkg.iterdir():
        f.chmod(0o644)
    dep = pd.read_csv(pkg / "deployments.csv", dtype=str, keep_default_na=False)
    extra = dep.iloc[[0]].copy()
    extra["deploymentID"] = "later01"
    extra["deploymentStart"] = "2020-08-01T10:00:00+02:00"
    extra["deploymentEnd"] = "2020-08-20T10:00:00+02:00"
    pd.concat([dep, extra]).to_csv(pkg / "deployments.csv", index=False)
    s = tio.read_camtrap_dp(pkg)
    same = s.stations[s.stations[V.STATION_ID] == "e254a13c"]
    assert len(same) == 2 and same[V.CAMERA_ID].nunique() == 1


# ------------------------------------------------------------------ boundaries
def test_read_boundaries_name_field_and_repair(tmp_path):
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    gdf = gpd.GeoDataFrame(
        {"NAME_EN": ["Russia", "China"]}, geometry=[box(0, 0, 5, 5), bowtie], crs=32652
    )
    path = tmp_path / "zones.gpkg"
    gdf.to_file(path)
    with pytest.warns(TrapscapeWarning, match="row 2.*China.*Self-intersection"):
        z = tio.read_boundaries(path, name_field="NAME_EN")
    assert list(z[V.NAME]) == ["Russia", "China"]
    assert z.geometry.is_valid.all()
    assert z.geometry.iloc[1].area == pytest.approx(50.0)


def test_read_boundaries_unrepairable_rejected(tmp_path):
    flat = Polygon([(0, 0), (10, 0), (20, 0), (0, 0)])
    gdf = gpd.GeoDataFrame(
        {"name": ["ok", "flat"]}, geometry=[box(0, 0, 5, 5), flat], crs=32652
    )
    path = tmp_path / "b.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(GeometryError, match="row 2"):
        tio.read_boundaries(path)


def test_read_survey_combined_boundaries_by_kind(tmp_path, tiny_survey):
    st_path = tmp_path / "st.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st_path)
    si_path = tmp_path / "si.csv"
    tio.write_sightings(tiny_survey.sightings, si_path)
    layers = []
    for kind in ("study_area", "zones", "border"):
        g = getattr(tiny_survey, kind).copy()
        g["kind"] = kind
        layers.append(g)
    combined = pd.concat(layers, ignore_index=True)
    bpath = tmp_path / "b.gpkg"
    gpd.GeoDataFrame(combined, geometry="geometry", crs=tiny_survey.crs).to_file(bpath)
    s = tio.read_survey(stations=st_path, sightings=si_path, boundaries=bpath)
    assert s.crs.to_epsg() == 32652  # UTM zone of the data
    assert len(s.zones) == 2 and len(s.border) == 1 and len(s.study_area) == 1
    assert s.summary()["sightings"] == 7
    assert s.summary()["individuals"] == 2


def test_read_survey_reprojects_every_layer(tmp_path, tiny_survey):
    st_path = tmp_path / "st.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st_path)
    area = tiny_survey.study_area.to_crs(4326)
    apath = tmp_path / "area.geojson"
    area.to_file(apath, driver="GeoJSON")
    s = tio.read_survey(stations=st_path, boundaries=apath, crs="EPSG:3857")
    assert s.crs.to_epsg() == 3857
    assert s.study_area.crs.to_epsg() == 3857 and s.stations.crs.to_epsg() == 3857


def test_read_survey_refuses_geographic_crs(tmp_path, tiny_survey):
    st_path = tmp_path / "st.csv"
    tio.write_stations(tiny_survey.stations, tiny_survey.problems, st_path)
    with pytest.raises(CRSError, match="geographic"):
        tio.read_survey(stations=st_path, crs="EPSG:4326")


def test_read_survey_camtrap_dp():
    s = tio.read_survey(CAMTRAP_DP)
    assert s.summary()["stations"] == 4


def test_read_survey_collects_problems_of_all_files(tmp_path):
    st_path = write(
        tmp_path / "st.csv",
        """
station_id,longitude,latitude,setup,retrieval
A,131.2,43.1,2024-06-10,2024-06-01
B,131.3,43.2,2024-06-01,2024-06-30
""",
    )
    si_path = write(
        tmp_path / "si.csv",
        """
station,timestamp,species
B,2024-06-05 10:00,Panthera pardus
Q,2024-06-05 10:00,Panthera pardus
""",
    )
    with pytest.raises(InputError) as err:
        tio.read_survey(stations=st_path, sightings=si_path)
    text = str(err.value)
    assert "st.csv row 1" in text and "si.csv row 2" in text
    assert len(err.value.problems) == 2


def test_stations_table_is_frozen(tmp_path):
    t = tio.read_stations(write(tmp_path / "s.csv", STATIONS_CSV))
    with pytest.raises(AttributeError):
        t.stations = None  # type: ignore[misc]


def test_datapackage_with_url_resource_is_rejected(tmp_path):
    pkg = {
        "name": "x",
        "resources": [{"name": "deployments", "path": "https://example.org/d.csv"}],
    }
    (tmp_path / "datapackage.json").write_text(json.dumps(pkg))
    with pytest.raises(InputError, match="URL"):
        tio.read_camtrap_dp(tmp_path)


def test_border_lines_accepted(tmp_path):
    g = gpd.GeoDataFrame(
        {"name": ["CN-RU"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326
    )
    p = tmp_path / "border.geojson"
    g.to_file(p, driver="GeoJSON")
    b = tio.read_boundaries(p)
    assert b.geometry.iloc[0].geom_type == "LineString"
    assert np.isclose(b.geometry.iloc[0].length, np.sqrt(2))


def test_vector_datetime_fields(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "station_id": ["A", "B"],
            "setup": pd.to_datetime(["2024-06-01 08:00", "2024-06-02 09:30"]),
            "retrieval": pd.to_datetime(["2024-06-30", "2024-07-01"]),
        },
        geometry=[Point(5e5, 4.76e6), Point(5.01e5, 4.76e6)],
        crs=32652,
    )
    gdf.to_file(tmp_path / "dt.gpkg")
    s = tio.read_stations(tmp_path / "dt.gpkg").stations
    assert s[V.SETUP].iloc[1] == pd.Timestamp("2024-06-02 09:30")
    assert s[V.SETUP_TIME_KNOWN].all()
    # a datetime column holding only midnights is read as dates (12:00)
    assert s[V.RETRIEVAL].iloc[0] == pd.Timestamp("2024-06-30 12:00")
    assert not s[V.RETRIEVAL_TIME_KNOWN].any()


def test_repair_warning_points_at_caller(tmp_path):
    bow = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[bow], crs=32652).to_file(
        tmp_path / "b.gpkg"
    )
    with pytest.warns(TrapscapeWarning) as rec:
        tio.read_boundaries(tmp_path / "b.gpkg")
    assert rec[0].filename == __file__


def test_sightings_header_only_is_no_detections(tmp_path):
    f = write(tmp_path / "si.csv", "station_id,timestamp,species")
    s = tio.read_sightings(f)
    assert len(s) == 0
    assert {V.STATION_ID, V.TIMESTAMP, V.SPECIES, V.COUNT} <= set(s.columns)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ring=st.lists(
        st.tuples(st.integers(0, 10), st.integers(0, 10)), min_size=4, max_size=8
    )
)
def test_boundary_repair_property(tmp_path_factory, ring):
    """Any polygon either comes back valid and polygonal, or is rejected by row."""
    import warnings

    poly = Polygon(ring)
    path = tmp_path_factory.mktemp("b") / "b.gpkg"
    gpd.GeoDataFrame({"name": ["p"]}, geometry=[poly], crs=32652).to_file(path)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            out = tio.read_boundaries(path)
        except GeometryError as err:
            assert "row 1" in str(err)
            return
    g = out.geometry.iloc[0]
    assert g.is_valid and not g.is_empty
    assert g.geom_type in ("Polygon", "MultiPolygon")
    if poly.is_valid:
        assert not rec and g.equals(poly)
    else:
        assert any(issubclass(w.category, TrapscapeWarning) for w in rec)


def test_sightings_by_camera_only(tmp_path):
    stations = tio.read_stations(
        write(
            tmp_path / "s.csv",
            """
station_id,camera_id,longitude,latitude,setup,retrieval
L01,C-11,131.20,43.10,2024-06-01,2024-07-01
L02,C-12,131.25,43.12,2024-06-02,2024-07-02
""",
        )
    )
    f = write(
        tmp_path / "si.csv",
        """
camera,timestamp,species
C-12,2024-06-10 03:00,Panthera pardus orientalis
C-11,2024-06-11 04:00,Panthera pardus orientalis
""",
    )
    s = tio.read_sightings(f, stations=stations)
    assert list(s[V.STATION_ID]) == ["L02", "L01"]
    assert list(s[V.DEPLOYMENT_ID]) == ["L02/C-12", "L01/C-11"]
    bad = write(tmp_path / "si2.csv", "camera,timestamp,species\nC-99,2024-06-10,x\n")
    with pytest.raises(InputError, match="row 1, column 'camera'"):
        tio.read_sightings(bad, stations=stations)


def test_lonlat_preferred_over_extra_xy(tmp_path):
    f = write(
        tmp_path / "s.csv",
        """
station_id,longitude,latitude,x,y,setup,retrieval
A,131.2,43.1,1,2,2024-06-01,2024-06-30
""",
    )
    s = tio.read_stations(f, crs="EPSG:32652").stations
    assert s.crs.to_epsg() == 32652 and s.geometry.x.iloc[0] > 1000
    assert list(s["x"]) == ["1"]  # kept as an attribute
    s2 = tio.read_stations(f, crs="EPSG:32652", x="x", y="y").stations
    assert s2.geometry.x.iloc[0] == 1


def test_shapefile_truncated_camtrapr_names(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"Station": ["A"], "Setup_date": ["2024-06-01"], "Retrieval_": ["2024-06-30"]},
        geometry=[Point(5e5, 4.76e6)],
        crs=32652,
    )
    gdf.to_file(tmp_path / "st.shp")
    s = tio.read_stations(tmp_path / "st.shp").stations
    assert s[V.RETRIEVAL].iloc[0] == pd.Timestamp("2024-06-30 12:00")


def test_kind_column_that_is_not_boundary_kinds(tmp_path):
    g = gpd.GeoDataFrame(
        {"name": ["NP", "Reserve"], "kind": ["national park", "nature reserve"]},
        geometry=[box(0, 0, 1, 1), box(1, 1, 2, 2)],
        crs=32652,
    )
    assert list(tio.split_boundaries(g)) == ["study_area"]
    g.loc[1, "kind"] = "zones"
    with pytest.raises(InputError, match="row 1, column 'kind'"):
        tio.split_boundaries(g)


def test_bad_coordinates_do_not_hide_other_problems(tmp_path):
    st_path = write(
        tmp_path / "st.csv",
        """
station_id,longitude,latitude,setup,retrieval
A,131.2,143.1,2024-06-01,2024-06-30
B,131.3,,2024-06-01,2024-06-30
C,131.3,43.2,2024-06-01,2024-06-30
""",
    )
    si_path = write(
        tmp_path / "si.csv",
        "station,timestamp,species\nA,2024-06-05 10:00,x\nD,2024-06-05,x\n",
    )
    with pytest.raises(InputError) as info:
        tio.read_survey(stations=st_path, sightings=si_path)
    where = {(Path(p.path).name, p.row, p.column) for p in info.value.problems}
    assert where == {
        ("st.csv", 1, "latitude"),
        ("st.csv", 2, "latitude"),
        ("si.csv", 2, "station_id"),
    }


def test_vector_station_without_geometry_in_survey(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "station_id": ["A", "B"],
            "setup": ["2024-06-01"] * 2,
            "retrieval": ["2024-06-30"] * 2,
        },
        geometry=[Point(5e5, 4.76e6), None],
        crs=32652,
    )
    gdf.to_file(tmp_path / "s.gpkg")
    with pytest.raises(GeometryError, match="row 2, column 'geometry'"):
        tio.read_survey(stations=tmp_path / "s.gpkg")


# ---------------------------------------------------------------------------
# QA round: Shapefile-truncated malfunction columns, Excel CSVs
# ---------------------------------------------------------------------------
def _to_shp(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a Shapefile, accepting GDAL's warnings about 10-character names."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdf.to_file(path)
    return path


SHP_STATIONS = gpd.GeoDataFrame(
    {
        "station_id": ["A", "B"],
        "camera_id": ["a", "a"],
        "setup_date": ["2024-06-01", "2024-06-01"],
        "retrieval_date": ["2024-06-30", "2024-06-30"],
        "Problem1_from": ["2024-06-05", ""],
        "Problem1_to": ["2024-06-07", ""],
        "problem2_from": ["2024-06-20", ""],
        "problem2_to": ["2024-06-21", ""],
    },
    geometry=[Point(5.0e5, 4.76e6), Point(5.02e5, 4.76e6)],
    crs=32652,
)


def test_shapefile_truncated_problem_columns_are_read(tmp_path):
    f = _to_shp(SHP_STATIONS, tmp_path / "st.shp")
    cols = set(gpd.read_file(f).columns)
    # what Shapefile makes of the names (the bug: these were ignored)
    assert {
        "Problem1_f",
        "Problem1_t",
        "problem2_f",
        "problem2_t",
        "setup_date",
        "retrieval_",
    } <= cols
    t = tio.read_stations(f)
    pr = t.problems.sort_values(V.PROBLEM_FROM).reset_index(drop=True)
    # by hand: A has 5-7 June (date-only 'to' -> 00:00 of the 8th) and 20-21 June
    assert list(pr[V.DEPLOYMENT_ID]) == ["A/a", "A/a"]
    assert list(pr[V.PROBLEM_FROM]) == [
        pd.Timestamp("2024-06-05"),
        pd.Timestamp("2024-06-20"),
    ]
    assert list(pr[V.PROBLEM_TO]) == [
        pd.Timestamp("2024-06-08"),
        pd.Timestamp("2024-06-22"),
    ]
    assert t.stations[V.RETRIEVAL].iloc[0] == pd.Timestamp("2024-06-30 12:00")


def test_bundled_stations_shapefile_round_trip_keeps_problems(tmp_path):
    from trapscape import datasets

    src = datasets.get_path("example_stations")
    a = tio.read_stations(src)
    assert len(a.problems) > 0
    g = pd.read_csv(src, dtype=str, keep_default_na=False)
    gdf = gpd.GeoDataFrame(
        g.drop(columns=["longitude", "latitude"]),
        geometry=gpd.points_from_xy(
            g["longitude"].astype(float), g["latitude"].astype(float)
        ),
        crs=4326,
    )
    b = tio.read_stations(_to_shp(gdf, tmp_path / "st.shp"))
    key = [V.DEPLOYMENT_ID, V.PROBLEM_FROM]
    pa = a.problems.sort_values(key).reset_index(drop=True)
    pb = b.problems.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(pa, pb)


def test_unpairable_problem_columns_are_reported(tmp_path):
    gdf = SHP_STATIONS.assign(
        Problem12_from=["2024-06-10", ""], Problem12_to=["2024-06-11", ""]
    )
    f = _to_shp(gdf, tmp_path / "st.shp")
    # GDAL: 'Problem12_from' -> 'Problem12_', 'Problem12_to' -> 'Problem1_1'
    assert {"Problem12_", "Problem1_1"} <= set(gpd.read_file(f).columns)
    with pytest.raises(InputError) as info:
        tio.read_stations(f)
    msg = str(info.value)
    assert "st.shp" in msg and "'Problem12_'" in msg and "'Problem1_1'" in msg
    assert "cannot be paired" in msg and "GeoPackage" in msg


def test_problem_column_without_partner_is_reported(tmp_path):
    f = write(
        tmp_path / "s.csv",
        """
station_id,longitude,latitude,setup,retrieval,problem1_f
A,131.2,43.1,2024-06-01,2024-06-30,2024-06-05
""",
    )
    with pytest.raises(
        InputError,
        match=r"column 'problem1_f' has no partner "
        r"'Problem1_to'",
    ):
        tio.read_stations(f)


EXCEL_CSV = (
    "\ufeffstation_id;camera_id;longitude;latitude;setup;retrieval;elev\r\n"
    "A;a;131,20;43,10;01.06.2024;30.06.2024;120,5\r\n"
    "B;a;131,22;43,11;01.06.2024;30.06.2024;130\r\n"
)


def test_excel_semicolon_csv_with_decimal_commas(tmp_path):
    f = tmp_path / "st.csv"
    f.write_bytes(EXCEL_CSV.encode("utf-8"))
    t = tio.read_stations(f, date_format="%d.%m.%Y")
    s = t.stations
    assert list(s[V.STATION_ID]) == ["A", "B"]
    assert s.geometry.x.tolist() == [131.20, 131.22]
    assert s.geometry.y.tolist() == [43.10, 43.11]
    assert s[V.SETUP].iloc[0] == pd.Timestamp("2024-06-01 12:00")
    assert list(s["elev"]) == ["120.5", "130"]  # decimal comma -> point


def test_dotted_dates_suggest_date_format(tmp_path):
    f = tmp_path / "st.csv"
    f.write_bytes(EXCEL_CSV.encode("utf-8"))
    with pytest.raises(InputError) as info:
        tio.read_stations(f)
    p = info.value.problems[0]
    assert (p.row, p.column) == (1, "setup")
    assert "'01.06.2024' is not a date" in p.message
    assert "date_format='%d.%m.%Y'" in p.message


def test_sightings_tab_separated(tmp_path):
    st = write(tmp_path / "st.csv", STATIONS_CSV)
    si = tmp_path / "si.tsv"
    si.write_text(
        "station\tcamera\ttimestamp\tspecies\n"
        "L01\ta\t2024-06-10 03:00\tPanthera pardus\n"
    )
    out = tio.read_sightings(si, stations=tio.read_stations(st))
    assert list(out[V.SPECIES]) == ["Panthera pardus"]


def test_inconsistent_semicolon_header_says_how_to_fix(tmp_path):
    # header with ';' and ',', and rows that disagree: detection cannot decide
    f = tmp_path / "st.csv"
    f.write_text(
        "station_id;longitude;latitude;setup;retrieval;remarks, notes\n"
        "A;131.2;43.1;2024-06-01;2024-06-30;ok\n"
        "B;131.3;43.2;2024-06-01;2024-06-30;ok;extra\n"
    )
    with pytest.raises(InputError) as info:
        tio.read_stations(f)
    msg = str(info.value)
    assert "st.csv" in msg and "uses ';' between columns" in msg
    assert "Save the file as comma-separated CSV" in msg
    assert "required column 'station_id' is missing" not in msg


def test_geographic_layer_holding_metres_names_file_row_and_fix(tmp_path):
    gpd.GeoDataFrame(
        {
            "station_id": ["A", "B"],
            "setup": ["2024-06-01"] * 2,
            "retrieval": ["2024-06-30"] * 2,
        },
        geometry=[Point(131.2, 43.1), Point(100130.98, 43.14)],
        crs=4326,
    ).to_file(tmp_path / "st.gpkg")
    with pytest.raises(CRSError) as info:
        tio.read_stations(tmp_path / "st.gpkg")
    msg = str(info.value)
    assert "st.gpkg row 2, column 'geometry'" in msg
    assert "look like metres" in msg and "EPSG:32652" in msg


def test_geographic_boundary_holding_metres_is_reported(tmp_path):
    gpd.GeoDataFrame(
        {"name": ["park"]}, geometry=[box(5.0e5, 4.7e6, 5.1e5, 4.71e6)], crs=4326
    ).to_file(tmp_path / "park.gpkg")
    with pytest.raises(CRSError) as info:
        tio.read_boundaries(tmp_path / "park.gpkg")
    msg = str(info.value)
    assert "park.gpkg row 1" in msg and "outside -180..180" in msg
    assert "CRS is probably wrong" in msg and "EPSG:32652" in msg


def test_shapefile_truncated_deployment_id_is_kept(tmp_path):
    gdf = SHP_STATIONS.assign(deployment_id=["dep-1", "dep-2"])
    f = _to_shp(gdf, tmp_path / "st.shp")
    assert "deployment" in gpd.read_file(f).columns  # 'deployment_id' cut to 10
    t = tio.read_stations(f)
    assert list(t.stations[V.DEPLOYMENT_ID]) == ["dep-1", "dep-2"]
    assert set(t.problems[V.DEPLOYMENT_ID]) == {"dep-1"}


def test_survey_crs_of_in_memory_metres_layer_says_the_fix():
    from trapscape.crs import survey_crs

    g = gpd.GeoDataFrame(geometry=[Point(100130.98, 43.14)], crs=4326)
    with pytest.raises(
        CRSError,
        match=r"\(100130\.98, 43\.14\) is not a longitude/"
        r"latitude position.*CRS is probably wrong.*"
        r"EPSG:32652",
    ):
        survey_crs(g)


def test_io_package_keeps_every_public_name():
    from trapscape.io import boundaries, camtrap_dp, sightings, stations, survey

    owners = {
        "read_stations": stations,
        "write_stations": stations,
        "StationsTable": stations,
        "read_sightings": sightings,
        "write_sightings": sightings,
        "read_boundaries": boundaries,
        "split_boundaries": boundaries,
        "read_camtrap_dp": camtrap_dp,
        "write_camtrap_dp": camtrap_dp,
        "read_survey": survey,
        "build_survey": survey,
        "add_boundaries": survey,
    }
    assert sorted(tio.__all__) == sorted(owners)
    for name, module in owners.items():
        assert getattr(tio, name) is getattr(module, name)
        assert name in module.__all__


def test_importing_io_loads_no_higher_layer():
    import subprocess
    import sys

    code = (
        "import sys, trapscape.io; "
        "print(sorted(m for m in sys.modules if m in "
        "('trapscape.project', 'trapscape.pipeline', 'trapscape.cli')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
