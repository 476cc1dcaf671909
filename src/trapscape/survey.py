"""The :class:`Survey`: stations, sightings and boundaries in one metric CRS.

A survey is what every analysis takes.  Readers in :mod:`trapscape.io` build
it; its constructor checks that every layer shares one projected CRS so that
analysis never silently computes in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyproj

from . import validation as V
from .crs import as_crs, require_projected
from .errors import CRSError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = ["Survey"]


@dataclass(frozen=True)
class Survey:
    """A camera-trap survey in one projected CRS.

    Attributes
    ----------
    stations
        One row per camera deployment (see :mod:`trapscape.validation`).
    sightings
        One row per photo or record.
    problems
        Malfunction intervals per deployment.
    crs
        The survey's projected CRS (metres).
    study_area, zones, parks, border, habitat
        Optional boundary layers. ``zones`` holds countries or management
        zones with a ``name`` column; ``border`` holds the international
        border as lines; ``habitat`` holds land/habitat polygons.
    name
        A label for reports.
    sources
        Paths of the inputs, for the run manifest.
    """

    stations: gpd.GeoDataFrame
    sightings: pd.DataFrame
    problems: pd.DataFrame
    crs: pyproj.CRS
    study_area: gpd.GeoDataFrame | None = None
    zones: gpd.GeoDataFrame | None = None
    parks: gpd.GeoDataFrame | None = None
    border: gpd.GeoDataFrame | None = None
    habitat: gpd.GeoDataFrame | None = None
    name: str = "survey"
    sources: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        crs = require_projected(as_crs(self.crs), "survey CRS")
        object.__setattr__(self, "crs", crs)
        for label in ("stations", "study_area", "zones", "parks", "border", "habitat"):
            layer = getattr(self, label)
            if layer is None:
                continue
            if layer.crs is None or not as_crs(layer.crs).equals(crs):
                raise CRSError(
                    f"Survey layer '{label}' is in {layer.crs!s}, not the survey CRS "
                    f"{crs.to_string()}. Reproject it with trapscape.crs.to_projected()."
                )

    # ------------------------------------------------------------------ views
    @property
    def station_points(self) -> gpd.GeoDataFrame:
        """One row per station: ``station_id``, ``n_cameras``, geometry.

        The station point is the first deployment's location (cameras of a
        station share it to within metres).
        """
        st = self.stations
        grouped = st.groupby(V.STATION_ID, sort=True)
        out = grouped.agg(n_cameras=(V.CAMERA_ID, "nunique"))
        geom = grouped.geometry.first()
        return gpd.GeoDataFrame(out.reset_index(), geometry=geom.values, crs=self.crs)

    @property
    def study_polygon(self) -> BaseGeometry | None:
        """Union of the study area polygons (or ``None``)."""
        if self.study_area is None or len(self.study_area) == 0:
            return None
        return self.study_area.geometry.union_all()

    @property
    def identified(self) -> pd.DataFrame:
        """Sightings with an individual id."""
        s = self.sightings
        return s[s[V.INDIVIDUAL_ID].notna() & (s[V.INDIVIDUAL_ID].astype(str) != "")]

    def zone_of(self, geometry: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
        """Name of the zone containing each geometry (NA outside every zone)."""
        geoms = geometry.geometry if isinstance(geometry, gpd.GeoDataFrame) else geometry
        out = pd.Series(pd.NA, index=geoms.index, dtype="object", name=V.ZONE)
        if self.zones is None or len(self.zones) == 0:
            return out
        pts = gpd.GeoDataFrame(geometry=geoms.values, crs=self.crs)
        joined = gpd.sjoin(pts, self.zones[[V.NAME, "geometry"]], how="left", predicate="intersects")
        joined = joined[~joined.index.duplicated(keep="first")]
        out[:] = joined[V.NAME].to_numpy()
        return out

    @property
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Earliest setup and latest retrieval."""
        return self.stations[V.SETUP].min(), self.stations[V.RETRIEVAL].max()

    def with_sightings(self, sightings: pd.DataFrame) -> Survey:
        """Return a copy with other sightings (e.g. one species)."""
        return replace(self, sightings=sightings)

    def species_subset(self, species: str | None) -> Survey:
        """Return a copy keeping only sightings of ``species`` (all when None)."""
        if species is None:
            return self
        s = self.sightings
        return replace(self, sightings=s[s[V.SPECIES] == species].copy())

    def summary(self) -> dict[str, Any]:
        """Counts for ``trapscape validate``: stations, cameras, days, sightings."""
        st, si = self.stations, self.sightings
        start, end = self.time_span
        span_days = float((end - start) / pd.Timedelta(days=1)) if len(st) else 0.0
        ident = self.identified
        return {
            "name": self.name,
            "crs": self.crs.to_string(),
            "stations": int(st[V.STATION_ID].nunique()),
            "cameras": int(st[[V.STATION_ID, V.CAMERA_ID]].drop_duplicates().shape[0]),
            "deployments": int(len(st)),
            "first_setup": str(start),
            "last_retrieval": str(end),
            "span_days": round(span_days, 2),
            "malfunctions": int(len(self.problems)),
            "sightings": int(len(si)),
            "species": sorted(map(str, si[V.SPECIES].dropna().unique())),
            "identified_sightings": int(len(ident)),
            "individuals": int(ident[V.INDIVIDUAL_ID].nunique()),
            "boundaries": {
                k: int(len(getattr(self, k)))
                for k in ("study_area", "zones", "parks", "border", "habitat")
                if getattr(self, k) is not None
            },
            "study_area_km2": (
                round(float(self.study_polygon.area) / 1e6, 2)
                if self.study_polygon is not None else None
            ),
        }


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {V.DEPLOYMENT_ID: pd.Series(dtype="object"),
         V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
         V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]")}
    )
