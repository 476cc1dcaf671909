"""SCR density from a survey: capture history, mask, fit and region N in one call."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB
from ..errors import InputError
from ._setup import _check_fittable, unsurveyed_zones
from .abundance import _with_region_n, survey_regions
from .data import (
    CaptureHistory,
    DetectFn,
    Detector,
    Mask,
    ModelName,
    OccasionModel,
    capture_history,
    rpsv,
)
from .fitting import buffer_check, fit
from .mask import _zone_labels, make_mask
from .result import SCRFit

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["fit_survey", "for_survey", "sigma_guess"]


logger = logging.getLogger(__name__)


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
    occasion_model: OccasionModel = "auto",
    surfaces: Sequence[str] = (),
    rasters: Mapping[str, Any] | None = None,
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
        :func:`trapscape.density.secr.read_secr_mask`) instead of building one;
        zone labels are added from the survey's zones when missing.
    independence_minutes
        Event independence for count detectors (see :func:`capture_history`).
    integer_usage
        Truncate summed usage to whole numbers as secr does (see :func:`fit`).
    occasion_model
        See :func:`fit` (``"auto"``: Bernoulli when ``occasion_days`` > 1).
    surfaces, rasters
        Density-surface formulas (e.g. ``["~x + y", "~elevation"]``) fitted
        on the final mask (:func:`fit_surface`; ``SCRFit.surfaces``), their
        covariates sampled from ``rasters`` (name -> raster file).
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
        max_memory_gb=max_memory_gb,
    )
    _check_fittable(ch)
    sg = sigma_guess(ch)
    masks = _MaskMaker.for_survey(
        survey, model, spacing, max_mask_points, max_memory_gb
    )
    given_mask = mask is not None
    if mask is not None:
        mask = _with_zone_labels(mask, masks.zones)
    else:
        mask = masks.build(ch.traps_xy, buffer=buffer, sigma_guess=sg)
    zone_map = _zone_polygons(masks.zones)
    regions = survey_regions(survey)
    may_refit = buffer is None and not given_mask
    # a first fit that may be refitted on a wider mask skips region N: only
    # its betas (the refit's start) are kept
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        result = fit(
            ch,
            mask,
            detectfn=detectfn,
            model=model,
            regions=None if may_refit else regions,
            region_zones=zone_map,
            integer_usage=integer_usage,
            max_memory_gb=max_memory_gb,
            occasion_model=occasion_model,
        )
    fitted_on = mask
    if may_refit:
        result, mask = _refit_on_wider_mask(
            result,
            ch,
            mask,
            masks,
            regions=regions,
            region_zones=zone_map,
            integer_usage=integer_usage,
            occasion_model=occasion_model,
        )
    if mask is fitted_on:  # the first fit is the result: its warnings count
        _reemit(first)
    if check_buffer:
        buffer_check(result, ch, mask)
    if surfaces:
        result = _with_surfaces(result, ch, mask, surfaces, rasters, regions)
    return result


def _reemit(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def sigma_guess(ch: CaptureHistory) -> float:
    """A starting sigma: RPSV, else the median distance to the nearest station."""
    sg = rpsv(ch)
    if not np.isfinite(sg) or sg <= 0:
        sg = float(np.median(_nn_dist(ch.traps_xy)))
    return sg


def _with_surfaces(
    result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    surfaces: Sequence[str],
    rasters: Mapping[str, Any] | None,
    regions: Mapping[str, Any],
) -> SCRFit:
    """``result`` with density surfaces fitted on its mask (covariates from rasters).

    The surfaces use the result's detection function and occasion model and
    give E.N in the survey's regions.
    """
    from .surface import _terms, fit_surface, raster_covariate

    rasters = dict(rasters or {})
    names = sorted({t for f in surfaces for t in _terms(f)} - {"x", "y"})
    missing = [n for n in names if n not in rasters]
    if missing:
        raise InputError(
            f"density surfaces {list(surfaces)} use {missing}, which are not rasters "
            f"of the project ([rasters] has {sorted(rasters)}); add them there or "
            "use x and y."
        )
    cov = {n: raster_covariate(rasters[n], mask) for n in names}
    fits = tuple(
        fit_surface(
            ch,
            mask,
            density=f,
            covariates=cov or None,
            detectfn=result.detectfn,  # type: ignore[arg-type]
            occasion_model=result.occasion_model,  # type: ignore[arg-type]
            regions=regions,
        )
        for f in dict.fromkeys(surfaces)
    )
    return replace(result, surfaces=fits)


@dataclass(frozen=True)
class _MaskMaker:
    """The survey's settings for :func:`make_mask`, for the first and a wider mask."""

    habitat: Any
    zones: Any
    spacing: float | None
    max_points: int
    crs: Any
    max_memory_gb: float | None

    @classmethod
    def for_survey(
        cls,
        survey: Survey,
        model: str,
        spacing: float | None,
        max_points: int,
        max_memory_gb: float | None,
    ) -> _MaskMaker:
        """The settings of a survey's masks (habitat clip, zone labels)."""
        zones = survey.zones if survey.zones is not None and len(survey.zones) else None
        if model in ("zone", "sex+zone") and zones is None:
            raise InputError(
                f"model={model!r} needs a zones layer (countries) in the survey."
            )
        habitat = survey.habitat
        return cls(
            habitat=habitat if habitat is not None and len(habitat) else None,
            zones=zones,
            spacing=spacing,
            max_points=max_points,
            crs=survey.crs,
            max_memory_gb=max_memory_gb,
        )

    def build(
        self, traps_xy: np.ndarray, *, buffer: float | None, sigma_guess: float
    ) -> Mask:
        """A mask of ``buffer`` (default 4 x ``sigma_guess``) around the detectors."""
        return make_mask(
            traps_xy,
            buffer=buffer,
            spacing=self.spacing,
            sigma_guess=sigma_guess,
            habitat=self.habitat,
            zones=self.zones,
            max_points=self.max_points,
            crs=self.crs,
            max_memory_gb=self.max_memory_gb,
        )


