"""Survey data for SCR: capture histories and habitat masks.

A :class:`CaptureHistory` holds the detections of identified animals at
detectors over occasions with the detectors' usage; :func:`capture_history`
builds one from a :class:`~trapscape.survey.Survey`.  A :class:`Mask` is the
set of candidate activity centres (its construction is in
:mod:`trapscape.density.mask`).  :func:`rpsv` is secr's spatial-scale guess
from the recaptures.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB, check_budget
from ..crs import require_projected
from ..errors import InputError, TrapscapeWarning

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "HA",
    "PER_100KM2",
    "CaptureHistory",
    "DetectFn",
    "Detector",
    "Mask",
    "ModelName",
    "OccasionModel",
    "capture_history",
    "rpsv",
]


HA = 10_000.0  # m² per hectare
PER_100KM2 = 10_000.0  # animals per 100 km² per animal per ha

Detector = Literal["proximity", "count"]
DetectFn = Literal["HHN", "HN"]
ModelName = Literal["null", "sex", "zone", "sex+zone"]
OccasionModel = Literal["auto", "bernoulli", "binomial"]


@dataclass(frozen=True)
class CaptureHistory:
    """Detections of identified animals at detectors over occasions.

    Attributes
    ----------
    traps_xy
        ``(J, 2)`` detector (station) coordinates in metres.
    usage
        ``(J, K)`` usage of each detector on each occasion (days, or 1/0).
    captures
        ``(n, K, J)`` integer detections of each individual on each occasion
        at each detector (binary for proximity detectors).
    detector
        ``"proximity"`` (binary per occasion) or ``"count"``.
    individual_ids, trap_ids
        Labels (default ``0..n-1`` / ``0..J-1`` as strings).
    sex
        ``(n,)`` ``"F"``, ``"M"`` or ``None`` per individual, optional.
    occasion_days
        Length of an occasion in days (informative; usage carries effort).
    """

    traps_xy: np.ndarray
    usage: np.ndarray
    captures: np.ndarray
    detector: Detector = "proximity"
    individual_ids: tuple[str, ...] = ()
    trap_ids: tuple[str, ...] = ()
    sex: tuple[str | None, ...] | None = None
    occasion_days: float = 1.0

    def __post_init__(self) -> None:
        xy = np.asarray(self.traps_xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0:
            raise InputError(
                f"traps_xy must be a (J, 2) array of metres, got shape {xy.shape}."
            )
        j = xy.shape[0]
        caps = np.asarray(self.captures)
        if caps.ndim != 3 or caps.shape[2] != j:
            raise InputError(
                f"captures must be (n, K, J={j}) counts per individual, occasion and "
                f"detector, got shape {caps.shape}."
            )
        n, k = caps.shape[0], caps.shape[1]
        use = np.asarray(self.usage, dtype=np.float64)
        if use.shape != (j, k):
            raise InputError(
                f"usage must be (J={j}, K={k}) days per detector and occasion, "
                f"got shape {use.shape}."
            )
        if np.any(~np.isfinite(use)) or np.any(use < 0):
            raise InputError(
                "usage must be finite and >= 0 (days each detector worked)."
            )
        if np.any(caps < 0) or not np.all(np.equal(np.mod(caps, 1), 0)):
            raise InputError("captures must be non-negative whole numbers.")
        if self.detector not in ("proximity", "count"):
            raise InputError(
                f"detector must be 'proximity' or 'count', got {self.detector!r}."
            )
        if self.detector == "proximity" and np.any(caps > 1):
            raise InputError(
                "proximity detectors record at most one detection per "
                "individual, occasion and detector; use detector='count'."
            )
        bad = (caps.sum(axis=0) > 0) & (use.T <= 0)
        if np.any(bad):
            kk, jj = np.argwhere(bad)[0]
            raise InputError(
                f"detector {jj} has a detection on occasion {kk} but zero usage; "
                "fix the operation dates or the detection time."
            )
        ids = tuple(self.individual_ids) or tuple(str(i) for i in range(n))
        tids = tuple(self.trap_ids) or tuple(str(i) for i in range(j))
        if len(ids) != n or len(tids) != j:
            raise InputError("individual_ids / trap_ids must match the captures array.")
        if self.sex is not None and len(self.sex) != n:
            raise InputError(f"sex must have one entry per individual ({n}).")
        object.__setattr__(self, "traps_xy", xy)
        object.__setattr__(self, "usage", use)
        object.__setattr__(self, "captures", caps.astype(np.int64))
        object.__setattr__(self, "individual_ids", ids)
        object.__setattr__(self, "trap_ids", tids)
        if self.sex is not None:
            object.__setattr__(
                self,
                "sex",
                tuple(
                    None
                    if s is None
                    or (isinstance(s, float) and math.isnan(s))
                    or s is pd.NA
                    else str(s)
                    for s in self.sex
                ),
            )

    @property
    def n(self) -> int:
        """Number of individuals detected."""
        return int(self.captures.shape[0])

    @property
    def n_occasions(self) -> int:
        """Number of occasions K."""
        return int(self.captures.shape[1])

    @property
    def counts(self) -> np.ndarray:
        """``(n, J)`` detections summed over occasions."""
        return np.asarray(self.captures.sum(axis=1))

    @property
    def n_detections(self) -> int:
        """Total detections."""
        return int(self.captures.sum())

    @property
    def n_recaptures(self) -> int:
        """Detections after each animal's first."""
        return self.n_detections - int(np.sum(self.captures.sum(axis=(1, 2)) > 0))

    def summary(self) -> dict[str, Any]:
        """Counts: individuals, detections, recaptures, detectors used."""
        return {
            "n_individuals": self.n,
            "n_occasions": self.n_occasions,
            "n_detectors": int(self.traps_xy.shape[0]),
            "n_detections": self.n_detections,
            "n_recaptures": self.n_recaptures,
            "n_detectors_visited": int(np.sum(self.counts.sum(axis=0) > 0)),
            "usage_days": float(self.usage.sum()),
        }


