"""Camtrap DP packages: containment of resource paths and descriptor safety.

No path may lead outside a package: ``..``, absolute paths, links leading
out and URLs are refused before anything is opened, and the content of a
file outside the package never appears in a message.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from trapscape import io as tio
from trapscape.errors import InputError
from trapscape.io import camtrap_dp

DATA = Path(__file__).parent / "data" / "camtrap-dp"
SECRET = "SENTINEL-7f3a-do-not-print"


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    shutil.copytree(DATA, pkg)
    for f in pkg.iterdir():
        f.chmod(0o644)
    return pkg


def _sentinel(tmp_path: Path) -> Path:
    """A file outside the package that would be read as valid deployments."""
    outside = tmp_path / "outside"
    outside.mkdir()
    text = (DATA / "deployments.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[0], SECRET, 1)
    sentinel = outside / "deployments.csv"
    sentinel.write_text("\n".join(lines) + "\n", encoding="utf-8")
    old = time.time() - 3 * 86400  # older than ctime: relatime updates it on read
    os.utime(sentinel, (old, sentinel.stat().st_mtime))
    return sentinel


def _set_path(pkg: Path, name: str, path: Any) -> None:
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    for res in desc["resources"]:
        if res["name"] == name:
            res["path"] = path
    (pkg / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path opened through open/io.open/os.open while the test runs."""
    seen: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            seen.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(os.path.realpath(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return seen


def _atime_honoured(tmp_path: Path) -> bool:
    """Whether reading a file updates its access time on this filesystem."""
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    old = time.time() - 3 * 86400
    os.utime(probe, (old, probe.stat().st_mtime))
    before = probe.stat().st_atime
    probe.read_text()
    return probe.stat().st_atime != before


def _escape_relative(pkg: Path, sentinel: Path) -> None:
    _set_path(pkg, "deployments", "../outside/deployments.csv")


def _escape_nested(pkg: Path, sentinel: Path) -> None:
    _set_path(pkg, "deployments", "data/../../outside/deployments.csv")


def _escape_backslash(pkg: Path, sentinel: Path) -> None:
    _set_path(pkg, "deployments", "..\\outside\\deployments.csv")


def _escape_absolute(pkg: Path, sentinel: Path) -> None:
    _set_path(pkg, "deployments", str(sentinel))


def _escape_file_link(pkg: Path, sentinel: Path) -> None:
    (pkg / "deployments.csv").unlink()
    (pkg / "deployments.csv").symlink_to(sentinel)


def _escape_folder_link(pkg: Path, sentinel: Path) -> None:
    (pkg / "tables").symlink_to(sentinel.parent, target_is_directory=True)
    _set_path(pkg, "deployments", "tables/deployments.csv")


def _escape_in_list(pkg: Path, sentinel: Path) -> None:
    _set_path(pkg, "deployments", ["deployments.csv", "../outside/deployments.csv"])


ESCAPES = {
    "dotdot": (_escape_relative, "climbs out of the package"),
    "dotdot-nested": (_escape_nested, "climbs out of the package"),
    "dotdot-backslash": (_escape_backslash, "climbs out of the package"),
    "absolute": (_escape_absolute, "is absolute"),
    "symlinked-file": (_escape_file_link, "link leading outside the package"),
    "symlinked-folder": (_escape_folder_link, "link leading outside the package"),
    "second-of-list": (_escape_in_list, "climbs out of the package"),
}


@pytest.mark.parametrize("case", list(ESCAPES))
def test_paths_leading_out_are_refused_unread(
    case: str, tmp_path: Path, opened: list[str]
) -> None:
    honoured = _atime_honoured(tmp_path)
    pkg = _package(tmp_path)
    sentinel = _sentinel(tmp_path)
    atime = sentinel.stat().st_atime
    make, why = ESCAPES[case]
    make(pkg, sentinel)
    opened.clear()  # setting up wrote the sentinel; reading must not open it
    with pytest.raises(InputError) as err:
        tio.read_camtrap_dp(pkg)
    text = str(err.value)
    assert why in text
    assert "datapackage.json" in text and "resource 'deployments'" in text
    assert SECRET not in text
    assert opened  # the spy works: the descriptor was opened
    assert os.path.realpath(sentinel) not in opened
    assert not honoured or sentinel.stat().st_atime == atime


@pytest.mark.parametrize(
    "url", ["https://example.org/deployments.csv", "ftp://x/d.csv", "file:///etc/x"]
)
def test_urls_are_refused(url: str, tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _set_path(pkg, "observations", url)
    with pytest.raises(InputError, match=r"is a URL.*downloads nothing") as err:
        tio.read_camtrap_dp(pkg)
    assert "resource 'observations'" in str(err.value)


def test_link_inside_the_package_is_followed(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    (pkg / "tables").mkdir()
    shutil.move(pkg / "deployments.csv", pkg / "tables" / "deployments.csv")
    (pkg / "deployments.csv").symlink_to(pkg / "tables" / "deployments.csv")
    assert len(tio.read_camtrap_dp(pkg).stations) == 4


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("[]", "JSON list, not an object"),
        ('"deployments.csv"', "JSON str, not an object"),
        ("3", "JSON int, not an object"),
        ("null", "JSON NoneType, not an object"),
        ('{"resources": {"name": "deployments"}}', "'resources' must be a list"),
        ('{"resources": ["deployments.csv"]}', "'resources' must be a list"),
        ("{" * 10 + "}" * 10, "not valid JSON"),
        ('{"a":' * 100 + "1" + "}" * 100, "nests JSON 100 levels deep"),
        ("[" * 200_000 + "]" * 200_000, "nests JSON 200000 levels deep"),
    ],
)
def test_bad_descriptors_are_errors(content: str, match: str, tmp_path: Path) -> None:
    (tmp_path / "datapackage.json").write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as err:
        tio.read_camtrap_dp(tmp_path)
    assert err.value.path == str(tmp_path / "datapackage.json")


def test_descriptor_size_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = _package(tmp_path)
    monkeypatch.setattr(camtrap_dp, "MAX_DESCRIPTOR_BYTES", 1000)
    with pytest.raises(InputError, match="a descriptor is at most 1,000 bytes"):
        tio.read_camtrap_dp(pkg)


def test_depth_ignores_brackets_in_strings() -> None:
    assert camtrap_dp._json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "]]"}]}') == 3


