"""Core areas (nodes) from parks, sectors or home-range cores."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from .. import validation as V
from ..crs import as_crs, require_projected
from ..errors import CRSError, InputError

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["cores_from"]

logger = logging.getLogger(__name__)


def _slug(text: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", str(text)).strip("_").lower()
    return s or "core"


def cores_from(
    *layers: gpd.GeoDataFrame | gpd.GeoSeries,
    survey: Survey | None = None,
    name_column: str = V.NAME,
    zone_column: str = V.ZONE,
    crs: Any = None,
    drop_nested: bool = True,
) -> gpd.GeoDataFrame:
    """Core areas / nodes from polygon or point layers.

    Each feature of each layer becomes one core.  Its zone (country) is the
    layer's ``zone`` column when present, otherwise the survey zone that
    contains the feature's representative point.

    Parameters
    ----------
    *layers
        Parks, a China sector layer, home-range cores (polygons) or points.
    survey
        Supplies the CRS and the zones (countries).
    name_column
        Column holding a name (default ``name``); missing names become
        ``core_<n>``.
    zone_column
        Column holding a zone if the layer has one.
    crs
        Target CRS when no survey is given (default: the first layer's).
    drop_nested
        Drop a polygon core lying (90% or more of its area) inside a larger
        one, e.g. a reserve inside a national park: nodes must not overlap.

    Returns
    -------
    geopandas.GeoDataFrame
        ``core_id`` (unique slug), ``name``, ``zone``, geometry.
    """
    if not layers:
        raise InputError("cores_from needs at least one layer of polygons or points.")
    target = (
        as_crs(survey.crs)
        if survey is not None
        else (as_crs(crs) if crs is not None else None)
    )
    frames, target = _core_frames(layers, target, name_column, zone_column)
    if not frames:
        raise InputError("All core layers are empty.")
    cores = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=target)
    cores = cores[~(cores.geometry.is_empty | cores.geometry.isna())].reset_index(
        drop=True
    )
    require_projected(target, "core layers' CRS")
    if drop_nested and len(cores) > 1:
        cores = _drop_nested(cores)
    if survey is not None and survey.zones is not None and len(survey.zones):
        cores = _zones_from_survey(cores, survey)
    names = [
        n if isinstance(n, str) and n else f"core_{i + 1}"
        for i, n in enumerate(cores["name"].tolist())
    ]
    cores.insert(0, "core_id", _unique_ids(names))
    cores["name"] = names
    return cores[["core_id", "name", V.ZONE, "geometry"]]


def _core_frames(
    layers: Sequence[gpd.GeoDataFrame | gpd.GeoSeries],
    target: pyproj.CRS | None,
    name_column: str,
    zone_column: str,
) -> tuple[list[gpd.GeoDataFrame], pyproj.CRS | None]:
    """Each non-empty layer as ``name``, ``zone``, geometry in the target CRS.

    The target CRS defaults to the first layer's; it is returned too.
    """
    frames = []
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        gdf = (
            layer
            if isinstance(layer, gpd.GeoDataFrame)
            else gpd.GeoDataFrame(geometry=layer)
        )
        if gdf.crs is None:
            raise CRSError("A core layer has no CRS. Set it with .set_crs() first.")
        if target is None:
            target = as_crs(gdf.crs)
        gdf = gdf.to_crs(target)
        names = (
            gdf[name_column].astype("string")
            if name_column in gdf.columns
            else pd.Series(pd.NA, index=gdf.index, dtype="string")
        )
        zones = (
            gdf[zone_column].astype("object")
            if zone_column in gdf.columns
            else pd.Series(pd.NA, index=gdf.index, dtype="object")
        )
        frames.append(
            gpd.GeoDataFrame(
                {"name": names.to_numpy(), V.ZONE: zones.to_numpy()},
                geometry=gdf.geometry.to_numpy(),
                crs=target,
            )
        )
    return frames, target


def _drop_nested(cores: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop polygon cores lying (90% or more of their area) inside a larger one."""
    area = cores.geometry.area.to_numpy()
    drop = set()
    for i in range(len(cores)):
        for j in range(len(cores)):
            if i == j or j in drop or area[i] <= 0 or area[j] < area[i]:
                continue
            if area[j] == area[i] and j > i:
                continue
            inter = cores.geometry.iloc[i].intersection(cores.geometry.iloc[j]).area
            if inter >= 0.9 * area[i]:
                drop.add(i)
                logger.info(
                    "core %r dropped: inside core %r",
                    cores["name"].iloc[i],
                    cores["name"].iloc[j],
                )
                break
    return cores.drop(index=sorted(drop)).reset_index(drop=True)


def _zones_from_survey(cores: gpd.GeoDataFrame, survey: Survey) -> gpd.GeoDataFrame:
    """Fill missing zones: the survey zone holding most of the core's area.

    Points (and polygons outside every zone) take the zone of their
    representative point.
    """
    cores = cores.copy()
    missing = cores[V.ZONE].isna()
    if missing.any():
        rep = cores.geometry[missing].representative_point()
        cores.loc[missing, V.ZONE] = survey.zone_of(rep).to_numpy()
    z = survey.zones
    assert z is not None
    for i in np.flatnonzero(missing.to_numpy()).tolist():
        g = cores.geometry.iloc[i]
        if g.area <= 0:
            continue
        shares = z.geometry.intersection(g).area.to_numpy()
        if shares.max() > 0:
            cores.loc[cores.index[i], V.ZONE] = z[V.NAME].iloc[int(np.argmax(shares))]
    return cores


def _unique_ids(names: list[str]) -> list[str]:
    """Slugs of the names, made unique with ``_2``, ``_3``... suffixes."""
    ids: list[str] = []
    for n in names:
        base = _slug(n)
        cid, k = base, 2
        while cid in ids:
            cid, k = f"{base}_{k}", k + 1
        ids.append(cid)
    return ids