@dataclass(frozen=True)
class Mask:
    """Habitat mask: candidate activity centres.

    Attributes
    ----------
    xy
        ``(M, 2)`` cell-centre coordinates in metres.
    spacing
        Grid spacing in metres; each point represents ``spacing**2`` m².
    buffer
        Buffer around the detectors used to build it (metres), if known.
    zone
        Optional ``(M,)`` zone label of each point (for the zone model).
    crs
        Optional CRS (informative).
    habitat
        Optional polygon the mask was clipped to (reused when the buffer is
        checked or widened).
    zone_polygons
        Optional zones the labels came from (name -> polygon or a layer with
        a ``name`` column), used to place the stations in zones exactly.
    """

    xy: np.ndarray
    spacing: float
    buffer: float | None = None
    zone: tuple[str, ...] | None = None
    crs: Any = None
    habitat: Any = None
    zone_polygons: Any = None

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0:
            raise InputError(
                f"mask xy must be a non-empty (M, 2) array, got shape {xy.shape}."
            )
        if not (self.spacing > 0):
            raise InputError(
                f"mask spacing must be positive metres, got {self.spacing!r}."
            )
        if self.zone is not None and len(self.zone) != xy.shape[0]:
            raise InputError("mask zone labels must have one entry per mask point.")
        object.__setattr__(self, "xy", xy)
        if self.zone is not None:
            object.__setattr__(self, "zone", tuple(str(z) for z in self.zone))

    @property
    def cell_area(self) -> float:
        """Area of one mask cell in m²."""
        return float(self.spacing) ** 2

    @property
    def area(self) -> float:
        """Total mask area in m²."""
        return float(self.cell_area * self.xy.shape[0])

    def __len__(self) -> int:
        return int(self.xy.shape[0])


#: peak bytes per individual x occasion x station cell of a capture history
#: (int64 counts, the proximity copy and the fit's working copy)
CAPTURE_BYTES_PER_CELL = 24.0


def rpsv(ch: CaptureHistory) -> float:
    """Root pooled spatial variance of recaptured animals (metres).

    Calhoun & Casby's dispersion measure as used by secr to guess sigma:
    sqrt(sum_i sum_k (x_ik - xbar_i)^2 + (y_ik - ybar_i)^2 / (sum_i (n_i - 1)))
    / sqrt(2)... computed over detections of animals seen more than once.
    Returns NaN when no animal was detected twice.
    """
    num = 0.0
    den = 0.0
    for i in range(ch.n):
        kk, jj = np.nonzero(ch.captures[i])
        reps = ch.captures[i][kk, jj]
        pts = np.repeat(ch.traps_xy[jj], reps, axis=0)
        if len(pts) < 2:
            continue
        num += float(np.sum((pts - pts.mean(axis=0)) ** 2))
        den += len(pts) - 1
    if den == 0:
        return float("nan")
    return math.sqrt(num / (2.0 * den))


def _longer_occasions(k: int, occasion_days: float, factor: float) -> str:
    """Advice: the occasion length whose history is ``factor`` times smaller."""
    k_fit = math.floor(k / factor)
    if k_fit < 1:
        return (
            "Even one occasion is too large: fewer stations or individuals "
            "(e.g. species=) are needed."
        )
    days = math.ceil(k / k_fit) * float(occasion_days)
    return f"Use occasion_days={days:g} or longer (fewer, longer occasions)."


