"""Simulate a camera-trap survey from the spatial capture-recapture model.

The simulator is the data-generating model that spatially explicit
capture-recapture (SCR) assumes, so a simulated survey comes with its truth
(activity centres, sex, parameters, N per zone) and can be analysed exactly
like a real one:

1. **Activity centres** follow an inhomogeneous Poisson process whose
   intensity is constant within each zone (``densities``: zone name ->
   adults per 100 km²) and zero on sea, outside the habitat and near
   settlements, over the *state space*: the station areas plus a buffer.
   Optionally the density follows a surface on a covariate,
   ``D(x) = D_zone exp(beta z(x))`` (:class:`DensitySurface`, drawn by
   thinning), and :func:`simulate_sessions` simulates several annual
   sessions with ``D_s = D_0 lambda^s``.
   Each animal is male with probability ``1 / (1 + female_per_male)`` and
   gets its sex's movement scale σ and baseline hazard λ0.
2. **Stations** lie on a regular or jittered square grid (random origin)
   inside the study area, optionally plus a coarser grid in a neighbouring
   zone (the Chinese side) close to the study area; each station holds
   ``cameras_per_station`` cameras.  User stations can be given instead.
3. **Session**: every camera runs ``days`` days from ``start`` at 12:00;
   malfunctions come in runs of whole days and a few cameras are stolen
   (gone for the rest of the session).  A station works on a day while at
   least one of its cameras works (the usage convention of
   :mod:`trapscape.detection`).
4. **Detections**: animal *i* is detected at station *j* on day *k*
   ``Poisson(λ0_i · u_jk · exp(-d_ij² / 2σ_i²))`` times (hazard half-normal,
   station as detector).  Each detection event yields a burst of photos on
   every working camera of the station, at a time of day drawn from a
   nocturnal/crepuscular activity pattern (a von Mises mixture); a share of
   the photos cannot be identified (empty ``individual_id``).

References
----------
Efford M.G. (2004) Density estimation in live-trapping studies. Oikos 106,
598-610.
Borchers D.L. & Efford M.G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
Royle J.A., Chandler R.B., Sollmann R. & Gardner B. (2014) *Spatial
Capture-Recapture*. Academic Press (chapter 4: simulating SCR data).
Ridout M.S. & Linkie M. (2009) Estimating overlap of daily activity
patterns from camera trap data. JABES 14, 322-337.
Lewis P.A.W. & Shedler G.S. (1979) Simulation of nonhomogeneous Poisson
processes by thinning. Naval Research Logistics Quarterly 26, 403-413.
Vitkalova A.V. et al. (2018) Transboundary cooperation improves endangered
species monitoring and conservation actions: a case study of the global
population of Amur leopards. Conserv. Lett. 11, e12574.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from . import validation as V
from ._output import check_outputs, staged_outputs
from .crs import as_crs, require_projected
from .detection import DetectionParams
from .errors import CRSError, GeometryError, InputError, TrapscapeWarning

if TYPE_CHECKING:
    import pyproj

__all__ = [
    "SPECIES",
    "DensitySurface",
    "SimulatedSessions",
    "SimulatedSurvey",
    "SimulationParams",
    "activity_times",
    "density_surface",
    "draw_activity_centres",
    "expected_detections",
    "session_tables",
    "simulate_sessions",
    "simulate_survey",
    "station_grid",
    "write_simulated_sessions",
    "write_simulated_survey",
]

logger = logging.getLogger(__name__)

SPECIES = "Panthera pardus orientalis"

#: Default densities (adults per 100 km²) of the Land of the Leopard example.
DEFAULT_DENSITIES: dict[str, float] = {"Russia": 1.6, "China": 0.35, "North Korea": 0.0}

#: Activity pattern: (mean hour, von Mises concentration, weight); the rest
#: of the weight is spread uniformly over the day.
ACTIVITY_COMPONENTS: tuple[tuple[float, float, float], ...] = (
    (19.0, 6.0, 0.30),  # dusk
    (1.0, 2.0, 0.35),  # night
    (6.0, 6.0, 0.25),  # dawn
)


def _default_densities() -> dict[str, float]:
    return dict(DEFAULT_DENSITIES)


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of a simulated camera-trap survey.

    Distances are metres in ``crs``; densities are adults per 100 km².
    Defaults reproduce the bundled Land of the Leopard example.

    Attributes
    ----------
    densities
        Zone name -> density (adults per 100 km²); zones not named have none.
    female_per_male
        Sex ratio as females per male (1.2: M:F = 1:1.2).
    sigma_f, sigma_m
        Movement scale σ of females and males (half-normal, metres).
    lambda0
        Baseline detection hazard per station-day of usage.
    lambda0_f, lambda0_m
        Optional sex-specific λ0 (default: ``lambda0``).
    buffer
        State-space buffer around the station areas (default 3 σ_m).
    settlement_radius
        No activity centres within this distance of a settlement.
    spacing
        Station grid spacing.
    layout
        ``"jittered"`` or ``"regular"``.
    jitter
        Largest shift of a jittered station, as a fraction of ``spacing``.
    cameras_per_station
        Cameras per station (2 = paired cameras).
    extra_zone
        Zone where extra stations are placed near the study area (the
        Chinese side of the border), or ``None`` for none.
    extra_band
        Extra stations lie within this distance of the study area.
    extra_spacing
        Grid spacing of the extra stations (default 1.5 x ``spacing``).
    start
        First day of the session (cameras set up at 12:00).
    days
        Session length in days.
    malfunction_rate
        Expected share of camera-days lost to malfunctions (before theft).
    malfunction_run_days
        Mean length of a malfunction run, in days.
    theft_prob
        Probability that a camera is stolen during the session.
    photos_per_event
        Mean photos per working camera and detection event (>= 1).
    unidentifiable_share
        Share of photos whose individual cannot be identified.
    species
        Species name written to the sightings.
    crs
        Projected CRS of the simulation (metres).
    density_covariate
        Density surface covariate (default none: density constant within
        each zone): ``"x"`` or ``"y"`` (a coordinate) or the path of a
        numeric raster (elevation, forest cover, distance to roads).  The
        density becomes ``D(x) = exp(beta0 + beta z(x))`` with
        ``beta0 = log(densities[zone])`` and ``z`` the covariate
        standardised over the state space (see :class:`DensitySurface`).
    density_beta
        Coefficient ``beta`` of the standardised covariate (log scale, per
        standard deviation).
    density_grid
        Spacing (metres) of the grid over the state space on which the
        covariate is standardised and the expected N integrated.
    """

    densities: dict[str, float] = field(default_factory=_default_densities)
    female_per_male: float = 1.2
    sigma_f: float = 2500.0
    sigma_m: float = 4000.0
    lambda0: float = 0.05
    lambda0_f: float | None = None
    lambda0_m: float | None = None
    buffer: float = 12000.0
    settlement_radius: float = 2000.0
    spacing: float = 4200.0
    layout: str = "jittered"
    jitter: float = 0.25
    cameras_per_station: int = 2
    extra_zone: str | None = "China"
    extra_band: float = 6000.0
    extra_spacing: float | None = None
    start: str = "2024-01-10"
    days: int = 90
    malfunction_rate: float = 0.07
    malfunction_run_days: float = 6.0
    theft_prob: float = 0.03
    photos_per_event: float = 6.0
    unidentifiable_share: float = 0.05
    species: str = SPECIES
    crs: str = "EPSG:32652"
    density_covariate: str | None = None
    density_beta: float = 0.0
    density_grid: float = 500.0

    def __post_init__(self) -> None:
        bad: list[str] = []

        def positive(name: str, *, allow_zero: bool = False) -> None:
            v = getattr(self, name)
            ok = v is not None and np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
            if not ok:
                need = "zero or more" if allow_zero else "a positive number"
                bad.append(f"{name} must be {need}, got {v!r}.")

        for name in (
            "sigma_f",
            "sigma_m",
            "lambda0",
            "spacing",
            "female_per_male",
            "malfunction_run_days",
        ):
            positive(name)
        for name in ("buffer", "settlement_radius", "extra_band"):
            positive(name, allow_zero=True)
        for name in ("lambda0_f", "lambda0_m", "extra_spacing"):
            if getattr(self, name) is not None:
                positive(name)
        for name in (
            "malfunction_rate",
            "theft_prob",
            "unidentifiable_share",
            "jitter",
        ):
            v = getattr(self, name)
            if not (v is not None and 0.0 <= v < 1.0):
                bad.append(f"{name} must be in [0, 1), got {v!r}.")
        if self.jitter > 0.5:
            bad.append(
                f"jitter must be at most 0.5 (half the spacing), got {self.jitter!r}."
            )
        if self.layout not in ("jittered", "regular"):
            bad.append(f"layout must be 'jittered' or 'regular', got {self.layout!r}.")
        if not (
            isinstance(self.cameras_per_station, int) and self.cameras_per_station >= 1
        ):
            bad.append(
                f"cameras_per_station must be a whole number >= 1, got "
                f"{self.cameras_per_station!r}."
            )
        if not (isinstance(self.days, int) and self.days >= 1):
            bad.append(f"days must be a whole number >= 1, got {self.days!r}.")
        if not (self.photos_per_event is not None and self.photos_per_event >= 1):
            bad.append(
                f"photos_per_event must be at least 1, got {self.photos_per_event!r}."
            )
        if not isinstance(self.densities, Mapping) or not self.densities:
            bad.append(
                "densities must map zone names to adults per 100 km2, "
                "e.g. {'Russia': 1.6}."
            )
        else:
            for zone, d in self.densities.items():
                if not (isinstance(d, int | float) and np.isfinite(d) and d >= 0):
                    bad.append(
                        f"density of zone {zone!r} must be zero or more "
                        f"(adults per 100 km2), got {d!r}."
                    )
        try:
            pd.Timestamp(self.start)
        except (ValueError, TypeError):
            bad.append(
                f"start must be a date such as '2024-01-10', got {self.start!r}."
            )
        try:
            crs = as_crs(self.crs)
            require_projected(crs, "simulation CRS")
        except CRSError as err:
            bad.append(f"crs: {err}")
        bad += _surface_problems(self)
        if bad:
            msg = (
                ("Bad simulation parameters:\n  - " + "\n  - ".join(bad))
                if len(bad) > 1
                else f"Bad simulation parameter: {bad[0]}"
            )
            raise InputError(msg)

    def sigma_of(self, sex: str) -> float:
        """σ of sex ``"F"`` or ``"M"``."""
        return self.sigma_m if sex == "M" else self.sigma_f

    def lambda0_of(self, sex: str) -> float:
        """λ0 of sex ``"F"`` or ``"M"``."""
        own = self.lambda0_m if sex == "M" else self.lambda0_f
        return float(own if own is not None else self.lambda0)

    @property
    def male_share(self) -> float:
        """Probability that an animal is male."""
        return 1.0 / (1.0 + self.female_per_male)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready); the surface fields only when used."""
        out = asdict(self)
        if self.density_covariate is None:
            for key in _SURFACE_FIELDS:
                out.pop(key)
        return out

    def detection_params(
        self, *, density_per_100km2: float | None = None
    ) -> DetectionParams:
        """The true detection function as :class:`~trapscape.detection.DetectionParams`.

        Hazard half-normal per day of usage; ``sigma`` and ``lambda0`` are
        the sex-share-weighted means, with the exact values per sex in
        ``by_sex``.
        """
        pm = self.male_share
        return DetectionParams(
            detectfn="HHN",
            sigma=(1 - pm) * self.sigma_f + pm * self.sigma_m,
            lambda0=(1 - pm) * self.lambda0_of("F") + pm * self.lambda0_of("M"),
            occasion_days=1.0,
            by_sex={
                "F": {"sigma": self.sigma_f, "lambda0": self.lambda0_of("F")},
                "M": {"sigma": self.sigma_m, "lambda0": self.lambda0_of("M")},
            },
            density_per_100km2=density_per_100km2,
        )


@dataclass(frozen=True)
class SimulatedSurvey:
    """A simulated survey and its truth.

    Attributes
    ----------
    stations
        One row per camera deployment in the canonical schema (CRS of the
        parameters).
    problems
        Malfunction and theft intervals per deployment.
    sightings
        One row per photo, canonical columns.
    truth
        JSON-ready dict: parameters, seed, activity centres, N per zone,
        realised detections.
    centres
        Activity centres as points: ``individual_id``, ``sex``, ``zone``,
        ``sigma``, ``lambda0``.
    usage
        Station x day usage (fraction of each day a station worked), index
        ``station_id``, columns day numbers 0..days-1.
    events
        Detection events: ``individual_id``, ``station_id``, ``day``,
        ``timestamp``.
    state_space
        Where animals may live (params CRS): the region a correctly
        specified habitat mask covers.
    """

    stations: gpd.GeoDataFrame
    problems: pd.DataFrame
    sightings: pd.DataFrame
    truth: dict[str, Any]
    centres: gpd.GeoDataFrame
    usage: pd.DataFrame
    events: pd.DataFrame
    state_space: BaseGeometry | None = None


# --------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------
def _layer(
    frame: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None,
    crs: pyproj.CRS,
    what: str,
) -> BaseGeometry | None:
    """Union of a layer in ``crs`` (None for None)."""
    if frame is None:
        return None
    if isinstance(frame, BaseGeometry):
        return frame
    if frame.crs is None:
        raise CRSError(f"The {what} layer has no CRS. Set it (e.g. EPSG:4326) first.")
    if len(frame) == 0:
        raise GeometryError(f"The {what} layer is empty. Give at least one polygon.")
    geoms = frame.to_crs(crs).geometry
    return shapely.make_valid(geoms.union_all())


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygon parts of a geometry."""
    if geom.is_empty or isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [
        g
        for g in getattr(geom, "geoms", [geom])
        if isinstance(g, Polygon | MultiPolygon)
    ]
    return shapely.union_all(parts) if parts else Polygon()


