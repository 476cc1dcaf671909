"""Table-driven suite of malformed inputs.

Each case writes small files into ``tmp_path``, runs a reader and asserts the
error class and that the message names the row and column (or the key).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from trapscape import io as tio
from trapscape.errors import CRSError, GeometryError, InputError, SchemaError
from trapscape.project import load_project

DATA = Path(__file__).parent / "data"

ST_HEAD = "station_id,camera_id,longitude,latitude,setup,retrieval"
GOOD_ST = f"""{ST_HEAD}
A,a,131.20,43.10,2024-06-01,2024-06-30
B,a,131.22,43.11,2024-06-01,2024-06-30
C,a,131.24,43.12,2024-06-01,2024-06-30
"""
SI_HEAD = "station,camera,timestamp,species,individual,sex,count"


def _st(path: Path, body: str) -> Any:
    f = path / "stations.csv"
    f.write_text(body)
    return tio.read_stations(f)


def _si(path: Path, body: str, stations: str = GOOD_ST) -> Any:
    s = path / "stations.csv"
    s.write_text(stations)
    f = path / "sightings.csv"
    f.write_text(body)
    return tio.read_sightings(f, stations=tio.read_stations(s))


def _toml(path: Path, body: str, files: dict[str, str] | None = None) -> Any:
    (path / "stations.csv").write_text(GOOD_ST)
    for name, text in (files or {}).items():
        (path / name).write_text(text)
    f = path / "survey.toml"
    f.write_text(body)
    return load_project(f)


def _bound(path: Path, geoms: list[Any], crs: Any = 32652, name: str = "b.gpkg") -> Any:
    f = path / name
    gpd.GeoDataFrame(
        {"name": [f"f{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs
    ).to_file(f)
    return tio.read_boundaries(f)


@dataclass
class Case:
    id: str
    run: Callable[[Path], Any]
    error: type[Exception]
    match: tuple[str, ...]


CASES = [
    # ---------------------------------------------------------------- stations
    Case(
        "misspelled-setup-column",
        lambda p: _st(
            p,
            "station_id,longitude,latitude,Setp_date,retrieval\n"
            "A,131.2,43.1,2024-06-01,2024-06-30\n",
        ),
        SchemaError,
        ("column 'setup'", "Did you mean 'Setp_date'"),
    ),
    Case(
        "missing-station-column",
        lambda p: _st(
            p, "longitude,latitude,setup,retrieval\n131.2,43.1,2024-06-01,2024-06-30\n"
        ),
        SchemaError,
        ("column 'station_id'", "is missing"),
    ),
    Case(
        "bad-month",
        lambda p: _st(
            p,
            GOOD_ST.replace(
                "B,a,131.22,43.11,2024-06-01", "B,a,131.22,43.11,2023-13-01"
            ),
        ),
        InputError,
        ("row 2", "column 'setup'", "'2023-13-01' is not a date", "date_format"),
    ),
    Case(
        "day-first-dates-without-format",
        lambda p: _st(p, f"{ST_HEAD}\nA,a,131.2,43.1,02/04/2009,14/05/2009\n"),
        InputError,
        ("row 1", "column 'retrieval'", "date_format='%d/%m/%Y'"),
    ),
    Case(
        "missing-retrieval-date",
        lambda p: _st(
            p,
            GOOD_ST.replace(
                "C,a,131.24,43.12,2024-06-01,2024-06-30", "C,a,131.24,43.12,2024-06-01,"
            ),
        ),
        InputError,
        ("row 3", "column 'retrieval'", "missing"),
    ),
    Case(
        "setup-after-retrieval",
        lambda p: _st(
            p,
            GOOD_ST.replace(
                "C,a,131.24,43.12,2024-06-01,2024-06-30",
                "C,a,131.24,43.12,2024-07-01,2024-06-30",
            ),
        ),
        InputError,
        ("row 3", "column 'setup'", "after retrieval"),
    ),
    Case(
        "malfunction-outside-deployment",
        lambda p: _st(
            p,
            f"{ST_HEAD},Problem1_from,Problem1_to\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,2024-06-20,2024-07-15\n",
        ),
        InputError,
        ("row 1", "column 'Problem1_to'", "after the camera was retrieved"),
    ),
    Case(
        "malfunction-before-setup",
        lambda p: _st(
            p,
            f"{ST_HEAD},Problem1_from,Problem1_to\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,2024-05-20,2024-06-03\n",
        ),
        InputError,
        ("row 1", "column 'Problem1_from'", "before the camera was set up"),
    ),
    Case(
        "malfunction-reversed",
        lambda p: _st(
            p,
            f"{ST_HEAD},problem1_from,problem1_to\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,2024-06-20,2024-06-10\n",
        ),
        InputError,
        ("row 1", "column 'problem1_from'", "reversed"),
    ),
    Case(
        "malfunction-one-end",
        lambda p: _st(
            p,
            f"{ST_HEAD},problem2_from,problem2_to\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,2024-06-20,\n",
        ),
        InputError,
        ("row 1", "column 'problem2_to'", "only one end"),
    ),
    Case(
        "duplicate-deployment-id",
        lambda p: _st(
            p,
            f"{ST_HEAD},deployment_id\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,D1\n"
            "B,a,131.3,43.2,2024-06-01,2024-06-30,D1\n",
        ),
        InputError,
        ("row 2", "column 'deployment_id'", "used twice"),
    ),
    Case(
        "camera-overlapping-deployments",
        lambda p: _st(
            p,
            f"{ST_HEAD}\nA,a,131.2,43.1,2024-06-01,2024-06-30\n"
            "A,a,131.2,43.1,2024-06-20,2024-07-30\n",
        ),
        InputError,
        ("row 2", "column 'camera_id'", "overlapping deployments"),
    ),
    Case(
        "latitude-out-of-range",
        lambda p: _st(p, f"{ST_HEAD}\nA,a,131.2,143.1,2024-06-01,2024-06-30\n"),
        InputError,
        ("row 1", "column 'latitude'", "outside -90..90"),
    ),
    Case(
        "longitude-out-of-range",
        lambda p: _st(p, f"{ST_HEAD}\nA,a,231.2,43.1,2024-06-01,2024-06-30\n"),
        InputError,
        ("row 1", "column 'longitude'", "outside -180..180"),
    ),
    Case(
        "lat-lon-swapped",
        lambda p: _st(p, GOOD_ST.replace("B,a,131.22,43.11", "B,a,43.11,131.22")),
        InputError,
        ("row 2", "column 'latitude'", "swapped"),
    ),
    Case(
        "lat-lon-swapped-relative-to-others",
        lambda p: _st(
            p,
            f"{ST_HEAD}\nA,a,44.50,40.20,2024-06-01,2024-06-30\n"
            "B,a,44.52,40.21,2024-06-01,2024-06-30\n"
            "C,a,40.22,44.53,2024-06-01,2024-06-30\n"
            "D,a,44.51,40.25,2024-06-01,2024-06-30\n",
        ),
        InputError,
        ("row 3", "column 'longitude'", "swapped"),
    ),
    Case(
        "coordinate-not-a-number",
        lambda p: _st(p, GOOD_ST.replace("131.24", "131°14'")),
        InputError,
        ("row 3", "column 'longitude'", "not a number"),
    ),
    Case(
        "coordinate-missing",
        lambda p: _st(p, GOOD_ST.replace(",43.11,", ",,")),
        InputError,
        ("row 2", "column 'latitude'", "missing"),
    ),
    Case(
        "no-coordinate-columns",
        lambda p: _st(
            p,
            "station_id,long_deg,lat_deg,setup,retrieval\n"
            "A,131.2,43.1,2024-06-01,2024-06-30\n",
        ),
        SchemaError,
        ("column 'longitude'", "no coordinate columns"),
    ),
    Case(
        "empty-station-id",
        lambda p: _st(p, GOOD_ST.replace("B,a,131.22", ",a,131.22")),
        InputError,
        ("row 2", "column 'station_id'", "empty"),
    ),
    Case("empty-file", lambda p: _st(p, ""), InputError, ("stations.csv", "empty")),
    Case(
        "header-only",
        lambda p: _st(p, ST_HEAD + "\n"),
        InputError,
        ("stations.csv", "no data rows"),
    ),
    Case(
        "xy-without-crs",
        lambda p: _st(
            p,
            "station_id,x,y,setup,retrieval\nA,500000,4760000,2024-06-01,2024-06-30\n",
        ),
        CRSError,
        ("'x'/'y'", "crs="),
    ),
    Case(
        "xy-with-geographic-crs",
        lambda p: (
            (p / "s.csv").write_text(
                "station_id,utm_x,utm_y,setup,retrieval\n"
                "A,500000,4760000,2024-06-01,2024-06-30\n"
            )
            and tio.read_stations(p / "s.csv", crs="EPSG:4326")
        ),
        CRSError,
        ("geographic", "metres", "projected"),
    ),
    Case(
        "lat-lon-swapped-relative-to-study-area",
        lambda p: _swapped_in_area(p),
        InputError,
        ("row 2", "column 'geometry'", "longitude and latitude swapped"),
    ),
    Case(
        "station-far-outside-study-area",
        lambda p: _far_station(p),
        InputError,
        ("row 3", "column 'geometry'", "outside the study area"),
    ),
    # --------------------------------------------------------------- sightings
    Case(
        "sighting-unknown-station",
        lambda p: _si(
            p,
            f"{SI_HEAD}\nA,a,2024-06-05 10:00,P. pardus,,,1\n"
            "Bb,a,2024-06-05 11:00,P. pardus,,,1\n",
        ),
        InputError,
        ("row 2", "column 'station_id'", "'Bb'", "Did you mean 'B'"),
    ),
    Case(
        "sighting-unknown-camera",
        lambda p: _si(p, f"{SI_HEAD}\nA,z,2024-06-05 10:00,P. pardus,,,1\n"),
        InputError,
        ("row 1", "column 'camera_id'", "camera 'z'"),
    ),
    Case(
        "sighting-outside-deployment",
        lambda p: _si(
            p,
            f"{SI_HEAD}\nA,a,2024-06-05 10:00,P. pardus,,,1\n"
            "A,a,2024-06-05 11:00,P. pardus,,,1\n"
            "C,a,2024-08-05 10:00,P. pardus,,,1\n",
        ),
        InputError,
        ("row 3", "column 'timestamp'", "outside every deployment"),
    ),
    Case(
        "sighting-in-malfunction",
        lambda p: _si(
            p,
            f"{SI_HEAD}\nA,a,2024-06-12 10:00,P. pardus,,,1\n",
            stations=f"{ST_HEAD},problem1_from,problem1_to\n"
            "A,a,131.2,43.1,2024-06-01,2024-06-30,2024-06-10,"
            "2024-06-15\n",
        ),
        InputError,
        ("row 1", "column 'timestamp'", "malfunction"),
    ),
    Case(
        "sighting-bad-timestamp",
        lambda p: _si(p, f"{SI_HEAD}\nA,a,2024-06-05 25:61,P. pardus,,,1\n"),
        InputError,
        ("row 1", "column 'timestamp'", "not a date"),
    ),
    Case(
        "sighting-count-zero",
        lambda p: _si(
            p,
            f"{SI_HEAD}\nA,a,2024-06-05 10:00,P. pardus,,,1\n"
            "A,a,2024-06-06 10:00,P. pardus,,,0\n",
        ),
        InputError,
        ("row 2", "column 'count'", "positive whole number"),
    ),
    Case(
        "sighting-count-fraction",
        lambda p: _si(p, f"{SI_HEAD}\nA,a,2024-06-05 10:00,P. pardus,,,1.5\n"),
        InputError,
        ("row 1", "column 'count'", "positive whole number"),
    ),
    Case(
        "sighting-bad-sex",
        lambda p: _si(p, f"{SI_HEAD}\nA,a,2024-06-05 10:00,P. pardus,L1,X,1\n"),
        InputError,
        ("row 1", "column 'sex'", "'X' is not F or M"),
    ),
    Case(
        "sighting-missing-species-column",
        lambda p: _si(p, "station,timestamp,specis\nA,2024-06-05 10:00,x\n"),
        SchemaError,
        ("column 'species'", "Did you mean 'specis'"),
    ),
    Case(
        "sighting-empty-species",
        lambda p: _si(p, f"{SI_HEAD}\nA,a,2024-06-05 10:00,,,,1\n"),
        InputError,
        ("row 1", "column 'species'", "empty"),
    ),
    # -------------------------------------------------------------- boundaries
    Case(
        "boundary-unrepairable-polygon",
        lambda p: _bound(
            p, [box(0, 0, 5, 5), Polygon([(0, 0), (5, 0), (9, 0), (0, 0)])]
        ),
        GeometryError,
        ("row 2", "column 'geometry'", "cannot be repaired"),
    ),
    Case(
        "boundary-empty-geometry",
        lambda p: _bound(p, [box(0, 0, 5, 5), None]),
        GeometryError,
        ("row 2", "column 'geometry'", "no geometry"),
    ),
    Case("boundary-without-crs", lambda p: _no_crs_boundary(p), CRSError, ("no CRS",)),
    Case(
        "boundary-empty-layer",
        lambda p: (
            (p / "e.geojson").write_text(
                '{"type": "FeatureCollection", "features": []}'
            )
            and tio.read_boundaries(p / "e.geojson")
        ),
        InputError,
        ("e.geojson", "no features"),
    ),
    Case(
        "boundary-name-field-misspelled",
        lambda p: _named_boundary(p),
        SchemaError,
        ("column 'NAME_RU'", "Did you mean 'NAME_EN'"),
    ),
    # ----------------------------------------------------------------- project
    Case(
        "toml-syntax",
        lambda p: _toml(p, "[survey]\nstations = = 'stations.csv'\n"),
        InputError,
        ("survey.toml", "not valid TOML", "line 2"),
    ),
    Case(
        "toml-missing-file",
        lambda p: _toml(
            p, "[survey]\nstations = 'stations.csv'\n[boundaries]\nzones = 'x.gpkg'\n"
        ),
        InputError,
        ("survey.toml: [boundaries] zones = 'x.gpkg': file not found", "Fix the path"),
    ),
    Case(
        "toml-wrong-type",
        lambda p: _toml(
            p, "[survey]\nstations = 'stations.csv'\n[steps]\ndensity = 'yes'\n"
        ),
        InputError,
        ("[steps] density = 'yes'", "true or false"),
    ),
    Case(
        "toml-unknown-section",
        lambda p: _toml(p, "[survey]\nstations = 'stations.csv'\n[densty]\nx = 1\n"),
        InputError,
        ("unknown section [densty]", "Did you mean [density]"),
    ),
    Case(
        "toml-survey-problems-named",
        lambda p: _toml(
            p,
            "[survey]\nstations = 'stations.csv'\nsightings = 'si.csv'\n",
            {"si.csv": f"{SI_HEAD}\nA,a,2024-09-05 10:00,P. pardus,,,1\n"},
        ),
        InputError,
        ("survey.toml", "si.csv row 1", "column 'timestamp'"),
    ),
    Case(
        "toml-literal-value",
        lambda p: _toml(
            p, "[survey]\nstations = 'stations.csv'\n[density]\nmodel = 'zones'\n"
        ),
        InputError,
        (
            "survey.toml: [density] model = 'zones'",
            "use one of 'null', 'sex', 'zone'",
            "Did you mean 'zone'",
        ),
    ),
    Case(
        "toml-boundary-4326-holding-metres",
        lambda p: _metres_boundary_project(p),
        CRSError,
        (
            "survey.toml",
            "area.gpkg row 1, column 'geometry'",
            "look like metres",
            "EPSG:32652",
        ),
    ),
    # ------------------------------------------------------- QA: input formats
    Case(
        "shapefile-problem-columns-collide",
        lambda p: _colliding_shp(p),
        SchemaError,
        ("st.shp", "'Problem12_'", "'Problem1_1'", "cannot be paired", "GeoPackage"),
    ),
    Case(
        "semicolon-header-ambiguous",
        lambda p: _st(
            p,
            "station_id;longitude;latitude;setup;retrieval;notes, misc\n"
            "A;131.2;43.1;2024-06-01;2024-06-30;x\n"
            "B;131.3;43.2;2024-06-01;2024-06-30;x;y\n",
        ),
        SchemaError,
        (
            "stations.csv",
            "uses ';' between columns",
            "Save the file as comma-separated CSV",
        ),
    ),
    Case(
        "dotted-dates-without-format",
        lambda p: _st(
            p,
            "station_id;longitude;latitude;setup;retrieval\n"
            "A;131,2;43,1;01.06.2024;30.06.2024\n",
        ),
        InputError,
        (
            "row 1",
            "column 'setup'",
            "'01.06.2024' is not a date",
            "date_format='%d.%m.%Y'",
        ),
    ),
    Case(
        "station-layer-4326-holding-metres",
        lambda p: _metres_stations(p),
        CRSError,
        (
            "st.gpkg row 1, column 'geometry'",
            "(100130.98, 43.14)",
            "look like metres",
            "set it to the projected CRS",
            "EPSG:32652",
        ),
    ),
    # ------------------------------------------------------------- Camtrap DP
    Case(
        "camtrap-dp-unknown-deployment",
        lambda p: _dp_unknown_deployment(p),
        InputError,
        ("observations.csv row 1", "column 'deploymentID'", "'nope'"),
    ),
    Case(
        "camtrap-dp-missing-field",
        lambda p: _dp_missing_start(p),
        SchemaError,
        ("deployments.csv", "column 'deploymentStart'"),
    ),
]


def _metres_stations(p: Path) -> Any:
    gpd.GeoDataFrame(
        {"station_id": ["A"], "setup": ["2024-06-01"], "retrieval": ["2024-06-30"]},
        geometry=[Point(100130.98, 43.14)],
        crs=4326,
    ).to_file(p / "st.gpkg")
    return tio.read_stations(p / "st.gpkg")


def _metres_boundary_project(p: Path) -> Any:
    gpd.GeoDataFrame(
        {"name": ["area"]}, geometry=[box(5.0e5, 4.7e6, 5.1e5, 4.71e6)], crs=4326
    ).to_file(p / "area.gpkg")
    return _toml(
        p,
        "[survey]\nstations = 'stations.csv'\n[boundaries]\nstudy_area = 'area.gpkg'\n",
    )


def _colliding_shp(p: Path) -> Any:
    import warnings

    gdf = gpd.GeoDataFrame(
        {
            "station_id": ["A"],
            "setup": ["2024-06-01"],
            "retrieval": ["2024-06-30"],
            "Problem12_from": ["2024-06-05"],
            "Problem12_to": ["2024-06-07"],
        },
        geometry=[Point(5e5, 4.76e6)],
        crs=32652,
    )
    with warnings.catch_warnings():  # GDAL: names cut to 10 characters
        warnings.simplefilter("ignore")
        gdf.to_file(p / "st.shp")
    return tio.read_stations(p / "st.shp")


def _far_station(p: Path) -> Any:
    (p / "st.csv").write_text(GOOD_ST.replace("C,a,131.24,43.12", "C,a,131.90,43.60"))
    area = gpd.GeoDataFrame(
        {"name": ["area"]}, geometry=[box(131.15, 43.05, 131.30, 43.15)], crs=4326
    )
    area.to_file(p / "area.gpkg")
    return tio.read_survey(stations=p / "st.csv", boundaries=p / "area.gpkg")


def _swapped_in_area(p: Path) -> Any:
    # a survey near the equator-ish diagonal where swapped values stay in range
    (p / "st.csv").write_text(
        f"{ST_HEAD}\nA,a,40.10,40.30,2024-06-01,2024-06-30\n"
        "B,a,40.42,40.15,2024-06-01,2024-06-30\n"
    )
    area = gpd.GeoDataFrame(
        {"name": ["area"]}, geometry=[box(40.05, 40.25, 40.2, 40.45)], crs=4326
    )
    area.to_file(p / "area.gpkg")
    return tio.read_survey(stations=p / "st.csv", boundaries=p / "area.gpkg")


def _no_crs_boundary(p: Path) -> Any:
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1, 1)]).to_file(
            p / "b.shp"
        )
    return tio.read_boundaries(p / "b.shp")


def _named_boundary(p: Path) -> Any:
    gpd.GeoDataFrame(
        {"NAME_EN": ["Russia"]}, geometry=[box(0, 0, 1, 1)], crs=32652
    ).to_file(p / "z.gpkg")
    return tio.read_boundaries(p / "z.gpkg", name_field="NAME_RU")


def _copy_dp(p: Path) -> Path:
    dst = p / "dp"
    shutil.copytree(DATA / "camtrap-dp", dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def _dp_unknown_deployment(p: Path) -> Any:
    dst = _copy_dp(p)
    lines = (dst / "observations.csv").read_text().splitlines()
    head, first = lines[0], lines[1].split(",")
    first[1] = "nope"
    (dst / "observations.csv").write_text(
        "\n".join([head, ",".join(first), *lines[2:]])
    )
    return tio.read_camtrap_dp(dst)


def _dp_missing_start(p: Path) -> Any:
    dst = _copy_dp(p)
    text = (dst / "deployments.csv").read_text().replace("deploymentStart", "start")
    (dst / "deployments.csv").write_text(text)
    return tio.read_camtrap_dp(dst)


def test_at_least_25_cases():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    with pytest.raises(case.error) as info:
        case.run(tmp_path)
    text = str(info.value)
    for fragment in case.match:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert "Traceback" not in text


def test_all_problems_reported_at_once(tmp_path):
    body = (
        f"{ST_HEAD}\nA,a,131.2,43.1,2024-13-01,2024-06-30\n"
        "B,a,131.3,43.2,2024-07-01,2024-06-30\n"
        "C,a,231.3,43.2,2024-06-01,2024-06-30\n"
    )
    with pytest.raises(InputError) as info:
        _st(tmp_path, body)
    rows = sorted(p.row for p in info.value.problems)
    assert rows == [1, 2, 3]
    assert str(info.value).startswith("3 problems found")


def test_problems_carry_location(tmp_path):
    with pytest.raises(InputError) as info:
        _st(
            tmp_path,
            GOOD_ST.replace("2024-06-01,2024-06-30\nC", "2024-07-01,2024-06-30\nC"),
        )
    err = info.value
    assert err.row == 2 and err.column == "setup"
    assert err.path is not None and err.path.endswith("stations.csv")


def test_valid_point_geometry_required(tmp_path):
    gpd.GeoDataFrame(
        {"station_id": ["A"], "setup": ["2024-06-01"], "retrieval": ["2024-06-30"]},
        geometry=[box(0, 0, 1, 1)],
        crs=32652,
    ).to_file(tmp_path / "s.gpkg")
    with pytest.raises(GeometryError, match="row 1, column 'geometry'"):
        tio.read_stations(tmp_path / "s.gpkg")


def test_point_stations_from_vector_ok(tmp_path):
    gpd.GeoDataFrame(
        {"station_id": ["A"], "setup": ["2024-06-01"], "retrieval": ["2024-06-30"]},
        geometry=[Point(5e5, 4.76e6)],
        crs=32652,
    ).to_file(tmp_path / "s.gpkg")
    assert len(tio.read_stations(tmp_path / "s.gpkg").stations) == 1


# ------------------------------------------------- inputs checked for sense
# (issue 13, item 2): each message names the file, row, column and the fix.
def _raises(exc: type[Exception], call: Callable[[], Any], *fragments: str) -> str:
    with pytest.raises(exc) as info:
        call()
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert "Traceback" not in text
    return text


def test_count_overflow_is_an_error(tmp_path):
    body = f"{SI_HEAD}\nA,a,2024-06-05 10:00,leopard,L1,F,1e20\n"
    text = _raises(
        InputError,
        lambda: _si(tmp_path, body),
        "sightings.csv row 1, column 'count'",
        "'1e20'",
        "more than 10,000 animals",
        "Give the number of animals",
    )
    assert "-9223372036854775808" not in text


def test_count_overflow_in_check_sightings(tmp_path):
    import pandas as pd

    from trapscape import validation as V

    si = pd.DataFrame(
        {
            V.STATION_ID: ["A"],
            V.TIMESTAMP: [pd.Timestamp("2024-06-05")],
            V.SPECIES: ["leopard"],
            V.COUNT: [1e20],
        }
    )
    probs = V.check_sightings(si, path="s.csv")
    assert [(p.row, p.column) for p in probs] == [(1, V.COUNT)]
    assert "not a plausible count" in probs[0].message


def test_decimal_comma_in_comma_separated_file_is_an_error(tmp_path):
    body = GOOD_ST.replace("B,a,131.22,43.11", 'B,a,"131,22",43.11')
    _raises(
        InputError,
        lambda: _st(tmp_path, body),
        "stations.csv row 2, column 'longitude'",
        "'131,22' has a decimal comma in a comma-separated file",
        "decimal point (131.22)",
    )


def test_decimal_comma_with_semicolons_is_read(tmp_path):
    body = (
        "station_id;longitude;latitude;setup;retrieval\n"
        "A;131,20;43,10;2024-06-01;2024-06-30\n"
        "B;131,22;43,11;2024-06-01;2024-06-30\n"
    )
    got = _st(tmp_path, body).stations
    assert abs(got.geometry.x.iloc[1] - 131.22) < 1e-12


def test_crs_outside_its_area_of_use_is_an_error(tmp_path):
    (tmp_path / "stations.csv").write_text(GOOD_ST)
    _raises(
        CRSError,
        lambda: tio.build_survey(stations=tmp_path / "stations.csv", crs="EPSG:32612"),
        "stations.csv row 1, column 'crs'",
        "3 of 3 locations (rows 1, 2, 3)",
        "area of use of the CRS EPSG:32612",
        "use crs = 'EPSG:32652'",
    )


def test_crs_outside_its_area_of_use_from_a_project(tmp_path):
    body = '[survey]\nstations = "stations.csv"\ncrs = "EPSG:32612"\n'
    _raises(
        CRSError, lambda: _toml(tmp_path, body), "EPSG:32612", "EPSG:32652", "row 1"
    )


def test_xy_stations_far_outside_their_crs_are_reported(tmp_path):
    f = tmp_path / "xy.csv"
    body = (
        "station_id,x,y,setup,retrieval\n"
        "A,516000,4772000,2024-06-01,2024-06-30\n"
        "B,517000,4773000,2024-06-01,2024-06-30\n"
    )
    f.write_text(body)
    assert len(tio.read_stations(f, crs="EPSG:32652").stations) == 2
    f.write_text(body.replace("A,516000", "A,5516000"))  # a digit too many
    _raises(
        CRSError,
        lambda: tio.read_stations(f, crs="EPSG:32652"),
        "xy.csv row 1, column 'crs'",
        "1 of 2 locations (rows 1)",
        "EPSG:32652",
    )


@pytest.mark.parametrize(
    ("setup", "shown"),
    [
        ("1900-01-01", "'1900-01-01'"),
        ("2099-05-01", "'2099-05-01'"),
        ("1600-06-01", "'1600-06-01'"),  # beyond pandas' nanosecond range
        ("01/06/1066", "'01/06/1066'"),
    ],
)
def test_dates_outside_the_survey_window(tmp_path, setup, shown):
    fmt = "%d/%m/%Y" if "/" in setup else None
    good = "01/06/2024" if fmt else "2024-06-01"
    body = GOOD_ST.replace("2024-06-01", good).replace("2024-06-30", good)
    body = body.replace(f"A,a,131.20,43.10,{good}", f"A,a,131.20,43.10,{setup}")
    f = tmp_path / "stations.csv"
    f.write_text(body)
    text = _raises(
        InputError,
        lambda: tio.read_stations(f, date_format=fmt),
        "stations.csv row 1, column 'setup'",
        f"date {shown} is outside the plausible survey window 1990-01-01 to",
        "date_window=",
    )
    assert "OutOfBounds" not in text


def test_far_future_retrieval_and_timestamp(tmp_path):
    body = f"{SI_HEAD}\nA,a,2300-06-05 10:00,leopard,L1,F,1\n"
    _raises(
        InputError,
        lambda: _si(tmp_path, body),
        "sightings.csv row 1, column 'timestamp'",
        "'2300-06-05 10:00' is outside the plausible survey window",
    )


def test_date_window_is_configurable(tmp_path):
    f = tmp_path / "stations.csv"
    f.write_text(GOOD_ST.replace("2024", "1985"))
    with pytest.raises(InputError, match="1985-06-01"):
        tio.read_stations(f)
    got = tio.read_stations(f, date_window=("1980-01-01", None))
    assert len(got.stations) == 3
    with pytest.raises(InputError, match="window 1986-01-01 to 2030-12-31"):
        tio.read_stations(f, date_window=("1986-01-01", "2030-12-31"))


def test_invalid_date_format_is_reported(tmp_path):
    f = tmp_path / "stations.csv"
    f.write_text(GOOD_ST)
    text = _raises(
        InputError,
        lambda: tio.read_stations(f, date_format="%Q"),
        "stations.csv column 'date_format'",
        "date_format '%Q' is not a valid strptime format",
        "'%d/%m/%Y'",
    )
    assert "bad directive" in text
    _raises(
        InputError,
        lambda: tio.read_stations(f, date_format="dd/mm/yyyy"),
        "has no % directives",
    )


def test_individual_with_both_sexes_is_an_error(tmp_path):
    body = (
        f"{SI_HEAD}\nA,a,2024-06-05 10:00,leopard,L1,F,1\n"
        "B,a,2024-06-06 10:00,leopard,L1,F,1\n"
        "C,a,2024-06-07 10:00,leopard,L1,M,1\n"
        "C,a,2024-06-07 11:00,leopard,L2,M,1\n"
    )
    _raises(
        InputError,
        lambda: _si(tmp_path, body),
        "sightings.csv row 3, column 'sex'",
        "individual 'L1' is recorded as female (F, rows 1, 2) and as male (M, rows 3)",
        "Correct the sex",
    )


def test_deployment_disagreeing_with_station_is_an_error(tmp_path):
    body = (
        "station,camera,deployment_id,timestamp,species\n"
        "A,a,A/a,2024-06-05 10:00,leopard\n"
        "B,a,A/a,2024-06-05 11:00,leopard\n"
        "C,a,Z/z,2024-06-05 12:00,leopard\n"
    )
    text = _raises(
        InputError,
        lambda: _si(tmp_path, body),
        "sightings.csv row 2, column 'deployment_id'",
        "deployment 'A/a' is at station 'A'",
        "names station 'B'",
        "Fix the station or the deployment id",
        "sightings.csv row 3, column 'deployment_id': deployment 'Z/z' is not in",
    )
    assert "row 1," not in text


def test_repeated_media_ids_are_an_error(tmp_path):
    rows = [
        f"{s},a,2024-06-0{d} 10:00,leopard,L1,F,1,IMG{d}"
        for d, s in ((1, "A"), (2, "B"), (3, "C"))
    ]
    body = f"{SI_HEAD},media_id\n" + "\n".join(rows * 5) + "\n"
    _raises(
        InputError,
        lambda: _si(tmp_path, body),
        "sightings.csv row 4, column 'media_id'",
        "12 records repeat an earlier record with the same media id",
        "rows 4 (= row 1), 5 (= row 2), 6 (= row 3), 7 (= row 1)",
        "and 2 more",
        "Remove the repeated rows",
    )


def test_repeated_records_without_media_ids_warn(tmp_path):
    from trapscape.errors import TrapscapeWarning

    body = (
        f"{SI_HEAD}\nA,a,2024-06-05 10:00,leopard,L1,F,1\n"
        "A,a,2024-06-05 10:00,leopard,L1,F,1\n"
        "A,a,2024-06-05 10:01,leopard,L1,F,1\n"
    )
    with pytest.warns(TrapscapeWarning) as rec:
        got = _si(tmp_path, body)
    assert len(got) == 3
    text = " ".join(str(w.message) for w in rec)
    assert "sightings.csv rows 2, column 'individual_id'" in text
    assert "1 records repeat an earlier record of the same individual" in text
    assert "Remove them if they are copies" in text


def test_many_bad_rows_make_a_short_message(tmp_path):
    lines = [f"A,a,2024-06-05 10:00,leopard,,,{-k}" for k in range(3000)]
    body = f"{SI_HEAD}\n" + "\n".join(lines) + "\n"
    with pytest.raises(InputError) as info:
        _si(tmp_path, body)
    assert len(info.value.problems) == 3000
    text = str(info.value)
    assert text.count("\n") < 210  # capped at MAX_LISTED lines
    assert "... and 2800 more" in text


def test_identical_bad_rows_share_a_line(tmp_path):
    lines = [f"A,a,2024-06-05 10:00,,L{k},F,1" for k in range(3000)]
    body = f"{SI_HEAD}\n" + "\n".join(lines) + "\n"
    with pytest.raises(InputError) as info:
        _si(tmp_path, body)
    text = str(info.value)
    assert text.count("\n") <= 3
    assert "rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2990 more, column 'species'" in text


def test_symlink_loop_is_reported(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    for read in (tio.read_stations, tio.read_sightings):
        _raises(
            InputError,
            lambda read=read: read(tmp_path / "a.csv"),
            "a.csv: cannot be opened",
            "Fix the path or the link",
        )


def test_fifo_is_not_read(tmp_path):
    import os

    fifo = tmp_path / "stations.csv"
    os.mkfifo(fifo)
    _raises(
        InputError,
        lambda: tio.read_stations(fifo),
        "stations.csv: is not a regular file",
        "Give the path of the data file",
    )


def test_boundary_that_is_a_csv_is_reported(tmp_path):
    (tmp_path / "stations.csv").write_text(GOOD_ST)
    _raises(
        InputError,
        lambda: tio.build_survey(
            stations=tmp_path / "stations.csv",
            boundaries={"study_area": tmp_path / "stations.csv"},
        ),
        "stations.csv: the file has no geometries",
        "Give a GeoPackage, GeoJSON, Shapefile",
    )
