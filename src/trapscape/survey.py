"""The :class:`Survey`: stations, sightings and boundaries in one metric CRS.

A survey is what every analysis takes.  Readers in :mod:`trapscape.io` build
it; its constructor checks that every layer shares one projected CRS so that
analysis never silently computes in degrees.
"""

from __future__ import annotations

import os
import sys
import types
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyproj

from . import validation as V
from .crs import as_crs, require_projected
from .errors import CRSError, InputError, TrapscapeWarning

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = ["REGIONS", "Survey"]

#: Named regions accepted by :meth:`Survey.region` (and by ``region=`` in
#: :mod:`trapscape.planning` and :mod:`trapscape.coverage`).
REGIONS = ("study_area", "parks", "study_area+parks")


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

    def region(self, region: Any = "study_area") -> BaseGeometry:
        """A named or given region as one (multi)polygon in the survey CRS.

        Planning (:func:`trapscape.planning.plan`) and coverage
        (:mod:`trapscape.coverage`) work over such a region: by default the
        study area, or the study area plus the parks on both sides of a
        border for a transboundary view.

        Parameters
        ----------
        region
            ``"study_area"`` (:attr:`study_polygon`; without one, the stations'
            convex hull buffered by 5 km, with a
            :class:`~trapscape.errors.TrapscapeWarning`), ``"parks"`` (union of
            :attr:`parks`), ``"study_area+parks"`` (union of both; also
            spelled ``"parks+study_area"``), or polygons: a
            GeoDataFrame/GeoSeries in a projected CRS (reprojected to the
            survey CRS) or a shapely (multi)polygon in the survey CRS.

        Returns
        -------
        shapely geometry
            The region (not clipped to habitat).

        Raises
        ------
        InputError
            If the layer the region names is missing, the name is unknown, the
            value is of another type or the polygons have no area.
        CRSError
            If a region layer is not in a projected CRS.
        """
        from shapely.geometry.base import BaseGeometry as _Base

        if isinstance(region, str):
            key = region.strip().lower().replace(" ", "")
            if key == "study_area":
                return self._study_region(fallback=True)
            if key == "parks":
                return self._parks_region()
            if key in ("study_area+parks", "parks+study_area"):
                return self._study_region(fallback=False).union(self._parks_region())
            raise InputError(
                f"Unknown region {region!r}; use one of {list(REGIONS)} or give "
                "polygons (a GeoDataFrame, or on the command line a vector file)."
            )
        if isinstance(region, (gpd.GeoDataFrame, gpd.GeoSeries)):
            require_projected(region.crs, "region layer")
            geom = region.to_crs(self.crs).geometry
            geom = geom[geom.notna() & ~geom.is_empty]
            u = geom.union_all() if len(geom) else None
        elif isinstance(region, _Base):
            u = region
        else:
            raise InputError(
                f"region must be one of {list(REGIONS)}, a GeoDataFrame/GeoSeries "
                f"or a shapely polygon; got {type(region).__name__}."
            )
        if u is None or u.is_empty or not u.area > 0:
            raise InputError(
                "The region polygons have no area; give polygons (not points or "
                "lines) covering where new cameras may go."
            )
        return u

    def _study_region(self, *, fallback: bool) -> BaseGeometry:
        """The study area; the stations' buffered hull (with a warning) if allowed."""
        study = self.study_polygon
        if study is not None:
            return study
        if not fallback:
            raise InputError(
                "region asks for the study area, but the survey has none. Add "
                '[boundaries] study_area = "study_area.gpkg" to the project file '
                "(or Survey(study_area=...)), or choose region='parks'."
            )
        pts = self.station_points
        if len(pts) == 0:
            raise InputError(
                "The survey has neither a study area nor stations, so there is "
                "nowhere to "
                "place candidates. Give [boundaries] study_area or pass candidates=."
            )
        warnings.warn(
            "The survey has no study area; candidates are placed within 5 km of "
            "the convex hull of the stations. Give a study area for a proper plan.",
            TrapscapeWarning,
            stacklevel=_caller_stacklevel(),
        )
        return pts.geometry.union_all().convex_hull.buffer(5000.0)

    def _parks_region(self) -> BaseGeometry:
        parks = self.parks
        if parks is None or len(parks) == 0:
            raise InputError(
                "region asks for the parks, but the survey has no parks layer. Add "
                '[boundaries] parks = "parks.gpkg" (polygons with a name column) '
                "to the project file (or Survey(parks=...)), or use "
                "region='study_area'."
            )
        geom = parks.geometry
        geom = geom[geom.notna() & ~geom.is_empty]
        u = geom.union_all() if len(geom) else None
        if u is None or u.is_empty or not u.area > 0:
            raise InputError(
                "The survey's parks layer has no polygon with a positive area; the "
                "'parks' region needs park polygons ([boundaries] parks)."
            )
        return u

    @property
    def identified(self) -> pd.DataFrame:
        """Sightings with an individual id."""
        s = self.sightings
        return s[V.individual_ids(s).notna().to_numpy()]

    def zone_of(self, geometry: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
        """Name of the zone containing each geometry (NA outside every zone)."""
        geoms = (
            geometry.geometry if isinstance(geometry, gpd.GeoDataFrame) else geometry
        )
        out = pd.Series(pd.NA, index=geoms.index, dtype="object", name=V.ZONE)
        if self.zones is None or len(self.zones) == 0:
            return out
        pts = gpd.GeoDataFrame(geometry=geoms.values, crs=self.crs)
        joined = gpd.sjoin(
            pts, self.zones[[V.NAME, "geometry"]], how="left", predicate="intersects"
        )
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
            "deployments": len(st),
            "first_setup": str(start),
            "last_retrieval": str(end),
            "span_days": round(span_days, 2),
            "malfunctions": len(self.problems),
            "sightings": len(si),
            "species": sorted(map(str, si[V.SPECIES].dropna().unique())),
            "identified_sightings": len(ident),
            "individuals": int(ident[V.INDIVIDUAL_ID].nunique()),
            "boundaries": {
                k: len(getattr(self, k))
                for k in ("study_area", "zones", "parks", "border", "habitat")
                if getattr(self, k) is not None
            },
            "study_area_km2": (
                round(float(self.study_polygon.area) / 1e6, 2)
                if self.study_polygon is not None
                else None
            ),
        }


def _caller_stacklevel() -> int:
    """``stacklevel`` pointing at the first frame outside the trapscape package."""
    pkg = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level = 1
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        pkg
    ):
        level += 1
        frame = frame.f_back
    return level


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {
            V.DEPLOYMENT_ID: pd.Series(dtype="object"),
            V.PROBLEM_FROM: pd.Series(dtype="datetime64[ns]"),
            V.PROBLEM_TO: pd.Series(dtype="datetime64[ns]"),
        }
    )