def _uniform_points(geom: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform in a polygon (rejection from its bounding box)."""
    out = np.empty((0, 2))
    if n == 0:
        return out
    minx, miny, maxx, maxy = geom.bounds
    frac = max(geom.area / ((maxx - minx) * (maxy - miny)), 1e-3)
    shapely.prepare(geom)
    chunks = []
    have = 0
    while have < n:
        m = int((n - have) / frac * 1.2) + 16
        xy = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        keep = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
        chunks.append(keep)
        have += len(keep)
    return np.concatenate(chunks)[:n]


def station_grid(
    polygon: BaseGeometry,
    *,
    spacing: float,
    layout: str = "jittered",
    jitter: float = 0.25,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Station positions on a square grid inside ``polygon``.

    Parameters
    ----------
    polygon
        Area in a projected CRS (metres).
    spacing
        Grid spacing in metres.
    layout
        ``"regular"``: grid points; ``"jittered"``: each point moved by up to
        ``jitter * spacing`` in x and y (kept only when still inside).
    jitter
        Largest shift as a fraction of the spacing.
    rng
        Seed or generator; the grid origin is random.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` array of x, y, ordered south to north, west to east.
    """
    gen = np.random.default_rng(rng)
    minx, miny, maxx, maxy = polygon.bounds
    ox, oy = gen.uniform(0, spacing, 2)
    xs = np.arange(minx - spacing + ox, maxx + spacing, spacing)
    ys = np.arange(miny - spacing + oy, maxy + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    shift = gen.uniform(-jitter * spacing, jitter * spacing, xy.shape)
    # membership is decided by the grid point, so the count is area / spacing**2
    inside = shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])
    xy, shift = xy[inside], shift[inside]
    if layout == "jittered" and jitter > 0:
        moved = xy + shift
        ok = shapely.contains_xy(polygon, moved[:, 0], moved[:, 1])
        xy = np.where(ok[:, None], moved, xy)
    order = np.lexsort((xy[:, 0], xy[:, 1]))
    return xy[order]


# --------------------------------------------------------------------------
# activity centres
# --------------------------------------------------------------------------
def _density_regions(
    params: SimulationParams,
    state: BaseGeometry,
    zones: gpd.GeoDataFrame,
    *,
    warn: bool = True,
) -> list[tuple[str, float, BaseGeometry]]:
    """(zone name, density, polygon in the state space) for zones with density > 0."""
    names = zones[V.NAME].astype(str)
    unknown = sorted(set(params.densities) - set(names))
    known = [z for z in params.densities if z in set(names)]
    if not known:
        raise InputError(
            f"None of the density zones {sorted(params.densities)} is a zone of the "
            f"zones layer (its names: {sorted(set(names))}). Name zones as in its "
            "'name' column, e.g. --density Russia=1.6."
        )
    if unknown and warn:
        warnings.warn(
            f"Density zones {unknown} are not in the zones layer and get no animals.",
            TrapscapeWarning,
            stacklevel=3,
        )
    out = []
    for zone in sorted(known):
        dens = float(params.densities[zone])
        if dens <= 0:
            continue
        zgeom = shapely.make_valid(zones.geometry[names == zone].union_all())
        region = _polygonal(zgeom.intersection(state))
        if not region.is_empty and region.area > 0:
            out.append((zone, dens, region))
    return out


def draw_activity_centres(
    params: SimulationParams,
    *,
    state_space: BaseGeometry,
    zones: gpd.GeoDataFrame,
    rng: int | np.random.Generator | None = None,
    surface: DensitySurface | None = None,
) -> gpd.GeoDataFrame:
    """Draw activity centres from the zone densities over the state space.

    The number in each zone is Poisson with mean density x area, and the
    centres are uniform within the zone's part of the state space
    (inhomogeneous Poisson process with piecewise-constant intensity).
    With a density ``surface`` the intensity is ``D_zone exp(beta z(x))``
    instead, drawn exactly by thinning (:meth:`DensitySurface.draw`).

    Parameters
    ----------
    params
        Densities, sex ratio and sex-specific σ and λ0.
    state_space
        Polygon (params CRS) where animals may live: station areas plus the
        buffer, habitat only, settlements removed.
    zones
        Zones with a ``name`` column, in the params CRS.
    rng
        Seed or generator.
    surface
        Density covariate (:func:`density_surface`); by default built from
        ``params`` when ``params.density_covariate`` is set, else densities
        are constant within each zone.

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id``, ``sex``, ``zone``, ``sigma``, ``lambda0``, points.

    Raises
    ------
    InputError
        When the densities give fewer than one animal in expectation.
    """
    gen = np.random.default_rng(rng)
    crs = as_crs(params.crs)
    regions = _density_regions(params, state_space, zones)
    if surface is None and params.density_covariate is not None:
        surface = density_surface(params, state_space)
    if surface is None:
        expected = {z: d * r.area / 1e8 for z, d, r in regions}
    else:
        expected = surface.expected(regions)
    total = sum(expected.values())
    if total < 1.0:
        raise InputError(
            f"The densities {dict(params.densities)} give {total:.2f} animals in "
            "expectation over the state space (zones x habitat x buffer). Raise the "
            "densities, name the zones that hold the stations, or enlarge the area."
        )
    xs, ys, zone_of = [], [], []
    for zone, dens, region in regions:
        if surface is None:
            n = int(gen.poisson(expected[zone]))
            xy = _uniform_points(region, n, gen)
        else:
            xy = surface.draw(region, dens, gen)
            n = len(xy)
        xs.append(xy[:, 0])
        ys.append(xy[:, 1])
        zone_of += [zone] * n
    x = np.concatenate(xs) if xs else np.empty(0)
    y = np.concatenate(ys) if ys else np.empty(0)
    n = len(x)
    male = gen.random(n) < params.male_share
    sex = np.where(male, "M", "F")
    ids = [f"{'M' if m else 'F'}{k + 1:03d}" for k, m in enumerate(male)]
    frame = gpd.GeoDataFrame(
        {
            V.INDIVIDUAL_ID: ids,
            V.SEX: sex,
            V.ZONE: zone_of,
            "sigma": [params.sigma_of(s) for s in sex],
            "lambda0": [params.lambda0_of(s) for s in sex],
        },
        geometry=gpd.points_from_xy(x, y),
        crs=crs,
    )
    logger.info(
        "Drew %d activity centres (expected %.1f) over %.0f km2",
        n,
        total,
        state_space.area / 1e6,
    )
    return frame


