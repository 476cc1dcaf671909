"""Cross-border use: zones (countries) used by each individual and crossings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..crs import as_crs
from ..errors import InputError
from .isopleths import HomeRangeResult
from .relocations import relocations_from_survey

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "CrossBorderResult",
    "cross_border",
    "zone_areas",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrossBorderResult:
    """Which individuals use which zones (countries) and when they cross.

    Attributes
    ----------
    individuals
        One row per identified individual: ``individual_id``, ``sex``,
        ``n_detections``, ``n_stations``, ``zones`` (the zones it was
        detected in, ``"; "``-separated), ``n_zones``, ``status`` ("Russia
        only", "both", ...), ``n_crossings`` and, when ranges were given,
        ``share_<zone>`` (share of its home range area in each zone).
    crossings
        Consecutive detections of one individual in different zones:
        ``individual_id``, ``from_zone``, ``to_zone``, ``from_station``,
        ``to_station``, ``from_time``, ``to_time``, ``hours_between``.
    population
        ``status``, ``n_individuals``, ``share`` (of individuals detected in
        at least one zone) and a ``"total"`` row.  The statuses partition
        the individuals: each is counted once, and the rows above the total
        add up to it (counts and shares).
    """

    individuals: pd.DataFrame
    crossings: pd.DataFrame
    population: pd.DataFrame


def zone_areas(polygons: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Area (km²) of each polygon inside each zone: columns ``area_<zone>_km2``.

    The result keeps the index of ``polygons``.
    """
    if zones is None or len(zones) == 0:
        return pd.DataFrame(index=polygons.index)
    z = (
        zones.to_crs(polygons.crs)
        if not as_crs(zones.crs).equals(as_crs(polygons.crs))
        else zones
    )
    out = {}
    for name, zg in z.groupby(V.NAME, sort=True):
        shape = zg.geometry.union_all()
        out[f"area_{_slug(str(name))}_km2"] = (
            polygons.geometry.intersection(shape).area.to_numpy() / 1e6
        )
    return pd.DataFrame(out, index=polygons.index)


def _slug(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in name.strip()).strip("_")
    return s or "zone"


def cross_border(
    survey: Survey,
    ranges: gpd.GeoDataFrame | HomeRangeResult | None = None,
    *,
    relocations: gpd.GeoDataFrame | None = None,
    percent: float = 95,
) -> CrossBorderResult:
    """Zones (countries) used by each individual, border crossings, population.

    Parameters
    ----------
    survey
        Survey with ``zones`` (polygons with ``name``). Stations outside every
        zone count as zone ``"outside"``.
    ranges
        Optional home ranges (a :class:`HomeRangeResult` or polygons from
        :func:`mcp`/:func:`kde`); the ``percent`` polygon of each individual
        (the largest available when absent) gives ``share_<zone>``.
    relocations
        Detection events (default: :func:`relocations_from_survey`).
    percent
        Which isopleth to use for the shares.

    Returns
    -------
    CrossBorderResult
    """
    if survey.zones is None or len(survey.zones) == 0:
        raise InputError(
            "The survey has no zones (countries); add [boundaries] zones "
            "to the project to attribute individuals to countries."
        )
    rel = relocations_from_survey(survey) if relocations is None else relocations
    df = _zoned_detections(survey, rel)
    cross_rows: list[dict[str, Any]] = []
    ind_rows = []
    for ind, g in df.groupby(V.INDIVIDUAL_ID, sort=True):
        ind_rows.append(_individual_zones(str(ind), g, cross_rows))
    individuals = pd.DataFrame(ind_rows)
    if ranges is not None:
        individuals = _with_range_shares(individuals, ranges, survey.zones, percent)
    crossings = pd.DataFrame(cross_rows, columns=_CROSSING_COLUMNS)
    population = _population(individuals)
    logger.info(
        "%d of %d individual(s) detected in more than one zone; %d crossing(s)",
        int((individuals["n_zones"] > 1).sum()) if len(individuals) else 0,
        len(individuals),
        len(crossings),
    )
    return CrossBorderResult(
        individuals=individuals, crossings=crossings, population=population
    )


_CROSSING_COLUMNS = [
    V.INDIVIDUAL_ID,
    "from_zone",
    "to_zone",
    "from_station",
    "to_station",
    "from_time",
    "to_time",
    "hours_between",
]


def _zoned_detections(survey: Survey, rel: gpd.GeoDataFrame) -> pd.DataFrame:
    """Detections with their zone ("outside" when in none), by individual and time."""
    zone = survey.zone_of(rel.geometry).fillna("outside").astype(str).to_numpy()
    df = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: rel[V.INDIVIDUAL_ID].astype(str).to_numpy(),
            V.STATION_ID: rel[V.STATION_ID].astype(str).to_numpy()
            if V.STATION_ID in rel
            else "",
            V.TIMESTAMP: rel[V.TIMESTAMP].to_numpy() if V.TIMESTAMP in rel else pd.NaT,
            V.SEX: rel[V.SEX].to_numpy() if V.SEX in rel else pd.NA,
            V.ZONE: zone,
        }
    )
    return df.sort_values([V.INDIVIDUAL_ID, V.TIMESTAMP], kind="stable")


