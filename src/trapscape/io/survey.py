"""A :class:`~trapscape.survey.Survey` assembled from files.

:func:`read_survey` takes a project file, a Camtrap DP package or separate
stations, sightings and boundary files; :func:`build_survey` reads the
separate files, projects them to one CRS and checks them together.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..crs import as_crs
from ..errors import CRSError, InputError, ProblemCollector
from ..survey import Survey
from .boundaries import _read_boundaries, split_boundaries
from .camtrap_dp import _read_camtrap_dp
from .sightings import _read_sightings
from .stations import StationsTable, _read_stations
from .tables import VECTOR_SUFFIXES, PathLike, _check_crs_area, _pick_crs

__all__ = [
    "add_boundaries",
    "build_survey",
    "read_survey",
]

logger = logging.getLogger(__name__)


def _is_camtrap_dp(path: Path) -> bool:
    if path.is_dir():
        return (path / "datapackage.json").exists()
    if path.suffix.lower() != ".json":
        return False
    if path.name.lower() == "datapackage.json":
        return True
    try:
        with path.open("rb") as fh:  # the start only: a descriptor names its resources
            head = fh.read(200_000)
    except OSError:
        return False
    return b'"resources"' in head


def read_survey(
    project: PathLike | None = None,
    *,
    stations: PathLike | None = None,
    sightings: PathLike | None = None,
    boundaries: PathLike | dict[str, PathLike] | None = None,
    crs: Any = None,
    date_format: str | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> Survey:
    """Read a whole survey into one projected CRS, checking everything.

    Parameters
    ----------
    project
        A Camtrap DP ``datapackage.json`` or its folder.  Omit it to give
        separate files.  (A project TOML file is read by
        :func:`trapscape.project.load_project`.)
    stations, sightings
        Stations and sightings files (see :func:`read_stations`,
        :func:`read_sightings`).  For x/y stations, ``crs`` is their CRS.
    boundaries
        One vector file: split by its ``kind`` column (``study_area``,
        ``zones``, ``parks``, ``border``, ``habitat``) when present, else the
        study area.  Or a dict kind -> file.
    crs
        Projected CRS for the survey (default: the stations' projected CRS,
        else the UTM zone of the data).
    date_format
        strptime format of non-ISO dates in the separate files.
    date_window
        ``(earliest, latest)`` plausible survey dates (either may be None);
        default 1990-01-01 to tomorrow.

    Returns
    -------
    Survey

    Raises
    ------
    InputError
        With every problem of every file (file, row, column, fix).
    CRSError
        A geographic ``crs`` or layers without CRS.
    """
    if project is not None:
        p = Path(project)
        if p.suffix.lower() == ".toml":
            raise InputError(
                f"{p}: a project file. Read it with "
                "trapscape.project.load_project(path).survey (it also checks the "
                "step sections), or run `trapscape validate` on it.",
                path=p,
            )
        if _is_camtrap_dp(p):
            chk = ProblemCollector()
            package = _read_camtrap_dp(p, chk, crs=crs)
            chk.raise_if_any()
            assert package is not None
            return add_boundaries(package, boundaries) if boundaries else package
        if stations is None and p.suffix.lower() in (".csv", *VECTOR_SUFFIXES):
            stations = p
        else:
            raise InputError(
                f"{p}: not a Camtrap DP package "
                "(datapackage.json or its folder). Give one of those, or --stations.",
                path=p,
            )
    if stations is None:
        raise InputError(
            "No stations given. Pass a project file, a Camtrap DP package or stations=."
        )
    bdict: dict[str, PathLike] | None
    if boundaries is None or isinstance(boundaries, dict):
        bdict = boundaries
        single = None
    else:
        bdict, single = None, boundaries
    return build_survey(
        stations=stations,
        sightings=sightings,
        boundaries=bdict,
        combined_boundaries=single,
        crs=crs,
        date_format=date_format,
        date_window=date_window,
    )


def add_boundaries(survey: Survey, boundaries: Any) -> Survey:
    """``survey`` with the boundary layers of ``boundaries`` (a file or kind -> file).

    The layers are reprojected to the survey's CRS and the stations are
    checked against them again (zones, study area).
    """
    from dataclasses import replace

    chk = ProblemCollector()
    layers = _load_boundaries(boundaries, chk)
    chk.raise_if_any()
    projected = {k: v.to_crs(survey.crs) for k, v in layers.items()}
    new = replace(survey, **projected)
    chk2 = ProblemCollector()
    V._check_stations(
        new.stations,
        new.problems,
        chk2,
        path=survey.sources.get("stations"),
        study_area=new.study_area,
        report_missing=False,
    )
    # keep only the study-area distance problems (the rest was checked already)
    probs = [p for p in chk2.problems if "outside the study area" in p.message]
    if probs:
        raise InputError.from_problems(probs)
    return new


def _load_boundaries(
    boundaries: Any, chk: ProblemCollector, *, fields: dict[str, str] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    layers: dict[str, gpd.GeoDataFrame] = {}
    if boundaries is None:
        return layers
    if not isinstance(boundaries, Mapping):
        g = _read_boundaries(boundaries, chk, kind="any", stacklevel=5)
        if g is not None:
            kinds = {c.lower() for c in g.columns}
            if "kind" in kinds:
                try:
                    layers.update(split_boundaries(g))
                except InputError as err:
                    chk.add(err.args[0], path=boundaries)
            else:
                layers["study_area"] = g
        return layers
    for kind, path in boundaries.items():
        if path is None:
            continue
        g = _read_boundaries(
            path,
            chk,
            kind=kind,
            name_field=(fields or {}).get(kind, "name"),
            stacklevel=5,
        )
        if g is not None:
            layers[kind] = g
    return layers


def build_survey(
    *,
    stations: PathLike,
    sightings: PathLike | None = None,
    boundaries: Mapping[str, PathLike] | None = None,
    combined_boundaries: PathLike | None = None,
    boundary_fields: dict[str, str] | None = None,
    crs: Any = None,
    stations_crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    date_format: str | None = None,
    name: str | None = None,
    date_window: tuple[Any, Any] | None = None,
) -> Survey:
    """Read separate files into a :class:`Survey` (used by read_survey and projects).

    ``stations_crs`` is the CRS of x/y station columns (default ``crs``).
    ``date_window`` is ``(earliest, latest)`` (see
    :func:`trapscape.validation.date_window`).  Every problem in every file
    is collected and raised once; the stations must lie in the area of use
    of the survey CRS.
    """
    chk = ProblemCollector()
    target = None
    if crs is not None:
        target = _pick_crs([], crs)
    st = _read_stations(
        stations,
        chk,
        crs=stations_crs if stations_crs is not None else crs,
        x=x,
        y=y,
        date_format=date_format,
        date_window=date_window,
    )
    layers = _load_boundaries(boundaries, chk, fields=boundary_fields)
    if combined_boundaries is not None:
        layers.update(_load_boundaries(combined_boundaries, chk))
    if st is None or chk.has_kind("schema"):
        # cannot check sightings against stations that failed to read
        if sightings is not None and st is None:
            _read_sightings(
                sightings, chk, date_format=date_format, date_window=date_window
            )
        chk.raise_if_any()
    assert st is not None
    if target is None:
        try:
            target = _pick_crs([_valid_points(st.stations), *layers.values()], None)
        except CRSError as err:
            if not len(chk):  # otherwise the coordinate problems explain it
                chk.add(str(err), kind="crs")
            chk.raise_if_any()
    assert target is not None
    _check_crs_area(_valid_points(st.stations), target, chk, stations)
    stations_p = st.stations.to_crs(target)
    si = None
    if sightings is not None:
        si = _read_sightings(
            sightings,
            chk,
            stations=StationsTable(stations_p, st.problems),
            date_format=date_format,
            stations_path=stations,
            date_window=date_window,
        )
    projected = {k: v.to_crs(target) for k, v in layers.items()}
    V._check_stations(
        stations_p,
        None,
        chk,
        path=stations,
        study_area=projected.get("study_area"),
        report_missing=False,
    )
    # the call above repeats per-row checks already made; keep only new kinds
    chk.drop_duplicates()
    chk.raise_if_any()
    if si is None:
        si = _empty_sightings()
    sources: dict[str, Any] = {"stations": os.fspath(stations)}
    if sightings is not None:
        sources["sightings"] = os.fspath(sightings)
    if boundaries:
        sources.update(
            {k: os.fspath(v) for k, v in boundaries.items() if v is not None}
        )
    if combined_boundaries is not None:
        sources["boundaries"] = os.fspath(combined_boundaries)
    return Survey(
        stations=stations_p,
        sightings=si,
        problems=st.problems,
        crs=target,
        name=name or Path(stations).stem,
        sources=sources,
        **projected,
    )


def _valid_points(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stations with a usable location (finite; within range if geographic)."""
    g = stations.geometry
    ok = ~(g.isna() | g.is_empty)
    x = np.where(ok, g.x.where(ok), np.nan) if ok.any() else np.full(len(g), np.nan)
    y = np.where(ok, g.y.where(ok), np.nan) if ok.any() else np.full(len(g), np.nan)
    ok = ok.to_numpy() & np.isfinite(x) & np.isfinite(y)
    if stations.crs is not None and as_crs(stations.crs).is_geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    return stations[ok]


def _empty_sightings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            V.STATION_ID: pd.Series(dtype=object),
            V.CAMERA_ID: pd.Series(dtype="string"),
            V.DEPLOYMENT_ID: pd.Series(dtype="string"),
            V.TIMESTAMP: pd.Series(dtype="datetime64[ns]"),
            V.SPECIES: pd.Series(dtype=object),
            V.INDIVIDUAL_ID: pd.Series(dtype="string"),
            V.SEX: pd.Series(dtype="string"),
            V.MEDIA_ID: pd.Series(dtype="string"),
            V.COUNT: pd.Series(dtype=np.int64),
        }
    )