# --------------------------------------------------------------------------
# detection model
# --------------------------------------------------------------------------
def expected_detections(
    centres: gpd.GeoDataFrame,
    station_xy: np.ndarray,
    usage_days: np.ndarray,
) -> np.ndarray:
    """Expected detection events per individual and station over the session.

    ``E[n_ij] = λ0_i · exp(-d_ij² / 2σ_i²) · U_j`` with ``U_j`` the station's
    usage summed over days (hazard half-normal, station as detector; see
    :mod:`trapscape.detection`).

    Parameters
    ----------
    centres
        Activity centres with ``sigma`` and ``lambda0`` columns (metres).
    station_xy
        ``(J, 2)`` station coordinates in the same CRS.
    usage_days
        ``(J,)`` days of usage per station (or ``(J, K)`` per occasion,
        summed).

    Returns
    -------
    numpy.ndarray
        ``(N, J)`` expected counts.
    """
    usage = np.asarray(usage_days, dtype=float)
    if usage.ndim == 2:
        usage = usage.sum(axis=1)
    cx = centres.geometry.x.to_numpy()[:, None]
    cy = centres.geometry.y.to_numpy()[:, None]
    sxy = np.asarray(station_xy, dtype=float)
    d2 = (cx - sxy[None, :, 0]) ** 2 + (cy - sxy[None, :, 1]) ** 2
    sig = centres["sigma"].to_numpy(dtype=float)[:, None]
    lam = centres["lambda0"].to_numpy(dtype=float)[:, None]
    return lam * np.exp(-d2 / (2.0 * sig**2)) * usage[None, :]


def activity_times(
    n: int, *, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Clock times (hours in [0, 24)) from the leopard activity pattern.

    A mixture of von Mises distributions around dusk (19 h), night (1 h)
    and dawn (6 h) plus a uniform part (:data:`ACTIVITY_COMPONENTS`),
    i.e. mostly nocturnal and crepuscular (cf. Ridout & Linkie 2009).
    """
    gen = np.random.default_rng(rng)
    weights = np.array(
        [w for _, _, w in ACTIVITY_COMPONENTS]
        + [1.0 - sum(w for _, _, w in ACTIVITY_COMPONENTS)]
    )
    comp = gen.choice(len(weights), size=n, p=weights)
    hours = gen.uniform(0.0, 24.0, n)
    for k, (mu, kappa, _w) in enumerate(ACTIVITY_COMPONENTS):
        sel = comp == k
        ang = gen.vonmises(2 * math.pi * mu / 24.0, kappa, int(sel.sum()))
        hours[sel] = (ang * 24.0 / (2 * math.pi)) % 24.0
    return hours


def _camera_operation(
    params: SimulationParams, n_cameras: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Working matrix (cameras x days) with clustered malfunctions and theft.

    Returns ``(working, stolen_day)`` where ``stolen_day`` is -1 when the
    camera was not stolen.
    """
    days = params.days
    working = np.ones((n_cameras, days), dtype=bool)
    run_mean = params.malfunction_run_days
    n_runs = gen.poisson(params.malfunction_rate * days / run_mean, n_cameras)
    for c in np.flatnonzero(n_runs):
        starts = gen.integers(0, days, n_runs[c])
        lengths = gen.geometric(1.0 / run_mean, n_runs[c])
        for s, ln in zip(starts, lengths, strict=True):
            working[c, s : s + ln] = False
    stolen = np.full(n_cameras, -1)
    theft = gen.random(n_cameras) < params.theft_prob
    stolen[theft] = gen.integers(1, days, int(theft.sum())) if days > 1 else 0
    for c in np.flatnonzero(theft):
        working[c, stolen[c] :] = False
    return working, stolen


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [a, b) runs where ``mask`` is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(
        zip(
            np.flatnonzero(d == 1).tolist(),
            np.flatnonzero(d == -1).tolist(),
            strict=True,
        )
    )


# --------------------------------------------------------------------------
# main entry
# --------------------------------------------------------------------------
def simulate_survey(
    params: SimulationParams,
    *,
    study_area: gpd.GeoDataFrame | BaseGeometry,
    zones: gpd.GeoDataFrame,
    habitat: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    stations: gpd.GeoDataFrame | None = None,
    rng: int | np.random.Generator | None = None,
    progress: bool = False,
) -> SimulatedSurvey:
    """Simulate a camera-trap survey with known truth.

    Parameters
    ----------
    params
        Simulation parameters (see :class:`SimulationParams`).
    study_area
        Polygon layer where the grid stations go (any CRS with a CRS set, or
        a shapely geometry already in ``params.crs``).
    zones
        Zones (countries) with a ``name`` column; ``params.densities`` refers
        to these names and ``params.extra_zone`` names one of them.
    habitat
        Land/habitat polygons; animals live only there (default: everywhere
        in the zones).
    settlements
        Settlement points; no activity centres within
        ``params.settlement_radius``.
    stations
        User stations instead of the grid: points with ``station_id`` (and
        optionally ``camera_id``; else ``cameras_per_station`` cameras each).
    rng
        Seed or generator.  The same seed gives the same survey.
    progress
        Unused (the simulation takes seconds); kept for API symmetry.

    Returns
    -------
    SimulatedSurvey

    Raises
    ------
    InputError
        Bad parameters, no station inside the study area (spacing too large),
        densities that give no animals.
    CRSError
        Layers without a CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> area = gpd.GeoDataFrame({"name": ["Russia"]},
    ...     geometry=[box(0, 0, 20000, 20000)], crs="EPSG:32652")
    >>> p = SimulationParams(densities={"Russia": 5.0}, extra_zone=None, days=30)
    >>> sim = simulate_survey(p, study_area=area, zones=area, rng=1)
    >>> sim.stations["station_id"].nunique()
    25
    """
    del progress
    if not isinstance(params, SimulationParams):
        raise InputError(
            "params must be a SimulationParams; build one with "
            "trapscape.simulate.SimulationParams(...)."
        )
    seed_info = rng if isinstance(rng, int) else None
    gen = np.random.default_rng(rng)
    layers = _Layers.read(params, study_area, zones, habitat, settlements)
    rng_layout, rng_centres, rng_ops, rng_det = gen.spawn(4)
    if stations is None:
        cams = _grid_cameras(params, layers, rng_layout)
    else:
        cams = _user_cameras(params, stations, layers)
    return _run_survey(params, layers, cams, (rng_centres, rng_ops, rng_det), seed_info)


def _run_survey(
    params: SimulationParams,
    layers: _Layers,
    cams: _Cameras,
    streams: tuple[np.random.Generator, ...],
    seed_info: int | None,
) -> SimulatedSurvey:
    """Animals, camera operation, detections and photos at the given cameras."""
    rng_centres, rng_ops, rng_det = streams
    state = _state_space(params, cams.areas, layers)
    surface = density_surface(params, state) if params.density_covariate else None
    centres = draw_activity_centres(
        params, state_space=state, zones=layers.zones, rng=rng_centres, surface=surface
    )
    if len(centres) == 0:
        warnings.warn(
            "No animal was drawn (small expected number); the survey has no "
            "detections. Raise the densities or change the seed.",
            TrapscapeWarning,
            stacklevel=3,
        )
    session = _Session.run(params, cams, rng_ops)
    exp_ij = expected_detections(centres, cams.station_xy, session.usage.sum(axis=1))
    n_ij = (
        rng_det.poisson(exp_ij) if exp_ij.size else np.zeros((0, cams.n_st), dtype=int)
    )
    ev = _detection_events(n_ij, session, rng_det)
    sight = _photos(params, ev, cams, session, centres, rng_det)
    truth = _truth(
        params, seed_info, centres, state, layers, cams, n_ij, exp_ij, session, sight
    )
    if surface is not None:
        truth.update(surface.truth(params, state, layers))
    logger.info(
        "Simulated %d stations (%d cameras), %d animals, %d events, %d photos",
        cams.n_st,
        cams.n_cam,
        len(centres),
        len(ev),
        len(sight),
    )
    return SimulatedSurvey(
        stations=_stations_frame(cams, session, layers.crs),
        problems=session.problems(cams),
        sightings=sight,
        truth=truth,
        centres=centres,
        usage=pd.DataFrame(
            session.usage, index=pd.Index(cams.station_ids, name=V.STATION_ID)
        ),
        events=_events_frame(ev, centres, cams.station_ids),
        state_space=state,
    )


@dataclass(frozen=True)
class _Layers:
    """The input layers as geometries in the simulation's CRS."""

    crs: pyproj.CRS
    zones: gpd.GeoDataFrame
    study: BaseGeometry
    habitat: BaseGeometry | None
    settle: BaseGeometry | None

    @classmethod
    def read(
        cls,
        params: SimulationParams,
        study_area: gpd.GeoDataFrame | BaseGeometry,
        zones: gpd.GeoDataFrame,
        habitat: gpd.GeoDataFrame | None,
        settlements: gpd.GeoDataFrame | None,
    ) -> _Layers:
        """Check the layers and project them to ``params.crs``."""
        crs = as_crs(params.crs)
        if zones is None or V.NAME not in zones.columns:
            raise InputError(
                "The zones layer needs a 'name' column with the zone names "
                "used in densities (e.g. 'Russia', 'China')."
            )
        zones_m = zones.to_crs(crs) if zones.crs is not None else None
        if zones_m is None:
            raise CRSError("The zones layer has no CRS. Set it (e.g. EPSG:4326) first.")
        study = _polygonal(_layer(study_area, crs, "study area"))
        if study.is_empty or study.area <= 0:
            raise GeometryError(
                "The study area has no polygon area. Give a polygon layer."
            )
        habitat_g = (
            _polygonal(_layer(habitat, crs, "habitat")) if habitat is not None else None
        )
        settle = None
        if (
            settlements is not None
            and len(settlements)
            and params.settlement_radius > 0
        ):
            if settlements.crs is None:
                raise CRSError("The settlements layer has no CRS. Set it first.")
            settle = (
                settlements.to_crs(crs)
                .geometry.buffer(params.settlement_radius)
                .union_all()
            )
        return cls(crs, zones_m, study, habitat_g, settle)


@dataclass(frozen=True)
class _Cameras:
    """Cameras (one row per camera) and the areas their stations cover."""

    frame: pd.DataFrame  # station_id, camera_id, x, y
    areas: list[BaseGeometry]
    station_ids: list[str]  # in order of first appearance
    station_xy: np.ndarray  # location of each station (its first camera)

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]], areas: list[BaseGeometry]) -> _Cameras:
        """Cameras from ``(station_id, camera_id, x, y)`` rows."""
        frame = pd.DataFrame(rows, columns=[V.STATION_ID, V.CAMERA_ID, "x", "y"])
        station_ids = list(dict.fromkeys(frame[V.STATION_ID]))
        first = frame.groupby(V.STATION_ID, sort=False)[["x", "y"]].first()
        return cls(frame, areas, station_ids, first.loc[station_ids].to_numpy())

    @property
    def n_st(self) -> int:
        """Number of stations."""
        return len(self.station_ids)

    @property
    def n_cam(self) -> int:
        """Number of cameras."""
        return len(self.frame)

    @property
    def station_of_camera(self) -> np.ndarray:
        """Index into :attr:`station_ids` of each camera's station."""
        return np.asarray(
            pd.Index(self.station_ids).get_indexer(self.frame[V.STATION_ID])
        )

    @property
    def deployment(self) -> np.ndarray:
        """Deployment id ``station/camera`` of each camera."""
        return np.asarray(
            (self.frame[V.STATION_ID] + "/" + self.frame[V.CAMERA_ID]).to_numpy()
        )

    def station_points(self, crs: pyproj.CRS) -> gpd.GeoDataFrame:
        """The stations as points."""
        xy = self.station_xy
        return gpd.GeoDataFrame(
            {V.STATION_ID: self.station_ids},
            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
            crs=crs,
        )


