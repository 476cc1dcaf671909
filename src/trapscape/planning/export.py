"""Plan outputs: GPX waypoints, stations CSV and the summary table."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation as V
from ..errors import GeometryError, InputError
from .candidates import CANDIDATE_ID

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["SELECTION_COLUMNS", "write_gpx", "write_plan_stations"]


def _stations_frame(
    cand: gpd.GeoDataFrame,
    new_sites: list[int],
    ids: list[str],
    window: tuple[pd.Timestamp, pd.Timestamp],
    *,
    order: dict[int, int],
    crs: Any,
) -> gpd.GeoDataFrame:
    """The chosen candidates as stations in the ``read_stations`` schema.

    ``window`` is ``(setup, retrieval)`` of every planned station; ``order``
    maps a candidate row to its selection order.  The user's candidate
    columns are carried over.
    """
    start, end = window
    sel = np.asarray(new_sites, dtype=np.int64)
    xy = np.column_stack([cand.geometry.x, cand.geometry.y])[sel]
    stations = gpd.GeoDataFrame(
        {
            V.STATION_ID: ids,
            V.CAMERA_ID: ids,
            V.DEPLOYMENT_ID: ids,
            V.SETUP: pd.Series([start] * len(ids), dtype="datetime64[ns]"),
            V.RETRIEVAL: pd.Series([end] * len(ids), dtype="datetime64[ns]"),
            V.SETUP_TIME_KNOWN: False,
            V.RETRIEVAL_TIME_KNOWN: False,
            CANDIDATE_ID: cand[CANDIDATE_ID].to_numpy()[sel].astype(str)
            if len(sel)
            else [],
            V.ZONE: cand[V.ZONE].to_numpy()[sel] if len(sel) else [],
            "order": [order[c] for c in new_sites],
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]) if len(sel) else [],
        crs=crs,
    )
    # carry the user's candidate attributes (e.g. a site name) into the stations
    for col in cand.columns:
        if col in stations.columns or col == cand.geometry.name:
            continue
        stations[col] = cand[col].to_numpy()[sel] if len(sel) else []
    return stations


#: Columns of :attr:`trapscape.planning.Plan.selection`.
SELECTION_COLUMNS = [
    "order",
    V.STATION_ID,
    CANDIDATE_ID,
    V.ZONE,
    "x",
    "y",
    "gain",
    "gain_area_pdot_km2",
    "gain_E_n",
    "gain_E_r",
    "gain_border_pdot",
    "kept_existing",
]


def _selection_frame(
    cand: gpd.GeoDataFrame,
    chosen: list[int],
    replay: list[dict[str, float]],
    site_xy: np.ndarray,
    *,
    station_ids: dict[int, str],
    existing_ids: np.ndarray,
) -> pd.DataFrame:
    """One row per chosen site in selection order, with its marginal gains.

    Rows below ``len(cand)`` are candidates (named by ``station_ids``); the
    others are removed stations chosen back (move mode).
    """
    n_c = len(cand)
    zones = cand[V.ZONE].astype(object).where(cand[V.ZONE].notna(), None).to_numpy()
    rows = []
    for i, c in enumerate(chosen):
        is_new = c < n_c
        rows.append(
            {
                "order": i + 1,
                V.STATION_ID: station_ids[c] if is_new else existing_ids[c - n_c],
                CANDIDATE_ID: cand[CANDIDATE_ID].iloc[c] if is_new else None,
                V.ZONE: zones[c] if is_new else None,
                "x": float(site_xy[c, 0]),
                "y": float(site_xy[c, 1]),
                **replay[i],
                "kept_existing": not is_new,
            }
        )
    return pd.DataFrame(rows, columns=SELECTION_COLUMNS)


def _summary(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    n_before: int,
    n_after: int,
    stations: gpd.GeoDataFrame,
    survey: Survey,
    threshold: float,
) -> pd.DataFrame:
    rows = []

    def add(scope: str, metric: str, b: float, a: float) -> None:
        rows.append(
            {"scope": scope, "metric": metric, "before": b, "after": a, "change": a - b}
        )

    def rse(m: dict[str, float]) -> float:
        v = min(m["E_n"], m["E_r"])
        return 1.0 / math.sqrt(v) if v > 0 else math.inf

    b, a = before["all"], after["all"]
    add("all", "stations", n_before, n_after)
    add("all", "area_pdot_km2", b["cov_thr"], a["cov_thr"])
    add("all", "expected_covered_km2", b["covered"], a["covered"])
    add("all", "E_n", b["E_n"], a["E_n"])
    add("all", "E_r", b["E_r"], a["E_r"])
    add("all", "RSE", rse(b), rse(a))
    add("all", "border_pdot", b["border"], a["border"])
    for scope in before:
        if scope == "all":
            continue
        bz, az = before[scope], after[scope]
        n_new = int((stations[V.ZONE] == scope).sum()) if len(stations) else 0
        add(scope, "new_stations", 0, n_new)
        add(scope, "area_pdot_km2", bz["cov_thr"], az["cov_thr"])
        add(scope, "expected_covered_km2", bz["covered"], az["covered"])
        add(scope, "E_n", bz["E_n"], az["E_n"])
    out = pd.DataFrame(rows, columns=["scope", "metric", "before", "after", "change"])
    out.attrs["threshold"] = threshold
    return out


# --------------------------------------------------------------------------- writers
def write_gpx(
    stations: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    name_column: str = V.STATION_ID,
    creator: str = "trapscape",
) -> None:
    """Write stations as GPX 1.1 waypoints (WGS84) for field GPS units.

    Parameters
    ----------
    stations
        Point layer with a CRS (e.g. :attr:`Plan.stations`).
    path
        Output ``.gpx`` file.
    name_column
        Column used as the waypoint name.
    creator
        GPX ``creator`` attribute.

    Raises
    ------
    InputError
        If the layer has no CRS, non-point geometries or lacks ``name_column``.
    """
    if stations.crs is None:
        raise InputError("stations have no CRS; set one before writing GPX.")
    if name_column not in stations.columns:
        raise InputError(f"stations have no column '{name_column}' for waypoint names.")
    if len(stations) and (stations.geometry.geom_type != "Point").any():
        raise GeometryError("GPX waypoints need point geometries.")
    ll = stations.to_crs(4326)
    ns = "http://www.topografix.com/GPX/1/1"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}gpx", {"version": "1.1", "creator": creator})
    meta = ET.SubElement(root, f"{{{ns}}}metadata")
    ET.SubElement(meta, f"{{{ns}}}name").text = "trapscape proposed stations"
    for (_, row), geom in zip(ll.iterrows(), ll.geometry, strict=False):
        wpt = ET.SubElement(
            root, f"{{{ns}}}wpt", {"lat": f"{geom.y:.7f}", "lon": f"{geom.x:.7f}"}
        )
        ET.SubElement(wpt, f"{{{ns}}}name").text = str(row[name_column])
        parts = []
        for col in ("zone", "order", CANDIDATE_ID):
            if col in ll.columns and pd.notna(row[col]):
                parts.append(f"{col}={row[col]}")
        if V.SETUP in ll.columns and pd.notna(row[V.SETUP]):
            parts.append(f"setup={pd.Timestamp(row[V.SETUP]).date()}")
        if parts:
            ET.SubElement(wpt, f"{{{ns}}}desc").text = "; ".join(parts)
        ET.SubElement(wpt, f"{{{ns}}}sym").text = "Flag, Blue"
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(os.fspath(path), encoding="UTF-8", xml_declaration=True)


def write_plan_stations(
    stations: gpd.GeoDataFrame, path: str | os.PathLike[str]
) -> None:
    """Write proposed stations as a stations CSV that ``read_stations`` reads.

    A thin wrapper of :func:`trapscape.io.write_stations` (no malfunctions):
    ``station_id, camera_id, deployment_id, longitude, latitude, setup,
    retrieval`` plus ``candidate_id``, ``zone`` and ``order``.
    """
    from ..io import write_stations
    from ..survey import _empty_problems

    write_stations(stations, _empty_problems(), path)
