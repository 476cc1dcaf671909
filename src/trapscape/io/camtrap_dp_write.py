"""Write a survey as a Camtrap DP 1.0 data package.

The package holds ``datapackage.json``, ``deployments.csv``, ``media.csv``
and ``observations.csv``, every field of the standard's table schemas in
their order, so it passes both trapscape's checks and the Frictionless
validator.  How a survey maps onto the standard:

* **Deployments** are working periods.  Camtrap DP has no field for a
  camera's downtime, so a malfunction splits a deployment in two (ids
  ``<deployment>_p1``, ``_p2``, ...); several deployments of one camera at
  one location read back as gaps in effort.  A malfunction during which
  the survey has sightings is not split (the camera evidently worked).
  A setup or retrieval known only to the day is written at noon, the
  half-day convention of the trap-night count.
* **Observations**: one event-level animal observation per sighting
  (``scientificName``, ``count``, ``sex``, ``individualID``), and, when the
  sighting names a media file, a media-level observation of that file.
* **Media**: one row per media id of the sightings; the files themselves are
  not part of the package (``filePublic`` false).
* **Times** are the survey's naive local times written with one UTC offset
  (``utc_offset``).

References
----------
Bubnicki J.W. et al. (2023) Camtrap DP: an open standard for the FAIR
exchange and archiving of camera trap data. Remote Sens. Ecol. Conserv.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import validation as V
from .._output import staged_outputs
from ..errors import InputError
from .camtrap_dp_standard import table_schema

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "FILES",
    "SAMPLING_DESIGNS",
    "write_camtrap_dp",
]

logger = logging.getLogger(__name__)

#: files of a written package
FILES = ("datapackage.json", "deployments.csv", "media.csv", "observations.csv")
#: the standard's vocabulary of project.samplingDesign
SAMPLING_DESIGNS = (
    "simpleRandom",
    "systematicRandom",
    "clusteredRandom",
    "experimental",
    "targeted",
    "opportunistic",
)
_BASE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2"
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_SEX_OUT = {"F": "female", "M": "male"}


def _offset(utc_offset: str) -> pd.Timedelta:
    m = _OFFSET.match(utc_offset) if isinstance(utc_offset, str) else None
    if m is None or int(m.group(2)) > 14 or int(m.group(3)) >= 60:
        raise InputError(
            f"utc_offset {utc_offset!r} is not a UTC offset. Give it as +hh:mm or "
            "-hh:mm, e.g. +10:00 for Vladivostok."
        )
    sign = 1 if m.group(1) == "+" else -1
    return sign * pd.Timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))


def _stamp(values: Any, utc_offset: str) -> np.ndarray:
    """Naive local times as ``YYYY-MM-DDThh:mm:ss+hh:mm`` text."""
    times = pd.to_datetime(pd.Series(values)).dt.floor("s")
    return (times.dt.strftime("%Y-%m-%dT%H:%M:%S") + utc_offset).to_numpy()


def _known_or_noon(stations: pd.DataFrame, col: str, known: str) -> pd.Series:
    """Setup/retrieval times; days without a known time at noon."""
    t = pd.to_datetime(stations[col])
    if known in stations.columns:
        day_only = ~stations[known].astype(bool).to_numpy()
        t = t.where(~day_only, t.dt.normalize() + pd.Timedelta(hours=12))
    return t


def _working_periods(survey: Survey) -> pd.DataFrame:
    """One row per working period: deployment, period id, start, end."""
    st = survey.stations
    start = _known_or_noon(st, V.SETUP, V.SETUP_TIME_KNOWN).to_numpy()
    end = _known_or_noon(st, V.RETRIEVAL, V.RETRIEVAL_TIME_KNOWN).to_numpy()
    probs = survey.problems
    gaps_of = dict(list(probs.groupby(probs[V.DEPLOYMENT_ID].astype(str))))
    seen = survey.sightings
    times_of = {
        str(d): pd.to_datetime(g)
        for d, g in seen.groupby(seen[V.DEPLOYMENT_ID].astype(str))[V.TIMESTAMP]
    }
    none = pd.Series([], dtype="datetime64[ns]")
    rows = []
    for i, dep in enumerate(st[V.DEPLOYMENT_ID].astype(str)):
        gaps = gaps_of.get(dep, probs.iloc[:0])
        times = times_of.get(dep, none)
        cuts = []
        for a, b in zip(gaps[V.PROBLEM_FROM], gaps[V.PROBLEM_TO], strict=True):
            a, b = max(pd.Timestamp(a), start[i]), min(pd.Timestamp(b), end[i])
            if a < b and not ((times > a) & (times < b)).any():
                cuts.append((a, b))
        bounds = [start[i]]
        for a, b in sorted(cuts):
            bounds += [a, b]
        bounds.append(end[i])
        # a malfunction at either end leaves no working period there
        pairs = [
            (a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if a < b
        ]
        for k, (a, b) in enumerate(pairs):
            pid = dep if len(pairs) == 1 else f"{dep}_p{k + 1}"
            rows.append((i, dep, pid, pd.Timestamp(a), pd.Timestamp(b)))
    return pd.DataFrame(rows, columns=["row", "deployment", "period", "start", "end"])


def _table(name: str, columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """A table with every field of the schema, in its order (blank when not given)."""
    fields = [f["name"] for f in table_schema(name)["fields"]]
    unknown = set(columns) - set(fields)
    assert not unknown, unknown
    return pd.DataFrame({f: columns.get(f, [""] * n) for f in fields})


def _deployments(
    survey: Survey,
    periods: pd.DataFrame,
    utc_offset: str,
    decimals: int,
    uncertainty: int | None,
) -> pd.DataFrame:
    st = survey.stations
    ll = st.geometry.to_crs(4326)
    lon = np.round(ll.x.to_numpy(), decimals)[periods["row"]]
    lat = np.round(ll.y.to_numpy(), decimals)[periods["row"]]
    station = st[V.STATION_ID].astype(str).to_numpy()[periods["row"]]
    camera = st[V.CAMERA_ID].astype(str).to_numpy()[periods["row"]]
    n = len(periods)
    return _table(
        "deployments",
        {
            "deploymentID": periods["period"].to_numpy(),
            "locationID": station,
            "locationName": station,
            "latitude": [f"{v:.{decimals}f}" for v in lat],
            "longitude": [f"{v:.{decimals}f}" for v in lon],
            "coordinateUncertainty": [uncertainty or ""] * n,
            "deploymentStart": _stamp(periods["start"], utc_offset),
            "deploymentEnd": _stamp(periods["end"], utc_offset),
            "cameraID": camera,
        },
        n,
    )


def _deployment_of(survey: Survey) -> np.ndarray:
    """Each sighting's deployment; a missing one from its station and time.

    A sighting at a station of several cameras, with no camera named, has no
    deployment: it gets the first of its station's deployments that was set
    up at the time.

    Raises
    ------
    InputError
        Such a sighting lies outside every deployment of its station.
    """
    si = survey.sightings
    dep = si[V.DEPLOYMENT_ID].astype(object).to_numpy().copy()
    missing = np.flatnonzero(pd.isna(si[V.DEPLOYMENT_ID]).to_numpy())
    st = survey.stations
    for i in missing:
        here = st[st[V.STATION_ID].astype(str) == str(si[V.STATION_ID].iloc[i])]
        t = pd.Timestamp(si[V.TIMESTAMP].iloc[i])
        hit = here[(here[V.SETUP] <= t) & (here[V.RETRIEVAL] >= t)]
        if hit.empty:
            raise InputError(
                f"sighting {i + 1} (station {si[V.STATION_ID].iloc[i]}, {t}) lies "
                "outside every deployment of its station; a Camtrap DP "
                "observation must lie inside its deployment. Fix the survey."
            )
        dep[i] = hit[V.DEPLOYMENT_ID].iloc[0]
    return np.array([str(d) for d in dep], dtype=object)  # not fixed-width


def _period_of(
    sightings: pd.DataFrame, deployment: np.ndarray, periods: pd.DataFrame
) -> np.ndarray:
    """The working period holding each sighting (its deployment's last one before)."""
    out = deployment.copy()
    split = periods[periods["period"] != periods["deployment"]]
    times = pd.to_datetime(sightings[V.TIMESTAMP]).to_numpy()
    for dep, group in split.groupby("deployment"):
        mine = out == dep
        starts = group["start"].to_numpy()
        k = np.searchsorted(starts, times[mine], side="right") - 1
        out[mine] = group["period"].to_numpy()[np.clip(k, 0, len(group) - 1)]
    return out


def _text(values: Any) -> list[str]:
    return ["" if pd.isna(v) else str(v) for v in values]


def _media_and_observations(
    survey: Survey, periods: pd.DataFrame, utc_offset: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    si = survey.sightings.reset_index(drop=True)
    n = len(si)
    period = _period_of(si, _deployment_of(survey), periods)
    when = _stamp(si[V.TIMESTAMP], utc_offset) if n else np.array([], dtype=object)
    media_id = _text(si[V.MEDIA_ID]) if V.MEDIA_ID in si.columns else [""] * n
    sex = (
        [_SEX_OUT.get(v, "") for v in _text(si[V.SEX])]
        if V.SEX in si.columns
        else [""] * n
    )
    individual = (
        _text(si[V.INDIVIDUAL_ID]) if V.INDIVIDUAL_ID in si.columns else [""] * n
    )
    count = _text(si[V.COUNT]) if V.COUNT in si.columns else ["1"] * n
    event = {
        "observationID": [f"obs{i + 1}" for i in range(n)],
        "deploymentID": period,
        "eventID": [f"event{i + 1}" for i in range(n)],
        "eventStart": when,
        "eventEnd": when,
        "observationLevel": ["event"] * n,
        "observationType": ["animal"] * n,
        "scientificName": _text(si[V.SPECIES]),
        "count": count,
        "sex": sex,
        "individualID": individual,
        "classificationMethod": ["human"] * n,
    }
    events = _table("observations", event, n)
    has = np.array([m != "" for m in media_id], dtype=bool)
    per_media = events[has].copy()
    per_media["observationID"] = per_media["observationID"] + "_m"
    per_media["mediaID"] = np.array(media_id, dtype=object)[has]
    per_media["observationLevel"] = "media"
    obs = pd.concat([events, per_media], ignore_index=True)
    media = per_media.drop_duplicates("mediaID")
    names = media["mediaID"].to_numpy()
    kinds = [mimetypes.guess_type(f"x{os.path.splitext(m)[1]}")[0] for m in names]
    media_t = _table(
        "media",
        {
            "mediaID": names,
            "deploymentID": media["deploymentID"].to_numpy(),
            "captureMethod": ["activityDetection"] * len(media),
            "timestamp": media["eventStart"].to_numpy(),
            "filePath": [f"media/{m}" for m in names],
            "filePublic": ["false"] * len(media),
            "fileName": names,
            "fileMediatype": [
                k if k and re.match(r"^(image|video|audio)/", k) else "image/jpeg"
                for k in kinds
            ],
        },
        len(media),
    )
    return media_t, obs


def _rank(name: str) -> dict[str, str]:
    words = name.split()
    rank = {1: "genus", 2: "species", 3: "subspecies"}.get(len(words))
    return {"scientificName": name} | ({"taxonRank": rank} if rank else {})


def _slug(name: str) -> str:
    slug = re.sub(r"[^-a-z0-9._]+", "-", name.lower()).strip("-")
    return slug or "survey"


def _descriptor(
    survey: Survey,
    deps: pd.DataFrame,
    obs: pd.DataFrame,
    *,
    precision: float,
    sampling_design: str,
    contributors: Sequence[Mapping[str, str]],
    has_media: bool,
) -> dict[str, Any]:
    lon = deps["longitude"].astype(float)
    lat = deps["latitude"].astype(float)
    x0, x1, y0, y1 = lon.min(), lon.max(), lat.min(), lat.max()
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    species = sorted({s for s in obs["scientificName"] if s})
    first = deps["deploymentStart"].str[:10].min()
    last = deps["deploymentEnd"].str[:10].max()
    resources = [
        {
            "name": name,
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": f"{_BASE}/{name}-table-schema.json",
        }
        for name in ("deployments", "media", "observations")
    ]
    return {
        "resources": resources,
        "profile": f"{_BASE}/camtrap-dp-profile.json",
        "name": _slug(survey.name),
        "title": survey.name,
        "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "contributors": [dict(c) for c in contributors],
        "project": {
            "title": survey.name,
            "samplingDesign": sampling_design,
            "captureMethod": ["activityDetection"],
            "individualAnimals": bool((obs["individualID"] != "").any()),
            "observationLevel": ["event", "media"] if has_media else ["event"],
        },
        "coordinatePrecision": precision,
        "spatial": {"type": "Polygon", "bbox": [x0, y0, x1, y1], "coordinates": [ring]},
        "temporal": {"start": first, "end": last},
        "taxonomic": [_rank(s) for s in species],
    }


def write_camtrap_dp(
    survey: Survey,
    folder: str | os.PathLike[str],
    *,
    utc_offset: str = "+00:00",
    coordinate_precision: float = 1e-6,
    coordinate_uncertainty: int | None = None,
    sampling_design: str = "targeted",
    contributors: Sequence[Mapping[str, str]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``survey`` as a Camtrap DP 1.0 package into ``folder``.

    Parameters
    ----------
    survey
        The survey (any CRS; coordinates are written in WGS84).
    folder
        Output folder, written through a staging folder: an existing
        package is replaced only with ``overwrite`` and only if trapscape
        wrote it.
    utc_offset
        UTC offset of the survey's (naive, local) times, ``+hh:mm``.
    coordinate_precision
        Precision of the written coordinates in degrees (a power of ten);
        coordinates are rounded to it and it is recorded as
        ``coordinatePrecision``.  Use 0.01 or coarser to protect sensitive
        species (see :func:`trapscape.privacy.write_public_camtrap_dp`).
    coordinate_uncertainty
        ``coordinateUncertainty`` of every deployment in metres (None:
        blank).
    sampling_design
        ``project.samplingDesign``, one of :data:`SAMPLING_DESIGNS`.
    contributors
        ``contributors`` of the descriptor (objects with a ``title``);
        default: one contact named after the survey.
    overwrite
        Replace a package trapscape wrote before.

    Returns
    -------
    pathlib.Path
        The written ``datapackage.json``.

    Raises
    ------
    InputError
        A bad option, or ``folder`` holds files trapscape did not write.
    """
    _offset(utc_offset)  # times are written as local text with this offset
    if sampling_design not in SAMPLING_DESIGNS:
        raise InputError(
            f"sampling_design {sampling_design!r} is not one of "
            f"{', '.join(SAMPLING_DESIGNS)}. Pick the one that fits the survey."
        )
    decimals = round(-np.log10(coordinate_precision))
    if not (0 <= decimals <= 9 and np.isclose(10.0**-decimals, coordinate_precision)):
        raise InputError(
            f"coordinate_precision {coordinate_precision!r} is not a power of ten "
            "between 1 and 1e-9 degrees. Use e.g. 0.01 or 1e-6."
        )
    periods = _working_periods(survey)
    deps = _deployments(survey, periods, utc_offset, decimals, coordinate_uncertainty)
    media, obs = _media_and_observations(survey, periods, utc_offset)
    contributors = contributors or [{"title": survey.name, "role": "contact"}]
    desc = _descriptor(
        survey,
        deps,
        obs,
        precision=float(coordinate_precision),
        sampling_design=sampling_design,
        contributors=contributors,
        has_media=len(media) > 0,
    )
    out = Path(folder)
    with staged_outputs(
        out, FILES, overwrite=overwrite, what="a Camtrap DP package"
    ) as tmp:
        (tmp / "datapackage.json").write_text(
            json.dumps(desc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for name, frame in (
            ("deployments", deps),
            ("media", media),
            ("observations", obs),
        ):
            frame.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
    logger.info(
        "Camtrap DP package: %d deployments, %d media, %d observations -> %s",
        len(deps),
        len(media),
        len(obs),
        out,
    )
    return out / "datapackage.json"