def test_resource_path_problem_accepts_plain_names(tmp_path: Path) -> None:
    assert camtrap_dp.resource_path_problem(tmp_path, "deployments.csv") is None
    assert camtrap_dp.resource_path_problem(tmp_path, "data/media.csv") is None
    assert camtrap_dp.resource_path_problem(tmp_path, "x..y.csv") is None
    assert "not a file name" in str(camtrap_dp.resource_path_problem(tmp_path, 3))
    nul = camtrap_dp.resource_path_problem(tmp_path, "a\x00b.csv")
    assert "not a file name" in str(nul)


# ------------------------------------------------------- the standard, rule by rule
def _edit(pkg: Path, table: str, row: int, col: str, value: str) -> None:
    """Set one cell (1-based data row) of a table."""
    import pandas as pd

    path = pkg / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, col] = value
    frame.to_csv(path, index=False)


def _rename(pkg: Path, table: str, old: str, new: str | None) -> None:
    import pandas as pd

    path = pkg / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.drop(columns=old) if new is None else frame.rename(columns={old: new})
    frame.to_csv(path, index=False)


def _descriptor(pkg: Path, change: Any) -> None:
    path = pkg / "datapackage.json"
    desc = json.loads(path.read_text(encoding="utf-8"))
    change(desc)
    path.write_text(json.dumps(desc), encoding="utf-8")


