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
