"""Plan outputs: GPX waypoints, stations CSV and the summary table."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .. import validation as V
from ..errors import GeometryError, InputError
from .candidates import CANDIDATE_ID

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = ["write_gpx", "write_plan_stations"]


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