def _blank_row() -> int:
    """1-based row of the first blank observation of the example."""
    import pandas as pd

    obs = pd.read_csv(DATA / "observations.csv", dtype=str, keep_default_na=False)
    return int((obs["observationType"] == "blank").to_numpy().argmax()) + 1


# id: (change, file, row, column, text in the message)
RULES: dict[str, tuple[Any, str, int | None, str | None, str]] = {
    "deployment-id-repeated": (
        lambda p: _edit(p, "deployments", 2, "deploymentID", "00a2c20d"),
        "deployments.csv",
        2,
        "deploymentID",
        "is repeated (first in row 1)",
    ),
    "latitude-above-90": (
        lambda p: _edit(p, "deployments", 3, "latitude", "95"),
        "deployments.csv",
        3,
        "latitude",
        "above the maximum 90",
    ),
    "latitude-not-a-number": (
        lambda p: _edit(p, "deployments", 3, "latitude", "51.2x"),
        "deployments.csv",
        3,
        "latitude",
        "is not a number",
    ),
    "latitude-required": (
        lambda p: _edit(p, "deployments", 4, "latitude", ""),
        "deployments.csv",
        4,
        "latitude",
        "latitude is required and empty",
    ),
    "uncertainty-below-1": (
        lambda p: _edit(p, "deployments", 1, "coordinateUncertainty", "0"),
        "deployments.csv",
        1,
        "coordinateUncertainty",
        "below the minimum 1",
    ),
    "uncertainty-not-integer": (
        lambda p: _edit(p, "deployments", 1, "coordinateUncertainty", "1.5"),
        "deployments.csv",
        1,
        "coordinateUncertainty",
        "is not a whole number",
    ),
    "start-without-offset": (
        lambda p: _edit(p, "deployments", 1, "deploymentStart", "2020-05-30T04:57:37"),
        "deployments.csv",
        1,
        "deploymentStart",
        "with a UTC offset",
    ),
    "start-impossible-date": (
        lambda p: _edit(p, "deployments", 1, "deploymentStart", "2020-02-30T04:57:37Z"),
        "deployments.csv",
        1,
        "deploymentStart",
        "with a UTC offset",
    ),
    "end-before-start": (
        lambda p: _edit(p, "deployments", 2, "deploymentEnd", "2020-07-29T05:29:40Z"),
        "deployments.csv",
        2,
        "deploymentEnd",
        "is before deploymentStart",
    ),
    "feature-type-enum": (
        lambda p: _edit(p, "deployments", 2, "featureType", "river"),
        "deployments.csv",
        2,
        "featureType",
        "is not one of: roadPaved",
    ),
    "bait-use-boolean": (
        lambda p: _edit(p, "deployments", 2, "baitUse", "yes"),
        "deployments.csv",
        2,
        "baitUse",
        "is not true or false",
    ),
    "camera-tilt-below-minus-90": (
        lambda p: _edit(p, "deployments", 1, "cameraTilt", "-91"),
        "deployments.csv",
        1,
        "cameraTilt",
        "below the minimum -90",
    ),
    "required-column-missing": (
        lambda p: _rename(p, "deployments", "deploymentEnd", None),
        "deployments.csv",
        None,
        "deploymentEnd",
        "required deployments field",
    ),
    "column-case": (
        lambda p: _rename(p, "deployments", "cameraID", "CameraID"),
        "deployments.csv",
        None,
        "CameraID",
        "must be spelled 'cameraID'",
    ),
    "media-id-repeated": (
        lambda p: _edit(p, "media", 3, "mediaID", "07840dcc"),
        "media.csv",
        3,
        "mediaID",
        "is repeated (first in row 1)",
    ),
    "media-unknown-deployment": (
        lambda p: _edit(p, "media", 2, "deploymentID", "nope"),
        "media.csv",
        2,
        "deploymentID",
        "'nope' is not a deploymentID of deployments",
    ),
    "media-before-deployment": (
        lambda p: _edit(p, "media", 1, "timestamp", "2020-05-30T04:57:36+02:00"),
        "media.csv",
        1,
        "timestamp",
        "is outside deployment '00a2c20d'",
    ),
    "media-path-climbs": (
        lambda p: _edit(p, "media", 1, "filePath", "../x.jpg"),
        "media.csv",
        1,
        "filePath",
        "does not match the pattern",
    ),
    "media-type-pattern": (
        lambda p: _edit(p, "media", 1, "fileMediatype", "jpeg"),
        "media.csv",
        1,
        "fileMediatype",
        "does not match the pattern",
    ),
    "media-public-boolean": (
        lambda p: _edit(p, "media", 4, "filePublic", "maybe"),
        "media.csv",
        4,
        "filePublic",
        "is not true or false",
    ),
    "media-capture-enum": (
        lambda p: _edit(p, "media", 4, "captureMethod", "motion"),
        "media.csv",
        4,
        "captureMethod",
        "is not one of: activityDetection",
    ),
    "observation-id-repeated": (
        lambda p: _edit(p, "observations", 5, "observationID", "705e6036"),
        "observations.csv",
        5,
        "observationID",
        "is repeated (first in row 1)",
    ),
    "observation-unknown-deployment": (
        lambda p: _edit(p, "observations", 1, "deploymentID", "nope"),
        "observations.csv",
        1,
        "deploymentID",
        "'nope' is not a deploymentID",
    ),
    "observation-unknown-media": (
        lambda p: _edit(p, "observations", 2, "mediaID", "zzz"),
        "observations.csv",
        2,
        "mediaID",
        "'zzz' is not a mediaID of media.csv",
    ),
    "observation-level-enum": (
        lambda p: _edit(p, "observations", 3, "observationLevel", "sequence"),
        "observations.csv",
        3,
        "observationLevel",
        "is not one of: media, event",
    ),
    "observation-type-enum": (
        lambda p: _edit(p, "observations", 3, "observationType", "bird"),
        "observations.csv",
        3,
        "observationType",
        "is not one of: animal",
    ),
    "count-zero": (
        lambda p: _edit(p, "observations", 1, "count", "0"),
        "observations.csv",
        1,
        "count",
        "below the minimum 1",
    ),
    "count-fraction": (
        lambda p: _edit(p, "observations", 1, "count", "1.5"),
        "observations.csv",
        1,
        "count",
        "is not a whole number",
    ),
    "count-on-blank": (
        lambda p: _edit(p, "observations", _blank_row(), "count", "2"),
        "observations.csv",
        _blank_row(),
        "count",
        "of type 'blank'",
    ),
    "sex-enum": (
        lambda p: _edit(p, "observations", 1, "sex", "f"),
        "observations.csv",
        1,
        "sex",
        "is not one of: female, male",
    ),
    "probability-above-1": (
        lambda p: _edit(p, "observations", 1, "classificationProbability", "1.5"),
        "observations.csv",
        1,
        "classificationProbability",
        "above the maximum 1",
    ),
    "media-level-without-media": (
        lambda p: _edit(p, "observations", 2, "mediaID", ""),
        "observations.csv",
        2,
        "mediaID",
        "needs the mediaID",
    ),
    "event-level-with-media": (
        lambda p: _edit(p, "observations", 1, "mediaID", "07840dcc"),
        "observations.csv",
        1,
        "mediaID",
        "applies only to media-level",
    ),
    "media-of-other-deployment": (
        lambda p: _edit(p, "observations", 2, "deploymentID", "29b7d356"),
        "observations.csv",
        2,
        "mediaID",
        "belongs to deployment '00a2c20d'",
    ),
    "individual-on-blank": (
        lambda p: _edit(p, "observations", _blank_row(), "individualID", "RD1"),
        "observations.csv",
        _blank_row(),
        "individualID",
        "only animal observations",
    ),
    "event-end-before-start": (
        lambda p: _edit(p, "observations", 1, "eventEnd", "2020-05-30T02:57:30Z"),
        "observations.csv",
        1,
        "eventEnd",
        "is before eventStart",
    ),
    "event-before-deployment": (
        lambda p: _edit(p, "observations", 1, "eventStart", "2020-05-30T02:57:36Z"),
        "observations.csv",
        1,
        "eventStart",
        "is outside deployment '00a2c20d'",
    ),
    "camera-height-and-depth": (
        lambda p: (
            _edit(p, "deployments", 2, "cameraHeight", "1.2"),
            _edit(p, "deployments", 2, "cameraDepth", "0.5"),
        ),
        "deployments.csv",
        2,
        "cameraDepth",
        "are both given",
    ),
    "bbox-on-event": (
        lambda p: _edit(p, "observations", 1, "bboxX", "0.2"),
        "observations.csv",
        1,
        "bboxX",
        "not media-level",
    ),
    "bbox-beyond-media": (
        lambda p: (
            _edit(p, "observations", 2, "bboxY", "0.6"),
            _edit(p, "observations", 2, "bboxHeight", "0.5"),
        ),
        "observations.csv",
        2,
        "bboxHeight",
        "bboxY + bboxHeight = 1.1 reaches beyond the media file",
    ),
    "descriptor-project-missing": (
        lambda p: _descriptor(p, lambda d: d.pop("project")),
        "datapackage.json",
        None,
        "(top level)",
        "'project' is a required property",
    ),
    "descriptor-sampling-design": (
        lambda p: _descriptor(p, lambda d: d["project"].update(samplingDesign="x")),
        "datapackage.json",
        None,
        "project/samplingDesign",
        "is not one of",
    ),
    "descriptor-no-media-resource": (
        lambda p: _descriptor(p, lambda d: d["resources"][1].update(name="pictures")),
        "datapackage.json",
        None,
        "resources",
        "0 resources are named 'media'",
    ),
    "descriptor-temporal-start": (
        lambda p: _descriptor(p, lambda d: d["temporal"].pop("start")),
        "datapackage.json",
        None,
        "temporal",
        "'start' is a required property",
    ),
    "descriptor-taxon-rank": (
        lambda p: _descriptor(p, lambda d: d["taxonomic"][0].update(taxonRank="x")),
        "datapackage.json",
        None,
        "taxonomic/0/taxonRank",
        "is not one of",
    ),
    "descriptor-resource-profile": (
        lambda p: _descriptor(p, lambda d: d["resources"][0].update(profile="x")),
        "datapackage.json",
        None,
        "resources/0/profile",
        "is not one of",
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_one_broken_rule_is_named_with_file_row_column(
    rule: str, tmp_path: Path
) -> None:
    change, file, row, column, text = RULES[rule]
    pkg = _package(tmp_path)
    change(pkg)
    with pytest.raises(InputError) as err:
        tio.read_camtrap_dp(pkg)
    hits = [
        p
        for p in err.value.problems
        if p.path is not None
        and Path(p.path).name == file
        and p.row == row
        and p.column == column
        and text in p.message
    ]
    assert hits, str(err.value)
    assert text in str(err.value)


def test_official_example_conforms() -> None:
    from trapscape.io.camtrap_dp_standard import Finding, check_descriptor

    found = Finding()
    desc = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    check_descriptor(desc, found, "datapackage.json")
    assert len(found.errors) == 0 and found.warnings == []
    survey = tio.read_camtrap_dp(DATA)
    assert len(survey.stations) == 4


def test_bounds_are_inclusive_and_offsets_are_instants(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    # the same instant as deploymentStart (04:57:37+02:00), written in UTC
    _edit(pkg, "media", 1, "timestamp", "2020-05-30T02:57:37Z")
    _edit(pkg, "deployments", 1, "deploymentStart", "2020-05-30T02:57:37Z")
    assert len(tio.read_camtrap_dp(pkg).stations) == 4


def test_all_problems_at_once(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _edit(pkg, "deployments", 3, "latitude", "95")
    _edit(pkg, "media", 1, "fileMediatype", "jpeg")
    _edit(pkg, "observations", 1, "count", "0")
    _descriptor(pkg, lambda d: d.pop("project"))
    with pytest.raises(InputError) as err:
        tio.read_camtrap_dp(pkg)
    files = {Path(p.path).name for p in err.value.problems if p.path}
    assert files == {
        "deployments.csv",
        "media.csv",
        "observations.csv",
        "datapackage.json",
    }


def test_other_profile_version_warns(tmp_path: Path) -> None:
    from trapscape.errors import TrapscapeWarning

    pkg = _package(tmp_path)
    _descriptor(
        pkg,
        lambda d: d.update(
            profile="https://raw.githubusercontent.com/tdwg/camtrap-dp/1.1/"
            "camtrap-dp-profile.json"
        ),
    )
    with pytest.warns(TrapscapeWarning, match="declares version 1.1"):
        survey = tio.read_camtrap_dp(pkg)
    assert len(survey.stations) == 4


def test_extra_column_warns(tmp_path: Path) -> None:
    from trapscape.errors import TrapscapeWarning

    pkg = _package(tmp_path)
    _edit(pkg, "deployments", 1, "myNotes", "x")
    with pytest.warns(TrapscapeWarning, match="column 'myNotes' is not a Camtrap DP"):
        tio.read_camtrap_dp(pkg)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda d: d["temporal"].update(start="2020-06-01"),
            r"temporal \(2020-06-01 to 2021-04-18\) does not cover",
        ),
        (
            lambda d: d["spatial"].update(
                coordinates=[[[4.0, 50.0], [4.5, 50.0], [4.5, 51.0], [4.0, 50.0]]]
            ),
            r"spatial does not cover 3 deployment\(s\) \(first: row 1",
        ),
        (
            lambda d: d.update(taxonomic=d["taxonomic"][1:]),
            r"taxonomic does not list 1 scientificName\(s\) .*Anas platyrhynchos",
        ),
    ],
)
def test_coverage_of_the_descriptor_warns(
    change: Any, match: str, tmp_path: Path
) -> None:
    from trapscape.errors import TrapscapeWarning

    pkg = _package(tmp_path)
    _descriptor(pkg, change)
    with pytest.warns(TrapscapeWarning, match=match):
        tio.read_camtrap_dp(pkg)


# ------------------------------------------------------------- CSV written by R
def test_csv_written_by_r_is_read(tmp_path: Path) -> None:
    """write.csv: quoted values, row names in a first unnamed column, bare NA."""
    st = tmp_path / "st.csv"
    st.write_text(
        '"","station_id","longitude","latitude","setup","retrieval",'
        '"problem1_from","problem1_to"\n'
        '"1","A","131.2","43.1","2024-06-01","2024-06-30",NA,NA\n'
        '"2","NA","131.3","43.2","2024-06-01","2024-06-30","2024-06-05",'
        '"2024-06-07"\n',
        encoding="utf-8",
    )
    si = tmp_path / "si.csv"
    si.write_text(
        '"","station","timestamp","species","count"\n'
        '"1","A","2024-06-05 10:00:00","Panthera pardus","2"\n'
        '"2","NA","2024-06-09 10:00:00","Panthera pardus",NA\n',
        encoding="utf-8",
    )
    survey = tio.read_survey(stations=st, sightings=si)
    from trapscape import validation as V

    assert sorted(survey.stations[V.STATION_ID]) == ["A", "NA"]  # text kept
    assert len(survey.problems) == 1  # NA problem dates are blank
    assert list(survey.sightings[V.COUNT]) == [2, 1]  # NA count: blank -> 1