def _grid_cameras(
    params: SimulationParams, layers: _Layers, gen: np.random.Generator
) -> _Cameras:
    """Cameras on the station grid of the study area and the extra zone's band."""
    study = layers.study
    if params.spacing**2 > study.area:
        raise InputError(
            f"Station spacing {params.spacing:.0f} m is larger than the study area "
            f"({study.area / 1e6:.1f} km2, i.e. {math.sqrt(study.area):.0f} m square): "
            "a grid would hold at most one station. Use a smaller spacing."
        )
    xy = station_grid(
        study,
        spacing=params.spacing,
        layout=params.layout,
        jitter=params.jitter,
        rng=gen,
    )
    if len(xy) == 0:
        w = (study.bounds[2] - study.bounds[0]) / 1000
        h = (study.bounds[3] - study.bounds[1]) / 1000
        raise InputError(
            f"Station spacing {params.spacing:.0f} m leaves no station inside the "
            f"study area ({study.area / 1e6:.1f} km2, extent {w:.1f} x {h:.1f} km). "
            "Use a smaller spacing."
        )
    st_ids = [f"S{k + 1:03d}" for k in range(len(xy))]
    areas = [study]
    if params.extra_zone is not None:
        band, ex, ex_ids = _extra_zone_stations(params, params.extra_zone, layers, gen)
        if band is not None:
            areas.append(band)
            st_ids += ex_ids
            xy = np.vstack([xy, ex])
    cams = [chr(ord("a") + c) for c in range(params.cameras_per_station)]
    rows = [
        (sid, cam, x, y) for sid, (x, y) in zip(st_ids, xy, strict=True) for cam in cams
    ]
    return _Cameras.of(rows, areas)


def _extra_zone_stations(
    params: SimulationParams, zone: str, layers: _Layers, gen: np.random.Generator
) -> tuple[BaseGeometry | None, np.ndarray, list[str]]:
    """Band of the extra ``zone`` next to the study area and its stations.

    Returns ``(band, xy, ids)``; ``band`` is None when the zone has no habitat
    within ``params.extra_band`` of the study area.
    """
    names = layers.zones[V.NAME].astype(str)
    if zone not in set(names):
        raise InputError(
            f"extra_zone {zone!r} is not a zone of the zones layer "
            f"(its names: {sorted(set(names))}). Name one of these or pass "
            "extra_zone=None (--no-china-stations)."
        )
    zone_g = shapely.make_valid(layers.zones.geometry[names == zone].union_all())
    study = layers.study
    band = zone_g.intersection(study.buffer(params.extra_band)).difference(study)
    if layers.habitat is not None:
        band = band.intersection(layers.habitat)
    band = _polygonal(band)
    if band.is_empty:
        return None, np.empty((0, 2)), []
    ex = station_grid(
        band,
        spacing=params.extra_spacing or 1.5 * params.spacing,
        layout=params.layout,
        jitter=params.jitter,
        rng=gen,
    )
    prefix = "".join(ch for ch in zone.upper() if ch.isalpha())[:2]
    return band, ex, [f"{prefix}{k + 1:03d}" for k in range(len(ex))]


def _user_cameras(
    params: SimulationParams, stations: gpd.GeoDataFrame, layers: _Layers
) -> _Cameras:
    """Cameras at the user's stations (``cameras_per_station`` each unless given)."""
    crs = layers.crs
    if stations.crs is None:
        raise CRSError("The stations have no CRS. Set it (e.g. EPSG:4326) first.")
    if V.STATION_ID not in stations.columns:
        raise InputError("User stations need a 'station_id' column.")
    st = stations.to_crs(crs)
    if len(st) == 0:
        raise InputError("The stations layer is empty; give at least one station.")
    if V.CAMERA_ID in st.columns:
        rows = [
            (str(s), str(c), g.x, g.y)
            for s, c, g in zip(
                st[V.STATION_ID], st[V.CAMERA_ID], st.geometry, strict=True
            )
        ]
    else:
        cams = [chr(ord("a") + c) for c in range(params.cameras_per_station)]
        rows = [
            (str(s), cam, g.x, g.y)
            for s, g in zip(st[V.STATION_ID], st.geometry, strict=True)
            for cam in cams
        ]
    area = shapely.MultiPoint([(r[2], r[3]) for r in rows]).buffer(1.0)
    return _Cameras.of(rows, [layers.study, area])


def _state_space(
    params: SimulationParams, station_areas: list[BaseGeometry], layers: _Layers
) -> BaseGeometry:
    """Buffered station areas, within the habitat and away from settlements."""
    state = shapely.union_all(station_areas).buffer(params.buffer)
    if layers.habitat is not None:
        state = state.intersection(layers.habitat)
    if layers.settle is not None:
        state = state.difference(layers.settle)
    return _polygonal(state)


@dataclass(frozen=True)
class _Session:
    """Survey period and which camera worked on which day."""

    start: pd.Timestamp
    end: pd.Timestamp
    working: np.ndarray  # cameras x days
    stolen: np.ndarray  # day of theft per camera, -1 if not stolen
    usage: np.ndarray  # stations x days, 1 if any camera of the station worked
    station_of_camera: np.ndarray

    @classmethod
    def run(
        cls, params: SimulationParams, cams: _Cameras, gen: np.random.Generator
    ) -> _Session:
        """Draw camera operation (:func:`_camera_operation`) over the survey days."""
        start = pd.Timestamp(params.start).normalize() + pd.Timedelta(hours=12)
        end = start + pd.Timedelta(days=params.days)
        working, stolen = _camera_operation(params, cams.n_cam, gen)
        cam_station = cams.station_of_camera
        usage = np.zeros((cams.n_st, params.days))
        np.maximum.at(usage, cam_station, working.astype(float))
        return cls(start, end, working, stolen, usage, cam_station)

    def problems(self, cams: _Cameras) -> pd.DataFrame:
        """Malfunction and theft intervals per deployment."""
        deployment = cams.deployment
        rows = []
        for c in range(cams.n_cam):
            for a, b in _runs(~self.working[c]):
                rows.append(
                    (
                        deployment[c],
                        self.start + pd.Timedelta(days=a),
                        self.start + pd.Timedelta(days=b),
                        bool(self.stolen[c] >= 0 and a <= self.stolen[c] < b),
                    )
                )
        problems = pd.DataFrame(
            rows, columns=[V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO, "theft"]
        )
        problems[V.PROBLEM_FROM] = pd.to_datetime(problems[V.PROBLEM_FROM])
        problems[V.PROBLEM_TO] = pd.to_datetime(problems[V.PROBLEM_TO])
        return problems


def _detection_events(
    n_ij: np.ndarray, session: _Session, gen: np.random.Generator
) -> pd.DataFrame:
    """Events ``i`` (animal), ``j`` (station), ``day``, ``timestamp``, in time order.

    ``n_ij`` events of animal i at station j fall uniformly on the station's
    working days, at clock times from :func:`activity_times`.
    """
    ev_rows = []
    for i, j in zip(*np.nonzero(n_ij), strict=True):
        days_ok = np.flatnonzero(session.usage[j] > 0)
        # usage is 0/1 per day here, so events fall uniformly on working days
        ks = np.sort(gen.choice(days_ok, size=int(n_ij[i, j]), replace=True))
        for k in ks:
            ev_rows.append((i, j, int(k)))
    ev = pd.DataFrame(ev_rows, columns=["i", "j", "day"])
    hours = activity_times(len(ev), rng=gen)
    # clock hour -> offset within the noon-to-noon day (keep 10 minutes for the burst)
    offset_h = np.minimum((hours - 12.0) % 24.0, 24.0 - 1.0 / 6.0)
    ev_time = (
        session.start
        + pd.to_timedelta(ev["day"].to_numpy(), unit="D")
        + pd.to_timedelta(np.round(offset_h * 3600.0), unit="s")
    )
    ev["timestamp"] = ev_time
    return ev.sort_values(["timestamp", "j", "i"], kind="stable").reset_index(drop=True)