def capture_history(
    survey: Survey,
    *,
    occasion_days: float = 1.0,
    detector: Detector = "proximity",
    species: str | None = None,
    independence_minutes: float = 30.0,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> CaptureHistory:
    """Build a capture history from a survey (detector = station).

    Parameters
    ----------
    survey
        The survey (projected CRS).
    occasion_days
        Occasion length in days; usage per station and occasion comes from
        :func:`trapscape.effort.station_usage` (cameras pooled, malfunctions
        removed).
    detector
        ``"proximity"``: at most one detection per animal, station and
        occasion; ``"count"``: number of independent detection events.
    species
        Keep only this species (default: all sightings).
    independence_minutes
        For count detectors: records of one animal at one station closer
        than this are one event (:func:`trapscape.effort.detection_events`).
    max_memory_gb
        Memory budget in GiB (``None``: no check).  The history is a dense
        individuals x occasions x stations array, held about three times over
        while it is built and fitted; one that would not fit is refused
        before it is built, naming an occasion length that fits.

    Returns
    -------
    CaptureHistory
        Individuals sorted by id; sex is the most frequent recorded value.
    """
    from ..effort import detection_events, station_usage

    require_projected(survey.crs, "survey")
    if not occasion_days > 0:
        raise InputError(f"occasion_days must be positive, got {occasion_days!r}.")
    sv = survey.species_subset(species)
    use = station_usage(sv, occasion_days=occasion_days)
    ident = sv.identified
    if detector == "count" and len(ident):
        ident = ident[
            detection_events(ident, independence_minutes=independence_minutes)
        ]
    if species is None and ident[V.SPECIES].nunique() > 1:
        raise InputError(
            "Identified sightings of several species "
            f"({sorted(map(str, ident[V.SPECIES].unique()))}); "
            "choose one with species=."
        )
    station_ids = [str(s) for s in use.station_ids]
    j_of = {s: i for i, s in enumerate(station_ids)}
    starts = use.occasion_starts
    k = use.usage.shape[1]
    ids = sorted(map(str, ident[V.INDIVIDUAL_ID].unique()))
    i_of = {s: i for i, s in enumerate(ids)}
    check_budget(
        len(ids) * k * len(station_ids),
        CAPTURE_BYTES_PER_CELL,
        what="the capture history (individuals x occasions x stations)",
        budget_gb=max_memory_gb,
        suggest=lambda f: _longer_occasions(k, occasion_days, f),
    )
    caps = np.zeros((len(ids), k, len(station_ids)), dtype=np.int64)
    if len(ident):
        t0 = starts[0]
        kk = np.floor(
            ((ident[V.TIMESTAMP] - t0) / pd.Timedelta(days=occasion_days)).to_numpy(
                dtype=float
            )
        ).astype(int)
        jj = np.array([j_of.get(str(s), -1) for s in ident[V.STATION_ID]])
        ii = np.array([i_of[str(s)] for s in ident[V.INDIVIDUAL_ID]])
        ok = (kk >= 0) & (kk < k) & (jj >= 0)
        if np.any(~ok):
            warnings.warn(
                f"{int(np.sum(~ok))} identified sighting(s) fall outside the "
                "stations' operation period or at unknown stations and were "
                "ignored.",
                TrapscapeWarning,
                stacklevel=2,
            )
        ok_use = ok.copy()
        ok_use[ok] = use.usage[jj[ok], kk[ok]] > 0
        if np.any(ok & ~ok_use):
            warnings.warn(
                f"{int(np.sum(ok & ~ok_use))} identified sighting(s) were taken "
                "while their station was recorded as not working; they were "
                "ignored. Check the problem intervals.",
                TrapscapeWarning,
                stacklevel=2,
            )
        np.add.at(caps, (ii[ok_use], kk[ok_use], jj[ok_use]), 1)
        if detector == "proximity":
            caps = np.minimum(caps, 1)
    sex: list[str | None] = []
    for ind in ids:
        vals = ident.loc[ident[V.INDIVIDUAL_ID].astype(str) == ind, V.SEX].dropna()
        vals = vals[vals.astype(str).isin(["F", "M"])]
        sex.append(str(vals.astype(str).mode().iloc[0]) if len(vals) else None)
    return CaptureHistory(
        traps_xy=use.xy,
        usage=use.usage,
        captures=caps,
        detector=detector,
        individual_ids=tuple(ids),
        trap_ids=tuple(station_ids),
        sex=tuple(sex),
        occasion_days=float(occasion_days),
    )