def _individual_zones(
    ind: str, g: pd.DataFrame, cross_rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Zones and status of one individual; appends its crossings to ``cross_rows``."""
    zs = sorted(set(g[V.ZONE]) - {"outside"}) or sorted(set(g[V.ZONE]))
    if len(zs) == 1:
        status = f"{zs[0]} only"
    elif len(zs) == 2:
        status = "both"
    else:
        status = "multiple"
    gz = g[g[V.ZONE] != "outside"]
    z, st, t = (
        gz[V.ZONE].to_numpy(),
        gz[V.STATION_ID].to_numpy(),
        gz[V.TIMESTAMP].to_numpy(),
    )
    n_cross = 0
    for a in range(1, len(gz)):
        if z[a] != z[a - 1]:
            n_cross += 1
            dt = (pd.Timestamp(t[a]) - pd.Timestamp(t[a - 1])) / pd.Timedelta(hours=1)
            cross_rows.append(
                {
                    V.INDIVIDUAL_ID: ind,
                    "from_zone": z[a - 1],
                    "to_zone": z[a],
                    "from_station": st[a - 1],
                    "to_station": st[a],
                    "from_time": t[a - 1],
                    "to_time": t[a],
                    "hours_between": float(dt),
                }
            )
    sex = g[V.SEX].dropna()
    return {
        V.INDIVIDUAL_ID: ind,
        V.SEX: sex.iloc[0] if len(sex) else pd.NA,
        "n_detections": len(g),
        "n_stations": g[V.STATION_ID].nunique(),
        "zones": "; ".join(zs),
        "n_zones": len(zs),
        "status": status,
        "n_crossings": n_cross,
    }


def _with_range_shares(
    individuals: pd.DataFrame,
    ranges: gpd.GeoDataFrame | HomeRangeResult,
    zones: gpd.GeoDataFrame,
    percent: float,
) -> pd.DataFrame:
    """Add ``share_<zone>`` of each individual's ``percent`` range (else its largest)."""
    polys = ranges.isopleths if isinstance(ranges, HomeRangeResult) else ranges
    pick = []
    for _, g in polys.groupby(V.INDIVIDUAL_ID, sort=True):
        sel = g[np.isclose(g["percent"].astype(float), percent)]
        pick.append(sel.iloc[[0]] if len(sel) else g.sort_values("percent").iloc[[-1]])
    if not pick:
        return individuals
    chosen = pd.concat(pick)
    areas = zone_areas(chosen, zones)
    tot = chosen.geometry.area.to_numpy() / 1e6
    shares = areas.div(np.where(tot > 0, tot, np.nan), axis=0)
    shares.columns = [
        c.replace("area_", "share_").replace("_km2", "") for c in shares.columns
    ]
    shares[V.INDIVIDUAL_ID] = chosen[V.INDIVIDUAL_ID].astype(str).to_numpy()
    shares["range_method"] = chosen["method"].to_numpy()
    shares["range_percent"] = chosen["percent"].to_numpy()
    return individuals.merge(shares, on=V.INDIVIDUAL_ID, how="left")


def _population(individuals: pd.DataFrame) -> pd.DataFrame:
    """Individuals per status (each counted once) and the total."""
    n = len(individuals)
    counts = individuals["status"].value_counts() if n else pd.Series(dtype=int)
    pop = [
        {"status": s, "n_individuals": int(c), "share": c / n}
        for s, c in counts.items()
    ]
    pop.append({"status": "total", "n_individuals": n, "share": 1.0 if n else np.nan})
    return pd.DataFrame(pop)