def _photos(
    params: SimulationParams,
    ev: pd.DataFrame,
    cams: _Cameras,
    session: _Session,
    centres: gpd.GeoDataFrame,
    gen: np.random.Generator,
) -> pd.DataFrame:
    """Sightings: a burst of photos per event and working camera of its station."""
    station_ids = cams.station_ids
    camera_ids = cams.frame[V.CAMERA_ID]
    cams_of_station = [
        np.flatnonzero(session.station_of_camera == j) for j in range(cams.n_st)
    ]
    rows_station, rows_cam, rows_time, rows_ind = [], [], [], []
    for i, j, k, t in zip(ev["i"], ev["j"], ev["day"], ev["timestamp"], strict=True):
        for c in cams_of_station[j]:
            if not session.working[c, k]:
                continue
            n_ph = 1 + int(gen.poisson(params.photos_per_event - 1.0))
            lag = int(gen.integers(0, 30))
            gaps = np.cumsum(gen.integers(1, 6, n_ph)) - 1 + lag
            for g in gaps:
                rows_station.append(station_ids[j])
                rows_cam.append(camera_ids.iat[c])
                rows_time.append(t + pd.Timedelta(seconds=int(g)))
                rows_ind.append(i)
    n_ph = len(rows_ind)
    ind = np.asarray(rows_ind, dtype=int)
    unident = gen.random(n_ph) < params.unidentifiable_share
    ids_all = centres[V.INDIVIDUAL_ID].to_numpy()
    sex_all = centres[V.SEX].to_numpy()
    sight = pd.DataFrame(
        {
            V.STATION_ID: pd.Series(rows_station, dtype=object),
            V.CAMERA_ID: pd.Series(rows_cam, dtype=object),
            V.TIMESTAMP: pd.to_datetime(pd.Series(rows_time, dtype="datetime64[ns]")),
            V.SPECIES: params.species,
            V.INDIVIDUAL_ID: _unless(ids_all, ind, unident),
            V.SEX: _unless(sex_all, ind, unident),
            V.COUNT: np.ones(n_ph, dtype=int),
        }
    )
    sight[V.DEPLOYMENT_ID] = sight[V.STATION_ID] + "/" + sight[V.CAMERA_ID]
    sight = sight.sort_values(
        [V.TIMESTAMP, V.STATION_ID, V.CAMERA_ID], kind="stable"
    ).reset_index(drop=True)
    sight[V.MEDIA_ID] = [f"IMG{k + 1:06d}" for k in range(len(sight))]
    return sight[list(V.SIGHTING_COLUMNS)]


def _unless(values: np.ndarray, ind: np.ndarray, hidden: np.ndarray) -> Any:
    """``values[ind]`` as a string array, missing where ``hidden``."""
    return pd.array(
        [None if u else values[v] for v, u in zip(ind, hidden, strict=True)],
        dtype="string",
    )


