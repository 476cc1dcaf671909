"""Model setup: checks, the likelihood design and starting values of a fit."""

from __future__ import annotations

import dataclasses

import numpy as np

from .._memory import DEFAULT_BUDGET_GB
from ..errors import ComputationError, InputError
from . import _likelihood as _lik
from .data import HA, CaptureHistory, Mask
from .mask import _check_mask_memory, _zone_labels

__all__ = []


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


def unsurveyed_zones(ch: CaptureHistory, mask: Mask) -> dict[str, str]:
    """Zones without a working station -> the surveyed zone nearest to them.

    A zone (mask label) holding no station with usage has no data of its
    own on density: as a free parameter its estimate can run to the bound
    of the optimiser with a singular information matrix, and giving it a
    neighbour's density would spread the neighbour's animals over it.  Such
    a zone is left out of the habitat of a zone model (density 0 there;
    :func:`_design`); the value names the zone of the station nearest to it,
    for the note.  A station belongs to the zone polygon holding it
    (``mask.zone_polygons``, as built by :func:`make_mask`), else to the
    zone of most mask points within one spacing of it (of its nearest mask
    point on a tie).  Empty when every zone has a station or the mask has
    no zones.
    """
    if mask.zone is None:
        return {}
    from scipy.spatial import cKDTree

    labels = np.asarray(mask.zone, dtype=object)
    working = ch.usage.sum(axis=1) > 0
    txy = ch.traps_xy[working] if np.any(working) else ch.traps_xy
    tree = cKDTree(mask.xy)
    _, idx = tree.query(txy)
    station_zone = labels[idx]
    if mask.zone_polygons is not None:  # exactly, from the zones themselves
        station_zone = np.asarray(_zone_labels(txy, mask.zone_polygons), dtype=object)
        return _merge_targets(mask, labels, station_zone, txy)
    # the majority of the mask points within one spacing, not the single
    # nearest one: a station a few hundred metres from a border is not in
    # the zone across it
    for j, near in enumerate(tree.query_ball_point(txy, r=float(mask.spacing))):
        if near:
            vals, counts = np.unique(labels[near].astype(str), return_counts=True)
            if counts.max() > counts.min() or len(vals) == 1:
                station_zone[j] = vals[int(np.argmax(counts))]
    return _merge_targets(mask, labels, station_zone, txy)


def _merge_targets(
    mask: Mask, labels: np.ndarray, station_zone: np.ndarray, txy: np.ndarray
) -> dict[str, str]:
    """Each zone without a station -> the zone of the station nearest to it."""
    from scipy.spatial import cKDTree

    surveyed = set(station_zone.tolist())
    trap_tree = cKDTree(txy)
    out: dict[str, str] = {}
    for z in sorted(set(labels.tolist()) - surveyed):
        dist, j = trap_tree.query(mask.xy[labels == z])
        out[str(z)] = str(station_zone[j[int(np.argmin(dist))]])
    return out


def _design(
    ch: CaptureHistory,
    mask: Mask,
    *,
    detectfn: str,
    model: str,
    integer_usage: bool = True,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
    occasion_model: str = "binomial",
) -> tuple[_lik.Design, list[str], list[str]]:
    """Return the design, density level names and class names.

    ``occasion_model`` is a resolved :func:`_occasion_model` value.
    """
    d_levels = ["all"]
    d_index = None
    d_weight = None
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
        left_out = unsurveyed_zones(ch, mask)
        d_levels = sorted(set(mask.zone) - set(left_out))
        lookup = {z: i for i, z in enumerate(d_levels)}
        d_index = np.array([lookup.get(z, 0) for z in mask.zone])
        if left_out:
            d_weight = np.array([0.0 if z in left_out else 1.0 for z in mask.zone])
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
    design = _lik.make_design(
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
        per_occasion=(
            (ch.usage, ch.captures) if occasion_model == "bernoulli" else None
        ),
    )
    if d_weight is not None:  # zones without stations: no habitat of the model
        design = dataclasses.replace(design, d_weight=d_weight)
    return design, d_levels, classes


#: accepted values of ``occasion_model``
OCCASION_MODELS = ("auto", "bernoulli", "binomial")


def _occasion_model(ch: CaptureHistory, occasion_model: str) -> str:
    """The detection model over occasions actually fitted.

    ``"bernoulli"``: a binary record per occasion with
    ``p = 1 - exp(-u lambda0 h)`` (HHN) or ``1 - (1 - g0 h)^u`` (HN) for an
    occasion of usage ``u`` (secr's ``details = list(fastproximity =
    FALSE)``); ``"binomial"``: occasions collapsed, ``y_j ~ Binomial(U_j,
    p)`` with per-day ``p`` (secr's default "fastproximity"); ``"auto"``:
    Bernoulli as soon as one occasion carries more than one day of usage.
    Count detectors are Poisson, for which collapsing is exact:
    ``"poisson"``.
    """
    if occasion_model not in OCCASION_MODELS:
        raise InputError(
            f"occasion_model must be one of {list(OCCASION_MODELS)}, got "
            f"{occasion_model!r}."
        )
    if ch.detector == "count":
        return "poisson"
    if occasion_model == "auto":
        return "bernoulli" if float(np.max(ch.usage)) > 1.0 + 1e-9 else "binomial"
    return occasion_model


def _start(ch: CaptureHistory, design: _lik.Design, sigma_guess: float) -> np.ndarray:
    """Starting values: sigma from RPSV, p0 by a short profile search, D = n / esa."""
    best = None
    for p0 in (0.01, 0.05, 0.25):
        for sg in (sigma_guess,):
            logq = _lik.class_terms(design, p0, sg)["logq"]
            esa = float(np.sum(-np.expm1(logq))) * design.cell_area
            if esa <= 0:
                continue
            dens = ch.n / esa
            c = design.n_classes
            real = _lik.Real(
                density=np.full(design.n_d, dens),
                p0=np.full(c, p0),
                sigma=np.full(c, sg),
                pmix=np.full(c, 1.0 / c),
            )
            beta = _lik.pack(real, design)
            ll = _lik.loglik(beta, design)
            if best is None or ll > best[0]:
                best = (ll, beta)
    if best is None or not np.isfinite(best[0]):
        raise ComputationError(
            "Could not find starting values for the SCR fit; check that "
            "the mask covers the detectors."
        )
    return best[1]
