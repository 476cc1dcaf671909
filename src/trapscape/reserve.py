"""Reserve analysis: who lives where, which ranges straddle the border, the candidate reserve.

These functions compute; the presentation layer (:mod:`trapscape.present`)
only renders their results.

:func:`individuals_by_zone` and :func:`zone_population` count identified
individuals per zone (country); :func:`straddling_ranges` finds home ranges
with area in two or more zones; :func:`candidate_reserve` builds the outline
of a transboundary reserve from the parks, the straddling ranges and the
corridors; :func:`holds_whole_population` tells which regions of a density
fit's ``region_n`` table hold every detected animal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import validation as V
from .crs import require_projected

if TYPE_CHECKING:
    import geopandas as gpd

    from .survey import Survey

__all__ = [
    "MIN_ZONE_AREA_KM2",
    "candidate_reserve",
    "holds_whole_population",
    "individuals_by_zone",
    "reserve_areas",
    "straddling_ranges",
    "zone_population",
    "zones_with_stations",
]

logger = logging.getLogger(__name__)

#: Area (km²) below which a zone's share of a polygon is a sliver of the
#: boundary layers, not a real part: :func:`reserve_areas` leaves such zones
#: out of the area columns, and the report leaves them out of its tables.
MIN_ZONE_AREA_KM2 = 0.5


def individuals_by_zone(survey: Survey) -> pd.DataFrame:
    """Zones each identified individual was detected in, from station locations.

    Returns
    -------
    pandas.DataFrame
        One row per individual: ``individual_id``, ``zones`` (names joined
        by " + ", sorted), ``n_zones``, ``detections``.
    """
    ident = survey.identified
    if len(ident) == 0:
        return pd.DataFrame(
            {
                V.INDIVIDUAL_ID: pd.Series(dtype=str),
                "zones": pd.Series(dtype=str),
                "n_zones": pd.Series(dtype=int),
                "detections": pd.Series(dtype=int),
            }
        )
    pts = survey.station_points
    zone = survey.zone_of(pts.geometry)
    zmap = dict(zip(pts[V.STATION_ID].astype(str), zone, strict=False))
    z = ident[V.STATION_ID].astype(str).map(zmap)
    df = pd.DataFrame(
        {
            V.INDIVIDUAL_ID: ident[V.INDIVIDUAL_ID].astype(str).to_numpy(),
            "zone": z.to_numpy(),
        }
    )
    grouped = df.groupby(V.INDIVIDUAL_ID, sort=True)
    out = grouped["zone"].agg(
        lambda s: (
            " + ".join(sorted({str(v) for v in s if pd.notna(v)})) or "outside zones"
        )
    )
    res = out.rename("zones").to_frame()
    res["n_zones"] = grouped["zone"].agg(lambda s: len({v for v in s if pd.notna(v)}))
    res["detections"] = grouped.size()
    return res.reset_index()


def zone_population(by_zone: pd.DataFrame) -> pd.DataFrame:
    """Counts of individuals per zone combination (no identities)."""
    if len(by_zone) == 0:
        return pd.DataFrame(
            {"detected in": pd.Series(dtype=str), "individuals": pd.Series(dtype=int)}
        )
    counts = by_zone.groupby("zones").size().rename("individuals")
    labels = {
        z: (f"{z} only" if " + " not in z else f"both ({z})") for z in counts.index
    }
    out = counts.rename(index=labels).rename_axis("detected in").reset_index()
    total = pd.DataFrame({"detected in": ["total"], "individuals": [int(counts.sum())]})
    return pd.concat([out, total], ignore_index=True)


def _area_by_zone(geoms: gpd.GeoSeries, zones: gpd.GeoDataFrame | None) -> pd.DataFrame:
    import geopandas as gpd

    out = pd.DataFrame({"area_km2": geoms.area.to_numpy() / 1e6}, index=geoms.index)
    if zones is None or len(zones) == 0:
        return out
    for name, zgeom in zones.dissolve(by=V.NAME).geometry.items():
        inter = gpd.GeoSeries(geoms.values, crs=geoms.crs).intersection(zgeom)
        out[f"area_km2_{name}"] = inter.area.to_numpy() / 1e6
    return out


def _range_level(ranges: gpd.GeoDataFrame, percent: float) -> gpd.GeoDataFrame:
    for col in ("percent", "level", "isopleth"):
        if col in ranges.columns:
            vals = pd.to_numeric(ranges[col], errors="coerce")
            sel = ranges[np.isclose(vals, percent)]
            if len(sel):
                return sel
            return ranges[np.isclose(vals, vals.max())]
    return ranges


def straddling_ranges(
    survey: Survey,
    ranges: gpd.GeoDataFrame,
    *,
    percent: float = 95.0,
    min_share: float = 0.01,
) -> gpd.GeoDataFrame:
    """Home ranges with at least ``min_share`` of their area in two or more zones.

    Parameters
    ----------
    survey
        The survey, with ``zones`` (countries).
    ranges
        Isopleth polygons with ``individual_id`` (and ``percent``).
    percent
        Isopleth level to use.
    min_share
        Minimum share of the range's area in a second country.

    Returns
    -------
    geopandas.GeoDataFrame
        The straddling ranges with ``area_km2`` and ``area_km2_<zone>``
        columns and ``share_<zone>``.
    """
    require_projected(ranges, "home ranges")
    sel = _range_level(ranges, percent)
    areas = _area_by_zone(sel.geometry, survey.zones)
    zcols = [c for c in areas.columns if c.startswith("area_km2_")]
    out = sel.drop(columns=[c for c in areas.columns if c in sel.columns]).join(areas)
    if not zcols:
        return out.iloc[0:0]
    shares = areas[zcols].div(areas["area_km2"].where(areas["area_km2"] > 0), axis=0)
    for c in zcols:
        out["share_" + c.removeprefix("area_km2_")] = shares[c].round(4)
    return out[(shares >= min_share).sum(axis=1).to_numpy() >= 2]


def reserve_areas(
    reserve: gpd.GeoDataFrame,
    survey: Survey,
    *,
    countries: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Add ``area_km2`` and ``area_km2_<zone>`` columns to reserve polygons.

    Only the zones in ``countries`` (default: every zone) get a column, and
    a zone whose part is smaller than :data:`MIN_ZONE_AREA_KM2` in every
    polygon (a sliver where boundary layers do not quite meet) gets none.
    """
    base = reserve.drop(
        columns=[c for c in reserve.columns if c.startswith("area_km2")]
    )
    zones = survey.zones
    if zones is not None and countries is not None:
        zones = zones[zones[V.NAME].astype(str).isin([str(c) for c in countries])]
    areas = _area_by_zone(base.geometry, zones)
    slivers = [
        c
        for c in areas.columns
        if c.startswith("area_km2_") and bool((areas[c] < MIN_ZONE_AREA_KM2).all())
    ]
    return base.join(areas.drop(columns=slivers))