def _stations_frame(
    cams: _Cameras, session: _Session, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    """One row per camera deployment in the canonical stations schema."""
    n_cam = cams.n_cam
    return gpd.GeoDataFrame(
        {
            V.STATION_ID: cams.frame[V.STATION_ID].to_numpy(),
            V.CAMERA_ID: cams.frame[V.CAMERA_ID].to_numpy(),
            V.DEPLOYMENT_ID: cams.deployment,
            V.SETUP: pd.Series([session.start] * n_cam, dtype="datetime64[ns]"),
            V.RETRIEVAL: pd.Series([session.end] * n_cam, dtype="datetime64[ns]"),
            V.SETUP_TIME_KNOWN: True,
            V.RETRIEVAL_TIME_KNOWN: True,
        },
        geometry=gpd.points_from_xy(cams.frame["x"], cams.frame["y"]),
        crs=crs,
    )


def _events_frame(
    ev: pd.DataFrame, centres: gpd.GeoDataFrame, station_ids: list[str]
) -> pd.DataFrame:
    """Detection events with individual and station ids."""
    ids_all = centres[V.INDIVIDUAL_ID].to_numpy()
    return pd.DataFrame(
        {
            V.INDIVIDUAL_ID: ids_all[ev["i"].to_numpy()]
            if len(ev)
            else pd.Series(dtype=object),
            V.STATION_ID: np.asarray(station_ids, dtype=object)[ev["j"].to_numpy()]
            if len(ev)
            else pd.Series(dtype=object),
            "day": ev["day"].to_numpy(),
            V.TIMESTAMP: ev["timestamp"].to_numpy(),
        }
    )


def _expected_truth(
    params: SimulationParams, state: BaseGeometry, layers: _Layers
) -> dict[str, Any]:
    """Expected numbers of animals and the detection parameters, for the truth."""
    regions = _density_regions(params, state, layers.zones, warn=False)
    study = layers.study
    expected_zone = {z: d * r.area / 1e8 for z, d, r in regions}
    expected_study = sum(d * r.intersection(study).area / 1e8 for _z, d, r in regions)
    dens_study = expected_study / (study.area / 1e8)
    return {
        "expected_n_by_zone": {z: _r(v, 3) for z, v in sorted(expected_zone.items())},
        "expected_n_in_study_area": _r(expected_study, 3),
        "detection": params.detection_params(
            density_per_100km2=_r(dens_study, 4)
        ).to_dict(),
    }


def _zone_names(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the zone containing each point ('' outside every zone)."""
    out = np.full(len(points), "", dtype=object)
    for name, geom in zip(zones[V.NAME].astype(str), zones.geometry, strict=True):
        inside = shapely.contains_xy(
            geom, points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
        )
        out[inside & (out == "")] = name
    return out


def _r(v: float, nd: int = 3) -> float:
    return float(round(float(v), nd))


def _truth(
    params: SimulationParams,
    seed: int | None,
    centres: gpd.GeoDataFrame,
    state: BaseGeometry,
    layers: _Layers,
    cams: _Cameras,
    n_ij: np.ndarray,
    exp_ij: np.ndarray,
    session: _Session,
    sight: pd.DataFrame,
) -> dict[str, Any]:
    """The truth of a simulated survey as a JSON-ready dict."""
    working, stolen, usage = session.working, session.stolen, session.usage
    study, station_ids = layers.study, cams.station_ids
    st_zone = _zone_names(cams.station_points(layers.crs), layers.zones)
    crs = as_crs(params.crs)
    ll = centres.to_crs(4326).geometry
    in_study = shapely.contains_xy(
        study, centres.geometry.x.to_numpy(), centres.geometry.y.to_numpy()
    )
    photos = (
        sight.groupby(V.INDIVIDUAL_ID).size() if len(sight) else pd.Series(dtype=int)
    )
    animals = []
    for k, (_, row) in enumerate(centres.iterrows()):
        det = np.flatnonzero(n_ij[k]) if len(n_ij) else np.array([], dtype=int)
        zones_seen = sorted({str(st_zone[j]) for j in det})
        animals.append(
            {
                "individual_id": row[V.INDIVIDUAL_ID],
                "sex": row[V.SEX],
                "zone": row[V.ZONE],
                "x": _r(row.geometry.x, 1),
                "y": _r(row.geometry.y, 1),
                "longitude": _r(ll.iat[k].x, 6),
                "latitude": _r(ll.iat[k].y, 6),
                "sigma": _r(row["sigma"], 1),
                "lambda0": _r(row["lambda0"], 6),
                "in_study_area": bool(in_study[k]),
                "events": int(n_ij[k].sum()),
                "expected_events": _r(exp_ij[k].sum(), 4),
                "photos_identified": int(photos.get(row[V.INDIVIDUAL_ID], 0)),
                "stations_detected": [station_ids[j] for j in det],
                "zones_detected": zones_seen,
            }
        )
    n_zone = centres[V.ZONE].value_counts().sort_index()
    cam_days = working.size
    lost = int((~working).sum())
    detected = [a for a in animals if a["events"] > 0]
    truth: dict[str, Any] = {
        "description": "Truth of a survey simulated by trapscape.simulate (SCR data-"
        "generating model; hazard half-normal, station = detector).",
        "seed": seed,
        "crs": crs.to_string(),
        "parameters": params.to_dict(),
        "state_space_km2": _r(state.area / 1e6, 2),
        "study_area_km2": _r(study.area / 1e6, 2),
        "n_total": len(centres),
        "n_by_zone": {str(k): int(v) for k, v in n_zone.items()},
        "n_by_sex": {s: int((centres[V.SEX] == s).sum()) for s in ("F", "M")},
        "n_in_study_area": int(in_study.sum()),
        "n_detected": len(detected),
        "n_detected_in_several_zones": sum(
            1 for a in detected if len(a["zones_detected"]) > 1
        ),
        "stations": len(station_ids),
        "stations_by_zone": {
            str(z): int((st_zone == z).sum()) for z in sorted(set(st_zone))
        },
        "cameras": int(working.shape[0]),
        "camera_days": int(cam_days),
        "camera_days_lost": lost,
        "camera_days_lost_share": _r(lost / cam_days if cam_days else 0.0, 4),
        "cameras_stolen": int((stolen >= 0).sum()),
        "station_days_used": _r(usage.sum(), 1),
        "events": int(n_ij.sum()),
        "expected_events": _r(exp_ij.sum(), 3),
        "photos": len(sight),
        "photos_unidentified": int(sight[V.INDIVIDUAL_ID].isna().sum()),
        "animals": animals,
    }
    truth.update(_expected_truth(params, state, layers))
    return truth


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
BOUNDARY_KEYS = ("study_area", "zones", "parks", "border", "habitat")
RASTER_KEYS = ("elevation", "landcover", "settlements", "rivers")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=True)


def _project_toml(
    name: str, species: str, crs: str, paths: dict[str, str], description: str
) -> str:
    lines = [
        "# trapscape project file written by trapscape.simulate (simulated survey).",
        "# Paths are relative to this file.",
        "",
        "[survey]",
        f"name = {_toml_value(name)}",
        f"description = {_toml_value(description)}",
        f"crs = {_toml_value(crs)}",
        'stations = "stations.csv"',
        'sightings = "sightings.csv"',
        f"species = {_toml_value(species)}",
        "",
        "[boundaries]",
    ]
    lines += [f"{k} = {_toml_value(paths[k])}" for k in BOUNDARY_KEYS if k in paths]
    lines += ["", "[rasters]"]
    extra = sorted(k for k in paths if k not in BOUNDARY_KEYS and k not in RASTER_KEYS)
    lines += [
        f"{k} = {_toml_value(paths[k])}" for k in (*RASTER_KEYS, *extra) if k in paths
    ]
    lines += [
        "",
        "[steps]",
        "coverage = true",
        "density = true",
        "homerange = true",
        "corridors = true",
        "plan = true",
        "map = true",
        "report = true",
        "",
        "[coverage]",
        *(
            [
                "# Coverage over the study area and every park, so both countries",
                "# are reported.",
                'region = "study_area+parks"',
            ]
            if "parks" in paths
            else []
        ),
        "",
        "[density]",
        "# The simulation draws activity centres with a density per zone and gives",
        "# females and males different movement scales (sigma 2.5 and 4 km), so the",
        "# model lets D differ by zone and lambda0/sigma by sex.",
        'model = "sex+zone"',
        "",
        "[homerange]",
        "",
        "[corridors]",
        "",
        "[plan]",
        *(
            [
                "# New cameras go where the gaps are: the study area and every park,",
                "# on both sides of the border.",
                'region = "study_area+parks"',
            ]
            if "parks" in paths
            else []
        ),
        "",
        "[map]",
        "",
        "[report]",
        f"title = {_toml_value(name)}",
        "",
    ]
    return "\n".join(lines)


def _stations_csv(sim: SimulatedSurvey) -> pd.DataFrame:
    """Canonical stations CSV frame (used if trapscape.io is unavailable)."""
    st = sim.stations
    ll = st.geometry.to_crs(4326)
    out = pd.DataFrame(
        {
            V.STATION_ID: st[V.STATION_ID].to_numpy(),
            V.CAMERA_ID: st[V.CAMERA_ID].to_numpy(),
            V.DEPLOYMENT_ID: st[V.DEPLOYMENT_ID].to_numpy(),
            "longitude": [repr(float(v)) for v in ll.x],
            "latitude": [repr(float(v)) for v in ll.y],
            V.SETUP: st[V.SETUP].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            V.RETRIEVAL: st[V.RETRIEVAL].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        }
    )
    pr = sim.problems.copy()
    if len(pr):
        pr["_k"] = pr.groupby(V.DEPLOYMENT_ID, sort=False).cumcount() + 1
        pos = {d: i for i, d in enumerate(out[V.DEPLOYMENT_ID])}
        for k in range(1, int(pr["_k"].max()) + 1):
            f_col, t_col = [""] * len(out), [""] * len(out)
            for d, a, b in pr.loc[
                pr["_k"] == k, [V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]
            ].itertuples(index=False):
                f_col[pos[d]] = a.strftime("%Y-%m-%d %H:%M:%S")
                t_col[pos[d]] = b.strftime("%Y-%m-%d %H:%M:%S")
            out[f"problem{k}_from"] = f_col
            out[f"problem{k}_to"] = t_col
    return out


def write_simulated_survey(
    sim: SimulatedSurvey,
    out_dir: str | os.PathLike[str],
    *,
    boundaries: Mapping[str, str | os.PathLike[str]] | None = None,
    name: str = "Simulated survey",
    overwrite: bool = False,
) -> Path:
    """Write a simulated survey as an ordinary project folder.

    Files: ``stations.csv`` and ``sightings.csv`` (canonical CSV, via
    :func:`trapscape.io.write_stations` / :func:`~trapscape.io.write_sightings`),
    ``survey.toml`` (project file whose [boundaries] and [rasters] point at
    the given files, relative to ``out_dir`` — they are referenced, not
    copied) and ``truth.json``.  Files are written into a temporary folder
    next to ``out_dir`` and moved into place, so a failure leaves nothing
    partial.  The same simulation gives byte-identical files.

    Parameters
    ----------
    sim
        Output of :func:`simulate_survey`.
    out_dir
        Target folder (created).
    boundaries
        Layer name -> file: ``study_area``, ``zones``, ``parks``, ``border``,
        ``habitat`` go to [boundaries]; anything else (``elevation``,
        ``landcover``, ``settlements``, ``rivers``) to [rasters].
    name
        Survey name for the project file.
    overwrite
        Replace the survey files of an existing folder.

    Returns
    -------
    pathlib.Path
        Path of the project file ``survey.toml``.

    Raises
    ------
    InputError
        If ``out_dir`` holds survey files and ``overwrite`` is False, or a
        boundary file does not exist.
    """
    out = Path(out_dir)
    names = ("survey.toml", "stations.csv", "sightings.csv", "truth.json")
    check_outputs(out, names, overwrite=overwrite, what="a survey")
    paths: dict[str, str] = {}
    for key, p in (boundaries or {}).items():
        pth = Path(p)
        if not pth.exists():
            raise InputError(
                f"Boundary file for {key!r} not found: {pth}. Fix the path.", path=pth
            )
        target_parent = out.resolve() if out.exists() else out.absolute()
        try:
            rel = os.path.relpath(pth.resolve(), target_parent)
        except ValueError:  # other drive on Windows
            rel = str(pth.resolve())
        paths[key] = Path(rel).as_posix()
    with staged_outputs(out, names, overwrite=overwrite, what="a survey") as tmp:
        try:
            from .io import write_sightings, write_stations
        except ImportError:  # pragma: no cover - io not available
            _stations_csv(sim).to_csv(tmp / "stations.csv", index=False)
            s = sim.sightings.copy()
            s[V.TIMESTAMP] = s[V.TIMESTAMP].dt.strftime("%Y-%m-%d %H:%M:%S")
            s.to_csv(tmp / "sightings.csv", index=False)
        else:
            write_stations(
                sim.stations,
                sim.problems[[V.DEPLOYMENT_ID, V.PROBLEM_FROM, V.PROBLEM_TO]],
                tmp / "stations.csv",
            )
            write_sightings(sim.sightings, tmp / "sightings.csv")
        params = sim.truth.get("parameters", {})
        desc = (
            "SIMULATED camera-trap survey (trapscape.simulate"
            + (
                f", seed {sim.truth.get('seed')}"
                if sim.truth.get("seed") is not None
                else ""
            )
            + "); the truth is in truth.json."
        )
        (tmp / "survey.toml").write_text(
            _project_toml(
                name,
                params.get("species", SPECIES),
                sim.truth.get("crs", "EPSG:32652"),
                paths,
                desc,
            ),
            encoding="utf-8",
        )
        (tmp / "truth.json").write_text(
            json.dumps(sim.truth, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    logger.info("Wrote simulated survey to %s", out)
    return out / "survey.toml"


# --------------------------------------------------------------------------
# density surfaces
# --------------------------------------------------------------------------
_SURFACE_FIELDS = ("density_covariate", "density_beta", "density_grid")

#: The covariates that are coordinates (not rasters).
COORDINATE_COVARIATES = ("x", "y")


def _surface_problems(params: SimulationParams) -> list[str]:
    """Messages for bad density-surface fields (empty when fine)."""
    bad: list[str] = []
    cov, beta, grid = params.density_covariate, params.density_beta, params.density_grid
    if not (isinstance(beta, int | float) and math.isfinite(beta)):
        bad.append(f"density_beta must be a finite number, got {beta!r}.")
    if not (isinstance(grid, int | float) and math.isfinite(grid) and grid > 0):
        bad.append(f"density_grid must be a positive distance in metres, got {grid!r}.")
    if cov is None:
        if isinstance(beta, int | float) and beta != 0:
            bad.append(
                "density_beta needs a density_covariate (e.g. 'x' or the path of "
                "an elevation raster)."
            )
    elif not isinstance(cov, str) or not cov.strip():
        bad.append(f"density_covariate must be 'x', 'y' or a raster path, got {cov!r}.")
    elif cov not in COORDINATE_COVARIATES and not Path(cov).is_file():
        bad.append(
            f"density_covariate {cov!r} is neither 'x', 'y' nor an existing raster "
            "file; give a GeoTIFF path (e.g. the bundled elevation.tif)."
        )
    return bad


@dataclass(frozen=True)
class DensitySurface:
    """A density covariate and its coefficient: ``D(x) = D_zone exp(beta z(x))``.

    ``z(x) = (v(x) - mean) / sd`` is the covariate ``v`` (a coordinate, or
    the value of the raster cell holding ``x``) standardised by its mean and
    standard deviation (``n - 1``) over the points of a regular grid
    (``density_grid`` apart) covering the state space.  So ``beta`` is the
    change of log density per standard deviation of the covariate, and the
    zone's density ``D_zone`` is the density where the covariate is at its
    state-space mean: ``beta0 = log(D_zone)`` (per 100 km²).

    Activity centres are drawn by thinning (Lewis & Shedler 1979): a
    homogeneous Poisson process at the largest intensity the surface can
    take, each point kept with probability ``exp(beta (z(x) - z_top))``.
    This is exact for the surface as defined (no discretisation); only the
    *expected* numbers reported in the truth are sums over the grid.

    Attributes
    ----------
    covariate
        ``"x"``, ``"y"`` or the raster path.
    beta
        Coefficient of the standardised covariate.
    mean, sd
        Scaling of the covariate over the state space.
    top
        Largest value of ``beta z`` anywhere the covariate is defined.
    grid_xy, grid_z
        The standardisation grid and its ``z`` values.
    cell
        Grid spacing (metres).
    """

    covariate: str
    beta: float
    mean: float
    sd: float
    top: float
    grid_xy: np.ndarray
    grid_z: np.ndarray
    cell: float
    raster: Any = None  # (values, GridSpec, Transformer or None)

    def raw(self, xy: np.ndarray) -> np.ndarray:
        """The covariate's value at points (NaN off the raster or at nodata)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if self.raster is None:
            return xy[:, COORDINATE_COVARIATES.index(self.covariate)].copy()
        values, grid, tr = self.raster
        x, y = xy[:, 0], xy[:, 1]
        if tr is not None:
            x, y = tr.transform(x, y)
        col = np.floor((np.asarray(x) - grid.x0) / grid.cell).astype(int)
        row = np.floor((grid.y0 - np.asarray(y)) / grid.cell).astype(int)
        ok = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
        out = np.full(len(xy), np.nan)
        out[ok] = values[row[ok], col[ok]]
        return out

    def z(self, xy: np.ndarray) -> np.ndarray:
        """The standardised covariate at points."""
        return (self.raw(xy) - self.mean) / self.sd

    def draw(
        self, region: BaseGeometry, dens: float, gen: np.random.Generator
    ) -> np.ndarray:
        """Points of the Poisson process ``dens exp(beta z)`` in ``region`` (thinning)."""
        n0 = int(gen.poisson(dens * math.exp(self.top) * region.area / 1e8))
        xy = _uniform_points(region, n0, gen)
        keep = gen.random(n0) < np.exp(self.beta * self.z(xy) - self.top)
        return xy[keep]

    def _in(self, region: BaseGeometry) -> np.ndarray:
        return shapely.contains_xy(region, self.grid_xy[:, 0], self.grid_xy[:, 1])

    def expected(
        self, regions: list[tuple[str, float, BaseGeometry]]
    ) -> dict[str, float]:
        """Expected animals per zone: the surface summed over the grid cells."""
        rel = np.exp(self.beta * self.grid_z) * self.cell**2 / 1e8
        return {z: float(d * rel[self._in(r)].sum()) for z, d, r in regions}

    def truth(
        self, params: SimulationParams, state: BaseGeometry, layers: _Layers
    ) -> dict[str, Any]:
        """Truth entries: the surface, and expected N replacing the zone-constant ones."""
        regions = _density_regions(params, state, layers.zones, warn=False)
        expected = self.expected(regions)
        in_study = self.expected(
            [(z, d, r.intersection(layers.study)) for z, d, r in regions]
        )
        exp_study = sum(in_study.values())
        dens_study = exp_study / (layers.study.area / 1e8)
        return {
            "density_surface": {
                "formula": "D(x) = exp(beta0 + beta * (v(x) - mean) / sd) per 100 km2",
                "covariate": self.covariate,
                "beta": self.beta,
                "beta0_by_zone": {z: _r(math.log(d), 6) for z, d, _ in regions},
                "scaling": {"mean": self.mean, "sd": self.sd},
                "grid_spacing_m": self.cell,
                "sampling": "thinning of a homogeneous Poisson process (exact)",
            },
            "expected_n_by_zone": {z: _r(v, 3) for z, v in sorted(expected.items())},
            "expected_n_in_study_area": _r(exp_study, 3),
            "detection": params.detection_params(
                density_per_100km2=_r(dens_study, 4)
            ).to_dict(),
        }


def _grid_points(geom: BaseGeometry, cell: float) -> np.ndarray:
    """Centres of the ``cell`` grid cells whose centre lies in ``geom``."""
    minx, miny, maxx, maxy = geom.bounds
    # centres at (k + 1/2) cell: whole-metre cells give exact, stable coordinates
    xs = (np.arange(math.floor(minx / cell), math.ceil(maxx / cell)) + 0.5) * cell
    ys = (np.arange(math.floor(miny / cell), math.ceil(maxy / cell)) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    return xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]


def _read_covariate_raster(path: str, crs: pyproj.CRS) -> tuple[Any, ...]:
    """``(values, GridSpec, Transformer or None)`` of a covariate raster."""
    from pyproj import Transformer

    from ._raster import grid_of, read_geotiff

    try:
        da = read_geotiff(path)
    except Exception as err:  # rasterio and layout errors vary
        raise InputError(
            f"{path}: cannot be read as a density covariate raster ({err}).",
            path=path,
        ) from None
    grid = grid_of(da)
    tr = None
    if grid.crs is not None and as_crs(grid.crs) != crs:
        tr = Transformer.from_crs(crs, grid.crs, always_xy=True)
    return np.asarray(da.values, dtype=float), grid, tr


def density_surface(
    params: SimulationParams, state_space: BaseGeometry
) -> DensitySurface:
    """The density surface of ``params`` over a state space (params CRS).

    Raises
    ------
    InputError
        No covariate set, a raster that does not cover the state space, or
        a covariate constant over it.
    """
    cov = params.density_covariate
    if cov is None:
        raise InputError("params.density_covariate is not set; no density surface.")
    cell = float(params.density_grid)
    grid_xy = _grid_points(state_space, cell)
    if len(grid_xy) < 2:
        raise InputError(
            f"density_grid {cell:.0f} m leaves {len(grid_xy)} grid point(s) in the "
            f"state space ({state_space.area / 1e6:.1f} km2); use a finer grid."
        )
    raster = (
        None
        if cov in COORDINATE_COVARIATES
        else _read_covariate_raster(cov, as_crs(params.crs))
    )
    probe = DensitySurface(
        cov, 0.0, 0.0, 1.0, 0.0, grid_xy, grid_xy[:, 0], cell, raster
    )
    raw = probe.raw(grid_xy)
    missing = ~np.isfinite(raw)
    if missing.any():
        x, y = grid_xy[np.flatnonzero(missing)[0]]
        raise InputError(
            f"The density covariate raster {cov} has no value at {int(missing.sum())} "
            f"of {len(raw)} points of the state space (e.g. x={x:.0f}, y={y:.0f} in "
            f"{params.crs}). It must cover the stations plus the buffer: use a "
            "smaller buffer or a larger raster.",
            path=cov,
        )
    mean, sd = float(raw.mean()), float(raw.std(ddof=1))
    if not sd > 0:
        raise InputError(
            f"The density covariate {cov} is constant ({mean:g}) over the state "
            "space; a surface needs a covariate that varies."
        )
    beta = float(params.density_beta)
    if raster is None:
        ends = np.array(_coord_range(state_space, cov))
    else:
        ends = _raster_range(raster, state_space)
    top = float(np.max(beta * (ends - mean) / sd))
    z = (raw - mean) / sd
    return DensitySurface(cov, beta, mean, sd, top, grid_xy, z, cell, raster)


def _coord_range(geom: BaseGeometry, cov: str) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx) if cov == "x" else (miny, maxy)


# --------------------------------------------------------------------------
# several sessions with a trend
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedSessions:
    """Several simulated surveys (sessions) of one population with a trend.

    Attributes
    ----------
    names
        Session names: the year of each session's start.
    surveys
        One :class:`SimulatedSurvey` per session (its truth names the session).
    state_space
        The state space shared by the sessions (params CRS).
    truth
        JSON-ready dict: trend, density and expected N per session, seed.
    """

    names: tuple[str, ...]
    surveys: tuple[SimulatedSurvey, ...]
    state_space: BaseGeometry
    truth: dict[str, Any]


@dataclass(frozen=True)
class SessionTables:
    """The long tables that :func:`trapscape.density.sessions_io.read_sessions` reads.

    Attributes
    ----------
    traps
        ``session, trap_id, x, y, usage1..usageK`` (days of use per daily
        occasion).
    captures
        ``session, individual_id, occasion, trap_id, sex``.
    covariates
        ``session, year, Session`` (Session: 0, 1, ... as secr numbers them).
    masks
        Session name -> mask points ``x, y`` (the state space on a grid).
    """

    traps: pd.DataFrame
    captures: pd.DataFrame
    covariates: pd.DataFrame
    masks: dict[str, pd.DataFrame]


def _session_problems(sessions: Any, trend: Any, station_share: Any) -> None:
    bad = []
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        bad.append(f"sessions must be a whole number >= 1, got {sessions!r}.")
    if not (isinstance(trend, int | float) and math.isfinite(trend) and trend > 0):
        bad.append(
            f"trend must be a positive rate of change per session (1 = stable, "
            f"1.1 = +10 % a session), got {trend!r}."
        )
    ok = isinstance(station_share, int | float) and 0 < station_share <= 1
    if not ok:
        bad.append(f"station_share must be in (0, 1], got {station_share!r}.")
    if bad:
        raise InputError("Bad session options:\n  - " + "\n  - ".join(bad))


def _station_subset(cams: _Cameras, share: float, gen: np.random.Generator) -> _Cameras:
    """A random share of the stations (all cameras of each), at least two."""
    if share >= 1.0 or cams.n_st <= 2:
        return cams
    k = max(2, round(share * cams.n_st))
    pick = np.sort(gen.choice(cams.n_st, size=k, replace=False))
    keep = {cams.station_ids[j] for j in pick}
    rows = [tuple(r) for r in cams.frame.itertuples(index=False) if r[0] in keep]
    return _Cameras.of(rows, cams.areas)


def simulate_sessions(
    params: SimulationParams,
    *,
    sessions: int,
    trend: float = 1.0,
    station_share: float = 1.0,
    study_area: gpd.GeoDataFrame | BaseGeometry,
    zones: gpd.GeoDataFrame,
    habitat: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    stations: gpd.GeoDataFrame | None = None,
    rng: int | np.random.Generator | None = None,
) -> SimulatedSessions:
    """Simulate several annual sessions of one population with a known trend.

    Session ``s = 0, 1, ..., sessions - 1`` starts ``s`` years after
    ``params.start`` and has the densities ``D_s = D_0 lambda^s`` (every
    zone, and the whole surface when ``params.density_covariate`` is set),
    the log-linear trend that secr's ``D ~ Session`` estimates.  Each session
    draws its own animals, camera operation and detections; the stations
    are the same in every session, or a random ``station_share`` of them per
    session (the state space stays the same).

    Seeds: the generator of ``rng`` is split into one stream for the station
    layout and one per session (itself split into animals, operation,
    detections and the station subset), so a session's data do not depend
    on how many sessions follow it.

    Parameters
    ----------
    params
        Parameters of the first session.
    sessions
        Number of sessions (>= 1).
    trend
        Rate of change of density per session ``lambda`` (> 0).
    station_share
        Share of the stations used in each session, in (0, 1].
    study_area, zones, habitat, settlements, stations, rng
        As for :func:`simulate_survey`.

    Raises
    ------
    InputError
        Bad options or parameters (nothing is simulated).
    """
    _session_problems(sessions, trend, station_share)
    if not isinstance(params, SimulationParams):
        raise InputError(
            "params must be a SimulationParams; build one with "
            "trapscape.simulate.SimulationParams(...)."
        )
    seed_info = rng if isinstance(rng, int) else None
    gen = np.random.default_rng(rng)
    layers = _Layers.read(params, study_area, zones, habitat, settlements)
    rng_layout, *per_session = gen.spawn(1 + sessions)
    if stations is None:
        cams = _grid_cameras(params, layers, rng_layout)
    else:
        cams = _user_cameras(params, stations, layers)
    start = pd.Timestamp(params.start)
    names: list[str] = []
    surveys: list[SimulatedSurvey] = []
    for s, g in enumerate(per_session):
        day0 = start + pd.DateOffset(years=s)
        p_s = replace(
            params,
            densities={z: float(d) * trend**s for z, d in params.densities.items()},
            start=day0.strftime("%Y-%m-%d"),
        )
        g_centres, g_ops, g_det, g_sub = g.spawn(4)
        cams_s = _station_subset(cams, station_share, g_sub)
        sim = _run_survey(p_s, layers, cams_s, (g_centres, g_ops, g_det), seed_info)
        names.append(str(day0.year))
        extra = {"session": names[-1], "session_index": s, "trend": trend}
        surveys.append(replace(sim, truth={**sim.truth, **extra}))
    state = _state_space(params, cams.areas, layers)
    truth = _sessions_truth(params, names, surveys, state, trend, station_share)
    truth["seed"] = seed_info
    return SimulatedSessions(tuple(names), tuple(surveys), state, truth)


def _sessions_truth(
    params: SimulationParams,
    names: list[str],
    surveys: list[SimulatedSurvey],
    state: BaseGeometry,
    trend: float,
    station_share: float,
) -> dict[str, Any]:
    """The truth of several sessions as a JSON-ready dict."""
    truth: dict[str, Any] = {
        "description": "Truth of sessions simulated by trapscape.simulate."
        "simulate_sessions: D_s = D_0 * lambda**s (s = 0, 1, ...; secr's "
        "D ~ Session has beta_Session = log(lambda)).",
        "sessions": names,
        "trend": {"lambda": trend, "log_lambda": math.log(trend)},
        "station_share": station_share,
        "parameters": params.to_dict(),
        "state_space_km2": _r(state.area / 1e6, 2),
        "by_session": {
            n: {
                "start": sv.truth["parameters"]["start"],
                "densities": sv.truth["parameters"]["densities"],
                "expected_n_by_zone": sv.truth["expected_n_by_zone"],
                "expected_n_in_study_area": sv.truth["expected_n_in_study_area"],
                "n_total": sv.truth["n_total"],
                "n_by_zone": sv.truth["n_by_zone"],
                "n_detected": sv.truth["n_detected"],
                "stations": sv.truth["stations"],
            }
            for n, sv in zip(names, surveys, strict=True)
        },
    }
    if "density_surface" in surveys[0].truth:
        truth["density_surface"] = surveys[0].truth["density_surface"]
        truth["density_surface"]["note"] = (
            "beta0_by_zone is that of the first session; session s adds s * log_lambda."
        )
    return truth


def session_tables(
    sim: SimulatedSessions, *, mask_spacing: float | None = None
) -> SessionTables:
    """The sessions as the long tables of ``trapscape sessions`` (daily occasions).

    Captures come from the identified photos, as ``trapscape density``
    builds them from each session folder (proximity detectors, one-day
    occasions, usage from the camera operation).  Each session's mask is the
    simulation's state space on a grid of ``mask_spacing`` metres (default
    0.6 x the smaller σ, rounded to 100 m), so a fit on these masks has the
    model the data were simulated from.
    """
    from .density.data import capture_history
    from .survey import Survey

    params = sim.truth["parameters"]
    if mask_spacing is None:
        sig = min(params["sigma_f"], params["sigma_m"])
        mask_spacing = max(100.0, round(0.6 * sig / 100.0) * 100.0)
    if not (math.isfinite(mask_spacing) and mask_spacing > 0):
        raise InputError(f"mask_spacing must be positive metres, got {mask_spacing!r}.")
    grid = _grid_points(sim.state_space, float(mask_spacing))
    traps, caps, masks = [], [], {}
    for name, sv in zip(sim.names, sim.surveys, strict=True):
        survey = Survey(
            stations=sv.stations,
            sightings=sv.sightings,
            problems=sv.problems,
            crs=sv.stations.crs,
        )
        ch = capture_history(survey, occasion_days=1.0)
        t = pd.DataFrame(
            {"session": name, "trap_id": list(ch.trap_ids)}
            | {"x": ch.traps_xy[:, 0], "y": ch.traps_xy[:, 1]}
        )
        for occ in range(ch.usage.shape[1]):
            t[f"usage{occ + 1}"] = ch.usage[:, occ]
        traps.append(t)
        i, k, j = np.nonzero(ch.captures)
        sex = ch.sex if ch.sex is not None else (None,) * ch.captures.shape[0]
        caps.append(
            pd.DataFrame(
                {
                    "session": name,
                    "individual_id": np.asarray(ch.individual_ids, dtype=object)[i],
                    "occasion": k + 1,
                    "trap_id": np.asarray(ch.trap_ids, dtype=object)[j],
                    "sex": np.asarray(sex, dtype=object)[i],
                }
            )
        )
        masks[name] = pd.DataFrame({"x": grid[:, 0], "y": grid[:, 1]})
    covs = pd.DataFrame(
        {
            "session": list(sim.names),
            "year": [int(n) for n in sim.names],
            "Session": range(len(sim.names)),
        }
    )
    return SessionTables(
        pd.concat(traps, ignore_index=True),
        pd.concat(caps, ignore_index=True),
        covs,
        masks,
    )


def write_simulated_sessions(
    sim: SimulatedSessions,
    out_dir: str | os.PathLike[str],
    *,
    boundaries: Mapping[str, str | os.PathLike[str]] | None = None,
    name: str = "Simulated sessions",
    mask_spacing: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write simulated sessions: a survey folder per session plus the long tables.

    Files in ``out_dir``: ``session_<year>/`` (an ordinary simulated survey
    folder each, see :func:`write_simulated_survey`), ``traps.csv``,
    ``captures.csv``, ``covariates.csv`` and ``masks/mask_<year>.csv`` (see
    :func:`session_tables`; ``trapscape sessions --traps traps.csv
    --captures captures.csv --masks masks`` reads them as they are) and
    ``truth.json`` (trend, densities and N per session).  Written into a
    staging folder and moved into place, so a failure leaves nothing.

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    out = Path(out_dir)
    folders = [f"session_{n}" for n in sim.names]
    names = (
        *folders,
        "traps.csv",
        "captures.csv",
        "covariates.csv",
        "masks",
        "truth.json",
    )
    check_outputs(out, names, overwrite=overwrite, what="simulated sessions")
    tables = session_tables(sim, mask_spacing=mask_spacing)
    with staged_outputs(
        out, names, overwrite=overwrite, what="simulated sessions"
    ) as tmp:
        for folder, n, sv in zip(folders, sim.names, sim.surveys, strict=True):
            write_simulated_survey(
                sv, tmp / folder, boundaries=boundaries, name=f"{name} {n}"
            )
        tables.traps.to_csv(tmp / "traps.csv", index=False)
        tables.captures.to_csv(tmp / "captures.csv", index=False)
        tables.covariates.to_csv(tmp / "covariates.csv", index=False)
        (tmp / "masks").mkdir()
        for n, frame in tables.masks.items():
            frame.to_csv(tmp / "masks" / f"mask_{n}.csv", index=False)
        (tmp / "truth.json").write_text(
            json.dumps(sim.truth, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    logger.info("Wrote %d simulated sessions to %s", len(sim.names), out)
    return out


def _raster_range(raster: tuple[Any, ...], state_space: BaseGeometry) -> np.ndarray:
    """Smallest and largest raster value over the cells that can hold a state point.

    The cells of the state space's bounding box in the raster's CRS (its
    edges densified when transformed), plus a margin of one cell.
    """
    values, grid, tr = raster
    b = state_space.bounds
    if tr is not None:
        b = tr.transform_bounds(*b, densify_pts=51)
    c0 = max(math.floor((b[0] - grid.x0) / grid.cell) - 1, 0)
    c1 = min(math.floor((b[2] - grid.x0) / grid.cell) + 2, grid.width)
    r0 = max(math.floor((grid.y0 - b[3]) / grid.cell) - 1, 0)
    r1 = min(math.floor((grid.y0 - b[1]) / grid.cell) + 2, grid.height)
    window = values[r0:r1, c0:c1]
    return np.array([np.nanmin(window), np.nanmax(window)])