def _with_zone_labels(mask: Mask, zones: Any) -> Mask:
    """A given mask, labelled by ``zones`` when it has no zone labels yet."""
    if mask.zone is not None or zones is None:
        return mask
    return Mask(
        xy=mask.xy,
        spacing=mask.spacing,
        buffer=mask.buffer,
        zone=_zone_labels(mask.xy, zones),
        zone_polygons=zones,
        crs=mask.crs,
        habitat=mask.habitat,
    )


def _zone_polygons(zones: Any) -> dict[str, Any] | None:
    """Zone name -> its (dissolved) polygon, or None without zones."""
    if zones is None:
        return None
    return {
        str(nm): zones.geometry[zones[V.NAME].astype(str) == str(nm)].union_all()
        for nm in zones[V.NAME].unique()
    }


def _refit_on_wider_mask(
    result: SCRFit,
    ch: CaptureHistory,
    mask: Mask,
    masks: _MaskMaker,
    *,
    regions: dict[str, Any],
    region_zones: dict[str, Any] | None,
    integer_usage: bool,
    occasion_model: OccasionModel = "auto",
) -> tuple[SCRFit, Mask]:
    """Refit on a 4 x sigma-hat mask when the guessed buffer was too small.

    Otherwise the first fit is kept and only its region N table is added.
    Returns the fit and the mask it was made on.
    """
    sig_hat = max(
        float(
            result.estimates.loc[
                result.estimates["parameter"].str.startswith("sigma"), "estimate"
            ].max()
        ),
        1.0,
    )
    if 4.0 * sig_hat <= 1.05 * float(mask.buffer or 0.0):
        with_n = _with_region_n(
            result,
            ch,
            mask,
            regions=regions,
            region_zones=region_zones,
            integer_usage=integer_usage,
            max_memory_gb=masks.max_memory_gb,
        )
        return with_n, mask
    # the guess was too small: rebuild the mask at 4 sigma-hat and refit
    logger.info("Refitting with buffer 4 x sigma-hat = %.0f m", 4 * sig_hat)
    wide = masks.build(ch.traps_xy, buffer=4.0 * sig_hat, sigma_guess=sig_hat)
    refit = fit(
        ch,
        wide,
        detectfn=result.detectfn,  # type: ignore[arg-type]
        model=result.model,  # type: ignore[arg-type]
        regions=regions,
        region_zones=region_zones,
        start=_start_on(result, ch, wide),
        integer_usage=integer_usage,
        occasion_model=occasion_model,
        max_memory_gb=masks.max_memory_gb,
    )
    return refit, wide


def _start_on(result: SCRFit, ch: CaptureHistory, wide: Mask) -> list[float] | None:
    """The fit's betas as the refit's start, unless the zones differ on ``wide``."""
    names = [n for n in result.beta_names if n.startswith("D")]
    if wide.zone is None or result.model not in ("zone", "sex+zone"):
        return result.beta.tolist()
    levels = sorted(set(wide.zone) - set(unsurveyed_zones(ch, wide)))
    if [f"D[{z}]" for z in levels] != names:
        return None
    return result.beta.tolist()


def _nn_dist(xy: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    if len(xy) < 2:
        return np.array([1000.0])
    d, _ = cKDTree(xy).query(xy, k=2)
    return np.asarray(d[:, 1])


for_survey = fit_survey
"""The survey-level entry, named like the other analyses' (``coverage.for_survey``).

The same function as :func:`fit_survey`, which keeps its name for existing
code and the pipeline's step table.
"""
