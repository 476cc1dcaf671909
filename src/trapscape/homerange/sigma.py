"""Circular home ranges from the detection scale sigma of an SCR model."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from .. import validation as V
from ..errors import InputError
from .relocations import _as_relocations

if TYPE_CHECKING:
    from ..detection import DetectionParams
    from ..survey import Survey

__all__ = [
    "sigma_ranges",
]


def sigma_ranges(
    centres_or_individuals: gpd.GeoDataFrame | Survey,
    params: DetectionParams,
    *,
    percent: float = 95,
) -> gpd.GeoDataFrame:
    """Circular ranges from the detection scale sigma.

    Under a bivariate normal (half-normal detection) model the ``percent``
    range is a circle of radius ``sqrt(-2 ln(1 - p)) sigma`` (2.45 sigma for
    95 %), centred on the individual's mean detection location.

    Parameters
    ----------
    centres_or_individuals
        Relocations (one centre per ``individual_id``: their mean), activity
        centres (one point each) or a Survey.
    params
        Detection parameters; ``params.by_sex[sex]["sigma"]`` is used for
        individuals of that sex when present.
    percent
        Range percentage in (0, 100).

    Returns
    -------
    geopandas.GeoDataFrame
        ``individual_id``, ``sex``, ``method`` ("sigma"), ``percent``,
        ``sigma``, ``radius``, ``area_km2``, circle geometry.
    """
    if not 0 < float(percent) < 100:
        raise InputError(f"percent must lie in (0, 100), got {percent}.")
    rel = _as_relocations(centres_or_individuals)
    k = math.sqrt(-2.0 * math.log(1.0 - float(percent) / 100.0))
    df = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: rel[V.INDIVIDUAL_ID].astype(str).to_numpy(),
            "x": rel.geometry.x.to_numpy(),
            "y": rel.geometry.y.to_numpy(),
            V.SEX: rel[V.SEX].to_numpy() if V.SEX in rel.columns else pd.NA,
        }
    )
    g = df.groupby(V.INDIVIDUAL_ID, sort=True)
    cen = g.agg(
        x=("x", "mean"),
        y=("y", "mean"),
        sex=(V.SEX, lambda s: s.dropna().iloc[0] if s.notna().any() else pd.NA),
    )
    rows = []
    for ind, r in cen.iterrows():
        sex = r[V.SEX]
        sigma = float(params.sigma)
        if (
            isinstance(sex, str)
            and sex in params.by_sex
            and "sigma" in params.by_sex[sex]
        ):
            sigma = float(params.by_sex[sex]["sigma"])
        radius = k * sigma
        rows.append(
            {
                V.INDIVIDUAL_ID: ind,
                V.SEX: sex,
                "method": "sigma",
                "percent": float(percent),
                "sigma": sigma,
                "radius": radius,
                "area_km2": math.pi * radius**2 / 1e6,
                "geometry": Point(r["x"], r["y"]).buffer(radius, 64),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=rel.crs)
