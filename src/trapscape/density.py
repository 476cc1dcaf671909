"""Density by spatial capture-recapture (maximum likelihood, secr-compatible).

The likelihood is the full likelihood of Borchers & Efford (2008) with a
Poisson number of animals, as computed by the R package secr (Efford) for
proximity or count detectors with occasions collapsed (secr's
"fastproximity"): the log-likelihood at given parameters equals secr's on
the same mask.  Parameters are estimated on the link scale (log D,
log lambda0 or logit g0, log sigma), standard errors come from the inverse
of the observed information on that scale, real-scale SEs use secr's
transforms (log-normal for log links, delta method for logit) and
confidence intervals are Wald intervals on the link scale.

See ``docs/density.md`` for the formulas and conventions.

References
----------
Borchers, D. L. & Efford, M. G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
Efford, M. G. (2004) Density estimation in live-trapping studies. Oikos 106,
598-610.
Efford, M. G., Borchers, D. L. & Mowat, G. (2013) Varying effort in
capture-recapture studies. Methods Ecol. Evol. 4, 629-636.
Efford, M. G. & Fewster, R. M. (2013) Estimating population size by spatially
explicit capture-recapture. Oikos 122, 918-928.
Royle, J. A., Chandler, R. B., Sollmann, R. & Gardner, B. (2014) Spatial
Capture-Recapture. Academic Press.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely
from scipy import optimize
from scipy.special import logsumexp
from scipy.stats import norm

from . import _scr
from . import validation as V
from ._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from .crs import require_projected
from .detection import DetectionParams
from .errors import ComputationError, InputError, TrapscapeWarning

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from .survey import Survey

__all__ = [
    "CaptureHistory",
    "Mask",
    "SCRFit",
    "buffer_check",
    "capture_history",
    "fit",
    "fit_survey",
    "log_likelihood",
    "make_mask",
    "rpsv",
    "survey_regions",
]

logger = logging.getLogger(__name__)

HA = 10_000.0  # m² per hectare
PER_100KM2 = 10_000.0  # animals per 100 km² per animal per ha
_Z = float(norm.ppf(0.975))

Detector = Literal["proximity", "count"]
DetectFn = Literal["HHN", "HN"]
ModelName = Literal["null", "sex", "zone", "sex+zone"]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
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
    """

    xy: np.ndarray
    spacing: float
    buffer: float | None = None
    zone: tuple[str, ...] | None = None
    crs: Any = None
    habitat: Any = None

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


