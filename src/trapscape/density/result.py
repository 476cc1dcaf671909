"""The fitted SCR model (:class:`SCRFit`) and its real-scale estimate rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..detection import DetectionParams
from ..errors import InputError

__all__ = ["SCRFit"]


_Z = float(norm.ppf(0.975))


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
    occasion_model
        The detection model over occasions that was fitted:
        ``"bernoulli"`` (a binary record per occasion of usage ``u``, secr's
        ``fastproximity = FALSE``), ``"binomial"`` (occasions collapsed,
        secr's default) or ``"poisson"`` (count detectors).
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
    occasion_model: str = "binomial"
    surfaces: tuple[Any, ...] = ()

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
            "occasion_model": self.occasion_model,
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
            "beta": _beta_record(self.beta_names, self.beta, self.vcov),
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
            **(
                {"surfaces": [f.to_dict() for f in self.surfaces]}
                if self.surfaces
                else {}
            ),
        }


def _beta_record(
    names: Sequence[str], beta: np.ndarray, vcov: np.ndarray
) -> dict[str, Any]:
    """The link-scale coefficients and their covariance, JSON-ready."""
    return {"names": list(names), "estimate": beta.tolist(), "vcov": vcov.tolist()}


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