def _reserve_countries(
    survey: Survey, countries: Sequence[str] | None
) -> list[str] | None:
    """The zones the reserve may cover: ``countries``, else those holding stations.

    ``None``: the survey has no zones (nothing to restrict to).
    """
    if survey.zones is None or len(survey.zones) == 0:
        return None
    known = sorted(map(str, survey.zones[V.NAME].unique()))
    if countries is None:
        with_stations = zones_with_stations(survey)
        return sorted(with_stations) if with_stations else known
    chosen = [countries] if isinstance(countries, str) else [str(c) for c in countries]
    unknown = [c for c in chosen if c not in known]
    if unknown or not chosen:
        from .errors import InputError

        raise InputError(
            f"[reserve] countries = {chosen!r}: "
            + (f"no zone named {', '.join(map(repr, unknown))}; " if unknown else "")
            + f"use names of the survey's zones: {', '.join(known)}."
        )
    return chosen


def candidate_reserve(
    survey: Survey,
    *,
    ranges: gpd.GeoDataFrame | None = None,
    cross_border: Any = None,
    corridors: gpd.GeoDataFrame | None = None,
    percent: float = 95.0,
    path_buffer: float = 500.0,
    clip_to_land: bool = True,
    countries: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Candidate transboundary reserve: parks + straddling ranges + corridors.

    The outline is the union of the park polygons, the ``percent`` home
    ranges that straddle the international border (see
    :func:`straddling_ranges`) and the corridor polygons (least-cost paths
    are buffered by ``path_buffer`` metres), clipped to the polygons of the
    chosen countries (so it stays on land and within the countries that
    take part).

    Parameters
    ----------
    survey
        Survey with ``parks`` and ``zones``.
    ranges, cross_border, corridors
        Home-range isopleths, the cross-border result (unused when the
        geometry decides) and corridor polygons or paths; each optional.
    percent
        Home-range isopleth level (default 95 %).
    path_buffer
        Half-width in metres given to line corridors.
    clip_to_land
        Clip to the union of the zones (countries) when present.
    countries
        Names of the zones (countries) the reserve may cover; the outline is
        clipped to them.  Default: the zones that hold at least one station
        (a country without cameras has no data to justify a reserve there).

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``name``, ``components`` (what went in), geometry,
        ``area_km2`` and ``area_km2_<country>`` for the chosen countries
        (slivers under :data:`MIN_ZONE_AREA_KM2` left out).  Empty if
        nothing is available.

    Raises
    ------
    InputError
        If ``countries`` names a zone the survey does not have.

    References
    ----------
    Worton (1989) for the kernel home ranges; Adriaensen et al. (2003) and
    McRae et al. (2008) for the corridors.
    """
    import geopandas as gpd

    require_projected(survey.crs, "survey CRS")
    chosen = _reserve_countries(survey, countries)
    parts = []
    comps = []
    if survey.parks is not None and len(survey.parks):
        parts.append(survey.parks.geometry.union_all())
        comps.append(f"{len(survey.parks)} park polygon(s)")
    if ranges is not None and len(ranges):
        strad = straddling_ranges(survey, ranges, percent=percent)
        if len(strad):
            parts.append(strad.geometry.union_all())
            n = (
                strad[V.INDIVIDUAL_ID].nunique()
                if V.INDIVIDUAL_ID in strad.columns
                else len(strad)
            )
            comps.append(
                f"{percent:g}% home ranges of {n} individual(s) straddling the border"
            )
    if corridors is not None and len(corridors):
        g = corridors.geometry
        polys = g[g.geom_type.isin(["Polygon", "MultiPolygon"])]
        lines = g[~g.geom_type.isin(["Polygon", "MultiPolygon"])]
        geoms = list(polys) + list(lines.buffer(path_buffer))
        if geoms:
            parts.append(gpd.GeoSeries(geoms, crs=survey.crs).union_all())
            comps.append(f"{len(geoms)} corridor(s)")
    if not parts:
        return gpd.GeoDataFrame(
            {V.NAME: pd.Series(dtype=str)},
            geometry=gpd.GeoSeries([], crs=survey.crs),
            crs=survey.crs,
        )
    union = gpd.GeoSeries(parts, crs=survey.crs).union_all()
    if survey.zones is not None and len(survey.zones) and chosen is not None:
        zones = survey.zones
        if clip_to_land or len(chosen) < zones[V.NAME].nunique():
            keep = zones[zones[V.NAME].astype(str).isin(chosen)]
            union = union.intersection(keep.geometry.union_all())
    out = gpd.GeoDataFrame(
        {
            V.NAME: ["candidate transboundary reserve"],
            "components": ["; ".join(comps)],
            "countries": [" + ".join(chosen) if chosen else ""],
        },
        geometry=[union],
        crs=survey.crs,
    )
    return reserve_areas(out, survey, countries=chosen)


def zones_with_stations(survey: Survey) -> set[str] | None:
    """Names of the zones (countries) holding at least one station (None: unknown)."""
    zones = getattr(survey, "zones", None)
    st = getattr(survey, "stations", None)
    if zones is None or st is None or len(zones) == 0 or "name" not in zones.columns:
        return None
    try:
        pts = st.geometry.to_crs(zones.crs) if st.crs != zones.crs else st.geometry
        out = set()
        for name, geom in zip(zones["name"].astype(str), zones.geometry, strict=True):
            if geom is not None and bool(pts.intersects(geom).any()):
                out.add(name)
        return out
    except Exception:  # unusual geometries: show every zone rather than fail
        return None


def holds_whole_population(region_n: pd.DataFrame) -> pd.Series:
    """Per row of a ``region_n`` table: does its region hold every detected animal?

    secr's realised N (``R.N``) adds *all* detected animals to a region's
    expected undetected ones, so it is meaningful only for a region holding
    the activity centres of every detected animal (the whole mask).  There
    the locally weighted count ``R.N.local`` equals ``R.N``; a region where
    the two differ by more than 0.5 % is a part of the population.  Without
    ``R.N.local`` rows, regions named ``park: ...`` or ``zone: ...`` are parts.
    """
    rn = pd.DataFrame(region_n)
    region = rn["region"].astype(str)
    q = rn["quantity"].astype(str)
    est = pd.to_numeric(rn["estimate"], errors="coerce")
    full = est[q == "R.N"].groupby(region[q == "R.N"]).first()
    local = est[q == "R.N.local"].groupby(region[q == "R.N.local"]).first()
    whole = {}
    for name in region.unique():
        if name in full.index and name in local.index:
            a, b = float(full[name]), float(local[name])
            whole[name] = abs(a - b) <= 0.005 * max(abs(a), 1.0)
        else:
            whole[name] = not name.startswith(("park:", "zone:"))
    return region.map(whole).astype(bool)