def make_mask(
    traps_xy: np.ndarray,
    *,
    buffer: float | None = None,
    spacing: float | None = None,
    sigma_guess: float | None = None,
    habitat: BaseGeometry | Any = None,
    zones: Mapping[str, BaseGeometry] | Any = None,
    max_points: int = 5000,
    crs: Any = None,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> Mask:
    """Build a habitat mask: grid points within ``buffer`` of any detector.

    The grid follows secr's ``make.mask(type = "trapbuffer")``: cell centres
    at ``min - buffer + spacing/2`` stepping by ``spacing`` to
    ``max + buffer``, keeping points within ``buffer`` of a detector.

    Parameters
    ----------
    traps_xy
        ``(J, 2)`` detector coordinates in metres (projected CRS).
    buffer
        Buffer in metres (default ``4 * sigma_guess``).
    spacing
        Grid spacing in metres (default ``sigma_guess / 2``, widened until the
        mask has at most ``max_points`` points).
    sigma_guess
        Spatial scale guess in metres (e.g. :func:`rpsv`); required when
        ``buffer`` or ``spacing`` is not given.
    habitat
        Optional polygon(s) (shapely geometry or GeoSeries/GeoDataFrame) to
        clip the mask to (land, study area, without settlements).
    zones
        Optional mapping name -> polygon or GeoDataFrame with a ``name``
        column; labels each mask point (points in no zone take the nearest).
    max_points
        Upper bound on the number of points when ``spacing`` is chosen here.
    crs
        CRS of the coordinates; when given it must be projected in metres.
    max_memory_gb
        Memory budget in GiB of the mask and of the model fitted on it (the
        fit holds several mask x detector arrays).  With an explicit
        ``spacing`` the number of points is estimated first (from a coarse
        sample of the buffer and habitat) and a mask over the budget is
        refused, naming a spacing that fits; ``None``: no check.

    Returns
    -------
    Mask

    Raises
    ------
    ComputationError
        If the mask is empty, or the mask and fit would exceed
        ``max_memory_gb``.
    """
    if crs is not None:
        require_projected(crs, "mask CRS")
    txy = np.asarray(traps_xy, dtype=np.float64)
    if txy.ndim != 2 or txy.shape[1] != 2 or len(txy) == 0:
        raise InputError(
            f"traps_xy must be a (J, 2) array of metres, got shape {txy.shape}."
        )
    if (buffer is None or spacing is None) and (
        sigma_guess is None or not np.isfinite(sigma_guess) or sigma_guess <= 0
    ):
        raise InputError(
            "make_mask needs buffer and spacing, or a positive sigma_guess "
            "(metres) to derive them."
        )
    buffer = float(4.0 * float(sigma_guess or 0.0) if buffer is None else buffer)
    if buffer <= 0:
        raise InputError(f"buffer must be positive metres, got {buffer}.")
    hab = _as_geometry(habitat)
    if spacing is None:
        spacing = float(sigma_guess) / 2.0  # type: ignore[arg-type]
        n_box = _box_points(txy, buffer, spacing)
        if n_box > _MAX_SEARCH_POINTS:
            # a tiny sigma_guess on a wide array: start the search coarser
            # rather than build a huge first grid
            spacing *= math.sqrt(n_box / _MAX_SEARCH_POINTS)
        for _ in range(60):
            xy = _grid(txy, buffer, spacing, hab)
            if len(xy) <= max_points:
                break
            spacing *= math.sqrt(len(xy) / max_points) * 1.02
    else:
        spacing = float(spacing)
        if spacing <= 0:
            raise InputError(f"spacing must be positive metres, got {spacing}.")
        n_box = _box_points(txy, buffer, spacing)
        _check_mask_memory(
            _estimate_points(txy, buffer, spacing, hab, n_box),
            len(txy),
            spacing,
            max_memory_gb,
            extra_bytes=n_box * _GRID_BYTES_PER_POINT,
        )
        xy = _grid(txy, buffer, spacing, hab)
    if len(xy) == 0:
        raise ComputationError(
            "The habitat mask is empty: no grid point lies within the "
            "buffer of a detector and inside the habitat polygons. Check "
            "the habitat layer's CRS and extent, or enlarge the buffer."
        )
    zone_labels = _zone_labels(xy, zones) if zones is not None else None
    logger.info(
        "Mask: %d points, spacing %.1f m, buffer %.0f m", len(xy), spacing, buffer
    )
    return Mask(
        xy=xy, spacing=spacing, buffer=buffer, zone=zone_labels, crs=crs, habitat=hab
    )


# Memory of a mask and of the fit on it, calibrated on the bundled example
# (251 detectors, 82 individuals, model "zone"; peak RSS by
# resource.getrusage around make_mask + fit): 17.0 k points -> 59 B per mask
# point x detector above the baseline; `trapscape density --spacing 400`
# (67.9 k points, buffer 14.5 km) peaked at 1.21 GB, ~56 B per entry above
# ~250 MB of imports and data.  64 B per entry leaves a margin.  Building the
# mask holds the bounding-box lattice, kd-tree distances and kept points:
# tracemalloc peak 168 MB for a 2.84 M-point box (100 m), 59 B per point.
_FIT_BYTES_PER_ENTRY = 64  # per mask point x detector
_GRID_BYTES_PER_POINT = 64  # per point of the bounding-box lattice
_MAX_SEARCH_POINTS = 2_000_000


def _box_points(txy: np.ndarray, buffer: float, spacing: float) -> int:
    lo = txy.min(axis=0) - buffer
    hi = txy.max(axis=0) + buffer
    return grid_cells((lo[0], lo[1], hi[0], hi[1]), spacing)


def _estimate_points(
    txy: np.ndarray, buffer: float, spacing: float, hab: Any, n_box: int
) -> int:
    """Number of mask points at ``spacing``, from a coarse sample of the box."""
    sample = 100_000
    if n_box <= sample:
        return len(_grid(txy, buffer, spacing, hab))
    coarse = spacing * math.sqrt(n_box / sample)
    kept = len(_grid(txy, buffer, coarse, hab))
    return math.ceil(kept / max(_box_points(txy, buffer, coarse), 1) * n_box)


def _check_mask_memory(
    n_points: int,
    n_detectors: int,
    spacing: float,
    max_memory_gb: float | None,
    *,
    extra_bytes: float = 0.0,
    what: str = "the habitat mask",
) -> None:
    check_budget(
        n_points,
        _FIT_BYTES_PER_ENTRY * max(int(n_detectors), 1),
        what=f"{what} at spacing {spacing:g} m with {n_detectors} detectors",
        unit="points",
        budget_gb=max_memory_gb,
        extra_bytes=extra_bytes,
        suggest=lambda f: (
            f"Use a mask spacing of {coarser(spacing, f)} m or coarser "
            f"(now {spacing:g} m), or leave spacing unset to choose it "
            "automatically."
        ),
    )


def _as_geometry(obj: Any) -> BaseGeometry | None:
    if obj is None:
        return None
    if hasattr(obj, "geometry") and hasattr(obj.geometry, "union_all"):
        return obj.geometry.union_all()
    if hasattr(obj, "union_all"):
        return obj.union_all()
    return obj


def _grid(txy: np.ndarray, buffer: float, spacing: float, hab: Any) -> np.ndarray:
    from scipy.spatial import cKDTree

    lo = txy.min(axis=0) - buffer
    hi = txy.max(axis=0) + buffer
    eps = spacing * 1e-9
    xs = np.arange(lo[0] + spacing / 2, hi[0] + eps, spacing)
    ys = np.arange(lo[1] + spacing / 2, hi[1] + eps, spacing)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    dist, _ = cKDTree(txy).query(pts)
    pts = pts[dist <= buffer * (1 + 1e-12)]
    if hab is not None and len(pts):
        import shapely

        pts = pts[shapely.contains_xy(hab, pts[:, 0], pts[:, 1])]
    return np.asarray(pts)


def _zone_labels(xy: np.ndarray, zones: Any) -> tuple[str, ...]:
    """Zone name of each point; points outside every zone take the nearest zone."""
    import shapely

    if hasattr(zones, "geometry") and V.NAME in getattr(zones, "columns", ()):
        items = [
            (str(nm), g) for nm, g in zip(zones[V.NAME], zones.geometry, strict=True)
        ]
    else:
        items = [(str(k), _as_geometry(g)) for k, g in dict(zones).items()]
    items = [(nm, g) for nm, g in items if g is not None and not g.is_empty]
    labels = np.full(len(xy), "", dtype=object)
    for name, geom in items:
        inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & (labels == "")
        labels[inside] = name
    out = labels == ""
    if np.any(out) and items:
        pts = shapely.points(xy[out])
        dist = np.stack([shapely.distance(g, pts) for _, g in items])
        labels[out] = np.array([nm for nm, _ in items], dtype=object)[
            dist.argmin(axis=0)
        ]
    labels[labels == ""] = "outside"
    return tuple(labels.tolist())


# ---------------------------------------------------------------------------
# model setup
# ---------------------------------------------------------------------------
def _check_fittable(ch: CaptureHistory) -> None:
    if ch.n == 0:
        raise ComputationError(
            "The SCR model cannot be fitted: no individual was detected."
        )
    if ch.n == 1:
        raise ComputationError(
            "The SCR model cannot be fitted: only one individual was "
            "detected, so density and detection cannot be separated. "
            "More identified animals are needed."
        )
    if ch.n_recaptures == 0:
        raise ComputationError(
            "The SCR model cannot be fitted: no animal was recaptured "
            "(each was seen once), so the spatial scale sigma is not "
            "estimable. Longer surveys or denser cameras are needed."
        )
    visited = np.sum(ch.counts.sum(axis=0) > 0)
    if visited < 2:
        raise ComputationError(
            "The SCR model cannot be fitted: all detections are at one "
            "station, so movement (sigma) is not estimable. Detections "
            "at two or more stations are needed."
        )


def _design(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: str,
    model: str,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> tuple[_scr.Design, list[str], list[str]]:
    """Return the design, density level names and class names."""
    d_levels = ["all"]
    d_index = None
    classes = ["all"]
    cls = None
    if model not in ("null", "sex", "zone", "sex+zone"):
        raise InputError(
            f"model must be 'null', 'sex', 'zone' or 'sex+zone', got {model!r}."
        )
    if model in ("zone", "sex+zone"):
        if mask.zone is None:
            raise InputError(
                f"model={model!r} needs zone labels on the mask: build it with "
                "make_mask(..., zones=...) or give the survey a zones layer."
            )
        d_levels = sorted(set(mask.zone))
        lookup = {z: i for i, z in enumerate(d_levels)}
        d_index = np.array([lookup[z] for z in mask.zone])
    if model in ("sex", "sex+zone"):
        if ch.sex is None or all(s is None for s in ch.sex):
            raise InputError(
                f"model={model!r} needs the sex of at least some individuals "
                "(sex column 'F'/'M')."
            )
        classes = ["F", "M"]
        bad = sorted({s for s in ch.sex if s is not None and s not in classes})
        if bad:
            raise InputError(f"sex must be 'F', 'M' or missing; found {bad}.")
        cls = np.array([-1 if s is None else classes.index(s) for s in ch.sex])
    if detectfn not in ("HHN", "HN"):
        raise InputError(f"detectfn must be 'HHN' or 'HN', got {detectfn!r}.")
    _check_mask_memory(
        len(mask.xy),
        len(ch.traps_xy),
        float(mask.spacing),
        max_memory_gb,
        what="the SCR model on the mask",
    )
    design = _scr.make_design(
        mask.xy,
        mask.cell_area / HA,
        ch.traps_xy,
        ch.usage.sum(axis=1),
        ch.counts,
        detectfn=detectfn,
        detector=ch.detector,
        cls=cls,
        n_classes=len(classes),
        d_index=d_index,
        n_d=len(d_levels),
        integer_usage=integer_usage,
    )
    return design, d_levels, classes


def _start(ch: CaptureHistory, design: _scr.Design, sigma_guess: float) -> np.ndarray:
    """Starting values: sigma from RPSV, p0 by a short profile search, D = n / esa."""
    best = None
    for p0 in (0.01, 0.05, 0.25):
        for sg in (sigma_guess,):
            logq = _scr.class_terms(design, p0, sg)["logq"]
            esa = float(np.sum(-np.expm1(logq))) * design.cell_area
            if esa <= 0:
                continue
            dens = ch.n / esa
            c = design.n_classes
            real = _scr.Real(
                density=np.full(design.n_d, dens),
                p0=np.full(c, p0),
                sigma=np.full(c, sg),
                pmix=np.full(c, 1.0 / c),
            )
            beta = _scr.pack(real, design)
            ll = _scr.loglik(beta, design)
            if best is None or ll > best[0]:
                best = (ll, beta)
    if best is None or not np.isfinite(best[0]):
        raise ComputationError(
            "Could not find starting values for the SCR fit; check that "
            "the mask covers the detectors."
        )
    return best[1]


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SCRFit:
    """A fitted SCR model.

    Attributes
    ----------
    estimates
        Tidy table: ``parameter``, ``link``, ``estimate``, ``se``, ``lcl``,
        ``ucl``. Density rows (``D`` or ``D[zone]``) are animals per
        100 km²; ``sigma`` in metres; ``lambda0`` per occasion of unit usage
        (per day when usage is in days) or ``g0`` per occasion.
    beta, beta_names, vcov
        Link-scale estimates, names and their covariance (inverse observed
        information).
    loglik, aic, aicc, npar
        Maximised log-likelihood (secr's convention, see module docs),
        AIC = -2 logL + 2 npar, AICc with n individuals.
    region_n
        Table of expected (E.N) and realised (R.N) population in regions,
        with SE and log-normal 95 % CI.
    n, n_detections, n_recaptures
        Data summary.
    detectfn, detector, model, occasion_days
        Settings.
    mask_points, mask_spacing, mask_buffer
        Mask description.
    converged, message, iterations, evaluations, seconds
        Optimiser diagnostics.
    """

    estimates: pd.DataFrame
    beta: np.ndarray
    beta_names: tuple[str, ...]
    vcov: np.ndarray
    loglik: float
    aic: float
    aicc: float
    npar: int
    n: int
    n_detections: int
    n_recaptures: int
    detectfn: str
    detector: str
    model: str
    occasion_days: float
    mask_points: int
    mask_spacing: float
    mask_buffer: float | None
    converged: bool
    message: str
    iterations: int
    evaluations: int
    seconds: float
    region_n: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict[str, Any] = field(default_factory=dict)

    def estimate(self, parameter: str) -> float:
        """Real-scale estimate of one parameter (e.g. ``"D"``, ``"sigma"``)."""
        row = self.estimates[self.estimates["parameter"] == parameter]
        if row.empty:
            raise InputError(
                f"No parameter {parameter!r}; have "
                f"{self.estimates['parameter'].tolist()}."
            )
        return float(row["estimate"].iloc[0])

    @property
    def density_per_100km2(self) -> float:
        """Overall density (animals per 100 km²); mean over the mask for zone models."""
        return float(self.settings.get("mean_density_per_100km2", np.nan))

    def detection_params(self) -> DetectionParams:
        """Fitted detection parameters for coverage, home ranges and planning."""
        p0name = "lambda0" if self.detectfn == "HHN" else "g0"
        by_sex: dict[str, dict[str, float]] = {}
        if self.model in ("sex", "sex+zone"):
            for s in ("F", "M"):
                by_sex[s] = {
                    p0name: self.estimate(f"{p0name}[{s}]"),
                    "sigma": self.estimate(f"sigma[{s}]"),
                }
            pm = self.estimate("pmix[M]")
            by_sex["F"]["share"] = 1.0 - pm
            by_sex["M"]["share"] = pm
            p0 = (1 - pm) * by_sex["F"][p0name] + pm * by_sex["M"][p0name]
            sig = (1 - pm) * by_sex["F"]["sigma"] + pm * by_sex["M"]["sigma"]
        else:
            p0 = self.estimate(p0name)
            sig = self.estimate("sigma")
        kw: dict[str, Any] = (
            {"lambda0": p0, "g0": None}
            if self.detectfn == "HHN"
            else {"g0": p0, "lambda0": None}
        )
        # Usage is counted in days whatever the occasion length, so lambda0 (HHN)
        # and g0 (HN: p = 1 - (1 - g0 h)^usage) are both per *day* of usage.
        return DetectionParams(
            detectfn=self.detectfn,
            sigma=sig,
            occasion_days=1.0,
            by_sex=by_sex,
            density_per_100km2=self.density_per_100km2,
            **kw,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of the fit."""
        return {
            "model": self.model,
            "detectfn": self.detectfn,
            "detector": self.detector,
            "occasion_days": self.occasion_days,
            "data": {
                "n_individuals": self.n,
                "n_detections": self.n_detections,
                "n_recaptures": self.n_recaptures,
            },
            "mask": {
                "n_points": self.mask_points,
                "spacing_m": self.mask_spacing,
                "buffer_m": self.mask_buffer,
                "cell_area_km2": self.mask_spacing**2 / 1e6,
            },
            "estimates": _records(self.estimates),
            "beta": {
                "names": list(self.beta_names),
                "estimate": self.beta.tolist(),
                "vcov": self.vcov.tolist(),
            },
            "loglik": self.loglik,
            "npar": self.npar,
            "aic": self.aic,
            "aicc": self.aicc,
            "region_n": _records(self.region_n),
            "optimizer": {
                "converged": self.converged,
                "message": self.message,
                "iterations": self.iterations,
                "evaluations": self.evaluations,
                "seconds": self.seconds,
            },
            "settings": self.settings,
            "detection": self.detection_params().to_dict(),
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append(
            {
                k: (
                    None
                    if isinstance(v, float) and not np.isfinite(v)
                    else (float(v) if isinstance(v, (np.floating, float)) else v)
                )
                for k, v in rec.items()
            }
        )
    return out


def _bounds(design: _scr.Design, mask: Mask) -> list[tuple[float, float]]:
    """Link-scale bounds that keep runaway parameters finite."""
    ext = float(np.ptp(mask.xy, axis=0).max()) + mask.spacing
    nd, c = design.n_d, design.n_classes
    p0b = (
        (math.log(1e-10), math.log(1e4)) if design.detectfn == "HHN" else (-30.0, 30.0)
    )
    out = [(math.log(1e-14), math.log(1e6))] * nd + [p0b] * c
    out += [(math.log(mask.spacing / 50.0), math.log(100.0 * ext))] * c
    if c > 1:
        out.append((-20.0, 20.0))
    return out


def _warn_bounds(
    at_bound: np.ndarray, design: _scr.Design, d_levels: list[str]
) -> None:
    if not np.any(at_bound):
        return
    nd = design.n_d
    which = []
    for k in np.flatnonzero(at_bound):
        if k < nd:
            which.append(
                f"density of {d_levels[k]!r} (no detected animal lives there?)"
            )
        else:
            which.append(f"parameter {k} on the link scale")
    warnings.warn(
        "Not estimable from these data (at the limit of its range or with a "
        "link-scale SE above 5): " + "; ".join(which) + ". Its estimate is not "
        "reliable and has no SE; simplify the model (e.g. merge zones).",
        TrapscapeWarning,
        stacklevel=4,
    )


def _safe_exp(x: float) -> float:
    if math.isnan(x):
        return math.nan
    return math.exp(x) if x < 700 else math.inf


def _real_row(
    name: str, link: str, b: float, se: float, scale: float = 1.0
) -> dict[str, Any]:
    if link == "log":
        est = _safe_exp(b)
        se_r = (
            est * math.sqrt(math.expm1(min(se * se, 700)))
            if np.isfinite(se)
            else np.nan
        )
        lcl, ucl = _safe_exp(b - _Z * se), _safe_exp(b + _Z * se)
    else:
        est = 1.0 / (1.0 + math.exp(-b))
        se_r = se * est * (1 - est)
        lcl = 1.0 / (1.0 + math.exp(-(b - _Z * se)))
        ucl = 1.0 / (1.0 + math.exp(-(b + _Z * se)))
    return {
        "parameter": name,
        "link": link,
        "estimate": est * scale,
        "se": se_r * scale,
        "lcl": lcl * scale,
        "ucl": ucl * scale,
    }


def log_likelihood(
    ch: CaptureHistory,
    mask: Mask,
    *,
    density_per_100km2: float,
    sigma: float,
    lambda0: float | None = None,
    g0: float | None = None,
    detectfn: DetectFn = "HHN",
    integer_usage: bool = True,
) -> float:
    """Log-likelihood of the null model at given real parameters.

    Equals secr's ``logLik`` for the same data, mask and parameters
    (full likelihood, Poisson N, collapsed occasions).

    Parameters
    ----------
    ch, mask
        Data and habitat mask.
    density_per_100km2
        Density (animals per 100 km²).
    sigma
        Spatial scale (m).
    lambda0, g0
        Baseline detection (HHN uses ``lambda0``, HN ``g0``).
    detectfn
        ``"HHN"`` or ``"HN"``.
    integer_usage
        Truncate each detector's summed usage to a whole number, as secr does
        when it collapses occasions (default); ``False`` keeps fractional
        usage.
    """
    design, _, _ = _design(
        ch, mask, detectfn=detectfn, model="null", integer_usage=integer_usage
    )
    p0 = lambda0 if detectfn == "HHN" else g0
    if p0 is None:
        raise InputError(
            f"detectfn {detectfn!r} needs {'lambda0' if detectfn == 'HHN' else 'g0'}."
        )
    real = _scr.Real(
        density=np.array([density_per_100km2 / PER_100KM2]),
        p0=np.array([p0]),
        sigma=np.array([sigma]),
        pmix=np.ones(1),
    )
    return _scr.loglik(_scr.pack(real, design), design)


def fit(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: DetectFn = "HHN",
    model: ModelName = "null",
    regions: Mapping[str, BaseGeometry] | None = None,
    region_zones: Mapping[str, BaseGeometry] | None = None,
    start: Sequence[float] | None = None,
    maxiter: int = 200,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> SCRFit:
    """Fit an SCR model by maximum likelihood.

    Parameters
    ----------
    ch
        Capture history (:func:`capture_history` or :class:`CaptureHistory`).
    mask
        Habitat mask (:func:`make_mask`).
    detectfn
        ``"HHN"`` hazard half-normal (lambda0, sigma) or ``"HN"`` half-normal
        (g0, sigma).
    model
        ``"null"``; ``"sex"`` (sex-specific detection parameters as a 2-class
        finite mixture with known class where sex is recorded, mixing
        proportion ``pmix[M]``); ``"zone"`` (density per mask zone label).
    regions
        Optional mapping name -> polygon (projected, metres) for expected and
        realised population size (secr's ``region.N``).
    region_zones
        For ``model="zone"``: mapping zone name -> polygon, to extrapolate the
        zone densities over regions outside the mask.
    start
        Optional link-scale starting values.
    maxiter
        Optimiser iteration limit.
    integer_usage
        Truncate summed usage to whole numbers as secr does (default), so
        that estimates and logLik match secr; ``False`` keeps fractional
        usage (setup/retrieval half days).
    max_memory_gb
        Memory budget in GiB; a mask x detector problem over it is refused
        before any array is built, naming a mask spacing that fits
        (``None``: no check).

    Returns
    -------
    SCRFit

    Raises
    ------
    ComputationError
        If the data cannot support the model (one animal, no recaptures,
        all detections at one station), the optimiser fails, or the fit
        would exceed ``max_memory_gb``.
    """
    with _scr.blas_single_thread():
        return _fit(
            ch,
            mask,
            detectfn=detectfn,
            model=model,
            regions=regions,
            region_zones=region_zones,
            start=start,
            maxiter=maxiter,
            integer_usage=integer_usage,
            max_memory_gb=max_memory_gb,
        )


def _fit(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: str,
    model: str,
    regions: Mapping[str, BaseGeometry] | None,
    region_zones: Mapping[str, BaseGeometry] | None,
    start: Sequence[float] | None,
    maxiter: int,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> SCRFit:
    t0 = time.perf_counter()
    _check_fittable(ch)
    design, d_levels, classes = _design(
        ch,
        mask,
        detectfn=detectfn,
        model=model,
        integer_usage=integer_usage,
        max_memory_gb=max_memory_gb,
    )
    sg = rpsv(ch)
    if not np.isfinite(sg) or sg <= 0:
        sg = mask.spacing * 2
    sg = max(sg, mask.spacing)
    beta0 = (
        np.asarray(start, dtype=np.float64)
        if start is not None
        else _start(ch, design, sg)
    )
    if beta0.size != design.n_beta:
        raise InputError(f"start must have {design.n_beta} link-scale values.")

    nev = [0]

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        nev[0] += 1
        v, g = _scr.loglik_and_gradient(b, design)
        if not np.isfinite(v):
            return 1e300, np.zeros_like(b)
        return -v, -g

    bounds = _bounds(design, mask)
    beta0 = np.clip(
        beta0, [lo + 1e-3 for lo, _ in bounds], [hi - 1e-3 for _, hi in bounds]
    )
    res = optimize.minimize(
        objective,
        beta0,
        jac=True,
        method="BFGS",
        options={"maxiter": maxiter, "gtol": 1e-6},
    )
    beta = res.x
    lo_b = np.array([lo for lo, _ in bounds])
    hi_b = np.array([hi for _, hi in bounds])
    if not np.all(np.isfinite(beta)) or np.any(beta < lo_b) or np.any(beta > hi_b):
        # a parameter ran away (e.g. a zone without animals): bounded refit
        res = optimize.minimize(
            objective,
            np.clip(np.nan_to_num(beta), lo_b, hi_b),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "gtol": 1e-7},
        )
        beta = res.x
    at_bound = (beta <= lo_b + 1e-4) | (beta >= hi_b - 1e-4)
    free = ~at_bound
    # one Newton step on the finite-difference Hessian of the analytic gradient
    hmat = _scr.hessian(beta, design)
    nev[0] += 2 * beta.size
    llb, g = _scr.loglik_and_gradient(beta, design)
    nev[0] += 1
    hf = hmat[np.ix_(free, free)]
    if np.max(np.abs(g[free])) > 1e-9:
        try:
            cand = beta.copy()
            cand[free] = beta[free] + np.linalg.solve(-hf, g[free])
            nev[0] += 1
            if _scr.loglik(cand, design) >= llb:
                beta = cand
        except np.linalg.LinAlgError:
            pass
    ll, grad = _scr.loglik_and_gradient(beta, design)
    converged = bool(np.isfinite(ll) and np.max(np.abs(grad[free])) < 1e-3)
    vcov = np.full((beta.size, beta.size), np.nan)
    try:
        vf = np.linalg.inv(-hf)
        if np.any(np.diag(vf) <= 0):
            raise np.linalg.LinAlgError
        vcov[np.ix_(free, free)] = vf
    except np.linalg.LinAlgError:
        converged = False
        warnings.warn(
            "The information matrix is not invertible: standard errors are "
            "unavailable (some parameters are not identifiable with these data).",
            TrapscapeWarning,
            stacklevel=3,
        )
    if not converged:
        warnings.warn(
            f"The SCR fit may not have converged ({res.message}); check the "
            "estimates, the mask buffer and the data.",
            TrapscapeWarning,
            stacklevel=3,
        )
    se = np.sqrt(np.abs(np.diag(vcov)))
    loose = free & (se > 5.0)
    if np.any(loose):
        at_bound = at_bound | loose
        se[loose] = np.nan
    _warn_bounds(at_bound, design, d_levels)

    # names and real-scale table
    p0name = "lambda0" if detectfn == "HHN" else "g0"
    p0link = "log" if detectfn == "HHN" else "logit"
    names: list[str] = []
    rows: list[dict[str, Any]] = []
    for k, lev in enumerate(d_levels):
        nm = "D" if model not in ("zone", "sex+zone") else f"D[{lev}]"
        names.append(nm)
        rows.append(_real_row(nm, "log", beta[k] + math.log(PER_100KM2), se[k]))
    c = len(classes)
    nd = len(d_levels)
    for k, cl in enumerate(classes):
        nm = p0name if c == 1 else f"{p0name}[{cl}]"
        names.append(nm)
        rows.append(_real_row(nm, p0link, beta[nd + k], se[nd + k]))
    for k, cl in enumerate(classes):
        nm = "sigma" if c == 1 else f"sigma[{cl}]"
        names.append(nm)
        rows.append(_real_row(nm, "log", beta[nd + c + k], se[nd + c + k]))
    if c > 1:
        names.append("pmix[M]")
        rows.append(_real_row("pmix[M]", "logit", beta[-1], se[-1]))
    table = pd.DataFrame(
        rows, columns=["parameter", "link", "estimate", "se", "lcl", "ucl"]
    )
    npar = beta.size
    n = ch.n
    aic = -2 * ll + 2 * npar
    aicc = aic + 2 * npar * (npar + 1) / (n - npar - 1) if n - npar - 1 > 0 else np.nan
    dens_m = np.exp(beta[:nd])[design.d_index] * PER_100KM2
    settings = {
        "mean_density_per_100km2": float(np.mean(dens_m)),
        "mask_area_km2": mask.area / 1e6,
        "integer_usage": integer_usage,
    }
    region_table = pd.DataFrame()
    if regions:
        region_table = _region_n(
            beta,
            vcov,
            design,
            mask,
            ch,
            regions,
            d_levels=d_levels,
            region_zones=region_zones,
        )
    seconds = time.perf_counter() - t0
    logger.info(
        "SCR %s/%s fit: n=%d, logL=%.4f, D=%.3f /100 km2 in %.1f s (%d evaluations)",
        model,
        detectfn,
        n,
        ll,
        float(table["estimate"].iloc[0]),
        seconds,
        nev[0],
    )
    return SCRFit(
        estimates=table,
        beta=beta,
        beta_names=tuple(names),
        vcov=vcov,
        loglik=ll,
        aic=aic,
        aicc=aicc,
        npar=npar,
        n=n,
        n_detections=ch.n_detections,
        n_recaptures=ch.n_recaptures,
        detectfn=detectfn,
        detector=ch.detector,
        model=model,
        occasion_days=ch.occasion_days,
        mask_points=len(mask),
        mask_spacing=mask.spacing,
        mask_buffer=mask.buffer,
        converged=converged,
        message=str(res.message),
        iterations=int(res.nit),
        evaluations=nev[0],
        seconds=seconds,
        region_n=region_table,
        settings=settings,
    )


def _with_region_n(
    result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    *,
    regions: Mapping[str, BaseGeometry] | None,
    region_zones: Mapping[str, BaseGeometry] | None,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> SCRFit:
    """``result`` with its region N table, for a fit made with ``regions=None``.

    Rebuilds the design of ``result`` on ``mask`` and computes the table from
    the fitted betas and their covariance, exactly as :func:`fit` would have.
    """
    if not regions:
        return result
    design, d_levels, _ = _design(
        ch,
        mask,
        detectfn=result.detectfn,
        model=result.model,
        integer_usage=integer_usage,
        max_memory_gb=max_memory_gb,
    )
    table = _region_n(
        result.beta,
        result.vcov,
        design,
        mask,
        ch,
        regions,
        d_levels=d_levels,
        region_zones=region_zones,
    )
    return replace(result, region_n=table)


# ---------------------------------------------------------------------------
# population size in regions (secr region.N)
# ---------------------------------------------------------------------------
def _region_points(
    geom: Any, spacing: float, max_points: int = 50000
) -> tuple[np.ndarray, float]:
    """Region mask as secr's ``make.mask(type = "polygon")``: cell centres in R.

    Returns the points and the cell area (m²).  The spacing is widened only
    when the region would need more than ``max_points`` cells.
    """
    import shapely

    minx, miny, maxx, maxy = geom.bounds
    sp = spacing
    while (float(geom.area) / sp**2) > max_points:
        sp *= 1.5
    eps = sp * 1e-9
    xs = np.arange(minx + sp / 2, maxx + eps, sp)
    ys = np.arange(miny + sp / 2, maxy + eps, sp)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[shapely.contains_xy(geom, pts[:, 0], pts[:, 1])]
    return pts, sp * sp


def _lognormal_ci(est: float, se: float, lower: float = 0.0) -> tuple[float, float]:
    """secr's ``add.cl``: log-normal interval for ``est - lower``."""
    delta = est - lower
    if not (np.isfinite(se) and delta > 0):
        return math.nan, math.nan
    cf = math.exp(_Z * math.sqrt(math.log1p((se / delta) ** 2)))
    return delta / cf + lower, delta * cf + lower


def _region_n(
    beta: np.ndarray,
    vcov: np.ndarray,
    design: _scr.Design,
    mask: Mask,
    ch: CaptureHistory,
    regions: Mapping[str, Any],
    *,
    d_levels: list[str],
    region_zones: Mapping[str, Any] | None,
) -> pd.DataFrame:
    """Population size in each region, as secr's ``region.N`` (plus a local R.N).

    * ``E.N``: expected number of activity centres in R, ``sum_R D(x) a`` on a
      region mask at the mask spacing; SE from the real-scale SE of D
      (homogeneous D) or the delta method on the density betas.
    * ``R.N``: secr's realised number (``RN.method = "poisson"``): all ``n``
      detected animals plus the expected number of undetected animals in R,
      SE ``sqrt(SE(E.N)^2 - E.N)``, log-normal CI bounded below by ``n``.
      Meant for regions that contain the whole survey.
    * ``R.N.local``: detected animals weighted by the posterior probability
      that their centre lies in R, plus the undetected animals in R (for
      parts of the survey area such as one country); SE by the delta method
      plus the Poisson variance of the undetected animals plus the
      membership variance ``sum p_i (1 - p_i)`` of the detected ones.
    """
    import shapely

    cols = ["region", "quantity", "estimate", "se", "lcl", "ucl", "n", "area_km2"]
    specs = []
    for name, geom0 in regions.items():
        geom = _as_geometry(geom0)
        if geom is None or geom.is_empty:
            continue
        rxy, rcell_m2 = _region_points(geom, mask.spacing)
        if len(rxy) == 0:
            continue
        if len(d_levels) > 1:
            labels = (
                np.array(_nearest_labels(rxy, mask))
                if region_zones is None
                else np.array(_zone_labels(rxy, region_zones))
            )
            lookup = {z: i for i, z in enumerate(d_levels)}
            r_dindex = np.array([lookup.get(z, -1) for z in labels])
            if np.any(r_dindex < 0):
                near = np.array([lookup[z] for z in _nearest_labels(rxy, mask)])
                r_dindex = np.where(r_dindex < 0, near, r_dindex)
        else:
            r_dindex = np.zeros(len(rxy), dtype=np.int64)
        in_mask = shapely.contains_xy(geom, mask.xy[:, 0], mask.xy[:, 1])
        specs.append(
            (
                str(name),
                geom,
                _with_points(design, ch, rxy),
                r_dindex,
                in_mask,
                rcell_m2 / HA,
            )
        )
    if not specs:
        return pd.DataFrame(columns=cols)
    n = ch.n
    nd = design.n_d
    eps = 1e-5
    variants = [beta]
    for k in range(beta.size):
        e = np.zeros(beta.size)
        e[k] = eps
        variants += [beta + e, beta - e]
    # (variant, region, [undetected in R, detected-in-R posterior mass])
    vals = np.empty((len(variants), len(specs), 2))
    # membership variance of the detected animals at the estimate: animal i's
    # centre lies in R with posterior probability p_i (Bernoulli: p_i (1 - p_i))
    member_var = np.zeros(len(specs))
    for v, b in enumerate(variants):
        real = _scr.unpack(b, design)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            parts = _scr.evaluate(b, design, keep=True)
        li = np.asarray(parts["li"])
        logw = np.asarray(parts["logw"])
        for r, (_, _, rd2, r_dindex, in_mask, rcell_ha) in enumerate(specs):
            dens_r = real.density[r_dindex]
            undet = 0.0
            for c in range(design.n_classes):
                logq = _scr.class_terms(
                    design, float(real.p0[c]), float(real.sigma[c]), d2=rd2
                )["logq"]
                undet += float(np.sum(real.pmix[c] * np.exp(logq) * dens_r)) * rcell_ha
            p_in = np.zeros(n)
            if np.any(in_mask):
                for c, lp in enumerate(list(parts["lp"])):  # type: ignore[call-overload]
                    lpc = lp[:, in_mask] + (logw[:, c] - li)[:, None]
                    p_in += np.exp(logsumexp(lpc, axis=1))
            det = float(np.sum(p_in))
            if v == 0:
                p_in = np.clip(p_in, 0.0, 1.0)
                member_var[r] = float(np.sum(p_in * (1.0 - p_in)))
            vals[v, r] = (undet, det)
    vc = np.nan_to_num(vcov)  # non-estimable parameters count as fixed
    real0 = _scr.unpack(beta, design)
    rows = []
    for r, (name, geom, _rd2, r_dindex, _in_mask, rcell_ha) in enumerate(specs):
        cells = np.bincount(r_dindex, minlength=nd).astype(np.float64) * rcell_ha
        contrib = real0.density * cells  # E.N by density level
        en = float(np.sum(contrib))
        if nd == 1:
            se_b = math.sqrt(vc[0, 0]) if vc[0, 0] > 0 else math.nan
            se_en = real0.density[0] * math.sqrt(math.expm1(se_b**2)) * cells[0]
        else:
            g_en = np.zeros(beta.size)
            g_en[:nd] = contrib
            se_en = math.sqrt(max(float(g_en @ vc @ g_en), 0.0))
        undet, det = vals[0, r]
        rn = n + undet
        se_rn = math.sqrt(se_en**2 - en) if se_en**2 > en else math.nan
        plus, minus = vals[1::2, r], vals[2::2, r]
        g_loc = ((plus[:, 0] + plus[:, 1]) - (minus[:, 0] + minus[:, 1])) / (2 * eps)
        rn_loc = det + undet
        var_loc = float(g_loc @ vc @ g_loc) + undet + member_var[r]
        se_loc = math.sqrt(var_loc) if var_loc >= 0 else math.nan
        area_km2 = float(geom.area) / 1e6
        for label, est, se, lower in (
            ("E.N", en, se_en, 0.0),
            ("R.N", rn, se_rn, float(n)),
            ("R.N.local", rn_loc, se_loc, 0.0),
        ):
            lcl, ucl = _lognormal_ci(est, se, lower)
            rows.append(
                {
                    "region": name,
                    "quantity": label,
                    "estimate": est,
                    "se": se,
                    "lcl": lcl,
                    "ucl": ucl,
                    "n": n,
                    "area_km2": area_km2,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def _nearest_labels(xy: np.ndarray, mask: Mask) -> list[str]:
    from scipy.spatial import cKDTree

    _, idx = cKDTree(mask.xy).query(xy)
    assert mask.zone is not None
    return [mask.zone[i] for i in idx]


def _with_points(design: _scr.Design, ch: CaptureHistory, xy: np.ndarray) -> np.ndarray:
    """Squared distances from other points (a region grid) to the detectors."""
    txy = ch.traps_xy[design.order]
    return np.asarray(
        (xy[:, 0:1] - txy[None, :, 0]) ** 2 + (xy[:, 1:2] - txy[None, :, 1]) ** 2
    )


# ---------------------------------------------------------------------------
# buffer check
# ---------------------------------------------------------------------------
def buffer_check(
    fit_result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    *,
    factor: float = 1.5,
    tolerance: float = 0.01,
) -> float:
    """Relative change in D if the mask buffer were ``factor`` times wider.

    With the fitted detection parameters, D-hat is close to ``n / esa``
    (effective sampling area); the esa of a wider mask is compared with the
    esa of the fitted mask (secr's ``esa.plot`` idea).  Warns with
    :class:`~trapscape.errors.TrapscapeWarning` when D would change by more
    than ``tolerance``.

    Returns
    -------
    float
        Estimated relative change of D (negative: D was overestimated).
    """
    if mask.buffer is None:
        return float("nan")
    wide = make_mask(
        ch.traps_xy,
        buffer=mask.buffer * factor,
        spacing=mask.spacing,
        habitat=mask.habitat,
    )
    dp = fit_result.detection_params()
    esas = []
    for m in (mask, wide):
        design, _, _ = _design(ch, m, detectfn=fit_result.detectfn, model="null")
        vals = [
            (w, (c.lambda0 if c.detectfn == "HHN" else c.g0) or 0.0, c.sigma)
            for w, c in dp.sex_classes()
        ]
        tot = 0.0
        for w, p0, sg in vals:
            logq = _scr.class_terms(design, float(p0), float(sg))["logq"]
            tot += w * float(np.sum(-np.expm1(logq))) * m.cell_area
        esas.append(tot)
    change = esas[0] / esas[1] - 1.0
    if abs(change) > tolerance:
        warnings.warn(
            f"The mask buffer ({mask.buffer:.0f} m) looks too small: widening it to "
            f"{mask.buffer * factor:.0f} m would change D by {100 * change:+.1f} %. "
            f"Refit with a larger buffer (e.g. buffer={mask.buffer * factor:.0f}).",
            TrapscapeWarning,
            stacklevel=2,
        )
    return change


# ---------------------------------------------------------------------------
# from a survey
# ---------------------------------------------------------------------------
def capture_history(
    survey: Survey,
    *,
    occasion_days: float = 1.0,
    detector: Detector = "proximity",
    species: str | None = None,
    independence_minutes: float = 30.0,
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

    Returns
    -------
    CaptureHistory
        Individuals sorted by id; sex is the most frequent recorded value.
    """
    from .effort import detection_events, station_usage

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


def survey_regions(survey: Survey) -> dict[str, Any]:
    """Regions for population size: study area, each park and each zone.

    Zones (countries) are cut to the surveyed region (the study area and the
    parks), so "N in Russia" means the Russian part of the area the survey
    speaks for, not an extrapolation over the whole country layer; zone parts
    smaller than 1 km² are left out.  Without a study area or parks the zones
    are used whole.
    """
    regions: dict[str, Any] = {}
    if survey.study_polygon is not None:
        regions["study area"] = survey.study_polygon
    surveyed = None
    parts = [
        g
        for g in (
            survey.study_polygon,
            survey.parks.geometry.union_all()
            if survey.parks is not None and len(survey.parks)
            else None,
        )
        if g is not None and not g.is_empty
    ]
    if parts:
        surveyed = shapely.union_all(parts)
    for layer, prefix in ((survey.parks, "park"), (survey.zones, "zone")):
        if layer is None or len(layer) == 0:
            continue
        names = (
            layer[V.NAME].astype(str)
            if V.NAME in layer.columns
            else pd.Series([f"{prefix} {i}" for i in range(len(layer))])
        )
        for nm in sorted(set(names)):
            geom = layer.geometry[names.to_numpy() == nm].union_all()
            if prefix == "zone" and surveyed is not None:
                geom = geom.intersection(surveyed)
                if geom.is_empty or geom.area < 1e6:
                    continue
            key = f"{prefix}: {nm}"
            regions[key] = geom
    return regions


def fit_survey(
    survey: Survey,
    *,
    model: ModelName = "null",
    detectfn: DetectFn = "HHN",
    detector: Detector = "proximity",
    occasion_days: float = 1.0,
    buffer: float | None = None,
    spacing: float | None = None,
    species: str | None = None,
    max_mask_points: int = 5000,
    check_buffer: bool = True,
    mask: Mask | None = None,
    independence_minutes: float = 30.0,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> SCRFit:
    """Fit an SCR model to a survey: capture history, mask, fit, regions.

    The mask is the stations buffered by ``buffer`` (default 4 x RPSV-based
    sigma guess), clipped to ``survey.habitat`` and labelled by
    ``survey.zones``. Expected and realised N are reported for the study
    area, each park and each zone.

    Parameters
    ----------
    survey
        The survey.
    model, detectfn, detector, occasion_days, species
        See :func:`fit` and :func:`capture_history`.
    buffer, spacing
        Mask buffer and spacing in metres.  By default the buffer is 4 x
        the RPSV-based sigma guess; when the fitted sigma is larger, the mask
        is rebuilt with a buffer of 4 x sigma-hat and the model refitted.
        The spacing defaults to sigma / 2, widened to keep at most
        ``max_mask_points`` points.
    max_mask_points
        Cap on mask size when choosing the spacing.
    check_buffer
        Warn (:func:`buffer_check`) when widening the buffer by half would
        change D by more than 1 %.
    mask
        Use this mask as given (e.g. one exported from secr and read with
        :func:`trapscape.secrio.read_secr_mask`) instead of building one;
        zone labels are added from the survey's zones when missing.
    independence_minutes
        Event independence for count detectors (see :func:`capture_history`).
    integer_usage
        Truncate summed usage to whole numbers as secr does (see :func:`fit`).
    max_memory_gb
        Memory budget in GiB (see :func:`make_mask` and :func:`fit`): a mask
        spacing whose mask and fit would exceed it is refused before the
        mask is built, naming a spacing that fits.
    """
    ch = capture_history(
        survey,
        occasion_days=occasion_days,
        detector=detector,
        species=species,
        independence_minutes=independence_minutes,
    )
    _check_fittable(ch)
    sg = rpsv(ch)
    if not np.isfinite(sg) or sg <= 0:
        sg = float(np.median(_nn_dist(ch.traps_xy)))
    zones = survey.zones if survey.zones is not None and len(survey.zones) else None
    if model in ("zone", "sex+zone") and zones is None:
        raise InputError(
            f"model={model!r} needs a zones layer (countries) in the survey."
        )
    habitat = (
        survey.habitat if survey.habitat is not None and len(survey.habitat) else None
    )
    given_mask = mask is not None
    if mask is not None:
        if mask.zone is None and zones is not None:
            mask = Mask(
                xy=mask.xy,
                spacing=mask.spacing,
                buffer=mask.buffer,
                zone=_zone_labels(mask.xy, zones),
                crs=mask.crs,
                habitat=mask.habitat,
            )
    else:
        mask = make_mask(
            ch.traps_xy,
            buffer=buffer,
            spacing=spacing,
            sigma_guess=sg,
            habitat=habitat,
            zones=zones,
            max_points=max_mask_points,
            crs=survey.crs,
            max_memory_gb=max_memory_gb,
        )
    zone_map = None
    if zones is not None:
        zone_map = {
            str(nm): zones.geometry[zones[V.NAME].astype(str) == str(nm)].union_all()
            for nm in zones[V.NAME].unique()
        }
    regions = survey_regions(survey)
    may_refit = buffer is None and not given_mask
    # a first fit that may be refitted on a wider mask skips region N: only
    # its betas (the refit's start) are kept
    result = fit(
        ch,
        mask,
        detectfn=detectfn,
        model=model,
        regions=None if may_refit else regions,
        region_zones=zone_map,
        integer_usage=integer_usage,
        max_memory_gb=max_memory_gb,
    )
    if may_refit:
        sig_hat = max(
            float(
                result.estimates.loc[
                    result.estimates["parameter"].str.startswith("sigma"), "estimate"
                ].max()
            ),
            1.0,
        )
        if 4.0 * sig_hat > 1.05 * float(mask.buffer or 0.0):
            # the guess was too small: rebuild the mask at 4 sigma-hat and refit
            logger.info("Refitting with buffer 4 x sigma-hat = %.0f m", 4 * sig_hat)
            mask = make_mask(
                ch.traps_xy,
                buffer=4.0 * sig_hat,
                spacing=spacing,
                sigma_guess=sig_hat,
                habitat=habitat,
                zones=zones,
                max_points=max_mask_points,
                crs=survey.crs,
                max_memory_gb=max_memory_gb,
            )
            result = fit(
                ch,
                mask,
                detectfn=detectfn,
                model=model,
                regions=regions,
                region_zones=zone_map,
                start=result.beta.tolist(),
                integer_usage=integer_usage,
                max_memory_gb=max_memory_gb,
            )
        else:
            result = _with_region_n(
                result,
                ch,
                mask,
                regions=regions,
                region_zones=zone_map,
                integer_usage=integer_usage,
                max_memory_gb=max_memory_gb,
            )
    if check_buffer:
        buffer_check(result, ch, mask)
    return result


def _nn_dist(xy: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    if len(xy) < 2:
        return np.array([1000.0])
    d, _ = cKDTree(xy).query(xy, k=2)
    return np.asarray(d[:, 1])
